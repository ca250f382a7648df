/* ets.c -- exponential smoothing with a damped trend: Holt-Winters for the daily cycle.
 *
 * Model: ETS(A,Ad,A), additive error, additive damped trend, additive season, in the
 * error-correction form of Hyndman, Koehler, Ord & Snyder, "Forecasting with Exponential
 * Smoothing: The State Space Approach", Springer 2008 (HKOS), ch. 2:
 *
 *   mu_t = l_{t-1} + phi b_{t-1} + s_{t-m}              one-step forecast
 *   e_t  = y_t - mu_t                                     one-step error
 *   l_t  = l_{t-1} + phi b_{t-1} + alpha e_t
 *   b_t  = phi b_{t-1} + beta e_t
 *   s_t  = s_{t-m} + gamma e_t
 *   yhat_{t+h|t} = l_t + (phi + phi^2 + ... + phi^h) b_t + s_{t+h-m(k+1)},
 *                  k = floor((h - 1) / m)
 *
 * m = in->season, the detected daily period (288 slots at 300 s). Without a daily cycle
 * (season 0) the same equations run without s: ETS(A,Ad,N). Internally that is a ring
 * of one seasonal term s = 0 that gamma = 0 keeps at 0, so one code path serves both.
 *
 * A missing sample (w < 0.5 in the fit input, NaN given to observe) advances the state
 * with e_t = 0, i.e. as if the model had seen its own one-step forecast: the level
 * follows the damped trend and the seasonal terms stay.
 *
 * Estimation. With additive errors the Gaussian likelihood is maximised by the least
 * one-step sum of squared errors (HKOS ch. 5), so fit() minimises SSE(theta) over the
 * whole window with fc__nelder_mead(), inside the "usual" region (Hyndman &
 * Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., OTexts 2021,
 * sec. 8.2 and 8.6) with the limits of R's forecast::ets defaults:
 *
 *   1e-4 <= alpha <= 0.9999,  0 < beta < alpha,  0 < gamma < 1 - alpha,
 *   0.8 <= phi <= 0.98
 *
 * The two coupled bounds become a box by optimising beta* = beta / alpha and
 * gamma* = gamma / (1 - alpha), each in [1e-4, 0.9999]: they are the smoothing
 * parameters of the component form (HKOS ch. 2), where the usual region is a box.
 * phi >= 0.8 because below it the damping is so strong that the trend hardly matters;
 * phi <= 0.98 because nearer 1 a damped trend cannot be told from an undamped one, and
 * an undamped trend extrapolates one day's drift for a week.
 *
 * Initial state: a heuristic from the first two seasons, simplified from HKOS ch. 2
 * (which detrends with a 2 x m moving average over several seasons): with A_1, A_2 the
 * means of the kept samples of the first and second season,
 *   b_0 = (A_2 - A_1) / m                         slope between the season centres
 *   T(t) = A_1 + b_0 (t - (m - 1) / 2)            that trend line
 *   s_j  = mean over the two seasons of y_{j+km} - T(j + km), then centred to mean 0
 *   l_0  = T(-1) + (the mean removed from s)      the level before y_0
 * Without a season: l_0 and b_0 are the intercept (at t = -1) and slope of the least
 * squares line through the first ten kept samples (as HKOS ch. 2 does on deseasonalised
 * data). The initial state is not optimised: SSE then costs one pass, and 3 or 4
 * parameters keep Nelder-Mead fast.
 *
 * Cost: one SSE evaluation is one pass of the recurrence over the window (ets_sse(),
 * about 4 ns a slot, 14 us for n = 3200); a fit scans alpha at four points for its start
 * and stops at ETS_MAX_EVALS = 120 evaluations in all, about 1.5 ms. On traces, 120
 * evaluations reach an SSE within 0.03% of what thousands of evaluations from many
 * starts find. observe() and predict() are O(1) and O(h_max), without allocation.
 *
 * Invariants of the state: s[next] is s_{t+1-m}, the seasonal term of the next slot;
 * next < m; observe() and predict() never allocate. The usual region keeps the
 * recurrence a smoother in practice, though it does not by itself make every seasonal
 * model stable, so predict() checks each value and writes the newest sample
 * instead of a non-finite one.
 *
 * Not here: multiplicative errors or seasons, the weekly cycle (in->season_week; the
 * Fourier and AR kinds model it), intervals (the engine calibrates them on backtest
 * errors), optimised initial states, weights between 0 and 1 (a sample either counts or
 * is missing), Box-Cox transforms.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/fc_internal.h"

/* Estimation bounds, see the header. */
#define ETS_COEF_LO 1e-4
#define ETS_COEF_HI 0.9999
#define ETS_PHI_LO 0.8
#define ETS_PHI_HI 0.98
/* Fewest kept samples to fit on; also the length of the non-seasonal start regression. */
#define ETS_MIN_KEPT 10
/* Evaluation budget of a fit and the relative SSE spread at which the simplex stops. */
#define ETS_MAX_EVALS 120
#define ETS_FTOL 1e-6

