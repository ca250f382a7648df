/* graph.c -- foresight-graph: one VM's usage, forecast band and allocation in a PNG.
 *
 * Reads the RRD files foresight's plugins keep in collectd's DataDir (the naming
 * contract of docs/contracts.md, "Values inside collectd") and draws them with librrd
 * in process: no rrdtool binary, no shell quoting. This file is the command line only;
 * graph_plan.c finds the files, graph_draw.c draws.
 *
 * Exit status: 0 written, 1 a file is missing or librrd failed (the message names the
 * file), 2 bad usage (the message names the option).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/graph.h"

#define PROG "foresight-graph"

static void usage(FILE *to) {
  fprintf(to,
          "Usage: " PROG " --datadir DIR (--vm VM | --set NAME) --metric METRIC -o OUT.png\n"
          "                       [OPTION]...\n"
          "Draw a VM's usage, its forecast band and its allocation from the RRD files\n"
          "foresight keeps in collectd's DataDir, as a PNG.\n"
          "\n"
          "  -d, --datadir DIR     collectd's DataDir (the rrdtool plugin's DataDir)\n"
          "  -v, --vm VM           the VM (its folder under DIR)\n"
          "  -s, --set NAME        a host set's totals instead (folder set-NAME); also\n"
          "                        --set-name NAME\n"
          "  -m, --metric METRIC   cpu, mem, mem_avail, disk, net, or an indicator's name\n"
          "  -H, --horizon SEC     forecast horizon drawn (default 3600): the file\n"
          "                        fs_forecast-hSEC.rrd, shifted by SEC so that each\n"
          "                        forecast sits at the time it is about\n"
          "  -p, --plugin NAME     usage plugin (default: foresight_virt, else\n"
          "                        foresight_replay, whichever has the file)\n"
          "  -S, --start TIME      first time shown: -1d (before the end; s, m, h, d, w),\n"
          "                        or epoch seconds (default -1d)\n"
          "  -E, --end TIME        last time shown: now, last (the newest forecast's\n"
          "                        target), -2h (before now), or epoch seconds\n"
          "                        (default last)\n"
          "  -c, --confidence P    the forecasts' central interval, for the legend\n"
          "                        (default 0.9)\n"
          "  -W, --width PX        image width (default 900)\n"
          "  -G, --height PX       image height (default 420)\n"
          "  -o, --out FILE        the PNG to write\n"
          "  -h, --help            this text\n"
          "\n"
          "Files read (DIR/VM/...): PLUGIN/fs_usage-METRIC.rrd,\n"
          "foresight_forecast-METRIC/fs_forecast-hSEC.rrd (mean, lo, hi) and, when\n"
          "present, PLUGIN/fs_alloc-RES.rrd (cpu: vcpus and cpu_quota; mem: mem;\n"
          "net: net_kbps).\n"
          "\n"
          "Exit status: 0 on success, 1 when a file is missing or cannot be drawn, 2 on\n"
          "bad usage.\n");
}

static int bad(const char *opt, const char *arg, const char *why) {
  fprintf(stderr, PROG ": %s: bad value \"%s\" (%s)\n", opt, arg, why);
  return -1;
}

static int parse_int(const char *opt, const char *arg, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || errno != 0 || v < lo || v > hi) {
    char why[64];
    snprintf(why, sizeof(why), "an integer in [%ld, %ld]", lo, hi);
    return bad(opt, arg, why);
  }
  *out = (int)v;
  return 0;
}

/* "now", "last", "-<n>[s|m|h|d|w]" or epoch seconds. */
static int parse_time(const char *opt, const char *arg, int allow_last, graph_time *t) {
  if (strcmp(arg, "now") == 0) {
    t->when = GRAPH_NOW;
    return 0;
  }
  if (allow_last && strcmp(arg, "last") == 0) {
    t->when = GRAPH_LAST;
    return 0;
  }
  char *end;
  errno = 0;
  long long v = strtoll(arg, &end, 10);
  if (end == arg || errno != 0)
    return bad(opt, arg, allow_last ? "now, last, -1d or epoch seconds"
                                    : "now, -1d or epoch seconds");
  if (arg[0] != '-') {
    if (*end != '\0' || v <= 0)
      return bad(opt, arg, "epoch seconds must be a positive integer");
    t->when = GRAPH_EPOCH;
    t->s = v;
    return 0;
  }
  static const struct { char c; long long s; } units[] = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  long long mult = 0;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (end[0] == units[i].c && end[1] == '\0')
      mult = units[i].s;
  if (*end == '\0')
    mult = 1;
  if (mult == 0 || v == 0 || v < -(1LL << 40) / mult)
    return bad(opt, arg, "a relative time is -<n> with a unit s, m, h, d or w");
  t->when = GRAPH_RELATIVE;
  t->s = v * mult;
  return 0;
}

