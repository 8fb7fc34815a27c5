#!/usr/bin/env python3
"""Throughput, instruction-count and idle-connection comparisons of Strata and redis-server, side by side.

Called by scripts/bench.sh and scripts/instructions.sh; servers are started and stopped with the helpers of
scripts/memtools.py so every benchmark script launches them the same way.
"""
import argparse
import csv
import io
import os
import shutil
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memtools  # noqa: E402
from memtools import Server, free_port  # noqa: E402

DEFAULT_TESTS = "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset"

SERVERS = []


def stop_all(*_):
    for s in SERVERS:
        try:
            s.stop()
        except Exception:
            pass
    SERVERS.clear()


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def start_pair(strata_bin, threads, redis_extra=(), strata_extra=()):
    """memtools' pair of fresh servers, with Strata's worker threads set and both registered for cleanup."""
    pair = memtools.start_pair(strata_bin, redis_extra, ["--worker-threads", str(threads), *strata_extra])
    SERVERS.extend(pair)
    return pair


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- throughput: redis-benchmark side by side ----

def redis_benchmark(port, tests, pipeline, requests, clients, threads, size, keyspace):
    argv = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-n", str(requests),
            "-d", str(size), "-r", str(keyspace), "-t", tests, "--csv"]
    if threads > 1:
        argv += ["--threads", str(threads)]
    run = subprocess.run(argv, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("redis-benchmark failed against port %d: %s" % (port, run.stderr.strip() or run.stdout[-500:]))
    out = run.stdout
    rows = {}
    for row in csv.DictReader(io.StringIO(out)):
        name = row["test"]
        if "needed to benchmark" in name:
            continue
        rows[name.split(" ")[0]] = (float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))
    return rows


# Script workloads (EVALSHA rows): a GET returned through a script, and a 10-command read-modify-write.
SCRIPTS = {
    "evalsha_get": ("return redis.call('GET', KEYS[1])", ["1", "key:__rand_int__"]),
    "evalsha_rmw": ("""
        local v = tonumber(redis.call('GET', KEYS[1]) or '0')
        redis.call('SET', KEYS[1], v + 1)
        redis.call('HINCRBY', KEYS[2], 'n', 1)
        redis.call('HGET', KEYS[2], 'n')
        redis.call('EXPIRE', KEYS[1], 3600)
        redis.call('TTL', KEYS[1])
        redis.call('LPUSH', KEYS[3], v)
        redis.call('LTRIM', KEYS[3], 0, 9)
        redis.call('LLEN', KEYS[3])
        return redis.call('GET', KEYS[1])
    """, ["3", "rmw:__rand_int__", "rmwh:__rand_int__", "rmwl:__rand_int__"]),
}


# Strata's own commands, which Redis lacks: measured on Strata only, beside INCR in the same round (the issue's
# yardstick for a counter update).
EXTENSIONS = {
    "incr": ["INCR", "ext:__rand_int__"],
    "ctr_incr": ["CTR.INCR", "ctr:__rand_int__"],
    "ctr_throttle": ["CTR.THROTTLE", "thr:__rand_int__", "100", "1000", "60"],
    # One running 50/50 experiment; users drawn from the keyspace range, so most answers after the first pass are
    # sticky look-ups and the rest enroll new users.
    "exp_assign": ["EXP.ASSIGN", "bench-exp", "user:__rand_int__"],
}

# Commands an extension benchmark needs run first (after FLUSHALL).
EXTENSION_SETUP = {
    "exp_assign": [
        ["EXP.CREATE", "bench-exp", '{"variations": ["control", "treatment"], "weights": [0.5, 0.5]}'],
        ["EXP.START", "bench-exp"],
    ],
}


