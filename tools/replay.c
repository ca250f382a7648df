/* replay.c -- foresight-replay: stream recorded traces through libforecast, offline.
 *
 * Each trace row is fed to the (VM, metric) forecaster exactly as the write plugin feeds
 * live samples: in time order, raw timestamps, no look-ahead. Events are grid slots at
 * which something happens: a refit (a model is fitted on the trailing window ending at
 * that slot) or an origin (forecasts from that slot are written). An event at slot e is
 * handled once every row of slots <= e has been fed and none after, so a forecast at
 * origin t uses data up to t only.
 *
 * --protocol places the events as ../shared/PROTOCOL.md says: refits at the test-day
 * boundaries C + 288 d, origins every 12th slot from the cut C, horizons 1, 3, 12.
 * Without it, a model is refitted every --retrain-every slots once two days of history
 * exist, and forecasts are written every --every slots.
 *
 * Output: the forecast CSV of the evaluation contract, vm,metric,origin_ts,h,mean,lo,hi.
 *
 * --alloc FILE adds the allocation what-if of PROTOCOL.md part B: for every VM with
 * provisioned sizes, the planner's decisions slot by slot (alloc_sim.h), written as
 * vm,resource,ts,alloc. With --alloc and without --out no forecast CSV is written.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "forecast/forecast.h"
#include "tools/alloc_sim.h"
#include "tools/trace.h"

typedef struct replay_opts {
  int protocol;
  const char *out_path;
  const char *report_path;
  const char *timing_path;
  fc_config cfg;
  int retrain_every; /* slots, without --protocol */
  int emit_every;    /* slots, without --protocol */
  unsigned metrics;  /* bit per tr_metric */
  int quiet;
  const char *alloc_path; /* --alloc: the allocation CSV, or NULL */
  as_config alloc;        /* the planner's policy for it */
} replay_opts;

/* Totals over the run, for --timing and the progress line. */
typedef struct replay_totals {
  int series;
  int fits;
  double fit_s;
  long points;
  double stream_s;
  double *series_s; /* wall time of each series' whole run */
  int series_cap;
} replay_totals;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(FILE *to) {
  fprintf(to,
          "Usage: foresight-replay [OPTION]... TRACE...\n"
          "Stream VM traces (CSV files, or folders of them, in the format of\n"
          "../shared/traces) through the forecasting engine and write forecasts as\n"
          "CSV: vm,metric,origin_ts,h,mean,lo,hi; with --alloc, run the planner on\n"
          "them as PROTOCOL.md part B says and write its allocations too.\n"
          "\n"
          "  -p, --protocol          origins, horizons and daily refits of PROTOCOL.md\n"
          "  -o, --out FILE          write forecasts to FILE (default: standard output)\n"
          "  -m, --models LIST       model kinds, comma-separated, from naive, snaive,\n"
          "                          ets, fourier, ar, gru (default: all but gru)\n"
          "  -H, --horizons LIST     horizons in slots (default: 1,3,12)\n"
          "  -c, --confidence P      central interval level (default: 0.9)\n"
          "  -M, --metrics LIST      metrics from cpu, mem, disk, net (default: all)\n"
          "  -r, --retrain-every N   refit every N slots (default: 288; not with -p)\n"
          "  -e, --every N           forecast every N slots (default: 12; not with -p)\n"
          "  -R, --report FILE       write each fit's selection and losses to FILE\n"
          "  -t, --timing FILE       write run timings as JSON to FILE\n"
          "  -A, --alloc FILE        also simulate the planner over the VMs with\n"
          "                          provisioned sizes and write its allocations to FILE\n"
          "                          (vm,resource,ts,alloc); without --out, no forecasts\n"
          "  -P, --alloc-policy LIST the planner's policy: Key=value or resource.Key=value\n"
          "                          assignments, comma-separated (Threshold, LowerBand,\n"
          "                          BreakEven, ShrinkMargin, MaxShrink, LeadTime,\n"
          "                          PlanHorizon, Cooldown, FastCorrection, Confidence);\n"
          "                          defaults: see tools/alloc_sim.h\n"
          "  -X, --alloc-resources LIST  from cpu, cpu_quota, mem (default: all)\n"
          "  -q, --quiet             no progress on standard error\n"
          "  -h, --help              this text\n"
          "\n"
          "Exit status: 0 on success, 1 on bad input (the error names file, line and\n"
          "column), 2 on bad usage.\n");
}

