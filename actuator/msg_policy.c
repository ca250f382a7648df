/* msg_policy.c -- a host set's policy as JSON, both ways: the retained
 * `<prefix>/<set>/policy` message, and the patch of a `policy/set` request.
 *
 * Both are written against one table of keys (the config file's names, see
 * validate.c), so whatever the encoder writes the decoder reads back. A patch is
 * decoded onto a clone of the policy in force: the clone's set and VMs are edited
 * field by field (type checks only: a number, an integer, a resource name), then the
 * whole clone is validated by act_policy_validate, the code that checks the config
 * file. Editing the clone first and validating once at the end means a patch may move
 * several related values at once (lower the set's Limit and a VM's override together)
 * without an intermediate state being judged. The policy in force is only read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"

/* The doubles of act_res_policy a patch may set per resource (Limit aside). */
typedef struct res_key {
  const char *key;
  size_t off;
} res_key;

static const res_key res_keys[] = {
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
#define N_RES_KEYS (sizeof(res_keys) / sizeof(res_keys[0]))

/* The set's integer keys. */
typedef struct int_key {
  const char *key;
  size_t off;
} int_key;

static const int_key set_int_keys[] = {
    {"LeadTime", offsetof(act_set_policy, lead_s)},
    {"PlanHorizon", offsetof(act_set_policy, horizon_s)},
    {"Cooldown", offsetof(act_set_policy, cooldown_s)},
    {"BorrowDuration", offsetof(act_set_policy, borrow_duration_s)},
    {"MinInstances", offsetof(act_set_policy, min_instances)},
    {"MaxInstances", offsetof(act_set_policy, max_instances)},
    {"ScaleCooldown", offsetof(act_set_policy, scale_cooldown_s)},
};
#define N_SET_INT_KEYS (sizeof(set_int_keys) / sizeof(set_int_keys[0]))

static const char *const set_keys[] = {
    "set", "Manage", "Capacity", "Step", "Limit", "Threshold", "LowerBand",
    "ShrinkMargin", "MaxShrink", "Cost", "BorrowMax", "BorrowMaxAmount", "BorrowerMax",
    "BorrowerMaxAmount", "BreakEven", "LeadTime", "PlanHorizon", "Cooldown", "FastCorrection", "BorrowDuration",
    "ScaleOutTemplate", "MinInstances", "MaxInstances", "ScaleCooldown", "DryRun", "VM",
    NULL};

static const char *const vm_keys[] = {
    "Priority", "Limit", "Threshold", "LowerBand", "ShrinkMargin", "MaxShrink", "Cost",
    "BorrowMax", "BorrowMaxAmount", "BorrowerMax", "BorrowerMaxAmount", "BreakEven", NULL};

static double *res_field(act_res_policy *rp, size_t off) {
  return (double *)((char *)rp + off);
}

/* ---- encoding ---------------------------------------------------------------------- */

/* Adds key: {"cpu": value(r), ...}; with skip_nan, resources whose value is NAN are
 * left out, and so is the key when none is left. */
static int put_res(json_t *obj, const char *key, const act_res_policy res[],
                   size_t off, int skip_nan) {
  json_t *per = json_object();
  for (int r = 0; per != NULL && r < ACT_RES_COUNT; r++) {
    double v = *res_field((act_res_policy *)&res[r], off);
    if (skip_nan && isnan(v))
      continue;
    if (json_object_set_new(per, act_resource_name((act_resource)r), act__msg_number(v)))
      return json_decref(per), -1;
  }
  if (per != NULL && skip_nan && json_object_size(per) == 0)
    return json_decref(per), 0;
  return json_object_set_new(obj, key, per);
}

static int put_limits(json_t *obj, const act_res_policy res[], int skip_nan) {
  json_t *per = json_object();
  for (int r = 0; per != NULL && r < ACT_RES_COUNT; r++) {
    if (skip_nan && isnan(res[r].min) && isnan(res[r].max))
      continue;
    json_t *pair = json_pack("[o, o]", act__msg_number(res[r].min),
                             act__msg_number(res[r].max));
    if (json_object_set_new(per, act_resource_name((act_resource)r), pair))
      return json_decref(per), -1;
  }
  if (per != NULL && skip_nan && json_object_size(per) == 0)
    return json_decref(per), 0;
  return json_object_set_new(obj, "Limit", per);
}

static int put_res_keys(json_t *obj, const act_res_policy res[], int skip_nan) {
  int rc = put_limits(obj, res, skip_nan);
  for (size_t i = 0; rc == 0 && i < N_RES_KEYS; i++)
    rc = put_res(obj, res_keys[i].key, res, res_keys[i].off, skip_nan);
  return rc;
}

static json_t *vm_json(const act_vm_policy *vm) {
  json_t *o = json_pack("{s:i}", "Priority", vm->priority);
  if (o != NULL && put_res_keys(o, vm->res, 1) != 0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static int put_set_arrays(json_t *o, const act_set_policy *s) {
  json_t *manage = json_object(), *cap = json_object(), *step = json_object();
  int rc = manage == NULL || cap == NULL || step == NULL ? -1 : 0;
  for (int r = 0; rc == 0 && r < ACT_RES_COUNT; r++) {
    const char *rn = act_resource_name((act_resource)r);
    rc = json_object_set_new(manage, rn, json_boolean(s->managed[r]));
    if (rc == 0)
      rc = json_object_set_new(cap, rn, act__msg_number(s->capacity[r]));
    if (rc == 0)
      rc = json_object_set_new(step, rn, act__msg_number(s->step[r]));
  }
  if (rc == 0) {
    rc = json_object_set_new(o, "Manage", manage);
    manage = NULL;
  }
  if (rc == 0) {
    rc = json_object_set_new(o, "Capacity", cap);
    cap = NULL;
  }
  if (rc == 0) {
    rc = json_object_set_new(o, "Step", step);
    step = NULL;
  }
  json_decref(manage);
  json_decref(cap);
  json_decref(step);
  return rc;
}

static json_t *set_json(const act__set *set) {
  const act_set_policy *s = &set->pol;
  json_t *o = json_pack("{s:s, s:o, s:s, s:b}", "set", s->name, "FastCorrection",
                        act__msg_number(s->fast_share), "ScaleOutTemplate",
                        s->scale_template, "DryRun", s->dry_run != 0);
  int rc = o == NULL ? -1 : put_set_arrays(o, s);
  for (size_t i = 0; rc == 0 && i < N_SET_INT_KEYS; i++)
    rc = json_object_set_new(
        o, set_int_keys[i].key,
        json_integer(*(const int *)((const char *)s + set_int_keys[i].off)));
  if (rc == 0)
    rc = put_res_keys(o, s->res, 0);
  json_t *vms = rc == 0 ? json_object() : NULL;
  for (size_t i = 0; vms != NULL && i < set->n_vms; i++)
    if (json_object_set_new(vms, set->vms[i].name, vm_json(&set->vms[i])) != 0) {
      json_decref(vms);
      vms = NULL;
    }
  if (vms == NULL || json_object_set_new(o, "VM", vms) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

char *act_msg_policy_encode(const act_policy *p, const char *set, act_error *err) {
  const act__set *s = act__policy_find(p, set);
  if (s == NULL) {
    act__fail(err, ACT_ENOENT, "HostSet \"%.63s\": no such set", set ? set : "");
    return NULL;
  }
  return act__msg_dump(set_json(s), "policy", err);
}

/* ---- decoding a patch -------------------------------------------------------------- */

/* Calls fn for each resource-keyed member of obj (the value of `key`). */
typedef int (*res_fn)(act_resource r, const json_t *v, const char *path, void *arg,
                      act_error *err);

static int each_res(const json_t *obj, const char *key, res_fn fn, void *arg,
                    act_error *err) {
  char path[192];
  if (!json_is_object(obj))
    return act__msg_bad(err, key, "an object keyed by resource, e.g. {\"cpu\": ...}",
                        obj);
  const char *rkey;
  json_t *v;
  json_object_foreach((json_t *)obj, rkey, v) {
    snprintf(path, sizeof(path), "%s.%s", key, rkey);
    act_resource r;
    int rc = act__msg_get_resource(rkey, path, &r, err);
    if (rc == 0)
      rc = fn(r, v, path, arg, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Where one res_key writes: the resource array and whether null (inherit) is allowed. */
typedef struct res_target {
  act_res_policy *res;
  size_t off;
  int nullable;
} res_target;

static int set_number(const json_t *v, const char *path, int nullable, double *out,
                      act_error *err) {
  if (nullable && json_is_null(v)) {
    *out = NAN;
    return 0;
  }
  return act__msg_get_double(v, path, out, err);
}

static int patch_res_value(act_resource r, const json_t *v, const char *path, void *arg,
                           act_error *err) {
  res_target *t = arg;
  return set_number(v, path, t->nullable, res_field(&t->res[r], t->off), err);
}

static int patch_limit(act_resource r, const json_t *v, const char *path, void *arg,
                       act_error *err) {
  res_target *t = arg;
  if (!json_is_array(v) || json_array_size(v) != 2)
    return act__msg_bad(err, path, "[min, max]", v);
  char sub[200];
  snprintf(sub, sizeof(sub), "%s[0]", path);
  int rc = set_number(json_array_get(v, 0), sub, t->nullable, &t->res[r].min, err);
  snprintf(sub, sizeof(sub), "%s[1]", path);
  if (rc == 0)
    rc = set_number(json_array_get(v, 1), sub, t->nullable, &t->res[r].max, err);
  return rc;
}

/* The per-resource keys shared by sets and VMs; path prefixes the key. */
static int patch_res_keys(const json_t *obj, const char *prefix, act_res_policy res[],
                          int nullable, act_error *err) {
  char path[160];
  int rc = 0;
  const json_t *v = json_object_get(obj, "Limit");
  if (v != NULL) {
    snprintf(path, sizeof(path), "%sLimit", prefix);
    res_target t = {res, 0, nullable};
    rc = each_res(v, path, patch_limit, &t, err);
  }
  for (size_t i = 0; rc == 0 && i < N_RES_KEYS; i++) {
    if ((v = json_object_get(obj, res_keys[i].key)) == NULL)
      continue;
    snprintf(path, sizeof(path), "%s%s", prefix, res_keys[i].key);
    res_target t = {res, res_keys[i].off, nullable};
    rc = each_res(v, path, patch_res_value, &t, err);
  }
  return rc;
}

static int patch_manage(act_resource r, const json_t *v, const char *path, void *arg,
                        act_error *err) {
  if (!json_is_boolean(v))
    return act__msg_bad(err, path, "true or false", v);
  ((act_set_policy *)arg)->managed[r] = json_is_true(v);
  return 0;
}

static int patch_capacity(act_resource r, const json_t *v, const char *path, void *arg,
                          act_error *err) {
  return act__msg_get_double(v, path, &((act_set_policy *)arg)->capacity[r], err);
}

static int patch_step(act_resource r, const json_t *v, const char *path, void *arg,
                      act_error *err) {
  return act__msg_get_double(v, path, &((act_set_policy *)arg)->step[r], err);
}

static int patch_template(act_set_policy *s, const json_t *v, act_error *err) {
  if (!json_is_string(v) || json_string_length(v) >= ACT_NAME_MAX ||
      strlen(json_string_value(v)) != json_string_length(v))
    return act__msg_bad(err, "ScaleOutTemplate", "a string of at most 63 bytes", v);
  memcpy(s->scale_template, json_string_value(v), json_string_length(v) + 1);
  return 0;
}

static int patch_set_scalars(const json_t *patch, act_set_policy *s, act_error *err) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < N_SET_INT_KEYS; i++) {
    const json_t *v = json_object_get(patch, set_int_keys[i].key);
    if (v != NULL)
      rc = act__msg_get_int(v, set_int_keys[i].key,
                            (int *)((char *)s + set_int_keys[i].off), err);
  }
  const json_t *v;
  if (rc == 0 && (v = json_object_get(patch, "FastCorrection")) != NULL)
    rc = act__msg_get_double(v, "FastCorrection", &s->fast_share, err);
  if (rc == 0 && (v = json_object_get(patch, "ScaleOutTemplate")) != NULL)
    rc = patch_template(s, v, err);
  if (rc == 0 && (v = json_object_get(patch, "DryRun")) != NULL) {
    if (!json_is_boolean(v))
      rc = act__msg_bad(err, "DryRun", "true or false", v);
    else
      s->dry_run = json_is_true(v);
  }
  return rc;
}

static int patch_set(const json_t *patch, act_set_policy *s, act_error *err) {
  int rc = patch_set_scalars(patch, s, err);
  const json_t *v;
  if (rc == 0 && (v = json_object_get(patch, "Manage")) != NULL)
    rc = each_res(v, "Manage", patch_manage, s, err);
  if (rc == 0 && (v = json_object_get(patch, "Capacity")) != NULL)
    rc = each_res(v, "Capacity", patch_capacity, s, err);
  if (rc == 0 && (v = json_object_get(patch, "Step")) != NULL)
    rc = each_res(v, "Step", patch_step, s, err);
  if (rc == 0)
    rc = patch_res_keys(patch, "", s->res, 0, err);
  return rc;
}

/* The VM of that name in the clone's set, appended (inheriting everything) when the
 * caller knows it as a VM of the set; NULL and err otherwise. */
static act_vm_policy *patch_target_vm(const act_msg_ctx *ctx, act__set *s,
                                      const char *name, const char *path,
                                      act_error *err) {
  for (size_t i = 0; i < s->n_vms; i++)
    if (strcmp(s->vms[i].name, name) == 0)
      return &s->vms[i];
  json_t *shown = json_string(name);
  if (!act__name_ok(name) || ctx->vm_known == NULL ||
      !ctx->vm_known(ctx->user, s->pol.name, name)) {
    char want[128];
    snprintf(want, sizeof(want), "a VM of host set \"%s\"", s->pol.name);
    act__msg_bad(err, path, want, shown);
    json_decref(shown);
    return NULL;
  }
  json_decref(shown);
  if (act__grow((void **)&s->vms, &s->cap_vms, s->n_vms + 1, sizeof(*s->vms)) != 0) {
    act__fail(err, ACT_ENOMEM, "policy patch: out of memory");
    return NULL;
  }
  act_vm_policy *vm = &s->vms[s->n_vms++];
  act_vm_policy_init(vm, name);
  return vm;
}

static int patch_vm(const json_t *patch, act_vm_policy *vm, const char *path,
                    act_error *err) {
  char prefix[128];
  snprintf(prefix, sizeof(prefix), "%s.", path);
  if (!json_is_object(patch))
    return act__msg_bad(err, path, "an object of VM keys", patch);
  int rc = act__msg_only(patch, path, vm_keys, err);
  const json_t *v = json_object_get(patch, "Priority");
  if (rc == 0 && v != NULL) {
    char where[160];
    snprintf(where, sizeof(where), "%sPriority", prefix);
    rc = act__msg_get_int(v, where, &vm->priority, err);
  }
  if (rc == 0)
    rc = patch_res_keys(patch, prefix, vm->res, 1, err);
  return rc;
}

static int patch_vms(const act_msg_ctx *ctx, const json_t *vms, act__set *s,
                     act_error *err) {
  if (!json_is_object(vms))
    return act__msg_bad(err, "VM", "an object keyed by VM name", vms);
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)vms, name, v) {
    char path[ACT_NAME_MAX + 8];
    snprintf(path, sizeof(path), "VM.%s", name);
    act_vm_policy *vm = patch_target_vm(ctx, s, name, path, err);
    if (vm == NULL)
      return err != NULL ? err->code : ACT_EINVAL;
    int rc = patch_vm(v, vm, path, err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The "set" member, when given, must name the topic's set. */
static int check_set_name(const json_t *patch, const char *set, act_error *err) {
  const json_t *v = json_object_get(patch, "set");
  if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), set) == 0))
    return 0;
  char want[ACT_NAME_MAX + 48];
  snprintf(want, sizeof(want), "\"%s\", the host set of the topic", set);
  return act__msg_bad(err, "set", want, v);
}

/* Applies the patch to the clone q; validation of the result is the caller's. */
static int apply_patch(const act_msg_ctx *ctx, act_policy *q, const char *set,
                       const json_t *patch, act_error *err) {
  act__set *s = act__policy_find(q, set);
  int rc = act__msg_only(patch, "", set_keys, err);
  if (rc == 0)
    rc = check_set_name(patch, set, err);
  if (rc == 0)
    rc = patch_set(patch, &s->pol, err);
  const json_t *vms = json_object_get(patch, "VM");
  if (rc == 0 && vms != NULL)
    rc = patch_vms(ctx, vms, s, err);
  return rc;
}

static const char *const request_keys[] = {"request_id", "policy", NULL};

int act_msg_policy_patch(const act_msg_ctx *ctx, const char *set, const char *json,
                         size_t len, act_policy **candidate,
                         char request_id[ACT_MSG_ID_MAX], act_error *err) {
  json_t *root = NULL;
  act_policy *q = NULL;
  *candidate = NULL;
  request_id[0] = '\0';
  int rc = act__msg_load(ctx, json, len, &root, err);
  if (rc == 0)
    rc = act__msg_request_id(root, request_id, err);
  if (rc == 0)
    rc = act__msg_only(root, "", request_keys, err);
  const json_t *patch = root == NULL ? NULL : json_object_get(root, "policy");
  if (rc == 0 && !json_is_object(patch))
    rc = act__msg_bad(err, "policy", "an object of policy keys", patch);
  if (rc == 0 && act__policy_find(ctx->policy, set) == NULL)
    rc = act__fail(err, ACT_ENOENT, "HostSet \"%.63s\": no such set", set ? set : "");
  if (rc == 0 && (q = act_policy_clone(ctx->policy, err)) == NULL)
    rc = ACT_ENOMEM;
  if (rc == 0)
    rc = apply_patch(ctx, q, set, patch, err);
  if (rc == 0)
    rc = act_policy_validate(q, err);
  json_decref(root);
  if (rc != 0) {
    act_policy_destroy(q);
    return rc;
  }
  *candidate = q;
  return 0;
}
