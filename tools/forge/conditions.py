"""Condition maps made with the same OpenCV operations and defaults as the host's preprocessors.

Every map is HxWx3 uint8 RGB, as the host feeds ControlNets (controlnet_cond in [0, 1]).
"""
import colorsys

import cv2
import numpy as np

from scenes import render_pose

# Host defaults (preprocessors/ in the C# tree uses the same numbers).
CANNY_LOW, CANNY_HIGH = 100, 200
HOUGH_RHO, HOUGH_THETA, HOUGH_THRESHOLD, HOUGH_MIN_LENGTH, HOUGH_MAX_GAP = 1.0, np.pi / 180, 20, 10, 4
XDOG_SIGMA_SMALL, XDOG_SIGMA_LARGE, XDOG_THRESHOLD = 0.5, 2.0, 64


def _grey3(m):
    return np.repeat(m[:, :, None], 3, axis=2)


def canny(rgb):
    return _grey3(cv2.Canny(rgb, CANNY_LOW, CANNY_HIGH))


def lines(rgb):
    edges = cv2.Canny(rgb, CANNY_LOW, CANNY_HIGH)
    out = np.zeros(edges.shape, np.uint8)
    found = cv2.HoughLinesP(edges, HOUGH_RHO, HOUGH_THETA, HOUGH_THRESHOLD,
                            minLineLength=HOUGH_MIN_LENGTH, maxLineGap=HOUGH_MAX_GAP)
    if found is not None:
        for x1, y1, x2, y2 in found.reshape(-1, 4):  # (N, 1, 4) in OpenCV 4, (N, 4) in 5
            cv2.line(out, (int(x1), int(y1)), (int(x2), int(y2)), 255, 1)
    return _grey3(out)


def scribble(rgb):
    """XDoG sketch: per-channel difference of Gaussians (wide minus narrow), strongest channel, thresholded.

    sd-webui-controlnet takes the minimum over channels, which misses edges between colours of similar
    brightness; the maximum keeps the dark side of any colour edge.
    """
    f = rgb.astype(np.float32)
    g1 = cv2.GaussianBlur(f, (0, 0), XDOG_SIGMA_SMALL)
    g2 = cv2.GaussianBlur(f, (0, 0), XDOG_SIGMA_LARGE)
    dog = np.max(g2 - g1, axis=2)
    out = np.zeros(dog.shape, np.uint8)
    out[2 * dog > XDOG_THRESHOLD] = 255
    return _grey3(out)


def intensity(rgb):
    return _grey3(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def depth(scene):
    return _grey3(scene.depth)


def seg(scene):
    return scene.seg.copy()


def pose(scene):
    return render_pose(scene.objects)


def condition_map(name, scene):
    if name == "canny":
        return canny(scene.rgb)
    if name == "lines":
        return lines(scene.rgb)
    if name == "scribble":
        return scribble(scene.rgb)
    if name == "intensity":
        return intensity(scene.rgb)
    if name == "depth":
        return depth(scene)
    if name == "seg":
        return seg(scene)
    if name == "pose":
        return pose(scene)
    raise ValueError(f"unknown condition {name}")


# ---- Composer colour histogram (../shared/composer-colour.md) ----

HUES = [0.0, 0.0833, 0.166, 0.25, 0.333, 0.5, 0.56333, 0.666, 0.73, 0.803, 0.916]
SV_ROWS = ([(s / 6, 1.0) for s in range(1, 6)] + [(1.0, 1.0)]
           + [(1.0, v) for v in np.linspace(1, 0.2, 7)[1:6]]
           + [(0.4, v) for v in np.linspace(1, 0.2, 7)[1:5]])


def srgb_to_lab(rgb01):
    """sRGB in [0,1] (..., 3) -> CIE L*a*b* (D65, 2 degree observer)."""
    c = np.asarray(rgb01, np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T
    white = np.array([0.95047, 1.0, 1.08883])
    t = xyz / white
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(t > eps, np.cbrt(t), (kappa * t + 16) / 116)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)
    return lab


def codebook_rgb():
    rows = []
    for h in HUES:
        for s, v in SV_ROWS:
            rows.append(colorsys.hsv_to_rgb(h, s, v))
    for k in range(15):
        g = (14 - k) / 14
        rows.append((g, g, g))
    return np.array(rows)


CODEBOOK_LAB = srgb_to_lab(codebook_rgb())
_D2 = ((CODEBOOK_LAB[:, None, :] - CODEBOOK_LAB[None, :, :]) ** 2).sum(-1)
SMOOTH = np.exp(-_D2 / (2 * 10.0 ** 2))
SMOOTH /= SMOOTH.sum(1, keepdims=True)


def colour_histogram(rgb_uint8):
    """The 180-entry smoothed histogram; entries below 1e-5 zeroed, not renormalised."""
    lab = srgb_to_lab(rgb_uint8.reshape(-1, 3) / 255.0)
    d = (lab ** 2).sum(1)[:, None] - 2 * lab @ CODEBOOK_LAB.T + (CODEBOOK_LAB ** 2).sum(1)[None, :]
    counts = np.bincount(d.argmin(1), minlength=180).astype(np.float64) / lab.shape[0]
    smoothed = SMOOTH @ counts
    smoothed[smoothed < 1e-5] = 0
    return smoothed.astype(np.float32)
