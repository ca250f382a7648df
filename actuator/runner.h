/* runner.h -- the actuator's work between collectd and the hypervisor, without either:
 * planning cycles, applying their decisions, and the operator's MQTT requests.
 *
 * An act_runner owns the policy in force and, per host set, its planner, its loan
 * ledger and its applier (journal). The foresight_actuator plugin feeds it and carries
 * what it says; everything it decides is testable with a fake hypervisor.
 *
 *   start     act_runner_create: the persisted policy of each set (if any) replaces
 *             the config's, each ledger is reloaded, each planner's memory (holds,
 *             cooldowns) restored and each journal recovered (act_apply_recover)
 *             before any decision is made. A planner file that reads only in part is
 *             logged as an error and the start goes on with what read (a hold lost
 *             is named; refusing to start would lose them all).
 *   cycle     act_runner_cycle (after the warm-up), per set: rows (from the board, through io.fill_rows)
 *             -> act_planner_plan -> per decision, in plan order: a fresh decision id
 *             (act_idseq, unique across restarts), `<set>/decision` (QoS 1), the
 *             transaction (act_apply_decision; not in DryRun), `<set>/result` (QoS 1),
 *             io.applied for each changed allocation. A decision that is not applied
 *             stops the plan: the ones after it were planned as if it had been (a
 *             grow on the capacity a shrink freed), so they are skipped and the next
 *             cycle plans again from what is. Then `<set>/<vm>/forecast/<metric>`
 *             per VM and metric (cpu cores, mem KiB, net KB/s, as the fs_forecast
 *             values) whose points changed, `<set>/<vm>/state` per VM, and
 *             `<set>/policy` when it changed (all three retained).
 *   inbound   act_runner_inbound, by topic (below the prefix):
 *               <set>/policy/set       a patch -> validated (act_msg_policy_patch, the
 *                                      same validation as the config), persisted, then
 *                                      swapped in (act_policy_swap)
 *               <set>/<vm>/command     set/hold/release -> act_planner_manual,
 *                                      persisted (or refused), then a cycle of the
 *                                      set at once
 *               <set>/command          scale_out -> a scale-out decision, applied
 *             each answered on `reply/<request id>`: {"request_id", "ok": true,
 *             "decision_id": id or null} or {"request_id", "ok": false, "error": why,
 *             "decision_id": id or null}. On error nothing changes, with two
 *             exceptions for a set, whose override is then released: its decision
 *             was applied and failed or rolled back, or the host set's free capacity
 *             could not give all of it ("short by N", naming VM and resource; a part
 *             granted stays, by the decision named). A message without a usable
 *             request id cannot be answered; it is logged.
 *
 * Files in state_dir: <set>.ledger (act_ledger), <set>.journal (act_journal),
 * <set>.policy.json (the set's policy as last set over MQTT, the same message a
 * policy/set carries), <set>.planner (act_planner_save: holds and cooldowns, written
 * after a cycle or command changed them; <set>.planner.bad: a damaged one, kept),
 * decision-ids (act_idseq).
 *
 * Threads: one thread at a time (the plugin's worker). The io callbacks run in it.
 */
#ifndef ACTUATOR_RUNNER_H
#define ACTUATOR_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "actuator/actuator.h"
#include "actuator/apply.h"
#include "actuator/board.h"
#include "actuator/hv.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { ACT_LOG_ERR = 3, ACT_LOG_WARNING = 4, ACT_LOG_INFO = 6, ACT_LOG_DEBUG = 7 };

/* What the runner asks of its host. Every pointer argument is borrowed for the call. */
typedef struct act_runner_io {
  void *user; /* given to every callback */
  /* Publishes payload on `<prefix>/<topic>`. */
  void (*publish)(void *user, const char *topic, const char *payload, int qos,
                  int retain);
  /* Fills rows with host set `set`'s rows as of now under `policy` (the board's
   * act_board_rows_fill, under the board's lock); 0 or an ACT_E* code with err. */
  int (*fill_rows)(void *user, const act_policy *policy, const char *set, double now,
                   act_board_rows *rows, act_error *err);
  /* The applier changed vm's resource r to alloc (act_board_applied). May be NULL. */
  void (*applied)(void *user, const char *vm, act_resource r, double alloc, double now);
  /* One line for the log, e.g. "HostSet \"web\": ...". May be NULL. */
  void (*log)(void *user, int level, const char *msg);
} act_runner_io;

typedef struct act_runner_config {
  const char *state_dir;  /* NULL: nothing persisted or reloaded (tests, shadow runs) */
  act_apply_config apply; /* act_apply_config_init's defaults unless changed */
  uint64_t id_block;      /* decision ids reserved per write of decision-ids; > 0 */
  double warmup_s;        /* cycles this soon after the first one decide nothing: the
                             read plugins have not reported every VM yet, and a set
                             that looks empty would be scaled out to MinInstances */
  double now;             /* wall time of the start: persisted holds and cooldowns
                             over by then are dropped as they load; 0 drops none (an
                             override that ended rules nothing anyway) */
} act_runner_config;

/* state_dir NULL, apply defaults, id_block 64, no warm-up, now 0. */
void act_runner_config_init(act_runner_config *c);

typedef struct act_runner act_runner;

/* Takes ownership of `policy` (also on failure) and borrows hv (NULL: decisions are
 * published, never applied; hv must outlive the runner) and io (copied). Reloads the
 * persisted policies, ledgers and journals and recovers the journals. NULL and err
 * when a persisted file does not parse or a set's policy no longer validates with it
 * (the file is named: fix or remove it), or the state folder is unusable. */
act_runner *act_runner_create(const act_runner_config *cfg, act_policy *policy,
                              act_hv *hv, const act_runner_io *io, act_error *err);
void act_runner_destroy(act_runner *r); /* NULL is fine */

/* The policy in force; valid until the next call into the runner. */
const act_policy *act_runner_policy(const act_runner *r);
/* A set's ledger (NULL: no such set); valid until the runner is destroyed. */
const act_ledger *act_runner_ledger(const act_runner *r, const char *set);

/* Runs one cycle of every host set (see above) at wall time now. Returns the number
 * of decisions made, or a negative ACT_E* when a set could not be planned (the other
 * sets still are; the error is logged). */
int act_runner_cycle(act_runner *r, double now);

/* Handles one inbound message whose topic, below the prefix, is `topic`. Returns 0
 * when it was answered with ok, 1 when with an error (or it could not be answered),
 * ACT_ENOENT for a topic the runner does not take (nothing is published). */
int act_runner_inbound(act_runner *r, const char *topic, const char *payload, size_t len,
                       double now);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_RUNNER_H */
