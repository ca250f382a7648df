/* test_break_even.c -- the BreakEven shrink and the PlanHorizon sizing (resize.c).
 * Fixture (act_fixture.h): set "web", cpu, Capacity 32, Threshold 0.8, LowerBand 0.5,
 * LeadTime 600, Cooldown 0; here also ShrinkMargin 0 and MaxShrink 1 unless a test
 * says otherwise, so the target is the forecast's level alone. Cycles are 300 s apart;
 * a VM's mean allocation starts at its first allocation and barely moves in an hour
 * (time constant one day), which the expected times below allow for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/act_fixture.h"

static int setup(void **state) {
  fx *f = fx_new();
  f->set.res[ACT_CPU].break_even = 1200;
  f->set.res[ACT_CPU].margin = 0;
  f->set.res[ACT_CPU].max_shrink = 1;
  fx_update_set(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_free(*state);
  return 0;
}

/* Plans cycles 300 s apart while nothing is decided; returns the seconds waited
 * until the first decision (-1 if none within max_s). */
static int64_t wait_decision(fx *f, int64_t max_s) {
  for (int64_t waited = 0; waited <= max_s; waited += 300) {
    assert_int_equal(fx_plan(f), 0);
    if (f->plan.n_decisions > 0)
      return waited;
    f->now += 300;
  }
  return -1;
}

/* (8 - 4) / 8 of the mean allocation wasted per second: 1200 s of it after 2400 s. */
static void test_break_even_shrinks_once_the_waste_pays_for_a_resize(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, 3.2); /* need 3.2 / 0.8 = 4 */
  assert_int_equal(wait_decision(f, 3600), 2400);
  const act_decision *d = act_plan_find(&f->plan, ACT_SHRINK, "web1");
  assert_non_null(d);
  assert_float_equal(d->to, 4, 1e-9);
  assert_string_equal(d->rule, "break_even");
  assert_non_null(strstr(d->reason, "waste=1200s break_even=1200s mean_alloc=8"));
}

/* 12/16 wasted per second: 1200 s after 1600 s, i.e. at the 1800 s cycle, sooner
 * than the 8 -> 4 cut above: a deep cut pays for itself sooner. */
static void test_break_even_cuts_a_deep_excess_sooner(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 16, 1, 3.2);
  assert_int_equal(wait_decision(f, 3600), 1800);
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 4, 1e-9);
}

/* 5 / 8 = 0.625 is inside the band [0.5, 0.8]: the LowerBand rule never shrinks it.
 * BreakEven trims the one vCPU (7 = ceil(6.25)) once 1/8 of 8 wasted per second
 * adds up to 1200 s: after 9600 s. */
static void test_break_even_trims_one_step_only_after_long_evidence(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, 5.0);
  assert_int_equal(wait_decision(f, 12000), 9600);
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 7, 1e-9);
}

/* The same VM under the LowerBand rule stays put: the band is the hysteresis there. */
static void test_break_even_zero_keeps_the_lower_band_rule(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].break_even = 0;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 8, 1, 5.0);
  assert_int_equal(wait_decision(f, 12000), -1);
}

/* After a grow from 4 to 16, the waste is measured against the VM's mean allocation
 * (about 4.04), not against 16: (16 - 3) / 4.04 per second passes 1200 s 600 s after
 * the grow, the second cycle of the wait. Against 16 it would take 1500 s. */
static void test_break_even_measures_waste_against_the_mean_allocation(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 1, 2.4); /* need 3: steady at 4 */
  assert_int_equal(wait_decision(f, 900), -1);
  fx_set_hi(f, "web1", 12.8); /* need 16 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(act_plan_find(&f->plan, ACT_GROW, "web1")->to, 16, 1e-9);
  fx_apply(f);
  f->now += 300;
  fx_set_hi(f, "web1", 2.4); /* back to need 3 */
  assert_int_equal(wait_decision(f, 3600), 300);
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 3, 1e-9);
}

/* From 10 vCPUs: needs 6 until 1800 s, then 2. At 3000 s the level 6 has sufficed for
 * the whole run, (10 - 6) / 10 * 3000 = 1200 s of waste; the level 2 only since
 * 1800 s, 0.8 * 1200 = 960 s. The shrink goes to 6: the lower target has not paid for
 * itself yet (it will, from there, in a later shrink). */
static void test_break_even_shrinks_to_the_level_that_paid_for_itself(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 10, NAN, 4.8);
  for (int i = 0; i < 7; i++) { /* 0 .. 1800 s */
    assert_int_equal(fx_plan(f), 0);
    assert_int_equal(f->plan.n_decisions, 0);
    f->now += 300;
  }
  fx_set_hi(f, "web1", 1.6);
  assert_int_equal(wait_decision(f, 3600), 900); /* from 2100 s: at 3000 s */
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 6, 1e-9);
}

/* Cooldown still spaces a shrink from the resize before it. */
static void test_break_even_waits_for_the_cooldown_after_a_resize(void **state) {
  fx *f = *state;
  f->set.cooldown_s = 1800;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 4, 1, 2.4);
  fx_set_hi(f, "web1", 12.8);
  assert_int_equal(fx_plan(f), 0); /* grow to 16 */
  fx_apply(f);
  f->now += 300;
  fx_set_hi(f, "web1", 2.4);
  /* the waste passes 1200 s 600 s after the grow (see above); the cooldown ends at
   * 1800 s after it */
  assert_int_equal(wait_decision(f, 3600), 1500);
  assert_non_null(act_plan_find(&f->plan, ACT_SHRINK, "web1"));
}

