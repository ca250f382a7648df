/* test_messages.c -- the JSON messages: what the encoders write, what the decoders
 * accept, and the error each rejection names. Encoded messages are read back with
 * jansson, so the tests check fields, not byte layout. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "actuator/policy_keys.h"
#include "tests/unit/msg_fixture.h"

static int setup(void **state) {
  *state = mf_new();
  return 0;
}

static int teardown(void **state) {
  mf_free(*state);
  return 0;
}

/* Parses an encoder's output (and frees it). */
static json_t *parse(char *text) {
  assert_non_null(text);
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  free(text);
  assert_non_null(j);
  return j;
}

static double num(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static const char *str(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

/* ---- encoders ---------------------------------------------------------------------- */

static void test_forecast_lists_horizons_in_order(void **state) {
  mf *f = *state;
  act_point pts[2] = {{300, 1.5, 1.0, 2.0}, {600, 2.5, 1.5, 3.5}};
  act_msg_forecast fc = {1700000000, pts, 2, 0.9, "ets"};
  json_t *j = parse(act_msg_forecast_encode(&fc, &f->err));
  assert_int_equal((int64_t)num(j, "ts"), 1700000000);
  assert_float_equal(num(j, "confidence"), 0.9, 1e-12);
  assert_string_equal(str(j, "model"), "ets");
  json_t *h = json_object_get(j, "horizons");
  assert_int_equal(json_array_size(h), 2);
  assert_int_equal((int)num(json_array_get(h, 1), "h_s"), 600);
  assert_float_equal(num(json_array_get(h, 1), "hi"), 3.5, 1e-12);
  assert_float_equal(num(json_array_get(h, 0), "lo"), 1.0, 1e-12);
  json_decref(j);
}

static void test_forecast_writes_nan_as_null(void **state) {
  mf *f = *state;
  act_point pt = {300, NAN, 1.0, 2.0};
  act_msg_forecast fc = {1700000000, &pt, 1, 0.9, "naive"};
  json_t *j = parse(act_msg_forecast_encode(&fc, &f->err));
  json_t *h0 = json_array_get(json_object_get(j, "horizons"), 0);
  assert_true(json_is_null(json_object_get(h0, "mean")));
  json_decref(j);
}

static act_decision grow_decision(void) {
  act_decision d;
  memset(&d, 0, sizeof(d));
  d.seq = 17;
  d.ts = 1700000300;
  d.kind = ACT_GROW;
  strcpy(d.vm, "web1");
  d.resource = ACT_CPU;
  d.from = 2;
  d.to = 3;
  d.peer_from = d.peer_to = NAN;
  strcpy(d.rule, "forecast");
  strcpy(d.reason, "rule=forecast hi=2.7@600s threshold=0.8 need=3.375");
  return d;
}

static void test_decision_carries_id_kind_change_and_reason(void **state) {
  mf *f = *state;
  act_decision d = grow_decision();
  json_t *j = parse(act_msg_decision_encode(&d, &f->err));
  assert_int_equal((int)num(j, "id"), 17);
  assert_string_equal(str(j, "vm"), "web1");
  assert_string_equal(str(j, "kind"), "grow");
  assert_string_equal(str(j, "resource"), "cpu");
  assert_float_equal(num(j, "from"), 2, 0);
  assert_float_equal(num(j, "to"), 3, 0);
  assert_string_equal(str(j, "reason"), d.reason);
  assert_true(json_is_null(json_object_get(j, "loan")));
  assert_null(json_object_get(j, "peer"));
  json_decref(j);
}

static void test_decision_of_a_loan_names_lender_and_loan(void **state) {
  mf *f = *state;
  act_decision d = grow_decision();
  d.kind = ACT_LEND;
  strcpy(d.peer, "web2");
  d.peer_from = 4;
  d.peer_to = 3;
  d.loan = (act_loan){.id = 5, .resource = ACT_CPU, .amount = 1, .start_ts = 100,
                      .expiry_ts = 1900};
  strcpy(d.loan.lender, "web2");
  strcpy(d.loan.borrower, "web1");
  json_t *j = parse(act_msg_decision_encode(&d, &f->err));
  assert_string_equal(str(j, "peer"), "web2");
  assert_float_equal(num(j, "peer_to"), 3, 0);
  json_t *loan = json_object_get(j, "loan");
  assert_int_equal((int)num(loan, "id"), 5);
  assert_string_equal(str(loan, "lender"), "web2");
  assert_int_equal((int)num(loan, "expiry_ts"), 1900);
  json_decref(j);
}

static void test_result_without_error_writes_null(void **state) {
  mf *f = *state;
  act_msg_result r = {17, 1700000301, "web1", ACT_MSG_APPLIED, NULL};
  json_t *j = parse(act_msg_result_encode(&r, &f->err));
  assert_int_equal((int)num(j, "decision_id"), 17);
  assert_string_equal(str(j, "status"), "applied");
  assert_true(json_is_null(json_object_get(j, "error")));
  json_decref(j);
}

static void test_result_carries_status_and_error(void **state) {
  mf *f = *state;
  act_msg_result r = {18, 1700000301, "web1", ACT_MSG_ROLLED_BACK, "setVcpus: denied"};
  json_t *j = parse(act_msg_result_encode(&r, &f->err));
  assert_string_equal(str(j, "status"), "rolled_back");
  assert_string_equal(str(j, "error"), "setVcpus: denied");
  json_decref(j);
}

static void test_result_rejects_an_unknown_status(void **state) {
  mf *f = *state;
  act_msg_result r = {18, 0, "web1", ACT_MSG_STATUS_COUNT, NULL};
  assert_null(act_msg_result_encode(&r, &f->err));
  assert_int_equal(f->err.code, ACT_EINVAL);
}

static void test_state_leaves_out_unknown_values_and_absent_holds(void **state) {
  mf *f = *state;
  act_msg_state s;
  act_msg_state_init(&s, "web1", 1700000000);
  s.alloc[ACT_CPU] = 4;
  s.usage[ACT_CPU] = 2.5;
  s.held_until[ACT_MEMORY] = 1700003600;
  json_t *j = parse(act_msg_state_encode(&s, &f->err));
  json_t *alloc = json_object_get(j, "allocation");
  assert_int_equal(json_object_size(alloc), 1);
  assert_float_equal(num(alloc, "cpu"), 4, 0);
  assert_float_equal(num(json_object_get(j, "usage"), "cpu"), 2.5, 0);
  json_t *held = json_object_get(j, "held_until");
  assert_int_equal(json_object_size(held), 1);
  assert_int_equal((int64_t)num(held, "memory"), 1700003600);
  assert_int_equal(json_array_size(json_object_get(j, "loans")), 0);
  json_decref(j);
}

static void test_state_lists_loans(void **state) {
  mf *f = *state;
  act_loan loan = {.id = 9, .resource = ACT_MEMORY, .amount = 512, .start_ts = 1,
                   .expiry_ts = 2};
  strcpy(loan.lender, "web2");
  strcpy(loan.borrower, "web1");
  act_msg_state s;
  act_msg_state_init(&s, "web1", 1700000000);
  s.loans = &loan;
  s.n_loans = 1;
  json_t *j = parse(act_msg_state_encode(&s, &f->err));
  json_t *l0 = json_array_get(json_object_get(j, "loans"), 0);
  assert_string_equal(str(l0, "resource"), "memory");
  assert_float_equal(num(l0, "amount"), 512, 0);
  json_decref(j);
}

static void test_reply_ok_and_error(void **state) {
  mf *f = *state;
  json_t *ok = parse(act_msg_reply_encode("r1", NULL, &f->err));
  assert_true(json_is_true(json_object_get(ok, "ok")));
  assert_null(json_object_get(ok, "error"));
  json_t *no = parse(act_msg_reply_encode("r2", "field \"x\": unknown", &f->err));
  assert_true(json_is_false(json_object_get(no, "ok")));
  assert_string_equal(str(no, "request_id"), "r2");
  assert_string_equal(str(no, "error"), "field \"x\": unknown");
  json_decref(ok);
  json_decref(no);
}

static void test_policy_writes_config_keys_and_inf(void **state) {
  mf *f = *state;
  json_t *j = parse(act_msg_policy_encode(f->pol, "web", &f->err));
  assert_string_equal(str(j, "set"), "web");
  assert_float_equal(num(json_object_get(j, "Capacity"), "cpu"), 32, 0);
  assert_string_equal(str(json_object_get(j, "Capacity"), "disk_iops"), "inf");
  assert_true(json_is_true(json_object_get(json_object_get(j, "Manage"), "memory")));
  assert_int_equal((int)num(j, "LeadTime"), 600);
  json_t *web1 = json_object_get(json_object_get(j, "VM"), "web1");
  assert_int_equal((int)num(web1, "Priority"), 10);
  json_t *lim = json_object_get(json_object_get(web1, "Limit"), "cpu");
  assert_float_equal(json_number_value(json_array_get(lim, 1)), 8, 0);
  /* inherited values are not written for a VM */
  assert_null(json_object_get(web1, "Threshold"));
  json_decref(j);
}

/* The message is written from the config keys' table: every key of a set is in it. */
static void test_policy_writes_every_set_key_of_the_table(void **state) {
  mf *f = *state;
  json_t *j = parse(act_msg_policy_encode(f->pol, "web", &f->err));
  for (size_t i = 0; i < act_policy_key_count(); i++)
    if (act_policy_keys[i].scope & ACT_KEY_IN_SET)
      assert_non_null(json_object_get(j, act_policy_keys[i].name));
  json_decref(j);
}

static void test_policy_of_an_unknown_set_is_enoent(void **state) {
  mf *f = *state;
  assert_null(act_msg_policy_encode(f->pol, "db", &f->err));
  assert_int_equal(f->err.code, ACT_ENOENT);
}

/* The encoder's output, sent back as a patch, changes nothing. */
static void test_policy_encoding_is_a_patch_that_changes_nothing(void **state) {
  mf *f = *state;
  char *before = act_msg_policy_encode(f->pol, "web", &f->err);
  assert_non_null(before);
  size_t len = strlen(before) + 64;
  char *msg = malloc(len);
  snprintf(msg, len, "{\"request_id\":\"rt\",\"policy\":%s}", before);
  assert_int_equal(mf_patch(f, msg), 0);
  char *after = act_msg_policy_encode(f->cand, "web", &f->err);
  assert_string_equal(after, before);
  free(before);
  free(after);
  free(msg);
}

/* ---- policy patches ---------------------------------------------------------------- */

static void test_patch_changes_the_candidate_not_the_policy_in_force(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a1\",\"policy\":{\"Threshold\":"
                               "{\"cpu\":0.7},\"LeadTime\":900}}"), 0);
  assert_string_equal(f->id, "a1");
  assert_float_equal(act_policy_set(f->cand, "web")->res[ACT_CPU].threshold, 0.7, 0);
  assert_int_equal(act_policy_set(f->cand, "web")->lead_s, 900);
  assert_float_equal(act_policy_set(f->pol, "web")->res[ACT_CPU].threshold, 0.8, 0);
  assert_int_equal(act_policy_set(f->pol, "web")->lead_s, 600);
}

