/* test_virt_sample.c -- rates and gauges from recorded libvirt stats records.
 *
 * Fixtures (tests/unit/fixtures): records taken with `virsh domstats --raw` from a real
 * QEMU guest under qemu:///session (qemu_*.stats) and from libvirt's test driver
 * (testdriver.stats). Expected values are worked out by hand from the numbers in those
 * files, shown beside each assertion.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/virt_sample.h"
#include "tests/unit/virt_fixture.h"

#define SEC 1000000000ull
#define UUID_A "6d6a0b5e-0d3c-4c7e-9b7a-00000000000a"
#define UUID_B "6d6a0b5e-0d3c-4c7e-9b7a-00000000000b"
#define AT(t) ((vs_when){.t_ns = (t), .err_ns = 0})

/* Loads a one-record fixture into *r (the caller frees it with vf_free(r, 1)). */
static vf_record *load1(const char *name) {
  vf_record *r;
  int n;
  assert_int_equal(vf_load(name, &r, &n), 0);
  assert_int_equal(n, 1);
  return r;
}

static vf_record *parse1(const char *text) {
  vf_record *r;
  int n;
  assert_int_equal(vf_parse(text, &r, &n), 0);
  assert_int_equal(n, 1);
  return r;
}

struct fixture {
  vs_table *t;
  vs_sample s;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  if (f == NULL || (f->t = vs_table_create(free)) == NULL) {
    free(f);
    return -1;
  }
  vs_sample_clear(&f->s);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  vs_sample_clear(&f->s);
  vs_table_destroy(f->t);
  free(f);
  return 0;
}

/* Feeds a record of VM `uuid` taken at `when`; the sample goes to f->s. */
static void feed_when(struct fixture *f, const char *uuid, int dom_id, vs_when when,
                      const vf_record *r) {
  vs_sample_clear(&f->s);
  assert_int_equal(vs_table_update(f->t, uuid, dom_id, when, r->params, r->n, &f->s), 0);
}

/* ... taken at exactly t_ns. */
static void feed(struct fixture *f, const char *uuid, int dom_id, uint64_t t_ns,
                 const vf_record *r) {
  feed_when(f, uuid, dom_id, (vs_when){.t_ns = t_ns, .err_ns = 0}, r);
}

/* Feeds burn_1 at 0 s and burn_2 at 10.037 s (the recorded spacing). */
static void feed_burn_pair(struct fixture *f, vf_record **r1, vf_record **r2) {
  *r1 = load1("qemu_burn_1.stats");
  *r2 = load1("qemu_burn_2.stats");
  vs_table_begin(f->t);
  feed(f, UUID_A, 7, 0, *r1);
  vs_table_begin(f->t);
  feed(f, UUID_A, 7, 10037000000ull, *r2);
}

