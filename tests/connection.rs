//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH, the CLIENT container and MONITOR.

mod common;
use common::*;
use redis::{ConnectionLike, Value};
use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

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

/// Reads one CRLF-terminated line from a raw connection (without the CRLF).
fn read_line(r: &mut RawConn) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match r.s.read(&mut b) {
            Ok(1) => {
                line.push(b[0]);
                if line.ends_with(b"\r\n") {
                    line.truncate(line.len() - 2);
                    return String::from_utf8_lossy(&line).into_owned();
                }
            }
            other => {
                panic!("connection ended while reading a line ({other:?}); got {:?}", String::from_utf8_lossy(&line))
            }
        }
    }
}

/// Reads one complete RESP2/RESP3 frame from a raw connection and returns its bytes.
fn read_frame(r: &mut RawConn) -> Vec<u8> {
    let mut out = Vec::new();
    frame_into(r, &mut out);
    out
}

fn frame_into(r: &mut RawConn, out: &mut Vec<u8>) {
    let line = read_line(r);
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
    let n = || line[1..].parse::<i64>().unwrap_or_else(|_| panic!("bad header {line:?}"));
    match line.as_bytes()[0] {
        b'$' | b'=' | b'!' if n() >= 0 => {
            let mut body = vec![0u8; n() as usize + 2];
            r.s.read_exact(&mut body).expect("bulk body");
            out.extend_from_slice(&body);
        }
        b'*' | b'~' | b'>' => {
            for _ in 0..n().max(0) {
                frame_into(r, out);
            }
        }
        b'%' | b'|' => {
            for _ in 0..n().max(0) * 2 {
                frame_into(r, out);
            }
        }
        _ => {}
    }
}

/// Parses one CLIENT LIST / CLIENT INFO line into its fields, in order.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("field without '=': {w:?} in {line:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// CLIENT LIST (with extra arguments) as one field map per client.
fn client_list(c: &mut redis::Connection, extra: &[&str]) -> Vec<HashMap<String, String>> {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(extra);
    let text: String = q(c, &args);
    text.lines().map(|l| fields(l).into_iter().collect()).collect()
}

/// Waits until no client in CLIENT LIST matches `gone` (a killed client leaves once its connection closed).
fn wait_until_gone(c: &mut redis::Connection, gone: impl Fn(&HashMap<String, String>) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client_list(c, &[]).iter().any(&gone) {
        assert!(std::time::Instant::now() < deadline, "a killed client never left CLIENT LIST");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn client_id(c: &mut redis::Connection) -> i64 {
    q(c, &["CLIENT", "ID"])
}

fn raw_client_id(r: &mut RawConn) -> i64 {
    r.send(b"CLIENT ID\r\n");
    let line = read_line(r);
    line.strip_prefix(':').and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("CLIENT ID reply {line:?}"))
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

/// The (key, value) pairs of a HELLO reply, RESP2 (flat array) or RESP3 (map).
fn hello_pairs(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        Value::Array(a) => {
            assert_eq!(a.len() % 2, 0, "odd HELLO array {a:?}");
            a.chunks(2).map(|p| (text(&p[0]), p[1].clone())).collect()
        }
        other => panic!("HELLO reply is neither a map nor an array: {other:?}"),
    }
}

// ---------------------------------------------------------------- PING / ECHO / QUIT / SELECT

#[test]
fn ping_with_and_without_message() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["PING"]), Value::SimpleString("PONG".into()));
    assert_eq!(reply(&mut c, &["PING", "hello world"]), Value::BulkString(b"hello world".to_vec()));
    assert_eq!(reply(&mut c, &["PING", ""]), Value::BulkString(Vec::new()));
    assert_eq!(err(&mut c, &["PING", "a", "b"]), "ERR wrong number of arguments for 'ping' command");
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    r.roundtrip(b"*2\r\n$4\r\nPING\r\n$3\r\na\x00b\r\n", b"$3\r\na\x00b\r\n");
    r.roundtrip(b"*1\r\n$4\r\nping\r\n", b"+PONG\r\n");
}

#[test]
fn echo_returns_argument_and_checks_arity() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["ECHO", "hi there"]), Value::BulkString(b"hi there".to_vec()));
    assert_eq!(reply(&mut c, &["ECHO", ""]), Value::BulkString(Vec::new()));
    assert_eq!(err(&mut c, &["ECHO"]), "ERR wrong number of arguments for 'echo' command");
    assert_eq!(err(&mut c, &["ECHO", "a", "b"]), "ERR wrong number of arguments for 'echo' command");
    let mut r = s.raw();
    r.roundtrip(b"*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\xff\x00\r\n", b"$4\r\n\r\n\xff\x00\r\n");
}

#[test]
fn quit_replies_ok_then_closes() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"QUIT\r\nPING\r\n");
    assert_eq!(r.read_n(1024), b"+OK\r\n");
    assert!(r.is_closed());
    // Other connections are unaffected.
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    // QUIT with arguments is accepted too (arity -1).
    let mut r = s.raw();
    r.send(b"QUIT now please\r\n");
    assert_eq!(r.read_n(1024), b"+OK\r\n");
    assert!(r.is_closed());
}

