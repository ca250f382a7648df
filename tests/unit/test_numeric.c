/* test_numeric.c -- quantiles, gap filling, configuration validation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forecast/fc_internal.h"
#include "tests/unit/synth.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Oracle: numpy's default (type 7) quantile on a sorted copy. */
static double quantile_by_sorting(const double *x, int n, double q) {
  double *s = malloc(sizeof(double) * (size_t)n);
  memcpy(s, x, sizeof(double) * (size_t)n);
  qsort(s, (size_t)n, sizeof(double), cmp_double);
  double pos = q * (n - 1);
  int k = (int)floor(pos);
  double v = k >= n - 1 ? s[n - 1] : s[k] + (pos - k) * (s[k + 1] - s[k]);
  free(s);
  return v;
}

/* Selection gives the same quantile as sorting, for many sizes, levels and ties. */
static void test_quantile_matches_sorting_oracle(void **state) {
  (void)state;
  synth_rng r = {42};
  double x[257], copy[257];
  const double qs[] = {0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0};
  for (int n = 1; n <= 257; n += 16) {
    for (int i = 0; i < n; i++)
      x[i] = floor(10.0 * synth_uniform(&r)); /* many ties */
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
      memcpy(copy, x, sizeof(double) * (size_t)n);
      assert_float_equal(fc__quantile(copy, n, qs[k]), quantile_by_sorting(x, n, qs[k]),
                         1e-12);
    }
  }
}

/* Interior gaps are filled on the line between neighbours, ends held constant. */
static void test_fill_linear_interpolates_inside_and_holds_ends(void **state) {
  (void)state;
  double y[7] = {NAN, 1.0, NAN, NAN, 4.0, NAN, NAN};
  assert_int_equal(fc__fill_linear(y, 7), 2);
  const double want[7] = {1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0};
  for (int i = 0; i < 7; i++)
    assert_float_equal(y[i], want[i], 1e-12);
}

/* Defaults are valid, and each bad field is named in the error. */
static void test_config_validation_names_the_bad_field(void **state) {
  (void)state;
  fc_config c;
  fc_error err = {0};
  fc_config_default(&c);
  assert_int_equal(fc_config_validate(&c, &err), 0);
  c.horizons[1] = 1;
  assert_int_equal(fc_config_validate(&c, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "must increase"));
  fc_config_default(&c);
  c.confidence = 1.5;
  assert_int_equal(fc_config_validate(&c, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "confidence 1.5"));
  fc_config_default(&c);
  c.step_s = 7;
  assert_int_equal(fc_config_validate(&c, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "step 7"));
  fc_config_default(&c);
  c.kinds = 0;
  assert_int_equal(fc_config_validate(&c, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "model set"));
}

/* Model names parse both ways; an unknown one is named. */
static void test_kind_names_round_trip(void **state) {
  (void)state;
  for (int k = 0; k < FC_KIND_COUNT; k++) {
    fc_kind parsed;
    assert_int_equal(fc_kind_parse(fc_kind_name((fc_kind)k), &parsed, NULL), 0);
    assert_int_equal(parsed, k);
  }
  fc_error err = {0};
  fc_kind parsed;
  assert_int_equal(fc_kind_parse("prophet", &parsed, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "\"prophet\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantile_matches_sorting_oracle),
      cmocka_unit_test(test_fill_linear_interpolates_inside_and_holds_ends),
      cmocka_unit_test(test_config_validation_names_the_bad_field),
      cmocka_unit_test(test_kind_names_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
