//! Counters and sketches through a real client: windowed aggregations at explicit timestamps, the keyspace
//! integration (TYPE, DEL, RENAME, EXPIRE, MEMORY USAGE, MULTI, Lua), rate limiting, top-k and count-min sketches
//! with RedisBloom's replies, and errors that change nothing. The window arithmetic itself is checked against a
//! brute-force recomputation in `store::types::counter`'s unit tests.

mod common;
use common::*;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[test]
fn windowed_counter_aggregates_events_at_given_times() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["CTR.CREATE", "hits", "BUCKET", "1s", "RETENTION", "1h"]);
    // Events 0 s to 119 s ago, one per second, value = age in seconds.
    let now = now_ms() / 1000 * 1000;
    for age in 0..120 {
        let ts = (now - age * 1000).to_string();
        let _: redis::Value = q(&mut c, &["CTR.INCR", "hits", "BY", &age.to_string(), "TS", &ts]);
    }
    let count_1m: i64 = q(&mut c, &["CTR.GET", "hits", "WINDOW", "1m", "AGG", "count"]);
    assert!((59..=61).contains(&count_1m), "{count_1m}");
    let count_all: i64 = q(&mut c, &["CTR.GET", "hits", "AGG", "count"]);
    assert_eq!(count_all, 120);
    let sum_all: i64 = q(&mut c, &["CTR.GET", "hits"]);
    assert_eq!(sum_all, (0..120).sum::<i64>());
    let max: i64 = q(&mut c, &["CTR.GET", "hits", "WINDOW", "1h", "AGG", "max"]);
    assert_eq!(max, 119);
    let avg: f64 = q(&mut c, &["CTR.GET", "hits", "AGG", "avg"]);
    assert!((avg - 59.5).abs() < 1e-9);
    // A series of 1-minute buckets covering the two minutes.
    let from = (now - 119_000).to_string();
    let series: Vec<(i64, i64)> = q(&mut c, &["CTR.RANGE", "hits", &from, "+", "BUCKET", "1m", "AGG", "count"]);
    assert_eq!(series.iter().map(|p| p.1).sum::<i64>(), 120);
    assert!(series.windows(2).all(|w| w[1].0 - w[0].0 == 60_000));
    let many: Vec<redis::Value> = q(&mut c, &["CTR.MGET", "WINDOW", "1h", "AGG", "count", "hits", "missing"]);
    assert_eq!(many, vec![i(120), redis::Value::Nil]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "hits"]), "counter");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "hits"]), "window");
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "hits"]) > 0);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["CTR.INCR", "k", "BY", "9223372036854775806"]);
    assert_eq!(err(&mut c, &["CTR.INCR", "k", "BY", "2"]), "ERR increment or decrement would overflow");
    assert_eq!(err(&mut c, &["CTR.INCR", "k", "TS", "1"]), "ERR timestamp is older than the counter's retention");
    let future = (now_ms() + 60_000).to_string();
    assert_eq!(err(&mut c, &["CTR.INCR", "k", "TS", &future]), "ERR timestamp is in the future");
    assert_eq!(err(&mut c, &["CTR.INCR", "k", "BY", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["CTR.INCR", "k", "BOGUS", "1"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["CTR.GET", "k", "WINDOW", "5y"]),
        "ERR invalid duration (use e.g. 250ms, 10s, 1m, 1h, 1d)"
    );
    assert_eq!(err(&mut c, &["CTR.GET", "k", "WINDOW", "2d"]), "ERR window is longer than the counter's retention");
    assert_eq!(
        err(&mut c, &["CTR.GET", "k", "AGG", "median"]),
        "ERR unknown aggregation (use sum, count, avg, min, max or rate)"
    );
    assert_eq!(err(&mut c, &["CTR.CREATE", "k"]), "ERR key already exists");
    assert_eq!(
        err(&mut c, &["CTR.CREATE", "n", "BUCKET", "2h", "RETENTION", "1h"]),
        "ERR bucket width must be at least 1ms and at most the retention"
    );
    assert_eq!(q::<i64>(&mut c, &["CTR.GET", "k", "AGG", "count"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "n"]), 0);
    let _: () = q(&mut c, &["SET", "s", "v"]);
    assert!(err(&mut c, &["CTR.INCR", "s"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["TOPK.ADD", "k", "a"]).starts_with("WRONGTYPE"));
    assert!(err(&mut c, &["GET", "k"]).starts_with("WRONGTYPE"));
}

#[test]
fn counters_are_ordinary_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["CTR.INCR", "a", "BY", "3"]);
    let _: () = q(&mut c, &["RENAME", "a", "b"]);
    assert_eq!(q::<i64>(&mut c, &["CTR.GET", "b", "WINDOW", "1m"]), 3);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "b", "100"]), 1);
    // Transactions and scripts reach the commands like any other row of the table.
    let r: Vec<redis::Value> = redis::pipe()
        .atomic()
        .cmd("CTR.INCR")
        .arg("b")
        .cmd("CTR.GET")
        .arg("b")
        .arg("WINDOW")
        .arg("1m")
        .query(&mut c)
        .expect("exec");
    assert_eq!(r[1], i(4));
    let lua: i64 = q(
        &mut c,
        &[
            "EVAL",
            "redis.call('CTR.INCR', KEYS[1], 'BY', 6) return redis.call('CTR.GET', KEYS[1], 'WINDOW', '1m')",
            "1",
            "b",
        ],
    );
    assert_eq!(lua, 10);
    assert!(q::<i64>(&mut c, &["TTL", "b"]) > 0);
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "TYPE", "counter"]);
    assert_eq!(keys, vec!["b".to_string()]);
    assert_eq!(q::<i64>(&mut c, &["DEL", "b"]), 1);
}

