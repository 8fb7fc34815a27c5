#!/usr/bin/env python3
"""Renders conf/grafana/strata-dashboard.json to docs/dashboard.png from a live Strata under load.

Grafana is not installable here (it is not in Debian's archive and nothing outside the package registries can be
fetched), so this script renders the dashboard's own queries against a real Prometheus instead: it runs Debian's
`prometheus` server scraping Strata's /metrics every second, puts the server under about 90 seconds of mixed load
(redis-benchmark, keys with TTLs, misses, cold keys for the compressed tier, error replies, blocked clients, a
failed and two good backups, a spell of maxmemory below the memory in use, and a few DEBUG SLEEPs that stall a
worker so the health panels move), then sends every target's `expr` of every panel,
unchanged but for Grafana's variables ($instance, $__rate_interval, ...), to Prometheus's /api/v1/query_range and
draws each panel with matplotlib at its gridPos on Grafana's 24-column grid. The picture is not Grafana's, but each
line on it is what the dashboard would show.

It fails (exit 1, after writing the picture) when any query returns an error or any panel gets no data at all, and
names them. Every process it starts is stopped on exit, also on Ctrl-C and SIGTERM.

The rate(...[1m]) panels are one-minute moving averages, so they climb for the first minute of load.

Usage: python3 scripts/dashboard-render.py [path/to/strata-server] [--seconds 90] [--out docs/dashboard.png]
       python3 scripts/dashboard-render.py --replay data.json   (redraw what --save-data data.json kept)

Needs root or sudo-less apt-get/pip on first use: it installs `prometheus` (Debian) and `redis-tools` when missing,
and `matplotlib` with pip (falling back to --break-system-packages).
"""
import argparse
import atexit
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCS = []  # (name, Popen) of everything started, stopped by cleanup()
TMPDIRS = []  # removed by cleanup() once the processes using them have stopped
LOGS = []  # (name, path) of the servers' logs, shown by die()
STOP = threading.Event()


def log(msg):
    print(f"[dashboard-render] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Set-up


def apt_install(*pkgs):
    log(f"installing {' '.join(pkgs)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", *pkgs], env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", *pkgs], env=env, check=True)


def prometheus_binary():
    for p in (shutil.which("prometheus"), "/usr/bin/prometheus"):
        if p and os.access(p, os.X_OK):
            return p
    apt_install("prometheus")
    # The Debian package may start its own service; this script never uses it (its own port and storage).
    return shutil.which("prometheus") or "/usr/bin/prometheus"


def ensure_tools():
    prom = prometheus_binary()
    if not shutil.which("redis-benchmark"):
        apt_install("redis-tools")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log("installing matplotlib with pip")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"]
        if subprocess.run(cmd).returncode != 0:
            subprocess.run(cmd + ["--break-system-packages"], check=True)
    return prom


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(name, args, **kw):
    log(f"starting {name}: {' '.join(args)}")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    PROCS.append((name, p))
    return p


def stop(name, p):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)  # its own session: the process and anything it started
    except ProcessLookupError:
        return
    try:
        p.wait(8)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop on SIGTERM; killing it")
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def cleanup():
    STOP.set()
    while PROCS:
        stop(*PROCS.pop())
    while TMPDIRS:
        shutil.rmtree(TMPDIRS.pop(), ignore_errors=True)


def on_signal(signum, _frame):
    raise SystemExit(f"stopped by signal {signum}")


