/* actuator.h -- libactuator, the public API.
 *
 * libactuator turns forecasts into allocation decisions for the VMs of a host set. It
 * knows nothing of collectd, libvirt or MQTT; plugins/ and tools/ translate. Four parts:
 *
 *   act_policy    host sets and their VMs: thresholds, limits, priorities, costs, lead
 *                 time, cooldowns, borrow limits, scale-out template. Validated when
 *                 built; a candidate replaces the policy in force only once valid.
 *   act_ledger    the loans of a host set, persisted to a file (fsync + atomic rename)
 *                 and reloaded after a restart.
 *   act_planner   one planning cycle per call: (policy, ledger, VM states with their
 *                 forecasts, now) -> a plan, i.e. a list of decisions, each with its
 *                 reason. The planner keeps only what rules over time need (when a VM
 *                 went below its lower band, when it was last resized, manual holds);
 *                 holds and resize times are persisted (act_planner_save/_load).
 *   act_plan      plain list of act_decision values, owned by the caller.
 *
 * Units: cpu in vCPUs (whole), cpu_quota in cores (0.05 steps), memory in MiB (steps
 * of 256 by default), disk_iops in operations/s, net_kbps in KB/s. Times are seconds
 * since the epoch (int64_t) and durations seconds (int).
 *
 * Threads: no object carries a lock; each is used by one thread at a time. A plan
 * borrows nothing: it can be handed to another thread.
 *
 * Errors: functions return 0 (or a non-negative count) on success and a negative ACT_E*
 * code on failure, with a message in the caller's act_error naming the key and value at
 * fault (e.g. `HostSet "web": BorrowMax 1.5 (must be in [0, 1])`). On failure nothing
 * changes. The library never prints and keeps no global state.
 */
#ifndef ACTUATOR_H
#define ACTUATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  ACT_OK = 0,
  ACT_EINVAL = -1,   /* an argument or policy value is out of its domain */
  ACT_ENOMEM = -2,   /* an allocation failed */
  ACT_EIO = -3,      /* a file could not be read, written, synced or renamed */
  ACT_ECORRUPT = -4, /* a persisted file does not parse; it is left untouched */
  ACT_ENOENT = -5,   /* no such host set, VM or loan */
  ACT_EEXIST = -6,   /* a host set, VM or loan id that already exists */
  ACT_ENOSPC = -7,   /* a fixed-size buffer (name, reason) is too small */
  ACT_EHV = -8,      /* the hypervisor refused (used by the apply layer) */
};

typedef struct act_error {
  int code;      /* one of ACT_E*, 0 when no error */
  char msg[256]; /* e.g. HostSet "web": BorrowMax 1.5 (must be in [0, 1]) */
} act_error;

/* Returns a static English name of an ACT_E* code ("invalid argument", ...). */
const char *act_strerror(int code);

#define ACT_NAME_MAX 64    /* host set, VM and template names, with the NUL */
#define ACT_REASON_MAX 320 /* a decision's reason, with the NUL */

/* ---------------------------------------------------------------------------------- */
/* Resources and quantisation (quantize.c)                                             */

typedef enum act_resource {
  ACT_CPU = 0,   /* vCPUs, whole */
  ACT_CPU_QUOTA, /* cores of CPU bandwidth, 0.05 steps */
  ACT_MEMORY,    /* MiB, 256 MiB steps by default */
  ACT_DISK_IOPS, /* block I/O tune, operations/s */
  ACT_NET_KBPS,  /* interface bandwidth, KB/s */
  ACT_RES_COUNT
} act_resource;

/* "cpu", "cpu_quota", "memory", "disk_iops", "net_kbps". */
const char *act_resource_name(act_resource r);
/* Parses a name above ("mem" is accepted for "memory"); ACT_EINVAL names the word. */
int act_resource_parse(const char *name, act_resource *out, act_error *err);

/* The smallest multiple of step >= x, clamped to [min, max] (PROTOCOL.md B: max is
 * allowed even off the grid). step > 0, min <= max. A value within 1e-9 steps of a grid
 * point counts as on it, so 0.15 / 0.05 does not round up to 0.20. */
