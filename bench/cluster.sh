#!/usr/bin/env bash
# Jobs per second and latency against the number of workers, and the broker's overhead per job (issue 26)
# -> bench/out/cluster.md.   bash bench/cluster.sh [jobs]      # about 5 minutes on 2 cores
#
# Set-ups, each measured by the same load (bench/ControlHost.Bench cluster): the in-process queue (`serve`, no
# broker), then one API node (`serve --nats --role api`) with 1, 2 and 3 `controlhost worker` processes on Debian's
# nats-server. Each row: sequential jobs (1 client: the latency of one job, where the broker's overhead shows) and a
# burst from 6 clients (throughput). Every worker is a CPU worker on this machine: they share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 CONTROLHOST_MODELS="$PWD/models"
jobs=${1:-60}
dotnet build bench/ControlHost.Bench -c Release -v q -nologo | tail -1
dotnet build src/ControlHost.Cli -c Release -v q -nologo | tail -1
cli="dotnet src/ControlHost.Cli/bin/Release/net10.0/controlhost.dll"
bench="dotnet bench/ControlHost.Bench/bin/Release/net10.0/ControlHost.Bench.dll"
mkdir -p bench/out
store=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$store"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 120); do curl -sf "http://127.0.0.1:$1/sdapi/v1/samplers" > /dev/null && return 0; sleep 0.5; done; echo "server on $1 did not start"; exit 1; }
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; pids=(); }

nats_port=14311
out=bench/out/cluster.md
{
  echo "## Jobs through the queue: in-process and on NATS JetStream ($(nproc) cores, $(date -u +%F))"
  echo
  echo "txt2img on the embedded model, 128x128, 8 steps, guidance 4; latency measured by the client over HTTP (A1111's synchronous route on the job queue)."
  echo
  echo "| set-up | jobs | clients | seconds | jobs/s | p50 ms | p95 ms | p99 ms | statuses |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} > $out

# The in-process queue: no broker.
$cli serve --port 17901 > bench/out/cluster-inprocess.log 2>&1 & pids+=($!)
wait_for 17901
$bench cluster http://127.0.0.1:17901 $((jobs / 2)) 1 "in-process, sequential" | tee -a $out
$bench cluster http://127.0.0.1:17901 "$jobs" 6 "in-process, 6 clients" | tee -a $out
stop_all

for workers in 1 2 3; do
  rm -rf "$store"; mkdir -p "$store"
  nats-server -js -a 127.0.0.1 -p $nats_port -sd "$store" > bench/out/cluster-nats.log 2>&1 & pids+=($!)
  sleep 1
  $cli serve --port 17902 --nats nats://127.0.0.1:$nats_port --role api --queue 64 > bench/out/cluster-api.log 2>&1 & pids+=($!)
  wait_for 17902
  for w in $(seq "$workers"); do
    $cli worker --nats nats://127.0.0.1:$nats_port --id "bench-$w" > "bench/out/cluster-worker-$w.log" 2>&1 & pids+=($!)
  done
  sleep 3
  $bench cluster http://127.0.0.1:17902 $((jobs / 2)) 1 "NATS, $workers worker(s), sequential" | tee -a $out
  $bench cluster http://127.0.0.1:17902 "$jobs" 6 "NATS, $workers worker(s), 6 clients" | tee -a $out
  stop_all
done
echo "written $out"
