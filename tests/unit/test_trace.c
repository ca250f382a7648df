/* test_trace.c -- tools/trace.c: series per PROTOCOL.md section 0, the nearest-slot grid,
 * and the errors a malformed file gets. Each test writes a small CSV excerpt into a
 * fresh temporary folder (mkdtemp), removed afterwards; no trace data is committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tools/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER                                                                           \
  "timestamp,vm,cpu_pct,cpu_cores,mem_kb,mem_prov_kb,disk_read_kbps,disk_write_kbps,"     \
  "net_rx_kbps,net_tx_kbps\n"

struct fixture {
  char dir[64];
  char paths[8][256]; /* files and folders made, removed in reverse order */
  int n_paths;
  tr_vm vm;
  char err[512];
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  strcpy(f->dir, "/tmp/test_trace.XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  tr_vm_free(&f->vm);
  for (int i = f->n_paths - 1; i >= 0; i--)
    remove(f->paths[i]);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Makes <dir>/<name> (a folder when text is NULL) and returns its path. */
static const char *make(struct fixture *f, const char *name, const char *text) {
  assert_true(f->n_paths < 8);
  char *path = f->paths[f->n_paths++];
  char buf[sizeof(f->paths[0])];
  snprintf(buf, sizeof(buf), "%s/%s", f->dir, name);
  memcpy(path, buf, sizeof(buf));
  if (text == NULL) {
    assert_int_equal(mkdir(path, 0700), 0);
    return path;
  }
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(fputs(text, fp) >= 0, 1);
  assert_int_equal(fclose(fp), 0);
  return path;
}

static void load_ok(struct fixture *f, const char *path) {
  int rc = tr_vm_load(path, &f->vm, f->err, sizeof(f->err));
  if (rc != 0)
    fail_msg("%s", f->err);
}

/* ------------------------------------------------------------------ series */

/* A Bitbrains row gives cpu = cpu_pct / 100 * cpu_cores, disk = read + write,
 * net = rx + tx, mem = mem_kb, and keeps cores and provisioned memory. */
static void test_bitbrains_row_gives_cpu_in_cores_and_summed_disk_and_net(void **state) {
  struct fixture *f = *state;
  make(f, "bb", NULL);
  const char *p = make(f, "bb/rnd-1.csv", HEADER "600,rnd-1,25,8,1000,4000,1.5,2.25,3,4.5\n");
  load_ok(f, p);
  assert_string_equal(f->vm.name, "rnd-1");
  assert_string_equal(f->vm.dataset, "bb");
  assert_false(f->vm.is_azure);
  assert_int_equal(f->vm.n, 1);
  assert_int_equal(f->vm.slot0, 2);
  assert_float_equal(f->vm.series[TR_CPU][0], 2.0, 1e-12);
  assert_float_equal(f->vm.series[TR_MEM][0], 1000.0, 1e-12);
  assert_float_equal(f->vm.series[TR_DISK][0], 3.75, 1e-12);
  assert_float_equal(f->vm.series[TR_NET][0], 7.5, 1e-12);
  assert_float_equal(f->vm.cores[0], 8.0, 0);
  assert_float_equal(f->vm.mem_prov_kb[0], 4000.0, 0);
  assert_float_equal(f->vm.row_value[TR_DISK][0], 3.75, 1e-12);
}

/* An Azure file (cpu_cores empty throughout) has cpu only, in percent. */
static void test_azure_file_with_empty_cores_has_cpu_only_in_percent(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "az-7.csv", HEADER "0,az-7,3.5,,,,,,,\n300,az-7,4.25,,,,,,,\n");
  load_ok(f, p);
  assert_true(f->vm.is_azure);
  assert_int_equal(f->vm.n, 2);
  assert_float_equal(f->vm.series[TR_CPU][1], 4.25, 0);
  assert_null(f->vm.series[TR_MEM]);
  assert_null(f->vm.series[TR_DISK]);
  assert_null(f->vm.series[TR_NET]);
  assert_null(f->vm.cores);
  assert_null(f->vm.row_cores);
}

