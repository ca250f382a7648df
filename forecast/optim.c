/* optim.c -- derivative-free minimisation for the few parameters of a model kind.
 *
 * Nelder-Mead downhill simplex (Nelder & Mead, "A simplex method for function
 * minimization", Computer Journal 7(4):308-313, 1965) with the standard coefficients and
 * the acceptance rules of Lagarias, Reeds, Wright & Wright, "Convergence properties of
 * the Nelder-Mead simplex method in low dimensions", SIAM J. Optim. 9(1):112-147, 1998:
 *
 *   vertices x_1..x_{d+1} ordered f(x_1) <= ... <= f(x_{d+1}),  c = mean(x_1..x_d)
 *   reflect   x_r  = c + rho (c - x_{d+1})                           rho   = 1
 *   expand    x_e  = c + chi (x_r - c)        if f_r < f_1           chi   = 2
 *   contract  x_oc = c + gam (x_r - c)        if f_d <= f_r < f_{d+1}  gam = 1/2
 *             x_ic = c - gam (c - x_{d+1})    if f_r >= f_{d+1}
 *   shrink    x_i  = x_1 + sig (x_i - x_1)    if a contraction fails  sig   = 1/2
 *
 * Bounds: every trial point is clamped to the box [lo, hi] before f sees it, so f is
 * never evaluated outside it and a minimum beyond a face ends on that face. Clamping can
 * flatten the simplex onto a face, after which it searches within the face; for
 * smoothing parameters, whose optima often sit on a bound (ets.c's phi = 0.98 or
 * beta near 0), that is the wanted outcome.
 *
 * Stopping: when max f - min f over the vertices is <= ftol (absolute: a caller that
 * wants a relative tolerance scales f, as ets.c does), or when one more iteration (up to
 * d + 2 evaluations) might pass max_evals. The value spread alone can stop early on a
 * simplex that straddles a minimum symmetrically.
 *
 * Invariants: at most max_evals calls of f, except that the d + 1 vertices of the
 * initial simplex are always evaluated; a NaN value counts as +infinity, so f may reject
 * a point by returning NaN; no allocation (dim <= 8 lives on the stack); deterministic
 * (no randomness, same calls in the same order for the same inputs).
 *
 * Not here: restarts, gradient methods, constraints other than a box.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "forecast/fc_internal.h"

#define NM_MAX_DIM 8

static const double NM_RHO = 1.0, NM_CHI = 2.0, NM_GAMMA = 0.5, NM_SIGMA = 0.5;

typedef struct nm_problem {
  double (*f)(const double *x, void *ctx);
  void *ctx;
  int dim;
  const double *lo, *hi;
  int evals;
} nm_problem;

/* Clamps x into the box and evaluates f there; NaN becomes +infinity so that a point f
 * rejects always loses a comparison. */
static double nm_eval(nm_problem *p, double *x) {
  for (int i = 0; i < p->dim; i++)
    x[i] = fmin(fmax(x[i], p->lo[i]), p->hi[i]);
  p->evals++;
  double v = p->f(x, p->ctx);
  return isnan(v) ? INFINITY : v;
}

/* out = a + t (a - b): the line through the centroid a and a vertex b, at t. */
static void nm_along(int dim, const double *a, const double *b, double t, double *out) {
  for (int i = 0; i < dim; i++)
    out[i] = a[i] + t * (a[i] - b[i]);
}

/* Indices of the best, worst and second-worst vertices. Ties go to the lower index for
 * the best and the higher one for the worst, which keeps the run deterministic. */
static void nm_order(const double *fv, int nv, int *best, int *worst, int *second) {
  *best = 0;
  *worst = 0;
  for (int i = 1; i < nv; i++) {
    if (fv[i] < fv[*best])
      *best = i;
    if (fv[i] >= fv[*worst])
      *worst = i;
  }
  *second = *best;
  for (int i = 0; i < nv; i++)
    if (i != *worst && fv[i] >= fv[*second])
      *second = i;
}

/* Centroid of every vertex but `skip`. */
static void nm_centroid(int dim, double v[][NM_MAX_DIM], int nv, int skip, double *c) {
  for (int i = 0; i < dim; i++)
    c[i] = 0.0;
  for (int k = 0; k < nv; k++)
    if (k != skip)
      for (int i = 0; i < dim; i++)
        c[i] += v[k][i];
  for (int i = 0; i < dim; i++)
    c[i] /= (double)(nv - 1);
}

/* Vertex 0 is x (clamped), vertex i+1 moves coordinate i by step[i]; inward when the
 * step would leave the box, so that clamping cannot merge two vertices. */
