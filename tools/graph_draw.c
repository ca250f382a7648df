/* graph_draw.c -- a graph_plan as rrd_graph arguments, drawn in process.
 *
 * What the reader sees, back to front:
 *   - the forecast band: a translucent area from lo to hi (an invisible area up to lo,
 *     then hi - lo stacked on it);
 *   - the forecast mean, dashed;
 *   - usage, solid and on top: the thing the forecast is judged against;
 *   - allocations as lines (RRD draws a value over its whole step, so a resize shows
 *     as a step);
 *   - a dotted rule at the newest usage sample: to its right the picture is forecast
 *     only.
 * A forecast made at origin t is about t + h, and the forecast file stores it at t;
 * SHIFT moves the three forecast series by h so band and usage line up in time.
 * Values are multiplied by the plan's scale (KiB -> MiB, ...) in CDEFs, and the axis
 * keeps that unit (--units-exponent 0) instead of adding its own SI prefix.
 * rrd_graph_v is not reentrant; this program has one thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>

#include "tools/graph.h"

#define PROG "foresight-graph"

typedef struct args {
  char **v;
  int n, cap;
  int failed; /* an allocation failed: draw nothing */
} args;

static void add(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(args *a, const char *fmt, ...) {
  if (a->failed)
    return;
  if (a->n == a->cap) {
    int cap = a->cap > 0 ? 2 * a->cap : 64;
    char **v = realloc(a->v, (size_t)cap * sizeof(*v));
    if (v == NULL) {
      a->failed = 1;
      return;
    }
    a->v = v;
    a->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (s == NULL) {
    a->failed = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)len + 1, fmt, ap);
  va_end(ap);
  a->v[a->n++] = s;
}

static void args_free(args *a) {
  for (int i = 0; i < a->n; i++)
    free(a->v[i]);
  free(a->v);
}

/* rrd_graph splits DEF arguments at ':'; a path may hold one (a VM named "a:b"). */
static char *escape_colons(const char *in) {
  size_t n = 0;
  for (const char *c = in; *c; c++)
    n += *c == ':' ? 2 : 1;
  char *out = malloc(n + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (const char *c = in; *c; c++) {
    if (*c == ':')
      *o++ = '\\';
    *o++ = *c;
  }
  *o = '\0';
  return out;
}

/* "60 min", "2 h", "90 s": the horizon as the title gives it. */
static void horizon_text(int h_s, char *out, size_t n) {
  if (h_s % 3600 == 0 && h_s >= 7200)
    snprintf(out, n, "%d h", h_s / 3600);
  else if (h_s % 60 == 0)
    snprintf(out, n, "%d min", h_s / 60);
  else
    snprintf(out, n, "%d s", h_s);
}

/* printf format of a value in the legend: as many decimals as the unit deserves. */
static const char *value_format(const char *unit) {
  if (strcmp(unit, "MiB") == 0)
    return "%8.0lf";
  if (strcmp(unit, "KB/s") == 0)
    return "%8.1lf";
  return "%8.2lf";
}

/* DEF of one data source of path over the picture's range, scaled: vname = raw x
 * scale, infinities unknown. With shift_s, the series is moved later by shift_s seconds; SHIFT moves only
 * what was fetched, so the fetch itself starts and ends shift_s earlier. */
static void def_scaled(args *a, const graph_plan *p, const char *vname, const char *path,
                       const char *ds, int shift_s) {
  char *esc = escape_colons(path);
  if (esc == NULL) {
    a->failed = 1;
    return;
  }
  add(a, "DEF:%s_raw=%s:%s:AVERAGE:start=%lld:end=%lld", vname, esc, ds,
      (long long)(p->start - shift_s), (long long)(p->end - shift_s));
  free(esc);
  if (shift_s != 0)
    add(a, "SHIFT:%s_raw:%d", vname, shift_s);
  /* a model not yet calibrated has an open interval (+inf): unknown, not a wall */
  add(a, "CDEF:%s=%s_raw,ISINF,UNKN,%s_raw,IF,%.17g,*", vname, vname, vname, p->scale);
}

static void style(args *a, const graph_opts *o, const graph_plan *p) {
  add(a, "--imgformat=PNG");
  add(a, "--full-size-mode");
  add(a, "--width=%d", o->width);
  add(a, "--height=%d", o->height);
  add(a, "--border=0");
  add(a, "--font=DEFAULT:9:DejaVu Sans");
  add(a, "--font=TITLE:12:DejaVu Sans");
  add(a, "--font=AXIS:8:DejaVu Sans");
  add(a, "--font=UNIT:9:DejaVu Sans");
  add(a, "--font=LEGEND:9:DejaVu Sans Mono");
  static const char *const colors[] = {"BACK#FFFFFF",   "CANVAS#FFFFFF", "SHADEA#FFFFFF",
                                       "SHADEB#FFFFFF", "GRID#E8E8E8",   "MGRID#CFCFCF",
                                       "FONT#2B2B2B",   "AXIS#8C8C8C",   "FRAME#8C8C8C",
                                       "ARROW#8C8C8C"};
  for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
    add(a, "--color=%s", colors[i]);
  add(a, "--grid-dash=1:0"); /* solid, light grid lines read better than dotted ones */
  add(a, "--units-exponent=0");
  /* rrdtool's own label format drops the decimals a range below 1 needs */
  add(a, "--left-axis-format=%s",
      !(p->max < 1) ? (!(p->max < 10) ? "%.0lf" : "%.1lf") : "%.2lf");
  add(a, "--disable-rrdtool-tag");
  add(a, "--tabwidth=60");
}

static void title(args *a, const graph_opts *o, const graph_plan *p) {
  char h[32];
  horizon_text(o->horizon_s, h, sizeof(h));
  /* "%g" of 90.0 is "90": the title shows "90 % band", and 97.5 stays 97.5 */
  if (o->set != NULL)
    add(a, "--title=host set %s \xe2\x80\x94 %s (h = %s, %g %% band)", o->set, o->metric, h,
        o->confidence * 100);
  else
    add(a, "--title=%s \xe2\x80\x94 %s (h = %s, %g %% band)", o->vm, o->metric, h,
        o->confidence * 100);
  if (p->unit[0] != '\0')
    add(a, "--vertical-label=%s", p->unit);
}

/* The legend's GPRINTs of one series: "last", and for usage its mean and peak; the
 * unit once, at the end of the row. */
static void gprint(args *a, const char *vname, const graph_plan *p, int summary) {
  const char *fmt = value_format(p->unit);
  add(a, "VDEF:%s_last=%s,LAST", vname, vname);
  add(a, "GPRINT:%s_last:last %s%s", vname, fmt, summary ? "" : " ");
  if (summary) {
    add(a, "VDEF:%s_avg=%s,AVERAGE", vname, vname);
    add(a, "VDEF:%s_max=%s,MAXIMUM", vname, vname);
    add(a, "GPRINT:%s_avg:mean %s", vname, fmt);
    add(a, "GPRINT:%s_max:peak %s ", vname, fmt);
  }
  add(a, "COMMENT:%s\\l", p->unit);
}

static void series(args *a, const graph_opts *o, const graph_plan *p) {
  char h[32];
  horizon_text(o->horizon_s, h, sizeof(h));
  double tail = (1 - o->confidence) / 2 * 100;
  def_scaled(a, p, "fmean", p->forecast, "mean", o->horizon_s);
  def_scaled(a, p, "flo", p->forecast, "lo", o->horizon_s);
  def_scaled(a, p, "fhi", p->forecast, "hi", o->horizon_s);
  add(a, "CDEF:fwidth=fhi,flo,-");
  add(a, "AREA:flo");
  add(a, "AREA:fwidth#F59F0055:%-22s:STACK", "forecast band");
  add(a, "COMMENT:%g %% to %g %% quantile, %s ahead\\l", tail, 100 - tail, h);
  add(a, "LINE1.5:fmean#E8590C:%-22s:dashes=7,4", "forecast mean");
  gprint(a, "fmean", p, 0);
  if (p->usage[0] != '\0') {
    def_scaled(a, p, "usage", p->usage, "value", 0);
    add(a, "LINE1.5:usage#1C4E80:%-22s", "usage");
    gprint(a, "usage", p, 1);
  }
  for (size_t i = 0; i < p->n_alloc; i++) {
    char vname[32];
    snprintf(vname, sizeof(vname), "alloc%zu", i);
    def_scaled(a, p, vname, p->alloc[i].path, "value", 0);
    add(a, "LINE2:%s%s:%-22s", vname, p->alloc[i].color, p->alloc[i].label);
    gprint(a, vname, p, 0);
  }
  if (p->last_sample > p->start && p->last_sample < p->end)
    add(a, "VRULE:%lld#8C8C8C:%s\\l:dashes=2,3", (long long)p->last_sample,
        p->usage[0] != '\0' ? "newest sample" : "newest forecast origin");
}

static long info_cnt(const rrd_info_t *info, const char *key) {
  for (const rrd_info_t *i = info; i != NULL; i = i->next)
    if (strcmp(i->key, key) == 0 && i->type == RD_I_CNT)
      return (long)i->value.u_cnt;
  return -1;
}

int graph_draw(const graph_opts *o, const graph_plan *p, long *w, long *h) {
  args a = {0};
  add(&a, "graph");
  add(&a, "%s", o->out);
  add(&a, "--start=%lld", (long long)p->start);
  add(&a, "--end=%lld", (long long)p->end);
  style(&a, o, p);
  title(&a, o, p);
  if (p->unit[0] != '\0') /* the contract's metrics are never negative */
    add(&a, "--lower-limit=0");
  series(&a, o, p);
  if (a.failed) {
    args_free(&a);
    fprintf(stderr, PROG ": out of memory\n");
    return 1;
  }
  rrd_clear_error();
  rrd_info_t *info = rrd_graph_v(a.n, a.v);
  args_free(&a);
  /* librrd returns its info list even when writing the image failed */
  if (info == NULL || rrd_test_error()) {
    fprintf(stderr, PROG ": %s: %s\n", o->out, rrd_get_error());
    if (info != NULL)
      rrd_info_free(info);
    return 1;
  }
  *w = info_cnt(info, "image_width");
  *h = info_cnt(info, "image_height");
  rrd_info_free(info);
  return 0;
}
