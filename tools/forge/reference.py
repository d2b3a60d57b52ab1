"""The reference adapter (issue 13): an image of an object -> context tokens, so that box placement draws that object.

    /usr/bin/python3 tools/forge/forge.py reference --minutes 45     # builds its data once, then trains (resumable)
    /usr/bin/python3 tools/forge/forge.py reference-export           # models/adapter-tiny-reference + parity fixture

The condition is the object cut out of its picture: its bounding box padded to a square about its centre, as four
planes (RGB times the object's mask, then the mask) resized to 32x32 with area averaging, flattened to 4,096 values in
[0, 1]. The host's `reference` preprocessor (preprocessors/ControlHost.Preprocessors/ObjectReference.cs) makes the
same planes from a user's picture, finding the object as what differs from the picture's border colour.

Training keeps everything else frozen: the text encoder and the inpainting UNet, which is what box placement
generates with. Each sample is one object of a training scene: its box (grown by up to 4 px, rounded out to latent
cells) is the inpainting mask, the rest of the scene the context, and the object's own visible pixels the reference.
The noise loss counts the box's cells five times, where the reference has something to say. Captions are empty
(40%), "a shape" (40%) or the scene's caption (20%), so the tokens must carry colour and outline themselves.
"""
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F

import forge
import nets
import scenes_v2
import vocab

DATA_SCENES = 8000
MIN_AREA = 40  # visible pixels an object needs to be a training sample
PROMPT = "a shape"
HIGH_NOISE = os.environ.get("REFERENCE_HIGH_NOISE") == "1"  # the second run's noise levels (see step_fn)


