"""The tiny model family: VAE, text encoder, UNet, ControlNet and colour adapter.

Shapes follow SD 1.x exports (DESIGN.md sections 3-4): latent factor 8, 4 latent channels, 77 tokens.
Attention is written as matmul + softmax so that torch 1.13 exports it to plain ONNX ops.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT_DIM = 128
UNET_CHANNELS = (48, 96, 96)
NUM_DOWN_RESIDUALS = 6
COLOUR_TOKENS = 8
HIST_BINS = 180
# The reference adapter's condition: an object image as 4 planes (RGB times the object's mask, then the mask) of
# REFERENCE_SIZE squared, flattened; it gives REFERENCE_TOKENS context tokens.
REFERENCE_SIZE = 32
REFERENCE_TOKENS = 8


def norm(ch):
    return nn.GroupNorm(8, ch)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb=None):
        super().__init__()
        self.n1, self.c1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout) if temb else None
        self.n2, self.c2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb=None):
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None:
            h = h + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


def attention(q, k, v, heads, bias=None):
    b, n, c = q.shape
    d = c // heads
    q = q.reshape(b, n, heads, d).transpose(1, 2)
    k = k.reshape(b, -1, heads, d).transpose(1, 2)
    v = v.reshape(b, -1, heads, d).transpose(1, 2)
    w = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(d))
    if bias is not None:
        w = w + bias
    w = torch.softmax(w, dim=-1)
    return torch.matmul(w, v).transpose(1, 2).reshape(b, n, c)


class AttnBlock(nn.Module):
    """Self-attention then cross-attention over the context tokens, on the flattened feature map."""

    def __init__(self, ch, ctx_dim=TEXT_DIM, heads=4):
        super().__init__()
        self.heads = heads
        self.gn = norm(ch)
        self.ln1, self.qkv, self.o1 = nn.LayerNorm(ch), nn.Linear(ch, 3 * ch), nn.Linear(ch, ch)
        self.ln2, self.q, self.kv, self.o2 = nn.LayerNorm(ch), nn.Linear(ch, ch), nn.Linear(ctx_dim, 2 * ch), nn.Linear(ch, ch)

    def forward(self, x, ctx, ctx_bias=None):
        b, c, h, w = x.shape
        t = self.gn(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.qkv(self.ln1(t)).chunk(3, dim=-1)
        t = t + self.o1(attention(q, k, v, self.heads))
        k, v = self.kv(ctx).chunk(2, dim=-1)
        t = t + self.o2(attention(self.q(self.ln2(t)), k, v, self.heads, ctx_bias))
        return x + t.transpose(1, 2).reshape(b, c, h, w)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimeEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.l1, self.l2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, 2 * dim)

    def forward(self, t):
        return self.l2(F.silu(self.l1(timestep_embedding(t, self.dim))))


class Encoder(nn.Module):
    """conv_in + down path + middle: shared by the UNet and (as a trainable copy) by ControlNets."""

    def __init__(self, in_ch=4):
        super().__init__()
        c0, c1, c2 = UNET_CHANNELS
        te = 2 * c0
        self.time = TimeEmbed(c0)
        self.conv_in = nn.Conv2d(in_ch, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, te)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1, self.a1 = ResBlock(c0, c1, te), AttnBlock(c1)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2, self.a2 = ResBlock(c1, c2, te), AttnBlock(c2)
        self.m1, self.ma, self.m2 = ResBlock(c2, c2, te), AttnBlock(c2), ResBlock(c2, c2, te)

    def forward(self, x, t, ctx, ctx_bias=None, hint=None):
        temb = self.time(t)
        h = self.conv_in(x)
        if hint is not None:
            h = h + hint
        skips = [h]
        h = self.d0(h, temb); skips.append(h)
        h = self.down0(h); skips.append(h)
        h = self.a1(self.d1(h, temb), ctx, ctx_bias); skips.append(h)
        h = self.down1(h); skips.append(h)
        h = self.a2(self.d2(h, temb), ctx, ctx_bias); skips.append(h)
        h = self.m2(self.ma(self.m1(h, temb), ctx, ctx_bias), temb)
        return h, skips, temb


class UNet(nn.Module):
    def __init__(self, in_ch=4):
        super().__init__()
        c0, c1, c2 = UNET_CHANNELS
        te = 2 * c0
        self.enc = Encoder(in_ch)
        self.u2a, self.u2b, self.ua2 = ResBlock(c2 + c2, c2, te), ResBlock(c2 + c1, c2, te), AttnBlock(c2)
        self.up2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.u1a, self.u1b, self.ua1 = ResBlock(c2 + c1, c1, te), ResBlock(c1 + c0, c1, te), AttnBlock(c1)
        self.up1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.u0a, self.u0b = ResBlock(c1 + c0, c0, te), ResBlock(c0 + c0, c0, te)
        self.out_norm, self.out = norm(c0), nn.Conv2d(c0, 4, 3, padding=1)

    def forward(self, x, t, ctx, residuals=None, mid_residual=None, ctx_bias=None):
        h, skips, temb = self.enc(x, t, ctx, ctx_bias)
        if residuals is not None:
            skips = [s + r for s, r in zip(skips, residuals)]
            h = h + mid_residual
        h = self.u2a(torch.cat([h, skips[5]], 1), temb)
        h = self.ua2(self.u2b(torch.cat([h, skips[4]], 1), temb), ctx, ctx_bias)
        h = self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u1a(torch.cat([h, skips[3]], 1), temb)
        h = self.ua1(self.u1b(torch.cat([h, skips[2]], 1), temb), ctx, ctx_bias)
        h = self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.u0a(torch.cat([h, skips[1]], 1), temb)
        h = self.u0b(torch.cat([h, skips[0]], 1), temb)
        return self.out(F.silu(self.out_norm(h)))


def zero_conv(ch):
    c = nn.Conv2d(ch, ch, 1)
    nn.init.zeros_(c.weight)
    nn.init.zeros_(c.bias)
    return c


class ControlNet(nn.Module):
    """A trainable copy of the UNet encoder fed by a hint encoder; zero convolutions emit the residuals."""

    def __init__(self, unet: UNet):
        super().__init__()
        c0, c1, c2 = UNET_CHANNELS
        self.enc = Encoder(unet.enc.conv_in.in_channels)
        self.enc.load_state_dict(unet.enc.state_dict())
        self.hint = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.SiLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.SiLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(64, c0, 1))
        nn.init.zeros_(self.hint[-1].weight)
        nn.init.zeros_(self.hint[-1].bias)
        self.zeros = nn.ModuleList([zero_conv(c) for c in (c0, c0, c0, c1, c1, c2)])
        self.zero_mid = zero_conv(c2)

    def forward(self, x, t, ctx, cond, ctx_bias=None):
        h, skips, _ = self.enc(x, t, ctx, ctx_bias, hint=self.hint(cond))
        return [z(s) for z, s in zip(self.zeros, skips)], self.zero_mid(h)


class TextEncoder(nn.Module):
    """CLIP-like causal transformer over a small vocabulary; CLIP ids are mapped to it inside the graph."""

    def __init__(self, id_table: torch.Tensor, vocab: int, layers=2, heads=4):
        super().__init__()
        self.register_buffer("id_table", id_table.long())
        self.tok = nn.Embedding(vocab, TEXT_DIM)
        self.pos = nn.Parameter(torch.randn(77, TEXT_DIM) * 0.02)
        self.heads = heads
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(TEXT_DIM), "qkv": nn.Linear(TEXT_DIM, 3 * TEXT_DIM), "o": nn.Linear(TEXT_DIM, TEXT_DIM),
                "ln2": nn.LayerNorm(TEXT_DIM), "f1": nn.Linear(TEXT_DIM, 2 * TEXT_DIM), "f2": nn.Linear(2 * TEXT_DIM, TEXT_DIM)}))
        self.final = nn.LayerNorm(TEXT_DIM)
        self.register_buffer("causal", torch.triu(torch.full((77, 77), -1e9), diagonal=1))

    def forward(self, input_ids):
        ids = input_ids.long()
        h = self.tok(self.id_table[ids]) + self.pos
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](h)).chunk(3, dim=-1)
            h = h + blk["o"](attention(q, k, v, self.heads, self.causal))
            h = h + blk["f2"](F.gelu(blk["f1"](blk["ln2"](h))))
        h = self.final(h)
        pooled = h[torch.arange(h.shape[0]), ids.argmax(dim=-1)]
        return h, pooled


class ColourAdapter(nn.Module):
    """Composer-style global condition: the 180-bin colour histogram -> context tokens."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(HIST_BINS, 256), nn.Linear(256, COLOUR_TOKENS * TEXT_DIM)
        self.ln = nn.LayerNorm(TEXT_DIM)

    def forward(self, hist):
        h = self.l2(F.silu(self.l1(hist * 10.0)))
        return self.ln(h.reshape(hist.shape[0], COLOUR_TOKENS, TEXT_DIM))


