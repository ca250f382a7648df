/* fsa_killhv.c -- forwards every operation to the wrapped act_hv and raises SIGKILL
 * after the n-th successful set (see fsa_killhv.h). SIGKILL, not exit: no handler,
 * no flush, no shutdown callback runs, as in a crash or `kill -9`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "plugins/fsa_killhv.h"

typedef struct killhv {
  act_hv *inner;
  int left; /* successful sets before the kill */
} killhv;

static int k_lookup(void *impl, const char *vm, act_hv_domain *out, act_error *err) {
  return act_hv_lookup(((killhv *)impl)->inner, vm, out, err);
}

static int k_read_alloc(void *impl, const char *vm, act_hv_alloc *out, act_error *err) {
  return act_hv_read_alloc(((killhv *)impl)->inner, vm, out, err);
}

static int k_get(void *impl, const char *vm, act_hv_knob k, const char *dev, double *out,
                 act_error *err) {
  return act_hv_get(((killhv *)impl)->inner, vm, k, dev, out, err);
}

static int k_set(void *impl, const char *vm, act_hv_knob k, const char *dev, double value,
                 act_error *err) {
  killhv *h = impl;
  int rc = act_hv_set(h->inner, vm, k, dev, value, err);
  if (rc == 0 && --h->left == 0)
    raise(SIGKILL);
  return rc;
}

static int k_define_clone(void *impl, const char *template_vm, const char *vm,
                          const char *uuid, act_error *err) {
  return act_hv_define_clone(((killhv *)impl)->inner, template_vm, vm, uuid, err);
}

static int k_start(void *impl, const char *vm, act_error *err) {
  return act_hv_start(((killhv *)impl)->inner, vm, err);
}

static int k_stop(void *impl, const char *vm, int timeout_ms, act_error *err) {
  return act_hv_stop(((killhv *)impl)->inner, vm, timeout_ms, err);
}

static int k_undefine(void *impl, const char *vm, act_error *err) {
  return act_hv_undefine(((killhv *)impl)->inner, vm, err);
}

static int k_list(void *impl, const char *set, act_hv_domain **out, size_t *n,
                  act_error *err) {
  return act_hv_list(((killhv *)impl)->inner, set, out, n, err);
}

static void k_close(void *impl) {
  killhv *h = impl;
  act_hv_destroy(h->inner);
  free(h);
}

static const act_hv_ops killhv_ops = {
    .name = "kill-after-sets", .lookup = k_lookup, .read_alloc = k_read_alloc,
    .get = k_get, .set = k_set, .define_clone = k_define_clone, .start = k_start,
    .stop = k_stop, .undefine = k_undefine, .list = k_list, .close = k_close,
};

act_hv *fsa_killhv_create(act_hv *inner, int n, act_error *err) {
  killhv *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    act_hv_destroy(inner);
    if (err != NULL) {
      err->code = ACT_ENOMEM;
      snprintf(err->msg, sizeof(err->msg), "kill-after-sets hv: out of memory");
    }
    return NULL;
  }
  h->inner = inner;
  h->left = n;
  return act_hv_create(&killhv_ops, h, err); /* closes h itself on failure */
}