/* Parses "a,b,c" into kind bits. */
static int parse_models(const char *list, unsigned *kinds) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", list);
  *kinds = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    fc_kind kind;
    fc_error err = {0};
    if (fc_kind_parse(tok, &kind, &err) != 0) {
      fprintf(stderr, "foresight-replay: --models: %s\n", err.msg);
      return -1;
    }
    *kinds |= FC_KIND_BIT(kind);
  }
  return 0;
}

static int parse_int_list(const char *opt, const char *list, int *out, int max, int *n) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", list);
  *n = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *end;
    long v = strtol(tok, &end, 10);
    if (*end != '\0' || *n >= max || v < 1 || v > 100000) {
      fprintf(stderr, "foresight-replay: %s: bad value \"%s\"\n", opt, tok);
      return -1;
    }
    out[(*n)++] = (int)v;
  }
  return *n > 0 ? 0 : -1;
}

static int parse_metrics(const char *list, unsigned *metrics) {
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", list);
  *metrics = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int m = 0; m < TR_N_METRICS; m++)
      if (strcmp(tok, tr_metric_name((tr_metric)m)) == 0) {
        *metrics |= 1u << m;
        found = 1;
      }
    if (!found) {
      fprintf(stderr, "foresight-replay: --metrics: unknown metric \"%s\" "
                      "(must be cpu, mem, disk or net)\n", tok);
      return -1;
    }
  }
  return 0;
}

static int parse_alloc_policy(const char *list, as_config *c) {
  char buf[1024], err[512];
  if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf)) {
    fprintf(stderr, "foresight-replay: --alloc-policy: list too long\n");
    return -1;
  }
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    if (as_config_set(c, tok, err, sizeof(err)) != 0) {
      fprintf(stderr, "foresight-replay: --alloc-policy: %s\n", err);
      return -1;
    }
  return 0;
}

static int parse_alloc_resources(const char *list, unsigned *out) {
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", list);
  *out = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    ac_resource r;
    if (ac_resource_parse(tok, &r) != 0) {
      fprintf(stderr, "foresight-replay: --alloc-resources: unknown resource \"%s\" "
                      "(must be cpu, cpu_quota or mem)\n", tok);
      return -1;
    }
    *out |= 1u << r;
  }
  if (*out == 0)
    fprintf(stderr, "foresight-replay: --alloc-resources: none given\n");
  return *out ? 0 : -1;
}

static int parse_positive(const char *opt, const char *arg, int *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (*end != '\0' || v < 1 || v > 1000000) {
    fprintf(stderr, "foresight-replay: %s: bad value \"%s\" (a positive integer)\n", opt, arg);
    return -1;
  }
  *out = (int)v;
  return 0;
}

