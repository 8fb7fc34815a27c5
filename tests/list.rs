//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE
//! RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP (plus BZPOPMIN / BZMPOP blocking
//! behaviour), checked against Redis 7.0's exact replies and error texts: FIFO service of blocked clients,
//! timeouts, chains through BLMOVE, MULTI, CLIENT UNBLOCK, INFO blocked_clients and disconnects.

mod common;
use common::*;
use redis::Value;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const NUMKEYS: &str = "ERR numkeys should be greater than 0";
const COUNT_GT0: &str = "ERR count should be greater than 0";
const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";

fn lrange(c: &mut redis::Connection, key: &str) -> Vec<String> {
    q(c, &["LRANGE", key, "0", "-1"])
}

/// The `blocked_clients` field of INFO clients.
fn blocked_clients(c: &mut redis::Connection) -> usize {
    let info: String = q(c, &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no blocked_clients in {info}"))
}

/// Waits (bounded) until INFO reports exactly `n` blocked clients.
#[track_caller]
fn wait_blocked(c: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = blocked_clients(c);
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} blocked clients, INFO says {got}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A reply or an error as "CODE detail", as `err` formats it.
type Reply = Result<Value, String>;

fn run(c: &mut redis::Connection, args: &[String]) -> Reply {
    let mut cmd = redis::cmd(&args[0]);
    for a in &args[1..] {
        cmd.arg(a.as_str());
    }
    cmd.query::<Value>(c)
        .map_err(|e| format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")).trim().to_string())
}

/// A command running on its own connection in a thread (typically a blocking one).
struct Pending {
    id: i64,
    rx: mpsc::Receiver<Reply>,
    got: Option<Reply>,
    thread: Option<JoinHandle<redis::Connection>>,
}

impl Pending {
    /// Sends `args` on a fresh connection from another thread.
    fn start(s: &TestServer, args: &[&str]) -> Pending {
        Self::start_on(s.conn(), args)
    }

    fn start_on(mut c: redis::Connection, args: &[&str]) -> Pending {
        let id: i64 = q(&mut c, &["CLIENT", "ID"]);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let r = run(&mut c, &args);
            let _ = tx.send(r);
            c
        });
        Pending { id, rx, got: None, thread: Some(thread) }
    }

    /// The reply, waiting at most 10 s.
    #[track_caller]
    fn wait_reply(&mut self) -> Reply {
        match self.got.take() {
            Some(r) => r,
            None => self.rx.recv_timeout(Duration::from_secs(10)).expect("the pending command never answered"),
        }
    }

    /// The reply, waiting at most 10 s.
    #[track_caller]
    fn reply(&mut self) -> Reply {
        let r = self.wait_reply();
        self.thread.take().map(|t| t.join().expect("thread"));
        r
    }

    /// The reply and the connection back.
    #[track_caller]
    fn finish(mut self) -> (Reply, redis::Connection) {
        let r = self.wait_reply();
        let c = self.thread.take().expect("thread").join().expect("thread");
        (r, c)
    }

    /// True while no reply arrived (a reply that did arrive is kept for `reply`).
    fn waiting(&mut self) -> bool {
        if self.got.is_none() {
            self.got = self.rx.try_recv().ok();
        }
        self.got.is_none()
    }
}

/// A raw RESP connection speaking protocol `proto` (2 or 3), with a 10 s read timeout for blocking commands.
fn resp(s: &TestServer, proto: u8) -> Resp {
    let r = Resp::new(s, proto);
    r.set_read_timeout(Duration::from_secs(10));
    r
}

// ---------------------------------------------------------------------------------------------------------------
// Push / pop / length
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn push_and_range_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["LPUSH", "l", "a", "b", "c"], i(3));
    expect(&mut c, &["RPUSH", "l", "d", "e"], i(5));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["c", "b", "a", "d", "e"]));
    expect(&mut c, &["TYPE", "l"], Value::SimpleString("list".into()));
    expect(&mut c, &["OBJECT", "ENCODING", "l"], b("quicklist"));
    expect(&mut c, &["LPUSHX", "nokey", "a"], i(0));
    expect(&mut c, &["RPUSHX", "nokey", "a", "b"], i(0));
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    expect(&mut c, &["LPUSHX", "l", "x", "y"], i(7));
    expect(&mut c, &["RPUSHX", "l", "z"], i(8));
    expect(&mut c, &["LLEN", "l"], i(8));
    expect(&mut c, &["LLEN", "nokey"], i(0));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["y", "x", "c", "b", "a", "d", "e", "z"]));
    // Empty and binary elements, duplicates.
    expect(&mut c, &["RPUSH", "e", "", "a\r\nb", "", "héllo"], i(4));
    expect(&mut c, &["LRANGE", "e", "0", "-1"], bulks(&["", "a\r\nb", "", "héllo"]));
    // Arity.
    for cmd in ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"] {
        expect_err(&mut c, &[cmd, "l"], &arity(&cmd.to_lowercase()));
    }
    expect_err(&mut c, &["LLEN"], &arity("llen"));
    expect_err(&mut c, &["LLEN", "l", "x"], &arity("llen"));
}

#[test]
fn lpop_rpop() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "1", "2", "3", "4", "5", "6"], i(6));
    expect(&mut c, &["LPOP", "l"], b("1"));
    expect(&mut c, &["RPOP", "l"], b("6"));
    expect(&mut c, &["LPOP", "l", "2"], bulks(&["2", "3"]));
    expect(&mut c, &["RPOP", "l", "1"], bulks(&["5"]));
    expect(&mut c, &["LPOP", "l", "0"], arr(vec![]));
    expect(&mut c, &["RPOP", "l", "0"], arr(vec![]));
    expect(&mut c, &["LLEN", "l"], i(1));
    // A count above the length pops everything and removes the key.
    expect(&mut c, &["RPUSH", "l", "x", "y"], i(3));
    expect(&mut c, &["RPOP", "l", "100"], bulks(&["y", "x", "4"]));
    expect(&mut c, &["EXISTS", "l"], i(0));
    // Missing keys: nil, or a null array with a count.
    expect(&mut c, &["LPOP", "nokey"], NIL);
    expect(&mut c, &["RPOP", "nokey"], NIL);
    expect(&mut c, &["LPOP", "nokey", "2"], NIL);
    expect(&mut c, &["LPOP", "nokey", "0"], NIL);
    let mut r = resp(&s, 2);
    assert_eq!(r.cmd(&["LPOP", "nokey"]), "$-1\r\n");
    assert_eq!(r.cmd(&["LPOP", "nokey", "2"]), "*-1\r\n");
    assert_eq!(r.cmd(&["RPOP", "nokey", "0"]), "*-1\r\n");
    assert_eq!(r.cmd(&["RPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(r.cmd(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(r.cmd(&["LPOP", "l", "1"]), "*1\r\n$1\r\na\r\n");
    let mut r3 = resp(&s, 3);
    assert_eq!(r3.cmd(&["LPOP", "nokey"]), "_\r\n");
    assert_eq!(r3.cmd(&["LPOP", "nokey", "2"]), "_\r\n");
    // Errors.
    expect(&mut c, &["RPUSH", "l", "a"], i(1));
    expect_err(&mut c, &["LPOP", "l", "-1"], MUST_BE_POSITIVE);
    expect_err(&mut c, &["RPOP", "l", "abc"], MUST_BE_POSITIVE);
    expect_err(&mut c, &["LPOP", "l", "1", "2"], &arity("lpop"));
    expect_err(&mut c, &["RPOP", "l", "1", "2"], &arity("rpop"));
    expect_err(&mut c, &["LPOP"], &arity("lpop"));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["a"]));
}

