/* model.c -- fit, backtest selection and interval calibration; the streaming model.
 *
 * A fit takes the trailing window of a series (cfg->history_slots, or less while the
 * series is young) and splits it: the first part trains every enabled kind, the last
 * cfg->backtest_slots are streamed through each fitted kind with fixed parameters,
 * exactly as live data will be, giving honest out-of-sample forecasts at every slot for
 * every horizon. Those errors serve twice:
 *
 *   selection    per horizon, the candidate with the lowest mean pinball loss at
 *                SELECT_TAU > 1/2 (an under-prediction costs more than an
 *                over-prediction: under-provisioning is the expensive error). The
 *                candidates are each kind alone and the equal-weight means of the best
 *                two and three kinds (forecast combination; Bates & Granger 1969,
 *                and the M4 competition's finding that simple combinations are hard to
 *                beat).
 *   calibration  the interval of horizon h is [mean + q_lo, mean + q_hi], with q the
 *                quantiles of the chosen candidate's recent h-step errors: split-
 *                conformal prediction by horizon (Lei et al., JASA 2018). While the
 *                model runs, each new error replaces the oldest in a ring of
 *                backtest_slots (kept sorted as well, so a quantile is O(1)), and the
 *                quantile levels adapt: adaptive conformal inference (Gibbs & Candes,
 *                NeurIPS 2021), one level per side,
 *                  a_{t+1} = a_t + GAMMA (a* - miss_t),   a* = (1 - confidence) / 2,
 *                so a side that misses more often than a* widens until it does not.
 *   phase of the hour  VM workloads run cron-like jobs at fixed minutes, so the error
 *                of a forecast depends on which 5-minute slot of the hour it targets
 *                (on the Bitbrains traces, some VMs move 2-5x more at :05 than on
 *                average). Errors are therefore normalised per target phase p = slot mod
 *                (one hour): the median error b_p is added to the mean (it is also the
 *                MAE-optimal shift of a biased model), and intervals are built on the
 *                scores (e - b_p) / s_p, s_p the mean absolute deviation at phase p:
 *                locally weighted conformal prediction (Lei et al. 2018, sec. 5.2).
 *                b_p and s_p are shrunk toward the pooled values, weight n_p / (n_p +
 *                PHASE_PRIOR), and fixed until the next fit. Scaling equalises the
 *                spread of the phases but not their tails (a job at :05 that runs
 *                long one hour in ten), so the score quantiles are taken per target
 *                phase as well, shrunk toward the pooled quantile the same way:
 *                Mondrian conformal prediction with the phase as category (Vovk et
 *                al. 2005). Without it the :05 forecasts missed high 7-8 % of the
 *                time on Bitbrains disk and the other phases 4 %.
 *                Workloads shift (a quiet VM starts moving), and a fixed quantile of
 *                yesterday's errors then under-covers for days; ACI bounds the long-run
 *                miss rate whatever the shift.
 *
 * Guard against a broken selection: a backtest of three days cannot foresee a level
 * shift, and a kind that won it by following a daily shape or a trend (seasonal naive,
 * regression) keeps predicting the old level for a whole day once the workload moves,
 * while naive and ETS follow the new level within an hour. So the anchor (naive + ETS
 * mean) keeps running beside the chosen candidate, and both carry an exponentially
 * weighted pinball loss of their own past forecasts (memory GUARD_MEMORY slots, seeded
 * from the backtest). A horizon whose chosen candidate's loss exceeds GUARD_RATIO x the
 * anchor's is served by the anchor until the candidate is better again or the next fit:
 * a rule on the model's own recent out-of-sample errors, the same evidence that chose it.
 * Those errors come late, though: a 1 h forecast is judged an hour after it was made, so
 * a workload that jumps to a new level would keep the old level in its 1 h forecasts for
 * over an hour (on the Azure traces, 5.7 % CPU forecast while the VM sat at 52 %). A
 * shift detector watches the first horizon's candidate's forecast of the next slot
 * against the last value (naive): when its pinball loss over SHIFT_MEMORY slots exceeds
 * SHIFT_RATIO x naive's and SHIFT_RATIO x its own mean loss of the backtest, the series
 * has moved where the fit did not expect it, and every horizon goes to the anchor for
 * at least its own h slots, after which the guard's rule decides again. The second
 * condition matters on a series that rests near zero between daily bursts: there
 * naive's loss is nil, and a seasonal choice that foresees the burst a slot early would
 * otherwise count as lost (Bitbrains net, 15 min, went 0.615 -> 0.641 without it).
 * Azure 1 h MASE 0.907 -> 0.839; Bitbrains within +-0.02 per dataset and metric.
 *
 * After the backtest every kind is already positioned at the window's end, so the kinds
 * that were not chosen are freed and the others simply continue: one fit per kind.
 *
 * Anomalies: a sample beyond anomaly_factor x the 1-step interval half-width around
 * the 1-step forecast is reported to the caller, who flags it in the series so the next
 * fit down-weights it (fc__fit_input.w).
 *
 * Streaming cost per slot: each kept kind's observe + predict(h_max), a weighted sum per
 * horizon, and an amortised share of the recalibration.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/fc_internal.h"

enum {
  MAX_SUB = FC_KIND_COUNT,
  MIN_CAL_ERRORS = 20,     /* fewer errors than this: the interval is not trusted */
  MAX_HMAX = 288,
  MAX_PHASES = 60,         /* phases of the hour tracked (at most one per minute) */
};
static const double PHASE_PRIOR = 24.0;   /* pseudo-count pulling a phase to the pool */
static const double QUANTILE_PRIOR = 8.0;  /* the same for a phase's score quantiles */
static const double ACI_GAMMA = 0.005;    /* step of the adaptive levels (Gibbs & Candes) */
static const double SELECT_TAU = 0.6;     /* pinball level of the selection loss */
static const double ANOMALY_WEIGHT = 0.25; /* fit weight of a flagged sample */
static const double ANCHOR_MARGIN = 0.05;  /* see select_horizon() */
static const double GUARD_MEMORY = 36.0;   /* slots (3 h at 5 min) of the guard's loss */
static const double GUARD_RATIO = 1.5;     /* loss ratio that hands a horizon to the anchor */
static const double SHIFT_MEMORY = 6.0;    /* slots (30 min) of the shift detector's loss */
static const double SHIFT_RATIO = 3.0;     /* its loss ratio that declares a shift */

