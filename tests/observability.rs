//! SLOWLOG, LATENCY, HEALTH and the HTTP port (/health, /ready, /metrics), through real clients.

mod common;

use common::*;
use redis::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// GET `path` on the HTTP port: (status, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP port");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out.get(9..12).and_then(|c| c.parse().ok()).expect("status line");
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn health_status(c: &mut redis::Connection) -> String {
    text(&field(&val(c, &["HEALTH"]), "status"))
}

fn component(c: &mut redis::Connection, name: &str) -> (String, String) {
    let v = val(c, &["HEALTH", name]);
    (text(&field(&v, "status")), text(&field(&v, "reason")))
}

fn entries(v: &Value) -> Vec<Vec<Value>> {
    match v {
        Value::Array(es) => es
            .iter()
            .map(|e| match e {
                Value::Array(f) => f.clone(),
                other => panic!("entry {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn args_of(entry: &[Value]) -> Vec<String> {
    match &entry[3] {
        Value::Array(a) => a.iter().map(text).collect(),
        other => panic!("args {other:?}"),
    }
}

#[test]
fn slowlog_logs_commands_with_redis_entry_shape() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"], OK);
    expect(&mut c, &["SLOWLOG", "RESET"], OK);
    expect(&mut c, &["CLIENT", "SETNAME", "probe"], OK);
    expect(&mut c, &["SET", "a", "b"], OK);
    let mut rpush = vec!["RPUSH", "l"];
    let nums: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    rpush.extend(nums.iter().map(String::as_str));
    let _: i64 = q(&mut c, &rpush);
    let big = "v".repeat(200);
    expect(&mut c, &["SET", "k", &big], OK);
    let _ = err(&mut c, &["AUTH", "nobody", "secret"]);
    let log = entries(&val(&mut c, &["SLOWLOG", "GET", "-1"]));
    // Newest first: AUTH, SET k, RPUSH, SET a, CLIENT SETNAME, SLOWLOG RESET.
    assert_eq!(log.len(), 6, "{log:?}");
    assert_eq!(args_of(&log[0]), ["AUTH", "(redacted)", "(redacted)"]);
    let set_k = args_of(&log[1]);
    assert_eq!(set_k[2], format!("{}... (72 more bytes)", "v".repeat(128)));
    let rp = args_of(&log[2]);
    assert_eq!(rp.len(), 32);
    assert_eq!(rp[31], "... (11 more arguments)");
    assert_eq!(args_of(&log[3]), ["SET", "a", "b"]);
    assert_eq!(text(&log[3][5]), "probe");
    assert!(text(&log[3][4]).starts_with("127.0.0.1:"));
    let ids: Vec<i64> = log.iter().map(|e| if let Value::Int(n) = e[0] { n } else { -1 }).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "ids count down: {ids:?}");
    assert_eq!(entries(&val(&mut c, &["SLOWLOG", "GET"])).len(), 7, "the GET -1 above was logged too");
    assert_eq!(entries(&val(&mut c, &["SLOWLOG", "GET", "2"])).len(), 2);
    expect_err(&mut c, &["SLOWLOG", "GET", "-2"], "ERR count should be greater than or equal to -1");
    expect_err(
        &mut c,
        &["SLOWLOG", "GET", "1", "2"],
        "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.",
    );

    // EXEC is not logged, its commands are; a script's commands are logged as from `?:0`.
    expect(&mut c, &["SLOWLOG", "RESET"], OK);
    let _: () = redis::pipe().atomic().cmd("SET").arg("t").arg("1").cmd("INCR").arg("t").query(&mut c).unwrap();
    let _: Value = q(&mut c, &["EVAL", "return redis.call('GET', 't')", "0"]);
    let log = entries(&val(&mut c, &["SLOWLOG", "GET", "-1"]));
    let names: Vec<String> = log.iter().map(|e| args_of(e)[0].to_ascii_lowercase()).collect();
    assert_eq!(names, ["eval", "get", "incr", "set", "multi", "slowlog"], "{log:?}");
    assert_eq!(text(&log[1][4]), "?:0");

    // slowlog-max-len trims, -1 turns logging off.
    expect(&mut c, &["CONFIG", "SET", "slowlog-max-len", "3"], OK);
    for _ in 0..5 {
        let _: Value = q(&mut c, &["PING"]);
    }
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 3);
    expect(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"], OK);
    expect(&mut c, &["SLOWLOG", "RESET"], OK);
    let _: Value = q(&mut c, &["PING"]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 0);
}

#[test]
fn slow_commands_pass_the_default_threshold_and_fast_ones_do_not() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    expect(&mut c, &["DEBUG", "SLEEP", "0.02"], OK);
    let log = entries(&val(&mut c, &["SLOWLOG", "GET"]));
    assert_eq!(log.len(), 1, "only DEBUG SLEEP is slower than 10 ms: {log:?}");
    assert_eq!(args_of(&log[0]), ["DEBUG", "SLEEP", "0.02"]);
    assert!(matches!(log[0][2], Value::Int(us) if us >= 20_000));
}

#[test]
fn latency_monitor_records_spikes_over_the_threshold() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["DEBUG", "SLEEP", "0.03"], OK);
    assert_eq!(val(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]), "threshold 0 records nothing");
    let doctor = text(&val(&mut c, &["LATENCY", "DOCTOR"]));
    assert!(doctor.contains("disabled"), "{doctor}");
    expect(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "10"], OK);
    expect(&mut c, &["DEBUG", "SLEEP", "0.03"], OK);
    let latest = entries(&val(&mut c, &["LATENCY", "LATEST"]));
    assert_eq!(latest.len(), 1, "{latest:?}");
    assert_eq!(text(&latest[0][0]), "command");
    assert!(matches!(latest[0][2], Value::Int(ms) if ms >= 30));
    let history = entries(&val(&mut c, &["LATENCY", "HISTORY", "command"]));
    assert_eq!(history.len(), 1);
    assert_eq!(val(&mut c, &["LATENCY", "HISTORY", "nosuch"]), Value::Array(vec![]));
    let graph = text(&val(&mut c, &["LATENCY", "GRAPH", "command"]));
    assert!(graph.starts_with("command - high "), "{graph}");
    expect_err(&mut c, &["LATENCY", "GRAPH", "nosuch"], "ERR No samples available for event 'nosuch'");
    let doctor = text(&val(&mut c, &["LATENCY", "DOCTOR"]));
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET", "command", "nosuch"]), 1);
    assert_eq!(val(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    expect_err(&mut c, &["LATENCY", "HISTORY"], &arity("latency|history"));
}

#[test]
fn latency_histogram_counts_calls_per_command() {
    let s = TestServer::start();
    let mut c = s.conn3();
    for i in 0..25 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: Value = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    let h = val(&mut c, &["LATENCY", "HISTOGRAM", "set", "config", "nosuch"]);
    let cmds = pairs(&h);
    let names: Vec<&str> = cmds.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["set", "config|get"]);
    let set = &cmds[0].1;
    assert_eq!(field(set, "calls"), Value::Int(25));
    let buckets = pairs(&field(set, "histogram_usec"));
    let last = buckets.last().map(|(_, v)| v.clone());
    assert_eq!(last, Some(Value::Int(25)), "cumulative counts end at the calls: {buckets:?}");
    // Bounds grow by powers of two from 1 us (Redis's log iteration: 1, 2, 4, ... 32, 65, 131 ...).
    let bounds: Vec<u64> = buckets.iter().map(|(b, _)| b.parse().expect("bound")).collect();
    assert!(bounds.windows(2).all(|w| w[1] >= 2 * w[0] - 1), "{bounds:?}");
}

