/* foresight_actuator.c -- collectd glue for libactuator: the config becomes a policy,
 * fs_usage / fs_alloc / fs_forecast value lists fill the board, and a worker thread
 * runs the act_runner (planning cycles, transactions, MQTT requests) and talks to the
 * broker through libfsmqtt. Uses only libactuator's headers, mqtt/mqtt.h and
 * collectd's API.
 *
 *   <Plugin foresight_actuator>
 *     Connection "qemu:///system"   # libvirt; none: decisions are published only
 *     DryRun false                  # every set's default; a HostSet may override
 *     Interval 60                   # planning cycle (default: collectd's Interval)
 *     StateDir "/var/lib/foresight" # ledgers, journals, policies set over MQTT, holds
 *                                   # and cooldowns, ids
 *     MaxAge 180                    # values older than this are not planned on
 *                                   # (default: 3 cycles)
 *     Broker "localhost" 1883       # MQTT; or Port 1883 on its own line
 *     User "foresight"  Password "secret"
 *     CAFile "/etc/ssl/ca.pem"  CertFile "..."  KeyFile "..."
 *     Prefix "foresight"  ClientId "foresight-actuator"
 *     <HostSet "web">               # keys: actuator/policy_keys.h
 *       Manage cpu memory           # default when absent: cpu memory
 *       Capacity cpu 32
 *       Threshold cpu 0.8
 *       <VM "web1">
 *         Priority 10
 *         Limit memory 1024 16384   # MiB
 *       </VM>
 *     </HostSet>
 *   </Plugin>
 *
 * A wrong key or value is an ERROR naming it, and the config callback fails, so
 * collectd refuses to start: a misspelt DryRun must not resize VMs.
 *
 * Threads. collectd's write threads call actuator_write, which only updates the board
 * under board_lock (never libvirt, never MQTT). The read callback, at Interval, marks a
 * cycle due. libfsmqtt's network thread queues inbound requests. The worker thread
 * alone touches the runner, hence the hypervisor; it takes board_lock only to copy
 * rows out and to record applied changes.
 */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"

#include "actuator/actuator.h"
#include "actuator/board.h"
#include "actuator/hv_libvirt.h"
#include "actuator/policy_keys.h"
#include "actuator/runner.h"
#include "mqtt/mqtt.h"
#include "plugins/fsa_killhv.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLUGIN_NAME "foresight_actuator"
#define MAX_ARGS 16     /* arguments of one config line */
#define MAX_JOBS 256    /* inbound requests waiting for the worker */
#define EXPIRE_CYCLES 20 /* a VM silent this many MaxAges is forgotten */

/* An inbound MQTT request waiting for the worker. */
typedef struct job {
  struct job *next;
  char *topic; /* below the prefix */
  char *payload;
  size_t len;
} job;

/* The MQTT settings, kept as owned strings until the link copies them. */
typedef struct mqtt_conf {
  char *host, *user, *password, *cafile, *certfile, *keyfile, *prefix, *client_id;
  int port;
} mqtt_conf;

static struct {
  /* config callback -> init (collectd calls them from one thread) */
  char *connection;
  int dry_run;
  cdtime_t interval;
  char *state_dir;
  int max_age_s;
  mqtt_conf mq;
  act_policy *policy; /* handed to the runner in init */
  int config_failed;

  pthread_mutex_t board_lock;
  act_board *board;         /* guarded by board_lock */
  c_complain_t put_problem; /* guarded by board_lock */

  pthread_mutex_t job_lock;
  pthread_cond_t job_cond;
  job *head, *tail; /* guarded by job_lock */
  size_t n_jobs;    /* guarded by job_lock */
  int cycle_due;    /* guarded by job_lock */
  int stopping;     /* guarded by job_lock */
  uint64_t jobs_dropped;

  pthread_t worker;
  int worker_running;
  act_runner *runner; /* worker thread only, once started */
  act_hv *hv;
  fs_mqtt_link *link; /* libfsmqtt: any thread */
  size_t prefix_len;
} g = {
    .board_lock = PTHREAD_MUTEX_INITIALIZER,
    .job_lock = PTHREAD_MUTEX_INITIALIZER,
    .job_cond = PTHREAD_COND_INITIALIZER,
    .put_problem = C_COMPLAIN_INIT_STATIC,
};

