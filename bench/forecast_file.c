/* forecast_file.c -- loads and checks one forecast CSV (forecast_file.h).
 *
 * Rows are read in file order, then sorted by (vm, metric, h, origin_ts) so that a
 * duplicate is an equal neighbour and ff_find() is two binary searches. Numbers compare
 * by value, NaN equal to NaN, as pandas.DataFrame.duplicated() does. When the file has
 * several faults, the one score_forecasts.py names is reported: the first duplicate in
 * file order, then the first lo > hi.
 */
#include "bench/forecast_file.h"

#include "tools/csv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_VM, F_METRIC, F_ORIGIN, F_H, F_MEAN, F_LO, F_HI, N_F };
static const char *const field_name[N_F] = {"vm", "metric", "origin_ts", "h",
                                            "mean", "lo",   "hi"};

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

static int cmp_num(double a, double b) {
  if (isnan(a) || isnan(b))
    return isnan(a) - isnan(b);
  return (a > b) - (a < b);
}

static int cmp_group(const ff_row *a, const char *vm, const char *metric, double h) {
  int c = strcmp(a->vm, vm);
  if (c == 0)
    c = strcmp(a->metric, metric);
  return c != 0 ? c : cmp_num(a->h, h);
}

static int cmp_key(const ff_row *a, const ff_row *b) {
  int c = cmp_group(a, b->vm, b->metric, b->h);
  return c != 0 ? c : cmp_num(a->origin_ts, b->origin_ts);
}

static int by_key_then_line(const void *pa, const void *pb) {
  const ff_row *a = pa, *b = pb;
  int c = cmp_key(a, b);
  return c != 0 ? c : (a->line > b->line) - (a->line < b->line);
}

static char *stem_of(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = (dot != NULL && dot != base) ? (size_t)(dot - base) : strlen(base);
  char *s = malloc(len + 1);
  if (s != NULL)
    snprintf(s, len + 1, "%.*s", (int)len, base);
  return s;
}

void ff_free(ff_file *f) {
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->n_rows; i++) {
    free(f->rows[i].vm);
    free(f->rows[i].metric);
  }
  free(f->rows);
  free(f->path);
  free(f->model);
  free(f);
}

/* ---------------------------------------------------------------- reading */

static int read_header(csv_reader *r, int col[N_F], int *width, char *err, size_t err_len) {
  int got = csv_next(r, err, err_len);
  if (got <= 0)
    return got < 0 ? -1 : fail(err, err_len, "%s: empty file (no header)", csv_path(r));
  *width = csv_n_fields(r);
  char missing[128] = "";
  for (int c = 0; c < N_F; c++)
    if ((col[c] = csv_find(r, field_name[c])) < 0)
      snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
               missing[0] ? "," : "", field_name[c]);
  if (missing[0])
    return fail(err, err_len, "%s:%ld: missing column(s) %s; need vm,metric,origin_ts,h,"
                "mean,lo,hi", csv_path(r), csv_line(r), missing);
  return 0;
}

static int parse_row(csv_reader *r, const int col[N_F], int width, ff_row *row, char *err,
                     size_t err_len) {
  int n = csv_n_fields(r);
  if (n != width)
    return fail(err, err_len, "%s:%ld:%d: %d fields, the header has %d", csv_path(r),
                csv_line(r), (n < width ? n : width) + 1, n, width);
  double *num[N_F] = {NULL, NULL, &row->origin_ts, &row->h, &row->mean, &row->lo, &row->hi};
  for (int c = F_ORIGIN; c < N_F; c++)
    if (csv_number(csv_field(r, col[c]), num[c]) != 0)
      return fail(err, err_len, "%s:%ld:%d: bad number '%s' in column '%s'", csv_path(r),
                  csv_line(r), col[c] + 1, csv_field(r, col[c]), field_name[c]);
  row->line = csv_line(r);
  row->vm = strdup(csv_field(r, col[F_VM]));
  row->metric = strdup(csv_field(r, col[F_METRIC]));
  if (row->vm == NULL || row->metric == NULL)
    return fail(err, err_len, "%s:%ld: out of memory", csv_path(r), csv_line(r));
  return 0;
}

