/* policy_keys.c -- the policy's keys, and config lines to policy fields (see
 * policy_keys.h).
 *
 * act_policy_keys[] is the one list of keys: a row names the key, the kind of field it
 * sets (which gives the shape of its config line and of its JSON) and where the field
 * is. This file reads it for config lines, msg_policy.c for JSON. The ranges are
 * validate.c's. Every function parses into locals and writes the struct only once the
 * whole line parsed, so a bad line changes nothing. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actuator/act_internal.h"
#include "actuator/policy_keys.h"

#define BOTH (ACT_KEY_IN_SET | ACT_KEY_IN_VM)
#define RES(name, field) \
  {name, ACT_KEY_RES_DOUBLE, BOTH, offsetof(act_res_policy, field), 0}
#define SET(name, kind, field, inf_ok) \
  {name, kind, ACT_KEY_IN_SET, offsetof(act_set_policy, field), inf_ok}

/* Priority first and the set's own keys around the shared ones: the order in which the
 * policy/set messages have always listed them. */
const act_policy_key act_policy_keys[] = {
    {"Priority", ACT_KEY_VM_INT, ACT_KEY_IN_VM, offsetof(act_vm_policy, priority), 0},
    SET("Manage", ACT_KEY_MANAGE, managed, 0),
    SET("Capacity", ACT_KEY_SET_PER_RES, capacity, 1),
    SET("Step", ACT_KEY_SET_PER_RES, step, 0),
    {"Limit", ACT_KEY_LIMIT, BOTH, 0, 0},
    RES("Threshold", threshold),
    RES("LowerBand", lower_band),
    RES("ShrinkMargin", margin),
    RES("MaxShrink", max_shrink),
    RES("Cost", cost),
    RES("BorrowMax", lend_share),
    RES("BorrowMaxAmount", lend_amount),
    RES("BorrowerMax", borrow_share),
    RES("BorrowerMaxAmount", borrow_amount),
    RES("BreakEven", break_even),
    SET("LeadTime", ACT_KEY_SET_INT, lead_s, 0),
    SET("PlanHorizon", ACT_KEY_SET_INT, horizon_s, 0),
    SET("Cooldown", ACT_KEY_SET_INT, cooldown_s, 0),
    SET("FastCorrection", ACT_KEY_SET_DOUBLE, fast_share, 0),
    SET("BorrowDuration", ACT_KEY_SET_INT, borrow_duration_s, 0),
    SET("ScaleOutTemplate", ACT_KEY_SET_NAME, scale_template, 0),
    SET("MinInstances", ACT_KEY_SET_INT, min_instances, 0),
    SET("MaxInstances", ACT_KEY_SET_INT, max_instances, 0),
    SET("ScaleCooldown", ACT_KEY_SET_INT, scale_cooldown_s, 0),
    SET("DryRun", ACT_KEY_SET_BOOL, dry_run, 0),
};
#define N_KEYS (sizeof(act_policy_keys) / sizeof(act_policy_keys[0]))
_Static_assert(N_KEYS <= ACT_POLICY_KEYS_MAX, "raise ACT_POLICY_KEYS_MAX");

size_t act_policy_key_count(void) { return N_KEYS; }

void *act_policy_key_field(const act_policy_key *k, const act_key_target *t) {
  switch (k->kind) {
  case ACT_KEY_RES_DOUBLE:
  case ACT_KEY_LIMIT:
    return t->vm != NULL ? t->vm->res : t->set != NULL ? t->set->res : NULL;
  case ACT_KEY_VM_INT:
    return t->vm != NULL ? (char *)t->vm + k->off : NULL;
  default: /* the set's kinds */
    return t->set != NULL ? (char *)t->set + k->off : NULL;
  }
}

const act_policy_key *act_policy_key_find(const char *name, unsigned scope) {
  for (size_t i = 0; name != NULL && i < N_KEYS; i++)
    if ((act_policy_keys[i].scope & scope) != 0 &&
        strcasecmp(name, act_policy_keys[i].name) == 0)
      return &act_policy_keys[i];
  return NULL;
}

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

