/* test_policy.c -- the policy model: validation messages, inheritance, swap. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actuator/actuator.h"

typedef struct pfx {
  act_policy *p;
  act_set_policy set;
  act_vm_policy vm;
  act_error err;
} pfx;

static int setup(void **state) {
  pfx *f = calloc(1, sizeof(*f));
  f->p = act_policy_create(NULL);
  act_set_policy_init(&f->set, "web");
  f->set.managed[ACT_CPU] = 1;
  f->set.capacity[ACT_CPU] = 32;
  act_vm_policy_init(&f->vm, "web1");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  pfx *f = *state;
  act_policy_destroy(f->p);
  free(f);
  return 0;
}

/* Asserts that adding f->set fails with ACT_EINVAL and exactly `msg`. */
static void expect_set_error(pfx *f, const char *msg) {
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), ACT_EINVAL);
  assert_int_equal(f->err.code, ACT_EINVAL);
  assert_string_equal(f->err.msg, msg);
  assert_int_equal(act_policy_set_count(f->p), 0);
}

/* The defaults of act_set_policy_init validate as they are. */
static void test_policy_defaults_validate(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  assert_int_equal(act_policy_validate(f->p, &f->err), 0);
  assert_non_null(act_policy_set(f->p, "web"));
}

static void test_policy_rejects_borrow_max_above_one_naming_key_and_value(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].lend_share = 1.5;
  expect_set_error(f, "HostSet \"web\": BorrowMax cpu 1.5 (must be in [0, 1])");
}

static void test_policy_rejects_threshold_zero(void **state) {
  pfx *f = *state;
  f->set.res[ACT_MEMORY].threshold = 0;
  expect_set_error(f, "HostSet \"web\": Threshold memory 0 (must be in (0, 1])");
}

static void test_policy_rejects_nan_threshold(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].threshold = NAN;
  expect_set_error(f, "HostSet \"web\": Threshold cpu nan (must be in (0, 1])");
}

static void test_policy_rejects_lower_band_not_below_threshold(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].lower_band = 0.9;
  expect_set_error(f, "HostSet \"web\": LowerBand cpu 0.9 (must be below Threshold cpu "
                      "0.8)");
}

static void test_policy_rejects_negative_cost(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].cost = -0.1;
  expect_set_error(f, "HostSet \"web\": Cost cpu -0.1 (must be >= 0 and finite)");
}

static void test_policy_rejects_zero_step(void **state) {
  pfx *f = *state;
  f->set.step[ACT_MEMORY] = 0;
  expect_set_error(f, "HostSet \"web\": Step memory 0 (must be > 0 and finite)");
}

static void test_policy_rejects_zero_capacity(void **state) {
  pfx *f = *state;
  f->set.capacity[ACT_CPU] = 0;
  expect_set_error(f, "HostSet \"web\": Capacity cpu 0 (must be > 0)");
}

static void test_policy_rejects_negative_lead_time(void **state) {
  pfx *f = *state;
  f->set.lead_s = -5;
  expect_set_error(f, "HostSet \"web\": LeadTime -5 (must be in [0, 86400])");
}

static void test_policy_rejects_zero_borrow_duration(void **state) {
  pfx *f = *state;
  f->set.borrow_duration_s = 0;
  expect_set_error(f, "HostSet \"web\": BorrowDuration 0 (must be in [1, 604800])");
}

static void test_policy_rejects_max_instances_below_min(void **state) {
  pfx *f = *state;
  f->set.min_instances = 3;
  f->set.max_instances = 2;
  expect_set_error(f, "HostSet \"web\": MaxInstances 2 (must be in [3, 10000])");
}

static void test_policy_rejects_limit_min_above_max(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].min = 8;
  f->set.res[ACT_CPU].max = 4;
  expect_set_error(f, "HostSet \"web\": Limit cpu 8 4 (min must not exceed max)");
}

static void test_policy_rejects_a_set_name_with_spaces(void **state) {
  pfx *f = *state;
  strcpy(f->set.name, "web farm");
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "HostSet \"web farm\": name"));
}

static void test_policy_rejects_a_set_defined_twice(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), ACT_EEXIST);
  assert_int_equal(act_policy_set_count(f->p), 1);
}

static void test_policy_rejects_a_vm_of_an_unknown_set(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_vm(f->p, "db", &f->vm, &f->err), ACT_ENOENT);
  assert_non_null(strstr(f->err.msg, "HostSet \"db\""));
}

/* A VM's min above the set's max is caught after inheritance, naming the VM. */
static void test_policy_rejects_vm_min_above_inherited_max(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].max = 8;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  f->vm.res[ACT_CPU].min = 12;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), ACT_EINVAL);
  assert_string_equal(f->err.msg,
                      "HostSet \"web\" VM \"web1\": Limit cpu 12 8 (min must not exceed "
                      "max)");
  assert_null(act_policy_vm(f->p, "web", "web1"));
}

static void test_policy_rejects_vm_borrow_max_naming_the_vm(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  f->vm.res[ACT_CPU].lend_share = -0.5;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), ACT_EINVAL);
  assert_string_equal(f->err.msg,
                      "HostSet \"web\" VM \"web1\": BorrowMax cpu -0.5 (must be in [0, 1])");
}

