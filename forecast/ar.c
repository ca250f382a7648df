/* ar.c -- autoregression on recent and seasonal lags (FC_KIND_AR, "ar").
 *
 * Model (Box, Jenkins, Reinsel & Ljung, "Time Series Analysis", 5th ed., Wiley 2015,
 * ch. 3 and 9 for the seasonal lags):
 *   y_t = c + sum_{l in L} a_l y_{t-l} + e_t,
 *   L = {1..p}  U  S_day  U  S_week,
 *   S_day  in { {}, {D}, {D-1, D, D+1} }   D = day_slots (the +-1 lags absorb a cycle
 *                                           that drifts by a slot, e.g. cron jitter)
 *   S_week in { {}, {W} }                   W = season_week, when one was detected.
 * Forecasts iterate the recursion, feeding back their own forecasts for lags that fall
 * inside the horizon: yhat_{T+h} = c + sum_l a_l yhat_{T+h-l}, yhat_s = y_s for s <= T.
 *
 * Fit. Conditional weighted least squares via fc__ridge (a row weighs the least of
 * the weights of its response and its lagged values, see row_weight()), on data
 * standardised to mean 0 and sd 1, with a tiny ridge (below) that only guards against
 * exactly collinear lags. The structure (p <= AR_P_MAX, S_day, S_week) is chosen by
 * AIC = n_w log(RSS / n_w) + 2 k (Akaike, IEEE Trans. Autom. Control 19(6), 1974,
 * 716-723), every candidate on the same rows (those that have all candidate lags) so
 * the criteria compare; the chosen structure is then refitted on all the rows it can
 * use. AIC rather than BIC: it targets one-step prediction error, which is what the
 * model is for. Whether the daily lags help is thus decided by the data, not by
 * in->season: a series without a daily cycle simply does not pick them.
 * The search is cheap because every candidate is a subset of one design: its Gram
 * matrix X'WX is formed once (n k_max^2 / 2) and each candidate is a k x k solve.
 *
 * State: the coefficients in original units and a ring buffer of the last max-lag
 * values (a power of two long, so that indexing is a mask). observe() writes one value,
 * or its own one-step forecast when the value is missing; predict() reads the ring and
 * its own output. Both are O(lags) and allocation-free.
 *
 * Guard: an unlucky fit can have a root outside the unit circle, and iterating it
 * explodes. Forecasts are clamped to [min - span, max + span] of the training window
 * (span = max - min): far outside anything a stationary fit produces at these
 * horizons, and it keeps predict()'s output finite as the contract requires.
 *
 * Not here: differencing (a trend shows as a lag sum near 1, which the recursion
 * extrapolates as a level), MA terms, exogenous inputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "forecast/ar.h"
#include "forecast/fc_internal.h"

#define AR_P_MAX 12                         /* recent lags 1..12: one hour at 300 s */
#define AR_MIN_ROWS (5 * (1 + AR_P_MAX))    /* >= 5 rows per coefficient at p max */
#define AR_MIN_N (AR_P_MAX + AR_MIN_ROWS)
#define AR_COLS_MAX (1 + AR_P_MAX + 3 + 1)  /* intercept, recent, S_day, S_week */
#define AR_LAMBDA_REL 1e-8  /* ridge relative to the Gram diagonal (~ n_w): far below a
                               coefficient's sampling error ~ 1 / sqrt(n) */

typedef struct ar_state {
  int k;                     /* lags in the model */
  int lag[AR_COLS_MAX];      /* increasing */
  double coef[AR_COLS_MAX];  /* a_l, original units */
  double c;                  /* intercept, original units */
  double lo, hi;             /* forecast guard (see file comment) */
  double mse;                /* in-sample one-step MSE, original units */
  double *ring;              /* last max-lag values; ring[pos] is the newest */
  unsigned mask, pos;
} ar_state;

/* The candidate lags, column j of the candidate design (column 0 is the intercept). */
typedef struct ar_cands {
  int lag[AR_COLS_MAX];
  int n;         /* columns including the intercept */
  int p_max;     /* recent lags 1..p_max are columns 1..p_max */
  int day0;      /* first of the three daily columns, or 0 when none */
  int week;      /* the weekly column, or 0 when none */
  int max_lag;
} ar_cands;

/* ---- fitting -------------------------------------------------------------------- */

/* Candidate lags for a window of n: seasonal ones only when they leave at least a day
 * (and AR_MIN_ROWS) of rows, and only when they do not repeat a recent lag. */
