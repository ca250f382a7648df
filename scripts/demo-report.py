#!/usr/bin/python3
"""demo-report.py -- the end of scripts/demo.sh: what foresight allocated during the
demo, beside what a reactive autoscaler would have allocated on the same replay.

    demo-report.py --out OUT --epoch S --speed N --vm NAME=TRACE.csv [--vm ...]

Reads what collectd's csv plugin wrote under OUT/csv during the demo:
  <vm>/foresight_replay/fs_usage-{cpu,mem}-<date>     the replayed usage (trace time)
  <vm>/foresight_virt/fs_alloc-{vcpus,mem}-<date>     the domain's allocation, read
                                                      through libvirt (wall time)
  <vm>/foresight_forecast-*/fs_forecast-h*-<date>     the forecasts (trace time)
and the policy (limits, capacities, priorities) in OUT/collectd.conf. Writes
  OUT/rrd/<vm>/foresight_replay/fs_alloc-{vcpus,mem}.rrd  the allocation on the trace's
      clock, beside the usage, where foresight-graph looks for it;
  OUT/summary.txt   the table below;  OUT/report.env   figures for the script.

Two clocks. The replay stamps each trace step with its trace time (moved by whole weeks
to now) and sends it at wall time epoch + (trace time - window start) / speed
(plugins/fsp_replay.h); libvirt's allocation is read on the wall clock. A step's
foresight allocation is the one the domain had when the step was replayed.

Scores (../shared/PROTOCOL.md, B.1), per VM and resource, over the steps after the VM's
first forecast (before it the forecaster warms up, and only usage close to the
allocation makes the actuator act):
  under-provisioned time  share of steps with usage > allocation   (tau_u)
  relative slack          sum max(0, alloc - usage) / sum alloc     (rel_slack)
The reactive baseline is PROTOCOL.md B.2's "hpa" (Kubernetes HorizontalPodAutoscaler
rules on vCPUs and 256 MiB steps: target 0.8, tolerance 0.1, scale-down window of the
previous step, a decision takes effect one step later), simulated over the same usage
from the start of the replay, from the domain's starting allocation, within the same
limits as foresight's policy (the demo's Limit lines, not the trace's sizes) and the
same host-set capacity (grows granted by priority, as the planner grants them). With
an unbounded capacity it gives the yardstick's alloc_eval.py p_hpa allocations.
Standard library only.
"""
import argparse
import bisect
import csv
import glob
import math
import os
import re
import subprocess
import sys

WEEK = 604800
STEP = 300
MEM_STEP_KIB = 262144          # 256 MiB
HPA_TARGET, HPA_TOL = 0.8, 0.1
EPS = 1e-9
RESOURCES = (("cpu", "cpu", "vcpus", "vCPUs"), ("mem", "memory", "mem", "KiB"))


def fail(msg):
    print("demo-report: " + msg, file=sys.stderr)
    sys.exit(1)


def read_csv_series(pattern):
    """{time: first value} over the csv plugin's daily files matching pattern."""
    out = {}
    for path in sorted(glob.glob(pattern)):
        with open(path, newline="") as f:
            rows = csv.reader(f)
            next(rows, None)  # header: epoch,value...
            for r in rows:
                if len(r) >= 2:
                    try:
                        out[float(r[0])] = float(r[1])
                    except ValueError:
                        pass
    return out


def first_trace_ts(path):
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        for r in rows:
            return int(float(r["timestamp"]))
    fail(f"{path}: no rows")


