/* hv_fault.c -- see hv_fault.h. Written only against hv.h's public ops table, as any
 * other implementation would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_fault.h"

typedef struct fault {
  act_hv *inner;
  hv_fault_ctl ctl;
} fault;

static void set_err(act_error *err, int code, const char *fmt, int call, const char *op) {
  if (err == NULL)
    return;
  err->code = code;
  snprintf(err->msg, sizeof(err->msg), fmt, call, op);
}

/* Counts the call, runs the hook, and tells whether it is to fail (ACT_EHV with err
 * filled), be swallowed (1) or go through (0). */
static int enter(fault *f, const char *op, const char *vm, int knob, act_error *err) {
  hv_fault_ctl *c = &f->ctl;
  int call = ++c->calls;
  if (c->hook != NULL)
    c->hook(c->hook_user, call, op, vm, knob);
  int fail = c->dead_from > 0 && call >= c->dead_from;
  for (int i = 0; i < HV_FAULT_MAX; i++)
    fail |= c->fail_at[i] == call;
  if (fail) {
    set_err(err, ACT_EHV, "injected failure at call %d (%s)", call, op);
    return ACT_EHV;
  }
  return c->swallow_at == call ? 1 : 0;
}

static int f_lookup(void *impl, const char *vm, act_hv_domain *out, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "lookup", vm, -1, err);
  return rc < 0 ? rc : act_hv_lookup(f->inner, vm, out, err); /* reads are never swallowed */
}

static int f_read_alloc(void *impl, const char *vm, act_hv_alloc *out, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "read_alloc", vm, -1, err);
  return rc < 0 ? rc : act_hv_read_alloc(f->inner, vm, out, err); /* reads are never swallowed */
}

static int f_get(void *impl, const char *vm, act_hv_knob k, const char *dev, double *out,
                 act_error *err) {
  fault *f = impl;
  int rc = enter(f, "get", vm, (int)k, err);
  return rc < 0 ? rc : act_hv_get(f->inner, vm, k, dev, out, err); /* reads are never swallowed */
}

static int f_set(void *impl, const char *vm, act_hv_knob k, const char *dev, double v,
                 act_error *err) {
  fault *f = impl;
  int rc = enter(f, "set", vm, (int)k, err);
  return rc != 0 ? (rc < 0 ? rc : 0) : act_hv_set(f->inner, vm, k, dev, v, err);
}

static int f_define_clone(void *impl, const char *template_vm, const char *vm,
                          const char *uuid, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "define_clone", vm, -1, err);
  return rc != 0 ? (rc < 0 ? rc : 0)
                 : act_hv_define_clone(f->inner, template_vm, vm, uuid, err);
}

static int f_start(void *impl, const char *vm, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "start", vm, -1, err);
  return rc != 0 ? (rc < 0 ? rc : 0) : act_hv_start(f->inner, vm, err);
}

static int f_stop(void *impl, const char *vm, int timeout_ms, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "stop", vm, -1, err);
  return rc != 0 ? (rc < 0 ? rc : 0) : act_hv_stop(f->inner, vm, timeout_ms, err);
}

static int f_undefine(void *impl, const char *vm, act_error *err) {
  fault *f = impl;
  int rc = enter(f, "undefine", vm, -1, err);
  return rc != 0 ? (rc < 0 ? rc : 0) : act_hv_undefine(f->inner, vm, err);
}

static int f_list(void *impl, const char *set, act_hv_domain **out, size_t *n,
                  act_error *err) {
  fault *f = impl;
  int rc = enter(f, "list", set != NULL ? set : "", -1, err);
  return rc < 0 ? rc : act_hv_list(f->inner, set, out, n, err); /* reads are never swallowed */
}

static void f_close(void *impl) {
  fault *f = impl;
  if (f == NULL)
    return;
  act_hv_destroy(f->inner);
  free(f);
}

static const act_hv_ops fault_ops = {
    .name = "fault",
    .lookup = f_lookup,
    .read_alloc = f_read_alloc,
    .get = f_get,
    .set = f_set,
    .define_clone = f_define_clone,
    .start = f_start,
    .stop = f_stop,
    .undefine = f_undefine,
    .list = f_list,
    .close = f_close,
};

act_hv *hv_fault_create(act_hv *inner, hv_fault_ctl **ctl) {
  fault *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    act_hv_destroy(inner);
    return NULL;
  }
  f->inner = inner;
  act_hv *hv = act_hv_create(&fault_ops, f, NULL);
  if (hv != NULL)
    *ctl = &f->ctl;
  return hv;
}
