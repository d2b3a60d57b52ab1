"""The reference adapter and the inpainting UNet fine-tuned together (issue 13), so that a placed object takes the
reference's outline, not only its colour.

    /usr/bin/python3 tools/forge/forge.py reference-joint --minutes 60   # builds its data once, then trains (resumable)
    /usr/bin/python3 tools/forge/forge.py reference-export               # both parts, from this stage when it has run

Why: with the inpainting UNet frozen (reference.py) the tokens move the colour well but the outline little. That
UNet was trained on masks that were mostly an object's bounding box, so it fills its box with the object; tokens
cannot teach it to leave the box's corners, or a ring's hole, as background. Here the UNet trains too, from its
committed weights and at a lower learning rate than the adapter, on two kinds of sample in every batch:

- reference samples (24): as in reference.py (one object, its visible pixels the reference, captions empty, "a
  shape" or the scene's), half with the tight box (grown 0-4 px), half with a box grown 0-14 px per side, so that
  the target shows background inside the box wherever the object is not;
- plain samples (8): no reference tokens and the scene's caption (empty 10%), the inpainting stage's own kinds of
  mask (a tight object box, a random box or the whole image), so that inpainting without a reference keeps what it
  did.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

import forge
import nets
import reference
import scenes_v2
import vocab

STAGE = "reference_joint"
WIDE_GROW = 14  # px per side, at most, that a reference sample's wide box grows beyond its object
UNET_LR_SCALE = 0.2  # the UNet's learning rate as a fraction of the adapter's


def joint_modules():
    return torch.nn.ModuleDict({"adapter": nets.ReferenceAdapter(), "unet": nets.UNet(in_ch=9)})


def trained():
    """The jointly trained adapter and UNet (their average), or None when this stage has not run."""
    state = forge.load_ckpt(STAGE)
    if not state:
        return None
    joint = joint_modules()
    joint.load_state_dict(state["ema"])
    return joint.eval()


def random_box(rng):
    x0, y0 = rng.uniform(0, 100, 2)
    return (x0, y0, x0 + 16 + rng.uniform() * (128 - 16 - x0), y0 + 16 + rng.uniform() * (128 - 16 - y0))


def build_data():
    """Per sample (cache/reference_joint.npz): scene index, reference planes, a wide box's latent mask and
    masked-image latents, and a random box's (for the plain samples)."""
    path = os.path.join(forge.CACHE, "reference_joint.npz")
    if os.path.exists(path):
        return dict(np.load(path))
    vae = forge.load_vae()
    scale = float(np.load(os.path.join(forge.CACHE, "latents.npz"))["scale"])
    rng = np.random.default_rng(forge.SEED + 80)
    out = {k: [] for k in ("index", "refs", "wide_masks", "wide_masked", "random_masks", "random_masked")}
    pending = []

    def encode(images, masks):
        return reference.masked_latents(vae, scale, images, masks)

    def flush():
        images = [p[0] for p in pending]
        out["wide_masked"].append(encode(images, [p[1] for p in pending]))
        out["random_masked"].append(encode(images, [p[2] for p in pending]))
        pending.clear()

    for i in range(reference.DATA_SCENES):
        scene = scenes_v2.training_scene(i, seed=forge.SEED)
        regions = [r for r in reference.object_regions(scene) if r.sum() >= reference.MIN_AREA]
        if not regions:
            continue
        region = regions[int(rng.integers(len(regions)))]
        ys, xs = np.nonzero(region)
        grow = rng.uniform(0, WIDE_GROW, 4)
        box = (xs.min() - grow[0], ys.min() - grow[1], xs.max() + 1 + grow[2], ys.max() + 1 + grow[3])
        wide, rand = reference.latent_box_mask(box), reference.latent_box_mask(random_box(rng))
        out["index"].append(i)
        out["refs"].append(reference.planes(scene.rgb, region).astype(np.float16))
        out["wide_masks"].append(wide)
        out["random_masks"].append(rand)
        pending.append((scene.rgb, wide, rand))
        if len(pending) == 100:
            flush()
    if pending:
        flush()
    data = {"index": np.array(out["index"]), "refs": np.stack(out["refs"]),
            "wide_masks": np.stack(out["wide_masks"]).astype(np.uint8),
            "random_masks": np.stack(out["random_masks"]).astype(np.uint8),
            "wide_masked": np.concatenate(out["wide_masked"]).astype(np.float32),
            "random_masked": np.concatenate(out["random_masked"]).astype(np.float32),
            "full_masked": encode([np.zeros((128, 128, 3), np.uint8) + 128], [np.ones((1, 16, 16), np.float32)])}
    np.savez(path, **data)
    forge.log(STAGE, f"{len(data['index'])} samples from {reference.DATA_SCENES} scenes")
    return data


