/* test_messages_fuzz.c -- inbound messages that are malformed by construction: 1,000
 * of them, 100 per kind of damage, drawn from a fixed-seed generator so a failure
 * repeats. Each kind is built so that no message of it can be valid (a proper prefix
 * of a JSON object is never a complete object; a raw control byte or a 0xFF byte is
 * never valid JSON; a replaced value has a type or range the schema refuses), and every
 * one must be rejected with a non-empty message, no candidate policy, no crash, and
 * the policy in force unchanged. A last test applies unconstrained random mutations
 * (which may happen to stay valid) and only demands a clean verdict either way. Run
 * under ASan and valgrind by scripts/test.sh like every unit test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/unit/msg_fixture.h"

#define PER_KIND 100

typedef enum seed_kind { PATCH, VM_COMMAND, SET_COMMAND } seed_kind;

typedef struct seed {
  seed_kind kind;
  const char *text;
} seed;

static const seed seeds[] = {
    {PATCH, "{\"request_id\":\"f1\",\"policy\":{\"Threshold\":{\"cpu\":0.7},"
            "\"LeadTime\":900,\"BorrowMax\":{\"cpu\":0.25},\"VM\":{\"web1\":{\"Priority\":3,"
            "\"Limit\":{\"cpu\":[1,6]}}}}}"},
    {PATCH, "{\"request_id\":\"f2\",\"policy\":{\"Capacity\":{\"memory\":\"inf\"},"
            "\"Manage\":{\"cpu\":true},\"DryRun\":true,\"ScaleOutTemplate\":\"web-tpl\"}}"},
    {VM_COMMAND, "{\"request_id\":\"c1\",\"action\":\"set\",\"resource\":\"cpu\","
                 "\"value\":4,\"duration\":600}"},
    {VM_COMMAND, "{\"request_id\":\"c2\",\"action\":\"hold\",\"duration\":60}"},
    {VM_COMMAND, "{\"request_id\":\"c3\",\"action\":\"release\",\"resource\":\"memory\"}"},
    {SET_COMMAND, "{\"request_id\":\"c4\",\"action\":\"scale_out\"}"},
};
#define N_SEEDS (sizeof(seeds) / sizeof(seeds[0]))

typedef struct fz {
  mf *f;
  char *before; /* the policy in force, encoded, before the test */
  uint64_t rng;
} fz;

static uint64_t next(fz *z) { /* xorshift64* */
  z->rng ^= z->rng >> 12;
  z->rng ^= z->rng << 25;
  z->rng ^= z->rng >> 27;
  return z->rng * 2685821657736338717ULL;
}

static size_t below(fz *z, size_t n) { return n == 0 ? 0 : (size_t)(next(z) % n); }

static int setup(void **state) {
  fz *z = calloc(1, sizeof(*z));
  z->f = mf_new();
  z->before = act_msg_policy_encode(z->f->pol, "web", NULL);
  z->rng = 0x9E3779B97F4A7C15ULL;
  *state = z;
  return 0;
}

static int teardown(void **state) {
  fz *z = *state;
  char *after = act_msg_policy_encode(z->f->pol, "web", NULL);
  int same = after != NULL && strcmp(after, z->before) == 0;
  free(after);
  free(z->before);
  mf_free(z->f);
  free(z);
  return same ? 0 : -1; /* the policy in force must be untouched */
}

/* Feeds one message to the decoder its seed is for; returns the verdict, and checks
 * the contract of a verdict: an error has a message, a rejected patch no candidate. */
static int feed(fz *z, seed_kind kind, const char *msg, size_t len) {
  mf *f = z->f;
  memset(&f->err, 0, sizeof(f->err));
  int rc;
  if (kind == PATCH) {
    act_policy *cand = NULL;
    rc = act_msg_policy_patch(&f->ctx, "web", msg, len, &cand, f->id, &f->err);
    if (rc != 0)
      assert_null(cand);
    act_policy_destroy(cand);
  } else {
    act_msg_command c;
    rc = act_msg_command_decode(&f->ctx, "web", kind == VM_COMMAND ? "web1" : NULL, msg,
                                len, &c, &f->err);
  }
  if (rc != 0) {
    assert_true(rc < 0);
    assert_true(strlen(f->err.msg) > 0);
  }
  return rc;
}

