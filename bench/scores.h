/* scores.h -- the forecast scores of ../shared/PROTOCOL.md A.1, per VM and aggregated
 * over the VMs of one (model, dataset, metric, h), computed as
 * ../shared/yardstick/score_forecasts.py does (same NaN and zero-scale rules).
 */
#ifndef BENCH_SCORES_H
#define BENCH_SCORES_H

#include "tools/trace.h"

/* One VM, metric and horizon; NaN where score_forecasts.py has NaN. */
typedef struct sc_vm {
  int n;          /* points scored: forecast finite and actual present */
  int n_expected; /* origins whose actual is present */
  double scale;   /* in-sample MAE of the daily seasonal naive (NaN: no pair) */
  double sum_ae, sum_w, sum_y, sum_is;
  int sum_in, sum_up;
  double mase, coverage, upper_miss, rel_width, interval_score;
} sc_vm;

/* Aggregate over the VMs of one dataset (the VM-mean columns skip NaN, like pandas). */
typedef struct sc_agg {
  int vms, points;
  double completeness;
  double mase, mase_median, mase_pooled;
  double coverage, coverage_pooled;
  double upper_miss, upper_miss_pooled;
  double rel_width, rel_width_pooled;
  double interval_score, interval_score_pooled;
  int vms_zero_scale;
} sc_agg;

/* mean |y_s - y_{s-288}| over the scale window s = C-4031 .. C, pairs with both present. */
double sc_scale(const tr_vm *vm, tr_metric m);

/* Scores the forecasts fc[k] = {mean, lo, hi} made at origin k = 0 .. tr_n_origins-1
 * (NaN where the model gave none) for horizon h against vm's series m. */
void sc_score_vm(const tr_vm *vm, tr_metric m, int h, const double (*fc)[3], double scale,
                 sc_vm *out);

/* Aggregates rows[0..n-1] (borrowed). Returns 0, or -1 when out of memory. */
int sc_aggregate(const sc_vm *const *rows, int n, sc_agg *out);

#endif /* BENCH_SCORES_H */
