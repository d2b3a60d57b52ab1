"""Gives each input and output of the committed ONNX files its own symbolic sizes, without touching the weights.

The family was first exported with every residual, the ControlNet hint and the VAE's second tensor named "height" and
"width" like the sample, although they are 1/2, 1/4 or 8x of it; ONNX Runtime plans buffers from those names
(`Shape mismatch attempting to re-use buffer {2,96,4,4} != {2,96,8,8}` once inputs are wrapped in Cast nodes).
export.py now names them apart; this rewrites the files already committed the same way (only the graph's value
infos change, so the outputs are the same bytes).

    /usr/bin/python3 tools/forge/symbolic_dims.py models tests/fixtures/sd15-small tests/fixtures/float16
"""
import os
import sys

import onnx

OWN = {"controlnet_cond": "hint", "latent_sample": "latent"}


def own_size(name, model_kind):
    if "additional_residual" in name:
        return name
    if name in OWN and not (model_kind == "vae_decoder" and name == "latent_sample"):
        return OWN[name]
    if name == "sample" and model_kind == "vae_decoder":
        return "image"
    return None


def fix(path):
    model = onnx.load(path, load_external_data=False)
    kind = os.path.basename(os.path.dirname(path))
    if os.path.basename(path).startswith("vae_decoder"):
        kind = "vae_decoder"
    changed = 0
    for value in list(model.graph.input) + list(model.graph.output):
        prefix = own_size(value.name, kind)
        dims = value.type.tensor_type.shape.dim
        if prefix is None or len(dims) != 4:
            continue
        for axis, suffix in ((2, "height"), (3, "width")):
            if dims[axis].dim_param in ("height", "width"):
                dims[axis].dim_param = f"{prefix}_{suffix}"
                changed += 1
    if changed:
        onnx.save(model, path)
    return changed


if __name__ == "__main__":
    for root in sys.argv[1:]:
        for folder, _, files in os.walk(root):
            for f in files:
                if f.endswith(".onnx"):
                    n = fix(os.path.join(folder, f))
                    if n:
                        print(f"{os.path.join(folder, f)}: {n} dimensions renamed")