#[test]
fn select_switches_database_and_validates_index() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "db0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "1"]), "OK");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "db1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "15"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db0");
    assert_eq!(err(&mut c, &["SELECT", "16"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["SELECT", "-1"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["SELECT", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["SELECT", "1.5"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["SELECT"]), "ERR wrong number of arguments for 'select' command");
    assert_eq!(err(&mut c, &["SELECT", "1", "2"]), "ERR wrong number of arguments for 'select' command");
    // A failed SELECT leaves the selection alone.
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "db0");
    // The database count comes from the config.
    let s4 = TestServer::start_with(&["--databases", "4"]);
    let mut c4 = s4.conn();
    assert_eq!(q::<String>(&mut c4, &["SELECT", "3"]), "OK");
    assert_eq!(err(&mut c4, &["SELECT", "4"]), "ERR DB index is out of range");
}

// ---------------------------------------------------------------- RESET

#[test]
fn reset_clears_connection_state() {
    let s = TestServer::start();
    let mut other = s.conn();
    let mut r = s.raw();
    r.send(b"HELLO 3\r\n");
    let hello = read_frame(&mut r);
    assert!(hello.starts_with(b"%7\r\n"), "{:?}", String::from_utf8_lossy(&hello));
    r.roundtrip(b"SELECT 3\r\n", b"+OK\r\n");
    r.roundtrip(b"CLIENT SETNAME before-reset\r\n", b"+OK\r\n");
    r.roundtrip(b"CLIENT NO-EVICT on\r\n", b"+OK\r\n");
    r.roundtrip(b"WATCH w\r\n", b"+OK\r\n");
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SET x 1\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    // MULTI is gone, and the queued SET never ran.
    r.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
    // Back to RESP2: a missing key is $-1, not _.
    r.roundtrip(b"GET nokey\r\n", b"$-1\r\n");
    // Database 0 again, and the SET queued in db 3 did not happen.
    assert_eq!(q::<String>(&mut other, &["SET", "marker", "db0"]), "OK");
    r.roundtrip(b"GET marker\r\n", b"$3\r\ndb0\r\n");
    r.roundtrip(b"CLIENT GETNAME\r\n", b"$-1\r\n");
    r.send(b"CLIENT INFO\r\n");
    let info = read_frame(&mut r);
    assert_eq!(info[0], b'$', "CLIENT INFO is a bulk string in RESP2");
    let info = String::from_utf8_lossy(&info).into_owned();
    let line = info.lines().nth(1).unwrap_or_default().to_string();
    let f: HashMap<String, String> = fields(&line).into_iter().collect();
    assert_eq!(f["db"], "0");
    assert_eq!(f["name"], "");
    assert_eq!(f["resp"], "2");
    assert_eq!(f["flags"], "N", "no-evict and multi flags are cleared: {line}");
    assert_eq!(f["multi"], "-1");
    // The WATCH is gone: another client's change no longer aborts a new transaction.
    assert_eq!(q::<String>(&mut other, &["SET", "w", "changed"]), "OK");
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"EXEC\r\n", b"*0\r\n");
    let mut x = s.conn();
    assert_eq!(q::<String>(&mut x, &["SELECT", "3"]), "OK");
    assert_eq!(q::<Option<String>>(&mut x, &["GET", "x"]), None);
}

#[test]
fn reset_turns_replies_back_on() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nPING\r\nRESET\r\nPING\r\n");
    r.roundtrip(b"", b"+RESET\r\n+PONG\r\n");
}

// ---------------------------------------------------------------- HELLO

#[test]
fn hello_3_full_reply_map() {
    let s = TestServer::start();
    let mut c = s.conn();
    let id = client_id(&mut c);
    let v = reply(&mut c, &["HELLO", "3"]);
    assert!(matches!(v, Value::Map(_)), "HELLO 3 answers with a map: {v:?}");
    let pairs = hello_pairs(&v);
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["server", "version", "proto", "id", "mode", "role", "modules"]);
    let m: HashMap<String, Value> = pairs.into_iter().collect();
    assert_eq!(text(&m["server"]), "redis");
    assert_eq!(text(&m["version"]), "7.0.15");
    assert_eq!(m["proto"], Value::Int(3));
    assert_eq!(m["id"], Value::Int(id));
    assert_eq!(text(&m["mode"]), "standalone");
    assert_eq!(text(&m["role"]), "master");
    assert_eq!(m["modules"], Value::Array(vec![]));
    // Now in RESP3: CLIENT INFO reports it, HELLO without a version keeps it.
    let info = text(&reply(&mut c, &["CLIENT", "INFO"]));
    assert!(info.contains(" resp=3"), "{info}");
    let m: HashMap<String, Value> = hello_pairs(&reply(&mut c, &["HELLO"])).into_iter().collect();
    assert_eq!(m["proto"], Value::Int(3));
}