typedef struct ets_params {
  double alpha, beta, gamma, phi;
} ets_params;

typedef struct ets_state {
  ets_params p;
  double level;  /* l_t */
  double trend;  /* b_t */
  double last_y; /* newest finite sample: predict()'s fallback should a forecast
                    overflow */
  double mse;    /* one-step SSE / kept samples of the fit: the train loss */
  int m;         /* ring length: the season, or 1 for ETS(A,Ad,N) (then s[0] = 0) */
  int next;      /* s[next] = s_{t+1-m}, the seasonal term of the next slot */
  double s[];    /* the last m seasonal terms */
} ets_state;

/* The window as fit() prepared it, and the objective's scratch. */
typedef struct ets_data {
  const double *y;    /* n samples, 0 where missing so that keep * y stays finite */
  const double *keep; /* n flags: 1 for a sample that counts, 0 for a missing one */
  int n;
  int m;              /* ring length, as in ets_state */
  int seasonal;       /* 0 for ETS(A,Ad,N): gamma is fixed at 0 */
  int n_kept;
  double l0, b0;      /* initial level and trend (heuristic) */
  const double *s0;   /* m initial seasonal terms (heuristic) */
  double *s;          /* m terms of scratch for the objective */
  double sse_scale;   /* the objective is SSE / sse_scale, about 1 at the start */
} ets_data;

/* One step of the recurrence in the header: (l_{t-1}, b_{t-1}, s_{t-m}) become
 * (l_t, b_t, s_t) in place. keep = 0 is the missing-sample step, e_t = 0 (y must still
 * be finite: pass 0). Returns e_t. */
static inline double ets_step(const ets_params *p, double *l, double *b, double *s,
                              double y, double keep) {
  double lb = *l + p->phi * *b;     /* l_{t-1} + phi b_{t-1} */
  double e = keep * (y - (lb + *s)); /* e_t = y_t - mu_t */
  *l = lb + p->alpha * e;
  *b = p->phi * *b + p->beta * e;
  *s += p->gamma * e;
  return e;
}

/* The objective's inner loop: the one-step SSE of parameters p over the window, from
 * the initial state. It is the recurrence of ets_step() rearranged for latency, since
 * the fit spends nearly all its time here. With lb_t = l_{t-1} + phi b_{t-1} (the
 * level part of mu_t) the header's equations give
 *   e_t      = y_t - s_{t-m} - lb_t
 *   lb_{t+1} = l_t + phi b_t = (lb_t + phi^2 b_{t-1}) + (alpha + phi beta) e_t
 *   b_t      = phi b_{t-1} + beta e_t
 * so the loop-carried chain is lb -> e -> lb (a subtract, a multiply and an add)
 * instead of l -> lb -> e -> l; this halves the cost of a pass. The result equals the
 * plain recurrence up to rounding (ets_position() runs that one for the final state).
 * A missing sample multiplies the gains by keep_t = 0. Without a season the ring's
 * single term is never stored, so consecutive steps do not chain through memory. */
