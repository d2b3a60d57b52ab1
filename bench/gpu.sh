#!/usr/bin/env bash
# The same benchmark with ONNX Runtime's CUDA provider, for one short call on a GPU machine (the device tool):
#   bash bench/gpu.sh        # writes bench/out/gpu-RESULTS.md and prints nvidia-smi's card line
# The engine probes CUDA and falls back to CPU with a notice; the report's header then says which ran.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
dotnet build bench/ControlHost.Bench -c Release -v q -nologo | tail -1
CONTROLHOST_BENCH_DEVICE=cuda dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll results --quick
mkdir -p bench/out && cp bench/RESULTS.md bench/out/gpu-RESULTS.md && git checkout -- bench/RESULTS.md 2>/dev/null || true
