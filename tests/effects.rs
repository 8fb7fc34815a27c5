//! The write-effect log's acceptance test: whatever clients do to a server, replaying the groups its log captured
//! into an empty server through the normal command path rebuilds the same dataset (`DEBUG DIGEST` equal).
//!
//! Two workloads: every differential case file (tests/differential/cases/*.txt, parsed as run.py parses them),
//! and a seeded random mix over every type (`STRATA_REPLAY_OPS` commands, 100,000 by default).

mod common;

use common::TestServer;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use strata::effects::{Consumer, EffectGroup};

// ---- a fallible RESP client: the case files close connections, time out and switch protocols on purpose ----

#[derive(Debug, Clone, PartialEq)]
enum R {
    Err(String),
    Arr(Vec<R>),
    Bulk(Vec<u8>),
    Other(String),
}

struct Client {
    port: u16,
    r: BufReader<TcpStream>,
    w: TcpStream,
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.set_nodelay(true).expect("nodelay");
        let w = s.try_clone().expect("clone");
        Client { port, r: BufReader::new(s), w }
    }

    fn reconnect(&mut self) {
        *self = Client::connect(self.port);
    }

    fn send_raw(&mut self, data: &[u8]) -> bool {
        self.w.write_all(data).is_ok()
    }

    fn send(&mut self, args: &[Vec<u8>]) -> bool {
        self.send_raw(&encode(args))
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    fn read(&mut self) -> std::io::Result<R> {
        let line = self.line()?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        let n = || line.get(1..).and_then(|s| s.parse::<i64>().ok()).ok_or_else(bad);
        Ok(match line.as_bytes().first().copied().ok_or_else(bad)? {
            b'-' | b'!' if line.starts_with('-') => R::Err(line[1..].to_string()),
            b'$' | b'=' | b'!' => {
                let len = n()?;
                if len < 0 {
                    return Ok(R::Other("nil".into()));
                }
                let mut buf = vec![0u8; len as usize + 2];
                self.r.read_exact(&mut buf)?;
                buf.truncate(len as usize);
                R::Bulk(buf)
            }
            b'*' | b'~' | b'>' => {
                let len = n()?;
                let mut items = Vec::new();
                for _ in 0..len.max(0) {
                    items.push(self.read()?);
                }
                R::Arr(items)
            }
            b'%' | b'|' => {
                let attr = line.starts_with('|');
                let mut items = Vec::new();
                for _ in 0..n()? * 2 {
                    items.push(self.read()?);
                }
                if attr {
                    return self.read();
                }
                R::Arr(items)
            }
            _ => R::Other(line),
        })
    }

    fn cmd(&mut self, args: &[&str]) -> R {
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        assert!(self.send(&argv));
        self.read().expect("reply")
    }

    fn digest(&mut self) -> String {
        match self.cmd(&["DEBUG", "DIGEST"]) {
            R::Other(d) => d.trim_start_matches('+').to_string(),
            other => panic!("DEBUG DIGEST replied {other:?}"),
        }
    }
}

// ---- the case-file format of tests/differential/run.py ----

enum Step {
    /// A command whose reply is read (any comparison directive reads one reply too).
    Cmd(Vec<Vec<u8>>),
    /// A command sent without reading.
    NoReply(Vec<Vec<u8>>),
    /// Raw bytes, one reply read (`!raw`), or none (`!send`).
    Raw(Vec<u8>, bool),
    Sleep(f64),
    Reconnect,
}

fn unescape(text: &str) -> Vec<u8> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\\' && i + 1 < c.len() {
            let hex: String = c[i + 2..(i + 4).min(c.len())].iter().collect();
            if c[i + 1] == 'x' && hex.len() == 2 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                out.push(u8::from_str_radix(&hex, 16).expect("hex"));
                i += 4;
                continue;
            }
            let esc = match c[i + 1] {
                'n' => Some(b'\n'),
                'r' => Some(b'\r'),
                't' => Some(b'\t'),
                '0' => Some(0),
                'a' => Some(7),
                'b' => Some(8),
                '\\' => Some(b'\\'),
                '\'' => Some(b'\''),
                '"' => Some(b'"'),
                _ => None,
            };
            if let Some(e) = esc {
                out.push(e);
                i += 2;
                continue;
            }
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c[i].encode_utf8(&mut buf).as_bytes());
        i += 1;
    }
    out
}