#[test]
fn distinct_counts_and_rate_limits() {
    let s = TestServer::start();
    let mut c = s.conn();
    for u in ["alice", "bob", "carol", "alice"] {
        let _: i64 = q(&mut c, &["CTR.UNIQUE", "visitors", u]);
    }
    assert_eq!(q::<i64>(&mut c, &["CTR.UNIQUECOUNT", "visitors", "WINDOW", "1h"]), 3);
    // redis-cell's reply shape: limited, limit, remaining, retry_after, reset_after.
    let r: Vec<i64> = q(&mut c, &["CTR.THROTTLE", "user:1", "4", "1", "60"]);
    assert_eq!(r[..3], [0, 5, 4]);
    for _ in 0..4 {
        let _: Vec<i64> = q(&mut c, &["CTR.THROTTLE", "user:1", "4", "1", "60"]);
    }
    let r: Vec<i64> = q(&mut c, &["CTR.THROTTLE", "user:1", "4", "1", "60"]);
    assert_eq!(r[0], 1, "{r:?}");
    assert!(r[3] > 0);
    assert!(q::<i64>(&mut c, &["PTTL", "user:1"]) > 0);
    let at = now_ms().to_string();
    let got: Vec<Vec<i64>> = (0..4).map(|_| q(&mut c, &["CTR.ALLOW", "api", "3", "10s", "TS", &at])).collect();
    assert_eq!(got.iter().map(|r| r[0]).collect::<Vec<_>>(), vec![1, 1, 1, 0]);
    assert!(got[3][2] > 9_000, "{got:?}");
}

#[test]
fn topk_and_cms_answer_as_redisbloom() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["TOPK.RESERVE", "tk", "2", "50", "5", "0.9"]);
    assert_eq!(err(&mut c, &["TOPK.RESERVE", "tk", "2"]), "TopK: key already exists");
    for (item, n) in [("a", 50), ("b", 30), ("c", 3)] {
        for _ in 0..n {
            let _: redis::Value = q(&mut c, &["TOPK.ADD", "tk", item]);
        }
    }
    let list: Vec<String> = q(&mut c, &["TOPK.LIST", "tk"]);
    assert_eq!(list, vec!["a", "b"]);
    let q1: Vec<i64> = q(&mut c, &["TOPK.QUERY", "tk", "a", "c"]);
    assert_eq!(q1, vec![1, 0]);
    assert_eq!(err(&mut c, &["TOPK.LIST", "tk", "WITHCOUNTS"]), "WITHCOUNT keyword expected");
    assert_eq!(err(&mut c, &["TOPK.QUERY", "nokey", "a"]), "TopK: key does not exist");
    let _: () = q(&mut c, &["CMS.INITBYDIM", "cms", "2000", "5"]);
    let r: Vec<i64> = q(&mut c, &["CMS.INCRBY", "cms", "foo", "10", "bar", "42"]);
    assert_eq!(r, vec![10, 42]);
    let _: () = q(&mut c, &["CMS.INITBYPROB", "cms2", "0.001", "0.01"]);
    let info: Vec<redis::Value> = q(&mut c, &["CMS.INFO", "cms2"]);
    let name = |s: &str| redis::Value::SimpleString(s.to_string());
    assert_eq!(info[..4], [name("width"), i(2000), name("depth"), i(7)]);
    assert_eq!(err(&mut c, &["CMS.MERGE", "cms2", "1", "cms"]), "CMS: width/depth is not equal");
    let _: () = q(&mut c, &["CMS.INITBYDIM", "sum", "2000", "5"]);
    let _: () = q(&mut c, &["CMS.MERGE", "sum", "2", "cms", "cms", "WEIGHTS", "1", "2"]);
    assert_eq!(q::<Vec<i64>>(&mut c, &["CMS.QUERY", "sum", "foo", "bar", "x"]), vec![30, 126, 0]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "cms"]), "CMSk-TYPE");
    assert_eq!(q::<String>(&mut c, &["TYPE", "tk"]), "TopK-TYPE");
}