/* ---------------------------------------------------------------- config */

static int config_error(const oconfig_item_t *ci, const char *want) {
  ERROR(PLUGIN_NAME " plugin: %s: %s", ci->key, want);
  return -1;
}

/* collectd's values of a line as act_args (strings borrowed from the config tree). */
static int to_args(const oconfig_item_t *ci, act_arg args[MAX_ARGS], size_t *n) {
  if (ci->values_num > MAX_ARGS)
    return config_error(ci, "too many arguments");
  for (int i = 0; i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    if (v->type == OCONFIG_TYPE_STRING)
      args[i] = (act_arg){.type = ACT_ARG_STRING, .s = v->value.string};
    else if (v->type == OCONFIG_TYPE_NUMBER)
      args[i] = (act_arg){.type = ACT_ARG_NUMBER, .n = v->value.number};
    else
      args[i] = (act_arg){.type = ACT_ARG_BOOLEAN, .b = v->value.boolean != 0};
  }
  *n = (size_t)ci->values_num;
  return 0;
}

static int block_name(const oconfig_item_t *ci, char name[ACT_NAME_MAX]) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      strlen(ci->values[0].value.string) >= ACT_NAME_MAX)
    return config_error(ci, "needs one name (a string of at most 63 characters)");
  snprintf(name, ACT_NAME_MAX, "%s", ci->values[0].value.string);
  return 0;
}

/* <VM "web1"> Priority 10  Limit cpu 1 8 </VM> */
static int config_vm(act_policy *p, const char *set, const oconfig_item_t *ci) {
  char name[ACT_NAME_MAX];
  if (block_name(ci, name) != 0)
    return -1;
  act_vm_policy vm;
  act_vm_policy_init(&vm, name);
  act_error err = {0};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    act_arg args[MAX_ARGS];
    size_t n;
    if (c->children_num > 0)
      return config_error(c, "is not a block here");
    if (to_args(c, args, &n) != 0)
      return -1;
    if (act_vm_policy_key(&vm, set, c->key, args, n, &err) != 0) {
      ERROR(PLUGIN_NAME " plugin: %s", err.msg);
      return -1;
    }
  }
  if (act_policy_add_vm(p, set, &vm, &err) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  return 0;
}

static int has_key(const oconfig_item_t *ci, const char *key) {
  for (int i = 0; i < ci->children_num; i++)
    if (strcasecmp(ci->children[i].key, key) == 0)
      return 1;
  return 0;
}

/* <HostSet "web"> keys... <VM ...>...</VM> </HostSet>; the set first, then its VMs,
 * which the library validates against it. */
static int config_host_set(act_policy *p, const oconfig_item_t *ci) {
  char name[ACT_NAME_MAX];
  if (block_name(ci, name) != 0)
    return -1;
  act_set_policy s;
  act_set_policy_init(&s, name);
  s.dry_run = g.dry_run;
  if (!has_key(ci, "Manage")) /* what foresight sizes from its forecasts */
    s.managed[ACT_CPU] = s.managed[ACT_MEMORY] = 1;
  act_error err = {0};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    act_arg args[MAX_ARGS];
    size_t n;
    if (strcasecmp(c->key, "VM") == 0)
      continue;
    if (c->children_num > 0)
      return config_error(c, "is not a block here (only VM is)");
    if (to_args(c, args, &n) != 0)
      return -1;
    if (act_set_policy_key(&s, c->key, args, n, &err) != 0) {
      ERROR(PLUGIN_NAME " plugin: %s", err.msg);
      return -1;
    }
  }
  if (act_policy_add_set(p, &s, &err) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  for (int i = 0; i < ci->children_num; i++)
    if (strcasecmp(ci->children[i].key, "VM") == 0 &&
        config_vm(p, name, ci->children + i) != 0)
      return -1;
  return 0;
}

