/* hv_libvirt.c -- the hypervisor interface (hv.h) over libvirt.
 *
 * Each operation looks its domain up by name, makes the libvirt calls it needs and
 * lets go of it (on_domain): no handle outlives a call, so a domain that is undefined
 * between two calls is simply not found (ACT_ENOENT) by the next one.
 *
 *   knob                libvirt                                        test:/// (9.0)
 *   vcpus               virDomainGet/SetVcpusFlags(LIVE)               yes
 *   vcpus_max           GetVcpusFlags(LIVE|VCPU_MAXIMUM), read only    yes
 *   vcpus_config        Get/SetVcpusFlags(CONFIG)                      yes
 *   vcpus_max_config    Get/SetVcpusFlags(CONFIG|VCPU_MAXIMUM)         yes
 *   mem_kib             virDomainGetInfo.memory / SetMemoryFlags(LIVE) yes
 *   mem_max_kib         virDomainGetInfo.maxMem, read only             yes
 *   mem_config_kib      inactive XML <currentMemory> / SetMemoryFlags(CONFIG)      yes
 *   mem_max_config_kib  inactive XML <memory> / SetMemoryFlags(CONFIG|MEM_MAXIMUM) yes
 *   cpu_quota           virDomainGetSchedulerParameters vcpu_period, vcpu_quota;
 *                       SetSchedulerParametersFlags(LIVE) vcpu_quota   no: only
 *                       "weight" -> ACT_EUNSUPPORTED
 *   disk_*              virDomainGet/SetBlockIoTune(LIVE), total_{bytes,iops}_sec
 *                       and their _max                                 yes, but it
 *                       refuses any rate above its _max, even a _max of 0
 *   net_*               virDomainGet/SetInterfaceParameters(LIVE) by MAC,
 *                       inbound/outbound.average                       yes
 *   active              virDomainCreate; virDomainShutdown, then virDomainDestroy after
 *                       the timeout                                    yes (shutdown is
 *                                                                      immediate)
 *   defined             virDomainDefineXML of the edited template XML; virDomainUndefine
 *                                                                      yes
 * The test driver's quirks met on the way: it takes the old flag-less scheduler calls
 * only (the *Flags variants fail with "unsupported flags"), and SetMemoryFlags refuses
 * LIVE|CONFIG together; so live and config are always separate calls here.
 *
 * The cpu quota is libvirt's per-vCPU quota: cores = vcpu_quota / vcpu_period x live
 * vCPUs; a quota <= 0 (or libvirt's 2^44-1) means none (INFINITY). Setting it keeps
 * the period and computes the quota for the live vCPU count.
 *
 * A clone (scale-out) is the template's persistent XML with a new <name>, <uuid>, a
 * random locally administered MAC (52:54:00:xx:xx:xx) per interface, no interface
 * <target> (host-side names are the host's to choose), and template="<template>" added
 * to its <foresight:vm> metadata (created when missing). Its disks are the template's:
 * a real deployment points the template at a read-only or backing image (cloning
 * storage is left out).
 * Not here: deciding what to change (apply_steps.c). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "act_internal.h"
#include "hv_libvirt.h"

#define QUOTA_UNLIMITED 17592186044415LL /* libvirt's "no limit" for vcpu_quota */

typedef struct lv {
  virConnectPtr conn; /* one reference, ours */
} lv;

/* ---- errors ---- */

/* Fills err from libvirt's last error: what we did, to which domain, libvirt's words.
 * Returns the ACT_E* code: ACT_ENOENT for a missing domain, ACT_EUNSUPPORTED for what
 * the driver does not implement, else ACT_EHV. */
static int lv_fail(act_error *err, const char *vm, const char *what) {
  virErrorPtr e = virGetLastError();
  int code = ACT_EHV;
  if (e != NULL && e->code == VIR_ERR_NO_DOMAIN)
    code = ACT_ENOENT;
  else if (e != NULL &&
           (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_ARGUMENT_UNSUPPORTED))
    code = ACT_EUNSUPPORTED;
  const char *msg = e != NULL && e->message != NULL ? e->message : "unknown libvirt error";
  if (code == ACT_EUNSUPPORTED)
    return act__fail(err, code, "%s %s: unsupported by this hypervisor (libvirt: %s)",
                     what, vm, msg);
  return act__fail(err, code, "%s %s: %s", what, vm, msg);
}

/* The domain named vm in *dom (the caller frees it), or the error code. */
static int find(lv *h, const char *vm, virDomainPtr *dom, act_error *err) {
  *dom = virDomainLookupByName(h->conn, vm);
  return *dom == NULL ? lv_fail(err, vm, "lookup of domain") : 0;
}

/* ACT_ESTOPPED unless dom runs; the live knobs have no value otherwise. */
static int need_active(virDomainPtr dom, const char *vm, const char *what,
                       act_error *err) {
  int active = virDomainIsActive(dom);
  if (active < 0)
    return lv_fail(err, vm, what);
  if (active == 0)
    return act__fail(err, ACT_ESTOPPED, "%s %s: the domain does not run", what, vm);
  return 0;
}

/* What an operation does with the domain on_domain() found; arg is the operation's. */
typedef int (*domain_op)(virDomainPtr dom, const char *vm, void *arg, act_error *err);