// ---------------------------------------------------------------------------------------------------------------
// LRANGE / LINDEX / LSET / LINSERT / LREM / LTRIM
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn lrange_lindex() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "1", "2", "3", "4", "5"], i(5));
    for (start, end, want) in [
        ("0", "-1", &["1", "2", "3", "4", "5"][..]),
        ("-100", "100", &["1", "2", "3", "4", "5"]),
        ("2", "1", &[]),
        ("5", "10", &[]),
        ("-2", "-1", &["4", "5"]),
        ("-1", "-2", &[]),
        ("0", "0", &["1"]),
        ("1", "3", &["2", "3", "4"]),
        ("-100", "-6", &[]),
        ("-100", "-5", &["1"]),
        ("4", "9223372036854775807", &["5"]),
        ("-9223372036854775808", "0", &["1"]),
    ] {
        expect(&mut c, &["LRANGE", "l", start, end], bulks(want));
    }
    expect(&mut c, &["LRANGE", "nokey", "0", "-1"], arr(vec![]));
    expect_err(&mut c, &["LRANGE", "l", "a", "1"], NOT_INT);
    expect_err(&mut c, &["LRANGE", "l", "0", "1.5"], NOT_INT);
    expect_err(&mut c, &["LRANGE", "l", "0"], &arity("lrange"));
    expect(&mut c, &["LINDEX", "l", "0"], b("1"));
    expect(&mut c, &["LINDEX", "l", "-1"], b("5"));
    expect(&mut c, &["LINDEX", "l", "2"], b("3"));
    expect(&mut c, &["LINDEX", "l", "-5"], b("1"));
    expect(&mut c, &["LINDEX", "l", "5"], NIL);
    expect(&mut c, &["LINDEX", "l", "-6"], NIL);
    expect(&mut c, &["LINDEX", "nokey", "0"], NIL);
    expect_err(&mut c, &["LINDEX", "l", "x"], NOT_INT);
    // The key is looked up before the index is parsed.
    expect(&mut c, &["LINDEX", "nokey", "x"], NIL);
    expect_err(&mut c, &["LINDEX", "l"], &arity("lindex"));
}

#[test]
fn lset() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "1", "2", "3", "4", "5"], i(5));
    expect(&mut c, &["LSET", "l", "0", "x"], OK);
    expect(&mut c, &["LSET", "l", "-1", "y"], OK);
    expect(&mut c, &["LSET", "l", "2", ""], OK);
    expect_err(&mut c, &["LSET", "l", "5", "z"], "ERR index out of range");
    expect_err(&mut c, &["LSET", "l", "-6", "z"], "ERR index out of range");
    expect_err(&mut c, &["LSET", "nokey", "0", "z"], "ERR no such key");
    expect_err(&mut c, &["LSET", "nokey", "x", "z"], "ERR no such key");
    expect_err(&mut c, &["LSET", "l", "x", "z"], NOT_INT);
    expect_err(&mut c, &["LSET", "l", "0"], &arity("lset"));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["x", "2", "", "4", "y"]));
    expect(&mut c, &["EXISTS", "nokey"], i(0));
}

#[test]
fn linsert() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "x", "2", "3", "4", "y"], i(5));
    expect(&mut c, &["LINSERT", "l", "BEFORE", "3", "b3"], i(6));
    expect(&mut c, &["LINSERT", "l", "AFTER", "3", "a3"], i(7));
    expect(&mut c, &["LINSERT", "l", "after", "y", "end"], i(8));
    expect(&mut c, &["LINSERT", "l", "before", "x", "start"], i(9));
    expect(&mut c, &["LINSERT", "l", "BEFORE", "nope", "v"], i(-1));
    expect(&mut c, &["LINSERT", "nokey", "BEFORE", "3", "v"], i(0));
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["start", "x", "2", "b3", "3", "a3", "4", "y", "end"]));
    // The first matching pivot is used.
    expect(&mut c, &["RPUSH", "d", "p", "p"], i(2));
    expect(&mut c, &["LINSERT", "d", "AFTER", "p", "q"], i(3));
    expect(&mut c, &["LRANGE", "d", "0", "-1"], bulks(&["p", "q", "p"]));
    expect_err(&mut c, &["LINSERT", "l", "MIDDLE", "3", "v"], SYNTAX);
    expect_err(&mut c, &["LINSERT", "nokey", "MIDDLE", "3", "v"], SYNTAX);
    expect_err(&mut c, &["LINSERT", "l", "BEFORE", "3"], &arity("linsert"));
}

#[test]
fn lrem() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"], i(7));
    expect(&mut c, &["LREM", "l", "2", "a"], i(2));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["b", "c", "a", "b", "a"]));
    expect(&mut c, &["LREM", "l", "-1", "a"], i(1));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["b", "c", "a", "b"]));
    expect(&mut c, &["LREM", "l", "0", "b"], i(2));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["c", "a"]));
    expect(&mut c, &["LREM", "l", "0", "nope"], i(0));
    expect(&mut c, &["LREM", "nokey", "0", "a"], i(0));
    expect_err(&mut c, &["LREM", "l", "x", "a"], NOT_INT);
    expect(&mut c, &["LREM", "l", "100", "c"], i(1));
    expect(&mut c, &["LREM", "l", "-100", "a"], i(1));
    expect(&mut c, &["EXISTS", "l"], i(0));
    // Negative counts remove from the tail.
    expect(&mut c, &["RPUSH", "t", "x", "1", "x", "2", "x", "3", "x"], i(7));
    expect(&mut c, &["LREM", "t", "-2", "x"], i(2));
    expect(&mut c, &["LRANGE", "t", "0", "-1"], bulks(&["x", "1", "x", "2", "3"]));
    expect_err(&mut c, &["LREM", "t", "1"], &arity("lrem"));
}

