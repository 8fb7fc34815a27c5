"""redis_exporter (oliver006, Debian's prometheus-redis-exporter) reads Strata as it reads Redis.

Starts Strata and the exporter, runs a few commands, scrapes the exporter and checks that it reached Strata
(redis_up 1), parsed its INFO into the figures Redis dashboards use, and logged no error.
Usage: python3 tests/clients/test_exporter.py path/to/strata-server
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import redis
from procs import free_port, start_strata


def wait_http(url, deadline=20.0):
    end = time.time() + deadline
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.2)


def samples(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        out[series] = float(value)
    return out


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/strata-server"
    exporter = shutil.which("prometheus-redis-exporter") or shutil.which("redis_exporter")
    if not exporter:
        sys.exit("prometheus-redis-exporter is not installed (apt-get install prometheus-redis-exporter)")
    work = tempfile.mkdtemp(prefix="strata-exporter-")
    port, eport = free_port(), free_port()
    procs = []
    try:
        procs.append(start_strata(binary, port, work))
        r = redis.Redis(port=port)
        for i in range(20):
            r.set(f"k{i}", "v")
        r.setex("ttl", 100, "v")
        r.get("k1")
        r.get("missing")
        elog = open(os.path.join(work, "exporter.log"), "w+")
        procs.append(subprocess.Popen([exporter, "-redis.addr", f"redis://127.0.0.1:{port}",
                                       "-web.listen-address", f"127.0.0.1:{eport}"], stdout=elog, stderr=elog))
        text = wait_http(f"http://127.0.0.1:{eport}/metrics")
        m = samples(text)
        failures = []

        def want(series, check, what):
            v = m.get(series)
            if v is None or not check(v):
                failures.append(f"{series} = {v}, expected {what}")

        want("redis_up", lambda v: v == 1, "1")
        want('redis_db_keys{db="db0"}', lambda v: v == 21, "21")
        want('redis_db_keys_expiring{db="db0"}', lambda v: v == 1, "1")
        want("redis_connected_clients", lambda v: v >= 2, ">= 2")
        want("redis_keyspace_hits_total", lambda v: v == 1, "1")
        want("redis_keyspace_misses_total", lambda v: v == 1, "1")
        want('redis_commands_total{cmd="set"}', lambda v: v == 20, "20")
        want("redis_memory_used_bytes", lambda v: v > 0, "> 0")
        want("redis_uptime_in_seconds", lambda v: v >= 0, ">= 0")
        info = [k for k, v in m.items() if k.startswith("redis_instance_info{") and v == 1]
        if not any('redis_version="7.0.15"' in k and 'role="master"' in k and f'tcp_port="{port}"' in k for k in info):
            failures.append(f"redis_instance_info lacks INFO server's fields: {info}")
        if not any(k.startswith("redis_latency_percentiles_usec") for k in m):
            failures.append("no redis_latency_percentiles_usec (INFO latencystats)")
        elog.seek(0)
        log = elog.read()
        errors = [l for l in log.splitlines() if re.search(r"level=(error|fatal)|Couldn't|couldn't", l)]
        if errors:
            failures.append("exporter logged errors:\n  " + "\n  ".join(errors[:10]))
        if failures:
            print("FAIL redis_exporter against Strata:\n" + "\n".join(failures))
            sys.exit(1)
        print(f"redis_exporter: {len(m)} series read from Strata, no errors")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
