//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD
//! SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN, checked against Redis 7.0's exact replies and error
//! texts, in RESP2 and RESP3, with the intset → hashtable encoding conversion.

mod common;
use common::*;
use redis::Value;
use std::collections::{BTreeSet, HashSet};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// Members of an array (RESP2) or set (RESP3) reply, in reply order.
fn items(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(text).collect(),
        other => panic!("expected an array or a set, got {other:?}"),
    }
}

/// Members of a reply as a sorted set, asserting there are no duplicates.
fn members(v: &Value) -> BTreeSet<String> {
    let list = items(v);
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "duplicates in {list:?}");
    set
}

fn smembers(c: &mut redis::Connection, key: &str) -> BTreeSet<String> {
    members(&val(c, &["SMEMBERS", key]))
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Adds `items` to set `key` through one pipeline, 100 per SADD.
fn fill<T: ToString>(c: &mut redis::Connection, key: &str, items: impl IntoIterator<Item = T>) {
    let all: Vec<String> = items.into_iter().map(|x| x.to_string()).collect();
    let mut p = redis::pipe();
    for chunk in all.chunks(100) {
        p.cmd("SADD").arg(key).arg(chunk).ignore();
    }
    p.query::<()>(c).expect("pipeline");
}

// ---------------------------------------------------------------------------------------------------------------
// SADD / SREM / SMEMBERS / SISMEMBER / SMISMEMBER / SCARD
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn sadd_srem_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "s", "a", "b", "c", "a"], i(3));
    expect(&mut c, &["SADD", "s", "a"], i(0));
    expect(&mut c, &["SADD", "s", "a", "d"], i(1));
    expect(&mut c, &["TYPE", "s"], Value::SimpleString("set".into()));
    expect(&mut c, &["SCARD", "s"], i(4));
    assert_eq!(smembers(&mut c, "s"), set_of(&["a", "b", "c", "d"]));
    expect(&mut c, &["SREM", "s", "a", "x", "a"], i(1));
    expect(&mut c, &["SREM", "nokey", "a"], i(0));
    expect(&mut c, &["SCARD", "s"], i(3));
    expect(&mut c, &["SCARD", "nokey"], i(0));
    expect(&mut c, &["SMEMBERS", "nokey"], arr(vec![]));
    // Removing the last member removes the key.
    expect(&mut c, &["SREM", "s", "b", "c", "d"], i(3));
    expect(&mut c, &["EXISTS", "s"], i(0));
    // Empty, binary and case-sensitive members.
    expect(&mut c, &["SADD", "e", "", "A", "a", "x\r\ny"], i(4));
    expect(&mut c, &["SISMEMBER", "e", ""], i(1));
    expect(&mut c, &["SISMEMBER", "e", "x\r\ny"], i(1));
    assert_eq!(smembers(&mut c, "e"), set_of(&["", "A", "a", "x\r\ny"]));
    // Arity.
    expect_err(&mut c, &["SADD", "s"], &arity("sadd"));
    expect_err(&mut c, &["SREM", "s"], &arity("srem"));
    expect_err(&mut c, &["SMEMBERS"], &arity("smembers"));
    expect_err(&mut c, &["SMEMBERS", "a", "b"], &arity("smembers"));
    expect_err(&mut c, &["SCARD"], &arity("scard"));
    expect_err(&mut c, &["SCARD", "a", "b"], &arity("scard"));
}

