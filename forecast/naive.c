/* naive.c -- the two reference forecasts every other kind must beat.
 *
 * naive:   yhat_{t+h|t} = y_t, the last value.
 * snaive:  yhat_{t+h|t} = y_{t+h-m}, the same slot one period earlier, m = one day, or
 *          one week once the window holds two weeks and a weekly cycle was detected.
 * Both keep a missing sample's place with their own one-step forecast, so a gap repeats
 * the last value (naive) or last period (snaive). Neither has parameters to estimate.
 */
#include <math.h>
#include <stdlib.h>

#include "forecast/fc_internal.h"

typedef struct naive_state {
  double last;
} naive_state;

static void *naive_fit(const fc__fit_input *in, fc_error *err) {
  if (in->n < 1) {
    fc__fail(err, FC_ENODATA, "naive: empty window");
    return NULL;
  }
  naive_state *st = malloc(sizeof(*st));
  if (st == NULL) {
    fc__fail(err, FC_ENOMEM, "naive: out of memory");
    return NULL;
  }
  st->last = in->y[in->n - 1];
  return st;
}

static void naive_observe(void *state, double y) {
  naive_state *st = state;
  if (isfinite(y))
    st->last = y;
}

static void naive_predict(const void *state, int h_max, double *mean) {
  const naive_state *st = state;
  for (int h = 0; h < h_max; h++)
    mean[h] = st->last;
}

const fc__model_ops fc__naive_ops = {
    .kind = FC_KIND_NAIVE,
    .name = "naive",
    .fit = naive_fit,
    .observe = naive_observe,
    .predict = naive_predict,
    .destroy = free,
    .train_loss = NULL,
};

/* The last `period` values in a ring; ring[next] is the oldest, y_{t+1-m}. */
typedef struct snaive_state {
  int period;
  int next;
  double ring[];
} snaive_state;

static void *snaive_fit(const fc__fit_input *in, fc_error *err) {
  int period = in->season_week > 0 ? in->season_week : in->day_slots;
  if (period < 1 || in->n < period) {
    fc__fail(err, FC_ENODATA, "snaive: window of %d slots is shorter than its period %d",
             in->n, period);
    return NULL;
  }
  snaive_state *st = malloc(sizeof(*st) + sizeof(double) * (size_t)period);
  if (st == NULL) {
    fc__fail(err, FC_ENOMEM, "snaive: out of memory");
    return NULL;
  }
  st->period = period;
  st->next = 0;
  for (int i = 0; i < period; i++)
    st->ring[i] = in->y[in->n - period + i];
  return st;
}

static void snaive_observe(void *state, double y) {
  snaive_state *st = state;
  if (isfinite(y)) /* a missing sample keeps its forecast: the value one period ago */
    st->ring[st->next] = y;
  st->next = (st->next + 1) % st->period;
}

static void snaive_predict(const void *state, int h_max, double *mean) {
  const snaive_state *st = state;
  for (int h = 1; h <= h_max; h++)
    mean[h - 1] = st->ring[(st->next + (h - 1) % st->period) % st->period];
}

const fc__model_ops fc__snaive_ops = {
    .kind = FC_KIND_SNAIVE,
    .name = "snaive",
    .fit = snaive_fit,
    .observe = snaive_observe,
    .predict = snaive_predict,
    .destroy = free,
    .train_loss = NULL,
};
