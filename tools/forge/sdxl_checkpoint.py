"""SDXL files with random weights, and PyTorch reference outputs, for ControlHost's SDXL family (issue 24).

What SDXL changes, written here from Stability AI's sd_xl_base.yaml and the generative-models (sgm) code it names,
independently of ControlHost's C# graph builder:
- two text encoders: CLIP ViT-L/14 (`conditioner.embedders.0.transformer.text_model.*`, quick GELU) and OpenCLIP
  ViT-bigG/14 (`conditioner.embedders.1.model.*`, exact GELU); the context is both penultimate layers' outputs without
  the final layer norm, concatenated (768 + 1280 = 2048 at full size); the pooled embedding is bigG's last layer
  through ln_final at the end-of-text token, times text_projection;
- the UNet takes a vector y as well: [pooled; 256-wide sinusoidal features of original height, original width, crop
  top, crop left, target height, target width] (adm_in_channels 2816 = 1280 + 6 x 256), through label_emb
  (linear, SiLU, linear) added to the time embedding;
- three resolution levels (320, 640, 1280 at full size) with 0, 2 and 10 transformer blocks, 10 in the middle,
  64-wide heads, linear projections; 9 down residuals plus the middle one;
- the VAE's latents are scaled by 0.13025; epsilon prediction on SD's scaled-linear schedule;
- the OpenCLIP tokenizer pads with id 0 after the end token, the CLIP one with the end token.

    /usr/bin/python3 tools/forge/sdxl_checkpoint.py --out tests/fixtures/sdxl-small

Writes `checkpoint.safetensors` (float16, the original single-file names), `controlnet-diffusers.safetensors` (an SDXL
ControlNet under diffusers' names, as diffusers/controlnet-canny-sdxl-1.0 ships: add_embedding for the vector
conditioning) and `reference.safetensors`: each network's outputs on fixed inputs, and whole generations (Euler, 4 steps,
guidance 5) from fixed noise without and with the ControlNet at weight 1, in float64.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import ldm_checkpoint as ldm  # noqa: E402
import sd2_checkpoint as sd2  # noqa: E402

# Reduced widths with SDXL's rules: three levels, transformer depths (0, 1, 2) and 2 in the middle, 64-wide heads.
SMALL = dict(ch=64, mult=(1, 2, 2), depth=(0, 1, 2), mid_depth=2, head_dim=64, linear=True, ctx=64 + 128, in_ch=4,
             te_width=64, te_layers=3, te_heads=1, te_ff=256,
             g_width=128, g_layers=3, g_heads=2, g_ff=512,
             time_id_width=256, vae_ch=32, vae_mult=(1, 1, 2, 2), hint=(16, 16, 32, 32))
FULL = dict(ch=320, mult=(1, 2, 4), depth=(0, 2, 10), mid_depth=10, head_dim=64, linear=True, ctx=2048, in_ch=4,
            te_width=768, te_layers=12, te_heads=12, te_ff=3072,
            g_width=1280, g_layers=32, g_heads=20, g_ff=5120,
            time_id_width=256, vae_ch=128, vae_mult=(1, 2, 4, 4), hint=(16, 32, 96, 256))
SCALE = 0.13025


class SdxlUNet(ldm.UNetModel):
    """ldm's UNet plus the vector conditioning (label_emb) SDXL adds to the time embedding."""

    def __init__(self, cfg):
        super().__init__(cfg)
        emb = cfg["ch"] * 4
        adm = cfg["g_width"] + 6 * cfg["time_id_width"]
        self.label_emb = nn.Sequential(nn.Sequential(nn.Linear(adm, emb), nn.SiLU(), nn.Linear(emb, emb)))

    def forward(self, x, t, ctx, y, residuals=None):
        return self.run(x, self.time_embed(ldm.timestep_embedding(t, self.cfg["ch"])) + self.label_emb(y), ctx, residuals)


class SdxlControlNet(ldm.ControlNet):
    """cldm's ControlNet with SDXL's label_emb: the same vector y is added to its time embedding."""

    def __init__(self, cfg):
        super().__init__(cfg)
        emb = cfg["ch"] * 4
        adm = cfg["g_width"] + 6 * cfg["time_id_width"]
        self.label_emb = nn.Sequential(nn.Sequential(nn.Linear(adm, emb), nn.SiLU(), nn.Linear(emb, emb)))

    def forward(self, x, t, ctx, hint, y):
        return self.run(x, self.time_embed(ldm.timestep_embedding(t, self.cfg["ch"])) + self.label_emb(y), ctx, hint)


