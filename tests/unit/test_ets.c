/* test_ets.c -- ETS(A,Ad,A) / ETS(A,Ad,N) (ets.c) and the Nelder-Mead optimiser it
 * fits with (optim.c), through their internal interfaces only: fc__ets_ops and
 * fc__nelder_mead(). One behaviour per test, named as the sentence it proves.
 *
 * The series are synthetic, with seeded noise from synth.h, so the tolerances are those
 * of one fixed draw; each is set well inside what a model that got the behaviour wrong
 * would produce (noted per test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"
#include "tests/unit/synth.h"

#define DAY 288 /* slots per day at 300 s */

static const double TWO_PI = 6.283185307179586;

/* ---- series and fitting helpers --------------------------------------------------- */

/* The daily cycle most tests use: level 10, amplitude 3, phase 0.7 rad. */
static double daily_sine(int t) {
  return 10.0 + 3.0 * sin(TWO_PI * t / DAY + 0.7);
}

/* y[t] = daily_sine(t) + sigma * N(0, 1), t = 0..n-1; weights all 1. */
static void make_noisy_sine(double *y, double *w, int n, double sigma, uint64_t seed) {
  synth_rng rng = {seed};
  for (int t = 0; t < n; t++) {
    y[t] = daily_sine(t) + sigma * synth_normal(&rng);
    w[t] = 1.0;
  }
}

static void *fit(const double *y, const double *w, int n, int season, fc_error *err) {
  fc__fit_input in = {
      .y = y, .w = w, .n = n, .season = season, .day_slots = DAY, .h_max = 12};
  return fc__ets_ops.fit(&in, err);
}

/* Fits and fails the test if the fit fails, printing why. */
static void *fit_ok(const double *y, const double *w, int n, int season) {
  fc_error err = {0};
  void *st = fit(y, w, n, season, &err);
  if (st == NULL)
    fail_msg("fit failed: %s", err.msg);
  return st;
}

/* ---- ets: the model ---------------------------------------------------------------- */

/* The ops table names the kind the engine selects it by. */
static void test_ets_ops_are_the_ets_kind(void **state) {
  (void)state;
  assert_int_equal(fc__ets_ops.kind, FC_KIND_ETS);
  assert_string_equal(fc__ets_ops.name, "ets");
  assert_non_null(fc__ets_ops.train_loss);
}

/* Ten days and 77 slots of a daily sine plus noise (sigma 0.1; the window ends mid-day):
 * the next day's forecasts are that sine. Amplitude and phase are read off the
 * forecasts by projecting them on sin and cos; a model without a season would give
 * amplitude ~0, one misaligned by a slot a phase 0.022 rad off. */
static void test_ets_recovers_a_daily_sines_phase_and_amplitude(void **state) {
  (void)state;
  static double y[10 * DAY + 77], w[10 * DAY + 77], mean[DAY];
  const int n = 10 * DAY + 77;
  make_noisy_sine(y, w, n, 0.1, 1);
  void *st = fit_ok(y, w, n, DAY);
  fc__ets_ops.predict(st, DAY, mean);

  double a_sin = 0.0, a_cos = 0.0, max_err = 0.0;
  for (int h = 1; h <= DAY; h++) {
    double angle = TWO_PI * (n - 1 + h) / DAY;
    a_sin += 2.0 / DAY * (mean[h - 1] - 10.0) * sin(angle);
    a_cos += 2.0 / DAY * (mean[h - 1] - 10.0) * cos(angle);
    max_err = fmax(max_err, fabs(mean[h - 1] - daily_sine(n - 1 + h)));
  }
  /* 3 sin(x + 0.7) = 3 cos(0.7) sin(x) + 3 sin(0.7) cos(x) */
  assert_float_equal(hypot(a_sin, a_cos), 3.0, 0.05);
  assert_float_equal(atan2(a_cos, a_sin), 0.7, 0.01); /* one slot: 0.022 */
  assert_true(max_err < 0.3);
  fc__ets_ops.destroy(st);
}

/* A straight line plus noise (slope 0.05 a slot, sigma 0.02), no season: the next
 * twelve forecasts keep climbing along it, short only by the damping (phi <= 0.98 gives
 * 10.6 of 12 slots' rise at h = 12). Flat forecasts would miss h = 12 by 0.6. */