static void nm_initial_simplex(nm_problem *p, const double *x, const double *step,
                               double v[][NM_MAX_DIM], double *fv) {
  int d = p->dim;
  memcpy(v[0], x, (size_t)d * sizeof(double));
  fv[0] = nm_eval(p, v[0]);
  for (int k = 1; k <= d; k++) {
    memcpy(v[k], v[0], (size_t)d * sizeof(double));
    double s = step[k - 1];
    if (v[0][k - 1] + s > p->hi[k - 1])
      s = -s;
    v[k][k - 1] += s;
    fv[k] = nm_eval(p, v[k]);
  }
}

/* Moves every vertex but the best halfway towards it. */
static void nm_shrink(nm_problem *p, double v[][NM_MAX_DIM], double *fv, int best) {
  int nv = p->dim + 1;
  for (int k = 0; k < nv; k++) {
    if (k == best)
      continue;
    for (int i = 0; i < p->dim; i++)
      v[k][i] = v[best][i] + NM_SIGMA * (v[k][i] - v[best][i]);
    fv[k] = nm_eval(p, v[k]);
  }
}

/* One Nelder-Mead iteration: replaces the worst vertex, or shrinks. */
static void nm_iterate(nm_problem *p, double v[][NM_MAX_DIM], double *fv) {
  int d = p->dim, best, worst, second;
  double c[NM_MAX_DIM], xr[NM_MAX_DIM], xt[NM_MAX_DIM];
  nm_order(fv, d + 1, &best, &worst, &second);
  nm_centroid(d, v, d + 1, worst, c);

  nm_along(d, c, v[worst], NM_RHO, xr);
  double fr = nm_eval(p, xr), ft;
  if (fr < fv[best]) { /* expand: the direction is good, go further */
    nm_along(d, c, v[worst], NM_RHO * NM_CHI, xt);
    ft = nm_eval(p, xt);
    if (ft < fr) {
      memcpy(v[worst], xt, (size_t)d * sizeof(double));
      fv[worst] = ft;
    } else {
      memcpy(v[worst], xr, (size_t)d * sizeof(double));
      fv[worst] = fr;
    }
    return;
  }
  if (fr < fv[second]) { /* accept the reflection */
    memcpy(v[worst], xr, (size_t)d * sizeof(double));
    fv[worst] = fr;
    return;
  }
  if (fr < fv[worst]) { /* outside contraction, between c and x_r */
    nm_along(d, c, v[worst], NM_RHO * NM_GAMMA, xt);
    ft = nm_eval(p, xt);
    if (ft <= fr) {
      memcpy(v[worst], xt, (size_t)d * sizeof(double));
      fv[worst] = ft;
      return;
    }
  } else { /* inside contraction, between x_{d+1} and c */
    nm_along(d, c, v[worst], -NM_GAMMA, xt);
    ft = nm_eval(p, xt);
    if (ft < fv[worst]) {
      memcpy(v[worst], xt, (size_t)d * sizeof(double));
      fv[worst] = ft;
      return;
    }
  }
  nm_shrink(p, v, fv, best);
}

static double nm_spread(const double *fv, int nv) {
  double lo = fv[0], hi = fv[0];
  for (int k = 1; k < nv; k++) {
    lo = fmin(lo, fv[k]);
    hi = fmax(hi, fv[k]);
  }
  return hi - lo; /* +inf - +inf is NaN: a simplex of rejected points keeps going */
}

double fc__nelder_mead(double (*f)(const double *x, void *ctx), void *ctx, int dim,
                       double *x, const double *step, const double *lo, const double *hi,
                       int max_evals, double ftol) {
  assert(dim >= 1 && dim <= NM_MAX_DIM);
  nm_problem p = {.f = f, .ctx = ctx, .dim = dim, .lo = lo, .hi = hi, .evals = 0};
  double v[NM_MAX_DIM + 1][NM_MAX_DIM], fv[NM_MAX_DIM + 1];
  nm_initial_simplex(&p, x, step, v, fv);
  /* An iteration costs at most d + 2 evaluations (reflect, contract, shrink d). */
  while (p.evals + dim + 2 <= max_evals && !(nm_spread(fv, dim + 1) <= ftol))
    nm_iterate(&p, v, fv);

  int best = 0;
  for (int k = 1; k <= dim; k++)
    if (fv[k] < fv[best])
      best = k;
  memcpy(x, v[best], (size_t)dim * sizeof(double));
  return fv[best];
}
