/* path.c -- where a series' file lives: collectd's DataDir layout, as its rrdtool
 * plugin builds it (host / plugin[-instance] / type[-instance].rrd). Names come from
 * value lists, i.e. from outside (VM names, config): a '/' or ".." in one could put a
 * file outside the DataDir, so such names are refused rather than escaped. */
#include <stdio.h>
#include <string.h>

#include "hist_internal.h"

static int given(const char *s) { return s != NULL && s[0] != '\0'; }

static int check_name(const char *what, const char *name, int required,
                      fs_hist_error *err) {
  if (!given(name))
    return required ? fs_hist__fail(err, FS_HIST_EINVAL, "%s is empty", what) : 0;
  if (strchr(name, '/') != NULL || strstr(name, "..") != NULL)
    return fs_hist__fail(err, FS_HIST_EINVAL, "%s \"%s\" contains '/' or \"..\"", what,
                         name);
  return 0;
}

int fs_hist_path(char *out, size_t n, const char *datadir, const char *host,
                 const char *plugin, const char *plugin_instance, const char *type,
                 const char *type_instance, fs_hist_error *err) {
  if (out != NULL && n > 0)
    out[0] = '\0';
  if (out == NULL || n == 0)
    return fs_hist__fail(err, FS_HIST_EINVAL, "no output buffer for the path");
  if (!given(datadir))
    return fs_hist__fail(err, FS_HIST_EINVAL, "datadir is empty");
  int rc;
  if ((rc = check_name("host", host, 1, err)) != 0 ||
      (rc = check_name("plugin", plugin, 1, err)) != 0 ||
      (rc = check_name("plugin instance", plugin_instance, 0, err)) != 0 ||
      (rc = check_name("type", type, 1, err)) != 0 ||
      (rc = check_name("type instance", type_instance, 0, err)) != 0)
    return rc;
  int len = snprintf(out, n, "%s/%s/%s%s%s/%s%s%s.rrd", datadir, host, plugin,
                     given(plugin_instance) ? "-" : "",
                     given(plugin_instance) ? plugin_instance : "", type,
                     given(type_instance) ? "-" : "", given(type_instance) ? type_instance : "");
  if (len < 0 || (size_t)len >= n) {
    out[0] = '\0';
    return fs_hist__fail(err, FS_HIST_ENOSPC, "path of %s/%s/%s needs %d bytes, have %zu",
                         host, plugin, type, len + 1, n);
  }
  return 0;
}
