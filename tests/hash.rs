//! Hash commands: HSET HMSET HSETNX HGET HMGET HDEL HLEN HSTRLEN HEXISTS HGETALL HKEYS HVALS HINCRBY HINCRBYFLOAT
//! HRANDFIELD HSCAN, checked against Redis 7.0's exact replies and error texts, in RESP2 and RESP3, with the
//! listpack → hashtable encoding conversion.

mod common;
use common::*;
use redis::Value;
use std::collections::{HashMap, HashSet};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// A RESP2 flat field/value array as a map.
fn flat_pairs(v: &Value) -> HashMap<String, String> {
    let t = texts(v);
    assert!(t.len().is_multiple_of(2), "odd field/value array {t:?}");
    let m: HashMap<String, String> = t.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    assert_eq!(m.len(), t.len() / 2, "duplicate fields in {t:?}");
    m
}

/// Fills hash `key` with `n` fields `f{i}` → `v{i}` through one pipeline.
fn fill(c: &mut redis::Connection, key: &str, n: usize) {
    let mut p = redis::pipe();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key);
        for j in chunk {
            cmd.arg(format!("f{j}")).arg(format!("v{j}"));
        }
        p.add_command(cmd).ignore();
    }
    p.query::<()>(c).expect("pipeline");
}

// ---------------------------------------------------------------------------------------------------------------
// HSET / HMSET / HSETNX / HGET / HMGET
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn hset_hget_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"], i(3));
    // Only new fields count; existing ones are overwritten.
    expect(&mut c, &["HSET", "h", "a", "10", "d", "4"], i(1));
    expect(&mut c, &["HSET", "h", "a", "11"], i(0));
    expect(&mut c, &["HGET", "h", "a"], b("11"));
    expect(&mut c, &["HGET", "h", "d"], b("4"));
    expect(&mut c, &["HGET", "h", "nope"], NIL);
    expect(&mut c, &["HGET", "nokey", "a"], NIL);
    expect(&mut c, &["TYPE", "h"], Value::SimpleString("hash".into()));
    // The same field twice in one call: counted once, last value wins.
    expect(&mut c, &["HSET", "h2", "x", "1", "x", "2"], i(1));
    expect(&mut c, &["HGET", "h2", "x"], b("2"));
    expect(&mut c, &["HLEN", "h2"], i(1));
    // HMSET answers OK and behaves like HSET.
    expect(&mut c, &["HMSET", "h", "e", "5", "a", "12"], OK);
    expect(&mut c, &["HGET", "h", "e"], b("5"));
    expect(&mut c, &["HGET", "h", "a"], b("12"));
    expect(&mut c, &["HLEN", "h"], i(5));
    // Empty field names and values, binary data, case-sensitive fields.
    expect(&mut c, &["HSET", "h", "", "empty-field"], i(1));
    expect(&mut c, &["HSET", "h", "ev", ""], i(1));
    expect(&mut c, &["HGET", "h", ""], b("empty-field"));
    expect(&mut c, &["HGET", "h", "ev"], b(""));
    expect(&mut c, &["HSET", "h", "A", "upper"], i(1));
    expect(&mut c, &["HGET", "h", "A"], b("upper"));
    expect(&mut c, &["HGET", "h", "a"], b("12"));
    assert_eq!(valb(&mut c, &[b"HSET", b"bin", b"f\x00\xff", b"\x00\x01\r\n"]), i(1));
    assert_eq!(valb(&mut c, &[b"HGET", b"bin", b"f\x00\xff"]), Value::BulkString(b"\x00\x01\r\n".to_vec()));
    assert_eq!(valb(&mut c, &[b"HGET", b"bin", b"f"]), NIL);
    // Integers are stored as given and read back as strings.
    expect(&mut c, &["HSET", "h", "n", "-0012"], i(1));
    expect(&mut c, &["HGET", "h", "n"], b("-0012"));
    // Arity.
    expect_err(&mut c, &["HSET", "h"], &arity("hset"));
    expect_err(&mut c, &["HSET", "h", "f"], &arity("hset"));
    expect_err(&mut c, &["HSET", "h", "f", "v", "g"], &arity("hset"));
    expect_err(&mut c, &["HMSET", "h", "f"], &arity("hmset"));
    expect_err(&mut c, &["HMSET", "h", "f", "v", "g"], &arity("hmset"));
    expect_err(&mut c, &["HGET", "h"], &arity("hget"));
    expect_err(&mut c, &["HGET", "h", "a", "b"], &arity("hget"));
    // A refused HSET changed nothing.
    expect(&mut c, &["HEXISTS", "h", "g"], i(0));
    expect(&mut c, &["HGET", "h", "f"], NIL);
}

