/* virt_call.c -- the bulk stats call on a thread of its own, waited for with a
 * deadline (see virt_call.h for why).
 *
 * Ownership: each call is a struct call shared by the waiting thread and the calling
 * thread until `done`; then the waiter takes the result and frees it -- unless the
 * waiter gave up first (`abandoned`), in which case the calling thread frees the result
 * and the struct when the call ends. The caller (vc_caller) is reference-counted: its
 * owner holds one reference until vc_caller_destroy, each running call one, so an
 * abandoned call that ends after the plugin shut down still finds its lock.
 * Invariant (under lock): abandoned == number of calls with call->abandoned && !done.
 */
#include "plugins/virt_call.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

struct vc_caller {
  pthread_mutex_t lock;
  pthread_cond_t ended; /* broadcast when a call ends; CLOCK_MONOTONIC */
  int refs;             /* guarded by lock */
  int abandoned;        /* guarded by lock */
  int max_abandoned;
  vc_stats_fn fn;
};

struct call {
  vc_caller *caller;
  virConnectPtr conn; /* the call's own reference */
  unsigned stats, flags;
  /* guarded by caller->lock */
  int done, abandoned;
  int n;
  virDomainStatsRecordPtr *recs;
  int code;
  char msg[256];
};

static void caller_free(vc_caller *c) {
  pthread_cond_destroy(&c->ended);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

vc_caller *vc_caller_create(int max_abandoned, vc_stats_fn fn) {
  vc_caller *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) {
    free(c);
    return NULL;
  }
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int status = pthread_cond_init(&c->ended, &attr);
  pthread_condattr_destroy(&attr);
  if (status != 0) {
    free(c);
    return NULL;
  }
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    pthread_cond_destroy(&c->ended);
    free(c);
    return NULL;
  }
  c->refs = 1;
  c->max_abandoned = max_abandoned < 1 ? 1 : max_abandoned;
  c->fn = fn != NULL ? fn : virConnectGetAllDomainStats;
  return c;
}

/* An absolute CLOCK_MONOTONIC time seconds from now. */
static struct timespec deadline_in(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (!(seconds > 0))
    seconds = 0;
  int64_t ns = (int64_t)ts.tv_nsec + (int64_t)(seconds * 1e9);
  ts.tv_sec += (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  return ts;
}

void vc_caller_destroy(vc_caller *c, double wait_s) {
  if (c == NULL)
    return;
  struct timespec until = deadline_in(wait_s);
  pthread_mutex_lock(&c->lock);
  while (c->abandoned > 0 && pthread_cond_timedwait(&c->ended, &c->lock, &until) == 0)
    ;
  int last = --c->refs == 0;
  pthread_mutex_unlock(&c->lock);
  if (last)
    caller_free(c);
}

int vc_caller_pending(vc_caller *c) {
  pthread_mutex_lock(&c->lock);
  int n = c->abandoned;
  pthread_mutex_unlock(&c->lock);
  return n;
}

static void *call_run(void *arg) {
  struct call *call = arg;
  virDomainStatsRecordPtr *recs = NULL;
  int n = call->caller->fn(call->conn, call->stats, &recs, call->flags);
  int code = n < 0 ? virGetLastErrorCode() : 0;
  const char *msg = n < 0 ? virGetLastErrorMessage() : NULL;
  char text[sizeof(call->msg)];
  snprintf(text, sizeof(text), "%s", msg != NULL ? msg : "");
  virConnectClose(call->conn);

  vc_caller *c = call->caller;
  pthread_mutex_lock(&c->lock);
  call->n = n;
  call->recs = recs;
  call->code = code;
  memcpy(call->msg, text, sizeof(text));
  call->done = 1;
  int abandoned = call->abandoned;
  if (abandoned)
    c->abandoned--;
  int last = --c->refs == 0;
  pthread_cond_broadcast(&c->ended);
  pthread_mutex_unlock(&c->lock);
  /* from here on the waiter may have freed call, unless it abandoned it */
  if (abandoned) {
    if (recs != NULL)
      virDomainStatsRecordListFree(recs);
    free(call);
  }
  if (last)
    caller_free(c);
  return NULL;
}

static int describe(vc_result *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int describe(vc_result *out, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
  va_end(ap);
  return code;
}

/* Starts the call's thread; 0, or VC_ENOMEM with nothing left behind. */
static int call_start(vc_caller *c, struct call *call) {
  pthread_mutex_lock(&c->lock);
  c->refs++;
  pthread_mutex_unlock(&c->lock);
  pthread_attr_t attr;
  pthread_t thread;
  int status = pthread_attr_init(&attr);
  if (status == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    status = pthread_create(&thread, &attr, call_run, call);
    pthread_attr_destroy(&attr);
  }
  if (status != 0) {
    pthread_mutex_lock(&c->lock);
    c->refs--; /* the owner still holds one: never the last */
    pthread_mutex_unlock(&c->lock);
    return VC_ENOMEM;
  }
  return VC_OK;
}

int vc_get_all_stats(vc_caller *c, virConnectPtr conn, unsigned stats, unsigned flags,
                     double timeout_s, vc_result *out) {
  *out = (vc_result){.n = 0};
  pthread_mutex_lock(&c->lock);
  int pending = c->abandoned;
  pthread_mutex_unlock(&c->lock);
  if (pending >= c->max_abandoned)
    return describe(out, VC_EBUSY, "%d earlier calls have not returned yet", pending);
  struct call *call = calloc(1, sizeof(*call));
  if (call == NULL || virConnectRef(conn) < 0) {
    free(call);
    return describe(out, VC_ENOMEM, "out of memory");
  }
  *call = (struct call){.caller = c, .conn = conn, .stats = stats, .flags = flags};
  if (call_start(c, call) != 0) {
    virConnectClose(conn);
    free(call);
    return describe(out, VC_ENOMEM, "cannot start a thread");
  }
  struct timespec until = deadline_in(timeout_s);
  pthread_mutex_lock(&c->lock);
  while (!call->done && pthread_cond_timedwait(&c->ended, &c->lock, &until) != ETIMEDOUT)
    ;
  if (!call->done) {
    call->abandoned = 1;
    c->abandoned++;
    pthread_mutex_unlock(&c->lock);
    return describe(out, VC_ETIMEOUT, "no answer within %.1f s", timeout_s);
  }
  pthread_mutex_unlock(&c->lock);
  int n = call->n;
  if (n < 0) {
    out->code = call->code;
    memcpy(out->msg, call->msg, sizeof(out->msg));
    free(call);
    return VC_EFAIL;
  }
  out->n = n;
  out->recs = call->recs;
  free(call);
  return n;
}