#[test]
fn sismember_smismember() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "s", "b", "c"], i(2));
    expect(&mut c, &["SISMEMBER", "s", "b"], i(1));
    expect(&mut c, &["SISMEMBER", "s", "a"], i(0));
    expect(&mut c, &["SISMEMBER", "nokey", "a"], i(0));
    expect(&mut c, &["SMISMEMBER", "s", "a", "b", "x", "c", "b"], arr(vec![i(0), i(1), i(0), i(1), i(1)]));
    expect(&mut c, &["SMISMEMBER", "nokey", "a"], arr(vec![i(0)]));
    // On an intset and a hashtable.
    fill(&mut c, "ints", 0..10);
    expect(&mut c, &["SISMEMBER", "ints", "7"], i(1));
    expect(&mut c, &["SISMEMBER", "ints", "07"], i(0));
    expect(&mut c, &["SISMEMBER", "ints", "x"], i(0));
    expect(&mut c, &["SISMEMBER", "ints", "99999999999999999999"], i(0));
    fill(&mut c, "big", (0..1000).map(|j| format!("m{j}")));
    expect(&mut c, &["SMISMEMBER", "big", "m0", "m999", "m1000"], arr(vec![i(1), i(1), i(0)]));
    expect_err(&mut c, &["SISMEMBER", "s"], &arity("sismember"));
    expect_err(&mut c, &["SISMEMBER", "s", "a", "b"], &arity("sismember"));
    expect_err(&mut c, &["SMISMEMBER", "s"], &arity("smismember"));
}

