/* mqtt.h -- libfsmqtt, foresight's link to an MQTT broker (libmosquitto underneath).
 *
 * One fs_mqtt_link is one client connection that outlives the broker's absences:
 *
 *   connect     username/password, TLS (CA file, client certificate and key), MQTT v5
 *               by default (so a refused publish is seen: its PUBACK reason code),
 *               in a thread of libmosquitto's (mosquitto_loop_start) that reconnects
 *               with growing delays (reconnect_min_s * n^2 up to _max_s). After a
 *               refused connection (bad password, not authorized) or a TLS failure
 *               libmosquitto stops retrying; a watchdog thread of the link then
 *               starts it again every reconnect_max_s, each refusal an event.
 *   publish     QoS 0 messages go out now or not at all. QoS 1 and 2 messages
 *               (decisions, results) enter a bounded queue and leave it in order, one
 *               at a time, each once the broker acknowledged the one before; while the
 *               broker is away they wait. When the queue is full the oldest waiting
 *               message is dropped and counted (stats.dropped): after an outage the
 *               newest decisions matter most. Retained messages (state, policy,
 *               forecasts) are cached, last payload per topic, and published again
 *               after every reconnect, so a broker that lost them (restart without
 *               persistence) gets them back.
 *   subscribe   patterns are remembered and subscribed again after every reconnect;
 *               an inbound message larger than max_inbound_bytes is dropped, counted
 *               and reported, never handed to on_message.
 *
 * Threads: the link runs libmosquitto's network thread and its watchdog. Every function may be called from any thread, except that create and
 * destroy must not run concurrently with another link's create or destroy (they set
 * up and tear down libmosquitto's process-wide state) and destroy must not be called
 * from a callback. Callbacks run in the link's network thread, except an
 * FS_MQTT_EV_DROPPED event, which runs in the thread whose publish dropped a message.
 * A callback may call fs_mqtt_link_publish and _subscribe (no lock is held while it
 * runs) and must return soon: it delays the link's traffic.
 *
 * Errors: functions return 0 or a negative FS_MQTT_E* code and describe the problem in
 * the caller's fs_mqtt_error (e.g. `broker 127.0.0.1:1883: Connection refused`).
 */
#ifndef FS_MQTT_H
#define FS_MQTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  FS_MQTT_OK = 0,
  FS_MQTT_EINVAL = -1, /* a bad argument: topic, QoS, option */
  FS_MQTT_ENOMEM = -2,
  FS_MQTT_ECONN = -3,  /* the broker could not be reached or refused us */
  FS_MQTT_ETLS = -4,   /* TLS set-up failed (files, keys) */
  FS_MQTT_ELIB = -5,   /* any other libmosquitto error */
};

typedef struct fs_mqtt_error {
  int code;      /* FS_MQTT_E*, 0 when none */
  char msg[256];
} fs_mqtt_error;

/* Options. Strings are copied by fs_mqtt_link_create; NULL means "not used". */
typedef struct fs_mqtt_config {
  const char *host;         /* default "localhost" */
  int port;                 /* default 1883 */
  const char *client_id;    /* NULL: a random one */
  const char *username;
  const char *password;
  const char *cafile;       /* TLS when cafile or capath is set */
  const char *capath;
  const char *certfile;     /* client certificate and key, both or neither */
  const char *keyfile;
  const char *prefix;       /* topic prefix; default "foresight" */
  int protocol;             /* 5 (default), 4 (MQTT 3.1.1) or 3 (3.1) */
  int keepalive_s;          /* default 30 */
  int reconnect_min_s;      /* first delay after a loss; default 1 */
  int reconnect_max_s;      /* backoff ceiling; default 60 */
  size_t queue_max;         /* QoS >= 1 messages held at most; default 1000 */
  size_t retained_max;      /* retained topics cached at most; default 10000 */
  size_t max_inbound_bytes; /* larger inbound payloads are dropped; default 65536 */
} fs_mqtt_config;

/* Fills *c with the defaults above. */
void fs_mqtt_config_init(fs_mqtt_config *c);

