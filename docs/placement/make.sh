#!/usr/bin/env bash
# Makes the pictures of docs/placement.md from the repository root: bash docs/placement/make.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/placement
ch() { dotnet run --project src/ControlHost.Cli -v q -- "$@" 2>/dev/null; }
cp examples/star-scene.png "$out/background.png"
ch detect -m mask_box -i examples/star-scene.png --set x=78 --set y=8 --set width=44 --set height=56 -o "$out/box.png"
cp examples/object-sketch.png "$out/control-sketch.png"
for h in off reinhard poisson; do
  ch place --background examples/star-scene.png --box 78,8,44,56 --prompt "a green square" \
     --control canny=examples/object-sketch.png,preprocess=none --seed 4 --harmonize "$h" --out "$out/result-$h.png"
done
ch place --background examples/star-scene.png --box 78,8,44,56 --box 4,80,40,44 --prompt "a green square" --prompt "a blue circle" \
   --control canny=examples/object-sketch.png,preprocess=none,box=1 --seed 4 --out "$out/result-two-boxes.png"
ch place --from "$out/result-two-boxes.png" --out "$out/repeat.png"
cmp "$out/result-two-boxes.png" "$out/repeat.png" && rm "$out/repeat.png" && echo "--from repeated the placement byte for byte"
ch suggest-boxes --background examples/star-scene.png --size 40,50 --count 5 | tee "$out/suggestions.txt"
