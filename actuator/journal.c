/* journal.c -- the applier's write-ahead journal: an append-only text file, one record
 * per line, each line `<crc32 as 8 hex digits> <record>`:
 *
 *   foresight-journal 1 next <id>                      header: first line, always
 *   begin <id> <decision> <kind> <vm> <ts> <n> noloan|loan <id> <lender> <borrower>
 *         <resource> <amount> <start> <expiry>  then n times:
 *         step <vm> <knob> <dev|-> <uuid|-> <before> <after>     (all on one line)
 *   applied <id> <step>          the step was made and read back
 *   undone <id> <step>           the step was set back to its before value
 *   commit <id> [note]           closed: every step made
 *   rolled_back <id> <reason>    closed: every step undone
 *   stuck <id> <reason>          undoing failed; still open, for recovery
 *
 * Every record is written with one write() and fdatasync'd before the call returns, so
 * `begin` is on disk before the applier touches the hypervisor, and each later record
 * before the applier goes on. A crash can thus only cut the *last* line short: a last
 * line without its newline is ignored (its writer never went on), reported, and cut off
 * so that the next record starts on a line of its own. Anything else that does not
 * read -- a bad checksum, an unknown record, a record about a transaction that is
 * unknown or already closed -- is corruption: the open fails naming the line and
 * leaves the file alone for an operator.
 *
 * Invariants: transaction ids only grow (the header carries the next one across
 * compactions); a closed transaction gets no more records. Compaction (all closed)
 * replaces the file by a bare header via a temporary file and rename.
 * Doubles are written with %.17g (bit for bit back; "inf" for no quota).
 * Not here: what the steps are and how they are undone (apply.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "act_internal.h"
#include "apply.h"

#define MAGIC "foresight-journal"
#define JOURNAL_VERSION 1

struct act_journal {
  char *path;
  int fd;      /* opened O_APPEND; -1 if a compaction could not reopen the file */
  off_t size;  /* bytes of whole records: a failed append is cut back to this */
  act_tx *txs; /* since the last compaction, oldest first */
  size_t n_txs, cap_txs;
  uint64_t next_id; /* > every id ever begun */
  size_t n_open;
};

const char *act_tx_state_name(act_tx_state s) {
  switch (s) {
  case ACT_TX_OPEN: return "open";
  case ACT_TX_COMMITTED: return "committed";
  case ACT_TX_ROLLED_BACK: return "rolled_back";
  }
  return "?";
}

static void tx_free(act_tx *tx) {
  free(tx->steps);
  free(tx->applied);
}

void act_journal_close(act_journal *j) {
  if (j == NULL)
    return;
  if (j->fd >= 0)
    close(j->fd);
  for (size_t i = 0; i < j->n_txs; i++)
    tx_free(&j->txs[i]);
  free(j->txs);
  free(j->path);
  free(j);
}

/* ---- writing ---- */

/* Appends one record (payload without checksum and newline) and syncs it. On failure
 * the file is cut back to its last whole record, so a later append cannot glue onto a
 * fragment. */
static int append(act_journal *j, const char *payload, act_error *err) {
  if (j->fd < 0)
    return act__fail(err, ACT_EIO, "journal %s: not open (an earlier compaction failed)",
                     j->path);
  size_t plen = strlen(payload), len = plen + 10;
  char *line = malloc(len + 1);
  if (line == NULL)
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  snprintf(line, len + 1, "%08" PRIx32 " %s\n", act__crc32(payload, plen), payload);
  int rc = 0;
  if (act__write_all(j->fd, line, len) != 0 || fdatasync(j->fd) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: append", j->path);
    if (ftruncate(j->fd, j->size) == 0)
      (void)fdatasync(j->fd);
  } else {
    j->size += (off_t)len;
  }
  free(line);
  return rc;
}

