#!/usr/bin/env python3
"""Converts HW-NAS-Bench's NAS-Bench-201 latencies (latency_sample.json: index -> code, and
per-device latency in ms) into hwnas measurement files, one per device:
  [{"arch": "nasbench201:<code>", "latency_ms": ..., "batch": 1, "dtype": "fp32"}, ...]
and the whole-model CUDA-graph latencies of h100_ops.json ("models") into h100_models.json.
Usage: make_measurements.py <latency_sample.json> <h100_ops.json> <out dir>"""
import json
import sys

sample, h100, out = sys.argv[1:4]
d = json.load(open(sample))
for device, name in (("raspi4", "raspberry_pi_4"), ("pixel3", "pixel3")):
    rows = [{"arch": "nasbench201:" + d["archs"][idx], "latency_ms": ms, "batch": 1, "dtype": "fp32"}
            for idx, ms in sorted(d["latency_ms"][device].items(), key=lambda kv: int(kv[0]))]
    with open(f"{out}/{name}_nasbench201.json", "w") as f:
        json.dump({"source": f"HW-NAS-Bench (Li et al., ICLR 2021) {device} latency, 160-architecture sample",
                   "measurements": rows}, f, indent=1)
h = json.load(open(h100))
rows = []
for model, runs in h["models"]["latency_us_graph"].items():
    for key, us in runs.items():
        dt, b = key.split("_b")
        rows.append({"arch": model, "latency_us": us, "batch": int(b), "dtype": {"float16": "fp16", "float32": "fp32"}[dt]})
with open(f"{out}/h100_models.json", "w") as f:
    json.dump({"source": "h100_ops.json models.latency_us_graph (torchvision, channels_last, CUDA-graph replay)",
               "measurements": rows}, f, indent=1)
