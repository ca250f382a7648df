/* ctl.c -- foresight-ctl: an operator's view of foresight and its levers, over MQTT.
 *
 *   status [SET [VM]]            the retained policy, state and forecast topics
 *   policy get SET               the policy in force, as JSON (a valid patch)
 *   policy set SET FILE          send FILE (a JSON patch) to SET's policy/set
 *   set VM RESOURCE VALUE        hold VM's RESOURCE at VALUE (--for, default 1 h)
 *   hold VM --for DURATION       hold VM where it is
 *   release VM [RESOURCE]        end a set or hold
 *   scale-out SET                start an instance from SET's template
 *   watch                        one line per decision and result, as they come
 *
 * Requests (policy set and the VM commands) carry a fresh request id and wait for
 * `<prefix>/reply/<id>`. The reply topic is subscribed before the request is sent, on
 * the same connection, so the broker holds the subscription before the request
 * reaches foresight. A VM's host set comes from --set or from its retained state topic.
 *
 * Exit status: 0 ok, 1 rejected (by foresight, or the broker denied the publish),
 * 2 usage, 3 no answer within --timeout (broker unreachable or refusing us included).
 * Broker options follow mosquitto_pub: -h -p -u -P --cafile --cert --key -V.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqtt/mqtt.h"
#include "tools/ctl.h"

enum { EXIT_OK = 0, EXIT_REJECTED = 1, EXIT_USAGE = 2, EXIT_NO_ANSWER = 3 };

#define MAX_INBOX 4096
#define RECENT 256 /* decisions remembered by watch, to describe their results */

typedef struct opts {
  fs_mqtt_config mc;
  double timeout_s;
  int for_s; /* --for, 0 when not given */
  const char *set;
  long count; /* watch: stop after this many lines; 0 = never */
  int help;
} opts;

/* What the link delivered, for the main thread to take. */
typedef struct msg {
  char *topic;
  char *payload;
  size_t len;
} msg;

typedef struct inbox {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  msg items[MAX_INBOX];
  size_t head, n;
  int connected, refused, denied;
  char why[256];
} inbox;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("foresight-ctl: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs(" (see foresight-ctl --help)\n", stderr);
  va_end(ap);
  return EXIT_USAGE;
}

/* ---- the link's callbacks (network thread) ----------------------------------------- */

