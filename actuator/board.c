/* board.c -- the latest usage, allocation and forecast of each (VM, resource), and the
 * rows of a planning cycle (see board.h for the contract).
 *
 * Layout: an array of VM entries sorted by name (binary search: collectd's write
 * threads put a dozen values per VM per interval, and a new VM is rare), each with one
 * slot per resource; a slot keeps its forecast points sorted by horizon, one per
 * horizon, the newest replacing the older.
 * Invariants: names unique and sorted; in a slot, points strictly ascending by h_s and
 * at most ACT_BOARD_MAX_POINTS; *_recv are wall times of arrival, 0 when never; a
 * slot's model is a NUL-terminated copy the board owns ("" when unknown).
 * Not here: locking (the plugin's), planning (planner.c). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/act_internal.h"
#include "actuator/board.h"

typedef struct pt_slot {
  act_point p;
  double recv;
} pt_slot;

typedef struct res_slot {
  double alloc, alloc_recv; /* planner units; NAN when never seen */
  double applied_ts;        /* the applier's last change (wall), 0: none */
  double usage, usage_recv;
  pt_slot *pts;
  size_t n_pts, cap_pts;
  char model[ACT_BOARD_MODEL_MAX]; /* of the newest forecast value; "" unknown */
} res_slot;

typedef struct vm_entry {
  char name[ACT_NAME_MAX];
  char set[ACT_NAME_MAX]; /* from the values' meta; "" when never named */
  double last_recv;       /* newest arrival of any value */
  res_slot res[ACT_RES_COUNT];
} vm_entry;

struct act_board {
  int max_age_s;
  vm_entry **vms; /* sorted by name */
  size_t n_vms, cap_vms;
};

/* Which resources a metric feeds, and the factor to planner units. */
typedef struct metric_map {
  const char *metric;
  act_resource res[2];
  int n_res;
  double scale;
} metric_map;

static const metric_map usage_map[] = {
    {"cpu", {ACT_CPU, ACT_CPU_QUOTA}, 2, 1.0},
    {"mem", {ACT_MEMORY, ACT_MEMORY}, 1, 1.0 / 1024.0}, /* KiB -> MiB */
    {"net", {ACT_NET_KBPS, ACT_NET_KBPS}, 1, 1.0},
};

static const metric_map alloc_map[] = {
    {"vcpus", {ACT_CPU, ACT_CPU}, 1, 1.0},
    {"cpu_quota", {ACT_CPU_QUOTA, ACT_CPU_QUOTA}, 1, 1.0},
    {"mem", {ACT_MEMORY, ACT_MEMORY}, 1, 1.0 / 1024.0}, /* KiB -> MiB */
    {"net_kbps", {ACT_NET_KBPS, ACT_NET_KBPS}, 1, 1.0},
};

static const metric_map *find_map(act_obs_kind kind, const char *metric) {
  const metric_map *m = kind == ACT_OBS_ALLOC ? alloc_map : usage_map;
  size_t n = kind == ACT_OBS_ALLOC ? sizeof(alloc_map) / sizeof(alloc_map[0])
                                   : sizeof(usage_map) / sizeof(usage_map[0]);
  for (size_t i = 0; metric != NULL && i < n; i++)
    if (strcmp(m[i].metric, metric) == 0)
      return &m[i];
  return NULL;
}

act_board *act_board_create(int max_age_s, act_error *err) {
  if (max_age_s <= 0) {
    act__fail(err, ACT_EINVAL, "board: MaxAge %d (must be > 0)", max_age_s);
    return NULL;
  }
  act_board *b = calloc(1, sizeof(*b));
  if (b == NULL) {
    act__fail(err, ACT_ENOMEM, "board: out of memory");
    return NULL;
  }
  b->max_age_s = max_age_s;
  return b;
}

static void entry_free(vm_entry *e) {
  for (int r = 0; e != NULL && r < ACT_RES_COUNT; r++)
    free(e->res[r].pts);
  free(e);
}

