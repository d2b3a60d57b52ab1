"""Fixtures of the reference condition (issue 13).

    /usr/bin/python3 tools/forge/reference_fixtures.py

tests/fixtures/evalset-reference/: objects to place, for `controlhost-eval reference`. Each case is a background,
a picture of one object on white (cropped to the object with a margin), the object's mask at its bounding box, and
the box on the background where it goes (the object's size, so the reference fits it exactly), and a caption
naming its colour and shape word (what text alone can say of it, for comparison). Ten cases come from
training's shape families, five from the out-of-distribution families that no stage trains on.

tests/fixtures/reference/planes.json: one object picture and the condition Python makes of it (the border-colour
cut-out below, then reference.planes), which the C# preprocessor must reproduce: the adapter was trained on Python's.
"""
import base64
import json
import math
import os

import cv2
import numpy as np

import reference
import scenes
import scenes_v2
from scenes import COLOURS, COLOUR_NAMES, SIZE

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
IN_GRAMMAR = ["block", "oval", "polygon", "concave", "blob", "ring", "crescent", "arrow", "square", "star"]
THRESHOLD = 40
MARGIN = 6


def foreground_mask(rgb, threshold=THRESHOLD):
    """What differs from the picture's border colour (per-channel median of the outermost pixels) by more than
    `threshold` in some channel; the C# preprocessor does the same."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]]).astype(np.int32)
    colour = np.median(border, axis=0).round().astype(np.int32)
    return (np.abs(rgb.astype(np.int32) - colour).max(axis=2) > threshold)


def object_mask(rng, family, r):
    angle = float(rng.uniform(0, 2 * math.pi))
    c = SIZE / 2
    if family in ("square", "star"):
        m = np.zeros((SIZE, SIZE), np.uint8)
        cv2.fillPoly(m, [scenes._polygon(family, c, c, r, angle)], 1)
        return m.astype(bool)
    return scenes_v2.shape_mask(rng, family, c, c, r, angle).astype(bool)


def write_png(path, rgb):
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)


def main():
    out = os.path.join(FIXTURES, "evalset-reference")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2468)
    cases = []
    for k, family in enumerate(IN_GRAMMAR + scenes_v2.OOD_SHAPES):
        bg, bg_name, _ = scenes_v2._background(rng)
        colour = str(rng.choice([c for c in COLOUR_NAMES if c not in (bg_name, "white")]))
        rgb = np.array(scenes._jitter(rng, COLOURS[colour]), np.uint8)
        mask = object_mask(rng, family, float(rng.uniform(16, 30)))
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        picture = np.full((SIZE, SIZE, 3), 245, np.uint8)
        picture[mask] = rgb
        py0, px0 = max(0, y0 - MARGIN), max(0, x0 - MARGIN)
        picture = picture[py0:min(SIZE, y1 + MARGIN), px0:min(SIZE, x1 + MARGIN)]
        w, h = int(x1 - x0), int(y1 - y0)
        bx, by = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
        name = f"ref{k}"
        write_png(os.path.join(out, f"{name}.background.png"), bg.astype(np.uint8))
        write_png(os.path.join(out, f"{name}.object.png"), picture)
        write_png(os.path.join(out, f"{name}.mask.png"), (mask[y0:y1, x0:x1] * 255).astype(np.uint8))
        word = scenes_v2.CAPTION_WORD.get(family, family)
        cases.append({"name": name, "family": family, "ood": family in scenes_v2.OOD_SHAPES, "colour": colour,
                      "caption": scenes._article(f"{colour} {word}"), "rgb": [int(v) for v in rgb], "box": [bx, by, w, h]})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"prompt": reference.PROMPT, "threshold": THRESHOLD, "cases": cases}, f, indent=1)

    picture = cv2.cvtColor(cv2.imread(os.path.join(out, "ref3.object.png")), cv2.COLOR_BGR2RGB)
    planes = reference.planes(picture, foreground_mask(picture)).astype(np.float32)
    os.makedirs(os.path.join(FIXTURES, "reference"), exist_ok=True)
    with open(os.path.join(FIXTURES, "reference", "planes.json"), "w") as f:
        json.dump({"picture": "evalset-reference/ref3.object.png", "threshold": THRESHOLD,
                   "planes": base64.b64encode(planes.tobytes()).decode("ascii")}, f)
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main()