static void test_ets_follows_a_linear_trend(void **state) {
  (void)state;
  enum { N = 600 };
  double y[N], w[N], mean[12];
  synth_rng rng = {2};
  for (int t = 0; t < N; t++) {
    y[t] = 5.0 + 0.05 * t + 0.02 * synth_normal(&rng);
    w[t] = 1.0;
  }
  void *st = fit_ok(y, w, N, 0);
  fc__ets_ops.predict(st, 12, mean);
  for (int h = 1; h <= 12; h++)
    assert_float_equal(mean[h - 1], 5.0 + 0.05 * (N - 1 + h), 0.2);
  assert_true(mean[11] - mean[0] > 0.35); /* the line rises 0.55 over those slots */
  fc__ets_ops.destroy(st);
}

/* Without a season the forecast is level plus damped trend, monotone in h: no cycle
 * appears even over two days of horizons. */
static void test_ets_nonseasonal_forecasts_carry_no_cycle(void **state) {
  (void)state;
  static double y[4 * DAY], w[4 * DAY], mean[2 * DAY];
  make_noisy_sine(y, w, 4 * DAY, 0.1, 3);
  void *st = fit_ok(y, w, 4 * DAY, 0);
  fc__ets_ops.predict(st, 2 * DAY, mean);
  int rising = mean[1] >= mean[0];
  for (int h = 2; h <= 2 * DAY; h++)
    assert_int_equal(mean[h - 1] >= mean[h - 2], rising);
  fc__ets_ops.destroy(st);
}

/* A level shift from 5 to 8 two thirds into a non-seasonal window: the forecasts are at
 * the new level, not at the window's mean (7) or the old level. */
static void test_ets_nonseasonal_series_tracks_a_level_shift(void **state) {
  (void)state;
  enum { N = 900 };
  double y[N], w[N], mean[12];
  synth_rng rng = {4};
  for (int t = 0; t < N; t++) {
    y[t] = (t < 600 ? 5.0 : 8.0) + 0.1 * synth_normal(&rng);
    w[t] = 1.0;
  }
  void *st = fit_ok(y, w, N, 0);
  fc__ets_ops.predict(st, 12, mean);
  for (int h = 1; h <= 12; h++)
    assert_float_equal(mean[h - 1], 8.0, 0.25);
  fc__ets_ops.destroy(st);
}

/* A NaN given to observe() advances the state with its own one-step forecast (e = 0):
 * after k missing slots, forecast h equals forecast k + h made before them. */
static void test_ets_missing_sample_advances_along_its_own_forecast(void **state) {
  (void)state;
  enum { K = 20, H = 12 };
  static double y[10 * DAY], w[10 * DAY];
  double before[K + H], after[H];
  make_noisy_sine(y, w, 10 * DAY, 0.1, 5);
  void *st = fit_ok(y, w, 10 * DAY, DAY);
  fc__ets_ops.predict(st, K + H, before);
  for (int k = 0; k < K; k++)
    fc__ets_ops.observe(st, NAN);
  fc__ets_ops.predict(st, H, after);
  for (int h = 1; h <= H; h++)
    assert_float_equal(after[h - 1], before[K + h - 1], 1e-9);
  fc__ets_ops.destroy(st);
}

/* A three-hour gap (NaN) in the stream, then real samples again: the next day's
 * forecasts, the gap's hours included, stay on the daily cycle. Taking NaN for 0 would
 * pull the gap's seasonal terms and the level down by units. */
static void test_ets_gap_in_observed_stream_does_not_derail_it(void **state) {
  (void)state;
  static double y[10 * DAY], w[10 * DAY], mean[DAY];
  const int n = 10 * DAY;
  synth_rng rng = {6};
  make_noisy_sine(y, w, n, 0.1, 7);
  void *st = fit_ok(y, w, n, DAY);
  int t = n;
  for (; t < n + 100; t++)
    fc__ets_ops.observe(st, daily_sine(t) + 0.1 * synth_normal(&rng));
  for (; t < n + 136; t++)
    fc__ets_ops.observe(st, NAN);
  for (; t < n + 160; t++)
    fc__ets_ops.observe(st, daily_sine(t) + 0.1 * synth_normal(&rng));
  fc__ets_ops.predict(st, DAY, mean);
  for (int h = 1; h <= DAY; h++)
    assert_float_equal(mean[h - 1], daily_sine(t - 1 + h), 0.3);
  fc__ets_ops.destroy(st);
}

