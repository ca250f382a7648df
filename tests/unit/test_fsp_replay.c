/* test_fsp_replay.c -- plugins/fsp_replay.c: the time mapping of a replay (whole-week
 * shift, speed, no burst at begin), the Start/Days window, Loop, Copies, host sets,
 * units, and option errors. Each test writes a synthetic trace (rows every 300 s, values
 * a function of the row index) into a fresh temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plugins/fsp_replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER                                                                           \
  "timestamp,vm,cpu_pct,cpu_cores,mem_kb,mem_prov_kb,disk_read_kbps,disk_write_kbps,"     \
  "net_rx_kbps,net_tx_kbps\n"
#define T0 1372629804.0 /* first trace timestamp (a Bitbrains one) */
#define DAY 86400.0
#define WEEK FSP_WEEK_S
#define MAX_GOT 20000

/* cmocka 1.1's assert_float_equal compares floats: too coarse for epoch seconds */
#define assert_close(a, b, eps)                                                          \
  do {                                                                                   \
    double a_ = (a), b_ = (b);                                                           \
    if (!(fabs(a_ - b_) <= (eps)))                                                       \
      fail_msg("%s = %.9g, want %.9g (+- %g)", #a, a_, b_, (double)(eps));                \
  } while (0)

struct got {
  char host[80];
  char set[32];
  double ts, usage[FSP_N_METRICS], vcpus, mem_kb;
};

struct fixture {
  char dir[64];
  char files[4][256];
  int n_files;
  fsp_replay_opts opts;
  fsp_replay *r;
  struct got *got;
  int n_got;
  char err[512];
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  if (f == NULL || (f->got = calloc(MAX_GOT, sizeof(*f->got))) == NULL) {
    free(f);
    return -1;
  }
  strcpy(f->dir, "/tmp/test_fsp_replay.XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  fsp_replay_opts_default(&f->opts);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  fsp_replay_destroy(f->r);
  for (int i = 0; i < f->n_files; i++)
    unlink(f->files[i]);
  rmdir(f->dir);
  free(f->got);
  free(f);
  return 0;
}

/* Row i: timestamp T0 + 300 i, cpu_pct i % 100, 4 cores, mem i, prov 8192, disk 1 + 2,
 * net 3 + 4. */
static const char *write_trace(struct fixture *f, const char *vm, int n_rows) {
  char *path = f->files[f->n_files++];
  char buf[sizeof(f->files[0])];
  snprintf(buf, sizeof(buf), "%s/%s.csv", f->dir, vm);
  memcpy(path, buf, sizeof(buf));
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(HEADER, fp);
  for (int i = 0; i < n_rows; i++)
    fprintf(fp, "%.0f,%s,%d,4,%d,8192,1,2,3,4\n", T0 + 300.0 * i, vm, i % 100, i);
  assert_int_equal(fclose(fp), 0);
  return path;
}

static const char *write_text(struct fixture *f, const char *name, const char *text) {
  char *path = f->files[f->n_files++];
  char buf[sizeof(f->files[0])];
  snprintf(buf, sizeof(buf), "%s/%s", f->dir, name);
  memcpy(path, buf, sizeof(buf));
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
  return path;
}

static void create_ok(struct fixture *f, int n_files) {
  const char *files[4];
  for (int i = 0; i < n_files; i++)
    files[i] = f->files[i];
  f->r = fsp_replay_create(&f->opts, files, n_files, f->err, sizeof(f->err));
  if (f->r == NULL)
    fail_msg("%s", f->err);
}

static void collect(void *ctx, const fsp_sample *s) {
  struct fixture *f = ctx;
  assert_true(f->n_got < MAX_GOT);
  struct got *g = &f->got[f->n_got++];
  snprintf(g->host, sizeof(g->host), "%s", s->host);
  snprintf(g->set, sizeof(g->set), "%s", s->set != NULL ? s->set : "");
  g->ts = s->ts_s;
  memcpy(g->usage, s->usage, sizeof(g->usage));
  g->vcpus = s->vcpus;
  g->mem_kb = s->mem_kb;
}

static long run(struct fixture *f, double now) {
  return fsp_replay_run(f->r, now, collect, f);
}

/* The trace row index a stamped time came from, given that shifts are whole weeks. */
static double trace_offset_in_week(double ts) { return fmod(ts - T0, WEEK); }

/* ------------------------------------------------------------------ time mapping */

/* Stamped times are trace times moved by whole weeks (grid and weekly phase kept). */
static void test_timestamps_are_trace_times_shifted_by_whole_weeks(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  f->opts.speed = 600;
  create_ok(f, 1);
  double now = 1.7e9;
  fsp_replay_begin(f->r, now);
  assert_true(run(f, now + 60) > 0);
  for (int i = 0; i < f->n_got; i++) {
    double off = trace_offset_in_week(f->got[i].ts);
    assert_close(fmod(off, 300.0), 0.0, 1e-6);
  }
}

/* Replay starts at the window start, stamped within half a week of the daemon's
 * start, and sends no burst at begin. */
static void test_replay_starts_at_begin_time_without_a_burst(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  create_ok(f, 1);
  double now = 1.7e9 + 12345.0;
  fsp_replay_begin(f->r, now);
  long n0 = run(f, now);
  assert_true(n0 <= 1);
  run(f, now + 301);
  assert_true(f->n_got >= 1);
  assert_close(trace_offset_in_week(f->got[0].ts), 0.0, 1e-6); /* row 0 */
  assert_true(fabs(f->got[0].ts - now) <= WEEK / 2);
}

/* Speed S replays S trace seconds per wall second. */
static void test_speed_replays_that_many_trace_seconds_per_second(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  f->opts.speed = 3600;
  create_ok(f, 1);
  double now = 1.7e9;
  fsp_replay_begin(f->r, now);
  run(f, now);
  int before = f->n_got;
  run(f, now + 10.0); /* 10 trace hours: 120 rows of 300 s */
  assert_in_range(f->n_got - before, 119, 121);
  for (int i = 0; i < f->n_got; i++)
    assert_true(f->got[i].ts <= f->got[0].ts + 10.0 * 3600 + 1e-6);
}

/* A fixed Epoch makes a restarted replay continue after what the first run sent,
 * instead of starting over with older timestamps. */
static void test_fixed_epoch_continues_after_a_restart(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  f->opts.speed = 3600;
  f->opts.epoch_s = 1.7e9;
  create_ok(f, 1);
  fsp_replay_begin(f->r, 1.7e9);
  run(f, 1.7e9 + 20.0);
  double last_first_run = f->got[f->n_got - 1].ts;
  fsp_replay_destroy(f->r);
  f->r = NULL;
  create_ok(f, 1);
  int from = f->n_got;
  fsp_replay_begin(f->r, 1.7e9 + 25.0); /* restarted 5 s later */
  run(f, 1.7e9 + 30.0);
  assert_true(f->n_got > from);
  assert_true(f->got[from].ts > last_first_run);
}

/* ------------------------------------------------------------------ window, loop */

/* Start and Days bound the replayed rows; an exhausted VM is counted as done. */
static void test_start_and_days_bound_the_window(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  f->opts.speed = 1e6;
  f->opts.start_days = 7;
  f->opts.days = 2;
  create_ok(f, 1);
  /* begin when the shifted window start is exactly now: the whole window is replayed */
  double now = T0 + 7 * DAY + 100 * WEEK;
  fsp_replay_begin(f->r, now);
  run(f, now + 1.0);
  assert_int_equal(f->n_got, 2 * 288);
  double lo = f->got[0].ts, hi = f->got[f->n_got - 1].ts;
  assert_close(lo, now, 1e-6);
  assert_true(hi < now + 2 * DAY);
  assert_int_equal(fsp_replay_n_done(f->r), 1);
}

/* Loop repeats the window a whole number of weeks later, so stamps keep increasing and
 * keep the weekly phase. */
static void test_loop_repeats_the_window_whole_weeks_later(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 4 * 2016);
  f->opts.speed = 1e6;
  f->opts.days = 2;
  f->opts.loop = 1;
  create_ok(f, 1);
  double now = T0 + 100 * WEEK;
  fsp_replay_begin(f->r, now);
  run(f, now + 1.3); /* 1.3e6 s: two laps and a bit */
  assert_true(f->n_got > 2 * 2 * 288);
  for (int i = 1; i < f->n_got; i++)
    assert_true(f->got[i].ts > f->got[i - 1].ts);
  assert_close(f->got[2 * 288].ts - f->got[0].ts, WEEK, 1e-6);
  assert_close(f->got[2 * 288].usage[FSP_MEM], f->got[0].usage[FSP_MEM], 0);
  assert_int_equal(fsp_replay_n_done(f->r), 0);
}

/* ------------------------------------------------------------------ VMs */

/* Copies N replays each VM N times as "<vm>-c<i>" with the same values. */
static void test_copies_replay_each_vm_under_numbered_names(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 2016);
  f->opts.copies = 3;
  f->opts.speed = 300;
  create_ok(f, 1);
  assert_int_equal(fsp_replay_n_vms(f->r), 3);
  fsp_replay_begin(f->r, 1.7e9);
  run(f, 1.7e9 + 1.5);
  assert_int_equal(f->n_got % 3, 0);
  assert_true(f->n_got >= 3);
  assert_string_equal(f->got[0].host, "vm-a-c0");
  int k = f->n_got / 3;
  assert_string_equal(f->got[k].host, "vm-a-c1");
  assert_string_equal(f->got[2 * k].host, "vm-a-c2");
  assert_close(f->got[2 * k].ts, f->got[0].ts, 0);
  assert_close(f->got[2 * k].usage[FSP_MEM], f->got[0].usage[FSP_MEM], 0);
}

