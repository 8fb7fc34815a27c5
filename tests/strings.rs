//! String commands: GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL
//! GETEX APPEND STRLEN GETRANGE SETRANGE SUBSTR INCR DECR INCRBY DECRBY INCRBYFLOAT LCS, checked against Redis
//! 7.0's exact replies and error texts.

mod common;
use common::*;
use redis::Value;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

// ---------------------------------------------------------------------------------------------------------------
// GET / SET
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn get_set_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["GET", "missing"], NIL);
    expect(&mut c, &["SET", "k", "v"], OK);
    expect(&mut c, &["GET", "k"], b("v"));
    expect(&mut c, &["SET", "k", "v2"], OK);
    expect(&mut c, &["GET", "k"], b("v2"));
    expect(&mut c, &["SET", "k", ""], OK);
    expect(&mut c, &["GET", "k"], b(""));
    expect(&mut c, &["STRLEN", "k"], i(0));
    expect(&mut c, &["EXISTS", "k"], i(1));
    expect(&mut c, &["SET", "key with spaces", "value with spaces"], OK);
    expect(&mut c, &["GET", "key with spaces"], b("value with spaces"));
    expect(&mut c, &["SET", "", "empty-key"], OK);
    expect(&mut c, &["GET", ""], b("empty-key"));
    expect(&mut c, &["SET", "crlf", "a\r\nb"], OK);
    expect(&mut c, &["GET", "crlf"], b("a\r\nb"));
    expect(&mut c, &["SET", "utf8", "héllo wörld"], OK);
    expect(&mut c, &["GET", "utf8"], b("héllo wörld"));
    expect(&mut c, &["STRLEN", "utf8"], i(13));
    // Binary-safe keys and values.
    let bin: &[u8] = b"\x00\x01\x02\xff\xfe";
    assert_eq!(valb(&mut c, &[b"SET", b"bin\x00key", bin]), OK);
    assert_eq!(valb(&mut c, &[b"GET", b"bin\x00key"]), bb(bin));
    assert_eq!(valb(&mut c, &[b"GET", b"bin"]), NIL);
    assert_eq!(valb(&mut c, &[b"STRLEN", b"bin\x00key"]), i(5));
    // Command names are case-insensitive.
    expect(&mut c, &["set", "lower", "case"], OK);
    expect(&mut c, &["gEt", "lower"], b("case"));
    // A large value round-trips.
    let big = "x".repeat(1 << 20);
    expect(&mut c, &["SET", "big", &big], OK);
    expect(&mut c, &["STRLEN", "big"], i(1 << 20));
    assert_eq!(q::<String>(&mut c, &["GET", "big"]), big);
    // Arity and syntax.
    expect_err(&mut c, &["GET"], &arity("get"));
    expect_err(&mut c, &["GET", "a", "b"], &arity("get"));
    expect_err(&mut c, &["SET", "k"], &arity("set"));
    expect_err(&mut c, &["SET"], &arity("set"));
    expect_err(&mut c, &["SET", "k", "v", "extra"], SYNTAX);
    expect(&mut c, &["GET", "k"], b(""));
}

#[test]
fn set_overwrites_value_and_clears_ttl() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "k", "12345"], OK);
    expect(&mut c, &["OBJECT", "ENCODING", "k"], b("int"));
    expect(&mut c, &["SET", "k", "text", "EX", "100"], OK);
    expect(&mut c, &["TTL", "k"], i(100));
    expect(&mut c, &["OBJECT", "ENCODING", "k"], b("embstr"));
    expect(&mut c, &["SET", "k", "plain"], OK);
    expect(&mut c, &["TTL", "k"], i(-1));
    expect(&mut c, &["GET", "k"], b("plain"));
}

#[test]
fn set_nx_xx() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "nx", "1", "NX"], OK);
    expect(&mut c, &["SET", "nx", "2", "NX"], NIL);
    expect(&mut c, &["GET", "nx"], b("1"));
    expect(&mut c, &["SET", "xx", "1", "XX"], NIL);
    expect(&mut c, &["EXISTS", "xx"], i(0));
    expect(&mut c, &["GET", "xx"], NIL);
    expect(&mut c, &["SET", "nx", "3", "XX"], OK);
    expect(&mut c, &["GET", "nx"], b("3"));
    expect(&mut c, &["SET", "nx", "4", "nx"], NIL);
    expect(&mut c, &["SET", "nx", "5", "xx"], OK);
    expect(&mut c, &["GET", "nx"], b("5"));
    expect_err(&mut c, &["SET", "nx", "6", "NX", "XX"], SYNTAX);
    expect_err(&mut c, &["SET", "nx", "6", "XX", "NX"], SYNTAX);
    // Repeating the same flag is allowed.
    expect(&mut c, &["SET", "nx", "6", "NX", "NX"], NIL);
    expect(&mut c, &["SET", "nx", "7", "XX", "XX"], OK);
    expect(&mut c, &["GET", "nx"], b("7"));
    // NX with an expiry: the expiry is not applied when the write is refused.
    expect(&mut c, &["SET", "nx", "8", "NX", "EX", "100"], NIL);
    expect(&mut c, &["TTL", "nx"], i(-1));
    expect(&mut c, &["SET", "nxnew", "8", "EX", "100", "NX"], OK);
    expect(&mut c, &["TTL", "nxnew"], i(100));
    expect(&mut c, &["SET", "nxnew", "9", "XX", "PX", "200000"], OK);
    expect(&mut c, &["TTL", "nxnew"], i(200));
    expect(&mut c, &["GET", "nxnew"], b("9"));
}

#[test]
fn set_get_option() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "sg", "old"], OK);
    expect(&mut c, &["SET", "sg", "new", "GET"], b("old"));
    expect(&mut c, &["GET", "sg"], b("new"));
    expect(&mut c, &["SET", "sg-missing", "new", "GET"], NIL);
    expect(&mut c, &["GET", "sg-missing"], b("new"));
    // NX + GET (allowed since 7.0): returns the old value, does not write.
    expect(&mut c, &["SET", "sg", "newer", "NX", "GET"], b("new"));
    expect(&mut c, &["GET", "sg"], b("new"));
    expect(&mut c, &["SET", "sg-nx2", "v", "NX", "GET"], NIL);
    expect(&mut c, &["GET", "sg-nx2"], b("v"));
    expect(&mut c, &["SET", "sg", "newest", "XX", "GET"], b("new"));
    expect(&mut c, &["GET", "sg"], b("newest"));
    expect(&mut c, &["SET", "sg-xx2", "v", "XX", "GET"], NIL);
    expect(&mut c, &["GET", "sg-xx2"], NIL);
    expect(&mut c, &["SET", "sg", "v", "GET", "GET"], b("newest"));
    expect(&mut c, &["GET", "sg"], b("v"));
    expect(&mut c, &["SET", "sg", "w", "GET", "EX", "100"], b("v"));
    expect(&mut c, &["TTL", "sg"], i(100));
    expect(&mut c, &["SET", "sg", "x", "KEEPTTL", "GET"], b("w"));
    expect(&mut c, &["TTL", "sg"], i(100));
    expect(&mut c, &["GET", "sg"], b("x"));
}

#[test]
fn set_expiry_options() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "ex", "v", "EX", "100"], OK);
    expect(&mut c, &["TTL", "ex"], i(100));
    expect(&mut c, &["SET", "px", "v", "PX", "100000"], OK);
    expect(&mut c, &["TTL", "px"], i(100));
    let pttl: i64 = q(&mut c, &["PTTL", "px"]);
    assert!(pttl > 90_000 && pttl <= 100_000, "PTTL {pttl}");
    expect(&mut c, &["SET", "exat", "v", "EXAT", "4102444800"], OK);
    expect(&mut c, &["EXPIRETIME", "exat"], i(4102444800));
    expect(&mut c, &["PEXPIRETIME", "exat"], i(4102444800000));
    expect(&mut c, &["SET", "pxat", "v", "PXAT", "4102444800123"], OK);
    expect(&mut c, &["PEXPIRETIME", "pxat"], i(4102444800123));
    expect(&mut c, &["EXPIRETIME", "pxat"], i(4102444800));
    // Lower case options.
    expect(&mut c, &["set", "ex", "v", "ex", "50"], OK);
    expect(&mut c, &["TTL", "ex"], i(50));
    expect(&mut c, &["SET", "ex", "v", "Ex", "60", "nX"], NIL);
    expect(&mut c, &["SET", "ex", "v", "px", "70000", "xx"], OK);
    expect(&mut c, &["TTL", "ex"], i(70));
    // The same unit twice is accepted; the last one wins.
    expect(&mut c, &["SET", "ex", "v", "EX", "10", "EX", "20"], OK);
    expect(&mut c, &["TTL", "ex"], i(20));
    // PXAT at the very end of time is representable.
    expect(&mut c, &["SET", "far", "v", "PXAT", "9223372036854775807"], OK);
    expect(&mut c, &["PEXPIRETIME", "far"], i(i64::MAX));
    expect(&mut c, &["GET", "far"], b("v"));
}

