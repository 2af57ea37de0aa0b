#!/usr/bin/env bash
# Calibrates local_cpu on this machine with the executor and checks it on whole models.
# Re-run after any executor change (its kernels set the timings), from the repository root,
# after building (cmake --build build --target hwnas_cli bench_local sgemm_peak):
#   bash experiments/local_cpu/run.sh > experiments/local_cpu/output.txt
set -euo pipefail
hwnas=${HWNAS:-build/hwnas}
d=experiments/local_cpu
echo "== ceilings now (local_cpu_start.json takes its rates from ceilings_quiet.txt, a quieter run)"
lscpu | grep -E "Model name|^CPU\(s\)|L1d|L2|L3"
build/experiments/bench_local
build/experiments/sgemm_peak
echo "== whole models: executor eval-mode latency, batch 1 and 128 (the check, never fitted)"
python3 $d/measure_models.py $hwnas $d/models.json $d/models_wide.json
echo "== per-op executor micro-benchmarks (hwnas calibrate --measure-local), fit, 5-fold CV, check"
$hwnas calibrate $d/local_cpu_start.json --measure-local $d/ops.json --folds 5 --seed 1 \
  --check $d/models.json --out hardware_profiles/local_cpu.json --report $d/runs
echo "== the fitted profile on ImageNet zoo nets at 32x32 (outside the per-op shapes' range; not fitted)"
$hwnas calibrate hardware_profiles/local_cpu.json --check $d/models_wide.json