#[test]
fn hsetnx() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSETNX", "h", "f", "v1"], i(1));
    expect(&mut c, &["HSETNX", "h", "f", "v2"], i(0));
    expect(&mut c, &["HGET", "h", "f"], b("v1"));
    expect(&mut c, &["HSETNX", "h", "g", "v3"], i(1));
    expect(&mut c, &["HLEN", "h"], i(2));
    expect_err(&mut c, &["HSETNX", "h", "f"], &arity("hsetnx"));
    expect_err(&mut c, &["HSETNX", "h", "f", "v", "x"], &arity("hsetnx"));
}

#[test]
fn hmget() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2"], i(2));
    expect(&mut c, &["HMGET", "h", "a", "nope", "b", "a"], arr(vec![b("1"), NIL, b("2"), b("1")]));
    expect(&mut c, &["HMGET", "nokey", "a", "b"], arr(vec![NIL, NIL]));
    expect(&mut c, &["HMGET", "h", "b"], arr(vec![b("2")]));
    expect_err(&mut c, &["HMGET", "h"], &arity("hmget"));
    // RESP3: still an array, nils are RESP3 nulls.
    let mut r = Resp::new(&s, 3);
    assert_eq!(r.cmd(&["HMGET", "h", "a", "x"]), "*2\r\n$1\r\n1\r\n_\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["HMGET", "h", "a", "x"]), "*2\r\n$1\r\n1\r\n$-1\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// HDEL / HLEN / HSTRLEN / HEXISTS
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn hdel_and_key_removal() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"], i(3));
    expect(&mut c, &["HDEL", "h", "a", "nope", "b"], i(2));
    expect(&mut c, &["HDEL", "h", "a"], i(0));
    expect(&mut c, &["HLEN", "h"], i(1));
    expect(&mut c, &["HDEL", "nokey", "a"], i(0));
    // The same field twice counts once.
    expect(&mut c, &["HDEL", "h", "c", "c"], i(1));
    // The last field deleted removes the key.
    expect(&mut c, &["EXISTS", "h"], i(0));
    expect(&mut c, &["TYPE", "h"], Value::SimpleString("none".into()));
    expect(&mut c, &["HLEN", "h"], i(0));
    expect_err(&mut c, &["HDEL", "h"], &arity("hdel"));
    // HDEL on a big (hashtable) hash down to nothing removes the key too.
    fill(&mut c, "big", 600);
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    let mut cmd = redis::cmd("HDEL");
    cmd.arg("big");
    for j in 0..600 {
        cmd.arg(format!("f{j}"));
    }
    assert_eq!(cmd.query::<i64>(&mut c).expect("HDEL"), 600);
    expect(&mut c, &["EXISTS", "big"], i(0));
}

