"""Reference colour histograms from conditions.py, for the C# preprocessor's agreement test."""
import json
import os

import cv2
import numpy as np

import conditions
import scenes

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "colour")


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    for i in range(4):
        cases[f"scene{i}"] = scenes.make_scene(50000 + i).rgb
    grad = np.zeros((32, 64, 3), np.uint8)
    grad[:, :, 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]
    grad[:, :, 2] = np.linspace(255, 0, 32, dtype=np.uint8)[:, None]
    cases["gradient"] = grad
    for name, rgb in cases.items():
        cv2.imwrite(os.path.join(OUT, f"{name}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    expected = {name: conditions.colour_histogram(rgb).tolist() for name, rgb in cases.items()}
    expected["_codebook_lab"] = conditions.CODEBOOK_LAB.tolist()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