#[test]
fn resp3_set_replies() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["SADD", "s", "a"], i(1));
    // SMEMBERS and the algebra answer RESP3 sets.
    expect(&mut c, &["SMEMBERS", "s"], Value::Set(vec![b("a")]));
    expect(&mut c, &["SMEMBERS", "nokey"], Value::Set(vec![]));
    expect(&mut c, &["SINTER", "s"], Value::Set(vec![b("a")]));
    expect(&mut c, &["SUNION", "s", "nokey"], Value::Set(vec![b("a")]));
    expect(&mut c, &["SDIFF", "s", "nokey"], Value::Set(vec![b("a")]));
    expect(&mut c, &["SINTER", "nokey", "s"], Value::Set(vec![]));
    // SRANDMEMBER with a count is an array; SPOP with a count a set.
    expect(&mut c, &["SRANDMEMBER", "s", "2"], bulks(&["a"]));
    expect(&mut c, &["SRANDMEMBER", "s", "-2"], bulks(&["a", "a"]));
    expect(&mut c, &["SMISMEMBER", "s", "a"], arr(vec![i(1)]));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["SMEMBERS", "s"]), "~1\r\n$1\r\na\r\n");
    assert_eq!(r3.cmd(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(r3.cmd(&["SUNION", "s", "nokey"]), "~1\r\n$1\r\na\r\n");
    assert_eq!(r3.cmd(&["SPOP", "nokey", "2"]), "~0\r\n");
    assert_eq!(r3.cmd(&["SPOP", "s", "0"]), "~0\r\n");
    assert_eq!(r3.cmd(&["SRANDMEMBER", "s", "2"]), "*1\r\n$1\r\na\r\n");
    assert_eq!(r3.cmd(&["SRANDMEMBER", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd(&["SPOP", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd(&["SSCAN", "s", "0"]), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
    assert_eq!(r3.cmd(&["SPOP", "s", "1"]), "~1\r\n$1\r\na\r\n");
    let mut r2 = Resp::new(&s, 2);
    r2.cmd(&["SADD", "t", "x"]);
    assert_eq!(r2.cmd(&["SMEMBERS", "t"]), "*1\r\n$1\r\nx\r\n");
    assert_eq!(r2.cmd(&["SPOP", "t", "1"]), "*1\r\n$1\r\nx\r\n");
    assert_eq!(r2.cmd(&["SPOP", "nokey"]), "$-1\r\n");
    assert_eq!(r2.cmd(&["SPOP", "nokey", "3"]), "*0\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// SPOP / SRANDMEMBER
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn spop() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SPOP", "nokey"], NIL);
    expect(&mut c, &["SPOP", "nokey", "3"], arr(vec![]));
    expect(&mut c, &["SPOP", "nokey", "0"], arr(vec![]));
    let all = set_of(&["a", "b", "c", "d", "e"]);
    expect(&mut c, &["SADD", "s", "a", "b", "c", "d", "e"], i(5));
    expect(&mut c, &["SPOP", "s", "0"], arr(vec![]));
    let one: String = q(&mut c, &["SPOP", "s"]);
    assert!(all.contains(&one));
    let two = members(&val(&mut c, &["SPOP", "s", "2"]));
    assert_eq!(two.len(), 2);
    assert!(!two.contains(&one));
    let rest = smembers(&mut c, "s");
    assert_eq!(rest.len(), 2);
    let mut seen: BTreeSet<String> = rest.clone();
    seen.extend(two);
    seen.insert(one);
    assert_eq!(seen, all, "popped and remaining members partition the set");
    // A count above the size pops everything and removes the key.
    assert_eq!(members(&val(&mut c, &["SPOP", "s", "100"])), rest);
    expect(&mut c, &["EXISTS", "s"], i(0));
    // Intset and hashtable sets.
    fill(&mut c, "ints", 0..300);
    let popped = members(&val(&mut c, &["SPOP", "ints", "100"]));
    assert_eq!(popped.len(), 100);
    expect(&mut c, &["SCARD", "ints"], i(200));
    let left = smembers(&mut c, "ints");
    assert!(popped.is_disjoint(&left));
    fill(&mut c, "big", (0..1000).map(|j| format!("m{j}")));
    let popped = members(&val(&mut c, &["SPOP", "big", "900"]));
    assert_eq!(popped.len(), 900);
    expect(&mut c, &["SCARD", "big"], i(100));
    for _ in 0..100 {
        let m: String = q(&mut c, &["SPOP", "big"]);
        assert!(!popped.contains(&m));
    }
    expect(&mut c, &["EXISTS", "big"], i(0));
    // Errors.
    expect(&mut c, &["SADD", "s", "a"], i(1));
    expect_err(&mut c, &["SPOP", "s", "-1"], "ERR value is out of range, must be positive");
    expect_err(&mut c, &["SPOP", "s", "x"], "ERR value is out of range, must be positive");
    expect_err(&mut c, &["SPOP", "s", "1", "2"], SYNTAX);
    expect_err(&mut c, &["SPOP"], &arity("spop"));
    expect(&mut c, &["SCARD", "s"], i(1));
}

#[test]
fn srandmember() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SRANDMEMBER", "nokey"], NIL);
    expect(&mut c, &["SRANDMEMBER", "nokey", "3"], arr(vec![]));
    expect(&mut c, &["SRANDMEMBER", "nokey", "-3"], arr(vec![]));
    let all = set_of(&["a", "b", "c"]);
    expect(&mut c, &["SADD", "s", "a", "b", "c"], i(3));
    for _ in 0..20 {
        let m: String = q(&mut c, &["SRANDMEMBER", "s"]);
        assert!(all.contains(&m));
    }
    expect(&mut c, &["SRANDMEMBER", "s", "0"], arr(vec![]));
    for n in [1usize, 2, 3, 50] {
        let got = members(&val(&mut c, &["SRANDMEMBER", "s", &n.to_string()]));
        assert_eq!(got.len(), n.min(3));
        assert!(got.is_subset(&all));
    }
    let got = items(&val(&mut c, &["SRANDMEMBER", "s", "-50"]));
    assert_eq!(got.len(), 50);
    assert!(got.iter().all(|m| all.contains(m)));
    // Nothing was removed.
    expect(&mut c, &["SCARD", "s"], i(3));
    // Bigger sets, both encodings, positive counts below the size return distinct members.
    fill(&mut c, "ints", 0..400);
    fill(&mut c, "big", (0..400).map(|j| format!("m{j}")));
    for key in ["ints", "big"] {
        for n in [10, 150, 350, 400, 1000] {
            let got = members(&val(&mut c, &["SRANDMEMBER", key, &n.to_string()]));
            assert_eq!(got.len(), n.min(400), "{key} {n}");
        }
        assert_eq!(items(&val(&mut c, &["SRANDMEMBER", key, "-1000"])).len(), 1000);
    }
    // Errors.
    expect_err(&mut c, &["SRANDMEMBER", "s", "x"], NOT_INT);
    expect_err(&mut c, &["SRANDMEMBER", "s", "1", "2"], SYNTAX);
    expect_err(&mut c, &["SRANDMEMBER"], &arity("srandmember"));
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    expect_err(&mut c, &["SRANDMEMBER", "s", "-9223372036854775808"], range);
    expect_err(&mut c, &["SRANDMEMBER", "nokey", "-9223372036854775808"], range);
}

// ---------------------------------------------------------------------------------------------------------------
// SMOVE
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn smove() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "m", "3", "1", "2"], i(3));
    expect(&mut c, &["SMOVE", "m", "n", "3"], i(1));
    expect(&mut c, &["SMOVE", "m", "n", "3"], i(0));
    expect(&mut c, &["SMOVE", "nokey", "n", "3"], i(0));
    assert_eq!(smembers(&mut c, "m"), set_of(&["1", "2"]));
    assert_eq!(smembers(&mut c, "n"), set_of(&["3"]));
    // Same source and destination.
    expect(&mut c, &["SMOVE", "m", "m", "1"], i(1));
    expect(&mut c, &["SMOVE", "m", "m", "99"], i(0));
    assert_eq!(smembers(&mut c, "m"), set_of(&["1", "2"]));
    // A member already in the destination: still 1, removed from the source.
    expect(&mut c, &["SADD", "n", "2"], i(1));
    expect(&mut c, &["SMOVE", "m", "n", "2"], i(1));
    assert_eq!(smembers(&mut c, "n"), set_of(&["2", "3"]));
    // Moving the last member removes the source key.
    expect(&mut c, &["SMOVE", "m", "n", "1"], i(1));
    expect(&mut c, &["EXISTS", "m"], i(0));
    // A non-integer moved into an intset converts it.
    expect(&mut c, &["SADD", "x", "word"], i(1));
    assert_eq!(encoding(&mut c, "n"), "intset");
    expect(&mut c, &["SMOVE", "x", "n", "word"], i(1));
    assert_eq!(encoding(&mut c, "n"), "hashtable");
    assert_eq!(smembers(&mut c, "n"), set_of(&["1", "2", "3", "word"]));
    // Types: both keys are checked when the source exists.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["SMOVE", "n", "str", "1"], WRONGTYPE);
    expect_err(&mut c, &["SMOVE", "n", "str", "99"], WRONGTYPE);
    expect_err(&mut c, &["SMOVE", "str", "n", "1"], WRONGTYPE);
    expect(&mut c, &["SMOVE", "nokey", "str", "99"], i(0));
    expect(&mut c, &["SCARD", "n"], i(4));
    expect_err(&mut c, &["SMOVE", "m", "n"], &arity("smove"));
}

// ---------------------------------------------------------------------------------------------------------------
// Algebra
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn sinter_sunion_sdiff() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "a", "1", "2", "3", "4", "5"], i(5));
    expect(&mut c, &["SADD", "b", "3", "4", "5", "6"], i(4));
    expect(&mut c, &["SADD", "c", "4", "5", "7"], i(3));
    assert_eq!(members(&val(&mut c, &["SINTER", "a", "b", "c"])), set_of(&["4", "5"]));
    assert_eq!(members(&val(&mut c, &["SUNION", "a", "b", "c"])), set_of(&["1", "2", "3", "4", "5", "6", "7"]));
    assert_eq!(members(&val(&mut c, &["SDIFF", "a", "b", "c"])), set_of(&["1", "2"]));
    assert_eq!(members(&val(&mut c, &["SDIFF", "b", "a"])), set_of(&["6"]));
    assert_eq!(members(&val(&mut c, &["SINTER", "a"])), set_of(&["1", "2", "3", "4", "5"]));
    assert_eq!(members(&val(&mut c, &["SDIFF", "a"])), set_of(&["1", "2", "3", "4", "5"]));
    expect(&mut c, &["SDIFF", "a", "a"], arr(vec![]));
    expect(&mut c, &["SINTER", "a", "nokey"], arr(vec![]));
    expect(&mut c, &["SINTER", "nokey", "a"], arr(vec![]));
    assert_eq!(members(&val(&mut c, &["SUNION", "nokey", "c"])), set_of(&["4", "5", "7"]));
    assert_eq!(members(&val(&mut c, &["SDIFF", "c", "nokey"])), set_of(&["4", "5", "7"]));
    expect(&mut c, &["SDIFF", "nokey", "a"], arr(vec![]));
    expect(&mut c, &["SUNION", "nokey"], arr(vec![]));
    // Mixed encodings and sizes.
    fill(&mut c, "ints", 0..1000);
    fill(&mut c, "evens", (0..2000).step_by(2));
    fill(&mut c, "words", (0..500).map(|j| if j % 2 == 0 { j.to_string() } else { format!("w{j}") }));
    let inter = members(&val(&mut c, &["SINTER", "ints", "evens", "words"]));
    let want: BTreeSet<String> = (0..500).step_by(2).map(|j: i32| j.to_string()).collect();
    assert_eq!(inter, want);
    let union = members(&val(&mut c, &["SUNION", "ints", "evens", "words"]));
    assert_eq!(union.len(), 1000 + 500 + 250);
    let diff = members(&val(&mut c, &["SDIFF", "ints", "evens"]));
    assert_eq!(diff, (1..1000).step_by(2).map(|j: i32| j.to_string()).collect());
    // Arity.
    expect_err(&mut c, &["SINTER"], &arity("sinter"));
    expect_err(&mut c, &["SUNION"], &arity("sunion"));
    expect_err(&mut c, &["SDIFF"], &arity("sdiff"));
}