def die(msg):
    """Stops with msg, after the last lines of each server's log (the temporary directory goes on exit)."""
    for name, path in LOGS:
        try:
            lines = open(path, errors="replace").read().splitlines()[-15:]
        except OSError:
            continue
        print(f"--- last lines of {name}'s log ---", file=sys.stderr)
        print("\n".join(lines), file=sys.stderr)
    raise SystemExit(msg)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_for(what, check, timeout=30, procs=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for name, p in procs:
            if p.poll() is not None:
                die(f"{name} exited with {p.returncode} while waiting for {what}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.2)
    die(f"timed out waiting for {what}")


# ---------------------------------------------------------------------------------------------------------------
# Load


class Resp:
    """A minimal RESP client: enough for DEBUG SLEEP, CONFIG SET, BLPOP and a few wrong commands."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line.decode(errors="replace")
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind in (b"*", b"%", b"~"):
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n * (2 if kind == b"%" else 1))]
        return line.decode(errors="replace")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()


def benchmarks(port, seconds):
    """redis-benchmark processes that loop (-l) until stopped."""
    base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-l"]
    value = "v" * 100
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The mix the brief of the dashboard names: 5 commands, 100k keys, 100-byte values.
    start("redis-benchmark (mixed)", base + ["-c", "8", "-n", "40000", "-r", "100000", "-d", "100",
                                             "-t", "set,get,incr,lpush,hset"], **quiet)
    # Keys with TTLs (expirations), and reads of keys that were never written (misses).
    start("redis-benchmark (ttl)", base + ["-c", "2", "-n", "5000", "-r", "100000",
                                           "SET", "ttl:__rand_int__", value, "EX", "4"], **quiet)
    start("redis-benchmark (misses)", base + ["-c", "1", "-n", "5000", "-r", "1000000",
                                              "GET", "missing:__rand_int__"], **quiet)


def preload(port):
    """50,000 keys no one reads again: cold, so the cold tier compresses them after compression-cold-seconds."""
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-c", "4", "-n", "50000",
                    "-r", "50000", "SET", "cold:__rand_int__", "cold value " * 30],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def blockers(port, t0, seconds):
    """A few clients in BLPOP now and then, so blocked_clients moves."""
    def run(i):
        c = Resp(port, timeout=30)
        try:
            while not STOP.is_set() and time.time() < t0 + seconds:
                c.call("BLPOP", f"blocking:{i}", "3")
                time.sleep(2 + i)
        except OSError:
            pass
        finally:
            c.close()
    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(3)]
    for t in ts:
        t.start()
    return ts


def chaos(port, t0, seconds, bad_dir, backup_dir):
    """Error replies all along; at fixed points of the run DEBUG SLEEPs (event-loop stalls: degraded, then
    unhealthy), one failed backup and a spell of maxmemory under the memory in use (evictions)."""
    events = sorted([
        (0.20 * seconds, "DEBUG SLEEP 0.3"),   # > health-latency-warn-ms (100): degraded
        (0.30 * seconds, "BACKUP FAIL"),       # backup into a path that is a file: persistence warns
        (0.40 * seconds, "BACKUP CREATE"),     # and the next one succeeds
        (0.50 * seconds, "MAXMEMORY ON"),      # a limit under what is used: evictions (allkeys-lru)
        (0.65 * seconds, "DEBUG SLEEP 1.3"),   # > health-latency-fail-ms (1000): unhealthy
        (0.80 * seconds, "MAXMEMORY OFF"),
        (0.90 * seconds, "DEBUG SLEEP 0.15"),
    ])
    c = Resp(port, timeout=30)
    ops = [("SET", "chaos:str", "x"), ("LPUSH", "chaos:str", "y"),        # WRONGTYPE (failed), even if evicted
           ("GET",),                                                      # wrong arity (rejected)
           ("NOSUCHCOMMAND", "x"),                                        # ERR unknown command
           ("SET", "chaos:k", "v", "EX", "-1")]                           # ERR invalid expire time
    try:
        while not STOP.is_set() and time.time() < t0 + seconds:
            now = time.time() - t0
            while events and events[0][0] <= now:
                _, what = events.pop(0)
                log(f"t={now:.0f}s: {what}")
                if what.startswith("DEBUG SLEEP"):
                    c.call("DEBUG", "SLEEP", what.split()[-1])
                elif what == "MAXMEMORY ON":
                    info = c.call("INFO", "memory").decode()
                    used = int(re.search(r"^used_memory:(\d+)", info, re.M).group(1))
                    limit = used * 85 // 100
                    log(f"  -> used {used >> 20} MiB; maxmemory {limit >> 20} MiB: {c.call('CONFIG', 'SET', 'maxmemory', limit)}")
                elif what == "MAXMEMORY OFF":
                    c.call("CONFIG", "SET", "maxmemory", "0")
                elif what == "BACKUP FAIL":
                    c.call("CONFIG", "SET", "backup-dir", bad_dir)
                    log(f"  -> {c.call('BACKUP', 'CREATE')!r}")
                    c.call("CONFIG", "SET", "backup-dir", backup_dir)
                else:
                    log(f"  -> {c.call('BACKUP', 'CREATE')!r}")
            for op in ops:
                c.call(*op)
            time.sleep(0.25)
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------------------------
# Queries


class Prom:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:  # 400/422 carry the PromQL error in the body
            try:
                body = json.loads(e.read())
            except ValueError:
                return None, f"HTTP {e.code}"
        if body.get("status") != "success":
            return None, f"{body.get('errorType')}: {body.get('error')}"
        return body["data"], None


def substitute(expr, variables, step, start, end):
    """Grafana's variables in an expr, as Grafana would expand them for this range."""
    fixed = {"__rate_interval": "1m", "__interval": f"{step}s", "__interval_ms": str(step * 1000),
             "__range": f"{int(end - start)}s", "__range_s": str(int(end - start)),
             "__range_ms": str(int(end - start) * 1000)}
    fixed.update(variables)

    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        name = name.split(":")[0]  # ${var:format}
        if name not in fixed:
            raise KeyError(name)
        return fixed[name]
    return re.sub(r"\$\{([\w:]+)\}|\[\[(\w+)\]\]|\$(\w+)", one, expr)


def legend(fmt, metric):
    if fmt and fmt != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt).strip()
    name = metric.get("__name__", "")
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{labels}}}" if labels else (name or "value")


