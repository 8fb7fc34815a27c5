//! Keyspace commands: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX COPY MOVE TOUCH DBSIZE FLUSHDB
//! FLUSHALL SWAPDB OBJECT, checked against Redis 7.0's exact replies and error texts.

mod common;
use common::*;
use redis::Value;
use std::collections::{BTreeSet, HashSet};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const SAME: &str = "ERR source and destination objects are the same";
const DB_RANGE: &str = "ERR DB index is out of range";

fn strs(v: &[&str]) -> Value {
    arr(v.iter().map(|s| b(s)).collect())
}

/// KEYS `pattern`, sorted.
fn keys(c: &mut redis::Connection, pattern: &str) -> Vec<String> {
    let mut k: Vec<String> = q(c, &["KEYS", pattern]);
    k.sort();
    k
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// A full SCAN iteration with the extra arguments; returns every key returned (duplicates kept).
fn scan_all(c: &mut redis::Connection, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    for _ in 0..1_000_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, batch): (String, Vec<String>) = q(c, &args);
        out.extend(batch);
        if next == "0" {
            return out;
        }
        cursor = next;
    }
    panic!("SCAN did not terminate");
}

fn scan_set(c: &mut redis::Connection, extra: &[&str]) -> BTreeSet<String> {
    scan_all(c, extra).into_iter().collect()
}

fn set_of(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn select(c: &mut redis::Connection, db: i64) {
    expect(c, &["SELECT", &db.to_string()], OK);
}

// ---------------------------------------------------------------------------------------------------------------
// DEL / UNLINK / EXISTS / TOUCH / TYPE
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn empty_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["RANDOMKEY"], NIL);
    expect(&mut c, &["KEYS", "*"], arr(vec![]));
    expect(&mut c, &["SCAN", "0"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["SCAN", "0", "MATCH", "*", "COUNT", "100"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["SCAN", ""], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["SCAN", "-1"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["SCAN", "18446744073709551615", "COUNT", "1"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["TYPE", "missing"], Value::SimpleString("none".into()));
    expect(&mut c, &["EXISTS", "missing"], i(0));
    expect(&mut c, &["DEL", "missing"], i(0));
    expect(&mut c, &["UNLINK", "missing"], i(0));
    expect(&mut c, &["TOUCH", "missing"], i(0));
}

#[test]
fn del_unlink_exists_touch() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "a", "1", "b", "2", "c", "3", "d", "4"], OK);
    expect(&mut c, &["DBSIZE"], i(4));
    expect(&mut c, &["EXISTS", "a"], i(1));
    expect(&mut c, &["EXISTS", "a", "b", "missing"], i(2));
    expect(&mut c, &["EXISTS", "a", "a", "a"], i(3));
    expect(&mut c, &["DEL", "a"], i(1));
    expect(&mut c, &["DEL", "a"], i(0));
    expect(&mut c, &["EXISTS", "a"], i(0));
    expect(&mut c, &["GET", "a"], NIL);
    expect(&mut c, &["DEL", "b", "c", "missing"], i(2));
    expect(&mut c, &["DEL", "d", "d", "d"], i(1));
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"], OK);
    expect(&mut c, &["UNLINK", "a", "b", "missing"], i(2));
    expect(&mut c, &["UNLINK", "c", "c"], i(1));
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["MSET", "t1", "1", "t2", "2"], OK);
    expect(&mut c, &["TOUCH", "t1", "t2", "missing"], i(2));
    expect(&mut c, &["TOUCH", "t1", "t1"], i(2));
    for cmd in ["DEL", "UNLINK", "EXISTS", "TOUCH"] {
        expect_err(&mut c, &[cmd], &arity(&cmd.to_ascii_lowercase()));
    }
    expect(&mut c, &["DEL", ""], i(0));
    expect(&mut c, &["SET", "", "empty"], OK);
    expect(&mut c, &["EXISTS", ""], i(1));
    expect(&mut c, &["DEL", ""], i(1));
    assert_eq!(valb(&mut c, &[b"SET", b"\x00\xff", b"v"]), OK);
    assert_eq!(valb(&mut c, &[b"EXISTS", b"\x00\xff", b"\x00"]), i(1));
    assert_eq!(valb(&mut c, &[b"DEL", b"\x00\xff"]), i(1));
    // Deleting many keys at once.
    let names: Vec<String> = (0..300).map(|n| format!("many:{n}")).collect();
    let mut mset = vec!["MSET"];
    for n in &names {
        mset.push(n);
        mset.push("v");
    }
    expect(&mut c, &mset, OK);
    let mut del = vec!["DEL"];
    del.extend(names.iter().map(String::as_str));
    del.push("missing");
    expect(&mut c, &del, i(300));
    expect(&mut c, &["DBSIZE"], i(2));
}

#[test]
fn type_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "str", "v"], OK);
    expect(&mut c, &["TYPE", "str"], Value::SimpleString("string".into()));
    expect(&mut c, &["SET", "int", "5"], OK);
    expect(&mut c, &["TYPE", "int"], Value::SimpleString("string".into()));
    expect(&mut c, &["TYPE", "missing"], Value::SimpleString("none".into()));
    expect_err(&mut c, &["TYPE"], &arity("type"));
    expect_err(&mut c, &["TYPE", "a", "b"], &arity("type"));
}

