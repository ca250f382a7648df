/* layout.c -- the archives of a new file: the default (see history.h for why these
 * spans) and the checks that keep rrd_create from failing later with a less precise
 * message. */
#include <stdio.h>
#include <string.h>

#include "hist_internal.h"

/* Coarse archives of the default layout: step and span. */
static const struct {
  int step_s, rows;
} default_coarse[] = {
    {3600, 90 * 24}, /* 1 h for 90 days: a season of weekly patterns */
    {86400, 730},    /* 1 d for 2 years: growth over the hardware's lifetime */
};

static int ds_name_ok(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > FS_HIST_DS_NAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_'))
      return 0;
  }
  return 1;
}

static int check_ds(size_t i, const char *name, fs_hist_error *err) {
  if (name == NULL || !ds_name_ok(name))
    return fs_hist__fail(err, FS_HIST_EINVAL,
                         "data source #%zu \"%s\" (want 1..%d of [A-Za-z0-9_])", i,
                         name != NULL ? name : "(null)", FS_HIST_DS_NAME_MAX);
  return 0;
}

int fs_hist_layout_init(fs_hist_layout *l, int step_s, size_t n_ds,
                        const char *const ds_names[], fs_hist_error *err) {
  if (l == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no layout to fill");
  if (step_s < 1)
    return fs_hist__fail(err, FS_HIST_EINVAL, "step %d s (must be >= 1)", step_s);
  if (n_ds < 1 || n_ds > FS_HIST_MAX_DS || ds_names == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%zu data sources (must be 1..%d)", n_ds,
                         FS_HIST_MAX_DS);
  for (size_t i = 0; i < n_ds; i++) {
    int rc = check_ds(i, ds_names[i], err);
    if (rc != 0)
      return rc;
  }
  fs_hist_layout t;
  memset(&t, 0, sizeof(t));
  t.step_s = step_s;
  t.n_ds = n_ds;
  for (size_t i = 0; i < n_ds; i++)
    snprintf(t.ds_names[i], sizeof(t.ds_names[i]), "%s", ds_names[i]);
  t.native_rows = (FS_HIST_DEFAULT_WINDOW_S + step_s - 1) / step_s;
  if (t.native_rows < 2)
    t.native_rows = 2;
  for (size_t k = 0; k < sizeof(default_coarse) / sizeof(default_coarse[0]); k++) {
    int cs = default_coarse[k].step_s;
    if (cs <= step_s || cs % step_s != 0)
      continue;
    t.coarse[t.n_coarse].step_s = cs;
    t.coarse[t.n_coarse].rows = default_coarse[k].rows;
    t.n_coarse++;
  }
  *l = t;
  return 0;
}

int fs_hist_layout_validate(const fs_hist_layout *l, fs_hist_error *err) {
  if (l == NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no layout");
  if (l->step_s < 1)
    return fs_hist__fail(err, FS_HIST_EINVAL, "step %d s (must be >= 1)", l->step_s);
  if (l->n_ds < 1 || l->n_ds > FS_HIST_MAX_DS)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%zu data sources (must be 1..%d)", l->n_ds,
                         FS_HIST_MAX_DS);
  for (size_t i = 0; i < l->n_ds; i++) {
    /* the name must be NUL-terminated inside its array before we read it */
    if (memchr(l->ds_names[i], '\0', sizeof(l->ds_names[i])) == NULL)
      return fs_hist__fail(err, FS_HIST_EINVAL, "data source #%zu: name not terminated", i);
    int rc = check_ds(i, l->ds_names[i], err);
    if (rc != 0)
      return rc;
    for (size_t j = 0; j < i; j++)
      if (strcmp(l->ds_names[i], l->ds_names[j]) == 0)
        return fs_hist__fail(err, FS_HIST_EINVAL, "data source \"%s\" given twice",
                             l->ds_names[i]);
  }
  if (l->native_rows < 2)
    return fs_hist__fail(err, FS_HIST_EINVAL, "native_rows %d (must be >= 2)",
                         l->native_rows);
  if (l->n_coarse > FS_HIST_MAX_COARSE)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%zu coarse archives (at most %d)",
                         l->n_coarse, FS_HIST_MAX_COARSE);
  for (size_t k = 0; k < l->n_coarse; k++) {
    const fs_hist_archive *a = &l->coarse[k];
    if (a->step_s <= l->step_s || a->step_s % l->step_s != 0)
      return fs_hist__fail(err, FS_HIST_EINVAL,
                           "coarse archive #%zu: step %d s (must be a multiple of %d s "
                           "above it)", k, a->step_s, l->step_s);
    if (a->rows < 1)
      return fs_hist__fail(err, FS_HIST_EINVAL, "coarse archive #%zu: %d rows (must be >= 1)",
                           k, a->rows);
  }
  return 0;
}
