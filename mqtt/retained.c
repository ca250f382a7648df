/* retained.c -- the last message of each retained topic, to publish again after a
 * reconnect. A chained hash table (FNV-1a over the topic) that doubles its buckets
 * when it holds twice as many topics: a host set of a few hundred VMs with a forecast
 * topic per metric gives thousands of topics, each updated every interval. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_internal.h"

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

void fs__retained_init(fs__retained *r, size_t max) {
  memset(r, 0, sizeof(*r));
  r->max = max;
}

static int grow(fs__retained *r) {
  size_t nb = r->n_buckets == 0 ? 64 : 2 * r->n_buckets;
  fs__ret_entry **b = calloc(nb, sizeof(*b));
  if (b == NULL)
    return -1;
  for (size_t i = 0; i < r->n_buckets; i++) {
    fs__ret_entry *e = r->buckets[i], *next;
    for (; e != NULL; e = next) {
      next = e->next;
      size_t k = hash(e->msg->topic) % nb;
      e->next = b[k];
      b[k] = e;
    }
  }
  free(r->buckets);
  r->buckets = b;
  r->n_buckets = nb;
  return 0;
}

static fs__ret_entry *find(const fs__retained *r, const char *topic) {
  if (r->n_buckets == 0)
    return NULL;
  fs__ret_entry *e = r->buckets[hash(topic) % r->n_buckets];
  while (e != NULL && strcmp(e->msg->topic, topic) != 0)
    e = e->next;
  return e;
}

int fs__retained_put(fs__retained *r, fs__msg *m) {
  fs__ret_entry *e = find(r, m->topic);
  if (e != NULL) {
    fs__msg_free(e->msg);
    e->msg = m;
    return 0;
  }
  if (r->n >= r->max) {
    fs__msg_free(m);
    return 1;
  }
  if ((r->n_buckets == 0 || r->n >= 2 * r->n_buckets) && grow(r) != 0) {
    fs__msg_free(m);
    return -1;
  }
  if ((e = malloc(sizeof(*e))) == NULL) {
    fs__msg_free(m);
    return -1;
  }
  size_t k = hash(m->topic) % r->n_buckets;
  e->msg = m;
  e->next = r->buckets[k];
  r->buckets[k] = e;
  r->n++;
  return 0;
}

const fs__msg *fs__retained_get(const fs__retained *r, const char *topic) {
  const fs__ret_entry *e = find(r, topic);
  return e == NULL ? NULL : e->msg;
}

void fs__retained_each(const fs__retained *r, void (*fn)(const fs__msg *m, void *arg),
                       void *arg) {
  for (size_t i = 0; i < r->n_buckets; i++)
    for (const fs__ret_entry *e = r->buckets[i]; e != NULL; e = e->next)
      fn(e->msg, arg);
}

void fs__retained_free(fs__retained *r) {
  for (size_t i = 0; i < r->n_buckets; i++) {
    fs__ret_entry *e = r->buckets[i], *next;
    for (; e != NULL; e = next) {
      next = e->next;
      fs__msg_free(e->msg);
      free(e);
    }
  }
  free(r->buckets);
  fs__retained_init(r, r->max);
}