double act_quantize_up(double x, double step, double min, double max);
/* The largest multiple of step <= x (same tolerance), not clamped; for amounts. */
double act_quantize_down(double x, double step);

/* ---------------------------------------------------------------------------------- */
/* Policy (policy.c, validate.c)                                                        */

/* The rules for one resource. In a host set every field holds a value; in a VM, NAN
 * means "the host set's value" (act_vm_policy_init sets all to NAN). */
typedef struct act_res_policy {
  double threshold;     /* Threshold: target utilisation in (0, 1]; allocation is sized
                           to upper bound / threshold */
  double lower_band;    /* LowerBand: shrink only while upper / allocation stays below
                           this for the cooldown; [0, threshold) (the hysteresis) */
  double min, max;      /* Limit: allocation bounds; 0 <= min <= max, max may be INF */
  double margin;        /* ShrinkMargin: never shrink below usage * (1 + margin), >= 0 */
  double max_shrink;    /* MaxShrink: one shrink removes at most this share of the
                           allocation, (0, 1] */
  double cost;          /* Cost: per unit-hour, >= 0; ranks grants after priority */
  double lend_share;    /* BorrowMax: share of a lender's own allocation it may lend,
                           [0, 1] */
  double lend_amount;   /* BorrowMaxAmount: most one lender lends in total, >= 0 (INF) */
  double borrow_share;  /* BorrowerMax: most a borrower holds, as a share of its own
                           allocation, >= 0 (INF) */
  double borrow_amount; /* BorrowerMaxAmount: most a borrower holds in total, >= 0 */
  double break_even;    /* BreakEven: seconds, [0, 604800]. 0: a shrink follows the
                           LowerBand rule. > 0: the LowerBand is not used; a shrink
                           comes once the allocation above what the forecasts asked
                           for, summed over time as a share of the VM's mean
                           allocation, reaches this many seconds (see resize.c) */
} act_res_policy;

typedef struct act_set_policy {
  char name[ACT_NAME_MAX];
  int managed[ACT_RES_COUNT];     /* Manage: the planner resizes this resource */
  double capacity[ACT_RES_COUNT]; /* Capacity: the set's total, (0, INF]; INF = none */
  double step[ACT_RES_COUNT];     /* Step: the allocation quantum, > 0 */
  act_res_policy res[ACT_RES_COUNT];
  int lead_s;               /* LeadTime: decision to need, [0, 86400] */
  int horizon_s;            /* PlanHorizon: a grow sizes the VM for the highest bound up
                               to this horizon and a shrink never goes below it, so one
                               resize serves that long; [0, 86400], 0 = LeadTime */
  int cooldown_s;           /* Cooldown: before a shrink, and between a resize and the
                               next shrink (with BreakEven: only the latter),
                               [0, 604800] */
  double fast_share;        /* FastCorrection: usage >= this share of the allocation
                               grows the VM at once, (0, 1] */
  int borrow_duration_s;    /* BorrowDuration: longest loan, (0, 604800] */
  char scale_template[ACT_NAME_MAX]; /* ScaleOutTemplate: "" = no scale-out */
  int min_instances;        /* MinInstances: >= 0 */
  int max_instances;        /* MaxInstances: >= MinInstances */
  int scale_cooldown_s;     /* ScaleCooldown: between scale actions, and how long the
                               set must be below its lower band before a scale-in */
  int dry_run;              /* DryRun: decisions are marked dry-run, not to apply */
} act_set_policy;

typedef struct act_vm_policy {
  char name[ACT_NAME_MAX];
  int priority;                      /* Priority: higher is served first; default 0 */
  act_res_policy res[ACT_RES_COUNT]; /* overrides; NAN = the set's value */
} act_vm_policy;

/* Fills *s with defaults under `name`: cpu step 1 min 1, cpu_quota step 0.05 min 0.1,
 * memory step 256 min 256, disk/net step 1 min 0; no resource managed, capacity INF,
 * threshold 0.8, lower band 0.5, margin 0.1, max shrink 0.5, cost 0, borrowing off
 * (BorrowMax 0), BreakEven 0, LeadTime 600, PlanHorizon 0, Cooldown 1800,
 * FastCorrection 0.98, BorrowDuration 1800, no template, instances [0, 0],
 * ScaleCooldown 1800, DryRun off. */
