//! EXP.*: experiments through the `redis` crate: lifecycle, assignment reasons, stickiness, tracking, results,
//! auto-stop, bounds, MULTI and Lua, and persistence.

mod common;

use common::*;
use redis::Value;
use std::time::Duration;

const SPEC: &str = r#"{"variations": ["control", "blue"], "weights": [0.5, 0.5],
    "metrics": [{"name": "signup", "type": "conversion"}, {"name": "revenue", "type": "revenue"}],
    "description": "button colour"}"#;

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Double(d) => *d,
        Value::Int(n) => *n as f64,
        other => text(other).parse().unwrap_or_else(|_| panic!("not a number: {other:?}")),
    }
}

fn assign(c: &mut redis::Connection, exp: &str, user: &str) -> (i64, String, String) {
    let v = val(c, &["EXP.ASSIGN", exp, user]);
    (int(&field(&v, "variationId")), text(&field(&v, "key")), text(&field(&v, "reason")))
}

#[test]
fn lifecycle_and_its_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "btn", SPEC], OK);
    expect_err(&mut c, &["EXP.CREATE", "btn", SPEC], "ERR experiment 'btn' already exists");
    let got = val(&mut c, &["EXP.GET", "btn"]);
    assert_eq!(text(&field(&got, "status")), "DRAFT");
    assert!(text(&field(&got, "spec")).contains("\"key\":\"btn\""), "the name is the default key");
    assert_eq!(val(&mut c, &["EXP.GET", "nosuch"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["TYPE", "btn"]), "experiment");
    expect_err(&mut c, &["EXP.PAUSE", "btn"], "ERR experiment 'btn' is DRAFT; cannot PAUSE");
    expect(&mut c, &["EXP.START", "btn"], OK);
    expect_err(&mut c, &["EXP.START", "btn"], "ERR experiment 'btn' is RUNNING; cannot START");
    expect_err(&mut c, &["EXP.ARCHIVE", "btn"], "ERR experiment 'btn' is RUNNING; cannot ARCHIVE");
    expect(&mut c, &["EXP.PAUSE", "btn"], OK);
    expect(&mut c, &["EXP.RESUME", "btn"], OK);
    expect(&mut c, &["EXP.COMPLETE", "btn"], OK);
    expect(&mut c, &["EXP.ARCHIVE", "btn"], OK);
    expect_err(&mut c, &["EXP.RESUME", "btn"], "ERR experiment 'btn' is ARCHIVED; cannot RESUME");
    expect_err(&mut c, &["EXP.START", "nosuch"], "ERR no such experiment 'nosuch'");

    // Starting needs two variations and weights summing to 1.
    expect(&mut c, &["EXP.CREATE", "one", r#"{"variations": [1]}"#], OK);
    expect_err(&mut c, &["EXP.START", "one"], "ERR experiment 'one' needs at least two variations to start");
    expect(&mut c, &["EXP.CREATE", "w", r#"{"variations": [1, 2], "weights": [0.5, 0.4]}"#], OK);
    expect_err(
        &mut c,
        &["EXP.START", "w"],
        "ERR experiment 'w' has weights summing to 0.9; they must sum to 1 (100%) to start",
    );

    // Spec errors.
    for (spec, e) in [
        ("nope", "ERR invalid experiment spec: not JSON"),
        ("[1]", "ERR invalid experiment spec: must be a JSON object"),
        ("{}", "ERR invalid experiment spec: 'variations' must be an array"),
        (r#"{"variations": [1, 2], "weights": [1]}"#, "ERR invalid experiment spec: 'weights' must have one"),
        (r#"{"variations": [1, 2], "coverage": 2}"#, "ERR invalid experiment spec: 'coverage' must be between 0 and 1"),
        (r#"{"variations": [1, 2], "hashVersion": 3}"#, "ERR invalid experiment spec: 'hashVersion' must be 1 or 2"),
        (
            r#"{"variations": [1, 2], "metrics": [{"name": "m", "type": "weird"}]}"#,
            "ERR invalid experiment spec: metric type 'weird'",
        ),
        (
            r#"{"variations": [1, 2], "metrics": [{"name": "m"}], "primaryMetric": "x"}"#,
            "ERR invalid experiment spec: primaryMetric 'x'",
        ),
    ] {
        let got = err(&mut c, &["EXP.CREATE", "bad", spec]);
        assert!(got.starts_with(e), "{spec}: {got}");
    }
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["EXP.START", "str"], WRONGTYPE);

    // LIST by status, DELETE.
    let all: Vec<String> = q(&mut c, &["EXP.LIST"]);
    assert_eq!(all, ["btn", "one", "w"]);
    let drafts: Vec<String> = q(&mut c, &["EXP.LIST", "STATUS", "draft"]);
    assert_eq!(drafts, ["one", "w"]);
    expect_err(
        &mut c,
        &["EXP.LIST", "STATUS", "x"],
        "ERR STATUS must be one of DRAFT, RUNNING, PAUSED, COMPLETED, ARCHIVED",
    );
    assert_eq!(q::<i64>(&mut c, &["EXP.DELETE", "one"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXP.DELETE", "one"]), 0);
    expect_err(&mut c, &["EXP.DELETE", "str"], WRONGTYPE);
}

#[test]
fn updates_follow_the_lifecycle() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "e", r#"{"variations": [0, 1]}"#], OK);
    expect(&mut c, &["EXP.UPDATE", "e", r#"{"variations": [0, 1, 2]}"#], OK);
    expect(&mut c, &["EXP.START", "e"], OK);
    expect_err(
        &mut c,
        &["EXP.UPDATE", "e", r#"{"variations": [0, 1]}"#],
        "ERR experiment 'e' is RUNNING; cannot change 'variations'",
    );
    expect_err(
        &mut c,
        &["EXP.UPDATE", "e", r#"{"variations": [0, 1, 2], "seed": "x"}"#],
        "ERR experiment 'e' is RUNNING; cannot change 'seed'",
    );
    expect(&mut c, &["EXP.UPDATE", "e", r#"{"variations": [0, 1, 2], "weights": [0.8, 0.1, 0.1]}"#], OK);
    expect(&mut c, &["EXP.COMPLETE", "e"], OK);
    expect_err(
        &mut c,
        &["EXP.UPDATE", "e", r#"{"variations": [0, 1, 2]}"#],
        "ERR experiment 'e' is COMPLETED; only 'description' and 'hypothesis' can change",
    );
    expect(
        &mut c,
        &["EXP.UPDATE", "e", r#"{"variations": [0, 1, 2], "weights": [0.8, 0.1, 0.1], "description": "done"}"#],
        OK,
    );
}

#[test]
fn assignment_reasons_and_stickiness() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "btn", SPEC], OK);
    assert_eq!(assign(&mut c, "btn", "u1"), (-1, "0".to_string(), "not-running".to_string()));
    expect(&mut c, &["EXP.START", "btn"], OK);
    let v = val(&mut c, &["EXP.ASSIGN", "btn", "u1"]);
    assert_eq!(int(&field(&v, "inExperiment")), 1);
    let first = int(&field(&v, "variationId"));
    assert_eq!(text(&field(&v, "reason")), "assigned");
    assert_eq!(text(&field(&v, "value")), if first == 0 { "\"control\"" } else { "\"blue\"" });
    let h: f64 = text(&field(&v, "hashValue")).parse().expect("bucket");
    assert!((0.0..1.0).contains(&h));
    assert_eq!(assign(&mut c, "btn", "u1").2, "sticky");

    // New weights move new users, not enrolled ones.
    let users: Vec<String> = (0..200).map(|i| format!("user-{i}")).collect();
    let before: Vec<i64> = users.iter().map(|u| assign(&mut c, "btn", u).0).collect();
    let spec = SPEC.replace("[0.5, 0.5]", "[0.01, 0.99]");
    expect(&mut c, &["EXP.UPDATE", "btn", &spec], OK);
    let after: Vec<i64> = users.iter().map(|u| assign(&mut c, "btn", u).0).collect();
    assert_eq!(before, after, "enrolled users keep their variation");
    let fresh: Vec<i64> = (0..200).map(|i| assign(&mut c, "btn", &format!("new-{i}")).0).collect();
    assert!(fresh.iter().filter(|&&v| v == 1).count() > 180, "new users follow the new weights: {fresh:?}");

    // ASSIGNMENTS, MASSIGN.
    let a = val(&mut c, &["EXP.ASSIGNMENTS", "btn", "u1"]);
    assert_eq!(int(&field(&a, "variationId")), first);
    assert_eq!(val(&mut c, &["EXP.ASSIGNMENTS", "btn", "never"]), Value::Nil);
    let many = val(&mut c, &["EXP.MASSIGN", "btn", "u1", "user-0", "m-1"]);
    let Value::Array(items) = many else { panic!("{many:?}") };
    assert_eq!(items.len(), 3);
    assert_eq!(int(&field(&items[0], "variationId")), first);

    // Paused: enrolled users keep their variation, nobody new enrolls.
    expect(&mut c, &["EXP.PAUSE", "btn"], OK);
    assert_eq!(assign(&mut c, "btn", "u1").2, "sticky");
    assert_eq!(assign(&mut c, "btn", "late").2, "not-running");
    assert_eq!(val(&mut c, &["EXP.ASSIGNMENTS", "btn", "late"]), Value::Nil);
}

#[test]
fn targeting_coverage_and_namespaces() {
    let s = TestServer::start();
    let mut c = s.conn();
    let spec = r#"{"variations": [0, 1], "condition": {"country": {"$in": ["US", "CA"]}, "age": {"$gte": 18}}}"#;
    expect(&mut c, &["EXP.CREATE", "t", spec], OK);
    expect(&mut c, &["EXP.START", "t"], OK);
    let r = |c: &mut redis::Connection, attrs: &str| {
        let v = val(c, &["EXP.ASSIGN", "t", "u1", "ATTRS", attrs]);
        text(&field(&v, "reason"))
    };
    assert_eq!(r(&mut c, r#"{"country": "FR", "age": 30}"#), "not-targeted");
    assert_eq!(r(&mut c, r#"{"country": "US", "age": 12}"#), "not-targeted");
    assert_eq!(r(&mut c, r#"{"country": "US", "age": 30}"#), "assigned");
    expect_err(&mut c, &["EXP.ASSIGN", "t", "u2", "ATTRS", "[1]"], "ERR ATTRS must be a JSON object");
    expect_err(&mut c, &["EXP.ASSIGN", "t", "u2", "FOO", "{}"], "ERR syntax error");

    expect(&mut c, &["EXP.CREATE", "cov", r#"{"variations": [0, 1], "coverage": 0.0}"#], OK);
    expect(&mut c, &["EXP.START", "cov"], OK);
    assert_eq!(assign(&mut c, "cov", "u1").2, "coverage");

    expect(&mut c, &["EXP.CREATE", "ns", r#"{"variations": [0, 1], "namespace": ["pricing", 0, 0.0001]}"#], OK);
    expect(&mut c, &["EXP.START", "ns"], OK);
    let reasons: Vec<String> = (0..50).map(|i| assign(&mut c, "ns", &format!("u{i}")).2).collect();
    assert!(reasons.iter().all(|r| r == "namespace"), "{reasons:?}");
}

#[test]
fn tracking_counts_enrolled_users_once_per_conversion() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "btn", SPEC], OK);
    expect(&mut c, &["EXP.START", "btn"], OK);
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "stranger", "signup", "1"]), 0, "not enrolled");
    let (v, _, _) = assign(&mut c, "btn", "u1");
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "u1", "signup", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "u1", "signup", "1"]), 0, "a conversion counts once");
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "u1", "revenue", "9.5"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "u1", "revenue", "0.5"]), 1);
    expect_err(&mut c, &["EXP.TRACK", "btn", "u1", "clicks", "1"], "ERR experiment 'btn' has no metric 'clicks'");
    expect_err(&mut c, &["EXP.TRACK", "btn", "u1", "revenue", "abc"], "ERR value is not a valid float");
    let res = val(&mut c, &["EXP.RESULTS", "btn"]);
    let metrics = field(&res, "metrics");
    let revenue = field(&field(&metrics, "revenue"), "variations");
    let Value::Array(rows) = revenue else { panic!("{revenue:?}") };
    let row = &rows[v as usize];
    assert_eq!(int(&field(row, "users")), 1);
    assert_eq!(float(&field(row, "sum")), 10.0);
    let signup = field(&field(&metrics, "signup"), "variations");
    let Value::Array(rows) = signup else { panic!() };
    assert_eq!(float(&field(&rows[v as usize], "sum")), 1.0);
    assert_eq!(int(&field(&rows[v as usize], "active")), 1);
    expect_err(&mut c, &["EXP.RESULTS", "btn", "ALPHA", "2"], "ERR ALPHA must be between 0 and 1");
    expect(&mut c, &["EXP.COMPLETE", "btn"], OK);
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "btn", "u1", "revenue", "1"]), 0, "not running");
}

#[test]
fn results_compare_each_variation_with_the_control() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["EXP.CREATE", "e", SPEC], OK);
    expect(&mut c, &["EXP.START", "e"], OK);
    let mut p = redis::pipe();
    for i in 0..400 {
        p.cmd("EXP.ASSIGN").arg("e").arg(format!("u{i}")).ignore();
    }
    let _: () = p.query(&mut c).expect("assign");
    let mut p = redis::pipe();
    for i in 0..400 {
        // Variation 1 converts more often: every user whose assignment is 1 and every third of the others.
        p.cmd("EXP.ASSIGNMENTS").arg("e").arg(format!("u{i}"));
    }
    let got: Vec<Value> = p.query(&mut c).expect("assignments");
    let mut p = redis::pipe();
    for (i, a) in got.iter().enumerate() {
        let v = int(&field(a, "variationId"));
        if v == 1 || i % 3 == 0 {
            p.cmd("EXP.TRACK").arg("e").arg(format!("u{i}")).arg("signup").arg(1).ignore();
        }
    }
    let _: () = p.query(&mut c).expect("track");
    let res = val(&mut c, &["EXP.RESULTS", "e"]);
    assert_eq!(text(&field(&res, "status")), "RUNNING");
    let srm = field(&res, "srm");
    assert!(float(&field(&srm, "pValue")) > 0.001, "50/50 by hash: {srm:?}");
    let rows = field(&field(&field(&res, "metrics"), "signup"), "variations");
    let Value::Array(rows) = rows else { panic!() };
    assert_eq!(rows.len(), 2);
    assert!(float(&field(&rows[1], "mean")) == 1.0);
    assert!(float(&field(&rows[1], "lift")) > 1.0);
    assert!(float(&field(&rows[1], "pValue")) < 1e-6);
    assert_eq!(field(&rows[1], "significant"), Value::Int(1));
    assert!(float(&field(&rows[1], "chanceToBeatControl")) > 0.99);
}

#[test]
fn auto_stop_completes_and_publishes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let spec = r#"{"variations": [0, 1], "metrics": [{"name": "buy"}], "autoStop": true, "minSampleSize": 50}"#;
    expect(&mut c, &["EXP.CREATE", "auto", spec], OK);
    expect(&mut c, &["EXP.START", "auto"], OK);
    let mut sub = s.conn();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__strata__:experiments").expect("subscribe");
    ps.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut i = 0;
    loop {
        let u = format!("u{i}");
        let (v, _, _) = assign(&mut c, "auto", &u);
        // The treatment converts half its users, the control a tenth.
        if (v == 1 && i % 2 == 0) || i % 10 == 0 {
            let _: i64 = q(&mut c, &["EXP.TRACK", "auto", &u, "buy", "1"]);
        }
        let st = text(&field(&val(&mut c, &["EXP.GET", "auto"]), "status"));
        if st == "COMPLETED" {
            break;
        }
        i += 1;
        assert!(i < 5000, "never stopped");
    }
    let got = val(&mut c, &["EXP.GET", "auto"]);
    assert!(text(&field(&got, "stopReason")).contains("primary metric 'buy' conclusive"), "{got:?}");
    let msg: String = ps.get_message().expect("message").get_payload().expect("payload");
    let j: serde_json::Value = serde_json::from_str(&msg).expect("json");
    assert_eq!(j["event"], "auto-stopped", "{msg}");
    assert_eq!(j["experiment"], "auto");
}

#[test]
fn enrolment_is_bounded_by_experiment_max_users() {
    let s = TestServer::start_with(&["--experiment-max-users", "3"]);
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "b", SPEC], OK);
    expect(&mut c, &["EXP.START", "b"], OK);
    for i in 0..5 {
        assert_eq!(assign(&mut c, "b", &format!("u{i}")).2, "assigned");
    }
    assert_eq!(assign(&mut c, "b", "u0").2, "sticky");
    assert_eq!(assign(&mut c, "b", "u4").2, "assigned", "beyond the bound: by hash, not enrolled");
    assert_eq!(q::<i64>(&mut c, &["EXP.TRACK", "b", "u4", "signup", "1"]), 0);
    let got = val(&mut c, &["EXP.GET", "b"]);
    assert_eq!(int(&field(&got, "unenrolled")), 3);
}

#[test]
fn commands_work_in_multi_and_lua() {
    let s = TestServer::start();
    let mut c = s.conn();
    let (r,): (Value,) = redis::pipe()
        .atomic()
        .cmd("EXP.CREATE")
        .arg("m")
        .arg(SPEC)
        .ignore()
        .cmd("EXP.START")
        .arg("m")
        .ignore()
        .cmd("EXP.ASSIGN")
        .arg("m")
        .arg("u1")
        .query(&mut c)
        .expect("multi");
    assert_eq!(text(&field(&r, "reason")), "assigned");
    let lua = "local a = redis.call('EXP.ASSIGN', KEYS[1], ARGV[1]) \
               redis.call('EXP.TRACK', KEYS[1], ARGV[1], 'signup', 1) return a[12]";
    let reason: String = q(&mut c, &["EVAL", lua, "1", "m", "u2"]);
    assert_eq!(reason, "assigned");
}

#[test]
fn experiments_survive_a_snapshot_and_a_digest_check() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["EXP.CREATE", "p", SPEC], OK);
    expect(&mut c, &["EXP.START", "p"], OK);
    for i in 0..50 {
        let u = format!("u{i}");
        assign(&mut c, "p", &u);
        let _: i64 = q(&mut c, &["EXP.TRACK", "p", &u, "revenue", &format!("{}", i % 7)]);
    }
    let before = val(&mut c, &["EXP.RESULTS", "p"]);
    let dump: Vec<String> = q(&mut c, &["DEBUG", "DIGEST-VALUE", "p"]);
    assert!(!dump.is_empty());
    // A copy holds the same state: every field and the assignment table are part of the value.
    let _: i64 = q(&mut c, &["COPY", "p", "p2"]);
    let copy = val(&mut c, &["EXP.RESULTS", "p2"]);
    assert_eq!(field(&before, "metrics"), field(&copy, "metrics"));
}
