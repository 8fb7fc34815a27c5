#!/usr/bin/env python3
"""Benchmarks of Strata's CACHE.* commands (used by hitrate-bench.sh --stampede and --adaptive-ttl).

stampede: many concurrent readers of one hot key with a short TTL and a slow recompute, read through naively
          (GET / SET, also against redis-server as the baseline), with leases (CACHE.GETL / CACHE.FILL) and with
          refresh-ahead (CACHE.GET's "refresh" hand-outs); recomputes per expiry, read latency, stale reads.
adaptive: a paced Zipf read-through workload over TTLs only (no maxmemory), CACHE.SET with TTLPOLICY ADAPTIVE
          against a fixed TTL tuned to the same mean number of resident keys; hit rates side by side.
predict:  sessions walking fixed paths of keys (pages a user visits in turn), read through with think time between
          pages, alone and with a loader that SETs what WARM.PREDICT reports missing or expiring; hit rates (overall
          and on the steps a prediction can serve), loader loads, INFO's prediction precision, GET latency.

Standard library only; servers are started and spoken to with memtools' helpers."""
import argparse
import bisect
import math
import multiprocessing
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memtools import Conn, Server, free_port, start_pair, zipf_cdf  # noqa: E402

# fork, not spawn: the workers inherit the request sequence and arguments instead of pickling them, and start in
# milliseconds, which keeps a hundred readers' start-up out of the measured window.
MP = multiprocessing.get_context("fork")


def strata_server(binary, port, extra=()):
    """One Strata server, flagged as start_pair starts it (start_pair always starts redis-server beside it)."""
    return Server("strata", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *extra], port)


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# ---------------------------------------------------------------------------------------------------------------
# Stampede
# ---------------------------------------------------------------------------------------------------------------

STRATEGIES = ("naive", "lease", "refresh")

# A recompute that starts within this long after the episode's first new value landed still belongs to that
# episode: its read was answered (miss, stale, refresh) before the new value was visible to it.
EPISODE_SLACK_S = 0.005


def make_value(a):
    """A value stamped with the wall-clock time its freshness ends. Staleness is the server's word (a GET never
    returns an expired value, CACHE.* label theirs) except for a "refresh" hand-out, which comes both before and
    after the TTL: the stamp settles that one. (Judging every read by the stamp would count reads that arrive
    between the stamp and the server's own expiry, set when the write lands a little later, as stale.)"""
    stamp = b"%d:" % int((time.time() + a.ttl) * 1000)
    return stamp + b"x" * max(0, a.value_bytes - len(stamp))


def is_stale(value):
    return int(value[:value.index(b":")]) < time.time() * 1000


def write_options(strategy, a):
    ttl = ("PX", int(a.ttl * 1000))
    if strategy == "naive":
        return ttl
    # A stale window is what lets leases and refresh-ahead keep serving while one reader recomputes.
    opts = ttl + ("STALE", a.stale)
    return opts + ("COMPUTE", a.compute_ms) if strategy == "refresh" else opts


class Reader:
    """One client with its own connection. get() is the application's "get a value" operation: it returns only
    once it holds a value, so its latency includes lease waits and its own recomputes."""

    def __init__(self, strategy, port, key, a, recomputes):
        self.strategy, self.port, self.key, self.a = strategy, port, key, a
        self.conn = Conn(port)
        self.write_opts = write_options(strategy, a)
        # Shared by the process's readers: (start, end) wall-clock times and the value that prompted the recompute
        # (None after a miss).
        self.recomputes = recomputes
        self.commands = self.waits = self.rejected = 0
        self.background = None
        self.bg_conn = None

    def recompute(self, conn, write, seen=None):
        start = time.time()
        time.sleep(self.a.compute_ms / 1000)
        value = make_value(self.a)
        ok = write(conn, value)
        self.commands += 1
        self.recomputes.append((start, time.time(), seen))
        if ok is None:
            self.rejected += 1
        return value

    def set_plain(self, conn, value):
        return conn.cmd("SET", self.key, value, *self.write_opts)

    def set_cache(self, conn, value):
        return conn.cmd("CACHE.SET", self.key, value, *self.write_opts)

    def get(self):
        """(value, whether it was stale)"""
        return getattr(self, "get_" + self.strategy)()

    def get_naive(self):
        self.commands += 1
        value = self.conn.cmd("GET", self.key)
        if value is None:
            value = self.recompute(self.conn, self.set_plain)
        return value, False

    def get_lease(self):
        while True:
            self.commands += 1
            kind, value, token = self.conn.cmd("CACHE.GETL", self.key, self.a.lease_ms)
            if kind in (b"hit", b"stale"):
                return value, kind == b"stale"
            if kind == b"lease":
                fill = lambda c, v: c.cmd("CACHE.FILL", self.key, token, v, *self.write_opts)  # noqa: E731
                return self.recompute(self.conn, fill, value), False
            self.waits += 1
            time.sleep(self.a.wait_ms / 1000)

    def get_refresh(self):
        self.commands += 1
        reply = self.conn.cmd("CACHE.GET", self.key)
        if reply is None:
            # Only when even the stale window passed: then there is nothing to serve and this is a plain miss.
            return self.recompute(self.conn, self.set_cache), False
        value, freshness = reply
        if freshness != b"refresh":
            return value, freshness == b"stale"
        if self.a.refresh == "inline":
            return self.recompute(self.conn, self.set_cache, value), False
        # The server hands one refresh out at a time, so a reader never has two in flight; the guard is for a
        # refresh window that passed while this reader's recompute was still running.
        if self.background is None or not self.background.is_alive():
            if self.bg_conn is None:
                self.bg_conn = Conn(self.port)
            self.background = threading.Thread(target=self.recompute, args=(self.bg_conn, self.set_cache, value))
            self.background.start()
        return value, is_stale(value)