static double ets_sse(const ets_data *d, const ets_params *p, double *restrict s) {
  const double *restrict y = d->y, *restrict keep = d->keep;
  const int n = d->n, m = d->m, seasonal = d->seasonal;
  const double phi = p->phi, phi2 = p->phi * p->phi;
  const double gain_lb = p->alpha + p->phi * p->beta;
  double lb = d->l0 + phi * d->b0, b = d->b0, sse = 0.0;
  memcpy(s, d->s0, (size_t)m * sizeof(*s));
  for (int t = 0, j = 0; t < n; t++) {
    double e = (y[t] - s[j]) - lb;
    double k = keep[t];
    sse += k * e * e;
    lb = (lb + phi2 * b) + (k * gain_lb) * e;
    b = phi * b + (k * p->beta) * e;
    if (seasonal)
      s[j] += (k * p->gamma) * e;
    if (++j == m)
      j = 0;
  }
  return sse;
}

/* theta as Nelder-Mead sees it: x = (alpha, beta*, phi, gamma*), gamma* only with a
 * season. See the header for why beta* and gamma*. */
static ets_params ets_params_from(const double *x, int seasonal) {
  ets_params p;
  p.alpha = x[0];
  p.beta = x[0] * x[1];
  p.phi = x[2];
  p.gamma = seasonal ? (1.0 - x[0]) * x[3] : 0.0;
  return p;
}

static double ets_objective(const double *x, void *ctx) {
  ets_data *d = ctx;
  ets_params p = ets_params_from(x, d->seasonal);
  return ets_sse(d, &p, d->s) / d->sse_scale;
}

/* Mean of the kept samples among y[i0..i1); sets *found = 0 (and returns 0) if none. */
static double kept_mean(const ets_data *d, int i0, int i1, int *found) {
  double sum = 0.0, cnt = 0.0;
  for (int i = i0; i < i1; i++) {
    sum += d->y[i]; /* 0 where missing */
    cnt += d->keep[i];
  }
  *found = cnt > 0.0;
  return cnt > 0.0 ? sum / cnt : 0.0;
}

/* The seasonal heuristic of the header. A season without a kept sample borrows the
 * other's mean (no trend then); a phase kept in neither season starts on the trend
 * line (s_j = 0). Returns FC_ENODATA if neither season has a kept sample. */
static int ets_init_seasonal(ets_data *d, double *s0, fc_error *err) {
  const int m = d->m;
  int found1, found2;
  double a1 = kept_mean(d, 0, m, &found1), a2 = kept_mean(d, m, 2 * m, &found2);
  if (!found1 && !found2)
    return fc__fail(err, FC_ENODATA, "ets: no valid sample in the first two seasons "
                                     "(%d slots)", 2 * m);
  if (!found1)
    a1 = a2;
  if (!found2)
    a2 = a1;
  double b0 = (a2 - a1) / m, centre = 0.5 * (m - 1), s_mean = 0.0;
  for (int j = 0; j < m; j++) {
    double sum = 0.0, cnt = 0.0;
    for (int k = 0; k < 2; k++) {
      int t = j + k * m;
      double trend_line = a1 + b0 * (t - centre);
      sum += d->keep[t] * (d->y[t] - trend_line);
      cnt += d->keep[t];
    }
    s0[j] = cnt > 0.0 ? sum / cnt : 0.0;
    s_mean += s0[j] / m;
  }
  for (int j = 0; j < m; j++)
    s0[j] -= s_mean;
  d->b0 = b0;
  d->l0 = a1 + b0 * (-1.0 - centre) + s_mean;
  return 0;
}

/* The non-seasonal heuristic: least squares line through the first ETS_MIN_KEPT kept
 * samples, evaluated at t = -1. fit() has checked that there are that many. */
