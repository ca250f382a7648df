/* update.c -- appending samples, and the time of the last one.
 * A batch becomes one rrd_update call (one open, one lock, one write of the header)
 * because collectd's write path and the warm-start backfill both come in bursts. librrd
 * rejects a sample at or before the file's last update, and stops the batch there;
 * a late sample is normal in collectd (a slow read, a restart), so stale samples are
 * dropped here, counted, and the rest written.
 * Numbers are formatted in the "C" locale of this thread only (uselocale): librrd reads
 * "0.5", and a host process may have set a locale whose decimal mark is a comma. */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>

#include "hist_internal.h"

/* Longest "<time>" and ":<value>" we write: %lld of time_t, ":%.17g" of a double. */
enum { TIME_CHARS = 21, VALUE_CHARS = 26 };

/* Last update time and data source count, from rrd_lastupdate_r. */
static int last_and_count(const char *path, time_t *last, unsigned long *n_ds,
                          fs_hist_error *err) {
  int rc = fs_hist__exists(path, err);
  if (rc != 0)
    return rc;
  char **names = NULL, **values = NULL;
  rrd_clear_error();
  if (rrd_lastupdate_r(path, last, n_ds, &names, &values) != 0)
    return fs_hist__fail_rrd(err, FS_HIST_EIO, "%s: reading its last update", path);
  for (unsigned long i = 0; i < *n_ds; i++) {
    free(names[i]);
    free(values[i]);
  }
  free(names);
  free(values);
  return 0;
}

int fs_hist_last(const char *path, time_t *last, fs_hist_error *err) {
  if (path == NULL || last == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no file name or no output");
  unsigned long n_ds;
  return last_and_count(path, last, &n_ds, err);
}

/* Writes sample i as "<t>:<v0>:<v1>..." into buf (of VALUE_CHARS per value + time). */
static void format_sample(char *buf, size_t size, time_t t, const double *v, size_t n_ds) {
  int len = snprintf(buf, size, "%lld", (long long)t);
  for (size_t d = 0; d < n_ds; d++) {
    if (isfinite(v[d]))
      len += snprintf(buf + len, size - (size_t)len, ":%.17g", v[d]);
    else
      len += snprintf(buf + len, size - (size_t)len, ":U");
  }
}

/* Formats the samples after `last` into one malloc'd block; argv[k] points into it.
 * Returns the number kept. */
static size_t format_batch(size_t n, const time_t t[], const double v[], size_t n_ds,
                           time_t last, char *block, size_t per, const char **argv) {
  locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  locale_t old = c_locale != (locale_t)0 ? uselocale(c_locale) : (locale_t)0;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (t[i] <= last)
      continue; /* stale, or not after the previous sample of the batch */
    char *buf = block + kept * per;
    format_sample(buf, per, t[i], v + i * n_ds, n_ds);
    argv[kept++] = buf;
    last = t[i];
  }
  if (c_locale != (locale_t)0) {
    uselocale(old);
    freelocale(c_locale);
  }
  return kept;
}

int fs_hist_update(const char *path, size_t n_samples, const time_t t[], const double v[],
                   size_t n_ds, size_t *n_skipped, fs_hist_error *err) {
  if (n_skipped != NULL)
    *n_skipped = 0;
  if (path == NULL || (n_samples > 0 && (t == NULL || v == NULL)))
    return fs_hist__fail(err, FS_HIST_EINVAL, "no file name, times or values");
  if (n_ds < 1 || n_ds > FS_HIST_MAX_DS)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s: %zu values per sample (must be 1..%d)",
                         path, n_ds, FS_HIST_MAX_DS);
  if (n_samples > INT_MAX)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s: %zu samples in one batch (at most %d)",
                         path, n_samples, INT_MAX);
  time_t last;
  unsigned long file_ds;
  int rc = last_and_count(path, &last, &file_ds, err);
  if (rc != 0)
    return rc;
  if (file_ds != n_ds)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s: %zu values per sample, the file has %lu",
                         path, n_ds, file_ds);
  if (n_samples == 0)
    return 0;

  size_t per = TIME_CHARS + n_ds * VALUE_CHARS + 1;
  char *block = malloc(n_samples * per);
  const char **argv = malloc(n_samples * sizeof(*argv));
  if (block == NULL || argv == NULL) {
    free(block);
    free(argv);
    return fs_hist__fail(err, FS_HIST_ENOMEM, "%s: out of memory for %zu samples", path,
                         n_samples);
  }
  size_t kept = format_batch(n_samples, t, v, n_ds, last, block, per, argv);
  if (kept > 0) {
    rrd_clear_error();
    if (rrd_updatex_r(path, NULL, 0, (int)kept, argv) != 0)
      rc = fs_hist__fail_rrd(err, FS_HIST_EIO, "%s: updating", path);
  }
  free(block);
  free(argv);
  if (rc != 0)
    return rc;
  if (n_skipped != NULL)
    *n_skipped = n_samples - kept;
  return (int)kept;
}
