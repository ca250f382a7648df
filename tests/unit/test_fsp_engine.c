/* test_fsp_engine.c -- plugins/fsp_engine.c and its table and store: step means,
 * late samples, forecasts after the first fit, RRD files (real librrd files in a
 * temporary DataDir, read back through libhistory), warm start after a restart,
 * host-set totals, concurrent writers, eviction of silent series (a fake clock drives
 * the timeout), and configuration errors. Most tests drive the
 * engine in manual mode (fsp_engine_pump) so they are deterministic; one runs the
 * threads. Series are synthetic: a daily sine plus a deterministic wobble. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "history/history.h"
#include "plugins/fsp_engine.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STEP 300
#define SLOT0 5000000 /* 2017-07-14: an epoch slot, so files get realistic times */
#define MAX_OUT 4096

#define assert_close(a, b, eps)                                                          \
  do {                                                                                   \
    double a_ = (a), b_ = (b);                                                           \
    if (!(fabs(a_ - b_) <= (eps)))                                                       \
      fail_msg("%s = %.9g, want %.9g (+- %g)", #a, a_, b_, (double)(eps));                \
  } while (0)

struct out {
  char host[64], metric[32], model[32];
  double origin_s;
  int n;
  fc_point p[FC_MAX_HORIZONS];
};

struct fixture {
  char dir[64];
  fsp_engine_config cfg;
  fsp_engine *e;
  pthread_mutex_t lock;
  struct out *out;
  int n_out;
  char err[512];
  _Atomic double now;     /* the engine's clock for the series timeout */
  char logs[16][256];     /* INFO lines with "evicted", in order */
  int n_logs;
  pthread_mutex_t hook_lock; /* on_fit: blocks vm1's fit until released */
  pthread_cond_t hook_cond;
  int in_fit, release_fit;
};

static double fake_clock(void *ctx) { return ((struct fixture *)ctx)->now; }

static void log_line(void *ctx, int level, const char *msg) {
  struct fixture *fx = ctx;
  pthread_mutex_lock(&fx->lock);
  if (level == FSP_LOG_INFO && strstr(msg, "evicted") != NULL && fx->n_logs < 16)
    snprintf(fx->logs[fx->n_logs++], sizeof(fx->logs[0]), "%s", msg);
  pthread_mutex_unlock(&fx->lock);
}

static void emit(void *ctx, const fsp_forecast_out *f) {
  struct fixture *fx = ctx;
  pthread_mutex_lock(&fx->lock);
  if (fx->n_out < MAX_OUT) {
    struct out *o = &fx->out[fx->n_out++];
    snprintf(o->host, sizeof(o->host), "%s", f->host);
    snprintf(o->metric, sizeof(o->metric), "%s", f->metric);
    snprintf(o->model, sizeof(o->model), "%s", f->model);
    o->origin_s = f->origin_s;
    o->n = f->n;
    memcpy(o->p, f->points, (size_t)f->n * sizeof(fc_point));
  }
  pthread_mutex_unlock(&fx->lock);
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof(*fx));
  if (fx == NULL || (fx->out = calloc(MAX_OUT, sizeof(*fx->out))) == NULL)
    return -1;
  strcpy(fx->dir, "/tmp/test_fsp_engine.XXXXXX");
  if (mkdtemp(fx->dir) == NULL)
    return -1;
  pthread_mutex_init(&fx->lock, NULL);
  pthread_mutex_init(&fx->hook_lock, NULL);
  pthread_cond_init(&fx->hook_cond, NULL);
  fsp_engine_config_default(&fx->cfg);
  fx->cfg.fc.history_slots = 2 * 288;
  fx->cfg.fc.backtest_slots = 144;
  fx->cfg.fc.kinds = FC_KIND_BIT(FC_KIND_NAIVE) | FC_KIND_BIT(FC_KIND_SNAIVE) |
                     FC_KIND_BIT(FC_KIND_ETS);
  fx->cfg.data_dir = fx->dir;
  fx->cfg.manual = 1;
  fx->cfg.emit = emit;
  fx->cfg.log = log_line;
  fx->cfg.clock = fake_clock;
  fx->cfg.ctx = fx;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  fsp_engine_destroy(fx->e);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
  if (system(cmd) != 0)
    return -1;
  pthread_mutex_destroy(&fx->lock);
  pthread_mutex_destroy(&fx->hook_lock);
  pthread_cond_destroy(&fx->hook_cond);
  free(fx->out);
  free(fx);
  return 0;
}

