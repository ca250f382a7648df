/* policy_keys.c -- config lines to policy fields (see policy_keys.h).
 *
 * Three tables: the per-resource doubles shared by sets and VMs (an offset into
 * act_res_policy), the set's int scalars (an offset into act_set_policy), and the
 * few keys with a shape of their own (Limit, Manage, Capacity, Step, FastCorrection,
 * ScaleOutTemplate, DryRun, Priority), which get a function each.
 * Every function parses into locals and writes the struct only once the whole line
 * parsed, so a bad line changes nothing. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actuator/act_internal.h"
#include "actuator/policy_keys.h"

typedef struct res_double_key {
  const char *key;
  size_t off; /* into act_res_policy */
} res_double_key;

static const res_double_key res_double_keys[] = {
    {"Threshold", offsetof(act_res_policy, threshold)},
    {"LowerBand", offsetof(act_res_policy, lower_band)},
    {"ShrinkMargin", offsetof(act_res_policy, margin)},
    {"MaxShrink", offsetof(act_res_policy, max_shrink)},
    {"Cost", offsetof(act_res_policy, cost)},
    {"BorrowMax", offsetof(act_res_policy, lend_share)},
    {"BorrowMaxAmount", offsetof(act_res_policy, lend_amount)},
    {"BorrowerMax", offsetof(act_res_policy, borrow_share)},
    {"BorrowerMaxAmount", offsetof(act_res_policy, borrow_amount)},
    {"BreakEven", offsetof(act_res_policy, break_even)},
};

typedef struct int_key {
  const char *key;
  size_t off; /* into act_set_policy */
} int_key;

static const int_key set_int_keys[] = {
    {"LeadTime", offsetof(act_set_policy, lead_s)},
    {"PlanHorizon", offsetof(act_set_policy, horizon_s)},
    {"Cooldown", offsetof(act_set_policy, cooldown_s)},
    {"BorrowDuration", offsetof(act_set_policy, borrow_duration_s)},
    {"ScaleCooldown", offsetof(act_set_policy, scale_cooldown_s)},
    {"MinInstances", offsetof(act_set_policy, min_instances)},
    {"MaxInstances", offsetof(act_set_policy, max_instances)},
};

static const char *type_name(act_arg_type t) {
  return t == ACT_ARG_STRING ? "a string" : t == ACT_ARG_NUMBER ? "a number" : "a boolean";
}

static int bad_shape(act_error *err, const char *where, const char *key,
                     const char *expected, size_t n) {
  return act__fail(err, ACT_EINVAL, "%s: %s: expected %s, got %zu argument%s", where, key,
                   expected, n, n == 1 ? "" : "s");
}

static int bad_arg(act_error *err, const char *where, const char *key, size_t i,
                   const char *what, const act_arg *a) {
  if (a->type == ACT_ARG_STRING)
    return act__fail(err, ACT_EINVAL, "%s: %s: argument %zu must be %s, got \"%.64s\"",
                     where, key, i + 1, what, a->s ? a->s : "");
  if (a->type == ACT_ARG_NUMBER)
    return act__fail(err, ACT_EINVAL, "%s: %s: argument %zu must be %s, got %g", where,
                     key, i + 1, what, a->n);
  return act__fail(err, ACT_EINVAL, "%s: %s: argument %zu must be %s, got %s", where, key,
                   i + 1, what, a->b ? "true" : "false");
}

static int get_resource(const act_arg *a, act_resource *out) {
  act_error ignored;
  return a->type == ACT_ARG_STRING && act_resource_parse(a->s, out, &ignored) == 0 ? 0 : -1;
}

/* A number, or with allow_inf the string "inf" (no bound). */
static int get_number(const act_arg *a, int allow_inf, double *out) {
  if (a->type == ACT_ARG_NUMBER) {
    *out = a->n;
    return 0;
  }
  if (allow_inf && a->type == ACT_ARG_STRING && a->s != NULL &&
      (strcasecmp(a->s, "inf") == 0 || strcasecmp(a->s, "unlimited") == 0)) {
    *out = INFINITY;
    return 0;
  }
  return -1;
}

static int get_int(const act_arg *a, int *out) {
  if (a->type != ACT_ARG_NUMBER || !(a->n == floor(a->n)) || a->n < INT_MIN ||
      a->n > INT_MAX)
    return -1;
  *out = (int)a->n;
  return 0;
}

