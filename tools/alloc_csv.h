/* alloc_csv.h -- the allocation CSV of ../shared/PROTOCOL.md part B ("External
 * allocations"):
 *
 *   vm,resource,ts,alloc
 *
 * resource cpu (alloc in whole vCPUs), cpu_quota (cores, multiples of 0.05) or mem
 * (KB); ts the grid time of the decision slot t (data <= t); the harness applies the
 * value from t+1 until the next row of that VM and resource, so only changes need a row.
 * The writer formats values so that they read back as the exact grid values the
 * harness checks (no 0.15000000000000002) and refuses what no harness would accept.
 *
 * A writer is one output stream, one thread at a time; it never closes the FILE.
 */
#ifndef TOOLS_ALLOC_CSV_H
#define TOOLS_ALLOC_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum ac_resource { AC_CPU = 0, AC_CPU_QUOTA, AC_MEM, AC_N_RESOURCES } ac_resource;

/* "cpu", "cpu_quota", "mem": the contract's names. */
const char *ac_resource_name(ac_resource r);
/* Parses one of the names above; 0, or -1 for anything else. */
int ac_resource_parse(const char *name, ac_resource *out);

#define AC_QUOTA_STEP 0.05    /* cores */
#define AC_MEM_STEP_KB 262144 /* 256 MiB */

typedef struct ac_writer {
  FILE *fp;   /* borrowed */
  long rows;  /* rows written, header excluded */
} ac_writer;

/* Writes the header. 0, or -1 when the stream fails. */
int ac_writer_start(ac_writer *w, FILE *fp);

/* Writes one row. `alloc` is in the contract's unit (vCPUs, cores, KB). Refused (-1,
 * err filled, nothing written): a VM name that is empty or holds a comma, quote or line
 * break; a non-finite or negative value; a cpu value that is not a whole number; a
 * cpu_quota value off the 0.05 grid; a mem value that is not a whole number of KB
 * (the grid or the provisioned size, which the writer cannot know, are checked by the
 * caller). Values within 1e-6 of the grid are written as the grid value. Also -1 when
 * the stream fails. */
int ac_writer_put(ac_writer *w, const char *vm, ac_resource r, int64_t ts, double alloc,
                  char *err, size_t err_len);

#endif /* TOOLS_ALLOC_CSV_H */
