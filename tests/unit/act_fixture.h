/* act_fixture.h -- a host set to plan over, shared by the actuator's unit tests.
 *
 * Set "web": cpu managed, Capacity cpu 32, Threshold 0.8, LowerBand 0.5, LeadTime 600,
 * Cooldown 0 (tests that need one set it), no borrowing, no template. Rows carry one
 * forecast point at the lead time (or several, with fx_point). Nothing here peeks
 * inside the library: everything goes through actuator.h. */
#ifndef ACT_FIXTURE_H
#define ACT_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/actuator.h"

#define FX_ROWS 32
#define FX_POINTS 4

typedef struct fx {
  act_policy *pol;
  act_set_policy set;
  act_planner *pl;
  act_ledger *led;
  act_plan plan;
  act_error err;
  act_vm_state rows[FX_ROWS];
  act_point pts[FX_ROWS][FX_POINTS];
  char names[FX_ROWS][ACT_NAME_MAX];
  size_t n;
  int64_t now;
} fx;

static inline fx *fx_new(void) {
  fx *f = calloc(1, sizeof(*f));
  f->pol = act_policy_create(NULL);
  act_set_policy_init(&f->set, "web");
  f->set.managed[ACT_CPU] = 1;
  f->set.capacity[ACT_CPU] = 32;
  f->set.cooldown_s = 0;
  act_policy_add_set(f->pol, &f->set, NULL);
  f->pl = act_planner_create(NULL);
  f->led = act_ledger_create(NULL, NULL);
  act_plan_init(&f->plan);
  f->now = 1700000000;
  return f;
}

static inline void fx_free(fx *f) {
  act_policy_destroy(f->pol);
  act_planner_destroy(f->pl);
  act_ledger_destroy(f->led);
  act_plan_free(&f->plan);
  free(f);
}

/* Replaces the set's policy with f->set (after a test changed it); 0 or the error. */
static inline int fx_update_set(fx *f) {
  return act_policy_update_set(f->pol, &f->set, &f->err);
}

static inline int fx_vm(fx *f, const char *vm, int priority, double min, double max,
                        double cost) {
  act_vm_policy p;
  act_vm_policy_init(&p, vm);
  p.priority = priority;
  p.res[ACT_CPU].min = min;
  p.res[ACT_CPU].max = max;
  p.res[ACT_CPU].cost = cost;
  return act_policy_add_vm(f->pol, "web", &p, &f->err);
}

/* A row of resource r with one forecast point at the lead time (no point: hi NAN). */
static inline act_vm_state *fx_row_res(fx *f, const char *vm, act_resource r,
                                       double alloc, double usage, double hi) {
  size_t i = f->n++;
  snprintf(f->names[i], ACT_NAME_MAX, "%s", vm);
  act_vm_state *s = &f->rows[i];
  *s = (act_vm_state){.vm = f->names[i], .resource = r, .alloc = alloc, .usage = usage,
                      .points = f->pts[i], .n_points = 0};
  if (!isnan(hi))
    f->pts[i][s->n_points++] = (act_point){f->set.lead_s, hi * 0.8, hi * 0.6, hi};
  return s;
}

static inline act_vm_state *fx_row(fx *f, const char *vm, double alloc, double usage,
                                   double hi) {
  return fx_row_res(f, vm, ACT_CPU, alloc, usage, hi);
}

static inline void fx_point(act_vm_state *s, int h_s, double hi) {
  ((act_point *)s->points)[s->n_points++] = (act_point){h_s, hi * 0.8, hi * 0.6, hi};
}

static inline int fx_plan(fx *f) {
  act_cycle c = {.policy = f->pol, .set = "web", .ledger = f->led, .vms = f->rows,
                 .n_vms = f->n, .now = f->now};
  return act_planner_plan(f->pl, &c, &f->plan, &f->err);
}

/* Applies the plan to the rows and the ledger, as the applier would. */
static inline void fx_apply(fx *f) {
  for (size_t i = 0; i < f->plan.n_decisions; i++) {
    const act_decision *d = &f->plan.decisions[i];
    for (size_t j = 0; j < f->n; j++) {
      if (f->rows[j].resource != d->resource)
        continue;
      if (strcmp(f->rows[j].vm, d->vm) == 0 && d->kind != ACT_SCALE_OUT &&
          d->kind != ACT_SCALE_IN)
        f->rows[j].alloc = d->to;
      if (d->peer[0] != '\0' && strcmp(f->rows[j].vm, d->peer) == 0)
        f->rows[j].alloc = d->peer_to;
    }
    if (d->kind == ACT_LEND)
      act_ledger_lend(f->led, &d->loan, NULL);
    if (d->kind == ACT_REPAY)
      act_ledger_repay(f->led, d->loan.id, NULL);
  }
}

/* Sets the single forecast point of row i. */
static inline void fx_set_hi(fx *f, const char *vm, double hi) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->rows[i].vm, vm) == 0 && f->rows[i].n_points > 0)
      f->pts[i][0] = (act_point){f->set.lead_s, hi * 0.8, hi * 0.6, hi};
}

static inline double fx_alloc(const fx *f, const char *vm) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->rows[i].vm, vm) == 0)
      return f->rows[i].alloc;
  return NAN;
}

#endif /* ACT_FIXTURE_H */