static void test_patch_sets_break_even_and_plan_horizon(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a9\",\"policy\":{\"BreakEven\":"
                               "{\"mem\":1500},\"PlanHorizon\":3600}}"), 0);
  assert_float_equal(act_policy_set(f->cand, "web")->res[ACT_MEMORY].break_even, 1500, 0);
  assert_int_equal(act_policy_set(f->cand, "web")->horizon_s, 3600);
}

static void test_patch_out_of_range_gets_the_config_validation_message(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a2\",\"policy\":{\"BorrowMax\":"
                               "{\"cpu\":1.5}}}"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "HostSet \"web\": BorrowMax cpu 1.5 (must be in [0, 1])");
  assert_null(f->cand);
}

static void test_rejected_patch_still_reports_its_request_id(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a3\",\"policy\":{\"Bogus\":1}}"),
                   ACT_EINVAL);
  assert_string_equal(f->id, "a3");
}

static void test_patch_without_request_id_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"policy\":{}}"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"request_id\": missing (must be a string of 1 "
                                  "to 64 characters A-Z a-z 0-9 . _ -)");
  assert_string_equal(f->id, "");
}

static void test_request_id_with_a_topic_separator_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a/#\",\"policy\":{}}"), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "got \"a/#\""));
  assert_string_equal(f->id, "");
}