#[test]
fn store_variants() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "dst", "x"], OK);
    expect(&mut c, &["EXPIRE", "dst", "100"], i(1));
    expect(&mut c, &["SADD", "a", "1", "2", "3"], i(3));
    expect(&mut c, &["SADD", "b", "2", "3", "4"], i(3));
    // The destination is overwritten whatever its type, and its TTL is cleared.
    expect(&mut c, &["SINTERSTORE", "dst", "a", "b"], i(2));
    expect(&mut c, &["TYPE", "dst"], Value::SimpleString("set".into()));
    expect(&mut c, &["TTL", "dst"], i(-1));
    assert_eq!(smembers(&mut c, "dst"), set_of(&["2", "3"]));
    assert_eq!(encoding(&mut c, "dst"), "intset");
    expect(&mut c, &["SUNIONSTORE", "dst", "a", "b"], i(4));
    assert_eq!(smembers(&mut c, "dst"), set_of(&["1", "2", "3", "4"]));
    expect(&mut c, &["SDIFFSTORE", "dst", "a", "b"], i(1));
    assert_eq!(smembers(&mut c, "dst"), set_of(&["1"]));
    expect(&mut c, &["SDIFFSTORE", "dst", "b", "a", "nokey"], i(1));
    assert_eq!(smembers(&mut c, "dst"), set_of(&["4"]));
    // An empty result deletes the destination.
    expect(&mut c, &["SINTERSTORE", "dst", "a", "nokey"], i(0));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    expect(&mut c, &["SET", "dst", "x"], OK);
    expect(&mut c, &["SDIFFSTORE", "dst", "nokey", "a"], i(0));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    expect(&mut c, &["SET", "dst", "x"], OK);
    expect(&mut c, &["SUNIONSTORE", "dst", "nokey"], i(0));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    // Non-integer members give a hashtable.
    expect(&mut c, &["SADD", "w", "x", "y"], i(2));
    expect(&mut c, &["SUNIONSTORE", "dst", "a", "w"], i(5));
    assert_eq!(encoding(&mut c, "dst"), "hashtable");
    // The destination may be one of the sources.
    expect(&mut c, &["SINTERSTORE", "a", "a", "b"], i(2));
    assert_eq!(smembers(&mut c, "a"), set_of(&["2", "3"]));
    expect(&mut c, &["SUNIONSTORE", "b", "b", "w"], i(5));
    assert_eq!(smembers(&mut c, "b"), set_of(&["2", "3", "4", "x", "y"]));
    // Arity and types.
    expect_err(&mut c, &["SINTERSTORE"], &arity("sinterstore"));
    expect_err(&mut c, &["SINTERSTORE", "dst"], &arity("sinterstore"));
    expect_err(&mut c, &["SUNIONSTORE", "dst"], &arity("sunionstore"));
    expect_err(&mut c, &["SDIFFSTORE", "dst"], &arity("sdiffstore"));
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["SINTERSTORE", "dst", "a", "str"], WRONGTYPE);
    expect_err(&mut c, &["SUNIONSTORE", "dst", "str"], WRONGTYPE);
    expect_err(&mut c, &["SDIFFSTORE", "dst", "nokey", "str"], WRONGTYPE);
    // A refused store leaves the destination alone.
    expect(&mut c, &["SCARD", "dst"], i(5));
}

