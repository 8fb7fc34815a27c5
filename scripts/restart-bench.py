#!/usr/bin/env python3
"""A restart with a compressed tier: load a dataset, let the cold tier compress it, SAVE, restart from the
snapshot, and report how long the load took, the peak used_memory while the server came back, and when the
compressed tier was back as it was before the restart.

  python3 scripts/restart-bench.py --strata target/release/strata-server [--datasets api,logs,geo]
         [--scale 1] [--cold-seconds 1] [--baseline OTHER_BINARY]

The datasets are memory-bench's (scripts/memtools.py): JSON built from public data shipped in PyPI packages
(api: pycountry records in REST envelopes; geo; logs). --baseline restarts another build from the same snapshot
(for a before/after in the same run). Standard library only, plus what memtools installs for the corpora."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Conn, dataset_commands, free_port, load, settle_compression  # noqa: E402


def start(binary, port, workdir, cold):
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
            "--compression-cold-seconds", str(cold)]
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


def restart(binary, workdir, cold, want_compressed, timeout=300):
    """Starts `binary` on the snapshot in `workdir`; polls INFO every 20 ms until the compressed tier holds
    `want_compressed` keys again. Returns (load seconds, tier seconds, peak used_memory, settled used_memory)."""
    port = free_port()
    t0 = time.time()
    proc = start(binary, port, workdir, cold)
    try:
        conn = connect(port, proc, t0 + 30)
        peak, loaded_at = 0, None
        while time.time() - t0 < timeout:
            i = info(conn)
            peak = max(peak, int(i["used_memory"]))
            if loaded_at is None and i.get("loading") == "0":
                loaded_at = time.time() - t0
            if loaded_at is not None and int(i["compressed_keys"]) >= want_compressed:
                return loaded_at, time.time() - t0, peak, int(i["used_memory"])
            time.sleep(0.02)
        return loaded_at, float("nan"), peak, int(info(conn)["used_memory"])
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
                compressed = settle_compression(conn)
                before = int(info(conn)["used_memory"])
                conn.cmd("SAVE")
            finally:
                proc.terminate()
                proc.wait()
            # Values the load leaves raw as dictionary samples are compressed by the cycle right after.
            want = int(compressed * 0.99)
            for label, binary in [("strata", a.strata)] + ([("baseline", a.baseline)] if a.baseline else []):
                loaded, tier, peak, settled = restart(binary, workdir, a.cold_seconds, want)
                rows.append((name, n, label, compressed, before, loaded, tier, peak, settled))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print("Restart from a snapshot with compression-cold-seconds %d: used_memory before the restart, the load's "
          "duration, when the compressed tier held 99%% of its keys again, and the peak used_memory meanwhile."
          % a.cold_seconds)
    head = "%-8s %8s %-9s %11s %11s %8s %8s %11s %11s" % (
        "dataset", "docs", "build", "compressed", "before MB", "load s", "tier s", "peak MB", "settled MB")
    print(head)
    print("-" * len(head))
    for name, n, label, compressed, before, loaded, tier, peak, settled in rows:
        print("%-8s %8d %-9s %11d %11.1f %8.2f %8.2f %11.1f %11.1f" % (
            name, n, label, compressed, before / 1e6, loaded or float("nan"), tier, peak / 1e6, settled / 1e6))


if __name__ == "__main__":
    main()
