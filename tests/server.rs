//! Server commands: INFO, CONFIG, TIME, DEBUG, LASTSAVE, COMMAND, error texts, SHUTDOWN.

mod common;
use common::*;
use redis::{ConnectionLike, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Per-command statistics live in the process-wide command table, shared by every server this test binary
/// starts; tests that read them or reset them take this lock.
static COMMAND_STATS: Mutex<()> = Mutex::new(());

fn stats_lock() -> MutexGuard<'static, ()> {
    COMMAND_STATS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds a command from string arguments.
fn build(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command and returns the reply as sent, errors nested in arrays included.
fn reply(c: &mut redis::Connection, args: &[&str]) -> Value {
    c.req_command(&build(args)).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) | Value::Set(a) => a.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

/// INFO (with sections) parsed into `field -> value`, plus the section titles in order.
fn info(c: &mut redis::Connection, sections: &[&str]) -> (HashMap<String, String>, Vec<String>) {
    let mut args = vec!["INFO"];
    args.extend_from_slice(sections);
    let body: String = q(c, &args);
    let mut fields = HashMap::new();
    let mut titles = Vec::new();
    for line in body.split("\r\n") {
        if let Some(t) = line.strip_prefix("# ") {
            titles.push(t.to_string());
        } else if let Some((k, v)) = line.split_once(':') {
            fields.insert(k.to_string(), v.to_string());
        } else {
            assert!(line.is_empty(), "INFO line is neither a title nor key:value: {line:?}");
        }
    }
    (fields, titles)
}

fn info_int(c: &mut redis::Connection, section: &str, field: &str) -> i64 {
    let (f, _) = info(c, &[section]);
    f.get(field).unwrap_or_else(|| panic!("INFO {section} has no {field}")).parse().expect("integer field")
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A server started from a full `Config` (for a config file as the first argument).
struct FileServer {
    port: u16,
    srv: Arc<strata::engine::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(config: strata::Config) -> FileServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            rt.block_on(async move {
                let handle = strata::start(config).await.expect("start");
                tx.send((handle.port(), handle.srv.clone())).expect("send");
                handle.wait().await;
            });
        });
        let (port, srv) = rx.recv().expect("server started");
        FileServer { port, srv, thread: Some(thread) }
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("client")
            .get_connection()
            .expect("connect")
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.srv.request_shutdown(Default::default());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------- INFO

#[test]
fn info_default_sections_and_fields() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _other = s.conn();
    q::<String>(&mut c, &["SET", "a", "1"]);
    q::<String>(&mut c, &["SET", "b", "2", "EX", "100"]);
    let (f, titles) = info(&mut c, &[]);
    assert_eq!(
        titles,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    assert_eq!(f["redis_version"], "7.0.15");
    assert_eq!(f["redis_mode"], "standalone");
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert_eq!(f["connected_clients"], "2");
    assert!(f["used_memory"].parse::<u64>().expect("used_memory") > 0);
    assert!(f.contains_key("used_memory_human"));
    assert!(f.contains_key("maxmemory_policy"));
    assert!(f.contains_key("keyspace_hits") && f.contains_key("keyspace_misses"));
    assert!(f.contains_key("total_commands_processed"));
    assert!(f.contains_key("total_connections_received"));
    assert_eq!(f["role"], "master");
    assert_eq!(f["cluster_enabled"], "0");
    let db0 = &f["db0"];
    assert!(db0.starts_with("keys=2,expires=1,avg_ttl="), "{db0}");
    assert!(!f.contains_key("db1"), "empty databases are not listed");
    assert!(!titles.iter().any(|t| t == "Commandstats"), "commandstats is not a default section");
    // RESP3: a verbatim string.
    let mut c3 = s.conn3();
    match reply(&mut c3, &["INFO", "server"]) {
        Value::VerbatimString { text, .. } => assert!(text.starts_with("# Server\r\n"), "{text:?}"),
        other => panic!("RESP3 INFO should be verbatim, got {other:?}"),
    }
}

#[test]
fn info_section_selection() {
    let s = TestServer::start();
    let mut c = s.conn();
    let (f, titles) = info(&mut c, &["server"]);
    assert_eq!(titles, ["Server"]);
    assert!(f.contains_key("redis_version") && !f.contains_key("used_memory"));
    let (_, titles) = info(&mut c, &["SERVER", "clients"]);
    assert_eq!(titles, ["Server", "Clients"]);
    assert_eq!(q::<String>(&mut c, &["INFO", "nosuchsection"]), "");
    let (_, titles) = info(&mut c, &["all"]);
    assert!(titles.iter().any(|t| t == "Commandstats") && titles.iter().any(|t| t == "Keyspace"), "{titles:?}");
    let (_, titles) = info(&mut c, &["everything"]);
    assert!(titles.iter().any(|t| t == "Commandstats"), "{titles:?}");
    let (_, titles) = info(&mut c, &["default"]);
    assert_eq!(titles.len(), 11);
}

/// Redis's `LOOKUP_NOTOUCH` reads count in keyspace_hits/misses too (figures taken from redis-server 7.0 for the
/// same commands); MEMORY USAGE, and writes that look their key up for writing (SETNX, INCRBYFLOAT, LPUSHX,
/// SMOVE, HINCRBY, ZADD), do not.
#[test]
fn lookups_that_do_not_touch_still_count_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<String>(&mut c, &["SET", "k", "v"]);
    q::<String>(&mut c, &["CONFIG", "RESETSTAT"]);
    for cmd in [
        "EXISTS k nokey",
        "TYPE nokey",
        "TTL k",
        "PTTL nokey",
        "TOUCH k nokey",
        "OBJECT ENCODING k",
        "OBJECT FREQ nokey",
        "COPY nokey dst",
        "COPY k dst",
        "MEMORY USAGE nokey",
        "SETNX k v",
        "INCRBYFLOAT f 1",
        "LPUSHX l x",
        "SMOVE s s2 x",
        "HINCRBY h f 1",
        "ZADD z 1 m",
    ] {
        let words: Vec<&str> = cmd.split(' ').collect();
        let reply = redis::cmd(words[0]).arg(&words[1..]).query::<redis::Value>(&mut c);
        assert!(reply.is_ok(), "{cmd}: {reply:?}");
    }
    assert_eq!(info_int(&mut c, "stats", "keyspace_hits"), 5);
    assert_eq!(info_int(&mut c, "stats", "keyspace_misses"), 6);
}

#[test]
fn info_keyspace_hits_and_misses() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<String>(&mut c, &["SET", "k", "v"]);
    let hits = info_int(&mut c, "stats", "keyspace_hits");
    let misses = info_int(&mut c, "stats", "keyspace_misses");
    q::<String>(&mut c, &["GET", "k"]);
    q::<String>(&mut c, &["GET", "k"]);
    q::<Option<String>>(&mut c, &["GET", "nokey"]);
    assert_eq!(info_int(&mut c, "stats", "keyspace_hits"), hits + 2);
    assert_eq!(info_int(&mut c, "stats", "keyspace_misses"), misses + 1);
    let before = info_int(&mut c, "stats", "total_commands_processed");
    q::<String>(&mut c, &["PING"]);
    // A command is counted once it has run: the first INFO renders before counting itself.
    let after = info_int(&mut c, "stats", "total_commands_processed");
    assert_eq!(after, before + 2, "PING and the first INFO");
}

