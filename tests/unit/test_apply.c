/* test_apply.c -- decisions applied as transactions against libvirt's real test driver,
 * with a fault-injecting act_hv (hv_fault.c) in front of the libvirt one.
 *
 * The central oracle is lvfx_snapshot(): every domain's live and persistent XML, read
 * with plain libvirt calls. "Rolled back" means the snapshot after equals the snapshot
 * before, byte for byte; "applied" means it equals the snapshot a fault-free run
 * produced.
 *
 * Every-injection-point tests first run the decision without faults on a fresh
 * hypervisor, counting the calls it makes (N), then for each k = 1..N start again on a
 * fresh hypervisor and fail call k.
 *
 * Restarts: the test driver's state lives in the connection (a new connection to the
 * node file starts from the file again), so a simulated crash drops the applier and
 * its act_hv -- everything the applier process owns -- but keeps the fixture's one
 * connection, which stands for the hypervisor that outlives the crash; the "restarted"
 * applier wraps that connection anew and reopens the journal file. */
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

#include "actuator/apply.h"
#include "actuator/hv_libvirt.h"
#include "hv_fault.h"
#include "lv_fixture.h"

typedef struct afx {
  lvfx *lv;
  act_hv *hv;        /* the fault wrapper around the libvirt hv */
  hv_fault_ctl *ctl;
  act_ledger *ledger;
  act_apply *ap;
  act_apply_config cfg;
  act_result res;
  act_error err;
  /* crash simulation: the journal's bytes when the crash call came */
  int crash_at;
  char *crash_image;
  size_t crash_len;
  /* vanishing domain: what the hook does, and to whom, before the first matching call */
  const char *vanish_vm;
  int vanish_knob; /* the knob of the set call that triggers it, -1: any set */
  int vanish_undefine;
  int vanished;
} afx;

/* A setup step run on the fresh hypervisor before the test's snapshot. */
typedef void (*prepare_fn)(afx *f);

static void open_applier(afx *f) {
  act_hv *lv = act_hv_libvirt_wrap(f->lv->conn, &f->err);
  assert_non_null(lv);
  f->hv = hv_fault_create(lv, &f->ctl);
  assert_non_null(f->hv);
  f->ap = act_apply_create(f->hv, f->lv->journal, f->ledger, &f->cfg, NULL, &f->err);
  if (f->ap == NULL)
    fail_msg("act_apply_create: %s", f->err.msg);
}

/* Drops everything the applier's process owns, as a crash would. */
static void drop_applier(afx *f) {
  act_apply_destroy(f->ap);
  act_hv_destroy(f->hv);
  f->ap = NULL;
  f->hv = NULL;
  f->ctl = NULL;
}

static afx *afx_new(prepare_fn prepare) {
  afx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  f->lv = lvfx_new();
  f->ledger = act_ledger_create(f->lv->ledger, &f->err);
  assert_non_null(f->ledger);
  act_apply_config_init(&f->cfg);
  f->cfg.verify_attempts = 2; /* a mismatch is read twice, without waiting */
  f->cfg.verify_wait_ms = 0;
  f->cfg.stop_timeout_ms = 0;
  f->cfg.compact_after = 0; /* the tests read the journal afterwards */
  if (prepare != NULL)
    prepare(f);
  open_applier(f);
  return f;
}

static void afx_free(afx *f) {
  drop_applier(f);
  act_ledger_destroy(f->ledger);
  free(f->crash_image);
  lvfx_free(f->lv);
  free(f);
}

static const act_journal *journal(afx *f) { return act_apply_journal(f->ap); }

/* ---- decisions ---- */

static act_decision decision(act_kind k, const char *vm, act_resource r, double from,
                             double to) {
  act_decision d;
  memset(&d, 0, sizeof(d));
  d.seq = 42;
  d.ts = 1700000000;
  d.kind = k;
  snprintf(d.vm, sizeof(d.vm), "%s", vm);
  d.resource = r;
  d.from = from;
  d.to = to;
  d.peer_from = d.peer_to = NAN;
  strcpy(d.rule, "test");
  return d;
}

