/* season.c -- is there a daily (or weekly) cycle worth a seasonal model?
 *
 * Daily: the strength of seasonality of Wang, Smith & Hyndman ("Characteristic-based
 * clustering for time series data", Data Min. Knowl. Disc. 13(3), 2006, sec. 3.1):
 *   z = y - MA_day(y)                 the series without its slow movement
 *   S_j = mean of z over slot-of-day j, R = z - S
 *   F = max(0, 1 - Var(R) / Var(z))
 * A daily cycle is declared when F > 0.3. A wandering level leaves a residue z that is
 * correlated over hours, but not at the same time each day, so it averages out of S
 * (a random walk gives F < 0.15 over 14 days) while a cycle stays.
 * Weekly: a weekly cycle is slow against a day, so the moving average would take it out;
 * it is judged by what it predicts instead: over the last week of two, the same slot a
 * week ago must miss by less than 0.8 x what the same slot a day ago misses (mean
 * absolute difference), i.e. days of the week differ in a way that repeats.
 * Seasonal models then use the period; the backtest still decides whether they win.
 */
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"

/* z = y - centred moving average of width `width` (shrinking at the ends), demeaned. */
static void remove_slow(const double *y, int n, int width, double *z) {
  double sum = 0.0;
  int half = width / 2, lo = 0, hi = -1;
  for (int t = 0; t < n; t++) {
    int want_lo = t - half < 0 ? 0 : t - half;
    int want_hi = t + half >= n ? n - 1 : t + half;
    while (hi < want_hi)
      sum += y[++hi];
    while (lo < want_lo)
      sum -= y[lo++];
    z[t] = y[t] - sum / (hi - lo + 1);
  }
  double mean = 0.0;
  for (int t = 0; t < n; t++)
    mean += z[t];
  mean /= n;
  for (int t = 0; t < n; t++)
    z[t] -= mean;
}

/* Strength of the daily cycle of z (demeaned), see the top of the file. */
static double season_strength(const double *z, int n, int day) {
  double *mean = calloc((size_t)day, sizeof(double));
  int *count = calloc((size_t)day, sizeof(int));
  double strength = NAN;
  if (mean != NULL && count != NULL) {
    for (int t = 0; t < n; t++)
      mean[t % day] += z[t], count[t % day]++;
    for (int j = 0; j < day; j++)
      mean[j] /= count[j] ? count[j] : 1;
    double var_z = 0.0, var_r = 0.0;
    for (int t = 0; t < n; t++) {
      double r = z[t] - mean[t % day];
      var_z += z[t] * z[t];
      var_r += r * r;
    }
    strength = var_z > 0.0 ? fmax(0.0, 1.0 - var_r / var_z) : 0.0;
  }
  free(mean);
  free(count);
  return strength;
}

/* Mean |y_t - y_{t-lag}| over t in [from, n). */
static double lag_mae(const double *y, int n, int from, int lag) {
  double sum = 0.0;
  for (int t = from; t < n; t++)
    sum += fabs(y[t] - y[t - lag]);
  return sum / (n - from);
}

int fc__detect_season(const double *y, int n, int day, int *season, int *season_week,
                      double *r_day, double *ratio_week) {
  *season = *season_week = 0;
  *r_day = *ratio_week = NAN;
  if (n < 2 * day)
    return 0;
  double *z = malloc(sizeof(double) * (size_t)n);
  if (z == NULL)
    return FC_ENOMEM;
  remove_slow(y, n, day, z);
  *r_day = season_strength(z, n, day);
  if (isnan(*r_day)) {
    free(z);
    return FC_ENOMEM;
  }
  if (*r_day > 0.3)
    *season = day;
  int week = 7 * day;
  if (n >= 2 * week) {
    double mae_day = lag_mae(y, n, week, day);
    *ratio_week = mae_day > 0.0 ? lag_mae(y, n, week, week) / mae_day : 1.0;
    if (*ratio_week < 0.8)
      *season_week = week;
  }
  free(z);
  return 0;
}