typedef struct sub_model {
  const fc__model_ops *ops;
  void *st;
} sub_model;

struct fc_model {
  fc_config cfg;
  int h_max;
  int64_t slot;                          /* newest slot seen */
  int n_sub;
  sub_model sub[MAX_SUB];
  double weight[FC_MAX_HORIZONS][MAX_SUB]; /* combination weights per horizon */
  double anchor[MAX_SUB];                /* the anchor's weights; all 0 without one */
  double now_mean[FC_MAX_HORIZONS];      /* forecast from `slot`, as published */
  double now_q_lo[FC_MAX_HORIZONS];      /* ... and its interval's score quantiles */
  double now_q_hi[FC_MAX_HORIZONS];
  double *past_mean;                     /* (h_max + 1) x n_horizons ring of forecasts */
  double *past_chosen, *past_anchor;     /* same shape: each candidate's own forecasts */
  double guard_chosen[FC_MAX_HORIZONS];  /* EW pinball loss of the chosen candidate */
  double guard_anchor[FC_MAX_HORIZONS];  /* ... and of the anchor */
  int on_anchor[FC_MAX_HORIZONS];        /* the guard hands this horizon to the anchor */
  int64_t anchor_since[FC_MAX_HORIZONS]; /* ... since this slot */
  double next_chosen;                    /* the first horizon's candidate's forecast of
                                            the next slot */
  double last_y;                         /* the last value: naive's forecast of it */
  double shift_chosen, shift_naive;      /* EW pinball losses of those two */
  double shift_typical;                  /* the first horizon's mean backtest loss */
  int shift_count;                       /* slots the shift detector has judged */
  int cal_len;                           /* error ring length */
  double *err_ring[FC_MAX_HORIZONS];     /* actual - mean by target slot % cal_len */
  double *sorted[FC_MAX_HORIZONS];       /* the finite entries of err_ring, ascending */
  int n_sorted[FC_MAX_HORIZONS];
  double *phase_sorted[FC_MAX_HORIZONS]; /* per target phase p, at p * phase_cap: the
                                            phase's entries of sorted, ascending */
  int n_phase_sorted[FC_MAX_HORIZONS][MAX_PHASES];
  int phase_cap;                         /* most ring entries one phase can hold */
  double level_lo[FC_MAX_HORIZONS];      /* adaptive tail levels (ACI) */
  double level_hi[FC_MAX_HORIZONS];
  int phases;                            /* slots per hour, or 1 */
  double bias[FC_MAX_HORIZONS][MAX_PHASES];  /* added to the mean, by target phase */
  double scale[FC_MAX_HORIZONS][MAX_PHASES]; /* error scale, by target phase */
  double *sub_pred;                      /* MAX_SUB x h_max */
  char name[64];
  fc_fit_report report;
};

/* ---------------------------------------------------------------------------------- */
/* Streaming                                                                            */

static double *ring_row(const fc_model *m, double *ring, int64_t origin) {
  return ring + (size_t)(origin % (m->h_max + 1)) * (size_t)m->cfg.n_horizons;
}

static double *past_row(const fc_model *m, int64_t origin) {
  return ring_row(m, m->past_mean, origin);
}

static int has_anchor(const fc_model *m) {
  for (int k = 0; k < m->n_sub; k++)
    if (m->anchor[k] != 0.0)
      return 1;
  return 0;
}

static double pinball(double y, double f) {
  double e = y - f;
  return e > 0 ? SELECT_TAU * e : (SELECT_TAU - 1.0) * e;
}

static int phase_of(const fc_model *m, int64_t slot) { return (int)(slot % m->phases); }

/* Predicts every kept kind and combines per horizon into the chosen candidate's and
 * the anchor's forecasts; m->now_mean is the one the guard lets through. */
static void combine_now(fc_model *m) {
  for (int k = 0; k < m->n_sub; k++)
    m->sub[k].ops->predict(m->sub[k].st, m->h_max, m->sub_pred + (size_t)k * m->h_max);
  double *chosen = ring_row(m, m->past_chosen, m->slot);
  double *anchor = ring_row(m, m->past_anchor, m->slot);
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    int h = m->cfg.horizons[i];
    double mean = 0.0, alt = 0.0;
    for (int k = 0; k < m->n_sub; k++) {
      mean += m->weight[i][k] * m->sub_pred[(size_t)k * m->h_max + h - 1];
      alt += m->anchor[k] * m->sub_pred[(size_t)k * m->h_max + h - 1];
    }
    chosen[i] = mean + m->bias[i][phase_of(m, m->slot + h)];
    anchor[i] = alt;
    m->now_mean[i] = m->on_anchor[i] ? anchor[i] : chosen[i];
  }
  m->next_chosen = 0.0;
  for (int k = 0; k < m->n_sub; k++)
    m->next_chosen += m->weight[0][k] * m->sub_pred[(size_t)k * m->h_max];
  memcpy(past_row(m, m->slot), m->now_mean, sizeof(double) * (size_t)m->cfg.n_horizons);
}

static void hand_to_anchor(fc_model *m, int i) {
  if (!m->on_anchor[i])
    m->on_anchor[i] = 1, m->anchor_since[i] = m->slot;
}

