/* test_naive.c -- the reference forecasts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "forecast/fc_internal.h"

enum { DAY = 288 };

static fc__fit_input input(const double *y, const double *w, int n, int week) {
  return (fc__fit_input){.y = y, .w = w, .n = n, .season = DAY,
                         .season_week = week, .day_slots = DAY, .h_max = 12};
}

/* naive repeats the last value and keeps it through a missing sample. */
static void test_naive_repeats_last_value_through_gaps(void **state) {
  (void)state;
  double y[3] = {1.0, 2.0, 3.0}, w[3] = {1, 1, 1}, out[12];
  fc__fit_input in = input(y, w, 3, 0);
  void *st = fc__naive_ops.fit(&in, NULL);
  assert_non_null(st);
  fc__naive_ops.observe(st, 5.0);
  fc__naive_ops.observe(st, NAN);
  fc__naive_ops.predict(st, 12, out);
  for (int h = 0; h < 12; h++)
    assert_float_equal(out[h], 5.0, 0);
  fc__naive_ops.destroy(st);
}

/* snaive forecasts slot t+h with the value of slot t+h-288. */
static void test_snaive_uses_same_slot_yesterday(void **state) {
  (void)state;
  static double y[2 * DAY], w[2 * DAY];
  for (int i = 0; i < 2 * DAY; i++)
    y[i] = i, w[i] = 1.0;
  fc__fit_input in = input(y, w, 2 * DAY, 0);
  void *st = fc__snaive_ops.fit(&in, NULL);
  assert_non_null(st);
  double out[12];
  fc__snaive_ops.predict(st, 12, out);
  for (int h = 1; h <= 12; h++) /* target index 2*DAY-1+h, one day earlier */
    assert_float_equal(out[h - 1], 2 * DAY - 1 + h - DAY, 0);
  fc__snaive_ops.observe(st, 1000.0);
  fc__snaive_ops.predict(st, 12, out);
  assert_float_equal(out[0], 2 * DAY + 1 - DAY, 0);
  fc__snaive_ops.destroy(st);
}

/* With a weekly cycle detected, snaive looks one week back. */
static void test_snaive_uses_last_week_when_weekly(void **state) {
  (void)state;
  static double y[14 * DAY], w[14 * DAY];
  for (int i = 0; i < 14 * DAY; i++)
    y[i] = i, w[i] = 1.0;
  fc__fit_input in = input(y, w, 14 * DAY, 7 * DAY);
  void *st = fc__snaive_ops.fit(&in, NULL);
  double out[12];
  fc__snaive_ops.predict(st, 12, out);
  assert_float_equal(out[0], 14 * DAY - 7 * DAY, 0);
  fc__snaive_ops.destroy(st);
}

/* snaive refuses a window shorter than its period. */
static void test_snaive_refuses_window_shorter_than_a_day(void **state) {
  (void)state;
  double y[10] = {0}, w[10] = {0};
  fc__fit_input in = input(y, w, 10, 0);
  fc_error err = {0};
  assert_null(fc__snaive_ops.fit(&in, &err));
  assert_int_equal(err.code, FC_ENODATA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_naive_repeats_last_value_through_gaps),
      cmocka_unit_test(test_snaive_uses_same_slot_yesterday),
      cmocka_unit_test(test_snaive_uses_last_week_when_weekly),
      cmocka_unit_test(test_snaive_refuses_window_shorter_than_a_day),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
