/* test_planner.c -- proactive grow, careful shrink, capacity, manual overrides.
 * Fixture (act_fixture.h): set "web", cpu, Capacity 32, Threshold 0.8, LowerBand 0.5,
 * LeadTime 600, Cooldown 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/act_fixture.h"

static int setup(void **state) {
  *state = fx_new();
  return 0;
}

static int teardown(void **state) {
  fx_free(*state);
  return 0;
}

static const act_decision *only(fx *f, act_kind k, const char *vm) {
  const act_decision *d = act_plan_find(&f->plan, k, vm);
  assert_non_null(d);
  return d;
}

/* hi 5 at the lead time / Threshold 0.8 = 6.25 > 4 vCPUs: grow to 7, reason says why. */
static void test_planner_grows_ahead_of_the_forecast(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 5.0);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 1);
  const act_decision *d = only(f, ACT_GROW, "web1");
  assert_float_equal(d->from, 4, 1e-9);
  assert_float_equal(d->to, 7, 1e-9);
  assert_string_equal(d->rule, "forecast");
  assert_non_null(strstr(d->reason, "rule=forecast hi=5@600s threshold=0.8 need=6.25"));
  assert_non_null(strstr(d->reason, "min=1 max=inf step=1"));
}

static void test_planner_clamps_a_grow_to_max(void **state) {
  fx *f = *state;
  assert_int_equal(fx_vm(f, "web1", 0, 1, 6, 0), 0);
  fx_row(f, "web1", 4, 2, 20.0);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_GROW, "web1")->to, 6, 1e-9);
}

/* Between the lower band and the threshold nothing moves (the hysteresis). */
static void test_planner_leaves_a_vm_inside_its_band(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 4, 5.0); /* 5/8 = 0.625: in [0.5, 0.8] */
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
}

/* The bound covers every horizon up to the lead time and the first one beyond it. */
static void test_planner_uses_the_highest_bound_of_the_lead_window(void **state) {
  fx *f = *state;
  act_vm_state *s = fx_row(f, "web1", 2, 1, NAN);
  fx_point(s, 300, 2.0);
  fx_point(s, 900, 4.0);
  fx_point(s, 3600, 20.0);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_GROW, "web1");
  assert_float_equal(d->to, 5, 1e-9); /* 4 / 0.8 */
  assert_non_null(strstr(d->reason, "hi=4@900s"));
}

/* A VM using (nearly) all of its allocation grows at once, whatever the forecast. */
static void test_planner_grows_a_saturated_vm_at_once(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 3.95, 3.0);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_GROW, "web1");
  assert_float_equal(d->to, 5, 1e-9); /* max(3.95 / 0.8, 4 + 1) */
  assert_string_equal(d->rule, "fast");
}

static void test_planner_fast_correction_works_without_a_forecast(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 2, 2.0, NAN);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_GROW, "web1")->to, 3, 1e-9);
}

static void test_planner_does_nothing_without_forecast_or_pressure(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 1, NAN);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
}

/* Below the band, the shrink waits for the cooldown to pass. */
static void test_planner_shrinks_only_after_the_cooldown(void **state) {
  fx *f = *state;
  f->set.cooldown_s = 1800;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 8, 2, 3.0); /* 3/8 < 0.5 */
  for (int t = 0; t < 1800; t += 300) {
    assert_int_equal(fx_plan(f), 0);
    assert_int_equal(f->plan.n_decisions, 0);
    f->now += 300;
  }
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_SHRINK, "web1");
  assert_float_equal(d->to, 4, 1e-9); /* 3 / 0.8 = 3.75 -> 4 */
  assert_non_null(strstr(d->reason, "below_for=1800s cooldown=1800s"));
}

/* One cycle back inside the band restarts the cooldown. */
static void test_planner_restarts_the_cooldown_when_the_forecast_rises(void **state) {
  fx *f = *state;
  f->set.cooldown_s = 600;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 8, 2, 3.0);
  assert_int_equal(fx_plan(f), 0);
  f->now += 300;
  fx_set_hi(f, "web1", 5.0);
  assert_int_equal(fx_plan(f), 0);
  f->now += 300;
  fx_set_hi(f, "web1", 3.0);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
}

static void test_planner_never_shrinks_below_min(void **state) {
  fx *f = *state;
  assert_int_equal(fx_vm(f, "web1", 0, 6, 16, 0), 0);
  fx_row(f, "web1", 8, 0.5, 1.0);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_SHRINK, "web1")->to, 6, 1e-9);
}