/* Manage <resource>... [<true|false>] into field[] */
static int set_manage(int field[ACT_RES_COUNT], const char *where, const char *key,
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
  memcpy(managed, field, sizeof(managed));
  for (size_t i = 0; i < n_res; i++) {
    act_resource r;
    if (get_resource(&args[i], &r) != 0)
      return bad_arg(err, where, key, i, RES_WORDS, &args[i]);
    managed[r] = on;
  }
  memcpy(field, managed, sizeof(managed));
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

/* ScaleOutTemplate <domain name> */
static int set_name(char field[ACT_NAME_MAX], const char *where, const char *key,
                    const act_arg *args, size_t n, act_error *err) {
  int rc = one_arg(where, key, args, n, ACT_ARG_STRING, "one domain name", err);
  if (rc == 0 && (args[0].s == NULL || strlen(args[0].s) >= ACT_NAME_MAX))
    rc = act__fail(err, ACT_EINVAL, "%s: %s \"%.64s\" (at most %d characters)", where,
                   key, args[0].s ? args[0].s : "", ACT_NAME_MAX - 1);
  if (rc == 0)
    snprintf(field, ACT_NAME_MAX, "%s", args[0].s);
  return rc;
}

/* FastCorrection <number> into a double, or DryRun <true|false> into an int. */
static int set_one(void *field, int is_bool, const char *where, const char *key,
                   const act_arg *args, size_t n, act_error *err) {
  int rc = is_bool ? one_arg(where, key, args, n, ACT_ARG_BOOLEAN, "true or false", err)
                   : one_arg(where, key, args, n, ACT_ARG_NUMBER, "one number", err);
  if (rc == 0 && is_bool)
    *(int *)field = args[0].b != 0;
  else if (rc == 0)
    *(double *)field = args[0].n;
  return rc;
}

static int set_key(const act_policy_key *k, const act_key_target *t, const char *where,
                   const act_arg *args, size_t n, act_error *err) {
  void *field = act_policy_key_field(k, t);
  switch (k->kind) {
  case ACT_KEY_RES_DOUBLE:
    return set_res_double(field, k->off, where, k->name, args, n, err);
  case ACT_KEY_LIMIT:
    return set_limit(field, where, k->name, args, n, err);
  case ACT_KEY_MANAGE:
    return set_manage(field, where, k->name, args, n, err);
  case ACT_KEY_SET_PER_RES:
    return set_per_res(field, k->inf_ok, where, k->name, args, n, err);
  case ACT_KEY_SET_INT:
  case ACT_KEY_VM_INT:
    return set_int(field, where, k->name, args, n, err);
  case ACT_KEY_SET_DOUBLE:
  case ACT_KEY_SET_BOOL:
    return set_one(field, k->kind == ACT_KEY_SET_BOOL, where, k->name, args, n, err);
  case ACT_KEY_SET_NAME:
    return set_name(field, where, k->name, args, n, err);
  }
  return act__fail(err, ACT_EINVAL, "%s: %s: key of unknown kind %d", where, k->name,
                   (int)k->kind);
}

static int set_line(unsigned scope, const act_key_target *t, const char *where,
                    const char *key, const act_arg *args, size_t n, act_error *err) {
  if (key == NULL || (n > 0 && args == NULL))
    return act__fail(err, ACT_EINVAL, "%s: (null) key or arguments", where);
  const act_policy_key *k = act_policy_key_find(key, scope);
  if (k == NULL)
    return act__fail(err, ACT_EINVAL, "%s: unknown key \"%.64s\"", where, key);
  return set_key(k, t, where, args, n, err);
}

int act_set_policy_key(act_set_policy *s, const char *key, const act_arg *args, size_t n,
                       act_error *err) {
  char where[96];
  snprintf(where, sizeof(where), "HostSet \"%s\"", s->name);
  act_set_policy tmp = *s;
  act_key_target t = {&tmp, NULL};
  int rc = set_line(ACT_KEY_IN_SET, &t, where, key, args, n, err);
  if (rc == 0)
    *s = tmp;
  return rc;
}

int act_vm_policy_key(act_vm_policy *vm, const char *set, const char *key,
                      const act_arg *args, size_t n, act_error *err) {
  char where[160];
  snprintf(where, sizeof(where), "HostSet \"%s\" VM \"%s\"", set ? set : "", vm->name);
  act_vm_policy tmp = *vm;
  act_key_target t = {NULL, &tmp};
  int rc = set_line(ACT_KEY_IN_VM, &t, where, key, args, n, err);
  if (rc == 0)
    *vm = tmp;
  return rc;
}