// ---------------------------------------------------------------------------------------------------------------
// KEYS
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn keys_patterns() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        valb(
            &mut c,
            &[
                b"MSET",
                b"hello",
                b"1",
                b"hallo",
                b"2",
                b"hxllo",
                b"3",
                b"hllo",
                b"4",
                b"heeeello",
                b"5",
                b"h*llo",
                b"6",
                b"other",
                b"7",
                b"with space",
                b"8",
                b"\x00bin",
                b"9"
            ]
        ),
        OK
    );
    let all = sorted(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other", "with space", "\0bin"]);
    assert_eq!(keys(&mut c, "*"), all);
    assert_eq!(keys(&mut c, "h?llo"), sorted(&["hello", "hallo", "hxllo", "h*llo"]));
    assert_eq!(keys(&mut c, "h*llo"), sorted(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"]));
    assert_eq!(keys(&mut c, "h[ae]llo"), sorted(&["hello", "hallo"]));
    assert_eq!(keys(&mut c, "h[^e]llo"), sorted(&["hallo", "hxllo", "h*llo"]));
    assert_eq!(keys(&mut c, "h[a-e]llo"), sorted(&["hello", "hallo"]));
    assert_eq!(keys(&mut c, "h\\*llo"), sorted(&["h*llo"]));
    assert_eq!(keys(&mut c, "*llo"), sorted(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"]));
    assert_eq!(keys(&mut c, "with*"), sorted(&["with space"]));
    assert_eq!(keys(&mut c, "* *"), sorted(&["with space"]));
    assert_eq!(
        keys(&mut c, "[a-z]*"),
        sorted(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other", "with space"])
    );
    assert_eq!(keys(&mut c, "?????"), sorted(&["hello", "hallo", "hxllo", "h*llo", "other"]));
    assert_eq!(keys(&mut c, "h[a-e"), Vec::<String>::new());
    assert_eq!(keys(&mut c, "*["), Vec::<String>::new());
    assert_eq!(keys(&mut c, "HELLO"), Vec::<String>::new());
    expect(&mut c, &["KEYS", "nomatch*"], arr(vec![]));
    expect(&mut c, &["KEYS", "other"], strs(&["other"]));
    assert_eq!(valb(&mut c, &[b"KEYS", b"\x00bin"]), arr(vec![bb(b"\x00bin")]));
    assert_eq!(valb(&mut c, &[b"KEYS", b"\x00*"]), arr(vec![bb(b"\x00bin")]));
    expect(&mut c, &["KEYS", ""], arr(vec![]));
    expect_err(&mut c, &["KEYS"], &arity("keys"));
    expect_err(&mut c, &["KEYS", "a", "b"], &arity("keys"));
}

#[test]
fn keys_sees_only_the_selected_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "a", "1", "b", "2"], OK);
    select(&mut c, 3);
    expect(&mut c, &["SET", "c", "3"], OK);
    assert_eq!(keys(&mut c, "*"), sorted(&["c"]));
    select(&mut c, 0);
    assert_eq!(keys(&mut c, "*"), sorted(&["a", "b"]));
    assert_eq!(scan_set(&mut c, &[]), set_of(&["a", "b"]));
}

// ---------------------------------------------------------------------------------------------------------------
// SCAN
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn scan_options() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        valb(
            &mut c,
            &[
                b"MSET",
                b"hello",
                b"1",
                b"hallo",
                b"2",
                b"hxllo",
                b"3",
                b"hllo",
                b"4",
                b"heeeello",
                b"5",
                b"h*llo",
                b"6",
                b"other",
                b"7",
                b"with space",
                b"8"
            ]
        ),
        OK
    );
    let all = set_of(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other", "with space"]);
    assert_eq!(scan_set(&mut c, &[]), all);
    assert_eq!(scan_set(&mut c, &["MATCH", "h*"]), set_of(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"]));
    assert_eq!(scan_set(&mut c, &["MATCH", "h?llo", "COUNT", "2"]), set_of(&["hello", "hallo", "hxllo", "h*llo"]));
    assert_eq!(scan_set(&mut c, &["COUNT", "1"]), all);
    assert_eq!(scan_set(&mut c, &["COUNT", "1000"]), all);
    assert_eq!(scan_set(&mut c, &["match", "h[ae]llo", "count", "3"]), set_of(&["hello", "hallo"]));
    assert_eq!(scan_set(&mut c, &["MATCH", "nomatch*"]), set_of(&[]));
    assert_eq!(scan_set(&mut c, &["TYPE", "string"]), all);
    assert_eq!(scan_set(&mut c, &["TYPE", "STRING"]), all);
    assert_eq!(scan_set(&mut c, &["TYPE", "list"]), set_of(&[]));
    assert_eq!(scan_set(&mut c, &["TYPE", "nosuchtype"]), set_of(&[]));
    assert_eq!(
        scan_set(&mut c, &["MATCH", "*llo", "TYPE", "string", "COUNT", "3"]),
        set_of(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"])
    );
    // Later options override earlier ones.
    assert_eq!(scan_set(&mut c, &["MATCH", "nomatch", "MATCH", "other"]), set_of(&["other"]));
    // Errors.
    for bad in ["abc", "1.5", "18446744073709551616", " 1", "1 ", "0x10"] {
        expect_err(&mut c, &["SCAN", bad], "ERR invalid cursor");
    }
    expect_err(&mut c, &["SCAN", "0", "COUNT", "0"], SYNTAX);
    expect_err(&mut c, &["SCAN", "0", "COUNT", "-1"], SYNTAX);
    expect_err(&mut c, &["SCAN", "0", "COUNT", "abc"], NOT_INT);
    for tail in
        [&["COUNT"][..], &["MATCH"], &["TYPE"], &["FOO", "bar"], &["MATCH", "a", "b"], &["COUNT", "10", "MATCH"]]
    {
        let mut a = vec!["SCAN", "0"];
        a.extend_from_slice(tail);
        expect_err(&mut c, &a, SYNTAX);
    }
    expect_err(&mut c, &["SCAN"], &arity("scan"));
}

#[test]
fn scan_single_key_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "only-key", "v"], OK);
    expect(&mut c, &["SCAN", "0"], arr(vec![b("0"), strs(&["only-key"])]));
    expect(&mut c, &["SCAN", "0", "MATCH", "only*", "COUNT", "10"], arr(vec![b("0"), strs(&["only-key"])]));
    expect(&mut c, &["SCAN", ""], arr(vec![b("0"), strs(&["only-key"])]));
    expect(&mut c, &["SCAN", "0", "MATCH", "nomatch"], arr(vec![b("0"), arr(vec![])]));
    expect(&mut c, &["SCAN", "0", "TYPE", "string"], arr(vec![b("0"), strs(&["only-key"])]));
    expect(&mut c, &["SCAN", "0", "TYPE", "hash"], arr(vec![b("0"), arr(vec![])]));
}

#[test]
fn scan_many_keys_returns_each_key() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for n in 0..5000 {
        p.cmd("SET").arg(format!("key:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    for count in ["1", "10", "100", "1000"] {
        let got = scan_all(&mut c, &["COUNT", count]);
        let set: HashSet<&String> = got.iter().collect();
        assert_eq!(set.len(), 5000, "COUNT {count}");
    }
    let got = scan_set(&mut c, &["MATCH", "key:1??", "COUNT", "50"]);
    assert_eq!(got, (100..200).map(|n| format!("key:{n}")).collect());
}

#[test]
fn scan_returns_every_key_present_throughout_while_inserting() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for n in 0..2000 {
        p.cmd("SET").arg(format!("orig:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = "0".to_string();
    let mut inserted = 0usize;
    let mut calls = 0usize;
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "20"]);
        calls += 1;
        seen.extend(batch);
        // Between calls, insert more keys until 20,000 new ones exist (the table grows and rehashes meanwhile).
        if inserted < 20_000 {
            let mut p = redis::pipe();
            for n in inserted..inserted + 500 {
                p.cmd("SET").arg(format!("new:{n}")).arg(n).ignore();
            }
            let () = p.query(&mut c).expect("pipeline");
            inserted += 500;
        }
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(calls < 100_000, "SCAN did not terminate");
    }
    expect(&mut c, &["DBSIZE"], i(2000 + inserted as i64));
    let missing: Vec<String> = (0..2000).map(|n| format!("orig:{n}")).filter(|k| !seen.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "{} keys present throughout were not returned, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(seen.iter().all(|k| k.starts_with("orig:") || k.starts_with("new:")));
}

#[test]
fn scan_returns_every_key_present_throughout_while_deleting() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for n in 0..4000 {
        p.cmd("SET").arg(format!("k:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    // Keys 0..2000 stay; 2000..4000 are deleted while iterating (the table may shrink).
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = "0".to_string();
    let mut deleted = 2000;
    loop {
        let (next, batch): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "20"]);
        seen.extend(batch);
        if deleted < 4000 {
            let mut p = redis::pipe();
            for n in deleted..deleted + 100 {
                p.cmd("DEL").arg(format!("k:{n}")).ignore();
            }
            let () = p.query(&mut c).expect("pipeline");
            deleted += 100;
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    let missing = (0..2000).filter(|n| !seen.contains(&format!("k:{n}"))).count();
    assert_eq!(missing, 0, "keys present throughout were not returned");
}

// ---------------------------------------------------------------------------------------------------------------
// RANDOMKEY
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn randomkey() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RANDOMKEY"], NIL);
    expect(&mut c, &["SET", "only", "v"], OK);
    for _ in 0..10 {
        expect(&mut c, &["RANDOMKEY"], b("only"));
    }
    let mut p = redis::pipe();
    for n in 0..100 {
        p.cmd("SET").arg(format!("r:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(k == "only" || k.starts_with("r:"), "{k}");
        seen.insert(k);
    }
    assert!(seen.len() > 20, "RANDOMKEY returned only {} distinct keys", seen.len());
    expect_err(&mut c, &["RANDOMKEY", "extra"], &arity("randomkey"));
    expect(&mut c, &["FLUSHALL"], OK);
    expect(&mut c, &["RANDOMKEY"], NIL);
}

// ---------------------------------------------------------------------------------------------------------------
// RENAME / RENAMENX
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn rename() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "src", "v"], OK);
    expect(&mut c, &["RENAME", "src", "dst"], OK);
    expect(&mut c, &["GET", "src"], NIL);
    expect(&mut c, &["GET", "dst"], b("v"));
    expect_err(&mut c, &["RENAME", "missing", "dst"], "ERR no such key");
    expect(&mut c, &["RENAME", "dst", "dst"], OK);
    expect(&mut c, &["GET", "dst"], b("v"));
    expect_err(&mut c, &["RENAME", "missing", "missing"], "ERR no such key");
    expect(&mut c, &["SET", "other", "o"], OK);
    expect(&mut c, &["RENAME", "dst", "other"], OK);
    expect(&mut c, &["GET", "other"], b("v"));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    // The TTL moves with the value; an overwritten destination's TTL is dropped.
    expect(&mut c, &["SET", "ttlkey", "v", "EX", "100"], OK);
    expect(&mut c, &["RENAME", "ttlkey", "ttlkey2"], OK);
    expect(&mut c, &["TTL", "ttlkey2"], i(100));
    expect(&mut c, &["SET", "plain", "p"], OK);
    expect(&mut c, &["RENAME", "plain", "ttlkey2"], OK);
    expect(&mut c, &["TTL", "ttlkey2"], i(-1));
    expect(&mut c, &["GET", "ttlkey2"], b("p"));
    expect(&mut c, &["SET", "n", "12345"], OK);
    expect(&mut c, &["RENAME", "n", "n2"], OK);
    expect(&mut c, &["OBJECT", "ENCODING", "n2"], b("int"));
    expect(&mut c, &["SET", "sp ace", "v"], OK);
    assert_eq!(valb(&mut c, &[b"RENAME", b"sp ace", b"\x00\xff"]), OK);
    assert_eq!(valb(&mut c, &[b"GET", b"\x00\xff"]), b("v"));
    expect_err(&mut c, &["RENAME", "a"], &arity("rename"));
    expect_err(&mut c, &["RENAME", "a", "b", "c"], &arity("rename"));
}

#[test]
fn renamenx() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "a", "1", "EX", "100"], OK);
    expect(&mut c, &["SET", "other", "o"], OK);
    expect(&mut c, &["RENAMENX", "a", "new"], i(1));
    expect(&mut c, &["GET", "new"], b("1"));
    expect(&mut c, &["TTL", "new"], i(100));
    expect(&mut c, &["EXISTS", "a"], i(0));
    expect(&mut c, &["RENAMENX", "new", "other"], i(0));
    expect(&mut c, &["GET", "other"], b("o"));
    expect(&mut c, &["GET", "new"], b("1"));
    expect(&mut c, &["RENAMENX", "new", "new"], i(0));
    expect_err(&mut c, &["RENAMENX", "missing", "x"], "ERR no such key");
    expect_err(&mut c, &["RENAMENX", "missing", "missing"], "ERR no such key");
    expect_err(&mut c, &["RENAMENX", "a"], &arity("renamenx"));
    expect_err(&mut c, &["RENAMENX", "a", "b", "c"], &arity("renamenx"));
}