/* A surprise of +5 at one slot raises the next day's forecast at that phase more than
 * at its neighbours: the error went into that phase's seasonal term (by gamma), not
 * only into the level and trend that all phases share. Frozen seasonal terms
 * (gamma = 0) would raise every phase alike. */
static void test_ets_error_at_one_phase_corrects_that_phase_a_day_later(void **state) {
  (void)state;
  static double y[10 * DAY], w[10 * DAY];
  double before[DAY + 1], after[DAY];
  make_noisy_sine(y, w, 10 * DAY, 0.1, 17);
  void *st = fit_ok(y, w, 10 * DAY, DAY);
  fc__ets_ops.predict(st, DAY + 1, before);
  fc__ets_ops.observe(st, before[0] + 5.0);
  fc__ets_ops.predict(st, DAY, after);
  /* after[h - 1] and before[h] forecast the same slot. */
  double rise_same_phase = after[DAY - 1] - before[DAY];
  double rise_neighbour = after[DAY - 11] - before[DAY - 10];
  assert_true(rise_same_phase - rise_neighbour > 0.25);
  fc__ets_ops.destroy(st);
}

/* Samples weighted below 0.5 are missing to the fit: spikes of +50 there change
 * nothing, bit for bit, against the same window with the true values in their place. */
static void test_ets_fit_ignores_samples_weighted_below_half(void **state) {
  (void)state;
  static double clean[10 * DAY], spiky[10 * DAY], w[10 * DAY];
  double mean_clean[DAY], mean_spiky[DAY];
  const int n = 10 * DAY;
  make_noisy_sine(clean, w, n, 0.1, 8);
  for (int t = 0; t < n; t++) {
    spiky[t] = clean[t];
    if (t % 37 == 5 || (t >= 1000 && t < 1040)) { /* scattered, and a 40-slot run */
      spiky[t] = clean[t] + 50.0;
      w[t] = t % 2 ? 0.0 : 0.3;
    }
  }
  void *a = fit_ok(clean, w, n, DAY), *b = fit_ok(spiky, w, n, DAY);
  fc__ets_ops.predict(a, DAY, mean_clean);
  fc__ets_ops.predict(b, DAY, mean_spiky);
  for (int h = 1; h <= DAY; h++) {
    assert_true(mean_spiky[h - 1] == mean_clean[h - 1]);
    assert_float_equal(mean_spiky[h - 1], daily_sine(n - 1 + h), 0.3);
  }
  assert_true(fc__ets_ops.train_loss(b) == fc__ets_ops.train_loss(a));
  fc__ets_ops.destroy(a);
  fc__ets_ops.destroy(b);
}

/* A seasonal model needs two seasons to initialise from: one slot short is refused. */
static void test_ets_fit_refuses_a_window_shorter_than_two_seasons(void **state) {
  (void)state;
  static double y[2 * DAY], w[2 * DAY];
  make_noisy_sine(y, w, 2 * DAY, 0.1, 9);
  fc_error err = {0};
  assert_null(fit(y, w, 2 * DAY - 1, DAY, &err));
  assert_int_equal(err.code, FC_ENODATA);
}

/* Exactly two seasons are enough. */
static void test_ets_fit_accepts_exactly_two_seasons(void **state) {
  (void)state;
  static double y[2 * DAY], w[2 * DAY];
  make_noisy_sine(y, w, 2 * DAY, 0.1, 10);
  void *st = fit_ok(y, w, 2 * DAY, DAY);
  fc__ets_ops.destroy(st);
}

/* Without a season ten samples are the least; nine are refused. */
static void test_ets_nonseasonal_fit_needs_ten_samples(void **state) {
  (void)state;
  double y[10], w[10];
  make_noisy_sine(y, w, 10, 0.1, 11);
  fc_error err = {0};
  assert_null(fit(y, w, 9, 0, &err));
  assert_int_equal(err.code, FC_ENODATA);
  void *st = fit_ok(y, w, 10, 0);
  fc__ets_ops.destroy(st);
}