#[test]
fn hello_2_flat_array_and_switch_back() {
    let s = TestServer::start();
    let mut r = s.raw();
    let id = raw_client_id(&mut r);
    r.send(b"HELLO 2\r\n");
    let expect = format!(
        "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&read_frame(&mut r)), expect);
    r.send(b"HELLO 3\r\n");
    let expect3 = expect.replacen("*14", "%7", 1).replace(":2\r\n$2\r\nid", ":3\r\n$2\r\nid");
    assert_eq!(String::from_utf8_lossy(&read_frame(&mut r)), expect3);
    r.roundtrip(b"GET nokey\r\n", b"_\r\n");
    r.send(b"HELLO 2\r\n");
    assert_eq!(String::from_utf8_lossy(&read_frame(&mut r)), expect);
    r.roundtrip(b"GET nokey\r\n", b"$-1\r\n");
}

#[test]
fn hello_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["HELLO", "4"]), "NOPROTO unsupported protocol version");
    assert_eq!(err(&mut c, &["HELLO", "1"]), "NOPROTO unsupported protocol version");
    assert_eq!(err(&mut c, &["HELLO", "0"]), "NOPROTO unsupported protocol version");
    assert_eq!(err(&mut c, &["HELLO", "abc"]), "ERR Protocol version is not an integer or out of range");
    assert_eq!(err(&mut c, &["HELLO", "3", "foo"]), "ERR Syntax error in HELLO option 'foo'");
    assert_eq!(err(&mut c, &["HELLO", "3", "auth", "default"]), "ERR Syntax error in HELLO option 'auth'");
    assert_eq!(err(&mut c, &["HELLO", "3", "SETNAME"]), "ERR Syntax error in HELLO option 'SETNAME'");
    assert_eq!(
        err(&mut c, &["HELLO", "3", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        err(&mut c, &["HELLO", "3", "AUTH", "nosuchuser", "x"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    // None of the failures changed the protocol or the name.
    let info = text(&reply(&mut c, &["CLIENT", "INFO"]));
    assert!(info.contains(" resp=2"), "{info}");
    assert_eq!(reply(&mut c, &["CLIENT", "GETNAME"]), Value::Nil);
    let mut r = s.raw();
    r.roundtrip(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n");
    r.roundtrip(b"GET nokey\r\n", b"$-1\r\n");
}

#[test]
fn hello_auth_and_setname_options() {
    let s = TestServer::start();
    let mut c = s.conn();
    let v = reply(&mut c, &["HELLO", "3", "SETNAME", "my-conn"]);
    let m: HashMap<String, Value> = hello_pairs(&v).into_iter().collect();
    assert_eq!(m["proto"], Value::Int(3));
    assert_eq!(reply(&mut c, &["CLIENT", "GETNAME"]), Value::BulkString(b"my-conn".to_vec()));
    // Without a password configured the default user accepts any password.
    let v = reply(&mut c, &["HELLO", "2", "AUTH", "default", "whatever", "SETNAME", "other"]);
    let m: HashMap<String, Value> = hello_pairs(&v).into_iter().collect();
    assert_eq!(m["proto"], Value::Int(2));
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "other");
}

// ---------------------------------------------------------------- AUTH

#[test]
fn auth_without_password_configured() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["AUTH", "secret"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    // The default user has no password, so any password works for it; other users do not exist.
    assert_eq!(q::<String>(&mut c, &["AUTH", "default", "anything"]), "OK");
    assert_eq!(
        err(&mut c, &["AUTH", "nosuchuser", "anything"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(err(&mut c, &["AUTH", "a", "b", "c"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["AUTH"]), "ERR wrong number of arguments for 'auth' command");
}

#[test]
fn auth_with_requirepass() {
    let s = TestServer::start_with(&["--requirepass", "secret"]);
    let mut r = s.raw();
    r.roundtrip(b"GET a\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"PING\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"CLIENT ID\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"AUTH wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    r.roundtrip(b"AUTH nosuchuser secret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    r.roundtrip(b"AUTH default wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    r.roundtrip(b"GET a\r\n", b"-NOAUTH Authentication required.\r\n");
    r.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    r.roundtrip(b"GET a\r\n", b"$-1\r\n");
    r.roundtrip(b"SET a 1\r\n", b"+OK\r\n");

    let mut r2 = s.raw();
    r2.roundtrip(b"SET a 2\r\n", b"-NOAUTH Authentication required.\r\n");
    r2.roundtrip(b"AUTH default secret\r\n", b"+OK\r\n");
    r2.roundtrip(b"GET a\r\n", b"$1\r\n1\r\n");
    // A wrong AUTH after a good one does not log the client out.
    r2.roundtrip(b"AUTH wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    r2.roundtrip(b"GET a\r\n", b"$1\r\n1\r\n");
    // RESET logs out again.
    r2.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    r2.roundtrip(b"GET a\r\n", b"-NOAUTH Authentication required.\r\n");

    // QUIT needs no authentication.
    let mut r3 = s.raw();
    r3.roundtrip(b"QUIT\r\n", b"+OK\r\n");
    assert!(r3.is_closed());

    // The redis crate authenticates through the URL.
    let client = redis::Client::open(format!("redis://:secret@127.0.0.1:{}/", s.port)).expect("client");
    let mut c = client.get_connection().expect("connect with password");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    let bad = redis::Client::open(format!("redis://:nope@127.0.0.1:{}/", s.port)).expect("client");
    assert!(bad.get_connection().is_err(), "a wrong password fails the connection");
}

#[test]
fn hello_with_requirepass() {
    let s = TestServer::start_with(&["--requirepass", "secret"]);
    let mut r = s.raw();
    r.roundtrip(
        b"HELLO 3 AUTH default wrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    r.send(b"HELLO 2 AUTH default secret SETNAME authed\r\n");
    let hello = read_frame(&mut r);
    assert!(hello.starts_with(b"*14\r\n$6\r\nserver\r\n"), "{:?}", String::from_utf8_lossy(&hello));
    r.roundtrip(b"CLIENT GETNAME\r\n", b"$6\r\nauthed\r\n");
    r.roundtrip(b"GET a\r\n", b"$-1\r\n");
}

#[test]
fn hello_before_auth_is_refused_with_redis_7_0_text() {
    let s = TestServer::start_with(&["--requirepass", "secret"]);
    let mut r = s.raw();
    let msg: &[u8] = b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n";
    r.roundtrip(b"HELLO 3\r\n", msg);
    r.roundtrip(b"HELLO\r\n", msg);
    // The failed HELLO did not switch protocols.
    r.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    r.roundtrip(b"GET a\r\n", b"$-1\r\n");
}

// ---------------------------------------------------------------- CLIENT ID / SETNAME / GETNAME

#[test]
fn client_id_setname_getname() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    let ida = client_id(&mut a);
    let idb = client_id(&mut b);
    assert!(ida > 0 && idb > ida, "ids increase: {ida} then {idb}");
    assert_eq!(client_id(&mut a), ida, "stable per connection");
    assert_eq!(reply(&mut a, &["CLIENT", "GETNAME"]), Value::Nil);
    assert_eq!(q::<String>(&mut a, &["CLIENT", "SETNAME", "worker-1"]), "OK");
    assert_eq!(q::<String>(&mut a, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(reply(&mut b, &["CLIENT", "GETNAME"]), Value::Nil, "names are per connection");
    let bad = "ERR Client names cannot contain spaces, newlines or special characters.";
    assert_eq!(err(&mut a, &["CLIENT", "SETNAME", "a b"]), bad);
    assert_eq!(err(&mut a, &["CLIENT", "SETNAME", "a\nb"]), bad);
    assert_eq!(err(&mut a, &["CLIENT", "SETNAME", "caf\u{e9}"]), bad);
    assert_eq!(q::<String>(&mut a, &["CLIENT", "GETNAME"]), "worker-1", "a refused name changes nothing");
    assert_eq!(q::<String>(&mut a, &["CLIENT", "SETNAME", ""]), "OK");
    assert_eq!(reply(&mut a, &["CLIENT", "GETNAME"]), Value::Nil, "an empty name clears it");
    assert_eq!(err(&mut a, &["CLIENT", "SETNAME"]), "ERR wrong number of arguments for 'client|setname' command");
    assert_eq!(err(&mut a, &["CLIENT", "GETNAME", "x"]), "ERR wrong number of arguments for 'client|getname' command");
    assert_eq!(err(&mut a, &["CLIENT", "ID", "x"]), "ERR wrong number of arguments for 'client|id' command");
    assert_eq!(err(&mut a, &["CLIENT", "NOSUCH"]), "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.");
    assert_eq!(err(&mut a, &["CLIENT"]), "ERR wrong number of arguments for 'client' command");
}

// ---------------------------------------------------------------- CLIENT LIST / INFO

#[test]
fn client_list_format() {
    let s = TestServer::start();
    let mut c = s.conn();
    let my_id = client_id(&mut c);
    let mut r = s.raw();
    let raw_addr = r.s.local_addr().expect("addr").to_string();
    let raw_id = raw_client_id(&mut r);
    r.roundtrip(b"CLIENT SETNAME rawconn\r\n", b"+OK\r\n");
    r.roundtrip(b"SELECT 2\r\n", b"+OK\r\n");

    let text: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(text.ends_with('\n'), "every line ends in a newline");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in &lines {
        let names: Vec<String> = fields(line).into_iter().map(|(k, _)| k).collect();
        for want in ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "multi", "cmd", "user", "resp"]
        {
            assert!(names.iter().any(|n| n == want), "field {want} missing in {line}");
        }
        assert_eq!(names[0], "id");
        assert_eq!(names[1], "addr");
        let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or(usize::MAX);
        assert!(
            pos("name") < pos("db") && pos("db") < pos("cmd") && pos("cmd") < pos("user"),
            "Redis field order: {line}"
        );
    }
    let list = client_list(&mut c, &[]);
    let me = list.iter().find(|f| f["id"] == my_id.to_string()).expect("own line");
    assert_eq!(me["name"], "");
    assert_eq!(me["db"], "0");
    assert_eq!(me["cmd"], "client|list");
    assert_eq!(me["flags"], "N");
    assert_eq!(me["user"], "default");
    assert_eq!(me["resp"], "2");
    assert_eq!(me["lib-name"], "redis-rs", "set by the redis crate's CLIENT SETINFO");
    assert!(!me["lib-ver"].is_empty());
    assert!(me["addr"].starts_with("127.0.0.1:"));
    assert_eq!(me["laddr"], format!("127.0.0.1:{}", s.port));
    let other = list.iter().find(|f| f["id"] == raw_id.to_string()).expect("raw connection's line");
    assert_eq!(other["name"], "rawconn");
    assert_eq!(other["addr"], raw_addr);
    assert_eq!(other["db"], "2");
    assert_eq!(other["cmd"], "select");
    assert_eq!(other["lib-name"], "");
}

#[test]
fn client_list_type_and_id_filters() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    let mut c = s.conn();
    let (ida, idb, idc) = (client_id(&mut a), client_id(&mut b), client_id(&mut c));
    assert_eq!(client_list(&mut a, &["TYPE", "normal"]).len(), 3);
    assert_eq!(client_list(&mut a, &["TYPE", "NORMAL"]).len(), 3);
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "TYPE", "pubsub"]), "");
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "TYPE", "master"]), "");
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "TYPE", "replica"]), "");
    let two = client_list(&mut a, &["ID", &idb.to_string(), &idc.to_string()]);
    let ids: Vec<&str> = two.iter().map(|f| f["id"].as_str()).collect();
    assert_eq!(ids, [idb.to_string(), idc.to_string()]);
    let one = client_list(&mut a, &["ID", &ida.to_string(), "999999"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], ida.to_string());
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "ID", "999999"]), "");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "TYPE", "foo"]), "ERR Unknown client type 'foo'");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "ID", "abc"]), "ERR Invalid client ID");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "foo"]), "ERR syntax error");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "ID"]), "ERR syntax error");
}