/* One step of the guard's losses for horizon index i with forecasts fc (chosen) and fa
 * (anchor) of actual y; then the hand-over rule. A horizon handed over stays with the
 * anchor for at least h slots, the time its own errors take to show the new regime. */
static void guard_step(fc_model *m, int i, double y, double fc, double fa) {
  if (isnan(y) || isnan(fc) || isnan(fa))
    return;
  double a = 1.0 / GUARD_MEMORY;
  m->guard_chosen[i] += a * (pinball(y, fc) - m->guard_chosen[i]);
  m->guard_anchor[i] += a * (pinball(y, fa) - m->guard_anchor[i]);
  if (!m->on_anchor[i] && m->guard_chosen[i] > GUARD_RATIO * m->guard_anchor[i])
    hand_to_anchor(m, i);
  else if (m->on_anchor[i] && m->guard_chosen[i] <= m->guard_anchor[i] &&
           m->slot - m->anchor_since[i] >= m->cfg.horizons[i])
    m->on_anchor[i] = 0;
}

/* The shift detector: when the first horizon's candidate forecasts the next slot
 * SHIFT_RATIO times worse than the last value does, and than it did in its backtest,
 * over SHIFT_MEMORY slots, the series has moved where the fit did not expect it, and
 * every horizon goes to the anchor. */
static void shift_observe(fc_model *m, double y) {
  if (isnan(y))
    return;
  if (!isnan(m->last_y)) {
    double a = 1.0 / SHIFT_MEMORY;
    m->shift_chosen += a * (pinball(y, m->next_chosen) - m->shift_chosen);
    m->shift_naive += a * (pinball(y, m->last_y) - m->shift_naive);
    if (++m->shift_count >= SHIFT_MEMORY &&
        m->shift_chosen > SHIFT_RATIO * fmax(m->shift_naive, m->shift_typical))
      for (int i = 0; i < m->cfg.n_horizons; i++)
        hand_to_anchor(m, i);
  }
  m->last_y = y;
}

static void guard_observe(fc_model *m, double y) {
  if (!has_anchor(m))
    return;
  shift_observe(m, y);
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    int64_t origin = m->slot - m->cfg.horizons[i];
    guard_step(m, i, y, ring_row(m, m->past_chosen, origin)[i],
               ring_row(m, m->past_anchor, origin)[i]);
  }
}

/* Quantile at level p of x[0..n-1], ascending, n > 0, at the conformal rank
 * (fc__conformal_pos), in O(1). */
static double sorted_quantile(const double *x, int n, double p) {
  p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
  double pos = fc__conformal_pos(n, p);
  int k = (int)pos;
  return k >= n - 1 ? x[n - 1] : x[k] + (pos - k) * (x[k + 1] - x[k]);
}

double fc__phase_shrink(double own, int n, double pooled) {
  return (n * own + QUANTILE_PRIOR * pooled) / (n + QUANTILE_PRIOR);
}

/* The sorted scores of horizon index i whose targets are in `phase`. */
static double *phase_scores(const fc_model *m, int i, int phase) {
  return m->phase_sorted[i] + (size_t)phase * m->phase_cap;
}

/* Score quantile at level p for horizon index i and target phase: the phase's own
 * quantile shrunk toward the pooled one by the phase's count (Mondrian conformal
 * prediction with the phase as category, Vovk et al. 2005, regularised because a
 * phase holds only cal_len / phases scores). */
static double phase_quantile(const fc_model *m, int i, int phase, double p) {
  double pooled = sorted_quantile(m->sorted[i], m->n_sorted[i], p);
  int n = m->n_phase_sorted[i][phase];
  if (n == 0 || m->phases == 1)
    return pooled;
  double own = sorted_quantile(phase_scores(m, i, phase), n, p);
  return fc__phase_shrink(own, n, pooled);
}

/* The interval's score quantiles of horizon index i for a target in `phase`; NaN
 * while too few errors are known to calibrate. */
static void interval_quantiles(const fc_model *m, int i, int phase, double *lo,
                               double *hi) {
  if (m->n_sorted[i] < MIN_CAL_ERRORS) {
    *lo = *hi = NAN;
    return;
  }
  *lo = phase_quantile(m, i, phase, m->level_lo[i]);
  *hi = phase_quantile(m, i, phase, 1.0 - m->level_hi[i]);
}

/* Caches the interval quantiles of the forecasts from `slot`, so that forecasting costs
 * no search. */
static void interval_now(fc_model *m) {
  for (int i = 0; i < m->cfg.n_horizons; i++)
    interval_quantiles(m, i, phase_of(m, m->slot + m->cfg.horizons[i]), &m->now_q_lo[i],
                       &m->now_q_hi[i]);
}

/* First index in x[0..n-1] (ascending) whose value is >= v. */
static int lower_bound(const double *x, int n, double v) {
  if (n == 0)
    return 0;
  /* without a data-dependent branch (the select compiles to a conditional move): the
   * errors are noise, so a branch here would be mispredicted every other step */
  const double *base = x;
  while (n > 1) {
    int half = n / 2;
    base = base[half] < v ? base + half : base;
    n -= half;
  }
  return (int)(base - x) + (*base < v);
}

static void sorted_remove(double *x, int *n, double v) {
  int k = lower_bound(x, *n, v);
  if (k < *n && x[k] == v) {
    memmove(x + k, x + k + 1, sizeof(double) * (size_t)(*n - k - 1));
    (*n)--;
  }
}

static void sorted_insert(double *x, int *n, double v) {
  int k = lower_bound(x, *n, v);
  memmove(x + k + 1, x + k, sizeof(double) * (size_t)(*n - k));
  x[k] = v;
  (*n)++;
}

