/* virt_domain.c -- per-domain libvirt calls of foresight_virt and the interpretation
 * of their answers (see virt_domain.h for which calls may wait on a busy VM).
 *
 * Calls ask with VIR_DOMAIN_AFFECT_CURRENT, which is the live state of a running domain:
 * some drivers (the test driver) reject an explicit AFFECT_LIVE on queries.
 *
 * Unit conventions of libvirt used here: scheduler periods and quotas in microseconds
 * per period (a quota of -1, 0 or VIR_CGROUP_CPU_QUOTA_MAX means unlimited); block I/O
 * tune in bytes/s; interface bandwidth in KiB/s; virDomainInfo memory in KiB, cpuTime
 * in nanoseconds.
 *
 * Not here: caching and when to ask (foresight_virt.c), rates (virt_sample.c).
 */
#include "plugins/virt_domain.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "plugins/virt_sample.h"

/* libvirt's largest cgroup CPU quota (2^44 - 1 us), which it reports for "unlimited". */
#define QUOTA_UNLIMITED_US 17592186044415ULL

static int fail(vd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(vd_error *err, int code, const char *fmt, ...) {
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  return code;
}

/* libvirt's message for the last failed call of this thread. */
static const char *last_libvirt_error(void) {
  const char *m = virGetLastErrorMessage();
  return m != NULL ? m : "unknown libvirt error";
}

/* ------------------------------------------------------------------------------------ */
/* Metadata: <foresight:vm set="web"/>                                                   */

static const char *skip_space(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static int is_name_char(char c) {
  return c != '\0' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '/' &&
         c != '>' && c != '=' && c != '<' && c != '"' && c != '\'';
}

/* Length of an XML name starting at p. */
static size_t name_len(const char *p) {
  size_t n = 0;
  while (is_name_char(p[n]))
    n++;
  return n;
}

/* Whether the name p[0..n) is `local`, with or without a namespace prefix. */
static int local_name_is(const char *p, size_t n, const char *local) {
  const char *colon = memchr(p, ':', n);
  if (colon != NULL) {
    n -= (size_t)(colon + 1 - p);
    p = colon + 1;
  }
  return n == strlen(local) && memcmp(p, local, n) == 0;
}

/* Decodes one entity at p ('&' ... ';') into *c; returns its length or 0 if unknown.
 * Only what libvirt's serializer writes in an attribute value: the five predefined
 * entities and ASCII character references. */
static size_t decode_entity(const char *p, char *c) {
  static const struct { const char *name; char c; } named[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
    if (strncmp(p, named[i].name, strlen(named[i].name)) == 0) {
      *c = named[i].c;
      return strlen(named[i].name);
    }
  if (p[1] != '#')
    return 0;
  int hex = p[2] == 'x';
  char *end;
  unsigned long v = strtoul(p + (hex ? 3 : 2), &end, hex ? 16 : 10);
  if (*end != ';' || end == p + (hex ? 3 : 2) || v == 0 || v > 127)
    return 0;
  *c = (char)v;
  return (size_t)(end + 1 - p);
}

/* Copies the attribute value between quotes at *pp into out[size], decoding entities;
 * advances *pp past the closing quote. */
static int copy_value(const char **pp, char *out, size_t size, vd_error *err) {
  const char *p = *pp;
  char quote = *p++;
  size_t n = 0;
  while (*p != quote) {
    char c = *p;
    size_t len = 1;
    if (c == '\0' || c == '<')
      return fail(err, VD_EINVAL, "metadata: unterminated attribute value");
    if (c == '&' && (len = decode_entity(p, &c)) == 0)
      return fail(err, VD_EINVAL, "metadata: unknown entity in attribute value");
    if (out != NULL) {
      if (n + 1 >= size)
        return fail(err, VD_EINVAL, "metadata: set name longer than %zu bytes", size - 1);
      out[n] = c;
    }
    n++;
    p += len;
  }
  if (out != NULL)
    out[n] = '\0';
  *pp = p + 1;
  return (int)(n > 0 ? 1 : 0);
}

int vd_parse_set(const char *xml, char *set, size_t size, vd_error *err) {
  const char *p = skip_space(xml);
  if (*p != '<')
    return fail(err, VD_EINVAL, "metadata: not an XML element");
  p++;
  size_t n = name_len(p);
  if (!local_name_is(p, n, "vm"))
    return fail(err, VD_EINVAL, "metadata: element <%.*s> is not foresight's <vm>",
                (int)(n < 64 ? n : 64), p);
  p += n;
  int found = 0;
  for (;;) {
    p = skip_space(p);
    if (*p == '/' || *p == '>')
      return found;
    n = name_len(p);
    if (n == 0)
      return fail(err, VD_EINVAL, "metadata: malformed <vm> element");
    int is_set = n == 3 && memcmp(p, "set", 3) == 0;
    p = skip_space(p + n);
    if (*p != '=')
      return fail(err, VD_EINVAL, "metadata: attribute without value in <vm>");
    p = skip_space(p + 1);
    if (*p != '"' && *p != '\'')
      return fail(err, VD_EINVAL, "metadata: unquoted attribute value in <vm>");
    int status = copy_value(&p, is_set ? set : NULL, size, err);
    if (status < 0)
      return status;
    if (is_set) {
      if (status == 0)
        return fail(err, VD_EINVAL, "metadata: empty set name");
      found = 1;
    }
  }
}

int vd_fetch_set(virDomainPtr dom, char *set, size_t size, vd_error *err) {
  char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VD_METADATA_NS,
                                   VIR_DOMAIN_AFFECT_CURRENT);
  if (xml == NULL) {
    if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA)
      return 0;
    return fail(err, VD_ELIBVIRT, "metadata: %s", last_libvirt_error());
  }
  int status = vd_parse_set(xml, set, size, err);
  free(xml);
  return status;
}

/* ------------------------------------------------------------------------------------ */
/* Limits                                                                                */

/* quota/period in cores, or NaN when the quota does not limit. */
static double quota_ratio(const virTypedParameter *p, int n, const char *quota_key,
                          const char *period_key) {
  uint64_t quota, period;
  if (!vs_param_u64(p, n, quota_key, &quota) || !vs_param_u64(p, n, period_key, &period) ||
      quota == 0 || quota >= QUOTA_UNLIMITED_US || period == 0)
    return NAN;
  return (double)quota / (double)period;
}

double vd_quota_cores(const virTypedParameter *params, int nparams, double vcpus) {
  double global = quota_ratio(params, nparams, "global_quota", "global_period");
  double per_vcpu = quota_ratio(params, nparams, "vcpu_quota", "vcpu_period");
  double vcpu_total = vcpus > 0 ? per_vcpu * vcpus : NAN;
  if (isnan(global))
    return vcpu_total;
  return isnan(vcpu_total) || global < vcpu_total ? global : vcpu_total;
}

double vd_iotune_bps(const virTypedParameter *params, int nparams) {
  uint64_t total, rd, wr;
  if (vs_param_u64(params, nparams, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC, &total) &&
      total > 0)
    return (double)total;
  if (vs_param_u64(params, nparams, VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC, &rd) &&
      vs_param_u64(params, nparams, VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC, &wr) &&
      rd > 0 && wr > 0)
    return (double)rd + (double)wr;
  return 0.0;
}

double vd_bandwidth_kbps(const virTypedParameter *params, int nparams) {
  uint64_t in, out;
  if (vs_param_u64(params, nparams, VIR_DOMAIN_BANDWIDTH_IN_AVERAGE, &in) &&
      vs_param_u64(params, nparams, VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE, &out) && in > 0 &&
      out > 0)
    return (double)in + (double)out;
  return 0.0;
}

static void note(vd_limits *out, const char *what, const char *name) {
  if (out->note[0] == '\0')
    snprintf(out->note, sizeof(out->note), "%s%s%s: %s", what, name ? " " : "",
             name ? name : "", last_libvirt_error());
}

static void params_free(virTypedParameterPtr p, int n) {
  if (p != NULL) {
    virTypedParamsClear(p, n);
    free(p);
  }
}

/* Sum over devices of a per-device limit; NaN if any device is unlimited or unknown.
 * get() returns 0 with the device's parameters, or -1 (note set). */
typedef int (*device_params_fn)(virDomainPtr dom, const char *dev,
                                virTypedParameterPtr p, int *n);

static int iotune_get(virDomainPtr dom, const char *dev, virTypedParameterPtr p, int *n) {
  return virDomainGetBlockIoTune(dom, dev, p, n, VIR_DOMAIN_AFFECT_CURRENT);
}
static int bandwidth_get(virDomainPtr dom, const char *dev, virTypedParameterPtr p,
                         int *n) {
  return virDomainGetInterfaceParameters(dom, dev, p, n, VIR_DOMAIN_AFFECT_CURRENT);
}

/* Returns 0 with *sum set (NaN when a device is unlimited or its call failed), or
 * VD_ENOMEM. */
static int device_limit_sum(virDomainPtr dom, const char *const *devs, size_t n_devs,
                            device_params_fn get,
                            double (*limit)(const virTypedParameter *, int),
                            const char *what, vd_limits *out, double *sum) {
  *sum = n_devs > 0 ? 0.0 : NAN;
  for (size_t i = 0; i < n_devs && !isnan(*sum); i++) {
    int n = 0;
    if (get(dom, devs[i], NULL, &n) < 0 || n <= 0) {
      note(out, what, devs[i]);
      *sum = NAN;
      break;
    }
    virTypedParameterPtr p = calloc((size_t)n, sizeof(*p));
    if (p == NULL)
      return VD_ENOMEM;
    if (get(dom, devs[i], p, &n) < 0) {
      note(out, what, devs[i]);
      *sum = NAN;
    } else {
      double l = limit(p, n);
      *sum = l > 0 ? *sum + l : NAN;
    }
    params_free(p, n);
  }
  return VD_OK;
}

/* Returns 0 with *cores set (NaN if none), or VD_ENOMEM. */
static int sched_quota(virDomainPtr dom, double vcpus, vd_limits *out, double *cores) {
  *cores = NAN;
  int n = 0;
  char *type = virDomainGetSchedulerType(dom, &n);
  if (type == NULL) {
    note(out, "scheduler type", NULL);
    return VD_OK;
  }
  free(type);
  if (n <= 0)
    return VD_OK;
  virTypedParameterPtr p = calloc((size_t)n, sizeof(*p));
  if (p == NULL)
    return VD_ENOMEM;
  /* the flag-less call: the Flags variant adds VIR_TYPED_PARAM_STRING_OKAY, which some
   * drivers reject, and the quota needs no string parameter */
  if (virDomainGetSchedulerParameters(dom, p, &n) < 0)
    note(out, "scheduler parameters", NULL);
  else
    *cores = vd_quota_cores(p, n, vcpus);
  params_free(p, n);
  return VD_OK;
}

int vd_fetch_limits(virDomainPtr dom, const char *const *disks, size_t n_disks,
                    const char *const *ifaces, size_t n_ifaces, double vcpus,
                    vd_limits *out, vd_error *err) {
  *out = (vd_limits){.cpu_quota = NAN, .disk_bps = NAN, .net_kbps = NAN};
  if (sched_quota(dom, vcpus, out, &out->cpu_quota) != 0 ||
      device_limit_sum(dom, disks, n_disks, iotune_get, vd_iotune_bps, "block I/O tune",
                       out, &out->disk_bps) != 0 ||
      device_limit_sum(dom, ifaces, n_ifaces, bandwidth_get, vd_bandwidth_kbps,
                       "interface bandwidth", out, &out->net_kbps) != 0)
    return fail(err, VD_ENOMEM, "limits: out of memory");
  return VD_OK;
}

int vd_set_balloon_period(virDomainPtr dom, int period_s, vd_error *err) {
  if (virDomainSetMemoryStatsPeriod(dom, period_s, VIR_DOMAIN_AFFECT_LIVE) < 0)
    return fail(err, VD_ELIBVIRT, "balloon stats period %d s: %s", period_s,
                last_libvirt_error());
  return VD_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Device names from the domain XML                                                      */

/* The value of attribute `attr` in the first <target .../> of xml[0..len), copied; NULL
 * if absent or out of memory. libvirt formats attributes as attr='value'. */
static char *target_dev(const char *xml, size_t len, const char *attr) {
  const char *end = xml + len;
  const char *t = xml;
  while ((t = strstr(t, "<target ")) != NULL && t < end) {
    const char *close = memchr(t, '>', (size_t)(end - t));
    if (close == NULL)
      return NULL;
    size_t alen = strlen(attr);
    for (const char *a = t + 8; a + alen + 2 < close; a++) {
      if ((a[-1] == ' ') && strncmp(a, attr, alen) == 0 && a[alen] == '=' &&
          (a[alen + 1] == '\'' || a[alen + 1] == '"')) {
        const char *v = a + alen + 2;
        const char *q = memchr(v, a[alen + 1], (size_t)(close - v));
        return q != NULL && q > v ? strndup(v, (size_t)(q - v)) : NULL;
      }
    }
    t = close;
  }
  return NULL;
}

int vd_device_names(const char *xml, const char *element, char ***names, size_t *n) {
  char open[32], close[32];
  snprintf(open, sizeof(open), "<%s", element);
  snprintf(close, sizeof(close), "</%s>", element);
  *names = NULL;
  *n = 0;
  size_t cap = 0;
  for (const char *p = xml; (p = strstr(p, open)) != NULL;) {
    p += strlen(open);
    if (*p != ' ' && *p != '>')
      continue;
    const char *e = strstr(p, close);
    if (e == NULL)
      break;
    char *dev = target_dev(p, (size_t)(e - p), "dev");
    p = e;
    if (dev == NULL)
      continue; /* no target (yet), or out of memory: that device is left out */
    if (*n == cap) {
      cap = cap ? 2 * cap : 4;
      char **grown = realloc(*names, cap * sizeof(*grown));
      if (grown == NULL) {
        free(dev);
        vd_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return VD_ENOMEM;
      }
      *names = grown;
    }
    (*names)[(*n)++] = dev;
  }
  return VD_OK;
}

void vd_names_free(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* ------------------------------------------------------------------------------------ */
/* Filling a record                                                                      */

/* The record being built: a deep copy (libvirt's virTypedParamsAdd*), so that it can
 * hold device names of its own. */
struct fill {
  virTypedParameterPtr p;
  int n, max;
  int oom;
};

static int has(const virTypedParameter *params, int nparams, const char *key) {
  uint64_t unused;
  return vs_param_u64(params, nparams, key, &unused);
}

static void add_u64(struct fill *f, const char *key, unsigned long long v) {
  if (!f->oom && !has(f->p, f->n, key) &&
      virTypedParamsAddULLong(&f->p, &f->n, &f->max, key, v) < 0)
    f->oom = 1;
}

static void add_string(struct fill *f, const char *key, const char *v) {
  if (!f->oom && virTypedParamsAddString(&f->p, &f->n, &f->max, key, v) < 0)
    f->oom = 1;
}

static void add_copy(struct fill *f, const virTypedParameter *src) {
  int r = 0;
  switch (src->type) {
  case VIR_TYPED_PARAM_INT:
    r = virTypedParamsAddInt(&f->p, &f->n, &f->max, src->field, src->value.i);
    break;
  case VIR_TYPED_PARAM_UINT:
    r = virTypedParamsAddUInt(&f->p, &f->n, &f->max, src->field, src->value.ui);
    break;
  case VIR_TYPED_PARAM_LLONG:
    r = virTypedParamsAddLLong(&f->p, &f->n, &f->max, src->field, src->value.l);
    break;
  case VIR_TYPED_PARAM_ULLONG:
    r = virTypedParamsAddULLong(&f->p, &f->n, &f->max, src->field, src->value.ul);
    break;
  case VIR_TYPED_PARAM_DOUBLE:
    r = virTypedParamsAddDouble(&f->p, &f->n, &f->max, src->field, src->value.d);
    break;
  case VIR_TYPED_PARAM_BOOLEAN:
    r = virTypedParamsAddBoolean(&f->p, &f->n, &f->max, src->field, src->value.b);
    break;
  case VIR_TYPED_PARAM_STRING:
    r = virTypedParamsAddString(&f->p, &f->n, &f->max, src->field, src->value.s);
    break;
  default:
    break; /* a type newer than this code: not needed */
  }
  if (r < 0)
    f->oom = 1;
}

static void fill_from_info(virDomainPtr dom, unsigned want, struct fill *f) {
  virDomainInfo info;
  if (virDomainGetInfo(dom, &info) < 0)
    return;
  if (want & VD_GROUP_CPU)
    add_u64(f, "cpu.time", info.cpuTime);
  if (want & VD_GROUP_VCPU)
    add_u64(f, "vcpu.current", info.nrVirtCpu);
  if (want & VD_GROUP_BALLOON) {
    add_u64(f, "balloon.current", info.memory);
    add_u64(f, "balloon.maximum", info.maxMem);
  }
}

static void fill_from_memory_stats(virDomainPtr dom, struct fill *f) {
  virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
  int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
  for (int i = 0; i < n; i++) {
    if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_UNUSED)
      add_u64(f, "balloon.unused", st[i].val);
    else if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_AVAILABLE)
      add_u64(f, "balloon.available", st[i].val);
    else if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_USABLE)
      add_u64(f, "balloon.usable", st[i].val);
  }
}

