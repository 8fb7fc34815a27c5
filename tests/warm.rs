//! Predictive warming through a real client: keys read together are predicted when they go missing, compressed
//! keys are decompressed ahead of use (by WARM.HINT, WARM.PREDICT and the cron), precision is counted in INFO,
//! and the commands work from MULTI and Lua.

mod common;
use common::*;
use std::time::Duration;

fn info_num(c: &mut redis::Connection, section: &str, name: &str) -> f64 {
    let info: String = q(c, &["INFO", section]);
    let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name}"));
    line[name.len() + 1..].trim().parse().expect("number")
}

fn get(c: &mut redis::Connection, key: &str) -> Option<String> {
    q(c, &["GET", key])
}

fn doc(i: usize) -> String {
    format!("{{\"id\":{i},\"name\":\"user {i}\",\"bio\":\"{}\"}}", "lorem ipsum dolor sit amet ".repeat(20))
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["OBJECT", "ENCODING", key])
}

#[test]
fn keys_read_together_are_predicted_when_missing_and_precision_counts_reads() {
    let s = TestServer::start_with(&["--warm-sample", "1"]);
    let mut c = s.conn();
    for n in 0..50 {
        for part in ["user", "profile", "settings"] {
            let _: () = q(&mut c, &["SET", &format!("{part}:{n}"), "x"]);
        }
    }
    for n in 0..50 {
        for part in ["user", "profile", "settings"] {
            assert!(get(&mut c, &format!("{part}:{n}")).is_some());
        }
    }
    // Nothing is missing, expiring or compressed: nothing to predict.
    expect(&mut c, &["WARM.PREDICT"], arr(vec![]));
    // Two keys of one group go (evicted, say); reading the group's first key predicts them, best first.
    let _: () = q(&mut c, &["DEL", "profile:7", "settings:7"]);
    assert!(get(&mut c, "user:7").is_some());
    expect(&mut c, &["WARM.PREDICT", "COUNT", "1", "WITHREASONS"], arr(vec![arr(vec![b("profile:7"), b("missing")])]));
    // The application reads it anyway (a miss, so it is wanted and still missing): its own successor joins it.
    assert!(get(&mut c, "profile:7").is_none());
    expect(
        &mut c,
        &["WARM.PREDICT", "COUNT", "5", "WITHREASONS"],
        arr(vec![arr(vec![b("profile:7"), b("missing")]), arr(vec![b("settings:7"), b("missing")])]),
    );
    // The first prediction of profile:7 was resolved by that read (a request within the window is what counts),
    // and both are predicted again.
    assert_eq!(info_num(&mut c, "stats", "warm_predictions"), 3.0);
    assert_eq!(info_num(&mut c, "stats", "warm_prediction_hits"), 1.0);
    assert_eq!(info_num(&mut c, "stats", "warm_predictions_pending"), 2.0);
    // The loader fills them and the application reads one: another precise prediction.
    let _: () = q(&mut c, &["SET", "profile:7", "x"]);
    assert!(get(&mut c, "profile:7").is_some());
    assert_eq!(info_num(&mut c, "stats", "warm_prediction_hits"), 2.0);
    assert_eq!(info_num(&mut c, "stats", "warm_predictions_pending"), 1.0);
    assert_eq!(info_num(&mut c, "stats", "warm_prediction_precision"), 1.0);
    // An expiring successor is predicted as such.
    let _: () = q(&mut c, &["PEXPIRE", "profile:8", "500"]);
    assert!(get(&mut c, "user:8").is_some());
    expect(&mut c, &["WARM.PREDICT", "COUNT", "1", "WITHREASONS"], arr(vec![arr(vec![b("profile:8"), b("expiring")])]));
    expect(&mut c, &["WARM.PREDICT", "COUNT", "1"], arr(vec![b("profile:8")]));
    // Another database has its own keys.
    let _: () = q(&mut c, &["SELECT", "1"]);
    expect(&mut c, &["WARM.PREDICT"], arr(vec![]));
}

#[test]
fn errors_and_the_switch() {
    let s = TestServer::start_with(&["--warm-sample", "1"]);
    let mut c = s.conn();
    expect_err(&mut c, &["WARM.PREDICT", "COUNT", "0"], "ERR COUNT must be positive");
    expect_err(&mut c, &["WARM.PREDICT", "COUNT", "x"], "ERR value is not an integer or out of range");
    expect_err(&mut c, &["WARM.PREDICT", "COUNT"], "ERR syntax error");
    expect_err(&mut c, &["WARM.PREDICT", "NOPE"], "ERR syntax error");
    expect_err(&mut c, &["WARM.HINT"], &arity("warm.hint"));
    let _: () = q(&mut c, &["SET", "k", "v"]);
    expect(&mut c, &["WARM.HINT", "k", "missing"], i(1));
    assert_eq!(info_num(&mut c, "stats", "warm_hints"), 2.0);
    assert_eq!(info_num(&mut c, "memory", "warm_hinted_keys"), 2.0);
    let _: () = q(&mut c, &["CONFIG", "SET", "warm-sample", "0"]);
    expect_err(&mut c, &["WARM.PREDICT"], "ERR predictive warming is off (warm-sample 0)");
    expect_err(&mut c, &["WARM.HINT", "k"], "ERR predictive warming is off (warm-sample 0)");
    assert_eq!(info_num(&mut c, "memory", "warm_hinted_keys"), 0.0, "turning it off forgets the model");
    let _: () = q(&mut c, &["CONFIG", "SET", "warm-sample", "1"]);
    expect(&mut c, &["WARM.HINT", "k"], i(1));
}