/// shlex in POSIX mode with backslashes and comments off: quotes group (and may join adjacent text), whitespace
/// splits; then each token's escapes are decoded.
fn split_args(text: &str) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    let (mut cur, mut in_token, mut quote) = (String::new(), false, None::<char>);
    for ch in text.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            None if ch == '"' || ch == '\'' => {
                quote = Some(ch);
                in_token = true;
            }
            None => {
                cur.push(ch);
                in_token = true;
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    tokens.iter().map(|t| unescape(t)).collect()
}

fn load_case_file(path: &Path) -> Vec<Step> {
    let text = std::fs::read_to_string(path).expect("case file");
    let mut steps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with('!') {
            steps.push(Step::Cmd(split_args(line)));
            continue;
        }
        let (name, payload) = line.split_once(' ').unwrap_or((line, ""));
        let rest = payload.trim();
        steps.push(match name {
            "!unordered" | "!unordered-pairs" | "!shape" | "!type" => Step::Cmd(split_args(rest)),
            "!noreply" => Step::NoReply(split_args(rest)),
            // SCAN only reads.
            "!scan" => continue,
            "!resp3" => Step::Cmd(vec![b"HELLO".to_vec(), b"3".to_vec()]),
            "!resp2" => Step::Cmd(vec![b"HELLO".to_vec(), b"2".to_vec()]),
            "!raw" => Step::Raw(unescape(payload), true),
            "!send" => Step::Raw(unescape(payload), false),
            "!sleep" => Step::Sleep(rest.parse().expect("seconds")),
            "!reconnect" => Step::Reconnect,
            "!sync" => Step::Cmd(vec![b"PING".to_vec(), b"strata-diff-sync".to_vec()]),
            other => panic!("{}: unknown directive {other}", path.display()),
        });
    }
    steps
}

/// Runs a case file's steps. Returns each successful CONFIG SET with the log's offset after it: the replay target
/// applies them at the same point of the stream, as a replica shares its primary's configuration (an HLL's
/// encoding, for one, depends on `hll-sparse-max-bytes`).
fn run_steps(port: u16, steps: &[Step], offset: &dyn Fn() -> u64) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut configs = Vec::new();
    let mut setup = Client::connect(port);
    for c in [&["FLUSHALL"][..], &["CONFIG", "SET", "maxmemory", "0"], &["CONFIG", "SET", "maxmemory-policy", "noeviction"]]
    {
        setup.cmd(c);
    }
    let mut c = Client::connect(port);
    for step in steps {
        match step {
            Step::Cmd(args) => {
                let reply = if c.send(args) { c.read().ok() } else { None };
                match reply {
                    None => c.reconnect(),
                    Some(R::Err(_)) => {}
                    Some(_) => {
                        let is = |i: usize, w: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
                        if is(0, "CONFIG") && is(1, "SET") {
                            configs.push((offset(), args.clone()));
                        }
                    }
                }
            }
            Step::NoReply(args) => {
                if !c.send(args) {
                    c.reconnect();
                }
            }
            Step::Raw(data, read) => {
                if !c.send_raw(data) || (*read && c.read().is_err()) {
                    c.reconnect();
                }
            }
            Step::Sleep(s) => std::thread::sleep(Duration::from_secs_f64(*s)),
            Step::Reconnect => c.reconnect(),
        }
    }
    configs
}

// ---- capture and replay ----

/// A server with a consumer attached before any client connects.
fn source(extra: &[&str]) -> (TestServer, Consumer) {
    let mut args = vec!["--repl-backlog-size", "1gb"];
    args.extend_from_slice(extra);
    let srv = TestServer::start_with(&args);
    let consumer = srv.srv.effects.subscribe();
    (srv, consumer)
}

/// Every group appended so far; checks that the groups tile the offsets with no gap.
fn drain(consumer: &mut Consumer, srv: &TestServer) -> Vec<EffectGroup> {
    let start = consumer.offset();
    let mut groups = Vec::new();
    while let Some(g) = consumer.try_next().expect("consumer kept up") {
        assert_eq!(g.start, groups.last().map_or(start, |p: &EffectGroup| p.end));
        assert_eq!(g.end - g.start, g.data.len() as u64);
        groups.push(g);
    }
    assert_eq!(consumer.offset(), srv.srv.effects.offset(), "the log's offset is the sum of its groups");
    groups
}