#[test]
fn set_expiry_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "ex", "orig", "EX", "1000"], OK);
    let inv = invalid_expire("set");
    for args in [
        ["EX", "0"],
        ["EX", "-1"],
        ["PX", "0"],
        ["PX", "-5"],
        ["EXAT", "0"],
        ["PXAT", "0"],
        ["EXAT", "-1"],
        ["EX", "9223372036854775807"],
        ["EX", "9223372036854770"],
        ["PX", "9223372036854775807"],
        ["EXAT", "9223372036854775807"],
    ] {
        expect_err(&mut c, &["SET", "ex", "v", args[0], args[1]], &inv);
    }
    for args in [["EX", "abc"], ["PX", "1.5"], ["EX", ""], ["EX", "99999999999999999999"], ["PXAT", " 5"]] {
        expect_err(&mut c, &["SET", "ex", "v", args[0], args[1]], NOT_INT);
    }
    for tail in [
        &["EX"][..],
        &["PX"],
        &["EX", "10", "PX", "100"],
        &["EX", "10", "EXAT", "4102444800"],
        &["PX", "10", "PXAT", "4102444800000"],
        &["EXAT", "4102444800", "PXAT", "4102444800000"],
        &["KEEPTTL", "EX", "10"],
        &["EX", "10", "KEEPTTL"],
        &["PX", "10", "KEEPTTL"],
        &["FOO"],
        &["EX", "10", "FOO"],
        &["PERSIST"],
        &["NX", "XX"],
    ] {
        let mut args = vec!["SET", "ex", "v"];
        args.extend_from_slice(tail);
        expect_err(&mut c, &args, SYNTAX);
    }
    // Nothing was written by the failed commands.
    expect(&mut c, &["GET", "ex"], b("orig"));
    expect(&mut c, &["TTL", "ex"], i(1000));
    expect(&mut c, &["SET", "ex", "v", "KEEPTTL", "KEEPTTL"], OK);
    expect(&mut c, &["TTL", "ex"], i(1000));
}

#[test]
fn set_keepttl() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "kt", "v", "EX", "100"], OK);
    expect(&mut c, &["SET", "kt", "v2", "KEEPTTL"], OK);
    expect(&mut c, &["TTL", "kt"], i(100));
    expect(&mut c, &["GET", "kt"], b("v2"));
    expect(&mut c, &["SET", "kt", "v3"], OK);
    expect(&mut c, &["TTL", "kt"], i(-1));
    expect(&mut c, &["SET", "kt-new", "v", "KEEPTTL"], OK);
    expect(&mut c, &["TTL", "kt-new"], i(-1));
    expect(&mut c, &["SET", "kt", "v", "EX", "200"], OK);
    expect(&mut c, &["SET", "kt", "v4", "KEEPTTL", "GET"], b("v"));
    expect(&mut c, &["TTL", "kt"], i(200));
    expect(&mut c, &["SET", "kt", "v5", "KEEPTTL", "XX"], OK);
    expect(&mut c, &["TTL", "kt"], i(200));
    expect(&mut c, &["GET", "kt"], b("v5"));
}

#[test]
fn set_with_past_absolute_time() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "past", "v", "EXAT", "1"], OK);
    expect(&mut c, &["GET", "past"], NIL);
    expect(&mut c, &["EXISTS", "past"], i(0));
    expect(&mut c, &["SET", "past", "v", "PXAT", "1"], OK);
    expect(&mut c, &["GET", "past"], NIL);
    expect(&mut c, &["SET", "past2", "old"], OK);
    expect(&mut c, &["SET", "past2", "new", "EXAT", "1", "GET"], b("old"));
    expect(&mut c, &["GET", "past2"], NIL);
    expect(&mut c, &["TTL", "past2"], i(-2));
}

// ---------------------------------------------------------------------------------------------------------------
// SETNX / SETEX / PSETEX
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn setnx() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SETNX", "snx", "1"], i(1));
    expect(&mut c, &["SETNX", "snx", "2"], i(0));
    expect(&mut c, &["GET", "snx"], b("1"));
    expect_err(&mut c, &["SETNX", "snx"], &arity("setnx"));
    expect_err(&mut c, &["SETNX", "snx", "a", "b"], &arity("setnx"));
    // SETNX does not touch the TTL of an existing key.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["SETNX", "t", "x"], i(0));
    expect(&mut c, &["TTL", "t"], i(100));
}

#[test]
fn setex_psetex() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SETEX", "sx", "100", "v"], OK);
    expect(&mut c, &["TTL", "sx"], i(100));
    expect(&mut c, &["GET", "sx"], b("v"));
    expect(&mut c, &["SETEX", "sx", "200", "w"], OK);
    expect(&mut c, &["TTL", "sx"], i(200));
    expect(&mut c, &["GET", "sx"], b("w"));
    for bad in ["0", "-10", "9223372036854775807"] {
        expect_err(&mut c, &["SETEX", "sx", bad, "v"], &invalid_expire("setex"));
    }
    for bad in ["abc", "1.5", ""] {
        expect_err(&mut c, &["SETEX", "sx", bad, "v"], NOT_INT);
    }
    expect_err(&mut c, &["SETEX", "sx", "100"], &arity("setex"));
    expect_err(&mut c, &["SETEX", "sx", "100", "v", "extra"], &arity("setex"));
    expect(&mut c, &["PSETEX", "psx", "100000", "v"], OK);
    expect(&mut c, &["TTL", "psx"], i(100));
    let pttl: i64 = q(&mut c, &["PTTL", "psx"]);
    assert!(pttl > 90_000 && pttl <= 100_000, "PTTL {pttl}");
    expect(&mut c, &["GET", "psx"], b("v"));
    for bad in ["0", "-1", "9223372036854775807"] {
        expect_err(&mut c, &["PSETEX", "psx", bad, "v"], &invalid_expire("psetex"));
    }
    expect_err(&mut c, &["PSETEX", "psx", "abc", "v"], NOT_INT);
    expect_err(&mut c, &["PSETEX", "psx", "100"], &arity("psetex"));
    // Failed commands left the keys alone.
    expect(&mut c, &["GET", "sx"], b("w"));
    expect(&mut c, &["GET", "psx"], b("v"));
    expect(&mut c, &["TTL", "sx"], i(200));
}