static void test_planner_never_shrinks_below_usage_plus_margin(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 8, 4.2, 1.0); /* usage 4.2 * 1.1 = 4.62 -> 5, not 4 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_SHRINK, "web1")->to, 5, 1e-9);
}

static void test_planner_bounds_one_shrink_step(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 16, 0.5, 1.0); /* MaxShrink 0.5: 16 -> 8, not 2 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_SHRINK, "web1")->to, 8, 1e-9);
}

static void test_planner_shrinks_an_allocation_above_max_at_once(void **state) {
  fx *f = *state;
  f->set.cooldown_s = 3600;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_vm(f, "web1", 0, 1, 4, 0), 0);
  fx_row(f, "web1", 6, 2, 3.0);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_SHRINK, "web1");
  assert_float_equal(d->to, 4, 1e-9);
  assert_string_equal(d->rule, "bound");
}

/* A set at capacity serves the higher priority first and reports the rest. */
static void test_planner_grants_by_priority_within_capacity(void **state) {
  fx *f = *state;
  f->set.capacity[ACT_CPU] = 10;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_vm(f, "web1", 1, 1, 16, 0), 0);
  assert_int_equal(fx_vm(f, "web2", 10, 1, 16, 0), 0);
  fx_row(f, "web1", 4, 2, 6.4); /* wants 8 */
  fx_row(f, "web2", 4, 2, 6.4); /* wants 8 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_GROW, "web2")->to, 6, 1e-9);
  assert_null(act_plan_find(&f->plan, ACT_GROW, "web1"));
  assert_int_equal(f->plan.n_shortfalls, 2);
  assert_string_equal(f->plan.shortfalls[0].vm, "web2");
  assert_float_equal(f->plan.shortfalls[0].wanted, 8, 1e-9);
  assert_float_equal(f->plan.shortfalls[0].granted, 6, 1e-9);
  assert_string_equal(f->plan.shortfalls[1].vm, "web1");
}

/* At equal priority the cheaper unit is served first. */
static void test_planner_grants_the_lowest_cost_first(void **state) {
  fx *f = *state;
  f->set.capacity[ACT_CPU] = 12;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_vm(f, "web1", 0, 1, 16, 0.10), 0);
  assert_int_equal(fx_vm(f, "web2", 0, 1, 16, 0.04), 0);
  fx_row(f, "web1", 4, 2, 6.4);
  fx_row(f, "web2", 4, 2, 6.4);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_GROW, "web2")->to, 8, 1e-9);
  assert_null(act_plan_find(&f->plan, ACT_GROW, "web1"));
}

/* Capacity freed by a shrink in the same plan serves a grow after it. */
static void test_planner_orders_shrinks_before_grows(void **state) {
  fx *f = *state;
  f->set.capacity[ACT_CPU] = 16;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "big", 12, 1, 2.0);  /* shrinks to 6 (MaxShrink) */
  fx_row(f, "small", 4, 2, 6.4); /* wants 8 */
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 2);
  assert_int_equal(f->plan.decisions[0].kind, ACT_SHRINK);
  assert_int_equal(f->plan.decisions[1].kind, ACT_GROW);
  assert_float_equal(f->plan.decisions[1].to, 8, 1e-9);
}

static void test_planner_quantises_memory_in_its_step(void **state) {
  fx *f = *state;
  f->set.managed[ACT_MEMORY] = 1;
  f->set.step[ACT_MEMORY] = 512;
  assert_int_equal(fx_update_set(f), 0);
  fx_row_res(f, "web1", ACT_MEMORY, 1024, 900, 1000); /* 1250 -> 1536 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(only(f, ACT_GROW, "web1")->to, 1536, 1e-9);
}

static void test_planner_quantises_cpu_quota_in_005_cores(void **state) {
  fx *f = *state;
  f->set.managed[ACT_CPU_QUOTA] = 1;
  assert_int_equal(fx_update_set(f), 0);
  fx_row_res(f, "web1", ACT_CPU_QUOTA, 0.5, 0.3, 0.5); /* 0.625 -> 0.65 */
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_GROW, "web1");
  assert_int_equal(d->resource, ACT_CPU_QUOTA);
  assert_float_equal(d->to, 0.65, 1e-9);
}

static void test_planner_ignores_an_unmanaged_resource(void **state) {
  fx *f = *state;
  fx_row_res(f, "web1", ACT_MEMORY, 1024, 1020, 4000);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
}

/* A manual set overrides the forecast for its duration; then the planner resumes. */
static void test_planner_manual_set_overrides_for_its_duration(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 1, 1.0);
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_SET,
                  .value = 10, .duration_s = 900};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = only(f, ACT_MANUAL, "web1");
  assert_float_equal(d->to, 10, 1e-9);
  assert_string_equal(d->rule, "manual");
  fx_apply(f);
  f->now += 600;
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0); /* held: no shrink though 1/10 < band */
  f->now += 300;
  assert_int_equal(act_planner_held_until(f->pl, "web1", ACT_CPU, f->now), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_non_null(act_plan_find(&f->plan, ACT_SHRINK, "web1"));
}

