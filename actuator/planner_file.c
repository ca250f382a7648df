/* planner_file.c -- the planner's memory on disk (act_planner_load/_save).
 *
 * Format: text, one record per line, each line `<crc32 as 8 hex digits> <record>` as
 * in the journal, so that one damaged line is found and skipped while the others are
 * kept (a lost override is worse than a lost line):
 *
 *   foresight-planner 1                          header: first line, always
 *   hold <vm> <resource> <until> <value|->       a set (value) or hold (-: the
 *                                                allocation the planner saw first)
 *   resized <vm> <resource> <ts>                 the last resize, for the cooldown
 *   scaled <ts>                                  the set's last scale-out or -in
 *   end <number of records>                      last line, always
 *
 * Only what is still in force is written: a hold until it ends, a resize until the
 * set's Cooldown after it, a scale until ScaleCooldown after it. The `end` line makes
 * a file cut short detectable. The file is written whole (temporary file, fsync,
 * rename, fsync of the folder, as the ledger), so a reader sees the old or the new
 * file, never a mix; damage therefore means the disk or a hand edit, and is reported
 * rather than trusted: a load keeps every record that reads, names the first line
 * that does not and how many records were lost, and copies the file to <path>.bad
 * before the next save replaces it. Doubles are written with %.17g (bit for bit). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "act_internal.h"

#define MAGIC "foresight-planner 1"
#define MAX_FILE_BYTES (64u << 20) /* far above 10,000 VMs x every resource */
#define RECORD_MAX 256             /* one record, without crc and newline */

/* ---- what is still in force (the same rule for loading and saving) ---- */

static int hold_live(int64_t until, int64_t now) {
  return until != 0 && (now == 0 || until > now);
}

static int cooldown_live(int64_t ts, int cooldown_s, const act_set_policy *set,
                         int64_t now) {
  return ts != 0 && (set == NULL || now == 0 || now - ts < cooldown_s);
}

/* ---- writing ---- */

/* Appends one record line (checksum, record, newline); counts it unless `counted`
 * is 0 (header and end). */
static void put(FILE *f, size_t *records, int counted, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(FILE *f, size_t *records, int counted, const char *fmt, ...) {
  char rec[RECORD_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(rec, sizeof(rec), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(rec))
    n = 0; /* cannot happen: names are < ACT_NAME_MAX; an empty record fails the load */
  fprintf(f, "%08" PRIx32 " %s\n", act__crc32(rec, (size_t)n), rec);
  *records += counted;
}

/* The file's text for pl at now, in a malloc'd buffer; NULL on ENOMEM. */
static char *render(const act_planner *pl, const act_set_policy *set, int64_t now,
                    size_t *len) {
  char *buf = NULL;
  size_t records = 0;
  FILE *f = open_memstream(&buf, len);
  if (f == NULL)
    return NULL;
  put(f, &records, 0, MAGIC);
  int scale_cd = set ? set->scale_cooldown_s : 0, cd = set ? set->cooldown_s : 0;
  if (cooldown_live(pl->last_scale_ts, scale_cd, set, now))
    put(f, &records, 1, "scaled %lld", (long long)pl->last_scale_ts);
  for (size_t i = 0; i < pl->n_tracks; i++) {
    const act__track *t = &pl->tracks[i];
    const char *rn = act_resource_name(t->res);
    if (hold_live(t->hold_until, now) && isnan(t->hold_value))
      put(f, &records, 1, "hold %s %s %lld -", t->vm, rn, (long long)t->hold_until);
    else if (hold_live(t->hold_until, now))
      put(f, &records, 1, "hold %s %s %lld %.17g", t->vm, rn, (long long)t->hold_until,
          t->hold_value);
    if (cooldown_live(t->last_change, cd, set, now))
      put(f, &records, 1, "resized %s %s %lld", t->vm, rn, (long long)t->last_change);
  }
  put(f, &records, 0, "end %zu", records);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Writes text to path: temporary file, fsync, rename, fsync of the folder. */
static int write_whole(const char *path, const char *text, size_t len, act_error *err) {
  size_t tlen = strlen(path) + 5;
  char *tmp = malloc(tlen);
  if (tmp == NULL)
    return act__fail(err, ACT_ENOMEM, "planner %s: out of memory", path);
  snprintf(tmp, tlen, "%s.tmp", path);
  int rc = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "planner %s: open", tmp);
    free(tmp);
    return rc;
  }
  int ok = act__write_all(fd, text, len) == 0 && fsync(fd) == 0;
  int saved = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    unlink(tmp);
    rc = act__fail_errno(err, ACT_EIO, saved, "planner %s: write", path);
  } else if (act__sync_folder(path) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "planner %s: fsync of its folder", path);
  }
  free(tmp);
  return rc;
}

