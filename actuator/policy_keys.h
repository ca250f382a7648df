/* policy_keys.h -- the policy's keys by name, as a config file spells them.
 *
 * collectd's config tree hands the actuator plugin lines like
 *     Threshold cpu 0.8        Limit memory 1024 16384        LeadTime 600
 * This unit turns one such line (key and typed arguments) into the field of an
 * act_set_policy or act_vm_policy, so the plugin stays glue and the mapping is tested
 * without a daemon. It checks the shape of a line (known key, number and types of its
 * arguments, resource names, whole numbers where the field is an int); the ranges are
 * the library's validation (act_policy_add_set / act_policy_add_vm), which names the
 * same keys, so every message points at the line to fix.
 *
 * Keys (case-insensitive, as collectd's own):
 *   set and VM, per resource; without a resource the value applies to every resource:
 *     Threshold, LowerBand, ShrinkMargin, MaxShrink, Cost, BorrowMax, BorrowMaxAmount,
 *     BorrowerMax, BorrowerMaxAmount, BreakEven    [<resource>] <number>
 *     Limit                              <resource> <min> <max>   (max may be "inf")
 *   set only:
 *     Manage                             <resource>... [<true|false>]
 *     Capacity                           <resource> <number|"inf">
 *     Step                               <resource> <number>
 *     LeadTime, PlanHorizon, Cooldown, BorrowDuration, ScaleCooldown    <seconds>
 *     MinInstances, MaxInstances         <count>
 *     FastCorrection                     <share>
 *     ScaleOutTemplate                   <domain name>
 *     DryRun                             <true|false>
 *   VM only:
 *     Priority                           <integer>
 * Resources: cpu, cpu_quota, memory (or mem; MiB), disk_iops, net_kbps.
 *
 * The keys themselves are one table, act_policy_keys[] below: this config path and the
 * JSON of the `policy` / `policy/set` messages (msg_policy.c) both read it, so a key
 * is added once, as a row, and both front ends take it.
 *
 * Threads: no state. Errors: ACT_EINVAL naming where, key and the argument at fault,
 * e.g. `HostSet "web": Limit: expected <resource> <min> <max>, got 2 arguments`; on
 * error the policy struct is unchanged.
 */
#ifndef ACTUATOR_POLICY_KEYS_H
#define ACTUATOR_POLICY_KEYS_H

#include <stddef.h>

#include "actuator/actuator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum act_arg_type { ACT_ARG_STRING = 0, ACT_ARG_NUMBER, ACT_ARG_BOOLEAN } act_arg_type;

/* One argument of a config line (collectd's oconfig_value_t, without collectd). */
typedef struct act_arg {
  act_arg_type type;
  const char *s; /* ACT_ARG_STRING; borrowed */
  double n;      /* ACT_ARG_NUMBER */
  int b;         /* ACT_ARG_BOOLEAN: 0 or 1 */
} act_arg;

/* What a key holds, and so how each front end reads and writes it. The struct that
 * act_policy_key.off points into is named with each kind. */
typedef enum act_key_kind {
  ACT_KEY_RES_DOUBLE,  /* a double of act_res_policy, per resource (sets and VMs) */
  ACT_KEY_LIMIT,       /* min and max of act_res_policy, per resource; off unused */
  ACT_KEY_MANAGE,      /* an int[ACT_RES_COUNT] of act_set_policy, 0 or 1 */
  ACT_KEY_SET_PER_RES, /* a double[ACT_RES_COUNT] of act_set_policy */
  ACT_KEY_SET_INT,     /* an int of act_set_policy */
  ACT_KEY_SET_DOUBLE,  /* a double of act_set_policy */
  ACT_KEY_SET_NAME,    /* a char[ACT_NAME_MAX] of act_set_policy */
  ACT_KEY_SET_BOOL,    /* an int of act_set_policy, 0 or 1 */
  ACT_KEY_VM_INT,      /* an int of act_vm_policy */
} act_key_kind;

enum { ACT_KEY_IN_SET = 1, ACT_KEY_IN_VM = 2 }; /* act_policy_key.scope, or-ed */

typedef struct act_policy_key {
  const char *name; /* as config files and JSON spell it (config: any case) */
  act_key_kind kind;
  unsigned scope;   /* where it may stand: ACT_KEY_IN_SET and/or ACT_KEY_IN_VM */
  size_t off;       /* offsetof the field in the struct of its kind */
  int inf_ok;       /* ACT_KEY_SET_PER_RES: a config line may say "inf" */
} act_policy_key;

/* Every key, in the order the JSON encoder writes them (and an unknown-field message
 * lists them). Static, read-only; act_policy_key_count() rows. */
extern const act_policy_key act_policy_keys[];
size_t act_policy_key_count(void);
#define ACT_POLICY_KEYS_MAX 40 /* a bound for callers' arrays; the table is smaller */

/* The key named `name` (case-insensitive) that may stand in `scope`, or NULL. */
const act_policy_key *act_policy_key_find(const char *name, unsigned scope);

/* The policy a key is written to: a set's (vm NULL) or one VM's (set NULL). Borrowed. */
typedef struct act_key_target {
  act_set_policy *set;
  act_vm_policy *vm;
} act_key_target;

/* Where key k writes in t: for ACT_KEY_RES_DOUBLE and ACT_KEY_LIMIT the act_res_policy
 * array (the field is at k->off of each element), for the others the field itself;
 * NULL when t lacks the struct of k's kind (a set-only key and a VM). */
void *act_policy_key_field(const act_policy_key *k, const act_key_target *t);

/* Sets `key` of host set *s from args[0..n-1]. */
int act_set_policy_key(act_set_policy *s, const char *key, const act_arg *args, size_t n,
                       act_error *err);
/* Sets `key` of VM *vm of host set `set` (named in messages) from args[0..n-1]. */
int act_vm_policy_key(act_vm_policy *vm, const char *set, const char *key,
                      const act_arg *args, size_t n, act_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_POLICY_KEYS_H */
