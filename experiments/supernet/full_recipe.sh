#!/bin/sh
# (d) The equal-compute comparison of (b) under a full stand-alone recipe: every trained
# candidate and every retrained one-shot member gets 1 epoch on all 60,000 training images
# (batch 128, SGD lr 0.05 cosine), tested on the first 2,000 test images. Needs runs/super
# (train.sh) and runs/oneshot (search.sh).
# `full_recipe.sh retrain`: the 8 members of the one-shot front picked by search.sh
#   (runs/picked.txt) retrained with this recipe -> runs/retrained_full.txt; its train_s column
#   gives the cost of one trained candidate.
# `full_recipe.sh search N P`: the train-every-candidate search given N candidates (population
#   P), N chosen so that it gets the one-shot route's user time (train_output.txt +
#   search_output.txt), then compared -> runs/trained_full.
# `full_recipe.sh compare B U`: the trained search (U s user) cut to the one-shot route's B s
#   user: compared through the front of its first K candidates, the smallest K costing >= B
#   (compare.py prefix), which is what a run with budget K and the same seed evaluates.
# Output: full_recipe_output.txt (appended to by each step).
set -e
cd "$(dirname "$0")/../.."
hwnas=${HWNAS:-build/hwnas}  # HWNAS, VALIDATE: run other binaries (a frozen copy)
validate=${VALIDATE:-build/experiments/supernet_validate}
r=experiments/supernet/runs
out=experiments/supernet/full_recipe_output.txt
case "$1" in
  retrain)
    : > $out
    {
      uptime
      echo "\$ supernet_validate --genomes ... runs/picked.txt 60000 1 2000 1"
      /usr/bin/time -f "wall %e s, user %U s" $validate --genomes search_spaces/fmnist_space.json $r/picked.txt 60000 1 2000 1 \
        | tee $r/retrained_full.txt
      uptime
    } >> $out 2>&1 ;;
  search)
    N=$2 P=$3
    rm -rf $r/trained_full
    {
      uptime
      echo "\$ hwnas search ... --evaluator train --epochs 1 --train-subset 0 --test-subset 2000 --budget $N --population $P"
      /usr/bin/time -f "wall %e s, user %U s" $hwnas search search_spaces/fmnist_space.json \
        --evaluator train --epochs 1 --train-subset 0 --test-subset 2000 --profile raspberry_pi_4 \
        --objective accuracy:max --objective latency:min --budget $N --population $P --seed 1 \
        --threads 2 --reference none --quiet --out $r/trained_full
      uptime
      /usr/bin/python3 experiments/supernet/compare.py compare $r/oneshot/front.json $r/retrained_full.txt $r/trained_full/front.json
    } >> $out 2>&1 ;;
  compare)
    {
      echo "\$ compare.py prefix runs/trained_full $3 $2"
      line=$(/usr/bin/python3 experiments/supernet/compare.py prefix $r/trained_full $3 $2)
      echo "$line"
      K=$(echo "$line" | cut -d' ' -f2)
      /usr/bin/python3 experiments/supernet/compare.py compare $r/oneshot/front.json $r/retrained_full.txt \
        $r/trained_full/front.json $K
    } >> $out 2>&1 ;;
  *) echo "usage: full_recipe.sh retrain | search N P | compare B U" >&2; exit 2 ;;
esac