/* printf into a malloc'd string; NULL on ENOMEM. */
static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *s = n < 0 ? NULL : malloc((size_t)n + 1);
  if (s != NULL)
    vsnprintf(s, (size_t)n + 1, fmt, again);
  va_end(again);
  va_end(ap);
  return s;
}

/* Copies text into out (ACT_REASON_MAX) as one line: control bytes become spaces. */
static void one_line(char out[ACT_REASON_MAX], const char *text) {
  snprintf(out, ACT_REASON_MAX, "%s", text == NULL ? "" : text);
  for (char *p = out; *p != '\0'; p++)
    if ((unsigned char)*p < ' ' || *p == 0x7f)
      *p = ' ';
}

static int word_ok(const char *w, size_t max) {
  if (w[0] == '\0' || strlen(w) >= max)
    return 0;
  for (const char *p = w; *p != '\0'; p++)
    if (*p <= ' ' || *p >= 0x7f)
      return 0;
  return 1;
}

static const char *or_dash(const char *s) { return s[0] == '\0' ? "-" : s; }

static int check_step(const act_step *s, size_t i, act_error *err) {
  if (!act__name_ok(s->vm))
    return act__fail(err, ACT_EINVAL, "journal: step %zu: domain name \"%.64s\"", i,
                     s->vm);
  if ((unsigned)s->knob >= ACT_HV_KNOB_COUNT)
    return act__fail(err, ACT_EINVAL, "journal: step %zu: knob %d", i, (int)s->knob);
  if ((s->dev[0] != '\0' || act_hv_knob_has_dev(s->knob)) &&
      !word_ok(s->dev, ACT_HV_DEVNAME_MAX))
    return act__fail(err, ACT_EINVAL, "journal: step %zu: device \"%.64s\" (one word)",
                     i, s->dev);
  if (s->uuid[0] != '\0' && !word_ok(s->uuid, ACT_HV_UUID_LEN))
    return act__fail(err, ACT_EINVAL, "journal: step %zu: UUID \"%.40s\"", i, s->uuid);
  if (isnan(s->before) || isnan(s->after))
    return act__fail(err, ACT_EINVAL, "journal: step %zu %s %s: before/after NAN", i,
                     s->vm, act_hv_knob_name(s->knob));
  return 0;
}

