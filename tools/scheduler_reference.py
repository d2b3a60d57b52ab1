#!/usr/bin/env python3
"""Reference values for the engine's samplers, computed independently of the C# code (pure Python, no numpy).

Written from the published definitions, not from the engine:
- SD 1.x noise schedule: "scaled_linear" betas (sqrt-linear from 0.00085 to 0.012 over 1000 steps), as in the
  CompVis config and diffusers' DDPM schedulers; sigma_t = sqrt((1 - abar_t) / abar_t).
- k-diffusion's discrete schedule (what A1111 uses): t = linspace(999, 0, n), sigma(t) by linear interpolation of
  log sigma between training steps, then a final 0 (Karras et al. 2022, k-diffusion's DiscreteSchedule).
- Karras sigmas: eq. 5 of Karras et al. 2022, rho = 7, between the training sigma range.
- Euler: x += (x - denoised) / sigma * (sigma_next - sigma)   (Karras et al. 2022, Algorithm 1 without churn).
- DPM++ 2M: Lu et al. 2022 (DPM-Solver++, multistep second order), as k-diffusion's sample_dpmpp_2m.
- DDIM: Song et al. 2020, eta = 0, diffusers' "leading" spacing with steps_offset 1, final alpha = abar_0.
- UniPC: Zhao et al. 2023, data prediction, order 2, B(h) = expm1(h) ("bh2"), first order at the first and last
  step, the corrector (UniC) applied to every latent the predictor (UniP) made, written here with general
  Vandermonde solves over the step ratios (the paper's Algorithm 2 with p = 2) on the discrete sigmas.
The model is a fixed analytic stand-in, out(x, step) = 0.3 x + 0.1 sin(step + i), so every step is checked. It is
read as a noise prediction (epsilon) and again as a velocity (v-prediction, Salimans & Ho 2022, as SD 2.x 768-v
models are trained): in sigma space the clean estimate is x/(s^2+1) - v s/sqrt(s^2+1) (k-diffusion's VDenoiser with
sigma_data 1), for DDIM x0 = sqrt(abar) x - sqrt(1-abar) v and eps = sqrt(abar) v + sqrt(1-abar) x.

Writes tests/fixtures/schedulers/reference.json. Run: python3 tools/scheduler_reference.py
"""
import json
import math
import os

T = 1000
STEPS = 10
X0 = [1.5, -0.7, 0.2, 2.3]

betas = [(math.sqrt(0.00085) + i / (T - 1) * (math.sqrt(0.012) - math.sqrt(0.00085))) ** 2 for i in range(T)]
abar = []
p = 1.0
for b in betas:
    p *= 1 - b
    abar.append(p)
train_sigmas = [math.sqrt((1 - a) / a) for a in abar]
log_sigmas = [math.log(s) for s in train_sigmas]


def sigma_at(t):
    lo = int(math.floor(t))
    hi = min(lo + 1, T - 1)
    w = t - lo
    return math.exp((1 - w) * log_sigmas[lo] + w * log_sigmas[hi])


def eps(x, step):
    return [0.3 * v + 0.1 * math.sin(step + i) for i, v in enumerate(x)]


def denoised(x, s, out, pred):
    """The clean estimate from the model output at sigma s (x unscaled, in sigma space)."""
    if pred == "epsilon":
        return [v - s * o for v, o in zip(x, out)]
    return [v / (s * s + 1) - o * s / math.sqrt(s * s + 1) for v, o in zip(x, out)]


def discrete_sigmas(n):
    ts = [(T - 1) - i * (T - 1) / (n - 1) for i in range(n)]
    return [sigma_at(t) for t in ts] + [0.0], ts


def karras_sigmas(n, rho=7.0):
    lo, hi = train_sigmas[0], train_sigmas[-1]
    a, b = hi ** (1 / rho), lo ** (1 / rho)
    return [(a + i / (n - 1) * (b - a)) ** rho for i in range(n)] + [0.0]


def euler(sigmas, pred="epsilon"):
    x = [v * sigmas[0] for v in X0]
    for i in range(len(sigmas) - 1):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = [v / math.sqrt(s * s + 1) for v in x]
        den = denoised(x, s, eps(scaled, i), pred)
        x = [v + (v - d) / s * (nxt - s) for v, d in zip(x, den)]
    return x


def dpmpp_2m(sigmas, pred="epsilon"):
    x = [v * sigmas[0] for v in X0]
    old = None
    t_of = lambda s: -math.log(s)
    for i in range(len(sigmas) - 1):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = [v / math.sqrt(s * s + 1) for v in x]
        den = denoised(x, s, eps(scaled, i), pred)
        if nxt == 0:
            x = den
        else:
            h = t_of(nxt) - t_of(s)
            if old is None:
                d = den
            else:
                r = (t_of(s) - t_of(sigmas[i - 1])) / h
                d = [(1 + 1 / (2 * r)) * a - (1 / (2 * r)) * b for a, b in zip(den, old)]
            x = [(nxt / s) * v - math.expm1(-h) * dv for v, dv in zip(x, d)]
        old = den
    return x