static void start(struct fixture *fx) {
  fx->e = fsp_engine_create(&fx->cfg, fx->err, sizeof(fx->err));
  if (fx->e == NULL || fsp_engine_start(fx->e, fx->err, sizeof(fx->err)) != 0)
    fail_msg("%s", fx->err);
}

static double wave(int64_t slot) {
  return 10.0 + 5.0 * sin(2 * M_PI * (double)slot / 288.0) + 0.3 * sin(0.7 * (double)slot);
}

/* One sample per step at the slot time, for slots [from, to). */
static void feed(struct fixture *fx, const char *vm, int64_t from, int64_t to, double scale) {
  for (int64_t k = from; k < to; k++)
    fsp_engine_add(fx->e, vm, "cpu", (double)k * STEP, scale * wave(k));
}

/* The usage file (ti NULL) under `source`, or the forecast file of horizon ti. */
static void path_of(struct fixture *fx, const char *vm, const char *source, const char *ti,
                    char *out) {
  int rc = ti == NULL ? fs_hist_path(out, 512, fx->dir, vm, source, NULL, "fs_usage", "cpu", NULL)
                      : fs_hist_path(out, 512, fx->dir, vm, "foresight_forecast", "cpu",
                                     "fs_forecast", ti, NULL);
  assert_int_equal(rc, 0);
}

static const struct out *last_out(struct fixture *fx, const char *host) {
  for (int i = fx->n_out - 1; i >= 0; i--)
    if (strcmp(fx->out[i].host, host) == 0)
      return &fx->out[i];
  return NULL;
}

/* ------------------------------------------------------------------ write path */

/* The mean of a step's samples is what the usage file gets at the step's time. */
static void test_step_mean_is_written_when_a_later_step_starts(void **state) {
  struct fixture *fx = *state;
  start(fx);
  int64_t k = SLOT0;
  fsp_engine_add(fx->e, "vm1", "cpu", k * STEP - 100, 1.0);
  fsp_engine_add(fx->e, "vm1", "cpu", k * STEP, 2.0);
  int bits = fsp_engine_add(fx->e, "vm1", "cpu", k * STEP + 140, 6.0);
  assert_false(bits & FSP_ADD_CLOSED);
  bits = fsp_engine_add(fx->e, "vm1", "cpu", k * STEP + 160, 0.5); /* slot k + 1 */
  assert_true(bits & FSP_ADD_CLOSED);
  fsp_engine_pump(fx->e);
  char path[512];
  path_of(fx, "vm1", "foresight_forecast", NULL, path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_int_equal((int64_t)last, k * STEP);
  fs_hist_series hs;
  assert_int_equal(fs_hist_fetch(path, last - STEP, last, &hs, NULL), 0);
  assert_close(hs.values[hs.n - 1], 3.0, 1e-9);
  fs_hist_series_free(&hs);
}

/* The usage file sits under the plugin its values came from, as rrdtool would put it. */
static void test_usage_file_goes_under_its_source_plugin(void **state) {
  struct fixture *fx = *state;
  start(fx);
  fsp_engine_add(fx->e, "vm1", "cpu", SLOT0 * STEP, 1.0);
  fsp_engine_set_source(fx->e, "vm1", "cpu", "foresight_replay");
  fsp_engine_add(fx->e, "vm1", "cpu", (SLOT0 + 1) * STEP, 1.0);
  fsp_engine_pump(fx->e);
  char path[512];
  path_of(fx, "vm1", "foresight_replay", NULL, path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_int_equal((int64_t)last, SLOT0 * STEP);
  path_of(fx, "vm1", "foresight_forecast", NULL, path);
  assert_int_equal(fs_hist_last(path, &last, NULL), FS_HIST_ENOENT);
}

static void test_sample_for_a_closed_step_is_late_and_dropped(void **state) {
  struct fixture *fx = *state;
  start(fx);
  fsp_engine_add(fx->e, "vm1", "cpu", SLOT0 * STEP, 1.0);
  fsp_engine_add(fx->e, "vm1", "cpu", (SLOT0 + 2) * STEP, 1.0);
  assert_int_equal(fsp_engine_add(fx->e, "vm1", "cpu", (SLOT0 + 1) * STEP, 9.0), FSP_ADD_LATE);
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.late, 1);
  assert_int_equal(st.values, 2);
}

static void test_nan_sample_is_ignored(void **state) {
  struct fixture *fx = *state;
  start(fx);
  assert_int_equal(fsp_engine_add(fx->e, "vm1", "cpu", SLOT0 * STEP, NAN), FSP_ADD_IGNORED);
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.series, 0);
}