/* Looks vm up, runs op on it and lets go of it, so no handle outlives the call. */
static int on_domain(void *impl, const char *vm, domain_op op, void *arg,
                     act_error *err) {
  virDomainPtr dom;
  int rc = find(impl, vm, &dom, err);
  if (rc != 0)
    return rc;
  rc = op(dom, vm, arg, err);
  virDomainFree(dom);
  return rc;
}

/* ---- XML ---- */

static xmlDocPtr parse_xml(const char *text) {
  return xmlReadMemory(text, (int)strlen(text), "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The domain's XML, parsed, in *doc (the caller frees it), or the error code. */
static int domain_xml(virDomainPtr dom, unsigned flags, const char *vm, xmlDocPtr *doc,
                      act_error *err) {
  char *text = virDomainGetXMLDesc(dom, flags);
  if (text == NULL)
    return lv_fail(err, vm, "XML description of");
  *doc = parse_xml(text);
  free(text);
  if (*doc == NULL)
    return act__fail(err, ACT_EHV, "XML description of %s: does not parse", vm);
  return 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name) {
  for (xmlNodePtr n = parent == NULL ? NULL : parent->children; n != NULL; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name))
      return n;
  return NULL;
}

static xmlNodePtr next_named(xmlNodePtr n, const char *name) {
  for (; n != NULL; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name))
      return n;
  return NULL;
}

/* Copies attribute `name` of n into out (size n_out); "" when absent. */
static void attr(xmlNodePtr n, const char *name, char *out, size_t n_out) {
  xmlChar *v = n == NULL ? NULL : xmlGetProp(n, BAD_CAST name);
  snprintf(out, n_out, "%s", v == NULL ? "" : (const char *)v);
  xmlFree(v);
}

/* A libvirt <memory unit='...'>N</memory> in KiB; NAN when absent or unreadable. */
static double memory_kib(xmlNodePtr n) {
  static const struct { const char *unit; double kib; } units[] = {
      {"", 1},         {"KiB", 1},          {"k", 1},           {"b", 1.0 / 1024},
      {"bytes", 1.0 / 1024}, {"KB", 1000.0 / 1024}, {"MiB", 1024},  {"M", 1024},
      {"MB", 1e6 / 1024},    {"GiB", 1048576},      {"G", 1048576}, {"GB", 1e9 / 1024},
      {"TiB", 1073741824.0}, {"T", 1073741824.0},   {"TB", 1e12 / 1024}};
  if (n == NULL)
    return NAN;
  char unit[16];
  attr(n, "unit", unit, sizeof(unit));
  xmlChar *text = xmlNodeGetContent(n);
  char *end = NULL;
  double v = text == NULL ? NAN : strtod((const char *)text, &end);
  int ok = text != NULL && end != (char *)text && *end == '\0';
  xmlFree(text);
  for (size_t i = 0; ok && i < sizeof(units) / sizeof(units[0]); i++)
    if (strcmp(unit, units[i].unit) == 0)
      return round(v * units[i].kib);
  return NAN;
}

/* Disks (with a target, device disk or lun) and interfaces (with a MAC) of a domain's
 * XML. ACT_ENOSPC past ACT_HV_DEV_MAX of either. */
static int read_devices(xmlDocPtr doc, const char *vm, act_hv_alloc *out,
                        act_error *err) {
  xmlNodePtr devices = child(xmlDocGetRootElement(doc), "devices");
  for (xmlNodePtr d = next_named(devices ? devices->children : NULL, "disk"); d != NULL;
       d = next_named(d->next, "disk")) {
    char device[16], dev[ACT_HV_DEVNAME_MAX];
    attr(d, "device", device, sizeof(device));
    attr(child(d, "target"), "dev", dev, sizeof(dev));
    if (dev[0] == '\0' || (device[0] != '\0' && strcmp(device, "disk") != 0 &&
                           strcmp(device, "lun") != 0))
      continue; /* cdrom, floppy: nothing to tune */
    if (out->n_disks == ACT_HV_DEV_MAX)
      return act__fail(err, ACT_ENOSPC, "domain %s: more than %d disks", vm,
                       ACT_HV_DEV_MAX);
    act_hv_disk *k = &out->disks[out->n_disks++];
    memcpy(k->dev, dev, sizeof(dev));
    k->bps = k->bps_max = k->iops = k->iops_max = NAN;
  }
  for (xmlNodePtr i = next_named(devices ? devices->children : NULL, "interface");
       i != NULL; i = next_named(i->next, "interface")) {
    char mac[ACT_HV_DEVNAME_MAX];
    attr(child(i, "mac"), "address", mac, sizeof(mac));
    if (mac[0] == '\0')
      continue;
    if (out->n_ifaces == ACT_HV_DEV_MAX)
      return act__fail(err, ACT_ENOSPC, "domain %s: more than %d interfaces", vm,
                       ACT_HV_DEV_MAX);
    act_hv_iface *f = &out->ifaces[out->n_ifaces++];
    memcpy(f->mac, mac, sizeof(mac));
    f->in_kibps = f->out_kibps = NAN;
  }
  return 0;
}

/* ---- typed parameters ---- */

