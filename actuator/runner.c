/* runner.c -- cycles, decisions applied and published, operator requests (runner.h).
 *
 * One act_runner per actuator: the policy in force, and per host set a planner, a
 * ledger and an applier. Everything runs in the caller's one thread, so nothing here
 * locks; the board, which collectd's write threads fill, is only reached through
 * io.fill_rows.
 * Order of effects for a decision: published first (so a crash mid-transaction still
 * left a trace of what was attempted), then applied, then its result published; the
 * allocation the board sees is updated only once the transaction committed.
 * Requests change nothing until they validated: a policy patch is validated on a
 * clone, persisted, then swapped in; a command's overrides are recorded only after it
 * decoded, and released again when the decision they caused did not apply or the
 * plan could not give them what they ask (a shortfall).
 * Not here: what a decision changes on the hypervisor (apply.c), the JSON (msg_*.c),
 * the rows (board.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "actuator/act_internal.h"
#include "actuator/idseq.h"
#include "actuator/messages.h"
#include "actuator/runner.h"

#define POLICY_REQUEST_ID "persisted" /* the request id of a persisted policy message */

/* A forecast topic and what it last carried (encoded with ts 0, so that only a
 * change of the bands, not of the time, publishes again). */
typedef struct fc_sent {
  char topic[2 * ACT_NAME_MAX + 24];
  char *key;
} fc_sent;

typedef struct set_rt {
  char name[ACT_NAME_MAX];
  act_planner *pl;
  act_ledger *ledger;
  act_apply *apply;    /* NULL: no hypervisor, nothing applied */
  act_board_rows rows; /* the latest rows: state messages, VMs known to commands */
  char *policy_json;   /* the policy last published, to publish only changes */
  fc_sent *fc_sent;    /* the forecasts last published, to publish only changes */
  size_t n_fc_sent, cap_fc_sent;
  int save_failed;     /* the planner file could not be written: said once */
} set_rt;

struct act_runner {
  char *state_dir;
  act_runner_config cfg;
  act_runner_io io;
  act_policy *policy;
  act_hv *hv;
  act_idseq *ids;
  set_rt *sets;
  size_t n_sets;
  act_plan plan;
  double first_cycle; /* wall time of the first act_runner_cycle, 0 before */
  int warm;           /* the warm-up is over */
};

void act_runner_config_init(act_runner_config *c) {
  memset(c, 0, sizeof(*c));
  act_apply_config_init(&c->apply);
  c->id_block = 64;
}

/* ---------------------------------------------------------------- small helpers */

