/* link.c -- fs_mqtt_link: one libmosquitto client that survives the broker's absences.
 *
 * Threads. libmosquitto's network thread (mosquitto_loop_start) reads and writes the
 * socket, reconnects with backoff and runs our mosquitto callbacks; any other thread
 * may publish or subscribe. One mutex, l->lock, guards every field below marked so.
 * Lock order: libmosquitto's callback mutex (held while our callbacks run) before
 * l->lock before libmosquitto's message mutexes (taken inside mosquitto_publish and
 * _subscribe). No user callback runs with l->lock held: events are collected under the
 * lock and delivered after it is released.
 *
 * Ordering of QoS >= 1 messages: only the queue's head is ever handed to libmosquitto;
 * the next goes once the head's PUBACK arrives (on_publish). A head in flight when the
 * connection drops stays in libmosquitto, which sends it again after the next CONNACK
 * (message__retry_check), so nothing overtakes it. The price is one round trip per
 * message, ample for decisions and results (a few per host set and cycle).
 *
 * Not here: what the messages say (actuator/messages.h), which topics exist (the
 * plugin), persistence of the queue across a restart of the process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "mqtt/mqtt.h"
#include "mqtt/mqtt_internal.h"

#define MAX_EVENTS 4 /* events one callback may raise */

typedef struct sub {
  char *pattern;
  int qos;
  int mid; /* of the last SUBSCRIBE sent, to name it in a refusal */
} sub;

struct fs_mqtt_link {
  struct mosquitto *mosq;
  fs_mqtt_callbacks cb;
  void *user;
  char *prefix;
  char *host;
  int port;
  int protocol;
  size_t max_inbound;
  int lib_inited;
  int started;          /* the network thread runs */
  int retry_s;          /* delay before restarting a network thread that gave up */
  pthread_t watchdog;   /* restarts it: see watchdog_main */
  int watchdog_started;
  pthread_cond_t wake;  /* signals the watchdog; with lock */
  int restart;          /* guarded by lock: the network thread gave up */
  int stopping;         /* guarded by lock: destroy has begun */

  pthread_mutex_t lock;
  int connected;      /* guarded by lock */
  fs__outq q;         /* guarded by lock */
  fs__retained ret;   /* guarded by lock */
  sub *subs;          /* guarded by lock */
  size_t n_subs, cap_subs;
  fs_mqtt_stats stats; /* guarded by lock (connected, queued, retained filled on read) */
};

/* Events raised under the lock, delivered after it. */
typedef struct pending {
  fs_mqtt_event ev[MAX_EVENTS];
  char topic[MAX_EVENTS][256];
  int n;
} pending;

static void raise_event(pending *p, fs_mqtt_event_kind kind, int reason,
                        const char *topic, const char *text) {
  if (p->n >= MAX_EVENTS)
    return;
  fs_mqtt_event *ev = &p->ev[p->n];
  ev->kind = kind;
  ev->reason = reason;
  ev->text = text;
  ev->topic = NULL;
  if (topic != NULL) {
    snprintf(p->topic[p->n], sizeof(p->topic[p->n]), "%s", topic);
    ev->topic = p->topic[p->n];
  }
  p->n++;
}

static void deliver(fs_mqtt_link *l, const pending *p) {
  for (int i = 0; i < p->n && l->cb.on_event != NULL; i++)
    l->cb.on_event(l->user, &p->ev[i]);
}

