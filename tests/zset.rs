//! Sorted-set commands: ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT
//! ZRANGE (rank / BYSCORE / BYLEX, REV, LIMIT, WITHSCORES) ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE
//! ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK/SCORE/LEX ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP
//! ZRANDMEMBER ZUNION ZINTER ZDIFF (and STORE forms) ZINTERCARD ZSCAN, checked against Redis 7.0's exact replies
//! and error texts in RESP2 and RESP3, the listpack → skiplist conversion, and a randomized comparison with a
//! simple model on both encodings.

mod common;
use common::*;
use redis::Value;
use std::collections::{BTreeSet, HashSet};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

fn d(x: f64) -> Value {
    Value::Double(x)
}

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const LIMIT_ONLY: &str = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const WITHSCORES_LEX: &str = "ERR syntax error, WITHSCORES not supported in combination with BYLEX";

// ---------------------------------------------------------------------------------------------------------------
// ZADD / ZINCRBY / ZSCORE / ZMSCORE / ZCARD / ZREM
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zadd_basics_and_flags() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], i(3));
    expect(&mut c, &["TYPE", "z"], Value::SimpleString("zset".into()));
    expect(&mut c, &["ZADD", "z", "1", "a"], i(0));
    // CH counts changed scores too.
    expect(&mut c, &["ZADD", "z", "CH", "5", "a", "2", "b", "9", "d"], i(2));
    expect(&mut c, &["ZADD", "z", "NX", "100", "a", "7", "e"], i(1));
    expect(&mut c, &["ZSCORE", "z", "a"], b("5"));
    expect(&mut c, &["ZADD", "z", "XX", "100", "a", "7", "f"], i(0));
    expect(&mut c, &["ZSCORE", "z", "a"], b("100"));
    expect(&mut c, &["ZSCORE", "z", "f"], NIL);
    expect(&mut c, &["ZADD", "z", "XX", "CH", "101", "a", "7", "f"], i(1));
    // GT / LT only update in one direction, but still add new members.
    expect(&mut c, &["ZADD", "z", "GT", "50", "a"], i(0));
    expect(&mut c, &["ZSCORE", "z", "a"], b("101"));
    expect(&mut c, &["ZADD", "z", "GT", "CH", "150", "a"], i(1));
    expect(&mut c, &["ZADD", "z", "LT", "CH", "150", "a", "1", "b"], i(1));
    expect(&mut c, &["ZSCORE", "z", "b"], b("1"));
    expect(&mut c, &["ZADD", "z", "GT", "5", "newgt"], i(1));
    expect(&mut c, &["ZADD", "z", "LT", "5", "newlt"], i(1));
    expect(&mut c, &["ZADD", "z", "gt", "xx", "ch", "200", "a", "0", "b", "9", "nope"], i(1));
    expect(&mut c, &["ZSCORE", "z", "a"], b("200"));
    expect(&mut c, &["ZSCORE", "z", "b"], b("1"));
    expect(&mut c, &["ZSCORE", "z", "nope"], NIL);
    // XX on a missing key creates nothing.
    expect(&mut c, &["ZADD", "nokey", "XX", "1", "a"], i(0));
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    // The same member twice: the last score wins, counted once.
    expect(&mut c, &["ZADD", "dup", "1", "m", "2", "m"], i(1));
    expect(&mut c, &["ZSCORE", "dup", "m"], b("2"));
    // Errors.
    expect_err(
        &mut c,
        &["ZADD", "z", "NX", "XX", "1", "a"],
        "ERR XX and NX options at the same time are not compatible",
    );
    let gtltnx = "ERR GT, LT, and/or NX options at the same time are not compatible";
    expect_err(&mut c, &["ZADD", "z", "GT", "LT", "1", "a"], gtltnx);
    expect_err(&mut c, &["ZADD", "z", "GT", "NX", "1", "a"], gtltnx);
    expect_err(&mut c, &["ZADD", "z", "LT", "NX", "1", "a"], gtltnx);
    expect_err(
        &mut c,
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        "ERR INCR option supports a single increment-element pair",
    );
    expect_err(&mut c, &["ZADD", "z", "x", "a"], NOT_FLOAT);
    expect_err(&mut c, &["ZADD", "z", "nan", "a"], NOT_FLOAT);
    expect_err(&mut c, &["ZADD", "z", "1", "a", "x", "b"], NOT_FLOAT);
    expect_err(&mut c, &["ZADD", "z", "1", "a", "2"], SYNTAX);
    expect_err(&mut c, &["ZADD", "z", "FOO", "1", "a"], SYNTAX);
    expect_err(&mut c, &["ZADD", "z", "1"], &arity("zadd"));
    expect_err(&mut c, &["ZADD", "z"], &arity("zadd"));
    // A refused ZADD added nothing, not even the valid pairs before the bad one.
    expect(&mut c, &["ZSCORE", "z", "a"], b("200"));
    expect(&mut c, &["ZCARD", "z"], i(7));
}

#[test]
fn zadd_incr() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "INCR", "10", "a"], b("10"));
    expect(&mut c, &["ZADD", "z", "INCR", "1.5", "a"], b("11.5"));
    expect(&mut c, &["ZADD", "z", "NX", "INCR", "1", "a"], NIL);
    expect(&mut c, &["ZADD", "z", "XX", "INCR", "1", "nomember"], NIL);
    expect(&mut c, &["ZADD", "z", "GT", "INCR", "-1", "a"], NIL);
    expect(&mut c, &["ZADD", "z", "LT", "INCR", "-1", "a"], b("10.5"));
    expect(&mut c, &["ZADD", "z", "XX", "INCR", "-0.5", "a"], b("10"));
    expect(&mut c, &["ZADD", "z", "INCR", "-inf", "a"], b("-inf"));
    expect_err(&mut c, &["ZADD", "z", "INCR", "+inf", "a"], NAN_SCORE);
    expect(&mut c, &["ZSCORE", "z", "a"], b("-inf"));
    expect(&mut c, &["ZADD", "nokey", "XX", "INCR", "1", "a"], NIL);
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["ZADD", "z", "INCR", "2.5", "b"]), ",2.5\r\n");
    assert_eq!(r3.cmd(&["ZADD", "z", "NX", "INCR", "2.5", "b"]), "_\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["ZADD", "z", "INCR", "2.5", "b"]), "$1\r\n5\r\n");
    assert_eq!(r2.cmd(&["ZADD", "z", "NX", "INCR", "2.5", "b"]), "$-1\r\n");
}

#[test]
fn zadd_score_syntax() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1.5", "f", "1e3", "g", "-0", "h", "inf", "j", "-inf", "k", "+2", "l"], i(6));
    expect(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        bulks(&["k", "-inf", "h", "0", "f", "1.5", "l", "2", "g", "1000", "j", "inf"]),
    );
    expect(&mut c, &["ZADD", "z", "-INF", "x", "+Inf", "y"], i(2));
    expect(&mut c, &["ZSCORE", "z", "x"], b("-inf"));
    expect(&mut c, &["ZSCORE", "z", "y"], b("inf"));
    for bad in ["", " 1", "1 ", "1x", "nan", "--1"] {
        expect_err(&mut c, &["ZADD", "z", bad, "m"], NOT_FLOAT);
    }
}

#[test]
fn zincrby() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZINCRBY", "z", "2.5", "m"], b("2.5"));
    expect(&mut c, &["ZINCRBY", "z", "-1", "m"], b("1.5"));
    expect(&mut c, &["ZINCRBY", "z", "1", "n"], b("1"));
    expect(&mut c, &["ZADD", "z", "inf", "j"], i(1));
    expect(&mut c, &["ZINCRBY", "z", "1", "j"], b("inf"));
    expect_err(&mut c, &["ZINCRBY", "z", "-inf", "j"], NAN_SCORE);
    expect(&mut c, &["ZSCORE", "z", "j"], b("inf"));
    expect_err(&mut c, &["ZINCRBY", "z", "x", "m"], NOT_FLOAT);
    expect_err(&mut c, &["ZINCRBY", "z", "nan", "m"], NOT_FLOAT);
    expect_err(&mut c, &["ZINCRBY", "z", "1"], &arity("zincrby"));
    expect(&mut c, &["ZRANGE", "z", "0", "-1"], bulks(&["n", "m", "j"]));
    // Floating-point results as Redis 7.0 prints them (%.17g).
    expect(&mut c, &["ZADD", "f", "0.1", "a"], i(1));
    expect(&mut c, &["ZINCRBY", "f", "0.2", "a"], b("0.30000000000000004"));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["ZINCRBY", "z", "1", "m"]), ",2.5\r\n");
}

