"""Scenes v2: shapes outside the first grammar, objects from about 5% to 80% of the frame, 1-5 objects that may overlap
or be cut by the border, and white, black, grey, textured and two-tone backgrounds.

Every object is a full-frame binary mask, painted into the image, the depth map and the segmentation map alike, so a
shape of any outline (a ring, a crescent, a freehand stroke) needs no drawing code of its own beyond its mask.

`training_scene(i)` mixes these with the first grammar (`scenes.make_scene`, one scene in four) so that nothing it
does well is lost. `ood_scene(i)` draws shape families that training never sees (crosses, spirals, 7-point stars,
wobbly hand-drawn outlines, rows of many small objects) for the out-of-distribution evaluation set.
"""
import math

import cv2
import numpy as np

import scenes
from scenes import COLOURS, COLOUR_NAMES, SIZE, Scene, SceneObject

SHAPES = ["bar", "block", "oval", "polygon", "concave", "blob", "ring", "stroke", "crescent", "arrow"]
OOD_SHAPES = ["cross", "spiral", "star7", "wobbly", "row"]
# The caption word of each shape: every one is a single CLIP token (vocab.py); generic "shape" where none fits.
CAPTION_WORD = {"bar": "bar", "block": "block", "oval": "oval", "polygon": "shape", "concave": "shape",
                "blob": "blob", "ring": "ring", "stroke": "stroke", "crescent": "crescent", "arrow": "arrow",
                "cross": "shape", "spiral": "shape", "star7": "star", "wobbly": "shape", "row": "shape"}
# Outlines made of straight edges only: the lines ControlNet's scenes (with scenes.STRAIGHT_SHAPES).
STRAIGHT = ("bar", "block", "polygon", "concave", "arrow")
# ADE20K palette entries for the new families (class in the comment).
SEG_CLASS = {
    "bar": (255, 6, 82), "block": (8, 255, 51), "oval": (61, 230, 250), "polygon": (204, 70, 3),
    "concave": (255, 184, 6), "blob": (143, 255, 140), "ring": (0, 102, 200), "stroke": (255, 51, 7),
    "crescent": (11, 102, 255), "arrow": (255, 9, 224),
    # out-of-distribution families reuse classes: the seg ControlNet must follow the map's regions, not the class
    "cross": (255, 6, 82), "spiral": (255, 51, 7), "star7": (235, 255, 7), "wobbly": (204, 70, 3),
    "row": (4, 200, 3),
}
# door table water chair fence mountain car curtain sofa house (names of the entries above, in order)


def _rotate(points, angle, cx, cy):
    c, s = math.cos(angle), math.sin(angle)
    pts = np.asarray(points, np.float64)
    return np.stack([cx + pts[:, 0] * c - pts[:, 1] * s, cy + pts[:, 0] * s + pts[:, 1] * c], 1)


def _fill(points):
    m = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(m, [np.round(points).astype(np.int32)], 1)
    return m


def _polyline(points, thickness, closed=False):
    m = np.zeros((SIZE, SIZE), np.uint8)
    cv2.polylines(m, [np.round(points).astype(np.int32)], closed, 1, int(max(1, round(thickness))))
    return m


