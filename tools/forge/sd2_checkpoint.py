"""SD 2.x files with random weights, and PyTorch reference outputs, for ControlHost's SD 2.x family (issue 24).

What SD 2.x changes from SD 1.x, written here from the Stability AI v2 configs (v2-inference-v.yaml) and OpenCLIP's
text tower, independently of ControlHost's C# graph builder:
- the text encoder is OpenCLIP ViT-H/14's text transformer under `cond_stage_model.model.` (token_embedding,
  positional_embedding, transformer.resblocks.N.{ln_1, attn.in_proj_weight/bias (q, k, v stacked), attn.out_proj,
  ln_2, mlp.c_fc, mlp.c_proj}, ln_final, text_projection), exact GELU, and SD 2.x reads its penultimate layer: every
  block but the last, then ln_final (FrozenOpenCLIPEmbedder, layer "penultimate");
- the UNet's attention heads are 64 wide (num_head_channels 64: 5, 10, 20 heads at full size) and its spatial
  transformers project in and out with linear layers (use_linear_in_transformer); the context is 1024 wide;
- the 768-v models predict velocity (parameterization "v"); A1111 reads that from a .yaml beside the checkpoint;
- the tokenizer pads with id 0 after the end-of-text token (OpenCLIP's tokenizer; A1111's id_pad = 0).

    /usr/bin/python3 tools/forge/sd2_checkpoint.py --out tests/fixtures/sd2-small

Writes `checkpoint.safetensors` (float16) with `checkpoint.yaml` (parameterization: "v"), `controlnet.safetensors`
(an SD 2.x ControlNet, bare cldm names), and `reference.safetensors`: each network's outputs on fixed inputs, and a
whole generation (Euler, 4 steps, guidance 5, one ControlNet at weight 1) from fixed noise, computed in float64.
"""
import argparse
import copy
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import ldm_checkpoint as ldm  # noqa: E402

# Reduced widths with SD 2.x's rules: 64-wide heads (1 head at 64 channels, 2 in the 128-wide middle block), linear projections.
SMALL = dict(ch=64, mult=(1, 1, 1, 2), attn_levels=(0, 1, 2), head_dim=64, linear=True, ctx=128, in_ch=4,
             te_width=128, te_layers=3, te_heads=2, te_ff=512,
             vae_ch=32, vae_mult=(1, 1, 2, 2), hint=(16, 16, 32, 32))
FULL = dict(ch=320, mult=(1, 2, 4, 4), attn_levels=(0, 1, 2), head_dim=64, linear=True, ctx=1024, in_ch=4,
            te_width=1024, te_layers=24, te_heads=16, te_ff=4096,
            vae_ch=128, vae_mult=(1, 2, 4, 4), hint=(16, 32, 96, 256))
BOS, EOS, PAD = 49406, 49407, 0


class OpenClipAttention(nn.Module):
    """torch.nn.MultiheadAttention's parameter names (in_proj_weight stacks q, k, v), written out."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * d))
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, mask):
        b, n, d = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        w = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5 + mask
        return self.out_proj((w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))


class OpenClipBlock(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = OpenClipAttention(d, heads)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))


class OpenClipText(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["te_width"]
        self.token_embedding = nn.Embedding(ldm.VOCAB, d)
        self.positional_embedding = nn.Parameter(torch.empty(ldm.POSITIONS, d))
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList([OpenClipBlock(d, cfg["te_heads"], cfg["te_ff"]) for _ in range(cfg["te_layers"])])
        self.ln_final = nn.LayerNorm(d)
        self.text_projection = nn.Parameter(torch.empty(d, d))
        self.register_buffer("logit_scale", torch.tensor(math.log(1 / 0.07)))  # unused by SD; kept as files carry it

    def penultimate(self, ids):
        """SD 2.x's context: all blocks but the last, then ln_final."""
        n = ids.shape[1]
        mask = torch.full((n, n), float("-inf"), dtype=self.positional_embedding.dtype).triu(1)
        x = self.token_embedding(ids) + self.positional_embedding[:n]
        for block in self.transformer.resblocks[:-1]:
            x = block(x, mask)
        return self.ln_final(x)


