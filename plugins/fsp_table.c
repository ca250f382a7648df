/* fsp_table.c -- the write path: (VM, metric) -> series, and the per-step mean.
 *
 * 64 stripes, each a chained hash table under its own mutex; a series lives in the
 * stripe its hash picks, so two write threads contend only when they touch the same
 * stripe at once. A write costs one hash of the two names, one lock, a bucket walk and
 * two additions; closing a step appends one record to the stripe's queue (amortised
 * O(1), the queue is taken whole by the stepper). Buckets double when the stripe holds
 * more series than buckets.
 * Eviction: a write only sets the series' seen flag; the stepper's sweep (at most once
 * per step) turns the flag into the sweep's time and unlinks the series whose time is a
 * timeout old, so the write path never reads a clock and never meets a dying series.
 * Not here: what happens to a closed step (fsp_engine.c).
 */
#include "plugins/fsp_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fsp__recs_push(fsp_recs *r, fsp_rec rec) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 64;
    fsp_rec *v = realloc(r->v, cap * sizeof(*v));
    if (v == NULL)
      return -1;
    r->v = v;
    r->cap = cap;
  }
  r->v[r->n++] = rec;
  return 0;
}

void fsp__recs_free(fsp_recs *r) {
  free(r->v);
  r->v = NULL;
  r->n = r->cap = 0;
}

/* FNV-1a over vm, a NUL, metric */
uint64_t fsp__hash(const char *vm, const char *metric) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char *p = (const unsigned char *)vm; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  h *= 1099511628211ull;
  for (const unsigned char *p = (const unsigned char *)metric; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return h;
}

fsp_series *fsp__series_new(const char *vm, const char *metric) {
  fsp_series *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return NULL;
  }
  snprintf(s->vm, sizeof(s->vm), "%s", vm);
  snprintf(s->metric, sizeof(s->metric), "%s", metric);
  s->hash = fsp__hash(s->vm, s->metric);
  s->seen = 1; /* a new series gets a whole timeout from the next sweep */
  s->open_slot = INT64_MIN;
  s->last_origin = -1;
  return s;
}

