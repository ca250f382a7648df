/* foresight_virt.c -- collectd read plugin: each running VM's usage, allocation and
 * host set through libvirt, named as docs/contracts.md "Values inside collectd" says
 * (host = VM name; fs_usage cpu/mem/mem_avail/disk/net; fs_alloc vcpus/vcpus_max/mem/
 * mem_max/cpu_quota/disk_bps/net_kbps; per device disk_octets, disk_ops, if_octets;
 * meta foresight:set on every list). Glue only: uses plugins/virt_sample.h (rates),
 * plugins/virt_domain.h (per-domain calls), plugins/virt_call.h (the bulk call with a
 * deadline), libvirt and collectd's API.
 *
 *   <Plugin foresight_virt>
 *     Connection "qemu:///system"   # libvirt URI (default qemu:///system)
 *     RefreshInterval 300           # s between asking a VM's host set and limits again
 *     BalloonPeriod 10              # s, guest memory stats period set once per VM run;
 *                                   # 0: leave it (and connect read-only);
 *                                   # default: the plugin's interval
 *     StatsTimeout 5                # s to wait for the bulk call; default: half the
 *                                   # plugin's interval
 *     <VM "web1">
 *       HostSet "web"               # overrides the VM's <foresight:vm set=".."/>
 *     </VM>
 *   </Plugin>
 *
 * Two read callbacks, which collectd runs on separate read threads (ReadThreads >= 2,
 * collectd's default is 5):
 *   - virt_read, every interval: one virConnectGetAllDomainStats call (NOWAIT: a busy
 *     VM gives a partial record at once instead of stalling the others), rates, and the
 *     dispatch; the host set of a VM seen for the first time is read here (metadata
 *     never waits on the VM). The call runs on a thread of its own (virt_call.h): a VM
 *     whose QEMU stopped answering holds up the first call after it for as long as it
 *     hangs, so after StatsTimeout that cycle is skipped and the next call, which skips
 *     the stuck VM, serves the others;
 *   - virt_refresh: the calls that may wait up to 30 s on a stuck VM (block I/O tune,
 *     balloon period) and the rare re-reads (host set, limits), for the VMs that are
 *     due. It never holds the lock while it talks to libvirt, so a stuck VM delays only
 *     its own limits.
 * A failed bulk call closes the connection when libvirt says it is dead; the next cycle
 * reconnects. Each failure is logged once and its recovery once (c_complain_once).
 */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "plugins/virt_call.h"
#include "plugins/virt_domain.h"
#include "plugins/virt_sample.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PLUGIN_NAME "foresight_virt"

enum { SET_MAX = DATA_MAX_NAME_LEN };

struct vm_override {
  char *name; /* VM name */
  char *set;  /* its host set */
};

/* What the per-domain calls said about one VM; the vs_table's user slot. All fields are
 * guarded by g.lock. */
struct vm_info {
  char name[DATA_MAX_NAME_LEN];
  int dom_id;
  char set[SET_MAX]; /* "" when the VM has none */
  int set_from_config;
  cdtime_t set_at;    /* when the metadata was read */
  cdtime_t limits_at; /* when the limits were asked for; 0: never */
  vd_limits limits;
  int period_dom_id;  /* domain id the balloon period was tried for; -1: none */
  char **disks, **ifaces; /* target names for the limit calls, from the last record */
  size_t n_disks, n_ifaces;
  double vcpus;
  c_complain_t set_complaint, limits_complaint, period_complaint, noset_complaint;
};

static struct {
  /* config, written before init, read-only afterwards */
  char *uri;
  cdtime_t refresh;
  int balloon_period_s; /* -1: the plugin's interval */
  double stats_timeout_s; /* <= 0: half the plugin's interval */
  struct vm_override *overrides;
  size_t n_overrides;

  pthread_mutex_t lock;
  virConnectPtr conn; /* written by virt_read only, under lock; refresh takes a ref */
  vs_table *vms;      /* guarded by lock; users are struct vm_info */

  /* read thread only */
  int nowait; /* the driver accepts VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT */
  vc_caller *caller; /* the bulk call's thread and its abandoned predecessors */
  unsigned bulk_groups; /* VD_GROUP_* seen in a bulk record since connecting */
  c_complain_t conn_complaint, stats_complaint, slow_complaint, mem_complaint;
  c_complain_t refresh_mem_complaint; /* refresh thread only */
} g = {.refresh = TIME_T_TO_CDTIME_T_STATIC(300),
       .balloon_period_s = -1,
       .lock = PTHREAD_MUTEX_INITIALIZER,
       .nowait = 1};

