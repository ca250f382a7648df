/* test_alloc_sim.c -- the planner over a trace (tools/alloc_sim.c), on synthetic traces
 * written at test time: timeline, limits, the rows it writes, policy assignments.
 * Expected times come from the rules (resize.c), not from running the code: a steady
 * VM at 0.52 cores and ~1e6 KB, provisioned 4 vCPUs and 4 GiB, needs 1 vCPU, 0.55 cores
 * and 1024 MiB; BreakEven then shrinks it once (4 - need) / 4 of its mean allocation
 * per second has added up to BreakEven: 1500 s after 2000 s, i.e. at the 2100 s cycle
 * (cpu, mem: 0.75 per s), 3000 s after 3478 s, at the 3600 s cycle (cpu_quota: 0.8625
 * per s). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/alloc_sim.h"

#define T0 1372629600 /* a 300 s grid time */

typedef struct trace_spec {
  int days;
  int azure;              /* no provisioned sizes */
  int prov_change_slot;   /* from this slot mem_prov_kb is 524288 (-1: never) */
  int peak_hour;          /* each day, demand 1.8 cores for this hour (-1: none) */
} trace_spec;

typedef struct ctx {
  char path[512];
  char *buf;
  size_t len;
  FILE *out;
  ac_writer w;
  as_config cfg;
  as_totals tot;
  tr_vm vm;
  char err[512];
} ctx;

static double demand_cpu(const trace_spec *s, int k) {
  int slot_of_day = k % TR_DAY;
  if (s->peak_hour >= 0 && slot_of_day >= 12 * s->peak_hour && slot_of_day < 12 * (s->peak_hour + 1))
    return 1.8 + 0.005 * sin(k);
  return 0.52 + 0.005 * sin(k);
}

static void write_trace(ctx *c, const trace_spec *s) {
  const char *tmp = getenv("TMPDIR");
  snprintf(c->path, sizeof(c->path), "%s/test_alloc_sim.XXXXXX", tmp ? tmp : "/tmp");
  int fd = mkstemp(c->path);
  assert_true(fd >= 0);
  FILE *fp = fdopen(fd, "w");
  assert_non_null(fp);
  fputs("timestamp,vm,cpu_pct,cpu_cores,mem_kb,mem_prov_kb,disk_read_kbps,"
        "disk_write_kbps,net_rx_kbps,net_tx_kbps\n", fp);
  for (int k = 0; k < s->days * TR_DAY; k++) {
    double cpu = demand_cpu(s, k), mem = 1e6 + 1e4 * cos(k);
    long prov = s->prov_change_slot >= 0 && k >= s->prov_change_slot ? 524288 : 4194304;
    if (s->azure)
      fprintf(fp, "%d,az-1,%.6f,,,,,,,\n", T0 + 300 * k, 100 * cpu);
    else
      fprintf(fp, "%d,syn-1,%.6f,4,%.0f,%ld,1,1,1,1\n", T0 + 300 * k, cpu / 4 * 100, mem,
              prov);
  }
  assert_int_equal(fclose(fp), 0);
  assert_int_equal(tr_vm_load(c->path, &c->vm, c->err, sizeof(c->err)), 0);
}

static int setup(void **state) {
  ctx *c = calloc(1, sizeof(*c));
  c->out = open_memstream(&c->buf, &c->len);
  ac_writer_start(&c->w, c->out);
  as_config_default(&c->cfg);
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  fclose(c->out);
  free(c->buf);
  tr_vm_free(&c->vm);
  if (c->path[0] != '\0')
    unlink(c->path);
  free(c);
  return 0;
}

/* The value of the n-th row (0-based) of `resource`, and its ts; -1 when absent. */
static int row_of(ctx *c, const char *resource, int n, int64_t *ts, char *value,
                  size_t value_len) {
  fflush(c->out);
  char res[32], val[64], vm[64];
  int64_t t;
  const char *p = strchr(c->buf, '\n') + 1; /* after the header */
  for (; *p; p = strchr(p, '\n') + 1) {
    if (sscanf(p, "%63[^,],%31[^,],%" SCNd64 ",%63[^\n]", vm, res, &t, val) != 4)
      return -1;
    if (strcmp(res, resource) == 0 && n-- == 0) {
      *ts = t;
      snprintf(value, value_len, "%s", val);
      return 0;
    }
  }
  return -1;
}

