"""Hardening checks that need a real server process: SIGTERM during a long command, protected mode seen from
another host (two network namespaces joined by a veth pair), and a redis-py pipeline of 1,000,000 GETs next to
redis-server.

Usage: python3 tests/clients/test_hardening.py path/to/strata-server
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import redis

from procs import free_port

BIN = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server")
DENIED = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set"




def wait_ready(port, host="127.0.0.1", prefix=()):
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            out = subprocess.run(list(prefix) + ["redis-cli", "-h", host, "-p", str(port), "PING"],
                                 capture_output=True, timeout=5).stdout
            if out.strip() in (b"PONG",) or out.startswith(b"NOAUTH"):
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def start(args, prefix=()):
    port = free_port()
    proc = subprocess.Popen(list(prefix) + [BIN, "--port", str(port), "--save", ""] + args,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


class SignalsTest(unittest.TestCase):
    def sigterm_during_debug_sleep(self, threads):
        proc, port = start(["--bind", "127.0.0.1", "--enable-debug-command", "local", "--worker-threads", threads])
        try:
            wait_ready(port)
            sleeper = subprocess.Popen(["redis-cli", "-p", str(port), "DEBUG", "SLEEP", "60"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            started = time.time()
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            self.assertLess(time.time() - started, 10, "SIGTERM ended the server during DEBUG SLEEP")
            sleeper.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_sigterm_during_debug_sleep_one_worker(self):
        self.sigterm_during_debug_sleep("1")

    def test_sigterm_during_debug_sleep_two_workers(self):
        self.sigterm_during_debug_sleep("2")


def can_make_namespaces():
    return os.geteuid() == 0 and shutil.which("ip") is not None


@unittest.skipUnless(can_make_namespaces(), "needs root and iproute2 for network namespaces")
class ProtectedModeTest(unittest.TestCase):
    """The server runs in one namespace, bound to every interface; the client connects from a second one, so its
    address is not loopback. Addresses are from 198.18.0.0/15 on the veth pair the test creates."""

    @classmethod
    def setUpClass(cls):
        tag = str(os.getpid() % 100000)
        cls.ns_server, cls.ns_client = f"strata-s{tag}", f"strata-c{tag}"
        a, b = f"stv{tag}a", f"stv{tag}b"
        cmds = [
            ["ip", "netns", "add", cls.ns_server],
            ["ip", "netns", "add", cls.ns_client],
            ["ip", "link", "add", a, "type", "veth", "peer", "name", b],
            ["ip", "link", "set", a, "netns", cls.ns_server],
            ["ip", "link", "set", b, "netns", cls.ns_client],
            ["ip", "-n", cls.ns_server, "addr", "add", "198.18.0.1/30", "dev", a],
            ["ip", "-n", cls.ns_client, "addr", "add", "198.18.0.2/30", "dev", b],
            ["ip", "-n", cls.ns_server, "link", "set", a, "up"],
            ["ip", "-n", cls.ns_client, "link", "set", b, "up"],
            ["ip", "-n", cls.ns_server, "link", "set", "lo", "up"],
            ["ip", "-n", cls.ns_client, "link", "set", "lo", "up"],
        ]
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        for ns in (cls.ns_server, cls.ns_client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def in_ns(self, ns):
        return ["ip", "netns", "exec", ns]

    def remote(self, port, *args):
        """A command from the client namespace: what the server answered, raw."""
        line = repr(" ".join(args).encode() + b"\r\n")
        code = (
            "import socket,sys\n"
            f"s=socket.create_connection(('198.18.0.1',{port}),timeout=5)\n"
            f"s.sendall({line})\n"
            "data=b''\n"
            "try:\n"
            "  while not data.endswith(b'\\r\\n'):\n"
            "    chunk=s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data+=chunk\n"
            "except Exception: pass\n"
            "sys.stdout.buffer.write(data)\n"
        )
        return subprocess.run(self.in_ns(self.ns_client) + [sys.executable, "-c", code],
                              capture_output=True, timeout=15).stdout

    def local(self, port, *args):
        return subprocess.run(self.in_ns(self.ns_server) + ["redis-cli", "-p", str(port)] + list(args),
                              capture_output=True, timeout=15).stdout.strip()

    def test_protected_mode_refuses_other_hosts_until_a_password_is_set(self):
        proc, port = start(["--bind", "0.0.0.0"], prefix=self.in_ns(self.ns_server))
        try:
            wait_ready(port, prefix=self.in_ns(self.ns_server))
            self.assertTrue(self.remote(port, "PING").startswith(DENIED), "another host is refused")
            self.assertEqual(self.local(port, "PING"), b"PONG", "loopback is served")
            self.assertEqual(self.local(port, "CONFIG", "SET", "requirepass", "s3cret"), b"OK")
            self.assertEqual(self.remote(port, "PING"), b"-NOAUTH Authentication required.\r\n")
            self.assertEqual(self.remote(port, "AUTH", "s3cret"), b"+OK\r\n")
            self.assertEqual(self.local(port, "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", ""),
                             b"OK")
            self.assertTrue(self.remote(port, "PING").startswith(DENIED))
            self.assertEqual(self.local(port, "CONFIG", "SET", "protected-mode", "no"), b"OK")
            self.assertEqual(self.remote(port, "PING"), b"+PONG\r\n")
        finally:
            proc.terminate()
            proc.wait(10)


class PipelineTest(unittest.TestCase):
    def run_pipeline(self, port, n):
        r = redis.Redis(port=port, socket_timeout=120)
        r.set("k", "x" * 100)
        p = r.pipeline(transaction=False)
        for _ in range(n):
            p.get("k")
        started = time.time()
        replies = p.execute()
        elapsed = time.time() - started
        self.assertEqual(len(replies), n)
        self.assertTrue(all(v == b"x" * 100 for v in replies))
        return elapsed

    def test_redis_py_pipeline_of_a_million_gets(self):
        n = 1_000_000
        proc, port = start(["--bind", "127.0.0.1"])
        rproc = None
        try:
            wait_ready(port)
            strata = self.run_pipeline(port, n)
            rport = free_port()
            rproc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_ready(rport)
            reference = self.run_pipeline(rport, n)
            print(f"\nredis-py pipeline of {n} GETs: strata {strata:.2f}s, redis-server {reference:.2f}s",
                  file=sys.stderr)
        finally:
            for p in (proc, rproc):
                if p is not None:
                    p.terminate()
                    p.wait(10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