/* ---------------------------------------------------------------- helpers */

/* Copies src into dst[size], truncating (collectd's names are fixed-size fields). */
static void copy_str(char *dst, const char *src, size_t size) {
  snprintf(dst, size, "%s", src != NULL ? src : "");
}

static const char *libvirt_error(void) {
  const char *m = virGetLastErrorMessage();
  return m != NULL ? m : "unknown libvirt error";
}

/* libvirt's default handler prints every error on stderr; we log them ourselves. */
static void ignore_libvirt_error(void *data, virErrorPtr err) {
  (void)data;
  (void)err;
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *override_set(const char *vm) {
  for (size_t i = 0; i < g.n_overrides; i++)
    if (strcmp(g.overrides[i].name, vm) == 0)
      return g.overrides[i].set;
  return NULL;
}

/* Copies n names (name(src, i) gives the i-th) into a new array; NULL with *n_out = 0
 * if there are none or memory ran out (the limits of those devices are then not asked
 * for). */
static char **names_dup(const void *src, size_t n, const char *(*name)(const void *, size_t),
                        size_t *n_out) {
  *n_out = 0;
  char **names = n > 0 ? calloc(n, sizeof(*names)) : NULL;
  if (names == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if ((names[i] = strdup(name(src, i))) == NULL) {
      vd_names_free(names, i);
      return NULL;
    }
  *n_out = n;
  return names;
}

static const char *device_name(const void *devs, size_t i) {
  return ((const vs_device *)devs)[i].name;
}
static const char *string_at(const void *strings, size_t i) {
  return ((char *const *)strings)[i];
}

static int names_equal(char *const *names, size_t n, const vs_device *dev, size_t n_dev) {
  if (n != n_dev)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], dev[i].name) != 0)
      return 0;
  return 1;
}

static void vm_info_free(void *p) {
  struct vm_info *vi = p;
  vd_names_free(vi->disks, vi->n_disks);
  vd_names_free(vi->ifaces, vi->n_ifaces);
  free(vi);
}

/* ---------------------------------------------------------------- dispatch */

struct submit_ctx {
  const char *host;
  meta_data_t *meta; /* NULL: no host set */
  cdtime_t time;
};