int act_planner_save(act_planner *pl, const char *path, const act_set_policy *set,
                     int64_t now, act_error *err) {
  if (pl == NULL || path == NULL)
    return act__fail(err, ACT_EINVAL, "planner: save without a planner or path");
  size_t len = 0;
  char *text = render(pl, set, now, &len);
  if (text == NULL)
    return act__fail(err, ACT_ENOMEM, "planner %s: out of memory", path);
  uint32_t crc = act__crc32(text, len);
  int rc = 0;
  if (!pl->file_known || crc != pl->file_crc) {
    rc = write_whole(path, text, len, err);
    if (rc == 0) {
      pl->file_crc = crc;
      pl->file_known = 1;
      rc = 1;
    }
  }
  free(text);
  return rc;
}

/* ---- reading ---- */

typedef struct reader {
  act_planner *pl;
  const act_set_policy *set;
  int64_t now;
  act_planner_loaded n;
  size_t records;  /* record lines met, read or not */
  int state;       /* 0: header, 1: records, 2: after end */
  int bad_line;    /* first line that did not read, 0: none */
  int cut;         /* the file ends early: records after it may be lost too */
  char why[160];   /* what was wrong with it */
} reader;

static void problem(reader *rd, int line_no, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(reader *rd, int line_no, const char *fmt, ...) {
  if (rd->bad_line != 0)
    return;
  rd->bad_line = line_no;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rd->why, sizeof(rd->why), fmt, ap);
  va_end(ap);
}

/* A VM and resource as a record names them; 0 or -1. */
static int parse_target(const char *vm, const char *res, act_resource *r) {
  return act__name_ok(vm) && act_resource_parse(res, r, NULL) == 0 ? 0 : -1;
}

static int restore_hold(reader *rd, const char *rec) {
  char vm[ACT_NAME_MAX], res[32], val[64];
  long long until;
  int end = -1;
  act_resource r;
  if (sscanf(rec, "hold %63s %31s %lld %63s%n", vm, res, &until, val, &end) != 4 ||
      rec[end] != '\0' || parse_target(vm, res, &r) != 0 || until <= 0)
    return -1;
  double value = NAN;
  if (strcmp(val, "-") != 0) {
    char *stop = NULL;
    value = strtod(val, &stop);
    if (*stop != '\0' || !isfinite(value) || value < 0)
      return -1;
  }
  if (!hold_live(until, rd->now)) {
    rd->n.expired++;
    return 0;
  }
  act__track *t = act__track_get(rd->pl, vm, r);
  if (t == NULL || t->hold_until != 0)
    return -1; /* out of memory, or given twice */
  t->hold_until = until;
  t->hold_value = value;
  rd->n.holds++;
  return 0;
}

static int restore_resized(reader *rd, const char *rec) {
  char vm[ACT_NAME_MAX], res[32];
  long long ts;
  int end = -1;
  act_resource r;
  if (sscanf(rec, "resized %63s %31s %lld%n", vm, res, &ts, &end) != 3 ||
      rec[end] != '\0' || parse_target(vm, res, &r) != 0 || ts <= 0)
    return -1;
  if (!cooldown_live(ts, rd->set ? rd->set->cooldown_s : 0, rd->set, rd->now)) {
    rd->n.expired++;
    return 0;
  }
  act__track *t = act__track_get(rd->pl, vm, r);
  if (t == NULL || t->last_change != 0)
    return -1;
  t->last_change = ts; /* the BreakEven run starts again: nothing was seen meanwhile */
  rd->n.resizes++;
  return 0;
}