void act_set_policy_init(act_set_policy *s, const char *name);
/* Fills *vm: priority 0, every resource field NAN (inherit). */
void act_vm_policy_init(act_vm_policy *vm, const char *name);

typedef struct act_policy act_policy; /* host sets and their VMs; one thread at a time */

act_policy *act_policy_create(act_error *err); /* NULL and err on failure */
void act_policy_destroy(act_policy *p);        /* NULL is fine */
/* A deep copy, e.g. to patch a candidate while the original stays in force. */
act_policy *act_policy_clone(const act_policy *p, act_error *err);

/* Validates *s (every key, see act_set_policy) and adds a copy. ACT_EEXIST if a set of
 * that name exists. */
int act_policy_add_set(act_policy *p, const act_set_policy *s, act_error *err);
/* Replaces the set of that name (its VMs stay), validating it with its VMs. */
int act_policy_update_set(act_policy *p, const act_set_policy *s, act_error *err);
/* Validates *vm against its set (after inheritance: min <= max, lower band < threshold,
 * the sum of minimums within capacity) and adds or replaces it. */
int act_policy_add_vm(act_policy *p, const char *set, const act_vm_policy *vm,
                      act_error *err);
/* Checks the whole policy again: what add/update checked, set by set (act_policy_swap
 * calls it on its candidate, a safety net should a future patch path bypass them). */
int act_policy_validate(const act_policy *p, act_error *err);

/* Lookups: NULL when absent. Valid until the policy changes or is destroyed. */
const act_set_policy *act_policy_set(const act_policy *p, const char *set);
const act_vm_policy *act_policy_vm(const act_policy *p, const char *set, const char *vm);
size_t act_policy_set_count(const act_policy *p);
const act_set_policy *act_policy_set_at(const act_policy *p, size_t i);

/* The rule values in force for `vm` (which need not be listed: then the set's) and
 * resource r: the set's values with the VM's overrides. ACT_ENOENT for an unknown set. */
int act_policy_effective(const act_policy *p, const char *set, const char *vm,
                         act_resource r, act_res_policy *out, int *priority,
                         act_error *err);

/* Installs `candidate` as the policy in force if it validates: then *in_force is
 * destroyed and replaced, and the call takes ownership of candidate. On failure
 * *in_force is untouched and candidate stays the caller's. */
int act_policy_swap(act_policy **in_force, act_policy *candidate, act_error *err);

/* ---------------------------------------------------------------------------------- */
/* Ledger (ledger.c, ledger_file.c)                                                     */

typedef struct act_loan {
  uint64_t id;                 /* > 0, unique in the ledger */
  char lender[ACT_NAME_MAX];   /* VM names: printable, no white space */
  char borrower[ACT_NAME_MAX];
  act_resource resource;
  double amount;               /* > 0, units of the resource */
  int64_t start_ts, expiry_ts; /* start < expiry */
} act_loan;

typedef struct act_ledger act_ledger; /* the loans of one host set */

/* Opens the ledger persisted at `path` (NULL: in memory only, for tests and dry runs).
 * A missing file is an empty ledger; a file that does not parse fails with ACT_ECORRUPT
 * naming the file and line, and is left exactly as it was. */
act_ledger *act_ledger_create(const char *path, act_error *err);
void act_ledger_destroy(act_ledger *l); /* NULL is fine */

/* Records a loan (validated: id unused, names, amount, times) and persists the ledger;
 * if persisting fails the loan is not recorded. */
int act_ledger_lend(act_ledger *l, const act_loan *loan, act_error *err);
/* Removes loan `id` (repaid or recalled) and persists; ACT_ENOENT if unknown. */
int act_ledger_repay(act_ledger *l, uint64_t id, act_error *err);

size_t act_ledger_count(const act_ledger *l);
/* The i-th loan, in lending order; valid until the ledger changes. */
const act_loan *act_ledger_at(const act_ledger *l, size_t i);
const act_loan *act_ledger_find(const act_ledger *l, uint64_t id);
/* Totals over the loans of resource r where vm is the lender / the borrower. */
double act_ledger_lent(const act_ledger *l, const char *vm, act_resource r);
double act_ledger_borrowed(const act_ledger *l, const char *vm, act_resource r);
/* An id no loan has had (ids are never reused, also across restarts). */
uint64_t act_ledger_next_id(const act_ledger *l);

