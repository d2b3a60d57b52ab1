"""SD 1.x files in the layouts users keep, with random weights, and PyTorch reference outputs for each network.

The modules below carry the state-dict names of the original latent-diffusion code (CompVis `ldm`, lllyasviel's
`cldm` for ControlNets, Hugging Face's CLIPTextModel for the text encoder), so that `state_dict()` is key for key and
shape for shape what an SD 1.5 `.safetensors` checkpoint holds. They are an independent reference for ControlHost's C#
graph builder (src/ControlHost.Checkpoints), which never runs this code.

    /usr/bin/python3 tools/forge/ldm_checkpoint.py --out tests/fixtures/ldm-small          # reduced widths + references
    /usr/bin/python3 tools/forge/ldm_checkpoint.py --full --out bench/out/sd15-ldm         # full SD 1.5 size (~2 GB fp16)
    /usr/bin/python3 tools/forge/ldm_checkpoint.py --full --keys-only                      # key counts and parameters

Written: `checkpoint.safetensors` (single-file SD 1.x, float16), `inpainting.safetensors` (9-channel UNet, reduced
only), `controlnet.safetensors` (bare original ControlNet names, float16, as the shared fp16 ControlNet files),
`lora.safetensors` (kohya names, linear and convolution layers, UNet and text encoder), `embedding.safetensors`
(A1111's `emb_params`), and `reference.safetensors` (inputs and float64-computed outputs, stored float32).
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

FULL = dict(ch=320, mult=(1, 2, 4, 4), attn_levels=(0, 1, 2), heads=8, ctx=768, in_ch=4,
            te_width=768, te_layers=12, te_heads=12, te_ff=3072,
            vae_ch=128, vae_mult=(1, 2, 4, 4), hint=(16, 32, 96, 256))
SMALL = dict(ch=32, mult=(1, 1, 2, 2), attn_levels=(0, 1, 2), heads=8, ctx=64, in_ch=4,
             te_width=64, te_layers=2, te_heads=1, te_ff=256,
             vae_ch=32, vae_mult=(1, 1, 2, 2), hint=(16, 16, 32, 32))
VOCAB, POSITIONS = 49408, 77


def norm(ch, eps=1e-5):
    return nn.GroupNorm(32, ch, eps=eps)


def timestep_embedding(t, dim):
    """ldm's sinusoidal embedding: cos first, then sin, frequencies exp(-ln(10000) i / half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=t.dtype) / half)
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, cin, emb, cout):
        super().__init__()
        self.in_layers = nn.Sequential(norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, cout))
        self.out_layers = nn.Sequential(norm(cout), nn.SiLU(), nn.Dropout(0), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    def __init__(self, dim, heads, ctx=None):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx or dim, dim, bias=False)
        self.to_v = nn.Linear(ctx or dim, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0))

    def forward(self, x, ctx=None):
        c = x if ctx is None else ctx
        q, k, v = self.to_q(x), self.to_k(c), self.to_v(c)
        b, n, d = q.shape
        q, k, v = (t.reshape(b, -1, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        w = (q @ k.transpose(-1, -2)) * (d // self.heads) ** -0.5
        return self.to_out((w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * 4), nn.Dropout(0), nn.Linear(dim * 4, dim))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, ctx):
        super().__init__()
        self.attn1, self.ff, self.attn2 = CrossAttention(dim, heads), FeedForward(dim), CrossAttention(dim, heads, ctx)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x, ctx):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), ctx)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """SD 1.x: 1x1 convolutions in and out; SD 2.x (linear=True): linear layers on the tokens. One block."""

    def __init__(self, ch, heads, ctx, linear=False, depth=1):
        super().__init__()
        self.linear = linear
        self.norm = norm(ch, 1e-6)
        self.proj_in = nn.Linear(ch, ch) if linear else nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(ch, heads, ctx) for _ in range(depth)])
        self.proj_out = nn.Linear(ch, ch) if linear else nn.Conv2d(ch, ch, 1)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        if self.linear:
            t = self.proj_in(self.norm(x).reshape(b, c, h * w).transpose(1, 2))
        else:
            t = self.proj_in(self.norm(x)).reshape(b, c, h * w).transpose(1, 2)
        for block in self.transformer_blocks:
            t = block(t, ctx)
        if self.linear:
            return x + self.proj_out(t).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(t.transpose(1, 2).reshape(b, c, h, w))


