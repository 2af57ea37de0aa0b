#!/usr/bin/env bash
# Installs dependencies, builds hwnas and runs the main job on a built-in default:
# the layer-by-layer cost of MobileNetV2 on the H100 profile.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo
echo "\$ build/hwnas cost mobilenet_v2 --profile h100 --batch 64 --dtype fp16"
build/hwnas cost mobilenet_v2 --profile h100 --batch 64 --dtype fp16