static void test_patch_unknown_key_is_named(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a4\",\"policy\":{\"Treshold\":{}}}"),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"Treshold\": unknown"));
}

static void test_message_unknown_top_level_field_is_named(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a5\",\"policy\":{},\"extra\":1}"),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"extra\": unknown"));
}

static void test_patch_unknown_resource_is_named(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a6\",\"policy\":{\"Threshold\":"
                               "{\"gpu\":0.5}}}"), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"Threshold.gpu\": must be a resource"));
}

static void test_patch_wrong_type_names_field_and_value(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a7\",\"policy\":{\"Threshold\":"
                               "{\"cpu\":\"abc\"}}}"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"Threshold.cpu\": must be a number (or \"inf\"), "
                                  "got \"abc\"");
}

static void test_patch_fractional_lead_time_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a8\",\"policy\":{\"LeadTime\":1.5}}"),
                   ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"LeadTime\": must be an integer, got 1.5");
}

static void test_patch_limit_must_be_a_pair(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"a9\",\"policy\":{\"Limit\":"
                               "{\"cpu\":[1]}}}"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"Limit.cpu\": must be [min, max], got [1]");
}

static void test_patch_accepts_inf_capacity(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b1\",\"policy\":{\"Capacity\":"
                               "{\"cpu\":\"inf\"}}}"), 0);
  assert_true(isinf(act_policy_set(f->cand, "web")->capacity[ACT_CPU]));
}