#define RES_WORDS "a resource (cpu, cpu_quota, memory, disk_iops, net_kbps)"

/* [<resource>] <number> into the doubles at `off` of res[] (all when no resource). */
static int set_res_double(act_res_policy res[ACT_RES_COUNT], size_t off, const char *where,
                          const char *key, const act_arg *args, size_t n,
                          act_error *err) {
  if (n != 1 && n != 2)
    return bad_shape(err, where, key, "[<resource>] <number>", n);
  act_resource r = ACT_CPU;
  if (n == 2 && get_resource(&args[0], &r) != 0)
    return bad_arg(err, where, key, 0, RES_WORDS, &args[0]);
  double v;
  if (get_number(&args[n - 1], 1, &v) != 0)
    return bad_arg(err, where, key, n - 1, "a number", &args[n - 1]);
  for (int i = 0; i < ACT_RES_COUNT; i++)
    if (n == 1 || i == (int)r)
      *(double *)((char *)&res[i] + off) = v;
  return 0;
}

/* Limit <resource> <min> <max> */
static int set_limit(act_res_policy res[ACT_RES_COUNT], const char *where,
                     const char *key, const act_arg *args, size_t n, act_error *err) {
  if (n != 3)
    return bad_shape(err, where, key, "<resource> <min> <max>", n);
  act_resource r;
  double lo, hi;
  if (get_resource(&args[0], &r) != 0)
    return bad_arg(err, where, key, 0, RES_WORDS, &args[0]);
  if (get_number(&args[1], 0, &lo) != 0)
    return bad_arg(err, where, key, 1, "a number", &args[1]);
  if (get_number(&args[2], 1, &hi) != 0)
    return bad_arg(err, where, key, 2, "a number or \"inf\"", &args[2]);
  res[r].min = lo;
  res[r].max = hi;
  return 0;
}

/* Manage <resource>... [<true|false>] */
static int set_manage(act_set_policy *s, const char *where, const char *key,
                      const act_arg *args, size_t n, act_error *err) {
  int on = 1;
  size_t n_res = n;
  if (n > 0 && args[n - 1].type == ACT_ARG_BOOLEAN) {
    on = args[n - 1].b != 0;
    n_res = n - 1;
  }
  if (n_res == 0)
    return bad_shape(err, where, key, "<resource>... [<true|false>]", n);
  int managed[ACT_RES_COUNT];
  memcpy(managed, s->managed, sizeof(managed));
  for (size_t i = 0; i < n_res; i++) {
    act_resource r;
    if (get_resource(&args[i], &r) != 0)
      return bad_arg(err, where, key, i, RES_WORDS, &args[i]);
    managed[r] = on;
  }
  memcpy(s->managed, managed, sizeof(managed));
  return 0;
}

/* Capacity / Step <resource> <number> */
static int set_per_res(double field[ACT_RES_COUNT], int allow_inf, const char *where,
                       const char *key, const act_arg *args, size_t n, act_error *err) {
  if (n != 2)
    return bad_shape(err, where, key, "<resource> <number>", n);
  act_resource r;
  double v;
  if (get_resource(&args[0], &r) != 0)
    return bad_arg(err, where, key, 0, RES_WORDS, &args[0]);
  if (get_number(&args[1], allow_inf, &v) != 0)
    return bad_arg(err, where, key, 1, allow_inf ? "a number or \"inf\"" : "a number",
                   &args[1]);
  field[r] = v;
  return 0;
}

static int one_arg(const char *where, const char *key, const act_arg *args, size_t n,
                   act_arg_type type, const char *what, act_error *err) {
  if (n != 1)
    return bad_shape(err, where, key, what, n);
  if (args[0].type != type)
    return bad_arg(err, where, key, 0, type_name(type), &args[0]);
  return 0;
}

static int set_int(int *field, const char *where, const char *key, const act_arg *args,
                   size_t n, act_error *err) {
  int v;
  if (n != 1)
    return bad_shape(err, where, key, "one whole number", n);
  if (get_int(&args[0], &v) != 0)
    return bad_arg(err, where, key, 0, "a whole number", &args[0]);
  *field = v;
  return 0;
}

