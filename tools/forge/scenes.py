"""Synthetic scenes with captions: the training world of the embedded tiny model family.

A scene is fully determined by its index (seeded), so any stage can re-render the image and every
condition map of scene i without storing them.
"""
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

SIZE = 128

COLOURS = {
    "red": (220, 30, 30), "green": (30, 170, 60), "blue": (30, 70, 220), "yellow": (240, 210, 40),
    "orange": (245, 140, 20), "purple": (130, 50, 180), "pink": (240, 120, 180), "teal": (40, 200, 210),
    "brown": (130, 80, 40), "white": (245, 245, 245), "black": (20, 20, 20), "gray": (128, 128, 128),
}
COLOUR_NAMES = list(COLOURS)
SHAPES = ["circle", "square", "triangle", "star", "person"]
# Shapes whose outline is all straight edges (a circle's and a stick figure's are not): the lines ControlNet's scenes.
STRAIGHT_SHAPES = ("square", "triangle", "star")
SIZE_WORDS = {"small": (10, 15), "": (17, 24), "large": (27, 36)}

# ADE20K palette entries (class name -> RGB) used for the segmentation maps of this world.
SEG_CLASS = {
    "background": (120, 120, 120),  # wall
    "circle": (4, 200, 3),          # tree
    "square": (224, 5, 255),        # cabinet
    "triangle": (180, 120, 120),    # building
    "star": (235, 255, 7),          # sidewalk
    "person": (150, 5, 61),         # person
}

