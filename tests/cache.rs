//! CACHE.* through a real client: CACHE.SET's options and replayable effect, freshness and the single refresh
//! hand-out (stale windows, XFetch), fill leases against a stampede of 100 concurrent readers, and ADAPTIVE TTLs.

mod common;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn ttl_ms(c: &mut redis::Connection, key: &str) -> i64 {
    q(c, &["PTTL", key])
}

fn ttlinfo(c: &mut redis::Connection, key: &str) -> Vec<(String, redis::Value)> {
    pairs(&val(c, &["CACHE.TTLINFO", key]))
}

fn info_int(info: &[(String, redis::Value)], name: &str) -> i64 {
    match info.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
        Some(redis::Value::Int(n)) => *n,
        other => panic!("{name}: {other:?}"),
    }
}

fn stats(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = q(c, &["INFO", "stats"]);
    let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name}"));
    line[name.len() + 1..].trim().parse().expect("number")
}

fn simple(s: &str) -> redis::Value {
    redis::Value::SimpleString(s.into())
}

#[test]
fn set_options_errors_and_the_logged_form_replays() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut consumer = s.srv.effects.subscribe();
    expect(&mut c, &["CACHE.SET", "k", "v", "EX", "100", "TAGS", "2", "user:1", "site", "STALE", "30"], OK);
    expect(&mut c, &["TAG.GET", "k"], bulks(&["site", "user:1"]));
    let ttl = ttl_ms(&mut c, "k");
    assert!((129_000..=130_000).contains(&ttl), "{ttl}");
    let info = ttlinfo(&mut c, "k");
    assert!((99_000..=100_000).contains(&info_int(&info, "fresh-ms")));
    assert_eq!(info_int(&info, "stale-window-ms"), 30_000);
    expect(&mut c, &["CACHE.SET", "k", "w", "NX"], NIL);
    expect(&mut c, &["CACHE.SET", "other", "w", "XX"], NIL);
    expect_err(&mut c, &["CACHE.SET", "k", "w", "GET"], SYNTAX);
    expect_err(
        &mut c,
        &["CACHE.SET", "k", "w", "STALE", "5"],
        "ERR STALE needs an expiry (EX, PX, EXAT, PXAT or TTLPOLICY)",
    );
    expect_err(&mut c, &["CACHE.SET", "k", "w", "KEEPTTL", "STALE", "5"], SYNTAX);
    expect_err(&mut c, &["CACHE.SET", "k", "w", "TAGS", "3", "a", "b"], SYNTAX);
    expect_err(&mut c, &["CACHE.SET", "k", "w", "TAGS", "1", ""], "ERR tags must not be empty");
    expect_err(&mut c, &["CACHE.SET", "k", "w", "TTLPOLICY", "FIXED", "1", "1", "1"], SYNTAX);
    let bad = "ERR TTLPOLICY ADAPTIVE needs base, min and max seconds with 0 < min <= base <= max";
    expect_err(&mut c, &["CACHE.SET", "k", "w", "TTLPOLICY", "ADAPTIVE", "10", "20", "30"], bad);
    expect_err(&mut c, &["CACHE.SET", "k", "w", "TTLPOLICY", "ADAPTIVE", "10", "0", "30"], bad);
    expect_err(&mut c, &["CACHE.SET", "k", "w", "EX", "0"], "ERR invalid expire time in 'cache.set' command");
    expect_err(&mut c, &["CACHE.SET", "k"], &arity("cache.set"));
    // Refused commands changed nothing.
    expect(&mut c, &["GET", "k"], b("v"));
    // KEEPTTL keeps the TTL and the metadata; a plain SET drops both.
    expect(&mut c, &["CACHE.SET", "k", "w", "KEEPTTL"], OK);
    expect(&mut c, &["TAG.GET", "k"], bulks(&["site", "user:1"]));
    assert!(ttl_ms(&mut c, "k") > 120_000);
    expect(&mut c, &["SET", "k", "x"], OK);
    expect(&mut c, &["TAG.GET", "k"], arr(vec![]));
    assert_eq!(info_int(&ttlinfo(&mut c, "k"), "stale-window-ms"), 0);
    expect(&mut c, &["CACHE.TTLINFO", "missing"], NIL);

    // The log holds absolute forms; replayed on another server they give the same keys, TTLs and metadata.
    expect(&mut c, &["CACHE.SET", "a", "1", "TTLPOLICY", "ADAPTIVE", "100", "10", "1000", "TAGS", "1", "t"], OK);
    expect(&mut c, &["CACHE.SET", "b", "2", "PX", "50000", "STALE", "7", "COMPUTE", "40"], OK);
    let mut logged = Vec::new();
    while let Some(g) = consumer.try_next().expect("ok") {
        logged.extend(g.commands());
    }
    let other = TestServer::start();
    let mut r = other.conn();
    for cmd in &logged {
        let mut k = redis::cmd(std::str::from_utf8(&cmd[0]).expect("name"));
        for a in &cmd[1..] {
            k.arg(&a[..]);
        }
        let _: redis::Value = k.query(&mut r).expect("replay");
    }
    assert!(logged.iter().any(|c| &c[0][..] == b"CACHE.SET" && c.iter().any(|a| &a[..] == b"PXAT")));
    for key in ["a", "b", "k"] {
        let (x, y) = (ttl_ms(&mut c, key), ttl_ms(&mut r, key));
        assert!((x - y).abs() < 1000, "{key}: {x} vs {y}");
        expect(&mut r, &["TAG.GET", key], val(&mut c, &["TAG.GET", key]));
        let (ix, iy) = (ttlinfo(&mut c, key), ttlinfo(&mut r, key));
        for f in ["base", "min", "max", "stale-window-ms", "compute-ms", "tags"] {
            assert_eq!(ix.iter().find(|p| p.0 == f), iy.iter().find(|p| p.0 == f), "{key} {f}");
        }
    }
    let q2: Vec<(String, redis::Value)> = ttlinfo(&mut r, "a");
    assert_eq!(q2.iter().find(|p| p.0 == "policy").map(|p| text(&p.1)), Some("adaptive".to_string()));
}

