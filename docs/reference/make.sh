#!/usr/bin/env bash
# The reference adapter through box placement (tests/fixtures/evalset-reference): per row the object's picture, the
# background with the box, the placement without a reference unit and with it (prompt "a shape", same seed).
# Prints the evaluator's table and writes docs/reference/reference-placement.png. Needs the evaluator built
# (dotnet build tools/ControlHost.Evaluation -c Release) and Python with cv2.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
dotnet tools/ControlHost.Evaluation/bin/Release/net10.0/controlhost-eval.dll reference --seeds "${SEEDS:-2}" --pictures "$out" "$@"
/usr/bin/python3 - "$out" <<'PY'
import json, sys, cv2, numpy as np
out = sys.argv[1]
d = "tests/fixtures/evalset-reference"
cases = {c["name"]: c for c in json.load(open(f"{d}/cases.json"))["cases"]}
rows = []
for name in ["ref1", "ref5", "ref9", "ref10", "ref12", "ref13"]:
    c = cases[name]
    picture = cv2.imread(f"{d}/{name}.object.png")
    tile = np.full((128, 128, 3), 255, np.uint8)
    s = min(120 / picture.shape[0], 120 / picture.shape[1])
    small = cv2.resize(picture, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST)
    y, x = (128 - small.shape[0]) // 2, (128 - small.shape[1]) // 2
    tile[y:y + small.shape[0], x:x + small.shape[1]] = small
    bg = cv2.imread(f"{d}/{name}.background.png")
    bx, by, bw, bh = c["box"]
    cv2.rectangle(bg, (bx, by), (bx + bw - 1, by + bh - 1), (255, 255, 255), 1)
    tiles = [tile, bg, cv2.imread(f"{out}/{name}.without.png"), cv2.imread(f"{out}/{name}.with.png")]
    rows.append(np.hstack([cv2.copyMakeBorder(t, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255)) for t in tiles]))
img = cv2.resize(np.vstack(rows), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
cv2.imwrite("docs/reference/reference-placement.png", img)
print("wrote docs/reference/reference-placement.png", img.shape)
PY
