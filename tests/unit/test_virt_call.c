/* test_virt_call.c -- the bulk stats call with a deadline, on libvirt's test driver
 * (test:///default, in process). A stand-in for virConnectGetAllDomainStats can be held
 * at a gate to play a VM that does not answer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/virterror.h>

#include "plugins/virt_call.h"

static const unsigned STATS = VIR_DOMAIN_STATS_STATE;

/* The gate: held calls wait until it opens; `finished` counts calls that returned. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int finished;

static int held_stats(virConnectPtr conn, unsigned stats, virDomainStatsRecordPtr **recs,
                      unsigned flags) {
  pthread_mutex_lock(&gate_lock);
  while (!gate_open)
    pthread_cond_wait(&gate_cond, &gate_lock);
  pthread_mutex_unlock(&gate_lock);
  int n = virConnectGetAllDomainStats(conn, stats, recs, flags);
  pthread_mutex_lock(&gate_lock);
  finished++;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
  return n;
}

static void gate_set(int open) {
  pthread_mutex_lock(&gate_lock);
  gate_open = open;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
}

/* Waits (up to 5 s) until `count` held calls have returned. */
static int wait_finished(int count) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&gate_lock);
  while (finished < count && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
    ;
  int ok = finished >= count;
  pthread_mutex_unlock(&gate_lock);
  return ok;
}

/* Waits (up to 5 s) for the caller's pending count to drop to `want`. */
static int wait_pending(vc_caller *c, int want) {
  for (int i = 0; i < 500; i++) {
    if (vc_caller_pending(c) == want)
      return 1;
    usleep(10000);
  }
  return 0;
}

static void quiet(void *data, virErrorPtr e) {
  (void)data;
  (void)e;
}

static int setup(void **state) {
  virSetErrorFunc(NULL, quiet);
  virConnectPtr conn = virConnectOpen("test:///default");
  *state = conn;
  gate_set(0);
  pthread_mutex_lock(&gate_lock);
  finished = 0;
  pthread_mutex_unlock(&gate_lock);
  return conn != NULL ? 0 : -1;
}

static int teardown(void **state) {
  gate_set(1);
  virConnectClose(*state);
  return 0;
}

/* A call that answers in time gives its records. */
static void test_call_in_time_gives_records(void **state) {
  virConnectPtr conn = *state;
  vc_caller *c = vc_caller_create(2, NULL);
  assert_non_null(c);
  vc_result r;
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 5.0, &r), 1); /* domain "test" */
  assert_int_equal(r.n, 1);
  assert_string_equal(virDomainGetName(r.recs[0]->dom), "test");
  virDomainStatsRecordListFree(r.recs);
  vc_caller_destroy(c, 0);
}

/* libvirt's failure comes back with its code and message. */
static void test_libvirt_failure_is_reported(void **state) {
  virConnectPtr conn = *state;
  vc_caller *c = vc_caller_create(2, NULL);
  assert_non_null(c);
  vc_result r;
  /* the test driver has no perf stats: enforcing them fails */
  assert_int_equal(vc_get_all_stats(c, conn, VIR_DOMAIN_STATS_PERF,
                                    VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS, 5.0, &r),
                   VC_EFAIL);
  assert_int_equal(r.code, VIR_ERR_ARGUMENT_UNSUPPORTED);
  assert_non_null(strstr(r.msg, "not supported"));
  assert_null(r.recs);
  vc_caller_destroy(c, 0);
}

/* A call that does not answer in time is abandoned; once it ends, the next call works
 * and the abandoned one's records were freed by its own thread (valgrind checks). */
static void test_call_past_timeout_is_abandoned(void **state) {
  virConnectPtr conn = *state;
  vc_caller *c = vc_caller_create(2, held_stats);
  assert_non_null(c);
  vc_result r;
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 0.05, &r), VC_ETIMEOUT);
  assert_non_null(strstr(r.msg, "no answer within"));
  assert_int_equal(vc_caller_pending(c), 1);
  gate_set(1);
  assert_true(wait_finished(1));
  assert_true(wait_pending(c, 0));
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 5.0, &r), 1);
  virDomainStatsRecordListFree(r.recs);
  vc_caller_destroy(c, 0);
}

/* With max_abandoned calls pending no new call is started. */
static void test_no_call_beyond_max_abandoned(void **state) {
  virConnectPtr conn = *state;
  vc_caller *c = vc_caller_create(2, held_stats);
  assert_non_null(c);
  vc_result r;
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 0.01, &r), VC_ETIMEOUT);
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 0.01, &r), VC_ETIMEOUT);
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 0.01, &r), VC_EBUSY);
  assert_non_null(strstr(r.msg, "2 earlier calls"));
  gate_set(1);
  assert_true(wait_finished(2));
  assert_true(wait_pending(c, 0));
  vc_caller_destroy(c, 0);
}

/* The caller may go away while a call is stuck: the call ends later on its own and
 * frees the caller (valgrind checks there is no leak and no use after free). */
static void test_destroy_with_a_stuck_call(void **state) {
  virConnectPtr conn = *state;
  vc_caller *c = vc_caller_create(1, held_stats);
  assert_non_null(c);
  vc_result r;
  assert_int_equal(vc_get_all_stats(c, conn, STATS, 0, 0.01, &r), VC_ETIMEOUT);
  vc_caller_destroy(c, 0.05); /* gives up waiting */
  gate_set(1);
  assert_true(wait_finished(1));
  usleep(200000); /* the thread frees the caller just after it counted itself */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_call_in_time_gives_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_libvirt_failure_is_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_call_past_timeout_is_abandoned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_call_beyond_max_abandoned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_destroy_with_a_stuck_call, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
