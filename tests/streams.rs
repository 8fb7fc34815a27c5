//! Streams through a real client: XADD ids and trimming, ranges, blocking XREAD and XREADGROUP with several clients
//! (first come first served, woken by XADD, timeouts, released with Redis's errors when the group or key goes),
//! consumer groups, RESP3 shapes, effects that replay to the same dataset, notifications, MULTI, Lua, WATCH and
//! MEMORY USAGE. Byte-for-byte agreement with Redis 7.0 is checked by tests/differential/cases/streams.txt.

mod common;
use common::*;
use redis::Value;
use std::time::{Duration, Instant};

fn blocked_clients(c: &mut redis::Connection) -> usize {
    let info: String = q(c, &["INFO", "clients"]);
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).and_then(|v| v.trim().parse().ok()).expect("field")
}

#[track_caller]
fn wait_blocked(c: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(c) != n {
        assert!(Instant::now() < deadline, "expected {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `[id, [f, v, ...]]` as the redis crate gives it.
fn entry(id: &str, fv: &[&str]) -> Value {
    arr(vec![b(id), bulks(fv)])
}

fn commands_of(g: &strata::effects::EffectGroup) -> Vec<Vec<String>> {
    g.commands()
        .into_iter()
        .map(|a| a.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect())
        .filter(|a: &Vec<String>| a[0] != "SELECT")
        .collect()
}

/// Every effect logged so far by `consumer`.
fn drain(consumer: &mut strata::effects::Consumer) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    while let Some(g) = consumer.try_next().expect("ok") {
        out.extend(commands_of(&g));
    }
    out
}

/// The elements of an array reply.
fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(x) => x.clone(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// The ids of an array of entries.
fn ids(v: &Value) -> Vec<String> {
    items(v).iter().map(|e| text(&items(e)[0])).collect()
}

fn digest(c: &mut redis::Connection) -> String {
    q(c, &["DEBUG", "DIGEST"])
}

#[test]
fn ids_ranges_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["XADD", "s", "1-1", "f", "v"], b("1-1"));
    expect(&mut c, &["XADD", "s", "1-*", "f", "v"], b("1-2"));
    expect(&mut c, &["XADD", "s", "5", "a", "1", "b", "2"], b("5-0"));
    expect_err(
        &mut c,
        &["XADD", "s", "5-0", "f", "v"],
        "ERR The ID specified in XADD is equal or smaller than the target stream top item",
    );
    expect_err(&mut c, &["XADD", "s", "0-0", "f", "v"], "ERR The ID specified in XADD must be greater than 0-0");
    expect_err(&mut c, &["XADD", "s", "x-1", "f", "v"], "ERR Invalid stream ID specified as stream command argument");
    expect_err(&mut c, &["XADD", "s", "6", "f"], &arity("xadd"));
    // `*` takes the clock, or the last id's next sequence when the clock is behind.
    let id: String = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    let ms: u64 = id.split('-').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(ms.abs_diff(now) < 10_000, "{id}");
    expect(&mut c, &["XLEN", "s"], i(4));
    expect(
        &mut c,
        &["XRANGE", "s", "(1-1", "5"],
        arr(vec![entry("1-2", &["f", "v"]), entry("5-0", &["a", "1", "b", "2"])]),
    );
    expect(&mut c, &["XREVRANGE", "s", "5", "-", "COUNT", "1"], arr(vec![entry("5-0", &["a", "1", "b", "2"])]));
    expect(&mut c, &["XDEL", "s", "1-2", "9-9"], i(1));
    expect(&mut c, &["TYPE", "s"], Value::SimpleString("stream".into()));
    assert_eq!(encoding(&mut c, "s"), "stream");
    expect_ok(&mut c, &["SET", "str", "x"]);
    for cmd in [
        &["XADD", "str", "*", "f", "v"][..],
        &["XLEN", "str"],
        &["XRANGE", "str", "-", "+"],
        &["XREAD", "STREAMS", "str", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"],
        &["XGROUP", "CREATE", "str", "g", "$"],
        &["XINFO", "STREAM", "str"],
        &["XTRIM", "str", "MAXLEN", "0"],
        &["XDEL", "str", "1-1"],
        &["XACK", "str", "g", "1-1"],
        &["XSETID", "str", "1-1"],
    ] {
        expect_err(&mut c, cmd, WRONGTYPE);
    }
    // A stream emptied by XDEL or XTRIM stays, with its ids.
    expect(&mut c, &["XTRIM", "s", "MAXLEN", "0"], i(3));
    expect(&mut c, &["EXISTS", "s"], i(1));
    expect_err(
        &mut c,
        &["XADD", "s", "5-0", "f", "v"],
        "ERR The ID specified in XADD is equal or smaller than the target stream top item",
    );
}

fn expect_ok(c: &mut redis::Connection, args: &[&str]) {
    expect(c, args, OK);
}

#[test]
fn many_entries_span_blocks_and_trim_approximately() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for n in 1..=1000 {
        p.cmd("XADD").arg("s").arg(format!("{n}-0")).arg("field").arg(n.to_string()).ignore();
    }
    let _: () = p.query(&mut c).expect("pipeline");
    let info = val(&mut c, &["XINFO", "STREAM", "s"]);
    assert_eq!(field(&info, "length"), i(1000));
    assert_eq!(field(&info, "radix-tree-keys"), i(10), "100 entries per block");
    let got: Vec<Value> = q(&mut c, &["XRANGE", "s", "99", "102"]);
    assert_eq!(got.len(), 4);
    // `~` trims whole blocks only; `=` trims exactly.
    expect(&mut c, &["XTRIM", "s", "MAXLEN", "~", "950"], i(0));
    expect(&mut c, &["XTRIM", "s", "MAXLEN", "~", "850"], i(100));
    expect(&mut c, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "250"], i(200));
    expect(&mut c, &["XTRIM", "s", "MINID", "=", "555"], i(254));
    expect(&mut c, &["XLEN", "s"], i(446));
    let first = val(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "1"]);
    assert_eq!(first, arr(vec![entry("555-0", &["field", "555"])]));
    // Compact: a uniform stream costs well under the size of a hash per entry.
    let used: i64 = q(&mut c, &["MEMORY", "USAGE", "s"]);
    assert!(used > 446 * 3 && used < 446 * 40, "MEMORY USAGE {used}");
}