/* web2 lends one vCPU to web1 (loan 7). */
static act_decision lend_cpu(void) {
  act_decision d = decision(ACT_LEND, "web1", ACT_CPU, 2, 3);
  strcpy(d.peer, "web2");
  d.peer_from = 4;
  d.peer_to = 3;
  d.loan = (act_loan){.id = 7, .resource = ACT_CPU, .amount = 1, .start_ts = 1700000000,
                      .expiry_ts = 1700001800};
  strcpy(d.loan.lender, "web2");
  strcpy(d.loan.borrower, "web1");
  return d;
}

/* web1 returns loan 7's vCPU to web2. */
static act_decision repay_cpu(void) {
  act_decision d = lend_cpu();
  d.kind = ACT_REPAY;
  d.from = 2;
  d.to = 1;
  d.peer_from = 4;
  d.peer_to = 5;
  return d;
}

/* ---- preparations (plain libvirt, before the snapshot) ---- */

static void vir_ok(int rc) {
  if (rc < 0)
    fail_msg("libvirt: %s", virGetLastErrorMessage());
}

/* web1's persistent maximum down to 2 vCPUs, so a grow to 3 must raise it first. */
static void lower_cpu_config_max(afx *f) {
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, "web1");
  vir_ok(virDomainSetVcpusFlags(dom, 2, VIR_DOMAIN_VCPU_MAXIMUM | VIR_DOMAIN_AFFECT_CONFIG));
  virDomainFree(dom);
}

/* web1's persistent maximum memory down to 1.5 GiB (the live one stays 2 GiB). */
static void lower_memory_config_max(afx *f) {
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, "web1");
  vir_ok(virDomainSetMemoryFlags(dom, 1572864,
                                 VIR_DOMAIN_MEM_MAXIMUM | VIR_DOMAIN_AFFECT_CONFIG));
  virDomainFree(dom);
}

/* The ledger holds loan 7 (web2 -> web1) and web1 runs with the borrowed vCPU. */
static void record_loan(afx *f) {
  act_decision d = lend_cpu();
  assert_int_equal(act_ledger_lend(f->ledger, &d.loan, &f->err), 0);
}

/* web3 exists as a scale-out clone of web-tmpl, running. */
static void scaled_out_web3(afx *f) {
  act_hv *hv = act_hv_libvirt_wrap(f->lv->conn, &f->err);
  assert_non_null(hv);
  char uuid[ACT_HV_UUID_LEN];
  assert_int_equal(act_hv_uuid_generate(uuid, &f->err), 0);
  assert_int_equal(act_hv_define_clone(hv, "web-tmpl", "web3", uuid, &f->err), 0);
  assert_int_equal(act_hv_start(hv, "web3", &f->err), 0);
  act_hv_destroy(hv);
}

/* ---- every injection point ---- */

typedef struct scenario {
  act_decision d;
  const char *template_vm;
  prepare_fn prepare;
} scenario;

/* Applies s without faults on a fresh hypervisor: the number of calls it makes and the
 * snapshot after it (malloc'd). */
static int reference_run(const scenario *s, char **after) {
  afx *f = afx_new(s->prepare);
  char *before = lvfx_snapshot(f->lv->conn);
  if (act_apply_decision(f->ap, &s->d, s->template_vm, &f->res) != 0)
    fail_msg("reference run: %s", f->res.error);
  assert_int_equal(f->res.status, ACT_APPLIED);
  int n = f->ctl->calls;
  *after = lvfx_snapshot(f->lv->conn);
  assert_string_not_equal(before, *after); /* the decision changes something */
  free(before);
  afx_free(f);
  return n;
}

/* For k = 1..N: fail call k; the hypervisor must read back exactly as before (or, for a
 * failure past a scale-in's point of no return, exactly as after), and a begun
 * transaction must be closed in the journal with the injected failure as its reason. */
