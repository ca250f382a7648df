/* peers.c -- fc-peers: the naive and seasonal-naive peer forecasters of
 * ../shared/PROTOCOL.md section C, written as forecast CSVs (section A) for fc-score and
 * ../shared/yardstick/score_forecasts.py.
 *
 *   fc-peers --traces DIR --out DIR      writes DIR/naive.csv and DIR/snaive.csv
 *
 * For origin o (section 2) and horizon h, with r = the latest refit point <= o
 * (r = C + 288 d, section 1):
 *   naive   mean = last present y_j, j <= o
 *           errors e_s = y_s - y_{s-h}
 *   snaive  mean = y_{o+h-288}, else y_{o+h-576}, else the last present y_j, j <= o
 *           errors e_s = y_s - y_{s-288}
 *   lo, hi = mean + Q(0.05), mean + Q(0.95) of the errors over s = r-4031 .. r (the 14
 *   days ending at the refit point; pairs with a missing side are skipped; no errors at
 *   all give Q = 0). Q is numpy's default quantile (type 7, linear interpolation).
 * Choices where the protocol is silent follow the yardstick's own code: the missing-pair
 * rule and Q = 0 as alloc_eval.py's snaive_p95 and lib.py's scale() (so section C's
 * linear filling of input windows is not applied: both point rules are stated on
 * present values); "last present value" without a look-back limit as lib.py's
 * last_valid(). The error pairs reach up to 288 slots before the window (lib.py asks for
 * 14 + 1 training days for this).
 * Values are written with %.6g, as lib.py's write_forecasts() does.
 *
 * Each peer also gets <name>.timing.json (wall time of loading + its own work).
 */
#include "bench/trace_set.h"
#include "tools/csv.h"
#include "tools/trace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const int horizons[] = {1, 3, 12};
#define N_H ((int)(sizeof(horizons) / sizeof(horizons[0])))

/* ---------------------------------------------------------------- the two peers */

static double last_present(const double *y, int i) {
  for (; i >= 0; i--)
    if (!isnan(y[i]))
      return y[i];
  return NAN;
}

static double naive_point(const double *y, int o, int h) {
  (void)h;
  return last_present(y, o);
}

static double snaive_point(const double *y, int o, int h) {
  for (int back = TR_DAY; back <= 2 * TR_DAY; back += TR_DAY)
    if (o + h - back >= 0 && !isnan(y[o + h - back]))
      return y[o + h - back];
  return last_present(y, o);
}

static int naive_lag(int h) { return h; }
static int snaive_lag(int h) {
  (void)h;
  return TR_DAY;
}

struct peer {
  const char *name;
  double (*point)(const double *y, int o, int h); /* may be NaN: no row */
  int (*lag)(int h);                              /* of the errors for the interval */
  FILE *fp;
  double work_s; /* wall time of its own forecasting and writing */
};

/* ---------------------------------------------------------------- intervals */

/* Rearranges a[lo..hi] so that a[k] holds what a full sort would put there, nothing
 * larger before it and nothing smaller after it (Hoare's FIND, CACM 4(7), 1961): O(n)
 * on average, where sorting 4032 errors per refit dominated the run time. */
