/* foresight_forecast.c -- collectd write plugin: models each VM's fs_usage series (and
 * any value list a <Map> block names), dispatches fs_forecast value lists for every
 * horizon, host-set totals, and keeps RRD history that survives restarts.
 * Glue only: uses plugins/fsp_engine.h (threads, steps, RRD, warm start),
 * plugins/fsp_map.h (which value lists) and collectd's API.
 *
 *   <Plugin foresight_forecast>
 *     DataDir "/var/lib/collectd/foresight"  # RRD history, not rrdtool's DataDir
 *     Step 300                 # s; samples are averaged per step
 *     Horizon 300 900 3600     # s, multiples of Step (repeatable)
 *     Confidence 0.9           # central interval
 *     RetrainInterval 3600     # s between fits of one series
 *     History 1209600          # s of training window (2 to 28 days)
 *     Models "ets" "ar" "fourier" "naive" "snaive"   # also "gru"
 *     Metrics "cpu" "mem" "disk" "net"               # fs_usage type instances
 *     Workers 1                # fitting threads
 *     SeriesTimeout 86400      # s without a value before a series is forgotten; 0 never
 *     WriteHistory true        # false: no RRD files, no warm start (benchmarks)
 *     <Map> Plugin "statsd" TypeInstance "/latency/" Metric "latency" </Map>
 *   </Plugin>
 *
 * Every key and value is checked in the config callback; a wrong one is logged naming
 * it and the callback fails, so collectd refuses to start. The write callback does a
 * map lookup and an accumulate (fsp_engine_add); reading the foresight:set meta data
 * happens only for a new series or a closed step.
 */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_cache.h"

#include "plugins/fsp_engine.h"
#include "plugins/fsp_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLUGIN_NAME "foresight_forecast"
#define DEFAULT_DATA_DIR "/var/lib/collectd/foresight"

/* Written by the config callback; engine and map are read-only for the write threads
 * once init has run. */
static struct {
  fsp_engine_config cfg;
  char *data_dir;
  int horizon_s[FC_MAX_HORIZONS];
  int n_horizons;
  double history_s;
  int write_history;
  fsp_map *map;
  int n_metrics;
  int config_failed;
  fsp_engine *engine;
} g;

/* ---------------------------------------------------------------- config */

static int bad(const oconfig_item_t *ci, const char *want) {
  ERROR(PLUGIN_NAME " plugin: option %s: %s", ci->key, want);
  return -1;
}

static int get_number(const oconfig_item_t *ci, double *out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return bad(ci, "needs exactly one number");
  *out = ci->values[0].value.number;
  return 0;
}

static int get_string(const oconfig_item_t *ci, const char **out) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return bad(ci, "needs exactly one string");
  *out = ci->values[0].value.string;
  return 0;
}

