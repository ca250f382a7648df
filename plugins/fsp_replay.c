/* fsp_replay.c -- which trace rows are due at a wall-clock time (see fsp_replay.h for
 * the time mapping). Traces are read by tools/trace.c, the parser shared with the
 * replay tool and the bench; only its raw rows are kept (the protocol grid is freed).
 *
 * Per trace: the window's row range [i0, i1), the week shift and the loop period.
 * Per replayed VM (a trace x a copy): a cursor (row, lap). Invariant: every row before
 * the cursor is either emitted or was before the replay position at begin; the cursor
 * row's stamped time t + shift + lap * period is the next one to emit.
 * Not here: collectd value lists (foresight_replay.c).
 */
#include "plugins/fsp_replay.h"

#include "tools/trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COPIES 1000000

struct trace {
  tr_vm vm;
  int i0, i1;        /* rows of the window */
  double t_start;    /* window start, trace time */
  double period_s;   /* loop lap, whole weeks */
  double shift_s;    /* whole weeks, fixed by begin */
  char *set;         /* host set (owned), NULL none */
};

struct cursor {
  int trace;
  char host[80];
  int row;
  long lap;
  int done;
};

struct fsp_replay {
  fsp_replay_opts opts;
  double epoch_s;
  int n_traces;
  struct trace *traces;
  int n_vms;
  struct cursor *vms;
};

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

void fsp_replay_opts_default(fsp_replay_opts *o) {
  *o = (fsp_replay_opts){.speed = 1.0, .copies = 1, .epoch_s = NAN};
}

const char *fsp_metric_name(int metric) {
  static const char *const names[FSP_N_METRICS] = {"cpu", "mem", "disk", "net"};
  return (metric >= 0 && metric < FSP_N_METRICS) ? names[metric] : "?";
}

int fsp_replay_opts_check(const fsp_replay_opts *o, char *err, size_t err_len) {
  if (!(o->speed > 0.0) || !isfinite(o->speed))
    return fail(err, err_len, "Speed %g (must be > 0)", o->speed);
  if (!(o->start_days >= 0.0) || !isfinite(o->start_days))
    return fail(err, err_len, "Start %g (days, must be >= 0)", o->start_days);
  if (!(o->days >= 0.0) || !isfinite(o->days))
    return fail(err, err_len, "Days %g (must be > 0, or 0 for the whole trace)", o->days);
  if (o->copies < 1 || o->copies > MAX_COPIES)
    return fail(err, err_len, "Copies %d (must be in [1, %d])", o->copies, MAX_COPIES);
  if (isinf(o->epoch_s))
    return fail(err, err_len, "Epoch %g (must be finite)", o->epoch_s);
  return 0;
}

/* First row in [lo, hi) whose time is >= t (hi when none); rows are sorted. */
static int lower_bound(const double *ts, int lo, int hi, double t) {
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (ts[mid] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Keeps the raw rows only: the protocol grid is not needed for replay. */
static void drop_grid(tr_vm *vm) {
  for (int m = 0; m < TR_N_METRICS; m++) {
    free(vm->series[m]);
    vm->series[m] = NULL;
  }
  free(vm->cores);
  free(vm->mem_prov_kb);
  vm->cores = vm->mem_prov_kb = NULL;
}

static int load_trace(const fsp_replay_opts *o, const char *path, struct trace *t,
                      char *err, size_t err_len) {
  if (tr_vm_load(path, &t->vm, err, err_len) != 0)
    return -1;
  drop_grid(&t->vm);
  const double *ts = t->vm.row_ts;
  int n = t->vm.n_rows;
  for (int i = 1; i < n; i++)
    if (ts[i] < ts[i - 1])
      return fail(err, err_len, "%s: row %d: timestamp %.0f before the previous one (%.0f); "
                  "replay needs rows in time order", path, i + 2, ts[i], ts[i - 1]);
  t->t_start = ts[0] + o->start_days * 86400.0;
  double t_end = o->days > 0.0 ? t->t_start + o->days * 86400.0 : ts[n - 1] + 1.0;
  t->i0 = lower_bound(ts, 0, n, t->t_start);
  t->i1 = lower_bound(ts, t->i0, n, t_end);
  if (t->i0 >= t->i1)
    return fail(err, err_len, "%s: no row between Start %g and Start + Days %g (the trace "
                "spans %.1f days)", path, o->start_days, o->start_days + o->days,
                (ts[n - 1] - ts[0]) / 86400.0);
  double weeks = ceil((t_end - t->t_start) / FSP_WEEK_S);
  t->period_s = (weeks < 1.0 ? 1.0 : weeks) * FSP_WEEK_S;
  return 0;
}

static int make_cursors(fsp_replay *r, char *err, size_t err_len) {
  long n = (long)r->n_traces * r->opts.copies;
  if (n > 100L * MAX_COPIES)
    return fail(err, err_len, "%d traces x Copies %d: too many VMs", r->n_traces,
                r->opts.copies);
  r->vms = calloc((size_t)n, sizeof(*r->vms));
  if (r->vms == NULL)
    return fail(err, err_len, "out of memory for %ld replayed VMs", n);
  r->n_vms = (int)n;
  for (int t = 0, k = 0; t < r->n_traces; t++)
    for (int c = 0; c < r->opts.copies; c++, k++) {
      struct cursor *v = &r->vms[k];
      v->trace = t;
      if (r->opts.copies == 1)
        snprintf(v->host, sizeof(v->host), "%s", r->traces[t].vm.name);
      else
        snprintf(v->host, sizeof(v->host), "%s-c%d", r->traces[t].vm.name, c);
    }
  return 0;
}

fsp_replay *fsp_replay_create(const fsp_replay_opts *o, const char *const *files,
                              int n_files, char *err, size_t err_len) {
  if (fsp_replay_opts_check(o, err, err_len) != 0)
    return NULL;
  if (n_files < 1) {
    fail(err, err_len, "no trace file to replay");
    return NULL;
  }
  fsp_replay *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->traces = calloc((size_t)n_files, sizeof(*r->traces))) == NULL) {
    free(r);
    fail(err, err_len, "out of memory for %d traces", n_files);
    return NULL;
  }
  r->opts = *o;
  for (int i = 0; i < n_files; i++) {
    r->n_traces = i + 1; /* so destroy frees a half-loaded trace */
    if (load_trace(o, files[i], &r->traces[i], err, err_len) != 0) {
      fsp_replay_destroy(r);
      return NULL;
    }
  }
  if (make_cursors(r, err, err_len) != 0) {
    fsp_replay_destroy(r);
    return NULL;
  }
  return r;
}

