/* test_fourier.c -- the Fourier kind (forecast/fourier.c): trend with changepoints,
 * daily season in absolute time, residual correction.
 *
 * Series are simulated here with a fixed-seed generator; forecasts are compared with
 * the noise-free truth, so the tolerances bound estimation error, not noise. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forecast/fc_internal.h"

#define DAY 288
#define TWO_PI 6.283185307179586
#define SLOT0 5000017 /* not a multiple of DAY: phase must come from absolute time */

/* ---- deterministic noise: splitmix64 -> uniform -> Box-Muller ---- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s) { /* (0, 1) */
  return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(uint64_t *s) {
  double u = rng_uniform(s), v = rng_uniform(s);
  return sqrt(-2.0 * log(u)) * cos(TWO_PI * v);
}

/* The truth of a test series at window index i (absolute slot SLOT0 + i). */
typedef struct truth {
  double level, slope;     /* level at i = 0, slope per slot */
  int break_at;            /* index where the slope becomes slope2 (0: never) */
  double slope2;
  double amp, phase;       /* daily sine: amp sin(2 pi u / DAY + phase) */
} truth;

static double truth_at(const truth *t, int i) {
  double g = t->level + t->slope * i;
  if (t->break_at > 0 && i > t->break_at)
    g += (t->slope2 - t->slope) * (i - t->break_at);
  return g + t->amp * sin(TWO_PI * (double)(SLOT0 + i) / DAY + t->phase);
}

static void simulate(const truth *t, double noise_sd, uint64_t seed, double *y, double *w,
                     int n) {
  for (int i = 0; i < n; i++) {
    y[i] = truth_at(t, i) + noise_sd * rng_normal(&seed);
    w[i] = 1.0;
  }
}

static fc__fit_input input(const double *y, const double *w, int n, int h_max) {
  fc__fit_input in = {.y = y, .w = w, .n = n, .season = DAY, .season_week = 0,
                      .day_slots = DAY, .h_max = h_max, .slot0 = SLOT0, .seed = 1};
  return in;
}

/* Largest |forecast - truth| over horizons 1..h after a fit on n slots. */
static double max_error(const truth *t, const double *mean, int n, int h_max) {
  double worst = 0;
  for (int h = 1; h <= h_max; h++)
    worst = fmax(worst, fabs(mean[h - 1] - truth_at(t, n - 1 + h)));
  return worst;
}

/* Fitted on ten days of a daily sine plus noise (sd 1), the next day's forecasts
 * match the sine, i.e. its amplitude and its phase in absolute time (within 0.5, a
 * twentieth of the amplitude; a phase error of one slot alone would cost 0.22). */
static void test_fourier_recovers_daily_sine_phase_and_amplitude(void **state) {
  (void)state;
  enum { N = 10 * DAY };
  static double y[N], w[N], mean[DAY];
  truth t = {.level = 50, .amp = 10, .phase = 0.7};
  simulate(&t, 1.0, 1, y, w, N);
  fc__fit_input in = input(y, w, N, DAY);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  fc__fourier_ops.predict(st, DAY, mean);
  assert_true(max_error(&t, mean, N, DAY) < 0.5);
  fc__fourier_ops.destroy(st);
}

/* On a linear trend (no season), forecasts a day ahead continue the line. */
static void test_fourier_follows_linear_trend(void **state) {
  (void)state;
  enum { N = 11 * DAY };
  static double y[N], w[N], mean[DAY];
  truth t = {.level = 5, .slope = 0.01};
  simulate(&t, 0.5, 2, y, w, N);
  fc__fit_input in = input(y, w, N, DAY);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  fc__fourier_ops.predict(st, DAY, mean);
  /* a day of trend is 2.88; an undamped slope error of 10% would cost 0.29 */
  assert_true(max_error(&t, mean, N, DAY) < 0.25);
  fc__fourier_ops.destroy(st);
}

/* A slope that turns from +0.02 to -0.01 per slot at 60% of the window is picked up:
 * the forecast's slope over the next two days is the new one (within 0.002), and
 * the forecasts follow the truth. */
static void test_fourier_picks_up_changepoint_in_slope(void **state) {
  (void)state;
  enum { N = 11 * DAY, H = 2 * DAY };
  static double y[N], w[N], mean[H];
  truth t = {.level = 20, .slope = 0.02, .break_at = 6 * N / 10, .slope2 = -0.01,
             .amp = 3, .phase = 2.0};
  simulate(&t, 0.5, 3, y, w, N);
  fc__fit_input in = input(y, w, N, H);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  fc__fourier_ops.predict(st, H, mean);
  double slope = 0; /* a day apart: the season cancels */
  for (int h = 0; h < DAY; h++)
    slope += (mean[h + DAY] - mean[h]) / DAY / DAY;
  assert_float_equal(slope, -0.01, 0.002);
  assert_true(max_error(&t, mean, N, H) < 1.0);
  fc__fourier_ops.destroy(st);
}

/* A missing sample advances the model exactly as its own one-step forecast would,
 * and forecasts stay finite. */