#[test]
fn client_list_id_zero_or_negative_matches_nothing() {
    // Redis 7.0 parses the ids with getLongLongFromObjectOrReply and just finds no client for 0 or -1.
    let s = TestServer::start();
    let mut a = s.conn();
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "ID", "0"]), "");
    assert_eq!(q::<String>(&mut a, &["CLIENT", "LIST", "ID", "-1"]), "");
}

#[test]
fn client_info_is_own_line() {
    let s = TestServer::start();
    let mut c = s.conn();
    let id = client_id(&mut c);
    q::<String>(&mut c, &["CLIENT", "SETNAME", "me"]);
    let v = reply(&mut c, &["CLIENT", "INFO"]);
    assert!(matches!(v, Value::BulkString(_)), "RESP2: bulk string, got {v:?}");
    let info = text(&v);
    assert!(info.ends_with('\n') && info.lines().count() == 1, "{info:?}");
    let f: HashMap<String, String> = fields(info.trim_end()).into_iter().collect();
    assert_eq!(f["id"], id.to_string());
    assert_eq!(f["name"], "me");
    assert_eq!(f["cmd"], "client|info");
    assert_eq!(err(&mut c, &["CLIENT", "INFO", "x"]), "ERR wrong number of arguments for 'client|info' command");
    // RESP3: a verbatim string with the same line.
    let mut c3 = s.conn3();
    match reply(&mut c3, &["CLIENT", "INFO"]) {
        Value::VerbatimString { text, .. } => assert!(text.starts_with("id=") && text.ends_with('\n'), "{text:?}"),
        other => panic!("RESP3 CLIENT INFO should be verbatim, got {other:?}"),
    }
}

