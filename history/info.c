/* info.c -- an RRD file's header as libhistory needs it: step, last update, data
 * sources in their order, archives. Read with rrd_info_r, which returns a list of
 * "key = value" pairs such as ds[mean].index or rra[3].pdp_per_row; we pick ours out
 * of it rather than open the file format ourselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>

#include "hist_internal.h"

/* "ds[<name>].<field>": copies name (if it fits) and returns the field, else NULL. */
static const char *ds_key(const char *key, char name[FS_HIST_DS_NAME_MAX + 1]) {
  if (strncmp(key, "ds[", 3) != 0)
    return NULL;
  const char *close = strstr(key + 3, "].");
  if (close == NULL)
    return NULL;
  size_t len = (size_t)(close - (key + 3));
  if (len == 0 || len > FS_HIST_DS_NAME_MAX)
    return NULL;
  memcpy(name, key + 3, len);
  name[len] = '\0';
  return close + 2;
}

/* "rra[<i>].<field>": sets *index and returns the field, else NULL. */
static const char *rra_key(const char *key, long *index) {
  if (strncmp(key, "rra[", 4) != 0)
    return NULL;
  char *end;
  *index = strtol(key + 4, &end, 10);
  if (end == key + 4 || strncmp(end, "].", 2) != 0 || *index < 0)
    return NULL;
  return end + 2;
}

static int take_ds(fs_hist__info *out, const rrd_info_t *p, const char *path,
                   fs_hist_error *err) {
  char name[FS_HIST_DS_NAME_MAX + 1];
  const char *field = ds_key(p->key, name);
  if (field == NULL)
    return 0;
  if (strcmp(field, "index") == 0 && p->type == RD_I_CNT) {
    if (p->value.u_cnt >= FS_HIST_MAX_DS)
      return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: more than %d data sources", path,
                           FS_HIST_MAX_DS);
    snprintf(out->ds_names[p->value.u_cnt], sizeof(out->ds_names[0]), "%s", name);
    if (p->value.u_cnt + 1 > out->n_ds)
      out->n_ds = p->value.u_cnt + 1;
  } else if (strcmp(field, "type") == 0 && p->type == RD_I_STR) {
    /* the index comes before the type in rrd_info's list; find the name's slot */
    for (size_t i = 0; i < out->n_ds; i++)
      if (strcmp(out->ds_names[i], name) == 0)
        snprintf(out->ds_types[i], sizeof(out->ds_types[i]), "%s", p->value.u_str);
  }
  return 0;
}

static int take_rra(fs_hist__info *out, const rrd_info_t *p, const char *path,
                    fs_hist_error *err) {
  long i;
  const char *field = rra_key(p->key, &i);
  if (field == NULL)
    return 0;
  if (i >= FS_HIST__MAX_RRA)
    return fs_hist__fail(err, FS_HIST_ECOMPAT, "%s: more than %d archives", path,
                         FS_HIST__MAX_RRA);
  fs_hist__rra *r = &out->rra[i];
  if ((size_t)i + 1 > out->n_rra)
    out->n_rra = (size_t)i + 1;
  if (strcmp(field, "cf") == 0 && p->type == RD_I_STR)
    snprintf(r->cf, sizeof(r->cf), "%s", p->value.u_str);
  else if (strcmp(field, "rows") == 0 && p->type == RD_I_CNT)
    r->rows = (long)p->value.u_cnt;
  else if (strcmp(field, "pdp_per_row") == 0 && p->type == RD_I_CNT)
    r->pdp_per_row = (long)p->value.u_cnt;
  return 0;
}

int fs_hist__read_info(const char *path, fs_hist__info *out, fs_hist_error *err) {
  memset(out, 0, sizeof(*out));
  int rc = fs_hist__exists(path, err);
  if (rc != 0)
    return rc;
  rrd_clear_error();
  rrd_info_t *info = rrd_info_r(path);
  if (info == NULL)
    return fs_hist__fail_rrd(err, FS_HIST_EIO, "%s: reading its header", path);
  for (const rrd_info_t *p = info; p != NULL && rc == 0; p = p->next) {
    if (strcmp(p->key, "step") == 0 && p->type == RD_I_CNT)
      out->step_s = (long)p->value.u_cnt;
    else if (strcmp(p->key, "last_update") == 0 && p->type == RD_I_CNT)
      out->last_update = (time_t)p->value.u_cnt;
    else if ((rc = take_ds(out, p, path, err)) == 0)
      rc = take_rra(out, p, path, err);
  }
  rrd_info_free(info);
  if (rc == 0 && (out->step_s < 1 || out->n_ds == 0))
    rc = fs_hist__fail(err, FS_HIST_EIO, "%s: header has no step or no data source", path);
  return rc;
}

long fs_hist__native_rows(const fs_hist__info *info) {
  long rows = 0;
  for (size_t i = 0; i < info->n_rra; i++) {
    const fs_hist__rra *r = &info->rra[i];
    if (strcmp(r->cf, "AVERAGE") == 0 && r->pdp_per_row == 1 && r->rows > rows)
      rows = r->rows;
  }
  return rows;
}
