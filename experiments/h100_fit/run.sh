#!/usr/bin/env bash
# Fits h100's efficiencies and per-class overheads to the per-op CUDA-graph times in
# h100_ops.json (its ceilings are the measured ones), scores a 5-fold cross-validation of
# the per-op fit, and checks the fitted profile on the whole-model latencies it never saw.
# Usage (from the repository root, after building): bash experiments/h100_fit/run.sh > experiments/h100_fit/output.txt
set -euo pipefail
hwnas=${HWNAS:-build/hwnas}
ref=${REF:-../shared/reference}
$hwnas calibrate experiments/h100_fit/h100_start.json -m $ref/h100_ops.json --folds 5 --seed 1 \
  --check experiments/calibration/data/h100_models.json --out hardware_profiles/h100.json --report experiments/h100_fit/runs