static void expect_rejected(fz *z, seed_kind kind, const char *msg, size_t len) {
  int rc = feed(z, kind, msg, len);
  if (rc == 0)
    fail_msg("accepted a malformed message: %.*s", (int)(len > 300 ? 300 : len), msg);
}

static const seed *pick(fz *z) { return &seeds[below(z, N_SEEDS)]; }

static void test_fuzz_seeds_are_accepted(void **state) {
  fz *z = *state;
  for (size_t i = 0; i < N_SEEDS; i++)
    assert_int_equal(feed(z, seeds[i].kind, seeds[i].text, strlen(seeds[i].text)), 0);
}

static void test_fuzz_truncated_messages_are_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    expect_rejected(z, s->kind, s->text, below(z, strlen(s->text)));
  }
}

/* s with byte b inserted at a random position; caller frees. */
static char *insert_byte(fz *z, const char *s, char b, size_t *len) {
  size_t n = strlen(s), at = below(z, n + 1);
  char *m = malloc(n + 2);
  memcpy(m, s, at);
  m[at] = b;
  memcpy(m + at + 1, s + at, n - at + 1);
  *len = n + 1;
  return m;
}

static void test_fuzz_raw_control_bytes_are_rejected(void **state) {
  fz *z = *state;
  static const char controls[] = {0, 1, 2, 7, 8, 11, 12, 14, 27, 31};
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    size_t len;
    char *m = insert_byte(z, s->text, controls[below(z, sizeof(controls))], &len);
    expect_rejected(z, s->kind, m, len);
    free(m);
  }
}

static void test_fuzz_invalid_utf8_is_rejected(void **state) {
  fz *z = *state;
  static const unsigned char bad[] = {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFE, 0xFF};
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    size_t len;
    char *m = insert_byte(z, s->text, (char)bad[below(z, sizeof(bad))], &len);
    expect_rejected(z, s->kind, m, len);
    free(m);
  }
}

/* The members of obj that hold a scalar or a Limit pair, as (object, key) slots,
 * found depth-first; at most max. */
typedef struct slot {
  json_t *obj;
  const char *key;
} slot;

static size_t collect(json_t *obj, slot *out, size_t n, size_t max) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    if (json_is_object(v) && strcmp(key, "policy") != 0 && strcmp(key, "VM") != 0 &&
        n < max && json_object_size(v) == 0)
      out[n++] = (slot){obj, key};
    else if (json_is_object(v))
      n = collect(v, out, n, max);
    else if (n < max)
      out[n++] = (slot){obj, key};
  }
  return n;
}

/* Values no slot of the schema takes: each slot is a number, a string of a closed
 * set, a bool or a pair of numbers, and none of these fits all of them, so a value is
 * chosen that differs in type from the slot's current one. */
static json_t *wrong_value(fz *z, const json_t *current) {
  json_t *pool[] = {json_string("abc"), json_integer(-7), json_real(1.5e300),
                    json_true(), json_null(), json_pack("[i,i,i]", 1, 2, 3),
                    json_pack("{s:i}", "x", 1), json_string("")};
  size_t n = sizeof(pool) / sizeof(pool[0]);
  json_t *pickv = NULL;
  for (int tries = 0; pickv == NULL; tries++) {
    json_t *c = pool[below(z, n)];
    int inf = json_is_string(current) && strcmp(json_string_value(current), "inf") == 0;
    int same_type = json_typeof(c) == json_typeof(current) || (inf && json_is_number(c)) ||
                    (json_is_number(c) && json_is_number(current)) ||
                    (json_is_boolean(c) && json_is_boolean(current));
    /* a null resets a VM override: valid there, so never offer it where a number was */
    if (!same_type && !(json_is_null(c) && json_is_number(current)) &&
        !(json_is_null(c) && json_is_array(current)))
      pickv = c;
    if (tries > 100)
      fail_msg("no wrong value for a slot");
  }
  json_incref(pickv);
  for (size_t i = 0; i < n; i++)
    json_decref(pool[i]);
  return pickv;
}