static void say(const act_runner *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(const act_runner *r, int level, const char *fmt, ...) {
  if (r->io.log == NULL)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  r->io.log(r->io.user, level, line);
}

static void publish(const act_runner *r, const char *topic, const char *payload, int qos,
                    int retain) {
  if (r->io.publish != NULL && payload != NULL)
    r->io.publish(r->io.user, topic, payload, qos, retain);
}

/* "<state_dir>/<set><suffix>" into buf; 0, or ACT_ENOSPC. */
static int state_path(const act_runner *r, const char *name, const char *suffix,
                      char *buf, size_t n, act_error *err) {
  int len = snprintf(buf, n, "%s/%s%s", r->state_dir, name, suffix);
  if (len < 0 || (size_t)len >= n)
    return act__fail(err, ACT_ENOSPC, "StateDir %s: path too long", r->state_dir);
  return 0;
}

static set_rt *find_set(act_runner *r, const char *name) {
  for (size_t i = 0; name != NULL && i < r->n_sets; i++)
    if (strcmp(r->sets[i].name, name) == 0)
      return &r->sets[i];
  return NULL;
}

/* Reads a whole file of at most max bytes; NULL with errno (ENOENT: none). */
static char *read_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return NULL;
  char *buf = malloc(max + 1);
  size_t n = buf == NULL ? 0 : fread(buf, 1, max + 1, f);
  int bad = buf == NULL || ferror(f) || n > max;
  fclose(f);
  if (bad) {
    free(buf);
    errno = buf == NULL ? ENOMEM : EFBIG;
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Writes text to path durably: temporary file, fsync, rename, fsync of the folder. */
static int write_durably(const char *path, const char *text, act_error *err) {
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    return act__fail(err, ACT_ENOSPC, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return act__fail_errno(err, ACT_EIO, errno, "%s: open", tmp);
  int rc = act__write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
  int saved = errno;
  if (close(fd) != 0 && rc == 0) {
    rc = -1;
    saved = errno;
  }
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -1;
    saved = errno;
  }
  if (rc != 0) {
    unlink(tmp);
    return act__fail_errno(err, ACT_EIO, saved, "%s: write", path);
  }
  if (act__sync_folder(path) != 0)
    return act__fail_errno(err, ACT_EIO, errno, "%s: fsync of its folder", path);
  return 0;
}

/* Writes the set's planner memory (holds, cooldowns) when it changed. A failure is
 * logged once, and so is the recovery; every later call tries again. */
static int save_planner(act_runner *r, set_rt *s, double now, act_error *err) {
  if (r->state_dir == NULL)
    return 0;
  char path[4096];
  int rc = state_path(r, s->name, ".planner", path, sizeof(path), err);
  if (rc == 0)
    rc = act_planner_save(s->pl, path, act_policy_set(r->policy, s->name), (int64_t)now,
                          err);
  if (rc < 0 && !s->save_failed)
    say(r, ACT_LOG_ERR, "HostSet \"%s\": holds and cooldowns not persisted, a restart "
        "would lose them: %s (tried again every cycle)", s->name, err->msg);
  else if (rc >= 0 && s->save_failed)
    say(r, ACT_LOG_INFO, "HostSet \"%s\": holds and cooldowns persisted again (%s)",
        s->name, path);
  s->save_failed = rc < 0;
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- messages out */

/* {"request_id", "ok", "decision_id"?, "error"?}: act_msg_reply_encode's reply with the
 * decision a request caused (decision 0: null). */
static char *reply_encode(const char *request_id, uint64_t decision, const char *error) {
  act_error e;
  char *base = act_msg_reply_encode(request_id, error, &e);
  if (base == NULL)
    return NULL;
  json_t *o = json_loads(base, 0, NULL);
  free(base);
  if (o == NULL)
    return NULL;
  json_t *id = decision == 0 ? json_null() : json_integer((json_int_t)decision);
  char *out = NULL;
  if (id != NULL && json_object_set_new(o, "decision_id", id) == 0)
    out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return out;
}

static void reply(act_runner *r, const char *request_id, uint64_t decision,
                  const char *error) {
  if (request_id == NULL || request_id[0] == '\0') {
    say(r, ACT_LOG_WARNING, "request without a usable request_id not answered: %s",
        error ? error : "ok");
    return;
  }
  char topic[ACT_MSG_ID_MAX + 16];
  snprintf(topic, sizeof(topic), "reply/%s", request_id);
  char *text = reply_encode(request_id, decision, error);
  if (text == NULL)
    say(r, ACT_LOG_ERR, "reply %s: out of memory", request_id);
  publish(r, topic, text, 1, 0);
  free(text);
}

static void publish_policy(act_runner *r, set_rt *s) {
  act_error e;
  char *text = act_msg_policy_encode(r->policy, s->name, &e);
  if (text == NULL) {
    say(r, ACT_LOG_ERR, "HostSet \"%s\": policy message: %s", s->name, e.msg);
    return;
  }
  if (s->policy_json != NULL && strcmp(s->policy_json, text) == 0) {
    free(text);
    return;
  }
  char topic[ACT_NAME_MAX + 16];
  snprintf(topic, sizeof(topic), "%s/policy", s->name);
  publish(r, topic, text, 1, 1);
  free(s->policy_json);
  s->policy_json = text;
}

static void publish_decision(act_runner *r, const set_rt *s, const act_decision *d) {
  act_error e;
  char *text = act_msg_decision_encode(d, &e);
  char topic[ACT_NAME_MAX + 16];
  snprintf(topic, sizeof(topic), "%s/decision", s->name);
  if (text == NULL)
    say(r, ACT_LOG_ERR, "HostSet \"%s\": decision %llu message: %s", s->name,
        (unsigned long long)d->seq, e.msg);
  publish(r, topic, text, 1, 0);
  free(text);
}

static void publish_result(act_runner *r, const set_rt *s, const act_decision *d,
                           act_msg_status status, const char *why, double now) {
  act_msg_result res = {.decision_id = d->seq, .ts = (int64_t)now, .vm = d->vm,
                        .status = status, .error = why};
  act_error e;
  char *text = act_msg_result_encode(&res, &e);
  char topic[ACT_NAME_MAX + 16];
  snprintf(topic, sizeof(topic), "%s/result", s->name);
  if (text == NULL)
    say(r, ACT_LOG_ERR, "HostSet \"%s\": result %llu message: %s", s->name,
        (unsigned long long)d->seq, e.msg);
  publish(r, topic, text, 1, 0);
  free(text);
}

/* The loans of vm, as lender or borrower, into a malloc'd array (NULL when none). */
static act_loan *loans_of(const act_ledger *l, const char *vm, size_t *n) {
  *n = 0;
  act_loan *out = NULL;
  size_t count = act_ledger_count(l);
  for (size_t i = 0; i < count; i++) {
    const act_loan *k = act_ledger_at(l, i);
    if (strcmp(k->lender, vm) != 0 && strcmp(k->borrower, vm) != 0)
      continue;
    if (out == NULL && (out = calloc(count, sizeof(*out))) == NULL)
      return NULL;
    out[(*n)++] = *k;
  }
  return out;
}

/* `<set>/<vm>/state` for every VM of the set's rows (sorted by VM). */
static void publish_states(act_runner *r, set_rt *s, double now) {
  const act_board_rows *rows = &s->rows;
  for (size_t i = 0; i < rows->n_vms;) {
    const char *vm = rows->vms[i].vm;
    act_msg_state st;
    act_msg_state_init(&st, vm, (int64_t)now);
    for (; i < rows->n_vms && strcmp(rows->vms[i].vm, vm) == 0; i++) {
      st.alloc[rows->vms[i].resource] = rows->vms[i].alloc;
      st.usage[rows->vms[i].resource] = rows->vms[i].usage;
    }
    for (int k = 0; k < ACT_RES_COUNT; k++)
      st.held_until[k] = act_planner_held_until(s->pl, vm, (act_resource)k, (int64_t)now);
    size_t n_loans = 0;
    act_loan *loans = loans_of(s->ledger, vm, &n_loans);
    st.loans = loans;
    st.n_loans = n_loans;
    act_error e;
    char *text = act_msg_state_encode(&st, &e);
    char topic[2 * ACT_NAME_MAX + 16];
    snprintf(topic, sizeof(topic), "%s/%s/state", s->name, vm);
    if (text == NULL)
      say(r, ACT_LOG_ERR, "HostSet \"%s\" VM \"%s\": state message: %s", s->name, vm,
          e.msg);
    publish(r, topic, text, 0, 1); /* retained: the link republishes after a loss */
    free(text);
    free(loans);
  }
}

/* The forecast topics carry the value-naming contract's metric names and units (as
 * the fs_forecast values do), not the planner's: cpu cores, mem KiB, net KB/s. The
 * cpu_quota row repeats the cpu forecast, so it has no topic of its own. */
static const struct {
  act_resource res;
  const char *metric;
  double scale; /* planner unit -> contract unit */
} fc_metrics[] = {
    {ACT_CPU, "cpu", 1.0}, {ACT_MEMORY, "mem", 1024.0}, {ACT_NET_KBPS, "net", 1.0}};

#define FC_CONFIDENCE 0.9 /* the forecasters' bands are the central 90% interval */

/* The entry of topic in s->fc_sent, added when new; NULL when out of memory. */
static fc_sent *fc_sent_get(set_rt *s, const char *topic) {
  for (size_t i = 0; i < s->n_fc_sent; i++)
    if (strcmp(s->fc_sent[i].topic, topic) == 0)
      return &s->fc_sent[i];
  if (s->n_fc_sent == s->cap_fc_sent) {
    size_t cap = s->cap_fc_sent ? 2 * s->cap_fc_sent : 16;
    fc_sent *grown = realloc(s->fc_sent, cap * sizeof(*grown));
    if (grown == NULL)
      return NULL;
    s->fc_sent = grown;
    s->cap_fc_sent = cap;
  }
  fc_sent *e = &s->fc_sent[s->n_fc_sent++];
  snprintf(e->topic, sizeof(e->topic), "%s", topic);
  e->key = NULL;
  return e;
}

/* `<set>/<vm>/forecast/<metric>` (retained) for one row, when its points or its model
 * (borrowed, "" when unknown) changed. */
static void publish_forecast(act_runner *r, set_rt *s, const act_vm_state *row,
                             const char *model, const char *metric, double scale,
                             double now) {
  act_point pts[ACT_BOARD_MAX_POINTS];
  size_t n = row->n_points < ACT_BOARD_MAX_POINTS ? row->n_points : ACT_BOARD_MAX_POINTS;
  for (size_t i = 0; i < n; i++)
    pts[i] = (act_point){.h_s = row->points[i].h_s, .mean = row->points[i].mean * scale,
                         .lo = row->points[i].lo * scale, .hi = row->points[i].hi * scale};
  char topic[2 * ACT_NAME_MAX + 24];
  snprintf(topic, sizeof(topic), "%s/%s/forecast/%s", s->name, row->vm, metric);
  act_msg_forecast f = {.ts = 0, .points = pts, .n_points = n,
                        .confidence = FC_CONFIDENCE, .model = model};
  act_error e;
  char *key = act_msg_forecast_encode(&f, &e);
  fc_sent *sent = key != NULL ? fc_sent_get(s, topic) : NULL;
  if (sent == NULL) {
    say(r, ACT_LOG_ERR, "HostSet \"%s\" VM \"%s\": forecast message: %s", s->name,
        row->vm, key == NULL ? e.msg : "out of memory");
    free(key);
    return;
  }
  if (sent->key != NULL && strcmp(sent->key, key) == 0) {
    free(key);
    return;
  }
  f.ts = (int64_t)now;
  char *text = act_msg_forecast_encode(&f, &e);
  if (text == NULL) {
    say(r, ACT_LOG_ERR, "HostSet \"%s\" VM \"%s\": forecast message: %s", s->name,
        row->vm, e.msg);
    free(key);
    return;
  }
  publish(r, topic, text, 0, 1); /* retained: the latest forecast is what matters */
  free(text);
  free(sent->key);
  sent->key = key;
}

/* The forecasts of every VM of the set's rows that has forecast points. */
static void publish_forecasts(act_runner *r, set_rt *s, double now) {
  for (size_t i = 0; i < s->rows.n_vms; i++) {
    const act_vm_state *row = &s->rows.vms[i];
    if (row->n_points == 0)
      continue;
    for (size_t k = 0; k < sizeof(fc_metrics) / sizeof(fc_metrics[0]); k++)
      if (fc_metrics[k].res == row->resource)
        publish_forecast(r, s, row, s->rows.models != NULL ? s->rows.models[i] : "",
                         fc_metrics[k].metric, fc_metrics[k].scale, now);
  }
}

/* ---------------------------------------------------------------- applying */

static act_msg_status msg_status(act_status s) {
  switch (s) {
  case ACT_APPLIED: return ACT_MSG_APPLIED;
  case ACT_ROLLED_BACK: return ACT_MSG_ROLLED_BACK;
  case ACT_SKIPPED: return ACT_MSG_SKIPPED;
  case ACT_FAILED: break;
  }
  return ACT_MSG_FAILED;
}

/* Tells the board the allocations a committed decision left. */
static void note_applied(act_runner *r, const act_decision *d, double now) {
  if (r->io.applied == NULL)
    return;
  int moves_peer = d->kind == ACT_LEND || d->kind == ACT_REPAY;
  int moves_vm = moves_peer || d->kind == ACT_GROW || d->kind == ACT_SHRINK ||
                 d->kind == ACT_MANUAL; /* scale-out/in: the domain's values tell */
  if (moves_peer)
    r->io.applied(r->io.user, d->peer, d->resource, d->peer_to, now);
  if (moves_vm)
    r->io.applied(r->io.user, d->vm, d->resource, d->to, now);
}

static void describe(const act_decision *d, char *buf, size_t n) {
  if (d->kind == ACT_LEND || d->kind == ACT_REPAY)
    snprintf(buf, n, "%s %s %s %g -> %g, %s %g -> %g (loan %llu)", act_kind_name(d->kind),
             act_resource_name(d->resource), d->vm, d->from, d->to, d->peer,
             d->peer_from, d->peer_to, (unsigned long long)d->loan.id);
  else if (d->kind == ACT_SCALE_OUT || d->kind == ACT_SCALE_IN)
    snprintf(buf, n, "%s %s: instances %g -> %g", act_kind_name(d->kind), d->vm, d->from,
             d->to);
  else
    snprintf(buf, n, "%s %s %s %g -> %g", act_kind_name(d->kind), d->vm,
             act_resource_name(d->resource), d->from, d->to);
}

/* Publishes d, applies it unless `blocked` (a reason it must not be), publishes the
 * result. Returns the status; *why (ACT_REASON_MAX) says why not applied. */
static act_msg_status run_decision(act_runner *r, set_rt *s, const act_decision *d,
                                   const char *blocked, double now, char *why) {
  char what[2 * ACT_REASON_MAX];
  describe(d, what, sizeof(what));
  publish_decision(r, s, d);
  act_msg_status st = ACT_MSG_SKIPPED;
  why[0] = '\0';
  if (blocked != NULL) {
    snprintf(why, ACT_REASON_MAX, "%s", blocked);
  } else if (d->dry_run) {
    snprintf(why, ACT_REASON_MAX, "dry run");
  } else if (s->apply == NULL) {
    snprintf(why, ACT_REASON_MAX, "no hypervisor connection (Connection not set)");
  } else {
    const act_set_policy *sp = act_policy_set(r->policy, s->name);
    const char *tmpl = d->kind == ACT_SCALE_OUT && sp != NULL ? sp->scale_template : NULL;
    act_result res;
    memset(&res, 0, sizeof(res));
    act_apply_decision(s->apply, d, tmpl, &res);
    st = msg_status(res.status);
    snprintf(why, ACT_REASON_MAX, "%s", res.error);
    if (res.status == ACT_APPLIED || res.status == ACT_SKIPPED)
      note_applied(r, d, now);
  }
  publish_result(r, s, d, st, why, now);
  say(r, st == ACT_MSG_FAILED || st == ACT_MSG_ROLLED_BACK ? ACT_LOG_WARNING : ACT_LOG_INFO,
      "HostSet \"%s\": decision %llu %s: %s%s%s [%s]", s->name,
      (unsigned long long)d->seq, what, act_msg_status_name(st), why[0] ? ": " : "", why,
      d->reason);
  return st;
}

/* Runs the plan in r->plan: ids, publish, apply, results. *about (may be NULL) gets
 * the id and status of the first decision concerning vm `about_vm`. Returns how many
 * decisions there were. */
static int run_plan(act_runner *r, set_rt *s, double now, const char *about_vm,
                    uint64_t *about, act_msg_status *about_st, char *about_why) {
  char blocked[ACT_REASON_MAX] = "", why[ACT_REASON_MAX];
  for (size_t i = 0; i < r->plan.n_decisions; i++) {
    act_decision d = r->plan.decisions[i];
    act_error e;
    if (act_idseq_next(r->ids, &d.seq, &e) != 0) {
      say(r, ACT_LOG_ERR, "HostSet \"%s\": %zu decisions not made: %s", s->name,
          r->plan.n_decisions - i, e.msg);
      return (int)i;
    }
    act_msg_status st =
        run_decision(r, s, &d, blocked[0] ? blocked : NULL, now, why);
    if (blocked[0] == '\0' && (st == ACT_MSG_FAILED || st == ACT_MSG_ROLLED_BACK))
      snprintf(blocked, sizeof(blocked), "not applied: decision %llu before it in this "
               "cycle was not (%s)", (unsigned long long)d.seq, act_msg_status_name(st));
    if (about != NULL && *about == 0 && about_vm != NULL &&
        (strcmp(d.vm, about_vm) == 0 || strcmp(d.peer, about_vm) == 0)) {
      *about = d.seq;
      *about_st = st;
      snprintf(about_why, ACT_REASON_MAX, "%s", why);
    }
  }
  return (int)r->plan.n_decisions;
}

static int fill_rows(act_runner *r, set_rt *s, double now, act_error *err) {
  if (r->io.fill_rows == NULL) {
    s->rows.n_vms = s->rows.n_points = 0;
    return 0;
  }
  return r->io.fill_rows(r->io.user, r->policy, s->name, now, &s->rows, err);
}

static int cycle_set(act_runner *r, set_rt *s, double now, const char *about_vm,
                     uint64_t *about, act_msg_status *about_st, char *about_why) {
  act_error e;
  int rc = fill_rows(r, s, now, &e);
  act_cycle c = {.policy = r->policy, .set = s->name, .ledger = s->ledger,
                 .vms = s->rows.vms, .n_vms = s->rows.n_vms, .now = (int64_t)now};
  if (rc == 0)
    rc = act_planner_plan(s->pl, &c, &r->plan, &e);
  if (rc != 0) {
    say(r, ACT_LOG_ERR, "HostSet \"%s\": cycle: %s", s->name, e.msg);
    return rc;
  }
  int n = run_plan(r, s, now, about_vm, about, about_st, about_why);
  if (n > 0 && fill_rows(r, s, now, &e) != 0) /* the allocations after the plan */
    say(r, ACT_LOG_ERR, "HostSet \"%s\": rows: %s", s->name, e.msg);
  save_planner(r, s, now, &e); /* the plan's resizes, a hold's value: logged */
  publish_forecasts(r, s, now);
  publish_states(r, s, now);
  publish_policy(r, s);
  return n;
}

int act_runner_cycle(act_runner *r, double now) {
  int total = 0, failed = 0;
  if (r->first_cycle == 0)
    r->first_cycle = now;
  if (!r->warm && now < r->first_cycle + r->cfg.warmup_s)
    return 0;
  if (!r->warm && r->cfg.warmup_s > 0)
    say(r, ACT_LOG_INFO, "warm-up of %g s over: planning", r->cfg.warmup_s);
  r->warm = 1;
  for (size_t i = 0; i < r->n_sets; i++) {
    int n = cycle_set(r, &r->sets[i], now, NULL, NULL, NULL, NULL);
    if (n < 0 && failed == 0)
      failed = n;
    else if (n > 0)
      total += n;
  }
  return failed != 0 ? failed : total;
}

/* ---------------------------------------------------------------- requests */

static int vm_known(void *user, const char *set, const char *vm) {
  act_runner *r = user;
  set_rt *s = find_set(r, set);
  if (s == NULL)
    return 0;
  if (act_policy_vm(r->policy, set, vm) != NULL)
    return 1;
  for (size_t i = 0; i < s->rows.n_vms; i++)
    if (strcmp(s->rows.vms[i].vm, vm) == 0)
      return 1;
  return 0;
}

static int save_policy(act_runner *r, const char *set, const act_policy *p,
                       act_error *err) {
  if (r->state_dir == NULL)
    return 0;
  char path[4096];
  int rc = state_path(r, set, ".policy.json", path, sizeof(path), err);
  char *body = rc == 0 ? act_msg_policy_encode(p, set, err) : NULL;
  if (rc == 0 && body == NULL)
    rc = err->code;
  size_t n = body == NULL ? 0 : strlen(body) + 64;
  char *text = n == 0 ? NULL : malloc(n);
  if (rc == 0 && text == NULL)
    rc = act__fail(err, ACT_ENOMEM, "policy %s: out of memory", path);
  if (rc == 0) {
    snprintf(text, n, "{\"request_id\":\"" POLICY_REQUEST_ID "\",\"policy\":%s}\n", body);
    rc = write_durably(path, text, err);
  }
  free(body);
  free(text);
  return rc;
}

static int handle_policy(act_runner *r, const char *set, const char *payload, size_t len,
                         double now) {
  (void)now;
  act_msg_ctx ctx = {.policy = r->policy, .vm_known = vm_known, .user = r};
  act_policy *cand = NULL;
  char id[ACT_MSG_ID_MAX] = "";
  act_error e = {0};
  int rc = act_msg_policy_patch(&ctx, set, payload, len, &cand, id, &e);
  if (rc == 0)
    rc = act_policy_validate(cand, &e);
  if (rc == 0)
    rc = save_policy(r, set, cand, &e);
  if (rc == 0)
    rc = act_policy_swap(&r->policy, cand, &e); /* validated: does not fail */
  if (rc != 0) {
    act_policy_destroy(cand);
    say(r, ACT_LOG_WARNING, "HostSet \"%s\": policy/set %s refused: %s", set,
        id[0] ? id : "(no request id)", e.msg);
    reply(r, id, 0, e.msg);
    return 1;
  }
  say(r, ACT_LOG_INFO, "HostSet \"%s\": policy changed by request %s%s", set, id,
      r->state_dir ? " and persisted" : "");
  set_rt *s = find_set(r, set);
  if (s != NULL)
    publish_policy(r, s);
  reply(r, id, 0, NULL);
  return 0;
}

/* The smallest "<template>-<k>" neither in the set's rows nor on the hypervisor. */
static int scale_out_name(act_runner *r, set_rt *s, const char *tmpl, char *name,
                          act_error *err) {
  for (unsigned k = 1; k < 100000; k++) {
    int len = snprintf(name, ACT_NAME_MAX, "%s-%u", tmpl, k);
    if (len < 0 || len >= ACT_NAME_MAX)
      return act__fail(err, ACT_ENOSPC, "ScaleOutTemplate \"%s\": instance name too long",
                       tmpl);
    if (vm_known(r, s->name, name))
      continue;
    act_hv_domain dom;
    act_error ignored;
    if (r->hv == NULL || act_hv_lookup(r->hv, name, &dom, &ignored) == ACT_ENOENT)
      return 0;
  }
  return act__fail(err, ACT_ENOSPC, "ScaleOutTemplate \"%s\": no free instance name", tmpl);
}

static int distinct_vms(const act_board_rows *rows) {
  int n = 0;
  for (size_t i = 0; i < rows->n_vms; i++)
    n += i == 0 || strcmp(rows->vms[i].vm, rows->vms[i - 1].vm) != 0;
  return n;
}

/* An operator's scale_out: one decision, made and applied now. */
static int command_scale_out(act_runner *r, set_rt *s, const act_msg_command *cmd,
                             double now, uint64_t *id, act_error *err) {
  const act_set_policy *sp = act_policy_set(r->policy, s->name);
  if (sp->scale_template[0] == '\0')
    return act__fail(err, ACT_EINVAL, "HostSet \"%s\": scale_out: no ScaleOutTemplate "
                     "configured", s->name);
  int n = distinct_vms(&s->rows);
  if (n >= sp->max_instances)
    return act__fail(err, ACT_EINVAL, "HostSet \"%s\": scale_out: %d instances, "
                     "MaxInstances %d reached", s->name, n, sp->max_instances);
  act_decision d;
  memset(&d, 0, sizeof(d));
  int rc = scale_out_name(r, s, sp->scale_template, d.vm, err);
  if (rc != 0)
    return rc;
  if ((rc = act_idseq_next(r->ids, &d.seq, err)) != 0)
    return rc;
  d.ts = (int64_t)now;
  d.kind = ACT_SCALE_OUT;
  d.resource = ACT_CPU;
  d.from = n;
  d.to = n + 1;
  d.peer_from = d.peer_to = NAN;
  d.dry_run = sp->dry_run;
  snprintf(d.rule, sizeof(d.rule), "operator");
  snprintf(d.reason, sizeof(d.reason), "rule=operator request_id=%s instances=%d "
           "max_instances=%d template=%s", cmd->request_id, n, sp->max_instances,
           sp->scale_template);
  *id = d.seq;
  char why[ACT_REASON_MAX];
  act_msg_status st = run_decision(r, s, &d, NULL, now, why);
  if (st == ACT_MSG_FAILED || st == ACT_MSG_ROLLED_BACK)
    return act__fail(err, ACT_EHV, "decision %llu %s: %s", (unsigned long long)d.seq,
                     act_msg_status_name(st), why);
  return 0;
}

/* Ends the overrides m[0..n-1] of a set that did not take effect, so that they do not
 * rule the VM later, when nobody waits for them any more; the retained states, just
 * published with the hold, are published again without it. */
static void release_manuals(act_runner *r, set_rt *s, const act_manual *m, int n,
                            double now) {
  for (int i = 0; i < n; i++) {
    act_manual undo = m[i];
    undo.action = ACT_MANUAL_RELEASE;
    act_planner_manual(s->pl, &undo, (int64_t)now, NULL);
  }
  act_error ignored; /* logged */
  save_planner(r, s, now, &ignored);
  publish_states(r, s, now);
}

/* The shortfall the last plan recorded for vm's resource res, or NULL. A held VM
 * borrows nothing (capacity.c), so for it a shortfall is the set's free capacity
 * falling short of the held value. */
static const act_shortfall *plan_shortfall(const act_plan *plan, const char *vm,
                                           act_resource res) {
  for (size_t i = 0; i < plan->n_shortfalls; i++)
    if (plan->shortfalls[i].resource == res && strcmp(plan->shortfalls[i].vm, vm) == 0)
      return &plan->shortfalls[i];
  return NULL;
}

/* After a set's cycle: ACT_EINVAL naming VM, resource and what is missing when the
 * plan could not give an override all it asks (none of it, or part with a grow). */
static int check_granted(const act_plan *plan, const char *set, const act_manual *m,
                         int n, act_error *err) {
  for (int i = 0; i < n; i++) {
    const act_shortfall *sf = plan_shortfall(plan, m[i].vm, m[i].resource);
    if (sf != NULL)
      return act__fail(err, ACT_EINVAL, "HostSet \"%s\" VM \"%s\": set %s %g: short by "
                       "%g (the host set's free capacity allows %g of %g); override "
                       "released", set, m[i].vm, act_resource_name(m[i].resource),
                       m[i].value, sf->wanted - sf->granted, sf->granted, sf->wanted);
  }
  return 0;
}

/* The operator expects an override to outlast a restart: one that cannot be persisted
 * is refused (a set or hold is released again; a release stays, but the file still
 * holds the override, which a restart would bring back: the error says so). */
static int persist_manuals(act_runner *r, set_rt *s, const act_msg_command *cmd,
                           const act_manual *m, int n, double now, act_error *err) {
  act_error e = {0};
  if (save_planner(r, s, now, &e) == 0)
    return 0;
  int release = cmd->action == ACT_MSG_RELEASE;
  if (!release)
    release_manuals(r, s, m, n, now);
  return act__fail(err, e.code, "HostSet \"%s\": %s not persisted (%.120s); %s",
                   s->name, act_msg_action_name(cmd->action), e.msg,
                   release ? "released until a restart brings the override back"
                           : "override released");
}

/* An operator's set, hold or release: the overrides, then a cycle of the set. A set
 * that failed to apply or that the set's capacity cannot give is an error, and its
 * overrides are released. */
static int command_manual(act_runner *r, set_rt *s, const act_msg_command *cmd,
                          double now, uint64_t *id, act_error *err) {
  act_manual m[ACT_RES_COUNT];
  int n = act_msg_command_manuals(cmd, r->policy, m, err);
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++) {
    int rc = act_planner_manual(s->pl, &m[i], (int64_t)now, err);
    if (rc != 0)
      return rc; /* decoded commands are valid: only ENOMEM gets here */
  }
  if (persist_manuals(r, s, cmd, m, n, now, err) != 0)
    return err->code;
  act_msg_status st = ACT_MSG_APPLIED;
  char why[ACT_REASON_MAX] = "";
  int rc = cycle_set(r, s, now, cmd->vm, id, &st, why);
  if (rc < 0)
    return act__fail(err, rc, "HostSet \"%s\": cycle failed", s->name);
  int is_set = cmd->action == ACT_MSG_SET;
  if (*id != 0 && (st == ACT_MSG_FAILED || st == ACT_MSG_ROLLED_BACK)) {
    if (is_set)
      release_manuals(r, s, m, n, now);
    return act__fail(err, ACT_EHV, "decision %llu %s: %s", (unsigned long long)*id,
                     act_msg_status_name(st), why);
  }
  if (is_set && (rc = check_granted(&r->plan, s->name, m, n, err)) != 0) {
    release_manuals(r, s, m, n, now);
    return rc;
  }
  return 0;
}

static int handle_command(act_runner *r, const char *set, const char *vm,
                          const char *payload, size_t len, double now) {
  set_rt *s = find_set(r, set);
  act_error e = {0};
  if (s != NULL && fill_rows(r, s, now, &e) != 0) /* VMs known as of now */
    say(r, ACT_LOG_ERR, "HostSet \"%s\": rows: %s", set, e.msg);
  act_msg_ctx ctx = {.policy = r->policy, .vm_known = vm_known, .user = r};
  act_msg_command cmd;
  memset(&cmd, 0, sizeof(cmd));
  uint64_t id = 0;
  int rc = act_msg_command_decode(&ctx, set, vm, payload, len, &cmd, &e);
  if (rc == 0 && s == NULL)
    rc = act__fail(&e, ACT_ENOENT, "HostSet \"%s\": no such set", set);
  if (rc == 0 && cmd.action == ACT_MSG_SCALE_OUT)
    rc = command_scale_out(r, s, &cmd, now, &id, &e);
  else if (rc == 0)
    rc = command_manual(r, s, &cmd, now, &id, &e);
  if (rc != 0) {
    say(r, ACT_LOG_WARNING, "HostSet \"%s\": command %s refused: %s", set,
        cmd.request_id[0] ? cmd.request_id : "(no request id)", e.msg);
    reply(r, cmd.request_id, id, e.msg);
    return 1;
  }
  say(r, ACT_LOG_INFO, "HostSet \"%s\": command %s: %s %s done (decision %llu)", set,
      cmd.request_id, act_msg_action_name(cmd.action), cmd.vm[0] ? cmd.vm : set,
      (unsigned long long)id);
  reply(r, cmd.request_id, id, NULL);
  return 0;
}

int act_runner_inbound(act_runner *r, const char *topic, const char *payload, size_t len,
                       double now) {
  char buf[3 * ACT_NAME_MAX + 32];
  if (topic == NULL || strlen(topic) >= sizeof(buf))
    return ACT_ENOENT;
  snprintf(buf, sizeof(buf), "%s", topic);
  char *level[4];
  int n = 0;
  for (char *save = NULL, *t = strtok_r(buf, "/", &save); t != NULL;
       t = strtok_r(NULL, "/", &save)) {
    if (n == 4)
      return ACT_ENOENT;
    level[n++] = t;
  }
  /* `reply/<id>` is ours: with id "command" it would look like a set's command */
  if (n < 2 || strcmp(level[0], "reply") == 0)
    return ACT_ENOENT;
  if (n == 3 && strcmp(level[1], "policy") == 0 && strcmp(level[2], "set") == 0)
    return handle_policy(r, level[0], payload, len, now);
  if (n == 3 && strcmp(level[2], "command") == 0)
    return handle_command(r, level[0], level[1], payload, len, now);
  if (n == 2 && strcmp(level[1], "command") == 0)
    return handle_command(r, level[0], NULL, payload, len, now);
  return ACT_ENOENT;
}

/* ---------------------------------------------------------------- start and stop */

/* Replaces the config's policy of `set` by the one persisted in state_dir, if any. */
static int load_policy(act_runner *r, const char *set, act_error *err) {
  char path[4096];
  int rc = state_path(r, set, ".policy.json", path, sizeof(path), err);
  if (rc != 0)
    return rc;
  size_t len = 0;
  char *text = read_file(path, ACT_MSG_MAX_BYTES, &len);
  if (text == NULL && errno == ENOENT)
    return 0;
  if (text == NULL)
    return act__fail_errno(err, ACT_EIO, errno, "policy %s: read", path);
  act_msg_ctx ctx = {.policy = r->policy};
  act_policy *cand = NULL;
  char id[ACT_MSG_ID_MAX];
  act_error e = {0};
  rc = act_msg_policy_patch(&ctx, set, text, len, &cand, id, &e);
  free(text);
  if (rc == 0)
    rc = act_policy_swap(&r->policy, cand, &e);
  if (rc != 0) {
    act_policy_destroy(cand);
    return act__fail(err, ACT_ECORRUPT, "%s: %.120s (fix or remove the file to start "
                     "from the config)", path, e.msg);
  }
  say(r, ACT_LOG_INFO, "HostSet \"%s\": policy set over MQTT (%s) replaces the config "
      "file's", set, path);
  return 0;
}

/* The set's holds and cooldowns from before the restart. A file that reads in part
 * is an error logged with what was lost, not a failed start: what read is kept, and
 * written back at once so the next start finds a whole file (the damaged one is kept
 * beside it as .bad). Only a file that cannot be read at all stops the start. */
static int restore_planner(act_runner *r, set_rt *s, act_error *err) {
  char path[4096];
  int rc = state_path(r, s->name, ".planner", path, sizeof(path), err);
  if (rc != 0)
    return rc;
  act_planner_loaded n;
  act_error e = {0};
  rc = act_planner_load(s->pl, path, act_policy_set(r->policy, s->name),
                        (int64_t)r->cfg.now, &n, &e);
  if (rc != 0 && rc != ACT_ECORRUPT)
    return act__fail(err, rc, "%.200s (fix or remove the file)", e.msg);
  if (rc == ACT_ECORRUPT)
    say(r, ACT_LOG_ERR, "HostSet \"%s\": %s", s->name, e.msg);
  if (n.holds + n.resizes + n.scales + n.expired > 0)
    say(r, ACT_LOG_INFO, "HostSet \"%s\": %s: %zu holds, %zu resize and %zu scale "
        "cooldowns restored, %zu over dropped", s->name, path, n.holds, n.resizes,
        n.scales, n.expired);
  if (rc == ACT_ECORRUPT)
    save_planner(r, s, r->cfg.now, &e); /* logged */
  return 0;
}

static int open_set(act_runner *r, set_rt *s, act_error *err) {
  char path[4096];
  if ((s->pl = act_planner_create(err)) == NULL)
    return err->code;
  act_board_rows_init(&s->rows);
  int rc = r->state_dir ? state_path(r, s->name, ".ledger", path, sizeof(path), err) : 0;
  if (rc != 0)
    return rc;
  if ((s->ledger = act_ledger_create(r->state_dir ? path : NULL, err)) == NULL)
    return err->code;
  if (r->state_dir != NULL && (rc = restore_planner(r, s, err)) != 0)
    return rc;
  if (r->hv == NULL)
    return 0;
  if ((rc = state_path(r, s->name, ".journal", path, sizeof(path), err)) != 0)
    return rc;
  act_journal_report rep = {0};
  s->apply = act_apply_create(r->hv, path, s->ledger, &r->cfg.apply, &rep, err);
  if (s->apply == NULL)
    return err->code;
  if (rep.torn)
    say(r, ACT_LOG_WARNING, "HostSet \"%s\": journal %s: torn last line %d (%zu bytes, "
        "a write cut short) ignored", s->name, path, rep.torn_line, rep.torn_bytes);
  return 0;
}

/* Finishes what a crash left open, before any decision; logs what it did. */
static void recover_set(act_runner *r, set_rt *s) {
  act_recovery rec = {0};
  act_error e = {0};
  int rc = act_apply_recover(s->apply, &rec, &e);
  if (rec.open > 0 || rc != 0)
    say(r, rc == 0 ? ACT_LOG_INFO : ACT_LOG_ERR,
        "HostSet \"%s\": journal recovery: %zu open, %zu rolled back, %zu completed, "
        "%zu still open%s%s", s->name, rec.open, rec.rolled_back, rec.completed,
        rec.failed, rc ? ": " : "", rc ? e.msg : "");
  size_t n = act_ledger_count(s->ledger);
  if (n > 0)
    say(r, ACT_LOG_INFO, "HostSet \"%s\": %zu loans outstanding from the ledger", s->name,
        n);
}

static int prepare_state_dir(const char *dir, act_error *err) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return act__fail_errno(err, ACT_EIO, errno, "StateDir %s: mkdir", dir);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return act__fail(err, ACT_EIO, "StateDir %s: not a folder", dir);
  if (access(dir, W_OK | X_OK) != 0)
    return act__fail_errno(err, ACT_EIO, errno, "StateDir %s: not writable", dir);
  return 0;
}

static int open_all(act_runner *r, act_error *err) {
  int rc = 0;
  size_t n = act_policy_set_count(r->policy);
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (strcmp(act_policy_set_at(r->policy, i)->name, "reply") == 0)
      rc = act__fail(err, ACT_EINVAL, "HostSet \"reply\": name reserved for MQTT replies");
  if (rc == 0 && r->hv != NULL && r->state_dir == NULL)
    rc = act__fail(err, ACT_EINVAL, "StateDir: needed to apply decisions (the journal)");
  if (rc == 0 && r->state_dir != NULL)
    rc = prepare_state_dir(r->state_dir, err);
  for (size_t i = 0; rc == 0 && r->state_dir != NULL && i < n; i++) {
    char set[ACT_NAME_MAX];
    snprintf(set, sizeof(set), "%s", act_policy_set_at(r->policy, i)->name);
    rc = load_policy(r, set, err); /* swaps the policy: names copied */
  }
  char path[4096];
  if (rc == 0 && r->state_dir != NULL)
    rc = state_path(r, "decision-ids", "", path, sizeof(path), err);
  if (rc == 0 && (r->ids = act_idseq_open(r->state_dir ? path : NULL, r->cfg.id_block,
                                          err)) == NULL)
    rc = err->code;
  if (rc == 0 && n > 0 && (r->sets = calloc(n, sizeof(*r->sets))) == NULL)
    rc = act__fail(err, ACT_ENOMEM, "runner: out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++, r->n_sets++) {
    set_rt *s = &r->sets[i];
    snprintf(s->name, sizeof(s->name), "%s", act_policy_set_at(r->policy, i)->name);
    rc = open_set(r, s, err);
  }
  return rc;
}

act_runner *act_runner_create(const act_runner_config *cfg, act_policy *policy,
                              act_hv *hv, const act_runner_io *io, act_error *err) {
  act_runner *r = calloc(1, sizeof(*r));
  if (r == NULL || policy == NULL) {
    free(r);
    act_policy_destroy(policy);
    act__fail(err, r == NULL ? ACT_ENOMEM : ACT_EINVAL, "runner: %s",
              r == NULL ? "out of memory" : "no policy");
    return NULL;
  }
  r->policy = policy;
  r->hv = hv;
  if (io != NULL)
    r->io = *io;
  if (cfg != NULL)
    r->cfg = *cfg;
  else
    act_runner_config_init(&r->cfg);
  act_plan_init(&r->plan);
  if (r->cfg.state_dir != NULL && (r->state_dir = strdup(r->cfg.state_dir)) == NULL) {
    act__fail(err, ACT_ENOMEM, "runner: out of memory");
    act_runner_destroy(r);
    return NULL;
  }
  r->cfg.state_dir = r->state_dir;
  if (open_all(r, err) != 0) {
    act_runner_destroy(r);
    return NULL;
  }
  for (size_t i = 0; i < r->n_sets; i++) {
    if (r->sets[i].apply != NULL)
      recover_set(r, &r->sets[i]);
    publish_policy(r, &r->sets[i]);
  }
  return r;
}

void act_runner_destroy(act_runner *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_sets; i++) {
    set_rt *s = &r->sets[i];
    act_apply_destroy(s->apply);
    act_ledger_destroy(s->ledger);
    act_planner_destroy(s->pl);
    act_board_rows_free(&s->rows);
    free(s->policy_json);
    for (size_t k = 0; k < s->n_fc_sent; k++)
      free(s->fc_sent[k].key);
    free(s->fc_sent);
  }
  free(r->sets);
  act_idseq_destroy(r->ids);
  act_plan_free(&r->plan);
  act_policy_destroy(r->policy);
  free(r->state_dir);
  free(r);
}

const act_policy *act_runner_policy(const act_runner *r) { return r->policy; }

const act_ledger *act_runner_ledger(const act_runner *r, const char *set) {
  for (size_t i = 0; set != NULL && i < r->n_sets; i++)
    if (strcmp(r->sets[i].name, set) == 0)
      return r->sets[i].ledger;
  return NULL;
}
