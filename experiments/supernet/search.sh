#!/bin/sh
# (b) One-shot search over runs/super (from train.sh): NSGA-II, accuracy (inherited weights, batch
# norm recalibrated on 2 batches of 128, first 500 test images) against latency on raspberry_pi_4,
# then the same objectives with every candidate trained (1 epoch on 10,000 images, first 500 test
# images), then the one-shot front's members retrained stand-alone with that same recipe.
# `search.sh B T`: B one-shot candidates (default 5000), T trained ones (default 30).
# Output: search_output.txt, runs/oneshot, runs/trained.
set -e
cd "$(dirname "$0")/../.."
hwnas=${HWNAS:-build/hwnas}  # HWNAS, VALIDATE: run other binaries (a frozen copy)
validate=${VALIDATE:-build/experiments/supernet_validate}
B=${1:-5000}
T=${2:-30}
out=experiments/supernet/search_output.txt
rm -rf experiments/supernet/runs/oneshot experiments/supernet/runs/trained
{
  uptime
  echo "\$ hwnas search ... --evaluator supernet:experiments/supernet/runs/super --budget $B"
  /usr/bin/time -f "wall %e s, user %U s" $hwnas search search_spaces/fmnist_space.json \
    --evaluator supernet:experiments/supernet/runs/super --profile raspberry_pi_4 \
    --objective accuracy:max --objective latency:min --budget $B --population 100 --seed 1 \
    --train-subset 256 --test-subset 500 --threads 2 --reference none --quiet --out experiments/supernet/runs/oneshot
  uptime
  echo "\$ hwnas search ... --evaluator train --budget $T"
  /usr/bin/time -f "wall %e s, user %U s" $hwnas search search_spaces/fmnist_space.json \
    --evaluator train --epochs 1 --train-subset 10000 --test-subset 500 --profile raspberry_pi_4 \
    --objective accuracy:max --objective latency:min --budget $T --population 10 --seed 1 \
    --threads 2 --reference none --quiet --out experiments/supernet/runs/trained
  uptime
  echo "one-shot front (up to 8 members evenly spread over it) retrained stand-alone, the recipe of --evaluator train:"
  /usr/bin/python3 experiments/supernet/compare.py pick experiments/supernet/runs/oneshot/front.json 8 > experiments/supernet/runs/picked.txt
  $validate --genomes search_spaces/fmnist_space.json experiments/supernet/runs/picked.txt 10000 1 500 1 \
    | tee experiments/supernet/runs/retrained.txt
  /usr/bin/python3 experiments/supernet/compare.py compare experiments/supernet/runs/oneshot/front.json \
    experiments/supernet/runs/retrained.txt experiments/supernet/runs/trained/front.json
  uptime
} > $out 2>&1