static void inject_everywhere(const scenario *s) {
  char *after = NULL;
  int n = reference_run(s, &after);
  int rolled_back = 0;
  for (int k = 1; k <= n; k++) {
    afx *f = afx_new(s->prepare);
    char *before = lvfx_snapshot(f->lv->conn);
    f->ctl->fail_at[0] = k;
    act_apply_decision(f->ap, &s->d, s->template_vm, &f->res);
    char *now = lvfx_snapshot(f->lv->conn);
    char want[64];
    snprintf(want, sizeof(want), "injected failure at call %d", k);
    if (f->res.status == ACT_APPLIED) { /* completed past the point of no return */
      assert_int_equal(s->d.kind, ACT_SCALE_IN);
      assert_string_equal(now, after);
      assert_non_null(strstr(f->res.error, want));
    } else {
      if (strcmp(now, before) != 0)
        fail_msg("fault at call %d of %d left the hypervisor changed (%s: %s)", k, n,
                 act_status_name(f->res.status), f->res.error);
      assert_non_null(strstr(f->res.error, want));
    }
    assert_int_equal(act_journal_open_count(journal(f)), 0);
    if (f->res.tx == 0) { /* refused while planning: nothing journaled */
      assert_int_equal(f->res.status, ACT_FAILED);
      assert_int_equal(act_journal_count(journal(f)), 0);
    } else if (f->res.status == ACT_ROLLED_BACK) {
      const act_tx *tx = act_journal_find(journal(f), f->res.tx);
      assert_int_equal(tx->state, ACT_TX_ROLLED_BACK);
      assert_non_null(strstr(tx->note, want));
      rolled_back++;
    }
    free(before);
    free(now);
    afx_free(f);
  }
  free(after);
  assert_true(rolled_back >= 1); /* the loop reached past the planning reads */
}

static void test_apply_cpu_grow_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_CPU, 2, 3), NULL, lower_cpu_config_max};
  inject_everywhere(&s);
}

static void test_apply_memory_grow_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_MEMORY, 1024, 1792), NULL,
                lower_memory_config_max};
  inject_everywhere(&s);
}

static void test_apply_cpu_shrink_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_SHRINK, "web2", ACT_CPU, 4, 2), NULL, NULL};
  inject_everywhere(&s);
}

static void test_apply_lend_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {lend_cpu(), NULL, NULL};
  inject_everywhere(&s);
}

static void test_apply_repay_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {repay_cpu(), NULL, record_loan};
  inject_everywhere(&s);
}

static void test_apply_disk_iops_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_DISK_IOPS, 100, 300), NULL, NULL};
  inject_everywhere(&s);
}

static void test_apply_net_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_NET_KBPS, 1000, 5000), NULL, NULL};
  inject_everywhere(&s);
}

static void test_apply_scale_out_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_SCALE_OUT, "web3", ACT_CPU, 2, 3), "web-tmpl", NULL};
  inject_everywhere(&s);
}

static void test_apply_scale_in_survives_a_fault_at_every_call(void **state) {
  (void)state;
  scenario s = {decision(ACT_SCALE_IN, "web3", ACT_CPU, 3, 2), NULL, scaled_out_web3};
  inject_everywhere(&s);
}

/* ---- outcomes ---- */

static void test_apply_grow_reaches_live_and_persistent_config(void **state) {
  (void)state;
  afx *f = afx_new(lower_cpu_config_max);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(f->res.status, ACT_APPLIED);
  assert_int_equal(f->res.n_steps, 3);
  assert_int_equal(f->res.n_applied, 3);
  virConnectPtr c = f->lv->conn;
  assert_int_equal(lvfx_vcpus(c, "web1", VIR_DOMAIN_AFFECT_LIVE), 3);
  assert_int_equal(lvfx_vcpus(c, "web1", VIR_DOMAIN_AFFECT_CONFIG), 3);
  assert_int_equal(lvfx_vcpus(c, "web1", VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM),
                   3);
  const act_tx *tx = act_journal_find(journal(f), f->res.tx);
  assert_int_equal(tx->state, ACT_TX_COMMITTED);
  assert_int_equal(tx->decision, 42);
  afx_free(f);
}

static void test_apply_lend_records_the_loan_once_applied(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = lend_cpu();
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web2", VIR_DOMAIN_AFFECT_LIVE), 3);
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", VIR_DOMAIN_AFFECT_LIVE), 3);
  assert_non_null(act_ledger_find(f->ledger, 7));
  afx_free(f);
}

