/* mqtt_link_test.c -- libfsmqtt against a real mosquitto (run by mqtt_link.sh).
 *
 * Each case starts its own broker (the demo config and ACL, a fresh loopback port) and
 * links that record what arrives. The broker runs with persistence off, so anything a
 * restarted broker knows came from the link. Waits are bounded (WAIT_S) and poll. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mqtt/mqtt.h"
#include "tests/integration/broker.h"

#define WAIT_S 20
#define MAX_SEEN 256

/* What one link saw. */
typedef struct seen {
  pthread_mutex_t lock;
  char topic[MAX_SEEN][128];
  char payload[MAX_SEEN][128];
  size_t n_msgs;
  fs_mqtt_event_kind kinds[MAX_SEEN];
  int reasons[MAX_SEEN];
  char ev_topic[MAX_SEEN][128];
  size_t n_events;
} seen;

static void on_message(void *user, const char *topic, const void *payload, size_t len) {
  seen *s = user;
  pthread_mutex_lock(&s->lock);
  if (s->n_msgs < MAX_SEEN) {
    snprintf(s->topic[s->n_msgs], 128, "%s", topic);
    snprintf(s->payload[s->n_msgs], 128, "%.*s", (int)(len > 127 ? 127 : len),
             (const char *)payload);
    s->n_msgs++;
  }
  pthread_mutex_unlock(&s->lock);
}

static void on_event(void *user, const fs_mqtt_event *ev) {
  seen *s = user;
  if (getenv("FS_TEST_VERBOSE") != NULL)
    fprintf(stderr, "event %d reason %d topic %s: %s\n", (int)ev->kind, ev->reason,
            ev->topic ? ev->topic : "-", ev->text);
  pthread_mutex_lock(&s->lock);
  if (s->n_events < MAX_SEEN) {
    s->kinds[s->n_events] = ev->kind;
    s->reasons[s->n_events] = ev->reason;
    snprintf(s->ev_topic[s->n_events], 128, "%s", ev->topic ? ev->topic : "");
    s->n_events++;
  }
  pthread_mutex_unlock(&s->lock);
}

static const fs_mqtt_callbacks callbacks = {on_message, on_event};

typedef struct fx {
  broker b;
  seen s1, s2;
  fs_mqtt_link *l1, *l2;
  fs_mqtt_error err;
} fx;

static int setup_plain(void **state) {
  fx *f = calloc(1, sizeof(*f));
  pthread_mutex_init(&f->s1.lock, NULL);
  pthread_mutex_init(&f->s2.lock, NULL);
  if (broker_init(&f->b, 0) != 0)
    return -1;
  *state = f;
  return 0;
}

static int setup_tls(void **state) {
  int rc = setup_plain(state);
  fx *f = *state;
  return rc == 0 ? broker_init(&f->b, 1) : rc;
}

static int teardown(void **state) {
  fx *f = *state;
  fs_mqtt_link_destroy(f->l1);
  fs_mqtt_link_destroy(f->l2);
  broker_stop(&f->b, SIGTERM);
  pthread_mutex_destroy(&f->s1.lock);
  pthread_mutex_destroy(&f->s2.lock);
  free(f);
  return 0;
}

/* A config for account user ("operator", "foresight", "viewer" or NULL) on b. */
static fs_mqtt_config config(const broker *b, const char *user) {
  fs_mqtt_config c;
  fs_mqtt_config_init(&c);
  c.host = "127.0.0.1";
  c.port = b->port;
  c.reconnect_min_s = 1;
  c.reconnect_max_s = 2;
  c.username = user;
  if (user != NULL)
    c.password = getenv(strcmp(user, "operator") == 0    ? "FS_MQTT_OPERATOR_PW"
                        : strcmp(user, "foresight") == 0 ? "FS_MQTT_DAEMON_PW"
                                                         : "FS_MQTT_VIEWER_PW");
  return c;
}

static void nap_ms(int ms) { nanosleep(&(struct timespec){0, ms * 1000000L}, NULL); }

typedef int (*pred)(fx *f, const void *arg);

/* Polls p every 20 ms for WAIT_S seconds. */
static int wait_for(fx *f, pred p, const void *arg) {
  for (int i = 0; i < WAIT_S * 50; i++) {
    if (p(f, arg))
      return 1;
    nap_ms(20);
  }
  return 0;
}

static int connects_reach(fx *f, const void *arg) {
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  return st.connected && st.connects >= *(const uint64_t *)arg;
}

