/* hv.h -- the hypervisor as the applier sees it: an opaque act_hv with a small table of
 * operations, so the transaction code (apply.c) is written once and a test can put a
 * fault-injecting act_hv in front of any other one.
 *
 * Everything the applier changes is a *knob* of a domain: one number that can be read
 * and set on its own (live vCPUs, the persistent maximum of memory, one disk's
 * total_iops_sec, one interface's inbound average, whether the domain runs...). A
 * transaction is a list of knob changes; its journal records each knob's value before
 * and after, and rolling back sets the before values again. Creating and removing a
 * domain (scale-out, scale-in) have operations of their own, since they need more than
 * one number (a template, a UUID).
 *
 * Implementations: hv_libvirt.c (hv_libvirt.h; libvirt, linked into
 * libactuator_hv.la), and the tests' fault-injecting wrapper (tests/unit/hv_fault.c).
 * An operation an implementation cannot perform returns ACT_EUNSUPPORTED with a message
 * naming the operation and the domain.
 *
 * Units: memory in KiB, cpu quota in cores, disk in bytes/s or operations/s, network in
 * KiB/s (libvirt's "kilobytes per second"). Values are doubles so every knob fits one
 * journal format; integral knobs reject fractions with ACT_EINVAL.
 *
 * Threads: one thread at a time per act_hv. Errors: 0 or a negative ACT_E* code with
 * err filled (the domain, the operation, the hypervisor's own words); ACT_ENOENT means
 * the domain does not exist, ACT_ESTOPPED that it exists but does not run (it has no
 * live value).
 */
#ifndef ACTUATOR_HV_H
#define ACTUATOR_HV_H

#include <stddef.h>

#include "actuator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ACT_HV_DEV_MAX 32   /* disks and interfaces per domain the applier handles */
#define ACT_HV_DEVNAME_MAX 64 /* a disk target ("vda") or a MAC address, with the NUL */
#define ACT_HV_UUID_LEN 37  /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and the NUL */

typedef enum act_hv_knob {
  ACT_HV_VCPUS = 0,          /* live vCPUs */
  ACT_HV_VCPUS_MAX,          /* live maximum of vCPUs: read only (fixed at boot) */
  ACT_HV_VCPUS_CONFIG,       /* vCPUs in the persistent config (next boot) */
  ACT_HV_VCPUS_MAX_CONFIG,   /* maximum vCPUs in the persistent config */
  ACT_HV_MEM_KIB,            /* live memory (balloon) */
  ACT_HV_MEM_MAX_KIB,        /* live maximum memory: read only (fixed at boot) */
  ACT_HV_MEM_CONFIG_KIB,     /* current memory in the persistent config */
  ACT_HV_MEM_MAX_CONFIG_KIB, /* maximum memory in the persistent config */
  ACT_HV_CPU_QUOTA,          /* cores for the whole domain, live: vcpu_quota / vcpu_period
                                x live vCPUs; INFINITY = no quota */
  ACT_HV_DISK_BPS,           /* one disk's total_bytes_sec, live; 0 = no limit */
  ACT_HV_DISK_BPS_MAX,       /* its total_bytes_sec_max (burst) */
  ACT_HV_DISK_IOPS,          /* its total_iops_sec */
  ACT_HV_DISK_IOPS_MAX,      /* its total_iops_sec_max (burst) */
  ACT_HV_NET_IN_KIBPS,       /* one interface's inbound average, live; 0 = no limit */
  ACT_HV_NET_OUT_KIBPS,      /* its outbound average */
  ACT_HV_ACTIVE,             /* 1 while the domain runs; see act_hv_ops.start/stop */
  ACT_HV_DEFINED,            /* 1 while the domain exists; see define_clone/undefine */
  ACT_HV_KNOB_COUNT
} act_hv_knob;

/* "vcpus", "vcpus_max", ..., "defined": the names the journal writes. */
const char *act_hv_knob_name(act_hv_knob k);
/* The knob of that name; ACT_EINVAL names the word. */
int act_hv_knob_parse(const char *name, act_hv_knob *out, act_error *err);
/* 1 for the knobs of one device (disk: DISK_*, interface: NET_*), else 0. */
int act_hv_knob_has_dev(act_hv_knob k);

typedef struct act_hv_disk {
  char dev[ACT_HV_DEVNAME_MAX]; /* target, e.g. "vda" */
  double bps, bps_max, iops, iops_max;
} act_hv_disk;

typedef struct act_hv_iface {
  char mac[ACT_HV_DEVNAME_MAX]; /* e.g. "52:54:00:12:34:56": names it for libvirt */
  double in_kibps, out_kibps;   /* inbound / outbound average */
} act_hv_iface;

/* A domain's allocation, as one read sees it. Live fields are NAN when the domain does
 * not run; config fields are NAN for a transient domain. */