#[test]
fn sintercard() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "a", "1", "2", "3", "4", "5"], i(5));
    expect(&mut c, &["SADD", "b", "3", "4", "5", "6"], i(4));
    expect(&mut c, &["SADD", "c", "4", "5", "7"], i(3));
    expect(&mut c, &["SINTERCARD", "3", "a", "b", "c"], i(2));
    expect(&mut c, &["SINTERCARD", "3", "a", "b", "c", "LIMIT", "1"], i(1));
    expect(&mut c, &["SINTERCARD", "3", "a", "b", "c", "limit", "0"], i(2));
    expect(&mut c, &["SINTERCARD", "3", "a", "b", "c", "LIMIT", "100"], i(2));
    expect(&mut c, &["SINTERCARD", "1", "a"], i(5));
    expect(&mut c, &["SINTERCARD", "2", "a", "nokey"], i(0));
    expect(&mut c, &["SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "0"], i(5));
    fill(&mut c, "big1", 0..1000);
    fill(&mut c, "big2", (0..1000).step_by(3));
    expect(&mut c, &["SINTERCARD", "2", "big1", "big2"], i(334));
    expect(&mut c, &["SINTERCARD", "2", "big1", "big2", "LIMIT", "10"], i(10));
    // Errors.
    for n in ["0", "-1", "x"] {
        expect_err(&mut c, &["SINTERCARD", n, "a"], "ERR numkeys should be greater than 0");
    }
    expect_err(&mut c, &["SINTERCARD", "3", "a"], "ERR Number of keys can't be greater than number of args");
    expect_err(&mut c, &["SINTERCARD", "1", "a", "LIMIT", "-1"], "ERR LIMIT can't be negative");
    expect_err(&mut c, &["SINTERCARD", "1", "a", "LIMIT", "x"], "ERR LIMIT can't be negative");
    expect_err(&mut c, &["SINTERCARD", "1", "a", "LIMIT"], SYNTAX);
    expect_err(&mut c, &["SINTERCARD", "1", "a", "FOO", "1"], SYNTAX);
    expect_err(&mut c, &["SINTERCARD", "1"], &arity("sintercard"));
    expect_err(&mut c, &["SINTERCARD"], &arity("sintercard"));
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["SINTERCARD", "2", "a", "str"], WRONGTYPE);
    expect_err(&mut c, &["SINTERCARD", "2", "nokey", "str"], WRONGTYPE);
}