def transformer(cfg, ch, depth=1):
    """SD 1.x: a fixed head count (8); SD 2.x and SDXL: heads of a fixed width (num_head_channels 64), so ch // 64
    heads. SDXL stacks several blocks (transformer_depth per level)."""
    heads = ch // cfg["head_dim"] if "head_dim" in cfg else cfg["heads"]
    return SpatialTransformer(ch, heads, cfg["ctx"], cfg.get("linear", False), depth)


def depth_of(cfg, level):
    """Blocks per spatial transformer at a level: SDXL's transformer_depth, else one where attn_levels say."""
    if "depth" in cfg:
        return cfg["depth"][level]
    return 1 if level in cfg["attn_levels"] else 0


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Step(nn.ModuleList):
    """ldm's TimestepEmbedSequential: each layer gets what it needs."""

    def forward(self, x, emb, ctx):
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, ctx)
            else:
                x = layer(x)
        return x


def encoder_blocks(cfg, in_ch):
    """conv_in, time embedding, input_blocks and middle_block: shared by the UNet and the ControlNet."""
    ch, emb = cfg["ch"], cfg["ch"] * 4
    time_embed = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
    blocks = nn.ModuleList([Step([nn.Conv2d(in_ch, ch, 3, padding=1)])])
    chans, cur = [ch], ch
    for level, m in enumerate(cfg["mult"]):
        for _ in range(2):
            layers = [ResBlock(cur, emb, ch * m)]
            cur = ch * m
            if depth_of(cfg, level):
                layers.append(transformer(cfg, cur, depth_of(cfg, level)))
            blocks.append(Step(layers))
            chans.append(cur)
        if level < len(cfg["mult"]) - 1:
            blocks.append(Step([Downsample(cur)]))
            chans.append(cur)
    middle = Step([ResBlock(cur, emb, cur), transformer(cfg, cur, cfg.get("mid_depth", 1)), ResBlock(cur, emb, cur)])
    return time_embed, blocks, middle, chans


class UNetModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.time_embed, self.input_blocks, self.middle_block, chans = encoder_blocks(cfg, cfg["in_ch"])
        ch, emb = cfg["ch"], cfg["ch"] * 4
        cur = chans[-1]
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(cfg["mult"]))[::-1]:
            for i in range(3):
                layers = [ResBlock(cur + chans.pop(), emb, ch * m)]
                cur = ch * m
                if depth_of(cfg, level):
                    layers.append(transformer(cfg, cur, depth_of(cfg, level)))
                if level > 0 and i == 2:
                    layers.append(Upsample(cur))
                self.output_blocks.append(Step(layers))
        self.out = nn.Sequential(norm(ch), nn.SiLU(), nn.Conv2d(ch, 4, 3, padding=1))

    def forward(self, x, t, ctx, residuals=None):
        return self.run(x, self.time_embed(timestep_embedding(t, self.cfg["ch"])), ctx, residuals)

    def run(self, x, emb, ctx, residuals=None):
        """The network given its time embedding (SDXL adds its vector conditioning to it first)."""
        hs, h = [], x
        for block in self.input_blocks:
            h = block(h, emb, ctx)
            hs.append(h)
        h = self.middle_block(h, emb, ctx)
        if residuals is not None:
            hs = [s + r for s, r in zip(hs, residuals[:-1])]
            h = h + residuals[-1]
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], 1), emb, ctx)
        return self.out(h)