static int config_positive(const oconfig_item_t *ci, double *out, double lo, double hi) {
  double v;
  if (get_number(ci, &v) != 0)
    return -1;
  if (!(v >= lo && v <= hi)) {
    ERROR(PLUGIN_NAME " plugin: option %s %g: must be in [%g, %g]", ci->key, v, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* Horizon 300 900 (seconds; repeatable) */
static int config_horizon(const oconfig_item_t *ci) {
  if (ci->values_num < 1)
    return bad(ci, "needs one or more numbers of seconds");
  for (int i = 0; i < ci->values_num; i++) {
    double v = ci->values[i].value.number;
    if (ci->values[i].type != OCONFIG_TYPE_NUMBER || v != floor(v) || v < 1 || v > 86400) {
      ERROR(PLUGIN_NAME " plugin: option Horizon: each value must be a whole number of "
            "seconds in [1, 86400]");
      return -1;
    }
    if (g.n_horizons == FC_MAX_HORIZONS) {
      ERROR(PLUGIN_NAME " plugin: option Horizon %g: at most %d horizons", v, FC_MAX_HORIZONS);
      return -1;
    }
    g.horizon_s[g.n_horizons++] = (int)v;
  }
  return 0;
}

/* Models "ets" "ar" ... */
static int config_models(const oconfig_item_t *ci) {
  if (ci->values_num < 1)
    return bad(ci, "needs one or more model names");
  unsigned kinds = 0;
  for (int i = 0; i < ci->values_num; i++) {
    fc_kind k;
    fc_error err;
    if (ci->values[i].type != OCONFIG_TYPE_STRING ||
        fc_kind_parse(ci->values[i].value.string, &k, &err) != 0) {
      ERROR(PLUGIN_NAME " plugin: option Models \"%s\": unknown model (known: naive, snaive, "
            "ets, fourier, ar, gru)",
            ci->values[i].type == OCONFIG_TYPE_STRING ? ci->values[i].value.string : "?");
      return -1;
    }
    kinds |= FC_KIND_BIT(k);
  }
  g.cfg.fc.kinds = kinds;
  return 0;
}

static int config_metrics(const oconfig_item_t *ci) {
  if (ci->values_num < 1)
    return bad(ci, "needs one or more of " FSP_USAGE_METRICS);
  for (int i = 0; i < ci->values_num; i++) {
    char err[256];
    if (ci->values[i].type != OCONFIG_TYPE_STRING)
      return bad(ci, "needs strings (" FSP_USAGE_METRICS ")");
    if (fsp_map_enable_metric(g.map, ci->values[i].value.string, err, sizeof(err)) != 0) {
      ERROR(PLUGIN_NAME " plugin: option %s", err);
      return -1;
    }
    g.n_metrics++;
  }
  return 0;
}

/* <Map> Plugin .. PluginInstance .. Type .. TypeInstance .. DataSource .. VM .. Metric </Map> */
static int config_map(const oconfig_item_t *ci) {
  fsp_map_rule_spec spec = {0};
  static const char *const keys[] = {"Plugin", "PluginInstance", "Type", "TypeInstance",
                                     "DataSource", "VM", "Metric"};
  const char **slot[] = {&spec.plugin, &spec.plugin_instance, &spec.type,
                         &spec.type_instance, &spec.data_source, &spec.vm, &spec.metric};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    size_t k = 0;
    while (k < sizeof(keys) / sizeof(keys[0]) && strcasecmp(c->key, keys[k]) != 0)
      k++;
    if (k == sizeof(keys) / sizeof(keys[0])) {
      ERROR(PLUGIN_NAME " plugin: <Map>: unknown option \"%s\" (known: Plugin, "
            "PluginInstance, Type, TypeInstance, DataSource, VM, Metric)", c->key);
      return -1;
    }
    if (get_string(c, slot[k]) != 0)
      return -1;
  }
  char err[256];
  if (fsp_map_add_rule(g.map, &spec, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    return -1;
  }
  return 0;
}

static int config_option(const oconfig_item_t *c) {
  double d;
  const char *s = NULL;
  if (strcasecmp(c->key, "DataDir") == 0) {
    if (get_string(c, &s) != 0 || s[0] == '\0')
      return bad(c, "needs a non-empty path");
    free(g.data_dir);
    return (g.data_dir = strdup(s)) == NULL ? bad(c, "out of memory") : 0;
  }
  if (strcasecmp(c->key, "Step") == 0) {
    if (config_positive(c, &d, 1, 3600) != 0)
      return -1;
    g.cfg.fc.step_s = (int)d;
    return d == floor(d) && 86400 % (int)d == 0 ? 0 : bad(c, "must be whole seconds dividing a day");
  }
  if (strcasecmp(c->key, "Horizon") == 0)
    return config_horizon(c);
  if (strcasecmp(c->key, "Confidence") == 0)
    return config_positive(c, &g.cfg.fc.confidence, 0.01, 0.999);
  if (strcasecmp(c->key, "RetrainInterval") == 0)
    return config_positive(c, &g.cfg.retrain_interval_s, 1, 30 * 86400);
  if (strcasecmp(c->key, "History") == 0)
    return config_positive(c, &g.history_s, 2 * 86400, 28 * 86400);
  if (strcasecmp(c->key, "SeriesTimeout") == 0) {
    if (get_number(c, &d) != 0)
      return -1;
    if (d != 0 && !(d >= 1 && d <= FSP_SERIES_TIMEOUT_MAX)) {
      ERROR(PLUGIN_NAME " plugin: option SeriesTimeout %g: must be 0 (never) or in [1, %d] s",
            d, FSP_SERIES_TIMEOUT_MAX);
      return -1;
    }
    g.cfg.series_timeout_s = d;
    return 0;
  }
  if (strcasecmp(c->key, "Workers") == 0) {
    if (config_positive(c, &d, 1, 64) != 0)
      return -1;
    g.cfg.workers = (int)d;
    return 0;
  }
  if (strcasecmp(c->key, "WriteHistory") == 0) {
    if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_BOOLEAN)
      return bad(c, "needs true or false");
    g.write_history = c->values[0].value.boolean != 0;
    return 0;
  }
  if (strcasecmp(c->key, "Models") == 0)
    return config_models(c);
  if (strcasecmp(c->key, "Metrics") == 0)
    return config_metrics(c);
  if (strcasecmp(c->key, "Map") == 0)
    return config_map(c);
  ERROR(PLUGIN_NAME " plugin: unknown option \"%s\" (known: DataDir, Step, Horizon, "
        "Confidence, RetrainInterval, History, Models, Metrics, Workers, SeriesTimeout, "
        "WriteHistory, Map)", c->key);
  return -1;
}

/* Seconds -> slots of the engine configuration, checked by libforecast. */
static int finish_config(void) {
  fc_config *fc = &g.cfg.fc;
  if (g.n_horizons > 0) {
    fc->n_horizons = g.n_horizons;
    for (int i = 0; i < g.n_horizons; i++) {
      if (g.horizon_s[i] % fc->step_s != 0) {
        ERROR(PLUGIN_NAME " plugin: option Horizon %d: must be a multiple of Step (%d s)",
              g.horizon_s[i], fc->step_s);
        return -1;
      }
      fc->horizons[i] = g.horizon_s[i] / fc->step_s;
    }
  } else {
    fc->n_horizons = 3; /* 5, 15 and 60 minutes whatever the step */
    int def[3] = {300, 900, 3600};
    for (int i = 0; i < 3; i++)
      fc->horizons[i] = def[i] / fc->step_s > 0 ? def[i] / fc->step_s : i + 1;
  }
  fc->history_slots = (int)(g.history_s / fc->step_s);
  int backtest = 3 * 86400 / fc->step_s;
  fc->backtest_slots = backtest < fc->history_slots / 4 ? backtest : fc->history_slots / 4;
  if (g.n_metrics == 0) {
    const char *def[] = {"cpu", "mem", "disk", "net"};
    for (int i = 0; i < 4; i++)
      fsp_map_enable_metric(g.map, def[i], NULL, 0);
  }
  fc_error err = {0};
  if (fc_config_validate(fc, &err) != 0) {
    ERROR(PLUGIN_NAME " plugin: Step/Horizon/History/Confidence: %s", err.msg);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- engine callbacks */

static void copy_name(char *dst, const char *src) {
  snprintf(dst, DATA_MAX_NAME_LEN, "%s", src);
}

/* Dispatches one forecast as n fs_forecast value lists (one per horizon). */
static void forecast_emit(void *ctx, const fsp_forecast_out *f) {
  (void)ctx;
  value_t v[3];
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = v;
  vl.values_len = 3;
  vl.time = DOUBLE_TO_CDTIME_T(f->origin_s);
  vl.interval = TIME_T_TO_CDTIME_T(f->step_s);
  copy_name(vl.host, f->host);
  copy_name(vl.plugin, PLUGIN_NAME);
  copy_name(vl.plugin_instance, f->metric);
  copy_name(vl.type, "fs_forecast");
  vl.meta = meta_data_create();
  if (vl.meta != NULL)
    meta_data_add_string(vl.meta, "foresight:model", f->model);
  for (int i = 0; i < f->n; i++) {
    v[0].gauge = f->points[i].mean;
    v[1].gauge = f->points[i].lo;
    v[2].gauge = f->points[i].hi;
    snprintf(vl.type_instance, sizeof(vl.type_instance), "h%d", f->points[i].h * f->step_s);
    plugin_dispatch_values(&vl);
  }
  meta_data_destroy(vl.meta);
}

static void engine_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  plugin_log(level, PLUGIN_NAME " plugin: %s", msg);
}

/* ---------------------------------------------------------------- write path */

static double value_of(const data_set_t *ds, const value_list_t *vl, int i) {
  if (ds->ds[i].type == DS_TYPE_GAUGE)
    return vl->values[i].gauge;
  gauge_t *rates = uc_get_rate(ds, vl); /* counters are modelled as rates */
  double r = rates != NULL ? rates[i] : NAN;
  free(rates);
  return r;
}

static void tell_host_set(const value_list_t *vl, const fsp_target *t) {
  char *set = NULL;
  if (vl->meta != NULL && meta_data_get_string(vl->meta, "foresight:set", &set) != 0)
    set = NULL;
  fsp_engine_set_host_set(g.engine, t->vm, t->metric, set);
  free(set);
}

static int forecast_write(const data_set_t *ds, const value_list_t *vl, user_data_t *ud) {
  (void)ud;
  if (g.engine == NULL)
    return 0;
  const char *names[8];
  int n_ds = ds->ds_num < 8 ? (int)ds->ds_num : 8;
  for (int i = 0; i < n_ds; i++)
    names[i] = ds->ds[i].name;
  fsp_ident id = {vl->host, vl->plugin, vl->plugin_instance, vl->type, vl->type_instance};
  fsp_target t;
  if (!fsp_map_match(g.map, &id, names, n_ds, &t) || t.ds_index >= (int)vl->values_len)
    return 0;
  int bits = fsp_engine_add(g.engine, t.vm, t.metric, CDTIME_T_TO_DOUBLE(vl->time),
                            value_of(ds, vl, t.ds_index));
  if (bits & FSP_ADD_NEW) /* a mapped series' file goes under foresight_forecast */
    fsp_engine_set_source(g.engine, t.vm, t.metric,
                          strcmp(vl->type, "fs_usage") == 0 ? vl->plugin : PLUGIN_NAME);
  if (bits & (FSP_ADD_NEW | FSP_ADD_CLOSED))
    tell_host_set(vl, &t);
  return 0;
}

/* ---------------------------------------------------------------- lifecycle */

static const char *data_dir(void) {
  if (!g.write_history)
    return NULL;
  return g.data_dir != NULL ? g.data_dir : DEFAULT_DATA_DIR;
}

static int forecast_config(oconfig_item_t *ci) {
  if (g.map == NULL) {
    ERROR(PLUGIN_NAME " plugin: out of memory");
    return -1;
  }
  int status = 0;
  for (int i = 0; i < ci->children_num && status == 0; i++)
    status = config_option(ci->children + i);
  if (status == 0)
    status = finish_config();
  if (status == 0) {
    char err[512];
    g.cfg.data_dir = data_dir();
    fsp_engine *probe = fsp_engine_create(&g.cfg, err, sizeof(err));
    if (probe == NULL) {
      ERROR(PLUGIN_NAME " plugin: %s", err);
      status = -1;
    }
    fsp_engine_destroy(probe);
  }
  g.config_failed |= status != 0;
  return status;
}

static int forecast_init(void) {
  if (g.config_failed)
    return -1;
  if (g.engine != NULL)
    return 0;
  char err[512];
  g.cfg.data_dir = data_dir();
  fsp_engine *e = fsp_engine_create(&g.cfg, err, sizeof(err));
  if (e == NULL || fsp_engine_start(e, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err);
    fsp_engine_destroy(e);
    return -1;
  }
  g.engine = e;
  INFO(PLUGIN_NAME " plugin: modelling with step %d s, %d horizons, DataDir %s, "
       "SeriesTimeout %g s", g.cfg.fc.step_s, g.cfg.fc.n_horizons,
       g.cfg.data_dir != NULL ? g.cfg.data_dir : "(none: WriteHistory false)",
       g.cfg.series_timeout_s);
  return 0;
}

static int forecast_shutdown(void) {
  if (g.engine != NULL) {
    fsp_engine_stop(g.engine);
    fsp_engine_stats st;
    fsp_engine_get_stats(g.engine, &st);
    INFO(PLUGIN_NAME " plugin: received %llu values (%llu late) in %llu series, %llu steps, "
         "%llu forecasts, %llu set totals, %llu fits (%llu failed), %llu RRD samples "
         "(%llu errors), %llu series evicted, %llu rebuilt from RRD after a return",
         (unsigned long long)st.values, (unsigned long long)st.late,
         (unsigned long long)st.series, (unsigned long long)st.steps,
         (unsigned long long)st.forecasts, (unsigned long long)st.set_forecasts,
         (unsigned long long)st.fits, (unsigned long long)st.fit_failures,
         (unsigned long long)st.rrd_samples, (unsigned long long)st.rrd_errors,
         (unsigned long long)st.evicted, (unsigned long long)st.rewarmed);
  }
  /* write threads are stopped before shutdown callbacks run */
  fsp_engine_destroy(g.engine);
  g.engine = NULL;
  fsp_map_destroy(g.map);
  g.map = NULL;
  free(g.data_dir);
  g.data_dir = NULL;
  return 0;
}

static int forecast_thread_create(pthread_t *t, void *(*fn)(void *), void *arg,
                                  const char *name) {
  return plugin_thread_create(t, fn, arg, name);
}

void module_register(void) {
  fsp_engine_config_default(&g.cfg);
  g.cfg.emit = forecast_emit;
  g.cfg.log = engine_log;
  g.cfg.thread_create = forecast_thread_create;
  g.history_s = 14 * 86400;
  g.write_history = 1;
  g.map = fsp_map_create();
  plugin_register_complex_config(PLUGIN_NAME, forecast_config);
  plugin_register_init(PLUGIN_NAME, forecast_init);
  plugin_register_write(PLUGIN_NAME, forecast_write, NULL);
  plugin_register_shutdown(PLUGIN_NAME, forecast_shutdown);
}
