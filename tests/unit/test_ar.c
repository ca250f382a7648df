/* test_ar.c -- the AR kind (forecast/ar.c) and the ridge solver it fits with
 * (forecast/linalg.c).
 *
 * Series are simulated here with a fixed-seed generator, so every run sees the same
 * numbers and a tolerance failing means the code changed, not the luck. Tolerances are
 * a few standard errors of the estimate they bound (stated at each). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forecast/ar.h"
#include "forecast/fc_internal.h"

#define DAY 288

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
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* y_t = mu + phi (y_{t-1} - mu) + e_t, e ~ N(0, 1), started at its mean, burnt in. */
static void simulate_ar1(double *y, int n, double mu, double phi, uint64_t seed) {
  double x = 0;
  for (int i = -200; i < n; i++) {
    x = phi * x + rng_normal(&seed);
    if (i >= 0)
      y[i] = mu + x;
  }
}

/* An input over y with unit weights and a daily period of DAY slots. */
static fc__fit_input input(const double *y, double *w, int n) {
  for (int i = 0; i < n; i++)
    w[i] = 1.0;
  fc__fit_input in = {.y = y, .w = w, .n = n, .season = 0, .season_week = 0,
                      .day_slots = DAY, .h_max = 12, .slot0 = 1000003, .seed = 1};
  return in;
}

/* ---- AR ---- */

/* The lag-1 coefficient of a simulated AR(1), phi = 0.7, is recovered within 0.05
 * (its standard error at n = 4000 is sqrt((1 - phi^2) / n) = 0.011). */
static void test_ar_recovers_ar1_coefficient(void **state) {
  (void)state;
  enum { N = 4000 };
  static double y[N], w[N];
  simulate_ar1(y, N, 10.0, 0.7, 42);
  fc__fit_input in = input(y, w, N);
  fc_error err = {0};
  void *st = fc__ar_ops.fit(&in, &err);
  assert_non_null(st);
  assert_float_equal(fc__ar_coef(st, 1), 0.7, 0.05);
  fc__ar_ops.destroy(st);
}

/* From a shock of 10 sd above the mean, forecasts decay toward the mean as phi^h
 * (deviation within 0.1 x the shock at every horizon, and back at the mean by h = 36). */
static void test_ar_forecasts_decay_toward_mean_as_phi_to_the_h(void **state) {
  (void)state;
  enum { N = 4000, H = 36 };
  static double y[N], w[N];
  simulate_ar1(y, N, 10.0, 0.7, 7);
  fc__fit_input in = input(y, w, N);
  in.h_max = H;
  fc_error err = {0};
  void *st = fc__ar_ops.fit(&in, &err);
  assert_non_null(st);
  fc__ar_ops.observe(st, 20.0);
  double mean[H];
  fc__ar_ops.predict(st, H, mean);
  for (int h = 1; h <= H; h++) {
    double expect = 10.0 + pow(0.7, h) * 10.0;
    assert_float_equal(mean[h - 1], expect, 1.0);
  }
  assert_float_equal(mean[H - 1], 10.0, 0.2);
  fc__ar_ops.destroy(st);
}

/* A missing sample advances the model exactly as its own one-step forecast would. */
static void test_ar_missing_sample_acts_as_own_forecast(void **state) {
  (void)state;
  enum { N = 2000, H = 12 };
  static double y[N], w[N];
  simulate_ar1(y, N, 3.0, 0.5, 11);
  fc__fit_input in = input(y, w, N);
  fc_error err = {0};
  void *a = fc__ar_ops.fit(&in, &err), *b = fc__ar_ops.fit(&in, &err);
  assert_non_null(a);
  assert_non_null(b);
  double one[1], ma[H], mb[H];
  fc__ar_ops.predict(b, 1, one);
  fc__ar_ops.observe(a, NAN);
  fc__ar_ops.observe(b, one[0]);
  fc__ar_ops.predict(a, H, ma);
  fc__ar_ops.predict(b, H, mb);
  for (int h = 0; h < H; h++) {
    assert_true(isfinite(ma[h]));
    assert_float_equal(ma[h], mb[h], 1e-12);
  }
  fc__ar_ops.destroy(a);
  fc__ar_ops.destroy(b);
}

/* Samples of weight 0 (filled gaps) do not pull the fit: a window whose gaps were
 * filled with nonsense gives the coefficient of the clean series. */
static void test_ar_ignores_zero_weight_samples(void **state) {
  (void)state;
  enum { N = 4000 };
  static double y[N], w[N];
  simulate_ar1(y, N, 10.0, 0.7, 42);
  fc__fit_input in = input(y, w, N);
  for (int i = 500; i < N; i += 97) { /* a missing sample every 97 slots ... */
    y[i] = 1000.0;                    /* ... "filled" far from anything real */
    w[i] = 0.0;
  }
  fc_error err = {0};
  void *st = fc__ar_ops.fit(&in, &err);
  assert_non_null(st);
  assert_float_equal(fc__ar_coef(st, 1), 0.7, 0.05);
  fc__ar_ops.destroy(st);
}

/* On a series with a daily cycle, the fit picks the daily lag by itself. */
static void test_ar_selects_daily_lag_on_a_daily_cycle(void **state) {
  (void)state;
  enum { N = 3200 };
  static double y[N], w[N];
  uint64_t seed = 5;
  for (int i = 0; i < N; i++)
    y[i] = 10.0 + 5.0 * sin(6.283185307179586 * (1000003 + i) / DAY) +
           0.3 * rng_normal(&seed);
  fc__fit_input in = input(y, w, N);
  fc_error err = {0};
  void *st = fc__ar_ops.fit(&in, &err);
  assert_non_null(st);
  assert_true(fc__ar_coef(st, DAY) != 0.0);
  fc__ar_ops.destroy(st);
}

