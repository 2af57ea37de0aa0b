#!/usr/bin/env bash
# Installs dependencies, builds hwnas and runs the main job on a built-in default:
# the layer-by-layer cost of MobileNetV2 on the H100 profile; then a short hardware-constrained
# search (cost-only NSGA-II over the MobileNetV2 space on the Raspberry Pi 4 profile, with
# latency and peak-memory constraints) and where its report is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo
echo "\$ build/hwnas cost mobilenet_v2 --profile h100 --batch 64 --dtype fp16"
build/hwnas cost mobilenet_v2 --profile h100 --batch 64 --dtype fp16

# a fresh run directory each time (hwnas search never overwrites one)
out="runs/pi4-$(date -u +%Y%m%d-%H%M%S)"
echo
echo "\$ build/hwnas search search_spaces/mobilenet_v2_space.json --profile raspberry_pi_4 \\"
echo "    --objective macs:max --objective latency:min --constraint \"latency_ms<=600\" \\"
echo "    --constraint \"peak_memory_mb<=8\" --strategy nsga2 --budget 3000 --seed 1 --out $out"
build/hwnas search search_spaces/mobilenet_v2_space.json --profile raspberry_pi_4 \
    --objective macs:max --objective latency:min --constraint "latency_ms<=600" \
    --constraint "peak_memory_mb<=8" --strategy nsga2 --budget 3000 --seed 1 --out "$out"
echo
echo "Search report: $out/report.html (also $out/front.svg, front.json, front.csv, candidates.jsonl)"
