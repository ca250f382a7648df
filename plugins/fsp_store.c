/* fsp_store.c -- the engine's RRD files through libhistory: a queue of samples filled
 * by the stepper and the workers, written by the flusher one librrd update per file per
 * batch; the scan of data_dir for warm start and the read-back of a usage file.
 *
 * A batch is sorted by (series, file, arrival), so each file's samples go out in one
 * fs_hist_update in the order they were made; libhistory skips those at or before the
 * file's last update (after a restart, or a duplicate origin), which is why a restart
 * never rewrites history. A file is checked or created once per process (ensured bit);
 * a failing file is logged once, then counted only.
 * Not here: when samples are made (fsp_engine.c).
 */
#include "plugins/fsp_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE_PREFIX "fs_usage-"
#define RRD_SUFFIX ".rrd"

int fsp__store_init(fsp_store *st, const char *data_dir, const fc_config *fc) {
  memset(st, 0, sizeof(*st));
  st->step_s = fc->step_s;
  st->n_horizons = fc->n_horizons;
  for (int i = 0; i < fc->n_horizons; i++)
    st->horizon_s[i] = fc->horizons[i] * fc->step_s;
  const char *usage_ds[] = {"value"}, *band_ds[] = {"mean", "lo", "hi"};
  if (fs_hist_layout_init(&st->usage_layout, fc->step_s, 1, usage_ds, NULL) != 0 ||
      fs_hist_layout_init(&st->band_layout, fc->step_s, 3, band_ds, NULL) != 0)
    return -1;
  /* the native archive holds at least the training window, so warm start finds it */
  int rows = fc->history_slots + fc->horizons[fc->n_horizons - 1];
  if (st->usage_layout.native_rows < rows)
    st->usage_layout.native_rows = st->band_layout.native_rows = rows;
  if (data_dir != NULL && (st->data_dir = strdup(data_dir)) == NULL)
    return -1;
  if (pthread_mutex_init(&st->lock, NULL) != 0) {
    free(st->data_dir);
    return -1;
  }
  return 0;
}

void fsp__store_free(fsp_store *st) {
  free(st->queue);
  free(st->data_dir);
  pthread_mutex_destroy(&st->lock);
}

int fsp__store_push(fsp_store *st, fsp_series *s, int kind, int64_t t, const double *v) {
  if (st->data_dir == NULL)
    return 0;
  int rc = 0;
  pthread_mutex_lock(&st->lock);
  if (st->n == st->cap) {
    size_t cap = st->cap ? 2 * st->cap : 256;
    fsp_hist_rec *q = realloc(st->queue, cap * sizeof(*q));
    if (q == NULL)
      rc = -1;
    else {
      st->queue = q;
      st->cap = cap;
    }
  }
  if (rc == 0) {
    fsp_hist_rec *r = &st->queue[st->n++];
    *r = (fsp_hist_rec){.s = s, .kind = kind, .seq = st->seq++, .t = t};
    memcpy(r->v, v, (kind == 0 ? 1 : 3) * sizeof(double));
  }
  pthread_mutex_unlock(&st->lock);
  return rc;
}

static int rec_cmp(const void *a, const void *b) {
  const fsp_hist_rec *x = a, *y = b;
  if (x->s != y->s)
    return (uintptr_t)x->s < (uintptr_t)y->s ? -1 : 1;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* kind 0: <vm>/<source>/fs_usage-<metric>.rrd; kind 1 + i:
 * <vm>/foresight_forecast-<metric>/fs_forecast-h<s>.rrd */
static int file_path(fsp_engine *e, const fsp_series *s, int kind, char *out, size_t n,
                     fs_hist_error *err) {
  const fsp_store *st = fsp__engine_store(e);
  if (kind == 0) {
    char source[FSP_NAME_MAX];
    fsp__table_source(fsp__engine_table(e), s, source);
    return fs_hist_path(out, n, st->data_dir, s->vm, source, NULL, "fs_usage", s->metric,
                        err);
  }
  char ti[32];
  snprintf(ti, sizeof(ti), "h%d", st->horizon_s[kind - 1]);
  return fs_hist_path(out, n, st->data_dir, s->vm, "foresight_forecast", s->metric,
                      "fs_forecast", ti, err);
}

/* Writes recs[0..n-1], all of one file. Returns samples written or -1. */
static long write_file(fsp_engine *e, fsp_store *st, const fsp_hist_rec *recs, size_t n,
                       time_t *t, double *v) {
  fsp_series *s = recs[0].s;
  int kind = recs[0].kind;
  unsigned bit = 1u << kind;
  size_t n_ds = kind == 0 ? 1 : 3;
  char path[4096];
  fs_hist_error err = {0};
  int rc = file_path(e, s, kind, path, sizeof(path), &err);
  if (rc == 0 && !(s->ensured & bit)) {
    rc = fs_hist_ensure(path, kind == 0 ? &st->usage_layout : &st->band_layout,
                        (time_t)recs[0].t, &err);
    if (rc >= 0) {
      s->ensured |= bit;
      rc = 0;
    }
  }
  long written = 0;
  if (rc == 0) {
    for (size_t i = 0; i < n; i++) {
      t[i] = (time_t)recs[i].t;
      memcpy(v + i * n_ds, recs[i].v, n_ds * sizeof(double));
    }
    written = fs_hist_update(path, n, t, v, n_ds, NULL, &err);
    rc = written < 0 ? (int)written : 0;
  }
  if (rc < 0) {
    if (!(s->failed & bit))
      fsp__log(e, FSP_LOG_ERR, "RRD history: %s (logged once per file)", err.msg);
    s->failed |= bit;
    return -1;
  }
  return written;
}

long fsp__store_flush(fsp_engine *e, uint64_t *errors) {
  fsp_store *st = fsp__engine_store(e);
  pthread_mutex_lock(&st->lock);
  fsp_hist_rec *q = st->queue;
  size_t n = st->n;
  uint64_t number = ++st->flushes_started;
  st->queue = NULL;
  st->n = st->cap = 0;
  pthread_mutex_unlock(&st->lock);
  if (n == 0) {
    free(q);
    st->flushes_done = number;
    return 0;
  }
  qsort(q, n, sizeof(*q), rec_cmp);
  time_t *t = malloc(n * sizeof(*t));
  double *v = malloc(3 * n * sizeof(*v));
  long total = 0;
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && q[j].s == q[i].s && q[j].kind == q[i].kind; j++)
      ;
    long w = (t != NULL && v != NULL) ? write_file(e, st, q + i, j - i, t, v) : -1;
    if (w < 0)
      (*errors)++;
    else
      total += w;
  }
  free(t);
  free(v);
  free(q);
  st->flushes_done = number; /* after the last use of q's series: evicted ones may go */
  return total;
}

