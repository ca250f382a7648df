/* apply_steps.c -- a decision, as the ordered knob changes (hv.h) that make it.
 *
 * Reads the domain first (one read_alloc or lookup per domain) so that every step
 * carries its true before value, and refuses, before anything changes, what cannot
 * work: a domain that does not run, more vCPUs or memory than the running domain's
 * maximum (fixed at boot), a cpu quota the hypervisor does not report.
 *
 * Order, so that every intermediate state is one the hypervisor accepts and rolling
 * back in reverse order is too:
 *   cpu (vCPUs)      raise the config maximum if needed, the config count, the live
 *                    count (the config steps keep the change over a reboot; a
 *                    transient domain has none)
 *   memory           likewise: config maximum, config current, live balloon
 *   cpu_quota        the live quota
 *   disk_iops        per disk: raise total_iops_sec_max to the new value when below
 *                    it (libvirt's test driver, and QEMU when a burst is set, refuse a
 *                    rate above its burst), then total_iops_sec. Every disk of the
 *                    domain gets the decision's value.
 *   net_kbps         per interface: inbound then outbound average
 *   lend / repay     the VM that gives first, then the one that gains, so the host
 *                    set never holds more than its capacity between the two
 *   scale_out        define the clone (template, new UUID), start it
 *   scale_in         stop it (if it runs), undefine it: the point of no return, last
 * Units: the decision's (vCPUs, MiB, cores, ops/s, KB/s) become the hypervisor's
 * (KiB for memory; KB/s is libvirt's kilobytes per second as it is).
 * Not here: making the changes and undoing them (apply.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "act_internal.h"

int act__knob_same(act_hv_knob k, double x, double y, const act_apply_config *cfg) {
  if (isinf(x) || isinf(y))
    return x == y;
  if (k == ACT_HV_MEM_KIB)
    return fabs(x - y) <= cfg->mem_tolerance_kib;
  if (k == ACT_HV_CPU_QUOTA)
    return fabs(x - y) <= 1e-3;
  return x == y;
}

static int push(act__steps *out, const char *vm, act_hv_knob k, const char *dev,
                const char *uuid, double before, double after) {
  if (act__grow((void **)&out->v, &out->cap, out->n + 1, sizeof(*out->v)) != 0)
    return ACT_ENOMEM;
  act_step *s = &out->v[out->n++];
  memset(s, 0, sizeof(*s));
  snprintf(s->vm, sizeof(s->vm), "%s", vm);
  s->knob = k;
  snprintf(s->dev, sizeof(s->dev), "%s", dev == NULL ? "" : dev);
  snprintf(s->uuid, sizeof(s->uuid), "%s", uuid == NULL ? "" : uuid);
  s->before = before;
  s->after = after;
  return 0;
}

/* Pushes knob k from `before` to `to` unless it is there already. */
static int push_if(act__steps *out, const act_apply_config *cfg, const char *vm,
                   act_hv_knob k, const char *dev, double before, double to) {
  return act__knob_same(k, before, to, cfg) ? 0 : push(out, vm, k, dev, NULL, before, to);
}

static int oom(const act_decision *d, act_error *err) {
  return act__fail(err, ACT_ENOMEM, "decision %llu: out of memory",
                   (unsigned long long)d->seq);
}

static int cpu_steps(const act_decision *d, const char *vm, const act_hv_alloc *al,
                     double to, const act_apply_config *cfg, act__steps *out,
                     act_error *err) {
  if (!isfinite(to) || to < 1 || to != floor(to))
    return act__fail(err, ACT_EINVAL, "decision %llu: %s cpu %g (vCPUs must be a whole "
                     "number >= 1)", (unsigned long long)d->seq, vm, to);
  if (to > al->vcpus_max)
    return act__fail(err, ACT_EUNSUPPORTED, "decision %llu: %s: %g vCPUs exceed the "
                     "running domain's maximum %g, which changes only at a restart",
                     (unsigned long long)d->seq, vm, to, al->vcpus_max);
  int rc = 0;
  if (al->persistent && to > al->vcpus_max_config)
    rc = push(out, vm, ACT_HV_VCPUS_MAX_CONFIG, NULL, NULL, al->vcpus_max_config, to);
  if (rc == 0 && al->persistent)
    rc = push_if(out, cfg, vm, ACT_HV_VCPUS_CONFIG, NULL, al->vcpus_config, to);
  if (rc == 0)
    rc = push_if(out, cfg, vm, ACT_HV_VCPUS, NULL, al->vcpus, to);
  return rc == 0 ? 0 : oom(d, err);
}

