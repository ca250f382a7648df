/* test_virt_domain.c -- per-domain answers: host set metadata, limits, device names,
 * and completing a stats record, against libvirt's test driver (in process, no daemon)
 * loaded from a node XML written by the test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/virterror.h>

#include "plugins/virt_domain.h"
#include "plugins/virt_sample.h"
#include "tests/unit/virt_fixture.h"

/* ------------------------------------------------------------------ vd_parse_set */

static int parse(const char *xml, char *set, size_t size, vd_error *err) {
  memset(err, 0, sizeof(*err));
  return vd_parse_set(xml, set, size, err);
}

/* libvirt returns the element with its prefix dropped: <vm set="web"/>. */
static void test_set_from_unprefixed_element(void **state) {
  (void)state;
  char set[32];
  vd_error err;
  assert_int_equal(parse("<vm set=\"web\"/>", set, sizeof(set), &err), 1);
  assert_string_equal(set, "web");
}

/* A prefix, xmlns attribute, single quotes and a closing tag are all fine. */
static void test_set_from_prefixed_element_with_namespace(void **state) {
  (void)state;
  char set[32];
  vd_error err;
  assert_int_equal(parse("\n <foresight:vm xmlns:foresight=\"http://foresight.invalid/xmlns/1\""
                         " set='db'></foresight:vm>",
                         set, sizeof(set), &err),
                   1);
  assert_string_equal(set, "db");
}

/* Entities in the value are decoded. */
static void test_set_entities_are_decoded(void **state) {
  (void)state;
  char set[32];
  vd_error err;
  assert_int_equal(parse("<vm set=\"a&amp;b&#45;&#x63;\"/>", set, sizeof(set), &err), 1);
  assert_string_equal(set, "a&b-c");
}

/* An element without a set attribute says "no set". */
static void test_element_without_set_is_no_set(void **state) {
  (void)state;
  char set[32] = "unchanged";
  vd_error err;
  assert_int_equal(parse("<vm owner=\"ops\"/>", set, sizeof(set), &err), 0);
}

/* Wrong element, empty set, overlong set and broken XML are errors naming the problem. */
static void test_bad_metadata_is_an_error(void **state) {
  (void)state;
  char set[8];
  vd_error err;
  assert_int_equal(parse("<host set=\"web\"/>", set, sizeof(set), &err), VD_EINVAL);
  assert_non_null(strstr(err.msg, "<host>"));
  assert_int_equal(parse("<vm set=\"\"/>", set, sizeof(set), &err), VD_EINVAL);
  assert_non_null(strstr(err.msg, "empty"));
  assert_int_equal(parse("<vm set=\"abcdefgh\"/>", set, sizeof(set), &err), VD_EINVAL);
  assert_non_null(strstr(err.msg, "longer than 7"));
  assert_int_equal(parse("<vm set=\"web", set, sizeof(set), &err), VD_EINVAL);
  assert_int_equal(parse("<vm set=web/>", set, sizeof(set), &err), VD_EINVAL);
  assert_int_equal(parse("<vm set=\"a&bogus;\"/>", set, sizeof(set), &err), VD_EINVAL);
  assert_int_equal(parse("web", set, sizeof(set), &err), VD_EINVAL);
}

/* ------------------------------------------------------------------ limits (pure) */

static virTypedParameter ull(const char *name, unsigned long long v) {
  virTypedParameter p;
  memset(&p, 0, sizeof(p));
  snprintf(p.field, sizeof(p.field), "%s", name);
  p.type = VIR_TYPED_PARAM_ULLONG;
  p.value.ul = v;
  return p;
}

static virTypedParameter ll(const char *name, long long v) {
  virTypedParameter p = ull(name, 0);
  p.type = VIR_TYPED_PARAM_LLONG;
  p.value.l = v;
  return p;
}

/* A per-vCPU quota limits vcpus * quota / period cores. */
static void test_vcpu_quota_in_cores(void **state) {
  (void)state;
  virTypedParameter p[] = {ull("vcpu_period", 100000), ll("vcpu_quota", 50000)};
  assert_float_equal(vd_quota_cores(p, 2, 3.0), 1.5, 1e-12);
}

/* With a global and a per-vCPU quota the tighter one applies. */
static void test_tighter_quota_applies(void **state) {
  (void)state;
  virTypedParameter p[] = {ull("vcpu_period", 100000), ll("vcpu_quota", 50000),
                           ull("global_period", 100000), ll("global_quota", 120000)};
  assert_float_equal(vd_quota_cores(p, 4, 4.0), 1.2, 1e-12); /* global 1.2 < 4 * 0.5 */
  assert_float_equal(vd_quota_cores(p, 4, 2.0), 1.0, 1e-12); /* 2 * 0.5 < 1.2 */
}

