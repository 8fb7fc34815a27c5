#!/usr/bin/env python3
"""Network fuzzer: random and mutated frames over many concurrent connections, while a checker verifies that a
known dataset stays intact and the server keeps answering.

Starts strata-server on a free loopback port (in a temporary working directory), loads a known dataset into
database 9, then runs --connections concurrent fuzz connections until --frames frames were sent or --seconds
passed. Frames are random bytes, well-formed commands of every family with mutated arguments (RESP and inline),
truncated and garbled RESP, huge declared lengths, nested aggregates, invalid inline lines, pipelines, whole
MULTI/EXEC transactions and large values. Connections read and discard what the server answers, and reconnect
when the server closes them (as it must after a protocol error).

Every --check-every frames (and at least once a second) the checker reads database 9 back key by key and compares
it with what was loaded, then asks INFO keyspace (which visits every shard) and PING, each within --timeout.

How the dataset is kept out of the fuzzers' reach. Fuzz connections start in database 0 and have no password to
lose, so the only ways to touch database 9 are commands that name another database or act on all of them:
SELECT, SWAPDB, MOVE, COPY ... DB, FLUSHALL, and commands that change what the checker can do (CONFIG SET
requirepass or maxclients, CLIENT KILL/PAUSE, DEBUG SLEEP, SHUTDOWN, and future REPLICAOF, scripting, ACL,
SAVE). Every frame is checked against that deny-list before it is sent, over a window that includes the end of
the frame before it on the same connection, after decoding what the inline splitter would decode (hex escapes)
and removing what it would remove (quotes, backslashes).

Any argument the server sees, in RESP or inline form, then appears in the checked bytes preceded by something
that is not a letter: a separator, the newline of a bulk header, or the start of the window (no parser treats a
letter as a separator). A RESP header ends at its CR and the byte after it is skipped unread, as in Redis, so the
bytes are checked a second time with every byte that follows a CR turned into a separator. A denied word is
refused wherever it is not preceded by a letter, which makes the check sound while LMOVE or ASYNC still get
through. Frames that fail it are dropped and counted; random bytes almost never spell a command name, so this
costs little coverage.

Exit status 1 when the server crashed (its process exited), stopped answering within --timeout, or the dataset
differs; the totals are printed either way.

Usage: python3 scripts/netfuzz.py --strata target/release/strata-server [--frames N] [--connections C]
                                  [--seconds S] [--seed X]
"""
import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Importing a sibling script must not leave bytecode in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "clients"))
from txn_fuzz import gen_command  # noqa: E402  (well-formed commands of every family)

HOST = "127.0.0.1"
PROTECTED_DB = 9
DENY = [b"flushall", b"swapdb", b"select", b"move", b"copy", b"config", b"shutdown", b"debug", b"pause", b"kill",
        b"redirect", b"replicaof", b"slaveof", b"sync", b"failover", b"eval", b"fcall", b"script", b"function",
        b"acl", b"save", b"module"]
# Long enough to hold any denied name written with one escape per letter plus its quotes.
WINDOW = 128
_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_STRIP = b"\"'\\"
_DENIED = re.compile(rb"(?<![a-z])(?:" + b"|".join(DENY) + rb")")


def deny_more(words):
    """Adds words to the deny-list (--deny), e.g. to fuzz around a known bug until it is fixed."""
    global _DENIED
    DENY.extend(w.lower().encode() for w in words)
    _DENIED = re.compile(rb"(?<![a-z])(?:" + b"|".join(DENY) + rb")")


_AFTER_CR = re.compile(rb"(?<=\r).", re.S)
_WORD_BYTES = bytes(range(ord("a"), ord("z") + 1)) + bytes(range(ord("A"), ord("Z") + 1)) + _STRIP


def _flat(data):
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data).translate(None, _STRIP).lower()


def denied(data):
    """True when `data` could, through RESP or the inline splitter, carry a denied command or argument name."""
    return _DENIED.search(_flat(data)) is not None or _DENIED.search(_flat(_AFTER_CR.sub(b"\r", data))) is not None


# ---- RESP ----------------------------------------------------------------------------------------------------

