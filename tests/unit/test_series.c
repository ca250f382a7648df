/* test_series.c -- the series store: grid placement, gaps, bad values, counters, bounds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "forecast/forecast.h"

static fc_series *gauge(int capacity) {
  fc_error err = {0};
  fc_series *s = fc_series_create(300, capacity, FC_SERIES_GAUGE, &err);
  assert_non_null(s);
  return s;
}

/* A sample 140 s after a slot's time belongs to that slot; 150 s after, to the next. */
static void test_series_places_sample_in_nearest_slot(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000 + 140, 1.0);
  assert_int_equal(fc_series_last_slot(s), 10);
  fc_series_add(s, 3300 + 150, 2.0);
  assert_int_equal(fc_series_last_slot(s), 12);
  assert_true(isnan(fc_series_at(s, 11)));
  assert_float_equal(fc_series_at(s, 12), 2.0, 0);
  fc_series_destroy(s);
}

/* Of two samples in one slot the nearer stays, whatever their order. */
static void test_series_keeps_nearer_sample_of_a_slot(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  assert_true(fc_series_add(s, 3000 + 40, 1.0) & FC_SAMPLE_STORED);
  assert_true(fc_series_add(s, 3000 + 10, 2.0) & FC_SAMPLE_REPLACED);
  assert_true(fc_series_add(s, 3000 - 30, 3.0) & FC_SAMPLE_DUPLICATE);
  assert_float_equal(fc_series_at(s, 10), 2.0, 0);
  fc_series_stats st;
  fc_series_get_stats(s, &st);
  assert_int_equal(st.replaced, 1);
  assert_int_equal(st.duplicates, 1);
  fc_series_destroy(s);
}

/* Equally near samples: the later one wins, as in the evaluation grid. */
static void test_series_tie_goes_to_later_sample(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000 - 20, 1.0);
  assert_true(fc_series_add(s, 3000 + 20, 2.0) & FC_SAMPLE_REPLACED);
  assert_float_equal(fc_series_at(s, 10), 2.0, 0);
  fc_series_destroy(s);
}

/* Skipped slots read as missing and the gap is reported. */
static void test_series_reports_gap_as_missing_slots(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000, 1.0);
  int bits = fc_series_add(s, 3000 + 4 * 300, 5.0);
  assert_true(bits & FC_SAMPLE_GAP);
  double w[5];
  uint8_t flags[5];
  fc_series_window(s, 14, 5, w, flags);
  assert_float_equal(w[0], 1.0, 0);
  for (int i = 1; i < 4; i++) {
    assert_true(isnan(w[i]));
    assert_int_equal(flags[i], 0);
  }
  assert_float_equal(w[4], 5.0, 0);
  fc_series_destroy(s);
}

/* NaN, infinities and negative values never reach the store. */
static void test_series_rejects_non_finite_and_negative_values(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  assert_int_equal(fc_series_add(s, 3000, NAN), FC_SAMPLE_INVALID);
  assert_int_equal(fc_series_add(s, 3000, INFINITY), FC_SAMPLE_INVALID);
  assert_int_equal(fc_series_add(s, 3000, -1.0), FC_SAMPLE_INVALID);
  assert_int_equal(fc_series_len(s), 0);
  fc_series_add(s, 3300, 2.0);
  assert_int_equal(fc_series_add(s, 3600, -INFINITY), FC_SAMPLE_INVALID);
  assert_int_equal(fc_series_last_slot(s), 11);
  fc_series_stats st;
  fc_series_get_stats(s, &st);
  assert_int_equal(st.invalid, 4);
  fc_series_destroy(s);
}

/* A sample older than the newest slot (clock went back) is dropped, history intact. */
static void test_series_drops_samples_when_clock_goes_back(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000, 1.0);
  fc_series_add(s, 3600, 3.0);
  assert_int_equal(fc_series_add(s, 3300, 2.0), FC_SAMPLE_LATE);
  assert_true(isnan(fc_series_at(s, 11)));
  assert_int_equal(fc_series_last_slot(s), 12);
  fc_series_destroy(s);
}

