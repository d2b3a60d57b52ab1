#!/usr/bin/env bash
# A user's full-size SD 1.5 files at 512x512 on this machine -> bench/out/checkpoints.md: the first load from
# .safetensors (build + sessions), the cached load, LoRA switching, step time with 0 and 1 ControlNet, peak memory,
# and in the same run the forge-exported SD 1.5-shaped folder's step time (bench/sd15.sh's input) for the ratio.
# Random weights in the real layout (tools/forge/ldm_checkpoint.py --full, ~2.9 GB, not committed). ~15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
P=/usr/bin/python3
D=bench/out/sd15-ldm
[ -f $D/checkpoint.safetensors ] || $P tools/forge/ldm_checkpoint.py --full --out $D
[ -f $D/lora-b.safetensors ] || $P tools/forge/ldm_checkpoint.py --full --loras-only --out $D
$P tools/forge/ldm_checkpoint.py --full --keys-only > bench/out/sd15-keys.txt
dotnet build bench/ControlHost.Bench -c Release -v q -nologo | tail -1
dotnet build src/ControlHost.Cli -c Release -v q -nologo | tail -1
out=bench/out/checkpoints.md
{
  echo "## A user's SD 1.5 checkpoint from .safetensors ($(nproc) cores, $(date -u +%F))"
  echo
  dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll checkpoints $D
  echo
  echo "Import and steps with the CLI (fresh processes; /usr/bin/time's peak resident set):"
  echo
  echo "| run | figure |"
  echo "| --- | --- |"
  rm -rf $D/imported
  /usr/bin/time -f '| controlhost import | %e s wall, peak resident %M KB |' dotnet src/ControlHost.Cli/bin/Release/net10.0/controlhost.dll \
    import $D/checkpoint.safetensors --out $D/imported 2>&1 >/dev/null | tail -1
  if [ -f bench/out/sd15/sd15-shaped/unet/model.onnx ]; then
    for model in $D/imported bench/out/sd15/sd15-shaped; do
      line=$(dotnet src/ControlHost.Cli/bin/Release/net10.0/controlhost.dll generate --model $model --prompt "a photo" --steps 3 \
        --width 512 --height 512 --seed 1 --timings --out /tmp/checkpoints-bench.png 2>/dev/null | grep '^timings')
      echo "| $(basename $model), 3 steps at 512x512 | $(echo "$line" | sed 's/^timings: 3 steps; per step \([0-9.]*\) ms in models.*/\1 ms per guidance step in the models/') |"
    done
  fi
  echo
  echo "Key counts of the full-size checkpoint (tools/forge/ldm_checkpoint.py --full --keys-only):"
  echo '```'
  cat bench/out/sd15-keys.txt
  echo '```'
} | tee $out
