/* test_season.c -- the daily/weekly cycle test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "forecast/fc_internal.h"
#include "tests/unit/synth.h"

enum { DAY = 288, N = 14 * DAY };
static double y[N];

static void test_season_finds_daily_cycle(void **state) {
  (void)state;
  synth_sine(y, N, 0, 10.0, 2.0, DAY, 0.0, 1.0, 7);
  int season, week;
  double r_day, r_week;
  assert_int_equal(fc__detect_season(y, N, DAY, &season, &week, &r_day, &r_week), 0);
  assert_int_equal(season, DAY);
  assert_int_equal(week, 0);
}

/* White noise has no cycle. */
static void test_season_rejects_white_noise(void **state) {
  (void)state;
  synth_sine(y, N, 0, 10.0, 0.0, DAY, 0.0, 1.0, 8);
  int season, week;
  double r_day, r_week;
  fc__detect_season(y, N, DAY, &season, &week, &r_day, &r_week);
  assert_int_equal(season, 0);
  assert_int_equal(week, 0);
}

/* A random walk (level drifts, every lag correlated) is not mistaken for a cycle. */
static void test_season_rejects_random_walk(void **state) {
  (void)state;
  synth_rng r = {9};
  y[0] = 100.0;
  for (int i = 1; i < N; i++)
    y[i] = y[i - 1] + synth_normal(&r);
  int season, week;
  double r_day, r_week;
  fc__detect_season(y, N, DAY, &season, &week, &r_day, &r_week);
  assert_int_equal(season, 0);
}

/* Busy weekdays and quiet weekends make a weekly cycle. */
static void test_season_finds_weekly_cycle(void **state) {
  (void)state;
  synth_sine(y, N, 0, 10.0, 1.0, DAY, 0.0, 0.5, 10);
  for (int i = 0; i < N; i++)
    if ((i / DAY) % 7 >= 5)
      y[i] -= 6.0;
  int season, week;
  double r_day, r_week;
  fc__detect_season(y, N, DAY, &season, &week, &r_day, &r_week);
  assert_int_equal(week, 7 * DAY);
}

/* Less than two weeks cannot show a weekly cycle. */
static void test_season_needs_two_weeks_for_weekly(void **state) {
  (void)state;
  synth_sine(y, N, 0, 10.0, 1.0, DAY, 0.0, 0.5, 11);
  for (int i = 0; i < N; i++)
    if ((i / DAY) % 7 >= 5)
      y[i] -= 6.0;
  int season, week;
  double r_day, r_week;
  fc__detect_season(y, N - 1, DAY, &season, &week, &r_day, &r_week);
  assert_int_equal(week, 0);
  assert_true(isnan(r_week)); /* not computed */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_season_finds_daily_cycle),
      cmocka_unit_test(test_season_rejects_white_noise),
      cmocka_unit_test(test_season_rejects_random_walk),
      cmocka_unit_test(test_season_finds_weekly_cycle),
      cmocka_unit_test(test_season_needs_two_weeks_for_weekly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
