/* test_runner.c -- the actuator's work without collectd: cycles applied to libvirt's
 * real test driver (tests/unit/lv_fixture.h: web1 2 of 4 vCPUs, web2 4 of 8, the
 * template web-tmpl, all in set "web"), what is published and in which order, restarts
 * (ids, persisted policy, journal recovery) and the operator's requests.
 * The oracles read the domains with plain libvirt calls and the messages as JSON. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "actuator/board.h"
#include "actuator/hv_libvirt.h"
#include "actuator/runner.h"
#include "tests/unit/hv_fault.h"
#include "tests/unit/lv_fixture.h"

#define NOW 1700000000.0
#define MAX_MSGS 256
#define MAX_LOGS 128

typedef struct msg {
  char topic[256];
  char *payload;
  int qos, retain;
} msg;

typedef struct rfx {
  lvfx *lv;
  act_hv *hv;
  hv_fault_ctl *ctl; /* when hv is the fault wrapper */
  act_board *board;
  act_runner *r;
  msg msgs[MAX_MSGS];
  size_t n_msgs;
  char logs[MAX_LOGS][1024];
  size_t n_logs;
  act_error err;
  /* the policy the next start_runner uses */
  double capacity_cpu;
  double break_even; /* BreakEven cpu, 0: the LowerBand rule */
  int dry_run;
  const char *scale_template;
} rfx;

/* ---------------------------------------------------------------- io */

static void io_publish(void *user, const char *topic, const char *payload, int qos,
                       int retain) {
  rfx *f = user;
  assert_true(f->n_msgs < MAX_MSGS);
  msg *m = &f->msgs[f->n_msgs++];
  snprintf(m->topic, sizeof(m->topic), "%s", topic);
  m->payload = strdup(payload);
  m->qos = qos;
  m->retain = retain;
}

static int io_fill_rows(void *user, const act_policy *policy, const char *set,
                        double now, act_board_rows *rows, act_error *err) {
  rfx *f = user;
  return act_board_rows_fill(f->board, policy, set, now, rows, err);
}

static void io_applied(void *user, const char *vm, act_resource r, double alloc,
                       double now) {
  rfx *f = user;
  assert_int_equal(act_board_applied(f->board, vm, r, alloc, now, NULL), 0);
}

static void io_log(void *user, int level, const char *line) {
  rfx *f = user;
  (void)level;
  if (f->n_logs < MAX_LOGS)
    snprintf(f->logs[f->n_logs++], sizeof(f->logs[0]), "%s", line);
}

/* ---------------------------------------------------------------- fixture */

static act_policy *make_policy(const rfx *f) {
  act_error err;
  act_policy *p = act_policy_create(&err);
  act_set_policy s;
  act_set_policy_init(&s, "web");
  s.managed[ACT_CPU] = 1;
  s.capacity[ACT_CPU] = f->capacity_cpu;
  s.res[ACT_CPU].lend_share = 0.5;
  s.borrow_duration_s = 60;
  s.cooldown_s = 3600;
  s.res[ACT_CPU].break_even = f->break_even;
  s.dry_run = f->dry_run;
  if (f->scale_template != NULL) {
    snprintf(s.scale_template, sizeof(s.scale_template), "%s", f->scale_template);
    s.max_instances = 4;
  }
  assert_int_equal(act_policy_add_set(p, &s, &err), 0);
  return p;
}

static act_runner *start_runner(rfx *f) {
  act_runner_config cfg;
  act_runner_config_init(&cfg);
  cfg.state_dir = f->lv->dir;
  cfg.apply.verify_wait_ms = 0;
  cfg.now = NOW;
  act_runner_io io = {.user = f, .publish = io_publish, .fill_rows = io_fill_rows,
                      .applied = io_applied, .log = io_log};
  f->r = act_runner_create(&cfg, make_policy(f), f->hv, &io, &f->err);
  return f->r;
}

static int setup(void **state) {
  rfx *f = calloc(1, sizeof(*f));
  f->lv = lvfx_new();
  f->hv = act_hv_libvirt_wrap(f->lv->conn, &f->err);
  assert_non_null(f->hv);
  f->board = act_board_create(300, &f->err);
  f->capacity_cpu = 16;
  *state = f;
  return 0;
}

static void clear_msgs(rfx *f) {
  for (size_t i = 0; i < f->n_msgs; i++)
    free(f->msgs[i].payload);
  f->n_msgs = 0;
}

static int teardown(void **state) {
  rfx *f = *state;
  act_runner_destroy(f->r);
  act_hv_destroy(f->hv);
  act_board_destroy(f->board);
  clear_msgs(f);
  lvfx_free(f->lv);
  free(f);
  return 0;
}