// ---------------------------------------------------------------------------------------------------------------
// COPY / MOVE
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn copy() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "s", "v"], OK);
    expect(&mut c, &["COPY", "s", "d"], i(1));
    expect(&mut c, &["GET", "d"], b("v"));
    expect(&mut c, &["GET", "s"], b("v"));
    expect(&mut c, &["COPY", "s", "d"], i(0));
    expect(&mut c, &["SET", "s", "v1"], OK);
    expect(&mut c, &["COPY", "s", "d", "REPLACE"], i(1));
    expect(&mut c, &["GET", "d"], b("v1"));
    expect(&mut c, &["COPY", "missing", "d"], i(0));
    expect(&mut c, &["COPY", "missing", "d", "REPLACE"], i(0));
    expect(&mut c, &["GET", "d"], b("v1"));
    expect_err(&mut c, &["COPY", "s", "s"], SAME);
    expect_err(&mut c, &["COPY", "s", "s", "REPLACE"], SAME);
    expect_err(&mut c, &["COPY", "s", "s", "DB", "0"], SAME);
    expect_err(&mut c, &["COPY", "missing", "missing"], SAME);
    // The copy is independent of the source.
    expect(&mut c, &["APPEND", "d", "-more"], i(7));
    expect(&mut c, &["GET", "s"], b("v1"));
    // TTL is copied.
    expect(&mut c, &["SET", "s", "v2", "EX", "100"], OK);
    expect(&mut c, &["COPY", "s", "d", "REPLACE"], i(1));
    expect(&mut c, &["TTL", "d"], i(100));
    expect(&mut c, &["GET", "d"], b("v2"));
    // Replacing a volatile destination with a persistent source drops the TTL.
    expect(&mut c, &["SET", "p", "persistent"], OK);
    expect(&mut c, &["COPY", "p", "d", "REPLACE"], i(1));
    expect(&mut c, &["TTL", "d"], i(-1));
    // Integer encoding is kept.
    expect(&mut c, &["SET", "n", "12345"], OK);
    expect(&mut c, &["COPY", "n", "ncopy"], i(1));
    expect(&mut c, &["OBJECT", "ENCODING", "ncopy"], b("int"));
    expect(&mut c, &["GET", "ncopy"], b("12345"));
    expect(&mut c, &["INCR", "ncopy"], i(12346));
    expect(&mut c, &["GET", "n"], b("12345"));
    // Errors.
    expect_err(&mut c, &["COPY", "s", "d", "DB", "16"], DB_RANGE);
    expect_err(&mut c, &["COPY", "s", "d", "DB", "-1"], DB_RANGE);
    expect_err(&mut c, &["COPY", "s", "s", "DB", "16"], DB_RANGE);
    expect_err(&mut c, &["COPY", "s", "d", "DB", "abc"], NOT_INT);
    expect_err(&mut c, &["COPY", "s", "d", "DB"], SYNTAX);
    expect_err(&mut c, &["COPY", "s", "d", "FOO"], SYNTAX);
    expect_err(&mut c, &["COPY", "s"], &arity("copy"));
    expect_err(&mut c, &["COPY"], &arity("copy"));
    expect(&mut c, &["COPY", "s", "d", "REPLACE", "REPLACE"], i(1));
}