static void test_planner_manual_hold_keeps_the_allocation(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 12.0);
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_HOLD,
                  .duration_s = 3600};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.n_decisions, 0);
  assert_int_equal(act_planner_held_until(f->pl, "web1", ACT_CPU, f->now), f->now + 3600);
}

static void test_planner_manual_release_ends_a_hold(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 12.0);
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_HOLD,
                  .duration_s = 3600};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  m.action = ACT_MANUAL_RELEASE;
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_non_null(act_plan_find(&f->plan, ACT_GROW, "web1"));
}

static void test_planner_manual_rejects_a_zero_duration(void **state) {
  fx *f = *state;
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_SET,
                  .value = 4, .duration_s = 0};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), ACT_EINVAL);
  assert_string_equal(f->err.msg, "manual web1 cpu: duration 0 (must be > 0)");
}

static void test_planner_manual_rejects_a_negative_value(void **state) {
  fx *f = *state;
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_SET,
                  .value = -1, .duration_s = 60};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "value -1"));
}

static void test_planner_marks_decisions_in_dry_run(void **state) {
  fx *f = *state;
  f->set.dry_run = 1;
  assert_int_equal(fx_update_set(f), 0);
  fx_row(f, "web1", 4, 2, 5.0);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(only(f, ACT_GROW, "web1")->dry_run, 1);
}

static void test_planner_numbers_decisions_in_sequence(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 5.0);
  fx_row(f, "web2", 4, 2, 5.0);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.decisions[0].seq, 1);
  assert_int_equal(f->plan.decisions[1].seq, 2);
  assert_int_equal(fx_plan(f), 0);
  assert_int_equal(f->plan.decisions[0].seq, 3);
  assert_int_equal(f->plan.decisions[0].ts, f->now);
}

static void test_planner_rejects_a_vm_given_twice(void **state) {
  fx *f = *state;
  fx_row(f, "web1", 4, 2, 5.0);
  fx_row(f, "web1", 4, 2, 5.0);
  assert_int_equal(fx_plan(f), ACT_EINVAL);
  assert_string_equal(f->err.msg, "HostSet \"web\" VM \"web1\": cpu given twice");
}

static void test_planner_rejects_a_negative_allocation(void **state) {
  fx *f = *state;
  fx_row(f, "web1", -1, 2, 5.0);
  assert_int_equal(fx_plan(f), ACT_EINVAL);
  assert_string_equal(f->err.msg,
                      "HostSet \"web\" VM \"web1\": cpu allocation -1 (must be >= 0)");
}

static void test_planner_rejects_an_unknown_set(void **state) {
  fx *f = *state;
  act_cycle c = {.policy = f->pol, .set = "db", .now = f->now};
  assert_int_equal(act_planner_plan(f->pl, &c, &f->plan, &f->err), ACT_ENOENT);
  assert_non_null(strstr(f->err.msg, "HostSet \"db\""));
}

static void test_planner_names_kinds(void **state) {
  (void)state;
  assert_string_equal(act_kind_name(ACT_SCALE_OUT), "scale_out");
  assert_string_equal(act_kind_name(ACT_REPAY), "repay");
  assert_string_equal(act_strerror(ACT_ECORRUPT), "corrupt file");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_planner_grows_ahead_of_the_forecast),
      T(test_planner_clamps_a_grow_to_max),
      T(test_planner_leaves_a_vm_inside_its_band),
      T(test_planner_uses_the_highest_bound_of_the_lead_window),
      T(test_planner_grows_a_saturated_vm_at_once),
      T(test_planner_fast_correction_works_without_a_forecast),
      T(test_planner_does_nothing_without_forecast_or_pressure),
      T(test_planner_shrinks_only_after_the_cooldown),
      T(test_planner_restarts_the_cooldown_when_the_forecast_rises),
      T(test_planner_never_shrinks_below_min),
      T(test_planner_never_shrinks_below_usage_plus_margin),
      T(test_planner_bounds_one_shrink_step),
      T(test_planner_shrinks_an_allocation_above_max_at_once),
      T(test_planner_grants_by_priority_within_capacity),
      T(test_planner_grants_the_lowest_cost_first),
      T(test_planner_orders_shrinks_before_grows),
      T(test_planner_quantises_memory_in_its_step),
      T(test_planner_quantises_cpu_quota_in_005_cores),
      T(test_planner_ignores_an_unmanaged_resource),
      T(test_planner_manual_set_overrides_for_its_duration),
      T(test_planner_manual_hold_keeps_the_allocation),
      T(test_planner_manual_release_ends_a_hold),
      T(test_planner_manual_rejects_a_zero_duration),
      T(test_planner_manual_rejects_a_negative_value),
      T(test_planner_marks_decisions_in_dry_run),
      T(test_planner_numbers_decisions_in_sequence),
      T(test_planner_rejects_a_vm_given_twice),
      T(test_planner_rejects_a_negative_allocation),
      T(test_planner_rejects_an_unknown_set),
      T(test_planner_names_kinds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
