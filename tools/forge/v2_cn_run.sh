#!/usr/bin/env bash
# Issue 13, second CPU run: the committed UNet and text encoder stay; only the edge ControlNets continue from their
# committed weights on the scenes v2 mix, each as a variant (controlnet_COND@v2) exported into a copy of models/ so
# that both can be measured side by side before anything replaces a committed file. The first run (v2_run.sh) showed
# that a short UNet continuation costs in-grammar quality, so this one leaves the UNet alone.
# Run from the repository root, niced, in the background:
#   nohup nice -n 19 bash tools/forge/v2_cn_run.sh > /tmp/forge-v2cn.log 2>&1 &
set -euo pipefail
P=/usr/bin/python3
F=tools/forge/forge.py
OUT=${OUT:-/tmp/models-v2}
LR=${LR:-2e-4}
CONDS=${CONDS:-"canny:50 scribble:45 lines:20"}
$P tools/forge/import_onnx.py
[ -f tools/forge/cache/latents.npz ] || $P $F latents
rm -rf "$OUT" && cp -r models "$OUT"
for cm in $CONDS; do
  c=${cm%%:*} m=${cm##*:}
  $P $F controlnet --cond "$c" --variant v2 --init-from "$c" --minutes "$m" --lr "$LR" --steps 100000
  $P $F export --cond "$c" --variant v2 --out "$OUT"
done
echo "v2 ControlNets exported to $OUT"
