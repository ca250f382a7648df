#!/usr/bin/python3
"""Allocation quality table and verdicts for `make bench` (bench/alloc-bench.sh).

    alloc_report.py ALLOC_SCORES.csv TARGETS.csv [POLICY]

ALLOC_SCORES.csv is alloc_eval.py's aggregate (one row per policy and resource, VM
mean columns); POLICY (default foresight) is ours. Prints, per resource, tau_u (share
of under-provisioned slots), rel_slack, alloc_ratio (mean allocation / mean demand) and
resizes per VM-day of every policy, then one verdict line per `alloc` row of
TARGETS.csv:

    alloc,RESOURCE,METRIC,BOUND     BOUND: a number | F*POLICY | F*best(P1|P2|...)

(best = the smallest value among the policies). Exits 0 when every target is met.
"""
import re
import sys

import pandas as pd

ORDER = ["static_prov", "static_p95", "hpa", "vpa", "snaive_p95", "oracle"]
COLS = [("tau_u", "tau_U"), ("rel_slack", "slack"), ("alloc_ratio", "alloc/demand"),
        ("resizes_per_vm_day", "resizes/VM-day")]


def bound_of(text, scores):
    """(value, description) of a BOUND against one resource's scores."""
    m = re.fullmatch(r"([0-9.]+)\*best\(([a-z_0-9|]+)\)", text)
    if m:
        f, names = float(m.group(1)), m.group(2).split("|")
        vals = {n: scores[n] for n in names}
        best = min(vals, key=vals.get)
        return f * vals[best], f"{f:g} x best of {'/'.join(names)} ({best} {vals[best]:.4g})"
    m = re.fullmatch(r"([0-9.]+)\*([a-z_0-9]+)", text)
    if m:
        f, name = float(m.group(1)), m.group(2)
        return f * scores[name], f"{f:g} x {name} ({scores[name]:.4g})"
    return float(text), text


def main():
    scores_path, targets_path = sys.argv[1], sys.argv[2]
    ours = sys.argv[3] if len(sys.argv) > 3 else "foresight"
    s = pd.read_csv(scores_path)
    if s[s.policy == ours].empty:
        sys.exit(f"alloc_report: no policy {ours} in {scores_path}")
    policies = [p for p in ORDER if p in set(s.policy)] + [ours]
    for res in ("cpu", "cpu_quota", "mem"):
        g = s[s.resource == res].set_index("policy")
        if g.empty:
            continue
        print(f"{res} (VM mean over {int(g.loc[ours, 'vms'])} VMs)")
        print(f"  {'policy':<12}" + "".join(f"{h:>16}" for _, h in COLS))
        for p in policies:
            if p in g.index:
                print(f"  {p:<12}" + "".join(f"{g.loc[p, c]:>16.4f}" for c, _ in COLS))
    met = total = 0
    print("verdicts (targets.csv, rows 'alloc'):")
    for line in open(targets_path):
        f = line.strip().split(",")
        if len(f) != 4 or f[0] != "alloc":
            continue
        res, metric, bound = f[1], f[2], f[3]
        g = s[s.resource == res].set_index("policy")[metric]
        value, why = bound_of(bound, g)
        ok = g[ours] <= value + 1e-12
        met += ok
        total += 1
        print(f"  {res:<10} {metric:<19} {g[ours]:>9.4f} <= {value:<9.4f} "
              f"[{why}]  {'ok' if ok else 'MISSED'}")
    print(f"allocation targets met: {met} of {total}")
    return 0 if met == total else 1


if __name__ == "__main__":
    sys.exit(main())