#[test]
fn info_commandstats() {
    let _guard = stats_lock();
    let s = TestServer::start();
    let mut c = s.conn();
    q::<String>(&mut c, &["SET", "k", "v"]);
    q::<String>(&mut c, &["GET", "k"]);
    let (f, titles) = info(&mut c, &["commandstats"]);
    assert_eq!(titles, ["Commandstats"]);
    let get = f.get("cmdstat_get").unwrap_or_else(|| panic!("no cmdstat_get in {f:?}"));
    let parts: Vec<(&str, &str)> = get.split(',').map(|kv| kv.split_once('=').expect("k=v")).collect();
    let names: Vec<&str> = parts.iter().map(|(k, _)| *k).collect();
    assert_eq!(names, ["calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"]);
    assert!(parts[0].1.parse::<u64>().expect("calls") >= 1);
    // Subcommands are reported under their full name.
    q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]);
    let (f, _) = info(&mut c, &["commandstats"]);
    assert!(f.contains_key("cmdstat_config|get"), "{f:?}");
    // Rejected calls (arity) and failed calls (runtime error) are counted apart.
    let count = |f: &HashMap<String, String>, cmd: &str, field: &str| -> u64 {
        f.get(&format!("cmdstat_{cmd}"))
            .and_then(|v| {
                v.split(',').find_map(|kv| kv.strip_prefix(&format!("{field}="))).map(|n| n.parse().expect("n"))
            })
            .unwrap_or(0)
    };
    let (f0, _) = info(&mut c, &["commandstats"]);
    err(&mut c, &["INCR"]);
    q::<String>(&mut c, &["SET", "s", "abc"]);
    err(&mut c, &["INCR", "s"]);
    let (f1, _) = info(&mut c, &["commandstats"]);
    assert!(count(&f1, "incr", "rejected_calls") > count(&f0, "incr", "rejected_calls"));
    assert!(count(&f1, "incr", "failed_calls") > count(&f0, "incr", "failed_calls"));
}

#[test]
fn info_errorstats_counts_by_code() {
    let s = TestServer::start();
    let mut c = s.conn();
    let errs = |c: &mut redis::Connection| info(c, &["errorstats"]).0;
    let base = errs(&mut c).get("errorstat_ERR").cloned();
    assert_eq!(base, None, "a fresh server has no errors");
    err(&mut c, &["NOSUCHCOMMAND"]);
    assert_eq!(errs(&mut c)["errorstat_ERR"], "count=1");
    err(&mut c, &["GET"]);
    q::<String>(&mut c, &["SET", "s", "abc"]);
    err(&mut c, &["INCR", "s"]);
    assert_eq!(errs(&mut c)["errorstat_ERR"], "count=3");
    err(&mut c, &["HELLO", "4"]);
    err(&mut c, &["AUTH", "nosuchuser", "x"]);
    let e = errs(&mut c);
    assert_eq!(e["errorstat_NOPROTO"], "count=1");
    assert_eq!(e["errorstat_WRONGPASS"], "count=1");
    assert_eq!(info_int(&mut c, "stats", "total_error_replies"), 5);
}

// ---------------------------------------------------------------- CONFIG GET / SET