/* Memory is bounded: only the newest `capacity` slots are kept. */
static void test_series_forgets_slots_beyond_capacity(void **state) {
  (void)state;
  fc_series *s = gauge(8);
  for (int k = 0; k < 20; k++)
    fc_series_add(s, k * 300.0, (double)k);
  assert_int_equal(fc_series_len(s), 8);
  assert_true(isnan(fc_series_at(s, 11)));
  assert_float_equal(fc_series_at(s, 12), 12.0, 0);
  assert_float_equal(fc_series_at(s, 19), 19.0, 0);
  fc_series_destroy(s);
}

/* A long gap clears the ring instead of showing values a capacity ago. */
static void test_series_gap_longer_than_capacity_leaves_no_stale_values(void **state) {
  (void)state;
  fc_series *s = gauge(4);
  for (int k = 0; k < 4; k++)
    fc_series_add(s, k * 300.0, 7.0);
  fc_series_add(s, 100 * 300.0, 1.0);
  for (int64_t slot = 97; slot < 100; slot++)
    assert_true(isnan(fc_series_at(s, slot)));
  fc_series_destroy(s);
}

/* A counter series stores rates; a counter that goes down gives no rate there. */
static void test_series_counter_rates_and_reset(void **state) {
  (void)state;
  fc_error err = {0};
  fc_series *s = fc_series_create(300, 16, FC_SERIES_COUNTER, &err);
  assert_non_null(s);
  fc_series_add(s, 3000, 1000.0);
  fc_series_add(s, 3300, 4000.0);
  assert_float_equal(fc_series_at(s, 11), 10.0, 1e-9);
  int bits = fc_series_add(s, 3600, 50.0); /* the VM restarted */
  assert_true(bits & FC_SAMPLE_RESET);
  assert_true(isnan(fc_series_at(s, 12)));
  fc_series_add(s, 3900, 350.0);
  assert_float_equal(fc_series_at(s, 13), 1.0, 1e-9);
  fc_series_destroy(s);
}

/* Advancing the clock marks the passed slots missing; a sample for them is late. */
static void test_series_advance_marks_missing_and_later_sample_late(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000, 1.0);
  fc_series_advance(s, 12);
  assert_int_equal(fc_series_last_slot(s), 12);
  assert_true(isnan(fc_series_at(s, 12)));
  assert_int_equal(fc_series_add(s, 3300, 2.0), FC_SAMPLE_LATE);
  assert_true(fc_series_add(s, 3600, 3.0) & FC_SAMPLE_STORED); /* the current slot */
  fc_series_destroy(s);
}

/* A clone is independent of its original. */
static void test_series_clone_is_a_deep_copy(void **state) {
  (void)state;
  fc_series *s = gauge(16);
  fc_series_add(s, 3000, 1.0);
  fc_series *c = fc_series_clone(s, NULL);
  assert_non_null(c);
  fc_series_add(s, 3300, 2.0);
  assert_int_equal(fc_series_last_slot(c), 10);
  assert_float_equal(fc_series_at(c, 10), 1.0, 0);
  fc_series_destroy(c);
  fc_series_destroy(s);
}

/* Bad arguments are refused with a message naming the value. */
static void test_series_create_rejects_bad_capacity(void **state) {
  (void)state;
  fc_error err = {0};
  assert_null(fc_series_create(300, 0, FC_SERIES_GAUGE, &err));
  assert_int_equal(err.code, FC_EINVAL);
  assert_non_null(strstr(err.msg, "capacity 0"));
  assert_null(fc_series_create(0, 10, FC_SERIES_GAUGE, &err));
  assert_non_null(strstr(err.msg, "step 0"));
  fc_series_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_series_places_sample_in_nearest_slot),
      cmocka_unit_test(test_series_keeps_nearer_sample_of_a_slot),
      cmocka_unit_test(test_series_tie_goes_to_later_sample),
      cmocka_unit_test(test_series_reports_gap_as_missing_slots),
      cmocka_unit_test(test_series_rejects_non_finite_and_negative_values),
      cmocka_unit_test(test_series_drops_samples_when_clock_goes_back),
      cmocka_unit_test(test_series_forgets_slots_beyond_capacity),
      cmocka_unit_test(test_series_gap_longer_than_capacity_leaves_no_stale_values),
      cmocka_unit_test(test_series_counter_rates_and_reset),
      cmocka_unit_test(test_series_advance_marks_missing_and_later_sample_late),
      cmocka_unit_test(test_series_clone_is_a_deep_copy),
      cmocka_unit_test(test_series_create_rejects_bad_capacity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
