/* fs_write_cost.c -- what the forecast write plugin costs collectd's write threads per
 * value, and what a series costs in memory once its history is full.
 *
 * Write cost: the core of foresight_forecast's write callback -- fsp_map_match on the
 * value list's identity, fsp_engine_add, and the host-set call on a new series or a
 * closed step -- in a loop over V VMs x 4 fs_usage metrics, timestamps advancing by
 * the collectd interval (10 s) per round, so every 30th value of a series closes a
 * 300 s step, as in a live daemon. Run by 1..T threads at once (collectd's write
 * threads), each on its own share of the VMs. Prints ns per value.
 * The stepper's work (feeding forecasters) is not in the write thread and not timed.
 *
 * Memory per series: S series get a full training window of steps (History, default
 * 14 days of 300 s) and a fit; prints the growth of this process' RSS per series.
 * Then the engine's clock jumps past SeriesTimeout: prints the heap the eviction gave
 * back per series and what the sweep that evicted them all cost the stepper.
 *
 *   fs-write-cost [--vms V] [--rounds R] [--threads T] [--rss-series S]
 */
#include "plugins/fsp_engine.h"
#include "plugins/fsp_map.h"

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INTERVAL_S 10.0
#define T0 1.7e9

static const char *const metrics[] = {"cpu", "mem", "disk", "net"};

struct job {
  fsp_engine *e;
  fsp_map *map;
  char (*hosts)[32];
  int from, to, rounds;
  double seconds;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: on a shared machine wall time would count the time
 * a thread waits for a core. */
static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void emit_nothing(void *ctx, const fsp_forecast_out *f) {
  (void)ctx;
  (void)f;
}

/* The write callback's core for one value list (see foresight_forecast.c). */
static void write_one(fsp_engine *e, const fsp_map *map, const char *host, const char *ti,
                      double ts, double v) {
  static const char *const ds[] = {"value"};
  fsp_ident id = {host, "foresight_replay", "", "fs_usage", ti};
  fsp_target t;
  if (!fsp_map_match(map, &id, ds, 1, &t))
    return;
  int bits = fsp_engine_add(e, t.vm, t.metric, ts, v);
  if (bits & (FSP_ADD_NEW | FSP_ADD_CLOSED))
    fsp_engine_set_host_set(e, t.vm, t.metric, "web");
}

static void *run_job(void *arg) {
  struct job *j = arg;
  double t0 = thread_cpu_s();
  for (int r = 0; r < j->rounds; r++)
    for (int k = j->from; k < j->to; k++)
      for (int m = 0; m < 4; m++)
        write_one(j->e, j->map, j->hosts[k], metrics[m], T0 + r * INTERVAL_S, k + m + r);
  j->seconds = thread_cpu_s() - t0;
  return NULL;
}

static double read_clock(void *ctx) { return *(const double *)ctx; }

/* clock: the series timeout's clock (the caller's variable), NULL: the real one */
static fsp_engine *make_engine(int history_days, double *clock) {
  fsp_engine_config c;
  fsp_engine_config_default(&c);
  c.manual = 1; /* no threads: nothing else competes for the cores */
  c.emit = emit_nothing;
  if (clock != NULL) {
    c.clock = read_clock;
    c.ctx = clock;
  }
  c.fc.history_slots = history_days * 288;
  char err[256];
  fsp_engine *e = fsp_engine_create(&c, err, sizeof(err));
  if (e == NULL || fsp_engine_start(e, err, sizeof(err)) != 0) {
    fprintf(stderr, "fs-write-cost: %s\n", err);
    exit(1);
  }
  return e;
}

static void write_cost(fsp_map *map, int vms, int rounds, int threads) {
  char(*hosts)[32] = calloc((size_t)vms, sizeof(*hosts));
  if (hosts == NULL)
    exit(1);
  for (int k = 0; k < vms; k++)
    snprintf(hosts[k], sizeof(hosts[k]), "rnd-%d-c%d", k % 22, k / 22);
  fsp_engine *e = make_engine(14, NULL);
  /* warm-up round: creates the series, so the timed rounds measure the steady state */
  struct job warm = {e, map, hosts, 0, vms, 1, 0};
  run_job(&warm);
  pthread_t t[64];
  struct job jobs[64];
  for (int i = 0; i < threads; i++) {
    jobs[i] = (struct job){e, map, hosts, vms * i / threads, vms * (i + 1) / threads, rounds, 0};
    jobs[i].rounds = rounds;
    pthread_create(&t[i], NULL, run_job, &jobs[i]);
  }
  double busy = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    busy += jobs[i].seconds;
  }
  double values = 4.0 * vms * rounds;
  fsp_engine_stats st;
  fsp_engine_get_stats(e, &st);
  printf("write path, %d thread%s: %.0f ns per value (CPU time of the writing threads), "
         "%llu series, %llu values, %llu late\n",
         threads, threads > 1 ? "s" : "", 1e9 * busy / values, (unsigned long long)st.series,
         (unsigned long long)st.values, (unsigned long long)st.late);
  fsp_engine_destroy(e);
  free(hosts);
}