static const char *knob_param(act_hv_knob k) {
  switch (k) {
  case ACT_HV_DISK_BPS: return VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC;
  case ACT_HV_DISK_BPS_MAX: return VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC_MAX;
  case ACT_HV_DISK_IOPS: return VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC;
  case ACT_HV_DISK_IOPS_MAX: return VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC_MAX;
  case ACT_HV_NET_IN_KIBPS: return VIR_DOMAIN_BANDWIDTH_IN_AVERAGE;
  case ACT_HV_NET_OUT_KIBPS: return VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE;
  default: return ""; /* not a device knob: no such parameter */
  }
}

/* virDomainGetBlockIoTune and virDomainGetInterfaceParameters: a device's typed
 * parameters, by the device's name. */
typedef int (*dev_params_fn)(virDomainPtr dom, const char *dev,
                             virTypedParameterPtr params, int *nparams, unsigned flags);

/* Device dev's live parameters in *p, *n of them (free with virTypedParamsFree), asked
 * for as libvirt wants: the count first, then the values. `what` names them in errors;
 * on error *p is NULL. */
static int dev_params(virDomainPtr dom, const char *vm, dev_params_fn get,
                      const char *dev, const char *what, virTypedParameterPtr *p, int *n,
                      act_error *err) {
  *p = NULL;
  *n = 0;
  if (get(dom, dev, NULL, n, 0) < 0)
    return lv_fail(err, vm, what);
  *p = calloc((size_t)(*n > 0 ? *n : 1), sizeof(**p));
  if (*p == NULL)
    return act__fail(err, ACT_ENOMEM, "%s %s: out of memory", what, vm);
  if (get(dom, dev, *p, n, 0) < 0) {
    free(*p);
    *p = NULL;
    return lv_fail(err, vm, what);
  }
  return 0;
}

/* A disk's I/O tune, live. */
static int read_disk(virDomainPtr dom, const char *vm, act_hv_disk *k, act_error *err) {
  virTypedParameterPtr p;
  int n;
  int rc = dev_params(dom, vm, virDomainGetBlockIoTune, k->dev, "block I/O tune of", &p,
                      &n, err);
  if (rc != 0)
    return rc;
  double *dst[] = {&k->bps, &k->bps_max, &k->iops, &k->iops_max};
  act_hv_knob knobs[] = {ACT_HV_DISK_BPS, ACT_HV_DISK_BPS_MAX, ACT_HV_DISK_IOPS,
                         ACT_HV_DISK_IOPS_MAX};
  for (int i = 0; i < 4; i++) {
    unsigned long long v = 0;
    int found = virTypedParamsGetULLong(p, n, knob_param(knobs[i]), &v) == 1;
    *dst[i] = found ? (double)v : 0;
  }
  virTypedParamsFree(p, n);
  return 0;
}

/* An interface's bandwidth averages, live. */
static int read_iface(virDomainPtr dom, const char *vm, act_hv_iface *f, act_error *err) {
  virTypedParameterPtr p;
  int n;
  int rc = dev_params(dom, vm, virDomainGetInterfaceParameters, f->mac,
                      "interface parameters of", &p, &n, err);
  if (rc != 0)
    return rc;
  double *dst[] = {&f->in_kibps, &f->out_kibps};
  act_hv_knob knobs[] = {ACT_HV_NET_IN_KIBPS, ACT_HV_NET_OUT_KIBPS};
  for (int i = 0; i < 2; i++) {
    unsigned v = 0;
    *dst[i] = virTypedParamsGetUInt(p, n, knob_param(knobs[i]), &v) == 1 ? v : 0;
  }
  virTypedParamsFree(p, n);
  return 0;
}

/* vcpu_period and vcpu_quota; *supported 0 when the driver has no such parameters. */
static int read_sched(virDomainPtr dom, const char *vm, unsigned long long *period,
                      long long *quota, int *supported, act_error *err) {
  int n = 0;
  *supported = 0;
  char *type = virDomainGetSchedulerType(dom, &n);
  if (type == NULL)
    return lv_fail(err, vm, "scheduler type of");
  free(type);
  if (n <= 0)
    return 0;
  virTypedParameterPtr p = calloc((size_t)n, sizeof(*p));
  if (p == NULL)
    return act__fail(err, ACT_ENOMEM, "scheduler parameters of %s: out of memory", vm);
  int rc = 0;
  /* The flag-less call: the test driver refuses every flag, also 0 through the *Flags
   * variant (which adds TYPED_PARAM_STRING_OKAY). */
  if (virDomainGetSchedulerParameters(dom, p, &n) < 0)
    rc = lv_fail(err, vm, "scheduler parameters of");
  else
    *supported = virTypedParamsGetULLong(p, n, VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, period) ==
                     1 &&
                 virTypedParamsGetLLong(p, n, VIR_DOMAIN_SCHEDULER_VCPU_QUOTA, quota) == 1;
  free(p);
  return rc;
}