/* Adds "<group>.<i>.<leaf>" if v is a counter the driver knows (>= 0). */
static void add_dev_u64(struct fill *f, const char *group, size_t i, const char *leaf,
                        long long v) {
  char key[VIR_TYPED_PARAM_FIELD_LENGTH];
  if (v < 0)
    return;
  snprintf(key, sizeof(key), "%s.%zu.%s", group, i, leaf);
  add_u64(f, key, (unsigned long long)v);
}

static void fill_disk(virDomainPtr dom, struct fill *f, size_t i, const char *dev) {
  virDomainBlockStatsStruct st;
  char key[VIR_TYPED_PARAM_FIELD_LENGTH];
  snprintf(key, sizeof(key), "block.%zu.name", i);
  add_string(f, key, dev);
  if (virDomainBlockStats(dom, dev, &st, sizeof(st)) < 0)
    return;
  add_dev_u64(f, "block", i, "rd.reqs", st.rd_req);
  add_dev_u64(f, "block", i, "rd.bytes", st.rd_bytes);
  add_dev_u64(f, "block", i, "wr.reqs", st.wr_req);
  add_dev_u64(f, "block", i, "wr.bytes", st.wr_bytes);
}

static void fill_iface(virDomainPtr dom, struct fill *f, size_t i, const char *dev) {
  virDomainInterfaceStatsStruct st;
  char key[VIR_TYPED_PARAM_FIELD_LENGTH];
  snprintf(key, sizeof(key), "net.%zu.name", i);
  add_string(f, key, dev);
  if (virDomainInterfaceStats(dom, dev, &st, sizeof(st)) < 0)
    return;
  add_dev_u64(f, "net", i, "rx.bytes", st.rx_bytes);
  add_dev_u64(f, "net", i, "rx.pkts", st.rx_packets);
  add_dev_u64(f, "net", i, "tx.bytes", st.tx_bytes);
  add_dev_u64(f, "net", i, "tx.pkts", st.tx_packets);
}