static void candidates(const fc__fit_input *in, ar_cands *cd) {
  int D = in->day_slots, W = in->season_week;
  int need = D > AR_MIN_ROWS ? D : AR_MIN_ROWS;
  cd->n = 0;
  cd->lag[cd->n++] = 0;
  cd->p_max = AR_P_MAX;
  for (int l = 1; l <= AR_P_MAX; l++)
    cd->lag[cd->n++] = l;
  cd->max_lag = AR_P_MAX;
  cd->day0 = cd->week = 0;
  if (D - 1 > AR_P_MAX && in->n - (D + 1) >= need) {
    cd->day0 = cd->n;
    for (int l = D - 1; l <= D + 1; l++)
      cd->lag[cd->n++] = l;
    cd->max_lag = D + 1;
  }
  if (W > D + 1 && in->n - W >= need) {
    cd->week = cd->n;
    cd->lag[cd->n++] = W;
    cd->max_lag = W;
  }
}

/* Writes the row of lags[0..k-1] (lag 0 = intercept) for target index t of ys. */
static void design_row(const double *ys, int t, const int *lags, int k, double *row) {
  for (int j = 0; j < k; j++)
    row[j] = lags[j] == 0 ? 1.0 : ys[t - lags[j]];
}

/* Weight of the row for target t: the least weight among the response and the lagged
 * values it uses (lags[0] = 0 is the response). A filled gap is a guess, on either
 * side of the equation; as a regressor it would bias the coefficients (errors in
 * variables), so its rows drop out, about (k + 1) rows per missing slot. */
static double row_weight(const double *w, int t, const int *lags, int k) {
  double m = w[t];
  for (int j = 1; j < k; j++)
    m = fmin(m, w[t - lags[j]]);
  return m > 0 ? m : 0.0;
}

/* Solves the candidate made of columns cols[0..k-1] of the Gram system (G full
 * symmetric ld x ld, rhs g) with the ridge on every column but the intercept.
 * Returns 0, or nonzero when the subsystem is not positive definite. */
static int subset_solve(const double *G, const double *g, int ld, const int *cols, int k,
                        double lambda, double *b) {
  double A[AR_COLS_MAX * AR_COLS_MAX];
  for (int j = 0; j < k; j++) {
    for (int i = 0; i < k; i++)
      A[i + j * k] = G[cols[i] + cols[j] * ld];
    if (cols[j] != 0)
      A[j + j * k] += lambda;
    b[j] = g[cols[j]];
  }
  if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', k, A, k) != 0)
    return 1;
  return LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', k, 1, A, k, b, k);
}

/* Column set of structure (p, sday, week): sday 0 none, 1 {D}, 2 {D-1, D, D+1}. */
static int structure_cols(const ar_cands *cd, int p, int sday, int week, int *cols) {
  int k = 0;
  for (int j = 0; j <= p; j++)
    cols[k++] = j;
  if (sday == 1)
    cols[k++] = cd->day0 + 1;
  if (sday == 2)
    for (int j = 0; j < 3; j++)
      cols[k++] = cd->day0 + j;
  if (week)
    cols[k++] = cd->week;
  return k;
}

/* Picks the structure with the lowest AIC; writes its lags to lags[] and returns their
 * count including the intercept (lag 0), 0 when no candidate could be solved, or -1 on
 * no memory. *rows_w gets the total weight of the selection rows. */
static int select_structure(const ar_cands *cd, const double *ys, const double *w, int n,
                            int *lags, double *rows_w) {
  int m = cd->n, r0 = cd->max_lag, rows = n - r0;
  *rows_w = 0;
  if (rows < 1) /* candidates() leaves AR_MIN_ROWS; said for the compiler's sake */
    return 0;
  double *xs = malloc(sizeof(double) * (size_t)rows * (size_t)m);
  if (xs == NULL)
    return -1;
  double G[AR_COLS_MAX * AR_COLS_MAX] = {0}, g[AR_COLS_MAX] = {0}, yy = 0, nw = 0;
  for (int i = 0; i < rows; i++) {
    double wi = row_weight(w, r0 + i, cd->lag, m), s = sqrt(wi);
    design_row(ys, r0 + i, cd->lag, m, xs + (size_t)i * m);
    for (int j = 0; j < m; j++)
      xs[(size_t)i * m + j] *= s;
    double yi = s * ys[r0 + i];
    cblas_daxpy(m, yi, xs + (size_t)i * m, 1, g, 1);
    yy += yi * yi;
    nw += wi;
  }
  cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, m, rows, 1.0, xs, m, 0.0, G, m);
  free(xs);
  *rows_w = nw;
  if (nw < AR_MIN_ROWS)
    return 0;
  for (int j = 0; j < m; j++)
    for (int i = 0; i < j; i++)
      G[i + j * m] = G[j + i * m];

  double lambda = AR_LAMBDA_REL * nw, best = INFINITY;
  int best_cols[AR_COLS_MAX], best_k = 0;
  for (int week = 0; week <= (cd->week != 0); week++)
    for (int sday = 0; sday <= (cd->day0 != 0 ? 2 : 0); sday++)
      for (int p = 1; p <= cd->p_max; p++) {
        int cols[AR_COLS_MAX];
        double b[AR_COLS_MAX];
        int k = structure_cols(cd, p, sday, week, cols);
        if (subset_solve(G, g, m, cols, k, lambda, b) != 0)
          continue;
        /* RSS = y'Wy - 2 b'X'Wy + b'X'WXb, and (X'WX + lambda P) b = X'Wy */
        double rss = yy;
        for (int j = 0; j < k; j++)
          rss -= b[j] * g[cols[j]] + (cols[j] != 0 ? lambda * b[j] * b[j] : 0.0);
        double aic = nw * log(fmax(rss, 1e-300 * nw) / nw) + 2.0 * k;
        if (aic < best) {
          best = aic;
          best_k = k;
          memcpy(best_cols, cols, sizeof(int) * (size_t)k);
        }
      }
  for (int j = 0; j < best_k; j++)
    lags[j] = cd->lag[best_cols[j]];
  return best_k;
}