static void submit(const struct submit_ctx *c, const char *plugin_instance,
                   const char *type, const char *type_instance, value_t *values,
                   size_t n) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = values;
  vl.values_len = n;
  vl.time = c->time;
  vl.meta = c->meta; /* collectd copies it */
  copy_str(vl.host, c->host, sizeof(vl.host));
  copy_str(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  copy_str(vl.plugin_instance, plugin_instance, sizeof(vl.plugin_instance));
  copy_str(vl.type, type, sizeof(vl.type));
  copy_str(vl.type_instance, type_instance, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
}

/* A gauge, unless unknown: NaN is never dispatched, so a missing guest stat leaves a
 * gap rather than a false 0. */
static void submit_gauge(const struct submit_ctx *c, const char *type,
                         const char *type_instance, double v) {
  if (isnan(v))
    return;
  value_t value = {.gauge = v};
  submit(c, "", type, type_instance, &value, 1);
}

static void submit_pair(const struct submit_ctx *c, const char *device, const char *type,
                        uint64_t a, uint64_t b) {
  value_t values[2] = {{.derive = (derive_t)a}, {.derive = (derive_t)b}};
  submit(c, device, type, "", values, 2);
}

static void submit_vm(const struct vm_info *vi, const vs_sample *s, cdtime_t now) {
  struct submit_ctx c = {.host = vi->name, .time = now};
  if (vi->set[0] != '\0') {
    c.meta = meta_data_create();
    if (c.meta == NULL || meta_data_add_string(c.meta, "foresight:set", vi->set) != 0) {
      c_complain_once(LOG_ERR, &g.mem_complaint, PLUGIN_NAME " plugin: out of memory");
      meta_data_destroy(c.meta);
      return;
    }
  }
  submit_gauge(&c, "fs_usage", "cpu", s->cpu_cores);
  submit_gauge(&c, "fs_usage", "mem", s->mem_kib);
  submit_gauge(&c, "fs_usage", "mem_avail", s->mem_avail_kib);
  submit_gauge(&c, "fs_usage", "disk", s->disk_kbps);
  submit_gauge(&c, "fs_usage", "net", s->net_kbps);
  submit_gauge(&c, "fs_alloc", "vcpus", s->vcpus);
  submit_gauge(&c, "fs_alloc", "vcpus_max", s->vcpus_max);
  submit_gauge(&c, "fs_alloc", "mem", s->mem_alloc_kib);
  submit_gauge(&c, "fs_alloc", "mem_max", s->mem_max_kib);
  submit_gauge(&c, "fs_alloc", "cpu_quota", vi->limits.cpu_quota);
  submit_gauge(&c, "fs_alloc", "disk_bps", vi->limits.disk_bps);
  submit_gauge(&c, "fs_alloc", "net_kbps", vi->limits.net_kbps);
  for (size_t i = 0; i < s->n_disks; i++) {
    const vs_device *d = &s->disks[i];
    if (d->have_bytes)
      submit_pair(&c, d->name, "disk_octets", d->rd_bytes, d->wr_bytes);
    if (d->have_ops)
      submit_pair(&c, d->name, "disk_ops", d->rd_ops, d->wr_ops);
  }
  for (size_t i = 0; i < s->n_ifaces; i++)
    if (s->ifaces[i].have_bytes)
      submit_pair(&c, s->ifaces[i].name, "if_octets", s->ifaces[i].rd_bytes,
                  s->ifaces[i].wr_bytes);
  meta_data_destroy(c.meta);
}

/* ---------------------------------------------------------------- host set */

/* Stores the answer of vd_fetch_set (status) for vi; logs a failure or a VM without a
 * set once, and the recovery once. Must hold g.lock. */
static void store_set_locked(struct vm_info *vi, int status, const char *set,
                             const vd_error *err, cdtime_t now) {
  vi->set_at = now;
  if (status < 0) { /* keep the set we had */
    c_complain_once(LOG_WARNING, &vi->set_complaint,
                    PLUGIN_NAME " plugin: VM %s: host set unreadable: %s", vi->name,
                    err->msg);
    return;
  }
  c_release(LOG_INFO, &vi->set_complaint,
            PLUGIN_NAME " plugin: VM %s: host set readable again", vi->name);
  copy_str(vi->set, status == 1 ? set : "", sizeof(vi->set));
  if (status == 0)
    c_complain_once(LOG_INFO, &vi->noset_complaint,
                    PLUGIN_NAME " plugin: VM %s has no host set (no <" VD_METADATA_PREFIX
                                ":vm set=\"...\"/> metadata in " VD_METADATA_NS
                                ", no <VM> block); its values carry no foresight:set",
                    vi->name);
  else
    c_release(LOG_INFO, &vi->noset_complaint,
              PLUGIN_NAME " plugin: VM %s: host set \"%s\"", vi->name, vi->set);
}

/* ---------------------------------------------------------------- read cycle */

/* Opens the connection if there is none; 0 when connected. */
static int ensure_connected(void) {
  if (g.conn != NULL)
    return 0;
  virConnectPtr c = g.balloon_period_s > 0 ? virConnectOpen(g.uri)
                                           : virConnectOpenReadOnly(g.uri);
  if (c == NULL) {
    c_complain_once(LOG_ERR, &g.conn_complaint,
                    PLUGIN_NAME " plugin: cannot connect to %s: %s", g.uri,
                    libvirt_error());
    return -1;
  }
  c_release(LOG_NOTICE, &g.conn_complaint, PLUGIN_NAME " plugin: connected to %s", g.uri);
  g.bulk_groups = 0;
  pthread_mutex_lock(&g.lock);
  g.conn = c;
  pthread_mutex_unlock(&g.lock);
  return 0;
}

static void disconnect(void) {
  pthread_mutex_lock(&g.lock);
  virConnectPtr c = g.conn;
  g.conn = NULL;
  pthread_mutex_unlock(&g.lock);
  if (c != NULL)
    virConnectClose(c); /* the refresh callback may still hold a reference */
}

/* The bulk call; returns the number of records or -1 (logged). */
static int all_domain_stats(virDomainStatsRecordPtr **recs) {
  const unsigned stats = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
                         VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU |
                         VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
  const unsigned active = VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
  vc_result r;
  int n = vc_get_all_stats(g.caller, g.conn, stats,
                           active | (g.nowait ? VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT : 0),
                           g.stats_timeout_s, &r);
  if (n == VC_EFAIL && g.nowait && r.code == VIR_ERR_INVALID_ARG) {
    /* an older driver: a stuck VM may then delay the cycle, nothing better to do */
    INFO(PLUGIN_NAME " plugin: %s does not take NOWAIT (%s); asking without it", g.uri,
         r.msg);
    g.nowait = 0;
    n = vc_get_all_stats(g.caller, g.conn, stats, active, g.stats_timeout_s, &r);
  }
  if (n == VC_ETIMEOUT || n == VC_EBUSY) {
    c_complain_once(LOG_WARNING, &g.slow_complaint,
                    PLUGIN_NAME " plugin: domain stats from %s: %s (a VM not answering?); "
                                "cycles are skipped until a call returns in time",
                    g.uri, r.msg);
    return -1;
  }
  if (n < 0) {
    c_complain_once(LOG_ERR, &g.stats_complaint,
                    PLUGIN_NAME " plugin: domain stats from %s failed: %s", g.uri, r.msg);
    if (n == VC_EFAIL && virConnectIsAlive(g.conn) != 1)
      disconnect();
    return -1;
  }
  c_release(LOG_NOTICE, &g.slow_complaint,
            PLUGIN_NAME " plugin: domain stats from %s return in time again", g.uri);
  c_release(LOG_NOTICE, &g.stats_complaint,
            PLUGIN_NAME " plugin: domain stats from %s work again", g.uri);
  *recs = r.recs;
  return n;
}

/* The VM's info, created (with its host set) the first time the VM is seen. Must hold
 * g.lock; NULL if out of memory. */
static struct vm_info *vm_info_get_locked(virDomainPtr dom, const char *uuid, cdtime_t now) {
  void **slot = vs_table_user(g.vms, uuid);
  if (slot == NULL)
    return NULL;
  if (*slot != NULL)
    return *slot;
  struct vm_info *vi = calloc(1, sizeof(*vi));
  if (vi == NULL)
    return NULL;
  copy_str(vi->name, virDomainGetName(dom), sizeof(vi->name));
  vi->period_dom_id = -1;
  vi->limits = (vd_limits){.cpu_quota = NAN, .disk_bps = NAN, .net_kbps = NAN};
  const char *set = override_set(vi->name);
  if (set != NULL) {
    copy_str(vi->set, set, sizeof(vi->set));
    vi->set_from_config = 1;
  } else {
    char buf[SET_MAX];
    vd_error err = {0};
    int status = vd_fetch_set(dom, buf, sizeof(buf), &err);
    store_set_locked(vi, status, buf, &err, now);
  }
  *slot = vi;
  return vi;
}

/* Remembers what the refresh callback needs from this record. Must hold g.lock. */
static void vm_info_note_locked(struct vm_info *vi, int dom_id, const vs_sample *s) {
  vi->dom_id = dom_id;
  vi->vcpus = s->vcpus;
  if (!names_equal(vi->disks, vi->n_disks, s->disks, s->n_disks)) {
    vd_names_free(vi->disks, vi->n_disks);
    vi->disks = names_dup(s->disks, s->n_disks, device_name, &vi->n_disks);
  }
  if (!names_equal(vi->ifaces, vi->n_ifaces, s->ifaces, s->n_ifaces)) {
    vd_names_free(vi->ifaces, vi->n_ifaces);
    vi->ifaces = names_dup(s->ifaces, s->n_ifaces, device_name, &vi->n_ifaces);
  }
}

static void read_record_locked(virDomainStatsRecordPtr rec, cdtime_t now, vs_when when) {
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(rec->dom, uuid) < 0)
    return;
  unsigned id = virDomainGetID(rec->dom);
  int dom_id = id == (unsigned)-1 ? -1 : (int)id;
  virTypedParameter *params = rec->params, *filled = NULL;
  int n = rec->nparams, n_filled = 0;
  vd_error err = {0};
  /* only the groups this driver never reported in bulk: see vd_fill_record */
  unsigned missing = VD_GROUP_ALL & ~g.bulk_groups;
  if (missing != 0 &&
      vd_fill_record(rec->dom, params, n, missing, &filled, &n_filled, &err) == 1) {
    params = filled;
    n = n_filled;
  }
  vs_sample s;
  struct vm_info *vi = NULL;
  if (vs_table_update(g.vms, uuid, dom_id, when, params, n, &s) != 0 ||
      (vi = vm_info_get_locked(rec->dom, uuid, now)) == NULL) {
    c_complain_once(LOG_ERR, &g.mem_complaint, PLUGIN_NAME " plugin: out of memory");
    vs_sample_clear(&s);
    if (filled != NULL)
      virTypedParamsFree(filled, n_filled);
    return;
  }
  vm_info_note_locked(vi, dom_id, &s);
  submit_vm(vi, &s, now);
  vs_sample_clear(&s);
  if (filled != NULL)
    virTypedParamsFree(filled, n_filled);
}