/* Puts vm's allocation, usage and a 600 s forecast whose upper bound is hi, all read
 * at NOW - 1 (an allocation read before a change the runner applied is ignored). */
static void feed(rfx *f, const char *vm, double vcpus, double usage, double hi) {
  act_obs o = {.kind = ACT_OBS_ALLOC, .vm = vm, .set = "web", .metric = "vcpus",
               .value = vcpus, .ts = NOW - 1};
  assert_true(act_board_put(f->board, &o, NOW - 1, &f->err) >= 0);
  o = (act_obs){.kind = ACT_OBS_USAGE, .vm = vm, .set = "web", .metric = "cpu",
                .value = usage, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  o = (act_obs){.kind = ACT_OBS_FORECAST, .vm = vm, .metric = "cpu", .h_s = 600,
                .value = hi / 2, .lo = 0, .hi = hi, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
}

/* The i-th message on topic (0: the first), or NULL. */
static const msg *find(const rfx *f, const char *topic, int nth) {
  for (size_t i = 0; i < f->n_msgs; i++)
    if (strcmp(f->msgs[i].topic, topic) == 0 && nth-- == 0)
      return &f->msgs[i];
  return NULL;
}

static size_t count(const rfx *f, const char *topic) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_msgs; i++)
    n += strcmp(f->msgs[i].topic, topic) == 0;
  return n;
}

static json_t *parse(const msg *m) {
  assert_non_null(m);
  json_t *j = json_loads(m->payload, 0, NULL);
  assert_non_null(j);
  return j;
}

static const char *jstr(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  assert_non_null(v);
  return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static int logged(const rfx *f, const char *needle) {
  for (size_t i = 0; i < f->n_logs; i++)
    if (strstr(f->logs[i], needle) != NULL)
      return 1;
  return 0;
}

static int inbound(rfx *f, const char *topic, const char *payload) {
  return act_runner_inbound(f->r, topic, payload, strlen(payload), NOW);
}

#define LIVE VIR_DOMAIN_AFFECT_LIVE
#define CONFIG VIR_DOMAIN_AFFECT_CONFIG

/* ---------------------------------------------------------------- cycles */

/* A forecast above the threshold grows the domain: 3.2 / 0.8 = 4 vCPUs. */
static void test_runner_cycle_applies_a_grow_to_the_domain(void **state) {
  rfx *f = *state;
  assert_non_null(start_runner(f));
  feed(f, "web1", 2, 1.0, 3.2);
  assert_int_equal(act_runner_cycle(f->r, NOW), 1);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 4);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", CONFIG), 4);
}

/* Within the warm-up nothing is decided; after it, the same rows are planned. */
static void test_runner_decides_nothing_during_warm_up(void **state) {
  rfx *f = *state;
  start_runner(f);
  act_runner_destroy(f->r);
  act_runner_config cfg;
  act_runner_config_init(&cfg);
  cfg.state_dir = f->lv->dir;
  cfg.warmup_s = 2;
  act_runner_io io = {.user = f, .publish = io_publish, .fill_rows = io_fill_rows,
                      .applied = io_applied, .log = io_log};
  f->r = act_runner_create(&cfg, make_policy(f), f->hv, &io, &f->err);
  feed(f, "web1", 2, 1.0, 3.2);
  assert_int_equal(act_runner_cycle(f->r, NOW), 0);
  assert_int_equal(act_runner_cycle(f->r, NOW + 1), 0);
  assert_int_equal(count(f, "web/decision"), 0);
  assert_int_equal(act_runner_cycle(f->r, NOW + 2), 1);
}

/* The decision is published before its result, both QoS 1, with one id. */
static void test_runner_publishes_decision_then_result_with_one_id(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW);
  size_t di = SIZE_MAX, ri = SIZE_MAX;
  for (size_t i = 0; i < f->n_msgs; i++) {
    if (strcmp(f->msgs[i].topic, "web/decision") == 0 && di == SIZE_MAX)
      di = i;
    if (strcmp(f->msgs[i].topic, "web/result") == 0 && ri == SIZE_MAX)
      ri = i;
  }
  assert_true(di < ri && ri < f->n_msgs);
  assert_int_equal(f->msgs[di].qos, 1);
  assert_int_equal(f->msgs[ri].qos, 1);
  json_t *d = parse(&f->msgs[di]), *r = parse(&f->msgs[ri]);
  assert_string_equal(jstr(d, "kind"), "grow");
  assert_string_equal(jstr(r, "status"), "applied");
  assert_int_equal(jint(d, "id"), jint(r, "decision_id"));
  json_decref(d);
  json_decref(r);
}

