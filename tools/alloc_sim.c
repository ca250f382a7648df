/* alloc_sim.c -- the planner over a recorded trace, slot by slot (see alloc_sim.h).
 *
 * One resource of one VM at a time: a forecaster for its demand series, a policy with
 * one host set (named after the resource) holding the VM, a planner. At every decision
 * slot t the forecaster has seen exactly the rows of slots <= t (the same streaming as
 * the forecast replay), the VM's limits are those of slot t+1, and the planner sees
 * the allocation in force at t, the demand at t and the forecast from t.
 *
 * Units: the planner works in its own units (actuator.h: vCPUs, cores, MiB); the CSV
 * in the contract's (vCPUs, cores, KB); `scale` converts (1024 KB per MiB for mem).
 */
#include "tools/alloc_sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const act_resource act_of[AC_N_RESOURCES] = {ACT_CPU, ACT_CPU_QUOTA, ACT_MEMORY};

void as_config_default(as_config *c) {
  static const double confidence[AC_N_RESOURCES] = {0.9, 0.8, 0.7};
  static const double break_even[AC_N_RESOURCES] = {1500, 3000, 1500};
  static const int horizons[] = {1, 2, 3, 4, 6, 8, 12};
  memset(c, 0, sizeof(*c));
  c->resources = (1u << AC_N_RESOURCES) - 1;
  c->n_horizons = (int)(sizeof(horizons) / sizeof(horizons[0]));
  memcpy(c->horizons, horizons, sizeof(horizons));
  for (int r = 0; r < AC_N_RESOURCES; r++) {
    act_set_policy *s = &c->policy[r];
    act_set_policy_init(s, ac_resource_name((ac_resource)r));
    s->managed[act_of[r]] = 1;
    s->lead_s = TR_STEP_S;
    s->horizon_s = 3600;
    s->cooldown_s = 900;
    s->fast_share = 1.0;
    act_res_policy *p = &s->res[act_of[r]];
    p->threshold = 1.0;
    p->break_even = break_even[r];
    p->margin = 0;
    p->max_shrink = 1;
    c->confidence[r] = confidence[r];
  }
}

/* ---------------------------------------------------------------------------------- */
/* Policy assignments                                                                   */

typedef enum key_kind { K_RES_DOUBLE, K_SET_INT, K_SET_DOUBLE, K_CONFIDENCE } key_kind;

typedef struct key_def {
  const char *name;
  key_kind kind;
  size_t off; /* in act_res_policy or act_set_policy */
} key_def;

static const key_def keys[] = {
    {"Threshold", K_RES_DOUBLE, offsetof(act_res_policy, threshold)},
    {"LowerBand", K_RES_DOUBLE, offsetof(act_res_policy, lower_band)},
    {"BreakEven", K_RES_DOUBLE, offsetof(act_res_policy, break_even)},
    {"ShrinkMargin", K_RES_DOUBLE, offsetof(act_res_policy, margin)},
    {"MaxShrink", K_RES_DOUBLE, offsetof(act_res_policy, max_shrink)},
    {"LeadTime", K_SET_INT, offsetof(act_set_policy, lead_s)},
    {"PlanHorizon", K_SET_INT, offsetof(act_set_policy, horizon_s)},
    {"Cooldown", K_SET_INT, offsetof(act_set_policy, cooldown_s)},
    {"FastCorrection", K_SET_DOUBLE, offsetof(act_set_policy, fast_share)},
    {"Confidence", K_CONFIDENCE, 0},
};

