//! DUMP and RESTORE: every type and encoding round trips (values, encodings and TTLs), payloads match the bytes
//! redis-server 7.0 writes, errors are Redis's texts, REPLACE / ABSTTL / IDLETIME / FREQ, keyspace events, WATCH,
//! and the effect a RESTORE leaves in the write-effect stream. RESP2 and RESP3. The byte-for-byte comparison with
//! redis-server lives in tests/differential/cases/dump.txt, the cross-server one in
//! tests/clients/test_dump_restore.py.

mod common;
use common::*;
use redis::Value;

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
const BAD_FORMAT: &str = "ERR Bad data format";
const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";

fn dump(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    match val(c, &["DUMP", key]) {
        Value::BulkString(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

/// RESTORE key ttl payload extra...; an error comes back as its text, as `common::err` gives it.
fn restore_result(
    c: &mut redis::Connection,
    key: &str,
    ttl: &str,
    payload: &[u8],
    extra: &[&str],
) -> Result<Value, String> {
    let mut cmd = redis::cmd("RESTORE");
    cmd.arg(key).arg(ttl).arg(payload);
    for a in extra {
        cmd.arg(*a);
    }
    cmd.query::<Value>(c)
        .map_err(|e| format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")).trim().to_string())
}

fn restore(c: &mut redis::Connection, key: &str, ttl: &str, payload: &[u8], extra: &[&str]) -> Value {
    restore_result(c, key, ttl, payload, extra).expect("RESTORE")
}

fn restore_err(c: &mut redis::Connection, key: &str, payload: &[u8], extra: &[&str]) -> String {
    match restore_result(c, key, "0", payload, extra) {
        Err(e) => e,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

fn digest(c: &mut redis::Connection, key: &str) -> String {
    let d: Vec<String> = q(c, &["DEBUG", "DIGEST-VALUE", key]);
    d.concat()
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

/// Redis's crc64 (Jones), to build payloads by hand.
fn crc64(data: &[u8]) -> u64 {
    let mut crc: u64 = 0;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 } else { crc >> 1 };
        }
    }
    crc
}

fn seal(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Fills one key per type and encoding; returns (key, encoding) pairs.
fn fill(c: &mut redis::Connection) -> Vec<(&'static str, &'static str)> {
    let big = "x".repeat(100);
    let _: () = q(c, &["SET", "int", "12345"]);
    let _: () = q(c, &["SET", "emb", "hello"]);
    let _: () = q(c, &["SET", "raw", &"abcdefgh".repeat(20)]);
    let _: () = q(c, &["SET", "bigint", "123456789012345"]);
    let _: () = q(c, &["SET", "appended", "x"]);
    let _: i64 = q(c, &["APPEND", "appended", "yz"]);
    let _: i64 = q(c, &["RPUSH", "list", "a", "1", "-5", "12345", "hello"]);
    for i in 0..2000 {
        let _: i64 = q(c, &["RPUSH", "biglist", &format!("element-{i}")]);
    }
    let _: i64 = q(c, &["HSET", "hsmall", "f", "v", "n", "42"]);
    let _: i64 = q(c, &["HSET", "hbig", "f", &big, "g", "1"]);
    let _: i64 = q(c, &["SADD", "sint", "1", "2", "3", "70000"]);
    let _: i64 = q(c, &["SADD", "sstr", "a", "b", "1"]);
    let _: i64 = q(c, &["ZADD", "zsmall", "1", "a", "1.5", "b", "0.1", "c", "-3", "d"]);
    let _: i64 = q(c, &["ZADD", "zbig", "1", "a", "2", &big, "-inf", "m", "inf", "n"]);
    let _: Value = val(c, &["CTR.INCR", "ctr", "BY", "5"]);
    // A stream with a deleted entry, a group, a consumer and a pending entry (RDB type 19).
    let _: Value = val(c, &["XADD", "stream", "1-1", "f", "v"]);
    let _: Value = val(c, &["XADD", "stream", "2-1", "f", "w", "g", "x"]);
    let _: Value = val(c, &["XADD", "stream", "3-1", "f", "y"]);
    let _: Value = val(c, &["XDEL", "stream", "2-1"]);
    let _: Value = val(c, &["XGROUP", "CREATE", "stream", "grp", "0"]);
    let _: Value = val(c, &["XREADGROUP", "GROUP", "grp", "alice", "COUNT", "1", "STREAMS", "stream", ">"]);
    vec![
        ("int", "int"),
        ("emb", "embstr"),
        ("raw", "raw"),
        ("bigint", "int"),
        ("appended", "raw"),
        ("list", "quicklist"),
        ("biglist", "quicklist"),
        ("hsmall", "listpack"),
        ("hbig", "hashtable"),
        ("sint", "intset"),
        ("sstr", "hashtable"),
        ("zsmall", "listpack"),
        ("zbig", "skiplist"),
        ("ctr", "window"),
        ("stream", "stream"),
    ]
}

#[test]
fn every_type_and_encoding_round_trips() {
    let s = TestServer::start();
    for proto in [2, 3] {
        let mut c = if proto == 2 { s.conn() } else { s.conn3() };
        let _: () = q(&mut c, &["FLUSHALL"]);
        for (key, enc) in fill(&mut c) {
            assert_eq!(encoding(&mut c, key), enc, "{key} before");
            let before = digest(&mut c, key);
            let payload = dump(&mut c, key);
            expect(&mut c, &["DEL", key], i(1));
            assert_eq!(restore(&mut c, key, "0", &payload, &[]), OK, "{key}");
            assert_eq!(digest(&mut c, key), before, "{key} value after RESTORE (RESP{proto})");
            // RESTORE picks a string's encoding again as SET would (APPEND's raw string comes back embstr).
            let want = if key == "appended" { "embstr" } else { enc };
            assert_eq!(encoding(&mut c, key), want, "{key} after");
            // A second DUMP gives the same bytes.
            assert_eq!(dump(&mut c, key), payload, "{key}");
        }
        expect(&mut c, &["DUMP", "nokey"], NIL);
    }
}

#[test]
fn payloads_are_redis_bytes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let cases: &[(&[&str], &[u8])] = &[
        (&["SET", "k", &"a".repeat(30)], b"\x00\xc3\t\x1e\x01aa\xe0\x11\x00\x01aa\n\x00Es|\xbb+d{\xbb"),
        (
            &["SET", "k", "hello hello hello hello hello world world world"],
            b"\x00\xc3\x17/\x06hello h\xe0\x0e\x05\x04world\xe0\x01\x05\x01ld\n\x00R\x99\xa4g\x9d_I\x99",
        ),
        (
            &["RPUSH", "k", "a", "1", "-5", "12345", "hello"],
            b"\x12\x01\x02\x1a\x1a\x00\x00\x00\x05\x00\x81a\x02\x01\x01\xdf\xfb\x02\xf190\x03\x85hello\x06\xff\n\x00\x82\xa6\x82\xe6\xee\x03\x82\xd7",
        ),
        (
            &["ZADD", "k", "1", "a", "1.5", "b", "0.1", "c", "-3", "d"],
            b"\x11\xc3)2\x132\x00\x00\x00\x08\x00\x81d\x02\xdf\xfd\x02\x81c\x02\x930.10\xe0\x05\x00\x0f1\x14\x81a\x02\x01\x01\x81b\x02\x831.5\x04\xff\n\x00\xd6\xa5BE=\xb9G\x99",
        ),
        (
            &["SADD", "k", "1", "2", "3", "70000"],
            b"\x0b\x18\x04\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00p\x11\x01\x00\n\x00\xef.e!\xe3\x85\xa2*",
        ),
        (
            &["HSET", "k", "f", "v", "n", "42"],
            b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81n\x02*\x01\xff\n\x00\xff0\xe8\x7frb\xd9\x91",
        ),
    ];
    for (cmd, want) in cases {
        let _: i64 = q(&mut c, &["DEL", "k"]);
        let _: Value = val(&mut c, cmd);
        assert_eq!(dump(&mut c, "k"), want.to_vec(), "{cmd:?}");
    }
}

#[test]
fn errors_are_redis_texts() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let p = dump(&mut c, "k");
    assert_eq!(restore_err(&mut c, "k", &p, &[]), BUSYKEY);
    assert_eq!(restore_err(&mut c, "k", b"garbage", &["REPLACE"]), BAD_PAYLOAD);
    assert_eq!(restore_err(&mut c, "k", b"", &["REPLACE"]), BAD_PAYLOAD);
    let mut bad = p.clone();
    bad[2] ^= 0x20;
    assert_eq!(restore_err(&mut c, "k", &bad, &["REPLACE"]), BAD_PAYLOAD);
    // A newer RDB version is refused even with a right checksum.
    let mut newer = p[..p.len() - 10].to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(restore_err(&mut c, "n", &newer, &[]), BAD_PAYLOAD);
    for body in [
        &b"\x08\x00"[..],
        b"\x0f\x00",
        b"\x13\x00",
        b"\x01\x00",
        b"\x02\x02\x01a\x01a",
        b"\x00\xc4",
        b"\x12\x01\x02\x00",
    ] {
        assert_eq!(restore_err(&mut c, "n", &seal(body), &[]), BAD_FORMAT, "{body:?}");
    }
    // Checked in Redis's order: options, then the key, then the TTL, then the payload.
    assert_eq!(restore_err(&mut c, "k", b"x", &["IDLETIME", "-1"]), "ERR Invalid IDLETIME value, must be >= 0");
    assert_eq!(restore_err(&mut c, "k", b"x", &["FREQ", "256"]), "ERR Invalid FREQ value, must be >= 0 and <= 255");
    assert_eq!(restore_err(&mut c, "k", b"x", &["FREQ", "x"]), NOT_INT);
    assert_eq!(restore_err(&mut c, "k", b"x", &["IDLETIME", "1", "FREQ", "1"]), SYNTAX);
    assert_eq!(restore_err(&mut c, "k", b"x", &["BOGUS"]), SYNTAX);
    assert_eq!(restore_err(&mut c, "k", b"x", &[]), BUSYKEY);
    expect_err(&mut c, &["RESTORE", "n", "-1", "x"], "ERR Invalid TTL value, must be >= 0");
    expect_err(&mut c, &["RESTORE", "n", "abc", "x"], NOT_INT);
    expect_err(&mut c, &["RESTORE", "n", "0"], &arity("restore"));
    expect_err(&mut c, &["DUMP"], &arity("dump"));
    expect(&mut c, &["EXISTS", "n"], i(0));
}

#[test]
fn ttl_replace_and_absttl() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let p = dump(&mut c, "k");
    assert_eq!(restore(&mut c, "t", "100000", &p, &[]), OK);
    let pttl: i64 = q(&mut c, &["PTTL", "t"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    let at = format!("{}", 4_000_000_000_000u64);
    assert_eq!(restore(&mut c, "a", &at, &p, &["ABSTTL"]), OK);
    expect(&mut c, &["PEXPIRETIME", "a"], i(4_000_000_000_000));
    // An absolute time in the past creates nothing, and deletes what REPLACE would have overwritten.
    assert_eq!(restore(&mut c, "past", "1000", &p, &["ABSTTL"]), OK);
    expect(&mut c, &["EXISTS", "past"], i(0));
    assert_eq!(restore(&mut c, "a", "1000", &p, &["ABSTTL", "REPLACE"]), OK);
    expect(&mut c, &["EXISTS", "a"], i(0));
    // REPLACE over another type, and TTL 0 leaves the key persistent.
    let _: i64 = q(&mut c, &["RPUSH", "l", "x"]);
    let _: i64 = q(&mut c, &["EXPIRE", "l", "100"]);
    assert_eq!(restore(&mut c, "l", "0", &p, &["REPLACE"]), OK);
    expect(&mut c, &["TYPE", "l"], Value::SimpleString("string".into()));
    expect(&mut c, &["TTL", "l"], i(-1));
}

#[test]
fn idletime_and_freq_follow_the_policy() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let p = dump(&mut c, "k");
    assert_eq!(restore(&mut c, "idle", "0", &p, &["IDLETIME", "1000"]), OK);
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "idle"]);
    assert!((1000..1010).contains(&idle), "{idle}");
    assert_eq!(restore(&mut c, "f", "0", &p, &["FREQ", "100"]), OK);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    expect(&mut c, &["OBJECT", "FREQ", "f"], i(5));
    assert_eq!(restore(&mut c, "f", "0", &p, &["FREQ", "100", "REPLACE"]), OK);
    expect(&mut c, &["OBJECT", "FREQ", "f"], i(100));
    // IDLETIME is ignored under an LFU policy.
    assert_eq!(restore(&mut c, "i2", "0", &p, &["IDLETIME", "50"]), OK);
    expect(&mut c, &["OBJECT", "FREQ", "i2"], i(5));
}

#[test]
fn restore_notifies_and_touches_watchers() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let p = dump(&mut c, "k");
    let mut sub = Resp::new(&s, 2);
    sub.expect_after_cmd(
        &["PSUBSCRIBE", "__keyevent@0__:*"],
        "*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n",
    );
    assert_eq!(restore(&mut c, "k", "0", &p, &["REPLACE"]), OK);
    sub.expect("*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n$22\r\n__keyevent@0__:restore\r\n$1\r\nk\r\n");
    assert_eq!(restore(&mut c, "k", "1", &p, &["REPLACE", "ABSTTL"]), OK);
    sub.expect("*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nk\r\n");

    let mut w = s.conn();
    let _: () = q(&mut w, &["WATCH", "w"]);
    assert_eq!(restore(&mut c, "w", "0", &p, &[]), OK);
    let _: () = q(&mut w, &["MULTI"]);
    let _: () = q(&mut w, &["SET", "w", "x"]);
    expect(&mut w, &["EXEC"], NIL);
}

