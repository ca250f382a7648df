/* policy.c -- the policy model: host sets, their VMs, defaults, lookups, swap.
 *
 * A policy is a list of host sets, each with its VMs. Every way in (add a set, update a
 * set, add a VM) validates first (validate.c) and changes nothing on failure, so a
 * policy object is valid at all times. A change that spans several keys (an MQTT patch,
 * a reloaded config) is made on a candidate, a clone of the policy in force or a fresh
 * one, and installed with act_policy_swap() only once the candidate validates: a
 * rejected policy never replaces the one in force.
 * Not here: the ranges of the keys and the key names in messages (validate.c). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static void copy_name(char dst[ACT_NAME_MAX], const char *src) {
  size_t n = src == NULL ? 0 : strnlen(src, ACT_NAME_MAX - 1);
  if (n > 0)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

void act_set_policy_init(act_set_policy *s, const char *name) {
  memset(s, 0, sizeof(*s));
  copy_name(s->name, name);
  /* quantum, minimum: PROTOCOL.md part B for cpu, cpu_quota and memory */
  static const double step[ACT_RES_COUNT] = {1, 0.05, 256, 1, 1};
  static const double min[ACT_RES_COUNT] = {1, 0.1, 256, 0, 0};
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    s->managed[r] = 0;
    s->capacity[r] = INFINITY;
    s->step[r] = step[r];
    s->res[r] = (act_res_policy){
        .threshold = 0.8, .lower_band = 0.5, .min = min[r], .max = INFINITY,
        .margin = 0.1, .max_shrink = 0.5, .cost = 0, .lend_share = 0,
        .lend_amount = INFINITY, .borrow_share = INFINITY, .borrow_amount = INFINITY,
        .break_even = 0};
  }
  s->lead_s = 600;
  s->horizon_s = 0;
  s->cooldown_s = 1800;
  s->fast_share = 0.98;
  s->borrow_duration_s = 1800;
  s->min_instances = 0;
  s->max_instances = 0;
  s->scale_cooldown_s = 1800;
  s->dry_run = 0;
}

void act_vm_policy_init(act_vm_policy *vm, const char *name) {
  memset(vm, 0, sizeof(*vm));
  copy_name(vm->name, name);
  vm->priority = 0;
  /* act_res_policy is doubles only (act__effective relies on it too) */
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    double *field = (double *)&vm->res[r];
    for (size_t i = 0; i < sizeof(vm->res[r]) / sizeof(double); i++)
      field[i] = NAN;
  }
}

act_policy *act_policy_create(act_error *err) {
  act_policy *p = calloc(1, sizeof(*p));
  if (p == NULL)
    act__fail(err, ACT_ENOMEM, "policy: out of memory");
  return p;
}

void act_policy_destroy(act_policy *p) {
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_sets; i++)
    free(p->sets[i].vms);
  free(p->sets);
  free(p);
}

act_policy *act_policy_clone(const act_policy *p, act_error *err) {
  act_policy *q = act_policy_create(err);
  if (q == NULL)
    return NULL;
  if (p->n_sets > 0 && (q->sets = calloc(p->n_sets, sizeof(*q->sets))) == NULL)
    goto fail;
  q->cap_sets = p->n_sets;
  for (size_t i = 0; i < p->n_sets; i++, q->n_sets++) {
    const act__set *from = &p->sets[i];
    act__set *to = &q->sets[i];
    to->pol = from->pol;
    if (from->n_vms > 0) {
      if ((to->vms = malloc(from->n_vms * sizeof(*to->vms))) == NULL)
        goto fail;
      memcpy(to->vms, from->vms, from->n_vms * sizeof(*to->vms));
    }
    to->n_vms = to->cap_vms = from->n_vms;
  }
  return q;
fail:
  act_policy_destroy(q);
  act__fail(err, ACT_ENOMEM, "policy: out of memory");
  return NULL;
}

act__set *act__policy_find(const act_policy *p, const char *set) {
  for (size_t i = 0; set != NULL && i < p->n_sets; i++)
    if (strcmp(p->sets[i].pol.name, set) == 0)
      return &p->sets[i];
  return NULL;
}

