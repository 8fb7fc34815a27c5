//! Pub/sub: SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE confirmations, PUBLISH fan-out, PUBSUB
//! introspection, RESP2 subscribed mode, RESP3 push frames, keyspace notifications, and the output-buffer limit
//! that disconnects a subscriber that never reads. Exact bytes are Redis 7.0's.

mod common;
use common::*;
use redis::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// A byte-level RESP client that reads whole frames (replies or pushes) as raw text.
struct Raw {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Raw {
    /// A raw connection speaking protocol `proto` (2 or 3).
    fn new(s: &TestServer, proto: u8) -> Raw {
        let rc = s.raw();
        let w = rc.s.try_clone().expect("clone");
        let mut raw = Raw { r: BufReader::new(rc.s), w };
        if proto == 3 {
            let hello = raw.cmd(&["HELLO", "3"]);
            assert!(hello.starts_with('%'), "HELLO 3 reply: {hello}");
        }
        raw
    }

    fn line(&mut self, out: &mut Vec<u8>) -> String {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).expect("read");
        assert!(line.ends_with(b"\r\n"), "truncated frame line {:?}", String::from_utf8_lossy(&line));
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

    /// Reads one whole frame.
    fn frame(&mut self) -> String {
        let mut out = Vec::new();
        self.one(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Reads `n` frames and concatenates them.
    fn frames(&mut self, n: usize) -> String {
        (0..n).map(|_| self.frame()).collect()
    }

    fn send(&mut self, args: &[&str]) {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a.as_bytes());
            req.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&req).expect("write");
    }

    /// Sends one command and returns its first frame.
    fn cmd(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.frame()
    }

    /// Reads the next frame and asserts it.
    #[track_caller]
    fn expect(&mut self, want: &str) {
        assert_eq!(self.frame(), want);
    }
}

/// RESP bulk string.
fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// A RESP2 (`*`) or RESP3 (`>`) subscription confirmation frame.
fn confirm(proto: u8, kind: &str, ch: Option<&str>, n: i64) -> String {
    let head = if proto == 3 { ">3\r\n" } else { "*3\r\n" };
    let ch = match ch {
        Some(c) => bulk(c),
        None if proto == 3 => "_\r\n".to_string(),
        None => "$-1\r\n".to_string(),
    };
    format!("{head}{}{ch}:{n}\r\n", bulk(kind))
}

/// A `message` frame.
fn message(proto: u8, ch: &str, msg: &str) -> String {
    let head = if proto == 3 { ">3\r\n" } else { "*3\r\n" };
    format!("{head}{}{}{}", bulk("message"), bulk(ch), bulk(msg))
}

/// A `pmessage` frame.
fn pmessage(proto: u8, pat: &str, ch: &str, msg: &str) -> String {
    let head = if proto == 3 { ">4\r\n" } else { "*4\r\n" };
    format!("{head}{}{}{}{}", bulk("pmessage"), bulk(pat), bulk(ch), bulk(msg))
}

fn publish(c: &mut redis::Connection, ch: &str, msg: &str) -> i64 {
    q(c, &["PUBLISH", ch, msg])
}

/// Polls `cond` for up to ten seconds (for effects that complete asynchronously, such as a disconnect).
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[track_caller]
fn expect_ok(c: &mut redis::Connection, args: &[&str]) {
    assert_eq!(val(c, args), Value::Okay, "reply to {args:?}");
}

fn subscribed_err(name: &str) -> String {
    format!(
        "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Confirmations
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn subscribe_confirmations_resp2() {
    let s = TestServer::start();
    let mut a = Raw::new(&s, 2);
    a.send(&["SUBSCRIBE", "ch1", "ch2"]);
    assert_eq!(a.frames(2), "*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n");
    a.send(&["PSUBSCRIBE", "h*llo"]);
    a.expect("*3\r\n$10\r\npsubscribe\r\n$5\r\nh*llo\r\n:3\r\n");
    // Subscribing again to the same channel or pattern does not change the count.
    a.send(&["SUBSCRIBE", "ch1"]);
    a.expect(&confirm(2, "subscribe", Some("ch1"), 3));
    a.send(&["PSUBSCRIBE", "h*llo"]);
    a.expect(&confirm(2, "psubscribe", Some("h*llo"), 3));
    // Unsubscribing from a channel the client does not have still confirms it, with the unchanged count.
    a.send(&["UNSUBSCRIBE", "ch1", "nope"]);
    assert_eq!(
        a.frames(2),
        "*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$4\r\nnope\r\n:2\r\n"
    );
    a.send(&["PUNSUBSCRIBE", "h*llo", "zz*"]);
    assert_eq!(
        a.frames(2),
        "*3\r\n$12\r\npunsubscribe\r\n$5\r\nh*llo\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$3\r\nzz*\r\n:1\r\n"
    );
    a.send(&["UNSUBSCRIBE", "ch2"]);
    a.expect("*3\r\n$11\r\nunsubscribe\r\n$3\r\nch2\r\n:0\r\n");
    // With nothing left, the argument-less forms confirm with a null channel.
    a.send(&["UNSUBSCRIBE"]);
    a.expect("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect("*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribed mode: ordinary replies again.
    a.expect_after_cmd(&["PING"], "+PONG\r\n");
    a.expect_after_cmd(&["GET", "x"], "$-1\r\n");
    // Patterns and channels with the same name are counted separately.
    a.send(&["SUBSCRIBE", "same"]);
    a.expect(&confirm(2, "subscribe", Some("same"), 1));
    a.send(&["PSUBSCRIBE", "same"]);
    a.expect(&confirm(2, "psubscribe", Some("same"), 2));
}

impl Raw {
    #[track_caller]
    fn expect_after_cmd(&mut self, args: &[&str], want: &str) {
        let got = self.cmd(args);
        assert_eq!(got, want, "reply to {args:?}");
    }
}

#[test]
fn subscribe_confirmations_resp3() {
    let s = TestServer::start();
    let mut a = Raw::new(&s, 3);
    a.send(&["SUBSCRIBE", "c", "d"]);
    assert_eq!(a.frames(2), ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nd\r\n:2\r\n");
    a.send(&["PSUBSCRIBE", "p*"]);
    a.expect(">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n");
    a.send(&["UNSUBSCRIBE", "c"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:2\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect(">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:1\r\n");
    a.send(&["UNSUBSCRIBE"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n$1\r\nd\r\n:0\r\n");
    a.send(&["UNSUBSCRIBE"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect(">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n");
    a.expect_after_cmd(&["PING"], "+PONG\r\n");
}

#[test]
fn subscribe_arity_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["SUBSCRIBE"]), "ERR wrong number of arguments for 'subscribe' command");
    assert_eq!(err(&mut c, &["PSUBSCRIBE"]), "ERR wrong number of arguments for 'psubscribe' command");
    assert_eq!(err(&mut c, &["PUBLISH", "x"]), "ERR wrong number of arguments for 'publish' command");
    assert_eq!(err(&mut c, &["PUBLISH", "x", "y", "z"]), "ERR wrong number of arguments for 'publish' command");
    assert_eq!(err(&mut c, &["PUBSUB"]), "ERR wrong number of arguments for 'pubsub' command");
    assert_eq!(err(&mut c, &["PUBSUB", "FOO"]), "ERR unknown subcommand 'FOO'. Try PUBSUB HELP.");
    assert_eq!(err(&mut c, &["PUBSUB", "NUMPAT", "x"]), "ERR wrong number of arguments for 'pubsub|numpat' command");
}

// ---------------------------------------------------------------------------------------------------------------
// PUBLISH and delivery
// ---------------------------------------------------------------------------------------------------------------
