/* test_board.c -- the actuator's table of latest values and the cycle rows built from
 * it: units, membership, freshness, the applier's changes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actuator/board.h"

#define NOW 1700000000.0
#define MAX_AGE 300

typedef struct bfx {
  act_board *b;
  act_board_rows rows;
  act_error err;
} bfx;

static int setup(void **state) {
  bfx *f = calloc(1, sizeof(*f));
  f->b = act_board_create(MAX_AGE, &f->err);
  assert_non_null(f->b);
  act_board_rows_init(&f->rows);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  bfx *f = *state;
  act_board_rows_free(&f->rows);
  act_board_destroy(f->b);
  free(f);
  return 0;
}

static int put(bfx *f, act_obs_kind kind, const char *vm, const char *set,
               const char *metric, double value, double now) {
  act_obs o = {.kind = kind, .vm = vm, .set = set, .metric = metric, .value = value,
               .ts = now};
  return act_board_put(f->b, &o, now, &f->err);
}

static int put_fc(bfx *f, const char *vm, const char *metric, int h_s, double mean,
                  double lo, double hi, double now) {
  act_obs o = {.kind = ACT_OBS_FORECAST, .vm = vm, .metric = metric, .h_s = h_s,
               .value = mean, .lo = lo, .hi = hi, .ts = now};
  return act_board_put(f->b, &o, now, &f->err);
}

static const act_vm_state *rows_of(bfx *f, const act_policy *p, const char *set,
                                   double now, const char *vm, act_resource r) {
  assert_int_equal(act_board_rows_fill(f->b, p, set, now, &f->rows, &f->err), 0);
  return act_board_rows_find(&f->rows, vm, r);
}

/* fs_alloc mem is KiB, the planner's memory MiB. */
static void test_board_converts_memory_kib_to_mib(void **state) {
  bfx *f = *state;
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "mem", 4194304, NOW), 1);
  assert_int_equal(put(f, ACT_OBS_USAGE, "web1", "web", "mem", 1048576, NOW), 1);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_MEMORY);
  assert_non_null(row);
  assert_float_equal(row->alloc, 4096, 1e-9);
  assert_float_equal(row->usage, 1024, 1e-9);
}

/* A memory forecast's mean and both bounds are converted too. */
static void test_board_converts_memory_forecast_bounds(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "mem", 2097152, NOW);
  assert_int_equal(put_fc(f, "web1", "mem", 300, 2048, 1024, 3072, NOW), 1);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_MEMORY);
  assert_non_null(row);
  assert_int_equal(row->n_points, 1);
  assert_float_equal(row->points[0].mean, 2, 1e-9);
  assert_float_equal(row->points[0].lo, 1, 1e-9);
  assert_float_equal(row->points[0].hi, 3, 1e-9);
}

/* vcpus is the cpu allocation; cpu usage in cores feeds cpu and cpu_quota alike. */
static void test_board_maps_cpu_usage_to_both_cpu_resources(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  put(f, ACT_OBS_ALLOC, "web1", "web", "cpu_quota", 2.5, NOW);
  put(f, ACT_OBS_USAGE, "web1", "web", "cpu", 1.75, NOW);
  const act_vm_state *cpu = rows_of(f, NULL, "web", NOW, "web1", ACT_CPU);
  const act_vm_state *quota = act_board_rows_find(&f->rows, "web1", ACT_CPU_QUOTA);
  assert_non_null(cpu);
  assert_non_null(quota);
  assert_float_equal(cpu->alloc, 4, 0);
  assert_float_equal(quota->alloc, 2.5, 0);
  assert_float_equal(cpu->usage, 1.75, 0);
  assert_float_equal(quota->usage, 1.75, 0);
}

/* A resource without an allocation has no row, whatever its usage. */
static void test_board_needs_an_allocation_for_a_row(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  put(f, ACT_OBS_USAGE, "web1", "web", "cpu", 1, NOW);
  assert_non_null(rows_of(f, NULL, "web", NOW, "web1", ACT_CPU));
  assert_null(act_board_rows_find(&f->rows, "web1", ACT_CPU_QUOTA));
  assert_int_equal(f->rows.n_vms, 1);
}

