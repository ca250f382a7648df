/* synth.h -- deterministic synthetic series for unit tests.
 * A test states the structure it plants (a daily sine, a trend, an AR(1) process) and
 * checks that a model finds it; the noise comes from a seeded generator so a failure
 * reproduces exactly. */
#ifndef TESTS_SYNTH_H
#define TESTS_SYNTH_H

#include <math.h>
#include <stdint.h>

typedef struct synth_rng {
  uint64_t state;
} synth_rng;

/* xorshift64*: fast, good enough for test noise. */
static inline double synth_uniform(synth_rng *r) {
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return (double)((r->state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

/* Standard normal by Box-Muller. */
static inline double synth_normal(synth_rng *r) {
  double u1 = synth_uniform(r), u2 = synth_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* level + amp * sin(2 pi (t + phase) / period) + sd * noise, for t = t0 .. t0 + n - 1. */
static inline void synth_sine(double *y, int n, int64_t t0, double level, double amp,
                              int period, double phase, double sd, uint64_t seed) {
  synth_rng r = {seed ? seed : 1};
  for (int i = 0; i < n; i++)
    y[i] = level + amp * sin(2.0 * M_PI * (double)(t0 + i + phase) / period) +
           sd * synth_normal(&r);
}

#endif /* TESTS_SYNTH_H */
