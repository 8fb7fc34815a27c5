//! Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT) TTL PTTL EXPIRETIME PEXPIRETIME PERSIST, lazy
//! and active expiry, checked against Redis 7.0's exact replies and error texts.

mod common;
use common::*;
use std::thread::sleep;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const NX_XX: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";

fn ms(n: u64) {
    sleep(Duration::from_millis(n));
}

fn dbsize(c: &mut redis::Connection) -> i64 {
    q(c, &["DBSIZE"])
}

// ---------------------------------------------------------------------------------------------------------------
// TTL / PTTL / EXPIRETIME / PEXPIRETIME / PERSIST
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn ttl_of_missing_and_persistent_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        expect(&mut c, &[cmd, "missing"], i(-2));
    }
    expect(&mut c, &["SET", "k", "v"], OK);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        expect(&mut c, &[cmd, "k"], i(-1));
    }
    expect(&mut c, &["PERSIST", "k"], i(0));
    expect(&mut c, &["PERSIST", "missing"], i(0));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"] {
        let name = cmd.to_ascii_lowercase();
        expect_err(&mut c, &[cmd], &arity(&name));
        expect_err(&mut c, &[cmd, "a", "b"], &arity(&name));
    }
    for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        let name = cmd.to_ascii_lowercase();
        expect_err(&mut c, &[cmd], &arity(&name));
        expect_err(&mut c, &[cmd, "k"], &arity(&name));
    }
}

#[test]
fn expire_and_pexpire() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "k", "v"], OK);
    expect(&mut c, &["EXPIRE", "k", "100"], i(1));
    expect(&mut c, &["TTL", "k"], i(100));
    let pttl: i64 = q(&mut c, &["PTTL", "k"]);
    assert!(pttl > 99_000 && pttl <= 100_000, "PTTL {pttl}");
    expect(&mut c, &["EXPIRE", "k", "200"], i(1));
    expect(&mut c, &["TTL", "k"], i(200));
    expect(&mut c, &["PEXPIRE", "k", "300000"], i(1));
    expect(&mut c, &["TTL", "k"], i(300));
    // TTL rounds to the nearest second.
    expect(&mut c, &["PEXPIRE", "k", "300700"], i(1));
    expect(&mut c, &["TTL", "k"], i(301));
    expect(&mut c, &["PEXPIRE", "k", "299700"], i(1));
    expect(&mut c, &["TTL", "k"], i(300));
    expect(&mut c, &["PERSIST", "k"], i(1));
    expect(&mut c, &["TTL", "k"], i(-1));
    expect(&mut c, &["PTTL", "k"], i(-1));
    expect(&mut c, &["PERSIST", "k"], i(0));
    expect(&mut c, &["GET", "k"], b("v"));
    expect(&mut c, &["EXPIRE", "missing", "100"], i(0));
    expect(&mut c, &["PEXPIRE", "missing", "100"], i(0));
    expect(&mut c, &["EXISTS", "missing"], i(0));
    expect(&mut c, &["EXPIRE", "k", "3153600000"], i(1));
    expect(&mut c, &["TTL", "k"], i(3153600000));
    for bad in ["abc", "1.5", "", "99999999999999999999", " 1"] {
        expect_err(&mut c, &["EXPIRE", "k", bad], NOT_INT);
        expect_err(&mut c, &["PEXPIRE", "k", bad], NOT_INT);
        expect_err(&mut c, &["EXPIREAT", "k", bad], NOT_INT);
        expect_err(&mut c, &["PEXPIREAT", "k", bad], NOT_INT);
    }
    expect(&mut c, &["TTL", "k"], i(3153600000));
    // The value and its encoding are untouched by expiry changes.
    expect(&mut c, &["SET", "n", "12345"], OK);
    expect(&mut c, &["EXPIRE", "n", "100"], i(1));
    expect(&mut c, &["OBJECT", "ENCODING", "n"], b("int"));
    expect(&mut c, &["INCR", "n"], i(12346));
    expect(&mut c, &["TTL", "n"], i(100));
}

