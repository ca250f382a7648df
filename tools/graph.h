/* graph.h -- inside foresight-graph: its options, the plan of one picture (files,
 * units, times) and the two steps between them.
 *
 *   graph.c       command line -> graph_opts
 *   graph_plan.c  graph_opts + the DataDir -> graph_plan: which files exist, the time
 *                 range, the unit the values are drawn in
 *   graph_draw.c  graph_plan -> rrd_graph_v arguments -> PNG
 */
#ifndef TOOLS_GRAPH_H
#define TOOLS_GRAPH_H

#include <stddef.h>
#include <time.h>

#define GRAPH_PATH_MAX 4096
#define GRAPH_MAX_ALLOC 2

/* A time on the command line: "now", "last", "-1d" (relative) or epoch seconds. */
typedef enum graph_when { GRAPH_NOW, GRAPH_LAST, GRAPH_RELATIVE, GRAPH_EPOCH } graph_when;
typedef struct graph_time {
  graph_when when;
  long long s; /* seconds: offset (negative) for GRAPH_RELATIVE, epoch for GRAPH_EPOCH */
} graph_time;

typedef struct graph_opts {
  const char *datadir;
  const char *vm;     /* host folder of a VM ... */
  const char *set;    /* ... or of a host set's totals (folder "set-<name>") */
  const char *metric; /* cpu, mem, mem_avail, disk, net, or an indicator's name */
  const char *plugin; /* usage plugin; NULL: foresight_virt, else foresight_replay */
  const char *out;
  int horizon_s;
  double confidence; /* only for the title and legend: the files do not record it */
  graph_time start, end;
  int width, height; /* of the whole image, pixels */
} graph_opts;

typedef struct graph_alloc {
  char path[GRAPH_PATH_MAX];
  const char *label; /* "vCPUs allocated", ... */
  const char *color; /* rrdtool #RRGGBB */
} graph_alloc;

typedef struct graph_plan {
  char host[256];
  char usage[GRAPH_PATH_MAX]; /* "" when absent (a host set has no usage file) */
  char forecast[GRAPH_PATH_MAX];
  size_t n_alloc;
  graph_alloc alloc[GRAPH_MAX_ALLOC];
  const char *unit; /* "cores", "MiB", "GiB", "KB/s", "MB/s", "" */
  double scale;     /* file value x scale = drawn value */
  double max;       /* largest drawn value in the range (scaled), NAN if none */
  time_t start, end;
  time_t last_sample; /* newest usage sample (or forecast origin for a set), 0 if none */
} graph_plan;

/* Finds the files and resolves times and units. Returns 0, or 1 after printing an
 * error that names the missing file or the bad value. */
int graph_plan_make(const graph_opts *o, graph_plan *p);

/* Draws p into o->out. Returns 0 and sets *w, *h to the image size, or 1 after printing
 * librrd's error. */
int graph_draw(const graph_opts *o, const graph_plan *p, long *w, long *h);

#endif /* TOOLS_GRAPH_H */
