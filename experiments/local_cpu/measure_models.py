#!/usr/bin/env python3
"""Whole-model inference latencies of a few small nets on this machine, measured by the
hwnas executor itself (`hwnas train --epochs 0`: eval-mode forwards, median latency at
batch 1 and at the batch), written as whole-model measurement files for
`hwnas calibrate --check`. The latencies are never fitted to. OUT gets the Fashion-MNIST-sized
nets the executor is built for (the zoo's fmnist nets and four fmnist_space-style members in
nets/); OUT_WIDE gets ImageNet zoo nets run at 32x32 (wide 512-1280-channel layers at 1x1-4x4).
Usage: python3 experiments/local_cpu/measure_models.py build/hwnas OUT.json OUT_WIDE.json"""
import json
import os
import subprocess
import sys

hwnas, out, out_wide = sys.argv[1], sys.argv[2], sys.argv[3]
BATCH = 128
NETS = "experiments/local_cpu/nets/"
SMALL = [("fmnist_a", 0), ("fmnist_b", 0), ("fmnist_mobilevit", 0)] + [
    (NETS + n + ".json", 0) for n in ("space_conv", "space_dws", "space_ir", "space_mixed")]
WIDE = [("mobilenet_v2", 32), ("mobilenet_v3_small", 32), ("resnet18", 32)]


def measure(nets, path):
    rows = []
    for name, res in nets:
        cmd = [hwnas, "train", name, "--epochs", "0", "--test-subset", "256", "--batch", str(BATCH), "--threads", "2",
               "--format", "json"] + (["--resolution", str(res)] if res else [])
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        short = os.path.basename(name).removesuffix(".json")
        for batch, key in ((1, "latency_batch1_s"), (BATCH, "latency_batch_s")):
            e = {"arch": name, "batch": batch, "latency_ms": round(r[key] * 1e3, 4)}
            if res:
                e["resolution"] = res
            e["label"] = f"{short}{'@' + str(res) if res else ''} b{batch}"
            rows.append(e)
            print(f"  {e['label']:28s} {e['latency_ms']:10.3f} ms", flush=True)
    with open(path + ".tmp", "w") as f:
        json.dump({"source": "hwnas train --epochs 0 (executor eval-mode forward, median latency), "
                             "experiments/local_cpu/measure_models.py", "measurements": rows}, f, indent=1)
    os.replace(path + ".tmp", path)


measure(SMALL, out)
measure(WIDE, out_wide)