// ---------------------------------------------------------------- CLIENT KILL

#[test]
fn client_kill_by_id() {
    let s = TestServer::start();
    let mut killer = s.conn();
    let mut victim = s.conn();
    let vid = client_id(&mut victim);
    assert_eq!(q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &vid.to_string()]), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(redis::cmd("PING").query::<String>(&mut victim).is_err(), "the killed client's next command fails");
    assert!(client_list(&mut killer, &[]).iter().all(|f| f["id"] != vid.to_string()));
    assert_eq!(q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &vid.to_string()]), 0, "already gone");
    assert_eq!(q::<String>(&mut killer, &["PING"]), "PONG");
}

#[test]
fn client_kill_by_addr_and_old_form() {
    let s = TestServer::start();
    let mut killer = s.conn();
    let mut v1 = s.raw();
    v1.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let addr1 = v1.s.local_addr().expect("addr").to_string();
    let mut v2 = s.raw();
    v2.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let addr2 = v2.s.local_addr().expect("addr").to_string();

    assert_eq!(q::<i64>(&mut killer, &["CLIENT", "KILL", "ADDR", &addr1]), 1);
    assert!(v1.is_closed());
    v2.roundtrip(b"PING\r\n", b"+PONG\r\n");

    // Old form: CLIENT KILL addr:port answers +OK.
    assert_eq!(reply(&mut killer, &["CLIENT", "KILL", &addr2]), Value::Okay);
    assert!(v2.is_closed());
    wait_until_gone(&mut killer, |f| f["addr"] == addr1 || f["addr"] == addr2);
    assert_eq!(err(&mut killer, &["CLIENT", "KILL", &addr2]), "ERR No such client");
    assert_eq!(err(&mut killer, &["CLIENT", "KILL", "1.2.3.4:5"]), "ERR No such client");
    assert_eq!(q::<i64>(&mut killer, &["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]), 0);
    assert_eq!(q::<String>(&mut killer, &["PING"]), "PONG");
}

#[test]
fn client_kill_user_and_skipme() {
    let s = TestServer::start();
    let mut killer = s.raw();
    let my_id = raw_client_id(&mut killer);
    let mut victims: Vec<RawConn> = (0..3).map(|_| s.raw()).collect();
    for v in &mut victims {
        v.roundtrip(b"PING\r\n", b"+PONG\r\n");
    }
    // SKIPME defaults to yes: every other client of the default user goes.
    killer.roundtrip(b"CLIENT KILL USER default\r\n", b":3\r\n");
    for v in &mut victims {
        assert!(v.is_closed());
    }
    let mut observer_gone = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !observer_gone {
        killer.send(b"CLIENT LIST\r\n");
        let list = read_frame(&mut killer);
        observer_gone = String::from_utf8_lossy(&list).matches("id=").count() == 1;
        assert!(std::time::Instant::now() < deadline, "killed clients never left CLIENT LIST");
        std::thread::sleep(Duration::from_millis(10));
    }
    killer.roundtrip(b"CLIENT KILL USER default SKIPME yes\r\n", b":0\r\n");
    killer.roundtrip(format!("CLIENT KILL ID {my_id}\r\n").as_bytes(), b":0\r\n");
    killer.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // SKIPME no on itself: the reply arrives, then the connection closes.
    killer.send(format!("CLIENT KILL ID {my_id} SKIPME no\r\nPING\r\n").as_bytes());
    assert_eq!(killer.read_n(1024), b":1\r\n");
    assert!(killer.is_closed());
}

#[test]
fn client_kill_removes_clients_at_once() {
    // Redis frees a killed client inside CLIENT KILL: the very next command no longer sees it.
    let s = TestServer::start();
    let mut killer = s.raw();
    let my_id = raw_client_id(&mut killer);
    let mut victims: Vec<RawConn> = (0..5).map(|_| s.raw()).collect();
    for v in &mut victims {
        v.roundtrip(b"PING\r\n", b"+PONG\r\n");
    }
    killer.send(b"CLIENT KILL USER default\r\nCLIENT LIST\r\nCLIENT KILL USER default\r\n");
    assert_eq!(read_line(&mut killer), ":5");
    let list = String::from_utf8_lossy(&read_frame(&mut killer)).into_owned();
    let ids: Vec<String> = list.lines().skip(1).filter(|l| !l.is_empty()).map(|l| fields(l)[0].1.clone()).collect();
    assert_eq!(ids, [my_id.to_string()], "CLIENT LIST right after CLIENT KILL: {list}");
    assert_eq!(read_line(&mut killer), ":0", "the killed clients are not killed twice");
    let mut v = s.raw();
    let vid = raw_client_id(&mut v);
    killer.send(format!("CLIENT KILL ID {vid}\r\nCLIENT KILL ID {vid}\r\n").as_bytes());
    assert_eq!(read_line(&mut killer), ":1");
    assert_eq!(read_line(&mut killer), ":0");
    assert!(v.is_closed());
}

#[test]
fn client_kill_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "ID", "0"]), "ERR client-id should be greater than 0");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "ID", "abc"]), "ERR client-id should be greater than 0");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "USER", "nobody"]), "ERR No such user 'nobody'");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "SKIPME", "maybe"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "foo", "bar"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "ID", "1", "SKIPME"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["CLIENT", "KILL", "TYPE", "foo"]), "ERR Unknown client type 'foo'");
    assert_eq!(err(&mut c, &["CLIENT", "KILL"]), "ERR wrong number of arguments for 'client|kill' command");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

