/* decision.c -- decision records, their reasons, and the plan that lists them.
 *
 * A decision says what to change (kind, VM, resource, from -> to, loan) and why. The
 * reason is key=value text an operator can read and a tool can split:
 *   rule=forecast hi=6.3@600s threshold=0.8 need=7.875 usage=5.1 alloc=6 min=1 max=8
 *   step=1 priority=10 cost=0.04
 * i.e. the forecast bound and its horizon, the threshold, what the rule derived from
 * them, and the policy values that bounded the result. A reason that does not fit its
 * buffer is an error (ACT_ENOSPC), never silently cut.
 * Not here: which decisions to make (planner.c and the rule files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static const char *const kind_names[ACT_KIND_COUNT] = {
    [ACT_GROW] = "grow",           [ACT_SHRINK] = "shrink",     [ACT_LEND] = "lend",
    [ACT_REPAY] = "repay",         [ACT_SCALE_OUT] = "scale_out",
    [ACT_SCALE_IN] = "scale_in",   [ACT_MANUAL] = "manual",
};

const char *act_kind_name(act_kind k) {
  return (unsigned)k < ACT_KIND_COUNT ? kind_names[k] : "?";
}

void act_plan_init(act_plan *plan) { memset(plan, 0, sizeof(*plan)); }

void act_plan_clear(act_plan *plan) {
  plan->n_decisions = 0;
  plan->n_shortfalls = 0;
}

void act_plan_free(act_plan *plan) {
  if (plan == NULL)
    return;
  free(plan->decisions);
  free(plan->shortfalls);
  act_plan_init(plan);
}

const act_decision *act_plan_find(const act_plan *plan, act_kind k, const char *vm) {
  for (size_t i = 0; i < plan->n_decisions; i++) {
    const act_decision *d = &plan->decisions[i];
    if (d->kind == k && (strcmp(d->vm, vm) == 0 || strcmp(d->peer, vm) == 0))
      return d;
  }
  return NULL;
}

static void set_name(char dst[ACT_NAME_MAX], const char *src) {
  snprintf(dst, ACT_NAME_MAX, "%s", src == NULL ? "" : src);
}

act_decision *act__push(act_plan *out, act_planner *pl, const act_set_policy *set,
                        int64_t now, act_kind k, const char *vm, act_resource r,
                        double from, double to, const char *rule) {
  if (act__grow((void **)&out->decisions, &out->cap_decisions, out->n_decisions + 1,
                sizeof(*out->decisions)) != 0)
    return NULL;
  act_decision *d = &out->decisions[out->n_decisions++];
  memset(d, 0, sizeof(*d));
  d->seq = ++pl->seq;
  d->ts = now;
  d->kind = k;
  set_name(d->vm, vm);
  d->resource = r;
  d->from = from;
  d->to = to;
  d->peer_from = d->peer_to = NAN;
  d->dry_run = set->dry_run;
  snprintf(d->rule, sizeof(d->rule), "%s", rule);
  act__reasonf(d, "rule=%s", rule);
  return d;
}

int act__reasonf(act_decision *d, const char *fmt, ...) {
  size_t len = strlen(d->reason);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(d->reason + len, sizeof(d->reason) - len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(d->reason) - len) {
    d->reason[len] = '\0'; /* all or nothing */
    return ACT_ENOSPC;
  }
  return 0;
}

int act__reason_vm(act_decision *d, const act__vm *v) {
  int rc = 0;
  if (isnan(v->upper))
    rc = act__reasonf(d, " forecast=none");
  else
    rc = act__reasonf(d, " hi=%g@%ds threshold=%g need=%g", v->upper, v->upper_h_s,
                      v->pol.threshold, v->need);
  if (rc == 0 && !isnan(v->cover) && v->cover_h_s != v->upper_h_s)
    rc = act__reasonf(d, " cover=%g@%ds", v->cover, v->cover_h_s);
  if (rc == 0 && !isnan(v->in->usage))
    rc = act__reasonf(d, " usage=%g", v->in->usage);
  if (rc == 0)
    rc = act__reasonf(d, " min=%g max=%g step=%g priority=%d cost=%g", v->pol.min,
                      v->pol.max, v->step, v->priority, v->pol.cost);
  return rc;
}

int act__shortfall(act_plan *out, const char *vm, act_resource r, double wanted,
                   double granted) {
  if (act__grow((void **)&out->shortfalls, &out->cap_shortfalls, out->n_shortfalls + 1,
                sizeof(*out->shortfalls)) != 0)
    return ACT_ENOMEM;
  act_shortfall *s = &out->shortfalls[out->n_shortfalls++];
  memset(s, 0, sizeof(*s));
  set_name(s->vm, vm);
  s->resource = r;
  s->wanted = wanted;
  s->granted = granted;
  return 0;
}