// ---------------------------------------------------------------------------------------------------------------
// MGET / MSET / MSETNX
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn mget_mset() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "m1", "a", "m2", "b", "m3", "c"], OK);
    expect(&mut c, &["MGET", "m1", "m2", "m3", "missing"], arr(vec![b("a"), b("b"), b("c"), NIL]));
    expect(&mut c, &["MGET", "missing"], arr(vec![NIL]));
    expect(&mut c, &["MGET", "m1", "m1", "m1"], arr(vec![b("a"), b("a"), b("a")]));
    expect(&mut c, &["MSET", "m1", "x", "m1", "y"], OK);
    expect(&mut c, &["GET", "m1"], b("y"));
    expect(&mut c, &["MSET", "", "empty", "sp ace", "v"], OK);
    expect(&mut c, &["MGET", "", "sp ace"], arr(vec![b("empty"), b("v")]));
    // MSET clears TTLs.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["MSET", "t", "w"], OK);
    expect(&mut c, &["TTL", "t"], i(-1));
    expect_err(&mut c, &["MSET", "m1"], &arity("mset"));
    expect_err(&mut c, &["MSET", "m1", "a", "m2"], &arity("mset"));
    expect_err(&mut c, &["MSET"], &arity("mset"));
    expect_err(&mut c, &["MGET"], &arity("mget"));
    expect(&mut c, &["GET", "m2"], b("b"));
    // Many keys at once.
    let mut args = vec!["MSET".to_string()];
    for n in 0..500 {
        args.push(format!("many:{n}"));
        args.push(format!("value:{n}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    expect(&mut c, &refs, OK);
    let mut margs = vec!["MGET".to_string()];
    margs.extend((0..500).map(|n| format!("many:{n}")));
    let refs: Vec<&str> = margs.iter().map(String::as_str).collect();
    let got: Vec<String> = q(&mut c, &refs);
    assert_eq!(got, (0..500).map(|n| format!("value:{n}")).collect::<Vec<_>>());
}

#[test]
fn msetnx() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSETNX", "n1", "a", "n2", "b"], i(1));
    expect(&mut c, &["MSETNX", "n2", "x", "n3", "y"], i(0));
    expect(&mut c, &["MGET", "n1", "n2", "n3"], arr(vec![b("a"), b("b"), NIL]));
    expect(&mut c, &["MSETNX", "n3", "x", "n3", "y"], i(1));
    expect(&mut c, &["GET", "n3"], b("y"));
    expect_err(&mut c, &["MSETNX", "n4"], &arity("msetnx"));
    expect_err(&mut c, &["MSETNX", "n4", "a", "n5"], &arity("msetnx"));
    expect_err(&mut c, &["MSETNX"], &arity("msetnx"));
    expect(&mut c, &["EXISTS", "n4", "n5"], i(0));
}

// ---------------------------------------------------------------------------------------------------------------
// GETSET / GETDEL / GETEX
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn getset() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["GETSET", "gs", "new"], NIL);
    expect(&mut c, &["GET", "gs"], b("new"));
    expect(&mut c, &["GETSET", "gs", "newer"], b("new"));
    expect(&mut c, &["GET", "gs"], b("newer"));
    expect_err(&mut c, &["GETSET", "gs"], &arity("getset"));
    expect_err(&mut c, &["GETSET", "gs", "a", "b"], &arity("getset"));
    expect(&mut c, &["SET", "gs", "v", "EX", "100"], OK);
    expect(&mut c, &["GETSET", "gs", "w"], b("v"));
    expect(&mut c, &["TTL", "gs"], i(-1));
}

#[test]
fn getdel() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "gd", "v"], OK);
    expect(&mut c, &["GETDEL", "gd"], b("v"));
    expect(&mut c, &["GETDEL", "gd"], NIL);
    expect(&mut c, &["EXISTS", "gd"], i(0));
    expect(&mut c, &["SET", "gd", "12345", "EX", "100"], OK);
    expect(&mut c, &["GETDEL", "gd"], b("12345"));
    expect(&mut c, &["TTL", "gd"], i(-2));
    expect_err(&mut c, &["GETDEL"], &arity("getdel"));
    expect_err(&mut c, &["GETDEL", "a", "b"], &arity("getdel"));
}

#[test]
fn getex() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "ge", "v"], OK);
    expect(&mut c, &["GETEX", "ge"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(-1));
    expect(&mut c, &["GETEX", "ge", "EX", "100"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(100));
    // Plain GETEX keeps the TTL.
    expect(&mut c, &["GETEX", "ge"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(100));
    expect(&mut c, &["GETEX", "ge", "PX", "200000"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(200));
    expect(&mut c, &["GETEX", "ge", "EXAT", "4102444800"], b("v"));
    expect(&mut c, &["EXPIRETIME", "ge"], i(4102444800));
    expect(&mut c, &["GETEX", "ge", "PXAT", "4102444801000"], b("v"));
    expect(&mut c, &["PEXPIRETIME", "ge"], i(4102444801000));
    expect(&mut c, &["GETEX", "ge", "PERSIST"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(-1));
    expect(&mut c, &["GETEX", "ge", "PERSIST", "PERSIST"], b("v"));
    expect(&mut c, &["GETEX", "missing"], NIL);
    expect(&mut c, &["GETEX", "missing", "EX", "100"], NIL);
    expect(&mut c, &["EXISTS", "missing"], i(0));
    for args in [["EX", "0"], ["EX", "-1"], ["PX", "0"], ["EXAT", "0"], ["PXAT", "-1"]] {
        expect_err(&mut c, &["GETEX", "ge", args[0], args[1]], &invalid_expire("getex"));
    }
    expect_err(&mut c, &["GETEX", "ge", "EX", "9223372036854775807"], &invalid_expire("getex"));
    expect_err(&mut c, &["GETEX", "ge", "PX", "9223372036854775807"], &invalid_expire("getex"));
    expect_err(&mut c, &["GETEX", "ge", "EX", "abc"], NOT_INT);
    for tail in [
        &["EX"][..],
        &["EX", "10", "PX", "100"],
        &["EX", "10", "PERSIST"],
        &["PERSIST", "EX", "10"],
        &["FOO"],
        &["KEEPTTL"],
        &["NX"],
        &["XX"],
        &["GET"],
    ] {
        let mut args = vec!["GETEX", "ge"];
        args.extend_from_slice(tail);
        expect_err(&mut c, &args, SYNTAX);
    }
    expect_err(&mut c, &["GETEX"], &arity("getex"));
    expect(&mut c, &["TTL", "ge"], i(-1));
    expect(&mut c, &["getex", "ge", "ex", "300"], b("v"));
    expect(&mut c, &["TTL", "ge"], i(300));
    // An absolute time in the past deletes the key after returning it.
    expect(&mut c, &["GETEX", "ge", "EXAT", "1"], b("v"));
    expect(&mut c, &["EXISTS", "ge"], i(0));
    expect(&mut c, &["SET", "ge2", "v"], OK);
    expect(&mut c, &["GETEX", "ge2", "PXAT", "1"], b("v"));
    expect(&mut c, &["GET", "ge2"], NIL);
}

// ---------------------------------------------------------------------------------------------------------------
// APPEND / STRLEN
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn append_strlen() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["APPEND", "ap", "hello"], i(5));
    expect(&mut c, &["APPEND", "ap", " world"], i(11));
    expect(&mut c, &["GET", "ap"], b("hello world"));
    expect(&mut c, &["STRLEN", "ap"], i(11));
    expect(&mut c, &["APPEND", "ap", ""], i(11));
    assert_eq!(valb(&mut c, &[b"APPEND", b"ap", b"\x00\xff"]), i(13));
    assert_eq!(valb(&mut c, &[b"GET", b"ap"]), bb(b"hello world\x00\xff"));
    expect(&mut c, &["STRLEN", "missing"], i(0));
    expect(&mut c, &["APPEND", "empty", ""], i(0));
    expect(&mut c, &["EXISTS", "empty"], i(1));
    expect(&mut c, &["GET", "empty"], b(""));
    expect_err(&mut c, &["STRLEN"], &arity("strlen"));
    expect_err(&mut c, &["STRLEN", "a", "b"], &arity("strlen"));
    expect_err(&mut c, &["APPEND", "ap"], &arity("append"));
    expect_err(&mut c, &["APPEND", "ap", "a", "b"], &arity("append"));
    // Appending to an integer-encoded value.
    expect(&mut c, &["SET", "apint", "10"], OK);
    expect(&mut c, &["APPEND", "apint", "5"], i(3));
    expect(&mut c, &["GET", "apint"], b("105"));
    expect(&mut c, &["INCR", "apint"], i(106));
    expect(&mut c, &["OBJECT", "ENCODING", "apint"], b("int"));
    expect(&mut c, &["APPEND", "apint", "x"], i(4));
    expect(&mut c, &["OBJECT", "ENCODING", "apint"], b("raw"));
    expect(&mut c, &["SET", "numlen", "12345"], OK);
    expect(&mut c, &["STRLEN", "numlen"], i(5));
    expect(&mut c, &["SET", "numlen", "-12345"], OK);
    expect(&mut c, &["STRLEN", "numlen"], i(6));
    // APPEND keeps the TTL.
    expect(&mut c, &["SET", "t", "v", "EX", "100"], OK);
    expect(&mut c, &["APPEND", "t", "x"], i(2));
    expect(&mut c, &["TTL", "t"], i(100));
    // Many appends build the expected string.
    let mut want = String::new();
    for n in 0..200 {
        let piece = format!("{n},");
        want.push_str(&piece);
        expect(&mut c, &["APPEND", "many", &piece], i(want.len() as i64));
    }
    assert_eq!(q::<String>(&mut c, &["GET", "many"]), want);
}

#[test]
fn string_size_limit() {
    let s = TestServer::start_with(&["--proto-max-bulk-len", "1048576"]);
    let mut c = s.conn();
    expect(&mut c, &["SETRANGE", "k", "1048575", "x"], i(1048576));
    expect_err(&mut c, &["APPEND", "k", "y"], TOO_LONG);
    expect(&mut c, &["STRLEN", "k"], i(1048576));
    expect_err(&mut c, &["SETRANGE", "k", "1048576", "x"], TOO_LONG);
    expect_err(&mut c, &["SETRANGE", "k", "1048575", "xy"], TOO_LONG);
    expect_err(&mut c, &["SETRANGE", "new", "1048576", "x"], TOO_LONG);
    expect(&mut c, &["EXISTS", "new"], i(0));
    expect(&mut c, &["SETRANGE", "k", "1048575", "z"], i(1048576));
    expect(&mut c, &["GETRANGE", "k", "-1", "-1"], b("z"));
}

// ---------------------------------------------------------------------------------------------------------------
// GETRANGE / SUBSTR / SETRANGE
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn getrange_substr() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "gr", "This is a string"], OK);
    for (start, end, want) in [
        ("0", "3", "This"),
        ("-3", "-1", "ing"),
        ("0", "-1", "This is a string"),
        ("10", "100", "string"),
        ("100", "200", ""),
        ("5", "2", ""),
        ("-100", "-50", "T"),
        ("-100", "3", "This"),
        ("-1", "-5", ""),
        ("0", "0", "T"),
        ("-1", "-1", "g"),
        ("15", "15", "g"),
        ("16", "16", ""),
        ("0", "9223372036854775807", "This is a string"),
        ("-9223372036854775808", "2", "Thi"),
    ] {
        expect(&mut c, &["GETRANGE", "gr", start, end], b(want));
        expect(&mut c, &["SUBSTR", "gr", start, end], b(want));
    }
    expect(&mut c, &["GETRANGE", "missing", "0", "-1"], b(""));
    expect(&mut c, &["SUBSTR", "missing", "0", "1"], b(""));
    expect_err(&mut c, &["GETRANGE", "gr", "a", "1"], NOT_INT);
    expect_err(&mut c, &["GETRANGE", "gr", "0", "b"], NOT_INT);
    expect_err(&mut c, &["SUBSTR", "gr", "x", "1"], NOT_INT);
    expect_err(&mut c, &["GETRANGE", "gr", "0"], &arity("getrange"));
    expect_err(&mut c, &["GETRANGE", "gr", "0", "1", "2"], &arity("getrange"));
    expect_err(&mut c, &["SUBSTR", "gr", "1"], &arity("substr"));
    expect(&mut c, &["SET", "grint", "1234567"], OK);
    expect(&mut c, &["GETRANGE", "grint", "1", "3"], b("234"));
    expect(&mut c, &["GETRANGE", "grint", "-2", "-1"], b("67"));
    expect(&mut c, &["SET", "grempty", ""], OK);
    expect(&mut c, &["GETRANGE", "grempty", "0", "-1"], b(""));
    expect(&mut c, &["GETRANGE", "grempty", "0", "0"], b(""));
    assert_eq!(valb(&mut c, &[b"SET", b"grbin", b"\x00\x01\x02\xff"]), OK);
    assert_eq!(valb(&mut c, &[b"GETRANGE", b"grbin", b"1", b"-1"]), bb(b"\x01\x02\xff"));
}

