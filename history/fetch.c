/* fetch.c -- a range of a file back at its native step.
 * rrd_fetch picks, among the archives of the asked consolidation, the one that covers
 * the whole range at the step nearest the one asked; a range reaching further back than
 * the native archive would be served from the hourly one. Callers (the forecaster's
 * warm start above all) need the native step, so the range is first cut to what the
 * native archive holds; then it is the only full match, or the best partial one when
 * the range reaches past the last update. The step of the answer is checked anyway. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>

#include "hist_internal.h"

static time_t floor_step(time_t t, long step) {
  time_t r = t % step;
  return r < 0 ? t - r - step : t - r;
}

void fs_hist_series_free(fs_hist_series *s) {
  if (s == NULL)
    return;
  free(s->values);
  memset(s, 0, sizeof(*s));
}

/* Frees what rrd_fetch_r returned. */
static void free_fetched(char **names, unsigned long n_ds, rrd_value_t *data) {
  if (names != NULL)
    for (unsigned long i = 0; i < n_ds; i++)
      free(names[i]);
  free(names);
  free(data);
}

/* Copies the rows ending in [first_end, last_end] of what rrd_fetch_r returned (row r
 * ends at start + (r+1)*step) into out. */
static int copy_rows(const char *path, time_t first_end, time_t last_end, time_t start,
                     time_t end, long step, unsigned long n_ds, char **names,
                     const rrd_value_t *data, fs_hist_series *out, fs_hist_error *err) {
  size_t n = (size_t)((last_end - first_end) / step + 1);
  out->values = malloc(n * n_ds * sizeof(double));
  if (out->values == NULL)
    return fs_hist__fail(err, FS_HIST_ENOMEM, "%s: out of memory for %zu rows", path, n);
  size_t rows_got = (size_t)((end - start) / step);
  for (size_t i = 0; i < n; i++) {
    time_t row_end = first_end + (time_t)i * step;
    long r = (long)((row_end - start) / step) - 1;
    for (unsigned long d = 0; d < n_ds; d++)
      out->values[i * n_ds + d] =
          r >= 0 && (size_t)r < rows_got ? data[(size_t)r * n_ds + d] : NAN;
  }
  out->start = first_end;
  out->step_s = (int)step;
  out->n = n;
  out->n_ds = n_ds;
  for (unsigned long d = 0; d < n_ds; d++)
    memcpy(out->ds_names[d], names[d],
           strnlen(names[d], FS_HIST_DS_NAME_MAX)); /* zeroed beforehand: stays a string */
  return 0;
}

int fs_hist_fetch(const char *path, time_t from, time_t to, fs_hist_series *out,
                  fs_hist_error *err) {
  if (out == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no output series");
  memset(out, 0, sizeof(*out));
  if (path == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no file name");
  if (from >= to)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s: range from %lld to %lld is empty", path,
                         (long long)from, (long long)to);
  fs_hist__info info;
  int rc = fs_hist__read_info(path, &info, err);
  if (rc != 0)
    return rc;
  long step = info.step_s, rows = fs_hist__native_rows(&info);
  if (rows == 0)
    return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: no AVERAGE archive at the %ld s step",
                         path, step);
  time_t oldest = floor_step(info.last_update, step) - (time_t)rows * step;
  if (from < oldest)
    from = oldest;
  time_t first_end = floor_step(from, step) + step;
  time_t last_end = floor_step(to - 1, step) + step; /* to rounded up to a step */
  if (first_end > last_end) { /* the whole range is older than the native archive */
    out->start = first_end;
    out->step_s = (int)step;
    out->n_ds = info.n_ds;
    memcpy(out->ds_names, info.ds_names, sizeof(out->ds_names));
    return 0;
  }

  time_t start = first_end - step, end = last_end - 1; /* rrd_fetch rounds end up */
  unsigned long got_step = (unsigned long)step, n_ds = 0;
  char **names = NULL;
  rrd_value_t *data = NULL;
  rrd_clear_error();
  if (rrd_fetch_r(path, "AVERAGE", &start, &end, &got_step, &n_ds, &names, &data) != 0)
    return fs_hist__fail_rrd(err, FS_HIST_EIO, "%s: fetching", path);
  if ((long)got_step != step || n_ds == 0 || n_ds > FS_HIST_MAX_DS)
    rc = fs_hist__fail(err, FS_HIST_EIO, "%s: librrd answered %lu data sources at %lu s, "
                       "want the %ld s step", path, n_ds, got_step, step);
  else
    rc = copy_rows(path, first_end, last_end, start, end, step, n_ds, names, data, out,
                   err);
  free_fetched(names, n_ds, data);
  if (rc != 0)
    fs_hist_series_free(out);
  return rc;
}
