/* resize.c -- what allocation each VM should have: the per-VM rules.
 *
 * Two bounds come from the forecast (planner.c): `need`, the highest `hi` over the
 * LeadTime window divided by Threshold (what the VM needs by the time a decision made
 * now takes effect), and `cover_need`, the highest `hi` up to PlanHorizon, and at least
 * the LeadTime window's, divided by Threshold (what one resize should last for; = need
 * when PlanHorizon is 0).
 * For every VM of the resource, in this order (the first that applies wins):
 *   manual    an operator's set/hold: want = the held value within [min, max];
 *   bound     allocation outside [min, max]: back to the nearest bound at once;
 *   grow      when quantize_up(need) is above the allocation (proactive) or
 *             usage >= FastCorrection * alloc (fast: a VM at its allocation is
 *             censored, its true demand unseen, so it gets at least
 *             max(usage / Threshold, alloc + step) now); either way the VM is sized
 *             for quantize_up(cover_need) at least, so that a rise foreseen within the
 *             PlanHorizon does not cost a second grow;
 *   shrink    never below quantize_up(cover_need), usage * (1 + ShrinkMargin),
 *             alloc * (1 - MaxShrink) or min. When it happens:
 *     BreakEven 0: once hi / alloc has stayed below LowerBand for Cooldown seconds,
 *             and Cooldown after the VM's last resize; to the bound above with `need`.
 *             The band is the hysteresis: after a shrink to need, hi / alloc =
 *             Threshold, above LowerBand, so a steady forecast never flips.
 *     BreakEven > 0: Cooldown after the last resize, once the waste reaches BreakEven
 *             seconds (ski rental: keep paying for the excess until it has cost as
 *             much as a resize, then resize; never more than twice the best offline
 *             choice, Karlin et al. 1988). The waste of a target T is
 *               (alloc - T) / mean allocation * (time during which every cycle's
 *                                                 quantize_up(need) stayed <= T),
 *             over the run since the last resize (at most a day), T taking each level
 *             the needs reached; the shrink goes to the T of the largest waste. So a
 *             deep cut comes fast, a one-step trim only after long evidence, and a
 *             VM holds at most one allocation's worth of waste per BreakEven seconds
 *             for each resize. Measuring against the VM's mean allocation (not the
 *             current one) makes the waste after a spike's grow count in full.
 *             A VM with loans outstanding, either way, does not shrink: a borrower
 *             returns loans first (borrow.c), and a lender's BorrowMax was granted
 *             against its allocation at the loan's start.
 * Shrinks are decided here and emitted at once, so the capacity they free is there for
 * the grants (capacity.c), which turn `want` into grow decisions. */
#include <math.h>

#include "act_internal.h"

#define RUN_MAX_S 86400 /* BreakEven counts waste over at most this much of the run */

/* Why a BreakEven shrink fired, for its reason. */
typedef struct waste_of {
  double waste_s; /* the waste that reached BreakEven */
  int64_t since;  /* counted from here */
} waste_of;

