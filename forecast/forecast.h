/* forecast.h -- libforecast, the public API.
 *
 * libforecast turns a stream of samples of one quantity (a VM's CPU, memory, disk or
 * network use) into forecasts with calibrated intervals. It knows nothing of collectd,
 * libvirt or MQTT; plugins/ and tools/ translate.
 *
 * Three objects, from the bottom up:
 *   fc_series      the samples of one (VM, metric) on a fixed step grid, bounded;
 *   fc_model       what a retrain produces from a series: the model(s) that won the
 *                  backtest, their state, and the interval calibration; it is advanced
 *                  one slot at a time and asked for forecasts;
 *   fc_forecaster  a series and its current model together, as a plugin keeps them.
 *
 * Threads: no object carries a lock. Each object is used by one thread at a time;
 * fc_model_fit() reads its series argument only, so a caller can fit on a snapshot
 * (fc_series_clone) in a worker while the original keeps receiving samples, then install
 * the result with fc_forecaster_install(), which replays the samples that arrived since.
 *
 * Errors: functions return 0 (or a non-negative count) on success and a negative FC_E*
 * code on failure, with a message in the caller's fc_error naming the offending value.
 * On failure nothing changes. The library never prints and keeps no global state.
 */
#ifndef FORECAST_H
#define FORECAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  FC_OK = 0,
  FC_EINVAL = -1,  /* an argument or configuration value is out of its domain */
  FC_ENOMEM = -2,  /* an allocation failed */
  FC_ENODATA = -3, /* not enough (valid) history for what was asked */
  FC_ESTATE = -4,  /* the call is not valid in the object's current state */
};

typedef struct fc_error {
  int code;      /* one of FC_E*, 0 when no error */
  char msg[256]; /* e.g. "horizon 0 (must be in [1, 2016] slots)" */
} fc_error;

/* Returns a static English name of an FC_E* code ("invalid argument", ...). */
const char *fc_strerror(int code);

/* ---------------------------------------------------------------------------------- */
/* Configuration                                                                       */

#define FC_MAX_HORIZONS 8

/* Model kinds. A configuration enables a set of them (bit (1u << kind)). */
typedef enum fc_kind {
  FC_KIND_NAIVE = 0,    /* last value */
  FC_KIND_SNAIVE,       /* same slot yesterday, or last week once two weeks exist */
  FC_KIND_ETS,          /* Holt-Winters, additive damped trend + additive season;
                           non-seasonal ETS where no daily cycle is found */
  FC_KIND_FOURIER,      /* piecewise-linear trend with changepoints + Fourier season */
  FC_KIND_AR,           /* autoregression on recent and seasonal lags */
  FC_KIND_GRU,          /* small gated recurrent network, trained per series */
  FC_KIND_COUNT
} fc_kind;

#define FC_KIND_BIT(k) (1u << (unsigned)(k))
#define FC_KINDS_ALL ((1u << FC_KIND_COUNT) - 1u)

/* Returns the kind's name ("naive", "snaive", "ets", "fourier", "ar", "gru"). */
const char *fc_kind_name(fc_kind kind);
/* Parses a kind's name; returns 0 and sets *kind, or FC_EINVAL. */
int fc_kind_parse(const char *name, fc_kind *kind, fc_error *err);

typedef struct fc_config {
  int step_s;                      /* grid step, seconds (default 300) */
  int n_horizons;                  /* number of horizons (default 3) */
  int horizons[FC_MAX_HORIZONS];   /* in slots, increasing (default 1, 3, 12) */
  double confidence;               /* central interval, in (0, 1) (default 0.9) */
  int history_slots;               /* training window and store bound (default 14 days) */
  int backtest_slots;              /* most recent part of the window held out for model
                                      selection and calibration (default 3 days) */
  unsigned kinds;                  /* enabled model kinds, FC_KIND_BIT() set;
                                      default all but FC_KIND_GRU (see models.c) */
  double anomaly_factor;           /* a sample beyond factor x the interval half-width
                                      from the forecast is flagged (default 3) */
  uint32_t seed;                   /* for models with random initialisation (GRU) */
} fc_config;

