/* apply.c -- a decision applied as one transaction, and recovery after a crash.
 *
 * A transaction: plan the steps (apply_steps.c; reads only), write `begin` with every
 * step's before and after value to the journal (fsync'd), then per step: set the knob,
 * read it back until it matches (verify_attempts, for a balloon that takes its time),
 * record `applied`. Then the ledger learns of a loan made or repaid, and `commit`
 * closes the transaction.
 *
 * Any failure -- a call refused, a value that does not read back, a journal or ledger
 * write -- rolls back: from the step that failed (it may have half happened) down to
 * the first, each knob is read and, if not at its before value, set back and verified,
 * and `undone` recorded; the ledger change, if made, is reverted; `rolled_back` closes
 * the transaction with the reason. A domain that vanished (or stopped) mid-way has
 * nothing left to restore (or no live state to restore): that is noted, not an error.
 * If an undo fails the transaction is marked `stuck` and stays open. A failure after a
 * scale-in's undefine (its point of no return, and its last step) cannot be undone and
 * is what was asked: the transaction is committed, status applied, the failure noted.
 *
 * Recovery rule (act_apply_recover), for every transaction still open at start-up or
 * left stuck: ROLL BACK to the journal's before values, with the same read-compare-set-
 * verify per step, newest first -- except a scale-in whose domain is already gone
 * (undefining is the point of no return and its last step), which is COMPLETED, i.e.
 * committed. Why roll back rather than complete: the before values are recorded and
 * were a state the domain ran in, so undoing is always possible, while completing
 * repeats what may be the very call that failed; and a decision is only right for the
 * forecast of its cycle, so after a restart the planner decides afresh from the
 * allocation it then reads, instead of the applier finishing a stale plan.
 * The ledger is reconciled likewise: an open lend loses its loan if recorded, an open
 * repay gets its loan back if removed (loan ids are never reused, so this cannot touch
 * another loan). New decisions wait until nothing is open.
 *
 * Not here: which steps a decision takes (apply_steps.c); the file (journal.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act_internal.h"

struct act_apply {
  act_hv *hv;         /* borrowed */
  act_journal *j;     /* owned */
  act_ledger *ledger; /* borrowed, may be NULL */
  act_apply_config cfg;
};

const char *act_status_name(act_status s) {
  switch (s) {
  case ACT_APPLIED: return "applied";
  case ACT_FAILED: return "failed";
  case ACT_ROLLED_BACK: return "rolled_back";
  case ACT_SKIPPED: return "skipped";
  }
  return "?";
}

void act_apply_config_init(act_apply_config *c) {
  c->mem_tolerance_kib = 1024;
  c->verify_attempts = 3;
  c->verify_wait_ms = 200;
  c->stop_timeout_ms = 60000;
  c->compact_after = 256;
}

static int config_check(const act_apply_config *c, act_error *err) {
  if (!(c->mem_tolerance_kib >= 0) || !isfinite(c->mem_tolerance_kib))
    return act__fail(err, ACT_EINVAL, "apply: memory tolerance %g KiB (must be >= 0)",
                     c->mem_tolerance_kib);
  if (c->verify_attempts < 1)
    return act__fail(err, ACT_EINVAL, "apply: verify attempts %d (must be >= 1)",
                     c->verify_attempts);
  if (c->verify_wait_ms < 0 || c->stop_timeout_ms < 0)
    return act__fail(err, ACT_EINVAL, "apply: verify wait %d ms / stop timeout %d ms "
                     "(must be >= 0)", c->verify_wait_ms, c->stop_timeout_ms);
  return 0;
}

act_apply *act_apply_create(act_hv *hv, const char *journal_path, act_ledger *ledger,
                            const act_apply_config *cfg, act_journal_report *rep,
                            act_error *err) {
  act_apply_config defaults;
  if (cfg == NULL) {
    act_apply_config_init(&defaults);
    cfg = &defaults;
  }
  if (hv == NULL || journal_path == NULL) {
    act__fail(err, ACT_EINVAL, "apply: a hypervisor and a journal path are needed");
    return NULL;
  }
  if (config_check(cfg, err) != 0)
    return NULL;
  act_apply *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    act__fail(err, ACT_ENOMEM, "apply: out of memory");
    return NULL;
  }
  a->hv = hv;
  a->ledger = ledger;
  a->cfg = *cfg;
  if ((a->j = act_journal_open(journal_path, rep, err)) == NULL) {
    free(a);
    return NULL;
  }
  return a;
}

