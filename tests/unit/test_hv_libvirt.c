/* test_hv_libvirt.c -- the libvirt implementation of hv.h against libvirt's real test
 * driver (test:///<node XML written by lv_fixture.c>). Expected values come from that
 * XML; changes are checked with plain libvirt calls, never through the code under
 * test. This is also the record of what the test driver supports (see hv_libvirt.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libvirt/virterror.h>

#include "actuator/hv_libvirt.h"
#include "lv_fixture.h"

typedef struct hfx {
  lvfx *lv;
  act_hv *hv;
  act_error err;
} hfx;

static int setup(void **state) {
  hfx *f = calloc(1, sizeof(*f));
  f->lv = lvfx_new();
  f->hv = act_hv_libvirt_wrap(f->lv->conn, &f->err);
  assert_non_null(f->hv);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  hfx *f = *state;
  act_hv_destroy(f->hv);
  lvfx_free(f->lv);
  free(f);
  return 0;
}

/* ---- reading ---- */

static void test_hv_read_alloc_reports_the_domain_as_defined(void **state) {
  hfx *f = *state;
  act_hv_alloc al;
  assert_int_equal(act_hv_read_alloc(f->hv, "web1", &al, &f->err), 0);
  assert_int_equal(al.active, 1);
  assert_int_equal(al.persistent, 1);
  assert_true(al.vcpus == 2 && al.vcpus_max == 4);
  assert_true(al.vcpus_config == 2 && al.vcpus_max_config == 4);
  assert_true(al.mem_kib == 1048576 && al.mem_max_kib == 2097152);
  assert_true(al.mem_config_kib == 1048576 && al.mem_max_config_kib == 2097152);
  assert_int_equal(al.n_disks, 2); /* the cdrom has nothing to tune */
  assert_string_equal(al.disks[0].dev, "vda");
  assert_true(al.disks[0].iops == 100 && al.disks[0].iops_max == 200);
  assert_true(al.disks[0].bps == 0);
  assert_string_equal(al.disks[1].dev, "vdb");
  assert_true(al.disks[1].iops == 0 && al.disks[1].iops_max == 0);
  assert_int_equal(al.n_ifaces, 2);
  assert_string_equal(al.ifaces[0].mac, LVFX_WEB1_MAC1);
  assert_true(al.ifaces[0].in_kibps == 1000 && al.ifaces[0].out_kibps == 2000);
  assert_true(al.ifaces[1].in_kibps == 0 && al.ifaces[1].out_kibps == 0);
}

/* libvirt 9.0's test driver has only the "weight" scheduler parameter. */
static void test_hv_cpu_quota_is_unsupported_by_the_test_driver(void **state) {
  hfx *f = *state;
  act_hv_alloc al;
  assert_int_equal(act_hv_read_alloc(f->hv, "web1", &al, &f->err), 0);
  assert_true(isnan(al.cpu_quota));
  double v;
  assert_int_equal(act_hv_get(f->hv, "web1", ACT_HV_CPU_QUOTA, NULL, &v, &f->err),
                   ACT_EUNSUPPORTED);
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_CPU_QUOTA, NULL, 1.5, &f->err),
                   ACT_EUNSUPPORTED);
  assert_non_null(strstr(f->err.msg, "unsupported by this hypervisor"));
  assert_non_null(strstr(f->err.msg, "web1"));
}

static void test_hv_lookup_reads_identity_and_host_set(void **state) {
  hfx *f = *state;
  act_hv_domain d;
  assert_int_equal(act_hv_lookup(f->hv, "web1", &d, &f->err), 0);
  assert_string_equal(d.name, "web1");
  assert_string_equal(d.uuid, LVFX_WEB1_UUID);
  assert_string_equal(d.set, "web");
  assert_string_equal(d.template_vm, "");
  assert_int_equal(d.active, 1);
  assert_int_equal(d.persistent, 1);
  assert_int_equal(act_hv_lookup(f->hv, "web-tmpl", &d, &f->err), 0);
  assert_int_equal(d.active, 0);
}