static int memory_steps(const act_decision *d, const char *vm, const act_hv_alloc *al,
                        double to_mib, const act_apply_config *cfg, act__steps *out,
                        act_error *err) {
  double kib = round(to_mib * 1024.0);
  if (!isfinite(kib) || kib <= 0)
    return act__fail(err, ACT_EINVAL, "decision %llu: %s memory %g MiB (must be > 0)",
                     (unsigned long long)d->seq, vm, to_mib);
  if (kib > al->mem_max_kib)
    return act__fail(err, ACT_EUNSUPPORTED, "decision %llu: %s: %g MiB exceed the "
                     "running domain's maximum %g MiB, which changes only at a restart",
                     (unsigned long long)d->seq, vm, to_mib, al->mem_max_kib / 1024.0);
  int rc = 0;
  if (al->persistent && kib > al->mem_max_config_kib)
    rc = push(out, vm, ACT_HV_MEM_MAX_CONFIG_KIB, NULL, NULL, al->mem_max_config_kib, kib);
  if (rc == 0 && al->persistent)
    rc = push_if(out, cfg, vm, ACT_HV_MEM_CONFIG_KIB, NULL, al->mem_config_kib, kib);
  if (rc == 0)
    rc = push_if(out, cfg, vm, ACT_HV_MEM_KIB, NULL, al->mem_kib, kib);
  return rc == 0 ? 0 : oom(d, err);
}

static int quota_steps(const act_decision *d, const char *vm, const act_hv_alloc *al,
                       double to, const act_apply_config *cfg, act__steps *out,
                       act_error *err) {
  if (isnan(al->cpu_quota))
    return act__fail(err, ACT_EUNSUPPORTED, "decision %llu: %s: cpu quota unsupported by "
                     "this hypervisor (no vcpu_period/vcpu_quota scheduler parameters)",
                     (unsigned long long)d->seq, vm);
  if (!(to > 0))
    return act__fail(err, ACT_EINVAL, "decision %llu: %s cpu_quota %g (must be > 0)",
                     (unsigned long long)d->seq, vm, to);
  return push_if(out, cfg, vm, ACT_HV_CPU_QUOTA, NULL, al->cpu_quota, to) == 0
             ? 0
             : oom(d, err);
}

static int disk_steps(const act_decision *d, const char *vm, const act_hv_alloc *al,
                      double to, const act_apply_config *cfg, act__steps *out,
                      act_error *err) {
  if (!isfinite(to) || to < 0 || to != floor(to))
    return act__fail(err, ACT_EINVAL, "decision %llu: %s disk_iops %g (must be a whole "
                     "number >= 0)", (unsigned long long)d->seq, vm, to);
  if (al->n_disks == 0)
    return act__fail(err, ACT_ENOENT, "decision %llu: %s has no disk to tune",
                     (unsigned long long)d->seq, vm);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < al->n_disks; i++) {
    const act_hv_disk *k = &al->disks[i];
    if (k->iops_max < to)
      rc = push(out, vm, ACT_HV_DISK_IOPS_MAX, k->dev, NULL, k->iops_max, to);
    if (rc == 0)
      rc = push_if(out, cfg, vm, ACT_HV_DISK_IOPS, k->dev, k->iops, to);
  }
  return rc == 0 ? 0 : oom(d, err);
}

static int net_steps(const act_decision *d, const char *vm, const act_hv_alloc *al,
                     double to, const act_apply_config *cfg, act__steps *out,
                     act_error *err) {
  if (!isfinite(to) || to < 0 || to != floor(to))
    return act__fail(err, ACT_EINVAL, "decision %llu: %s net_kbps %g (must be a whole "
                     "number >= 0)", (unsigned long long)d->seq, vm, to);
  if (al->n_ifaces == 0)
    return act__fail(err, ACT_ENOENT, "decision %llu: %s has no interface to tune",
                     (unsigned long long)d->seq, vm);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < al->n_ifaces; i++) {
    const act_hv_iface *f = &al->ifaces[i];
    rc = push_if(out, cfg, vm, ACT_HV_NET_IN_KIBPS, f->mac, f->in_kibps, to);
    if (rc == 0)
      rc = push_if(out, cfg, vm, ACT_HV_NET_OUT_KIBPS, f->mac, f->out_kibps, to);
  }
  return rc == 0 ? 0 : oom(d, err);
}

