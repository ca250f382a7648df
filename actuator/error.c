/* error.c -- ACT_E* codes, their names, and filling the caller's act_error.
 * The library never prints: a failing function describes what and where in the
 * caller's act_error (if given one) and returns the code; the plugin logs it once. */
#include <stdio.h>
#include <string.h>

#include "act_internal.h"

const char *act_strerror(int code) {
  switch (code) {
  case ACT_OK: return "success";
  case ACT_EINVAL: return "invalid argument";
  case ACT_ENOMEM: return "out of memory";
  case ACT_EIO: return "input/output error";
  case ACT_ECORRUPT: return "corrupt file";
  case ACT_ENOENT: return "not found";
  case ACT_EEXIST: return "already exists";
  case ACT_ENOSPC: return "buffer too small";
  case ACT_EHV: return "hypervisor error";
  case ACT_EUNSUPPORTED: return "unsupported by this hypervisor";
  case ACT_EVERIFY: return "change does not read back";
  case ACT_EPENDING: return "unfinished transaction pending";
  case ACT_ESTOPPED: return "domain not running";
  default: return "unknown error";
  }
}

static int vfail(act_error *err, int code, const char *fmt, va_list ap) {
  if (err != NULL) {
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  }
  return code;
}

int act__fail(act_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int act__fail_errno(act_error *err, int code, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, code, fmt, ap);
  va_end(ap);
  if (err != NULL) {
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
  }
  return code;
}
