/* ctl_print.c -- the lines foresight-ctl prints for decisions, results and status.
 *
 * A decision's reason is planner text, key=value pairs (actuator/decision.c):
 *   rule=forecast hi=2.7@600s threshold=0.8 need=3.375 usage=1.9 min=1 max=8 ...
 * The line keeps what an operator needs to judge it: the rule, the bound and its
 * horizon against threshold x allocation (or the lower band for a shrink), in the
 * resource's unit. Anything else is left to `status` or the raw message. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/ctl.h"

static const char *str_of(const json_t *o, const char *key, const char *dflt) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

static double num_of(const json_t *o, const char *key, double dflt) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

static void clock_of(const json_t *o, char *buf, size_t n) {
  const json_t *v = json_object_get(o, "ts");
  if (!json_is_integer(v)) {
    snprintf(buf, n, "--:--:--");
    return;
  }
  time_t t = (time_t)json_integer_value(v);
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, n, "%H:%M:%S", &tm) == 0)
    snprintf(buf, n, "--:--:--");
}

static const char *unit_of(const char *resource) {
  if (strcmp(resource, "cpu") == 0 || strcmp(resource, "cpu_quota") == 0)
    return "cores";
  if (strcmp(resource, "memory") == 0)
    return "MiB";
  if (strcmp(resource, "disk_iops") == 0)
    return "IOPS";
  if (strcmp(resource, "net_kbps") == 0)
    return "KB/s";
  return "";
}

/* The value of key in "k=v k=v" text, copied into out (n bytes); 0 when absent. */
static int reason_value(const char *reason, const char *key, char *out, size_t n) {
  size_t kl = strlen(key);
  for (const char *p = reason; p != NULL && *p != '\0';) {
    if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
      const char *v = p + kl + 1;
      size_t vl = strcspn(v, " ");
      snprintf(out, n, "%.*s", (int)vl, v);
      return 1;
    }
    p = strchr(p, ' ');
    if (p != NULL)
      p++;
  }
  return 0;
}

/* "+10 min" or "+45 s" for a horizon in seconds. */
static void horizon_text(long s, char *buf, size_t n) {
  if (s % 60 == 0)
    snprintf(buf, n, "+%ld min", s / 60);
  else
    snprintf(buf, n, "+%ld s", s);
}

/* "(forecast hi 2.7 cores at +10 min > 0.8 × 3)", or "(rule)" when no bound. */
static void why(const json_t *d, char *buf, size_t n) {
  const char *reason = str_of(d, "reason", "");
  const char *kind = str_of(d, "kind", "");
  char rule[32] = "", hi[64] = "", thr[32] = "", band[32] = "";
  if (!reason_value(reason, "rule", rule, sizeof(rule)))
    snprintf(rule, sizeof(rule), "%s", str_of(d, "rule", "?"));
  char usage[32];
  /* the fast correction acts on usage at the allocation, not on the forecast */
  if (strcmp(rule, "fast") == 0 && reason_value(reason, "usage", usage, sizeof(usage))) {
    snprintf(buf, n, "(fast: usage %s %s at allocation %g)", usage,
             unit_of(str_of(d, "resource", "")), num_of(d, "from", 0));
    return;
  }
  if (!reason_value(reason, "hi", hi, sizeof(hi))) {
    snprintf(buf, n, "(%s)", rule);
    return;
  }
  char *at = strchr(hi, '@');
  char when[32] = "";
  if (at != NULL) {
    *at = '\0';
    horizon_text(strtol(at + 1, NULL, 10), when, sizeof(when));
  }
  int len = snprintf(buf, n, "(%s hi %s %s%s%s", rule, hi, unit_of(str_of(d, "resource", "")),
                     when[0] ? " at " : "", when);
  if (len < 0 || (size_t)len >= n)
    return;
  double from = num_of(d, "from", 0);
  if (strcmp(kind, "grow") == 0 && reason_value(reason, "threshold", thr, sizeof(thr)))
    snprintf(buf + len, n - (size_t)len, " > %s × %g)", thr, from);
  else if (strcmp(kind, "shrink") == 0 &&
           reason_value(reason, "lower_band", band, sizeof(band)))
    snprintf(buf + len, n - (size_t)len, " < %s × %g)", band, from);
  else
    snprintf(buf + len, n - (size_t)len, ")");
}

static void decision_line(const char *set, const json_t *d, const char *tag, char *buf,
                          size_t n) {
  char clock[16], reason[200];
  clock_of(d, clock, sizeof(clock));
  why(d, reason, sizeof(reason));
  const char *kind = str_of(d, "kind", "?");
  char change[128];
  if (strcmp(kind, "lend") == 0 || strcmp(kind, "repay") == 0)
    snprintf(change, sizeof(change), "%g → %g (%s %g → %g)", num_of(d, "from", 0),
             num_of(d, "to", 0), str_of(d, "peer", "?"), num_of(d, "peer_from", 0),
             num_of(d, "peer_to", 0));
  else
    snprintf(change, sizeof(change), "%g → %g", num_of(d, "from", 0), num_of(d, "to", 0));
  snprintf(buf, n, "%s %s/%s %s %s %s %s %s", clock, set, str_of(d, "vm", "?"), kind,
           str_of(d, "resource", "?"), change, reason, tag);
}

