/* score.c -- fc-score: scores forecast CSVs against the traces (PROTOCOL.md A.1), the C
 * twin of ../shared/yardstick/score_forecasts.py (bench/check_yardstick.sh compares them).
 *
 *   fc-score --traces DIR [--per-vm FILE] [--out FILE] [--table] FORECAST.csv...
 *
 * Writes one CSV row per (model, dataset, metric, h) to --out or stdout, with the
 * columns of score_forecasts.py's forecast_scores.csv; --table prints a rounded table
 * for people instead (on stdout; with --out the CSV still goes to the file). --per-vm
 * writes forecast_scores_per_vm.csv's rows. The model is the file stem; a model's
 * horizons are those in its file that the protocol has (others: a warning).
 * Rows are in score_forecasts.py's order: per VM as computed (model, VM, metric, h),
 * aggregates sorted by (model, dataset, metric, h). NaN is written as an empty cell.
 */
#include "bench/forecast_file.h"
#include "bench/scores.h"
#include "bench/trace_set.h"
#include "tools/csv.h"
#include "tools/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int protocol_h[] = {1, 3, 12};
#define N_H ((int)(sizeof(protocol_h) / sizeof(protocol_h[0])))

struct record { /* one per-VM row */
  int model, vm, h;
  tr_metric metric;
  sc_vm s;
};

struct run {
  tr_vm *vms;
  int n_vms;
  ff_file **models;
  int n_models;
  struct record *recs;
  int n_recs, cap_recs;
};

/* ---------------------------------------------------------------- scoring */

static int push_record(struct run *run, const struct record *r) {
  if (run->n_recs == run->cap_recs) {
    int cap = run->cap_recs ? 2 * run->cap_recs : 1024;
    struct record *v = realloc(run->recs, (size_t)cap * sizeof(*v));
    if (v == NULL)
      return -1;
    run->recs = v;
    run->cap_recs = cap;
  }
  run->recs[run->n_recs++] = *r;
  return 0;
}

/* fc[k] = the model's {mean, lo, hi} for origin k of vm, NaN where it has none. */
static void gather(const ff_file *f, const tr_vm *vm, tr_metric m, int h, double (*fc)[3]) {
  int n = tr_n_origins(vm);
  double ts0 = (double)tr_slot_ts(vm, tr_origin(vm, 0)), step = TR_ORIGIN_EVERY * TR_STEP_S;
  for (int k = 0; k < n; k++)
    fc[k][0] = fc[k][1] = fc[k][2] = NAN;
  size_t b, e;
  ff_find(f, vm->name, tr_metric_name(m), h, &b, &e);
  for (size_t i = b; i < e; i++) {
    const ff_row *r = &f->rows[i];
    double q = (r->origin_ts - ts0) / step;
    if (!(q >= 0 && q < n))
      continue; /* also NaN */
    int k = (int)q;
    if (ts0 + step * k != r->origin_ts)
      continue; /* not an origin: ignored, as the contract says */
    fc[k][0] = r->mean;
    fc[k][1] = r->lo;
    fc[k][2] = r->hi;
  }
}

/* The protocol horizons in model f's file, ascending, into hs; warns of the others. */
static int model_horizons(const ff_file *f, int hs[N_H]) {
  double *all;
  int n_all = ff_horizons(f, &all), n = 0;
  if (n_all < 0)
    return -1;
  char extra[512] = "";
  for (int i = 0; i < n_all; i++) {
    int j = 0;
    while (j < N_H && all[i] != protocol_h[j])
      j++;
    if (j < N_H)
      hs[n++] = protocol_h[j];
    else if (strlen(extra) < sizeof(extra) - 32)
      snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s%g",
               extra[0] ? ", " : "", all[i]);
  }
  if (extra[0])
    fprintf(stderr, "warning: %s: horizons [%s] are not in the protocol; ignored\n",
            f->model, extra);
  free(all);
  return n;
}

static int score_all(struct run *run) {
  int max_o = 0;
  for (int v = 0; v < run->n_vms; v++)
    max_o = tr_n_origins(&run->vms[v]) > max_o ? tr_n_origins(&run->vms[v]) : max_o;
  double(*fc)[3] = malloc((size_t)max_o * sizeof(*fc));
  int status = fc == NULL ? -1 : 0;
  for (int mo = 0; mo < run->n_models && status == 0; mo++) {
    int hs[N_H], n_h = model_horizons(run->models[mo], hs);
    status = n_h < 0 ? -1 : 0;
    for (int v = 0; v < run->n_vms && status == 0; v++) {
      const tr_vm *vm = &run->vms[v];
      for (int m = 0; m < TR_N_METRICS && status == 0; m++) {
        if (vm->series[m] == NULL)
          continue;
        double scale = sc_scale(vm, (tr_metric)m);
        for (int j = 0; j < n_h && status == 0; j++) {
          struct record r = {.model = mo, .vm = v, .h = hs[j], .metric = (tr_metric)m};
          gather(run->models[mo], vm, r.metric, r.h, fc);
          sc_score_vm(vm, r.metric, r.h, (const double(*)[3])fc, scale, &r.s);
          status = push_record(run, &r);
        }
      }
    }
  }
  free(fc);
  if (status != 0)
    fprintf(stderr, "fc-score: out of memory\n");
  return status;
}

