#!/usr/bin/env bash
# End-to-end hardware-constrained search on search_spaces/fmnist_space.json with accuracy from the
# built-in executor (--evaluator train: 1 epoch on the first 2,000 Fashion-MNIST training images,
# tested on the first 1,000 test images), NSGA-II against random search at the same budget and
# seed, both with the same hypervolume reference point (accuracy 0.1 = chance, latency 4 ms = the
# constraint's bound). Prints both summaries, the hypervolume ratio and the report paths.
# Usage (from the repository root): bash experiments/fmnist_search/run.sh [build/hwnas]
set -euo pipefail
hwnas=${1:-build/hwnas}
out=experiments/fmnist_search/runs
rm -rf "$out"
mkdir -p "$out"
common=(search_spaces/fmnist_space.json --evaluator train --epochs 1 --train-subset 2000 --test-subset 1000
        --profile raspberry_pi_4 --objective accuracy:max --objective latency:min
        --constraint "latency_ms<=4" --constraint "peak_memory_mb<=0.25"
        --budget 60 --population 12 --seed 1 --hv-reference 0.1,4 --threads 2 -q)
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
for strategy in nsga2 random; do
  echo
  echo "\$ $hwnas search ${common[*]} --strategy $strategy --out $out/$strategy"
  start=$(date +%s)
  "$hwnas" search "${common[@]}" --strategy "$strategy" --out "$out/$strategy" | grep -v '^  [0-9]'
  echo "wall time: $(( $(date +%s) - start )) s"
done
echo
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
hv = {s: json.load(open(f"{out}/{s}/front.json"))["hypervolume"] for s in ("nsga2", "random")}
for s in hv:
    f = json.load(open(f"{out}/{s}/front.json"))
    best = max(e["metrics"]["accuracy"] for e in f["front"]) if f["front"] else float("nan")
    print(f"{s}: hypervolume {hv[s]:.5g}, front {len(f['front'])}, feasible {f['counts']['ok']}/{f['counts']['candidates']}, "
          f"best feasible accuracy {best:.4f}, report {out}/{s}/report.html")
    for r in f.get("references", []):
        print(f"  reference {r['name']}: accuracy {r['metrics']['accuracy']:.4f}, latency "
              f"{r['metrics']['latency_ms@raspberry_pi_4']:.3f} ms, feasible {r['feasible']}, dominated by the front {r['dominated_by_front']}")
print(f"hypervolume ratio nsga2 / random: {hv['nsga2'] / hv['random']:.4f}")
PY