// ---------------------------------------------------------------- CLIENT SETINFO / NO-EVICT

#[test]
fn client_setinfo_lib_name_and_version() {
    let s = TestServer::start();
    let mut c = s.conn();
    let id = client_id(&mut c);
    let mine = |c: &mut redis::Connection| {
        client_list(c, &[]).into_iter().find(|f| f["id"] == id.to_string()).expect("own line")
    };
    assert_eq!(mine(&mut c)["lib-name"], "redis-rs");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETINFO", "lib-name", "mylib"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-VER", "1.2.3"]), "OK");
    let f = mine(&mut c);
    assert_eq!(f["lib-name"], "mylib");
    assert_eq!(f["lib-ver"], "1.2.3");
    let info = text(&reply(&mut c, &["CLIENT", "INFO"]));
    assert!(info.contains(" lib-name=mylib lib-ver=1.2.3"), "{info}");
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-name", "a b"]),
        "ERR lib-name cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-ver", "1\n2"]),
        "ERR lib-ver cannot contain spaces, newlines or special characters."
    );
    assert_eq!(err(&mut c, &["CLIENT", "SETINFO", "foo", "bar"]), "ERR Unrecognized option 'foo'");
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-name"]),
        "ERR wrong number of arguments for 'client|setinfo' command"
    );
    assert_eq!(mine(&mut c)["lib-name"], "mylib", "refused values change nothing");
    // A raw connection that never sent SETINFO has empty fields.
    let mut r = s.raw();
    let rid = raw_client_id(&mut r);
    let f = client_list(&mut c, &["ID", &rid.to_string()]);
    assert_eq!(f[0]["lib-name"], "");
    assert_eq!(f[0]["lib-ver"], "");
}

#[test]
fn client_no_evict() {
    let s = TestServer::start();
    let mut c = s.conn();
    let flags = |c: &mut redis::Connection| {
        let info = text(&reply(c, &["CLIENT", "INFO"]));
        fields(info.trim_end()).into_iter().find(|(k, _)| k == "flags").map(|(_, v)| v).unwrap_or_default()
    };
    assert!(!flags(&mut c).contains('e'));
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "on"]), "OK");
    assert!(flags(&mut c).contains('e'));
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "OFF"]), "OK");
    assert!(!flags(&mut c).contains('e'));
    assert_eq!(err(&mut c, &["CLIENT", "NO-EVICT", "maybe"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["CLIENT", "NO-EVICT"]), "ERR wrong number of arguments for 'client|no-evict' command");
}