static char *dump(json_t *j) {
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  assert_non_null(t);
  return t;
}

static void test_fuzz_values_of_the_wrong_type_are_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    json_t *j = json_loads(s->text, 0, NULL);
    slot slots[64];
    size_t n = collect(j, slots, 0, 64);
    slot *sl = &slots[below(z, n)];
    json_object_set_new(sl->obj, sl->key, wrong_value(z, json_object_get(sl->obj, sl->key)));
    char *m = dump(j);
    expect_rejected(z, s->kind, m, strlen(m));
    free(m);
  }
}

static void test_fuzz_out_of_range_values_are_rejected(void **state) {
  fz *z = *state;
  static const char *const bad[] = {
      "{\"request_id\":\"r\",\"policy\":{\"Threshold\":{\"cpu\":%s}}}",
      "{\"request_id\":\"r\",\"policy\":{\"Threshold\":{\"memory\":%s}}}",
      "{\"request_id\":\"r\",\"policy\":{\"MaxShrink\":{\"cpu\":%s}}}",
      "{\"request_id\":\"r\",\"policy\":{\"FastCorrection\":%s}}",
  };
  static const char *const values[] = {"0", "-1", "1.0001", "1e308", "-1e-300", "2",
                                       "\"inf\"", "\"-inf\""};
  static const char *const cmds[] = {
      "{\"request_id\":\"r\",\"action\":\"set\",\"resource\":\"cpu\",\"value\":%s,"
      "\"duration\":60}",
      "{\"request_id\":\"r\",\"action\":\"hold\",\"duration\":%s}",
  };
  static const char *const cvalues[] = {"0", "-1", "-0.0", "604801", "1e9", "0.5"};
  char m[256];
  for (int i = 0; i < PER_KIND; i++) {
    if (i % 2 == 0) {
      snprintf(m, sizeof(m), bad[below(z, 4)], values[below(z, 8)]);
      expect_rejected(z, PATCH, m, strlen(m));
    } else {
      size_t k = below(z, 2);
      /* 0.5 is a valid value of a set, not a valid duration */
      const char *v = k == 0 ? cvalues[below(z, 3)] : cvalues[below(z, 6)];
      snprintf(m, sizeof(m), cmds[k], v);
      expect_rejected(z, VM_COMMAND, m, strlen(m));
    }
  }
}

static void test_fuzz_unknown_fields_are_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    json_t *j = json_loads(s->text, 0, NULL);
    json_t *where = j;
    json_t *pol = json_object_get(j, "policy");
    if (pol != NULL && below(z, 2) == 0)
      where = pol;
    char key[32];
    snprintf(key, sizeof(key), "x%u", (unsigned)below(z, 100000));
    json_object_set_new(where, key, json_integer(1));
    char *m = dump(j);
    expect_rejected(z, s->kind, m, strlen(m));
    free(m);
  }
}

static void test_fuzz_missing_required_fields_are_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    const seed *s = pick(z);
    json_t *j = json_loads(s->text, 0, NULL);
    const char *key = below(z, 2) == 0 ? "request_id"
                      : s->kind == PATCH ? "policy" : "action";
    json_object_del(j, key);
    char *m = dump(j);
    expect_rejected(z, s->kind, m, strlen(m));
    free(m);
  }
}

/* "[[[...1...]]]" nested depth deep, in place of a value or as the whole message. */
static char *nested(size_t depth, const char *prefix, const char *suffix) {
  size_t lp = strlen(prefix), ls = strlen(suffix);
  char *m = malloc(lp + 2 * depth + 2 + ls);
  memcpy(m, prefix, lp);
  memset(m + lp, '[', depth);
  m[lp + depth] = '1';
  memset(m + lp + depth + 1, ']', depth);
  memcpy(m + lp + 2 * depth + 1, suffix, ls + 1);
  return m;
}