#[test]
fn copy_between_databases() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "s", "v", "EX", "100"], OK);
    expect(&mut c, &["COPY", "s", "d", "DB", "1"], i(1));
    expect(&mut c, &["EXISTS", "d"], i(0));
    // Same name in another database is not "the same object".
    expect(&mut c, &["COPY", "s", "s", "DB", "1"], i(1));
    select(&mut c, 1);
    expect(&mut c, &["GET", "d"], b("v"));
    expect(&mut c, &["TTL", "d"], i(100));
    expect(&mut c, &["GET", "s"], b("v"));
    expect(&mut c, &["SET", "s", "db1"], OK);
    select(&mut c, 0);
    expect(&mut c, &["COPY", "s", "d", "DB", "1"], i(0));
    expect(&mut c, &["SET", "s", "v2"], OK);
    expect(&mut c, &["COPY", "s", "d", "DB", "1", "REPLACE"], i(1));
    expect(&mut c, &["COPY", "s", "d", "replace", "db", "2"], i(1));
    select(&mut c, 1);
    expect(&mut c, &["GET", "d"], b("v2"));
    expect(&mut c, &["TTL", "d"], i(-1));
    expect(&mut c, &["GET", "s"], b("db1"));
    // Copy from db 1 back to db 0.
    expect(&mut c, &["COPY", "s", "froms1", "DB", "0"], i(1));
    select(&mut c, 2);
    expect(&mut c, &["GET", "d"], b("v2"));
    select(&mut c, 0);
    expect(&mut c, &["GET", "froms1"], b("db1"));
    expect(&mut c, &["DBSIZE"], i(2));
}

