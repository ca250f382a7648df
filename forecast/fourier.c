/* fourier.c -- piecewise-linear trend + Fourier season (FC_KIND_FOURIER, "fourier"),
 * the model family behind Prophet, with a residual correction for the recent level.
 *
 * Model (Taylor & Letham, "Forecasting at scale", The American Statistician 72(1),
 * 2018, 37-45, eqs. 1, 3 and 5, with its Laplace prior on slope changes replaced by a
 * Gaussian one, i.e. ridge):
 *   y_t = g(t) + s(t) + r_t
 *   g(t) = b0 + b1 tau + sum_j d_j (tau - c_j)_+          tau = t / n (window units)
 *   s(t) = sum_{k=1}^{K} [a_k cos(2 pi k u / D) + b_k sin(2 pi k u / D)]
 *        + sum_{k=1}^{Kw} [a'_k cos(2 pi k u / W) + b'_k sin(2 pi k u / W)]
 *   u = slot0 + t, the ABSOLUTE slot number: the phase of a harmonic is the time of
 *   day (of week), so the tables below are indexed by u mod D (u mod W).
 *   D = day_slots, W = season_week (weekly terms only when a weekly cycle was detected
 *   and the window holds a week and a day).
 * Changepoints c_j: FR_CP_MAX candidates evenly spaced over the first 80% of the window
 * (as Prophet), none in the last 20% so that the final slope, the one we extrapolate,
 * rests on a fifth of the data. Weighted least squares (weights in->w) with the ridge
 * lambda sum d_j^2 on the slope changes only.
 *
 * Choosing lambda, K and Kw from the data:
 *   1. lambda (and the trend damping phi_d, below) by a holdout: fit on all but the
 *      last L = min(max(D, h_max), n / 5) slots, forecast those L slots, keep the pair
 *      with the least weighted squared error. A holdout, not GCV, because lambda's job
 *      is the extrapolated slope, which in-sample criteria do not see.
 *   2. K, Kw by BIC = n_w log(RSS / n_w) + log(n_w) 2 (K + Kw) on the whole window
 *      (Schwarz, Ann. Statist. 6(2), 1978, 461-464). The trend's effective degrees of
 *      freedom are left out: harmonics are nearly orthogonal to a trend, so they are the
 *      same for every K and cancel in the comparison. K = 0 is a candidate, so a series
 *      without a daily cycle gets none.
 *   3. lambda and phi_d again for the chosen K, Kw (step 1 used the largest ones).
 * Every candidate is a subset of one design, so X'WX is formed once per part of the
 * window (training, holdout), n m^2 / 2 flops with m <= FR_COLS_MAX, and each candidate
 * costs an m x m Cholesky solve: the whole search is cheaper than a second pass.
 *
 * Trend extrapolation: the last segment's slope m, damped (Gardner & McKenzie,
 * "Forecasting trends in time series", Management Science 31(10), 1985, 1237-1246):
 *   g(T + h) = g(T) + m sum_{i=1}^{h} phi_d^i,    phi_d in {1, e^{-1/4L}, e^{-1/L},
 *                                                            e^{-4/L}}
 * chosen with lambda on the holdout. Why damp at all: a slope fitted on the last fifth of
 * a window is often a transient (a backlog draining, a batch job growing), and
 * extending it linearly is the worst error a capacity forecast can make; where the
 * trend is real the holdout keeps phi_d = 1. The damping clock starts at the end of the
 * window, not at each forecast origin: the trend path is fixed at fit time, and the
 * residual correction below owns the recent level.
 *
 * Residual correction: a static regression ignores where the series is now. The fit
 * residuals r_t = y_t - g(t) - s(t) are modelled as AR(1),
 *   r_t = phi_r r_{t-1} + e_t,   phi_r = sum w w' r_t r_{t-1} / sum w w' r_{t-1}^2
 * (weights of both samples), clamped to |phi_r| <= 0.999; observe() updates r_t, and
 *   yhat_{T+h} = g(T + h) + s(T + h) + phi_r^h r_T.
 * A missing sample advances r by its own forecast, r <- phi_r r. train_loss is the
 * weighted mean of e_t^2 over the window (the in-sample one-step MSE).
 *
 * Cost: fit ~ n m^2 / 2 for the two Gram matrices plus at most 65 small solves;
 * observe O(1); predict O(h_max) from per-phase tables of s(t), built at fit time.
 *
 * Not here: multiplicative seasonality, holidays, Prophet's simulated future
 * changepoints (its trend uncertainty: intervals are calibrated by the engine).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "forecast/fc_internal.h"

#define FR_CP_MAX 20      /* candidate changepoints (Prophet uses 25 on longer windows) */
#define FR_CP_SPAN 0.8    /* ... over the first 80% of the window (as Prophet) */
#define FR_CP_MIN_SEG 8   /* slots per candidate segment at least, for short windows */
#define FR_KD_MAX 10      /* daily harmonics: a 2.4 h feature at 10 */
#define FR_KW_MAX 6       /* weekly: below the 7th, which is the daily fundamental */
#define FR_COLS_MAX (2 + FR_CP_MAX + 2 * FR_KD_MAX + 2 * FR_KW_MAX)
#define FR_CHUNK 32
#define FR_PHI_R_MAX 0.999
#define FR_TWO_PI 6.283185307179586476925