/* ------------------------------------------------------------------ forecasts */

/* No forecast before the first fit; after it, one per closed step, every horizon, from
 * the newest closed step, with lo <= mean <= hi. */
static void test_forecasts_follow_the_first_fit_for_every_horizon(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 100, 1.0);
  fsp_engine_pump(fx->e);
  assert_int_equal(fx->n_out, 0); /* 99 closed steps: too few to fit */
  feed(fx, "vm1", SLOT0 + 100, SLOT0 + 600, 1.0);
  fsp_engine_pump(fx->e); /* the fit; its forecast is from the newest closed step */
  assert_int_equal(fx->n_out, 1);
  const struct out *o = &fx->out[0];
  assert_close(o->origin_s, (SLOT0 + 598) * (double)STEP, 0);
  assert_int_equal(o->n, 3);
  int want_h[3] = {1, 3, 12};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(o->p[i].h, want_h[i]);
    assert_true(o->p[i].lo <= o->p[i].mean && o->p[i].mean <= o->p[i].hi);
  }
  assert_true(o->model[0] != '\0');
  feed(fx, "vm1", SLOT0 + 600, SLOT0 + 610, 1.0);
  fsp_engine_pump(fx->e);
  assert_int_equal(fx->n_out, 1 + 10);
  assert_close(fx->out[fx->n_out - 1].origin_s, (SLOT0 + 608) * (double)STEP, 0);
}

/* A forecast file holds the band at the origin's time, as the value list. */
static void test_forecast_file_holds_the_band_at_the_target_time(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 620, 1.0);
  fsp_engine_pump(fx->e);
  feed(fx, "vm1", SLOT0 + 620, SLOT0 + 630, 1.0);
  fsp_engine_pump(fx->e);
  const struct out *o = last_out(fx, "vm1");
  assert_non_null(o);
  char path[512];
  path_of(fx, "vm1", NULL, "h3600", path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_close((double)last, o->origin_s, 0);
  fs_hist_series hs;
  assert_int_equal(fs_hist_fetch(path, last - STEP, last, &hs, NULL), 0);
  assert_int_equal(hs.n_ds, 3);
  assert_close(hs.values[(hs.n - 1) * 3 + 0], o->p[2].mean, 1e-9);
  assert_close(hs.values[(hs.n - 1) * 3 + 1], o->p[2].lo, 1e-9);
  assert_close(hs.values[(hs.n - 1) * 3 + 2], o->p[2].hi, 1e-9);
  fs_hist_series_free(&hs);
}

/* After a restart the series is rebuilt from its RRD file and forecasts come without
 * a single new sample. */