static int virt_read(user_data_t *ud) {
  (void)ud;
  /* Failures return 0: a non-zero status makes collectd back off up to a day, while a
   * restarted libvirtd should be seen again within one interval. */
  if (ensure_connected() != 0)
    return 0;
  virDomainStatsRecordPtr *recs = NULL;
  uint64_t t0 = monotonic_ns();
  int n = all_domain_stats(&recs);
  uint64_t t1 = monotonic_ns();
  if (n < 0)
    return 0;
  /* libvirt does not stamp records: each was taken during the call */
  vs_when when = {.t_ns = t0 + (t1 - t0) / 2, .err_ns = (t1 - t0) / 2};
  cdtime_t now = cdtime();
  for (int i = 0; i < n; i++)
    g.bulk_groups |= vd_record_groups(recs[i]->params, recs[i]->nparams);
  pthread_mutex_lock(&g.lock);
  vs_table_begin(g.vms);
  for (int i = 0; i < n; i++)
    read_record_locked(recs[i], now, when);
  vs_table_sweep(g.vms); /* VMs gone since the last cycle: their state is freed */
  pthread_mutex_unlock(&g.lock);
  virDomainStatsRecordListFree(recs);
  return 0;
}

/* ---------------------------------------------------------------- refresh */

/* One VM's due per-domain calls, copied out of its vm_info so they run unlocked. */
struct refresh_job {
  char uuid[VIR_UUID_STRING_BUFLEN];
  int dom_id;
  int want_set, want_limits, want_period;
  char **disks, **ifaces;
  size_t n_disks, n_ifaces;
  double vcpus;
  /* answers */
  int set_status;
  char set[SET_MAX];
  vd_error set_err;
  int limits_status;
  vd_limits limits;
  int period_status;
  vd_error period_err;
};