/* A name becomes a folder or file name in the DataDir (history.h's rule). */
static int name_ok(const char *name) {
  return name[0] != '\0' && strchr(name, '/') == NULL && strstr(name, "..") == NULL;
}

/* Returns 0, 1 for --help, or -1 after printing what is wrong. */
static int parse_args(int argc, char **argv, graph_opts *o) {
  enum { OPT_SET_NAME = 1000 };
  static const struct option longs[] = {
      {"datadir", required_argument, NULL, 'd'},  {"vm", required_argument, NULL, 'v'},
      {"set", required_argument, NULL, 's'},
      {"set-name", required_argument, NULL, OPT_SET_NAME},
      {"metric", required_argument, NULL, 'm'},   {"horizon", required_argument, NULL, 'H'},
      {"plugin", required_argument, NULL, 'p'},   {"start", required_argument, NULL, 'S'},
      {"end", required_argument, NULL, 'E'},      {"confidence", required_argument, NULL, 'c'},
      {"width", required_argument, NULL, 'W'},    {"height", required_argument, NULL, 'G'},
      {"out", required_argument, NULL, 'o'},      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof(*o));
  o->horizon_s = 3600;
  o->confidence = 0.9;
  o->start = (graph_time){GRAPH_RELATIVE, -86400};
  o->end = (graph_time){GRAPH_LAST, 0};
  o->width = 900;
  o->height = 420;
  int c, rc = 0;
  opterr = 1;
  while (rc == 0 && (c = getopt_long(argc, argv, "d:v:s:m:H:p:S:E:c:W:G:o:h", longs, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'd': o->datadir = optarg; break;
    case 'v': o->vm = optarg; break;
    case 's':
    case OPT_SET_NAME: o->set = optarg; break;
    case 'm': o->metric = optarg; break;
    case 'H': rc = parse_int("--horizon", optarg, 1, 366L * 86400, &o->horizon_s); break;
    case 'p': o->plugin = optarg; break;
    case 'S': rc = parse_time("--start", optarg, 0, &o->start); break;
    case 'E': rc = parse_time("--end", optarg, 1, &o->end); break;
    case 'c':
      errno = 0;
      o->confidence = strtod(optarg, &end);
      if (end == optarg || *end != '\0' || errno != 0 || !(o->confidence > 0) ||
          !(o->confidence < 1))
        rc = bad("--confidence", optarg, "a level in (0, 1), e.g. 0.9");
      break;
    case 'W': rc = parse_int("--width", optarg, 300, 10000, &o->width); break;
    case 'G': rc = parse_int("--height", optarg, 200, 10000, &o->height); break;
    case 'o': o->out = optarg; break;
    case 'h': return 1;
    default: return -1; /* getopt_long named the option */
    }
  }
  if (rc != 0)
    return -1;
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  const char *missing = o->datadir == NULL             ? "--datadir"
                        : o->vm == NULL && o->set == NULL ? "--vm (or --set)"
                        : o->metric == NULL            ? "--metric"
                        : o->out == NULL               ? "-o (--out)"
                                                       : NULL;
  if (missing != NULL) {
    fprintf(stderr, PROG ": %s is required\n", missing);
    return -1;
  }
  const char *names[][2] = {{"--vm", o->vm}, {"--set", o->set}, {"--metric", o->metric},
                            {"--plugin", o->plugin}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (names[i][1] != NULL && !name_ok(names[i][1]))
      return bad(names[i][0], names[i][1], "a name without '/' or \"..\"");
  if (o->vm != NULL && o->set != NULL) {
    fprintf(stderr, PROG ": --vm \"%s\" and --set \"%s\": give one of them\n", o->vm, o->set);
    return -1;
  }
  if (o->start.when != GRAPH_RELATIVE && o->start.when != GRAPH_EPOCH) {
    fprintf(stderr, PROG ": --start: \"now\" leaves nothing to draw\n");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  graph_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc == 1) {
    usage(stdout);
    return 0;
  }
  if (rc != 0) {
    fprintf(stderr, "Try '" PROG " --help'.\n");
    return 2;
  }
  graph_plan *p = calloc(1, sizeof(*p)); /* paths make it large for the stack */
  if (p == NULL) {
    fprintf(stderr, PROG ": out of memory\n");
    return 1;
  }
  long w = 0, h = 0;
  int status = graph_plan_make(&o, p);
  if (status == 0)
    status = graph_draw(&o, p, &w, &h);
  if (status == 0)
    printf("%s: %ldx%ld PNG\n", o.out, w, h);
  free(p);
  return status;
}