class ControlNet(nn.Module):
    """cldm's ControlNet: the UNet's encoder, a hint encoder to the latent grid, and 1x1 convolutions per skip."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.time_embed, self.input_blocks, self.middle_block, chans = encoder_blocks(cfg, 4)
        a, b, c, d = cfg["hint"]
        widths = [(3, a), (a, a), (a, b), (b, b), (b, c), (c, c), (c, d)]
        layers = []
        for i, (cin, cout) in enumerate(widths):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, stride=2 if i in (2, 4, 6) else 1), nn.SiLU()]
        layers.append(nn.Conv2d(d, cfg["ch"], 3, padding=1))
        self.input_hint_block = Step(layers)
        self.zero_convs = nn.ModuleList([Step([nn.Conv2d(c_, c_, 1)]) for c_ in chans])
        self.middle_block_out = Step([nn.Conv2d(chans[-1], chans[-1], 1)])

    def forward(self, x, t, ctx, hint):
        return self.run(x, self.time_embed(timestep_embedding(t, self.cfg["ch"])), ctx, hint)

    def run(self, x, emb, ctx, hint):
        """The network given its time embedding (SDXL adds its vector conditioning to it first)."""
        guided = self.input_hint_block(hint, emb, ctx)
        outs, h = [], x
        for i, (block, zero) in enumerate(zip(self.input_blocks, self.zero_convs)):
            h = block(h, emb, ctx)
            if i == 0:
                h = h + guided
            outs.append(zero(h, emb, ctx))
        h = self.middle_block(h, emb, ctx)
        outs.append(self.middle_block_out(h, emb, ctx))
        return outs


class VaeResnet(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = norm(cin, 1e-6), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = norm(cout, 1e-6), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h


class VaeAttn(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.norm = norm(ch, 1e-6)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(ch, ch, 1) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.norm(x)
        q, k, v = (m(n).reshape(b, c, h * w) for m in (self.q, self.k, self.v))
        a = (q.transpose(1, 2) @ k * c ** -0.5).softmax(-1)  # [b, hw, hw]
        return x + self.proj_out((v @ a.transpose(1, 2)).reshape(b, c, h, w))


class VaeDown(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Level(nn.Module):
    pass


class Mid(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = VaeResnet(ch, ch), VaeAttn(ch), VaeResnet(ch, ch)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class VaeEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult = cfg["vae_ch"], cfg["vae_mult"]
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down, cur = nn.ModuleList(), ch
        for i, m in enumerate(mult):
            level = Level()
            level.block = nn.ModuleList([VaeResnet(cur if j == 0 else ch * m, ch * m) for j in range(2)])
            cur = ch * m
            if i < len(mult) - 1:
                level.downsample = VaeDown(cur)
            self.down.append(level)
        self.mid = Mid(cur)
        self.norm_out, self.conv_out = norm(cur, 1e-6), nn.Conv2d(cur, 8, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class VaeDecoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult = cfg["vae_ch"], cfg["vae_mult"]
        cur = ch * mult[-1]
        self.conv_in = nn.Conv2d(4, cur, 3, padding=1)
        self.mid = Mid(cur)
        levels = [None] * len(mult)
        for i in reversed(range(len(mult))):
            level = Level()
            level.block = nn.ModuleList([VaeResnet(cur if j == 0 else ch * mult[i], ch * mult[i]) for j in range(3)])
            cur = ch * mult[i]
            if i > 0:
                level.upsample = Upsample(cur)
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out, self.conv_out = norm(cur, 1e-6), nn.Conv2d(cur, 3, 3, padding=1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            for block in level.block:
                h = block(h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder, self.decoder = VaeEncoder(cfg), VaeDecoder(cfg)
        self.quant_conv, self.post_quant_conv = nn.Conv2d(8, 8, 1), nn.Conv2d(4, 4, 1)

    def encode_mean(self, x):
        return self.quant_conv(self.encoder(x))[:, :4]

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


class ClipLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.self_attn = nn.Module()
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, n, nn.Linear(d, d))
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.heads = heads

    def forward(self, x):
        b, n, d = x.shape
        h = self.layer_norm1(x)
        a = self.self_attn
        q, k, v = (p(h).reshape(b, n, self.heads, d // self.heads).transpose(1, 2) for p in (a.q_proj, a.k_proj, a.v_proj))
        w = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5
        w = w + torch.full((n, n), float("-inf"), dtype=w.dtype).triu(1)
        x = x + a.out_proj((w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))
        h = self.mlp.fc1(self.layer_norm2(x))
        return x + self.mlp.fc2(h * torch.sigmoid(1.702 * h))


class ClipTextModel(nn.Module):
    """Hugging Face's CLIPTextModel names under text_model.*: CLIP ViT-L/14's text tower at full size."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["te_width"]
        tm = nn.Module()
        tm.embeddings = nn.Module()
        tm.embeddings.token_embedding = nn.Embedding(VOCAB, d)
        tm.embeddings.position_embedding = nn.Embedding(POSITIONS, d)
        tm.encoder = nn.Module()
        tm.encoder.layers = nn.ModuleList([ClipLayer(d, cfg["te_heads"], cfg["te_ff"]) for _ in range(cfg["te_layers"])])
        tm.final_layer_norm = nn.LayerNorm(d)
        self.text_model = tm

    def forward_embeds(self, embeds):
        tm = self.text_model
        x = embeds + tm.embeddings.position_embedding.weight[: embeds.shape[1]]
        for layer in tm.encoder.layers:
            x = layer(x)
        return tm.final_layer_norm(x)

    def forward(self, ids):
        return self.forward_embeds(self.text_model.embeddings.token_embedding(ids))


