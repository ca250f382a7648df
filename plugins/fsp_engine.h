/* fsp_engine.h -- the forecast write plugin's machinery, without collectd.
 *
 * Takes samples of (VM, metric) series from collectd's write threads, averages them per
 * step, feeds each closed step to a libforecast forecaster, forecasts every horizon and
 * hands the forecasts back (the glue dispatches them as fs_forecast value lists), sums
 * host sets (fc_aggregate_forecast), keeps RRD history through libhistory and rebuilds
 * every series from it after a restart.
 *
 * Threads (all created at fsp_engine_start, joined at fsp_engine_stop):
 *   write path  fsp_engine_add, any number of collectd write threads: a hash lookup and
 *               an accumulate under one of 64 striped locks; a closed step is appended
 *               to its stripe's queue. No allocation except for a new series.
 *   stepper     every 100 ms takes the queues, feeds the forecasters, forecasts, emits,
 *               host-set totals, and queues RRD samples.
 *   workers     `workers` threads: warm start (RRD fetch), then fits on a snapshot of
 *               a series every `retrain_interval_s` (no lock held while fitting).
 *   flusher     every `flush_interval_s` writes the queued RRD samples, one update per
 *               file per batch.
 * A series' forecaster is guarded by its own lock, held for a step's feed and forecast,
 * a snapshot, or an install; a slow fit never blocks the stepper.
 *
 * Eviction. A series that received no value for `series_timeout_s` is forgotten, as
 * collectd forgets a value list after Timeout x Interval: a fleet whose VMs come and go
 * keeps the memory of the VMs it has now. The stepper sweeps every series at most once
 * per min(step, timeout) (a write only sets a flag; the sweep gives it the time), so a
 * series goes between timeout and timeout + 2 sweep periods after its last value. It
 * leaves the table (the next value of that VM starts a new series), its host set's total
 * and the workers' list at once; its open step is queued for its usage file; it is freed
 * only when no worker holds it (a fit in flight is dropped, not installed) and a flush
 * that started after that has written its queued RRD samples. One INFO line per sweep
 * that evicted something.
 * Returning series. A series created after start whose usage file exists (a VM back
 * after eviction) is rebuilt from it and fitted first, as at a restart; the file is
 * looked for by a worker, never by the stepper or a write thread.
 *
 * Steps. Sample time ts goes to slot floor(ts / step + 1/2) (libforecast's nearest-slot
 * rule); a step closes when a sample of a later slot arrives, and its mean is the value
 * of the slot. A sample of an already closed slot is late and dropped (counted). The
 * last open step is not written at shutdown: a half step would shadow the rest of it
 * after a restart.
 *
 * Files (under data_dir, collectd's layout, see history/history.h), named as collectd's
 * rrdtool plugin would name the value lists (docs/contracts.md, "Values inside
 * collectd"), so foresight-graph and any RRD tool read them alike:
 *   <vm>/<source>/fs_usage-<metric>.rrd       step means, DS value; <source> is the
 *                                     plugin of the fs_usage lists (foresight_virt,
 *                                     foresight_replay), foresight_forecast for a series
 *                                     fed by a <Map> rule
 *   <vm>/foresight_forecast-<metric>/fs_forecast-h<s>.rrd  DS mean, lo, hi at the
 *                                     origin's time, as the value list (a graph shifts
 *                                     the band by h to overlay it on usage)
 *   set-<name>/foresight_forecast/fs_usage-<metric>.rrd and
 *   set-<name>/foresight_forecast-<metric>/fs_forecast-h<s>.rrd: host-set totals
 * Warm start: every <vm>/<any>/fs_usage-<metric>.rrd found at start is read back (the
 * last `history_slots` steps), fed to a new forecaster and fitted first, and its
 * forecasts emitted as soon as the fit ends.
 */
#ifndef PLUGINS_FSP_ENGINE_H
#define PLUGINS_FSP_ENGINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "forecast/forecast.h"

typedef struct fsp_engine fsp_engine;

/* One forecast: cfg.n_horizons points from the origin slot. Valid during the call. */
typedef struct fsp_forecast_out {
  const char *host;       /* the VM, or "set-<name>" for a host-set total */
  const char *metric;
  double origin_s;        /* time of the origin slot (the newest closed step) */
  int step_s;
  int n;                  /* points */
  const fc_point *points; /* points[i].h in slots */
  const char *model;      /* the model's name, "sum" for host-set totals */
} fsp_forecast_out;

enum { FSP_LOG_ERR = 3, FSP_LOG_WARNING = 4, FSP_LOG_INFO = 6 };

typedef void (*fsp_emit_fn)(void *ctx, const fsp_forecast_out *f);
typedef void (*fsp_log_fn)(void *ctx, int level, const char *msg);
typedef int (*fsp_thread_fn)(pthread_t *t, void *(*fn)(void *), void *arg,
                             const char *name);
