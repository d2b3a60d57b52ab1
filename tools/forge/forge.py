"""Train and export the embedded tiny model family.

    /usr/bin/python3 tools/forge/forge.py all            # every stage in order, resuming where it stopped
    /usr/bin/python3 tools/forge/forge.py vae --minutes 10

Stages (each resumable: a checkpoint is written every few minutes and at the end, and a rerun continues):
    vae         VAE on freshly rendered scenes
    latents     encode the fixed training scenes once (latents, caption ids, colour histograms) with the VAE encoder
    decoder     fine-tune the VAE decoder alone (sharper edges; the encoder and so the latents stay fixed)
    unet        UNet + text encoder + colour adapter, jointly, on the cached latents
    controlnet  one ControlNet per condition (--cond canny|lines|scribble|pose|depth|seg|intensity)
    reference   the reference adapter (an object image -> context tokens) through the frozen inpainting UNet
    reference-export  models/adapter-tiny-reference and its parity fixture (reference.py); after reference-joint,
                also models/tiny-sd-inpainting
    reference-joint  the reference adapter and the inpainting UNet fine-tuned together (reference_joint.py)
    export      ONNX files, configs and parity fixtures into models/
    eval        adherence of the exported models (runs tools/ControlHost.Evaluation with ONNX Runtime)
Work files go to tools/forge/cache/ (git-ignored).
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import conditions  # noqa: E402
import nets  # noqa: E402
import scenes  # noqa: E402
import scenes_v2  # noqa: E402
import vocab  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("FORGE_CACHE", os.path.join(HERE, "cache"))
SEED = 1234
TRAIN_SCENES = 20000
CONDITIONS = ["canny", "lines", "scribble", "pose", "depth", "seg", "intensity"]
STRAIGHT_DATA = "scenes of straight-edged shapes only"
# ControlNets that start from another condition's weights when they have none of their own (similar thin-line maps).
CN_WARM_START = {"lines": "canny", "scribble": "canny"}
STAGE_STEPS = {"vae": 1500, "decoder": 1500, "unet": 2400, "controlnet": 900}


def weighted_mse(pred, target, weight):
    """Mean squared error with per-element weights (broadcast), normalised by the mean weight so that the loss
    keeps the plain MSE's scale."""
    return (weight * (pred - target) ** 2).mean() / weight.mean()


def alphas_cumprod():
    """SD 1.x: 1000 steps, scaled-linear betas from 0.00085 to 0.012."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def to_tensor(rgb_batch):
    return torch.from_numpy(np.stack(rgb_batch)).permute(0, 3, 1, 2).float() / 127.5 - 1


def ckpt_path(name):
    return os.path.join(CACHE, f"{name}.pt")


def load_ckpt(name):
    p = ckpt_path(name)
    return torch.load(p) if os.path.exists(p) else None


def save_ckpt(name, state):
    tmp = ckpt_path(name) + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, ckpt_path(name))


def log(stage, msg):
    line = f"[{time.strftime('%H:%M:%S')}] {stage}: {msg}"
    print(line, flush=True)
    with open(os.path.join(CACHE, "forge.log"), "a") as f:
        f.write(line + "\n")


def train_loop(stage, modules, params, lr, total_steps, minutes, step_fn, ema_of=None, run_info=None):
    """Shared loop: AdamW with warm-up, checkpoints, a time budget, an EMA copy of the model that is exported.
    run_info: what the model card should say of this run besides steps and time (batch, data).
    params: tensors, or parameter groups whose optional "lr_scale" scales lr for that group."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    tensors = [p for g in params for p in g["params"]] if isinstance(params[0], dict) else params
    ema = copy.deepcopy(ema_of) if ema_of is not None else None
    state = load_ckpt(stage)
    step = 0
    if state:
        for k, m in modules.items():
            m.load_state_dict(state["modules"][k])
        if state.get("opt"):  # absent after `unpack` (weights from a burst run)
            opt.load_state_dict(state["opt"])
        if ema is not None:
            # A checkpoint from before this stage kept an average starts one from its current weights.
            ema.load_state_dict(state["ema"] if state.get("ema") else ema_of.state_dict())
        step = state["step"]
        log(stage, f"resuming at step {step}")
    elapsed = state["elapsed"] if state else 0.0
    earlier = history(stage)  # runs before this one, for the model cards
    first_step = step
    start, last_save, losses = time.time(), time.time(), []

    def save():
        run = {"steps": step - first_step, "minutes": round((time.time() - start) / 60, 1), "where": "2 CPU cores",
               **(run_info or {})}
        save_ckpt(stage, {"modules": {k: m.state_dict() for k, m in modules.items()}, "opt": opt.state_dict(),
                          "ema": ema.state_dict() if ema is not None else None, "step": step,
                          "elapsed": elapsed + time.time() - start, "history": earlier + [run]})

    while step < total_steps and time.time() - start < minutes * 60:
        for g in opt.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0) * min(1.0, (step + 1) / 100)
        loss = step_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tensors, 1.0)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), ema_of.parameters()):
                    pe.lerp_(pm, 0.005)
        losses.append(loss.item())
        step += 1
        if step % 50 == 0:
            log(stage, f"step {step}/{total_steps} loss {np.mean(losses[-50:]):.4f}")
        if time.time() - last_save > 180:
            save()
            last_save = time.time()
    save()
    log(stage, f"stopped at step {step}, {(elapsed + time.time() - start) / 60:.1f} min in all")
    return step >= total_steps


