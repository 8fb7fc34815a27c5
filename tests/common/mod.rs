//! Test support: an in-process Strata server on an ephemeral port, and `redis` crate clients for it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A server running on its own runtime thread; stopped when dropped.
pub struct TestServer {
    pub port: u16,
    pub srv: std::sync::Arc<strata::engine::Server>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with the default config plus `--name value` style overrides.
    pub fn start_with(args: &[&str]) -> TestServer {
        // DEBUG is refused by default (as in Redis 7); the suites use it from loopback, as Redis's own tests do.
        // In-process servers run in the repository (the test's working directory): a snapshot file name no test
        // writes keeps a developer's dump.strata there from being loaded into every suite.
        let mut all: Vec<String> = [
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--enable-debug-command",
            "local",
            "--dbfilename",
            "strata-tests-never-written.strata",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        let config = strata::Config::from_args(&all).expect("config");
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            rt.block_on(async move {
                let handle = strata::start(config).await.expect("start");
                tx.send((handle.port(), handle.srv.clone())).expect("send");
                let srv = handle.srv.clone();
                tokio::select! {
                    _ = stop_rx => srv.request_shutdown(Default::default()),
                    _ = async { let mut w = srv.shutdown_watch(); let _ = w.changed().await; } => {}
                }
                handle.wait().await;
            });
        });
        let (port, srv) = rx.recv().expect("server started");
        TestServer { port, srv, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// Starts a server with the default config.
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// A RESP2 `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect")
    }

    /// A RESP3 `redis` crate connection.
    pub fn conn3(&self) -> redis::Connection {
        let url = format!("redis://127.0.0.1:{}/?protocol=resp3", self.port);
        redis::Client::open(url).expect("client").get_connection().expect("connect")
    }

    /// The `redis` crate client for this server.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client")
    }

    /// A raw TCP connection (for byte-level protocol tests).
    pub fn raw(&self) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        RawConn { s }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A RESP multibulk frame for `args`.
pub fn frame(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A byte-level client.
pub struct RawConn {
    pub s: TcpStream,
}

impl RawConn {
    /// Sends raw bytes.
    pub fn send(&mut self, data: &[u8]) {
        self.s.write_all(data).expect("write");
    }

    /// Reads until `n` bytes arrived or the peer closed; returns what was read.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < n {
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => out.extend_from_slice(&buf[..k]),
            }
        }
        out
    }

    /// Sends `data` and reads exactly `expect.len()` bytes back, asserting they equal `expect`.
    pub fn roundtrip(&mut self, data: &[u8], expect: &[u8]) {
        self.send(data);
        let got = self.read_n(expect.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expect),
            "reply to {:?}",
            String::from_utf8_lossy(data)
        );
    }

    /// True when the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0))
    }
}

/// Runs a command and returns the raw `redis::Value`.
pub fn val(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).expect("query")
}

/// Runs a command expected to fail and returns the server's error text (code and message).
pub fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            format!("{code} {detail}").trim().to_string()
        }
    }
}

/// Runs a command and converts its reply.
pub fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// A byte-level RESP client that reads whole replies and returns their exact raw bytes, for checking RESP2 / RESP3
/// encodings (including out-of-band push frames).
pub struct Resp {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Resp {
    /// A raw RESP2 connection to `127.0.0.1:port` (5 s read timeout).
    pub fn connect(port: u16) -> Resp {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let w = s.try_clone().expect("clone");
        Resp { r: BufReader::new(s), w }
    }

    /// A raw connection to `127.0.0.1:port` switched to RESP3 with `HELLO 3`.
    pub fn connect3(port: u16) -> Resp {
        let mut raw = Resp::connect(port);
        let hello = raw.cmd(&["HELLO", "3"]);
        assert!(hello.starts_with('%'), "HELLO 3 reply: {hello}");
        raw
    }

    /// A raw connection to `s` speaking protocol `proto` (2 or 3).
    pub fn new(s: &TestServer, proto: u8) -> Resp {
        if proto == 3 {
            Resp::connect3(s.port)
        } else {
            Resp::connect(s.port)
        }
    }

    /// Changes the read timeout (shared by both halves of the connection).
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.w.set_read_timeout(Some(timeout)).expect("timeout");
    }

