#!/usr/bin/env python3
"""Differential test harness: run the same command scripts against a real
redis-server and against Strata, and compare every reply byte for byte.

See README.md in this directory for the case-file format. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CASES_DIR = HERE / "cases"
HOST = "127.0.0.1"

# Sent on a separate connection before every case file, replies ignored, so that
# one file's CONFIG SET cannot leak into the next one.
RESET_COMMANDS = [
    ["FLUSHALL"],
    ["CONFIG", "SET", "maxmemory", "0"],
    ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
]

# How many characters of a reply's repr to print for a mismatch (unless -v).
REPR_LIMIT = 600


# --------------------------------------------------------------------------
# RESP
# --------------------------------------------------------------------------

class ConnectionClosed(Exception):
    """The peer closed the connection (EOF or reset)."""


class BadReply(Exception):
    """The peer sent something that is not valid RESP."""


@dataclass
class Reply:
    """One reply. `kind` is its first byte as a str (e.g. '+', '*', '%'), or a
    pseudo kind in angle brackets for '<closed>', '<timeout>', '<bad reply>',
    '<unreachable>' and synthesized '<scan>' results. `raw` is the exact bytes."""

    kind: str
    raw: bytes
    items: list[Reply] | None = None  # children of aggregate types
    is_null: bool = False

    @property
    def is_pseudo(self) -> bool:
        return self.kind.startswith("<")

    @property
    def is_error(self) -> bool:
        return self.kind in ("-", "!")

    def bulk_value(self) -> bytes:
        """Payload of a simple/bulk string reply (without header and CRLFs)."""
        if self.kind in "$=!":
            return self.raw[self.raw.index(b"\r\n") + 2:-2]
        return self.raw[1:-2]


def pseudo(name: str) -> Reply:
    return Reply(f"<{name}>", f"<{name}>".encode())


AGGREGATE_KINDS = "*~>"     # N elements
PAIR_KINDS = "%|"           # N key/value pairs
BLOB_KINDS = "$!="          # length-prefixed payload
LINE_KINDS = "+-:_,#("      # single line


class RespReader:
    """Reads complete RESP2/RESP3 replies from a socket, keeping the raw bytes."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def read_reply(self) -> Reply:
        self.pos = 0
        reply = self._parse()
        del self.buf[:self.pos]
        return reply

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionClosed()
        self.buf += data

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _take(self, n: int) -> bytes:
        while len(self.buf) < self.pos + n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _parse(self) -> Reply:
        start = self.pos
        line = self._line()
        if not line:
            raise BadReply("empty line where a reply was expected")
        kind, body = chr(line[0]), line[1:]

        if kind in LINE_KINDS:
            return Reply(kind, self._raw_from(start), is_null=(kind == "_"))

        try:
            count = int(body)
        except ValueError:
            raise BadReply(f"bad length in {line!r}") from None

        if kind in BLOB_KINDS:
            if count >= 0 and self._take(count + 2)[-2:] != b"\r\n":
                raise BadReply(f"bulk payload of {line!r} not terminated by CRLF")
            return Reply(kind, self._raw_from(start), is_null=count < 0)

        if kind in AGGREGATE_KINDS or kind in PAIR_KINDS:
            n = max(count, 0) * (2 if kind in PAIR_KINDS else 1)
            items = [self._parse() for _ in range(n)]
            if kind == "|":
                # An attribute precedes the reply it annotates: return that
                # reply, with the attribute bytes included in its raw form.
                inner = self._parse()
                return Reply(inner.kind, self._raw_from(start), inner.items, inner.is_null)
            return Reply(kind, self._raw_from(start), items, is_null=count < 0)

        raise BadReply(f"unknown reply type byte in {line[:60]!r}")

    def _raw_from(self, start: int) -> bytes:
        return bytes(self.buf[start:self.pos])