static void test_apply_rolled_back_lend_leaves_no_loan(void **state) {
  (void)state;
  scenario s = {lend_cpu(), NULL, NULL};
  char *after = NULL;
  int n = reference_run(&s, &after);
  free(after);
  afx *f = afx_new(NULL);
  f->ctl->fail_at[0] = n; /* the last read-back, after every other step was made */
  act_apply_decision(f->ap, &s.d, NULL, &f->res);
  assert_int_equal(f->res.status, ACT_ROLLED_BACK);
  assert_null(act_ledger_find(f->ledger, 7));
  afx_free(f);
}

static void test_apply_memory_grow_reaches_the_balloon(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_MEMORY, 1024, 1536);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(lvfx_mem_kib(f->lv->conn, "web1"), 1536 * 1024);
  afx_free(f);
}

static void test_apply_disk_iops_raises_the_burst_ceiling_first(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_DISK_IOPS, 100, 300);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  for (const char *dev = "vda"; dev != NULL; dev = strcmp(dev, "vda") == 0 ? "vdb" : NULL) {
    assert_int_equal(lvfx_iotune(f->lv->conn, "web1", dev,
                                 VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC), 300);
    assert_true(lvfx_iotune(f->lv->conn, "web1", dev,
                            VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC_MAX) >= 300);
  }
  afx_free(f);
}

static void test_apply_scale_out_starts_a_marked_clone(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_SCALE_OUT, "web3", ACT_CPU, 2, 3);
  assert_int_equal(act_apply_decision(f->ap, &d, "web-tmpl", &f->res), 0);
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, "web3");
  assert_non_null(dom);
  assert_int_equal(virDomainIsActive(dom), 1);
  char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, ACT_HV_XMLNS, 0);
  assert_non_null(strstr(meta, "template=\"web-tmpl\""));
  free(meta);
  virDomainFree(dom);
  afx_free(f);
}

static void test_apply_scale_in_removes_the_clone(void **state) {
  (void)state;
  afx *f = afx_new(scaled_out_web3);
  act_decision d = decision(ACT_SCALE_IN, "web3", ACT_CPU, 3, 2);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(lvfx_exists(f->lv->conn, "web3"), 0);
  afx_free(f);
}

/* ---- refusals before any change ---- */

/* A refusal: status failed with `code`, nothing journaled, the hypervisor unchanged. */
static void assert_refused(afx *f, const act_decision *d, const char *template_vm,
                           int code, const char *words) {
  char *before = lvfx_snapshot(f->lv->conn);
  assert_int_equal(act_apply_decision(f->ap, d, template_vm, &f->res), code);
  assert_int_equal(f->res.status, ACT_FAILED);
  assert_int_equal(f->res.code, code);
  assert_int_equal(f->res.tx, 0);
  assert_int_equal(act_journal_count(journal(f)), 0);
  if (strstr(f->res.error, words) == NULL)
    fail_msg("error \"%s\" lacks \"%s\"", f->res.error, words);
  char *after = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void test_apply_cpu_quota_is_refused_as_unsupported(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU_QUOTA, 1, 1.5);
  assert_refused(f, &d, NULL, ACT_EUNSUPPORTED, "unsupported by this hypervisor");
  afx_free(f);
}

static void test_apply_vcpus_above_the_live_maximum_are_refused(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 6);
  assert_refused(f, &d, NULL, ACT_EUNSUPPORTED, "restart");
  afx_free(f);
}

static void test_apply_resize_of_a_stopped_domain_is_refused(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web-tmpl", ACT_CPU, 1, 2);
  assert_refused(f, &d, NULL, ACT_ESTOPPED, "does not run");
  afx_free(f);
}

static void test_apply_scale_in_of_an_operators_vm_is_refused(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_SCALE_IN, "db1", ACT_CPU, 1, 0);
  assert_refused(f, &d, NULL, ACT_EINVAL, "not created by scale-out");
  afx_free(f);
}

