/* messages.h -- libactuator's JSON messages: what foresight publishes on MQTT, and the
 * two kinds of message it accepts (DESIGN.md, "MQTT topic API").
 *
 * Outbound (encoders): forecast, decision, result, per-VM state, the policy in force
 * and the reply to a request. Each returns a compact JSON text the caller owns and
 * frees with free(), or NULL with err filled. A number that is not finite is written
 * as null (JSON has no NaN), an unbounded one (INFINITY) as the string "inf".
 *
 * Inbound (decoders): `<prefix>/<set>/policy/set` carries a patch of one host set's
 * policy, `<prefix>/<set>/<vm>/command` an operator's command for one VM and
 * `<prefix>/<set>/command` one for the whole set (scale_out). Every inbound message
 * is untrusted: at most ACT_MSG_MAX_BYTES, one JSON object, no unknown or duplicate
 * field, every field of the right type and range, the host set and VM known. A
 * rejected message changes nothing and fills err with the first fault, naming the
 * field and the value, e.g.
 *   field "value": must be a number > 0, got "abc"
 *   HostSet "web": BorrowMax cpu 1.5 (must be in [0, 1])
 * the second from the same validation code that checks the config file.
 *
 * The policy's JSON uses the config file's key names (Threshold, Limit, LeadTime...),
 * per resource as an object keyed by resource name:
 *   {"set": "web", "Manage": {"cpu": true, ...}, "Capacity": {"cpu": 32, ...},
 *    "Step": {...}, "Threshold": {...}, "LowerBand": {...}, "Limit": {"cpu": [1, 8]},
 *    "ShrinkMargin", "MaxShrink", "Cost", "BorrowMax", "BorrowMaxAmount",
 *    "BorrowerMax", "BorrowerMaxAmount": {...}, "LeadTime": 600, "Cooldown": 1800,
 *    "FastCorrection": 0.98, "BorrowDuration": 1800, "ScaleOutTemplate": "",
 *    "MinInstances": 0, "MaxInstances": 0, "ScaleCooldown": 1800, "DryRun": false,
 *    "VM": {"web1": {"Priority": 10, "Limit": {"cpu": [1, 8]}}}}
 * A patch is any part of that object (the encoder's output is a valid patch). In a
 * VM's block a null resets a value to the set's, and a Limit's bound may be null.
 *
 * Threads: the functions keep no state; a policy given to them is only read.
 */
#ifndef ACTUATOR_MESSAGES_H
#define ACTUATOR_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "actuator/actuator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ACT_MSG_MAX_BYTES (64 * 1024) /* largest inbound message accepted */
#define ACT_MSG_ID_MAX 65             /* a request id, with the NUL */
#define ACT_MSG_MAX_DURATION_S 604800 /* a command's longest hold: one week */

/* ---------------------------------------------------------------------------------- */
/* Outbound                                                                            */

/* `<prefix>/<set>/<vm>/forecast/<metric>`, retained. */
typedef struct act_msg_forecast {
  int64_t ts;               /* the forecast's origin */
  const act_point *points;  /* borrowed; horizons in order */
  size_t n_points;
  double confidence;        /* of the [lo, hi] interval, e.g. 0.9 */
  const char *model;        /* e.g. "ets+ar"; borrowed */
} act_msg_forecast;
char *act_msg_forecast_encode(const act_msg_forecast *f, act_error *err);

/* `<prefix>/<set>/decision`, QoS 1: id (the decision's seq), ts, vm, kind, resource,
 * from, to, rule, reason, dry_run, loan (null or the loan) and, for lend and repay,
 * peer, peer_from, peer_to. */
char *act_msg_decision_encode(const act_decision *d, act_error *err);

typedef enum act_msg_status {
  ACT_MSG_APPLIED = 0,
  ACT_MSG_FAILED,
  ACT_MSG_ROLLED_BACK,
  ACT_MSG_SKIPPED,
  ACT_MSG_STATUS_COUNT
} act_msg_status;
/* "applied", "failed", "rolled_back", "skipped". */
const char *act_msg_status_name(act_msg_status s);

/* `<prefix>/<set>/result`, QoS 1. */
typedef struct act_msg_result {
  uint64_t decision_id;
  int64_t ts;
  const char *vm;       /* the decision's VM; borrowed */
  act_msg_status status;
  const char *error;    /* NULL or "" when none; borrowed */
} act_msg_result;
char *act_msg_result_encode(const act_msg_result *r, act_error *err);

/* `<prefix>/<set>/<vm>/state`, retained. Per resource NAN means unknown: the key is
 * left out of "allocation" and "usage"; held_until 0 means no hold. */