static char *render_begin(uint64_t id, const act_tx *tx) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL)
    return NULL;
  fprintf(f, "begin %" PRIu64 " %" PRIu64 " %s %s %lld %zu ", id, tx->decision,
          act_kind_name(tx->kind), tx->vm, (long long)tx->ts, tx->n_steps);
  const act_loan *k = &tx->loan;
  if (k->id == 0)
    fputs("noloan", f);
  else
    fprintf(f, "loan %" PRIu64 " %s %s %s %.17g %lld %lld", k->id, k->lender,
            k->borrower, act_resource_name(k->resource), k->amount,
            (long long)k->start_ts, (long long)k->expiry_ts);
  for (size_t i = 0; i < tx->n_steps; i++) {
    const act_step *s = &tx->steps[i];
    fprintf(f, " step %s %s %s %s %.17g %.17g", s->vm, act_hv_knob_name(s->knob),
            or_dash(s->dev), or_dash(s->uuid), s->before, s->after);
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Adds a copy of tx (id, open) to memory; 0 or -1 on ENOMEM. */
static int remember(act_journal *j, const act_tx *tx, uint64_t id) {
  if (act__grow((void **)&j->txs, &j->cap_txs, j->n_txs + 1, sizeof(*j->txs)) != 0)
    return -1;
  act_tx copy = *tx;
  copy.id = id;
  copy.state = ACT_TX_OPEN;
  copy.stuck = 0;
  copy.note[0] = '\0';
  size_t n = tx->n_steps > 0 ? tx->n_steps : 1;
  copy.steps = malloc(n * sizeof(*copy.steps));
  copy.applied = calloc(n, 1);
  if (copy.steps == NULL || copy.applied == NULL) {
    tx_free(&copy);
    return -1;
  }
  if (tx->n_steps > 0)
    memcpy(copy.steps, tx->steps, tx->n_steps * sizeof(*copy.steps));
  j->txs[j->n_txs++] = copy;
  j->n_open++;
  if (id >= j->next_id)
    j->next_id = id + 1;
  return 0;
}

int act_journal_begin(act_journal *j, const act_tx *tx, uint64_t *id, act_error *err) {
  if ((unsigned)tx->kind >= ACT_KIND_COUNT || !act__name_ok(tx->vm))
    return act__fail(err, ACT_EINVAL, "journal %s: begin: kind %d vm \"%.64s\"", j->path,
                     (int)tx->kind, tx->vm);
  if (tx->loan.id != 0) {
    int rc = act__loan_check(&tx->loan, "journal: begin", err);
    if (rc != 0)
      return rc;
  }
  for (size_t i = 0; i < tx->n_steps; i++) {
    int rc = check_step(&tx->steps[i], i, err);
    if (rc != 0)
      return rc;
  }
  uint64_t new_id = j->next_id;
  char *payload = render_begin(new_id, tx);
  if (payload == NULL)
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  /* Memory first, so a record on disk always has its transaction in memory too. */
  if (remember(j, tx, new_id) != 0) {
    free(payload);
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  }
  int rc = append(j, payload, err);
  free(payload);
  if (rc != 0) { /* not on disk: not begun */
    tx_free(&j->txs[--j->n_txs]);
    j->n_open--;
    j->next_id = new_id;
    return rc;
  }
  *id = new_id;
  return 0;
}

/* The open transaction `id` in *tx, or ACT_ENOENT/ACT_EINVAL naming it. */
static int find_open(act_journal *j, uint64_t id, const char *what, act_tx **tx,
                     act_error *err) {
  *tx = (act_tx *)act_journal_find(j, id);
  if (*tx == NULL)
    return act__fail(err, ACT_ENOENT, "journal %s: %s: transaction %" PRIu64
                     " is unknown", j->path, what, id);
  if ((*tx)->state != ACT_TX_OPEN)
    return act__fail(err, ACT_EINVAL, "journal %s: %s: transaction %" PRIu64 " is %s",
                     j->path, what, id, act_tx_state_name((*tx)->state));
  return 0;
}

static int step_record(act_journal *j, const char *what, uint64_t id, size_t step,
                       unsigned char value, act_error *err) {
  act_tx *tx;
  int found = find_open(j, id, what, &tx, err);
  if (found != 0)
    return found;
  if (step >= tx->n_steps)
    return act__fail(err, ACT_EINVAL, "journal %s: %s: transaction %" PRIu64
                     " has no step %zu", j->path, what, id, step);
  char *payload = fmt_alloc("%s %" PRIu64 " %zu", what, id, step);
  if (payload == NULL)
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  int rc = append(j, payload, err);
  free(payload);
  if (rc == 0)
    tx->applied[step] = value;
  return rc;
}

int act_journal_applied(act_journal *j, uint64_t id, size_t step, act_error *err) {
  return step_record(j, "applied", id, step, 1, err);
}

int act_journal_undone(act_journal *j, uint64_t id, size_t step, act_error *err) {
  return step_record(j, "undone", id, step, 0, err);
}

/* commit, rolled_back or stuck, with a one-line note. */
static int close_record(act_journal *j, const char *what, uint64_t id, const char *note,
                        act_tx_state state, act_error *err) {
  act_tx *tx;
  int found = find_open(j, id, what, &tx, err);
  if (found != 0)
    return found;
  char line[ACT_REASON_MAX];
  one_line(line, note);
  char *payload = fmt_alloc("%s %" PRIu64 "%s%s", what, id, line[0] ? " " : "", line);
  if (payload == NULL)
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  int rc = append(j, payload, err);
  free(payload);
  if (rc != 0)
    return rc;
  memcpy(tx->note, line, sizeof(line));
  if (state == ACT_TX_OPEN) {
    tx->stuck = 1;
  } else {
    tx->state = state;
    j->n_open--;
  }
  return 0;
}

int act_journal_commit(act_journal *j, uint64_t id, const char *note, act_error *err) {
  return close_record(j, "commit", id, note, ACT_TX_COMMITTED, err);
}

int act_journal_rolled_back(act_journal *j, uint64_t id, const char *reason,
                            act_error *err) {
  return close_record(j, "rolled_back", id, reason, ACT_TX_ROLLED_BACK, err);
}

int act_journal_stuck(act_journal *j, uint64_t id, const char *reason, act_error *err) {
  return close_record(j, "stuck", id, reason, ACT_TX_OPEN, err);
}

size_t act_journal_count(const act_journal *j) { return j->n_txs; }

const act_tx *act_journal_at(const act_journal *j, size_t i) {
  return i < j->n_txs ? &j->txs[i] : NULL;
}

const act_tx *act_journal_find(const act_journal *j, uint64_t id) {
  for (size_t i = j->n_txs; i-- > 0;) /* the newest are asked for most */
    if (j->txs[i].id == id)
      return &j->txs[i];
  return NULL;
}

size_t act_journal_open_count(const act_journal *j) { return j->n_open; }

/* ---- compaction ---- */

static char *header(uint64_t next_id) {
  char *payload = fmt_alloc(MAGIC " %d next %" PRIu64, JOURNAL_VERSION, next_id);
  if (payload == NULL)
    return NULL;
  char *line = fmt_alloc("%08" PRIx32 " %s\n", act__crc32(payload, strlen(payload)),
                         payload);
  free(payload);
  return line;
}

/* Writes a bare header for next_id to path via path.tmp (fsync, rename, fsync of the
 * folder). *renamed tells whether path now is the new file, also when a later step
 * failed. 0 or an ACT_E* with err filled. */
static int write_fresh(const char *path, uint64_t next_id, int *renamed,
                       act_error *err) {
  char *line = header(next_id), *tmp = fmt_alloc("%s.tmp", path);
  int fd = -1, rc = 0;
  *renamed = 0;
  if (line == NULL || tmp == NULL) {
    rc = act__fail(err, ACT_ENOMEM, "journal %s: out of memory", path);
    goto done;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: open", tmp);
    goto done;
  }
  if (act__write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: write", tmp);
    goto fail_tmp;
  }
  close(fd);
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: rename to %s", tmp, path);
    goto fail_tmp;
  }
  *renamed = 1;
  if (act__sync_folder(path) != 0)
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: fsync of its folder", path);
  goto done;
fail_tmp:
  if (fd >= 0)
    close(fd);
  unlink(tmp);
done:
  free(line);
  free(tmp);
  return rc;
}

