#!/usr/bin/env bash
# Issue 13's CPU run: continue the committed family on scenes v2 in resumable stages (each has a time budget; a
# rerun resumes from the cache), then export. Run from the repository root, niced, in the background:
#   nohup nice -n 19 bash tools/forge/v2_run.sh > /tmp/forge-v2.log 2>&1 &
set -euo pipefail
P=/usr/bin/python3
F=tools/forge/forge.py
UNET_MIN=${UNET_MIN:-30}
CN_MIN=${CN_MIN:-22}
SMALL_MIN=${SMALL_MIN:-10}
$P tools/forge/import_onnx.py
$P $F latents
$P $F unet --minutes "$UNET_MIN" --lr 1e-4 --steps 100000
for c in canny scribble; do $P $F controlnet --cond $c --minutes "$CN_MIN" --lr 3e-4 --steps 100000; done
for c in seg depth lines; do $P $F controlnet --cond $c --minutes "$SMALL_MIN" --lr 3e-4 --steps 100000; done
$P $F export