static int read_rows(csv_reader *r, ff_file *f, char *err, size_t err_len) {
  int col[N_F], width = 0, got;
  size_t cap = 0;
  if (read_header(r, col, &width, err, err_len) != 0)
    return -1;
  while ((got = csv_next(r, err, err_len)) > 0) {
    if (f->n_rows == cap) {
      cap = cap ? 2 * cap : 4096;
      ff_row *rows = realloc(f->rows, cap * sizeof(*rows));
      if (rows == NULL)
        return fail(err, err_len, "%s: out of memory", f->path);
      f->rows = rows;
    }
    ff_row *row = &f->rows[f->n_rows];
    memset(row, 0, sizeof(*row));
    f->n_rows++; /* counted now so that ff_free() frees a half-parsed row */
    if (parse_row(r, col, width, row, err, err_len) != 0)
      return -1;
  }
  return got;
}

/* ---------------------------------------------------------------- checks */

static int check_rows(ff_file *f, char *err, size_t err_len) {
  const ff_row *lo_hi = NULL;
  for (size_t i = 0; i < f->n_rows && lo_hi == NULL; i++)
    if (f->rows[i].lo > f->rows[i].hi)
      lo_hi = &f->rows[i];
  ff_row bad = {0};
  if (lo_hi != NULL)
    bad = *lo_hi; /* copied: sorting moves it */
  qsort(f->rows, f->n_rows, sizeof(*f->rows), by_key_then_line);
  const ff_row *dup = NULL, *first = NULL;
  for (size_t i = 1; i < f->n_rows; i++)
    if (cmp_key(&f->rows[i - 1], &f->rows[i]) == 0 &&
        (dup == NULL || f->rows[i].line < dup->line)) {
      dup = &f->rows[i];
      first = &f->rows[i - 1];
    }
  if (dup != NULL)
    return fail(err, err_len, "%s:%ld: duplicate forecast for vm=%s metric=%s origin_ts=%.17g"
                " h=%.17g (first at line %ld)", f->path, dup->line, dup->vm, dup->metric,
                dup->origin_ts, dup->h, first->line);
  if (lo_hi != NULL)
    return fail(err, err_len, "%s:%ld: lo > hi (%.17g > %.17g) at vm=%s metric=%s "
                "origin_ts=%.17g h=%.17g", f->path, bad.line, bad.lo, bad.hi, bad.vm,
                bad.metric, bad.origin_ts, bad.h);
  return 0;
}

ff_file *ff_load(const char *path, char *err, size_t err_len) {
  ff_file *f = calloc(1, sizeof(*f));
  if (f == NULL || (f->path = strdup(path)) == NULL || (f->model = stem_of(path)) == NULL) {
    fail(err, err_len, "%s: out of memory", path);
    ff_free(f);
    return NULL;
  }
  csv_reader *r = csv_open(path, err, err_len);
  int status = r == NULL ? -1 : read_rows(r, f, err, err_len);
  csv_close(r);
  if (status == 0)
    status = check_rows(f, err, err_len);
  if (status != 0) {
    ff_free(f);
    return NULL;
  }
  return f;
}

/* ---------------------------------------------------------------- queries */

/* First row whose group is >= (vm, metric, h) (strictly > when `after`). */
static size_t bound(const ff_file *f, const char *vm, const char *metric, double h,
                    int after) {
  size_t lo = 0, hi = f->n_rows;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp_group(&f->rows[mid], vm, metric, h);
    if (c < 0 || (after && c == 0))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void ff_find(const ff_file *f, const char *vm, const char *metric, double h, size_t *begin,
             size_t *end) {
  *begin = bound(f, vm, metric, h, 0);
  *end = bound(f, vm, metric, h, 1);
}

static int by_num(const void *a, const void *b) {
  return cmp_num(*(const double *)a, *(const double *)b);
}

int ff_horizons(const ff_file *f, double **hs) {
  int n = 0, cap = 8;
  double *v = malloc((size_t)cap * sizeof(*v));
  for (size_t i = 0; v != NULL && i < f->n_rows; i++) {
    int seen = 0;
    for (int j = 0; j < n && !seen; j++)
      seen = cmp_num(v[j], f->rows[i].h) == 0;
    if (seen)
      continue;
    if (n == cap) {
      double *w = realloc(v, (size_t)(cap *= 2) * sizeof(*v));
      if (w == NULL) {
        free(v);
        v = NULL;
        break;
      }
      v = w;
    }
    v[n++] = f->rows[i].h;
  }
  if (v == NULL)
    return -1;
  qsort(v, (size_t)n, sizeof(*v), by_num);
  *hs = v;
  return n;
}