/* ---------------------------------------------------------------- output */

static void put_num(FILE *fp, double x) {
  if (!isnan(x))
    fprintf(fp, "%.15g", x);
}

static void put_nums(FILE *fp, const double *x, int n) {
  for (int i = 0; i < n; i++) {
    fputc(',', fp);
    put_num(fp, x[i]);
  }
}

static void put_key(FILE *fp, const struct run *run, const struct record *r) {
  csv_put_field(fp, run->models[r->model]->model);
  fputc(',', fp);
  csv_put_field(fp, run->vms[r->vm].dataset);
  fprintf(fp, ",%s,%d", tr_metric_name(r->metric), r->h);
}

static void write_per_vm(FILE *fp, const struct run *run) {
  fputs("model,dataset,metric,h,vm,n,n_expected,scale,sum_ae,sum_in,sum_up,sum_w,sum_y,"
        "sum_is,mase,coverage,upper_miss,rel_width,interval_score\n", fp);
  for (int i = 0; i < run->n_recs; i++) {
    const struct record *r = &run->recs[i];
    const sc_vm *s = &r->s;
    put_key(fp, run, r);
    fputc(',', fp);
    csv_put_field(fp, run->vms[r->vm].name);
    fprintf(fp, ",%d,%d,", s->n, s->n_expected);
    put_num(fp, s->scale);
    put_nums(fp, (const double[]){s->sum_ae}, 1);
    fprintf(fp, ",%d,%d", s->sum_in, s->sum_up);
    put_nums(fp, (const double[]){s->sum_w, s->sum_y, s->sum_is, s->mase, s->coverage,
                                  s->upper_miss, s->rel_width, s->interval_score}, 8);
    fputc('\n', fp);
  }
}

static const char agg_header[] =
    "model,dataset,metric,h,vms,points,completeness,mase,mase_median,mase_pooled,coverage,"
    "coverage_pooled,upper_miss,upper_miss_pooled,rel_width,rel_width_pooled,"
    "interval_score,interval_score_pooled,vms_zero_scale\n";

static void write_agg_csv(FILE *fp, const struct run *run, const struct record *key,
                          const sc_agg *a) {
  put_key(fp, run, key);
  fprintf(fp, ",%d,%d", a->vms, a->points);
  put_nums(fp, (const double[]){a->completeness, a->mase, a->mase_median, a->mase_pooled,
                                a->coverage, a->coverage_pooled, a->upper_miss,
                                a->upper_miss_pooled, a->rel_width, a->rel_width_pooled,
                                a->interval_score, a->interval_score_pooled}, 12);
  fprintf(fp, ",%d\n", a->vms_zero_scale);
}

static void write_agg_table(FILE *fp, const struct run *run, const struct record *key,
                            const sc_agg *a, int first) {
  if (first)
    fprintf(fp, "%-12s %-14s %-6s %3s %12s %8s %11s %8s %10s %9s %14s\n", "model",
            "dataset", "metric", "h", "completeness", "mase", "mase_pooled", "coverage",
            "upper_miss", "rel_width", "interval_score");
  fprintf(fp, "%-12s %-14s %-6s %3d %12.3f %8.3f %11.3f %8.3f %10.3f %9.3f %14.3f\n",
          run->models[key->model]->model, run->vms[key->vm].dataset,
          tr_metric_name(key->metric), key->h, a->completeness, a->mase, a->mase_pooled,
          a->coverage, a->upper_miss, a->rel_width, a->interval_score);
}

/* ---------------------------------------------------------------- aggregation */

static const struct run *sort_run; /* qsort has no context argument */

static int cmp_group(const struct record *a, const struct record *b) {
  int c = strcmp(sort_run->models[a->model]->model, sort_run->models[b->model]->model);
  if (c == 0)
    c = strcmp(sort_run->vms[a->vm].dataset, sort_run->vms[b->vm].dataset);
  if (c == 0)
    c = strcmp(tr_metric_name(a->metric), tr_metric_name(b->metric));
  return c != 0 ? c : (a->h > b->h) - (a->h < b->h);
}

static int by_group(const void *pa, const void *pb) {
  const struct record *a = *(const struct record *const *)pa;
  const struct record *b = *(const struct record *const *)pb;
  int c = cmp_group(a, b);
  return c != 0 ? c : (a > b) - (a < b);
}