// ---------------------------------------------------------------- CLIENT REPLY

#[test]
fn client_reply_on_off_skip() {
    let s = TestServer::start();
    let mut r = s.raw();
    // OFF: no reply to OFF itself nor to what follows; ON replies +OK.
    r.send(b"CLIENT REPLY OFF\r\nPING\r\nSET k v\r\nCLIENT REPLY ON\r\nPING\r\n");
    r.roundtrip(b"", b"+OK\r\n+PONG\r\n");
    // The SET ran even though its reply was suppressed.
    r.roundtrip(b"GET k\r\n", b"$1\r\nv\r\n");
    // SKIP: no reply to SKIP itself nor to the next command; the one after replies.
    r.send(b"CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\nPING c\r\n");
    r.roundtrip(b"", b"$1\r\nb\r\n$1\r\nc\r\n");
    // SKIP while OFF stays OFF.
    r.send(b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nPING x\r\nPING y\r\nCLIENT REPLY ON\r\nPING z\r\n");
    r.roundtrip(b"", b"+OK\r\n$1\r\nz\r\n");
    // Errors are replies too: suppressed while OFF, sent when ON.
    r.send(b"CLIENT REPLY OFF\r\nNOSUCHCOMMAND\r\nCLIENT REPLY ON\r\nCLIENT REPLY maybe\r\n");
    r.roundtrip(b"", b"+OK\r\n-ERR syntax error\r\n");
    // Nothing else is pending.
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

// ---------------------------------------------------------------- CLIENT PAUSE / UNPAUSE

#[test]
fn client_pause_write_blocks_writes_not_reads() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut reader = s.conn();
    let mut writer = s.conn();
    assert_eq!(q::<String>(&mut admin, &["SET", "pk", "old"]), "OK");
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "PAUSE", "100000", "WRITE"]), "OK");
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let r: redis::RedisResult<String> = redis::cmd("SET").arg("pk").arg("new").query(&mut writer);
        tx.send(r.map_err(|e| e.to_string())).expect("send");
    });
    // Reads go through while writes are paused.
    for _ in 0..5 {
        assert_eq!(q::<String>(&mut reader, &["GET", "pk"]), "old");
        assert_eq!(q::<String>(&mut reader, &["PING"]), "PONG");
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(rx.try_recv().is_err(), "the SET must still be waiting during a 100 s WRITE pause");
    assert_eq!(q::<String>(&mut reader, &["GET", "pk"]), "old");
    // The paused writer counts as blocked, as in Redis.
    assert_eq!(info_u64(&mut reader, "blocked_clients"), 1);
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "UNPAUSE"]), "OK");
    let got = rx.recv_timeout(Duration::from_secs(10)).expect("SET eventually replied after UNPAUSE");
    assert_eq!(got, Ok("OK".to_string()));
    t.join().expect("writer thread");
    assert_eq!(q::<String>(&mut reader, &["GET", "pk"]), "new");
    assert_eq!(info_u64(&mut reader, "blocked_clients"), 0);
}

#[test]
fn client_pause_all_expires_on_its_own() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut other = s.conn();
    assert_eq!(q::<String>(&mut admin, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "PAUSE", "300"]), "OK");
    // Paused for reads too, but only for 300 ms: the GET is eventually answered.
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "v");
    assert_eq!(q::<String>(&mut admin, &["CLIENT", "PAUSE", "200", "ALL"]), "OK");
    assert_eq!(q::<String>(&mut other, &["SET", "k", "w"]), "OK");
    assert_eq!(q::<String>(&mut admin, &["GET", "k"]), "w");
}

#[test]
fn client_pause_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "abc"]), "ERR timeout is not an integer or out of range");
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "-1"]), "ERR timeout is negative");
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE"]), "ERR wrong number of arguments for 'client|pause' command");
    assert_eq!(err(&mut c, &["CLIENT", "UNPAUSE", "x"]), "ERR wrong number of arguments for 'client|unpause' command");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "UNPAUSE"]), "OK", "UNPAUSE without a pause is fine");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK", "the refused pauses paused nothing");
}

#[test]
fn client_pause_bad_mode_text() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "10", "foo"]), "ERR CLIENT PAUSE mode must be WRITE or ALL");
}

// ---------------------------------------------------------------- MONITOR

