/* fsp_engine.c -- the forecast write plugin's threads: stepper, workers, flusher, and
 * host-set totals (see fsp_engine.h for the design and fsp_internal.h for ownership).
 *
 * Stepper round: take every stripe's closed steps, feed each to its series' forecaster
 * under the series lock, forecast when the model moved to a newer origin, emit, queue
 * the RRD samples; then recompute the totals of the host sets whose members moved.
 * Worker job: first every warm start (read the usage file, replay the steps that came
 * meanwhile, fit), then the series whose fit is due; a fit runs on a clone, unlocked,
 * and fc_forecaster_install replays the steps that arrived during it.
 * An origin is emitted once (last_origin): a worker's fresh model does not re-emit an
 * origin the stepper already forecast, but does emit the first forecast of a series.
 * Eviction (stepper): the sweep unlinks silent series from the table, then takes them
 * off the host-set totals and the workers' list and chains them on `dead`; reap() frees
 * one once no worker holds it (fitting, warm_pending) and a later flush has written its
 * RRD samples. A worker holds a series from claim (or warm list) to the end of its last
 * store push, so "not held" means no thread but the stepper can reach it.
 */
#include "plugins/fsp_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEPPER_PERIOD_S 0.1
#define WORKER_IDLE_S 0.5
#define STALLED_SLOTS 3 /* a set member this far behind is ticked forward */

struct set_total {       /* one (host set, metric); stepper only */
  char set[FSP_NAME_MAX];
  char metric[FSP_NAME_MAX];
  fsp_series **members;
  int n, cap;
  int64_t agg_slot;
  fsp_series *total;     /* names the files: host "set-<name>" */
  int touched;
};

struct fsp_engine {
  fsp_engine_config cfg;
  fsp_table table;
  fsp_store store;
  int min_fit_slots;

  pthread_mutex_t reg_lock; /* guards all, warm, scan_pos */
  fsp_series **all;         /* every series with a forecaster */
  size_t n_all, cap_all, scan_pos;
  fsp_series **warm;        /* found at start, in order; warm_next: next to load */
  size_t n_warm, cap_warm, warm_next;

  fsp_recs work;            /* stepper only */
  struct set_total **sets;  /* stepper only */
  int n_sets, cap_sets;
  fsp_series *dead;         /* stepper only: evicted, chained by dead_next */
  double next_sweep_s;      /* stepper only: engine clock of the next sweep */

  pthread_mutex_t run_lock; /* guards stop */
  pthread_cond_t run_cond;
  int stop, started, stopped;
  int quiet;                /* stopping: feed and store, emit nothing */
  pthread_t stepper, flusher;
  pthread_t *workers;
  int n_workers;
  int stepper_up, flusher_up;

  _Atomic uint64_t steps, forecasts, set_forecasts, fits, fit_failures;
  _Atomic uint64_t warm_series, warm_slots, warm_done, rrd_samples, rrd_errors;
  _Atomic uint64_t evicted, evicting, rewarmed;
  _Atomic int warned;       /* fit errors logged so far (capped) */
  double warm_t0;
};

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void fsp__log(fsp_engine *e, int level, const char *fmt, ...) {
  if (e->cfg.log == NULL)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  e->cfg.log(e->cfg.ctx, level, msg);
}

static double engine_now(const fsp_engine *e) {
  return e->cfg.clock != NULL ? e->cfg.clock(e->cfg.ctx) : mono_now();
}

fsp_store *fsp__engine_store(fsp_engine *e) { return &e->store; }
fsp_table *fsp__engine_table(fsp_engine *e) { return &e->table; }

void fsp_engine_config_default(fsp_engine_config *c) {
  memset(c, 0, sizeof(*c));
  fc_config_default(&c->fc);
  c->retrain_interval_s = 3600;
  c->workers = 1;
  c->flush_interval_s = 1;
  c->series_timeout_s = 86400;
}

/* ---------------------------------------------------------------- registry */

static int push_ptr(fsp_series ***v, size_t *n, size_t *cap, fsp_series *s) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 64;
    fsp_series **p = realloc(*v, c * sizeof(*p));
    if (p == NULL)
      return -1;
    *v = p;
    *cap = c;
  }
  (*v)[(*n)++] = s;
  return 0;
}