#[test]
fn hlen_hstrlen_hexists() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HLEN", "nokey"], i(0));
    expect(&mut c, &["HSET", "h", "a", "hello", "n", "-123", "e", ""], i(3));
    expect(&mut c, &["HLEN", "h"], i(3));
    expect(&mut c, &["HSTRLEN", "h", "a"], i(5));
    expect(&mut c, &["HSTRLEN", "h", "n"], i(4));
    expect(&mut c, &["HSTRLEN", "h", "e"], i(0));
    expect(&mut c, &["HSTRLEN", "h", "nope"], i(0));
    expect(&mut c, &["HSTRLEN", "nokey", "a"], i(0));
    expect(&mut c, &["HSET", "h", "u", "héllo"], i(1));
    expect(&mut c, &["HSTRLEN", "h", "u"], i(6));
    expect(&mut c, &["HEXISTS", "h", "a"], i(1));
    expect(&mut c, &["HEXISTS", "h", "e"], i(1));
    expect(&mut c, &["HEXISTS", "h", "nope"], i(0));
    expect(&mut c, &["HEXISTS", "nokey", "a"], i(0));
    expect_err(&mut c, &["HLEN"], &arity("hlen"));
    expect_err(&mut c, &["HLEN", "h", "x"], &arity("hlen"));
    expect_err(&mut c, &["HSTRLEN", "h"], &arity("hstrlen"));
    expect_err(&mut c, &["HSTRLEN", "h", "a", "b"], &arity("hstrlen"));
    expect_err(&mut c, &["HEXISTS", "h"], &arity("hexists"));
    expect_err(&mut c, &["HEXISTS", "h", "a", "b"], &arity("hexists"));
    // HSTRLEN of a big integer value stored in a hashtable-encoded hash.
    fill(&mut c, "h", 200);
    expect(&mut c, &["HSET", "h", "big", "1234567890123"], i(1));
    expect(&mut c, &["HSTRLEN", "h", "big"], i(13));
}

// ---------------------------------------------------------------------------------------------------------------
// HGETALL / HKEYS / HVALS
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn hgetall_hkeys_hvals_resp2() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HGETALL", "nokey"], arr(vec![]));
    expect(&mut c, &["HKEYS", "nokey"], arr(vec![]));
    expect(&mut c, &["HVALS", "nokey"], arr(vec![]));
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"], i(3));
    // Small hashes keep insertion order (listpack).
    expect(&mut c, &["HGETALL", "h"], bulks(&["a", "1", "b", "2", "c", "3"]));
    expect(&mut c, &["HKEYS", "h"], bulks(&["a", "b", "c"]));
    expect(&mut c, &["HVALS", "h"], bulks(&["1", "2", "3"]));
    expect(&mut c, &["HSET", "h", "a", "9"], i(0));
    expect(&mut c, &["HGETALL", "h"], bulks(&["a", "9", "b", "2", "c", "3"]));
    // Large hashes: same content, keys and values in matching order.
    fill(&mut c, "big", 1000);
    let all = val(&mut c, &["HGETALL", "big"]);
    let m = flat_pairs(&all);
    assert_eq!(m.len(), 1000);
    for j in 0..1000 {
        assert_eq!(m.get(&format!("f{j}")), Some(&format!("v{j}")));
    }
    let keys = texts(&val(&mut c, &["HKEYS", "big"]));
    let vals = texts(&val(&mut c, &["HVALS", "big"]));
    assert_eq!(keys.len(), 1000);
    for (k, v) in keys.iter().zip(&vals) {
        assert_eq!(&k.replacen('f', "v", 1), v, "HKEYS and HVALS iterate in the same order");
    }
    expect_err(&mut c, &["HGETALL"], &arity("hgetall"));
    expect_err(&mut c, &["HGETALL", "h", "x"], &arity("hgetall"));
    expect_err(&mut c, &["HKEYS", "h", "x"], &arity("hkeys"));
    expect_err(&mut c, &["HVALS"], &arity("hvals"));
}