void act_apply_destroy(act_apply *a) {
  if (a == NULL)
    return;
  act_journal_close(a->j);
  free(a);
}

const act_journal *act_apply_journal(const act_apply *a) { return a->j; }

/* ---- one step ---- */

static int is_live(act_hv_knob k) {
  return k == ACT_HV_VCPUS || k == ACT_HV_MEM_KIB || k == ACT_HV_CPU_QUOTA ||
         (k >= ACT_HV_DISK_BPS && k <= ACT_HV_NET_OUT_KIBPS);
}

/* Sets step s's knob to value. `forward`: a scale-in's stop gives the guest its
 * grace period; undoing a scale-out powers the clone off at once. */
static int step_set(act_apply *a, const act_step *s, double value, int forward,
                    act_error *err) {
  switch (s->knob) {
  case ACT_HV_DEFINED:
    if (value > 0.5)
      return act_hv_define_clone(a->hv, s->dev, s->vm, s->uuid, err);
    return act_hv_undefine(a->hv, s->vm, err);
  case ACT_HV_ACTIVE:
    if (value > 0.5)
      return act_hv_start(a->hv, s->vm, err);
    return act_hv_stop(a->hv, s->vm, forward ? a->cfg.stop_timeout_ms : 0, err);
  default:
    return act_hv_set(a->hv, s->vm, s->knob, s->dev[0] ? s->dev : NULL, value, err);
  }
}

/* Reads step s's knob. A domain of another UUID than the step's is not ours: for
 * DEFINED it counts as absent, for ACTIVE as ACT_ENOENT. */