/* Once applied, the board holds the new allocation: the next cycle, with only the old
 * reading of the read plugin, decides nothing more. */
static void test_runner_next_cycle_does_not_redo_an_applied_change(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  assert_int_equal(act_runner_cycle(f->r, NOW), 1);
  assert_int_equal(act_runner_cycle(f->r, NOW + 1), 0);
}

static void test_runner_dry_run_publishes_and_changes_nothing(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  assert_int_equal(act_runner_cycle(f->r, NOW), 1);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
  json_t *r = parse(find(f, "web/result", 0));
  assert_string_equal(jstr(r, "status"), "skipped");
  assert_string_equal(jstr(r, "error"), "dry run");
  json_decref(r);
}

static void test_runner_without_hypervisor_publishes_skipped(void **state) {
  rfx *f = *state;
  act_hv_destroy(f->hv);
  f->hv = NULL;
  assert_non_null(start_runner(f));
  feed(f, "web1", 2, 1.0, 3.2);
  assert_int_equal(act_runner_cycle(f->r, NOW), 1);
  json_t *r = parse(find(f, "web/result", 0));
  assert_string_equal(jstr(r, "status"), "skipped");
  json_decref(r);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
}

/* ---------------------------------------------------------------- forecasts */

/* feed's 600 s forecast (mean hi / 2, lo 0, hi) is published retained on
 * web/web1/forecast/cpu in cores, stamped with the cycle, with its 90% confidence. */
static void test_runner_publishes_the_forecast_retained(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  act_runner_cycle(f->r, NOW);
  const msg *m = find(f, "web/web1/forecast/cpu", 0);
  assert_non_null(m);
  assert_int_equal(m->retain, 1);
  json_t *j = parse(m);
  assert_int_equal(jint(j, "ts"), (json_int_t)NOW);
  assert_true(fabs(json_number_value(json_object_get(j, "confidence")) - 0.9) < 1e-12);
  json_t *h = json_object_get(j, "horizons");
  assert_int_equal(json_array_size(h), 1);
  json_t *p = json_array_get(h, 0);
  assert_int_equal(jint(p, "h_s"), 600);
  assert_true(fabs(json_number_value(json_object_get(p, "mean")) - 0.5) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(p, "lo")) - 0.0) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(p, "hi")) - 1.0) < 1e-12);
  json_decref(j);
  /* cpu_quota repeats the cpu forecast: no topic of its own */
  assert_int_equal(count(f, "web/web1/forecast/cpu_quota"), 0);
}

/* The forecast message names the model the forecast plugin put in the values' meta
 * foresight:model, and a new model is news even when the bands stay. */
static void test_runner_forecast_names_the_model(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  act_obs o = {.kind = ACT_OBS_FORECAST, .vm = "web1", .metric = "cpu", .h_s = 600,
               .value = 0.5, .lo = 0, .hi = 1.0, .ts = NOW - 1, .model = "ets+ar"};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  act_runner_cycle(f->r, NOW);
  json_t *j = parse(find(f, "web/web1/forecast/cpu", 0));
  assert_string_equal(jstr(j, "model"), "ets+ar");
  json_decref(j);
  o.model = "fourier";
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  act_runner_cycle(f->r, NOW + 10);
  j = parse(find(f, "web/web1/forecast/cpu", 1));
  assert_string_equal(jstr(j, "model"), "fourier");
  json_decref(j);
}