def encode_command(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


# --------------------------------------------------------------------------
# Case files
# --------------------------------------------------------------------------

_ESCAPES = {
    "n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "a": b"\a", "b": b"\b",
    "\\": b"\\", "'": b"'", '"': b'"',
}
_HEX = "0123456789abcdefABCDEF"


def unescape(text: str) -> bytes:
    r"""Decode Python-style escapes: \xHH \n \r \t \0 \a \b \\ \' \".
    A backslash before any other character is kept literally."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            hex_digits = text[i + 2:i + 4]
            if nxt == "x" and len(hex_digits) == 2 and all(c in _HEX for c in hex_digits):
                out.append(int(hex_digits, 16))
                i += 4
                continue
            if nxt in _ESCAPES:
                out += _ESCAPES[nxt]
                i += 2
                continue
        out += ch.encode()
        i += 1
    return bytes(out)


def split_args(text: str) -> list[bytes]:
    """shlex (posix) splitting with backslash handling and comments turned off,
    then Python-style escapes decoded in each argument."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    return [unescape(token) for token in lexer]


# Directives that send one command and compare its reply in a given mode.
COMMAND_DIRECTIVES = {
    "!unordered": "unordered",
    "!unordered-pairs": "unordered-pairs",
    "!shape": "shape",
    "!type": "type",
}


@dataclass
class Step:
    lineno: int
    text: str
    action: str                 # cmd raw send noreply scan sync sleep reconnect
    mode: str = "exact"         # exact, unordered, unordered-pairs, shape, type
    args: list[bytes] = field(default_factory=list)
    payload: bytes = b""
    seconds: float = 0.0

    @property
    def is_case(self) -> bool:
        """Whether this step produces a reply that is compared."""
        return self.action in ("cmd", "raw", "scan", "sync")


class CaseFileError(Exception):
    pass


def parse_line(lineno: int, line: str) -> Step:
    if not line.startswith("!"):
        return Step(lineno, line, "cmd", args=split_args(line))

    name, _, payload = line.partition(" ")  # payload unstripped, for !raw/!send
    rest = payload.strip()
    if name in COMMAND_DIRECTIVES:
        return Step(lineno, line, "cmd", COMMAND_DIRECTIVES[name], args=split_args(rest))
    if name == "!noreply":
        return Step(lineno, line, "noreply", args=split_args(rest))
    if name == "!scan":
        return Step(lineno, line, "scan", args=split_args(rest))
    if name == "!resp3":
        return Step(lineno, line, "cmd", "shape", args=[b"HELLO", b"3"])
    if name == "!resp2":
        return Step(lineno, line, "cmd", "shape", args=[b"HELLO", b"2"])
    if name == "!raw":
        return Step(lineno, line, "raw", payload=unescape(payload))
    if name == "!send":
        return Step(lineno, line, "send", payload=unescape(payload))
    if name == "!sleep":
        return Step(lineno, line, "sleep", seconds=float(rest))
    if name == "!reconnect":
        return Step(lineno, line, "reconnect")
    if name == "!sync":
        return Step(lineno, line, "sync")
    raise ValueError(f"unknown directive {name}")


def load_case_file(path: Path) -> list[Step]:
    steps = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()  # for !raw, write trailing spaces as \x20
        if not line or line.startswith("#"):
            continue
        try:
            step = parse_line(lineno, line)
        except ValueError as exc:
            raise CaseFileError(f"{path.name}:{lineno}: {exc}") from None
        if step.action in ("cmd", "noreply") and not step.args:
            raise CaseFileError(f"{path.name}:{lineno}: empty command")
        steps.append(step)
    return steps


# --------------------------------------------------------------------------
# Servers and connections
# --------------------------------------------------------------------------

class StartError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(encode_command([b"PING"]))
            return RespReader(sock).read_reply().raw == b"+PONG\r\n"
    except (OSError, ConnectionClosed, BadReply):
        return False


class ManagedServer:
    """A server process started (and stopped) by the harness."""

    def __init__(self, name: str, argv: list[str], port: int, log_dir: str):
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = Path(log_dir) / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> None:
        with open(self.log_path, "ab") as log:
            try:
                # Own process group, so that stop() also reaches the children
                # of a wrapper script.
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            except OSError as exc:
                raise StartError(f"{self.name}: cannot execute {self.argv[0]}: {exc}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"{self.name} exited with status {self.proc.returncode} "
                                 f"during startup\n{self.log_tail()}")
            if ping(self.port):
                return
            time.sleep(0.05)
        raise StartError(f"{self.name} did not answer PING on port {self.port} "
                         f"within {timeout:.0f}s\n{self.log_tail()}")

    def exited(self) -> int | None:
        """Exit status if the process has died, else None."""
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it after 5 seconds."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait()
        self._signal_group(signal.SIGKILL)  # leftovers of a wrapper script

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"    | {line}" for line in text[-lines:])


@dataclass
class Endpoint:
    name: str
    port: int
    process: ManagedServer | None = None


