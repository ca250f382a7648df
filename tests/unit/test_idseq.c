/* test_idseq.c -- decision ids persisted in blocks: unique across reopenings. Each test
 * works in a fresh temporary folder. */
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

#include "actuator/idseq.h"

typedef struct ifx {
  char dir[64];
  char path[96];
  act_error err;
} ifx;

static int setup(void **state) {
  ifx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/act_idseq_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/ids", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  ifx *f = *state;
  char tmp[128];
  unlink(f->path);
  snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
  unlink(tmp);
  chmod(f->dir, 0700);
  rmdir(f->dir);
  free(f);
  return 0;
}

static uint64_t next(act_idseq *q, ifx *f) {
  uint64_t id = 0;
  assert_int_equal(act_idseq_next(q, &id, &f->err), 0);
  return id;
}

static void test_idseq_starts_at_one_without_a_file(void **state) {
  ifx *f = *state;
  act_idseq *q = act_idseq_open(f->path, 10, &f->err);
  assert_non_null(q);
  assert_int_equal(next(q, f), 1);
  assert_int_equal(next(q, f), 2);
  act_idseq_destroy(q);
}

/* Reopening (a restart) never hands out an id given before, whatever the block. */
static void test_idseq_reopened_never_repeats_an_id(void **state) {
  ifx *f = *state;
  uint64_t last = 0;
  for (int life = 0; life < 5; life++) {
    act_idseq *q = act_idseq_open(f->path, 3, &f->err);
    assert_non_null(q);
    for (int i = 0; i < life + 2; i++) {
      uint64_t id = next(q, f);
      assert_true(id > last);
      last = id;
    }
    act_idseq_destroy(q);
  }
}

/* The file is written once per block, not per id: within a block the file stays. */
static void test_idseq_writes_once_per_block(void **state) {
  ifx *f = *state;
  act_idseq *q = act_idseq_open(f->path, 100, &f->err);
  next(q, f);
  struct stat a, b;
  assert_int_equal(stat(f->path, &a), 0);
  for (int i = 0; i < 50; i++)
    next(q, f);
  assert_int_equal(stat(f->path, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino); /* no rename happened */
  act_idseq_destroy(q);
}

static void test_idseq_corrupt_file_fails_and_stays(void **state) {
  ifx *f = *state;
  FILE *fp = fopen(f->path, "w");
  fputs("foresight-ids 1\nnext banana\n", fp);
  fclose(fp);
  assert_null(act_idseq_open(f->path, 10, &f->err));
  assert_int_equal(f->err.code, ACT_ECORRUPT);
  assert_non_null(strstr(f->err.msg, f->path));
  fp = fopen(f->path, "r");
  char buf[64] = "";
  assert_non_null(fgets(buf, sizeof(buf), fp));
  fclose(fp);
  assert_string_equal(buf, "foresight-ids 1\n");
}

/* When the block cannot be reserved no id is given. */
static void test_idseq_unwritable_folder_gives_no_id(void **state) {
  ifx *f = *state;
  if (geteuid() == 0)
    skip(); /* root writes anyway */
  act_idseq *q = act_idseq_open(f->path, 10, &f->err);
  chmod(f->dir, 0500);
  uint64_t id = 0;
  assert_int_equal(act_idseq_next(q, &id, &f->err), ACT_EIO);
  assert_int_equal(id, 0);
  act_idseq_destroy(q);
}

static void test_idseq_in_memory_counts_from_one(void **state) {
  ifx *f = *state;
  act_idseq *q = act_idseq_open(NULL, 1, &f->err);
  assert_int_equal(next(q, f), 1);
  assert_int_equal(next(q, f), 2);
  act_idseq_destroy(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_idseq_starts_at_one_without_a_file),
      T(test_idseq_reopened_never_repeats_an_id),
      T(test_idseq_writes_once_per_block),
      T(test_idseq_corrupt_file_fails_and_stays),
      T(test_idseq_unwritable_folder_gives_no_id),
      T(test_idseq_in_memory_counts_from_one),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
