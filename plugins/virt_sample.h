/* virt_sample.h -- a VM's usage and allocation from libvirt domain stats records.
 *
 * The read plugin foresight_virt asks libvirt once per cycle for every running
 * domain's stats record (virConnectGetAllDomainStats: a virTypedParameter array with
 * keys such as "cpu.time", "balloon.unused", "block.0.rd.bytes"). This unit turns two
 * consecutive records of a VM into what docs/contracts.md ("Values inside collectd")
 * calls usage and allocation:
 *
 *   cpu        cores used     = delta cpu.time [ns] / delta wall time [ns]
 *   mem        KiB used       = balloon.available - balloon.unused   (guest's view)
 *   mem_avail  KiB available  = balloon.usable      (guest's MemAvailable)
 *   disk       KB/s           = delta sum_dev (rd.bytes + wr.bytes) / dt / 1024
 *   net        KB/s           = delta sum_dev (rx.bytes + tx.bytes) / dt / 1024
 *   allocation                  vcpu.current, vcpu.maximum, balloon.current,
 *                               balloon.maximum (KiB)
 * KB is 1024 bytes, as in ../shared/PROTOCOL.md, whose memory unit is the KiB.
 *
 * Unknown is NaN, never 0: a first record (no previous one), a record lacking the keys
 * (guest without balloon driver, driver that does not report a group), a counter that
 * went back (the VM restarted, or a device was replaced), a changed domain id (the VM
 * restarted between two cycles) or sampling times too uncertain (a bulk call that took
 * long, see vs_when) all give NaN for the rates concerned, and the record
 * becomes the new base, so the next cycle has a rate again. Zero disks or interfaces
 * reported ("block.count" = 0) is a known 0.
 *
 * The previous records live in a vs_table keyed by the domain's UUID (a name may be
 * reused by another VM; a UUID stays with the VM across restarts). Each cycle the
 * caller calls vs_table_begin(), vs_table_update() for every record, then
 * vs_table_sweep(), which frees the VMs that were not seen since vs_table_begin().
 *
 * Threads: a vs_table carries no lock; one thread at a time.
 * Errors: functions return 0 or VS_ENOMEM; on failure the table is unchanged.
 * Not here: talking to libvirt (virt_domain.c, foresight_virt.c), collectd.
 */
#ifndef VIRT_SAMPLE_H
#define VIRT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

enum {
  VS_OK = 0,
  VS_ENOMEM = -2, /* an allocation failed */
};

/* A disk ("block.<i>.*") or interface ("net.<i>.*") with its cumulative counters, as
 * collectd's disk_octets/disk_ops/if_octets types want them (DERIVE). */
typedef struct vs_device {
  const char *name; /* "vda", "vnet0": borrowed from the record's parameters */
  int have_bytes;   /* rd_bytes/wr_bytes (disk) or rx/tx bytes (net) are set */
  int have_ops;     /* rd_ops/wr_ops (disk: requests) are set */
  uint64_t rd_bytes, wr_bytes; /* net: rx, tx */
  uint64_t rd_ops, wr_ops;     /* net: rx, tx packets */
} vs_device;

/* What one record says about a VM. Every double is NaN when unknown. */
typedef struct vs_sample {
  int state;             /* virDomainState ("state.state"), -1 if absent */
  double cpu_cores;      /* cores used since the previous record */
  double mem_kib;        /* guest memory in use, KiB */
  double mem_avail_kib;  /* guest memory available to programs, KiB */
  double disk_kbps;      /* read + write, KB/s */
  double net_kbps;       /* rx + tx, KB/s */
  double vcpus;          /* allocation: vCPUs online */
  double vcpus_max;      /* allocation: vCPUs the VM can have */
  double mem_alloc_kib;  /* allocation: balloon size, KiB */
  double mem_max_kib;    /* allocation: maximum memory, KiB */
  size_t n_disks, n_ifaces;
  vs_device *disks;      /* n_disks entries, owned by the sample */
  vs_device *ifaces;     /* n_ifaces entries, owned by the sample */
} vs_sample;

/* Functions that fill a vs_sample overwrite it without freeing: clear a sample before
 * it is filled again. vs_sample_clear releases what a sample owns (not the parameters
 * its names point into) and leaves an empty sample with every value unknown. */
void vs_sample_clear(vs_sample *s);

/* Reads a record into *out without any history: gauges and devices are set, rates are
 * NaN. Names in *out borrow from params: valid while params are. On failure (only
 * VS_ENOMEM) *out is cleared. */
int vs_sample_read(const virTypedParameter *params, int nparams, vs_sample *out);

typedef struct vs_table vs_table;

/* Creates an empty table, or returns NULL if out of memory. Each VM of the table has
 * a slot for the caller's own data about it (vs_table_user); the table takes ownership
 * of what is put there and frees it with free_user (may be NULL) when the VM is
 * forgotten or the table destroyed. Free with vs_table_destroy. */
vs_table *vs_table_create(void (*free_user)(void *user));
void vs_table_destroy(vs_table *t); /* NULL is fine */

/* Starts a cycle: VMs not updated from now until vs_table_sweep() are forgotten. */
void vs_table_begin(vs_table *t);

/* When a record was taken: libvirt does not stamp records, so the caller gives its best
 * estimate (the middle of the bulk call) and how far off it may be (half the call's
 * duration). A call slowed down by a starting or stuck VM can take seconds. */
typedef struct vs_when {
  uint64_t t_ns;   /* a monotonic clock, nanoseconds */
  uint64_t err_ns; /* |true time - t_ns| <= err_ns */
} vs_when;

/* Rates are reported only when the two records' time errors together are at most this
 * share of the time between them (so a rate is off by at most 25%, and in practice far
 * less: records come in the same order each cycle). */
#define VS_MAX_TIME_ERROR 0.25

/* Reads the record of the VM `uuid` (running as domain id `dom_id`, -1 if unknown),
 * taken `when`, computes the rates against the VM's previous record, and keeps this one
 * as the next base. The caller owns *out (vs_sample_clear); its names borrow from
 * params. On VS_ENOMEM *out is cleared and the VM's history is left as it was. */
int vs_table_update(vs_table *t, const char *uuid, int dom_id, vs_when when,
                    const virTypedParameter *params, int nparams, vs_sample *out);

/* Forgets the VMs not updated since vs_table_begin(); returns how many. */
size_t vs_table_sweep(vs_table *t);

/* Number of VMs the table remembers. */
size_t vs_table_size(const vs_table *t);

/* The caller's slot of VM `uuid` (NULL until set), or NULL if the table does not know
 * the VM. Valid until the VM is swept or the table destroyed. */
void **vs_table_user(vs_table *t, const char *uuid);

/* Calls fn for every VM of the table, in no particular order; fn must not add or
 * remove VMs. */
void vs_table_foreach(vs_table *t, void (*fn)(const char *uuid, void **user, void *ctx),
                      void *ctx);

/* Parameter lookup shared with virt_domain.c: the value of `name` as an unsigned
 * integer (any integer type >= 0, or a double >= 0 truncated). Returns 1 and sets *out
 * if present and convertible, else 0. */
int vs_param_u64(const virTypedParameter *params, int nparams, const char *name,
                 uint64_t *out);
/* The string value of `name`, borrowed from params, or NULL. */
const char *vs_param_string(const virTypedParameter *params, int nparams,
                            const char *name);

#endif /* VIRT_SAMPLE_H */