#[test]
fn setrange() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "sr", "Hello World"], OK);
    expect(&mut c, &["SETRANGE", "sr", "6", "Redis"], i(11));
    expect(&mut c, &["GET", "sr"], b("Hello Redis"));
    expect(&mut c, &["SETRANGE", "sr", "20", "tail"], i(24));
    assert_eq!(valb(&mut c, &[b"GET", b"sr"]), bb(b"Hello Redis\0\0\0\0\0\0\0\0\0tail"));
    expect(&mut c, &["STRLEN", "sr"], i(24));
    expect(&mut c, &["SETRANGE", "sr-new", "3", "abc"], i(6));
    assert_eq!(valb(&mut c, &[b"GET", b"sr-new"]), bb(b"\0\0\0abc"));
    // Empty values on missing keys create nothing.
    expect(&mut c, &["SETRANGE", "sr-new2", "0", ""], i(0));
    expect(&mut c, &["EXISTS", "sr-new2"], i(0));
    expect(&mut c, &["SETRANGE", "sr-new3", "5", ""], i(0));
    expect(&mut c, &["EXISTS", "sr-new3"], i(0));
    // Empty value on an existing key: the length, unchanged.
    expect(&mut c, &["SETRANGE", "sr", "0", ""], i(24));
    expect(&mut c, &["SETRANGE", "sr", "536870912", ""], i(24));
    expect(&mut c, &["STRLEN", "sr"], i(24));
    expect_err(&mut c, &["SETRANGE", "sr", "-1", "x"], "ERR offset is out of range");
    expect_err(&mut c, &["SETRANGE", "sr", "abc", "x"], NOT_INT);
    expect_err(&mut c, &["SETRANGE", "sr", "536870912", "x"], TOO_LONG);
    expect_err(&mut c, &["SETRANGE", "sr", "536870911", "xy"], TOO_LONG);
    expect_err(&mut c, &["SETRANGE", "sr-big", "536870912", "x"], TOO_LONG);
    expect(&mut c, &["EXISTS", "sr-big"], i(0));
    expect(&mut c, &["SETRANGE", "sr-big", "536870912", ""], i(0));
    expect_err(&mut c, &["SETRANGE", "sr", "1"], &arity("setrange"));
    expect_err(&mut c, &["SETRANGE", "sr", "1", "a", "b"], &arity("setrange"));
    // On integer-encoded values.
    expect(&mut c, &["SET", "srint", "100"], OK);
    expect(&mut c, &["SETRANGE", "srint", "1", "5"], i(3));
    expect(&mut c, &["GET", "srint"], b("150"));
    expect(&mut c, &["INCR", "srint"], i(151));
    assert_eq!(valb(&mut c, &[b"SETRANGE", b"srbin", b"2", b"\x00\xff"]), i(4));
    assert_eq!(valb(&mut c, &[b"GET", b"srbin"]), bb(b"\0\0\0\xff"));
    // SETRANGE keeps the TTL.
    expect(&mut c, &["SET", "t", "value", "EX", "100"], OK);
    expect(&mut c, &["SETRANGE", "t", "0", "V"], i(5));
    expect(&mut c, &["TTL", "t"], i(100));
    expect(&mut c, &["GET", "t"], b("Value"));
}

