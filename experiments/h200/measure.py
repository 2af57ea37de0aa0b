#!/usr/bin/env python3
"""Measures an NVIDIA GPU the way hwnas's reference H100 file was measured, so that a profile can be
calibrated on it (`hwnas calibrate --base generic_gpu --measurements ...`) and checked against
whole-model latencies it was not fitted to.

Per op (shapes in ops_spec.json, the same ops as the H100 reference):
  us       eager PyTorch, median of 5 timed loops of 50 back-to-back calls after 10 warm-ups (CUDA events)
  us_graph the same call captured 20 times in one CUDA graph and replayed (median of 5 timed loops
           of 10 replays after 3 warm-ups): kernel time without launch overhead
Whole models: torchvision classifiers with random weights, eval mode, channels_last, one forward
captured in a CUDA graph and replayed (median of 5 loops of 20 replays). PyTorch defaults: float32
convolutions may use TF32 (cudnn.allow_tf32), float32 matmuls do not.

Usage (on the GPU machine): python3 measure.py ops_spec.json out.json
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

DT = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}
dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True


def timed(fn, calls, loops=5, warm=10):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    res = []
    for _ in range(loops):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(calls):
            fn()
        b.record()
        b.synchronize()
        res.append(a.elapsed_time(b) * 1e3 / calls)
    return statistics.median(res)


def eager_us(fn):
    return timed(fn, 50)


def graph_us(fn, per_graph=20, replays=10):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(per_graph):
            fn()
    return timed(g.replay, replays, warm=3) / per_graph


def op_callable(o):
    dt = DT[o["dtype"]]
    kind = o["op"]
    if kind in ("conv", "pointwise", "depthwise"):
        conv = torch.nn.Conv2d(o["c_in"], o["c_out"], o["k"], o["stride"], o["k"] // 2, groups=o["groups"],
                               bias=False).to(dev, dt).to(memory_format=torch.channels_last)
        x = torch.randn(o["n"], o["c_in"], o["h"], o["w"], device=dev, dtype=dt).to(memory_format=torch.channels_last)
        return lambda: conv(x)
    if kind == "linear":
        lin = torch.nn.Linear(o["k"], o["n_out"], bias=False).to(dev, dt)
        x = torch.randn(o["m"], o["k"], device=dev, dtype=dt)
        return lambda: lin(x)
    if kind == "sdpa":
        q, k, v = (torch.randn(o["b"], o["heads"], o["seq"], o["d_head"], device=dev, dtype=dt) for _ in range(3))
        return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=o["causal"])
    if kind == "sdpa_window_mask":
        q, k, v = (torch.randn(o["b"], o["heads"], o["seq"], o["d_head"], device=dev, dtype=dt) for _ in range(3))
        i = torch.arange(o["seq"], device=dev)
        mask = (i[:, None] - i[None, :]).abs() <= o["window"] // 2
        return lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if kind == "decode_attn":
        q = torch.randn(1, o["heads"], 1, o["d_head"], device=dev, dtype=dt)
        k, v = (torch.randn(1, o["kv_heads"], o["ctx"], o["d_head"], device=dev, dtype=dt) for _ in range(2))
        gqa = o["kv_heads"] != o["heads"]
        return lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=gqa)
    if kind == "relu":
        x = torch.randn(o["numel"], device=dev, dtype=dt)
        return lambda: torch.relu(x)
    if kind == "add":
        x, y = (torch.randn(o["numel"], device=dev, dtype=dt) for _ in range(2))
        return lambda: x + y
    if kind == "batchnorm_eval":
        bn = torch.nn.BatchNorm2d(o["c"]).to(dev, dt).eval()
        x = torch.randn(o["n"], o["c"], o["h"], o["h"], device=dev, dtype=dt).to(memory_format=torch.channels_last)
        return lambda: bn(x)
    if kind == "layernorm":
        ln = torch.nn.LayerNorm(o["cols"]).to(dev, dt)
        x = torch.randn(o["rows"], o["cols"], device=dev, dtype=dt)
        return lambda: ln(x)
    if kind == "softmax":
        x = torch.randn(o["rows"], o["cols"], device=dev, dtype=dt)
        return lambda: torch.softmax(x, -1)
    raise ValueError(f"unknown op kind {kind}")


def ceilings():
    out = {}
    n = 1 << 28  # 256 Mi elements of fp32 = 1 GiB
    a = torch.empty(n, device=dev, dtype=torch.float32)
    b = torch.empty_like(a)
    us = timed(lambda: b.copy_(a), 10, warm=3)
    out["copy_bytes_per_s"] = 2 * a.numel() * 4 / (us * 1e-6)
    del a, b
    s = 8192
    for name, dt, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                           ("bf16", torch.bfloat16, False), ("fp16", torch.float16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        x = torch.randn(s, s, device=dev, dtype=dt)
        y = torch.randn(s, s, device=dev, dtype=dt)
        us = timed(lambda: x @ y, 5, warm=3)
        out[f"matmul_{name}_flops"] = 2 * s ** 3 / (us * 1e-6)
    torch.backends.cuda.matmul.allow_tf32 = False
    t = torch.zeros(16, device=dev)
    out["tiny_kernel_us"] = eager_us(lambda: t.add_(1))
    return out


MODELS = [("resnet18", 224), ("resnet50", 224), ("mobilenet_v2", 224), ("mobilenet_v3_small", 224),
          ("mobilenet_v3_large", 224), ("efficientnet_b0", 224), ("efficientnet_b1", 240),
          ("efficientnet_b2", 260), ("efficientnet_b3", 300), ("vit_b_16", 224)]


def models():
    lat = {}
    for name, res in MODELS:
        lat[name] = {}
        for dname in ("float16", "float32"):
            dt = DT[dname]
            m = getattr(torchvision.models, name)(weights=None).to(dev, dt).eval().to(memory_format=torch.channels_last)
            for batch in (1, 64):
                x = torch.randn(batch, 3, res, res, device=dev, dtype=dt).to(memory_format=torch.channels_last)
                with torch.inference_mode():
                    us = graph_us(lambda: m(x), per_graph=1, replays=20)
                lat[name][f"{dname}_b{batch}"] = round(us, 1)
                print(f"  {name} {dname} b{batch}: {us:.1f} us", flush=True)
            del m
    return lat


def main():
    spec = json.load(open(sys.argv[1]))["ops"]
    t0 = time.time()
    props = torch.cuda.get_device_properties(0)
    result = {
        "source": f"PyTorch {torch.__version__} on one {props.name}, measured {time.strftime('%Y-%m-%d')} by experiments/h200/measure.py",
        "method": __doc__.strip(),
        "meta": {"torch": torch.__version__, "device": props.name, "sms": props.multi_processor_count,
                 "mem_bytes": props.total_memory, "cudnn": torch.backends.cudnn.version()},
    }
    result["ceilings"] = ceilings()
    print("ceilings", json.dumps(result["ceilings"]), flush=True)
    ops = []
    with torch.inference_mode():
        for o in spec:
            fn = op_callable(o)
            r = dict(o)
            r["us"] = eager_us(fn)
            r["us_graph"] = graph_us(fn)
            ops.append(r)
    result["ops"] = ops
    print(f"{len(ops)} ops in {time.time() - t0:.0f} s", flush=True)
    result["models"] = {"note": "Whole-model latency, torchvision models with random weights in eval mode, channels_last, "
                                "CUDA-graph replay (microseconds per forward).", "latency_us_graph": models()}
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, indent=1)
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
