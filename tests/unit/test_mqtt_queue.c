/* test_mqtt_queue.c -- the link's outbound queue (order, bound, what it drops) and its
 * retained cache (last payload per topic, bound), without a broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt/mqtt_internal.h"

static fs__msg *msg(const char *topic, const char *text) {
  fs__msg *m = fs__msg_new(topic, text, strlen(text), 1, 0);
  assert_non_null(m);
  return m;
}

/* The payloads in queue order, joined by ",". */
static void payloads(const fs__outq *q, char *buf, size_t n) {
  buf[0] = '\0';
  for (const fs__msg *m = q->head; m != NULL; m = m->next)
    snprintf(buf + strlen(buf), n - strlen(buf), "%s%.*s", buf[0] ? "," : "",
             (int)m->len, (const char *)m->payload);
}

static void test_queue_keeps_order(void **state) {
  (void)state;
  fs__outq q;
  fs__outq_init(&q, 10);
  assert_int_equal(fs__outq_push(&q, msg("t", "1")), 0);
  assert_int_equal(fs__outq_push(&q, msg("t", "2")), 0);
  assert_int_equal(fs__outq_push(&q, msg("t", "3")), 0);
  fs__outq_pop(&q);
  char buf[64];
  payloads(&q, buf, sizeof(buf));
  assert_string_equal(buf, "2,3");
  fs__outq_clear(&q);
  assert_int_equal(q.n, 0);
}

static void test_queue_full_drops_the_oldest(void **state) {
  (void)state;
  fs__outq q;
  fs__outq_init(&q, 3);
  for (int i = 1; i <= 3; i++) {
    char t[16];
    snprintf(t, sizeof(t), "%d", i);
    assert_int_equal(fs__outq_push(&q, msg("t", t)), 0);
  }
  assert_int_equal(fs__outq_push(&q, msg("t", "4")), 1);
  char buf[64];
  payloads(&q, buf, sizeof(buf));
  assert_string_equal(buf, "2,3,4");
  assert_int_equal(q.n, 3);
  fs__outq_clear(&q);
}

static void test_queue_full_never_drops_the_message_in_flight(void **state) {
  (void)state;
  fs__outq q;
  fs__outq_init(&q, 2);
  fs__outq_push(&q, msg("t", "1"));
  fs__outq_push(&q, msg("t", "2"));
  q.head->inflight = 1;
  assert_int_equal(fs__outq_push(&q, msg("t", "3")), 1);
  char buf[64];
  payloads(&q, buf, sizeof(buf));
  assert_string_equal(buf, "1,3");
  assert_ptr_equal(q.tail, q.head->next);
  fs__outq_clear(&q);
}

static void test_queue_of_one_in_flight_drops_the_newcomer(void **state) {
  (void)state;
  fs__outq q;
  fs__outq_init(&q, 1);
  fs__outq_push(&q, msg("t", "1"));
  q.head->inflight = 1;
  assert_int_equal(fs__outq_push(&q, msg("t", "2")), 1);
  char buf[64];
  payloads(&q, buf, sizeof(buf));
  assert_string_equal(buf, "1");
  fs__outq_clear(&q);
}

static void test_queue_drop_of_the_tail_keeps_appending_right(void **state) {
  (void)state;
  fs__outq q;
  fs__outq_init(&q, 2);
  fs__outq_push(&q, msg("t", "1"));
  q.head->inflight = 1;
  fs__outq_push(&q, msg("t", "2"));
  fs__outq_push(&q, msg("t", "3")); /* drops 2, the tail */
  fs__outq_pop(&q);
  fs__outq_push(&q, msg("t", "4"));
  char buf[64];
  payloads(&q, buf, sizeof(buf));
  assert_string_equal(buf, "3,4");
  fs__outq_clear(&q);
}

static void test_retained_keeps_the_last_payload_per_topic(void **state) {
  (void)state;
  fs__retained r;
  fs__retained_init(&r, 10);
  assert_int_equal(fs__retained_put(&r, msg("a", "1")), 0);
  assert_int_equal(fs__retained_put(&r, msg("b", "x")), 0);
  assert_int_equal(fs__retained_put(&r, msg("a", "2")), 0);
  assert_int_equal(r.n, 2);
  const fs__msg *m = fs__retained_get(&r, "a");
  assert_non_null(m);
  assert_memory_equal(m->payload, "2", 1);
  assert_null(fs__retained_get(&r, "c"));
  fs__retained_free(&r);
}

static void test_retained_refuses_a_new_topic_beyond_its_bound(void **state) {
  (void)state;
  fs__retained r;
  fs__retained_init(&r, 2);
  fs__retained_put(&r, msg("a", "1"));
  fs__retained_put(&r, msg("b", "1"));
  assert_int_equal(fs__retained_put(&r, msg("c", "1")), 1);
  assert_int_equal(fs__retained_put(&r, msg("a", "2")), 0); /* known topics update */
  assert_null(fs__retained_get(&r, "c"));
  fs__retained_free(&r);
}

static void count_one(const fs__msg *m, void *arg) {
  (void)m;
  (*(size_t *)arg)++;
}

/* Many topics (the buckets grow) are all found and all visited once. */
static void test_retained_finds_every_topic_of_many(void **state) {
  (void)state;
  fs__retained r;
  fs__retained_init(&r, 100000);
  char t[48];
  for (int i = 0; i < 5000; i++) {
    snprintf(t, sizeof(t), "foresight/web/vm%d/state", i);
    assert_int_equal(fs__retained_put(&r, msg(t, t)), 0);
  }
  for (int i = 0; i < 5000; i += 7) {
    snprintf(t, sizeof(t), "foresight/web/vm%d/state", i);
    const fs__msg *m = fs__retained_get(&r, t);
    assert_non_null(m);
    assert_memory_equal(m->payload, t, strlen(t));
  }
  size_t n = 0;
  fs__retained_each(&r, count_one, &n);
  assert_int_equal(n, 5000);
  fs__retained_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_keeps_order),
      cmocka_unit_test(test_queue_full_drops_the_oldest),
      cmocka_unit_test(test_queue_full_never_drops_the_message_in_flight),
      cmocka_unit_test(test_queue_of_one_in_flight_drops_the_newcomer),
      cmocka_unit_test(test_queue_drop_of_the_tail_keeps_appending_right),
      cmocka_unit_test(test_retained_keeps_the_last_payload_per_topic),
      cmocka_unit_test(test_retained_refuses_a_new_topic_beyond_its_bound),
      cmocka_unit_test(test_retained_finds_every_topic_of_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
