#!/usr/bin/env python3
"""A restart with a compressed tier: load a dataset, let the cold tier compress it, read a hot share of the keys,
SAVE, restart from the snapshot, and report when a hot key was served again, when the whole dataset was in, the
peak used_memory while the server came back, and when the compressed tier was back as it was before the restart.
This build restarts twice: with `warm-restart no` (one pass, as Redis loads) and `yes` (the default: hot keys
first, the rest behind them); a --baseline build once, with its defaults.

  python3 scripts/restart-bench.py --strata target/release/strata-server [--datasets api,logs,geo]
         [--scale 1] [--cold-seconds 1] [--hot-share 0.1] [--baseline OTHER_BINARY]

The datasets are memory-bench's (scripts/memtools.py): JSON built from public data shipped in PyPI packages
(api: pycountry records in REST envelopes; geo; logs). --baseline restarts another build from the same snapshot
(for a before/after in the same run). Standard library only, plus what memtools installs for the corpora."""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Conn, dataset_commands, free_port, load, settle_compression  # noqa: E402


def start(binary, port, workdir, cold, extra=()):
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
            "--compression-cold-seconds", str(cold), *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def info(conn):
    text = conn.cmd("INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def connect(port, proc, deadline):
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("strata-server exited")
        try:
            return Conn(port)
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("strata-server did not start")


def restart(binary, workdir, cold, want_compressed, hot_key, extra=(), timeout=300):
    """Starts `binary` on the snapshot in `workdir`; polls a GET of `hot_key` until it is served, and INFO every
    20 ms until the whole dataset is in and the compressed tier holds `want_compressed` keys again. Returns
    (served seconds, complete seconds, tier seconds, peak used_memory, settled used_memory)."""
    port = free_port()
    t0 = time.time()
    proc = start(binary, port, workdir, cold, extra)
    try:
        conn = connect(port, proc, t0 + 30)
        peak, served_at, complete_at = 0, None, None
        while time.time() - t0 < timeout:
            if served_at is None:
                v = conn.cmd("GET", hot_key)
                if v is not None and not v.startswith(b"LOADING"):
                    served_at = time.time() - t0
            i = info(conn)
            peak = max(peak, int(i["used_memory"]))
            if complete_at is None and i.get("loading") == "0" and i.get("warming", "0") == "0":
                complete_at = time.time() - t0
            if served_at is not None and complete_at is not None and int(i["compressed_keys"]) >= want_compressed:
                return served_at, complete_at, time.time() - t0, peak, int(i["used_memory"])
            time.sleep(0.005 if served_at is None else 0.02)
        return served_at, complete_at, float("nan"), peak, int(info(conn)["used_memory"])
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", required=True)
    ap.add_argument("--baseline", help="another strata-server build restarted from the same snapshot")
    ap.add_argument("--datasets", default="api,logs,geo")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of memory-bench's 100,000 documents")
    ap.add_argument("--cold-seconds", type=int, default=1, help="compression-cold-seconds")
    ap.add_argument("--hot-share", type=float, default=0.1, help="share of the keys read just before SAVE")
    a = ap.parse_args()
    rows = []
    for name in a.datasets.split(","):
        workdir = tempfile.mkdtemp(prefix="strata-restart-")
        try:
            cmds, n = dataset_commands(name, a.scale)
            port = free_port()
            proc = start(a.strata, port, workdir, a.cold_seconds)
            try:
                conn = connect(port, proc, time.time() + 30)
                load(conn, cmds)
                settle_compression(conn)
                # A hot share, read in a random order just before the save: hot when saved, the rest cold.
                keys = [c[1] for c in cmds]
                hot = random.Random(7).sample(keys, int(len(keys) * a.hot_share))
                for i in range(0, len(hot), 1000):
                    conn.pipeline([("GET", k) for k in hot[i:i + 1000]])
                compressed = int(info(conn)["compressed_keys"])
                before = int(info(conn)["used_memory"])
                conn.cmd("SAVE")
            finally:
                proc.terminate()
                proc.wait()
            # Values the load leaves raw as dictionary samples are compressed by the cycle right after.
            want = int(compressed * 0.99)
            builds = [("strata", a.strata)] + ([("baseline", a.baseline)] if a.baseline else [])
            for label, binary in builds:
                modes = [("one-pass", ("--warm-restart", "no")), ("warm", ("--warm-restart", "yes"))]
                for mode, extra in modes if label == "strata" else [("default", ())]:
                    r = restart(binary, workdir, a.cold_seconds, want, hot[0] if hot else keys[0], extra)
                    rows.append((name, n, "%s %s" % (label, mode), compressed, before) + r)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print("Restart from a snapshot with compression-cold-seconds %d and %.0f%% of the keys hot: used_memory "
          "before the restart; when a hot key was served, the whole dataset was in, and the compressed tier held "
          "99%% of its keys again; the peak used_memory meanwhile." % (a.cold_seconds, a.hot_share * 100))
    head = "%-8s %8s %-16s %11s %11s %8s %10s %8s %11s %11s" % (
        "dataset", "docs", "build", "compressed", "before MB", "served s", "complete s", "tier s", "peak MB",
        "settled MB")
    print(head)
    print("-" * len(head))
    nan = float("nan")
    for name, n, label, compressed, before, served, complete, tier, peak, settled in rows:
        print("%-8s %8d %-16s %11d %11.1f %8.2f %10.2f %8.2f %11.1f %11.1f" % (
            name, n, label, compressed, before / 1e6, served or nan, complete or nan, tier, peak / 1e6,
            settled / 1e6))


if __name__ == "__main__":
    main()
