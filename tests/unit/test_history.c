/* test_history.c -- libhistory on real RRD files, each test in a fresh temporary
 * folder. Expected values come from what the test wrote and from RRD's documented
 * semantics (a GAUGE sample covers the time since the previous one; a row is the time
 * weighted average of its step), never from a previous run. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
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
#include <rrd.h>

#include "history/history.h"

enum { STEP = 300 };
/* a multiple of every step used here (300, 60, 3600 and 86400 s) */
static const time_t T0 = 1700006400;

typedef struct hfx {
  char dir[64];
  char path[256];
  fs_hist_layout layout;
  fs_hist_error err;
} hfx;

static const char *const one_ds[] = {"value"};
static const char *const three_ds[] = {"mean", "lo", "hi"};

static int setup(void **state) {
  hfx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  strcpy(f->dir, "/tmp/fs_hist_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/vm1/foresight_virt/fs_usage-cpu.rrd", f->dir);
  assert_int_equal(fs_hist_layout_init(&f->layout, STEP, 1, one_ds, &f->err), 0);
  *state = f;
  return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown(void **state) {
  hfx *f = *state;
  nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* A file with layout l at f->path whose first accepted sample is at T0. */
static void make_file(hfx *f, const fs_hist_layout *l) {
  assert_int_equal(fs_hist_ensure(f->path, l, T0, &f->err), 1);
}

/* Looks up an rrd_info_r key of type CNT; -1 when absent. */
static long info_cnt(rrd_info_t *info, const char *key) {
  for (rrd_info_t *p = info; p != NULL; p = p->next)
    if (strcmp(p->key, key) == 0 && p->type == RD_I_CNT)
      return (long)p->value.u_cnt;
  return -1;
}

static const char *info_str(rrd_info_t *info, const char *key) {
  for (rrd_info_t *p = info; p != NULL; p = p->next)
    if (strcmp(p->key, key) == 0 && p->type == RD_I_STR)
      return p->value.u_str;
  return NULL;
}

/* Rows of the archive with this cf and pdp_per_row; -1 when there is none. */
static long archive_rows(rrd_info_t *info, const char *cf, long pdp_per_row) {
  char key[64];
  for (int i = 0;; i++) {
    snprintf(key, sizeof(key), "rra[%d].cf", i);
    const char *got = info_str(info, key);
    if (got == NULL)
      return -1;
    snprintf(key, sizeof(key), "rra[%d].pdp_per_row", i);
    if (strcmp(got, cf) == 0 && info_cnt(info, key) == pdp_per_row) {
      snprintf(key, sizeof(key), "rra[%d].rows", i);
      return info_cnt(info, key);
    }
  }
}

/* ---- paths ---- */

static void test_path_has_collectd_layout(void **state) {
  hfx *f = *state;
  char out[256];
  assert_int_equal(fs_hist_path(out, sizeof(out), "/var/lib/collectd", "vm1",
                                "foresight_forecast", "cpu", "fs_forecast", "h3600", &f->err),
                   0);
  assert_string_equal(out,
                      "/var/lib/collectd/vm1/foresight_forecast-cpu/fs_forecast-h3600.rrd");
}

static void test_path_omits_null_and_empty_instances(void **state) {
  hfx *f = *state;
  char a[256], b[256];
  assert_int_equal(
      fs_hist_path(a, sizeof(a), "/d", "vm1", "foresight_virt", NULL, "fs_usage", NULL, &f->err),
      0);
  assert_string_equal(a, "/d/vm1/foresight_virt/fs_usage.rrd");
  assert_int_equal(
      fs_hist_path(b, sizeof(b), "/d", "vm1", "foresight_virt", "", "fs_usage", "", &f->err), 0);
  assert_string_equal(b, a);
}

static void test_path_rejects_a_slash_in_a_name(void **state) {
  hfx *f = *state;
  char out[256] = "x";
  assert_int_equal(fs_hist_path(out, sizeof(out), "/d", "vm/1", "p", NULL, "t", NULL, &f->err),
                   FS_HIST_EINVAL);
  assert_int_equal(f->err.code, FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "host \"vm/1\""));
  assert_string_equal(out, "");
}

static void test_path_rejects_dot_dot_in_an_instance(void **state) {
  hfx *f = *state;
  char out[256];
  assert_int_equal(fs_hist_path(out, sizeof(out), "/d", "vm1", "p", NULL, "t", "..", &f->err),
                   FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "type instance"));
  assert_int_equal(fs_hist_path(out, sizeof(out), "/d", "vm1", "p", "a..b", "t", NULL, &f->err),
                   FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "plugin instance"));
}

