/* graph_fixture.c -- writes the RRD files foresight-graph reads, from a real trace, for
 * tests/integration/graph.sh and for looking at the picture. Not a forecaster: the
 * "forecast" is the seasonal naive one (the value a day before the target) with a band
 * of +-1.645 standard deviations of the last day's day-over-day changes, and the CPU
 * quota follows the band's top hour by hour as an actuator would. That is enough to see
 * whether band, usage and allocation line up and read well.
 *
 * Usage: graph-fixture TRACE.csv DATADIR [DAYS [HORIZON_S]]
 * Writes, for the trace's VM and its last DAYS days (default 3), under DATADIR/<vm>/:
 *   foresight_replay/fs_usage-{cpu,mem}.rrd, foresight_replay/fs_alloc-{vcpus,cpu_quota,
 *   mem}.rrd, foresight_forecast-{cpu,mem}/fs_forecast-h<HORIZON_S>.rrd (default 3600).
 * Prints the VM's name, then the first and last usage time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/history.h"
#include "tools/trace.h"

enum { DAY = TR_DAY, STEP = TR_STEP_S };

typedef struct fixture {
  const char *datadir;
  const tr_vm *vm;
  int first, n;    /* grid slots written: first .. first + n - 1 */
  int horizon_s;
} fixture;

static int write_file(const fixture *f, const char *plugin, const char *plugin_instance,
                      const char *type, const char *type_instance, size_t n_ds,
                      const char *const ds[], const double *v /* n * n_ds */) {
  char path[4096];
  fs_hist_error err = {0};
  fs_hist_layout l;
  time_t *t = malloc((size_t)f->n * sizeof(*t));
  int rc = t == NULL ? -1 : 0;
  for (int i = 0; rc == 0 && i < f->n; i++)
    t[i] = (time_t)tr_slot_ts(f->vm, f->first + i);
  if (rc == 0 &&
      (fs_hist_path(path, sizeof(path), f->datadir, f->vm->name, plugin, plugin_instance, type,
                    type_instance, &err) != 0 ||
       fs_hist_layout_init(&l, STEP, n_ds, ds, &err) != 0 ||
       fs_hist_ensure(path, &l, t[0], &err) < 0 ||
       fs_hist_update(path, (size_t)f->n, t, v, n_ds, NULL, &err) < 0)) {
    fprintf(stderr, "graph-fixture: %s\n", err.msg);
    rc = -1;
  }
  free(t);
  return rc;
}

/* Standard deviation of y[j] - y[j - DAY] over the day before slot i (NaN-aware). */
static double day_change_sd(const double *y, int i) {
  double s = 0, s2 = 0;
  int n = 0;
  for (int j = i - DAY + 1; j <= i; j++) {
    if (j - DAY < 0 || isnan(y[j]) || isnan(y[j - DAY]))
      continue;
    double d = y[j] - y[j - DAY];
    s += d;
    s2 += d * d;
    n++;
  }
  return n > 1 ? sqrt(fmax(0, (s2 - s * s / n) / (n - 1))) : NAN;
}

/* Forecast made at slot i for slot i + hs: mean, lo, hi into out[0..2]. */
static void forecast_at(const double *y, int i, int hs, double out[3]) {
  double mean = y[i + hs - DAY], sd = day_change_sd(y, i);
  out[0] = mean;
  out[1] = isnan(mean) || isnan(sd) ? NAN : fmax(0, mean - 1.645 * sd);
  out[2] = isnan(mean) || isnan(sd) ? NAN : mean + 1.645 * sd;
}

static int write_metric(const fixture *f, tr_metric m, const char *name, double *fc) {
  static const char *const one[] = {"value"}, *const three[] = {"mean", "lo", "hi"};
  const double *y = f->vm->series[m];
  int hs = f->horizon_s / STEP;
  for (int k = 0; k < f->n; k++)
    forecast_at(y, f->first + k, hs, fc + 3 * k);
  char instance[32];
  snprintf(instance, sizeof(instance), "h%d", f->horizon_s);
  if (write_file(f, "foresight_replay", NULL, "fs_usage", name, 1, one, y + f->first) != 0 ||
      write_file(f, "foresight_forecast", name, "fs_forecast", instance, 3, three, fc) != 0)
    return -1;
  return 0;
}

/* vCPUs and memory as provisioned in the trace; the CPU quota an actuator would set
 * ahead of each hour: the top of the band forecast for that hour plus 10 %, in 0.25-core
 * steps (slot j's forecast for slot j + hs was made at j). */
static int write_allocs(const fixture *f, const double *cpu_fc, double *buf) {
  static const char *const one[] = {"value"};
  if (write_file(f, "foresight_replay", NULL, "fs_alloc", "vcpus", 1, one,
                 f->vm->cores + f->first) != 0 ||
      write_file(f, "foresight_replay", NULL, "fs_alloc", "mem", 1, one,
                 f->vm->mem_prov_kb + f->first) != 0)
    return -1;
  int hour = 3600 / STEP, hs = f->horizon_s / STEP;
  for (int k = 0; k < f->n; k += hour) {
    double top = 0;
    for (int j = k - hs; j < k + hour - hs && j < f->n; j++)
      if (j >= 0 && !isnan(cpu_fc[3 * j + 2]))
        top = fmax(top, cpu_fc[3 * j + 2]);
    double cores = f->vm->cores[f->first + k];
    double quota = fmax(0.25, ceil(top * 1.1 / 0.25) * 0.25);
    if (!isnan(cores) && quota > cores)
      quota = cores;
    for (int j = k; j < k + hour && j < f->n; j++)
      buf[j] = quota;
  }
  return write_file(f, "foresight_replay", NULL, "fs_alloc", "cpu_quota", 1, one, buf);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: graph-fixture TRACE.csv DATADIR [DAYS [HORIZON_S]]\n");
    return 2;
  }
  int days = argc > 3 ? atoi(argv[3]) : 3;
  int horizon_s = argc > 4 ? atoi(argv[4]) : 3600;
  if (days < 1 || horizon_s < STEP || horizon_s > DAY * STEP || horizon_s % STEP != 0) {
    fprintf(stderr, "graph-fixture: DAYS >= 1, HORIZON_S a multiple of %d up to a day\n",
            STEP);
    return 2;
  }
  tr_vm vm;
  char err[512];
  if (tr_vm_load(argv[1], &vm, err, sizeof(err)) != 0) {
    fprintf(stderr, "graph-fixture: %s\n", err);
    return 1;
  }
  int status = 1;
  fixture f = {.datadir = argv[2], .vm = &vm, .n = days * DAY, .horizon_s = horizon_s};
  f.first = vm.n - f.n;
  double *fc = malloc((size_t)f.n * 3 * sizeof(double));
  double *buf = malloc((size_t)f.n * sizeof(double));
  if (vm.is_azure || vm.series[TR_MEM] == NULL || f.first < 2 * DAY)
    fprintf(stderr, "graph-fixture: %s: need a Bitbrains trace longer than %d days\n",
            argv[1], days + 2);
  else if (fc != NULL && buf != NULL && write_metric(&f, TR_MEM, "mem", fc) == 0 &&
           write_metric(&f, TR_CPU, "cpu", fc) == 0 && write_allocs(&f, fc, buf) == 0) {
    printf("%s %lld %lld\n", vm.name, (long long)tr_slot_ts(&vm, f.first),
           (long long)tr_slot_ts(&vm, f.first + f.n - 1));
    status = 0;
  }
  free(fc);
  free(buf);
  tr_vm_free(&vm);
  return status;
}
