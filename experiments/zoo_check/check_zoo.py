#!/usr/bin/python3
"""Cross-checks the hwnas model zoo (models/*.json) against independent definitions.

References, each counted here in Python, never taken from hwnas:
  torchvision   the model built by torchvision; params = sum of parameter numel, MACs from
                forward hooks on Conv2d/Linear plus nn.MultiheadAttention counted by hand
                (its fused path bypasses the projection modules): 4*T*D^2 projections + 2*T^2*D
                for Q K^T and A V
  paper         MobileNetV1 built in PyTorch from Table 1 of Howard et al. 2017 (BN + ReLU after
                every conv, no conv bias), counted with the same hooks
  timm          MobileViT as timm builds it (ported from apple/ml-cvnets, same weights), hooks
                as above plus 2*N^2*C per timm Attention module (its fused attention is no module)
  transformers  decoders and Longformer built from their HF config.json values on the meta device
                (no weights); params = sum of numel; decoder MACs = tokens * (numel of every
                Linear weight) + 2 * heads * head_dim * (causal or sliding-window score pairs)
                per layer; Longformer's MACs follow hwnas' own convention and are not checked
Packages that are not importable are skipped, so the script runs both with Debian's
python3-torchvision here and on a machine with timm and transformers (--refs-only --save-refs),
whose references are merged back with --refs. See README.md.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# ---------------------------------------------------------------- counting by hooks

def count(model, x):
    """(params, macs) of one forward pass of `model` on `x`."""
    params = sum(p.numel() for p in model.parameters())
    macs = [0]
    inside_mha = set()
    for m in model.modules():
        if isinstance(m, nn.MultiheadAttention):
            inside_mha.update(id(c) for c in m.modules() if c is not m)

    def conv(m, inp, out):
        macs[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        macs[0] += out.numel() * m.in_features

    def mha(m, inp, out):
        y = out[0]  # shaped like the query (torchvision passes the inputs as keywords: no `inp`)
        b, t, d = (y.shape[0], y.shape[1], y.shape[2]) if m.batch_first else (y.shape[1], y.shape[0], y.shape[2])
        macs[0] += 4 * b * t * d * d + 2 * b * t * t * d

    def timm_attention(m, inp, out):
        b, n, c = inp[0].shape
        macs[0] += 2 * b * n * n * c

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear) and id(m) not in inside_mha:
            hooks.append(m.register_forward_hook(linear))
        elif isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(mha))
        elif type(m).__name__ == "Attention" and hasattr(m, "qkv"):
            hooks.append(m.register_forward_hook(timm_attention))
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return params, macs[0]


# ---------------------------------------------------------------- references

def torchvision_refs():
    import torchvision
    from torchvision import models as tv
    version = torchvision.__version__
    cases = [("mobilenet_v2", 224), ("mobilenet_v3_small", 224), ("mobilenet_v3_large", 224),
             ("efficientnet_b0", 224), ("efficientnet_b1", 240), ("efficientnet_b2", 260),
             ("efficientnet_b3", 300), ("resnet18", 224), ("resnet50", 224), ("vit_b_16", 224)]
    out = []
    for name, res in cases:
        torch.manual_seed(0)
        p, m = count(getattr(tv, name)(), torch.zeros(1, 3, res, res))
        out.append({"model": name, "source": f"torchvision {version}", "size": res, "params": p, "macs": m})
    return out


def mobilenet_v1_paper():
    def cbr(cin, cout, k, s, groups=1):
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    # Table 1: (output channels, depthwise stride) of the 13 separable blocks
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    layers, c = cbr(3, 32, 3, 2), 32
    for cout, s in blocks:
        layers += cbr(c, c, 3, s, groups=c) + cbr(c, cout, 1, 1)
        c = cout
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))
    p, m = count(model, torch.zeros(1, 3, 224, 224))
    return [{"model": "mobilenet_v1", "source": "paper Table 1 in PyTorch", "size": 224, "params": p, "macs": m}]


def timm_refs():
    import timm
    out = []
    for name in ("mobilevit_xxs", "mobilevit_xs", "mobilevit_s"):
        p, m = count(timm.create_model(name, pretrained=False), torch.zeros(1, 3, 256, 256))
        out.append({"model": name, "source": f"timm {timm.__version__}", "size": 256, "params": p, "macs": m})
    return out


def score_pairs(tokens, window=None):
    """Causal (query, key) pairs of one head; a sliding window keeps the last `window` keys."""
    if window is None:
        return tokens * (tokens + 1) // 2
    return sum(min(i + 1, window) for i in range(tokens))


def transformers_refs():
    import transformers
    from transformers import (LlamaConfig, LlamaForCausalLM, LongformerConfig, LongformerModel,
                              MistralConfig, MistralForCausalLM)
    src = f"transformers {transformers.__version__}"
    decoders = [  # name, config class, model class, tokens, HF config.json values
        ("llama2_7b", LlamaConfig, LlamaForCausalLM, 4096,
         dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096)),
        ("llama3_8b", LlamaConfig, LlamaForCausalLM, 8192,
         dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
              num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192)),
        ("mistral_7b", MistralConfig, MistralForCausalLM, 8192,
         dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
              num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768, sliding_window=4096)),
        ("tinyllama_1_1b", LlamaConfig, LlamaForCausalLM, 2048,
         dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
              num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048)),
    ]
    out = []
    for name, cfg_cls, model_cls, tokens, values in decoders:
        cfg = cfg_cls(tie_word_embeddings=False, **values)
        with torch.device("meta"):
            model = model_cls(cfg)
        params = sum(p.numel() for p in model.parameters())
        linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
        head_dim = cfg.hidden_size // cfg.num_attention_heads
        pairs = score_pairs(tokens, values.get("sliding_window"))
        macs = tokens * linear + cfg.num_hidden_layers * 2 * cfg.num_attention_heads * head_dim * pairs
        out.append({"model": name, "source": src, "size": tokens, "params": params, "macs": macs})
    cfg = LongformerConfig(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, max_position_embeddings=4098, type_vocab_size=1,
                           attention_window=512, pad_token_id=1)
    with torch.device("meta"):
        model = LongformerModel(cfg)
    out.append({"model": "longformer_base", "source": src, "size": 4096,
                "params": sum(p.numel() for p in model.parameters()), "macs": None})
    return out


def collect():
    refs = []
    for fn in (torchvision_refs, mobilenet_v1_paper, timm_refs, transformers_refs):
        try:
            refs += fn()
        except ImportError as e:
            print(f"skipped {fn.__name__}: {e}", file=sys.stderr)
    return refs


# ---------------------------------------------------------------- comparison

def hwnas_totals(binary, name):
    out = subprocess.run([binary, "cost", name, "--format", "json"], check=True, capture_output=True, text=True)
    t = json.loads(out.stdout)["totals"]
    return t["params"], t["macs"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hwnas", default=os.path.join(ROOT, "build", "hwnas"), help="the hwnas binary")
    ap.add_argument("--refs", action="append", default=[], help="JSON of references saved elsewhere (repeatable)")
    ap.add_argument("--save-refs", help="write the references computed here to this JSON file")
    ap.add_argument("--refs-only", action="store_true", help="compute references only (no hwnas needed)")
    args = ap.parse_args()

    refs = collect()
    if args.save_refs:
        tmp = args.save_refs + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"torch": torch.__version__, "references": refs}, f, indent=1)
        os.replace(tmp, args.save_refs)
    if args.refs_only:
        return 0
    for path in args.refs:
        with open(path) as f:
            seen = {(r["model"], r["source"]) for r in refs}
            refs += [r for r in json.load(f)["references"] if (r["model"], r["source"]) not in seen]

    zoo = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "models")) if f.endswith(".json"))
    ours = {name: hwnas_totals(args.hwnas, name) for name in zoo}
    fmt = "{:<20} {:<26} {:>15} {:>15} {:>19} {:>19}  {}"
    print(fmt.format("model", "reference", "ref params", "hwnas params", "ref MACs", "hwnas MACs", "result"))
    failures = 0
    for name in zoo:
        rows = [r for r in refs if r["model"] == name]
        p, m = ours[name]
        if not rows:
            print(fmt.format(name, "(none here)", "-", f"{p:,}", "-", f"{m:,}", "unchecked"))
            continue
        for r in rows:
            ok_p = r["params"] == p
            ok_m = r["macs"] is None or r["macs"] == m
            failures += not (ok_p and ok_m)
            result = ("exact" if r["macs"] is not None else "params exact") if ok_p and ok_m else "DIFFERS"
            ref_m = f"{r['macs']:,}" if r["macs"] is not None else "-"
            print(fmt.format(name, r["source"], f"{r['params']:,}", f"{p:,}", ref_m, f"{m:,}", result))
    print(f"{failures} mismatching rows")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