class UnionBlock(nn.Module):
    """The union ControlNet's token mixer: pre-norm multi-head attention over one entry's tokens, then a quick-GELU
    MLP (4x wide), under OpenCLIP-style names (attn.in_proj_weight, attn.out_proj, ln_1, mlp.c_fc, mlp.c_proj, ln_2)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(h * torch.sigmoid(1.702 * h))


class SdxlUnionControlNet(SdxlControlNet):
    """xinsir's "union" ControlNet (diffusers' ControlNetUnionModel): one network for several control types. Per
    entry, a one-hot control_type [B, N] is embedded (each value as 256 sinusoidal features, cos first, through a
    two-layer MLP) and added to the time embedding; the hint's encoding (mean over space, plus the type's row of
    task_embedding) and conv_in's output (mean over space) form two tokens mixed by one UnionBlock; the hint token's
    result through spatial_ch_projs is added, per channel, with the hint's encoding to conv_in's output. Attention
    runs over each entry's own tokens (as ComfyUI does), so an entry's result does not depend on the rest of the batch."""

    def __init__(self, cfg, types=6):
        super().__init__(cfg)
        ch, emb = cfg["ch"], cfg["ch"] * 4
        self.task_embedding = nn.Parameter(torch.empty(types, ch))
        self.transformer_layes = nn.ModuleList([UnionBlock(ch, cfg.get("union_heads", 8))])
        self.spatial_ch_projs = nn.Linear(ch, ch)
        self.control_add_embedding = nn.Sequential(nn.Linear(256 * types, emb), nn.SiLU(), nn.Linear(emb, emb))

    def forward(self, x, t, ctx, hint, y, control_type):
        b = x.shape[0]
        types = ldm.timestep_embedding(control_type.reshape(-1), 256).reshape(b, -1)
        emb = self.time_embed(ldm.timestep_embedding(t, self.cfg["ch"])) + self.control_add_embedding(types) + self.label_emb(y)
        h = self.input_blocks[0](x, emb, ctx)
        cond = self.input_hint_block(hint, emb, ctx)
        tokens = torch.stack([cond.mean(dim=(2, 3)) + control_type @ self.task_embedding, h.mean(dim=(2, 3))], dim=1)
        for layer in self.transformer_layes:
            tokens = layer(tokens)
        h = h + cond + self.spatial_ch_projs(tokens[:, 0])[:, :, None, None]
        outs = [self.zero_convs[0](h, emb, ctx)]
        for block, zero in zip(self.input_blocks[1:], self.zero_convs[1:]):
            h = block(h, emb, ctx)
            outs.append(zero(h, emb, ctx))
        h = self.middle_block(h, emb, ctx)
        outs.append(self.middle_block_out(h, emb, ctx))
        return outs


UNION_KEYS = {"control_add_embedding.0.": "control_add_embedding.linear_1.", "control_add_embedding.2.": "control_add_embedding.linear_2."}


def diffusers_controlnet(cn, cfg, dtype):
    """The ControlNet under diffusers' names (what diffusers/controlnet-*-sdxl-1.0 files hold): label_emb is add_embedding."""
    out = {}
    for k, v in cn.state_dict().items():
        if k.startswith(("task_embedding", "transformer_layes.", "spatial_ch_projs.")):
            name = k
        elif k.startswith("control_add_embedding."):
            name = next(v + k[len(p):] for p, v in UNION_KEYS.items() if k.startswith(p))
        elif k.startswith("label_emb.0."):
            name = {"0": "add_embedding.linear_1", "2": "add_embedding.linear_2"}[k.split(".")[2]] + "." + k.split(".")[-1]
        else:
            name = ldm.diffusers_controlnet_key(k, cfg)
        out[name] = v.to(dtype)
    return out


def with_embedding(te, vectors):
    """A copy of a text encoder whose token table has the embedding's vectors appended (ids 49408, 49409, ...)."""
    import copy
    m = copy.deepcopy(te)
    table = m.text_model.embeddings.token_embedding if hasattr(m, "text_model") else m.token_embedding
    table.weight = nn.Parameter(torch.cat([table.weight.data, vectors.double()]))
    return m


def clip_penultimate(te, ids):
    """CLIP's hidden_states[-2]: every layer but the last, no final layer norm."""
    tm = te.text_model
    x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding.weight[: ids.shape[1]]
    for layer in tm.encoder.layers[:-1]:
        x = layer(x)
    return x