# ---------------- VAE ----------------

def stage_vae(args):
    torch.manual_seed(SEED)
    vae = nets.VAE()
    rng = np.random.default_rng(SEED)

    def step_fn(step):
        idx = rng.integers(0, 10 ** 9, 16)
        return vae_loss(vae, to_tensor([scenes.make_scene(int(i), seed=SEED + 1).rgb for i in idx]))

    return train_loop("vae", {"vae": vae}, list(vae.parameters()), 5e-4, args.steps or STAGE_STEPS["vae"],
                      args.minutes, step_fn)


def vae_loss(vae, x):
    """Reconstruction of a sampled latent (edge-weighted L1) plus a small KL term that keeps the latents tame."""
    mean, logvar = vae.encode(x)
    z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
    kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
    return edge_weighted_l1(vae.decode(z), x) + 1e-4 * kl


def edge_weighted_l1(y, x):
    """L1 on pixels plus L1 on horizontal and vertical differences: keeps shape borders sharp."""
    grad = ((y[..., 1:, :] - y[..., :-1, :]) - (x[..., 1:, :] - x[..., :-1, :])).abs().mean() + \
           ((y[..., 1:] - y[..., :-1]) - (x[..., 1:] - x[..., :-1])).abs().mean()
    return (y - x).abs().mean() + grad


def stage_decoder(args):
    """Fine-tunes the VAE decoder on the frozen encoder's mean latents (the UNet's latent space does not move)."""
    torch.manual_seed(SEED + 5)
    vae = nets.VAE()
    vae.load_state_dict(load_ckpt("vae")["modules"]["vae"])
    for p in vae.encoder.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(SEED + 5)

    def step_fn(step):
        idx = rng.integers(0, 10 ** 9, 16)
        x = to_tensor([scenes.make_scene(int(i), seed=SEED + 1).rgb for i in idx])
        with torch.no_grad():
            mean, _ = vae.encode(x)
        return edge_weighted_l1(vae.decode(mean), x)

    return train_loop("decoder", {"vae": vae}, list(vae.decoder.parameters()), 2e-4,
                      args.steps or STAGE_STEPS["decoder"], args.minutes, step_fn)


def load_vae():
    """The VAE as exported: the fine-tuned decoder when that stage has run."""
    vae = nets.VAE()
    state = load_ckpt("decoder") or load_ckpt("vae")
    vae.load_state_dict(state["modules"]["vae"])
    return vae.eval()


# ---------------- cached training set ----------------

def histogram_fast(rgb):
    """Same numbers as conditions.colour_histogram, computed once per distinct colour (colours packed into one int
    so that np.unique works on a flat array, 15x faster than unique rows)."""
    flat = rgb.reshape(-1, 3).astype(np.int32)
    keys, inverse = np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2], return_inverse=True)
    uniq = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], 1)
    lab = conditions.srgb_to_lab(uniq / 255.0)
    d = ((lab[:, None, :] - conditions.CODEBOOK_LAB[None, :, :]) ** 2).sum(-1)
    nearest = d.argmin(1)[inverse.reshape(-1)]
    counts = np.bincount(nearest, minlength=180).astype(np.float64) / flat.shape[0]
    smoothed = conditions.SMOOTH @ counts
    smoothed[smoothed < 1e-5] = 0
    return smoothed.astype(np.float32)