# OpenPose COCO-18 body: keypoint order, limb pairs (0-based) and the standard render colours.
POSE_LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
              (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
POSE_COLOURS = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
                (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
                (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85)]


@dataclass
class SceneObject:
    shape: str
    colour: str
    size_word: str
    cx: float
    cy: float
    radius: float
    angle: float
    keypoints: list = field(default_factory=list)  # 18 (x, y) for a person


@dataclass
class Scene:
    caption: str
    rgb: np.ndarray        # HxWx3 uint8
    depth: np.ndarray      # HxW uint8, near = bright
    seg: np.ndarray        # HxWx3 uint8, ADE20K colours
    objects: list


def _jitter(rng, rgb, amount=14):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def _polygon(shape, cx, cy, r, angle):
    if shape == "square":
        pts = [(math.cos(angle + k * math.pi / 2 + math.pi / 4), math.sin(angle + k * math.pi / 2 + math.pi / 4))
               for k in range(4)]
        return np.array([(cx + r * x, cy + r * y) for x, y in pts], np.int32)
    if shape == "triangle":
        return np.array([(cx + r * math.cos(angle - math.pi / 2 + k * 2 * math.pi / 3),
                          cy + r * math.sin(angle - math.pi / 2 + k * 2 * math.pi / 3)) for k in range(3)], np.int32)
    if shape == "star":
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.45
            a = angle - math.pi / 2 + k * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return np.array(pts, np.int32)
    raise ValueError(shape)


def _person_keypoints(rng, cx, cy, r):
    """A standing stick figure of height ~2r facing the viewer, with random arm and leg angles."""
    h = 2 * r
    neck = (cx, cy - 0.30 * h)
    nose = (cx, cy - 0.42 * h)
    sh = 0.16 * h
    r_sh, l_sh = (cx - sh, neck[1]), (cx + sh, neck[1])
    r_hip, l_hip = (cx - 0.09 * h, cy + 0.08 * h), (cx + 0.09 * h, cy + 0.08 * h)
    arm = 0.2 * h
    leg = 0.21 * h

    def seg(p, ang, length):
        return (p[0] + length * math.cos(ang), p[1] + length * math.sin(ang))

    # angles measured from +x, y down; right side of the person is image left
    ra1 = math.pi / 2 + rng.uniform(0.1, 1.6)
    ra2 = ra1 + rng.uniform(-0.9, 0.9)
    la1 = math.pi / 2 - rng.uniform(0.1, 1.6)
    la2 = la1 + rng.uniform(-0.9, 0.9)
    r_el = seg(r_sh, ra1, arm)
    r_wr = seg(r_el, ra2, arm)
    l_el = seg(l_sh, la1, arm)
    l_wr = seg(l_el, la2, arm)
    rl1 = math.pi / 2 + rng.uniform(0.0, 0.5)
    ll1 = math.pi / 2 - rng.uniform(0.0, 0.5)
    r_kn = seg(r_hip, rl1, leg)
    r_an = seg(r_kn, rl1 + rng.uniform(-0.3, 0.3), leg)
    l_kn = seg(l_hip, ll1, leg)
    l_an = seg(l_kn, ll1 + rng.uniform(-0.3, 0.3), leg)
    e = 0.035 * h
    r_eye, l_eye = (nose[0] - e, nose[1] - e), (nose[0] + e, nose[1] - e)
    r_ear, l_ear = (nose[0] - 2 * e, nose[1] - 0.5 * e), (nose[0] + 2 * e, nose[1] - 0.5 * e)
    return [nose, neck, r_sh, r_el, r_wr, l_sh, l_el, l_wr, r_hip, r_kn, r_an, l_hip, l_kn, l_an,
            r_eye, l_eye, r_ear, l_ear]


def _draw_person(img, kps, r, colour):
    t = max(2, int(round(r / 7)))
    ip = [(int(round(x)), int(round(y))) for x, y in kps]
    mid_hip = ((ip[8][0] + ip[11][0]) // 2, (ip[8][1] + ip[11][1]) // 2)
    for a, b in [(2, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 11), (8, 9), (9, 10), (11, 12), (12, 13)]:
        cv2.line(img, ip[a], ip[b], colour, t, cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8)
    cv2.line(img, ip[1], mid_hip, colour, t + 1)
    cv2.circle(img, ip[0], max(3, int(round(r * 0.2))), colour, -1)


def _draw_object(img, obj, colour):
    if obj.shape == "circle":
        cv2.circle(img, (int(obj.cx), int(obj.cy)), int(obj.radius), colour, -1)
    elif obj.shape == "person":
        _draw_person(img, obj.keypoints, obj.radius, colour)
    else:
        cv2.fillPoly(img, [_polygon(obj.shape, obj.cx, obj.cy, obj.radius, obj.angle)], colour)


def _article(words):
    return ("an " if words[0] in "aeiou" else "a ") + words


def _background(rng):
    kind = rng.choice(["flat", "flat", "gradient", "striped"])
    c1 = str(rng.choice(COLOUR_NAMES))
    base = np.array(_jitter(rng, COLOURS[c1]), np.float32)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = base
    if kind == "flat":
        return img, c1, f"on {_article(c1)} background"
    if kind == "gradient":
        c2 = str(rng.choice([c for c in COLOUR_NAMES if c != c1]))
        other = np.array(_jitter(rng, COLOURS[c2]), np.float32)
        t = np.linspace(0, 1, SIZE, dtype=np.float32)
        ramp = t[:, None, None] if rng.random() < 0.5 else t[None, :, None]
        img[:] = base * (1 - ramp) + other * ramp
        return img, c1, f"on {_article(c1)} and {c2} background"
    period = int(rng.integers(8, 20))
    shade = base * 0.8
    stripes = (np.arange(SIZE) // (period // 2)) % 2 == 1
    if rng.random() < 0.5:
        img[stripes, :, :] = shade
    else:
        img[:, stripes, :] = shade
    return img, c1, f"on a striped {c1} background"


def make_scene(index: int, seed: int = 1234, skip: int = -1) -> Scene:
    """skip: leave object number `skip` out of every map (the rest of the scene is drawn exactly as with it), for
    the suggested-boxes evaluation: where the object was is a place an object fits."""
    rng = np.random.default_rng([seed, index])
    bg, bg_name, bg_words = _background(rng)
    rgb = bg.astype(np.uint8)
    depth = np.tile(np.linspace(0, 70, SIZE, dtype=np.float32)[:, None], (1, SIZE)).astype(np.uint8)
    seg = np.empty((SIZE, SIZE, 3), np.uint8)
    seg[:] = SEG_CLASS["background"]
    n = int(rng.choice([1, 1, 2, 2, 3]))
    objects = []
    for k in range(n):
        shape = str(rng.choice(SHAPES))
        colour = str(rng.choice([c for c in COLOUR_NAMES if c != bg_name]))
        size_word = str(rng.choice(list(SIZE_WORDS)))
        lo, hi = SIZE_WORDS[size_word]
        r = float(rng.uniform(lo, hi))
        margin = r + 2
        cx = float(rng.uniform(margin, SIZE - margin))
        cy = float(rng.uniform(margin, SIZE - margin))
        obj = SceneObject(shape, colour, size_word, cx, cy, r, float(rng.uniform(0, 2 * math.pi)))
        if shape == "person":
            obj.keypoints = _person_keypoints(rng, cx, cy, r)
        paint = _jitter(rng, COLOURS[colour])
        if k == skip:
            objects.append(obj)
            continue
        _draw_object(rgb, obj, paint)
        _draw_object(depth, obj, int(110 + 145 * (k + 1) / n))
        _draw_object(seg, obj, SEG_CLASS[shape])
        objects.append(obj)
    words = " and ".join(_article(f"{o.size_word + ' ' if o.size_word else ''}{o.colour} {o.shape}") for o in objects)
    caption = f"{words} {bg_words}"
    return Scene(caption, rgb, depth, seg, objects)


def render_pose(objects, size=SIZE):
    """OpenPose body render: limbs as ellipses in 0.6x the limb colour, joints as radius-4 discs."""
    canvas = np.zeros((size, size, 3), np.uint8)
    stick = 4
    for obj in objects:
        if obj.shape != "person":
            continue
        kps = obj.keypoints
        for i, (a, b) in enumerate(POSE_LIMBS):
            (x1, y1), (x2, y2) = kps[a], kps[b]
            length = math.hypot(x1 - x2, y1 - y2)
            ang = math.degrees(math.atan2(y1 - y2, x1 - x2))
            poly = cv2.ellipse2Poly((int((x1 + x2) / 2), int((y1 + y2) / 2)), (int(length / 2), stick),
                                    int(ang), 0, 360, 1)
            cv2.fillConvexPoly(canvas, poly, [int(c * 0.6) for c in POSE_COLOURS[i]])
        for i, (x, y) in enumerate(kps):
            cv2.circle(canvas, (int(x), int(y)), 4, POSE_COLOURS[i], -1)
    return canvas
