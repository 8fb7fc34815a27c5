"""TLS with real clients: certificates made by openssl at test time, redis-cli --tls and redis-py over TLS, client
certificate modes (yes / optional / no), protocol versions, and the plain port beside the TLS one.

Usage: python3 tests/clients/test_tls.py path/to/strata-server
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import redis

from procs import free_port

BIN = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else "target/release/strata-server")




def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_certificates(d):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Strata Test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    # Version 3 certificates (extensions given): webpki refuses version 1.
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", ["-extfile", "client.ext"])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.crt", *ext, cwd=d)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="strata-tls-")
        make_certificates(cls.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, *extra):
        port, tls_port = free_port(), free_port()
        args = [BIN, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--tls-port", str(tls_port),
                "--tls-cert-file", self.path("server.crt"), "--tls-key-file", self.path("server.key"),
                "--tls-ca-cert-file", self.path("ca.crt")] + list(extra)
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(10)))
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                redis.Redis(port=port).ping()
                return port, tls_port
            except redis.ConnectionError:
                if proc.poll() is not None:
                    raise RuntimeError("strata exited: " + proc.stderr.read().decode(errors="replace"))
                time.sleep(0.05)
        raise RuntimeError("strata did not start")

    def cli(self, tls_port, *args, cert=True):
        base = ["redis-cli", "--tls", "--cacert", self.path("ca.crt"), "-p", str(tls_port)]
        if cert:
            base += ["--cert", self.path("client.crt"), "--key", self.path("client.key")]
        r = subprocess.run(base + list(args), capture_output=True, timeout=15)
        return (r.stdout + r.stderr).decode(errors="replace").strip()

    def tls_client(self, tls_port, cert=True, **kw):
        extra = dict(ssl_certfile=self.path("client.crt"), ssl_keyfile=self.path("client.key")) if cert else {}
        return redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=self.path("ca.crt"), decode_responses=True,
                           socket_timeout=60, **extra, **kw)

    def test_redis_cli_with_a_client_certificate(self):
        port, tls_port = self.start()
        self.assertEqual(self.cli(tls_port, "SET", "k", "v"), "OK")
        self.assertEqual(self.cli(tls_port, "GET", "k"), "v")
        # The plain port serves the same data beside it.
        self.assertEqual(redis.Redis(port=port, decode_responses=True).get("k"), "v")
        # tls-auth-clients yes (the default): no certificate, no session.
        self.assertNotEqual(self.cli(tls_port, "PING", cert=False), "PONG")

    def test_optional_and_no_client_certificates(self):
        _, tls_port = self.start("--tls-auth-clients", "optional")
        self.assertEqual(self.cli(tls_port, "PING", cert=False), "PONG")
        self.assertEqual(self.cli(tls_port, "PING"), "PONG")
        _, tls_port = self.start("--tls-auth-clients", "no")
        self.assertEqual(self.cli(tls_port, "PING", cert=False), "PONG")

    def test_redis_py_over_tls_with_resp3_and_a_large_pipeline(self):
        _, tls_port = self.start()
        r = self.tls_client(tls_port, protocol=3)
        self.assertTrue(r.set("big", "x" * 100_000))
        self.assertEqual(len(r.get("big")), 100_000)
        # Written before anything is read: replies are buffered while the pipeline is read on.
        p = r.pipeline(transaction=False)
        for _ in range(3_000):
            p.get("big")
        replies = p.execute()
        self.assertEqual(len(replies), 3_000)
        self.assertTrue(all(len(v) == 100_000 for v in replies))
        self.assertEqual(r.hset("h", mapping={"a": 1, "b": 2}), 2)
        self.assertEqual(r.hgetall("h"), {"a": "1", "b": "2"})

    def test_protocol_versions(self):
        _, tls_port = self.start("--tls-protocols", "TLSv1.3")
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        ctx.load_cert_chain(self.path("client.crt"), self.path("client.key"))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with self.assertRaises(ssl.SSLError):
            with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as s:
                with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    t.sendall(b"PING\r\n")
                    t.recv(16)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                t.sendall(b"PING\r\n")
                self.assertEqual(t.recv(16), b"+PONG\r\n")

    def test_a_bad_certificate_file_refuses_to_start(self):
        port = free_port()
        r = subprocess.run([BIN, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--tls-port",
                            str(free_port()), "--tls-cert-file", self.path("missing.crt"), "--tls-key-file",
                            self.path("server.key"), "--tls-auth-clients", "no"], capture_output=True, timeout=15)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.crt", (r.stdout + r.stderr).decode(errors="replace"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
