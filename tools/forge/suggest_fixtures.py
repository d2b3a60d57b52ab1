"""Scenes with one object taken out, for evaluating suggested boxes (issue 14).

Writes tests/fixtures/suggest/: for each scene the background without its object (sceneN.png) and, in
boxes.json, the removed object's true box and size. A suggester that proposes where an object of that size fits
should often name the place it was taken from; the C# test compares its top-5 hit rate with random placement.
Only objects whose box overlaps no other object's are taken out (the world lets objects overlap, and a box half on
another object is not a place an object fits).
"""
import json
import os

import cv2

import burst
import scenes

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "suggest")
FIRST_INDEX = 700000
COUNT = 40


def main():
    os.makedirs(OUT, exist_ok=True)
    entries, i = [], FIRST_INDEX
    while len(entries) < COUNT:
        full = scenes.make_scene(i)
        i += 1
        people = [k for k, o in enumerate(full.objects) if o.shape != "person"]
        if len(full.objects) < 2 or not people:
            continue
        k = people[-1]
        x0, y0, x1, y1 = burst.object_box(full.objects[k])
        # Only objects that stood apart: a place where an object fits is free (scenes may overlap objects).
        others = [burst.object_box(o) for j, o in enumerate(full.objects) if j != k]
        if any(ox0 < x1 and x0 < ox1 and oy0 < y1 and y0 < oy1 for ox0, oy0, ox1, oy1 in others):
            continue
        x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
        x1, y1 = min(scenes.SIZE, int(round(x1))), min(scenes.SIZE, int(round(y1)))
        without = scenes.make_scene(i - 1, skip=k)
        name = f"scene{i - 1}"
        cv2.imwrite(os.path.join(OUT, f"{name}.png"), cv2.cvtColor(without.rgb, cv2.COLOR_RGB2BGR))
        entries.append({"name": name, "box": [x0, y0, x1 - x0, y1 - y0], "removed": full.objects[k].shape})
    with open(os.path.join(OUT, "boxes.json"), "w") as f:
        json.dump({"scenes": entries}, f, indent=1)


if __name__ == "__main__":
    main()
