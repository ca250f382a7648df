/* virt_sample.c -- rates and gauges from two libvirt domain stats records.
 *
 * A vs_table maps a VM's UUID to the part of its last record that rates need: the
 * time it was taken, the domain id, cpu.time and each device's cumulative counters
 * (names copied, since the caller frees the record after the cycle). The map is a
 * chained hash table that doubles when it holds more than two VMs per bucket.
 *
 * Invariants:
 *   - an entry's gen equals the table's gen iff the VM was updated in this cycle;
 *   - an entry's device arrays are owned by it and replaced as a whole, so a failed
 *     allocation leaves the previous base intact (vs_table_update builds the new arrays
 *     before it frees the old ones).
 * A rate is reported only when both records have the counter, the domain id did not
 * change, the time between them is known (VS_MAX_TIME_ERROR) and no counter went back;
 * otherwise NaN, and the current record becomes the base (one sample skipped after a
 * restart, never a negative rate).
 */
#include "plugins/virt_sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_MAX = 64, MIN_BUCKETS = 64 };

/* What a rate needs from one device of the previous record. */
struct dev_base {
  char *name;
  int have_bytes;
  uint64_t rd_bytes, wr_bytes;
};

/* A device group ("block" or "net") of a record, for totals. */
struct group_base {
  int known;          /* the count was reported and every device has byte counters */
  size_t n;
  struct dev_base *dev;
};

struct vm_entry {
  struct vm_entry *next; /* hash chain */
  char *uuid;
  unsigned gen;
  int dom_id;
  vs_when when;
  int have_cpu;
  uint64_t cpu_ns;
  struct group_base disks, ifaces;
  void *user; /* the caller's, freed with the table's free_user */
};

struct vs_table {
  struct vm_entry **bucket;
  size_t n_buckets; /* a power of two */
  size_t size;
  unsigned gen;
  void (*free_user)(void *user);
};

/* Raw facts of one record beyond what vs_sample shows. */
struct record_raw {
  int have_cpu;
  uint64_t cpu_ns;
  int disks_known, ifaces_known; /* see group_base.known */
};

/* ------------------------------------------------------------------------------------ */
/* Parameters                                                                            */

static const virTypedParameter *param_find(const virTypedParameter *p, int n,
                                           const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(p[i].field, name) == 0)
      return &p[i];
  return NULL;
}

int vs_param_u64(const virTypedParameter *params, int nparams, const char *name,
                 uint64_t *out) {
  const virTypedParameter *p = param_find(params, nparams, name);
  if (p == NULL)
    return 0;
  switch (p->type) {
  case VIR_TYPED_PARAM_INT:
    if (p->value.i < 0)
      return 0;
    *out = (uint64_t)p->value.i;
    return 1;
  case VIR_TYPED_PARAM_UINT:
    *out = p->value.ui;
    return 1;
  case VIR_TYPED_PARAM_LLONG:
    if (p->value.l < 0)
      return 0;
    *out = (uint64_t)p->value.l;
    return 1;
  case VIR_TYPED_PARAM_ULLONG:
    *out = p->value.ul;
    return 1;
  case VIR_TYPED_PARAM_DOUBLE:
    if (!(p->value.d >= 0.0) || p->value.d >= 18446744073709551616.0)
      return 0;
    *out = (uint64_t)p->value.d;
    return 1;
  default:
    return 0;
  }
}

const char *vs_param_string(const virTypedParameter *params, int nparams,
                            const char *name) {
  const virTypedParameter *p = param_find(params, nparams, name);
  return p != NULL && p->type == VIR_TYPED_PARAM_STRING ? p->value.s : NULL;
}

/* The value of "<group>.<i>.<leaf>". */
static int dev_u64(const virTypedParameter *p, int n, const char *group, size_t i,
                   const char *leaf, uint64_t *out) {
  char key[KEY_MAX];
  snprintf(key, sizeof(key), "%s.%zu.%s", group, i, leaf);
  return vs_param_u64(p, n, key, out);
}

static double gauge(const virTypedParameter *p, int n, const char *name) {
  uint64_t v;
  return vs_param_u64(p, n, name, &v) ? (double)v : NAN;
}

/* ------------------------------------------------------------------------------------ */
/* One record                                                                            */

static void sample_init(vs_sample *s) {
  *s = (vs_sample){.state = -1, .cpu_cores = NAN, .mem_kib = NAN, .mem_avail_kib = NAN,
                   .disk_kbps = NAN, .net_kbps = NAN, .vcpus = NAN, .vcpus_max = NAN,
                   .mem_alloc_kib = NAN, .mem_max_kib = NAN};
}