int act_journal_compact(act_journal *j, act_error *err) {
  if (j->n_open > 0)
    return act__fail(err, ACT_EPENDING, "journal %s: %zu transaction(s) still open; "
                     "compaction waits until every one is closed", j->path, j->n_open);
  int renamed;
  int rc = write_fresh(j->path, j->next_id, &renamed, err);
  if (!renamed)
    return rc; /* the old file is still the journal */
  /* From here the file is the fresh one, whatever else failed: follow it. */
  if (j->fd >= 0)
    close(j->fd);
  j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (j->fd < 0 && rc == 0)
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: reopen", j->path);
  struct stat st;
  j->size = j->fd >= 0 && fstat(j->fd, &st) == 0 ? st.st_size : 0;
  for (size_t i = 0; i < j->n_txs; i++)
    tx_free(&j->txs[i]);
  j->n_txs = 0;
  return rc;
}

/* ---- reading ---- */

typedef struct reader {
  act_journal *j;
  int line_no;
  int seen_header;
  char *save; /* strtok_r state over the current line */
} reader;

static const char *tok(reader *rd) { return strtok_r(NULL, " ", &rd->save); }

static int parse_u64(const char *s, uint64_t *out) {
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

static int parse_i64(const char *s, int64_t *out) {
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double *out) {
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end != '\0' || isnan(v))
    return -1;
  *out = v;
  return 0;
}