static void test_path_rejects_an_empty_required_name(void **state) {
  hfx *f = *state;
  char out[256];
  assert_int_equal(fs_hist_path(out, sizeof(out), "/d", "vm1", "", NULL, "t", NULL, &f->err),
                   FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "plugin"));
  assert_int_equal(fs_hist_path(out, sizeof(out), "/d", "vm1", "p", NULL, NULL, NULL, &f->err),
                   FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "type"));
}

static void test_path_reports_a_short_buffer(void **state) {
  hfx *f = *state;
  char out[16];
  assert_int_equal(fs_hist_path(out, sizeof(out), "/var/lib/collectd", "vm1", "p", NULL, "t",
                                NULL, &f->err),
                   FS_HIST_ENOSPC);
  assert_string_equal(out, "");
}

/* ---- layout ---- */

static void test_layout_default_keeps_fourteen_days_native(void **state) {
  hfx *f = *state;
  assert_int_equal(f->layout.native_rows, 14 * 86400 / STEP); /* 4032 */
  fs_hist_layout fine;
  assert_int_equal(fs_hist_layout_init(&fine, 10, 1, one_ds, &f->err), 0);
  assert_int_equal(fine.native_rows, 14 * 86400 / 10);
}

static void test_layout_default_has_hour_and_day_archives(void **state) {
  hfx *f = *state;
  assert_int_equal(f->layout.n_coarse, 2);
  assert_int_equal(f->layout.coarse[0].step_s, 3600);
  assert_true(f->layout.coarse[0].rows * 3600 >= 90 * 86400);
  assert_int_equal(f->layout.coarse[1].step_s, 86400);
  assert_true(f->layout.coarse[1].rows * 86400 >= 2 * 365 * 86400);
}

static void test_layout_leaves_out_an_archive_not_coarser(void **state) {
  hfx *f = *state;
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, 7200, 1, one_ds, &f->err), 0);
  assert_int_equal(l.n_coarse, 1);
  assert_int_equal(l.coarse[0].step_s, 86400);
}

static void test_layout_rejects_a_bad_data_source_name(void **state) {
  hfx *f = *state;
  const char *const bad[] = {"mean", "l-o"};
  fs_hist_layout l = f->layout;
  assert_int_equal(fs_hist_layout_init(&l, STEP, 2, bad, &f->err), FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "\"l-o\""));
  assert_memory_equal(&l, &f->layout, sizeof(l)); /* unchanged */
}

static void test_layout_rejects_a_coarse_step_not_a_multiple(void **state) {
  hfx *f = *state;
  f->layout.coarse[0].step_s = 1000;
  assert_int_equal(fs_hist_layout_validate(&f->layout, &f->err), FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "1000"));
}

/* ---- ensure ---- */

static void test_ensure_creates_the_file_and_its_folders(void **state) {
  hfx *f = *state;
  assert_int_equal(fs_hist_ensure(f->path, &f->layout, T0, &f->err), 1);
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void test_ensure_accepts_a_compatible_file(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  fs_hist_layout other = f->layout;
  other.native_rows = 100; /* row counts may differ */
  other.n_coarse = 0;
  assert_int_equal(fs_hist_ensure(f->path, &other, T0 + 86400, &f->err), 0);
}

static void test_ensure_names_a_step_mismatch(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, 60, 1, one_ds, &f->err), 0);
  assert_int_equal(fs_hist_ensure(f->path, &l, T0, &f->err), FS_HIST_ECOMPAT);
  assert_int_equal(f->err.code, FS_HIST_ECOMPAT);
  assert_non_null(strstr(f->err.msg, "step 300 s, want 60 s"));
  assert_non_null(strstr(f->err.msg, f->path));
}

static void test_ensure_names_a_data_source_mismatch(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  const char *const other[] = {"mean"};
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, STEP, 1, other, &f->err), 0);
  assert_int_equal(fs_hist_ensure(f->path, &l, T0, &f->err), FS_HIST_ECOMPAT);
  assert_non_null(strstr(f->err.msg, "\"value\", want \"mean\""));
}