/* The steps that take vm's resource r to `to` (decision units). */
static int resize_steps(act_hv *hv, const act_apply_config *cfg, const act_decision *d,
                        const char *vm, double to, act__steps *out, act_error *err) {
  act_hv_alloc al;
  act_error e = {0};
  int rc = act_hv_read_alloc(hv, vm, &al, &e);
  if (rc != 0)
    return act__fail(err, rc, "decision %llu: %s", (unsigned long long)d->seq, e.msg);
  if (!al.active)
    return act__fail(err, ACT_ESTOPPED, "decision %llu: %s does not run; resizes apply "
                     "to running domains", (unsigned long long)d->seq, vm);
  switch (d->resource) {
  case ACT_CPU: return cpu_steps(d, vm, &al, to, cfg, out, err);
  case ACT_MEMORY: return memory_steps(d, vm, &al, to, cfg, out, err);
  case ACT_CPU_QUOTA: return quota_steps(d, vm, &al, to, cfg, out, err);
  case ACT_DISK_IOPS: return disk_steps(d, vm, &al, to, cfg, out, err);
  case ACT_NET_KBPS: return net_steps(d, vm, &al, to, cfg, out, err);
  default: break;
  }
  return act__fail(err, ACT_EINVAL, "decision %llu: resource %d (no such resource)",
                   (unsigned long long)d->seq, (int)d->resource);
}

static int scale_out_steps(act_hv *hv, const act_decision *d, const char *template_vm,
                           act__steps *out, act_error *err) {
  unsigned long long seq = (unsigned long long)d->seq;
  if (template_vm == NULL || template_vm[0] == '\0')
    return act__fail(err, ACT_EINVAL, "decision %llu: scale_out of %s needs the host "
                     "set's ScaleOutTemplate", seq, d->vm);
  act_hv_domain dom;
  act_error e = {0};
  int rc = act_hv_lookup(hv, template_vm, &dom, &e);
  if (rc != 0)
    return act__fail(err, rc, "decision %llu: template: %s", seq, e.msg);
  rc = act_hv_lookup(hv, d->vm, &dom, &e);
  if (rc == 0)
    return act__fail(err, ACT_EEXIST, "decision %llu: scale_out: a domain named %s "
                     "exists already", seq, d->vm);
  if (rc != ACT_ENOENT)
    return act__fail(err, rc, "decision %llu: %s", seq, e.msg);
  char uuid[ACT_HV_UUID_LEN];
  if ((rc = act_hv_uuid_generate(uuid, err)) != 0)
    return rc;
  if (push(out, d->vm, ACT_HV_DEFINED, template_vm, uuid, 0, 1) != 0 ||
      push(out, d->vm, ACT_HV_ACTIVE, NULL, uuid, 0, 1) != 0)
    return oom(d, err);
  return 0;
}

static int scale_in_steps(act_hv *hv, const act_decision *d, act__steps *out,
                          const char **note, act_error *err) {
  unsigned long long seq = (unsigned long long)d->seq;
  act_hv_domain dom;
  act_error e = {0};
  int rc = act_hv_lookup(hv, d->vm, &dom, &e);
  if (rc == ACT_ENOENT) {
    *note = "the instance is gone already";
    return 0;
  }
  if (rc != 0)
    return act__fail(err, rc, "decision %llu: %s", seq, e.msg);
  /* The metadata mark is what scale-out leaves: a planner mistake must not remove a
   * VM that an operator defined. */
  if (dom.template_vm[0] == '\0')
    return act__fail(err, ACT_EINVAL, "decision %llu: scale_in: %s was not created by "
                     "scale-out (no template in its foresight metadata); refusing to "
                     "remove it", seq, d->vm);
  if (dom.active && push(out, d->vm, ACT_HV_ACTIVE, NULL, dom.uuid, 1, 0) != 0)
    return oom(d, err);
  if (dom.persistent && push(out, d->vm, ACT_HV_DEFINED, NULL, dom.uuid, 1, 0) != 0)
    return oom(d, err);
  return 0;
}

int act__plan_steps(act_hv *hv, const act_apply_config *cfg, const act_decision *d,
                    const char *template_vm, act__steps *out, const char **note,
                    act_error *err) {
  int rc;
  *note = "already at the target";
  switch (d->kind) {
  case ACT_GROW:
  case ACT_SHRINK:
  case ACT_MANUAL:
    return resize_steps(hv, cfg, d, d->vm, d->to, out, err);
  case ACT_LEND: /* the lender (peer) gives first */
    rc = resize_steps(hv, cfg, d, d->peer, d->peer_to, out, err);
    return rc != 0 ? rc : resize_steps(hv, cfg, d, d->vm, d->to, out, err);
  case ACT_REPAY: /* the borrower (vm) gives back first */
    rc = resize_steps(hv, cfg, d, d->vm, d->to, out, err);
    return rc != 0 ? rc : resize_steps(hv, cfg, d, d->peer, d->peer_to, out, err);
  case ACT_SCALE_OUT:
    return scale_out_steps(hv, d, template_vm, out, err);
  case ACT_SCALE_IN:
    return scale_in_steps(hv, d, out, note, err);
  default:
    break;
  }
  return act__fail(err, ACT_EINVAL, "decision %llu: kind %d (no such kind)",
                   (unsigned long long)d->seq, (int)d->kind);
}