static void test_hv_list_returns_the_domains_of_a_host_set(void **state) {
  hfx *f = *state;
  act_hv_domain *list;
  size_t n;
  assert_int_equal(act_hv_list(f->hv, "web", &list, &n, &f->err), 0);
  assert_int_equal(n, 3);
  int seen = 0;
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(list[i].set, "web");
    seen |= (strcmp(list[i].name, "web1") == 0) | (strcmp(list[i].name, "web2") == 0) << 1 |
            (strcmp(list[i].name, "web-tmpl") == 0) << 2;
  }
  assert_int_equal(seen, 7);
  free(list);
  assert_int_equal(act_hv_list(f->hv, "db", &list, &n, &f->err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].name, "db1");
  free(list);
  assert_int_equal(act_hv_list(f->hv, NULL, &list, &n, &f->err), 0);
  assert_int_equal(n, 4);
  free(list);
}

static void test_hv_unknown_domain_is_not_found(void **state) {
  hfx *f = *state;
  act_hv_domain d;
  double v;
  assert_int_equal(act_hv_lookup(f->hv, "nope", &d, &f->err), ACT_ENOENT);
  assert_non_null(strstr(f->err.msg, "nope"));
  assert_int_equal(act_hv_get(f->hv, "nope", ACT_HV_VCPUS, NULL, &v, &f->err),
                   ACT_ENOENT);
  assert_int_equal(act_hv_set(f->hv, "nope", ACT_HV_VCPUS, NULL, 1, &f->err),
                   ACT_ENOENT);
}

static void test_hv_live_knob_of_a_stopped_domain_is_estopped(void **state) {
  hfx *f = *state;
  double v;
  assert_int_equal(act_hv_get(f->hv, "web-tmpl", ACT_HV_VCPUS, NULL, &v, &f->err),
                   ACT_ESTOPPED);
  assert_int_equal(act_hv_set(f->hv, "web-tmpl", ACT_HV_MEM_KIB, NULL, 1024, &f->err),
                   ACT_ESTOPPED);
  assert_int_equal(act_hv_get(f->hv, "web-tmpl", ACT_HV_VCPUS_CONFIG, NULL, &v, &f->err),
                   0);
  assert_true(v == 1);
}

/* ---- setting ---- */

/* One row per settable knob: set through hv, then read with plain libvirt. */
typedef struct knob_case {
  act_hv_knob k;
  const char *dev;
  double value;
} knob_case;

