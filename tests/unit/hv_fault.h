/* hv_fault.h -- a fault-injecting act_hv for the applier's tests: it forwards every
 * operation to another act_hv and, on the test's say-so, fails one, swallows one, or
 * fails everything from some call on (a crash, a lost connection). Calls are numbered
 * 1, 2, ... over the wrapper's life; one operation of hv.h is one call. */
#ifndef HV_FAULT_H
#define HV_FAULT_H

#include "actuator/hv.h"

#define HV_FAULT_MAX 8

/* Called before each call, with its number, the operation ("set", "lookup", ...), the
 * domain and, for get/set, the knob (else -1). The test may change the hypervisor
 * behind the wrapper's back here (undefine a domain, copy the journal...). */
typedef void (*hv_fault_hook)(void *user, int call, const char *op, const char *vm,
                              int knob);

typedef struct hv_fault_ctl {
  int calls;                   /* calls so far */
  int fail_at[HV_FAULT_MAX];   /* call numbers that fail with ACT_EHV, "injected failure
                                  at call <n>"; 0 = unused slot */
  int dead_from;               /* 0, or: every call from this one on fails */
  int swallow_at;              /* 0, or: this call (a set) returns 0 and does nothing */
  hv_fault_hook hook;
  void *hook_user;
} hv_fault_ctl;

/* Wraps inner, taking ownership of it (destroying the wrapper destroys it). *ctl points
 * into the wrapper: the test's controls, valid until the wrapper is destroyed. */
act_hv *hv_fault_create(act_hv *inner, hv_fault_ctl **ctl);

#endif /* HV_FAULT_H */