struct job_list {
  struct refresh_job *jobs;
  size_t n, cap;
  cdtime_t now;
  int oom;
};

static int due(cdtime_t last, cdtime_t now) { return last == 0 || now - last >= g.refresh; }

static void collect_job(const char *uuid, void **user, void *ctx) {
  struct job_list *l = ctx;
  struct vm_info *vi = *user;
  if (vi == NULL || l->oom)
    return;
  struct refresh_job j = {.dom_id = vi->dom_id, .vcpus = vi->vcpus};
  j.want_set = !vi->set_from_config && due(vi->set_at, l->now);
  j.want_limits = due(vi->limits_at, l->now);
  j.want_period = g.balloon_period_s > 0 && vi->period_dom_id != vi->dom_id;
  if (!j.want_set && !j.want_limits && !j.want_period)
    return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    struct refresh_job *grown = realloc(l->jobs, cap * sizeof(*grown));
    if (grown == NULL) {
      l->oom = 1;
      return;
    }
    l->jobs = grown;
    l->cap = cap;
  }
  copy_str(j.uuid, uuid, sizeof(j.uuid));
  if (j.want_limits) {
    j.disks = names_dup(vi->disks, vi->n_disks, string_at, &j.n_disks);
    j.ifaces = names_dup(vi->ifaces, vi->n_ifaces, string_at, &j.n_ifaces);
  }
  l->jobs[l->n++] = j;
}

