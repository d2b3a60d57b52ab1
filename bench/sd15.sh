#!/usr/bin/env bash
# SD 1.5 shapes at 512x512 on this machine -> bench/out/sd15.md (bench/run.sh folds it into RESULTS.md).
# Exports the random-weight SD 1.5-shaped folder once (bench/out/sd15, ~6 GB, not committed), times the same
# networks in PyTorch, then in ControlHost against the bare floor. About 20-40 minutes on 2 cores; needs ~16 GB RAM.
set -euo pipefail
cd "$(dirname "$0")/.."
P=/usr/bin/python3
[ -f bench/out/sd15/sd15-shaped/unet/model.onnx ] || $P tools/forge/sd15.py --out bench/out/sd15
[ -f bench/out/sd15/torch.json ] || $P tools/forge/sd15.py --out bench/out/sd15 --time-only
dotnet build bench/ControlHost.Bench -c Release -v q -nologo | tail -1
dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll sd15 bench/out/sd15