static void test_restart_rebuilds_from_history_and_forecasts_without_new_samples(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 1, 1.0);
  fsp_engine_set_source(fx->e, "vm1", "cpu", "foresight_replay");
  feed(fx, "vm1", SLOT0 + 1, SLOT0 + 600, 1.0);
  fsp_engine_pump(fx->e);
  fsp_engine_destroy(fx->e); /* stop: last flush */
  fx->e = NULL;
  fx->n_out = 0;
  start(fx);
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.warm_series, 1);
  fsp_engine_pump(fx->e);
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.warm_done, 1);
  assert_true(st.warm_slots >= 570);
  assert_int_equal(fx->n_out, 1);
  assert_string_equal(fx->out[0].host, "vm1");
  assert_close(fx->out[0].origin_s, (SLOT0 + 598) * (double)STEP, 0);
  /* and live samples continue the same series */
  feed(fx, "vm1", SLOT0 + 599, SLOT0 + 603, 1.0);
  fsp_engine_pump(fx->e);
  assert_close(fx->out[fx->n_out - 1].origin_s, (SLOT0 + 601) * (double)STEP, 0);
}

/* Steps that arrive before the warm start has read the file are kept and fed after
 * the history, not lost and not shadowing it. */
static void test_steps_during_warm_start_follow_the_history(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 600, 1.0);
  fsp_engine_pump(fx->e);
  fsp_engine_destroy(fx->e);
  fx->e = NULL;
  start(fx);
  feed(fx, "vm1", SLOT0 + 599, SLOT0 + 605, 1.0); /* before any pump */
  fsp_engine_pump(fx->e);
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.warm_done, 1);
  assert_int_equal(st.fits, 1);
  char path[512];
  path_of(fx, "vm1", "foresight_forecast", NULL, path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_int_equal((int64_t)last, (SLOT0 + 603) * STEP);
}

/* A host set's total forecasts the sum: its mean is the sum of the members' means. */
static void test_host_set_total_sums_member_forecasts(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 1, 1.0);
  feed(fx, "vm2", SLOT0, SLOT0 + 1, 2.0);
  fsp_engine_set_host_set(fx->e, "vm1", "cpu", "web");
  fsp_engine_set_host_set(fx->e, "vm2", "cpu", "web");
  feed(fx, "vm1", SLOT0 + 1, SLOT0 + 600, 1.0);
  feed(fx, "vm2", SLOT0 + 1, SLOT0 + 600, 2.0);
  fsp_engine_pump(fx->e); /* fits both */
  feed(fx, "vm1", SLOT0 + 600, SLOT0 + 602, 1.0);
  feed(fx, "vm2", SLOT0 + 600, SLOT0 + 602, 2.0);
  fsp_engine_pump(fx->e);
  const struct out *total = last_out(fx, "set-web");
  const struct out *a = last_out(fx, "vm1"), *b = last_out(fx, "vm2");
  assert_non_null(total);
  assert_close(total->origin_s, a->origin_s, 0);
  assert_close(total->origin_s, b->origin_s, 0);
  assert_string_equal(total->model, "sum");
  for (int i = 0; i < 3; i++)
    assert_close(total->p[i].mean, a->p[i].mean + b->p[i].mean, 1e-9);
}

/* ------------------------------------------------------------------ eviction */

#define TIMEOUT 3600.0

static fsp_engine_stats stats(struct fixture *fx) {
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  return st;
}

/* vm1 and vm2 with a full window and a fit at clock 0; then vm1 alone, one step per
 * pump, the clock at each of `times`. */
static void two_fitted_then_vm1_alone(struct fixture *fx, const double *times, int n) {
  fx->now = 0;
  feed(fx, "vm1", SLOT0, SLOT0 + 600, 1.0);
  feed(fx, "vm2", SLOT0, SLOT0 + 600, 2.0);
  fsp_engine_pump(fx->e);
  assert_int_equal(stats(fx).fits, 2);
  for (int i = 0; i < n; i++) {
    fx->now = times[i];
    feed(fx, "vm1", SLOT0 + 600 + i, SLOT0 + 601 + i, 1.0);
    fsp_engine_pump(fx->e);
  }
}