static int restore_scaled(reader *rd, const char *rec) {
  long long ts;
  int end = -1;
  if (sscanf(rec, "scaled %lld%n", &ts, &end) != 1 || rec[end] != '\0' || ts <= 0 ||
      rd->pl->last_scale_ts != 0)
    return -1;
  if (!cooldown_live(ts, rd->set ? rd->set->scale_cooldown_s : 0, rd->set, rd->now)) {
    rd->n.expired++;
    return 0;
  }
  rd->pl->last_scale_ts = ts;
  rd->n.scales++;
  return 0;
}

/* One record (checksum verified); 0, or -1 after noting the problem. */
static int read_record(reader *rd, int line_no, const char *rec) {
  unsigned long long v;
  int end = -1;
  if (rd->state == 0) {
    if (strcmp(rec, MAGIC) != 0)
      return problem(rd, line_no, "not a foresight planner file (want \"" MAGIC "\")"),
             -1;
    rd->state = 1;
    return 0;
  }
  if (rd->state == 2) {
    rd->n.skipped++;
    return problem(rd, line_no, "text after the end line"), -1;
  }
  if (sscanf(rec, "end %llu%n", &v, &end) == 1 && rec[end] == '\0') {
    rd->state = 2;
    if (v != rd->records) {
      rd->n.skipped += v > rd->records ? v - rd->records : 0;
      return problem(rd, line_no, "end says %llu records, found %zu", v, rd->records),
             -1;
    }
    return 0;
  }
  rd->records++;
  int rc = -1;
  if (strncmp(rec, "hold ", 5) == 0)
    rc = restore_hold(rd, rec);
  else if (strncmp(rec, "resized ", 8) == 0)
    rc = restore_resized(rd, rec);
  else if (strncmp(rec, "scaled ", 7) == 0)
    rc = restore_scaled(rd, rec);
  if (rc != 0) {
    rd->n.skipped++;
    problem(rd, line_no, "bad record \"%.80s\"", rec);
  }
  return rc;
}

/* Splits off and verifies one line's checksum; the record, or NULL (noted). */
static char *check_line(reader *rd, int line_no, char *line, size_t len) {
  if (memchr(line, '\0', len) != NULL) {
    problem(rd, line_no, "NUL byte in the line");
    return NULL;
  }
  char *stop = NULL;
  unsigned long crc = len >= 9 ? strtoul(line, &stop, 16) : 0;
  if (len < 9 || stop != line + 8 || line[8] != ' ') {
    problem(rd, line_no, "no checksum");
    return NULL;
  }
  if ((uint32_t)crc != act__crc32(line + 9, len - 9)) {
    problem(rd, line_no, "checksum mismatch (a damaged line)");
    return NULL;
  }
  return line + 9;
}

/* Reads the whole file into a malloc'd, NUL-terminated buffer; NULL with errno. */
static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  char *buf = NULL;
  int saved = 0;
  if (fstat(fd, &st) != 0) {
    saved = errno;
  } else if ((uintmax_t)st.st_size > MAX_FILE_BYTES) {
    saved = EFBIG;
  } else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
    saved = ENOMEM;
  } else {
    size_t n = 0;
    ssize_t got = 0;
    while (n < (size_t)st.st_size &&
           ((got = read(fd, buf + n, (size_t)st.st_size - n)) > 0 ||
            (got < 0 && errno == EINTR)))
      n += got > 0 ? (size_t)got : 0;
    if (n < (size_t)st.st_size)
      saved = got < 0 ? errno : EIO; /* shrank under us, or a read error */
    buf[n] = '\0';
    *len = n;
  }
  close(fd);
  if (saved != 0) {
    free(buf);
    errno = saved;
    return NULL;
  }
  return buf;
}

