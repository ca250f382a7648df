/* test_ledger.c -- loans, their file, and reloading it. Each test works in a fresh
 * temporary folder. */
#include <errno.h>
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

#include "actuator/actuator.h"

typedef struct lfx {
  char dir[64];
  char path[96];
  act_ledger *l;
  act_error err;
} lfx;

static int setup(void **state) {
  lfx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/act_ledger_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/loans", f->dir);
  f->l = act_ledger_create(f->path, &f->err);
  assert_non_null(f->l);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  lfx *f = *state;
  act_ledger_destroy(f->l);
  char tmp[128];
  unlink(f->path);
  snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
  unlink(tmp);
  rmdir(f->dir);
  free(f);
  return 0;
}

static act_loan loan(uint64_t id, const char *lender, const char *borrower, double amount) {
  act_loan k = {.id = id, .resource = ACT_CPU, .amount = amount, .start_ts = 1000,
                .expiry_ts = 2800};
  snprintf(k.lender, sizeof(k.lender), "%s", lender);
  snprintf(k.borrower, sizeof(k.borrower), "%s", borrower);
  return k;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char *buf = calloc(1, 65536);
  size_t n = fread(buf, 1, 65535, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static act_ledger *reload(lfx *f) {
  act_ledger_destroy(f->l);
  f->l = act_ledger_create(f->path, &f->err);
  return f->l;
}

static void test_ledger_starts_empty_without_a_file(void **state) {
  lfx *f = *state;
  assert_int_equal(act_ledger_count(f->l), 0);
  assert_int_equal(act_ledger_next_id(f->l), 1);
  assert_int_equal(access(f->path, F_OK), -1);
}

/* A loan recorded before a restart is there after it, field for field. */
static void test_ledger_loan_survives_reload(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web1", "web2", 0.15);
  k.resource = ACT_CPU_QUOTA;
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), 0);
  assert_non_null(reload(f));
  assert_int_equal(act_ledger_count(f->l), 1);
  const act_loan *got = act_ledger_at(f->l, 0);
  assert_int_equal(got->id, 1);
  assert_string_equal(got->lender, "web1");
  assert_string_equal(got->borrower, "web2");
  assert_int_equal(got->resource, ACT_CPU_QUOTA);
  assert_true(got->amount == 0.15); /* bit for bit */
  assert_int_equal(got->start_ts, 1000);
  assert_int_equal(got->expiry_ts, 2800);
}

static void test_ledger_repay_survives_reload(void **state) {
  lfx *f = *state;
  act_loan a = loan(1, "web1", "web2", 2), b = loan(2, "web3", "web2", 1);
  assert_int_equal(act_ledger_lend(f->l, &a, &f->err), 0);
  assert_int_equal(act_ledger_lend(f->l, &b, &f->err), 0);
  assert_int_equal(act_ledger_repay(f->l, 1, &f->err), 0);
  assert_non_null(reload(f));
  assert_int_equal(act_ledger_count(f->l), 1);
  assert_null(act_ledger_find(f->l, 1));
  assert_non_null(act_ledger_find(f->l, 2));
}

/* Ids are never given twice, also across a restart with no loans left. */
static void test_ledger_next_id_survives_reload(void **state) {
  lfx *f = *state;
  act_loan a = loan(7, "web1", "web2", 2);
  assert_int_equal(act_ledger_lend(f->l, &a, &f->err), 0);
  assert_int_equal(act_ledger_repay(f->l, 7, &f->err), 0);
  assert_non_null(reload(f));
  assert_int_equal(act_ledger_next_id(f->l), 8);
}

static void test_ledger_leaves_no_temporary_file(void **state) {
  lfx *f = *state;
  act_loan a = loan(1, "web1", "web2", 2);
  assert_int_equal(act_ledger_lend(f->l, &a, &f->err), 0);
  char tmp[128];
  snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
  assert_int_equal(access(tmp, F_OK), -1);
}