#[test]
fn config_get_single_multiple_and_globs() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-lru", "--hz", "20"]);
    let mut c = s.conn();
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "0"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory-policy"]), ["maxmemory-policy", "allkeys-lru"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]), ["save", ""]);
    let m: HashMap<String, Value> = pairs(&reply(&mut c, &["CONFIG", "GET", "maxmemory", "hz"])).into_iter().collect();
    assert_eq!(m.len(), 2);
    assert_eq!(text(&m["hz"]), "20");
    assert_eq!(text(&m["maxmemory"]), "0");
    let names: HashSet<String> =
        pairs(&reply(&mut c, &["CONFIG", "GET", "maxmemory*"])).into_iter().map(|(k, _)| k).collect();
    let want: HashSet<String> =
        ["maxmemory", "maxmemory-clients", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(names, want);
    let names: Vec<String> =
        pairs(&reply(&mut c, &["CONFIG", "GET", "lazyfree-lazy-user-?el"])).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["lazyfree-lazy-user-del"]);
    // A parameter matched twice is reported once.
    let got = pairs(&reply(&mut c, &["CONFIG", "GET", "maxmemory", "maxmemory", "maxmem*"]));
    assert_eq!(got.iter().filter(|(k, _)| k == "maxmemory").count(), 1, "{got:?}");
    assert_eq!(reply(&mut c, &["CONFIG", "GET", "nosuchparam"]), Value::Array(vec![]));
    // A plain name is echoed as typed, as Redis does.
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "MAXMEMORY"]), ["MAXMEMORY", "0"]);
    let all = pairs(&reply(&mut c, &["CONFIG", "GET", "*"]));
    assert!(all.len() > 30, "{}", all.len());
    assert_eq!(err(&mut c, &["CONFIG", "GET"]), "ERR wrong number of arguments for 'config|get' command");
}

#[test]
fn config_get_resp3_map() {
    let s = TestServer::start();
    let mut c = s.conn3();
    let v = reply(&mut c, &["CONFIG", "GET", "maxmemory", "hz"]);
    let Value::Map(m) = &v else { panic!("RESP3 CONFIG GET is a map, got {v:?}") };
    let m: HashMap<String, String> = m.iter().map(|(k, v)| (text(k), text(v))).collect();
    assert_eq!(m["maxmemory"], "0");
    assert_eq!(m["hz"], "10");
    assert_eq!(reply(&mut c, &["CONFIG", "GET", "nosuch"]), Value::Map(vec![]));
}

#[test]
fn config_set_multiple_pairs() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "10mb", "hz", "20", "maxmemory-policy", "ALLKEYS-LRU"]),
        "OK"
    );
    let m: HashMap<String, Value> =
        pairs(&reply(&mut c, &["CONFIG", "GET", "maxmemory", "hz", "maxmemory-policy"])).into_iter().collect();
    assert_eq!(text(&m["maxmemory"]), "10485760");
    assert_eq!(text(&m["hz"]), "20");
    assert_eq!(text(&m["maxmemory-policy"]), "allkeys-lru");
    let (f, _) = info(&mut c, &["memory"]);
    assert_eq!(f["maxmemory"], "10485760");
    assert_eq!(f["maxmemory_policy"], "allkeys-lru");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "MAXMEMORY", "0"]), "OK", "names are case-insensitive");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "save", "900 1 300 10"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]), ["save", "900 1 300 10"]);
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "save", ""]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]), ["save", ""]);
}

#[test]
fn config_set_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    let failed = |p: &str, why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{p}') - {why}");
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxmemory", "abc"]),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "timeout", "-1"]),
        failed("timeout", "argument must be between 0 and 2147483647 inclusive")
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "appendonly", "maybe"]),
        failed("appendonly", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxmemory-policy", "foo"]),
        failed(
            "maxmemory-policy",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
        )
    );
    assert_eq!(err(&mut c, &["CONFIG", "SET", "save", "abc"]), failed("save", "Invalid save parameters"));
    assert_eq!(err(&mut c, &["CONFIG", "SET", "daemonize", "yes"]), failed("daemonize", "can't set immutable config"));
    assert_eq!(err(&mut c, &["CONFIG", "SET", "databases", "3"]), failed("databases", "can't set immutable config"));
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"]),
        failed("maxmemory", "duplicate parameter")
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "nosuch", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(err(&mut c, &["CONFIG", "SET", "maxmemory", "1", "hz"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["CONFIG", "SET", "maxmemory"]), "ERR wrong number of arguments for 'config|set' command");
    assert_eq!(err(&mut c, &["CONFIG", "NOSUCH"]), "ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.");
    assert_eq!(err(&mut c, &["CONFIG"]), "ERR wrong number of arguments for 'config' command");
    // A failing CONFIG SET changes nothing, including the pairs before the bad one.
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "15", "maxmemory", "abc"]),
        failed("maxmemory", "argument must be a memory value")
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "10"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "0"]);
}

#[test]
fn config_set_hz_is_clamped_like_redis() {
    // Redis 7.0 accepts any hz in 0..INT_MAX and clamps it to 1..500 (updateHZ).
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "hz", "1000"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "500"]);
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "hz", "0"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "1"]);
}

#[test]
fn config_set_requirepass_applies_to_new_connections() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "requirepass", "pw"]), "OK");
    let mut r = s.raw();
    r.roundtrip(b"GET a\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"AUTH pw\r\n", b"+OK\r\n");
    // The connection that set it stays authenticated.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "requirepass", ""]), "OK");
    let mut r2 = s.raw();
    r2.roundtrip(b"GET a\r\n", b"$-1\r\n");
}

