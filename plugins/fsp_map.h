/* fsp_map.h -- which value lists the forecast write plugin models, and as what series.
 *
 * A series is (VM, metric). fs_usage value lists give it directly (host, type_instance)
 * for the metrics enabled with fsp_map_enable_metric. Any other value list is tested
 * against the <Map> rules in order; the first rule whose patterns all match maps one of
 * its data sources to (VM, metric):
 *
 *   <Map>
 *     Plugin "curl_json"            # exact, or "/regex/" (POSIX extended); absent: any
 *     PluginInstance "/^web/"
 *     Type "gauge"
 *     TypeInstance "latency_ms"
 *     DataSource "value"            # by name; absent: the only (first) data source
 *     VM "web1"                     # absent: the value list's host
 *     Metric "latency"              # required; [A-Za-z0-9_.]+
 *   </Map>
 *
 * Knows nothing of collectd: the glue passes the five identifier parts as strings.
 * Threads: after setup, fsp_map_match may run concurrently (regexec is reentrant).
 */
#ifndef PLUGINS_FSP_MAP_H
#define PLUGINS_FSP_MAP_H

#include <stddef.h>

typedef struct fsp_ident {
  const char *host, *plugin, *plugin_instance, *type, *type_instance;
} fsp_ident;

/* What a value list maps to; pointers valid while the ident and the map live. */
typedef struct fsp_target {
  const char *vm;
  const char *metric;
  int ds_index; /* which of the value list's values */
} fsp_target;

typedef struct fsp_map_rule_spec {
  const char *plugin, *plugin_instance, *type, *type_instance; /* NULL: any */
  const char *data_source; /* NULL: index 0 */
  const char *vm;          /* NULL: the host */
  const char *metric;      /* required */
} fsp_map_rule_spec;

typedef struct fsp_map fsp_map;

fsp_map *fsp_map_create(void); /* NULL on no memory */
void fsp_map_destroy(fsp_map *m); /* NULL is fine */

/* The fs_usage type_instances a plugin may model. */
#define FSP_USAGE_METRICS "cpu, mem, mem_avail, disk, net"

/* Models fs_usage lists with this type_instance. -1 (message names it) if unknown. */
int fsp_map_enable_metric(fsp_map *m, const char *metric, char *err, size_t err_len);

/* Adds a rule (strings copied, regexes compiled). -1 with a message naming the bad
 * field and value. */
int fsp_map_add_rule(fsp_map *m, const fsp_map_rule_spec *spec, char *err, size_t err_len);

/* Number of rules. */
int fsp_map_n_rules(const fsp_map *m);

/* Returns 1 and fills *out when the value list is modelled, 0 otherwise.
 * ds_names[0..n_ds-1] are the data set's source names. */
int fsp_map_match(const fsp_map *m, const fsp_ident *id, const char *const ds_names[],
                  int n_ds, fsp_target *out);

/* A metric name is [A-Za-z0-9_.]{1,63} (it becomes a plugin instance and a path part). */
int fsp_metric_name_ok(const char *name);

#endif /* PLUGINS_FSP_MAP_H */
