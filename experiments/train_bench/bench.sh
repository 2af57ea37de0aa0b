#!/usr/bin/env bash
# The executor against PyTorch, side by side in one run: reference nets A and B, batch 128,
# 2 threads, training and inference images/s (medians of REPEATS runs), and the fraction of
# the machine's fp32 GEMM peak each reaches. Run from the repository root after building:
#   cmake --build build --target hwnas_cli sgemm_peak && bash experiments/train_bench/bench.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hwnas=${HWNAS:-build/hwnas}
peak=${PEAK:-build/experiments/sgemm_peak}
repeats=${REPEATS:-3}
out=${OUT_DIR:-$here/results}
mkdir -p "$out"
jemalloc=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null || true)
raw="$out/bench_raw.jsonl"
: > "$raw"
echo "{\"kind\": \"machine\", \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p')\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"jemalloc\": \"${jemalloc:-not installed}\"}" >> "$raw"
for core in Haswell unset; do
  if [ "$core" = unset ]; then line=$(env -u OPENBLAS_CORETYPE "$peak"); else line=$(OPENBLAS_CORETYPE=$core "$peak"); fi
  echo "{\"kind\": \"peak\", \"coretype\": \"$core\", \"result\": $line}" >> "$raw"
done
for net in A B; do
  lower=$(echo $net | tr AB ab)
  echo "{\"kind\": \"macs\", \"net\": \"$net\", \"macs\": $("$hwnas" cost fmnist_$lower --format json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["macs"])')}" >> "$raw"
done
for r in $(seq "$repeats"); do
  for net in A B; do
    lower=$(echo $net | tr AB ab)
    h=$("$hwnas" train fmnist_$lower --epochs 1 --train-subset 1920 --test-subset 2560 --batch 128 --threads 2 --no-latency --format json 2>/dev/null | tr -d "\n")
    echo "{\"kind\": \"hwnas\", \"net\": \"$net\", \"repeat\": $r, \"result\": $h}" >> "$raw"
    for cl in "" --channels-last; do
      for pre in "" ${jemalloc:+$jemalloc}; do
        t=$(LD_PRELOAD=$pre /usr/bin/python3 "$here/torch_ref.py" bench $net --steps 15 --threads 2 $cl)
        echo "{\"kind\": \"torch\", \"net\": \"$net\", \"repeat\": $r, \"jemalloc\": \"${pre:+yes}\", \"result\": $t}" >> "$raw"
      done
    done
  done
done
/usr/bin/python3 "$here/summarise.py" "$raw" | tee "$out/bench_summary.txt"