#[test]
fn a_relative_ttl_enters_the_effect_stream_as_absttl() {
    let s = TestServer::start();
    let mut consumer = s.srv.effects.subscribe();
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let p = dump(&mut c, "k");
    assert_eq!(restore(&mut c, "r", "100000", &p, &["IDLETIME", "5"]), OK);
    assert_eq!(restore(&mut c, "plain", "0", &p, &[]), OK);
    assert_eq!(restore(&mut c, "k", "1", &p, &["REPLACE", "ABSTTL"]), OK);
    assert_eq!(restore(&mut c, "never", "1", &p, &["ABSTTL"]), OK);
    let mut cmds: Vec<Vec<bytes::Bytes>> = Vec::new();
    while let Some(g) = consumer.try_next().expect("kept up") {
        cmds.extend(g.commands());
    }
    let names: Vec<String> = cmds
        .iter()
        .filter(|c| c[0].eq_ignore_ascii_case(b"restore") || c[0].eq_ignore_ascii_case(b"del"))
        .map(|c| {
            c.iter()
                .enumerate()
                .map(|(i, a)| if i == 3 { "<payload>".to_string() } else { String::from_utf8_lossy(a).into_owned() })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let parts: Vec<&str> = names[0].split(' ').collect();
    assert_eq!((parts[0], parts[1]), ("RESTORE", "r"));
    let at: u64 = parts[2].parse().expect("absolute ms");
    assert!(at > 1_700_000_000_000, "{at}");
    assert_eq!(&parts[3..], ["<payload>", "IDLETIME", "5", "ABSTTL"]);
    assert_eq!(names[1], "RESTORE plain 0 <payload>");
    assert_eq!(names[2], "DEL k");
}