#[test]
fn stale_values_are_served_and_one_reader_refreshes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut sub = Resp::new(&s, 2);
    sub.send(&["SUBSCRIBE", "__strata__:refresh"]);
    sub.expect("*3\r\n$9\r\nsubscribe\r\n$18\r\n__strata__:refresh\r\n:1\r\n");
    expect(&mut c, &["CACHE.GET", "nothing"], NIL);
    expect(&mut c, &["CACHE.SET", "k", "v", "PX", "100", "STALE", "10"], OK);
    expect(&mut c, &["CACHE.GET", "k"], arr(vec![b("v"), simple("fresh")]));
    std::thread::sleep(Duration::from_millis(150));
    // Past its fresh time: the first reader is told to refresh, the others get the stale value meanwhile.
    expect(&mut c, &["CACHE.GET", "k"], arr(vec![b("v"), simple("refresh")]));
    assert_eq!(sub.read_reply(), "*3\r\n$7\r\nmessage\r\n$18\r\n__strata__:refresh\r\n$1\r\nk\r\n");
    expect(&mut c, &["CACHE.GET", "k"], arr(vec![b("v"), simple("stale")]));
    expect(&mut c, &["GET", "k"], b("v"));
    assert_eq!(stats(&mut c, "cache_stale_hits"), 1);
    assert_eq!(stats(&mut c, "cache_refreshes"), 1);
    assert_eq!(stats(&mut c, "cache_misses"), 1);
    // The refresh writes a fresh value.
    expect(&mut c, &["CACHE.SET", "k", "v2", "EX", "60", "STALE", "10"], OK);
    expect(&mut c, &["CACHE.GET", "k"], arr(vec![b("v2"), simple("fresh")]));
    expect(&mut c, &["HSET", "h", "f", "v"], i(1));
    expect_err(&mut c, &["CACHE.GET", "h"], "WRONGTYPE Operation against a key holding the wrong kind of value");
}

#[test]
fn xfetch_refreshes_early_when_the_compute_time_is_long() {
    let s = TestServer::start();
    let mut c = s.conn();
    // delta far above the remaining time: exp(-remaining / delta) is about 1, one reader refreshes at once and
    // the others are told the value is fresh while that refresh is pending.
    expect(&mut c, &["CACHE.SET", "slow", "v", "EX", "10", "COMPUTE", "100000000"], OK);
    expect(&mut c, &["CACHE.GET", "slow"], arr(vec![b("v"), simple("refresh")]));
    for _ in 0..20 {
        expect(&mut c, &["CACHE.GET", "slow"], arr(vec![b("v"), simple("fresh")]));
    }
    assert_eq!(info_int(&ttlinfo(&mut c, "slow"), "refresh-pending"), 1);
    // delta far below it: the probability is about exp(-10^7), never.
    expect(&mut c, &["CACHE.SET", "fast", "v", "EX", "10000", "COMPUTE", "1"], OK);
    for _ in 0..200 {
        expect(&mut c, &["CACHE.GET", "fast"], arr(vec![b("v"), simple("fresh")]));
    }
    assert_eq!(info_int(&ttlinfo(&mut c, "fast"), "hits"), 200);
}