static void test_silent_series_stays_until_the_timeout(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  double times[] = {300, 1800, TIMEOUT - 1};
  two_fitted_then_vm1_alone(fx, times, 3);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.series, 2);
  assert_int_equal(st.evicted, 0);
  assert_int_equal(fx->n_logs, 0);
}

/* At the timeout the silent series goes, its memory is freed once the flush after it
 * ran (evicting back to 0), and the live one keeps forecasting. */
static void test_silent_series_is_evicted_at_the_timeout_and_freed(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  double times[] = {300, TIMEOUT - 1, TIMEOUT};
  two_fitted_then_vm1_alone(fx, times, 3);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.series, 1);
  assert_int_equal(st.evicted, 1);
  fsp_engine_pump(fx->e); /* the eviction's flush ran at the end of the last pump */
  st = stats(fx);
  assert_int_equal(st.evicting, 0);
  int before = fx->n_out;
  feed(fx, "vm1", SLOT0 + 603, SLOT0 + 604, 1.0);
  fsp_engine_pump(fx->e);
  assert_int_equal(fx->n_out, before + 1);
  assert_string_equal(fx->out[fx->n_out - 1].host, "vm1");
}

static void test_zero_timeout_never_evicts(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = 0;
  start(fx);
  double times[] = {TIMEOUT, 30 * 86400.0, 365 * 86400.0};
  two_fitted_then_vm1_alone(fx, times, 3);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.series, 2);
  assert_int_equal(st.evicted, 0);
}

/* Three VMs gone at once: one INFO line for the sweep, naming the count. */
static void test_a_sweep_logs_one_line_with_the_count(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  fx->now = 0;
  const char *vms[] = {"vm1", "vm2", "vm3", "vm4"};
  for (int i = 0; i < 4; i++)
    feed(fx, vms[i], SLOT0, SLOT0 + 3, 1.0);
  fsp_engine_pump(fx->e);
  fx->now = TIMEOUT;
  feed(fx, "vm4", SLOT0 + 3, SLOT0 + 4, 1.0);
  fsp_engine_pump(fx->e);
  assert_int_equal(stats(fx).evicted, 3);
  assert_int_equal(fx->n_logs, 1);
  assert_non_null(strstr(fx->logs[0], "evicted 3 series"));
}