static int fail(fs_mqtt_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(fs_mqtt_error *err, int code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return code;
}

/* libmosquitto's rc as an FS_MQTT_E* code. */
static int code_of(int rc) {
  switch (rc) {
  case MOSQ_ERR_NOMEM: return FS_MQTT_ENOMEM;
  case MOSQ_ERR_INVAL:
  case MOSQ_ERR_PAYLOAD_SIZE:
  case MOSQ_ERR_MALFORMED_UTF8:
  case MOSQ_ERR_QOS_NOT_SUPPORTED:
  case MOSQ_ERR_OVERSIZE_PACKET: return FS_MQTT_EINVAL;
  case MOSQ_ERR_TLS: return FS_MQTT_ETLS;
  case MOSQ_ERR_NO_CONN:
  case MOSQ_ERR_CONN_REFUSED:
  case MOSQ_ERR_CONN_LOST:
  case MOSQ_ERR_ERRNO:
  case MOSQ_ERR_EAI: return FS_MQTT_ECONN;
  default: return FS_MQTT_ELIB;
  }
}

static const char *reason_text(const fs_mqtt_link *l, int reason) {
  return l->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(reason)
                                         : mosquitto_connack_string(reason);
}

void fs_mqtt_config_init(fs_mqtt_config *c) {
  memset(c, 0, sizeof(*c));
  c->host = "localhost";
  c->port = 1883;
  c->prefix = "foresight";
  c->protocol = 5;
  c->keepalive_s = 30;
  c->reconnect_min_s = 1;
  c->reconnect_max_s = 60;
  c->queue_max = 1000;
  c->retained_max = 10000;
  c->max_inbound_bytes = 65536;
}

/* ---- sending (l->lock held) ------------------------------------------------------- */

/* Hands the queue's head to libmosquitto when connected and nothing is in flight. */
static void pump_locked(fs_mqtt_link *l) {
  fs__msg *m = l->q.head;
  if (!l->connected || m == NULL || m->inflight)
    return;
  int mid = 0;
  int rc = mosquitto_publish_v5(l->mosq, &mid, m->topic, (int)m->len, m->payload, m->qos,
                                false, NULL);
  if (rc == MOSQ_ERR_SUCCESS) {
    m->inflight = 1;
    m->mid = mid;
    l->stats.published++;
  } /* else it waits: the next CONNACK pumps again */
}

static void send_retained(const fs__msg *m, void *arg) {
  fs_mqtt_link *l = arg;
  if (mosquitto_publish_v5(l->mosq, NULL, m->topic, (int)m->len, m->payload, m->qos, true,
                           NULL) == MOSQ_ERR_SUCCESS)
    l->stats.published++;
}

static void subscribe_locked(fs_mqtt_link *l, sub *s) {
  mosquitto_subscribe_v5(l->mosq, &s->mid, s->pattern, s->qos, 0, NULL);
}

/* ---- libmosquitto callbacks (network thread) -------------------------------------- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props) {
  (void)mosq, (void)flags, (void)props;
  fs_mqtt_link *l = obj;
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  if (rc == 0) {
    l->connected = 1;
    l->stats.connects++;
    /* subscriptions first: a message we send may be one we listen for */
    for (size_t i = 0; i < l->n_subs; i++)
      subscribe_locked(l, &l->subs[i]);
    fs__retained_each(&l->ret, send_retained, l);
    pump_locked(l);
    raise_event(&p, FS_MQTT_EV_CONNECTED, 0, NULL, "connected");
  } else {
    raise_event(&p, FS_MQTT_EV_REFUSED, rc, NULL, reason_text(l, rc));
  }
  pthread_mutex_unlock(&l->lock);
  deliver(l, &p);
}

/* The errors after which mosquitto_loop_forever returns instead of reconnecting
 * (lib/loop.c in 2.0.11): a v5 CONNACK refusal arrives as MOSQ_ERR_PROTOCOL. */
