/* test_quantize.c -- allocations on the grid of PROTOCOL.md part B. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actuator/actuator.h"

/* A value between two grid points goes to the upper one. */
static void test_quantize_rounds_up_to_the_next_step(void **state) {
  (void)state;
  assert_float_equal(act_quantize_up(2.1, 1, 1, 16), 3, 1e-12);
  assert_float_equal(act_quantize_up(300, 256, 256, 65536), 512, 1e-12);
  assert_float_equal(act_quantize_up(0.31, 0.05, 0.1, 8), 0.35, 1e-12);
}

/* Every multiple of 0.05 stays itself, despite binary floating point. */
static void test_quantize_keeps_every_grid_value(void **state) {
  (void)state;
  for (int k = 2; k <= 400; k++) {
    double x = k * 0.05;
    assert_float_equal(act_quantize_up(x, 0.05, 0.1, 100), x, 1e-9);
    assert_float_equal(act_quantize_down(x, 0.05), x, 1e-9);
  }
}

/* Below the minimum (also zero and NaN) gives the minimum. */
static void test_quantize_clamps_to_min(void **state) {
  (void)state;
  assert_float_equal(act_quantize_up(0.02, 0.05, 0.1, 8), 0.1, 1e-12);
  assert_float_equal(act_quantize_up(0, 1, 1, 8), 1, 1e-12);
  assert_float_equal(act_quantize_up(NAN, 256, 256, 4096), 256, 1e-12);
}

/* Above the maximum gives the maximum, even when it is off the grid. */
static void test_quantize_clamps_to_an_off_grid_max(void **state) {
  (void)state;
  assert_float_equal(act_quantize_up(900, 256, 256, 1000), 1000, 1e-12);
  assert_float_equal(act_quantize_up(1e9, 1, 1, 8), 8, 1e-12);
}

/* quantize_down gives the largest grid value not above x. */
static void test_quantize_down_rounds_down(void **state) {
  (void)state;
  assert_float_equal(act_quantize_down(2.9, 1), 2, 1e-12);
  assert_float_equal(act_quantize_down(511, 256), 256, 1e-12);
  assert_float_equal(act_quantize_down(0.34, 0.05), 0.30, 1e-12);
}

/* Oracle: quantize_up agrees with walking the grid one step at a time. */
static void test_quantize_up_matches_brute_force(void **state) {
  (void)state;
  srand(7);
  const double steps[] = {1, 0.05, 256};
  for (int i = 0; i < 3000; i++) {
    double step = steps[i % 3], min = 2 * step, max = 40 * step;
    double x = (double)rand() / RAND_MAX * 45 * step;
    double brute = min;
    for (int k = 0; k <= 40; k++) {
      if (k * step >= x - 1e-9 * step) {
        brute = k * step;
        break;
      }
      brute = max;
    }
    brute = brute < min ? min : brute > max ? max : brute;
    assert_float_equal(act_quantize_up(x, step, min, max), brute, 1e-9 * step);
  }
}

/* Resource names parse, PROTOCOL.md's "mem" included. */
static void test_resource_parse_accepts_names_and_mem(void **state) {
  (void)state;
  act_resource r;
  for (int i = 0; i < ACT_RES_COUNT; i++) {
    assert_int_equal(act_resource_parse(act_resource_name((act_resource)i), &r, NULL), 0);
    assert_int_equal(r, i);
  }
  assert_int_equal(act_resource_parse("mem", &r, NULL), 0);
  assert_int_equal(r, ACT_MEMORY);
}

/* An unknown resource is rejected naming the word. */
static void test_resource_parse_rejects_unknown_naming_it(void **state) {
  (void)state;
  act_resource r = ACT_CPU;
  act_error err = {0};
  assert_int_equal(act_resource_parse("gpu", &r, &err), ACT_EINVAL);
  assert_non_null(strstr(err.msg, "\"gpu\""));
  assert_int_equal(r, ACT_CPU);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantize_rounds_up_to_the_next_step),
      cmocka_unit_test(test_quantize_keeps_every_grid_value),
      cmocka_unit_test(test_quantize_clamps_to_min),
      cmocka_unit_test(test_quantize_clamps_to_an_off_grid_max),
      cmocka_unit_test(test_quantize_down_rounds_down),
      cmocka_unit_test(test_quantize_up_matches_brute_force),
      cmocka_unit_test(test_resource_parse_accepts_names_and_mem),
      cmocka_unit_test(test_resource_parse_rejects_unknown_naming_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
