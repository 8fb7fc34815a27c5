#!/usr/bin/env python3
"""Import cycles among Strata's top-level modules (src/<module>/ or src/<module>.rs).

Reads every `crate::<module>` reference in each module's files (use lines and paths alike) and prints the
dependency graph's strongly connected components that hold more than one module. Exits 1 when there is a cycle.

Usage: python3 scripts/module-cycles.py [--graph]
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def module_of(path):
    rel = path.relative_to(SRC)
    if len(rel.parts) == 1:
        return rel.stem if rel.stem not in ("lib", "main") else None
    return rel.parts[0]


def graph():
    edges = {}
    for path in SRC.rglob("*.rs"):
        mod = module_of(path)
        if mod is None:
            continue
        text = path.read_text()
        # Tests may reach anywhere; only the shipped code's dependencies count.
        text = text.split("#[cfg(test)]")[0]
        for dep in REF.findall(text):
            if dep != mod and ((SRC / dep).exists() or (SRC / f"{dep}.rs").exists()):
                edges.setdefault(mod, set()).add(dep)
        edges.setdefault(mod, set())
    return edges


def cycles(edges):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    edges = graph()
    if "--graph" in sys.argv:
        for m in sorted(edges):
            print(f"{m} -> {', '.join(sorted(edges[m])) or '-'}")
    found = cycles(edges)
    for comp in found:
        inner = {m: sorted(d for d in edges[m] if d in comp) for m in comp}
        print("cycle among " + ", ".join(comp) + ": " + "; ".join(f"{m} -> {', '.join(d)}" for m, d in inner.items()))
    print(f"{len(edges)} modules, {len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