static void test_apply_scale_out_without_template_is_refused(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_SCALE_OUT, "web3", ACT_CPU, 2, 3);
  assert_refused(f, &d, NULL, ACT_EINVAL, "ScaleOutTemplate");
  afx_free(f);
}

static void test_apply_scale_out_onto_an_existing_name_is_refused(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_SCALE_OUT, "web2", ACT_CPU, 2, 3);
  assert_refused(f, &d, "web-tmpl", ACT_EEXIST, "exists");
  afx_free(f);
}

static void test_apply_dry_run_is_skipped_without_a_call(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  d.dry_run = 1;
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(f->res.status, ACT_SKIPPED);
  assert_int_equal(f->ctl->calls, 0);
  afx_free(f);
}

static void test_apply_decision_already_met_is_skipped(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 2);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_int_equal(f->res.status, ACT_SKIPPED);
  assert_int_equal(act_journal_count(journal(f)), 0);
  afx_free(f);
}

/* ---- a hypervisor that lies or loses domains ---- */

static void test_apply_change_that_does_not_read_back_is_rolled_back(void **state) {
  (void)state;
  afx *f = afx_new(lower_cpu_config_max);
  char *before = lvfx_snapshot(f->lv->conn);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  f->ctl->swallow_at = 2; /* call 1 reads, call 2 is the first set: it does nothing */
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), ACT_EVERIFY);
  assert_int_equal(f->res.status, ACT_ROLLED_BACK);
  assert_non_null(strstr(f->res.error, "reads back"));
  char *after = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, after);
  free(before);
  free(after);
  afx_free(f);
}

/* The hook: before the first set of vanish_knob on vanish_vm, stop it (and undefine
 * it), as an operator or a crash of the guest might between two steps. */
static void vanish_hook(void *user, int call, const char *op, const char *vm, int knob) {
  afx *f = user;
  (void)call;
  if (f->vanished || strcmp(op, "set") != 0 || strcmp(vm, f->vanish_vm) != 0 ||
      (f->vanish_knob >= 0 && knob != f->vanish_knob))
    return;
  f->vanished = 1;
  virDomainPtr dom = virDomainLookupByName(f->lv->conn, vm);
  assert_non_null(dom);
  vir_ok(virDomainDestroy(dom));
  if (f->vanish_undefine)
    vir_ok(virDomainUndefine(dom));
  virDomainFree(dom);
}

/* web1 disappears halfway through a lend: web2, already shrunk, gets its vCPU back. */
static void test_apply_vanished_domain_mid_lend_restores_the_other(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  char *web2_before = lvfx_xml(f->lv->conn, "web2", 0);
  f->vanish_vm = "web1";
  f->vanish_knob = -1;
  f->vanish_undefine = 1;
  f->ctl->hook = vanish_hook;
  f->ctl->hook_user = f;
  act_decision d = lend_cpu();
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), ACT_ENOENT);
  assert_int_equal(f->vanished, 1);
  assert_int_equal(f->res.status, ACT_ROLLED_BACK);
  assert_int_equal(lvfx_exists(f->lv->conn, "web1"), 0);
  char *web2_after = lvfx_xml(f->lv->conn, "web2", 0);
  assert_string_equal(web2_before, web2_after);
  const act_tx *tx = act_journal_find(journal(f), f->res.tx);
  assert_int_equal(tx->state, ACT_TX_ROLLED_BACK);
  assert_non_null(strstr(tx->note, "web1 vanished"));
  assert_null(act_ledger_find(f->ledger, 7));
  free(web2_before);
  free(web2_after);
  afx_free(f);
}

/* web1 stops between its config steps and its live one: the config is restored, and a
 * stopped domain has no live value to restore. */