void vs_sample_clear(vs_sample *s) {
  free(s->disks);
  free(s->ifaces);
  sample_init(s);
}

/* Leaf names of a device group: disks count requests, interfaces packets. */
struct group_keys {
  const char *group, *rd_bytes, *wr_bytes, *rd_ops, *wr_ops;
};
static const struct group_keys block_keys = {"block", "rd.bytes", "wr.bytes", "rd.reqs",
                                             "wr.reqs"};
static const struct group_keys net_keys = {"net", "rx.bytes", "tx.bytes", "rx.pkts",
                                           "tx.pkts"};

/* Reads the devices of a group into a new array (*out, *n_out); sets *known when the
 * count is reported and every counted device has a name and byte counters (a device
 * without host-side counters, e.g. user-mode networking, makes the total unknown). */
static int read_group(const virTypedParameter *p, int n, const struct group_keys *k,
                      vs_device **out, size_t *n_out, int *known) {
  char key[KEY_MAX];
  uint64_t count;
  *out = NULL;
  *n_out = 0;
  snprintf(key, sizeof(key), "%s.count", k->group);
  *known = vs_param_u64(p, n, key, &count);
  if (!*known || count == 0)
    return VS_OK;
  if (count > (uint64_t)n) /* each device has a name parameter at least */
    count = (uint64_t)n;
  vs_device *dev = calloc((size_t)count, sizeof(*dev));
  if (dev == NULL)
    return VS_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < (size_t)count; i++) {
    vs_device d = {0};
    snprintf(key, sizeof(key), "%s.%zu.name", k->group, i);
    d.name = vs_param_string(p, n, key);
    d.have_bytes = dev_u64(p, n, k->group, i, k->rd_bytes, &d.rd_bytes) &&
                   dev_u64(p, n, k->group, i, k->wr_bytes, &d.wr_bytes);
    d.have_ops = dev_u64(p, n, k->group, i, k->rd_ops, &d.rd_ops) &&
                 dev_u64(p, n, k->group, i, k->wr_ops, &d.wr_ops);
    if (d.name == NULL || !d.have_bytes)
      *known = 0;
    if (d.name != NULL)
      dev[m++] = d;
  }
  *out = dev;
  *n_out = m;
  return VS_OK;
}

/* Guest memory in use: what the guest has minus what it leaves completely unused. */
static double mem_used(const virTypedParameter *p, int n) {
  uint64_t avail, unused;
  if (!vs_param_u64(p, n, "balloon.available", &avail) ||
      !vs_param_u64(p, n, "balloon.unused", &unused) || unused > avail)
    return NAN;
  return (double)(avail - unused);
}

static int read_record(const virTypedParameter *p, int n, vs_sample *out,
                       struct record_raw *raw) {
  sample_init(out);
  uint64_t state;
  if (vs_param_u64(p, n, "state.state", &state) && state <= 64)
    out->state = (int)state;
  raw->have_cpu = vs_param_u64(p, n, "cpu.time", &raw->cpu_ns);
  out->mem_kib = mem_used(p, n);
  out->mem_avail_kib = gauge(p, n, "balloon.usable");
  out->vcpus = gauge(p, n, "vcpu.current");
  out->vcpus_max = gauge(p, n, "vcpu.maximum");
  out->mem_alloc_kib = gauge(p, n, "balloon.current");
  out->mem_max_kib = gauge(p, n, "balloon.maximum");
  if (read_group(p, n, &block_keys, &out->disks, &out->n_disks, &raw->disks_known) != 0 ||
      read_group(p, n, &net_keys, &out->ifaces, &out->n_ifaces, &raw->ifaces_known) != 0) {
    vs_sample_clear(out);
    return VS_ENOMEM;
  }
  return VS_OK;
}

int vs_sample_read(const virTypedParameter *params, int nparams, vs_sample *out) {
  struct record_raw raw;
  return read_record(params, nparams, out, &raw);
}

/* ------------------------------------------------------------------------------------ */
/* Rates                                                                                 */

static const struct dev_base *base_find(const struct group_base *g, const char *name) {
  for (size_t i = 0; i < g->n; i++)
    if (strcmp(g->dev[i].name, name) == 0)
      return &g->dev[i];
  return NULL;
}

