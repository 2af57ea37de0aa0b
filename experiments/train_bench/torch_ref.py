"""PyTorch side of the executor benchmark: reference nets A and B (and the small MobileViT
is left to hwnas), same data, normalisation, initialisation and recipe as `hwnas train`.

  /usr/bin/python3 torch_ref.py bench A --steps 30      # train / inference images per second
  /usr/bin/python3 torch_ref.py train A --epochs 3      # test accuracy per epoch
  python3 torch_ref.py train A --device cuda --data DIR  # the same recipe on a GPU, data from DIR

Prints one JSON object per run on stdout.
"""
import argparse
import gzip
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"  # Debian dataset-fashion-mnist; --data overrides


def load(prefix, limit, data=DATA):
    with gzip.open(f"{data}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{data}/{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    if limit:
        x, y = x[:limit], y[:limit]
    x = (torch.from_numpy(x.astype(np.float32)) / 255.0 - 0.2860) / 0.3530
    return x, torch.from_numpy(y.astype(np.int64))


def cbr(cin, cout, k, s, groups=1, act=nn.ReLU):
    return [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), act()]


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        mid = cin * t
        self.res = stride == 1 and cin == cout
        self.body = nn.Sequential(*cbr(cin, mid, 1, 1, act=nn.ReLU6), *cbr(mid, mid, 3, stride, mid, nn.ReLU6),
                                  nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


def net(name):
    if name == "A":
        layers = [*cbr(1, 32, 3, 1), *cbr(32, 64, 3, 2), *cbr(64, 64, 3, 2, 64), *cbr(64, 128, 1, 1)]
    else:
        layers = [*cbr(1, 16, 3, 1, act=nn.ReLU6), InvertedResidual(16, 24, 2, 6), InvertedResidual(24, 24, 1, 6),
                  InvertedResidual(24, 32, 2, 6), *cbr(32, 128, 1, 1, act=nn.ReLU6)]
    m = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
    for mod in m.modules():  # hwnas's initialisation: Kaiming normal (fan_in), zero biases
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(mod.weight, mode="fan_in", nonlinearity="relu")
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["bench", "train"])
    ap.add_argument("net", choices=["A", "B"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    m = net(a.net).to(memory_format=fmt)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    if a.mode == "bench":
        x = torch.randn(a.batch, 1, 28, 28).to(memory_format=fmt)
        y = torch.randint(0, 10, (a.batch,))
        m.train()
        for i in range(a.steps + 3):
            if i == 3:
                t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x), y).backward()
            opt.step()
        train = a.steps * a.batch / (time.perf_counter() - t0)
        m.eval()
        with torch.no_grad():
            for i in range(a.steps + 3):
                if i == 3:
                    t0 = time.perf_counter()
                m(x)
        infer = a.steps * a.batch / (time.perf_counter() - t0)
        print(json.dumps({"net": a.net, "channels_last": a.channels_last, "train_images_per_s": train,
                          "infer_images_per_s": infer}))
        return
    dev = torch.device(a.device)
    m = m.to(dev)
    xtr, ytr = (t.to(dev) for t in load("train", 0, a.data))
    xte, yte = (t.to(dev) for t in load("t10k", 0, a.data))
    steps = len(xtr) // a.batch
    total = steps * a.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    g = torch.Generator().manual_seed(a.seed)
    epochs = []
    for e in range(a.epochs):
        m.train()
        perm = torch.randperm(len(xtr), generator=g).to(dev)
        t0 = time.perf_counter()
        for s in range(steps):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(xtr[idx].to(memory_format=fmt)), ytr[idx]).backward()
            opt.step()
            sched.step()
        secs = time.perf_counter() - t0
        m.eval()
        with torch.no_grad():
            logits = torch.cat([m(xte[i:i + 500].to(memory_format=fmt)) for i in range(0, len(xte), 500)])
        epochs.append({"epoch": e + 1, "test_accuracy": (logits.argmax(1) == yte).float().mean().item(),
                       "test_loss": F.cross_entropy(logits, yte).item(), "seconds": secs})
    print(json.dumps({"net": a.net, "seed": a.seed, "device": a.device, "torch": torch.__version__, "epochs": epochs, "test_accuracy": epochs[-1]["test_accuracy"]}))


if __name__ == "__main__":
    main()