/* Refits the chosen lags (lags[0] = 0, the intercept) on every row that has them.
 * Writes the standardised coefficients to b and the weighted in-sample MSE (of the
 * standardised series) to *mse. */
static int refit(const double *ys, const double *w, int n, const int *lags, int k,
                 double *b, double *mse, fc_error *err) {
  int r0 = lags[k - 1], rows = n - r0;
  double *X = malloc(sizeof(double) * (size_t)rows * (size_t)(k + 1));
  if (X == NULL)
    return fc__fail(err, FC_ENOMEM, "ar: out of memory for a %d x %d design", rows, k);
  double *rw = X + (size_t)rows * k, nw = 0;
  for (int i = 0; i < rows; i++) {
    design_row(ys, r0 + i, lags, k, X + (size_t)i * k);
    rw[i] = row_weight(w, r0 + i, lags, k);
    nw += rw[i];
  }
  int rc = fc__ridge(X, ys + r0, rw, rows, k, AR_LAMBDA_REL * nw, 1, b, err);
  if (rc == 0) {
    double sse = 0;
    for (int i = 0; i < rows; i++) {
      double e = ys[r0 + i] - cblas_ddot(k, X + (size_t)i * k, 1, b, 1);
      sse += rw[i] * e * e;
    }
    *mse = nw > 0 ? sse / nw : NAN;
  }
  free(X);
  return rc;
}

/* Weighted mean and sd of y; sd is 1 for a constant series (nothing to scale). */
static void moments(const double *y, const double *w, int n, double *mu, double *sd,
                    double *nw) {
  double sw = 0, s = 0, ss = 0;
  for (int i = 0; i < n; i++) {
    sw += w[i];
    s += w[i] * y[i];
  }
  *mu = sw > 0 ? s / sw : 0.0;
  for (int i = 0; i < n; i++)
    ss += w[i] * (y[i] - *mu) * (y[i] - *mu);
  *sd = sw > 0 && ss > 0 ? sqrt(ss / sw) : 1.0;
  *nw = sw;
}

/* Fills the state's coefficients (original units), guard and ring from a fit. */
static int install(ar_state *st, const fc__fit_input *in, const int *lags, int k,
                   const double *b, double mu, double sd) {
  double asum = 0;
  st->k = k - 1;
  for (int j = 1; j < k; j++) {
    st->lag[j - 1] = lags[j];
    st->coef[j - 1] = b[j];
    asum += b[j];
  }
  /* (y - mu) / sd = b0 + sum a_l (y_l - mu) / sd  =>  c = sd b0 + mu (1 - sum a_l) */
  st->c = sd * b[0] + mu * (1.0 - asum);
  double ymin = in->y[0], ymax = in->y[0];
  for (int i = 1; i < in->n; i++) {
    ymin = fmin(ymin, in->y[i]);
    ymax = fmax(ymax, in->y[i]);
  }
  st->lo = ymin - (ymax - ymin);
  st->hi = ymax + (ymax - ymin);
  unsigned size = 1, L = (unsigned)lags[k - 1];
  while (size < L)
    size <<= 1;
  st->ring = malloc(sizeof(double) * size);
  if (st->ring == NULL)
    return FC_ENOMEM;
  st->mask = size - 1;
  for (unsigned j = 0; j < L; j++)
    st->ring[j] = in->y[in->n - (int)L + (int)j];
  st->pos = L - 1;
  return 0;
}