/* Replaces v_old by v_new in x[0..*n-1] (ascending), moving only the entries between
 * their ranks: a third of the array on average, against all of it for a removal and an
 * insertion. v_old absent: v_new is inserted. */
static void sorted_replace(double *x, int *n, double v_old, double v_new) {
  int k = lower_bound(x, *n, v_old);
  if (k == *n || x[k] != v_old) {
    sorted_insert(x, n, v_new);
    return;
  }
  int p = lower_bound(x, *n, v_new);
  if (p > k) { /* v_new goes above: close the gap upward */
    memmove(x + k, x + k + 1, sizeof(double) * (size_t)(p - 1 - k));
    x[p - 1] = v_new;
  } else {
    memmove(x + p + 1, x + p, sizeof(double) * (size_t)(k - p));
    x[p] = v_new;
  }
}

/* Replaces the score v_old of a target in phase p_old (NaN: none) by v_new of a target
 * in phase p_new (NaN: none) among the scores of horizon index i. */
static void scores_replace(fc_model *m, int i, int p_old, double v_old, int p_new,
                           double v_new) {
  int *n_old = &m->n_phase_sorted[i][p_old], *n_new = &m->n_phase_sorted[i][p_new];
  if (isnan(v_old)) {
    if (!isnan(v_new)) {
      sorted_insert(m->sorted[i], &m->n_sorted[i], v_new);
      sorted_insert(phase_scores(m, i, p_new), n_new, v_new);
    }
    return;
  }
  if (isnan(v_new)) {
    sorted_remove(m->sorted[i], &m->n_sorted[i], v_old);
    sorted_remove(phase_scores(m, i, p_old), n_old, v_old);
    return;
  }
  sorted_replace(m->sorted[i], &m->n_sorted[i], v_old, v_new);
  if (p_old == p_new) {
    sorted_replace(phase_scores(m, i, p_new), n_new, v_old, v_new);
  } else {
    sorted_remove(phase_scores(m, i, p_old), n_old, v_old);
    sorted_insert(phase_scores(m, i, p_new), n_new, v_new);
  }
}

static double score_of(const fc_model *m, int i, int64_t target, double e) {
  return e / m->scale[i][phase_of(m, target)];
}

/* Puts error e (NaN: none) for target `slot` into the ring of horizon index i; the
 * entry it replaces targeted slot - cal_len. */
static void ring_put(fc_model *m, int i, int64_t slot, double e) {
  double *cell = &m->err_ring[i][slot % m->cal_len];
  int64_t old = slot - m->cal_len;
  scores_replace(m, i, phase_of(m, old), score_of(m, i, old, *cell), phase_of(m, slot),
                 score_of(m, i, slot, e));
  *cell = e;
}

/* One ACI step per side from whether the error fell outside the current interval. */
static void adapt_levels(fc_model *m, int i, double e) {
  e = score_of(m, i, m->slot, e);
  double q_lo, q_hi;
  interval_quantiles(m, i, phase_of(m, m->slot), &q_lo, &q_hi);
  if (isnan(e) || isnan(q_hi))
    return;
  double target = (1.0 - m->cfg.confidence) / 2.0;
  double lo = m->level_lo[i] + ACI_GAMMA * (target - (e < q_lo));
  double hi = m->level_hi[i] + ACI_GAMMA * (target - (e > q_hi));
  /* a level <= 0 means "beyond the largest error seen": keep it just inside */
  m->level_lo[i] = fmin(fmax(lo, 0.0), 0.5);
  m->level_hi[i] = fmin(fmax(hi, 0.0), 0.5);
}

/* Records the errors of the forecasts that targeted the new slot. */
static void record_errors(fc_model *m, double y) {
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    int h = m->cfg.horizons[i];
    double e = isfinite(y) ? y - past_row(m, m->slot - h)[i] : NAN;
    adapt_levels(m, i, e);
    ring_put(m, i, m->slot, e);
  }
}

static int is_anomaly(const fc_model *m, double y) {
  double q_lo, q_hi;
  interval_quantiles(m, 0, phase_of(m, m->slot), &q_lo, &q_hi);
  if (!isfinite(y) || isnan(q_lo))
    return 0;
  double f = past_row(m, m->slot - m->cfg.horizons[0])[0];
  double k = m->cfg.anomaly_factor * m->scale[0][phase_of(m, m->slot)];
  return y > f + k * fmax(q_hi, 0.0) || y < f + k * fmin(q_lo, 0.0);
}

int fc_model_observe(fc_model *m, double y) {
  m->slot++;
  int anomaly = is_anomaly(m, y);
  record_errors(m, y);
  guard_observe(m, y);
  for (int k = 0; k < m->n_sub; k++)
    m->sub[k].ops->observe(m->sub[k].st, y);
  combine_now(m);
  interval_now(m);
  return anomaly;
}

void fc_model_forecast(const fc_model *m, fc_point out[]) {
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    double mean = m->now_mean[i], q_lo = m->now_q_lo[i], q_hi = m->now_q_hi[i];
    double scale = m->scale[i][phase_of(m, m->slot + m->cfg.horizons[i])];
    double lo = mean + q_lo * scale, hi = mean + q_hi * scale;
    if (isnan(q_lo)) /* too few errors to calibrate: say so with an open interval */
      lo = -INFINITY, hi = INFINITY;
    /* every metric we forecast is non-negative */
    out[i] = (fc_point){.h = m->cfg.horizons[i],
                        .mean = fmax(mean, 0.0),
                        .lo = fmax(lo, 0.0),
                        .hi = fmax(hi, 0.0)};
  }
}

int64_t fc_model_slot(const fc_model *m) { return m->slot; }
const char *fc_model_name(const fc_model *m) { return m->name; }
void fc_model_get_report(const fc_model *m, fc_fit_report *out) { *out = m->report; }
const fc_config *fc__model_config(const fc_model *m) { return &m->cfg; }
int fc__model_phase(const fc_model *m, int64_t slot) { return phase_of(m, slot); }