/* Metrics the planner does not plan on are declined, not stored. */
static void test_board_ignores_metrics_it_does_not_plan_on(void **state) {
  bfx *f = *state;
  assert_int_equal(put(f, ACT_OBS_USAGE, "web1", "web", "disk", 10, NOW), 0);
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus_max", 8, NOW), 0);
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "disk_bps", 1e6, NOW), 0);
  assert_int_equal(put(f, ACT_OBS_USAGE, "web1", "web", "mem_avail", 10, NOW), 0);
  assert_int_equal(act_board_rows_fill(f->b, NULL, "web", NOW, &f->rows, &f->err), 0);
  assert_int_equal(f->rows.n_vms, 0);
}

/* A non-finite or negative allocation (no quota is INFINITY) is no allocation. */
static void test_board_declines_non_finite_allocation(void **state) {
  bfx *f = *state;
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "cpu_quota", INFINITY, NOW), 0);
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", -1, NOW), 0);
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", NAN, NOW), 0);
}

/* Host-set totals (host "set-<name>") are not VMs. */
static void test_board_ignores_host_set_forecasts(void **state) {
  bfx *f = *state;
  assert_int_equal(put_fc(f, "set-web", "cpu", 300, 1, 0, 2, NOW), 0);
}

/* Points come out sorted by horizon, one per horizon, the newest value winning. */
static void test_board_keeps_newest_point_per_horizon_sorted(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  put_fc(f, "web1", "cpu", 3600, 1, 0, 9, NOW - 10);
  put_fc(f, "web1", "cpu", 300, 1, 0, 2, NOW - 10);
  put_fc(f, "web1", "cpu", 900, 1, 0, 3, NOW - 10);
  put_fc(f, "web1", "cpu", 300, 1, 0, 5, NOW);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_CPU);
  assert_int_equal(row->n_points, 3);
  assert_int_equal(row->points[0].h_s, 300);
  assert_float_equal(row->points[0].hi, 5, 0);
  assert_int_equal(row->points[1].h_s, 900);
  assert_int_equal(row->points[2].h_s, 3600);
}

static int put_fc_model(bfx *f, const char *vm, int h_s, const char *model) {
  act_obs o = {.kind = ACT_OBS_FORECAST, .vm = vm, .metric = "cpu", .h_s = h_s,
               .value = 1, .lo = 0, .hi = 2, .ts = NOW, .model = model};
  return act_board_put(f->b, &o, NOW, &f->err);
}

/* The model of a resource's newest forecast value rides along in its row, as a copy:
 * the value's string may be gone when the rows are filled. */
static void test_board_rows_carry_the_newest_forecast_model(void **state) {
  bfx *f = *state;
  char model[16] = "ets";
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  put(f, ACT_OBS_ALLOC, "web2", "web", "vcpus", 4, NOW);
  assert_int_equal(put_fc_model(f, "web1", 300, model), 1);
  snprintf(model, sizeof(model), "ar+gru");
  assert_int_equal(put_fc_model(f, "web1", 900, model), 1);
  memset(model, 'x', sizeof(model) - 1);
  assert_int_equal(act_board_rows_fill(f->b, NULL, "web", NOW, &f->rows, &f->err), 0);
  const act_vm_state *row = act_board_rows_find(&f->rows, "web1", ACT_CPU);
  assert_non_null(row);
  assert_string_equal(f->rows.models[row - f->rows.vms], "ar+gru");
  row = act_board_rows_find(&f->rows, "web2", ACT_CPU);
  assert_string_equal(f->rows.models[row - f->rows.vms], "");
}

/* A model name that could not be carried whole and clean is not kept at all; the
 * forecast value itself still is. */