// ---------------------------------------------------------------- CONFIG RESETSTAT / REWRITE

#[test]
fn config_resetstat_clears_counters() {
    let _guard = stats_lock();
    let s = TestServer::start();
    let mut c = s.conn();
    q::<String>(&mut c, &["SET", "k", "v"]);
    q::<String>(&mut c, &["GET", "k"]);
    q::<Option<String>>(&mut c, &["GET", "nokey"]);
    err(&mut c, &["NOSUCHCOMMAND"]);
    assert!(info_int(&mut c, "stats", "keyspace_hits") >= 1);
    assert_eq!(q::<String>(&mut c, &["CONFIG", "RESETSTAT"]), "OK");
    let (f, _) = info(&mut c, &["stats"]);
    assert_eq!(f["keyspace_hits"], "0");
    assert_eq!(f["keyspace_misses"], "0");
    assert_eq!(f["total_error_replies"], "0");
    assert!(f["total_commands_processed"].parse::<u64>().expect("n") <= 2, "{}", f["total_commands_processed"]);
    let (e, _) = info(&mut c, &["errorstats"]);
    assert!(!e.keys().any(|k| k.starts_with("errorstat_")), "{e:?}");
    let (cs, _) = info(&mut c, &["commandstats"]);
    assert!(!cs.contains_key("cmdstat_get"), "{cs:?}");
    assert!(cs.contains_key("cmdstat_config|resetstat"), "the RESETSTAT call itself is counted afterwards: {cs:?}");
    // The keyspace itself is untouched.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(
        err(&mut c, &["CONFIG", "RESETSTAT", "x"]),
        "ERR wrong number of arguments for 'config|resetstat' command"
    );
}

#[test]
fn config_rewrite_without_file() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["CONFIG", "REWRITE"]), "ERR The server is running without a config file");
}

#[test]
fn config_rewrite_with_file() {
    let dir = std::env::temp_dir().join(format!("strata-rewrite-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("strata.conf");
    std::fs::write(
        &path,
        "# a comment that must survive\nport 0\nbind 127.0.0.1\nsave \"\"\n\nmaxmemory 1mb\n# another comment\nhz 10\n",
    )
    .expect("write conf");
    let config = strata::Config::from_args(&[path.display().to_string()]).expect("config");
    let srv = FileServer::start(config);
    let mut c = srv.conn();
    let (f, _) = info(&mut c, &["server"]);
    assert!(f["config_file"].ends_with("strata.conf"), "{}", f["config_file"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "1048576"]);
    assert_eq!(
        q::<String>(
            &mut c,
            &["CONFIG", "SET", "maxmemory", "2mb", "hz", "20", "maxmemory-policy", "allkeys-lfu", "requirepass", "a b"]
        ),
        "OK"
    );
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&path).expect("read rewritten conf");
    assert!(text.contains("# a comment that must survive"), "{text}");
    assert!(text.contains("# another comment"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("maxmemory ")).count(), 1, "{text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("hz ")).count(), 1, "{text}");
    // The rewritten file loads back to the running values.
    let again = strata::Config::from_args(&[path.display().to_string()]).expect("rewritten config parses");
    assert_eq!(again.get("maxmemory").as_deref(), Some("2097152"));
    assert_eq!(again.get("hz").as_deref(), Some("20"));
    assert_eq!(again.get("maxmemory-policy").as_deref(), Some("allkeys-lfu"));
    assert_eq!(again.get("requirepass").as_deref(), Some("a b"));
    assert_eq!(again.get("save").as_deref(), Some(""));
    assert_eq!(again.get("bind").as_deref(), Some("127.0.0.1"));
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The redis.conf that Debian's redis-server 7.0 installs loads unchanged (only where to listen and write is
/// overridden, as a test must): a team switching from Redis brings this file.
#[test]
fn a_stock_redis_conf_loads_and_serves() {
    let dir = std::env::temp_dir().join(format!("strata-stock-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/redis-7.0-debian.conf");
    let args: Vec<String> = [conf, "--port", "0", "--dir", &dir.display().to_string(), "--logfile", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let config = strata::Config::from_args(&args).expect("the stock redis.conf parses");
    assert_eq!(config.get("oom-score-adj-values").as_deref(), Some("0 200 800"));
    assert_eq!(config.get("proc-title-template").as_deref(), Some("{title} {listen-addr} {server-mode}"));
    assert_eq!(config.get("bind").as_deref(), Some("127.0.0.1 -::1"));
    let srv = FileServer::start(config);
    let mut c = srv.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "repl-diskless-sync"]), ["repl-diskless-sync", "yes"]);
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CONFIG REWRITE edits the file as Redis does: comments, blank lines and order stay; a parameter's first line
/// takes its new value (under its canonical name), its other lines go; changed parameters the file did not
/// mention are appended once under Redis's signature comment; defaults the file did not mention stay out.
#[test]
fn config_rewrite_keeps_comments_and_order() {
    let dir = std::env::temp_dir().join(format!("strata-rewrite-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("strata.conf");
    let original = "# top comment\nport 0\nbind 127.0.0.1\nhash-max-ziplist-entries 64\n\n# memory\nmaxmemory 1mb\nsave \"\"\nhz 10\nmaxmemory 2mb\n# tail comment\n";
    std::fs::write(&path, original).expect("write conf");
    let config = strata::Config::from_args(&[path.display().to_string()]).expect("config");
    let srv = FileServer::start(config);
    let mut c = srv.conn();
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "2097152"]);
    let set =
        ["CONFIG", "SET", "maxmemory", "3mb", "hash-max-listpack-entries", "2", "maxmemory-policy", "allkeys-lfu"];
    assert_eq!(q::<String>(&mut c, &set), "OK");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&path).expect("read rewritten conf");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..10],
        [
            "# top comment",
            "port 0",
            "bind 127.0.0.1",
            "hash-max-listpack-entries 2",
            "",
            "# memory",
            "maxmemory 3mb",
            "save \"\"",
            "hz 10",
            "",
        ],
        "{text}"
    );
    assert_eq!(lines[10], "# tail comment", "{text}");
    let tail = &lines[11..];
    assert_eq!(tail.iter().filter(|l| **l == "# Generated by CONFIG REWRITE").count(), 1, "{text}");
    assert!(tail.contains(&"maxmemory-policy allkeys-lfu"), "{text}");
    assert!(tail.iter().any(|l| l.starts_with("dir \"")), "dir is always written, as by Redis: {text}");
    assert!(!text.contains("timeout"), "defaults the file did not name stay out: {text}");
    // A second rewrite leaves the file as it is.
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    assert_eq!(std::fs::read_to_string(&path).expect("read again"), text);
    let again = strata::Config::from_args(&[path.display().to_string()]).expect("rewritten config parses");
    assert_eq!(again.get("maxmemory").as_deref(), Some("3145728"));
    assert_eq!(again.get("hash-max-listpack-entries").as_deref(), Some("2"));
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// When a parameter fails to apply (a `dir` that does not exist), the parameters of the same CONFIG SET that
/// were already applied get their old values back, in the registry and in what the server runs with.
#[test]
fn config_set_rolls_back_applied_parameters() {
    let s = TestServer::start_with(&["--enable-protected-configs", "local"]);
    let mut c = s.conn();
    let before: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("dir").query(&mut c).expect("dir");
    let set = ["CONFIG", "SET", "maxmemory", "5mb", "maxmemory-policy", "allkeys-lfu", "dir", "/nonexistent/strata"];
    assert_eq!(
        err(&mut c, &set),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "0"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory-policy"]), ["maxmemory-policy", "noeviction"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "dir"]), before);
    assert_eq!(s.srv.hot.maxmemory.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert!(!s.srv.hot.policy().is_lfu(), "the hot copy is rolled back too");
    // The same values without the bad one take effect, in the hot copies as well.
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "5mb", "maxmemory-policy", "allkeys-lfu"]), "OK");
    assert_eq!(s.srv.hot.maxmemory.load(std::sync::atomic::Ordering::Relaxed), 5 * 1024 * 1024);
    assert!(s.srv.hot.policy().is_lfu());
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction"]), "OK");
}