static void on_message(void *user, const char *topic, const void *payload, size_t len) {
  inbox *b = user;
  pthread_mutex_lock(&b->lock);
  if (b->n < MAX_INBOX) {
    msg *m = &b->items[(b->head + b->n) % MAX_INBOX];
    m->topic = strdup(topic);
    m->payload = malloc(len + 1);
    if (m->topic != NULL && m->payload != NULL) {
      memcpy(m->payload, payload, len);
      m->payload[len] = '\0';
      m->len = len;
      b->n++;
    } else {
      free(m->topic);
      free(m->payload);
    }
  }
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

static void on_event(void *user, const fs_mqtt_event *ev) {
  inbox *b = user;
  pthread_mutex_lock(&b->lock);
  if (ev->kind == FS_MQTT_EV_CONNECTED)
    b->connected = 1;
  if (ev->kind == FS_MQTT_EV_REFUSED) {
    b->refused = 1;
    snprintf(b->why, sizeof(b->why), "the broker refused the connection: %s", ev->text);
  }
  if (ev->kind == FS_MQTT_EV_DENIED || ev->kind == FS_MQTT_EV_SUB_DENIED) {
    b->denied = 1;
    snprintf(b->why, sizeof(b->why), "the broker denied %s %s: %s",
             ev->kind == FS_MQTT_EV_DENIED ? "publishing on" : "subscribing to",
             ev->topic ? ev->topic : "a topic", ev->text);
  }
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

/* ---- waiting ----------------------------------------------------------------------- */

static struct timespec deadline_in(double s) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  long long ns = t.tv_nsec + (long long)(s * 1e9);
  t.tv_sec += (time_t)(ns / 1000000000LL);
  t.tv_nsec = (long)(ns % 1000000000LL);
  return t;
}

static int past(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Takes the oldest message into *out (caller frees its strings) or waits for one until
 * the deadline; 0 on a message, 1 at the deadline, -1 when the broker refused us or
 * denied a publish (b->why says which), -2 when a signal asked to stop. */
static int take(inbox *b, const struct timespec *deadline, msg *out) {
  int rc = 1;
  pthread_mutex_lock(&b->lock);
  for (;;) {
    if (b->n > 0) {
      *out = b->items[b->head];
      b->head = (b->head + 1) % MAX_INBOX;
      b->n--;
      rc = 0;
      break;
    }
    if (b->refused || b->denied) {
      rc = -1;
      break;
    }
    if (stop_requested) {
      rc = -2;
      break;
    }
    if (past(deadline))
      break;
    struct timespec slice = deadline_in(0.2); /* to notice signals */
    const struct timespec *until =
        slice.tv_sec < deadline->tv_sec ||
                (slice.tv_sec == deadline->tv_sec && slice.tv_nsec < deadline->tv_nsec)
            ? &slice
            : deadline;
    pthread_cond_timedwait(&b->cond, &b->lock, until);
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

static void msg_free(msg *m) {
  free(m->topic);
  free(m->payload);
}

static int no_answer(const opts *o, inbox *b, const char *what) {
  pthread_mutex_lock(&b->lock);
  int connected = b->connected;
  pthread_mutex_unlock(&b->lock);
  if (!connected)
    fprintf(stderr, "foresight-ctl: %s: broker %s:%d not reached within %g s\n", what,
            o->mc.host, o->mc.port, o->timeout_s);
  else
    fprintf(stderr, "foresight-ctl: %s: no answer within %g s\n", what, o->timeout_s);
  return EXIT_NO_ANSWER;
}

/* ---- the session ------------------------------------------------------------------- */

typedef struct session {
  opts *o;
  inbox box;
  fs_mqtt_link *link;
} session;

static int session_open(session *s, opts *o) {
  memset(&s->box, 0, sizeof(s->box));
  pthread_mutex_init(&s->box.lock, NULL);
  pthread_cond_init(&s->box.cond, NULL);
  s->o = o;
  fs_mqtt_callbacks cb = {on_message, on_event};
  fs_mqtt_error err;
  s->link = fs_mqtt_link_create(&o->mc, &cb, &s->box, &err);
  if (s->link == NULL) {
    fprintf(stderr, "foresight-ctl: %s\n", err.msg);
    return err.code == FS_MQTT_EINVAL || err.code == FS_MQTT_ETLS ? EXIT_USAGE
                                                                  : EXIT_NO_ANSWER;
  }
  return 0;
}

static void session_close(session *s) {
  fs_mqtt_link_destroy(s->link);
  while (s->box.n > 0) {
    msg_free(&s->box.items[s->box.head]);
    s->box.head = (s->box.head + 1) % MAX_INBOX;
    s->box.n--;
  }
  pthread_cond_destroy(&s->box.cond);
  pthread_mutex_destroy(&s->box.lock);
}

static int subscribe(session *s, const char *rest) {
  char topic[512];
  fs_mqtt_error err;
  if (fs_mqtt_link_topic(s->link, topic, sizeof(topic), rest) < 0 ||
      fs_mqtt_link_subscribe(s->link, topic, 1, &err) != 0)
    return usage_error("cannot subscribe to %s/%s", s->o->mc.prefix, rest);
  return 0;
}

/* The topic without "<prefix>/", or NULL when it is not under the prefix. */
static const char *after_prefix(const opts *o, const char *topic) {
  size_t n = strlen(o->mc.prefix);
  return strncmp(topic, o->mc.prefix, n) == 0 && topic[n] == '/' ? topic + n + 1 : NULL;
}

/* ---- requests ---------------------------------------------------------------------- */

static void new_request_id(char *buf, size_t n) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  snprintf(buf, n, "ctl-%lx-%lx-%lx", (unsigned long)getpid(), (unsigned long)t.tv_sec,
           (unsigned long)t.tv_nsec);
}

/* Prints the reply: "ok", or the error on stderr. */
static int read_reply(const msg *m) {
  json_t *j = json_loadb(m->payload, m->len, 0, NULL);
  const json_t *ok = json_object_get(j, "ok");
  int rc;
  if (json_is_true(ok)) {
    puts("ok");
    rc = EXIT_OK;
  } else {
    const json_t *e = json_object_get(j, "error");
    fprintf(stderr, "foresight-ctl: rejected: %s\n",
            json_is_string(e) ? json_string_value(e) : "(no reason given)");
    rc = EXIT_REJECTED;
  }
  json_decref(j);
  return rc;
}

/* Sends body (a JSON object: request_id is added) to rest and waits for the reply. */
static int request(session *s, const char *rest, json_t *body, const char *what) {
  char id[64], reply_rest[96], topic[512], reply_topic[512];
  new_request_id(id, sizeof(id));
  snprintf(reply_rest, sizeof(reply_rest), "reply/%s", id);
  int rc = subscribe(s, reply_rest);
  if (rc != 0)
    return rc;
  fs_mqtt_link_topic(s->link, reply_topic, sizeof(reply_topic), reply_rest);
  if (fs_mqtt_link_topic(s->link, topic, sizeof(topic), rest) < 0)
    return usage_error("topic %s/%s is too long", s->o->mc.prefix, rest);
  json_object_set_new(body, "request_id", json_string(id));
  char *text = json_dumps(body, JSON_COMPACT);
  fs_mqtt_error err;
  if (text == NULL || fs_mqtt_link_publish(s->link, topic, text, strlen(text), 1, 0,
                                           &err) != 0) {
    free(text);
    return usage_error("cannot publish on %s", topic);
  }
  free(text);
  struct timespec deadline = deadline_in(s->o->timeout_s);
  msg m;
  while ((rc = take(&s->box, &deadline, &m)) == 0) {
    int mine = strcmp(m.topic, reply_topic) == 0;
    if (mine)
      rc = read_reply(&m);
    msg_free(&m);
    if (mine)
      return rc;
  }
  if (rc == -1) {
    fprintf(stderr, "foresight-ctl: %s: %s\n", what, s->box.why);
    return s->box.denied ? EXIT_REJECTED : EXIT_NO_ANSWER;
  }
  return no_answer(s->o, &s->box, what);
}

/* The host set of vm: --set, or the set of its retained state topic. */
static int find_set(session *s, const char *vm, char *set, size_t n) {
  if (s->o->set != NULL) {
    snprintf(set, n, "%s", s->o->set);
    return 0;
  }
  char rest[256];
  snprintf(rest, sizeof(rest), "+/%s/state", vm);
  int rc = subscribe(s, rest);
  if (rc != 0)
    return rc;
  struct timespec deadline = deadline_in(s->o->timeout_s);
  msg m;
  while ((rc = take(&s->box, &deadline, &m)) == 0) {
    const char *r = after_prefix(s->o, m.topic);
    const char *slash = r == NULL ? NULL : strchr(r, '/');
    if (slash != NULL)
      snprintf(set, n, "%.*s", (int)(slash - r), r);
    msg_free(&m);
    if (slash != NULL)
      return 0;
  }
  if (rc == -1) {
    fprintf(stderr, "foresight-ctl: VM %s: %s\n", vm, s->box.why);
    return EXIT_NO_ANSWER;
  }
  fprintf(stderr, "foresight-ctl: VM %s: no retained state within %g s to tell its host "
          "set; give it with --set SET\n", vm, s->o->timeout_s);
  return EXIT_NO_ANSWER;
}

/* ---- subcommands ------------------------------------------------------------------- */

static int cmd_vm_request(opts *o, const char *vm, json_t *body, const char *what) {
  session s;
  int rc = session_open(&s, o);
  char set[128], rest[320];
  if (rc == 0)
    rc = find_set(&s, vm, set, sizeof(set));
  if (rc == 0) {
    snprintf(rest, sizeof(rest), "%s/%s/command", set, vm);
    rc = request(&s, rest, body, what);
  }
  json_decref(body);
  if (s.link != NULL || rc == 0)
    session_close(&s);
  return rc;
}

static int parse_value(const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v > 0) || v > 1e15)
    return -1;
  *out = v;
  return 0;
}

static int cmd_set(opts *o, int argc, char **argv) {
  if (argc != 3)
    return usage_error("set: needs VM RESOURCE VALUE, got %d argument(s)", argc);
  double value;
  if (parse_value(argv[2], &value) != 0)
    return usage_error("set: VALUE \"%s\" (must be a number > 0)", argv[2]);
  json_t *body = json_pack("{s:s, s:s, s:f, s:i}", "action", "set", "resource", argv[1],
                           "value", value, "duration", o->for_s > 0 ? o->for_s : 3600);
  return cmd_vm_request(o, argv[0], body, "set");
}

static int cmd_hold(opts *o, int argc, char **argv) {
  if (argc < 1 || argc > 2)
    return usage_error("hold: needs VM [RESOURCE], got %d argument(s)", argc);
  if (o->for_s <= 0)
    return usage_error("hold: --for DURATION is required");
  json_t *body = json_pack("{s:s, s:i}", "action", "hold", "duration", o->for_s);
  if (argc == 2)
    json_object_set_new(body, "resource", json_string(argv[1]));
  return cmd_vm_request(o, argv[0], body, "hold");
}

static int cmd_release(opts *o, int argc, char **argv) {
  if (argc < 1 || argc > 2)
    return usage_error("release: needs VM [RESOURCE], got %d argument(s)", argc);
  if (o->for_s > 0)
    return usage_error("release: --for does not apply");
  json_t *body = json_pack("{s:s}", "action", "release");
  if (argc == 2)
    json_object_set_new(body, "resource", json_string(argv[1]));
  return cmd_vm_request(o, argv[0], body, "release");
}

static int cmd_scale_out(opts *o, int argc, char **argv) {
  if (argc != 1)
    return usage_error("scale-out: needs SET, got %d argument(s)", argc);
  session s;
  int rc = session_open(&s, o);
  if (rc != 0)
    return rc;
  char rest[256];
  snprintf(rest, sizeof(rest), "%s/command", argv[0]);
  json_t *body = json_pack("{s:s}", "action", "scale_out");
  rc = request(&s, rest, body, "scale-out");
  json_decref(body);
  session_close(&s);
  return rc;
}

static int cmd_policy_set(opts *o, const char *set, const char *file) {
  json_error_t jerr;
  json_t *patch = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                         : json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if (patch == NULL)
    return usage_error("policy set: FILE %s: %s (line %d)", file, jerr.text, jerr.line);
  if (!json_is_object(patch)) {
    json_decref(patch);
    return usage_error("policy set: FILE %s: must hold a JSON object", file);
  }
  session s;
  int rc = session_open(&s, o);
  if (rc != 0) {
    json_decref(patch);
    return rc;
  }
  char rest[256];
  snprintf(rest, sizeof(rest), "%s/policy/set", set);
  json_t *body = json_pack("{s:o}", "policy", patch);
  rc = request(&s, rest, body, "policy set");
  json_decref(body);
  session_close(&s);
  return rc;
}

static int cmd_policy_get(opts *o, const char *set) {
  session s;
  int rc = session_open(&s, o);
  if (rc != 0)
    return rc;
  char rest[256];
  snprintf(rest, sizeof(rest), "%s/policy", set);
  rc = subscribe(&s, rest);
  struct timespec deadline = deadline_in(o->timeout_s);
  msg m;
  if (rc == 0 && (rc = take(&s.box, &deadline, &m)) == 0) {
    json_t *j = json_loadb(m.payload, m.len, 0, NULL);
    char *pretty = j == NULL ? NULL : json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(pretty != NULL ? pretty : m.payload);
    free(pretty);
    json_decref(j);
    msg_free(&m);
  } else if (rc == -1) {
    fprintf(stderr, "foresight-ctl: policy get: %s\n", s.box.why);
    rc = EXIT_NO_ANSWER;
  } else if (rc > 0) {
    fprintf(stderr, "foresight-ctl: policy get: no policy retained for host set %s "
            "within %g s\n", set, o->timeout_s);
    rc = EXIT_NO_ANSWER;
  }
  session_close(&s);
  return rc;
}

static int cmd_policy(opts *o, int argc, char **argv) {
  if (argc == 2 && strcmp(argv[0], "get") == 0)
    return cmd_policy_get(o, argv[1]);
  if (argc == 3 && strcmp(argv[0], "set") == 0)
    return cmd_policy_set(o, argv[1], argv[2]);
  return usage_error("policy: needs \"get SET\" or \"set SET FILE\"");
}

static int by_topic(const void *a, const void *b) {
  return strcmp(((const msg *)a)->topic, ((const msg *)b)->topic);
}

static int cmd_status(opts *o, int argc, char **argv) {
  if (argc > 2)
    return usage_error("status: takes [SET [VM]], got %d arguments", argc);
  const char *set = argc >= 1 ? argv[0] : "+";
  const char *vm = argc >= 2 ? argv[1] : "+";
  session s;
  int rc = session_open(&s, o);
  if (rc != 0)
    return rc;
  char rest[3][256];
  snprintf(rest[0], sizeof(rest[0]), "%s/policy", set);
  snprintf(rest[1], sizeof(rest[1]), "%s/%s/state", set, vm);
  snprintf(rest[2], sizeof(rest[2]), "%s/%s/forecast/+", set, vm);
  for (int i = 0; i < 3 && rc == 0; i++)
    rc = subscribe(&s, rest[i]);
  /* retained messages come right after the SUBACK: a short wait is enough */
  struct timespec deadline = deadline_in(o->timeout_s < 1.5 ? o->timeout_s : 1.5);
  static msg got[MAX_INBOX];
  size_t n = 0;
  int t;
  while (rc == 0 && n < MAX_INBOX && (t = take(&s.box, &deadline, &got[n])) == 0)
    n++;
  qsort(got, n, sizeof(got[0]), by_topic);
  for (size_t i = 0; i < n; i++) {
    char line[1024];
    const char *r = after_prefix(o, got[i].topic);
    ctl_format_status(r != NULL ? r : got[i].topic, got[i].payload, got[i].len, line,
                      sizeof(line));
    puts(line);
    msg_free(&got[i]);
  }
  if (rc == 0 && n == 0)
    rc = no_answer(o, &s.box, "status: no retained foresight topic");
  session_close(&s);
  return rc;
}

/* Decisions seen by watch, to describe their results. */
typedef struct recent {
  char set[128];
  long long id;
  char *json;
  size_t len;
} recent;

static void watch_line(const opts *o, recent *seen, size_t *next, const msg *m) {
  const char *r = after_prefix(o, m->topic);
  const char *slash = r == NULL ? NULL : strchr(r, '/');
  if (slash == NULL)
    return;
  char set[128], line[1024];
  snprintf(set, sizeof(set), "%.*s", (int)(slash - r), r);
  if (strcmp(slash, "/decision") == 0) {
    json_t *d = json_loadb(m->payload, m->len, 0, NULL);
    int dry = json_is_true(json_object_get(d, "dry_run"));
    json_decref(d);
    ctl_format_decision(set, m->payload, m->len, dry ? "[dry-run]" : "[planned]", line,
                        sizeof(line));
    recent *e = &seen[*next % RECENT];
    free(e->json);
    snprintf(e->set, sizeof(e->set), "%s", set);
    e->id = ctl_message_id(m->payload, m->len, "id");
    e->json = strdup(m->payload);
    e->len = e->json != NULL ? m->len : 0;
    (*next)++;
  } else {
    long long id = ctl_message_id(m->payload, m->len, "decision_id");
    const recent *d = NULL;
    for (size_t i = 0; i < RECENT; i++)
      if (seen[i].json != NULL && seen[i].id == id && strcmp(seen[i].set, set) == 0)
        d = &seen[i];
    ctl_format_result(set, m->payload, m->len, d ? d->json : NULL, d ? d->len : 0, line,
                      sizeof(line));
  }
  puts(line);
  fflush(stdout);
}

static int cmd_watch(opts *o, int argc, char **argv) {
  (void)argv;
  if (argc != 0)
    return usage_error("watch: takes no argument (use --set SET to watch one set)");
  session s;
  int rc = session_open(&s, o);
  if (rc != 0)
    return rc;
  char rest[2][256];
  const char *set = o->set != NULL ? o->set : "+";
  snprintf(rest[0], sizeof(rest[0]), "%s/decision", set);
  snprintf(rest[1], sizeof(rest[1]), "%s/result", set);
  for (int i = 0; i < 2 && rc == 0; i++)
    rc = subscribe(&s, rest[i]);
  static recent seen[RECENT];
  size_t next = 0;
  long lines = 0;
  struct timespec forever = deadline_in(365.0 * 86400);
  msg m;
  while (rc == 0 && (o->count == 0 || lines < o->count)) {
    int t = take(&s.box, &forever, &m);
    if (t != 0) {
      if (t == -1) {
        fprintf(stderr, "foresight-ctl: watch: %s\n", s.box.why);
        rc = EXIT_NO_ANSWER;
      }
      break;
    }
    watch_line(o, seen, &next, &m);
    msg_free(&m);
    lines++;
  }
  for (size_t i = 0; i < RECENT; i++)
    free(seen[i].json);
  session_close(&s);
  return rc;
}

/* ---- options ----------------------------------------------------------------------- */

static const char general_help[] =
    "Usage: foresight-ctl [OPTION]... COMMAND [ARG]...\n"
    "Look at foresight's host sets and steer them over MQTT.\n\n"
    "Commands (foresight-ctl COMMAND --help for each):\n"
    "  status [SET [VM]]               policy, state and forecasts (retained topics)\n"
    "  policy get SET                  the policy in force, as JSON\n"
    "  policy set SET FILE             send a JSON policy patch (FILE - : stdin)\n"
    "  set VM RESOURCE VALUE [--for D] hold VM's RESOURCE at VALUE (default 1h)\n"
    "  hold VM [RESOURCE] --for D      hold VM where it is\n"
    "  release VM [RESOURCE]           end a set or hold\n"
    "  scale-out SET                   start an instance from SET's template\n"
    "  watch [--set SET] [--count N]   one line per decision and result\n\n"
    "Broker options (as mosquitto_pub):\n"
    "  -h, --host HOST      broker host (default localhost)\n"
    "  -p, --port PORT      broker port (default 1883)\n"
    "  -u, --username USER  -P, --pw PASSWORD\n"
    "  --cafile FILE        TLS: the CA that signed the broker's certificate\n"
    "  --cert FILE --key FILE   TLS: client certificate and key\n"
    "  -V, --protocol-version mqttv5|mqttv311|mqttv31 (default mqttv5)\n"
    "  --prefix PREFIX      topic prefix (default foresight)\n"
    "  --timeout SECONDS    wait for an answer at most this long (default 5)\n"
    "  --set SET            the VM's host set (else found from its state topic)\n\n"
    "Exit status: 0 ok, 1 rejected, 2 usage error, 3 no answer within --timeout.\n";

static const struct {
  const char *name;
  const char *help;
} command_help[] = {
    {"status", "Usage: foresight-ctl status [SET [VM]]\n"
               "Prints the retained policy, VM state and forecast topics of every host\n"
               "set, of SET, or of VM in SET, read for a short while after connecting.\n"},
    {"policy", "Usage: foresight-ctl policy get SET\n"
               "       foresight-ctl policy set SET FILE\n"
               "get prints the policy in force of SET as JSON; it is a valid patch.\n"
               "set sends the JSON object in FILE (- for stdin), e.g.\n"
               "  {\"Threshold\": {\"cpu\": 0.7}, \"VM\": {\"web1\": {\"Limit\": {\"cpu\": [1, 8]}}}}\n"
               "to SET's policy/set topic and waits for foresight's reply: \"ok\" (exit 0)\n"
               "or the reason it was rejected (exit 1); the policy in force is only\n"
               "replaced by a patch that validates.\n"},
    {"set", "Usage: foresight-ctl set VM RESOURCE VALUE [--for DURATION] [--set SET]\n"
            "Holds VM's RESOURCE (cpu, cpu_quota, memory, disk_iops, net_kbps) at VALUE\n"
            "for DURATION (600, 600s, 10m, 2h, 1d; default 1h): the planner neither\n"
            "resizes it nor lends from or to it meanwhile.\n"},
    {"hold", "Usage: foresight-ctl hold VM [RESOURCE] --for DURATION [--set SET]\n"
             "Holds VM (one RESOURCE, or every managed one) at its allocation.\n"},
    {"release", "Usage: foresight-ctl release VM [RESOURCE] [--set SET]\n"
                "Ends a set or hold of VM now (one RESOURCE, or all).\n"},
    {"scale-out", "Usage: foresight-ctl scale-out SET\n"
                  "Asks foresight to start one more instance from SET's template.\n"},
    {"watch", "Usage: foresight-ctl watch [--set SET] [--count N]\n"
              "Prints one line per decision and per result as they are published, e.g.\n"
              "  12:00:05 web/web1 grow cpu 2 → 3 (forecast hi 2.7 cores at +10 min > 0.8 × 2) [planned]\n"
              "until interrupted, or after N lines.\n"},
};

/* "600", "600s", "10m", "2h", "1d" -> seconds; -1 when not a positive duration. */
static int parse_duration(const char *text) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  long mult = 1;
  if (end == text || errno != 0 || v <= 0)
    return -1;
  if (*end == 's')
    end++;
  else if (*end == 'm')
    mult = 60, end++;
  else if (*end == 'h')
    mult = 3600, end++;
  else if (*end == 'd')
    mult = 86400, end++;
  if (*end != '\0' || v > 604800 / mult)
    return -1;
  return (int)(v * mult);
}