class Session:
    """The script's connection to one server; reconnects on demand."""

    def __init__(self, endpoint: Endpoint, timeout: float):
        self.endpoint = endpoint
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader: RespReader | None = None
        self.broken = False  # set when the connection must be replaced

    def connect(self) -> bool:
        self.close()
        self.broken = False
        try:
            self.sock = socket.create_connection((HOST, self.endpoint.port), timeout=self.timeout)
        except OSError:
            self.sock = None
            self.broken = True
            return False
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = RespReader(self.sock)
        return True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def send(self, data: bytes) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            pass  # a closed connection shows up in the next read

    def read(self) -> Reply:
        if self.sock is None:
            self.broken = True
            return pseudo("unreachable")
        try:
            return self.reader.read_reply()
        except socket.timeout:
            reply = pseudo("timeout")
        except (ConnectionClosed, OSError):
            reply = pseudo("closed")
        except BadReply as exc:
            reply = Reply("<bad reply>", f"<bad reply: {exc}>".encode())
        self.broken = True
        return reply

    def request(self, args: list[bytes]) -> Reply:
        self.send(encode_command(args))
        return self.read()

    def request_raw(self, payload: bytes) -> Reply:
        """Send raw bytes and read one reply. Afterwards probe with PING: a
        server that closes the connection (protocol errors, QUIT) never answers
        it, and the reply gets '<closed>' appended."""
        self.send(payload)
        reply = self.read()
        if reply.is_pseudo:
            return reply
        probe = self.request([b"PING"])
        if probe.is_pseudo:
            self.broken = True
            return Reply(reply.kind, reply.raw + probe.raw, reply.items, reply.is_null)
        return reply

    def sync(self) -> Reply:
        """Send a marker PING and read up to its echo. Replies that arrive
        before it are unexpected (e.g. a server that answered a !noreply
        command); they are reported, and the stream is back in step."""
        marker = b"strata-diff-sync"
        expected = b"$%d\r\n%s\r\n" % (len(marker), marker)
        self.send(encode_command([b"PING", marker]))
        extra = []
        for _ in range(1000):
            reply = self.read()
            if reply.is_pseudo or reply.raw == expected:
                break
            extra.append(reply.raw)
        else:
            self.broken = True
        if reply.is_pseudo:
            extra.append(reply.raw)
        if not extra:
            return Reply("<sync>", b"<in sync>")
        return Reply("<sync>", b"<unexpected replies before sync: " + repr(extra).encode() + b">")

    def scan_all(self, extra_args: list[bytes]) -> Reply:
        """Iterate SCAN to cursor 0; return the key set as a synthesized reply
        (or the first non-array reply, e.g. an error)."""
        cursor = b"0"
        keys: set[bytes] = set()
        for _ in range(100000):
            reply = self.request([b"SCAN", cursor, *extra_args])
            if reply.kind != "*" or not reply.items or len(reply.items) != 2:
                return reply
            cursor_reply, batch = reply.items
            keys.update(item.bulk_value() for item in batch.items or [])
            cursor = cursor_reply.bulk_value()
            if cursor == b"0":
                return Reply("<scan>", b"<scan keys " + repr(sorted(keys)).encode() + b">")
        return Reply("<scan>", b"<scan did not terminate>")


def reset_server(endpoint: Endpoint, timeout: float) -> None:
    """FLUSHALL and CONFIG resets on a separate connection (replies ignored)."""
    setup = Session(endpoint, timeout)
    if setup.connect():
        for command in RESET_COMMANDS:
            setup.request([arg.encode() for arg in command])
    setup.close()


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------

def shape(reply: Reply):
    if reply.is_null:
        return (reply.kind, "null")
    if reply.items is not None:
        return (reply.kind, len(reply.items))
    return (reply.kind,)


def pairs(items: list[Reply]) -> list[tuple[bytes, bytes]]:
    return [(items[i].raw, items[i + 1].raw if i + 1 < len(items) else b"")
            for i in range(0, len(items), 2)]


def comparable(reply: Reply, mode: str):
    """The value that is compared between servers for a given mode. Errors,
    pseudo replies and non-aggregates under the unordered modes compare exactly."""
    if reply.is_pseudo or reply.is_error or mode == "exact":
        return reply.raw
    if mode == "type":
        return reply.kind
    if mode == "shape":
        return shape(reply)
    if reply.items is None:
        return reply.raw
    if reply.kind in PAIR_KINDS or mode == "unordered-pairs":
        return (reply.kind, sorted(pairs(reply.items)))
    return (reply.kind, sorted(item.raw for item in reply.items))


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

@dataclass
class Mismatch:
    where: str
    command: str
    mode: str
    replies: list[tuple[str, bytes]]


@dataclass
class FileResult:
    name: str
    cases: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


def format_raw(raw: bytes, verbose: bool) -> str:
    text = repr(raw)
    if not verbose and len(text) > REPR_LIMIT:
        text = text[:REPR_LIMIT] + f"... ({len(raw)} bytes)"
    return text