#[test]
fn expire_overflow() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "k", "v"], OK);
    for (cmd, n) in [
        ("EXPIRE", "9223372036854775807"),
        ("EXPIRE", "9223372036854775"),
        ("EXPIRE", "9223372036854770"),
        ("EXPIRE", "-9223372036854775808"),
        ("PEXPIRE", "9223372036854775807"),
        ("PEXPIRE", "9223372036854775000"),
        ("EXPIREAT", "9223372036854775807"),
        ("EXPIREAT", "-9223372036854775808"),
    ] {
        expect_err(&mut c, &[cmd, "k", n], &invalid_expire(&cmd.to_ascii_lowercase()));
    }
    expect(&mut c, &["TTL", "k"], i(-1));
    expect(&mut c, &["EXPIREAT", "k", "9223372036854775"], i(1));
    expect(&mut c, &["EXPIRETIME", "k"], i(9223372036854775));
    expect(&mut c, &["PEXPIREAT", "k", "9223372036854775807"], i(1));
    expect(&mut c, &["PEXPIRETIME", "k"], i(i64::MAX));
    expect(&mut c, &["EXPIRETIME", "k"], i(9223372036854776));
    expect(&mut c, &["GET", "k"], b("v"));
    // Huge negative relative times are in the past: the key is deleted.
    expect(&mut c, &["PEXPIRE", "k", "-9223372036854775808"], i(1));
    expect(&mut c, &["EXISTS", "k"], i(0));
    expect(&mut c, &["SET", "k", "v"], OK);
    expect(&mut c, &["PEXPIREAT", "k", "-9223372036854775808"], i(1));
    expect(&mut c, &["EXISTS", "k"], i(0));
}

#[test]
fn non_positive_and_past_times_delete_the_key() {
    let s = TestServer::start();
    let mut c = s.conn();
    for (cmd, n) in [
        ("EXPIRE", "0"),
        ("EXPIRE", "-100"),
        ("PEXPIRE", "0"),
        ("PEXPIRE", "-1"),
        ("EXPIREAT", "1"),
        ("EXPIREAT", "0"),
        ("EXPIREAT", "-1"),
        ("PEXPIREAT", "1000"),
        ("PEXPIREAT", "0"),
    ] {
        expect(&mut c, &["SET", "z", "v"], OK);
        expect(&mut c, &[cmd, "z", n], i(1));
        expect(&mut c, &["EXISTS", "z"], i(0));
        expect(&mut c, &["GET", "z"], NIL);
        expect(&mut c, &["TTL", "z"], i(-2));
    }
    expect(&mut c, &["EXPIRE", "z", "0"], i(0));
    expect(&mut c, &["EXPIREAT", "z", "1"], i(0));
    expect(&mut c, &["DBSIZE"], i(0));
}

