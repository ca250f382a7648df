/* test_alloc_csv.c -- the allocation CSV writer (tools/alloc_csv.c): header, values
 * as the exact grid text the harness checks, refusals that name the row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/alloc_csv.h"

typedef struct out {
  char *buf;
  size_t len;
  FILE *fp;
  ac_writer w;
  char err[256];
} out;

static int setup(void **state) {
  out *o = calloc(1, sizeof(*o));
  o->fp = open_memstream(&o->buf, &o->len);
  *state = o;
  return o->fp == NULL ? -1 : 0;
}

static int teardown(void **state) {
  out *o = *state;
  fclose(o->fp);
  free(o->buf);
  free(o);
  return 0;
}

/* Everything written so far. */
static const char *text(out *o) {
  fflush(o->fp);
  return o->buf;
}

static void test_alloc_csv_writes_the_contract_header(void **state) {
  out *o = *state;
  assert_int_equal(ac_writer_start(&o->w, o->fp), 0);
  assert_string_equal(text(o), "vm,resource,ts,alloc\n");
  assert_int_equal(o->w.rows, 0);
}

static void test_alloc_csv_writes_whole_vcpus(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "rnd-24", AC_CPU, 1378677600, 3, o->err, 256), 0);
  assert_string_equal(text(o), "vm,resource,ts,alloc\nrnd-24,cpu,1378677600,3\n");
  assert_int_equal(o->w.rows, 1);
}

/* 0.05 * 3 is 0.15000000000000002 in binary: the text is still the grid value. */
static void test_alloc_csv_writes_a_quota_as_its_grid_value(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU_QUOTA, 300, 0.05 * 3, o->err, 256), 0);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU_QUOTA, 600, 0.05 * 23, o->err, 256), 0);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU_QUOTA, 900, 0.05 * 2, o->err, 256), 0);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU_QUOTA, 1200, 0.05 * 40, o->err, 256), 0);
  assert_string_equal(text(o), "vm,resource,ts,alloc\nv,cpu_quota,300,0.15\n"
                               "v,cpu_quota,600,1.15\nv,cpu_quota,900,0.1\n"
                               "v,cpu_quota,1200,2\n");
}

/* A provisioned size off the 256 MiB grid is a legal allocation: whole KB pass. */
static void test_alloc_csv_writes_memory_in_whole_kb(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_MEM, 300, 7510016, o->err, 256), 0);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_MEM, 600, 1024.0 * 768, o->err, 256), 0);
  assert_string_equal(text(o), "vm,resource,ts,alloc\nv,mem,300,7510016\nv,mem,600,786432\n");
}

static void test_alloc_csv_refuses_a_fraction_of_a_vcpu(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "rnd-24", AC_CPU, 600, 1.5, o->err, 256), -1);
  assert_string_equal(o->err, "allocation 1.5 for rnd-24/cpu at ts=600: not a whole "
                              "number of vCPUs");
  assert_string_equal(text(o), "vm,resource,ts,alloc\n");
  assert_int_equal(o->w.rows, 0);
}

static void test_alloc_csv_refuses_a_quota_off_the_grid(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU_QUOTA, 600, 0.12, o->err, 256), -1);
  assert_non_null(strstr(o->err, "not a multiple of 0.05 cores"));
}

static void test_alloc_csv_refuses_a_fraction_of_a_kb(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_MEM, 600, 262144.5, o->err, 256), -1);
  assert_non_null(strstr(o->err, "v/mem at ts=600: not a whole number of KB"));
}

static void test_alloc_csv_refuses_a_value_that_is_not_finite(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "v", AC_MEM, 600, NAN, o->err, 256), -1);
  assert_non_null(strstr(o->err, "must be finite and >= 0"));
  assert_int_equal(ac_writer_put(&o->w, "v", AC_CPU, 600, -1, o->err, 256), -1);
  assert_non_null(strstr(o->err, "must be finite and >= 0"));
}

/* A comma in the name would shift every column of the row. */
static void test_alloc_csv_refuses_a_vm_name_with_a_comma(void **state) {
  out *o = *state;
  ac_writer_start(&o->w, o->fp);
  assert_int_equal(ac_writer_put(&o->w, "a,b", AC_CPU, 600, 2, o->err, 256), -1);
  assert_non_null(strstr(o->err, "VM name"));
  assert_string_equal(text(o), "vm,resource,ts,alloc\n");
}

static void test_alloc_csv_parses_the_contract_names(void **state) {
  (void)state;
  ac_resource r;
  assert_int_equal(ac_resource_parse("cpu_quota", &r), 0);
  assert_int_equal(r, AC_CPU_QUOTA);
  assert_int_equal(ac_resource_parse("mem", &r), 0);
  assert_int_equal(r, AC_MEM);
  assert_int_equal(ac_resource_parse("memory", &r), -1);
  assert_string_equal(ac_resource_name(AC_CPU), "cpu");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_alloc_csv_writes_the_contract_header),
      T(test_alloc_csv_writes_whole_vcpus),
      T(test_alloc_csv_writes_a_quota_as_its_grid_value),
      T(test_alloc_csv_writes_memory_in_whole_kb),
      T(test_alloc_csv_refuses_a_fraction_of_a_vcpu),
      T(test_alloc_csv_refuses_a_quota_off_the_grid),
      T(test_alloc_csv_refuses_a_fraction_of_a_kb),
      T(test_alloc_csv_refuses_a_value_that_is_not_finite),
      T(test_alloc_csv_refuses_a_vm_name_with_a_comma),
      T(test_alloc_csv_parses_the_contract_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