def run_file(path: Path, steps: list[Step], endpoints: list[Endpoint],
             timeout: float, verbose: bool) -> FileResult:
    result = FileResult(path.stem)
    for endpoint in endpoints:
        reset_server(endpoint, timeout)
    sessions = [Session(endpoint, timeout) for endpoint in endpoints]
    for session in sessions:
        if session.connect():
            session.request([b"SELECT", b"0"])

    try:
        for step in steps:
            if step.action == "sleep":
                time.sleep(step.seconds)
                continue
            if step.action == "reconnect":
                for session in sessions:
                    session.connect()
                continue

            replies = [execute(step, session) for session in sessions]
            if step.is_case:
                result.cases += 1
                values = [comparable(reply, step.mode) for reply in replies]
                where = f"{path.name}:{step.lineno}"
                if verbose:
                    print(f"  {where}: {step.text}")
                    for session, reply in zip(sessions, replies):
                        print(f"      {session.endpoint.name:>8}: {format_raw(reply.raw, True)}")
                if any(value != values[0] for value in values[1:]):
                    mismatch = Mismatch(where, step.text, step.mode,
                                        [(s.endpoint.name, r.raw) for s, r in zip(sessions, replies)])
                    result.mismatches.append(mismatch)
                    print_mismatch(mismatch, verbose)

            # Keep the connections in step: if either side had to drop its
            # connection, start both afresh.
            if any(session.broken for session in sessions):
                for session in sessions:
                    session.connect()
    finally:
        for session in sessions:
            session.close()
    return result


def execute(step: Step, session: Session) -> Reply | None:
    if step.action == "cmd":
        return session.request(step.args)
    if step.action == "raw":
        return session.request_raw(step.payload)
    if step.action == "scan":
        return session.scan_all(step.args)
    if step.action == "sync":
        return session.sync()
    if step.action == "noreply":
        session.send(encode_command(step.args))
    elif step.action == "send":
        session.send(step.payload)
    return None


def print_mismatch(mismatch: Mismatch, verbose: bool) -> None:
    mode = "" if mismatch.mode == "exact" else f" [{mismatch.mode}]"
    print(f"MISMATCH {mismatch.where}{mode}: {mismatch.command}")
    for name, raw in mismatch.replies:
        print(f"    {name:>8}: {format_raw(raw, verbose)}")


def print_summary(results: list[FileResult], crashes: list[str]) -> int:
    """Print the per-family table; return the number of failures (mismatches
    plus server crashes)."""
    total_cases = sum(r.cases for r in results)
    total_mismatches = sum(len(r.mismatches) for r in results)
    width = max([len("TOTAL")] + [len(r.name) for r in results])
    rule = "-" * (width + 24)

    print()
    print(f"{'family':<{width}}  {'cases':>6}  {'passed':>6}  {'failed':>6}")
    print(rule)
    for r in results:
        failed = len(r.mismatches)
        print(f"{r.name:<{width}}  {r.cases:>6}  {r.cases - failed:>6}  {failed:>6}")
    print(rule)
    print(f"{'TOTAL':<{width}}  {total_cases:>6}  {total_cases - total_mismatches:>6}  "
          f"{total_mismatches:>6}")
    for crash in crashes:
        print(f"CRASH (counted as a failure): {crash}")
    failed = total_mismatches + len(crashes)
    print(f"{total_cases - total_mismatches} passed, {failed} failed")
    return failed


def select_files(cases_dir: Path, filters: list[str]) -> list[Path]:
    files = sorted(cases_dir.glob("*.txt"))
    if filters:
        files = [f for f in files if any(k.lower() in f.stem.lower() for k in filters)]
    return files


def redis_argv(binary: str, port: int) -> list[str]:
    return [binary, "--port", str(port), "--bind", HOST, "--save", "",
            "--appendonly", "no", "--daemonize", "no",
            # DEBUG is disabled by default since 7.0; the cases use DEBUG SLEEP.
            "--enable-debug-command", "local"]