#[test]
fn expireat_and_pexpireat() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "at", "v"], OK);
    expect(&mut c, &["EXPIREAT", "at", "4102444800"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(4102444800));
    expect(&mut c, &["PEXPIRETIME", "at"], i(4102444800000));
    expect(&mut c, &["PEXPIREAT", "at", "4102444800123"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(4102444800));
    expect(&mut c, &["PEXPIRETIME", "at"], i(4102444800123));
    // EXPIRETIME rounds to the nearest second.
    expect(&mut c, &["PEXPIREAT", "at", "4102444800999"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(4102444801));
    expect(&mut c, &["PEXPIREAT", "at", "4102444800500"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(4102444801));
    expect(&mut c, &["PEXPIREAT", "at", "4102444800499"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(4102444800));
    let ttl: i64 = q(&mut c, &["TTL", "at"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!((ttl - (4102444800 - now)).abs() <= 2, "TTL {ttl}");
    expect(&mut c, &["EXPIREAT", "missing", "4102444800"], i(0));
    expect(&mut c, &["PEXPIREAT", "missing", "4102444800000"], i(0));
    expect(&mut c, &["EXPIRETIME", "missing"], i(-2));
    expect(&mut c, &["PERSIST", "at"], i(1));
    expect(&mut c, &["EXPIRETIME", "at"], i(-1));
    expect(&mut c, &["PEXPIRETIME", "at"], i(-1));
}

// ---------------------------------------------------------------------------------------------------------------
// NX / XX / GT / LT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn expire_conditions() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "o", "v"], OK);
    // No TTL counts as an infinite TTL: XX and GT fail, LT succeeds.
    expect(&mut c, &["EXPIRE", "o", "100", "XX"], i(0));
    expect(&mut c, &["TTL", "o"], i(-1));
    expect(&mut c, &["EXPIRE", "o", "100", "GT"], i(0));
    expect(&mut c, &["TTL", "o"], i(-1));
    expect(&mut c, &["EXPIRE", "o", "100", "LT"], i(1));
    expect(&mut c, &["TTL", "o"], i(100));
    expect(&mut c, &["PERSIST", "o"], i(1));
    expect(&mut c, &["EXPIRE", "o", "100", "NX"], i(1));
    expect(&mut c, &["TTL", "o"], i(100));
    expect(&mut c, &["EXPIRE", "o", "200", "NX"], i(0));
    expect(&mut c, &["TTL", "o"], i(100));
    expect(&mut c, &["EXPIRE", "o", "300", "XX"], i(1));
    expect(&mut c, &["TTL", "o"], i(300));
    expect(&mut c, &["EXPIRE", "o", "200", "GT"], i(0));
    expect(&mut c, &["TTL", "o"], i(300));
    expect(&mut c, &["EXPIRE", "o", "400", "GT"], i(1));
    expect(&mut c, &["TTL", "o"], i(400));
    expect(&mut c, &["EXPIRE", "o", "500", "LT"], i(0));
    expect(&mut c, &["TTL", "o"], i(400));
    expect(&mut c, &["EXPIRE", "o", "350", "LT"], i(1));
    expect(&mut c, &["TTL", "o"], i(350));
    expect(&mut c, &["EXPIRE", "o", "349", "GT"], i(0));
    expect(&mut c, &["EXPIRE", "o", "351", "LT"], i(0));
    expect(&mut c, &["TTL", "o"], i(350));
    expect(&mut c, &["EXPIRE", "o", "100", "xx"], i(1));
    expect(&mut c, &["TTL", "o"], i(100));
    expect(&mut c, &["EXPIRE", "o", "50", "lt"], i(1));
    expect(&mut c, &["TTL", "o"], i(50));
    expect(&mut c, &["EXPIRE", "o", "100", "XX", "GT"], i(1));
    expect(&mut c, &["TTL", "o"], i(100));
    expect(&mut c, &["EXPIRE", "o", "99", "XX", "LT"], i(1));
    expect(&mut c, &["TTL", "o"], i(99));
    expect(&mut c, &["EXPIRE", "o", "101", "GT", "GT"], i(1));
    expect(&mut c, &["TTL", "o"], i(101));
    expect(&mut c, &["EXPIRE", "o", "102", "XX", "XX"], i(1));
    expect(&mut c, &["TTL", "o"], i(102));
    // Incompatible combinations, whatever the order.
    for opts in [["NX", "XX"], ["XX", "NX"], ["NX", "GT"], ["NX", "LT"], ["GT", "NX"]] {
        expect_err(&mut c, &["EXPIRE", "o", "100", opts[0], opts[1]], NX_XX);
    }
    for opts in [["GT", "LT"], ["LT", "GT"]] {
        expect_err(&mut c, &["EXPIRE", "o", "100", opts[0], opts[1]], GT_LT);
    }
    expect_err(&mut c, &["EXPIRE", "o", "100", "XX", "GT", "LT"], GT_LT);
    expect_err(&mut c, &["EXPIRE", "o", "100", "FOO"], "ERR Unsupported option FOO");
    expect_err(&mut c, &["EXPIRE", "o", "100", "NX", "FOO"], "ERR Unsupported option FOO");
    expect_err(&mut c, &["EXPIRE", "o", "100", "nx", "bar"], "ERR Unsupported option bar");
    expect_err(&mut c, &["EXPIRE", "missing", "100", "NX", "XX"], NX_XX);
    expect(&mut c, &["TTL", "o"], i(102));
    for opt in ["NX", "XX", "GT", "LT"] {
        expect(&mut c, &["EXPIRE", "missing", "100", opt], i(0));
    }
    expect(&mut c, &["EXISTS", "missing"], i(0));
}

#[test]
fn pexpire_and_absolute_conditions() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "o", "v", "EX", "100"], OK);
    expect(&mut c, &["PEXPIRE", "o", "5000", "NX"], i(0));
    expect(&mut c, &["PEXPIRE", "o", "6000000", "GT"], i(1));
    expect(&mut c, &["TTL", "o"], i(6000));
    expect(&mut c, &["PEXPIRE", "o", "7000000", "LT"], i(0));
    expect(&mut c, &["TTL", "o"], i(6000));
    expect(&mut c, &["EXPIREAT", "o", "4102444800", "GT"], i(1));
    expect(&mut c, &["EXPIRETIME", "o"], i(4102444800));
    expect(&mut c, &["EXPIREAT", "o", "4102444700", "GT"], i(0));
    expect(&mut c, &["EXPIREAT", "o", "4102444700", "LT"], i(1));
    expect(&mut c, &["EXPIRETIME", "o"], i(4102444700));
    expect(&mut c, &["EXPIREAT", "o", "4102444900", "NX"], i(0));
    expect(&mut c, &["EXPIREAT", "o", "4102444900", "XX"], i(1));
    expect(&mut c, &["EXPIRETIME", "o"], i(4102444900));
    expect(&mut c, &["PEXPIREAT", "o", "4102444900500", "GT"], i(1));
    expect(&mut c, &["PEXPIRETIME", "o"], i(4102444900500));
    expect(&mut c, &["PEXPIREAT", "o", "4102444900400", "LT"], i(1));
    expect(&mut c, &["PEXPIRETIME", "o"], i(4102444900400));
    // Same time: neither greater nor less.
    expect(&mut c, &["PEXPIREAT", "o", "4102444900400", "GT"], i(0));
    expect(&mut c, &["PEXPIREAT", "o", "4102444900400", "LT"], i(0));
    expect_err(&mut c, &["PEXPIREAT", "o", "4102444900400", "NX", "XX"], NX_XX);
    expect_err(&mut c, &["EXPIREAT", "o", "4102444900", "GT", "LT"], GT_LT);
    expect_err(&mut c, &["EXPIREAT", "o", "4102444900", "BAR"], "ERR Unsupported option BAR");
    expect_err(&mut c, &["PEXPIRE", "o", "100", "NX", "LT"], NX_XX);
    expect(&mut c, &["PEXPIRETIME", "o"], i(4102444900400));
    // Conditions checked before a past time deletes the key.
    expect(&mut c, &["PERSIST", "o"], i(1));
    expect(&mut c, &["EXPIRE", "o", "-1", "GT"], i(0));
    expect(&mut c, &["EXISTS", "o"], i(1));
    expect(&mut c, &["EXPIRE", "o", "-1", "XX"], i(0));
    expect(&mut c, &["EXISTS", "o"], i(1));
    expect(&mut c, &["EXPIRE", "o", "-1", "LT"], i(1));
    expect(&mut c, &["EXISTS", "o"], i(0));
    expect(&mut c, &["SET", "o", "v"], OK);
    expect(&mut c, &["EXPIRE", "o", "0", "NX"], i(1));
    expect(&mut c, &["EXISTS", "o"], i(0));
    expect(&mut c, &["SET", "o", "v", "EX", "100"], OK);
    expect(&mut c, &["PEXPIREAT", "o", "1", "LT"], i(1));
    expect(&mut c, &["EXISTS", "o"], i(0));
}

// ---------------------------------------------------------------------------------------------------------------
// Which writes keep or clear the TTL
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn writes_that_keep_or_clear_the_ttl() {
    let s = TestServer::start();
    let mut c = s.conn();
    let keep: &[&[&str]] = &[
        &["APPEND", "t", "x"],
        &["SETRANGE", "t", "0", "y"],
        &["INCR", "n"],
        &["INCRBY", "n", "2"],
        &["DECR", "n"],
        &["DECRBY", "n", "2"],
        &["INCRBYFLOAT", "n", "1.5"],
        &["SETBIT", "t", "0", "1"],
        &["BITFIELD", "t", "SET", "u8", "8", "1"],
        &["SET", "t", "v2", "KEEPTTL"],
        &["SETNX", "t", "x"],
        &["MSETNX", "t", "x", "t3", "y"],
        &["GETEX", "t"],
        &["GET", "t"],
        &["EXPIRE", "t", "100", "NX"],
    ];
    for cmd in keep {
        expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
        expect(&mut c, &["SET", "n", "5", "EX", "100"], OK);
        let _ = val(&mut c, cmd);
        let key = cmd[1];
        expect(&mut c, &["TTL", key], i(100));
    }
    let clear: &[&[&str]] = &[
        &["SET", "t", "v2"],
        &["GETSET", "t", "x"],
        &["MSET", "t", "v"],
        &["GETEX", "t", "PERSIST"],
        &["PERSIST", "t"],
        &["BITOP", "NOT", "t", "n"],
    ];
    for cmd in clear {
        expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
        expect(&mut c, &["SET", "n", "5"], OK);
        let _ = val(&mut c, cmd);
        expect(&mut c, &["TTL", "t"], i(-1));
    }
    // Removal-style writes.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["GETDEL", "t"], b("v"));
    expect(&mut c, &["TTL", "t"], i(-2));
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["DEL", "t"], i(1));
    expect(&mut c, &["SET", "t", "new"], OK);
    expect(&mut c, &["TTL", "t"], i(-1));
    // RENAME moves the TTL; the overwritten destination's TTL goes away.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["RENAME", "t", "t2"], OK);
    expect(&mut c, &["TTL", "t2"], i(100));
    expect(&mut c, &["SET", "p", "v"], OK);
    expect(&mut c, &["RENAME", "p", "t2"], OK);
    expect(&mut c, &["TTL", "t2"], i(-1));
}

// ---------------------------------------------------------------------------------------------------------------
// Expiration in practice
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn lazy_expiry() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "shortlived", "v", "PX", "50"], OK);
    expect(&mut c, &["SET", "shortlived2", "v", "PX", "50"], OK);
    expect(&mut c, &["SET", "longlived", "v", "EX", "100"], OK);
    expect(&mut c, &["SET", "persistent", "v"], OK);
    expect(&mut c, &["PSETEX", "psx", "50", "v"], OK);
    expect(&mut c, &["SET", "gx", "v"], OK);
    expect(&mut c, &["GETEX", "gx", "PX", "50"], b("v"));
    expect(&mut c, &["SET", "pex", "v"], OK);
    expect(&mut c, &["PEXPIRE", "pex", "50"], i(1));
    expect(&mut c, &["SET", "pxat", "v"], OK);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    expect(&mut c, &["PEXPIREAT", "pxat", &(now_ms + 50).to_string()], i(1));
    let pttl: i64 = q(&mut c, &["PTTL", "shortlived"]);
    assert!((0..=50).contains(&pttl), "PTTL {pttl}");
    ms(150);
    expect(&mut c, &["GET", "shortlived"], NIL);
    expect(&mut c, &["TTL", "shortlived"], i(-2));
    expect(&mut c, &["PTTL", "shortlived"], i(-2));
    expect(&mut c, &["EXPIRETIME", "shortlived2"], i(-2));
    expect(&mut c, &["EXISTS", "shortlived", "shortlived2", "longlived", "persistent"], i(2));
    expect(&mut c, &["EXISTS", "psx", "gx", "pex", "pxat"], i(0));
    expect(&mut c, &["GET", "psx"], NIL);
    let mut k: Vec<String> = q(&mut c, &["KEYS", "*"]);
    k.sort();
    assert_eq!(k, vec!["longlived".to_string(), "persistent".to_string()]);
    expect(&mut c, &["DBSIZE"], i(2));
    expect(&mut c, &["MGET", "shortlived", "longlived"], arr(vec![NIL, b("v")]));
}