/* Broker "host" [port] */
static int config_broker(const oconfig_item_t *ci) {
  if (ci->values_num < 1 || ci->values_num > 2 ||
      ci->values[0].type != OCONFIG_TYPE_STRING ||
      (ci->values_num == 2 && ci->values[1].type != OCONFIG_TYPE_NUMBER))
    return config_error(ci, "needs a host name and optionally a port number");
  free(g.mq.host);
  if ((g.mq.host = strdup(ci->values[0].value.string)) == NULL)
    return config_error(ci, "out of memory");
  if (ci->values_num == 2) {
    double port = ci->values[1].value.number;
    if (port != floor(port) || port < 1 || port > 65535)
      return config_error(ci, "port must be a whole number in [1, 65535]");
    g.mq.port = (int)port;
  }
  return 0;
}

static int config_string(const oconfig_item_t *ci, char **dst) {
  free(*dst);
  *dst = NULL;
  if (cf_util_get_string(ci, dst) != 0)
    return config_error(ci, "needs one string");
  return 0;
}

static int config_positive_int(const oconfig_item_t *ci, int *dst, int max) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return config_error(ci, "needs one number");
  double v = ci->values[0].value.number;
  if (v != floor(v) || v < 1 || v > max) {
    ERROR(PLUGIN_NAME " plugin: %s %g (must be a whole number in [1, %d])", ci->key, v,
          max);
    return -1;
  }
  *dst = (int)v;
  return 0;
}

/* The plugin's own keys; 1 when key is not one of them. */
static int config_global(const oconfig_item_t *c) {
  if (strcasecmp(c->key, "Connection") == 0)
    return config_string(c, &g.connection);
  if (strcasecmp(c->key, "StateDir") == 0)
    return config_string(c, &g.state_dir);
  if (strcasecmp(c->key, "DryRun") == 0) {
    bool b;
    if (cf_util_get_boolean(c, &b) != 0)
      return config_error(c, "needs true or false");
    g.dry_run = b;
    return 0;
  }
  if (strcasecmp(c->key, "Interval") == 0) {
    if (cf_util_get_cdtime(c, &g.interval) != 0 || g.interval == 0)
      return config_error(c, "needs a positive number of seconds");
    return 0;
  }
  if (strcasecmp(c->key, "MaxAge") == 0)
    return config_positive_int(c, &g.max_age_s, 7 * 86400);
  if (strcasecmp(c->key, "Broker") == 0)
    return config_broker(c);
  if (strcasecmp(c->key, "Port") == 0)
    return config_positive_int(c, &g.mq.port, 65535);
  static const struct {
    const char *key;
    size_t off;
  } strings[] = {
      {"User", offsetof(mqtt_conf, user)},         {"Password", offsetof(mqtt_conf, password)},
      {"CAFile", offsetof(mqtt_conf, cafile)},     {"CertFile", offsetof(mqtt_conf, certfile)},
      {"KeyFile", offsetof(mqtt_conf, keyfile)},   {"Prefix", offsetof(mqtt_conf, prefix)},
      {"ClientId", offsetof(mqtt_conf, client_id)},
  };
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
    if (strcasecmp(c->key, strings[i].key) == 0)
      return config_string(c, (char **)((char *)&g.mq + strings[i].off));
  return 1;
}

static int actuator_config(oconfig_item_t *ci) {
  act_error err = {0};
  if (g.policy == NULL && (g.policy = act_policy_create(&err)) == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    g.config_failed = 1;
    return -1;
  }
  int rc = 0;
  /* the plugin's keys first: DryRun is every set's default, wherever it stands */
  for (int i = 0; rc == 0 && i < ci->children_num; i++) {
    const oconfig_item_t *c = ci->children + i;
    if (strcasecmp(c->key, "HostSet") == 0)
      continue;
    rc = config_global(c);
    if (rc == 1) {
      ERROR(PLUGIN_NAME " plugin: unknown option \"%s\" (known: Connection, DryRun, "
            "Interval, StateDir, MaxAge, Broker, Port, User, Password, CAFile, CertFile, "
            "KeyFile, Prefix, ClientId, HostSet)", c->key);
      rc = -1;
    }
  }
  for (int i = 0; rc == 0 && i < ci->children_num; i++)
    if (strcasecmp(ci->children[i].key, "HostSet") == 0)
      rc = config_host_set(g.policy, ci->children + i);
  if (rc == 0 && (g.mq.user == NULL) != (g.mq.password == NULL)) {
    ERROR(PLUGIN_NAME " plugin: User and Password go together");
    rc = -1;
  }
  if (rc == 0 && (g.mq.certfile == NULL) != (g.mq.keyfile == NULL)) {
    ERROR(PLUGIN_NAME " plugin: CertFile and KeyFile go together");
    rc = -1;
  }
  if (rc == 0 && g.connection != NULL && g.state_dir == NULL) {
    ERROR(PLUGIN_NAME " plugin: Connection needs a StateDir (the journal and ledgers)");
    rc = -1;
  }
  if (rc != 0)
    g.config_failed = 1;
  return rc;
}