static void ets_init_nonseasonal(ets_data *d, double *s0) {
  double ts[ETS_MIN_KEPT], ys[ETS_MIN_KEPT], t_mean = 0.0, y_mean = 0.0;
  int k = 0;
  for (int t = 0; t < d->n && k < ETS_MIN_KEPT; t++)
    if (d->keep[t] > 0.0) {
      ts[k] = t;
      ys[k++] = d->y[t];
    }
  for (int i = 0; i < k; i++) {
    t_mean += ts[i] / k;
    y_mean += ys[i] / k;
  }
  double sxy = 0.0, sxx = 0.0;
  for (int i = 0; i < k; i++) {
    sxy += (ts[i] - t_mean) * (ys[i] - y_mean);
    sxx += (ts[i] - t_mean) * (ts[i] - t_mean);
  }
  d->b0 = sxx > 0.0 ? sxy / sxx : 0.0;
  d->l0 = y_mean + d->b0 * (-1.0 - t_mean);
  s0[0] = 0.0;
}

/* Starting point: beta* = gamma* = 0.1 and phi = 0.95, inside their ranges, and the
 * best alpha of a four-point scan, since alpha moves the SSE most and a start in the
 * right basin saves many simplex steps. Then Nelder-Mead from there. */
static ets_params ets_estimate(ets_data *d) {
  static const double alphas[] = {0.05, 0.2, 0.5, 0.8};
  const int dim = d->seasonal ? 4 : 3;
  double x[4] = {alphas[0], 0.1, 0.95, 0.1};
  const double lo[4] = {ETS_COEF_LO, ETS_COEF_LO, ETS_PHI_LO, ETS_COEF_LO};
  const double hi[4] = {ETS_COEF_HI, ETS_COEF_HI, ETS_PHI_HI, ETS_COEF_HI};
  const double step[4] = {0.1, 0.2, 0.05, 0.2};

  d->sse_scale = 1.0;
  double best = INFINITY, best_alpha = alphas[0];
  for (size_t i = 0; i < sizeof(alphas) / sizeof(alphas[0]); i++) {
    x[0] = alphas[i];
    double v = ets_objective(x, d);
    if (v < best) {
      best = v;
      best_alpha = alphas[i];
    }
  }
  x[0] = best_alpha;
  /* Scale so that ETS_FTOL is relative; a perfect fit (SSE 0) stops at once. */
  d->sse_scale = best > 0.0 && isfinite(best) ? best : 1.0;
  int budget = ETS_MAX_EVALS - (int)(sizeof(alphas) / sizeof(alphas[0]));
  fc__nelder_mead(ets_objective, d, dim, x, step, lo, hi, budget, ETS_FTOL);
  return ets_params_from(x, d->seasonal);
}

/* Copies the window into d (sample, keep flag) and counts the kept samples. A
 * non-finite y counts as missing too, though the engine never passes one. */
static void ets_prepare(const fc__fit_input *in, double *y, double *keep, ets_data *d) {
  d->n_kept = 0;
  for (int i = 0; i < in->n; i++) {
    int ok = isfinite(in->y[i]) && (in->w == NULL || in->w[i] >= 0.5);
    y[i] = ok ? in->y[i] : 0.0;
    keep[i] = ok ? 1.0 : 0.0;
    d->n_kept += ok;
  }
  d->y = y;
  d->keep = keep;
  d->n = in->n;
}

static int ets_check_input(const fc__fit_input *in, fc_error *err) {
  if (in->season < 0 || in->season == 1)
    return fc__fail(err, FC_EINVAL, "ets: season %d slots (must be 0 or >= 2)",
                    in->season);
  if (in->season > 0 && in->n < 2 * in->season)
    return fc__fail(err, FC_ENODATA,
                    "ets: window of %d slots is shorter than two seasons (2 x %d)", in->n,
                    in->season);
  if (in->n < ETS_MIN_KEPT)
    return fc__fail(err, FC_ENODATA, "ets: window of %d slots (need >= %d)", in->n,
                    ETS_MIN_KEPT);
  return 0;
}

/* Final pass with the estimated parameters, through the plain recurrence: the state
 * after the window's last slot and the train loss. */