// ---------------------------------------------------------------------------------------------------------------
// SSCAN
// ---------------------------------------------------------------------------------------------------------------

/// Runs a whole SSCAN iteration; returns every member seen (with repeats) and the number of calls.
fn sscan_all(c: &mut redis::Connection, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SSCAN", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let v = val(c, &args);
        calls += 1;
        let Value::Array(parts) = v else { panic!("SSCAN reply {v:?}") };
        assert_eq!(parts.len(), 2);
        out.extend(items(&parts[1]));
        cursor = text(&parts[0]);
        if cursor == "0" {
            break;
        }
        assert!(calls < 100_000, "SSCAN does not terminate");
    }
    (out, calls)
}

#[test]
fn sscan() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SSCAN", "nokey", "0"], arr(vec![b("0"), arr(vec![])]));
    // Small sets (intset) come back whole with cursor 0.
    expect(&mut c, &["SADD", "ints", "3", "1", "2"], i(3));
    let v = val(&mut c, &["SSCAN", "ints", "0"]);
    let Value::Array(parts) = &v else { panic!("{v:?}") };
    assert_eq!(parts[0], b("0"));
    assert_eq!(members(&parts[1]), set_of(&["1", "2", "3"]));
    expect(&mut c, &["SSCAN", "ints", "0", "MATCH", "2"], arr(vec![b("0"), bulks(&["2"])]));
    // A hashtable set: every member seen at least once, none invented.
    fill(&mut c, "big", (0..1000).map(|j| format!("m{j}")));
    let (seen, calls) = sscan_all(&mut c, "big", &["COUNT", "20"]);
    assert!(calls > 1);
    let seen: HashSet<String> = seen.into_iter().collect();
    assert_eq!(seen, (0..1000).map(|j| format!("m{j}")).collect());
    let (seen, _) = sscan_all(&mut c, "big", &["MATCH", "m9?"]);
    let seen: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(seen, (90..100).map(|j| format!("m{j}")).collect());
    // A large intset-turned-hashtable set.
    fill(&mut c, "manyints", 0..2000);
    assert_eq!(encoding(&mut c, "manyints"), "hashtable");
    let (seen, _) = sscan_all(&mut c, "manyints", &["COUNT", "100"]);
    assert_eq!(seen.into_iter().collect::<HashSet<_>>().len(), 2000);
    // Errors.
    expect_err(&mut c, &["SSCAN", "ints"], &arity("sscan"));
    expect_err(&mut c, &["SSCAN", "ints", "x"], "ERR invalid cursor");
    expect_err(&mut c, &["SSCAN", "ints", "0", "COUNT", "0"], SYNTAX);
    expect_err(&mut c, &["SSCAN", "ints", "0", "COUNT", "x"], NOT_INT);
    expect_err(&mut c, &["SSCAN", "ints", "0", "MATCH"], SYNTAX);
    expect_err(&mut c, &["SSCAN", "ints", "0", "FOO", "x"], SYNTAX);
}

