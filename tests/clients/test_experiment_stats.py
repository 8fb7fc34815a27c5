"""EXP.RESULTS against scipy on generated data.

Runs an experiment with three variations through a release Strata (assignment by the server, outcomes drawn from
a seeded generator), then recomputes every figure of EXP.RESULTS from the raw per-user values with scipy and
compares them to 1e-6: means, variances, the two-proportion z-test for the conversion metric, Welch's t-test for
the revenue metric, confidence intervals, Holm-adjusted p-values and the sample ratio mismatch chi-square.
Also checks assignment balance over 1,000,000 users with EXP.MASSIGN (99.9% binomial interval per variation).

Usage: python3 tests/clients/test_experiment_stats.py path/to/strata-server [--print]
"""

import json
import math
import random
import sys
import tempfile

import numpy as np
import redis
from scipy import stats

from procs import free_port, start_strata

TOL = 1e-6


COMPARED = []


def close(name, got, want, failures, tol=TOL):
    COMPARED.append((name, got, want))
    if want is None or got is None:
        if want != got:
            failures.append(f"{name}: got {got}, want {want}")
        return
    if math.isnan(want) and math.isnan(got):
        return
    if abs(got - want) > tol * max(1.0, abs(want)):
        failures.append(f"{name}: got {got!r}, scipy {want!r}")