static int aggregate(const struct run *run, FILE *csv, FILE *table) {
  const struct record **idx = malloc((size_t)(run->n_recs ? run->n_recs : 1) * sizeof(*idx));
  const sc_vm **rows = malloc((size_t)(run->n_recs ? run->n_recs : 1) * sizeof(*rows));
  int status = idx == NULL || rows == NULL ? -1 : 0;
  for (int i = 0; status == 0 && i < run->n_recs; i++)
    idx[i] = &run->recs[i];
  sort_run = run;
  if (status == 0)
    qsort(idx, (size_t)run->n_recs, sizeof(*idx), by_group);
  for (int i = 0, j; status == 0 && i < run->n_recs; i = j) {
    for (j = i; j < run->n_recs && cmp_group(idx[i], idx[j]) == 0; j++)
      rows[j - i] = &idx[j]->s;
    sc_agg a;
    status = sc_aggregate(rows, j - i, &a);
    if (status == 0 && csv != NULL)
      write_agg_csv(csv, run, idx[i], &a);
    if (status == 0 && table != NULL)
      write_agg_table(table, run, idx[i], &a, i == 0);
  }
  free(idx);
  free(rows);
  if (status != 0)
    fprintf(stderr, "fc-score: out of memory\n");
  return status;
}

/* ---------------------------------------------------------------- main */

struct opts {
  const char *traces, *per_vm, *out;
  int table;
  char **files;
  int n_files;
};

static int usage(void) {
  fprintf(stderr, "usage: fc-score --traces DIR [--per-vm FILE] [--out FILE] [--table] "
                  "FORECAST.csv...\n");
  return 2;
}

/* Options anywhere; every other argument is a forecast file. o->files is argv-sized. */
static int parse_args(int argc, char **argv, struct opts *o) {
  *o = (struct opts){0};
  if ((o->files = malloc((size_t)argc * sizeof(*o->files))) == NULL)
    return -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(a, "--traces") == 0 && has_value)
      o->traces = argv[++i];
    else if (strcmp(a, "--per-vm") == 0 && has_value)
      o->per_vm = argv[++i];
    else if (strcmp(a, "--out") == 0 && has_value)
      o->out = argv[++i];
    else if (strcmp(a, "--table") == 0)
      o->table = 1;
    else if (a[0] == '-' && a[1] != '\0')
      return -1;
    else
      o->files[o->n_files++] = argv[i];
  }
  return o->traces != NULL && o->n_files > 0 ? 0 : -1;
}

static int load_models(struct run *run, const struct opts *o) {
  char err[1024];
  run->models = calloc((size_t)o->n_files, sizeof(*run->models));
  if (run->models == NULL) {
    fprintf(stderr, "fc-score: out of memory\n");
    return -1;
  }
  for (int i = 0; i < o->n_files; i++) {
    ff_file *f = ff_load(o->files[i], err, sizeof(err));
    if (f == NULL) {
      fprintf(stderr, "fc-score: %s\n", err);
      return -1;
    }
    run->models[run->n_models++] = f;
    for (int j = 0; j < i; j++)
      if (strcmp(run->models[j]->model, f->model) == 0) {
        fprintf(stderr, "fc-score: model '%s' given twice: %s and %s\n", f->model,
                run->models[j]->path, f->path);
        return -1;
      }
  }
  return 0;
}

static int write_outputs(const struct run *run, const struct opts *o) {
  int status = 0;
  if (o->per_vm != NULL) {
    FILE *fp = fopen(o->per_vm, "w");
    if (fp != NULL)
      write_per_vm(fp, run);
    if (fp == NULL || fclose(fp) != 0) {
      perror(o->per_vm);
      return -1;
    }
  }
  FILE *csv = o->out ? fopen(o->out, "w") : o->table ? NULL : stdout;
  if (o->out != NULL && csv == NULL) {
    perror(o->out);
    return -1;
  }
  if (csv != NULL)
    fputs(agg_header, csv);
  status = aggregate(run, csv, o->table ? stdout : NULL);
  if (csv != NULL && csv != stdout && fclose(csv) != 0) {
    perror(o->out);
    status = -1;
  }
  if (fflush(stdout) != 0)
    status = -1;
  return status;
}

int main(int argc, char **argv) {
  struct opts o;
  if (parse_args(argc, argv, &o) != 0) {
    free(o.files);
    return usage();
  }
  struct run run = {0};
  char err[1024];
  int status = 1;
  run.n_vms = trace_set_load(o.traces, &run.vms, err, sizeof(err));
  if (run.n_vms < 0)
    fprintf(stderr, "fc-score: %s\n", err);
  else if (load_models(&run, &o) == 0 && score_all(&run) == 0 && write_outputs(&run, &o) == 0)
    status = 0;
  for (int i = 0; i < run.n_models; i++)
    ff_free(run.models[i]);
  free(run.models);
  free(run.recs);
  trace_set_free(run.vms, run.n_vms > 0 ? run.n_vms : 0);
  free(o.files);
  return status;
}