typedef double (*fsp_clock_fn)(void *ctx); /* seconds, monotonic */
typedef void (*fsp_fit_hook_fn)(void *ctx, const char *vm, const char *metric);

#define FSP_SERIES_TIMEOUT_MAX (365 * 86400)

typedef struct fsp_engine_config {
  const char *data_dir;       /* copied; NULL: no RRD history */
  fc_config fc;               /* step, horizons, confidence, history, models */
  double retrain_interval_s;  /* > 0 */
  int workers;                /* 1..64 */
  double flush_interval_s;    /* > 0 */
  double series_timeout_s;    /* evict a series silent this long; 0 never, else >= 1 */
  int manual;                 /* no threads: the caller drives fsp_engine_pump (tests) */
  fsp_emit_fn emit;           /* required; called from the stepper and the workers */
  fsp_log_fn log;             /* may be NULL */
  void *ctx;                  /* passed to emit and log */
  fsp_thread_fn thread_create; /* NULL: pthread_create */
  fsp_clock_fn clock;         /* the series timeout's clock; NULL: CLOCK_MONOTONIC */
  fsp_fit_hook_fn on_fit;     /* tests: a worker calls it after a fit, before the
                                 install, holding no lock; NULL: none */
} fsp_engine_config;

/* Fills defaults: fc_config_default, retrain 3600 s, 1 worker, flush 1 s, series
 * timeout 86400 s, threads. */
void fsp_engine_config_default(fsp_engine_config *c);

/* Validates the configuration (the message names the bad value) and creates an idle
 * engine. The caller owns it: fsp_engine_destroy. NULL on error. */
fsp_engine *fsp_engine_create(const fsp_engine_config *c, char *err, size_t err_len);

/* Scans data_dir for warm start and starts the threads (none when manual).
 * -1 with a message on failure (nothing is left running). */
int fsp_engine_start(fsp_engine *e, char *err, size_t err_len);

/* What fsp_engine_add did (bits). */
enum {
  FSP_ADD_IGNORED = 0,
  FSP_ADD_STORED = 1 << 0,   /* accumulated into the open step */
  FSP_ADD_CLOSED = 1 << 1,   /* ... after closing the previous step */
  FSP_ADD_NEW = 1 << 2,      /* the series was created */
  FSP_ADD_LATE = 1 << 3,     /* for a closed step: dropped */
};
/* The write path: adds a sample of (vm, metric) at ts_s. NaN and infinities are
 * ignored. When the result has FSP_ADD_NEW or FSP_ADD_CLOSED, the caller should tell
 * the series' host set (fsp_engine_set_host_set), and on FSP_ADD_NEW its source
 * (fsp_engine_set_source): that keeps meta data lookups off all other samples.
 * Thread-safe. */
int fsp_engine_add(fsp_engine *e, const char *vm, const char *metric, double ts_s,
                   double value);
/* The host set of (vm, metric); "" or NULL: none. Thread-safe. */
void fsp_engine_set_host_set(fsp_engine *e, const char *vm, const char *metric,
                             const char *set);
/* The plugin folder of (vm, metric)'s usage file (the plugin of its fs_usage lists);
 * until told, "foresight_forecast". Thread-safe. */
void fsp_engine_set_source(fsp_engine *e, const char *vm, const char *metric,
                           const char *plugin);

/* Manual mode: runs one stepper round, every due warm start and fit, and one flush in
 * the calling thread. Returns the number of steps processed. */
long fsp_engine_pump(fsp_engine *e);

/* Stops and joins the threads, runs a last stepper round and flush. Idempotent. */
void fsp_engine_stop(fsp_engine *e);
/* Stops if needed and frees everything. NULL is fine. */
void fsp_engine_destroy(fsp_engine *e);

typedef struct fsp_engine_stats {
  uint64_t values;        /* samples accumulated */
  uint64_t late;          /* samples for closed steps, dropped */
  uint64_t steps;         /* closed steps fed to forecasters */
  uint64_t forecasts;     /* forecasts emitted (one per origin, all horizons) */
  uint64_t set_forecasts; /* host-set totals emitted */
  uint64_t fits, fit_failures;
  uint64_t warm_series, warm_slots, warm_done; /* series found, slots read, fitted */
  uint64_t rrd_samples, rrd_errors;
  uint64_t series;        /* in the table now */
  uint64_t evicted;       /* series timed out so far */
  uint64_t evicting;      /* evicted, not freed yet (a fit or a flush to wait for) */
  uint64_t rewarmed;      /* series created after start and rebuilt from their file */
} fsp_engine_stats;
void fsp_engine_get_stats(fsp_engine *e, fsp_engine_stats *out);

#endif /* PLUGINS_FSP_ENGINE_H */