#[test]
fn writes_to_expired_keys_see_no_key() {
    let s = TestServer::start();
    let mut c = s.conn();
    for k in [
        "append", "setnx", "rename", "nx", "xx", "incr", "msetnx", "setrange", "expire", "persist", "getset", "copy",
        "move",
    ] {
        expect(&mut c, &["SET", k, "old", "PX", "50"], OK);
    }
    expect(&mut c, &["SET", "copy-dst", "v"], OK);
    ms(150);
    expect(&mut c, &["APPEND", "append", "x"], i(1));
    expect(&mut c, &["GET", "append"], b("x"));
    expect(&mut c, &["TTL", "append"], i(-1));
    expect(&mut c, &["SETNX", "setnx", "x"], i(1));
    expect(&mut c, &["GET", "setnx"], b("x"));
    expect_err(&mut c, &["RENAME", "rename", "other"], "ERR no such key");
    expect(&mut c, &["SET", "nx", "w", "NX"], OK);
    expect(&mut c, &["GET", "nx"], b("w"));
    expect(&mut c, &["SET", "xx", "w", "XX"], NIL);
    expect(&mut c, &["GET", "xx"], NIL);
    expect(&mut c, &["INCR", "incr"], i(1));
    expect(&mut c, &["TTL", "incr"], i(-1));
    expect(&mut c, &["MSETNX", "msetnx", "y"], i(1));
    expect(&mut c, &["SETRANGE", "setrange", "1", "z"], i(2));
    assert_eq!(valb(&mut c, &[b"GET", b"setrange"]), bb(b"\0z"));
    expect(&mut c, &["EXPIRE", "expire", "100"], i(0));
    expect(&mut c, &["PERSIST", "persist"], i(0));
    expect(&mut c, &["GETSET", "getset", "new"], NIL);
    expect(&mut c, &["COPY", "copy", "copy-dst", "REPLACE"], i(0));
    expect(&mut c, &["GET", "copy-dst"], b("v"));
    expect(&mut c, &["MOVE", "move", "1"], i(0));
    expect(&mut c, &["SELECT", "1"], OK);
    expect(&mut c, &["EXISTS", "move"], i(0));
}