static int apply_key(as_config *c, int r, const key_def *k, double v, char *err,
                     size_t err_len, const char *assignment) {
  act_set_policy *s = &c->policy[r];
  switch (k->kind) {
  case K_RES_DOUBLE:
    *(double *)((char *)&s->res[act_of[r]] + k->off) = v;
    break;
  case K_SET_DOUBLE:
    *(double *)((char *)s + k->off) = v;
    break;
  case K_SET_INT:
    if (v != floor(v) || fabs(v) > 1e9) {
      snprintf(err, err_len, "%s: %s must be a whole number of seconds", assignment,
               k->name);
      return -1;
    }
    *(int *)((char *)s + k->off) = (int)v;
    break;
  case K_CONFIDENCE:
    if (!(v > 0 && v < 1)) {
      snprintf(err, err_len, "%s: Confidence must be in (0, 1)", assignment);
      return -1;
    }
    c->confidence[r] = v;
    return 0;
  }
  act_error aerr = {0};
  act_policy *p = act_policy_create(&aerr);
  int rc = p == NULL ? -1 : act_policy_add_set(p, s, &aerr);
  act_policy_destroy(p);
  if (rc != 0) {
    snprintf(err, err_len, "%s: %s", assignment, aerr.msg);
    return -1;
  }
  return 0;
}

int as_config_set(as_config *c, const char *assignment, char *err, size_t err_len) {
  char buf[128];
  if (snprintf(buf, sizeof(buf), "%s", assignment) >= (int)sizeof(buf)) {
    snprintf(err, err_len, "policy assignment too long: %.40s...", assignment);
    return -1;
  }
  char *eq = strchr(buf, '='), *name = buf;
  if (eq == NULL) {
    snprintf(err, err_len, "%s: expected Key=value or resource.Key=value", assignment);
    return -1;
  }
  *eq = '\0';
  int only = -1;
  char *dot = strchr(buf, '.');
  if (dot != NULL) {
    *dot = '\0';
    ac_resource r;
    if (ac_resource_parse(buf, &r) != 0) {
      snprintf(err, err_len, "%s: unknown resource \"%s\" (cpu, cpu_quota or mem)",
               assignment, buf);
      return -1;
    }
    only = (int)r;
    name = dot + 1;
  }
  const key_def *k = NULL;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (strcmp(keys[i].name, name) == 0)
      k = &keys[i];
  if (k == NULL) {
    snprintf(err, err_len, "%s: unknown key \"%s\" (Threshold, LowerBand, BreakEven, "
             "ShrinkMargin, MaxShrink, LeadTime, PlanHorizon, Cooldown, FastCorrection, "
             "Confidence)", assignment, name);
    return -1;
  }
  char *end;
  double v = strtod(eq + 1, &end);
  if (end == eq + 1 || *end != '\0' || !isfinite(v)) {
    snprintf(err, err_len, "%s: \"%s\" is not a number", assignment, eq + 1);
    return -1;
  }
  as_config copy = *c; /* all resources or none */
  for (int r = 0; r < AC_N_RESOURCES; r++)
    if ((only < 0 || only == r) && apply_key(&copy, r, k, v, err, err_len, assignment) != 0)
      return -1;
  *c = copy;
  return 0;
}

/* ---------------------------------------------------------------------------------- */
/* One resource of one VM                                                               */

typedef struct sim {
  const as_config *c;
  const tr_vm *vm;
  ac_resource r;
  act_resource ar;
  tr_metric metric;
  double scale;        /* contract unit per planner unit */
  double *prov;        /* provisioned cores or KB per slot, carried forward */
  act_policy *pol;
  act_planner *pl;
  fc_forecaster *f;
  act_plan plan;
  double lim_lo, lim_hi; /* the VM's limits now in the policy (NAN: none yet) */
  char *err;
  size_t err_len;
} sim;

static int fail(sim *s, const char *what, const char *msg) {
  snprintf(s->err, s->err_len, "%s %s: %s: %s", s->vm->name, ac_resource_name(s->r), what,
           msg);
  return -1;
}

/* Provisioned size per slot with missing samples carried forward (and the first
 * present one carried back over a leading gap), as the harness does. NULL if none. */