def command_benchmark(srv, label, command, pipeline, requests, clients, threads, keyspace):
    """redis-benchmark running one command line; returns (rps, p50, p99)."""
    cmd = ["redis-benchmark", "-p", str(srv.port), "-c", str(clients), "-P", str(pipeline), "-n", str(requests),
           "-r", str(keyspace), "--csv"]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    run = subprocess.run(cmd + command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("redis-benchmark %s failed against port %d: %s" % (label, srv.port, run.stderr.strip()))
    for row in csv.DictReader(io.StringIO(run.stdout)):
        return (float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))
    raise RuntimeError("redis-benchmark %s printed no result" % label)


def script_benchmark(srv, label, pipeline, requests, clients, threads, keyspace):
    """Loads the script with SCRIPT LOAD and runs EVALSHA on it with redis-benchmark; returns (rps, p50, p99)."""
    body, argv = SCRIPTS[label]
    sha = srv.conn.cmd("SCRIPT", "LOAD", body)
    sha = sha.decode() if isinstance(sha, bytes) else sha
    return command_benchmark(srv, label, ["EVALSHA", sha] + argv, pipeline, requests, clients, threads, keyspace)


def throughput(args):
    redis_extra = ["--io-threads", str(args.redis_io_threads)] if args.redis_io_threads > 1 else []
    strata_extra = []
    if args.appendfsync:
        # Both servers keep their change log (AOF) in a fresh directory of their own.
        for name, extra in (("redis", redis_extra), ("strata", strata_extra)):
            d = "/tmp/benchtools-%s-%d" % (name, os.getpid())
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            extra += ["--dir", d, "--appendonly", "yes", "--appendfsync", args.appendfsync]
    redis, strata = start_pair(args.strata, args.threads, redis_extra, strata_extra)
    pipelines = [int(p) for p in args.pipelines.split(",")]
    # results[(test, P)][server] = [(rps, p50, p99) per round]
    results = {}
    order = []
    ext_results = {}  # (label, P) -> [(rps, p50, p99) per round], Strata only
    for rnd in range(args.rounds):
        for p in pipelines:
            n = args.requests * (args.pipeline_scale if p > 1 else 1)
            # Alternate who goes first so neither always meets a warmer (or busier) machine.
            pair = [redis, strata] if rnd % 2 == 0 else [strata, redis]
            for srv in pair:
                srv.conn.cmd("FLUSHALL")
                rows = redis_benchmark(srv.port, args.tests, p, n, args.clients, args.bench_threads, args.size,
                                       args.keyspace)
                for label in [x for x in args.scripts.split(",") if x]:
                    rows[label] = script_benchmark(srv, label, p, n, args.clients, args.bench_threads, args.keyspace)
                for test, r in rows.items():
                    key = (test, p)
                    if key not in results:
                        results[key] = {"redis": [], "strata": []}
                        order.append(key)
                    results[key][srv.name].append(r)
            for label in [x for x in args.extensions.split(",") if x]:
                strata.conn.cmd("FLUSHALL")
                for setup in EXTENSION_SETUP.get(label, []):
                    strata.conn.cmd(*setup)
                r = command_benchmark(strata, label, EXTENSIONS[label], p, n, args.clients, args.bench_threads,
                                      args.keyspace)
                ext_results.setdefault((label, p), []).append(r)
        print("round %d/%d done" % (rnd + 1, args.rounds), file=sys.stderr)
    stop_all()

    print()
    print("Strata worker-threads %d, redis-benchmark -c %d -d %d -r %d%s, %d round(s), median shown" % (
        args.threads, args.clients, args.size, args.keyspace,
        " --threads %d" % args.bench_threads if args.bench_threads > 1 else "", args.rounds))
    hdr = "%-10s %3s %12s %12s %6s %9s %9s %9s %9s" % ("command", "P", "redis rps", "strata rps", "ratio",
                                                         "r p50 ms", "s p50 ms", "r p99 ms", "s p99 ms")
    print(hdr)
    print("-" * len(hdr))
    ratios = []
    for key in sorted(order, key=lambda k: (k[1], order.index(k))):
        test, p = key
        med = {name: tuple(statistics.median(x[i] for x in rs) for i in range(3)) for name, rs in results[key].items()}
        r, s = med["redis"], med["strata"]
        ratio = s[0] / r[0] if r[0] else 0.0
        ratios.append(ratio)
        print("%-10s %3d %12.0f %12.0f %6.2f %9.3f %9.3f %9.3f %9.3f" % (test, p, r[0], s[0], ratio, r[1], s[1],
                                                                       r[2], s[2]))
    if ratios:
        print("-" * len(hdr))
        print("ratio: min %.2f, median %.2f, geometric mean %.2f" % (
            min(ratios), statistics.median(ratios), statistics.geometric_mean([max(x, 1e-9) for x in ratios])))
    if ext_results:
        print()
        print("Strata's own commands, Strata only, against its INCR in the same rounds (median shown)")
        hdr = "%-13s %3s %12s %14s %9s %9s" % ("command", "P", "strata rps", "ratio to INCR", "p50 ms", "p99 ms")
        print(hdr)
        print("-" * len(hdr))
        for (label, p), rs in sorted(ext_results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "incr")):
            med = tuple(statistics.median(x[i] for x in rs) for i in range(3))
            base = statistics.median(x[0] for x in ext_results.get(("incr", p), rs))
            print("%-13s %3d %12.0f %14.2f %9.3f %9.3f" % (label, p, med[0], med[0] / base if base else 0.0,
                                                          med[1], med[2]))