#[test]
fn hgetall_resp3_is_a_map() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2"], i(2));
    expect(&mut c, &["HGETALL", "h"], Value::Map(vec![(b("a"), b("1")), (b("b"), b("2"))]));
    expect(&mut c, &["HGETALL", "nokey"], Value::Map(vec![]));
    // HKEYS / HVALS stay arrays.
    expect(&mut c, &["HKEYS", "h"], bulks(&["a", "b"]));
    expect(&mut c, &["HVALS", "h"], bulks(&["1", "2"]));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["HGETALL", "h"]), "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(r3.cmd(&["HGETALL", "nokey"]), "%0\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["HGETALL", "h"]), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(r2.cmd(&["HGETALL", "nokey"]), "*0\r\n");
    // A large RESP3 map.
    let mut c2 = s.conn();
    fill(&mut c2, "big", 500);
    let Value::Map(m) = val(&mut c, &["HGETALL", "big"]) else { panic!("HGETALL in RESP3 is a map") };
    assert_eq!(m.len(), 500);
    let fields: HashSet<String> = m.iter().map(|(k, _)| text(k)).collect();
    assert_eq!(fields.len(), 500);
    for (k, v) in &m {
        assert_eq!(text(k).replacen('f', "v", 1), text(v));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// HINCRBY / HINCRBYFLOAT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn hincrby() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HINCRBY", "h", "n", "5"], i(5));
    expect(&mut c, &["HINCRBY", "h", "n", "-10"], i(-5));
    expect(&mut c, &["HGET", "h", "n"], b("-5"));
    expect(&mut c, &["HINCRBY", "h", "n", "0"], i(-5));
    expect(&mut c, &["HSET", "h", "s", "17"], i(1));
    expect(&mut c, &["HINCRBY", "h", "s", "1"], i(18));
    expect(&mut c, &["HSET", "h", "z", "zz", "sp", " 1", "sp2", "1 ", "fl", "1.5", "e", ""], i(5));
    for f in ["z", "sp", "sp2", "fl", "e"] {
        expect_err(&mut c, &["HINCRBY", "h", f, "1"], "ERR hash value is not an integer");
    }
    for bad in ["abc", "1.5", "", "-0", "+5", "007", "9223372036854775808", " 1"] {
        expect_err(&mut c, &["HINCRBY", "h", "n", bad], NOT_INT);
    }
    expect(&mut c, &["HSET", "h", "big", "9223372036854775807", "neg", "-9223372036854775808"], i(2));
    expect_err(&mut c, &["HINCRBY", "h", "big", "1"], OVERFLOW);
    expect_err(&mut c, &["HINCRBY", "h", "neg", "-1"], OVERFLOW);
    expect(&mut c, &["HGET", "h", "big"], b("9223372036854775807"));
    expect(&mut c, &["HINCRBY", "h", "big", "-9223372036854775807"], i(0));
    expect(&mut c, &["HINCRBY", "h", "neg", "9223372036854775807"], i(-1));
    expect(&mut c, &["HINCRBY", "h2", "x", "-9223372036854775808"], i(i64::MIN));
    expect_err(&mut c, &["HINCRBY", "h", "n"], &arity("hincrby"));
    expect_err(&mut c, &["HINCRBY", "h", "n", "1", "2"], &arity("hincrby"));
    // The increment is validated before the key's type.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["HINCRBY", "str", "f", "abc"], NOT_INT);
    expect_err(&mut c, &["HINCRBY", "str", "f", "1"], WRONGTYPE);
}

