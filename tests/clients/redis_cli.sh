#!/usr/bin/env bash
# Real-client checks with redis-cli and redis-benchmark against a release build of Strata.
# Usage: tests/clients/redis_cli.sh path/to/strata-server
set -euo pipefail
bin=${1:-target/release/strata-server}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" --port "$port" --bind 127.0.0.1 --save '' --enable-debug-command local >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done

passed=0
failed=0
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); printf 'FAIL %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3"; fi
}
cli() { redis-cli -p "$port" "$@"; }

check ping PONG "$(cli PING)"
check set OK "$(cli SET greeting 'hello world')"
check get 'hello world' "$(cli GET greeting)"
check incr 1 "$(cli INCR counter)"
check config-get $'maxmemory\n0' "$(cli CONFIG GET maxmemory)"
check info-has-version yes "$(cli INFO server | grep -q '^redis_version:' && echo yes)"
check info-keyspace yes "$(cli INFO keyspace | grep -q '^db0:keys=2,' && echo yes)"
check client-list yes "$(cli CLIENT LIST | grep -q 'cmd=client|list' && echo yes)"
check not-integer 'ERR value is not an integer or out of range' "$(cli INCR greeting)"
check unknown "ERR unknown command 'FOO', with args beginning with: 'a' " "$(cli FOO a)"
check pipe-mode "$(printf 'OK\nOK\nv1\n')" "$(printf 'SET p1 v1\r\nSET p2 v2\r\nGET p1\r\n' | cli)"
check raw-bulk 'hello world' "$(cli --raw GET greeting)"
check resp3-hello yes "$(cli -3 HELLO 3 | grep -q proto && echo yes)"

# MONITOR in a second redis-cli sees the commands of the first.
mon=$(mktemp)
timeout 3 redis-cli -p "$port" MONITOR >"$mon" 2>&1 &
sleep 0.5
cli SET monitored yes >/dev/null
sleep 0.5
check monitor yes "$(grep -q '"SET" "monitored" "yes"' "$mon" && echo yes)"
rm -f "$mon"

# redis-benchmark completes without errors, pipelined and not.
for args in "-P 16" "-P 1 -c 50"; do
    out=$(redis-benchmark -p "$port" -q -n 20000 $args -t ping,set,get,incr,mset 2>&1)
    if grep -qi 'error' <<<"$out" || [ "$(grep -c 'requests per second' <<<"$out")" -lt 6 ]; then
        failed=$((failed + 1)); printf 'FAIL redis-benchmark %s\n%s\n' "$args" "$out"
    else
        passed=$((passed + 1))
    fi
done

# The data-type workloads complete without errors too.
out=$(redis-benchmark -p "$port" -q -n 20000 -P 16 -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset 2>&1)
if grep -qi 'error' <<<"$out" || [ "$(grep -c 'requests per second' <<<"$out")" -lt 14 ]; then
    failed=$((failed + 1)); printf 'FAIL redis-benchmark data types\n%s\n' "$out"
else
    passed=$((passed + 1))
fi

# redis-cli's own diagnostics read Strata as they read Redis: --latency, --bigkeys, --memkeys, --stat.
lat=$(timeout 3 redis-cli -p "$port" --latency -i 1 </dev/null 2>&1 | tail -1 || true)
check cli-latency yes "$(grep -Eq '^[0-9]+ [0-9]+ [0-9.]+ [0-9]+$' <<<"$lat" && echo yes)"
big=$(cli --bigkeys 2>&1)
check cli-bigkeys yes "$(grep -q 'Biggest list   found' <<<"$big" && grep -q 'strings with' <<<"$big" && echo yes)"
mem=$(cli --memkeys 2>&1)
check cli-memkeys yes "$(grep -q 'Biggest string found' <<<"$mem" && grep -q 'lists with .* bytes' <<<"$mem" && echo yes)"
stat=$(timeout 3 stdbuf -o0 redis-cli -p "$port" --stat 2>&1 || true)
check cli-stat yes "$(grep -q -- '------- data ------' <<<"$stat" && grep -Eq '^[0-9]+ +[0-9.]+[KMG]? +[0-9]+ ' <<<"$stat" && echo yes)"
# HEALTH, SLOWLOG and LATENCY from redis-cli.
check cli-health healthy "$(cli HEALTH | sed -n 2p)"
check cli-slowlog-len yes "$(cli SLOWLOG LEN | grep -Eq '^[0-9]+$' && echo yes)"
cli CONFIG SET latency-monitor-threshold 1 >/dev/null
cli DEBUG SLEEP 0.01 >/dev/null
check cli-latency-latest command "$(cli LATENCY LATEST | head -1)"

# Cache intelligence from redis-cli, as docs/EXTENSIONS.md shows it: tags, invalidation, leases, predictions.
check cache-set-tags OK "$(cli CACHE.SET page:/users/7 html EX 300 TAGS 2 user:7 site)"
check cache-set-tags-2 OK "$(cli CACHE.SET page:/about html EX 300 TAGS 1 site)"
check tag-keys $'page:/about\npage:/users/7' "$(cli TAG.KEYS site)"
check tag-get $'site\nuser:7' "$(cli TAG.GET page:/users/7)"
check cache-get $'html\nfresh' "$(cli CACHE.GET page:/users/7)"
check tag-invalidate 1 "$(cli TAG.INVALIDATE user:7)"
check tag-count-after 1 "$(cli TAG.COUNT site)"
check tag-add-missing 'ERR no such key' "$(cli TAG.ADD nokey t)"
lease=$(cli CACHE.GETL report:1 5000)
check getl-lease yes "$(sed -n 1p <<<"$lease" | grep -qx lease && echo yes)"
token=$(sed -n 3p <<<"$lease")
check getl-wait wait "$(cli CACHE.GETL report:1 5000 | sed -n 1p)"
check cache-fill OK "$(cli CACHE.FILL report:1 "$token" computed EX 60)"
check cache-fill-again '' "$(cli CACHE.FILL report:1 "$token" stale EX 60)"
check getl-hit $'hit\ncomputed' "$(cli CACHE.GETL report:1 5000 | sed -n 1,2p)"
check bad-lease 'ERR lease time must be a positive number of milliseconds' "$(cli CACHE.GETL report:1 0)"
cli CONFIG SET warm-sample 1 >/dev/null
cli MSET user:9 a profile:9 b >/dev/null
printf 'GET user:9\nGET profile:9\n' | cli >/dev/null
cli DEL profile:9 >/dev/null
check warm-predict $'profile:9\nmissing' "$(printf 'GET user:9\nWARM.PREDICT COUNT 1 WITHREASONS\n' | cli | tail -2)"
check warm-hint 1 "$(cli WARM.HINT user:9 profile:9)"
check warm-count-zero 'ERR COUNT must be positive' "$(cli WARM.PREDICT COUNT 0)"

# SIGTERM stops the server cleanly (exit status 0).
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
check sigterm-clean-exit 0 "$status"
trap 'rm -f "$log"' EXIT

echo "redis-cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
