/* test_journal.c -- the applier's write-ahead journal: records, reopening, torn and
 * damaged files, compaction. Each test works in a fresh temporary folder. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "actuator/apply.h"

typedef struct jfx {
  char dir[64];
  char path[96];
  act_journal *j;
  act_journal_report rep;
  act_error err;
} jfx;

static int setup(void **state) {
  jfx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/act_journal_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/journal", f->dir);
  f->j = act_journal_open(f->path, &f->rep, &f->err);
  assert_non_null(f->j);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  jfx *f = *state;
  act_journal_close(f->j);
  char tmp[128];
  unlink(f->path);
  snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
  unlink(tmp);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* ---- helpers ---- */

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char *buf = calloc(1, 65536);
  size_t n = fread(buf, 1, 65535, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static void append_raw(const char *path, const char *text) {
  FILE *fp = fopen(path, "ab");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* CRC-32 as zlib computes it, written here independently of the library. */
static uint32_t crc32_ref(const char *s) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

/* A well-formed journal line around payload. */
static void append_record(const char *path, const char *payload) {
  char line[512];
  snprintf(line, sizeof(line), "%08x %s\n", crc32_ref(payload), payload);
  append_raw(path, line);
}

static act_journal *reopen(jfx *f) {
  act_journal_close(f->j);
  memset(&f->rep, 0, sizeof(f->rep));
  f->j = act_journal_open(f->path, &f->rep, &f->err);
  return f->j;
}

static act_step step(const char *vm, act_hv_knob k, const char *dev, double before,
                     double after) {
  act_step s;
  memset(&s, 0, sizeof(s));
  snprintf(s.vm, sizeof(s.vm), "%s", vm);
  s.knob = k;
  snprintf(s.dev, sizeof(s.dev), "%s", dev);
  s.before = before;
  s.after = after;
  return s;
}

/* A grow of web1 in three steps; returns its id. */
static uint64_t begin3(jfx *f) {
  act_step steps[3] = {step("web1", ACT_HV_VCPUS_MAX_CONFIG, "", 2, 3),
                       step("web1", ACT_HV_VCPUS_CONFIG, "", 2, 3),
                       step("web1", ACT_HV_VCPUS, "", 2, 3)};
  act_tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.decision = 42;
  tx.kind = ACT_GROW;
  strcpy(tx.vm, "web1");
  tx.ts = 1700000000;
  tx.n_steps = 3;
  tx.steps = steps;
  uint64_t id = 0;
  assert_int_equal(act_journal_begin(f->j, &tx, &id, &f->err), 0);
  assert_true(id > 0);
  return id;
}

/* ---- records ---- */

static void test_journal_new_file_holds_only_a_header(void **state) {
  jfx *f = *state;
  assert_int_equal(act_journal_count(f->j), 0);
  char *text = slurp(f->path);
  assert_non_null(strstr(text, "foresight-journal 1 next 1\n"));
  assert_int_equal(strchr(text, '\n')[1], '\0'); /* one line */
  free(text);
}

/* Lines carry a standard CRC-32 of their record, so other tools can check them. */
static void test_journal_lines_carry_a_crc32_of_their_record(void **state) {
  jfx *f = *state;
  assert_int_equal(crc32_ref("123456789"), 0xCBF43926u); /* the published check value */
  begin3(f);
  char *text = slurp(f->path);
  char *line = strchr(text, '\n') + 1;
  *strchr(line, '\n') = '\0';
  char want[16];
  snprintf(want, sizeof(want), "%08x", crc32_ref(line + 9));
  assert_memory_equal(line, want, 8);
  free(text);
}

static void test_journal_committed_transaction_survives_reopen(void **state) {
  jfx *f = *state;
  act_step steps[2] = {step("web2", ACT_HV_DISK_IOPS, "vda", 0.1, INFINITY),
                       step("web1", ACT_HV_NET_IN_KIBPS, "52:54:00:00:01:01", 1000, 3)};
  act_tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.decision = 7;
  tx.kind = ACT_LEND;
  strcpy(tx.vm, "web1");
  tx.ts = -5;
  tx.loan = (act_loan){.id = 9, .resource = ACT_CPU, .amount = 0.15, .start_ts = 10,
                       .expiry_ts = 20};
  strcpy(tx.loan.lender, "web2");
  strcpy(tx.loan.borrower, "web1");
  tx.n_steps = 2;
  tx.steps = steps;
  uint64_t id;
  assert_int_equal(act_journal_begin(f->j, &tx, &id, &f->err), 0);
  assert_int_equal(act_journal_applied(f->j, id, 0, &f->err), 0);
  assert_int_equal(act_journal_applied(f->j, id, 1, &f->err), 0);
  assert_int_equal(act_journal_commit(f->j, id, NULL, &f->err), 0);
  assert_non_null(reopen(f));
  assert_int_equal(act_journal_count(f->j), 1);
  const act_tx *got = act_journal_find(f->j, id);
  assert_non_null(got);
  assert_int_equal(got->state, ACT_TX_COMMITTED);
  assert_int_equal(got->decision, 7);
  assert_int_equal(got->kind, ACT_LEND);
  assert_string_equal(got->vm, "web1");
  assert_int_equal(got->ts, -5);
  assert_int_equal(got->loan.id, 9);
  assert_string_equal(got->loan.lender, "web2");
  assert_true(got->loan.amount == 0.15); /* bit for bit */
  assert_int_equal(got->n_steps, 2);
  assert_string_equal(got->steps[0].dev, "vda");
  assert_true(got->steps[0].before == 0.1);
  assert_true(isinf(got->steps[0].after));
  assert_int_equal(got->steps[1].knob, ACT_HV_NET_IN_KIBPS);
  assert_string_equal(got->steps[1].dev, "52:54:00:00:01:01");
  assert_int_equal(act_journal_open_count(f->j), 0);
}

static void test_journal_open_transaction_keeps_its_applied_steps(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_applied(f->j, id, 0, &f->err), 0);
  assert_int_equal(act_journal_applied(f->j, id, 1, &f->err), 0);
  assert_int_equal(act_journal_undone(f->j, id, 1, &f->err), 0);
  assert_non_null(reopen(f));
  const act_tx *got = act_journal_find(f->j, id);
  assert_int_equal(got->state, ACT_TX_OPEN);
  assert_int_equal(got->applied[0], 1);
  assert_int_equal(got->applied[1], 0);
  assert_int_equal(got->applied[2], 0);
  assert_int_equal(act_journal_open_count(f->j), 1);
}

static void test_journal_reason_is_kept_on_one_line(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_rolled_back(f->j, id, "step 2\nfailed:\tgone", &f->err), 0);
  assert_non_null(reopen(f));
  const act_tx *got = act_journal_find(f->j, id);
  assert_int_equal(got->state, ACT_TX_ROLLED_BACK);
  assert_string_equal(got->note, "step 2 failed: gone");
}