static act_vm_policy *set_find_vm(const act__set *s, const char *vm) {
  for (size_t i = 0; vm != NULL && i < s->n_vms; i++)
    if (strcmp(s->vms[i].name, vm) == 0)
      return &s->vms[i];
  return NULL;
}

int act_policy_add_set(act_policy *p, const act_set_policy *s, act_error *err) {
  int rc = act__validate_set(s, err);
  if (rc != 0)
    return rc;
  if (act__policy_find(p, s->name) != NULL)
    return act__fail(err, ACT_EEXIST, "HostSet \"%s\": defined twice", s->name);
  if (act__grow((void **)&p->sets, &p->cap_sets, p->n_sets + 1, sizeof(*p->sets)) != 0)
    return act__fail(err, ACT_ENOMEM, "HostSet \"%s\": out of memory", s->name);
  p->sets[p->n_sets++] = (act__set){.pol = *s};
  return 0;
}

int act_policy_update_set(act_policy *p, const act_set_policy *s, act_error *err) {
  act__set *set = act__policy_find(p, s->name);
  if (set == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%s\": no such set", s->name);
  int rc = act__validate_set(s, err);
  if (rc == 0)
    rc = act__validate_members(set, s, NULL, err);
  if (rc == 0)
    set->pol = *s;
  return rc;
}

int act_policy_add_vm(act_policy *p, const char *set, const act_vm_policy *vm,
                      act_error *err) {
  act__set *s = act__policy_find(p, set);
  if (s == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%s\": no such set", set ? set : "");
  int rc = act__validate_members(s, &s->pol, vm, err);
  if (rc != 0)
    return rc;
  act_vm_policy *old = set_find_vm(s, vm->name);
  if (old != NULL) {
    *old = *vm;
    return 0;
  }
  if (act__grow((void **)&s->vms, &s->cap_vms, s->n_vms + 1, sizeof(*s->vms)) != 0)
    return act__fail(err, ACT_ENOMEM, "HostSet \"%s\" VM \"%s\": out of memory", set,
                     vm->name);
  s->vms[s->n_vms++] = *vm;
  return 0;
}

int act_policy_validate(const act_policy *p, act_error *err) {
  for (size_t i = 0; i < p->n_sets; i++) {
    const act__set *s = &p->sets[i];
    int rc = act__validate_set(&s->pol, err);
    if (rc == 0)
      rc = act__validate_members(s, &s->pol, NULL, err);
    if (rc == 0 && act__policy_find(p, s->pol.name) != s)
      rc = act__fail(err, ACT_EEXIST, "HostSet \"%s\": defined twice", s->pol.name);
    if (rc != 0)
      return rc;
  }
  return 0;
}

const act_set_policy *act_policy_set(const act_policy *p, const char *set) {
  const act__set *s = act__policy_find(p, set);
  return s == NULL ? NULL : &s->pol;
}

const act_vm_policy *act_policy_vm(const act_policy *p, const char *set, const char *vm) {
  const act__set *s = act__policy_find(p, set);
  return s == NULL ? NULL : set_find_vm(s, vm);
}

size_t act_policy_set_count(const act_policy *p) { return p->n_sets; }

const act_set_policy *act_policy_set_at(const act_policy *p, size_t i) {
  return i < p->n_sets ? &p->sets[i].pol : NULL;
}

int act_policy_effective(const act_policy *p, const char *set, const char *vm,
                         act_resource r, act_res_policy *out, int *priority,
                         act_error *err) {
  const act__set *s = act__policy_find(p, set);
  if (s == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%s\": no such set", set ? set : "");
  if ((unsigned)r >= ACT_RES_COUNT)
    return act__fail(err, ACT_EINVAL, "resource %d (no such resource)", (int)r);
  const act_vm_policy *v = set_find_vm(s, vm);
  act__effective(&s->pol, v, r, out);
  if (priority != NULL)
    *priority = v == NULL ? 0 : v->priority;
  return 0;
}

int act_policy_swap(act_policy **in_force, act_policy *candidate, act_error *err) {
  if (candidate == NULL)
    return act__fail(err, ACT_EINVAL, "policy: no candidate");
  int rc = act_policy_validate(candidate, err);
  if (rc != 0)
    return rc;
  act_policy *old = *in_force;
  *in_force = candidate;
  act_policy_destroy(old);
  return 0;
}