// ---------------------------------------------------------------------------------------------------------------
// INCR / DECR / INCRBY / DECRBY
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn incr_decr() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["INCR", "counter"], i(1));
    expect(&mut c, &["INCR", "counter"], i(2));
    expect(&mut c, &["GET", "counter"], b("2"));
    expect(&mut c, &["DECR", "counter"], i(1));
    expect(&mut c, &["DECR", "counter"], i(0));
    expect(&mut c, &["DECR", "counter"], i(-1));
    expect(&mut c, &["GET", "counter"], b("-1"));
    expect(&mut c, &["INCRBY", "counter", "100"], i(99));
    expect(&mut c, &["INCRBY", "counter", "-50"], i(49));
    expect(&mut c, &["DECRBY", "counter", "25"], i(24));
    expect(&mut c, &["DECRBY", "counter", "-5"], i(29));
    expect(&mut c, &["GET", "counter"], b("29"));
    expect(&mut c, &["INCRBY", "counter", "0"], i(29));
    expect(&mut c, &["DECR", "new-decr"], i(-1));
    expect(&mut c, &["INCRBY", "new-incrby", "7"], i(7));
    expect(&mut c, &["DECRBY", "new-decrby", "7"], i(-7));
    for bad in ["abc", "1.5", "", "9223372036854775808", " 1", "1 ", "+1", "01", "0x10", "-0"] {
        expect_err(&mut c, &["INCRBY", "counter", bad], NOT_INT);
        expect_err(&mut c, &["DECRBY", "counter", bad], NOT_INT);
    }
    expect_err(&mut c, &["DECRBY", "counter", "-9223372036854775808"], "ERR decrement would overflow");
    expect(&mut c, &["GET", "counter"], b("29"));
    expect_err(&mut c, &["INCR"], &arity("incr"));
    expect_err(&mut c, &["INCR", "a", "b"], &arity("incr"));
    expect_err(&mut c, &["DECR"], &arity("decr"));
    expect_err(&mut c, &["INCRBY", "counter"], &arity("incrby"));
    expect_err(&mut c, &["INCRBY", "counter", "1", "2"], &arity("incrby"));
    expect_err(&mut c, &["DECRBY", "counter"], &arity("decrby"));
}

#[test]
fn incr_overflow_and_bounds() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "big", "9223372036854775807"], OK);
    expect_err(&mut c, &["INCR", "big"], OVERFLOW);
    expect_err(&mut c, &["INCRBY", "big", "1"], OVERFLOW);
    expect_err(&mut c, &["DECRBY", "big", "-1"], OVERFLOW);
    expect(&mut c, &["GET", "big"], b("9223372036854775807"));
    expect(&mut c, &["DECR", "big"], i(9223372036854775806));
    expect(&mut c, &["SET", "small", "-9223372036854775808"], OK);
    expect_err(&mut c, &["DECR", "small"], OVERFLOW);
    expect_err(&mut c, &["DECRBY", "small", "1"], OVERFLOW);
    expect_err(&mut c, &["INCRBY", "small", "-1"], OVERFLOW);
    expect(&mut c, &["INCR", "small"], i(-9223372036854775807));
    expect(&mut c, &["SET", "small", "-9223372036854775807"], OK);
    expect_err(&mut c, &["DECRBY", "small", "9223372036854775807"], OVERFLOW);
    expect(&mut c, &["INCRBY", "zero", "-9223372036854775808"], i(i64::MIN));
    expect(&mut c, &["SET", "m", "-9223372036854775808"], OK);
    expect(&mut c, &["INCRBY", "m", "9223372036854775807"], i(-1));
}

#[test]
fn incr_non_integer_values() {
    let s = TestServer::start();
    let mut c = s.conn();
    for (k, v) in [
        ("notnum", "abc"),
        ("spaced", " 1"),
        ("trailing", "1 "),
        ("plus", "+1"),
        ("lead0", "007"),
        ("neg0", "-0"),
        ("float", "1.5"),
        ("empty", ""),
        ("hugenum", "99999999999999999999"),
        ("hex", "0x10"),
    ] {
        expect(&mut c, &["SET", k, v], OK);
        expect_err(&mut c, &["INCR", k], NOT_INT);
        expect_err(&mut c, &["DECR", k], NOT_INT);
        expect_err(&mut c, &["INCRBY", k, "1"], NOT_INT);
        expect_err(&mut c, &["DECRBY", k, "1"], NOT_INT);
        expect(&mut c, &["GET", k], b(v));
    }
    expect(&mut c, &["SET", "k10", "10"], OK);
    expect(&mut c, &["INCR", "k10"], i(11));
    expect(&mut c, &["OBJECT", "ENCODING", "k10"], b("int"));
    expect(&mut c, &["SET", "neg", "-5"], OK);
    expect(&mut c, &["INCR", "neg"], i(-4));
    // INCR keeps the TTL.
    expect(&mut c, &["SET", "n", "5", "EX", "100"], OK);
    expect(&mut c, &["INCR", "n"], i(6));
    expect(&mut c, &["DECRBY", "n", "2"], i(4));
    expect(&mut c, &["TTL", "n"], i(100));
}

// ---------------------------------------------------------------------------------------------------------------
// INCRBYFLOAT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn incrbyfloat() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "f", "10.5"], OK);
    expect(&mut c, &["INCRBYFLOAT", "f", "0.1"], b("10.6"));
    expect(&mut c, &["INCRBYFLOAT", "f", "-5"], b("5.6"));
    expect(&mut c, &["INCRBYFLOAT", "f", "1.0e3"], b("1005.59999999999999998"));
    expect(&mut c, &["INCRBYFLOAT", "f", "5.0e3"], b("6005.60000000000000009"));
    expect(&mut c, &["INCRBYFLOAT", "f", "2.0e-2"], b("6005.62000000000000011"));
    expect(&mut c, &["INCRBYFLOAT", "f", "-6015.62"], b("-10"));
    expect(&mut c, &["GET", "f"], b("-10"));
    expect(&mut c, &["INCRBYFLOAT", "f2", "3"], b("3"));
    expect(&mut c, &["INCRBYFLOAT", "f2", "0.25"], b("3.25"));
    expect(&mut c, &["INCRBYFLOAT", "f2", ".5"], b("3.75"));
    expect(&mut c, &["INCRBYFLOAT", "f2", "-0"], b("3.75"));
    expect(&mut c, &["INCRBYFLOAT", "f3", "5.0"], b("5"));
    expect(&mut c, &["INCRBYFLOAT", "f3", "0"], b("5"));
    expect(&mut c, &["GET", "f3"], b("5"));
    expect(&mut c, &["INCRBYFLOAT", "f4", "1e20"], b("100000000000000000000"));
    expect(&mut c, &["INCRBYFLOAT", "f4", "1"], b("100000000000000000000"));
    expect(&mut c, &["INCRBYFLOAT", "f5", "0.1"], b("0.1"));
    expect(&mut c, &["INCRBYFLOAT", "f5", "0.2"], b("0.3"));
    expect(&mut c, &["INCRBYFLOAT", "f6", "3.0e-5"], b("0.00003"));
    expect(&mut c, &["INCRBYFLOAT", "f7", "-1.5"], b("-1.5"));
    expect(&mut c, &["INCRBYFLOAT", "f10", "-0.0"], b("0"));
    expect(&mut c, &["SET", "fint", "5"], OK);
    expect(&mut c, &["INCRBYFLOAT", "fint", "2"], b("7"));
    expect(&mut c, &["OBJECT", "ENCODING", "fint"], b("embstr"));
    expect(&mut c, &["INCRBYFLOAT", "fint", "1.5"], b("8.5"));
    expect(&mut c, &["SET", "ftrail", "1.50"], OK);
    expect(&mut c, &["INCRBYFLOAT", "ftrail", "0"], b("1.5"));
    expect(&mut c, &["SET", "fexp", "1e2"], OK);
    expect(&mut c, &["INCRBYFLOAT", "fexp", "1"], b("101"));
    expect(&mut c, &["SET", "fover", "9223372036854775807"], OK);
    expect(&mut c, &["INCRBYFLOAT", "fover", "1"], b("9223372036854775808"));
    expect(&mut c, &["SET", "frnd", "1.1"], OK);
    expect(&mut c, &["INCRBYFLOAT", "frnd", "2.2"], b("3.3"));
    expect(&mut c, &["INCRBYFLOAT", "frnd", "3.3"], b("6.6"));
    expect(&mut c, &["INCRBYFLOAT", "frnd", "123456789.123456789"], b("123456795.72345678899728227"));
    // Beyond double range: long double arithmetic.
    let e308 = "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048";
    let e308x2 = "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096";
    expect(&mut c, &["INCRBYFLOAT", "f8", "1e308"], b(e308));
    expect(&mut c, &["INCRBYFLOAT", "f8", "1e308"], b(e308x2));
    expect(&mut c, &["GET", "f8"], b(e308x2));
    // strtold accepts hexadecimal floats.
    expect(&mut c, &["INCRBYFLOAT", "fhex", "0x10"], b("16"));
}