static double plain_read(hfx *f, const knob_case *c) {
  virConnectPtr conn = f->lv->conn;
  switch (c->k) {
  case ACT_HV_VCPUS: return lvfx_vcpus(conn, "web1", VIR_DOMAIN_AFFECT_LIVE);
  case ACT_HV_VCPUS_CONFIG: return lvfx_vcpus(conn, "web1", VIR_DOMAIN_AFFECT_CONFIG);
  case ACT_HV_VCPUS_MAX_CONFIG:
    return lvfx_vcpus(conn, "web1", VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
  case ACT_HV_MEM_KIB: return (double)lvfx_mem_kib(conn, "web1");
  case ACT_HV_MEM_CONFIG_KIB:
  case ACT_HV_MEM_MAX_CONFIG_KIB: {
    char *xml = lvfx_xml(conn, "web1", VIR_DOMAIN_XML_INACTIVE);
    const char *tag = c->k == ACT_HV_MEM_CONFIG_KIB ? "<currentMemory unit='KiB'>"
                                                    : "<memory unit='KiB'>";
    char *at = strstr(xml, tag);
    double v = at == NULL ? NAN : strtod(at + strlen(tag), NULL);
    free(xml);
    return v;
  }
  case ACT_HV_DISK_BPS:
    return (double)lvfx_iotune(conn, "web1", c->dev, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC);
  case ACT_HV_DISK_BPS_MAX:
    return (double)lvfx_iotune(conn, "web1", c->dev,
                               VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC_MAX);
  case ACT_HV_DISK_IOPS:
    return (double)lvfx_iotune(conn, "web1", c->dev, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC);
  case ACT_HV_DISK_IOPS_MAX:
    return (double)lvfx_iotune(conn, "web1", c->dev,
                               VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC_MAX);
  case ACT_HV_NET_IN_KIBPS:
    return lvfx_bandwidth(conn, "web1", c->dev, VIR_DOMAIN_BANDWIDTH_IN_AVERAGE);
  case ACT_HV_NET_OUT_KIBPS:
    return lvfx_bandwidth(conn, "web1", c->dev, VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE);
  default: fail_msg("no plain reader for knob %d", (int)c->k);
  }
  return NAN;
}

static void test_hv_every_settable_knob_reads_back(void **state) {
  hfx *f = *state;
  /*  knob                         device           value (web1's differs) */
  const knob_case cases[] = {
      {ACT_HV_VCPUS_MAX_CONFIG, NULL, 6},
      {ACT_HV_VCPUS_CONFIG, NULL, 3},
      {ACT_HV_VCPUS, NULL, 3},
      {ACT_HV_MEM_MAX_CONFIG_KIB, NULL, 3145728},
      {ACT_HV_MEM_CONFIG_KIB, NULL, 1572864},
      {ACT_HV_MEM_KIB, NULL, 1572864},
      {ACT_HV_DISK_IOPS_MAX, "vda", 500},
      {ACT_HV_DISK_IOPS, "vda", 400},
      {ACT_HV_DISK_BPS_MAX, "vdb", 20000000},
      {ACT_HV_DISK_BPS, "vdb", 10000000},
      {ACT_HV_NET_IN_KIBPS, LVFX_WEB1_MAC1, 3000},
      {ACT_HV_NET_OUT_KIBPS, LVFX_WEB1_MAC2, 4000},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const knob_case *c = &cases[i];
    double through_hv = NAN;
    if (act_hv_set(f->hv, "web1", c->k, c->dev, c->value, &f->err) != 0)
      fail_msg("set %s: %s", act_hv_knob_name(c->k), f->err.msg);
    assert_true(plain_read(f, c) == c->value);
    assert_int_equal(act_hv_get(f->hv, "web1", c->k, c->dev, &through_hv, &f->err), 0);
    assert_true(through_hv == c->value);
  }
}

static void test_hv_live_maximum_is_read_only(void **state) {
  hfx *f = *state;
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_VCPUS_MAX, NULL, 8, &f->err),
                   ACT_EINVAL);
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_MEM_MAX_KIB, NULL, 4194304, &f->err),
                   ACT_EINVAL);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1",
                              VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM), 4);
}

static void test_hv_vcpus_above_the_live_maximum_are_refused(void **state) {
  hfx *f = *state;
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_VCPUS, NULL, 5, &f->err), ACT_EHV);
  assert_non_null(strstr(f->err.msg, "web1"));
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", VIR_DOMAIN_AFFECT_LIVE), 2);
}

static void test_hv_fractional_vcpus_are_refused(void **state) {
  hfx *f = *state;
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_VCPUS, NULL, 2.5, &f->err),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "2.5"));
}

static void test_hv_device_knob_without_device_is_refused(void **state) {
  hfx *f = *state;
  assert_int_equal(act_hv_set(f->hv, "web1", ACT_HV_DISK_IOPS, NULL, 10, &f->err),
                   ACT_EINVAL);
  assert_non_null(strstr(f->err.msg, "disk_iops"));
}

/* ---- life cycle ---- */

#define CLONE_UUID "11111111-2222-4333-8444-555555555555"

static void test_hv_clone_copies_the_template_with_a_new_identity(void **state) {
  hfx *f = *state;
  char *tmpl_before = lvfx_xml(f->lv->conn, "web-tmpl", VIR_DOMAIN_XML_INACTIVE);
  assert_int_equal(act_hv_define_clone(f->hv, "web-tmpl", "web3", CLONE_UUID, &f->err),
                   0);
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, "web3");
  assert_non_null(dom);
  char uuid[VIR_UUID_STRING_BUFLEN];
  assert_int_equal(virDomainGetUUIDString(dom, uuid), 0);
  assert_string_equal(uuid, CLONE_UUID);
  assert_int_equal(virDomainIsActive(dom), 0);
  char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, ACT_HV_XMLNS, 0);
  assert_non_null(meta);
  assert_non_null(strstr(meta, "set=\"web\""));
  assert_non_null(strstr(meta, "template=\"web-tmpl\""));
  free(meta);
  virDomainFree(dom);
  char *xml = lvfx_xml(f->lv->conn, "web3", VIR_DOMAIN_XML_INACTIVE);
  assert_null(strstr(xml, LVFX_TMPL_MAC));
  assert_non_null(strstr(xml, "<mac address='52:54:00:"));
  assert_non_null(strstr(xml, "web-base.img")); /* the template's disk */
  free(xml);
  char *tmpl_after = lvfx_xml(f->lv->conn, "web-tmpl", VIR_DOMAIN_XML_INACTIVE);
  assert_string_equal(tmpl_before, tmpl_after);
  free(tmpl_before);
  free(tmpl_after);
}

