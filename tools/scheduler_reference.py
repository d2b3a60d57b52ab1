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
The model is a fixed analytic stand-in, eps(x, step) = 0.3 x + 0.1 sin(step + i), so every step is checked.

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


def discrete_sigmas(n):
    ts = [(T - 1) - i * (T - 1) / (n - 1) for i in range(n)]
    return [sigma_at(t) for t in ts] + [0.0], ts


def karras_sigmas(n, rho=7.0):
    lo, hi = train_sigmas[0], train_sigmas[-1]
    a, b = hi ** (1 / rho), lo ** (1 / rho)
    return [(a + i / (n - 1) * (b - a)) ** rho for i in range(n)] + [0.0]


def euler(sigmas):
    x = [v * sigmas[0] for v in X0]
    for i in range(len(sigmas) - 1):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = [v / math.sqrt(s * s + 1) for v in x]
        e = eps(scaled, i)
        den = [v - s * ei for v, ei in zip(x, e)]
        x = [v + (v - d) / s * (nxt - s) for v, d in zip(x, den)]
    return x


def dpmpp_2m(sigmas):
    x = [v * sigmas[0] for v in X0]
    old = None
    t_of = lambda s: -math.log(s)
    for i in range(len(sigmas) - 1):
        s, nxt = sigmas[i], sigmas[i + 1]
        scaled = [v / math.sqrt(s * s + 1) for v in x]
        e = eps(scaled, i)
        den = [v - s * ei for v, ei in zip(x, e)]
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


def ddim(n):
    ratio = T // n
    ts = [min(i * ratio + 1, T - 1) for i in reversed(range(n))]
    x = list(X0)
    for i, t in enumerate(ts):
        a = abar[t]
        prev = t - ratio
        ap = abar[prev] if prev >= 0 else abar[0]
        e = eps(x, i)
        x0 = [(v - math.sqrt(1 - a) * ei) / math.sqrt(a) for v, ei in zip(x, e)]
        x = [math.sqrt(ap) * c + math.sqrt(1 - ap) * ei for c, ei in zip(x0, e)]
    return x, ts


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
        "final": {"Euler": euler(disc), "DPM++ 2M": dpmpp_2m(disc), "DPM++ 2M Karras": dpmpp_2m(kar), "DDIM": ddim_x},
        "ddim_timesteps": ddim_t,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "schedulers", "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
