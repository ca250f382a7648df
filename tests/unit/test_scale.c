/* test_scale.c -- scale-out and scale-in decisions.
 * Fixture: set "web", cpu Capacity 16, ScaleOutTemplate "web-tpl", instances [1, 3],
 * ScaleCooldown 600, no borrowing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/act_fixture.h"

static int setup(void **state) {
  fx *f = fx_new();
  f->set.capacity[ACT_CPU] = 16;
  f->set.cooldown_s = 3600;
  snprintf(f->set.scale_template, ACT_NAME_MAX, "web-tpl");
  f->set.min_instances = 1;
  f->set.max_instances = 3;
  f->set.scale_cooldown_s = 600;
  fx_update_set(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_free(*state);
  return 0;
}

static void short_set(fx *f) {
  fx_row(f, "web1", 8, 6, 10.0); /* wants 13 */
  fx_row(f, "web2", 8, 6, 10.0); /* wants 13: 26 > 16 */
}

/* Short after grants (and loans): a new instance from the template. */
static void test_scale_out_when_the_set_is_short(void **state) {
  fx *f = *state;
  short_set(f);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_SCALE_OUT, "web-tpl-1");
  assert_non_null(d);
  assert_float_equal(d->from, 2, 1e-9);
  assert_float_equal(d->to, 3, 1e-9);
  assert_string_equal(d->rule, "short");
  assert_non_null(strstr(d->reason, "resource=cpu short_by=10"));
}

static void test_scale_out_picks_a_name_not_in_use(void **state) {
  fx *f = *state;
  fx_row(f, "web-tpl-1", 8, 6, 10.0);
  fx_row(f, "web2", 8, 6, 10.0);
  assert_int_equal(fx_plan(f), 0);
  assert_non_null(act_plan_find(&f->plan, ACT_SCALE_OUT, "web-tpl-2"));
}

static void test_scale_out_respects_max_instances(void **state) {
  fx *f = *state;
  f->set.max_instances = 2;
  assert_int_equal(fx_update_set(f), 0);
  short_set(f);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_shortfalls, 2);
  for (size_t i = 0; i < f->plan.n_decisions; i++)
    assert_int_not_equal(f->plan.decisions[i].kind, ACT_SCALE_OUT);
}

static void test_scale_out_waits_for_the_scale_cooldown(void **state) {
  fx *f = *state;
  short_set(f);
  assert_int_equal(fx_plan(f), 0);
  f->now += 300;
  assert_int_equal(fx_plan(f), 0);
  assert_null(act_plan_find(&f->plan, ACT_SCALE_OUT, "web-tpl-2"));
  f->now += 300;
  assert_int_equal(fx_plan(f), 0);
  assert_non_null(act_plan_find(&f->plan, ACT_SCALE_OUT, "web-tpl-2"));
}

static void test_scale_out_below_min_instances(void **state) {
  fx *f = *state;
  f->set.min_instances = 2;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 4, 1, 2.0);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_SCALE_OUT, "web-tpl-1");
  assert_non_null(d);
  assert_string_equal(d->rule, "bound");
}

static void test_scale_nothing_without_a_template(void **state) {
  fx *f = *state;
  f->set.scale_template[0] = '\0';
  assert_int_equal(fx_update_set(f), 0);
  short_set(f);
  assert_int_equal(fx_plan(f), 0);
  for (size_t i = 0; i < f->plan.n_decisions; i++)
    assert_int_not_equal(f->plan.decisions[i].kind, ACT_SCALE_OUT);
}

/* A quiet set scales its newest template instance in, after the scale cooldown. */
static void test_scale_in_after_the_cooldown_when_quiet(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, 1.0);
  fx_row(f, "web-tpl-1", 4, 1, 0.5);
  fx_row(f, "web-tpl-2", 4, 1, 0.5);
  assert_int_equal(fx_plan(f), 0);
  assert_null(act_plan_find(&f->plan, ACT_SCALE_IN, "web-tpl-2"));
  f->now += 600;
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_SCALE_IN, "web-tpl-2");
  assert_non_null(d);
  assert_string_equal(d->rule, "quiet");
  assert_float_equal(d->to, 2, 1e-9);
}

/* VMs an operator made are never scaled in. */
static void test_scale_in_never_removes_a_vm_not_from_the_template(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, 1.0);
  fx_row(f, "web2", 8, 1, 1.0);
  for (int i = 0; i < 4; i++, f->now += 600) {
    assert_int_equal(fx_plan(f), 0);
    assert_null(act_plan_find(&f->plan, ACT_SCALE_IN, "web1"));
    assert_null(act_plan_find(&f->plan, ACT_SCALE_IN, "web2"));
  }
}

/* Not quiet when the rest could not take the load below their band. */
static void test_scale_in_not_when_the_rest_would_be_busy(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 2.5);
  fx_row(f, "web-tpl-1", 4, 2, 2.5); /* 5 >= 0.5 * 4 */
  for (int i = 0; i < 3; i++, f->now += 600) {
    assert_int_equal(fx_plan(f), 0);
    assert_null(act_plan_find(&f->plan, ACT_SCALE_IN, "web-tpl-1"));
  }
}

static void test_scale_in_not_below_min_instances(void **state) {
  fx *f = *state;
  f->set.min_instances = 2;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 8, 1, 1.0);
  fx_row(f, "web-tpl-1", 4, 1, 0.5);
  for (int i = 0; i < 3; i++, f->now += 600) {
    assert_int_equal(fx_plan(f), 0);
    assert_null(act_plan_find(&f->plan, ACT_SCALE_IN, "web-tpl-1"));
  }
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_scale_out_when_the_set_is_short),
      T(test_scale_out_picks_a_name_not_in_use),
      T(test_scale_out_respects_max_instances),
      T(test_scale_out_waits_for_the_scale_cooldown),
      T(test_scale_out_below_min_instances),
      T(test_scale_nothing_without_a_template),
      T(test_scale_in_after_the_cooldown_when_quiet),
      T(test_scale_in_never_removes_a_vm_not_from_the_template),
      T(test_scale_in_not_when_the_rest_would_be_busy),
      T(test_scale_in_not_below_min_instances),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