/* The usage with its margin is a floor of the target, as for the LowerBand rule. */
static void test_break_even_never_shrinks_below_usage_plus_margin(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].margin = 0.1;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 16, 4.2, 1.6); /* need 2, usage 4.62 -> 5 */
  assert_int_equal(wait_decision(f, 3600) >= 0, 1);
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 5, 1e-9);
}

/* A grow fires on the LeadTime bound and sizes for the PlanHorizon's highest bound. */
static void test_plan_horizon_sizes_a_grow_for_its_whole_horizon(void **state) {
  fx *f = *state;
  f->set.lead_s = 300;
  f->set.horizon_s = 3600;
  assert_int_equal(fx_update_set(f), 0);
  act_vm_state *s = fx_row(f, "web1", 4, 2, NAN);
  fx_point(s, 300, 4.0);   /* need 5 > 4: grow */
  fx_point(s, 1800, 8.0);  /* the hour's highest: 10 */
  fx_point(s, 7200, 24.0); /* beyond the horizon */
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_GROW, "web1");
  assert_non_null(d);
  assert_float_equal(d->to, 10, 1e-9);
  assert_string_equal(d->rule, "forecast");
  assert_non_null(strstr(d->reason, "hi=4@300s threshold=0.8 need=5 cover=8@1800s"));
}

/* A rise later in the horizon alone does not grow the VM now. */
static void test_plan_horizon_alone_does_not_trigger_a_grow(void **state) {
  fx *f = *state;
  f->set.lead_s = 300;
  f->set.horizon_s = 3600;
  assert_int_equal(fx_update_set(f), 0);
  act_vm_state *s = fx_row(f, "web1", 4, 2, NAN);
  fx_point(s, 300, 2.4);  /* need 3 <= 4 */
  fx_point(s, 3600, 8.0); /* 10 in an hour */
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
}

/* ... and a shrink never goes below it. */
static void test_plan_horizon_is_a_floor_of_a_shrink(void **state) {
  fx *f = *state;
  f->set.lead_s = 300;
  f->set.horizon_s = 3600;
  assert_int_equal(fx_update_set(f), 0);
  act_vm_state *s = fx_row(f, "web1", 16, NAN, NAN);
  fx_point(s, 300, 1.6);  /* need 2 */
  fx_point(s, 3600, 4.8); /* cover 6 */
  assert_int_equal(wait_decision(f, 3600) >= 0, 1);
  assert_float_equal(act_plan_find(&f->plan, ACT_SHRINK, "web1")->to, 6, 1e-9);
}

/* A manual hold is the operator's choice: its time counts as no waste. */
static void test_break_even_restarts_after_a_manual_hold(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, 3.2);
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_HOLD,
                  .duration_s = 3600};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  assert_int_equal(wait_decision(f, 3300), -1); /* held: 0 .. 3300 s */
  /* from 3600 s the run starts again: 2400 s later, as without the hold */
  assert_int_equal(wait_decision(f, 3600), 2400);
}

static void test_break_even_rejects_a_negative_value(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].break_even = -1;
  assert_int_equal(fx_update_set(f), ACT_EINVAL);
  assert_string_equal(f->err.msg,
                      "HostSet \"web\": BreakEven cpu -1 (must be in [0, 604800])");
}

static void test_plan_horizon_rejects_more_than_a_day(void **state) {
  fx *f = *state;
  f->set.horizon_s = 90000;
  assert_int_equal(fx_update_set(f), ACT_EINVAL);
  assert_string_equal(f->err.msg, "HostSet \"web\": PlanHorizon 90000 (must be in [0, "
                                  "86400])");
}

/* A VM's policy leaves BreakEven to its set unless it says otherwise. */
static void test_break_even_is_inherited_by_a_vm(void **state) {
  fx *f = *state;
  assert_int_equal(fx_vm(f, "web1", 5, 1, 16, 0), 0);
  act_res_policy eff;
  assert_int_equal(act_policy_effective(f->pol, "web", "web1", ACT_CPU, &eff, NULL,
                                        &f->err), 0);
  assert_float_equal(eff.break_even, 1200, 1e-9);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_break_even_shrinks_once_the_waste_pays_for_a_resize),
      T(test_break_even_cuts_a_deep_excess_sooner),
      T(test_break_even_trims_one_step_only_after_long_evidence),
      T(test_break_even_zero_keeps_the_lower_band_rule),
      T(test_break_even_measures_waste_against_the_mean_allocation),
      T(test_break_even_shrinks_to_the_level_that_paid_for_itself),
      T(test_break_even_waits_for_the_cooldown_after_a_resize),
      T(test_break_even_never_shrinks_below_usage_plus_margin),
      T(test_plan_horizon_sizes_a_grow_for_its_whole_horizon),
      T(test_plan_horizon_alone_does_not_trigger_a_grow),
      T(test_plan_horizon_is_a_floor_of_a_shrink),
      T(test_break_even_restarts_after_a_manual_hold),
      T(test_break_even_rejects_a_negative_value),
      T(test_plan_horizon_rejects_more_than_a_day),
      T(test_break_even_is_inherited_by_a_vm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