/// Redis's old names reach the same parameter, in CONFIG GET and SET; a glob matches them too.
#[test]
fn config_aliases() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "hash-max-ziplist-entries", "7"]), "OK");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        ["hash-max-listpack-entries", "7"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-ziplist-entries"]),
        ["hash-max-ziplist-entries", "7"]
    );
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "slave-read-only", "no"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "replica-read-only"]), ["replica-read-only", "no"]);
    let names: HashSet<String> =
        pairs(&reply(&mut c, &["CONFIG", "GET", "hash-max-*"])).into_iter().map(|(k, _)| k).collect();
    let want =
        ["hash-max-listpack-entries", "hash-max-listpack-value", "hash-max-ziplist-entries", "hash-max-ziplist-value"];
    assert_eq!(names, want.iter().map(|s| s.to_string()).collect());
    // As in Redis 7.0, an alias and its parameter are different entries: both may appear, the last one wins.
    assert_eq!(
        q::<String>(&mut c, &["CONFIG", "SET", "hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"]),
        "OK"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        ["hash-max-listpack-entries", "2"]
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hash-max-ziplist-entries", "1", "HASH-MAX-ZIPLIST-ENTRIES", "2"]),
        "ERR CONFIG SET failed (possibly related to argument 'HASH-MAX-ZIPLIST-ENTRIES') - duplicate parameter"
    );
    assert_eq!(s.srv.hot.hash_max_entries.load(std::sync::atomic::Ordering::Relaxed), 2);
}

/// Parameters fixed at startup are refused with Redis's text, before any value is looked at, and an unknown
/// name earlier in the call wins.
#[test]
fn config_set_immutable() {
    let s = TestServer::start();
    let mut c = s.conn();
    for p in ["port", "bind", "databases", "tls-port", "daemonize", "io-threads"] {
        assert_eq!(
            err(&mut c, &["CONFIG", "SET", "hz", "11", p, "x"]),
            format!("ERR CONFIG SET failed (possibly related to argument '{p}') - can't set immutable config")
        );
    }
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "10"]);
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "nosuch", "1", "port", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "port", "1", "nosuch", "1"]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
    );
}

// ---------------------------------------------------------------- TIME / LASTSAVE / DEBUG

#[test]
fn time_reply() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v = items(&reply(&mut c, &["TIME"]));
    assert_eq!(v.len(), 2);
    assert!(matches!(v[0], Value::BulkString(_)) && matches!(v[1], Value::BulkString(_)), "{v:?}");
    let secs: u64 = text(&v[0]).parse().expect("seconds");
    let micros: u64 = text(&v[1]).parse().expect("microseconds");
    assert!(micros < 1_000_000);
    assert!(secs.abs_diff(unix_now()) <= 5, "server clock {secs} vs {}", unix_now());
    assert_eq!(err(&mut c, &["TIME", "x"]), "ERR wrong number of arguments for 'time' command");
}