/* CPU used is delta cpu.time over delta wall time, in cores. */
static void test_cpu_cores_from_two_records(void **state) {
  struct fixture *f = *state;
  vf_record *r1, *r2;
  feed_burn_pair(f, &r1, &r2);
  /* (29510000000 - 19560000000) ns / 10037000000 ns */
  assert_float_equal(f->s.cpu_cores, 9950000000.0 / 10037000000.0, 1e-12);
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* disk and net are the byte rates summed over devices and directions, in KB/s. */
static void test_disk_and_net_sum_devices_in_kb_per_s(void **state) {
  struct fixture *f = *state;
  vf_record *r1, *r2;
  feed_burn_pair(f, &r1, &r2);
  /* block.0: rd 151007744 - 83898880 = 67108864 B, wr 0 */
  assert_float_equal(f->s.disk_kbps, 67108864.0 / 1024.0 / 10.037, 1e-9);
  /* net.0: rx 115430 - 63260 = 52170 B, tx 115360 - 63190 = 52170 B */
  assert_float_equal(f->s.net_kbps, (52170.0 + 52170.0) / 1024.0 / 10.037, 1e-9);
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* Guest memory used is balloon.available - balloon.unused; available is usable. */
static void test_guest_memory_from_balloon_stats(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("qemu_burn_2.stats");
  feed(f, UUID_A, 7, 0, r);
  assert_float_equal(f->s.mem_kib, 145040.0 - 104408.0, 0);
  assert_float_equal(f->s.mem_avail_kib, 119136.0, 0);
  vf_free(r, 1);
}

/* The allocation comes from vcpu.current/maximum and balloon.current/maximum. */
static void test_allocation_from_vcpu_and_balloon(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("qemu_burn_2.stats");
  feed(f, UUID_A, 7, 0, r);
  assert_float_equal(f->s.vcpus, 1.0, 0);
  assert_float_equal(f->s.vcpus_max, 2.0, 0);
  assert_float_equal(f->s.mem_alloc_kib, 196608.0, 0);
  assert_float_equal(f->s.mem_max_kib, 262144.0, 0);
  assert_int_equal(f->s.state, VIR_DOMAIN_RUNNING);
  vf_free(r, 1);
}

/* Each device's cumulative counters are passed on for collectd's DERIVE types. */
static void test_device_counters_are_passed_on(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("qemu_burn_2.stats");
  feed(f, UUID_A, 7, 0, r);
  assert_int_equal(f->s.n_disks, 1);
  assert_string_equal(f->s.disks[0].name, "vda");
  assert_true(f->s.disks[0].have_bytes && f->s.disks[0].have_ops);
  assert_int_equal(f->s.disks[0].rd_bytes, 151007744);
  assert_int_equal(f->s.disks[0].wr_bytes, 0);
  assert_int_equal(f->s.disks[0].rd_ops, 1156);
  assert_int_equal(f->s.n_ifaces, 1);
  assert_string_equal(f->s.ifaces[0].name, "fstap0");
  assert_int_equal(f->s.ifaces[0].rd_bytes, 115430);
  assert_int_equal(f->s.ifaces[0].wr_bytes, 115360);
  vf_free(r, 1);
}

/* A VM's first record has gauges but no rates: nothing to take a difference from. */
static void test_first_record_has_no_rate(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("qemu_burn_1.stats");
  feed(f, UUID_A, 7, 5 * SEC, r);
  assert_true(isnan(f->s.cpu_cores));
  assert_true(isnan(f->s.disk_kbps));
  assert_true(isnan(f->s.net_kbps));
  assert_float_equal(f->s.mem_kib, 145040.0 - 116948.0, 0);
  vf_free(r, 1);
}

/* An idle guest shows little CPU and a disk rate of exactly 0 (counters unchanged). */
static void test_idle_guest_rates(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_idle_1.stats"), *r2 = load1("qemu_idle_2.stats");
  feed(f, UUID_A, 5, 0, r1);
  feed(f, UUID_A, 5, 10 * SEC, r2);
  /* (48750000000 - 48400000000) ns / 10 s */
  assert_float_equal(f->s.cpu_cores, 0.035, 1e-12);
  assert_float_equal(f->s.disk_kbps, 0.0, 0);
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* An interface without host-side counters (user-mode networking) makes net unknown,
 * not 0: its traffic is not seen. */
static void test_interface_without_counters_makes_net_unknown(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_idle_1.stats"), *r2 = load1("qemu_idle_2.stats");
  feed(f, UUID_A, 5, 0, r1);
  feed(f, UUID_A, 5, 10 * SEC, r2);
  assert_true(isnan(f->s.net_kbps));
  assert_int_equal(f->s.n_ifaces, 0);
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* A restarted VM (new domain id) gives no rate for one sample, then rates again. */
static void test_restart_skips_one_sample(void **state) {
  struct fixture *f = *state;
  vf_record *idle = load1("qemu_idle_2.stats"), *re = load1("qemu_restarted.stats");
  feed(f, UUID_A, 5, 0, idle);
  feed(f, UUID_A, 6, 10 * SEC, re);
  assert_true(isnan(f->s.cpu_cores));
  assert_true(isnan(f->s.disk_kbps));
  feed(f, UUID_A, 6, 20 * SEC, re); /* same counters 10 s later */
  assert_float_equal(f->s.cpu_cores, 0.0, 0);
  assert_float_equal(f->s.disk_kbps, 0.0, 0);
  vf_free(idle, 1);
  vf_free(re, 1);
}

/* Counters that go back with an unchanged (or unknown) domain id never give a negative
 * rate: that sample is skipped. */
static void test_counter_going_back_gives_no_negative_rate(void **state) {
  struct fixture *f = *state;
  vf_record *idle = load1("qemu_idle_2.stats"), *re = load1("qemu_restarted.stats");
  feed(f, UUID_A, -1, 0, idle);
  feed(f, UUID_A, -1, 10 * SEC, re); /* cpu.time 48750000000 -> 1640000000 */
  assert_true(isnan(f->s.cpu_cores));
  assert_true(isnan(f->s.disk_kbps)); /* rd.bytes 12800 -> 512 */
  vf_free(idle, 1);
  vf_free(re, 1);
}

/* Without guest memory stats (balloon driver not loaded yet) memory used and available
 * are unknown, never 0; the allocation is still known. */
static void test_missing_balloon_stats_are_unknown(void **state) {
  struct fixture *f = *state;
  vf_record *re = load1("qemu_restarted.stats");
  feed(f, UUID_A, 6, 0, re);
  assert_true(isnan(f->s.mem_kib));
  assert_true(isnan(f->s.mem_avail_kib));
  assert_float_equal(f->s.mem_alloc_kib, 262144.0, 0);
  vf_free(re, 1);
}

/* A record with the state group only (libvirt's test driver) is all unknown. */
static void test_state_only_record_is_all_unknown(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("testdriver.stats");
  feed(f, UUID_A, 1, 0, r);
  feed(f, UUID_A, 1, 10 * SEC, r);
  assert_int_equal(f->s.state, VIR_DOMAIN_RUNNING);
  assert_true(isnan(f->s.cpu_cores) && isnan(f->s.mem_kib) && isnan(f->s.mem_avail_kib));
  assert_true(isnan(f->s.disk_kbps) && isnan(f->s.net_kbps));
  assert_true(isnan(f->s.vcpus) && isnan(f->s.vcpus_max));
  assert_true(isnan(f->s.mem_alloc_kib) && isnan(f->s.mem_max_kib));
  vf_free(r, 1);
}

/* Two records at the same instant give no rate (no division by zero). */
static void test_no_wall_time_gives_no_rate(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_burn_1.stats"), *r2 = load1("qemu_burn_2.stats");
  feed(f, UUID_A, 7, 3 * SEC, r1);
  feed(f, UUID_A, 7, 3 * SEC, r2);
  assert_true(isnan(f->s.cpu_cores));
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* A bulk call that took long (a VM starting held it up for 2.6 s) makes the time of
 * its records uncertain: the next rate is skipped rather than wildly off. Recorded in
 * a test run: calls of 2.63 s and 0.01 s back to back gave 147 "cores". */
static void test_slow_bulk_call_skips_the_rate(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_burn_1.stats"), *r2 = load1("qemu_burn_2.stats");
  /* call 1 from 0 to 2.63 s, call 2 from 2.63 to 2.64 s: midpoints 1.315 and 2.635 s */
  feed_when(f, UUID_A, 7, (vs_when){1315000000ull, 1315000000ull}, r1);
  feed_when(f, UUID_A, 7, (vs_when){2635000000ull, 5000000ull}, r2);
  assert_true(isnan(f->s.cpu_cores));
  assert_true(isnan(f->s.disk_kbps));
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* Time errors summing to at most VS_MAX_TIME_ERROR of the interval still give a rate,
 * computed between the estimated times. */
static void test_small_time_error_keeps_the_rate(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_burn_1.stats"), *r2 = load1("qemu_burn_2.stats");
  feed_when(f, UUID_A, 7, (vs_when){0, 1000000000ull}, r1);
  feed_when(f, UUID_A, 7, (vs_when){10037000000ull, 1509250000ull}, r2); /* 2.50925 s */
  assert_float_equal(f->s.cpu_cores, 9950000000.0 / 10037000000.0, 1e-12);
  feed_when(f, UUID_A, 7, (vs_when){20074000000ull, 1000000000ull}, r2);
  assert_float_equal(f->s.cpu_cores, 0.0, 0);      /* 2.509 s of 10.037 s: kept */
  feed_when(f, UUID_A, 7, (vs_when){30111000000ull, 1600000000ull}, r2);
  assert_true(isnan(f->s.cpu_cores));               /* 2.6 s > 2.509 s: skipped */
  vf_free(r1, 1);
  vf_free(r2, 1);
}

/* A disk that appears between two records makes the disk total unknown for a sample. */
static void test_hot_added_disk_makes_disk_unknown_once(void **state) {
  struct fixture *f = *state;
  vf_record *one = parse1("Domain: 'a'\n block.count=1\n block.0.name=vda\n"
                          " block.0.rd.bytes=1024\n block.0.wr.bytes=0\n");
  vf_record *two = parse1("Domain: 'a'\n block.count=2\n block.0.name=vda\n"
                          " block.0.rd.bytes=2048\n block.0.wr.bytes=0\n"
                          " block.1.name=vdb\n block.1.rd.bytes=4096\n block.1.wr.bytes=1024\n");
  vf_record *three = parse1("Domain: 'a'\n block.count=2\n block.0.name=vda\n"
                            " block.0.rd.bytes=3072\n block.0.wr.bytes=0\n"
                            " block.1.name=vdb\n block.1.rd.bytes=4096\n block.1.wr.bytes=2048\n");
  feed(f, UUID_A, 1, 0, one);
  feed(f, UUID_A, 1, 1 * SEC, two);
  assert_true(isnan(f->s.disk_kbps));
  feed(f, UUID_A, 1, 2 * SEC, three);
  /* vda +1024 B, vdb +1024 B in 1 s */
  assert_float_equal(f->s.disk_kbps, 2.0, 0);
  vf_free(one, 1);
  vf_free(two, 1);
  vf_free(three, 1);
}

/* block.count = 0 is a known zero: a VM without disks does no disk I/O. */
static void test_no_disks_is_known_zero(void **state) {
  struct fixture *f = *state;
  vf_record *r = parse1("Domain: 'a'\n block.count=0\n net.count=0\n");
  feed(f, UUID_A, 1, 0, r);
  feed(f, UUID_A, 1, 1 * SEC, r);
  assert_float_equal(f->s.disk_kbps, 0.0, 0);
  assert_float_equal(f->s.net_kbps, 0.0, 0);
  vf_free(r, 1);
}

/* A VM seen for the first time in a later cycle has no rate while known VMs do. */
static void test_new_vm_has_no_rate_while_others_do(void **state) {
  struct fixture *f = *state;
  vf_record *r1 = load1("qemu_burn_1.stats"), *r2 = load1("qemu_burn_2.stats");
  vs_table_begin(f->t);
  feed(f, UUID_A, 7, 0, r1);
  vs_table_begin(f->t);
  feed(f, UUID_A, 7, 10037000000ull, r2);
  assert_false(isnan(f->s.cpu_cores));
  feed(f, UUID_B, 8, 10037000000ull, r2);
  assert_true(isnan(f->s.cpu_cores));
  assert_int_equal(vs_table_sweep(f->t), 0);
  assert_int_equal(vs_table_size(f->t), 2);
  vf_free(r1, 1);
  vf_free(r2, 1);
}

static int freed_users;
static void count_free(void *p) {
  freed_users++;
  free(p);
}

/* A VM absent from a cycle is forgotten at the sweep, its caller data freed with it;
 * if it comes back it starts without history. */
static void test_vanished_vm_is_forgotten_and_freed(void **state) {
  (void)state;
  vs_table *t = vs_table_create(count_free);
  assert_non_null(t);
  vf_record *r = load1("qemu_burn_1.stats");
  vs_sample s;
  vs_table_begin(t);
  assert_int_equal(vs_table_update(t, UUID_A, 1, AT(0), r->params, r->n, &s), 0);
  vs_sample_clear(&s);
  assert_int_equal(vs_table_update(t, UUID_B, 2, AT(0), r->params, r->n, &s), 0);
  vs_sample_clear(&s);
  *vs_table_user(t, UUID_A) = malloc(16);
  *vs_table_user(t, UUID_B) = malloc(16);
  freed_users = 0;
  vs_table_begin(t);
  assert_int_equal(vs_table_update(t, UUID_A, 1, AT(SEC), r->params, r->n, &s), 0);
  vs_sample_clear(&s);
  assert_int_equal(vs_table_sweep(t), 1);
  assert_int_equal(vs_table_size(t), 1);
  assert_int_equal(freed_users, 1);
  assert_null(vs_table_user(t, UUID_B));
  assert_non_null(vs_table_user(t, UUID_A));
  vs_table_begin(t);
  assert_int_equal(vs_table_update(t, UUID_B, 2, AT(2 * SEC), r->params, r->n, &s), 0);
  assert_true(isnan(s.cpu_cores));
  vs_sample_clear(&s);
  vs_table_destroy(t);
  assert_int_equal(freed_users, 2); /* A's data went with the table */
  vf_free(r, 1);
}

/* The table finds every VM after it has grown well past its initial size. */
static void test_table_keeps_many_vms(void **state) {
  struct fixture *f = *state;
  vf_record *r = load1("qemu_idle_1.stats");
  char uuid[64];
  vs_table_begin(f->t);
  for (int i = 0; i < 1000; i++) {
    snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    feed(f, uuid, i, 0, r);
  }
  assert_int_equal(vs_table_size(f->t), 1000);
  for (int i = 0; i < 1000; i++) {
    snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012d", i);
    assert_non_null(vs_table_user(f->t, uuid));
  }
  assert_int_equal(vs_table_sweep(f->t), 0);
  vs_table_begin(f->t);
  assert_int_equal(vs_table_sweep(f->t), 1000);
  assert_int_equal(vs_table_size(f->t), 0);
  vf_free(r, 1);
}

/* Parameter reading accepts any integer type and rejects negatives and strings. */
static void test_param_u64_types(void **state) {
  (void)state;
  virTypedParameter p[4];
  memset(p, 0, sizeof(p));
  snprintf(p[0].field, sizeof(p[0].field), "a");
  p[0].type = VIR_TYPED_PARAM_UINT;
  p[0].value.ui = 7;
  snprintf(p[1].field, sizeof(p[1].field), "b");
  p[1].type = VIR_TYPED_PARAM_LLONG;
  p[1].value.l = -1;
  snprintf(p[2].field, sizeof(p[2].field), "c");
  p[2].type = VIR_TYPED_PARAM_STRING;
  p[2].value.s = (char *)"vda";
  snprintf(p[3].field, sizeof(p[3].field), "d");
  p[3].type = VIR_TYPED_PARAM_INT;
  p[3].value.i = 3;
  uint64_t v = 0;
  assert_int_equal(vs_param_u64(p, 4, "a", &v), 1);
  assert_int_equal(v, 7);
  assert_int_equal(vs_param_u64(p, 4, "b", &v), 0);
  assert_int_equal(vs_param_u64(p, 4, "c", &v), 0);
  assert_int_equal(vs_param_u64(p, 4, "d", &v), 1);
  assert_int_equal(v, 3);
  assert_int_equal(vs_param_u64(p, 4, "missing", &v), 0);
  assert_string_equal(vs_param_string(p, 4, "c"), "vda");
  assert_null(vs_param_string(p, 4, "a"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cpu_cores_from_two_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_disk_and_net_sum_devices_in_kb_per_s, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_guest_memory_from_balloon_stats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_allocation_from_vcpu_and_balloon, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_device_counters_are_passed_on, setup, teardown),
      cmocka_unit_test_setup_teardown(test_first_record_has_no_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idle_guest_rates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interface_without_counters_makes_net_unknown,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_skips_one_sample, setup, teardown),
      cmocka_unit_test_setup_teardown(test_counter_going_back_gives_no_negative_rate, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_missing_balloon_stats_are_unknown, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_state_only_record_is_all_unknown, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_no_wall_time_gives_no_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_bulk_call_skips_the_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_small_time_error_keeps_the_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hot_added_disk_makes_disk_unknown_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_no_disks_is_known_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(test_new_vm_has_no_rate_while_others_do, setup,
                                      teardown),
      cmocka_unit_test(test_vanished_vm_is_forgotten_and_freed),
      cmocka_unit_test_setup_teardown(test_table_keeps_many_vms, setup, teardown),
      cmocka_unit_test(test_param_u64_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
