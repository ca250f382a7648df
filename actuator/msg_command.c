/* msg_command.c -- an operator's command: set, hold, release a VM, or scale a set out.
 *
 * The topic says where (`<prefix>/<set>/<vm>/command`, or `<prefix>/<set>/command`
 * for scale_out), the message what: {"request_id", "action", "resource", "value",
 * "duration"}. Each action takes exactly the fields it needs; one it does not take is
 * an error rather than ignored, so `{"action": "hold", "value": 4}` is not silently
 * read as a hold at the current allocation. The planner records the result
 * (act_planner_manual) through act_msg_command_manuals; scale_out has no planner
 * override and is left to the caller. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg_internal.h"

static const char *const action_names[ACT_MSG_ACTION_COUNT] = {
    [ACT_MSG_SET] = "set", [ACT_MSG_HOLD] = "hold", [ACT_MSG_RELEASE] = "release",
    [ACT_MSG_SCALE_OUT] = "scale_out"};

const char *act_msg_action_name(act_msg_action a) {
  return (unsigned)a < ACT_MSG_ACTION_COUNT ? action_names[a] : "?";
}

static const char *const command_keys[] = {"request_id", "action", "resource", "value",
                                           "duration", NULL};

/* What each action takes: 2 required, 1 optional, 0 refused. */
typedef struct action_rule {
  int resource, value, duration;
  int on_vm; /* 1: a VM's topic, 0: the set's topic */
} action_rule;

static const action_rule rules[ACT_MSG_ACTION_COUNT] = {
    [ACT_MSG_SET] = {2, 2, 2, 1},
    [ACT_MSG_HOLD] = {1, 0, 2, 1},
    [ACT_MSG_RELEASE] = {1, 0, 0, 1},
    [ACT_MSG_SCALE_OUT] = {0, 0, 0, 0},
};

static int get_action(const json_t *root, act_msg_action *out, act_error *err) {
  static const char want[] = "one of \"set\", \"hold\", \"release\", \"scale_out\"";
  const json_t *v = json_object_get(root, "action");
  if (!json_is_string(v))
    return act__msg_bad(err, "action", want, v);
  for (int a = 0; a < ACT_MSG_ACTION_COUNT; a++)
    if (strcmp(json_string_value(v), action_names[a]) == 0) {
      *out = (act_msg_action)a;
      return 0;
    }
  return act__msg_bad(err, "action", want, v);
}

/* A field against its rule for the action: present when required, absent when
 * refused. *present tells whether to read it. */
static int field_rule(const json_t *root, const char *key, int rule, act_msg_action a,
                      int *present, act_error *err) {
  const json_t *v = json_object_get(root, key);
  *present = v != NULL;
  if (rule == 2 && v == NULL)
    return act__fail(err, ACT_EINVAL, "field \"%s\": missing (action \"%s\" needs it)",
                     key, action_names[a]);
  if (rule == 0 && v != NULL)
    return act__fail(err, ACT_EINVAL, "field \"%s\": not taken by action \"%s\"", key,
                     action_names[a]);
  return 0;
}

static int check_topic(const act_msg_ctx *ctx, const char *set, const char *vm,
                       act_msg_action a, act_error *err) {
  int on_vm = vm != NULL && vm[0] != '\0';
  if (rules[a].on_vm && !on_vm)
    return act__fail(err, ACT_EINVAL, "field \"action\": \"%s\" is sent to a VM's "
                     "command topic, not the host set's", action_names[a]);
  if (!rules[a].on_vm && on_vm)
    return act__fail(err, ACT_EINVAL, "field \"action\": \"%s\" is sent to the host "
                     "set's command topic, not a VM's", action_names[a]);
  if (act_policy_set(ctx->policy, set) == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%.63s\": no such set", set ? set : "");
  if (!on_vm)
    return 0;
  int known = ctx->vm_known != NULL ? ctx->vm_known(ctx->user, set, vm)
                                    : act_policy_vm(ctx->policy, set, vm) != NULL;
  if (!known || !act__name_ok(vm))
    return act__fail(err, ACT_ENOENT, "HostSet \"%.63s\": no VM \"%.63s\"", set, vm);
  return 0;
}

static int get_resource(const act_msg_ctx *ctx, const json_t *v, const char *set,
                        act_resource *out, act_error *err) {
  if (!json_is_string(v))
    return act__msg_bad(err, "resource", "a resource: cpu, cpu_quota, memory, "
                        "disk_iops or net_kbps", v);
  int rc = act__msg_get_resource(json_string_value(v), "resource", out, err);
  if (rc != 0)
    return rc;
  if (!act_policy_set(ctx->policy, set)->managed[*out])
    return act__fail(err, ACT_EINVAL, "field \"resource\": %s is not managed in "
                     "HostSet \"%s\"", act_resource_name(*out), set);
  return 0;
}