/// Waits until the cold tier compressed all `n` documents, then makes reads count as warm again, so a value
/// decompressed stays decompressed.
fn compress_all(c: &mut redis::Connection, n: usize) {
    let _: () = q(c, &["CONFIG", "SET", "compression-cold-seconds", "0"]);
    for _ in 0..200 {
        if info_num(c, "memory", "compressed_keys") as usize >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_num(c, "memory", "compressed_keys") as usize, n, "the cold cycle compressed every document");
    let _: () = q(c, &["CONFIG", "SET", "compression-cold-seconds", "3600"]);
}

#[test]
fn hinted_and_predicted_compressed_keys_are_decompressed_ahead_of_use() {
    let s = TestServer::start_with(&["--compression-min-size", "64", "--warm-window-ms", "300", "--warm-sample", "1"]);
    let mut c = s.conn();
    // Teach the pairs doc:i -> doc:i+100 while everything is raw, then let the reads age out of the window, so
    // that only what is read from now on leads predictions.
    for i in 0..200 {
        let _: () = q(&mut c, &["SET", &format!("doc:{i}"), &doc(i)]);
    }
    for i in 0..100 {
        assert!(get(&mut c, &format!("doc:{i}")).is_some());
        assert!(get(&mut c, &format!("doc:{}", i + 100)).is_some());
    }
    std::thread::sleep(Duration::from_millis(400));
    compress_all(&mut c, 200);
    assert_eq!(encoding(&mut c, "doc:150"), "lz4");
    // WARM.HINT decompresses at once.
    expect(&mut c, &["WARM.HINT", "doc:150", "nothing-here"], i(1));
    assert_eq!(encoding(&mut c, "doc:150"), "raw");
    assert_eq!(get(&mut c, "doc:150"), Some(doc(150)), "the value is unchanged");
    // Reading doc:3 makes doc:103 the best prediction: the cron decompresses it before anyone asks.
    assert!(get(&mut c, "doc:3").is_some());
    let mut warmed = false;
    for _ in 0..100 {
        if encoding(&mut c, "doc:103") == "raw" {
            warmed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(warmed, "the cron decompressed the predicted key");
    assert!(info_num(&mut c, "stats", "warm_prewarmed_keys") >= 2.0);
    assert_eq!(get(&mut c, "doc:103"), Some(doc(103)));
    let resolved =
        info_num(&mut c, "stats", "warm_prediction_hits") + info_num(&mut c, "stats", "warm_prediction_misses");
    assert!(resolved >= 1.0, "reading the prewarmed key resolved its prediction");
    // WARM.PREDICT decompresses what it returns as compressed.
    assert!(get(&mut c, "doc:5").is_some());
    let got = val(&mut c, &["WARM.PREDICT", "WITHREASONS"]);
    let redis::Value::Array(items) = &got else { panic!("{got:?}") };
    for item in items {
        let redis::Value::Array(pair) = item else { panic!("{item:?}") };
        let key = text(&pair[0]);
        if key == "nothing-here" {
            assert_eq!(text(&pair[1]), "missing", "hinted a moment ago");
            continue;
        }
        assert_eq!(text(&pair[1]), "compressed", "{got:?}");
        assert_eq!(encoding(&mut c, &key), "raw", "{key}");
    }
    assert_eq!(encoding(&mut c, "doc:105"), "raw", "predicted by WARM.PREDICT or the cron, whichever came first");
    // Never read lately, nor the successor of a key read lately: still compressed.
    assert_eq!(encoding(&mut c, "doc:199"), "lz4");
    let precision = info_num(&mut c, "stats", "warm_prediction_precision");
    assert!((0.0..=1.0).contains(&precision));
}

#[test]
fn from_multi_and_lua() {
    let s = TestServer::start_with(&["--warm-sample", "1"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let _: () = q(&mut c, &["SET", "b", "1"]);
    assert!(get(&mut c, "a").is_some());
    assert!(get(&mut c, "b").is_some());
    let _: () = q(&mut c, &["DEL", "b"]);
    assert!(get(&mut c, "a").is_some());
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["WARM.HINT", "a"]);
    let _: () = q(&mut c, &["WARM.PREDICT"]);
    expect(&mut c, &["EXEC"], arr(vec![i(1), arr(vec![b("b")])]));
    expect(&mut c, &["EVAL", "return redis.call('WARM.PREDICT', 'COUNT', '1')", "0"], arr(vec![b("b")]));
    expect(&mut c, &["EVAL", "return redis.call('WARM.HINT', KEYS[1])", "1", "a"], i(1));
}