/* ---------------------------------------------------------------- values in */

/* "h300" -> 300; -1 when not a horizon. */
static int parse_horizon(const char *s) {
  if (s[0] != 'h' || s[1] < '0' || s[1] > '9')
    return -1;
  char *end;
  errno = 0;
  long v = strtol(s + 1, &end, 10);
  return *end == '\0' && errno == 0 && v > 0 && v <= 100000000 ? (int)v : -1;
}

static int obs_from(const data_set_t *ds, const value_list_t *vl, act_obs *o) {
  if (vl->values_len < 1 || ds->ds_num != vl->values_len)
    return -1;
  for (size_t i = 0; i < ds->ds_num; i++)
    if (ds->ds[i].type != DS_TYPE_GAUGE)
      return -1;
  memset(o, 0, sizeof(*o));
  o->vm = vl->host;
  o->value = vl->values[0].gauge;
  o->ts = CDTIME_T_TO_DOUBLE(vl->time);
  if (strcmp(vl->type, "fs_usage") == 0 || strcmp(vl->type, "fs_alloc") == 0) {
    o->kind = vl->type[3] == 'u' ? ACT_OBS_USAGE : ACT_OBS_ALLOC;
    o->metric = vl->type_instance;
    return 0;
  }
  if (strcmp(vl->type, "fs_forecast") != 0 || vl->values_len != 3 ||
      (o->h_s = parse_horizon(vl->type_instance)) < 0)
    return -1;
  o->kind = ACT_OBS_FORECAST;
  o->metric = vl->plugin_instance;
  o->lo = vl->values[1].gauge;
  o->hi = vl->values[2].gauge;
  return 0;
}

static int actuator_write(const data_set_t *ds, const value_list_t *vl,
                          user_data_t *ud) {
  (void)ud;
  if (strncmp(vl->type, "fs_", 3) != 0)
    return 0;
  act_obs o;
  if (obs_from(ds, vl, &o) != 0)
    return 0;
  char *set = NULL, *model = NULL;
  if (vl->meta != NULL && meta_data_exists(vl->meta, "foresight:set"))
    meta_data_get_string(vl->meta, "foresight:set", &set);
  if (o.kind == ACT_OBS_FORECAST && vl->meta != NULL &&
      meta_data_exists(vl->meta, "foresight:model"))
    meta_data_get_string(vl->meta, "foresight:model", &model);
  o.set = set;
  o.model = model; /* the board copies what it keeps */
  double now = CDTIME_T_TO_DOUBLE(cdtime());
  act_error err = {0};
  pthread_mutex_lock(&g.board_lock);
  int rc = g.board == NULL ? 0 : act_board_put(g.board, &o, now, &err);
  if (rc < 0)
    c_complain(LOG_WARNING, &g.put_problem, PLUGIN_NAME " plugin: value of %s/%s-%s "
               "not used: %s", vl->host, vl->type, vl->type_instance, err.msg);
  else if (rc > 0)
    c_release(LOG_INFO, &g.put_problem, PLUGIN_NAME " plugin: values usable again");
  pthread_mutex_unlock(&g.board_lock);
  free(set);
  free(model);
  return 0;
}

/* ---------------------------------------------------------------- runner io */