def big_g(te, ids):
    """bigG's penultimate layer (no ln_final) and its pooled, projected embedding."""
    n = ids.shape[1]
    mask = torch.full((n, n), float("-inf"), dtype=te.positional_embedding.dtype).triu(1)
    x = te.token_embedding(ids) + te.positional_embedding[:n]
    blocks = te.transformer.resblocks
    for block in blocks[:-1]:
        x = block(x, mask)
    penultimate = x
    last = te.ln_final(blocks[-1](x, mask))
    # at the end token (its first occurrence: embedding ids after the vocabulary are higher than it)
    pooled = last[torch.arange(ids.shape[0]), (ids == sd2.EOS).int().argmax(dim=-1)] @ te.text_projection
    return penultimate, pooled


def vector(pooled, time_ids, width):
    """y: the pooled embedding, then each of the six size numbers as sinusoidal features (cos first), in order."""
    b = time_ids.shape[0]
    feats = ldm.timestep_embedding(time_ids.reshape(-1), width).reshape(b, -1)
    return torch.cat([pooled, feats], dim=1)


def conditioning(te1, te2, words, vocab):
    ids1 = torch.tensor([sd2.ids_of(words, vocab)])
    ids1[ids1 == sd2.PAD] = sd2.EOS  # CLIP pads with the end token
    ids1[0, 0] = sd2.BOS
    ids2 = torch.tensor([sd2.ids_of(words, vocab)])
    p2, pooled = big_g(te2, ids2)
    return torch.cat([clip_penultimate(te1, ids1), p2], dim=-1), pooled


def generate(unet, vae, te1, te2, vocab, words, noise, time_ids, steps, cfg_scale, width, cn=None, hint=None):
    """Euler (epsilon), guidance with the unconditional half first; with a ControlNet at weight 1 on both halves."""
    c, pc = conditioning(te1, te2, words, vocab)
    u, pu = conditioning(te1, te2, [], vocab)
    ctx = torch.cat([u, c])
    y = vector(torch.cat([pu, pc]), torch.cat([time_ids, time_ids]), width)
    sigmas, ts = sd2.k_diffusion_sigmas(steps)
    x = noise * sigmas[0]
    for i in range(steps):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = torch.cat([x, x]) / (s * s + 1).sqrt()
        t = torch.full((2,), float(ts[i]), dtype=torch.float64)
        out = unet(scaled, t, ctx, y, None if cn is None else cn(scaled, t, ctx, torch.cat([hint, hint]), y))
        eps = out[:1] + cfg_scale * (out[1:] - out[:1])
        denoised = x - s * eps
        x = x + (x - denoised) / s * (nxt - s)
    return x, vae.decode(x / SCALE)


def sdxl_lora_targets(unet, te1, te2):
    """(module, parameter, rows, kohya key) for an SDXL LoRA as kohya's SDXL trainer names it: lora_unet_ with ldm module
    paths, lora_te1_ with CLIP-L's Hugging Face names, lora_te2_ with bigG in Hugging Face spelling (sd2's
    openclip_lora_targets)."""
    targets = sd2.unet_lora_targets(unet)
    for name, m in te1.named_modules():
        if name.endswith(("self_attn.q_proj", "self_attn.v_proj", "mlp.fc1")):
            targets.append((te1, name + ".weight", None, "lora_te1_" + name.replace(".", "_")))
    return targets + sd2.openclip_lora_targets(te2, "lora_te2_")


def big_g_hf(te2, dtype):
    """bigG under Hugging Face's CLIPTextModelWithProjection names (diffusers' text_encoder_2): OpenCLIP's stacked
    in_proj split into q/k/v_proj, ln_1/ln_2 as layer_norm1/2, c_fc/c_proj as fc1/fc2, text_projection as a Linear."""
    sd, out = te2.state_dict(), {}
    d = sd["token_embedding.weight"].shape[1]
    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    for i in range(len(te2.transformer.resblocks)):
        src, dst = f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}."
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            out[dst + f"self_attn.{name}.weight"] = sd[src + "attn.in_proj_weight"][j * d:(j + 1) * d]
            out[dst + f"self_attn.{name}.bias"] = sd[src + "attn.in_proj_bias"][j * d:(j + 1) * d]
        for a, b in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            out[dst + b + ".weight"], out[dst + b + ".bias"] = sd[src + a + ".weight"], sd[src + a + ".bias"]
    out["text_model.final_layer_norm.weight"], out["text_model.final_layer_norm.bias"] = sd["ln_final.weight"], sd["ln_final.bias"]
    out["text_projection.weight"] = sd["text_projection"].t()
    return {k: v.contiguous().to(dtype) for k, v in out.items()}