def actuator_policy(conf_path):
    """The host sets of the foresight_actuator block: {set: {"capacity": {res: value},
    "vms": {vm: {"priority": p, "limits": {res: (lo, hi)}}}}}, resources "cpu"
    (vCPUs) and "memory" (MiB) as in the config."""
    sets, inside, cur_set, cur_vm = {}, False, None, None
    with open(conf_path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if re.match(r"<Plugin\s+\"?foresight_actuator\"?>", line):
                inside = True
            elif inside and line == "</Plugin>":
                inside = False
            elif not inside:
                continue
            elif m := re.match(r'<HostSet\s+"([^"]+)">', line):
                cur_set = sets.setdefault(m.group(1), {"capacity": {}, "vms": {}})
            elif line == "</HostSet>":
                cur_set = None
            elif (m := re.match(r'<VM\s+"([^"]+)">', line)) and cur_set is not None:
                cur_vm = cur_set["vms"].setdefault(m.group(1), {"priority": 0, "limits": {}})
            elif line == "</VM>":
                cur_vm = None
            elif (m := re.match(r"Capacity\s+(cpu|memory)\s+([0-9.]+)$", line)) and cur_set:
                cur_set["capacity"][m.group(1)] = float(m.group(2))
            elif (m := re.match(r"Limit\s+(cpu|memory)\s+([0-9.]+)\s+([0-9.]+)$", line)) \
                    and cur_vm is not None:
                cur_vm["limits"][m.group(1)] = (float(m.group(2)), float(m.group(3)))
            elif (m := re.match(r"Priority\s+(-?[0-9]+)$", line)) and cur_vm is not None:
                cur_vm["priority"] = int(m.group(1))
    return sets


def replay_start_days(conf_path):
    with open(conf_path) as f:
        for line in f:
            m = re.match(r"\s*Start\s+([0-9.]+)", line)
            if m:
                return float(m.group(1))
    return 0.0


class Resource:
    """One resource of a VM as PROTOCOL.md B allocates it, within the demo's limits:
    whole vCPUs, or multiples of 256 MiB in KiB."""

    def __init__(self, metric, lo, hi):
        self.metric, self.lo, self.hi = metric, lo, hi
        self.step = 1.0 if metric == "cpu" else float(MEM_STEP_KIB)

    def up(self, x):
        """Smallest allowed allocation >= x."""
        return float(min(self.hi, max(self.lo, math.ceil(x / self.step - EPS) * self.step)))

    def down(self, x):
        """Largest whole number of steps <= x (a grow cut short by the set's capacity)."""
        return math.floor(x / self.step + EPS) * self.step


def hpa_wish(d, cur, recs, t, res):
    """PROTOCOL.md B.2 "hpa" for one VM at decision step t: the allocation it asks for
    step t+1, from usage d (None: missing, no decision) and the allocation cur."""
    if d is None:
        return cur
    ratio = (d / cur) / HPA_TARGET
    desired = cur if abs(ratio - 1.0) <= HPA_TOL else res.up(d / HPA_TARGET)
    recs[t] = desired
    up = desired                                              # scale-up window 0 s
    down = max([desired] + ([recs[t - 1]] if t - 1 in recs else []))  # 300 s window
    return up if cur < up else down if cur > down else cur


def hpa_set(vms, capacity, n):
    """The reactive baseline of a host set over n grid steps. vms: {name: {"demand":
    [value or None] * n, "start": allocation, "res": Resource, "priority": p}}. Each
    VM asks what hpa_wish says; shrinks are granted, then grows by priority (then
    name) within the set's capacity (None: unbounded), as the actuator's planner
    grants them. Returns {name: [allocation] * n}."""
    alloc = {v: [None] * n for v in vms}
    recs = {v: {} for v in vms}
    for v, x in vms.items():
        alloc[v][0] = x["start"]
    order = sorted(vms, key=lambda v: (-vms[v]["priority"], v))
    for t in range(n - 1):
        wish = {v: hpa_wish(x["demand"][t], alloc[v][t], recs[v], t, x["res"])
                for v, x in vms.items()}
        used = sum(min(wish[v], alloc[v][t]) for v in vms)
        free = math.inf if capacity is None else capacity - used
        for v in order:
            cur, want = alloc[v][t], wish[v]
            if want > cur:
                if want - cur > free:  # cut short to whole steps that fit
                    want = cur + max(0.0, vms[v]["res"].down(free))
                free -= want - cur
            alloc[v][t + 1] = want
    return alloc


def scores(d, a):
    """PROTOCOL.md B.1 figures over paired demand and allocation lists."""
    n = len(d)
    under = sum(1 for x, y in zip(d, a) if x > y + EPS)
    over = sum(max(0.0, y - x) for x, y in zip(d, a))
    resizes = sum(1 for i in range(1, n) if abs(a[i] - a[i - 1]) > EPS)
    return dict(n=n, n_under=under, tau=under / n if n else math.nan, sum_over=over,
                sum_a=sum(a), slack=over / sum(a) if sum(a) > 0 else math.nan,
                mean_a=sum(a) / n if n else math.nan, resizes=resizes)


def write_alloc_rrd(path, times, values):
    """An RRD file like the rrdtool plugin's (DS value, 300 s step) on the trace clock."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.remove(path)
    rows = max(len(times) + 12, 300)
    cmd = ["rrdtool", "create", path, "--start", str(int(times[0]) - 1), "--step", str(STEP),
           f"DS:value:GAUGE:{2 * STEP}:U:U", f"RRA:AVERAGE:0.5:1:{rows}",
           f"RRA:MIN:0.5:1:{rows}", f"RRA:MAX:0.5:1:{rows}"]
    subprocess.run(cmd, check=True)
    upd = [f"{int(t)}:{v:.6g}" for t, v in zip(times, values)]
    for i in range(0, len(upd), 400):
        subprocess.run(["rrdtool", "update", path, "--"] + upd[i:i + 400], check=True)


def pct(x):
    return "    -" if x != x else f"{100 * x:5.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epoch", type=float, required=True)
    ap.add_argument("--speed", type=float, required=True)
    ap.add_argument("--vm", action="append", required=True, metavar="NAME=TRACE.csv")
    o = ap.parse_args()
    conf = os.path.join(o.out, "collectd.conf")
    sets = actuator_policy(conf)
    set_of = {vm: name for name, st in sets.items() for vm in st["vms"]}
    start_days = replay_start_days(conf)

    # what the demo saw, per VM and metric: usage by trace time, foresight's allocation
    # when each step was replayed, and the domain's allocation at the start
    seen = {}
    for spec in o.vm:
        vm, _, trace = spec.partition("=")
        if vm not in set_of:
            fail(f"VM {vm} is in no HostSet of the foresight_actuator block of {conf}")
        window_start = first_trace_ts(trace) + start_days * 86400
        shift = math.floor((o.epoch - window_start) / WEEK + 0.5) * WEEK  # fsp_replay.h
        base = os.path.join(o.out, "csv", vm)
        fc_times = []
        for p in glob.glob(os.path.join(base, "foresight_forecast-*", "fs_forecast-h*-*")):
            fc_times += list(read_csv_series(p).keys())
        for metric, res, alloc_name, _ in RESOURCES:
            usage = read_csv_series(os.path.join(base, "foresight_replay", f"fs_usage-{metric}-*"))
            alloc = sorted(read_csv_series(
                os.path.join(base, "foresight_virt", f"fs_alloc-{alloc_name}-*")).items())
            if not usage or not alloc:
                fail(f"no {'usage' if not usage else 'allocation'} of {vm} {metric} under {base}")
            wall_t = [t for t, _ in alloc]
            fs_alloc = {}
            for s in usage:
                i = bisect.bisect_right(wall_t, o.epoch + (s - shift - window_start) / o.speed) - 1
                if i >= 0:
                    fs_alloc[s] = alloc[i][1]
            seen[(vm, metric)] = dict(usage=usage, fs_alloc=fs_alloc, start=alloc[0][1],
                                      first_fc=min(fc_times, default=math.inf), alloc_name=alloc_name, res=res)

    # foresight's allocation on the trace's clock, for foresight-graph
    for (vm, metric), x in seen.items():
        known = sorted(x["fs_alloc"])
        write_alloc_rrd(os.path.join(o.out, "rrd", vm, "foresight_replay",
                                     f"fs_alloc-{x['alloc_name']}.rrd"),
                        known, [x["fs_alloc"][s] for s in known])

    # the reactive baseline, per host set and resource, on one 5-minute grid
    g0 = min(min(x["usage"]) for x in seen.values())
    g1 = max(max(x["usage"]) for x in seen.values())
    n = int(round((g1 - g0) / STEP)) + 1

    def k_of(s):
        return int(round((s - g0) / STEP))

    reactive = {}
    for set_name, st in sets.items():
        for metric, res, _, _ in RESOURCES:
            vms = {}
            for vm, pol in st["vms"].items():
                if (vm, metric) not in seen:
                    continue
                x = seen[(vm, metric)]
                lo, hi = pol["limits"].get(res, (0.0, math.inf))
                scale = 1024.0 if res == "memory" else 1.0  # MiB -> KiB
                demand = [None] * n
                for s, v in x["usage"].items():
                    demand[k_of(s)] = v
                vms[vm] = dict(demand=demand, start=x["start"], priority=pol["priority"],
                               res=Resource(metric, lo * scale, hi * scale))
            cap = st["capacity"].get(res)
            if cap is not None and res == "memory":
                cap *= 1024.0
            for vm, a in hpa_set(vms, cap, n).items():
                reactive[(vm, metric)] = a

    # scores over each VM's steps after its first forecast
    table, totals, env = [], {}, {}
    for spec in o.vm:
        vm = spec.partition("=")[0]
        for metric, _, _, _ in RESOURCES:
            x = seen[(vm, metric)]
            scored = sorted(s for s in x["fs_alloc"] if s >= x["first_fc"])
            if not scored:  # stopped before this VM's first forecast: nothing to score
                table.append((vm, metric, None, None))
                continue
            d = [x["usage"][s] for s in scored]
            f_s = scores(d, [x["fs_alloc"][s] for s in scored])
            h_s = scores(d, [reactive[(vm, metric)][k_of(s)] for s in scored])
            table.append((vm, metric, f_s, h_s))
            for who, sc in (("f", f_s), ("h", h_s)):
                t = totals.setdefault((metric, who), dict(n=0, n_under=0, sum_over=0.0, sum_a=0.0))
                for key in t:
                    t[key] += sc[key]
            for who, sc in (("foresight", f_s), ("reactive", h_s)):
                env[f"{vm}_{metric}_tau_{who}"] = sc["tau"]
                env[f"{vm}_{metric}_slack_{who}"] = sc["slack"]
    warmup = min(x["first_fc"] for x in seen.values()) - g0
    if not totals:
        warmup = g1 - g0

    hours = (g1 - g0) / 3600
    lines = [
        "foresight demo summary",
        f"replay: {len(o.vm)} VMs, {hours:.1f} trace hours ({n} steps of 5 min) at "
        f"{o.speed:g}x; scored: each VM's steps after its first forecast "
        f"({warmup / 3600:.1f} h of warm-up)",
        "foresight: the allocation the actuator gave each domain, read back from libvirt",
        "reactive:  an HPA-like autoscaler (PROTOCOL.md B.2: target 0.8, tolerance 0.1) "
        "on the same usage, limits, capacity and start",
        "under-provisioned time = share of steps with usage > allocation; "
        "relative slack = sum(alloc - usage, where positive) / sum(alloc)",
        "",
        "                  under-provisioned     relative slack        resizes",
        "VM     res steps  foresight reactive    foresight reactive  foresight reactive",
    ]
    for vm, metric, f_s, h_s in table:
        if f_s is None:
            lines.append(f"{vm:<6} {metric:<3}     -  no forecast yet: stopped during the "
                         "forecaster's warm-up")
            continue
        lines.append(f"{vm:<6} {metric:<3} {f_s['n']:5d}  {pct(f_s['tau'])} %  {pct(h_s['tau'])} %"
                     f"    {pct(f_s['slack'])} %  {pct(h_s['slack'])} %"
                     f"   {f_s['resizes']:6d} {h_s['resizes']:7d}")
    for metric in ("cpu", "mem"):
        if (metric, "f") not in totals:
            continue
        f, h = totals[(metric, "f")], totals[(metric, "h")]
        ft, ht = f["n_under"] / f["n"], h["n_under"] / h["n"]
        fsl, hsl = f["sum_over"] / f["sum_a"], h["sum_over"] / h["sum_a"]
        lines.append(f"{'all':<6} {metric:<3} {f['n']:5d}  {pct(ft)} %  {pct(ht)} %"
                     f"    {pct(fsl)} %  {pct(hsl)} %")
        env[f"all_{metric}_tau_foresight"], env[f"all_{metric}_tau_reactive"] = ft, ht
        env[f"all_{metric}_slack_foresight"], env[f"all_{metric}_slack_reactive"] = fsl, hsl
    with open(os.path.join(o.out, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    env["first_usage_ts"] = int(g0)
    env["last_usage_ts"] = int(g1)
    with open(os.path.join(o.out, "report.env"), "w") as f:
        for k, v in env.items():
            f.write(f"{k} {v:.6g}\n" if isinstance(v, float) else f"{k} {v}\n")


if __name__ == "__main__":
    main()
