#!/usr/bin/env python3
"""Keyspace notifications, Strata vs. redis-server 7.0.

The reply comparison in run.py cannot see messages that arrive on another connection, so this script runs its
own: for each `notify-keyspace-events` setting in SETTINGS, a subscriber connection PSUBSCRIBEs to every
keyspace and keyevent channel, a second connection runs SCRIPT, and the messages the subscriber received (in
order, raw RESP) must be the same on both servers. A PUBLISH on a marker channel ends each run, so no waiting on
timeouts is needed.

Usage: python3 tests/differential/notify.py --strata target/release/strata-server [-v]
       python3 tests/differential/notify.py --self-check        (two redis-servers: validates the script)
"""
import argparse
import difflib
import os
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import HOST, ManagedServer, RespReader, StartError, encode_command, free_port, redis_argv  # noqa: E402

# Classes one at a time (each with K, E or both), then all of them.
SETTINGS = ["KEA", "Kg", "E$", "Kl", "Es", "Kh", "Ez", "Kx", "Ee", "Kt", "Et", "Elshz", "K$lx", "AKE", ""]

MARKER = b"notify-test-marker"

# One command per line, split on spaces. Keys stay in database 0 unless SELECTed; every random choice is made
# deterministic (one member, COUNT equal to the size).
SCRIPT = """
SET s1 v
SET s1 v2 EX 100
SETNX s1 x
SETNX s2 x
SETEX s3 100 v
PSETEX s4 100000 v
MSET m1 a m2 b
MSETNX m1 a m3 c
GETSET s2 y
APPEND s2 z
APPEND s5 new
INCR n
INCRBY n 5
DECR n
DECRBY n 2
INCRBYFLOAT f 1.5
SETRANGE s5 1 XY
SETRANGE s6 2 pad
SETBIT b 7 1
SETBIT b 7 1
SETBIT b 6 0
SETBIT b 100 0
BITFIELD bf SET u8 0 255 INCRBY u8 0 1
BITFIELD bf SET u8 0 0
BITOP OR bo b bf
BITOP AND bo2 nosuch1 nosuch2
GETDEL s3
GETEX s4 EX 200
GETEX s4 PERSIST
GETEX s4
SET g v KEEPTTL
SET g2 v NX
SET g2 w XX GET
DEL m1 m2 nosuch
UNLINK m3
EXPIRE g 100
PEXPIRE g 100000
EXPIREAT g 9999999999
PERSIST g
PERSIST g
EXPIRE g -1
SET r1 a
RENAME r1 r2
SET r3 b
RENAMENX r2 r3
RENAMENX r2 r4
SET r2 x
RENAME r2 r4
MOVE r4 1
MOVE r3 1
COPY r3 c1
COPY r3 c1
COPY r3 c1 REPLACE
COPY r3 c2 DB 2
RPUSH l a b c d e
LPUSH l z
LPUSHX l y
RPUSHX nolist x
LINSERT l BEFORE a q
LSET l 0 Y
LTRIM l 0 5
LREM l 1 q
LPOP l
RPOP l 2
LMOVE l l2 LEFT RIGHT
LMOVE l l2 RIGHT LEFT
RPOPLPUSH l l
LMPOP 2 nolist l LEFT COUNT 10
BLPOP l2 0.01
BRPOP l2 0.01
RPUSH l3 one
BLMOVE l3 l4 LEFT LEFT 0.01
SADD st a b c
SADD st a
SREM st a nosuch
SMOVE st st2 b
SADD st b
SMOVE st st2 b
SMOVE st st2 c
SADD st3 only
SPOP st3
SADD st4 x
SPOP st4 5
SADD sa 1 2 3
SADD sb 2 3 4
SINTERSTORE si sa sb
SUNIONSTORE su sa sb
SDIFFSTORE sd sa sb
SDIFFSTORE sd sa sa
SINTERCARD 2 sa sb
HSET h f1 v1 f2 v2
HSETNX h f1 x
HSETNX h f3 v3
HMSET h f4 v4
HINCRBY h n 3
HINCRBYFLOAT h fl 1.25
HDEL h f1 nosuch
HDEL h f2 f3 f4 n fl
ZADD z 1 a 2 b 3 c 4 d 5 e
ZADD z XX CH 10 a
ZADD z NX 1 a
ZINCRBY z 1 b
ZADD z INCR 1 c
ZREM z a nosuch
ZREMRANGEBYSCORE z 0 2
ZREMRANGEBYRANK z 0 0
ZADD z 0 aa 0 bb 0 cc
ZREMRANGEBYLEX z [aa [bb
ZPOPMIN z
ZPOPMAX z
ZADD za 1 x 2 y
ZADD zb 3 y 4 w
ZUNIONSTORE zu 2 za zb
ZINTERSTORE zi 2 za zb
ZDIFFSTORE zd 2 za zb
ZDIFFSTORE zd 2 za za
ZRANGESTORE zr za 0 -1
ZRANGESTORE zr za 5 10
BZPOPMIN za 0.01
BZPOPMAX za 0.01
ZMPOP 1 zb MIN COUNT 5
PFADD hll a b c
PFADD hll a
PFADD hll2 d
PFCOUNT hll
PFMERGE hll3 hll hll2
XADD x 1-1 f v
XADD x NOMKSTREAM 1-2 f v
XADD nox NOMKSTREAM 1-1 f v
XADD x MAXLEN 1 1-3 f v
XADD x 1-1 f v
XDEL x 1-3 9-9
XDEL x 9-9
XADD x 2-1 f v
XADD x 2-2 f v
XTRIM x MAXLEN 1
XTRIM x MAXLEN 1
XSETID x 5-5
XGROUP CREATE x g $
XGROUP CREATE x2 g $ MKSTREAM
XGROUP CREATECONSUMER x g c
XGROUP CREATECONSUMER x g c
XGROUP SETID x g 0
XREADGROUP GROUP g d STREAMS x >
XACK x g 2-2
XGROUP DELCONSUMER x g c
XGROUP DELCONSUMER x g nobody
XGROUP DESTROY x g
XGROUP DESTROY x g
XRANGE x - +
MULTI
SET t1 a
INCR t2
DEL t1
EXEC
SELECT 3
SET d3 x
SWAPDB 3 4
SELECT 4
DEL d3
SET d4 y
FLUSHDB
SELECT 0
SET e1 v PX 1
DEBUG SLEEP 0.01
GET e1
SET e2 v PX 1
DEBUG SLEEP 0.01
EXISTS e2
SET e3 v PX 1
DEBUG SLEEP 0.01
SET e3 w
SET e4 v PX 1
DEBUG SLEEP 0.01
RENAME e4 e5
FLUSHALL
SET victim v
CONFIG SET maxmemory-policy allkeys-random
CONFIG SET maxmemory 1
SET other v
CONFIG SET maxmemory 0
CONFIG SET maxmemory-policy noeviction
FLUSHALL
SET present v
GET missing1
MGET present missing2 missing3
EXISTS present missing4
TYPE missing5
TTL missing6
PTTL present
TOUCH present missing7
OBJECT ENCODING missing8
COPY missing9 dst
COPY present dst2
STRLEN missing10
LRANGE missing11 0 -1
HGET missing12 f
SISMEMBER missing13 m
ZSCORE missing14 m
SETNX missing15 v
INCR missing16
LPUSHX missing17 v
GETDEL missing18
GETEX missing19 PERSIST
FLUSHALL
GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD geo XX 13.361389 38.115556 Palermo
GEORADIUS geo 15 37 200 km STORE geo2
GEOSEARCHSTORE geo3 geo FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE geo3 geo FROMLONLAT 0 0 BYRADIUS 1 km
RPUSH sl 3 1 2
SORT sl STORE sl2
"""


