//! Test support: an in-process Strata server on an ephemeral port, and `redis` crate clients for it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A server running on its own runtime thread; stopped when dropped.
pub struct TestServer {
    pub port: u16,
    pub srv: std::sync::Arc<strata::server::Server>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with the default config plus `--name value` style overrides.
    pub fn start_with(args: &[&str]) -> TestServer {
        let mut all: Vec<String> =
            vec!["--port".into(), "0".into(), "--bind".into(), "127.0.0.1".into(), "--save".into(), "".into()];
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