uint64_t fsp__store_flushes_started(fsp_store *st) {
  pthread_mutex_lock(&st->lock);
  uint64_t n = st->flushes_started;
  pthread_mutex_unlock(&st->lock);
  return n;
}

/* The metric of a file named fs_usage-<metric>.rrd, or NULL. */
static const char *usage_metric(const char *name, char *out, size_t n) {
  size_t len = strlen(name), plen = strlen(USAGE_PREFIX), slen = strlen(RRD_SUFFIX);
  if (len <= plen + slen || strncmp(name, USAGE_PREFIX, plen) != 0 ||
      strcmp(name + len - slen, RRD_SUFFIX) != 0 || len - plen - slen >= n)
    return NULL;
  snprintf(out, n, "%.*s", (int)(len - plen - slen), name + plen);
  return out;
}

/* Calls found() for each <source>/fs_usage-<metric>.rrd of one host folder. */
static int scan_host(const char *dir, const char *vm,
                     int (*found)(void *, const char *, const char *, const char *),
                     void *ctx) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return 0;
  int n = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    char sub[4096];
    if (de->d_name[0] == '.' ||
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
      continue;
    DIR *p = opendir(sub);
    if (p == NULL)
      continue;
    for (struct dirent *fe; (fe = readdir(p)) != NULL;) {
      char metric[FSP_NAME_MAX];
      if (usage_metric(fe->d_name, metric, sizeof(metric)) != NULL &&
          found(ctx, vm, metric, de->d_name) == 0)
        n++;
    }
    closedir(p);
  }
  closedir(d);
  return n;
}

int fsp__store_scan(fsp_store *st,
                    int (*found)(void *, const char *, const char *, const char *),
                    void *ctx, char *err, size_t err_len) {
  if (st->data_dir == NULL)
    return 0;
  DIR *d = opendir(st->data_dir);
  if (d == NULL) {
    if (errno == ENOENT)
      return 0; /* first start */
    snprintf(err, err_len, "DataDir \"%s\": %s", st->data_dir, strerror(errno));
    return -1;
  }
  int n = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    /* host-set totals are sums of live members: rebuilt, not read back */
    if (de->d_name[0] == '.' || strncmp(de->d_name, "set-", 4) == 0)
      continue;
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s/%s", st->data_dir, de->d_name) >= (int)sizeof(dir))
      continue;
    n += scan_host(dir, de->d_name, found, ctx);
  }
  closedir(d);
  return n;
}

long fsp__store_load(fsp_engine *e, fsp_series *s, int slots, char *err, size_t err_len) {
  fsp_store *st = fsp__engine_store(e);
  char path[4096];
  fs_hist_error herr = {0};
  time_t last;
  fs_hist_series hs = {0};
  if (file_path(e, s, 0, path, sizeof(path), &herr) != 0 ||
      fs_hist_last(path, &last, &herr) != 0 ||
      fs_hist_fetch(path, last - (time_t)slots * st->step_s, last, &hs, &herr) != 0) {
    snprintf(err, err_len, "%s", herr.msg);
    return herr.code == FS_HIST_ENOENT ? FS_HIST_ENOENT : -1;
  }
  if (hs.step_s != st->step_s) {
    snprintf(err, err_len, "%s: step %d s, Step is %d s (history not used)", path,
             hs.step_s, st->step_s);
    fs_hist_series_free(&hs);
    return -1;
  }
  long n = 0;
  for (size_t i = 0; i < hs.n; i++) {
    double y = hs.values[i * hs.n_ds];
    if (!isnan(y)) {
      fc_forecaster_add(s->fc, (double)hs.start + (double)i * hs.step_s, y);
      n++;
    }
  }
  fs_hist_series_free(&hs);
  return n;
}