#[test]
fn move_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "mv", "v"], OK);
    expect(&mut c, &["MOVE", "mv", "1"], i(1));
    expect(&mut c, &["EXISTS", "mv"], i(0));
    select(&mut c, 1);
    expect(&mut c, &["GET", "mv"], b("v"));
    expect(&mut c, &["MOVE", "mv", "0"], i(1));
    select(&mut c, 0);
    expect(&mut c, &["GET", "mv"], b("v"));
    // The destination already has the key: nothing moves.
    expect(&mut c, &["SET", "both", "a"], OK);
    select(&mut c, 1);
    expect(&mut c, &["SET", "both", "b"], OK);
    select(&mut c, 0);
    expect(&mut c, &["MOVE", "both", "1"], i(0));
    expect(&mut c, &["GET", "both"], b("a"));
    expect(&mut c, &["MOVE", "missing", "1"], i(0));
    expect_err(&mut c, &["MOVE", "mv", "0"], SAME);
    expect_err(&mut c, &["MOVE", "missing", "0"], SAME);
    expect_err(&mut c, &["MOVE", "mv", "16"], DB_RANGE);
    expect_err(&mut c, &["MOVE", "mv", "-1"], DB_RANGE);
    expect_err(&mut c, &["MOVE", "mv", "abc"], NOT_INT);
    expect_err(&mut c, &["MOVE", "mv"], &arity("move"));
    expect_err(&mut c, &["MOVE", "mv", "1", "2"], &arity("move"));
    // The TTL moves with the key.
    expect(&mut c, &["SET", "mvttl", "v", "EX", "100"], OK);
    expect(&mut c, &["MOVE", "mvttl", "3"], i(1));
    select(&mut c, 3);
    expect(&mut c, &["TTL", "mvttl"], i(100));
    expect(&mut c, &["DBSIZE"], i(1));
}