static int read_quota(virDomainPtr dom, const char *vm, double vcpus, double *cores,
                      act_error *err) {
  unsigned long long period = 0;
  long long quota = 0;
  int supported;
  int rc = read_sched(dom, vm, &period, &quota, &supported, err);
  if (rc != 0)
    return rc;
  if (!supported || period == 0)
    *cores = NAN;
  else if (quota <= 0 || quota >= QUOTA_UNLIMITED)
    *cores = INFINITY;
  else
    *cores = (double)quota / (double)period * vcpus;
  return 0;
}

/* ---- identity ---- */

/* set= and template= of the domain's <foresight:vm>; both "" without metadata. */
static int read_metadata(virDomainPtr dom, const char *vm, act_hv_domain *out,
                         act_error *err) {
  char *text = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, ACT_HV_XMLNS, 0);
  if (text == NULL) {
    virErrorPtr e = virGetLastError();
    if (e != NULL && e->code == VIR_ERR_NO_DOMAIN_METADATA)
      return 0;
    return lv_fail(err, vm, "foresight metadata of");
  }
  xmlDocPtr doc = parse_xml(text);
  free(text);
  if (doc == NULL)
    return act__fail(err, ACT_EHV, "foresight metadata of %s: does not parse", vm);
  xmlNodePtr root = xmlDocGetRootElement(doc);
  attr(root, "set", out->set, sizeof(out->set));
  attr(root, "template", out->template_vm, sizeof(out->template_vm));
  xmlFreeDoc(doc);
  return 0;
}

static int describe(virDomainPtr dom, act_hv_domain *out, act_error *err) {
  const char *name = virDomainGetName(dom);
  snprintf(out->name, sizeof(out->name), "%s", name == NULL ? "?" : name);
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(dom, uuid) < 0)
    return lv_fail(err, out->name, "UUID of");
  snprintf(out->uuid, sizeof(out->uuid), "%s", uuid);
  if ((out->active = virDomainIsActive(dom)) < 0 ||
      (out->persistent = virDomainIsPersistent(dom)) < 0)
    return lv_fail(err, out->name, "state of");
  return read_metadata(dom, out->name, out, err);
}

static int describe_op(virDomainPtr dom, const char *vm, void *out, act_error *err) {
  (void)vm; /* describe() names the domain as libvirt does */
  return describe(dom, out, err);
}

static int lv_lookup(void *impl, const char *vm, act_hv_domain *out, act_error *err) {
  return on_domain(impl, vm, describe_op, out, err);
}

static int lv_list(void *impl, const char *set, act_hv_domain **out, size_t *n,
                   act_error *err) {
  lv *h = impl;
  virDomainPtr *doms = NULL;
  int count = virConnectListAllDomains(h->conn, &doms, 0);
  if (count < 0)
    return lv_fail(err, set != NULL ? set : "(all)", "list of the domains of host set");
  act_hv_domain *list = calloc((size_t)(count > 0 ? count : 1), sizeof(*list));
  int rc = list == NULL ? act__fail(err, ACT_ENOMEM, "list: out of memory") : 0;
  size_t kept = 0;
  for (int i = 0; i < count; i++) {
    /* A domain undefined while we list it is not an error: it is just not listed. */
    act_error e = {0};
    int drc = rc == 0 ? describe(doms[i], &list[kept], &e) : 0;
    if (rc == 0 && drc == 0 && (set == NULL || strcmp(list[kept].set, set) == 0))
      kept++;
    else if (rc == 0 && drc != 0 && drc != ACT_ENOENT)
      rc = act__fail(err, drc, "%s", e.msg);
    virDomainFree(doms[i]);
  }
  free(doms);
  if (rc != 0) {
    free(list);
    return rc;
  }
  *out = list;
  *n = kept;
  return 0;
}

/* ---- allocation and knobs ---- */

static int live_alloc(virDomainPtr dom, const char *vm, act_hv_alloc *out,
                      act_error *err) {
  int cur = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
  int max = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM);
  virDomainInfo info;
  if (cur < 0 || max < 0 || virDomainGetInfo(dom, &info) < 0)
    return lv_fail(err, vm, "allocation of");
  out->vcpus = cur;
  out->vcpus_max = max;
  out->mem_kib = (double)info.memory;
  out->mem_max_kib = (double)info.maxMem;
  int rc = read_quota(dom, vm, out->vcpus, &out->cpu_quota, err);
  for (size_t i = 0; rc == 0 && i < out->n_disks; i++)
    rc = read_disk(dom, vm, &out->disks[i], err);
  for (size_t i = 0; rc == 0 && i < out->n_ifaces; i++)
    rc = read_iface(dom, vm, &out->ifaces[i], err);
  return rc;
}

static int config_alloc(virDomainPtr dom, const char *vm, act_hv_alloc *out,
                        act_error *err) {
  int cur = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG);
  int max =
      virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
  if (cur < 0 || max < 0)
    return lv_fail(err, vm, "persistent vCPUs of");
  out->vcpus_config = cur;
  out->vcpus_max_config = max;
  xmlDocPtr doc;
  int rc = domain_xml(dom, VIR_DOMAIN_XML_INACTIVE, vm, &doc, err);
  if (rc != 0)
    return rc;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  out->mem_config_kib = memory_kib(child(root, "currentMemory"));
  out->mem_max_config_kib = memory_kib(child(root, "memory"));
  if (isnan(out->mem_config_kib)) /* libvirt omits currentMemory when equal */
    out->mem_config_kib = out->mem_max_config_kib;
  xmlFreeDoc(doc);
  if (isnan(out->mem_max_config_kib))
    return act__fail(err, ACT_EHV, "persistent memory of %s: no readable <memory>", vm);
  return 0;
}