def reader_thread(reader, start_at, end_at, a, out):
    rng = random.Random()
    latencies, stale = [], 0
    # Spread over one think time, so the readers are not in lockstep.
    time.sleep(max(0.0, start_at - time.time()) + rng.random() * a.think_ms / 1000)
    while time.time() < end_at:
        t0 = time.perf_counter()
        _, was_stale = reader.get()
        latencies.append(time.perf_counter() - t0)
        stale += was_stale
        time.sleep(a.think_ms / 1000)
    if reader.background is not None:
        reader.background.join()
    out.append({"latencies": latencies, "stale": stale, "commands": reader.commands, "waits": reader.waits,
                "rejected": reader.rejected})


def stampede_process(strategy, port, key, n, start_at, end_at, a, queue):
    recomputes, out = [], []
    readers = [Reader(strategy, port, key, a, recomputes) for _ in range(n)]
    threads = [threading.Thread(target=reader_thread, args=(r, start_at, end_at, a, out)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = {k: sum(o[k] for o in out) for k in ("stale", "commands", "waits", "rejected")}
    queue.put(dict(totals, latencies=[x for o in out for x in o["latencies"]], recomputes=recomputes))


def episodes(recomputes):
    """Expiries, counted as recompute episodes: a recompute starting after the current episode's first new value
    landed (plus a little slack for reads already in flight), or prompted by another value than the episode's
    first, begins a new episode. A stampede is then one episode of many recomputes, and a refresh-ahead hand-out
    (which comes before the TTL passes) one episode of one, even when XFetch hands the next one out right after."""
    count, sizes, landed, first_seen = 0, [], -math.inf, None
    for start, end, seen in sorted(recomputes, key=lambda r: r[0]):
        if start > landed + EPISODE_SLACK_S or (seen is not None and seen != first_seen):
            count += 1
            sizes.append(0)
            landed, first_seen = end, seen
        sizes[-1] += 1
        landed = min(landed, end)
    return count, max(sizes, default=0)


SERVER_COUNTERS = ("expired_keys", "cache_leases_granted", "cache_lease_waits", "cache_fills_rejected",
                   "cache_refreshes", "cache_stale_hits")


def stampede_run(srv, strategy, a):
    key = "hot:" + strategy
    srv.conn.cmd("FLUSHALL")
    before = srv.conn.info("stats")
    procs = min(a.procs, a.readers)
    per_proc = [a.readers // procs + (i < a.readers % procs) for i in range(procs)]
    # Time for the processes to fork and open their connections before the measured window.
    start_at = time.time() + 1.0 + a.readers * 0.005
    end_at = start_at + a.duration
    queue = MP.Queue()
    workers = [MP.Process(target=stampede_process, args=(strategy, srv.port, key, n, start_at, end_at, a, queue))
               for n in per_proc]
    for w in workers:
        w.start()
    # The value is written just before the window opens (a reader whose first read came first would count a
    # cold miss), so the first expiry falls about one TTL into it like every later one.
    time.sleep(max(0.0, start_at - 0.02 - time.time()))
    opts = write_options(strategy, a)
    r = srv.conn.cmd("SET" if strategy == "naive" else "CACHE.SET", key, make_value(a), *opts)
    if r != b"OK":
        raise RuntimeError("%s answered %r" % (strategy, r))
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    after = srv.conn.info("stats")
    latencies = sorted(x for r in results for x in r["latencies"])
    recomputes = [x for r in results for x in r["recomputes"]]
    n_episodes, largest = episodes(recomputes)
    return {
        **{k: sum(r[k] for r in results) for k in ("stale", "commands", "waits", "rejected")},
        "server": srv.name, "strategy": strategy, "reads": len(latencies),
        "recomputes": len(recomputes), "episodes": n_episodes, "largest": largest,
        "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99), "max": latencies[-1],
        "counters": {c: int(after.get(c, 0)) - int(before.get(c, 0)) for c in SERVER_COUNTERS if c in after},
    }


def stampede(a):
    if a.quick:
        a.duration = min(a.duration, 5.0)
    strategies = a.strategies.split(",")
    for s in strategies:
        if s not in STRATEGIES:
            sys.exit("unknown strategy %r (choose from %s)" % (s, ", ".join(STRATEGIES)))
    redis, strata = start_pair(a.strata, extra_strata=tuple(a.strata_args.split()))
    rows = []
    try:
        if not a.no_redis and "naive" in strategies:
            rows.append(stampede_run(redis, "naive", a))
        for s in strategies:
            rows.append(stampede_run(strata, s, a))
    finally:
        redis.stop()
        strata.stop()

    procs = min(a.procs, a.readers)
    print()
    print("Stampede: %d readers (%d processes x ~%d threads, one connection each, %g ms think time between reads) "
          "of one hot key, TTL %g s, recompute = sleep %d ms then write, %g s per strategy, stale window %d s "
          "(leases, refresh-ahead), lease %d ms, wait retry %d ms, refresh-ahead recompute %s." % (
              a.readers, procs, round(a.readers / procs), a.think_ms, a.ttl, a.compute_ms, a.duration, a.stale,
              a.lease_ms, a.wait_ms, "inline (the refreshing reader waits for it)" if a.refresh == "inline"
              else "in a background thread of the reader handed the refresh (it returns the current value)"))
    print("Clients and servers share this machine's %d cores." % os.cpu_count())
    print()
    head = "%-7s %-8s %9s %8s %7s %8s %8s %10s %7s %8s %8s %8s %7s" % (
        "server", "strategy", "reads", "reads/s", "recomp", "recomp/s", "expiries", "recomp/exp", "largest",
        "p50 ms", "p99 ms", "max ms", "stale")
    print(head)
    print("-" * len(head))
    for r in rows:
        print("%-7s %-8s %9d %8.0f %7d %8.2f %8d %10.2f %7d %8.2f %8.2f %8.1f %6.2f%%" % (
            r["server"], r["strategy"], r["reads"], r["reads"] / a.duration, r["recomputes"],
            r["recomputes"] / a.duration, r["episodes"], r["recomputes"] / max(1, r["episodes"]), r["largest"],
            1000 * r["p50"], 1000 * r["p99"], 1000 * r["max"], 100.0 * r["stale"] / max(1, r["reads"])))
    print()
    for r in rows:
        extra = ", %d lease waits" % r["waits"] if r["strategy"] == "lease" else ""
        extra += ", %d writes refused" % r["rejected"] if r["rejected"] else ""
        print("%-7s %-8s %d commands sent%s; server counters: %s" % (
            r["server"], r["strategy"], r["commands"], extra,
            ", ".join("%s %d" % kv for kv in r["counters"].items() if kv[1] or kv[0] == "expired_keys")))
    print()
    print("recomp/exp: recomputes per expiry, expiries counted as recompute episodes (a recompute starting after "
          "the episode's first new value landed starts the next one); largest: most recomputes in one episode. "
          "Latency: one reader's \"get a value\" (waits and its own recomputes included). stale: reads whose value "
          "was past its TTL (the server's label; for a refresh hand-out, a timestamp inside the value).")
    for r in rows:
        if r["strategy"] == "lease" and r["server"] == "strata":
            ok = r["largest"] == 1 and r["episodes"] > 0
            print("target (leases: one recompute per expiry, %d readers): %s (%d recomputes in %d expiries)" % (
                a.readers, "met" if ok else "NOT met", r["recomputes"], r["episodes"]))


# ---------------------------------------------------------------------------------------------------------------
# Adaptive TTL
# ---------------------------------------------------------------------------------------------------------------

BATCH_MAX = 500
TICK_S = 0.005


def adaptive_policy_options(a):
    return ("TTLPOLICY", "ADAPTIVE", a.base, a.min, a.max)


def fixed_options(ttl):
    # PX, not EX: the calibration lands on fractional TTLs.
    return ("PX", max(1, int(round(ttl * 1000))))


def read_through(a, requests, options, port, queue, server_args=()):
    """One paced read-through run against its own server: request i is due at start + i / rate, and everything due
    is sent as one pipeline of CACHE.GETs, then one of CACHE.SETs for the distinct misses. Hits, misses and memory
    samples count from the end of the warm-up on."""
    srv = strata_server(a.strata, port, tuple(a.strata_args.split()) + tuple(server_args))
    try:
        conn, probe = Conn(port), srv.conn
        names = ["k:%d" % k for k in range(a.keys)]
        value = b"v" * a.value_bytes
        rng = random.Random(port)
        warm_i = int(a.warmup * a.rate)
        hits = misses = 0
        samples = []
        lag = 0.0
        start = time.time() + 0.1
        next_sample = start + a.warmup
        i, n = 0, len(requests)
        while i < n:
            now = time.time()
            due = min(n, int((now - start) * a.rate) + 1)
            if due <= i:
                time.sleep(TICK_S)
                continue
            lag = max(lag, now - (start + i / a.rate))
            batch = requests[i:min(due, i + BATCH_MAX)]
            replies = conn.pipeline([("CACHE.GET", names[k]) for k in batch])
            missed = {}
            for k, r in zip(batch, replies):
                # A key read again later in its batch after a miss is a hit: it would have been written by then.
                hit = r is not None or k in missed
                if not hit:
                    missed[k] = None
                if i >= warm_i:
                    hits += hit
                    misses += not hit
                i += 1
            if missed:
                for r in conn.pipeline([("CACHE.SET", names[k], value, *options) for k in missed]):
                    if r != b"OK":
                        raise RuntimeError("CACHE.SET answered %r" % r)
            if now >= next_sample:
                next_sample += a.sample_s
                # DBSIZE counts keys past their TTL that expiry has not reclaimed yet: they take memory too, so it is
                # the figure to compare. EXISTS on a uniform sample estimates the live keys beside it (and reclaims
                # the expired keys it meets, for both policies alike); neither is a CACHE.* hit.
                sample = rng.sample(range(a.keys), min(a.keys, a.live_sample))
                got = probe.pipeline([("DBSIZE",), ("INFO", "memory")] + [("EXISTS", names[k]) for k in sample])
                mem = {k: v for k, v in (l.split(":", 1) for l in got[1].decode().splitlines() if ":" in l)}
                samples.append((got[0], int(mem["used_memory"]), sum(got[2:]) * a.keys / len(sample)))
        queue.put({"hits": hits, "misses": misses, "lag": lag,
                   "keys": sum(s[0] for s in samples) / len(samples),
                   "used": sum(s[1] for s in samples) / len(samples),
                   "live": sum(s[2] for s in samples) / len(samples)})
    finally:
        srv.stop()


def run_parallel(a, requests, runs):
    """Runs (label, ttl or None for adaptive, options) at the same time, each with its own server and client
    process: they see the same machine load, and the calibration costs one run's time instead of several."""
    queues, procs = [], []
    for label, ttl, options, *server_args in runs:
        q = MP.Queue()
        p = MP.Process(target=read_through, args=(a, requests, options, free_port(), q, *server_args))
        p.start()
        queues.append(q)
        procs.append(p)
    out = []
    for (label, ttl, *_), q, p in zip(runs, queues, procs):
        r = q.get()
        p.join()
        r.update(label=label, ttl=ttl, rate=r["hits"] / (r["hits"] + r["misses"]))
        out.append(r)
    return out


def interpolate(points, x):
    """Linear interpolation of y at x over (x, y) points, between the nearest ones on each side (extrapolating from
    the two nearest when x lies outside), with a flag saying whether x was bracketed."""
    points = sorted(points)
    xs = [p[0] for p in points]
    j = bisect.bisect_left(xs, x)
    bracketed = 0 < j < len(points) or (j < len(points) and xs[j] == x)
    j = min(max(j, 1), len(points) - 1)
    (x0, y0), (x1, y1) = points[j - 1], points[j]
    return (y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)), bracketed


def adaptive(a):
    if a.quick:
        a.duration, a.warmup, a.grid = min(a.duration, 30.0), min(a.warmup, 10.0), min(a.grid, 3)
    if not 0 < a.min <= a.base <= a.max:
        sys.exit("ADAPTIVE needs 0 < min <= base <= max")
    if not 0 <= a.warmup < a.duration - a.sample_s:
        sys.exit("the warm-up must leave time for samples")
    rng = random.Random(7)
    cdf = zipf_cdf(a.keys, a.zipf)
    perm = list(range(a.keys))
    rng.shuffle(perm)
    # One request sequence for every run: the policies differ, the workload does not.
    requests = [perm[bisect.bisect_left(cdf, rng.random())] for _ in range(int(a.rate * a.duration))]
    if a.ttls:
        grid = [float(t) for t in a.ttls.split(",")]
    else:
        # From min to max (geometric): the adaptive TTLs lie in that range, so its mean resident keys are expected
        # between those of these fixed TTLs.
        grid = [a.min * (a.max / a.min) ** (i / max(1, a.grid - 1)) for i in range(a.grid)]
    policy = "adaptive %g/%g/%g%s" % (a.base, a.min, a.max, " (prefix)" if a.prefix else "")
    if a.prefix:
        # The policy comes from the key prefix: CACHE.SET carries no TTLPOLICY and the keys keep no metadata.
        adaptive_run = (policy, None, (), ("--adaptive-ttl", "k: %d %d %d" % (a.base, a.min, a.max)))
    else:
        adaptive_run = (policy, None, adaptive_policy_options(a))
    started = time.time()
    print("phase 1: %s and fixed TTLs %s s, in parallel, %g s each..." % (
        policy, ", ".join("%.3g" % t for t in grid), a.duration), flush=True)
    runs = run_parallel(a, requests, [adaptive_run] +
                        [("fixed %.3g s" % t, t, fixed_options(t)) for t in grid])
    adapt, fixed = runs[0], runs[1:]
    target = adapt["keys"]
    # Mean resident keys grow monotonically with the fixed TTL, roughly linearly in log(TTL) over this range.
    log_ttl, bracketed = interpolate([(r["keys"], math.log(r["ttl"])) for r in fixed], target)
    tuned = math.exp(log_ttl)
    print("phase 2: fixed TTL %.3g s (interpolated to %.0f mean keys%s)..." % (
        tuned, target, "" if bracketed else ", extrapolated: outside the grid"), flush=True)
    fixed += run_parallel(a, requests, [("fixed %.3g s" % tuned, tuned, fixed_options(tuned))])
    tuned_run = fixed[-1]
    hit_at_target, bracketed = interpolate([(r["keys"], r["rate"]) for r in fixed], target)

    print()
    print("Adaptive TTL: %d keys, Zipf %g, %d requests paced at %d/s (%g s, the first %g s a warm-up not measured), "
          "read-through with CACHE.GET / CACHE.SET, %d-byte values, no maxmemory. ADAPTIVE base %g s, min %g s, "
          "max %g s. One client process and one Strata server per run, the runs of a phase in parallel on this "
          "machine's %d cores; mean keys from DBSIZE every %g s, live keys estimated from EXISTS on %d random keys." % (
              a.keys, a.zipf, len(requests), a.rate, a.duration, a.warmup, a.value_bytes, a.base, a.min, a.max,
              os.cpu_count(), a.sample_s, a.live_sample))
    print()
    head = "%-22s %9s %11s %11s %12s %9s" % ("run", "hit rate", "mean keys", "live keys~", "used_memory", "max lag")
    print(head)
    print("-" * len(head))
    for r in [adapt] + sorted(fixed, key=lambda r: r["ttl"]):
        print("%-22s %8.2f%% %11.0f %11.0f %12.0f %8.2fs" % (
            r["label"], 100 * r["rate"], r["keys"], r["live"], r["used"], r["lag"]))
    print()
    print("At the same mean resident keys:")
    print("  %-36s hit rate %6.2f%%  mean keys %7.0f" % (policy, 100 * adapt["rate"], adapt["keys"]))
    print("  %-36s hit rate %6.2f%%  mean keys %7.0f" % ("fixed %.3g s (tuned run)" % tuned, 100 * tuned_run["rate"],
                                                          tuned_run["keys"]))
    print("  %-36s hit rate %6.2f%%  mean keys %7.0f%s" % (
        "fixed, interpolated between runs", 100 * hit_at_target, target, "" if bracketed else " (extrapolated)"))
    print("  difference (adaptive - fixed, interpolated): %+.2f points" % (100 * (adapt["rate"] - hit_at_target)))
    # DBSIZE includes expired keys not reclaimed yet; the same comparison on the live-key estimate shows whether
    # that skews it (the two policies need not leave the same share behind).
    hit_at_live, bracketed = interpolate([(r["live"], r["rate"]) for r in fixed], adapt["live"])
    print("At the same live keys (%.0f, EXISTS estimate), fixed interpolated: hit rate %.2f%%%s (adaptive %+.2f "
          "points)" % (adapt["live"], 100 * hit_at_live, "" if bracketed else " (extrapolated)",
                       100 * (adapt["rate"] - hit_at_live)))
    # Keys are what the comparison is tuned on, but ADAPTIVE's per-key state costs bytes too: the same comparison by
    # used_memory says what the policy buys per byte rather than per key.
    hit_at_memory, bracketed = interpolate([(r["used"], r["rate"]) for r in fixed], adapt["used"])
    print("At the same mean used_memory (%.0f bytes), fixed interpolated: hit rate %.2f%%%s (adaptive %+.2f points; "
          "rougher: used_memory steps as hash tables grow)" % (
              adapt["used"], 100 * hit_at_memory, "" if bracketed else " (extrapolated)",
              100 * (adapt["rate"] - hit_at_memory)))
    print("max lag: how far the client fell behind its schedule at worst (TTLs are real time, so a large lag "
          "distorts a run). total %.0f s" % (time.time() - started))


# ---------------------------------------------------------------------------------------------------------------
# Tag invalidation
# ---------------------------------------------------------------------------------------------------------------

def probe_latencies(port, stop, out):
    """One client's GET round trips, back to back, while the invalidations run: what other clients wait."""
    c = Conn(port)
    while not stop.is_set():
        t = time.perf_counter()
        c.cmd("GET", "k:%d" % random.randrange(1000))
        out.append(time.perf_counter() - t)


def invalidate(a):
    """TAG.INVALIDATE of a tag of `--tag-keys` keys in a keyspace of `--keys`, each key carrying `--tags-per-key`
    tags, repeated `--rounds` times (the keys re-created between rounds); the command's own time from INFO
    commandstats, its round trip, and a concurrent client's GET latency during the invalidations."""
    srv = strata_server(a.strata, free_port(), tuple(a.strata_args.split()))
    try:
        c = srv.conn
        value = b"v" * a.value_bytes
        batch = []
        for n in range(a.keys):
            tags = ["other:%d" % ((n * 7 + j) % 1000) for j in range(a.tags_per_key - 1)]
            batch.append(("CACHE.SET", "k:%d" % n, value, "TAGS", len(tags) + 1, "t:%d" % (n % a.groups), *tags))
            if len(batch) == 1000:
                c.pipeline(batch)
                batch = []
        c.pipeline(batch)
        per_tag = a.keys // a.groups
        mem = dict(l.split(":", 1) for l in c.cmd("INFO", "memory").decode().split("\r\n") if ":" in l)
        print("keyspace: %d keys of %d B, %d tags each; tag index %s entries, ~%s bytes; used_memory %s"
              % (a.keys, a.value_bytes, a.tags_per_key, mem["tag_index_entries"], mem["tag_index_bytes"],
                 mem["used_memory"]))
        stop, lat = threading.Event(), []
        probe = threading.Thread(target=probe_latencies, args=(srv.port, stop, lat))
        probe.start()
        trips, unindexed = [], []
        for r in range(a.rounds):
            t = time.perf_counter()
            n = c.cmd("TAG.INVALIDATE", "t:%d" % r)
            trips.append(time.perf_counter() - t)
            assert n == per_tag, (n, per_tag)
            # The connection unindexes the deleted keys after writing the reply, before reading its next command:
            # a PING's answer marks the end of that work.
            c.cmd("PING")
            unindexed.append(time.perf_counter() - t)
            time.sleep(0.05)
        stop.set()
        probe.join()
        stats = c.cmd("INFO", "commandstats").decode()
        line = next(l for l in stats.split("\r\n") if l.startswith("cmdstat_tag.invalidate:"))
        usec = float(line.split("usec_per_call=")[1].split(",")[0])
        trips.sort()
        unindexed.sort()
        lat.sort()
        print("TAG.INVALIDATE of %d keys, %d rounds: %.2f ms per call in the server (commandstats), round trip "
              "median %.2f ms, max %.2f ms; until the unindexing after the reply is done (a PING behind it) "
              "median %.2f ms" % (per_tag, a.rounds, usec / 1000, 1000 * percentile(trips, 0.5), 1000 * trips[-1],
                                  1000 * percentile(unindexed, 0.5)))
        print("concurrent GETs meanwhile: %d, p50 %.3f ms, p99 %.3f ms, max %.2f ms"
              % (len(lat), 1000 * percentile(lat, 0.5), 1000 * percentile(lat, 0.99), 1000 * lat[-1]))
    finally:
        srv.stop()


# ---------------------------------------------------------------------------------------------------------------
# Predictive warming
# ---------------------------------------------------------------------------------------------------------------

# Strategy -> extra server flags (None: no loader). The server runs with its defaults otherwise (warm-sample 16,
# warm-window-ms 2000), "none" included: it learns there too, but nobody asks it.
PREDICT_STRATEGIES = {"none": None, "predict": (), "predict-sample1": ("--warm-sample", "1")}


def path_key(group, step):
    return b"g:%d:%d" % (group, step)


def session_thread(port, n, a, cdf, start_at, end_at, loaded, out):
    """One client, its own connection: picks a group by Zipf and walks its path of keys, one GET per page, each a
    read-through (a miss costs --compute-ms, then SET ... EX ttl), with --think-ms between pages. Its random
    sequence depends on the seed and the client's number only, so every strategy sees the same walks (as far as
    the duration lets each get)."""
    rng = random.Random(a.seed * 1000 + n)
    conn = Conn(port)
    value = b"v" * a.value_bytes
    hits, misses = [0] * a.path_len, [0] * a.path_len
    latencies, used = [], 0
    # Spread over one think time, so the sessions are not in lockstep.
    time.sleep(max(0.0, start_at - time.time()) + rng.random() * a.think_ms / 1000)
    while time.time() < end_at:
        # (The CDF's last entry may round to just under 1.)
        group = min(a.groups - 1, bisect.bisect_left(cdf, rng.random()))
        for step in range(a.path_len):
            if time.time() >= end_at:
                break
            key = path_key(group, step)
            t = time.perf_counter()
            got = conn.cmd("GET", key)
            latencies.append(time.perf_counter() - t)
            # A load the loader made is used when the app's next read of the key finds it, wasted otherwise.
            was_loaded = loaded.pop(key, False)
            if got is None:
                misses[step] += 1
                time.sleep(a.compute_ms / 1000)
                if conn.cmd("SET", key, value, "EX", a.ttl) != b"OK":
                    raise RuntimeError("SET %r failed" % key)
            else:
                hits[step] += 1
                used += was_loaded
            time.sleep(a.think_ms / 1000)
    out.append({"hits": hits, "misses": misses, "latencies": latencies, "used": used})


def loader_thread(port, a, start_at, end_at, loaded, out):
    """The prewarmer, its own connection: every --loader-ms, WARM.PREDICT COUNT n WITHREASONS, and a SET ... EX ttl
    of each key reported missing or expiring, sent as one pipeline (it computes any key from its name at once:
    no --compute-ms). Compressed keys were decompressed by the command itself; there is nothing to load."""
    conn = Conn(port)
    value = b"v" * a.value_bytes
    loads = polls = 0
    next_at = start_at
    while True:
        now = time.time()
        if now >= end_at:
            break
        if now < next_at:
            time.sleep(next_at - now)
            continue
        # A late poll does not start a burst of catch-up polls.
        next_at = max(next_at + a.loader_ms / 1000, now)
        polls += 1
        keys = [k for k, why in conn.cmd("WARM.PREDICT", "COUNT", a.loader_count, "WITHREASONS")
                if why in (b"missing", b"expiring")]
        if keys:
            for r in conn.pipeline([("SET", k, value, "EX", a.ttl) for k in keys]):
                if r != b"OK":
                    raise RuntimeError("loader SET answered %r" % r)
            for k in keys:
                loaded[k] = True
            loads += len(keys)
    out.append({"loads": loads, "polls": polls})


WARM_COUNTERS = ("warm_predictions", "warm_prediction_hits", "warm_prediction_misses", "warm_prewarmed_keys")


def predict_run(strategy, a, cdf):
    """One strategy on its own fresh server: the sessions (and the loader, if the strategy has one) for --duration,
    then INFO once the last predictions have resolved."""
    srv = strata_server(a.strata, free_port(), (*a.strata_args.split(), *(PREDICT_STRATEGIES[strategy] or ())))
    try:
        config = srv.conn.cmd("CONFIG", "GET", "warm-*")
        config = {config[i].decode(): config[i + 1].decode() for i in range(0, len(config), 2)}
        loaded, sessions, loader = {}, [], []
        # Time for the threads to open their connections before the measured window.
        start_at = time.time() + 0.3
        end_at = start_at + a.duration
        threads = [threading.Thread(target=session_thread, args=(srv.port, n, a, cdf, start_at, end_at, loaded,
                                                                  sessions)) for n in range(a.clients)]
        if PREDICT_STRATEGIES[strategy] is not None:
            threads.append(threading.Thread(target=loader_thread, args=(srv.port, a, start_at, end_at, loaded,
                                                                         loader)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Predictions made in the last window resolve (read or not) when it passes.
        time.sleep(int(config.get("warm-window-ms", "2000")) / 1000 + 0.2)
        stats = srv.conn.info("stats")
    finally:
        srv.stop()
    if len(sessions) != a.clients or len(loader) != (PREDICT_STRATEGIES[strategy] is not None):
        raise RuntimeError("%s: a client thread failed (see its traceback above)" % strategy)
    hits = [sum(s["hits"][i] for s in sessions) for i in range(a.path_len)]
    misses = [sum(s["misses"][i] for s in sessions) for i in range(a.path_len)]
    latencies = sorted(x for s in sessions for x in s["latencies"])
    return {"strategy": strategy, "config": config, "hits": hits, "misses": misses,
            "reads": sum(hits) + sum(misses), "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "used": sum(s["used"] for s in sessions), "loader": loader[0] if loader else None,
            "counters": {c: int(stats.get(c, 0)) for c in WARM_COUNTERS},
            "precision": float(stats.get("warm_prediction_precision", "nan"))}


def rate(hits, misses):
    return 100.0 * hits / max(1, hits + misses)


def predict(a):
    """Read-through sessions walking fixed paths of keys (pages a user visits in turn), without and with a loader
    that SETs what WARM.PREDICT reports missing or expiring ahead of the reads; each strategy on a fresh, cold
    server, with the same seeded walks."""
    if a.quick and a.duration > 10.0:
        # What a prediction can serve is a path read again after its keys expired: a TTL as long as the quick run
        # would leave nothing to predict, so it shrinks with the duration.
        a.ttl = max(1, round(a.ttl * 10.0 / a.duration))
        a.duration = 10.0
    strategies = a.strategies.split(",")
    for s in strategies:
        if s not in PREDICT_STRATEGIES:
            sys.exit("unknown strategy %r (choose from %s)" % (s, ", ".join(PREDICT_STRATEGIES)))
    if a.path_len < 2:
        sys.exit("--path-len must be at least 2 (step 0 cannot be predicted)")
    cdf = zipf_cdf(a.groups, a.zipf)
    rows = []
    for s in strategies:
        print("%s: %g s..." % (s, a.duration), flush=True)
        rows.append(predict_run(s, a, cdf))

    print()
    print("Predictive warming: %d sessions (threads, one connection each) walking paths of %d keys g:<group>:<step> "
          "of %d groups (%d keys), group by Zipf %g, %d-byte values, %g ms think time between pages; read-through: a "
          "miss sleeps %g ms then SET ... EX %d. %g s per strategy, each on a fresh server started cold, seed %d. "
          "Loader: every %g ms WARM.PREDICT COUNT %d WITHREASONS, then one pipeline of SET ... EX %d for the keys "
          "reported missing or expiring. Clients and server share this machine's %d cores." % (
              a.clients, a.path_len, a.groups, a.groups * a.path_len, a.zipf, a.value_bytes, a.think_ms,
              a.compute_ms, a.ttl, a.duration, a.seed, a.loader_ms, a.loader_count, a.ttl, os.cpu_count()))
    print()
    head = "%-16s %6s %6s %8s %8s %8s %9s %7s %7s %8s %10s %6s %7s %7s" % (
        "strategy", "sample", "window", "reads", "hit", "hit 1+", "misses/s", "loads", "loads/s", "used",
        "predictions", "prec", "p50 ms", "p99 ms")
    print(head)
    print("-" * len(head))
    for r in rows:
        hits, misses, ld = r["hits"], r["misses"], r["loader"]
        hit_all = rate(sum(hits), sum(misses))
        hit_later = rate(sum(hits[1:]), sum(misses[1:]))
        if ld:
            loads = "%7d %7.0f %7.1f%%" % (ld["loads"], ld["loads"] / a.duration,
                                           100.0 * r["used"] / max(1, ld["loads"]))
            warm = "%10d %5.1f%%" % (r["counters"]["warm_predictions"], 100 * r["precision"])
        else:
            loads = "%7s %7s %8s" % ("-", "-", "-")
            warm = "%10s %6s" % ("-", "-")
        print("%-16s %6s %6s %8d %7.2f%% %7.2f%% %9.2f %s %s %7.3f %7.3f" % (
            r["strategy"], r["config"].get("warm-sample", "?"), r["config"].get("warm-window-ms", "?"), r["reads"],
            hit_all, hit_later, sum(misses) / a.duration, loads, warm, 1000 * r["p50"], 1000 * r["p99"]))
    print()
    print("Hit rate by step of the path (step 0 cannot be predicted: its group is picked at random):")
    for r in rows:
        print("  %-16s %s" % (r["strategy"], "  ".join(
            "%d: %6.2f%%" % (i, rate(h, m)) for i, (h, m) in enumerate(zip(r["hits"], r["misses"])))))
    print()
    print("hit 1+: hit rate on steps 1 and later, the reads a prediction can serve. loads: keys the loader SET; "
          "used: loads whose key the app's next read found (client-side, any time before the key expired); "
          "predictions, prec: INFO's warm_predictions and warm_prediction_precision (keys WARM.PREDICT reported "
          "that were read within warm-window-ms; all of them were loaded, as no value is compressed here). "
          "sample, window: the server's warm-sample and warm-window-ms. p50/p99: the app's GET round trips.")
    base = next((r for r in rows if r["strategy"] == "none"), None)
    for r in rows:
        if base is not None and r is not base:
            gain = rate(sum(r["hits"][1:]), sum(r["misses"][1:])) - rate(sum(base["hits"][1:]), sum(base["misses"][1:]))
            print("%s against none, hit rate on steps 1+: %+.2f points" % (r["strategy"], gain))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--strata", required=True, help="strata-server binary")
    server.add_argument("--strata-args", default="", help="extra Strata flags")

    s = sub.add_parser("stampede", help="one hot key, many readers: naive read-through, leases, refresh-ahead",
                       parents=[server])
    s.add_argument("--readers", type=int, default=100, help="concurrent readers, each with its own connection")
    s.add_argument("--procs", type=int, default=4, help="client processes the readers are spread over (threads "
                   "within each): enough that one process's GIL does not queue a hundred readers, few enough for a "
                   "2-core machine")
    s.add_argument("--duration", type=float, default=10.0, help="seconds per strategy")
    s.add_argument("--ttl", type=float, default=1.0, help="seconds a value is fresh")
    s.add_argument("--compute-ms", type=int, default=100, help="simulated recompute time")
    s.add_argument("--think-ms", type=float, default=10.0, help="pause between one reader's reads")
    s.add_argument("--stale", type=int, default=5, help="STALE window in seconds (leases, refresh-ahead)")
    s.add_argument("--lease-ms", type=int, default=1000, help="CACHE.GETL lease time")
    s.add_argument("--wait-ms", type=float, default=5.0, help="retry delay after CACHE.GETL answers wait")
    s.add_argument("--refresh", choices=["background", "inline"], default="background",
                   help="where the reader told \"refresh\" recomputes: in a background thread, returning the current "
                   "value at once, or inline before returning the new one")
    s.add_argument("--value-bytes", type=int, default=100, help="value size")
    s.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated subset of " +
                   ", ".join(STRATEGIES))
    s.add_argument("--no-redis", action="store_true", help="skip the redis-server naive baseline")
    s.add_argument("--quick", action="store_true", help="5 s per strategy")

    d = sub.add_parser("adaptive", help="Zipf read-through over TTLs: ADAPTIVE against a fixed TTL at equal memory",
                       parents=[server])
    d.add_argument("--keys", type=int, default=50_000, help="key universe")
    d.add_argument("--zipf", type=float, default=0.99, help="Zipf exponent of key popularity")
    d.add_argument("--rate", type=int, default=4000, help="requests per second (paced: TTLs are real time)")
    d.add_argument("--duration", type=float, default=90.0, help="seconds per run")
    d.add_argument("--warmup", type=float, default=30.0, help="seconds at the start of a run not measured")
    d.add_argument("--base", type=int, default=5, help="ADAPTIVE base (whole seconds): initial TTL and score "
                   "half-life")
    d.add_argument("--min", type=int, default=1, help="ADAPTIVE min (whole seconds)")
    d.add_argument("--max", type=int, default=60, help="ADAPTIVE max (whole seconds)")
    d.add_argument("--grid", type=int, default=4, help="fixed TTLs tried in phase 1 (geometric from min to max)")
    d.add_argument("--ttls", help="comma-separated fixed TTLs (s) for phase 1 instead of the grid")
    d.add_argument("--value-bytes", type=int, default=200, help="value size")
    d.add_argument("--sample-s", type=float, default=1.0, help="seconds between DBSIZE samples")
    d.add_argument("--live-sample", type=int, default=2000, help="keys probed with EXISTS per sample")
    d.add_argument("--quick", action="store_true", help="30 s runs (10 s warm-up), 3 grid TTLs")
    d.add_argument("--prefix", action="store_true", help="the ADAPTIVE policy from the key prefix (adaptive-ttl) "
                   "instead of TTLPOLICY on every CACHE.SET: no metadata per key")

    t = sub.add_parser("invalidate", help="TAG.INVALIDATE time and other clients' latency meanwhile",
                       parents=[server])
    t.add_argument("--keys", type=int, default=200_000, help="tagged keys")
    t.add_argument("--groups", type=int, default=20, help="tags the keys are split over (keys / groups per tag)")
    t.add_argument("--tags-per-key", type=int, default=3, help="tags each key carries")
    t.add_argument("--value-bytes", type=int, default=200, help="value size")
    t.add_argument("--rounds", type=int, default=10, help="tags invalidated (at most --groups)")

    w = sub.add_parser("predict", help="sessions walking paths of keys, read-through, without and with a "
                       "WARM.PREDICT loader", parents=[server])
    w.add_argument("--groups", type=int, default=5000, help="paths (groups of keys)")
    w.add_argument("--path-len", type=int, default=4, help="keys per path, read in order g:<group>:0, 1, ...")
    w.add_argument("--value-bytes", type=int, default=500, help="value size")
    w.add_argument("--ttl", type=int, default=20, help="EX of every SET, seconds")
    w.add_argument("--clients", type=int, default=8, help="sessions, each a thread with its own connection")
    w.add_argument("--duration", type=float, default=30.0, help="seconds per strategy")
    w.add_argument("--zipf", type=float, default=0.9, help="Zipf exponent of group popularity")
    w.add_argument("--compute-ms", type=float, default=5.0, help="the app's recompute after a miss")
    w.add_argument("--think-ms", type=float, default=100.0, help="pause after each page (read)")
    w.add_argument("--loader-ms", type=float, default=20.0, help="the loader's WARM.PREDICT period")
    w.add_argument("--loader-count", type=int, default=50, help="WARM.PREDICT COUNT")
    w.add_argument("--strategies", default=",".join(PREDICT_STRATEGIES), help="comma-separated subset of " +
                   ", ".join(PREDICT_STRATEGIES))
    w.add_argument("--seed", type=int, default=1, help="seed of the sessions' walks")
    w.add_argument("--quick", action="store_true", help="10 s per strategy, the TTL shortened in proportion "
                   "(20 s of 30 s: 7 s), so keys still expire and are read again within a run")

    a = ap.parse_args()
    {"stampede": stampede, "adaptive": adaptive, "invalidate": invalidate, "predict": predict}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