/* bytes the allocator has handed out and not got back */
static double heap_in_use(void) { return (double)mallinfo2().uordblks; }

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f != NULL)
    fclose(f);
  return kib;
}

/* Fills `n` cpu series with 14 days + 1 h of steps, fits them, and reports RSS/series. */
static void memory_per_series(fsp_map *map, int n) {
  long before = rss_kib();
  double heap0 = heap_in_use();
  double clock = 0;
  fsp_engine *e = make_engine(14, &clock);
  int steps = 14 * 288 + 12;
  char host[32];
  for (int k = 0; k < n; k++) {
    snprintf(host, sizeof(host), "vm%d", k);
    for (int s = 0; s <= steps; s++) {
      double y = 2 + sin(2 * M_PI * s / 288.0) + 0.1 * sin(1.3 * s + k);
      write_one(e, map, host, "cpu", T0 + s * 300.0, y);
    }
  }
  double t0 = now_s();
  fsp_engine_pump(e); /* feeds every step and fits every series */
  double fit_s = now_s() - t0;
  long after = rss_kib();
  double heap = heap_in_use() - heap0;
  fsp_engine_stats st;
  fsp_engine_get_stats(e, &st);
  printf("memory per series with a full 14-day window and a fitted model: %.1f KiB RSS, "
         "%.1f KiB heap in use (%d series, %llu fits, %.1f s to feed and fit all)\n",
         (double)(after - before) / n, heap / 1024.0 / n, n, (unsigned long long)st.fits,
         fit_s);
  double heap1 = heap_in_use();
  clock = 2 * 86400.0; /* past the default SeriesTimeout */
  t0 = now_s();
  fsp_engine_pump(e); /* sweeps: every series evicted */
  double sweep_s = now_s() - t0;
  fsp_engine_pump(e); /* frees them: the flush after the eviction has run */
  fsp_engine_get_stats(e, &st);
  printf("eviction: %.1f KiB heap per series given back; %llu series evicted (%llu left, "
         "%llu not freed) by one sweep of %.2f ms\n", (heap1 - heap_in_use()) / 1024.0 / n,
         (unsigned long long)st.evicted, (unsigned long long)st.series,
         (unsigned long long)st.evicting, 1e3 * sweep_s);
  fsp_engine_destroy(e);
}

int main(int argc, char **argv) {
  int vms = 10000, rounds = 60, threads = 0, rss_series = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--vms") == 0)
      vms = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0)
      threads = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--rss-series") == 0)
      rss_series = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: fs-write-cost [--vms V] [--rounds R] [--threads T] "
                      "[--rss-series S]\n");
      return 2;
    }
  }
  if (vms < 1 || rounds < 1 || threads < 0 || threads > 64 || rss_series < 0)
    return 2;
  fsp_map *map = fsp_map_create();
  const char *def[] = {"cpu", "mem", "disk", "net"};
  for (int i = 0; map != NULL && i < 4; i++)
    fsp_map_enable_metric(map, def[i], NULL, 0);
  if (map == NULL)
    return 1;
  if (rss_series > 0) /* first: freed heap of the other runs would hide growth */
    memory_per_series(map, rss_series);
  if (threads > 0) {
    write_cost(map, vms, rounds, threads);
  } else {
    write_cost(map, vms, rounds, 1);
    write_cost(map, vms, rounds, 4);
  }
  fsp_map_destroy(map);
  return 0;
}