/* ---------------------------------------------------------------------------------- */
/* Decisions and plans (decision.c)                                                    */

typedef enum act_kind {
  ACT_GROW = 0,  /* vm: from -> to */
  ACT_SHRINK,    /* vm: from -> to */
  ACT_LEND,      /* loan: peer (lender) peer_from -> peer_to, vm (borrower) from -> to */
  ACT_REPAY,     /* loan back: vm (borrower) from -> to, peer (lender) peer_from -> to */
  ACT_SCALE_OUT, /* vm: the new instance's name, from the set's template; from -> to:
                    the set's instance count */
  ACT_SCALE_IN,  /* vm: the instance to shut down; from -> to: instance count */
  ACT_MANUAL,    /* vm: from -> to, set by an operator's set or hold */
  ACT_KIND_COUNT
} act_kind;

/* "grow", "shrink", "lend", "repay", "scale_out", "scale_in", "manual". */
const char *act_kind_name(act_kind k);

typedef struct act_decision {
  uint64_t seq;                 /* 1, 2, ... over the planner's life: a decision id */
  int64_t ts;                   /* the cycle's now */
  act_kind kind;
  char vm[ACT_NAME_MAX];
  act_resource resource;        /* scale_out/scale_in: the resource that triggered */
  double from, to;              /* vm's allocation before and after */
  char peer[ACT_NAME_MAX];      /* lend/repay: the lender, else "" */
  double peer_from, peer_to;    /* the lender's allocation before and after */
  act_loan loan;                /* lend/repay: the loan (id 0 otherwise) */
  int dry_run;                  /* the set's DryRun: publish, do not apply */
  char rule[16];                /* what fired: forecast, fast, bound, cooldown, ... */
  char reason[ACT_REASON_MAX];  /* key=value: rule, forecast, bound, threshold, policy */
} act_decision;

/* A need the set could not meet: what was asked above the allocation, what was given. */
typedef struct act_shortfall {
  char vm[ACT_NAME_MAX];
  act_resource resource;
  double wanted;  /* allocation the rules asked for */
  double granted; /* allocation after this plan */
} act_shortfall;

/* A plan: a plain list owned by the caller. Apply decisions in order: repayments and
 * shrinks come before grows, so the set's capacity holds after every step. */
typedef struct act_plan {
  act_decision *decisions;
  size_t n_decisions, cap_decisions;
  act_shortfall *shortfalls;
  size_t n_shortfalls, cap_shortfalls;
} act_plan;

void act_plan_init(act_plan *plan);  /* empty */
void act_plan_clear(act_plan *plan); /* empty again, keeps memory */
void act_plan_free(act_plan *plan);  /* frees, then empty; NULL is fine */
/* The first decision of kind k about vm (as vm or peer); NULL when none. */
const act_decision *act_plan_find(const act_plan *plan, act_kind k, const char *vm);

/* ---------------------------------------------------------------------------------- */
/* Planner (planner.c and the rule files)                                              */

/* A forecast of a VM's usage of one resource `h_s` seconds ahead. */
typedef struct act_point {
  int h_s;
  double mean, lo, hi; /* lo <= mean <= hi; non-finite points are ignored */
} act_point;

/* One VM and resource as the cycle sees it. */
typedef struct act_vm_state {
  const char *vm;           /* borrowed for the call */
  act_resource resource;
  double alloc;             /* allocation now, with what it borrowed, without what it
                               lent; finite, >= 0 */
  double usage;             /* usage now; NAN when unknown */
  const act_point *points;  /* borrowed; may be NULL when n_points is 0 */
  size_t n_points;
} act_vm_state;

/* Everything one cycle decides from. All pointers are borrowed for the call. */
typedef struct act_cycle {
  const act_policy *policy;
  const char *set;
  const act_ledger *ledger; /* the set's loans; NULL = none and no borrowing */
  const act_vm_state *vms;  /* one row per (VM, resource); a VM of the set that is not
                               in the policy follows the set's values */
  size_t n_vms;
  int64_t now;
} act_cycle;