static int64_t slot_ts(const ctx *c, int i) { return tr_slot_ts(&c->vm, i); }
static int first_decision(const ctx *c) { return tr_cut(&c->vm) - TR_TRAIN_SLOTS; }

static void expect_row(ctx *c, const char *resource, int n, int slot, const char *value) {
  int64_t ts;
  char val[64];
  assert_int_equal(row_of(c, resource, n, &ts, val, sizeof(val)), 0);
  assert_int_equal(ts, slot_ts(c, slot));
  assert_string_equal(val, value);
}

static void test_alloc_sim_starts_with_the_provisioned_size(void **state) {
  ctx *c = *state;
  write_trace(c, &(trace_spec){.days = 30, .prov_change_slot = -1, .peak_hour = -1});
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  int first = first_decision(c);
  expect_row(c, "cpu", 0, first, "4");
  expect_row(c, "cpu_quota", 0, first, "4");
  expect_row(c, "mem", 0, first, "4194304");
  assert_int_equal(c->tot.vms, 1);
}

static void test_alloc_sim_shrinks_a_steady_vm_once_the_waste_pays(void **state) {
  ctx *c = *state;
  write_trace(c, &(trace_spec){.days = 30, .prov_change_slot = -1, .peak_hour = -1});
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  int first = first_decision(c);
  expect_row(c, "cpu", 1, first + 7, "1");
  expect_row(c, "cpu_quota", 1, first + 12, "0.55");
  expect_row(c, "mem", 1, first + 7, "1048576");
}

/* A steady VM, once sized, is left alone: no more rows. */
static void test_alloc_sim_writes_only_changes(void **state) {
  ctx *c = *state;
  write_trace(c, &(trace_spec){.days = 30, .prov_change_slot = -1, .peak_hour = -1});
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  int64_t ts;
  char val[64];
  assert_int_equal(row_of(c, "cpu", 2, &ts, val, sizeof(val)), -1);
  assert_int_equal(row_of(c, "mem", 2, &ts, val, sizeof(val)), -1);
  assert_int_equal(c->tot.rows, 6);
  assert_int_equal(c->tot.test_resizes[AC_CPU], 0);
}

/* The decision of slot t must be allowed at t+1: when the provisioned memory drops to
 * 512 MiB at slot p, the decision at p - 1 already brings the VM down to it. */
static void test_alloc_sim_keeps_within_the_next_slots_limits(void **state) {
  ctx *c = *state;
  trace_spec s = {.days = 30, .peak_hour = -1};
  s.prov_change_slot = 30 * TR_DAY - 1 - TR_TEST_SLOTS - TR_TRAIN_SLOTS + 3; /* first + 3 */
  write_trace(c, &s);
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  int first = first_decision(c);
  expect_row(c, "mem", 1, first + 2, "524288");
}

/* A peak the VM has shown every day for three weeks is met when it comes: in the
 * test week, the allocation in force at each slot of the peak hour covers it. */
static void test_alloc_sim_grows_ahead_of_a_daily_peak(void **state) {
  ctx *c = *state;
  trace_spec s = {.days = 30, .prov_change_slot = -1, .peak_hour = 9};
  write_trace(c, &s);
  c->cfg.resources = 1u << AC_CPU_QUOTA;
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  int cut = tr_cut(&c->vm), under = 0, peak_slots = 0;
  for (int i = cut + 1; i < c->vm.n; i++) {
    int slot_of_day = (int)((c->vm.slot0 + i) % TR_DAY);
    if (slot_of_day < 12 * 9 || slot_of_day >= 12 * 10)
      continue;
    /* the allocation in force at i: the last row decided before i */
    double alloc = NAN;
    int64_t ts;
    char val[64];
    for (int n = 0; row_of(c, "cpu_quota", n, &ts, val, sizeof(val)) == 0; n++)
      if (ts < slot_ts(c, i))
        alloc = atof(val);
    peak_slots++;
    under += c->vm.series[TR_CPU][i] > alloc + 1e-9;
  }
  assert_int_equal(peak_slots, 7 * 12);
  assert_int_equal(under, 0);
}