#[test]
fn health_reports_every_component_and_follows_a_stall() {
    let http = free_port();
    // The test process's RSS holds every concurrent test's servers: fragmentation is not this test's subject.
    let s = TestServer::start_with(&[
        "--http-port",
        &http.to_string(),
        "--health-window",
        "1",
        "--health-fragmentation-warn-percent",
        "100000",
    ]);
    let mut c = s.conn();
    let report = val(&mut c, &["HEALTH"]);
    assert_eq!(text(&field(&report, "status")), "healthy", "{report:?}");
    let comps: Vec<String> = pairs(&field(&report, "components")).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        comps,
        ["memory", "eviction", "persistence", "replication", "event-loop", "clients", "expiry", "loading"]
    );
    let mem = val(&mut c, &["HEALTH", "memory"]);
    assert_eq!(text(&field(&mem, "status")), "ok");
    assert!(text(&field(&mem, "value")).contains("used "), "{mem:?}");
    let e = err(&mut c, &["HEALTH", "nosuch"]);
    assert!(e.starts_with("ERR unknown health component 'nosuch'"), "{e}");
    expect_err(&mut c, &["HEALTH", "HISTORY", "0"], "ERR minutes must be a positive integer");
    let (status, body) = http_get(http, "/ready");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["status"], "healthy");

    // A subscriber hears each change of status.
    let mut sub = s.client().get_connection().expect("connect");
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("__strata__:health").expect("subscribe");
    pubsub.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");

    // A command that holds a worker for 300 ms: over the 100 ms warning.
    expect(&mut c, &["DEBUG", "SLEEP", "0.3"], OK);
    let (st, reason) = component(&mut c, "event-loop");
    assert_eq!(st, "warn", "{reason}");
    assert!(reason.contains("stalled"), "{reason}");
    assert_eq!(health_status(&mut c), "degraded");
    let msg: String = pubsub.get_message().expect("a health message").get_payload().expect("payload");
    let m = json(&msg);
    assert_eq!(m["status"], "degraded", "{msg}");
    assert_eq!(m["previous"], "healthy", "{msg}");
    assert!(m["reasons"][0].as_str().unwrap_or("").starts_with("event-loop:"), "{msg}");

    // Over the failure threshold: unhealthy, and not ready.
    expect(&mut c, &["CONFIG", "SET", "health-latency-fail-ms", "200"], OK);
    assert_eq!(health_status(&mut c), "unhealthy");
    let (status, body) = http_get(http, "/ready");
    assert_eq!(status, 503, "{body}");
    let j = json(&body);
    assert_eq!(j["ready"], false);
    assert!(j["reasons"][0].as_str().unwrap_or("").starts_with("event-loop"), "{body}");
    let (status, body) = http_get(http, "/health");
    assert_eq!(status, 200, "liveness holds while unhealthy: {body}");

    // The stall leaves the windows: healthy again, and the history has every change.
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_status(&mut c) != "healthy" {
        assert!(Instant::now() < deadline, "still not healthy");
        std::thread::sleep(Duration::from_millis(200));
    }
    let history = entries(&val(&mut c, &["HEALTH", "HISTORY", "5"]));
    let steps: Vec<String> = history.iter().map(|t| text(&t[3])).collect();
    assert_eq!(steps, ["degraded", "unhealthy", "healthy"], "{history:?}");
    assert_eq!(http_get(http, "/ready").0, 200);
    assert_eq!(http_get(http, "/nosuch").0, 404);
}

