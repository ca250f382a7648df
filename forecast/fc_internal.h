/* fc_internal.h -- inside libforecast only: the model-kind interface and shared helpers.
 *
 * Every model kind (naive.c, ets.c, fourier.c, ar.c, gru.c) fills one fc__model_ops.
 * The selection engine (model.c) is written once against it:
 *
 *   st = ops->fit(&input, &err);        fit on a clean window, state positioned after
 *                                       the window's last sample
 *   loop: ops->predict(st, h_max, mu);  mean forecasts for h = 1..h_max
 *         ops->observe(st, y);          advance one slot (y finite, or NaN = missing)
 *   ops->destroy(st);
 *
 * Contract for a kind:
 *   - fit() estimates its parameters from the data (no hand-set constants) and never
 *     reads outside y[0..n-1]; it returns NULL with err filled on failure (FC_ENODATA
 *     when the window is too short for the kind, e.g. a seasonal model without two
 *     seasons). It may allocate; the state owns everything it allocated.
 *   - observe() is O(1) in the history length (O(season) or O(lags) is fine, O(n) is
 *     not), never allocates, and accepts NaN as "missing": it then advances the state
 *     as if it had seen its own one-step forecast.
 *   - predict() writes mean[0..h_max-1] for horizons 1..h_max, never allocates, and
 *     writes only finite values.
 *   - The state is used by one thread at a time.
 */
#ifndef FC_INTERNAL_H
#define FC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "forecast.h"

/* What a kind is fitted on. The engine prepares it from the series window. */
typedef struct fc__fit_input {
  const double *y;  /* n values, oldest first, all finite: gaps are already filled by
                       linear interpolation (constant at the ends) */
  const double *w;  /* n weights in [0, 1]: 0 for a filled gap, < 1 for a sample flagged
                       as an anomaly, 1 otherwise. A kind that cannot weigh samples
                       treats w[i] < 0.5 as missing (its own one-step forecast). */
  int n;            /* window length, slots */
  int season;       /* daily period in slots if a daily cycle was detected, else 0 */
  int season_week;  /* weekly period in slots if a weekly cycle was detected, else 0 */
  int day_slots;    /* slots per day whatever was detected (288 at 300 s) */
  int h_max;        /* longest horizon predict() will be asked for */
  int64_t slot0;    /* grid slot number of y[0] (slot k starts at k * step_s) */
  uint32_t seed;    /* for kinds with random initialisation */
} fc__fit_input;

typedef struct fc__model_ops {
  fc_kind kind;
  const char *name;
  void *(*fit)(const fc__fit_input *in, fc_error *err);
  void (*observe)(void *st, double y);
  void (*predict)(const void *st, int h_max, double *mean);
  void (*destroy)(void *st);
  /* Training loss reported by the kind (e.g. final BPTT loss of the GRU, or the
   * one-step SSE/n of ETS); NaN if it has none. May be NULL. */
  double (*train_loss)(const void *st);
} fc__model_ops;

extern const fc__model_ops fc__naive_ops;
extern const fc__model_ops fc__snaive_ops;
extern const fc__model_ops fc__ets_ops;
extern const fc__model_ops fc__fourier_ops;
extern const fc__model_ops fc__ar_ops;
extern const fc__model_ops fc__gru_ops;

/* The ops of a kind (never NULL for kind < FC_KIND_COUNT). */
const fc__model_ops *fc__kind_ops(fc_kind kind);

/* ---- errors (error.c) ---- */
/* Sets err (if not NULL) to code and a printf-style message; returns code. */
int fc__fail(fc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- numeric helpers (numeric.c) ---- */
/* Linear interpolation of NaN runs in y[0..n-1] in place, constant at the ends; returns
 * the number of finite values found (0: all set to 0). */
int fc__fill_linear(double *y, int n);
/* The q-quantile (0 <= q <= 1) of x[0..n-1], type 7 (linear, as numpy's default);
 * reorders x. n > 0. */
double fc__quantile(double *x, int n, double q);
/* The 0-based position, in [0, n - 1], of the (n + 1)p-th of n ascending values
 * (Hyndman & Fan type 6, the rank split-conformal prediction takes; type 7 falls short
 * of a small sample's upper tail). n > 0. */
double fc__conformal_pos(int n, double p);
/* Mean of x[0..n-1] ignoring NaN; NaN if none. */
double fc__nanmean(const double *x, int n);

/* Nelder-Mead minimisation of f over x[0..dim-1] (dim <= 8), starting at x with initial
 * simplex steps step[]; parameters are kept inside [lo[i], hi[i]] by clamping. Stops
 * after max_evals evaluations or when the simplex's value spread falls below ftol.
 * Returns the best value; x holds the minimiser. (optim.c) */
double fc__nelder_mead(double (*f)(const double *x, void *ctx), void *ctx, int dim,
                       double *x, const double *step, const double *lo, const double *hi,
                       int max_evals, double ftol);

/* Ridge least squares: minimise sum_i w_i (y_i - x_i . b)^2 + lambda * sum_{j>=pen0} b_j^2
 * for the n x p row-major design X (p <= 64). Writes b[0..p-1]. Uses LAPACK (dposv on
 * the normal equations). Returns 0 or FC_ENODATA when the system is singular.
 * (linalg.c) */
int fc__ridge(const double *X, const double *y, const double *w, int n, int p,
              double lambda, int pen0, double *b, fc_error *err);

/* ---- seasonality (season.c) ---- */
/* Decides whether y[0..n-1] (finite) has a daily cycle of `day` slots and a weekly one
 * of 7 * day; sets *season to day or 0, *season_week to 7 * day or 0, and reports the
 * evidence (NaN when not computed): the daily seasonal strength, and the ratio of the
 * weekly to the daily seasonal difference. 0 or FC_ENOMEM. */
int fc__detect_season(const double *y, int n, int day, int *season, int *season_week,
                      double *strength_day, double *ratio_week);

/* ---- model internals shared with aggregate.c (model.c) ---- */
/* The ring of recent out-of-sample errors (actual - mean) of horizon index hi: entry
 * (slot % *len) holds the error for target slot `slot`, NaN where none. */
const double *fc__model_errors(const fc_model *m, int hi, int *len);
/* The configuration the model was fitted with. */
const fc_config *fc__model_config(const fc_model *m);
/* The phase of the hour of `slot` that the model's calibration is conditioned on (0
 * when it is not). */
int fc__model_phase(const fc_model *m, int64_t slot);
/* A phase's quantile `own` from n of its errors, shrunk toward the pooled quantile as
 * the model's own intervals are. */
double fc__phase_shrink(double own, int n, double pooled);

#endif /* FC_INTERNAL_H */
