/* borrow.c -- loans between the VMs of a host set: settling old ones, making new ones.
 *
 * A loan moves `amount` from a lender's allocation to a borrower's; the set's total is
 * unchanged, so lending never breaks capacity. It lets a VM whose need exceeds what
 * the set has free use what another VM is predicted not to need, at once and for a
 * bounded time, where a shrink of the other VM would wait for its cooldown.
 *
 * Settling, before any other rule, newest loan first, a loan is repaid when
 *   expiry    now >= expiry (BorrowDuration is a hard limit; a manual hold does not
 *             extend it);
 *   recall    the lender's keep (act__keep: its need at the lead time and its usage
 *             with margin) exceeds its allocation: its forecast rose;
 *   returned  the borrower keeps enough without it.
 * Loans of a VM absent from this cycle's rows wait for it to come back. A lender that
 * got a loan back does not lend again in the same cycle, so BorrowDuration really ends
 * a loan rather than renewing it on the spot.
 *
 * Lending, for a grow that free capacity could not cover (capacity.c): lenders are the
 * VMs with a usable forecast, not held, not borrowing, not growing, not just recalled,
 * taken lowest Priority first, then most spare; each gives at most
 *   spare     alloc - keep
 *   BorrowMax * own allocation - already lent,   BorrowMaxAmount - already lent
 * and the borrower takes at most
 *   BorrowerMax * own allocation - already borrowed,   BorrowerMaxAmount - borrowed,
 * all rounded down to the grid. No chains: a lender never borrows, a borrower never
 * lends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

static int emit_repay(act__cycle *c, act__loan_ref *ref, act__vm *b, act__vm *l,
                      const char *rule) {
  double amount = ref->loan.amount;
  act_decision *d = act__push(c->out, c->pl, c->set, c->in->now, ACT_REPAY,
                              b->in->vm, c->res, b->alloc, b->alloc - amount, rule);
  if (d == NULL)
    return ACT_ENOMEM;
  snprintf(d->peer, sizeof(d->peer), "%s", l->in->vm);
  d->peer_from = l->alloc;
  d->peer_to = l->alloc + amount;
  d->loan = ref->loan;
  int rc = act__reasonf(d, " loan=%llu amount=%g lender=%s start=%lld expiry=%lld",
                        (unsigned long long)ref->loan.id, amount, l->in->vm,
                        (long long)ref->loan.start_ts, (long long)ref->loan.expiry_ts);
  if (rc == 0 && strcmp(rule, "recall") == 0)
    rc = act__reasonf(d, " lender_hi=%g@%ds threshold=%g lender_keep=%g", l->upper,
                      l->upper_h_s, l->pol.threshold, act__keep(l));
  if (rc == 0 && strcmp(rule, "returned") == 0)
    rc = act__reasonf(d, " borrower_keep=%g", act__keep(b));
  b->alloc -= amount;
  b->borrowed -= amount;
  l->alloc += amount;
  l->lent -= amount;
  l->recalled = 1; /* what came back is not lent again in the same cycle */
  ref->open = 0;
  return rc;
}

static const char *settle_rule(const act__cycle *c, const act__loan_ref *ref,
                               const act__vm *b, const act__vm *l) {
  double eps = act__eps(l->step);
  if (c->in->now >= ref->loan.expiry_ts)
    return "expiry";
  if (l->held || b->held)
    return NULL;
  double keep_l = act__keep(l), keep_b = act__keep(b);
  if (!isnan(keep_l) && keep_l > l->alloc + eps)
    return "recall";
  if (!isnan(keep_b) && keep_b <= b->alloc - ref->loan.amount + eps)
    return "returned";
  return NULL;
}

int act__settle_loans(act__cycle *c) {
  for (size_t i = c->n_loans; i-- > 0;) {
    act__loan_ref *ref = &c->loans[i];
    act__vm *b = act__cycle_vm(c, ref->loan.borrower);
    act__vm *l = act__cycle_vm(c, ref->loan.lender);
    if (!ref->open || b == NULL || l == NULL)
      continue;
    const char *rule = settle_rule(c, ref, b, l);
    int rc = rule == NULL ? 0 : emit_repay(c, ref, b, l, rule);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* What lender l can give now, before the borrower's own limits. */
static double lender_spare(const act__vm *l) {
  double spare = l->alloc - act__keep(l);
  double own = l->alloc + l->lent;
  spare = fmin(spare, l->pol.lend_share * own - l->lent);
  spare = fmin(spare, l->pol.lend_amount - l->lent);
  return spare;
}

static int may_lend(const act__vm *l, const act__vm *b) {
  return l != b && !l->held && !l->recalled && l->borrowed == 0 && !isnan(l->need) &&
         l->want <= l->alloc + act__eps(l->step) && l->pol.lend_share > 0;
}

static int lender_cmp(const void *a, const void *b) {
  const act__vm *x = *(const act__vm *const *)a, *y = *(const act__vm *const *)b;
  if (x->priority != y->priority)
    return x->priority < y->priority ? -1 : 1;
  double sx = lender_spare(x), sy = lender_spare(y);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp(x->in->vm, y->in->vm);
}

static int emit_lend(act__cycle *c, act__vm *b, act__vm *l, double amount) {
  act_decision *d = act__push(c->out, c->pl, c->set, c->in->now, ACT_LEND, b->in->vm,
                              c->res, b->alloc, b->alloc + amount, "borrow");
  if (d == NULL)
    return ACT_ENOMEM;
  snprintf(d->peer, sizeof(d->peer), "%s", l->in->vm);
  d->peer_from = l->alloc;
  d->peer_to = l->alloc - amount;
  d->loan = (act_loan){.id = c->next_loan_id++, .resource = c->res, .amount = amount,
                       .start_ts = c->in->now,
                       .expiry_ts = c->in->now + c->set->borrow_duration_s};
  snprintf(d->loan.lender, sizeof(d->loan.lender), "%s", l->in->vm);
  snprintf(d->loan.borrower, sizeof(d->loan.borrower), "%s", b->in->vm);
  int rc = act__reason_vm(d, b);
  if (rc == 0)
    rc = act__reasonf(d, " wanted=%g free=%g loan=%llu amount=%g lender=%s lender_hi=%g "
                      "lender_keep=%g borrow_max=%g borrow_duration=%ds", b->want, c->free,
                      (unsigned long long)d->loan.id, amount, l->in->vm, l->upper,
                      act__keep(l), l->pol.lend_share, c->set->borrow_duration_s);
  b->alloc += amount;
  b->borrowed += amount;
  l->alloc -= amount;
  l->lent += amount;
  return rc;
}

int act__borrow(act__cycle *c, act__vm *b, double *unmet) {
  if (c->in->ledger == NULL || b->lent > 0)
    return 0;
  act__vm **cand = calloc(c->n_vms + 1, sizeof(*cand));
  if (cand == NULL)
    return ACT_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->n_vms; i++)
    if (may_lend(&c->vms[i], b))
      cand[n++] = &c->vms[i];
  qsort(cand, n, sizeof(*cand), lender_cmp);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n && *unmet > act__eps(b->step); i++) {
    double own = b->alloc - b->borrowed;
    double room = fmin(b->pol.borrow_share * own, b->pol.borrow_amount) - b->borrowed;
    double amount = fmin(fmin(*unmet, lender_spare(cand[i])), room);
    amount = act_quantize_down(amount, b->step);
    if (!(amount > act__eps(b->step)))
      continue;
    rc = emit_lend(c, b, cand[i], amount);
    *unmet -= amount;
  }
  free(cand);
  return rc;
}