#[test]
fn health_clients_judges_connections_against_maxclients() {
    let s = TestServer::start_with(&["--maxclients", "10"]);
    let mut c = s.conn();
    assert_eq!(component(&mut c, "clients").0, "ok");
    let _more: Vec<redis::Connection> = (0..8).map(|_| s.conn()).collect();
    let (st, reason) = component(&mut c, "clients");
    assert_eq!(st, "warn", "{reason}");
    assert!(reason.contains("9 of 10 connections"), "{reason}");
    expect(&mut c, &["CONFIG", "SET", "health-clients-fail-percent", "90"], OK);
    assert_eq!(component(&mut c, "clients").0, "fail");
}

#[test]
fn health_persistence_fails_while_a_failed_backup_refuses_writes() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(component(&mut c, "persistence").0, "ok");
    expect(&mut c, &["CONFIG", "SET", "backup-dir", "/proc/strata-no-such-dir"], OK);
    let e = err(&mut c, &["BACKUP", "CREATE"]);
    assert!(e.starts_with("ERR"), "{e}");
    let (st, reason) = component(&mut c, "persistence");
    assert_eq!(st, "fail", "{reason}");
    assert!(reason.contains("writes refused: MISCONF"), "{reason}");
    assert_eq!(health_status(&mut c), "unhealthy");
    expect(&mut c, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"], OK);
    let (st, reason) = component(&mut c, "persistence");
    assert_eq!(st, "warn", "{reason}");
    assert!(reason.contains("the last backup failed"), "{reason}");
}

