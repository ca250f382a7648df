/* forecast_file.h -- one forecast CSV of ../shared/PROTOCOL.md section A, as fc-score
 * reads it: header with (at least) vm,metric,origin_ts,h,mean,lo,hi in any order, one
 * row per (vm, metric, origin_ts, h).
 *
 * Loading rejects what score_forecasts.py rejects -- a missing column, a duplicate
 * (vm, metric, origin_ts, h), lo > hi -- and, stricter than pandas, an unparsable number
 * or a row whose field count differs from the header's. Empty cells, "nan" and "inf"
 * are accepted: such rows are not scored (PROTOCOL.md A: they lower completeness).
 */
#ifndef BENCH_FORECAST_FILE_H
#define BENCH_FORECAST_FILE_H

#include <stddef.h>

typedef struct ff_row {
  char *vm, *metric;
  double origin_ts, h; /* numbers as written: matched against the grid by value */
  double mean, lo, hi;
  long line; /* in the file, for messages */
} ff_row;

typedef struct ff_file {
  char *path;
  char *model; /* the file stem */
  ff_row *rows; /* sorted by (vm, metric, h, origin_ts); NaN sorts last */
  size_t n_rows;
} ff_file;

/* Loads `path`. Returns NULL with "FILE:LINE:COL: what" (or "FILE: what") in err. */
ff_file *ff_load(const char *path, char *err, size_t err_len);
void ff_free(ff_file *f); /* NULL is fine */

/* Rows [*begin, *end) of (vm, metric, h), in origin_ts order (empty if none). */
void ff_find(const ff_file *f, const char *vm, const char *metric, double h, size_t *begin,
             size_t *end);

/* The distinct h values of the file, ascending (NaN last), in a new array *hs that the
 * caller frees. Returns their count, or -1 when out of memory. */
int ff_horizons(const ff_file *f, double **hs);

#endif /* BENCH_FORECAST_FILE_H */
