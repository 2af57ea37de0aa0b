#!/usr/bin/env python3
"""Diagnosis: per whole model, how much measured time the profile misses, per kernel it runs.
Reads a check_errors.csv from `hwnas calibrate --report` and counts each model's kernels with
`hwnas cost --layers -f csv` (layers bound by compute, memory or overhead).
Usage: python3 experiments/h100_fit/kernel_gap.py PROFILE.json RUNS/check_errors.csv"""
import csv
import io
import subprocess
import sys

profile, errors = sys.argv[1], sys.argv[2]
print(f"{'model':28s} {'measured us':>11s} {'predicted us':>12s} {'kernels':>7s} {'missing us/kernel':>17s}")
for row in csv.DictReader(open(errors)):
    arch, b, dt = row["label"].split()
    out = subprocess.run(["build/hwnas", "cost", arch, "--profile", profile, "--dtype", dt, "--batch", b[1:],
                          "--layers", "-f", "csv"], capture_output=True, text=True, check=True).stdout
    kernels = sum(1 for r in csv.DictReader(io.StringIO(out)) if r["bound"] in ("compute", "memory", "overhead"))
    m, p = float(row["measured_ms"]) * 1e3, float(row["predicted_ms"]) * 1e3
    print(f"{row['label']:28s} {m:11.1f} {p:12.1f} {kernels:7d} {(m - p) / kernels:17.2f}")