def write_diffusers(out, unet, vae, te1, te2, cfg, dtype):
    """The same SDXL weights as a diffusers folder (model_index.json, unet/, vae/, text_encoder/, text_encoder_2/)."""
    root = os.path.join(out, "diffusers-sdxl")
    levels = len(cfg["vae_mult"])
    vae_sd = {}
    for k, v in vae.state_dict().items():
        name = ldm.diffusers_vae_name(k, levels)
        vae_sd[name] = (v[:, :, 0, 0] if ".mid_block.attentions." in name and v.dim() == 4 else v).to(dtype)
    unet_sd = {}
    for k, v in unet.state_dict().items():
        if k.startswith("label_emb.0."):
            name = {"0": "add_embedding.linear_1", "2": "add_embedding.linear_2"}[k.split(".")[2]] + "." + k.split(".")[-1]
        else:
            name = ldm.diffusers_unet_key(k, cfg)
        unet_sd[name] = v.to(dtype)
    ldm.save_safetensors(os.path.join(root, "unet", "diffusion_pytorch_model.fp16.safetensors"), unet_sd)
    ldm.save_safetensors(os.path.join(root, "vae", "diffusion_pytorch_model.fp16.safetensors"), vae_sd)
    ldm.save_safetensors(os.path.join(root, "text_encoder", "model.fp16.safetensors"), {k: v.to(dtype) for k, v in te1.state_dict().items()})
    ldm.save_safetensors(os.path.join(root, "text_encoder_2", "model.fp16.safetensors"), big_g_hf(te2, dtype))
    with open(os.path.join(root, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionXLPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]}, f, indent=2)


