/* validate.c -- the ranges of every policy key, and messages that name key and value.
 *
 * Messages read like the config line at fault, prefixed with where it is:
 *   HostSet "web": BorrowMax cpu 1.5 (must be in [0, 1])
 *   HostSet "web" VM "web1": Limit memory 4096 1024 (min must not exceed max)
 * Keys are collectd's CamelCase names (DESIGN.md, "Configuration"), so an operator
 * finds the line to fix whether the policy came from collectd.conf or over MQTT.
 * A VM field left NAN inherits the set's value; relations that span the two (min <=
 * max, LowerBand < Threshold) are checked after inheritance. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "act_internal.h"

#define DAY_S 86400
#define WEEK_S (7 * 86400)
#define MAX_INSTANCES 10000

/* A double key with its domain; lo_open/hi_open: the bound itself is excluded. */
typedef struct res_key {
  const char *key;
  size_t off;
  double lo, hi;
  int lo_open, hi_open;
} res_key;

static const res_key res_keys[] = {
    {"Threshold", offsetof(act_res_policy, threshold), 0, 1, 1, 0},
    {"ShrinkMargin", offsetof(act_res_policy, margin), 0, INFINITY, 0, 1},
    {"MaxShrink", offsetof(act_res_policy, max_shrink), 0, 1, 1, 0},
    {"Cost", offsetof(act_res_policy, cost), 0, INFINITY, 0, 1},
    {"BorrowMax", offsetof(act_res_policy, lend_share), 0, 1, 0, 0},
    {"BorrowMaxAmount", offsetof(act_res_policy, lend_amount), 0, INFINITY, 0, 0},
    {"BorrowerMax", offsetof(act_res_policy, borrow_share), 0, INFINITY, 0, 0},
    {"BorrowerMaxAmount", offsetof(act_res_policy, borrow_amount), 0, INFINITY, 0, 0},
    {"BreakEven", offsetof(act_res_policy, break_even), 0, WEEK_S, 0, 0},
};

static int in_range(double v, double lo, double hi, int lo_open, int hi_open) {
  if (isnan(v))
    return 0;
  if (lo_open ? !(v > lo) : !(v >= lo))
    return 0;
  return hi_open ? v < hi : v <= hi;
}

/* "(must be in [0, 1])", "(must be >= 0)", "(must be > 0)" */
static void domain_text(char *buf, size_t n, double lo, double hi, int lo_open,
                        int hi_open) {
  if (isinf(hi))
    snprintf(buf, n, "must be %s %g%s", lo_open ? ">" : ">=", lo,
             hi_open ? " and finite" : "");
  else
    snprintf(buf, n, "must be in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
             hi_open ? ')' : ']');
}

static int bad_value(act_error *err, const char *where, const char *key,
                     const char *res, double v, const char *why) {
  return act__fail(err, ACT_EINVAL, "%s: %s%s%s %g (%s)", where, key, res ? " " : "",
                   res ? res : "", v, why);
}

static int check_double(act_error *err, const char *where, const char *key,
                        const char *res, double v, double lo, double hi, int lo_open,
                        int hi_open) {
  if (in_range(v, lo, hi, lo_open, hi_open))
    return 0;
  char why[96];
  domain_text(why, sizeof(why), lo, hi, lo_open, hi_open);
  return bad_value(err, where, key, res, v, why);
}

static int check_int(act_error *err, const char *where, const char *key, int v, int lo,
                     int hi) {
  if (v >= lo && v <= hi)
    return 0;
  return act__fail(err, ACT_EINVAL, "%s: %s %d (must be in [%d, %d])", where, key, v, lo,
                   hi);
}

/* The keys of one resource; with inherit, NAN means "the set's" and passes. */
static int check_res(act_error *err, const char *where, act_resource r,
                     const act_res_policy *rp, int inherit) {
  const char *rn = act_resource_name(r);
  for (size_t i = 0; i < sizeof(res_keys) / sizeof(res_keys[0]); i++) {
    const res_key *k = &res_keys[i];
    double v = *(const double *)((const char *)rp + k->off);
    if (inherit && isnan(v))
      continue;
    int rc = check_double(err, where, k->key, rn, v, k->lo, k->hi, k->lo_open, k->hi_open);
    if (rc != 0)
      return rc;
  }
  if (!(inherit && isnan(rp->min)) && !(rp->min >= 0 && isfinite(rp->min)))
    return bad_value(err, where, "Limit", rn, rp->min, "min must be >= 0 and finite");
  if (!(inherit && isnan(rp->max)) && !(rp->max > 0))
    return bad_value(err, where, "Limit", rn, rp->max, "max must be > 0");
  if (!(inherit && isnan(rp->lower_band)) && !(rp->lower_band >= 0 && rp->lower_band < 1))
    return bad_value(err, where, "LowerBand", rn, rp->lower_band, "must be in [0, 1)");
  return 0;
}

/* Relations after inheritance: min <= max, LowerBand < Threshold. */
static int check_relations(act_error *err, const char *where, act_resource r,
                           const act_res_policy *rp) {
  const char *rn = act_resource_name(r);
  if (rp->min > rp->max)
    return act__fail(err, ACT_EINVAL, "%s: Limit %s %g %g (min must not exceed max)",
                     where, rn, rp->min, rp->max);
  if (rp->lower_band >= rp->threshold)
    return act__fail(err, ACT_EINVAL,
                     "%s: LowerBand %s %g (must be below Threshold %s %g)", where, rn,
                     rp->lower_band, rn, rp->threshold);
  return 0;
}