/* A window long enough but with fewer than ten samples that count is refused. */
static void test_ets_fit_refuses_a_window_of_missing_samples(void **state) {
  (void)state;
  static double y[3 * DAY], w[3 * DAY];
  make_noisy_sine(y, w, 3 * DAY, 0.1, 12);
  for (int t = 0; t < 3 * DAY; t++)
    w[t] = t % 100 == 0 ? 1.0 : 0.0; /* 9 samples count */
  fc_error err = {0};
  assert_null(fit(y, w, 3 * DAY, DAY, &err));
  assert_int_equal(err.code, FC_ENODATA);
}

/* A season of one slot would duplicate the level: an invalid argument, not a fit. */
static void test_ets_fit_rejects_a_season_of_one_slot(void **state) {
  (void)state;
  double y[20], w[20];
  make_noisy_sine(y, w, 20, 0.1, 13);
  fc_error err = {0};
  assert_null(fit(y, w, 20, 1, &err));
  assert_int_equal(err.code, FC_EINVAL);
}

/* Horizons past one season wrap around the seasonal ring: forecasts are finite and,
 * the damped trend having died out, repeat with the period. */
static void test_ets_forecasts_beyond_a_season_repeat_it(void **state) {
  (void)state;
  static double y[10 * DAY], w[10 * DAY], mean[3 * DAY];
  make_noisy_sine(y, w, 10 * DAY, 0.1, 14);
  void *st = fit_ok(y, w, 10 * DAY, DAY);
  fc__ets_ops.predict(st, 3 * DAY, mean);
  for (int h = 1; h <= 3 * DAY; h++)
    assert_true(isfinite(mean[h - 1]));
  for (int h = DAY + 1; h <= 2 * DAY; h++)
    assert_float_equal(mean[h - 1 + DAY], mean[h - 1], 1e-3);
  fc__ets_ops.destroy(st);
}

/* Observations whose errors overflow (alternating +-DBL_MAX) poison the state with
 * infinities; predict() still writes only finite values. */
static void test_ets_predict_writes_only_finite_values_after_overflow(void **state) {
  (void)state;
  static double y[3 * DAY], w[3 * DAY];
  double mean[2 * DAY];
  make_noisy_sine(y, w, 3 * DAY, 0.1, 15);
  void *st = fit_ok(y, w, 3 * DAY, DAY);
  for (int k = 0; k < 8; k++)
    fc__ets_ops.observe(st, k % 2 ? -DBL_MAX : DBL_MAX);
  fc__ets_ops.predict(st, 2 * DAY, mean);
  for (int h = 1; h <= 2 * DAY; h++)
    assert_true(isfinite(mean[h - 1]));
  fc__ets_ops.destroy(st);
}

/* On a well-specified series the one-step MSE of the fit is about the noise variance
 * (0.2^2 = 0.04); a model missing the cycle would report ~4.5. */
static void test_ets_train_loss_is_about_the_noise_variance(void **state) {
  (void)state;
  static double y[10 * DAY], w[10 * DAY];
  make_noisy_sine(y, w, 10 * DAY, 0.2, 16);
  void *st = fit_ok(y, w, 10 * DAY, DAY);
  double loss = fc__ets_ops.train_loss(st);
  assert_true(loss > 0.035 && loss < 0.05);
  fc__ets_ops.destroy(st);
}

/* ---- fc__nelder_mead: the optimiser ------------------------------------------------ */

/* f's context: counts calls, records how far outside the box any call went and the
 * best value seen. */
typedef struct probe {
  int evals;
  double outside; /* largest distance of an argument outside [lo, hi] */
  const double *lo, *hi;
  const double *centre; /* for the quadratics */
  double best_f;        /* smallest value returned so far (set by probe_result) */
  double best_x[2];     /* its argument (first two coordinates) */
} probe;

static void probe_call(probe *p, const double *x, int dim) {
  if (p->evals++ == 0)
    p->best_f = INFINITY;
  for (int i = 0; i < dim; i++)
    if (p->lo != NULL)
      p->outside = fmax(p->outside, fmax(p->lo[i] - x[i], x[i] - p->hi[i]));
}

