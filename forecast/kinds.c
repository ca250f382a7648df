/* kinds.c -- the table of model kinds and their names. */
#include <string.h>
#include <strings.h>

#include "forecast/fc_internal.h"

static const fc__model_ops *const kind_table[FC_KIND_COUNT] = {
    [FC_KIND_NAIVE] = &fc__naive_ops, [FC_KIND_SNAIVE] = &fc__snaive_ops,
    [FC_KIND_ETS] = &fc__ets_ops,     [FC_KIND_FOURIER] = &fc__fourier_ops,
    [FC_KIND_AR] = &fc__ar_ops,       [FC_KIND_GRU] = &fc__gru_ops,
};

const fc__model_ops *fc__kind_ops(fc_kind kind) { return kind_table[kind]; }

const char *fc_kind_name(fc_kind kind) {
  return (unsigned)kind < FC_KIND_COUNT ? kind_table[kind]->name : "unknown";
}

int fc_kind_parse(const char *name, fc_kind *kind, fc_error *err) {
  for (int k = 0; k < FC_KIND_COUNT; k++)
    if (strcasecmp(name, kind_table[k]->name) == 0) {
      *kind = (fc_kind)k;
      return 0;
    }
  return fc__fail(err, FC_EINVAL,
                  "model \"%s\" (must be one of naive, snaive, ets, fourier, ar, gru)", name);
}
