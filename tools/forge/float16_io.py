"""Float16-I/O copies of committed models, for the engine's float16 tests (tests/fixtures/float16/).

Many published SD ONNX folders are float16 at their inputs and outputs. This makes such a copy of a float32-I/O model
without retraining: every float32 graph input becomes float16 followed by a Cast to float32, and every float32 output
is computed as before and Cast to float16. The committed models already store their weights as float16 initialisers,
so the copy is what a float16 export looks like from the host's side (I/O types and weight storage), while the
arithmetic inside stays float32, which keeps the comparison with the float32 model about the boundary alone.

    /usr/bin/python3 tools/forge/float16_io.py
"""
import os

import onnx
from onnx import TensorProto, helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "float16")
MODELS = {
    "unet.onnx": "models/tiny-sd/unet/model.onnx",
    "vae_decoder.onnx": "models/tiny-sd/vae_decoder/model.onnx",
    "text_encoder.onnx": "models/tiny-sd/text_encoder/model.onnx",
    "controlnet-canny.onnx": "models/controlnet-tiny-canny/model.onnx",
}


def float16_io(model):
    g = model.graph
    for inp in g.input:
        # The committed UNets name every residual's spatial dims 'height' and 'width', though each block has its own
        # size: harmless on a graph input, but once a Cast's output inherits them ONNX Runtime's memory planner takes
        # two residuals of different sizes for one shape. Each residual gets dims of its own.
        if "residual" in inp.name:
            for d, suffix in zip(inp.type.tensor_type.shape.dim[2:], ("h", "w")):
                if d.dim_param:
                    d.dim_param = f"{inp.name}_{suffix}"
        if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = inp.name + "__f32"
        for node in g.node:
            node.input[:] = [inner if x == inp.name else x for x in node.input]
        g.node.insert(0, helper.make_node("Cast", [inp.name], [inner], to=TensorProto.FLOAT, name=inp.name + "_to_f32"))
        inp.type.tensor_type.elem_type = TensorProto.FLOAT16
    for out in g.output:
        if out.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = out.name + "__f32"
        for node in g.node:
            node.output[:] = [inner if x == out.name else x for x in node.output]
            node.input[:] = [inner if x == out.name else x for x in node.input]
        g.node.append(helper.make_node("Cast", [inner], [out.name], to=TensorProto.FLOAT16, name=out.name + "_to_f16"))
        out.type.tensor_type.elem_type = TensorProto.FLOAT16
    return model


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, src in MODELS.items():
        m = float16_io(onnx.load(os.path.join(ROOT, src)))
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(OUT, name))
        print(name, os.path.getsize(os.path.join(OUT, name)))
