/* apply.h -- applying decisions to a hypervisor as transactions, with a write-ahead
 * journal so that a crash never leaves a change half made.
 *
 *   act_journal  (journal.c)  an append-only file of transactions: `begin` with every
 *                step's before and after values, fsync'd before the first hypervisor
 *                call; then `applied`/`undone` per step; then `commit` or
 *                `rolled_back`. Read back robustly after a crash.
 *   act_apply    (apply.c)    a decision -> ordered knob changes (hv.h) -> each set,
 *                read back and verified -> commit; any failure undoes the steps already
 *                made, newest first, and says why. act_apply_recover() resolves what a
 *                crash left open before any new decision runs.
 *
 * Both are pure C over act_hv (hv.h); the libvirt part lives in hv_libvirt.c.
 * Threads: one thread at a time per object. Errors as in actuator.h.
 */
#ifndef ACTUATOR_APPLY_H
#define ACTUATOR_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "actuator.h"
#include "hv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------- */
/* Journal (journal.c)                                                                 */

/* One knob change of a transaction. */
typedef struct act_step {
  char vm[ACT_NAME_MAX];
  act_hv_knob knob;
  char dev[ACT_HV_DEVNAME_MAX]; /* device knobs: the disk or MAC; DEFINED 0 -> 1: the
                                   template it is cloned from; else "" */
  char uuid[ACT_HV_UUID_LEN];   /* DEFINED: the domain's UUID (so undo never removes a
                                   namesake); else "" */
  double before, after;
} act_step;

typedef enum act_tx_state {
  ACT_TX_OPEN = 0,    /* begun, neither committed nor rolled back (yet) */
  ACT_TX_COMMITTED,   /* every step made and verified */
  ACT_TX_ROLLED_BACK, /* every step made was undone and verified */
} act_tx_state;

/* A transaction as the journal knows it. */
typedef struct act_tx {
  uint64_t id;       /* the journal's number, > 0, never reused (also across
                        compactions) */
  uint64_t decision; /* the decision's seq */
  act_kind kind;
  char vm[ACT_NAME_MAX];
  int64_t ts;        /* the decision's ts */
  act_loan loan;     /* lend/repay: the loan the ledger gains/loses; id 0 otherwise */
  size_t n_steps;
  act_step *steps;   /* in order of application */
  unsigned char *applied; /* per step: 1 once recorded applied, 0 once undone; may be
                             NULL in act_journal_begin's argument */
  act_tx_state state;
  int stuck;              /* a rollback failed; the transaction stays open */
  char note[ACT_REASON_MAX]; /* why it was rolled back, got stuck, or how it closed */
} act_tx;

const char *act_tx_state_name(act_tx_state s); /* "open", "committed", "rolled_back" */

typedef struct act_journal act_journal;

/* What opening a journal found worth telling. */
typedef struct act_journal_report {
  int torn;          /* 1: the last line had no newline (a write cut short by a crash);
                        it was ignored and cut off the file */
  int torn_line;     /* its line number */
  size_t torn_bytes; /* how many bytes were cut */
} act_journal_report;

/* Opens (creating it, and fsync'ing its folder, when missing) the journal at `path` and
 * reads every transaction since its last compaction. A torn last line is ignored and
 * reported in *rep (may be NULL); any other damage (bad checksum, unknown record, a
 * record about an unknown or closed transaction) fails with ACT_ECORRUPT naming the
 * file and line, leaving the file as it was. The caller owns the journal. */
act_journal *act_journal_open(const char *path, act_journal_report *rep, act_error *err);
void act_journal_close(act_journal *j); /* NULL is fine; writes nothing */

/* Writes `begin` for tx (its decision, kind, vm, ts, loan, steps; its id, state and
 * applied are ignored) and fsyncs it; *id gets the new transaction's number. The
 * journal keeps a copy. Names and devices must be non-empty without white space. */
int act_journal_begin(act_journal *j, const act_tx *tx, uint64_t *id, act_error *err);
/* Step `step` of open transaction `id` was made (applied) / undone again (undone). */
int act_journal_applied(act_journal *j, uint64_t id, size_t step, act_error *err);
int act_journal_undone(act_journal *j, uint64_t id, size_t step, act_error *err);
/* Closes open transaction `id`; note/reason (may be NULL) is kept on one line. */
int act_journal_commit(act_journal *j, uint64_t id, const char *note, act_error *err);
int act_journal_rolled_back(act_journal *j, uint64_t id, const char *reason,
                            act_error *err);
