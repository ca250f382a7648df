/* foresight_replay.c -- collectd read plugin that replays VM traces (the CSV format of
 * ../shared/traces) as if the VMs were running now: per VM (host = the trace's vm
 * name) fs_usage cpu/mem/disk/net and fs_alloc vcpus/mem, with meta foresight:set.
 * Glue only: which rows are due and how traces map onto the calendar is
 * plugins/fsp_replay.c (whole-week shift, Speed, Start/Days window, Loop, Copies).
 *
 *   <Plugin foresight_replay>
 *     File "/srv/traces/bitbrains_rnd/rnd-24.csv"   # repeatable
 *     Directory "/srv/traces"                        # repeatable
 *     Speed 3600        # trace seconds per wall second (default 1: real time)
 *     Start 33          # days into each trace (default 0)
 *     Days 14           # window length (default: to the end)
 *     Loop true
 *     Copies 1          # N > 1: each VM N times as "<vm>-c<i>"
 *     Epoch 1700000000  # fixed anchor (wall s): a restarted replay continues
 *     HostSet "web" "rnd-186" "rnd-187"   # no VM named: every VM
 *     <VM "rnd-26">     # a trace VM sent under another host name, e.g. to drive a
 *       Name "web1"     # libvirt domain of that name (HostSet still names "rnd-26")
 *     </VM>
 *   </Plugin>
 *
 * Options are checked in the config callback (an unknown key or bad value fails it, so
 * collectd refuses to start); traces are loaded in init (a bad file fails init).
 */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"

#include "plugins/fsp_replay.h"
#include "tools/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLUGIN_NAME "foresight_replay"

struct host_set_rule {
  char *set;
  char *vm; /* NULL: every VM */
};

struct rename_rule {
  char *from; /* the host the replay names (trace VM, or "<vm>-c<i>") */
  char *to;   /* the host sent instead */
};

/* Config (written by the config callback, read by init) and the replay (read thread). */
static struct {
  fsp_replay_opts opts;
  char **paths; /* File and Directory arguments, in order */
  int n_paths;
  struct host_set_rule *sets;
  int n_sets;
  struct rename_rule *renames;
  int n_renames;
  int config_failed;
  fsp_replay *replay;
  uint64_t usage, alloc, failed; /* value lists dispatched; read thread only */
} g = {.n_paths = 0};

/* ---------------------------------------------------------------- helpers */

static void copy_name(char *dst, const char *src) {
  snprintf(dst, DATA_MAX_NAME_LEN, "%s", src);
}

static int bad_value(const oconfig_item_t *ci, const char *want) {
  ERROR(PLUGIN_NAME " plugin: option %s: %s", ci->key, want);
  return -1;
}

static int get_number(const oconfig_item_t *ci, double *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return bad_value(ci, "needs exactly one number");
  *out = ci->values[0].value.number;
  return 0;
}

static int get_bool(const oconfig_item_t *ci, int *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_BOOLEAN)
    return bad_value(ci, "needs true or false");
  *out = ci->values[0].value.boolean != 0;
  return 0;
}

static int add_path(const oconfig_item_t *ci) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return bad_value(ci, "needs exactly one path (a string)");
  char **p = realloc(g.paths, (size_t)(g.n_paths + 1) * sizeof(*p));
  if (p == NULL)
    return bad_value(ci, "out of memory");
  g.paths = p;
  if ((g.paths[g.n_paths] = strdup(ci->values[0].value.string)) == NULL)
    return bad_value(ci, "out of memory");
  g.n_paths++;
  return 0;
}

/* HostSet "set" ["vm" ...] */
static int add_host_set(const oconfig_item_t *ci) {
  if (ci->values_num < 1)
    return bad_value(ci, "needs a set name and optionally VM names");
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type != OCONFIG_TYPE_STRING || ci->values[i].value.string[0] == '\0')
      return bad_value(ci, "needs non-empty strings: the set name, then VM names");
  int n_vms = ci->values_num > 1 ? ci->values_num - 1 : 1;
  struct host_set_rule *r = realloc(g.sets, (size_t)(g.n_sets + n_vms) * sizeof(*r));
  if (r == NULL)
    return bad_value(ci, "out of memory");
  g.sets = r;
  for (int i = 0; i < n_vms; i++) {
    struct host_set_rule *rule = &g.sets[g.n_sets];
    rule->set = strdup(ci->values[0].value.string);
    rule->vm = ci->values_num > 1 ? strdup(ci->values[i + 1].value.string) : NULL;
    if (rule->set == NULL || (ci->values_num > 1 && rule->vm == NULL)) {
      free(rule->set);
      free(rule->vm);
      return bad_value(ci, "out of memory");
    }
    g.n_sets++;
  }
  return 0;
}