static size_t n_msgs(seen *s) {
  pthread_mutex_lock(&s->lock);
  size_t n = s->n_msgs;
  pthread_mutex_unlock(&s->lock);
  return n;
}

static int s1_has(fx *f, const void *arg) { return n_msgs(&f->s1) >= *(const size_t *)arg; }
static int s2_has(fx *f, const void *arg) { return n_msgs(&f->s2) >= *(const size_t *)arg; }

static int count_events(seen *s, fs_mqtt_event_kind k) {
  int n = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_events; i++)
    n += s->kinds[i] == k;
  pthread_mutex_unlock(&s->lock);
  return n;
}

static int refused(fx *f, const void *arg) {
  (void)arg;
  return count_events(&f->s1, FS_MQTT_EV_REFUSED) > 0;
}

static int denied(fx *f, const void *arg) {
  (void)arg;
  return count_events(&f->s1, FS_MQTT_EV_DENIED) > 0;
}

static int acked_reach(fx *f, const void *arg) {
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  return st.acked >= *(const uint64_t *)arg;
}

static void start_link(fx *f, fs_mqtt_config *c) {
  f->l1 = fs_mqtt_link_create(c, &callbacks, &f->s1, &f->err);
  if (f->l1 == NULL)
    fail_msg("link: %s", f->err.msg);
}

static void connected_link(fx *f, const char *user) {
  fs_mqtt_config c = config(&f->b, user);
  start_link(f, &c);
  uint64_t one = 1;
  assert_true(wait_for(f, connects_reach, &one));
}

static void publish(fx *f, fs_mqtt_link *l, const char *topic, const char *text, int qos,
                    int retain) {
  if (fs_mqtt_link_publish(l, topic, text, strlen(text), qos, retain, &f->err) != 0)
    fail_msg("publish %s: %s", topic, f->err.msg);
}

/* Messages 1..n arrived in order on s; at-least-once delivery may repeat a message
 * right after itself (a resend after a reconnect), nothing else. */
static void assert_sequence(seen *s, int n) {
  int expect = 1;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_msgs; i++) {
    int v = atoi(s->payload[i]);
    if (v == expect - 1)
      continue; /* a duplicate of the one before */
    if (v != expect) {
      pthread_mutex_unlock(&s->lock);
      fail_msg("message %zu is %d, expected %d", i, v, expect);
    }
    expect++;
  }
  pthread_mutex_unlock(&s->lock);
  assert_int_equal(expect - 1, n);
}

/* ---- cases ------------------------------------------------------------------------- */

static void test_link_publish_subscribe_roundtrip(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  connected_link(f, "operator");
  assert_int_equal(fs_mqtt_link_subscribe(f->l1, "foresight/test/#", 1, &f->err), 0);
  nap_ms(200); /* the SUBACK */
  publish(f, f->l1, "foresight/test/a", "hello", 1, 0);
  size_t one = 1;
  assert_true(wait_for(f, s1_has, &one));
  assert_string_equal(f->s1.topic[0], "foresight/test/a");
  assert_string_equal(f->s1.payload[0], "hello");
  uint64_t acked = 1;
  assert_true(wait_for(f, acked_reach, &acked));
}

static void test_link_republishes_retained_after_broker_restart(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  connected_link(f, "foresight");
  publish(f, f->l1, "foresight/web/web1/state", "{\"v\":1}", 0, 1);
  publish(f, f->l1, "foresight/web/web1/state", "{\"v\":2}", 0, 1); /* the last counts */
  nap_ms(200);
  broker_stop(&f->b, SIGKILL); /* persistence is off: the broker forgets it */
  assert_int_equal(broker_start(&f->b), 0);
  uint64_t two = 2;
  assert_true(wait_for(f, connects_reach, &two));
  fs_mqtt_config c = config(&f->b, "viewer");
  f->l2 = fs_mqtt_link_create(&c, &callbacks, &f->s2, &f->err);
  assert_non_null(f->l2);
  assert_int_equal(fs_mqtt_link_subscribe(f->l2, "foresight/+/+/state", 0, &f->err), 0);
  size_t one = 1;
  assert_true(wait_for(f, s2_has, &one));
  assert_string_equal(f->s2.topic[0], "foresight/web/web1/state");
  assert_string_equal(f->s2.payload[0], "{\"v\":2}");
}