/* The VMs' minimums together must fit the set's capacity. */
static void test_policy_rejects_minimums_beyond_capacity(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  f->vm.res[ACT_CPU].min = 20;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  act_vm_policy_init(&f->vm, "web2");
  f->vm.res[ACT_CPU].min = 16;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), ACT_EINVAL);
  assert_string_equal(f->err.msg, "HostSet \"web\": Limit cpu minimums sum to 36 (must "
                                  "not exceed Capacity cpu 32)");
  assert_null(act_policy_vm(f->p, "web", "web2"));
}

/* A VM field left NAN takes the set's value; a VM's own value wins. */
static void test_policy_vm_inherits_unset_values_from_its_set(void **state) {
  pfx *f = *state;
  f->set.res[ACT_CPU].threshold = 0.7;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  f->vm.priority = 5;
  f->vm.res[ACT_CPU].max = 6;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  act_res_policy eff;
  int prio = -1;
  assert_int_equal(act_policy_effective(f->p, "web", "web1", ACT_CPU, &eff, &prio, NULL), 0);
  assert_float_equal(eff.threshold, 0.7, 1e-12);
  assert_float_equal(eff.max, 6, 1e-12);
  assert_float_equal(eff.min, 1, 1e-12);
  assert_int_equal(prio, 5);
  assert_int_equal(act_policy_effective(f->p, "web", "other", ACT_CPU, &eff, &prio, NULL), 0);
  assert_true(isinf(eff.max));
  assert_int_equal(prio, 0);
}

/* Adding a VM again replaces it. */
static void test_policy_add_vm_replaces_a_vm_of_the_same_name(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  f->vm.priority = 9;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  assert_int_equal(act_policy_vm(f->p, "web", "web1")->priority, 9);
}

/* An update that would break a VM's limits is refused and the old set stays. */
static void test_policy_rejected_update_keeps_the_set_in_force(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  f->vm.res[ACT_CPU].min = 20;
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  f->set.capacity[ACT_CPU] = 16;
  assert_int_equal(act_policy_update_set(f->p, &f->set, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "Capacity cpu 16"));
  assert_float_equal(act_policy_set(f->p, "web")->capacity[ACT_CPU], 32, 1e-12);
}

/* A valid candidate replaces the policy in force. */
static void test_policy_swap_installs_a_valid_candidate(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  act_policy *cand = act_policy_clone(f->p, &f->err);
  assert_non_null(cand);
  f->set.capacity[ACT_CPU] = 64;
  assert_int_equal(act_policy_update_set(cand, &f->set, &f->err), 0);
  assert_int_equal(act_policy_swap(&f->p, cand, &f->err), 0);
  assert_ptr_equal(f->p, cand);
  assert_float_equal(act_policy_set(f->p, "web")->capacity[ACT_CPU], 64, 1e-12);
}

/* A clone is deep: changing it leaves the original alone. */
static void test_policy_clone_is_independent(void **state) {
  pfx *f = *state;
  assert_int_equal(act_policy_add_set(f->p, &f->set, &f->err), 0);
  assert_int_equal(act_policy_add_vm(f->p, "web", &f->vm, &f->err), 0);
  act_policy *cand = act_policy_clone(f->p, &f->err);
  f->vm.priority = 42;
  assert_int_equal(act_policy_add_vm(cand, "web", &f->vm, &f->err), 0);
  assert_int_equal(act_policy_vm(f->p, "web", "web1")->priority, 0);
  assert_int_equal(act_policy_vm(cand, "web", "web1")->priority, 42);
  act_policy_destroy(cand);
}

static void test_policy_swap_refuses_no_candidate(void **state) {
  pfx *f = *state;
  act_policy *before = f->p;
  assert_int_equal(act_policy_swap(&f->p, NULL, &f->err), ACT_EINVAL);
  assert_ptr_equal(f->p, before);
}

static void test_policy_destroy_accepts_null(void **state) {
  (void)state;
  act_policy_destroy(NULL);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_policy_defaults_validate),
      T(test_policy_rejects_borrow_max_above_one_naming_key_and_value),
      T(test_policy_rejects_threshold_zero),
      T(test_policy_rejects_nan_threshold),
      T(test_policy_rejects_lower_band_not_below_threshold),
      T(test_policy_rejects_negative_cost),
      T(test_policy_rejects_zero_step),
      T(test_policy_rejects_zero_capacity),
      T(test_policy_rejects_negative_lead_time),
      T(test_policy_rejects_zero_borrow_duration),
      T(test_policy_rejects_max_instances_below_min),
      T(test_policy_rejects_limit_min_above_max),
      T(test_policy_rejects_a_set_name_with_spaces),
      T(test_policy_rejects_a_set_defined_twice),
      T(test_policy_rejects_a_vm_of_an_unknown_set),
      T(test_policy_rejects_vm_min_above_inherited_max),
      T(test_policy_rejects_vm_borrow_max_naming_the_vm),
      T(test_policy_rejects_minimums_beyond_capacity),
      T(test_policy_vm_inherits_unset_values_from_its_set),
      T(test_policy_add_vm_replaces_a_vm_of_the_same_name),
      T(test_policy_rejected_update_keeps_the_set_in_force),
      T(test_policy_swap_installs_a_valid_candidate),
      T(test_policy_clone_is_independent),
      T(test_policy_swap_refuses_no_candidate),
      T(test_policy_destroy_accepts_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