/* train_loss is the in-sample one-step MSE: the innovation variance, 1 here (its
 * standard error at n = 4000 is sqrt(2 / n) = 0.022). */
static void test_ar_train_loss_is_one_step_mse(void **state) {
  (void)state;
  enum { N = 4000 };
  static double y[N], w[N];
  simulate_ar1(y, N, 10.0, 0.7, 3);
  fc__fit_input in = input(y, w, N);
  fc_error err = {0};
  void *st = fc__ar_ops.fit(&in, &err);
  assert_non_null(st);
  assert_float_equal(fc__ar_ops.train_loss(st), 1.0, 0.1);
  fc__ar_ops.destroy(st);
}

/* A window shorter than the lags plus the rows to fit them is refused. */
static void test_ar_refuses_too_short_window(void **state) {
  (void)state;
  enum { N = 60 };
  static double y[N], w[N];
  simulate_ar1(y, N, 1.0, 0.5, 1);
  fc__fit_input in = input(y, w, N);
  fc_error err = {0};
  assert_null(fc__ar_ops.fit(&in, &err));
  assert_int_equal(err.code, FC_ENODATA);
  assert_non_null(strstr(err.msg, "too short"));
}

/* ---- ridge (linalg.c) ---- */

/* An exactly linear system, y = 1 + 2 x, is solved to rounding, weights or not. */
static void test_ridge_solves_known_system(void **state) {
  (void)state;
  const double X[] = {1, 0, 1, 1, 1, 2, 1, 3, 1, 5};
  const double y[] = {1, 3, 5, 7, 11};
  const double w[] = {1, 0.5, 1, 0.25, 1};
  double b[2];
  fc_error err = {0};
  assert_int_equal(fc__ridge(X, y, w, 5, 2, 0.0, 0, b, &err), 0);
  assert_float_equal(b[0], 1.0, 1e-12);
  assert_float_equal(b[1], 2.0, 1e-12);
  assert_int_equal(fc__ridge(X, y, NULL, 5, 2, 0.0, 0, b, &err), 0);
  assert_float_equal(b[1], 2.0, 1e-12);
}

/* The penalty applies from column pen0 on: one penalised column has the closed form
 * b = sum w x y / (sum w x^2 + lambda). */
static void test_ridge_penalises_from_pen0(void **state) {
  (void)state;
  const double X[] = {1, 2, 3};
  const double y[] = {2, 4, 6};
  const double w[] = {1, 1, 0.5};
  double b[1];
  fc_error err = {0};
  /* sum w x y = 2 + 8 + 9 = 19, sum w x^2 = 1 + 4 + 4.5 = 9.5 */
  assert_int_equal(fc__ridge(X, y, w, 3, 1, 3.0, 0, b, &err), 0);
  assert_float_equal(b[0], 19.0 / 12.5, 1e-12);
  assert_int_equal(fc__ridge(X, y, w, 3, 1, 3.0, 1, b, &err), 0);
  assert_float_equal(b[0], 2.0, 1e-12);
}

/* Two equal columns without a penalty are reported singular, b untouched. */
static void test_ridge_reports_singular_system(void **state) {
  (void)state;
  const double X[] = {1, 1, 2, 2, 3, 3, 4, 4};
  const double y[] = {1, 2, 3, 4};
  double b[2] = {-7, -7};
  fc_error err = {0};
  assert_int_equal(fc__ridge(X, y, NULL, 4, 2, 0.0, 0, b, &err), FC_ENODATA);
  assert_int_equal(err.code, FC_ENODATA);
  assert_non_null(strstr(err.msg, "singular"));
  assert_float_equal(b[0], -7, 0);
  /* the same system with a penalty is fine: it splits the slope between the two */
  assert_int_equal(fc__ridge(X, y, NULL, 4, 2, 1e-6, 0, b, &err), 0);
  assert_float_equal(b[0], 0.5, 1e-6);
  assert_float_equal(b[1], 0.5, 1e-6);
}

/* Columns that differ by 1e-7 (condition ~1e15 of X'X) factorise in floating point,
 * but the solution would be noise: the condition check reports them singular. */
static void test_ridge_reports_nearly_singular_system(void **state) {
  (void)state;
  const double d = 1e-7;
  const double X[] = {1, 1 + d, 2, 2 - d, 3, 3 + d, 4, 4 - d};
  const double y[] = {1, 2, 3, 4};
  double b[2];
  fc_error err = {0};
  assert_int_equal(fc__ridge(X, y, NULL, 4, 2, 0.0, 0, b, &err), FC_ENODATA);
  assert_non_null(strstr(err.msg, "singular"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ar_recovers_ar1_coefficient),
      cmocka_unit_test(test_ar_forecasts_decay_toward_mean_as_phi_to_the_h),
      cmocka_unit_test(test_ar_missing_sample_acts_as_own_forecast),
      cmocka_unit_test(test_ar_ignores_zero_weight_samples),
      cmocka_unit_test(test_ar_selects_daily_lag_on_a_daily_cycle),
      cmocka_unit_test(test_ar_train_loss_is_one_step_mse),
      cmocka_unit_test(test_ar_refuses_too_short_window),
      cmocka_unit_test(test_ridge_solves_known_system),
      cmocka_unit_test(test_ridge_penalises_from_pen0),
      cmocka_unit_test(test_ridge_reports_singular_system),
      cmocka_unit_test(test_ridge_reports_nearly_singular_system),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