static void test_link_holds_qos1_messages_while_the_broker_is_down(void **state) {
  fx *f = *state;
  char text[16];
  assert_int_equal(broker_start(&f->b), 0);
  connected_link(f, "operator");
  assert_int_equal(fs_mqtt_link_subscribe(f->l1, "foresight/seq", 1, &f->err), 0);
  nap_ms(200);
  for (int i = 1; i <= 10; i++) {
    snprintf(text, sizeof(text), "%d", i);
    publish(f, f->l1, "foresight/seq", text, 1, 0);
  }
  size_t ten = 10;
  assert_true(wait_for(f, s1_has, &ten));
  broker_stop(&f->b, SIGKILL);
  for (int i = 11; i <= 50; i++) {
    snprintf(text, sizeof(text), "%d", i);
    publish(f, f->l1, "foresight/seq", text, 1, 0);
  }
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.queued, 40);
  assert_int_equal(broker_start(&f->b), 0);
  size_t fifty = 50;
  assert_true(wait_for(f, s1_has, &fifty));
  nap_ms(300); /* let stragglers in: they must not break the order either */
  assert_sequence(&f->s1, 50);
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.queued, 0);
  assert_int_equal(st.dropped, 0);
}

static void test_link_queue_is_bounded_and_drops_the_oldest(void **state) {
  fx *f = *state;
  fs_mqtt_config c = config(&f->b, "operator");
  c.queue_max = 5;
  start_link(f, &c); /* no broker yet */
  assert_int_equal(fs_mqtt_link_subscribe(f->l1, "foresight/seq", 1, &f->err), 0);
  char text[16];
  for (int i = 1; i <= 8; i++) {
    snprintf(text, sizeof(text), "%d", i);
    publish(f, f->l1, "foresight/seq", text, 1, 0);
  }
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.dropped, 3);
  assert_int_equal(st.queued, 5);
  assert_int_equal(count_events(&f->s1, FS_MQTT_EV_DROPPED), 3);
  assert_int_equal(broker_start(&f->b), 0);
  size_t five = 5;
  assert_true(wait_for(f, s1_has, &five));
  nap_ms(200);
  assert_int_equal(n_msgs(&f->s1), 5);
  for (int i = 0; i < 5; i++)
    assert_int_equal(atoi(f->s1.payload[i]), i + 4);
}

static void test_link_anonymous_connection_is_refused(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  fs_mqtt_config c = config(&f->b, NULL);
  start_link(f, &c);
  assert_true(wait_for(f, refused, NULL));
  assert_true(f->s1.reasons[0] >= 0x80);
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.connects, 0);
}

static int refused_twice(fx *f, const void *arg) {
  (void)arg;
  return count_events(&f->s1, FS_MQTT_EV_REFUSED) >= 2;
}

/* Refused, and tried again later (libmosquitto alone would give up after one). */
static void test_link_wrong_password_is_refused_and_retried(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  fs_mqtt_config c = config(&f->b, "operator");
  c.password = "not-the-password";
  start_link(f, &c);
  assert_true(wait_for(f, refused_twice, NULL));
  assert_true(f->s1.reasons[0] >= 0x80);
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.connects, 0);
}

/* The daemon's account may not write policy/set: the v5 PUBACK says so, and the queue
 * moves on to the next message. */
static void test_link_reports_a_publish_the_acl_denies(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  connected_link(f, "foresight");
  publish(f, f->l1, "foresight/web/policy/set", "{}", 1, 0);
  publish(f, f->l1, "foresight/web/decision", "{}", 1, 0);
  assert_true(wait_for(f, denied, NULL));
  uint64_t one = 1;
  assert_true(wait_for(f, acked_reach, &one));
  pthread_mutex_lock(&f->s1.lock);
  size_t i = 0;
  while (f->s1.kinds[i] != FS_MQTT_EV_DENIED)
    i++;
  assert_int_equal(f->s1.reasons[i], 0x87); /* Not authorized */
  assert_string_equal(f->s1.ev_topic[i], "foresight/web/policy/set");
  pthread_mutex_unlock(&f->s1.lock);
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.denied, 1);
  assert_int_equal(st.queued, 0);
}

static void test_link_operator_may_write_policy_set(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  connected_link(f, "operator");
  publish(f, f->l1, "foresight/web/policy/set", "{}", 1, 0);
  uint64_t one = 1;
  assert_true(wait_for(f, acked_reach, &one));
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.denied, 0);
}

