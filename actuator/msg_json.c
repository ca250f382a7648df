/* msg_json.c -- the JSON plumbing the message files share: loading untrusted input,
 * type checks with messages that name the field and show the value, and the encoders'
 * number and string conventions.
 *
 * jansson does the parsing: it rejects invalid UTF-8, NUL inside strings (we never
 * pass JSON_ALLOW_NUL), NaN and infinities, and nesting deeper than its
 * JSON_PARSER_MAX_DEPTH; we add the size limit, duplicate keys (JSON_REJECT_DUPLICATES:
 * `{"value": 1, "value": 99}` must not mean whichever the parser kept) and the
 * requirement of one object. Values shown in messages are dumped back to JSON, so a
 * control character in the input never reaches a log line as such. */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"

#define SHOW_MAX 48 /* bytes of an offending value shown in a message */

/* JSON text of v (or a quoted string s), cut to SHOW_MAX bytes with "...". */
static void show(char *buf, size_t n, const json_t *v) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text == NULL) {
    snprintf(buf, n, "(unprintable)");
    return;
  }
  if (strlen(text) > SHOW_MAX)
    snprintf(buf, n, "%.*s...", SHOW_MAX, text);
  else
    snprintf(buf, n, "%s", text);
  free(text);
}

/* A path quoted as a JSON string: user-supplied keys may hold quotes or controls. */
static void quote(char *buf, size_t n, const char *s) {
  json_t *str = json_string(s);
  if (str == NULL) { /* not UTF-8: show the bytes we can */
    snprintf(buf, n, "\"");
    size_t k = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 2 < n; p++)
      buf[k++] = isprint(*p) && *p != '"' && *p != '\\' ? (char)*p : '?';
    buf[k++] = '"';
    buf[k] = '\0';
    return;
  }
  show(buf, n, str);
  json_decref(str);
}

int act__msg_bad(act_error *err, const char *path, const char *want, const json_t *got) {
  char where[SHOW_MAX + 16], value[SHOW_MAX + 16];
  quote(where, sizeof(where), path);
  if (got == NULL)
    return act__fail(err, ACT_EINVAL, "field %s: missing (must be %s)", where, want);
  show(value, sizeof(value), got);
  return act__fail(err, ACT_EINVAL, "field %s: must be %s, got %s", where, want, value);
}

int act__msg_load(const act_msg_ctx *ctx, const char *json, size_t len, json_t **out,
                  act_error *err) {
  size_t max = ctx == NULL || ctx->max_bytes == 0 ? ACT_MSG_MAX_BYTES : ctx->max_bytes;
  *out = NULL;
  if (json == NULL || len == 0)
    return act__fail(err, ACT_EINVAL, "message: empty (must be a JSON object)");
  if (len > max)
    return act__fail(err, ACT_EINVAL, "message: %zu bytes (must be at most %zu)", len,
                     max);
  /* JSON has no raw NUL; jansson would end a number at one and read on, so "0.7<NUL>"
   * would pass as 0.7 (found by mqtt_fuzz.py) */
  const char *nul = memchr(json, '\0', len);
  if (nul != NULL)
    return act__fail(err, ACT_EINVAL, "message: not valid JSON at byte %zu: NUL byte",
                     (size_t)(nul - json));
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return act__fail(err, ACT_EINVAL, "message: not valid JSON at byte %d: %s",
                     jerr.position, jerr.text);
  if (!json_is_object(root)) {
    char value[SHOW_MAX + 16];
    show(value, sizeof(value), root);
    json_decref(root);
    return act__fail(err, ACT_EINVAL, "message: must be a JSON object, got %s", value);
  }
  *out = root;
  return 0;
}

int act__msg_only(const json_t *obj, const char *path, const char *const allowed[],
                  act_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    int known = 0;
    for (size_t i = 0; allowed[i] != NULL && !known; i++)
      known = strcmp(key, allowed[i]) == 0;
    if (known)
      continue;
    char full[160], where[SHOW_MAX + 16], list[200] = "";
    snprintf(full, sizeof(full), "%s%s%s", path, path[0] ? "." : "", key);
    quote(where, sizeof(where), full);
    for (size_t i = 0, len = 0; allowed[i] != NULL && len < sizeof(list); i++)
      len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                              allowed[i]);
    return act__fail(err, ACT_EINVAL, "field %s: unknown (known: %s)", where, list);
  }
  return 0;
}

static int id_char_ok(unsigned char c) {
  return isalnum(c) || c == '.' || c == '_' || c == '-';
}

int act__msg_request_id(const json_t *obj, char id[ACT_MSG_ID_MAX], act_error *err) {
  static const char want[] = "a string of 1 to 64 characters A-Z a-z 0-9 . _ -";
  id[0] = '\0';
  const json_t *v = json_object_get(obj, "request_id");
  if (v == NULL || !json_is_string(v))
    return act__msg_bad(err, "request_id", want, v);
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (n == 0 || n >= ACT_MSG_ID_MAX)
    return act__msg_bad(err, "request_id", want, v);
  for (size_t i = 0; i < n; i++)
    if (!id_char_ok((unsigned char)s[i]))
      return act__msg_bad(err, "request_id", want, v);
  memcpy(id, s, n + 1);
  return 0;
}

int act__msg_get_double(const json_t *v, const char *path, double *out, act_error *err) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return 0;
  }
  if (json_is_string(v) && strcmp(json_string_value(v), "inf") == 0) {
    *out = INFINITY;
    return 0;
  }
  if (json_is_string(v) && strcmp(json_string_value(v), "-inf") == 0) {
    *out = -INFINITY;
    return 0;
  }
  return act__msg_bad(err, path, "a number (or \"inf\")", v);
}

int act__msg_get_int(const json_t *v, const char *path, int *out, act_error *err) {
  if (!json_is_integer(v))
    return act__msg_bad(err, path, "an integer", v);
  json_int_t i = json_integer_value(v);
  if (i < INT_MIN || i > INT_MAX)
    return act__msg_bad(err, path, "an integer of at most 9 digits", v);
  *out = (int)i;
  return 0;
}

int act__msg_get_resource(const char *key, const char *path, act_resource *out,
                          act_error *err) {
  if (act_resource_parse(key, out, NULL) == 0)
    return 0;
  json_t *k = json_string(key);
  int rc = act__msg_bad(err, path, "a resource: cpu, cpu_quota, memory, disk_iops or "
                        "net_kbps", k);
  json_decref(k);
  return rc;
}

json_t *act__msg_number(double v) {
  if (isnan(v))
    return json_null();
  if (isinf(v))
    return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

json_t *act__msg_string(const char *s) { return json_string(s == NULL ? "" : s); }

char *act__msg_dump(json_t *root, const char *what, act_error *err) {
  char *text = root == NULL ? NULL
                            : json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
  json_decref(root);
  if (text == NULL)
    act__fail(err, ACT_ENOMEM, "%s: cannot encode (out of memory, or a name that is "
              "not UTF-8)", what);
  return text;
}
