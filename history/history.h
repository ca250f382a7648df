/* history.h -- libhistory, the public API.
 *
 * libhistory keeps one RRD file per series, in collectd's DataDir layout
 *
 *     <datadir>/<host>/<plugin>[-<plugin_instance>]/<type>[-<type_instance>].rrd
 *
 * so the files foresight writes sit where collectd's rrdtool plugin would put them and
 * every RRD tool can read them. It creates a file with foresight's archives, appends
 * batches of samples, fetches a range back at the native step (warm start of the
 * forecaster after a restart, graphs) and tells the time of the last update. It knows
 * nothing of collectd: the caller names the series.
 *
 * Archives (fs_hist_layout_init, the default): every data source is a GAUGE with a
 * heartbeat of 2 x step (one missed sample is bridged, two are unknown), min/max
 * unbounded, and
 *
 *     AVERAGE  at step        native_rows (default 14 days: 4032 rows at 300 s)
 *     AVERAGE, MIN, MAX  1 h  2160 rows  (90 days)
 *     AVERAGE, MIN, MAX  1 d   730 rows  (2 years)
 *
 * The native archive holds at least the forecaster's training window (14 days, see the
 * README) so a restarted forecaster refits from the file alone. MIN and MAX are kept
 * beside the coarse averages because sizing cares about peaks, which an hourly average
 * hides; at the native step they would equal AVERAGE, so they are left out there. An
 * xff of 0.5 makes a coarse row unknown when more than half of its samples are. At
 * 300 s that is 12,702 rows: about 100 KiB per data source.
 *
 * Times are seconds since the epoch. A sample at time t describes the step that ends at
 * t (RRD's convention): fetch returns, for each step ending at start + i*step, the time
 * weighted average of the samples covering it (exactly the sample's value when samples
 * are written at multiples of the step).
 *
 * Threads: only librrd's reentrant functions are used (rrd_create_r2, rrd_updatex_r,
 * rrd_fetch_r, rrd_info_r, rrd_lastupdate_r), librrd keeps its error text per thread,
 * and this library keeps no state. Any call may run concurrently with any call on a
 * *different* file. On the *same* file, fetch and last may run concurrently with each
 * other, but ensure and update must not run concurrently with anything on that file:
 * the caller serialises them (one lock or one thread per series). librrd's own lock is
 * a per-process fcntl lock: it does not keep two threads of one process apart, and it
 * makes another process's update fail rather than wait. For the same reason collectd's
 * rrdtool plugin must not write the same files (give it another DataDir, or keep
 * foresight's value lists away from it).
 *
 * Errors: functions return 0 (or a non-negative count) on success and a negative
 * FS_HIST_E* code on failure, with a message in the caller's fs_hist_error (may be NULL)
 * naming the file and what is wrong with it. The library never prints.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  FS_HIST_OK = 0,
  FS_HIST_EINVAL = -1,   /* an argument is out of its domain (a name with '/', ...) */
  FS_HIST_ENOMEM = -2,   /* an allocation failed */
  FS_HIST_EIO = -3,      /* librrd or the file system failed (its message is kept) */
  FS_HIST_ENOENT = -4,   /* the RRD file does not exist */
  FS_HIST_ECOMPAT = -5,  /* the file exists with another step or other data sources */
  FS_HIST_ENOSPC = -6,   /* the output buffer is too small (path) */
};

typedef struct fs_hist_error {
  int code;      /* one of FS_HIST_E*, 0 when no error */
  char msg[256]; /* e.g. /var/lib/collectd/vm1/.../fs_usage-cpu.rrd: step 10 s, want 300 s */
} fs_hist_error;

/* Returns a static English name of an FS_HIST_E* code ("invalid argument", ...). */
const char *fs_hist_strerror(int code);

/* ---- paths ---- */

/* Writes <datadir>/<host>/<plugin>[-<plugin_instance>]/<type>[-<type_instance>].rrd
 * into out[0..n-1]. plugin_instance and type_instance are omitted when NULL or empty,
 * as collectd does. FS_HIST_EINVAL when datadir, host, plugin or type is NULL or
 * empty, or when any name (not datadir) contains '/' or ".." (a name must not leave
 * its folder); FS_HIST_ENOSPC when out is too small. On error out is "" (n > 0). */
int fs_hist_path(char *out, size_t n, const char *datadir, const char *host,
                 const char *plugin, const char *plugin_instance, const char *type,
                 const char *type_instance, fs_hist_error *err);

/* ---- layout of a new file ---- */

#define FS_HIST_MAX_DS 8            /* data sources per file */
#define FS_HIST_DS_NAME_MAX 19      /* RRD's limit on a data source name, without NUL */
#define FS_HIST_MAX_COARSE 4        /* coarse archive steps per file */
#define FS_HIST_DEFAULT_WINDOW_S (14 * 86400) /* native archive span by default */