def query_panels(dash, prom, variables, start, end, step):
    """[(panel, [(target, [(label, [t], [v])], error)])], [problems], [notes]"""
    out, problems, notes = [], [], []
    for p in dash["panels"]:
        if p.get("type") == "row":
            continue
        results = []
        for t in p.get("targets", []):
            ref = f"panel {p.get('id')} '{p.get('title')}' target {t.get('refId')}"
            try:
                expr = substitute(t["expr"], variables, step, start, end)
            except KeyError as e:
                problems.append(f"{ref}: unknown variable ${e.args[0]}")
                results.append((t, [], "unknown variable"))
                continue
            data, err = prom.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step}s")
            if err:
                problems.append(f"{ref}: query error: {err}\n      {expr}")
                results.append((t, [], err))
                continue
            series = []
            for s in data["result"]:
                ts = [float(x[0]) for x in s["values"]]
                vs = [float(x[1]) for x in s["values"]]
                series.append((legend(t.get("legendFormat"), s["metric"]), ts, vs))
            series.sort(key=lambda s: s[0])
            if not series:
                notes.append(f"{ref}: no data for {expr}")
            results.append((t, series, None))
        if not any(series for _, series, _ in results):
            problems.append(f"panel {p.get('id')} '{p.get('title')}': no data at all")
        out.append((p, results))
    return out, problems, notes


# ---------------------------------------------------------------------------------------------------------------
# Drawing

COLORS = {"green": "#73BF69", "yellow": "#FADE2A", "red": "#F2495C", "blue": "#5794F2", "orange": "#FF9830",
          "purple": "#B877D9", "text": "#CCCCDC", "transparent": "none"}
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642",
           "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477"]
BG, PANEL_BG, GRID, TEXT = "#111217", "#181b1f", "#2c3235", "#ccccdc"


def color(name):
    if not name:
        return None
    return COLORS.get(name, name)


def scaled(v, base, units):
    i = 0
    while abs(v) >= base and i < len(units) - 1:
        v /= base
        i += 1
    return v, units[i]


def fmt_value(v, unit, decimals=None):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"

    def num(x):
        if decimals is not None:
            return f"{x:.{decimals}f}"
        if x == 0:
            return "0"
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
    if unit in ("bytes", "decbytes", "Bps"):
        x, u = scaled(v, 1024 if unit != "decbytes" else 1000, ["B", "KiB", "MiB", "GiB", "TiB"])
        return f"{num(x)} {u}" + ("/s" if unit == "Bps" else "")
    if unit == "s":
        a = abs(v)
        if a == 0:
            return "0 s"
        if a < 1e-3:
            return f"{num(v * 1e6)} µs"
        if a < 1:
            return f"{num(v * 1e3)} ms"
        if a < 120:
            return f"{num(v)} s"
        if a < 7200:
            return f"{num(v / 60)} min"
        if a < 172800:
            return f"{num(v / 3600)} hour"
        return f"{num(v / 86400)} day"
    if unit == "percentunit":
        return f"{num(v * 100)}%"
    if unit == "percent":
        return f"{num(v)}%"
    x, u = scaled(v, 1000, ["", " K", " M", " G", " T"])
    suffix = {"ops": " ops/s", "reqps": " req/s"}.get(unit, "")
    return f"{num(x)}{u}{suffix}"


