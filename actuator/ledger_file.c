/* ledger_file.c -- the ledger on disk.
 *
 * Format (text, one record per line, so an operator can read it):
 *   foresight-ledger 1
 *   next_id 8
 *   loan <id> <lender> <borrower> <resource> <amount> <start_ts> <expiry_ts>
 *   ...
 *   end <number of loans>
 * The `end` line makes a truncated file detectable: a file without it, or with any
 * line that does not parse, fails the load with ACT_ECORRUPT naming file and line, and
 * is never rewritten by the load, so nothing is lost; the operator decides.
 *
 * Writing: the whole ledger goes to "<path>.tmp", which is fsync'd and renamed over
 * <path>, then the folder is fsync'd so the rename itself survives a power cut. A
 * reader thus sees the old file or the new one, never a mix (durable.c does the
 * writing and syncing). Amounts are written with
 * %.17g so they read back bit for bit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act_internal.h"

#define MAGIC "foresight-ledger 1"

/* The ledger as text, in a malloc'd buffer. */
static char *render(const act_ledger *l, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (f == NULL)
    return NULL;
  fprintf(f, MAGIC "\nnext_id %" PRIu64 "\n", l->next_id);
  for (size_t i = 0; i < l->n_loans; i++) {
    const act_loan *k = &l->loans[i];
    fprintf(f, "loan %" PRIu64 " %s %s %s %.17g %lld %lld\n", k->id, k->lender,
            k->borrower, act_resource_name(k->resource), k->amount,
            (long long)k->start_ts, (long long)k->expiry_ts);
  }
  fprintf(f, "end %zu\n", l->n_loans);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int act__ledger_save(const act_ledger *l, act_error *err) {
  size_t len = 0, tlen = strlen(l->path) + 5;
  char *text = render(l, &len), *tmp = malloc(tlen);
  int fd = -1, rc = 0;
  if (text == NULL || tmp == NULL) {
    rc = act__fail(err, ACT_ENOMEM, "ledger %s: out of memory", l->path);
    goto done;
  }
  snprintf(tmp, tlen, "%s.tmp", l->path);
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "ledger %s: open", tmp);
    goto done;
  }
  if (act__write_all(fd, text, len) != 0 || fsync(fd) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "ledger %s: write", tmp);
    goto fail_written;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = act__fail_errno(err, ACT_EIO, errno, "ledger %s: close", tmp);
    goto fail_written;
  }
  fd = -1;
  if (rename(tmp, l->path) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "ledger %s: rename to %s", tmp, l->path);
    goto fail_written;
  }
  if (act__sync_folder(l->path) != 0)
    rc = act__fail_errno(err, ACT_EIO, errno, "ledger %s: fsync of its folder", l->path);
  goto done;
fail_written:
  if (fd >= 0)
    close(fd);
  unlink(tmp);
done:
  free(text);
  free(tmp);
  return rc;
}

/* Parses one "loan ..." line into *k; 0 or -1. */
static int parse_loan(const char *line, act_loan *k, act_error *err) {
  unsigned long long id;
  char res[32];
  long long start, expiry;
  int end = -1;
  memset(k, 0, sizeof(*k));
  if (sscanf(line, "loan %llu %63s %63s %31s %lf %lld %lld%n", &id, k->lender,
             k->borrower, res, &k->amount, &start, &expiry, &end) != 7 ||
      line[end] != '\0')
    return -1;
  k->id = id;
  k->start_ts = start;
  k->expiry_ts = expiry;
  return act_resource_parse(res, &k->resource, err) == 0 ? 0 : -1;
}

typedef struct reader {
  act_ledger *l;
  int line_no;
  int state; /* 0: magic, 1: next_id, 2: loans, 3: after end */
} reader;

/* One line (without its newline); 0, or -1 with why[] filled. */
static int read_line(reader *rd, const char *line, char *why, size_t n) {
  act_error e = {0};
  unsigned long long v;
  int end = -1;
  act_loan k;
  switch (rd->state) {
  case 0:
    if (strcmp(line, MAGIC) != 0)
      return snprintf(why, n, "not a foresight ledger (want \"" MAGIC "\")"), -1;
    break;
  case 1:
    if (sscanf(line, "next_id %llu%n", &v, &end) != 1 || line[end] != '\0' || v == 0)
      return snprintf(why, n, "bad next_id line"), -1;
    rd->l->next_id = v;
    break;
  case 2:
    if (sscanf(line, "end %llu%n", &v, &end) == 1 && line[end] == '\0') {
      if (v != rd->l->n_loans)
        return snprintf(why, n, "end says %llu loans, found %zu", v, rd->l->n_loans), -1;
      break;
    }
    if (parse_loan(line, &k, &e) != 0 || act__loan_check(&k, "loan", &e) != 0)
      return snprintf(why, n, "bad loan line%s%.150s", e.code ? ": " : "", e.msg), -1;
    if (k.id >= rd->l->next_id || act_ledger_find(rd->l, k.id) != NULL)
      return snprintf(why, n, "loan id %llu reused or not below next_id",
                      (unsigned long long)k.id), -1;
    if (act__grow((void **)&rd->l->loans, &rd->l->cap_loans, rd->l->n_loans + 1,
                  sizeof(k)) != 0)
      return snprintf(why, n, "out of memory"), -1;
    rd->l->loans[rd->l->n_loans++] = k;
    return 0; /* stay in state 2 */
  default:
    return snprintf(why, n, "text after the end line"), -1;
  }
  rd->state++;
  return 0;
}

int act__ledger_load(act_ledger *l, act_error *err) {
  FILE *f = fopen(l->path, "re");
  if (f == NULL && errno == ENOENT)
    return 0; /* first start: no loans yet */
  if (f == NULL)
    return act__fail_errno(err, ACT_EIO, errno, "ledger %s: open", l->path);
  reader rd = {.l = l};
  char *line = NULL, why[200] = "";
  size_t cap = 0;
  ssize_t len;
  int rc = 0;
  while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
    rd.line_no++;
    if (len == 0 || line[len - 1] != '\n') {
      snprintf(why, sizeof(why), "line not terminated (truncated file?)");
      rc = -1;
      break;
    }
    line[len - 1] = '\0';
    rc = read_line(&rd, line, why, sizeof(why));
  }
  int io_failed = ferror(f);
  free(line);
  fclose(f);
  if (rc == 0 && io_failed)
    return act__fail(err, ACT_EIO, "ledger %s: read error", l->path);
  if (rc == 0 && rd.state != 3) {
    rd.line_no++;
    snprintf(why, sizeof(why), "missing %s (truncated file?)",
             rd.state == 0 ? "header" : rd.state == 1 ? "next_id line" : "end line");
    rc = -1;
  }
  if (rc != 0)
    return act__fail(err, ACT_ECORRUPT, "ledger %s line %d: %s; file left as it was",
                     l->path, rd.line_no, why);
  return 0;
}