/* HostSet with a VM name applies to that VM only; without one to every VM. */
static void test_host_set_applies_to_named_vm_only(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 600);
  write_trace(f, "vm-b", 600);
  f->opts.speed = 300;
  create_ok(f, 2);
  assert_int_equal(fsp_replay_set_host_set(f->r, "all", NULL, f->err, sizeof(f->err)), 0);
  assert_int_equal(fsp_replay_set_host_set(f->r, "web", "vm-b", f->err, sizeof(f->err)), 0);
  fsp_replay_begin(f->r, T0 + 100 * WEEK);
  run(f, T0 + 100 * WEEK + 1.0);
  int seen_a = 0, seen_b = 0;
  for (int i = 0; i < f->n_got; i++) {
    if (strcmp(f->got[i].host, "vm-a") == 0) {
      assert_string_equal(f->got[i].set, "all");
      seen_a = 1;
    } else {
      assert_string_equal(f->got[i].set, "web");
      seen_b = 1;
    }
  }
  assert_true(seen_a && seen_b);
}

static void test_host_set_for_unknown_vm_is_an_error(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 600);
  create_ok(f, 1);
  assert_int_equal(fsp_replay_set_host_set(f->r, "web", "vm-z", f->err, sizeof(f->err)), -1);
  assert_non_null(strstr(f->err, "vm-z"));
}

