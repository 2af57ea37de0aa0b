#!/bin/sh
# (a) Train the supernet of search_spaces/fmnist_space.json on the first 20,000 Fashion-MNIST
# training images: 10 epochs, single-path one-shot (a uniform random member each step), SGD lr
# 0.05 momentum 0.9 cosine, batch 128, 2 threads. Output: train_output.txt; checkpoint in
# runs/super/supernet.ckpt (not committed: rebuild it with this script).
set -e
cd "$(dirname "$0")/../.."
rm -rf experiments/supernet/runs/super
{ uptime; /usr/bin/time -v build/hwnas supernet train search_spaces/fmnist_space.json --dataset fashion-mnist \
    --epochs 10 --subset 20000 --batch 128 --lr 0.05 --seed 0 --threads 2 --test-subset 2000 \
    --out experiments/supernet/runs/super 2>&1 | grep -v "step [0-9]*/" ; uptime; } > experiments/supernet/train_output.txt 2>&1
