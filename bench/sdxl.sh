#!/usr/bin/env bash
# Full-size SDXL at 1024x1024 on this machine -> bench/out/sdxl.md: a random-weight SDXL base checkpoint and SDXL
# ControlNet in the real layouts (tools/forge/sdxl_checkpoint.py --full: 6.94 GB + 2.50 GB float16, the sizes of
# sd_xl_base_1.0.safetensors and diffusers/controlnet-canny-sdxl-1.0; not committed), imported with the CLI, then one
# generation with 0 and one with 1 ControlNet (2 steps, guidance 7, Euler a), each in a fresh process.
# About 20 minutes on 2 cores; needs ~22 GB of RAM and ~35 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
P=/usr/bin/python3
D=bench/out/sdxl
[ -f $D/controlnet-diffusers.safetensors ] || $P tools/forge/sdxl_checkpoint.py --full --out $D
dotnet build src/ControlHost.Cli -c Release -v q -nologo | tail -1
CLI="dotnet src/ControlHost.Cli/bin/Release/net10.0/controlhost.dll"
out=bench/out/sdxl.md
run() { # label, then the CLI arguments
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -f 'peak %M KB' $CLI "$@" >"$log" 2>&1 || { echo "| $label | failed: $(tail -1 "$log") |"; return; }
  echo "| $label | $(grep -E '^(imported|saved|timings)' "$log" | tr '\n' ' ') $(tail -1 "$log") |"
  rm -f "$log"
}
{
  echo "## Full-size SDXL at 1024x1024 ($(nproc) cores, $(date -u +%F))"
  echo
  echo "| run | what the CLI printed; /usr/bin/time's peak resident set |"
  echo "| --- | --- |"
  rm -rf $D/imported $D/imported-cn
  run "import the checkpoint" import $D/checkpoint.safetensors --out $D/imported
  run "import the ControlNet" import $D/controlnet-diffusers.safetensors --out $D/imported-cn
  run "generate, 0 ControlNets" generate --model $D/imported --prompt "a photo of a red square" --steps 2 --width 1024 --height 1024 \
    --seed 1 --timings --out /tmp/sdxl-bench-0.png
  # Default settings: the float32 weights of the UNet, both text encoders, the VAE and the ControlNet (18.85 GB) plus
  # activations do not fit 24 GB; CONTROLHOST_LOW_MEMORY=1 (no arena, no pre-packing, text encoders let go) does.
  run "generate, 1 ControlNet (canny)" generate --model $D/imported --prompt "a photo of a red square" \
    --control canny=examples/star-scene.png,model=$D/imported-cn --steps 2 --width 1024 --height 1024 --seed 1 --timings --out /tmp/sdxl-bench-1.png
  export CONTROLHOST_LOW_MEMORY=1
  run "generate, 0 ControlNets, CONTROLHOST_LOW_MEMORY=1" generate --model $D/imported --prompt "a photo of a red square" --steps 2 \
    --width 1024 --height 1024 --seed 1 --timings --out /tmp/sdxl-bench-0-low.png
  run "generate, 1 ControlNet (canny), CONTROLHOST_LOW_MEMORY=1" generate --model $D/imported --prompt "a photo of a red square" \
    --control canny=examples/star-scene.png,model=$D/imported-cn --steps 2 --width 1024 --height 1024 --seed 1 --timings --out /tmp/sdxl-bench-1.png
} | tee $out
