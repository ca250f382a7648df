/* idseq.c -- a counter persisted in blocks (see idseq.h).
 * Invariant: next <= mark, and the file (when there is one) says mark, so every id
 * handed out is below what a restart starts from. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator/act_internal.h"
#include "actuator/idseq.h"

#define MAGIC "foresight-ids 1"

struct act_idseq {
  char *path; /* NULL: memory only */
  uint64_t block;
  uint64_t next; /* the id handed out next */
  uint64_t mark; /* persisted: ids below it may have been handed out */
};

static int load(act_idseq *q, act_error *err) {
  FILE *f = fopen(q->path, "re");
  if (f == NULL && errno == ENOENT)
    return 0;
  if (f == NULL)
    return act__fail_errno(err, ACT_EIO, errno, "ids %s: open", q->path);
  char buf[128] = "";
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  unsigned long long v = 0;
  int end = -1;
  if (sscanf(buf, MAGIC "\nnext %llu\n%n", &v, &end) != 1 || end < 0 ||
      (size_t)end != n || v == 0)
    return act__fail(err, ACT_ECORRUPT, "ids %s: not a \"" MAGIC "\" file with a next "
                     "line; file left as it was", q->path);
  q->next = q->mark = v;
  return 0;
}

static int save(const act_idseq *q, uint64_t mark, act_error *err) {
  char text[64], tmp[4096];
  int len = snprintf(text, sizeof(text), MAGIC "\nnext %" PRIu64 "\n", mark);
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", q->path) >= (int)sizeof(tmp))
    return act__fail(err, ACT_ENOSPC, "ids %s: path too long", q->path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return act__fail_errno(err, ACT_EIO, errno, "ids %s: open", tmp);
  int ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
  int saved = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (ok && rename(tmp, q->path) != 0) {
    ok = 0;
    saved = errno;
  }
  if (!ok) {
    unlink(tmp);
    return act__fail_errno(err, ACT_EIO, saved, "ids %s: write", q->path);
  }
  return 0;
}

act_idseq *act_idseq_open(const char *path, uint64_t block, act_error *err) {
  if (block == 0) {
    act__fail(err, ACT_EINVAL, "ids: block 0 (must be > 0)");
    return NULL;
  }
  act_idseq *q = calloc(1, sizeof(*q));
  if (q == NULL || (path != NULL && (q->path = strdup(path)) == NULL)) {
    free(q);
    act__fail(err, ACT_ENOMEM, "ids: out of memory");
    return NULL;
  }
  q->block = block;
  q->next = 1;
  q->mark = path == NULL ? UINT64_MAX : 1;
  if (path != NULL && load(q, err) != 0) {
    act_idseq_destroy(q);
    return NULL;
  }
  return q;
}

void act_idseq_destroy(act_idseq *q) {
  if (q == NULL)
    return;
  free(q->path);
  free(q);
}

int act_idseq_next(act_idseq *q, uint64_t *id, act_error *err) {
  if (q->next >= q->mark) {
    if (q->mark > UINT64_MAX - q->block)
      return act__fail(err, ACT_EINVAL, "ids %s: exhausted", q->path ? q->path : "");
    int rc = save(q, q->mark + q->block, err);
    if (rc != 0)
      return rc;
    q->mark += q->block;
  }
  *id = q->next++;
  return 0;
}
