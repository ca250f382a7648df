/* trace_set.h -- every VM of a trace folder, loaded for the protocol: what fc-peers and
 * fc-score (like lib.py's load_set) start from. */
#ifndef BENCH_TRACE_SET_H
#define BENCH_TRACE_SET_H

#include "tools/trace.h"

/* Loads the traces under `dir` (tr_list_files order) into a new array *vms. A trace too
 * short for the protocol is an error, as in lib.py. Returns the count, or -1 with err
 * filled and nothing allocated. Free with trace_set_free(). */
int trace_set_load(const char *dir, tr_vm **vms, char *err, size_t err_len);
void trace_set_free(tr_vm *vms, int n); /* NULL is fine */

#endif /* BENCH_TRACE_SET_H */