static void test_ensure_names_a_data_source_count_mismatch(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, STEP, 3, three_ds, &f->err), 0);
  assert_int_equal(fs_hist_ensure(f->path, &l, T0, &f->err), FS_HIST_ECOMPAT);
  assert_non_null(strstr(f->err.msg, "1 data sources, want 3"));
}

static void test_ensure_keeps_an_incompatible_file(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  struct stat before, after;
  assert_int_equal(stat(f->path, &before), 0);
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, 60, 1, one_ds, &f->err), 0);
  assert_int_equal(fs_hist_ensure(f->path, &l, T0, &f->err), FS_HIST_ECOMPAT);
  assert_int_equal(stat(f->path, &after), 0);
  assert_int_equal(before.st_size, after.st_size);
  assert_int_equal(before.st_ino, after.st_ino);
}

static void test_ensure_native_rows_follow_the_layout(void **state) {
  hfx *f = *state;
  f->layout.native_rows = 5000;
  make_file(f, &f->layout);
  rrd_info_t *info = rrd_info_r(f->path);
  assert_non_null(info);
  assert_int_equal(info_cnt(info, "step"), STEP);
  long rows = archive_rows(info, "AVERAGE", 1);
  rrd_info_free(info);
  assert_int_equal(rows, 5000);
}

static void test_ensure_default_native_archive_covers_the_window(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  rrd_info_t *info = rrd_info_r(f->path);
  assert_non_null(info);
  long rows = archive_rows(info, "AVERAGE", 1);
  rrd_info_free(info);
  assert_true(rows * STEP >= 14 * 86400);
}

static void test_ensure_creates_coarse_average_min_max(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  rrd_info_t *info = rrd_info_r(f->path);
  assert_non_null(info);
  const char *cfs[] = {"AVERAGE", "MIN", "MAX"};
  for (int c = 0; c < 3; c++) {
    assert_int_equal(archive_rows(info, cfs[c], 3600 / STEP), 2160);
    assert_int_equal(archive_rows(info, cfs[c], 86400 / STEP), 730);
  }
  assert_string_equal(info_str(info, "ds[value].type"), "GAUGE");
  assert_int_equal(info_cnt(info, "ds[value].minimal_heartbeat"), 2 * STEP);
  rrd_info_free(info);
}

static void test_ensure_rejects_an_invalid_layout(void **state) {
  hfx *f = *state;
  f->layout.native_rows = 1;
  assert_int_equal(fs_hist_ensure(f->path, &f->layout, T0, &f->err), FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "native_rows"));
  assert_int_equal(access(f->path, F_OK), -1);
}

/* ---- update, fetch, last ---- */

static double wave(int i, int d) { return 10.0 * d + 3.0 + sin(0.3 * i) + 0.001 * i; }

/* Writes samples i = 0..n-1 at T0 + i*STEP with wave(i, d). */
static void write_wave(hfx *f, int n, size_t n_ds) {
  time_t *t = malloc((size_t)n * sizeof(*t));
  double *v = malloc((size_t)n * n_ds * sizeof(*v));
  assert_non_null(t);
  assert_non_null(v);
  for (int i = 0; i < n; i++) {
    t[i] = T0 + (time_t)i * STEP;
    for (size_t d = 0; d < n_ds; d++)
      v[(size_t)i * n_ds + d] = wave(i, (int)d);
  }
  size_t skipped = 99;
  assert_int_equal(fs_hist_update(f->path, (size_t)n, t, v, n_ds, &skipped, &f->err), n);
  assert_int_equal(skipped, 0);
  free(t);
  free(v);
}

static void test_update_then_fetch_returns_the_values_at_their_slots(void **state) {
  hfx *f = *state;
  fs_hist_layout l;
  assert_int_equal(fs_hist_layout_init(&l, STEP, 3, three_ds, &f->err), 0);
  make_file(f, &l);
  write_wave(f, 48, 3);
  fs_hist_series s;
  /* rows ending in (T0 - STEP, T0 + 47 STEP]: exactly the 48 samples */
  assert_int_equal(fs_hist_fetch(f->path, T0 - STEP, T0 + 47 * STEP, &s, &f->err), 0);
  assert_int_equal(s.step_s, STEP);
  assert_int_equal(s.start, T0);
  assert_int_equal(s.n, 48);
  assert_int_equal(s.n_ds, 3);
  assert_string_equal(s.ds_names[0], "mean");
  assert_string_equal(s.ds_names[2], "hi");
  for (int i = 0; i < 48; i++)
    for (int d = 0; d < 3; d++)
      assert_float_equal(s.values[i * 3 + d], wave(i, d), 1e-9);
  fs_hist_series_free(&s);
  assert_null(s.values);
}