/* The calls of one job, unlocked: any of them may wait on a stuck VM. */
static void run_job(virConnectPtr conn, struct refresh_job *j) {
  j->set_status = j->limits_status = j->period_status = 1; /* 1: not asked */
  virDomainPtr dom = virDomainLookupByUUIDString(conn, j->uuid);
  if (dom == NULL)
    return; /* gone since the cycle; the next sweep forgets it */
  if (j->want_set)
    j->set_status = vd_fetch_set(dom, j->set, sizeof(j->set), &j->set_err);
  if (j->want_limits) {
    vd_error err = {0};
    j->limits_status =
        vd_fetch_limits(dom, (const char *const *)j->disks, j->n_disks,
                        (const char *const *)j->ifaces, j->n_ifaces, j->vcpus, &j->limits,
                        &err);
  }
  if (j->want_period)
    j->period_status = vd_set_balloon_period(dom, g.balloon_period_s, &j->period_err);
  virDomainFree(dom);
}

/* Stores a job's answers in its VM, if the VM is still there. Must hold g.lock. */
static void store_job_locked(const struct refresh_job *j, cdtime_t now) {
  void **slot = vs_table_user(g.vms, j->uuid);
  struct vm_info *vi = slot != NULL ? *slot : NULL;
  if (vi == NULL)
    return;
  if (j->set_status != 1)
    store_set_locked(vi, j->set_status, j->set, &j->set_err, now);
  if (j->limits_status == 0) {
    vi->limits = j->limits;
    vi->limits_at = now;
    if (j->limits.note[0] != '\0')
      c_complain_once(LOG_INFO, &vi->limits_complaint,
                      PLUGIN_NAME " plugin: VM %s: a limit is not available (%s)", vi->name,
                      j->limits.note);
  }
  if (j->want_period && j->period_status != 1 && j->dom_id == vi->dom_id) {
    vi->period_dom_id = j->dom_id;
    if (j->period_status != 0)
      c_complain_once(LOG_NOTICE, &vi->period_complaint,
                      PLUGIN_NAME " plugin: VM %s: %s; its guest memory stats come at the "
                                  "period the domain has",
                      vi->name, j->period_err.msg);
    else
      c_release(LOG_NOTICE, &vi->period_complaint,
                PLUGIN_NAME " plugin: VM %s: balloon stats period set", vi->name);
  }
}

static int virt_refresh(user_data_t *ud) {
  (void)ud;
  struct job_list l = {.now = cdtime()};
  pthread_mutex_lock(&g.lock);
  virConnectPtr conn = g.conn;
  if (conn != NULL && virConnectRef(conn) == 0)
    vs_table_foreach(g.vms, collect_job, &l);
  else
    conn = NULL;
  pthread_mutex_unlock(&g.lock);
  if (l.oom)
    c_complain_once(LOG_ERR, &g.refresh_mem_complaint,
                    PLUGIN_NAME " plugin: out of memory; some limits are not refreshed");
  for (size_t i = 0; i < l.n; i++)
    run_job(conn, &l.jobs[i]);
  cdtime_t done = cdtime();
  pthread_mutex_lock(&g.lock);
  for (size_t i = 0; i < l.n; i++)
    store_job_locked(&l.jobs[i], done);
  pthread_mutex_unlock(&g.lock);
  for (size_t i = 0; i < l.n; i++) {
    vd_names_free(l.jobs[i].disks, l.jobs[i].n_disks);
    vd_names_free(l.jobs[i].ifaces, l.jobs[i].n_ifaces);
  }
  free(l.jobs);
  if (conn != NULL)
    virConnectClose(conn);
  return 0;
}

/* ---------------------------------------------------------------- config */

/* vm: the <VM> block's name, or NULL at the plugin's top level. */
static int config_unknown(const char *vm, const oconfig_item_t *c) {
  ERROR(PLUGIN_NAME " plugin: unknown option \"%s\"%s%s%s; the plugin does not start",
        c->key, vm ? " in <VM \"" : "", vm ? vm : "", vm ? "\">" : "");
  return -1;
}

static int config_seconds(const oconfig_item_t *c, double min, double *out) {
  if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_NUMBER ||
      !(c->values[0].value.number >= min)) {
    ERROR(PLUGIN_NAME " plugin: option \"%s\" needs one number of seconds >= %g", c->key,
          min);
    return -1;
  }
  *out = c->values[0].value.number;
  return 0;
}