static const int kd_grid[] = {0, 1, 2, 3, 4, 6, 8, 10};
static const int kw_grid[] = {0, 1, 2, 3, 4, 6};
/* lambda / n_w, strongest first (ties go to the smoother trend). The columns are in
 * window units and y is standardised, so the grid spans "a straight line" (10) to
 * "free slopes" (1e-6) whatever the series' scale or length. */
static const double lambda_grid[] = {10, 1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
#define N_LAMBDA (int)(sizeof(lambda_grid) / sizeof(lambda_grid[0]))
/* damping e-folding times in holdout lengths, undamped first (ties keep it) */
static const double damp_grid[] = {INFINITY, 4, 1, 0.25};
#define N_DAMP (int)(sizeof(damp_grid) / sizeof(damp_grid[0]))

/* ---- the fitted state ------------------------------------------------------------ */

typedef struct fr_state {
  int D, W;            /* periods; W = 1 when there are no weekly terms */
  int jd, jw;          /* phases of the current slot: u mod D, u mod W */
  double *day, *week;  /* s(t) per phase, original units; one allocation (day) */
  double g, m, phi_d;  /* trend at the current slot, its last increment, damping */
  double r, phi_r;     /* residual at the current slot, its AR(1) coefficient */
  double mse;          /* in-sample one-step MSE */
} fr_state;

/* ---- fitting: the design -------------------------------------------------------- */

typedef struct fr_fit {
  const fc__fit_input *in;
  int n, D, W;             /* W = 0 without weekly terms */
  int C, kd_max, kw_max, m; /* changepoints, harmonics, design columns */
  int n_tr, L;             /* training rows, holdout rows (n = n_tr + L) */
  double cp[FR_CP_MAX];    /* changepoints, tau units */
  double mu, sd, nw;
  double *ys;              /* standardised y, n */
  double *cos_d, *sin_d;   /* cos/sin(2 pi j / D), j < D; then the same for W */
  double *cos_w, *sin_w;
  double *G, *g, yy;       /* Gram of the whole window (full symmetric), X'Wy, y'Wy */
  double *Gt, *gt;         /* the same on the training rows */
  double *Xho;             /* the holdout rows, unweighted, L x m */
} fr_fit;

/* Columns: 0 intercept, 1 tau, 2..C+1 hinges, then cos/sin pairs of the daily and
 * the weekly harmonics. */
static int col_day(const fr_fit *f, int k) {
  return 2 + f->C + 2 * (k - 1);
}
static int col_week(const fr_fit *f, int k) {
  return 2 + f->C + 2 * f->kd_max + 2 * (k - 1);
}

static int phase(int64_t u, int period) {
  int64_t r = u % period;
  return (int)(r < 0 ? r + period : r);
}

/* Harmonics k = 1..K of phase j of period P into row[0..2K-1], by table lookup at
 * k j mod P (exact, and no trigonometry per row). */
static void harmonics(const double *cs, const double *sn, int P, int j, int K,
                      double *row) {
  int idx = 0;
  for (int k = 0; k < K; k++) {
    idx += j;
    if (idx >= P)
      idx -= P;
    row[2 * k] = cs[idx];
    row[2 * k + 1] = sn[idx];
  }
}

/* Design row of window index i (all candidate columns). */
static void design_row(const fr_fit *f, int i, double *row) {
  double tau = (double)i / f->n;
  int64_t u = f->in->slot0 + i;
  row[0] = 1.0;
  row[1] = tau;
  for (int j = 0; j < f->C; j++)
    row[2 + j] = tau > f->cp[j] ? tau - f->cp[j] : 0.0;
  harmonics(f->cos_d, f->sin_d, f->D, phase(u, f->D), f->kd_max, row + col_day(f, 1));
  if (f->kw_max > 0)
    harmonics(f->cos_w, f->sin_w, f->W, phase(u, f->W), f->kw_max, row + col_week(f, 1));
}

/* G += X'WX, g += X'Wy, *yy += y'Wy over rows [i0, i1); copies the unweighted rows to
 * raw (L x m) when raw is not NULL. */
static void accumulate(const fr_fit *f, int i0, int i1, double *G, double *g, double *yy,
                       double *raw) {
  double xs[FR_CHUNK * FR_COLS_MAX], ws[FR_CHUNK];
  int m = f->m;
  for (int c0 = i0; c0 < i1; c0 += FR_CHUNK) {
    int rows = i1 - c0 < FR_CHUNK ? i1 - c0 : FR_CHUNK;
    for (int r = 0; r < rows; r++) {
      double w = f->in->w[c0 + r], s = w > 0 ? sqrt(w) : 0.0;
      double *x = xs + r * m;
      design_row(f, c0 + r, x);
      if (raw != NULL)
        memcpy(raw + (size_t)(c0 - i0 + r) * m, x, sizeof(double) * (size_t)m);
      for (int j = 0; j < m; j++)
        x[j] *= s;
      ws[r] = s * f->ys[c0 + r];
      *yy += ws[r] * ws[r];
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, m, rows, 1.0, xs, m, 1.0, G, m);
    cblas_dgemv(CblasColMajor, CblasNoTrans, m, rows, 1.0, xs, m, ws, 1, 1.0, g, 1);
  }
}

static void symmetrise(double *G, int m) {
  for (int j = 0; j < m; j++)
    for (int i = 0; i < j; i++)
      G[i + j * m] = G[j + i * m];
}

/* Changepoints and the column layout for the window; weekly terms when detected and
 * the window holds W + D slots. */
static void layout(fr_fit *f) {
  const fc__fit_input *in = f->in;
  f->n = in->n;
  f->D = in->day_slots;
  f->W = in->season_week > 0 && in->n >= in->season_week + in->day_slots
             ? in->season_week
             : 0;
  f->C = (int)(FR_CP_SPAN * f->n / FR_CP_MIN_SEG);
  if (f->C > FR_CP_MAX)
    f->C = FR_CP_MAX;
  for (int j = 0; j < f->C; j++) /* Prophet: linspace(0, 0.8 (n - 1), C + 1)[1:] */
    f->cp[j] = FR_CP_SPAN * (f->n - 1) * (j + 1) / (f->C * (double)f->n);
  f->kd_max = (f->D - 1) / 2 < FR_KD_MAX ? (f->D - 1) / 2 : FR_KD_MAX;
  /* weekly harmonics stay below the daily fundamental, k / W < 1 / D, or they would
   * repeat daily columns */
  f->kw_max = f->W == 0 ? 0 : (f->W - 1) / f->D;
  if (f->kw_max > FR_KW_MAX)
    f->kw_max = FR_KW_MAX;
  f->m = 2 + f->C + 2 * f->kd_max + 2 * f->kw_max;
  int L = f->D > in->h_max ? f->D : in->h_max;
  f->L = L < f->n / 5 ? L : f->n / 5;
  f->n_tr = f->n - f->L;
}

/* Weighted mean and sd of y; sd 1 for a constant series. */
static void standardise(fr_fit *f) {
  const double *y = f->in->y, *w = f->in->w;
  double sw = 0, s = 0, ss = 0;
  for (int i = 0; i < f->n; i++) {
    sw += w[i];
    s += w[i] * y[i];
  }
  f->mu = sw > 0 ? s / sw : 0.0;
  for (int i = 0; i < f->n; i++)
    ss += w[i] * (y[i] - f->mu) * (y[i] - f->mu);
  f->sd = sw > 0 && ss > 0 ? sqrt(ss / sw) : 1.0;
  f->nw = sw;
  for (int i = 0; i < f->n; i++)
    f->ys[i] = (y[i] - f->mu) / f->sd;
}

static void trig_table(int P, double *cs, double *sn) {
  for (int j = 0; j < P; j++) {
    cs[j] = cos(FR_TWO_PI * j / P);
    sn[j] = sin(FR_TWO_PI * j / P);
  }
}

/* Allocates the work space (one block) and forms both Gram systems. */
static int prepare(fr_fit *f) {
  int m = f->m, Wt = f->W > 0 ? f->W : 0;
  size_t sz = (size_t)f->n + 2 * (size_t)f->D + 2 * (size_t)Wt + 2 * (size_t)m * m +
              2 * (size_t)m + (size_t)f->L * m;
  double *p = calloc(sz, sizeof(double));
  if (p == NULL)
    return FC_ENOMEM;
  f->ys = p, p += f->n;
  f->cos_d = p, p += f->D;
  f->sin_d = p, p += f->D;
  f->cos_w = p, p += Wt;
  f->sin_w = p, p += Wt;
  f->G = p, p += (size_t)m * m;
  f->Gt = p, p += (size_t)m * m;
  f->g = p, p += m;
  f->gt = p, p += m;
  f->Xho = p;
  standardise(f);
  trig_table(f->D, f->cos_d, f->sin_d);
  if (Wt > 0)
    trig_table(f->W, f->cos_w, f->sin_w);
  double yy_tr = 0;
  accumulate(f, 0, f->n_tr, f->Gt, f->gt, &yy_tr, NULL);
  f->yy = yy_tr;
  memcpy(f->G, f->Gt, sizeof(double) * (size_t)m * m);
  memcpy(f->g, f->gt, sizeof(double) * (size_t)m);
  accumulate(f, f->n_tr, f->n, f->G, f->g, &f->yy, f->Xho);
  symmetrise(f->G, m);
  symmetrise(f->Gt, m);
  return 0;
}

/* ---- fitting: candidates ------------------------------------------------------- */

/* A candidate: trend + kd daily and kw weekly harmonics, ridge lambda on the slope
 * changes. cols[] are its design columns; b[] its coefficients. */
typedef struct fr_cand {
  int kd, kw, k;
  double lambda;
  int cols[FR_COLS_MAX];
  double b[FR_COLS_MAX];
} fr_cand;

static void cand_init(const fr_fit *f, fr_cand *c, int kd, int kw, double lambda) {
  c->kd = kd, c->kw = kw, c->lambda = lambda, c->k = 0;
  for (int j = 0; j < 2 + f->C; j++)
    c->cols[c->k++] = j;
  for (int j = 0; j < 2 * kd; j++)
    c->cols[c->k++] = col_day(f, 1) + j;
  for (int j = 0; j < 2 * kw; j++)
    c->cols[c->k++] = col_week(f, 1) + j;
}

static int is_hinge(const fr_fit *f, int col) { return col >= 2 && col < 2 + f->C; }

/* Solves the candidate on the Gram system (G, g) of the fit; 0 or nonzero if singular. */
static int cand_solve(const fr_fit *f, const double *G, const double *g, fr_cand *c) {
  double A[FR_COLS_MAX * FR_COLS_MAX];
  int k = c->k, m = f->m;
  for (int j = 0; j < k; j++) {
    for (int i = j; i < k; i++)
      A[i + j * k] = G[c->cols[i] + c->cols[j] * m];
    if (is_hinge(f, c->cols[j]))
      A[j + j * k] += c->lambda;
    c->b[j] = g[c->cols[j]];
  }
  if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', k, A, k) != 0)
    return 1;
  if (LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', k, 1, A, k, c->b, k) != 0)
    return 1;
  for (int j = 0; j < k; j++)
    if (!isfinite(c->b[j]))
      return 1;
  return 0;
}

/* Weighted RSS of a candidate solved on the whole window:
 *   RSS = y'Wy - 2 b'X'Wy + b'X'WXb = y'Wy - b'X'Wy - lambda sum_hinge b_j^2,
 * using (X'WX + lambda P) b = X'Wy. */
static double cand_rss(const fr_fit *f, const fr_cand *c) {
  double rss = f->yy;
  for (int j = 0; j < c->k; j++)
    rss -= c->b[j] * f->g[c->cols[j]] +
           (is_hinge(f, c->cols[j]) ? c->lambda * c->b[j] * c->b[j] : 0.0);
  return rss;
}

/* Slope at window index i, per slot, standardised units. */
static double cand_slope(const fr_fit *f, const fr_cand *c, int i) {
  double tau = (double)i / f->n, s = c->b[1];
  for (int j = 2; j < 2 + f->C; j++)
    if (f->cp[j - 2] < tau)
      s += c->b[j];
  return s / f->n;
}

/* Holdout error of a candidate solved on the training rows, for each damping:
 * forecast_h = x_h . b - m (h - sum_{i<=h} phi^i) (the design extends the slope
 * linearly), error weighted by w. Writes sse[N_DAMP]. */
static void holdout_sse(const fr_fit *f, const fr_cand *c, double *sse) {
  double mslope = cand_slope(f, c, f->n_tr - 1), phi[N_DAMP], pw[N_DAMP], S[N_DAMP];
  for (int d = 0; d < N_DAMP; d++) {
    phi[d] = isinf(damp_grid[d]) ? 1.0 : exp(-1.0 / (damp_grid[d] * f->L));
    pw[d] = 1.0, S[d] = 0.0, sse[d] = 0.0;
  }
  for (int i = 0; i < f->L; i++) {
    const double *x = f->Xho + (size_t)i * f->m;
    double pred = 0, w = f->in->w[f->n_tr + i], h = i + 1;
    for (int j = 0; j < c->k; j++)
      pred += x[c->cols[j]] * c->b[j];
    double e = f->ys[f->n_tr + i] - pred;
    for (int d = 0; d < N_DAMP; d++) {
      pw[d] *= phi[d];
      S[d] += pw[d];
      double ed = e + mslope * (h - S[d]);
      sse[d] += w * ed * ed;
    }
  }
}

/* Step 1/3: lambda and damping for harmonics (kd, kw) by the holdout. */
static int choose_lambda(const fr_fit *f, int kd, int kw, double *lambda, double *phi_d) {
  double best = INFINITY;
  for (int l = 0; l < N_LAMBDA; l++) {
    fr_cand c;
    double sse[N_DAMP];
    cand_init(f, &c, kd, kw, lambda_grid[l] * f->nw);
    if (cand_solve(f, f->Gt, f->gt, &c) != 0)
      continue;
    holdout_sse(f, &c, sse);
    for (int d = 0; d < N_DAMP; d++)
      if (sse[d] < best) {
        best = sse[d];
        *lambda = c.lambda;
        *phi_d = isinf(damp_grid[d]) ? 1.0 : exp(-1.0 / (damp_grid[d] * f->L));
      }
  }
  return isfinite(best) ? 0 : FC_ENODATA;
}

/* Step 2: harmonics by BIC at lambda. */
static int choose_harmonics(const fr_fit *f, double lambda, int *kd, int *kw) {
  double best = INFINITY, lognw = log(f->nw);
  for (size_t a = 0; a < sizeof(kd_grid) / sizeof(kd_grid[0]); a++)
    for (size_t b = 0; b < sizeof(kw_grid) / sizeof(kw_grid[0]); b++) {
      fr_cand c;
      if (kd_grid[a] > f->kd_max || kw_grid[b] > f->kw_max)
        continue;
      cand_init(f, &c, kd_grid[a], kw_grid[b], lambda);
      if (cand_solve(f, f->G, f->g, &c) != 0)
        continue;
      double rss = fmax(cand_rss(f, &c), 1e-300 * f->nw);
      double bic = f->nw * log(rss / f->nw) + lognw * 2.0 * (c.kd + c.kw);
      if (bic < best) {
        best = bic;
        *kd = c.kd, *kw = c.kw;
      }
    }
  return isfinite(best) ? 0 : FC_ENODATA;
}

/* Steps 1-3 of the file comment, then the chosen candidate solved on the whole
 * window. 0, or FC_ENODATA when every candidate was singular. */
static int select_candidate(const fr_fit *f, fr_cand *c, double *phi_d) {
  double lambda = 0;
  int kd = f->kd_max, kw = f->kw_max;
  if (choose_lambda(f, kd, kw, &lambda, phi_d) != 0 ||
      choose_harmonics(f, lambda, &kd, &kw) != 0 ||
      choose_lambda(f, kd, kw, &lambda, phi_d) != 0)
    return FC_ENODATA;
  cand_init(f, c, kd, kw, lambda);
  return cand_solve(f, f->G, f->g, c) != 0 ? FC_ENODATA : 0;
}

/* ---- fitting: the state ------------------------------------------------------- */

/* Per-phase seasonal tables in original units from the final candidate. */
static void season_tables(const fr_fit *f, const fr_cand *c, fr_state *st) {
  int base = 2 + f->C;
  double row[2 * (FR_KD_MAX > FR_KW_MAX ? FR_KD_MAX : FR_KW_MAX)];
  for (int j = 0; j < f->D; j++) {
    double s = 0;
    harmonics(f->cos_d, f->sin_d, f->D, j, c->kd, row);
    for (int k = 0; k < 2 * c->kd; k++)
      s += row[k] * c->b[base + k];
    st->day[j] = f->sd * s;
  }
  st->week[0] = 0.0;
  for (int j = 0; c->kw > 0 && j < f->W; j++) {
    double s = 0;
    harmonics(f->cos_w, f->sin_w, f->W, j, c->kw, row);
    for (int k = 0; k < 2 * c->kw; k++)
      s += row[k] * c->b[base + 2 * c->kd + k];
    st->week[j] = f->sd * s;
  }
}

/* Trend at window index i, original units. */
static double trend_at(const fr_fit *f, const fr_cand *c, int i) {
  double tau = (double)i / f->n, s = c->b[0] + c->b[1] * tau;
  for (int j = 0; j < f->C; j++)
    if (tau > f->cp[j])
      s += c->b[2 + j] * (tau - f->cp[j]);
  return f->mu + f->sd * s;
}

/* Residuals over the window, phi_r, the one-step MSE and the final residual state. */
static void residual_ar1(const fr_fit *f, const fr_cand *c, fr_state *st, double *r) {
  const double *y = f->in->y, *w = f->in->w;
  int64_t u0 = f->in->slot0;
  for (int i = 0; i < f->n; i++)
    r[i] = y[i] - trend_at(f, c, i) - st->day[phase(u0 + i, st->D)] -
           st->week[phase(u0 + i, st->W)];
  double num = 0, den = 0;
  for (int i = 1; i < f->n; i++) {
    num += w[i] * w[i - 1] * r[i] * r[i - 1];
    den += w[i] * w[i - 1] * r[i - 1] * r[i - 1];
  }
  double phi = den > 0 ? num / den : 0.0;
  st->phi_r = fmax(-FR_PHI_R_MAX, fmin(FR_PHI_R_MAX, phi));
  double state = 0, sse = 0, nw = 0; /* r before the window: its mean, 0 */
  for (int i = 0; i < f->n; i++) {
    double pred = st->phi_r * state;
    if (w[i] >= 0.5) {
      if (i > 0) {
        sse += w[i] * (r[i] - pred) * (r[i] - pred);
        nw += w[i];
      }
      state = r[i];
    } else {
      state = pred;
    }
  }
  st->r = state;
  st->mse = nw > 0 ? sse / nw : NAN;
}

static fr_state *make_state(const fr_fit *f, const fr_cand *c, double phi_d) {
  fr_state *st = calloc(1, sizeof(*st));
  int W = c->kw > 0 ? f->W : 1;
  double *tab = malloc(sizeof(double) * ((size_t)f->D + (size_t)W));
  double *r = malloc(sizeof(double) * (size_t)f->n);
  if (st == NULL || tab == NULL || r == NULL) {
    free(st), free(tab), free(r);
    return NULL;
  }
  st->D = f->D, st->W = W;
  st->day = tab, st->week = tab + f->D;
  season_tables(f, c, st);
  residual_ar1(f, c, st, r);
  free(r);
  int64_t u_last = f->in->slot0 + f->n - 1;
  st->jd = phase(u_last, st->D);
  st->jw = phase(u_last, st->W);
  st->g = trend_at(f, c, f->n - 1);
  st->m = f->sd * cand_slope(f, c, f->n - 1);
  st->phi_d = phi_d;
  return st;
}

static void *fourier_fit(const fc__fit_input *in, fc_error *err) {
  int need = 2 * in->day_slots;
  if (in->day_slots < 2 || in->n < need) {
    fc__fail(err, FC_ENODATA, "fourier: window of %d slots is too short (needs two days, "
             "%d slots, to tell a daily cycle from a trend)", in->n, need);
    return NULL;
  }
  fr_fit f = {.in = in};
  layout(&f);
  if (prepare(&f) != 0) {
    fc__fail(err, FC_ENOMEM, "fourier: out of memory for a window of %d slots", in->n);
    return NULL;
  }
  fr_state *st = NULL;
  if (f.nw < in->day_slots) {
    fc__fail(err, FC_ENODATA, "fourier: %.0f weighted valid samples in the window "
             "(needs a day, %d)", f.nw, in->day_slots);
    goto done;
  }
  double phi_d = 1;
  fr_cand c;
  if (select_candidate(&f, &c, &phi_d) != 0) {
    fc__fail(err, FC_ENODATA, "fourier: singular regression on %d slots (%d columns)",
             in->n, f.m);
    goto done;
  }
  st = make_state(&f, &c, phi_d);
  if (st == NULL)
    fc__fail(err, FC_ENOMEM, "fourier: out of memory for the model state");
done:
  free(f.ys); /* the head of prepare()'s block */
  return st;
}

/* ---- running -------------------------------------------------------------------- */

static void fourier_observe(void *vst, double y) {
  fr_state *st = vst;
  if (++st->jd == st->D)
    st->jd = 0;
  if (++st->jw == st->W)
    st->jw = 0;
  st->m *= st->phi_d;
  if (fabs(st->m) < DBL_MIN) /* a damped slope long spent: keep it out of the */
    st->m = 0.0;             /* subnormals, ~100x slower per operation on x86 */
  st->g += st->m;
  double fit = st->g + st->day[st->jd] + st->week[st->jw];
  st->r = isfinite(y) ? y - fit : st->phi_r * st->r;
}

static void fourier_predict(const void *vst, int h_max, double *mean) {
  const fr_state *st = vst;
  int jd = st->jd, jw = st->jw;
  double g = st->g, m = st->m, r = st->r;
  for (int h = 0; h < h_max; h++) {
    if (++jd == st->D)
      jd = 0;
    if (++jw == st->W)
      jw = 0;
    m *= st->phi_d;
    g += m;
    r *= st->phi_r;
    mean[h] = g + st->day[jd] + st->week[jw] + r;
  }
}

static void fourier_destroy(void *vst) {
  fr_state *st = vst;
  if (st != NULL)
    free(st->day);
  free(st);
}

static double fourier_train_loss(const void *vst) {
  return ((const fr_state *)vst)->mse;
}

const fc__model_ops fc__fourier_ops = {
    .kind = FC_KIND_FOURIER,
    .name = "fourier",
    .fit = fourier_fit,
    .observe = fourier_observe,
    .predict = fourier_predict,
    .destroy = fourier_destroy,
    .train_loss = fourier_train_loss,
};