/* <VM "rnd-26"> Name "web1" </VM> */
static int add_rename(const oconfig_item_t *ci) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[0].value.string[0] == '\0')
    return bad_value(ci, "needs the trace VM's name: <VM \"rnd-26\">");
  const char *to = NULL;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    if (strcasecmp(c->key, "Name") != 0) {
      ERROR(PLUGIN_NAME " plugin: VM \"%s\": unknown option \"%s\" (known: Name)",
            ci->values[0].value.string, c->key);
      return -1;
    }
    if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_STRING ||
        c->values[0].value.string[0] == '\0' ||
        strlen(c->values[0].value.string) >= DATA_MAX_NAME_LEN)
      return bad_value(c, "needs one non-empty host name (a string)");
    to = c->values[0].value.string;
  }
  if (to == NULL)
    return bad_value(ci, "needs a Name");
  struct rename_rule *r = realloc(g.renames, (size_t)(g.n_renames + 1) * sizeof(*r));
  if (r == NULL)
    return bad_value(ci, "out of memory");
  g.renames = r;
  r = &g.renames[g.n_renames];
  r->from = strdup(ci->values[0].value.string);
  r->to = strdup(to);
  if (r->from == NULL || r->to == NULL) {
    free(r->from);
    free(r->to);
    return bad_value(ci, "out of memory");
  }
  g.n_renames++;
  return 0;
}

/* The host name to send for a replayed host. */
static const char *host_name(const char *host) {
  for (int i = 0; i < g.n_renames; i++)
    if (strcmp(g.renames[i].from, host) == 0)
      return g.renames[i].to;
  return host;
}

static int config_option(const oconfig_item_t *c) {
  double d;
  if (strcasecmp(c->key, "File") == 0 || strcasecmp(c->key, "Directory") == 0)
    return add_path(c);
  if (strcasecmp(c->key, "Speed") == 0)
    return get_number(c, &g.opts.speed);
  if (strcasecmp(c->key, "Start") == 0)
    return get_number(c, &g.opts.start_days);
  if (strcasecmp(c->key, "Days") == 0)
    return get_number(c, &g.opts.days);
  if (strcasecmp(c->key, "Epoch") == 0)
    return get_number(c, &g.opts.epoch_s);
  if (strcasecmp(c->key, "Loop") == 0)
    return get_bool(c, &g.opts.loop);
  if (strcasecmp(c->key, "Copies") == 0) {
    if (get_number(c, &d) != 0)
      return -1;
    if (d != floor(d) || d < 1 || d > 1e6) {
      ERROR(PLUGIN_NAME " plugin: option Copies %g: must be a whole number in [1, 1000000]",
            d);
      return -1;
    }
    g.opts.copies = (int)d;
    return 0;
  }
  if (strcasecmp(c->key, "HostSet") == 0)
    return add_host_set(c);
  if (strcasecmp(c->key, "VM") == 0)
    return add_rename(c);
  ERROR(PLUGIN_NAME " plugin: unknown option \"%s\" (known: File, Directory, Speed, Start, "
        "Days, Loop, Copies, Epoch, HostSet, VM)", c->key);
  return -1;
}

static void free_config(void) {
  for (int i = 0; i < g.n_paths; i++)
    free(g.paths[i]);
  free(g.paths);
  for (int i = 0; i < g.n_sets; i++) {
    free(g.sets[i].set);
    free(g.sets[i].vm);
  }
  free(g.sets);
  for (int i = 0; i < g.n_renames; i++) {
    free(g.renames[i].from);
    free(g.renames[i].to);
  }
  free(g.renames);
  g.paths = NULL;
  g.sets = NULL;
  g.renames = NULL;
  g.n_paths = g.n_sets = g.n_renames = 0;
}

/* ---------------------------------------------------------------- dispatch */

static void dispatch_one(value_list_t *vl, const char *type, const char *type_instance,
                         double value, uint64_t *count) {
  if (isnan(value))
    return;
  value_t v = {.gauge = value};
  vl->values = &v;
  vl->values_len = 1;
  copy_name(vl->type, type);
  copy_name(vl->type_instance, type_instance);
  if (plugin_dispatch_values(vl) == 0)
    (*count)++;
  else
    g.failed++;
}