/* Gives the series its forecaster and lists it for the workers. A series created at
 * run time (not by the start scan) goes on the warm list too when there is history:
 * its file, if any, is from an earlier life of the VM (see warm_one). */
static int register_series(fsp_engine *e, fsp_series *s, int at_start) {
  fc_error err = {0};
  fc_forecaster *fc = fc_forecaster_create(&e->cfg.fc, FC_SERIES_GAUGE, &err);
  if (fc == NULL) {
    fsp__log(e, FSP_LOG_ERR, "%s/%s: %s", s->vm, s->metric, err.msg);
    return -1;
  }
  pthread_mutex_lock(&e->reg_lock);
  int rc = push_ptr(&e->all, &e->n_all, &e->cap_all, s);
  pthread_mutex_unlock(&e->reg_lock);
  if (rc != 0) {
    fc_forecaster_destroy(fc);
    return -1;
  }
  int warm = !at_start && e->store.data_dir != NULL;
  pthread_mutex_lock(&s->lock);
  s->fc = fc;
  s->warm_pending = warm;
  s->warm_at_start = at_start;
  pthread_mutex_unlock(&s->lock);
  s->registered = 1;
  if (warm) {
    pthread_mutex_lock(&e->reg_lock);
    rc = push_ptr(&e->warm, &e->n_warm, &e->cap_warm, s);
    pthread_mutex_unlock(&e->reg_lock);
    if (rc != 0) { /* no memory: the series starts empty, as before it had a file */
      pthread_mutex_lock(&s->lock);
      s->warm_pending = 0;
      pthread_mutex_unlock(&s->lock);
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- forecasts */

/* Forecasts from the model's slot if it is a new origin. Caller holds s->lock. */
static int forecast_locked(fsp_series *s, fc_point pts[], char *model, int64_t *origin) {
  const fc_model *m = fc_forecaster_model(s->fc);
  if (m == NULL)
    return 0;
  int64_t o = fc_model_slot(m);
  if (o <= s->last_origin || fc_forecaster_forecast(s->fc, pts, NULL) != 0)
    return 0;
  snprintf(model, 32, "%s", fc_model_name(m));
  s->last_origin = o;
  *origin = o;
  return 1;
}

static void emit_and_store(fsp_engine *e, fsp_series *s, int64_t origin,
                           const fc_point pts[], const char *model) {
  const fc_config *fc = &e->cfg.fc;
  fsp_forecast_out out = {.host = s->vm, .metric = s->metric,
                          .origin_s = (double)origin * fc->step_s, .step_s = fc->step_s,
                          .n = fc->n_horizons, .points = pts, .model = model};
  if (!e->quiet)
    e->cfg.emit(e->cfg.ctx, &out);
  for (int i = 0; i < fc->n_horizons; i++) {
    double v[3] = {pts[i].mean, pts[i].lo, pts[i].hi};
    fsp__store_push(&e->store, s, 1 + i, origin * fc->step_s, v); /* as the value list */
  }
  if (s->is_total)
    e->set_forecasts++;
  else
    e->forecasts++;
}

/* ---------------------------------------------------------------- host sets */

static struct set_total *find_total(fsp_engine *e, const char *set, const char *metric,
                                    int create) {
  for (int i = 0; i < e->n_sets; i++)
    if (strcmp(e->sets[i]->set, set) == 0 && strcmp(e->sets[i]->metric, metric) == 0)
      return e->sets[i];
  if (!create)
    return NULL;
  if (e->n_sets == e->cap_sets) {
    int cap = e->cap_sets ? 2 * e->cap_sets : 8;
    struct set_total **p = realloc(e->sets, (size_t)cap * sizeof(*p));
    if (p == NULL)
      return NULL;
    e->sets = p;
    e->cap_sets = cap;
  }
  struct set_total *t = calloc(1, sizeof(*t));
  char host[FSP_NAME_MAX + 8];
  snprintf(host, sizeof(host), "set-%s", set);
  if (t == NULL || (t->total = fsp__series_new(host, metric)) == NULL) {
    free(t);
    return NULL;
  }
  t->total->is_total = 1;
  snprintf(t->total->source, sizeof(t->total->source), "foresight_forecast");
  snprintf(t->set, sizeof(t->set), "%s", set);
  snprintf(t->metric, sizeof(t->metric), "%s", metric);
  t->agg_slot = -1;
  e->sets[e->n_sets++] = t;
  return t;
}

static void total_remove(struct set_total *t, fsp_series *s) {
  for (int i = 0; i < t->n; i++)
    if (t->members[i] == s) {
      t->members[i] = t->members[--t->n];
      t->touched = 1;
      return;
    }
}

static int total_add(struct set_total *t, fsp_series *s) {
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 8;
    fsp_series **p = realloc(t->members, (size_t)cap * sizeof(*p));
    if (p == NULL)
      return -1;
    t->members = p;
    t->cap = cap;
  }
  t->members[t->n++] = s;
  return 0;
}

/* Follows the host set the write path was told for s; marks its total touched. */
static void track_set(fsp_engine *e, fsp_series *s) {
  char set[FSP_NAME_MAX];
  fsp__table_host_set(&e->table, s, set);
  if (strcmp(set, s->agg_set) != 0) {
    struct set_total *old = s->agg_set[0] ? find_total(e, s->agg_set, s->metric, 0) : NULL;
    if (old != NULL)
      total_remove(old, s);
    struct set_total *t = set[0] ? find_total(e, set, s->metric, 1) : NULL;
    if (t != NULL && total_add(t, s) != 0)
      t = NULL;
    snprintf(s->agg_set, sizeof(s->agg_set), "%s", t != NULL ? set : "");
  }
  struct set_total *t = s->agg_set[0] ? find_total(e, s->agg_set, s->metric, 0) : NULL;
  if (t != NULL)
    t->touched = 1;
}

static int ptr_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)*(fsp_series *const *)a, y = (uintptr_t)*(fsp_series *const *)b;
  return x < y ? -1 : x > y;
}