static void test_fetch_of_a_middle_range_starts_after_from(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  write_wave(f, 20, 1);
  fs_hist_series s;
  /* from and to inside steps: rows ending in (T0+5.5 STEP, T0+9.2 STEP] -> 6..10 */
  assert_int_equal(fs_hist_fetch(f->path, T0 + 5 * STEP + 150, T0 + 9 * STEP + 60, &s,
                                 &f->err),
                   0);
  assert_int_equal(s.start, T0 + 6 * STEP);
  assert_int_equal(s.n, 5);
  for (int i = 0; i < 5; i++)
    assert_float_equal(s.values[i], wave(6 + i, 0), 1e-9);
  fs_hist_series_free(&s);
}

static void test_nan_comes_back_as_unknown(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  time_t t[6];
  double v[6] = {1, 2, NAN, NAN, 5, 6};
  for (int i = 0; i < 6; i++)
    t[i] = T0 + i * STEP;
  assert_int_equal(fs_hist_update(f->path, 6, t, v, 1, NULL, &f->err), 6);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 - STEP, T0 + 5 * STEP, &s, &f->err), 0);
  assert_int_equal(s.n, 6);
  for (int i = 0; i < 6; i++) {
    if (isnan(v[i]))
      assert_true(isnan(s.values[i]));
    else
      assert_float_equal(s.values[i], v[i], 1e-12);
  }
  fs_hist_series_free(&s);
}

/* A gap longer than the heartbeat (2 steps) leaves its steps unknown. */
static void test_missing_samples_beyond_heartbeat_are_unknown(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  time_t t[] = {T0, T0 + STEP, T0 + 5 * STEP, T0 + 6 * STEP};
  double v[] = {1, 2, 6, 7};
  assert_int_equal(fs_hist_update(f->path, 4, t, v, 1, NULL, &f->err), 4);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 - STEP, T0 + 6 * STEP, &s, &f->err), 0);
  assert_int_equal(s.n, 7);
  assert_float_equal(s.values[1], 2, 1e-12);
  for (int i = 2; i <= 5; i++)
    assert_true(isnan(s.values[i]));
  assert_float_equal(s.values[6], 7, 1e-12);
  fs_hist_series_free(&s);
}

/* A GAUGE sample at t holds since the previous sample: with samples 100 s after each
 * step boundary, the row ending at k*STEP is (100 v[k-1] + 200 v[k]) / 300. */
static void test_unaligned_samples_average_by_time(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  enum { N = 8 };
  time_t t[N];
  double v[N];
  for (int i = 0; i < N; i++) {
    t[i] = T0 + i * STEP + 100;
    v[i] = 10.0 * (i + 1) + (i % 3);
  }
  assert_int_equal(fs_hist_update(f->path, N, t, v, 1, NULL, &f->err), N);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 + STEP, T0 + (N - 1) * STEP, &s, &f->err), 0);
  assert_int_equal(s.start, T0 + 2 * STEP);
  for (size_t r = 0; r < s.n; r++) {
    int k = (int)((s.start - T0) / STEP + (time_t)r); /* row ends at T0 + k*STEP */
    double want = (100.0 * v[k - 1] + 200.0 * v[k]) / 300.0;
    assert_float_equal(s.values[r], want, 1e-9);
  }
  fs_hist_series_free(&s);
}

static void test_stale_samples_are_skipped_and_counted(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  write_wave(f, 10, 1); /* last update T0 + 9 STEP */
  time_t t[] = {T0 + 3 * STEP, T0 + 9 * STEP, T0 + 10 * STEP, T0 + 11 * STEP};
  double v[] = {-1, -2, 42, 43};
  size_t skipped = 0;
  assert_int_equal(fs_hist_update(f->path, 4, t, v, 1, &skipped, &f->err), 2);
  assert_int_equal(skipped, 2);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 - STEP, T0 + 11 * STEP, &s, &f->err), 0);
  assert_int_equal(s.n, 12);
  assert_float_equal(s.values[3], wave(3, 0), 1e-9); /* untouched by the late -1 */
  assert_float_equal(s.values[9], wave(9, 0), 1e-9);
  assert_float_equal(s.values[10], 42, 1e-12);
  assert_float_equal(s.values[11], 43, 1e-12);
  fs_hist_series_free(&s);
}

