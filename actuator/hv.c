/* hv.c -- the act_hv handle: an implementation's ops table and state, with every
 * argument checked once here so implementations (hv_libvirt.c, the tests' fault
 * wrapper) need not repeat it. Also the knob names the journal writes, and UUIDs for
 * scale-out clones.
 * Not here: talking to a hypervisor (hv_libvirt.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "act_internal.h"
#include "hv.h"

struct act_hv {
  const act_hv_ops *ops;
  void *impl;
};

static const char *const knob_names[ACT_HV_KNOB_COUNT] = {
    [ACT_HV_VCPUS] = "vcpus",
    [ACT_HV_VCPUS_MAX] = "vcpus_max",
    [ACT_HV_VCPUS_CONFIG] = "vcpus_config",
    [ACT_HV_VCPUS_MAX_CONFIG] = "vcpus_max_config",
    [ACT_HV_MEM_KIB] = "mem_kib",
    [ACT_HV_MEM_MAX_KIB] = "mem_max_kib",
    [ACT_HV_MEM_CONFIG_KIB] = "mem_config_kib",
    [ACT_HV_MEM_MAX_CONFIG_KIB] = "mem_max_config_kib",
    [ACT_HV_CPU_QUOTA] = "cpu_quota",
    [ACT_HV_DISK_BPS] = "disk_bps",
    [ACT_HV_DISK_BPS_MAX] = "disk_bps_max",
    [ACT_HV_DISK_IOPS] = "disk_iops",
    [ACT_HV_DISK_IOPS_MAX] = "disk_iops_max",
    [ACT_HV_NET_IN_KIBPS] = "net_in_kibps",
    [ACT_HV_NET_OUT_KIBPS] = "net_out_kibps",
    [ACT_HV_ACTIVE] = "active",
    [ACT_HV_DEFINED] = "defined",
};

const char *act_hv_knob_name(act_hv_knob k) {
  return (unsigned)k < ACT_HV_KNOB_COUNT ? knob_names[k] : "?";
}

int act_hv_knob_parse(const char *name, act_hv_knob *out, act_error *err) {
  for (int k = 0; k < ACT_HV_KNOB_COUNT; k++)
    if (strcmp(name, knob_names[k]) == 0) {
      *out = (act_hv_knob)k;
      return 0;
    }
  return act__fail(err, ACT_EINVAL, "knob \"%.64s\" (no such hypervisor knob)", name);
}

int act_hv_knob_has_dev(act_hv_knob k) {
  return k >= ACT_HV_DISK_BPS && k <= ACT_HV_NET_OUT_KIBPS;
}

act_hv *act_hv_create(const act_hv_ops *ops, void *impl, act_error *err) {
  act_hv *hv = calloc(1, sizeof(*hv));
  if (hv == NULL) {
    if (ops != NULL && ops->close != NULL)
      ops->close(impl);
    act__fail(err, ACT_ENOMEM, "hypervisor %s: out of memory",
              ops != NULL && ops->name != NULL ? ops->name : "?");
    return NULL;
  }
  hv->ops = ops;
  hv->impl = impl;
  return hv;
}

void act_hv_destroy(act_hv *hv) {
  if (hv == NULL)
    return;
  if (hv->ops->close != NULL)
    hv->ops->close(hv->impl);
  free(hv);
}

const char *act_hv_name(const act_hv *hv) { return hv->ops->name; }

static int bad_vm(const char *what, const char *vm, act_error *err) {
  return act__fail(err, ACT_EINVAL, "%s: domain name \"%.64s\" (must be 1-%d printable "
                   "characters without spaces)", what, vm == NULL ? "(null)" : vm,
                   ACT_NAME_MAX - 1);
}

/* A disk target or MAC: 1..ACT_HV_DEVNAME_MAX-1 printable bytes without spaces, the
 * same rule as names so the journal can write it as one word. */
static int dev_ok(const char *dev) {
  if (dev == NULL || dev[0] == '\0' || strlen(dev) >= ACT_HV_DEVNAME_MAX)
    return 0;
  for (const char *p = dev; *p != '\0'; p++)
    if (*p <= ' ' || *p >= 0x7f)
      return 0;
  return 1;
}

static int check_knob(const char *what, const char *vm, act_hv_knob k, const char *dev,
                      act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm(what, vm, err);
  if ((unsigned)k >= ACT_HV_KNOB_COUNT)
    return act__fail(err, ACT_EINVAL, "%s %s: knob %d (no such knob)", what, vm, (int)k);
  if (act_hv_knob_has_dev(k) && !dev_ok(dev))
    return act__fail(err, ACT_EINVAL, "%s %s %s: device \"%.64s\" (a disk target or MAC "
                     "address is needed)", what, vm, knob_names[k],
                     dev == NULL ? "(null)" : dev);
  return 0;
}

static int unsupported(const act_hv *hv, const char *what, const char *vm,
                       act_error *err) {
  return act__fail(err, ACT_EUNSUPPORTED, "%s %s: unsupported by hypervisor %s", what,
                   vm, hv->ops->name);
}

