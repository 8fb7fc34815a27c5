"""Transaction fuzzer: random command mixes inside MULTI/EXEC from several clients at once, a PING after each.

Every transaction mixes data commands of every type with commands that look at the whole server (INFO in all
its sections, MEMORY STATS, DBSIZE, KEYS, SCAN, CLIENT LIST, ...) and commands that move keys between
databases (SELECT, SWAPDB, MOVE, COPY ... DB, FLUSHDB). Several clients run them at the same time on a small
shared key set, so an EXEC that takes shard locks in a different order than a concurrent command, or a queued
command that locks what EXEC already holds, shows up as a wedged server instead of hiding behind luck.

A reply that does not arrive within --timeout seconds means the server is wedged; a closed connection or an
exited process means it crashed. Either fails the run (exit status 1), and what each client was waiting for is
printed: the transaction that wedged the server is among them, the others are its victims. The commands are
deterministic for a given --seed and --threads; their interleaving is not. --exclude keeps a command out of the
mix, to look past a known bug until it is fixed.

Usage: python3 tests/clients/txn_fuzz.py path/to/strata-server [--transactions N] [--threads T] [--seed S]
       python3 tests/clients/txn_fuzz.py --port 6379 ...      (a server that is already running)
"""
import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"


class Wedged(Exception):
    """No reply within the timeout."""


class Closed(Exception):
    """The server closed the connection."""


class BadReply(Exception):
    """Bytes that are not RESP, or a reply of the wrong shape."""


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A blocking RESP client whose every read is bounded by the timeout."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, cmds):
        try:
            self.sock.sendall(b"".join(encode(c) for c in cmds))
        except socket.timeout:
            raise Wedged("send timed out") from None
        except OSError as e:
            raise Closed(str(e)) from None

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Wedged("no reply") from None
        except OSError as e:
            raise Closed(str(e)) from None
        if not data:
            raise Closed("connection closed by the server")
        self.buf += data

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _take(self, n):
        while len(self.buf) < self.pos + n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise BadReply("bulk not terminated by CRLF")
        self.pos += n + 2
        return data

    def read(self):
        """One reply: str for simple strings, Err for errors, int, bytes, None, or a list."""
        value = self._parse()
        del self.buf[:self.pos]
        self.pos = 0
        return value

    def _parse(self):
        line = self._line()
        if not line:
            raise BadReply("empty line where a reply was expected")
        kind, body = line[:1], line[1:]
        if kind == b"+":
            return body.decode("latin-1")
        if kind == b"-":
            return Err(body.decode("latin-1"))
        if kind in (b":", b","):
            return body.decode("latin-1")
        if kind == b"_":
            return None
        try:
            n = int(body)
        except ValueError:
            raise BadReply(f"bad header {line[:80]!r}") from None
        if kind in (b"$", b"=", b"!"):
            return None if n < 0 else self._take(n)
        if kind in (b"*", b"~", b">"):
            return None if n < 0 else [self._parse() for _ in range(n)]
        if kind == b"%":
            return [self._parse() for _ in range(2 * n)]
        raise BadReply(f"unknown reply type {line[:80]!r}")

    def call(self, *args):
        self.send([args])
        return self.read()


class Err(str):
    """An error reply."""


# ---- the command generator ----------------------------------------------------------------------------------

# A small key set shared by every client, so transactions and plain commands keep meeting on the same shards.
KEYS = [f"k{i}" for i in range(12)] + ["{tag}a", "{tag}b", "counter", "list", "set", "zset", "hash"]
SECTIONS = ["", "keyspace", "memory", "all", "everything", "default", "server", "clients", "stats",
            "commandstats", "errorstats", "persistence", "replication", "cpu", "keyspace memory"]


EXCLUDED = set()


def gen_command(rng):
    """One command of a random family; arguments mostly valid, so most commands do something."""
    while True:
        cmd = _gen_command(rng)
        if cmd[0].upper() not in EXCLUDED:
            return cmd


