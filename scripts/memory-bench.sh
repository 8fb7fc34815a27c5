#!/usr/bin/env bash
# Memory side by side: the same datasets loaded into a fresh redis-server and a fresh Strata (release build),
# then used_memory, used_memory_rss, bytes per key and Strata/Redis ratios.
# Usage: scripts/memory-bench.sh [--scale 0.1] [--datasets strings10,strings,strings1k,json,hashes,geo,logs,api] [--strata-args "..."]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-redis.sh
cargo build --release --locked -q
python3 scripts/memtools.py memory --strata target/release/strata-server "$@"
