#!/bin/sh
# (b) continued: the train-every-candidate search given about the CPU time of the one-shot route
# (supernet training 324 s user + one-shot search 423 s user = 747 s; 30 trained candidates took
# 343 s user in search.sh, so 65 candidates), compared with the same retrained one-shot members
# (runs/retrained.txt from search.sh). Output: equal_compute_output.txt.
set -e
cd "$(dirname "$0")/../.."
rm -rf experiments/supernet/runs/trained65
{
  uptime
  echo "\$ hwnas search ... --evaluator train --budget 65"
  /usr/bin/time -f "wall %e s, user %U s" build/hwnas search search_spaces/fmnist_space.json \
    --evaluator train --epochs 1 --train-subset 10000 --test-subset 500 --profile raspberry_pi_4 \
    --objective accuracy:max --objective latency:min --budget 65 --population 13 --seed 1 \
    --threads 2 --quiet --out experiments/supernet/runs/trained65
  uptime
  /usr/bin/python3 experiments/supernet/compare.py compare experiments/supernet/runs/oneshot/front.json \
    experiments/supernet/runs/retrained.txt experiments/supernet/runs/trained65/front.json
} > experiments/supernet/equal_compute_output.txt 2>&1
