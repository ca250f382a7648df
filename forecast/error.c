/* error.c -- the error struct every libforecast call fills on failure.
 * The message names the offending value so a plugin can log it once, as is. */
#include <stdio.h>

#include "forecast/fc_internal.h"

int fc__fail(fc_error *err, int code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *fc_strerror(int code) {
  switch (code) {
  case FC_OK: return "success";
  case FC_EINVAL: return "invalid argument";
  case FC_ENOMEM: return "out of memory";
  case FC_ENODATA: return "not enough data";
  case FC_ESTATE: return "invalid state";
  default: return "unknown error";
  }
}
