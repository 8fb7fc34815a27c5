#!/usr/bin/env bash
# Instructions per request, Strata versus redis-server 7.0, counted by valgrind's callgrind (noise-free where
# wall-clock times are not): the same fixed pipelined redis-benchmark workload of GETs and of SETs against each
# server, run twice at different lengths so startup and connection costs cancel out.
#
# Usage: scripts/instructions.sh [--tests get,set] [--requests 50000] [--clients 4] [--pipeline 16]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-redis.sh
if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq valgrind >/dev/null; else sudo apt-get install -y -qq valgrind >/dev/null; fi
fi
cargo build --release --locked -q
exec python3 scripts/benchtools.py instructions --strata target/release/strata-server "$@"
