/* virt_fixture.c -- see virt_fixture.h. */
#include "tests/unit/virt_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_value(virTypedParameter *p, const char *v) {
  char *end;
  if (strspn(v, "0123456789") == strlen(v) && *v != '\0') {
    p->type = VIR_TYPED_PARAM_ULLONG;
    p->value.ul = strtoull(v, &end, 10);
  } else if (v[0] == '-' && v[1] != '\0' && strspn(v + 1, "0123456789") == strlen(v + 1)) {
    p->type = VIR_TYPED_PARAM_LLONG;
    p->value.l = strtoll(v, &end, 10);
  } else if (strspn(v, "0123456789.") == strlen(v) && strchr(v, '.') != NULL) {
    p->type = VIR_TYPED_PARAM_DOUBLE;
    p->value.d = strtod(v, &end);
  } else {
    p->type = VIR_TYPED_PARAM_STRING;
    if ((p->value.s = strdup(v)) == NULL)
      return -1;
  }
  return 0;
}

static int add_param(vf_record *r, const char *key, const char *value) {
  virTypedParameter *grown = realloc(r->params, (size_t)(r->n + 1) * sizeof(*grown));
  if (grown == NULL)
    return -1;
  r->params = grown;
  virTypedParameter *p = &r->params[r->n];
  memset(p, 0, sizeof(*p));
  snprintf(p->field, sizeof(p->field), "%s", key);
  if (set_value(p, value) != 0)
    return -1;
  r->n++;
  return 0;
}

int vf_parse(const char *text, vf_record **recs, int *n) {
  *recs = NULL;
  *n = 0;
  char *copy = strdup(text), *save = NULL;
  if (copy == NULL)
    return -1;
  int status = 0;
  for (char *line = strtok_r(copy, "\n", &save); line != NULL && status == 0;
       line = strtok_r(NULL, "\n", &save)) {
    line += strspn(line, " \t");
    if (*line == '\0' || *line == '#')
      continue;
    if (strncmp(line, "Domain: '", 9) == 0) {
      vf_record *grown = realloc(*recs, (size_t)(*n + 1) * sizeof(*grown));
      if (grown == NULL) {
        status = -1;
        break;
      }
      *recs = grown;
      vf_record *r = &(*recs)[(*n)++];
      memset(r, 0, sizeof(*r));
      snprintf(r->name, sizeof(r->name), "%.*s", (int)strcspn(line + 9, "'"), line + 9);
      continue;
    }
    char *eq = strchr(line, '=');
    if (eq == NULL || *n == 0) {
      fprintf(stderr, "fixture: bad line \"%s\"\n", line);
      status = -1;
      break;
    }
    *eq = '\0';
    status = add_param(&(*recs)[*n - 1], line, eq + 1);
  }
  free(copy);
  if (status != 0) {
    vf_free(*recs, *n);
    *recs = NULL;
    *n = 0;
  }
  return status;
}

int vf_load(const char *name, vf_record **recs, int *n) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", FS_FIXTURES, name);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
    if (len + got + 1 > cap) {
      cap = 2 * (len + got + 1);
      char *grown = realloc(text, cap);
      if (grown == NULL) {
        free(text);
        fclose(f);
        return -1;
      }
      text = grown;
    }
    memcpy(text + len, buf, got);
    len += got;
  }
  fclose(f);
  if (text == NULL)
    return vf_parse("", recs, n);
  text[len] = '\0';
  int status = vf_parse(text, recs, n);
  free(text);
  return status;
}

void vf_free(vf_record *recs, int n) {
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < recs[i].n; j++)
      if (recs[i].params[j].type == VIR_TYPED_PARAM_STRING)
        free(recs[i].params[j].value.s);
    free(recs[i].params);
  }
  free(recs);
}