#[test]
fn a_hundred_concurrent_readers_of_a_missing_key_cause_one_recompute() {
    let s = TestServer::start();
    let recomputes = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let mut c = s.conn();
            let (recomputes, served) = (recomputes.clone(), served.clone());
            std::thread::spawn(move || loop {
                let reply = val(&mut c, &["CACHE.GETL", "hot", "5000"]);
                let redis::Value::Array(parts) = reply else { panic!("{reply:?}") };
                match text(&parts[0]).as_str() {
                    "hit" => {
                        assert_eq!(text(&parts[1]), "computed");
                        served.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    "lease" => {
                        recomputes.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        let token = match &parts[2] {
                            redis::Value::Int(t) => t.to_string(),
                            other => panic!("{other:?}"),
                        };
                        expect(&mut c, &["CACHE.FILL", "hot", &token, "computed", "EX", "60"], OK);
                    }
                    "wait" => std::thread::sleep(Duration::from_millis(2)),
                    other => panic!("{other}"),
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("reader");
    }
    assert_eq!(recomputes.load(Ordering::SeqCst), 1);
    assert_eq!(served.load(Ordering::SeqCst), 100);
    let mut c = s.conn();
    assert!(info_int(&ttlinfo(&mut c, "hot"), "compute-ms") >= 50);
    assert_eq!(stats(&mut c, "cache_leases_granted"), 1);
    assert_eq!(stats(&mut c, "cache_fills"), 1);
    assert!(stats(&mut c, "cache_lease_waits") > 0);
}

#[test]
fn fills_need_the_live_lease() {
    let s = TestServer::start();
    let mut c = s.conn();
    let token = |v: &redis::Value| match v {
        redis::Value::Array(p) => match &p[2] {
            redis::Value::Int(t) => t.to_string(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let t1 = token(&val(&mut c, &["CACHE.GETL", "k", "10000"]));
    expect(&mut c, &["CACHE.GETL", "k", "10000"], arr(vec![simple("wait"), NIL, NIL]));
    expect(&mut c, &["CACHE.FILL", "k", "999999", "x"], NIL);
    expect_err(&mut c, &["CACHE.FILL", "k", "abc", "x"], "ERR invalid lease token");
    expect_err(&mut c, &["CACHE.FILL", "k", &t1, "x", "NX"], SYNTAX);
    expect_err(&mut c, &["CACHE.GETL", "k", "0"], "ERR lease time must be a positive number of milliseconds");
    // Another writer overtook the filler: its lease is gone and its fill refused.
    expect(&mut c, &["SET", "k", "newer"], OK);
    expect(&mut c, &["CACHE.FILL", "k", &t1, "older"], NIL);
    expect(&mut c, &["GET", "k"], b("newer"));
    assert_eq!(stats(&mut c, "cache_fills_rejected"), 2);
    // A lease that ran out is refused too, and the next reader gets a new one.
    expect(&mut c, &["DEL", "k"], i(1));
    let t2 = token(&val(&mut c, &["CACHE.GETL", "k", "20"]));
    std::thread::sleep(Duration::from_millis(40));
    expect(&mut c, &["CACHE.FILL", "k", &t2, "late"], NIL);
    let t3 = token(&val(&mut c, &["CACHE.GETL", "k", "10000"]));
    assert_ne!(t2, t3);
    expect(&mut c, &["CACHE.FILL", "k", &t3, "v", "EX", "60", "TAGS", "1", "t", "COMPUTE", "25"], OK);
    expect(&mut c, &["CACHE.GETL", "k", "10000"], arr(vec![simple("hit"), b("v"), NIL]));
    expect(&mut c, &["TAG.GET", "k"], bulks(&["t"]));
    assert_eq!(info_int(&ttlinfo(&mut c, "k"), "compute-ms"), 25);
    // A stale value: the first reader gets a lease and the stale value, the others the stale value alone.
    expect(&mut c, &["CACHE.SET", "s", "old", "PX", "30", "STALE", "60"], OK);
    std::thread::sleep(Duration::from_millis(60));
    let first = val(&mut c, &["CACHE.GETL", "s", "10000"]);
    let redis::Value::Array(parts) = &first else { panic!("{first:?}") };
    assert_eq!((text(&parts[0]), text(&parts[1])), ("lease".to_string(), "old".to_string()));
    expect(&mut c, &["CACHE.GETL", "s", "10000"], arr(vec![simple("stale"), b("old"), NIL]));
    expect(&mut c, &["CACHE.FILL", "s", &token(&first), "new", "EX", "60"], OK);
    expect(&mut c, &["CACHE.GET", "s"], arr(vec![b("new"), simple("fresh")]));
    // FLUSHALL ends leases as it ends keys.
    let t4 = token(&val(&mut c, &["CACHE.GETL", "gone", "10000"]));
    expect(&mut c, &["FLUSHALL"], OK);
    expect(&mut c, &["CACHE.FILL", "gone", &t4, "v"], NIL);
}

#[test]
fn adaptive_ttls_follow_the_hit_rate_within_bounds() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["CACHE.SET", "a", "v", "TTLPOLICY", "ADAPTIVE", "100", "10", "1000"], OK);
    let ttl = ttl_ms(&mut c, "a");
    assert!((99_000..=100_000).contains(&ttl), "written: base {ttl}");
    let mut consumer = s.srv.effects.subscribe();
    // One hit: score 1, TTL = min.
    expect(&mut c, &["CACHE.GET", "a"], arr(vec![b("v"), simple("fresh")]));
    let ttl = ttl_ms(&mut c, "a");
    assert!((9_000..=10_000).contains(&ttl), "one hit: min {ttl}");
    // Five more within the half-life: score about 6, TTL about 60 s.
    for _ in 0..5 {
        expect(&mut c, &["CACHE.GET", "a"], arr(vec![b("v"), simple("fresh")]));
    }
    let ttl = ttl_ms(&mut c, "a");
    assert!((55_000..=61_000).contains(&ttl), "six hits: {ttl}");
    // Many: capped at max.
    for _ in 0..300 {
        let _ = val(&mut c, &["CACHE.GET", "a"]);
    }
    let ttl = ttl_ms(&mut c, "a");
    assert!((999_000..=1_000_000).contains(&ttl), "hot: max {ttl}");
    let info = ttlinfo(&mut c, "a");
    assert_eq!(info_int(&info, "hits"), 306);
    assert_eq!(info_int(&info, "max"), 1000);
    // Each move was logged as an absolute expiry, and only moves of a second or more were made.
    let mut moves = 0;
    while let Some(g) = consumer.try_next().expect("ok") {
        moves += g.commands().iter().filter(|a| &a[0][..] == b"PEXPIREAT").count();
    }
    assert!((3..300).contains(&moves), "{moves}");
    assert_eq!(stats(&mut c, "cache_ttl_extensions"), moves as i64);
    // A write resets it to base.
    expect(&mut c, &["CACHE.SET", "a", "v", "TTLPOLICY", "ADAPTIVE", "100", "10", "1000"], OK);
    let ttl = ttl_ms(&mut c, "a");
    assert!((99_000..=100_000).contains(&ttl), "rewritten: {ttl}");
    assert_eq!(info_int(&ttlinfo(&mut c, "a"), "hits"), 0);
    // Plain reads are not hits.
    let _: String = q(&mut c, &["GET", "a"]);
    assert_eq!(info_int(&ttlinfo(&mut c, "a"), "hits"), 0);
}

#[test]
fn prefix_policies_adapt_ttls_without_metadata() {
    let s = TestServer::start();
    let mut c = s.conn();
    for bad in ["user: 10 1", "user: 10 20 100", "user: 0 0 10", "user: 10 1 x"] {
        let e = err(&mut c, &["CONFIG", "SET", "adaptive-ttl", bad]);
        assert!(e.contains("adaptive-ttl"), "{bad}: {e}");
    }
    expect(&mut c, &["CONFIG", "SET", "adaptive-ttl", "user: 100 10 1000 user:vip: 100 100 1000"], OK);
    expect(
        &mut c,
        &["CONFIG", "GET", "adaptive-ttl"],
        bulks(&["adaptive-ttl", "user: 100 10 1000 user:vip: 100 100 1000"]),
    );
    // Written without an expiry: the prefix's base.
    expect(&mut c, &["CACHE.SET", "user:1", "v"], OK);
    let ttl = ttl_ms(&mut c, "user:1");
    assert!((99_000..=100_000).contains(&ttl), "base {ttl}");
    let info = ttlinfo(&mut c, "user:1");
    assert_eq!(text(&info.iter().find(|(n, _)| n == "policy").expect("policy").1), "adaptive");
    assert_eq!(text(&info.iter().find(|(n, _)| n == "policy-source").expect("source").1), "prefix");
    assert_eq!((info_int(&info, "base"), info_int(&info, "min"), info_int(&info, "max")), (100, 10, 1000));
    // The first hit: the LFU counter stands for one access, TTL = min. The longest prefix wins.
    expect(&mut c, &["CACHE.GET", "user:1"], arr(vec![b("v"), simple("fresh")]));
    let ttl = ttl_ms(&mut c, "user:1");
    assert!((9_000..=10_000).contains(&ttl), "one hit: min {ttl}");
    expect(&mut c, &["CACHE.SET", "user:vip:1", "v"], OK);
    let _ = val(&mut c, &["CACHE.GET", "user:vip:1"]);
    assert!(ttl_ms(&mut c, "user:vip:1") > 99_000, "user:vip:'s min is 100 s");
    // A popular key climbs towards max as its counter grows.
    for _ in 0..300 {
        let _ = val(&mut c, &["CACHE.GET", "user:1"]);
    }
    let ttl = ttl_ms(&mut c, "user:1");
    assert!(ttl > 100_000 && ttl <= 1_000_000, "hot: {ttl}");
    // No metadata per key; a key without an expiry, one with a policy of its own, and one outside every prefix
    // are left alone.
    assert_eq!(info_int_memory(&mut c, "tagged_keys"), 0);
    let _: () = q(&mut c, &["SET", "user:2", "v"]);
    let _ = val(&mut c, &["CACHE.GET", "user:2"]);
    assert_eq!(ttl_ms(&mut c, "user:2"), -1);
    expect(&mut c, &["CACHE.SET", "user:3", "v", "TTLPOLICY", "ADAPTIVE", "50", "5", "500"], OK);
    let _ = val(&mut c, &["CACHE.GET", "user:3"]);
    assert!((4_000..=5_000).contains(&ttl_ms(&mut c, "user:3")), "its own min");
    assert_eq!(text(&ttlinfo(&mut c, "user:3").iter().find(|(n, _)| n == "policy-source").expect("source").1), "key");
    expect(&mut c, &["CACHE.SET", "other", "v", "EX", "100"], OK);
    for _ in 0..50 {
        let _ = val(&mut c, &["CACHE.GET", "other"]);
    }
    assert!((99_000..=100_000).contains(&ttl_ms(&mut c, "other")));
    // Turned off, the TTLs stay where they are and hits no longer move them.
    expect(&mut c, &["CONFIG", "SET", "adaptive-ttl", ""], OK);
    let before = ttl_ms(&mut c, "user:1");
    let _ = val(&mut c, &["CACHE.GET", "user:1"]);
    assert!(ttl_ms(&mut c, "user:1") <= before);
}

fn info_int_memory(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = q(c, &["INFO", "memory"]);
    let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name}"));
    line[name.len() + 1..].trim().parse().expect("number")
}

#[test]
fn ttlinfo_is_a_map_in_resp3_and_works_in_multi_and_lua() {
    let s = TestServer::start();
    let mut c3 = s.conn3();
    expect(&mut c3, &["CACHE.SET", "k", "v", "EX", "100"], OK);
    match val(&mut c3, &["CACHE.TTLINFO", "k"]) {
        redis::Value::Map(m) => assert_eq!(text(&m[0].1), "fixed"),
        other => panic!("{other:?}"),
    }
    let mut c = s.conn();
    expect(&mut c, &["MULTI"], OK);
    expect(&mut c, &["CACHE.SET", "m", "1", "TAGS", "1", "t"], simple("QUEUED"));
    expect(&mut c, &["CACHE.GET", "m"], simple("QUEUED"));
    expect(&mut c, &["EXEC"], arr(vec![OK, arr(vec![b("1"), simple("fresh")])]));
    let v: Vec<String> = q(&mut c, &["EVAL", "return redis.call('CACHE.GET', KEYS[1])", "1", "m"]);
    assert_eq!(v, ["1", "fresh"]);
    expect(&mut c, &["EVAL", "return redis.call('CACHE.SET', KEYS[1], 'x', 'EX', '5')", "1", "n"], OK);
}