#[test]
fn hincrbyfloat() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HINCRBYFLOAT", "h", "f", "10.5"], b("10.5"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "f", "0.1"], b("10.6"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "f", "-5"], b("5.6"));
    // Long-double arithmetic, as in Redis.
    expect(&mut c, &["HINCRBYFLOAT", "h", "f", "5.0e3"], b("5005.60000000000000009"));
    expect(&mut c, &["HGET", "h", "f"], b("5005.60000000000000009"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "x", "3.0"], b("3"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "y", "0.1"], b("0.1"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "y", "0.2"], b("0.3"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "zero", "-0"], b("0"));
    // Integer and exponent values stored by HSET can be incremented.
    expect(&mut c, &["HSET", "h", "n", "-5", "e", "1.5e3", "big", "17179869184"], i(3));
    expect(&mut c, &["HINCRBYFLOAT", "h", "n", "1"], b("-4"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "e", "1"], b("1501"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "e", "-1001"], b("500"));
    expect(&mut c, &["HINCRBYFLOAT", "h", "big", "1.5"], b("17179869185.5"));
    // HINCRBY on a float value fails; on the integer result of HINCRBYFLOAT it works.
    expect_err(&mut c, &["HINCRBY", "h", "big", "1"], "ERR hash value is not an integer");
    expect(&mut c, &["HINCRBY", "h", "n", "1"], i(-3));
    // Errors.
    expect(&mut c, &["HSET", "h", "z", "zz", "sp", " 1", "sp2", "1 "], i(3));
    for f in ["z", "sp", "sp2"] {
        expect_err(&mut c, &["HINCRBYFLOAT", "h", f, "1"], "ERR hash value is not a float");
    }
    for bad in ["abc", "", "nan", " 1", "1 "] {
        expect_err(&mut c, &["HINCRBYFLOAT", "h", "f", bad], NOT_FLOAT);
    }
    expect_err(&mut c, &["HINCRBYFLOAT", "h", "f", "inf"], "ERR value is NaN or Infinity");
    expect_err(&mut c, &["HINCRBYFLOAT", "h", "f", "-inf"], "ERR value is NaN or Infinity");
    expect(&mut c, &["HGET", "h", "f"], b("5005.60000000000000009"));
    expect_err(&mut c, &["HINCRBYFLOAT", "h", "f"], &arity("hincrbyfloat"));
    // The increment is validated before the key's type.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["HINCRBYFLOAT", "str", "f", "abc"], NOT_FLOAT);
    expect_err(&mut c, &["HINCRBYFLOAT", "str", "f", "1"], WRONGTYPE);
    // RESP3: still a bulk string.
    let mut r = Resp::new(&s, 3);
    assert_eq!(r.cmd(&["HINCRBYFLOAT", "h", "x", "1.25"]), "$4\r\n4.25\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn hrandfield_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HRANDFIELD", "nokey"], NIL);
    expect(&mut c, &["HRANDFIELD", "nokey", "5"], arr(vec![]));
    expect(&mut c, &["HRANDFIELD", "nokey", "-5"], arr(vec![]));
    expect(&mut c, &["HRANDFIELD", "nokey", "5", "WITHVALUES"], arr(vec![]));
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"], i(3));
    let fields: HashSet<&str> = ["a", "b", "c"].into();
    for _ in 0..20 {
        let f: String = q(&mut c, &["HRANDFIELD", "h"]);
        assert!(fields.contains(f.as_str()), "{f}");
    }
    expect(&mut c, &["HRANDFIELD", "h", "0"], arr(vec![]));
    expect(&mut c, &["HRANDFIELD", "h", "0", "WITHVALUES"], arr(vec![]));
    // A positive count returns distinct fields, at most all of them.
    for n in [1usize, 2, 3, 10] {
        let got = texts(&val(&mut c, &["HRANDFIELD", "h", &n.to_string()]));
        assert_eq!(got.len(), n.min(3));
        let uniq: HashSet<&String> = got.iter().collect();
        assert_eq!(uniq.len(), got.len(), "distinct: {got:?}");
        assert!(got.iter().all(|f| fields.contains(f.as_str())));
    }
    // A negative count returns exactly |count| fields, repeats allowed.
    let got = texts(&val(&mut c, &["HRANDFIELD", "h", "-20"]));
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|f| fields.contains(f.as_str())));
    // WITHVALUES: flat field/value pairs in RESP2.
    let got = texts(&val(&mut c, &["HRANDFIELD", "h", "10", "withvalues"]));
    assert_eq!(got.len(), 6);
    let m = flat_pairs(&bulks(&got.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    assert_eq!(m, HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into()), ("c".into(), "3".into())]));
    let got = texts(&val(&mut c, &["HRANDFIELD", "h", "-7", "WITHVALUES"]));
    assert_eq!(got.len(), 14);
    for p in got.chunks(2) {
        assert_eq!(
            p[1],
            match p[0].as_str() {
                "a" => "1",
                "b" => "2",
                "c" => "3",
                other => panic!("unexpected field {other}"),
            }
        );
    }
    // A hashtable-encoded hash: positive counts below and above the size.
    fill(&mut c, "big", 300);
    let got = texts(&val(&mut c, &["HRANDFIELD", "big", "250"]));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 250);
    let got = texts(&val(&mut c, &["HRANDFIELD", "big", "20"]));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 20);
    let got = texts(&val(&mut c, &["HRANDFIELD", "big", "1000"]));
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 300);
    let got = texts(&val(&mut c, &["HRANDFIELD", "big", "-1000"]));
    assert_eq!(got.len(), 1000);
    // Large counts without WITHVALUES on a small hash are fine.
    let got = texts(&val(&mut c, &["HRANDFIELD", "h", "9223372036854775807"]));
    assert_eq!(got.len(), 3);
}

