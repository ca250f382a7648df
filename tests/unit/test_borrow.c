/* test_borrow.c -- loans: when they are made, their limits, repayment and recall.
 * Fixture: set "web", cpu Capacity 16 (full: 8 + 8), BorrowMax 0.5, BorrowDuration
 * 1800. web1 (the lender) needs little; web2 (the borrower) needs 13. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>

#include "tests/unit/act_fixture.h"

static int setup(void **state) {
  fx *f = fx_new();
  f->set.capacity[ACT_CPU] = 16;
  f->set.res[ACT_CPU].lend_share = 0.5;
  f->set.cooldown_s = 3600; /* no shrinks in the way */
  fx_update_set(f);
  fx_row(f, "web1", 8, 1, 2.0);   /* keeps 3 */
  fx_row(f, "web2", 8, 6, 10.0);  /* wants 13 */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_free(*state);
  return 0;
}

static const act_decision *lend_of(fx *f) {
  const act_decision *d = act_plan_find(&f->plan, ACT_LEND, "web2");
  assert_non_null(d);
  return d;
}

/* With nothing free, the borrower gets the lender's spare, as one loan. */
static void test_borrow_lends_spare_allocation_when_the_set_is_full(void **state) {
  fx *f = *state;
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = lend_of(f);
  assert_string_equal(d->vm, "web2");
  assert_string_equal(d->peer, "web1");
  assert_float_equal(d->from, 8, 1e-9);
  assert_float_equal(d->to, 12, 1e-9);
  assert_float_equal(d->peer_from, 8, 1e-9);
  assert_float_equal(d->peer_to, 4, 1e-9);
  assert_int_equal(d->loan.id, act_ledger_next_id(f->led));
  assert_float_equal(d->loan.amount, 4, 1e-9);
  assert_int_equal(d->loan.expiry_ts, f->now + 1800);
  assert_non_null(strstr(d->reason, "rule=borrow"));
  assert_non_null(strstr(d->reason, "lender=web1"));
}

/* A loan never exceeds BorrowMax of the lender's allocation, whatever the borrower asks. */
static void test_borrow_caps_a_loan_at_borrow_max(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].lend_share = 0.25;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(lend_of(f)->loan.amount, 0.25 * 8, 1e-9);
  assert_int_equal(f->plan.n_shortfalls, 1); /* 13 wanted, 10 given */
  assert_float_equal(f->plan.shortfalls[0].granted, 10, 1e-9);
}

static void test_borrow_caps_a_loan_at_the_lenders_amount(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].lend_amount = 1;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(lend_of(f)->loan.amount, 1, 1e-9);
}

static void test_borrow_caps_a_loan_at_the_borrowers_amount(void **state) {
  fx *f = *state;
  act_vm_policy vm;
  act_vm_policy_init(&vm, "web2");
  vm.res[ACT_CPU].borrow_amount = 3;
  assert_int_equal(act_policy_add_vm(f->pol, "web", &vm, &f->err), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(lend_of(f)->loan.amount, 3, 1e-9);
}

/* The lender keeps what its own upper bound needs. */
static void test_borrow_leaves_the_lender_its_need(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].lend_share = 1;
  assert_int_equal(fx_update_set(f), 0);
  fx_set_hi(f, "web1", 4.0); /* keeps 5 */
  assert_int_equal(fx_plan(f), 0);
  assert_float_equal(lend_of(f)->peer_to, 5, 1e-9);
}

static void test_borrow_lends_nothing_with_borrow_max_zero(void **state) {
  fx *f = *state;
  f->set.res[ACT_CPU].lend_share = 0;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_null(act_plan_find(&f->plan, ACT_LEND, "web2"));
  assert_int_equal(f->plan.n_shortfalls, 1);
}

static void test_borrow_lends_nothing_from_a_held_vm(void **state) {
  fx *f = *state;
  act_manual m = {.vm = "web1", .resource = ACT_CPU, .action = ACT_MANUAL_HOLD,
                  .duration_s = 600};
  assert_int_equal(act_planner_manual(f->pl, &m, f->now, &f->err), 0);
  assert_int_equal(fx_plan(f), 0);
  assert_null(act_plan_find(&f->plan, ACT_LEND, "web2"));
}

static void test_borrow_lends_nothing_from_a_vm_without_forecast(void **state) {
  fx *f = *state;
  f->rows[0].n_points = 0;
  assert_int_equal(fx_plan(f), 0);
  assert_null(act_plan_find(&f->plan, ACT_LEND, "web2"));
}

/* The lower priority lends first. */
static void test_borrow_takes_from_the_lowest_priority_first(void **state) {
  fx *f = *state;
  f->set.capacity[ACT_CPU] = 24;
  assert_int_equal(fx_update_set(f), 0);
  assert_int_equal(fx_vm(f, "web1", 5, 1, 64, 0), 0);
  assert_int_equal(fx_vm(f, "web3", 1, 1, 64, 0), 0);
  fx_row(f, "web3", 8, 1, 2.0);
  assert_int_equal(fx_plan(f), 0);
  assert_string_equal(lend_of(f)->peer, "web3");
}

/* Lending moves allocation: the set's total stays within capacity. */
static void test_borrow_keeps_the_set_within_capacity(void **state) {
  fx *f = *state;
  assert_int_equal(fx_plan(f), 0);
  fx_apply(f);
  assert_float_equal(fx_alloc(f, "web1") + fx_alloc(f, "web2"), 16, 1e-9);
  assert_int_equal(act_ledger_count(f->led), 1);
}