typedef enum fs_mqtt_event_kind {
  FS_MQTT_EV_CONNECTED = 0, /* a session is up (after the first connect or a reconnect) */
  FS_MQTT_EV_DISCONNECTED,  /* the connection was lost; reconnects follow */
  FS_MQTT_EV_REFUSED,       /* the broker refused the connection: reason (CONNACK) */
  FS_MQTT_EV_DENIED,        /* the broker refused a publish: reason (PUBACK >= 0x80) */
  FS_MQTT_EV_SUB_DENIED,    /* the broker refused a subscription: reason (SUBACK) */
  FS_MQTT_EV_DROPPED,       /* the queue was full: the oldest waiting message dropped */
  FS_MQTT_EV_OVERSIZE,      /* an inbound message over max_inbound_bytes was dropped */
} fs_mqtt_event_kind;

typedef struct fs_mqtt_event {
  fs_mqtt_event_kind kind;
  int reason;        /* MQTT reason code (v5) or CONNACK code, or libmosquitto's rc */
  const char *topic; /* the message's or subscription's topic, or NULL */
  const char *text;  /* English, e.g. "Not authorized"; never NULL */
} fs_mqtt_event;     /* valid during the callback only */

typedef struct fs_mqtt_callbacks {
  /* An inbound message on a subscribed pattern; topic and payload valid during the
   * call only. payload is not NUL-terminated. May be NULL. */
  void (*on_message)(void *user, const char *topic, const void *payload, size_t len);
  /* Connection changes and refusals, see fs_mqtt_event_kind. May be NULL. */
  void (*on_event)(void *user, const fs_mqtt_event *ev);
} fs_mqtt_callbacks;

typedef struct fs_mqtt_stats {
  int connected;          /* 1 while a session is up */
  uint64_t connects;      /* sessions established */
  uint64_t published;     /* messages handed to the broker (each once) */
  uint64_t acked;         /* queued messages the broker acknowledged */
  uint64_t denied;        /* publishes the broker refused (reason >= 0x80) */
  uint64_t dropped;       /* queued messages dropped because the queue was full */
  uint64_t dropped_qos0;  /* QoS 0 messages not sent because the broker was away */
  uint64_t received;      /* inbound messages given to on_message */
  uint64_t oversize;      /* inbound messages dropped for their size */
  size_t queued;          /* QoS >= 1 messages waiting or in flight now */
  size_t retained;        /* retained topics cached now */
} fs_mqtt_stats;

typedef struct fs_mqtt_link fs_mqtt_link;

/* Creates a link and starts connecting in the background: returns once the network
 * thread runs, before the broker answered (a broker that is away now is retried).
 * cb (copied) and user are given to every callback. NULL and err on bad options
 * (unreadable TLS files, a certificate without key) or no memory. */
fs_mqtt_link *fs_mqtt_link_create(const fs_mqtt_config *cfg, const fs_mqtt_callbacks *cb,
                                  void *user, fs_mqtt_error *err);

/* Disconnects, stops the network thread and frees the link; what is still queued is
 * lost (see stats.queued before). NULL is fine. */
void fs_mqtt_link_destroy(fs_mqtt_link *l);

/* Publishes len bytes of payload (copied) on topic (the full topic: see
 * fs_mqtt_link_topic). qos 0, 1 or 2. 0 when sent or queued; FS_MQTT_EINVAL for a bad
 * topic or QoS. See the top of this file for what happens while the broker is away. */
int fs_mqtt_link_publish(fs_mqtt_link *l, const char *topic, const void *payload,
                         size_t len, int qos, int retain, fs_mqtt_error *err);

/* Subscribes to pattern (wildcards allowed) now if connected and after every
 * reconnect. Subscribing twice to one pattern is one subscription. */
int fs_mqtt_link_subscribe(fs_mqtt_link *l, const char *pattern, int qos,
                           fs_mqtt_error *err);

/* Writes prefix "/" rest into buf (size n), e.g. "foresight/web/decision"; returns the
 * length, or FS_MQTT_EINVAL when it does not fit. */
int fs_mqtt_link_topic(const fs_mqtt_link *l, char *buf, size_t n, const char *rest);

/* A snapshot of the counters. */
void fs_mqtt_link_stats(fs_mqtt_link *l, fs_mqtt_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* FS_MQTT_H */