/* The members' common model slot; -1 when a member has no model or they differ (a
 * stalled member is ticked forward first). */
static int64_t common_slot(struct set_total *t) {
  int64_t lo = INT64_MAX, hi = -1;
  for (int i = 0; i < t->n; i++) {
    pthread_mutex_lock(&t->members[i]->lock);
    const fc_model *m = t->members[i]->fc ? fc_forecaster_model(t->members[i]->fc) : NULL;
    int64_t slot = m != NULL ? fc_model_slot(m) : -1;
    pthread_mutex_unlock(&t->members[i]->lock);
    if (slot < 0)
      return -1;
    lo = slot < lo ? slot : lo;
    hi = slot > hi ? slot : hi;
  }
  if (lo == hi)
    return hi;
  for (int i = 0; i < t->n; i++) {
    fsp_series *s = t->members[i];
    pthread_mutex_lock(&s->lock);
    if (fc_model_slot(fc_forecaster_model(s->fc)) <= hi - STALLED_SLOTS)
      fc_forecaster_tick(s->fc, hi);
    pthread_mutex_unlock(&s->lock);
  }
  return -1;
}

static void aggregate_total(fsp_engine *e, struct set_total *t) {
  int64_t slot = t->n > 0 ? common_slot(t) : -1;
  if (slot < 0 || slot <= t->agg_slot)
    return;
  /* the stepper is the only thread holding two series locks: lock in address order */
  qsort(t->members, (size_t)t->n, sizeof(*t->members), ptr_cmp);
  const fc_model **models = malloc((size_t)t->n * sizeof(*models));
  if (models == NULL)
    return;
  double sum = 0.0;
  for (int i = 0; i < t->n; i++) {
    pthread_mutex_lock(&t->members[i]->lock);
    models[i] = fc_forecaster_model(t->members[i]->fc);
    sum += fc_series_at(fc_forecaster_series(t->members[i]->fc), slot);
  }
  fc_point pts[FC_MAX_HORIZONS];
  fc_error err = {0};
  int rc = fc_aggregate_forecast(models, t->n, pts, &err);
  for (int i = t->n - 1; i >= 0; i--)
    pthread_mutex_unlock(&t->members[i]->lock);
  free(models);
  if (rc != 0) {
    if (e->warned++ < 10)
      fsp__log(e, FSP_LOG_WARNING, "host set %s/%s: %s", t->set, t->metric, err.msg);
    return;
  }
  t->agg_slot = slot;
  if (!isnan(sum))
    fsp__store_push(&e->store, t->total, 0, slot * e->cfg.fc.step_s, &sum);
  t->total->last_origin = slot;
  emit_and_store(e, t->total, slot, pts, "sum");
}