#[test]
fn hrandfield_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"], i(3));
    expect_err(&mut c, &["HRANDFIELD"], &arity("hrandfield"));
    expect_err(&mut c, &["HRANDFIELD", "h", "5", "WITHVALUES", "x"], SYNTAX);
    expect_err(&mut c, &["HRANDFIELD", "h", "5", "WITHVALUE"], SYNTAX);
    expect_err(&mut c, &["HRANDFIELD", "h", "abc"], NOT_INT);
    expect_err(&mut c, &["HRANDFIELD", "h", "9223372036854775808"], NOT_INT);
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    expect_err(&mut c, &["HRANDFIELD", "h", "-9223372036854775808"], range);
    expect_err(&mut c, &["HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"], range);
    expect_err(&mut c, &["HRANDFIELD", "nokey", "-9223372036854775808"], range);
    expect_err(&mut c, &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"], "ERR value is out of range");
    expect_err(&mut c, &["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"], "ERR value is out of range");
    expect_err(&mut c, &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"], "ERR value is out of range");
    expect_err(&mut c, &["HRANDFIELD", "nokey", "-9223372036854775807", "WITHVALUES"], "ERR value is out of range");
}

#[test]
fn hrandfield_resp3() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["HSET", "h", "a", "1"], i(1));
    // WITHVALUES: an array of [field, value] pairs in RESP3.
    expect(&mut c, &["HRANDFIELD", "h", "1", "WITHVALUES"], arr(vec![bulks(&["a", "1"])]));
    expect(&mut c, &["HRANDFIELD", "h", "-2", "WITHVALUES"], arr(vec![bulks(&["a", "1"]), bulks(&["a", "1"])]));
    expect(&mut c, &["HRANDFIELD", "h", "2"], bulks(&["a"]));
    expect(&mut c, &["HRANDFIELD", "nokey", "2", "WITHVALUES"], arr(vec![]));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["HRANDFIELD", "h", "1", "WITHVALUES"]), "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(r3.cmd(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd(&["HRANDFIELD", "h"]), "$1\r\na\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["HRANDFIELD", "h", "1", "WITHVALUES"]), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(r2.cmd(&["HRANDFIELD", "nokey"]), "$-1\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// HSCAN
// ---------------------------------------------------------------------------------------------------------------

/// Runs a whole HSCAN iteration; returns every (field, value) seen and the number of calls.
fn hscan_all(c: &mut redis::Connection, key: &str, extra: &[&str]) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let v = val(c, &args);
        calls += 1;
        let Value::Array(parts) = v else { panic!("HSCAN reply {v:?}") };
        assert_eq!(parts.len(), 2);
        let items = texts(&parts[1]);
        assert!(items.len().is_multiple_of(2));
        out.extend(items.chunks(2).map(|p| (p[0].clone(), p[1].clone())));
        cursor = text(&parts[0]);
        if cursor == "0" {
            break;
        }
        assert!(calls < 100_000, "HSCAN does not terminate");
    }
    (out, calls)
}