static void test_ledger_totals_lent_and_borrowed(void **state) {
  lfx *f = *state;
  act_loan a = loan(1, "web1", "web2", 2), b = loan(2, "web1", "web3", 1),
           c = loan(3, "web4", "web2", 0.5);
  c.resource = ACT_MEMORY;
  assert_int_equal(act_ledger_lend(f->l, &a, NULL), 0);
  assert_int_equal(act_ledger_lend(f->l, &b, NULL), 0);
  assert_int_equal(act_ledger_lend(f->l, &c, NULL), 0);
  assert_float_equal(act_ledger_lent(f->l, "web1", ACT_CPU), 3, 1e-12);
  assert_float_equal(act_ledger_borrowed(f->l, "web2", ACT_CPU), 2, 1e-12);
  assert_float_equal(act_ledger_borrowed(f->l, "web2", ACT_MEMORY), 0.5, 1e-12);
}

static void test_ledger_rejects_a_zero_amount(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web1", "web2", 0);
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "amount 0"));
  assert_int_equal(act_ledger_count(f->l), 0);
}

static void test_ledger_rejects_lending_to_oneself(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web1", "web1", 1);
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "both web1"));
}

static void test_ledger_rejects_expiry_before_start(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web1", "web2", 1);
  k.expiry_ts = k.start_ts;
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "expiry 1000"));
}

static void test_ledger_rejects_a_name_with_spaces(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web 1", "web2", 1);
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), ACT_EINVAL);
}

static void test_ledger_rejects_a_duplicate_id(void **state) {
  lfx *f = *state;
  act_loan k = loan(1, "web1", "web2", 1);
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), 0);
  assert_int_equal(act_ledger_lend(f->l, &k, &f->err), ACT_EEXIST);
  assert_int_equal(act_ledger_count(f->l), 1);
}

static void test_ledger_repay_of_an_unknown_loan_fails(void **state) {
  lfx *f = *state;
  assert_int_equal(act_ledger_repay(f->l, 42, &f->err), ACT_ENOENT);
  assert_non_null(strstr(f->err.msg, "no loan 42"));
}

/* If the file cannot be written, the loan is not recorded (nor the repayment). */
static void test_ledger_failed_write_changes_nothing(void **state) {
  lfx *f = *state;
  act_loan a = loan(1, "web1", "web2", 2), b = loan(2, "web1", "web2", 1);
  assert_int_equal(act_ledger_lend(f->l, &a, &f->err), 0);
  unlink(f->path);
  assert_int_equal(rmdir(f->dir), 0); /* the folder is gone: no write can succeed */
  assert_int_equal(act_ledger_lend(f->l, &b, &f->err), ACT_EIO);
  assert_non_null(strstr(f->err.msg, ".tmp: open"));
  assert_int_equal(act_ledger_count(f->l), 1);
  assert_int_equal(act_ledger_next_id(f->l), 2);
  assert_int_equal(act_ledger_repay(f->l, 1, &f->err), ACT_EIO);
  assert_non_null(act_ledger_find(f->l, 1));
  assert_int_equal(mkdir(f->dir, 0700), 0); /* for teardown */
}

/* Asserts that `text` fails to load with ACT_ECORRUPT naming `line`, unchanged. */
static void expect_corrupt(lfx *f, const char *text, const char *line) {
  write_file(f->path, text);
  assert_null(reload(f));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, f->path));
  assert_non_null(strstr(f->err.msg, line));
  char *after = read_file(f->path);
  assert_string_equal(after, text); /* nothing lost */
  free(after);
  f->l = act_ledger_create(NULL, NULL); /* for teardown */
}

static void test_ledger_rejects_a_file_that_is_not_a_ledger(void **state) {
  expect_corrupt(*state, "hello\n", "line 1: not a foresight ledger");
}

static void test_ledger_rejects_a_truncated_file(void **state) {
  expect_corrupt(*state,
                 "foresight-ledger 1\nnext_id 3\nloan 1 web1 web2 cpu 2 1000 2800\n",
                 "line 4: missing end line");
}

static void test_ledger_rejects_a_cut_line(void **state) {
  expect_corrupt(*state, "foresight-ledger 1\nnext_id 3\nloan 1 web1 web2 cp",
                 "line 3: line not terminated");
}

static void test_ledger_rejects_a_bad_loan_line(void **state) {
  expect_corrupt(*state,
                 "foresight-ledger 1\nnext_id 3\nloan 1 web1 web2 cpu -2 1000 2800\n"
                 "end 1\n", "line 3: bad loan line");
}