#[test]
fn ltrim() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "1", "2", "3", "4", "5", "6"], i(6));
    expect(&mut c, &["LTRIM", "l", "1", "-2"], OK);
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["2", "3", "4", "5"]));
    expect(&mut c, &["LTRIM", "l", "-100", "100"], OK);
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["2", "3", "4", "5"]));
    expect(&mut c, &["LTRIM", "l", "0", "0"], OK);
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["2"]));
    expect(&mut c, &["LTRIM", "l", "2", "1"], OK);
    expect(&mut c, &["EXISTS", "l"], i(0));
    expect(&mut c, &["LTRIM", "nokey", "0", "1"], OK);
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    expect_err(&mut c, &["LTRIM", "nokey", "a", "1"], NOT_INT);
    expect_err(&mut c, &["LTRIM", "l", "0"], &arity("ltrim"));
    // Keep the last N, a common idiom.
    let mut p = redis::pipe();
    for j in 0..1000 {
        p.cmd("RPUSH").arg("log").arg(j).ignore();
        p.cmd("LTRIM").arg("log").arg(-10).arg(-1).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    let got = lrange(&mut c, "log");
    assert_eq!(got, (990..1000).map(|j| j.to_string()).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------------------------
// LPOS
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn lpos() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"], i(8));
    expect(&mut c, &["LPOS", "l", "c"], i(2));
    expect(&mut c, &["LPOS", "l", "c", "RANK", "2"], i(6));
    expect(&mut c, &["LPOS", "l", "c", "RANK", "-1"], i(7));
    expect(&mut c, &["LPOS", "l", "c", "RANK", "-2"], i(6));
    expect(&mut c, &["LPOS", "l", "c", "COUNT", "0"], arr(vec![i(2), i(6), i(7)]));
    expect(&mut c, &["LPOS", "l", "c", "COUNT", "2"], arr(vec![i(2), i(6)]));
    expect(&mut c, &["LPOS", "l", "c", "COUNT", "0", "RANK", "-1"], arr(vec![i(7), i(6), i(2)]));
    expect(&mut c, &["LPOS", "l", "c", "COUNT", "0", "RANK", "2"], arr(vec![i(6), i(7)]));
    expect(&mut c, &["LPOS", "l", "c", "MAXLEN", "2"], NIL);
    expect(&mut c, &["LPOS", "l", "c", "MAXLEN", "3"], i(2));
    expect(&mut c, &["LPOS", "l", "c", "MAXLEN", "1", "COUNT", "0"], arr(vec![]));
    expect(&mut c, &["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "2", "COUNT", "0"], arr(vec![i(7), i(6)]));
    expect(&mut c, &["LPOS", "l", "nope"], NIL);
    expect(&mut c, &["LPOS", "l", "nope", "COUNT", "0"], arr(vec![]));
    expect(&mut c, &["LPOS", "nokey", "c"], NIL);
    expect(&mut c, &["LPOS", "nokey", "c", "COUNT", "0"], arr(vec![]));
    expect(&mut c, &["LPOS", "l", "c", "RANK", "100"], NIL);
    expect(&mut c, &["LPOS", "l", "c", "RANK", "9223372036854775807"], NIL);
    expect(&mut c, &["LPOS", "l", "c", "rank", "1", "count", "1", "maxlen", "0"], arr(vec![i(2)]));
    let rank0 = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative \
                 to start from the end of the list";
    expect_err(&mut c, &["LPOS", "l", "c", "RANK", "0"], rank0);
    expect_err(&mut c, &["LPOS", "nokey", "c", "RANK", "0"], rank0);
    expect_err(&mut c, &["LPOS", "l", "c", "COUNT", "-1"], "ERR COUNT can't be negative");
    expect_err(&mut c, &["LPOS", "l", "c", "COUNT", "x"], "ERR COUNT can't be negative");
    expect_err(&mut c, &["LPOS", "l", "c", "MAXLEN", "-1"], "ERR MAXLEN can't be negative");
    expect_err(&mut c, &["LPOS", "l", "c", "MAXLEN", "x"], "ERR MAXLEN can't be negative");
    expect_err(&mut c, &["LPOS", "l", "c", "RANK", "x"], NOT_INT);
    expect_err(&mut c, &["LPOS", "l", "c", "RANK"], SYNTAX);
    expect_err(&mut c, &["LPOS", "nokey", "c", "RANK"], SYNTAX);
    expect_err(&mut c, &["LPOS", "l", "c", "FOO", "1"], SYNTAX);
    expect_err(&mut c, &["LPOS", "l"], &arity("lpos"));
}

// ---------------------------------------------------------------------------------------------------------------
// LMOVE / RPOPLPUSH / LMPOP
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn lmove_rpoplpush() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "src", "1", "2", "3"], i(3));
    expect(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"], b("1"));
    expect(&mut c, &["LMOVE", "src", "dst", "RIGHT", "LEFT"], b("3"));
    expect(&mut c, &["LRANGE", "dst", "0", "-1"], bulks(&["3", "1"]));
    // Same source and destination rotates.
    expect(&mut c, &["RPUSH", "src", "4"], i(2));
    expect(&mut c, &["LMOVE", "src", "src", "LEFT", "RIGHT"], b("2"));
    expect(&mut c, &["LRANGE", "src", "0", "-1"], bulks(&["4", "2"]));
    expect(&mut c, &["LMOVE", "src", "dst", "left", "left"], b("4"));
    expect(&mut c, &["LMOVE", "src", "dst", "LEFT", "LEFT"], b("2"));
    expect(&mut c, &["EXISTS", "src"], i(0));
    expect(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"], NIL);
    expect(&mut c, &["LMOVE", "nokey", "dst", "LEFT", "RIGHT"], NIL);
    expect(&mut c, &["LRANGE", "dst", "0", "-1"], bulks(&["2", "4", "3", "1"]));
    expect(&mut c, &["RPOPLPUSH", "dst", "dst"], b("1"));
    expect(&mut c, &["LRANGE", "dst", "0", "-1"], bulks(&["1", "2", "4", "3"]));
    expect(&mut c, &["RPOPLPUSH", "dst", "new"], b("3"));
    expect(&mut c, &["LRANGE", "new", "0", "-1"], bulks(&["3"]));
    expect(&mut c, &["RPOPLPUSH", "nokey", "dst"], NIL);
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    // Errors and types.
    expect_err(&mut c, &["LMOVE", "dst", "x", "UP", "RIGHT"], SYNTAX);
    expect_err(&mut c, &["LMOVE", "nokey", "x", "LEFT", "DOWN"], SYNTAX);
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["LMOVE", "dst", "str", "LEFT", "LEFT"], WRONGTYPE);
    expect_err(&mut c, &["RPOPLPUSH", "dst", "str"], WRONGTYPE);
    expect_err(&mut c, &["LMOVE", "str", "dst", "LEFT", "LEFT"], WRONGTYPE);
    expect_err(&mut c, &["RPOPLPUSH", "str", "dst"], WRONGTYPE);
    // A missing source answers nil before the destination's type is looked at.
    expect(&mut c, &["LMOVE", "nokey", "str", "LEFT", "LEFT"], NIL);
    expect(&mut c, &["RPOPLPUSH", "nokey", "str"], NIL);
    // The refused moves moved nothing.
    expect(&mut c, &["LRANGE", "dst", "0", "-1"], bulks(&["1", "2", "4"]));
    expect_err(&mut c, &["LMOVE", "a", "b", "LEFT"], &arity("lmove"));
    expect_err(&mut c, &["RPOPLPUSH", "a"], &arity("rpoplpush"));
}

#[test]
fn lmpop() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "a", "1", "2", "3"], i(3));
    expect(&mut c, &["RPUSH", "b", "4", "5", "6"], i(3));
    expect(&mut c, &["LMPOP", "2", "nokey", "a", "LEFT"], arr(vec![b("a"), bulks(&["1"])]));
    expect(&mut c, &["LMPOP", "2", "nokey", "a", "RIGHT", "COUNT", "10"], arr(vec![b("a"), bulks(&["3", "2"])]));
    expect(&mut c, &["EXISTS", "a"], i(0));
    expect(&mut c, &["LMPOP", "2", "a", "b", "right", "count", "2"], arr(vec![b("b"), bulks(&["6", "5"])]));
    expect(&mut c, &["LMPOP", "1", "nokey", "LEFT"], NIL);
    let mut r = resp(&s, 2);
    assert_eq!(r.cmd(&["LMPOP", "1", "nokey", "LEFT"]), "*-1\r\n");
    let mut r3 = resp(&s, 3);
    assert_eq!(r3.cmd(&["LMPOP", "1", "nokey", "LEFT"]), "_\r\n");
    assert_eq!(r3.cmd(&["LMPOP", "1", "b", "LEFT"]), "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n4\r\n");
    expect(&mut c, &["RPUSH", "b", "x"], i(1));
    // Errors.
    for n in ["0", "-1", "x"] {
        expect_err(&mut c, &["LMPOP", n, "b", "LEFT"], NUMKEYS);
    }
    expect_err(&mut c, &["LMPOP", "3", "a", "b", "LEFT"], SYNTAX);
    expect_err(&mut c, &["LMPOP", "5", "a", "b", "LEFT"], SYNTAX);
    expect_err(&mut c, &["LMPOP", "2", "a", "b"], SYNTAX);
    expect_err(&mut c, &["LMPOP", "1", "a", "UP"], SYNTAX);
    for n in ["0", "-1", "x"] {
        expect_err(&mut c, &["LMPOP", "1", "b", "LEFT", "COUNT", n], COUNT_GT0);
    }
    expect_err(&mut c, &["LMPOP", "1", "b", "LEFT", "COUNT"], SYNTAX);
    expect_err(&mut c, &["LMPOP", "1", "b", "LEFT", "COUNT", "1", "COUNT", "1"], SYNTAX);
    expect_err(&mut c, &["LMPOP", "1", "b", "LEFT", "FOO"], SYNTAX);
    expect_err(&mut c, &["LMPOP"], &arity("lmpop"));
    expect_err(&mut c, &["LMPOP", "1"], &arity("lmpop"));
    expect_err(&mut c, &["LMPOP", "1", "a"], &arity("lmpop"));
    // Types: a non-list before the first non-empty list is an error; after it, it is never looked at.
    expect(&mut c, &["SET", "str", "x"], OK);
    expect_err(&mut c, &["LMPOP", "2", "str", "b", "LEFT"], WRONGTYPE);
    expect_err(&mut c, &["LMPOP", "2", "nokey", "str", "LEFT"], WRONGTYPE);
    expect(&mut c, &["LMPOP", "2", "b", "str", "LEFT"], arr(vec![b("b"), bulks(&["x"])]));
}