static int gives_up(int rc) {
  switch (rc) {
  case MOSQ_ERR_NOMEM: case MOSQ_ERR_PROTOCOL: case MOSQ_ERR_INVAL:
  case MOSQ_ERR_NOT_FOUND: case MOSQ_ERR_TLS: case MOSQ_ERR_PAYLOAD_SIZE:
  case MOSQ_ERR_NOT_SUPPORTED: case MOSQ_ERR_AUTH: case MOSQ_ERR_ACL_DENIED:
  case MOSQ_ERR_UNKNOWN: case MOSQ_ERR_EAI: case MOSQ_ERR_PROXY:
    return 1;
  default:
    return 0;
  }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props) {
  (void)mosq, (void)props;
  fs_mqtt_link *l = obj;
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  int was = l->connected;
  l->connected = 0;
  if (gives_up(rc) && !l->stopping) {
    l->restart = 1;
    pthread_cond_signal(&l->wake);
  }
  pthread_mutex_unlock(&l->lock);
  if (was) {
    raise_event(&p, FS_MQTT_EV_DISCONNECTED, rc, NULL, mosquitto_strerror(rc));
    deliver(l, &p);
  }
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props) {
  (void)mosq, (void)props;
  fs_mqtt_link *l = obj;
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  fs__msg *head = l->q.head;
  int ours = head != NULL && head->inflight && head->mid == mid;
  if (reason >= 0x80) {
    l->stats.denied++;
    raise_event(&p, FS_MQTT_EV_DENIED, reason, ours ? head->topic : NULL,
                mosquitto_reason_string(reason));
  } else if (ours) {
    l->stats.acked++;
  }
  if (ours) { /* a refused head is not retried: the broker would refuse it again */
    fs__outq_pop(&l->q);
    pump_locked(l);
  }
  pthread_mutex_unlock(&l->lock);
  deliver(l, &p);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n,
                         const int *granted, const mosquitto_property *props) {
  (void)mosq, (void)props;
  fs_mqtt_link *l = obj;
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  for (int i = 0; i < n; i++) {
    if (granted[i] < 0x80)
      continue;
    const char *pattern = NULL;
    for (size_t k = 0; k < l->n_subs; k++)
      if (l->subs[k].mid == mid)
        pattern = l->subs[k].pattern;
    raise_event(&p, FS_MQTT_EV_SUB_DENIED, granted[i], pattern,
                mosquitto_reason_string(granted[i]));
  }
  pthread_mutex_unlock(&l->lock);
  deliver(l, &p);
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
  (void)mosq, (void)props;
  fs_mqtt_link *l = obj;
  size_t len = msg->payloadlen < 0 ? 0 : (size_t)msg->payloadlen;
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  int oversize = len > l->max_inbound;
  if (oversize) {
    l->stats.oversize++;
    raise_event(&p, FS_MQTT_EV_OVERSIZE, (int)(len > 0x7fffffff ? 0x7fffffff : len),
                msg->topic, "message larger than the inbound limit dropped");
  } else {
    l->stats.received++;
  }
  pthread_mutex_unlock(&l->lock);
  if (oversize)
    deliver(l, &p);
  else if (l->cb.on_message != NULL)
    l->cb.on_message(l->user, msg->topic, msg->payload, len);
}

/* ---- create / destroy -------------------------------------------------------------- */

static int set_options(fs_mqtt_link *l, const fs_mqtt_config *c, fs_mqtt_error *err) {
  int version = c->protocol == 4   ? MQTT_PROTOCOL_V311
                : c->protocol == 3 ? MQTT_PROTOCOL_V31
                                   : MQTT_PROTOCOL_V5;
  if (c->protocol != 3 && c->protocol != 4 && c->protocol != 5)
    return fail(err, FS_MQTT_EINVAL, "protocol %d (must be 3, 4 or 5)", c->protocol);
  l->protocol = version;
  int rc = mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, version);
  if (rc == 0 && (c->username != NULL || c->password != NULL))
    rc = mosquitto_username_pw_set(l->mosq, c->username, c->password);
  if (rc != 0)
    return fail(err, code_of(rc), "broker options: %s", mosquitto_strerror(rc));
  if ((c->certfile == NULL) != (c->keyfile == NULL))
    return fail(err, FS_MQTT_EINVAL, "TLS: a client certificate needs its key, and a "
                "key its certificate (certfile %s, keyfile %s)",
                c->certfile ? c->certfile : "unset", c->keyfile ? c->keyfile : "unset");
  if (c->cafile != NULL || c->capath != NULL) {
    rc = mosquitto_tls_set(l->mosq, c->cafile, c->capath, c->certfile, c->keyfile, NULL);
    if (rc != 0)
      return fail(err, FS_MQTT_ETLS, "TLS: %s (cafile %s, certfile %s, keyfile %s: "
                  "are they readable?)", mosquitto_strerror(rc),
                  c->cafile ? c->cafile : "unset", c->certfile ? c->certfile : "unset",
                  c->keyfile ? c->keyfile : "unset");
  } else if (c->certfile != NULL) {
    return fail(err, FS_MQTT_EINVAL, "TLS: a client certificate needs a CA file or path");
  }
  int min = c->reconnect_min_s < 1 ? 1 : c->reconnect_min_s;
  int max = c->reconnect_max_s < min ? min : c->reconnect_max_s;
  mosquitto_reconnect_delay_set(l->mosq, (unsigned)min, (unsigned)max, true);
  return 0;
}