def build_endpoints(args, log_dir: str) -> list[Endpoint]:
    endpoints = []

    if args.redis_port is not None:
        endpoints.append(Endpoint("redis", args.redis_port))
    else:
        port = free_port()
        endpoints.append(Endpoint("redis", port,
                                  ManagedServer("redis", redis_argv(args.redis_server, port), port, log_dir)))

    if args.self_check:
        port = free_port()
        endpoints.append(Endpoint("redis-2", port,
                                  ManagedServer("redis-2", redis_argv(args.redis_server, port), port, log_dir)))
    elif args.strata.isdigit():
        endpoints.append(Endpoint("strata", int(args.strata)))
    else:
        binary = os.path.abspath(args.strata)
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise StartError(f"--strata {args.strata}: not a port number or an executable file")
        port = free_port()
        argv = [binary, "--port", str(port), "--bind", HOST, "--save", "",
                "--enable-debug-command", "local"] + args.strata_args.split()
        endpoints.append(Endpoint("strata", port, ManagedServer("strata", argv, port, log_dir)))
    return endpoints


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare Strata's replies with redis-server's, byte for byte.")
    parser.add_argument("--strata", metavar="BIN_OR_PORT",
                        help="Strata executable to start, or the port of a running Strata")
    parser.add_argument("--strata-args", default="", metavar="FLAGS",
                        help="extra flags for the Strata binary (e.g. '--compression-cold-seconds 0')")
    parser.add_argument("--self-check", action="store_true",
                        help="compare two redis-server instances instead (validates the cases)")
    parser.add_argument("--redis-server", default="redis-server", metavar="PATH",
                        help="redis-server executable (default: redis-server on PATH)")
    parser.add_argument("--redis-port", type=int, metavar="N",
                        help="use an already running redis on this port instead of starting one")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES_DIR, metavar="DIR",
                        help="directory of *.txt case files (default: %(default)s)")
    parser.add_argument("-k", dest="filters", action="append", default=[], metavar="FILTER",
                        help="only run case files whose name contains FILTER (repeatable)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="per-reply read timeout (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every command and reply; do not truncate replies")
    args = parser.parse_args(argv)
    if not args.self_check and not args.strata:
        parser.error("--strata is required (or use --self-check)")
    return args


def _raise_system_exit(signum, _frame):
    raise SystemExit(128 + signum)


def start_servers(endpoints: list[Endpoint]) -> None:
    for endpoint in endpoints:
        if endpoint.process is not None:
            endpoint.process.start()
        elif not ping(endpoint.port):
            raise StartError(f"{endpoint.name}: nothing answers PING on port {endpoint.port}")


def check_crashes(endpoints: list[Endpoint], path: Path) -> list[str]:
    """Report managed servers that died while `path` ran, and restart them so
    that the remaining files still run. Raises StartError if that fails."""
    crashes = []
    for endpoint in endpoints:
        status = endpoint.process.exited() if endpoint.process else None
        if status is None:
            continue
        crash = f"{endpoint.name} exited with status {status} during {path.name}"
        print(f"{crash}\n{endpoint.process.log_tail()}")
        crashes.append(crash)
        endpoint.process.start()
    return crashes


def run_all(files: list[Path], scripts: dict[Path, list[Step]], endpoints: list[Endpoint],
            args: argparse.Namespace) -> int:
    """Run every case file and print the summary; return the exit status."""
    names = ", ".join(f"{e.name} on port {e.port}" for e in endpoints)
    print(f"comparing {names}; {len(files)} case file(s)")

    results: list[FileResult] = []
    crashes: list[str] = []
    for path in files:
        result = run_file(path, scripts[path], endpoints, args.timeout, args.verbose)
        results.append(result)
        print(f"{path.name}: {result.cases} cases, {len(result.mismatches)} mismatches")
        try:
            crashes += check_crashes(endpoints, path)
        except StartError as exc:
            print(f"error: restarting failed: {exc}", file=sys.stderr)
            print_summary(results, crashes)
            return 1

    failed = print_summary(results, crashes)
    return 1 if failed else 0


def _raise_system_exit(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    files = select_files(args.cases, args.filters)
    if not files:
        print(f"no case files selected in {args.cases}", file=sys.stderr)
        return 1
    try:
        scripts = {path: load_case_file(path) for path in files}
    except CaseFileError as exc:
        print(f"case file error: {exc}", file=sys.stderr)
        return 1

    # Make SIGTERM/SIGHUP unwind through the finally block like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_system_exit)
    signal.signal(signal.SIGHUP, _raise_system_exit)

    log_dir = tempfile.mkdtemp(prefix="strata-diff-")
    endpoints: list[Endpoint] = []
    status = 1
    try:
        endpoints = build_endpoints(args, log_dir)
        start_servers(endpoints)
        status = run_all(files, scripts, endpoints, args)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    finally:
        for endpoint in endpoints:
            if endpoint.process is not None:
                endpoint.process.stop()
        if status == 0:
            shutil.rmtree(log_dir, ignore_errors=True)
        elif any(e.process for e in endpoints):
            print(f"server logs kept in {log_dir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
