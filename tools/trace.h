/* trace.h -- VM utilisation traces in the CSV format of ../shared/traces, and the
 * evaluation grid of ../shared/PROTOCOL.md (section 0 and 1).
 *
 * A trace file has the header
 *   timestamp,vm,cpu_pct,cpu_cores,mem_kb,mem_prov_kb,disk_read_kbps,disk_write_kbps,
 *   net_rx_kbps,net_tx_kbps
 * (columns found by name, so their order may differ); an empty cell is a missing value.
 * tr_vm_load() keeps both the raw rows (for streaming replay, "as the plugin will see
 * them") and the protocol grid (slot k at 300 k s, nearest-slot placement, collisions
 * resolved nearest-first, tie to the later sample).
 *
 * Series per PROTOCOL.md section 0:
 *   cpu  = cpu_pct / 100 * cpu_cores (cores) for Bitbrains; cpu_pct as is for Azure
 *   mem  = mem_kb;  disk = disk_read_kbps + disk_write_kbps;  net = net_rx + net_tx
 * A VM whose cpu_cores column is empty throughout is an Azure VM (cpu only).
 */
#ifndef TOOLS_TRACE_H
#define TOOLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TR_STEP_S 300
#define TR_DAY 288
#define TR_TEST_SLOTS 2016   /* 7 days */
#define TR_TRAIN_SLOTS 4032  /* 14 days */
#define TR_ORIGIN_EVERY 12
#define TR_H_MAX 12

typedef enum tr_metric { TR_CPU = 0, TR_MEM, TR_DISK, TR_NET, TR_N_METRICS } tr_metric;

/* "cpu", "mem", "disk", "net" */
const char *tr_metric_name(tr_metric m);

typedef struct tr_vm {
  char path[512];
  char name[64];     /* the vm column */
  char dataset[64];  /* name of the folder holding the file, e.g. "bitbrains_rnd" */
  int is_azure;      /* no cpu_cores anywhere: cpu is in percent, other metrics absent */

  /* raw rows, in file order */
  int n_rows;
  double *row_ts;                    /* timestamp, seconds */
  double *row_value[TR_N_METRICS];   /* the series' value per row; NaN if missing;
                                        NULL for metrics the VM does not have */
  double *row_cores;                 /* cpu_cores per row (NULL for Azure) */
  double *row_mem_prov_kb;           /* mem_prov_kb per row (NULL for Azure) */

  /* protocol grid: index i is slot slot0 + i, time (slot0 + i) * 300 */
  int64_t slot0;
  int n;                             /* slots from the first to the last occupied */
  double *series[TR_N_METRICS];      /* NaN where missing; NULL if the VM lacks it */
  double *cores;                     /* provisioned vCPUs per slot (NaN missing) */
  double *mem_prov_kb;               /* provisioned memory per slot (NaN missing) */
  int n_collisions;                  /* samples dropped because their slot was taken */
} tr_vm;

/* Loads one trace file. On error returns -1 and writes "FILE:LINE:COL: what" (or
 * "FILE: what") to err; *vm is then left empty (safe to tr_vm_free). */
int tr_vm_load(const char *path, tr_vm *vm, char *err, size_t err_len);
void tr_vm_free(tr_vm *vm); /* frees the arrays; the struct itself is the caller's */

/* Expands each argument (a .csv file, or a folder searched for <folder>/<dataset>/<x>.csv
 * and <folder>/<x>.csv, skipping index.csv) into a sorted list of files. The caller frees
 * each string and the array. Returns the count, or -1 with err filled. */
int tr_list_files(const char *const *args, int n_args, char ***files, char *err,
                  size_t err_len);

/* Protocol positions (indices into the grid, PROTOCOL.md section 1 and 2). */
static inline int tr_cut(const tr_vm *vm) { return vm->n - 1 - TR_TEST_SLOTS; }
static inline int tr_n_origins(const tr_vm *vm) {
  return (vm->n - 1 - TR_H_MAX - tr_cut(vm)) / TR_ORIGIN_EVERY + 1;
}
static inline int tr_origin(const tr_vm *vm, int k) { return tr_cut(vm) + TR_ORIGIN_EVERY * k; }
static inline int64_t tr_slot_ts(const tr_vm *vm, int i) { return (vm->slot0 + i) * TR_STEP_S; }
/* The VM is long enough for the protocol (14 + 1 training days + 7 test days). */
static inline int tr_protocol_ok(const tr_vm *vm) { return tr_cut(vm) - TR_TRAIN_SLOTS - TR_DAY >= 0; }

#endif /* TOOLS_TRACE_H */
