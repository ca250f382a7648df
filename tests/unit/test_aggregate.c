/* test_aggregate.c -- host-set totals: the interval reflects the members' correlation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "forecast/forecast.h"
#include "tests/unit/synth.h"

enum { DAY = 288, STEP = 300, N = 6 * DAY, MEMBERS = 4 };

static fc_config quick_config(void) {
  fc_config c;
  fc_config_default(&c);
  c.history_slots = N;
  c.backtest_slots = 2 * DAY;
  c.kinds = FC_KIND_BIT(FC_KIND_NAIVE) | FC_KIND_BIT(FC_KIND_SNAIVE);
  return c;
}

/* Fits MEMBERS models on series sharing a common noise share `rho` (0: independent,
 * 1: identical noise) and returns the aggregate's 1-step interval width over the sum of
 * the members' widths. */
static double width_ratio(double rho, fc_point *agg) {
  fc_config c = quick_config();
  static double common[N], own[N];
  synth_sine(common, N, 0, 0.0, 0.0, DAY, 0.0, 1.0, 77);
  fc_model *m[MEMBERS];
  double sum_widths = 0.0;
  for (int k = 0; k < MEMBERS; k++) {
    synth_sine(own, N, 0, 0.0, 0.0, DAY, 0.0, 1.0, 100 + (uint64_t)k);
    fc_series *s = fc_series_create(STEP, N, FC_SERIES_GAUGE, NULL);
    for (int i = 0; i < N; i++)
      fc_series_add(s, (double)i * STEP,
                    50.0 + 10.0 * sin(2 * M_PI * i / DAY) + 3.0 * (rho * common[i] +
                                                                    (1 - rho) * own[i]));
    m[k] = fc_model_fit(&c, s, NULL);
    assert_non_null(m[k]);
    fc_point p[3];
    fc_model_forecast(m[k], p);
    sum_widths += p[0].hi - p[0].lo;
    fc_series_destroy(s);
  }
  assert_int_equal(fc_aggregate_forecast((const fc_model *const *)m, MEMBERS, agg, NULL), 0);
  for (int k = 0; k < MEMBERS; k++)
    fc_model_destroy(m[k]);
  return (agg[0].hi - agg[0].lo) / sum_widths;
}

/* Independent members: the total's interval is much narrower than the summed bounds
 * (about 1/sqrt(4) of them); perfectly correlated members: about equal to them. */
static void test_aggregate_interval_follows_member_correlation(void **state) {
  (void)state;
  fc_point agg[3];
  double independent = width_ratio(0.0, agg);
  double correlated = width_ratio(1.0, agg);
  assert_true(independent < 0.7);
  assert_true(correlated > 0.9 && correlated < 1.1);
}

/* The total's mean is the sum of the members' means. */
static void test_aggregate_mean_is_sum_of_means(void **state) {
  (void)state;
  fc_point agg[3];
  width_ratio(0.5, agg);
  /* four members around 50 each */
  assert_true(agg[0].mean > 4 * 30.0 && agg[0].mean < 4 * 70.0);
  assert_true(agg[0].lo <= agg[0].mean && agg[0].mean <= agg[0].hi);
}

/* Members at different slots cannot be added up. */
static void test_aggregate_refuses_members_at_different_slots(void **state) {
  (void)state;
  fc_config c = quick_config();
  static double y[N];
  synth_sine(y, N, 0, 10.0, 2.0, DAY, 0.0, 0.5, 5);
  fc_series *s = fc_series_create(STEP, N, FC_SERIES_GAUGE, NULL);
  for (int i = 0; i < N; i++)
    fc_series_add(s, (double)i * STEP, y[i]);
  fc_model *a = fc_model_fit(&c, s, NULL), *b = fc_model_fit(&c, s, NULL);
  fc_model_observe(b, 10.0);
  const fc_model *members[2] = {a, b};
  fc_point out[3];
  fc_error err = {0};
  assert_int_equal(fc_aggregate_forecast(members, 2, out, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "member 1 is at slot"));
  fc_model_destroy(a);
  fc_model_destroy(b);
  fc_series_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aggregate_interval_follows_member_correlation),
      cmocka_unit_test(test_aggregate_mean_is_sum_of_means),
      cmocka_unit_test(test_aggregate_refuses_members_at_different_slots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
