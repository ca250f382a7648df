/* resource.c -- resource names and the small shared helpers for names and arrays.
 * Names are what the ledger file and the MQTT topics carry, so they are restricted to
 * printable bytes without white space (a libvirt domain name in practice). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static const char *const names[ACT_RES_COUNT] = {
    [ACT_CPU] = "cpu",           [ACT_CPU_QUOTA] = "cpu_quota", [ACT_MEMORY] = "memory",
    [ACT_DISK_IOPS] = "disk_iops", [ACT_NET_KBPS] = "net_kbps",
};

const char *act_resource_name(act_resource r) {
  return (unsigned)r < ACT_RES_COUNT ? names[r] : "?";
}

int act_resource_parse(const char *name, act_resource *out, act_error *err) {
  if (name == NULL)
    return act__fail(err, ACT_EINVAL, "resource (null)");
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    if (strcmp(name, names[r]) == 0) {
      *out = (act_resource)r;
      return 0;
    }
  }
  if (strcmp(name, "mem") == 0) { /* PROTOCOL.md's name for it */
    *out = ACT_MEMORY;
    return 0;
  }
  return act__fail(err, ACT_EINVAL,
                   "resource \"%.64s\" (must be cpu, cpu_quota, memory, disk_iops or "
                   "net_kbps)", name);
}

int act__name_ok(const char *name) {
  if (name == NULL || name[0] == '\0')
    return 0;
  size_t n = 0;
  for (const unsigned char *s = (const unsigned char *)name; *s != '\0'; s++, n++) {
    if (n + 1 >= ACT_NAME_MAX || !isgraph(*s))
      return 0;
  }
  return 1;
}

int act__grow(void **buf, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t n = *cap < 8 ? 8 : *cap;
  while (n < need)
    n *= 2;
  void *p = realloc(*buf, n * size);
  if (p == NULL)
    return -1;
  *buf = p;
  *cap = n;
  return 0;
}