static void test_a_sample_not_after_the_previous_in_a_batch_is_skipped(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  time_t t[] = {T0, T0 + STEP, T0 + STEP, T0, T0 + 2 * STEP};
  double v[] = {1, 2, 99, 98, 3};
  size_t skipped = 0;
  assert_int_equal(fs_hist_update(f->path, 5, t, v, 1, &skipped, &f->err), 3);
  assert_int_equal(skipped, 2);
  time_t last = 0;
  assert_int_equal(fs_hist_last(f->path, &last, &f->err), 0);
  assert_int_equal(last, T0 + 2 * STEP);
}

static void test_update_of_a_missing_file_fails(void **state) {
  hfx *f = *state;
  time_t t = T0;
  double v = 1;
  assert_int_equal(fs_hist_update(f->path, 1, &t, &v, 1, NULL, &f->err), FS_HIST_ENOENT);
  assert_non_null(strstr(f->err.msg, f->path));
  assert_int_equal(access(f->path, F_OK), -1);
}

static void test_update_with_the_wrong_value_count_fails(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  time_t t = T0;
  double v[3] = {1, 2, 3};
  assert_int_equal(fs_hist_update(f->path, 1, &t, v, 3, NULL, &f->err), FS_HIST_EINVAL);
  assert_non_null(strstr(f->err.msg, "3 values per sample, the file has 1"));
}

static void test_last_of_a_new_file_is_one_step_before_start(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  time_t last = 0;
  assert_int_equal(fs_hist_last(f->path, &last, &f->err), 0);
  assert_int_equal(last, T0 - STEP);
  write_wave(f, 3, 1);
  assert_int_equal(fs_hist_last(f->path, &last, &f->err), 0);
  assert_int_equal(last, T0 + 2 * STEP);
}

static void test_last_of_a_missing_file_fails(void **state) {
  hfx *f = *state;
  time_t last = 0;
  assert_int_equal(fs_hist_last(f->path, &last, &f->err), FS_HIST_ENOENT);
}

static void test_fetch_of_a_missing_file_fails(void **state) {
  hfx *f = *state;
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0, T0 + STEP, &s, &f->err), FS_HIST_ENOENT);
  assert_null(s.values);
  assert_non_null(strstr(f->err.msg, f->path));
}

static void test_fetch_rejects_an_empty_range(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0, T0, &s, &f->err), FS_HIST_EINVAL);
}

/* Asked further back than the native archive holds, fetch still answers at the native
 * step (rrd_fetch alone would switch to the hourly archive), from its oldest row. */
static void test_fetch_stays_at_the_native_step(void **state) {
  hfx *f = *state;
  f->layout.native_rows = 24;
  make_file(f, &f->layout);
  write_wave(f, 100, 1);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 - 86400, T0 + 99 * STEP, &s, &f->err), 0);
  assert_int_equal(s.step_s, STEP);
  assert_int_equal(s.n, 24);
  assert_int_equal(s.start, T0 + 76 * STEP);
  for (size_t i = 0; i < s.n; i++)
    assert_float_equal(s.values[i], wave(76 + (int)i, 0), 1e-9);
  fs_hist_series_free(&s);
}

static void test_fetch_past_the_last_update_is_unknown(void **state) {
  hfx *f = *state;
  make_file(f, &f->layout);
  write_wave(f, 4, 1);
  fs_hist_series s;
  assert_int_equal(fs_hist_fetch(f->path, T0 - STEP, T0 + 6 * STEP, &s, &f->err), 0);
  assert_int_equal(s.n, 7);
  assert_float_equal(s.values[3], wave(3, 0), 1e-9);
  assert_true(isnan(s.values[4]) && isnan(s.values[5]) && isnan(s.values[6]));
  fs_hist_series_free(&s);
}