static void test_fourier_missing_sample_acts_as_own_forecast(void **state) {
  (void)state;
  enum { N = 4 * DAY, H = 12 };
  static double y[N], w[N];
  truth t = {.level = 50, .slope = 0.001, .amp = 10, .phase = 0.3};
  simulate(&t, 1.0, 4, y, w, N);
  fc__fit_input in = input(y, w, N, H);
  fc_error err = {0};
  void *a = fc__fourier_ops.fit(&in, &err), *b = fc__fourier_ops.fit(&in, &err);
  assert_non_null(a);
  assert_non_null(b);
  double one[1], ma[H], mb[H];
  fc__fourier_ops.predict(b, 1, one);
  fc__fourier_ops.observe(a, NAN);
  fc__fourier_ops.observe(b, one[0]);
  fc__fourier_ops.predict(a, H, ma);
  fc__fourier_ops.predict(b, H, mb);
  for (int h = 0; h < H; h++) {
    assert_true(isfinite(ma[h]));
    assert_float_equal(ma[h], mb[h], 1e-9);
  }
  fc__fourier_ops.destroy(a);
  fc__fourier_ops.destroy(b);
}

/* Samples of weight 0 (filled gaps) do not pull the fit: a window with a half-day gap
 * filled with nonsense forecasts like the clean one. */
static void test_fourier_ignores_zero_weight_samples(void **state) {
  (void)state;
  enum { N = 10 * DAY };
  static double y[N], w[N], mean[DAY];
  truth t = {.level = 50, .amp = 10, .phase = 0.7};
  simulate(&t, 1.0, 1, y, w, N);
  for (int i = 5 * DAY; i < 5 * DAY + DAY / 2; i++) {
    y[i] = 500.0;
    w[i] = 0.0;
  }
  fc__fit_input in = input(y, w, N, DAY);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  fc__fourier_ops.predict(st, DAY, mean);
  assert_true(max_error(&t, mean, N, DAY) < 0.5);
  fc__fourier_ops.destroy(st);
}

/* After a level shift the static fit has not seen, the residual correction moves the
 * next forecasts toward the new level and fades back with phi_r^h. */
static void test_fourier_residual_correction_tracks_recent_level(void **state) {
  (void)state;
  enum { N = 10 * DAY, H = 3 };
  static double y[N], w[N];
  truth t = {.level = 50, .amp = 10, .phase = 0.7};
  uint64_t seed = 9;
  double r = 0;
  for (int i = 0; i < N; i++) { /* AR(1) residuals, phi 0.9, so phi_r is estimable */
    r = 0.9 * r + 0.5 * rng_normal(&seed);
    y[i] = truth_at(&t, i) + r;
    w[i] = 1.0;
  }
  fc__fit_input in = input(y, w, N, H);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  double base[H], after[H];
  fc__fourier_ops.predict(st, H, base);
  fc__fourier_ops.observe(st, truth_at(&t, N) + 5.0); /* 5 above the season */
  fc__fourier_ops.predict(st, H, after);
  double e1 = after[0] - truth_at(&t, N + 1), e3 = after[2] - truth_at(&t, N + 3);
  assert_float_equal(e1, 0.9 * 5.0, 0.5);
  assert_true(e3 < e1 && e3 > 0.5 * e1);
  fc__fourier_ops.destroy(st);
}

/* train_loss is the in-sample one-step MSE: the noise variance, 1 here. */
static void test_fourier_train_loss_is_one_step_mse(void **state) {
  (void)state;
  enum { N = 10 * DAY };
  static double y[N], w[N];
  truth t = {.level = 50, .amp = 10, .phase = 0.7};
  simulate(&t, 1.0, 6, y, w, N);
  fc__fit_input in = input(y, w, N, 12);
  fc_error err = {0};
  void *st = fc__fourier_ops.fit(&in, &err);
  assert_non_null(st);
  assert_float_equal(fc__fourier_ops.train_loss(st), 1.0, 0.1);
  fc__fourier_ops.destroy(st);
}

/* A window shorter than two days is refused: a daily cycle cannot be told from a
 * trend. */
static void test_fourier_refuses_window_shorter_than_two_days(void **state) {
  (void)state;
  enum { N = 2 * DAY - 1 };
  static double y[N], w[N];
  truth t = {.level = 1, .amp = 1};
  simulate(&t, 0.1, 1, y, w, N);
  fc__fit_input in = input(y, w, N, 12);
  fc_error err = {0};
  assert_null(fc__fourier_ops.fit(&in, &err));
  assert_int_equal(err.code, FC_ENODATA);
  assert_non_null(strstr(err.msg, "too short"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fourier_recovers_daily_sine_phase_and_amplitude),
      cmocka_unit_test(test_fourier_follows_linear_trend),
      cmocka_unit_test(test_fourier_picks_up_changepoint_in_slope),
      cmocka_unit_test(test_fourier_missing_sample_acts_as_own_forecast),
      cmocka_unit_test(test_fourier_ignores_zero_weight_samples),
      cmocka_unit_test(test_fourier_residual_correction_tracks_recent_level),
      cmocka_unit_test(test_fourier_train_loss_is_one_step_mse),
      cmocka_unit_test(test_fourier_refuses_window_shorter_than_two_days),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