static void ets_position(ets_state *st, const ets_data *d, const ets_params *p) {
  double sse = 0.0;
  st->p = *p;
  st->m = d->m;
  st->level = d->l0;
  st->trend = d->b0;
  st->last_y = 0.0;
  memcpy(st->s, d->s0, (size_t)d->m * sizeof(double));
  for (int t = 0, j = 0; t < d->n; t++) {
    double e = ets_step(p, &st->level, &st->trend, &st->s[j], d->y[t], d->keep[t]);
    sse += e * e;
    if (d->keep[t] > 0.0)
      st->last_y = d->y[t];
    if (++j == d->m)
      j = 0;
  }
  st->next = d->n % d->m;
  st->mse = sse / d->n_kept;
}

/* Fits on the window with d's buffers in place; returns the positioned state, or NULL
 * with err filled. */
static ets_state *ets_fit_window(const fc__fit_input *in, ets_data *d, double *s0,
                                 fc_error *err) {
  if (d->n_kept < ETS_MIN_KEPT) {
    fc__fail(err, FC_ENODATA, "ets: %d valid samples in a window of %d (need >= %d)",
             d->n_kept, in->n, ETS_MIN_KEPT);
    return NULL;
  }
  if (d->seasonal) {
    if (ets_init_seasonal(d, s0, err) != 0)
      return NULL;
  } else {
    ets_init_nonseasonal(d, s0);
  }
  ets_params p = ets_estimate(d);
  ets_state *st = malloc(sizeof(*st) + (size_t)d->m * sizeof(double));
  if (st == NULL) {
    fc__fail(err, FC_ENOMEM, "ets: out of memory (season of %d slots)", d->m);
    return NULL;
  }
  ets_position(st, d, &p);
  return st;
}

static void *ets_fit(const fc__fit_input *in, fc_error *err) {
  if (ets_check_input(in, err) != 0)
    return NULL;
  ets_data d = {.seasonal = in->season > 0, .m = in->season > 0 ? in->season : 1};
  /* One block, freed before returning: y and keep (n each), then s0 and the
   * objective's scratch s (m each). */
  double *buf = malloc((2 * (size_t)in->n + 2 * (size_t)d.m) * sizeof(double));
  if (buf == NULL) {
    fc__fail(err, FC_ENOMEM, "ets: out of memory (window of %d slots)", in->n);
    return NULL;
  }
  double *s0 = buf + 2 * (size_t)in->n;
  d.s0 = s0;
  d.s = s0 + d.m;
  ets_prepare(in, buf, buf + in->n, &d);
  ets_state *st = ets_fit_window(in, &d, s0, err);
  free(buf);
  return st;
}

static void ets_observe(void *state, double y) {
  ets_state *st = state;
  int ok = isfinite(y);
  ets_step(&st->p, &st->level, &st->trend, &st->s[st->next], ok ? y : 0.0,
           ok ? 1.0 : 0.0);
  if (ok)
    st->last_y = y;
  if (++st->next == st->m)
    st->next = 0;
}

/* mean[h-1] = l_t + (phi + ... + phi^h) b_t + s_{t+h-m(k+1)}; the seasonal index walks
 * the ring from s[next], wrapping every m horizons. */
static void ets_predict(const void *state, int h_max, double *mean) {
  const ets_state *st = state;
  double phi_h = 1.0, damped_sum = 0.0;
  int j = st->next;
  for (int h = 1; h <= h_max; h++) {
    phi_h *= st->p.phi;
    damped_sum += phi_h;
    double v = st->level + damped_sum * st->trend + st->s[j];
    mean[h - 1] = isfinite(v) ? v : st->last_y;
    if (++j == st->m)
      j = 0;
  }
}

static double ets_train_loss(const void *state) {
  return ((const ets_state *)state)->mse;
}

const fc__model_ops fc__ets_ops = {
    .kind = FC_KIND_ETS,
    .name = "ets",
    .fit = ets_fit,
    .observe = ets_observe,
    .predict = ets_predict,
    .destroy = free,
    .train_loss = ets_train_loss,
};