#[test]
fn incrbyfloat_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_err(&mut c, &["INCRBYFLOAT", "f9", "inf"], "ERR increment would produce NaN or Infinity");
    expect_err(&mut c, &["INCRBYFLOAT", "f9", "-inf"], "ERR increment would produce NaN or Infinity");
    expect_err(&mut c, &["INCRBYFLOAT", "f9", "+inf"], "ERR increment would produce NaN or Infinity");
    for bad in ["nan", "abc", "", "1 ", " 1", "1e"] {
        expect_err(&mut c, &["INCRBYFLOAT", "f9", bad], NOT_FLOAT);
    }
    expect(&mut c, &["EXISTS", "f9"], i(0));
    expect(&mut c, &["SET", "fstr", "abc"], OK);
    expect_err(&mut c, &["INCRBYFLOAT", "fstr", "1"], NOT_FLOAT);
    expect(&mut c, &["SET", "finf", "inf"], OK);
    expect_err(&mut c, &["INCRBYFLOAT", "finf", "1"], "ERR increment would produce NaN or Infinity");
    expect(&mut c, &["GET", "finf"], b("inf"));
    expect_err(&mut c, &["INCRBYFLOAT"], &arity("incrbyfloat"));
    expect_err(&mut c, &["INCRBYFLOAT", "f10"], &arity("incrbyfloat"));
    expect_err(&mut c, &["INCRBYFLOAT", "f10", "1", "2"], &arity("incrbyfloat"));
    // INCRBYFLOAT keeps the TTL.
    expect(&mut c, &["SET", "n", "5", "EX", "100"], OK);
    expect(&mut c, &["INCRBYFLOAT", "n", "1.5"], b("6.5"));
    expect(&mut c, &["TTL", "n"], i(100));
}

// ---------------------------------------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------------------------------------

fn pair(a: i64, b: i64) -> Value {
    arr(vec![i(a), i(b)])
}

#[test]
fn lcs_resp2() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"], OK);
    expect(&mut c, &["LCS", "key1", "key2"], b("mytext"));
    expect(&mut c, &["LCS", "key1", "key2", "LEN"], i(6));
    let m1 = arr(vec![pair(4, 7), pair(5, 8)]);
    let m2 = arr(vec![pair(2, 3), pair(0, 1)]);
    let idx = |matches: Vec<Value>, len: i64| arr(vec![b("matches"), arr(matches), b("len"), i(len)]);
    expect(&mut c, &["LCS", "key1", "key2", "IDX"], idx(vec![m1.clone(), m2.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"], idx(vec![m1.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "0"], idx(vec![m1.clone(), m2.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-5"], idx(vec![m1.clone(), m2.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "100"], idx(vec![], 6));
    let m1l = arr(vec![pair(4, 7), pair(5, 8), i(4)]);
    let m2l = arr(vec![pair(2, 3), pair(0, 1), i(2)]);
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"], idx(vec![m1l.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"], idx(vec![m1l.clone(), m2l.clone()], 6));
    expect(&mut c, &["LCS", "key1", "key2", "idx", "minmatchlen", "2", "withmatchlen"], idx(vec![m1l, m2l], 6));
    // Options that only matter with IDX are accepted and ignored otherwise.
    expect(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN", "2"], b("mytext"));
    expect(&mut c, &["LCS", "key1", "key2", "WITHMATCHLEN"], b("mytext"));
    expect(&mut c, &["LCS", "key1", "key2", "LEN", "WITHMATCHLEN"], i(6));
    expect_err(
        &mut c,
        &["LCS", "key1", "key2", "LEN", "IDX"],
        "ERR If you want both the length and indexes, please just use IDX.",
    );
    expect_err(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "abc"], NOT_INT);
    expect_err(&mut c, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN"], SYNTAX);
    expect_err(&mut c, &["LCS", "key1", "key2", "FOO"], SYNTAX);
    expect_err(&mut c, &["LCS", "key1"], &arity("lcs"));
    expect_err(&mut c, &["LCS"], &arity("lcs"));
    // Missing keys are empty strings.
    expect(&mut c, &["LCS", "key1", "missing"], b(""));
    expect(&mut c, &["LCS", "missing1", "missing2"], b(""));
    expect(&mut c, &["LCS", "missing1", "missing2", "LEN"], i(0));
    expect(&mut c, &["LCS", "missing1", "missing2", "IDX"], idx(vec![], 0));
    expect(&mut c, &["LCS", "key1", "key1"], b("ohmytext"));
    expect(&mut c, &["LCS", "key1", "key1", "IDX"], idx(vec![arr(vec![pair(0, 7), pair(0, 7)])], 8));
    expect(&mut c, &["MSET", "a1", "abc", "a2", "xyz"], OK);
    expect(&mut c, &["LCS", "a1", "a2"], b(""));
    expect(&mut c, &["LCS", "a1", "a2", "LEN"], i(0));
    expect(&mut c, &["LCS", "a1", "a2", "IDX"], idx(vec![], 0));
    expect(&mut c, &["MSET", "b1", "ABCBDAB", "b2", "BDCABA"], OK);
    expect(&mut c, &["LCS", "b1", "b2"], b("BDAB"));
    expect(
        &mut c,
        &["LCS", "b1", "b2", "IDX", "WITHMATCHLEN"],
        idx(vec![arr(vec![pair(5, 6), pair(3, 4), i(2)]), arr(vec![pair(3, 4), pair(0, 1), i(2)])], 4),
    );
    expect(&mut c, &["MSET", "c1", "", "c2", "abc"], OK);
    expect(&mut c, &["LCS", "c1", "c2"], b(""));
    expect(&mut c, &["LCS", "c1", "c2", "IDX"], idx(vec![], 0));
    assert_eq!(valb(&mut c, &[b"MSET", b"d1", b"\x00\x01\x02\x03", b"d2", b"\x01\x02\xff"]), OK);
    assert_eq!(valb(&mut c, &[b"LCS", b"d1", b"d2"]), bb(b"\x01\x02"));
}

