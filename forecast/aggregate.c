/* aggregate.c -- the forecast of a host set's total.
 *
 * The mean of a sum is the sum of the means, but its bounds are not the sums of the
 * bounds: that would assume every member misses high at the same time (perfect
 * correlation) and overstate the interval of independent members by up to sqrt(n).
 * Each member keeps its recent out-of-sample errors by target slot; summing them slot by
 * slot gives the errors the total would have had, with the members' correlation built in,
 * and their empirical quantiles give the interval, as for one series: taken over the
 * targets in the forecast's phase of the hour and shrunk toward all targets, the rule of
 * the members' own intervals (model.c), so that a set of identical members gets their
 * summed bounds.
 */
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"

enum { MIN_ALIGNED = 20 };

static int check_members(const fc_model *const members[], int n, fc_error *err) {
  if (n < 1)
    return fc__fail(err, FC_EINVAL, "aggregate of %d members (need at least one)", n);
  const fc_config *c0 = fc__model_config(members[0]);
  for (int k = 1; k < n; k++) {
    const fc_config *c = fc__model_config(members[k]);
    if (c->n_horizons != c0->n_horizons || c->backtest_slots != c0->backtest_slots ||
        c->step_s != c0->step_s || c->confidence != c0->confidence)
      return fc__fail(err, FC_EINVAL, "aggregate member %d has another configuration", k);
    for (int i = 0; i < c0->n_horizons; i++)
      if (c->horizons[i] != c0->horizons[i])
        return fc__fail(err, FC_EINVAL, "aggregate member %d has other horizons", k);
    if (fc_model_slot(members[k]) != fc_model_slot(members[0]))
      return fc__fail(err, FC_EINVAL, "aggregate member %d is at slot %lld, member 0 at %lld",
                      k, (long long)fc_model_slot(members[k]),
                      (long long)fc_model_slot(members[0]));
  }
  return 0;
}

/* Sums the members' errors of horizon index i slot by slot into sums[]: first those
 * whose target is in `phase` (*n_phase of them), then the others; returns how many
 * slots had an error from every member. */
static int aligned_sums(const fc_model *const members[], int n, int i, int phase,
                        double *sums, int *n_phase) {
  int len, count = 0;
  int64_t slot = fc_model_slot(members[0]);
  fc__model_errors(members[0], i, &len);
  *n_phase = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1)
      *n_phase = count;
    for (int j = 0; j < len; j++) {
      /* ring entry j holds the newest target slot congruent to j */
      int64_t target = slot - ((slot - j) % len + len) % len;
      if ((fc__model_phase(members[0], target) == phase) != (pass == 0))
        continue;
      double sum = 0.0;
      for (int k = 0; k < n && !isnan(sum); k++)
        sum += fc__model_errors(members[k], i, &len)[j];
      if (!isnan(sum))
        sums[count++] = sum;
    }
  }
  return count;
}

/* The quantile of x[0..n-1] (reordered) at the upper (upper = 1) or lower tail `tail`,
 * at the conformal rank the members' intervals take (model.c). */
static double conformal_quantile(double *x, int n, double tail, int upper) {
  double pos = fc__conformal_pos(n, upper ? 1.0 - tail : tail);
  return fc__quantile(x, n, n > 1 ? pos / (n - 1) : 0.5); /* the type 7 level at pos */
}

int fc_aggregate_forecast(const fc_model *const members[], int n_members, fc_point out[],
                          fc_error *err) {
  int rc = check_members(members, n_members, err);
  if (rc != 0)
    return rc;
  const fc_config *cfg = fc__model_config(members[0]);
  fc_point *each = malloc(sizeof(fc_point) * (size_t)cfg->n_horizons);
  double *sums = malloc(sizeof(double) * (size_t)cfg->backtest_slots);
  if (each == NULL || sums == NULL) {
    free(each);
    free(sums);
    return fc__fail(err, FC_ENOMEM, "aggregate: out of memory");
  }
  for (int i = 0; i < cfg->n_horizons; i++)
    out[i] = (fc_point){.h = cfg->horizons[i]};
  for (int k = 0; k < n_members; k++) {
    fc_model_forecast(members[k], each);
    for (int i = 0; i < cfg->n_horizons; i++) {
      out[i].mean += each[i].mean;
      out[i].lo += each[i].lo; /* fallback when the errors are too few to align */
      out[i].hi += each[i].hi;
    }
  }
  double tail = (1.0 - cfg->confidence) / 2.0;
  for (int i = 0; i < cfg->n_horizons; i++) {
    int phase = fc__model_phase(members[0], fc_model_slot(members[0]) + cfg->horizons[i]);
    int n_phase, n = aligned_sums(members, n_members, i, phase, sums, &n_phase);
    if (n < MIN_ALIGNED)
      continue;
    /* the phase's block first: a quantile reorders what it looks at */
    double own_lo = n_phase ? conformal_quantile(sums, n_phase, tail, 0) : 0.0;
    double own_hi = n_phase ? conformal_quantile(sums, n_phase, tail, 1) : 0.0;
    double q_lo = conformal_quantile(sums, n, tail, 0);
    double q_hi = conformal_quantile(sums, n, tail, 1);
    if (n_phase > 0 && n_phase < n) {
      q_lo = fc__phase_shrink(own_lo, n_phase, q_lo);
      q_hi = fc__phase_shrink(own_hi, n_phase, q_hi);
    }
    out[i].lo = fmax(0.0, out[i].mean + q_lo);
    out[i].hi = fmax(0.0, out[i].mean + q_hi);
  }
  free(each);
  free(sums);
  return 0;
}