typedef struct act_msg_state {
  int64_t ts;
  const char *vm;                   /* borrowed */
  double alloc[ACT_RES_COUNT];
  double usage[ACT_RES_COUNT];
  int64_t held_until[ACT_RES_COUNT];
  const act_loan *loans;            /* borrowed: the loans the VM lends or borrows */
  size_t n_loans;
} act_msg_state;
/* Sets ts and vm, every alloc and usage to NAN, no hold, no loans. */
void act_msg_state_init(act_msg_state *s, const char *vm, int64_t ts);
char *act_msg_state_encode(const act_msg_state *s, act_error *err);

/* `<prefix>/<set>/policy`, retained: the set's policy in force (format above).
 * ACT_ENOENT when the policy has no such set. */
char *act_msg_policy_encode(const act_policy *p, const char *set, act_error *err);

/* `<prefix>/reply/<request id>`: {"request_id": id, "ok": true} or
 * {"request_id": id, "ok": false, "error": error}. error NULL means ok. */
char *act_msg_reply_encode(const char *request_id, const char *error, act_error *err);

/* ---------------------------------------------------------------------------------- */
/* Inbound                                                                             */

/* Whether `vm` is a VM of host set `set` (e.g. one the actuator has seen values of).
 * NULL in act_msg_ctx: the VMs listed in the policy are the known ones. */
typedef int (*act_msg_vm_known_fn)(void *user, const char *set, const char *vm);

/* What an inbound message is judged against. Everything is borrowed for the call. */
typedef struct act_msg_ctx {
  const act_policy *policy; /* the policy in force */
  act_msg_vm_known_fn vm_known;
  void *user;               /* given to vm_known */
  size_t max_bytes;         /* 0: ACT_MSG_MAX_BYTES */
} act_msg_ctx;

/* A request id is 1 to ACT_MSG_ID_MAX - 1 characters of A-Z a-z 0-9 . _ - (it becomes
 * a topic level of the reply). On a rejected message the id is still filled when the
 * message had a usable one, so the caller can reply with the error; else it is "". */

/* Applies the patch in `json` (len bytes, need not end in NUL) to a clone of
 * ctx->policy's host set `set` and validates the clone as a whole with
 * act_policy_validate. On success *candidate is the patched policy, owned by the
 * caller (install it with act_policy_swap); the policy in force is never changed.
 * The message: {"request_id": ID, "policy": PATCH}. */
int act_msg_policy_patch(const act_msg_ctx *ctx, const char *set, const char *json,
                         size_t len, act_policy **candidate,
                         char request_id[ACT_MSG_ID_MAX], act_error *err);

typedef enum act_msg_action {
  ACT_MSG_SET = 0,   /* resource, value, duration: hold the VM at value */
  ACT_MSG_HOLD,      /* duration, resource optional: hold the VM where it is */
  ACT_MSG_RELEASE,   /* resource optional: end a set or hold now */
  ACT_MSG_SCALE_OUT, /* the set's topic only: start an instance from the template */
  ACT_MSG_ACTION_COUNT
} act_msg_action;
/* "set", "hold", "release", "scale_out". */
const char *act_msg_action_name(act_msg_action a);

typedef struct act_msg_command {
  char request_id[ACT_MSG_ID_MAX];
  char set[ACT_NAME_MAX];
  char vm[ACT_NAME_MAX];  /* "" for a set's command */
  act_msg_action action;
  int all_resources;      /* hold, release without "resource": every managed one */
  act_resource resource;  /* when !all_resources */
  double value;           /* set: > 0 and finite */
  int duration_s;         /* set, hold: (0, ACT_MSG_MAX_DURATION_S] */
} act_msg_command;

/* Decodes {"request_id": ID, "action": A, "resource": R, "value": V, "duration": S}
 * received on the command topic of `set` and `vm` (vm NULL or "": the set's topic).
 * Fields an action does not take are rejected, so a typo never goes unnoticed. */
int act_msg_command_decode(const act_msg_ctx *ctx, const char *set, const char *vm,
                           const char *json, size_t len, act_msg_command *out,
                           act_error *err);

/* The planner overrides a set, hold or release command stands for: one per resource
 * (every managed resource of the set when all_resources). Writes up to ACT_RES_COUNT
 * entries to out (their vm points into cmd) and returns how many; ACT_EINVAL for a
 * scale_out command, ACT_ENOENT for a set the policy lacks. */
int act_msg_command_manuals(const act_msg_command *cmd, const act_policy *policy,
                            act_manual out[ACT_RES_COUNT], act_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_MESSAGES_H */