/* Units of PROTOCOL.md section 0 and the allocation columns. */
static void test_sample_carries_usage_in_protocol_units_and_allocation(void **state) {
  struct fixture *f = *state;
  write_trace(f, "vm-a", 600);
  f->opts.speed = 1e6;
  create_ok(f, 1);
  double now = T0 + 100 * WEEK;
  fsp_replay_begin(f->r, now);
  run(f, now + 1.0);
  assert_true(f->n_got > 51);
  struct got *g = &f->got[51]; /* row 51: cpu_pct 51 of 4 cores */
  assert_close(g->usage[FSP_CPU], 0.51 * 4, 1e-12);
  assert_close(g->usage[FSP_MEM], 51.0, 0);
  assert_close(g->usage[FSP_DISK], 3.0, 0);
  assert_close(g->usage[FSP_NET], 7.0, 0);
  assert_close(g->vcpus, 4.0, 0);
  assert_close(g->mem_kb, 8192.0, 0);
}

/* An Azure trace (no core count) gives cpu as a fraction of one core and no alloc. */
static void test_azure_trace_gives_cpu_fraction_and_no_allocation(void **state) {
  struct fixture *f = *state;
  write_text(f, "az-1.csv", HEADER "0,az-1,50,,,,,,,\n300,az-1,25,,,,,,,\n");
  f->opts.speed = 1e6;
  create_ok(f, 1);
  fsp_replay_begin(f->r, 100 * WEEK);
  run(f, 100 * WEEK + 1.0);
  assert_int_equal(f->n_got, 2);
  assert_close(f->got[0].usage[FSP_CPU], 0.5, 1e-12);
  assert_true(isnan(f->got[0].usage[FSP_MEM]));
  assert_true(isnan(f->got[0].vcpus));
  assert_true(isnan(f->got[0].mem_kb));
}