static void test_journal_stuck_transaction_stays_open(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_stuck(f->j, id, "undo failed", &f->err), 0);
  assert_non_null(reopen(f));
  const act_tx *got = act_journal_find(f->j, id);
  assert_int_equal(got->state, ACT_TX_OPEN);
  assert_int_equal(got->stuck, 1);
  assert_string_equal(got->note, "undo failed");
}

static void test_journal_ids_grow_across_reopen(void **state) {
  jfx *f = *state;
  uint64_t first = begin3(f);
  assert_non_null(reopen(f));
  assert_true(begin3(f) > first);
}

static void test_journal_closed_transaction_takes_no_more_records(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_commit(f->j, id, NULL, &f->err), 0);
  assert_int_equal(act_journal_applied(f->j, id, 0, &f->err), ACT_EINVAL);
  assert_int_equal(act_journal_rolled_back(f->j, id, "x", &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "committed"));
}

static void test_journal_record_for_unknown_transaction_fails(void **state) {
  jfx *f = *state;
  assert_int_equal(act_journal_applied(f->j, 99, 0, &f->err), ACT_ENOENT);
  assert_non_null(strstr(f->err.msg, "99"));
}

static void test_journal_begin_rejects_a_device_with_a_space(void **state) {
  jfx *f = *state;
  act_step s = step("web1", ACT_HV_DISK_IOPS, "v da", 1, 2);
  act_tx tx;
  memset(&tx, 0, sizeof(tx));
  strcpy(tx.vm, "web1");
  tx.n_steps = 1;
  tx.steps = &s;
  char *before = slurp(f->path);
  uint64_t id;
  assert_int_equal(act_journal_begin(f->j, &tx, &id, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "v da"));
  char *after = slurp(f->path);
  assert_string_equal(before, after);
  assert_int_equal(act_journal_count(f->j), 0);
  free(before);
  free(after);
}

/* ---- damaged files ---- */

/* A crash mid-write leaves the last line without its newline: ignored, reported, cut,
 * and the next record starts on a line of its own. */
static void test_journal_torn_last_line_is_ignored_and_reported(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_applied(f->j, id, 0, &f->err), 0);
  act_journal_close(f->j);
  f->j = NULL;
  struct stat whole;
  assert_int_equal(stat(f->path, &whole), 0);
  append_raw(f->path, "3fa0c2 commit"); /* header, begin, applied, then this: line 4 */
  assert_non_null(reopen(f));
  assert_int_equal(f->rep.torn, 1);
  assert_int_equal(f->rep.torn_line, 4);
  assert_int_equal(f->rep.torn_bytes, strlen("3fa0c2 commit"));
  struct stat cut;
  assert_int_equal(stat(f->path, &cut), 0);
  assert_int_equal(cut.st_size, whole.st_size);
  assert_int_equal(act_journal_find(f->j, id)->state, ACT_TX_OPEN);
  assert_int_equal(act_journal_commit(f->j, id, NULL, &f->err), 0);
  assert_non_null(reopen(f));
  assert_int_equal(f->rep.torn, 0);
  assert_int_equal(act_journal_find(f->j, id)->state, ACT_TX_COMMITTED);
}