static void select_kth(double *a, int lo, int hi, int k) {
  while (lo < hi) {
    double pivot = a[lo + (hi - lo) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot)
        i++;
      while (a[j] > pivot)
        j--;
      if (i <= j) {
        double t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return; /* j < k < i: a[k] == pivot, in place */
  }
}

/* numpy.quantile(e[0..n-1], q), method "linear" (numpy 1.24's _lerp), for ascending
 * q[0..nq-1]; reorders e. Index v = (n-1) q, i = floor(v), g = v - i:
 *   Q = e(i) + g (e(i+1) - e(i)),  written e(i+1) - (1-g)(e(i+1) - e(i)) when g >= 0.5. */
static void quantiles(double *e, int n, const double *q, int nq, double *out) {
  int done = 0; /* e[0..done-1] are in their sorted places */
  for (int j = 0; j < nq; j++) {
    double v = (double)(n - 1) * q[j];
    int i = v >= n - 1 ? n - 1 : (int)floor(v);
    if (i >= done)
      select_kth(e, done, n - 1, i);
    done = i + 1;
    double g = v - i, a = e[i];
    if (i == n - 1) {
      out[j] = a;
      continue;
    }
    double b = e[i + 1];
    for (int k = i + 2; k < n; k++) /* e(i+1) = the least of what follows e(i) */
      b = e[k] < b ? e[k] : b;
    double diff = b - a;
    out[j] = g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
  }
}

/* q[0], q[1] = Q(0.05), Q(0.95) of y_s - y_{s-lag}, s = r-4031 .. r; buf holds 4032. */
static void error_quantiles(const double *y, int r, int lag, double *buf, double q[2]) {
  int n = 0;
  for (int s = r - TR_TRAIN_SLOTS + 1; s <= r; s++) {
    double e = y[s] - y[s - lag];
    if (!isnan(e))
      buf[n++] = e;
  }
  if (n == 0) {
    q[0] = q[1] = 0.0;
    return;
  }
  quantiles(buf, n, (const double[]){0.05, 0.95}, 2, q);
}

/* ---------------------------------------------------------------- output */

static int write_row(FILE *fp, const tr_vm *vm, tr_metric m, int o, int h, double mean,
                     const double q[2]) {
  if (csv_put_field(fp, vm->name) != 0)
    return -1;
  return fprintf(fp, ",%s,%lld,%d,%.6g,%.6g,%.6g\n", tr_metric_name(m),
                 (long long)tr_slot_ts(vm, o), h, mean, mean + q[0], mean + q[1]) < 0
             ? -1
             : 0;
}

/* All rows of one peer for one series. */
static int forecast_series(struct peer *p, const tr_vm *vm, tr_metric m, double *buf) {
  const double *y = vm->series[m];
  double q[N_H][2];
  int r = -1;
  for (int k = 0; k < tr_n_origins(vm); k++) {
    int o = tr_origin(vm, k);
    int rk = tr_cut(vm) + (o - tr_cut(vm)) / TR_DAY * TR_DAY;
    if (rk != r) { /* daily refit */
      r = rk;
      for (int j = 0; j < N_H; j++)
        error_quantiles(y, r, p->lag(horizons[j]), buf, q[j]);
    }
    for (int j = 0; j < N_H; j++) {
      double mean = p->point(y, o, horizons[j]);
      if (!isnan(mean) && write_row(p->fp, vm, m, o, horizons[j], mean, q[j]) != 0)
        return -1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- main */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int make_dir(const char *path) {
  return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

static FILE *open_out(const char *dir, const char *name, const char *ext) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
  FILE *fp = fopen(path, "w");
  if (fp == NULL)
    fprintf(stderr, "fc-peers: %s: %s\n", path, strerror(errno));
  return fp;
}

static int write_timing(const char *dir, const struct peer *p, double load_s, int series) {
  FILE *fp = open_out(dir, p->name, ".timing.json");
  if (fp == NULL)
    return -1;
  double wall = load_s + p->work_s;
  fprintf(fp,
          "{\"wall_s\": %.3f, \"series\": %d, \"jobs\": 1, \"s_per_series\": %.6g, "
          "\"core_s_per_series\": %.6g}\n",
          wall, series, wall / series, wall / series);
  return fclose(fp) == 0 ? 0 : -1;
}

static int usage(void) {
  fprintf(stderr, "usage: fc-peers --traces DIR --out DIR\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *traces = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--traces") == 0 && i + 1 < argc)
      traces = argv[++i];
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out = argv[++i];
    else
      return usage();
  }
  if (traces == NULL || out == NULL)
    return usage();
  if (make_dir(out) != 0) {
    fprintf(stderr, "fc-peers: %s: %s\n", out, strerror(errno));
    return 1;
  }
  double t0 = now_s();
  tr_vm *vms;
  char err[1024];
  int n_vms = trace_set_load(traces, &vms, err, sizeof(err));
  if (n_vms < 0) {
    fprintf(stderr, "fc-peers: %s\n", err);
    return 1;
  }
  double load_s = now_s() - t0;
  struct peer peers[] = {{"naive", naive_point, naive_lag, NULL, 0},
                         {"snaive", snaive_point, snaive_lag, NULL, 0}};
  int status = 0, series = 0;
  double *buf = malloc(TR_TRAIN_SLOTS * sizeof(*buf));
  if (buf == NULL) {
    fprintf(stderr, "fc-peers: out of memory\n");
    status = 1;
  }
  for (int p = 0; p < 2 && status == 0; p++) {
    double t = now_s();
    if ((peers[p].fp = open_out(out, peers[p].name, ".csv")) == NULL) {
      status = 1;
      break;
    }
    fputs("vm,metric,origin_ts,h,mean,lo,hi\n", peers[p].fp);
    series = 0;
    for (int v = 0; v < n_vms && status == 0; v++)
      for (int m = 0; m < TR_N_METRICS && status == 0; m++)
        if (vms[v].series[m] != NULL) {
          series++;
          status = forecast_series(&peers[p], &vms[v], (tr_metric)m, buf) != 0;
        }
    if (fclose(peers[p].fp) != 0 || status != 0) {
      fprintf(stderr, "fc-peers: %s/%s.csv: write error\n", out, peers[p].name);
      status = 1;
    }
    peers[p].work_s = now_s() - t;
    if (status == 0)
      status = write_timing(out, &peers[p], load_s, series) != 0;
  }
  for (int p = 0; p < 2 && status == 0; p++)
    fprintf(stderr, "fc-peers: %s: %d series in %.2f s (load %.2f s)\n", peers[p].name,
            series, load_s + peers[p].work_s, load_s);
  free(buf);
  trace_set_free(vms, n_vms);
  return status;
}