/* Columns are found by name, in any order. */
static void test_columns_are_found_by_name_in_any_order(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       "vm,net_tx_kbps,net_rx_kbps,disk_write_kbps,disk_read_kbps,mem_prov_kb,"
                       "mem_kb,cpu_cores,cpu_pct,timestamp\n"
                       "rnd-2,1,2,3,4,5,6,2,50,300\n");
  load_ok(f, p);
  assert_float_equal(f->vm.series[TR_CPU][0], 1.0, 1e-12);
  assert_float_equal(f->vm.series[TR_MEM][0], 6.0, 0);
  assert_float_equal(f->vm.series[TR_NET][0], 3.0, 0);
}

/* An empty cell is missing (NaN), not zero, and makes a summed metric missing. */
static void test_empty_cell_is_missing_not_zero(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv", HEADER "300,rnd-3,10,4,,100,1,,2,3\n");
  load_ok(f, p);
  assert_true(isnan(f->vm.series[TR_MEM][0]));
  assert_true(isnan(f->vm.series[TR_DISK][0]));
  assert_float_equal(f->vm.series[TR_NET][0], 5.0, 0);
}

/* ------------------------------------------------------------------ grid */

/* Timestamps 299..310 s apart land on the nearest 300 s slot; 150 s rounds up. */
static void test_jittered_timestamps_land_on_nearest_slot(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       HEADER "1049,rnd-4,1,1,1,1,1,1,1,1\n"   /* 3.497 -> slot 3 */
                              "1351,rnd-4,2,1,1,1,1,1,1,1\n"   /* 4.503 -> slot 5 */
                              "1650,rnd-4,3,1,1,1,1,1,1,1\n"); /* 5.5   -> slot 6 */
  load_ok(f, p);
  assert_int_equal(f->vm.slot0, 3);
  assert_int_equal(f->vm.n, 4);
  assert_float_equal(f->vm.series[TR_CPU][0], 0.01, 1e-12);
  assert_true(isnan(f->vm.series[TR_CPU][1]));
  assert_float_equal(f->vm.series[TR_CPU][2], 0.02, 1e-12);
  assert_float_equal(f->vm.series[TR_CPU][3], 0.03, 1e-12);
  assert_int_equal(tr_slot_ts(&f->vm, 3), 1800);
}

/* Two samples in one slot: the one nearer the slot time stays, whatever the order. */
static void test_collision_keeps_the_nearer_sample(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       HEADER "590,rnd-5,10,1,1,1,1,1,1,1\n" /* slot 2, 10 s off */
                              "740,rnd-5,20,1,1,1,1,1,1,1\n" /* slot 2, 140 s off */
                              "602,rnd-5,30,1,1,1,1,1,1,1\n"); /* slot 2, 2 s off */
  load_ok(f, p);
  assert_int_equal(f->vm.n, 1);
  assert_int_equal(f->vm.n_collisions, 2);
  assert_float_equal(f->vm.series[TR_CPU][0], 0.30, 1e-12);
}

/* Two samples equally far from the slot time: the later one stays. */
static void test_collision_tie_keeps_the_later_sample(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       HEADER "610,rnd-6,40,1,1,1,1,1,1,1\n" /* slot 2, +10 s */
                              "590,rnd-6,50,1,1,1,1,1,1,1\n"); /* slot 2, -10 s */
  load_ok(f, p);
  assert_int_equal(f->vm.n_collisions, 1);
  assert_float_equal(f->vm.series[TR_CPU][0], 0.40, 1e-12);
}

/* A gap in the file leaves NaN slots on the grid; nothing is interpolated. */
static void test_gap_leaves_nan_slots(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       HEADER "0,rnd-7,1,1,1,1,1,1,1,1\n"
                              "1200,rnd-7,2,1,1,1,1,1,1,1\n");
  load_ok(f, p);
  assert_int_equal(f->vm.n, 5);
  for (int k = 1; k <= 3; k++)
    for (int m = 0; m < TR_N_METRICS; m++)
      assert_true(isnan(f->vm.series[m][k]));
  assert_true(isnan(f->vm.cores[2]));
  assert_false(isnan(f->vm.series[TR_CPU][4]));
}