/* Memory forecasts go out in the contract's KiB, not the planner's MiB. */
static void test_runner_forecast_memory_is_in_kib(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  act_obs o = {.kind = ACT_OBS_ALLOC, .vm = "web1", .set = "web", .metric = "mem",
               .value = 1048576, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  o = (act_obs){.kind = ACT_OBS_FORECAST, .vm = "web1", .metric = "mem", .h_s = 300,
                .value = 524288, .lo = 262144, .hi = 786432, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  act_runner_cycle(f->r, NOW);
  json_t *j = parse(find(f, "web/web1/forecast/mem", 0));
  json_t *p = json_array_get(json_object_get(j, "horizons"), 0);
  assert_true(fabs(json_number_value(json_object_get(p, "mean")) - 524288) < 1e-6);
  assert_true(fabs(json_number_value(json_object_get(p, "hi")) - 786432) < 1e-6);
  json_decref(j);
}

/* An unchanged forecast is not published again the next cycle; a changed one is. */
static void test_runner_forecast_is_published_only_when_it_changed(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  act_runner_cycle(f->r, NOW);
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(count(f, "web/web1/forecast/cpu"), 1);
  feed(f, "web1", 2, 1.0, 1.2);
  act_runner_cycle(f->r, NOW + 20);
  assert_int_equal(count(f, "web/web1/forecast/cpu"), 2);
  json_t *j = parse(find(f, "web/web1/forecast/cpu", 1));
  json_t *p = json_array_get(json_object_get(j, "horizons"), 0);
  assert_true(fabs(json_number_value(json_object_get(p, "hi")) - 1.2) < 1e-12);
  json_decref(j);
}

/* A VM without forecast points has no forecast topic. */
static void test_runner_no_forecast_topic_without_points(void **state) {
  rfx *f = *state;
  f->dry_run = 1;
  start_runner(f);
  act_obs o = {.kind = ACT_OBS_ALLOC, .vm = "web2", .set = "web", .metric = "vcpus",
               .value = 4, .ts = NOW - 1};
  assert_int_equal(act_board_put(f->board, &o, NOW - 1, &f->err), 1);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(count(f, "web/web2/state"), 1);
  assert_int_equal(count(f, "web/web2/forecast/cpu"), 0);
}

/* Capacity 6 is all allocated (web1 2 + web2 4): web1's grow is a loan of 2 from web2
 * (BorrowMax 0.5 of 4), made on both domains and recorded in the ledger. */
static void test_runner_loan_is_applied_and_recorded(void **state) {
  rfx *f = *state;
  f->capacity_cpu = 6;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  feed(f, "web2", 4, 0.1, 0.4);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 4);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web2", LIVE), 2);
  const act_ledger *l = act_runner_ledger(f->r, "web");
  assert_int_equal(act_ledger_count(l), 1);
  assert_string_equal(act_ledger_at(l, 0)->lender, "web2");
  assert_float_equal(act_ledger_at(l, 0)->amount, 2, 0);
}

/* The state message of a VM lists its loans. */
static void test_runner_state_lists_the_vms_loans(void **state) {
  rfx *f = *state;
  f->capacity_cpu = 6;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  feed(f, "web2", 4, 0.1, 0.4);
  act_runner_cycle(f->r, NOW);
  const msg *m = find(f, "web/web2/state", 0);
  assert_non_null(m);
  assert_int_equal(m->retain, 1);
  json_t *s = parse(m);
  json_t *loans = json_object_get(s, "loans");
  assert_int_equal(json_array_size(loans), 1);
  json_decref(s);
}

/* At its expiry a loan is repaid on both domains and leaves the ledger. */
static void test_runner_loan_is_repaid_at_expiry(void **state) {
  rfx *f = *state;
  f->capacity_cpu = 6;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  feed(f, "web2", 4, 0.1, 0.4);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(act_ledger_count(act_runner_ledger(f->r, "web")), 1);
  act_runner_cycle(f->r, NOW + 61); /* BorrowDuration 60 */
  assert_int_equal(act_ledger_count(act_runner_ledger(f->r, "web")), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web2", LIVE), 4);
  assert_true(logged(f, "repay cpu web1 4 -> 2, web2 2 -> 4"));
}

/* A decision that is not applied stops the plan: the one after it is skipped. */
static void test_runner_failed_decision_skips_the_rest_of_the_plan(void **state) {
  rfx *f = *state;
  act_hv *fault = hv_fault_create(f->hv, &f->ctl);
  f->hv = fault;
  f->ctl->dead_from = 1; /* the hypervisor refuses everything */
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  feed(f, "web2", 4, 3.0, 4.8);
  assert_int_equal(act_runner_cycle(f->r, NOW), 2);
  json_t *r1 = parse(find(f, "web/result", 0)), *r2 = parse(find(f, "web/result", 1));
  assert_string_equal(jstr(r1, "status"), "failed");
  assert_string_equal(jstr(r2, "status"), "skipped");
  assert_non_null(strstr(jstr(r2, "error"), "before it in this cycle was not"));
  json_decref(r1);
  json_decref(r2);
}

/* ---------------------------------------------------------------- restarts */

static uint64_t first_decision_id(rfx *f) {
  json_t *d = parse(find(f, "web/decision", 0));
  uint64_t id = (uint64_t)jint(d, "id");
  json_decref(d);
  return id;
}

/* After a restart decision ids go on: no id is given twice. */
static void test_runner_decision_ids_are_unique_across_restarts(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW);
  uint64_t before = first_decision_id(f);
  act_runner_destroy(f->r);
  clear_msgs(f);
  act_board_destroy(f->board);
  f->board = act_board_create(300, &f->err);
  start_runner(f);
  feed(f, "web2", 4, 3.0, 4.8);
  act_runner_cycle(f->r, NOW);
  assert_true(first_decision_id(f) > before);
}

/* The hook: before the first set, the hypervisor dies for every later call, so the
 * transaction's first step is made and nothing else: not the rest, not the undo. */
static void die_after_first_set(void *user, int call, const char *op, const char *vm,
                                int knob) {
  rfx *f = user;
  (void)vm;
  (void)knob;
  if (strcmp(op, "set") == 0 && f->ctl->dead_from == 0)
    f->ctl->dead_from = call + 1;
}

/* A transaction left open (first of its steps made) is rolled back when the runner
 * starts again, before any decision, and logged. */
static void test_runner_restart_rolls_back_a_half_applied_decision(void **state) {
  rfx *f = *state;
  f->hv = hv_fault_create(f->hv, &f->ctl);
  f->ctl->hook = die_after_first_set;
  f->ctl->hook_user = f;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", CONFIG), 4); /* half applied */
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
  act_runner_destroy(f->r);
  act_hv_destroy(f->hv);
  f->hv = act_hv_libvirt_wrap(f->lv->conn, &f->err);
  f->n_logs = 0;
  assert_non_null(start_runner(f));
  assert_true(logged(f, "journal recovery: 1 open, 1 rolled back, 0 completed, 0 still open"));
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", CONFIG), 2);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
}

/* Loans outstanding at a restart are reloaded with the ledger. */
static void test_runner_restart_keeps_outstanding_loans(void **state) {
  rfx *f = *state;
  f->capacity_cpu = 6;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  feed(f, "web2", 4, 0.1, 0.4);
  act_runner_cycle(f->r, NOW);
  act_runner_destroy(f->r);
  f->n_logs = 0;
  start_runner(f);
  assert_int_equal(act_ledger_count(act_runner_ledger(f->r, "web")), 1);
  assert_true(logged(f, "1 loans outstanding from the ledger"));
}

/* The restart as the daemon does it: runner and board gone, both made again over the
 * same StateDir (messages and logs of the first life cleared). */
static void restart(rfx *f) {
  act_runner_destroy(f->r);
  act_board_destroy(f->board);
  f->board = act_board_create(300, &f->err);
  clear_msgs(f);
  f->n_logs = 0;
  assert_non_null(start_runner(f));
}

static int hold_web1(rfx *f, const char *id) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "{\"request_id\":\"%s\",\"action\":\"hold\","
           "\"resource\":\"cpu\",\"duration\":3600}", id);
  return inbound(f, "web/web1/command", cmd);
}

