"""Stable Diffusion 1.5-shaped networks with random weights, exported as a diffusers ONNX model folder.

For measuring what users of real SD 1.5 exports will see, not for generating anything meaningful. The layout is
SD 1.5's (diffusers' UNet2DConditionModel, AutoencoderKL, CLIP ViT-L/14 text encoder, a ControlNet of the UNet's
encoder): widths 320/640/1280/1280, two layers per block, cross-attention on 768-wide context, 12 down residuals
plus the middle one, a 64x64 latent at 512x512. `--small` builds the same layout with reduced widths, which the
tests use (tests/fixtures/sd15-small); the full size is a benchmark only (the UNet is about 3.4 GB in float32 and is
written with external data).

    /usr/bin/python3 tools/forge/sd15.py --out bench/out/sd15            # full size (minutes, ~6 GB on disk)
    /usr/bin/python3 tools/forge/sd15.py --small --out tests/fixtures/sd15-small
    /usr/bin/python3 tools/forge/sd15.py --out bench/out/sd15 --time-only   # PyTorch timings of the same networks
"""
import argparse
import json
import math
import os
import shutil
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FULL = dict(widths=(320, 640, 1280, 1280), attn=(True, True, True, False), ctx=768, head_dim=None, heads=8,
            te_width=768, te_layers=12, te_heads=12, vae=(128, 256, 512, 512), hint=(16, 32, 96, 256))
SMALL = dict(widths=(32, 32, 32, 32), attn=(True, True, True, False), ctx=32, head_dim=None, heads=2,
             te_width=32, te_layers=2, te_heads=2, vae=(32, 32, 32, 32), hint=(16, 16, 16, 32), half_tokens=True)
VOCAB = 49408


def gn(ch):
    return nn.GroupNorm(32, ch, eps=1e-5)


class Resnet(nn.Module):
    def __init__(self, cin, cout, temb=None):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(temb, cout) if temb else None
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time is not None:
            h = h + self.time(F.silu(temb))[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


def attend(q, k, v, heads, causal=False):
    b, n, c = q.shape
    q, k, v = (t.reshape(b, -1, heads, c // heads).transpose(1, 2) for t in (q, k, v))
    w = q @ k.transpose(-1, -2) * (c // heads) ** -0.5
    if causal:
        w = w + torch.full((n, n), float("-inf")).triu(1)
    return (w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)


class Attention(nn.Module):
    def __init__(self, ch, heads, ctx=None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(ch, ch, bias=False)
        self.k, self.v = nn.Linear(ctx or ch, ch, bias=False), nn.Linear(ctx or ch, ch, bias=False)
        self.out = nn.Linear(ch, ch)

    def forward(self, x, ctx=None):
        c = x if ctx is None else ctx
        return self.out(attend(self.q(x), self.k(c), self.v(c), self.heads))


class Transformer(nn.Module):
    """Transformer2DModel with one BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward."""

    def __init__(self, ch, heads, ctx):
        super().__init__()
        self.norm, self.proj_in, self.proj_out = nn.GroupNorm(32, ch, eps=1e-6), nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1)
        self.ln1, self.attn1 = nn.LayerNorm(ch), Attention(ch, heads)
        self.ln2, self.attn2 = nn.LayerNorm(ch), Attention(ch, heads, ctx)
        self.ln3, self.ff_in, self.ff_out = nn.LayerNorm(ch), nn.Linear(ch, ch * 8), nn.Linear(ch * 4, ch)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).reshape(b, c, h * w).transpose(1, 2)
        t = t + self.attn1(self.ln1(t))
        t = t + self.attn2(self.ln2(t), ctx)
        a, g = self.ff_in(self.ln3(t)).chunk(2, dim=-1)
        t = t + self.ff_out(a * F.gelu(g))
        return x + self.proj_out(t.transpose(1, 2).reshape(b, c, h, w))


def timestep_features(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.cos(), args.sin()], dim=1)  # flip_sin_to_cos


class Encoder(nn.Module):
    """conv_in, time embedding, the down blocks and the middle block: the UNet's encoder, and a ControlNet's copy."""

    def __init__(self, cfg):
        super().__init__()
        w = cfg["widths"]
        self.cfg, temb = cfg, w[0] * 4
        self.conv_in = nn.Conv2d(4, w[0], 3, padding=1)
        self.time1, self.time2 = nn.Linear(w[0], temb), nn.Linear(temb, temb)
        self.down = nn.ModuleList()
        cin = w[0]
        for i, ch in enumerate(w):
            block = nn.ModuleDict({
                "res": nn.ModuleList([Resnet(cin if j == 0 else ch, ch, temb) for j in range(2)]),
                "attn": nn.ModuleList([Transformer(ch, cfg["heads"], cfg["ctx"]) for _ in range(2)] if cfg["attn"][i] else []),
            })
            if i < len(w) - 1:
                block["downsample"] = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
            self.down.append(block)
            cin = ch
        self.mid1, self.mid_attn, self.mid2 = Resnet(w[-1], w[-1], temb), Transformer(w[-1], cfg["heads"], cfg["ctx"]), Resnet(w[-1], w[-1], temb)

    def forward(self, x, t, ctx, hint=None):
        temb = self.time2(F.silu(self.time1(timestep_features(t, self.cfg["widths"][0]))))
        h = self.conv_in(x)
        if hint is not None:
            h = h + hint
        skips = [h]
        for block in self.down:
            for j, res in enumerate(block["res"]):
                h = res(h, temb)
                if len(block["attn"]):
                    h = block["attn"][j](h, ctx)
                skips.append(h)
            if "downsample" in block:
                h = block["downsample"](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb), ctx), temb)
        return h, skips, temb


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["widths"]
        self.enc = Encoder(cfg)
        temb = w[0] * 4
        skip_ch = [w[0]] + [c for i, c in enumerate(w) for _ in range(3 if i < len(w) - 1 else 2)]
        self.up = nn.ModuleList()
        prev = w[-1]
        rev_attn = list(reversed(cfg["attn"]))
        for i, ch in enumerate(reversed(w)):
            res, attn = nn.ModuleList(), nn.ModuleList()
            for j in range(3):
                res.append(Resnet((prev if j == 0 else ch) + skip_ch.pop(), ch, temb))
                if rev_attn[i]:
                    attn.append(Transformer(ch, cfg["heads"], cfg["ctx"]))
            block = nn.ModuleDict({"res": res, "attn": attn})
            if i < len(w) - 1:
                block["upsample"] = nn.Conv2d(ch, ch, 3, padding=1)
            self.up.append(block)
            prev = ch
        self.out_norm, self.out = gn(w[0]), nn.Conv2d(w[0], 4, 3, padding=1)

    def forward(self, x, t, ctx, residuals=None, mid=None):
        h, skips, temb = self.enc(x, t, ctx)
        if residuals is not None:
            skips = [s + r for s, r in zip(skips, residuals)]
            h = h + mid
        for block in self.up:
            for j, res in enumerate(block["res"]):
                h = res(torch.cat([h, skips.pop()], 1), temb)
                if len(block["attn"]):
                    h = block["attn"][j](h, ctx)
            if "upsample" in block:
                h = block["upsample"](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))


class ControlNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w, hc = cfg["widths"], cfg["hint"]
        self.enc = Encoder(cfg)
        layers = [nn.Conv2d(3, hc[0], 3, padding=1), nn.SiLU()]
        for i in range(len(hc) - 1):  # three stride-2 convs: 512 px -> the 64x64 latent
            layers += [nn.Conv2d(hc[i], hc[i], 3, padding=1), nn.SiLU(), nn.Conv2d(hc[i], hc[i + 1], 3, padding=1, stride=2), nn.SiLU()]
        layers.append(nn.Conv2d(hc[-1], w[0], 3, padding=1))
        self.hint = nn.Sequential(*layers)
        skip_ch = [w[0]] + [c for i, c in enumerate(w) for _ in range(3 if i < len(w) - 1 else 2)]
        # Real ControlNets start these at zero and train them; random small weights keep the arithmetic the same.
        self.zeros = nn.ModuleList([nn.Conv2d(c, c, 1) for c in skip_ch])
        self.zero_mid = nn.Conv2d(w[-1], w[-1], 1)
        for z in list(self.zeros) + [self.zero_mid]:
            nn.init.normal_(z.weight, std=1e-3)

    def forward(self, x, t, ctx, cond):
        h, skips, _ = self.enc(x, t, ctx, hint=self.hint(cond))
        return [z(s) for z, s in zip(self.zeros, skips)], self.zero_mid(h)


