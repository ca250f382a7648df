/* queue.c -- outbound messages and the bounded, ordered queue of QoS >= 1 messages.
 *
 * The queue holds what the broker has not acknowledged yet, oldest first. Invariant:
 * only the head may be in flight. When full, the oldest message that is not in flight
 * goes: after a long outage the newest decisions are the ones worth delivering, and a
 * message already handed to libmosquitto cannot be taken back from it. */
#include <stdlib.h>
#include <string.h>

#include "mqtt_internal.h"

fs__msg *fs__msg_new(const char *topic, const void *payload, size_t len, int qos,
                     int retain) {
  fs__msg *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->topic = strdup(topic);
  m->payload = malloc(len > 0 ? len : 1);
  if (m->topic == NULL || m->payload == NULL) {
    fs__msg_free(m);
    return NULL;
  }
  if (len > 0)
    memcpy(m->payload, payload, len);
  m->len = len;
  m->qos = qos;
  m->retain = retain;
  return m;
}

void fs__msg_free(fs__msg *m) {
  if (m == NULL)
    return;
  free(m->topic);
  free(m->payload);
  free(m);
}

void fs__outq_init(fs__outq *q, size_t max) {
  memset(q, 0, sizeof(*q));
  q->max = max < 1 ? 1 : max;
}

/* Unlinks and frees the oldest message not in flight; 0 when there is none. */
static int drop_oldest_waiting(fs__outq *q) {
  fs__msg *prev = NULL, *m = q->head;
  while (m != NULL && m->inflight) {
    prev = m;
    m = m->next;
  }
  if (m == NULL)
    return 0;
  if (prev == NULL)
    q->head = m->next;
  else
    prev->next = m->next;
  if (q->tail == m)
    q->tail = prev;
  q->n--;
  fs__msg_free(m);
  return 1;
}

int fs__outq_push(fs__outq *q, fs__msg *m) {
  int dropped = 0;
  if (q->n >= q->max) {
    if (!drop_oldest_waiting(q)) {
      fs__msg_free(m); /* the one slot is in flight: the new message is the waiting one */
      return 1;
    }
    dropped = 1;
  }
  m->next = NULL;
  m->inflight = 0;
  if (q->tail == NULL)
    q->head = m;
  else
    q->tail->next = m;
  q->tail = m;
  q->n++;
  return dropped;
}

void fs__outq_pop(fs__outq *q) {
  fs__msg *m = q->head;
  if (m == NULL)
    return;
  q->head = m->next;
  if (q->head == NULL)
    q->tail = NULL;
  q->n--;
  fs__msg_free(m);
}

void fs__outq_clear(fs__outq *q) {
  while (q->head != NULL)
    fs__outq_pop(q);
}