def mapping_for(mappings, v):
    """(text, color) a Grafana value/range mapping gives v, or None."""
    for m in mappings or []:
        opts = m.get("options", {})
        if m.get("type") == "value":
            for key, res in opts.items():
                try:
                    if float(key) == v:
                        return res.get("text"), res.get("color")
                except ValueError:
                    pass
        elif m.get("type") == "range":
            lo, hi = opts.get("from"), opts.get("to")
            if (lo is None or v >= lo) and (hi is None or v <= hi):
                res = opts.get("result", {})
                return res.get("text"), res.get("color")
    return None


def threshold_color(thresholds, v):
    steps = (thresholds or {}).get("steps") or []
    c = None
    for s in steps:
        if s.get("value") is None or v >= s["value"]:
            c = s.get("color")
    return c


def field_config(panel, name):
    """The panel's field defaults with the overrides whose matcher picks the series `name`."""
    fc = panel.get("fieldConfig", {})
    conf = json.loads(json.dumps(fc.get("defaults", {})))
    for o in fc.get("overrides", []):
        m = o.get("matcher", {})
        hit = (m.get("id") == "byName" and m.get("options") == name) or \
              (m.get("id") == "byRegexp" and re.fullmatch(m.get("options", ""), name))
        if hit:
            for prop in o.get("properties", []):
                if prop["id"] == "color":
                    conf["color"] = prop["value"]
                elif prop["id"].startswith("custom."):
                    conf.setdefault("custom", {})[prop["id"][7:]] = prop["value"]
                else:
                    conf[prop["id"]] = prop["value"]
    return conf