// ---------------------------------------------------------------------------------------------------------------
// DBSIZE / FLUSHDB / FLUSHALL / SWAPDB
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn dbsize_flushdb_flushall() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "x", "1", "y", "2", "z", "3"], OK);
    expect(&mut c, &["DBSIZE"], i(3));
    select(&mut c, 1);
    expect(&mut c, &["SET", "x", "1"], OK);
    expect(&mut c, &["DBSIZE"], i(1));
    expect(&mut c, &["FLUSHDB"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    select(&mut c, 0);
    expect(&mut c, &["DBSIZE"], i(3));
    expect(&mut c, &["FLUSHDB", "ASYNC"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["GET", "x"], NIL);
    expect(&mut c, &["MSET", "x", "1", "y", "2"], OK);
    expect(&mut c, &["FLUSHDB", "SYNC"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["FLUSHDB", "sync"], OK);
    expect(&mut c, &["FLUSHDB", "async"], OK);
    expect_err(&mut c, &["FLUSHDB", "FOO"], SYNTAX);
    expect_err(&mut c, &["FLUSHDB", "SYNC", "ASYNC"], SYNTAX);
    expect_err(&mut c, &["DBSIZE", "extra"], &arity("dbsize"));
    expect(&mut c, &["SET", "x", "1"], OK);
    select(&mut c, 5);
    expect(&mut c, &["SET", "y", "1"], OK);
    expect(&mut c, &["FLUSHALL"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    select(&mut c, 0);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["SET", "x", "1"], OK);
    expect(&mut c, &["FLUSHALL", "ASYNC"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["SET", "x", "1"], OK);
    expect(&mut c, &["FLUSHALL", "SYNC"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["FLUSHALL", "sync"], OK);
    expect_err(&mut c, &["FLUSHALL", "FOO"], SYNTAX);
    expect_err(&mut c, &["FLUSHALL", "SYNC", "extra"], SYNTAX);
    // A large database flushed asynchronously is empty at once, and usable.
    let mut p = redis::pipe();
    for n in 0..20_000 {
        p.cmd("SET").arg(format!("big:{n}")).arg(n).ignore();
    }
    let () = p.query(&mut c).expect("pipeline");
    expect(&mut c, &["DBSIZE"], i(20_000));
    expect(&mut c, &["FLUSHALL", "ASYNC"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["KEYS", "*"], arr(vec![]));
    expect(&mut c, &["SET", "big:1", "again"], OK);
    expect(&mut c, &["GET", "big:1"], b("again"));
    expect(&mut c, &["DBSIZE"], i(1));
}

#[test]
fn dbsize_counts_per_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    for db in 0..16 {
        select(&mut c, db);
        for n in 0..=db {
            expect(&mut c, &["SET", &format!("k{n}"), "v"], OK);
        }
    }
    for db in 0..16 {
        select(&mut c, db);
        expect(&mut c, &["DBSIZE"], i(db + 1));
    }
    select(&mut c, 7);
    expect(&mut c, &["FLUSHDB"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    select(&mut c, 8);
    expect(&mut c, &["DBSIZE"], i(9));
    expect_err(&mut c, &["SELECT", "16"], DB_RANGE);
}

#[test]
fn swapdb() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut c1 = s.conn();
    expect(&mut c, &["SET", "k", "db0"], OK);
    select(&mut c1, 1);
    expect(&mut c1, &["SET", "k", "db1"], OK);
    expect(&mut c1, &["SET", "only1", "v", "EX", "100"], OK);
    expect(&mut c, &["SWAPDB", "0", "1"], OK);
    // Both connections see the swapped contents without reselecting.
    expect(&mut c, &["GET", "k"], b("db1"));
    expect(&mut c, &["GET", "only1"], b("v"));
    expect(&mut c, &["TTL", "only1"], i(100));
    expect(&mut c, &["DBSIZE"], i(2));
    expect(&mut c1, &["GET", "k"], b("db0"));
    expect(&mut c1, &["DBSIZE"], i(1));
    expect(&mut c, &["SWAPDB", "0", "0"], OK);
    expect(&mut c, &["GET", "k"], b("db1"));
    expect(&mut c, &["SWAPDB", "0", "2"], OK);
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["SWAPDB", "2", "0"], OK);
    expect(&mut c, &["DBSIZE"], i(2));
    expect(&mut c, &["SWAPDB", "1", "0"], OK);
    expect(&mut c, &["GET", "k"], b("db0"));
    expect_err(&mut c, &["SWAPDB", "0", "16"], DB_RANGE);
    expect_err(&mut c, &["SWAPDB", "16", "0"], DB_RANGE);
    expect_err(&mut c, &["SWAPDB", "-1", "0"], DB_RANGE);
    expect_err(&mut c, &["SWAPDB", "a", "1"], "ERR invalid first DB index");
    expect_err(&mut c, &["SWAPDB", "0", "b"], "ERR invalid second DB index");
    expect_err(&mut c, &["SWAPDB", "a", "b"], "ERR invalid first DB index");
    expect_err(&mut c, &["SWAPDB", "0"], &arity("swapdb"));
    expect_err(&mut c, &["SWAPDB", "0", "1", "2"], &arity("swapdb"));
}

// ---------------------------------------------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn object_encoding() {
    let s = TestServer::start();
    let mut c = s.conn();
    for (k, v, enc) in [
        ("int", "12345", "int"),
        ("negint", "-42", "int"),
        ("zero", "0", "int"),
        ("maxint", "9223372036854775807", "int"),
        ("minint", "-9223372036854775808", "int"),
        ("toobig", "9223372036854775808", "embstr"),
        ("leading0", "007", "embstr"),
        ("plus", "+5", "embstr"),
        ("float", "1.5", "embstr"),
        ("short", "hello", "embstr"),
        ("s44", "12345678901234567890123456789012345678901234", "embstr"),
        ("s45", "123456789012345678901234567890123456789012345", "raw"),
        ("s44b", "abcdefghijabcdefghijabcdefghijabcdefghijabcd", "embstr"),
        ("s45b", "abcdefghijabcdefghijabcdefghijabcdefghijabcde", "raw"),
        ("empty", "", "embstr"),
        ("space", " 1", "embstr"),
    ] {
        expect(&mut c, &["SET", k, v], OK);
        expect(&mut c, &["OBJECT", "ENCODING", k], b(enc));
        expect(&mut c, &["GET", k], b(v));
    }
    expect(&mut c, &["SET", "app", "hello"], OK);
    expect(&mut c, &["APPEND", "app", "x"], i(6));
    expect(&mut c, &["OBJECT", "ENCODING", "app"], b("raw"));
    expect(&mut c, &["SET", "sr", "hello"], OK);
    expect(&mut c, &["SETRANGE", "sr", "0", "j"], i(5));
    expect(&mut c, &["OBJECT", "ENCODING", "sr"], b("raw"));
    expect(&mut c, &["SET", "incr", "10"], OK);
    expect(&mut c, &["INCR", "incr"], i(11));
    expect(&mut c, &["OBJECT", "ENCODING", "incr"], b("int"));
    expect(&mut c, &["INCRBY", "newcounter", "5"], i(5));
    expect(&mut c, &["OBJECT", "ENCODING", "newcounter"], b("int"));
    assert_eq!(valb(&mut c, &[b"SET", b"bin", b"\x00\x01"]), OK);
    expect(&mut c, &["OBJECT", "ENCODING", "bin"], b("embstr"));
    expect(&mut c, &["OBJECT", "ENCODING", "missing"], NIL);
    expect(&mut c, &["OBJECT", "encoding", "short"], b("embstr"));
    expect(&mut c, &["object", "ENCODING", "short"], b("embstr"));
}

#[test]
fn object_refcount_idletime_freq() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "short", "hello"], OK);
    expect(&mut c, &["SET", "int", "12345"], OK);
    expect(&mut c, &["SET", "shared-int", "5"], OK);
    expect(&mut c, &["OBJECT", "REFCOUNT", "short"], i(1));
    expect(&mut c, &["OBJECT", "REFCOUNT", "int"], i(1));
    expect(&mut c, &["OBJECT", "REFCOUNT", "missing"], NIL);
    expect(&mut c, &["OBJECT", "REFCOUNT", "shared-int"], i(2147483647));
    expect(&mut c, &["OBJECT", "ENCODING", "shared-int"], b("int"));
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "short"]);
    assert!((0..=2).contains(&idle), "IDLETIME {idle}");
    expect(&mut c, &["OBJECT", "IDLETIME", "missing"], NIL);
    expect_err(
        &mut c,
        &["OBJECT", "FREQ", "short"],
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    expect(&mut c, &["OBJECT", "FREQ", "missing"], NIL);
}

#[test]
fn object_idletime_tracks_access() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["MSET", "a", "1", "b", "2", "c", "3", "d", "4"], OK);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    for k in ["a", "b", "c", "d"] {
        let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", k]);
        assert!((1..=5).contains(&idle), "IDLETIME {k} {idle}");
    }
    // Reads and TOUCH count as accesses; EXISTS, TYPE and OBJECT do not.
    expect(&mut c, &["GET", "a"], b("1"));
    expect(&mut c, &["TOUCH", "b"], i(1));
    expect(&mut c, &["EXISTS", "c"], i(1));
    expect(&mut c, &["TYPE", "c"], Value::SimpleString("string".into()));
    expect(&mut c, &["OBJECT", "ENCODING", "d"], b("int"));
    expect(&mut c, &["OBJECT", "IDLETIME", "a"], i(0));
    expect(&mut c, &["OBJECT", "IDLETIME", "b"], i(0));
    for k in ["c", "d"] {
        let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", k]);
        assert!((1..=5).contains(&idle), "IDLETIME {k} {idle}");
    }
}