// ---------------------------------------------------------------------------------------------------------------
// Types and bulk
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn wrongtype_both_ways() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "str", "x"], OK);
    expect(&mut c, &["HSET", "hash", "f", "v"], i(1));
    for key in ["str", "hash"] {
        for args in [
            &["LPUSH", key, "x"][..],
            &["RPUSH", key, "x"],
            &["LPUSHX", key, "x"],
            &["RPUSHX", key, "x"],
            &["LPOP", key],
            &["RPOP", key, "2"],
            &["LLEN", key],
            &["LRANGE", key, "0", "-1"],
            &["LINDEX", key, "0"],
            &["LSET", key, "0", "x"],
            &["LINSERT", key, "BEFORE", "a", "b"],
            &["LREM", key, "0", "x"],
            &["LTRIM", key, "0", "1"],
            &["LPOS", key, "x"],
            &["LMOVE", key, "d", "LEFT", "LEFT"],
            &["RPOPLPUSH", key, "d"],
            &["LMPOP", "1", key, "LEFT"],
            &["BLPOP", key, "0"],
            &["BRPOP", "nokey", key, "0"],
            &["BLMOVE", key, "d", "LEFT", "LEFT", "0"],
            &["BRPOPLPUSH", key, "d", "0"],
            &["BLMPOP", "0", "1", key, "LEFT"],
        ] {
            expect_err(&mut c, args, WRONGTYPE);
        }
    }
    expect(&mut c, &["EXISTS", "d"], i(0));
    expect(&mut c, &["RPUSH", "l", "a"], i(1));
    for args in [
        &["GET", "l"][..],
        &["INCR", "l"],
        &["APPEND", "l", "x"],
        &["HSET", "l", "f", "v"],
        &["HGETALL", "l"],
        &["SADD", "l", "x"],
        &["SCARD", "l"],
        &["ZADD", "l", "1", "x"],
        &["ZCARD", "l"],
        &["PFCOUNT", "l"],
        &["BZPOPMIN", "l", "0"],
    ] {
        expect_err(&mut c, args, WRONGTYPE);
    }
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["a"]));
}

#[test]
fn big_list_through_pipelines() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for j in 0..10_000 {
        p.cmd("RPUSH").arg("big").arg(j).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    expect(&mut c, &["LLEN", "big"], i(10_000));
    expect(&mut c, &["LINDEX", "big", "5000"], b("5000"));
    expect(&mut c, &["LINDEX", "big", "-1"], b("9999"));
    expect(&mut c, &["LRANGE", "big", "4998", "5001"], bulks(&["4998", "4999", "5000", "5001"]));
    expect(&mut c, &["LPOS", "big", "7777"], i(7777));
    expect(&mut c, &["LSET", "big", "5000", "x"], OK);
    expect(&mut c, &["LINSERT", "big", "AFTER", "x", "y"], i(10_001));
    expect(&mut c, &["LREM", "big", "0", "y"], i(1));
    expect(&mut c, &["LTRIM", "big", "100", "-101"], OK);
    expect(&mut c, &["LLEN", "big"], i(9_800));
    expect(&mut c, &["LINDEX", "big", "0"], b("100"));
    expect(&mut c, &["LPOP", "big", "3"], bulks(&["100", "101", "102"]));
    let all = lrange(&mut c, "big");
    assert_eq!(all.len(), 9_797);
    assert_eq!(all[4897], "x");
}