static void *ar_fit(const fc__fit_input *in, fc_error *err) {
  if (in->n < AR_MIN_N) {
    fc__fail(err, FC_ENODATA, "ar: window of %d slots is too short (needs %d: %d lags "
             "and %d rows to fit them)", in->n, AR_MIN_N, AR_P_MAX, AR_MIN_ROWS);
    return NULL;
  }
  double mu, sd, nw;
  moments(in->y, in->w, in->n, &mu, &sd, &nw);
  if (nw < AR_MIN_ROWS) {
    fc__fail(err, FC_ENODATA, "ar: %.0f weighted valid samples in the window (needs %d)",
             nw, AR_MIN_ROWS);
    return NULL;
  }
  ar_state *st = calloc(1, sizeof(*st));
  double *ys = malloc(sizeof(double) * (size_t)in->n);
  if (st == NULL || ys == NULL) {
    fc__fail(err, FC_ENOMEM, "ar: out of memory for a window of %d slots", in->n);
    goto fail;
  }
  for (int i = 0; i < in->n; i++)
    ys[i] = (in->y[i] - mu) / sd;

  ar_cands cd;
  candidates(in, &cd);
  double rows_w;
  int lags[AR_COLS_MAX], k = select_structure(&cd, ys, in->w, in->n, lags, &rows_w);
  if (k < 0) {
    fc__fail(err, FC_ENOMEM, "ar: out of memory selecting lags");
    goto fail;
  }
  if (k == 0 && rows_w < AR_MIN_ROWS) {
    fc__fail(err, FC_ENODATA, "ar: %.0f rows have their value and all %d lags (up to %d) "
             "observed (needs %d)", rows_w, cd.n - 1, cd.max_lag, AR_MIN_ROWS);
    goto fail;
  }
  if (k == 0) {
    fc__fail(err, FC_ENODATA, "ar: no lag structure could be fitted (singular designs)");
    goto fail;
  }
  double b[AR_COLS_MAX], mse = NAN;
  if (refit(ys, in->w, in->n, lags, k, b, &mse, err) != 0)
    goto fail;
  st->mse = mse * sd * sd;
  if (install(st, in, lags, k, b, mu, sd) != 0) {
    fc__fail(err, FC_ENOMEM, "ar: out of memory for a ring of %d values", lags[k - 1]);
    goto fail;
  }
  free(ys);
  return st;
fail:
  free(ys);
  free(st);
  return NULL;
}

/* ---- running ------------------------------------------------------------------- */

static double clamp(const ar_state *st, double v) {
  if (!(v >= st->lo)) /* also NaN */
    return st->lo;
  return v > st->hi ? st->hi : v;
}

/* yhat_{T+1} from the ring (ring[pos] = y_T). */
static double one_step(const ar_state *st) {
  double s = st->c;
  for (int j = 0; j < st->k; j++)
    s += st->coef[j] * st->ring[(st->pos + 1u - (unsigned)st->lag[j]) & st->mask];
  return clamp(st, s);
}

static void ar_observe(void *vst, double y) {
  ar_state *st = vst;
  double v = isfinite(y) ? y : one_step(st);
  st->pos = (st->pos + 1u) & st->mask;
  st->ring[st->pos] = v;
}

static void ar_predict(const void *vst, int h_max, double *mean) {
  const ar_state *st = vst;
  for (int h = 1; h <= h_max; h++) {
    double s = st->c;
    for (int j = 0; j < st->k; j++) {
      int back = h - st->lag[j]; /* time of the lagged value relative to now */
      double v = back >= 1 ? mean[back - 1]
                           : st->ring[(st->pos + (unsigned)back) & st->mask];
      s += st->coef[j] * v;
    }
    mean[h - 1] = clamp(st, s);
  }
}

static void ar_destroy(void *vst) {
  ar_state *st = vst;
  if (st != NULL)
    free(st->ring);
  free(st);
}

static double ar_train_loss(const void *vst) {
  return ((const ar_state *)vst)->mse;
}

double fc__ar_coef(const void *vst, int lag) {
  const ar_state *st = vst;
  for (int j = 0; j < st->k; j++)
    if (st->lag[j] == lag)
      return st->coef[j];
  return 0.0;
}

int fc__ar_nlags(const void *vst) {
  return ((const ar_state *)vst)->k;
}

const fc__model_ops fc__ar_ops = {
    .kind = FC_KIND_AR,
    .name = "ar",
    .fit = ar_fit,
    .observe = ar_observe,
    .predict = ar_predict,
    .destroy = ar_destroy,
    .train_loss = ar_train_loss,
};