#[test]
fn zscore_zmscore_zcard_zrem() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2.5", "b", "-3", "c"], i(3));
    expect(&mut c, &["ZSCORE", "z", "b"], b("2.5"));
    expect(&mut c, &["ZSCORE", "z", "c"], b("-3"));
    expect(&mut c, &["ZSCORE", "z", "nope"], NIL);
    expect(&mut c, &["ZSCORE", "nokey", "a"], NIL);
    expect(&mut c, &["ZMSCORE", "z", "a", "nope", "c"], arr(vec![b("1"), NIL, b("-3")]));
    expect(&mut c, &["ZMSCORE", "nokey", "a", "b"], arr(vec![NIL, NIL]));
    expect(&mut c, &["ZCARD", "z"], i(3));
    expect(&mut c, &["ZCARD", "nokey"], i(0));
    expect(&mut c, &["ZREM", "z", "a", "nope", "a"], i(1));
    expect(&mut c, &["ZREM", "nokey", "a"], i(0));
    expect(&mut c, &["ZCARD", "z"], i(2));
    expect(&mut c, &["ZREM", "z", "b", "c"], i(2));
    expect(&mut c, &["EXISTS", "z"], i(0));
    expect_err(&mut c, &["ZSCORE", "z"], &arity("zscore"));
    expect_err(&mut c, &["ZSCORE", "z", "a", "b"], &arity("zscore"));
    expect_err(&mut c, &["ZMSCORE", "z"], &arity("zmscore"));
    expect_err(&mut c, &["ZCARD"], &arity("zcard"));
    expect_err(&mut c, &["ZREM", "z"], &arity("zrem"));
    // Doubles are printed with %.17g in RESP2 and RESP3 alike.
    expect(&mut c, &["ZADD", "fl", "0.1", "a", "1e100", "b", "123456789012345678", "c", "1e-7", "e"], i(4));
    expect(&mut c, &["ZSCORE", "fl", "a"], b("0.10000000000000001"));
    expect(&mut c, &["ZSCORE", "fl", "b"], b("1e+100"));
    expect(&mut c, &["ZSCORE", "fl", "c"], b("1.2345678901234568e+17"));
    expect(&mut c, &["ZSCORE", "fl", "e"], b("9.9999999999999995e-08"));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["ZSCORE", "fl", "a"]), ",0.10000000000000001\r\n");
    assert_eq!(r3.cmd(&["ZSCORE", "fl", "b"]), ",1e+100\r\n");
}