#[test]
fn expired_keys_stay_counted_until_read_when_active_expiry_is_off() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], OK);
    let mut p = redis::pipe();
    for n in 0..1000 {
        p.cmd("SET").arg(format!("e:{n}")).arg(n).arg("PX").arg(50).ignore();
    }
    for n in 0..10 {
        p.cmd("SET").arg(format!("live:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    ms(300);
    // Nothing removes them in the background.
    expect(&mut c, &["DBSIZE"], i(1010));
    ms(300);
    expect(&mut c, &["DBSIZE"], i(1010));
    // Reading half of them removes those.
    for n in 0..500 {
        expect(&mut c, &["GET", &format!("e:{n}")], NIL);
    }
    expect(&mut c, &["DBSIZE"], i(510));
    let mut exists = vec!["EXISTS".to_string()];
    exists.extend((500..1000).map(|n| format!("e:{n}")));
    let refs: Vec<&str> = exists.iter().map(String::as_str).collect();
    expect(&mut c, &refs, i(0));
    expect(&mut c, &["DBSIZE"], i(10));
    for n in 0..10 {
        expect(&mut c, &["GET", &format!("live:{n}")], b(&n.to_string()));
    }
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], OK);
}

#[test]
fn commands_that_delete_an_expired_key_they_meet() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], OK);
    let readers: &[&[&str]] = &[
        &["GET", "k0"],
        &["EXISTS", "k1"],
        &["TYPE", "k2"],
        &["TTL", "k3"],
        &["PTTL", "k4"],
        &["OBJECT", "ENCODING", "k5"],
        &["EXPIRE", "k6", "100"],
        &["PERSIST", "k7"],
        &["MGET", "k8"],
        &["STRLEN", "k9"],
        &["GETRANGE", "k10", "0", "-1"],
        &["TOUCH", "k11"],
        &["EXPIRETIME", "k12"],
        &["BITCOUNT", "k13"],
        &["GETBIT", "k14", "0"],
    ];
    let mut p = redis::pipe();
    for n in 0..readers.len() {
        p.cmd("SET").arg(format!("k{n}")).arg("v").arg("PX").arg(50).ignore();
    }
    p.cmd("SET").arg("live").arg("v").ignore();
    let () = p.query(&mut c).expect("pipeline");
    ms(200);
    let mut size = readers.len() as i64 + 1;
    expect(&mut c, &["DBSIZE"], i(size));
    for cmd in readers {
        let _ = val(&mut c, cmd);
        size -= 1;
        assert_eq!(dbsize(&mut c), size, "after {cmd:?}");
    }
    // SCAN removes the expired keys it visits and does not return them.
    let mut p = redis::pipe();
    for n in 0..50 {
        p.cmd("SET").arg(format!("s{n}")).arg("v").arg("PX").arg(50).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    ms(200);
    expect(&mut c, &["DBSIZE"], i(51));
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor]);
        seen.extend(batch);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, vec!["live".to_string()]);
    expect(&mut c, &["DBSIZE"], i(1));
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], OK);
}

