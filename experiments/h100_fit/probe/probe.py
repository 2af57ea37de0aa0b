#!/usr/bin/env python3
"""Where does a whole model's CUDA-graph time go beyond the per-op times? Run on a Hopper GPU
(the lent H200: the same GH100 SMs and clocks as the H100, 132 SMs) with PyTorch + torchvision.

1. chain: one CUDA graph of 20 back-to-back copies of one small kernel (how the per-op
   reference times were taken) against 20 *dependent* kernels of several kinds (how a model
   runs): the difference per kernel is a per-kernel cost the per-op times cannot contain.
2. per model (resnet18, mobilenet_v2, vit_b_16; fp32 and fp16, batch 1): the CUDA-graph time,
   the sum of its kernels' durations (torch.profiler, eager), and the kernel count.
3. vit_b_16 fp32 batch 1: the top kernels by total duration (what the per-op data lacks).

Usage: python3 probe.py out.json
"""
import json
import statistics
import sys
import collections

import torch
import torch.nn.functional as F
import torchvision
from torch.profiler import ProfilerActivity, profile

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


def chain(out):
    res = {}
    for numel in (65536, 1048576):
        for dt in (torch.float32, torch.float16):
            x = torch.randn(numel, device=dev, dtype=dt)
            y = torch.randn(numel, device=dev, dtype=dt)
            key = f"{str(dt)[6:]}_{numel}"
            res[key + "_same_relu"] = graph_us(lambda: torch.relu(x))
            res[key + "_same_add"] = graph_us(lambda: x + y)
            def dep():
                z = x
                for i in range(20):
                    z = torch.relu(z) if i % 2 == 0 else z + y
                return z
            res[key + "_dependent_relu_add"] = graph_us(dep, per_graph=1) / 20
            def mixed():
                z = x
                ops = (torch.relu, lambda t: t + y, torch.sigmoid, lambda t: t * y, torch.tanh)
                for i in range(20):
                    z = ops[i % 5](z)
                return z
            res[key + "_dependent_5kinds"] = graph_us(mixed, per_graph=1) / 20
            res[key + "_same_sigmoid"] = graph_us(lambda: torch.sigmoid(x))
            res[key + "_same_tanh"] = graph_us(lambda: torch.tanh(x))
            res[key + "_same_mul"] = graph_us(lambda: x * y)
    out["chain_us_per_kernel"] = {k: round(v, 3) for k, v in res.items()}
    print(json.dumps(out["chain_us_per_kernel"], indent=1), flush=True)


def models(out):
    out["models"] = {}
    for name in ("resnet18", "mobilenet_v2", "vit_b_16"):
        for dname, dt in (("float32", torch.float32), ("float16", torch.float16)):
            m = getattr(torchvision.models, name)(weights=None).to(dev, dt).eval().to(memory_format=torch.channels_last)
            x = torch.randn(1, 3, 224, 224, device=dev, dtype=dt).to(memory_format=torch.channels_last)
            with torch.inference_mode():
                us = graph_us(lambda: m(x), per_graph=1, replays=20)
                for _ in range(5):
                    m(x)
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(5):
                        m(x)
                    torch.cuda.synchronize()
            kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
            busy = sum(e.device_time for e in kernels) / 5  # us per forward
            n = len(kernels) / 5
            r = {"graph_us": round(us, 1), "kernel_sum_us": round(busy, 1), "kernels": n,
                 "gap_us_per_kernel": round((us - busy) / n, 3)}
            if name == "vit_b_16" or (name == "resnet18"):
                agg = collections.defaultdict(lambda: [0, 0.0])
                for e in kernels:
                    agg[e.name][0] += 1
                    agg[e.name][1] += e.device_time
                top = sorted(agg.items(), key=lambda kv: -kv[1][1])[:12]
                r["top_kernels"] = [{"name": k[:110], "calls_per_forward": v[0] / 5, "us_per_forward": round(v[1] / 5, 1)}
                                    for k, v in top]
            out["models"][f"{name}_{dname}_b1"] = r
            print(name, dname, json.dumps(r, indent=1), flush=True)
            del m


def vit_parts(out):
    # the fp32 ViT layer's attention as PyTorch runs it, alone, in the per-op way
    res = {}
    for dname, dt in (("float32", torch.float32), ("float16", torch.float16)):
        q, k, v = (torch.randn(1, 12, 197, 64, device=dev, dtype=dt) for _ in range(3))
        mha = torch.nn.MultiheadAttention(768, 12, batch_first=True).to(dev, dt).eval()
        x = torch.randn(1, 197, 768, device=dev, dtype=dt)
        with torch.inference_mode():
            res[dname + "_sdpa_b1_h12_s197_d64"] = graph_us(lambda: F.scaled_dot_product_attention(q, k, v))
            res[dname + "_mha_module_1x197x768"] = graph_us(lambda: mha(x, x, x, need_weights=False))
            lin = torch.nn.Linear(768, 2304).to(dev, dt)
            res[dname + "_linear_197x768_2304"] = graph_us(lambda: lin(x))
    out["vit_parts_us"] = {k: round(v, 2) for k, v in res.items()}
    print(json.dumps(out["vit_parts_us"], indent=1), flush=True)


def main():
    props = torch.cuda.get_device_properties(0)
    out = {"source": f"PyTorch {torch.__version__} on {props.name} ({props.multi_processor_count} SMs), experiments/h100_fit/probe/probe.py"}
    chain(out)
    vit_parts(out)
    models(out)
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