def randomise(module, seed, std=0.05):
    """Random weights everywhere (real zero convolutions are trained away from zero; zeros would test nothing).
    Norm scales stay near 1 so activations keep a sane range through many layers."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        with torch.no_grad():
            if "norm" in name and p.dim() == 1 and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


# --- safetensors, written by hand (the format: 8-byte little-endian header length, JSON header, raw data) ---
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}


def save_safetensors(path, tensors, metadata=None):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def prefixed(prefix, module, dtype):
    return {prefix + k: v.to(dtype) for k, v in module.state_dict().items()}


# --- kohya LoRA names: diffusers module paths with '.' -> '_', derived here from the ldm path (independently of C#) ---
def diffusers_unet_path(ldm, cfg):
    """ldm module path (input_blocks.1.1.proj_in) -> diffusers path (down_blocks.0.attentions.0.proj_in)."""
    parts = ldm.split(".")
    levels = len(cfg["mult"])
    if parts[0] == "input_blocks":
        i, j, rest = int(parts[1]), int(parts[2]), parts[3:]
        level, k = (i - 1) // 3, (i - 1) % 3
        kind = "resnets" if j == 0 else "attentions"
        head = f"down_blocks.{level}.{kind}.{k}"
    elif parts[0] == "output_blocks":
        i, j, rest = int(parts[1]), int(parts[2]), parts[3:]
        kind = "resnets" if j == 0 else "attentions"
        head = f"up_blocks.{i // 3}.{kind}.{i % 3}"
    elif parts[0] == "middle_block":
        j, rest = int(parts[1]), parts[2:]
        head = {0: "mid_block.resnets.0", 1: "mid_block.attentions.0", 2: "mid_block.resnets.1"}[j]
    else:
        raise ValueError(ldm)
    resnet_names = {"in_layers.2": "conv1", "out_layers.3": "conv2", "emb_layers.1": "time_emb_proj", "skip_connection": "conv_shortcut"}
    tail = ".".join(rest)
    tail = resnet_names.get(tail, tail)
    del levels
    return f"{head}.{tail}"


def diffusers_vae_name(key, levels):
    """ldm VAE key (encoder.down.0.block.1.norm1.weight) -> diffusers key (encoder.down_blocks.0.resnets.1.norm1.weight).
    diffusers stores the attention's q/k/v/proj_out as linear [C, C] (ldm: 1x1 convolutions)."""
    p = key.split(".")
    side = p[0]
    if p[1] in ("down", "up"):
        i = int(p[2]) if p[1] == "down" else levels - 1 - int(p[2])
        blocks = "down_blocks" if p[1] == "down" else "up_blocks"
        if p[3] == "block":
            tail = ".".join(p[5:]).replace("nin_shortcut", "conv_shortcut")
            return f"{side}.{blocks}.{i}.resnets.{p[4]}.{tail}"
        sampler = "downsamplers" if p[3] == "downsample" else "upsamplers"
        return f"{side}.{blocks}.{i}.{sampler}.0.{'.'.join(p[4:])}"
    if p[1] == "mid":
        if p[2].startswith("block_"):
            tail = ".".join(p[3:]).replace("nin_shortcut", "conv_shortcut")
            return f"{side}.mid_block.resnets.{int(p[2][-1]) - 1}.{tail}"
        attn = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}[p[3]]
        return f"{side}.mid_block.attentions.0.{attn}.{p[4]}"
    if p[1] == "norm_out":
        return f"{side}.conv_norm_out.{p[2]}"
    return key