/* The block and net groups from per-device calls, device names from the domain XML. */
static void fill_devices(virDomainPtr dom, int want_disks, int want_ifaces,
                         struct fill *f) {
  char *xml = virDomainGetXMLDesc(dom, 0);
  if (xml == NULL)
    return;
  char **names = NULL;
  size_t n = 0;
  if (want_disks && vd_device_names(xml, "disk", &names, &n) == VD_OK) {
    add_u64(f, "block.count", n);
    for (size_t i = 0; i < n; i++)
      fill_disk(dom, f, i, names[i]);
    vd_names_free(names, n);
  }
  if (want_ifaces && vd_device_names(xml, "interface", &names, &n) == VD_OK) {
    add_u64(f, "net.count", n);
    for (size_t i = 0; i < n; i++)
      fill_iface(dom, f, i, names[i]);
    vd_names_free(names, n);
  }
  free(xml);
}

unsigned vd_record_groups(const virTypedParameter *params, int nparams) {
  static const struct { const char *key; unsigned group; } marks[] = {
      {"cpu.time", VD_GROUP_CPU},         {"vcpu.current", VD_GROUP_VCPU},
      {"balloon.current", VD_GROUP_BALLOON}, {"block.count", VD_GROUP_BLOCK},
      {"net.count", VD_GROUP_NET}};
  unsigned groups = 0;
  for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
    if (has(params, nparams, marks[i].key))
      groups |= marks[i].group;
  return groups;
}