/// A server process of its own, for what a shared test process would disturb: memory figures, loading.
struct Proc(Child, u16);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &std::path::Path, extra: &[&str]) -> Proc {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_strata-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--enable-debug-command", "local", "--dir"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn strata-server");
    Proc(child, port)
}

fn connect(port: u16) -> redis::Connection {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|cl| cl.get_connection_with_timeout(Duration::from_secs(5)));
        if let Ok(mut c) = c {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                return c;
            }
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `n` keys `prefix:i` of `size` bytes, pipelined.
fn fill(c: &mut redis::Connection, n: usize, prefix: &str, size: usize) {
    let value = "x".repeat(size);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("SET").arg(format!("{prefix}:{i}")).arg(&value).ignore();
        }
        let _: () = p.query(c).expect("fill");
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("strata-observe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn health_memory_and_eviction_follow_maxmemory() {
    let dir = temp_dir("memory");
    let p = spawn(&dir, &["--save", ""]);
    let mut c = connect(p.1);
    let used = |c: &mut redis::Connection| -> u64 {
        let info: String = q(c, &["INFO", "memory"]);
        info.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).expect("used")
    };
    let empty = used(&mut c);
    fill(&mut c, 20000, "k", 100);
    let full = used(&mut c);
    let limit = full * 100 / 93;
    expect(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()], OK);
    let (st, reason) = component(&mut c, "memory");
    assert_eq!(st, "warn", "{reason}");
    assert!(reason.contains("of maxmemory"), "{reason}");
    assert_eq!(health_status(&mut c), "degraded");
    // Under the usage, with noeviction: writes are refused with -OOM, and eviction fails.
    // A fifth of the data over: evicting about half the keys makes room (a removed key's table slot stays).
    let limit = full - (full - empty) / 5;
    expect(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()], OK);
    let e = err(&mut c, &["SET", "x", "y"]);
    assert!(e.starts_with("OOM"), "{e}");
    let (st, reason) = component(&mut c, "eviction");
    assert_eq!(st, "fail", "{reason}");
    assert!(reason.contains("refused with -OOM"), "{reason}");
    assert_eq!(component(&mut c, "memory").0, "fail");
    assert_eq!(health_status(&mut c), "unhealthy");
    // With an eviction policy, keys go instead, and the rate is reported.
    expect(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"], OK);
    expect(&mut c, &["CONFIG", "SET", "health-evictions-warn", "0"], OK);
    expect(&mut c, &["SET", "x", "y"], OK);
    let v = val(&mut c, &["HEALTH", "eviction"]);
    assert!(text(&field(&v, "value")).contains("evictions/s"), "{v:?}");
    drop(c);
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ready_is_503_while_the_snapshot_loads() {
    let dir = temp_dir("loading");
    {
        let p = spawn(&dir, &[]);
        let mut c = connect(p.1);
        fill(&mut c, 20_000, "key", 64);
        expect(&mut c, &["SAVE"], OK);
    }
    let http = free_port();
    // A paced load (at least 2 s) that the probe cannot miss however fast the machine.
    let _p = spawn(&dir, &["--http-port", &http.to_string(), "--key-load-delay", "100"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut saw_loading = false;
    loop {
        assert!(Instant::now() < deadline, "never ready");
        let Ok(s) = TcpStream::connect(("127.0.0.1", http)) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        drop(s);
        let (status, body) = http_get(http, "/ready");
        if status == 503 {
            let j = json(&body);
            assert_eq!(j["components"]["loading"]["status"], "fail", "{body}");
            assert!(j["reasons"][0].as_str().unwrap_or("").starts_with("loading:"), "{body}");
            assert_eq!(http_get(http, "/health").0, 200, "alive while loading");
            saw_loading = true;
        } else {
            assert_eq!(status, 200, "{body}");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(saw_loading, "the probe never saw the load");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every sample line of the text format: `name{labels} value`.
fn samples(text: &str) -> Vec<(String, String, f64)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {l}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n.to_string(), rest.trim_end_matches('}').to_string()),
                None => (series.to_string(), String::new()),
            };
            assert!(name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'), "bad name {name}");
            (name, labels, value)
        })
        .collect()
}

#[test]
fn metrics_expose_the_documented_names_with_live_values() {
    let http = free_port();
    let s =
        TestServer::start_with(&["--http-port", &http.to_string(), "--health-fragmentation-warn-percent", "100000"]);
    let mut c = s.conn();
    for i in 0..30 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: Option<String> = q(&mut c, &["GET", "k1"]);
    let _: Option<String> = q(&mut c, &["GET", "missing"]);
    let _ = err(&mut c, &["INCR", "k1"]);
    let (status, body) = http_get(http, "/metrics");
    assert_eq!(status, 200);
    let all = samples(&body);
    let get = |name: &str, labels: &str| -> f64 {
        all.iter()
            .find(|(n, l, _)| n == name && l == labels)
            .map(|s| s.2)
            .unwrap_or_else(|| panic!("no {name}{{{labels}}}"))
    };
    assert_eq!(get("strata_commands_total", "cmd=\"set\""), 30.0);
    assert_eq!(get("strata_command_failed_total", "cmd=\"incr\""), 1.0);
    assert_eq!(get("strata_keyspace_hits_total", ""), 1.0);
    assert_eq!(get("strata_keyspace_misses_total", ""), 1.0);
    assert_eq!(get("strata_db_keys", "db=\"db0\""), 30.0);
    assert_eq!(get("strata_errors_total", "code=\"ERR\""), 1.0);
    assert_eq!(get("strata_health_status", ""), 0.0);
    assert_eq!(get("strata_connected_clients", ""), 1.0);
    assert!(get("strata_memory_used_bytes", "") > 0.0);
    assert_eq!(get("strata_command_duration_seconds_count", "cmd=\"set\""), 30.0);
    assert_eq!(get("strata_command_duration_seconds_bucket", "cmd=\"set\",le=\"+Inf\""), 30.0);
    assert!(body.contains("# TYPE strata_commands_total counter"), "counters are typed");
    assert!(body.contains("# TYPE strata_command_duration_seconds histogram"));
    assert!(body.contains("# HELP strata_memory_used_bytes "), "metrics are described");
    // Every metric docs/OBSERVABILITY.md lists is exported (those with a value right after start).
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/OBSERVABILITY.md")).expect("doc");
    let names: std::collections::HashSet<&str> = all.iter().map(|s| s.0.as_str()).collect();
    let mut listed = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `strata_")) {
        let name = line.trim_start_matches("| `").split('`').next().unwrap_or("");
        let base = name.split('{').next().unwrap_or(name);
        let present =
            names.contains(base) || names.contains(format!("{base}_bucket").as_str()) || line.contains("(when ");
        assert!(present, "{base} is documented but not exported");
        listed += 1;
    }
    assert!(listed >= 40, "docs/OBSERVABILITY.md lists {listed} metrics");
}

#[test]
fn json_log_lines_are_json_objects() {
    let dir = temp_dir("jsonlog");
    let logfile = dir.join("strata.log");
    let p = spawn(&dir, &["--log-format", "json", "--logfile", logfile.to_str().expect("path"), "--save", ""]);
    let mut c = connect(p.1);
    expect(&mut c, &["SET", "a", "1"], OK);
    drop(c);
    drop(p);
    let text = std::fs::read_to_string(&logfile).expect("log written");
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty(), "nothing logged");
    for l in &lines {
        let j = json(l);
        assert!(j["timestamp"].is_string() && j["level"].is_string(), "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| json(l)["fields"]["message"].as_str().unwrap_or("").contains("ready to accept connections")),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
