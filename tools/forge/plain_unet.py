"""The embedded UNet without its ControlNet residual inputs, for bench/: what a step with no active residual unit
would cost if a model folder carried such a UNet beside the one with residual inputs.

Each residual input feeds one Add (skip + residual); the Add is removed and its consumers read the skip directly,
so the graph is the same UNet minus those additions.

    /usr/bin/python3 tools/forge/plain_unet.py bench/out/unet-plain.onnx
"""
import os
import sys

import onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def without_residuals(model):
    g = model.graph
    residuals = {i.name for i in g.input if "residual" in i.name}
    rename = {}
    for node in list(g.node):
        hit = [x for x in node.input if x in residuals]
        if not hit:
            continue
        if node.op_type != "Add" or len(node.input) != 2:
            raise SystemExit(f"residual {hit[0]} feeds a {node.op_type}, not an Add: cannot drop it")
        other = node.input[0] if node.input[1] == hit[0] else node.input[1]
        rename[node.output[0]] = other
        g.node.remove(node)
    for node in g.node:
        node.input[:] = [rename.get(x, x) for x in node.input]
    for out in g.output:
        if out.name in rename:
            raise SystemExit("a residual Add is a graph output")
    keep = [i for i in g.input if i.name not in residuals]
    del g.input[:]
    g.input.extend(keep)
    return model


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "out", "unet-plain.onnx")
    model = without_residuals(onnx.load(os.path.join(ROOT, "models", "tiny-sd", "unet", "model.onnx")))
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    onnx.save(model, out)
    print("wrote", out, os.path.getsize(out))
