#!/usr/bin/env python3
"""Trace-replay hit rates (used by hitrate-bench.sh --traces): public cache traces from ../shared/traces replayed
read-through against Strata and redis-server, each server started fresh per (trace, size, policy) with maxmemory
calibrated to hold the stated number of entries, beside exact LRU and Belady's optimum computed offline from the
same requests. Standard library only; servers are started and spoken to with memtools' helpers."""
import argparse
import array
import gzip
import heapq
import lzma
import os
import random
import sys
import time
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Conn, start_pair  # noqa: E402

TRACES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "traces")

# The default set, whole traces (a few minutes on a 2-core machine): loop-heavy ones where LRU fails, mixed ones
# and a web trace. loop cycles over 1,011 keys, so it stops at 800 entries: from 1,011 on everything fits.
DEFAULT_RUNS = [
    ("gli", [1000, 1500, 2000]),
    ("loop", [512, 800]),
    ("multi1", [500, 1000]),
    ("sprite", [250, 500]),
    ("web12", [1000, 2000]),
]

# Published figures (README of ../shared/traces; Caffeine's simulator): (trace, size, LRU %, optimal %).
PUBLISHED = [("gli", 1000, 11.21, 53.13), ("loop", 512, 0.0, 50.54), ("web12", 1000, 64.73, None)]

POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-tinylfu"]

# Most SETs per pipeline: values in flight sit in the server's input buffer, which counts as used memory; 64 of
# them would be a quarter of a 250-entry cache.
SET_PIPELINE = 16

# Read-through for a batch of keys in trace order, each miss SET to ARGV[1]: returns {hits, SETs refused (OOM)}.
READ_THROUGH_LUA = """
local hits, refused = 0, 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) then
    hits = hits + 1
  elseif redis.pcall('SET', k, ARGV[1]).err then
    refused = refused + 1
  end
end
return {hits, refused}
"""


# ---- traces ----

def trace_path(name, directory):
    if os.path.exists(name):
        return name
    for fname in ("lirs-%s.trace.gz" % name, "cache2k-%s.trace.xz" % name):
        p = os.path.join(directory, fname)
        if os.path.exists(p):
            return p
    raise SystemExit("no trace %r in %s" % (name, directory))


def read_trace(path, limit=0):
    """The trace's integer keys in request order, at most `limit` of them (0: all)."""
    if path.endswith(".xz"):
        a = array.array("i")
        a.frombytes(lzma.open(path).read())
        if sys.byteorder == "little":
            a.byteswap()  # cache2k stores big-endian ints
        keys = a.tolist()
    else:
        with gzip.open(path, "rt") as f:
            # `*` lines are LIRS checkpoints, not requests.
            keys = [int(line) for line in f if line.strip() and not line.startswith("*")]
    return keys[:limit] if limit else keys


# ---- offline policies ----

def lru_hits(trace, size):
    cache, hits = OrderedDict(), 0
    for k in trace:
        if k in cache:
            hits += 1
            cache.move_to_end(k)
        else:
            if len(cache) >= size:
                cache.popitem(last=False)
            cache[k] = None
    return hits


def opt_hits(trace, size):
    """Belady's MIN with demand admission (every miss is cached, evicting the resident key whose next use is
    farthest), as Caffeine's clairvoyant policy, whose figures the self-check compares against."""
    n = len(trace)
    next_use, last = [0] * n, {}
    for i in range(n - 1, -1, -1):
        # Keys never used again get distinct "infinities" so the heap never compares keys.
        next_use[i] = last.get(trace[i], n + i)
        last[trace[i]] = i
    cache, heap, hits = {}, [], 0
    for i, k in enumerate(trace):
        if k in cache:
            hits += 1
        elif len(cache) >= size:
            # Heap entries go stale when their key is used again; the live one matches the cache's next use.
            while True:
                far, victim = heapq.heappop(heap)
                if cache.get(victim) == -far:
                    del cache[victim]
                    break
        cache[k] = next_use[i]
        heapq.heappush(heap, (-next_use[i], k))
    return hits


