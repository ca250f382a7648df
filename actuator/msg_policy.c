/* msg_policy.c -- a host set's policy as JSON, both ways: the retained
 * `<prefix>/<set>/policy` message, and the patch of a `policy/set` request.
 *
 * Both are written against the one table of keys, act_policy_keys[] (policy_keys.c),
 * which the config file's parser reads too: the JSON names are the config names, and
 * whatever the encoder writes the decoder reads back. A patch is decoded onto a clone
 * of the policy in force: the clone's set and VMs are edited field by field (type
 * checks only: a number, an integer, a resource name), then the whole clone is
 * validated by act_policy_validate, the code that checks the config file. Editing the
 * clone first and validating once at the end means a patch may move several related
 * values at once (lower the set's Limit and a VM's override together) without an
 * intermediate state being judged. The policy in force is only read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"
#include "policy_keys.h"

static const void *cfield_of(const void *base, size_t off) {
  return (const char *)base + off;
}

static int in_scope(const act_policy_key *k, unsigned scope) {
  return (k->scope & scope) != 0;
}

/* ---- encoding ---------------------------------------------------------------------- */

/* Adds key: {"cpu": value(r), ...}; with skip_nan, resources whose value is NAN are
 * left out, and so is the key when none is left. */
static int put_res(json_t *obj, const char *key, const act_res_policy res[],
                   size_t off, int skip_nan) {
  json_t *per = json_object();
  for (int r = 0; per != NULL && r < ACT_RES_COUNT; r++) {
    double v = *(const double *)cfield_of(&res[r], off);
    if (skip_nan && isnan(v))
      continue;
    if (json_object_set_new(per, act_resource_name((act_resource)r), act__msg_number(v)))
      return json_decref(per), -1;
  }
  if (per != NULL && skip_nan && json_object_size(per) == 0)
    return json_decref(per), 0;
  return json_object_set_new(obj, key, per);
}

static int put_limits(json_t *obj, const char *key, const act_res_policy res[],
                      int skip_nan) {
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
  return json_object_set_new(obj, key, per);
}

/* A set's per-resource array: Manage's flags (is_flag) or Capacity's, Step's numbers. */
static int put_set_array(json_t *obj, const char *key, const void *field, int is_flag) {
  json_t *per = json_object();
  for (int r = 0; per != NULL && r < ACT_RES_COUNT; r++) {
    json_t *v = is_flag ? json_boolean(((const int *)field)[r])
                        : act__msg_number(((const double *)field)[r]);
    if (json_object_set_new(per, act_resource_name((act_resource)r), v))
      return json_decref(per), -1;
  }
  return json_object_set_new(obj, key, per);
}

/* Key k of set s, or with vm != NULL of that VM (only its own values: not NAN). */
static int put_key(json_t *o, const act_policy_key *k, const act_set_policy *s,
                   const act_vm_policy *vm) {
  const act_res_policy *res = vm != NULL ? vm->res : s->res;
  int skip_nan = vm != NULL;
  switch (k->kind) {
  case ACT_KEY_RES_DOUBLE:
    return put_res(o, k->name, res, k->off, skip_nan);
  case ACT_KEY_LIMIT:
    return put_limits(o, k->name, res, skip_nan);
  case ACT_KEY_MANAGE:
    return put_set_array(o, k->name, cfield_of(s, k->off), 1);
  case ACT_KEY_SET_PER_RES:
    return put_set_array(o, k->name, cfield_of(s, k->off), 0);
  case ACT_KEY_SET_INT:
    return json_object_set_new(o, k->name,
                               json_integer(*(const int *)cfield_of(s, k->off)));
  case ACT_KEY_VM_INT:
    return json_object_set_new(o, k->name,
                               json_integer(*(const int *)cfield_of(vm, k->off)));
  case ACT_KEY_SET_DOUBLE:
    return json_object_set_new(
        o, k->name, act__msg_number(*(const double *)cfield_of(s, k->off)));
  case ACT_KEY_SET_NAME:
    return json_object_set_new(o, k->name, json_string(cfield_of(s, k->off)));
  case ACT_KEY_SET_BOOL:
    return json_object_set_new(
        o, k->name, json_boolean(*(const int *)cfield_of(s, k->off) != 0));
  }
  return -1;
}

/* The keys of the set s (vm NULL) or of its VM vm into o, in the table's order. */
static int put_keys(json_t *o, const act_set_policy *s, const act_vm_policy *vm) {
  unsigned scope = vm != NULL ? ACT_KEY_IN_VM : ACT_KEY_IN_SET;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < act_policy_key_count(); i++)
    if (in_scope(&act_policy_keys[i], scope))
      rc = put_key(o, &act_policy_keys[i], s, vm);
  return rc;
}

