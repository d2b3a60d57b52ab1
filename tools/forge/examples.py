"""Writes the example inputs the README's commands use (examples/ at the repository root)."""
import json
import os

import cv2
import numpy as np

import scenes

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def save(name, rgb):
    cv2.imwrite(os.path.join(OUT, name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    rgb = np.empty((128, 128, 3), np.uint8)
    rgb[:] = scenes.COLOURS["yellow"]
    person = scenes.SceneObject("person", "red", "large", 40, 66, 30, 0.0)
    person.keypoints = scenes._person_keypoints(rng, person.cx, person.cy, person.radius)
    star = scenes.SceneObject("star", "blue", "", 96, 60, 22, 0.2)
    scenes._draw_object(rgb, person, scenes.COLOURS["red"])
    scenes._draw_object(rgb, star, scenes.COLOURS["blue"])
    save("star-scene.png", rgb)
    save("pose-hint.png", scenes.render_pose([person]))
    # A palette for the colour unit: bands of pink, red and blue in proportion 7:1.5:1.5.
    palette = np.empty((128, 128, 3), np.uint8)
    palette[:90] = scenes.COLOURS["pink"]
    palette[90:109] = scenes.COLOURS["red"]
    palette[109:] = scenes.COLOURS["blue"]
    save("palette.png", palette)
    # The same person in OpenPose JSON (the format sd-webui-controlnet's /controlnet/detect returns).
    keypoints = [v for x, y in person.keypoints for v in (round(x, 3), round(y, 3), 1.0)]
    with open(os.path.join(OUT, "pose.json"), "w") as f:
        json.dump({"people": [{"pose_keypoints_2d": keypoints}], "canvas_width": 128, "canvas_height": 128}, f, indent=1)


if __name__ == "__main__":
    main()