static void test_apply_stopped_domain_mid_grow_gets_its_config_back(void **state) {
  (void)state;
  afx *f = afx_new(lower_cpu_config_max);
  char *config_before = lvfx_xml(f->lv->conn, "web1", VIR_DOMAIN_XML_INACTIVE);
  f->vanish_vm = "web1";
  f->vanish_knob = ACT_HV_VCPUS;
  f->vanish_undefine = 0;
  f->ctl->hook = vanish_hook;
  f->ctl->hook_user = f;
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), ACT_ESTOPPED);
  assert_int_equal(f->res.status, ACT_ROLLED_BACK);
  char *config_after = lvfx_xml(f->lv->conn, "web1", VIR_DOMAIN_XML_INACTIVE);
  assert_string_equal(config_before, config_after);
  const act_tx *tx = act_journal_find(journal(f), f->res.tx);
  assert_non_null(strstr(tx->note, "web1 stopped"));
  free(config_before);
  free(config_after);
  afx_free(f);
}

/* ---- crashes and recovery ---- */

/* The crash hook: at call crash_at, keep the journal's bytes as they are on disk (each
 * record was fsync'd before this call), and let every call from here on fail -- the
 * process is gone, nothing it does any more reaches the hypervisor. */
static void crash_hook(void *user, int call, const char *op, const char *vm, int knob) {
  afx *f = user;
  (void)op;
  (void)vm;
  (void)knob;
  if (call != f->crash_at)
    return;
  f->crash_image = lvfx_read_file(f->lv->journal, &f->crash_len);
  f->ctl->dead_from = call;
}

/* After a crash: the journal as it was at the crash, a new applier over the same
 * hypervisor connection, recovery. */
static void restart(afx *f, act_recovery *rec) {
  drop_applier(f);
  if (f->crash_image != NULL)
    lvfx_write_file(f->lv->journal, f->crash_image, f->crash_len);
  open_applier(f);
  if (act_apply_recover(f->ap, rec, &f->err) != 0)
    fail_msg("recovery: %s", f->err.msg);
  assert_int_equal(act_journal_open_count(journal(f)), 0);
}

/* A crash at each call of a three-step grow; recovery on a new handle restores the
 * before state. */
static void test_apply_crash_at_every_call_is_recovered_after_restart(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_CPU, 2, 3), NULL, lower_cpu_config_max};
  char *after = NULL;
  int n = reference_run(&s, &after);
  free(after);
  int recovered = 0;
  for (int k = 1; k <= n; k++) {
    afx *f = afx_new(s.prepare);
    char *before = lvfx_snapshot(f->lv->conn);
    f->crash_at = k;
    f->ctl->hook = crash_hook;
    f->ctl->hook_user = f;
    act_apply_decision(f->ap, &s.d, NULL, &f->res);
    uint64_t tx_id = f->res.tx;
    act_recovery rec;
    restart(f, &rec);
    char *now = lvfx_snapshot(f->lv->conn);
    if (strcmp(before, now) != 0)
      fail_msg("crash at call %d of %d: not restored", k, n);
    if (tx_id != 0 && rec.open == 1) {
      assert_int_equal(rec.rolled_back, 1);
      const act_tx *tx = act_journal_find(journal(f), tx_id);
      assert_int_equal(tx->state, ACT_TX_ROLLED_BACK);
      assert_non_null(strstr(tx->note, "recovered after a restart"));
      recovered++;
    } else {
      assert_int_equal(rec.open, 0); /* crashed before `begin` */
    }
    free(before);
    free(now);
    afx_free(f);
  }
  assert_true(recovered >= 3); /* at least one crash after each step's set */
}

/* Removes the journal's last line, as if the crash came just before it was written. */
static void drop_last_record(afx *f) {
  size_t len;
  char *text = lvfx_read_file(f->lv->journal, &len);
  assert_true(len > 0 && text[len - 1] == '\n');
  text[len - 1] = '\0';
  char *last = strrchr(text, '\n');
  assert_non_null(last);
  f->crash_len = (size_t)(last - text) + 1;
  free(f->crash_image);
  f->crash_image = text;
}

/* Every step made and verified, then a crash before `commit`: rolled back. */
static void test_apply_crash_before_commit_rolls_back(void **state) {
  (void)state;
  afx *f = afx_new(lower_cpu_config_max);
  char *before = lvfx_snapshot(f->lv->conn);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  drop_last_record(f);
  act_recovery rec;
  restart(f, &rec);
  assert_int_equal(rec.open, 1);
  assert_int_equal(rec.rolled_back, 1);
  char *now = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, now);
  free(before);
  free(now);
  afx_free(f);
}