static int parse_word(const char *s, char *out, size_t max, int dash_empty) {
  if (s == NULL || strlen(s) >= max)
    return -1;
  if (dash_empty && strcmp(s, "-") == 0)
    s = "";
  memcpy(out, s, strlen(s) + 1);
  return 0;
}

static int parse_kind(const char *s, act_kind *out) {
  for (int k = 0; s != NULL && k < ACT_KIND_COUNT; k++)
    if (strcmp(s, act_kind_name((act_kind)k)) == 0) {
      *out = (act_kind)k;
      return 0;
    }
  return -1;
}

static int parse_loan(reader *rd, act_loan *k) {
  uint64_t id;
  const char *res;
  if (parse_u64(tok(rd), &id) != 0 || parse_word(tok(rd), k->lender, ACT_NAME_MAX, 0) ||
      parse_word(tok(rd), k->borrower, ACT_NAME_MAX, 0) || (res = tok(rd)) == NULL ||
      act_resource_parse(res, &k->resource, NULL) != 0 ||
      parse_double(tok(rd), &k->amount) != 0 || parse_i64(tok(rd), &k->start_ts) != 0 ||
      parse_i64(tok(rd), &k->expiry_ts) != 0)
    return -1;
  k->id = id;
  return act__loan_check(k, "journal", NULL) == 0 ? 0 : -1;
}

static int parse_step(reader *rd, act_step *s) {
  const char *w = tok(rd), *knob;
  memset(s, 0, sizeof(*s));
  if (w == NULL || strcmp(w, "step") != 0 ||
      parse_word(tok(rd), s->vm, ACT_NAME_MAX, 0) != 0 || (knob = tok(rd)) == NULL ||
      act_hv_knob_parse(knob, &s->knob, NULL) != 0 ||
      parse_word(tok(rd), s->dev, ACT_HV_DEVNAME_MAX, 1) != 0 ||
      parse_word(tok(rd), s->uuid, ACT_HV_UUID_LEN, 1) != 0 ||
      parse_double(tok(rd), &s->before) != 0 || parse_double(tok(rd), &s->after) != 0)
    return -1;
  return 0;
}

/* "begin ..." after its first word; 0 or -1 with why filled. */
static int read_begin(reader *rd, char *why, size_t n) {
  act_tx tx;
  memset(&tx, 0, sizeof(tx));
  uint64_t id, decision, n_steps;
  const char *loan;
  if (parse_u64(tok(rd), &id) != 0 || parse_u64(tok(rd), &decision) != 0 ||
      parse_kind(tok(rd), &tx.kind) != 0 || parse_word(tok(rd), tx.vm, ACT_NAME_MAX, 0) ||
      parse_i64(tok(rd), &tx.ts) != 0 || parse_u64(tok(rd), &n_steps) != 0 ||
      n_steps > 100000 || (loan = tok(rd)) == NULL)
    return snprintf(why, n, "bad begin record"), -1;
  if (id < rd->j->next_id)
    return snprintf(why, n, "transaction %" PRIu64 " begun again or out of order",
                    id), -1;
  if (strcmp(loan, "loan") == 0 ? parse_loan(rd, &tx.loan) != 0
                                : strcmp(loan, "noloan") != 0)
    return snprintf(why, n, "bad loan in begin record"), -1;
  tx.decision = decision;
  tx.n_steps = n_steps;
  tx.steps = calloc(n_steps > 0 ? n_steps : 1, sizeof(*tx.steps));
  if (tx.steps == NULL)
    return snprintf(why, n, "out of memory"), -1;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n_steps; i++)
    if (parse_step(rd, &tx.steps[i]) != 0) {
      snprintf(why, n, "bad step %zu in begin record", i);
      rc = -1;
    }
  if (rc == 0 && tok(rd) != NULL) {
    snprintf(why, n, "text after the last step of the begin record");
    rc = -1;
  }
  if (rc == 0 && remember(rd->j, &tx, id) != 0) {
    snprintf(why, n, "out of memory");
    rc = -1;
  }
  free(tx.steps);
  return rc;
}