static int parse_number(const char *opt, const char *text, double lo, double hi,
                        double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi))
    return usage_error("option %s: \"%s\" (must be a number in [%g, %g])", opt, text, lo,
                       hi);
  *out = v;
  return 0;
}

static int parse_protocol(const char *text, int *out) {
  if (strcmp(text, "mqttv5") == 0 || strcmp(text, "5") == 0)
    *out = 5;
  else if (strcmp(text, "mqttv311") == 0 || strcmp(text, "311") == 0 ||
           strcmp(text, "4") == 0)
    *out = 4;
  else if (strcmp(text, "mqttv31") == 0 || strcmp(text, "31") == 0 ||
           strcmp(text, "3") == 0)
    *out = 3;
  else
    return usage_error("option -V: \"%s\" (must be mqttv5, mqttv311 or mqttv31)", text);
  return 0;
}

enum { OPT_CAFILE = 256, OPT_CERT, OPT_KEY, OPT_PREFIX, OPT_TIMEOUT, OPT_FOR, OPT_SET,
       OPT_COUNT, OPT_HELP };

static const struct option long_opts[] = {
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"username", required_argument, NULL, 'u'},
    {"pw", required_argument, NULL, 'P'},
    {"protocol-version", required_argument, NULL, 'V'},
    {"cafile", required_argument, NULL, OPT_CAFILE},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"for", required_argument, NULL, OPT_FOR},
    {"set", required_argument, NULL, OPT_SET},
    {"count", required_argument, NULL, OPT_COUNT},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One option; 0 or EXIT_USAGE (the message names the option). */