static int read_alloc_op(virDomainPtr dom, const char *vm, void *arg, act_error *err) {
  act_hv_alloc *out = arg;
  int rc = 0;
  out->vcpus = out->vcpus_max = out->vcpus_config = out->vcpus_max_config = NAN;
  out->mem_kib = out->mem_max_kib = out->mem_config_kib = out->mem_max_config_kib = NAN;
  out->cpu_quota = NAN;
  xmlDocPtr doc = NULL;
  if ((out->active = virDomainIsActive(dom)) < 0 ||
      (out->persistent = virDomainIsPersistent(dom)) < 0)
    rc = lv_fail(err, vm, "state of");
  if (rc == 0)
    rc = domain_xml(dom, 0, vm, &doc, err);
  if (rc == 0)
    rc = read_devices(doc, vm, out, err);
  xmlFreeDoc(doc);
  if (rc == 0 && out->active)
    rc = live_alloc(dom, vm, out, err);
  if (rc == 0 && out->persistent)
    rc = config_alloc(dom, vm, out, err);
  return rc;
}

static int lv_read_alloc(void *impl, const char *vm, act_hv_alloc *out, act_error *err) {
  return on_domain(impl, vm, read_alloc_op, out, err);
}

/* The persistent config's knobs have a value whether the domain runs or not; the
 * others are live and need it running. */
static int knob_is_config(act_hv_knob k) {
  return k == ACT_HV_VCPUS_CONFIG || k == ACT_HV_VCPUS_MAX_CONFIG ||
         k == ACT_HV_MEM_CONFIG_KIB || k == ACT_HV_MEM_MAX_CONFIG_KIB;
}

static int knob_ready(virDomainPtr dom, const char *vm, act_hv_knob k, act_error *err) {
  return knob_is_config(k) ? 0 : need_active(dom, vm, act_hv_knob_name(k), err);
}

/* virDomain{Get,Set}VcpusFlags' flags for a vCPU knob. */
static unsigned vcpus_flags(act_hv_knob k) {
  unsigned flags = knob_is_config(k) ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE;
  if (k == ACT_HV_VCPUS_MAX || k == ACT_HV_VCPUS_MAX_CONFIG)
    flags |= VIR_DOMAIN_VCPU_MAXIMUM;
  return flags;
}

/* virDomainSetMemoryFlags' flags for a settable memory knob. */
static unsigned memory_flags(act_hv_knob k) {
  unsigned flags = knob_is_config(k) ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE;
  if (k == ACT_HV_MEM_MAX_CONFIG_KIB)
    flags |= VIR_DOMAIN_MEM_MAXIMUM;
  return flags;
}

static int get_vcpus(virDomainPtr dom, const char *vm, unsigned flags, double *out,
                     act_error *err) {
  int n = virDomainGetVcpusFlags(dom, flags);
  if (n < 0)
    return lv_fail(err, vm, "vCPUs of");
  *out = n;
  return 0;
}

static int get_config_memory(virDomainPtr dom, const char *vm, int max, double *out,
                             act_error *err) {
  act_hv_alloc al;
  memset(&al, 0, sizeof(al));
  int rc = config_alloc(dom, vm, &al, err);
  if (rc == 0)
    *out = max ? al.mem_max_config_kib : al.mem_config_kib;
  return rc;
}

static int get_device(virDomainPtr dom, const char *vm, act_hv_knob k, const char *dev,
                      double *out, act_error *err) {
  int rc;
  if (k <= ACT_HV_DISK_IOPS_MAX) {
    act_hv_disk disk = {0};
    snprintf(disk.dev, sizeof(disk.dev), "%s", dev);
    if ((rc = read_disk(dom, vm, &disk, err)) == 0)
      *out = k == ACT_HV_DISK_BPS       ? disk.bps
             : k == ACT_HV_DISK_BPS_MAX ? disk.bps_max
             : k == ACT_HV_DISK_IOPS    ? disk.iops
                                        : disk.iops_max;
    return rc;
  }
  act_hv_iface f = {0};
  snprintf(f.mac, sizeof(f.mac), "%s", dev);
  if ((rc = read_iface(dom, vm, &f, err)) == 0)
    *out = k == ACT_HV_NET_IN_KIBPS ? f.in_kibps : f.out_kibps;
  return rc;
}

static int get_live_memory(virDomainPtr dom, const char *vm, int max, double *out,
                           act_error *err) {
  virDomainInfo info;
  if (virDomainGetInfo(dom, &info) < 0)
    return lv_fail(err, vm, "memory of");
  *out = (double)(max ? info.maxMem : info.memory);
  return 0;
}

static int get_quota(virDomainPtr dom, const char *vm, double *out, act_error *err) {
  double vcpus = NAN;
  int rc;
  if ((rc = get_vcpus(dom, vm, VIR_DOMAIN_AFFECT_LIVE, &vcpus, err)) != 0 ||
      (rc = read_quota(dom, vm, vcpus, out, err)) != 0)
    return rc;
  return isnan(*out) ? act__fail(err, ACT_EUNSUPPORTED, "cpu quota of %s: unsupported "
                                 "by this hypervisor (no vcpu_quota scheduler "
                                 "parameter)", vm)
                     : 0;
}