/* fsp_replay_run's callback: one trace row -> up to six value lists */
static void emit_sample(void *ctx, const fsp_sample *s) {
  (void)ctx;
  value_list_t vl = VALUE_LIST_INIT;
  vl.time = DOUBLE_TO_CDTIME_T(s->ts_s);
  vl.interval = TIME_T_TO_CDTIME_T(TR_STEP_S); /* the trace's own sampling interval */
  copy_name(vl.host, host_name(s->host));
  copy_name(vl.plugin, PLUGIN_NAME);
  if (s->set != NULL) {
    /* collectd clones the meta data of each dispatched list, so one serves all six */
    vl.meta = meta_data_create();
    if (vl.meta == NULL || meta_data_add_string(vl.meta, "foresight:set", s->set) != 0) {
      meta_data_destroy(vl.meta);
      g.failed++;
      return;
    }
  }
  for (int m = 0; m < FSP_N_METRICS; m++)
    dispatch_one(&vl, "fs_usage", fsp_metric_name(m), s->usage[m], &g.usage);
  dispatch_one(&vl, "fs_alloc", "vcpus", s->vcpus, &g.alloc);
  dispatch_one(&vl, "fs_alloc", "mem", s->mem_kb, &g.alloc);
  meta_data_destroy(vl.meta);
}

/* ---------------------------------------------------------------- callbacks */

static int replay_config(oconfig_item_t *ci) {
  int status = 0;
  for (int i = 0; i < ci->children_num && status == 0; i++)
    status = config_option(ci->children + i);
  if (status == 0 && g.n_paths == 0) {
    ERROR(PLUGIN_NAME " plugin: no File or Directory to replay");
    status = -1;
  }
  char err[512];
  if (status == 0 && fsp_replay_opts_check(&g.opts, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: option %s", err); /* e.g. "Speed 0 (must be > 0)" */
    status = -1;
  }
  if (status != 0)
    g.config_failed = 1;
  return status;
}

static int load_replay(void) {
  char err[1024];
  char **files = NULL;
  int n = tr_list_files((const char *const *)g.paths, g.n_paths, &files, err, sizeof(err));
  if (n < 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    return -1;
  }
  g.replay = fsp_replay_create(&g.opts, (const char *const *)files, n, err, sizeof(err));
  for (int i = 0; i < n; i++)
    free(files[i]);
  free(files);
  if (g.replay == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    return -1;
  }
  for (int i = 0; i < g.n_sets; i++)
    if (fsp_replay_set_host_set(g.replay, g.sets[i].set, g.sets[i].vm, err,
                                sizeof(err)) != 0) {
      ERROR(PLUGIN_NAME " plugin: %s", err);
      return -1;
    }
  return 0;
}

static int replay_read(void) {
  if (g.replay == NULL)
    return -1;
  fsp_replay_run(g.replay, CDTIME_T_TO_DOUBLE(cdtime()), emit_sample, NULL);
  return 0;
}

static int replay_init(void) {
  if (g.config_failed)
    return -1;
  if (g.replay != NULL)
    return 0; /* init runs again after a config reload; keep the cursors */
  if (load_replay() != 0) {
    fsp_replay_destroy(g.replay);
    g.replay = NULL;
    return -1;
  }
  fsp_replay_begin(g.replay, CDTIME_T_TO_DOUBLE(cdtime()));
  INFO(PLUGIN_NAME " plugin: replaying %d VMs at speed %g", fsp_replay_n_vms(g.replay),
       g.opts.speed);
  return plugin_register_read(PLUGIN_NAME, replay_read);
}

static int replay_shutdown(void) {
  if (g.replay != NULL)
    INFO(PLUGIN_NAME " plugin: dispatched %llu fs_usage and %llu fs_alloc value lists "
         "(%llu failed), %d of %d VMs finished", (unsigned long long)g.usage,
         (unsigned long long)g.alloc, (unsigned long long)g.failed,
         fsp_replay_n_done(g.replay), fsp_replay_n_vms(g.replay));
  fsp_replay_destroy(g.replay);
  g.replay = NULL;
  free_config();
  return 0;
}

void module_register(void) {
  fsp_replay_opts_default(&g.opts);
  plugin_register_complex_config(PLUGIN_NAME, replay_config);
  plugin_register_init(PLUGIN_NAME, replay_init);
  plugin_register_shutdown(PLUGIN_NAME, replay_shutdown);
}