static json_t *vm_json(const act_set_policy *s, const act_vm_policy *vm) {
  json_t *o = json_object();
  if (o != NULL && put_keys(o, s, vm) != 0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *set_json(const act__set *set) {
  const act_set_policy *s = &set->pol;
  json_t *o = json_pack("{s:s}", "set", s->name);
  int rc = o == NULL ? -1 : put_keys(o, s, NULL);
  json_t *vms = rc == 0 ? json_object() : NULL;
  for (size_t i = 0; vms != NULL && i < set->n_vms; i++)
    if (json_object_set_new(vms, set->vms[i].name, vm_json(s, &set->vms[i])) != 0) {
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

/* Where one per-resource key writes: the resource array and whether null (inherit) is
 * allowed. */
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
  double *field = (double *)((char *)&t->res[r] + t->off);
  return set_number(v, path, t->nullable, field, err);
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

static int patch_flag(act_resource r, const json_t *v, const char *path, void *arg,
                      act_error *err) {
  if (!json_is_boolean(v))
    return act__msg_bad(err, path, "true or false", v);
  ((int *)arg)[r] = json_is_true(v);
  return 0;
}

static int patch_set_number(act_resource r, const json_t *v, const char *path, void *arg,
                            act_error *err) {
  return act__msg_get_double(v, path, &((double *)arg)[r], err);
}

static int patch_name(char field[ACT_NAME_MAX], const json_t *v, const char *path,
                      act_error *err) {
  if (!json_is_string(v) || json_string_length(v) >= ACT_NAME_MAX ||
      strlen(json_string_value(v)) != json_string_length(v))
    return act__msg_bad(err, path, "a string of at most 63 bytes", v);
  memcpy(field, json_string_value(v), json_string_length(v) + 1);
  return 0;
}

static int patch_bool(int *field, const json_t *v, const char *path, act_error *err) {
  if (!json_is_boolean(v))
    return act__msg_bad(err, path, "true or false", v);
  *field = json_is_true(v);
  return 0;
}

/* Value v of key k into the target (the set's, or a VM's, where null means "the
 * set's value"); path names it in messages. */
static int patch_key(const act_policy_key *k, const json_t *v, const char *path,
                     const act_key_target *t, act_error *err) {
  void *field = act_policy_key_field(k, t);
  res_target rt = {field, k->off, t->vm != NULL};
  switch (k->kind) {
  case ACT_KEY_RES_DOUBLE:
    return each_res(v, path, patch_res_value, &rt, err);
  case ACT_KEY_LIMIT:
    return each_res(v, path, patch_limit, &rt, err);
  case ACT_KEY_MANAGE:
    return each_res(v, path, patch_flag, field, err);
  case ACT_KEY_SET_PER_RES:
    return each_res(v, path, patch_set_number, field, err);
  case ACT_KEY_SET_INT:
  case ACT_KEY_VM_INT:
    return act__msg_get_int(v, path, field, err);
  case ACT_KEY_SET_DOUBLE:
    return act__msg_get_double(v, path, field, err);
  case ACT_KEY_SET_NAME:
    return patch_name(field, v, path, err);
  case ACT_KEY_SET_BOOL:
    return patch_bool(field, v, path, err);
  }
  return act__fail(err, ACT_EINVAL, "%s: key of unknown kind %d", path, (int)k->kind);
}

/* The keys of `scope` that patch holds, in the table's order; prefix starts each
 * path ("" for the set, "VM.web1." for a VM). */
static int patch_keys(const json_t *patch, unsigned scope, const char *prefix,
                      const act_key_target *t, act_error *err) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < act_policy_key_count(); i++) {
    const act_policy_key *k = &act_policy_keys[i];
    const json_t *v = in_scope(k, scope) ? json_object_get(patch, k->name) : NULL;
    if (v == NULL)
      continue;
    char path[160];
    snprintf(path, sizeof(path), "%s%s", prefix, k->name);
    rc = patch_key(k, v, path, t, err);
  }
  return rc;
}

/* ACT_EINVAL naming the first member of obj that is neither a key of `scope` nor
 * `first` or `last` (either may be NULL), listing what is known in that order. */
static int only_keys(const json_t *obj, const char *path, unsigned scope,
                     const char *first, const char *last, act_error *err) {
  const char *known[ACT_POLICY_KEYS_MAX + 3];
  size_t n = 0;
  if (first != NULL)
    known[n++] = first;
  for (size_t i = 0; i < act_policy_key_count(); i++)
    if (in_scope(&act_policy_keys[i], scope))
      known[n++] = act_policy_keys[i].name;
  if (last != NULL)
    known[n++] = last;
  known[n] = NULL;
  return act__msg_only(obj, path, known, err);
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
  act_key_target t = {NULL, vm};
  int rc = only_keys(patch, path, ACT_KEY_IN_VM, NULL, NULL, err);
  if (rc == 0)
    rc = patch_keys(patch, ACT_KEY_IN_VM, prefix, &t, err);
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
  act_key_target t = {&s->pol, NULL};
  int rc = only_keys(patch, "", ACT_KEY_IN_SET, "set", "VM", err);
  if (rc == 0)
    rc = check_set_name(patch, set, err);
  if (rc == 0)
    rc = patch_keys(patch, ACT_KEY_IN_SET, "", &t, err);
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
