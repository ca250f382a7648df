/* msg_encode.c -- the outbound messages: forecast, decision, result, state, reply.
 *
 * Each encoder builds one jansson object with json_pack ("o" steals a reference, and
 * a NULL one -- a failed allocation further in -- makes the whole pack fail and
 * release what it stole), then dumps it compact. Keys are snake_case, as the topic
 * table of DESIGN.md names them; a VM or loan is described by the same keys wherever
 * it appears. The policy encoder lives with the policy decoder (msg_policy.c), so the
 * two shapes cannot drift apart. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg_internal.h"

static const char *const status_names[ACT_MSG_STATUS_COUNT] = {
    [ACT_MSG_APPLIED] = "applied", [ACT_MSG_FAILED] = "failed",
    [ACT_MSG_ROLLED_BACK] = "rolled_back", [ACT_MSG_SKIPPED] = "skipped"};

const char *act_msg_status_name(act_msg_status s) {
  return (unsigned)s < ACT_MSG_STATUS_COUNT ? status_names[s] : "?";
}

static json_t *horizon_json(const act_point *p) {
  return json_pack("{s:i, s:o, s:o, s:o}", "h_s", p->h_s, "mean",
                   act__msg_number(p->mean), "lo", act__msg_number(p->lo), "hi",
                   act__msg_number(p->hi));
}

char *act_msg_forecast_encode(const act_msg_forecast *f, act_error *err) {
  json_t *horizons = json_array();
  for (size_t i = 0; horizons != NULL && i < f->n_points; i++) {
    if (json_array_append_new(horizons, horizon_json(&f->points[i])) != 0) {
      json_decref(horizons);
      horizons = NULL;
    }
  }
  json_t *root = json_pack("{s:I, s:o, s:o, s:o}", "ts", (json_int_t)f->ts, "horizons",
                           horizons, "confidence", act__msg_number(f->confidence),
                           "model", act__msg_string(f->model));
  return act__msg_dump(root, "forecast", err);
}

static json_t *loan_json(const act_loan *l) {
  return json_pack("{s:I, s:o, s:o, s:s, s:o, s:I, s:I}", "id", (json_int_t)l->id,
                   "lender", act__msg_string(l->lender), "borrower",
                   act__msg_string(l->borrower), "resource", act_resource_name(l->resource),
                   "amount", act__msg_number(l->amount), "start_ts",
                   (json_int_t)l->start_ts, "expiry_ts", (json_int_t)l->expiry_ts);
}

/* Lend and repay move allocation between two VMs: the lender is the peer. */
static int add_peer(json_t *root, const act_decision *d) {
  if (d->kind != ACT_LEND && d->kind != ACT_REPAY)
    return 0;
  int rc = json_object_set_new(root, "peer", act__msg_string(d->peer));
  if (rc == 0)
    rc = json_object_set_new(root, "peer_from", act__msg_number(d->peer_from));
  if (rc == 0)
    rc = json_object_set_new(root, "peer_to", act__msg_number(d->peer_to));
  return rc;
}

char *act_msg_decision_encode(const act_decision *d, act_error *err) {
  json_t *loan = d->loan.id == 0 ? json_null() : loan_json(&d->loan);
  json_t *root = json_pack(
      "{s:I, s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "id", (json_int_t)d->seq,
      "ts", (json_int_t)d->ts, "vm", act__msg_string(d->vm), "kind", act_kind_name(d->kind),
      "resource", act_resource_name(d->resource), "from", act__msg_number(d->from), "to",
      act__msg_number(d->to), "rule", act__msg_string(d->rule), "reason",
      act__msg_string(d->reason), "dry_run", d->dry_run != 0, "loan", loan);
  if (root != NULL && add_peer(root, d) != 0) {
    json_decref(root);
    root = NULL;
  }
  return act__msg_dump(root, "decision", err);
}

char *act_msg_result_encode(const act_msg_result *r, act_error *err) {
  if ((unsigned)r->status >= ACT_MSG_STATUS_COUNT) {
    act__fail(err, ACT_EINVAL, "result: status %d (no such status)", (int)r->status);
    return NULL;
  }
  json_t *error = r->error == NULL || r->error[0] == '\0' ? json_null()
                                                          : act__msg_string(r->error);
  json_t *root = json_pack("{s:I, s:I, s:o, s:s, s:o}", "decision_id",
                           (json_int_t)r->decision_id, "ts", (json_int_t)r->ts, "vm",
                           act__msg_string(r->vm), "status", act_msg_status_name(r->status),
                           "error", error);
  return act__msg_dump(root, "result", err);
}

void act_msg_state_init(act_msg_state *s, const char *vm, int64_t ts) {
  memset(s, 0, sizeof(*s));
  s->vm = vm;
  s->ts = ts;
  for (int r = 0; r < ACT_RES_COUNT; r++)
    s->alloc[r] = s->usage[r] = NAN;
}

/* {"cpu": v, ...} over the known (not NAN) values. */
static json_t *per_resource(const double v[ACT_RES_COUNT]) {
  json_t *o = json_object();
  for (int r = 0; o != NULL && r < ACT_RES_COUNT; r++) {
    if (isnan(v[r]))
      continue;
    if (json_object_set_new(o, act_resource_name((act_resource)r), act__msg_number(v[r]))) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

static json_t *holds_json(const int64_t until[ACT_RES_COUNT]) {
  json_t *o = json_object();
  for (int r = 0; o != NULL && r < ACT_RES_COUNT; r++) {
    if (until[r] == 0)
      continue;
    if (json_object_set_new(o, act_resource_name((act_resource)r),
                            json_integer((json_int_t)until[r]))) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

char *act_msg_state_encode(const act_msg_state *s, act_error *err) {
  json_t *loans = json_array();
  for (size_t i = 0; loans != NULL && i < s->n_loans; i++) {
    if (json_array_append_new(loans, loan_json(&s->loans[i])) != 0) {
      json_decref(loans);
      loans = NULL;
    }
  }
  json_t *root = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "ts", (json_int_t)s->ts,
                           "vm", act__msg_string(s->vm), "allocation",
                           per_resource(s->alloc), "usage", per_resource(s->usage),
                           "loans", loans, "held_until", holds_json(s->held_until));
  return act__msg_dump(root, "state", err);
}

char *act_msg_reply_encode(const char *request_id, const char *error, act_error *err) {
  json_t *root = error == NULL
                     ? json_pack("{s:o, s:b}", "request_id", act__msg_string(request_id),
                                 "ok", 1)
                     : json_pack("{s:o, s:b, s:o}", "request_id",
                                 act__msg_string(request_id), "ok", 0, "error",
                                 act__msg_string(error));
  return act__msg_dump(root, "reply", err);
}