/* The step that was open when the VM went silent is written to its usage file. */
static void test_evicted_series_open_step_is_written(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  fx->now = 0;
  feed(fx, "vm1", SLOT0, SLOT0 + 10, 1.0); /* slot SLOT0 + 9 stays open */
  fsp_engine_pump(fx->e);
  fx->now = TIMEOUT;
  fsp_engine_pump(fx->e);
  assert_int_equal(stats(fx).evicted, 1);
  char path[512];
  path_of(fx, "vm1", "foresight_forecast", NULL, path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_int_equal((int64_t)last, (SLOT0 + 9) * STEP);
  fs_hist_series hs;
  assert_int_equal(fs_hist_fetch(path, last - STEP, last, &hs, NULL), 0);
  assert_close(hs.values[hs.n - 1], wave(SLOT0 + 9), 1e-9);
  fs_hist_series_free(&hs);
}

/* The host set's total after a member's eviction is the other member alone. */
static void test_set_total_leaves_out_an_evicted_member(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  fx->now = 0;
  feed(fx, "vm1", SLOT0, SLOT0 + 1, 1.0);
  feed(fx, "vm2", SLOT0, SLOT0 + 1, 2.0);
  fsp_engine_set_host_set(fx->e, "vm1", "cpu", "web");
  fsp_engine_set_host_set(fx->e, "vm2", "cpu", "web");
  double times[] = {300, TIMEOUT, TIMEOUT + 300};
  two_fitted_then_vm1_alone(fx, times, 3);
  assert_int_equal(stats(fx).evicted, 1);
  const struct out *total = last_out(fx, "set-web"), *a = last_out(fx, "vm1");
  assert_non_null(total);
  assert_close(total->origin_s, a->origin_s, 0);
  for (int i = 0; i < 3; i++)
    assert_close(total->p[i].mean, a->p[i].mean, 1e-9);
}

/* A VM back after its eviction is a new series, rebuilt from its usage file: it
 * forecasts after 4 live steps where a new VM needs 144. */
static void test_returning_vm_is_rebuilt_from_its_file(void **state) {
  struct fixture *fx = *state;
  fx->cfg.series_timeout_s = TIMEOUT;
  start(fx);
  fx->now = 0;
  feed(fx, "vm1", SLOT0, SLOT0 + 600, 1.0);
  fsp_engine_pump(fx->e);
  fx->now = TIMEOUT;
  fsp_engine_pump(fx->e);
  fsp_engine_pump(fx->e);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.evicted, 1);
  assert_int_equal(st.evicting, 0);
  int before = fx->n_out;
  int bits = fsp_engine_add(fx->e, "vm1", "cpu", (SLOT0 + 612) * (double)STEP, wave(SLOT0 + 612));
  assert_true(bits & FSP_ADD_NEW);
  feed(fx, "vm1", SLOT0 + 613, SLOT0 + 617, 1.0);
  fsp_engine_pump(fx->e);
  st = stats(fx);
  assert_int_equal(st.rewarmed, 1);
  assert_int_equal(st.series, 1);
  assert_true(fx->n_out > before);
  assert_string_equal(fx->out[fx->n_out - 1].host, "vm1");
  assert_close(fx->out[fx->n_out - 1].origin_s, (SLOT0 + 615) * (double)STEP, 0);
}

/* A new VM (no file) is not counted as rebuilt and logs no warm start warning. */
static void test_new_vm_without_file_is_not_rebuilt(void **state) {
  struct fixture *fx = *state;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 5, 1.0);
  fsp_engine_pump(fx->e);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.rewarmed, 0);
  assert_int_equal(st.steps, 4);
  assert_int_equal(st.fit_failures, 0);
}

/* vm1's fit waits in on_fit until the test releases it (at most 20 s). */
static void hold_fit(void *ctx, const char *vm, const char *metric) {
  struct fixture *fx = ctx;
  (void)metric;
  if (strcmp(vm, "vm1") != 0)
    return;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&fx->hook_lock);
  fx->in_fit = 1;
  pthread_cond_broadcast(&fx->hook_cond);
  while (!fx->release_fit &&
         pthread_cond_timedwait(&fx->hook_cond, &fx->hook_lock, &until) == 0)
    ;
  pthread_mutex_unlock(&fx->hook_lock);
}

/* Polls `what` (a stats field) until it equals want, up to 20 s. */
#define WAIT_STAT(fx, what, want)                                                          do {                                                                                       for (int i_ = 0; i_ < 400 && stats(fx).what != (want); i_++)                               usleep(50 * 1000);                                                                     assert_int_equal(stats(fx).what, (want));                                              } while (0)

/* Evicted while a worker fits it: the series stays allocated until the fit is over,
 * the fit is dropped (no install, no forecast), then it is freed. ASan and valgrind
 * runs of this test are what catch a use after free. */
