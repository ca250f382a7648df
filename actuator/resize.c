/* resize.c -- what allocation each VM should have: the per-VM rules.
 *
 * For every VM of the resource, in this order (the first that applies wins):
 *   manual    an operator's set/hold: want = the held value within [min, max];
 *   bound     allocation outside [min, max]: back to the nearest bound at once;
 *   grow      want = quantize_up(max(forecast, fast)) when above the allocation, where
 *               forecast = hi(lead window) / Threshold                (proactive)
 *               fast     = max(usage / Threshold, alloc + step)  if usage >= FastCorrection
 *                          * alloc: a VM at its allocation is censored, its true demand
 *                          unseen, so it gets at least one more step now;
 *   shrink    only once hi / alloc has stayed below LowerBand for Cooldown seconds, and
 *             Cooldown after the VM's last resize; to
 *               max(quantize_up(need), usage * (1 + ShrinkMargin), alloc * (1 - MaxShrink),
 *                   min)
 *             A VM with loans outstanding, either way, does not shrink: a borrower
 *             returns loans first (borrow.c), and a lender's BorrowMax was granted
 *             against its allocation at the loan's start.
 * Shrinks are decided here and emitted at once, so the capacity they free is there for
 * the grants (capacity.c), which turn `want` into grow decisions.
 * The band is the hysteresis: after a shrink to need, hi / alloc = Threshold, above
 * LowerBand, so a steady forecast never flips between grow and shrink. */
#include <math.h>

#include "act_internal.h"

static int emit_shrink(act__cycle *c, act__vm *v, double to, const char *rule) {
  act_kind k = v->held ? ACT_MANUAL : ACT_SHRINK;
  act_decision *d = act__push(c->out, c->pl, c->set, c->in->now, k, v->in->vm, c->res,
                              v->alloc, to, rule);
  if (d == NULL)
    return ACT_ENOMEM;
  int rc = act__reason_vm(d, v);
  if (rc == 0 && k == ACT_SHRINK && v->track->below_since != 0)
    rc = act__reasonf(d, " lower_band=%g below_for=%llds cooldown=%ds margin=%g "
                      "max_shrink=%g", v->pol.lower_band,
                      (long long)(c->in->now - v->track->below_since), c->set->cooldown_s,
                      v->pol.margin, v->pol.max_shrink);
  if (rc == 0 && k == ACT_MANUAL)
    rc = act__reasonf(d, " held_until=%lld value=%g", (long long)v->track->hold_until,
                      v->track->hold_value);
  c->free += v->alloc - to;
  v->alloc = v->want = to;
  v->track->last_change = c->in->now;
  v->track->below_since = 0;
  return rc;
}

/* Keeps below_since: the start of the current run of cycles below the lower band. */
static void track_band(act__cycle *c, act__vm *v) {
  int below = !isnan(v->upper) && v->upper < v->pol.lower_band * v->alloc;
  if (!below)
    v->track->below_since = 0;
  else if (v->track->below_since == 0)
    v->track->below_since = c->in->now;
}

static int cooled(const act__cycle *c, const act__vm *v) {
  int64_t now = c->in->now, cd = c->set->cooldown_s;
  return v->track->below_since != 0 && now - v->track->below_since >= cd &&
         (v->track->last_change == 0 || now - v->track->last_change >= cd);
}

static double shrink_target(const act__vm *v) {
  double t = act__keep(v);
  double floor_step = v->alloc * (1 - v->pol.max_shrink);
  if (floor_step > t)
    t = act_quantize_up(floor_step, v->step, v->pol.min, v->pol.max);
  return t;
}

static int resize_held(act__cycle *c, act__vm *v) {
  double to = act_quantize_up(v->track->hold_value, v->step, v->pol.min, v->pol.max);
  v->rule = "manual";
  if (to < v->alloc - act__eps(v->step))
    return emit_shrink(c, v, to, "manual");
  v->want = to; /* a grow, if any, competes for capacity first (capacity.c) */
  return 0;
}

static int resize_one(act__cycle *c, act__vm *v) {
  double eps = act__eps(v->step);
  if (v->held)
    return resize_held(c, v);
  track_band(c, v);
  if (v->alloc > v->pol.max + eps && v->borrowed == 0)
    return emit_shrink(c, v, v->pol.max, "bound");
  if (v->alloc < v->pol.min - eps) {
    v->want = v->pol.min;
    v->rule = "bound";
  }
  double usage = v->in->usage;
  if (isfinite(usage) && usage >= c->set->fast_share * v->alloc && v->alloc < v->pol.max) {
    double fast = fmax(usage / v->pol.threshold, v->alloc + v->step);
    double to = act_quantize_up(fast, v->step, v->pol.min, v->pol.max);
    if (to > v->want + eps) {
      v->want = to;
      v->rule = "fast";
    }
  }
  if (!isnan(v->need)) {
    double to = act_quantize_up(v->need, v->step, v->pol.min, v->pol.max);
    if (to > v->want + eps) {
      v->want = to;
      v->rule = "forecast";
    }
  }
  if (v->want > v->alloc + eps || isnan(v->need) || v->borrowed > 0 || v->lent > 0 ||
      !cooled(c, v))
    return 0;
  double to = shrink_target(v);
  return to < v->alloc - eps ? emit_shrink(c, v, to, "cooldown") : 0;
}

int act__resize(act__cycle *c) {
  for (size_t i = 0; i < c->n_vms; i++) {
    int rc = resize_one(c, &c->vms[i]);
    if (rc != 0)
      return rc;
  }
  return 0;
}
