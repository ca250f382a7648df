/* planner.c -- one planning cycle of a host set, and the planner's memory.
 *
 * act_planner_plan() is a function of (policy, ledger, VM rows, now) and of the
 * planner's memory, which holds only what rules over time need: when a VM's upper
 * bound went below its lower band (the shrink cooldown), when it was last resized,
 * its mean allocation and the need levels since (BreakEven), manual holds, when the
 * set last scaled. Each managed resource is planned on its own
 * through the pipeline described in act_internal.h; scale-out/in looks at all of them.
 * The ledger is only read: a lend decision carries the loan the applier records with
 * act_ledger_lend() once it has applied it, with the id the planner chose
 * (act_ledger_next_id() onwards, so ids agree).
 * Decisions are taken as if applied at once: the memory records a resize when it is
 * decided. In DryRun nothing is applied, so the next cycle sees the old allocation and
 * may decide the same again: that is the shadow mode's output.
 * Not here: the rules themselves (borrow.c, resize.c, capacity.c, scale.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

#define MEAN_ALLOC_S 86400.0 /* time constant of a track's mean allocation */

act_planner *act_planner_create(act_error *err) {
  act_planner *pl = calloc(1, sizeof(*pl));
  if (pl == NULL)
    act__fail(err, ACT_ENOMEM, "planner: out of memory");
  else
    pl->next_instance = 1;
  return pl;
}

void act_planner_destroy(act_planner *pl) {
  if (pl == NULL)
    return;
  free(pl->tracks);
  free(pl);
}

static act__track *track_find(const act_planner *pl, const char *vm, act_resource r) {
  for (size_t i = 0; i < pl->n_tracks; i++)
    if (pl->tracks[i].res == r && strcmp(pl->tracks[i].vm, vm) == 0)
      return &pl->tracks[i];
  return NULL;
}

act__track *act__track_get(act_planner *pl, const char *vm, act_resource r) {
  act__track *t = track_find(pl, vm, r);
  if (t != NULL)
    return t;
  if (act__grow((void **)&pl->tracks, &pl->cap_tracks, pl->n_tracks + 1,
                sizeof(*pl->tracks)) != 0)
    return NULL;
  t = &pl->tracks[pl->n_tracks++];
  memset(t, 0, sizeof(*t));
  snprintf(t->vm, sizeof(t->vm), "%s", vm);
  t->res = r;
  t->hold_value = NAN;
  return t;
}

/* The VM's mean allocation, what BreakEven measures waste against: an exponential
 * average with a time constant of a day, so that one resize's worth of waste means
 * the same at every hour while the VM's typical size may drift over days. */
static void track_mean(act__track *t, double alloc, int64_t now) {
  if (t->mean_ts == 0 || !isfinite(t->mean_alloc)) {
    t->mean_alloc = alloc;
  } else if (now > t->mean_ts) {
    double w = 1.0 - exp(-(double)(now - t->mean_ts) / MEAN_ALLOC_S);
    t->mean_alloc += w * (alloc - t->mean_alloc);
  }
  t->mean_ts = now;
}

void act__track_changed(act__track *t, int64_t now) {
  t->last_change = now;
  t->below_since = 0;
  t->run_start = now;
  t->n_levels = 0;
}

/* Drops the memory of VMs no longer seen, unless an operator's hold is pending or
 * the VM's cooldown still runs: a VM missing from a cycle (its values late, or the
 * first cycles after a restart, which restored the cooldown) must not come back free
 * to be resized at once. */
static void tracks_prune(act_planner *pl, int64_t now, int cooldown_s) {
  size_t keep = 0;
  for (size_t i = 0; i < pl->n_tracks; i++) {
    const act__track *t = &pl->tracks[i];
    if (t->seen_ts == now || t->hold_until > now ||
        (t->last_change != 0 && now - t->last_change < cooldown_s))
      pl->tracks[keep++] = *t;
  }
  pl->n_tracks = keep;
}

int act_planner_manual(act_planner *pl, const act_manual *m, int64_t now,
                       act_error *err) {
  if (m == NULL || !act__name_ok(m->vm))
    return act__fail(err, ACT_EINVAL, "manual: VM name (must be printable, no spaces)");
  if ((unsigned)m->resource >= ACT_RES_COUNT)
    return act__fail(err, ACT_EINVAL, "manual %s: resource %d (no such resource)", m->vm,
                     (int)m->resource);
  const char *rn = act_resource_name(m->resource);
  if (m->action == ACT_MANUAL_RELEASE) {
    act__track *t = track_find(pl, m->vm, m->resource);
    if (t != NULL) {
      t->hold_until = 0;
      t->hold_value = NAN;
    }
    return 0;
  }
  if (m->action != ACT_MANUAL_SET && m->action != ACT_MANUAL_HOLD)
    return act__fail(err, ACT_EINVAL, "manual %s %s: action %d (must be set, hold or "
                     "release)", m->vm, rn, (int)m->action);
  if (m->duration_s <= 0)
    return act__fail(err, ACT_EINVAL, "manual %s %s: duration %d (must be > 0)", m->vm,
                     rn, m->duration_s);
  if (m->action == ACT_MANUAL_SET && !(m->value >= 0 && isfinite(m->value)))
    return act__fail(err, ACT_EINVAL, "manual %s %s: value %g (must be >= 0)", m->vm, rn,
                     m->value);
  act__track *t = act__track_get(pl, m->vm, m->resource);
  if (t == NULL)
    return act__fail(err, ACT_ENOMEM, "manual %s %s: out of memory", m->vm, rn);
  t->hold_until = now + m->duration_s;
  t->hold_value = m->action == ACT_MANUAL_SET ? m->value : NAN;
  return 0;
}