static void set_callbacks(fs_mqtt_link *l) {
  mosquitto_connect_v5_callback_set(l->mosq, on_connect);
  mosquitto_disconnect_v5_callback_set(l->mosq, on_disconnect);
  mosquitto_publish_v5_callback_set(l->mosq, on_publish);
  mosquitto_subscribe_v5_callback_set(l->mosq, on_subscribe);
  mosquitto_message_v5_callback_set(l->mosq, on_message);
}

/* Connects (again) and starts the network thread. libmosquitto 2.0.11 needs care
 * here: left unthreaded, connect_async writes CONNECT from our thread while the socket
 * is still connecting, and when the broker is away that write fails and leaves the
 * client in a state its thread then waits on for ever (no reconnect would follow);
 * started the other way round, connect_async races the thread on fields it does not
 * lock. So the connect runs marked "threaded" (CONNECT is only queued, a failure waits
 * for the thread's reconnect loop) and before the thread exists. */
static int connect_and_loop(fs_mqtt_link *l, int keepalive_s, int again) {
  mosquitto_threaded_set(l->mosq, true);
  int rc = again ? mosquitto_reconnect_async(l->mosq)
                 : mosquitto_connect_async(l->mosq, l->host, l->port, keepalive_s);
  mosquitto_threaded_set(l->mosq, false); /* loop_start insists */
  if (rc == MOSQ_ERR_INVAL)
    return rc;
  /* any other failure (refused, unresolved) is a reason to retry, not to give up */
  return mosquitto_loop_start(l->mosq);
}

/* The watchdog: libmosquitto's thread ends for good after a refused v5 connection
 * (bad password, not authorized) or a TLS failure. A daemon should not stay offline
 * because the broker refused it once (a password file being rewritten, a certificate
 * renewed), so this thread joins the ended one and starts another after retry_s. */
