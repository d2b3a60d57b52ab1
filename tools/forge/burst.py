"""The whole family in one process on a GPU: every stage after the VAE (and the VAE itself with --vae-seconds), from
a data set rendered once and held in device memory (the CPU stages of forge.py re-render scenes every step, which a
GPU would wait on).

    python3 tools/forge/burst.py --init DIR --out DIR --minutes 8.5 [--vae-seconds 90]

--init holds float16 weights to start from (`forge.py pack DIR` writes them from the cache): the VAE (required: its
encoder defines the latent space), and optionally the UNet family and ControlNets. --out receives the trained
weights as float16 .npz files plus burst.json (steps, losses, seconds per stage); `forge.py unpack DIR` turns them
into the cache checkpoints that `forge.py export` reads. Each stage gets a fixed share of the time budget and its
weights are written as soon as it ends, so a run cut short still returns what it finished.
It also runs on a CPU with a small --scenes and --minutes, which is how it is tested.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conditions  # noqa: E402
import nets  # noqa: E402
import scenes  # noqa: E402
import scenes_v2  # noqa: E402
import vocab  # noqa: E402
from forge import (CN_WARM_START, CONDITIONS, SEED, alphas_cumprod, edge_weighted_l1, histogram_fast,  # noqa: E402
                   vae_loss)

GREY_MAPS = ["canny", "lines", "scribble", "intensity", "depth"]
# ControlNets are written two files to a group (the device tool returns at most 8 files of 16 MB).
CN_FILES = {"canny": "controlnets_edges", "lines": "controlnets_edges", "scribble": "controlnets_edges",
            "intensity": "controlnets_edges", "pose": "controlnets_maps", "depth": "controlnets_maps",
            "seg": "controlnets_maps"}
COLOUR_MAPS = ["seg", "pose"]
# Share of the training time per stage (the ControlNet share is split evenly over the conditions).
SHARES = {"decoder": 0.07, "unet": 0.37, "inpaint": 0.10, "controlnets": 0.46}


# ---------------- data ----------------

def strip_colours(caption):
    """The caption without colour words ("a red star on a blue background" -> "a star on a background"), articles
    fixed, so that some training captions leave the colours to the colour adapter."""
    words = [w for w in caption.split() if w not in scenes.COLOURS]
    words = [w for i, w in enumerate(words) if not (w == "and" and i + 1 < len(words) and words[i + 1] == "background")]
    out = []
    for i, w in enumerate(words):
        if w in ("a", "an") and i + 1 < len(words):
            w = "an" if words[i + 1][0] in "aeiou" else "a"
        out.append(w)
    return " ".join(out)


def object_box(obj):
    """Pixel bounding box (x0, y0, x1, y1) of a drawn object."""
    if obj.shape == "person":
        xs = [x for x, _ in obj.keypoints]
        ys = [y for _, y in obj.keypoints]
        pad = max(4.0, obj.radius * 0.25)
        return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad
    return obj.cx - obj.radius, obj.cy - obj.radius, obj.cx + obj.radius, obj.cy + obj.radius


def render_chunk(bounds):
    start, end = bounds
    import cv2
    cv2.setNumThreads(1)
    word_ids, _, _ = vocab.build_tables()
    n, s = end - start, scenes.SIZE
    d = {"rgb": np.empty((n, s, s, 3), np.uint8), "grey": np.empty((len(GREY_MAPS), n, s, s), np.uint8),
         "seg": np.empty((n, s, s, 3), np.uint8), "pose": np.empty((n, s, s, 3), np.uint8),
         "ids": np.empty((n, 77), np.int32), "ids_nc": np.empty((n, 77), np.int32),
         "hists": np.empty((n, nets.HIST_BINS), np.float32), "boxes": np.zeros((n, 3, 4), np.float32),
         "nobj": np.zeros(n, np.int64), "person": np.zeros(n, bool), "straight": np.zeros(n, bool)}
    for k, i in enumerate(range(start, end)):
        sc = scenes_v2.training_scene(i, seed=SEED)
        d["rgb"][k] = sc.rgb
        for j, c in enumerate(GREY_MAPS):
            d["grey"][j, k] = conditions.condition_map(c, sc)[:, :, 0]
        d["seg"][k] = conditions.condition_map("seg", sc)
        d["pose"][k] = conditions.condition_map("pose", sc)
        d["ids"][k] = vocab.tokenize(sc.caption, word_ids)
        d["ids_nc"][k] = vocab.tokenize(strip_colours(sc.caption), word_ids)
        d["hists"][k] = histogram_fast(sc.rgb)
        d["nobj"][k] = len(sc.objects)
        d["person"][k] = any(o.shape == "person" for o in sc.objects)
        d["straight"][k] = scenes_v2.straight_edged(sc)
        for j, o in enumerate(sc.objects[:3]):  # the inpainting masks pick among the first three
            d["boxes"][k, j] = object_box(o)
    return d


def render(count, workers):
    step = 500
    chunks = [(b, min(b + step, count)) for b in range(0, count, step)]
    with mp.get_context("fork").Pool(workers) as pool:
        parts = pool.map(render_chunk, chunks)
    out = {}
    for key in parts[0]:
        axis = 1 if key == "grey" else 0
        out[key] = np.concatenate([p[key] for p in parts], axis=axis)
    return out


# ---------------- weights in and out ----------------

def save_npz(path, modules):
    """Float weights as float16 (what the export rounds to anyway); other buffers as they are."""
    arrays = {}
    for prefix, m in modules.items():
        for k, v in m.state_dict().items():
            v = v.detach().cpu()
            if v.is_floating_point() and not k.endswith("causal"):
                v = v.half()
            arrays[f"{prefix}/{k}"] = v.numpy()
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_npz(path, modules):
    """Loads what save_npz wrote into modules; False when the file or a module's entries are missing."""
    if not os.path.exists(path):
        return False
    data = np.load(path)
    if not all(any(k.startswith(prefix + "/") for k in data.files) for prefix in modules):
        return False
    for prefix, m in modules.items():
        sd = {k[len(prefix) + 1:]: torch.from_numpy(data[k]) for k in data.files if k.startswith(prefix + "/")}
        own = m.state_dict()
        m.load_state_dict({k: sd[k].to(own[k].dtype) for k in own})
    return True