static double probe_result(probe *p, const double *x, double f) {
  if (f < p->best_f) {
    p->best_f = f;
    p->best_x[0] = x[0];
    p->best_x[1] = x[1];
  }
  return f;
}

/* sum_i (i + 1) (x_i - c_i)^2 over 4 coordinates. */
static double quadratic4(const double *x, void *ctx) {
  probe *p = ctx;
  probe_call(p, x, 4);
  double f = 0.0;
  for (int i = 0; i < 4; i++)
    f += (i + 1) * (x[i] - p->centre[i]) * (x[i] - p->centre[i]);
  return f;
}

/* Rosenbrock's banana, minimum 0 at (1, 1). */
static double rosenbrock(const double *x, void *ctx) {
  probe_call(ctx, x, 2);
  double valley = x[1] - x[0] * x[0];
  double f = 100.0 * valley * valley + (1.0 - x[0]) * (1.0 - x[0]);
  return probe_result(ctx, x, f);
}

static double constant(const double *x, void *ctx) {
  probe_call(ctx, x, 2);
  return 42.0;
}

/* (x - 0.7)^2, but NaN (a rejected point) for x < 0.5. */
static double nan_below_half(const double *x, void *ctx) {
  probe_call(ctx, x, 1);
  return x[0] < 0.5 ? NAN : (x[0] - 0.7) * (x[0] - 0.7);
}

/* An interior minimum of a quadratic bowl is found to a few 1e-4. */
static void test_nelder_mead_finds_the_minimum_of_a_quadratic(void **state) {
  (void)state;
  const double centre[4] = {0.3, -1.2, 2.5, 0.05};
  const double lo[4] = {-5, -5, -5, -5}, hi[4] = {5, 5, 5, 5}, step[4] = {1, 1, 1, 1};
  double x[4] = {0, 0, 0, 0};
  probe p = {.lo = lo, .hi = hi, .centre = centre};
  double f = fc__nelder_mead(quadratic4, &p, 4, x, step, lo, hi, 2000, 1e-14);
  for (int i = 0; i < 4; i++)
    assert_float_equal(x[i], centre[i], 1e-4);
  assert_true(f < 1e-8);
}

/* Rosenbrock's curved valley from the classic start (-1.2, 1) leads to (1, 1). */
static void test_nelder_mead_finds_the_rosenbrock_minimum(void **state) {
  (void)state;
  const double lo[2] = {-2, -2}, hi[2] = {2, 2}, step[2] = {0.5, 0.5};
  double x[2] = {-1.2, 1.0};
  probe p = {.lo = lo, .hi = hi};
  double f = fc__nelder_mead(rosenbrock, &p, 2, x, step, lo, hi, 1000, 1e-16);
  assert_float_equal(x[0], 1.0, 1e-3);
  assert_float_equal(x[1], 1.0, 2e-3);
  assert_true(f < 1e-6);
}

/* A minimum outside the box is reached on its faces, at the nearest corner here, and
 * f is never called outside the box on the way. */
static void test_nelder_mead_stops_on_the_bounds_around_an_outside_minimum(void **state) {
  (void)state;
  const double centre[4] = {2.0, -3.0, 0.5, 0.5};
  const double lo[4] = {0, -1, 0, 0}, hi[4] = {1, 1, 1, 1};
  const double step[4] = {0.2, 0.2, 0.2, 0.2};
  double x[4] = {0.5, 0.5, 0.1, 0.9};
  probe p = {.lo = lo, .hi = hi, .centre = centre};
  fc__nelder_mead(quadratic4, &p, 4, x, step, lo, hi, 2000, 1e-14);
  assert_float_equal(x[0], 1.0, 1e-6);
  assert_float_equal(x[1], -1.0, 1e-6);
  assert_float_equal(x[2], 0.5, 1e-3);
  assert_float_equal(x[3], 0.5, 1e-3);
  assert_true(p.outside <= 0.0);
}

/* The evaluation budget is a hard limit, even when the simplex has not converged. */
static void test_nelder_mead_stays_within_max_evals(void **state) {
  (void)state;
  const double lo[2] = {-2, -2}, hi[2] = {2, 2}, step[2] = {0.5, 0.5};
  double x[2] = {-1.2, 1.0};
  probe p = {.lo = lo, .hi = hi};
  fc__nelder_mead(rosenbrock, &p, 2, x, step, lo, hi, 50, 0.0);
  assert_true(p.evals <= 50);
  assert_true(p.evals >= 45); /* and it does use the budget */
}

