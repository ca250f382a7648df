/* alloc_csv.c -- writes the allocation CSV of PROTOCOL.md part B (see alloc_csv.h).
 *
 * Values are written from their grid index, not from the double: a cpu_quota of
 * 0.05 * 23 is printed from the integer 23 as "1.15", so the text is the grid value
 * whatever rounding the computation carried. */
#include "tools/alloc_csv.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const char *const names[AC_N_RESOURCES] = {"cpu", "cpu_quota", "mem"};

const char *ac_resource_name(ac_resource r) {
  return (r >= 0 && r < AC_N_RESOURCES) ? names[r] : "?";
}

int ac_resource_parse(const char *name, ac_resource *out) {
  for (int r = 0; r < AC_N_RESOURCES; r++)
    if (name != NULL && strcmp(name, names[r]) == 0) {
      *out = (ac_resource)r;
      return 0;
    }
  return -1;
}

int ac_writer_start(ac_writer *w, FILE *fp) {
  w->fp = fp;
  w->rows = 0;
  return fputs("vm,resource,ts,alloc\n", fp) < 0 ? -1 : 0;
}

static int refuse(char *err, size_t n, const char *vm, ac_resource r, int64_t ts,
                  double v, const char *why) {
  snprintf(err, n, "allocation %.17g for %s/%s at ts=%" PRId64 ": %s", v,
           vm ? vm : "(null)", ac_resource_name(r), ts, why);
  return -1;
}

/* The integer k with |x - k * unit| <= 1e-6 * unit, or -1 when there is none. */
static long long grid_index(double x, double unit) {
  double q = x / unit, k = nearbyint(q);
  return fabs(q - k) <= 1e-6 && k < 9e15 ? (long long)k : -1;
}

int ac_writer_put(ac_writer *w, const char *vm, ac_resource r, int64_t ts, double alloc,
                  char *err, size_t err_len) {
  if (vm == NULL || vm[0] == '\0' || strpbrk(vm, ",\"\r\n") != NULL)
    return refuse(err, err_len, vm, r, ts, alloc,
                  "VM name must be non-empty, without commas, quotes or line breaks");
  if (r < 0 || r >= AC_N_RESOURCES)
    return refuse(err, err_len, vm, r, ts, alloc, "no such resource");
  if (!isfinite(alloc) || alloc < 0)
    return refuse(err, err_len, vm, r, ts, alloc, "must be finite and >= 0");
  int n;
  if (r == AC_CPU_QUOTA) {
    long long k = grid_index(alloc, AC_QUOTA_STEP);
    if (k < 0)
      return refuse(err, err_len, vm, r, ts, alloc, "not a multiple of 0.05 cores");
    /* k * 0.05 = k / 20: the integer part and the hundredths, exactly */
    long long whole = k / 20, cents = (k % 20) * 5;
    if (cents == 0)
      n = fprintf(w->fp, "%s,%s,%" PRId64 ",%lld\n", vm, names[r], ts, whole);
    else if (cents % 10 == 0)
      n = fprintf(w->fp, "%s,%s,%" PRId64 ",%lld.%lld\n", vm, names[r], ts, whole,
                  cents / 10);
    else
      n = fprintf(w->fp, "%s,%s,%" PRId64 ",%lld.%02lld\n", vm, names[r], ts, whole,
                  cents);
  } else {
    long long k = grid_index(alloc, 1.0);
    if (k < 0)
      return refuse(err, err_len, vm, r, ts, alloc,
                    r == AC_CPU ? "not a whole number of vCPUs" : "not a whole number of KB");
    n = fprintf(w->fp, "%s,%s,%" PRId64 ",%lld\n", vm, names[r], ts, k);
  }
  if (n < 0) {
    snprintf(err, err_len, "writing the allocation CSV failed");
    return -1;
  }
  w->rows++;
  return 0;
}