static json_int_t held_cpu_until(const rfx *f, const char *vm);

/* An operator's hold outlives a restart: reported in the state, and the forecast that
 * would grow the VM (3.2 / 0.8 = 4 vCPUs) does not. */
static void test_runner_restart_keeps_a_hold(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  assert_int_equal(hold_web1(f, "h1"), 0);
  restart(f);
  assert_true(logged(f, "1 holds, 0 resize and 0 scale cooldowns restored"));
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(count(f, "web/decision"), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
  assert_int_equal(held_cpu_until(f, "web1"), (json_int_t)NOW + 3600);
}

/* A released hold stays released after a restart. */
static void test_runner_restart_keeps_a_release(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  assert_int_equal(hold_web1(f, "h1"), 0);
  assert_int_equal(inbound(f, "web/web1/command", "{\"request_id\":\"r1\",\"action\":"
                   "\"release\",\"resource\":\"cpu\"}"), 0);
  restart(f);
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 4);
}

/* A grow at NOW starts the Cooldown (3600 s); after a restart the BreakEven waste
 * ((4 - 1) / 4 of the allocation for 200 s = 150 s > 60 s) would pay for a shrink,
 * but the cooldown from before the restart still forbids it. */
static void test_runner_restart_keeps_the_cooldown(void **state) {
  rfx *f = *state;
  f->break_even = 60;
  start_runner(f);
  feed(f, "web1", 2, 1.0, 3.2);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 4);
  restart(f);
  assert_true(logged(f, "0 holds, 1 resize and 0 scale cooldowns restored"));
  feed(f, "web1", 4, 0.2, 0.8);
  for (double t = NOW + 100; t <= NOW + 250; t += 50)
    act_runner_cycle(f->r, t);
  assert_int_equal(count(f, "web/decision"), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 4);
}

/* A damaged planner file does not stop the start: the error names file and line,
 * the file is kept beside as .bad. */
