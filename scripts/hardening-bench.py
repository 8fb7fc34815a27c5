"""Hardening figures, Strata beside redis-server 7.0 in the same run: a 1M-GET pipeline written before reading,
a blocked client flooding its socket (client-query-buffer-limit 64mb), and in-place writes (SETBIT, BITFIELD,
SETRANGE) on a 100 Mbit bitmap.

Usage: python3 scripts/hardening-bench.py target/release/strata-server
"""
import os, socket, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import start_pair

STRATA = sys.argv[1]

def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, text=True).stdout.strip()

def pipeline_1m(port):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(30)
    s.sendall(b"SET k " + b"x" * 100 + b"\r\n"); s.recv(9)
    want = 1_000_000 * len(b"$100\r\n" + b"x" * 100 + b"\r\n")
    import threading
    got = [0]
    def reader():
        while got[0] < want:
            d = s.recv(1 << 20)
            if not d: break
            got[0] += len(d)
    t0 = time.time()
    th = threading.Thread(target=reader); th.start()
    s.sendall(b"GET k\r\n" * 1_000_000)
    th.join(60)
    return time.time() - t0, got[0] == want

def blocked_input(port, pid):
    cli(port, "CONFIG", "SET", "client-query-buffer-limit", "64mb")
    before = rss_kb(pid)
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.sendall(b"BLPOP q 0\r\n")
    sent = 0; chunk = b"x" * (1 << 20)
    try:
        while sent < 300 * (1 << 20):
            s.sendall(chunk); sent += len(chunk)
    except OSError:
        pass
    time.sleep(0.5)
    return sent >> 20, (rss_kb(pid) - before) >> 10

def bench(port, *cmd, n=20000):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "2", "-n", str(n), "-r", "100000000", "-q"] + list(cmd),
                         capture_output=True, text=True).stdout
    for tok in out.replace("\r", "\n").split("\n"):
        if "requests per second" in tok:
            return float(tok.split(":")[1].split()[0])
    return float("nan")


def measure(srv):
    port = srv.port
    secs, ok = pipeline_1m(port)
    yield "1M GET pipeline over one socket (s)", f"{secs:.2f}{'' if ok else ' INCOMPLETE'}"
    sent, grow = blocked_input(port, srv.proc.pid)
    yield "BLPOP client sending 300 MB at 64mb limit: MB accepted / RSS growth MB", f"{sent} / {grow}"
    cli(port, "SETBIT", "bm", "99999999", "1")
    yield "SETBIT on a 100 Mbit bitmap (ops/s)", f"{bench(port, 'SETBIT', 'bm', '12345', '1'):.0f}"
    yield "BITFIELD INCRBY u8 on it (ops/s)", f"{bench(port, 'BITFIELD', 'bm', 'INCRBY', 'u8', '12345', '1'):.0f}"
    yield "SETRANGE on it (ops/s)", f"{bench(port, 'SETRANGE', 'bm', '1000', 'abcdef'):.0f}"


pair = start_pair(STRATA)
try:
    rows = [(srv.name, what, figure) for srv in pair for what, figure in measure(srv)]
finally:
    for srv in pair:
        srv.stop()
for r in rows:
    print("%-7s %-75s %s" % r)