static int get_value(const json_t *v, double *out, act_error *err) {
  if (!json_is_number(v) || !(json_number_value(v) > 0) ||
      !isfinite(json_number_value(v)))
    return act__msg_bad(err, "value", "a number > 0", v);
  *out = json_number_value(v);
  return 0;
}

static int get_duration(const json_t *v, int *out, act_error *err) {
  char want[64];
  snprintf(want, sizeof(want), "an integer number of seconds in [1, %d]",
           ACT_MSG_MAX_DURATION_S);
  if (!json_is_integer(v) || json_integer_value(v) < 1 ||
      json_integer_value(v) > ACT_MSG_MAX_DURATION_S)
    return act__msg_bad(err, "duration", want, v);
  *out = (int)json_integer_value(v);
  return 0;
}

/* The action's fields, once the topic is known to suit it. */
static int decode_fields(const act_msg_ctx *ctx, const json_t *root, act_msg_command *c,
                         act_error *err) {
  const action_rule *r = &rules[c->action];
  int has_res, has_value, has_duration;
  int rc = field_rule(root, "resource", r->resource, c->action, &has_res, err);
  if (rc == 0)
    rc = field_rule(root, "value", r->value, c->action, &has_value, err);
  if (rc == 0)
    rc = field_rule(root, "duration", r->duration, c->action, &has_duration, err);
  c->all_resources = rc == 0 && !has_res && c->action != ACT_MSG_SCALE_OUT;
  if (rc == 0 && has_res)
    rc = get_resource(ctx, json_object_get(root, "resource"), c->set, &c->resource, err);
  if (rc == 0 && has_value)
    rc = get_value(json_object_get(root, "value"), &c->value, err);
  if (rc == 0 && has_duration)
    rc = get_duration(json_object_get(root, "duration"), &c->duration_s, err);
  return rc;
}

int act_msg_command_decode(const act_msg_ctx *ctx, const char *set, const char *vm,
                           const char *json, size_t len, act_msg_command *out,
                           act_error *err) {
  act_msg_command c;
  memset(&c, 0, sizeof(c));
  c.value = NAN;
  json_t *root = NULL;
  int rc = act__msg_load(ctx, json, len, &root, err);
  if (rc == 0)
    rc = act__msg_request_id(root, c.request_id, err);
  if (rc == 0)
    rc = act__msg_only(root, "", command_keys, err);
  if (rc == 0)
    rc = get_action(root, &c.action, err);
  if (rc == 0)
    rc = check_topic(ctx, set, vm, c.action, err);
  if (rc == 0) {
    snprintf(c.set, sizeof(c.set), "%s", set);
    snprintf(c.vm, sizeof(c.vm), "%s", vm == NULL ? "" : vm);
    rc = decode_fields(ctx, root, &c, err);
  }
  json_decref(root);
  if (rc != 0) {
    /* the id alone, so the caller can address its reply */
    memset(out, 0, sizeof(*out));
    memcpy(out->request_id, c.request_id, sizeof(c.request_id));
    return rc;
  }
  *out = c;
  return 0;
}

int act_msg_command_manuals(const act_msg_command *cmd, const act_policy *policy,
                            act_manual out[ACT_RES_COUNT], act_error *err) {
  static const act_manual_action map[] = {
      [ACT_MSG_SET] = ACT_MANUAL_SET, [ACT_MSG_HOLD] = ACT_MANUAL_HOLD,
      [ACT_MSG_RELEASE] = ACT_MANUAL_RELEASE};
  if ((unsigned)cmd->action > ACT_MSG_RELEASE)
    return act__fail(err, ACT_EINVAL, "command \"%s\": not a planner override",
                     act_msg_action_name(cmd->action));
  const act_set_policy *s = act_policy_set(policy, cmd->set);
  if (s == NULL)
    return act__fail(err, ACT_ENOENT, "HostSet \"%.63s\": no such set", cmd->set);
  int n = 0;
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    int wanted = cmd->all_resources ? s->managed[r] : (act_resource)r == cmd->resource;
    if (!wanted)
      continue;
    out[n++] = (act_manual){.vm = cmd->vm, .resource = (act_resource)r,
                            .action = map[cmd->action], .value = cmd->value,
                            .duration_s = cmd->duration_s};
  }
  return n;
}
