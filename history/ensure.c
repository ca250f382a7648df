/* ensure.c -- a series' file exists with a layout we can use.
 * A new file gets foresight's archives (history.h). An existing one is kept whatever
 * its row counts (collectd's rrdtool plugin may have made it, or an operator resized
 * it), but its step and data sources must be ours: values written at another step or
 * into differently named columns would be silently wrong, so that is an error naming
 * the first difference, and the file is never rewritten.
 * Creation uses rrd_create_r2's no-overwrite mode: when two processes race to create
 * the same file, the loser finds it present and checks it like any other. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rrd.h>

#include "hist_internal.h"

/* mkdir -p of path's parent folder. */
static int make_parents(const char *path, fs_hist_error *err) {
  size_t len = strlen(path);
  char *dir = malloc(len + 1);
  if (dir == NULL)
    return fs_hist__fail(err, FS_HIST_ENOMEM, "%s: out of memory", path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  int rc = 0;
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; rc == 0; p++) {
      if (*p != '/' && *p != '\0')
        continue;
      char keep = *p;
      *p = '\0';
      if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = fs_hist__fail_errno(err, FS_HIST_EIO, errno, "%s: creating folder %s", path,
                                 dir);
      *p = keep;
      if (keep == '\0')
        break;
    }
  }
  free(dir);
  return rc;
}

/* The rrd_create arguments of layout l: DS:..., RRA:... Each string is malloc'd;
 * free with free_args. */
enum { MAX_ARGS = FS_HIST_MAX_DS + 1 + 3 * FS_HIST_MAX_COARSE };
static const char *const coarse_cfs[] = {"AVERAGE", "MIN", "MAX"};

static int push(char *args[], int *argc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int push(char *args[], int *argc, const char *fmt, ...) {
  char buf[80];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if ((args[*argc] = strdup(buf)) == NULL)
    return -1;
  (*argc)++;
  return 0;
}

static void free_args(char *args[], int argc) {
  for (int i = 0; i < argc; i++)
    free(args[i]);
}

static int build_args(const fs_hist_layout *l, char *args[], int *argc) {
  *argc = 0;
  for (size_t i = 0; i < l->n_ds; i++)
    if (push(args, argc, "DS:%s:GAUGE:%d:U:U", l->ds_names[i], 2 * l->step_s) != 0)
      return -1;
  if (push(args, argc, "RRA:AVERAGE:0.5:1:%d", l->native_rows) != 0)
    return -1;
  for (size_t k = 0; k < l->n_coarse; k++)
    for (size_t c = 0; c < 3; c++)
      if (push(args, argc, "RRA:%s:0.5:%d:%d", coarse_cfs[c],
               l->coarse[k].step_s / l->step_s, l->coarse[k].rows) != 0)
        return -1;
  return 0;
}

static int create(const char *path, const fs_hist_layout *l, time_t start,
                  fs_hist_error *err) {
  char *args[MAX_ARGS];
  int argc = 0;
  if (build_args(l, args, &argc) != 0) {
    free_args(args, argc);
    return fs_hist__fail(err, FS_HIST_ENOMEM, "%s: out of memory", path);
  }
  rrd_clear_error();
  /* last update one step before start: a sample at `start` then fills the whole step
   * ending at start (a step less than half known would be unknown) */
  int status = rrd_create_r2(path, (unsigned long)l->step_s, start - l->step_s,
                             /* no_overwrite = */ 1, NULL, NULL, argc,
                             (const char **)args);
  free_args(args, argc);
  if (status != 0)
    return fs_hist__fail_rrd(err, FS_HIST_EIO, "%s: creating", path);
  return 0;
}

static int check_compatible(const char *path, const fs_hist_layout *l,
                            fs_hist_error *err) {
  fs_hist__info info;
  int rc = fs_hist__read_info(path, &info, err);
  if (rc != 0)
    return rc;
  if (info.step_s != l->step_s)
    return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: step %ld s, want %d s", path,
                         info.step_s, l->step_s);
  if (info.n_ds != l->n_ds)
    return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: %zu data sources, want %zu", path,
                         info.n_ds, l->n_ds);
  for (size_t i = 0; i < l->n_ds; i++)
    if (strcmp(info.ds_names[i], l->ds_names[i]) != 0)
      return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: data source #%zu is \"%s\", want \"%s\"",
                           path, i, info.ds_names[i], l->ds_names[i]);
  if (fs_hist__native_rows(&info) == 0)
    return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: no AVERAGE archive at the %d s step",
                         path, l->step_s);
  return 0;
}

int fs_hist_ensure(const char *path, const fs_hist_layout *l, time_t start,
                   fs_hist_error *err) {
  if (path == NULL || path[0] == '\0')
    return fs_hist__fail(err, FS_HIST_EINVAL, "no file name");
  int rc = fs_hist_layout_validate(l, err);
  if (rc != 0)
    return rc;
  if (start <= l->step_s)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s: start %lld (must be a time after %d)",
                         path, (long long)start, l->step_s);
  rc = fs_hist__exists(path, err);
  if (rc == 0)
    return check_compatible(path, l, err);
  if (rc != FS_HIST_ENOENT)
    return rc;
  if ((rc = make_parents(path, err)) != 0)
    return rc;
  rc = create(path, l, start, err);
  if (rc != 0 && fs_hist__exists(path, NULL) == 0) /* lost a race: check theirs */
    return check_compatible(path, l, err);
  return rc == 0 ? 1 : rc;
}