def _gen_command(rng):
    k = rng.choice(KEYS)
    k2 = rng.choice(KEYS)
    v = rng.choice(["v", "1", "-7", "3.5", "x" * rng.randint(0, 40), "\x00\xff", ""])
    n = rng.choice([0, 1, 2, 3, 10, -1, -5])
    f = rng.choice(["f1", "f2", "f3"])
    m = rng.choice(["a", "b", "c", "1", "2"])
    score = rng.choice(["1", "2.5", "-3", "+inf", "-inf"])
    db = rng.randint(0, 3)
    choices = [
        # strings
        lambda: ["SET", k, v],
        lambda: ["SET", k, v, "EX", "100"],
        lambda: ["SET", k, v, rng.choice(["NX", "XX", "GET", "KEEPTTL"])],
        lambda: ["GET", k],
        lambda: ["GETDEL", k],
        lambda: ["GETEX", k, "PX", "50000"],
        lambda: ["APPEND", k, v],
        lambda: ["INCR", "counter"],
        lambda: ["INCRBY", k, n],
        lambda: ["INCRBYFLOAT", "counter", "0.5"],
        lambda: ["MSET", k, v, k2, v],
        lambda: ["MGET", k, k2, "counter"],
        lambda: ["MSETNX", k, v, k2, v],
        lambda: ["SETRANGE", k, rng.randint(0, 20), v],
        lambda: ["GETRANGE", k, n, -1],
        lambda: ["STRLEN", k],
        lambda: ["LCS", k, k2],
        lambda: ["SETBIT", k, rng.randint(0, 100), rng.randint(0, 1)],
        lambda: ["BITCOUNT", k],
        lambda: ["BITOP", "OR", k, k2, "counter"],
        lambda: ["PFADD", "hll", m, v],
        lambda: ["PFCOUNT", "hll", k],
        # hashes
        lambda: ["HSET", "hash", f, v, "f9", "x"],
        lambda: ["HSET", k, f, v],
        lambda: ["HGET", "hash", f],
        lambda: ["HGETALL", rng.choice(["hash", k])],
        lambda: ["HDEL", "hash", f],
        lambda: ["HINCRBY", "hash", "n", n],
        lambda: ["HRANDFIELD", "hash", n, "WITHVALUES"],
        lambda: ["HSCAN", "hash", "0", "COUNT", "5"],
        # lists
        lambda: ["LPUSH", "list", v, m],
        lambda: ["RPUSH", k, v],
        lambda: ["LPOP", "list"],
        lambda: ["RPOP", rng.choice(["list", k]), rng.randint(1, 3)],
        lambda: ["LRANGE", "list", 0, -1],
        lambda: ["LMOVE", "list", k2, "LEFT", "RIGHT"],
        lambda: ["RPOPLPUSH", "list", "list"],
        lambda: ["LINSERT", "list", "BEFORE", m, v],
        lambda: ["LTRIM", "list", 0, 20],
        lambda: ["LPOS", "list", m, "RANK", -1],
        lambda: ["LMPOP", 2, "list", k, "LEFT", "COUNT", 2],
        # Inside MULTI a blocking command never blocks; outside it these time out quickly.
        lambda: ["BLPOP", "list", k, "0.01"],
        lambda: ["BLMOVE", "list", k2, "RIGHT", "LEFT", "0.01"],
        # sets
        lambda: ["SADD", "set", m, v],
        lambda: ["SADD", k, m],
        lambda: ["SREM", "set", m],
        lambda: ["SMEMBERS", "set"],
        lambda: ["SPOP", "set"],
        lambda: ["SMOVE", "set", k2, m],
        lambda: ["SUNIONSTORE", k, "set", k2],
        lambda: ["SINTER", "set", k],
        lambda: ["SDIFFSTORE", k2, "set", k],
        lambda: ["SINTERCARD", 2, "set", k, "LIMIT", 3],
        lambda: ["SRANDMEMBER", "set", n],
        # sorted sets
        lambda: ["ZADD", "zset", score, m],
        lambda: ["ZADD", k, rng.choice(["NX", "XX", "GT", "LT", "CH"]), score, m],
        lambda: ["ZINCRBY", "zset", "1.5", m],
        lambda: ["ZRANGE", "zset", 0, -1, "WITHSCORES"],
        lambda: ["ZRANGE", "zset", "-inf", "+inf", "BYSCORE", "LIMIT", 0, 3],
        lambda: ["ZRANGESTORE", k, "zset", 0, -1],
        lambda: ["ZUNIONSTORE", k, 2, "zset", k2, "WEIGHTS", 1, 2, "AGGREGATE", "MAX"],
        lambda: ["ZINTER", 2, "zset", k, "WITHSCORES"],
        lambda: ["ZPOPMIN", "zset"],
        lambda: ["ZMPOP", 2, "zset", k, "MAX"],
        lambda: ["BZPOPMIN", "zset", "0.01"],
        lambda: ["ZRANK", "zset", m],
        lambda: ["ZSCAN", "zset", "0"],
        # keyspace and expiry
        lambda: ["DEL", k, k2],
        lambda: ["UNLINK", k],
        lambda: ["EXISTS", k, k2, "counter"],
        lambda: ["TYPE", k],
        lambda: ["RENAME", k, k2],
        lambda: ["RENAMENX", k, k2],
        lambda: ["COPY", k, k2, "REPLACE"],
        lambda: ["COPY", k, k2, "DB", db, "REPLACE"],
        lambda: ["MOVE", k, db],
        lambda: ["EXPIRE", k, rng.choice(["100", "0", "-1"])],
        lambda: ["PEXPIRE", k, "100000", rng.choice(["NX", "XX", "GT", "LT"])],
        lambda: ["TTL", k],
        lambda: ["PERSIST", k],
        lambda: ["TOUCH", k, k2],
        lambda: ["OBJECT", rng.choice(["ENCODING", "IDLETIME", "REFCOUNT", "FREQ"]), k],
        lambda: ["RANDOMKEY"],
        lambda: ["DBSIZE"],
        lambda: ["KEYS", rng.choice(["*", "k*", "{tag}*"])],
        lambda: ["SCAN", "0", "COUNT", rng.randint(1, 50)],
        lambda: ["SCAN", "0", "MATCH", "k*", "TYPE", rng.choice(["string", "list", "set", "zset", "hash"])],
        lambda: ["SELECT", db],
        lambda: ["SWAPDB", db, rng.randint(0, 3)],
        lambda: ["FLUSHDB"] if rng.random() < 0.3 else ["DBSIZE"],
        # the whole server
        lambda: ["INFO"] + ([rng.choice(SECTIONS)] if rng.random() < 0.8 else []),
        lambda: ["INFO", "keyspace"],
        lambda: ["INFO", "memory"],
        lambda: ["MEMORY", "STATS"],
        lambda: ["MEMORY", "USAGE", k],
        lambda: ["MEMORY", "DOCTOR"],
        lambda: ["CLIENT", "LIST"],
        lambda: ["CLIENT", "INFO"],
        lambda: ["CONFIG", "GET", rng.choice(["maxmemory", "*max*", "databases"])],
        lambda: ["COMMAND", "COUNT"],
        lambda: ["COMMAND", "GETKEYS", "MSET", k, v, k2, v],
        lambda: ["PUBLISH", "chan", v],
        lambda: ["PUBSUB", "NUMSUB", "chan"],
        lambda: ["TIME"],
        lambda: ["ECHO", v],
        lambda: ["LASTSAVE"],
        lambda: ["PING"],
    ]
    return [str(a) if not isinstance(a, str) else a for a in rng.choice(choices)()]


