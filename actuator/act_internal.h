/* act_internal.h -- inside libactuator only: the opaque structs and the helpers the
 * rule files share.
 *
 * The planner's cycle (planner.c) is written as a pipeline over one resource at a time,
 * each step in a file of its own, all working on one act__cycle:
 *
 *   prepare   (planner.c)   rows -> act__vm: effective policy, upper bound, need, holds
 *   settle    (borrow.c)    loans: repaid at expiry, recalled, returned when not needed
 *   resize    (resize.c)    per VM: the allocation the rules want (bound, fast, forecast,
 *                           shrink after the cooldown, manual), shrinks emitted at once
 *   grant     (capacity.c)  grows by priority then cost, within the set's free capacity
 *   borrow    (borrow.c)    what grants left unmet, from lenders with spare allocation
 *   scale     (scale.c)     after every resource: scale out or in
 *
 * Invariant across steps: v->alloc is the VM's allocation once the decisions already in
 * the plan are applied, and c->free = capacity - sum(v->alloc) >= 0 whenever it started
 * so (grows only ever take from c->free; lends and repayments move, never add).
 */
#ifndef ACT_INTERNAL_H
#define ACT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "actuator.h"
#include "apply.h"
#include "hv.h"

/* ---- errors (error.c) ---- */
/* Sets err (if not NULL) to code and a printf-style message; returns code. */
int act__fail(act_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As act__fail, with ": " and strerror(errnum) appended. */
int act__fail_errno(act_error *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- durable files (durable.c) ---- */
/* Writes all n bytes (retrying short writes and EINTR); 0, or -1 with errno. */
int act__write_all(int fd, const char *buf, size_t n);
/* fsyncs the folder holding `path`, so a created or renamed file stays; 0 or -1. */
int act__sync_folder(const char *path);
/* CRC-32 (IEEE, as zlib's crc32()) of n bytes. */
uint32_t act__crc32(const void *data, size_t n);

/* ---- names (resource.c) ---- */
/* 1 when name is a usable VM/set name: 1..ACT_NAME_MAX-1 printable non-space bytes. */
int act__name_ok(const char *name);
/* Grows *buf (of *cap elements of `size` bytes) to hold at least `need`; 0 or -1. */
int act__grow(void **buf, size_t *cap, size_t need, size_t size);

/* ---- policy (policy.c, validate.c) ---- */
typedef struct act__set {
  act_set_policy pol;
  act_vm_policy *vms;
  size_t n_vms, cap_vms;
} act__set;

struct act_policy {
  act__set *sets;
  size_t n_sets, cap_sets;
};

act__set *act__policy_find(const act_policy *p, const char *set);
/* Every key of a set on its own (ranges); names the first bad one. */
int act__validate_set(const act_set_policy *s, act_error *err);
/* A VM's overrides on their own, and after inheritance from s. */
int act__validate_vm(const act_set_policy *s, const act_vm_policy *vm, act_error *err);
/* A set with its VMs: each VM, and the sum of minimums within capacity. `extra` (may
 * be NULL) is a VM about to be added or to replace the one of its name. */
int act__validate_members(const act__set *set, const act_set_policy *pol,
                          const act_vm_policy *extra, act_error *err);
/* The set's values with vm's overrides (vm may be NULL). */
void act__effective(const act_set_policy *s, const act_vm_policy *vm, act_resource r,
                    act_res_policy *out);

/* ---- ledger (ledger.c, ledger_file.c) ---- */
struct act_ledger {
  char *path;      /* the file, or NULL: in memory only */
  act_loan *loans; /* in lending order */
  size_t n_loans, cap_loans;
  uint64_t next_id; /* > every id ever lent */
};

/* A loan on its own: id > 0, names, resource, amount > 0 and finite, start < expiry.
 * `where` prefixes the message. */
int act__loan_check(const act_loan *loan, const char *where, act_error *err);
/* Writes the ledger to l->path (temporary file, fsync, rename, fsync of the folder). */
int act__ledger_save(const act_ledger *l, act_error *err);
/* Reads l->path into the empty ledger l; a missing file is an empty ledger. */
int act__ledger_load(act_ledger *l, act_error *err);

/* ---- planner memory (planner.c) ---- */
enum { ACT__LEVELS = 32 }; /* need levels a track remembers for BreakEven (resize.c) */

typedef struct act__level {
  double level; /* a cycle's need, on the grid */
  int64_t ts;   /* that cycle */
} act__level;

typedef struct act__track { /* one (VM, resource) */
  char vm[ACT_NAME_MAX];
  act_resource res;
  int64_t below_since; /* first cycle of the current run below the lower band, or 0 */
  int64_t last_change; /* last grow/shrink/manual decision, or 0 */
  int64_t hold_until;  /* end of a manual set/hold, or 0 */
  double hold_value;   /* the held allocation; NAN: take the allocation when first seen */
  int64_t seen_ts;     /* last cycle that had a row for it (unseen ones are dropped) */
  double mean_alloc;   /* the allocation averaged over about a day (EWMA) */
  int64_t mean_ts;     /* its last update, or 0: not started */
  int64_t run_start;   /* BreakEven: start of the run of need levels below; 0: the
                          next cycle that notes a need starts one */
  act__level levels[ACT__LEVELS]; /* the run's suffix maxima: levels[j] is the highest
                         need after levels[j-1].ts (after run_start for j = 0), so
                         levels fall and times rise along the array */
  int n_levels;
} act__track;

/* Records a resize of the track's VM at `now`: cooldowns and the BreakEven run
 * restart from here. */
void act__track_changed(act__track *t, int64_t now);
/* vm's track of r, made (empty, hold_value NAN) when there is none; NULL on ENOMEM. */
act__track *act__track_get(act_planner *pl, const char *vm, act_resource r);

struct act_planner {
  act__track *tracks;
  size_t n_tracks, cap_tracks;
  uint64_t seq;             /* last decision number given */
  int64_t last_scale_ts;    /* last scale-out or scale-in decision, or 0 */
  int64_t quiet_since;      /* first cycle the set looked idle enough to scale in, or 0 */
  unsigned next_instance;   /* suffix tried next for a scale-out name */
  uint32_t file_crc;        /* CRC-32 of the records the file holds (planner_file.c) */
  int file_known;           /* file_crc is valid: last loaded or saved intact */
};

/* ---- one cycle ---- */
typedef struct act__vm {
  const act_vm_state *in;
  act__track *track;
  act_res_policy pol; /* effective values */
  int priority;
  double step;
  double alloc;     /* working allocation, see the invariant above */
  double lent;      /* lent out / borrowed in, loans of this resource, working */
  double borrowed;
  double upper;     /* highest `hi` over the lead window; NAN: no usable forecast */
  int upper_h_s;    /* its horizon */
  double need;      /* upper / threshold; NAN with upper */
  double cover;     /* highest `hi` up to PlanHorizon, at least upper */
  int cover_h_s;    /* its horizon */
  double cover_need; /* cover / threshold: what a resize sizes the VM for */
  double want;      /* allocation the rules ask for (>= alloc for a grow request) */
  const char *rule; /* why want */
  int held;         /* a manual set/hold rules it this cycle */
  int recalled;     /* lost a loan back to its lender this cycle: lends nothing more */
} act__vm;

typedef struct act__loan_ref {
  act_loan loan;
  int open; /* still outstanding in this plan */
} act__loan_ref;

typedef struct act__cycle {
  const act_cycle *in;
  const act_set_policy *set;
  act_planner *pl;
  act_plan *out;
  act_resource res;
  act__vm *vms;
  size_t n_vms;
  act__loan_ref *loans; /* the ledger's loans of res */
  size_t n_loans;
  uint64_t next_loan_id;
  double capacity;
  double free;      /* capacity - sum(alloc); may be INF */
  double unmet;     /* what grants and loans could not give, summed */
} act__cycle;

act__vm *act__cycle_vm(act__cycle *c, const char *name); /* NULL when absent */
/* The highest `hi` over the lead window of a row: every point with h_s <= lead_s and
 * the first one at or beyond it (so the bound covers the whole time until the next
 * decision can take effect). NAN when the row has no finite point; *h_s its horizon. */
double act__upper(const act_vm_state *row, int lead_s, int *h_s);
/* quantize_up(v->need) within the VM's limits, at least usage * (1 + margin): the
 * least allocation the VM keeps; NAN when its need is unknown. */
double act__keep(const act__vm *v);
/* The rule steps, in pipeline order; each returns 0 or ACT_ENOMEM/ACT_ENOSPC. */
int act__settle_loans(act__cycle *c);
int act__resize(act__cycle *c);
int act__grant(act__cycle *c);
int act__borrow(act__cycle *c, act__vm *borrower, double *unmet);
/* After all resources: `short_res` is the first short resource or -1. */
int act__scale(act_planner *pl, const act_cycle *in, const act_set_policy *set,
               int short_res, double short_by, act_plan *out);

/* ---- decisions (decision.c) ---- */
/* Appends a decision with seq, ts, dry_run, kind, vm, resource, from, to and rule
 * filled; NULL on ENOMEM. Valid until the next push. */
act_decision *act__push(act_plan *out, act_planner *pl, const act_set_policy *set,
                        int64_t now, act_kind k, const char *vm, act_resource r,
                        double from, double to, const char *rule);
/* Appends printf-style text to d->reason; ACT_ENOSPC if it would not fit. */
int act__reasonf(act_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The part of a reason every VM decision shares: forecast, bound, threshold, policy. */
int act__reason_vm(act_decision *d, const act__vm *v);
int act__shortfall(act_plan *out, const char *vm, act_resource r, double wanted,
                   double granted);

/* A tolerance for comparing allocations of quantum `step`. */
static inline double act__eps(double step) { return step * 1e-9; }

/* ---- applying (apply.c, apply_steps.c) ---- */
typedef struct act__steps { /* a growing list of steps */
  act_step *v;
  size_t n, cap;
} act__steps;

/* Reads from hv what decision d changes and appends, in the order to apply them, the
 * steps that take it there (none when it is there already; *note then says why).
 * Nothing is changed; on failure err names the decision and the domain. */
int act__plan_steps(act_hv *hv, const act_apply_config *cfg, const act_decision *d,
                    const char *template_vm, act__steps *out, const char **note,
                    act_error *err);
/* 1 when two values of knob k are the same allocation (memory within the balloon
 * tolerance, quota within a thousandth of a core, others exactly). */
int act__knob_same(act_hv_knob k, double x, double y, const act_apply_config *cfg);

#endif /* ACT_INTERNAL_H */
