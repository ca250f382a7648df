/* quantize.c -- allocations on the grid of their resource (PROTOCOL.md part B).
 *
 *   quantize_up(x) = clamp(step * ceil(x / step), min, max)
 *
 * "the smallest allowed value >= x, clamped to [min, max]"; max itself is allowed even
 * off the grid (a provisioned memory size that is not a multiple of 256 MiB).
 * Floating point: 0.15 / 0.05 is 2.9999999999999996 and 1.15 / 0.05 may land just
 * above 23, so a quotient within 1e-9 of an integer is taken as that integer; the
 * result is step * k, the closest double to the grid point. */
#include <math.h>

#include "act_internal.h"

static double grid_index_up(double x, double step) {
  double q = x / step;
  double k = nearbyint(q);
  return fabs(q - k) <= 1e-9 ? k : ceil(q);
}

static double grid_index_down(double x, double step) {
  double q = x / step;
  double k = nearbyint(q);
  return fabs(q - k) <= 1e-9 ? k : floor(q);
}

double act_quantize_up(double x, double step, double min, double max) {
  double v = isfinite(x) ? step * grid_index_up(x, step) : x;
  if (!(v >= min)) /* also NaN -> min */
    v = min;
  if (v > max)
    v = max;
  return v;
}

double act_quantize_down(double x, double step) {
  if (!isfinite(x))
    return x;
  return step * grid_index_down(x, step);
}