// ---------------------------------------------------------------------------------------------------------------
// Types and encodings
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn wrongtype_both_ways() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "str", "x"], OK);
    expect(&mut c, &["ZADD", "zset", "1", "x"], i(1));
    for key in ["str", "zset"] {
        for args in [
            &["SADD", key, "x"][..],
            &["SREM", key, "x"],
            &["SMEMBERS", key],
            &["SISMEMBER", key, "x"],
            &["SMISMEMBER", key, "x"],
            &["SCARD", key],
            &["SPOP", key],
            &["SPOP", key, "2"],
            &["SRANDMEMBER", key],
            &["SRANDMEMBER", key, "2"],
            &["SMOVE", key, "d", "x"],
            &["SINTER", key],
            &["SINTER", "nokey", key],
            &["SUNION", key, "nokey"],
            &["SDIFF", key],
            &["SDIFF", "nokey", key],
            &["SINTERSTORE", "d", key],
            &["SUNIONSTORE", "d", key],
            &["SDIFFSTORE", "d", key],
            &["SINTERCARD", "1", key],
            &["SSCAN", key, "0"],
        ] {
            expect_err(&mut c, args, WRONGTYPE);
        }
    }
    expect(&mut c, &["EXISTS", "d"], i(0));
    expect(&mut c, &["SADD", "s", "m"], i(1));
    for args in [
        &["GET", "s"][..],
        &["INCR", "s"],
        &["HGET", "s", "f"],
        &["LPUSH", "s", "x"],
        &["LLEN", "s"],
        &["ZSCORE", "s", "m"],
        &["ZADD", "s", "1", "m"],
        &["PFADD", "s", "x"],
    ] {
        expect_err(&mut c, args, WRONGTYPE);
    }
    assert_eq!(smembers(&mut c, "s"), set_of(&["m"]));
}