static void test_patch_vm_override_applies_to_that_vm(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b2\",\"policy\":{\"VM\":{\"web2\":"
                               "{\"Priority\":5,\"Threshold\":{\"cpu\":0.6}}}}}"), 0);
  const act_vm_policy *vm = act_policy_vm(f->cand, "web", "web2");
  assert_int_equal(vm->priority, 5);
  assert_float_equal(vm->res[ACT_CPU].threshold, 0.6, 0);
  assert_true(isnan(vm->res[ACT_MEMORY].threshold));
}

static void test_patch_vm_null_resets_to_the_sets_value(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b3\",\"policy\":{\"VM\":{\"web1\":"
                               "{\"Limit\":{\"cpu\":[null,null]}}}}}"), 0);
  act_res_policy eff;
  assert_int_equal(act_policy_effective(f->cand, "web", "web1", ACT_CPU, &eff, NULL,
                                        &f->err), 0);
  assert_true(isinf(eff.max));
}

static void test_patch_of_an_unknown_vm_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b4\",\"policy\":{\"VM\":{\"web01\":"
                               "{\"Priority\":1}}}}"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"VM.web01\": must be a VM of host set \"web\", "
                                  "got \"web01\"");
}

static void test_patch_may_add_a_vm_the_caller_knows(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b5\",\"policy\":{\"VM\":{\"web3\":"
                               "{\"Priority\":3}}}}"), 0);
  assert_int_equal(act_policy_vm(f->cand, "web", "web3")->priority, 3);
  assert_null(act_policy_vm(f->pol, "web", "web3"));
}

static void test_patch_vm_keys_exclude_set_only_keys(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b6\",\"policy\":{\"VM\":{\"web1\":"
                               "{\"Capacity\":{\"cpu\":4}}}}}"), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"VM.web1.Capacity\": unknown"));
}

static void test_patch_naming_another_set_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"b7\",\"policy\":{\"set\":\"db\"}}"),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"set\""));
}

static void test_patch_of_an_unknown_set_is_enoent(void **state) {
  mf *f = *state;
  const char *msg = "{\"request_id\":\"b8\",\"policy\":{}}";
  assert_int_equal(act_msg_policy_patch(&f->ctx, "db", msg, strlen(msg), &f->cand, f->id,
                                        &f->err), ACT_ENOENT);
  assert_string_equal(f->err.msg, "HostSet \"db\": no such set");
}

