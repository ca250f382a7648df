/* trace.c -- loads one VM trace CSV (format: ../shared/traces/README.md) and puts it on
 * the protocol grid of ../shared/PROTOCOL.md section 0, exactly as the reference
 * ../shared/yardstick/lib.py (class VM) does.
 *
 * Loading reads every column into a raw array (cells parsed with strtod; an empty cell is
 * NaN; anything unparsable is an error naming file, line, column number and column
 * name), then derives the series per row and finally the grid:
 *   slot(t) = floor(t / 300 + 0.5)        t truncated to an integer first, as lib.py's
 *                                         int64 conversion does
 *   dist(t) = |t - 300 slot(t)|
 * A slot keeps the sample with the smaller dist; on equal dist the larger timestamp
 * (equal timestamps: the first in the file, as lib.py's stable lexsort). Slots from the
 * first to the last occupied one form the grid; unoccupied slots are NaN.
 * Timestamps need not increase: placement does not depend on row order.
 *
 * Not here: which slots are test, scale or refit points (trace.h's inline helpers).
 */
#include "tools/trace.h"

#include "tools/csv.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum column { C_TS, C_VM, C_PCT, C_CORES, C_MEM, C_MEM_PROV, C_DR, C_DW, C_RX, C_TX, N_COLS };
static const char *const column_name[N_COLS] = {
    "timestamp",   "vm",     "cpu_pct",        "cpu_cores",       "mem_kb",
    "mem_prov_kb", "disk_read_kbps", "disk_write_kbps", "net_rx_kbps", "net_tx_kbps"};

/* |timestamp| above this cannot be an epoch second and would overflow the slot math */
#define TS_LIMIT_S 1e15

const char *tr_metric_name(tr_metric m) {
  static const char *const names[TR_N_METRICS] = {"cpu", "mem", "disk", "net"};
  return (m >= 0 && m < TR_N_METRICS) ? names[m] : "?";
}

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---------------------------------------------------------------- raw columns */

struct raw {
  int col[N_COLS];      /* field index of each column */
  int n_header;         /* fields in the header */
  int n, cap;           /* rows */
  double *v[N_COLS];    /* v[C_VM] stays NULL */
};

static void raw_free(struct raw *raw) {
  for (int c = 0; c < N_COLS; c++)
    free(raw->v[c]);
}

static int raw_grow(struct raw *raw) {
  int cap = raw->cap ? 2 * raw->cap : 1024;
  for (int c = 0; c < N_COLS; c++) {
    if (c == C_VM)
      continue;
    double *p = realloc(raw->v[c], (size_t)cap * sizeof(*p));
    if (p == NULL)
      return -1;
    raw->v[c] = p;
  }
  raw->cap = cap;
  return 0;
}

static int read_header(csv_reader *r, struct raw *raw, char *err, size_t err_len) {
  int got = csv_next(r, err, err_len);
  if (got <= 0)
    return got < 0 ? -1 : fail(err, err_len, "%s: empty file (no header)", csv_path(r));
  raw->n_header = csv_n_fields(r);
  for (int c = 0; c < N_COLS; c++) {
    raw->col[c] = csv_find(r, column_name[c]);
    if (raw->col[c] < 0)
      return fail(err, err_len, "%s:%ld: header has no column '%s'", csv_path(r),
                  csv_line(r), column_name[c]);
  }
  return 0;
}

/* Checks the field count of a data row against the header. */
static int check_width(csv_reader *r, const struct raw *raw, const char *const *hdr,
                       char *err, size_t err_len) {
  int n = csv_n_fields(r);
  if (n < raw->n_header)
    return fail(err, err_len, "%s:%ld:%d: %d fields, the header has %d (column '%s' missing)",
                csv_path(r), csv_line(r), n + 1, n, raw->n_header, hdr[n]);
  if (n > raw->n_header)
    return fail(err, err_len, "%s:%ld:%d: %d fields, the header has %d (extra field '%s')",
                csv_path(r), csv_line(r), raw->n_header + 1, n, raw->n_header,
                csv_field(r, raw->n_header));
  return 0;
}

static int is_blank(const char *s) { return s[strspn(s, " \t")] == '\0'; }

