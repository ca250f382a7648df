/* capacity.c -- granting grows within the host set's capacity.
 *
 * Requests (want > alloc) are served in this order:
 *   1. manual overrides (an operator asked for exactly this);
 *   2. higher Priority first;
 *   3. lower Cost per unit-hour first (the cheaper unit of performance);
 *   4. VM name, so that a plan is reproducible.
 * Each gets what the set has free, on the grid (a partial grant is the largest grid
 * value that fits); what is still missing is asked from lenders (borrow.c), and what
 * even they cannot give is reported as a shortfall. The set's capacity is never
 * exceeded: grows take only from c->free, which shrinks and repayments fill first.
 * Not here: preempting lower-priority VMs beyond what they lend (a shrink follows its
 * own rules in resize.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static int request_cmp(const void *a, const void *b) {
  const act__vm *x = *(const act__vm *const *)a, *y = *(const act__vm *const *)b;
  if (x->held != y->held)
    return y->held - x->held;
  if (x->priority != y->priority)
    return x->priority > y->priority ? -1 : 1;
  if (x->pol.cost != y->pol.cost)
    return x->pol.cost < y->pol.cost ? -1 : 1;
  return strcmp(x->in->vm, y->in->vm);
}

static int emit_grow(act__cycle *c, act__vm *v, double to) {
  act_kind k = v->held ? ACT_MANUAL : ACT_GROW;
  act_decision *d = act__push(c->out, c->pl, c->set, c->in->now, k, v->in->vm, c->res,
                              v->alloc, to, v->rule ? v->rule : "forecast");
  if (d == NULL)
    return ACT_ENOMEM;
  int rc = act__reason_vm(d, v);
  if (rc == 0 && to < v->want)
    rc = act__reasonf(d, " wanted=%g free=%g capacity=%g", v->want, c->free, c->capacity);
  if (rc == 0 && v->rule != NULL && strcmp(v->rule, "fast") == 0)
    rc = act__reasonf(d, " fast_correction=%g", c->set->fast_share);
  if (rc == 0 && v->held)
    rc = act__reasonf(d, " held_until=%lld value=%g", (long long)v->track->hold_until,
                      v->track->hold_value);
  c->free -= to - v->alloc;
  v->alloc = to;
  act__track_changed(v->track, c->in->now);
  return rc;
}

/* Serves one request from free capacity, then from lenders; records a shortfall. */
static int serve(act__cycle *c, act__vm *v) {
  double eps = act__eps(v->step), to = v->want;
  if (to - v->alloc > c->free) /* partial: the largest grid value that fits */
    to = act_quantize_down(v->alloc + c->free, v->step);
  int rc = to > v->alloc + eps ? emit_grow(c, v, to) : 0;
  double unmet = v->want - v->alloc;
  if (rc == 0 && unmet > eps && !v->held)
    rc = act__borrow(c, v, &unmet);
  if (rc == 0 && unmet > eps) {
    c->unmet += unmet;
    rc = act__shortfall(c->out, v->in->vm, c->res, v->want, v->alloc);
  }
  return rc;
}

int act__grant(act__cycle *c) {
  act__vm **req = calloc(c->n_vms + 1, sizeof(*req));
  if (req == NULL)
    return ACT_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->n_vms; i++)
    if (c->vms[i].want > c->vms[i].alloc + act__eps(c->vms[i].step))
      req[n++] = &c->vms[i];
  qsort(req, n, sizeof(*req), request_cmp);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = serve(c, req[i]);
  free(req);
  return rc;
}
