#!/bin/sh
# Rough first cut: about 1,000,000 keys of 100 bytes from redis-benchmark (-r 1000000, identical values, so LZ4
# flatters Strata's file size) into strata-server and redis-server; BGSAVE time, file size, restart-and-load time.
# Mixed types, a realistic corpus and the longest client stall during BGSAVE are still to do.
# Usage: scripts/persistence-bench.sh [path/to/strata-server]
set -e
BIN=${1:-target/release/strata-server}
run() { # name port startcmd file
  name=$1; port=$2; dir=$3; file=$4; shift 4
  rm -rf $dir; mkdir -p $dir
  "$@" >/dev/null 2>&1 &
  sleep 1
  redis-benchmark -p $port -t set -n 1500000 -r 1000000 -d 100 -P 64 -q >/dev/null
  keys=$(redis-cli -p $port dbsize)
  t0=$(date +%s.%N); redis-cli -p $port bgsave >/dev/null
  while redis-cli -p $port info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.02; done
  t1=$(date +%s.%N)
  size=$(stat -c %s $dir/$file)
  redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
  sleep 0.5
  t2=$(date +%s.%N)
  "$@" >/dev/null 2>&1 &
  until redis-cli -p $port ping 2>/dev/null | grep -q PONG; do sleep 0.01; done
  t3=$(date +%s.%N)
  loaded=$(redis-cli -p $port dbsize)
  redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
  echo "$name keys=$keys bgsave_s=$(echo "$t1 - $t0" | bc) file_bytes=$size start_and_load_s=$(echo "$t3 - $t2" | bc) loaded=$loaded"
}
run strata 46001 /tmp/pb-strata dump.strata $BIN --port 46001 --dir /tmp/pb-strata --save ""
run redis 46002 /tmp/pb-redis dump.rdb redis-server --port 46002 --dir /tmp/pb-redis --save ""