def ldm_shared():
    return os.environ.get("CONTROLHOST_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


def ids_of(words, vocab):
    """BOS, each word's whole-word token (every word here is one CLIP token), EOS, then PAD."""
    ids = [BOS] + [vocab[w + "</w>"] for w in words] + [EOS]
    return ids + [PAD] * (ldm.POSITIONS - len(ids))


def k_diffusion_sigmas(steps):
    """k-diffusion's discrete schedule over SD's scaled-linear betas: t = linspace(999, 0, n), log-sigma interpolated."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    abar = torch.cumprod(1 - betas, 0)
    log_sigmas = ((1 - abar) / abar).sqrt().log()
    ts = torch.linspace(999, 0, steps, dtype=torch.float64)
    lo = ts.floor().long()
    hi = (lo + 1).clamp(max=999)
    w = ts - lo
    sigmas = ((1 - w) * log_sigmas[lo] + w * log_sigmas[hi]).exp()
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)]), ts


def generate(unet, cn, vae, te, cond_ids, uncond_ids, noise, hint, steps, cfg_scale):
    """Euler with v-prediction and classifier-free guidance (uncond first), the ControlNet on both halves at weight 1."""
    ctx = torch.cat([te.penultimate(uncond_ids), te.penultimate(cond_ids)])
    sigmas, ts = k_diffusion_sigmas(steps)
    x = noise * sigmas[0]
    hints = torch.cat([hint, hint])
    for i in range(steps):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = torch.cat([x, x]) / (s * s + 1).sqrt()
        t = torch.full((2,), float(ts[i]), dtype=torch.float64)
        out = unet(scaled, t, ctx, cn(scaled, t, ctx, hints))
        v = out[:1] + cfg_scale * (out[1:] - out[:1])
        denoised = x / (s * s + 1) - v * s / (s * s + 1).sqrt()
        x = x + (x - denoised) / s * (nxt - s)
    return x, vae.decode(x / 0.18215)


def unet_lora_targets(unet):
    """Some of each kind kohya trains in a UNet (ldm module paths, as kohya's SDXL and SD 2.x files name them):
    attention projections, feed-forward, proj_in, one resnet convolution."""
    return [(unet, name + ".weight", None, "lora_unet_" + name.replace(".", "_")) for name, m in unet.named_modules()
            if name.endswith(("attn1.to_q", "attn2.to_k", "attn2.to_out.0", "ff.net.2", "proj_in"))
            or (name.endswith("in_layers.2") and name.startswith("input_blocks.4"))]


def openclip_lora_targets(te, key_prefix):
    """An OpenCLIP text tower under the Hugging Face names LoRAs give it (<key_prefix>text_model_encoder_layers_N_...):
    q/k/v_proj are the thirds of the fused attn.in_proj_weight, out_proj is attn.out_proj, fc1 is mlp.c_fc."""
    d = te.token_embedding.weight.shape[1]
    targets = []
    for i in range(len(te.transformer.resblocks)):
        block, hf = f"transformer.resblocks.{i}", f"{key_prefix}text_model_encoder_layers_{i}_"
        targets += [(te, block + ".attn.in_proj_weight", (0, d), hf + "self_attn_q_proj"),
                    (te, block + ".attn.in_proj_weight", (2 * d, 3 * d), hf + "self_attn_v_proj"),
                    (te, block + ".attn.out_proj.weight", None, hf + "self_attn_out_proj"),
                    (te, block + ".mlp.c_fc.weight", None, hf + "mlp_fc1")]
    return targets


def make_lora(targets, rank, alpha, seed):
    """A kohya LoRA's tensors (float16, as files hold them) and, per target, the delta they add (alpha / rank scaled)."""
    g = torch.Generator().manual_seed(seed)
    tensors, deltas = {}, []
    for module, param, rows, key in targets:
        w = dict(module.named_parameters())[param]
        shape = w.shape if rows is None else (rows[1] - rows[0],) + tuple(w.shape[1:])
        fan_in = math.prod(shape[1:])
        down = (torch.randn((rank,) + tuple(shape[1:]), generator=g) / math.sqrt(fan_in)).half()
        up = (torch.randn((shape[0], rank) + (1,) * (len(shape) - 2), generator=g) * 0.3).half()
        tensors[key + ".lora_down.weight"], tensors[key + ".lora_up.weight"] = down, up
        tensors[key + ".alpha"] = torch.tensor(float(alpha)).half()
        delta = (up.double().flatten(1) @ down.double().flatten(1)).reshape(shape) * (alpha / rank)
        deltas.append((module, param, rows, delta))
    return tensors, deltas


def merged(deltas, module):
    """A copy of the module with the LoRA's deltas added to its weights."""
    m = copy.deepcopy(module)
    params = dict(m.named_parameters())
    with torch.no_grad():
        for owner, param, rows, delta in deltas:
            if owner is not module:
                continue
            if rows is None:
                params[param].add_(delta)
            else:
                params[param][rows[0]:rows[1]].add_(delta)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/sd2-small")
    ap.add_argument("--full", action="store_true", help="full SD 2.x size, checkpoint only (a benchmark input)")
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()
    cfg = FULL if args.full else SMALL
    torch.manual_seed(args.seed)
    unet, cn, vae, te = ldm.UNetModel(cfg), ldm.ControlNet(cfg), ldm.AutoencoderKL(cfg), OpenClipText(cfg)
    for i, m in enumerate((unet, cn, vae, te)):
        ldm.randomise(m, args.seed + i)
    out = args.out
    os.makedirs(out, exist_ok=True)
    half = torch.float16
    ckpt = {**ldm.prefixed("model.diffusion_model.", unet, half), **ldm.prefixed("first_stage_model.", vae, half),
            **ldm.prefixed("cond_stage_model.model.", te, half)}
    ldm.save_safetensors(os.path.join(out, "checkpoint.safetensors"), ckpt, {"format": "pt"})
    with open(os.path.join(out, "checkpoint.yaml"), "w") as f:
        f.write("model:\n  target: ldm.models.diffusion.ddpm.LatentDiffusion\n  params:\n    parameterization: \"v\"\n")
    ldm.save_safetensors(os.path.join(out, "controlnet.safetensors"), {k: v.to(half) for k, v in cn.state_dict().items()})
    if args.full:
        print("wrote", out)
        return

    for m in (unet, cn, vae, te):
        ldm.stored(m)
    g = torch.Generator().manual_seed(args.seed + 40)
    b, lat = 2, 8
    r = {}
    r["unet.sample"] = torch.randn(b, 4, lat, lat, generator=g)
    r["unet.timestep"] = torch.tensor([981.0, 1.0])
    r["unet.context"] = torch.randn(b, ldm.POSITIONS, cfg["ctx"], generator=g)
    r["controlnet.hint"] = torch.rand(b, 3, lat * 8, lat * 8, generator=g)
    with open(os.path.join(ldm_shared(), "clip-tokenizer", "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with torch.no_grad():
        x, t, ctx = (r[k].double() for k in ("unet.sample", "unet.timestep", "unet.context"))
        res = cn(x, t, ctx, r["controlnet.hint"].double())
        for i, v in enumerate(res[:-1]):
            r[f"controlnet.down_block_{i}_additional_residual"] = v
        r["controlnet.mid_block_additional_residual"] = res[-1]
        r["unet.out_sample"] = unet(x, t, ctx)
        r["unet.out_sample_with_residuals"] = unet(x, t, ctx, res)
        ids = torch.tensor([ids_of(["a", "photo", "of"], vocab), ids_of(["red", "square"], vocab)])
        r["text.input_ids"] = ids.int()
        r["text.last_hidden_state"] = te.penultimate(ids)
        # A whole generation: "a red square", empty negative prompt, 64x64, fixed noise and hint.
        r["run.noise"] = torch.randn(1, 4, lat, lat, generator=g)
        # A hint of whole byte values, as an 8-bit image gives it.
        r["run.hint"] = torch.randint(0, 256, (1, 3, lat * 8, lat * 8), generator=g).double() / 255
        cond, uncond = torch.tensor([ids_of(["a", "red", "square"], vocab)]), torch.tensor([ids_of([], vocab)])
        r["run.latent"], r["run.image"] = generate(unet, cn, vae, te, cond, uncond, r["run.noise"].double(), r["run.hint"].double(),
                                                   steps=4, cfg_scale=5.0)
        # A kohya SD 2.x LoRA (UNet and OpenCLIP ViT-H as lora_te_) at multiplier 1, merged, on the same inputs.
        lora, deltas = make_lora(unet_lora_targets(unet) + openclip_lora_targets(te, "lora_te_"), rank=4, alpha=2.0, seed=args.seed + 60)
        ldm.save_safetensors(os.path.join(out, "lora.safetensors"), lora, {"ss_network_dim": "4", "ss_network_alpha": "2.0"})
        r["lora.unet.out_sample"] = merged(deltas, unet)(x, t, ctx)
        r["lora.text.last_hidden_state"] = merged(deltas, te).penultimate(ids)
    ldm.save_safetensors(os.path.join(out, "reference.safetensors"), {k: (v.float() if v.is_floating_point() else v) for k, v in r.items()},
                         {"prompt": "a red square", "negative_prompt": "", "steps": "4", "cfg_scale": "5", "sampler": "Euler",
                          "size": "64x64", "prediction": "v"})
    print("wrote", out, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