static json_t *load(const char *json, size_t len) {
  json_t *j = json == NULL ? NULL : json_loadb(json, len, 0, NULL);
  if (j != NULL && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  return j;
}

void ctl_format_decision(const char *set, const char *json, size_t len, const char *tag,
                         char *buf, size_t n) {
  json_t *d = load(json, len);
  if (d == NULL) {
    snprintf(buf, n, "%s: unreadable decision: %.*s", set, (int)(len > 200 ? 200 : len),
             json);
    return;
  }
  decision_line(set, d, tag, buf, n);
  json_decref(d);
}

void ctl_format_result(const char *set, const char *json, size_t len,
                       const char *decision_json, size_t decision_len, char *buf,
                       size_t n) {
  json_t *r = load(json, len);
  if (r == NULL) {
    snprintf(buf, n, "%s: unreadable result: %.*s", set, (int)(len > 200 ? 200 : len),
             json);
    return;
  }
  char tag[200];
  const char *error = str_of(r, "error", NULL);
  if (error != NULL)
    snprintf(tag, sizeof(tag), "[%s: %s]", str_of(r, "status", "?"), error);
  else
    snprintf(tag, sizeof(tag), "[%s]", str_of(r, "status", "?"));
  json_t *d = load(decision_json, decision_len);
  if (d != NULL) {
    decision_line(set, d, tag, buf, n);
  } else {
    char clock[16];
    clock_of(r, clock, sizeof(clock));
    snprintf(buf, n, "%s %s/%s decision %.0f %s", clock, set, str_of(r, "vm", "?"),
             num_of(r, "decision_id", -1), tag);
  }
  json_decref(d);
  json_decref(r);
}

long long ctl_message_id(const char *json, size_t len, const char *key) {
  json_t *j = load(json, len);
  const json_t *v = j == NULL ? NULL : json_object_get(j, key);
  long long id = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
  json_decref(j);
  return id;
}

/* "cpu 4 (usage 2.5)  memory 4096 (usage 3000)" */
static int per_resource(const json_t *alloc, const json_t *usage, char *buf, size_t n) {
  size_t len = 0;
  const char *r;
  json_t *v;
  json_object_foreach((json_t *)alloc, r, v) {
    int k;
    const json_t *u = json_object_get(usage, r);
    if (json_is_number(u))
      k = snprintf(buf + len, n - len, "%s%s %g (usage %g)", len ? "  " : "", r,
                   json_number_value(v), json_number_value(u));
    else
      k = snprintf(buf + len, n - len, "%s%s %g", len ? "  " : "", r, json_number_value(v));
    if (k < 0 || (size_t)k >= n - len)
      return (int)len;
    len += (size_t)k;
  }
  return (int)len;
}

static void state_line(const char *who, const json_t *s, char *buf, size_t n) {
  char res[256] = "";
  per_resource(json_object_get(s, "allocation"), json_object_get(s, "usage"), res,
               sizeof(res));
  char extra[128] = "";
  size_t loans = json_array_size(json_object_get(s, "loans"));
  size_t holds = json_object_size(json_object_get(s, "held_until"));
  if (loans > 0 || holds > 0)
    snprintf(extra, sizeof(extra), "  [loans %zu, holds %zu]", loans, holds);
  snprintf(buf, n, "%s: %s%s", who, res[0] ? res : "no allocation known", extra);
}

static void forecast_line(const char *who, const json_t *f, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "%s (%s):", who, str_of(f, "model", "?"));
  const json_t *hs = json_object_get(f, "horizons");
  for (size_t i = 0; i < json_array_size(hs) && len < n; i++) {
    const json_t *h = json_array_get(hs, i);
    char when[32];
    horizon_text((long)num_of(h, "h_s", 0), when, sizeof(when));
    int k = snprintf(buf + len, n - len, " %s %g [%g, %g]", when, num_of(h, "mean", 0),
                     num_of(h, "lo", 0), num_of(h, "hi", 0));
    if (k < 0)
      break;
    len += (size_t)k;
  }
}

static void policy_line(const char *who, const json_t *p, char *buf, size_t n) {
  char managed[128] = "";
  size_t len = 0;
  const char *r;
  json_t *v;
  json_object_foreach(json_object_get(p, "Manage"), r, v) {
    if (json_is_true(v) && len < sizeof(managed))
      len += (size_t)snprintf(managed + len, sizeof(managed) - len, " %s", r);
  }
  snprintf(buf, n, "%s: manages%s; LeadTime %.0f s, Cooldown %.0f s, DryRun %s, %zu VM "
           "override(s)", who, managed[0] ? managed : " nothing", num_of(p, "LeadTime", 0),
           num_of(p, "Cooldown", 0),
           json_is_true(json_object_get(p, "DryRun")) ? "true" : "false",
           json_object_size(json_object_get(p, "VM")));
}

void ctl_format_status(const char *rest, const char *json, size_t len, char *buf,
                       size_t n) {
  json_t *j = load(json, len);
  const char *slash = strrchr(rest, '/');
  size_t head = slash == NULL ? strlen(rest) : (size_t)(slash - rest);
  char who[256];
  if (j == NULL) {
    snprintf(buf, n, "%s: unreadable: %.*s", rest, (int)(len > 120 ? 120 : len), json);
    return;
  }
  if (slash != NULL && strcmp(slash, "/policy") == 0) {
    snprintf(who, sizeof(who), "%.*s policy", (int)head, rest);
    policy_line(who, j, buf, n);
  } else if (slash != NULL && strcmp(slash, "/state") == 0) {
    snprintf(who, sizeof(who), "  %.*s", (int)head, rest);
    state_line(who, j, buf, n);
  } else if (strstr(rest, "/forecast/") != NULL) {
    snprintf(who, sizeof(who), "    %s", rest);
    forecast_line(who, j, buf, n);
  } else {
    snprintf(buf, n, "%s: %.*s", rest, (int)(len > 120 ? 120 : len), json);
  }
  json_decref(j);
}
