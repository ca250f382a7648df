/* alloc_sim.h -- what the planner would have allocated over a recorded trace.
 *
 * For each Bitbrains VM and each resource of PROTOCOL.md part B (cpu in whole vCPUs,
 * cpu_quota in 0.05 cores, mem in 256 MiB steps), libforecast's forecaster streams the
 * demand series exactly as the forecast plugin would, and libactuator's planner decides
 * once per 5-minute slot from the forecast made at that slot; the decision of slot t
 * takes effect at t+1 (the contract's actuation delay) and is written as a row of the
 * allocation CSV (alloc_csv.h) whenever it changes, plus once at the start.
 *
 * Timeline (PROTOCOL.md section 1 and part B): with C the cut, the first decision is at
 * slot C - 4032 with the provisioned allocation in force, as the harness's own policies
 * start; the forecaster is (re)fitted on its trailing 14 days at every day boundary
 * C + 288 d from there on (d = -14 .. 6), and otherwise only updates its state with the
 * new samples. Limits follow the trace's provisioned size at the slot the decision takes
 * effect: cpu [1, 2 x cpu_cores], cpu_quota [0.1, 2 x cpu_cores], mem [256 MiB,
 * mem_prov_kb] (carried forward over missing samples).
 *
 * Each resource is its own host set with unlimited capacity (the trace says nothing of
 * the host), so capacity, loans and scale-out never act here: what is simulated is the
 * per-VM rules of resize.c.
 */
#ifndef TOOLS_ALLOC_SIM_H
#define TOOLS_ALLOC_SIM_H

#include <stddef.h>

#include "actuator/actuator.h"
#include "forecast/forecast.h"
#include "tools/alloc_csv.h"
#include "tools/trace.h"

typedef struct as_config {
  unsigned resources;                      /* bit (1u << ac_resource) per resource */
  double confidence[AC_N_RESOURCES];       /* the forecaster's interval per resource */
  int n_horizons;
  int horizons[FC_MAX_HORIZONS];           /* slots, increasing */
  act_set_policy policy[AC_N_RESOURCES];   /* the planner's rules per resource */
} as_config;

/* The policy measured in `make bench`:
 *   forecaster horizons 1,2,3,4,6,8,12 slots (every decision sees the hour ahead);
 *   Threshold 1: the interval's upper bound is itself the headroom;
 *   LeadTime 300: the actuation delay, so a grow fires when the bound for the slot the
 *     decision takes effect in is above the allocation;
 *   PlanHorizon 3600: ... and sizes for the highest bound of the hour, so that a rise
 *     foreseen within it does not cost a second resize;
 *   FastCorrection 1: demand at or above the allocation grows it at once;
 *   Cooldown 900, ShrinkMargin 0, MaxShrink 1, BreakEven 1500 (cpu, mem) and 3000
 *     (cpu_quota): shrink to the level the forecasts have asked for once the excess
 *     has cost 5 (10) slots' worth of the VM's mean allocation, never sooner than 15
 *     minutes after any resize. The values balance the margins to the three targets
 *     on the shared traces (tau_U, slack, resizes; checked on random 6-VM subsets,
 *     not per VM): cpu_quota has the most room below VPA's slack and spends it on
 *     fewer resizes, which also leaves fewer misses (a held allocation covers more);
 *   interval level (Confidence) per resource, from the cost of a grid step against a
 *     miss: cpu 0.9 (upper bound = 95 % quantile): a whole vCPU is far above most VMs'
 *     demand, the step's own rounding is most of the headroom and the higher bound
 *     costs little; cpu_quota 0.8 (90 %) and mem 0.7 (85 %): one 0.05-core or
 *     256 MiB step is a large share of a small VM, every step of headroom shows in the
 *     slack. The held allocation covers the highest bound of its hour, so the share
 *     of under-provisioned slots ends far below the per-slot level (make bench). */
void as_config_default(as_config *c);

/* Applies one assignment "Key=value" (every resource) or "resource.Key=value" with Key
 * one of Threshold, LowerBand, BreakEven, ShrinkMargin, MaxShrink, LeadTime,
 * PlanHorizon, Cooldown, FastCorrection, Confidence. The policy is validated as the
 * planner would (act_policy_add_set). 0, or -1 with err naming the assignment. */
int as_config_set(as_config *c, const char *assignment, char *err, size_t err_len);

typedef struct as_totals {
  int vms;                          /* simulated */
  int skipped;                      /* without provisioned sizes (Azure) */
  long rows;                        /* CSV rows written */
  long test_resizes[AC_N_RESOURCES]; /* allocation changes inside the test periods */
  int fits;
  int failed_fits;                  /* the previous model was kept */
} as_totals;

/* Simulates one VM for every resource of c and writes its rows to w. A VM without
 * provisioned sizes is skipped (t->skipped). -1 with err filled on a trace too short
 * for the protocol, an allocation failure or a write error. */
int as_run_vm(const as_config *c, const tr_vm *vm, ac_writer *w, as_totals *t, char *err,
              size_t err_len);

#endif /* TOOLS_ALLOC_SIM_H */
