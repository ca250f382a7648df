/* fsp_internal.h -- what the engine's files share: the series record, the striped
 * table (fsp_table.c), the RRD side (fsp_store.c) and the engine (fsp_engine.c).
 * Each field names the lock or the thread that owns it. */
#ifndef PLUGINS_FSP_INTERNAL_H
#define PLUGINS_FSP_INTERNAL_H

#include "history/history.h"
#include "plugins/fsp_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define FSP_NAME_MAX 128 /* collectd's DATA_MAX_NAME_LEN */
#define FSP_STRIPES 64

struct fsp_series;

/* A closed step of a series. */
typedef struct fsp_rec {
  struct fsp_series *s;
  int64_t slot;
  double mean;
} fsp_rec;

typedef struct fsp_recs {
  fsp_rec *v;
  size_t n, cap;
} fsp_recs;

int fsp__recs_push(fsp_recs *r, fsp_rec rec); /* -1 on no memory */
void fsp__recs_free(fsp_recs *r);

typedef struct fsp_series {
  struct fsp_series *next; /* bucket chain: stripe lock */
  uint64_t hash;           /* immutable */
  char vm[FSP_NAME_MAX];   /* immutable ("set-<name>" for a host-set total) */
  char metric[FSP_NAME_MAX];

  /* stripe lock: the open step and the host set the write path was told */
  int64_t open_slot;
  double sum;
  uint32_t count;
  char set[FSP_NAME_MAX];
  char source[FSP_NAME_MAX]; /* plugin folder of the usage file, "" until told */
  int seen;            /* a value came since the last sweep (set by every write) */
  double seen_s;       /* engine clock at the sweep that last found `seen` */
  int unlinked;        /* out of the table: the write path can no longer reach it */

  /* lock: the forecaster and its bookkeeping */
  pthread_mutex_t lock;
  fc_forecaster *fc;
  int warm_pending;    /* history not read yet: steps wait in backlog; a worker or
                          the warm list holds the series */
  int warm_at_start;   /* found by the start scan (counts toward the warm start log) */
  fsp_recs backlog;
  int64_t last_origin; /* newest origin emitted, -1 none */
  int fitting;         /* a worker holds it (fit, or warm start then fit) */
  int evicted;         /* timed out: install nothing, emit nothing, store nothing */
  double next_fit_s;   /* monotonic time of the next fit */
  int len_at_attempt;  /* series length at the last failed fit */

  /* stepper only */
  int registered;
  char agg_set[FSP_NAME_MAX];
  int is_total;        /* a host-set total: not in the table */
  struct fsp_series *dead_next; /* evicted, waiting until nothing refers to it */
  int dead_marked;     /* no worker holds it any more; dead_flush taken then */
  uint64_t dead_flush; /* flushes started when it became idle: free after a later one */

  /* flusher only */
  unsigned ensured;    /* bit 0 usage file, bit 1 + i horizon i's file */
  unsigned failed;     /* same bits: an error was logged (log once) */
} fsp_series;

/* ---- fsp_table.c: the write path ---- */

struct fsp_stripe {
  pthread_mutex_t lock;
  fsp_series **buckets;
  size_t n_buckets, n;
  fsp_recs pending; /* closed steps for the stepper */
  uint64_t values, late;
};

typedef struct fsp_table {
  struct fsp_stripe stripes[FSP_STRIPES];
  int step_s;
} fsp_table;

int fsp__table_init(fsp_table *t, int step_s);
void fsp__table_free(fsp_table *t); /* frees every series */
uint64_t fsp__hash(const char *vm, const char *metric);
int fsp__table_add(fsp_table *t, const char *vm, const char *metric, double ts_s,
                   double value);
/* Finds or creates the series (its step stays closed until a sample comes). */
fsp_series *fsp__table_get(fsp_table *t, const char *vm, const char *metric);
void fsp__table_set_host_set(fsp_table *t, const char *vm, const char *metric,
                             const char *set);
/* Copies the series' host set (stripe lock held briefly). */
void fsp__table_host_set(fsp_table *t, const fsp_series *s, char *out);
void fsp__table_set_source(fsp_table *t, const char *vm, const char *metric,
                           const char *plugin);
/* Copies the series' source, "foresight_forecast" when none was told. */
void fsp__table_source(fsp_table *t, const fsp_series *s, char *out);
/* Moves every stripe's closed steps to *out (appended). -1 on no memory. */
int fsp__table_take(fsp_table *t, fsp_recs *out);
void fsp__table_counts(fsp_table *t, uint64_t *values, uint64_t *late, uint64_t *series);
/* The sweep (stepper only): marks every series a value reached since the last sweep as
 * seen at `now`, and unlinks the ones last seen `timeout_s` or more before `now`, with
 * their closed steps still queued; they are chained through dead_next onto *dead (the
 * caller owns them now). Returns how many were unlinked. */
size_t fsp__table_sweep(fsp_table *t, double now, double timeout_s, fsp_series **dead);
fsp_series *fsp__series_new(const char *vm, const char *metric); /* NULL on no memory */
void fsp__series_free(fsp_series *s);

/* ---- fsp_store.c: RRD files ---- */

/* A sample for a series' file: kind 0 the step mean (v[0]), kind 1 + i horizon i
 * (mean, lo, hi). */
typedef struct fsp_hist_rec {
  fsp_series *s;
  int kind;
  uint64_t seq;
  int64_t t;
  double v[3];
} fsp_hist_rec;

typedef struct fsp_store {
  char *data_dir;
  int step_s;
  int n_horizons;
  int horizon_s[FC_MAX_HORIZONS];
  fs_hist_layout usage_layout; /* DS value */
  fs_hist_layout band_layout;  /* DS mean, lo, hi */
  pthread_mutex_t lock; /* guards queue and seq */
  fsp_hist_rec *queue;
  size_t n, cap;
  uint64_t seq;
  uint64_t flushes_started;        /* lock: a flush took the queue */
  _Atomic uint64_t flushes_done;   /* the number of the last flush that finished */
} fsp_store;

int fsp__store_init(fsp_store *st, const char *data_dir, const fc_config *fc);
void fsp__store_free(fsp_store *st);
/* Queues a sample (thread-safe). -1 on no memory (the sample is lost). */
int fsp__store_push(fsp_store *st, fsp_series *s, int kind, int64_t t, const double *v);
/* Writes everything queued; returns samples written, counts errors in *errors.
 * Flusher thread only (or manual pump): flushes never overlap, so a flush numbered
 * above a flushes_started read at time T has written everything queued before T. */
long fsp__store_flush(fsp_engine *e, uint64_t *errors);
/* Finds <vm>/<source>/fs_usage-<metric>.rrd under data_dir; calls found() for each.
 * Returns how many, -1 when data_dir cannot be read (not when absent). */
int fsp__store_scan(fsp_store *st,
                    int (*found)(void *ctx, const char *vm, const char *metric,
                                 const char *source),
                    void *ctx, char *err, size_t err_len);
/* Flushes started so far (thread-safe). */
uint64_t fsp__store_flushes_started(fsp_store *st);
/* Reads the last `slots` steps of the series' usage file into the forecaster (caller
 * holds s->lock). Returns slots read, FS_HIST_ENOENT when there is no file (err
 * filled), or another negative value with err filled. */
long fsp__store_load(fsp_engine *e, fsp_series *s, int slots, char *err, size_t err_len);

/* ---- fsp_engine.c ---- */
void fsp__log(fsp_engine *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
fsp_store *fsp__engine_store(fsp_engine *e);
fsp_table *fsp__engine_table(fsp_engine *e);

#endif /* PLUGINS_FSP_INTERNAL_H */