const double *fc__model_errors(const fc_model *m, int hi, int *len) {
  *len = m->cal_len;
  return m->err_ring[hi];
}

void fc_model_destroy(fc_model *m) {
  if (m == NULL)
    return;
  for (int k = 0; k < m->n_sub; k++)
    m->sub[k].ops->destroy(m->sub[k].st);
  for (int i = 0; i < FC_MAX_HORIZONS; i++) {
    free(m->err_ring[i]);
    free(m->sorted[i]);
    free(m->phase_sorted[i]);
  }
  free(m->past_mean);
  free(m->past_chosen);
  free(m->past_anchor);
  free(m->sub_pred);
  free(m);
}

/* ---------------------------------------------------------------------------------- */
/* Fitting                                                                              */

/* The cleaned window a fit works on. */
typedef struct fit_window {
  int n;          /* slots */
  int backtest;   /* the last `backtest` slots are held out */
  double *raw;    /* as stored, NaN where missing */
  double *y;      /* gaps filled */
  double *w;      /* fit weights */
  int64_t slot0;  /* slot of raw[0] */
} fit_window;

static void window_free(fit_window *win) {
  free(win->raw);
  free(win->y);
  free(win->w);
}

/* Shortest window a fit accepts: the backtest needs a few longest horizons to judge
 * and the training part needs at least as much again. */
static int min_window(const fc_config *cfg) {
  return 8 * cfg->horizons[cfg->n_horizons - 1] + 48;
}

static int window_load(const fc_config *cfg, const fc_series *s, fit_window *win,
                       fc_error *err) {
  memset(win, 0, sizeof(*win));
  int len = fc_series_len(s);
  win->n = len < cfg->history_slots ? len : cfg->history_slots;
  if (win->n < min_window(cfg))
    return fc__fail(err, FC_ENODATA, "history of %d slots (a fit needs at least %d)",
                    win->n, min_window(cfg));
  win->backtest = cfg->backtest_slots < win->n / 4 ? cfg->backtest_slots : win->n / 4;
  win->slot0 = fc_series_last_slot(s) - win->n + 1;
  win->raw = malloc(sizeof(double) * (size_t)win->n);
  win->y = malloc(sizeof(double) * (size_t)win->n);
  win->w = malloc(sizeof(double) * (size_t)win->n);
  uint8_t *flags = malloc((size_t)win->n);
  if (win->raw == NULL || win->y == NULL || win->w == NULL || flags == NULL) {
    free(flags);
    window_free(win);
    return fc__fail(err, FC_ENOMEM, "fit window of %d slots: out of memory", win->n);
  }
  fc_series_window(s, fc_series_last_slot(s), win->n, win->raw, flags);
  int valid = 0;
  for (int i = 0; i < win->n; i++) {
    int present = (flags[i] & FC_SLOT_PRESENT) != 0;
    valid += present;
    win->y[i] = win->raw[i];
    win->w[i] = !present ? 0.0 : (flags[i] & FC_SLOT_ANOMALY) ? ANOMALY_WEIGHT : 1.0;
  }
  free(flags);
  if (valid < min_window(cfg) / 2) {
    window_free(win);
    return fc__fail(err, FC_ENODATA, "%d valid samples in %d slots (a fit needs %d)", valid,
                    win->n, min_window(cfg) / 2);
  }
  fc__fill_linear(win->y, win->n);
  return 0;
}

/* Out-of-sample forecasts of one kind over the backtest: pred[i * (B + 1) + j] is the
 * forecast of horizon index i made at origin (train end + j), j = 0..B. */
typedef struct kind_run {
  fc_kind kind;
  void *st;
  double *pred;
  double loss[FC_MAX_HORIZONS];
} kind_run;

/* Streams the backtest part through a freshly fitted kind, recording its forecasts. */
static void backtest_kind(const fc_config *cfg, const fit_window *win, int h_max,
                          kind_run *run, double *tmp) {
  const fc__model_ops *ops = fc__kind_ops(run->kind);
  int B = win->backtest, start = win->n - B;
  for (int j = 0; j <= B; j++) {
    ops->predict(run->st, h_max, tmp);
    for (int i = 0; i < cfg->n_horizons; i++)
      run->pred[(size_t)i * (B + 1) + j] = tmp[cfg->horizons[i] - 1];
    if (j < B)
      ops->observe(run->st, win->raw[start + j]);
  }
}

/* Mean loss of a candidate (weights over runs) for horizon index i over the backtest;
 * INFINITY when no actual is present. */
static double candidate_loss(const fit_window *win, const kind_run *runs, int n_runs,
                             const double *weight, int i, int h) {
  int B = win->backtest, start = win->n - B;
  double sum = 0.0;
  int count = 0;
  for (int j = 0; j + h <= B; j++) {
    double y = win->raw[start + j + h - 1];
    if (isnan(y))
      continue;
    double f = 0.0;
    for (int k = 0; k < n_runs; k++)
      if (weight[k] != 0.0)
        f += weight[k] * runs[k].pred[(size_t)i * (B + 1) + j];
    sum += pinball(y, f);
    count++;
  }
  return count ? sum / count : INFINITY;
}

/* The candidates of one horizon: each kind alone, then the equal-weight means of the
 * best two and three kinds (by loss over the whole backtest). */
typedef struct candidates {
  int n;
  double weight[MAX_SUB + 3][MAX_SUB];
} candidates;