def diffusers_unet_key(key, cfg):
    """A UNet or ControlNet state-dict key in ldm naming -> diffusers naming (None for ControlNet-only parts)."""
    module, _, leaf = key.rpartition(".")
    top = {"time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
           "input_blocks.0.0": "conv_in", "out.0": "conv_norm_out", "out.2": "conv_out"}
    if module in top:
        return f"{top[module]}.{leaf}"
    if module.startswith("input_blocks.") and module.split(".")[3:4] == ["op"]:
        i = int(module.split(".")[1])
        return f"down_blocks.{i // 3 - 1}.downsamplers.0.conv.{leaf}"
    if module.startswith("output_blocks.") and module.split(".")[3:4] == ["conv"] and int(module.split(".")[2]) > 0:
        return f"up_blocks.{int(module.split('.')[1]) // 3}.upsamplers.0.conv.{leaf}"
    return f"{diffusers_unet_path(module, cfg)}.{leaf}"


def diffusers_controlnet_key(key, cfg):
    p = key.split(".")
    if p[0] == "input_hint_block":
        i = int(p[1])
        name = "conv_in" if i == 0 else "conv_out" if i == 14 else f"blocks.{i // 2 - 1}"
        return f"controlnet_cond_embedding.{name}.{p[2]}"
    if p[0] == "zero_convs":
        return f"controlnet_down_blocks.{p[1]}.{p[3]}"
    if p[0] == "middle_block_out":
        return f"controlnet_mid_block.{p[2]}"
    return diffusers_unet_key(key, cfg)