#[test]
fn blocked_readers_are_served_first_come_first_served() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["XADD", "s", "1-0", "f", "v"], b("1-0"));
    let mut r1 = Resp::new(&s, 2);
    let mut r2 = Resp::new(&s, 2);
    let mut r3 = Resp::new(&s, 3);
    let mut future = Resp::new(&s, 2);
    r1.send(&["XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$"]);
    wait_blocked(&mut c, 1);
    r2.send(&["XREAD", "COUNT", "1", "BLOCK", "5000", "STREAMS", "s", "$"]);
    wait_blocked(&mut c, 2);
    r3.send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "1-0"]);
    wait_blocked(&mut c, 3);
    // Waits for ids after 100: the XADD below must not wake it, nor keep the others waiting.
    future.send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "100-0"]);
    wait_blocked(&mut c, 4);
    let mut p = redis::pipe();
    p.cmd("XADD").arg("s").arg("2-0").arg("a").arg("1");
    p.cmd("XADD").arg("s").arg("3-0").arg("b").arg("2");
    let _: Vec<String> = p.query(&mut c).expect("pipeline");
    let one = "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(r1.read_reply(), one);
    assert_eq!(r2.read_reply(), one);
    assert_eq!(r3.read_reply(), "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    wait_blocked(&mut c, 1);
    expect(&mut c, &["XADD", "s", "101-0", "f", "v"], b("101-0"));
    assert_eq!(future.read_reply(), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$5\r\n101-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    // A timeout answers a null array; a key that never gets data keeps its reader waiting until then.
    let started = Instant::now();
    r1.send(&["XREAD", "BLOCK", "150", "STREAMS", "s", "$"]);
    assert_eq!(r1.read_reply(), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(140));
    let mut r3b = Resp::new(&s, 3);
    r3b.send(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]);
    assert_eq!(r3b.read_reply(), "_\r\n");
    // Deleting the key does not release XREAD readers; a new stream under the name serves them.
    r2.send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["DEL", "s"], i(1));
    expect_ok(&mut c, &["SET", "s", "x"]);
    expect(&mut c, &["DEL", "s"], i(1));
    expect(&mut c, &["XADD", "s", "500-0", "f", "v"], b("500-0"));
    assert_eq!(r2.read_reply(), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$5\r\n500-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    wait_blocked(&mut c, 0);
}