class Conn:
    def __init__(self, port: int, timeout: float):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.reader = RespReader(self.sock)

    def send(self, *args: bytes) -> None:
        self.sock.sendall(encode_command(list(args)))

    def call(self, *args: bytes):
        self.send(*args)
        return self.reader.read_reply()

    def close(self) -> None:
        self.sock.close()


def run_setting(port: int, setting: str, timeout: float) -> tuple[list[bytes], list[bytes]]:
    """Runs SCRIPT with `setting`; returns the replies and the messages the subscriber got, both raw."""
    admin = Conn(port, timeout)
    admin.call(b"FLUSHALL")
    admin.call(b"CONFIG", b"SET", b"notify-keyspace-events", setting.encode())
    sub = Conn(port, timeout)
    sub.call(b"PSUBSCRIBE", b"__key*@*__:*")
    sub.call(b"SUBSCRIBE", MARKER)
    cmd = Conn(port, timeout)
    replies = []
    for line in SCRIPT.strip().splitlines():
        replies.append(cmd.call(*[w.encode() for w in line.split()]).raw)
    cmd.call(b"PUBLISH", MARKER, b"end")
    messages = []
    while True:
        msg = sub.reader.read_reply()
        if MARKER in msg.raw:
            break
        messages.append(msg.raw)
    admin.call(b"CONFIG", b"SET", b"notify-keyspace-events", b"")
    for c in (admin, sub, cmd):
        c.close()
    return replies, messages


def readable(raw: bytes) -> str:
    """`channel message` of a pmessage frame."""
    parts = raw.split(b"\r\n")
    return f"{parts[6].decode(errors='replace')} {parts[8].decode(errors='replace')}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strata", help="strata-server executable")
    ap.add_argument("--self-check", action="store_true", help="compare two redis-servers")
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("-v", action="store_true", help="print every message")
    args = ap.parse_args(argv)
    if not args.strata and not args.self_check:
        ap.error("--strata or --self-check is required")
    log_dir = tempfile.mkdtemp(prefix="notify-diff.")
    servers = []
    rp = free_port()
    servers.append(ManagedServer("redis", redis_argv(args.redis_server, rp), rp, log_dir))
    sp = free_port()
    if args.self_check:
        servers.append(ManagedServer("redis-2", redis_argv(args.redis_server, sp), sp, log_dir))
    else:
        binary = os.path.abspath(args.strata)
        servers.append(ManagedServer("strata", [binary, "--port", str(sp), "--bind", HOST, "--save", "",
                                                "--enable-debug-command", "local"], sp, log_dir))
    failed = 0
    try:
        for s in servers:
            s.start()
        for setting in SETTINGS:
            (r_replies, r_msgs), (s_replies, s_msgs) = (run_setting(s.port, setting, args.timeout) for s in servers)
            ok = r_msgs == s_msgs and r_replies == s_replies
            print(f"notify-keyspace-events {setting!r}: {len(r_msgs)} messages, {'ok' if ok else 'MISMATCH'}")
            if args.v or not ok:
                for line, (a, b) in zip(SCRIPT.strip().splitlines(), zip(r_replies, s_replies)):
                    if a != b:
                        print(f"  reply to {line!r}: {servers[0].name} {a!r}, {servers[1].name} {b!r}")
                if args.v:
                    for m in r_msgs:
                        print(f"  {readable(m)}")
                diff = difflib.unified_diff([readable(m) for m in r_msgs], [readable(m) for m in s_msgs],
                                            servers[0].name, servers[1].name, lineterm="", n=2)
                for line in diff:
                    print(f"  {line}")
            failed += not ok
    except StartError as e:
        print(e)
        return 1
    finally:
        for s in servers:
            s.stop()
    print(f"{len(SETTINGS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