static int check_set_res(act_error *err, const char *where, const act_set_policy *s,
                         act_resource r) {
  const char *rn = act_resource_name(r);
  int rc = 0;
  if (s->managed[r] != 0 && s->managed[r] != 1)
    rc = act__fail(err, ACT_EINVAL, "%s: Manage %s %d (must be true or false)", where, rn,
                   s->managed[r]);
  if (rc == 0)
    rc = check_double(err, where, "Capacity", rn, s->capacity[r], 0, INFINITY, 1, 0);
  if (rc == 0)
    rc = check_double(err, where, "Step", rn, s->step[r], 0, INFINITY, 1, 1);
  if (rc == 0)
    rc = check_res(err, where, r, &s->res[r], 0);
  if (rc == 0)
    rc = check_relations(err, where, r, &s->res[r]);
  return rc;
}

static int check_set_scalars(act_error *err, const char *where, const act_set_policy *s) {
  int rc = check_int(err, where, "LeadTime", s->lead_s, 0, DAY_S);
  if (rc == 0)
    rc = check_int(err, where, "PlanHorizon", s->horizon_s, 0, DAY_S);
  if (rc == 0)
    rc = check_int(err, where, "Cooldown", s->cooldown_s, 0, WEEK_S);
  if (rc == 0)
    rc = check_double(err, where, "FastCorrection", NULL, s->fast_share, 0, 1, 1, 0);
  if (rc == 0)
    rc = check_int(err, where, "BorrowDuration", s->borrow_duration_s, 1, WEEK_S);
  if (rc == 0 && s->scale_template[0] != '\0' && !act__name_ok(s->scale_template))
    rc = act__fail(err, ACT_EINVAL,
                   "%s: ScaleOutTemplate \"%.63s\" (must be printable, without spaces)",
                   where, s->scale_template);
  if (rc == 0)
    rc = check_int(err, where, "MinInstances", s->min_instances, 0, MAX_INSTANCES);
  if (rc == 0)
    rc = check_int(err, where, "MaxInstances", s->max_instances, s->min_instances,
                   MAX_INSTANCES);
  if (rc == 0)
    rc = check_int(err, where, "ScaleCooldown", s->scale_cooldown_s, 0, WEEK_S);
  if (rc == 0)
    rc = check_int(err, where, "DryRun", s->dry_run, 0, 1);
  return rc;
}

int act__validate_set(const act_set_policy *s, act_error *err) {
  if (s == NULL)
    return act__fail(err, ACT_EINVAL, "HostSet: (null)");
  if (!act__name_ok(s->name))
    return act__fail(err, ACT_EINVAL,
                     "HostSet \"%.63s\": name (must be 1 to %d printable characters "
                     "without spaces)", s->name, ACT_NAME_MAX - 1);
  char where[96];
  snprintf(where, sizeof(where), "HostSet \"%s\"", s->name);
  int rc = check_set_scalars(err, where, s);
  for (int r = 0; rc == 0 && r < ACT_RES_COUNT; r++)
    rc = check_set_res(err, where, s, (act_resource)r);
  return rc;
}

void act__effective(const act_set_policy *s, const act_vm_policy *vm, act_resource r,
                    act_res_policy *out) {
  *out = s->res[r];
  if (vm == NULL)
    return;
  const act_res_policy *o = &vm->res[r];
  double *dst = (double *)out;
  const double *src = (const double *)o;
  /* act_res_policy is doubles only: every field inherits the same way */
  for (size_t i = 0; i < sizeof(*o) / sizeof(double); i++)
    if (!isnan(src[i]))
      dst[i] = src[i];
}

int act__validate_vm(const act_set_policy *s, const act_vm_policy *vm, act_error *err) {
  if (vm == NULL)
    return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM: (null)", s->name);
  if (!act__name_ok(vm->name))
    return act__fail(err, ACT_EINVAL,
                     "HostSet \"%s\" VM \"%.63s\": name (must be 1 to %d printable "
                     "characters without spaces)", s->name, vm->name, ACT_NAME_MAX - 1);
  char where[160];
  snprintf(where, sizeof(where), "HostSet \"%s\" VM \"%s\"", s->name, vm->name);
  int rc = check_int(err, where, "Priority", vm->priority, -1000000, 1000000);
  for (int r = 0; rc == 0 && r < ACT_RES_COUNT; r++) {
    act_res_policy eff;
    rc = check_res(err, where, (act_resource)r, &vm->res[r], 1);
    act__effective(s, vm, (act_resource)r, &eff);
    if (rc == 0)
      rc = check_relations(err, where, (act_resource)r, &eff);
  }
  return rc;
}

int act__validate_members(const act__set *set, const act_set_policy *pol,
                          const act_vm_policy *extra, act_error *err) {
  int rc = extra == NULL ? 0 : act__validate_vm(pol, extra, err);
  for (size_t i = 0; rc == 0 && i < set->n_vms; i++)
    rc = act__validate_vm(pol, &set->vms[i], err);
  for (int r = 0; rc == 0 && r < ACT_RES_COUNT; r++) {
    if (!pol->managed[r])
      continue;
    double sum = 0;
    act_res_policy eff;
    for (size_t i = 0; i < set->n_vms; i++) {
      if (extra != NULL && strcmp(set->vms[i].name, extra->name) == 0)
        continue; /* replaced by extra */
      act__effective(pol, &set->vms[i], (act_resource)r, &eff);
      sum += eff.min;
    }
    if (extra != NULL) {
      act__effective(pol, extra, (act_resource)r, &eff);
      sum += eff.min;
    }
    if (sum > pol->capacity[r])
      rc = act__fail(err, ACT_EINVAL,
                     "HostSet \"%s\": Limit %s minimums sum to %g (must not exceed "
                     "Capacity %s %g)", pol->name, act_resource_name((act_resource)r), sum,
                     act_resource_name((act_resource)r), pol->capacity[r]);
  }
  return rc;
}
