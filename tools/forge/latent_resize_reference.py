"""Reference outputs of torch.nn.functional.interpolate for A1111's latent upscale modes (hires fix).

Writes tests/fixtures/latent-resize/reference.json: a seeded [1,4,5,7] latent and its resize to [9,13] (up) and
[3,4] (down) in each mode, as A1111's shared.latent_upscale_modes calls it (size=..., antialias where named).
Run with Debian's torch: /usr/bin/python3 tools/forge/latent_resize_reference.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F

MODES = {
    "Bilinear": dict(mode="bilinear", antialias=False),
    "BilinearAntialiased": dict(mode="bilinear", antialias=True),
    "Bicubic": dict(mode="bicubic", antialias=False),
    "BicubicAntialiased": dict(mode="bicubic", antialias=True),
    "Nearest": dict(mode="nearest"),
    "NearestExact": dict(mode="nearest-exact"),
}

torch.manual_seed(2026)
latent = torch.randn(1, 4, 5, 7)
out = {"shape": [4, 5, 7], "latent": latent.flatten().tolist(), "cases": []}
for size in [(9, 13), (3, 4)]:
    for name, kw in MODES.items():
        kw = dict(kw)
        if kw["mode"] in ("bilinear", "bicubic"):
            kw["align_corners"] = False
        y = F.interpolate(latent, size=size, **kw)
        out["cases"].append({"mode": name, "size": list(size), "values": y.flatten().tolist()})
path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "latent-resize" / "reference.json"
path.write_text(json.dumps(out))
print(f"wrote {path}")