def save_streaming(path, tensors, metadata=None):
    """save_safetensors without holding a second copy: the header from shapes, then each tensor written in turn."""
    header, offset = {}, 0
    for name, t in tensors.items():
        n = t.numel() * t.element_size()
        header[name] = {"dtype": ldm.DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for t in tensors.values():
            f.write(t.contiguous().numpy().tobytes())


def write_full(out, seed):
    """Full-size SDXL base and ControlNet (a benchmark input, ~7 GB + ~2.5 GB float16): each network is built, given
    random weights, turned to float16 and dropped before the next, so the peak stays near one float32 UNet (~10 GB)."""
    cfg = FULL
    g_cfg = dict(te_width=cfg["g_width"], te_layers=cfg["g_layers"], te_heads=cfg["g_heads"], te_ff=cfg["g_ff"])
    makers = [("model.diffusion_model.", lambda: SdxlUNet(cfg)), ("first_stage_model.", lambda: ldm.AutoencoderKL(cfg)),
              ("conditioner.embedders.0.transformer.", lambda: ldm.ClipTextModel(cfg)), ("conditioner.embedders.1.model.", lambda: sd2.OpenClipText(g_cfg))]
    ckpt = {}
    for i, (prefix, make) in enumerate(makers):
        m = make()
        ldm.randomise(m, seed + i)
        ckpt.update(ldm.prefixed(prefix, m, torch.float16))
        del m
        print("built", prefix, flush=True)
    save_streaming(os.path.join(out, "checkpoint.safetensors"), ckpt, {"format": "pt"})
    del ckpt
    cn = SdxlControlNet(cfg)
    ldm.randomise(cn, seed + 4)
    tensors = diffusers_controlnet(cn, cfg, torch.float16)
    del cn
    save_streaming(os.path.join(out, "controlnet-diffusers.safetensors"), tensors, {"format": "pt"})
    print("wrote", out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/sdxl-small")
    ap.add_argument("--full", action="store_true", help="full SDXL size, checkpoint only (a benchmark input, ~5 GB float16)")
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()
    if args.full:
        write_full(args.out, args.seed)
        return
    cfg = SMALL
    torch.manual_seed(args.seed)
    g_cfg = dict(te_width=cfg["g_width"], te_layers=cfg["g_layers"], te_heads=cfg["g_heads"], te_ff=cfg["g_ff"])
    unet, vae, te1, te2, cn = SdxlUNet(cfg), ldm.AutoencoderKL(cfg), ldm.ClipTextModel(cfg), sd2.OpenClipText(g_cfg), SdxlControlNet(cfg)
    for i, m in enumerate((unet, vae, te1, te2, cn)):
        ldm.randomise(m, args.seed + i)
    inpaint = SdxlUNet(dict(cfg, in_ch=9))  # SDXL's inpainting UNet: latents 4, mask 1, masked-image latents 4
    ldm.randomise(inpaint, args.seed + 9)
    union = SdxlUnionControlNet(cfg)
    ldm.randomise(union, args.seed + 7)
    with torch.no_grad():  # layer-norm scales near 1 (randomise keys on "norm", which ln_1 / ln_2 lack)
        g_ln = torch.Generator().manual_seed(args.seed + 8)
        for name, p in union.named_parameters():
            if ".ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g_ln))
    out = args.out
    os.makedirs(out, exist_ok=True)
    half = torch.float16
    ckpt = {**ldm.prefixed("model.diffusion_model.", unet, half), **ldm.prefixed("first_stage_model.", vae, half),
            **ldm.prefixed("conditioner.embedders.0.transformer.", te1, half), **ldm.prefixed("conditioner.embedders.1.model.", te2, half)}
    ldm.save_safetensors(os.path.join(out, "checkpoint.safetensors"), ckpt, {"format": "pt"})
    ldm.save_safetensors(os.path.join(out, "controlnet-diffusers.safetensors"), diffusers_controlnet(cn, cfg, half), {"format": "pt"})
    ldm.save_safetensors(os.path.join(out, "controlnet-union.safetensors"), diffusers_controlnet(union, cfg, half), {"format": "pt"})
    write_diffusers(out, unet, vae, te1, te2, cfg, half)
    ldm.save_safetensors(os.path.join(out, "inpainting.safetensors"),
                         {**ldm.prefixed("model.diffusion_model.", inpaint, half), **ldm.prefixed("first_stage_model.", vae, half),
                          **ldm.prefixed("conditioner.embedders.0.transformer.", te1, half), **ldm.prefixed("conditioner.embedders.1.model.", te2, half)},
                         {"format": "pt"})

    for m in (unet, vae, te1, te2, cn, union, inpaint):
        ldm.stored(m)
    with open(os.path.join(sd2.ldm_shared(), "clip-tokenizer", "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    g = torch.Generator().manual_seed(args.seed + 40)
    b, lat = 2, 8
    r = {}
    r["unet.sample"] = torch.randn(b, 4, lat, lat, generator=g)
    r["unet.timestep"] = torch.tensor([981.0, 1.0])
    r["unet.context"] = torch.randn(b, ldm.POSITIONS, cfg["ctx"], generator=g)
    r["unet.text_embeds"] = torch.randn(b, cfg["g_width"], generator=g)
    r["unet.time_ids"] = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [768.0, 1344.0, 16.0, 32.0, 832.0, 1216.0]])
    with torch.no_grad():
        x, t, ctx = (r[k].double() for k in ("unet.sample", "unet.timestep", "unet.context"))
        y = vector(r["unet.text_embeds"].double(), r["unet.time_ids"].double(), cfg["time_id_width"])
        r["unet.out_sample"] = unet(x, t, ctx, y)
        ids1 = torch.tensor([sd2.ids_of(["a", "photo", "of"], vocab), sd2.ids_of(["red", "square"], vocab)])
        ids2 = ids1.clone()
        ids1[ids1 == sd2.PAD] = sd2.EOS
        ids1[:, 0] = sd2.BOS
        r["text.input_ids"] = ids1.int()
        r["text.input_ids_2"] = ids2.int()
        r["text.hidden_penultimate"] = clip_penultimate(te1, ids1)
        r["text_2.hidden_penultimate"], r["text_2.text_embeds"] = big_g(te2, ids2)
        r["vae.decoded"] = vae.decode(r["unet.sample"].double())
        r["run.noise"] = torch.randn(1, 4, lat, lat, generator=g)
        time_ids = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]], dtype=torch.float64)
        r["run.latent"], r["run.image"] = generate(unet, vae, te1, te2, vocab, ["a", "red", "square"], r["run.noise"].double(), time_ids,
                                                   steps=4, cfg_scale=5.0, width=cfg["time_id_width"])
        # The ControlNet alone on the UNet test inputs, and a second whole run with it at weight 1 (hint of whole bytes).
        r["controlnet.hint"] = torch.rand(b, 3, lat * 8, lat * 8, generator=g)
        res = cn(x, t, ctx, r["controlnet.hint"].double(), y)
        for i, v in enumerate(res[:-1]):
            r[f"controlnet.down_block_{i}_additional_residual"] = v
        r["controlnet.mid_block_additional_residual"] = res[-1]
        r["run_cn.hint"] = torch.randint(0, 256, (1, 3, lat * 8, lat * 8), generator=g).double() / 255
        # A kohya SDXL LoRA (UNet, CLIP-L, bigG) at multiplier 1: each network with it merged, on the same inputs.
        lora, deltas = sd2.make_lora(sdxl_lora_targets(unet, te1, te2), rank=4, alpha=2.0, seed=args.seed + 60)
        ldm.save_safetensors(os.path.join(out, "lora.safetensors"), lora, {"ss_network_dim": "4", "ss_network_alpha": "2.0"})
        r["lora.unet.out_sample"] = sd2.merged(deltas, unet)(x, t, ctx, y)
        r["lora.text.hidden_penultimate"] = clip_penultimate(sd2.merged(deltas, te1), ids1)
        r["lora.text_2.hidden_penultimate"], r["lora.text_2.text_embeds"] = big_g(sd2.merged(deltas, te2), ids2)
        # The inpainting UNet on a 9-channel sample (its own generator: the draws above stay as they were).
        r["inpainting.sample"] = torch.randn(b, 9, lat, lat, generator=torch.Generator().manual_seed(args.seed + 80))
        r["inpainting.out_sample"] = inpaint(r["inpainting.sample"].double(), t, ctx, y)
        # An SDXL textual-inversion embedding (clip_l for CLIP-L, clip_g for bigG, two vectors each) and both encoders
        # reading a prompt that uses it: its vectors take ids 49408 and 49409, rows after the vocabulary.
        g_emb = torch.Generator().manual_seed(args.seed + 70)
        emb = {"clip_l": (torch.randn(2, cfg["te_width"], generator=g_emb) * 0.5).half(), "clip_g": (torch.randn(2, cfg["g_width"], generator=g_emb) * 0.5).half()}
        ldm.save_safetensors(os.path.join(out, "embedding.safetensors"), emb)
        words = sd2.ids_of(["a", "photo", "of"], vocab)
        with_rows = torch.tensor([words[:3] + [49408, 49409] + words[3:5] + [sd2.PAD] * (ldm.POSITIONS - 7)])  # a photo <emb> of
        ids_emb_2 = with_rows.clone()
        ids_emb_1 = with_rows.clone()
        ids_emb_1[ids_emb_1 == sd2.PAD] = sd2.EOS
        r["embedding.input_ids"], r["embedding.input_ids_2"] = ids_emb_1.int(), ids_emb_2.int()
        r["embedding.text.hidden_penultimate"] = clip_penultimate(with_embedding(te1, emb["clip_l"]), ids_emb_1)
        r["embedding.text_2.hidden_penultimate"], r["embedding.text_2.text_embeds"] = big_g(with_embedding(te2, emb["clip_g"]), ids_emb_2)
        r["run_cn.latent"], r["run_cn.image"] = generate(unet, vae, te1, te2, vocab, ["a", "red", "square"], r["run.noise"].double(), time_ids,
                                                         steps=4, cfg_scale=5.0, width=cfg["time_id_width"], cn=cn, hint=r["run_cn.hint"].double())
        # The union ControlNet asked for type 3 (xinsir's hard edge: canny, lineart, mlsd) on the test inputs, and a
        # whole run with it at weight 1 on the same hint.
        hard_edge = torch.zeros(b, 6, dtype=torch.float64)
        hard_edge[:, 3] = 1
        res = union(x, t, ctx, r["controlnet.hint"].double(), y, hard_edge)
        for i, v in enumerate(res[:-1]):
            r[f"union.down_block_{i}_additional_residual"] = v
        r["union.mid_block_additional_residual"] = res[-1]
        as_cn = lambda xx, tt, cc, hh, yy: union(xx, tt, cc, hh, yy, hard_edge[: xx.shape[0]])  # noqa: E731
        r["run_union.latent"], r["run_union.image"] = generate(unet, vae, te1, te2, vocab, ["a", "red", "square"], r["run.noise"].double(),
                                                               time_ids, steps=4, cfg_scale=5.0, width=cfg["time_id_width"], cn=as_cn,
                                                               hint=r["run_cn.hint"].double())
    ldm.save_safetensors(os.path.join(out, "reference.safetensors"), {k: (v.float() if v.is_floating_point() else v) for k, v in r.items()},
                         {"prompt": "a red square", "negative_prompt": "", "steps": "4", "cfg_scale": "5", "sampler": "Euler",
                          "size": "64x64", "time_ids": "64,64,0,0,64,64"})
    print("wrote", out, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
