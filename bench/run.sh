#!/usr/bin/env bash
# Every benchmark in one run on this machine -> bench/RESULTS.md and bench/plots/*.png.
#   bash bench/run.sh            # about 10 minutes on 2 cores; run it on a quiet machine
#   bash bench/run.sh --quick    # a smoke run (one repeat), to check that everything runs
# Optional parts join when their inputs exist: the PyTorch reference (Python with torch, onnx, cv2), the UNet
# without residual inputs (bench/out/unet-plain.onnx, made here when Python has onnx), SD 1.5 shapes (bench/out/sd15.md,
# written by bench/sd15.sh) and the GPU run (bench/out/gpu.md, written by bench/gpu.sh on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build ControlHost.sln -c Release -v q -nologo | tail -2
mkdir -p bench/out
if /usr/bin/python3 -c "import onnx" 2>/dev/null; then /usr/bin/python3 tools/forge/plain_unet.py bench/out/unet-plain.onnx; fi
dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll results "$@"