/* Fills *cfg with the defaults above. */
void fc_config_default(fc_config *cfg);
/* Checks every field; on the first bad one returns FC_EINVAL naming it. */
int fc_config_validate(const fc_config *cfg, fc_error *err);
/* Slots per day for cfg->step_s (86400 / step_s). */
int fc_config_season(const fc_config *cfg);

/* ---------------------------------------------------------------------------------- */
/* Series store                                                                        */

typedef struct fc_series fc_series;

/* What fc_series_add() did with a sample (bit set). */
enum {
  FC_SAMPLE_STORED = 1 << 0,    /* stored in its slot */
  FC_SAMPLE_GAP = 1 << 1,       /* slots were skipped before it; they are missing */
  FC_SAMPLE_REPLACED = 1 << 2,  /* its slot held a sample already, this one is nearer */
  FC_SAMPLE_DUPLICATE = 1 << 3, /* its slot held a nearer (or equal) sample; dropped */
  FC_SAMPLE_LATE = 1 << 4,      /* older than the newest slot (clock went back); dropped */
  FC_SAMPLE_INVALID = 1 << 5,   /* NaN, infinite or negative; dropped, slot stays missing */
  FC_SAMPLE_RESET = 1 << 6,     /* counter series: the counter went down; no rate for
                                   this slot, the next sample continues from here */
};

typedef enum fc_series_kind {
  FC_SERIES_GAUGE = 0,   /* samples are the value (cores used, KB, KB/s) */
  FC_SERIES_COUNTER = 1, /* samples are a cumulative counter; the store keeps its rate
                            per second between consecutive samples */
} fc_series_kind;

/* Creates an empty series on a `step_s` grid keeping at most `capacity_slots` slots
 * (older ones are forgotten). Memory: 9 bytes per slot (a double and a flag byte) plus
 * a fixed 100 bytes. Returns NULL and fills *err on bad arguments or no memory. */
fc_series *fc_series_create(int step_s, int capacity_slots, fc_series_kind kind,
                            fc_error *err);
void fc_series_destroy(fc_series *s); /* NULL is fine */
/* Deep copy, for fitting in another thread. NULL on no memory (err filled). */
fc_series *fc_series_clone(const fc_series *s, fc_error *err);

/* Adds a sample taken at `ts_s` (seconds). It goes to the nearest slot,
 * slot = floor(ts_s / step_s + 1/2); if the slot is taken, the sample nearer to the slot
 * time is kept (tie: the later one). Returns the FC_SAMPLE_* bits. Never fails. */
int fc_series_add(fc_series *s, double ts_s, double value);

/* Declares that time has reached `slot`: slots up to it without a sample are missing,
 * and a sample for them arriving later is late. No-op if slot <= the newest slot. */
void fc_series_advance(fc_series *s, int64_t slot);

/* Number of slots from the oldest kept to the newest (0 when empty). */
int fc_series_len(const fc_series *s);
/* Slot number of the newest slot (slot k starts at k * step_s); -1 when empty. */
int64_t fc_series_last_slot(const fc_series *s);
int fc_series_step(const fc_series *s);
/* Value at slot `slot`, NaN when missing or outside the kept range. */
double fc_series_at(const fc_series *s, int64_t slot);
/* Copies the `n` slots ending at `last_slot` (inclusive), oldest first, into out[0..n-1]
 * (NaN where missing); flags[] (may be NULL) gets FC_SLOT_* bits. Returns n. */
int fc_series_window(const fc_series *s, int64_t last_slot, int n, double *out,
                     uint8_t *flags);

enum {
  FC_SLOT_PRESENT = 1 << 0,
  FC_SLOT_ANOMALY = 1 << 1, /* flagged by the forecaster; down-weighted in training */
};
/* Marks slot as an anomaly (no-op outside the kept range). */
void fc_series_flag_anomaly(fc_series *s, int64_t slot);

/* Counts of what was dropped or flagged since creation. */
typedef struct fc_series_stats {
  uint64_t stored, gaps, replaced, duplicates, late, invalid, resets, anomalies;
} fc_series_stats;
void fc_series_get_stats(const fc_series *s, fc_series_stats *out);

/* ---------------------------------------------------------------------------------- */
/* Models                                                                               */

/* A forecast for one horizon: mean and the central interval at the configured
 * confidence. */
typedef struct fc_point {
  int h;       /* horizon, slots */
  double mean; /* point forecast */
  double lo;   /* lower bound, quantile (1 - confidence) / 2 */
  double hi;   /* upper bound, quantile (1 + confidence) / 2 */
} fc_point;