static void test_runner_damaged_planner_file_is_logged_and_kept(void **state) {
  rfx *f = *state;
  char path[256], bad[300];
  snprintf(path, sizeof(path), "%s/web.planner", f->lv->dir);
  snprintf(bad, sizeof(bad), "%s.bad", path);
  lvfx_write_file(path, "garbage\n", 8);
  assert_non_null(start_runner(f));
  char want[400];
  snprintf(want, sizeof(want), "planner %s line 1: no checksum; nothing restored", path);
  assert_true(logged(f, want));
  assert_int_equal(access(bad, F_OK), 0);
}

/* A hold that cannot be persisted is refused and released, since the operator expects
 * it to outlive a restart (here the temporary file's name is taken by a folder). */
static void test_runner_hold_not_persisted_is_refused(void **state) {
  rfx *f = *state;
  char tmp[256];
  snprintf(tmp, sizeof(tmp), "%s/web.planner.tmp", f->lv->dir);
  start_runner(f);
  feed(f, "web1", 2, 1.0, 1.0);
  act_runner_cycle(f->r, NOW);
  assert_int_equal(mkdir(tmp, 0700), 0);
  assert_int_equal(hold_web1(f, "h2"), 1);
  rmdir(tmp);
  json_t *r = parse(find(f, "reply/h2", 0));
  assert_true(json_is_false(json_object_get(r, "ok")));
  assert_non_null(strstr(jstr(r, "error"), "hold not persisted"));
  json_decref(r);
  assert_int_equal(held_cpu_until(f, "web1"), 0);
}

/* ---------------------------------------------------------------- policy/set */

static double threshold_cpu(const rfx *f) {
  act_res_policy rp;
  assert_int_equal(act_policy_effective(act_runner_policy(f->r), "web", "web1", ACT_CPU,
                                        &rp, NULL, NULL), 0);
  return rp.threshold;
}

static void test_runner_policy_set_is_applied_and_answered(void **state) {
  rfx *f = *state;
  start_runner(f);
  assert_int_equal(inbound(f, "web/policy/set", "{\"request_id\":\"p1\",\"policy\":"
                                                "{\"Threshold\":{\"cpu\":0.6}}}"), 0);
  assert_float_equal(threshold_cpu(f), 0.6, 1e-12);
  json_t *r = parse(find(f, "reply/p1", 0));
  assert_true(json_is_true(json_object_get(r, "ok")));
  json_decref(r);
  assert_non_null(find(f, "web/policy", 1)); /* republished, changed */
}

/* The persisted policy wins over the config's at the next start, and says so. */
static void test_runner_persisted_policy_wins_at_start(void **state) {
  rfx *f = *state;
  start_runner(f);
  inbound(f, "web/policy/set",
          "{\"request_id\":\"p1\",\"policy\":{\"Threshold\":{\"cpu\":0.6}}}");
  act_runner_destroy(f->r);
  f->n_logs = 0;
  assert_non_null(start_runner(f)); /* the config says 0.8 */
  assert_float_equal(threshold_cpu(f), 0.6, 1e-12);
  assert_true(logged(f, "replaces the config file's"));
}

/* A patch the validation refuses is answered with its message; nothing changes, on
 * disk neither. */
static void test_runner_policy_set_refused_changes_nothing(void **state) {
  rfx *f = *state;
  start_runner(f);
  size_t policies = count(f, "web/policy");
  assert_int_equal(inbound(f, "web/policy/set", "{\"request_id\":\"p2\",\"policy\":"
                                                "{\"BorrowMax\":{\"cpu\":1.5}}}"), 1);
  json_t *r = parse(find(f, "reply/p2", 0));
  assert_true(json_is_false(json_object_get(r, "ok")));
  assert_non_null(strstr(jstr(r, "error"), "BorrowMax cpu 1.5"));
  json_decref(r);
  assert_float_equal(threshold_cpu(f), 0.8, 1e-12);
  assert_int_equal(count(f, "web/policy"), policies);
  char path[256];
  snprintf(path, sizeof(path), "%s/web.policy.json", f->lv->dir);
  assert_int_equal(access(path, F_OK), -1);
}

/* A persisted policy that no longer parses stops the start, naming the file. */
static void test_runner_corrupt_persisted_policy_fails_start(void **state) {
  rfx *f = *state;
  char path[256];
  snprintf(path, sizeof(path), "%s/web.policy.json", f->lv->dir);
  lvfx_write_file(path, "{\"request_id\":", 14);
  assert_null(start_runner(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, path));
}

/* ---------------------------------------------------------------- commands */