/* An empty cell is NaN; a number must be finite ("nan" and "inf" are rejected). */
static int parse_cell(csv_reader *r, const struct raw *raw, int c, double *out, char *err,
                      size_t err_len) {
  int i = raw->col[c];
  const char *cell = csv_field(r, i);
  if (csv_number(cell, out) != 0 || isinf(*out) || (isnan(*out) && !is_blank(cell)))
    return fail(err, err_len, "%s:%ld:%d: bad number '%s' in column '%s'", csv_path(r),
                csv_line(r), i + 1, cell, column_name[c]);
  if (c == C_TS && !(fabs(*out) < TS_LIMIT_S))
    return fail(err, err_len, "%s:%ld:%d: %s in column '%s'", csv_path(r), csv_line(r),
                i + 1, isnan(*out) ? "empty timestamp" : "timestamp out of range",
                column_name[c]);
  return 0;
}

/* Remembers the vm column of the first row in vm->name. */
static int take_name(csv_reader *r, const struct raw *raw, tr_vm *vm, char *err,
                     size_t err_len) {
  int i = raw->col[C_VM];
  const char *s = csv_field(r, i);
  if (s[0] == '\0' || strlen(s) >= sizeof(vm->name))
    return fail(err, err_len, "%s:%ld:%d: %s vm id in column 'vm'", csv_path(r), csv_line(r),
                i + 1, s[0] == '\0' ? "empty" : "over-long");
  strcpy(vm->name, s);
  return 0;
}

static int read_rows(csv_reader *r, struct raw *raw, tr_vm *vm, char *err, size_t err_len) {
  /* the header, to name a missing column; copied since csv_next reuses the buffer */
  char *hdr[512] = {0};
  if (raw->n_header > (int)(sizeof(hdr) / sizeof(hdr[0])))
    return fail(err, err_len, "%s: more than %zu columns", csv_path(r),
                sizeof(hdr) / sizeof(hdr[0]));
  int status = 0;
  for (int i = 0; i < raw->n_header && status == 0; i++)
    if ((hdr[i] = strdup(csv_field(r, i))) == NULL)
      status = fail(err, err_len, "%s: out of memory", csv_path(r));
  int got;
  while (status == 0 && (got = csv_next(r, err, err_len)) != 0) {
    if (got < 0 || check_width(r, raw, (const char *const *)hdr, err, err_len) != 0) {
      status = -1;
      break;
    }
    if (raw->n == 0 && take_name(r, raw, vm, err, err_len) != 0) {
      status = -1;
      break;
    }
    if (raw->n == raw->cap && (raw->n == INT_MAX / 2 || raw_grow(raw) != 0)) {
      status = fail(err, err_len, "%s:%ld: out of memory", csv_path(r), csv_line(r));
      break;
    }
    for (int c = 0; c < N_COLS && status == 0; c++)
      if (c != C_VM)
        status = parse_cell(r, raw, c, &raw->v[c][raw->n], err, err_len);
    raw->n++;
  }
  for (int i = 0; i < raw->n_header; i++)
    free(hdr[i]);
  if (status == 0 && raw->n == 0)
    return fail(err, err_len, "%s: no data rows", csv_path(r));
  return status;
}

/* ---------------------------------------------------------------- rows -> series */

static int all_nan(const double *a, int n) {
  for (int i = 0; i < n; i++)
    if (!isnan(a[i]))
      return 0;
  return 1;
}

/* Moves the raw columns into vm's row arrays (PROTOCOL.md section 0). */
static void derive_rows(struct raw *raw, tr_vm *vm) {
  int n = raw->n;
  vm->n_rows = n;
  vm->is_azure = all_nan(raw->v[C_CORES], n);
  vm->row_ts = raw->v[C_TS];
  vm->row_value[TR_CPU] = raw->v[C_PCT];
  raw->v[C_TS] = raw->v[C_PCT] = NULL;
  if (vm->is_azure)
    return; /* cpu stays in percent; the rest is freed with raw */
  double *cpu = vm->row_value[TR_CPU], *cores = raw->v[C_CORES];
  double *disk = raw->v[C_DR], *net = raw->v[C_RX];
  for (int i = 0; i < n; i++) {
    cpu[i] = cpu[i] / 100.0 * cores[i];
    disk[i] += raw->v[C_DW][i];
    net[i] += raw->v[C_TX][i];
  }
  vm->row_value[TR_MEM] = raw->v[C_MEM];
  vm->row_value[TR_DISK] = disk;
  vm->row_value[TR_NET] = net;
  vm->row_cores = cores;
  vm->row_mem_prov_kb = raw->v[C_MEM_PROV];
  raw->v[C_MEM] = raw->v[C_DR] = raw->v[C_RX] = raw->v[C_CORES] = raw->v[C_MEM_PROV] = NULL;
}

/* ---------------------------------------------------------------- grid */

static int64_t slot_of(int64_t t) { return (int64_t)floor((double)t / TR_STEP_S + 0.5); }
static int64_t dist_of(int64_t t) { return llabs(t - slot_of(t) * TR_STEP_S); }