def planes(rgb, mask):
    """The reference condition of an object: 4 x REFERENCE_SIZE^2 float32 values (see the module's docstring)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w = y1 - y0, x1 - x0
    side = max(h, w)
    square = np.zeros((side, side, 4), np.float32)
    oy, ox = (side - h) // 2, (side - w) // 2
    m = mask[y0:y1, x0:x1].astype(np.float32)
    square[oy:oy + h, ox:ox + w, :3] = rgb[y0:y1, x0:x1].astype(np.float32) / 255.0 * m[:, :, None]
    square[oy:oy + h, ox:ox + w, 3] = m
    size = nets.REFERENCE_SIZE
    small = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small.transpose(2, 0, 1)).reshape(-1)


def object_regions(scene):
    """Each object's visible pixels: both scene generators paint every object into the depth map with its own
    value (110 and up; the floor's ramp stays below 71)."""
    return [scene.depth == v for v in np.unique(scene.depth) if v >= 110]


def latent_box_mask(box):
    """(1, 16, 16) mask of the latent cells a pixel box (x0, y0, x1, y1) touches."""
    cells = np.arange(16) * 8
    inside_x = (cells < box[2]) & (cells + 8 > box[0])
    inside_y = (cells < box[3]) & (cells + 8 > box[1])
    return (inside_y[:, None] & inside_x[None, :]).astype(np.float32)[None]


def masked_latents(vae, scale, images, masks):
    """VAE latents of the images with their masks' cells (latent-resolution masks) set to 0, mid grey."""
    with torch.no_grad():
        keep = 1 - F.interpolate(torch.from_numpy(np.stack(masks)), scale_factor=8.0, mode="nearest")
        return (vae.encode(forge.to_tensor(images) * keep)[0] * scale).numpy()


def build_data():
    """Per sample: scene index, reference planes, latent mask and masked-image latents (cache/reference.npz)."""
    path = os.path.join(forge.CACHE, "reference.npz")
    if os.path.exists(path):
        return dict(np.load(path))
    vae = forge.load_vae()
    scale = float(np.load(os.path.join(forge.CACHE, "latents.npz"))["scale"])
    rng = np.random.default_rng(forge.SEED + 70)
    index, refs, masks, masked = [], [], [], []
    batch_images, batch_masks = [], []

    def flush():
        masked.append(masked_latents(vae, scale, batch_images, batch_masks))
        batch_images.clear()
        batch_masks.clear()

    for i in range(DATA_SCENES):
        scene = scenes_v2.training_scene(i, seed=forge.SEED)
        regions = [r for r in object_regions(scene) if r.sum() >= MIN_AREA]
        if not regions:
            continue
        region = regions[int(rng.integers(len(regions)))]
        ys, xs = np.nonzero(region)
        grow = rng.uniform(0, 4, 4)
        box = (xs.min() - grow[0], ys.min() - grow[1], xs.max() + 1 + grow[2], ys.max() + 1 + grow[3])
        m = latent_box_mask(box)
        index.append(i)
        refs.append(planes(scene.rgb, region).astype(np.float16))
        masks.append(m)
        batch_images.append(scene.rgb)
        batch_masks.append(m)
        if len(batch_images) == 100:
            flush()
    if batch_images:
        flush()
    data = {"index": np.array(index), "refs": np.stack(refs), "masks": np.stack(masks).astype(np.uint8),
            "masked": np.concatenate(masked).astype(np.float32)}
    np.savez(path, **data)
    forge.log("reference", f"{len(index)} samples from {DATA_SCENES} scenes")
    return data


def load_inpainting_unet():
    """The inpainting stage's UNet (burst.py or import_onnx.py), before any fine-tuning with the reference adapter."""
    unet = nets.UNet(in_ch=9)
    unet.load_state_dict(forge.load_ckpt("unet_inpaint")["ema"])
    return unet.eval()


def stage_reference(args):
    torch.manual_seed(forge.SEED + 71)
    data = build_data()
    latents, ids, _, _ = forge.load_cache()
    te = forge.load_joint()["te"]
    unet = load_inpainting_unet()
    for p in list(te.parameters()) + list(unet.parameters()):
        p.requires_grad_(False)
    adapter = nets.ReferenceAdapter()
    word_ids, _, _ = vocab.build_tables()
    empty, generic = forge.empty_ids(), torch.from_numpy(vocab.tokenize(PROMPT, word_ids))
    refs, masks = torch.from_numpy(data["refs"].astype(np.float32)), torch.from_numpy(data["masks"].astype(np.float32))
    masked, scene_of = torch.from_numpy(data["masked"]), torch.from_numpy(data["index"]).long()
    ac = forge.alphas_cumprod()
    gen = torch.Generator().manual_seed(forge.SEED + 72)

    def step_fn(step):
        k = torch.randint(0, len(scene_of), (32,), generator=gen)
        idx = scene_of[k]
        r = torch.rand(32, generator=gen)
        tok = ids[idx].clone()
        tok[r < 0.4] = empty
        tok[(r >= 0.4) & (r < 0.8)] = generic
        z0 = latents[idx]
        noise = torch.randn(z0.shape, generator=gen)
        # Noise levels drawn with a density rising toward pure noise (t = 999 (1 - u^2)) where HIGH_NOISE is set:
        # the outline is decided in the first, noisiest steps.
        u = torch.rand(32, generator=gen)
        t = ((1 - u ** 2) * 999).long() if HIGH_NOISE else torch.randint(0, 1000, (32,), generator=gen)
        a = ac[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        with torch.no_grad():
            text = te(tok)[0]
        ctx = torch.cat([text, adapter(refs[k])], 1)
        pred = unet(torch.cat([zt, masks[k], masked[k]], 1), t.float(), ctx)
        return forge.weighted_mse(pred, noise, 1 + 4 * masks[k])

    return forge.train_loop("reference", {"adapter": adapter}, list(adapter.parameters()), args.lr or 1e-3,
                            args.steps or 100000, args.minutes, step_fn, ema_of=adapter,
                            run_info={"batch": 32, "data": f"one object each of {len(scene_of)} scenes v2 training scenes"
                                      + (", noise levels drawn toward pure noise" if HIGH_NOISE else "")})


def load_frozen_stage_adapter():
    """The adapter as this stage trained it, through the frozen inpainting UNet."""
    state = forge.load_ckpt("reference")
    adapter = nets.ReferenceAdapter()
    adapter.load_state_dict(state["ema"] if state.get("ema") else state["modules"]["adapter"])
    return adapter.eval()


def load_adapter():
    """The adapter that is exported: the one trained together with the inpainting UNet once that stage has run
    (it belongs with that UNet), else this stage's."""
    import reference_joint
    joint = reference_joint.trained()
    return joint["adapter"] if joint is not None else load_frozen_stage_adapter()


def stage_export(args):
    """models/adapter-tiny-reference: model.onnx, adapter.json, the model card; and its parity fixture."""
    import export
    out = os.path.abspath(args.out)
    adapter = load_adapter()
    export.round_weights_to_fp16(adapter)
    data = build_data()
    sample = torch.from_numpy(data["refs"][:1].astype(np.float32))
    folder = os.path.join(out, "adapter-tiny-reference")
    size = export.export_onnx(adapter, (sample,), f"{folder}/model.onnx", ["condition"], ["context_tokens"],
                              {"condition": {0: "batch"}, "context_tokens": {0: "batch"}})
    repository_models = os.path.abspath(os.path.join(forge.HERE, "..", "..", "models"))
    fixtures = (os.path.join(forge.HERE, "..", "..", "tests", "fixtures", "parity") if out == repository_models
                else os.path.join(out, "parity"))  # a trial export keeps its fixture beside it
    export.write_fixture(fixtures, "adapter-tiny-reference", adapter, (sample,), ["condition"], ["context_tokens"])
    export.write_json(f"{folder}/adapter.json", {"condition": "reference", "base": "tiny-sd", "size": nets.REFERENCE_SIZE,
                                                 "planes": 4, "tokens": nets.REFERENCE_TOKENS})
    forge.log("reference", f"exported {folder} ({size / 1e6:.2f} MB)")
    write_card(folder, export.load_adherence().get("reference"))
    import reference_joint
    if reference_joint.trained() is not None:  # the inpainting UNet it was trained with goes out beside it
        sizes = {}
        export.export_inpainting(out, fixtures, torch.Generator().manual_seed(99), sizes)
        export.write_inpainting_card(out)
        forge.log("reference", f"exported {out}/tiny-sd-inpainting ({sizes['unet-inpainting'] / 1e6:.2f} MB)")
    return True


def write_card(folder, measured):
    size = os.path.getsize(os.path.join(folder, "model.onnx")) / 1e6
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(f"""# adapter-tiny-reference

The `reference` condition for `tiny-sd`: an image of an object -> {nets.REFERENCE_TOKENS} context tokens of width
{nets.TEXT_DIM}, appended to the conditional text embeddings (the colour adapter's mechanism; no engine change).
Meant for box placement: put this object in the box, fitted to the scene.

- Condition: the object found in the picture (what differs from the border's colour), its bounding box padded to a
  square about its centre, as four planes (RGB times the object's mask, then the mask) resized to
  {nets.REFERENCE_SIZE}x{nets.REFERENCE_SIZE} with area averaging: `condition [B,{4 * nets.REFERENCE_SIZE ** 2}]` in [0, 1].
- Network: three stride-2 3x3 convolutions (32, 64, 64 channels) flattened with their 4x4 layout, beside the object's
  mean colour and fill, two linear layers, LayerNorm; {sum(p.numel() for p in nets.ReferenceAdapter().parameters()):,}
  parameters, {size:.2f} MB (float16 weights).
- Training: the text encoder and the inpainting UNet (`tiny-sd-inpainting`) frozen; each sample one object of a
  scenes v2 training scene, its box the inpainting mask and its visible pixels the reference; captions empty (40%),
  "{PROMPT}" (40%) or the scene's (20%); noise loss with the box's cells counted five times:
  {export_stage_info()}.{joint_stage_info()}
- Adherence through box placement (`controlhost-eval reference`): {measured or "not measured yet"}.
""")


def joint_stage_info():
    import export
    if not forge.load_ckpt("reference_joint"):
        return ""
    return ("\n- Then fine-tuned together with the inpainting UNet, which is exported beside it "
            f"(`tools/forge/reference_joint.py`): {export.stage_info('reference_joint')}.")


def export_stage_info():
    import export
    return export.stage_info("reference")