static void test_board_does_not_keep_a_long_or_unprintable_model(void **state) {
  bfx *f = *state;
  char longname[ACT_BOARD_MODEL_MAX + 1];
  memset(longname, 'm', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  const char *bad[] = {longname, "ets ar", "ets\n", "\xc3\xa9ts", "", NULL};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(put_fc_model(f, "web1", 300, "ets"), 1);
    assert_int_equal(put_fc_model(f, "web1", 300, bad[i]), 1);
    const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_CPU);
    assert_int_equal(row->n_points, 1);
    assert_string_equal(f->rows.models[row - f->rows.vms], "");
  }
  longname[ACT_BOARD_MODEL_MAX - 1] = '\0'; /* the longest that fits */
  assert_int_equal(put_fc_model(f, "web1", 300, longname), 1);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_CPU);
  assert_string_equal(f->rows.models[row - f->rows.vms], longname);
}

/* Old forecast points and usage are dropped from the rows; the allocation keeps it. */
static void test_board_drops_stale_usage_and_points(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_USAGE, "web1", "web", "cpu", 3, NOW - MAX_AGE - 1);
  put_fc(f, "web1", "cpu", 300, 1, 0, 2, NOW - MAX_AGE - 1);
  put_fc(f, "web1", "cpu", 900, 1, 0, 2, NOW);
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_CPU);
  assert_non_null(row);
  assert_true(isnan(row->usage));
  assert_int_equal(row->n_points, 1);
  assert_int_equal(row->points[0].h_s, 900);
}

/* A VM whose allocation stopped arriving (it vanished) is no longer planned. */
static void test_board_drops_vm_with_stale_allocation(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW - MAX_AGE - 1);
  put(f, ACT_OBS_ALLOC, "web2", "web", "vcpus", 4, NOW);
  assert_null(rows_of(f, NULL, "web", NOW, "web1", ACT_CPU));
  assert_non_null(act_board_rows_find(&f->rows, "web2", ACT_CPU));
}

/* Age counts from arrival: a replay stamping values in the future is still fresh, and
 * one stamped long ago but just received is too. */
static void test_board_ages_by_arrival_not_stamp(void **state) {
  bfx *f = *state;
  act_obs o = {.kind = ACT_OBS_ALLOC, .vm = "web1", .set = "web", .metric = "vcpus",
               .value = 4, .ts = NOW - 86400};
  assert_int_equal(act_board_put(f->b, &o, NOW, &f->err), 1);
  assert_non_null(rows_of(f, NULL, "web", NOW, "web1", ACT_CPU));
}

/* Values name the set in their meta; other sets' VMs stay out. */
static void test_board_rows_hold_only_the_sets_vms(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  put(f, ACT_OBS_ALLOC, "db1", "db", "vcpus", 8, NOW);
  put(f, ACT_OBS_ALLOC, "lost", NULL, "vcpus", 2, NOW);
  assert_non_null(rows_of(f, NULL, "web", NOW, "web1", ACT_CPU));
  assert_int_equal(f->rows.n_vms, 1);
  assert_non_null(rows_of(f, NULL, "db", NOW, "db1", ACT_CPU));
  assert_int_equal(f->rows.n_vms, 1);
}

/* A value without a set keeps the set an earlier value named. */
static void test_board_keeps_known_set_when_meta_absent(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_USAGE, "web1", "web", "cpu", 1, NOW);
  put(f, ACT_OBS_ALLOC, "web1", NULL, "vcpus", 4, NOW);
  assert_non_null(rows_of(f, NULL, "web", NOW, "web1", ACT_CPU));
}