/* A lend made, its loan recorded, then a crash before `commit`: the loan goes too. */
static void test_apply_crash_before_commit_of_a_lend_drops_its_loan(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  char *before = lvfx_snapshot(f->lv->conn);
  act_decision d = lend_cpu();
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_non_null(act_ledger_find(f->ledger, 7));
  drop_last_record(f);
  act_recovery rec;
  restart(f, &rec);
  assert_int_equal(rec.rolled_back, 1);
  assert_null(act_ledger_find(f->ledger, 7));
  char *now = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, now);
  free(before);
  free(now);
  afx_free(f);
}

/* A repay made, its loan removed, then a crash: the loan is back with the vCPUs. */
static void test_apply_crash_before_commit_of_a_repay_restores_its_loan(void **state) {
  (void)state;
  afx *f = afx_new(record_loan);
  act_decision d = repay_cpu();
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  assert_null(act_ledger_find(f->ledger, 7));
  drop_last_record(f);
  act_recovery rec;
  restart(f, &rec);
  assert_int_equal(rec.rolled_back, 1);
  const act_loan *k = act_ledger_find(f->ledger, 7);
  assert_non_null(k);
  assert_string_equal(k->lender, "web2");
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web1", VIR_DOMAIN_AFFECT_LIVE), 2);
  afx_free(f);
}

/* A scale-in crashed after its undefine, the point of no return: completed. */
static void test_apply_crash_after_undefine_completes_the_scale_in(void **state) {
  (void)state;
  afx *f = afx_new(scaled_out_web3);
  act_decision d = decision(ACT_SCALE_IN, "web3", ACT_CPU, 3, 2);
  assert_int_equal(act_apply_decision(f->ap, &d, NULL, &f->res), 0);
  drop_last_record(f);
  act_recovery rec;
  restart(f, &rec);
  assert_int_equal(rec.completed, 1);
  assert_int_equal(lvfx_exists(f->lv->conn, "web3"), 0);
  const act_tx *tx = act_journal_find(journal(f), f->res.tx);
  assert_int_equal(tx->state, ACT_TX_COMMITTED);
  assert_non_null(strstr(tx->note, "complete"));
  afx_free(f);
}

/* A rollback that fails leaves the transaction open; the next recovery finishes it. */
static void test_apply_failed_rollback_is_finished_by_recovery(void **state) {
  (void)state;
  scenario s = {decision(ACT_GROW, "web1", ACT_CPU, 2, 3), NULL, lower_cpu_config_max};
  char *after = NULL;
  int n = reference_run(&s, &after);
  free(after);
  afx *f = afx_new(s.prepare);
  char *before = lvfx_snapshot(f->lv->conn);
  f->ctl->fail_at[0] = n - 1; /* the last step's set (its verify would be call n) */
  f->ctl->fail_at[1] = n;     /* and the rollback's first read of it */
  assert_int_equal(act_apply_decision(f->ap, &s.d, NULL, &f->res), ACT_EHV);
  assert_int_equal(f->res.status, ACT_FAILED);
  assert_int_equal(f->res.pending, 1);
  const act_tx *tx = act_journal_find(journal(f), f->res.tx);
  assert_int_equal(tx->state, ACT_TX_OPEN);
  assert_int_equal(tx->stuck, 1);
  act_recovery rec;
  assert_int_equal(act_apply_recover(f->ap, &rec, &f->err), 0);
  assert_int_equal(rec.rolled_back, 1);
  char *now = lvfx_snapshot(f->lv->conn);
  assert_string_equal(before, now);
  free(before);
  free(now);
  afx_free(f);
}