/* The keys both sets and VMs take; 1 when key is none of them. */
static int res_key(act_res_policy res[ACT_RES_COUNT], const char *where, const char *key,
                   const act_arg *args, size_t n, act_error *err) {
  for (size_t i = 0; i < sizeof(res_double_keys) / sizeof(res_double_keys[0]); i++)
    if (strcasecmp(key, res_double_keys[i].key) == 0)
      return set_res_double(res, res_double_keys[i].off, where, res_double_keys[i].key,
                            args, n, err);
  if (strcasecmp(key, "Limit") == 0)
    return set_limit(res, where, "Limit", args, n, err);
  return 1;
}

static int set_scalar_key(act_set_policy *s, const char *where, const char *key,
                          const act_arg *args, size_t n, act_error *err) {
  for (size_t i = 0; i < sizeof(set_int_keys) / sizeof(set_int_keys[0]); i++)
    if (strcasecmp(key, set_int_keys[i].key) == 0)
      return set_int((int *)((char *)s + set_int_keys[i].off), where, set_int_keys[i].key,
                     args, n, err);
  if (strcasecmp(key, "FastCorrection") == 0) {
    int rc = one_arg(where, "FastCorrection", args, n, ACT_ARG_NUMBER, "one number", err);
    if (rc == 0)
      s->fast_share = args[0].n;
    return rc;
  }
  if (strcasecmp(key, "ScaleOutTemplate") == 0) {
    int rc = one_arg(where, "ScaleOutTemplate", args, n, ACT_ARG_STRING,
                     "one domain name", err);
    if (rc == 0 && (args[0].s == NULL || strlen(args[0].s) >= ACT_NAME_MAX))
      rc = act__fail(err, ACT_EINVAL, "%s: ScaleOutTemplate \"%.64s\" (at most %d "
                     "characters)", where, args[0].s ? args[0].s : "", ACT_NAME_MAX - 1);
    if (rc == 0)
      snprintf(s->scale_template, sizeof(s->scale_template), "%s", args[0].s);
    return rc;
  }
  if (strcasecmp(key, "DryRun") == 0) {
    int rc = one_arg(where, "DryRun", args, n, ACT_ARG_BOOLEAN, "true or false", err);
    if (rc == 0)
      s->dry_run = args[0].b != 0;
    return rc;
  }
  return 1;
}

int act_set_policy_key(act_set_policy *s, const char *key, const act_arg *args, size_t n,
                       act_error *err) {
  char where[96];
  snprintf(where, sizeof(where), "HostSet \"%s\"", s->name);
  if (key == NULL || (n > 0 && args == NULL))
    return act__fail(err, ACT_EINVAL, "%s: (null) key or arguments", where);
  act_set_policy tmp = *s;
  int rc = res_key(tmp.res, where, key, args, n, err);
  if (rc == 1 && strcasecmp(key, "Manage") == 0)
    rc = set_manage(&tmp, where, "Manage", args, n, err);
  if (rc == 1 && strcasecmp(key, "Capacity") == 0)
    rc = set_per_res(tmp.capacity, 1, where, "Capacity", args, n, err);
  if (rc == 1 && strcasecmp(key, "Step") == 0)
    rc = set_per_res(tmp.step, 0, where, "Step", args, n, err);
  if (rc == 1)
    rc = set_scalar_key(&tmp, where, key, args, n, err);
  if (rc == 1)
    rc = act__fail(err, ACT_EINVAL, "%s: unknown key \"%.64s\"", where, key);
  if (rc == 0)
    *s = tmp;
  return rc;
}

int act_vm_policy_key(act_vm_policy *vm, const char *set, const char *key,
                      const act_arg *args, size_t n, act_error *err) {
  char where[160];
  snprintf(where, sizeof(where), "HostSet \"%s\" VM \"%s\"", set ? set : "", vm->name);
  if (key == NULL || (n > 0 && args == NULL))
    return act__fail(err, ACT_EINVAL, "%s: (null) key or arguments", where);
  act_vm_policy tmp = *vm;
  int rc = res_key(tmp.res, where, key, args, n, err);
  if (rc == 1 && strcasecmp(key, "Priority") == 0)
    rc = set_int(&tmp.priority, where, "Priority", args, n, err);
  if (rc == 1)
    rc = act__fail(err, ACT_EINVAL, "%s: unknown key \"%.64s\"", where, key);
  if (rc == 0)
    *vm = tmp;
  return rc;
}
