"""Held-out scenes and prompts for measuring adherence on the exported ONNX models.

Writes tests/fixtures/evalset/: per scene its image and every condition map, plus scenes.json (captions, colour
histograms, the colour names' RGB values and single-object prompts). The C# evaluator (tools/ControlHost.Evaluation)
generates from these with ONNX Runtime and measures.
"""
import json
import os

import cv2
import numpy as np

import conditions
import scenes
import scenes_v2

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")
OUT = os.path.join(FIXTURES, "evalset")
# The out-of-distribution set (`evalset.py --ood`): shape families no training stage draws (scenes_v2.OOD_SHAPES),
# rendered from their own seed; the evaluator reads it with --evalset tests/fixtures/evalset-ood.
OOD_OUT = os.path.join(FIXTURES, "evalset-ood")
OOD_SCENES = 16
FIRST_INDEX = 900000  # far beyond the training scenes
SCENES = 12
POSE_SCENES = 8
PROMPTS = 50


def save(name, rgb):
    cv2.imwrite(os.path.join(OUT, name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def main_ood():
    global OUT
    OUT = OOD_OUT
    os.makedirs(OUT, exist_ok=True)
    entries = []
    for i in range(OOD_SCENES):
        s = scenes_v2.ood_scene(i)
        name = f"ood{i}"
        save(f"{name}.png", s.rgb)
        for cond in ["canny", "lines", "scribble", "depth", "seg", "intensity"]:
            save(f"{name}.{cond}.png", conditions.condition_map(cond, s))
        entries.append({"name": name, "caption": s.caption, "person": False,
                        "families": [o.shape for o in s.objects],
                        "histogram": conditions.colour_histogram(s.rgb).round(7).tolist()})
    with open(os.path.join(OUT, "scenes.json"), "w") as f:
        json.dump({"scenes": entries, "prompts": [], "colours": scenes.COLOURS}, f, indent=1)


def main():
    import sys
    if "--ood" in sys.argv:
        main_ood()
        return
    os.makedirs(OUT, exist_ok=True)
    entries = []
    i = FIRST_INDEX
    plain, with_person = 0, 0
    while plain < SCENES or with_person < POSE_SCENES:
        s = scenes.make_scene(i)
        i += 1
        has_person = any(o.shape == "person" for o in s.objects)
        if has_person and with_person < POSE_SCENES:
            with_person += 1
        elif not has_person and plain < SCENES:
            plain += 1
        else:
            continue
        name = f"scene{i}"
        save(f"{name}.png", s.rgb)
        for cond in ["canny", "lines", "scribble", "depth", "seg", "intensity"] + (["pose"] if has_person else []):
            save(f"{name}.{cond}.png", conditions.condition_map(cond, s))
        entries.append({"name": name, "caption": s.caption, "person": has_person,
                        "histogram": conditions.colour_histogram(s.rgb).round(7).tolist()})
    rng = np.random.default_rng(77)
    prompts = []
    for _ in range(PROMPTS):
        bg = str(rng.choice(scenes.COLOUR_NAMES))
        colour = str(rng.choice([c for c in scenes.COLOUR_NAMES if c != bg]))
        shape = str(rng.choice(["circle", "square", "triangle", "star"]))
        prompts.append({"caption": f"{scenes._article(colour + ' ' + shape)} on {scenes._article(bg)} background",
                        "colour": colour, "background": bg})
    with open(os.path.join(OUT, "scenes.json"), "w") as f:
        json.dump({"scenes": entries, "prompts": prompts, "colours": scenes.COLOURS}, f, indent=1)


if __name__ == "__main__":
    main()
