/* ledger.c -- the loan ledger of one host set.
 *
 * A loan moves `amount` of one resource from a lender VM to a borrower until `expiry`.
 * The planner reads it before lending or repaying; the applier tells it after a change
 * was applied (act_ledger_lend, act_ledger_repay). Every change is persisted before the
 * call returns (ledger_file.c), so after a crash or restart every loan the applier was
 * told about is still known and gets repaid.
 * Invariants:
 *   - ids are unique and below next_id; next_id only grows, also across restarts, so a
 *     decision that names a loan id never meets a different loan of the same id;
 *   - a failed call leaves memory and file as they were.
 * Not here: whether to lend (planner: borrow.c); the file format (ledger_file.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "act_internal.h"

act_ledger *act_ledger_create(const char *path, act_error *err) {
  act_ledger *l = calloc(1, sizeof(*l));
  if (l == NULL)
    goto fail_alloc;
  l->next_id = 1;
  if (path != NULL && (l->path = strdup(path)) == NULL)
    goto fail_path;
  if (path != NULL && act__ledger_load(l, err) != 0) {
    act_ledger_destroy(l);
    return NULL;
  }
  return l;
fail_path:
  free(l);
fail_alloc:
  act__fail(err, ACT_ENOMEM, "ledger %s: out of memory", path ? path : "(memory)");
  return NULL;
}

void act_ledger_destroy(act_ledger *l) {
  if (l == NULL)
    return;
  free(l->loans);
  free(l->path);
  free(l);
}

int act__loan_check(const act_loan *loan, const char *where, act_error *err) {
  if (loan->id == 0)
    return act__fail(err, ACT_EINVAL, "%s: loan id 0 (must be > 0)", where);
  if (!act__name_ok(loan->lender) || !act__name_ok(loan->borrower))
    return act__fail(err, ACT_EINVAL,
                     "%s: loan %llu: lender/borrower name (must be printable, without "
                     "spaces)", where, (unsigned long long)loan->id);
  if (strcmp(loan->lender, loan->borrower) == 0)
    return act__fail(err, ACT_EINVAL, "%s: loan %llu: lender and borrower are both %s",
                     where, (unsigned long long)loan->id, loan->lender);
  if ((unsigned)loan->resource >= ACT_RES_COUNT)
    return act__fail(err, ACT_EINVAL, "%s: loan %llu: resource %d (no such resource)",
                     where, (unsigned long long)loan->id, (int)loan->resource);
  if (!(loan->amount > 0) || !isfinite(loan->amount))
    return act__fail(err, ACT_EINVAL, "%s: loan %llu: amount %g (must be > 0)", where,
                     (unsigned long long)loan->id, loan->amount);
  if (loan->expiry_ts <= loan->start_ts)
    return act__fail(err, ACT_EINVAL,
                     "%s: loan %llu: expiry %lld (must be after start %lld)", where,
                     (unsigned long long)loan->id, (long long)loan->expiry_ts,
                     (long long)loan->start_ts);
  return 0;
}

static const char *where_of(const act_ledger *l) {
  return l->path != NULL ? l->path : "ledger";
}

int act_ledger_lend(act_ledger *l, const act_loan *loan, act_error *err) {
  int rc = act__loan_check(loan, where_of(l), err);
  if (rc != 0)
    return rc;
  if (act_ledger_find(l, loan->id) != NULL)
    return act__fail(err, ACT_EEXIST, "%s: loan %llu exists", where_of(l),
                     (unsigned long long)loan->id);
  if (act__grow((void **)&l->loans, &l->cap_loans, l->n_loans + 1, sizeof(*l->loans)) != 0)
    return act__fail(err, ACT_ENOMEM, "%s: out of memory", where_of(l));
  uint64_t old_next = l->next_id;
  l->loans[l->n_loans++] = *loan;
  if (loan->id >= l->next_id)
    l->next_id = loan->id + 1;
  if (l->path != NULL && (rc = act__ledger_save(l, err)) != 0) {
    l->n_loans--; /* not persisted: not lent */
    l->next_id = old_next;
  }
  return rc;
}

int act_ledger_repay(act_ledger *l, uint64_t id, act_error *err) {
  size_t i = 0;
  while (i < l->n_loans && l->loans[i].id != id)
    i++;
  if (i == l->n_loans)
    return act__fail(err, ACT_ENOENT, "%s: no loan %llu", where_of(l),
                     (unsigned long long)id);
  act_loan gone = l->loans[i];
  memmove(&l->loans[i], &l->loans[i + 1], (l->n_loans - i - 1) * sizeof(*l->loans));
  l->n_loans--;
  int rc = l->path != NULL ? act__ledger_save(l, err) : 0;
  if (rc != 0) { /* not persisted: put it back where it was */
    memmove(&l->loans[i + 1], &l->loans[i], (l->n_loans - i) * sizeof(*l->loans));
    l->loans[i] = gone;
    l->n_loans++;
  }
  return rc;
}

size_t act_ledger_count(const act_ledger *l) { return l->n_loans; }

const act_loan *act_ledger_at(const act_ledger *l, size_t i) {
  return i < l->n_loans ? &l->loans[i] : NULL;
}

const act_loan *act_ledger_find(const act_ledger *l, uint64_t id) {
  for (size_t i = 0; i < l->n_loans; i++)
    if (l->loans[i].id == id)
      return &l->loans[i];
  return NULL;
}

static double total(const act_ledger *l, const char *vm, act_resource r, int as_lender) {
  double sum = 0;
  for (size_t i = 0; i < l->n_loans; i++) {
    const act_loan *k = &l->loans[i];
    if (k->resource == r && strcmp(as_lender ? k->lender : k->borrower, vm) == 0)
      sum += k->amount;
  }
  return sum;
}

double act_ledger_lent(const act_ledger *l, const char *vm, act_resource r) {
  return total(l, vm, r, 1);
}

double act_ledger_borrowed(const act_ledger *l, const char *vm, act_resource r) {
  return total(l, vm, r, 0);
}

uint64_t act_ledger_next_id(const act_ledger *l) { return l->next_id; }