static void io_publish(void *user, const char *topic, const char *payload, int qos,
                       int retain) {
  (void)user;
  if (g.link == NULL)
    return;
  char full[1024];
  fs_mqtt_error err = {0};
  if (fs_mqtt_link_topic(g.link, full, sizeof(full), topic) < 0 ||
      fs_mqtt_link_publish(g.link, full, payload, strlen(payload), qos, retain, &err) != 0)
    WARNING(PLUGIN_NAME " plugin: publish on %s: %s", topic,
            err.msg[0] ? err.msg : "topic too long");
}

static int io_fill_rows(void *user, const act_policy *policy, const char *set,
                        double now, act_board_rows *rows, act_error *err) {
  (void)user;
  pthread_mutex_lock(&g.board_lock);
  int rc = act_board_rows_fill(g.board, policy, set, now, rows, err);
  pthread_mutex_unlock(&g.board_lock);
  return rc;
}

static void io_applied(void *user, const char *vm, act_resource r, double alloc,
                       double now) {
  (void)user;
  act_error err = {0};
  pthread_mutex_lock(&g.board_lock);
  int rc = act_board_applied(g.board, vm, r, alloc, now, &err);
  pthread_mutex_unlock(&g.board_lock);
  if (rc != 0)
    WARNING(PLUGIN_NAME " plugin: %s", err.msg);
}

static void io_log(void *user, int level, const char *msg) {
  (void)user;
  plugin_log(level, PLUGIN_NAME " plugin: %s", msg);
}

/* ---------------------------------------------------------------- worker */

static void job_free(job *j) {
  if (j == NULL)
    return;
  free(j->topic);
  free(j->payload);
  free(j);
}

/* Waits for work; returns a request to handle (the caller frees it), or NULL with
 * *cycle set when a cycle is due, or NULL with both 0 when stopping. Requests first:
 * an operator waits for the answer, a cycle merely for its interval. */
static job *next_work(int *cycle) {
  pthread_mutex_lock(&g.job_lock);
  while (!g.stopping && g.head == NULL && !g.cycle_due)
    pthread_cond_wait(&g.job_cond, &g.job_lock);
  job *j = NULL;
  *cycle = 0;
  if (!g.stopping && g.head != NULL) {
    j = g.head;
    g.head = j->next;
    if (g.head == NULL)
      g.tail = NULL;
    g.n_jobs--;
  } else if (!g.stopping && g.cycle_due) {
    g.cycle_due = 0;
    *cycle = 1;
  }
  pthread_mutex_unlock(&g.job_lock);
  return j;
}

static void *worker_main(void *arg) {
  (void)arg;
  for (;;) {
    int cycle;
    job *j = next_work(&cycle);
    double now = CDTIME_T_TO_DOUBLE(cdtime());
    if (j != NULL) {
      int rc = act_runner_inbound(g.runner, j->topic, j->payload, j->len, now);
      if (rc == ACT_ENOENT) {
        DEBUG(PLUGIN_NAME " plugin: topic %s is not a request; ignored", j->topic);
      }
      job_free(j);
    } else if (cycle) {
      pthread_mutex_lock(&g.board_lock);
      act_board_expire(g.board, now - (double)EXPIRE_CYCLES * g.max_age_s);
      pthread_mutex_unlock(&g.board_lock);
      act_runner_cycle(g.runner, now);
    } else {
      break;
    }
  }
  return NULL;
}

static int actuator_read(user_data_t *ud) {
  (void)ud;
  pthread_mutex_lock(&g.job_lock);
  g.cycle_due = 1; /* a cycle still running is not queued twice */
  pthread_cond_signal(&g.job_cond);
  pthread_mutex_unlock(&g.job_lock);
  return 0;
}

/* ---------------------------------------------------------------- MQTT */