static int step_get(act_apply *a, const act_step *s, double *value, act_error *err) {
  if (s->knob != ACT_HV_DEFINED && s->knob != ACT_HV_ACTIVE)
    return act_hv_get(a->hv, s->vm, s->knob, s->dev[0] ? s->dev : NULL, value, err);
  act_hv_domain dom;
  int rc = act_hv_lookup(a->hv, s->vm, &dom, err);
  int ours = rc == 0 && (s->uuid[0] == '\0' || strcmp(dom.uuid, s->uuid) == 0);
  if (rc != 0 && rc != ACT_ENOENT)
    return rc;
  if (s->knob == ACT_HV_DEFINED) {
    *value = ours ? 1 : 0;
    return 0;
  }
  if (!ours)
    return act__fail(err, ACT_ENOENT, "domain %s (UUID %s) not found", s->vm,
                     s->uuid[0] ? s->uuid : "any");
  *value = dom.active ? 1 : 0;
  return 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Reads s's knob until it is `want` (at most verify_attempts reads). */
static int step_verify(act_apply *a, const act_step *s, double want, act_error *err) {
  double got = NAN;
  for (int i = 0; i < a->cfg.verify_attempts; i++) {
    if (i > 0 && a->cfg.verify_wait_ms > 0)
      sleep_ms(a->cfg.verify_wait_ms);
    int rc = step_get(a, s, &got, err);
    if (rc != 0)
      return rc;
    if (act__knob_same(s->knob, got, want, &a->cfg))
      return 0;
  }
  return act__fail(err, ACT_EVERIFY, "reads back %.17g, not %.17g (after %d reads)", got,
                   want, a->cfg.verify_attempts);
}

/* "step 2/3 (web1 vcpus_config 2 -> 3)" */
static void step_name(char *buf, size_t n, const act_tx *tx, size_t i) {
  const act_step *s = &tx->steps[i];
  snprintf(buf, n, "step %zu/%zu (%s %s%s%s %g -> %g)", i + 1, tx->n_steps, s->vm,
           act_hv_knob_name(s->knob), s->dev[0] ? " " : "", s->dev, s->before, s->after);
}

/* ---- rolling back ---- */

/* Appends printf text to a note buffer, dropping what does not fit (notes explain,
 * the status is what callers act on). */
static void note_add(char *note, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_add(char *note, size_t n, const char *fmt, ...) {
  size_t len = strlen(note);
  if (len + 1 >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note + len, n - len, fmt, ap);
  va_end(ap);
}

/* Sets step i of tx back to its before value if it is not there; notes what it did
 * not need to restore. 0, or the error that stopped it. */
static int undo_step(act_apply *a, const act_tx *tx, size_t i, char *note, size_t n,
                     act_error *err) {
  const act_step *s = &tx->steps[i];
  double now;
  act_error e = {0};
  int rc = step_get(a, s, &now, &e);
  if (rc == ACT_ENOENT || (rc == ACT_ESTOPPED && is_live(s->knob))) {
    /* Gone, or stopped: a live value no longer exists, and a restart boots from the
     * config, which the config steps restore. */
    char what[ACT_NAME_MAX + 16];
    snprintf(what, sizeof(what), "%s %s", s->vm, rc == ACT_ENOENT ? "vanished" : "stopped");
    if (strstr(note, what) == NULL)
      note_add(note, n, "; %s, nothing to restore of it", what);
    return 0;
  }
  if (rc != 0)
    return act__fail(err, rc, "%s", e.msg);
  if (!act__knob_same(s->knob, now, s->before, &a->cfg)) {
    if (s->knob == ACT_HV_DEFINED && s->before > 0.5)
      return act__fail(err, ACT_EINVAL, "%s was undefined; that cannot be undone", s->vm);
    if ((rc = step_set(a, s, s->before, 0, &e)) != 0 ||
        (rc = step_verify(a, s, s->before, &e)) != 0)
      return act__fail(err, rc, "%s", e.msg);
  } else if (!tx->applied[i]) {
    return 0; /* never made, or made and undone already: nothing to record */
  }
  return act_journal_undone(a->j, tx->id, i, err);
}

/* Undoes the ledger change a lend or repay made (or may have made); idempotent. */
static int ledger_undo(act_apply *a, const act_tx *tx, act_error *err) {
  if (a->ledger == NULL || tx->loan.id == 0)
    return 0;
  int present = act_ledger_find(a->ledger, tx->loan.id) != NULL;
  if (tx->kind == ACT_LEND && present)
    return act_ledger_repay(a->ledger, tx->loan.id, err);
  if (tx->kind == ACT_REPAY && !present)
    return act_ledger_lend(a->ledger, &tx->loan, err);
  return 0;
}

static int ledger_do(act_apply *a, const act_tx *tx, act_error *err) {
  if (a->ledger == NULL || tx->loan.id == 0)
    return 0;
  if (tx->kind == ACT_LEND)
    return act_ledger_lend(a->ledger, &tx->loan, err);
  if (tx->kind == ACT_REPAY)
    return act_ledger_repay(a->ledger, tx->loan.id, err);
  return 0;
}

/* Rolls tx back from step `last` (inclusive) down to the first, then the ledger if
 * `ledger` says it may hold this transaction's change, and closes it as rolled_back
 * with `reason` and notes; or, if an undo failed, marks it stuck, leaving it open, and
 * appends why to `why` (may be NULL). 0 when rolled back. */
static int rollback(act_apply *a, uint64_t id, size_t last, int ledger,
                    const char *reason, char *why, size_t why_n, act_error *err) {
  const act_tx *tx = act_journal_find(a->j, id);
  char note[ACT_REASON_MAX];
  snprintf(note, sizeof(note), "%s", reason);
  act_error first = {0};
  for (size_t i = tx->n_steps > 0 ? last + 1 : 0; i-- > 0;) {
    act_error e = {0};
    if (undo_step(a, tx, i, note, sizeof(note), &e) != 0 && first.code == 0) {
      char name[200];
      step_name(name, sizeof(name), tx, i);
      act__fail(&first, e.code, "undo of %s failed: %s", name, e.msg);
    }
  }
  if (ledger && first.code == 0 && ledger_undo(a, tx, &first) != 0)
    act__fail(&first, first.code, "ledger: %s", first.msg);
  if (first.code == 0)
    return act_journal_rolled_back(a->j, id, note, err);
  note_add(note, sizeof(note), "; %s", first.msg);
  (void)act_journal_stuck(a->j, id, note, NULL); /* may fail too: it stays open anyway */
  if (why != NULL)
    note_add(why, why_n, "; %s; left open for recovery", first.msg);
  return act__fail(err, first.code, "transaction %llu: %s", (unsigned long long)id,
                   first.msg);
}

/* ---- recovery ---- */

/* 1 when tx is a scale-in past its point of no return: its domain is undefined. */
static int past_no_return(act_apply *a, const act_tx *tx) {
  if (tx->kind != ACT_SCALE_IN)
    return 0;
  for (size_t i = 0; i < tx->n_steps; i++) {
    const act_step *s = &tx->steps[i];
    double defined;
    if (s->knob == ACT_HV_DEFINED && s->before > 0.5 && s->after < 0.5)
      return step_get(a, s, &defined, NULL) == 0 && defined < 0.5;
  }
  return 0;
}

static int recover_tx(act_apply *a, uint64_t id, act_recovery *rec, act_error *err) {
  const act_tx *tx = act_journal_find(a->j, id);
  if (past_no_return(a, tx)) {
    int rc = act_journal_commit(a->j, id, "recovered after a restart: the instance was "
                                "already undefined, so the scale-in is complete", err);
    rec->completed += rc == 0;
    return rc;
  }
  char reason[ACT_REASON_MAX];
  snprintf(reason, sizeof(reason), "recovered after a restart: rolled back to the "
           "journal's before values");
  if (tx->stuck)
    note_add(reason, sizeof(reason), " (earlier: %s)", tx->note);
  int rc = rollback(a, id, tx->n_steps > 0 ? tx->n_steps - 1 : 0, 1, reason, NULL, 0,
                    err);
  rec->rolled_back += rc == 0;
  return rc;
}

int act_apply_recover(act_apply *a, act_recovery *out, act_error *err) {
  act_recovery rec = {0};
  act_error first = {0};
  for (size_t i = 0; i < act_journal_count(a->j); i++) {
    const act_tx *tx = act_journal_at(a->j, i);
    if (tx->state != ACT_TX_OPEN)
      continue;
    rec.open++;
    act_error e = {0};
    if (recover_tx(a, tx->id, &rec, &e) != 0) {
      rec.failed++;
      if (first.code == 0)
        first = e;
    }
  }
  if (out != NULL)
    *out = rec;
  if (first.code != 0)
    return act__fail(err, first.code, "%s", first.msg);
  return 0;
}

/* ---- a decision ---- */

static int finish(act_result *out, act_status status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int finish(act_result *out, act_status status, int code, const char *fmt, ...) {
  out->status = status;
  out->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->error, sizeof(out->error), fmt, ap);
  va_end(ap);
  return code;
}

/* Makes every step of tx, then the ledger change, then commits. On failure *at is the
 * last step that may have changed and *ledger whether the ledger may have. */
static int run(act_apply *a, uint64_t id, size_t *at, int *ledger, act_result *out,
               act_error *err) {
  const act_tx *tx = act_journal_find(a->j, id);
  char name[200];
  for (size_t i = 0; i < tx->n_steps; i++) {
    act_error e = {0};
    *at = i;
    int rc = step_set(a, &tx->steps[i], tx->steps[i].after, 1, &e);
    if (rc == 0)
      rc = step_verify(a, &tx->steps[i], tx->steps[i].after, &e);
    if (rc == 0)
      rc = act_journal_applied(a->j, id, i, &e);
    if (rc != 0) {
      step_name(name, sizeof(name), tx, i);
      return act__fail(err, rc, "%s: %s", name, e.msg);
    }
    out->n_applied = i + 1;
  }
  act_error e = {0};
  *ledger = 1;
  int rc = ledger_do(a, tx, &e);
  if (rc != 0) {
    *ledger = 0; /* a failed ledger call changes nothing */
    return act__fail(err, rc, "ledger: %s", e.msg);
  }
  rc = act_journal_commit(a->j, id, NULL, &e);
  return rc == 0 ? 0 : act__fail(err, rc, "commit: %s", e.msg);
}

static void maybe_compact(act_apply *a) {
  if (a->cfg.compact_after > 0 && act_journal_open_count(a->j) == 0 &&
      act_journal_count(a->j) >= a->cfg.compact_after)
    (void)act_journal_compact(a->j, NULL); /* on failure the old file stays usable */
}

int act_apply_decision(act_apply *a, const act_decision *d, const char *template_vm,
                       act_result *out) {
  memset(out, 0, sizeof(*out));
  out->decision = d->seq;
  act_error e = {0};
  if (act_journal_open_count(a->j) > 0 && act_apply_recover(a, NULL, &e) != 0)
    return finish(out, ACT_FAILED, ACT_EPENDING, "an unfinished transaction could not "
                  "be recovered first: %s", e.msg);
  if (d->dry_run)
    return finish(out, ACT_SKIPPED, 0, "dry run");
  int with_loan = a->ledger != NULL && (d->kind == ACT_LEND || d->kind == ACT_REPAY);
  if (with_loan && d->loan.id == 0)
    return finish(out, ACT_FAILED, ACT_EINVAL, "decision %llu: %s without a loan id",
                  (unsigned long long)d->seq, act_kind_name(d->kind));
  act__steps steps = {0};
  const char *note = "";
  int rc = act__plan_steps(a->hv, &a->cfg, d, template_vm, &steps, &note, &e);
  if (rc != 0) {
    free(steps.v);
    return finish(out, ACT_FAILED, rc, "%s", e.msg);
  }
  out->n_steps = steps.n;
  if (steps.n == 0 && !with_loan) {
    free(steps.v);
    return finish(out, ACT_SKIPPED, 0, "%s", note);
  }
  act_tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.decision = d->seq;
  tx.kind = d->kind;
  snprintf(tx.vm, sizeof(tx.vm), "%s", d->vm);
  tx.ts = d->ts;
  if (with_loan)
    tx.loan = d->loan;
  tx.n_steps = steps.n;
  tx.steps = steps.v;
  rc = act_journal_begin(a->j, &tx, &out->tx, &e);
  free(steps.v);
  if (rc != 0) /* nothing touched yet */
    return finish(out, ACT_FAILED, rc, "%s", e.msg);
  size_t at = 0;
  int ledger = 0;
  if ((rc = run(a, out->tx, &at, &ledger, out, &e)) == 0) {
    out->status = ACT_APPLIED;
    maybe_compact(a);
    return 0;
  }
  const act_tx *tx_now = act_journal_find(a->j, out->tx);
  if (past_no_return(a, tx_now)) { /* it cannot be undone, and it is what was asked */
    char note[ACT_REASON_MAX];
    snprintf(note, sizeof(note), "completed past the point of no return despite: ");
    note_add(note, sizeof(note), "%s", e.msg);
    if (act_journal_commit(a->j, out->tx, note, NULL) == 0) {
      finish(out, ACT_APPLIED, 0, "%s", note);
      out->n_applied = out->n_steps;
      return 0;
    }
  }
  finish(out, ACT_ROLLED_BACK, rc, "%s", e.msg);
  char reason[ACT_REASON_MAX];
  snprintf(reason, sizeof(reason), "%s", e.msg);
  act_error rb = {0};
  if (rollback(a, out->tx, at, ledger, reason, out->error, sizeof(out->error), &rb) != 0 &&
      rb.code != 0 && strstr(out->error, "left open") == NULL)
    note_add(out->error, sizeof(out->error), "; closing it failed: %s", rb.msg);
  const act_tx *done = act_journal_find(a->j, out->tx);
  out->pending = done->state == ACT_TX_OPEN;
  if (out->pending) {
    out->status = ACT_FAILED;
  } else { /* the journal's reason carries the notes (what vanished) too */
    memcpy(out->error, done->note, sizeof(out->error));
    maybe_compact(a);
  }
  return rc;
}
