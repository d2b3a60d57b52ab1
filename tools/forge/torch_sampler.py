"""The PyTorch reference: the committed embedded models run in PyTorch, as a Python user would run them.

The weights are read from the committed ONNX files (import_onnx's mapping) and each network is first checked
against its ONNX parity fixture (tests/fixtures/parity), so the two sides run the same numbers. The sampling matches
ControlHost's `Euler` with the same settings: SD 1.x's scaled-linear schedule, k-diffusion's discrete sigmas,
classifier-free guidance with both halves in one batch, each ControlNet run once per step at batch 2 with its
residuals added at weight 1, the same thread count. It prints one JSON line of timings; bench/ runs it as a
separate process to time it end to end (process start to PNG written) beside ControlHost's CLI.

`--prepare` maps and checks the weights once and saves them as a plain PyTorch state file (the cache's
torch-reference.pt); a run then loads that file, as a Python user loads a checkpoint.

    /usr/bin/python3 tools/forge/torch_sampler.py --prepare
    /usr/bin/python3 tools/forge/torch_sampler.py --units 2 --steps 20 --cfg 5 --threads 2 --out /tmp/torch.png
"""
import argparse
import json
import os
import sys
import time

START = time.perf_counter()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import export  # noqa: E402
import forge  # noqa: E402
import import_onnx as imp  # noqa: E402
import nets  # noqa: E402
import vocab  # noqa: E402

ROOT = imp.ROOT
UNIT_CONDITIONS = ["canny", "seg", "depth"]


def load_controlnet(cond):
    cn = nets.ControlNet(nets.UNet())
    cw = export.ControlNetExport(cn)
    names = ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"]
    ex = imp._step_example()[:3] + (torch.rand(1, 3, 128, 128),)
    imp.load_weights(cn, cw, ex, names, export.RESIDUAL_NAMES, {**export.step_axes(), **export.dyn4("controlnet_cond")},
                     os.path.join(imp.MODELS, f"controlnet-tiny-{cond}", "model.onnx"), "")
    imp.check_parity(cw, f"controlnet-tiny-{cond}")
    return cn.eval()


def load_unet():
    unet = nets.UNet()
    uw = export.UNetExport(unet)
    names = ["sample", "timestep", "encoder_hidden_states"] + export.RESIDUAL_NAMES
    imp.load_weights(unet, uw, imp._step_example(), names, ["out_sample"], export.step_axes(),
                     os.path.join(imp.MODELS, "tiny-sd", "unet", "model.onnx"), "")
    imp.check_parity(uw, "tiny-sd/unet")
    return unet.eval()


def discrete_sigmas(steps, ac):
    """k-diffusion's discrete schedule: t = linspace(999, 0, n), log-sigma interpolated between training steps."""
    sig = ((1 - ac) / ac).sqrt().double()
    log_sig = sig.log()
    ts = torch.linspace(999, 0, steps, dtype=torch.float64)
    lo = ts.floor().long()
    hi = (lo + 1).clamp(max=999)
    w = ts - lo
    sigmas = ((1 - w) * log_sig[lo] + w * log_sig[hi]).exp()
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)]), ts


PREPARED = os.path.join(forge.CACHE, "torch-reference.pt")


def prepare():
    """Every network from the committed ONNX files, each checked against its parity fixture, saved in one file."""
    with open(os.path.join(imp.MODELS, "tiny-sd", "vae_decoder", "config.json")) as f:
        scaling = json.load(f)["scaling_factor"]
    vae, te, unet = imp.import_vae(), imp.import_text_encoder(), load_unet()
    os.makedirs(forge.CACHE, exist_ok=True)
    torch.save({"vae": vae.state_dict(), "te": te.state_dict(), "unet": unet.state_dict(), "scaling": scaling,
                **{f"cn_{c}": load_controlnet(c).state_dict() for c in UNIT_CONDITIONS}}, PREPARED)
    print("wrote", PREPARED)


def load_prepared(units):
    state = torch.load(PREPARED)
    vae, te, unet = nets.VAE(), forge.new_text_encoder(), nets.UNet()
    vae.load_state_dict(state["vae"])
    te.load_state_dict(state["te"])
    unet.load_state_dict(state["unet"])
    cns = []
    for c in UNIT_CONDITIONS[:units]:
        cn = nets.ControlNet(nets.UNet())
        cn.load_state_dict(state[f"cn_{c}"])
        cns.append(cn.eval())
    return vae.eval(), te.eval(), unet.eval(), cns, state["scaling"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prepare", action="store_true", help="map and check the weights once, then save them")
    ap.add_argument("--units", type=int, default=0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prompt", default="a large white square and a small teal square on a blue background")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    if args.prepare:
        prepare()
        return
    if not os.path.exists(PREPARED):
        raise SystemExit(f"{PREPARED} is missing: run tools/forge/torch_sampler.py --prepare once")
    load_start = time.perf_counter()
    vae, te, unet, cns, scaling = load_prepared(args.units)
    load_s = time.perf_counter() - load_start
    evalset = os.path.join(ROOT, "tests", "fixtures", "evalset")
    hints = [torch.from_numpy(cv2.cvtColor(cv2.imread(os.path.join(evalset, f"scene900001.{c}.png")), cv2.COLOR_BGR2RGB))
             .permute(2, 0, 1)[None].float().div(255).repeat(2, 1, 1, 1) for c in UNIT_CONDITIONS[:args.units]]

    word_ids, _, _ = vocab.build_tables()
    ids = torch.from_numpy(np.stack([vocab.tokenize("", word_ids), vocab.tokenize(args.prompt, word_ids)]))
    ctx = te(ids)[0]
    sigmas, ts = discrete_sigmas(args.steps, forge.alphas_cumprod())
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(1, 4, 16, 16, generator=g) * float(sigmas[0])
    step_times = []
    loop_start = time.perf_counter()
    for i in range(args.steps):
        t0 = time.perf_counter()
        s = float(sigmas[i])
        inp = (x / (s * s + 1) ** 0.5).repeat(2, 1, 1, 1)
        t = torch.full((2,), float(ts[i]))
        res, mid = None, None
        for cn, hint in zip(cns, hints):
            r, m = cn(inp, t, ctx, hint)
            res = r if res is None else [a + b for a, b in zip(res, r)]
            mid = m if mid is None else mid + m
        eps = unet(inp, t, ctx, res, mid)
        eps = eps[:1] + args.cfg * (eps[1:] - eps[:1])
        denoised = x - s * eps
        x = x + (x - denoised) / s * (float(sigmas[i + 1]) - s)
        step_times.append(time.perf_counter() - t0)
    loop_s = time.perf_counter() - loop_start
    image = vae.decode(x / scaling).clamp(-1, 1).add(1).mul(127.5).round().byte()[0].permute(1, 2, 0).numpy()
    if args.out:
        cv2.imwrite(args.out, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    later = sorted(step_times[1:])
    print(json.dumps({"units": args.units, "steps": args.steps, "threads": args.threads, "load_s": load_s, "loop_s": loop_s,
                      "ms_per_step": 1000 * later[len(later) // 2], "first_step_ms": 1000 * step_times[0],
                      "torch": torch.__version__, "since_start_s": time.perf_counter() - START}))


if __name__ == "__main__":
    main()