class ReferenceAdapter(nn.Module):
    """An image of an object -> context tokens (the `reference` condition), the colour adapter's mechanism: the
    tokens are appended to the conditional text embeddings. Strided convolutions keep the outline's layout (the
    4x4 grid of features is flattened, not pooled); the object's mean colour and fill enter directly as well, so
    colour need not be rediscovered by the convolutions."""

    def __init__(self):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(4, 32, 3, 2, 1), nn.SiLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.SiLU(),
            nn.Conv2d(64, 64, 3, 2, 1), nn.SiLU())
        grid = (REFERENCE_SIZE // 8) ** 2
        self.summary = nn.Linear(4, 64)
        self.l1, self.l2 = nn.Linear(64 * grid + 64, 256), nn.Linear(256, REFERENCE_TOKENS * TEXT_DIM)
        self.ln = nn.LayerNorm(TEXT_DIM)

    def forward(self, condition):
        x = condition.reshape(-1, 4, REFERENCE_SIZE, REFERENCE_SIZE)
        area = x[:, 3].sum((1, 2))[:, None]
        summary = torch.cat([x[:, :3].sum((2, 3)) / area.clamp(min=1.0), area / REFERENCE_SIZE ** 2], 1)
        h = torch.cat([self.convs(x).flatten(1), F.silu(self.summary(summary))], 1)
        h = self.l2(F.silu(self.l1(h)))
        return self.ln(h.reshape(-1, REFERENCE_TOKENS, TEXT_DIM))


class VAE(nn.Module):
    """128x128x3 <-> 16x16x4; strided convs down, pixel shuffle up to keep the 128x128 layers cheap."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 32, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.SiLU(),
            ResBlock(64, 64),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.SiLU(),
            ResBlock(128, 128), norm(128), nn.SiLU(),
            nn.Conv2d(128, 8, 3, padding=1))
        self.decoder = nn.Sequential(
            nn.Conv2d(4, 128, 3, padding=1),
            ResBlock(128, 128), ResBlock(128, 128),
            nn.Conv2d(128, 4 * 64, 3, padding=1), nn.PixelShuffle(2),
            ResBlock(64, 64),
            nn.Conv2d(64, 4 * 48, 3, padding=1), nn.PixelShuffle(2), nn.SiLU(),
            nn.Conv2d(48, 48, 3, padding=1), nn.SiLU(),
            nn.Conv2d(48, 4 * 16, 3, padding=1), nn.PixelShuffle(2), nn.SiLU(),
            nn.Conv2d(16, 3, 3, padding=1))

    def encode(self, x):
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-20, 10)

    def decode(self, z):
        return self.decoder(z)


def count(m):
    return sum(p.numel() for p in m.parameters())
