#!/bin/sh
# (a) Train the supernet of search_spaces/fmnist_space.json on the first 20,000 Fashion-MNIST
# training images: 10 epochs, single-path one-shot (a uniform random member each step), SGD lr
# 0.05 momentum 0.9 cosine, batch 128, 2 threads. Output: train_output.txt; checkpoint in
# runs/super/supernet.ckpt (not committed: rebuild it with this script).
# `train.sh sandwich E`: the same with --sandwich (largest, smallest and a random member each
# step) for E epochs -> train_sandwich_output.txt, runs/super_sandwich.
set -e
cd "$(dirname "$0")/../.."
hwnas=${HWNAS:-build/hwnas}  # HWNAS: run another binary (a frozen copy)
dir=super out=train_output.txt flag= epochs=10
if [ "$1" = sandwich ]; then dir=super_sandwich out=train_sandwich_output.txt flag=--sandwich epochs=$2; fi
rm -rf experiments/supernet/runs/$dir
{ uptime; /usr/bin/time -v $hwnas supernet train search_spaces/fmnist_space.json --dataset fashion-mnist \
    --epochs $epochs --subset 20000 --batch 128 --lr 0.05 --seed 0 --threads 2 --test-subset 2000 $flag \
    --out experiments/supernet/runs/$dir 2>&1 | grep -v "step [0-9]*/" ; uptime; } > experiments/supernet/$out 2>&1
