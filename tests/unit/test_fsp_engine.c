/* test_fsp_engine.c -- plugins/fsp_engine.c and its table and store: step means,
 * late samples, forecasts after the first fit, RRD files (real librrd files in a
 * temporary DataDir, read back through libhistory), warm start after a restart,
 * host-set totals, concurrent writers, and configuration errors. Most tests drive the
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
};

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
  fsp_engine_config_default(&fx->cfg);
  fx->cfg.fc.history_slots = 2 * 288;
  fx->cfg.fc.backtest_slots = 144;
  fx->cfg.fc.kinds = FC_KIND_BIT(FC_KIND_NAIVE) | FC_KIND_BIT(FC_KIND_SNAIVE) |
                     FC_KIND_BIT(FC_KIND_ETS);
  fx->cfg.data_dir = fx->dir;
  fx->cfg.manual = 1;
  fx->cfg.emit = emit;
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
      cmocka_unit_test_setup_teardown(test_concurrent_writers_lose_no_sample, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threaded_engine_forecasts_and_writes_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_config_values_are_named, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
