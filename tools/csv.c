/* csv.c -- the line-oriented CSV reader of csv.h.
 *
 * Design: getline() into one growing buffer, then split the line in place; each field
 * is a pointer into that buffer, unescaped in place (an unescaped field is never longer
 * than its source, so the write position never passes the read position). The field
 * table grows by doubling. Nothing here knows what the columns mean.
 */
#include "tools/csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_reader {
  FILE *fp;
  const char *path; /* borrowed */
  long line;        /* lines read so far = line number of the current record */
  char *buf;        /* the current line, split in place */
  size_t buf_cap;
  char **fields; /* pointers into buf */
  int n_fields;
  int fields_cap;
};

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

csv_reader *csv_open(const char *path, char *err, size_t err_len) {
  csv_reader *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    fail(err, err_len, "%s: out of memory", path);
    return NULL;
  }
  r->path = path;
  r->fp = fopen(path, "r");
  if (r->fp == NULL) {
    fail(err, err_len, "%s: %s", path, strerror(errno));
    free(r);
    return NULL;
  }
  return r;
}

void csv_close(csv_reader *r) {
  if (r == NULL)
    return;
  if (r->fp != NULL)
    fclose(r->fp);
  free(r->buf);
  free(r->fields);
  free(r);
}

static int push_field(csv_reader *r, char *start) {
  if (r->n_fields == r->fields_cap) {
    int cap = r->fields_cap ? 2 * r->fields_cap : 16;
    char **f = realloc(r->fields, (size_t)cap * sizeof(*f));
    if (f == NULL)
      return -1;
    r->fields = f;
    r->fields_cap = cap;
  }
  r->fields[r->n_fields++] = start;
  return 0;
}

/* Splits r->buf into fields; returns 0, or -1 with err filled. */
static int split_line(csv_reader *r, char *err, size_t err_len) {
  char *p = r->buf;
  r->n_fields = 0;
  for (;;) {
    char *w = p; /* write position; <= p */
    if (push_field(r, w) != 0)
      return fail(err, err_len, "%s:%ld: out of memory", r->path, r->line);
    if (*p == '"') {
      for (p++;; p++) {
        if (*p == '\0')
          return fail(err, err_len, "%s:%ld:%d: unterminated quote", r->path, r->line,
                      r->n_fields);
        if (*p == '"' && p[1] != '"')
          break;
        if (*p == '"')
          p++; /* "" -> " */
        *w++ = *p;
      }
      p++; /* past the closing quote */
      if (*p != ',' && *p != '\0')
        return fail(err, err_len, "%s:%ld:%d: text after a closing quote", r->path,
                    r->line, r->n_fields);
    } else {
      while (*p != ',' && *p != '\0')
        *w++ = *p++;
    }
    char sep = *p;
    *w = '\0';
    if (sep == '\0')
      return 0;
    p++;
  }
}

int csv_next(csv_reader *r, char *err, size_t err_len) {
  for (;;) {
    errno = 0;
    ssize_t len = getline(&r->buf, &r->buf_cap, r->fp);
    if (len < 0) {
      if (ferror(r->fp))
        return fail(err, err_len, "%s:%ld: read error: %s", r->path, r->line + 1,
                    strerror(errno ? errno : EIO));
      if (errno == ENOMEM)
        return fail(err, err_len, "%s:%ld: out of memory", r->path, r->line + 1);
      return 0;
    }
    r->line++;
    if ((size_t)len != strlen(r->buf))
      return fail(err, err_len, "%s:%ld: NUL byte in line", r->path, r->line);
    while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
      r->buf[--len] = '\0';
    if (len == 0)
      continue; /* blank line */
    return split_line(r, err, err_len) == 0 ? 1 : -1;
  }
}

int csv_n_fields(const csv_reader *r) { return r->n_fields; }
const char *csv_field(const csv_reader *r, int i) { return r->fields[i]; }
long csv_line(const csv_reader *r) { return r->line; }
const char *csv_path(const csv_reader *r) { return r->path; }

int csv_find(const csv_reader *r, const char *name) {
  for (int i = 0; i < r->n_fields; i++)
    if (strcmp(r->fields[i], name) == 0)
      return i;
  return -1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int csv_number(const char *cell, double *out) {
  while (is_blank(*cell))
    cell++;
  if (*cell == '\0') {
    *out = NAN;
    return 0;
  }
  char *end;
  errno = 0;
  double v = strtod(cell, &end);
  if (end == cell)
    return -1;
  while (is_blank(*end))
    end++;
  if (*end != '\0')
    return -1;
  if (errno == ERANGE && isinf(v))
    return -1; /* overflow; underflow to a tiny value is fine */
  *out = v;
  return 0;
}

int csv_put_field(FILE *fp, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL)
    return fputs(s, fp) < 0 ? -1 : 0;
  if (fputc('"', fp) == EOF)
    return -1;
  for (; *s; s++) {
    if (*s == '"' && fputc('"', fp) == EOF)
      return -1;
    if (fputc(*s, fp) == EOF)
      return -1;
  }
  return fputc('"', fp) == EOF ? -1 : 0;
}