/* A VM listed under a HostSet in the policy belongs to it, whatever its meta says. */
static void test_board_policy_listing_overrides_meta(void **state) {
  bfx *f = *state;
  act_error err;
  act_policy *p = act_policy_create(&err);
  act_set_policy s;
  act_set_policy_init(&s, "web");
  assert_int_equal(act_policy_add_set(p, &s, &err), 0);
  act_set_policy_init(&s, "db");
  assert_int_equal(act_policy_add_set(p, &s, &err), 0);
  act_vm_policy vm;
  act_vm_policy_init(&vm, "web1");
  assert_int_equal(act_policy_add_vm(p, "web", &vm, &err), 0);
  put(f, ACT_OBS_ALLOC, "web1", "db", "vcpus", 4, NOW);
  put(f, ACT_OBS_ALLOC, "other", NULL, "vcpus", 4, NOW);
  assert_non_null(rows_of(f, p, "web", NOW, "web1", ACT_CPU));
  assert_int_equal(f->rows.n_vms, 1);
  assert_null(rows_of(f, p, "db", NOW, "web1", ACT_CPU));
  act_policy_destroy(p);
}

/* After the applier's change, an allocation read before it does not undo it. */
static void test_board_ignores_allocation_read_before_applied_change(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW - 5);
  assert_int_equal(act_board_applied(f->b, "web1", ACT_CPU, 6, NOW, &f->err), 0);
  act_obs old = {.kind = ACT_OBS_ALLOC, .vm = "web1", .set = "web", .metric = "vcpus",
                 .value = 4, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->b, &old, NOW + 1, &f->err), 0);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW + 1, "web1", ACT_CPU);
  assert_float_equal(row->alloc, 6, 0);
}

/* An allocation read after the change is taken, even if it differs. */
static void test_board_takes_allocation_read_after_applied_change(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW - 5);
  act_board_applied(f->b, "web1", ACT_CPU, 6, NOW, &f->err);
  act_obs later = {.kind = ACT_OBS_ALLOC, .vm = "web1", .set = "web", .metric = "vcpus",
                   .value = 5, .ts = NOW + 1};
  assert_int_equal(act_board_put(f->b, &later, NOW + 1, &f->err), 1);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW + 1, "web1", ACT_CPU);
  assert_float_equal(row->alloc, 5, 0);
}

/* Bad names and horizons are errors that name the value. */
static void test_board_rejects_bad_vm_name(void **state) {
  bfx *f = *state;
  assert_int_equal(put(f, ACT_OBS_ALLOC, "web 1", "web", "vcpus", 4, NOW), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "web 1"));
}

static void test_board_rejects_non_positive_horizon(void **state) {
  bfx *f = *state;
  assert_int_equal(put_fc(f, "web1", "cpu", 0, 1, 0, 2, NOW), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "horizon 0"));
}

/* More horizons than the board keeps is an error, and the existing ones stay. */
static void test_board_caps_horizons(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW);
  for (int h = 1; h <= ACT_BOARD_MAX_POINTS; h++)
    assert_int_equal(put_fc(f, "web1", "net", h, 1, 0, 2, NOW), 1);
  put(f, ACT_OBS_ALLOC, "web1", "web", "net_kbps", 100, NOW);
  assert_true(put_fc(f, "web1", "net", ACT_BOARD_MAX_POINTS + 1, 1, 0, 2, NOW) < 0);
  const act_vm_state *row = rows_of(f, NULL, "web", NOW, "web1", ACT_NET_KBPS);
  assert_int_equal(row->n_points, ACT_BOARD_MAX_POINTS);
}

/* Expiry forgets VMs silent since the cut, and only those. */
static void test_board_expire_forgets_silent_vms(void **state) {
  bfx *f = *state;
  put(f, ACT_OBS_ALLOC, "web1", "web", "vcpus", 4, NOW - 1000);
  put(f, ACT_OBS_ALLOC, "web2", "web", "vcpus", 4, NOW);
  assert_int_equal(act_board_expire(f->b, NOW - 500), 1);
  assert_int_equal(act_board_rows_fill(f->b, NULL, "web", NOW, &f->rows, &f->err), 0);
  assert_int_equal(f->rows.n_vms, 1);
  assert_string_equal(f->rows.vms[0].vm, "web2");
}

/* Many VMs arriving in any order come out sorted, each row pointing at its own points
 * (an oracle: each row's single point carries its VM's number). */