static double *carried(const double *v, int n) {
  int first = 0;
  while (first < n && isnan(v[first]))
    first++;
  if (first == n)
    return NULL;
  double *out = malloc(sizeof(double) * (size_t)n);
  if (out == NULL)
    return NULL;
  for (int i = 0; i < n; i++)
    out[i] = i < first ? v[first] : isnan(v[i]) ? out[i - 1] : v[i];
  return out;
}

/* The contract's limits at slot i, in planner units. */
static void limits(const sim *s, int i, double *lo, double *hi) {
  switch (s->r) {
  case AC_CPU:
    *lo = 1, *hi = 2 * s->prov[i];
    break;
  case AC_CPU_QUOTA:
    *lo = 0.1, *hi = 2 * s->prov[i];
    break;
  default:
    *lo = AC_MEM_STEP_KB / s->scale, *hi = s->prov[i] / s->scale;
    break;
  }
  if (*lo > *hi) /* a size below the smallest step: the provisioned size rules */
    *lo = *hi;
}

static int set_limits(sim *s, int i) {
  double lo, hi;
  limits(s, i, &lo, &hi);
  if (lo == s->lim_lo && hi == s->lim_hi)
    return 0;
  act_vm_policy vp;
  act_vm_policy_init(&vp, s->vm->name);
  vp.res[s->ar].min = lo;
  vp.res[s->ar].max = hi;
  act_error aerr = {0};
  if (act_policy_add_vm(s->pol, ac_resource_name(s->r), &vp, &aerr) != 0)
    return fail(s, "limits", aerr.msg);
  s->lim_lo = lo, s->lim_hi = hi;
  return 0;
}

static int setup(sim *s) {
  act_error aerr = {0};
  fc_error ferr = {0};
  const double *pv = s->r == AC_MEM ? s->vm->mem_prov_kb : s->vm->cores;
  if ((s->prov = carried(pv, s->vm->n)) == NULL)
    return fail(s, "setup", "no provisioned size (or out of memory)");
  if ((s->pol = act_policy_create(&aerr)) == NULL ||
      act_policy_add_set(s->pol, &s->c->policy[s->r], &aerr) != 0 ||
      (s->pl = act_planner_create(&aerr)) == NULL)
    return fail(s, "policy", aerr.msg);
  fc_config cfg;
  fc_config_default(&cfg);
  cfg.step_s = TR_STEP_S;
  cfg.history_slots = TR_TRAIN_SLOTS;
  cfg.confidence = s->c->confidence[s->r];
  cfg.n_horizons = s->c->n_horizons;
  memcpy(cfg.horizons, s->c->horizons, sizeof(cfg.horizons));
  if ((s->f = fc_forecaster_create(&cfg, FC_SERIES_GAUGE, &ferr)) == NULL)
    return fail(s, "forecaster", ferr.msg);
  act_plan_init(&s->plan);
  s->lim_lo = s->lim_hi = NAN;
  return 0;
}

static void teardown(sim *s) {
  free(s->prov);
  act_policy_destroy(s->pol);
  act_planner_destroy(s->pl);
  fc_forecaster_destroy(s->f);
  act_plan_free(&s->plan);
}

/* The forecast from the forecaster's newest slot as planner points; their count. */
static size_t points(sim *s, act_point *out) {
  fc_point p[FC_MAX_HORIZONS];
  if (fc_forecaster_forecast(s->f, p, NULL) != 0)
    return 0; /* no model yet */
  for (int k = 0; k < s->c->n_horizons; k++)
    out[k] = (act_point){.h_s = p[k].h * TR_STEP_S, .mean = p[k].mean / s->scale,
                         .lo = p[k].lo / s->scale, .hi = p[k].hi / s->scale};
  return (size_t)s->c->n_horizons;
}