/* One knob's get or set: lv_get's and lv_set's arguments for on_domain(). */
typedef struct knob_call {
  int set;      /* 1: set it to value; 0: get it into *out */
  act_hv_knob k;
  const char *dev;
  double value;
  double *out;
} knob_call;

static int get_knob(virDomainPtr dom, const char *vm, const knob_call *c,
                    act_error *err) {
  switch (c->k) {
  case ACT_HV_VCPUS:
  case ACT_HV_VCPUS_MAX:
  case ACT_HV_VCPUS_CONFIG:
  case ACT_HV_VCPUS_MAX_CONFIG:
    return get_vcpus(dom, vm, vcpus_flags(c->k), c->out, err);
  case ACT_HV_MEM_KIB:
  case ACT_HV_MEM_MAX_KIB:
    return get_live_memory(dom, vm, c->k == ACT_HV_MEM_MAX_KIB, c->out, err);
  case ACT_HV_MEM_CONFIG_KIB:
  case ACT_HV_MEM_MAX_CONFIG_KIB:
    return get_config_memory(dom, vm, c->k == ACT_HV_MEM_MAX_CONFIG_KIB, c->out, err);
  case ACT_HV_CPU_QUOTA:
    return get_quota(dom, vm, c->out, err);
  default:
    return get_device(dom, vm, c->k, c->dev, c->out, err);
  }
}

/* An integral value within [0, max] of a knob, or ACT_EINVAL naming it. */
static int whole(const char *vm, act_hv_knob k, double v, double max, act_error *err) {
  if (v != floor(v) || v > max)
    return act__fail(err, ACT_EINVAL, "set %s %s: %g (must be a whole number <= %g)", vm,
                     act_hv_knob_name(k), v, max);
  return 0;
}

static int set_quota(virDomainPtr dom, const char *vm, double cores, act_error *err) {
  unsigned long long period = 0;
  long long quota = 0;
  int supported;
  double vcpus = NAN;
  int rc = read_sched(dom, vm, &period, &quota, &supported, err);
  if (rc == 0 && (!supported || period == 0))
    rc = act__fail(err, ACT_EUNSUPPORTED, "set cpu quota of %s: unsupported by this "
                   "hypervisor (no vcpu_period/vcpu_quota scheduler parameters)", vm);
  if (rc == 0)
    rc = get_vcpus(dom, vm, VIR_DOMAIN_AFFECT_LIVE, &vcpus, err);
  if (rc != 0)
    return rc;
  long long want = isinf(cores) ? -1 : llround(cores / vcpus * (double)period);
  if (!isinf(cores) && want < 1000) /* libvirt's smallest quota, in microseconds */
    want = 1000;
  virTypedParameter p;
  memset(&p, 0, sizeof(p));
  snprintf(p.field, sizeof(p.field), "%s", VIR_DOMAIN_SCHEDULER_VCPU_QUOTA);
  p.type = VIR_TYPED_PARAM_LLONG;
  p.value.l = want;
  if (virDomainSetSchedulerParametersFlags(dom, &p, 1, VIR_DOMAIN_AFFECT_LIVE) < 0)
    return lv_fail(err, vm, "set cpu quota of");
  return 0;
}

static int set_device(virDomainPtr dom, const char *vm, act_hv_knob k, const char *dev,
                      double v, act_error *err) {
  int rc;
  virTypedParameter p;
  memset(&p, 0, sizeof(p));
  snprintf(p.field, sizeof(p.field), "%s", knob_param(k));
  if (k <= ACT_HV_DISK_IOPS_MAX) {
    if ((rc = whole(vm, k, v, 1e18, err)) != 0)
      return rc;
    p.type = VIR_TYPED_PARAM_ULLONG;
    p.value.ul = (unsigned long long)v;
    if (virDomainSetBlockIoTune(dom, dev, &p, 1, VIR_DOMAIN_AFFECT_LIVE) < 0)
      return lv_fail(err, vm, "set block I/O tune of");
    return 0;
  }
  if ((rc = whole(vm, k, v, UINT_MAX, err)) != 0)
    return rc;
  p.type = VIR_TYPED_PARAM_UINT;
  p.value.ui = (unsigned)v;
  if (virDomainSetInterfaceParameters(dom, dev, &p, 1, VIR_DOMAIN_AFFECT_LIVE) < 0)
    return lv_fail(err, vm, "set interface bandwidth of");
  return 0;
}

static int set_vcpus(virDomainPtr dom, const char *vm, act_hv_knob k, double v,
                     act_error *err) {
  int rc = whole(vm, k, v, INT_MAX, err);
  if (rc == 0 && v < 1)
    rc = act__fail(err, ACT_EINVAL, "set %s %s: %g (at least 1)", vm,
                   act_hv_knob_name(k), v);
  if (rc == 0 && virDomainSetVcpusFlags(dom, (unsigned)v, vcpus_flags(k)) < 0)
    rc = lv_fail(err, vm, "set vCPUs of");
  return rc;
}