// ---------------------------------------------------------------------------------------------------------------
// Blocking: argument errors, immediate answers
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn blocking_argument_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_err(&mut c, &["BLPOP"], &arity("blpop"));
    expect_err(&mut c, &["BLPOP", "l"], &arity("blpop"));
    expect_err(&mut c, &["BRPOP", "l"], &arity("brpop"));
    expect_err(&mut c, &["BLMOVE", "a", "b", "LEFT", "LEFT"], &arity("blmove"));
    expect_err(&mut c, &["BRPOPLPUSH", "a", "b"], &arity("brpoplpush"));
    expect_err(&mut c, &["BLMPOP", "0", "1", "a"], &arity("blmpop"));
    for cmd in [&["BLPOP", "l"][..], &["BRPOP", "l", "m"]] {
        for t in ["x", "nan", ""] {
            let mut args = cmd.to_vec();
            args.push(t);
            expect_err(&mut c, &args, TIMEOUT_NOT_FLOAT);
        }
        for t in ["-1", "-0.5", "inf", "1e20"] {
            let mut args = cmd.to_vec();
            args.push(t);
            expect_err(&mut c, &args, TIMEOUT_NEGATIVE);
        }
    }
    expect_err(&mut c, &["BRPOP", "l", "0", "x"], TIMEOUT_NOT_FLOAT);
    expect_err(&mut c, &["BLMOVE", "a", "b", "LEFT", "LEFT", "x"], TIMEOUT_NOT_FLOAT);
    expect_err(&mut c, &["BLMOVE", "a", "b", "UP", "LEFT", "0"], SYNTAX);
    expect_err(&mut c, &["BRPOPLPUSH", "a", "b", "-1"], TIMEOUT_NEGATIVE);
    expect_err(&mut c, &["BLMPOP", "x", "1", "a", "LEFT"], TIMEOUT_NOT_FLOAT);
    expect_err(&mut c, &["BLMPOP", "-1", "1", "a", "LEFT"], TIMEOUT_NEGATIVE);
    expect_err(&mut c, &["BLMPOP", "0", "0", "a", "LEFT"], NUMKEYS);
    expect_err(&mut c, &["BLMPOP", "0", "1", "a", "UP"], SYNTAX);
    expect_err(&mut c, &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "0"], COUNT_GT0);
    assert_eq!(blocked_clients(&mut c), 0, "none of the refused commands blocked");
}

#[test]
fn blocking_commands_answer_at_once_when_data_exists() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["RPUSH", "l", "a", "b", "c"], i(3));
    expect(&mut c, &["BLPOP", "nokey", "l", "0"], bulks(&["l", "a"]));
    expect(&mut c, &["BRPOP", "l", "nokey", "0"], bulks(&["l", "c"]));
    expect(&mut c, &["RPUSH", "m", "m1"], i(1));
    // The first non-empty key in argument order wins.
    expect(&mut c, &["BLPOP", "m", "l", "0"], bulks(&["m", "m1"]));
    expect(&mut c, &["BLMOVE", "l", "d", "LEFT", "RIGHT", "0"], b("b"));
    expect(&mut c, &["RPUSH", "l", "x", "y"], i(2));
    expect(&mut c, &["BRPOPLPUSH", "l", "d", "0"], b("y"));
    expect(&mut c, &["LRANGE", "d", "0", "-1"], bulks(&["y", "b"]));
    expect(&mut c, &["BLMPOP", "0", "2", "nokey", "d", "LEFT", "COUNT", "5"], arr(vec![b("d"), bulks(&["y", "b"])]));
    expect(&mut c, &["EXISTS", "d"], i(0));
    // The empty list is removed by the last blocking pop.
    expect(&mut c, &["BLPOP", "l", "0"], bulks(&["l", "x"]));
    expect(&mut c, &["EXISTS", "l"], i(0));
    let mut r3 = resp(&s, 3);
    r3.cmd(&["RPUSH", "l", "v"]);
    assert_eq!(r3.cmd(&["BLPOP", "l", "0"]), "*2\r\n$1\r\nl\r\n$1\r\nv\r\n");
}

#[test]
fn blocking_timeouts_return_nil() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Fractional timeouts are honoured: these return nil on their own.
    expect(&mut c, &["BLPOP", "k", "0.2"], NIL);
    expect(&mut c, &["BRPOP", "k1", "k2", "0.05"], NIL);
    expect(&mut c, &["BLMOVE", "k", "d", "LEFT", "LEFT", "0.1"], NIL);
    expect(&mut c, &["BRPOPLPUSH", "k", "d", "0.1"], NIL);
    expect(&mut c, &["BLMPOP", "0.1", "2", "k1", "k2", "LEFT"], NIL);
    expect(&mut c, &["BZPOPMIN", "z", "0.1"], NIL);
    expect(&mut c, &["BZMPOP", "0.1", "1", "z", "MAX"], NIL);
    expect(&mut c, &["EXISTS", "d", "k"], i(0));
    // The exact encoding: a null array for every blocking command in Redis 7.0, BLMOVE included.
    let mut r = resp(&s, 2);
    assert_eq!(r.cmd(&["BLPOP", "k", "0.05"]), "*-1\r\n");
    assert_eq!(r.cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]), "*-1\r\n");
    assert_eq!(r.cmd(&["BRPOPLPUSH", "k", "d", "0.05"]), "*-1\r\n");
    assert_eq!(r.cmd(&["BLMPOP", "0.05", "1", "k", "LEFT"]), "*-1\r\n");
    assert_eq!(r.cmd(&["BZPOPMIN", "z", "0.05"]), "*-1\r\n");
    let mut r3 = resp(&s, 3);
    assert_eq!(r3.cmd(&["BLPOP", "k", "0.05"]), "_\r\n");
    assert_eq!(r3.cmd(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]), "_\r\n");
    // The connection is usable afterwards and nothing stays blocked.
    expect(&mut c, &["PING"], Value::SimpleString("PONG".into()));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn blocking_commands_inside_multi_return_nil_immediately() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = resp(&s, 2);
    assert_eq!(r.cmd(&["MULTI"]), "+OK\r\n");
    for args in [
        &["BLPOP", "nokey", "0"][..],
        &["BRPOP", "nokey", "0"],
        &["BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "nokey", "dst", "0"],
        &["BLMPOP", "0", "1", "nokey", "LEFT"],
        &["BZPOPMAX", "nokey", "0"],
        &["BZMPOP", "0", "1", "nokey", "MIN"],
    ] {
        assert_eq!(r.cmd(args), "+QUEUED\r\n");
    }
    // Exactly as Redis 7.0: BLMOVE / BRPOPLPUSH answer a null bulk inside MULTI, the others a null array.
    assert_eq!(r.cmd(&["EXEC"]), "*7\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n");
    // With data, the same commands pop normally inside MULTI.
    expect(&mut c, &["RPUSH", "l", "a", "b"], i(2));
    redis::cmd("MULTI").query::<()>(&mut c).expect("MULTI");
    for args in [&["BLPOP", "l", "0"][..], &["BLMOVE", "l", "d", "LEFT", "LEFT", "0"], &["BLPOP", "l", "0"]] {
        expect(&mut c, args, Value::SimpleString("QUEUED".into()));
    }
    expect(&mut c, &["EXEC"], arr(vec![bulks(&["l", "a"]), b("b"), NIL]));
    expect(&mut c, &["LRANGE", "d", "0", "-1"], bulks(&["b"]));
    assert_eq!(blocked_clients(&mut c), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Blocking: service order and delivery
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn blocked_clients_are_served_fifo() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let mut bb = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 2);
    assert!(a.waiting() && bb.waiting());
    expect(&mut c, &["RPUSH", "k", "first"], i(1));
    assert_eq!(a.reply(), Ok(bulks(&["k", "first"])), "the longest-waiting client is served first");
    wait_blocked(&mut c, 1);
    assert!(bb.waiting());
    expect(&mut c, &["RPUSH", "k", "second"], i(1));
    assert_eq!(bb.reply(), Ok(bulks(&["k", "second"])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["EXISTS", "k"], i(0));
}

#[test]
fn one_push_of_several_elements_serves_several_clients_in_order() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let mut bb = Pending::start(&s, &["BRPOP", "k", "0"]);
    wait_blocked(&mut c, 2);
    let mut cc = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 3);
    // The clients are served after the whole push: LPUSH a b c makes the list c b a.
    expect(&mut c, &["LPUSH", "k", "a", "b", "c"], i(3));
    assert_eq!(a.reply(), Ok(bulks(&["k", "c"])));
    assert_eq!(bb.reply(), Ok(bulks(&["k", "a"])));
    assert_eq!(cc.reply(), Ok(bulks(&["k", "b"])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["EXISTS", "k"], i(0));
    // More elements than clients: the rest stays in the list.
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "k", "1", "2", "3"], i(3));
    assert_eq!(a.reply(), Ok(bulks(&["k", "1"])));
    expect(&mut c, &["LRANGE", "k", "0", "-1"], bulks(&["2", "3"]));
}

