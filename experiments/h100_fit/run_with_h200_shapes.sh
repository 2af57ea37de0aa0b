#!/usr/bin/env bash
# Variant (not installed): h100 fitted on h100_ops.json's per-op times plus the per-op times of the
# shapes the models run but that file lacks, measured on the lent H200 (probe/h200_shapes.json,
# same GH100 SMs and clocks, more memory bandwidth), then checked on the same 16 whole models.
# Usage (from the repository root, after building):
#   bash experiments/h100_fit/run_with_h200_shapes.sh > experiments/h100_fit/output_with_h200_shapes.txt
set -euo pipefail
hwnas=${HWNAS:-build/hwnas}
ref=${REF:-../shared/reference}
d=experiments/h100_fit
/usr/bin/python3 -c "
import json, sys
a = json.load(open('$ref/h100_ops.json')); b = json.load(open('$d/probe/h200_shapes.json'))
json.dump({'source': 'h100_ops.json ops + probe/h200_shapes.json ops', 'ops': a['ops'] + b['ops']}, open('$d/runs_with_h200_shapes.ops.json', 'w'))
"
$hwnas calibrate $d/h100_start.json -m $d/runs_with_h200_shapes.ops.json --folds 5 --seed 1 \
  --check experiments/calibration/data/h100_models.json --out $d/h100_with_h200_shapes.json --report $d/runs_with_h200_shapes