def stage_reference_joint(args):
    torch.manual_seed(forge.SEED + 81)
    tight, wide = reference.build_data(), build_data()
    latents, ids, _, _ = forge.load_cache()
    te = forge.load_joint()["te"]
    for p in te.parameters():
        p.requires_grad_(False)
    joint = joint_modules()
    if not forge.load_ckpt(STAGE):  # a first run starts from the committed parts
        joint["adapter"].load_state_dict(reference.load_frozen_stage_adapter().state_dict())
        joint["unet"].load_state_dict(reference.load_inpainting_unet().state_dict())
    joint.train()
    word_ids, _, _ = vocab.build_tables()
    empty, generic = forge.empty_ids(), torch.from_numpy(vocab.tokenize(reference.PROMPT, word_ids))

    def tensors(d, *keys):
        return [torch.from_numpy(d[k].astype(np.float32)) for k in keys]

    t_refs, t_masks, t_masked = tensors(tight, "refs", "masks", "masked")
    w_refs, w_masks, w_masked, r_masks, r_masked = tensors(wide, "refs", "wide_masks", "wide_masked",
                                                           "random_masks", "random_masked")
    full_masked = torch.from_numpy(wide["full_masked"].astype(np.float32))
    t_scene, w_scene = torch.from_numpy(tight["index"]).long(), torch.from_numpy(wide["index"]).long()
    ac = forge.alphas_cumprod()
    gen = torch.Generator().manual_seed(forge.SEED + 82)

    def noised(idx):
        z0 = latents[idx]
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, 1000, (len(idx),), generator=gen)
        a = ac[t][:, None, None, None]
        return a.sqrt() * z0 + (1 - a).sqrt() * noise, t.float(), noise

    def reference_loss():
        kt, kw = torch.randint(0, len(t_scene), (12,), generator=gen), torch.randint(0, len(w_scene), (12,), generator=gen)
        idx = torch.cat([t_scene[kt], w_scene[kw]])
        refs, masks = torch.cat([t_refs[kt], w_refs[kw]]), torch.cat([t_masks[kt], w_masks[kw]])
        masked = torch.cat([t_masked[kt], w_masked[kw]])
        r = torch.rand(len(idx), generator=gen)
        tok = ids[idx].clone()
        tok[r < 0.4] = empty
        tok[(r >= 0.4) & (r < 0.8)] = generic
        zt, t, noise = noised(idx)
        with torch.no_grad():
            text = te(tok)[0]
        ctx = torch.cat([text, joint["adapter"](refs)], 1)
        pred = joint["unet"](torch.cat([zt, masks, masked], 1), t, ctx)
        return forge.weighted_mse(pred, noise, 1 + 4 * masks)

    def plain_loss():
        kt, kr = torch.randint(0, len(t_scene), (4,), generator=gen), torch.randint(0, len(w_scene), (3,), generator=gen)
        kf = torch.randint(0, len(w_scene), (1,), generator=gen)
        idx = torch.cat([t_scene[kt], w_scene[kr], w_scene[kf]])
        masks = torch.cat([t_masks[kt], r_masks[kr], torch.ones(1, 1, 16, 16)])
        masked = torch.cat([t_masked[kt], r_masked[kr], full_masked])
        tok = ids[idx].clone()
        tok[torch.rand(len(idx), generator=gen) < 0.1] = empty
        zt, t, noise = noised(idx)
        with torch.no_grad():
            ctx = te(tok)[0]
        return F.mse_loss(joint["unet"](torch.cat([zt, masks, masked], 1), t, ctx), noise)

    def step_fn(step):
        return 0.75 * reference_loss() + 0.25 * plain_loss()

    params = [{"params": list(joint["adapter"].parameters())},
              {"params": list(joint["unet"].parameters()), "lr_scale": UNET_LR_SCALE}]
    return forge.train_loop(STAGE, {"joint": joint}, params, args.lr or 5e-4, args.steps or 100000, args.minutes,
                            step_fn, ema_of=joint,
                            run_info={"batch": 32, "data": f"24 reference samples (tight and wide boxes) and 8 plain "
                                      f"inpainting samples a step, from {len(w_scene)} scenes v2 training scenes"})