static int set_memory(virDomainPtr dom, const char *vm, act_hv_knob k, double v,
                      act_error *err) {
  int rc = whole(vm, k, v, (double)ULONG_MAX, err);
  if (rc == 0 && virDomainSetMemoryFlags(dom, (unsigned long)v, memory_flags(k)) < 0)
    rc = lv_fail(err, vm, "set memory of");
  return rc;
}

static int set_knob(virDomainPtr dom, const char *vm, const knob_call *c,
                    act_error *err) {
  switch (c->k) {
  case ACT_HV_VCPUS:
  case ACT_HV_VCPUS_CONFIG:
  case ACT_HV_VCPUS_MAX_CONFIG:
    return set_vcpus(dom, vm, c->k, c->value, err);
  case ACT_HV_MEM_KIB:
  case ACT_HV_MEM_CONFIG_KIB:
  case ACT_HV_MEM_MAX_CONFIG_KIB:
    return set_memory(dom, vm, c->k, c->value, err);
  case ACT_HV_CPU_QUOTA:
    return set_quota(dom, vm, c->value, err);
  default: /* the read-only knobs never get here: act_hv_set refuses them */
    return set_device(dom, vm, c->k, c->dev, c->value, err);
  }
}

/* A live knob needs the domain running, for a get as for a set. */
static int knob_op(virDomainPtr dom, const char *vm, void *arg, act_error *err) {
  const knob_call *c = arg;
  int rc = knob_ready(dom, vm, c->k, err);
  if (rc != 0)
    return rc;
  return c->set ? set_knob(dom, vm, c, err) : get_knob(dom, vm, c, err);
}

static int lv_get(void *impl, const char *vm, act_hv_knob k, const char *dev,
                  double *out, act_error *err) {
  knob_call c = {.set = 0, .k = k, .dev = dev, .out = out};
  return on_domain(impl, vm, knob_op, &c, err);
}

static int lv_set(void *impl, const char *vm, act_hv_knob k, const char *dev, double v,
                  act_error *err) {
  knob_call c = {.set = 1, .k = k, .dev = dev, .value = v};
  return on_domain(impl, vm, knob_op, &c, err);
}

/* ---- life cycle ---- */