void fsp__series_free(fsp_series *s) {
  if (s == NULL)
    return;
  fc_forecaster_destroy(s->fc);
  fsp__recs_free(&s->backlog);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

int fsp__table_init(fsp_table *t, int step_s) {
  memset(t, 0, sizeof(*t));
  t->step_s = step_s;
  for (int i = 0; i < FSP_STRIPES; i++) {
    struct fsp_stripe *st = &t->stripes[i];
    st->n_buckets = 16;
    st->buckets = calloc(st->n_buckets, sizeof(*st->buckets));
    if (st->buckets == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
      free(st->buckets);
      st->buckets = NULL;
      for (int j = 0; j < i; j++) {
        free(t->stripes[j].buckets);
        pthread_mutex_destroy(&t->stripes[j].lock);
      }
      return -1;
    }
  }
  return 0;
}

void fsp__table_free(fsp_table *t) {
  for (int i = 0; i < FSP_STRIPES; i++) {
    struct fsp_stripe *st = &t->stripes[i];
    for (size_t b = 0; b < st->n_buckets; b++)
      for (fsp_series *s = st->buckets[b], *next; s != NULL; s = next) {
        next = s->next;
        fsp__series_free(s);
      }
    free(st->buckets);
    fsp__recs_free(&st->pending);
    pthread_mutex_destroy(&st->lock);
  }
}

static struct fsp_stripe *stripe_of(fsp_table *t, uint64_t h) {
  return &t->stripes[(h >> 58) & (FSP_STRIPES - 1)]; /* top bits: buckets use the low */
}

static fsp_series *find_locked(struct fsp_stripe *st, uint64_t h, const char *vm,
                               const char *metric) {
  for (fsp_series *s = st->buckets[h & (st->n_buckets - 1)]; s != NULL; s = s->next)
    if (s->hash == h && strcmp(s->vm, vm) == 0 && strcmp(s->metric, metric) == 0)
      return s;
  return NULL;
}

/* Doubles the buckets; on no memory keeps the old ones (longer chains, still right). */
static void grow_locked(struct fsp_stripe *st) {
  size_t n = 2 * st->n_buckets;
  fsp_series **b = calloc(n, sizeof(*b));
  if (b == NULL)
    return;
  for (size_t i = 0; i < st->n_buckets; i++)
    for (fsp_series *s = st->buckets[i], *next; s != NULL; s = next) {
      next = s->next;
      s->next = b[s->hash & (n - 1)];
      b[s->hash & (n - 1)] = s;
    }
  free(st->buckets);
  st->buckets = b;
  st->n_buckets = n;
}

static fsp_series *insert_locked(struct fsp_stripe *st, uint64_t h, const char *vm,
                                 const char *metric) {
  fsp_series *s = fsp__series_new(vm, metric);
  if (s == NULL)
    return NULL;
  if (st->n >= st->n_buckets)
    grow_locked(st);
  s->next = st->buckets[h & (st->n_buckets - 1)];
  st->buckets[h & (st->n_buckets - 1)] = s;
  st->n++;
  return s;
}

/* Closes the open step into the stripe's queue. On no memory the step is lost. */
static void close_step_locked(struct fsp_stripe *st, fsp_series *s) {
  if (s->count > 0)
    (void)fsp__recs_push(&st->pending,
                         (fsp_rec){.s = s, .slot = s->open_slot, .mean = s->sum / s->count});
  s->sum = 0.0;
  s->count = 0;
}

int fsp__table_add(fsp_table *t, const char *vm, const char *metric, double ts_s,
                   double value) {
  if (!isfinite(value) || !isfinite(ts_s))
    return FSP_ADD_IGNORED;
  int64_t slot = (int64_t)floor(ts_s / t->step_s + 0.5);
  uint64_t h = fsp__hash(vm, metric);
  struct fsp_stripe *st = stripe_of(t, h);
  int bits = FSP_ADD_STORED;
  pthread_mutex_lock(&st->lock);
  fsp_series *s = find_locked(st, h, vm, metric);
  if (s == NULL) {
    if ((s = insert_locked(st, h, vm, metric)) == NULL) {
      pthread_mutex_unlock(&st->lock);
      return FSP_ADD_IGNORED;
    }
    bits |= FSP_ADD_NEW;
  }
  if (slot > s->open_slot) {
    if (s->count > 0)
      bits |= FSP_ADD_CLOSED;
    close_step_locked(st, s);
    s->open_slot = slot;
  } else if (slot < s->open_slot) {
    st->late++;
    pthread_mutex_unlock(&st->lock);
    return FSP_ADD_LATE;
  }
  s->sum += value;
  s->count++;
  s->seen = 1; /* the sweep turns this into a time: no clock read on the write path */
  st->values++;
  pthread_mutex_unlock(&st->lock);
  return bits;
}

fsp_series *fsp__table_get(fsp_table *t, const char *vm, const char *metric) {
  uint64_t h = fsp__hash(vm, metric);
  struct fsp_stripe *st = stripe_of(t, h);
  pthread_mutex_lock(&st->lock);
  fsp_series *s = find_locked(st, h, vm, metric);
  if (s == NULL)
    s = insert_locked(st, h, vm, metric);
  pthread_mutex_unlock(&st->lock);
  return s;
}

void fsp__table_set_host_set(fsp_table *t, const char *vm, const char *metric,
                             const char *set) {
  uint64_t h = fsp__hash(vm, metric);
  struct fsp_stripe *st = stripe_of(t, h);
  pthread_mutex_lock(&st->lock);
  fsp_series *s = find_locked(st, h, vm, metric);
  if (s != NULL)
    snprintf(s->set, sizeof(s->set), "%s", set != NULL ? set : "");
  pthread_mutex_unlock(&st->lock);
}

void fsp__table_host_set(fsp_table *t, const fsp_series *s, char *out) {
  struct fsp_stripe *st = stripe_of(t, s->hash);
  pthread_mutex_lock(&st->lock);
  memcpy(out, s->set, FSP_NAME_MAX);
  pthread_mutex_unlock(&st->lock);
}

void fsp__table_set_source(fsp_table *t, const char *vm, const char *metric,
                           const char *plugin) {
  uint64_t h = fsp__hash(vm, metric);
  struct fsp_stripe *st = stripe_of(t, h);
  pthread_mutex_lock(&st->lock);
  fsp_series *s = find_locked(st, h, vm, metric);
  if (s != NULL)
    snprintf(s->source, sizeof(s->source), "%s", plugin);
  pthread_mutex_unlock(&st->lock);
}

void fsp__table_source(fsp_table *t, const fsp_series *s, char *out) {
  struct fsp_stripe *st = stripe_of(t, s->hash); /* a host-set total: harmless */
  pthread_mutex_lock(&st->lock);
  snprintf(out, FSP_NAME_MAX, "%s", s->source[0] ? s->source : "foresight_forecast");
  pthread_mutex_unlock(&st->lock);
}

int fsp__table_take(fsp_table *t, fsp_recs *out) {
  int rc = 0;
  for (int i = 0; i < FSP_STRIPES; i++) {
    struct fsp_stripe *st = &t->stripes[i];
    pthread_mutex_lock(&st->lock);
    if (out->n == 0 && st->pending.n > 0) {
      fsp_recs tmp = *out; /* swap: no copy in the common case */
      *out = st->pending;
      st->pending = tmp;
    } else {
      for (size_t k = 0; k < st->pending.n && rc == 0; k++)
        rc = fsp__recs_push(out, st->pending.v[k]);
      st->pending.n = 0;
    }
    pthread_mutex_unlock(&st->lock);
  }
  return rc;
}

void fsp__table_counts(fsp_table *t, uint64_t *values, uint64_t *late, uint64_t *series) {
  *values = *late = *series = 0;
  for (int i = 0; i < FSP_STRIPES; i++) {
    struct fsp_stripe *st = &t->stripes[i];
    pthread_mutex_lock(&st->lock);
    *values += st->values;
    *late += st->late;
    *series += st->n;
    pthread_mutex_unlock(&st->lock);
  }
}

/* Unlinks the stripe's series last seen timeout_s before now onto *dead. */
static size_t sweep_stripe_locked(struct fsp_stripe *st, double now, double timeout_s,
                                  fsp_series **dead) {
  size_t n = 0;
  for (size_t b = 0; b < st->n_buckets; b++)
    for (fsp_series **link = &st->buckets[b], *s; (s = *link) != NULL;) {
      if (s->seen) {
        s->seen = 0;
        s->seen_s = now;
      } else if (now - s->seen_s >= timeout_s) {
        *link = s->next;
        s->next = NULL;
        s->unlinked = 1;
        s->dead_next = *dead;
        *dead = s;
        st->n--;
        n++;
        continue;
      }
      link = &s->next;
    }
  /* the stepper took the queue before this sweep and a queued step means a write since
   * the last one, so none should refer to these; dropping any keeps that a guarantee */
  size_t k = 0;
  for (size_t i = 0; n > 0 && i < st->pending.n; i++)
    if (!st->pending.v[i].s->unlinked)
      st->pending.v[k++] = st->pending.v[i];
  if (n > 0)
    st->pending.n = k;
  return n;
}

size_t fsp__table_sweep(fsp_table *t, double now, double timeout_s, fsp_series **dead) {
  size_t n = 0;
  for (int i = 0; i < FSP_STRIPES; i++) {
    struct fsp_stripe *st = &t->stripes[i];
    pthread_mutex_lock(&st->lock);
    n += sweep_stripe_locked(st, now, timeout_s, dead);
    pthread_mutex_unlock(&st->lock);
  }
  return n;
}