/// Replays `groups` into `target` over one connection, pipelined, with each of `configs` sent before the first
/// group past its offset; returns the commands that failed there.
fn replay(target: &TestServer, groups: &[EffectGroup], configs: &[(u64, Vec<Vec<u8>>)]) -> Vec<String> {
    let mut c = Client::connect(target.port);
    let mut failures = Vec::new();
    let mut configs = configs.iter().peekable();
    for batch in groups.chunks(256) {
        let mut sent = Vec::new();
        let mut data = Vec::new();
        for g in batch {
            while let Some((_, args)) = configs.next_if(|(at, _)| *at <= g.start) {
                data.extend_from_slice(&encode(args));
                sent.push(args.iter().map(|a| bytes::Bytes::copy_from_slice(a)).collect());
            }
            for cmd in g.commands() {
                data.extend_from_slice(&encode(&cmd.iter().map(|a| a.to_vec()).collect::<Vec<_>>()));
                sent.push(cmd);
            }
        }
        assert!(c.send_raw(&data));
        for cmd in sent {
            let reply = c.read().expect("replay reply");
            let failed = match &reply {
                R::Err(_) => true,
                R::Arr(items) if cmd[0].eq_ignore_ascii_case(b"EXEC") => items.iter().any(|r| matches!(r, R::Err(_))),
                R::Other(s) if cmd[0].eq_ignore_ascii_case(b"EXEC") => s == "nil",
                _ => false,
            };
            if failed {
                let shown: Vec<String> = cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                failures.push(format!("{shown:?} -> {reply:?}"));
            }
        }
    }
    failures
}

fn show(groups: &[EffectGroup]) -> String {
    let mut out = String::new();
    for g in groups.iter().rev().take(40).rev() {
        for cmd in g.commands() {
            let shown: Vec<String> = cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            out.push_str(&format!("  {}\n", shown.join(" ")));
        }
    }
    out
}

/// The keys whose DIGEST-VALUE differs between two servers (or that exist on one only), per database.
fn differing_keys(a: &mut Client, b: &mut Client) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        let mut keys = std::collections::BTreeSet::new();
        let mut values = Vec::new();
        for c in [&mut *a, &mut *b] {
            c.cmd(&["SELECT", &db.to_string()]);
            if let R::Arr(items) = c.cmd(&["KEYS", "*"]) {
                keys.extend(items.into_iter().filter_map(|k| if let R::Bulk(k) = k { Some(k) } else { None }));
            }
        }
        for c in [&mut *a, &mut *b] {
            let mut argv = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
            argv.extend(keys.iter().cloned());
            c.send(&argv);
            values.push(c.read().expect("digests"));
        }
        if let (R::Arr(x), R::Arr(y)) = (&values[0], &values[1]) {
            for ((k, x), y) in keys.iter().zip(x).zip(y) {
                if x != y {
                    out.push(format!("db{db}:{}", String::from_utf8_lossy(k)));
                }
            }
        }
    }
    out
}

/// Captures what `work` does to a fresh server, replays it into another, and compares digests.
fn check_replay(name: &str, extra: &[&str], work: impl FnOnce(u16, &dyn Fn() -> u64) -> Vec<(u64, Vec<Vec<u8>>)>) -> usize {
    let (src, mut consumer) = source(extra);
    let log = src.srv.effects.clone();
    let configs = work(src.port, &move || log.offset());
    let mut sc = Client::connect(src.port);
    let groups = drain(&mut consumer, &src);
    let dst = TestServer::start();
    let failures = replay(&dst, &groups, &configs);
    assert!(failures.is_empty(), "{name}: replayed effects failed:\n{}", failures.join("\n"));
    // Both digests at nearly the same moment, so a TTL running out in between cannot tell them apart.
    let mut dc = Client::connect(dst.port);
    let (want, got) = (sc.digest(), dc.digest());
    if got != want {
        panic!("{name}: replayed dataset differs in {:?}; last effects:\n{}", differing_keys(&mut sc, &mut dc), show(&groups));
    }
    groups.len()
}