/* ------------------------------------------------------------------ errors */

/* An unparsable cell is reported as FILE:LINE:COL with the column's name. */
static void test_bad_number_is_reported_with_file_line_col(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       HEADER "0,rnd-8,1,1,1,1,1,1,1,1\n"
                              "300,rnd-8,1,1,1,1,1,1.2.3,1,1\n");
  assert_int_equal(tr_vm_load(p, &f->vm, f->err, sizeof(f->err)), -1);
  char want[512];
  snprintf(want, sizeof(want), "%s:3:8: bad number '1.2.3' in column 'disk_write_kbps'", p);
  assert_string_equal(f->err, want);
  assert_int_equal(f->vm.n, 0);
  assert_null(f->vm.row_ts);
}

/* A header without one of the ten columns is reported with that column's name. */
static void test_missing_header_column_is_reported_by_name(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv",
                       "timestamp,vm,cpu_pct,cpu_cores,mem_kb,mem_prov_kb,disk_read_kbps,"
                       "disk_write_kbps,net_tx_kbps\n0,rnd-9,1,1,1,1,1,1,1\n");
  assert_int_equal(tr_vm_load(p, &f->vm, f->err, sizeof(f->err)), -1);
  assert_non_null(strstr(f->err, ":1: header has no column 'net_rx_kbps'"));
}

/* A row with fewer fields than the header names the first missing column. */
static void test_short_row_is_reported_with_the_missing_column(void **state) {
  struct fixture *f = *state;
  const char *p = make(f, "x.csv", HEADER "0,rnd-10,1,1,1,1,1,1,1\n");
  assert_int_equal(tr_vm_load(p, &f->vm, f->err, sizeof(f->err)), -1);
  assert_non_null(strstr(f->err, ":2:10: 9 fields, the header has 10 (column 'net_tx_kbps'"));
}

/* ------------------------------------------------------------------ files */

/* A folder expands to <folder>/<dataset>/x.csv and <folder>/x.csv, sorted, without
 * index.csv or other files. */
static void test_list_files_expands_a_folder_and_skips_index_csv(void **state) {
  struct fixture *f = *state;
  make(f, "b", NULL);
  make(f, "a", NULL);
  make(f, "index.csv", "file\n");
  make(f, "b/vm2.csv", HEADER);
  make(f, "a/vm1.csv", HEADER);
  make(f, "a/notes.txt", "x\n");
  make(f, "top.csv", HEADER);
  const char *args[] = {f->dir};
  char **files = NULL;
  int n = tr_list_files(args, 1, &files, f->err, sizeof(f->err));
  assert_int_equal(n, 3);
  char want[3][256];
  snprintf(want[0], sizeof(want[0]), "%s/a/vm1.csv", f->dir);
  snprintf(want[1], sizeof(want[1]), "%s/b/vm2.csv", f->dir);
  snprintf(want[2], sizeof(want[2]), "%s/top.csv", f->dir);
  for (int i = 0; i < n; i++) {
    assert_string_equal(files[i], want[i]);
    free(files[i]);
  }
  free(files);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_bitbrains_row_gives_cpu_in_cores_and_summed_disk_and_net, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_azure_file_with_empty_cores_has_cpu_only_in_percent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_columns_are_found_by_name_in_any_order, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_empty_cell_is_missing_not_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(test_jittered_timestamps_land_on_nearest_slot, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_collision_keeps_the_nearer_sample, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_collision_tie_keeps_the_later_sample, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gap_leaves_nan_slots, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_number_is_reported_with_file_line_col, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_missing_header_column_is_reported_by_name, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_short_row_is_reported_with_the_missing_column,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_files_expands_a_folder_and_skips_index_csv,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