#[test]
fn object_freq_under_lfu_policy() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    expect(&mut c, &["SET", "k", "v"], OK);
    // New keys start at LFU_INIT_VAL (5); the first access always increments it.
    expect(&mut c, &["OBJECT", "FREQ", "k"], i(5));
    expect(&mut c, &["GET", "k"], b("v"));
    expect(&mut c, &["OBJECT", "FREQ", "k"], i(6));
    // OBJECT itself does not count as an access.
    expect(&mut c, &["OBJECT", "FREQ", "k"], i(6));
    for _ in 0..200 {
        expect(&mut c, &["GET", "k"], b("v"));
    }
    let f: i64 = q(&mut c, &["OBJECT", "FREQ", "k"]);
    assert!(f > 6 && f <= 255, "FREQ {f}");
    expect(&mut c, &["OBJECT", "FREQ", "missing"], NIL);
    expect_err(
        &mut c,
        &["OBJECT", "IDLETIME", "k"],
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    );
    // COPY gives the copy a fresh counter.
    expect(&mut c, &["COPY", "k", "k2"], i(1));
    expect(&mut c, &["OBJECT", "FREQ", "k2"], i(5));
}

#[test]
fn object_refcount_without_shared_integers() {
    // With maxmemory and an LRU/LFU policy, Redis does not share small integers.
    let s = TestServer::start_with(&["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = s.conn();
    expect(&mut c, &["SET", "n", "5"], OK);
    expect(&mut c, &["OBJECT", "ENCODING", "n"], b("int"));
    expect(&mut c, &["OBJECT", "REFCOUNT", "n"], i(1));
}

#[test]
fn object_help_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    let help: Vec<Value> = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]
    .iter()
    .map(|l| Value::SimpleString(l.to_string()))
    .collect();
    expect(&mut c, &["OBJECT", "HELP"], arr(help.clone()));
    // Simple strings in both protocols.
    for proto in [2u8, 3] {
        let raw = Resp::new(&s, proto).cmd(&["OBJECT", "HELP"]);
        assert!(raw.starts_with("*15\r\n+OBJECT <subcommand>"), "{raw}");
        assert!(raw.ends_with("+HELP\r\n+    Prints this help.\r\n"), "RESP{proto}: {raw}");
    }
    expect(&mut c, &["OBJECT", "help"], arr(help));
    expect(&mut c, &["SET", "short", "v"], OK);
    expect_err(&mut c, &["OBJECT", "FOO", "short"], "ERR unknown subcommand 'FOO'. Try OBJECT HELP.");
    expect_err(&mut c, &["OBJECT", "ENCODING"], &arity("object|encoding"));
    expect_err(&mut c, &["OBJECT", "ENCODING", "a", "b"], &arity("object|encoding"));
    expect_err(&mut c, &["OBJECT", "REFCOUNT"], &arity("object|refcount"));
    expect_err(&mut c, &["OBJECT", "IDLETIME"], &arity("object|idletime"));
    expect_err(&mut c, &["OBJECT", "FREQ"], &arity("object|freq"));
    expect_err(&mut c, &["OBJECT", "HELP", "extra"], &arity("object|help"));
    expect_err(&mut c, &["OBJECT"], &arity("object"));
}

