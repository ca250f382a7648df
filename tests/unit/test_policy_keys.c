/* test_policy_keys.c -- config lines into policy fields: each key's shape, and errors
 * that name the key and the argument at fault. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "actuator/policy_keys.h"

#define S(x) ((act_arg){.type = ACT_ARG_STRING, .s = (x)})
#define N(x) ((act_arg){.type = ACT_ARG_NUMBER, .n = (x)})
#define B(x) ((act_arg){.type = ACT_ARG_BOOLEAN, .b = (x)})
#define ARGS(...) ((const act_arg[]){__VA_ARGS__}), \
    (sizeof((const act_arg[]){__VA_ARGS__}) / sizeof(act_arg))

static act_set_policy set_web(void) {
  act_set_policy s;
  act_set_policy_init(&s, "web");
  return s;
}

static void test_key_threshold_with_resource_sets_that_resource(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Threshold", ARGS(S("cpu"), N(0.7)), &err), 0);
  assert_float_equal(s.res[ACT_CPU].threshold, 0.7, 0);
  assert_float_equal(s.res[ACT_MEMORY].threshold, 0.8, 0);
}

static void test_key_threshold_without_resource_sets_every_resource(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Threshold", ARGS(N(0.6)), &err), 0);
  for (int r = 0; r < ACT_RES_COUNT; r++)
    assert_float_equal(s.res[r].threshold, 0.6, 0);
}

/* The allocation-quality rules (resize.c) are policy keys like the others. */
static void test_key_break_even_and_plan_horizon(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "BreakEven", ARGS(S("mem"), N(1500)), &err), 0);
  assert_float_equal(s.res[ACT_MEMORY].break_even, 1500, 0);
  assert_float_equal(s.res[ACT_CPU].break_even, 0, 0);
  assert_int_equal(act_set_policy_key(&s, "PlanHorizon", ARGS(N(3600)), &err), 0);
  assert_int_equal(s.horizon_s, 3600);
}

static void test_key_names_are_case_insensitive(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "borrowmax", ARGS(S("cpu"), N(0.25)), &err), 0);
  assert_float_equal(s.res[ACT_CPU].lend_share, 0.25, 0);
}

static void test_key_limit_sets_min_and_max_in_mib(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Limit", ARGS(S("mem"), N(1024), N(16384)),
                                      &err), 0);
  assert_float_equal(s.res[ACT_MEMORY].min, 1024, 0);
  assert_float_equal(s.res[ACT_MEMORY].max, 16384, 0);
}

static void test_key_limit_accepts_inf_max(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  s.res[ACT_CPU].max = 4;
  assert_int_equal(act_set_policy_key(&s, "Limit", ARGS(S("cpu"), N(1), S("inf")), &err),
                   0);
  assert_true(isinf(s.res[ACT_CPU].max));
}

static void test_key_limit_with_two_numbers_names_the_shape(void **state) {
  (void)state;
  act_set_policy s = set_web(), before = s;
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Limit", ARGS(S("cpu"), N(1)), &err),
                   ACT_EINVAL);
  assert_string_equal(err.msg, "HostSet \"web\": Limit: expected <resource> <min> <max>, "
                               "got 2 arguments");
  assert_memory_equal(&s, &before, sizeof(s));
}

static void test_key_unknown_resource_is_named(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Capacity", ARGS(S("gpu"), N(4)), &err),
                   ACT_EINVAL);
  assert_non_null(strstr(err.msg, "Capacity: argument 1"));
  assert_non_null(strstr(err.msg, "\"gpu\""));
}

static void test_key_unknown_key_is_named(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Treshold", ARGS(N(0.8)), &err), ACT_EINVAL);
  assert_string_equal(err.msg, "HostSet \"web\": unknown key \"Treshold\"");
}

static void test_key_manage_lists_resources(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Manage", ARGS(S("cpu"), S("memory")), &err), 0);
  assert_int_equal(s.managed[ACT_CPU], 1);
  assert_int_equal(s.managed[ACT_MEMORY], 1);
  assert_int_equal(s.managed[ACT_NET_KBPS], 0);
}

