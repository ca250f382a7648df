/* fsp_replay.h -- trace replay as a collectd read plugin sees it, without collectd.
 *
 * Loads VM traces (tools/trace.h, the CSV format of ../shared/traces) and tells, at each
 * wall-clock time it is asked, which trace rows are due. The foresight_replay plugin
 * turns each row into fs_usage and fs_alloc value lists; this unit is tested alone.
 *
 * Time mapping. Each trace is moved onto the calendar by a whole number of weeks,
 * shift = 604800 k, with k chosen so that the window start (the trace's first timestamp
 * + Start days) lands nearest to the replay's anchor `epoch` (wall seconds; by default
 * the time of fsp_replay_begin), i.e. within +-3.5 days of it. Values are stamped with
 * their trace time + shift: whole weeks keep the 5-minute grid and the daily and weekly
 * phase of the trace. The replay plays the window from its start at `speed` trace
 * seconds per wall second: a row with trace time t is due at wall time T once
 *     t <= window start + (T - epoch) * speed,
 * so nothing is sent as a burst at begin and nothing waits for the calendar to catch
 * up. A fixed `epoch` (config `Epoch`) makes a replay continue after a daemon restart
 * (rows due while the daemon was down are skipped) instead of starting over with
 * timestamps the first run already sent. collectd's write threads may reorder a burst of
 * one VM's rows (Speed above 300 / Interval): use WriteThreads 1 then, or collectd's
 * cache drops the reordered older values as "too old".
 *
 * Window and loop. Rows with trace time in [first + Start days, first + (Start + Days)
 * days) are replayed (Days 0: to the end of the trace). With `loop`, the window repeats
 * every P = ceil(window / 1 week) weeks, lap n stamped n P later, so phase is kept.
 *
 * Copies. With copies = N > 1 every trace VM is replayed N times as hosts "<vm>-c<i>",
 * i = 0..N-1, all sharing one copy of the trace in memory (the scale benchmark).
 *
 * Units (PROTOCOL.md section 0): cpu in cores (cpu_pct / 100 * cpu_cores), mem in KiB,
 * disk and net in KB/s; alloc vcpus = cpu_cores, mem = mem_prov_kb. Azure traces have
 * no core count: cpu is sent as cpu_pct / 100 (cores of a one-vCPU VM) and no
 * allocation is sent.
 *
 * Threads: one thread at a time per fsp_replay (collectd calls a read callback from one
 * read thread at a time). Errors: -1 with a message in the caller's buffer.
 */
#ifndef PLUGINS_FSP_REPLAY_H
#define PLUGINS_FSP_REPLAY_H

#include <stddef.h>

#define FSP_WEEK_S 604800.0

typedef struct fsp_replay_opts {
  double speed;      /* trace seconds per wall second, > 0 (default 1) */
  double start_days; /* window start after each trace's first timestamp, >= 0 */
  double days;       /* window length, > 0; 0 = to the end of the trace */
  int loop;          /* repeat the window (whole weeks per lap) */
  int copies;        /* >= 1 */
  double epoch_s;    /* replay anchor (wall seconds); NaN: the time of begin */
} fsp_replay_opts;

/* speed 1, start 0, days 0 (all), no loop, one copy, epoch at begin */
void fsp_replay_opts_default(fsp_replay_opts *o);
/* Checks every option; -1 with a message naming the first bad one as its config key,
 * e.g. "Speed 0 (must be > 0)". */
int fsp_replay_opts_check(const fsp_replay_opts *o, char *err, size_t err_len);

enum { FSP_CPU = 0, FSP_MEM, FSP_DISK, FSP_NET, FSP_N_METRICS };
/* "cpu", "mem", "disk", "net": the type_instance of fs_usage */
const char *fsp_metric_name(int metric);

/* One due trace row of one replayed VM (copy). Pointers valid during the callback. */
typedef struct fsp_sample {
  const char *host;               /* VM name, or "<vm>-c<i>" */
  const char *set;                /* host set, NULL when none */
  double ts_s;                    /* shifted timestamp, seconds */
  double usage[FSP_N_METRICS];    /* NaN: missing or not in this trace */
  double vcpus;                   /* NaN: missing */
  double mem_kb;                  /* provisioned memory; NaN: missing */
} fsp_sample;

typedef void (*fsp_replay_emit_fn)(void *ctx, const fsp_sample *s);

typedef struct fsp_replay fsp_replay;

/* Loads the traces files[0..n_files-1] (each one VM) under *o. Checks the options first
 * (the message names the bad one, e.g. "Speed 0 (must be > 0)"), then every file
 * ("FILE:LINE:COL: what"); a trace whose window holds no row is an error naming it.
 * The caller owns the result; free with fsp_replay_destroy. NULL on error. */
fsp_replay *fsp_replay_create(const fsp_replay_opts *o, const char *const *files,
                              int n_files, char *err, size_t err_len);
void fsp_replay_destroy(fsp_replay *r); /* NULL is fine */

/* Puts VM `vm` (the trace's vm column; NULL: every VM) into host set `set` (copied).
 * A later call overrides an earlier one for the VMs it names. -1 if no loaded trace has
 * that VM, or on no memory. */
int fsp_replay_set_host_set(fsp_replay *r, const char *set, const char *vm, char *err,
                            size_t err_len);

/* Fixes the epoch (if not configured) and the week shift of every trace, and places
 * each VM's cursor at R(now_s). Returns 0. Call once, before fsp_replay_run. */
int fsp_replay_begin(fsp_replay *r, double now_s);

/* Calls emit for every row due at wall time now_s, VM after VM, rows in time order.
 * Returns the number of rows emitted. */
long fsp_replay_run(fsp_replay *r, double now_s, fsp_replay_emit_fn emit, void *ctx);

/* Number of replayed VMs (traces x copies) and of those whose window is exhausted. */
int fsp_replay_n_vms(const fsp_replay *r);
int fsp_replay_n_done(const fsp_replay *r);

#endif /* PLUGINS_FSP_REPLAY_H */