def draw_timeseries(ax, panel, results, t0, t1):
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.ticker import FuncFormatter, NullFormatter

    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    custom = defaults.get("custom", {})
    unit = defaults.get("unit", "short")
    step = custom.get("lineInterpolation") == "stepAfter"
    stacked = custom.get("stacking", {}).get("mode", "none") != "none"
    series = [s for _, ss, _ in results for s in ss]
    handles = []
    if stacked and series:
        grid = sorted({t for _, ts, _ in series for t in ts})
        idx = {t: i for i, t in enumerate(grid)}
        ys = []
        for _, ts, vs in series:
            y = np.zeros(len(grid))
            for t, v in zip(ts, vs):
                y[idx[t]] = 0 if math.isnan(v) else v
            ys.append(y)
        x = [dt.datetime.fromtimestamp(t) for t in grid]
        cols = [color(field_config(panel, n).get("color", {}).get("fixedColor")) or PALETTE[i % len(PALETTE)]
                for i, (n, _, _) in enumerate(series)]
        polys = ax.stackplot(x, ys, colors=cols, alpha=0.6, linewidth=0.6)
        handles = list(zip(polys, [n for n, _, _ in series]))
    else:
        for i, (name, ts, vs) in enumerate(series):
            conf = field_config(panel, name)
            c = color(conf.get("color", {}).get("fixedColor")) or PALETTE[i % len(PALETTE)]
            x = [dt.datetime.fromtimestamp(t) for t in ts]
            if step:
                (line,) = ax.step(x, vs, where="post", color=c, linewidth=1.4)
            else:
                (line,) = ax.plot(x, vs, color=c, linewidth=1.4)
                if custom.get("scaleDistribution", {}).get("type") != "log":
                    ax.fill_between(x, vs, alpha=0.08, color=c)
            handles.append((line, name))
    log_scale = custom.get("scaleDistribution", {}).get("type") == "log"
    if log_scale:
        ax.set_yscale("log", base=custom["scaleDistribution"].get("log", 10))
    mode = custom.get("thresholdsStyle", {}).get("mode", "off")
    if mode != "off":
        for s in defaults.get("thresholds", {}).get("steps", []):
            if s.get("value") is not None:
                ax.axhline(s["value"], color=color(s.get("color")), linestyle="--", linewidth=1, alpha=0.8)
    lo, hi = defaults.get("min"), defaults.get("max")
    if (lo is not None or hi is not None) and not log_scale:
        cur = ax.get_ylim()
        ax.set_ylim(lo if lo is not None else cur[0], hi if hi is not None else max(cur[1], (lo or 0) + 1e-9))
    if hi is not None and lo is not None and not log_scale:
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    mappings = defaults.get("mappings")
    if mappings and lo is not None and hi is not None and hi - lo <= 10:
        ticks = list(range(int(lo), int(hi) + 1))
        ax.set_yticks(ticks)
        ax.set_yticklabels([(mapping_for(mappings, v) or (fmt_value(v, unit), None))[0] for v in ticks])
    else:
        dec = defaults.get("decimals")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_value(v, unit, dec)))
        if log_scale:
            ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(dt.datetime.fromtimestamp(t0), dt.datetime.fromtimestamp(t1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    ax.grid(True, color=GRID, linewidth=0.6)
    if handles:
        w = panel["gridPos"]["w"]
        longest = max(len(n) for _, n in handles)
        ncol = max(1, min(len(handles), int(w * 9 / max(longest + 4, 8))))
        ax.legend([h for h, _ in handles], [n for _, n in handles], loc="upper left", bbox_to_anchor=(0, -0.12),
                  ncol=ncol, fontsize=7.5, frameon=False, labelcolor=TEXT, handlelength=1.2, columnspacing=1.0)


def draw_stat(fig, ax, panel, results):
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    calcs = panel.get("options", {}).get("reduceOptions", {}).get("calcs", ["lastNotNull"])
    color_mode = panel.get("options", {}).get("colorMode", "value")
    series = [s for _, ss, _ in results for s in ss]
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_visible(False)
    if not series:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", color=TEXT, fontsize=14, transform=ax.transAxes)
        return
    n = len(series)
    for i, (name, ts, vs) in enumerate(series):
        conf = field_config(panel, name)
        unit = conf.get("unit", "short")
        clean = [v for v in vs if not math.isnan(v)]
        if not clean:
            v = float("nan")
        elif calcs and calcs[0] in ("mean",):
            v = sum(clean) / len(clean)
        elif calcs and calcs[0] == "max":
            v = max(clean)
        else:
            v = clean[-1]
        mapped = mapping_for(conf.get("mappings"), v) if not math.isnan(v) else None
        text = mapped[0] if mapped and mapped[0] else fmt_value(v, unit, conf.get("decimals"))
        c = (mapped and color(mapped[1])) or color(conf.get("color", {}).get("fixedColor")) or \
            color(threshold_color(conf.get("thresholds"), v)) or COLORS["green"]
        sub = ax.inset_axes([i / n + 0.01, 0.02, 1 / n - 0.02, 0.96])
        sub.set_xticks([])
        sub.set_yticks([])
        for sp in sub.spines.values():
            sp.set_visible(False)
        bg = c if color_mode == "background" else PANEL_BG
        fg = "#111217" if color_mode == "background" and c not in (COLORS["text"],) else (
            c if color_mode == "value" else TEXT)
        if color_mode == "background" and c == COLORS["text"]:
            bg, fg = "#2c3235", TEXT
        sub.set_facecolor(bg)
        if len(clean) > 1:
            sub.plot(range(len(vs)), vs, color=fg, alpha=0.25, linewidth=1)
            lo, hi = min(clean), max(clean)
            pad = (hi - lo) * 0.1 or 1
            sub.set_ylim(lo - pad, hi + 3 * (hi - lo + pad))
        size = 22 if n == 1 else 15
        sub.text(0.5, 0.45, text, ha="center", va="center", fontsize=size, fontweight="bold", color=fg,
                 transform=sub.transAxes)
        if n > 1:
            sub.text(0.5, 0.85, name, ha="center", va="center", fontsize=8.5, color=fg, transform=sub.transAxes)


def render(dash, panels, t0, t1, out_path, instance):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    unit_h = 0.40  # inches per grid unit (Grafana: 30 px)
    width = 24.0
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    header = 0.8
    height = bottom * unit_h + header
    fig = plt.figure(figsize=(width, height), facecolor=BG)
    fig.text(0.008, 1 - 0.35 / height, f"{dash.get('title', '')}", fontsize=18, color=TEXT, va="center",
             fontweight="bold")
    fig.text(0.992, 1 - 0.35 / height,
             f"instance {instance}   {dt.datetime.fromtimestamp(t0):%Y-%m-%d %H:%M:%S} to "
             f"{dt.datetime.fromtimestamp(t1):%H:%M:%S}   (dashboard queries run on Prometheus, drawn by matplotlib)",
             fontsize=10, color="#8e8e8e", va="center", ha="right")

    def rect(g, top_pad, bottom_pad, side=0.12):
        x0 = g["x"] / 24 * width + side
        w = g["w"] / 24 * width - 2 * side
        top = header + g["y"] * unit_h + top_pad
        h = g["h"] * unit_h - top_pad - bottom_pad
        return [x0 / width, 1 - (top + h) / height, w / width, h / height]

    for p in dash["panels"]:
        if p.get("type") == "row":
            g = p["gridPos"]
            fig.text((g["x"] / 24 * width + 0.12) / width, 1 - (header + g["y"] * unit_h + 0.22) / height,
                     p.get("title", ""), fontsize=12.5, color=TEXT, fontweight="bold", va="center")
    for p, results in panels:
        g = p["gridPos"]
        # Panel background, title, then the plot area inside it.
        bg = fig.add_axes(rect(g, 0.04, 0.04, 0.06))
        bg.set_facecolor(PANEL_BG)
        bg.set_xticks([])
        bg.set_yticks([])
        for sp in bg.spines.values():
            sp.set_color(GRID)
        bg.text(0.012, 1 - 0.18 / (g["h"] * unit_h - 0.08), p.get("title", ""), transform=bg.transAxes,
                fontsize=10.5, color=TEXT, fontweight="bold", va="center", ha="left")
        if p.get("type") == "stat":
            ax = fig.add_axes(rect(g, 0.40, 0.14))
            ax.set_facecolor(PANEL_BG)
            draw_stat(fig, ax, p, results)
        else:
            n_series = sum(len(ss) for _, ss, _ in results)
            legend_rows = 1 if n_series <= 3 else math.ceil(n_series / max(1, int(g["w"] * 9 / 22)))
            legend_h = 0.20 * min(legend_rows, 4)
            ax = fig.add_axes(rect(g, 0.42, 0.38 + legend_h, 0.12), facecolor=PANEL_BG)
            ax.tick_params(colors="#9fa7b3", labelsize=7.5)
            for sp in ax.spines.values():
                sp.set_visible(False)
            ax.tick_params(axis="y", pad=1)
            # Leave room on the left for tick labels, as Grafana does.
            pos = ax.get_position()
            ax.set_position([pos.x0 + 0.55 / width, pos.y0, pos.width - 0.55 / width, pos.height])
            draw_timeseries(ax, p, results, t0, t1)
            if not any(ss for _, ss, _ in results):
                ax.text(0.5, 0.5, "No data", ha="center", va="center", color=COLORS["red"], fontsize=14,
                        transform=ax.transAxes)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=80, facecolor=BG)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "target/release/strata-server"))
    ap.add_argument("--dashboard", default=os.path.join(ROOT, "conf/grafana/strata-dashboard.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/dashboard.png"))
    ap.add_argument("--seconds", type=int, default=90, help="seconds of load (default 90)")
    ap.add_argument("--step", type=int, default=1, help="query_range step in seconds (default 1)")
    ap.add_argument("--save-data", metavar="FILE", help="also write the query results to FILE (JSON)")
    ap.add_argument("--replay", metavar="FILE", help="draw from a --save-data FILE: no server, no load")
    args = ap.parse_args()
    if args.replay:
        saved = json.load(open(args.replay))
        dash = json.load(open(args.dashboard))
        by_id = {p["id"]: p for p in dash["panels"]}
        panels = []
        for pid, results in saved["panels"]:
            p = by_id[pid]
            targets = {t["refId"]: t for t in p.get("targets", [])}
            panels.append((p, [(targets[ref], [tuple(s) for s in series], err) for ref, series, err in results]))
        render(dash, panels, saved["start"], saved["end"], args.out, saved["instance"])
        log(f"wrote {args.out} from {args.replay}")
        return

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no strata-server binary at {binary} (build it: cargo build --release)")
    dash = json.load(open(args.dashboard))

    atexit.register(cleanup)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    prom_bin = ensure_tools()
    tmp = tempfile.mkdtemp(prefix="strata-dashboard-")
    TMPDIRS.append(tmp)
    data_dir, prom_dir = os.path.join(tmp, "strata"), os.path.join(tmp, "prometheus")
    os.makedirs(data_dir)
    os.makedirs(prom_dir)
    backup_dir = os.path.join(data_dir, "backups")
    bad_dir = os.path.join(tmp, "not-a-directory")
    open(bad_dir, "w").close()

    port, http_port, prom_port = free_port(), free_port(), free_port()
    strata_log = open(os.path.join(tmp, "strata.log"), "w")
    LOGS.append(("strata-server", strata_log.name))
    strata = start("strata-server", [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--http-port", str(http_port), "--http-bind",
        "127.0.0.1", "--dir", data_dir, "--save", "20 1", "--appendonly", "yes",
        "--maxmemory", "0", "--maxmemory-policy", "allkeys-lru",
        "--compression-min-size", "64", "--compression-cold-seconds", "5",
        "--backup-schedule", "every 30s", "--backup-dir", backup_dir, "--stop-writes-on-bgsave-error", "no",
        "--latency-monitor-threshold", "100", "--enable-debug-command", "local"],
        stdout=strata_log, stderr=subprocess.STDOUT)
    wait_for("strata's /health", lambda: http_get(f"http://127.0.0.1:{http_port}/health")[0] == 200,
             procs=[("strata-server", strata)])

    cfg = os.path.join(prom_dir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: strata
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:{http_port}']
""")
    prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
    LOGS.append(("prometheus", prom_log.name))
    prom_proc = start("prometheus", [
        prom_bin, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(prom_dir, 'data')}",
        f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1d"],
        stdout=prom_log, stderr=subprocess.STDOUT, cwd=prom_dir)
    prom = Prom(prom_port)
    both = [("strata-server", strata), ("prometheus", prom_proc)]
    wait_for("Prometheus to be ready", lambda: http_get(f"{prom.base}/-/ready")[0] == 200, timeout=60, procs=both)

    def target_up():
        data, _ = prom.api("query", query='up{job="strata"}')
        return bool(data and data["result"] and data["result"][0]["value"][1] == "1")
    wait_for("Prometheus's first scrape of strata", target_up, timeout=30, procs=both)
    instance = f"127.0.0.1:{http_port}"

    t_start = time.time() - 2
    log("preloading 50,000 cold keys")
    preload(port)
    t0 = time.time()
    log(f"load for {args.seconds} s")
    benchmarks(port, args.seconds)
    threads = blockers(port, t0, args.seconds)
    chaos_thread = threading.Thread(target=chaos, args=(port, t0, args.seconds, bad_dir, backup_dir), daemon=True)
    chaos_thread.start()
    while time.time() < t0 + args.seconds:
        for name, p in both:
            if p.poll() is not None:
                die(f"{name} exited with {p.returncode} during the load")
        time.sleep(1)
    STOP.set()
    for name, p in list(PROCS):
        if name.startswith("redis-benchmark"):
            stop(name, p)
    chaos_thread.join(30)
    for t in threads:
        t.join(10)
    time.sleep(5)  # a few scrapes of the quiet server
    t_end = time.time()

    variables = {"instance": instance}
    for v in dash.get("templating", {}).get("list", []):
        variables.setdefault(v["name"], ".*")
    panels, problems, notes = query_panels(dash, prom, variables, t_start, t_end, args.step)
    if args.save_data:
        with open(args.save_data, "w") as f:
            json.dump({"start": t_start, "end": t_end, "instance": instance,
                       "panels": [(p["id"], [(t["refId"], series, err) for t, series, err in results])
                                  for p, results in panels]}, f)
    render(dash, panels, t_start, t_end, args.out, instance)
    log(f"wrote {os.path.relpath(args.out, ROOT) if args.out.startswith(ROOT) else args.out}")
    for n in notes:
        log(f"note: {n}")
    if problems:
        print("dashboard-render FAILED: these panels' queries returned an error or no data at all:", file=sys.stderr)
        for pr in problems:
            print(f"  - {pr}", file=sys.stderr)
        sys.exit(1)
    log(f"all {len(panels)} panels returned data")


if __name__ == "__main__":
    main()
