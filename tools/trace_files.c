/* trace_files.c -- tr_list_files(): which trace CSVs a command line names.
 *
 * A file argument is taken as is. A folder argument expands to <folder>/<dataset>/<name>.csv
 * (the layout of ../shared/traces, what lib.py's trace_files() globs) and <folder>/<name>.csv,
 * skipping index.csv and, like glob(3), names starting with '.'. The result is sorted by
 * strcmp (lib.py sorts the same paths as Python strings: code point order) and holds
 * each path once. A folder that yields no file is an error.
 */
#include "tools/trace.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct list {
  char **v;
  int n, cap;
};

static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return -1;
}

static void list_free(struct list *l) {
  for (int i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* Appends dir + "/" + name (name NULL: dir alone); takes no ownership of either. */
static int list_add(struct list *l, const char *dir, const char *name) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    char **v = realloc(l->v, (size_t)cap * sizeof(*v));
    if (v == NULL)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  size_t d = strlen(dir);
  int slash = name != NULL && d > 0 && dir[d - 1] != '/';
  size_t len = d + slash + (name ? strlen(name) : 0) + 1;
  char *s = malloc(len);
  if (s == NULL)
    return -1;
  snprintf(s, len, "%s%s%s", dir, slash ? "/" : "", name ? name : "");
  l->v[l->n++] = s;
  return 0;
}

static int is_csv_name(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".csv") == 0 &&
         strcmp(name, "index.csv") != 0;
}

static int kind_of(const char *path) { /* 'd' folder, 'f' regular file, 0 other/none */
  struct stat st;
  if (stat(path, &st) != 0)
    return 0;
  return S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 0;
}

/* Adds the trace CSVs of folder `dir`; with `depth` 1 also those one folder down. */
static int scan(struct list *l, const char *dir, int depth, char *err, size_t err_len) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return fail(err, err_len, "%s: %s", dir, strerror(errno));
  int status = 0;
  struct dirent *e;
  while (status == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    struct list one = {0}; /* the joined path, to stat it */
    if (list_add(&one, dir, e->d_name) != 0) {
      status = fail(err, err_len, "%s: out of memory", dir);
      break;
    }
    int kind = kind_of(one.v[0]);
    if (kind == 'd' && depth > 0)
      status = scan(l, one.v[0], depth - 1, err, err_len);
    else if (kind == 'f' && is_csv_name(e->d_name) && list_add(l, one.v[0], NULL) != 0)
      status = fail(err, err_len, "%s: out of memory", dir);
    list_free(&one);
  }
  closedir(d);
  return status;
}

static int by_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(struct list *l) {
  qsort(l->v, (size_t)l->n, sizeof(*l->v), by_path);
  int w = 0;
  for (int i = 0; i < l->n; i++) {
    if (w > 0 && strcmp(l->v[w - 1], l->v[i]) == 0)
      free(l->v[i]);
    else
      l->v[w++] = l->v[i];
  }
  l->n = w;
}

static int add_arg(struct list *l, const char *arg, char *err, size_t err_len) {
  struct stat st;
  if (stat(arg, &st) != 0)
    return fail(err, err_len, "%s: %s", arg, strerror(errno));
  if (S_ISREG(st.st_mode))
    return list_add(l, arg, NULL) == 0 ? 0 : fail(err, err_len, "%s: out of memory", arg);
  if (!S_ISDIR(st.st_mode))
    return fail(err, err_len, "%s: not a regular file or folder", arg);
  int before = l->n;
  if (scan(l, arg, 1, err, err_len) != 0)
    return -1;
  if (l->n == before)
    return fail(err, err_len, "%s: no trace CSVs in %s/*/ or %s/", arg, arg, arg);
  return 0;
}

int tr_list_files(const char *const *args, int n_args, char ***files, char *err,
                  size_t err_len) {
  struct list l = {0};
  *files = NULL;
  for (int i = 0; i < n_args; i++) {
    if (add_arg(&l, args[i], err, err_len) != 0) {
      list_free(&l);
      return -1;
    }
  }
  if (l.n == 0) {
    list_free(&l);
    return fail(err, err_len, "no trace files given");
  }
  sort_unique(&l);
  *files = l.v;
  return l.n;
}