#[test]
fn lastsave_is_startup_time_without_saves() {
    // Redis sets lastsave to the startup time ("at startup we consider the DB saved").
    let s = TestServer::start();
    let mut c = s.conn();
    let t: i64 = q(&mut c, &["LASTSAVE"]);
    assert!((t as u64).abs_diff(unix_now()) <= 60, "LASTSAVE {t}, now {}", unix_now());
    let (f, _) = info(&mut c, &["persistence"]);
    assert_eq!(f["rdb_last_save_time"], t.to_string());
}

#[test]
fn debug_sleep_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0.01"]), "OK");
    assert_eq!(
        err(&mut c, &["DEBUG", "NOSUCH"]),
        "ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP."
    );
    assert_eq!(err(&mut c, &["DEBUG"]), "ERR wrong number of arguments for 'debug' command");
    let help: Vec<String> = q(&mut c, &["DEBUG", "HELP"]);
    assert!(help[0].starts_with("DEBUG <subcommand>"), "{help:?}");
}

#[test]
fn debug_object() {
    let s = TestServer::start();
    let mut c = s.conn();
    q::<String>(&mut c, &["SET", "s", "abc"]);
    q::<String>(&mut c, &["SET", "n", "12345"]);
    q::<String>(&mut c, &["SET", "long", &"x".repeat(100)]);
    let line = text(&reply(&mut c, &["DEBUG", "OBJECT", "s"]));
    assert!(line.starts_with("Value at:"), "{line}");
    for f in ["refcount:", "encoding:embstr", "serializedlength:", "lru:", "lru_seconds_idle:"] {
        assert!(line.contains(f), "{f} missing in {line}");
    }
    assert!(text(&reply(&mut c, &["DEBUG", "OBJECT", "n"])).contains("encoding:int"));
    assert!(text(&reply(&mut c, &["DEBUG", "OBJECT", "long"])).contains("encoding:raw"));
    assert_eq!(err(&mut c, &["DEBUG", "OBJECT", "missing"]), "ERR no such key");
}

