/* linalg.c -- weighted ridge least squares, for the regression kinds (ar.c).
 *
 * Problem (fc_internal.h): for the n x p row-major design X, responses y and weights w,
 *   b = argmin  sum_i w_i (y_i - x_i . b)^2  +  lambda * sum_{j >= pen0} b_j^2
 * solved through the normal equations
 *   (X'WX + lambda P) b = X'Wy,        P = diag(0, .., 0, 1, .., 1)   (pen0 zeros)
 * with a Cholesky factorisation (LAPACK dpotrf/dpotrs; Golub & Van Loan, "Matrix
 * Computations", 4th ed., 2013, sec. 4.2 and 5.3.3).
 *
 * Why the normal equations and not a QR of X: the designs here are tall and narrow
 * (n ~ 3000, p <= 64), so forming X'WX costs n p^2 / 2 and the solve p^3 / 3, a third of
 * a Householder QR; their condition number is cond(X)^2, which we check (below) rather
 * than hope for. The callers standardise their data, which keeps cond(X) modest.
 *
 * Singularity. Before factorising, the system is Jacobi-equilibrated,
 *   A' = D A D,   D = diag(1 / sqrt(A_jj)),
 * which makes the reciprocal condition estimate (dpocon) independent of the columns'
 * units. The system is called singular when a diagonal entry is not positive (a column
 * that no weighted row touches and no penalty holds), when the factorisation breaks
 * down, or when rcond(A') < RCOND_MIN: at that point the relative error bound
 * cond * eps ~ 1e13 * 2.2e-16 leaves the coefficients with fewer than three significant
 * digits, which is no fit at all.
 *
 * Memory and threads: no allocation. X'WX is accumulated in blocks of CHUNK_ROWS rows
 * scaled by sqrt(w_i), one dsyrk per block, on the stack (p <= 64 bounds it to ~50 KB).
 * Small blocks also keep OpenBLAS on the calling thread. The LAPACKE *_work entry points
 * with column-major storage are used because the plain ones allocate (and transpose)
 * internally; a symmetric matrix is its own transpose, so "column-major lower" is the
 * same memory as "row-major upper".
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "forecast/fc_internal.h"

#define RIDGE_P_MAX 64
#define CHUNK_ROWS 16
#define RCOND_MIN 1e-13

/* A += sum_i w_i x_i x_i' (lower triangle of the column-major p x p A) and
 * c += sum_i w_i y_i x_i over rows 0..n-1. w NULL means all ones; w_i <= 0 skips. */
static void normal_equations(const double *X, const double *y, const double *w, int n,
                             int p, double *A, double *c) {
  double xs[CHUNK_ROWS * RIDGE_P_MAX], ys[CHUNK_ROWS];
  for (int i0 = 0; i0 < n; i0 += CHUNK_ROWS) {
    int m = n - i0 < CHUNK_ROWS ? n - i0 : CHUNK_ROWS;
    for (int r = 0; r < m; r++) {
      double wi = w != NULL ? w[i0 + r] : 1.0;
      double s = wi > 0 ? sqrt(wi) : 0.0;
      const double *x = X + (size_t)(i0 + r) * (size_t)p;
      for (int j = 0; j < p; j++)
        xs[r * p + j] = s * x[j];
      ys[r] = s * y[i0 + r];
    }
    /* the block, row-major m x p, is the column-major p x m matrix B: A += B B' */
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, p, m, 1.0, xs, p, 1.0, A, p);
    cblas_dgemv(CblasColMajor, CblasNoTrans, p, m, 1.0, xs, p, ys, 1, 1.0, c, 1);
  }
}

/* One-norm of the symmetric A given by its lower triangle (for dpocon). */
static double sym_norm1(const double *A, int p) {
  double best = 0;
  for (int k = 0; k < p; k++) {
    double s = 0;
    for (int j = 0; j < p; j++)
      s += fabs(j >= k ? A[j + k * p] : A[k + j * p]);
    if (s > best)
      best = s;
  }
  return best;
}

/* Solves A b = c for the symmetric positive definite A (lower triangle, column-major,
 * destroyed). Returns 0, or the index + 1 of the offending column / -1 for a bad
 * condition number when A is singular to working precision (see the file comment). */
static int spd_solve(double *A, double *c, int p, double *b, double *rcond) {
  double d[RIDGE_P_MAX], work[3 * RIDGE_P_MAX];
  lapack_int iwork[RIDGE_P_MAX];
  *rcond = 0;
  for (int j = 0; j < p; j++) {
    if (!(A[j + j * p] > 0))
      return j + 1;
    d[j] = 1.0 / sqrt(A[j + j * p]);
  }
  for (int k = 0; k < p; k++) {
    for (int j = k; j < p; j++)
      A[j + k * p] *= d[j] * d[k];
    c[k] *= d[k];
  }
  double anorm = sym_norm1(A, p);
  if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', p, A, p) != 0)
    return -1;
  if (LAPACKE_dpocon_work(LAPACK_COL_MAJOR, 'L', p, A, p, anorm, rcond, work, iwork))
    return -1;
  if (!(*rcond >= RCOND_MIN))
    return -1;
  if (LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', p, 1, A, p, c, p) != 0)
    return -1;
  for (int j = 0; j < p; j++)
    b[j] = d[j] * c[j];
  return 0;
}

int fc__ridge(const double *X, const double *y, const double *w, int n, int p,
              double lambda, int pen0, double *b, fc_error *err) {
  if (n < 1 || p < 1 || p > RIDGE_P_MAX)
    return fc__fail(err, FC_EINVAL, "ridge: %d x %d design (need n >= 1, 1 <= p <= %d)",
                    n, p, RIDGE_P_MAX);
  if (!(lambda >= 0) || !isfinite(lambda) || pen0 < 0 || pen0 > p)
    return fc__fail(err, FC_EINVAL, "ridge: lambda %g from column %d (need lambda >= 0, "
                    "0 <= pen0 <= %d)", lambda, pen0, p);
  double A[RIDGE_P_MAX * RIDGE_P_MAX], c[RIDGE_P_MAX];
  memset(A, 0, sizeof(double) * (size_t)(p * p));
  memset(c, 0, sizeof(double) * (size_t)p);
  normal_equations(X, y, w, n, p, A, c);
  for (int j = 0; j < p; j++) {
    if (!isfinite(A[j + j * p]) || !isfinite(c[j]))
      return fc__fail(err, FC_EINVAL, "ridge: column %d or y holds a non-finite value",
                      j);
    if (j >= pen0)
      A[j + j * p] += lambda;
  }
  double rcond, sol[RIDGE_P_MAX];
  int bad = spd_solve(A, c, p, sol, &rcond);
  if (bad > 0)
    return fc__fail(err, FC_ENODATA, "ridge: column %d of %d carries no weighted data "
                    "and no penalty (singular system)", bad - 1, p);
  if (bad < 0)
    return fc__fail(err, FC_ENODATA, "ridge: singular system (%d x %d, lambda %g, "
                    "reciprocal condition %.2g < %.0e)", n, p, lambda, rcond, RCOND_MIN);
  memcpy(b, sol, sizeof(double) * (size_t)p);
  return 0;
}