/* libfsmqtt's thread: queue the request for the worker, drop when it lags far behind. */
static void on_message(void *user, const char *topic, const void *payload, size_t len) {
  (void)user;
  if (strncmp(topic, g.mq.prefix, g.prefix_len) != 0 || topic[g.prefix_len] != '/')
    return;
  job *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->topic = strdup(topic + g.prefix_len + 1);
    j->payload = malloc(len + 1);
  }
  if (j == NULL || j->topic == NULL || j->payload == NULL) {
    job_free(j);
    ERROR(PLUGIN_NAME " plugin: request on %s dropped: out of memory", topic);
    return;
  }
  memcpy(j->payload, payload, len);
  j->payload[len] = '\0';
  j->len = len;
  pthread_mutex_lock(&g.job_lock);
  int full = g.n_jobs >= MAX_JOBS;
  if (!full) {
    if (g.tail != NULL)
      g.tail->next = j;
    else
      g.head = j;
    g.tail = j;
    g.n_jobs++;
    pthread_cond_signal(&g.job_cond);
  } else {
    g.jobs_dropped++;
  }
  pthread_mutex_unlock(&g.job_lock);
  if (full) {
    WARNING(PLUGIN_NAME " plugin: request on %s dropped: %d requests already waiting",
            topic, MAX_JOBS);
    job_free(j);
  }
}

static void on_event(void *user, const fs_mqtt_event *ev) {
  (void)user;
  switch (ev->kind) {
  case FS_MQTT_EV_CONNECTED:
    INFO(PLUGIN_NAME " plugin: MQTT broker %s:%d connected", g.mq.host, g.mq.port);
    break;
  case FS_MQTT_EV_DISCONNECTED:
    WARNING(PLUGIN_NAME " plugin: MQTT broker %s:%d lost: %s; reconnecting", g.mq.host,
            g.mq.port, ev->text);
    break;
  default:
    WARNING(PLUGIN_NAME " plugin: MQTT %s%s%s (reason %d)", ev->text,
            ev->topic ? " on " : "", ev->topic ? ev->topic : "", ev->reason);
    break;
  }
}