def stage_latents(args, scale=None):
    """The CPU stages' training set: VAE latents of 20,000 scenes, caption ids and colour histograms. scale: the
    latent scaling factor to keep (a burst run that retrained the VAE chose one), else 1 / std of these latents."""
    path = os.path.join(CACHE, "latents.npz")
    if os.path.exists(path):
        log("latents", "already cached")
        return True
    vae = load_vae()
    word_ids, _, _ = vocab.build_tables()
    lat, ids, hists = [], [], []
    with torch.no_grad():
        for b in range(0, TRAIN_SCENES, 100):
            batch = [scenes_v2.training_scene(i, seed=SEED) for i in range(b, b + 100)]
            mean, _ = vae.encode(to_tensor([s.rgb for s in batch]))
            lat.append(mean.numpy().astype(np.float32))
            ids.extend(vocab.tokenize(s.caption, word_ids) for s in batch)
            hists.extend(histogram_fast(s.rgb) for s in batch)
    lat = np.concatenate(lat)
    # A VAE imported from models/ keeps the scaling factor its UNet was trained with (import_onnx.py records it).
    imported = os.path.join(CACHE, "imported_scale.json")
    if not scale and os.path.exists(imported):
        with open(imported) as f:
            scale = json.load(f)["scaling_factor"]
    scale = scale or float(1.0 / lat.std())
    np.savez(path, latents=lat, ids=np.stack(ids), hists=np.stack(hists), scale=scale)
    log("latents", f"{len(lat)} scenes, latent std {lat.std():.4f}, scaling factor {scale:.5f}")
    return True


def load_cache():
    d = np.load(os.path.join(CACHE, "latents.npz"))
    return (torch.from_numpy(d["latents"]) * float(d["scale"]), torch.from_numpy(d["ids"]),
            torch.from_numpy(d["hists"]), float(d["scale"]))


def empty_ids():
    return torch.from_numpy(vocab.tokenize("", {}))


# ---------------- UNet + text encoder + colour adapter ----------------

def new_text_encoder():
    _, table, size = vocab.build_tables()
    return nets.TextEncoder(torch.from_numpy(table), size)


def colour_bias(keep):
    """Additive attention bias: 0 on text tokens, -1e9 on the colour tokens of samples trained without them,
    which is exactly the same as not appending those tokens (what the host does with no colour unit)."""
    b = torch.zeros(keep.shape[0], 1, 1, 77 + nets.COLOUR_TOKENS)
    b[~keep, :, :, 77:] = -1e9
    return b


