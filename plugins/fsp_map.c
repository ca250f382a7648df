/* fsp_map.c -- value list identity -> (VM, metric, data source); see fsp_map.h.
 * The fs_usage test comes first and costs a few string compares: it is what almost
 * every value the plugin models goes through. Rules are only tried for other types,
 * in order, exact patterns before regexes within a rule.
 */
#include "plugins/fsp_map.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 8

enum { F_PLUGIN, F_PLUGIN_INSTANCE, F_TYPE, F_TYPE_INSTANCE, N_FIELDS };
static const char *const field_key[N_FIELDS] = {"Plugin", "PluginInstance", "Type",
                                                "TypeInstance"};

struct pattern {
  char *exact;   /* set for an exact pattern */
  regex_t re;    /* compiled when is_regex */
  int is_regex;
  int used;
};

struct rule {
  struct pattern field[N_FIELDS];
  char *data_source;
  char *vm;
  char *metric;
};

struct fsp_map {
  char metrics[MAX_METRICS][64];
  int n_metrics;
  struct rule *rules;
  int n_rules;
};

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

int fsp_metric_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 63)
    return 0;
  return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == n &&
         strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

fsp_map *fsp_map_create(void) { return calloc(1, sizeof(fsp_map)); }

static void rule_free(struct rule *r) {
  for (int f = 0; f < N_FIELDS; f++) {
    free(r->field[f].exact);
    if (r->field[f].is_regex)
      regfree(&r->field[f].re);
  }
  free(r->data_source);
  free(r->vm);
  free(r->metric);
}

void fsp_map_destroy(fsp_map *m) {
  if (m == NULL)
    return;
  for (int i = 0; i < m->n_rules; i++)
    rule_free(&m->rules[i]);
  free(m->rules);
  free(m);
}

int fsp_map_enable_metric(fsp_map *m, const char *metric, char *err, size_t err_len) {
  static const char *const known[] = {"cpu", "mem", "mem_avail", "disk", "net"};
  int ok = 0;
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    ok |= strcmp(metric, known[i]) == 0;
  if (!ok)
    return fail(err, err_len, "Metrics \"%s\" (must be one of " FSP_USAGE_METRICS ")", metric);
  for (int i = 0; i < m->n_metrics; i++)
    if (strcmp(m->metrics[i], metric) == 0)
      return 0;
  snprintf(m->metrics[m->n_metrics++], sizeof(m->metrics[0]), "%s", metric);
  return 0;
}

static int compile_pattern(struct pattern *p, int field, const char *text, char *err,
                           size_t err_len) {
  if (text == NULL)
    return 0;
  p->used = 1;
  size_t n = strlen(text);
  if (n >= 2 && text[0] == '/' && text[n - 1] == '/') {
    char *body = strndup(text + 1, n - 2);
    if (body == NULL)
      return fail(err, err_len, "Map: out of memory");
    int rc = regcomp(&p->re, body, REG_EXTENDED | REG_NOSUB);
    free(body);
    if (rc != 0) {
      char why[128];
      regerror(rc, &p->re, why, sizeof(why));
      return fail(err, err_len, "Map: %s \"%s\": bad regex (%s)", field_key[field], text, why);
    }
    p->is_regex = 1;
    return 0;
  }
  if ((p->exact = strdup(text)) == NULL)
    return fail(err, err_len, "Map: out of memory");
  return 0;
}

static int dup_opt(char **dst, const char *src) {
  if (src == NULL)
    return 0;
  return (*dst = strdup(src)) == NULL ? -1 : 0;
}

int fsp_map_add_rule(fsp_map *m, const fsp_map_rule_spec *spec, char *err, size_t err_len) {
  if (spec->metric == NULL)
    return fail(err, err_len, "Map: Metric is required");
  if (!fsp_metric_name_ok(spec->metric))
    return fail(err, err_len, "Map: Metric \"%s\" (must be 1-63 of [A-Za-z0-9_.])",
                spec->metric);
  if (spec->vm != NULL && (spec->vm[0] == '\0' || strchr(spec->vm, '/') != NULL))
    return fail(err, err_len, "Map: VM \"%s\" (must be non-empty, without '/')", spec->vm);
  struct rule r = {0};
  const char *text[N_FIELDS] = {spec->plugin, spec->plugin_instance, spec->type,
                                spec->type_instance};
  int rc = 0;
  for (int f = 0; f < N_FIELDS && rc == 0; f++)
    rc = compile_pattern(&r.field[f], f, text[f], err, err_len);
  if (rc == 0 && (dup_opt(&r.data_source, spec->data_source) != 0 ||
                  dup_opt(&r.vm, spec->vm) != 0 || dup_opt(&r.metric, spec->metric) != 0))
    rc = fail(err, err_len, "Map: out of memory");
  struct rule *grown = rc == 0 ? realloc(m->rules, (size_t)(m->n_rules + 1) * sizeof(r)) : NULL;
  if (rc == 0 && grown == NULL)
    rc = fail(err, err_len, "Map: out of memory");
  if (rc != 0) {
    rule_free(&r);
    return -1;
  }
  m->rules = grown;
  m->rules[m->n_rules++] = r;
  return 0;
}

int fsp_map_n_rules(const fsp_map *m) { return m->n_rules; }

static int pattern_match(const struct pattern *p, const char *s) {
  if (!p->used)
    return 1;
  if (!p->is_regex)
    return strcmp(p->exact, s) == 0;
  return regexec(&p->re, s, 0, NULL, 0) == 0;
}

static int rule_match(const struct rule *r, const fsp_ident *id, const char *const ds_names[],
                      int n_ds, fsp_target *out) {
  const char *value[N_FIELDS] = {id->plugin, id->plugin_instance, id->type,
                                 id->type_instance};
  /* exact patterns first: they reject most lists without running a regex */
  for (int f = 0; f < N_FIELDS; f++)
    if (r->field[f].used && !r->field[f].is_regex && !pattern_match(&r->field[f], value[f]))
      return 0;
  for (int f = 0; f < N_FIELDS; f++)
    if (r->field[f].is_regex && !pattern_match(&r->field[f], value[f]))
      return 0;
  int ds = 0;
  if (r->data_source != NULL) {
    for (ds = 0; ds < n_ds && strcmp(ds_names[ds], r->data_source) != 0; ds++)
      ;
    if (ds == n_ds)
      return 0;
  }
  if (n_ds < 1)
    return 0;
  out->vm = r->vm != NULL ? r->vm : id->host;
  out->metric = r->metric;
  out->ds_index = ds;
  return 1;
}

int fsp_map_match(const fsp_map *m, const fsp_ident *id, const char *const ds_names[],
                  int n_ds, fsp_target *out) {
  if (strcmp(id->plugin, "foresight_forecast") == 0)
    return 0; /* our own forecasts: modelling them would feed the output back */
  if (strcmp(id->type, "fs_usage") == 0) {
    for (int i = 0; i < m->n_metrics; i++)
      if (strcmp(id->type_instance, m->metrics[i]) == 0) {
        out->vm = id->host;
        out->metric = m->metrics[i];
        out->ds_index = 0;
        return 1;
      }
    return 0;
  }
  for (int i = 0; i < m->n_rules; i++)
    if (rule_match(&m->rules[i], id, ds_names, n_ds, out))
      return 1;
  return 0;
}