static void test_runner_command_set_applies_and_replies_with_decision(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  assert_int_equal(inbound(f, "web/web1/command", "{\"request_id\":\"c1\",\"action\":"
                   "\"set\",\"resource\":\"cpu\",\"value\":3,\"duration\":600}"), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 3);
  json_t *r = parse(find(f, "reply/c1", 0));
  json_t *d = parse(find(f, "web/decision", 0));
  assert_true(json_is_true(json_object_get(r, "ok")));
  assert_int_equal(jint(r, "decision_id"), jint(d, "id"));
  assert_string_equal(jstr(d, "vm"), "web1");
  json_decref(r);
  json_decref(d);
}

/* A held VM stays where the operator put it, whatever the forecast says. */
static void test_runner_command_set_holds_against_the_forecast(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  inbound(f, "web/web1/command", "{\"request_id\":\"c1\",\"action\":\"set\",\"resource\":"
          "\"cpu\",\"value\":3,\"duration\":600}");
  feed(f, "web1", 3, 3.0, 3.2); /* would grow to 4 */
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 3);
}

static void test_runner_command_bad_value_replies_error_and_changes_nothing(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  assert_int_equal(inbound(f, "web/web1/command", "{\"request_id\":\"c2\",\"action\":"
                   "\"set\",\"resource\":\"cpu\",\"value\":\"abc\",\"duration\":60}"), 1);
  json_t *r = parse(find(f, "reply/c2", 0));
  assert_true(json_is_false(json_object_get(r, "ok")));
  assert_non_null(strstr(jstr(r, "error"), "value"));
  json_decref(r);
  assert_int_equal(count(f, "web/decision"), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
}

static void test_runner_command_hold_replies_without_decision(void **state) {
  rfx *f = *state;
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  assert_int_equal(inbound(f, "web/web1/command", "{\"request_id\":\"h1\",\"action\":"
                   "\"hold\",\"duration\":600}"), 0);
  json_t *r = parse(find(f, "reply/h1", 0));
  assert_true(json_is_true(json_object_get(r, "ok")));
  assert_true(json_is_null(json_object_get(r, "decision_id")));
  json_decref(r);
}

/* The held_until of vm's cpu in the last `web/<vm>/state`, or 0 when not held. */
static json_int_t held_cpu_until(const rfx *f, const char *vm) {
  char topic[128];
  snprintf(topic, sizeof(topic), "web/%s/state", vm);
  size_t n = count(f, topic);
  assert_true(n > 0);
  json_t *st = parse(find(f, topic, (int)n - 1));
  json_t *until = json_object_get(json_object_get(st, "held_until"), "cpu");
  json_int_t v = until == NULL ? 0 : json_integer_value(until);
  json_decref(st);
  return v;
}

/* web1 (2 vCPUs) and web2 (4) in set "web" of `capacity` vCPUs; the operator sets
 * web1's cpu to `value` by request `id`. Returns what act_runner_inbound returned. */
static int set_web1_in_a_tight_set(rfx *f, double capacity, const char *id, int value) {
  f->capacity_cpu = capacity;
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  feed(f, "web2", 4, 1.0, 3.0);
  char cmd[160];
  snprintf(cmd, sizeof(cmd), "{\"request_id\":\"%s\",\"action\":\"set\",\"resource\":"
           "\"cpu\",\"value\":%d,\"duration\":600}", id, value);
  return inbound(f, "web/web1/command", cmd);
}

/* A set the host set has no capacity for is refused, naming VM, resource and how much
 * is missing, and its override does not stay behind to rule the VM later. */
static void test_runner_command_set_beyond_capacity_is_refused_and_released(
    void **state) {
  rfx *f = *state;
  assert_int_equal(set_web1_in_a_tight_set(f, /* capacity = none free */ 6, "c3", 3), 1);
  json_t *r = parse(find(f, "reply/c3", 0));
  assert_true(json_is_false(json_object_get(r, "ok")));
  assert_true(json_is_null(json_object_get(r, "decision_id")));
  const char *why = jstr(r, "error");
  assert_non_null(strstr(why, "VM \"web1\""));
  assert_non_null(strstr(why, "cpu"));
  assert_non_null(strstr(why, "short by 1"));
  json_decref(r);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 2);
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(held_cpu_until(f, "web1"), 0);
}

/* Part of a set is not the set: what was granted stays, the reply says what is
 * missing, and the decision that granted the part is named. */
