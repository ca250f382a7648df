/* series.c -- the samples of one (VM, metric) on a fixed step grid.
 *
 * A ring of `capacity` slots: slot k lives at index k mod capacity. Values are doubles:
 * floats would halve the memory, but a plateau stored as 0.01f reads back 2e-10 below
 * the 0.01 the VM reports, and a forecast built on it then "misses" every sample of the
 * plateau. 14 days at 5 minutes is 4032 slots, ~36 KB per series with the flags.
 *
 * Placement follows PROTOCOL.md section 0 so that streaming replay and the evaluation
 * grid agree: a sample goes to slot round(ts / step) (halves up); if that slot already
 * holds a sample, the one nearer to the slot time stays (a tie goes to the later one).
 * Only the newest slot can be contested: a sample for an older slot means the clock went
 * back, and it is dropped as late rather than rewriting history the models have seen.
 *
 * Invalid values (NaN, infinite, negative: none of our metrics can be negative) are
 * dropped and counted; their slot stays missing. A counter series stores the rate per
 * second between consecutive samples; a counter that goes down (a VM restart) yields no
 * rate for that slot and the next sample continues from the new value.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/fc_internal.h"

struct fc_series {
  int step_s;
  int capacity;
  fc_series_kind kind;
  int64_t first_slot; /* first slot ever stored (-1: empty) */
  int64_t last_slot;  /* newest slot (-1: empty) */
  double last_dist_s; /* |ts - slot time| of the sample held in last_slot */
  double counter_ts;  /* counter series: time and value of the previous sample */
  double counter_value;
  int has_counter;
  fc_series_stats stats;
  double *value;  /* capacity slots; NAN when missing */
  uint8_t *flags; /* FC_SLOT_* per slot */
};

fc_series *fc_series_create(int step_s, int capacity_slots, fc_series_kind kind,
                            fc_error *err) {
  if (step_s < 1) {
    fc__fail(err, FC_EINVAL, "series step %d s (must be >= 1)", step_s);
    return NULL;
  }
  if (capacity_slots < 1 || capacity_slots > (1 << 24)) {
    fc__fail(err, FC_EINVAL, "series capacity %d slots (must be in [1, 16777216])",
             capacity_slots);
    return NULL;
  }
  if (kind != FC_SERIES_GAUGE && kind != FC_SERIES_COUNTER) {
    fc__fail(err, FC_EINVAL, "series kind %d (must be gauge or counter)", (int)kind);
    return NULL;
  }
  fc_series *s = calloc(1, sizeof(*s));
  if (s == NULL)
    goto fail;
  s->value = malloc(sizeof(double) * (size_t)capacity_slots);
  s->flags = calloc((size_t)capacity_slots, 1);
  if (s->value == NULL || s->flags == NULL)
    goto fail;
  s->step_s = step_s;
  s->capacity = capacity_slots;
  s->kind = kind;
  s->first_slot = s->last_slot = -1;
  return s;
fail:
  fc_series_destroy(s);
  fc__fail(err, FC_ENOMEM, "series of %d slots: out of memory", capacity_slots);
  return NULL;
}

void fc_series_destroy(fc_series *s) {
  if (s == NULL)
    return;
  free(s->value);
  free(s->flags);
  free(s);
}

fc_series *fc_series_clone(const fc_series *s, fc_error *err) {
  fc_series *c = fc_series_create(s->step_s, s->capacity, s->kind, err);
  if (c == NULL)
    return NULL;
  double *value = c->value;
  uint8_t *flags = c->flags;
  *c = *s;
  c->value = value;
  c->flags = flags;
  memcpy(c->value, s->value, sizeof(double) * (size_t)s->capacity);
  memcpy(c->flags, s->flags, (size_t)s->capacity);
  return c;
}

static size_t ring_index(const fc_series *s, int64_t slot) {
  return (size_t)(slot % s->capacity);
}

static int64_t oldest_slot(const fc_series *s) {
  int64_t oldest = s->last_slot - s->capacity + 1;
  return oldest > s->first_slot ? oldest : s->first_slot;
}

/* Moves the newest slot forward to `slot`, clearing the slots in between. */
static int advance_to(fc_series *s, int64_t slot) {
  int bits = 0;
  if (s->last_slot >= 0 && slot > s->last_slot + 1) {
    bits |= FC_SAMPLE_GAP;
    s->stats.gaps++;
  }
  int64_t from = s->last_slot < 0 ? slot : s->last_slot + 1;
  if (slot - from >= s->capacity)
    from = slot - s->capacity + 1;
  for (int64_t k = from; k <= slot; k++) {
    s->value[ring_index(s, k)] = NAN;
    s->flags[ring_index(s, k)] = 0;
  }
  if (s->first_slot < 0)
    s->first_slot = slot;
  s->last_slot = slot;
  s->last_dist_s = INFINITY;
  return bits;
}

