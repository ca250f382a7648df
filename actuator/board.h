/* board.h -- the actuator's picture of its VMs: the latest usage, allocation and
 * forecast of each (VM, resource), as collectd's value lists deliver them, and the
 * act_cycle rows a planning cycle reads.
 *
 * What comes in is named as the collectd value-naming contract names it
 * (docs/contracts.md, "Values inside collectd"): fs_usage metrics cpu (cores), mem
 * (KiB), net (KB/s); fs_alloc metrics vcpus, mem (KiB), cpu_quota (cores), net_kbps
 * (KB/s); fs_forecast per metric and horizon. The board converts to the planner's
 * units (actuator.h):
 *
 *   usage cpu      -> cpu and cpu_quota usage (cores of demand measure both)
 *   usage mem      -> memory usage, KiB / 1024 = MiB
 *   usage net      -> net_kbps usage
 *   alloc vcpus    -> cpu allocation          alloc cpu_quota -> cpu_quota allocation
 *   alloc mem      -> memory allocation, MiB  alloc net_kbps  -> net_kbps allocation
 *   forecast cpu, mem, net: as their usage
 * Anything else (mem_avail, disk, vcpus_max, disk_bps, ...) is not planned on and is
 * ignored: disk_iops is operations/s while the contract carries disk bytes, so the
 * board has no disk row.
 *
 * Model: an fs_forecast value names the model that made it (meta foresight:model); a
 * row carries the model of its resource's newest forecast value, for the forecast
 * messages. A name that is empty, longer than ACT_BOARD_MODEL_MAX - 1 bytes or not
 * printable ASCII without spaces is not kept: the row then says "" (unknown).
 *
 * Host set of a VM: a VM listed under a HostSet in the policy belongs to that set (the
 * config is the operator's word); any other VM to the set its values last named
 * (meta foresight:set). A VM with neither is in no set.
 *
 * Freshness: a row needs an allocation received less than max_age ago; usage and
 * forecast points received earlier than that are left out (usage NAN, point dropped),
 * so a VM that vanished stops being planned and a forecaster that stopped does not
 * steer with old bounds. Age is counted from when a value arrived, not from its own
 * time stamp: a sped-up trace replay stamps values ahead of the wall clock.
 * After the applier changes an allocation it tells the board (act_board_applied); an
 * allocation value stamped before that change is then stale and ignored, so the next
 * cycle does not undo a change the read plugin has not seen yet.
 *
 * Threads: none; the board carries no lock. The plugin guards it with one mutex, and a
 * cycle copies what it needs into an act_board_rows it owns, so planning runs unlocked.
 */
#ifndef ACTUATOR_BOARD_H
#define ACTUATOR_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "actuator/actuator.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ACT_BOARD_MAX_POINTS 512 /* forecast horizons kept per (VM, resource) */
#define ACT_BOARD_MODEL_MAX 32   /* a forecast model's name, with the NUL */

typedef enum act_obs_kind {
  ACT_OBS_USAGE = 0, /* fs_usage: value */
  ACT_OBS_ALLOC,     /* fs_alloc: value */
  ACT_OBS_FORECAST   /* fs_forecast: value = mean, lo, hi at h_s */
} act_obs_kind;

/* One value as a value list carries it. Everything is borrowed for the call. */
typedef struct act_obs {
  act_obs_kind kind;
  const char *vm;     /* collectd's host */
  const char *set;    /* meta foresight:set; NULL or "": keep what is known */
  const char *metric; /* type_instance (usage, alloc) or plugin_instance (forecast) */
  int h_s;            /* forecast horizon, > 0 */
  double value;       /* usage, allocation, forecast mean */
  double lo, hi;      /* forecast bounds */
  double ts;          /* the value's own time, seconds since the epoch */
  const char *model;  /* forecast: meta foresight:model; NULL or "": unknown */
} act_obs;

typedef struct act_board act_board; /* one thread at a time */

/* An empty board whose rows keep values at most max_age_s old (> 0). NULL and err on
 * failure. The caller owns it; free with act_board_destroy. */
act_board *act_board_create(int max_age_s, act_error *err);
void act_board_destroy(act_board *b); /* NULL is fine */

/* Records one value, received at wall time `now` (seconds). Returns 1 when stored, 0
 * when the board has no use for it (a metric it does not plan on, a non-finite value,
 * an allocation stamped before the applier's last change, a host-set forecast, whose
 * host is "set-<name>"), or ACT_EINVAL (bad name, horizon) / ACT_ENOMEM; on error
 * nothing changes. */
int act_board_put(act_board *b, const act_obs *o, double now, act_error *err);

/* The applier set vm's resource r to `alloc` (planner units) at time ts: the board
 * takes it as the allocation and ignores allocation values stamped at or before ts. */
int act_board_applied(act_board *b, const char *vm, act_resource r, double alloc,
                      double ts, act_error *err);

/* Forgets VMs that received no value since wall time `before`; returns how many. */
size_t act_board_expire(act_board *b, double before);

/* A cycle's copy of the board's rows for one host set: owns its names and points, so
 * it outlives the board's lock. Plain struct; init, fill with act_board_rows_fill, free. */
typedef struct act_board_rows {
  act_vm_state *vms; /* vms[i].vm and .points point into this struct */
  size_t n_vms, cap_vms;
  act_point *points;
  size_t n_points, cap_points;
  char (*names)[ACT_NAME_MAX]; /* names[i] is vms[i].vm */
  size_t cap_names;
  char (*models)[ACT_BOARD_MODEL_MAX]; /* models[i]: the model of vms[i]'s newest
                                          forecast value, "" when unknown */
  size_t cap_models;
} act_board_rows;

void act_board_rows_init(act_board_rows *rows);
void act_board_rows_free(act_board_rows *rows); /* empty again; NULL is fine */

/* Fills *rows (emptied first) with one row per (VM, resource) of host set `set` as of
 * `now`: the VMs that belong to the set (see above) with a fresh allocation, sorted by
 * VM name then resource, each with its fresh usage (NAN when none) and its fresh
 * forecast points sorted by horizon. policy may be NULL (membership by values only).
 * ACT_ENOMEM on failure, rows then empty. */
int act_board_rows_fill(const act_board *b, const act_policy *policy, const char *set,
                   double now, act_board_rows *rows, act_error *err);

/* The row of (vm, r) in rows, or NULL. */
const act_vm_state *act_board_rows_find(const act_board_rows *rows, const char *vm,
                                        act_resource r);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_BOARD_H */
