/* error.c -- FS_HIST_E* codes, their names, and filling the caller's fs_hist_error.
 * librrd keeps its error text per thread (rrd_get_error); fs_hist__fail_rrd copies it
 * into the caller's struct at once, so the message survives the next librrd call. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <rrd.h>

#include "hist_internal.h"

const char *fs_hist_strerror(int code) {
  switch (code) {
  case FS_HIST_OK: return "success";
  case FS_HIST_EINVAL: return "invalid argument";
  case FS_HIST_ENOMEM: return "out of memory";
  case FS_HIST_EIO: return "input/output error";
  case FS_HIST_ENOENT: return "no such file";
  case FS_HIST_ECOMPAT: return "incompatible file";
  case FS_HIST_ENOSPC: return "buffer too small";
  default: return "unknown error";
  }
}

static void vfail(fs_hist_error *err, int code, const char *fmt, va_list ap) {
  if (err != NULL) {
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  }
}

static void append(fs_hist_error *err, const char *text) {
  if (err == NULL)
    return;
  size_t len = strlen(err->msg);
  snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", text);
}

int fs_hist__fail(fs_hist_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int fs_hist__fail_errno(fs_hist_error *err, int code, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, code, fmt, ap);
  va_end(ap);
  append(err, strerror(errnum));
  return code;
}

int fs_hist__fail_rrd(fs_hist_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, code, fmt, ap);
  va_end(ap);
  const char *rrd = rrd_get_error();
  append(err, rrd != NULL && rrd[0] != '\0' ? rrd : "librrd failed");
  return code;
}

int fs_hist__exists(const char *path, fs_hist_error *err) {
  struct stat st;
  if (stat(path, &st) == 0)
    return 0;
  if (errno == ENOENT || errno == ENOTDIR)
    return fs_hist__fail(err, FS_HIST_ENOENT, "%s: no such file", path);
  return fs_hist__fail_errno(err, FS_HIST_EIO, errno, "%s", path);
}