/* A patch is judged as a whole: a set value and a VM value that only fit together. */
static void test_patch_is_validated_as_a_whole(void **state) {
  mf *f = *state;
  /* web1 at Limit cpu 6 (max inherited): the set's max 4 alone conflicts with it, and
   * passes once the same patch lowers web1's minimum too */
  assert_int_equal(mf_patch(f, "{\"request_id\":\"c1\",\"policy\":{\"VM\":{\"web1\":"
                               "{\"Limit\":{\"cpu\":[6,null]}}}}}"), 0);
  act_policy_swap(&f->pol, f->cand, &f->err);
  f->cand = NULL;
  f->ctx.policy = f->pol;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"c2\",\"policy\":{\"Limit\":{\"cpu\":"
                               "[1,4]}}}"), ACT_EINVAL);
  assert_int_equal(mf_patch(f, "{\"request_id\":\"c3\",\"policy\":{\"Limit\":{\"cpu\":"
                               "[1,4]},\"VM\":{\"web1\":{\"Limit\":{\"cpu\":[2,null]}}}}}"),
                   0);
}

static void test_oversized_message_is_rejected_before_parsing(void **state) {
  mf *f = *state;
  f->ctx.max_bytes = 32;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"c4\",\"policy\":{\"LeadTime\":900}}"),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "(must be at most 32)"));
  assert_string_equal(f->id, "");
}

static void test_message_that_is_not_an_object_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "[1,2]"), ACT_EINVAL);
  assert_string_equal(f->err.msg, "message: must be a JSON object, got [1,2]");
}

static void test_message_that_is_not_json_is_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":"), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "message: not valid JSON"));
}

/* A raw NUL after a number: jansson alone would take "0.7<NUL>" as 0.7. */
static void test_message_with_a_nul_byte_is_rejected(void **state) {
  mf *f = *state;
  static const char msg[] = "{\"request_id\":\"n1\",\"policy\":{\"LeadTime\":700\0}}";
  assert_int_equal(act_msg_policy_patch(&f->ctx, "web", msg, sizeof(msg) - 1, &f->cand,
                                        f->id, &f->err), ACT_EINVAL);
  assert_null(f->cand);
  assert_non_null(strstr(f->err.msg, "NUL byte"));
}

static void test_duplicate_keys_are_rejected(void **state) {
  mf *f = *state;
  assert_int_equal(mf_patch(f, "{\"request_id\":\"d\",\"request_id\":\"e\","
                               "\"policy\":{}}"), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "duplicate"));
}

/* ---- commands ---------------------------------------------------------------------- */

static int cmd(mf *f, const char *vm, const char *json, act_msg_command *out) {
  memset(&f->err, 0, sizeof(f->err));
  return act_msg_command_decode(&f->ctx, "web", vm, json, strlen(json), out, &f->err);
}

static void test_command_set_decodes_every_field(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k1\",\"action\":\"set\","
                                  "\"resource\":\"cpu\",\"value\":4,\"duration\":600}", &c),
                   0);
  assert_string_equal(c.request_id, "k1");
  assert_string_equal(c.set, "web");
  assert_string_equal(c.vm, "web1");
  assert_int_equal(c.action, ACT_MSG_SET);
  assert_int_equal(c.resource, ACT_CPU);
  assert_false(c.all_resources);
  assert_float_equal(c.value, 4, 0);
  assert_int_equal(c.duration_s, 600);
}

static void test_command_value_not_a_number_names_field_and_value(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k2\",\"action\":\"set\","
                                  "\"resource\":\"cpu\",\"value\":\"abc\",\"duration\":60}",
                       &c), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"value\": must be a number > 0, got \"abc\"");
  assert_string_equal(c.request_id, "k2");
}

static void test_command_value_zero_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k3\",\"action\":\"set\","
                                  "\"resource\":\"cpu\",\"value\":0,\"duration\":60}", &c),
                   ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"value\": must be a number > 0, got 0");
}

static void test_command_set_without_value_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k4\",\"action\":\"set\","
                                  "\"resource\":\"cpu\",\"duration\":60}", &c), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"value\": missing (action \"set\" needs it)");
}

static void test_command_duration_beyond_a_week_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k5\",\"action\":\"hold\","
                                  "\"duration\":604801}", &c), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"duration\": must be an integer number of "
                                  "seconds in [1, 604800], got 604801");
}

static void test_command_hold_refuses_a_value(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k6\",\"action\":\"hold\","
                                  "\"value\":4,\"duration\":60}", &c), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"value\": not taken by action \"hold\"");
}

