"""redis-py as a second real client: plain commands, pipelines, transactions, RESP3, scanning.

Usage: python3 tests/clients/test_redis_py.py path/to/strata-server
"""
import os
import socket
import subprocess
import sys
import time
import unittest

import redis

BIN = sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class StrataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.proc = subprocess.Popen(
            [BIN, "--port", str(cls.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                redis.Redis(port=cls.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("strata did not start")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)

    def setUp(self):
        self.r = redis.Redis(port=self.port, decode_responses=True)
        self.r.flushall()

    def test_strings_and_errors(self):
        r = self.r
        self.assertTrue(r.set("k", "v", ex=100))
        self.assertEqual(r.get("k"), "v")
        self.assertEqual(r.ttl("k"), 100)
        self.assertIsNone(r.set("k", "w", nx=True))
        self.assertEqual(r.incrbyfloat("f", 10.5), 10.5)
        self.assertEqual(r.mget("k", "missing"), ["v", None])
        with self.assertRaises(redis.ResponseError) as e:
            r.incr("k")
        self.assertEqual(str(e.exception), "value is not an integer or out of range")

    def test_pipeline(self):
        p = self.r.pipeline(transaction=False)
        for i in range(500):
            p.set(f"p:{i}", i)
        for i in range(500):
            p.get(f"p:{i}")
        out = p.execute()
        self.assertEqual(out[:500], [True] * 500)
        self.assertEqual(out[500:], [str(i) for i in range(500)])

    def test_transaction_with_watch(self):
        r = self.r
        r.set("balance", 10)
        with r.pipeline() as p:
            p.watch("balance")
            current = int(p.get("balance"))
            p.multi()
            p.set("balance", current + 5)
            self.assertEqual(p.execute(), [True])
        self.assertEqual(r.get("balance"), "15")
        # A concurrent change makes EXEC fail.
        with r.pipeline() as p:
            p.watch("balance")
            redis.Redis(port=self.port).set("balance", 0)
            p.multi()
            p.set("balance", 99)
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(r.get("balance"), "0")

    def test_scan_iter(self):
        r = self.r
        for i in range(2000):
            r.set(f"s:{i}", i)
        r.set("other", 1)
        keys = set(r.scan_iter(match="s:*", count=100))
        self.assertEqual(keys, {f"s:{i}" for i in range(2000)})

    def test_resp3(self):
        r3 = redis.Redis(port=self.port, protocol=3, decode_responses=True)
        r3.set("x", "1")
        self.assertEqual(r3.get("x"), "1")
        self.assertIsNone(r3.get("nope"))
        cfg = r3.config_get("maxmemory")
        self.assertEqual(cfg, {"maxmemory": "0"})
        self.assertEqual(r3.execute_command("HELLO", "3")["proto"], 3)

    def test_info_and_client(self):
        r = self.r
        info = r.info()
        self.assertIn("redis_version", info)
        self.assertIn("used_memory", info)
        r.client_setname("py")
        self.assertEqual(r.client_getname(), "py")
        names = [c["name"] for c in r.client_list()]
        self.assertIn("py", names)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"redis-py: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
