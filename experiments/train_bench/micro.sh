#!/usr/bin/env bash
# One-conv nets cut from reference net A (micro/stem.json: conv3x3 1->32 on 28x28;
# micro/dw.json: depthwise 3x3/2 on 64 x 14x14;
# micro/conv2.json: conv3x3/2 32->64 on 28x28; each +BN+ReLU, global pool, linear), timed at
# batch 128 on one thread: microseconds per image (median forward, `hwnas train --epochs 0`),
# REPEATS times for each binary given, interleaved.
#   bash experiments/train_bench/micro.sh build/hwnas /tmp/old/hwnas
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repeats=${REPEATS:-3}
for r in $(seq "$repeats"); do
  for net in stem conv2 dw fmnist_a; do
    model=$net
    [ -f "$here/micro/$net.json" ] && model=$here/micro/$net.json
    for bin in "$@"; do
      us=$("$bin" train "$model" --epochs 0 --test-subset 128 --batch 128 --threads 1 --format json 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["latency_batch_s"] * 1e6 / 128, 1))')
      echo "$net $bin $us us/image"
    done
  done
done