#[test]
fn blocked_on_several_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BRPOP", "k1", "k2", "0"]);
    wait_blocked(&mut c, 1);
    let mut bb = Pending::start(&s, &["BLPOP", "k2", "0"]);
    wait_blocked(&mut c, 2);
    // A push to the second key serves A (who waited longer on k2), with the key's name.
    expect(&mut c, &["RPUSH", "k2", "p", "q"], i(2));
    assert_eq!(a.reply(), Ok(bulks(&["k2", "q"])));
    assert_eq!(bb.reply(), Ok(bulks(&["k2", "p"])));
    wait_blocked(&mut c, 0);
    // A client served through one key no longer waits on the other.
    let mut a = Pending::start(&s, &["BLPOP", "x1", "x2", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "x1", "v"], i(1));
    assert_eq!(a.reply(), Ok(bulks(&["x1", "v"])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["RPUSH", "x2", "w"], i(1));
    expect(&mut c, &["LRANGE", "x2", "0", "-1"], bulks(&["w"]));
}

#[test]
fn swapdb_serves_clients_blocked_on_keys_it_brings_in() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "l", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["SELECT", "1"], OK);
    expect(&mut c, &["RPUSH", "l", "x", "y"], i(2));
    // A key of the wrong type stays unserved: the client keeps waiting.
    expect(&mut c, &["SET", "z", "string"], OK);
    let mut z = Pending::start(&s, &["BLPOP", "z", "0"]);
    wait_blocked(&mut c, 2);
    expect(&mut c, &["SWAPDB", "0", "1"], OK);
    assert_eq!(a.reply(), Ok(bulks(&["l", "x"])));
    wait_blocked(&mut c, 1);
    // Database 1 now holds what was database 0 (nothing), and database 0 the rest of the list.
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&[]));
    expect(&mut c, &["SELECT", "0"], OK);
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["y"]));
    expect(&mut c, &["DEL", "z"], i(1));
    expect(&mut c, &["RPUSH", "z", "v"], i(1));
    assert_eq!(z.reply(), Ok(bulks(&["z", "v"])));
}

#[test]
fn blocked_client_survives_other_traffic() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    // Several other clients run hundreds of commands, some touching other lists, meanwhile.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for j in 0..200 {
                    let key = format!("other{w}");
                    let _: i64 = q(&mut c, &["RPUSH", &key, &j.to_string()]);
                    let _: Option<String> = q(&mut c, &["LPOP", &key]);
                    let _: String = q(&mut c, &["SET", &format!("s{w}"), &j.to_string()]);
                    let _: i64 = q(&mut c, &["LLEN", "k"]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let mut p = redis::pipe();
    for j in 0..500 {
        p.cmd("RPUSH").arg("busy").arg(j).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    assert!(a.waiting(), "still blocked after all that traffic");
    assert_eq!(blocked_clients(&mut c), 1);
    expect(&mut c, &["RPUSH", "k", "finally"], i(1));
    assert_eq!(a.reply(), Ok(bulks(&["k", "finally"])));
    wait_blocked(&mut c, 0);
}

#[test]
fn push_and_pop_inside_multi_serves_nobody() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    redis::cmd("MULTI").query::<()>(&mut c).expect("MULTI");
    expect(&mut c, &["RPUSH", "k", "x"], Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["LPOP", "k"], Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["EXEC"], arr(vec![i(1), b("x")]));
    // Clients are served after the transaction, and the list is empty by then.
    expect(&mut c, &["PING"], Value::SimpleString("PONG".into()));
    assert!(a.waiting(), "a list that is empty again after EXEC serves nobody");
    assert_eq!(blocked_clients(&mut c), 1);
    // A push inside MULTI serves the client once EXEC ran.
    redis::cmd("MULTI").query::<()>(&mut c).expect("MULTI");
    expect(&mut c, &["RPUSH", "k", "y", "z"], Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["RPOP", "k"], Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["EXEC"], arr(vec![i(2), b("z")]));
    assert_eq!(a.reply(), Ok(bulks(&["k", "y"])));
    wait_blocked(&mut c, 0);
}

#[test]
fn wrong_type_while_blocked_keeps_waiting() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["SET", "k", "str"], OK);
    expect(&mut c, &["DEL", "k"], i(1));
    expect(&mut c, &["SADD", "k", "m"], i(1));
    expect(&mut c, &["PING"], Value::SimpleString("PONG".into()));
    assert!(a.waiting());
    assert_eq!(blocked_clients(&mut c), 1);
    expect(&mut c, &["DEL", "k"], i(1));
    expect(&mut c, &["RPUSH", "k", "v"], i(1));
    assert_eq!(a.reply(), Ok(bulks(&["k", "v"])));
}