static void test_alloc_sim_skips_a_vm_without_provisioned_sizes(void **state) {
  ctx *c = *state;
  write_trace(c, &(trace_spec){.days = 30, .azure = 1, .prov_change_slot = -1,
                               .peak_hour = -1});
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), 0);
  assert_int_equal(c->tot.skipped, 1);
  assert_int_equal(c->tot.vms, 0);
  assert_int_equal(c->w.rows, 0);
}

static void test_alloc_sim_rejects_a_trace_shorter_than_the_protocol(void **state) {
  ctx *c = *state;
  write_trace(c, &(trace_spec){.days = 10, .prov_change_slot = -1, .peak_hour = -1});
  assert_int_equal(as_run_vm(&c->cfg, &c->vm, &c->w, &c->tot, c->err, sizeof(c->err)), -1);
  assert_non_null(strstr(c->err, "shorter than the protocol's 22 days"));
}

static void test_alloc_sim_sets_a_key_for_one_resource(void **state) {
  ctx *c = *state;
  assert_int_equal(as_config_set(&c->cfg, "cpu.BreakEven=600", c->err, sizeof(c->err)), 0);
  assert_float_equal(c->cfg.policy[AC_CPU].res[ACT_CPU].break_even, 600, 1e-9);
  assert_float_equal(c->cfg.policy[AC_MEM].res[ACT_MEMORY].break_even, 1500, 1e-9);
  assert_float_equal(c->cfg.policy[AC_CPU_QUOTA].res[ACT_CPU_QUOTA].break_even, 3000, 1e-9);
}

static void test_alloc_sim_sets_a_key_for_every_resource(void **state) {
  ctx *c = *state;
  assert_int_equal(as_config_set(&c->cfg, "PlanHorizon=1800", c->err, sizeof(c->err)), 0);
  for (int r = 0; r < AC_N_RESOURCES; r++)
    assert_int_equal(c->cfg.policy[r].horizon_s, 1800);
  assert_int_equal(as_config_set(&c->cfg, "mem.Confidence=0.6", c->err, sizeof(c->err)), 0);
  assert_float_equal(c->cfg.confidence[AC_MEM], 0.6, 1e-12);
}

/* The planner's own validation names the key and value. */
static void test_alloc_sim_refuses_an_invalid_policy_value(void **state) {
  ctx *c = *state;
  assert_int_equal(as_config_set(&c->cfg, "Threshold=1.5", c->err, sizeof(c->err)), -1);
  assert_string_equal(c->err,
                      "Threshold=1.5: HostSet \"cpu\": Threshold cpu 1.5 (must be in (0, 1])");
  assert_float_equal(c->cfg.policy[AC_CPU].res[ACT_CPU].threshold, 1.0, 1e-12);
}

static void test_alloc_sim_refuses_unknown_keys_and_resources(void **state) {
  ctx *c = *state;
  assert_int_equal(as_config_set(&c->cfg, "Bogus=1", c->err, sizeof(c->err)), -1);
  assert_non_null(strstr(c->err, "unknown key \"Bogus\""));
  assert_int_equal(as_config_set(&c->cfg, "gpu.Threshold=1", c->err, sizeof(c->err)), -1);
  assert_non_null(strstr(c->err, "unknown resource \"gpu\""));
  assert_int_equal(as_config_set(&c->cfg, "Confidence=1", c->err, sizeof(c->err)), -1);
  assert_non_null(strstr(c->err, "Confidence must be in (0, 1)"));
  assert_int_equal(as_config_set(&c->cfg, "Cooldown=1.5", c->err, sizeof(c->err)), -1);
  assert_non_null(strstr(c->err, "whole number of seconds"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_alloc_sim_starts_with_the_provisioned_size),
      T(test_alloc_sim_shrinks_a_steady_vm_once_the_waste_pays),
      T(test_alloc_sim_writes_only_changes),
      T(test_alloc_sim_keeps_within_the_next_slots_limits),
      T(test_alloc_sim_grows_ahead_of_a_daily_peak),
      T(test_alloc_sim_skips_a_vm_without_provisioned_sizes),
      T(test_alloc_sim_rejects_a_trace_shorter_than_the_protocol),
      T(test_alloc_sim_sets_a_key_for_one_resource),
      T(test_alloc_sim_sets_a_key_for_every_resource),
      T(test_alloc_sim_refuses_an_invalid_policy_value),
      T(test_alloc_sim_refuses_unknown_keys_and_resources),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