/* ------------------------------------------------------------------ errors */

static void check_bad_option(fsp_replay_opts o, const char *key) {
  char err[256] = "";
  assert_int_equal(fsp_replay_opts_check(&o, err, sizeof(err)), -1);
  assert_non_null(strstr(err, key));
}

static void test_bad_options_are_named(void **state) {
  (void)state;
  fsp_replay_opts o;
  fsp_replay_opts_default(&o);
  char err[64];
  assert_int_equal(fsp_replay_opts_check(&o, err, sizeof(err)), 0);
  fsp_replay_opts bad = o;
  bad.speed = 0;
  check_bad_option(bad, "Speed 0");
  bad = o;
  bad.start_days = -1;
  check_bad_option(bad, "Start -1");
  bad = o;
  bad.days = -2;
  check_bad_option(bad, "Days -2");
  bad = o;
  bad.copies = 0;
  check_bad_option(bad, "Copies 0");
}

static void test_rows_out_of_time_order_are_rejected_naming_the_row(void **state) {
  struct fixture *f = *state;
  const char *p = write_text(f, "x.csv", HEADER "600,x,1,1,1,1,1,1,1,1\n300,x,1,1,1,1,1,1,1,1\n");
  const char *files[] = {p};
  f->r = fsp_replay_create(&f->opts, files, 1, f->err, sizeof(f->err));
  assert_null(f->r);
  assert_non_null(strstr(f->err, "row 3"));
}

static void test_window_without_rows_is_rejected(void **state) {
  struct fixture *f = *state;
  const char *p = write_trace(f, "vm-a", 288);
  f->opts.start_days = 3;
  const char *files[] = {p};
  f->r = fsp_replay_create(&f->opts, files, 1, f->err, sizeof(f->err));
  assert_null(f->r);
  assert_non_null(strstr(f->err, "Start 3"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_timestamps_are_trace_times_shifted_by_whole_weeks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replay_starts_at_begin_time_without_a_burst, setup, teardown),
      cmocka_unit_test_setup_teardown(test_speed_replays_that_many_trace_seconds_per_second, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fixed_epoch_continues_after_a_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_and_days_bound_the_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loop_repeats_the_window_whole_weeks_later, setup, teardown),
      cmocka_unit_test_setup_teardown(test_copies_replay_each_vm_under_numbered_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_set_applies_to_named_vm_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_set_for_unknown_vm_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sample_carries_usage_in_protocol_units_and_allocation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_azure_trace_gives_cpu_fraction_and_no_allocation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_options_are_named, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rows_out_of_time_order_are_rejected_naming_the_row, setup, teardown),
      cmocka_unit_test_setup_teardown(test_window_without_rows_is_rejected, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
