/* numeric.c -- small numeric helpers shared by the model kinds and the engine. */
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"

int fc__fill_linear(double *y, int n) {
  int first = -1, prev = -1, count = 0;
  for (int i = 0; i < n; i++) {
    if (isnan(y[i]))
      continue;
    count++;
    if (first < 0)
      first = i;
    if (prev >= 0 && i - prev > 1) {          /* interior run prev+1 .. i-1 */
      double slope = (y[i] - y[prev]) / (i - prev);
      for (int j = prev + 1; j < i; j++)
        y[j] = y[prev] + slope * (j - prev);
    }
    prev = i;
  }
  if (count == 0) {
    for (int i = 0; i < n; i++)
      y[i] = 0.0;
    return 0;
  }
  for (int i = 0; i < first; i++)
    y[i] = y[first];
  for (int i = prev + 1; i < n; i++)
    y[i] = y[prev];
  return count;
}

/* Hoare's selection: after it, x[k] holds the k-th smallest, smaller ones before it. */
static double select_kth(double *x, int n, int k) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    double pivot = x[lo + (hi - lo) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (x[i] < pivot)
        i++;
      while (x[j] > pivot)
        j--;
      if (i <= j) {
        double t = x[i];
        x[i] = x[j];
        x[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      break;
  }
  return x[k];
}

double fc__conformal_pos(int n, double p) {
  double pos = p * (n + 1) - 1.0;
  return pos < 0.0 ? 0.0 : pos > n - 1 ? n - 1 : pos;
}

double fc__quantile(double *x, int n, double q) {
  double pos = q * (n - 1);
  int k = (int)floor(pos);
  if (k >= n - 1)
    return select_kth(x, n, n - 1);
  double a = select_kth(x, n, k);
  /* the (k+1)-th smallest is the minimum of the part above k */
  double b = x[k + 1];
  for (int i = k + 2; i < n; i++)
    if (x[i] < b)
      b = x[i];
  return a + (pos - k) * (b - a);
}

double fc__nanmean(const double *x, int n) {
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(x[i])) {
      sum += x[i];
      count++;
    }
  return count ? sum / count : NAN;
}
