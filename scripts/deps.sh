#!/usr/bin/env bash
# Installs the Debian packages hwnas builds with, when any is missing (idempotent).
set -euo pipefail
pkgs=(build-essential cmake libboost-graph-dev libboost-program-options-dev nlohmann-json3-dev
      libtbb-dev catch2 libopenblas-dev libonnx-dev libprotobuf-dev protobuf-compiler dataset-fashion-mnist zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "hwnas: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