/* ---------------------------------------------------------------- stepper */

static void process_rec(fsp_engine *e, const fsp_rec *r) {
  fsp_series *s = r->s;
  if (!s->registered && register_series(e, s, 0) != 0)
    return;
  track_set(e, s);
  fc_point pts[FC_MAX_HORIZONS];
  char model[32];
  int64_t origin = -1;
  int have = 0;
  pthread_mutex_lock(&s->lock);
  if (s->warm_pending) {
    (void)fsp__recs_push(&s->backlog, *r); /* fed after the history */
    pthread_mutex_unlock(&s->lock);
    return;
  }
  int bits = fc_forecaster_add(s->fc, (double)r->slot * e->cfg.fc.step_s, r->mean);
  if (bits & FC_SAMPLE_STORED)
    have = forecast_locked(s, pts, model, &origin);
  pthread_mutex_unlock(&s->lock);
  e->steps++;
  fsp__store_push(&e->store, s, 0, r->slot * e->cfg.fc.step_s, &r->mean);
  if (have)
    emit_and_store(e, s, origin, pts, model);
}

/* ---------------------------------------------------------------- eviction */

/* Takes an unlinked series off everything the stepper and the workers reach it by,
 * except a worker that holds it now; queues its open step for its usage file. */
static void evict_one(fsp_engine *e, fsp_series *s) {
  pthread_mutex_lock(&s->lock);
  s->evicted = 1;
  pthread_mutex_unlock(&s->lock);
  struct set_total *t = s->agg_set[0] ? find_total(e, s->agg_set, s->metric, 0) : NULL;
  if (t != NULL)
    total_remove(t, s); /* marks the total touched: the next one is without it */
  if (s->count > 0) {   /* the step will not close any more: keep what came */
    double mean = s->sum / s->count;
    fsp__store_push(&e->store, s, 0, s->open_slot * e->cfg.fc.step_s, &mean);
  }
}

/* Drops unlinked series from the workers' list: O(series), once per evicting sweep. */
static void compact_all(fsp_engine *e) {
  pthread_mutex_lock(&e->reg_lock);
  size_t k = 0;
  for (size_t i = 0; i < e->n_all; i++)
    if (!e->all[i]->unlinked)
      e->all[k++] = e->all[i];
  e->n_all = k;
  if (e->scan_pos >= k)
    e->scan_pos = 0;
  pthread_mutex_unlock(&e->reg_lock);
}

static void sweep(fsp_engine *e, double now) {
  fsp_series *dead = NULL;
  size_t n = fsp__table_sweep(&e->table, now, e->cfg.series_timeout_s, &dead);
  if (n == 0)
    return;
  fsp_series *last = NULL;
  for (fsp_series *s = dead; s != NULL; s = s->dead_next) {
    evict_one(e, s);
    last = s;
  }
  compact_all(e);
  last->dead_next = e->dead;
  e->dead = dead;
  e->evicted += n;
  e->evicting += n;
  uint64_t left, unused;
  fsp__table_counts(&e->table, &unused, &unused, &left);
  fsp__log(e, FSP_LOG_INFO, "evicted %zu series that received no value for %g s "
           "(SeriesTimeout); %llu series left", n, e->cfg.series_timeout_s,
           (unsigned long long)left);
}

/* Frees the evicted series nothing refers to any more: first waits until no worker
 * holds it, then for a flush that started after that (it wrote the series' samples). */
static void reap(fsp_engine *e) {
  uint64_t done = e->store.flushes_done;
  for (fsp_series **link = &e->dead, *s; (s = *link) != NULL;) {
    if (!s->dead_marked) {
      pthread_mutex_lock(&s->lock);
      int held = s->fitting || s->warm_pending;
      pthread_mutex_unlock(&s->lock);
      if (!held) {
        s->dead_marked = 1;
        s->dead_flush = fsp__store_flushes_started(&e->store);
      }
    } else if (done > s->dead_flush) {
      *link = s->dead_next;
      fsp__series_free(s);
      e->evicting--;
      continue;
    }
    link = &s->dead_next;
  }
}

/* Sweeps when due: at most once per min(step, timeout), on a grid so that a test (or
 * a late stepper) does not drift the sweeps. */