def gen_transaction(rng):
    """[WATCH ...], MULTI, 1-12 commands, EXEC (sometimes DISCARD)."""
    pre = []
    if rng.random() < 0.15:
        pre.append(["WATCH", rng.choice(KEYS), rng.choice(KEYS)])
    body = [gen_command(rng) for _ in range(rng.randint(1, 12))]
    end = ["DISCARD"] if rng.random() < 0.03 else ["EXEC"]
    return pre, body, end


def show(cmds):
    def word(a):
        return a if a and a.isprintable() and " " not in a else repr(a)
    return "\n".join("  " + " ".join(word(a) for a in c) for c in cmds)


# ---- running ------------------------------------------------------------------------------------------------

class Totals:
    def __init__(self):
        self.lock = threading.Lock()
        self.transactions = 0
        self.commands = 0
        self.execs = 0
        self.aborted = 0
        self.watch_failed = 0
        self.discarded = 0
        self.plain = 0
        self.pings = 0
        self.failures = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def fail(self, what):
        with self.lock:
            self.failures.append(what)


def run_transaction(conn, pre, body, end):
    """Sends one transaction and its PING in one write, then checks each reply's shape. Returns the outcome."""
    conn.send(pre + [["MULTI"]] + body + [end, ["PING"]])
    for _ in pre:
        r = conn.read()
        if r != "OK":
            raise BadReply(f"WATCH answered {r!r}")
    r = conn.read()
    if r != "OK":
        raise BadReply(f"MULTI answered {r!r}")
    rejected = False
    for _ in body:
        r = conn.read()
        if isinstance(r, Err):
            rejected = True
        elif r != "QUEUED":
            raise BadReply(f"a queued command answered {r!r}")
    r = conn.read()
    if end == ["DISCARD"]:
        outcome = "discarded"
        if r != "OK":
            raise BadReply(f"DISCARD answered {r!r}")
    elif isinstance(r, Err):
        if not (rejected and r.startswith("EXECABORT")):
            raise BadReply(f"EXEC answered {r!r}")
        outcome = "aborted"
    elif r is None:
        if not pre:
            raise BadReply("EXEC answered nil without WATCH")
        outcome = "watch_failed"
    elif isinstance(r, list):
        if rejected or len(r) != len(body):
            raise BadReply(f"EXEC answered {len(r)} replies for {len(body)} commands (rejected: {rejected})")
        outcome = "execs"
    else:
        raise BadReply(f"EXEC answered {r!r}")
    r = conn.read()
    if r != "PONG":
        raise BadReply(f"PING after the transaction answered {r!r}")
    return outcome