def write_diffusers(out, unet, vae, te, cn, cfg):
    """The same weights in diffusers' folder layout (model_index.json, unet/, vae/, text_encoder/) and a diffusers ControlNet."""
    half = torch.float16
    root = os.path.join(out, "diffusers-sd15")
    levels = len(cfg["vae_mult"])
    vae_sd = {}
    for k, v in vae.state_dict().items():
        name = diffusers_vae_name(k, levels)
        if ".mid_block.attentions." in name and v.dim() == 4:
            v = v[:, :, 0, 0]
        vae_sd[name] = v.to(half)
    save_safetensors(os.path.join(root, "vae", "diffusion_pytorch_model.safetensors"), vae_sd)
    save_safetensors(os.path.join(root, "unet", "diffusion_pytorch_model.safetensors"),
                     {diffusers_unet_key(k, cfg): v.to(half) for k, v in unet.state_dict().items()})
    save_safetensors(os.path.join(root, "text_encoder", "model.safetensors"), {k: v.to(half) for k, v in te.state_dict().items()})
    with open(os.path.join(root, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"]}, f, indent=2)
    save_safetensors(os.path.join(out, "controlnet-diffusers.safetensors"),
                     {diffusers_controlnet_key(k, cfg): v.to(half) for k, v in cn.state_dict().items()})


def lora_targets(unet, te, cfg):
    """Some of each kind kohya trains: attention projections, proj_in/out (1x1 conv), feed-forward, resnet 3x3 conv
    (LoCon), the time projection; q/v/fc1 in the text encoder."""
    targets = []
    for name, m in unet.named_modules():
        if name.endswith(("attn1.to_q", "attn2.to_k", "attn2.to_out.0", "ff.net.2", "proj_in")) or \
                (name.endswith(("in_layers.2", "emb_layers.1")) and "input_blocks.4" in name):
            targets.append(("unet", name, m, "lora_unet_" + diffusers_unet_path(name, cfg).replace(".", "_")))
    for name, m in te.named_modules():
        if name.endswith(("self_attn.q_proj", "self_attn.v_proj", "mlp.fc1")):
            targets.append(("te", name, m, "lora_te_" + name.replace(".", "_")))
    return targets


def make_lora(unet, te, cfg, rank, alpha, seed):
    g = torch.Generator().manual_seed(seed)
    tensors, deltas = {}, {}
    for part, name, m, key in lora_targets(unet, te, cfg):
        w = m.weight
        if w.dim() == 4:
            down = torch.randn(rank, w.shape[1], w.shape[2], w.shape[3], generator=g) / math.sqrt(w[0].numel())
            up = torch.randn(w.shape[0], rank, 1, 1, generator=g) * 0.3
            delta = (up.flatten(1) @ down.flatten(1)).reshape(w.shape)
        else:
            down = torch.randn(rank, w.shape[1], generator=g) / math.sqrt(w.shape[1])
            up = torch.randn(w.shape[0], rank, generator=g) * 0.3
            delta = up @ down
        tensors[key + ".lora_down.weight"] = down.half()
        tensors[key + ".lora_up.weight"] = up.half()
        tensors[key + ".alpha"] = torch.tensor(float(alpha)).half()
        # what the file holds, at its own precision: the merged delta uses the float16 values
        delta = (tensors[key + ".lora_up.weight"].double().flatten(1) @ tensors[key + ".lora_down.weight"].double().flatten(1)).reshape(w.shape)
        deltas[(part, name)] = delta * (alpha / rank)
    return tensors, deltas


def stored(module, dtype=torch.float16):
    """The module with its weights rounded as the file stores them, then in float64 for the reference arithmetic."""
    for p in module.parameters():
        p.data = p.data.to(dtype).double()
    return module.double().eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/ldm-small")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--keys-only", action="store_true")
    ap.add_argument("--loras-only", action="store_true", help="write two kohya LoRAs (lora-a, lora-b) for the config's shapes and stop")
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args()
    cfg = FULL if args.full else SMALL
    torch.manual_seed(args.seed)
    unet, cn, vae, te = UNetModel(cfg), ControlNet(cfg), AutoencoderKL(cfg), ClipTextModel(cfg)
    for i, m in enumerate((unet, cn, vae, te)):
        if not (args.loras_only or args.keys_only):
            randomise(m, args.seed + i)
    if args.loras_only:
        for i, name in enumerate(("lora-a", "lora-b")):
            tensors, _ = make_lora(unet, te, cfg, rank=16, alpha=8.0, seed=args.seed + 50 + i)
            save_safetensors(os.path.join(args.out, f"{name}.safetensors"), tensors, {"ss_network_dim": "16", "ss_network_alpha": "8.0"})
        print("wrote", args.out, "lora-a, lora-b")
        return
    if args.keys_only:
        for prefix, m in (("model.diffusion_model.", unet), ("first_stage_model.", vae),
                          ("cond_stage_model.transformer.", te), ("control_model.", cn)):
            sd = m.state_dict()
            print(f"{prefix:36s} keys {len(sd):5d}  parameters {sum(v.numel() for v in sd.values()):,}")
        for k in ("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
                  "model.diffusion_model.middle_block.1.proj_in.weight", "model.diffusion_model.out.2.weight",
                  "model.diffusion_model.output_blocks.2.1.conv.weight"):
            print(k, list(unet.state_dict()[k.split("model.diffusion_model.")[1]].shape))
        return
    out = args.out
    os.makedirs(out, exist_ok=True)
    half = torch.float16
    ckpt = {**prefixed("model.diffusion_model.", unet, half), **prefixed("first_stage_model.", vae, half),
            **prefixed("cond_stage_model.transformer.", te, half)}
    # What real files carry beside the weights: ignored by loaders.
    ckpt["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(POSITIONS)[None].long()
    ckpt["model_ema.decay"] = torch.tensor(0.9999)
    save_safetensors(os.path.join(out, "checkpoint.safetensors"), ckpt, {"format": "pt"})
    save_safetensors(os.path.join(out, "controlnet.safetensors"), {k: v.to(half) for k, v in cn.state_dict().items()})
    if not args.full:
        write_diffusers(out, unet, vae, te, cn, cfg)
    if args.full:
        print("wrote", out)
        return

    inpaint_cfg = dict(cfg, in_ch=9)
    inpaint = UNetModel(inpaint_cfg)
    randomise(inpaint, args.seed + 10)
    save_safetensors(os.path.join(out, "inpainting.safetensors"),
                     {**prefixed("model.diffusion_model.", inpaint, half), **prefixed("first_stage_model.", vae, half),
                      **prefixed("cond_stage_model.transformer.", te, half)})

    lora_tensors, deltas = make_lora(unet, te, cfg, rank=4, alpha=2.0, seed=args.seed + 20)
    save_safetensors(os.path.join(out, "lora.safetensors"), lora_tensors, {"ss_network_dim": "4", "ss_network_alpha": "2.0"})
    g = torch.Generator().manual_seed(args.seed + 30)
    emb = torch.randn(2, cfg["te_width"], generator=g) * 0.5
    save_safetensors(os.path.join(out, "embedding.safetensors"), {"emb_params": emb})

    for m in (unet, cn, vae, te, inpaint):
        stored(m)
    g = torch.Generator().manual_seed(args.seed + 40)
    b, lat = 2, 8
    r = {}
    r["unet.sample"] = torch.randn(b, 4, lat, lat, generator=g)
    r["unet.timestep"] = torch.tensor([981.0, 1.0])
    r["unet.context"] = torch.randn(b, POSITIONS, cfg["ctx"], generator=g)
    r["controlnet.hint"] = torch.rand(b, 3, lat * 8, lat * 8, generator=g)
    with torch.no_grad():
        x, t, ctx = (r[k].double() for k in ("unet.sample", "unet.timestep", "unet.context"))
        res = cn(x, t, ctx, r["controlnet.hint"].double())
        for i, v in enumerate(res[:-1]):
            r[f"controlnet.down_block_{i}_additional_residual"] = v
        r["controlnet.mid_block_additional_residual"] = res[-1]
        r["unet.out_sample"] = unet(x, t, ctx)
        r["unet.out_sample_with_residuals"] = unet(x, t, ctx, res)
        r["inpainting.sample"] = torch.randn(b, 9, lat, lat, generator=g)
        r["inpainting.out_sample"] = inpaint(r["inpainting.sample"].double(), t, ctx)
        r["vae.image"] = torch.rand(b, 3, lat * 8, lat * 8, generator=g) * 2 - 1
        r["vae.latent_mean"] = vae.encode_mean(r["vae.image"].double())
        r["vae.decoded"] = vae.decode(r["unet.sample"].double())
        ids = torch.full((b, POSITIONS), 49407, dtype=torch.long)
        ids[:, 0] = 49406
        ids[0, 1:4] = torch.tensor([320, 1929, 539])   # "a photo of"
        ids[1, 1:3] = torch.tensor([2368, 3638])
        r["text.input_ids"] = ids.int()
        r["text.last_hidden_state"] = te(ids)
        # the embedding's two vectors in place of tokens 2 and 3 of the first sequence
        embeds = te.text_model.embeddings.token_embedding(ids)
        embeds[0, 2:4] = emb.double()
        r["text.embedded_positions"] = torch.tensor([2, 3]).int()
        r["text.last_hidden_state_with_embedding"] = te.forward_embeds(embeds)
        for part, name, m, _ in lora_targets(unet, te, cfg):
            m.weight.data += deltas[(part, name)].to(m.weight.dtype) * 0.8
        r["lora.weight"] = torch.tensor(0.8)
        r["unet.out_sample_with_lora"] = unet(x, t, ctx)
        r["text.last_hidden_state_with_lora"] = te(ids)
    save_safetensors(os.path.join(out, "reference.safetensors"),
                     {k: (v.float() if v.is_floating_point() else v) for k, v in r.items()})
    print("wrote", out, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
