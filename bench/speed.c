/* speed.c -- fc-speed: what the engine costs per point and per series, on real traces.
 *
 *   fc-speed --traces DIR [--models LIST]
 *
 * For every series of every trace: fit at the protocol's cut (the 14 days before the
 * test week), then stream the 2016 test slots through fc_model_observe +
 * fc_model_forecast (all horizons) and time that loop alone: the per-point cost the
 * write plugin pays. Also reports the heap held by one fitted forecaster (series store
 * and model), measured with mallinfo2() around building it.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forecast/forecast.h"
#include "tools/trace.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Builds a forecaster fed with the grid values up to the cut and fitted there. */
static fc_forecaster *fitted_at_cut(const fc_config *cfg, const tr_vm *vm, tr_metric m) {
  fc_forecaster *f = fc_forecaster_create(cfg, FC_SERIES_GAUGE, NULL);
  if (f == NULL)
    return NULL;
  const double *y = vm->series[m];
  for (int i = 0; i <= tr_cut(vm); i++)
    if (!isnan(y[i]))
      fc_forecaster_add(f, (double)tr_slot_ts(vm, i), y[i]);
  fc_forecaster_tick(f, vm->slot0 + tr_cut(vm));
  if (fc_forecaster_retrain(f, NULL) != 0) {
    fc_forecaster_destroy(f);
    return NULL;
  }
  return f;
}

/* Seconds per point of observe + forecast over the test slots. */
static double stream_cost(fc_forecaster *f, const tr_vm *vm, tr_metric m) {
  fc_model *model = (fc_model *)fc_forecaster_model(f);
  const double *y = vm->series[m];
  fc_point out[FC_MAX_HORIZONS];
  int n = vm->n - 1 - tr_cut(vm);
  double t0 = now_s();
  for (int i = tr_cut(vm) + 1; i < vm->n; i++) {
    fc_model_observe(model, y[i]);
    fc_model_forecast(model, out);
  }
  return (now_s() - t0) / n;
}

int main(int argc, char **argv) {
  const char *traces = NULL, *models = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--traces") == 0)
      traces = argv[i + 1];
    else if (strcmp(argv[i], "--models") == 0)
      models = argv[i + 1];
  }
  if (traces == NULL) {
    fprintf(stderr, "usage: fc-speed --traces DIR [--models LIST]\n");
    return 2;
  }
  fc_config cfg;
  fc_config_default(&cfg);
  if (models != NULL) {
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", models);
    cfg.kinds = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      fc_kind k;
      fc_error err = {0};
      if (fc_kind_parse(t, &k, &err) != 0) {
        fprintf(stderr, "fc-speed: %s\n", err.msg);
        return 2;
      }
      cfg.kinds |= FC_KIND_BIT(k);
    }
  }
  char **files = NULL, err[512];
  const char *args[1] = {traces};
  int n_files = tr_list_files(args, 1, &files, err, sizeof(err));
  if (n_files < 0) {
    fprintf(stderr, "fc-speed: %s\n", err);
    return 1;
  }
  double *cost = malloc(sizeof(double) * (size_t)n_files * TR_N_METRICS);
  double heap_sum = 0.0;
  int n = 0;
  for (int k = 0; k < n_files; k++) {
    tr_vm vm;
    if (tr_vm_load(files[k], &vm, err, sizeof(err)) != 0) {
      fprintf(stderr, "fc-speed: %s\n", err);
      return 1;
    }
    for (int m = 0; m < TR_N_METRICS; m++) {
      if (vm.series[m] == NULL)
        continue;
      size_t before = mallinfo2().uordblks;
      fc_forecaster *f = fitted_at_cut(&cfg, &vm, (tr_metric)m);
      if (f == NULL)
        continue;
      heap_sum += (double)(mallinfo2().uordblks - before);
      cost[n++] = stream_cost(f, &vm, (tr_metric)m);
      fc_forecaster_destroy(f);
    }
    tr_vm_free(&vm);
    free(files[k]);
  }
  free(files);
  if (n == 0) {
    fprintf(stderr, "fc-speed: no series could be fitted\n");
    return 1;
  }
  qsort(cost, (size_t)n, sizeof(double), cmp_double);
  double mean = 0.0;
  for (int i = 0; i < n; i++)
    mean += cost[i];
  printf("update+forecast (all horizons) per point over %d series: median %.3f us, "
         "mean %.3f us, max %.3f us\n",
         n, 1e6 * cost[n / 2], 1e6 * mean / n, 1e6 * cost[n - 1]);
  printf("heap per fitted forecaster (14-day store + model): %.1f KiB\n",
         heap_sum / n / 1024.0);
  free(cost);
  return 0;
}
