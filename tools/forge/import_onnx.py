"""Committed ONNX models -> forge cache checkpoints, so that training continues from the weights in models/.

The cache is git-ignored; a fresh checkout has only the exported ONNX files. Their initialisers carry the PyTorch
parameter names, except where the exporter rewrote a parameter (GroupNorm scales become `onnx::Mul_N`, some Linear
weights are stored transposed for MatMul). To map those back, the same network is exported once more with random
weights: every initialiser of that export is found among the parameters by its values (sorted, so a transpose does
not matter), which gives the exporter's names for this architecture. Each imported network is then checked against
its parity fixture (tests/fixtures/parity), so a wrong mapping cannot pass silently.

    /usr/bin/python3 tools/forge/import_onnx.py            # every model in models/ that has no checkpoint yet
"""
import base64
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
import export  # noqa: E402
import forge  # noqa: E402
import nets  # noqa: E402
import vocab  # noqa: E402

ROOT = os.path.abspath(os.path.join(forge.HERE, "..", ".."))
MODELS = os.path.join(ROOT, "models")
PARITY = os.path.join(ROOT, "tests", "fixtures", "parity")


def _initialisers(path):
    """name (without the _fp16 suffix) -> float32 array."""
    model = onnx.load(path)
    return {i.name[:-5] if i.name.endswith("_fp16") else i.name: numpy_helper.to_array(i).astype(np.float32)
            for i in model.graph.initializer}


def _exporter_names(wrapper, params, example, input_names, output_names, dynamic_axes):
    """Exports the wrapper with random weights; returns initialiser name -> (parameter name, stored transposed) for
    every initialiser that is one parameter's values."""
    with torch.no_grad():
        for p in params.values():
            p.copy_(torch.randn_like(p))
    by_values = {}
    for name, p in params.items():
        by_values.setdefault(np.sort(p.detach().numpy().ravel()).tobytes(), name)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        wrapper.eval()
        with torch.no_grad():
            torch.onnx.export(wrapper, example, path, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=export.OPSET, do_constant_folding=True)
        found = {}
        for name, arr in _initialisers(path).items():
            key = np.sort(arr.astype(np.float32).ravel()).tobytes()
            if key in by_values:
                pname = by_values[key]
                p = params[pname].detach().numpy()
                # A square Linear weight looks the same transposed or not: compare the values to tell.
                transposed = arr.ndim == 2 and not np.array_equal(arr.reshape(p.shape), p)
                found[name] = (pname, transposed)
    return found


def load_weights(module, wrapper, example, input_names, output_names, dynamic_axes, onnx_path, prefix):
    """Fills module's parameters from the committed ONNX file. prefix: the wrapper's attribute path to module."""
    params = dict(module.named_parameters())
    saved = {k: v.detach().clone() for k, v in params.items()}
    names = _exporter_names(wrapper, params, example, input_names, output_names, dynamic_axes)
    committed = _initialisers(onnx_path)
    assigned = set()
    with torch.no_grad():
        for init_name, (param_name, transposed) in names.items():
            if init_name not in committed:
                continue
            arr = committed[init_name]
            p = params[param_name]
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr.T if transposed else arr).reshape(p.shape)))
            assigned.add(param_name)
        missing = [n for n in params if n not in assigned]
        for n in missing:  # never exported (unused by the forward pass): keep what the module had
            params[n].copy_(saved[n])
    return missing


def _decode(entry):
    dtype = {"float32": np.float32, "int32": np.int32, "int64": np.int64}[entry["dtype"]]
    return np.frombuffer(base64.b64decode(entry["data"]), dtype).reshape(entry["shape"]).copy()


def check_parity(wrapper, fixture_name, atol=2e-3):
    with open(os.path.join(PARITY, fixture_name.replace("/", "__") + ".json")) as f:
        fixture = json.load(f)
    inputs = [torch.from_numpy(_decode(v)) for v in fixture["inputs"].values()]
    with torch.no_grad():
        out = wrapper.eval()(*inputs)
    out = (out,) if isinstance(out, torch.Tensor) else out
    worst = 0.0
    for got, want in zip(out, fixture["outputs"].values()):
        worst = max(worst, float((got - torch.from_numpy(_decode(want))).abs().max()))
    if worst > atol:
        raise SystemExit(f"{fixture_name}: imported weights differ from the parity fixture by {worst:.2e}")
    forge.log("import", f"{fixture_name}: parity within {worst:.1e}")