#[test]
fn zscore_resp3_is_a_double() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["ZADD", "z", "1", "a", "2.5", "b", "inf", "c", "-inf", "e"], i(4));
    expect(&mut c, &["ZSCORE", "z", "b"], d(2.5));
    expect(&mut c, &["ZSCORE", "z", "a"], d(1.0));
    expect(&mut c, &["ZSCORE", "z", "nope"], NIL);
    expect(&mut c, &["ZMSCORE", "z", "a", "nope"], arr(vec![d(1.0), NIL]));
    expect(&mut c, &["ZINCRBY", "z", "1", "a"], d(2.0));
    expect(&mut c, &["ZADD", "z", "INCR", "1", "a"], d(3.0));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["ZSCORE", "z", "b"]), ",2.5\r\n");
    assert_eq!(r3.cmd(&["ZSCORE", "z", "c"]), ",inf\r\n");
    assert_eq!(r3.cmd(&["ZSCORE", "z", "e"]), ",-inf\r\n");
    assert_eq!(r3.cmd(&["ZSCORE", "z", "nope"]), "_\r\n");
    assert_eq!(r3.cmd(&["ZMSCORE", "z", "b", "nope"]), "*2\r\n,2.5\r\n_\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["ZSCORE", "z", "b"]), "$3\r\n2.5\r\n");
    assert_eq!(r2.cmd(&["ZSCORE", "z", "c"]), "$3\r\ninf\r\n");
    assert_eq!(r2.cmd(&["ZMSCORE", "z", "b", "nope"]), "*2\r\n$3\r\n2.5\r\n$-1\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// ZRANK / ZREVRANK / ZCOUNT / ZLEXCOUNT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zrank_zrevrank() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    expect(&mut c, &["ZRANK", "z", "a"], i(0));
    expect(&mut c, &["ZRANK", "z", "c"], i(2));
    expect(&mut c, &["ZREVRANK", "z", "a"], i(4));
    expect(&mut c, &["ZREVRANK", "z", "e"], i(0));
    expect(&mut c, &["ZRANK", "z", "nope"], NIL);
    expect(&mut c, &["ZREVRANK", "nokey", "a"], NIL);
    // Ties are ordered by member.
    expect(&mut c, &["ZADD", "t", "1", "b", "1", "a", "1", "c"], i(3));
    expect(&mut c, &["ZRANK", "t", "a"], i(0));
    expect(&mut c, &["ZRANK", "t", "c"], i(2));
    // WITHSCORE does not exist in Redis 7.0: ZRANK takes exactly two arguments.
    expect_err(&mut c, &["ZRANK", "z", "c", "WITHSCORE"], &arity("zrank"));
    expect_err(&mut c, &["ZREVRANK", "z", "c", "WITHSCORE"], &arity("zrevrank"));
    expect_err(&mut c, &["ZRANK", "z"], &arity("zrank"));
    expect_err(&mut c, &["ZREVRANK", "z"], &arity("zrevrank"));
}

#[test]
fn zcount_zlexcount() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    expect(&mut c, &["ZCOUNT", "z", "2", "4"], i(3));
    expect(&mut c, &["ZCOUNT", "z", "(2", "(4"], i(1));
    expect(&mut c, &["ZCOUNT", "z", "(2", "4"], i(2));
    expect(&mut c, &["ZCOUNT", "z", "-inf", "+inf"], i(5));
    expect(&mut c, &["ZCOUNT", "z", "4", "2"], i(0));
    expect(&mut c, &["ZCOUNT", "z", "(3", "3"], i(0));
    expect(&mut c, &["ZCOUNT", "z", "3", "3"], i(1));
    expect(&mut c, &["ZCOUNT", "nokey", "0", "1"], i(0));
    expect_err(&mut c, &["ZCOUNT", "z", "x", "1"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZCOUNT", "z", "1", "(x"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZCOUNT", "z", "((1", "2"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZCOUNT", "z", "nan", "2"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZCOUNT", "nokey", "x", "y"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZCOUNT", "z"], &arity("zcount"));
    expect(&mut c, &["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"], i(5));
    expect(&mut c, &["ZLEXCOUNT", "l", "-", "+"], i(5));
    expect(&mut c, &["ZLEXCOUNT", "l", "[b", "(d"], i(2));
    expect(&mut c, &["ZLEXCOUNT", "l", "(b", "[d"], i(2));
    expect(&mut c, &["ZLEXCOUNT", "l", "+", "-"], i(0));
    expect(&mut c, &["ZLEXCOUNT", "l", "[d", "[b"], i(0));
    expect(&mut c, &["ZLEXCOUNT", "l", "[bb", "+"], i(3));
    expect(&mut c, &["ZLEXCOUNT", "nokey", "-", "+"], i(0));
    for (min, max) in [("b", "d"), ("[a", "d"), ("-+", "+"), ("[a", "+inf"), ("", "+")] {
        expect_err(&mut c, &["ZLEXCOUNT", "l", min, max], NOT_LEX_RANGE);
    }
    expect_err(&mut c, &["ZLEXCOUNT", "nokey", "x", "y"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZLEXCOUNT", "l", "-"], &arity("zlexcount"));
}

// ---------------------------------------------------------------------------------------------------------------
// ZRANGE and the legacy range commands
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zrange_by_rank() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    for (start, stop, want) in [
        ("0", "-1", &["a", "b", "c", "d", "e"][..]),
        ("2", "-2", &["c", "d"]),
        ("-100", "100", &["a", "b", "c", "d", "e"]),
        ("4", "100", &["e"]),
        ("5", "100", &[]),
        ("3", "1", &[]),
        ("-1", "-1", &["e"]),
        ("-9223372036854775808", "9223372036854775807", &["a", "b", "c", "d", "e"]),
    ] {
        expect(&mut c, &["ZRANGE", "z", start, stop], bulks(want));
    }
    expect(&mut c, &["ZRANGE", "z", "0", "-1", "REV"], bulks(&["e", "d", "c", "b", "a"]));
    expect(&mut c, &["ZRANGE", "z", "1", "2", "REV", "WITHSCORES"], bulks(&["d", "4", "c", "3"]));
    expect(&mut c, &["ZRANGE", "z", "0", "0", "withscores"], bulks(&["a", "1"]));
    expect(&mut c, &["ZRANGE", "nokey", "0", "-1"], arr(vec![]));
    expect(&mut c, &["ZREVRANGE", "z", "0", "1", "WITHSCORES"], bulks(&["e", "5", "d", "4"]));
    expect(&mut c, &["ZREVRANGE", "z", "-2", "-1"], bulks(&["b", "a"]));
    expect_err(&mut c, &["ZRANGE", "z", "0", "x"], NOT_INT);
    expect_err(&mut c, &["ZRANGE", "nokey", "x", "y"], NOT_INT);
    expect_err(&mut c, &["ZRANGE", "z", "0", "1", "FOO"], SYNTAX);
    expect_err(&mut c, &["ZRANGE", "z", "0", "-1", "LIMIT", "1", "2"], LIMIT_ONLY);
    expect_err(&mut c, &["ZRANGE", "z", "0", "1", "LIMIT", "1"], SYNTAX);
    expect_err(&mut c, &["ZRANGE", "z", "0"], &arity("zrange"));
    expect_err(&mut c, &["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"], LIMIT_ONLY);
    expect_err(&mut c, &["ZREVRANGE", "z", "0", "1", "BYSCORE"], SYNTAX);
    expect_err(&mut c, &["ZREVRANGE", "z", "0"], &arity("zrevrange"));
}

#[test]
fn zrange_by_score() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    expect(&mut c, &["ZRANGE", "z", "(1", "3", "BYSCORE"], bulks(&["b", "c"]));
    expect(&mut c, &["ZRANGE", "z", "3", "(1", "BYSCORE", "REV"], bulks(&["c", "b"]));
    expect(&mut c, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"], bulks(&["b", "c"]));
    expect(
        &mut c,
        &["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"],
        bulks(&["d", "4", "c", "3"]),
    );
    expect(&mut c, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"], bulks(&["b", "c", "d", "e"]));
    expect(&mut c, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "10", "2"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "5", "1", "BYSCORE"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "1", "5", "BYSCORE", "REV"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "3", "3", "BYSCORE"], bulks(&["c"]));
    expect(&mut c, &["ZRANGE", "z", "(3", "3", "BYSCORE"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "-INF", "+Inf", "byscore"], bulks(&["a", "b", "c", "d", "e"]));
    expect(&mut c, &["ZRANGE", "z", "-1e1", "1.5e0", "BYSCORE"], bulks(&["a"]));
    // Legacy forms; WITHSCORES and LIMIT in either order.
    expect(&mut c, &["ZRANGEBYSCORE", "z", "2", "4", "WITHSCORES", "LIMIT", "1", "1"], bulks(&["c", "3"]));
    expect(&mut c, &["ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1", "1", "WITHSCORES"], bulks(&["c", "3"]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "4", "2"], bulks(&["d", "c", "b"]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "2", "4"], arr(vec![]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "(4", "(2", "WITHSCORES"], bulks(&["c", "3"]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "0", "2"], bulks(&["e", "d"]));
    // Errors.
    expect_err(&mut c, &["ZRANGE", "z", "x", "1", "BYSCORE"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZRANGE", "z", "1", "x", "BYSCORE"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "1"], SYNTAX);
    expect_err(&mut c, &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"], NOT_INT);
    expect_err(&mut c, &["ZRANGE", "nokey", "0", "1", "BYSCORE", "LIMIT", "1"], SYNTAX);
    expect_err(&mut c, &["ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1"], SYNTAX);
    expect_err(&mut c, &["ZRANGEBYSCORE", "z", "2", "4", "REV"], SYNTAX);
    expect_err(&mut c, &["ZRANGEBYSCORE", "nokey", "x", "y"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZRANGEBYSCORE", "z", "1"], &arity("zrangebyscore"));
    expect_err(&mut c, &["ZREVRANGEBYSCORE", "z", "1"], &arity("zrevrangebyscore"));
}

#[test]
fn zrange_by_lex() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"], i(5));
    expect(&mut c, &["ZRANGE", "z", "-", "+", "BYLEX"], bulks(&["a", "b", "c", "d", "e"]));
    expect(&mut c, &["ZRANGE", "z", "[b", "(d", "BYLEX"], bulks(&["b", "c"]));
    expect(&mut c, &["ZRANGE", "z", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"], bulks(&["d", "c"]));
    expect(&mut c, &["ZRANGE", "z", "(a", "[c", "BYLEX", "LIMIT", "0", "1"], bulks(&["b"]));
    expect(&mut c, &["ZRANGE", "z", "[c", "[a", "BYLEX"], arr(vec![]));
    expect(&mut c, &["ZRANGE", "z", "[b", "+", "BYLEX"], bulks(&["b", "c", "d", "e"]));
    expect(&mut c, &["ZRANGEBYLEX", "z", "[b", "[d"], bulks(&["b", "c", "d"]));
    expect(&mut c, &["ZRANGEBYLEX", "z", "[a", "[c", "LIMIT", "1", "-1"], bulks(&["b", "c"]));
    expect(&mut c, &["ZRANGEBYLEX", "z", "[a", "[c", "LIMIT", "-1", "1"], arr(vec![]));
    expect(&mut c, &["ZREVRANGEBYLEX", "z", "[d", "[b"], bulks(&["d", "c", "b"]));
    expect(&mut c, &["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "0", "2"], bulks(&["e", "d"]));
    // The empty member and the "[" / "(" bounds around it.
    expect(&mut c, &["ZADD", "z", "0", ""], i(1));
    expect(&mut c, &["ZRANGE", "z", "[", "[a", "BYLEX"], bulks(&["", "a"]));
    expect(&mut c, &["ZRANGE", "z", "(", "[a", "BYLEX"], bulks(&["a"]));
    expect(&mut c, &["ZRANGE", "z", "-", "[", "BYLEX"], bulks(&[""]));
    // Errors.
    expect_err(&mut c, &["ZRANGE", "z", "a", "b", "BYLEX"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZRANGE", "z", "-+", "+", "BYLEX"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"], WITHSCORES_LEX);
    expect_err(&mut c, &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], SYNTAX);
    expect_err(&mut c, &["ZRANGE", "z", "[a", "[c", "BYSCORE", "BYLEX"], SYNTAX);
    expect_err(&mut c, &["ZRANGEBYLEX", "z", "b", "d"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZRANGEBYLEX", "nokey", "x", "y"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZRANGEBYLEX", "z", "[b", "[d", "WITHSCORES"], WITHSCORES_LEX);
    expect_err(&mut c, &["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "0"], SYNTAX);
    expect_err(&mut c, &["ZRANGEBYLEX", "z", "-"], &arity("zrangebylex"));
    expect_err(&mut c, &["ZREVRANGEBYLEX", "z", "+"], &arity("zrevrangebylex"));
}

#[test]
fn zrange_withscores_resp3() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["ZADD", "z", "1", "a", "2.5", "b"], i(2));
    let pair = |m: &str, sc: f64| arr(vec![b(m), d(sc)]);
    // RESP3: WITHSCORES gives [member, double] pairs.
    expect(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"], arr(vec![pair("a", 1.0), pair("b", 2.5)]));
    expect(&mut c, &["ZRANGE", "z", "0", "-1"], bulks(&["a", "b"]));
    expect(&mut c, &["ZREVRANGE", "z", "0", "0", "WITHSCORES"], arr(vec![pair("b", 2.5)]));
    expect(&mut c, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"], arr(vec![pair("a", 1.0), pair("b", 2.5)]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"], arr(vec![pair("b", 2.5), pair("a", 1.0)]));
    expect(&mut c, &["ZRANGE", "nokey", "0", "-1", "WITHSCORES"], arr(vec![]));
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(
        r3.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(
        r2.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
    );
    assert_eq!(r2.cmd(&["ZRANGE", "nokey", "0", "-1", "WITHSCORES"]), "*0\r\n");
}

#[test]
fn zrangestore() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    expect(&mut c, &["ZRANGESTORE", "dst", "z", "0", "-1"], i(5));
    expect(
        &mut c,
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        bulks(&["a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]),
    );
    expect(&mut c, &["ZRANGESTORE", "dst", "z", "1", "3", "BYSCORE", "LIMIT", "1", "1"], i(1));
    expect(&mut c, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"], bulks(&["b", "2"]));
    expect(&mut c, &["ZRANGESTORE", "dst", "z", "0", "1", "REV"], i(2));
    expect(&mut c, &["ZRANGE", "dst", "0", "-1"], bulks(&["d", "e"]));
    expect(&mut c, &["ZRANGESTORE", "dst", "z", "[c", "[b", "BYLEX", "REV"], i(2));
    expect(&mut c, &["ZRANGE", "dst", "0", "-1"], bulks(&["b", "c"]));
    // An empty result deletes the destination.
    expect(&mut c, &["ZRANGESTORE", "dst", "z", "10", "20"], i(0));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    expect(&mut c, &["ZRANGESTORE", "dst", "nokey", "0", "-1"], i(0));
    // The destination is overwritten whatever its type.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect(&mut c, &["ZRANGESTORE", "str", "z", "0", "0"], i(1));
    expect(&mut c, &["TYPE", "str"], Value::SimpleString("zset".into()));
    // The source must be a sorted set.
    expect(&mut c, &["SET", "str2", "x"], OK);
    expect_err(&mut c, &["ZRANGESTORE", "dst", "str2", "0", "-1"], WRONGTYPE);
    expect_err(&mut c, &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"], SYNTAX);
    expect_err(&mut c, &["ZRANGESTORE", "dst", "z", "0"], &arity("zrangestore"));
    expect_err(&mut c, &["ZRANGESTORE", "dst", "z", "0", "-1", "LIMIT", "0", "1"], LIMIT_ONLY);
}

// ---------------------------------------------------------------------------------------------------------------
// ZREMRANGEBY*
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zremrange() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"], i(5));
    expect(&mut c, &["ZREMRANGEBYRANK", "z", "0", "0"], i(1));
    expect(&mut c, &["ZREMRANGEBYRANK", "z", "-1", "-1"], i(1));
    expect(&mut c, &["ZREMRANGEBYRANK", "z", "5", "10"], i(0));
    expect(&mut c, &["ZREMRANGEBYRANK", "nokey", "0", "1"], i(0));
    expect(&mut c, &["ZRANGE", "z", "0", "-1"], bulks(&["b", "c", "d"]));
    expect(&mut c, &["ZREMRANGEBYSCORE", "z", "(2", "3"], i(1));
    expect(&mut c, &["ZREMRANGEBYSCORE", "nokey", "0", "1"], i(0));
    expect(&mut c, &["ZRANGE", "z", "0", "-1"], bulks(&["b", "d"]));
    expect(&mut c, &["ZADD", "l", "0", "a", "0", "b", "0", "c"], i(3));
    expect(&mut c, &["ZREMRANGEBYLEX", "l", "[b", "[b"], i(1));
    expect(&mut c, &["ZREMRANGEBYLEX", "l", "-", "+"], i(2));
    expect(&mut c, &["EXISTS", "l"], i(0));
    expect(&mut c, &["ZREMRANGEBYLEX", "nokey", "-", "+"], i(0));
    expect(&mut c, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"], i(2));
    expect(&mut c, &["EXISTS", "z"], i(0));
    // Errors, checked even on missing keys.
    expect_err(&mut c, &["ZREMRANGEBYRANK", "z", "x", "1"], NOT_INT);
    expect_err(&mut c, &["ZREMRANGEBYRANK", "nokey", "x", "y"], NOT_INT);
    expect_err(&mut c, &["ZREMRANGEBYSCORE", "z", "x", "3"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZREMRANGEBYSCORE", "nokey", "x", "y"], NOT_FLOAT_RANGE);
    expect_err(&mut c, &["ZREMRANGEBYLEX", "z", "b", "c"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZREMRANGEBYLEX", "nokey", "x", "y"], NOT_LEX_RANGE);
    expect_err(&mut c, &["ZREMRANGEBYRANK", "z", "0"], &arity("zremrangebyrank"));
    expect_err(&mut c, &["ZREMRANGEBYSCORE", "z", "0"], &arity("zremrangebyscore"));
    expect_err(&mut c, &["ZREMRANGEBYLEX", "z", "-"], &arity("zremrangebylex"));
    // On a skiplist.
    let mut p = redis::pipe();
    for j in 0..500 {
        p.cmd("ZADD").arg("big").arg(j).arg(format!("m{j:03}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    expect(&mut c, &["ZREMRANGEBYRANK", "big", "0", "99"], i(100));
    expect(&mut c, &["ZREMRANGEBYSCORE", "big", "(400", "+inf"], i(99));
    expect(&mut c, &["ZREMRANGEBYRANK", "big", "-1", "-1"], i(1));
    expect(&mut c, &["ZCARD", "big"], i(300));
    expect(&mut c, &["ZRANGE", "big", "0", "0", "WITHSCORES"], bulks(&["m100", "100"]));
    expect(&mut c, &["ZRANGE", "big", "-1", "-1", "WITHSCORES"], bulks(&["m399", "399"]));
}

// ---------------------------------------------------------------------------------------------------------------
// ZPOPMIN / ZPOPMAX / ZMPOP
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zpopmin_zpopmax() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"], i(4));
    expect(&mut c, &["ZPOPMIN", "z"], bulks(&["a", "1"]));
    expect(&mut c, &["ZPOPMAX", "z"], bulks(&["d", "4"]));
    expect(&mut c, &["ZPOPMIN", "z", "0"], arr(vec![]));
    expect(&mut c, &["ZPOPMAX", "z", "10"], bulks(&["c", "3", "b", "2"]));
    expect(&mut c, &["EXISTS", "z"], i(0));
    expect(&mut c, &["ZPOPMIN", "nokey"], arr(vec![]));
    expect(&mut c, &["ZPOPMAX", "nokey", "2"], arr(vec![]));
    expect(&mut c, &["ZADD", "z", "1", "a", "1", "b"], i(2));
    expect(&mut c, &["ZPOPMIN", "z", "1"], bulks(&["a", "1"]));
    expect_err(&mut c, &["ZPOPMIN", "z", "-1"], MUST_BE_POSITIVE);
    expect_err(&mut c, &["ZPOPMAX", "z", "x"], MUST_BE_POSITIVE);
    expect_err(&mut c, &["ZPOPMIN", "z", "1", "2"], SYNTAX);
    expect_err(&mut c, &["ZPOPMIN"], &arity("zpopmin"));
    expect(&mut c, &["ZCARD", "z"], i(1));
    // RESP3: a single pop is a flat [member, double]; with a count, pairs.
    let mut r3 = Resp::new(&s, 3);
    r3.cmd(&["ZADD", "r", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(r3.cmd(&["ZPOPMIN", "r"]), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(r3.cmd(&["ZPOPMAX", "r", "1"]), "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    assert_eq!(r3.cmd(&["ZPOPMIN", "nokey"]), "*0\r\n");
    assert_eq!(r3.cmd(&["ZPOPMIN", "nokey", "2"]), "*0\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["ZPOPMIN", "r", "5"]), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(r2.cmd(&["ZPOPMIN", "nokey"]), "*0\r\n");
}

#[test]
fn zmpop() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], i(3));
    expect(&mut c, &["ZMPOP", "1", "z", "MIN"], arr(vec![b("z"), arr(vec![bulks(&["a", "1"])])]));
    expect(
        &mut c,
        &["ZMPOP", "2", "nokey", "z", "max", "count", "10"],
        arr(vec![b("z"), arr(vec![bulks(&["c", "3"]), bulks(&["b", "2"])])]),
    );
    expect(&mut c, &["EXISTS", "z"], i(0));
    expect(&mut c, &["ZMPOP", "1", "nokey", "MIN"], NIL);
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["ZMPOP", "1", "nokey", "MAX"]), "*-1\r\n");
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["ZMPOP", "1", "nokey", "MIN"]), "_\r\n");
    r3.cmd(&["ZADD", "z", "1", "a", "2.5", "b"]);
    assert_eq!(
        r3.cmd(&["ZMPOP", "1", "z", "MIN", "COUNT", "2"]),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    expect(&mut c, &["ZADD", "z", "1", "a"], i(1));
    for n in ["0", "-1", "x"] {
        expect_err(&mut c, &["ZMPOP", n, "z", "MIN"], "ERR numkeys should be greater than 0");
    }
    expect_err(&mut c, &["ZMPOP", "3", "z", "MIN"], SYNTAX);
    expect_err(&mut c, &["ZMPOP", "1", "z", "FOO"], SYNTAX);
    for n in ["0", "-1", "x"] {
        expect_err(&mut c, &["ZMPOP", "1", "z", "MIN", "COUNT", n], "ERR count should be greater than 0");
    }
    expect_err(&mut c, &["ZMPOP", "1", "z", "MIN", "COUNT"], SYNTAX);
    expect_err(&mut c, &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"], SYNTAX);
    expect_err(&mut c, &["ZMPOP", "1", "z", "MIN", "FOO"], SYNTAX);
    expect_err(&mut c, &["ZMPOP", "1", "z"], &arity("zmpop"));
    expect_err(&mut c, &["ZMPOP", "1"], &arity("zmpop"));
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["ZMPOP", "2", "str", "z", "MIN"], WRONGTYPE);
    expect_err(&mut c, &["ZMPOP", "2", "nokey", "str", "MIN"], WRONGTYPE);
    expect(&mut c, &["ZMPOP", "2", "z", "str", "MIN"], arr(vec![b("z"), arr(vec![bulks(&["a", "1"])])]));
}

#[test]
fn blocking_zpop_errors_and_immediate() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_err(&mut c, &["BZPOPMIN", "z"], &arity("bzpopmin"));
    expect_err(&mut c, &["BZPOPMIN", "z", "x"], "ERR timeout is not a float or out of range");
    expect_err(&mut c, &["BZPOPMIN", "z", "-1"], "ERR timeout is negative");
    expect_err(&mut c, &["BZPOPMAX", "z", "inf"], "ERR timeout is negative");
    expect_err(&mut c, &["BZMPOP", "0", "1", "z"], &arity("bzmpop"));
    expect_err(&mut c, &["BZMPOP", "0", "0", "z", "MIN"], "ERR numkeys should be greater than 0");
    expect_err(&mut c, &["BZMPOP", "x", "1", "z", "MIN"], "ERR timeout is not a float or out of range");
    expect_err(&mut c, &["BZMPOP", "-1", "1", "z", "MIN"], "ERR timeout is negative");
    expect_err(&mut c, &["BZMPOP", "0", "1", "z", "FOO"], SYNTAX);
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], i(3));
    expect(&mut c, &["BZPOPMIN", "nokey", "z", "0"], bulks(&["z", "a", "1"]));
    expect(&mut c, &["BZPOPMAX", "z", "0"], bulks(&["z", "c", "3"]));
    expect(
        &mut c,
        &["BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "5"],
        arr(vec![b("z"), arr(vec![bulks(&["b", "2"])])]),
    );
    expect(&mut c, &["EXISTS", "z"], i(0));
    expect(&mut c, &["BZPOPMIN", "z", "0.05"], NIL);
    expect(&mut c, &["BZMPOP", "0.05", "1", "z", "MAX"], NIL);
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["BZPOPMIN", "str", "0"], WRONGTYPE);
    expect_err(&mut c, &["BZMPOP", "0", "1", "str", "MIN"], WRONGTYPE);
}

// ---------------------------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zrandmember() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZRANDMEMBER", "nokey"], NIL);
    expect(&mut c, &["ZRANDMEMBER", "nokey", "2"], arr(vec![]));
    expect(&mut c, &["ZRANDMEMBER", "nokey", "2", "WITHSCORES"], arr(vec![]));
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], i(3));
    let all: HashSet<&str> = ["a", "b", "c"].into();
    for _ in 0..20 {
        let m: String = q(&mut c, &["ZRANDMEMBER", "z"]);
        assert!(all.contains(m.as_str()));
    }
    expect(&mut c, &["ZRANDMEMBER", "z", "0"], arr(vec![]));
    for n in [1usize, 2, 3, 10] {
        let got = texts(&val(&mut c, &["ZRANDMEMBER", "z", &n.to_string()]));
        assert_eq!(got.len(), n.min(3));
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len());
    }
    assert_eq!(texts(&val(&mut c, &["ZRANDMEMBER", "z", "-10"])).len(), 10);
    let got = texts(&val(&mut c, &["ZRANDMEMBER", "z", "5", "WITHSCORES"]));
    assert_eq!(got.len(), 6);
    for p in got.chunks(2) {
        let want = match p[0].as_str() {
            "a" => "1",
            "b" => "2",
            "c" => "3",
            other => panic!("unexpected member {other}"),
        };
        assert_eq!(p[1], want);
    }
    assert_eq!(texts(&val(&mut c, &["ZRANDMEMBER", "z", "-4", "withscores"])).len(), 8);
    // A skiplist set.
    let mut p = redis::pipe();
    for j in 0..300 {
        p.cmd("ZADD").arg("big").arg(j).arg(format!("m{j}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    for n in [5usize, 200, 300, 1000] {
        let got = texts(&val(&mut c, &["ZRANDMEMBER", "big", &n.to_string()]));
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), n.min(300));
    }
    // Errors.
    expect_err(&mut c, &["ZRANDMEMBER", "z", "x"], NOT_INT);
    expect_err(&mut c, &["ZRANDMEMBER", "z", "1", "FOO"], SYNTAX);
    expect_err(&mut c, &["ZRANDMEMBER", "z", "1", "WITHSCORES", "FOO"], SYNTAX);
    expect_err(&mut c, &["ZRANDMEMBER"], &arity("zrandmember"));
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    expect_err(&mut c, &["ZRANDMEMBER", "z", "-9223372036854775808"], range);
    expect_err(&mut c, &["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"], "ERR value is out of range");
    expect_err(&mut c, &["ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"], "ERR value is out of range");
    // RESP3 pairs.
    let mut r3 = Resp::new(&s, 3);
    r3.cmd(&["ZADD", "one", "2.5", "m"]);
    assert_eq!(r3.cmd(&["ZRANDMEMBER", "one", "1", "WITHSCORES"]), "*1\r\n*2\r\n$1\r\nm\r\n,2.5\r\n");
    assert_eq!(
        r3.cmd(&["ZRANDMEMBER", "one", "-2", "WITHSCORES"]),
        "*2\r\n*2\r\n$1\r\nm\r\n,2.5\r\n*2\r\n$1\r\nm\r\n,2.5\r\n"
    );
    assert_eq!(r3.cmd(&["ZRANDMEMBER", "nokey"]), "_\r\n");
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(r2.cmd(&["ZRANDMEMBER", "one", "1", "WITHSCORES"]), "*2\r\n$1\r\nm\r\n$3\r\n2.5\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF / stores / ZINTERCARD
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zunion_zinter_zdiff() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"], i(3));
    expect(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"], i(3));
    expect(&mut c, &["SADD", "s", "y", "w", "v"], i(3));
    expect(&mut c, &["ZUNION", "2", "a", "b"], bulks(&["x", "y", "z", "w"]));
    expect(&mut c, &["ZUNION", "2", "a", "b", "WITHSCORES"], bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]));
    expect(
        &mut c,
        &["ZUNION", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"],
        bulks(&["x", "2", "y", "34", "z", "66", "w", "90"]),
    );
    expect(
        &mut c,
        &["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
        bulks(&["x", "1", "y", "2", "z", "3", "w", "30"]),
    );
    expect(
        &mut c,
        &["ZUNION", "2", "a", "b", "aggregate", "max", "withscores"],
        bulks(&["x", "1", "y", "10", "z", "20", "w", "30"]),
    );
    // Plain sets count as score 1.
    expect(
        &mut c,
        &["ZUNION", "3", "a", "b", "s", "WITHSCORES"],
        bulks(&["v", "1", "x", "1", "y", "13", "z", "23", "w", "31"]),
    );
    expect(&mut c, &["ZINTER", "2", "a", "b", "WITHSCORES"], bulks(&["y", "12", "z", "23"]));
    expect(&mut c, &["ZINTER", "3", "a", "b", "s", "WITHSCORES"], bulks(&["y", "13"]));
    expect(&mut c, &["ZINTER", "2", "a", "nokey"], arr(vec![]));
    expect(&mut c, &["ZDIFF", "2", "a", "b", "WITHSCORES"], bulks(&["x", "1"]));
    expect(&mut c, &["ZDIFF", "2", "a", "s", "WITHSCORES"], bulks(&["x", "1", "z", "3"]));
    expect(&mut c, &["ZDIFF", "1", "nokey"], arr(vec![]));
    expect(
        &mut c,
        &["ZUNION", "2", "a", "b", "WITHSCORES", "WITHSCORES"],
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]),
    );
    // inf + -inf and inf * 0 give 0.
    expect(&mut c, &["ZADD", "i1", "inf", "a"], i(1));
    expect(&mut c, &["ZADD", "i2", "-inf", "a"], i(1));
    expect(&mut c, &["ZUNION", "2", "i1", "i2", "WITHSCORES"], bulks(&["a", "0"]));
    expect(&mut c, &["ZUNION", "1", "i1", "WEIGHTS", "0", "WITHSCORES"], bulks(&["a", "0"]));
    // Errors.
    for cmd in ["ZUNION", "ZINTER", "ZDIFF"] {
        let lower = cmd.to_lowercase();
        let need = format!("ERR at least 1 input key is needed for '{lower}' command");
        expect_err(&mut c, &[cmd, "0", "a"], &need);
        expect_err(&mut c, &[cmd, "-1", "a"], &need);
        expect_err(&mut c, &[cmd, "x", "a"], NOT_INT);
        expect_err(&mut c, &[cmd, "3", "a", "b"], SYNTAX);
        expect_err(&mut c, &[cmd, "2", "a", "b", "FOO"], SYNTAX);
        expect_err(&mut c, &[cmd, "1"], &arity(&lower));
    }
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1"], SYNTAX);
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "2", "3"], SYNTAX);
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"], "ERR weight value is not a float");
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "nan"], "ERR weight value is not a float");
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "AGGREGATE", "FOO"], SYNTAX);
    expect_err(&mut c, &["ZUNION", "2", "a", "b", "AGGREGATE"], SYNTAX);
    expect_err(&mut c, &["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"], SYNTAX);
    expect_err(&mut c, &["ZDIFF", "2", "a", "b", "AGGREGATE", "MIN"], SYNTAX);
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["ZUNION", "2", "a", "str"], WRONGTYPE);
    expect_err(&mut c, &["ZINTER", "2", "nokey", "str"], WRONGTYPE);
    expect_err(&mut c, &["ZDIFF", "2", "a", "str"], WRONGTYPE);
    expect_err(&mut c, &["ZDIFF", "2", "nokey", "str"], WRONGTYPE);
}

#[test]
fn zsetop_resp3() {
    let s = TestServer::start();
    let mut r3 = Resp::new(&s, 3);
    r3.cmd(&["ZADD", "z", "3", "c"]);
    for cmd in ["ZUNION", "ZINTER", "ZDIFF"] {
        assert_eq!(r3.cmd(&[cmd, "1", "z", "WITHSCORES"]), "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n", "{cmd}");
        assert_eq!(r3.cmd(&[cmd, "1", "z"]), "*1\r\n$1\r\nc\r\n", "{cmd}");
    }
    assert_eq!(r3.cmd(&["ZSCAN", "z", "0"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
}

#[test]
fn zset_store_variants() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"], i(3));
    expect(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"], i(3));
    expect(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b"], i(4));
    expect(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"], bulks(&["x", "1", "y", "12", "z", "23", "w", "30"]));
    expect(&mut c, &["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"], i(2));
    expect(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"], bulks(&["z", "-17", "y", "-8"]));
    expect(&mut c, &["ZDIFFSTORE", "d", "2", "a", "b"], i(1));
    expect(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"], bulks(&["x", "1"]));
    expect(&mut c, &["ZINTERSTORE", "d", "2", "a", "nokey"], i(0));
    expect(&mut c, &["EXISTS", "d"], i(0));
    // The destination is overwritten whatever its type, and may be a source.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect(&mut c, &["ZUNIONSTORE", "str", "1", "a"], i(3));
    expect(&mut c, &["TYPE", "str"], Value::SimpleString("zset".into()));
    expect(&mut c, &["ZINTERSTORE", "a", "2", "a", "b", "AGGREGATE", "MAX"], i(2));
    expect(&mut c, &["ZRANGE", "a", "0", "-1", "WITHSCORES"], bulks(&["y", "10", "z", "20"]));
    expect_err(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"], SYNTAX);
    expect_err(&mut c, &["ZDIFFSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "1"], SYNTAX);
    for cmd in ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"] {
        let lower = cmd.to_lowercase();
        expect_err(&mut c, &[cmd, "d", "0", "a"], &format!("ERR at least 1 input key is needed for '{lower}' command"));
        expect_err(&mut c, &[cmd, "d", "1"], &arity(&lower));
    }
    expect(&mut c, &["SET", "str2", "x"], OK);
    expect_err(&mut c, &["ZUNIONSTORE", "d", "2", "nokey", "str2"], WRONGTYPE);
    expect(&mut c, &["EXISTS", "d"], i(0));
}

#[test]
fn zintercard() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"], i(3));
    expect(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"], i(3));
    expect(&mut c, &["SADD", "s", "y", "w", "v"], i(3));
    expect(&mut c, &["ZINTERCARD", "2", "a", "b"], i(2));
    expect(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"], i(1));
    expect(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "0"], i(2));
    expect(&mut c, &["ZINTERCARD", "2", "a", "s"], i(1));
    expect(&mut c, &["ZINTERCARD", "2", "a", "nokey"], i(0));
    expect(&mut c, &["ZINTERCARD", "1", "a"], i(3));
    expect_err(&mut c, &["ZINTERCARD", "0", "a"], "ERR at least 1 input key is needed for 'zintercard' command");
    expect_err(&mut c, &["ZINTERCARD", "x", "a"], NOT_INT);
    expect_err(&mut c, &["ZINTERCARD", "3", "a"], SYNTAX);
    expect_err(&mut c, &["ZINTERCARD", "1", "a", "LIMIT", "-1"], "ERR LIMIT can't be negative");
    expect_err(&mut c, &["ZINTERCARD", "1", "a", "LIMIT"], SYNTAX);
    expect_err(&mut c, &["ZINTERCARD", "1"], &arity("zintercard"));
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["ZINTERCARD", "2", "a", "str"], WRONGTYPE);
    // Every key's type is checked, even after a missing one.
    expect_err(&mut c, &["ZINTERCARD", "2", "nokey", "str"], WRONGTYPE);
}

// ---------------------------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn zscan() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZSCAN", "nokey", "0"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["ZADD", "z", "1", "a", "2.5", "b", "-3", "c"], i(3));
    expect(&mut c, &["ZSCAN", "z", "0"], arr(vec![b("0"), bulks(&["c", "-3", "a", "1", "b", "2.5"])]));
    expect(&mut c, &["ZSCAN", "z", "0", "MATCH", "a"], arr(vec![b("0"), bulks(&["a", "1"])]));
    // A skiplist: a full iteration sees every member with its score.
    let mut p = redis::pipe();
    for j in 0..1000 {
        p.cmd("ZADD").arg("big").arg(j).arg(format!("m{j}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let v = val(&mut c, &["ZSCAN", "big", &cursor, "COUNT", "25"]);
        let Value::Array(parts) = v else { panic!("ZSCAN reply {v:?}") };
        for pair in texts(&parts[1]).chunks(2) {
            assert_eq!(pair[0], format!("m{}", pair[1]));
            seen.insert(pair[0].clone());
        }
        cursor = text(&parts[0]);
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 100_000);
    }
    assert!(calls > 1);
    assert_eq!(seen.len(), 1000);
    expect_err(&mut c, &["ZSCAN", "z"], &arity("zscan"));
    expect_err(&mut c, &["ZSCAN", "z", "x"], "ERR invalid cursor");
    expect_err(&mut c, &["ZSCAN", "z", "0", "COUNT", "0"], SYNTAX);
    expect_err(&mut c, &["ZSCAN", "z", "0", "MATCH"], SYNTAX);
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
            &["ZADD", key, "1", "m"][..],
            &["ZINCRBY", key, "1", "m"],
            &["ZREM", key, "m"],
            &["ZCARD", key],
            &["ZSCORE", key, "m"],
            &["ZMSCORE", key, "m"],
            &["ZRANK", key, "m"],
            &["ZREVRANK", key, "m"],
            &["ZCOUNT", key, "0", "1"],
            &["ZLEXCOUNT", key, "-", "+"],
            &["ZRANGE", key, "0", "-1"],
            &["ZRANGESTORE", "d", key, "0", "-1"],
            &["ZREVRANGE", key, "0", "-1"],
            &["ZRANGEBYSCORE", key, "0", "1"],
            &["ZREVRANGEBYSCORE", key, "1", "0"],
            &["ZRANGEBYLEX", key, "-", "+"],
            &["ZREVRANGEBYLEX", key, "+", "-"],
            &["ZREMRANGEBYRANK", key, "0", "1"],
            &["ZREMRANGEBYSCORE", key, "0", "1"],
            &["ZREMRANGEBYLEX", key, "-", "+"],
            &["ZPOPMIN", key],
            &["ZPOPMAX", key, "2"],
            &["ZMPOP", "1", key, "MIN"],
            &["BZPOPMIN", key, "0"],
            &["BZMPOP", "0", "1", key, "MAX"],
            &["ZRANDMEMBER", key],
            &["ZUNION", "1", key],
            &["ZINTER", "1", key],
            &["ZDIFF", "1", key],
            &["ZUNIONSTORE", "d", "1", key],
            &["ZINTERCARD", "1", key],
            &["ZSCAN", key, "0"],
        ] {
            expect_err(&mut c, args, WRONGTYPE);
        }
    }
    expect(&mut c, &["EXISTS", "d"], i(0));
    expect(&mut c, &["ZADD", "z", "1", "m"], i(1));
    for args in [
        &["GET", "z"][..],
        &["INCRBY", "z", "1"],
        &["HSET", "z", "f", "v"],
        &["LPUSH", "z", "x"],
        &["SADD", "z", "x"],
        &["SMEMBERS", "z"],
        &["SINTER", "z"],
        &["PFADD", "z", "x"],
    ] {
        expect_err(&mut c, args, WRONGTYPE);
    }
    expect(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"], bulks(&["m", "1"]));
}

#[test]
fn encoding_listpack_to_skiplist() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], i(3));
    assert_eq!(encoding(&mut c, "z"), "listpack");
    expect(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "3"], OK);
    expect(&mut c, &["ZADD", "z", "4", "d"], i(1));
    assert_eq!(encoding(&mut c, "z"), "skiplist");
    expect(&mut c, &["ZREM", "z", "a", "b", "c"], i(3));
    assert_eq!(encoding(&mut c, "z"), "skiplist", "never converted back");
    expect(&mut c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"], bulks(&["d", "4"]));
    // The old ziplist name is an alias; 0 means always skiplist.
    expect(&mut c, &["CONFIG", "SET", "zset-max-ziplist-entries", "0"], OK);
    expect(&mut c, &["CONFIG", "GET", "zset-max-listpack-entries"], bulks(&["zset-max-listpack-entries", "0"]));
    expect(&mut c, &["ZADD", "w", "1", "a"], i(1));
    assert_eq!(encoding(&mut c, "w"), "skiplist");
    expect(&mut c, &["CONFIG", "SET", "zset-max-listpack-entries", "128"], OK);
    // Member length.
    let m64 = "a".repeat(64);
    let m65 = "a".repeat(65);
    expect(&mut c, &["ZADD", "v", "1", &m64], i(1));
    assert_eq!(encoding(&mut c, "v"), "listpack");
    expect(&mut c, &["ZADD", "v", "1", &m65], i(1));
    assert_eq!(encoding(&mut c, "v"), "skiplist");
    expect(&mut c, &["ZINCRBY", "inc", "1", &m65], b("1"));
    assert_eq!(encoding(&mut c, "inc"), "skiplist");
    expect(&mut c, &["ZRANGESTORE", "rs", "v", "0", "-1"], i(2));
    assert_eq!(encoding(&mut c, "rs"), "skiplist");
    expect(&mut c, &["CONFIG", "SET", "zset-max-listpack-value", "5"], OK);
    expect(&mut c, &["ZADD", "short", "1", "abcdef"], i(1));
    assert_eq!(encoding(&mut c, "short"), "skiplist");
    expect(&mut c, &["CONFIG", "SET", "zset-max-listpack-value", "64"], OK);
    // Store results follow the same limits.
    expect(&mut c, &["ZADD", "a", "1", "x", "2", "y"], i(2));
    expect(&mut c, &["ZADD", "b", "1", "x"], i(1));
    expect(&mut c, &["ZUNIONSTORE", "u", "2", "a", "b"], i(2));
    assert_eq!(encoding(&mut c, "u"), "listpack");
    // Default: 128 entries.
    let mut p = redis::pipe();
    for j in 0..128 {
        p.cmd("ZADD").arg("d").arg(j).arg(format!("m{j}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert_eq!(encoding(&mut c, "d"), "listpack");
    expect(&mut c, &["ZADD", "d", "-1", "first"], i(1));
    assert_eq!(encoding(&mut c, "d"), "skiplist");
    expect(&mut c, &["ZRANK", "d", "first"], i(0));
    expect(&mut c, &["ZRANK", "d", "m127"], i(128));
    expect(&mut c, &["ZCARD", "d"], i(129));
}

// ---------------------------------------------------------------------------------------------------------------
// Randomized comparison with a model
// ---------------------------------------------------------------------------------------------------------------

/// xorshift64*, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// The model: (score, member) sorted by score then member bytes.
#[derive(Default)]
struct Model {
    items: Vec<(f64, String)>,
}

impl Model {
    fn sort(&mut self) {
        self.items
            .sort_by(|a, b| a.0.partial_cmp(&b.0).expect("no NaN").then_with(|| a.1.as_bytes().cmp(b.1.as_bytes())));
    }

    fn score(&self, m: &str) -> Option<f64> {
        self.items.iter().find(|(_, x)| x == m).map(|(s, _)| *s)
    }

    /// Returns true when `m` was added.
    fn set(&mut self, m: &str, s: f64) -> bool {
        let added = match self.items.iter_mut().find(|(_, x)| x == m) {
            Some(e) => {
                e.0 = s;
                false
            }
            None => {
                self.items.push((s, m.to_string()));
                true
            }
        };
        self.sort();
        added
    }

    fn remove(&mut self, m: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|(_, x)| x != m);
        before != self.items.len()
    }

    fn rank(&self, m: &str) -> Option<usize> {
        self.items.iter().position(|(_, x)| x == m)
    }
}

/// Redis's textual form of the scores the randomized test produces (multiples of 0.5 of modest size).
fn fmt_score(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    }
}

#[derive(Clone, Copy, Debug)]
struct Bound {
    v: f64,
    excl: bool,
}

impl Bound {
    fn arg(&self) -> String {
        let body = if self.v == f64::INFINITY {
            "+inf".to_string()
        } else if self.v == f64::NEG_INFINITY {
            "-inf".to_string()
        } else {
            fmt_score(self.v)
        };
        if self.excl {
            format!("({body}")
        } else {
            body
        }
    }

    fn above_min(&self, s: f64) -> bool {
        if self.excl {
            s > self.v
        } else {
            s >= self.v
        }
    }

    fn below_max(&self, s: f64) -> bool {
        if self.excl {
            s < self.v
        } else {
            s <= self.v
        }
    }
}

#[derive(Clone, Debug)]
enum Lex {
    NegInf,
    PosInf,
    Incl(String),
    Excl(String),
}

impl Lex {
    fn arg(&self) -> String {
        match self {
            Lex::NegInf => "-".into(),
            Lex::PosInf => "+".into(),
            Lex::Incl(s) => format!("[{s}"),
            Lex::Excl(s) => format!("({s}"),
        }
    }

    fn above_min(&self, m: &str) -> bool {
        match self {
            Lex::NegInf => true,
            Lex::PosInf => false,
            Lex::Incl(s) => m.as_bytes() >= s.as_bytes(),
            Lex::Excl(s) => m.as_bytes() > s.as_bytes(),
        }
    }

    fn below_max(&self, m: &str) -> bool {
        match self {
            Lex::NegInf => false,
            Lex::PosInf => true,
            Lex::Incl(s) => m.as_bytes() <= s.as_bytes(),
            Lex::Excl(s) => m.as_bytes() < s.as_bytes(),
        }
    }
}

fn apply_limit<T: Clone>(v: &[T], limit: Option<(i64, i64)>) -> Vec<T> {
    match limit {
        None => v.to_vec(),
        Some((off, _)) if off < 0 => vec![],
        Some((off, cnt)) => {
            let rest = v.iter().skip(off as usize);
            if cnt < 0 {
                rest.cloned().collect()
            } else {
                rest.take(cnt as usize).cloned().collect()
            }
        }
    }
}

fn rank_slice(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let l = len as i64;
    let mut s = if start < 0 { start + l } else { start };
    let mut e = if stop < 0 { stop + l } else { stop };
    s = s.max(0);
    if s > e || s >= l {
        return None;
    }
    e = e.min(l - 1);
    Some((s as usize, e as usize))
}

fn random_score(rng: &mut Rng) -> f64 {
    // Multiples of 0.5 in a narrow range, so ties are frequent.
    rng.range(-40, 40) as f64 / 2.0
}

fn random_bound(rng: &mut Rng) -> Bound {
    match rng.below(10) {
        0 => Bound { v: f64::NEG_INFINITY, excl: rng.below(2) == 0 },
        1 => Bound { v: f64::INFINITY, excl: rng.below(2) == 0 },
        _ => Bound { v: rng.range(-44, 44) as f64 / 2.0, excl: rng.below(2) == 0 },
    }
}

fn member_name(j: u64) -> String {
    // Names whose byte order differs from their numeric order, with a few prefixes of each other.
    format!("m{}", j * 7 % 1000)
}

fn random_lex(rng: &mut Rng, pool: u64) -> Lex {
    match rng.below(12) {
        0 => Lex::NegInf,
        1 => Lex::PosInf,
        2 => Lex::Incl(format!("m{}", rng.below(10))),
        n => {
            let m = member_name(rng.below(pool));
            if n % 2 == 0 {
                Lex::Incl(m)
            } else {
                Lex::Excl(m)
            }
        }
    }
}

fn random_limit(rng: &mut Rng, len: usize) -> Option<(i64, i64)> {
    match rng.below(4) {
        0 => None,
        1 => Some((rng.range(-1, len as i64 + 2), -1)),
        _ => Some((rng.range(0, len as i64 + 2), rng.range(0, 20))),
    }
}

fn pairs_of(v: &[(f64, String)]) -> Vec<String> {
    v.iter().flat_map(|(s, m)| [m.clone(), fmt_score(*s)]).collect()
}

fn members_of(v: &[(f64, String)]) -> Vec<String> {
    v.iter().map(|(_, m)| m.clone()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

/// Checks a scored key against its model with random rank, score and count queries.
fn check_scores(c: &mut redis::Connection, key: &str, model: &Model, rng: &mut Rng, pool: u64) {
    let len = model.items.len();
    expect(c, &["ZCARD", key], i(len as i64));
    let all: Vec<String> = q(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"]);
    assert_eq!(all, pairs_of(&model.items), "{key}: full contents");
    for _ in 0..10 {
        let m = member_name(rng.below(pool));
        let want = model.rank(&m).map_or(NIL, |r| i(r as i64));
        expect(c, &["ZRANK", key, &m], want);
        let want = model.rank(&m).map_or(NIL, |r| i((len - 1 - r) as i64));
        expect(c, &["ZREVRANK", key, &m], want);
        let want = model.score(&m).map_or(NIL, |s| b(&fmt_score(s)));
        expect(c, &["ZSCORE", key, &m], want);
    }
    for _ in 0..8 {
        let (start, stop) =
            (rng.range(-(len as i64) - 3, len as i64 + 3), rng.range(-(len as i64) - 3, len as i64 + 3));
        let fwd = rank_slice(len, start, stop).map_or(vec![], |(s, e)| model.items[s..=e].to_vec());
        let (st, sp) = (start.to_string(), stop.to_string());
        let got: Vec<String> = q(c, &["ZRANGE", key, &st, &sp, "WITHSCORES"]);
        assert_eq!(got, pairs_of(&fwd), "{key}: ZRANGE {start} {stop}");
        let mut rev_items = model.items.clone();
        rev_items.reverse();
        let rev = rank_slice(len, start, stop).map_or(vec![], |(s, e)| rev_items[s..=e].to_vec());
        let got: Vec<String> = q(c, &["ZRANGE", key, &st, &sp, "REV"]);
        assert_eq!(got, members_of(&rev), "{key}: ZRANGE {start} {stop} REV");
        let got: Vec<String> = q(c, &["ZREVRANGE", key, &st, &sp]);
        assert_eq!(got, members_of(&rev), "{key}: ZREVRANGE {start} {stop}");
    }
    for _ in 0..12 {
        let (min, max) = (random_bound(rng), random_bound(rng));
        let inside: Vec<(f64, String)> =
            model.items.iter().filter(|(s, _)| min.above_min(*s) && max.below_max(*s)).cloned().collect();
        let (mn, mx) = (min.arg(), max.arg());
        expect(c, &["ZCOUNT", key, &mn, &mx], i(inside.len() as i64));
        let limit = random_limit(rng, inside.len());
        let mut args = vec!["ZRANGE".to_string(), key.into(), mn.clone(), mx.clone(), "BYSCORE".into()];
        let mut rargs = vec!["ZRANGE".to_string(), key.into(), mx.clone(), mn.clone(), "BYSCORE".into(), "REV".into()];
        let mut largs = vec!["ZRANGEBYSCORE".to_string(), key.into(), mn.clone(), mx.clone()];
        if let Some((o, n)) = limit {
            for a in [&mut args, &mut rargs, &mut largs] {
                a.extend(["LIMIT".to_string(), o.to_string(), n.to_string()]);
            }
        }
        args.push("WITHSCORES".into());
        let got: Vec<String> = q(c, &strs(&args));
        assert_eq!(got, pairs_of(&apply_limit(&inside, limit)), "{args:?}");
        let mut rev = inside.clone();
        rev.reverse();
        let got: Vec<String> = q(c, &strs(&rargs));
        assert_eq!(got, members_of(&apply_limit(&rev, limit)), "{rargs:?}");
        let got: Vec<String> = q(c, &strs(&largs));
        assert_eq!(got, members_of(&apply_limit(&inside, limit)), "{largs:?}");
    }
}

/// Checks an all-zero-score key against its model with random lex queries.
fn check_lex(c: &mut redis::Connection, key: &str, model: &Model, rng: &mut Rng, pool: u64) {
    let all: Vec<String> = q(c, &["ZRANGE", key, "0", "-1"]);
    assert_eq!(all, members_of(&model.items), "{key}: full contents");
    for _ in 0..12 {
        let (min, max) = (random_lex(rng, pool), random_lex(rng, pool));
        let inside: Vec<(f64, String)> =
            model.items.iter().filter(|(_, m)| min.above_min(m) && max.below_max(m)).cloned().collect();
        let (mn, mx) = (min.arg(), max.arg());
        expect(c, &["ZLEXCOUNT", key, &mn, &mx], i(inside.len() as i64));
        let limit = random_limit(rng, inside.len());
        let mut args = vec!["ZRANGE".to_string(), key.into(), mn.clone(), mx.clone(), "BYLEX".into()];
        let mut rargs = vec!["ZREVRANGEBYLEX".to_string(), key.into(), mx.clone(), mn.clone()];
        if let Some((o, n)) = limit {
            for a in [&mut args, &mut rargs] {
                a.extend(["LIMIT".to_string(), o.to_string(), n.to_string()]);
            }
        }
        let got: Vec<String> = q(c, &strs(&args));
        assert_eq!(got, members_of(&apply_limit(&inside, limit)), "{args:?}");
        let mut rev = inside.clone();
        rev.reverse();
        let got: Vec<String> = q(c, &strs(&rargs));
        assert_eq!(got, members_of(&apply_limit(&rev, limit)), "{rargs:?}");
    }
    for _ in 0..5 {
        let m = member_name(rng.below(pool));
        expect(c, &["ZRANK", key, &m], model.rank(&m).map_or(NIL, |r| i(r as i64)));
    }
}

/// Runs `ops` random ZADD / ZREM / ZINCRBY operations on `key` (scored) and `lexkey` (all scores 0) through
/// pipelines, checking every reply and then the whole state against the models every `batch` operations.
fn randomized(seed: u64, key: &str, lexkey: &str, pool: u64, ops: usize, batch: usize, want_encoding: &str) {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = Rng(seed);
    let (mut model, mut lex) = (Model::default(), Model::default());
    let mut done = 0;
    let mut peak = (0, 0);
    while done < ops {
        let mut p = redis::pipe();
        let mut want: Vec<Value> = Vec::new();
        for _ in 0..batch {
            let m = member_name(rng.below(pool));
            match rng.below(10) {
                0..=4 => {
                    let sc = random_score(&mut rng);
                    let added = model.set(&m, sc);
                    p.cmd("ZADD").arg(key).arg(fmt_score(sc)).arg(&m);
                    want.push(i(added as i64));
                }
                5 | 6 => {
                    p.cmd("ZREM").arg(key).arg(&m);
                    want.push(i(model.remove(&m) as i64));
                }
                _ => {
                    let by = [-1.5, -1.0, 0.5, 1.0, 2.0][rng.below(5) as usize];
                    let new = model.score(&m).unwrap_or(0.0) + by;
                    model.set(&m, new);
                    p.cmd("ZINCRBY").arg(key).arg(fmt_score(by)).arg(&m);
                    want.push(b(&fmt_score(new)));
                }
            }
            let lm = member_name(rng.below(pool));
            if rng.below(3) < 2 {
                p.cmd("ZADD").arg(lexkey).arg(0).arg(&lm);
                want.push(i(lex.set(&lm, 0.0) as i64));
            } else {
                p.cmd("ZREM").arg(lexkey).arg(&lm);
                want.push(i(lex.remove(&lm) as i64));
            }
        }
        let got: Vec<Value> = p.query(&mut c).expect("pipeline");
        assert_eq!(got, want, "replies of batch ending at op {}", done + batch);
        done += batch;
        peak = (peak.0.max(model.items.len()), peak.1.max(lex.items.len()));
        check_scores(&mut c, key, &model, &mut rng, pool);
        check_lex(&mut c, lexkey, &lex, &mut rng, pool);
    }
    if want_encoding == "skiplist" {
        assert!(peak.0 > 200 && peak.1 > 200, "the sets grew past 200 members: {peak:?}");
    }
    if !model.items.is_empty() {
        assert_eq!(encoding(&mut c, key), want_encoding);
    }
    if !lex.items.is_empty() {
        assert_eq!(encoding(&mut c, lexkey), want_encoding);
    }
}

#[test]
fn randomized_against_model_skiplist() {
    randomized(0x9E37_79B9_7F4A_7C15, "big", "biglex", 700, 3000, 300, "skiplist");
}

#[test]
fn randomized_against_model_listpack() {
    randomized(0xD1B5_4A32_D192_ED03, "small", "smalllex", 60, 2000, 100, "listpack");
}

#[test]
fn large_sorted_set_ranks() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for j in 0..5000 {
        p.cmd("ZADD").arg("z").arg(j / 2).arg(format!("m{j:05}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert_eq!(encoding(&mut c, "z"), "skiplist");
    expect(&mut c, &["ZCARD", "z"], i(5000));
    for j in [0, 1, 2, 999, 2500, 4998, 4999] {
        let m = format!("m{j:05}");
        expect(&mut c, &["ZRANK", "z", &m], i(j));
        expect(&mut c, &["ZREVRANK", "z", &m], i(4999 - j));
    }
    expect(&mut c, &["ZRANGE", "z", "2500", "2501", "WITHSCORES"], bulks(&["m02500", "1250", "m02501", "1250"]));
    expect(&mut c, &["ZCOUNT", "z", "100", "(200"], i(200));
    expect(&mut c, &["ZRANGEBYSCORE", "z", "(1000", "+inf", "LIMIT", "0", "3"], bulks(&["m02002", "m02003", "m02004"]));
    expect(&mut c, &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "4998", "10"], bulks(&["m00001", "m00000"]));
    let members: BTreeSet<String> = q::<Vec<String>>(&mut c, &["ZRANGE", "z", "0", "-1"]).into_iter().collect();
    assert_eq!(members.len(), 5000);
}