#[test]
fn debug_set_active_expire() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "OK");
    q::<String>(&mut c, &["SET", "k", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(400));
    // Without active expiry the key is still stored until something touches it.
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    // With it on again, an untouched key goes away by itself.
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "OK");
    q::<String>(&mut c, &["SET", "k2", "v", "PX", "30"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while q::<i64>(&mut c, &["DBSIZE"]) != 0 {
        assert!(Instant::now() < deadline, "active expiry never removed the key");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(info_int(&mut c, "stats", "expired_keys") >= 2);
}

#[test]
fn debug_panic_is_contained() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut other = s.conn();
    let mut r = s.raw();
    q::<String>(&mut c, &["SET", "k", "before"]);
    let e = err(&mut c, &["DEBUG", "PANIC"]);
    assert!(e.starts_with("ERR "), "{e}");
    // The same connection keeps working, and so do the others.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "before");
    assert_eq!(q::<String>(&mut other, &["SET", "k", "after"]), "OK");
    r.roundtrip(b"GET k\r\n", b"$5\r\nafter\r\n");
    // Again, pipelined between other commands on a raw connection.
    r.send(b"PING\r\nDEBUG PANIC\r\nPING\r\n");
    let mut got = Vec::new();
    while got.iter().filter(|&&b| b == b'\n').count() < 3 {
        let more = r.read_n(1);
        assert!(!more.is_empty(), "connection closed after DEBUG PANIC: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&more);
    }
    let got = String::from_utf8_lossy(&got).into_owned();
    assert!(got.starts_with("+PONG\r\n-ERR ") && got.ends_with("\r\n+PONG\r\n"), "{got:?}");
    assert_eq!(info_int(&mut c, "stats", "total_error_replies"), 2);
    let mut fresh = s.conn();
    assert_eq!(q::<String>(&mut fresh, &["GET", "k"]), "after");
}

// ---------------------------------------------------------------- COMMAND

#[test]
fn command_count_and_full_listing() {
    let s = TestServer::start();
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    let all = items(&reply(&mut c, &["COMMAND"]));
    assert_eq!(all.len() as i64, n);
    let names: HashSet<String> = all.iter().map(|e| text(&items(e)[0])).collect();
    for want in ["get", "set", "ping", "client", "config", "command", "multi", "exec", "info"] {
        assert!(names.contains(want), "{want} missing from COMMAND");
    }
    assert!(!names.iter().any(|n| n.contains('|')), "COMMAND lists top-level commands only");
    for e in &all {
        assert_eq!(items(e).len(), 10, "Redis 7.0 COMMAND entries have 10 fields: {e:?}");
    }
    assert_eq!(err(&mut c, &["COMMAND", "COUNT", "x"]), "ERR wrong number of arguments for 'command|count' command");
}

#[test]
fn command_info_get_set() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v = items(&reply(&mut c, &["COMMAND", "INFO", "get", "SET", "nosuchcommand"]));
    assert_eq!(v.len(), 3);
    assert_eq!(v[2], Value::Nil);
    let get = items(&v[0]);
    assert_eq!(text(&get[0]), "get");
    assert_eq!(int(&get[1]), 2);
    let flags: Vec<String> = items(&get[2]).iter().map(text).collect();
    assert_eq!(flags, ["readonly", "fast"]);
    assert_eq!((int(&get[3]), int(&get[4]), int(&get[5])), (1, 1, 1));
    let cats: Vec<String> = items(&get[6]).iter().map(text).collect();
    assert_eq!(cats, ["@read", "@string", "@fast"]);
    let specs = items(&get[8]);
    assert_eq!(specs.len(), 1);
    assert_eq!(items(&get[9]), Vec::<Value>::new(), "no subcommands");
    let set = items(&v[1]);
    assert_eq!(text(&set[0]), "set");
    assert_eq!(int(&set[1]), -3);
    let flags: Vec<String> = items(&set[2]).iter().map(text).collect();
    assert!(flags.contains(&"write".to_string()) && flags.contains(&"denyoom".to_string()), "{flags:?}");
    let cats: Vec<String> = items(&set[6]).iter().map(text).collect();
    assert_eq!(cats, ["@write", "@string", "@slow"]);
    // Containers list their subcommands.
    let client = items(&items(&reply(&mut c, &["COMMAND", "INFO", "client"]))[0]);
    let subs: HashSet<String> = items(&client[9]).iter().map(|e| text(&items(e)[0])).collect();
    assert!(subs.contains("client|list") && subs.contains("client|kill"), "{subs:?}");
}

#[test]
fn command_docs_set() {
    let s = TestServer::start();
    let mut c = s.conn3();
    let v = reply(&mut c, &["COMMAND", "DOCS", "set"]);
    let top = pairs(&v);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].0, "set");
    let doc: HashMap<String, Value> = pairs(&top[0].1).into_iter().collect();
    assert!(!text(&doc["summary"]).is_empty());
    assert_eq!(text(&doc["since"]), "1.0.0");
    assert_eq!(text(&doc["group"]), "string");
    assert_eq!(text(&doc["complexity"]), "O(1)");
    let args = items(&doc["arguments"]);
    let arg = |v: &Value| -> HashMap<String, Value> { pairs(v).into_iter().collect() };
    let names: Vec<String> = args.iter().map(|a| text(&arg(a)["name"])).collect();
    assert_eq!(names, ["key", "value", "condition", "get", "expiration"]);
    let key = arg(&args[0]);
    assert_eq!(text(&key["type"]), "key");
    assert_eq!(key["key_spec_index"], Value::Int(0));
    let cond = arg(&args[2]);
    assert_eq!(text(&cond["type"]), "oneof");
    let inner: Vec<String> = items(&cond["arguments"]).iter().map(|a| text(&arg(a)["token"])).collect();
    assert_eq!(inner, ["NX", "XX"]);
    let exp = arg(&args[4]);
    let inner: Vec<String> = items(&exp["arguments"]).iter().map(|a| text(&arg(a)["name"])).collect();
    assert_eq!(inner, ["seconds", "milliseconds", "unix-time-seconds", "unix-time-milliseconds", "keepttl"]);
    // Unknown names are skipped; RESP2 flattens the maps.
    let mut c2 = s.conn();
    assert_eq!(reply(&mut c2, &["COMMAND", "DOCS", "nosuchcommand"]), Value::Array(vec![]));
    let flat = items(&reply(&mut c2, &["COMMAND", "DOCS", "get"]));
    assert_eq!(text(&flat[0]), "get");
}

#[test]
fn command_list_and_filters() {
    let s = TestServer::start();
    let mut c = s.conn();
    let all: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    for want in ["get", "set", "client", "client|list", "config|get"] {
        assert!(all.iter().any(|n| n == want), "{want} missing from COMMAND LIST");
    }
    let get: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
    assert!(get.iter().all(|n| n.starts_with("get")), "{get:?}");
    for want in ["get", "getdel", "getex", "getrange", "getset"] {
        assert!(get.iter().any(|n| n == want), "{want} missing from {get:?}");
    }
    let mut cfg: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"]);
    cfg.sort();
    assert_eq!(cfg, ["config|get", "config|help", "config|resetstat", "config|rewrite", "config|set"]);
    let strings: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"]);
    assert!(strings.iter().any(|n| n == "get") && strings.iter().any(|n| n == "set"));
    assert!(!strings.iter().any(|n| n == "ping"));
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*"]), Vec::<String>::new());
    assert_eq!(err(&mut c, &["COMMAND", "LIST", "FILTERBY", "foo", "x"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COMMAND", "LIST", "foo"]), "ERR syntax error");
}

#[test]
fn command_getkeys() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]), ["a", "b"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "set", "k", "v", "EX", "10"]), ["k"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "rename", "x", "y"]), ["x", "y"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "del", "p", "q", "r"]), ["p", "q", "r"]);
    assert_eq!(err(&mut c, &["COMMAND", "GETKEYS", "foo", "a"]), "ERR Invalid command specified");
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "get", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    assert_eq!(err(&mut c, &["COMMAND", "GETKEYS", "ping", "x"]), "ERR The command has no key arguments");
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "get"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    assert_eq!(err(&mut c, &["COMMAND", "GETKEYS"]), "ERR wrong number of arguments for 'command|getkeys' command");
    assert_eq!(err(&mut c, &["COMMAND", "NOSUCH"]), "ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP.");
}

// ---------------------------------------------------------------- error texts

