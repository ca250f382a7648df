/* scale.c -- scale-out and scale-in of a host set's instances (decisions only).
 *
 * The set's instances are the distinct VMs in the cycle's rows. With a
 * ScaleOutTemplate configured:
 *   scale-out  when instances < MinInstances (rule bound), or when some managed
 *              resource is short after grants and loans, or its forecast total
 *              exceeds Capacity (rule short), while instances < MaxInstances;
 *   scale-in   when instances > MaxInstances (rule bound), or when for every managed
 *              resource the set's summed upper bounds stay below LowerBand times the
 *              allocation of the other instances for ScaleCooldown (rule quiet): the
 *              rest would absorb the load without leaving their band.
 * Only an instance made from the template ("<template>-<n>", the highest n) is ever
 * scaled in; the VMs an operator made are not ours to remove. Scale actions are at
 * least ScaleCooldown apart, so a new instance has time to boot and take load.
 * Names: "<template>-<n>" with the smallest n not used since the planner started and
 * not among the rows. The hypervisor layer gives the new domain its UUID and MAC. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static int row_has_vm(const act_cycle *in, const char *vm) {
  for (size_t i = 0; i < in->n_vms; i++)
    if (strcmp(in->vms[i].vm, vm) == 0)
      return 1;
  return 0;
}

static int count_instances(const act_cycle *in) {
  int n = 0;
  for (size_t i = 0; i < in->n_vms; i++) {
    size_t j = 0;
    while (j < i && strcmp(in->vms[j].vm, in->vms[i].vm) != 0)
      j++;
    n += j == i;
  }
  return n;
}

/* The template instance with the highest suffix, or NULL. */
static const char *candidate(const act_cycle *in, const char *tmpl) {
  size_t len = strlen(tmpl);
  const char *best = NULL;
  unsigned long best_n = 0;
  for (size_t i = 0; i < in->n_vms; i++) {
    const char *vm = in->vms[i].vm;
    if (strncmp(vm, tmpl, len) != 0 || vm[len] != '-' || vm[len + 1] == '\0' ||
        strspn(vm + len + 1, "0123456789") != strlen(vm + len + 1))
      continue;
    unsigned long n = strtoul(vm + len + 1, NULL, 10);
    if (best == NULL || n > best_n) {
      best = vm;
      best_n = n;
    }
  }
  return best;
}

/* The rest would run below their lower band with the whole set's load. */
static int quiet(const act_cycle *in, const act_set_policy *set, const char *cand) {
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    if (!set->managed[r])
      continue;
    double load = 0, rest = 0;
    for (size_t i = 0; i < in->n_vms; i++) {
      const act_vm_state *row = &in->vms[i];
      int h_s;
      if (row->resource != (act_resource)r)
        continue;
      double hi = act__upper(row, set->lead_s, &h_s);
      if (isnan(hi))
        return 0; /* unknown load: not quiet */
      load += hi;
      if (strcmp(row->vm, cand) != 0)
        rest += row->alloc;
    }
    if (!(load < set->res[r].lower_band * rest))
      return 0;
  }
  return 1;
}

static int emit(act_planner *pl, const act_cycle *in, const act_set_policy *set,
                act_plan *out, act_kind k, const char *vm, int res, int n,
                const char *rule, double short_by) {
  int to = k == ACT_SCALE_OUT ? n + 1 : n - 1;
  act_decision *d = act__push(out, pl, set, in->now, k, vm,
                              res < 0 ? ACT_CPU : (act_resource)res, n, to, rule);
  if (d == NULL)
    return ACT_ENOMEM;
  pl->last_scale_ts = in->now;
  pl->quiet_since = 0;
  int rc = act__reasonf(d, " instances=%d min_instances=%d max_instances=%d "
                        "template=%s scale_cooldown=%ds", n, set->min_instances,
                        set->max_instances, set->scale_template, set->scale_cooldown_s);
  if (rc == 0 && res >= 0)
    rc = act__reasonf(d, " resource=%s short_by=%g", act_resource_name((act_resource)res),
                      short_by);
  return rc;
}

static int scale_out(act_planner *pl, const act_cycle *in, const act_set_policy *set,
                     act_plan *out, int n, int res, double short_by, const char *rule) {
  char name[ACT_NAME_MAX];
  for (;; pl->next_instance++) {
    int len = snprintf(name, sizeof(name), "%s-%u", set->scale_template, pl->next_instance);
    if (len < 0 || (size_t)len >= sizeof(name))
      return ACT_ENOSPC;
    if (!row_has_vm(in, name))
      break;
  }
  pl->next_instance++;
  return emit(pl, in, set, out, ACT_SCALE_OUT, name, res, n, rule, short_by);
}

int act__scale(act_planner *pl, const act_cycle *in, const act_set_policy *set,
               int short_res, double short_by, act_plan *out) {
  if (set->scale_template[0] == '\0')
    return 0;
  int n = count_instances(in);
  int64_t now = in->now;
  int cooled = pl->last_scale_ts == 0 || now - pl->last_scale_ts >= set->scale_cooldown_s;
  const char *cand = candidate(in, set->scale_template);
  if (!cooled)
    return 0;
  if (n < set->min_instances)
    return scale_out(pl, in, set, out, n, short_res, short_by, "bound");
  if (short_res >= 0 && n < set->max_instances)
    return scale_out(pl, in, set, out, n, short_res, short_by, "short");
  if (cand != NULL && n > set->max_instances)
    return emit(pl, in, set, out, ACT_SCALE_IN, cand, -1, n, "bound", 0);
  if (cand == NULL || short_res >= 0 || n <= set->min_instances || !quiet(in, set, cand)) {
    pl->quiet_since = 0;
    return 0;
  }
  if (pl->quiet_since == 0)
    pl->quiet_since = now;
  if (now - pl->quiet_since < set->scale_cooldown_s)
    return 0;
  return emit(pl, in, set, out, ACT_SCALE_IN, cand, -1, n, "quiet", 0);
}