#[test]
fn blocked_clients_are_per_database() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut c9 = s.conn();
    expect(&mut c9, &["SELECT", "9"], OK);
    let mut a = Pending::start_on(c9, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "k", "db0"], i(1));
    expect(&mut c, &["LRANGE", "k", "0", "-1"], bulks(&["db0"]));
    assert!(a.waiting());
    expect(&mut c, &["SELECT", "9"], OK);
    expect(&mut c, &["RPUSH", "k", "db9"], i(1));
    assert_eq!(a.reply(), Ok(bulks(&["k", "db9"])));
    expect(&mut c, &["EXISTS", "k"], i(0));
    expect(&mut c, &["SELECT", "0"], OK);
    expect(&mut c, &["LLEN", "k"], i(1));
}

#[test]
fn blmove_delivers_into_destination_and_chains() {
    let s = TestServer::start();
    let mut c = s.conn();
    // BLMOVE waits on the source; the element lands in the destination.
    let mut a = Pending::start(&s, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "dst", "old"], i(1));
    assert!(a.waiting(), "a push to the destination does not wake BLMOVE");
    expect(&mut c, &["RPUSH", "src", "e1", "e2"], i(2));
    assert_eq!(a.reply(), Ok(b("e1")));
    expect(&mut c, &["LRANGE", "dst", "0", "-1"], bulks(&["old", "e1"]));
    expect(&mut c, &["LRANGE", "src", "0", "-1"], bulks(&["e2"]));
    expect(&mut c, &["DEL", "src", "dst"], i(2));
    // A chain: A moves src → dst, B is blocked on dst and gets the element A moved.
    let mut a = Pending::start(&s, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut c, 1);
    let mut bb = Pending::start(&s, &["BLPOP", "dst", "0"]);
    wait_blocked(&mut c, 2);
    expect(&mut c, &["RPUSH", "src", "x"], i(1));
    assert_eq!(a.reply(), Ok(b("x")));
    assert_eq!(bb.reply(), Ok(bulks(&["dst", "x"])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["EXISTS", "src", "dst"], i(0));
    // A longer chain with BRPOPLPUSH: a → b → c, and a BLMPOP on c.
    let mut p1 = Pending::start(&s, &["BRPOPLPUSH", "a", "b", "0"]);
    wait_blocked(&mut c, 1);
    let mut p2 = Pending::start(&s, &["BLMOVE", "b", "c", "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut c, 2);
    let mut p3 = Pending::start(&s, &["BLMPOP", "0", "1", "c", "LEFT", "COUNT", "5"]);
    wait_blocked(&mut c, 3);
    expect(&mut c, &["LPUSH", "a", "v"], i(1));
    assert_eq!(p1.reply(), Ok(b("v")));
    assert_eq!(p2.reply(), Ok(b("v")));
    assert_eq!(p3.reply(), Ok(arr(vec![b("c"), bulks(&["v"])])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["EXISTS", "a", "b", "c"], i(0));
    // BLMOVE into its own source rotates.
    expect(&mut c, &["RPUSH", "r", "1", "2"], i(2));
    expect(&mut c, &["BLMOVE", "r", "r", "LEFT", "RIGHT", "0"], b("1"));
    expect(&mut c, &["LRANGE", "r", "0", "-1"], bulks(&["2", "1"]));
}

#[test]
fn blocked_blmove_with_wrong_type_destination() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["SET", "dst", "str"], OK);
    expect(&mut c, &["RPUSH", "src", "x"], i(1));
    // Redis answers the blocked client with WRONGTYPE and leaves the element in the source.
    assert_eq!(a.reply(), Err(WRONGTYPE.to_string()));
    expect(&mut c, &["LRANGE", "src", "0", "-1"], bulks(&["x"]));
    wait_blocked(&mut c, 0);
}

#[test]
fn blmpop_blocked_with_count() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLMPOP", "0", "2", "x", "y", "RIGHT", "COUNT", "3"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "y", "1", "2", "3", "4", "5"], i(5));
    assert_eq!(a.reply(), Ok(arr(vec![b("y"), bulks(&["5", "4", "3"])])));
    expect(&mut c, &["LRANGE", "y", "0", "-1"], bulks(&["1", "2"]));
    // Fewer elements than the count: takes what there is.
    let mut a = Pending::start(&s, &["BLMPOP", "0", "1", "z", "LEFT", "COUNT", "10"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "z", "a", "b"], i(2));
    assert_eq!(a.reply(), Ok(arr(vec![b("z"), bulks(&["a", "b"])])));
    expect(&mut c, &["EXISTS", "z"], i(0));
}

#[test]
fn blocking_zset_pops() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BZPOPMIN", "z1", "z2", "0"]);
    wait_blocked(&mut c, 1);
    let mut bb = Pending::start(&s, &["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "2"]);
    wait_blocked(&mut c, 2);
    expect(&mut c, &["ZADD", "z2", "1", "a", "2", "b", "3", "c"], i(3));
    assert_eq!(a.reply(), Ok(bulks(&["z2", "a", "1"])));
    assert_eq!(bb.reply(), Ok(arr(vec![b("z2"), arr(vec![bulks(&["c", "3"]), bulks(&["b", "2"])])])));
    wait_blocked(&mut c, 0);
    expect(&mut c, &["EXISTS", "z2"], i(0));
    // BZPOPMAX and a list push to a key a zset client waits on: the wrong type keeps it waiting.
    let mut a = Pending::start(&s, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "z", "x"], i(1));
    assert!(a.waiting());
    expect(&mut c, &["DEL", "z"], i(1));
    expect(&mut c, &["ZADD", "z", "1.5", "m", "2.5", "n"], i(2));
    assert_eq!(a.reply(), Ok(bulks(&["z", "n", "2.5"])));
    // RESP3 shapes: BZPOPMIN's score is a double.
    let mut r3 = resp(&s, 3);
    r3.send(&["BZPOPMIN", "zz", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["ZADD", "zz", "7", "q"], i(1));
    assert_eq!(r3.read_reply(), "*3\r\n$2\r\nzz\r\n$1\r\nq\r\n,7\r\n");
    r3.send(&["BZMPOP", "0", "1", "zz", "MIN"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["ZADD", "zz", "0.5", "w"], i(1));
    assert_eq!(r3.read_reply(), "*2\r\n$2\r\nzz\r\n*1\r\n*2\r\n$1\r\nw\r\n,0.5\r\n");
}

#[test]
fn blocked_timeout_then_data_goes_to_next() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut a = Pending::start(&s, &["BLPOP", "k", "0.5"]);
    // A blocks first (or has already timed out: nothing here depends on how long things take).
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(&mut c) == 0 && a.waiting() {
        assert!(Instant::now() < deadline, "A never blocked");
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut bb = Pending::start(&s, &["BLPOP", "k", "0"]);
    assert_eq!(a.reply(), Ok(NIL), "the short timeout expired");
    // B is the one left waiting; the timed-out A is out of the queue.
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "k", "v"], i(1));
    assert_eq!(bb.reply(), Ok(bulks(&["k", "v"])));
    expect(&mut c, &["EXISTS", "k"], i(0));
}