static void test_ledger_rejects_a_wrong_loan_count(void **state) {
  expect_corrupt(*state,
                 "foresight-ledger 1\nnext_id 3\nloan 1 web1 web2 cpu 2 1000 2800\n"
                 "end 2\n", "line 4: end says 2 loans, found 1");
}

static void test_ledger_rejects_an_id_not_below_next_id(void **state) {
  expect_corrupt(*state,
                 "foresight-ledger 1\nnext_id 3\nloan 5 web1 web2 cpu 2 1000 2800\n"
                 "end 1\n", "line 3: loan id 5");
}

static void test_ledger_rejects_text_after_the_end(void **state) {
  expect_corrupt(*state, "foresight-ledger 1\nnext_id 3\nend 0\nloan\n",
                 "line 4: text after the end line");
}

static void test_ledger_rejects_an_empty_file(void **state) {
  expect_corrupt(*state, "", "line 1: missing header");
}

/* Oracle: random lends and repays against a plain array, the file reloaded at the end
 * and compared loan by loan. */
static void test_ledger_matches_brute_force_and_reload(void **state) {
  lfx *f = *state;
  act_loan ref[64];
  size_t n = 0;
  uint64_t next = 1;
  srand(11);
  for (int step = 0; step < 300; step++) {
    if (n > 0 && (rand() % 3 == 0 || n == 64)) {
      size_t i = (size_t)rand() % n;
      assert_int_equal(act_ledger_repay(f->l, ref[i].id, &f->err), 0);
      memmove(&ref[i], &ref[i + 1], (n - i - 1) * sizeof(ref[0]));
      n--;
    } else {
      char a[8], b[8];
      snprintf(a, sizeof(a), "vm%d", rand() % 5);
      snprintf(b, sizeof(b), "vm%d", 5 + rand() % 5);
      act_loan k = loan(next++, a, b, (rand() % 1000) / 64.0 + 0.25);
      k.resource = (act_resource)(rand() % ACT_RES_COUNT);
      assert_int_equal(act_ledger_lend(f->l, &k, &f->err), 0);
      ref[n++] = k;
    }
    double lent = 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(ref[i].lender, "vm0") == 0 && ref[i].resource == ACT_CPU)
        lent += ref[i].amount;
    assert_float_equal(act_ledger_lent(f->l, "vm0", ACT_CPU), lent, 1e-9);
  }
  assert_non_null(reload(f));
  assert_int_equal(act_ledger_count(f->l), n);
  for (size_t i = 0; i < n; i++)
    assert_memory_equal(act_ledger_at(f->l, i), &ref[i], sizeof(act_loan));
  assert_int_equal(act_ledger_next_id(f->l), next);
}

static void test_ledger_destroy_accepts_null(void **state) {
  (void)state;
  act_ledger_destroy(NULL);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_ledger_starts_empty_without_a_file),
      T(test_ledger_loan_survives_reload),
      T(test_ledger_repay_survives_reload),
      T(test_ledger_next_id_survives_reload),
      T(test_ledger_leaves_no_temporary_file),
      T(test_ledger_totals_lent_and_borrowed),
      T(test_ledger_rejects_a_zero_amount),
      T(test_ledger_rejects_lending_to_oneself),
      T(test_ledger_rejects_expiry_before_start),
      T(test_ledger_rejects_a_name_with_spaces),
      T(test_ledger_rejects_a_duplicate_id),
      T(test_ledger_repay_of_an_unknown_loan_fails),
      T(test_ledger_failed_write_changes_nothing),
      T(test_ledger_rejects_a_file_that_is_not_a_ledger),
      T(test_ledger_rejects_a_truncated_file),
      T(test_ledger_rejects_a_cut_line),
      T(test_ledger_rejects_a_bad_loan_line),
      T(test_ledger_rejects_a_wrong_loan_count),
      T(test_ledger_rejects_an_id_not_below_next_id),
      T(test_ledger_rejects_text_after_the_end),
      T(test_ledger_rejects_an_empty_file),
      T(test_ledger_matches_brute_force_and_reload),
      T(test_ledger_destroy_accepts_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