/* KB/s of a device group between the base and the current record, or NaN when a device
 * is new, lacks counters, or one went back (a replaced device, a restarted VM). */
static double group_kbps(const struct group_base *base, const vs_device *dev, size_t n,
                         int known, double dt_s) {
  if (!known || !base->known)
    return NAN;
  double bytes = 0.0;
  for (size_t i = 0; i < n; i++) {
    const struct dev_base *b = base_find(base, dev[i].name);
    if (b == NULL || !b->have_bytes || dev[i].rd_bytes < b->rd_bytes ||
        dev[i].wr_bytes < b->wr_bytes)
      return NAN;
    bytes += (double)(dev[i].rd_bytes - b->rd_bytes) + (double)(dev[i].wr_bytes - b->wr_bytes);
  }
  return bytes / dt_s / 1024.0;
}

/* Whether the time between two records is known well enough for a rate. */
static int interval_known(vs_when a, vs_when b) {
  if (b.t_ns <= a.t_ns)
    return 0;
  double dt = (double)(b.t_ns - a.t_ns);
  return (double)a.err_ns + (double)b.err_ns <= VS_MAX_TIME_ERROR * dt;
}

static void set_rates(const struct vm_entry *e, int dom_id, vs_when when,
                      const struct record_raw *raw, vs_sample *s) {
  if (e == NULL || !interval_known(e->when, when) ||
      (dom_id >= 0 && e->dom_id >= 0 && dom_id != e->dom_id))
    return;
  uint64_t dt_ns = when.t_ns - e->when.t_ns;
  if (raw->have_cpu && e->have_cpu && raw->cpu_ns >= e->cpu_ns)
    s->cpu_cores = (double)(raw->cpu_ns - e->cpu_ns) / (double)dt_ns;
  double dt_s = (double)dt_ns / 1e9;
  s->disk_kbps = group_kbps(&e->disks, s->disks, s->n_disks, raw->disks_known, dt_s);
  s->net_kbps = group_kbps(&e->ifaces, s->ifaces, s->n_ifaces, raw->ifaces_known, dt_s);
}

/* ------------------------------------------------------------------------------------ */
/* Bases                                                                                 */

static void group_free(struct group_base *g) {
  for (size_t i = 0; i < g->n; i++)
    free(g->dev[i].name);
  free(g->dev);
  *g = (struct group_base){0};
}

/* Copies a sample's devices into a new base; on VS_ENOMEM *g is empty. */
static int group_copy(struct group_base *g, const vs_device *dev, size_t n, int known) {
  *g = (struct group_base){.known = known};
  if (n == 0)
    return VS_OK;
  g->dev = calloc(n, sizeof(*g->dev));
  if (g->dev == NULL)
    return VS_ENOMEM;
  for (size_t i = 0; i < n; i++, g->n++) {
    g->dev[i].name = strdup(dev[i].name);
    if (g->dev[i].name == NULL) {
      group_free(g);
      return VS_ENOMEM;
    }
    g->dev[i].have_bytes = dev[i].have_bytes;
    g->dev[i].rd_bytes = dev[i].rd_bytes;
    g->dev[i].wr_bytes = dev[i].wr_bytes;
  }
  return VS_OK;
}

static void entry_free(const vs_table *t, struct vm_entry *e) {
  if (e->user != NULL && t->free_user != NULL)
    t->free_user(e->user);
  group_free(&e->disks);
  group_free(&e->ifaces);
  free(e->uuid);
  free(e);
}