#[test]
fn every_differential_case_file_replays_to_the_same_dataset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("cases").map(|e| e.expect("entry").path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    assert!(files.len() >= 10, "case files found: {files:?}");
    for path in files {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let steps = load_case_file(&path);
        let started = Instant::now();
        let groups = check_replay(&name, &[], |port, offset| run_steps(port, &steps, offset));
        eprintln!("{name}: {} steps, {groups} groups replayed, {:?}", steps.len(), started.elapsed());
    }
}

#[test]
fn digest_is_zero_for_an_empty_dataset_and_sees_values_types_and_ttls() {
    let srv = TestServer::start();
    let mut c = Client::connect(srv.port);
    let zero = "0".repeat(40);
    assert_eq!(c.digest(), zero);
    c.cmd(&["SET", "k", "1"]);
    let d1 = c.digest();
    assert_eq!(d1.len(), 40);
    assert_ne!(d1, zero);
    c.cmd(&["SET", "k", "2"]);
    let d2 = c.digest();
    assert_ne!(d1, d2);
    c.cmd(&["PEXPIREAT", "k", "99999999999999"]);
    let d3 = c.digest();
    assert_ne!(d2, d3);
    c.cmd(&["PERSIST", "k"]);
    assert_eq!(c.digest(), d2);
    // Same value, other type; same key, other database.
    c.cmd(&["DEL", "k"]);
    c.cmd(&["RPUSH", "k", "2"]);
    assert_ne!(c.digest(), d2);
    c.cmd(&["DEL", "k"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "k", "2"]);
    assert_ne!(c.digest(), d2);
    // Order of insertion does not matter; encodings do not either.
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SADD", "s", "a", "b", "1"]);
    c.cmd(&["SET", "n", "12"]);
    let a = c.digest();
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SET", "n", "1"]);
    c.cmd(&["APPEND", "n", "2"]);
    c.cmd(&["SADD", "s", "1", "b", "a"]);
    assert_eq!(c.digest(), a);
    match c.cmd(&["DEBUG", "DIGEST-VALUE", "s", "nosuch"]) {
        R::Arr(items) => {
            assert_eq!(items.len(), 2);
            assert_eq!(items[1], R::Other(format!("+{zero}")));
            assert_ne!(items[0], items[1]);
        }
        other => panic!("DIGEST-VALUE replied {other:?}"),
    }
    // Queued in a transaction (which then locks every shard).
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "x", "1"]);
    c.cmd(&["DEBUG", "DIGEST"]);
    match c.cmd(&["EXEC"]) {
        R::Arr(items) => assert!(matches!(&items[1], R::Other(d) if d.len() == 41)),
        other => panic!("EXEC replied {other:?}"),
    }
}

#[test]
fn info_replication_shows_the_backlog() {
    let srv = TestServer::start_with(&["--repl-backlog-size", "64kb"]);
    let mut c = Client::connect(srv.port);
    let field = |c: &mut Client, name: &str| -> String {
        let R::Bulk(info) = c.cmd(&["INFO", "replication"]) else { panic!("INFO") };
        let info = String::from_utf8(info).expect("utf8");
        let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).expect("field").to_string();
        line[name.len() + 1..].to_string()
    };
    c.cmd(&["SET", "a", "1"]);
    // SELECT 0 (23 bytes) and SET a 1 (27).
    assert_eq!(field(&mut c, "master_repl_offset"), "50");
    assert_eq!(field(&mut c, "repl_backlog_active"), "0");
    assert_eq!(field(&mut c, "repl_backlog_histlen"), "0");
    assert_eq!(field(&mut c, "repl_backlog_size"), "65536");
    let mut consumer = srv.srv.effects.subscribe();
    assert_eq!(field(&mut c, "repl_backlog_active"), "1");
    assert_eq!(field(&mut c, "repl_backlog_first_byte_offset"), "51");
    c.cmd(&["SET", "a", "2"]);
    let g = consumer.try_next().expect("group").expect("one");
    assert_eq!(field(&mut c, "repl_backlog_histlen"), g.data.len().to_string());
    assert_eq!(field(&mut c, "master_repl_offset"), g.end.to_string());
    c.cmd(&["CONFIG", "SET", "repl-backlog-size", "1mb"]);
    assert_eq!(field(&mut c, "repl_backlog_size"), "1048576");
    // A read changes nothing.
    c.cmd(&["GET", "a"]);
    assert!(consumer.try_next().expect("ok").is_none());
}
