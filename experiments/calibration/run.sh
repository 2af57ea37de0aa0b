#!/usr/bin/env bash
# Calibrates raspberry_pi_4 and pixel3 on HW-NAS-Bench's NAS-Bench-201 latencies with 10-fold
# cross-validation, installs the fitted profiles, and does the same from the generic template.
# Usage (from the repository root, after building): bash experiments/calibration/run.sh > experiments/calibration/output.txt
set -euo pipefail
hwnas=${HWNAS:-build/hwnas}
dir=experiments/calibration
ref=${REF:-../shared/reference}
if [ -f "$ref/nasbench201/latency_sample.json" ]; then
  /usr/bin/python3 $dir/make_measurements.py "$ref/nasbench201/latency_sample.json" "$ref/h100_ops.json" $dir/data
fi
for dev in raspberry_pi_4 pixel3; do
  echo "== $dev: start $dir/start/$dev.json"
  $hwnas calibrate $dir/start/$dev.json -m $dir/data/${dev}_nasbench201.json --folds 10 --seed 1 \
    --out hardware_profiles/$dev.json --report $dir/runs/$dev
  echo "== $dev from the template: --base generic_mobile_cpu"
  $hwnas calibrate --base generic_mobile_cpu --name ${dev}_from_template -m $dir/data/${dev}_nasbench201.json \
    --folds 10 --seed 1 --report $dir/runs/${dev}_from_template
done