# ---- instructions per request under callgrind ----

def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def instructions_for(name, argv_for_port, workload, counts, clients, pipeline):
    """Instructions the server spends per request: two runs of different length, so startup, shutdown and the
    fixed cost of connecting cancel out in the difference."""
    totals = []
    for n in counts:
        port = free_port()
        out = tempfile.NamedTemporaryFile(prefix="callgrind.%s." % name, delete=False).name
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--dump-instr=no",
                "--collect-jumps=no"] + argv_for_port(port)
        srv = Server(name, argv, port)
        SERVERS.append(srv)
        try:
            if name == "strata":
                # The cron's work grows with the run's length under valgrind and would not cancel out.
                srv.conn.cmd("DEBUG", "PAUSE-CRON", "1")
            srv.conn.cmd("SET", "key:000000000042", "x" * 100)
            subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-n",
                            str(n), "-d", "100", "-r", "100000", "-t", workload, "-q"], check=True,
                           capture_output=True)
            srv.conn.s.close()
        finally:
            srv.stop()
            SERVERS.remove(srv)
        totals.append(callgrind_total(out))
        os.unlink(out)
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


def instructions(args):
    counts = (args.requests, args.requests * 3)
    rows = []
    for workload in args.tests.split(","):
        redis = instructions_for("redis", lambda p: ["redis-server", "--port", str(p), "--bind", "127.0.0.1",
                                                      "--save", "", "--appendonly", "no"],
                                 workload, counts, args.clients, args.pipeline)
        strata = instructions_for("strata", lambda p: [args.strata, "--port", str(p), "--bind", "127.0.0.1",
                                                        "--save", "", "--worker-threads", "1",
                                                        "--enable-debug-command", "yes"],
                                  workload, counts, args.clients, args.pipeline)
        rows.append((workload, redis, strata))
        print("%s measured" % workload, file=sys.stderr)
    print()
    print("instructions per request (callgrind; -c %d -P %d, difference of %d and %d requests)" % (
        args.clients, args.pipeline, counts[0], counts[1]))
    hdr = "%-8s %14s %14s %7s" % ("command", "redis", "strata", "ratio")
    print(hdr)
    print("-" * len(hdr))
    for w, r, s in rows:
        print("%-8s %14.0f %14.0f %7.2f" % (w, r, s, s / r))


# ---- idle connections ----

