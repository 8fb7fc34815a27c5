#!/usr/bin/env bash
# Hit rate side by side: both servers with the same maxmemory and policy, a read-through workload (GET; on a miss
# SET) with Zipf(0.99) popularity over a key universe about four times what fits, JSON values of 500-3000 bytes.
# Usage: scripts/hitrate-bench.sh [--maxmemory 64mb] [--policy allkeys-lru] [--keys N] [--requests N]
# With --traces, public cache traces replayed instead, beside exact LRU and Belady's optimum (scripts/tracetools.py):
#        scripts/hitrate-bench.sh --traces [--trace NAME ...] [--sizes 1000,2000] [--limit N] [--selfcheck] ...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-redis.sh
cargo build --release --locked -q
if [ "${1:-}" = --traces ]; then
    shift
    exec python3 scripts/tracetools.py --strata target/release/strata-server "$@"
fi
python3 scripts/memtools.py hitrate --strata target/release/strata-server "$@"