static void *watchdog_main(void *arg) {
  fs_mqtt_link *l = arg;
  pthread_mutex_lock(&l->lock);
  while (!l->stopping) {
    if (!l->restart) {
      pthread_cond_wait(&l->wake, &l->lock);
      continue;
    }
    l->restart = 0;
    pthread_mutex_unlock(&l->lock);
    mosquitto_loop_stop(l->mosq, false); /* joins the thread that gave up */
    pthread_mutex_lock(&l->lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += l->retry_s;
    while (!l->stopping &&
           pthread_cond_timedwait(&l->wake, &l->lock, &until) != ETIMEDOUT) {
    }
    if (l->stopping)
      break;
    pthread_mutex_unlock(&l->lock);
    int rc = connect_and_loop(l, 0, 1);
    pthread_mutex_lock(&l->lock);
    l->started = rc == 0;
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

static int start(fs_mqtt_link *l, const fs_mqtt_config *c, fs_mqtt_error *err) {
  int rc = connect_and_loop(l, c->keepalive_s > 0 ? c->keepalive_s : 30, 0);
  if (rc == MOSQ_ERR_INVAL)
    return fail(err, FS_MQTT_EINVAL, "broker %s:%d: invalid host, port or keepalive",
                l->host, l->port);
  if (rc != 0)
    return fail(err, code_of(rc), "broker %s:%d: network thread: %s", l->host, l->port,
                mosquitto_strerror(rc));
  l->started = 1;
  if (pthread_create(&l->watchdog, NULL, watchdog_main, l) != 0)
    return fail(err, FS_MQTT_ENOMEM, "broker %s:%d: watchdog thread: %s", l->host,
                l->port, strerror(errno));
  l->watchdog_started = 1;
  return 0;
}

fs_mqtt_link *fs_mqtt_link_create(const fs_mqtt_config *cfg, const fs_mqtt_callbacks *cb,
                                  void *user, fs_mqtt_error *err) {
  fs_mqtt_config defaults;
  if (cfg == NULL) {
    fs_mqtt_config_init(&defaults);
    cfg = &defaults;
  }
  fs_mqtt_link *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    fail(err, FS_MQTT_ENOMEM, "broker link: out of memory");
    return NULL;
  }
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->wake, NULL);
  if (cb != NULL)
    l->cb = *cb;
  l->user = user;
  l->port = cfg->port > 0 ? cfg->port : 1883;
  l->retry_s = cfg->reconnect_max_s > 0 ? cfg->reconnect_max_s : 60;
  l->max_inbound = cfg->max_inbound_bytes > 0 ? cfg->max_inbound_bytes : 65536;
  fs__outq_init(&l->q, cfg->queue_max > 0 ? cfg->queue_max : 1000);
  fs__retained_init(&l->ret, cfg->retained_max > 0 ? cfg->retained_max : 10000);
  l->prefix = strdup(cfg->prefix != NULL ? cfg->prefix : "foresight");
  l->host = strdup(cfg->host != NULL ? cfg->host : "localhost");
  if (l->prefix == NULL || l->host == NULL) {
    fail(err, FS_MQTT_ENOMEM, "broker link: out of memory");
    goto fail;
  }
  if (l->prefix[0] == '\0' || mosquitto_pub_topic_check(l->prefix) != MOSQ_ERR_SUCCESS) {
    fail(err, FS_MQTT_EINVAL, "topic prefix \"%s\" (must be a topic without + or #)",
         l->prefix);
    goto fail;
  }
  mosquitto_lib_init();
  l->lib_inited = 1;
  if ((l->mosq = mosquitto_new(cfg->client_id, true, l)) == NULL) {
    fail(err, errno == EINVAL ? FS_MQTT_EINVAL : FS_MQTT_ENOMEM, "client id \"%s\": %s",
         cfg->client_id ? cfg->client_id : "", strerror(errno));
    goto fail;
  }
  set_callbacks(l);
  if (set_options(l, cfg, err) != 0 || start(l, cfg, err) != 0)
    goto fail;
  return l;
fail:
  fs_mqtt_link_destroy(l);
  return NULL;
}

void fs_mqtt_link_destroy(fs_mqtt_link *l) {
  if (l == NULL)
    return;
  pthread_mutex_lock(&l->lock);
  l->stopping = 1;
  pthread_cond_signal(&l->wake);
  pthread_mutex_unlock(&l->lock);
  if (l->watchdog_started)
    pthread_join(l->watchdog, NULL); /* from here on, only we touch l->mosq's thread */
  if (l->mosq != NULL) {
    mosquitto_disconnect(l->mosq); /* the network thread sees it and ends */
    if (l->started)
      mosquitto_loop_stop(l->mosq, false); /* a thread that gave up is joined too */
    mosquitto_destroy(l->mosq);
  }
  if (l->lib_inited)
    mosquitto_lib_cleanup();
  fs__outq_clear(&l->q);
  fs__retained_free(&l->ret);
  for (size_t i = 0; i < l->n_subs; i++)
    free(l->subs[i].pattern);
  free(l->subs);
  free(l->prefix);
  free(l->host);
  pthread_cond_destroy(&l->wake);
  pthread_mutex_destroy(&l->lock);
  free(l);
}

/* ---- publish / subscribe ----------------------------------------------------------- */

static int check_topic(const char *topic, fs_mqtt_error *err) {
  if (topic == NULL || topic[0] == '\0' ||
      mosquitto_validate_utf8(topic, (int)strnlen(topic, 65536)) != MOSQ_ERR_SUCCESS ||
      mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
    return fail(err, FS_MQTT_EINVAL, "topic \"%.200s\" (must be UTF-8 without + or #)",
                topic ? topic : "");
  return 0;
}

/* Retained: cached, and sent now when connected (order does not matter: only the last
 * value of a topic counts). */
static int publish_retained_locked(fs_mqtt_link *l, fs__msg *m, fs_mqtt_error *err) {
  if (l->connected)
    send_retained(m, l);
  int rc = fs__retained_put(&l->ret, m);
  if (rc < 0)
    return fail(err, FS_MQTT_ENOMEM, "topic %s: out of memory", m->topic);
  if (rc > 0)
    return fail(err, FS_MQTT_EINVAL, "topic %s: retained cache full (%zu topics)",
                m->topic, l->ret.max);
  return 0;
}

int fs_mqtt_link_publish(fs_mqtt_link *l, const char *topic, const void *payload,
                         size_t len, int qos, int retain, fs_mqtt_error *err) {
  int rc = check_topic(topic, err);
  if (rc != 0)
    return rc;
  if (qos < 0 || qos > 2)
    return fail(err, FS_MQTT_EINVAL, "topic %s: QoS %d (must be 0, 1 or 2)", topic, qos);
  if (len > 0 && payload == NULL)
    return fail(err, FS_MQTT_EINVAL, "topic %s: no payload", topic);
  if (len > 256 * 1024 * 1024)
    return fail(err, FS_MQTT_EINVAL, "topic %s: payload of %zu bytes (MQTT allows 256 MiB)",
                topic, len);
  pending p = {.n = 0};
  pthread_mutex_lock(&l->lock);
  if (retain || qos > 0) {
    fs__msg *m = fs__msg_new(topic, payload, len, qos, retain);
    if (m == NULL)
      rc = fail(err, FS_MQTT_ENOMEM, "topic %s: out of memory", topic);
    else if (retain)
      rc = publish_retained_locked(l, m, err);
    else if (fs__outq_push(&l->q, m) > 0) {
      l->stats.dropped++;
      raise_event(&p, FS_MQTT_EV_DROPPED, 0, topic, "queue full: oldest message dropped");
    }
    pump_locked(l);
  } else if (l->connected &&
             mosquitto_publish_v5(l->mosq, NULL, topic, (int)len, payload, 0, false,
                                  NULL) == MOSQ_ERR_SUCCESS) {
    l->stats.published++;
  } else {
    l->stats.dropped_qos0++;
  }
  pthread_mutex_unlock(&l->lock);
  deliver(l, &p);
  return rc;
}

int fs_mqtt_link_subscribe(fs_mqtt_link *l, const char *pattern, int qos,
                           fs_mqtt_error *err) {
  if (pattern == NULL || pattern[0] == '\0' ||
      mosquitto_sub_topic_check(pattern) != MOSQ_ERR_SUCCESS)
    return fail(err, FS_MQTT_EINVAL, "subscription \"%.200s\" (not a valid pattern)",
                pattern ? pattern : "");
  if (qos < 0 || qos > 2)
    return fail(err, FS_MQTT_EINVAL, "subscription %s: QoS %d (must be 0, 1 or 2)",
                pattern, qos);
  int rc = 0;
  pthread_mutex_lock(&l->lock);
  sub *s = NULL;
  for (size_t i = 0; i < l->n_subs && s == NULL; i++)
    if (strcmp(l->subs[i].pattern, pattern) == 0)
      s = &l->subs[i];
  if (s == NULL && l->n_subs == l->cap_subs) {
    size_t cap = l->cap_subs == 0 ? 8 : 2 * l->cap_subs;
    sub *grown = realloc(l->subs, cap * sizeof(*grown));
    if (grown != NULL) {
      l->subs = grown;
      l->cap_subs = cap;
    }
  }
  if (s == NULL && l->n_subs < l->cap_subs) {
    s = &l->subs[l->n_subs];
    if ((s->pattern = strdup(pattern)) != NULL)
      l->n_subs++;
    else
      s = NULL;
  }
  if (s == NULL) {
    rc = fail(err, FS_MQTT_ENOMEM, "subscription %s: out of memory", pattern);
  } else {
    s->qos = qos;
    if (l->connected)
      subscribe_locked(l, s);
  }
  pthread_mutex_unlock(&l->lock);
  return rc;
}

int fs_mqtt_link_topic(const fs_mqtt_link *l, char *buf, size_t n, const char *rest) {
  int len = snprintf(buf, n, "%s/%s", l->prefix, rest);
  if (len < 0 || (size_t)len >= n)
    return FS_MQTT_EINVAL;
  return len;
}

void fs_mqtt_link_stats(fs_mqtt_link *l, fs_mqtt_stats *out) {
  pthread_mutex_lock(&l->lock);
  *out = l->stats;
  out->connected = l->connected;
  out->queued = l->q.n;
  out->retained = l->ret.n;
  pthread_mutex_unlock(&l->lock);
}