static void make_candidates(const fit_window *win, kind_run *runs, int n_runs, int i, int h,
                            candidates *c) {
  int order[MAX_SUB];
  memset(c, 0, sizeof(*c));
  for (int k = 0; k < n_runs; k++) {
    c->weight[k][k] = 1.0;
    runs[k].loss[i] = candidate_loss(win, runs, n_runs, c->weight[k], i, h);
    order[k] = k;
  }
  for (int a = 1; a < n_runs; a++) /* insertion sort by loss */
    for (int b = a; b > 0 && runs[order[b]].loss[i] < runs[order[b - 1]].loss[i]; b--) {
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  c->n = n_runs;
  for (int top = 2; top <= 3 && top <= n_runs; top++, c->n++)
    for (int k = 0; k < top; k++)
      c->weight[c->n][order[k]] = 1.0 / top;
}

/* Fills w[0..n_runs-1] with the anchor's weights (the mean of naive and ETS); 0 when
 * one of the two was not fitted (w is then all zero). */
static int anchor_weights(const kind_run *runs, int n_runs, double *w) {
  int naive = -1, ets = -1;
  memset(w, 0, sizeof(double) * MAX_SUB);
  for (int k = 0; k < n_runs; k++) {
    naive = runs[k].kind == FC_KIND_NAIVE ? k : naive;
    ets = runs[k].kind == FC_KIND_ETS ? k : ets;
  }
  if (naive < 0 || ets < 0)
    return 0;
  w[naive] = w[ets] = 0.5;
  return 1;
}

/* Chooses, for horizon index i, the candidate with the lowest backtest loss, except
 * that the anchor (the mean of naive and ETS, the most robust pair on real VMs) is kept
 * unless another candidate beats it by more than ANCHOR_MARGIN. Three days of backtest
 * rank candidates noisily, and a kind that wins them by a hair (a seasonal naive while
 * days repeat, a regression while a trend lasts) loses by far more once the workload
 * shifts: on the Azure traces picking the bare winner costs 30 % in MASE at 1 h. */
static void select_horizon(const fit_window *win, kind_run *runs, int n_runs, int i, int h,
                           double *best_weight) {
  candidates c;
  make_candidates(win, runs, n_runs, i, h, &c);
  int anchor = -1;
  if (anchor_weights(runs, n_runs, c.weight[c.n]))
    anchor = c.n++;
  double loss[MAX_SUB + 3];
  int chosen = 0;
  for (int k = 0; k < c.n; k++) { /* the single kinds' losses are known already */
    loss[k] = k < n_runs ? runs[k].loss[i]
                         : candidate_loss(win, runs, n_runs, c.weight[k], i, h);
    if (loss[k] < loss[chosen])
      chosen = k;
  }
  if (anchor >= 0 && loss[chosen] > (1.0 - ANCHOR_MARGIN) * loss[anchor])
    chosen = anchor;
  memcpy(best_weight, c.weight[chosen], sizeof(double) * MAX_SUB);
}

static void name_selection(fc_model *m, const kind_run *runs, int n_runs,
                           double weight[][MAX_SUB]) {
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    char *out = m->report.chosen[i];
    size_t cap = sizeof(m->report.chosen[i]), used = 0;
    out[0] = '\0';
    for (int k = 0; k < n_runs; k++)
      if (weight[i][k] != 0.0 && used < cap)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "+" : "",
                                 fc_kind_name(runs[k].kind));
  }
  /* the model's name is the selection of the shortest horizon */
  snprintf(m->name, sizeof(m->name), "%s", m->report.chosen[0]);
}

/* Keeps the runs used by any horizon or by the anchor as the model's sub-models (taking
 * their state), and frees the others. */
static void keep_chosen(fc_model *m, kind_run *runs, int n_runs, double weight[][MAX_SUB],
                        const double *anchor) {
  for (int k = 0; k < n_runs; k++) {
    int used = anchor[k] != 0.0;
    for (int i = 0; i < m->cfg.n_horizons; i++)
      used |= weight[i][k] != 0.0;
    if (!used) {
      fc__kind_ops(runs[k].kind)->destroy(runs[k].st);
      runs[k].st = NULL;
      continue;
    }
    int s = m->n_sub++;
    m->sub[s] = (sub_model){fc__kind_ops(runs[k].kind), runs[k].st};
    runs[k].st = NULL;
    for (int i = 0; i < m->cfg.n_horizons; i++)
      m->weight[i][s] = weight[i][k];
    m->anchor[s] = anchor[k];
  }
}

/* Backtest errors of the chosen combination for horizon index i, with their target
 * slots: e[j] for origin j (NaN where the actual is missing or beyond the backtest). */
static void combined_errors(const fc_model *m, const fit_window *win, const kind_run *runs,
                            int n_runs, const double *weight, int i, double *e,
                            double *f_out) {
  int B = win->backtest, start = win->n - B, h = m->cfg.horizons[i];
  for (int j = 0; j <= B; j++) {
    double f = 0.0;
    for (int k = 0; k < n_runs; k++)
      f += weight[k] * runs[k].pred[(size_t)i * (B + 1) + j];
    f_out[j] = f;
    e[j] = j + h <= B ? win->raw[start + j + h - 1] - f : NAN;
  }
}

/* Shrinks a phase's statistic toward the pooled one by its sample count. */
static double shrink(double phase_value, int n, double pooled) {
  if (n == 0 || isnan(phase_value))
    return pooled;
  return (n * phase_value + PHASE_PRIOR * pooled) / (n + PHASE_PRIOR);
}

/* Median of the finite e[j] whose target phase is p (p < 0: all); tmp is scratch. */
static double phase_median(const fc_model *m, const double *e, int n, int64_t target0,
                           int p, double *tmp, int *count) {
  int c = 0;
  for (int j = 0; j < n; j++)
    if (!isnan(e[j]) && (p < 0 || phase_of(m, target0 + j) == p))
      tmp[c++] = e[j];
  *count = c;
  return c ? fc__quantile(tmp, c, 0.5) : NAN;
}

