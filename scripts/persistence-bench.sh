#!/bin/bash
# Snapshots side by side: the same mixed dataset of about 1,000,000 keys (every type, values from real log lines
# and GeoNames pages, a tenth with TTLs) in strata-server and redis-server 7.0 (both with --save ""), then BGSAVE
# time, the longest client round trip during the BGSAVE, file size, and restart-and-load time, with ratios.
# Usage: scripts/persistence-bench.sh [path/to/strata-server] [--scale 0.1] [--rounds 3]
set -e
cd "$(dirname "$0")/.."
BIN=target/release/strata-server
case "$1" in ""|--*) ;; *) BIN=$1; shift ;; esac
[ -x "$BIN" ] || cargo build --release
. scripts/ensure-redis.sh
exec python3 scripts/persisttools.py --strata "$BIN" "$@"