static void test_fuzz_deep_nesting_is_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    size_t depth = 1 + below(z, 20000);
    char *m;
    seed_kind k;
    switch (below(z, 3)) {
    case 0:
      m = nested(depth, "{\"request_id\":\"n\",\"action\":\"set\",\"resource\":\"cpu\","
                        "\"duration\":60,\"value\":", "}");
      k = VM_COMMAND;
      break;
    case 1:
      m = nested(depth, "{\"request_id\":\"n\",\"policy\":{\"Limit\":{\"cpu\":", "}}}");
      k = PATCH;
      break;
    default:
      m = nested(depth, "", "");
      k = PATCH;
    }
    expect_rejected(z, k, m, strlen(m));
    free(m);
  }
}

static void test_fuzz_huge_payloads_are_rejected(void **state) {
  fz *z = *state;
  for (int i = 0; i < PER_KIND; i++) {
    size_t pad = ACT_MSG_MAX_BYTES + below(z, 4 * ACT_MSG_MAX_BYTES);
    const char *head = "{\"request_id\":\"h\",\"action\":\"release\",\"resource\":\"";
    size_t lh = strlen(head);
    char *m = malloc(lh + pad + 3);
    memcpy(m, head, lh);
    memset(m + lh, 'a' + (char)below(z, 26), pad);
    memcpy(m + lh + pad, "\"}", 3);
    expect_rejected(z, i % 2 ? VM_COMMAND : PATCH, m, lh + pad + 2);
    free(m);
  }
}

static void test_fuzz_non_objects_and_garbage_are_rejected(void **state) {
  fz *z = *state;
  static const char *const tops[] = {"123", "\"str\"", "null", "true", "[]", "[{}]",
                                     "-0", "\"{}\""};
  char m[256];
  for (int i = 0; i < PER_KIND; i++) {
    if (i % 2 == 0) {
      const char *t = tops[below(z, 8)];
      expect_rejected(z, pick(z)->kind, t, strlen(t));
      continue;
    }
    size_t n = 1 + below(z, sizeof(m) - 1);
    for (size_t k = 0; k < n; k++)
      m[k] = (char)(1 + below(z, 255));
    if (m[0] == '{' || m[0] == ' ' || m[0] == '\t' || m[0] == '\n' || m[0] == '\r')
      m[0] = '#'; /* never the start of an object */
    expect_rejected(z, pick(z)->kind, m, n);
  }
}

/* Unconstrained damage: some of these stay valid; none may crash or leave a verdict
 * without a message. */
static void test_fuzz_random_mutations_get_a_clean_verdict(void **state) {
  fz *z = *state;
  int rejected = 0;
  for (int i = 0; i < 1000; i++) {
    const seed *s = pick(z);
    size_t n = strlen(s->text);
    char *m = malloc(n + 1);
    memcpy(m, s->text, n + 1);
    for (size_t k = 1 + below(z, 4); k > 0; k--)
      m[below(z, n)] = (char)below(z, 256);
    rejected += feed(z, s->kind, m, n) != 0;
    free(m);
  }
  assert_true(rejected > 500); /* the damage mostly shows */
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_fuzz_seeds_are_accepted),
      T(test_fuzz_truncated_messages_are_rejected),
      T(test_fuzz_raw_control_bytes_are_rejected),
      T(test_fuzz_invalid_utf8_is_rejected),
      T(test_fuzz_values_of_the_wrong_type_are_rejected),
      T(test_fuzz_out_of_range_values_are_rejected),
      T(test_fuzz_unknown_fields_are_rejected),
      T(test_fuzz_missing_required_fields_are_rejected),
      T(test_fuzz_deep_nesting_is_rejected),
      T(test_fuzz_huge_payloads_are_rejected),
      T(test_fuzz_non_objects_and_garbage_are_rejected),
      T(test_fuzz_random_mutations_get_a_clean_verdict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
