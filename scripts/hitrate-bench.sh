#!/usr/bin/env bash
# Hit rate side by side: both servers with the same maxmemory and policy, a read-through workload (GET; on a miss
# SET) with Zipf(0.99) popularity over a key universe about four times what fits, JSON values of 500-3000 bytes.
# Usage: scripts/hitrate-bench.sh [--maxmemory 64mb] [--policy allkeys-lru] [--keys N] [--requests N]
# With --traces, public cache traces replayed instead, beside exact LRU and Belady's optimum (scripts/tracetools.py):
#        scripts/hitrate-bench.sh --traces [--trace NAME ...] [--sizes 1000,2000] [--limit N] [--selfcheck] ...
# CACHE.* benchmarks (scripts/cachebench.py; --help lists the options):
# --stampede: 100 readers of one hot key with a short TTL, naive read-through (also on redis-server) against leases
#        and refresh-ahead: scripts/hitrate-bench.sh --stampede [--readers 100] [--ttl 1] [--compute-ms 100] [--quick]
# --adaptive-ttl: Zipf read-through over TTLs alone, TTLPOLICY ADAPTIVE against a fixed TTL tuned to the same mean
#        resident keys: scripts/hitrate-bench.sh --adaptive-ttl [--base 5 --min 1 --max 60] [--rate 4000] [--quick]
#        [--prefix: the policy from adaptive-ttl by key prefix instead of TTLPOLICY on every CACHE.SET]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-redis.sh
cargo build --release --locked -q
if [ "${1:-}" = --traces ]; then
    shift
    exec python3 scripts/tracetools.py --strata target/release/strata-server "$@"
fi
if [ "${1:-}" = --stampede ]; then
    shift
    exec python3 scripts/cachebench.py stampede --strata target/release/strata-server "$@"
fi
if [ "${1:-}" = --adaptive-ttl ]; then
    shift
    exec python3 scripts/cachebench.py adaptive --strata target/release/strata-server "$@"
fi
python3 scripts/memtools.py hitrate --strata target/release/strata-server "$@"