typedef struct act_hv_alloc {
  int active;     /* runs */
  int persistent; /* has a persistent config */
  double vcpus, vcpus_max, vcpus_config, vcpus_max_config;
  double mem_kib, mem_max_kib, mem_config_kib, mem_max_config_kib;
  double cpu_quota; /* cores; INFINITY: no quota; NAN: not supported or not running */
  size_t n_disks;
  act_hv_disk disks[ACT_HV_DEV_MAX];
  size_t n_ifaces;
  act_hv_iface ifaces[ACT_HV_DEV_MAX];
} act_hv_alloc;

/* What identifies a domain and its place in foresight. */
typedef struct act_hv_domain {
  char name[ACT_NAME_MAX];
  char uuid[ACT_HV_UUID_LEN];
  int active, persistent;
  char set[ACT_NAME_MAX];      /* <foresight:vm set="..."/>, "" when absent */
  char template_vm[ACT_NAME_MAX]; /* <foresight:vm template="..."/>: set on a domain
                                  that scale-out cloned from that template, else "" */
} act_hv_domain;

/* The operations an implementation provides; `impl` is its own state. Every pointer
 * argument is borrowed for the call. Each operation is one unit for fault injection. */
typedef struct act_hv_ops {
  const char *name; /* "libvirt", "fault", ... */
  /* The domain's identity and metadata; ACT_ENOENT when there is no such domain. */
  int (*lookup)(void *impl, const char *vm, act_hv_domain *out, act_error *err);
  int (*read_alloc)(void *impl, const char *vm, act_hv_alloc *out, act_error *err);
  /* One knob (not ACTIVE/DEFINED: lookup says those); dev names the disk or interface
   * for device knobs, else NULL. */
  int (*get)(void *impl, const char *vm, act_hv_knob k, const char *dev, double *out,
             act_error *err);
  /* Sets one knob; read-only knobs (VCPUS_MAX, MEM_MAX_KIB, ACTIVE, DEFINED) are
   * ACT_EINVAL. */
  int (*set)(void *impl, const char *vm, act_hv_knob k, const char *dev, double value,
             act_error *err);
  /* Defines domain `vm` with UUID `uuid` as a copy of `template_vm`'s persistent
   * config: new name, UUID and MAC addresses, the template's foresight metadata with
   * template="<template_vm>" added. Does not start it. */
  int (*define_clone)(void *impl, const char *template_vm, const char *vm,
                      const char *uuid, act_error *err);
  int (*start)(void *impl, const char *vm, act_error *err);
  /* Asks the guest to shut down, waits up to timeout_ms, then powers it off; 0 when it
   * no longer runs. timeout_ms 0: powers off at once. */
  int (*stop)(void *impl, const char *vm, int timeout_ms, act_error *err);
  /* Removes the persistent config of a domain that does not run. */
  int (*undefine)(void *impl, const char *vm, act_error *err);
  /* Every domain whose metadata names host set `set` (NULL: every domain), in the
   * hypervisor's order, in a malloc'd array the caller frees; *n its length. */
  int (*list)(void *impl, const char *set, act_hv_domain **out, size_t *n,
              act_error *err);
  void (*close)(void *impl); /* frees impl */
} act_hv_ops;

typedef struct act_hv act_hv; /* one hypervisor connection; one thread at a time */

/* Wraps an implementation. `ops` must outlive the handle; the handle takes ownership
 * of impl (ops->close frees it, also when this fails). NULL and err on ENOMEM. */
act_hv *act_hv_create(const act_hv_ops *ops, void *impl, act_error *err);
void act_hv_destroy(act_hv *hv); /* closes the implementation; NULL is fine */
const char *act_hv_name(const act_hv *hv);

/* The operations above, with their arguments checked (names, knobs, finite values):
 * see act_hv_ops for each. */
int act_hv_lookup(act_hv *hv, const char *vm, act_hv_domain *out, act_error *err);
int act_hv_read_alloc(act_hv *hv, const char *vm, act_hv_alloc *out, act_error *err);
int act_hv_get(act_hv *hv, const char *vm, act_hv_knob k, const char *dev, double *out,
               act_error *err);
int act_hv_set(act_hv *hv, const char *vm, act_hv_knob k, const char *dev, double value,
               act_error *err);
int act_hv_define_clone(act_hv *hv, const char *template_vm, const char *vm,
                        const char *uuid, act_error *err);
int act_hv_start(act_hv *hv, const char *vm, act_error *err);
int act_hv_stop(act_hv *hv, const char *vm, int timeout_ms, act_error *err);
int act_hv_undefine(act_hv *hv, const char *vm, act_error *err);
int act_hv_list(act_hv *hv, const char *set, act_hv_domain **out, size_t *n,
                act_error *err);

/* Fills uuid with a random (version 4) UUID; 0, or ACT_EIO when the system has no
 * randomness to give. */
int act_hv_uuid_generate(char uuid[ACT_HV_UUID_LEN], act_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_HV_H */