class TextEncoder(nn.Module):
    """CLIP's text transformer: causal pre-LN layers with quick-GELU, pooled at the end-of-text token."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["te_width"]
        self.heads = cfg["te_heads"]
        self.tok, self.pos = nn.Embedding(VOCAB, d), nn.Parameter(torch.randn(77, d) * 0.01)
        if cfg.get("half_tokens"):
            self.tok = self.tok.half()  # the small variant stores its 49408-row table in float16 (a test fixture)
        self.layers = nn.ModuleList([nn.ModuleDict({
            "ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d), "out": nn.Linear(d, d),
            "ln2": nn.LayerNorm(d), "fc1": nn.Linear(d, 4 * d), "fc2": nn.Linear(4 * d, d)}) for _ in range(cfg["te_layers"])])
        self.final = nn.LayerNorm(d)

    def forward(self, ids):
        x = self.tok(ids.long()).float() + self.pos[: ids.shape[1]]
        for layer in self.layers:
            q, k, v = layer["qkv"](layer["ln1"](x)).chunk(3, dim=-1)
            x = x + layer["out"](attend(q, k, v, self.heads, causal=True))
            h = layer["fc1"](layer["ln2"](x))
            x = x + layer["fc2"](h * torch.sigmoid(1.702 * h))
        x = self.final(x)
        pooled = x[torch.arange(x.shape[0]), ids.long().argmax(-1)]
        return x, pooled


class VaeAttention(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.norm, self.q, self.k, self.v, self.out = gn(ch), nn.Linear(ch, ch), nn.Linear(ch, ch), nn.Linear(ch, ch), nn.Linear(ch, ch)

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        return x + self.out(attend(self.q(t), self.k(t), self.v(t), 1)).transpose(1, 2).reshape(b, c, h, w)


class VaeEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = cfg["vae"]
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        blocks, cin = [], ch[0]
        for i, c in enumerate(ch):
            blocks += [Resnet(cin, c), Resnet(c, c)]
            if i < len(ch) - 1:
                blocks.append(nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, c, 3, stride=2)))
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.mid = nn.Sequential(Resnet(ch[-1], ch[-1]), VaeAttention(ch[-1]), Resnet(ch[-1], ch[-1]))
        self.out = nn.Sequential(gn(ch[-1]), nn.SiLU(), nn.Conv2d(ch[-1], 8, 3, padding=1), nn.Conv2d(8, 8, 1))

    def forward(self, x):
        return self.out(self.mid(self.blocks(self.conv_in(x))))[:, :4]


class VaeDecoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = list(reversed(cfg["vae"]))
        self.conv_in = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(4, ch[0], 3, padding=1))
        self.mid = nn.Sequential(Resnet(ch[0], ch[0]), VaeAttention(ch[0]), Resnet(ch[0], ch[0]))
        blocks, cin = [], ch[0]
        for i, c in enumerate(ch):
            blocks += [Resnet(cin, c), Resnet(c, c), Resnet(c, c)]
            if i < len(ch) - 1:
                blocks += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)]
            cin = c
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Sequential(gn(ch[-1]), nn.SiLU(), nn.Conv2d(ch[-1], 3, 3, padding=1))

    def forward(self, z):
        return self.out(self.blocks(self.mid(self.conv_in(z))))


def store_half(path):
    """Stores a model's float32 weights as float16 with a Cast after each (the small fixture's size halves; the
    arithmetic stays float32, as in the embedded family)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    model = onnx.load(path)
    g = model.graph
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) < 1024:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16")
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
        init.CopyFrom(half)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(model, path)


def residual_names(n):
    return [f"down_block_{i}_additional_residual" for i in range(n)] + ["mid_block_additional_residual"]


def export(module, args, path, inputs, outputs, axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=17,
                      do_constant_folding=True)


class UNetExport(nn.Module):
    def __init__(self, unet, n):
        super().__init__()
        self.unet, self.n = unet, n

    def forward(self, sample, timestep, ctx, *res):
        return self.unet(sample, timestep, ctx, list(res[: self.n]), res[self.n])


class ControlNetExport(nn.Module):
    def __init__(self, cn):
        super().__init__()
        self.cn = cn

    def forward(self, sample, timestep, ctx, cond):
        res, mid = self.cn(sample, timestep, ctx, cond)
        return (*res, mid)


def residual_shapes(cfg, latent, batch=1):
    w = cfg["widths"]
    shapes, s = [(w[0], latent)], latent
    for i, c in enumerate(w):
        shapes += [(c, s), (c, s)]
        if i < len(w) - 1:
            s = (s + 1) // 2
            shapes.append((c, s))
    return [(batch, c, s, s) for c, s in shapes] + [(batch, w[-1], s, s)]


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return UNet(cfg).eval(), ControlNet(cfg).eval(), TextEncoder(cfg).eval(), VaeEncoder(cfg).eval(), VaeDecoder(cfg).eval()


