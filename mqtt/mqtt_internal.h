/* mqtt_internal.h -- inside libfsmqtt only: the link's two containers, kept apart from
 * libmosquitto so their rules (order, bound, last value per topic) are tested alone.
 * Neither locks: the link calls them with its lock held. */
#ifndef FS_MQTT_INTERNAL_H
#define FS_MQTT_INTERNAL_H

#include <stddef.h>

/* One outbound message, owning copies of topic and payload. */
typedef struct fs__msg {
  char *topic;
  void *payload;
  size_t len;
  int qos;
  int retain;
  int mid;      /* libmosquitto's message id once handed over */
  int inflight; /* handed to libmosquitto, not yet acknowledged */
  struct fs__msg *next;
} fs__msg;

/* Copies topic and payload; NULL when out of memory. */
fs__msg *fs__msg_new(const char *topic, const void *payload, size_t len, int qos,
                     int retain);
void fs__msg_free(fs__msg *m); /* NULL is fine */

/* The ordered queue of QoS >= 1 messages: head first out. Only the head is ever in
 * flight (the link sends the next once the head is acknowledged), so order survives a
 * reconnect whatever libmosquitto resends. */
typedef struct fs__outq {
  fs__msg *head, *tail;
  size_t n, max; /* max >= 1 */
} fs__outq;

void fs__outq_init(fs__outq *q, size_t max);
/* Appends m (taking ownership). When the queue already holds max messages, the oldest
 * one not in flight is dropped (freed) to make room -- or m itself, when the only
 * message is in flight and max is 1. Returns how many messages were dropped (0 or 1). */
int fs__outq_push(fs__outq *q, fs__msg *m);
/* Removes and frees the head; nothing when empty. */
void fs__outq_pop(fs__outq *q);
void fs__outq_clear(fs__outq *q);

/* The last payload of each retained topic. */
typedef struct fs__ret_entry {
  fs__msg *msg;
  struct fs__ret_entry *next;
} fs__ret_entry;

typedef struct fs__retained {
  fs__ret_entry **buckets;
  size_t n_buckets, n, max;
} fs__retained;

void fs__retained_init(fs__retained *r, size_t max);
/* Stores m (taking ownership) as its topic's last message, freeing the one before.
 * Returns 0, 1 when a new topic would exceed max (m is freed, nothing stored), or -1
 * when out of memory (m is freed). */
int fs__retained_put(fs__retained *r, fs__msg *m);
/* The message of topic, or NULL. */
const fs__msg *fs__retained_get(const fs__retained *r, const char *topic);
/* Calls fn for every cached message, in no particular order. */
void fs__retained_each(const fs__retained *r, void (*fn)(const fs__msg *m, void *arg),
                       void *arg);
void fs__retained_free(fs__retained *r);

#endif /* FS_MQTT_INTERNAL_H */