def open_idle(port, n):
    socks = []
    ping = b"*1\r\n$4\r\nPING\r\n"
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(ping)
        socks.append(s)
        if i % 500 == 499:
            for t in socks[-500:]:
                t.recv(16)
    for t in socks[len(socks) - len(socks) % 500:]:
        t.recv(16)
    return socks


def idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    rows = []
    limit = ["--maxclients", str(args.idle + 1000)]
    redis, strata = start_pair(args.strata, args.threads, limit, limit)
    for srv in (redis, strata):
        before = rss_kb(srv.proc.pid)
        busy = redis_benchmark(srv.port, args.tests, 1, args.requests, args.clients, 1, 100, 100000)
        socks = open_idle(srv.port, args.idle)
        # Both servers give back an idle client's buffers in their cron after ~2 s; measure once settled.
        time.sleep(args.settle)
        after = rss_kb(srv.proc.pid)
        connected = int(srv.conn.info("clients")["connected_clients"])
        loaded = redis_benchmark(srv.port, args.tests, 1, args.requests, args.clients, 1, 100, 100000)
        for s in socks:
            s.close()
        per_conn = (after - before) * 1024 / args.idle
        for test in busy:
            rows.append((srv.name, test, busy[test][0], loaded[test][0], per_conn, connected))
    stop_all()
    print()
    print("%d idle connections beside %d busy ones (-P 1), Strata worker-threads %d" % (args.idle, args.clients,
                                                                                        args.threads))
    hdr = "%-7s %-6s %14s %14s %7s %16s %10s" % ("server", "cmd", "rps alone", "rps + idle", "ratio",
                                                 "bytes/idle conn", "clients")
    print(hdr)
    print("-" * len(hdr))
    for name, test, alone, loaded, per_conn, connected in rows:
        print("%-7s %-6s %14.0f %14.0f %7.2f %16.0f %10d" % (name, test, alone, loaded, loaded / alone, per_conn,
                                                           connected))


def main():
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--strata", required=True)
    t.add_argument("--threads", type=int, default=1, help="Strata worker-threads")
    t.add_argument("--redis-io-threads", type=int, default=1)
    t.add_argument("--bench-threads", type=int, default=1, help="redis-benchmark --threads")
    t.add_argument("--tests", default=DEFAULT_TESTS)
    t.add_argument("--scripts", default="evalsha_get,evalsha_rmw",
                   help="script workloads run with EVALSHA after the -t tests (empty: none)")
    t.add_argument("--extensions", default="incr,ctr_incr,ctr_throttle,exp_assign",
                   help="Strata-only command rows, compared with Strata's INCR (empty: none)")
    t.add_argument("--pipelines", default="1,16")
    t.add_argument("--clients", type=int, default=50)
    t.add_argument("--requests", type=int, default=100_000, help="requests per test at -P 1")
    t.add_argument("--pipeline-scale", type=int, default=10, help="request multiplier for pipelined runs")
    t.add_argument("--size", type=int, default=100)
    t.add_argument("--keyspace", type=int, default=100_000)
    t.add_argument("--rounds", type=int, default=3)
    t.add_argument("--appendfsync", choices=["always", "everysec", "no"],
                   help="run both servers with appendonly yes and this fsync policy")
    i = sub.add_parser("instructions")
    i.add_argument("--strata", required=True)
    i.add_argument("--tests", default="get,set")
    i.add_argument("--requests", type=int, default=50_000)
    i.add_argument("--clients", type=int, default=4)
    i.add_argument("--pipeline", type=int, default=16)
    d = sub.add_parser("idle")
    d.add_argument("--strata", required=True)
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--idle", type=int, default=10_000)
    d.add_argument("--clients", type=int, default=50)
    d.add_argument("--requests", type=int, default=200_000)
    d.add_argument("--tests", default="get,set")
    d.add_argument("--settle", type=float, default=5.0, help="seconds to wait before reading RSS")
    args = ap.parse_args()
    try:
        {"throughput": throughput, "instructions": instructions, "idle": idle}[args.cmd](args)
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