#[test]
fn monitor_sees_other_clients_commands() {
    let s = TestServer::start();
    let mut m = s.raw();
    m.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["SELECT", "5"]), "OK");
    assert_eq!(q::<String>(&mut c, &["ECHO", "two words\n"]), "two words\n");
    let mut seen = Vec::new();
    let mut set_line = None;
    while set_line.is_none() || !seen.iter().any(|l: &String| l.contains("\"ECHO\"")) {
        assert!(seen.len() < 100, "MONITOR lines so far: {seen:#?}");
        let line = read_line(&mut m);
        if line.contains(r#""SET" "k" "v""#) || line.contains(r#""set" "k" "v""#) {
            set_line = Some(line.clone());
        }
        seen.push(line);
    }
    let set_line = set_line.unwrap_or_default();
    assert!(set_line.starts_with('+'), "{set_line}");
    assert!(set_line.contains("[0 127.0.0.1:"), "db and client address: {set_line}");
    let echo = seen.iter().find(|l| l.contains("\"ECHO\"")).cloned().unwrap_or_default();
    assert!(echo.contains("[5 127.0.0.1:"), "db after SELECT: {echo}");
    assert!(echo.ends_with(r#""ECHO" "two words\n""#), "arguments are quoted and escaped: {echo}");
    let list = client_list(&mut c, &[]);
    assert!(list.iter().any(|f| f["flags"].contains('O')), "monitor flag in CLIENT LIST");
}

#[test]
fn monitor_shows_a_script_before_the_commands_it_issues() {
    let s = TestServer::start();
    let mut m = s.raw();
    m.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
    let mut c = s.conn();
    let _: () = q(&mut c, &["EVAL", "redis.call('set', KEYS[1], ARGV[1])", "1", "foo", "bar"]);
    let lib = "#!lua name=mon\nredis.register_function('f', function() return redis.call('get', 'foo') end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", "REPLACE", lib]);
    let _: String = q(&mut c, &["FCALL", "f", "0"]);
    // The client library's own CLIENT SETINFO lines come first.
    let lines: Vec<String> =
        std::iter::repeat_with(|| read_line(&mut m)).filter(|l| !l.contains(r#""CLIENT""#)).take(5).collect();
    assert!(lines[0].contains(r#""EVAL" "redis.call('set', KEYS[1], ARGV[1])" "1" "foo" "bar""#), "{lines:#?}");
    assert!(lines[1].ends_with(r#"[0 lua] "set" "foo" "bar""#), "{lines:#?}");
    assert!(lines[2].contains(r#""FUNCTION" "LOAD""#), "{lines:#?}");
    assert!(lines[3].ends_with(r#""FCALL" "f" "0""#), "{lines:#?}");
    assert!(lines[4].ends_with(r#"[0 lua] "get" "foo""#), "{lines:#?}");
}

#[test]
fn client_memory_is_measured_from_its_buffers_and_given_back_when_idle() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = s.raw();
    let raw_id = raw_client_id(&mut r).to_string();
    let mem_clients = |c: &mut redis::Connection| -> u64 {
        let text: String = q(c, &["INFO", "memory"]);
        let line = text.lines().find(|l| l.starts_with("mem_clients_normal:")).expect("mem_clients_normal");
        line["mem_clients_normal:".len()..].trim().parse().expect("number")
    };
    let before = mem_clients(&mut c);

    // Half of a 200 KB argument sits in the raw client's query buffer.
    r.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$200000\r\n");
    r.send(&vec![b'x'; 100_000]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let raw = loop {
        let raw = client_list(&mut c, &[]).into_iter().find(|f| f["id"] == raw_id).expect("raw client listed");
        if raw["qbuf"].parse::<usize>().expect("qbuf") >= 100_000 {
            break raw;
        }
        assert!(std::time::Instant::now() < deadline, "query buffer never filled: {raw:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(raw["tot-mem"].parse::<usize>().expect("tot-mem") >= 100_000, "{raw:?}");
    assert!(mem_clients(&mut c) >= before + 100_000);

    // Once the command completes and the client idles, its buffers are given back.
    r.send(&vec![b'x'; 100_000]);
    r.send(b"\r\n");
    assert_eq!(r.read_n(5), b"+OK\r\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let raw = client_list(&mut c, &[]).into_iter().find(|f| f["id"] == raw_id).expect("raw client listed");
        let tot: usize = raw["tot-mem"].parse().expect("tot-mem");
        if raw["qbuf"] == "0" && tot < 4096 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "idle client kept its buffers: {raw:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(mem_clients(&mut c) < before + 100_000);
}

#[test]
fn a_busy_client_gives_back_a_query_buffer_grown_by_one_big_request() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = s.raw();
    let raw_id = raw_client_id(&mut r).to_string();
    let mem = |c: &mut redis::Connection| -> usize {
        let me = client_list(c, &[]).into_iter().find(|f| f["id"] == raw_id).expect("listed");
        me["tot-mem"].parse::<usize>().expect("tot-mem")
    };
    // A big value that arrives in pieces grows the buffer, which keeps that room after the command.
    let mut grown = 0;
    for _ in 0..5 {
        r.send(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$400000\r\n");
        for _ in 0..25 {
            r.send(&[b'A'; 16_000]);
            std::thread::sleep(Duration::from_millis(1));
        }
        r.send(b"\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(r.read_n(12), b"+OK\r\n+PONG\r\n");
        grown = mem(&mut c);
        if grown > 300_000 {
            break;
        }
    }
    assert!(grown > 300_000, "the buffer grew for the request: {grown}");
    // The client never idles: a PING every 50 ms. Its buffer is trimmed all the same (Redis's resize by peak).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        r.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
        let now = mem(&mut c);
        if now < 64 * 1024 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "busy client kept its buffer: {grown} then {now} bytes");
        std::thread::sleep(Duration::from_millis(50));
    }
}