def _step_example(in_ch=4):
    c0, c1, c2 = nets.UNET_CHANNELS
    shapes = [(c0, 16), (c0, 16), (c0, 8), (c1, 8), (c1, 4), (c2, 4), (c2, 4)]
    return (torch.randn(1, in_ch, 16, 16), torch.tensor([500.0]), torch.randn(1, 77, nets.TEXT_DIM),
            *[torch.randn(1, c, s, s) for c, s in shapes])


def import_vae():
    vae = nets.VAE()
    img = torch.rand(1, 3, 128, 128) * 2 - 1
    lat = torch.randn(1, 4, 16, 16)
    enc, dec = export.VaeEncoderExport(vae), export.VaeDecoderExport(vae)
    load_weights(vae.encoder, enc, (img,), ["sample"], ["latent_sample"], export.dyn4("sample"),
                 os.path.join(MODELS, "tiny-sd", "vae_encoder", "model.onnx"), "vae.encoder")
    enc_state = {k: v.clone() for k, v in vae.encoder.state_dict().items()}
    load_weights(vae.decoder, dec, (lat,), ["latent_sample"], ["sample"], export.dyn4("latent_sample"),
                 os.path.join(MODELS, "tiny-sd", "vae_decoder", "model.onnx"), "vae.decoder")
    vae.encoder.load_state_dict(enc_state)
    # Parameters outside encoder and decoder (the latent projections) live in one of the two files.
    _rest(vae, enc, (img,), ["sample"], ["latent_sample"], export.dyn4("sample"),
          os.path.join(MODELS, "tiny-sd", "vae_encoder", "model.onnx"), skip=("encoder.", "decoder."))
    check_parity(enc, "tiny-sd/vae_encoder")
    check_parity(dec, "tiny-sd/vae_decoder")
    return vae


def _rest(module, wrapper, example, input_names, output_names, dyn, path, skip):
    """Loads module's parameters outside the named sub-modules from path (kept sub-modules restored after)."""
    keep = {k: v.clone() for k, v in module.state_dict().items() if k.startswith(skip)}
    load_weights(module, wrapper, example, input_names, output_names, dyn, path, "")
    state = module.state_dict()
    state.update(keep)
    module.load_state_dict(state)