def enc_resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def quote(arg):
    out = bytearray(b'"')
    for b in arg:
        if b in (0x5C, 0x22):
            out += b"\\" + bytes([b])
        elif 0x20 <= b <= 0x7E:
            out.append(b)
        else:
            out += b"\\x%02x" % b
    return bytes(out + b'"')


def enc_inline(args):
    return b" ".join(quote(a if isinstance(a, bytes) else str(a).encode()) for a in args) + b"\r\n"


class Resp:
    """A small asyncio RESP2 client for the checker."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer

    @classmethod
    async def connect(cls, port, timeout):
        r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        return cls(r, w)

    def close(self):
        self.w.close()

    async def read(self):
        line = await self.r.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body
        if kind == b"-":
            return RuntimeError(body.decode("latin-1"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            data = await self.r.readexactly(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(body)
            if n < 0:
                return None
            return [await self.read() for _ in range(n)]
        raise ConnectionError(f"not RESP: {line[:80]!r}")

    async def pipeline(self, cmds):
        self.w.write(b"".join(enc_resp(c) for c in cmds))
        await self.w.drain()
        return [await self.read() for _ in cmds]


# ---- the dataset ---------------------------------------------------------------------------------------------

def make_dataset(rng):
    """{key: (type, value, volatile)} and the commands that create it."""
    data, cmds = {}, []

    def blob(n):
        return bytes(rng.randrange(256) for _ in range(n))

    for i in range(100):
        k = b"s:%d" % i
        v = rng.choice([blob(rng.randint(0, 200)), str(rng.randint(-10**12, 10**12)).encode(), b"", b"a\r\nb\0c",
                        b"x" * rng.randint(1, 5000)])
        if i == 0:
            v = blob(100_000)
        data[k] = ("string", v, False)
        cmds.append([b"SET", k, v])
    for i in range(20):
        k = b"v:%d" % i
        v = blob(rng.randint(1, 50))
        data[k] = ("string", v, True)
        cmds.append([b"SET", k, v, b"EX", b"100000"])
    for i in range(30):
        k = b"h:%d" % i
        n = 300 if i < 3 else rng.randint(1, 10)
        h = {b"f%d" % j: rng.choice([blob(8), str(j).encode(), b""]) for j in range(n)}
        data[k] = ("hash", h, False)
        cmds.append([b"HSET", k] + [x for kv in h.items() for x in kv])
    for i in range(30):
        k = b"l:%d" % i
        n = 1000 if i < 2 else rng.randint(1, 50)
        items = [rng.choice([blob(6), str(j).encode(), b"dup"]) for j in range(n)]
        data[k] = ("list", items, False)
        cmds.append([b"RPUSH", k] + items)
    for i in range(30):
        k = b"S:%d" % i
        n = 600 if i < 2 else rng.randint(1, 20)
        if i % 3 == 0:
            members = {str(rng.randint(-10**6, 10**6)).encode() for _ in range(n)}
        else:
            members = {blob(8) for _ in range(n)}
        data[k] = ("set", members, False)
        cmds.append([b"SADD", k] + sorted(members))
    for i in range(30):
        k = b"z:%d" % i
        n = 300 if i < 2 else rng.randint(1, 20)
        z = {b"m%d" % j: rng.choice([float(rng.randint(-1000, 1000)), rng.randint(-1000, 1000) / 8.0]) for j in range(n)}
        if i == 5:
            z[b"pinf"] = float("inf")
            z[b"ninf"] = float("-inf")
        data[k] = ("zset", z, False)
        args = [b"ZADD", k]
        for m, s in z.items():
            args += [repr(s).encode(), m]
        cmds.append(args)
    return data, cmds


def read_command(key, kind):
    return {
        "string": [b"GET", key],
        "hash": [b"HGETALL", key],
        "list": [b"LRANGE", key, b"0", b"-1"],
        "set": [b"SMEMBERS", key],
        "zset": [b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
    }[kind]


def same(kind, expected, got):
    if not isinstance(got, (bytes, list)):
        return False
    if kind == "string":
        return got == expected
    if kind == "list":
        return got == expected
    if kind == "set":
        return isinstance(got, list) and set(got) == expected and len(got) == len(expected)
    pairs = dict(zip(got[0::2], got[1::2]))
    if kind == "hash":
        return pairs == expected and len(got) == 2 * len(expected)
    try:
        return len(got) == 2 * len(expected) and {m: float(s) for m, s in pairs.items()} == expected
    except (TypeError, ValueError):
        return False


# ---- frame generators ----------------------------------------------------------------------------------------

OPTIONS = [b"EX", b"PX", b"NX", b"XX", b"KEEPTTL", b"GET", b"LIMIT", b"WITHSCORES", b"BYSCORE", b"BYLEX", b"REV",
           b"COUNT", b"MATCH", b"TYPE", b"AGGREGATE", b"WEIGHTS", b"WITHVALUES", b"LEFT", b"RIGHT", b"GT", b"LT",
           b"CH", b"INCR", b"REPLACE", b"IDX", b"LEN", b"RANK", b"MAXLEN", b"OVERFLOW", b"SAT", b"u8", b"i64"]
NUMBERS = [b"0", b"1", b"-1", b"2", b"100", b"-100", b"65536", b"2147483648", b"9223372036854775807",
           b"-9223372036854775808", b"18446744073709551616", b"1.5", b"1e308", b"inf", b"-inf", b"nan", b"(1", b""]
KEYS = [b"k%d" % i for i in range(20)] + [b"{t}a", b"{t}b", b"list", b"set", b"zset", b"hash"]


class Gen:
    def __init__(self, rng, table):
        self.rng = rng
        self.table = table  # [(argv prefix, arity)]

    def token(self):
        r = self.rng.random()
        if r < 0.35:
            return self.rng.choice(KEYS)
        if r < 0.6:
            return self.rng.choice(OPTIONS)
        if r < 0.9:
            return self.rng.choice(NUMBERS)
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 12)))

    def table_command(self):
        prefix, arity = self.rng.choice(self.table)
        want = max(abs(arity) - len(prefix), 0)
        n = want + (self.rng.randint(0, 5) if arity < 0 else 0)
        if self.rng.random() < 0.15:
            n = self.rng.randint(0, want + 2)
        return list(prefix) + [self.token() for _ in range(n)]

    def command(self):
        # Regenerated rather than dropped later with the whole frame (a pipeline of 30 would go with it).
        for _ in range(20):
            if self.rng.random() < 0.5:
                cmd = self.table_command()
            else:
                cmd = [a.encode("latin-1") for a in gen_command(self.rng)]
            if not denied(b" ".join(cmd)):
                return cmd
        return [b"PING"]

    def mutate(self, frame, rounds=None):
        b = bytearray(frame)
        for _ in range(rounds or self.rng.randint(1, 4)):
            at = self.rng.randint(0, len(b))
            op = self.rng.randrange(6)
            if op == 0 and b:
                b[self.rng.randrange(len(b))] ^= 1 << self.rng.randrange(8)
            elif op == 1:
                b[at:at] = self.rng.choice([b"\r\n", b"*", b"$", b"-1", b"\0", b"\"", b"99999", b"*1\r\n"])
            elif op == 2:
                del b[at:at + self.rng.randint(1, 8)]
            elif op == 3:
                b[at:at] = b[at:at + self.rng.randint(1, 16)]
            elif op == 4 and b:
                b[self.rng.randrange(len(b))] = self.rng.randrange(256)
            else:
                b[at:at] = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 6)))
        return bytes(b)

    KINDS = ["random", "resp", "inline", "truncated", "garbled", "huge", "nested", "bad_inline", "pipeline",
             "transaction", "big"]
    # A protocol error ends the connection, and the server drops whatever follows it. So half the connections
    # send only frames that parse, and reach many commands; the other half mix in every kind of damage.
    CLEAN = [0, 40, 15, 0, 0, 0, 0, 0, 10, 6, 0.5]
    DIRTY = [10, 30, 10, 8, 15, 3, 3, 8, 6, 4, 0.5]

    def frame(self, clean=False):
        rng = self.rng
        kind = rng.choices(self.KINDS, weights=self.CLEAN if clean else self.DIRTY)[0]
        if kind == "random":
            return kind, bytes(rng.randrange(256) for _ in range(rng.randint(1, 120)))
        if kind == "resp":
            return kind, enc_resp(self.command())
        if kind == "inline":
            return kind, enc_inline(self.command())
        if kind == "truncated":
            f = enc_resp(self.command())
            return kind, f[:rng.randint(1, max(1, len(f) - 1))]
        if kind == "garbled":
            f = enc_resp(self.command()) if rng.random() < 0.7 else enc_inline(self.command())
            return kind, self.mutate(f)
        if kind == "huge":
            return kind, rng.choice([
                b"*2147483647\r\n$3\r\nGET\r\n",
                b"*2147483648\r\n",
                b"*1\r\n$536870912\r\nabc",
                b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000\r\n" + b"x" * 100,
                b"*1\r\n$999999999999\r\n",
                b"*-5\r\n*0\r\n",
                b"$5\r\nhello\r\n",
                b"*" + b"9" * rng.choice([20, 70_000]),
                b"A" * rng.choice([1000, 70_000]),
                b"*1\r\n$" + b"1" * rng.choice([30, 70_000]),
            ])
        if kind == "nested":
            depth = rng.randint(2, 2000)
            head = rng.choice([b"*1\r\n", b"%1\r\n", b"~1\r\n", b">1\r\n", b"|1\r\n"])
            return kind, head * depth + b"$4\r\nPING\r\n"
        if kind == "bad_inline":
            return kind, rng.choice([
                b'SET "unterminated\r\n',
                b"GET 'single\r\n",
                b'ECHO "a"b\r\n',
                b'ECHO "\\x4"\r\n',
                b"ECHO \x0bvt\x0cff\r\n",
                b"ECHO a\0b\r\n",
                b"   \r\n",
                b"\r\n\r\n\r\n",
                b"\n",
                b'"" ""\r\n',
                b"PING " + b" " * rng.randint(1, 3000) + b"x\r\n",
                enc_inline(self.command())[:-2] + b' "',
            ])
        if kind == "pipeline":
            return kind, b"".join(enc_resp(self.command()) for _ in range(rng.randint(2, 30)))
        if kind == "transaction":
            body = [self.command() for _ in range(rng.randint(1, 8))]
            if rng.random() < 0.5:
                body.insert(rng.randrange(len(body) + 1), [b"INFO"] + rng.choice([[], [b"keyspace"], [b"all"]]))
            cmds = [[b"MULTI"]] + body + [[rng.choice([b"EXEC", b"EXEC", b"DISCARD"])]]
            return kind, b"".join(enc_resp(c) for c in cmds)
        size = rng.choice([40_000, 100_000, 300_000])
        return kind, enc_resp([b"SET", rng.choice(KEYS), b"v" * size])


# ---- the run ---------------------------------------------------------------------------------------------------

class State:
    def __init__(self, args):
        self.args = args
        self.frames = 0
        self.bytes = 0
        self.filtered = 0
        self.connections = 0
        self.closed_by_server = 0
        self.kinds = {}
        self.checks = 0
        self.diffs = 0
        self.diff_samples = []
        self.crashes = 0
        self.wedged = None
        self.stop = asyncio.Event()
        self.check_now = asyncio.Event()
        self.proc = None

    def done(self):
        return self.stop.is_set()


async def drain(reader):
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass


async def fuzz_connection(idx, st, port, table):
    rng = random.Random(st.args.seed * 100_003 + idx)
    gen = Gen(rng, table)
    while not st.done():
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), st.args.timeout)
        except (OSError, asyncio.TimeoutError):
            if st.proc.poll() is not None:
                st.stop.set()
                return
            await asyncio.sleep(0.05)
            continue
        st.connections += 1
        reading = asyncio.ensure_future(drain(reader))
        clean = rng.random() < 0.5
        tail = b""
        try:
            for _ in range(rng.randint(1, 400)):
                if st.done() or st.frames >= st.args.frames:
                    st.stop.set()
                    break
                kind, frame = gen.frame(clean)
                if denied(tail + frame):
                    st.filtered += 1
                    continue
                if len(frame) > 8 and rng.random() < 0.1:
                    # Two writes with a yield between them: the decoder must resume mid-frame.
                    cut = rng.randint(1, len(frame) - 1)
                    writer.write(frame[:cut])
                    await asyncio.wait_for(writer.drain(), st.args.timeout)
                    await asyncio.sleep(0)
                    writer.write(frame[cut:])
                else:
                    writer.write(frame)
                await asyncio.wait_for(writer.drain(), st.args.timeout)
                # The window never starts inside a word: a word cut in half there would read as a whole one
                # and block every later frame. A word that crosses into the next frame lies well inside it.
                tail = (tail + frame)[-WINDOW:].lstrip(_WORD_BYTES)
                st.frames += 1
                st.bytes += len(frame)
                st.kinds[kind] = st.kinds.get(kind, 0) + 1
                if st.frames % st.args.check_every == 0:
                    st.check_now.set()
        except (ConnectionError, OSError, asyncio.TimeoutError):
            # Closed after a protocol error, or a connection parked by a blocking command that stopped reading.
            st.closed_by_server += 1
        finally:
            writer.close()
            reading.cancel()


async def verify(st, conn, dataset):
    keys = list(dataset)
    cmds = [read_command(k, dataset[k][0]) for k in keys]
    cmds += [[b"PTTL", k] for k in keys if dataset[k][2]]
    cmds += [[b"DBSIZE"], [b"INFO", b"keyspace"], [b"PING"]]
    replies = await asyncio.wait_for(conn.pipeline(cmds), st.args.timeout)
    diffs = []
    for k, got in zip(keys, replies):
        kind, expected, _ = dataset[k]
        if not same(kind, expected, got):
            diffs.append(f"{k!r} ({kind}): got {str(got)[:120]}")
    volatile = [k for k in keys if dataset[k][2]]
    for k, ttl in zip(volatile, replies[len(keys):]):
        if not isinstance(ttl, int) or ttl <= 0:
            diffs.append(f"{k!r}: PTTL {ttl!r}")
    dbsize, info, pong = replies[-3:]
    if dbsize != len(dataset):
        diffs.append(f"DBSIZE {dbsize!r}, expected {len(dataset)}")
    want = b"db%d:keys=%d,expires=%d," % (PROTECTED_DB, len(dataset), len(volatile))
    if not isinstance(info, bytes) or want not in info:
        diffs.append(f"INFO keyspace lacks {want!r}")
    if pong != b"PONG":
        diffs.append(f"PING answered {pong!r}")
    st.checks += 1
    st.diffs += len(diffs)
    st.diff_samples.extend(diffs[:5 - len(st.diff_samples)] if len(st.diff_samples) < 5 else [])


async def checker(st, port, dataset):
    conn = None
    try:
        while True:
            try:
                await asyncio.wait_for(st.check_now.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
            st.check_now.clear()
            final = st.done()
            if st.proc.poll() is not None:
                st.crashes += 1
                st.stop.set()
                return
            try:
                if conn is None:
                    conn = await Resp.connect(port, st.args.timeout)
                    if await asyncio.wait_for(conn.pipeline([[b"SELECT", str(PROTECTED_DB).encode()]]),
                                              st.args.timeout) != [b"OK"]:
                        raise ConnectionError("SELECT failed")
                await verify(st, conn, dataset)
            except asyncio.TimeoutError:
                st.wedged = f"no answer from the checker's reads within {st.args.timeout} s"
                st.stop.set()
                return
            except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
                if st.proc.poll() is not None:
                    st.crashes += 1
                else:
                    st.wedged = f"checker connection lost: {e}"
                st.stop.set()
                return
            if final:
                return
    finally:
        if conn:
            conn.close()


async def load(port, cmds, timeout):
    conn = await Resp.connect(port, timeout)
    try:
        replies = await conn.pipeline([[b"SELECT", str(PROTECTED_DB).encode()], [b"FLUSHDB"]] + cmds)
        bad = [r for r in replies if isinstance(r, RuntimeError)]
        if bad:
            raise RuntimeError(f"loading the dataset failed: {bad[0]}")
        info = await conn.pipeline([[b"COMMAND", b"INFO"]])
    finally:
        conn.close()
    table = []
    for entry in info[0]:
        if not isinstance(entry, list):
            continue
        items = [(entry[0], entry[1])] + [(s[0], s[1]) for s in entry[9] if isinstance(s, list)] \
            if len(entry) > 9 else [(entry[0], entry[1])]
        for name, arity in items:
            prefix = name.split(b"|")
            if not any(denied(p) for p in prefix):
                table.append((prefix, arity))
    return table


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def run(args):
    workdir = tempfile.mkdtemp(prefix="netfuzz-")
    log = open(Path(workdir) / "server.log", "wb")
    port = free_port()
    st = State(args)
    # maxmemory bounds what fuzzed writes can allocate (SETRANGE with a large offset makes 512 MB at once); with
    # noeviction it never removes the dataset.
    # The server runs in its own directory, so a relative path to it must be made absolute first.
    binary = os.path.abspath(args.strata) if os.sep in args.strata else args.strata
    st.proc = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", "", "--maxmemory",
                                "256mb", "--maxmemory-policy", "noeviction"],
                               cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.time()
    ok = False
    try:
        deadline = time.time() + 15
        while True:
            try:
                c = await Resp.connect(port, 1)
                c.close()
                break
            except (OSError, asyncio.TimeoutError):
                if time.time() > deadline or st.proc.poll() is not None:
                    raise RuntimeError("strata-server did not start")
                await asyncio.sleep(0.05)
        dataset, cmds = make_dataset(random.Random(args.seed))
        table = await load(port, cmds, args.timeout)
        # The dataset as loaded must already read back right, or a later difference would prove nothing.
        first = await Resp.connect(port, args.timeout)
        try:
            await first.pipeline([[b"SELECT", str(PROTECTED_DB).encode()]])
            await verify(st, first, dataset)
        finally:
            first.close()
        t0 = time.time()
        check = asyncio.ensure_future(checker(st, port, dataset))
        workers = [asyncio.ensure_future(fuzz_connection(i, st, port, table)) for i in range(args.connections)]

        async def clock():
            while not st.done():
                if time.time() - t0 > args.seconds:
                    st.stop.set()
                if st.proc.poll() is not None:
                    st.stop.set()
                await asyncio.sleep(0.2)

        timer = asyncio.ensure_future(clock())
        await st.stop.wait()
        st.check_now.set()
        # Workers finish their current write; the checker runs one last full check.
        await asyncio.wait(workers, timeout=args.timeout + 5)
        for w in workers:
            w.cancel()
        try:
            await asyncio.wait_for(check, args.timeout * 2 + 5)
        except asyncio.TimeoutError:
            st.wedged = st.wedged or "the final check did not finish"
        timer.cancel()
        if st.proc.poll() is not None:
            st.crashes = max(st.crashes, 1)
        ok = st.crashes == 0 and st.diffs == 0 and st.wedged is None
    finally:
        if st.proc.poll() is None:
            st.proc.terminate()
            try:
                st.proc.wait(5)
            except subprocess.TimeoutExpired:
                st.proc.kill()
                st.proc.wait()
        log.close()
        elapsed = time.time() - started
        extra = f", also denied: {' '.join(args.deny)}" if args.deny else ""
        print(f"netfuzz: seed {args.seed}, {elapsed:.1f} s{extra}")
        print(f"  frames sent {st.frames} ({st.bytes / 1e6:.1f} MB), filtered by the deny-list {st.filtered}, "
              f"connections {st.connections} ({args.connections} at a time), ended early by the server "
              f"{st.closed_by_server}")
        print("  frame kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(st.kinds.items())))
        print(f"  dataset checks {st.checks}, dataset differences {st.diffs}, crashes {st.crashes}, "
              f"wedged {'no' if st.wedged is None else 'yes: ' + st.wedged}")
        for d in st.diff_samples:
            print("  DIFF " + d)
        if st.proc.returncode not in (0, None, -15):
            print(f"  server exit status {st.proc.returncode}")
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"  server log: {workdir}/server.log")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strata", required=True, help="strata-server executable")
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-every", type=int, default=2000, help="frames between dataset checks")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a silent server counts as wedged")
    ap.add_argument("--deny", action="append", default=[], metavar="WORD",
                    help="also keep WORD out of every frame (repeatable), e.g. --deny multi")
    args = ap.parse_args()
    deny_more(args.deny)
    ok = asyncio.run(run(args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