static void test_command_hold_without_resource_holds_every_managed_one(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k7\",\"action\":\"hold\","
                                  "\"duration\":60}", &c), 0);
  assert_true(c.all_resources);
  act_manual m[ACT_RES_COUNT];
  assert_int_equal(act_msg_command_manuals(&c, f->pol, m, &f->err), 2);
  assert_int_equal(m[0].resource, ACT_CPU);
  assert_int_equal(m[1].resource, ACT_MEMORY);
  assert_int_equal(m[1].action, ACT_MANUAL_HOLD);
  assert_int_equal(m[1].duration_s, 60);
  assert_string_equal(m[1].vm, "web1");
}

static void test_command_set_becomes_a_planner_override(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k8\",\"action\":\"set\","
                                  "\"resource\":\"cpu\",\"value\":4,\"duration\":600}", &c),
                   0);
  act_manual m[ACT_RES_COUNT];
  assert_int_equal(act_msg_command_manuals(&c, f->pol, m, &f->err), 1);
  act_planner *pl = act_planner_create(NULL);
  assert_int_equal(act_planner_manual(pl, &m[0], 1000, &f->err), 0);
  assert_int_equal(act_planner_held_until(pl, "web1", ACT_CPU, 1000), 1600);
  act_planner_destroy(pl);
}

static void test_command_release_takes_no_duration(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k9\",\"action\":\"release\","
                                  "\"duration\":60}", &c), ACT_EINVAL);
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"k9\",\"action\":\"release\","
                                  "\"resource\":\"memory\"}", &c), 0);
  assert_int_equal(c.resource, ACT_MEMORY);
}

static void test_command_scale_out_goes_to_the_sets_topic(void **state) {
  mf *f = *state;
  act_msg_command c;
  const char *msg = "{\"request_id\":\"s1\",\"action\":\"scale_out\"}";
  assert_int_equal(cmd(f, "web1", msg, &c), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "host set's command topic"));
  assert_int_equal(cmd(f, NULL, msg, &c), 0);
  assert_int_equal(c.action, ACT_MSG_SCALE_OUT);
  assert_string_equal(c.vm, "");
  act_manual m[ACT_RES_COUNT];
  assert_int_equal(act_msg_command_manuals(&c, f->pol, m, &f->err), ACT_EINVAL);
}

static void test_command_for_a_vm_on_the_sets_topic_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, NULL, "{\"request_id\":\"s2\",\"action\":\"hold\","
                                "\"duration\":60}", &c), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "a VM's command topic"));
}

static void test_command_for_an_unknown_vm_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web9", "{\"request_id\":\"u1\",\"action\":\"release\"}", &c),
                   ACT_ENOENT);
  assert_string_equal(f->err.msg, "HostSet \"web\": no VM \"web9\"");
}

static void test_command_for_a_known_unlisted_vm_is_accepted(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web3", "{\"request_id\":\"u2\",\"action\":\"release\"}", &c),
                   0);
}

static void test_command_without_callback_knows_the_policys_vms(void **state) {
  mf *f = *state;
  act_msg_command c;
  f->ctx.vm_known = NULL;
  assert_int_equal(cmd(f, "web3", "{\"request_id\":\"u3\",\"action\":\"release\"}", &c),
                   ACT_ENOENT);
  assert_int_equal(cmd(f, "web2", "{\"request_id\":\"u3\",\"action\":\"release\"}", &c),
                   0);
}

static void test_command_for_an_unknown_set_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  const char *msg = "{\"request_id\":\"u4\",\"action\":\"release\"}";
  assert_int_equal(act_msg_command_decode(&f->ctx, "db", "web1", msg, strlen(msg), &c,
                                          &f->err), ACT_ENOENT);
  assert_string_equal(f->err.msg, "HostSet \"db\": no such set");
}

static void test_command_on_an_unmanaged_resource_is_rejected(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"u5\",\"action\":\"release\","
                                  "\"resource\":\"net_kbps\"}", &c), ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"resource\": net_kbps is not managed in "
                                  "HostSet \"web\"");
}

static void test_command_unknown_action_is_named(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"u6\",\"action\":\"reboot\"}", &c),
                   ACT_EINVAL);
  assert_string_equal(f->err.msg, "field \"action\": must be one of \"set\", \"hold\", "
                                  "\"release\", \"scale_out\", got \"reboot\"");
}