#[test]
fn blocked_group_readers_share_entries_and_are_released_with_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut a = Resp::new(&s, 2);
    let mut bb = Resp::new(&s, 2);
    a.send(&["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut c, 1);
    bb.send(&["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut c, 2);
    // One new entry goes to the first reader only; the group has read it, so bob keeps waiting.
    expect(&mut c, &["XADD", "s", "1-0", "f", "v"], b("1-0"));
    assert_eq!(a.read_reply(), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    wait_blocked(&mut c, 1);
    expect(&mut c, &["XADD", "s", "2-0", "f", "w"], b("2-0"));
    assert_eq!(bb.read_reply(), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nw\r\n");
    let pending = val(&mut c, &["XPENDING", "s", "g"]);
    assert_eq!(pending, arr(vec![i(2), b("1-0"), b("2-0"), arr(vec![bulks(&["alice", "1"]), bulks(&["bob", "1"])])]));
    // The group goes: its blocked readers get -NOGROUP.
    a.send(&["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["XGROUP", "DESTROY", "s", "g"], i(1));
    assert_eq!(a.read_reply(), "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    // The key goes (DEL, or replaced by another type): -UNBLOCKED.
    expect_ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    a.send(&["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]);
    bb.send(&["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "NOACK", "STREAMS", "s", ">"]);
    wait_blocked(&mut c, 2);
    expect(&mut c, &["DEL", "s"], i(1));
    assert_eq!(a.read_reply(), "-UNBLOCKED the stream key no longer exists\r\n");
    assert_eq!(bb.read_reply(), "-UNBLOCKED the stream key no longer exists\r\n");
    wait_blocked(&mut c, 0);
    // A timeout gives a null array and leaves the consumer created.
    expect_ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    a.send(&["XREADGROUP", "GROUP", "g", "carol", "BLOCK", "30", "STREAMS", "s", ">"]);
    assert_eq!(a.read_reply(), "*-1\r\n");
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(items(&consumers).len(), 1);
}

#[test]
fn group_readers_are_released_when_their_stream_expires_or_is_flushed_or_swapped_away() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Resp::new(&s, 2);
    let mut list_reader = Resp::new(&s, 2);
    let unblocked = "-UNBLOCKED the stream key no longer exists\r\n";
    let block = |a: &mut Resp, c: &mut redis::Connection, n: usize| {
        expect_ok(c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        a.send(&["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]);
        wait_blocked(c, n);
    };
    // A BLPOP reader waits throughout: an emptied database has nothing for it yet.
    list_reader.send(&["BLPOP", "list", "0"]);
    wait_blocked(&mut c, 1);
    for how in [&["FLUSHDB"][..], &["FLUSHALL"], &["SWAPDB", "0", "1"]] {
        block(&mut a, &mut c, 2);
        let _: redis::Value = q(&mut c, how);
        assert_eq!(a.read_reply(), unblocked, "{how:?}");
        wait_blocked(&mut c, 1);
    }
    // Expiry with nobody reading the key: the active cycle removes it and releases the reader.
    let _: redis::Value = q(&mut c, &["SWAPDB", "0", "1"]);
    let _: () = q(&mut c, &["FLUSHALL"]);
    block(&mut a, &mut c, 2);
    expect(&mut c, &["PEXPIRE", "s", "50"], i(1));
    assert_eq!(a.read_reply(), unblocked);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "list", "x"], i(1));
    assert_eq!(list_reader.read_reply(), "*2\r\n$4\r\nlist\r\n$1\r\nx\r\n");
}

#[test]
fn consumer_groups_track_pending_entries_and_claims() {
    let s = TestServer::start();
    let mut c = s.conn();
    for n in 1..=4 {
        let _: String = q(&mut c, &["XADD", "s", &format!("{n}-0"), "n", &n.to_string()]);
    }
    expect_ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    expect(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"],
        arr(vec![arr(vec![
            b("s"),
            arr(vec![entry("1-0", &["n", "1"]), entry("2-0", &["n", "2"]), entry("3-0", &["n", "3"])]),
        ])]),
    );
    let groups = val(&mut c, &["XINFO", "GROUPS", "s"]);
    let g = items(&groups);
    assert_eq!(g.len(), 1);
    let g0 = g[0].clone();
    assert_eq!(field(&g0, "entries-read"), i(3));
    assert_eq!(field(&g0, "lag"), i(1));
    assert_eq!(field(&g0, "pending"), i(3));
    // History: alice's own pending entries, a deleted one as [id, nil].
    expect(&mut c, &["XDEL", "s", "2-0"], i(1));
    expect(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
        arr(vec![arr(vec![
            b("s"),
            arr(vec![entry("1-0", &["n", "1"]), arr(vec![b("2-0"), NIL]), entry("3-0", &["n", "3"])]),
        ])]),
    );
    // Delivery counts went up; XCLAIM moves an entry and XAUTOCLAIM drops the deleted one.
    let ext = val(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]);
    let counts: Vec<Value> = match &ext {
        Value::Array(v) => v.iter().map(|e| if let Value::Array(x) = e { x[3].clone() } else { NIL }).collect(),
        _ => vec![],
    };
    assert_eq!(counts, vec![i(2), i(1), i(2)]);
    expect(&mut c, &["XCLAIM", "s", "g", "bob", "0", "3-0", "JUSTID"], arr(vec![b("3-0")]));
    expect(
        &mut c,
        &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID"],
        arr(vec![b("0-0"), arr(vec![b("1-0"), b("3-0")]), arr(vec![b("2-0")])]),
    );
    expect(&mut c, &["XACK", "s", "g", "1-0", "3-0", "3-0"], i(2));
    expect(&mut c, &["XPENDING", "s", "g"], arr(vec![i(0), NIL, NIL, NIL]));
    expect(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "carol"], i(0));
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(items(&consumers).len(), 2, "alice and bob remain");
}

#[test]
fn effects_are_deterministic_and_replay_to_the_same_dataset() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut consumer = s.srv.effects.subscribe();
    let id: String = q(&mut c, &["XADD", "s", "*", "f", "v"]);
    let ms = id.split('-').next().unwrap().to_string();
    let id2: String = q(&mut c, &["XADD", "s", &format!("{ms}-*"), "f", "w"]);
    expect(&mut c, &["XADD", "s", "MAXLEN", "5", "99999999999999-0", "a", "b"], b("99999999999999-0"));
    let log = drain(&mut consumer);
    assert_eq!(log[0], ["XADD", "s", &id, "f", "v"]);
    assert_eq!(log[1], ["XADD", "s", &id2, "f", "w"]);
    assert_eq!(log[2], ["XADD", "s", "MAXLEN", "5", "99999999999999-0", "a", "b"], "exact and explicit: as sent");
    let mut p = redis::pipe();
    for n in 0..300 {
        p.cmd("XADD").arg("t").arg(format!("{}-0", n + 1)).arg("k").arg(n).ignore();
    }
    let _: () = p.query(&mut c).expect("pipeline");
    drain(&mut consumer);
    // An approximate trim is logged as the exact trim it came to.
    expect(&mut c, &["XADD", "t", "MAXLEN", "~", "150", "LIMIT", "1000", "301-0", "k", "v"], b("301-0"));
    assert_eq!(drain(&mut consumer), [["XADD", "t", "MAXLEN", "=", "201", "301-0", "k", "v"]]);
    expect(&mut c, &["XTRIM", "t", "MINID", "~", "250"], i(100));
    assert_eq!(drain(&mut consumer), [["XTRIM", "t", "MINID", "=", "201-0"]]);
    expect(&mut c, &["XTRIM", "t", "MAXLEN", "~", "100"], i(0));
    assert!(drain(&mut consumer).is_empty(), "a trim that removed nothing is not logged");
    // XREADGROUP: a claim per delivery and the group's position (its read counter is unknown: created mid-stream).
    expect_ok(&mut c, &["XGROUP", "CREATE", "t", "g", "250-0"]);
    drain(&mut consumer);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "t", ">"]);
    let log = drain(&mut consumer);
    assert_eq!(log[0], ["XGROUP", "CREATECONSUMER", "t", "g", "alice"]);
    assert_eq!(&log[1][..6], ["XCLAIM", "t", "g", "alice", "0", "251-0"]);
    assert_eq!(&log[1][8..], ["RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "251-0"]);
    assert_eq!(log[3], ["XGROUP", "SETID", "t", "g", "252-0", "ENTRIESREAD", "-1"]);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "1", "STREAMS", "t", ">"]);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", "0"]);
    let _: Value = q(&mut c, &["XCLAIM", "t", "g", "carol", "0", "251-0", "IDLE", "5000"]);
    let _: Value = q(&mut c, &["XAUTOCLAIM", "t", "g", "dave", "0", "0"]);
    expect(&mut c, &["XACK", "t", "g", "251-0"], i(1));
    expect(&mut c, &["XDEL", "t", "260-0"], i(1));
    expect_ok(&mut c, &["XSETID", "t", "400-0", "ENTRIESADDED", "500"]);
    let _: Value = q(&mut c, &["XGROUP", "CREATECONSUMER", "t", "g", "erin"]);
    let log = drain(&mut consumer);
    let names: Vec<&str> = log.iter().map(|a| a[0].as_str()).collect();
    assert!(names.contains(&"XACK") && names.contains(&"XDEL") && names.contains(&"XSETID"), "{names:?}");
    assert!(log.iter().all(|a| a[0] != "XREADGROUP" && a[0] != "XAUTOCLAIM"), "rewritten, never as sent: {log:?}");
}

#[test]
fn replayed_session_digests_match() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut consumer = s.srv.effects.subscribe();
    let mut p = redis::pipe();
    for n in 0..250 {
        p.cmd("XADD").arg("t").arg("*").arg("k").arg(n).ignore();
    }
    let _: () = p.query(&mut c).expect("pipeline");
    let _: String = q(&mut c, &["XADD", "t", "MAXLEN", "~", "120", "*", "k", "v"]);
    expect_ok(&mut c, &["XGROUP", "CREATE", "t", "g", "0"]);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "10", "STREAMS", "t", ">"]);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "5", "STREAMS", "t", ">"]);
    let _: Value = q(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", "0"]);
    let _: Value = q(&mut c, &["XAUTOCLAIM", "t", "g", "carol", "0", "0", "COUNT", "3"]);
    let _: Value = q(&mut c, &["XCLAIM", "t", "g", "dave", "0", "0-1", "FORCE"]);
    let first: Value = q(&mut c, &["XRANGE", "t", "-", "+", "COUNT", "2"]);
    let ids = ids(&first);
    let _: i64 = q(&mut c, &["XDEL", "t", &ids[0]]);
    let _: Value = q(&mut c, &["XAUTOCLAIM", "t", "g", "erin", "0", "0", "COUNT", "100"]);
    let _: i64 = q(&mut c, &["XTRIM", "t", "MINID", "~", &ids[1]]);
    let _: i64 = q(&mut c, &["XACK", "t", "g", &ids[1]]);
    let replica = TestServer::start();
    let mut rc = replica.conn();
    for args in drain(&mut consumer) {
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a.as_str());
        }
        let _: Value = cmd.query(&mut rc).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
    assert_eq!(digest(&mut c), digest(&mut rc));
    assert_eq!(val(&mut c, &["XINFO", "GROUPS", "t"]), val(&mut rc, &["XINFO", "GROUPS", "t"]));
    assert_eq!(val(&mut c, &["XPENDING", "t", "g"]), val(&mut rc, &["XPENDING", "t", "g"]));
}

#[test]
fn resp3_reads_are_maps() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["XADD", "a", "1-0", "f", "v"], b("1-0"));
    expect(&mut c, &["XADD", "b", "2-0", "g", "w"], b("2-0"));
    let got = val(&mut c, &["XREAD", "STREAMS", "a", "b", "0", "0"]);
    assert_eq!(
        got,
        Value::Map(vec![
            (b("a"), arr(vec![entry("1-0", &["f", "v"])])),
            (b("b"), arr(vec![entry("2-0", &["g", "w"])])),
        ])
    );
    let info = val(&mut c, &["XINFO", "STREAM", "a"]);
    assert!(matches!(info, Value::Map(_)), "{info:?}");
    expect(&mut c, &["XREAD", "STREAMS", "a", "$"], NIL);
}