int act_hv_lookup(act_hv *hv, const char *vm, act_hv_domain *out, act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm("lookup", vm, err);
  if (hv->ops->lookup == NULL)
    return unsupported(hv, "lookup", vm, err);
  memset(out, 0, sizeof(*out));
  return hv->ops->lookup(hv->impl, vm, out, err);
}

int act_hv_read_alloc(act_hv *hv, const char *vm, act_hv_alloc *out, act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm("read allocation", vm, err);
  if (hv->ops->read_alloc == NULL)
    return unsupported(hv, "read allocation", vm, err);
  memset(out, 0, sizeof(*out));
  return hv->ops->read_alloc(hv->impl, vm, out, err);
}

int act_hv_get(act_hv *hv, const char *vm, act_hv_knob k, const char *dev, double *out,
               act_error *err) {
  int rc = check_knob("get", vm, k, dev, err);
  if (rc != 0)
    return rc;
  if (k == ACT_HV_ACTIVE || k == ACT_HV_DEFINED)
    return act__fail(err, ACT_EINVAL, "get %s %s: use lookup for this knob", vm,
                     knob_names[k]);
  if (hv->ops->get == NULL)
    return unsupported(hv, "get", vm, err);
  return hv->ops->get(hv->impl, vm, k, act_hv_knob_has_dev(k) ? dev : NULL, out, err);
}

int act_hv_set(act_hv *hv, const char *vm, act_hv_knob k, const char *dev, double value,
               act_error *err) {
  int rc = check_knob("set", vm, k, dev, err);
  if (rc != 0)
    return rc;
  if (k == ACT_HV_VCPUS_MAX || k == ACT_HV_MEM_MAX_KIB || k == ACT_HV_ACTIVE ||
      k == ACT_HV_DEFINED)
    return act__fail(err, ACT_EINVAL, "set %s %s: read-only knob (a running domain's "
                     "maximum is fixed at boot; start/stop/define/undefine change the "
                     "others)", vm, knob_names[k]);
  if (isnan(value) || value < 0 || (isinf(value) && k != ACT_HV_CPU_QUOTA))
    return act__fail(err, ACT_EINVAL, "set %s %s: value %g (must be finite and >= 0)",
                     vm, knob_names[k], value);
  if (hv->ops->set == NULL)
    return unsupported(hv, "set", vm, err);
  return hv->ops->set(hv->impl, vm, k, act_hv_knob_has_dev(k) ? dev : NULL, value, err);
}

int act_hv_define_clone(act_hv *hv, const char *template_vm, const char *vm,
                        const char *uuid, act_error *err) {
  if (!act__name_ok(template_vm))
    return bad_vm("define clone: template", template_vm, err);
  if (!act__name_ok(vm))
    return bad_vm("define clone", vm, err);
  if (uuid == NULL || strlen(uuid) != ACT_HV_UUID_LEN - 1)
    return act__fail(err, ACT_EINVAL, "define clone %s: UUID \"%.40s\" (want 36 "
                     "characters)", vm, uuid == NULL ? "(null)" : uuid);
  if (hv->ops->define_clone == NULL)
    return unsupported(hv, "define clone", vm, err);
  return hv->ops->define_clone(hv->impl, template_vm, vm, uuid, err);
}

int act_hv_start(act_hv *hv, const char *vm, act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm("start", vm, err);
  if (hv->ops->start == NULL)
    return unsupported(hv, "start", vm, err);
  return hv->ops->start(hv->impl, vm, err);
}

int act_hv_stop(act_hv *hv, const char *vm, int timeout_ms, act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm("stop", vm, err);
  if (timeout_ms < 0)
    return act__fail(err, ACT_EINVAL, "stop %s: timeout %d ms (must be >= 0)", vm,
                     timeout_ms);
  if (hv->ops->stop == NULL)
    return unsupported(hv, "stop", vm, err);
  return hv->ops->stop(hv->impl, vm, timeout_ms, err);
}

int act_hv_undefine(act_hv *hv, const char *vm, act_error *err) {
  if (!act__name_ok(vm))
    return bad_vm("undefine", vm, err);
  if (hv->ops->undefine == NULL)
    return unsupported(hv, "undefine", vm, err);
  return hv->ops->undefine(hv->impl, vm, err);
}

int act_hv_list(act_hv *hv, const char *set, act_hv_domain **out, size_t *n,
                act_error *err) {
  *out = NULL;
  *n = 0;
  if (set != NULL && !act__name_ok(set))
    return act__fail(err, ACT_EINVAL, "list: host set name \"%.64s\" (must be printable "
                     "without spaces)", set);
  if (hv->ops->list == NULL)
    return unsupported(hv, "list", set != NULL ? set : "(all)", err);
  return hv->ops->list(hv->impl, set, out, n, err);
}

int act_hv_uuid_generate(char uuid[ACT_HV_UUID_LEN], act_error *err) {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
    if (r < 0)
      return act__fail_errno(err, ACT_EIO, errno, "UUID: getrandom");
    got += (size_t)r;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4: random */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(uuid, ACT_HV_UUID_LEN,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
           b[13], b[14], b[15]);
  return 0;
}