// ---------------------------------------------------------------------------------------------------------------
// CLIENT UNBLOCK, INFO blocked_clients, disconnects
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn client_unblock() {
    let s = TestServer::start();
    let mut c = s.conn();
    // TIMEOUT: the blocked client gets its timeout reply.
    let a = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let id = a.id.to_string();
    expect_err(&mut c, &["CLIENT", "UNBLOCK", &id, "FOO"], "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    assert_eq!(blocked_clients(&mut c), 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"], i(1));
    let (r, mut ca) = a.finish();
    assert_eq!(r, Ok(NIL));
    // No longer blocked.
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"], i(0));
    wait_blocked(&mut c, 0);
    // The unblocked connection works normally.
    expect(&mut ca, &["PING"], Value::SimpleString("PONG".into()));
    // Default reason is TIMEOUT.
    let a = Pending::start_on(ca, &["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id], i(1));
    let (r, ca) = a.finish();
    assert_eq!(r, Ok(NIL));
    // ERROR: the blocked client gets an UNBLOCKED error.
    let mut a = Pending::start_on(ca, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "error"], i(1));
    assert_eq!(a.reply(), Err("UNBLOCKED client unblocked via CLIENT UNBLOCK".to_string()));
    wait_blocked(&mut c, 0);
    // Data pushed afterwards stays in the list.
    expect(&mut c, &["RPUSH", "k", "v"], i(1));
    expect(&mut c, &["LLEN", "k"], i(1));
    // Clients that are not blocked, and bad arguments.
    expect(&mut c, &["CLIENT", "UNBLOCK", "999999"], i(0));
    let me: i64 = q(&mut c, &["CLIENT", "ID"]);
    expect(&mut c, &["CLIENT", "UNBLOCK", &me.to_string()], i(0));
    expect_err(&mut c, &["CLIENT", "UNBLOCK", "abc"], NOT_INT);
    expect_err(&mut c, &["CLIENT", "UNBLOCK"], "ERR wrong number of arguments for 'client|unblock' command");
}

#[test]
fn client_unblock_raw_replies() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = resp(&s, 2);
    let id = r.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end().to_string();
    r.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"], i(1));
    assert_eq!(r.read_reply(), "*-1\r\n");
    r.send(&["BRPOPLPUSH", "k", "d", "0"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"], i(1));
    assert_eq!(r.read_reply(), "*-1\r\n");
    r.send(&["BLMPOP", "0", "1", "k", "LEFT"]);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["CLIENT", "UNBLOCK", &id, "ERROR"], i(1));
    assert_eq!(r.read_reply(), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(r.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn info_blocked_clients_counts() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(blocked_clients(&mut c), 0);
    let mut pending = Vec::new();
    for (n, args) in [
        &["BLPOP", "k1", "0"][..],
        &["BRPOP", "k1", "k2", "0"],
        &["BLMOVE", "k2", "d", "LEFT", "LEFT", "0"],
        &["BLMPOP", "0", "1", "k3", "LEFT"],
        &["BZPOPMIN", "z", "0"],
    ]
    .iter()
    .enumerate()
    {
        pending.push(Pending::start(&s, args));
        wait_blocked(&mut c, n + 1);
    }
    assert_eq!(blocked_clients(&mut c), 5);
    expect(&mut c, &["RPUSH", "k1", "a"], i(1));
    wait_blocked(&mut c, 4);
    expect(&mut c, &["RPUSH", "k2", "b", "c"], i(2));
    wait_blocked(&mut c, 2);
    expect(&mut c, &["ZADD", "z", "1", "m"], i(1));
    wait_blocked(&mut c, 1);
    expect(&mut c, &["LPUSH", "k3", "x"], i(1));
    wait_blocked(&mut c, 0);
    let replies: Vec<Reply> = pending.iter_mut().map(|p| p.reply()).collect();
    assert_eq!(
        replies,
        vec![
            Ok(bulks(&["k1", "a"])),
            Ok(bulks(&["k2", "c"])),
            Ok(b("b")),
            Ok(arr(vec![b("k3"), bulks(&["x"])])),
            Ok(bulks(&["z", "m", "1"])),
        ]
    );
    expect(&mut c, &["LRANGE", "d", "0", "-1"], bulks(&["b"]));
    expect(&mut c, &["EXISTS", "k1", "k2", "k3", "z"], i(0));
}

#[test]
fn disconnected_blocked_client_is_removed() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = resp(&s, 2);
    r.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    r.w.shutdown(std::net::Shutdown::Both).expect("shutdown");
    drop(r);
    wait_blocked(&mut c, 0);
    // The next push goes to nobody and stays in the list.
    expect(&mut c, &["RPUSH", "k", "v"], i(1));
    expect(&mut c, &["LRANGE", "k", "0", "-1"], bulks(&["v"]));
    // With a live client blocked behind a dead one, the live one gets the element.
    expect(&mut c, &["DEL", "k"], i(1));
    let mut dead = resp(&s, 2);
    dead.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let mut live = Pending::start(&s, &["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 2);
    dead.w.shutdown(std::net::Shutdown::Both).expect("shutdown");
    drop(dead);
    wait_blocked(&mut c, 1);
    expect(&mut c, &["RPUSH", "k", "w"], i(1));
    assert_eq!(live.reply(), Ok(bulks(&["k", "w"])));
    expect(&mut c, &["EXISTS", "k"], i(0));
    // A dead BLMOVE client moves nothing.
    let mut dead = resp(&s, 2);
    dead.send(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    dead.w.shutdown(std::net::Shutdown::Both).expect("shutdown");
    drop(dead);
    wait_blocked(&mut c, 0);
    expect(&mut c, &["RPUSH", "src", "s"], i(1));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    expect(&mut c, &["LLEN", "src"], i(1));
}

#[test]
fn resp3_list_replies() {
    let s = TestServer::start();
    let mut c = s.conn3();
    expect(&mut c, &["RPUSH", "l", "a", "b", "c"], i(3));
    expect(&mut c, &["LRANGE", "l", "0", "-1"], bulks(&["a", "b", "c"]));
    expect(&mut c, &["LPOP", "l", "2"], bulks(&["a", "b"]));
    expect(&mut c, &["LPOS", "l", "c", "COUNT", "0"], arr(vec![i(0)]));
    expect(&mut c, &["LPOP", "nokey"], NIL);
    expect(&mut c, &["LINDEX", "l", "9"], NIL);
    expect(&mut c, &["LMPOP", "1", "l", "RIGHT"], arr(vec![b("l"), bulks(&["c"])]));
    expect(&mut c, &["BLPOP", "l", "0.05"], NIL);
    let mut r3 = resp(&s, 3);
    assert_eq!(r3.cmd(&["LINDEX", "nokey", "0"]), "_\r\n");
    assert_eq!(r3.cmd(&["LPOS", "nokey", "x"]), "_\r\n");
    assert_eq!(r3.cmd(&["LMOVE", "nokey", "d", "LEFT", "LEFT"]), "_\r\n");
}