#[test]
fn transactions_scripts_watch_and_notifications() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Inside MULTI a blocking read answers at once.
    let _: () = redis::cmd("MULTI").query(&mut c).expect("multi");
    let _: () = redis::cmd("XREAD").arg("BLOCK").arg(0).arg("STREAMS").arg("s").arg("$").query(&mut c).expect("q");
    let _: () = redis::cmd("XADD").arg("s").arg("1-0").arg("f").arg("v").query(&mut c).expect("q");
    let got: Value = redis::cmd("EXEC").query(&mut c).expect("exec");
    assert_eq!(got, arr(vec![NIL, b("1-0")]));
    // Lua: reads and writes work, BLOCK is refused.
    let got: Value = q(&mut c, &["EVAL", "return redis.call('XRANGE', KEYS[1], '-', '+')", "1", "s"]);
    assert_eq!(got, arr(vec![entry("1-0", &["f", "v"])]));
    let e = err(&mut c, &["EVAL", "return redis.call('xread', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", "1", "s"]);
    assert!(e.contains("xread command is not allowed with BLOCK option from scripts"), "{e}");
    // WATCH sees XADD.
    let mut other = s.conn();
    let _: () = redis::cmd("WATCH").arg("s").query(&mut c).expect("watch");
    expect(&mut other, &["XADD", "s", "2-0", "f", "v"], b("2-0"));
    let _: () = redis::cmd("MULTI").query(&mut c).expect("multi");
    let _: () = redis::cmd("XLEN").arg("s").query(&mut c).expect("q");
    let got: Value = redis::cmd("EXEC").query(&mut c).expect("exec");
    assert_eq!(got, NIL);
    // Keyspace events, class t.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Et"]);
    let mut sub = Resp::new(&s, 2);
    sub.send(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    sub.read_reply();
    expect(&mut c, &["XADD", "s", "MAXLEN", "1", "3-0", "f", "v"], b("3-0"));
    expect(&mut c, &["XDEL", "s", "3-0"], i(1));
    expect_ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    for event in ["xadd", "xtrim", "xdel", "xgroup-create"] {
        let m = sub.read_reply();
        assert!(m.contains(&format!("__keyevent@0__:{event}\r\n")), "{event}: {m}");
    }
}

#[test]
fn getkeys_finds_stream_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"], bulks(&["a", "b"]));
    expect(
        &mut c,
        &["COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK", "1", "STREAMS", "x", ">"],
        bulks(&["x"]),
    );
    expect(&mut c, &["COMMAND", "GETKEYS", "XINFO", "STREAM", "k"], bulks(&["k"]));
    // Keys in different shards are all locked: a multi-key XREAD sees a consistent view.
    for k in ["k1", "k2", "k3", "k4", "k5", "k6"] {
        let _: String = q(&mut c, &["XADD", k, "1-0", "f", k]);
    }
    let got: Vec<Value> =
        q(&mut c, &["XREAD", "STREAMS", "k1", "k2", "k3", "k4", "k5", "k6", "0", "0", "0", "0", "0", "0"]);
    assert_eq!(got.len(), 6);
}