// ---------------------------------------------------------------------------------------------------------------
// Reply encodings in RESP2 and RESP3
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn keyspace_replies_in_resp2_and_resp3() {
    let s = TestServer::start();
    for proto in [2u8, 3] {
        let mut r = Resp::new(&s, proto);
        let nil = if proto == 2 { "$-1\r\n" } else { "_\r\n" };
        assert_eq!(r.cmd(&["FLUSHALL"]), "+OK\r\n");
        assert_eq!(r.cmd(&["RANDOMKEY"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(r.cmd(&["KEYS", "*"]), "*0\r\n");
        assert_eq!(r.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(r.cmd(&["RANDOMKEY"]), "$1\r\nk\r\n");
        assert_eq!(r.cmd(&["TYPE", "k"]), "+string\r\n");
        assert_eq!(r.cmd(&["TYPE", "nokey"]), "+none\r\n");
        assert_eq!(r.cmd(&["KEYS", "*"]), "*1\r\n$1\r\nk\r\n");
        assert_eq!(r.cmd(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
        assert_eq!(r.cmd(&["EXISTS", "k", "nokey"]), ":1\r\n");
        assert_eq!(r.cmd(&["OBJECT", "ENCODING", "k"]), "$6\r\nembstr\r\n");
        assert_eq!(r.cmd(&["OBJECT", "ENCODING", "nokey"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["OBJECT", "REFCOUNT", "nokey"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["OBJECT", "IDLETIME", "nokey"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["OBJECT", "FREQ", "nokey"]), nil, "RESP{proto}");
        assert_eq!(r.cmd(&["OBJECT", "REFCOUNT", "k"]), ":1\r\n");
        assert_eq!(r.cmd(&["RENAME", "k", "k2"]), "+OK\r\n");
        assert_eq!(r.cmd(&["RENAMENX", "k2", "k"]), ":1\r\n");
        assert_eq!(r.cmd(&["COPY", "k", "k2"]), ":1\r\n");
        assert_eq!(r.cmd(&["MOVE", "k2", "1"]), ":1\r\n");
        assert_eq!(r.cmd(&["DBSIZE"]), ":1\r\n");
        assert_eq!(r.cmd(&["SWAPDB", "0", "1"]), "+OK\r\n");
        assert_eq!(r.cmd(&["KEYS", "*"]), "*1\r\n$2\r\nk2\r\n");
        assert_eq!(r.cmd(&["DEL", "k2"]), ":1\r\n");
        assert_eq!(r.cmd(&["UNLINK", "k2"]), ":0\r\n");
        assert_eq!(r.cmd(&["TOUCH", "k2"]), ":0\r\n");
        assert_eq!(r.cmd(&["FLUSHDB"]), "+OK\r\n");
        assert_eq!(r.cmd(&["RENAME", "k", "k2"]), "-ERR no such key\r\n");
        let help = r.cmd(&["OBJECT", "HELP"]);
        assert!(help.starts_with("*15\r\n+OBJECT <subcommand>"), "{help}");
    }
}

#[test]
fn keyspace_edge_cases() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "k", "v", "EX", "100"], OK);
    // RENAME onto itself keeps the TTL.
    expect(&mut c, &["RENAME", "k", "k"], OK);
    expect(&mut c, &["TTL", "k"], i(100));
    // Cursor text forms strtoul accepts.
    expect(&mut c, &["SCAN", "+0"], arr(vec![b("0"), strs(&["k"])]));
    expect(&mut c, &["SCAN", "-0"], arr(vec![b("0"), strs(&["k"])]));
    expect(&mut c, &["SCAN", "0", "COUNT", "9223372036854775807"], arr(vec![b("0"), strs(&["k"])]));
    // KEYS pattern escapes and classes.
    assert_eq!(valb(&mut c, &[b"MSET", b"a]b", b"1", b"a-b", b"2", b"a\\b", b"3", b"a?b", b"4"]), OK);
    assert_eq!(keys(&mut c, "a[]]b"), Vec::<String>::new());
    assert_eq!(keys(&mut c, "a[\\]]b"), sorted(&["a]b"]));
    assert_eq!(keys(&mut c, "a[\\-]b"), sorted(&["a-b"]));
    assert_eq!(keys(&mut c, "a\\\\b"), sorted(&["a\\b"]));
    assert_eq!(keys(&mut c, "a\\?b"), sorted(&["a?b"]));
    assert_eq!(keys(&mut c, "a?b"), sorted(&["a]b", "a-b", "a\\b", "a?b"]));
    assert_eq!(keys(&mut c, "a[^-]b"), sorted(&["a]b", "a\\b", "a?b"]));
    assert_eq!(keys(&mut c, "A?B"), Vec::<String>::new());
    assert_eq!(keys(&mut c, "**"), sorted(&["k", "a]b", "a-b", "a\\b", "a?b"]));
    // TOUCH and EXISTS count repeated names each time.
    expect(&mut c, &["EXISTS", "k", "k", "nokey", "k"], i(3));
    expect(&mut c, &["TOUCH", "k", "nokey", "k"], i(2));
    // COPY into a database that is then swapped.
    expect(&mut c, &["COPY", "k", "k", "DB", "9"], i(1));
    expect(&mut c, &["SWAPDB", "0", "9"], OK);
    expect(&mut c, &["DBSIZE"], i(1));
    expect(&mut c, &["TTL", "k"], i(100));
    expect(&mut c, &["SWAPDB", "9", "0"], OK);
    expect(&mut c, &["DBSIZE"], i(5));
}

#[test]
fn rename_is_atomic_for_concurrent_readers() {
    const PAIRS: usize = 8;
    let s = TestServer::start();
    let mut setup = s.conn();
    for n in 0..PAIRS {
        expect(&mut setup, &["SET", &format!("ping{n}"), "v"], OK);
    }
    let running = std::sync::atomic::AtomicUsize::new(PAIRS);
    // Per observing command: (reads, reads that saw other than exactly PAIRS keys, an example).
    let mut seen: Vec<(&str, usize, usize, String)> = Vec::new();
    std::thread::scope(|scope| {
        for n in 0..PAIRS {
            let running = &running;
            let s = &s;
            scope.spawn(move || {
                let mut c = s.conn();
                let (a, z) = (format!("ping{n}"), format!("pong{n}"));
                for _ in 0..500 {
                    expect(&mut c, &["RENAME", &a, &z], OK);
                    expect(&mut c, &["RENAME", &z, &a], OK);
                }
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let reader = scope.spawn(|| {
            let mut c = s.conn();
            let mut stats =
                vec![("EXISTS", 0, 0, String::new()), ("DBSIZE", 0, 0, String::new()), ("KEYS", 0, 0, String::new())];
            let names: Vec<String> = (0..PAIRS).flat_map(|n| [format!("ping{n}"), format!("pong{n}")]).collect();
            while running.load(std::sync::atomic::Ordering::SeqCst) > 0 || stats[0].1 == 0 {
                // Each pair has exactly one of its two names at any instant. Pipelined, to observe often.
                let mut p = redis::pipe();
                p.cmd("EXISTS").arg(&names);
                for _ in 0..20 {
                    p.cmd("DBSIZE");
                }
                for _ in 0..5 {
                    p.cmd("KEYS").arg("p*");
                }
                let (n, sizes, keys): (i64, Vec<i64>, Vec<Vec<String>>) = {
                    let got: Vec<Value> = p.query(&mut c).expect("pipeline");
                    let n = redis::from_redis_value_ref(&got[0]).expect("EXISTS");
                    let sizes = got[1..21].iter().map(|v| redis::from_redis_value_ref(v).expect("DBSIZE")).collect();
                    let keys = got[21..].iter().map(|v| redis::from_redis_value_ref(v).expect("KEYS")).collect();
                    (n, sizes, keys)
                };
                let mut observe = |st: usize, ok: bool, what: String| {
                    stats[st].1 += 1;
                    if !ok {
                        stats[st].2 += 1;
                        stats[st].3 = what;
                    }
                };
                observe(0, n == PAIRS as i64, format!("{n}"));
                for size in sizes {
                    observe(1, size == PAIRS as i64, format!("{size}"));
                }
                for k in keys {
                    observe(2, k.len() == PAIRS, format!("{k:?}"));
                }
            }
            stats
        });
        seen = reader.join().expect("reader");
    });
    let bad: Vec<String> = seen
        .iter()
        .filter(|s| s.2 > 0)
        .map(|(cmd, reads, bad, ex)| format!("{cmd}: {bad} of {reads} reads saw a half-done RENAME (e.g. {ex})"))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}