#[test]
fn lcs_resp3_idx_is_a_map() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"], OK);
    expect(&mut c, &["LCS", "key1", "key2"], b("mytext"));
    expect(&mut c, &["LCS", "key1", "key2", "LEN"], i(6));
    let want = Value::Map(vec![
        (b("matches"), arr(vec![arr(vec![pair(4, 7), pair(5, 8), i(4)]), arr(vec![pair(2, 3), pair(0, 1), i(2)])])),
        (b("len"), i(6)),
    ]);
    expect(&mut c, &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"], want);
    expect(&mut c, &["LCS", "key1", "missing", "IDX"], Value::Map(vec![(b("matches"), arr(vec![])), (b("len"), i(0))]));
    // Exact bytes in both protocols.
    for proto in [2u8, 3] {
        let mut r = Resp::new(&s, proto);
        let got = r.cmd(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"]);
        let head = if proto == 2 { "*4\r\n" } else { "%2\r\n" };
        let want =
            format!("{head}$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n");
        assert_eq!(got, want, "RESP{proto}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reply encodings in RESP2 and RESP3
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn nil_replies_in_resp2_and_resp3() {
    let s = TestServer::start();
    {
        let mut c = s.conn();
        expect(&mut c, &["MSET", "a", "1", "b", "hello"], OK);
    }
    for proto in [2u8, 3] {
        let mut r = Resp::new(&s, proto);
        let nil = if proto == 2 { "$-1\r\n" } else { "_\r\n" };
        assert_eq!(r.cmd(&["GET", "missing"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["GET", "b"]), "$5\r\nhello\r\n");
        assert_eq!(r.cmd(&["SET", "b", "x", "NX"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["SET", "zz", "x", "XX"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["SET", "zz", "x", "XX", "GET"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["SET", "b", "hello", "GET"]), "$5\r\nhello\r\n");
        assert_eq!(r.cmd(&["SET", "b", "hello"]), "+OK\r\n");
        assert_eq!(r.cmd(&["GETSET", "missing", "v"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["DEL", "missing"]), ":1\r\n");
        assert_eq!(r.cmd(&["GETDEL", "missing"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["GETEX", "missing", "EX", "10"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["MGET", "a", "missing", "b"]), format!("*3\r\n$1\r\n1\r\n{nil}$5\r\nhello\r\n"));
        assert_eq!(r.cmd(&["INCR", "a"]), ":2\r\n");
        assert_eq!(r.cmd(&["INCRBYFLOAT", "a", "0.5"]), "$3\r\n2.5\r\n");
        assert_eq!(r.cmd(&["SET", "a", "1"]), "+OK\r\n");
        assert_eq!(r.cmd(&["GETRANGE", "missing", "0", "-1"]), "$0\r\n\r\n");
        assert_eq!(r.cmd(&["STRLEN", "b"]), ":5\r\n");
        assert_eq!(r.cmd(&["MSETNX", "a", "x"]), ":0\r\n");
        assert_eq!(r.cmd(&["LCS", "a", "b", "LEN"]), ":0\r\n");
        assert_eq!(r.cmd(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(r.cmd(&["SET", "k", "v", "EX", "0"]), "-ERR invalid expire time in 'set' command\r\n");
    }
}

#[test]
fn pipelined_string_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for n in 0..1000 {
        p.cmd("SET").arg(format!("p:{n}")).arg(n).ignore();
    }
    for n in 0..1000 {
        p.cmd("INCRBY").arg(format!("p:{n}")).arg(n);
    }
    let got: Vec<i64> = p.query(&mut c).expect("pipeline");
    assert_eq!(got, (0..1000).map(|n| 2 * n).collect::<Vec<i64>>());
    expect(&mut c, &["GET", "p:999"], b("1998"));
    expect(&mut c, &["DBSIZE"], i(1000));
}

// ---------------------------------------------------------------------------------------------------------------
// Randomised checks against a reference model
// ---------------------------------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len).map(|_| alphabet[self.below(alphabet.len() as u64) as usize]).collect()
    }
}

/// GETRANGE as Redis 7.0 computes it.
fn getrange_model(v: &[u8], start: i64, end: i64) -> Vec<u8> {
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Vec::new();
    }
    let (mut start, mut end) = (if start < 0 { len + start } else { start }, if end < 0 { len + end } else { end });
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Vec::new();
    }
    v[start as usize..=end as usize].to_vec()
}

#[test]
fn getrange_matches_reference_model() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..20 {
        let len = rng.below(40) as usize;
        let v = rng.bytes(len, b"abcdefghij\x00\xff");
        let key = format!("gr:{round}");
        assert_eq!(valb(&mut c, &[b"SET", key.as_bytes(), &v]), OK);
        let mut p = redis::pipe();
        let mut ranges = Vec::new();
        for _ in 0..50 {
            let (a, z) = (rng.range(-50, 50), rng.range(-50, 50));
            ranges.push((a, z));
            p.cmd("GETRANGE").arg(&key).arg(a).arg(z);
        }
        let got: Vec<Vec<u8>> = p.query(&mut c).expect("pipeline");
        for ((a, z), g) in ranges.into_iter().zip(got) {
            assert_eq!(g, getrange_model(&v, a, z), "GETRANGE of {v:?} {a} {z}");
        }
    }
}

#[test]
fn random_string_mutations_match_model() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(12345);
    for key_no in 0..8 {
        let key = format!("model:{key_no}");
        let mut model: Option<Vec<u8>> = None;
        for _ in 0..150 {
            match rng.below(5) {
                0 => {
                    let n = rng.below(6) as usize;
                    let add = rng.bytes(n, b"xyz\x00");
                    let got: i64 = redis::cmd("APPEND").arg(&key).arg(&add).query(&mut c).expect("APPEND");
                    let m = model.get_or_insert_with(Vec::new);
                    m.extend_from_slice(&add);
                    assert_eq!(got, m.len() as i64);
                }
                1 => {
                    let off = rng.below(60) as usize;
                    let n = rng.below(5) as usize;
                    let val = rng.bytes(n, b"ABC");
                    let got: i64 = redis::cmd("SETRANGE").arg(&key).arg(off).arg(&val).query(&mut c).expect("SETRANGE");
                    if model.is_some() || !val.is_empty() {
                        let m = model.get_or_insert_with(Vec::new);
                        if !val.is_empty() {
                            if m.len() < off + val.len() {
                                m.resize(off + val.len(), 0);
                            }
                            m[off..off + val.len()].copy_from_slice(&val);
                        }
                    }
                    assert_eq!(got, model.as_ref().map_or(0, |m| m.len() as i64));
                }
                2 => {
                    let bit = rng.below(400);
                    let on = rng.below(2);
                    let old: i64 = redis::cmd("SETBIT").arg(&key).arg(bit).arg(on).query(&mut c).expect("SETBIT");
                    let m = model.get_or_insert_with(Vec::new);
                    let byte = (bit / 8) as usize;
                    if m.len() <= byte {
                        m.resize(byte + 1, 0);
                    }
                    let mask = 0x80u8 >> (bit % 8);
                    assert_eq!(old, i64::from(m[byte] & mask != 0));
                    if on == 1 {
                        m[byte] |= mask;
                    } else {
                        m[byte] &= !mask;
                    }
                }
                3 => {
                    let got: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query(&mut c).expect("GET");
                    assert_eq!(got, model);
                    let len: i64 = redis::cmd("STRLEN").arg(&key).query(&mut c).expect("STRLEN");
                    assert_eq!(len, model.as_ref().map_or(0, |m| m.len() as i64));
                }
                _ => {
                    if rng.below(10) == 0 {
                        let _: i64 = redis::cmd("DEL").arg(&key).query(&mut c).expect("DEL");
                        model = None;
                    }
                }
            }
        }
        let got: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query(&mut c).expect("GET");
        assert_eq!(got, model, "{key}");
    }
}

/// Length of the longest common subsequence (dynamic programming).
fn lcs_len_model(a: &[u8], b: &[u8]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    for &x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { prev[j + 1].max(cur[j]) };
        }
        prev = cur;
    }
    prev[b.len()]
}

fn is_subsequence(sub: &[u8], of: &[u8]) -> bool {
    let mut it = of.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

#[test]
fn lcs_matches_reference_model() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(777);
    for round in 0..15 {
        let n = rng.below(200) as usize;
        let a = rng.bytes(n, b"ACGT");
        let n = rng.below(200) as usize;
        let bv = rng.bytes(n, b"ACGT");
        let (ka, kb) = (format!("a{round}"), format!("b{round}"));
        assert_eq!(valb(&mut c, &[b"MSET", ka.as_bytes(), &a, kb.as_bytes(), &bv]), OK);
        let want = lcs_len_model(&a, &bv);
        let len: i64 = q(&mut c, &["LCS", &ka, &kb, "LEN"]);
        assert_eq!(len as usize, want, "LCS LEN round {round}");
        let sub: Vec<u8> = q(&mut c, &["LCS", &ka, &kb]);
        assert_eq!(sub.len(), want);
        assert!(is_subsequence(&sub, &a) && is_subsequence(&sub, &bv), "round {round}");
        // IDX: the ranges are disjoint, decreasing, cover `len` bytes and match in both strings.
        let Value::Array(parts) = val(&mut c, &["LCS", &ka, &kb, "IDX", "WITHMATCHLEN"]) else { panic!("IDX reply") };
        assert_eq!(parts[3], i(want as i64));
        let Value::Array(matches) = &parts[1] else { panic!("matches") };
        let mut total = 0;
        for m in matches {
            let Value::Array(m) = m else { panic!("match") };
            let r = |v: &Value| -> (usize, usize) {
                let Value::Array(p) = v else { panic!("range") };
                let (Value::Int(x), Value::Int(y)) = (&p[0], &p[1]) else { panic!("range ints") };
                (*x as usize, *y as usize)
            };
            let ((a0, a1), (b0, b1)) = (r(&m[0]), r(&m[1]));
            assert_eq!(a1 - a0, b1 - b0);
            assert_eq!(m[2], i((a1 - a0 + 1) as i64));
            assert_eq!(a[a0..=a1], bv[b0..=b1]);
            total += a1 - a0 + 1;
        }
        assert_eq!(total, want, "round {round}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Option parsing order and encodings after writes
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn option_errors_are_reported_in_redis_order() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Syntax is checked over all options before the expire value is parsed.
    expect_err(&mut c, &["SET", "k", "v", "EX", "abc", "NX", "XX"], SYNTAX);
    expect_err(&mut c, &["SET", "k", "v", "EX", "0", "FOO"], SYNTAX);
    expect_err(&mut c, &["SET", "k", "v", "EX", "abc"], NOT_INT);
    expect_err(&mut c, &["SET", "k", "v", "NX", "EX", "-1"], &invalid_expire("set"));
    expect_err(&mut c, &["INCRBY", "missing", "abc"], NOT_INT);
    expect_err(&mut c, &["GETRANGE", "missing", "x", "0"], NOT_INT);
    expect_err(&mut c, &["SETRANGE", "missing", "-1", ""], "ERR offset is out of range");
    expect_err(&mut c, &["LCS", "missing", "missing2", "FOO"], SYNTAX);
    expect_err(&mut c, &["SETEX", "missing", "0", "v"], &invalid_expire("setex"));
    expect(&mut c, &["DBSIZE"], i(0));
    // A refused SET NX with a past EXAT does not touch the existing key.
    expect(&mut c, &["SET", "k", "v"], OK);
    expect(&mut c, &["SET", "k", "w", "NX", "EXAT", "1"], NIL);
    expect(&mut c, &["GET", "k"], b("v"));
    expect(&mut c, &["SET", "new", "w", "NX", "PXAT", "1"], OK);
    expect(&mut c, &["EXISTS", "new"], i(0));
}

#[test]
fn getex_missing_key_ignores_an_invalid_time() {
    let s = TestServer::start();
    let mut c = s.conn();
    // GETEX checks option syntax first, then looks the key up, and only then parses the time: a missing key
    // answers nil even with an invalid time.
    expect_err(&mut c, &["GETEX", "missing", "FOO"], SYNTAX);
    expect_err(&mut c, &["GETEX", "missing", "EX", "10", "PX", "10"], SYNTAX);
    expect(&mut c, &["GETEX", "missing", "EX", "abc"], NIL);
    expect(&mut c, &["GETEX", "missing", "EX", "0"], NIL);
    expect(&mut c, &["GETEX", "missing", "PXAT", "-5"], NIL);
    expect(&mut c, &["GETEX", "missing", "EX", "9223372036854775807"], NIL);
    expect(&mut c, &["EXISTS", "missing"], i(0));
    // An existing key gets the errors.
    expect(&mut c, &["SET", "k", "v"], OK);
    expect_err(&mut c, &["GETEX", "k", "EX", "abc"], NOT_INT);
    expect_err(&mut c, &["GETEX", "k", "EX", "0"], &invalid_expire("getex"));
}

#[test]
fn encodings_after_writes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let enc = |c: &mut redis::Connection, k: &str, want: &str| expect(c, &["OBJECT", "ENCODING", k], b(want));
    expect(&mut c, &["SET", "a", "10"], OK);
    expect(&mut c, &["APPEND", "a", ""], i(2));
    enc(&mut c, "a", "raw");
    expect(&mut c, &["SET", "b", "10"], OK);
    expect(&mut c, &["SETRANGE", "b", "0", ""], i(2));
    enc(&mut c, "b", "int");
    expect(&mut c, &["SETRANGE", "b", "0", "2"], i(2));
    enc(&mut c, "b", "raw");
    expect(&mut c, &["GET", "b"], b("20"));
    expect(&mut c, &["SETBIT", "c", "0", "1"], i(0));
    enc(&mut c, "c", "raw");
    expect(&mut c, &["GETSET", "d", "123"], NIL);
    enc(&mut c, "d", "int");
    expect(&mut c, &["GETSET", "d", "abc"], b("123"));
    enc(&mut c, "d", "embstr");
    expect(&mut c, &["SETEX", "e", "100", "77"], OK);
    enc(&mut c, "e", "int");
    expect(&mut c, &["OBJECT", "REFCOUNT", "e"], i(2147483647));
    expect(&mut c, &["MSET", "f", "9999", "g", "10000"], OK);
    expect(&mut c, &["OBJECT", "REFCOUNT", "f"], i(2147483647));
    expect(&mut c, &["OBJECT", "REFCOUNT", "g"], i(1));
    expect(&mut c, &["SET", "h", "-1"], OK);
    expect(&mut c, &["OBJECT", "REFCOUNT", "h"], i(1));
    expect(&mut c, &["INCRBYFLOAT", "i", "3"], b("3"));
    enc(&mut c, "i", "embstr");
    expect(&mut c, &["INCR", "i"], i(4));
    enc(&mut c, "i", "int");
    expect(&mut c, &["SET", "j", "12345"], OK);
    expect(&mut c, &["SET", "k", "2345"], OK);
    expect(&mut c, &["LCS", "j", "k"], b("2345"));
    expect(&mut c, &["GETRANGE", "j", "1", "2"], b("23"));
    expect(&mut c, &["STRLEN", "j"], i(5));
    expect(&mut c, &["BITCOUNT", "j"], i(17));
}

// ---------------------------------------------------------------------------------------------------------------
// Atomicity with concurrent clients
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn concurrent_incr_loses_no_updates() {
    let s = TestServer::start();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut c = s.conn();
                let mut p = redis::pipe();
                for _ in 0..500 {
                    p.cmd("INCR").arg("ctr").ignore();
                    p.cmd("INCRBYFLOAT").arg("fctr").arg("0.5").ignore();
                    p.cmd("APPEND").arg("log").arg("x").ignore();
                }
                let () = p.query(&mut c).expect("pipeline");
            });
        }
    });
    let mut c = s.conn();
    expect(&mut c, &["GET", "ctr"], b("2000"));
    expect(&mut c, &["GET", "fctr"], b("1000"));
    expect(&mut c, &["STRLEN", "log"], i(2000));
}