#[test]
fn intset_encoding() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SADD", "i", "1", "2", "3"], i(3));
    assert_eq!(encoding(&mut c, "i"), "intset");
    expect(&mut c, &["SADD", "i", "-5", "9223372036854775807", "-9223372036854775808", "0"], i(4));
    assert_eq!(encoding(&mut c, "i"), "intset");
    // An intset answers in ascending order.
    expect(
        &mut c,
        &["SMEMBERS", "i"],
        bulks(&["-9223372036854775808", "-5", "0", "1", "2", "3", "9223372036854775807"]),
    );
    // Anything that is not a canonical 64-bit integer converts it.
    for (key, member) in [("a", "01"), ("b", "9223372036854775808"), ("c", " 3"), ("d", "-0"), ("e", "+1"), ("f", "x")]
    {
        expect(&mut c, &["SADD", key, "1", "2"], i(2));
        assert_eq!(encoding(&mut c, key), "intset");
        expect(&mut c, &["SADD", key, member], i(1));
        assert_eq!(encoding(&mut c, key), "hashtable", "after adding {member:?}");
        assert_eq!(smembers(&mut c, key), set_of(&["1", "2", member]));
    }
    // A set whose first member is not an integer starts as a hashtable.
    expect(&mut c, &["SADD", "h", "x", "1"], i(2));
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    expect(&mut c, &["SREM", "h", "x"], i(1));
    assert_eq!(encoding(&mut c, "h"), "hashtable", "never converted back");
}

#[test]
fn intset_to_hashtable_by_entries() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "4"], OK);
    expect(&mut c, &["SADD", "w", "1", "2", "3", "4"], i(4));
    assert_eq!(encoding(&mut c, "w"), "intset");
    expect(&mut c, &["SADD", "w", "5"], i(1));
    assert_eq!(encoding(&mut c, "w"), "hashtable");
    expect(&mut c, &["SREM", "w", "1", "2", "3", "4"], i(4));
    assert_eq!(encoding(&mut c, "w"), "hashtable");
    assert_eq!(smembers(&mut c, "w"), set_of(&["5"]));
    // The store commands honour the limit too.
    expect(&mut c, &["SADD", "x", "10", "11", "12"], i(3));
    expect(&mut c, &["SADD", "y", "13", "14"], i(2));
    expect(&mut c, &["SUNIONSTORE", "u", "x", "y"], i(5));
    assert_eq!(encoding(&mut c, "u"), "hashtable");
    expect(&mut c, &["SUNIONSTORE", "u2", "x"], i(3));
    assert_eq!(encoding(&mut c, "u2"), "intset");
    // Default: 512.
    expect(&mut c, &["CONFIG", "SET", "set-max-intset-entries", "512"], OK);
    fill(&mut c, "d", 0..512);
    assert_eq!(encoding(&mut c, "d"), "intset");
    expect(&mut c, &["SADD", "d", "512"], i(1));
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    expect(&mut c, &["SCARD", "d"], i(513));
    expect(&mut c, &["SISMEMBER", "d", "256"], i(1));
}

#[test]
fn set_survives_many_updates() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Interleaved adds and removes, checked against a model, across the encoding change.
    let mut model: BTreeSet<String> = BTreeSet::new();
    let mut p = redis::pipe();
    for j in 0..3000u32 {
        let m = ((j * 7919) % 701).to_string();
        if j % 3 == 2 {
            p.cmd("SREM").arg("s").arg(&m).ignore();
            model.remove(&m);
        } else {
            p.cmd("SADD").arg("s").arg(&m).ignore();
            model.insert(m);
        }
        if j == 2000 {
            p.cmd("SADD").arg("s").arg("word").ignore();
            model.insert("word".into());
        }
    }
    p.query::<()>(&mut c).expect("pipeline");
    expect(&mut c, &["SCARD", "s"], i(model.len() as i64));
    assert_eq!(smembers(&mut c, "s"), model);
}
