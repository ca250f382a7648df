/* responder.c -- a stand-in for the actuator plugin's MQTT side, for ctl.sh: the
 * libfsmqtt link plus libactuator's messages, as the plugin will wire them.
 *
 * Host set "web" (cpu and memory managed; VMs web1, web2). It publishes the retained
 * policy, web1's state and a forecast, then answers policy/set (patch a clone,
 * validate, swap, republish, reply) and command requests (decode, record the override
 * with the planner, reply) until SIGTERM. Prints "ready" once its topics are out.
 *
 * Usage: responder PORT   (account "foresight", password in FS_MQTT_DAEMON_PW) */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actuator/actuator.h"
#include "actuator/messages.h"
#include "mqtt/mqtt.h"

typedef struct responder {
  pthread_mutex_t lock; /* the policy and planner: the link's thread and main */
  act_policy *policy;
  act_planner *planner;
  fs_mqtt_link *link;
} responder;

static volatile sig_atomic_t done;
static void on_term(int sig) {
  (void)sig;
  done = 1;
}

static void publish(responder *r, const char *rest, char *payload, int qos, int retain) {
  char topic[512];
  fs_mqtt_error err;
  if (payload == NULL)
    return;
  fs_mqtt_link_topic(r->link, topic, sizeof(topic), rest);
  if (fs_mqtt_link_publish(r->link, topic, payload, strlen(payload), qos, retain, &err))
    fprintf(stderr, "responder: %s\n", err.msg);
  free(payload);
}

static void reply(responder *r, const char *id, const char *error) {
  char rest[128];
  if (id[0] == '\0')
    return; /* no usable id: nowhere to answer */
  snprintf(rest, sizeof(rest), "reply/%s", id);
  publish(r, rest, act_msg_reply_encode(id, error, NULL), 1, 0);
}

static void publish_policy_locked(responder *r) {
  publish(r, "web/policy", act_msg_policy_encode(r->policy, "web", NULL), 1, 1);
}

static void policy_set(responder *r, const char *set, const char *json, size_t len) {
  act_msg_ctx ctx = {.policy = r->policy};
  act_policy *cand = NULL;
  char id[ACT_MSG_ID_MAX];
  act_error err = {0};
  int rc = act_msg_policy_patch(&ctx, set, json, len, &cand, id, &err);
  if (rc == 0)
    rc = act_policy_swap(&r->policy, cand, &err);
  if (rc != 0)
    act_policy_destroy(cand);
  else
    publish_policy_locked(r);
  reply(r, id, rc == 0 ? NULL : err.msg);
}

static void command(responder *r, const char *set, const char *vm, const char *json,
                    size_t len) {
  act_msg_ctx ctx = {.policy = r->policy};
  act_msg_command cmd;
  act_error err = {0};
  int rc = act_msg_command_decode(&ctx, set, vm, json, len, &cmd, &err);
  if (rc == 0 && cmd.action != ACT_MSG_SCALE_OUT) {
    act_manual m[ACT_RES_COUNT];
    int n = act_msg_command_manuals(&cmd, r->policy, m, &err);
    rc = n < 0 ? n : 0;
    for (int i = 0; i < n && rc == 0; i++)
      rc = act_planner_manual(r->planner, &m[i], (int64_t)time(NULL), &err);
  }
  reply(r, cmd.request_id, rc == 0 ? NULL : err.msg);
}

/* <set>/policy/set, <set>/<vm>/command or <set>/command, after the prefix. */
static void on_message(void *user, const char *topic, const void *payload, size_t len) {
  responder *r = user;
  char parts[4][128] = {{0}};
  int n = 0;
  const char *rest = strchr(topic, '/');
  for (const char *p = rest ? rest + 1 : ""; n < 4 && *p;) {
    size_t k = strcspn(p, "/");
    snprintf(parts[n++], sizeof(parts[0]), "%.*s", (int)k, p);
    p += k + (p[k] == '/');
  }
  pthread_mutex_lock(&r->lock);
  if (n == 3 && strcmp(parts[1], "policy") == 0 && strcmp(parts[2], "set") == 0)
    policy_set(r, parts[0], payload, len);
  else if (n == 3 && strcmp(parts[2], "command") == 0)
    command(r, parts[0], parts[1], payload, len);
  else if (n == 2 && strcmp(parts[1], "command") == 0)
    command(r, parts[0], NULL, payload, len);
  pthread_mutex_unlock(&r->lock);
}

static act_policy *demo_policy(void) {
  act_policy *p = act_policy_create(NULL);
  act_set_policy s;
  act_set_policy_init(&s, "web");
  s.managed[ACT_CPU] = s.managed[ACT_MEMORY] = 1;
  s.capacity[ACT_CPU] = 32;
  act_vm_policy v1, v2;
  act_vm_policy_init(&v1, "web1");
  act_vm_policy_init(&v2, "web2");
  if (p == NULL || act_policy_add_set(p, &s, NULL) || act_policy_add_vm(p, "web", &v1, NULL) ||
      act_policy_add_vm(p, "web", &v2, NULL))
    abort();
  return p;
}

static void publish_state(responder *r) {
  act_msg_state st;
  act_msg_state_init(&st, "web1", (int64_t)time(NULL));
  st.alloc[ACT_CPU] = 2;
  st.usage[ACT_CPU] = 1.5;
  publish(r, "web/web1/state", act_msg_state_encode(&st, NULL), 1, 1);
  act_point pt = {600, 1.8, 1.2, 2.7};
  act_msg_forecast fc = {(int64_t)time(NULL), &pt, 1, 0.9, "ets"};
  publish(r, "web/web1/forecast/cpu", act_msg_forecast_encode(&fc, NULL), 0, 1);
}

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  responder r = {.policy = demo_policy(), .planner = act_planner_create(NULL)};
  pthread_mutex_init(&r.lock, NULL);
  fs_mqtt_config c;
  fs_mqtt_config_init(&c);
  c.host = "127.0.0.1";
  c.port = atoi(argv[1]);
  c.username = "foresight";
  c.password = getenv("FS_MQTT_DAEMON_PW");
  c.reconnect_max_s = 2;
  fs_mqtt_callbacks cb = {.on_message = on_message};
  fs_mqtt_error err;
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  pthread_mutex_lock(&r.lock); /* no request before the retained topics are out */
  if ((r.link = fs_mqtt_link_create(&c, &cb, &r, &err)) == NULL) {
    fprintf(stderr, "responder: %s\n", err.msg);
    return 1;
  }
  fs_mqtt_link_subscribe(r.link, "foresight/+/policy/set", 1, &err);
  fs_mqtt_link_subscribe(r.link, "foresight/+/+/command", 1, &err);
  fs_mqtt_link_subscribe(r.link, "foresight/+/command", 1, &err);
  publish_policy_locked(&r);
  publish_state(&r);
  pthread_mutex_unlock(&r.lock);
  fs_mqtt_stats st = {0};
  for (int i = 0; i < 250 && st.published < 3; i++) {
    usleep(20000);
    fs_mqtt_link_stats(r.link, &st);
  }
  printf(st.published >= 3 ? "ready\n" : "not connected\n");
  fflush(stdout);
  while (!done)
    usleep(50000);
  fs_mqtt_link_destroy(r.link);
  act_planner_destroy(r.planner);
  act_policy_destroy(r.policy);
  pthread_mutex_destroy(&r.lock);
  return 0;
}