/* <VM "web1"> HostSet "web" </VM> */
static int config_vm(const oconfig_item_t *ci) {
  struct vm_override o = {NULL, NULL};
  int status = cf_util_get_string(ci, &o.name);
  for (int i = 0; status == 0 && i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    if (strcasecmp(c->key, "HostSet") == 0) {
      free(o.set);
      o.set = NULL;
      status = cf_util_get_string(c, &o.set);
    } else {
      status = config_unknown(o.name, c);
    }
  }
  if (status == 0 && o.set == NULL) {
    ERROR(PLUGIN_NAME " plugin: <VM \"%s\"> needs a HostSet", o.name);
    status = -1;
  }
  struct vm_override *grown =
      status == 0 ? realloc(g.overrides, (g.n_overrides + 1) * sizeof(*grown)) : NULL;
  if (status == 0 && grown == NULL) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    status = -1;
  }
  if (status != 0) {
    free(o.name);
    free(o.set);
    return -1;
  }
  g.overrides = grown;
  g.overrides[g.n_overrides++] = o;
  return 0;
}

static int virt_config(oconfig_item_t *ci) {
  int status = 0;
  for (int i = 0; status == 0 && i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    double seconds;
    if (strcasecmp(c->key, "Connection") == 0) {
      free(g.uri);
      g.uri = NULL;
      status = cf_util_get_string(c, &g.uri);
    } else if (strcasecmp(c->key, "RefreshInterval") == 0) {
      if ((status = config_seconds(c, 1, &seconds)) == 0)
        g.refresh = DOUBLE_TO_CDTIME_T(seconds);
    } else if (strcasecmp(c->key, "BalloonPeriod") == 0) {
      if ((status = config_seconds(c, 0, &seconds)) == 0 && seconds > 86400) {
        ERROR(PLUGIN_NAME " plugin: BalloonPeriod %g is above a day", seconds);
        status = -1;
      }
      if (status == 0)
        g.balloon_period_s = (int)ceil(seconds);
    } else if (strcasecmp(c->key, "StatsTimeout") == 0) {
      if ((status = config_seconds(c, 0.001, &seconds)) == 0)
        g.stats_timeout_s = seconds;
    } else if (strcasecmp(c->key, "VM") == 0) {
      status = config_vm(c);
    } else {
      status = config_unknown(NULL, c);
    }
  }
  return status;
}

/* ---------------------------------------------------------------- lifecycle */

static int virt_init(void) {
  if (g.uri == NULL && (g.uri = strdup("qemu:///system")) == NULL)
    return -1;
  double interval_s = CDTIME_T_TO_DOUBLE(plugin_get_interval());
  if (g.balloon_period_s < 0)
    g.balloon_period_s = interval_s < 1 ? 1 : (int)ceil(interval_s);
  if (g.stats_timeout_s <= 0)
    g.stats_timeout_s = interval_s / 2;
  if (virInitialize() < 0) {
    ERROR(PLUGIN_NAME " plugin: libvirt initialisation failed");
    return -1;
  }
  virSetErrorFunc(NULL, ignore_libvirt_error);
  if ((g.vms = vs_table_create(vm_info_free)) == NULL ||
      (g.caller = vc_caller_create(/* max_abandoned = */ 4, NULL)) == NULL) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    return -1;
  }
  if (plugin_register_complex_read(NULL, PLUGIN_NAME, virt_read, 0, NULL) != 0 ||
      plugin_register_complex_read(NULL, PLUGIN_NAME "_refresh", virt_refresh, 0, NULL) != 0)
    return -1;
  return 0;
}

/* Runs after collectd stopped its read threads: nothing else touches g. */
static int virt_shutdown(void) {
  if (g.conn != NULL)
    virConnectClose(g.conn);
  g.conn = NULL;
  vs_table_destroy(g.vms);
  g.vms = NULL;
  /* a call still stuck on a VM ends on its own (it holds its own references) */
  vc_caller_destroy(g.caller, /* wait_s = */ 2.0);
  g.caller = NULL;
  for (size_t i = 0; i < g.n_overrides; i++) {
    free(g.overrides[i].name);
    free(g.overrides[i].set);
  }
  free(g.overrides);
  g.overrides = NULL;
  g.n_overrides = 0;
  free(g.uri);
  g.uri = NULL;
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, virt_config);
  plugin_register_init(PLUGIN_NAME, virt_init);
  plugin_register_shutdown(PLUGIN_NAME, virt_shutdown);
}
