#!/usr/bin/python3
"""hwnas NSGA-II against Optuna's NSGAIISampler on ZDT1, ZDT2 and ZDT3, side by side in one run.

30 variables in [0, 1], population 50, 5000 evaluations, seeds 1..5 (argument 2 overrides the
count). Hypervolume of the non-dominated set of all evaluations against (1.1, 1.1), computed
here by one function for both tools (hwnas's own figure is printed beside it as a check), and
evaluations per second: Optuna's study.optimize wall time; hwnas's search time as it prints it
(single thread, writing its run directory), and its whole process wall time.

Usage: /usr/bin/python3 experiments/zdt_optuna/zdt_optuna.py [build/hwnas] [seeds]
"""
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import optuna

N, POP, EVALS, REF = 30, 50, 5000, (1.1, 1.1)


def zdt(which, x):
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    r = f1 / g
    if which == 1:
        h = 1 - math.sqrt(r)
    elif which == 2:
        h = 1 - r * r
    else:
        h = 1 - math.sqrt(r) - r * math.sin(10 * math.pi * f1)
    return f1, g * h


def hypervolume(points, ref=REF):
    """Area dominated by the points (minimised) up to ref, by a sweep over f1."""
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    area, best_f2 = 0.0, ref[1]
    for i, (f1, f2) in enumerate(pts):
        if f2 >= best_f2:
            continue
        nxt = ref[0]
        # the strip from this point to the next point that improves f2
        for f1b, f2b in pts[i + 1:]:
            if f2b < f2:
                nxt = f1b
                break
        area += (nxt - f1) * (ref[1] - f2)
        best_f2 = f2
    return area


def true_front_hv(which, steps=20000):
    """The analytic front (g = 1) sampled densely, for scale."""
    pts = [zdt(which, [i / steps] + [0.0] * (N - 1)) for i in range(steps + 1)]
    front, best = [], float("inf")
    for p in sorted(pts):
        if p[1] < best:
            front.append(p)
            best = p[1]
    return hypervolume(front)


def run_optuna(which, seed):
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        return zdt(which, [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(N)])

    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(population_size=POP, seed=seed))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=EVALS)
    dt = time.perf_counter() - t0
    return hypervolume([tuple(t.values) for t in study.trials]), EVALS / dt


def run_hwnas(hwnas, which, seed, tmp):
    out = os.path.join(tmp, f"zdt{which}_s{seed}")
    cmd = [hwnas, "search", f"zdt{which}", "--budget", str(EVALS), "--population", str(POP), "--seed", str(seed),
           "--hv-reference", "1.1,1.1", "--threads", "1", "-q", "--out", out]
    t0 = time.perf_counter()
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    m = re.search(r"(\d+) candidates .* in ([0-9.]+) s", text)
    n, secs = int(m.group(1)), float(m.group(2))
    own_hv = float(re.search(r"hypervolume ([0-9.e+-]+)", text).group(1))
    pts = []
    with open(os.path.join(out, "candidates.jsonl")) as f:
        for line in f:
            c = json.loads(line)
            pts.append((c["metrics"]["f1"], c["metrics"]["f2"]))
    assert len(pts) == EVALS == n, (len(pts), n)
    return hypervolume(pts), own_hv, n / secs, n / wall


def main():
    hwnas = sys.argv[1] if len(sys.argv) > 1 else "build/hwnas"
    seeds = list(range(1, 1 + (int(sys.argv[2]) if len(sys.argv) > 2 else 5)))
    print(f"# ZDT1-3, {N} variables, population {POP}, {EVALS} evaluations, seeds {seeds}; "
          f"hypervolume against {REF}; optuna {optuna.__version__}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    tmp = tempfile.mkdtemp(prefix="hwnas_zdt_")
    summary = []
    try:
        for which in (1, 2, 3):
            print(f"\nZDT{which} (analytic front: hypervolume {true_front_hv(which):.4f})")
            print(f"  {'seed':>4}  {'hwnas hv':>9} {'(own)':>9} {'optuna hv':>9}  {'hwnas eval/s':>12} "
                  f"{'(process)':>10} {'optuna eval/s':>13}")
            rows = []
            for seed in seeds:
                hv_h, own, rate_h, rate_hp = run_hwnas(hwnas, which, seed, tmp)
                hv_o, rate_o = run_optuna(which, seed)
                rows.append((hv_h, hv_o, rate_h, rate_hp, rate_o))
                print(f"  {seed:>4}  {hv_h:9.4f} {own:9.4f} {hv_o:9.4f}  {rate_h:12.0f} {rate_hp:10.0f} {rate_o:13.1f}",
                      flush=True)
            med = [statistics.median(r[k] for r in rows) for k in range(5)]
            mean_h, mean_o = statistics.mean(r[0] for r in rows), statistics.mean(r[1] for r in rows)
            wins = sum(r[0] >= r[1] for r in rows)
            print(f"  mean hv: hwnas {mean_h:.4f}, optuna {mean_o:.4f}; hwnas >= optuna in {wins}/{len(rows)} seeds; "
                  f"median eval/s: hwnas {med[2]:.0f} ({med[3]:.0f} whole process), optuna {med[4]:.1f} "
                  f"-> {med[2] / med[4]:.0f}x ({med[3] / med[4]:.0f}x)")
            summary.append((which, mean_h, mean_o, med[2] / med[4], med[3] / med[4]))
    finally:
        shutil.rmtree(tmp)
    print("\nsummary: problem, mean hv hwnas, mean hv optuna, eval/s ratio (search time), (whole process)")
    for which, h, o, r, rp in summary:
        print(f"  ZDT{which}: {h:.4f} {o:.4f} {r:.0f}x {rp:.0f}x  {'hv goal met' if h >= o else 'hv goal NOT met'}, "
              f"{'speed goal met' if r >= 100 else 'speed goal NOT met'}")


if __name__ == "__main__":
    main()
