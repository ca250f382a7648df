/* graph_plan.c -- what one picture of foresight-graph shows: the files of the naming
 * contract (docs/contracts.md, "Values inside collectd") that exist for this VM and
 * metric, the time range, and the unit to draw in.
 * A missing usage or forecast file is an error naming the path (for a forecast, with
 * the horizons that do exist, since a wrong --horizon is the usual cause); allocation
 * files are drawn when present. A host set has forecasts but no usage file of its own
 * in the contract, so there usage is optional. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history/history.h"
#include "tools/graph.h"

#define PROG "foresight-graph"

static const char *const usage_plugins[] = {"foresight_virt", "foresight_replay"};

/* Allocation resources drawn beside a metric (fs_alloc instances of docs/contracts.md,
 * "Values inside collectd"). */
static const struct {
  const char *metric, *res, *label, *color;
} alloc_of[] = {
    {"cpu", "vcpus", "vCPUs allocated", "#2B8A3E"},
    {"cpu", "cpu_quota", "CPU quota", "#7048E8"},
    {"mem", "mem", "memory allocated", "#2B8A3E"},
    {"net", "net_kbps", "bandwidth limit", "#2B8A3E"},
};

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* fs_hist_path, with a bad name reported as bad usage (2). */
static int path_of(const graph_opts *o, const graph_plan *p, const char *plugin,
                   const char *plugin_instance, const char *type, const char *type_instance,
                   char *out) {
  fs_hist_error err = {0};
  if (fs_hist_path(out, GRAPH_PATH_MAX, o->datadir, p->host, plugin, plugin_instance, type,
                   type_instance, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    return err.code == FS_HIST_EINVAL ? 2 : 1;
  }
  return 0;
}

/* Sets p->usage and *plugin; the file must exist unless `optional`. */
static int find_usage(const graph_opts *o, graph_plan *p, int optional, const char **plugin) {
  char tried[2][GRAPH_PATH_MAX];
  size_t n = o->plugin != NULL ? 1 : 2;
  for (size_t i = 0; i < n; i++) {
    const char *name = o->plugin != NULL ? o->plugin : usage_plugins[i];
    int rc = path_of(o, p, name, NULL, "fs_usage", o->metric, tried[i]);
    if (rc != 0)
      return rc;
    if (exists(tried[i])) {
      memcpy(p->usage, tried[i], sizeof(p->usage)); /* same size */
      *plugin = name;
      return 0;
    }
  }
  *plugin = NULL;
  if (optional)
    return 0;
  if (n == 1)
    fprintf(stderr, PROG ": no usage file %s\n", tried[0]);
  else
    fprintf(stderr, PROG ": no usage file %s nor %s (--plugin names another)\n", tried[0],
            tried[1]);
  return 1;
}

/* Lists the fs_forecast-h*.rrd beside a missing forecast file, for the error. */
static void list_horizons(const char *path, char *out, size_t n) {
  out[0] = '\0';
  char dir[GRAPH_PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    return;
  *slash = '\0';
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  size_t len = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    long h;
    char rest[8];
    if (sscanf(e->d_name, "fs_forecast-h%ld%7s", &h, rest) == 2 && strcmp(rest, ".rrd") == 0 &&
        len + 24 < n)
      len += (size_t)snprintf(out + len, n - len, "%s%ld", len > 0 ? ", " : "", h);
  }
  closedir(d);
}

static int find_forecast(const graph_opts *o, graph_plan *p) {
  char instance[32];
  snprintf(instance, sizeof(instance), "h%d", o->horizon_s);
  int rc = path_of(o, p, "foresight_forecast", o->metric, "fs_forecast", instance, p->forecast);
  if (rc != 0)
    return rc;
  if (exists(p->forecast))
    return 0;
  char have[256];
  list_horizons(p->forecast, have, sizeof(have));
  if (have[0] != '\0')
    fprintf(stderr, PROG ": no forecast file %s (--horizon: files exist for %s s)\n",
            p->forecast, have);
  else
    fprintf(stderr, PROG ": no forecast file %s\n", p->forecast);
  return 1;
}

static int find_allocs(const graph_opts *o, graph_plan *p, const char *plugin) {
  p->n_alloc = 0;
  for (size_t i = 0; plugin != NULL && i < sizeof(alloc_of) / sizeof(alloc_of[0]); i++) {
    if (strcmp(alloc_of[i].metric, o->metric) != 0 || p->n_alloc == GRAPH_MAX_ALLOC)
      continue;
    graph_alloc *a = &p->alloc[p->n_alloc];
    int rc = path_of(o, p, plugin, NULL, "fs_alloc", alloc_of[i].res, a->path);
    if (rc != 0)
      return rc;
    if (!exists(a->path))
      continue;
    a->label = alloc_of[i].label;
    a->color = alloc_of[i].color;
    p->n_alloc++;
  }
  return 0;
}

static int last_of(const char *path, time_t *last) {
  fs_hist_error err = {0};
  if (fs_hist_last(path, last, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.msg);
    return 1;
  }
  return 0;
}

static int resolve_times(const graph_opts *o, graph_plan *p) {
  time_t usage_last = 0, forecast_last = 0, now = time(NULL);
  if (p->usage[0] != '\0' && last_of(p->usage, &usage_last) != 0)
    return 1;
  if (last_of(p->forecast, &forecast_last) != 0)
    return 1;
  p->last_sample = p->usage[0] != '\0' ? usage_last : forecast_last;
  switch (o->end.when) {
  case GRAPH_NOW: p->end = now; break;
  case GRAPH_LAST: /* the newest forecast's target, or the newest sample if later */
    p->end = forecast_last + o->horizon_s;
    if (usage_last > p->end)
      p->end = usage_last;
    break;
  case GRAPH_RELATIVE: p->end = now + (time_t)o->end.s; break;
  case GRAPH_EPOCH: p->end = (time_t)o->end.s; break;
  }
  p->start = o->start.when == GRAPH_EPOCH ? (time_t)o->start.s : p->end + (time_t)o->start.s;
  if (p->start >= p->end) {
    fprintf(stderr, PROG ": --start %lld is not before --end %lld\n", (long long)p->start,
            (long long)p->end);
    return 2;
  }
  return 0;
}

/* Largest value of any data source of path in the picture's range; NAN if none. */
static double max_in(const char *path, time_t from, time_t to) {
  fs_hist_series s;
  double max = NAN;
  if (fs_hist_fetch(path, from, to, &s, NULL) != 0)
    return max;
  for (size_t i = 0; i < s.n * s.n_ds; i++)
    if (!isnan(s.values[i]) && (isnan(max) || s.values[i] > max))
      max = s.values[i];
  fs_hist_series_free(&s);
  return max;
}

/* Largest value of every file in the picture, in the files' unit; NAN if none. */
static double max_of_files(const graph_plan *p) {
  double max = NAN;
  const char *paths[2 + GRAPH_MAX_ALLOC] = {p->usage, p->forecast};
  for (size_t i = 0; i < p->n_alloc; i++)
    paths[2 + i] = p->alloc[i].path;
  for (size_t i = 0; i < 2 + p->n_alloc; i++) {
    double m = paths[i][0] != '\0' ? max_in(paths[i], p->start, p->end) : NAN;
    if (!isnan(m) && (isnan(max) || m > max))
      max = m;
  }
  return max;
}

/* Values are stored in the contract's units (cores, KiB, KB/s); memory and rates are
 * drawn in a unit that keeps the axis labels short. */
static void choose_unit(const graph_opts *o, graph_plan *p) {
  double max = max_of_files(p);
  p->unit = "";
  p->scale = 1;
  if (strcmp(o->metric, "cpu") == 0) {
    p->unit = "cores";
  } else if (strcmp(o->metric, "mem") == 0 || strcmp(o->metric, "mem_avail") == 0) {
    int gib = !isnan(max) && max >= 4.0 * 1024 * 1024;
    p->unit = gib ? "GiB" : "MiB";
    p->scale = gib ? 1.0 / (1024.0 * 1024.0) : 1.0 / 1024.0;
  } else if (strcmp(o->metric, "disk") == 0 || strcmp(o->metric, "net") == 0) {
    int mbs = !isnan(max) && max >= 10000;
    p->unit = mbs ? "MB/s" : "KB/s";
    p->scale = mbs ? 1.0 / 1000.0 : 1.0;
  }
  p->max = max * p->scale;
}

int graph_plan_make(const graph_opts *o, graph_plan *p) {
  memset(p, 0, sizeof(*p));
  int n = o->set != NULL ? snprintf(p->host, sizeof(p->host), "set-%s", o->set)
                         : snprintf(p->host, sizeof(p->host), "%s", o->vm);
  if (n < 0 || (size_t)n >= sizeof(p->host)) {
    fprintf(stderr, PROG ": --%s: name too long\n", o->set != NULL ? "set" : "vm");
    return 2;
  }
  const char *plugin = NULL;
  int rc;
  if ((rc = find_usage(o, p, o->set != NULL, &plugin)) != 0 ||
      (rc = find_forecast(o, p)) != 0 || (rc = find_allocs(o, p, plugin)) != 0 ||
      (rc = resolve_times(o, p)) != 0)
    return rc;
  choose_unit(o, p);
  return 0;
}