static void maybe_sweep(fsp_engine *e) {
  double timeout = e->cfg.series_timeout_s;
  if (!(timeout > 0) || e->quiet)
    return;
  double now = engine_now(e);
  if (now < e->next_sweep_s)
    return;
  sweep(e, now);
  double period = timeout < e->cfg.fc.step_s ? timeout : e->cfg.fc.step_s;
  do
    e->next_sweep_s += period;
  while (e->next_sweep_s <= now);
}

static long step_round(fsp_engine *e) {
  e->work.n = 0;
  (void)fsp__table_take(&e->table, &e->work);
  for (size_t i = 0; i < e->work.n; i++)
    process_rec(e, &e->work.v[i]);
  maybe_sweep(e); /* after the queue: a silent series has no step in it */
  for (int i = 0; i < e->n_sets; i++)
    if (e->sets[i]->touched) {
      e->sets[i]->touched = 0;
      aggregate_total(e, e->sets[i]);
    }
  if (e->dead != NULL)
    reap(e);
  return (long)e->work.n;
}

/* ---------------------------------------------------------------- workers */

/* Ends a worker's hold on s (s->fitting); after it the worker must not touch s: an
 * evicted series may be freed by the stepper from then on. */
static void release(fsp_series *s) {
  pthread_mutex_lock(&s->lock);
  s->fitting = 0;
  pthread_mutex_unlock(&s->lock);
}

/* Fits a claimed series (s->fitting set) on a snapshot and installs the result;
 * releases it. */
static void fit_one(fsp_engine *e, fsp_series *s) {
  fc_error err = {0};
  pthread_mutex_lock(&s->lock);
  fc_series *snap = s->evicted ? NULL : fc_series_clone(fc_forecaster_series(s->fc), &err);
  int len = fc_series_len(fc_forecaster_series(s->fc));
  pthread_mutex_unlock(&s->lock);
  fc_model *m = snap != NULL ? fc_model_fit(&e->cfg.fc, snap, &err) : NULL;
  fc_series_destroy(snap);
  if (e->cfg.on_fit != NULL)
    e->cfg.on_fit(e->cfg.ctx, s->vm, s->metric);
  fc_point pts[FC_MAX_HORIZONS];
  char model[32];
  int64_t origin = -1;
  int have = 0, rc = m != NULL ? 0 : err.code;
  pthread_mutex_lock(&s->lock);
  if (s->evicted) { /* its forecaster goes with it: nothing to install or emit */
    s->fitting = 0;
    pthread_mutex_unlock(&s->lock);
    fc_model_destroy(m);
    return;
  }
  if (m != NULL)
    rc = fc_forecaster_install(s->fc, m, &err);
  s->next_fit_s = mono_now() + e->cfg.retrain_interval_s;
  s->len_at_attempt = rc == 0 ? 0 : len;
  if (rc == 0)
    have = forecast_locked(s, pts, model, &origin);
  pthread_mutex_unlock(&s->lock);
  if (rc == 0) {
    e->fits++;
  } else {
    e->fit_failures++;
    if (rc != FC_ENODATA && e->warned++ < 10)
      fsp__log(e, FSP_LOG_WARNING, "%s/%s: fit: %s", s->vm, s->metric, err.msg);
  }
  if (have)
    emit_and_store(e, s, origin, pts, model);
  release(s); /* after the store push: the flush mark of an eviction covers it */
}

/* Due: not claimed, has a forecaster, long enough, and either its retrain time came or
 * it grew by an hour of steps since a fit that lacked data. Caller holds s->lock. */
static int due_locked(const fsp_engine *e, const fsp_series *s, double now) {
  if (s->fitting || s->warm_pending || s->evicted || s->fc == NULL)
    return 0;
  int len = fc_series_len(fc_forecaster_series(s->fc));
  if (len < e->min_fit_slots)
    return 0;
  if (s->len_at_attempt > 0)
    return len >= s->len_at_attempt + 3600 / e->cfg.fc.step_s || now >= s->next_fit_s;
  return now >= s->next_fit_s;
}

