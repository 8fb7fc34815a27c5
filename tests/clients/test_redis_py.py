"""redis-py as a second real client: plain commands, pipelines, transactions, RESP3, scanning, pub/sub,
keyspace notifications, pipelines over every data type, streams, WATCH on a hash, and client tracking.

Usage: python3 tests/clients/test_redis_py.py path/to/strata-server
"""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

import redis

from procs import free_port

BIN = sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server"




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
        # redis-py 8 speaks RESP3 by default; RESP2 behaviour (subscribed mode, invalidation messages on
        # __redis__:invalidate) needs an explicit protocol=2 client.
        self.r2 = redis.Redis(port=self.port, protocol=2, decode_responses=True)
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

    def test_streams(self):
        for r in (self.r, self.r2):
            r.delete("st")
            self.assertEqual(r.xadd("st", {"f": "v"}, id="1-1"), "1-1")
            self.assertEqual(r.xadd("st", {"g": "w"}, id="1-*"), "1-2")
            self.assertEqual(r.xlen("st"), 2)
            self.assertEqual(r.xrange("st", "-", "+"), [("1-1", {"f": "v"}), ("1-2", {"g": "w"})])
            got = r.xread({"st": "1-1"})
            entries = got["st"][0] if isinstance(got, dict) else got[0][1]
            self.assertEqual(entries, [("1-2", {"g": "w"})])
            self.assertTrue(r.xgroup_create("st", "grp", id="0"))
            read = r.xreadgroup("grp", "alice", {"st": ">"}, count=1)
            entries = read["st"][0] if isinstance(read, dict) else read[0][1]
            self.assertEqual(entries, [("1-1", {"f": "v"})])
            self.assertEqual(r.xack("st", "grp", "1-1"), 1)
            self.assertEqual(r.xpending("st", "grp")["pending"], 0)

    def test_info_and_client(self):
        r = self.r
        info = r.info()
        self.assertIn("redis_version", info)
        self.assertIn("used_memory", info)
        r.client_setname("py")
        self.assertEqual(r.client_getname(), "py")
        names = [c["name"] for c in r.client_list()]
        self.assertIn("py", names)

    # ---- pub/sub -------------------------------------------------------------------------------------------

    def _next_message(self, p, timeout=5.0):
        """The next non-confirmation message of `p`, waiting up to `timeout` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = p.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if m is not None:
                return m
        self.fail("no pub/sub message arrived")

    def _confirmations(self, p, n):
        out = []
        deadline = time.time() + 5
        while len(out) < n and time.time() < deadline:
            m = p.get_message(timeout=0.1)
            if m is not None:
                out.append(m)
        self.assertEqual(len(out), n, out)
        return out

    def _wait_numsub(self, channel, n):
        deadline = time.time() + 5
        while time.time() < deadline:
            if self.r2.pubsub_numsub(channel) == [(channel, n)]:
                return
            time.sleep(0.01)
        self.fail(f"{channel} never had {n} subscribers: {self.r2.pubsub_numsub(channel)}")

    def _pubsub_roundtrip(self, client):
        r = self.r2  # introspection over RESP2 here; NUMSUB over RESP3 has its own test
        p = client.pubsub()
        p.subscribe("news")
        p.psubscribe("n*")
        conf = self._confirmations(p, 2)
        self.assertEqual(conf[0], {"type": "subscribe", "pattern": None, "channel": "news", "data": 1})
        self.assertEqual(conf[1], {"type": "psubscribe", "pattern": None, "channel": "n*", "data": 2})
        self.assertEqual(r.pubsub_numsub("news", "none"), [("news", 1), ("none", 0)])
        self.assertEqual(r.pubsub_numpat(), 1)
        self.assertEqual(r.pubsub_channels(), ["news"])
        self.assertEqual(r.pubsub_channels("x*"), [])

        self.assertEqual(r.publish("news", "hello"), 2)
        m1 = self._next_message(p)
        m2 = self._next_message(p)
        self.assertEqual(m1, {"type": "message", "pattern": None, "channel": "news", "data": "hello"})
        self.assertEqual(m2, {"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello"})
        self.assertEqual(r.publish("nope", "p-only"), 1)
        self.assertEqual(
            self._next_message(p), {"type": "pmessage", "pattern": "n*", "channel": "nope", "data": "p-only"}
        )
        self.assertEqual(r.publish("other", "nobody"), 0)
        for i in range(50):
            self.assertEqual(r.publish("news", f"m{i}"), 2)
        got = [self._next_message(p) for _ in range(100)]
        self.assertEqual([m["data"] for m in got if m["type"] == "message"], [f"m{i}" for i in range(50)])
        self.assertEqual([m["data"] for m in got if m["type"] == "pmessage"], [f"m{i}" for i in range(50)])

        p.unsubscribe("news")
        p.punsubscribe("n*")
        conf = self._confirmations(p, 2)
        self.assertEqual(conf[0], {"type": "unsubscribe", "pattern": None, "channel": "news", "data": 1})
        self.assertEqual(conf[1], {"type": "punsubscribe", "pattern": None, "channel": "n*", "data": 0})
        self.assertEqual(r.publish("news", "gone"), 0)
        self.assertEqual(r.pubsub_numpat(), 0)
        p.close()

    def test_pubsub_get_message(self):
        self._pubsub_roundtrip(self.r2)

    def test_pubsub_resp3(self):
        self._pubsub_roundtrip(redis.Redis(port=self.port, protocol=3, decode_responses=True))

    def test_pubsub_numsub_resp3(self):
        """PUBSUB NUMSUB is a flat array in RESP3 too; redis-py's parser slices it in pairs."""
        p = self.r2.pubsub()
        p.subscribe("ns")
        self._confirmations(p, 1)
        r3 = redis.Redis(port=self.port, protocol=3, decode_responses=True)
        self.assertEqual(r3.pubsub_numsub("ns", "none"), [("ns", 1), ("none", 0)])
        self.assertEqual(r3.pubsub_numsub(), [])
        p.close()

    def test_pubsub_run_in_thread(self):
        r = self.r
        received = []
        done = threading.Event()

        def handler(msg):
            received.append((msg["channel"], msg["data"]))
            if len(received) == 6:
                done.set()

        p = r.pubsub(ignore_subscribe_messages=True)
        p.subscribe(**{"events": handler})
        p.psubscribe(**{"ev.*": handler})
        worker = p.run_in_thread(sleep_time=0.01, daemon=True)
        try:
            self._wait_numsub("events", 1)
            for i in range(3):
                self.assertEqual(r.publish("events", f"e{i}"), 1)
                self.assertEqual(r.publish("ev.x", f"x{i}"), 1)
            self.assertTrue(done.wait(5), received)
        finally:
            worker.stop()
            worker.join(5)
            p.close()
        self.assertEqual([d for c, d in received if c == "events"], ["e0", "e1", "e2"])
        self.assertEqual([d for c, d in received if c == "ev.x"], ["x0", "x1", "x2"])

    def test_pubsub_subscribed_mode_errors(self):
        p = self.r2.pubsub()
        p.subscribe("c")
        self._confirmations(p, 1)
        # A RESP2 subscriber may only (un)subscribe, ping, quit or reset.
        p.execute_command("GET", "k")
        m = None
        deadline = time.time() + 5
        while m is None and time.time() < deadline:
            try:
                m = p.get_message(timeout=0.1)
            except redis.ResponseError as e:
                m = e
        self.assertIsInstance(m, redis.ResponseError)
        self.assertEqual(
            str(m),
            "Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
            "this context",
        )
        # PING answers as a pub/sub message.
        p.ping()
        self.assertEqual(self._confirmations(p, 1)[0], {"type": "pong", "pattern": None, "channel": None, "data": ""})
        p.close()

    def test_keyspace_notifications(self):
        r = self.r
        r.config_set("notify-keyspace-events", "KEA")
        try:
            self.assertEqual(r.config_get("notify-keyspace-events"), {"notify-keyspace-events": "AKE"})
            p = r.pubsub()
            p.psubscribe("__keyspace@0__:*")
            p.subscribe("__keyevent@0__:hset")
            self._confirmations(p, 2)
            r.set("ks", "v")
            self.assertEqual(self._next_message(p)["channel"], "__keyspace@0__:ks")
            r.hset("kh", "f", "v")
            got = {(m["channel"], m["data"]) for m in (self._next_message(p), self._next_message(p))}
            self.assertEqual(got, {("__keyspace@0__:kh", "hset"), ("__keyevent@0__:hset", "kh")})
            r.delete("ks")
            self.assertEqual(self._next_message(p)["data"], "del")
            r.set("kx", "v")
            r.pexpire("kx", 50)
            # set, expire, then the expire cycle's expired
            events = [self._next_message(p)["data"] for _ in range(3)]
            self.assertEqual(events, ["set", "expire", "expired"])
            p.close()
            with self.assertRaises(redis.ResponseError) as e:
                r.config_set("notify-keyspace-events", "KQ")
            self.assertIn("Invalid event class character", str(e.exception))
        finally:
            r.config_set("notify-keyspace-events", "")

    # ---- pipelines over the data types, WATCH on a hash -------------------------------------------------------

    def test_pipeline_data_types(self):
        for transaction in (False, True):
            self.r.flushall()
            p = self.r.pipeline(transaction=transaction)
            p.rpush("l", "a", "b", "c")
            p.lpush("l", "z")
            p.lrange("l", 0, -1)
            p.lpop("l")
            p.llen("l")
            p.hset("h", mapping={"f1": "v1", "f2": "v2"})
            p.hget("h", "f1")
            p.hgetall("h")
            p.hincrby("h", "n", 5)
            p.hdel("h", "f2")
            p.hlen("h")
            p.sadd("s", "a", "b", "c")
            p.sismember("s", "a")
            p.srem("s", "b")
            p.smembers("s")
            p.scard("s")
            p.zadd("z", {"a": 1, "b": 2, "c": 3})
            p.zincrby("z", 10, "a")
            p.zrange("z", 0, -1, withscores=True)
            p.zscore("z", "b")
            p.zrank("z", "a")
            p.zrevrange("z", 0, 0)
            p.type("l")
            p.type("h")
            p.type("s")
            p.type("z")
            out = p.execute()
            self.assertEqual(
                out,
                [
                    3, 4, ["z", "a", "b", "c"], "z", 3,
                    2, "v1", {"f1": "v1", "f2": "v2"}, 5, 1, 2,
                    3, True, 1, {"a", "c"}, 2,
                    3, 11.0, [("b", 2.0), ("c", 3.0), ("a", 11.0)], 2.0, 2, ["a"],
                    "list", "hash", "set", "zset",
                ],
                f"transaction={transaction}",
            )
        # An error inside a pipeline is reported in its place; the rest still runs.
        p = self.r.pipeline(transaction=False)
        p.lpush("h", "x")
        p.hget("h", "f1")
        out = p.execute(raise_on_error=False)
        self.assertIsInstance(out[0], redis.ResponseError)
        self.assertIn("WRONGTYPE", str(out[0]))
        self.assertEqual(out[1], "v1")

    def test_watch_transaction_on_hash(self):
        r = self.r
        other = redis.Redis(port=self.port, decode_responses=True)
        r.hset("acct", mapping={"balance": 100, "version": 1})

        def withdraw(pipe):
            bal = int(pipe.hget("acct", "balance"))
            pipe.multi()
            pipe.hset("acct", "balance", bal - 30)
            pipe.hincrby("acct", "version", 1)

        self.assertEqual(r.transaction(withdraw, "acct"), [0, 2])
        self.assertEqual(r.hgetall("acct"), {"balance": "70", "version": "2"})

        # A concurrent change to the hash aborts EXEC.
        with r.pipeline() as p:
            p.watch("acct")
            p.hget("acct", "balance")
            other.hincrby("acct", "balance", 1)
            p.multi()
            p.hset("acct", "balance", 0)
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(r.hget("acct", "balance"), "71")

        # r.transaction retries until no one interferes.
        attempts = []

        def double(pipe):
            attempts.append(1)
            bal = int(pipe.hget("acct", "balance"))
            if len(attempts) == 1:
                other.hset("acct", "balance", bal + 1000)
            pipe.multi()
            pipe.hset("acct", "balance", bal * 2)

        r.transaction(double, "acct")
        self.assertEqual(len(attempts), 2)
        self.assertEqual(r.hget("acct", "balance"), str((71 + 1000) * 2))

        # An HDEL that deletes nothing does not touch the key: EXEC succeeds.
        with r.pipeline() as p:
            p.watch("acct")
            other.hdel("acct", "no-such-field")
            p.multi()
            p.hincrby("acct", "version", 1)
            self.assertEqual(p.execute(), [3])
        # Deleting the key does abort.
        with r.pipeline() as p:
            p.watch("acct")
            other.delete("acct")
            p.multi()
            p.hset("acct", "balance", 1)
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(r.exists("acct"), 0)

    # ---- client tracking ----------------------------------------------------------------------------------------

    def test_tracking_builtin_client_side_cache(self):
        """redis-py's own client-side cache (protocol=3 + cache_config); it requires a server reporting 7.4+."""
        try:
            from redis.cache import CacheConfig
        except ImportError:
            print(f"\nnote: redis-py {redis.__version__} has no client-side caching; built-in CSC test skipped")
            return
        try:
            rc = redis.Redis(port=self.port, protocol=3, cache_config=CacheConfig(), decode_responses=True)
            rc.ping()
        except redis.ConnectionError as e:
            version = self.r.info("server")["redis_version"]
            print(
                f"\nnote: redis-py {redis.__version__} refuses its built-in client-side cache against a server "
                f"reporting {version} ({e}); tracking is tested through raw commands instead"
            )
            return
        self.r.set("cached", "1")
        self.assertEqual(rc.get("cached"), "1")
        self.assertEqual(rc.get("cached"), "1")
        self.r.set("cached", "2")
        deadline = time.time() + 5
        while rc.get("cached") != "2" and time.time() < deadline:
            time.sleep(0.01)
        self.assertEqual(rc.get("cached"), "2")
        rc.close()

    def test_tracking_resp3_push(self):
        conn = redis.Connection(port=self.port, protocol=3)
        conn.connect()
        pushes = []
        conn._parser.set_invalidation_push_handler(pushes.append)

        def cmd(*args):
            conn.send_command(*args)
            return conn.read_response()

        def wait_pushes(n):
            deadline = time.time() + 5
            while len(pushes) < n and time.time() < deadline:
                if conn.can_read(timeout=0.1):
                    conn.read_response(push_request=True)
            self.assertEqual(len(pushes), n, pushes)

        try:
            self.assertEqual(cmd("CLIENT", "TRACKING", "ON"), b"OK")
            self.assertEqual(cmd("CLIENT", "GETREDIR"), 0)
            self.assertIsNone(cmd("GET", "tk"))
            self.r.set("tk", "1")
            wait_pushes(1)
            self.assertEqual(pushes[0], [b"invalidate", [b"tk"]])
            self.assertEqual(cmd("GET", "tk"), b"1")
            self.r.flushdb()
            wait_pushes(2)
            self.assertEqual(pushes[1], [b"invalidate", None])
            info = cmd("CLIENT", "TRACKINGINFO")
            self.assertEqual({k.decode() if isinstance(k, bytes) else k for k in info}, {"flags", "redirect", "prefixes"})
            self.assertEqual(info[b"redirect"], 0)
            self.assertEqual(cmd("CLIENT", "TRACKING", "OFF"), b"OK")
            self.assertEqual(cmd("CLIENT", "GETREDIR"), -1)
        finally:
            conn.disconnect()

    def test_tracking_redirect_to_pubsub(self):
        r = self.r
        sub = self.r2.pubsub()
        sub.subscribe("__redis__:invalidate")
        self._confirmations(sub, 1)
        subs = [c for c in r.client_list() if c.get("sub") == "1"]
        self.assertEqual(len(subs), 1, subs)
        sub_id = int(subs[0]["id"])

        tracker = redis.Redis(port=self.port, protocol=2, decode_responses=True, single_connection_client=True)
        self.assertTrue(tracker.client_tracking_on(clientid=sub_id))
        self.assertEqual(tracker.client_getredir(), sub_id)
        self.assertIsNone(tracker.get("rk"))
        r.set("rk", "v")
        m = self._next_message(sub)
        self.assertEqual((m["type"], m["channel"], m["data"]), ("message", "__redis__:invalidate", ["rk"]))
        # The tracking connection itself stays clean.
        self.assertEqual(tracker.get("rk"), "v")
        self.assertTrue(tracker.ping())
        # BCAST with a prefix, still redirected.
        self.assertTrue(tracker.client_tracking_off())
        self.assertTrue(tracker.client_tracking_on(clientid=sub_id, bcast=True, prefix=["pfx:"]))
        r.set("unrelated", "1")
        r.set("pfx:1", "1")
        m = self._next_message(sub)
        self.assertEqual(m["data"], ["pfx:1"])
        # Errors come back as exceptions with Redis's text.
        with self.assertRaises(redis.ResponseError) as e:
            tracker.client_tracking_on(clientid=999999)
        self.assertEqual(str(e.exception), "The client ID you want redirect to does not exist")
        with self.assertRaises(redis.ResponseError) as e:
            tracker.execute_command("CLIENT", "TRACKING", "ON", "PREFIX", "x")  # redis-py itself rejects this
        self.assertEqual(str(e.exception), "PREFIX option requires BCAST mode to be enabled")
        self.assertTrue(tracker.client_tracking_off())
        self.assertEqual(tracker.client_getredir(), -1)
        self.assertEqual(r.info("clients")["tracking_clients"], 0)
        tracker.close()
        sub.close()


    def test_lock_acquire_extend_release_and_contention(self):
        # redis-py's Lock runs its own Lua scripts (release, extend, reacquire) through EVALSHA.
        a = redis.Redis(port=self.port)
        b = redis.Redis(port=self.port)
        la = a.lock("res", timeout=5, blocking=False)
        lb = b.lock("res", timeout=5, blocking=False)
        self.assertTrue(la.acquire())
        self.assertFalse(lb.acquire())
        self.assertTrue(la.extend(10))
        self.assertGreater(a.pttl("res"), 5000)
        self.assertTrue(la.reacquire())
        la.release()
        self.assertFalse(a.exists("res"))
        self.assertTrue(lb.acquire())
        lb.release()
        # A lock that expired and was taken by another client cannot be released or extended by the first.
        lc = a.lock("res3", timeout=0.1)
        self.assertTrue(lc.acquire())
        time.sleep(0.25)
        ld = b.lock("res3", timeout=5)
        self.assertTrue(ld.acquire())
        with self.assertRaises(redis.exceptions.LockNotOwnedError):
            lc.extend(1)
        with self.assertRaises(redis.exceptions.LockNotOwnedError):
            lc.release()
        ld.release()
        # Blocking contention: the second client gets the lock once the first lets go.
        held = a.lock("res2", timeout=5, thread_local=False)
        self.assertTrue(held.acquire())
        waiter = b.lock("res2", timeout=5, blocking_timeout=3, sleep=0.01)
        t = threading.Timer(0.2, held.release)
        t.start()
        self.assertTrue(waiter.acquire())
        waiter.release()
        t.join()

    def test_token_bucket_rate_limiter(self):
        # A token bucket: capacity and refill rate per second; the script refills by elapsed time and takes one.
        bucket = self.r.register_script("""
            local capacity = tonumber(ARGV[1])
            local rate = tonumber(ARGV[2])
            local now = tonumber(ARGV[3])
            local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
            local tokens = tonumber(state[1]) or capacity
            local ts = tonumber(state[2]) or now
            tokens = math.min(capacity, tokens + (now - ts) * rate)
            local allowed = 0
            if tokens >= 1 then tokens = tokens - 1 allowed = 1 end
            redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
            redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000))
            return {allowed, tostring(tokens)}
        """)
        got = [bucket(keys=["rl:user1"], args=[5, 1, 1000])[0] for _ in range(7)]
        self.assertEqual(got, [1, 1, 1, 1, 1, 0, 0])
        # Two seconds later two tokens are back.
        self.assertEqual(bucket(keys=["rl:user1"], args=[5, 1, 1002]), [1, "1"])
        self.assertGreater(self.r.pttl("rl:user1"), 0)

    def test_job_queue_scripts(self):
        # A BullMQ-style queue: "add" stores the job hash and pushes its id; "move to active" pops an id onto the
        # active list and stamps the job, touching keys built from the prefix as such scripts do.
        add = self.r.register_script("""
            local id = redis.call('INCR', KEYS[1] .. ':id')
            local key = KEYS[1] .. ':' .. id
            redis.call('HSET', key, 'name', ARGV[1], 'data', ARGV[2], 'ts', ARGV[3])
            redis.call('LPUSH', KEYS[1] .. ':wait', id)
            return id
        """)
        take = self.r.register_script("""
            local id = redis.call('RPOPLPUSH', KEYS[1] .. ':wait', KEYS[1] .. ':active')
            if not id then return false end
            local key = KEYS[1] .. ':' .. id
            redis.call('HSET', key, 'processedOn', ARGV[1])
            return {id, redis.call('HGET', key, 'data')}
        """)
        ids = [add(keys=["bull:q"], args=["email", "payload%d" % i, 1, "-"]) for i in range(3)]
        self.assertEqual(ids, [1, 2, 3])
        self.assertEqual(take(keys=["bull:q"], args=[5]), ["1", "payload0"])
        self.assertEqual(take(keys=["bull:q"], args=[6]), ["2", "payload1"])
        self.assertEqual(self.r.lrange("bull:q:active", 0, -1), ["2", "1"])
        self.assertEqual(self.r.hget("bull:q:1", "processedOn"), "5")
        self.assertEqual(take(keys=["bull:q"], args=[7]), ["3", "payload2"])
        self.assertIsNone(take(keys=["bull:q"], args=[8]))
        # redis-py's register_script falls back from EVALSHA to EVAL after SCRIPT FLUSH.
        self.r.script_flush()
        self.assertEqual(add(keys=["bull:q"], args=["x", "y", 1, "-"]), 4)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"redis-py: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
