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
 *     BorrowerMax, BorrowerMaxAmount     [<resource>] <number>
 *     Limit                              <resource> <min> <max>   (max may be "inf")
 *   set only:
 *     Manage                             <resource>... [<true|false>]
 *     Capacity                           <resource> <number|"inf">
 *     Step                               <resource> <number>
 *     LeadTime, Cooldown, BorrowDuration, ScaleCooldown    <seconds>
 *     MinInstances, MaxInstances         <count>
 *     FastCorrection                     <share>
 *     ScaleOutTemplate                   <domain name>
 *     DryRun                             <true|false>
 *   VM only:
 *     Priority                           <integer>
 * Resources: cpu, cpu_quota, memory (or mem; MiB), disk_iops, net_kbps.
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