#[test]
fn hscan() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSCAN", "nokey", "0"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["HSET", "h", "a", "1", "b", "2", "ab", "3"], i(3));
    // A listpack hash is returned whole, cursor 0.
    expect(&mut c, &["HSCAN", "h", "0"], arr(vec![b("0"), bulks(&["a", "1", "b", "2", "ab", "3"])]));
    expect(&mut c, &["HSCAN", "h", "0", "MATCH", "a*"], arr(vec![b("0"), bulks(&["a", "1", "ab", "3"])]));
    expect(&mut c, &["HSCAN", "h", "0", "MATCH", "zz*", "COUNT", "1"], arr(vec![b("0"), arr(vec![])]));
    // A hashtable hash: a full iteration sees every field exactly once.
    fill(&mut c, "big", 1000);
    let (items, calls) = hscan_all(&mut c, "big", &["COUNT", "10"]);
    assert!(calls > 1, "a big hash takes several calls");
    let m: HashMap<String, String> = items.iter().cloned().collect();
    assert_eq!(m.len(), 1000);
    for j in 0..1000 {
        assert_eq!(m.get(&format!("f{j}")), Some(&format!("v{j}")));
    }
    let (items, _) = hscan_all(&mut c, "big", &["MATCH", "f1??", "COUNT", "50"]);
    let fields: HashSet<String> = items.into_iter().map(|(f, _)| f).collect();
    let want: HashSet<String> = (100..200).map(|j| format!("f{j}")).collect();
    assert_eq!(fields, want);
    // Errors.
    expect_err(&mut c, &["HSCAN", "h"], &arity("hscan"));
    expect_err(&mut c, &["HSCAN", "h", "abc"], "ERR invalid cursor");
    expect_err(&mut c, &["HSCAN", "nokey", "abc"], "ERR invalid cursor");
    expect_err(&mut c, &["HSCAN", "h", "0", "MATCH"], SYNTAX);
    expect_err(&mut c, &["HSCAN", "h", "0", "FOO", "bar"], SYNTAX);
    expect_err(&mut c, &["HSCAN", "h", "0", "COUNT", "0"], SYNTAX);
    expect_err(&mut c, &["HSCAN", "h", "0", "COUNT", "-1"], SYNTAX);
    expect_err(&mut c, &["HSCAN", "h", "0", "COUNT", "abc"], NOT_INT);
    expect_err(&mut c, &["HSCAN", "h", "0", "NOVALUES"], SYNTAX);
    // A missing key answers the empty scan before looking at the options.
    expect(&mut c, &["HSCAN", "nokey", "0", "COUNT", "0"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["HSCAN", "nokey", "0", "FOO", "bar"], arr(vec![b("0"), arr(vec![])]));
}

// ---------------------------------------------------------------------------------------------------------------
// Types and encodings
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn wrongtype_both_ways() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "str", "x"], OK);
    expect(&mut c, &["RPUSH", "list", "x"], i(1));
    for key in ["str", "list"] {
        for args in [
            &["HSET", key, "f", "v"][..],
            &["HMSET", key, "f", "v"],
            &["HSETNX", key, "f", "v"],
            &["HGET", key, "f"],
            &["HMGET", key, "f"],
            &["HDEL", key, "f"],
            &["HLEN", key],
            &["HSTRLEN", key, "f"],
            &["HEXISTS", key, "f"],
            &["HGETALL", key],
            &["HKEYS", key],
            &["HVALS", key],
            &["HINCRBY", key, "f", "1"],
            &["HINCRBYFLOAT", key, "f", "1"],
            &["HRANDFIELD", key],
            &["HRANDFIELD", key, "2"],
            &["HSCAN", key, "0"],
        ] {
            expect_err(&mut c, args, WRONGTYPE);
        }
    }
    expect(&mut c, &["GET", "str"], b("x"));
    // The other way: a hash under other types' commands.
    expect(&mut c, &["HSET", "h", "f", "v"], i(1));
    for args in [
        &["GET", "h"][..],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        &["STRLEN", "h"],
        &["LPUSH", "h", "x"],
        &["LRANGE", "h", "0", "-1"],
        &["SADD", "h", "x"],
        &["SMEMBERS", "h"],
        &["ZADD", "h", "1", "x"],
        &["ZRANGE", "h", "0", "-1"],
        &["PFADD", "h", "x"],
        &["SETRANGE", "h", "0", "x"],
        &["GETBIT", "h", "0"],
    ] {
        expect_err(&mut c, args, WRONGTYPE);
    }
    expect(&mut c, &["HGETALL", "h"], bulks(&["f", "v"]));
    // SET overwrites a hash whatever its type.
    expect(&mut c, &["SET", "h", "now-a-string"], OK);
    expect(&mut c, &["GET", "h"], b("now-a-string"));
}

