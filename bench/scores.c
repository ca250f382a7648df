/* scores.c -- PROTOCOL.md A.1, after score_forecasts.py's score().
 *
 * Per VM, over origins o with forecast (mean f, lo l, hi u all finite) and actual
 * a = y_{o+h} present (n such points):
 *   MASE           = mean |a - f| / scale
 *   coverage       = share of l <= a <= u           upper_miss = share of a > u
 *   rel_width      = mean (u - l) / mean a          (NaN when mean a = 0)
 *   interval score = mean IS / scale,  IS = (u - l) + (2/alpha)(l - a)[a < l]
 *                                               + (2/alpha)(a - u)[a > u],  alpha = 0.1
 * MASE and IS are NaN unless scale > 0; every ratio is NaN when n = 0.
 * Aggregates: VM mean and median skip NaN (pandas); pooled = ratio of sums, the scale
 * weighted sums over VMs with scale > 0 only; a zero denominator gives IEEE NaN or inf,
 * as numpy does.
 */
#include "bench/scores.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#define ALPHA 0.10

double sc_scale(const tr_vm *vm, tr_metric m) {
  const double *y = vm->series[m];
  double sum = 0;
  int n = 0;
  for (int s = tr_cut(vm) - TR_TRAIN_SLOTS + 1; s <= tr_cut(vm); s++) {
    double e = fabs(y[s] - y[s - TR_DAY]);
    if (!isnan(e)) {
      sum += e;
      n++;
    }
  }
  return n ? sum / n : NAN;
}

static double interval_score(double a, double l, double u) {
  double is = u - l;
  if (a < l)
    is += (2 / ALPHA) * (l - a);
  if (a > u)
    is += (2 / ALPHA) * (a - u);
  return is;
}

void sc_score_vm(const tr_vm *vm, tr_metric m, int h, const double (*fc)[3], double scale,
                 sc_vm *out) {
  const double *y = vm->series[m];
  *out = (sc_vm){.scale = scale};
  for (int k = 0; k < tr_n_origins(vm); k++) {
    double a = y[tr_origin(vm, k) + h], f = fc[k][0], l = fc[k][1], u = fc[k][2];
    if (isnan(a))
      continue;
    out->n_expected++;
    if (!isfinite(f) || !isfinite(l) || !isfinite(u))
      continue;
    out->n++;
    out->sum_ae += fabs(a - f);
    out->sum_in += a >= l && a <= u;
    out->sum_up += a > u;
    out->sum_w += u - l;
    out->sum_y += a;
    out->sum_is += interval_score(a, l, u);
  }
  int n = out->n;
  int scaled = n > 0 && scale > 0;
  out->mase = scaled ? out->sum_ae / n / scale : NAN;
  out->coverage = n ? (double)out->sum_in / n : NAN;
  out->upper_miss = n ? (double)out->sum_up / n : NAN;
  out->rel_width = n && out->sum_y / n != 0 ? (out->sum_w / n) / (out->sum_y / n) : NAN;
  out->interval_score = scaled ? out->sum_is / n / scale : NAN;
}

/* ---------------------------------------------------------------- aggregation */

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean and median of the non-NaN values of field `off` (NaN when none). */
static void mean_median(const sc_vm *const *rows, int n, size_t off, double *buf,
                        double *mean, double *median) {
  int k = 0;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    double v = *(const double *)((const char *)rows[i] + off);
    if (!isnan(v)) {
      buf[k++] = v;
      sum += v;
    }
  }
  *mean = k ? sum / k : NAN;
  if (median == NULL)
    return;
  qsort(buf, (size_t)k, sizeof(*buf), by_value);
  *median = k == 0 ? NAN : k % 2 ? buf[k / 2] : (buf[k / 2 - 1] + buf[k / 2]) / 2;
}

int sc_aggregate(const sc_vm *const *rows, int n, sc_agg *out) {
  double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(*buf));
  if (buf == NULL)
    return -1;
  double points = 0, expected = 0, in = 0, up = 0, w = 0, y = 0;
  double ae_s = 0, is_s = 0, scale_n_s = 0; /* over VMs with scale > 0 */
  *out = (sc_agg){.vms = n};
  for (int i = 0; i < n; i++) {
    const sc_vm *r = rows[i];
    points += r->n;
    expected += r->n_expected;
    in += r->sum_in;
    up += r->sum_up;
    w += r->sum_w;
    y += r->sum_y;
    if (r->scale > 0) {
      ae_s += r->sum_ae;
      is_s += r->sum_is;
      scale_n_s += r->scale * r->n;
    }
    out->vms_zero_scale += r->scale <= 0;
  }
  out->points = (int)points;
  out->completeness = points / (expected > 1 ? expected : 1);
  out->mase_pooled = ae_s / scale_n_s;
  out->coverage_pooled = in / points;
  out->upper_miss_pooled = up / points;
  out->rel_width_pooled = w / y;
  out->interval_score_pooled = is_s / scale_n_s;
  mean_median(rows, n, offsetof(sc_vm, mase), buf, &out->mase, &out->mase_median);
  mean_median(rows, n, offsetof(sc_vm, coverage), buf, &out->coverage, NULL);
  mean_median(rows, n, offsetof(sc_vm, upper_miss), buf, &out->upper_miss, NULL);
  mean_median(rows, n, offsetof(sc_vm, rel_width), buf, &out->rel_width, NULL);
  mean_median(rows, n, offsetof(sc_vm, interval_score), buf, &out->interval_score, NULL);
  free(buf);
  return 0;
}
