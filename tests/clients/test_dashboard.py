"""The Grafana dashboard (conf/grafana/strata-dashboard.json) against a real scrape of /metrics.

Starts Strata with an HTTP port, runs a handful of commands, fetches /metrics and checks that
  (a) the text parses with prometheus_client's parser (the reference parser of the text format),
  (b) every metric name the dashboard's exprs reference is in the scrape (`_bucket`/`_sum`/`_count` of a histogram
      count as its family),
  (c) the JSON has what Grafana's "Import dashboard" needs: title, panels with unique ids and a gridPos, targets
      with an expr, an __inputs entry for the Prometheus datasource the panels use.
No Prometheus is needed and it takes a few seconds. For a picture of the dashboard with data, see
scripts/dashboard-render.py.

Usage: python3 tests/clients/test_dashboard.py path/to/strata-server
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from procs import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, "conf", "grafana", "strata-dashboard.json")
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/strata-server"))

# Words in PromQL that look like metric names but are not.
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "le",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "time", "vector", "scalar",
    "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "label_replace", "label_join", "sort",
    "sort_desc", "absent", "absent_over_time", "changes", "resets", "predict_linear", "timestamp",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "quantile_over_time", "inf", "nan",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def fail(msg):
    print(f"test_dashboard: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def ensure_prometheus_client():
    try:
        import prometheus_client.parser  # noqa: F401
    except ImportError:
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "prometheus-client"]
        if subprocess.run(cmd).returncode != 0 and \
                subprocess.run(cmd + ["--break-system-packages"]).returncode != 0:
            fail("prometheus-client is not installed and pip could not install it")
    from prometheus_client.parser import text_string_to_metric_families
    return text_string_to_metric_families


def resp(port, *commands):
    """Sends each command (a list of str) on one connection and reads one reply line (and bulk) per command."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    buf = b""
    out = []
    try:
        for cmd in commands:
            data = b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd)
            s.sendall(data)
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    fail(f"the server closed the connection after {cmd}")
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            if line.startswith(b"$") and int(line[1:]) >= 0:
                n = int(line[1:])
                while len(buf) < n + 2:
                    buf += s.recv(65536)
                buf = buf[n + 2:]
            out.append(line)
    finally:
        s.close()
    return out


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def scrape():
    port, http_port = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="strata-dashboard-test-")
    proc = subprocess.Popen([BIN, "--port", str(port), "--bind", "127.0.0.1", "--http-port", str(http_port),
                             "--save", "", "--appendonly", "yes", "--dir", tmp, "--latency-monitor-threshold", "1",
                             "--enable-debug-command", "local"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 15
        # /ready, not /health: /health answers 200 as soon as the process is alive, while the change log is still
        # being opened and commands get -LOADING.
        while True:
            try:
                if http_get(f"http://127.0.0.1:{http_port}/ready")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                fail(f"strata-server exited with {proc.returncode} at start")
            if time.time() > deadline:
                fail("strata-server's /ready did not answer 200 within 15 s")
            time.sleep(0.1)
        replies = resp(port, ["SET", "k", "v"], ["SET", "t", "v", "EX", "100"], ["GET", "k"], ["GET", "missing"],
                       ["INCR", "n"], ["LPUSH", "l", "a", "b"], ["HSET", "h", "f", "v"], ["INCR", "l"],
                       ["NOSUCHCOMMAND"], ["GET"], ["DEBUG", "SLEEP", "0.01"], ["PING"])
        if replies[-1] != b"+PONG":
            fail(f"unexpected replies from strata: {replies}")
        status, ctype, text = http_get(f"http://127.0.0.1:{http_port}/metrics")
        if status != 200:
            fail(f"/metrics answered {status}")
        if not ctype.startswith("text/plain"):
            fail(f"/metrics has content type {ctype!r}, not text/plain")
        return text
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def check_import_fields(dash):
    problems = []
    for key in ("title", "panels", "schemaVersion", "__inputs"):
        if key not in dash:
            problems.append(f"no top-level {key!r}")
    if not isinstance(dash.get("title"), str) or not dash.get("title"):
        problems.append("title is empty or not a string")
    inputs = {i.get("name"): i for i in dash.get("__inputs", [])}
    ds = inputs.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("pluginId") != "prometheus":
        problems.append("__inputs has no datasource entry DS_PROMETHEUS with pluginId prometheus")
    ids = {}
    for i, p in enumerate(dash.get("panels", [])):
        where = f"panel #{i} {p.get('title')!r}"
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.append(f"{where}: id {pid!r} is not an integer")
        elif pid in ids:
            problems.append(f"{where}: id {pid} repeats that of {ids[pid]!r}")
        else:
            ids[pid] = p.get("title")
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{where}: gridPos {g!r} lacks integer x, y, w, h")
        elif g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24:
            problems.append(f"{where}: gridPos {g!r} does not fit Grafana's 24 columns")
        if not p.get("title"):
            problems.append(f"{where}: no title")
        if p.get("type") == "row":
            continue
        if not p.get("type"):
            problems.append(f"{where}: no type")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        refs = set()
        for t in targets:
            if not isinstance(t.get("expr"), str) or not t["expr"].strip():
                problems.append(f"{where}: a target without an expr")
            if t.get("refId") in refs:
                problems.append(f"{where}: refId {t.get('refId')} repeats")
            refs.add(t.get("refId"))
            for d in (p.get("datasource"), t.get("datasource")):
                if d is not None and d.get("uid") not in inputs and d.get("uid") != "${DS_PROMETHEUS}":
                    problems.append(f"{where}: datasource {d!r} is not the ${{DS_PROMETHEUS}} input")
    names = [v.get("name") for v in dash.get("templating", {}).get("list", [])]
    if "instance" not in names:
        problems.append("no templating variable 'instance'")
    return problems


def metric_names(expr):
    """Metric names an expr uses: identifiers that are not label names, label values, functions or keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)        # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)                # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    expr = re.sub(r"\[[^\]]*\]", "", expr)                 # range durations
    expr = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])*(?![\w:])", "", expr)  # numbers, offsets
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word = m.group(0)
        rest = expr[m.end():].lstrip()
        if word.lower() in PROMQL_WORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def main():
    if not os.access(BIN, os.X_OK):
        fail(f"no strata-server binary at {BIN}")
    try:
        dash = json.load(open(DASHBOARD))
    except (OSError, ValueError) as e:
        fail(f"{DASHBOARD} does not load as JSON: {e}")
    problems = check_import_fields(dash)
    if problems:
        fail("the dashboard lacks what Grafana's import needs:\n  " + "\n  ".join(problems))

    parse = ensure_prometheus_client()
    text = scrape()
    try:
        families = list(parse(text))
    except Exception as e:  # the parser raises ValueError and friends on bad lines
        fail(f"/metrics does not parse with prometheus_client: {e!r}")
    if not families:
        fail("/metrics parsed to no metric family")

    # Every sample name, and the family names (a histogram family covers _bucket/_sum/_count).
    samples, histograms, family_type = set(), set(), {}
    for f in families:
        family_type[f.name] = f.type
        if f.type == "histogram":
            histograms.add(f.name)
        for s in f.samples:
            samples.add(s.name)
    for h in histograms:
        if not any(s.startswith(h + "_bucket") for s in samples):
            fail(f"histogram {h} has no _bucket samples")

    def present(name):
        if name in samples:
            return True
        for suf in HISTOGRAM_SUFFIXES:
            if name.endswith(suf) and name[: -len(suf)] in histograms:
                return True
        return False

    missing = {}
    used = set()
    for p in dash["panels"]:
        for t in p.get("targets", []):
            for name in metric_names(t["expr"]):
                used.add(name)
                if not present(name):
                    missing.setdefault(name, []).append(p.get("title"))
    if missing:
        fail("metrics the dashboard uses are not in /metrics:\n  " +
             "\n  ".join(f"{n} (panels: {', '.join(sorted(set(t)))})" for n, t in sorted(missing.items())))
    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    print(f"test_dashboard: ok: /metrics parses ({len(families)} families, {len(samples)} sample names); "
          f"the {len(used)} metric names of {len(panels)} panels are all there")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