static void test_hv_clone_onto_an_existing_name_fails(void **state) {
  hfx *f = *state;
  char *before = lvfx_snapshot(f->lv->conn);
  assert_int_equal(act_hv_define_clone(f->hv, "web-tmpl", "web1", CLONE_UUID, &f->err),
                   ACT_EHV);
  assert_non_null(strstr(f->err.msg, "web1"));
  char *after = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void test_hv_start_stop_undefine_a_clone(void **state) {
  hfx *f = *state;
  act_hv_domain d;
  assert_int_equal(act_hv_define_clone(f->hv, "web-tmpl", "web3", CLONE_UUID, &f->err),
                   0);
  assert_int_equal(act_hv_start(f->hv, "web3", &f->err), 0);
  assert_int_equal(act_hv_lookup(f->hv, "web3", &d, &f->err), 0);
  assert_int_equal(d.active, 1);
  assert_string_equal(d.template_vm, "web-tmpl");
  /* the test driver's guest obeys the shutdown request at once */
  assert_int_equal(act_hv_stop(f->hv, "web3", /* timeout[ms] = */ 5000, &f->err), 0);
  assert_int_equal(lvfx_exists(f->lv->conn, "web3"), 1);
  assert_int_equal(act_hv_lookup(f->hv, "web3", &d, &f->err), 0);
  assert_int_equal(d.active, 0);
  assert_int_equal(act_hv_undefine(f->hv, "web3", &f->err), 0);
  assert_int_equal(lvfx_exists(f->lv->conn, "web3"), 0);
}

static void test_hv_stop_without_grace_powers_off(void **state) {
  hfx *f = *state;
  assert_int_equal(act_hv_stop(f->hv, "db1", /* timeout[ms] = */ 0, &f->err), 0);
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, "db1");
  assert_int_equal(virDomainIsActive(dom), 0);
  virDomainFree(dom);
}

static void test_hv_open_of_a_missing_node_file_names_the_uri(void **state) {
  (void)state;
  act_error err = {0};
  act_hv *hv = act_hv_libvirt_open("test:///nonexistent/foresight-node.xml", &err);
  assert_null(hv);
  assert_int_equal(err.code, ACT_EHV);
  assert_non_null(strstr(err.msg, "test:///nonexistent/foresight-node.xml"));
}

static void test_hv_open_by_uri_reaches_the_test_driver(void **state) {
  (void)state;
  act_error err = {0};
  act_hv *hv = act_hv_libvirt_open("test:///default", &err);
  assert_non_null(hv);
  act_hv_domain d;
  assert_int_equal(act_hv_lookup(hv, "test", &d, &err), 0); /* its built-in domain */
  assert_int_equal(d.active, 1);
  act_hv_destroy(hv);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_hv_read_alloc_reports_the_domain_as_defined),
      T(test_hv_cpu_quota_is_unsupported_by_the_test_driver),
      T(test_hv_lookup_reads_identity_and_host_set),
      T(test_hv_list_returns_the_domains_of_a_host_set),
      T(test_hv_unknown_domain_is_not_found),
      T(test_hv_live_knob_of_a_stopped_domain_is_estopped),
      T(test_hv_every_settable_knob_reads_back),
      T(test_hv_live_maximum_is_read_only),
      T(test_hv_vcpus_above_the_live_maximum_are_refused),
      T(test_hv_fractional_vcpus_are_refused),
      T(test_hv_device_knob_without_device_is_refused),
      T(test_hv_clone_copies_the_template_with_a_new_identity),
      T(test_hv_clone_onto_an_existing_name_fails),
      T(test_hv_start_stop_undefine_a_clone),
      T(test_hv_stop_without_grace_powers_off),
      T(test_hv_open_of_a_missing_node_file_names_the_uri),
      T(test_hv_open_by_uri_reaches_the_test_driver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