static int apply_option(opts *o, int c, const char *arg) {
  double v;
  switch (c) {
  case 'h': o->mc.host = arg; return 0;
  case 'p':
    if (parse_number("-p", arg, 1, 65535, &v) != 0 || v != (int)v)
      return usage_error("option -p: \"%s\" (must be a port number)", arg);
    o->mc.port = (int)v;
    return 0;
  case 'u': o->mc.username = arg; return 0;
  case 'P': o->mc.password = arg; return 0;
  case 'V': return parse_protocol(arg, &o->mc.protocol);
  case OPT_CAFILE: o->mc.cafile = arg; return 0;
  case OPT_CERT: o->mc.certfile = arg; return 0;
  case OPT_KEY: o->mc.keyfile = arg; return 0;
  case OPT_PREFIX: o->mc.prefix = arg; return 0;
  case OPT_TIMEOUT: return parse_number("--timeout", arg, 0.1, 86400, &o->timeout_s);
  case OPT_FOR:
    if ((o->for_s = parse_duration(arg)) < 0)
      return usage_error("option --for: \"%s\" (must be a duration such as 600, 10m, "
                         "2h, 1d; at most a week)", arg);
    return 0;
  case OPT_SET: o->set = arg; return 0;
  case OPT_COUNT:
    if (parse_number("--count", arg, 1, 1e9, &v) != 0)
      return EXIT_USAGE;
    o->count = (long)v;
    return 0;
  case OPT_HELP: o->help = 1; return 0;
  default: return EXIT_USAGE;
  }
}

