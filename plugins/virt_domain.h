/* virt_domain.h -- what foresight_virt asks libvirt about one domain, beside the bulk
 * stats record: its host set, its resource limits, the balloon stats period, and the
 * stats a driver leaves out of the bulk record.
 *
 * The bulk call (virConnectGetAllDomainStats) gives usage and the basic allocation of
 * every VM in one round trip and never waits for a busy VM (NOWAIT). Everything here is
 * a per-domain call: the plugin caches the answers and asks rarely (host set, limits,
 * balloon period), or only for drivers that do not report a stats group in bulk
 * (vd_fill_record: libvirt's test driver reports the state group only).
 *
 * Which calls may wait on a busy VM: with the QEMU driver virDomainGetBlockIoTune and
 * virDomainSetMemoryStatsPeriod take a job on the domain and wait up to 30 s when the
 * VM's monitor is stuck; metadata, scheduler and interface parameters do not. The
 * plugin makes the waiting calls from its refresh callback, not from its read cycle.
 *
 * The pure functions (vd_parse_set, vd_quota_cores, vd_iotune_bps, vd_bandwidth_kbps)
 * interpret libvirt's answers; they are unit-tested without libvirt.
 *
 * Threads: no state; each function may be called from any thread with its own
 * arguments (libvirt connections and domains are thread-safe).
 * Errors: 0 or a negative VD_E* with a message in the caller's vd_error; never prints.
 */
#ifndef VIRT_DOMAIN_H
#define VIRT_DOMAIN_H

#include <stddef.h>

#include <libvirt/libvirt.h>

enum {
  VD_OK = 0,
  VD_EINVAL = -1,   /* malformed answer (metadata that is not <vm set="..."/>) */
  VD_ENOMEM = -2,   /* an allocation failed */
  VD_ELIBVIRT = -3, /* a libvirt call failed; msg has libvirt's message */
};

typedef struct vd_error {
  int code;      /* one of VD_E*, 0 when no error */
  char msg[256]; /* e.g. "metadata: element <foo> is not foresight's <vm>" */
} vd_error;

/* foresight's XML namespace for domain metadata: <foresight:vm set="web"/>. */
#define VD_METADATA_NS "http://foresight.invalid/xmlns/1"
#define VD_METADATA_PREFIX "foresight"

/* ------------------------------------------------------------------------------------ */
/* Interpreting answers (pure)                                                           */

/* Reads the host set from the metadata element libvirt returns for foresight's
 * namespace, e.g. `<vm set="web"/>` (libvirt may keep a prefix and xmlns attribute).
 * Returns 1 and copies the (entity-decoded) value into set[size], 0 if the element has
 * no set attribute, or VD_EINVAL (not a <vm> element, malformed, empty or too long). */
int vd_parse_set(const char *xml, char *set, size_t size, vd_error *err);

/* CPU limit in cores from scheduler parameters (QEMU: global_quota/global_period, and
 * vcpu_quota/vcpu_period per vCPU, times `vcpus`); the tighter one when both are set.
 * NaN when no quota limits the VM (absent, <= 0, or libvirt's "unlimited"). */
double vd_quota_cores(const virTypedParameter *params, int nparams, double vcpus);

/* A disk's bandwidth limit in bytes/s from its block I/O tune: total_bytes_sec, or
 * read_bytes_sec + write_bytes_sec when both are set; 0 when unlimited. */
double vd_iotune_bps(const virTypedParameter *params, int nparams);

/* An interface's bandwidth limit in KB/s (libvirt's unit, 1024 bytes), both
 * directions: inbound.average + outbound.average when both are set; 0 when either
 * direction is unlimited. */
double vd_bandwidth_kbps(const virTypedParameter *params, int nparams);

/* ------------------------------------------------------------------------------------ */
/* Asking libvirt                                                                        */

/* Host set from the domain's metadata in foresight's namespace. Returns 1 (set
 * copied), 0 (no foresight metadata, or an element without set), or a VD_E* error. */
int vd_fetch_set(virDomainPtr dom, char *set, size_t size, vd_error *err);

/* Limits of a VM; NaN where none applies or the driver cannot say. */
typedef struct vd_limits {
  double cpu_quota; /* cores */
  double disk_bps;  /* bytes/s over all disks; NaN if any disk is unlimited */
  double net_kbps;  /* KB/s over all interfaces, both directions; NaN if any unlimited */
  char note[256];   /* the first call that failed and libvirt's message, or "" */
} vd_limits;

/* Asks for the limits of the disks and interfaces named (target names from the stats
 * record) and the scheduler's quota, `vcpus` being the VM's vCPUs online. A failing or
 * unsupported call leaves its limit NaN and is described in out->note. Returns 0, or
 * VD_ENOMEM. May wait on a busy VM (block I/O tune). */
int vd_fetch_limits(virDomainPtr dom, const char *const *disks, size_t n_disks,
                    const char *const *ifaces, size_t n_ifaces, double vcpus,
                    vd_limits *out, vd_error *err);

/* Sets the period at which the guest's balloon driver refreshes memory stats on the
 * running domain. Returns 0 or VD_ELIBVIRT. May wait on a busy VM. */
int vd_set_balloon_period(virDomainPtr dom, int period_s, vd_error *err);

/* Stats groups as vd_fill_record can complete them (bits). */
enum {
  VD_GROUP_CPU = 1,     /* "cpu.time" */
  VD_GROUP_VCPU = 2,    /* "vcpu.current", "vcpu.maximum" */
  VD_GROUP_BALLOON = 4, /* "balloon.current" and the guest's memory stats */
  VD_GROUP_BLOCK = 8,   /* "block.count" and per-disk counters */
  VD_GROUP_NET = 16,    /* "net.count" and per-interface counters */
  VD_GROUP_ALL = 31,
};

/* The groups a record has (by the keys named above). */
unsigned vd_record_groups(const virTypedParameter *params, int nparams);

/* Completes a stats record from per-domain calls, for the groups in `groups` that the
 * record lacks: "cpu.time", "vcpu.current" and "balloon.current/maximum" from
 * virDomainGetInfo, "vcpu.maximum" from virDomainGetVcpusFlags, the guest's memory
 * stats ("balloon.unused/available/usable") from virDomainMemoryStats, and the block
 * and net groups (names from the domain XML, counters from virDomainBlockStats and
 * virDomainInterfaceStats). libvirt's test driver reports the state group only; QEMU
 * reports all of them -- but a VM that is starting may lack some, and asking QEMU for
 * memory stats would then wait on it, so the caller leaves out of `groups` whatever
 * the driver was seen to report in bulk.
 * Returns 0 with *out = NULL when nothing was added; 1 with *out a new record (a copy
 * of params plus the added keys; the caller frees it with virTypedParamsFree(*out,
 * *nout)); or VD_ENOMEM. A per-domain call that fails just adds nothing. */
int vd_fill_record(virDomainPtr dom, const virTypedParameter *params, int nparams,
                   unsigned groups, virTypedParameter **out, int *nout, vd_error *err);

/* Target device names (<target dev='...'/>) of the domain XML's <element> elements
 * ("disk" or "interface"), in document order, as libvirt formats them; an element
 * without a target is left out. Returns 0 with *names (free with vd_names_free) and *n,
 * or VD_ENOMEM with *names = NULL. */
int vd_device_names(const char *xml, const char *element, char ***names, size_t *n);
void vd_names_free(char **names, size_t n);

#endif /* VIRT_DOMAIN_H */