#[test]
fn encoding_listpack_to_hashtable_by_entries() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["HSET", "h", "a", "1"], i(1));
    assert_eq!(encoding(&mut c, "h"), "listpack");
    expect(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "3"], OK);
    expect(&mut c, &["HSET", "h", "b", "2", "c", "3"], i(2));
    assert_eq!(encoding(&mut c, "h"), "listpack");
    expect(&mut c, &["HSET", "h", "d", "4"], i(1));
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    // Never converted back.
    expect(&mut c, &["HDEL", "h", "a", "b", "c"], i(3));
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    expect(&mut c, &["HGETALL", "h"], bulks(&["d", "4"]));
    // The old ziplist name is an alias.
    expect(&mut c, &["CONFIG", "SET", "hash-max-ziplist-entries", "0"], OK);
    expect(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"], bulks(&["hash-max-listpack-entries", "0"]));
    expect(&mut c, &["HSET", "h0", "a", "1"], i(1));
    assert_eq!(encoding(&mut c, "h0"), "hashtable");
    // A limit of 128 entries.
    expect(&mut c, &["CONFIG", "SET", "hash-max-listpack-entries", "128"], OK);
    fill(&mut c, "h128", 128);
    assert_eq!(encoding(&mut c, "h128"), "listpack");
    expect(&mut c, &["HSET", "h128", "one-more", "x"], i(1));
    assert_eq!(encoding(&mut c, "h128"), "hashtable");
    expect(&mut c, &["HLEN", "h128"], i(129));
    expect(&mut c, &["HGET", "h128", "f77"], b("v77"));
}

#[test]
fn encoding_listpack_to_hashtable_by_value_length() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v64 = "a".repeat(64);
    let v65 = "a".repeat(65);
    expect(&mut c, &["HSET", "h2", "f", &v64], i(1));
    assert_eq!(encoding(&mut c, "h2"), "listpack");
    expect(&mut c, &["HSET", "h3", "f", &v65], i(1));
    assert_eq!(encoding(&mut c, "h3"), "hashtable");
    expect(&mut c, &["HSET", "h4", &v65, "v"], i(1));
    assert_eq!(encoding(&mut c, "h4"), "hashtable");
    expect(&mut c, &["HGET", "h4", &v65], b("v"));
    // An existing listpack hash converts when a long value arrives.
    expect(&mut c, &["HSET", "h2", "g", "short"], i(1));
    assert_eq!(encoding(&mut c, "h2"), "listpack");
    expect(&mut c, &["HSET", "h2", "g", &v65], i(0));
    assert_eq!(encoding(&mut c, "h2"), "hashtable");
    expect(&mut c, &["HGET", "h2", "f"], b(&v64));
    // Each write path converts: HSETNX, HINCRBY, HINCRBYFLOAT.
    expect(&mut c, &["CONFIG", "SET", "hash-max-listpack-value", "5"], OK);
    expect(&mut c, &["HSET", "h5", "f", "123456"], i(1));
    assert_eq!(encoding(&mut c, "h5"), "hashtable");
    expect(&mut c, &["HSETNX", "h6", "f", "123456"], i(1));
    assert_eq!(encoding(&mut c, "h6"), "hashtable");
    expect(&mut c, &["HINCRBYFLOAT", "h7", "f", "1234567"], b("1234567"));
    assert_eq!(encoding(&mut c, "h7"), "hashtable");
    expect(&mut c, &["HINCRBY", "h8", "f", "1234567"], i(1234567));
    assert_eq!(encoding(&mut c, "h8"), "hashtable");
    expect(&mut c, &["HSET", "h9", "f", "12345"], i(1));
    assert_eq!(encoding(&mut c, "h9"), "listpack");
}

#[test]
fn hash_survives_many_updates() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Interleaved sets, overwrites and deletes, checked against a model, across the encoding change.
    let mut model: HashMap<String, String> = HashMap::new();
    let mut p = redis::pipe();
    for j in 0..2000u32 {
        let f = format!("f{}", (j * 7919) % 1031);
        if j % 5 == 4 {
            p.cmd("HDEL").arg("h").arg(&f).ignore();
            model.remove(&f);
        } else {
            let v = format!("v{j}");
            p.cmd("HSET").arg("h").arg(&f).arg(&v).ignore();
            model.insert(f, v);
        }
    }
    p.query::<()>(&mut c).expect("pipeline");
    expect(&mut c, &["HLEN", "h"], i(model.len() as i64));
    assert_eq!(flat_pairs(&val(&mut c, &["HGETALL", "h"])), model);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
}
