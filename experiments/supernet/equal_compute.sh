#!/bin/sh
# (b) continued: the train-every-candidate search given about the CPU time of the one-shot route
# (supernet training + one-shot search, user time from train_output.txt and search_output.txt),
# compared with the same retrained one-shot members (runs/retrained.txt from search.sh);
# sandwich.sh compares the sandwich-rule supernet's with it.
# `equal_compute.sh N P`: N trained candidates, population P (N from the user time per trained
# candidate of search.sh). Output: equal_compute_output.txt, runs/trained_equal.
set -e
cd "$(dirname "$0")/../.."
hwnas=${HWNAS:-build/hwnas}  # HWNAS: run another binary (a frozen copy)
N=$1
P=$2
rm -rf experiments/supernet/runs/trained_equal
{
  uptime
  echo "\$ hwnas search ... --evaluator train --budget $N --population $P"
  /usr/bin/time -f "wall %e s, user %U s" $hwnas search search_spaces/fmnist_space.json \
    --evaluator train --epochs 1 --train-subset 10000 --test-subset 500 --profile raspberry_pi_4 \
    --objective accuracy:max --objective latency:min --budget $N --population $P --seed 1 \
    --threads 2 --reference none --quiet --out experiments/supernet/runs/trained_equal
  uptime
  /usr/bin/python3 experiments/supernet/compare.py compare experiments/supernet/runs/oneshot/front.json \
    experiments/supernet/runs/retrained.txt experiments/supernet/runs/trained_equal/front.json
} > experiments/supernet/equal_compute_output.txt 2>&1