def _radial(rng, r, n, lo, hi, sort=True):
    angles = rng.uniform(0, 2 * math.pi, n)
    angles = np.sort(angles) if sort else angles
    radii = r * rng.uniform(lo, hi, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _smooth_path(rng, cx, cy, r, points):
    """A freehand path: a random walk of control points around the centre, rounded by Chaikin's corner cutting."""
    ctrl = [np.array([cx, cy]) + rng.uniform(-r, r, 2)]
    for _ in range(points - 1):
        step = rng.normal(0, r * 0.7, 2)
        ctrl.append(np.clip(ctrl[-1] + step, [cx - r * 1.2, cy - r * 1.2], [cx + r * 1.2, cy + r * 1.2]))
    path = np.array(ctrl)
    for _ in range(3):
        q = 0.75 * path[:-1] + 0.25 * path[1:]
        s = 0.25 * path[:-1] + 0.75 * path[1:]
        path = np.concatenate([path[:1], np.stack([q, s], 1).reshape(-1, 2), path[-1:]])
    return path


def shape_mask(rng, shape, cx, cy, r, angle):
    """Full-frame 0/1 mask of one object of the given family, about 2r across."""
    if shape in ("bar", "block"):
        aspect = rng.uniform(2.5, 6) if shape == "bar" else rng.uniform(0.55, 1.8)
        w = 2 * r / math.sqrt(aspect) if shape == "block" else 2 * r
        h = w / aspect if shape == "bar" else w * aspect
        return _fill(_rotate([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)], angle, cx, cy))
    if shape == "oval":
        ry = r / rng.uniform(1.4, 3.0)
        t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
        return _fill(_rotate(np.stack([r * np.cos(t), ry * np.sin(t)], 1), angle, cx, cy))
    if shape == "polygon":
        return _fill(_rotate(_radial(rng, r, int(rng.integers(4, 9)), 0.75, 1.0), angle, cx, cy))
    if shape == "concave":
        return _fill(_rotate(_radial(rng, r, int(rng.integers(6, 12)), 0.35, 1.0), angle, cx, cy))
    if shape == "blob":
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        rad = np.full_like(t, r * 0.8)
        for k in (2, 3, 4):
            rad += r * rng.uniform(0, 0.18) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
        return _fill(_rotate(np.stack([rad * np.cos(t), rad * np.sin(t)], 1), angle, cx, cy))
    if shape == "ring":
        thickness = r * rng.uniform(0.2, 0.5)
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        rr = r - thickness / 2
        return _polyline(np.stack([cx + rr * np.cos(t), cy + rr * np.sin(t)], 1), thickness, closed=True)
    if shape == "stroke":
        return _polyline(_smooth_path(rng, cx, cy, r, int(rng.integers(3, 7))), rng.uniform(3, 9))
    if shape == "crescent":
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        outer = _fill(np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1))
        off = r * rng.uniform(0.35, 0.6)
        ix, iy = cx + off * math.cos(angle), cy + off * math.sin(angle)
        inner = _fill(np.stack([ix + r * 0.9 * np.cos(t), iy + r * 0.9 * np.sin(t)], 1))
        return outer * (1 - inner)
    if shape == "arrow":
        shaft = r * rng.uniform(0.18, 0.32)
        head_w, head_l = r * rng.uniform(0.55, 0.85), r * rng.uniform(0.6, 0.9)
        pts = [(-r, -shaft), (r - head_l, -shaft), (r - head_l, -head_w), (r, 0), (r - head_l, head_w),
               (r - head_l, shaft), (-r, shaft)]
        return _fill(_rotate(pts, angle, cx, cy))
    if shape == "cross":
        arm = r * rng.uniform(0.22, 0.4)
        pts = [(-arm, -r), (arm, -r), (arm, -arm), (r, -arm), (r, arm), (arm, arm), (arm, r), (-arm, r),
               (-arm, arm), (-r, arm), (-r, -arm), (-arm, -arm)]
        return _fill(_rotate(pts, angle, cx, cy))
    if shape == "spiral":
        turns = rng.uniform(1.8, 3.0)
        t = np.linspace(0, turns * 2 * math.pi, 200)
        rad = r * t / t[-1]
        return _polyline(_rotate(np.stack([rad * np.cos(t), rad * np.sin(t)], 1), angle, cx, cy), rng.uniform(2.5, 5))
    if shape == "star7":
        pts = [((r if k % 2 == 0 else r * 0.45) * math.cos(k * math.pi / 7),
                (r if k % 2 == 0 else r * 0.45) * math.sin(k * math.pi / 7)) for k in range(14)]
        return _fill(_rotate(pts, angle, cx, cy))
    if shape == "wobbly":
        t = np.linspace(0, 2 * math.pi, 90, endpoint=False)
        sides = int(rng.choice([0, 3, 4]))
        base = np.ones_like(t) if sides == 0 else \
            np.cos(math.pi / sides) / np.cos((t % (2 * math.pi / sides)) - math.pi / sides)
        wobble = np.convolve(np.tile(rng.normal(0, 0.08, 90), 3), np.ones(9) / 9, "same")[90:180]
        rad = r * 0.9 * base * (1 + wobble)
        return _polyline(_rotate(np.stack([rad * np.cos(t), rad * np.sin(t)], 1), angle, cx, cy),
                         rng.uniform(2, 4), closed=True)
    if shape == "row":
        count = int(rng.integers(5, 10))
        small = rng.uniform(3.5, 6.5)
        m = np.zeros((SIZE, SIZE), np.uint8)
        for k in range(count):
            x = -r + 2 * r * k / (count - 1)
            px, py = _rotate([(x, 0)], angle, cx, cy)[0]
            cv2.circle(m, (int(round(px)), int(round(py))), int(round(small)), 1, -1)
        return m
    raise ValueError(shape)


