#!/usr/bin/python3
"""Costs every model exported by export_models.py with `hwnas cost` and compares its counts:
  params: hwnas against the float initializers of the file (each counted once), and the
          PyTorch module's count for reference (BatchNorm is folded into Conv by the exporter);
  macs:   hwnas against PyTorch (convolutions and every matrix product, attention included).
Also writes the small stripped fixtures of tests/data/onnx/ (float tensors > 16 elements keep
only their dims). Writes results.md and exits non-zero on any mismatch.
Run: /usr/bin/python3 experiments/onnx_check/check.py [path/to/hwnas]
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = ["mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1", "regnet_y_400mf", "convnext_tiny", "swin_t",
            "densenet121", "googlenet"]
FLOAT = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}


def float_initializer_elements(model):
    used = {i for n in model.graph.node for i in n.input}
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type in FLOAT and t.name in used)


def strip_tensor(t):
    if t.data_type in FLOAT and int(np.prod(t.dims)) > 16:
        t.ClearField("raw_data")
        t.ClearField("float_data")
        t.ClearField("double_data")
        t.ClearField("int32_data")


def strip(model):
    for t in model.graph.initializer:
        strip_tensor(t)
    for n in model.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                strip_tensor(a.t)
    return model


def main():
    hwnas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "hwnas")
    counts = json.load(open(os.path.join(HERE, "pytorch_counts.json")))
    rows, failures = [], 0
    for name, ref in counts.items():
        path = os.path.join(HERE, "models", name + ".onnx")
        model = onnx.load(path)
        file_params = float_initializer_elements(model)
        r = subprocess.run([hwnas, "cost", path, "--format", "json"], capture_output=True, text=True)
        if r.returncode != 0:
            failures += 1
            rows.append(f"| {name} | {ref['params']} | {file_params} | error | {ref['macs']} | error | {r.stderr.strip()} |")
            continue
        t = json.loads(r.stdout)["totals"]
        ok = t["params"] == file_params and t["macs"] == ref["macs"]
        failures += not ok
        rows.append(f"| {name} | {ref['params']} | {file_params} | {t['params']} | {ref['macs']} | {t['macs']} | "
                    f"{'exact' if ok else 'MISMATCH'} |")
        if name in FIXTURES:
            onnx.save(strip(model), os.path.join(ROOT, "tests", "data", "onnx", name + ".onnx"))
            fx = os.path.join(ROOT, "tests", "data", "onnx", "exported.json")
            data = json.load(open(fx)) if os.path.exists(fx) else {}
            data[name] = {"resolution": ref["resolution"], "params": ref["params"], "onnx_params": file_params,
                          "macs": ref["macs"]}
            json.dump(dict(sorted(data.items())), open(fx, "w"), indent=1)
            open(fx, "a").write("\n")
        print(rows[-1], flush=True)
    head = ("| model | PyTorch params | file's float initializers | hwnas params | PyTorch MACs | hwnas MACs | |\n"
            "|---|---:|---:|---:|---:|---:|---|")
    out = head + "\n" + "\n".join(rows) + "\n"
    open(os.path.join(HERE, "results.md"), "w").write(out)
    print(f"{len(rows) - failures}/{len(rows)} exact")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