typedef struct fs_hist_archive {
  int step_s; /* a multiple of the layout's step_s, > step_s */
  int rows;   /* >= 1 */
} fs_hist_archive;

typedef struct fs_hist_layout {
  int step_s;      /* native step (collectd's Interval), >= 1; heartbeat is 2 x step_s */
  size_t n_ds;     /* 1..FS_HIST_MAX_DS */
  char ds_names[FS_HIST_MAX_DS][FS_HIST_DS_NAME_MAX + 1]; /* [A-Za-z0-9_]{1,19} */
  int native_rows; /* rows of the AVERAGE archive at step_s, >= 2 */
  size_t n_coarse; /* 0..FS_HIST_MAX_COARSE; each gets AVERAGE, MIN and MAX */
  fs_hist_archive coarse[FS_HIST_MAX_COARSE];
} fs_hist_layout;

/* Fills *l with the default layout described at the top of this file for data sources
 * ds_names[0..n_ds-1] (copied) sampled every step_s seconds: native_rows =
 * ceil(FS_HIST_DEFAULT_WINDOW_S / step_s), 1 h x 2160 and 1 d x 730 coarse archives
 * (an archive whose step is not a multiple of step_s, or not coarser, is left out).
 * Change native_rows or coarse afterwards to taste. FS_HIST_EINVAL naming the bad
 * argument; on error *l is unchanged. */
int fs_hist_layout_init(fs_hist_layout *l, int step_s, size_t n_ds,
                        const char *const ds_names[], fs_hist_error *err);

/* Checks every field of *l; FS_HIST_EINVAL naming the first bad one. */
int fs_hist_layout_validate(const fs_hist_layout *l, fs_hist_error *err);

/* ---- files ---- */

/* Makes sure the file at path exists with layout *l:
 *   - absent: creates the missing parent folders (0755) and the file, whose first
 *     accepted sample is one at `start` or later (RRD's last update is start - 1);
 *     returns 1;
 *   - present: checks that it is compatible: same step, same data source names in the
 *     same order, and an AVERAGE archive at the native step; returns 0. Row counts and
 *     coarse archives may differ (e.g. a file made by collectd's rrdtool plugin).
 *     FS_HIST_ECOMPAT naming the first mismatch ("step 10 s, want 300 s", "data source
 *     #1 is "value", want "mean"", ...); the file is left as it is.
 * Borrows path and l. */
int fs_hist_ensure(const char *path, const fs_hist_layout *l, time_t start,
                   fs_hist_error *err);

/* Appends samples: sample i is at time t[i] with values v[i*n_ds + 0 .. n_ds-1]
 * (NaN = unknown), t[] increasing. n_ds must equal the file's data source count.
 * Samples at or before the file's last update, or not after the previous sample of
 * the batch, are skipped and counted in *n_skipped (may be NULL): a late sample never
 * costs the rest of the batch. All others are written in one librrd update.
 * Returns the number of samples written (>= 0) or a negative code; FS_HIST_ENOENT when
 * the file does not exist (call fs_hist_ensure first). Borrows t and v. */
int fs_hist_update(const char *path, size_t n_samples, const time_t t[], const double v[],
                   size_t n_ds, size_t *n_skipped, fs_hist_error *err);

/* Values read back from a file: row i is the step ending at start + i*step_s, its
 * values at values[i*n_ds + 0 .. n_ds-1], NaN where unknown. */
typedef struct fs_hist_series {
  time_t start;   /* end of the first row's step */
  int step_s;     /* the file's native step */
  size_t n;       /* rows */
  size_t n_ds;    /* values per row */
  char ds_names[FS_HIST_MAX_DS][FS_HIST_DS_NAME_MAX + 1];
  double *values; /* n * n_ds, owned: free with fs_hist_series_free */
} fs_hist_series;

/* Reads the native AVERAGE archive over the steps ending in (from, to], i.e. rows at
 * multiples of the step after `from` up to `to` (to is rounded up to a step). `from` is
 * raised to the oldest row the native archive still holds, so the result is always at
 * the native step (never a coarse archive's); rows after the last update are NaN.
 * Fills *out (its previous content is not freed); on error *out is zeroed.
 * FS_HIST_ENOENT when the file does not exist, FS_HIST_EINVAL when from >= to. */
int fs_hist_fetch(const char *path, time_t from, time_t to, fs_hist_series *out,
                  fs_hist_error *err);

/* Frees s->values and zeroes *s. NULL is fine. */
void fs_hist_series_free(fs_hist_series *s);

/* Sets *last to the time of the file's last update (start - 1 for a new file).
 * FS_HIST_ENOENT when the file does not exist. */
int fs_hist_last(const char *path, time_t *last, fs_hist_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HISTORY_H */
