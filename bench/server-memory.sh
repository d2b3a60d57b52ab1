#!/usr/bin/env bash
# The server's resident set over 1,000 mixed requests at its default limits (issue 23) -> bench/out/server-memory.md.
#   bash bench/server-memory.sh [requests]     # about 15 minutes on 2 cores for 1,000
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/ControlHost.Bench -c Release -v q -nologo | tail -1
dotnet build src/ControlHost.Cli -c Release -v q -nologo | tail -1
port=7987
dotnet src/ControlHost.Cli/bin/Release/net10.0/controlhost.dll serve --port $port > bench/out/server-memory.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf http://127.0.0.1:$port/sdapi/v1/samplers > /dev/null && break; sleep 1; done
out=bench/out/server-memory.md
{
  echo "## Server memory over mixed requests at the limits ($(nproc) cores, $(date -u +%F))"
  echo
  echo "| point | resident set |"
  echo "| --- | ---: |"
  dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll memory http://127.0.0.1:$port $pid "${1:-1000}"
} | tee $out