static int start_mqtt(void) {
  if (g.mq.host == NULL)
    return 0; /* no broker: decisions are logged only */
  fs_mqtt_config c;
  fs_mqtt_config_init(&c);
  c.host = g.mq.host;
  if (g.mq.port > 0)
    c.port = g.mq.port;
  g.mq.port = c.port;
  c.client_id = g.mq.client_id;
  c.username = g.mq.user;
  c.password = g.mq.password;
  c.cafile = g.mq.cafile;
  c.certfile = g.mq.certfile;
  c.keyfile = g.mq.keyfile;
  if (g.mq.prefix == NULL && (g.mq.prefix = strdup("foresight")) == NULL)
    return -1;
  c.prefix = g.mq.prefix;
  g.prefix_len = strlen(g.mq.prefix);
  fs_mqtt_callbacks cb = {.on_message = on_message, .on_event = on_event};
  fs_mqtt_error err = {0};
  if ((g.link = fs_mqtt_link_create(&c, &cb, NULL, &err)) == NULL) {
    ERROR(PLUGIN_NAME " plugin: MQTT: %s", err.msg);
    return -1;
  }
  static const char *const requests[] = {"+/policy/set", "+/+/command", "+/command"};
  for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
    char pattern[512];
    if (fs_mqtt_link_topic(g.link, pattern, sizeof(pattern), requests[i]) < 0 ||
        fs_mqtt_link_subscribe(g.link, pattern, 1, &err) != 0) {
      ERROR(PLUGIN_NAME " plugin: MQTT subscribe %s: %s", requests[i], err.msg);
      return -1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------- lifecycle */

/* The hypervisor; with FORESIGHT_TEST_KILL_AFTER_SETS=<n> (integration tests only)
 * wrapped so the daemon is killed right after the n-th change. */
static int open_hv(act_error *err) {
  if (g.connection == NULL)
    return 0;
  if ((g.hv = act_hv_libvirt_open(g.connection, err)) == NULL)
    return -1;
  const char *kill = getenv("FORESIGHT_TEST_KILL_AFTER_SETS");
  if (kill != NULL && atoi(kill) > 0) {
    WARNING(PLUGIN_NAME " plugin: test hook: the daemon kills itself after %d changes",
            atoi(kill));
    if ((g.hv = fsa_killhv_create(g.hv, atoi(kill), err)) == NULL)
      return -1;
  }
  return 0;
}

static int start_runner(void) {
  act_error err = {0};
  cdtime_t interval = g.interval ? g.interval : plugin_get_interval();
  if (g.max_age_s == 0)
    g.max_age_s = (int)ceil(3 * CDTIME_T_TO_DOUBLE(interval));
  pthread_mutex_lock(&g.board_lock);
  g.board = act_board_create(g.max_age_s, &err);
  pthread_mutex_unlock(&g.board_lock);
  if (g.board == NULL || open_hv(&err) != 0) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  if (start_mqtt() != 0)
    return -1;
  act_runner_config cfg;
  act_runner_config_init(&cfg);
  cfg.state_dir = g.state_dir;
  /* the read plugins report every VM within their first interval or two */
  cfg.warmup_s = 2 * CDTIME_T_TO_DOUBLE(plugin_get_interval());
  cfg.now = CDTIME_T_TO_DOUBLE(cdtime()); /* persisted holds already over are dropped */
  act_runner_io io = {.publish = io_publish, .fill_rows = io_fill_rows,
                      .applied = io_applied, .log = io_log};
  g.runner = act_runner_create(&cfg, g.policy, g.hv, &io, &err); /* takes the policy */
  g.policy = NULL;
  if (g.runner == NULL) {
    ERROR(PLUGIN_NAME " plugin: %s", err.msg);
    return -1;
  }
  if (plugin_thread_create(&g.worker, worker_main, NULL, "fs_actuator") != 0) {
    ERROR(PLUGIN_NAME " plugin: cannot start the worker thread");
    return -1;
  }
  g.worker_running = 1;
  INFO(PLUGIN_NAME " plugin: %zu host sets, cycle every %.3g s, %s%s", 
       act_policy_set_count(act_runner_policy(g.runner)), CDTIME_T_TO_DOUBLE(interval),
       g.hv ? "applying through " : "not applying (no Connection)",
       g.connection ? g.connection : "");
  return plugin_register_complex_read(NULL, PLUGIN_NAME, actuator_read, interval, NULL);
}

static int actuator_init(void) {
  if (g.config_failed)
    return -1;
  if (g.runner != NULL)
    return 0; /* init runs again after a config reload: keep running */
  if (g.policy == NULL) {
    ERROR(PLUGIN_NAME " plugin: no <Plugin " PLUGIN_NAME "> block");
    return -1;
  }
  return start_runner();
}

static void free_config(void) {
  free(g.connection);
  free(g.state_dir);
  char **strings[] = {&g.mq.host, &g.mq.user, &g.mq.password, &g.mq.cafile,
                      &g.mq.certfile, &g.mq.keyfile, &g.mq.prefix, &g.mq.client_id};
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
    free(*strings[i]);
    *strings[i] = NULL;
  }
  g.connection = g.state_dir = NULL;
  act_policy_destroy(g.policy);
  g.policy = NULL;
}

static int actuator_shutdown(void) {
  if (g.worker_running) {
    pthread_mutex_lock(&g.job_lock);
    g.stopping = 1;
    pthread_cond_signal(&g.job_cond);
    pthread_mutex_unlock(&g.job_lock);
    pthread_join(g.worker, NULL);
    g.worker_running = 0;
  }
  fs_mqtt_link_destroy(g.link); /* after the worker: it publishes */
  g.link = NULL;
  act_runner_destroy(g.runner);
  g.runner = NULL;
  act_hv_destroy(g.hv);
  g.hv = NULL;
  for (job *j = g.head, *next; j != NULL; j = next) {
    next = j->next;
    job_free(j);
  }
  g.head = g.tail = NULL;
  pthread_mutex_lock(&g.board_lock);
  act_board_destroy(g.board);
  g.board = NULL;
  pthread_mutex_unlock(&g.board_lock);
  free_config();
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, actuator_config);
  plugin_register_init(PLUGIN_NAME, actuator_init);
  plugin_register_write(PLUGIN_NAME, actuator_write, NULL);
  plugin_register_shutdown(PLUGIN_NAME, actuator_shutdown);
}