/* Mean |e[j] - bias| over target phase p (p < 0: all). */
static double phase_mad(const fc_model *m, const double *e, int n, int64_t target0, int p,
                        const double *bias, int *count) {
  double sum = 0.0;
  int c = 0;
  for (int j = 0; j < n; j++)
    if (!isnan(e[j]) && (p < 0 || phase_of(m, target0 + j) == p)) {
      sum += fabs(e[j] - bias[phase_of(m, target0 + j)]);
      c++;
    }
  *count = c;
  return c ? sum / c : NAN;
}

/* Estimates the per-phase bias and scale of horizon index i from its backtest errors
 * e[0..n-1], e[j] targeting slot target0 + j. */
static void fit_phases(fc_model *m, int i, const double *e, int n, int64_t target0,
                       double *tmp) {
  int count;
  double pooled = phase_median(m, e, n, target0, -1, tmp, &count);
  if (count < MIN_CAL_ERRORS) {
    for (int p = 0; p < m->phases; p++)
      m->bias[i][p] = 0.0, m->scale[i][p] = 1.0;
    return;
  }
  for (int p = 0; p < m->phases; p++) {
    double med = phase_median(m, e, n, target0, p, tmp, &count);
    m->bias[i][p] = shrink(med, count, pooled);
  }
  double pooled_mad = phase_mad(m, e, n, target0, -1, m->bias[i], &count);
  if (!(pooled_mad > 0.0))
    pooled_mad = 1.0; /* every error was its phase's median: any positive scale works */
  for (int p = 0; p < m->phases; p++) {
    double mad = phase_mad(m, e, n, target0, p, m->bias[i], &count);
    double scale = shrink(mad, count, pooled_mad);
    m->scale[i][p] = scale > 0.0 ? scale : pooled_mad;
  }
}

/* Seeds the calibration from the backtest: per-phase bias and scale, the error rings,
 * and the ring of past forecasts, so the model starts calibrated and can score the
 * forecasts made in its last h_max slots. */
static int seed_calibration(fc_model *m, const fit_window *win, const kind_run *runs,
                            int n_runs, double weight[][MAX_SUB], const double *anchor,
                            fc_error *err) {
  int B = win->backtest, start = win->n - B;
  double *e = malloc(sizeof(double) * (size_t)(B + 1));
  double *f = malloc(sizeof(double) * (size_t)(B + 1));
  double *ea = malloc(sizeof(double) * (size_t)(B + 1));
  double *fa = malloc(sizeof(double) * (size_t)(B + 1));
  double *tmp = malloc(sizeof(double) * (size_t)(B + 1));
  if (e == NULL || f == NULL || ea == NULL || fa == NULL || tmp == NULL) {
    free(e), free(f), free(ea), free(fa), free(tmp);
    return fc__fail(err, FC_ENOMEM, "calibration: out of memory");
  }
  int64_t origin0 = win->slot0 + start - 1;
  for (int i = 0; i < m->cfg.n_horizons; i++) {
    int h = m->cfg.horizons[i];
    combined_errors(m, win, runs, n_runs, weight[i], i, e, f);
    combined_errors(m, win, runs, n_runs, anchor, i, ea, fa);
    fit_phases(m, i, e, B + 1, origin0 + h, tmp);
    m->guard_chosen[i] = m->guard_anchor[i] = 0.0;
    double typical = 0.0;
    int n_typical = 0;
    for (int j = 0; j <= B; j++) {
      int64_t target = origin0 + j + h;
      double shifted = f[j] + m->bias[i][phase_of(m, target)];
      if (j + h <= B) {
        ring_put(m, i, target, isnan(e[j]) ? NAN : e[j] - m->bias[i][phase_of(m, target)]);
        guard_step(m, i, e[j] + f[j], shifted, fa[j]);
        if (!isnan(e[j]))
          typical += pinball(e[j] + f[j], shifted), n_typical++;
      }
      if (origin0 + j > m->slot - m->h_max - 1) {
        ring_row(m, m->past_chosen, origin0 + j)[i] = shifted;
        ring_row(m, m->past_anchor, origin0 + j)[i] = fa[j];
      }
    }
    if (i == 0)
      m->shift_typical = n_typical ? typical / n_typical : 0.0;
    /* a fit starts on its own choice; the guard judges what follows */
    m->on_anchor[i] = 0;
    for (int j = 0; j <= B; j++)
      if (origin0 + j > m->slot - m->h_max - 1)
        past_row(m, origin0 + j)[i] = ring_row(m, m->past_chosen, origin0 + j)[i];
  }
  free(e), free(f), free(ea), free(fa), free(tmp);
  return 0;
}

static fc_model *model_alloc(const fc_config *cfg, fc_error *err) {
  fc_model *m = calloc(1, sizeof(*m));
  if (m == NULL)
    goto fail;
  m->cfg = *cfg;
  m->phases = 3600 % cfg->step_s == 0 && 3600 / cfg->step_s <= MAX_PHASES
                  ? 3600 / cfg->step_s : 1;
  m->h_max = cfg->horizons[cfg->n_horizons - 1];
  m->cal_len = cfg->backtest_slots;
  m->last_y = NAN;
  m->phase_cap = m->cal_len / m->phases + 1;
  size_t ring = (size_t)(m->h_max + 1) * (size_t)cfg->n_horizons;
  m->past_mean = calloc(ring, sizeof(double));
  m->past_chosen = calloc(ring, sizeof(double));
  m->past_anchor = calloc(ring, sizeof(double));
  m->sub_pred = malloc(sizeof(double) * MAX_SUB * (size_t)m->h_max);
  if (m->past_mean == NULL || m->past_chosen == NULL || m->past_anchor == NULL ||
      m->sub_pred == NULL)
    goto fail;
  for (int i = 0; i < cfg->n_horizons; i++) {
    m->err_ring[i] = malloc(sizeof(double) * (size_t)m->cal_len);
    m->sorted[i] = malloc(sizeof(double) * (size_t)m->cal_len);
    m->phase_sorted[i] = malloc(sizeof(double) * (size_t)m->phases * (size_t)m->phase_cap);
    if (m->err_ring[i] == NULL || m->sorted[i] == NULL || m->phase_sorted[i] == NULL)
      goto fail;
    m->level_lo[i] = m->level_hi[i] = (1.0 - cfg->confidence) / 2.0;
    for (int p = 0; p < MAX_PHASES; p++)
      m->scale[i][p] = 1.0;
    for (int j = 0; j < m->cal_len; j++)
      m->err_ring[i][j] = NAN;
  }
  for (int k = 0; k < FC_KIND_COUNT; k++)
    m->report.loss[k] = m->report.train_loss[k] = NAN;
  return m;
fail:
  fc_model_destroy(m);
  fc__fail(err, FC_ENOMEM, "model: out of memory");
  return NULL;
}