static void test_command_resource_of_wrong_type_is_named(void **state) {
  mf *f = *state;
  act_msg_command c;
  assert_int_equal(cmd(f, "web1", "{\"request_id\":\"u7\",\"action\":\"release\","
                                  "\"resource\":[\"cpu\"]}", &c), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "field \"resource\": must be a resource"));
  assert_non_null(strstr(f->err.msg, "got [\"cpu\"]"));
}

static void test_long_offending_values_are_cut_short(void **state) {
  mf *f = *state;
  act_msg_command c;
  char msg[512];
  snprintf(msg, sizeof(msg), "{\"request_id\":\"u8\",\"action\":\"%0200d\"}", 7);
  assert_int_equal(cmd(f, "web1", msg, &c), ACT_EINVAL);
  assert_true(strlen(f->err.msg) < 160);
  assert_non_null(strstr(f->err.msg, "..."));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_forecast_lists_horizons_in_order),
      T(test_forecast_writes_nan_as_null),
      T(test_decision_carries_id_kind_change_and_reason),
      T(test_decision_of_a_loan_names_lender_and_loan),
      T(test_result_without_error_writes_null),
      T(test_result_carries_status_and_error),
      T(test_result_rejects_an_unknown_status),
      T(test_state_leaves_out_unknown_values_and_absent_holds),
      T(test_state_lists_loans),
      T(test_reply_ok_and_error),
      T(test_policy_writes_config_keys_and_inf),
      T(test_policy_writes_every_set_key_of_the_table),
      T(test_policy_of_an_unknown_set_is_enoent),
      T(test_policy_encoding_is_a_patch_that_changes_nothing),
      T(test_patch_changes_the_candidate_not_the_policy_in_force),
      T(test_patch_sets_break_even_and_plan_horizon),
      T(test_patch_out_of_range_gets_the_config_validation_message),
      T(test_rejected_patch_still_reports_its_request_id),
      T(test_patch_without_request_id_is_rejected),
      T(test_request_id_with_a_topic_separator_is_rejected),
      T(test_patch_unknown_key_is_named),
      T(test_message_unknown_top_level_field_is_named),
      T(test_patch_unknown_resource_is_named),
      T(test_patch_wrong_type_names_field_and_value),
      T(test_patch_fractional_lead_time_is_rejected),
      T(test_patch_limit_must_be_a_pair),
      T(test_patch_accepts_inf_capacity),
      T(test_patch_vm_override_applies_to_that_vm),
      T(test_patch_vm_null_resets_to_the_sets_value),
      T(test_patch_of_an_unknown_vm_is_rejected),
      T(test_patch_may_add_a_vm_the_caller_knows),
      T(test_patch_vm_keys_exclude_set_only_keys),
      T(test_patch_naming_another_set_is_rejected),
      T(test_patch_of_an_unknown_set_is_enoent),
      T(test_patch_is_validated_as_a_whole),
      T(test_oversized_message_is_rejected_before_parsing),
      T(test_message_that_is_not_an_object_is_rejected),
      T(test_message_that_is_not_json_is_rejected),
      T(test_message_with_a_nul_byte_is_rejected),
      T(test_duplicate_keys_are_rejected),
      T(test_command_set_decodes_every_field),
      T(test_command_value_not_a_number_names_field_and_value),
      T(test_command_value_zero_is_rejected),
      T(test_command_set_without_value_is_rejected),
      T(test_command_duration_beyond_a_week_is_rejected),
      T(test_command_hold_refuses_a_value),
      T(test_command_hold_without_resource_holds_every_managed_one),
      T(test_command_set_becomes_a_planner_override),
      T(test_command_release_takes_no_duration),
      T(test_command_scale_out_goes_to_the_sets_topic),
      T(test_command_for_a_vm_on_the_sets_topic_is_rejected),
      T(test_command_for_an_unknown_vm_is_rejected),
      T(test_command_for_a_known_unlisted_vm_is_accepted),
      T(test_command_without_callback_knows_the_policys_vms),
      T(test_command_for_an_unknown_set_is_rejected),
      T(test_command_on_an_unmanaged_resource_is_rejected),
      T(test_command_unknown_action_is_named),
      T(test_command_resource_of_wrong_type_is_named),
      T(test_long_offending_values_are_cut_short),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
