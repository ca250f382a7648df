/* virt_call.h -- libvirt's bulk stats call with a deadline.
 *
 * virConnectGetAllDomainStats with VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT skips a VM
 * whose job another call holds, but it does wait on a VM it gets the job of: when a
 * QEMU process stops answering its monitor (stopped, stuck in D state), the first call
 * after that waits until QEMU answers -- for ever, if it never does. The calls after it
 * find the job taken and skip that VM. (Seen here: `virsh domstats --nowait` on a
 * SIGSTOPped guest hung for 60 s until killed; the next calls took 0.02 s.)
 *
 * So the read cycle makes the call on a thread of its own and waits at most a timeout.
 * A call that does not return in time is abandoned: it goes on in its thread, frees
 * its result when it ends, and the cycle is skipped; the next cycle's call skips the
 * stuck VM and returns the others. At most `max_abandoned` calls may be pending; after
 * that no new call is started until one ends (libvirtd itself stuck).
 *
 * Threads: a vc_caller is used by one thread at a time (the read cycle); its calls'
 * threads share its internal lock, which guards only the count of pending calls.
 * Not here: what is done with the records (foresight_virt.c, virt_sample.c).
 */
#ifndef VIRT_CALL_H
#define VIRT_CALL_H

#include <libvirt/libvirt.h>

enum {
  VC_OK = 0,
  VC_ENOMEM = -2,   /* an allocation or a thread could not be made */
  VC_EFAIL = -3,    /* libvirt failed: code and msg in the result */
  VC_ETIMEOUT = -4, /* no answer within the timeout: the call was abandoned */
  VC_EBUSY = -5,    /* max_abandoned calls are still pending: none started */
};

/* What makes the call: virConnectGetAllDomainStats, or a stand-in in tests. */
typedef int (*vc_stats_fn)(virConnectPtr conn, unsigned stats,
                           virDomainStatsRecordPtr **recs, unsigned flags);

typedef struct vc_result {
  int n;                          /* records */
  virDomainStatsRecordPtr *recs;  /* the caller frees them (virDomainStatsRecordListFree) */
  int code;                       /* VC_EFAIL: libvirt's error code (virErrorNumber) */
  char msg[256];                  /* VC_EFAIL: libvirt's message; VC_ETIMEOUT, VC_EBUSY:
                                     a description */
} vc_result;

typedef struct vc_caller vc_caller;

/* Creates a caller that lets at most max_abandoned (>= 1) calls pend; fn NULL means
 * virConnectGetAllDomainStats. Returns NULL if out of memory. */
vc_caller *vc_caller_create(int max_abandoned, vc_stats_fn fn);

/* Waits up to wait_s seconds for pending calls to end, then lets go of the caller; calls
 * still pending free it when they end. NULL is fine. */
void vc_caller_destroy(vc_caller *c, double wait_s);

/* Calls fn(conn, stats, &recs, flags) on a new thread (which holds its own reference to
 * conn) and waits up to timeout_s seconds. Returns the number of records (>= 0) with
 * out->recs, or VC_EFAIL, VC_ETIMEOUT, VC_EBUSY or VC_ENOMEM with out->msg. */
int vc_get_all_stats(vc_caller *c, virConnectPtr conn, unsigned stats, unsigned flags,
                     double timeout_s, vc_result *out);

/* Number of abandoned calls still running. */
int vc_caller_pending(vc_caller *c);

#endif /* VIRT_CALL_H */