/* who[k] = the row kept for grid slot k, -1 if none. */
static int *place_rows(tr_vm *vm, char *err, size_t err_len) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int i = 0; i < vm->n_rows; i++) {
    int64_t s = slot_of((int64_t)vm->row_ts[i]);
    lo = s < lo ? s : lo;
    hi = s > hi ? s : hi;
  }
  if (hi - lo >= INT_MAX) {
    fail(err, err_len, "%s: timestamps span more than %d slots", vm->path, INT_MAX);
    return NULL;
  }
  vm->slot0 = lo;
  vm->n = (int)(hi - lo + 1);
  int *who = malloc((size_t)vm->n * sizeof(*who));
  if (who == NULL) {
    fail(err, err_len, "%s: out of memory for %d slots", vm->path, vm->n);
    return NULL;
  }
  for (int k = 0; k < vm->n; k++)
    who[k] = -1;
  for (int i = 0; i < vm->n_rows; i++) {
    int64_t t = (int64_t)vm->row_ts[i];
    int k = (int)(slot_of(t) - lo), j = who[k];
    if (j >= 0) {
      int64_t tj = (int64_t)vm->row_ts[j];
      vm->n_collisions++;
      if (!(dist_of(t) < dist_of(tj) || (dist_of(t) == dist_of(tj) && t > tj)))
        continue;
    }
    who[k] = i;
  }
  return who;
}

/* A grid array holding row value src[who[k]], or NULL with `*bad` set on no memory. */
static double *grid_of(const double *src, const int *who, int n, int *bad) {
  if (src == NULL)
    return NULL;
  double *g = malloc((size_t)n * sizeof(*g));
  if (g == NULL) {
    *bad = 1;
    return NULL;
  }
  for (int k = 0; k < n; k++)
    g[k] = who[k] >= 0 ? src[who[k]] : NAN;
  return g;
}

static int build_grid(tr_vm *vm, char *err, size_t err_len) {
  int *who = place_rows(vm, err, err_len);
  if (who == NULL)
    return -1;
  int bad = 0;
  for (int m = 0; m < TR_N_METRICS; m++)
    vm->series[m] = grid_of(vm->row_value[m], who, vm->n, &bad);
  vm->cores = grid_of(vm->row_cores, who, vm->n, &bad);
  vm->mem_prov_kb = grid_of(vm->row_mem_prov_kb, who, vm->n, &bad);
  free(who);
  return bad ? fail(err, err_len, "%s: out of memory for %d slots", vm->path, vm->n) : 0;
}

/* ---------------------------------------------------------------- load */

/* dataset = name of the folder holding the file (os.path.basename(os.path.dirname)) */
static void dataset_of(const char *path, char *out, size_t out_len) {
  const char *end = strrchr(path, '/');
  out[0] = '\0';
  if (end == NULL)
    return;
  while (end > path && end[-1] == '/')
    end--;
  const char *start = end;
  while (start > path && start[-1] != '/')
    start--;
  if (end == start && *start == '/')
    return; /* a file in "/" */
  snprintf(out, out_len, "%.*s", (int)(end - start), start);
}

int tr_vm_load(const char *path, tr_vm *vm, char *err, size_t err_len) {
  memset(vm, 0, sizeof(*vm));
  if (strlen(path) >= sizeof(vm->path))
    return fail(err, err_len, "%s: path longer than %zu bytes", path, sizeof(vm->path) - 1);
  strcpy(vm->path, path);
  dataset_of(path, vm->dataset, sizeof(vm->dataset));
  csv_reader *r = csv_open(path, err, err_len);
  if (r == NULL)
    return -1;
  struct raw raw = {0};
  int status = read_header(r, &raw, err, err_len);
  if (status == 0)
    status = read_rows(r, &raw, vm, err, err_len);
  csv_close(r);
  if (status == 0) {
    derive_rows(&raw, vm);
    status = build_grid(vm, err, err_len);
  }
  raw_free(&raw);
  if (status != 0)
    tr_vm_free(vm);
  return status;
}

void tr_vm_free(tr_vm *vm) {
  if (vm == NULL)
    return;
  free(vm->row_ts);
  for (int m = 0; m < TR_N_METRICS; m++) {
    free(vm->row_value[m]);
    free(vm->series[m]);
  }
  free(vm->row_cores);
  free(vm->row_mem_prov_kb);
  free(vm->cores);
  free(vm->mem_prov_kb);
  memset(vm, 0, sizeof(*vm));
}