def write_folder(cfg, out, name):
    unet, cn, te, venc, vdec = build(cfg)
    latent = 16 if cfg is SMALL else 64  # the small one at 128x128 keeps 2x2 at its deepest level
    shapes = residual_shapes(cfg, latent)
    n = len(shapes) - 1
    names = residual_names(n)
    sd = os.path.join(out, name)
    lat, t, ctx = torch.randn(1, 4, latent, latent), torch.tensor([500.0]), torch.randn(1, 77, cfg["ctx"])
    step_axes = {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
                 "encoder_hidden_states": {0: "batch", 1: "tokens"}}
    res_axes = {nm: {0: "batch", 2: f"{nm}_h", 3: f"{nm}_w"} for nm in names}
    with torch.no_grad():
        res = [torch.randn(*s) * 0.01 for s in shapes]
        export(UNetExport(unet, n), (lat, t, ctx, *res), f"{sd}/unet/model.onnx", ["sample", "timestep", "encoder_hidden_states"] + names,
               ["out_sample"], {**step_axes, **res_axes, "out_sample": {0: "batch", 2: "height", 3: "width"}})
        ids = torch.zeros(1, 77, dtype=torch.int32)
        export(te, (ids,), f"{sd}/text_encoder/model.onnx", ["input_ids"], ["last_hidden_state", "pooler_output"], {"input_ids": {0: "batch"}})
        px = latent * 8
        export(venc, (torch.rand(1, 3, px, px) * 2 - 1,), f"{sd}/vae_encoder/model.onnx", ["sample"], ["latent_sample"],
               {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "lh", 3: "lw"}})
        export(vdec, (lat,), f"{sd}/vae_decoder/model.onnx", ["latent_sample"], ["sample"],
               {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "ph", 3: "pw"}})
        cdir = os.path.join(out, f"controlnet-{name}-canny")
        export(ControlNetExport(cn), (lat, t, ctx, torch.rand(1, 3, px, px)), f"{cdir}/model.onnx",
               ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"], names,
               {**step_axes, "controlnet_cond": {0: "batch", 2: "ch", 3: "cw"}, **res_axes})
    if cfg is SMALL:
        for part in ("unet", "text_encoder", "vae_encoder", "vae_decoder"):
            store_half(f"{sd}/{part}/model.onnx")
        store_half(f"{cdir}/model.onnx")
    tiny = os.path.join(ROOT, "models", "tiny-sd")
    # The small variant is a test fixture: the test adds the tokenizer tables (1.5 MB) from models/tiny-sd.
    for sub in ("scheduler",) if cfg is SMALL else ("tokenizer", "scheduler"):
        shutil.copytree(os.path.join(tiny, sub), os.path.join(sd, sub), dirs_exist_ok=True)
    shutil.copy(os.path.join(tiny, "model_index.json"), sd)
    with open(f"{sd}/unet/config.json", "w") as f:
        json.dump({"sample_size": latent, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
                   "block_out_channels": list(cfg["widths"]), "cross_attention_dim": cfg["ctx"]}, f, indent=2)
    with open(f"{sd}/vae_decoder/config.json", "w") as f:
        json.dump({"scaling_factor": 0.18215}, f)
    with open(f"{cdir}/controlnet.json", "w") as f:
        json.dump({"condition": "canny", "base": name, "resolution": latent * 8}, f)
    with open(f"{sd}/README.md", "w") as f:
        f.write(f"# {name}\n\nSD 1.5-shaped networks with random weights (tools/forge/sd15.py{' --small' if cfg is SMALL else ''}): "
                "for measuring speed and exercising the layout, not for images.\n")


def time_torch(cfg, threads, repeats=2):
    """Per-step PyTorch time of the same networks at 512x512: a guidance step (batch 2) with 0, 1 and 2 ControlNets."""
    torch.set_num_threads(threads)
    unet, cn, _, _, _ = build(cfg)
    x, t, ctx, hint = torch.randn(2, 4, 64, 64), torch.full((2,), 500.0), torch.randn(2, 77, cfg["ctx"]), torch.rand(2, 3, 512, 512)
    out = {}
    with torch.no_grad():
        for k in (0, 1, 2):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                res = mid = None
                for _ in range(k):
                    r, m = cn(x, t, ctx, hint)
                    res = r if res is None else [a + b for a, b in zip(res, r)]
                    mid = m if mid is None else mid + m
                unet(x, t, ctx, res, mid)
                times.append(time.perf_counter() - start)
            out[k] = 1000 * min(times)
            print(json.dumps({"units": k, "torch_ms_per_step": out[k]}), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "sd15"))
    ap.add_argument("--time-only", action="store_true", help="time the PyTorch networks, export nothing")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cfg = SMALL if args.small else FULL
    if args.time_only:
        result = time_torch(cfg, args.threads)
        with open(os.path.join(args.out, "torch.json"), "w") as f:
            json.dump({"threads": args.threads, "torch": torch.__version__, "ms_per_step": result}, f)
        return
    torch.set_num_threads(args.threads)
    start = time.time()
    write_folder(cfg, args.out, "sd15-small" if args.small else "sd15-shaped")
    print(f"exported to {args.out} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