def stage_unet(args):
    torch.manual_seed(SEED + 2)
    latents, ids, hists, _ = load_cache()
    ac = alphas_cumprod()
    unet, te, adapter = nets.UNet(), new_text_encoder(), nets.ColourAdapter()
    joint = torch.nn.ModuleDict({"unet": unet, "te": te, "adapter": adapter})
    empty = empty_ids()
    gen = torch.Generator().manual_seed(SEED + 3)

    def step_fn(step):
        idx = torch.randint(0, len(latents), (64,), generator=gen)
        tok = ids[idx].clone()
        drop = torch.rand(64, generator=gen) < 0.15
        tok[drop] = empty
        keep_colour = torch.rand(64, generator=gen) < 0.5
        z0 = latents[idx]
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, 1000, (64,), generator=gen)
        a = ac[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        ctx = torch.cat([te(tok)[0], adapter(hists[idx])], 1)
        pred = unet(zt, t.float(), ctx, ctx_bias=colour_bias(keep_colour))
        return F.mse_loss(pred, noise)

    return train_loop("unet", {"joint": joint}, list(joint.parameters()), args.lr or 3e-4, args.steps or STAGE_STEPS["unet"],
                      args.minutes, step_fn, ema_of=joint)


def load_joint(ema=True):
    joint = torch.nn.ModuleDict({"unet": nets.UNet(), "te": new_text_encoder(), "adapter": nets.ColourAdapter()})
    state = load_ckpt("unet")
    joint.load_state_dict(state["ema"] if ema else state["modules"]["joint"])
    return joint.eval()


# ---------------- ControlNets ----------------

def stage_controlnet(args):
    cond = args.cond
    torch.manual_seed(SEED + 10 + CONDITIONS.index(cond))
    latents, ids, _, _ = load_cache()
    ac = alphas_cumprod()
    joint = load_joint()
    for p in joint.parameters():
        p.requires_grad_(False)
    cn = nets.ControlNet(joint["unet"])
    stage = f"controlnet_{cond}" + (f"@{args.variant}" if args.variant else "")
    donor = args.init_from or CN_WARM_START.get(cond)
    if donor and not load_ckpt(stage) and load_ckpt(f"controlnet_{donor}"):
        # A head start from a related condition's ControlNet (a lines map is a subset of a Canny map); its runs
        # stay in the history so the model card tells the whole story.
        cn.load_state_dict(controlnet_weights(load_ckpt(f"controlnet_{donor}")))
        save_ckpt(stage, {"modules": {"cn": cn.state_dict()}, "opt": None, "ema": None, "step": 0, "elapsed": 0.0,
                          "history": [dict(r, model=donor) for r in history(f"controlnet_{donor}")]})
        log(stage, f"initialised from controlnet_{donor}")
    straight_only = cond == "lines" and not args.all_scenes
    empty = empty_ids()
    gen = torch.Generator().manual_seed(SEED + 20 + CONDITIONS.index(cond))

    def usable_map(i):
        """The scene's condition map, or None where the scene does not train this ControlNet.

        Pose maps are blank without people: pose trains on scenes with people. Lines trains on scenes whose shapes
        are all straight-edged and whose lines map is not blank: there the map holds the whole outline, while in a
        scene with circles or people most edges are missing from it, which taught an earlier lines ControlNet that an
        empty stretch of the map may hold anything (it drew blobs there: edge precision 0.26)."""
        scene = scenes_v2.training_scene(i, seed=SEED)
        if cond == "pose" and not any(o.shape == "person" for o in scene.objects):
            return None
        if straight_only and not scenes_v2.straight_edged(scene):
            return None
        m = conditions.condition_map(cond, scene)
        return None if cond == "lines" and m.max() == 0 else m

    def pick():
        """32 scene indices and their condition maps (each scene rendered once)."""
        if cond not in ("pose", "lines"):
            idx = torch.randint(0, len(latents), (32,), generator=gen)
            return idx, [usable_map(int(i)) for i in idx]
        out, maps = [], []
        while len(out) < 32:
            i = int(torch.randint(0, len(latents), (1,), generator=gen))
            m = usable_map(i)
            if m is not None:
                out.append(i)
                maps.append(m)
        return torch.tensor(out), maps

    def step_fn(step):
        idx, maps = pick()
        hint = torch.from_numpy(np.stack(maps)).permute(0, 3, 1, 2).float() / 255.0
        tok = ids[idx].clone()
        tok[torch.rand(32, generator=gen) < 0.5] = empty
        z0 = latents[idx]
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, 1000, (32,), generator=gen)
        a = ac[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        with torch.no_grad():
            ctx = joint["te"](tok)[0]
        res, mid = cn(zt, t.float(), ctx, hint)
        pred = joint["unet"](zt, t.float(), ctx, res, mid)
        if not args.edge_weight:
            return F.mse_loss(pred, noise)
        # Latent cells the hint draws a line through count 1 + edge_weight times: most of a scene is flat, and its
        # loss is what the ControlNet is least needed for.
        return weighted_mse(pred, noise, 1 + args.edge_weight * F.max_pool2d(hint.amax(1, keepdim=True), 8))

    return train_loop(stage, {"cn": cn}, list(cn.parameters()), args.lr or 5e-4,
                      args.steps or STAGE_STEPS["controlnet"], args.minutes, step_fn, ema_of=cn,
                      run_info={"batch": 32, **({"data": STRAIGHT_DATA} if straight_only else {}),
                                **({"loss": f"edge cells weighted {1 + args.edge_weight:g}x"} if args.edge_weight else {})})


def controlnet_weights(state):
    """The weights a ControlNet checkpoint exports: the running average where the run kept one (ControlNet weights
    at a constant learning rate wander: lines F1 0.384 at one checkpoint, 0.346 2,100 steps later), else the last."""
    return state["ema"] if state.get("ema") else state["modules"]["cn"]


# ---------------- export ----------------

def stage_export(args):
    import export
    if args.variant:
        # A variant to compare goes to its own models folder (a copy of models/ with this ControlNet replaced);
        # its parity fixture stays beside it so the committed fixtures keep matching the committed models.
        out = os.path.abspath(args.out)
        export.export_controlnet(args.cond, f"controlnet_{args.cond}@{args.variant}", out, os.path.join(out, "parity"),
                                 torch.Generator().manual_seed(99))
        return True
    export.export_all(args)
    return True


def stage_eval(args):
    """Adherence of the exported ONNX models, measured by the C# evaluator through ONNX Runtime."""
    import subprocess
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    cmd = ["dotnet", "run", "--project", os.path.join(root, "tools", "ControlHost.Evaluation"), "-c", "Release", "--",
           "--models", os.path.abspath(args.out), "--seeds", str(args.eval_seeds)]
    if args.eval_only:
        cmd += ["--only", args.eval_only]
    log("eval", " ".join(cmd))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    # Measures of this run replace the earlier ones of the same condition; a condition may have several.
    import export
    adherence, fresh = export.load_adherence(), set()
    for line in out.splitlines():
        log("eval", line)
        words = line.split()
        if words and words[0] in CONDITIONS + ["colour"] and "(no" not in line:
            measure, (with_, without, ratio, n) = " ".join(words[1:-4]), words[-4:]
            text = (f"{measure}: {with_} with the unit vs {without} without "
                    f"({ratio}; {n.strip('()')} generations each)")
            adherence[words[0]] = adherence[words[0]] + "; " + text if words[0] in fresh else text
            fresh.add(words[0])
        elif words and words[0] == "ceiling" and words[1] in adherence:
            adherence[words[1]] += f" [{' '.join(words[2:])}]"
        elif words and words[0] == "prompt":
            adherence["prompt"] = " ".join(words[1:])
    with open(os.path.join(CACHE, "adherence.json"), "w") as f:
        json.dump(adherence, f, indent=1)
    export.write_cards(os.path.abspath(args.out), adherence)
    return True


# ---------------- GPU burst (burst.py) ----------------

def stage_pack(args):
    """Float16 weights of the cached checkpoints into args.dir: the starting point of a burst run."""
    import burst
    os.makedirs(args.dir, exist_ok=True)
    burst.save_npz(os.path.join(args.dir, "vae.npz"), {"vae": load_vae()})
    if os.path.exists(ckpt_path("unet")):
        burst.save_npz(os.path.join(args.dir, "joint.npz"), {"joint": load_joint()})
    for cond in CONDITIONS:
        state = load_ckpt(f"controlnet_{cond}")
        if state:
            cn = nets.ControlNet(nets.UNet())
            cn.load_state_dict(controlnet_weights(state))
            burst.save_npz(os.path.join(args.dir, f"cn_{cond}.npz"), {"cn": cn})
    scale = float(np.load(os.path.join(CACHE, "latents.npz"))["scale"])
    with open(os.path.join(args.dir, "meta.json"), "w") as f:
        json.dump({"scale": scale, "history": {k: history(k) for k in ["vae", "decoder", "unet"] +
                                               [f"controlnet_{c}" for c in CONDITIONS]}}, f, indent=1)
    log("pack", f"wrote {sorted(os.listdir(args.dir))}")
    return True


def history(name):
    """How a checkpoint was trained, for the model cards: a list of runs."""
    state = load_ckpt(name)
    if not state:
        return []
    return state.get("history") or [{"steps": state["step"], "minutes": round(state["elapsed"] / 60, 1),
                                     "where": "2 CPU cores"}]


def stage_unpack(args):
    """Cache checkpoints from a burst run's output (args.dir), its runs appended to each part's history."""
    import burst
    with open(os.path.join(args.dir, "burst.json")) as f:
        report = json.load(f)
    where = report["device"]

    def record(ckpt, stage, key, module, modules_key, ema=False, prefix=None, data=None):
        path = os.path.join(args.dir, f"{key}.npz")
        if stage not in report["stages"] or not burst.load_npz(path, {prefix or modules_key: module}):
            return
        info = report["stages"][stage]
        runs = history(ckpt) + [{"steps": info["steps"], "minutes": round(info["seconds"] / 60, 1), "where": where,
                                 "batch": info.get("batch"), **({"data": data} if data else {})}]
        sd = module.state_dict()
        state = {"modules": {modules_key: sd}, "opt": None, "ema": sd if ema else None,
                 "step": sum(r["steps"] for r in runs), "elapsed": sum(r["minutes"] for r in runs) * 60,
                 "history": runs}
        save_ckpt(ckpt, state)
        log("unpack", f"{ckpt}: {runs[-1]}")

    record("vae", "vae", "vae", nets.VAE(), "vae")
    record("decoder", "decoder", "vae", nets.VAE(), "vae")
    if "scale" in report:
        # The burst retrained the encoder: the cached latents belong to the old one.
        os.replace(os.path.join(CACHE, "latents.npz"), os.path.join(CACHE, "latents.before-vae-burst.npz"))
        stage_latents(args, scale=report["scale"])
    record("unet", "unet", "joint", torch.nn.ModuleDict({"unet": nets.UNet(), "te": new_text_encoder(),
                                                         "adapter": nets.ColourAdapter()}), "joint", ema=True)
    record("unet_inpaint", "inpaint", "inpaint", nets.UNet(in_ch=9), "unet", ema=True)
    for cond in CONDITIONS:
        record(f"controlnet_{cond}", f"controlnet_{cond}", burst.CN_FILES[cond], nets.ControlNet(nets.UNet()), "cn",
               prefix=cond, data=STRAIGHT_DATA if cond == "lines" else None)
    return True


def stage_reference(args):
    import reference  # imports this module: loaded on use
    return reference.stage_reference(args)


def stage_reference_export(args):
    import reference
    return reference.stage_export(args)


def stage_reference_joint(args):
    import reference_joint
    return reference_joint.stage_reference_joint(args)


STAGES = {"vae": stage_vae, "latents": stage_latents, "decoder": stage_decoder, "unet": stage_unet, "controlnet": stage_controlnet,
          "export": stage_export, "eval": stage_eval, "pack": stage_pack, "unpack": stage_unpack,
          "reference": stage_reference, "reference-export": stage_reference_export,
          "reference-joint": stage_reference_joint}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=list(STAGES) + ["all"])
    ap.add_argument("--cond", choices=CONDITIONS, default="canny")
    ap.add_argument("--minutes", type=float, default=20.0, help="time budget of this run of the stage")
    ap.add_argument("--steps", type=int, default=0, help="total steps of the stage (0: its default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.0, help="learning rate of the unet or controlnet stage (0: 3e-4 and 5e-4)")
    ap.add_argument("--init-from", choices=CONDITIONS, default=None,
                    help="controlnet: start from this condition's ControlNet when the stage has no checkpoint yet "
                         "(default: lines and scribble from canny, the others from the UNet encoder)")
    ap.add_argument("--all-scenes", action="store_true",
                    help="controlnet lines: train on every scene with a non-blank lines map, not only straight-edged ones")
    ap.add_argument("--edge-weight", type=float, default=0.0,
                    help="controlnet: latent cells the hint draws a line through count 1 + W times in the loss "
                         "(the committed canny's last run used 3)")
    ap.add_argument("--variant", default="",
                    help="controlnet/export: a separate checkpoint (controlnet_COND@VARIANT) to compare; export writes "
                         "only that ControlNet into --out")
    ap.add_argument("--eval-seeds", type=int, default=2, help="seeds per scene in the eval stage")
    ap.add_argument("--eval-only", default="", help="eval: only these measures (comma-separated, e.g. depth,lines)")
    ap.add_argument("--dir", default=os.path.join(CACHE, "burst"), help="pack/unpack: the burst run's folder")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "models"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(CACHE, exist_ok=True)
    if args.stage != "all":
        STAGES[args.stage](args)
        return
    # 'all': run every stage to completion, resuming each.
    args.minutes = 1e9
    for name in ["vae", "latents", "unet", "decoder"]:
        STAGES[name](args)
    for cond in CONDITIONS:
        args.cond = cond
        stage_controlnet(args)
    stage_export(args)
    stage_eval(args)


if __name__ == "__main__":
    main()