void act_board_destroy(act_board *b) {
  if (b == NULL)
    return;
  for (size_t i = 0; i < b->n_vms; i++)
    entry_free(b->vms[i]);
  free(b->vms);
  free(b);
}

/* The index of vm, or where it would go (*found 0). */
static size_t entry_index(const act_board *b, const char *vm, int *found) {
  size_t lo = 0, hi = b->n_vms;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(b->vms[mid]->name, vm);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

static vm_entry *entry_get(act_board *b, const char *vm) {
  int found;
  size_t at = entry_index(b, vm, &found);
  if (found)
    return b->vms[at];
  if (act__grow((void **)&b->vms, &b->cap_vms, b->n_vms + 1, sizeof(*b->vms)) != 0)
    return NULL;
  vm_entry *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  snprintf(e->name, sizeof(e->name), "%s", vm);
  for (int r = 0; r < ACT_RES_COUNT; r++) {
    e->res[r].alloc = NAN;
    e->res[r].usage = NAN;
  }
  memmove(&b->vms[at + 1], &b->vms[at], (b->n_vms - at) * sizeof(*b->vms));
  b->vms[at] = e;
  b->n_vms++;
  return e;
}

/* Puts point p into s, replacing the one of its horizon; 0 or ACT_ENOMEM/EINVAL. */
static int slot_put_point(res_slot *s, const act_point *p, double now) {
  size_t i = 0;
  while (i < s->n_pts && s->pts[i].p.h_s < p->h_s)
    i++;
  if (i < s->n_pts && s->pts[i].p.h_s == p->h_s) {
    s->pts[i] = (pt_slot){*p, now};
    return 0;
  }
  if (s->n_pts >= ACT_BOARD_MAX_POINTS)
    return ACT_EINVAL;
  if (act__grow((void **)&s->pts, &s->cap_pts, s->n_pts + 1, sizeof(*s->pts)) != 0)
    return ACT_ENOMEM;
  memmove(&s->pts[i + 1], &s->pts[i], (s->n_pts - i) * sizeof(*s->pts));
  s->pts[i] = (pt_slot){*p, now};
  s->n_pts++;
  return 0;
}

static int check_obs(const act_obs *o, act_error *err) {
  if (o == NULL || !act__name_ok(o->vm))
    return act__fail(err, ACT_EINVAL, "board: VM name \"%.63s\" (must be 1 to %d "
                     "printable characters without spaces)",
                     o == NULL || o->vm == NULL ? "" : o->vm, ACT_NAME_MAX - 1);
  if (o->set != NULL && o->set[0] != '\0' && !act__name_ok(o->set))
    return act__fail(err, ACT_EINVAL, "board: VM \"%s\": host set \"%.63s\" (must be "
                     "printable, without spaces)", o->vm, o->set);
  if (o->kind == ACT_OBS_FORECAST && o->h_s <= 0)
    return act__fail(err, ACT_EINVAL, "board: VM \"%s\": forecast %s horizon %d (must "
                     "be > 0)", o->vm, o->metric ? o->metric : "", o->h_s);
  if ((unsigned)o->kind > ACT_OBS_FORECAST)
    return act__fail(err, ACT_EINVAL, "board: VM \"%s\": kind %d", o->vm, (int)o->kind);
  return 0;
}

/* 1 when the value is usable at all. */
static int obs_finite(const act_obs *o) {
  if (!isfinite(o->value))
    return 0;
  if (o->kind == ACT_OBS_FORECAST)
    return isfinite(o->hi) && isfinite(o->lo) && o->lo <= o->hi;
  return o->kind == ACT_OBS_USAGE || o->value >= 0;
}

/* Copies a model name that fits and is printable ASCII into out, else "". The name
 * reaches MQTT messages (JSON, topic consumers): nothing else is worth carrying. */
static void model_copy(char out[ACT_BOARD_MODEL_MAX], const char *model) {
  size_t n = 0;
  out[0] = '\0';
  for (; model != NULL && model[n] != '\0'; n++)
    if (n + 1 >= ACT_BOARD_MODEL_MAX || (unsigned char)model[n] > 127 ||
        !isgraph((unsigned char)model[n]))
      return;
  if (n > 0)
    memcpy(out, model, n + 1);
}

/* Applies o to e's slot r; 1 stored, 0 ignored, < 0 error. */
static int slot_put(res_slot *s, const act_obs *o, double scale, double now) {
  switch (o->kind) {
  case ACT_OBS_USAGE:
    s->usage = o->value * scale;
    s->usage_recv = now;
    return 1;
  case ACT_OBS_ALLOC:
    if (s->applied_ts != 0 && !(o->ts > s->applied_ts))
      return 0; /* read before the applier's change: stale */
    s->alloc = o->value * scale;
    s->alloc_recv = now;
    return 1;
  case ACT_OBS_FORECAST: {
    act_point p = {.h_s = o->h_s, .mean = o->value * scale, .lo = o->lo * scale,
                   .hi = o->hi * scale};
    int rc = slot_put_point(s, &p, now);
    if (rc == 0)
      model_copy(s->model, o->model);
    return rc == 0 ? 1 : rc;
  }
  }
  return 0;
}

int act_board_put(act_board *b, const act_obs *o, double now, act_error *err) {
  int rc = check_obs(o, err);
  if (rc != 0)
    return rc;
  const metric_map *m = find_map(o->kind, o->metric);
  if (m == NULL || !obs_finite(o))
    return 0;
  if (o->kind == ACT_OBS_FORECAST && strncmp(o->vm, "set-", 4) == 0)
    return 0; /* the host set's total, not a VM */
  vm_entry *e = entry_get(b, o->vm);
  if (e == NULL)
    return act__fail(err, ACT_ENOMEM, "board: VM \"%s\": out of memory", o->vm);
  int stored = 0;
  for (int i = 0; i < m->n_res; i++) {
    rc = slot_put(&e->res[m->res[i]], o, m->scale, now);
    if (rc < 0)
      return act__fail(err, rc, "board: VM \"%s\": %s forecast: %s (at most %d "
                       "horizons)", o->vm, o->metric, act_strerror(rc),
                       ACT_BOARD_MAX_POINTS);
    stored |= rc;
  }
  if (stored && o->set != NULL && o->set[0] != '\0')
    snprintf(e->set, sizeof(e->set), "%s", o->set);
  if (stored)
    e->last_recv = now;
  return stored;
}

int act_board_applied(act_board *b, const char *vm, act_resource r, double alloc,
                      double ts, act_error *err) {
  if (!act__name_ok(vm))
    return act__fail(err, ACT_EINVAL, "board: VM name (must be printable, no spaces)");
  if ((unsigned)r >= ACT_RES_COUNT || !isfinite(alloc) || alloc < 0)
    return act__fail(err, ACT_EINVAL, "board: VM \"%s\": applied %s %g", vm,
                     act_resource_name(r), alloc);
  vm_entry *e = entry_get(b, vm);
  if (e == NULL)
    return act__fail(err, ACT_ENOMEM, "board: VM \"%s\": out of memory", vm);
  e->res[r].alloc = alloc;
  e->res[r].alloc_recv = ts;
  e->res[r].applied_ts = ts;
  if (ts > e->last_recv)
    e->last_recv = ts;
  return 0;
}

size_t act_board_expire(act_board *b, double before) {
  size_t keep = 0, gone = 0;
  for (size_t i = 0; i < b->n_vms; i++) {
    if (b->vms[i]->last_recv < before) {
      entry_free(b->vms[i]);
      gone++;
    } else {
      b->vms[keep++] = b->vms[i];
    }
  }
  b->n_vms = keep;
  return gone;
}

void act_board_rows_init(act_board_rows *rows) { memset(rows, 0, sizeof(*rows)); }

void act_board_rows_free(act_board_rows *rows) {
  if (rows == NULL)
    return;
  free(rows->vms);
  free(rows->points);
  free(rows->names);
  free(rows->models);
  act_board_rows_init(rows);
}

/* The set that lists vm in the policy, or NULL. */
static const char *policy_set_of(const act_policy *p, const char *vm) {
  size_t n = p == NULL ? 0 : act_policy_set_count(p);
  for (size_t i = 0; i < n; i++) {
    const act_set_policy *s = act_policy_set_at(p, i);
    if (act_policy_vm(p, s->name, vm) != NULL)
      return s->name;
  }
  return NULL;
}

static int in_set(const vm_entry *e, const act_policy *p, const char *set) {
  const char *listed = policy_set_of(p, e->name);
  if (listed != NULL)
    return strcmp(listed, set) == 0;
  return strcmp(e->set, set) == 0;
}

static int row_fresh(const res_slot *s, double oldest) {
  return !isnan(s->alloc) && s->alloc_recv >= oldest;
}

/* Room for every row of the set and all their points, so pointers into the arrays
 * stay valid while they are filled. */
static int rows_reserve(act_board_rows *rows, const act_board *b, const act_policy *p,
                        const char *set, double oldest) {
  size_t n_rows = 0, n_points = 0;
  for (size_t i = 0; i < b->n_vms; i++) {
    if (!in_set(b->vms[i], p, set))
      continue;
    for (int r = 0; r < ACT_RES_COUNT; r++)
      if (row_fresh(&b->vms[i]->res[r], oldest)) {
        n_rows++;
        n_points += b->vms[i]->res[r].n_pts;
      }
  }
  if (act__grow((void **)&rows->vms, &rows->cap_vms, n_rows, sizeof(*rows->vms)) != 0 ||
      act__grow((void **)&rows->names, &rows->cap_names, n_rows,
                sizeof(*rows->names)) != 0 ||
      act__grow((void **)&rows->models, &rows->cap_models, n_rows,
                sizeof(*rows->models)) != 0 ||
      act__grow((void **)&rows->points, &rows->cap_points, n_points,
                sizeof(*rows->points)) != 0)
    return ACT_ENOMEM;
  return 0;
}

static void rows_add(act_board_rows *rows, const vm_entry *e, act_resource r,
                     double oldest) {
  const res_slot *s = &e->res[r];
  size_t i = rows->n_vms++;
  snprintf(rows->names[i], ACT_NAME_MAX, "%s", e->name);
  memcpy(rows->models[i], s->model, ACT_BOARD_MODEL_MAX);
  size_t first = rows->n_points;
  for (size_t k = 0; k < s->n_pts; k++)
    if (s->pts[k].recv >= oldest)
      rows->points[rows->n_points++] = s->pts[k].p;
  size_t n = rows->n_points - first;
  rows->vms[i] = (act_vm_state){.vm = rows->names[i], .resource = r, .alloc = s->alloc,
                                .usage = s->usage_recv >= oldest ? s->usage : NAN,
                                .points = n > 0 ? rows->points + first : NULL,
                                .n_points = n};
}

int act_board_rows_fill(const act_board *b, const act_policy *policy, const char *set,
                   double now, act_board_rows *rows, act_error *err) {
  rows->n_vms = rows->n_points = 0;
  if (set == NULL)
    return 0;
  double oldest = now - b->max_age_s;
  if (rows_reserve(rows, b, policy, set, oldest) != 0)
    return act__fail(err, ACT_ENOMEM, "HostSet \"%s\": rows: out of memory", set);
  for (size_t i = 0; i < b->n_vms; i++) {
    if (!in_set(b->vms[i], policy, set))
      continue;
    for (int r = 0; r < ACT_RES_COUNT; r++)
      if (row_fresh(&b->vms[i]->res[r], oldest))
        rows_add(rows, b->vms[i], (act_resource)r, oldest);
  }
  return 0;
}

const act_vm_state *act_board_rows_find(const act_board_rows *rows, const char *vm,
                                        act_resource r) {
  for (size_t i = 0; i < rows->n_vms; i++)
    if (rows->vms[i].resource == r && strcmp(rows->vms[i].vm, vm) == 0)
      return &rows->vms[i];
  return NULL;
}