static fsp_series *claim_due(fsp_engine *e) {
  double now = mono_now();
  fsp_series *found = NULL;
  pthread_mutex_lock(&e->reg_lock);
  for (size_t k = 0; k < e->n_all && found == NULL; k++) {
    fsp_series *s = e->all[(e->scan_pos + k) % e->n_all];
    pthread_mutex_lock(&s->lock);
    if (due_locked(e, s, now)) {
      s->fitting = 1;
      found = s;
      e->scan_pos = (e->scan_pos + k + 1) % e->n_all;
    }
    pthread_mutex_unlock(&s->lock);
  }
  pthread_mutex_unlock(&e->reg_lock);
  return found;
}

/* The next series to warm start; the list is emptied once drained, so series created
 * at run time do not grow it without bound. */
static fsp_series *next_warm(fsp_engine *e) {
  pthread_mutex_lock(&e->reg_lock);
  fsp_series *s = e->warm_next < e->n_warm ? e->warm[e->warm_next++] : NULL;
  if (e->warm_next == e->n_warm)
    e->warm_next = e->n_warm = 0;
  pthread_mutex_unlock(&e->reg_lock);
  return s;
}

/* Rebuilds a series from its usage file, then fits it at once. A series created at run
 * time with no file (a new VM) just gets its steps; an evicted one is only released. */
static void warm_one(fsp_engine *e, fsp_series *s) {
  char err[512] = "";
  pthread_mutex_lock(&s->lock);
  int at_start = s->warm_at_start, dead = s->evicted;
  long n = dead ? 0 : fsp__store_load(e, s, e->cfg.fc.history_slots, err, sizeof(err));
  fsp_recs backlog = s->backlog;
  for (size_t i = 0; !dead && i < backlog.n; i++)
    fc_forecaster_add(s->fc, (double)backlog.v[i].slot * e->cfg.fc.step_s, backlog.v[i].mean);
  s->backlog = (fsp_recs){0};
  s->warm_pending = 0;
  s->fitting = 1; /* hold it past the lock for the pushes and the fit */
  pthread_mutex_unlock(&s->lock);
  for (size_t i = 0; !dead && i < backlog.n; i++)
    fsp__store_push(&e->store, s, 0, backlog.v[i].slot * e->cfg.fc.step_s, &backlog.v[i].mean);
  if (!dead)
    e->steps += backlog.n;
  fsp__recs_free(&backlog);
  if (n < 0 && (at_start || n != FS_HIST_ENOENT))
    fsp__log(e, FSP_LOG_WARNING, "warm start %s/%s: %s", s->vm, s->metric, err);
  else if (n > 0)
    e->warm_slots += (uint64_t)n;
  if (!at_start && n > 0)
    e->rewarmed++;
  if (at_start ? !dead : n > 0)
    fit_one(e, s);
  else
    release(s);
  if (at_start && ++e->warm_done == e->warm_series)
    fsp__log(e, FSP_LOG_INFO, "warm start: %llu series rebuilt from %llu steps of RRD "
             "history and fitted in %.1f s", (unsigned long long)e->warm_series,
             (unsigned long long)e->warm_slots, mono_now() - e->warm_t0);
}

