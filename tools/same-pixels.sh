#!/usr/bin/env bash
# Six fixed-seed generations (the README's, img2img, inpainting with both UNets, three stacked units, guidance 1 with
# prompt-first) whose pixels must not change under a refactor. Prints the hashes of the PNGs' image data (IHDR and
# IDAT: tools/png-pixels.py; the text chunks, infotext and job record, may change) and compares them with
# tools/same-pixels.sha256 (recorded on a 2-core x86-64 CPU; another machine may differ in the last bits).
# CLI=path/to/controlhost.dll runs another build (an older commit's, to record the hashes it made).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
[ -z "${CLI:-}" ] && dotnet build src/ControlHost.Cli -v q -nologo >/dev/null
cli() { dotnet "${CLI:-src/ControlHost.Cli/bin/Debug/net10.0/controlhost.dll}" generate "$@" 2>/dev/null >/dev/null; }
cli --prompt "a blue person and a red star on a pink background" --control canny=examples/star-scene.png,weight=1.0 \
    --control colour=examples/palette.png,weight=0.5,end=0.8 --seed 1 --out "$out/readme.png"
cli --prompt "a red circle on a green background" --init examples/star-scene.png --strength 0.6 --seed 7 --steps 12 --out "$out/img2img.png"
cli --prompt "a yellow square" --init examples/star-scene.png --mask examples/box-mask.png --seed 3 --steps 10 --out "$out/inpaint.png"
cli --prompt "a yellow square" --init examples/star-scene.png --mask examples/box-mask.png --model tiny-sd-inpainting --seed 3 --steps 10 --out "$out/inpaint9.png"
cli --prompt "a green triangle and a blue person" --control canny=examples/star-scene.png,weight=0.8 \
    --control pose=examples/pose.json,weight=1.0,start=0.1,mode=control-first --control colour=examples/palette.png,weight=0.7,end=0.6 \
    --sampler "DPM++ 2M Karras" --seed 42 --steps 15 --cfg 5 --out "$out/stack3.png"
cli --prompt "a red star" --control scribble=examples/star-scene.png,mode=prompt-first --sampler DDIM --cfg 1 --seed 5 --steps 8 --out "$out/cfg1.png"
(cd "$out" && python3 "$OLDPWD/tools/png-pixels.py" ./*.png) > "$out/hashes.txt"
cat "$out/hashes.txt"
if diff -q "$out/hashes.txt" tools/same-pixels.sha256 >/dev/null; then echo "same pixels"; else echo "PIXELS CHANGED"; exit 1; fi