static void test_series_fitted_when_evicted_is_freed_after_the_fit(void **state) {
  struct fixture *fx = *state;
  fx->cfg.manual = 0;
  fx->cfg.flush_interval_s = 0.5; /* several stepper rounds between flushes */
  fx->cfg.series_timeout_s = 10;
  fx->cfg.on_fit = hold_fit;
  fx->now = 0;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 600, 1.0);
  pthread_mutex_lock(&fx->hook_lock);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  while (!fx->in_fit && pthread_cond_timedwait(&fx->hook_cond, &fx->hook_lock, &until) == 0)
    ;
  int in_fit = fx->in_fit;
  pthread_mutex_unlock(&fx->hook_lock);
  assert_true(in_fit);
  for (int i = 1; i <= 40 && stats(fx).evicted == 0; i++) { /* two sweeps a timeout apart */
    fx->now = 20.0 * i;
    usleep(100 * 1000);
  }
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.evicted, 1);
  assert_int_equal(st.series, 0);
  usleep(300 * 1000); /* flushes and reaps run meanwhile: the fit still holds it */
  assert_int_equal(stats(fx).evicting, 1);
  pthread_mutex_lock(&fx->hook_lock);
  fx->release_fit = 1;
  pthread_cond_broadcast(&fx->hook_cond);
  pthread_mutex_unlock(&fx->hook_lock);
  WAIT_STAT(fx, evicting, 0);
  fsp_engine_stop(fx->e);
  st = stats(fx);
  assert_int_equal(st.fits, 0);
  assert_int_equal(fx->n_out, 0);
  /* its open step, queued at eviction, was written before it was freed */
  char path[512];
  path_of(fx, "vm1", "foresight_forecast", NULL, path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_int_equal((int64_t)last, (SLOT0 + 599) * STEP);
}

struct churner {
  fsp_engine *e;
  int id;
  long created;
};

/* Each round a new generation of VM names, so the old ones fall silent and go. */
static void *churn(void *arg) {
  struct churner *c = arg;
  char vm[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(vm, sizeof(vm), "vm%d-g%d", (i + c->id) % 20, i / 2000);
    if (fsp_engine_add(c->e, vm, "cpu", (double)SLOT0 * STEP + i * 10.0, 1.0) & FSP_ADD_NEW)
      c->created++;
  }
  return NULL;
}

/* Writers creating series while the stepper evicts them: every series created is in
 * the table or evicted, and all evicted ones are freed in the end. */
static void test_writers_racing_the_sweep_account_for_every_series(void **state) {
  struct fixture *fx = *state;
  fx->cfg.manual = 0;
  fx->cfg.flush_interval_s = 0.05;
  fx->cfg.series_timeout_s = 1;
  fx->now = 0;
  start(fx);
  pthread_t t[3];
  struct churner c[3];
  for (int i = 0; i < 3; i++) {
    c[i] = (struct churner){fx->e, i * 7, 0};
    assert_int_equal(pthread_create(&t[i], NULL, churn, &c[i]), 0);
  }
  for (int k = 1; k <= 20; k++) { /* the clock runs while they write */
    fx->now = k;
    usleep(20 * 1000);
  }
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  long created = c[0].created + c[1].created + c[2].created;
  for (int k = 21; k <= 60 && stats(fx).series > 0; k++) { /* all fall silent */
    fx->now = k;
    usleep(50 * 1000);
  }
  WAIT_STAT(fx, evicting, 0);
  fsp_engine_stats st = stats(fx);
  assert_int_equal(st.series, 0);
  assert_int_equal(st.evicted, created);
  assert_true(created >= 20 * 10);
}

/* ------------------------------------------------------------------ threads */

struct writer {
  fsp_engine *e;
  int id;
};

static void *write_many(void *arg) {
  struct writer *w = arg;
  char vm[16];
  for (int i = 0; i < 20000; i++) {
    snprintf(vm, sizeof(vm), "vm%d", (i + w->id) % 50);
    fsp_engine_add(w->e, vm, "cpu", (double)SLOT0 * STEP + (i / 50) * 10.0, 1.0);
  }
  return NULL;
}

/* Four writers on 50 shared series: no sample is lost or counted twice. */
static void test_concurrent_writers_lose_no_sample(void **state) {
  struct fixture *fx = *state;
  start(fx);
  pthread_t t[4];
  struct writer w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct writer){fx->e, i * 7};
    assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  fsp_engine_stats st;
  fsp_engine_get_stats(fx->e, &st);
  assert_int_equal(st.series, 50);
  assert_int_equal(st.values + st.late, 4 * 20000);
}