/* applied/undone/commit/rolled_back/stuck after their first word. */
static int read_event(reader *rd, const char *what, const char *rest, char *why,
                      size_t n) {
  uint64_t id;
  const char *id_word = tok(rd);
  if (parse_u64(id_word, &id) != 0)
    return snprintf(why, n, "bad %s record", what), -1;
  act_tx *tx = (act_tx *)act_journal_find(rd->j, id);
  if (tx == NULL || tx->state != ACT_TX_OPEN)
    return snprintf(why, n, "%s of %s transaction %" PRIu64, what,
                    tx == NULL ? "unknown" : act_tx_state_name(tx->state), id), -1;
  if (strcmp(what, "applied") == 0 || strcmp(what, "undone") == 0) {
    uint64_t step;
    if (parse_u64(tok(rd), &step) != 0 || step >= tx->n_steps || tok(rd) != NULL)
      return snprintf(why, n, "bad %s record (step)", what), -1;
    tx->applied[step] = what[0] == 'a';
    return 0;
  }
  /* The note is the rest of the line after "<what> <id> ". */
  const char *note = rest + strlen(what) + 1 + strlen(id_word);
  one_line(tx->note, *note == ' ' ? note + 1 : note);
  if (strcmp(what, "stuck") == 0) {
    tx->stuck = 1;
  } else {
    tx->state = what[0] == 'c' ? ACT_TX_COMMITTED : ACT_TX_ROLLED_BACK;
    rd->j->n_open--;
  }
  return 0;
}

/* One line without its newline: checksum, then the record. 0 or -1 with why. */
static int read_line(reader *rd, char *line, size_t len, char *why, size_t n) {
  char *end;
  if (len < 10 || line[8] != ' ')
    return snprintf(why, n, "no checksum"), -1;
  line[8] = '\0';
  unsigned long crc = strtoul(line, &end, 16);
  if (*end != '\0')
    return snprintf(why, n, "no checksum"), -1;
  char *payload = line + 9;
  if (crc != act__crc32(payload, len - 9))
    return snprintf(why, n, "bad checksum (damaged record)"), -1;
  if (memchr(payload, '\0', len - 9) != NULL)
    return snprintf(why, n, "NUL byte in record"), -1;
  char *copy = strdup(payload);
  if (copy == NULL)
    return snprintf(why, n, "out of memory"), -1;
  const char *what = strtok_r(copy, " ", &rd->save);
  int rc;
  if (!rd->seen_header) {
    int version = -1, end_at = -1;
    unsigned long long next = 0;
    rc = sscanf(payload, MAGIC " %d next %llu%n", &version, &next, &end_at) == 2 &&
                 end_at >= 0 && payload[end_at] == '\0' && version == JOURNAL_VERSION && next > 0
             ? 0
             : (snprintf(why, n, "not a foresight journal (want \"" MAGIC " %d next "
                         "<id>\")", JOURNAL_VERSION), -1);
    if (rc == 0) {
      rd->seen_header = 1;
      rd->j->next_id = next;
    }
  } else if (what == NULL) {
    rc = (snprintf(why, n, "empty record"), -1);
  } else if (strcmp(what, "begin") == 0) {
    rc = read_begin(rd, why, n);
  } else if (strcmp(what, "applied") == 0 || strcmp(what, "undone") == 0 ||
             strcmp(what, "commit") == 0 || strcmp(what, "rolled_back") == 0 ||
             strcmp(what, "stuck") == 0) {
    rc = read_event(rd, what, payload, why, n);
  } else {
    rc = (snprintf(why, n, "unknown record \"%.32s\"", what), -1);
  }
  free(copy);
  return rc;
}

