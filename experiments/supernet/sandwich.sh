#!/bin/sh
# The sandwich-rule supernet (runs/super_sandwich from `train.sh sandwich 3`) through the route of
# search.sh: the one-shot search (`sandwich.sh B`, default 2000 candidates), up to 8 members of
# its front retrained stand-alone, compared with the front of the 30-candidate trained search of
# search.sh and, when equal_compute.sh has run, with the compute-matched one.
# Output: sandwich_output.txt, runs/oneshot_sandwich, runs/retrained_sandwich.txt.
set -e
cd "$(dirname "$0")/../.."
hwnas=${HWNAS:-build/hwnas}  # HWNAS, VALIDATE: run other binaries (a frozen copy)
validate=${VALIDATE:-build/experiments/supernet_validate}
B=${1:-2000}
r=experiments/supernet/runs
rm -rf $r/oneshot_sandwich
{
  uptime
  echo "\$ hwnas search ... --evaluator supernet:$r/super_sandwich --budget $B"
  /usr/bin/time -f "wall %e s, user %U s" $hwnas search search_spaces/fmnist_space.json \
    --evaluator supernet:$r/super_sandwich --profile raspberry_pi_4 \
    --objective accuracy:max --objective latency:min --budget $B --population 100 --seed 1 \
    --train-subset 256 --test-subset 500 --threads 2 --reference none --quiet --out $r/oneshot_sandwich
  uptime
  echo "one-shot front (up to 8 members evenly spread over it) retrained stand-alone, the recipe of --evaluator train:"
  /usr/bin/python3 experiments/supernet/compare.py pick $r/oneshot_sandwich/front.json 8 > $r/picked_sandwich.txt
  $validate --genomes search_spaces/fmnist_space.json $r/picked_sandwich.txt 10000 1 500 1 \
    | tee $r/retrained_sandwich.txt
  /usr/bin/python3 experiments/supernet/compare.py compare $r/oneshot_sandwich/front.json \
    $r/retrained_sandwich.txt $r/trained/front.json
  if [ -f $r/trained_equal/front.json ]; then
    echo "against the compute-matched trained search of equal_compute.sh:"
    /usr/bin/python3 experiments/supernet/compare.py compare $r/oneshot_sandwich/front.json \
      $r/retrained_sandwich.txt $r/trained_equal/front.json
  fi
  uptime
} > experiments/supernet/sandwich_output.txt 2>&1
