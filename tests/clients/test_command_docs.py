"""COMMAND DOCS against redis-server 7.0: for every command and subcommand both servers have, the fields Redis
documents beyond the prose (`since`, `group`, `history`, `doc_flags`, `deprecated_since`, `replaced_by`) are the
same. Summaries and argument trees are Strata's own wording and are not compared.

Usage: python3 tests/clients/test_command_docs.py path/to/strata-server
"""
import os
import sys
import tempfile
import unittest

import redis

from procs import free_port, start_redis, start_strata

BIN = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server")
FIELDS = ("since", "group", "history", "doc_flags", "deprecated_since", "replaced_by")


def text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, set, tuple)):
        return [text(x) for x in v]
    return v


def flatten(docs, out):
    for name, d in docs.items():
        d = {text(k): v for k, v in d.items()}
        out[text(name).lower()] = {f: text(d.get(f)) for f in FIELDS}
        if "subcommands" in d:
            flatten(d["subcommands"], out)
    return out


class CommandDocsTest(unittest.TestCase):
    def test_documented_fields_match_redis(self):
        with tempfile.TemporaryDirectory() as d:
            rport, sport = free_port(), free_port()
            procs = [start_redis(rport, d), start_strata(BIN, sport, d)]
            try:
                docs = []
                for port in (rport, sport):
                    r = redis.Redis(port=port, protocol=3)
                    r.set_response_callback("COMMAND", lambda reply, **_: reply)
                    docs.append(flatten(r.execute_command("COMMAND", "DOCS"), {}))
            finally:
                for p in procs:
                    p.terminate()
                    p.wait(10)
        theirs, ours = docs
        shared = sorted(set(theirs) & set(ours))
        self.assertGreater(len(shared), 200)
        with_history = [n for n in shared if theirs[n]["history"]]
        self.assertGreater(len(with_history), 50)
        for name in shared:
            self.assertEqual(ours[name], theirs[name], name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