/* One job: a warm start, else a due fit. Returns 0 when there was nothing to do. */
static int worker_job(fsp_engine *e) {
  fsp_series *s = next_warm(e);
  if (s != NULL) {
    warm_one(e, s);
    return 1;
  }
  if ((s = claim_due(e)) != NULL) {
    fit_one(e, s);
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- threads */

/* Sleeps up to `s` seconds; returns 1 once the engine is stopping. */
static int wait_or_stop(fsp_engine *e, double s) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double end = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + s;
  ts.tv_sec = (time_t)end;
  ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
  pthread_mutex_lock(&e->run_lock);
  while (!e->stop && pthread_cond_timedwait(&e->run_cond, &e->run_lock, &ts) != ETIMEDOUT)
    ;
  int stop = e->stop;
  pthread_mutex_unlock(&e->run_lock);
  return stop;
}

static int stopping(fsp_engine *e) {
  pthread_mutex_lock(&e->run_lock);
  int stop = e->stop;
  pthread_mutex_unlock(&e->run_lock);
  return stop;
}

static void flush_once(fsp_engine *e) {
  uint64_t errors = 0;
  long n = fsp__store_flush(e, &errors);
  e->rrd_samples += (uint64_t)n;
  e->rrd_errors += errors;
}

static void *stepper_main(void *arg) {
  fsp_engine *e = arg;
  while (!wait_or_stop(e, STEPPER_PERIOD_S))
    step_round(e);
  return NULL;
}

static void *worker_main(void *arg) {
  fsp_engine *e = arg;
  while (!stopping(e))
    if (!worker_job(e) && wait_or_stop(e, WORKER_IDLE_S))
      break;
  return NULL;
}

static void *flusher_main(void *arg) {
  fsp_engine *e = arg;
  while (!wait_or_stop(e, e->cfg.flush_interval_s))
    flush_once(e);
  return NULL;
}

static int spawn(fsp_engine *e, pthread_t *t, void *(*fn)(void *), const char *name) {
  if (e->cfg.thread_create != NULL)
    return e->cfg.thread_create(t, fn, e, name);
  return pthread_create(t, NULL, fn, e);
}

/* ---------------------------------------------------------------- lifecycle */

static int check_config(const fsp_engine_config *c, char *err, size_t err_len) {
  fc_error fe = {0};
  if (fc_config_validate(&c->fc, &fe) != 0) {
    snprintf(err, err_len, "%s", fe.msg);
    return -1;
  }
  if (!(c->retrain_interval_s > 0) || !isfinite(c->retrain_interval_s)) {
    snprintf(err, err_len, "RetrainInterval %g (must be > 0 s)", c->retrain_interval_s);
    return -1;
  }
  if (c->workers < 1 || c->workers > 64) {
    snprintf(err, err_len, "Workers %d (must be in [1, 64])", c->workers);
    return -1;
  }
  if (c->series_timeout_s != 0 &&
      !(c->series_timeout_s >= 1 && c->series_timeout_s <= FSP_SERIES_TIMEOUT_MAX)) {
    snprintf(err, err_len, "SeriesTimeout %g (must be 0 for never, or in [1, %d] s)",
             c->series_timeout_s, FSP_SERIES_TIMEOUT_MAX);
    return -1;
  }
  if (!(c->flush_interval_s > 0) || c->emit == NULL) {
    snprintf(err, err_len, "flush interval %g s or no emit callback", c->flush_interval_s);
    return -1;
  }
  return 0;
}

fsp_engine *fsp_engine_create(const fsp_engine_config *c, char *err, size_t err_len) {
  if (check_config(c, err, err_len) != 0)
    return NULL;
  fsp_engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  e->cfg = *c;
  e->cfg.data_dir = NULL; /* the store keeps the copy */
  e->min_fit_slots = 8 * c->fc.horizons[c->fc.n_horizons - 1] + 48; /* model.c's floor */
  pthread_condattr_t ca;
  int ok = fsp__table_init(&e->table, c->fc.step_s) == 0;
  if (ok && fsp__store_init(&e->store, c->data_dir, &c->fc) != 0) {
    fsp__table_free(&e->table);
    ok = 0;
  }
  if (!ok) {
    free(e);
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&e->reg_lock, NULL);
  pthread_mutex_init(&e->run_lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->run_cond, &ca);
  pthread_condattr_destroy(&ca);
  return e;
}

static int warm_found(void *ctx, const char *vm, const char *metric, const char *source) {
  fsp_engine *e = ctx;
  fsp_series *s = fsp__table_get(&e->table, vm, metric);
  if (s == NULL || s->registered || register_series(e, s, 1) != 0)
    return -1; /* the same series under two sources: the first one found is read */
  fsp__table_set_source(&e->table, vm, metric, source);
  pthread_mutex_lock(&s->lock);
  s->warm_pending = 1;
  pthread_mutex_unlock(&s->lock);
  return push_ptr(&e->warm, &e->n_warm, &e->cap_warm, s);
}

static void stop_threads(fsp_engine *e) {
  pthread_mutex_lock(&e->run_lock);
  e->stop = 1;
  pthread_cond_broadcast(&e->run_cond);
  pthread_mutex_unlock(&e->run_lock);
  if (e->stepper_up)
    pthread_join(e->stepper, NULL);
  for (int i = 0; i < e->n_workers; i++)
    pthread_join(e->workers[i], NULL);
  if (e->flusher_up)
    pthread_join(e->flusher, NULL);
  e->stepper_up = e->flusher_up = 0;
  e->n_workers = 0;
}

int fsp_engine_start(fsp_engine *e, char *err, size_t err_len) {
  e->warm_t0 = mono_now();
  int n = fsp__store_scan(&e->store, warm_found, e, err, err_len);
  if (n < 0)
    return -1;
  e->warm_series = (uint64_t)e->n_warm;
  e->next_sweep_s = engine_now(e);
  if (e->n_warm > 0)
    fsp__log(e, FSP_LOG_INFO, "warm start: %zu series found in %s, reading their history",
             e->n_warm, e->store.data_dir);
  e->started = 1;
  if (e->cfg.manual)
    return 0;
  e->workers = calloc((size_t)e->cfg.workers, sizeof(*e->workers));
  int rc = e->workers == NULL ? -1 : 0;
  if (rc == 0 && (rc = spawn(e, &e->stepper, stepper_main, "fsf step")) == 0)
    e->stepper_up = 1;
  if (rc == 0 && (rc = spawn(e, &e->flusher, flusher_main, "fsf rrd")) == 0)
    e->flusher_up = 1;
  for (int i = 0; rc == 0 && i < e->cfg.workers; i++)
    if ((rc = spawn(e, &e->workers[i], worker_main, "fsf fit")) == 0)
      e->n_workers++;
  if (rc != 0) {
    stop_threads(e);
    snprintf(err, err_len, "cannot start threads (%s)", strerror(rc > 0 ? rc : ENOMEM));
    return -1;
  }
  return 0;
}

int fsp_engine_add(fsp_engine *e, const char *vm, const char *metric, double ts_s,
                   double value) {
  return fsp__table_add(&e->table, vm, metric, ts_s, value);
}

void fsp_engine_set_host_set(fsp_engine *e, const char *vm, const char *metric,
                             const char *set) {
  fsp__table_set_host_set(&e->table, vm, metric, set);
}

void fsp_engine_set_source(fsp_engine *e, const char *vm, const char *metric,
                           const char *plugin) {
  fsp__table_set_source(&e->table, vm, metric, plugin);
}

long fsp_engine_pump(fsp_engine *e) {
  long n = step_round(e);
  pthread_mutex_lock(&e->reg_lock);
  size_t jobs = e->n_all + e->n_warm;
  pthread_mutex_unlock(&e->reg_lock);
  for (size_t i = 0; i < jobs && worker_job(e); i++)
    ;
  flush_once(e);
  return n;
}

void fsp_engine_stop(fsp_engine *e) {
  if (e->stopped)
    return;
  e->stopped = 1;
  stop_threads(e);
  if (e->started) {
    e->quiet = 1; /* collectd's write threads are gone: keep the steps, emit nothing */
    step_round(e);
    flush_once(e);
  }
}

void fsp_engine_destroy(fsp_engine *e) {
  if (e == NULL)
    return;
  fsp_engine_stop(e);
  for (int i = 0; i < e->n_sets; i++) {
    fsp__series_free(e->sets[i]->total);
    free(e->sets[i]->members);
    free(e->sets[i]);
  }
  free(e->sets);
  for (fsp_series *s = e->dead, *next; s != NULL; s = next) { /* threads are gone */
    next = s->dead_next;
    fsp__series_free(s);
  }
  fsp__recs_free(&e->work);
  free(e->all);
  free(e->warm);
  free(e->workers);
  fsp__table_free(&e->table);
  fsp__store_free(&e->store);
  pthread_mutex_destroy(&e->reg_lock);
  pthread_mutex_destroy(&e->run_lock);
  pthread_cond_destroy(&e->run_cond);
  free(e);
}

void fsp_engine_get_stats(fsp_engine *e, fsp_engine_stats *out) {
  memset(out, 0, sizeof(*out));
  fsp__table_counts(&e->table, &out->values, &out->late, &out->series);
  out->steps = e->steps;
  out->forecasts = e->forecasts;
  out->set_forecasts = e->set_forecasts;
  out->fits = e->fits;
  out->fit_failures = e->fit_failures;
  out->warm_series = e->warm_series;
  out->warm_slots = e->warm_slots;
  out->warm_done = e->warm_done;
  out->rrd_samples = e->rrd_samples;
  out->rrd_errors = e->rrd_errors;
  out->evicted = e->evicted;
  out->evicting = e->evicting;
  out->rewarmed = e->rewarmed;
}