int64_t act_planner_held_until(const act_planner *pl, const char *vm, act_resource r,
                               int64_t now) {
  const act__track *t = track_find(pl, vm, r);
  return t != NULL && t->hold_until > now ? t->hold_until : 0;
}

double act__upper(const act_vm_state *row, int lead_s, int *h_s) {
  double upper = NAN;
  int beyond = -1; /* index of the first point at or past the lead time */
  *h_s = 0;
  for (size_t i = 0; i < row->n_points; i++) {
    const act_point *p = &row->points[i];
    if (!isfinite(p->hi))
      continue;
    if (p->h_s >= lead_s && (beyond < 0 || p->h_s < row->points[beyond].h_s))
      beyond = (int)i;
    if (p->h_s <= lead_s && !(p->hi <= upper)) {
      upper = p->hi;
      *h_s = p->h_s;
    }
  }
  if (beyond >= 0 && !(row->points[beyond].hi <= upper)) {
    upper = row->points[beyond].hi;
    *h_s = row->points[beyond].h_s;
  }
  return upper;
}

/* The highest `hi` of the points up to horizon_s, and at least the lead window's
 * bound `upper` (NAN when neither exists); *h_s its horizon. */
static double cover(const act_vm_state *row, int horizon_s, double upper, int upper_h_s,
                    int *h_s) {
  double best = upper;
  *h_s = upper_h_s;
  for (size_t i = 0; i < row->n_points; i++) {
    const act_point *p = &row->points[i];
    if (isfinite(p->hi) && p->h_s <= horizon_s && !(p->hi <= best)) {
      best = p->hi;
      *h_s = p->h_s;
    }
  }
  return best;
}

double act__keep(const act__vm *v) {
  if (isnan(v->need))
    return NAN;
  double keep = v->need;
  if (isfinite(v->in->usage) && v->in->usage * (1 + v->pol.margin) > keep)
    keep = v->in->usage * (1 + v->pol.margin);
  return act_quantize_up(keep, v->step, v->pol.min, v->pol.max);
}

act__vm *act__cycle_vm(act__cycle *c, const char *name) {
  for (size_t i = 0; i < c->n_vms; i++)
    if (strcmp(c->vms[i].in->vm, name) == 0)
      return &c->vms[i];
  return NULL;
}

static int check_rows(const act_cycle *in, act_error *err) {
  for (size_t i = 0; i < in->n_vms; i++) {
    const act_vm_state *s = &in->vms[i];
    if (!act__name_ok(s->vm))
      return act__fail(err, ACT_EINVAL, "HostSet \"%s\": row %zu: VM name (must be "
                       "printable, no spaces)", in->set, i);
    if ((unsigned)s->resource >= ACT_RES_COUNT)
      return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM \"%s\": resource %d", in->set,
                       s->vm, (int)s->resource);
    const char *rn = act_resource_name(s->resource);
    if (!(s->alloc >= 0) || !isfinite(s->alloc))
      return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM \"%s\": %s allocation %g "
                       "(must be >= 0)", in->set, s->vm, rn, s->alloc);
    if (s->n_points > 0 && s->points == NULL)
      return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM \"%s\": %s: %zu points, none "
                       "given", in->set, s->vm, rn, s->n_points);
    for (size_t j = 0; j < i; j++)
      if (in->vms[j].resource == s->resource && strcmp(in->vms[j].vm, s->vm) == 0)
        return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM \"%s\": %s given twice",
                         in->set, s->vm, rn);
  }
  return 0;
}

