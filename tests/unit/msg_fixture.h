/* msg_fixture.h -- a policy to patch and command, shared by the message tests.
 *
 * Host set "web": cpu and memory managed, Capacity cpu 32 and memory 65536, other
 * values the defaults. VMs listed: web1 (Priority 10, Limit cpu 1 8) and web2 (no
 * overrides). A VM "web3" is known to the caller (mf_vm_known) but not listed. */
#ifndef MSG_FIXTURE_H
#define MSG_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "actuator/actuator.h"
#include "actuator/messages.h"

typedef struct mf {
  act_policy *pol;
  act_msg_ctx ctx;
  act_error err;
  char id[ACT_MSG_ID_MAX];
  act_policy *cand;
} mf;

static inline int mf_vm_known(void *user, const char *set, const char *vm) {
  (void)user;
  return strcmp(set, "web") == 0 &&
         (strcmp(vm, "web1") == 0 || strcmp(vm, "web2") == 0 || strcmp(vm, "web3") == 0);
}

static inline mf *mf_new(void) {
  mf *f = calloc(1, sizeof(*f));
  if (f == NULL || (f->pol = act_policy_create(NULL)) == NULL)
    abort();
  act_set_policy s;
  act_set_policy_init(&s, "web");
  s.managed[ACT_CPU] = s.managed[ACT_MEMORY] = 1;
  s.capacity[ACT_CPU] = 32;
  s.capacity[ACT_MEMORY] = 65536;
  act_vm_policy v1, v2;
  act_vm_policy_init(&v1, "web1");
  v1.priority = 10;
  v1.res[ACT_CPU].min = 1;
  v1.res[ACT_CPU].max = 8;
  act_vm_policy_init(&v2, "web2");
  if (act_policy_add_set(f->pol, &s, NULL) != 0 ||
      act_policy_add_vm(f->pol, "web", &v1, NULL) != 0 ||
      act_policy_add_vm(f->pol, "web", &v2, NULL) != 0)
    abort();
  f->ctx = (act_msg_ctx){.policy = f->pol, .vm_known = mf_vm_known};
  return f;
}

static inline void mf_free(mf *f) {
  act_policy_destroy(f->cand);
  act_policy_destroy(f->pol);
  free(f);
}

/* Patches set "web" of the fixture with the NUL-terminated message text. */
static inline int mf_patch(mf *f, const char *json) {
  act_policy_destroy(f->cand);
  f->cand = NULL;
  memset(&f->err, 0, sizeof(f->err));
  return act_msg_policy_patch(&f->ctx, "web", json, strlen(json), &f->cand, f->id,
                              &f->err);
}

#endif /* MSG_FIXTURE_H */