void fsp_replay_destroy(fsp_replay *r) {
  if (r == NULL)
    return;
  for (int i = 0; i < r->n_traces; i++) {
    tr_vm_free(&r->traces[i].vm);
    free(r->traces[i].set);
  }
  free(r->traces);
  free(r->vms);
  free(r);
}

int fsp_replay_set_host_set(fsp_replay *r, const char *set, const char *vm, char *err,
                            size_t err_len) {
  int found = 0;
  for (int i = 0; i < r->n_traces; i++) {
    struct trace *t = &r->traces[i];
    if (vm != NULL && strcmp(vm, t->vm.name) != 0)
      continue;
    char *copy = strdup(set);
    if (copy == NULL)
      return fail(err, err_len, "HostSet \"%s\": out of memory", set);
    free(t->set);
    t->set = copy;
    found++;
  }
  if (found == 0 && vm != NULL)
    return fail(err, err_len, "HostSet \"%s\": VM \"%s\" is in no replayed trace", set, vm);
  return 0;
}

/* Trace seconds played since the window start at wall time now_s. */
static double played_s(const fsp_replay *r, double now_s) {
  return (now_s - r->epoch_s) * r->opts.speed;
}

/* Puts the cursor on the first row stamped at or after trace position pos. */
static void place(const fsp_replay *r, struct cursor *v, double pos) {
  const struct trace *t = &r->traces[v->trace];
  const double *ts = t->vm.row_ts;
  v->lap = 0;
  if (pos > t->t_start && r->opts.loop) {
    v->lap = (long)floor((pos - t->t_start) / t->period_s);
    pos -= (double)v->lap * t->period_s;
  }
  v->row = lower_bound(ts, t->i0, t->i1, pos);
  if (v->row == t->i1) {
    if (r->opts.loop) {
      v->lap++;
      v->row = t->i0;
    } else {
      v->done = 1;
    }
  }
}

int fsp_replay_begin(fsp_replay *r, double now_s) {
  r->epoch_s = isnan(r->opts.epoch_s) ? now_s : r->opts.epoch_s;
  for (int i = 0; i < r->n_traces; i++) {
    struct trace *t = &r->traces[i];
    t->shift_s = floor((r->epoch_s - t->t_start) / FSP_WEEK_S + 0.5) * FSP_WEEK_S;
  }
  double played = played_s(r, now_s);
  for (int k = 0; k < r->n_vms; k++)
    place(r, &r->vms[k], r->traces[r->vms[k].trace].t_start + played);
  return 0;
}

static void fill_sample(const struct trace *t, const struct cursor *v, fsp_sample *s) {
  const tr_vm *vm = &t->vm;
  int i = v->row;
  s->host = v->host;
  s->set = t->set;
  s->ts_s = vm->row_ts[i] + t->shift_s + (double)v->lap * t->period_s;
  for (int m = 0; m < FSP_N_METRICS; m++)
    s->usage[m] = vm->row_value[m] != NULL ? vm->row_value[m][i] : NAN;
  if (vm->is_azure)
    s->usage[FSP_CPU] /= 100.0;
  s->vcpus = vm->row_cores != NULL ? vm->row_cores[i] : NAN;
  s->mem_kb = vm->row_mem_prov_kb != NULL ? vm->row_mem_prov_kb[i] : NAN;
}

/* Emits the VM's rows due after `played` trace seconds; returns how many. */
static long run_vm(const fsp_replay *r, struct cursor *v, double played,
                   fsp_replay_emit_fn emit, void *ctx) {
  const struct trace *t = &r->traces[v->trace];
  double pos = t->t_start + played;
  long n = 0;
  while (!v->done && t->vm.row_ts[v->row] + (double)v->lap * t->period_s <= pos) {
    fsp_sample s;
    fill_sample(t, v, &s);
    emit(ctx, &s);
    n++;
    if (++v->row == t->i1) {
      if (r->opts.loop) {
        v->lap++;
        v->row = t->i0;
      } else {
        v->done = 1;
      }
    }
  }
  return n;
}

long fsp_replay_run(fsp_replay *r, double now_s, fsp_replay_emit_fn emit, void *ctx) {
  double played = played_s(r, now_s);
  long n = 0;
  for (int k = 0; k < r->n_vms; k++)
    n += run_vm(r, &r->vms[k], played, emit, ctx);
  return n;
}

int fsp_replay_n_vms(const fsp_replay *r) { return r->n_vms; }

int fsp_replay_n_done(const fsp_replay *r) {
  int n = 0;
  for (int k = 0; k < r->n_vms; k++)
    n += r->vms[k].done;
  return n;
}
