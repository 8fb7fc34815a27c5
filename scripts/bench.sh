#!/usr/bin/env bash
# Throughput side by side: redis-benchmark against redis-server 7.0 and Strata (release build) on free ports,
# persistence off, alternating servers over several rounds; prints rps, ratio and p50/p99 (median of rounds).
#
# Usage: scripts/bench.sh [--quick] [--threads N] [--tests ping,set,...] [--pipelines 1,16] [--rounds R]
#                         [--requests N] [--clients C] [--bench-threads T] [--redis-io-threads N]
#        scripts/bench.sh --idle [--idle-conns 10000]   10k idle connections beside 50 busy ones, both servers
# --threads is Strata's worker-threads (default 1: the per-core comparison with single-threaded Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-redis.sh
cargo build --release --locked -q

mode=throughput
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) args+=(--rounds 1 --requests 20000 --pipeline-scale 5) ;;
        --idle) mode=idle ;;
        --idle-conns) args+=(--idle "$2"); shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
# The servers run in their own sessions; the driver stops them on exit, error or Ctrl-C.
exec python3 scripts/benchtools.py "$mode" --strata target/release/strata-server "${args[@]}"
