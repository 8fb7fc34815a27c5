"""INFO (default sections) and INFO all latency with 1,000 and 1,000,000 keys (100-byte values loaded with
redis-cli --pipe), median of 200 calls each: INFO must not cost more with more keys.

Usage: python3 scripts/info-bench.py target/release/strata-server
"""
import os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Server, free_port
import redis

def load(port, n):
    body = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(k), k, b"v" * 100)
                    for k in (b"key:%08d" % i for i in range(n)))
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=body, capture_output=True, check=True)

def timed(r, *args, rounds=200):
    best = []
    for _ in range(rounds):
        t = time.perf_counter(); r.execute_command(*args); best.append(time.perf_counter() - t)
    best.sort()
    return best[len(best) // 2] * 1e6

binary = sys.argv[1]
for n in (1000, 1_000_000):
    port = free_port()
    srv = Server("strata", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""], port)
    try:
        load(port, n)
        r = redis.Redis(port=port)
        assert r.dbsize() == n
        print("%9d keys: INFO %6.0f us, INFO all %6.0f us, PING %4.0f us (medians of 200)" % (
            n, timed(r, "INFO"), timed(r, "INFO", "all"), timed(r, "PING")))
    finally:
        srv.stop()