/* Returns the index of the first non-option argument, or -1 (usage error) / -2 (help). */
static int parse_args(int argc, char **argv, replay_opts *o) {
  static const struct option longs[] = {
      {"protocol", no_argument, NULL, 'p'},     {"out", required_argument, NULL, 'o'},
      {"models", required_argument, NULL, 'm'}, {"horizons", required_argument, NULL, 'H'},
      {"confidence", required_argument, NULL, 'c'},
      {"metrics", required_argument, NULL, 'M'},
      {"retrain-every", required_argument, NULL, 'r'},
      {"every", required_argument, NULL, 'e'},  {"report", required_argument, NULL, 'R'},
      {"timing", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
      {"alloc", required_argument, NULL, 'A'},
      {"alloc-policy", required_argument, NULL, 'P'},
      {"alloc-resources", required_argument, NULL, 'X'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof(*o));
  fc_config_default(&o->cfg);
  as_config_default(&o->alloc);
  o->retrain_every = 288;
  o->emit_every = 12;
  o->metrics = (1u << TR_N_METRICS) - 1;
  int c, rc = 0;
  while (rc == 0 && (c = getopt_long(argc, argv, "po:m:H:c:M:r:e:R:t:A:P:X:qh", longs, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'p': o->protocol = 1; break;
    case 'o': o->out_path = optarg; break;
    case 'm': rc = parse_models(optarg, &o->cfg.kinds); break;
    case 'H':
      rc = parse_int_list("--horizons", optarg, o->cfg.horizons, FC_MAX_HORIZONS,
                          &o->cfg.n_horizons);
      break;
    case 'c':
      o->cfg.confidence = strtod(optarg, &end);
      if (*end != '\0') {
        fprintf(stderr, "foresight-replay: --confidence: bad value \"%s\"\n", optarg);
        rc = -1;
      }
      break;
    case 'M': rc = parse_metrics(optarg, &o->metrics); break;
    case 'r': rc = parse_positive("--retrain-every", optarg, &o->retrain_every); break;
    case 'e': rc = parse_positive("--every", optarg, &o->emit_every); break;
    case 'R': o->report_path = optarg; break;
    case 't': o->timing_path = optarg; break;
    case 'A': o->alloc_path = optarg; break;
    case 'P': rc = parse_alloc_policy(optarg, &o->alloc); break;
    case 'X': rc = parse_alloc_resources(optarg, &o->alloc.resources); break;
    case 'q': o->quiet = 1; break;
    case 'h': return -2;
    default: return -1;
    }
  }
  if (rc != 0)
    return -1;
  if (o->protocol) { /* PROTOCOL.md fixes these */
    o->cfg.n_horizons = 3;
    o->cfg.horizons[0] = 1, o->cfg.horizons[1] = 3, o->cfg.horizons[2] = 12;
    o->cfg.step_s = TR_STEP_S;
    o->cfg.history_slots = TR_TRAIN_SLOTS;
  }
  fc_error err = {0};
  if (fc_config_validate(&o->cfg, &err) != 0) {
    fprintf(stderr, "foresight-replay: %s\n", err.msg);
    return -1;
  }
  if (optind >= argc) {
    fprintf(stderr, "foresight-replay: no trace given\n");
    return -1;
  }
  return optind;
}

/* ---------------------------------------------------------------------------------- */

/* Where the events of one VM fall, as grid indices. */
typedef struct event_plan {
  int first_fit, fit_every, last_fit; /* fits at first_fit + k fit_every <= last_fit */
  int first_origin, origin_every, last_origin;
} event_plan;

static event_plan plan_for(const replay_opts *o, const tr_vm *vm) {
  event_plan p;
  if (o->protocol) {
    int cut = tr_cut(vm);
    p = (event_plan){cut, TR_DAY, vm->n - 2, cut, TR_ORIGIN_EVERY,
                     tr_origin(vm, tr_n_origins(vm) - 1)};
  } else {
    int start = 2 * fc_config_season(&o->cfg);
    p = (event_plan){start, o->retrain_every, vm->n - 1, start, o->emit_every, vm->n - 1};
  }
  return p;
}

static int is_event(int i, int first, int every, int last) {
  return i >= first && i <= last && (i - first) % every == 0;
}

typedef struct series_run {
  const replay_opts *o;
  const tr_vm *vm;
  tr_metric metric;
  FILE *out;
  FILE *report;
  replay_totals *totals;
} series_run;

static void write_report(const series_run *r, int64_t ts, const fc_model *m) {
  fc_fit_report rep;
  fc_model_get_report(m, &rep);
  fprintf(r->report, "%s,%s,%lld,%d", r->vm->name, tr_metric_name(r->metric),
          (long long)ts, rep.season_slots);
  for (int i = 0; i < r->o->cfg.n_horizons; i++)
    fprintf(r->report, ",%s", rep.chosen[i]);
  for (int k = 0; k < FC_KIND_COUNT; k++)
    fprintf(r->report, ",%.6g", rep.loss[k]);
  for (int k = 0; k < FC_KIND_COUNT; k++)
    fprintf(r->report, ",%.6g", rep.train_loss[k]);
  fputc('\n', r->report);
}

static void handle_fit(const series_run *r, fc_forecaster *f, int64_t ts) {
  fc_error err = {0};
  double t0 = now_s();
  int rc = fc_forecaster_retrain(f, &err);
  r->totals->fit_s += now_s() - t0;
  r->totals->fits++;
  if (rc != 0) { /* keep the previous model, as the plugin does */
    if (!r->o->quiet)
      fprintf(stderr, "foresight-replay: %s %s at %lld: %s\n", r->vm->name,
              tr_metric_name(r->metric), (long long)ts, err.msg);
    return;
  }
  if (r->report != NULL)
    write_report(r, ts, fc_forecaster_model(f));
}

static void handle_origin(const series_run *r, const fc_forecaster *f, int64_t ts) {
  fc_point pts[FC_MAX_HORIZONS];
  if (fc_forecaster_forecast(f, pts, NULL) != 0)
    return; /* no model yet */
  for (int i = 0; i < r->o->cfg.n_horizons; i++)
    fprintf(r->out, "%s,%s,%lld,%d,%.9g,%.9g,%.9g\n", r->vm->name,
            tr_metric_name(r->metric), (long long)ts, pts[i].h, pts[i].mean, pts[i].lo,
            pts[i].hi);
}

/* Handles the events at grid indices (from, to], after ticking the clock to each. */
static void handle_events(const series_run *r, fc_forecaster *f, const event_plan *p,
                          int from, int to) {
  for (int i = from + 1; i <= to; i++) {
    int fit = is_event(i, p->first_fit, p->fit_every, p->last_fit);
    int origin = is_event(i, p->first_origin, p->origin_every, p->last_origin);
    if (!fit && !origin)
      continue;
    int64_t slot = r->vm->slot0 + i;
    fc_forecaster_tick(f, slot);
    if (fit)
      handle_fit(r, f, slot * TR_STEP_S);
    if (origin)
      handle_origin(r, f, slot * TR_STEP_S);
  }
}

static int record_series_time(replay_totals *t, double seconds) {
  if (t->series == t->series_cap) {
    int cap = t->series_cap ? 2 * t->series_cap : 64;
    double *grown = realloc(t->series_s, sizeof(double) * (size_t)cap);
    if (grown == NULL) {
      fprintf(stderr, "foresight-replay: out of memory\n");
      return -1;
    }
    t->series_s = grown;
    t->series_cap = cap;
  }
  t->series_s[t->series++] = seconds;
  return 0;
}

static int replay_series(const series_run *r) {
  fc_error err = {0};
  fc_forecaster *f = fc_forecaster_create(&r->o->cfg, FC_SERIES_GAUGE, &err);
  if (f == NULL) {
    fprintf(stderr, "foresight-replay: %s\n", err.msg);
    return -1;
  }
  event_plan plan = plan_for(r->o, r->vm);
  const double *values = r->vm->row_value[r->metric];
  int done = -1; /* events up to this grid index are handled */
  double t0 = now_s(), fit_before = r->totals->fit_s;
  for (int row = 0; row < r->vm->n_rows; row++) {
    double ts = r->vm->row_ts[row];
    int i = (int)((int64_t)floor(ts / TR_STEP_S + 0.5) - r->vm->slot0);
    handle_events(r, f, &plan, done, i - 1);
    if (i - 1 > done)
      done = i - 1;
    if (!isnan(values[row]))
      fc_forecaster_add(f, ts, values[row]);
  }
  handle_events(r, f, &plan, done, r->vm->n - 1);
  r->totals->stream_s += now_s() - t0 - (r->totals->fit_s - fit_before);
  r->totals->points += r->vm->n_rows;
  fc_forecaster_destroy(f);
  return record_series_time(r->totals, now_s() - t0);
}

static int replay_vm(const replay_opts *o, const tr_vm *vm, FILE *out, FILE *report,
                     replay_totals *totals) {
  if (o->protocol && !tr_protocol_ok(vm)) {
    fprintf(stderr, "foresight-replay: %s: %d slots, shorter than the protocol's 22 days\n",
            vm->path, vm->n);
    return -1;
  }
  for (int m = 0; m < TR_N_METRICS; m++) {
    if (!(o->metrics & (1u << m)) || vm->row_value[m] == NULL)
      continue;
    series_run r = {o, vm, (tr_metric)m, out, report, totals};
    if (replay_series(&r) != 0)
      return -1;
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* s_per_series and jobs are the yardstick's cost fields (PROTOCOL.md A.1, "Cost"). */
static int write_timing(const char *path, replay_totals *t, double wall_s) {
  FILE *fp = fopen(path, "w");
  if (fp == NULL) {
    perror(path);
    return -1;
  }
  double median = 0.0;
  if (t->series > 0) {
    qsort(t->series_s, (size_t)t->series, sizeof(double), cmp_double);
    median = t->series % 2 ? t->series_s[t->series / 2]
                           : (t->series_s[t->series / 2 - 1] + t->series_s[t->series / 2]) / 2;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(fp,
          "{\"wall_s\": %.6f, \"series\": %d, \"jobs\": 1, \"s_per_series\": %.6f, "
          "\"series_s_median\": %.6f, \"fits\": %d, \"fit_s_per_fit\": %.6f, "
          "\"points\": %ld, \"stream_us_per_point\": %.4f, \"maxrss_kb\": %ld}\n",
          wall_s, t->series, t->series ? wall_s / t->series : 0.0, median, t->fits,
          t->fits ? t->fit_s / t->fits : 0.0, t->points,
          t->points ? 1e6 * t->stream_s / t->points : 0.0, ru.ru_maxrss);
  return fclose(fp);
}

static FILE *open_out(const char *path) {
  if (path == NULL)
    return stdout;
  FILE *fp = fopen(path, "w");
  if (fp == NULL)
    perror(path);
  return fp;
}

/* The allocation side of a run: its file, writer and totals. */
typedef struct alloc_run {
  FILE *fp;
  ac_writer w;
  as_totals totals;
} alloc_run;

static int alloc_open(const replay_opts *o, alloc_run *a) {
  memset(a, 0, sizeof(*a));
  if (o->alloc_path == NULL)
    return 0;
  if ((a->fp = fopen(o->alloc_path, "w")) == NULL) {
    perror(o->alloc_path);
    return -1;
  }
  if (ac_writer_start(&a->w, a->fp) != 0) {
    perror(o->alloc_path);
    return -1;
  }
  return 0;
}

static int alloc_close(const replay_opts *o, alloc_run *a, int status) {
  if (a->fp == NULL)
    return status;
  if (fclose(a->fp) != 0) {
    perror(o->alloc_path);
    status = 1;
  }
  if (status == 0 && !o->quiet) {
    const as_totals *t = &a->totals;
    fprintf(stderr, "foresight-replay: allocations of %d VMs (%d without provisioned "
                    "sizes skipped), %ld rows, %d fits (%d kept the previous model)",
            t->vms, t->skipped, t->rows, t->fits, t->failed_fits);
    for (int r = 0; r < AC_N_RESOURCES; r++)
      if (o->alloc.resources & (1u << r))
        fprintf(stderr, "; %s %.2f resizes/VM-day", ac_resource_name((ac_resource)r),
                t->vms ? (double)t->test_resizes[r] / t->vms / 7.0 : 0.0);
    fputc('\n', stderr);
  }
  return status;
}

static int run(const replay_opts *o, char **files, int n_files) {
  int forecasts = o->out_path != NULL || o->alloc_path == NULL;
  FILE *out = NULL, *report = NULL;
  alloc_run alloc;
  if (forecasts && (out = open_out(o->out_path)) == NULL)
    return 1;
  if (o->report_path != NULL && (report = open_out(o->report_path)) == NULL)
    return 1;
  if (alloc_open(o, &alloc) != 0)
    return 1;
  if (out != NULL)
    fputs("vm,metric,origin_ts,h,mean,lo,hi\n", out);
  if (report != NULL)
    fputs("vm,metric,fit_ts,season,chosen_h1,chosen_h2,chosen_h3,loss_naive,loss_snaive,"
          "loss_ets,loss_fourier,loss_ar,loss_gru,train_naive,train_snaive,train_ets,"
          "train_fourier,train_ar,train_gru\n", report);
  replay_totals totals = {0};
  double t0 = now_s();
  int status = 0;
  for (int k = 0; k < n_files && status == 0; k++) {
    tr_vm vm;
    char err[512];
    if (tr_vm_load(files[k], &vm, err, sizeof(err)) != 0) {
      fprintf(stderr, "foresight-replay: %s\n", err);
      status = 1;
    } else if (forecasts && replay_vm(o, &vm, out, report, &totals) != 0) {
      status = 1;
    } else if (alloc.fp != NULL &&
               as_run_vm(&o->alloc, &vm, &alloc.w, &alloc.totals, err, sizeof(err)) != 0) {
      fprintf(stderr, "foresight-replay: %s\n", err);
      status = 1;
    }
    tr_vm_free(&vm);
    if (!o->quiet && forecasts)
      fprintf(stderr, "\rforesight-replay: %d/%d traces, %d series, %.1f s", k + 1, n_files,
              totals.series, now_s() - t0);
    else if (!o->quiet)
      fprintf(stderr, "\rforesight-replay: %d/%d traces, %.1f s", k + 1, n_files,
              now_s() - t0);
  }
  if (!o->quiet)
    fputc('\n', stderr);
  if (status == 0 && o->timing_path != NULL && write_timing(o->timing_path, &totals, now_s() - t0) != 0)
    status = 1;
  if (out != NULL && out != stdout && fclose(out) != 0)
    status = 1;
  if (report != NULL && fclose(report) != 0)
    status = 1;
  status = alloc_close(o, &alloc, status);
  free(totals.series_s);
  return status;
}

int main(int argc, char **argv) {
  replay_opts o;
  int first = parse_args(argc, argv, &o);
  if (first == -2) {
    usage(stdout);
    return 0;
  }
  if (first < 0) {
    fprintf(stderr, "Try 'foresight-replay --help'.\n");
    return 2;
  }
  char **files = NULL, err[512];
  int n = tr_list_files((const char *const *)argv + first, argc - first, &files, err,
                        sizeof(err));
  if (n < 0) {
    fprintf(stderr, "foresight-replay: %s\n", err);
    return 1;
  }
  int status = run(&o, files, n);
  for (int k = 0; k < n; k++)
    free(files[k]);
  free(files);
  return status;
}