static void test_journal_bad_checksum_names_the_line(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_applied(f->j, id, 0, &f->err), 0);
  act_journal_close(f->j);
  f->j = NULL;
  char *text = slurp(f->path);
  char *line3 = strchr(strchr(text, '\n') + 1, '\n') + 1;
  char *zero = strstr(line3, " 0\n"); /* "applied <id> 0" -> step 1 */
  assert_non_null(zero);
  zero[1] = '1';
  FILE *fp = fopen(f->path, "wb");
  fputs(text, fp);
  fclose(fp);
  assert_null(reopen(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, "line 3"));
  assert_non_null(strstr(f->err.msg, "checksum"));
  char *after = slurp(f->path);
  assert_string_equal(after, text); /* left as it was */
  free(text);
  free(after);
}

static void test_journal_unknown_record_names_the_line(void **state) {
  jfx *f = *state;
  begin3(f);
  append_record(f->path, "bogus 1");
  assert_null(reopen(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, "line 3"));
  assert_non_null(strstr(f->err.msg, "bogus"));
}

static void test_journal_record_after_close_is_corruption(void **state) {
  jfx *f = *state;
  uint64_t id = begin3(f);
  assert_int_equal(act_journal_commit(f->j, id, NULL, &f->err), 0);
  char payload[64];
  snprintf(payload, sizeof(payload), "applied %llu 0", (unsigned long long)id);
  append_record(f->path, payload);
  assert_null(reopen(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, "line 4"));
}

static void test_journal_without_header_is_corruption(void **state) {
  jfx *f = *state;
  act_journal_close(f->j);
  f->j = NULL;
  FILE *fp = fopen(f->path, "wb");
  fputs("not a journal\n", fp);
  fclose(fp);
  assert_null(reopen(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, "line 1"));
}

/* A crash while the file was being created leaves a torn header: start afresh. */
static void test_journal_torn_header_is_rewritten(void **state) {
  jfx *f = *state;
  act_journal_close(f->j);
  f->j = NULL;
  FILE *fp = fopen(f->path, "wb");
  fputs("8c1a", fp);
  fclose(fp);
  assert_non_null(reopen(f));
  assert_int_equal(f->rep.torn, 1);
  assert_int_equal(act_journal_count(f->j), 0);
  char *text = slurp(f->path);
  assert_non_null(strstr(text, "foresight-journal 1 next 1\n"));
  free(text);
}

/* ---- compaction ---- */

static void test_journal_compaction_waits_for_open_transactions(void **state) {
  jfx *f = *state;
  begin3(f);
  char *before = slurp(f->path);
  assert_int_equal(act_journal_compact(f->j, &f->err), ACT_EPENDING);
  char *after = slurp(f->path);
  assert_string_equal(before, after);
  assert_int_equal(act_journal_count(f->j), 1);
  free(before);
  free(after);
}

static void test_journal_compaction_keeps_the_next_id(void **state) {
  jfx *f = *state;
  uint64_t a = begin3(f);
  assert_int_equal(act_journal_commit(f->j, a, NULL, &f->err), 0);
  uint64_t b = begin3(f);
  assert_int_equal(act_journal_rolled_back(f->j, b, "why", &f->err), 0);
  assert_int_equal(act_journal_compact(f->j, &f->err), 0);
  assert_int_equal(act_journal_count(f->j), 0);
  char *text = slurp(f->path);
  assert_int_equal(strchr(text, '\n')[1], '\0'); /* one line left */
  free(text);
  assert_non_null(reopen(f));
  assert_int_equal(act_journal_count(f->j), 0);
  assert_true(begin3(f) > b);
}

static void test_journal_appends_after_compaction_reopen(void **state) {
  jfx *f = *state;
  uint64_t a = begin3(f);
  assert_int_equal(act_journal_commit(f->j, a, NULL, &f->err), 0);
  assert_int_equal(act_journal_compact(f->j, &f->err), 0);
  uint64_t b = begin3(f);
  assert_int_equal(act_journal_applied(f->j, b, 2, &f->err), 0);
  assert_non_null(reopen(f));
  assert_int_equal(act_journal_count(f->j), 1);
  assert_int_equal(act_journal_find(f->j, b)->applied[2], 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_journal_new_file_holds_only_a_header, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_lines_carry_a_crc32_of_their_record,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_committed_transaction_survives_reopen,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_journal_open_transaction_keeps_its_applied_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_reason_is_kept_on_one_line, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_stuck_transaction_stays_open, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_ids_grow_across_reopen, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_journal_closed_transaction_takes_no_more_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_record_for_unknown_transaction_fails,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_begin_rejects_a_device_with_a_space,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_torn_last_line_is_ignored_and_reported,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_bad_checksum_names_the_line, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_unknown_record_names_the_line, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_record_after_close_is_corruption,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_without_header_is_corruption, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_torn_header_is_rewritten, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_compaction_waits_for_open_transactions,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_journal_compaction_keeps_the_next_id, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_journal_appends_after_compaction_reopen, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
