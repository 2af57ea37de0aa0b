#!/usr/bin/python3
"""Exports torchvision classification models (weights=None, eval mode) with torch.onnx.export
at its default settings and counts their parameters and MACs in PyTorch.

Writes models/<name>.onnx (not committed) and pytorch_counts.json. MACs are counted at the ATen
level with a dispatch mode, so every convolution and matrix product is seen, attention's QK^T
and AV included: convolution = output elements x (in_channels / groups) x kernel area;
mm/addmm/bmm/baddbmm = M x N x K (x batch).
Run: /usr/bin/python3 experiments/onnx_check/export_models.py [names...]
"""
import json
import os
import sys

import torch
import torchvision
from torch.utils._python_dispatch import TorchDispatchMode

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = [
    "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "mobilenet_v2", "mobilenet_v3_small",
    "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b3", "efficientnet_v2_s", "mnasnet0_5",
    "mnasnet1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1",
    "regnet_x_400mf", "regnet_y_400mf", "regnet_y_1_6gf", "convnext_tiny", "swin_t", "vit_b_16",
    "vit_b_32", "alexnet", "vgg11_bn", "googlenet", "densenet121", "inception_v3",
]
RESOLUTION = {"inception_v3": 299}

aten = torch.ops.aten
FUSED = (aten._native_multi_head_attention,)


class MacCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.macs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        pkt = func.overloadpacket
        if pkt is aten.convolution:
            w = args[1]
            self.macs += out.numel() * w.shape[1] * w[0, 0].numel()
        elif pkt in (aten.mm, aten.bmm):
            self.macs += out.numel() * args[0].shape[-1]
        elif pkt in (aten.addmm, aten.baddbmm):
            self.macs += out.numel() * args[1].shape[-1]
        elif pkt in FUSED:
            raise RuntimeError(f"fused {pkt} reached the counter: its MACs would be missed")
        return out


def count(model, x):
    # grad enabled: nn.MultiheadAttention then takes the decomposed path (no fused fast path)
    with torch.enable_grad(), MacCounter() as c:
        model(x)
    return c.macs


def main():
    names = sys.argv[1:] or MODELS
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    out_path = os.path.join(HERE, "pytorch_counts.json")
    counts = json.load(open(out_path)) if os.path.exists(out_path) else {}
    torch.manual_seed(0)
    for name in names:
        kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
        model = torchvision.models.get_model(name, weights=None, **kw).eval()
        r = RESOLUTION.get(name, 224)
        x = torch.randn(1, 3, r, r)
        params = sum(p.numel() for p in model.parameters())
        macs = count(model, x)
        path = os.path.join(HERE, "models", name + ".onnx")
        # default settings; not under no_grad, where nn.MultiheadAttention takes a fused path
        # that opset 14 cannot express
        torch.onnx.export(model, x, path)
        counts[name] = {"resolution": r, "params": params, "macs": macs}
        print(name, counts[name], flush=True)
        json.dump(dict(sorted(counts.items())), open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
