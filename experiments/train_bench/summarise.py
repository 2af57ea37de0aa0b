"""Summarises bench_raw.jsonl: medians per net and system, ratios, fraction of GEMM peak."""
import json
import statistics
import sys

def records(text):
    dec, at, out = json.JSONDecoder(), 0, []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return out
        obj, at = dec.raw_decode(text, at)
        out.append(obj)


rows = records(open(sys.argv[1]).read())
machine = next(r for r in rows if r["kind"] == "machine")
peaks = {r["coretype"]: r["result"] for r in rows if r["kind"] == "peak"}
macs = {r["net"]: r["macs"] for r in rows if r["kind"] == "macs"}
peak = max(v["gflops_n1024_t2"] for v in peaks.values()) * 1e9
print(f"machine: {machine['cpu']}, load at start {machine['load']}, jemalloc: {machine['jemalloc']}")
for core, v in peaks.items():
    print(f"OpenBLAS sgemm, OPENBLAS_CORETYPE={core} (kernel {v['core']}): "
          f"1024^3 {v['gflops_n1024_t1']} GFLOP/s at 1 thread, {v['gflops_n1024_t2']} at 2; "
          f"256^3 {v['gflops_n256_t1']} / {v['gflops_n256_t2']}")
print(f"peak used below: {peak / 1e9:.1f} GFLOP/s (best 2-thread 1024^3 sgemm)\n")
print("net  system                 train img/s  infer img/s  train %peak  infer %peak")
for net in ["A", "B"]:
    h = [r["result"] for r in rows if r["kind"] == "hwnas" and r["net"] == net]
    ht = statistics.median(x["train_images_per_s"] for x in h)
    hi = statistics.median(x["infer_images_per_s"] for x in h)
    # PyTorch at its best: the fastest configuration by median training speed
    configs = {}
    for r in rows:
        if r["kind"] == "torch" and r["net"] == net:
            key = ("channels_last" if r["result"]["channels_last"] else "contiguous") + ("+jemalloc" if r["jemalloc"] else "")
            configs.setdefault(key, []).append(r["result"])
    best = {k: (statistics.median(x["train_images_per_s"] for x in v), statistics.median(x["infer_images_per_s"] for x in v))
            for k, v in configs.items()}
    flops_fwd = 2 * macs[net]
    def pct(rate, mult):
        return 100 * rate * flops_fwd * mult / peak
    print(f"{net}    hwnas                  {ht:11.0f}  {hi:11.0f}  {pct(ht, 3):10.1f}%  {pct(hi, 1):10.1f}%")
    for k, (t, i) in sorted(best.items()):
        print(f"{net}    torch {k:17s} {t:11.0f}  {i:11.0f}  {pct(t, 3):10.1f}%  {pct(i, 1):10.1f}%")
    bt = max(v[0] for v in best.values())
    bi = max(v[1] for v in best.values())
    print(f"{net}    ratio hwnas / best torch: train {ht / bt:.2f}x, inference {hi / bi:.2f}x\n")
print("train %peak counts 3x the forward FLOPs per image (forward + two backward GEMMs).")