# ---------------- training ----------------

@torch.no_grad()
def ema_update(avg, live, rate=0.005):
    if hasattr(torch, "_foreach_lerp_"):
        torch._foreach_lerp_(avg, live, rate)
    else:  # torch 1.13 (Debian), where the burst only runs as a test
        for a, b in zip(avg, live):
            a.lerp_(b, rate)


class Burst:
    def __init__(self, args):
        self.args = args
        self.dev = torch.device("cpu" if args.cpu else "cuda")
        self.report = {"stages": {}, "torch": torch.__version__}
        self.t0 = time.time()
        self.controlnets = {}

    def log(self, msg):
        print(f"[{time.time() - self.t0:6.1f}s] {msg}", flush=True)

    def write_report(self):
        with open(os.path.join(self.args.out, "burst.json"), "w") as f:
            json.dump(self.report, f, indent=1)

    def train(self, name, params, lr, seconds, step_fn, batch, ema=None, warmup=50):
        """AdamW with warm-up and a cosine decay over the stage's time budget; optional EMA (model, ema) pair."""
        fused = {"fused": True} if self.dev.type == "cuda" else {}
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, **fused)
        if ema is not None:
            live, avg = [p for p in ema[0].parameters()], [p for p in ema[1].parameters()]
        start, step, losses = time.time(), 0, []
        while True:
            elapsed = time.time() - start
            if elapsed > seconds:
                break
            scale = min(1.0, (step + 1) / warmup) * (0.55 + 0.45 * math.cos(math.pi * elapsed / seconds))
            for g in opt.param_groups:
                g["lr"] = lr * scale
            loss = step_fn()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if ema is not None:
                ema_update(avg, live)
            losses.append(loss.detach())
            step += 1
            if step % 250 == 0:
                self.log(f"{name}: step {step} loss {torch.stack(losses[-250:]).mean().item():.4f}")
        final = torch.stack(losses[-250:]).mean().item() if losses else float("nan")
        seconds_used = time.time() - start
        self.log(f"{name}: {step} steps in {seconds_used:.0f} s, final loss {final:.4f}")
        self.report["stages"][name] = {"steps": step, "seconds": round(seconds_used, 1), "loss": round(final, 5),
                                       "batch": batch}
        self.write_report()
        return step

    def run(self):
        a, dev = self.args, self.dev
        os.makedirs(a.out, exist_ok=True)
        torch.manual_seed(SEED + 100)
        data = render(a.scenes, a.workers)
        self.log(f"rendered {a.scenes} scenes on {a.workers} processes")
        # CUDA is touched only now: the rendering processes were forked from a process without a CUDA context.
        self.report["device"] = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
        with open(os.path.join(a.init, "meta.json")) as f:
            meta = json.load(f)
        self.scale = float(meta["scale"])
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.d = {k: torch.from_numpy(v).to(dev) for k, v in data.items()}
        self.n = a.scenes
        self.person_idx = torch.nonzero(self.d["person"]).flatten()
        # The lines ControlNet draws from scenes whose shapes are all straight-edged and whose lines map is not blank:
        # there the map holds the whole outline (forge.py's stage_controlnet says why).
        lines_found = self.d["grey"][GREY_MAPS.index("lines")].flatten(1).amax(1) > 0
        self.lines_idx = torch.nonzero(lines_found & self.d["straight"]).flatten()
        self.ac = alphas_cumprod().to(dev)
        self.empty = torch.from_numpy(vocab.tokenize("", {})).to(dev)

        self.vae = nets.VAE().to(dev)
        if not load_npz(os.path.join(a.init, "vae.npz"), {"vae": self.vae}):
            raise SystemExit("--init has no vae.npz: the VAE defines the latent space (--vae-seconds trains it further)")
        if a.vae_seconds > 0:
            self.stage_vae(a.vae_seconds)
        self.encode_latents(rescale=a.vae_seconds > 0)
        budget = a.minutes * 60 - (time.time() - self.t0) - 15
        self.log(f"{budget:.0f} s left for training on {self.report['device']}")
        self.report["scenes"] = a.scenes
        self.stage_decoder(budget * SHARES["decoder"])
        self.stage_unet(budget * SHARES["unet"])
        self.stage_inpaint(budget * SHARES["inpaint"])
        for cond in a.conditions:
            self.stage_controlnet(cond, budget * SHARES["controlnets"] / len(a.conditions))
        self.report["seconds"] = round(time.time() - self.t0, 1)
        self.write_report()

    def images(self, idx):
        return self.d["rgb"][idx].permute(0, 3, 1, 2).float() / 127.5 - 1

    @torch.no_grad()
    def encode_latents(self, rescale=False):
        self.vae.eval()
        lat = torch.cat([self.vae.encode(self.images(torch.arange(b, min(b + 500, self.n), device=self.dev)))[0]
                         for b in range(0, self.n, 500)])
        if rescale:
            # A retrained encoder has a latent spread of its own: unit variance again, as SD's scaling factor gives.
            self.scale = float(1.0 / lat.std())
            self.report["scale"] = self.scale
        self.lat = lat * self.scale
        self.log(f"latents {tuple(self.lat.shape)}, std {self.lat.std().item():.3f} after scaling")

    def noised(self, idx):
        z0 = self.lat[idx]
        noise = torch.randn_like(z0)
        t = torch.randint(0, 1000, (len(idx),), device=self.dev)
        a = self.ac[t][:, None, None, None]
        return a.sqrt() * z0 + (1 - a).sqrt() * noise, t.float(), noise

    def captions(self, idx, drop, no_colour=0.3):
        b = len(idx)
        tok = torch.where((torch.rand(b, device=self.dev) < no_colour)[:, None], self.d["ids_nc"][idx], self.d["ids"][idx])
        return torch.where((torch.rand(b, device=self.dev) < drop)[:, None], self.empty[None], tok)

    def colour_bias(self, b, keep=0.5):
        """0 on text tokens, -1e9 on colour tokens of samples trained without them (the same as leaving them out)."""
        drop = torch.rand(b, device=self.dev) >= keep
        bias = torch.zeros(b, 1, 1, 77 + nets.COLOUR_TOKENS, device=self.dev)
        bias[:, :, :, 77:] = torch.where(drop, -1e9, 0.0)[:, None, None, None]
        return bias

    def pick(self, b, pool=None):
        if pool is None:
            return torch.randint(0, self.n, (b,), device=self.dev)
        return pool[torch.randint(0, len(pool), (b,), device=self.dev)]

    # -- stages --

    def stage_vae(self, seconds):
        """Encoder and decoder together (forge.py's vae stage at a GPU's batch): moves the latent space, so every
        stage after it must run too (they start from --init's weights and adapt)."""
        vae = self.vae.train()
        b = self.args.batch // 4

        def step():
            return vae_loss(vae, self.images(self.pick(b)))

        self.train("vae", list(vae.parameters()), 2e-4, seconds, step, b)
        vae.eval()
        save_npz(os.path.join(self.args.out, "vae.npz"), {"vae": vae})

    def stage_decoder(self, seconds):
        """Sharper decoder on the frozen encoder's mean latents: the latent space does not move."""
        vae = self.vae.train()
        for p in vae.encoder.parameters():
            p.requires_grad_(False)
        b = self.args.batch // 4

        def step():
            x = self.images(self.pick(b))
            with torch.no_grad():
                mean, _ = vae.encode(x)
            return edge_weighted_l1(vae.decode(mean), x)

        self.train("decoder", list(vae.decoder.parameters()), 2e-4, seconds, step, b)
        vae.eval()
        save_npz(os.path.join(self.args.out, "vae.npz"), {"vae": vae})

    def joint_modules(self):
        _, table, size = vocab.build_tables()
        return torch.nn.ModuleDict({"unet": nets.UNet(), "te": nets.TextEncoder(torch.from_numpy(table), size),
                                    "adapter": nets.ColourAdapter()}).to(self.dev)

    def stage_unet(self, seconds):
        joint = self.joint_modules()
        warm = load_npz(os.path.join(self.args.init, "joint.npz"), {"joint": joint})
        self.log(f"unet: {'continuing from --init' if warm else 'from scratch'}")
        ema = self.joint_modules()
        ema.load_state_dict(joint.state_dict())
        for p in ema.parameters():
            p.requires_grad_(False)
        b = self.args.batch

        def step():
            idx = self.pick(b)
            zt, t, noise = self.noised(idx)
            ctx = torch.cat([joint["te"](self.captions(idx, 0.15))[0], joint["adapter"](self.d["hists"][idx])], 1)
            return F.mse_loss(joint["unet"](zt, t, ctx, ctx_bias=self.colour_bias(b)), noise)

        self.train("unet", list(joint.parameters()), 2e-4 if warm else 5e-4, seconds, step, b, ema=(joint, ema))
        self.joint = ema.eval()
        save_npz(os.path.join(self.args.out, "joint.npz"), {"joint": ema})

    def inpaint_mask(self, idx):
        """Latent-cell masks (B, 1, 16, 16): an object's box grown by up to 6 px (70%), a random box (20%) or all (10%)."""
        b, dev = len(idx), self.dev
        k = (torch.rand(b, device=dev) * self.d["nobj"][idx]).long()
        box = self.d["boxes"][idx, k] + torch.rand(b, 4, device=dev) * torch.tensor([-6, -6, 6, 6], device=dev)
        x0, y0 = torch.rand(b, device=dev) * 100, torch.rand(b, device=dev) * 100
        rand_box = torch.stack([x0, y0, x0 + 16 + torch.rand(b, device=dev) * (128 - 16 - x0),
                                y0 + 16 + torch.rand(b, device=dev) * (128 - 16 - y0)], 1)
        full = torch.tensor([0.0, 0.0, 128.0, 128.0], device=dev).expand(b, 4)
        r = torch.rand(b, device=dev)[:, None]
        box = torch.where(r < 0.7, box, torch.where(r < 0.9, rand_box, full))
        cells = torch.arange(16, device=dev, dtype=torch.float32) * 8
        inside_x = (cells[None] < box[:, 2:3]) & (cells[None] + 8 > box[:, 0:1])
        inside_y = (cells[None] < box[:, 3:4]) & (cells[None] + 8 > box[:, 1:2])
        return (inside_y[:, :, None] & inside_x[:, None, :]).float()[:, None]

    def stage_inpaint(self, seconds):
        """Inpainting UNet (diffusers order: latents 4, mask 1, masked-image latents 4), from the base UNet with
        zero weights on the five new input channels; text encoder and colour adapter frozen (shared with the base)."""
        unet = nets.UNet(in_ch=9).to(self.dev)
        base = self.joint["unet"].state_dict()
        own = unet.state_dict()
        for k, v in base.items():
            if k == "enc.conv_in.weight":
                own[k].zero_()
                own[k][:, :4] = v
            else:
                own[k] = v.clone()
        unet.load_state_dict(own)
        ema = nets.UNet(in_ch=9).to(self.dev)
        ema.load_state_dict(unet.state_dict())
        for p in ema.parameters():
            p.requires_grad_(False)
        b = self.args.batch // 2

        def step():
            idx = self.pick(b)
            zt, t, noise = self.noised(idx)
            mask = self.inpaint_mask(idx)
            with torch.no_grad():
                keep = 1 - F.interpolate(mask, scale_factor=8.0, mode="nearest")
                masked = self.vae.encode(self.images(idx) * keep)[0] * self.scale
                ctx = torch.cat([self.joint["te"](self.captions(idx, 0.1))[0],
                                 self.joint["adapter"](self.d["hists"][idx])], 1)
            pred = unet(torch.cat([zt, mask, masked], 1), t, ctx, ctx_bias=self.colour_bias(b))
            return F.mse_loss(pred, noise)

        self.train("inpaint", list(unet.parameters()), 2e-4, seconds, step, b, ema=(unet, ema))
        save_npz(os.path.join(self.args.out, "inpaint.npz"), {"unet": ema.eval()})

    def hint(self, cond, idx):
        if cond in GREY_MAPS:
            return (self.d["grey"][GREY_MAPS.index(cond)][idx].float() / 255.0)[:, None].expand(-1, 3, -1, -1)
        return self.d[cond][idx].permute(0, 3, 1, 2).float() / 255.0

    def stage_controlnet(self, cond, seconds):
        unet, te = self.joint["unet"], self.joint["te"]
        for p in self.joint.parameters():
            p.requires_grad_(False)
        cn = nets.ControlNet(unet).to(self.dev)
        src = next((c for c in (cond, CN_WARM_START.get(cond)) if c and
                    os.path.exists(os.path.join(self.args.init, f"cn_{c}.npz"))), None)
        if src:
            load_npz(os.path.join(self.args.init, f"cn_{src}.npz"), {"cn": cn})
        self.log(f"controlnet {cond}: {'from ' + src + ' weights' if src else 'from the UNet encoder'}")
        pool = {"pose": self.person_idx, "lines": self.lines_idx}.get(cond)
        b = self.args.batch // 2

        def step():
            idx = self.pick(b, pool)
            zt, t, noise = self.noised(idx)
            with torch.no_grad():
                ctx = te(self.captions(idx, 0.5))[0]
            res, mid = cn(zt, t, ctx, self.hint(cond, idx))
            return F.mse_loss(unet(zt, t, ctx, res, mid), noise)

        self.train(f"controlnet_{cond}", list(cn.parameters()), 5e-4 if not src else 3e-4, seconds, step, b)
        self.report["stages"][f"controlnet_{cond}"]["init"] = src or "unet encoder"
        self.write_report()
        self.controlnets[cond] = cn.eval()
        group = CN_FILES[cond]
        save_npz(os.path.join(self.args.out, f"{group}.npz"),
                 {c: m for c, m in self.controlnets.items() if CN_FILES[c] == group})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=8.5, help="whole run, rendering included")
    ap.add_argument("--scenes", type=int, default=50000)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--vae-seconds", type=float, default=0.0,
                    help="train the whole VAE this long first (a new latent space: every later stage adapts to it)")
    ap.add_argument("--cpu", action="store_true")
    args = ap.parse_args()
    args.conditions = [c for c in args.conditions.split(",") if c]
    Burst(args).run()


if __name__ == "__main__":
    main()