int vd_fill_record(virDomainPtr dom, const virTypedParameter *params, int nparams,
                   unsigned groups, virTypedParameter **out, int *nout, vd_error *err) {
  *out = NULL;
  *nout = 0;
  unsigned want = groups & ~vd_record_groups(params, nparams);
  int want_vmax = (groups & VD_GROUP_VCPU) && !has(params, nparams, "vcpu.maximum");
  if (want == 0 && !want_vmax)
    return 0;
  struct fill f = {.p = NULL};
  for (int i = 0; i < nparams && !f.oom; i++)
    add_copy(&f, &params[i]);
  if (want & (VD_GROUP_CPU | VD_GROUP_VCPU | VD_GROUP_BALLOON))
    fill_from_info(dom, want, &f);
  if (want_vmax) {
    int max = virDomainGetVcpusFlags(dom, VIR_DOMAIN_VCPU_MAXIMUM | VIR_DOMAIN_AFFECT_LIVE);
    if (max > 0)
      add_u64(&f, "vcpu.maximum", (unsigned long long)max);
  }
  if (want & VD_GROUP_BALLOON)
    fill_from_memory_stats(dom, &f);
  if (want & (VD_GROUP_BLOCK | VD_GROUP_NET))
    fill_devices(dom, want & VD_GROUP_BLOCK, want & VD_GROUP_NET, &f);
  if (f.oom) {
    virTypedParamsFree(f.p, f.n);
    return fail(err, VD_ENOMEM, "stats record: out of memory");
  }
  if (f.n == nparams) { /* every call failed: nothing added */
    virTypedParamsFree(f.p, f.n);
    return 0;
  }
  *out = f.p;
  *nout = f.n;
  return 1;
}