static void test_runner_command_set_granted_in_part_is_refused_with_its_decision(
    void **state) {
  rfx *f = *state;
  assert_int_equal(set_web1_in_a_tight_set(f, /* capacity = one free */ 7, "c4", 4), 1);
  json_t *r = parse(find(f, "reply/c4", 0));
  json_t *d = parse(find(f, "web/decision", 0));
  assert_true(json_is_false(json_object_get(r, "ok")));
  assert_int_equal(jint(r, "decision_id"), jint(d, "id"));
  assert_non_null(strstr(jstr(r, "error"), "short by 1"));
  json_decref(r);
  json_decref(d);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", LIVE), 3);
  act_runner_cycle(f->r, NOW + 10);
  assert_int_equal(held_cpu_until(f, "web1"), 0);
}

/* scale_out on the set's command topic clones the template and starts the clone. */
static void test_runner_command_scale_out_starts_a_clone(void **state) {
  rfx *f = *state;
  f->scale_template = "web-tmpl";
  start_runner(f);
  feed(f, "web1", 2, 0.5, 1.0);
  assert_int_equal(inbound(f, "web/command", "{\"request_id\":\"s1\",\"action\":"
                                             "\"scale_out\"}"), 0);
  assert_true(lvfx_exists(f->lv->conn, "web-tmpl-1"));
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web-tmpl-1", LIVE), 1);
}

static void test_runner_command_scale_out_without_template_is_refused(void **state) {
  rfx *f = *state;
  start_runner(f);
  assert_int_equal(inbound(f, "web/command", "{\"request_id\":\"s2\",\"action\":"
                                             "\"scale_out\"}"), 1);
  json_t *r = parse(find(f, "reply/s2", 0));
  assert_non_null(strstr(jstr(r, "error"), "no ScaleOutTemplate"));
  json_decref(r);
}

/* Our own replies come back on `reply/<id>`; with id "command" that looks like a set's
 * command topic, and must not be taken for one (it would answer itself forever). */
static void test_runner_reply_topic_is_not_a_command(void **state) {
  rfx *f = *state;
  start_runner(f);
  size_t before = f->n_msgs;
  assert_int_equal(inbound(f, "reply/command", "{\"request_id\":\"command\",\"ok\":true}"),
                   ACT_ENOENT);
  assert_int_equal(f->n_msgs, before);
}

static void test_runner_unknown_topic_is_not_taken(void **state) {
  rfx *f = *state;
  start_runner(f);
  assert_int_equal(inbound(f, "web/web1/forecast/cpu", "{}"), ACT_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_runner_cycle_applies_a_grow_to_the_domain),
      T(test_runner_decides_nothing_during_warm_up),
      T(test_runner_publishes_decision_then_result_with_one_id),
      T(test_runner_next_cycle_does_not_redo_an_applied_change),
      T(test_runner_dry_run_publishes_and_changes_nothing),
      T(test_runner_publishes_the_forecast_retained),
      T(test_runner_forecast_names_the_model),
      T(test_runner_forecast_memory_is_in_kib),
      T(test_runner_forecast_is_published_only_when_it_changed),
      T(test_runner_no_forecast_topic_without_points),
      T(test_runner_without_hypervisor_publishes_skipped),
      T(test_runner_loan_is_applied_and_recorded),
      T(test_runner_state_lists_the_vms_loans),
      T(test_runner_loan_is_repaid_at_expiry),
      T(test_runner_failed_decision_skips_the_rest_of_the_plan),
      T(test_runner_decision_ids_are_unique_across_restarts),
      T(test_runner_restart_rolls_back_a_half_applied_decision),
      T(test_runner_restart_keeps_outstanding_loans),
      T(test_runner_restart_keeps_a_hold),
      T(test_runner_restart_keeps_a_release),
      T(test_runner_restart_keeps_the_cooldown),
      T(test_runner_damaged_planner_file_is_logged_and_kept),
      T(test_runner_hold_not_persisted_is_refused),
      T(test_runner_policy_set_is_applied_and_answered),
      T(test_runner_persisted_policy_wins_at_start),
      T(test_runner_policy_set_refused_changes_nothing),
      T(test_runner_corrupt_persisted_policy_fails_start),
      T(test_runner_command_set_applies_and_replies_with_decision),
      T(test_runner_command_set_holds_against_the_forecast),
      T(test_runner_command_bad_value_replies_error_and_changes_nothing),
      T(test_runner_command_hold_replies_without_decision),
      T(test_runner_command_set_beyond_capacity_is_refused_and_released),
      T(test_runner_command_set_granted_in_part_is_refused_with_its_decision),
      T(test_runner_command_scale_out_starts_a_clone),
      T(test_runner_command_scale_out_without_template_is_refused),
      T(test_runner_reply_topic_is_not_a_command),
      T(test_runner_unknown_topic_is_not_taken),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