/* With its threads, the engine fits, forecasts and writes files on its own. */
static void test_threaded_engine_forecasts_and_writes_files(void **state) {
  struct fixture *fx = *state;
  fx->cfg.manual = 0;
  fx->cfg.flush_interval_s = 0.2;
  start(fx);
  feed(fx, "vm1", SLOT0, SLOT0 + 600, 1.0);
  double want = (SLOT0 + 598) * (double)STEP; /* the newest closed step */
  for (int i = 0; i < 600; i++) {
    pthread_mutex_lock(&fx->lock);
    int done = fx->n_out > 0 && fx->out[fx->n_out - 1].origin_s == want;
    pthread_mutex_unlock(&fx->lock);
    if (done)
      break;
    usleep(50 * 1000);
  }
  fsp_engine_stop(fx->e);
  assert_true(fx->n_out >= 1);
  assert_close(fx->out[fx->n_out - 1].origin_s, want, 0);
  char path[512];
  path_of(fx, "vm1", NULL, "h300", path);
  time_t last;
  assert_int_equal(fs_hist_last(path, &last, NULL), 0);
  assert_close((double)last, fx->out[fx->n_out - 1].origin_s, 0);
}

/* ------------------------------------------------------------------ config */

static void test_bad_config_values_are_named(void **state) {
  struct fixture *fx = *state;
  fsp_engine_config c = fx->cfg;
  c.retrain_interval_s = 0;
  assert_null(fsp_engine_create(&c, fx->err, sizeof(fx->err)));
  assert_non_null(strstr(fx->err, "RetrainInterval"));
  c = fx->cfg;
  c.workers = 0;
  assert_null(fsp_engine_create(&c, fx->err, sizeof(fx->err)));
  assert_non_null(strstr(fx->err, "Workers 0"));
  c = fx->cfg;
  c.fc.confidence = 1.5;
  assert_null(fsp_engine_create(&c, fx->err, sizeof(fx->err)));
  assert_non_null(strstr(fx->err, "confidence 1.5"));
  double bad[] = {-1, 0.5, 366 * 86400.0, NAN};
  for (int i = 0; i < 4; i++) {
    c = fx->cfg;
    c.series_timeout_s = bad[i];
    assert_null(fsp_engine_create(&c, fx->err, sizeof(fx->err)));
    assert_non_null(strstr(fx->err, "SeriesTimeout"));
  }
  c = fx->cfg;
  c.series_timeout_s = 0;
  fsp_engine *e = fsp_engine_create(&c, fx->err, sizeof(fx->err));
  assert_non_null(e);
  fsp_engine_destroy(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_step_mean_is_written_when_a_later_step_starts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_usage_file_goes_under_its_source_plugin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sample_for_a_closed_step_is_late_and_dropped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nan_sample_is_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forecasts_follow_the_first_fit_for_every_horizon, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forecast_file_holds_the_band_at_the_target_time, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_rebuilds_from_history_and_forecasts_without_new_samples, setup, teardown),
      cmocka_unit_test_setup_teardown(test_steps_during_warm_start_follow_the_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_set_total_sums_member_forecasts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent_series_stays_until_the_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent_series_is_evicted_at_the_timeout_and_freed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_zero_timeout_never_evicts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_sweep_logs_one_line_with_the_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_evicted_series_open_step_is_written, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_total_leaves_out_an_evicted_member, setup, teardown),
      cmocka_unit_test_setup_teardown(test_returning_vm_is_rebuilt_from_its_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_new_vm_without_file_is_not_rebuilt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_series_fitted_when_evicted_is_freed_after_the_fit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writers_racing_the_sweep_account_for_every_series, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_writers_lose_no_sample, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threaded_engine_forecasts_and_writes_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_config_values_are_named, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