def _background(rng):
    kind = rng.choice(["flat", "gradient", "striped", "plain", "plain", "textured", "textured", "two-tone", "two-tone"])
    if kind in ("flat", "gradient", "striped"):
        return scenes._background(rng)
    if kind == "plain":
        c1 = str(rng.choice(["white", "black", "gray"]))
        img = np.empty((SIZE, SIZE, 3), np.float32)
        img[:] = np.array(scenes._jitter(rng, COLOURS[c1], 8), np.float32)
        return img, c1, f"on {scenes._article(c1)} background"
    c1 = str(rng.choice(COLOUR_NAMES))
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = np.array(scenes._jitter(rng, COLOURS[c1]), np.float32)
    if kind == "textured":
        # Low-frequency blotches plus fine grain, soft enough that Canny at 100/200 finds no edges in it.
        blotch = cv2.GaussianBlur(rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32), (0, 0), 6)
        blotch *= 18 / max(1e-6, float(np.abs(blotch).max()))
        grain = rng.normal(0, 3, (SIZE, SIZE)).astype(np.float32)
        img += (blotch + grain)[:, :, None]
        return np.clip(img, 0, 255), c1, f"on a textured {c1} background"
    c2 = str(rng.choice([c for c in COLOUR_NAMES if c != c1]))
    a = rng.uniform(0, math.pi)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    px, py = rng.uniform(SIZE * 0.25, SIZE * 0.75, 2)
    side = (xx - px) * math.cos(a) + (yy - py) * math.sin(a) > 0
    img[side] = np.array(scenes._jitter(rng, COLOURS[c2]), np.float32)
    return img, c1, f"on {scenes._article(c1)} and {c2} background"


def _compose(rng, families, count_choices, radius_range, bg=None):
    bg_img, bg_name, bg_words = bg or _background(rng)
    rgb = bg_img.astype(np.uint8)
    depth = np.tile(np.linspace(0, 70, SIZE, dtype=np.float32)[:, None], (1, SIZE)).astype(np.uint8)
    seg = np.empty((SIZE, SIZE, 3), np.uint8)
    seg[:] = scenes.SEG_CLASS["background"]
    n = int(rng.choice(count_choices))
    lo, hi = radius_range
    objects = []
    for k in range(n):
        shape = str(rng.choice(families))
        colour = str(rng.choice([c for c in COLOUR_NAMES if c != bg_name]))
        r = float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) / (1 + 0.22 * (n - 1))
        if rng.random() < 0.3:  # cut by the border
            cx, cy = (float(v) for v in rng.uniform(0, SIZE, 2))
        else:
            margin = min(r + 2, SIZE / 2 - 1)
            cx, cy = (float(v) for v in rng.uniform(margin, SIZE - margin, 2))
        angle = float(rng.uniform(0, 2 * math.pi))
        mask = shape_mask(rng, shape, cx, cy, r, angle).astype(bool)
        if not mask.any():
            continue
        size_word = "small" if r < 16 else "large" if r > 30 else ""
        obj = SceneObject(shape, colour, size_word, cx, cy, r, angle)
        rgb[mask] = scenes._jitter(rng, COLOURS[colour])
        depth[mask] = int(110 + 145 * (k + 1) / n)
        seg[mask] = SEG_CLASS[shape]
        objects.append(obj)
    words = " and ".join(scenes._article(f"{o.size_word + ' ' if o.size_word else ''}{o.colour} {CAPTION_WORD[o.shape]}")
                         for o in objects)
    return Scene(f"{words} {bg_words}".strip(), rgb, depth, seg, objects)


def make_scene(index: int, seed: int = 1234) -> Scene:
    rng = np.random.default_rng([seed, 2, index])
    return _compose(rng, SHAPES, [1, 1, 2, 2, 3, 4, 5], (12, 58))


def training_scene(index: int, seed: int = 1234) -> Scene:
    """The training world from v2 on: one scene in four from the first grammar, the rest from scenes v2."""
    return scenes.make_scene(index, seed) if index % 4 == 0 else make_scene(index, seed)


def ood_scene(index: int, seed: int = 4321) -> Scene:
    """Out-of-distribution evaluation scenes: families never trained on, on v2's backgrounds."""
    rng = np.random.default_rng([seed, 7, index])
    return _compose(rng, OOD_SHAPES, [1, 1, 2, 3], (14, 50))


def straight_edged(scene) -> bool:
    return all(o.shape in scenes.STRAIGHT_SHAPES or o.shape in STRAIGHT for o in scene.objects)