void fc_series_advance(fc_series *s, int64_t slot) {
  if (slot > s->last_slot && s->last_slot >= 0)
    advance_to(s, slot);
}

static void store(fc_series *s, int64_t slot, double value, double dist_s) {
  s->value[ring_index(s, slot)] = value;
  s->flags[ring_index(s, slot)] = FC_SLOT_PRESENT;
  s->last_dist_s = dist_s;
}

/* Converts a counter sample to a rate; returns the FC_SAMPLE_RESET bit or 0, and sets
 * *rate to NaN when there is no rate yet. */
static int counter_rate(fc_series *s, double ts_s, double value, double *rate) {
  int bits = 0;
  *rate = NAN;
  if (s->has_counter && ts_s > s->counter_ts) {
    if (value >= s->counter_value) {
      *rate = (value - s->counter_value) / (ts_s - s->counter_ts);
    } else {
      bits = FC_SAMPLE_RESET;
      s->stats.resets++;
    }
  }
  s->counter_ts = ts_s;
  s->counter_value = value;
  s->has_counter = 1;
  return bits;
}

int fc_series_add(fc_series *s, double ts_s, double value) {
  if (!isfinite(value) || value < 0.0 || !isfinite(ts_s) || ts_s < 0.0) {
    s->stats.invalid++;
    return FC_SAMPLE_INVALID;
  }
  int64_t slot = (int64_t)floor(ts_s / s->step_s + 0.5);
  double dist_s = fabs(ts_s - (double)slot * s->step_s);
  if (s->last_slot >= 0 && slot < s->last_slot) {
    s->stats.late++;
    return FC_SAMPLE_LATE;
  }
  int bits = 0;
  if (s->kind == FC_SERIES_COUNTER) {
    if (s->has_counter && ts_s <= s->counter_ts) {
      s->stats.late++;
      return FC_SAMPLE_LATE;
    }
    bits |= counter_rate(s, ts_s, value, &value);
    if (isnan(value))
      return bits; /* first sample or reset: nothing to store yet */
  }
  if (slot == s->last_slot && !isnan(s->value[ring_index(s, slot)])) {
    if (dist_s > s->last_dist_s) {
      s->stats.duplicates++;
      return bits | FC_SAMPLE_DUPLICATE;
    }
    s->stats.replaced++;
    store(s, slot, value, dist_s);
    return bits | FC_SAMPLE_REPLACED | FC_SAMPLE_STORED;
  }
  if (slot > s->last_slot)
    bits |= advance_to(s, slot);
  store(s, slot, value, dist_s);
  s->stats.stored++;
  return bits | FC_SAMPLE_STORED;
}

int fc_series_len(const fc_series *s) {
  return s->last_slot < 0 ? 0 : (int)(s->last_slot - oldest_slot(s) + 1);
}

int64_t fc_series_last_slot(const fc_series *s) { return s->last_slot; }

int fc_series_step(const fc_series *s) { return s->step_s; }

static int in_range(const fc_series *s, int64_t slot) {
  return s->last_slot >= 0 && slot <= s->last_slot && slot >= oldest_slot(s);
}

double fc_series_at(const fc_series *s, int64_t slot) {
  return in_range(s, slot) ? s->value[ring_index(s, slot)] : NAN;
}

int fc_series_window(const fc_series *s, int64_t last_slot, int n, double *out,
                     uint8_t *flags) {
  for (int i = 0; i < n; i++) {
    int64_t slot = last_slot - n + 1 + i;
    int ok = in_range(s, slot);
    out[i] = ok ? s->value[ring_index(s, slot)] : NAN;
    if (flags != NULL)
      flags[i] = ok ? s->flags[ring_index(s, slot)] : 0;
  }
  return n;
}

void fc_series_flag_anomaly(fc_series *s, int64_t slot) {
  if (!in_range(s, slot))
    return;
  s->flags[ring_index(s, slot)] |= FC_SLOT_ANOMALY;
  s->stats.anomalies++;
}

void fc_series_get_stats(const fc_series *s, fc_series_stats *out) { *out = s->stats; }
