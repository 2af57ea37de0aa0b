#!/bin/sh
# (a) Rank correlation: 24 members of fmnist_space.json at evenly spaced MACs quantiles, each
# evaluated with inherited weights (runs/super from train.sh) and trained stand-alone (first
# 10,000 training images, 1 epoch, batch 128, SGD lr 0.05 cosine, seed 0); test on the first
# 2,000 test images. Output: validate_output.txt. `validate.sh sandwich`: the same members over
# runs/super_sandwich -> validate_sandwich_output.txt. `validate.sh full`: the same members
# trained stand-alone on all 60,000 training images (the recipe of full_recipe.sh) ->
# validate_full_output.txt.
set -e
cd "$(dirname "$0")/../.."
validate=${VALIDATE:-build/experiments/supernet_validate}  # VALIDATE: run another binary
dir=super out=validate_output.txt images=10000
if [ "$1" = sandwich ]; then dir=super_sandwich out=validate_sandwich_output.txt; fi
if [ "$1" = full ]; then out=validate_full_output.txt images=60000; fi
{ uptime; $validate search_spaces/fmnist_space.json experiments/supernet/runs/$dir 24 $images 1 2000 0; uptime; } \
  > experiments/supernet/$out 2>&1