#[test]
fn unknown_command_text() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"foo a b\r\n", b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    r.roundtrip(b"foo\r\n", b"-ERR unknown command 'foo', with args beginning with: \r\n");
    r.roundtrip(
        b"*3\r\n$6\r\nNoSuCh\r\n$3\r\nx y\r\n$0\r\n\r\n",
        b"-ERR unknown command 'NoSuCh', with args beginning with: 'x y' '' \r\n",
    );
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["foo", "a", "b"]), "ERR unknown command 'foo', with args beginning with: 'a' 'b'");
}

#[test]
fn wrong_arity_text() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    r.roundtrip(b"set a\r\n", b"-ERR wrong number of arguments for 'set' command\r\n");
    r.roundtrip(b"GET a b\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    r.roundtrip(b"CONFIG GET\r\n", b"-ERR wrong number of arguments for 'config|get' command\r\n");
    r.roundtrip(b"CLIENT\r\n", b"-ERR wrong number of arguments for 'client' command\r\n");
    r.roundtrip(b"CONFIG foo\r\n", b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

// ---------------------------------------------------------------- SHUTDOWN

#[test]
fn shutdown_closes_connections_and_stops_the_server() {
    let s = TestServer::start();
    let port = s.port;
    let mut bystander = s.raw();
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["SHUTDOWN", "foo"]), "ERR syntax error");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG", "a refused SHUTDOWN leaves the server running");
    let mut r = s.raw();
    r.send(b"SHUTDOWN NOSAVE\r\n");
    assert_eq!(r.read_n(1024), b"", "SHUTDOWN sends no reply: the connection just closes");
    assert!(s.srv.is_shutting_down());
    assert!(bystander.is_closed(), "every connection is closed");
    // Let the shutdown reach every task (that nothing runs in the meantime is shutdown_runs_nothing_afterwards).
    std::thread::sleep(Duration::from_millis(100));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Err(_) => break,
            Ok(mut t) => {
                // Still listening for a moment: a connection there must not be served.
                use std::io::{Read, Write};
                let _ = t.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = t.write_all(b"PING\r\n");
                let mut buf = [0u8; 16];
                let served = matches!(t.read(&mut buf), Ok(n) if n > 0);
                assert!(!served, "the server answered after SHUTDOWN");
            }
        }
        assert!(Instant::now() < deadline, "the server kept accepting connections after SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(redis::cmd("PING").query::<String>(&mut c).is_err());
}

#[test]
fn shutdown_runs_nothing_afterwards() {
    // Redis exits inside SHUTDOWN: a command that was waiting (here, a write held by CLIENT PAUSE WRITE) never
    // runs afterwards.
    let s = TestServer::start();
    let mut admin = s.raw();
    admin.roundtrip(b"CLIENT PAUSE 300 WRITE\r\n", b"+OK\r\n");
    let mut writers: Vec<RawConn> = (0..3).map(|_| s.raw()).collect();
    for (i, w) in writers.iter_mut().enumerate() {
        w.send(format!("SET after-shutdown:{i} 1\r\n").as_bytes());
    }
    std::thread::sleep(Duration::from_millis(50));
    admin.send(b"SHUTDOWN NOSAVE\r\n");
    assert_eq!(admin.read_n(1024), b"", "SHUTDOWN sends no reply");
    // Past the end of the pause.
    std::thread::sleep(Duration::from_millis(600));
    for w in &mut writers {
        let got = w.read_n(1024);
        assert!(got.is_empty(), "a paused write was answered after SHUTDOWN: {:?}", String::from_utf8_lossy(&got));
    }
    assert_eq!(s.srv.keyspace.db_sizes(0).0, 0, "a write ran after SHUTDOWN");
}

/// INFO latencystats: per-command percentiles in microseconds, as Redis 7 prints them; CONFIG RESETSTAT clears
/// them and `latency-tracking no` stops recording.
#[test]
fn latencystats_reports_percentiles_per_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..100 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg("v").query(&mut c).unwrap();
        let _: Option<String> = redis::cmd("GET").arg(format!("k{i}")).query(&mut c).unwrap();
    }
    let _: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut c).unwrap();
    let info: String = redis::cmd("INFO").arg("latencystats").query(&mut c).unwrap();
    let line = |info: &str, name: &str| {
        info.lines().find_map(|l| l.strip_prefix(&format!("latency_percentiles_usec_{name}:"))).map(str::to_string)
    };
    let get = line(&info, "get").expect("a GET line");
    let parts: Vec<&str> = get.split(',').collect();
    assert_eq!(parts.len(), 3, "{get}");
    for (part, label) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        let v = part.strip_prefix(label).unwrap_or_else(|| panic!("{get}"));
        assert!(v.parse::<f64>().is_ok_and(|us| us > 0.0), "{get}");
        assert_eq!(v.split('.').nth(1).map(str::len), Some(3), "three decimals: {get}");
    }
    assert!(line(&info, "set").is_some());
    assert!(line(&info, "config|get").is_some(), "subcommands by full name");
    let all: String = redis::cmd("INFO").arg("everything").query(&mut c).unwrap();
    assert!(all.contains("# Latencystats"));
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("latency-tracking").arg("no").query(&mut c).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("k1").query(&mut c).unwrap();
    let info: String = redis::cmd("INFO").arg("latencystats").query(&mut c).unwrap();
    assert!(line(&info, "get").is_none(), "reset, and not recorded while off: {info}");
}
