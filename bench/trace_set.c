/* trace_set.c -- loads a folder of traces for the bench programs (trace_set.h). */
#include "bench/trace_set.h"

#include <stdio.h>
#include <stdlib.h>

void trace_set_free(tr_vm *vms, int n) {
  if (vms == NULL)
    return;
  for (int i = 0; i < n; i++)
    tr_vm_free(&vms[i]);
  free(vms);
}

int trace_set_load(const char *dir, tr_vm **vms, char *err, size_t err_len) {
  char **files;
  int n = tr_list_files(&dir, 1, &files, err, err_len);
  if (n < 0)
    return -1;
  tr_vm *v = calloc((size_t)n, sizeof(*v));
  int ok = v != NULL;
  if (!ok)
    snprintf(err, err_len, "%s: out of memory for %d traces", dir, n);
  for (int i = 0; ok && i < n; i++) {
    ok = tr_vm_load(files[i], &v[i], err, err_len) == 0;
    if (ok && !(ok = tr_protocol_ok(&v[i])))
      snprintf(err, err_len, "%s: trace shorter than 14+1 training days + 7 test days",
               files[i]);
  }
  for (int i = 0; i < n; i++)
    free(files[i]);
  free(files);
  if (!ok) {
    trace_set_free(v, v ? n : 0); /* unloaded entries are zeroed: freeing them is a no-op */
    return -1;
  }
  *vms = v;
  return n;
}