def worker(idx, args, port, totals, stop):
    rng = random.Random(args.seed * 1000 + idx)
    conn = None
    current = []
    try:
        conn = Conn(port, args.timeout)
        per_thread = args.transactions // args.threads + (1 if idx < args.transactions % args.threads else 0)
        for _ in range(per_thread):
            if stop.is_set():
                return
            if rng.random() < 0.2:
                # Plain commands between transactions: single-key and multi-key locks racing EXEC's.
                cmds = [gen_command(rng) for _ in range(rng.randint(1, 5))] + [["PING"]]
                current = cmds
                conn.send(cmds)
                for _ in cmds[:-1]:
                    conn.read()
                if conn.read() != "PONG":
                    raise BadReply("PING after plain commands did not answer PONG")
                totals.add(plain=len(cmds) - 1, pings=1)
            pre, body, end = gen_transaction(rng)
            current = pre + [["MULTI"]] + body + [end]
            outcome = run_transaction(conn, pre, body, end)
            totals.add(transactions=1, commands=len(body), pings=1, **{outcome: 1})
            # Each transaction starts back in database 0, so SELECT inside one does not leak into the next.
            if conn.call("SELECT", "0") != "OK":
                raise BadReply("SELECT 0 failed")
    except Wedged as e:
        totals.fail(f"thread {idx}: server wedged ({e} within {args.timeout}s) while running:\n{show(current)}")
        stop.set()
    except Closed as e:
        totals.fail(f"thread {idx}: connection lost ({e}) while running:\n{show(current)}")
        stop.set()
    except BadReply as e:
        totals.fail(f"thread {idx}: unexpected reply: {e}\n{show(current)}")
        stop.set()
    finally:
        if conn:
            conn.close()


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(binary, log):
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", ""],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited at startup with status {proc.returncode}")
        try:
            c = Conn(port, 1)
            ok = c.call("PING") == "PONG"
            c.close()
            if ok:
                return proc, port
        except (OSError, Wedged, Closed):
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("server did not answer PING within 15 s")


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            # A wedged server may never finish its graceful shutdown.
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", nargs="?", help="strata-server executable to start on a free port")
    ap.add_argument("--port", type=int, help="use a server already running on this port instead")
    ap.add_argument("--transactions", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a silent server counts as wedged")
    ap.add_argument("--seconds", type=float, default=120.0, help="stop starting transactions after this long")
    ap.add_argument("--exclude", action="append", default=[], metavar="COMMAND",
                    help="never generate COMMAND (repeatable), e.g. to fuzz around a known bug until it is fixed")
    args = ap.parse_args()
    EXCLUDED.update(c.upper() for c in args.exclude)
    if not args.binary and not args.port:
        ap.error("give a strata-server binary or --port")

    proc = None
    log = tempfile.NamedTemporaryFile(prefix="txn_fuzz-", suffix=".log", delete=False)
    started = time.time()
    totals = Totals()
    try:
        if args.port:
            port = args.port
        else:
            proc, port = start_server(args.binary, log)
        stop = threading.Event()
        threads = [threading.Thread(target=worker, args=(i, args, port, totals, stop), daemon=True)
                   for i in range(args.threads)]
        for t in threads:
            t.start()
        deadline = started + args.seconds
        for t in threads:
            # A worker's own socket timeout ends it; the extra margin only guards against a bug here.
            t.join(max(0.0, deadline - time.time()) + 3 * args.timeout)
        stop.set()
        if any(t.is_alive() for t in threads):
            totals.fail("a worker thread did not finish in time")
        if proc is not None and proc.poll() is not None:
            totals.fail(f"the server exited with status {proc.returncode} (crash)")
    finally:
        if proc is not None:
            stop_server(proc)
        log.close()

    elapsed = time.time() - started
    extra = f", excluding {' '.join(sorted(EXCLUDED))}" if EXCLUDED else ""
    print(f"txn_fuzz: seed {args.seed}, {args.threads} threads, {elapsed:.1f} s{extra}")
    print(f"  transactions {totals.transactions} (exec {totals.execs}, execabort {totals.aborted}, "
          f"watch aborted {totals.watch_failed}, discarded {totals.discarded}), queued commands {totals.commands}, "
          f"plain commands {totals.plain}, pings {totals.pings}")
    if totals.failures:
        for f in totals.failures:
            print("FAIL " + f)
        print(f"  server log: {log.name}")
        sys.exit(1)
    os.unlink(log.name)
    print("  no wedge, no crash")


if __name__ == "__main__":
    main()