/* Makes the current record the entry's base; on VS_ENOMEM the entry is unchanged. */
static int entry_rebase(struct vm_entry *e, int dom_id, vs_when when,
                        const struct record_raw *raw, const vs_sample *s) {
  struct group_base disks, ifaces;
  if (group_copy(&disks, s->disks, s->n_disks, raw->disks_known) != 0)
    return VS_ENOMEM;
  if (group_copy(&ifaces, s->ifaces, s->n_ifaces, raw->ifaces_known) != 0) {
    group_free(&disks);
    return VS_ENOMEM;
  }
  group_free(&e->disks);
  group_free(&e->ifaces);
  e->disks = disks;
  e->ifaces = ifaces;
  e->dom_id = dom_id;
  e->when = when;
  e->have_cpu = raw->have_cpu;
  e->cpu_ns = raw->cpu_ns;
  return VS_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Table                                                                                 */

static size_t hash(const char *s) { /* FNV-1a */
  size_t h = (size_t)2166136261u;
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * (size_t)16777619u;
  return h;
}

vs_table *vs_table_create(void (*free_user)(void *user)) {
  vs_table *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->free_user = free_user;
  t->bucket = calloc(MIN_BUCKETS, sizeof(*t->bucket));
  if (t->bucket == NULL) {
    free(t);
    return NULL;
  }
  t->n_buckets = MIN_BUCKETS;
  return t;
}

void vs_table_destroy(vs_table *t) {
  if (t == NULL)
    return;
  for (size_t b = 0; b < t->n_buckets; b++)
    for (struct vm_entry *e = t->bucket[b], *next; e != NULL; e = next) {
      next = e->next;
      entry_free(t, e);
    }
  free(t->bucket);
  free(t);
}

void vs_table_begin(vs_table *t) { t->gen++; }

size_t vs_table_size(const vs_table *t) { return t->size; }

static struct vm_entry *table_find(const vs_table *t, const char *uuid) {
  for (struct vm_entry *e = t->bucket[hash(uuid) & (t->n_buckets - 1)]; e != NULL; e = e->next)
    if (strcmp(e->uuid, uuid) == 0)
      return e;
  return NULL;
}

/* Doubles the bucket array; keeps the old one if out of memory (chains grow longer). */
static void table_grow(vs_table *t) {
  size_t n = t->n_buckets * 2;
  struct vm_entry **b = calloc(n, sizeof(*b));
  if (b == NULL)
    return;
  for (size_t i = 0; i < t->n_buckets; i++)
    for (struct vm_entry *e = t->bucket[i], *next; e != NULL; e = next) {
      next = e->next;
      size_t j = hash(e->uuid) & (n - 1);
      e->next = b[j];
      b[j] = e;
    }
  free(t->bucket);
  t->bucket = b;
  t->n_buckets = n;
}

static struct vm_entry *table_add(vs_table *t, const char *uuid) {
  struct vm_entry *e = calloc(1, sizeof(*e));
  if (e == NULL || (e->uuid = strdup(uuid)) == NULL) {
    free(e);
    return NULL;
  }
  if (t->size >= 2 * t->n_buckets)
    table_grow(t);
  size_t b = hash(uuid) & (t->n_buckets - 1);
  e->next = t->bucket[b];
  t->bucket[b] = e;
  t->size++;
  return e;
}

static void table_remove(vs_table *t, struct vm_entry *victim) {
  struct vm_entry **pp = &t->bucket[hash(victim->uuid) & (t->n_buckets - 1)];
  while (*pp != victim)
    pp = &(*pp)->next;
  *pp = victim->next;
  entry_free(t, victim);
  t->size--;
}

int vs_table_update(vs_table *t, const char *uuid, int dom_id, vs_when when,
                    const virTypedParameter *params, int nparams, vs_sample *out) {
  struct record_raw raw;
  if (read_record(params, nparams, out, &raw) != 0)
    return VS_ENOMEM;
  struct vm_entry *e = table_find(t, uuid);
  set_rates(e, dom_id, when, &raw, out);
  int added = e == NULL;
  if (added && (e = table_add(t, uuid)) == NULL) {
    vs_sample_clear(out);
    return VS_ENOMEM;
  }
  if (entry_rebase(e, dom_id, when, &raw, out) != 0) {
    if (added)
      table_remove(t, e);
    vs_sample_clear(out);
    return VS_ENOMEM;
  }
  e->gen = t->gen;
  return VS_OK;
}

size_t vs_table_sweep(vs_table *t) {
  size_t gone = 0;
  for (size_t b = 0; b < t->n_buckets; b++)
    for (struct vm_entry **pp = &t->bucket[b]; *pp != NULL;) {
      struct vm_entry *e = *pp;
      if (e->gen == t->gen) {
        pp = &e->next;
        continue;
      }
      *pp = e->next;
      entry_free(t, e);
      t->size--;
      gone++;
    }
  return gone;
}

void **vs_table_user(vs_table *t, const char *uuid) {
  struct vm_entry *e = table_find(t, uuid);
  return e != NULL ? &e->user : NULL;
}

void vs_table_foreach(vs_table *t, void (*fn)(const char *uuid, void **user, void *ctx),
                      void *ctx) {
  for (size_t b = 0; b < t->n_buckets; b++)
    for (struct vm_entry *e = t->bucket[b]; e != NULL; e = e->next)
      fn(e->uuid, &e->user, ctx);
}