def ddim(n, pred="epsilon"):
    ratio = T // n
    ts = [min(i * ratio + 1, T - 1) for i in reversed(range(n))]
    x = list(X0)
    for i, t in enumerate(ts):
        a = abar[t]
        prev = t - ratio
        ap = abar[prev] if prev >= 0 else abar[0]
        out = eps(x, i)
        if pred == "epsilon":
            e = out
            x0 = [(v - math.sqrt(1 - a) * ei) / math.sqrt(a) for v, ei in zip(x, e)]
        else:
            x0 = [math.sqrt(a) * v - math.sqrt(1 - a) * o for v, o in zip(x, out)]
            e = [math.sqrt(a) * o + math.sqrt(1 - a) * v for v, o in zip(x, out)]
        x = [math.sqrt(ap) * c + math.sqrt(1 - ap) * ei for c, ei in zip(x0, e)]
    return x, ts


def solve(a, b):
    """Gaussian elimination for the small systems of UniPC."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def unipc_coefficients(rks, hh, bh):
    """R rho = b with R[i] = rks^i and b[i] = phi_{i+1}(hh) * (i+1)! / B(h), phi_1 = expm1(hh)/hh - 1."""
    order = len(rks)
    rows, rhs = [], []
    phi, fact = math.expm1(hh) / hh - 1, 1
    for i in range(1, order + 1):
        rows.append([r ** (i - 1) for r in rks])
        rhs.append(phi * fact / bh)
        fact *= i + 1
        phi = phi / hh - 1 / fact
    return rows, rhs


def unipc(sigmas, order_max=2, pred="epsilon"):
    n = len(sigmas) - 1
    lam = lambda k: -math.log(sigmas[k])
    x = [v * sigmas[0] for v in X0]
    ms, last_x, last_order = [], None, 0
    for i in range(n):
        s = sigmas[i]
        scaled = [v / math.sqrt(s * s + 1) for v in x]
        m = denoised(x, s, eps(scaled, i), pred)
        if i > 0 and last_order > 0:
            # UniC on the latent the last predictor made, from where it started (level i-1).
            h = lam(i) - lam(i - 1)
            hh = -h
            bh = math.expm1(hh)
            m0 = ms[-1]
            rks = [(lam(i - 1 - k) - lam(i - 1)) / h for k in range(1, last_order)] + [1.0]
            d1s = [[(a - b) / rks[k - 1] for a, b in zip(ms[-1 - k], m0)] for k in range(1, last_order)]
            rows, rhs = unipc_coefficients(rks, hh, bh)
            rho = [0.5] if last_order == 1 else solve(rows, rhs)
            d1t = [a - b for a, b in zip(m, m0)]
            x = [sigmas[i] / sigmas[i - 1] * lx - math.expm1(hh) * a
                 - bh * (sum(rho[k] * d1s[k][j] for k in range(len(d1s))) + rho[-1] * d1t[j])
                 for j, (lx, a) in enumerate(zip(last_x, m0))]
        ms.append(m)
        order = min(order_max, i + 1, n - i)
        last_x, last_order = x[:], order
        nxt = sigmas[i + 1]
        if nxt == 0:
            x = m
            continue
        h = -math.log(nxt) - lam(i)
        hh = -h
        bh = math.expm1(hh)
        rks = [(lam(i - k) - lam(i)) / h for k in range(1, order)] + [1.0]
        d1s = [[(a - b) / rks[k - 1] for a, b in zip(ms[-1 - k], m)] for k in range(1, order)]
        if order == 1:
            rho = []
        elif order == 2:
            rho = [0.5]
        else:
            rows, rhs = unipc_coefficients(rks, hh, bh)
            rho = solve([r[:-1] for r in rows[:-1]], rhs[:-1])
        x = [nxt / s * v - math.expm1(hh) * a - bh * sum(rho[k] * d1s[k][j] for k in range(len(rho)))
             for j, (v, a) in enumerate(zip(x, m))]
    return x


def main():
    disc, disc_t = discrete_sigmas(STEPS)
    kar = karras_sigmas(STEPS)
    ddim_x, ddim_t = ddim(STEPS)
    out = {
        "source": "tools/scheduler_reference.py (pure Python from the published definitions; see its docstring)",
        "steps": STEPS,
        "x0": X0,
        "discrete": {"timesteps": disc_t, "sigmas": disc},
        "karras": {"sigmas": kar},
        "final": {"Euler": euler(disc), "DPM++ 2M": dpmpp_2m(disc), "DPM++ 2M Karras": dpmpp_2m(kar), "DDIM": ddim_x,
                  "UniPC": unipc(disc)},
        "final_v": {"Euler": euler(disc, "v"), "DPM++ 2M": dpmpp_2m(disc, "v"), "DPM++ 2M Karras": dpmpp_2m(kar, "v"),
                    "DDIM": ddim(STEPS, "v")[0], "UniPC": unipc(disc, pred="v")},
        "ddim_timesteps": ddim_t,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "schedulers", "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