/* -1, 0 and libvirt's maximum quota mean unlimited; shares alone are no limit. */
static void test_unlimited_quota_is_unknown(void **state) {
  (void)state;
  virTypedParameter minus[] = {ull("vcpu_period", 100000), ll("vcpu_quota", -1)};
  virTypedParameter max[] = {ull("vcpu_period", 100000), ll("vcpu_quota", 17592186044415LL)};
  virTypedParameter shares[] = {ull("cpu_shares", 1024)};
  assert_true(isnan(vd_quota_cores(minus, 2, 2.0)));
  assert_true(isnan(vd_quota_cores(max, 2, 2.0)));
  assert_true(isnan(vd_quota_cores(shares, 1, 2.0)));
}

/* total_bytes_sec wins; otherwise read + write when both are limited; else unlimited. */
static void test_iotune_bytes_per_second(void **state) {
  (void)state;
  virTypedParameter total[] = {ull("total_bytes_sec", 1000), ull("read_bytes_sec", 5)};
  virTypedParameter split[] = {ull("total_bytes_sec", 0), ull("read_bytes_sec", 300),
                               ull("write_bytes_sec", 200)};
  virTypedParameter half[] = {ull("read_bytes_sec", 300)};
  assert_float_equal(vd_iotune_bps(total, 2), 1000.0, 0);
  assert_float_equal(vd_iotune_bps(split, 3), 500.0, 0);
  assert_float_equal(vd_iotune_bps(half, 1), 0.0, 0);
}

/* Bandwidth counts both directions, and only when both are limited. */
static void test_bandwidth_both_directions(void **state) {
  (void)state;
  virTypedParameter both[] = {ull("inbound.average", 100), ull("outbound.average", 50)};
  virTypedParameter in_only[] = {ull("inbound.average", 100)};
  assert_float_equal(vd_bandwidth_kbps(both, 2), 150.0, 0);
  assert_float_equal(vd_bandwidth_kbps(in_only, 1), 0.0, 0);
}

/* ------------------------------------------------------------------ device names */

/* Disk and interface targets come from the XML in document order; an element without
 * a target is left out, and <diskfoo> is not <disk>. */
