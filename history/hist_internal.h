/* hist_internal.h -- inside libhistory only: error helpers and what the files share
 * about an RRD file's header (read with rrd_info_r). */
#ifndef HIST_INTERNAL_H
#define HIST_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "history.h"

/* ---- errors (error.c) ---- */
/* Sets err (if not NULL) to code and a printf-style message; returns code. */
int fs_hist__fail(fs_hist_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As fs_hist__fail, with ": " and strerror(errnum) appended. */
int fs_hist__fail_errno(fs_hist_error *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As fs_hist__fail, with ": " and librrd's error of this thread appended. */
int fs_hist__fail_rrd(fs_hist_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 0 when path names an existing file, FS_HIST_ENOENT naming it when it does not,
 * FS_HIST_EIO when it cannot be looked at. */
int fs_hist__exists(const char *path, fs_hist_error *err);

/* ---- an RRD file's header (info.c) ---- */
#define FS_HIST__MAX_RRA 32

typedef struct fs_hist__rra {
  char cf[8];      /* AVERAGE, MIN, MAX, LAST, ... */
  long pdp_per_row;
  long rows;
} fs_hist__rra;

typedef struct fs_hist__info {
  long step_s;
  time_t last_update;
  size_t n_ds;
  char ds_names[FS_HIST_MAX_DS][FS_HIST_DS_NAME_MAX + 1]; /* in the file's order */
  char ds_types[FS_HIST_MAX_DS][12];
  size_t n_rra;
  fs_hist__rra rra[FS_HIST__MAX_RRA];
} fs_hist__info;

/* Reads path's step, data sources and archives. FS_HIST_ENOENT, FS_HIST_EIO, or
 * FS_HIST_ECOMPAT when the file has more data sources or archives than fit. */
int fs_hist__read_info(const char *path, fs_hist__info *out, fs_hist_error *err);

/* Rows of the largest AVERAGE archive at the native step, 0 when there is none. */
long fs_hist__native_rows(const fs_hist__info *info);

#endif /* HIST_INTERNAL_H */