/* Fills one act__vm from its row; ACT_ENOMEM if its memory cannot be made. */
static int prepare_vm(act__cycle *c, const act__set *set, const act_vm_state *row,
                      act__vm *v) {
  const act_vm_policy *vp = NULL;
  for (size_t i = 0; i < set->n_vms; i++)
    if (strcmp(set->vms[i].name, row->vm) == 0)
      vp = &set->vms[i];
  memset(v, 0, sizeof(*v));
  v->in = row;
  act__effective(&set->pol, vp, c->res, &v->pol);
  v->priority = vp == NULL ? 0 : vp->priority;
  v->step = set->pol.step[c->res];
  v->alloc = v->want = row->alloc;
  v->upper = act__upper(row, set->pol.lead_s, &v->upper_h_s);
  v->need = v->upper / v->pol.threshold;
  v->cover = cover(row, set->pol.horizon_s, v->upper, v->upper_h_s, &v->cover_h_s);
  v->cover_need = v->cover / v->pol.threshold;
  if ((v->track = act__track_get(c->pl, row->vm, c->res)) == NULL)
    return ACT_ENOMEM;
  v->track->seen_ts = c->in->now;
  track_mean(v->track, row->alloc, c->in->now);
  if (v->track->hold_until > c->in->now) {
    v->held = 1;
    if (isnan(v->track->hold_value))
      v->track->hold_value = row->alloc;
  } else {
    v->track->hold_until = 0;
    v->track->hold_value = NAN;
  }
  return 0;
}

static int load_loans(act__cycle *c) {
  const act_ledger *l = c->in->ledger;
  if (l == NULL)
    return 0;
  c->next_loan_id = act_ledger_next_id(l);
  c->loans = calloc(act_ledger_count(l) + 1, sizeof(*c->loans));
  if (c->loans == NULL)
    return ACT_ENOMEM;
  for (size_t i = 0; i < act_ledger_count(l); i++) {
    const act_loan *k = act_ledger_at(l, i);
    if (k->resource != c->res)
      continue;
    c->loans[c->n_loans++] = (act__loan_ref){.loan = *k, .open = 1};
    act__vm *lender = act__cycle_vm(c, k->lender), *borrower = act__cycle_vm(c, k->borrower);
    if (lender != NULL)
      lender->lent += k->amount;
    if (borrower != NULL)
      borrower->borrowed += k->amount;
  }
  return 0;
}

/* Plans one resource; sets *short_by to what the set could not give (0: none). */
static int plan_resource(act__cycle *c, const act__set *set, double *short_by) {
  c->vms = calloc(c->in->n_vms + 1, sizeof(*c->vms));
  if (c->vms == NULL)
    return ACT_ENOMEM;
  double sum = 0, sum_keep = 0;
  for (size_t i = 0; i < c->in->n_vms; i++) {
    if (c->in->vms[i].resource != c->res)
      continue;
    act__vm *v = &c->vms[c->n_vms++];
    int rc = prepare_vm(c, set, &c->in->vms[i], v);
    if (rc != 0)
      return rc;
    sum += v->alloc;
    sum_keep += isnan(v->need) ? v->alloc : act__keep(v);
  }
  c->capacity = set->pol.capacity[c->res];
  c->free = c->capacity > sum ? c->capacity - sum : 0;
  int rc = load_loans(c);
  if (rc == 0)
    rc = act__settle_loans(c);
  if (rc == 0)
    rc = act__resize(c);
  if (rc == 0)
    rc = act__grant(c);
  *short_by = c->unmet;
  if (*short_by <= act__eps(set->pol.step[c->res]) && sum_keep > c->capacity)
    *short_by = sum_keep - c->capacity; /* forecast total beyond capacity */
  return rc;
}

static int plan_all(act_planner *pl, const act_cycle *in, const act__set *set,
                    act_plan *out) {
  int short_res = -1;
  double short_by = 0;
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    if (!set->pol.managed[r])
      continue;
    act__cycle c = {.in = in, .set = &set->pol, .pl = pl, .out = out,
                    .res = (act_resource)r};
    double by = 0;
    int rc = plan_resource(&c, set, &by);
    free(c.vms);
    free(c.loans);
    if (rc != 0)
      return rc;
    if (short_res < 0 && by > act__eps(set->pol.step[r])) {
      short_res = r;
      short_by = by;
    }
  }
  return act__scale(pl, in, &set->pol, short_res, short_by, out);
}

int act_planner_plan(act_planner *pl, const act_cycle *in, act_plan *out,
                     act_error *err) {
  if (in == NULL || in->policy == NULL || (in->n_vms > 0 && in->vms == NULL))
    return act__fail(err, ACT_EINVAL, "plan: missing policy or rows");
  const act__set *set = act__policy_find(in->policy, in->set);
  if (set == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%s\": no such set",
                     in->set ? in->set : "");
  int rc = check_rows(in, err);
  if (rc != 0)
    return rc;
  act_plan_clear(out);
  uint64_t seq0 = pl->seq;
  rc = plan_all(pl, in, set, out);
  if (rc != 0) {
    act_plan_clear(out); /* no half plans */
    pl->seq = seq0;
    return act__fail(err, rc, "HostSet \"%s\": planning: %s", set->pol.name,
                     act_strerror(rc));
  }
  tracks_prune(pl, in->now, set->pol.cooldown_s);
  return 0;
}