/* Two threads, each on its own file, interleave create, update and fetch. */
typedef struct worker {
  char path[300];
  int offset;
  int ok;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  fs_hist_layout l;
  fs_hist_error err;
  w->ok = fs_hist_layout_init(&l, STEP, 1, one_ds, &err) == 0 &&
          fs_hist_ensure(w->path, &l, T0, &err) == 1;
  for (int i = 0; w->ok && i < 200; i++) {
    time_t t = T0 + (time_t)i * STEP;
    double v = w->offset + i;
    w->ok = fs_hist_update(w->path, 1, &t, &v, 1, NULL, &err) == 1;
  }
  fs_hist_series s;
  if (w->ok && fs_hist_fetch(w->path, T0 - STEP, T0 + 199 * STEP, &s, &err) == 0) {
    for (size_t i = 0; i < s.n; i++)
      w->ok = w->ok && fabs(s.values[i] - (w->offset + (double)i)) < 1e-9;
    w->ok = w->ok && s.n == 200;
    fs_hist_series_free(&s);
  } else {
    w->ok = 0;
  }
  return NULL;
}

static void test_different_files_in_parallel_threads(void **state) {
  hfx *f = *state;
  worker w[2] = {{.offset = 1000}, {.offset = 5000}};
  pthread_t th[2];
  for (int k = 0; k < 2; k++) {
    snprintf(w[k].path, sizeof(w[k].path), "%s/vm%d/p/t.rrd", f->dir, k);
    assert_int_equal(pthread_create(&th[k], NULL, work, &w[k]), 0);
  }
  for (int k = 0; k < 2; k++)
    assert_int_equal(pthread_join(th[k], NULL), 0);
  assert_true(w[0].ok);
  assert_true(w[1].ok);
}

static void test_strerror_names_every_code(void **state) {
  (void)state;
  int codes[] = {FS_HIST_EINVAL, FS_HIST_ENOMEM, FS_HIST_EIO, FS_HIST_ENOENT,
                 FS_HIST_ECOMPAT, FS_HIST_ENOSPC};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    assert_string_not_equal(fs_hist_strerror(codes[i]), fs_hist_strerror(12345));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_path_has_collectd_layout),
      T(test_path_omits_null_and_empty_instances),
      T(test_path_rejects_a_slash_in_a_name),
      T(test_path_rejects_dot_dot_in_an_instance),
      T(test_path_rejects_an_empty_required_name),
      T(test_path_reports_a_short_buffer),
      T(test_layout_default_keeps_fourteen_days_native),
      T(test_layout_default_has_hour_and_day_archives),
      T(test_layout_leaves_out_an_archive_not_coarser),
      T(test_layout_rejects_a_bad_data_source_name),
      T(test_layout_rejects_a_coarse_step_not_a_multiple),
      T(test_ensure_creates_the_file_and_its_folders),
      T(test_ensure_accepts_a_compatible_file),
      T(test_ensure_names_a_step_mismatch),
      T(test_ensure_names_a_data_source_mismatch),
      T(test_ensure_names_a_data_source_count_mismatch),
      T(test_ensure_keeps_an_incompatible_file),
      T(test_ensure_native_rows_follow_the_layout),
      T(test_ensure_default_native_archive_covers_the_window),
      T(test_ensure_creates_coarse_average_min_max),
      T(test_ensure_rejects_an_invalid_layout),
      T(test_update_then_fetch_returns_the_values_at_their_slots),
      T(test_fetch_of_a_middle_range_starts_after_from),
      T(test_nan_comes_back_as_unknown),
      T(test_missing_samples_beyond_heartbeat_are_unknown),
      T(test_unaligned_samples_average_by_time),
      T(test_stale_samples_are_skipped_and_counted),
      T(test_a_sample_not_after_the_previous_in_a_batch_is_skipped),
      T(test_update_of_a_missing_file_fails),
      T(test_update_with_the_wrong_value_count_fails),
      T(test_last_of_a_new_file_is_one_step_before_start),
      T(test_last_of_a_missing_file_fails),
      T(test_fetch_of_a_missing_file_fails),
      T(test_fetch_rejects_an_empty_range),
      T(test_fetch_stays_at_the_native_step),
      T(test_fetch_past_the_last_update_is_unknown),
      T(test_different_files_in_parallel_threads),
      T(test_strerror_names_every_code),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
