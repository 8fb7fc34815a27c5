"""DUMP and RESTORE between redis-server 7.0 and Strata, both ways: for every type (streams with consumer groups
included) and both encodings of each, a
value DUMPed by one server is RESTOREd into the other and must read back equal, with the same OBJECT ENCODING
and TTL; a Strata extension value is refused by redis-server with its own error; the payloads of values whose
encoding is deterministic (strings, lists, listpacks, intsets, skiplists) are byte-identical.

Usage: python3 tests/clients/test_dump_restore.py path/to/strata-server
"""
import os
import sys
import tempfile
import unittest

import redis

from procs import free_port, start_redis, start_strata

BIN = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server")
BIG = "x" * 100


# (key, commands that build it, expected encoding, whether Redis's payload bytes are deterministic)
VALUES = [
    ("s_int", [["SET", "s_int", "12345"]], "int", True),
    ("s_bigint", [["SET", "s_bigint", "123456789012345"]], "int", True),
    ("s_emb", [["SET", "s_emb", "hello"]], "embstr", True),
    ("s_raw", [["SET", "s_raw", "abcdefgh" * 20]], "raw", True),
    ("s_bin", [["SET", "s_bin", bytes(range(256)) * 3]], "raw", True),
    ("l_small", [["RPUSH", "l_small", "a", "1", "-5", "12345", "hello", BIG]], "quicklist", True),
    ("l_big", [["RPUSH", "l_big"] + ["element-%d" % i for i in range(3000)]], "quicklist", True),
    ("h_small", [["HSET", "h_small", "f", "v", "n", "42", "e", ""]], "listpack", True),
    ("h_big", [["HSET", "h_big", "f", BIG, "g", "1"]], "hashtable", False),
    ("h_many", [["HSET", "h_many"] + sum([["f%d" % i, "v%d" % i] for i in range(700)], [])], "hashtable", False),
    ("st_int", [["SADD", "st_int", "1", "2", "3", "70000", "-9223372036854775808"]], "intset", True),
    ("st_str", [["SADD", "st_str", "a", "b", "1"]], "hashtable", False),
    ("st_many", [["SADD", "st_many"] + [str(i) for i in range(1000)]], "hashtable", False),
    ("z_small", [["ZADD", "z_small", "1", "a", "1.5", "b", "0.1", "c", "-3", "d", "inf", "e"]], "listpack", True),
    ("z_big", [["ZADD", "z_big", "1", "a", "2", BIG, "-inf", "m", "3.25", "n"]], "skiplist", True),
    ("z_many", [["ZADD", "z_many"] + sum([[str(i / 3), "m%d" % i] for i in range(300)], [])], "skiplist", True),
    # Streams: entries with the master's fields and with their own, integer-looking fields and values, ids whose
    # seq goes below the node master's; then several nodes with tombstones, trimming and consumer groups.
    ("x_plain", [["XADD", "x_plain", "5-3", "f", "v", "n", "12"], ["XADD", "x_plain", "5-4", "f", "w", "n", "-7"],
                 ["XADD", "x_plain", "9-0", "other", BIG], ["XADD", "x_plain", "9-1", "f", "x", "n", "1"]],
     "stream", True),
    ("x_groups", [["XADD", "x_groups", "%d-%d" % (i // 3 + 1, i % 3), "k", "v%d" % i, "i", str(i)] for i in range(250)]
     + [["XDEL", "x_groups", "1-0", "10-1", "40-2", "83-2"], ["XTRIM", "x_groups", "MAXLEN", "240"],
        ["XGROUP", "CREATE", "x_groups", "g1", "0"],
        ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "x_groups", ">"],
        ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "x_groups", ">"],
        ["XACK", "x_groups", "g1", "4-2"], ["XGROUP", "CREATE", "x_groups", "g2", "$"],
        ["XGROUP", "CREATECONSUMER", "x_groups", "g2", "carol"]],
     "stream", False),
]


def contents(r, key):
    t = r.type(key)
    if t == b"string":
        return r.get(key)
    if t == b"list":
        return r.lrange(key, 0, -1)
    if t == b"hash":
        return sorted(r.hgetall(key).items())
    if t == b"set":
        return sorted(r.smembers(key))
    if t == b"zset":
        return r.zrange(key, 0, -1, withscores=True)
    if t == b"stream":
        info = r.xinfo_stream(key)
        # Node layout and the consumers' idle times may differ; everything else must not.
        for f in ("radix-tree-keys", "radix-tree-nodes"):
            info.pop(f, None)
        groups = []
        for g in r.xinfo_groups(key):
            name = g["name"]
            pending = r.xpending_range(key, name, "-", "+", 1000)
            groups.append((g, [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending],
                           [(c["name"], c["pending"]) for c in r.xinfo_consumers(key, name)]))
        return r.xrange(key), info, groups
    raise AssertionError("type %r" % t)


class DumpRestoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.rport, cls.sport = free_port(), free_port()
        cls.redis_proc = start_redis(cls.rport, cls.dir.name)
        # Some redis-server builds default hash-max-listpack-entries to 512; Redis 7.0 and Strata use 128.
        redis.Redis(port=cls.rport).config_set("hash-max-listpack-entries", 128)
        cls.strata_proc = start_strata(BIN, cls.sport, cls.dir.name, "--enable-debug-command", "yes")
        cls.redis = redis.Redis(port=cls.rport)
        cls.strata = redis.Redis(port=cls.sport)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.redis_proc, cls.strata_proc):
            p.terminate()
            p.wait(10)
        cls.dir.cleanup()

    def setUp(self):
        self.redis.flushall()
        self.strata.flushall()

    def build(self, server):
        for key, cmds, enc, _ in VALUES:
            for cmd in cmds:
                server.execute_command(*cmd)
            server.pexpire(key, 500_000)
            self.assertEqual(server.object("encoding", key), enc.encode(), "%s built on %s" % (key, server))

    def move(self, src, dst):
        for key, _, enc, _ in VALUES:
            payload = src.dump(key)
            self.assertIsNotNone(payload, key)
            self.assertTrue(dst.restore(key, src.pttl(key), payload))
            self.assertEqual(contents(dst, key), contents(src, key), key)
            self.assertEqual(dst.object("encoding", key), enc.encode(), key)
            self.assertTrue(490_000 < dst.pttl(key) <= 500_000, key)

    def test_redis_to_strata(self):
        self.build(self.redis)
        self.move(self.redis, self.strata)

    def test_strata_to_redis(self):
        self.build(self.strata)
        self.move(self.strata, self.redis)

    def test_deterministic_payloads_are_identical(self):
        self.build(self.redis)
        self.build(self.strata)
        for key, _, _, same in VALUES:
            if same:
                self.assertEqual(self.strata.dump(key), self.redis.dump(key), key)

    def test_restore_replace_and_absttl_agree(self):
        for server in (self.redis, self.strata):
            server.set("k", "v")
        payload = self.redis.dump("k")
        for server in (self.redis, self.strata):
            with self.assertRaises(redis.ResponseError) as e:
                server.restore("k", 0, payload)
            self.assertEqual(str(e.exception), "BUSYKEY Target key name already exists.")
            self.assertTrue(server.restore("k", 4_000_000_000_000, payload, replace=True, absttl=True))
            self.assertEqual(server.pexpiretime("k"), 4_000_000_000_000)

    def test_strata_extension_value_is_refused_by_redis(self):
        self.strata.execute_command("CTR.INCR", "ctr", "BY", "5")
        payload = self.strata.dump("ctr")
        with self.assertRaises(redis.ResponseError) as e:
            self.redis.restore("ctr", 0, payload)
        self.assertEqual(str(e.exception), "Bad data format")
        self.assertTrue(self.strata.restore("ctr2", 0, payload))
        self.assertEqual(self.strata.object("encoding", "ctr2"), b"window")
        self.assertEqual(self.strata.execute_command("DEBUG", "DIGEST-VALUE", "ctr2"),
                         self.strata.execute_command("DEBUG", "DIGEST-VALUE", "ctr"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