static void test_key_manage_false_unmanages(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  s.managed[ACT_CPU] = 1;
  assert_int_equal(act_set_policy_key(&s, "Manage", ARGS(S("cpu"), B(0)), &err), 0);
  assert_int_equal(s.managed[ACT_CPU], 0);
}

/* A bad word in the middle of a list changes none of the list. */
static void test_key_manage_bad_word_changes_nothing(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Manage", ARGS(S("cpu"), S("gpu")), &err),
                   ACT_EINVAL);
  assert_int_equal(s.managed[ACT_CPU], 0);
  assert_non_null(strstr(err.msg, "argument 2"));
}

static void test_key_capacity_inf_is_no_capacity(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  s.capacity[ACT_CPU] = 32;
  assert_int_equal(act_set_policy_key(&s, "Capacity", ARGS(S("cpu"), S("inf")), &err), 0);
  assert_true(isinf(s.capacity[ACT_CPU]));
}

static void test_key_step_refuses_inf(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Step", ARGS(S("cpu"), S("inf")), &err),
                   ACT_EINVAL);
}

static void test_key_lead_time_takes_whole_seconds(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "LeadTime", ARGS(N(900)), &err), 0);
  assert_int_equal(s.lead_s, 900);
  assert_int_equal(act_set_policy_key(&s, "LeadTime", ARGS(N(1.5)), &err), ACT_EINVAL);
  assert_non_null(strstr(err.msg, "LeadTime: argument 1 must be a whole number, got 1.5"));
  assert_int_equal(s.lead_s, 900);
}

static void test_key_int_out_of_int_range_is_refused(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Cooldown", ARGS(N(1e12)), &err), ACT_EINVAL);
}

static void test_key_scalars_of_a_set(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "ScaleOutTemplate", ARGS(S("web-t")), &err), 0);
  assert_int_equal(act_set_policy_key(&s, "MaxInstances", ARGS(N(5)), &err), 0);
  assert_int_equal(act_set_policy_key(&s, "FastCorrection", ARGS(N(0.9)), &err), 0);
  assert_int_equal(act_set_policy_key(&s, "DryRun", ARGS(B(1)), &err), 0);
  assert_int_equal(act_set_policy_key(&s, "BorrowDuration", ARGS(N(60)), &err), 0);
  assert_string_equal(s.scale_template, "web-t");
  assert_int_equal(s.max_instances, 5);
  assert_float_equal(s.fast_share, 0.9, 0);
  assert_int_equal(s.dry_run, 1);
  assert_int_equal(s.borrow_duration_s, 60);
}

static void test_key_dry_run_wants_a_boolean(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "DryRun", ARGS(S("yes")), &err), ACT_EINVAL);
  assert_non_null(strstr(err.msg, "DryRun: argument 1 must be a boolean, got \"yes\""));
}

/* The ranges are the library's: a line of the right shape passes here and the
 * validation names it. */
static void test_key_out_of_range_value_is_caught_by_validation(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "BorrowMax", ARGS(S("cpu"), N(1.5)), &err), 0);
  act_policy *p = act_policy_create(&err);
  assert_int_equal(act_policy_add_set(p, &s, &err), ACT_EINVAL);
  assert_string_equal(err.msg, "HostSet \"web\": BorrowMax cpu 1.5 (must be in [0, 1])");
  act_policy_destroy(p);
}

static void test_key_vm_priority_and_cost(void **state) {
  (void)state;
  act_vm_policy vm;
  act_vm_policy_init(&vm, "web1");
  act_error err;
  assert_int_equal(act_vm_policy_key(&vm, "web", "Priority", ARGS(N(10)), &err), 0);
  assert_int_equal(act_vm_policy_key(&vm, "web", "Cost", ARGS(S("cpu"), N(0.04)), &err), 0);
  assert_int_equal(vm.priority, 10);
  assert_float_equal(vm.res[ACT_CPU].cost, 0.04, 0);
  assert_true(isnan(vm.res[ACT_MEMORY].cost)); /* still inherits */
}