static void test_borrow_repays_at_expiry(void **state) {
  fx *f = *state;
  assert_int_equal(fx_plan(f), 0);
  fx_apply(f);
  f->now += 1800;
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_REPAY, "web2");
  assert_non_null(d);
  assert_string_equal(d->rule, "expiry");
  assert_float_equal(d->to, 8, 1e-9);
  assert_float_equal(d->peer_to, 8, 1e-9);
  assert_null(act_plan_find(&f->plan, ACT_LEND, "web2")); /* web1 just got it back */
}

/* When the lender's forecast rises, its loan comes back at once. */
static void test_borrow_recalls_when_the_lenders_forecast_rises(void **state) {
  fx *f = *state;
  assert_int_equal(fx_plan(f), 0);
  fx_apply(f);
  f->now += 300;
  fx_set_hi(f, "web1", 5.0); /* keeps 7 > 4 */
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_REPAY, "web1");
  assert_non_null(d);
  assert_string_equal(d->rule, "recall");
  assert_non_null(strstr(d->reason, "lender_hi=5@600s"));
  fx_apply(f);
  assert_int_equal(act_ledger_count(f->led), 0);
  assert_float_equal(fx_alloc(f, "web1"), 8, 1e-9);
}

static void test_borrow_returns_a_loan_the_borrower_no_longer_needs(void **state) {
  fx *f = *state;
  assert_int_equal(fx_plan(f), 0);
  fx_apply(f);
  f->now += 300;
  fx_set_hi(f, "web2", 4.0); /* keeps 5 <= 12 - 4 */
  f->rows[1].usage = 3;
  assert_int_equal(fx_plan(f), 0);
  const act_decision *d = act_plan_find(&f->plan, ACT_REPAY, "web2");
  assert_non_null(d);
  assert_string_equal(d->rule, "returned");
}

/* A loan outlives a restart: the reloaded ledger repays it at expiry. */
static void test_borrow_loan_survives_a_restart_and_is_repaid(void **state) {
  fx *f = *state;
  char dir[] = "/tmp/act_borrow_XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/loans", dir);
  act_ledger_destroy(f->led);
  f->led = act_ledger_create(path, &f->err);
  assert_int_equal(fx_plan(f), 0);
  fx_apply(f);
  act_ledger_destroy(f->led); /* restart: new planner, ledger from the file */
  act_planner_destroy(f->pl);
  f->led = act_ledger_create(path, &f->err);
  f->pl = act_planner_create(&f->err);
  assert_int_equal(act_ledger_count(f->led), 1);
  f->now += 1800;
  assert_int_equal(fx_plan(f), 0);
  assert_non_null(act_plan_find(&f->plan, ACT_REPAY, "web2"));
  fx_apply(f);
  assert_int_equal(act_ledger_count(f->led), 0);
  unlink(path);
  rmdir(dir);
}

/* Property: over many random cycles, applying every plan never exceeds capacity, keeps
 * every VM in [min, max], and every lender's loans within BorrowMax of its own. */
static void test_borrow_random_cycles_keep_every_invariant(void **state) {
  fx *f = *state;
  f->set.capacity[ACT_CPU] = 40;
  f->set.cooldown_s = 600;
  assert_int_equal(fx_update_set(f), 0);
  f->n = 0;
  const char *names[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(fx_vm(f, names[i], i % 3, 1, 16, 0.01 * i), 0);
    fx_row(f, names[i], 8, 2, 4.0);
  }
  srand(3);
  for (int cycle = 0; cycle < 2000; cycle++) {
    for (size_t i = 0; i < f->n; i++) {
      double hi = (rand() % 1600) / 100.0;
      fx_set_hi(f, names[i], hi);
      f->rows[i].usage = fmin(f->rows[i].alloc, hi * (rand() % 100) / 100.0);
    }
    assert_int_equal(fx_plan(f), 0);
    fx_apply(f);
    double sum = 0;
    for (size_t i = 0; i < f->n; i++) {
      double a = f->rows[i].alloc;
      sum += a;
      assert_true(a >= 1 - 1e-9 && a <= 16 + 1e-9);
      double lent = act_ledger_lent(f->led, names[i], ACT_CPU);
      assert_true(lent <= 0.5 * (a + lent) + 1e-9);
      assert_true(lent == 0 || act_ledger_borrowed(f->led, names[i], ACT_CPU) == 0);
    }
    assert_true(sum <= 40 + 1e-9);
    f->now += 300;
  }
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_borrow_lends_spare_allocation_when_the_set_is_full),
      T(test_borrow_caps_a_loan_at_borrow_max),
      T(test_borrow_caps_a_loan_at_the_lenders_amount),
      T(test_borrow_caps_a_loan_at_the_borrowers_amount),
      T(test_borrow_leaves_the_lender_its_need),
      T(test_borrow_lends_nothing_with_borrow_max_zero),
      T(test_borrow_lends_nothing_from_a_held_vm),
      T(test_borrow_lends_nothing_from_a_vm_without_forecast),
      T(test_borrow_takes_from_the_lowest_priority_first),
      T(test_borrow_keeps_the_set_within_capacity),
      T(test_borrow_repays_at_expiry),
      T(test_borrow_recalls_when_the_lenders_forecast_rises),
      T(test_borrow_returns_a_loan_the_borrower_no_longer_needs),
      T(test_borrow_loan_survives_a_restart_and_is_repaid),
      T(test_borrow_random_cycles_keep_every_invariant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