static int random_mac(char out[ACT_HV_DEVNAME_MAX]) {
  unsigned char b[3];
  if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
    return -1;
  snprintf(out, ACT_HV_DEVNAME_MAX, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
  return 0;
}

static void set_text(xmlNodePtr root, const char *name, const char *text) {
  xmlNodePtr n = child(root, name);
  if (n == NULL)
    n = xmlNewChild(root, NULL, BAD_CAST name, NULL);
  if (n != NULL)
    xmlNodeSetContent(n, BAD_CAST text);
}

/* New MACs, no host-side target names. 0 or -1 (no randomness). */
static int fresh_interfaces(xmlNodePtr root) {
  xmlNodePtr devices = child(root, "devices");
  for (xmlNodePtr i = next_named(devices ? devices->children : NULL, "interface");
       i != NULL; i = next_named(i->next, "interface")) {
    xmlNodePtr mac = child(i, "mac"), target = child(i, "target");
    char addr[ACT_HV_DEVNAME_MAX];
    if (mac != NULL && (random_mac(addr) != 0 ||
                        xmlSetProp(mac, BAD_CAST "address", BAD_CAST addr) == NULL))
      return -1;
    if (target != NULL) {
      xmlUnlinkNode(target);
      xmlFreeNode(target);
    }
  }
  return 0;
}

/* Adds template="<template_vm>" to <metadata><foresight:vm>, creating what is missing;
 * the rest of the template's metadata (its host set) is kept as it is. */
static int mark_clone(xmlNodePtr root, const char *template_vm) {
  xmlNodePtr meta = child(root, "metadata");
  if (meta == NULL && (meta = xmlNewChild(root, NULL, BAD_CAST "metadata", NULL)) == NULL)
    return -1;
  xmlNodePtr vm = NULL;
  for (xmlNodePtr n = next_named(meta->children, "vm"); n != NULL && vm == NULL;
       n = next_named(n->next, "vm"))
    if (n->ns != NULL && xmlStrEqual(n->ns->href, BAD_CAST ACT_HV_XMLNS))
      vm = n;
  if (vm == NULL) {
    if ((vm = xmlNewChild(meta, NULL, BAD_CAST "vm", NULL)) == NULL)
      return -1;
    xmlNsPtr ns = xmlNewNs(vm, BAD_CAST ACT_HV_XMLNS, BAD_CAST ACT_HV_XMLNS_PREFIX);
    if (ns == NULL)
      return -1;
    xmlSetNs(vm, ns);
  }
  return xmlSetProp(vm, BAD_CAST "template", BAD_CAST template_vm) == NULL ? -1 : 0;
}

/* The template's persistent XML, edited into the clone's (see the top of the file),
 * in *out (malloc'd); 0 or the error code. */
static int clone_xml(virDomainPtr tdom, const char *template_vm, const char *vm,
                     const char *uuid, char **out, act_error *err) {
  xmlDocPtr doc;
  int rc = domain_xml(tdom, VIR_DOMAIN_XML_INACTIVE, template_vm, &doc, err);
  if (rc != 0)
    return rc;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  xmlChar *text = NULL;
  int len = 0;
  set_text(root, "name", vm);
  set_text(root, "uuid", uuid);
  xmlUnsetProp(root, BAD_CAST "id");
  if (fresh_interfaces(root) == 0 && mark_clone(root, template_vm) == 0)
    xmlDocDumpMemory(doc, &text, &len);
  xmlFreeDoc(doc);
  *out = text == NULL ? NULL : strdup((const char *)text);
  xmlFree(text);
  if (*out == NULL)
    return act__fail(err, ACT_ENOMEM, "clone %s of %s: editing the XML failed (out of "
                     "memory or randomness)", vm, template_vm);
  return 0;
}

/* define_clone's arguments for on_domain(), which finds the template; xml the result */
typedef struct clone_call {
  const char *vm, *uuid;
  char *xml;
} clone_call;

static int clone_op(virDomainPtr tdom, const char *template_vm, void *arg,
                    act_error *err) {
  clone_call *c = arg;
  return clone_xml(tdom, template_vm, c->vm, c->uuid, &c->xml, err);
}

static int lv_define_clone(void *impl, const char *template_vm, const char *vm,
                           const char *uuid, act_error *err) {
  lv *h = impl;
  clone_call c = {vm, uuid, NULL};
  int rc = on_domain(h, template_vm, clone_op, &c, err);
  if (rc != 0)
    return rc;
  virDomainPtr dom = virDomainDefineXML(h->conn, c.xml);
  free(c.xml);
  if (dom == NULL)
    return lv_fail(err, vm, "define clone");
  virDomainFree(dom);
  return 0;
}

static int start_op(virDomainPtr dom, const char *vm, void *arg, act_error *err) {
  (void)arg;
  return virDomainCreate(dom) < 0 ? lv_fail(err, vm, "start") : 0;
}

static int lv_start(void *impl, const char *vm, act_error *err) {
  return on_domain(impl, vm, start_op, NULL, err);
}

static void pause_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int stop_op(virDomainPtr dom, const char *vm, void *arg, act_error *err) {
  int timeout_ms = *(const int *)arg;
  int active = virDomainIsActive(dom);
  /* A guest that ignores the request (or a driver without it) is powered off below. */
  if (active > 0 && timeout_ms > 0 && virDomainShutdown(dom) == 0)
    for (int waited = 0; (active = virDomainIsActive(dom)) > 0 && waited < timeout_ms;
         waited += 100)
      pause_ms(100);
  if (active < 0)
    return lv_fail(err, vm, "stop");
  if (active > 0 && virDomainDestroy(dom) < 0)
    return lv_fail(err, vm, "power off");
  return 0;
}

static int lv_stop(void *impl, const char *vm, int timeout_ms, act_error *err) {
  return on_domain(impl, vm, stop_op, &timeout_ms, err);
}

static int undefine_op(virDomainPtr dom, const char *vm, void *arg, act_error *err) {
  (void)arg;
  return virDomainUndefine(dom) < 0 ? lv_fail(err, vm, "undefine") : 0;
}

static int lv_undefine(void *impl, const char *vm, act_error *err) {
  return on_domain(impl, vm, undefine_op, NULL, err);
}

static void lv_close(void *impl) {
  lv *h = impl;
  if (h == NULL)
    return;
  virConnectClose(h->conn);
  free(h);
}

static const act_hv_ops lv_ops = {
    .name = "libvirt",
    .lookup = lv_lookup,
    .read_alloc = lv_read_alloc,
    .get = lv_get,
    .set = lv_set,
    .define_clone = lv_define_clone,
    .start = lv_start,
    .stop = lv_stop,
    .undefine = lv_undefine,
    .list = lv_list,
    .close = lv_close,
};

static void quiet(void *user, virErrorPtr e) {
  (void)user;
  (void)e;
}

act_hv *act_hv_libvirt_wrap(virConnectPtr conn, act_error *err) {
  if (conn == NULL) {
    act__fail(err, ACT_EINVAL, "libvirt: no connection");
    return NULL;
  }
  lv *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    act__fail(err, ACT_ENOMEM, "libvirt: out of memory");
    return NULL;
  }
  if (virConnectRef(conn) < 0) {
    free(h);
    act__fail(err, ACT_EHV, "libvirt: cannot take a reference to the connection");
    return NULL;
  }
  h->conn = conn;
  /* libxml2 wants its parser set up once before threads use it; creating a handle
   * happens at a plugin's init, so here (it is idempotent). */
  xmlInitParser();
  return act_hv_create(&lv_ops, h, err);
}

act_hv *act_hv_libvirt_open(const char *uri, act_error *err) {
  virConnectPtr conn = virConnectOpen(uri);
  if (conn == NULL) {
    lv_fail(err, uri == NULL ? "(default)" : uri, "connect to");
    return NULL;
  }
  virConnSetErrorFunc(conn, NULL, quiet); /* errors reach the caller via act_error */
  act_hv *hv = act_hv_libvirt_wrap(conn, err);
  virConnectClose(conn); /* the handle holds its own reference */
  return hv;
}