/* Records that undoing `id` failed: it stays open, marked stuck, for recovery. */
int act_journal_stuck(act_journal *j, uint64_t id, const char *reason, act_error *err);

/* Transactions since the last compaction, oldest first; valid until the journal
 * changes. */
size_t act_journal_count(const act_journal *j);
const act_tx *act_journal_at(const act_journal *j, size_t i);
const act_tx *act_journal_find(const act_journal *j, uint64_t id);
size_t act_journal_open_count(const act_journal *j);

/* Once every transaction is closed, replaces the file by an empty journal (temporary
 * file, fsync, rename, fsync of the folder) that remembers the next transaction id.
 * ACT_EPENDING, and nothing changes, while a transaction is open. */
int act_journal_compact(act_journal *j, act_error *err);

/* ---------------------------------------------------------------------------------- */
/* Transactions (apply.c)                                                              */

typedef enum act_status {
  ACT_APPLIED = 0,  /* every step made, read back and committed */
  ACT_FAILED,       /* not applied: refused before any change (nothing journaled), or a
                       rollback failed (result.pending: recovery will finish it) */
  ACT_ROLLED_BACK,  /* a step failed; what was made is undone and verified */
  ACT_SKIPPED,      /* nothing to do: dry run, or already at the target */
} act_status;

const char *act_status_name(act_status s); /* "applied", "failed", ... */

typedef struct act_result {
  uint64_t decision; /* the decision's seq */
  uint64_t tx;       /* its journal transaction, 0 when none was begun */
  act_status status;
  int code;          /* the ACT_E* that stopped it; 0 when applied or skipped */
  size_t n_steps;    /* steps planned */
  size_t n_applied;  /* steps made before it stopped (all when applied) */
  int pending;       /* 1: the transaction is still open in the journal */
  char error[ACT_REASON_MAX]; /* why not applied, e.g. "step 2/3 web1 vcpus 2 -> 4: ...";
                                 "" when applied */
} act_result;

typedef struct act_apply_config {
  double mem_tolerance_kib; /* live memory reads back within this of its target: a
                               balloon moves in pages, not KiB; >= 0 */
  int verify_attempts;      /* reads of a knob before a mismatch fails the step, >= 1
                               (a balloon takes time to reach its target) */
  int verify_wait_ms;       /* pause between those reads, >= 0 */
  int stop_timeout_ms;      /* scale-in: the guest's time to shut down before it is
                               powered off, >= 0 */
  size_t compact_after;     /* compact the journal once it holds this many closed
                               transactions and none open; 0 = never */
} act_apply_config;

/* Defaults: tolerance 1024 KiB, 3 attempts 200 ms apart, 60 s to stop, compaction
 * after 256 transactions. */
void act_apply_config_init(act_apply_config *c);

typedef struct act_apply act_apply; /* one hypervisor's applier; one thread at a time */

/* An applier over hv (borrowed: it must outlive the applier) that journals into
 * `journal_path` (act_journal_open: *rep may be NULL) and records loans in `ledger`
 * (borrowed, may be NULL: loans are not recorded). cfg NULL: defaults. It does not
 * recover by itself: call act_apply_recover() next. */
act_apply *act_apply_create(act_hv *hv, const char *journal_path, act_ledger *ledger,
                            const act_apply_config *cfg, act_journal_report *rep,
                            act_error *err);
/* Closes the journal and frees; writes nothing (an open transaction stays open, as
 * after a crash). NULL is fine. */
void act_apply_destroy(act_apply *a);
/* The applier's journal, to inspect; valid until the applier is destroyed. */
const act_journal *act_apply_journal(const act_apply *a);

typedef struct act_recovery {
  size_t open;        /* open transactions found */
  size_t rolled_back; /* undone to their before values and verified */
  size_t completed;   /* found finished past their point of no return and committed */
  size_t failed;      /* still open: the hypervisor did not let them be resolved */
} act_recovery;

/* Resolves every open transaction of the journal (see apply.c for the rule: roll back
 * to the recorded before values, unless an irreversible step was already made), and
 * reconciles the ledger. 0 when none is left open; else the first error, with the
 * others still tried. *out (may be NULL) counts what happened. */
int act_apply_recover(act_apply *a, act_recovery *out, act_error *err);

/* Applies decision d as one transaction and fills *out. `template_vm` names the
 * domain a scale-out clones (NULL for other kinds). Open transactions are recovered
 * first; if that fails, d is refused with ACT_EPENDING. Returns 0 when d was applied
 * or skipped, else out->code. */
int act_apply_decision(act_apply *a, const act_decision *d, const char *template_vm,
                       act_result *out);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_APPLY_H */