def holm(ps):
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adj[i] = running
    return adj


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/strata-server"
    show = "--print" in sys.argv
    port = free_port()
    work = tempfile.mkdtemp(prefix="strata-expstats-")
    proc = start_strata(binary, port, work)
    failures = []
    try:
        r = redis.Redis(port=port, protocol=3, decode_responses=True)
        weights = [0.34, 0.33, 0.33]
        spec = {"variations": ["control", "a", "b"], "weights": weights,
                "metrics": [{"name": "signup", "type": "conversion"}, {"name": "revenue", "type": "revenue"}]}
        r.execute_command("EXP.CREATE", "stats", json.dumps(spec))
        r.execute_command("EXP.START", "stats")
        rng = random.Random(20261206)
        rates = [0.10, 0.12, 0.15]
        users = [f"user-{i}" for i in range(6000)]
        pipe = r.pipeline(transaction=False)
        for u in users:
            pipe.execute_command("EXP.ASSIGN", "stats", u)
        variants = [int(a["variationId"]) for a in pipe.execute()]
        conv = [[], [], []]
        revenue = [[], [], []]
        pipe = r.pipeline(transaction=False)
        for u, v in zip(users, variants):
            converted = rng.random() < rates[v]
            conv[v].append(1.0 if converted else 0.0)
            total = 0.0
            if converted:
                pipe.execute_command("EXP.TRACK", "stats", u, "signup", 1)
                for _ in range(rng.randint(1, 3)):
                    amount = round(rng.lognormvariate(3.0 + 0.1 * v, 0.8), 2)
                    total += amount
                    pipe.execute_command("EXP.TRACK", "stats", u, "revenue", repr(amount))
            revenue[v].append(total)
        pipe.execute()
        res = r.execute_command("EXP.RESULTS", "stats")

        # Sample ratio mismatch: chi-square of users per variation against the weights.
        observed = [len(c) for c in conv]
        total = sum(observed)
        chi2, p = stats.chisquare(observed, f_exp=[total * w / sum(weights) for w in weights])
        close("srm chi2", float(res["srm"]["chi2"]), chi2, failures)
        close("srm p", float(res["srm"]["pValue"]), p, failures)

        for metric, data in (("signup", conv), ("revenue", revenue)):
            rows = res["metrics"][metric]["variations"]
            c = np.array(data[0])
            ps = []
            for v in range(3):
                x = np.array(data[v])
                row = rows[v]
                if int(row["users"]) != len(x):
                    failures.append(f"{metric}[{v}] users {row['users']} != {len(x)}")
                close(f"{metric}[{v}] mean", float(row["mean"]), x.mean(), failures)
                close(f"{metric}[{v}] variance", float(row["variance"]), x.var(ddof=1), failures)
                close(f"{metric}[{v}] sum", float(row["sum"]), x.sum(), failures)
                if v == 0:
                    continue
                diff = x.mean() - c.mean()
                if metric == "signup":
                    n1, n2 = len(c), len(x)
                    pooled = (c.sum() + x.sum()) / (n1 + n2)
                    z = diff / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                    pv = 2 * stats.norm.sf(abs(z))
                    se = math.sqrt(c.mean() * (1 - c.mean()) / n1 + x.mean() * (1 - x.mean()) / n2)
                    q = stats.norm.ppf(0.975)
                    close(f"{metric}[{v}] z", float(row["statistic"]), z, failures)
                else:
                    t = stats.ttest_ind(x, c, equal_var=False)
                    pv = t.pvalue
                    va, vb = x.var(ddof=1) / len(x), c.var(ddof=1) / len(c)
                    se = math.sqrt(va + vb)
                    df = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(c) - 1))
                    q = stats.t.ppf(0.975, df)
                    close(f"{metric}[{v}] t", float(row["statistic"]), t.statistic, failures)
                    close(f"{metric}[{v}] df", float(row["df"]), df, failures)
                close(f"{metric}[{v}] p", float(row["pValue"]), pv, failures)
                close(f"{metric}[{v}] diff", float(row["diff"]), diff, failures)
                close(f"{metric}[{v}] diff ci low", float(row["diffCiLow"]), diff - q * se, failures)
                close(f"{metric}[{v}] diff ci high", float(row["diffCiHigh"]), diff + q * se, failures)
                close(f"{metric}[{v}] lift", float(row["lift"]), diff / c.mean(), failures)
                # Relative lift by the delta method: Var(xb/cb) ~ (vx/nx)/cb^2 + xb^2 (vc/nc)/cb^4.
                cb, xb = c.mean(), x.mean()
                # A proportion's variance is p(1-p); a mean's the sample variance.
                vx, vc = (xb * (1 - xb), cb * (1 - cb)) if metric == "signup" else (x.var(ddof=1), c.var(ddof=1))
                var_ratio = (vx / len(x)) / cb ** 2 + xb ** 2 * (vc / len(c)) / cb ** 4
                lift = xb / cb - 1
                close(f"{metric}[{v}] lift ci low", float(row["ciLow"]), lift - q * math.sqrt(var_ratio), failures)
                close(f"{metric}[{v}] lift ci high", float(row["ciHigh"]), lift + q * math.sqrt(var_ratio), failures)
                close(f"{metric}[{v}] chance to beat", float(row["chanceToBeatControl"]),
                      stats.norm.cdf(diff / se), failures)
                ps.append(pv)
            for v, adj in enumerate(holm(ps), start=1):
                close(f"{metric}[{v}] holm", float(rows[v]["pValueAdjusted"]), adj, failures)

        # Balance: 1,000,000 users over 50/50 and 33/33/34 splits.
        # Assigned by hash only (nobody enrolled), so the million users cost the server no memory.
        r.config_set("experiment-max-users", 0)
        for name, w in (("fifty", [0.5, 0.5]), ("thirds", [0.33, 0.33, 0.34])):
            r.execute_command("EXP.CREATE", name, json.dumps({"variations": list(range(len(w))), "weights": w}))
            r.execute_command("EXP.START", name)
            counts = [0] * len(w)
            n = 1_000_000
            batch = 1000
            pipe = r.pipeline(transaction=False)
            for start in range(0, n, batch):
                pipe.execute_command("EXP.MASSIGN", name, *[f"b{i}" for i in range(start, start + batch)])
                if len(pipe) == 50:
                    for answers in pipe.execute():
                        for a in answers:
                            counts[int(a["variationId"])] += 1
            for answers in pipe.execute():
                for a in answers:
                    counts[int(a["variationId"])] += 1
            for v, p in enumerate(w):
                lo, hi = stats.binom.interval(0.999, n, p)
                if not lo <= counts[v] <= hi:
                    failures.append(f"{name}: variation {v} got {counts[v]} of {n}, 99.9% interval [{lo}, {hi}]")
            print(f"balance {name}: {counts}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if show:
        print("%-28s %24s %24s" % ("figure", "EXP.RESULTS", "scipy"))
        for name, got, want in COMPARED:
            print("%-28s %24.17g %24.17g" % (name, got, want))
    if failures:
        print("FAIL EXP.RESULTS against scipy:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("EXP.RESULTS matches scipy (z-test, Welch, CIs, Holm, SRM) to 1e-6; balance within 99.9% intervals")


if __name__ == "__main__":
    main()