def selfcheck(args):
    print("%-7s %6s | %9s %9s | %9s %9s" % ("trace", "size", "LRU", "published", "OPT", "published"))
    ok = True
    for name, size, pub_lru, pub_opt in PUBLISHED:
        trace = read_trace(trace_path(name, args.dir))
        lru, opt = 100.0 * lru_hits(trace, size) / len(trace), 100.0 * opt_hits(trace, size) / len(trace)
        fmt = lambda v: "-" if v is None else "%.2f %%" % v  # noqa: E731
        print("%-7s %6d | %9s %9s | %9s %9s" % (name, size, fmt(lru), fmt(pub_lru), fmt(opt), fmt(pub_opt)))
        ok &= round(lru, 2) == pub_lru and (pub_opt is None or round(opt, 2) == pub_opt)
    print("self-check " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


# ---- replay against a server ----

def used_memory(conn):
    return int(conn.info("memory")["used_memory"])


def calibrate(conn, size, value_size, rng, warmup):
    """Sets maxmemory so the keyspace holds `size` entries of this value size; returns bytes per key.

    First from memory: the keys are written twice with a FLUSHALL between, because a server may keep some of what
    the first round allocated (a table's capacity, say) and the replay starts after a FLUSHALL too. Then from the
    count: what a server counts besides its keys (buffers, an allocator's thread caches) depends on how the writes
    arrive, so `warmup` (a replay of the trace's start) runs under the limit and maxmemory is corrected by the
    entries missing or extra, until the count is within 1 %.
    """
    def fill():
        for i in range(0, size, SET_PIPELINE):
            end = min(size, i + SET_PIPELINE)
            conn.pipeline([("SET", "k:%d" % j, rng.randbytes(value_size)) for j in range(i, end)])
    fill()
    conn.cmd("FLUSHALL")
    base = used_memory(conn)
    fill()
    full = used_memory(conn)
    per_key = (full - base) / size
    # Half a key of slack, so rounding in the allocator's figure does not cost a whole entry.
    maxmemory = int(full + per_key / 2)
    conn.cmd("FLUSHALL")
    for _ in range(3):
        conn.cmd("CONFIG", "SET", "maxmemory", str(maxmemory))
        warmup()
        off = size - int(conn.cmd("DBSIZE"))
        conn.cmd("FLUSHALL")
        if abs(off) <= size / 100:
            break
        # Bounded: a server that does not hold its limit at all must show in the run's DBSIZE, not be chased here.
        maxmemory += int(max(-size / 4, min(size / 4, off)) * per_key)
    return per_key


def replay_pipeline(conn, reads, keys, value_size, batch, rng):
    """Per batch, a pipeline of reads (`reads`: each request's GET or STRLEN, encoded) in trace order, then one of
    SETs for the batch's distinct misses: each SET is a write, before which both servers evict. A key read again
    later in its batch after a miss counts as a hit (in trace order it would have been set by then)."""
    hits = refused = 0
    for i in range(0, len(reads), batch):
        conn.s.sendall(b"".join(reads[i:i + batch]))
        missed = {}
        for k in keys[i:i + batch]:
            # GET answers nil on a miss, STRLEN 0 (values are never empty).
            if conn.read() or k in missed:
                hits += 1
            else:
                missed[k] = None
        missed = list(missed)
        for j in range(0, len(missed), SET_PIPELINE):
            for r in conn.pipeline([("SET", k, rng.randbytes(value_size)) for k in missed[j:j + SET_PIPELINE]]):
                if r != b"OK":
                    # An OOM refusal is a server outcome to report, not a reason to stop the replay.
                    if not r.startswith(b"OOM"):
                        raise RuntimeError("SET answered %r" % r)
                    refused += 1
    return hits, refused


def replay_lua(conn, keys, value_size, batch, rng):
    """One EVALSHA per batch doing GET / SET in exact trace order. A server evicts before each command, not
    inside a script, so a batch can overshoot maxmemory by up to a batch of values."""
    sha = conn.cmd("SCRIPT", "LOAD", READ_THROUGH_LUA)
    hits = refused = 0
    for i in range(0, len(keys), batch):
        part = keys[i:i + batch]
        # One fresh value per batch: sending one per key would cost what the pipelined replay costs.
        r = conn.cmd("EVALSHA", sha, len(part), *part, rng.randbytes(value_size))
        if not isinstance(r, list):
            raise RuntimeError("EVALSHA answered %r" % r)
        hits += r[0]
        refused += r[1]
    return hits, refused


def run_one(srv, policy, size, keys, reads, args):
    """Calibrates and replays on one fresh server; None when it refuses the policy."""
    conn = srv.conn
    if conn.cmd("CONFIG", "SET", "maxmemory-policy", policy) != b"OK":
        return None
    if args.replay == "lua":
        conn.cmd("SCRIPT", "LOAD", READ_THROUGH_LUA)  # cached before the baseline is read
    rng = random.Random(size)

    def replay(n):
        if args.replay == "lua":
            return replay_lua(conn, keys[:n], args.value_size, args.batch, rng)
        return replay_pipeline(conn, reads[:n], keys[:n], args.value_size, args.batch, rng)
    # Long enough for the cache to have turned over a few times.
    per_key = calibrate(conn, size, args.value_size, rng, lambda: replay(20 * size))
    started = time.time()
    hits, refused = replay(len(keys))
    elapsed = time.time() - started
    mem = conn.info("memory")
    return {"hits": hits, "refused": refused, "dbsize": int(conn.cmd("DBSIZE")), "per_key": per_key,
            "rps": len(keys) / elapsed, "used": int(mem["used_memory"]), "maxmemory": int(mem["maxmemory"]),
            "evicted": int(conn.info("stats")["evicted_keys"])}


def bench_trace(name, sizes, args, unsupported):
    full = read_trace(trace_path(name, args.dir))
    trace = full[:args.limit] if args.limit else full
    uniq = len(set(trace))
    keys = ["k:%d" % k for k in trace]
    reads = [Conn.enc(args.read.upper(), k) for k in keys] if args.replay == "pipeline" else None
    rows = []
    for size in sizes:
        lru, opt = lru_hits(trace, size), opt_hits(trace, size)
        cells = {}
        for policy in args.policies:
            redis, strata = start_pair(args.strata, extra_strata=tuple(args.strata_args.split()))
            try:
                for srv in (redis, strata):
                    if (srv.name, policy) in unsupported:
                        continue
                    res = run_one(srv, policy, size, keys, reads, args)
                    if res is None:
                        unsupported.add((srv.name, policy))
                        print("note: %s refuses CONFIG SET maxmemory-policy %s; skipped" % (srv.name, policy))
                    else:
                        cells[(srv.name, policy)] = res
            finally:
                redis.stop()
                strata.stop()
        rows.append((size, lru, opt, cells))
    print_table(name, len(trace), len(full), uniq, rows, args)


def print_table(name, n, full_n, uniq, rows, args):
    cols = [(s, p) for p in args.policies for s in ("redis", "strata") if any((s, p) in r[3] for r in rows)]
    print()
    print("== %s: %d requests%s, %d distinct keys; values %d B; replay %s, batches of %d" % (
        name, n, "" if n == full_n else " (first of %d)" % full_n, uniq, args.value_size, args.replay, args.batch))
    print("   cell: hit %, DBSIZE after the run (! = over 5 % off the target, or SETs refused), "
          "share of the LRU-to-OPT gap closed")
    head = "%6s %7s %7s |" % ("size", "LRU", "OPT")
    for s, p in cols:
        head += " %-22s |" % ("%s %s" % (s, p.replace("allkeys-", "")))
    print(head)
    flagged = []
    for size, lru, opt, cells in rows:
        line = "%6d %6.2f%% %6.2f%% |" % (size, 100.0 * lru / n, 100.0 * opt / n)
        target = min(size, uniq)
        for col in cols:
            c = cells.get(col)
            if c is None:
                line += " %-22s |" % "-"
                continue
            # Under a point of gap, the share would only magnify noise.
            gap = "%+.0f%%" % (100.0 * (c["hits"] - lru) / (opt - lru)) if opt - lru >= n / 100 else "n/a"
            mark = "!" if abs(c["dbsize"] - target) > 0.05 * target or c["refused"] else " "
            if mark == "!":
                flagged.append((size, col, c))
            line += " %6.2f%% %6d%s %6s |" % (100.0 * c["hits"] / n, c["dbsize"], mark, gap)
        print(line)
    for size, (s, p), c in flagged:
        print("   ! %s %s at %d: DBSIZE %d, used_memory %d of maxmemory %d, %d evicted, %d SETs refused (OOM)" % (
            s, p, size, c["dbsize"], c["used"], c["maxmemory"], c["evicted"], c["refused"]))
    per_key = {s: [c["per_key"] for r in rows for (cs, _), c in r[3].items() if cs == s] for s in ("redis", "strata")}
    rps = {s: [c["rps"] for r in rows for (cs, _), c in r[3].items() if cs == s] for s in ("redis", "strata")}
    print("   calibrated bytes/key: " + ", ".join("%s %.0f-%.0f" % (s, min(v), max(v)) for s, v in per_key.items() if v)
          + "; replay req/s: " + ", ".join("%s %.0f" % (s, sum(v) / len(v)) for s, v in rps.items() if v))


REPLAY_NOTES = {
    "pipeline": "a batch's reads all run before its SETs, so a key that a SET of the batch evicts still reads as "
                "a hit later in that batch: at most one batch of optimism",
    "lua": "the server evicts before each EVALSHA, not inside it, so a batch can overshoot maxmemory by up to a "
           "batch of values",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--strata", help="strata-server binary (required unless --selfcheck or --offline)")
    ap.add_argument("--trace", action="append", help="trace name (gli, loop, web12, ...) or path; repeatable; "
                    "default: " + ", ".join("%s %s" % (t, "/".join(map(str, s))) for t, s in DEFAULT_RUNS))
    ap.add_argument("--sizes", help="cache sizes in entries, comma-separated (default: per trace as above, "
                    "1000 for others)")
    ap.add_argument("--limit", type=int, default=0, help="first N requests of each trace only (0: all); the offline "
                    "figures are computed on the same requests")
    ap.add_argument("--policies", default=",".join(POLICIES), help="maxmemory-policy values to replay under; one a "
                    "server refuses is skipped with a note")
    ap.add_argument("--value-size", type=int, default=4096, help="bytes per value (random, so incompressible)")
    ap.add_argument("--batch", type=int, default=64, help="requests per pipeline or script call")
    ap.add_argument("--replay", choices=["pipeline", "lua"], default="pipeline",
                    help="pipeline: GETs then SETs per batch; lua: one EVALSHA per batch, GET/SET in trace order")
    ap.add_argument("--read", choices=["strlen", "get"], default="strlen",
                    help="the pipelined replay's read: STRLEN looks a key up as GET does (recency and frequency "
                    "touched alike in both servers) but leaves the value out of the reply; a batch of GET replies "
                    "waits in the output buffer, which counts as used memory, so the server evicts up to a batch of "
                    "hit values to hold it")
    # Cold-tier compression off: the values are random, so it cannot help, and its dictionary training copies up
    # to 4 MB of samples that come and go in used_memory, which throws off the calibration of caches of a few MB.
    ap.add_argument("--strata-args", default="--compression no", help="extra Strata flags")
    ap.add_argument("--dir", default=os.path.normpath(TRACES_DIR), help="traces folder")
    ap.add_argument("--selfcheck", action="store_true", help="compare offline LRU / OPT with the published figures")
    ap.add_argument("--offline", action="store_true", help="offline LRU / OPT only, no servers")
    args = ap.parse_args()
    if args.selfcheck:
        return selfcheck(args)
    args.policies = args.policies.split(",")
    defaults = dict(DEFAULT_RUNS)
    runs = []
    for t in args.trace or list(defaults):
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else defaults.get(t, [1000])
        runs.append((t, sizes))
    if args.offline:
        for t, sizes in runs:
            trace = read_trace(trace_path(t, args.dir), args.limit)
            for size in sizes:
                print("%-8s %7d requests %6d entries: LRU %6.2f %%  OPT %6.2f %%" % (
                    t, len(trace), size, 100.0 * lru_hits(trace, size) / len(trace),
                    100.0 * opt_hits(trace, size) / len(trace)))
        return 0
    if not args.strata:
        ap.error("--strata is required")
    read = "GET" if args.replay == "lua" else args.read.upper()
    print("Replay: %s k:<n>, on a miss SET a %d-byte random value; maxmemory calibrated per fresh server to hold "
          "the stated entries; %s." % (read, args.value_size, REPLAY_NOTES[args.replay]))
    print("Both servers keep a once-a-second LRU clock and evict the best of a few sampled keys, so at replay speed "
          "most resident keys tie on idle time and allkeys-lru is close to random eviction: it can land above exact "
          "LRU (loops) or below it (recency-friendly traces). Single runs; sampling makes them vary by about a point.")
    started = time.time()
    unsupported = set()
    for t, sizes in runs:
        bench_trace(t, sizes, args, unsupported)
    print("\ntotal %.0f s" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