static void test_board_rows_of_many_vms_point_at_their_own_points(void **state) {
  bfx *f = *state;
  char name[32];
  for (int i = 99; i >= 0; i--) {
    snprintf(name, sizeof(name), "vm%03d", (i * 37) % 100);
    put(f, ACT_OBS_ALLOC, name, "web", "vcpus", 4, NOW);
    put_fc(f, name, "cpu", 300, 1, 0, (i * 37) % 100, NOW);
  }
  assert_int_equal(act_board_rows_fill(f->b, NULL, "web", NOW, &f->rows, &f->err), 0);
  assert_int_equal(f->rows.n_vms, 100);
  for (size_t i = 0; i < f->rows.n_vms; i++) {
    snprintf(name, sizeof(name), "vm%03zu", i);
    assert_string_equal(f->rows.vms[i].vm, name);
    assert_int_equal(f->rows.vms[i].n_points, 1);
    assert_float_equal(f->rows.vms[i].points[0].hi, (double)i, 0);
  }
}

/* The rows feed the planner as they are: a forecast above the threshold grows. */
static void test_board_rows_drive_the_planner(void **state) {
  bfx *f = *state;
  act_error err;
  act_policy *p = act_policy_create(&err);
  act_set_policy s;
  act_set_policy_init(&s, "web");
  s.managed[ACT_MEMORY] = 1;
  assert_int_equal(act_policy_add_set(p, &s, &err), 0);
  put(f, ACT_OBS_ALLOC, "web1", "web", "mem", 2048 * 1024.0, NOW);
  put_fc(f, "web1", "mem", 600, 2000 * 1024.0, 1000 * 1024.0, 3000 * 1024.0, NOW);
  assert_int_equal(act_board_rows_fill(f->b, p, "web", NOW, &f->rows, &f->err), 0);
  act_planner *pl = act_planner_create(&err);
  act_plan plan;
  act_plan_init(&plan);
  act_cycle c = {.policy = p, .set = "web", .vms = f->rows.vms,
                 .n_vms = f->rows.n_vms, .now = (int64_t)NOW};
  assert_int_equal(act_planner_plan(pl, &c, &plan, &err), 0);
  const act_decision *d = act_plan_find(&plan, ACT_GROW, "web1");
  assert_non_null(d);
  assert_float_equal(d->from, 2048, 0);
  /* 3000 MiB / 0.8 = 3750 -> the next 256 MiB step */
  assert_float_equal(d->to, 3840, 0);
  act_plan_free(&plan);
  act_planner_destroy(pl);
  act_policy_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_board_converts_memory_kib_to_mib),
      T(test_board_converts_memory_forecast_bounds),
      T(test_board_maps_cpu_usage_to_both_cpu_resources),
      T(test_board_needs_an_allocation_for_a_row),
      T(test_board_ignores_metrics_it_does_not_plan_on),
      T(test_board_declines_non_finite_allocation),
      T(test_board_ignores_host_set_forecasts),
      T(test_board_keeps_newest_point_per_horizon_sorted),
      T(test_board_rows_carry_the_newest_forecast_model),
      T(test_board_does_not_keep_a_long_or_unprintable_model),
      T(test_board_drops_stale_usage_and_points),
      T(test_board_drops_vm_with_stale_allocation),
      T(test_board_ages_by_arrival_not_stamp),
      T(test_board_rows_hold_only_the_sets_vms),
      T(test_board_keeps_known_set_when_meta_absent),
      T(test_board_policy_listing_overrides_meta),
      T(test_board_ignores_allocation_read_before_applied_change),
      T(test_board_takes_allocation_read_after_applied_change),
      T(test_board_rejects_bad_vm_name),
      T(test_board_rejects_non_positive_horizon),
      T(test_board_caps_horizons),
      T(test_board_expire_forgets_silent_vms),
      T(test_board_rows_of_many_vms_point_at_their_own_points),
      T(test_board_rows_drive_the_planner),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