static void test_key_vm_refuses_set_only_keys(void **state) {
  (void)state;
  act_vm_policy vm;
  act_vm_policy_init(&vm, "web1");
  act_error err;
  assert_int_equal(act_vm_policy_key(&vm, "web", "Capacity", ARGS(S("cpu"), N(4)), &err),
                   ACT_EINVAL);
  assert_string_equal(err.msg, "HostSet \"web\" VM \"web1\": unknown key \"Capacity\"");
}

static void test_key_set_refuses_vm_only_keys(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Priority", ARGS(N(1)), &err), ACT_EINVAL);
}

static void test_key_number_where_resource_expected(void **state) {
  (void)state;
  act_set_policy s = set_web();
  act_error err;
  assert_int_equal(act_set_policy_key(&s, "Cost", ARGS(N(1), N(2)), &err), ACT_EINVAL);
  assert_non_null(strstr(err.msg, "Cost: argument 1 must be a resource"));
}

/* The config path and the JSON messages look keys up in one table; each row is found
 * by its name in any case, and only where its scope allows. */
static void test_every_key_of_the_table_is_found_in_its_scope_only(void **state) {
  (void)state;
  assert_true(act_policy_key_count() > 0);
  for (size_t i = 0; i < act_policy_key_count(); i++) {
    const act_policy_key *k = &act_policy_keys[i];
    char lower[64];
    size_t j = 0;
    for (; k->name[j] != '\0' && j + 1 < sizeof(lower); j++)
      lower[j] = (char)(k->name[j] | 0x20);
    lower[j] = '\0';
    assert_ptr_equal(act_policy_key_find(lower, k->scope), k);
    if (!(k->scope & ACT_KEY_IN_SET))
      assert_null(act_policy_key_find(k->name, ACT_KEY_IN_SET));
    if (!(k->scope & ACT_KEY_IN_VM))
      assert_null(act_policy_key_find(k->name, ACT_KEY_IN_VM));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_threshold_with_resource_sets_that_resource),
      cmocka_unit_test(test_key_threshold_without_resource_sets_every_resource),
      cmocka_unit_test(test_key_break_even_and_plan_horizon),
      cmocka_unit_test(test_key_names_are_case_insensitive),
      cmocka_unit_test(test_key_limit_sets_min_and_max_in_mib),
      cmocka_unit_test(test_key_limit_accepts_inf_max),
      cmocka_unit_test(test_key_limit_with_two_numbers_names_the_shape),
      cmocka_unit_test(test_key_unknown_resource_is_named),
      cmocka_unit_test(test_key_unknown_key_is_named),
      cmocka_unit_test(test_key_manage_lists_resources),
      cmocka_unit_test(test_key_manage_false_unmanages),
      cmocka_unit_test(test_key_manage_bad_word_changes_nothing),
      cmocka_unit_test(test_key_capacity_inf_is_no_capacity),
      cmocka_unit_test(test_key_step_refuses_inf),
      cmocka_unit_test(test_key_lead_time_takes_whole_seconds),
      cmocka_unit_test(test_key_int_out_of_int_range_is_refused),
      cmocka_unit_test(test_key_scalars_of_a_set),
      cmocka_unit_test(test_key_dry_run_wants_a_boolean),
      cmocka_unit_test(test_key_out_of_range_value_is_caught_by_validation),
      cmocka_unit_test(test_key_vm_priority_and_cost),
      cmocka_unit_test(test_key_vm_refuses_set_only_keys),
      cmocka_unit_test(test_key_set_refuses_vm_only_keys),
      cmocka_unit_test(test_key_number_where_resource_expected),
      cmocka_unit_test(test_every_key_of_the_table_is_found_in_its_scope_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