/* Fits every enabled kind on the training part and backtests it into runs[0..*n_runs-1]
 * (*n_runs counts what is there to free, also on failure). 0 or an FC_E* code. */
static int fit_kinds(const fc_config *cfg, const fit_window *win, const fc__fit_input *in,
                     kind_run *runs, int *n_runs, fc_model *m, fc_error *err) {
  int B = win->backtest;
  *n_runs = 0;
  double tmp[MAX_HMAX];
  for (int k = 0; k < FC_KIND_COUNT; k++) {
    if (!(cfg->kinds & FC_KIND_BIT(k)))
      continue;
    const fc__model_ops *ops = fc__kind_ops((fc_kind)k);
    fc_error kind_err = {0};
    void *st = ops->fit(in, &kind_err);
    if (st == NULL) {
      if (kind_err.code == FC_ENOMEM)
        return fc__fail(err, FC_ENOMEM, "%s: %s", ops->name, kind_err.msg);
      continue; /* the kind does not apply to this window (too short, ...) */
    }
    kind_run *run = &runs[(*n_runs)++];
    *run = (kind_run){.kind = (fc_kind)k, .st = st};
    run->pred = malloc(sizeof(double) * (size_t)cfg->n_horizons * (size_t)(B + 1));
    if (run->pred == NULL)
      return fc__fail(err, FC_ENOMEM, "backtest: out of memory");
    if (ops->train_loss != NULL)
      m->report.train_loss[k] = ops->train_loss(st);
    backtest_kind(cfg, win, m->h_max, run, tmp);
  }
  if (*n_runs == 0)
    return fc__fail(err, FC_ENODATA, "no model kind could be fitted on %d slots", win->n);
  return 0;
}

static void runs_free(kind_run *runs, int n_runs) {
  for (int k = 0; k < n_runs; k++) {
    if (runs[k].st != NULL)
      fc__kind_ops(runs[k].kind)->destroy(runs[k].st);
    free(runs[k].pred);
  }
}

fc_model *fc_model_fit(const fc_config *cfg, const fc_series *series, fc_error *err) {
  if (fc_config_validate(cfg, err) != 0)
    return NULL;
  if (cfg->horizons[cfg->n_horizons - 1] > MAX_HMAX) {
    fc__fail(err, FC_EINVAL, "horizon %d slots (at most %d)",
             cfg->horizons[cfg->n_horizons - 1], MAX_HMAX);
    return NULL;
  }
  if (fc_series_step(series) != cfg->step_s) {
    fc__fail(err, FC_EINVAL, "series step %d s differs from the configured %d s",
             fc_series_step(series), cfg->step_s);
    return NULL;
  }
  fit_window win;
  if (window_load(cfg, series, &win, err) != 0)
    return NULL;
  fc_model *m = model_alloc(cfg, err);
  kind_run runs[MAX_SUB];
  int n_runs = 0;
  if (m == NULL)
    goto fail;
  int season, season_week;
  double r_day, r_week;
  if (fc__detect_season(win.y, win.n - win.backtest, fc_config_season(cfg), &season,
                        &season_week, &r_day, &r_week) != 0) {
    fc__fail(err, FC_ENOMEM, "seasonality test: out of memory");
    goto fail;
  }
  m->report.season_slots = season_week ? season_week : season;
  fc__fit_input in = {.y = win.y, .w = win.w, .n = win.n - win.backtest, .season = season,
                      .season_week = season_week, .day_slots = fc_config_season(cfg),
                      .h_max = m->h_max, .slot0 = win.slot0, .seed = cfg->seed};
  if (fit_kinds(cfg, &win, &in, runs, &n_runs, m, err) != 0)
    goto fail;
  double weight[FC_MAX_HORIZONS][MAX_SUB], anchor[MAX_SUB];
  for (int i = 0; i < cfg->n_horizons; i++)
    select_horizon(&win, runs, n_runs, i, cfg->horizons[i], weight[i]);
  anchor_weights(runs, n_runs, anchor);
  for (int k = 0; k < n_runs; k++)
    m->report.loss[runs[k].kind] = runs[k].loss[0];
  m->slot = win.slot0 + win.n - 1;
  for (int j = win.n - 1; j >= 0 && isnan(m->last_y); j--)
    m->last_y = win.raw[j];
  if (seed_calibration(m, &win, runs, n_runs, weight, anchor, err) != 0)
    goto fail;
  name_selection(m, runs, n_runs, weight);
  keep_chosen(m, runs, n_runs, weight, anchor);
  runs_free(runs, n_runs);
  window_free(&win);
  combine_now(m);
  interval_now(m);
  return m;
fail:
  runs_free(runs, n_runs);
  window_free(&win);
  fc_model_destroy(m);
  return NULL;
}