    fn line(&mut self, out: &mut Vec<u8>) -> String {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).expect("read");
        assert!(line.ends_with(b"\r\n"), "truncated reply line {:?}", String::from_utf8_lossy(&line));
        out.extend_from_slice(&line);
        String::from_utf8_lossy(&line[..line.len() - 2]).into_owned()
    }

    fn one(&mut self, out: &mut Vec<u8>) {
        let line = self.line(out);
        let n = || line[1..].parse::<i64>().expect("length");
        match line.as_bytes()[0] {
            b'$' | b'=' | b'!' if n() >= 0 => {
                let mut buf = vec![0u8; n() as usize + 2];
                self.r.read_exact(&mut buf).expect("read");
                out.extend_from_slice(&buf);
            }
            b'*' | b'~' | b'>' => (0..n().max(0)).for_each(|_| self.one(out)),
            b'%' => (0..n() * 2).for_each(|_| self.one(out)),
            b'|' => {
                (0..n() * 2).for_each(|_| self.one(out));
                self.one(out);
            }
            _ => {}
        }
    }

    /// Sends one command (binary-safe arguments) without reading anything.
    pub fn sendb(&mut self, args: &[&[u8]]) {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&req).expect("write");
    }

    /// Sends one command without reading anything.
    pub fn send(&mut self, args: &[&str]) {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.sendb(&v);
    }

    /// Reads one whole reply (or push frame) and returns its raw bytes.
    pub fn read_reply(&mut self) -> String {
        let mut out = Vec::new();
        self.one(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Reads `n` whole replies and concatenates them.
    pub fn read_replies(&mut self, n: usize) -> String {
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// Sends one command (binary-safe arguments) and returns its whole raw reply.
    pub fn cmdb(&mut self, args: &[&[u8]]) -> String {
        self.sendb(args);
        self.read_reply()
    }

    /// Sends one command and returns its whole raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read_reply()
    }

    /// Reads the next reply and asserts it.
    #[track_caller]
    pub fn expect(&mut self, want: &str) {
        assert_eq!(self.read_reply(), want);
    }

    /// Sends one command and asserts its reply.
    #[track_caller]
    pub fn expect_after_cmd(&mut self, args: &[&str], want: &str) {
        let got = self.cmd(args);
        assert_eq!(got, want, "reply to {args:?}");
    }
}

// ---- Reply values, error texts and assertions shared by the command-family tests ----

pub const OK: redis::Value = redis::Value::Okay;
pub const NIL: redis::Value = redis::Value::Nil;
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";

pub fn b(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

pub fn bb(s: &[u8]) -> redis::Value {
    redis::Value::BulkString(s.to_vec())
}

pub fn i(n: i64) -> redis::Value {
    redis::Value::Int(n)
}

pub fn arr(v: Vec<redis::Value>) -> redis::Value {
    redis::Value::Array(v)
}

/// Asserts the reply to `args`.
#[track_caller]
pub fn expect(c: &mut redis::Connection, args: &[&str], want: redis::Value) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Ok(got) => assert_eq!(got, want, "reply to {args:?}"),
        Err(e) => panic!("reply to {args:?}: expected {want:?}, got error {e}"),
    }
}

/// Asserts the error reply to `args`.
#[track_caller]
pub fn expect_err(c: &mut redis::Connection, args: &[&str], want: &str) {
    assert_eq!(err(c, args), want, "error for {args:?}");
}

/// Runs a command with binary arguments.
pub fn valb(c: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).expect("query")
}

pub fn arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{cmd}' command")
}

pub fn bulks(items: &[&str]) -> redis::Value {
    arr(items.iter().map(|s| b(s)).collect())
}

/// Text of a bulk reply.
pub fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}

/// A map reply (a RESP3 map, or RESP2's flat array of fields and values) as (name, value) pairs; integer names
/// (LATENCY HISTOGRAM's buckets) as their decimal text.
pub fn pairs(v: &redis::Value) -> Vec<(String, redis::Value)> {
    let name = |k: &redis::Value| match k {
        redis::Value::Int(n) => n.to_string(),
        other => text(other),
    };
    match v {
        redis::Value::Array(items) => items.chunks(2).map(|p| (name(&p[0]), p[1].clone())).collect(),
        redis::Value::Map(items) => items.iter().map(|(k, v)| (name(k), v.clone())).collect(),
        other => panic!("not a map: {other:?}"),
    }
}

/// One field of a map reply.
pub fn field(v: &redis::Value, name: &str) -> redis::Value {
    pairs(v).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no {name} in {v:?}"))
}

pub fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q::<String>(c, &["OBJECT", "ENCODING", key])
}

pub fn texts(v: &redis::Value) -> Vec<String> {
    match v {
        redis::Value::Array(items) => items.iter().map(text).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// A numeric field of INFO's default sections (`blocked_clients`, `tracking_total_keys`...).
pub fn info_u64(c: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(c, &["INFO"]);
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(prefix.as_str())).expect("field").trim().parse().expect("number")
}

/// An integer field of INFO `section`.
pub fn info_int(c: &mut redis::Connection, section: &str, name: &str) -> i64 {
    let info: String = q(c, &["INFO", section]);
    let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("no {name} in INFO"));
    line[name.len() + 1..].trim().parse().unwrap_or_else(|_| panic!("{line}"))
}