/* Stopped by its budget far from the minimum, it returns the best point it evaluated
 * and that point's value. */
static void test_nelder_mead_returns_the_best_point_it_evaluated(void **state) {
  (void)state;
  const double lo[2] = {-2, -2}, hi[2] = {2, 2}, step[2] = {0.5, 0.5};
  double x[2] = {-1.2, 1.0};
  probe p = {.lo = lo, .hi = hi};
  double f = fc__nelder_mead(rosenbrock, &p, 2, x, step, lo, hi, 30, 0.0);
  assert_true(f == p.best_f);
  assert_true(x[0] == p.best_x[0] && x[1] == p.best_x[1]);
}

/* A flat function stops as soon as the initial simplex shows no spread. */
static void test_nelder_mead_stops_when_values_agree_within_ftol(void **state) {
  (void)state;
  const double lo[2] = {-2, -2}, hi[2] = {2, 2}, step[2] = {0.5, 0.5};
  double x[2] = {0.1, 0.2};
  probe p = {.lo = lo, .hi = hi};
  double f = fc__nelder_mead(constant, &p, 2, x, step, lo, hi, 1000, 1e-12);
  assert_int_equal(p.evals, 3);
  assert_float_equal(f, 42.0, 0.0);
}

/* f may reject a point by returning NaN, even the starting point; the search leaves the
 * rejected region and finds the minimum. */
static void test_nelder_mead_treats_nan_as_worse_than_any_value(void **state) {
  (void)state;
  const double lo[1] = {0}, hi[1] = {1}, step[1] = {0.3};
  double x[1] = {0.45};
  probe p = {.lo = lo, .hi = hi};
  double f = fc__nelder_mead(nan_below_half, &p, 1, x, step, lo, hi, 500, 1e-14);
  assert_float_equal(x[0], 0.7, 1e-4);
  assert_true(f < 1e-8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ets_ops_are_the_ets_kind),
      cmocka_unit_test(test_ets_recovers_a_daily_sines_phase_and_amplitude),
      cmocka_unit_test(test_ets_follows_a_linear_trend),
      cmocka_unit_test(test_ets_nonseasonal_forecasts_carry_no_cycle),
      cmocka_unit_test(test_ets_nonseasonal_series_tracks_a_level_shift),
      cmocka_unit_test(test_ets_missing_sample_advances_along_its_own_forecast),
      cmocka_unit_test(test_ets_gap_in_observed_stream_does_not_derail_it),
      cmocka_unit_test(test_ets_error_at_one_phase_corrects_that_phase_a_day_later),
      cmocka_unit_test(test_ets_fit_ignores_samples_weighted_below_half),
      cmocka_unit_test(test_ets_fit_refuses_a_window_shorter_than_two_seasons),
      cmocka_unit_test(test_ets_fit_accepts_exactly_two_seasons),
      cmocka_unit_test(test_ets_nonseasonal_fit_needs_ten_samples),
      cmocka_unit_test(test_ets_fit_refuses_a_window_of_missing_samples),
      cmocka_unit_test(test_ets_fit_rejects_a_season_of_one_slot),
      cmocka_unit_test(test_ets_forecasts_beyond_a_season_repeat_it),
      cmocka_unit_test(test_ets_predict_writes_only_finite_values_after_overflow),
      cmocka_unit_test(test_ets_train_loss_is_about_the_noise_variance),
      cmocka_unit_test(test_nelder_mead_finds_the_minimum_of_a_quadratic),
      cmocka_unit_test(test_nelder_mead_finds_the_rosenbrock_minimum),
      cmocka_unit_test(test_nelder_mead_stops_on_the_bounds_around_an_outside_minimum),
      cmocka_unit_test(test_nelder_mead_stays_within_max_evals),
      cmocka_unit_test(test_nelder_mead_returns_the_best_point_it_evaluated),
      cmocka_unit_test(test_nelder_mead_stops_when_values_agree_within_ftol),
      cmocka_unit_test(test_nelder_mead_treats_nan_as_worse_than_any_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