typedef struct fc_model fc_model;

/* Fits the enabled kinds on the last cfg->history_slots of `series` (a window ending at
 * its newest slot), detects daily/weekly seasonality, selects per horizon the model or
 * combination with the lowest backtest loss on the held-out recent part, and calibrates
 * the intervals on its out-of-sample errors. The result is positioned at the series'
 * newest slot. Borrows cfg and series; the caller owns the result
 * (fc_model_destroy). FC_ENODATA when the window has too few valid samples. */
fc_model *fc_model_fit(const fc_config *cfg, const fc_series *series, fc_error *err);
void fc_model_destroy(fc_model *m); /* NULL is fine */

/* Advances the model by one slot with the value observed there (NaN: missing).
 * Returns 1 when the value is an anomaly (outside anomaly_factor x the interval), else 0.
 * O(1) in the history length, no allocation. */
int fc_model_observe(fc_model *m, double y);
/* Writes cfg->n_horizons forecasts from the current slot to out[] (caller-owned). */
void fc_model_forecast(const fc_model *m, fc_point out[]);
/* The newest slot the model has seen. */
int64_t fc_model_slot(const fc_model *m);
/* A short name of the selection, e.g. "ets" or "ets+ar" (valid while m lives). */
const char *fc_model_name(const fc_model *m);

/* What a fit found, for logs, tests and the bench. */
typedef struct fc_fit_report {
  int season_slots;                 /* detected period: 0 none, 288 daily, 2016 weekly */
  double loss[FC_KIND_COUNT];       /* backtest loss per kind (NaN: not fitted) */
  double train_loss[FC_KIND_COUNT]; /* training loss reported by the kind (NaN: none) */
  char chosen[FC_MAX_HORIZONS][32]; /* the selection per horizon */
} fc_fit_report;
void fc_model_get_report(const fc_model *m, fc_fit_report *out);

/* ---------------------------------------------------------------------------------- */
/* Forecaster: a series and its model                                                   */

typedef struct fc_forecaster fc_forecaster;

fc_forecaster *fc_forecaster_create(const fc_config *cfg, fc_series_kind kind,
                                    fc_error *err);
void fc_forecaster_destroy(fc_forecaster *f); /* NULL is fine */

/* Stores a sample and, for every slot it completes, advances the model (missing slots as
 * NaN). Returns the FC_SAMPLE_* bits of fc_series_add. */
int fc_forecaster_add(fc_forecaster *f, double ts_s, double value);
/* Declares that time has reached `slot` (fc_series_advance) and advances the model over
 * the missing slots, so forecasts can be made at a slot whose sample never came. */
void fc_forecaster_tick(fc_forecaster *f, int64_t slot);
/* Fits a new model on the forecaster's own series (in the calling thread). */
int fc_forecaster_retrain(fc_forecaster *f, fc_error *err);
/* Installs a model fitted elsewhere on a clone of this forecaster's series: advances it
 * over the slots that arrived since, then replaces the current one. Takes ownership of
 * m in every case (destroys it on failure). FC_EINVAL if m is newer than the series. */
int fc_forecaster_install(fc_forecaster *f, fc_model *m, fc_error *err);
/* Forecasts from the newest slot; FC_ESTATE when no model was fitted yet. */
int fc_forecaster_forecast(const fc_forecaster *f, fc_point out[], fc_error *err);
const fc_series *fc_forecaster_series(const fc_forecaster *f);
const fc_model *fc_forecaster_model(const fc_forecaster *f); /* NULL before a fit */

/* ---------------------------------------------------------------------------------- */
/* Host-set aggregation                                                                  */

/* Forecast of the sum of the members' series. The mean is the sum of the means; the
 * interval comes from the empirical quantiles of the *summed* recent out-of-sample
 * errors, aligned by slot, so correlated members widen it and independent ones
 * narrow it (it is not the sum of the bounds). All members must share the
 * configuration and be at the same slot (FC_EINVAL otherwise). A horizon with fewer
 * than 20 slots where every member has an error falls back to the sum of the bounds. */
int fc_aggregate_forecast(const fc_model *const members[], int n_members,
                          fc_point out[], fc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FORECAST_H */