static int parse_options(opts *o, int argc, char **argv) {
  fs_mqtt_config_init(&o->mc);
  o->mc.reconnect_max_s = 2;
  o->timeout_s = 5;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h:p:u:P:V:", long_opts, NULL)) != -1) {
    if (c == '?')
      return usage_error("unknown option %s", argv[optind - 1]);
    if (c == ':')
      return usage_error("option %s needs a value", argv[optind - 1]);
    int rc = apply_option(o, c, optarg);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int print_help(const char *command) {
  for (size_t i = 0; command != NULL && i < sizeof(command_help) / sizeof(command_help[0]);
       i++)
    if (strcmp(command, command_help[i].name) == 0) {
      fputs(command_help[i].help, stdout);
      return EXIT_OK;
    }
  fputs(general_help, stdout);
  return EXIT_OK;
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof(o));
  int rc = parse_options(&o, argc, argv);
  if (rc != 0)
    return rc;
  const char *command = optind < argc ? argv[optind] : NULL;
  if (o.help)
    return print_help(command);
  if (command == NULL)
    return usage_error("no command given");
  int n = argc - optind - 1;
  char **args = argv + optind + 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(command, "status") == 0)
    return cmd_status(&o, n, args);
  if (strcmp(command, "policy") == 0)
    return cmd_policy(&o, n, args);
  if (strcmp(command, "set") == 0)
    return cmd_set(&o, n, args);
  if (strcmp(command, "hold") == 0)
    return cmd_hold(&o, n, args);
  if (strcmp(command, "release") == 0)
    return cmd_release(&o, n, args);
  if (strcmp(command, "scale-out") == 0)
    return cmd_scale_out(&o, n, args);
  if (strcmp(command, "watch") == 0)
    return cmd_watch(&o, n, args);
  return usage_error("unknown command \"%s\"", command);
}