static int emit_shrink(act__cycle *c, act__vm *v, double to, const char *rule,
                       const waste_of *why) {
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
  if (rc == 0 && why != NULL)
    rc = act__reasonf(d, " waste=%.0fs break_even=%gs mean_alloc=%g since=%lld "
                      "cooldown=%ds margin=%g max_shrink=%g", why->waste_s,
                      v->pol.break_even, v->track->mean_alloc, (long long)why->since,
                      c->set->cooldown_s, v->pol.margin, v->pol.max_shrink);
  if (rc == 0 && k == ACT_MANUAL)
    rc = act__reasonf(d, " held_until=%lld value=%g", (long long)v->track->hold_until,
                      v->track->hold_value);
  c->free += v->alloc - to;
  v->alloc = v->want = to;
  act__track_changed(v->track, c->in->now);
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

static double quantize(const act__vm *v, double x) {
  return act_quantize_up(x, v->step, v->pol.min, v->pol.max);
}

/* The least allocation a shrink may leave when the forecast asks for `level`: also
 * the PlanHorizon's bound, usage with its margin, and one MaxShrink step. */
static double shrink_floor(const act__vm *v, double level) {
  double t = level;
  if (!isnan(v->cover_need) && quantize(v, v->cover_need) > t)
    t = quantize(v, v->cover_need);
  if (isfinite(v->in->usage) && v->in->usage * (1 + v->pol.margin) > t)
    t = quantize(v, v->in->usage * (1 + v->pol.margin));
  double floor_step = v->alloc * (1 - v->pol.max_shrink);
  if (floor_step > t)
    t = quantize(v, floor_step);
  return quantize(v, t);
}

static double shrink_target(const act__vm *v) {
  return shrink_floor(v, act__keep(v));
}

/* BreakEven: appends this cycle's need level to the run, keeping only the levels
 * that are the highest since the one before them (a falling staircase). */
static void note_need(act__cycle *c, act__vm *v) {
  act__track *t = v->track;
  int64_t now = c->in->now;
  if (t->run_start == 0)
    t->run_start = now;
  if (t->run_start < now - RUN_MAX_S)
    t->run_start = now - RUN_MAX_S;
  int drop = 0; /* levels from before the run's start say nothing about it */
  while (drop < t->n_levels && t->levels[drop].ts < t->run_start)
    drop++;
  for (int i = drop; i < t->n_levels; i++)
    t->levels[i - drop] = t->levels[i];
  t->n_levels -= drop;
  if (isnan(v->need))
    return;
  double level = quantize(v, v->need);
  while (t->n_levels > 0 && t->levels[t->n_levels - 1].level <= level)
    t->n_levels--;
  if (t->n_levels == ACT__LEVELS) { /* full: forget the oldest (highest) level */
    t->run_start = t->levels[0].ts;
    for (int i = 1; i < t->n_levels; i++)
      t->levels[i - 1] = t->levels[i];
    t->n_levels--;
  }
  t->levels[t->n_levels++] = (act__level){.level = level, .ts = now};
}

static int shrink_break_even(act__cycle *c, act__vm *v) {
  const act__track *t = v->track;
  int64_t now = c->in->now;
  if (t->last_change != 0 && now - t->last_change < c->set->cooldown_s)
    return 0;
  if (!(t->mean_alloc > 0))
    return 0;
  double best_waste = 0, best_to = v->alloc;
  int64_t best_since = 0;
  for (int j = 0; j < t->n_levels; j++) {
    int64_t since = j == 0 ? t->run_start : t->levels[j - 1].ts;
    double to = shrink_floor(v, t->levels[j].level);
    double waste = (v->alloc - to) / t->mean_alloc * (double)(now - since);
    if (to < v->alloc - act__eps(v->step) && waste > best_waste) {
      best_waste = waste;
      best_to = to;
      best_since = since;
    }
  }
  if (best_waste < v->pol.break_even || best_waste <= 0)
    return 0;
  waste_of why = {.waste_s = best_waste, .since = best_since};
  return emit_shrink(c, v, best_to, "break_even", &why);
}

static int resize_held(act__cycle *c, act__vm *v) {
  double to = quantize(v, v->track->hold_value);
  v->rule = "manual";
  v->track->run_start = 0; /* waste while held is the operator's choice: the run */
  v->track->n_levels = 0;  /* starts again at the first cycle after the hold */
  if (to < v->alloc - act__eps(v->step))
    return emit_shrink(c, v, to, "manual", NULL);
  v->want = to; /* a grow, if any, competes for capacity first (capacity.c) */
  return 0;
}

/* The grow rules: bound (below min), fast correction, forecast; then the cover. */
static void grow_want(act__cycle *c, act__vm *v) {
  double eps = act__eps(v->step);
  if (v->alloc < v->pol.min - eps) {
    v->want = v->pol.min;
    v->rule = "bound";
  }
  double usage = v->in->usage;
  if (isfinite(usage) && usage >= c->set->fast_share * v->alloc && v->alloc < v->pol.max) {
    double to = quantize(v, fmax(usage / v->pol.threshold, v->alloc + v->step));
    if (to > v->want + eps) {
      v->want = to;
      v->rule = "fast";
    }
  }
  if (!isnan(v->need)) {
    double to = quantize(v, v->need);
    if (to > v->want + eps) {
      v->want = to;
      v->rule = "forecast";
    }
  }
  if (v->want > v->alloc + eps && !isnan(v->cover_need) &&
      quantize(v, v->cover_need) > v->want + eps)
    v->want = quantize(v, v->cover_need);
}

static int resize_one(act__cycle *c, act__vm *v) {
  double eps = act__eps(v->step);
  if (v->held)
    return resize_held(c, v);
  int break_even = v->pol.break_even > 0;
  if (break_even)
    note_need(c, v);
  else
    track_band(c, v);
  if (v->alloc > v->pol.max + eps && v->borrowed == 0)
    return emit_shrink(c, v, v->pol.max, "bound", NULL);
  grow_want(c, v);
  if (v->want > v->alloc + eps || isnan(v->need) || v->borrowed > 0 || v->lent > 0)
    return 0;
  if (break_even)
    return shrink_break_even(c, v);
  if (!cooled(c, v))
    return 0;
  double to = shrink_target(v);
  return to < v->alloc - eps ? emit_shrink(c, v, to, "cooldown", NULL) : 0;
}

int act__resize(act__cycle *c) {
  for (size_t i = 0; i < c->n_vms; i++) {
    int rc = resize_one(c, &c->vms[i]);
    if (rc != 0)
      return rc;
  }
  return 0;
}
