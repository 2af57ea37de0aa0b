#!/bin/bash
# Compound scaling of EfficientNet-B0 with the published coefficients and with the grid search,
# against the zoo's torchvision B1-B3. Run from the repository root after building:
#   bash experiments/compound_scaling/run.sh > experiments/compound_scaling/output.txt
set -euo pipefail
hwnas=${HWNAS:-build/hwnas}
echo "== published alpha 1.2, beta 1.1, gamma 1.15"
$hwnas scale efficientnet_b0 --profile h100 --alpha 1.2 --beta 1.1 --gamma 1.15 --phi 0..4 --latency-budget-ms 1.5
for m in efficientnet_b1 efficientnet_b2 efficientnet_b3; do
  echo
  echo "== zoo $m (torchvision's own width/depth/resolution), costed as phi 0"
  $hwnas scale $m --profile h100 --alpha 1 --beta 1 --gamma 1 --phi 0
done
for c in latency params; do
  echo
  echo "== grid search at phi 1, criterion $c"
  $hwnas scale efficientnet_b0 --profile h100 --criterion $c --phi 0..4
done