def _earlier(card, pattern):
    """What a committed model card says of a part's training so far: its history lives on in the new card."""
    import re
    path = os.path.join(MODELS, card, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    found = re.search(pattern, text, re.S)
    return " ".join(found.group(1).split()) if found else "trained before (see the git history of its card)"


def _imported(card, pattern):
    return {"modules": None, "opt": None, "ema": None, "step": 0, "elapsed": 0.0,
            "history": [{"steps": 0, "minutes": 0.0, "where": "", "text": _earlier(card, pattern)}]}


def import_text_encoder():
    """The committed text encoder, grown to today's vocabulary. Its embedding table has a row per word of the
    vocabulary it was exported with; the rows of words added since start as the row of a related word."""
    _, table, size = vocab.build_tables()
    path = os.path.join(MODELS, "tiny-sd", "text_encoder", "model.onnx")
    stored_rows = _initialisers(path)["tok.weight"].shape[0]
    words = vocab.WORDS if stored_rows == size else vocab.WORDS_V1
    word_ids, old_table, old_size = vocab.build_tables(words)
    te = nets.TextEncoder(torch.from_numpy(old_table), old_size)
    ids = torch.from_numpy(vocab.tokenize("a small red circle", word_ids))[None]
    load_weights(te, te, (ids,), ["input_ids"], ["last_hidden_state", "pooler_output"], {"input_ids": {0: "batch"}},
                 path, "")
    check_parity(te, "tiny-sd/text_encoder")
    if old_size == size:
        return te
    grown = nets.TextEncoder(torch.from_numpy(table), size)
    state = te.state_dict()
    rows = grown.tok.weight.detach().clone()
    rows[:old_size] = state["tok.weight"]
    index = {w: 3 + k for k, w in enumerate(vocab.WORDS)}
    related = {"bar": "square", "block": "square", "oval": "circle", "blob": "circle", "ring": "circle",
               "stroke": "person", "crescent": "circle", "arrow": "triangle", "shape": "square", "object": "square",
               "textured": "striped"}
    for word in vocab.WORDS[len(words):]:
        rows[index[word]] = state["tok.weight"][index[related[word]]]
    state["tok.weight"] = rows
    state["id_table"] = grown.id_table
    grown.load_state_dict(state)
    forge.log("import", f"text encoder grown from {old_size} to {size} words")
    return grown


def import_all():
    os.makedirs(forge.CACHE, exist_ok=True)
    torch.manual_seed(0)
    if not os.path.exists(forge.ckpt_path("decoder")):
        vae = import_vae()
        with open(os.path.join(MODELS, "tiny-sd", "vae_decoder", "config.json")) as f:
            scaling = json.load(f)["scaling_factor"]
        with open(os.path.join(forge.CACHE, "imported_scale.json"), "w") as f:
            json.dump({"scaling_factor": scaling}, f)
        for stage, pattern in (("vae", r"- VAE: (.*?); decoder"), ("decoder", r"decoder fine-tune: (.*?)\.\n")):
            state = _imported("tiny-sd", pattern)
            state["modules"] = {"vae": vae.state_dict()}
            forge.save_ckpt(stage, state)
    if not os.path.exists(forge.ckpt_path("unet")):
        te = import_text_encoder()
        unet = nets.UNet()
        uw = export.UNetExport(unet)
        names = ["sample", "timestep", "encoder_hidden_states"] + export.RESIDUAL_NAMES
        load_weights(unet, uw, _step_example(), names, ["out_sample"], export.step_axes(),
                     os.path.join(MODELS, "tiny-sd", "unet", "model.onnx"), "")
        check_parity(uw, "tiny-sd/unet")
        adapter = nets.ColourAdapter()
        load_weights(adapter, adapter, (torch.rand(1, nets.HIST_BINS),), ["condition"], ["context_tokens"],
                     {"condition": {0: "batch"}}, os.path.join(MODELS, "adapter-tiny-colour", "model.onnx"), "")
        check_parity(adapter, "adapter-tiny-colour")
        joint = torch.nn.ModuleDict({"unet": unet, "te": te, "adapter": adapter})
        sd = joint.state_dict()
        state = _imported("tiny-sd", r"colour tokens kept 50%\): (.*?)\.\n")
        state.update(modules={"joint": sd}, ema=sd)
        forge.save_ckpt("unet", state)
    if not os.path.exists(forge.ckpt_path("unet_inpaint")):
        unet9 = nets.UNet(in_ch=9)
        uw = export.UNetExport(unet9)
        names = ["sample", "timestep", "encoder_hidden_states"] + export.RESIDUAL_NAMES
        load_weights(unet9, uw, _step_example(9), names, ["out_sample"], export.step_axes(),
                     os.path.join(MODELS, "tiny-sd-inpainting", "unet", "model.onnx"), "")
        check_parity(uw, "tiny-sd-inpainting/unet")
        sd = unet9.state_dict()
        state = _imported("tiny-sd-inpainting", r"colour adapter frozen: (.*?)\.\n")
        state.update(modules={"unet": sd}, ema=sd)
        forge.save_ckpt("unet_inpaint", state)
    for cond in forge.CONDITIONS:
        stage = f"controlnet_{cond}"
        if os.path.exists(forge.ckpt_path(stage)):
            continue
        cn = nets.ControlNet(nets.UNet())
        cw = export.ControlNetExport(cn)
        names = ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"]
        ex = _step_example()[:3] + (torch.rand(1, 3, 128, 128),)
        load_weights(cn, cw, ex, names, export.RESIDUAL_NAMES, {**export.step_axes(), **export.dyn4("controlnet_cond")},
                     os.path.join(MODELS, f"controlnet-tiny-{cond}", "model.onnx"), "")
        check_parity(cw, f"controlnet-tiny-{cond}")
        sd = cn.state_dict()
        state = _imported(f"controlnet-tiny-{cond}", r"training: (.*?), UNet frozen")
        state.update(modules={"cn": sd}, ema=sd)
        forge.save_ckpt(stage, state)


if __name__ == "__main__":
    torch.set_num_threads(2)
    import_all()