static int slurp(int fd, char **buf, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -1;
  *len = 0;
  *buf = malloc((size_t)st.st_size + 1);
  if (*buf == NULL)
    return errno = ENOMEM, -1;
  while (*len < (size_t)st.st_size) {
    ssize_t r = pread(fd, *buf + *len, (size_t)st.st_size - *len, (off_t)*len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break; /* shrank under us: read what is there */
    *len += (size_t)r;
  }
  (*buf)[*len] = '\0';
  return 0;
}

/* Reads the whole file into j; a torn tail is reported in *rep and its length returned
 * in *torn. 0, or an ACT_E* with err naming the line. */
static int load(act_journal *j, act_journal_report *rep, size_t *torn, act_error *err) {
  char *buf;
  size_t len;
  if (slurp(j->fd, &buf, &len) != 0)
    return act__fail_errno(err, ACT_EIO, errno, "journal %s: read", j->path);
  reader rd = {.j = j};
  char why[200] = "";
  size_t start = 0;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < len; i++) {
    if (buf[i] != '\n')
      continue;
    rd.line_no++;
    buf[i] = '\0';
    rc = read_line(&rd, buf + start, i - start, why, sizeof(why));
    start = i + 1;
  }
  free(buf);
  if (rc != 0)
    return act__fail(err, ACT_ECORRUPT, "journal %s line %d: %s; file left as it was",
                     j->path, rd.line_no, why);
  j->size = (off_t)start;
  *torn = len - start;
  if (*torn > 0 && rep != NULL) {
    rep->torn = 1;
    rep->torn_line = rd.line_no + 1;
    rep->torn_bytes = *torn;
  }
  return 0;
}

/* A journal whose header never made it (crash at creation): starts afresh. */
static int write_header(act_journal *j, act_error *err) {
  char *line = header(j->next_id);
  if (line == NULL)
    return act__fail(err, ACT_ENOMEM, "journal %s: out of memory", j->path);
  int rc = 0;
  if (ftruncate(j->fd, 0) != 0 || act__write_all(j->fd, line, strlen(line)) != 0 ||
      fsync(j->fd) != 0 || act__sync_folder(j->path) != 0)
    rc = act__fail_errno(err, ACT_EIO, errno, "journal %s: write header", j->path);
  else
    j->size = (off_t)strlen(line);
  free(line);
  return rc;
}

act_journal *act_journal_open(const char *path, act_journal_report *rep, act_error *err) {
  if (rep != NULL)
    memset(rep, 0, sizeof(*rep));
  act_journal *j = calloc(1, sizeof(*j));
  if (j == NULL || (j->path = strdup(path)) == NULL) {
    free(j);
    act__fail(err, ACT_ENOMEM, "journal %s: out of memory", path);
    return NULL;
  }
  j->next_id = 1;
  j->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (j->fd < 0 && errno == ENOENT)
    j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (j->fd < 0) {
    act__fail_errno(err, ACT_EIO, errno, "journal %s: open", path);
    goto fail;
  }
  size_t torn = 0;
  if (load(j, rep, &torn, err) != 0)
    goto fail;
  if (j->size == 0) { /* new, or its header was torn */
    if (write_header(j, err) != 0)
      goto fail;
  } else if (torn > 0) {
    if (ftruncate(j->fd, j->size) != 0 || fdatasync(j->fd) != 0) {
      act__fail_errno(err, ACT_EIO, errno, "journal %s: cutting its torn last line",
                      path);
      goto fail;
    }
  }
  return j;
fail:
  act_journal_close(j);
  return NULL;
}