/* Goes through the file's lines, restoring what reads. */
static void read_all(reader *rd, char *text, size_t len) {
  int line_no = 0;
  size_t pos = 0;
  while (pos < len) {
    line_no++;
    char *line = text + pos, *nl = memchr(line, '\n', len - pos);
    if (nl == NULL) { /* a last line without newline: cut short */
      if (rd->state == 1)
        rd->n.skipped++;
      rd->cut = rd->state != 2;
      problem(rd, line_no, "line not terminated (file cut short?)");
      return;
    }
    *nl = '\0';
    pos = (size_t)(nl - text) + 1;
    char *rec = check_line(rd, line_no, line, (size_t)(nl - line));
    if (rec != NULL) {
      read_record(rd, line_no, rec);
    } else if (rd->state == 1) {
      rd->records++; /* a record or the end line: counted as a lost record */
      rd->n.skipped++;
    }
    if (rd->state == 0)
      return; /* no header: nothing else in it can be trusted */
  }
  if (rd->state == 0)
    problem(rd, 1, "empty file (no header)");
  if (rd->state == 1) {
    rd->cut = 1;
    problem(rd, line_no + 1, "no end line (file cut short?)");
  }
}

/* Keeps the damaged file for an operator before a save replaces it. */
static int keep_copy(const char *path, const char *text, size_t len, act_error *err) {
  size_t blen = strlen(path) + 5;
  char *bad = malloc(blen);
  if (bad == NULL)
    return act__fail(err, ACT_ENOMEM, "planner %s: out of memory", path);
  snprintf(bad, blen, "%s.bad", path);
  int rc = write_whole(bad, text, len, err);
  free(bad);
  return rc;
}

int act_planner_load(act_planner *pl, const char *path, const act_set_policy *set,
                     int64_t now, act_planner_loaded *out, act_error *err) {
  act_planner_loaded none = {0};
  if (out != NULL)
    *out = none;
  if (pl == NULL || path == NULL)
    return act__fail(err, ACT_EINVAL, "planner: load without a planner or path");
  size_t len = 0;
  char *text = slurp(path, &len);
  if (text == NULL && errno == ENOENT)
    return 0; /* first start: nothing to remember */
  if (text == NULL)
    return act__fail_errno(err, ACT_EIO, errno, "planner %s: read", path);
  uint32_t crc = act__crc32(text, len);
  char *copy = malloc(len + 1); /* read_all cuts text into lines */
  if (copy == NULL) {
    free(text);
    return act__fail(err, ACT_ENOMEM, "planner %s: out of memory", path);
  }
  memcpy(copy, text, len + 1);
  reader rd = {.pl = pl, .set = set, .now = now};
  read_all(&rd, copy, len);
  free(copy);
  if (out != NULL)
    *out = rd.n;
  int rc = 0;
  if (rd.bad_line == 0) {
    pl->file_crc = crc; /* saving the same memory again writes nothing */
    pl->file_known = 1;
  } else if ((rc = keep_copy(path, text, len, err)) != 0) {
    pl->n_tracks = 0; /* ACT_EIO restores nothing: the caller will not start */
    pl->last_scale_ts = 0;
    if (out != NULL)
      *out = none;
  } else if (rd.state == 0) {
    pl->file_known = 0;
    rc = act__fail(err, ACT_ECORRUPT, "planner %s line %d: %s; nothing restored; the "
                   "file is kept as %s.bad", path, rd.bad_line, rd.why, path);
  } else {
    pl->file_known = 0;
    rc = act__fail(err, ACT_ECORRUPT, "planner %s line %d: %s; %zu records lost%s, %zu "
                   "holds and %zu cooldowns restored; the file is kept as %s.bad",
                   path, rd.bad_line, rd.why, rd.n.skipped,
                   rd.cut ? " (and any after it)" : "", rd.n.holds,
                   rd.n.resizes + rd.n.scales, path);
  }
  free(text);
  return rc;
}