/* One planning cycle at slot t; *next is the allocation from t+1 on. */
static int decide(sim *s, int t, double alloc, double *next) {
  act_point pts[FC_MAX_HORIZONS];
  double usage = s->vm->series[s->metric][t] / s->scale;
  act_vm_state row = {.vm = s->vm->name, .resource = s->ar, .alloc = alloc,
                      .usage = usage, .points = pts, .n_points = points(s, pts)};
  act_cycle cycle = {.policy = s->pol, .set = ac_resource_name(s->r), .vms = &row,
                     .n_vms = 1, .now = tr_slot_ts(s->vm, t)};
  act_error aerr = {0};
  if (act_planner_plan(s->pl, &cycle, &s->plan, &aerr) != 0)
    return fail(s, "plan", aerr.msg);
  *next = alloc;
  for (size_t i = 0; i < s->plan.n_decisions; i++) {
    const act_decision *d = &s->plan.decisions[i];
    if (d->resource == s->ar && strcmp(d->vm, s->vm->name) == 0 &&
        (d->kind == ACT_GROW || d->kind == ACT_SHRINK || d->kind == ACT_MANUAL))
      *next = d->to;
  }
  return 0;
}

static int slot_of_row(const tr_vm *vm, int row) {
  return (int)((int64_t)floor(vm->row_ts[row] / TR_STEP_S + 0.5) - vm->slot0);
}

static int run_resource(sim *s, ac_writer *w, as_totals *t) {
  const tr_vm *vm = s->vm;
  const double *values = vm->row_value[s->metric];
  int cut = tr_cut(vm), first = cut - TR_TRAIN_SLOTS, row = 0;
  double alloc = s->prov[first] / s->scale;
  for (int i = 0; i <= vm->n - 2; i++) {
    for (; row < vm->n_rows && slot_of_row(vm, row) <= i; row++)
      if (!isnan(values[row]))
        fc_forecaster_add(s->f, vm->row_ts[row], values[row]);
    if (i < first)
      continue;
    fc_forecaster_tick(s->f, vm->slot0 + i);
    if ((i - cut) % TR_DAY == 0) {
      fc_error ferr = {0};
      t->fits++;
      if (fc_forecaster_retrain(s->f, &ferr) != 0)
        t->failed_fits++; /* the previous model stays, as in the plugin */
    }
    double next = alloc; /* decide() sets it; gcc -O1 cannot see that */
    if (set_limits(s, i + 1) != 0 || decide(s, i, alloc, &next) != 0)
      return -1;
    if (i == first || next != alloc) {
      if (ac_writer_put(w, vm->name, s->r, tr_slot_ts(vm, i), next * s->scale, s->err,
                        s->err_len) != 0)
        return -1;
      t->rows++;
      if (i >= cut && next != alloc)
        t->test_resizes[s->r]++;
    }
    alloc = next;
  }
  return 0;
}

int as_run_vm(const as_config *c, const tr_vm *vm, ac_writer *w, as_totals *t, char *err,
              size_t err_len) {
  if (vm->is_azure || vm->cores == NULL || vm->mem_prov_kb == NULL) {
    t->skipped++;
    return 0;
  }
  if (!tr_protocol_ok(vm)) {
    snprintf(err, err_len, "%s: %d slots, shorter than the protocol's 22 days", vm->path,
             vm->n);
    return -1;
  }
  for (int r = 0; r < AC_N_RESOURCES; r++) {
    if (!(c->resources & (1u << r)))
      continue;
    sim s = {.c = c, .vm = vm, .r = (ac_resource)r, .ar = act_of[r],
             .metric = r == AC_MEM ? TR_MEM : TR_CPU, .scale = r == AC_MEM ? 1024.0 : 1.0,
             .err = err, .err_len = err_len};
    if (vm->row_value[s.metric] == NULL) {
      snprintf(err, err_len, "%s: no %s series", vm->path, tr_metric_name(s.metric));
      return -1;
    }
    int rc = setup(&s);
    if (rc == 0)
      rc = run_resource(&s, w, t);
    teardown(&s);
    if (rc != 0)
      return -1;
  }
  t->vms++;
  return 0;
}