/* While a transaction cannot be recovered, no new decision runs. */
static void test_apply_open_transaction_blocks_new_decisions(void **state) {
  (void)state;
  afx *f = afx_new(lower_cpu_config_max);
  act_decision d = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  f->ctl->dead_from = 3; /* the hypervisor goes away after the first set */
  act_apply_decision(f->ap, &d, NULL, &f->res);
  assert_int_equal(f->res.pending, 1);
  int calls = f->ctl->calls;
  act_decision next = decision(ACT_GROW, "web2", ACT_CPU, 4, 5);
  assert_int_equal(act_apply_decision(f->ap, &next, NULL, &f->res), ACT_EPENDING);
  assert_int_equal(f->res.status, ACT_FAILED);
  assert_int_equal(f->res.tx, 0);
  assert_true(f->ctl->calls > calls); /* it did try to recover */
  assert_int_equal(lvfx_vcpus(f->lv->conn, "web2", VIR_DOMAIN_AFFECT_LIVE), 4);
  afx_free(f);
}

static void test_apply_compacts_the_journal_once_all_is_closed(void **state) {
  (void)state;
  afx *f = afx_new(NULL);
  drop_applier(f);
  f->cfg.compact_after = 2;
  open_applier(f);
  act_decision a = decision(ACT_GROW, "web1", ACT_CPU, 2, 3);
  act_decision b = decision(ACT_GROW, "web2", ACT_CPU, 4, 5);
  assert_int_equal(act_apply_decision(f->ap, &a, NULL, &f->res), 0);
  assert_int_equal(act_journal_count(journal(f)), 1);
  assert_int_equal(act_apply_decision(f->ap, &b, NULL, &f->res), 0);
  assert_int_equal(act_journal_count(journal(f)), 0);
  size_t len;
  char *text = lvfx_read_file(f->lv->journal, &len);
  assert_int_equal(strchr(text, '\n') - text + 1, (long)len); /* the header alone */
  free(text);
  afx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply_cpu_grow_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_memory_grow_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_cpu_shrink_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_lend_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_repay_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_disk_iops_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_net_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_scale_out_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_scale_in_survives_a_fault_at_every_call),
      cmocka_unit_test(test_apply_grow_reaches_live_and_persistent_config),
      cmocka_unit_test(test_apply_lend_records_the_loan_once_applied),
      cmocka_unit_test(test_apply_rolled_back_lend_leaves_no_loan),
      cmocka_unit_test(test_apply_memory_grow_reaches_the_balloon),
      cmocka_unit_test(test_apply_disk_iops_raises_the_burst_ceiling_first),
      cmocka_unit_test(test_apply_scale_out_starts_a_marked_clone),
      cmocka_unit_test(test_apply_scale_in_removes_the_clone),
      cmocka_unit_test(test_apply_cpu_quota_is_refused_as_unsupported),
      cmocka_unit_test(test_apply_vcpus_above_the_live_maximum_are_refused),
      cmocka_unit_test(test_apply_resize_of_a_stopped_domain_is_refused),
      cmocka_unit_test(test_apply_scale_in_of_an_operators_vm_is_refused),
      cmocka_unit_test(test_apply_scale_out_without_template_is_refused),
      cmocka_unit_test(test_apply_scale_out_onto_an_existing_name_is_refused),
      cmocka_unit_test(test_apply_dry_run_is_skipped_without_a_call),
      cmocka_unit_test(test_apply_decision_already_met_is_skipped),
      cmocka_unit_test(test_apply_change_that_does_not_read_back_is_rolled_back),
      cmocka_unit_test(test_apply_vanished_domain_mid_lend_restores_the_other),
      cmocka_unit_test(test_apply_stopped_domain_mid_grow_gets_its_config_back),
      cmocka_unit_test(test_apply_crash_at_every_call_is_recovered_after_restart),
      cmocka_unit_test(test_apply_crash_before_commit_rolls_back),
      cmocka_unit_test(test_apply_crash_before_commit_of_a_lend_drops_its_loan),
      cmocka_unit_test(test_apply_crash_before_commit_of_a_repay_restores_its_loan),
      cmocka_unit_test(test_apply_crash_after_undefine_completes_the_scale_in),
      cmocka_unit_test(test_apply_failed_rollback_is_finished_by_recovery),
      cmocka_unit_test(test_apply_open_transaction_blocks_new_decisions),
      cmocka_unit_test(test_apply_compacts_the_journal_once_all_is_closed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