#[test]
fn keys_skips_but_does_not_delete_expired_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], OK);
    expect(&mut c, &["SET", "a", "1", "PX", "50"], OK);
    expect(&mut c, &["SET", "b", "1"], OK);
    ms(200);
    expect(&mut c, &["DBSIZE"], i(2));
    expect(&mut c, &["KEYS", "*"], arr(vec![b("b")]));
    // Redis 7.0's KEYS only filters expired keys (keyIsExpired); it does not delete them.
    expect(&mut c, &["DBSIZE"], i(2));
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], OK);
}

#[test]
fn active_expiry_removes_unread_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], OK);
    // Keys that must survive: persistent and long-lived ones.
    let mut p = redis::pipe();
    for n in 0..100 {
        p.cmd("SET").arg(format!("keep:{n}")).arg(n).ignore();
        p.cmd("SET").arg(format!("long:{n}")).arg(n).arg("EX").arg(1000).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    for batch in 0..100 {
        let mut p = redis::pipe();
        for n in batch * 1000..(batch + 1) * 1000 {
            p.cmd("SET").arg(format!("k:{n}")).arg("v").arg("PX").arg(1000).ignore();
        }
        let () = p.query(&mut c).expect("pipeline");
    }
    let start = Instant::now();
    let mut last = dbsize(&mut c);
    while last != 200 && start.elapsed() < Duration::from_secs(10) {
        ms(200);
        last = dbsize(&mut c);
    }
    assert_eq!(last, 200, "DBSIZE did not drop to the 200 unexpired keys within 10 s of polling");
    for n in [0, 37, 99] {
        expect(&mut c, &["GET", &format!("keep:{n}")], b(&n.to_string()));
        expect(&mut c, &["GET", &format!("long:{n}")], b(&n.to_string()));
    }
    expect(&mut c, &["GET", "k:0"], NIL);
}

