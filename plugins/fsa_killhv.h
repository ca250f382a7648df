/* fsa_killhv.h -- a test-only act_hv that kills its own process after the n-th change
 * it passed on, so an integration test can stop the daemon at an exact point of a
 * transaction (a loan's first of two steps made, the second not) and check what the
 * restart recovers. The foresight_actuator plugin puts it in front of the libvirt one
 * only when the environment variable FORESIGHT_TEST_KILL_AFTER_SETS is set; nothing
 * else uses it. */
#ifndef PLUGINS_FSA_KILLHV_H
#define PLUGINS_FSA_KILLHV_H

#include "actuator/hv.h"

/* Wraps inner (taking ownership) so that the process gets SIGKILL right after the
 * n-th successful `set` (n >= 1). NULL and err on ENOMEM (inner is then destroyed). */
act_hv *fsa_killhv_create(act_hv *inner, int n, act_error *err);

#endif /* PLUGINS_FSA_KILLHV_H */
