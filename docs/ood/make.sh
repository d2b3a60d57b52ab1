#!/usr/bin/env bash
# Five out-of-distribution controls (tests/fixtures/evalset-ood) and what the embedded model draws from them:
# per row the scene, its hint, the result with the unit, and the result without it (same prompt and seed).
# Writes docs/ood/ood-controls.png. Needs the CLI built (dotnet build src/ControlHost.Cli) and Python with cv2.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
cli() { dotnet src/ControlHost.Cli/bin/Debug/net10.0/controlhost.dll generate "$@" >/dev/null 2>&1; }
rows=("ood0 canny" "ood4 scribble" "ood7 canny" "ood9 scribble" "ood14 canny")
for row in "${rows[@]}"; do
  set -- $row
  caption=$(/usr/bin/python3 -c "import json,sys; print(next(s['caption'] for s in json.load(open('tests/fixtures/evalset-ood/scenes.json'))['scenes'] if s['name']=='$1'))")
  cli --prompt "$caption" --control "$2=tests/fixtures/evalset-ood/$1.$2.png,preprocess=none" --seed 21 --out "$out/$1-with.png"
  cli --prompt "$caption" --seed 21 --out "$out/$1-without.png"
done
/usr/bin/python3 - "$out" "${rows[@]}" <<'PY'
import sys, cv2, numpy as np
out, rows = sys.argv[1], [r.split() for r in sys.argv[2:]]
grid = []
for name, cond in rows:
    tiles = [cv2.imread(f"tests/fixtures/evalset-ood/{name}.png"), cv2.imread(f"tests/fixtures/evalset-ood/{name}.{cond}.png"),
             cv2.imread(f"{out}/{name}-with.png"), cv2.imread(f"{out}/{name}-without.png")]
    row = np.hstack([cv2.copyMakeBorder(t, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255)) for t in tiles])
    grid.append(row)
img = cv2.resize(np.vstack(grid), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
cv2.imwrite("docs/ood/ood-controls.png", img)
print("wrote docs/ood/ood-controls.png", img.shape)
PY