static void test_link_drops_inbound_messages_over_the_limit(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  fs_mqtt_config c = config(&f->b, "operator");
  c.max_inbound_bytes = 100;
  start_link(f, &c);
  uint64_t one_c = 1;
  assert_true(wait_for(f, connects_reach, &one_c));
  assert_int_equal(fs_mqtt_link_subscribe(f->l1, "foresight/in/#", 1, &f->err), 0);
  nap_ms(200);
  char big[201];
  memset(big, 'x', 200);
  big[200] = '\0';
  publish(f, f->l1, "foresight/in/big", big, 1, 0);
  publish(f, f->l1, "foresight/in/small", "ok", 1, 0);
  size_t one = 1;
  assert_true(wait_for(f, s1_has, &one));
  nap_ms(200);
  assert_int_equal(n_msgs(&f->s1), 1);
  assert_string_equal(f->s1.topic[0], "foresight/in/small");
  assert_int_equal(count_events(&f->s1, FS_MQTT_EV_OVERSIZE), 1);
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.oversize, 1);
}

static void test_link_tls_with_client_certificate_roundtrip(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  fs_mqtt_config c = config(&f->b, "operator");
  c.cafile = broker_file("ca.crt");
  c.certfile = broker_file("client.crt");
  c.keyfile = broker_file("client.key");
  start_link(f, &c);
  uint64_t one = 1;
  assert_true(wait_for(f, connects_reach, &one));
  assert_int_equal(fs_mqtt_link_subscribe(f->l1, "foresight/tls", 1, &f->err), 0);
  nap_ms(200);
  publish(f, f->l1, "foresight/tls", "secret", 1, 0);
  size_t n = 1;
  assert_true(wait_for(f, s1_has, &n));
  assert_string_equal(f->s1.payload[0], "secret");
}

static void test_link_tls_without_client_certificate_never_connects(void **state) {
  fx *f = *state;
  assert_int_equal(broker_start(&f->b), 0);
  fs_mqtt_config c = config(&f->b, "operator");
  c.cafile = broker_file("ca.crt");
  start_link(f, &c);
  nap_ms(3000);
  fs_mqtt_stats st;
  fs_mqtt_link_stats(f->l1, &st);
  assert_int_equal(st.connects, 0);
}

static void test_link_rejects_a_certificate_without_key(void **state) {
  fx *f = *state;
  fs_mqtt_config c = config(&f->b, "operator");
  c.cafile = broker_file("ca.crt");
  c.certfile = broker_file("client.crt");
  assert_null(fs_mqtt_link_create(&c, &callbacks, &f->s1, &f->err));
  assert_int_equal(f->err.code, FS_MQTT_EINVAL);
  assert_non_null(strstr(f->err.msg, "needs its key"));
}

static void test_link_rejects_an_unreadable_ca_file(void **state) {
  fx *f = *state;
  fs_mqtt_config c = config(&f->b, "operator");
  c.cafile = "/nonexistent/ca.crt";
  assert_null(fs_mqtt_link_create(&c, &callbacks, &f->s1, &f->err));
  assert_int_equal(f->err.code, FS_MQTT_ETLS);
  assert_non_null(strstr(f->err.msg, "/nonexistent/ca.crt"));
}

int main(void) {
  if (getenv("FS_TEST_FILTER") != NULL)
    cmocka_set_test_filter(getenv("FS_TEST_FILTER"));
#define P(name) cmocka_unit_test_setup_teardown(name, setup_plain, teardown)
#define S(name) cmocka_unit_test_setup_teardown(name, setup_tls, teardown)
  const struct CMUnitTest tests[] = {
      P(test_link_publish_subscribe_roundtrip),
      P(test_link_republishes_retained_after_broker_restart),
      P(test_link_holds_qos1_messages_while_the_broker_is_down),
      P(test_link_queue_is_bounded_and_drops_the_oldest),
      P(test_link_anonymous_connection_is_refused),
      P(test_link_wrong_password_is_refused_and_retried),
      P(test_link_reports_a_publish_the_acl_denies),
      P(test_link_operator_may_write_policy_set),
      P(test_link_drops_inbound_messages_over_the_limit),
      S(test_link_tls_with_client_certificate_roundtrip),
      S(test_link_tls_without_client_certificate_never_connects),
      P(test_link_rejects_a_certificate_without_key),
      P(test_link_rejects_an_unreadable_ca_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