typedef struct act_planner act_planner; /* the memory of one host set's planner */

act_planner *act_planner_create(act_error *err);
void act_planner_destroy(act_planner *pl); /* NULL is fine */

/* Runs one cycle: appends its decisions and shortfalls to *out (cleared first). The
 * planner remembers what rules over time need; the ledger is only read (the applier
 * records loans once they are applied). Decisions are as if applied at once. */
int act_planner_plan(act_planner *pl, const act_cycle *in, act_plan *out,
                     act_error *err);

typedef enum act_manual_action {
  ACT_MANUAL_SET = 0, /* hold the VM at `value` for `duration_s` */
  ACT_MANUAL_HOLD,    /* hold the VM at its allocation for `duration_s` */
  ACT_MANUAL_RELEASE  /* end a set or hold now */
} act_manual_action;

typedef struct act_manual {
  const char *vm;
  act_resource resource;
  act_manual_action action;
  double value;   /* SET: the allocation wanted (clamped to the VM's limits) */
  int duration_s; /* SET, HOLD: > 0 */
} act_manual;

/* Records an operator's override; it rules the VM's resource from `now` until
 * now + duration_s: the planner neither resizes, lends from nor lends to it. */
int act_planner_manual(act_planner *pl, const act_manual *m, int64_t now,
                       act_error *err);
/* The end of vm's override of r, or 0 when none is in force at `now`. */
int64_t act_planner_held_until(const act_planner *pl, const char *vm, act_resource r,
                               int64_t now);

/* The planner's memory on disk (planner_file.c): what a restart must not forget. The
 * operators' overrides (a set or hold, until its end), and for the cooldowns when each
 * VM's resource was last resized and when the set last scaled. The rest starts again
 * after a restart (a run below the lower band, BreakEven's levels, mean allocations),
 * which can only delay a shrink or a scale-in, never hasten one. */

typedef struct act_planner_loaded {
  size_t holds;   /* overrides restored */
  size_t resizes; /* last-resize times restored: cooldowns still running */
  size_t scales;  /* 1 when the set's scale cooldown was restored */
  size_t expired; /* records over at `now` (hold ended, cooldown run out), dropped */
  size_t skipped; /* records that did not read and are lost (err names the first) */
} act_planner_loaded;

/* Restores into pl, a planner that has not planned yet, the memory persisted at
 * `path`, dropping what is over at `now` (0: nothing dropped; an override that ended
 * rules nothing anyway) under set's Cooldown and ScaleCooldown (set NULL: no cooldown
 * is dropped). A missing file restores nothing. *out (may be NULL) counts.
 * Returns 0 when the whole file read. ACT_ECORRUPT when part of it did not (a damaged
 * or unknown record, a file cut short): every record that read is restored, err names
 * the file, the first bad line and how many records were lost, the file is copied to
 * "<path>.bad" for an operator, and the next act_planner_save rewrites <path> with
 * what was restored. ACT_EIO when the file cannot be read or the copy not written:
 * nothing is restored and the file must not be saved over. */
int act_planner_load(act_planner *pl, const char *path, const act_set_policy *set,
                     int64_t now, act_planner_loaded *out, act_error *err);

/* Persists pl's memory at `now` (what is over dropped as in act_planner_load) to
 * `path` when it differs from what the file holds: a temporary file, fsync, rename,
 * fsync of the folder, so a crash leaves the old file or the new one. Returns 1 when
 * written, 0 when the file already held it, or a negative ACT_E* with err (the file
 * as it was; the next call tries again). */
int act_planner_save(act_planner *pl, const char *path, const act_set_policy *set,
                     int64_t now, act_error *err);

/* ---------------------------------------------------------------------------------- */
/* Applying decisions: more error codes (the API is in apply.h and hv.h)               */

enum {
  ACT_EUNSUPPORTED = -9, /* the hypervisor cannot do this (e.g. libvirt's test driver
                            has no cpu quota) */
  ACT_EVERIFY = -10,     /* a change was accepted but does not read back */
  ACT_EPENDING = -11,    /* an unfinished transaction must be recovered first */
  ACT_ESTOPPED = -12,    /* the domain exists but does not run: it has no live state */
};

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_H */