#[test]
fn mset_is_atomic_for_concurrent_readers() {
    let s = TestServer::start();
    let names: Vec<String> = (0..16).map(|n| format!("atomic:{n}")).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut c = s.conn();
            for round in 0..2000 {
                let mut cmd = redis::cmd("MSET");
                for k in &names {
                    cmd.arg(k).arg(round);
                }
                let () = cmd.query(&mut c).expect("MSET");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        scope.spawn(|| {
            let mut c = s.conn();
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                let got: Vec<Option<String>> = redis::cmd("MGET").arg(&names).query(&mut c).expect("MGET");
                let first = &got[0];
                assert!(got.iter().all(|v| v == first), "MGET saw a partial MSET: {got:?}");
                reads += 1;
            }
        });
    });
}

/// Reading values costs no memory: sharing a stored buffer with a reply gave the buffer a reference count, allocated
/// on its first read (32 bytes) and kept as long as the key.
#[test]
fn reading_values_keeps_memory_flat() {
    let s = TestServer::start();
    let mut c = s.conn();
    let value = "v".repeat(100);
    let n = 20_000;
    let mut set = redis::pipe();
    for i in 0..n {
        set.cmd("SET").arg(format!("k{i}")).arg(&value).ignore();
    }
    set.query::<()>(&mut c).expect("SET");
    let used = |c: &mut redis::Connection| -> i64 {
        let info: String = q(c, &["INFO", "memory"]);
        info.lines().find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok()).expect("used_memory")
    };
    let before = used(&mut c);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut get = redis::pipe();
        for i in chunk {
            get.cmd("GET").arg(format!("k{i}"));
            get.cmd("GETRANGE").arg(format!("k{i}")).arg(0).arg(-1);
        }
        let got: Vec<String> = get.query(&mut c).expect("GET");
        assert!(got.iter().all(|v| *v == value));
    }
    let grown = used(&mut c) - before;
    // Shared, the 20,000 values would have grown by 640 KB.
    assert!(grown < 200_000, "reading grew memory by {grown} bytes");
}
