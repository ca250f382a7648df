#!/usr/bin/python3
"""Compares fc-score's CSVs with score_forecasts.py's (bench/check_yardstick.sh).

    compare_scores.py C_AGG.csv PY_AGG.csv C_PER_VM.csv PY_PER_VM.csv

Rows are matched on their keys (model, dataset, metric, h [, vm]); every numeric column
the two files share is compared with a relative tolerance of 1e-6 (NaN only equals NaN).
Prints one summary line and exits 0, or lists the disagreements and exits 1.
"""
import sys

import numpy as np
import pandas as pd

RTOL = 1e-6
KEYS = ["model", "dataset", "metric", "h"]


def compare(c_path, py_path, keys):
    c = pd.read_csv(c_path, dtype={"model": str, "dataset": str, "vm": str})
    p = pd.read_csv(py_path, dtype={"model": str, "dataset": str, "vm": str})
    for d in (c, p):
        d["h"] = d["h"].astype(int)
    m = c.merge(p, on=keys, how="outer", suffixes=("_c", "_py"), indicator=True)
    bad = []
    lone = m[m["_merge"] != "both"]
    for _, r in lone.iterrows():
        bad.append(f"{c_path if r['_merge'] == 'left_only' else py_path}: only here: "
                   + " ".join(f"{k}={r[k]}" for k in keys))
    m = m[m["_merge"] == "both"]
    cols = [x for x in c.columns if x in p.columns and x not in keys
            and pd.api.types.is_numeric_dtype(c[x]) and pd.api.types.is_numeric_dtype(p[x])]
    n, worst = 0, 0.0
    for col in cols:
        a = m[col + "_c"].to_numpy(dtype=float)
        b = m[col + "_py"].to_numpy(dtype=float)
        both_nan = np.isnan(a) & np.isnan(b)
        scale = np.maximum(np.abs(a), np.abs(b))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(both_nan | (a == b), 0.0, np.abs(a - b) / scale)
        rel = np.where(np.isnan(rel), np.inf, rel)   # NaN on one side only
        n += len(a)
        worst = max(worst, float(rel.max()) if len(rel) else 0.0)
        for i in np.flatnonzero(rel > RTOL):
            r = m.iloc[i]
            bad.append(" ".join(f"{k}={r[k]}" for k in keys)
                       + f" {col}: fc-score {a[i]!r} yardstick {b[i]!r}")
    return n, worst, bad


def main():
    c_agg, py_agg, c_pv, py_pv = sys.argv[1:5]
    n1, w1, bad1 = compare(c_agg, py_agg, KEYS)
    n2, w2, bad2 = compare(c_pv, py_pv, KEYS + ["vm"])
    bad = bad1 + bad2
    if bad:
        print("fc-score DISAGREES with the yardstick:")
        print("\n".join(bad[:200]))
        if len(bad) > 200:
            print(f"... and {len(bad) - 200} more")
        sys.exit(1)
    print(f"fc-score agrees with the yardstick: {n1 + n2} values compared, "
          f"max rel diff {max(w1, w2):.3g}")


if __name__ == "__main__":
    main()