#[test]
fn active_expiry_covers_every_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    for db in [0, 5, 15] {
        expect(&mut c, &["SELECT", &db.to_string()], OK);
        let mut p = redis::pipe();
        for n in 0..2000 {
            p.cmd("SET").arg(format!("k:{n}")).arg("v").arg("PX").arg(100).ignore();
        }
        let () = p.query(&mut c).expect("pipeline");
    }
    let start = Instant::now();
    loop {
        let mut total = 0;
        for db in [0, 5, 15] {
            expect(&mut c, &["SELECT", &db.to_string()], OK);
            total += dbsize(&mut c);
        }
        if total == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{total} expired keys left after 10 s of polling");
        ms(200);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reply encodings in RESP2 and RESP3
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn expire_replies_in_resp2_and_resp3() {
    let s = TestServer::start();
    for proto in [2u8, 3] {
        let mut r = Resp::new(&s, proto);
        let nil = if proto == 2 { "$-1\r\n" } else { "_\r\n" };
        assert_eq!(r.cmd(&["TTL", "missing"]), ":-2\r\n");
        assert_eq!(r.cmd(&["PEXPIRETIME", "missing"]), ":-2\r\n");
        assert_eq!(r.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(r.cmd(&["TTL", "k"]), ":-1\r\n");
        assert_eq!(r.cmd(&["EXPIREAT", "k", "4102444800"]), ":1\r\n");
        assert_eq!(r.cmd(&["EXPIRETIME", "k"]), ":4102444800\r\n");
        assert_eq!(r.cmd(&["PEXPIRETIME", "k"]), ":4102444800000\r\n");
        assert_eq!(r.cmd(&["EXPIRE", "k", "100", "NX"]), ":0\r\n");
        assert_eq!(r.cmd(&["PERSIST", "k"]), ":1\r\n");
        assert_eq!(r.cmd(&["EXPIRE", "k", "0"]), ":1\r\n");
        assert_eq!(r.cmd(&["GET", "k"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["GETEX", "k", "PERSIST"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["EXPIRE", "k", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(r.cmd(&["EXPIRE", "k", "1", "GT", "LT"]), format!("-{GT_LT}\r\n"));
    }
}

#[test]
fn expire_in_resp3_client() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["SET", "k", "v", "EX", "100"], OK);
    expect(&mut c, &["TTL", "k"], i(100));
    expect(&mut c, &["EXPIRE", "k", "200", "GT"], i(1));
    expect(&mut c, &["TTL", "k"], i(200));
    expect(&mut c, &["PERSIST", "k"], i(1));
    expect(&mut c, &["PTTL", "k"], i(-1));
}