static void test_device_names_from_xml(void **state) {
  (void)state;
  const char *xml =
      "<domain><devices>\n"
      "<disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\n"
      "<disk type='file' device='cdrom'><target bus='ide' dev='hdc'/></disk>\n"
      "<diskfoo><target dev='nope'/></diskfoo>\n"
      "<interface type='user'><mac address='52:54:00:00:00:01'/></interface>\n"
      "<interface type='network'><target dev='vnet3'/></interface>\n"
      "</devices></domain>";
  char **names;
  size_t n;
  assert_int_equal(vd_device_names(xml, "disk", &names, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "vda");
  assert_string_equal(names[1], "hdc");
  vd_names_free(names, n);
  assert_int_equal(vd_device_names(xml, "interface", &names, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(names[0], "vnet3");
  vd_names_free(names, n);
}

/* ------------------------------------------------------------------ test driver */

/* A node with two running domains: "tagged" with metadata, limits and devices; "plain"
 * without metadata or limits. */
static const char node_xml[] =
    "<node>\n"
    " <domain type='test'><name>tagged</name>\n"
    "  <metadata><foresight:vm xmlns:foresight='" VD_METADATA_NS "' set='web'/></metadata>\n"
    "  <memory unit='KiB'>2097152</memory><currentMemory unit='KiB'>1048576</currentMemory>\n"
    "  <vcpu current='2'>4</vcpu><os><type arch='i686'>hvm</type></os>\n"
    "  <devices>\n"
    "   <disk type='file' device='disk'><source file='/g/a.img'/><target dev='vda' bus='virtio'/>\n"
    "    <iotune><total_bytes_sec>20971520</total_bytes_sec></iotune></disk>\n"
    "   <disk type='file' device='disk'><source file='/g/b.img'/><target dev='vdb' bus='virtio'/>\n"
    "    <iotune><read_bytes_sec>1000</read_bytes_sec><write_bytes_sec>500</write_bytes_sec></iotune></disk>\n"
    "   <interface type='network'><source network='default'/><target dev='tg0'/>\n"
    "    <bandwidth><inbound average='10240'/><outbound average='5120'/></bandwidth></interface>\n"
    "   <memballoon model='virtio'/>\n"
    "  </devices></domain>\n"
    " <domain type='test'><name>plain</name>\n"
    "  <memory unit='KiB'>1048576</memory><vcpu>1</vcpu><os><type arch='i686'>hvm</type></os>\n"
    "  <devices><disk type='file' device='disk'><source file='/g/c.img'/><target dev='vda' bus='virtio'/></disk>\n"
    "  </devices></domain>\n"
    "</node>\n";

struct driver {
  char path[64];
  virConnectPtr conn;
  virDomainPtr tagged, plain;
};

static void quiet(void *data, virErrorPtr e) {
  (void)data;
  (void)e;
}

static int driver_setup(void **state) {
  struct driver *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return -1;
  snprintf(d->path, sizeof(d->path), "/tmp/fs-virt-node-XXXXXX");
  int fd = mkstemp(d->path);
  if (fd < 0 || write(fd, node_xml, sizeof(node_xml) - 1) != (ssize_t)(sizeof(node_xml) - 1)) {
    free(d);
    return -1;
  }
  close(fd);
  virSetErrorFunc(NULL, quiet);
  char uri[128];
  snprintf(uri, sizeof(uri), "test://%s", d->path);
  d->conn = virConnectOpen(uri);
  if (d->conn == NULL)
    return -1;
  d->tagged = virDomainLookupByName(d->conn, "tagged");
  d->plain = virDomainLookupByName(d->conn, "plain");
  *state = d;
  return d->tagged != NULL && d->plain != NULL ? 0 : -1;
}

static int driver_teardown(void **state) {
  struct driver *d = *state;
  virDomainFree(d->tagged);
  virDomainFree(d->plain);
  virConnectClose(d->conn);
  unlink(d->path);
  free(d);
  return 0;
}

/* The host set is read from the domain's metadata; no metadata is "no set". */
static void test_fetch_set_from_domain_metadata(void **state) {
  struct driver *d = *state;
  char set[32];
  vd_error err = {0};
  assert_int_equal(vd_fetch_set(d->tagged, set, sizeof(set), &err), 1);
  assert_string_equal(set, "web");
  assert_int_equal(vd_fetch_set(d->plain, set, sizeof(set), &err), 0);
}

/* Disk and interface limits are summed over devices; the test driver has no quota. */
static void test_fetch_limits_sums_devices(void **state) {
  struct driver *d = *state;
  const char *disks[] = {"vda", "vdb"}, *ifaces[] = {"tg0"};
  vd_limits l;
  vd_error err = {0};
  assert_int_equal(vd_fetch_limits(d->tagged, disks, 2, ifaces, 1, 2.0, &l, &err), 0);
  assert_float_equal(l.disk_bps, 20971520.0 + 1500.0, 0);
  assert_float_equal(l.net_kbps, 10240.0 + 5120.0, 0);
  assert_true(isnan(l.cpu_quota)); /* test driver: "weight" only */
}

/* One unlimited disk, or a device libvirt does not know, leaves the total unknown and
 * says why in the note. */
static void test_fetch_limits_unlimited_or_unknown_device(void **state) {
  struct driver *d = *state;
  const char *disks[] = {"vda"}, *bogus[] = {"nope0"};
  vd_limits l;
  vd_error err = {0};
  assert_int_equal(vd_fetch_limits(d->plain, disks, 1, NULL, 0, 1.0, &l, &err), 0);
  assert_true(isnan(l.disk_bps));
  assert_true(isnan(l.net_kbps));
  assert_int_equal(vd_fetch_limits(d->tagged, bogus, 1, NULL, 0, 1.0, &l, &err), 0);
  assert_true(isnan(l.disk_bps));
  assert_non_null(strstr(l.note, "nope0"));
}

/* The test driver's state-only record is completed from per-domain calls: values
 * from the node XML above (vcpus 2 of 4, balloon 1048576 of 2097152 KiB) and the
 * test driver's memory stats (unused and usable half the balloon). */
static void test_fill_completes_state_only_record(void **state) {
  struct driver *d = *state;
  virDomainStatsRecordPtr *recs = NULL;
  virDomainPtr doms[] = {d->tagged, NULL};
  assert_int_equal(virDomainListGetStats(doms, VIR_DOMAIN_STATS_STATE, &recs, 0), 1);
  virTypedParameter *p;
  int n;
  vd_error err = {0};
  assert_int_equal(vd_fill_record(d->tagged, recs[0]->params, recs[0]->nparams,
                                  VD_GROUP_ALL, &p, &n, &err),
                   1);
  uint64_t v;
  assert_true(vs_param_u64(p, n, "state.state", &v) && v == VIR_DOMAIN_RUNNING);
  assert_true(vs_param_u64(p, n, "cpu.time", &v));
  assert_true(vs_param_u64(p, n, "vcpu.current", &v) && v == 2);
  assert_true(vs_param_u64(p, n, "vcpu.maximum", &v) && v == 4);
  assert_true(vs_param_u64(p, n, "balloon.current", &v) && v == 1048576);
  assert_true(vs_param_u64(p, n, "balloon.maximum", &v) && v == 2097152);
  assert_true(vs_param_u64(p, n, "balloon.available", &v) && v == 1048576);
  assert_true(vs_param_u64(p, n, "balloon.unused", &v) && v == 524288);
  assert_true(vs_param_u64(p, n, "block.count", &v) && v == 2);
  assert_string_equal(vs_param_string(p, n, "block.1.name"), "vdb");
  assert_true(vs_param_u64(p, n, "block.0.rd.bytes", &v));
  assert_true(vs_param_u64(p, n, "net.count", &v) && v == 1);
  assert_string_equal(vs_param_string(p, n, "net.0.name"), "tg0");
  assert_true(vs_param_u64(p, n, "net.0.tx.bytes", &v));
  virTypedParamsFree(p, n);
  virDomainStatsRecordListFree(recs);
}

/* Groups left out of the mask are not asked for: a driver seen to report them in bulk
 * gets no per-domain call for a VM whose record happens to lack them. */
static void test_fill_asks_only_for_groups_in_mask(void **state) {
  struct driver *d = *state;
  virDomainStatsRecordPtr *recs = NULL;
  virDomainPtr doms[] = {d->tagged, NULL};
  assert_int_equal(virDomainListGetStats(doms, VIR_DOMAIN_STATS_STATE, &recs, 0), 1);
  virTypedParameter *p;
  int n;
  vd_error err = {0};
  assert_int_equal(vd_fill_record(d->tagged, recs[0]->params, recs[0]->nparams,
                                  VD_GROUP_CPU, &p, &n, &err),
                   1);
  assert_int_equal(vd_record_groups(p, n), VD_GROUP_CPU);
  assert_int_equal(n, recs[0]->nparams + 1); /* cpu.time only */
  virTypedParamsFree(p, n);
  assert_int_equal(vd_fill_record(d->tagged, recs[0]->params, recs[0]->nparams, 0, &p, &n,
                                  &err),
                   0);
  assert_null(p);
  virDomainStatsRecordListFree(recs);
}

/* A record that already has every group (QEMU's) costs no per-domain call and no copy. */
static void test_fill_leaves_complete_record_alone(void **state) {
  struct driver *d = *state;
  vf_record *r;
  int nr;
  assert_int_equal(vf_load("qemu_burn_2.stats", &r, &nr), 0);
  virTypedParameter *p = (virTypedParameter *)1;
  int n = -1;
  vd_error err = {0};
  assert_int_equal(vd_fill_record(d->tagged, r->params, r->n, VD_GROUP_ALL, &p, &n, &err), 0);
  assert_null(p);
  assert_int_equal(n, 0);
  vf_free(r, nr);
}

/* Setting the balloon period works on a running domain; on one that is not running the
 * error carries libvirt's message. */
static void test_balloon_period_set_or_reported(void **state) {
  struct driver *d = *state;
  vd_error err = {0};
  assert_int_equal(vd_set_balloon_period(d->tagged, 5, &err), 0);
  assert_int_equal(virDomainDestroy(d->plain), 0);
  assert_int_equal(vd_set_balloon_period(d->plain, 5, &err), VD_ELIBVIRT);
  assert_non_null(strstr(err.msg, "balloon stats period 5 s: "));
  assert_true(strlen(err.msg) > strlen("balloon stats period 5 s: "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_from_unprefixed_element),
      cmocka_unit_test(test_set_from_prefixed_element_with_namespace),
      cmocka_unit_test(test_set_entities_are_decoded),
      cmocka_unit_test(test_element_without_set_is_no_set),
      cmocka_unit_test(test_bad_metadata_is_an_error),
      cmocka_unit_test(test_vcpu_quota_in_cores),
      cmocka_unit_test(test_tighter_quota_applies),
      cmocka_unit_test(test_unlimited_quota_is_unknown),
      cmocka_unit_test(test_iotune_bytes_per_second),
      cmocka_unit_test(test_bandwidth_both_directions),
      cmocka_unit_test(test_device_names_from_xml),
      cmocka_unit_test_setup_teardown(test_fetch_set_from_domain_metadata, driver_setup,
                                      driver_teardown),
      cmocka_unit_test_setup_teardown(test_fetch_limits_sums_devices, driver_setup,
                                      driver_teardown),
      cmocka_unit_test_setup_teardown(test_fetch_limits_unlimited_or_unknown_device,
                                      driver_setup, driver_teardown),
      cmocka_unit_test_setup_teardown(test_fill_completes_state_only_record, driver_setup,
                                      driver_teardown),
      cmocka_unit_test_setup_teardown(test_fill_asks_only_for_groups_in_mask, driver_setup,
                                      driver_teardown),
      cmocka_unit_test_setup_teardown(test_fill_leaves_complete_record_alone, driver_setup,
                                      driver_teardown),
      cmocka_unit_test_setup_teardown(test_balloon_period_set_or_reported, driver_setup,
                                      driver_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
