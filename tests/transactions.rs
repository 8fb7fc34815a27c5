//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH; optimistic locking races and atomicity.

mod common;
use common::*;
use redis::{ConnectionLike, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

fn queued() -> Value {
    Value::SimpleString("QUEUED".into())
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn server_error_text(v: &Value) -> String {
    match v {
        Value::ServerError(e) => format!("{} {}", e.code(), e.details().unwrap_or("")).trim().to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// WATCH `key` on a fresh connection, let `other` run `change`, then MULTI / SET marker / EXEC; returns EXEC's reply.
fn watch_then(s: &TestServer, key: &str, change: &[&[&str]]) -> Value {
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(q::<String>(&mut a, &["WATCH", key]), "OK");
    for cmd in change {
        reply(&mut b, cmd);
    }
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "marker", "ran"]), queued());
    reply(&mut a, &["EXEC"])
}

// ---------------------------------------------------------------- basics

#[test]
fn multi_exec_queues_and_runs_in_order() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(reply(&mut c, &["INCR", "a"]), queued());
    assert_eq!(reply(&mut c, &["GET", "a"]), queued());
    assert_eq!(reply(&mut c, &["GET", "missing"]), queued());
    assert_eq!(reply(&mut c, &["PING"]), queued());
    // Nothing ran yet: another client sees no key.
    let mut other = s.conn();
    assert_eq!(q::<Option<String>>(&mut other, &["GET", "a"]), None);
    let info: String = q(&mut other, &["CLIENT", "LIST"]);
    assert!(info.contains("flags=x") && info.contains("multi=5"), "MULTI flag and queue length: {info}");
    assert_eq!(
        reply(&mut c, &["EXEC"]),
        Value::Array(vec![Value::Okay, Value::Int(2), bulk("2"), Value::Nil, Value::SimpleString("PONG".into())])
    );
    assert_eq!(q::<String>(&mut other, &["GET", "a"]), "2");
    // An empty transaction.
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["EXEC"]), Value::Array(vec![]));
}

#[test]
fn multi_exec_byte_level() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SET k v\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"GET k\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"EXEC\r\n", b"*2\r\n+OK\r\n$1\r\nv\r\n");
    // Pipelined in one write.
    r.roundtrip(b"MULTI\r\nINCR n\r\nINCR n\r\nEXEC\r\n", b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n");
}

#[test]
fn discard_drops_the_queue() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(reply(&mut c, &["DISCARD"]), Value::Okay);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "a"]), None);
    assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
    // Commands run normally again.
    assert_eq!(reply(&mut c, &["SET", "a", "2"]), Value::Okay);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "2");
}

#[test]
fn exec_and_discard_without_multi() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
    assert_eq!(err(&mut c, &["DISCARD"]), "ERR DISCARD without MULTI");
    // Redis 7.0 rejects a malformed EXEC through execCommandAbort, even outside MULTI.
    assert_eq!(
        err(&mut c, &["EXEC", "x"]),
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    );
    assert_eq!(err(&mut c, &["DISCARD", "x"]), "ERR wrong number of arguments for 'discard' command");
    assert_eq!(err(&mut c, &["MULTI", "x"]), "ERR wrong number of arguments for 'multi' command");
    assert_eq!(reply(&mut c, &["UNWATCH"]), Value::Okay, "UNWATCH without WATCH is fine");
}

#[test]
fn nested_multi_is_an_error_but_keeps_the_transaction() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(err(&mut c, &["MULTI"]), "ERR MULTI calls can not be nested");
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(reply(&mut c, &["EXEC"]), Value::Array(vec![Value::Okay]));
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
}

#[test]
fn watch_inside_multi_is_an_error_but_keeps_the_transaction() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(err(&mut c, &["WATCH", "x"]), "ERR WATCH inside MULTI is not allowed");
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(reply(&mut c, &["EXEC"]), Value::Array(vec![Value::Okay]));
}

#[test]
fn queue_time_unknown_command_aborts_exec() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(err(&mut c, &["NOSUCHCMD", "x"]), "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x'");
    assert_eq!(reply(&mut c, &["SET", "b", "1"]), queued(), "commands still queue after the error");
    assert_eq!(err(&mut c, &["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "a"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "b"]), None);
    assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI", "EXECABORT ends the transaction");
}

#[test]
fn queue_time_arity_error_aborts_exec() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SET a 1\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    r.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    r.roundtrip(b"GET a\r\n", b"$-1\r\n");
    // Unknown subcommand at queue time aborts as well.
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"CONFIG NOSUCH\r\n", b"-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n");
    r.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    // A command refused inside MULTI (SHUTDOWN) aborts too.
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"SHUTDOWN\r\n", b"-ERR Command not allowed inside a transaction\r\n");
    r.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn discard_after_queue_error_resets() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(err(&mut c, &["GET"]), "ERR wrong number of arguments for 'get' command");
    assert_eq!(reply(&mut c, &["DISCARD"]), Value::Okay);
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SET", "a", "1"]), queued());
    assert_eq!(reply(&mut c, &["EXEC"]), Value::Array(vec![Value::Okay]), "a new MULTI starts clean");
}

#[test]
fn runtime_errors_do_not_abort_other_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SET", "s", "abc"]), queued());
    assert_eq!(reply(&mut c, &["INCR", "s"]), queued());
    assert_eq!(reply(&mut c, &["SET", "t", "1"]), queued());
    assert_eq!(reply(&mut c, &["SELECT", "99"]), queued());
    assert_eq!(reply(&mut c, &["INCR", "t"]), queued());
    let v = reply(&mut c, &["EXEC"]);
    let Value::Array(items) = v else { panic!("EXEC should answer an array, got {v:?}") };
    assert_eq!(items.len(), 5);
    assert_eq!(items[0], Value::Okay);
    assert_eq!(server_error_text(&items[1]), "ERR value is not an integer or out of range");
    assert_eq!(items[2], Value::Okay);
    assert_eq!(server_error_text(&items[3]), "ERR DB index is out of range");
    assert_eq!(items[4], Value::Int(2));
    assert_eq!(q::<String>(&mut c, &["GET", "s"]), "abc");
    assert_eq!(q::<String>(&mut c, &["GET", "t"]), "2");
}

#[test]
fn select_inside_multi_applies_to_later_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut c, &["SELECT", "1"]), queued());
    assert_eq!(reply(&mut c, &["SET", "k", "in1"]), queued());
    assert_eq!(reply(&mut c, &["EXEC"]), Value::Array(vec![Value::Okay, Value::Okay]));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "in1", "the SELECT stays in effect after EXEC");
    assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
}

// ---------------------------------------------------------------- WATCH

#[test]
fn watch_aborts_when_another_client_modifies_the_key() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(q::<String>(&mut a, &["SET", "w", "1"]), "OK");
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(q::<String>(&mut b, &["SET", "w", "2"]), "OK");
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "w", "from-a"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Nil);
    assert_eq!(q::<String>(&mut a, &["GET", "w"]), "2");
    // The watch is consumed by EXEC: the next transaction goes through.
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "w", "from-a"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Array(vec![Value::Okay]));
    assert_eq!(q::<String>(&mut a, &["GET", "w"]), "from-a");
}

#[test]
fn watch_nil_reply_bytes_resp2_and_resp3() {
    let s = TestServer::start();
    let mut b = s.conn();
    let mut r = s.raw();
    r.roundtrip(b"WATCH w\r\n", b"+OK\r\n");
    assert_eq!(q::<String>(&mut b, &["SET", "w", "x"]), "OK");
    r.roundtrip(b"MULTI\r\nPING\r\nEXEC\r\n", b"+OK\r\n+QUEUED\r\n*-1\r\n");
    let mut r3 = s.raw();
    // HELLO 3 and a PING that marks the end of the HELLO map.
    r3.send(b"HELLO 3\r\nPING\r\n");
    let mut tail = Vec::new();
    while !tail.ends_with(b"+PONG\r\n") {
        let more = r3.read_n(1);
        assert!(!more.is_empty(), "connection closed");
        tail.extend_from_slice(&more);
    }
    assert!(tail.starts_with(b"%7\r\n"), "{:?}", String::from_utf8_lossy(&tail));
    r3.roundtrip(b"WATCH w\r\n", b"+OK\r\n");
    assert_eq!(q::<String>(&mut b, &["SET", "w", "y"]), "OK");
    r3.roundtrip(b"MULTI\r\nPING\r\nEXEC\r\n", b"+OK\r\n+QUEUED\r\n_\r\n");
}

#[test]
fn watch_ignores_unrelated_keys() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(
        watch_then(&s, "w", &[&["SET", "other", "1"], &["GET", "w"], &["EXISTS", "w"]]),
        Value::Array(vec![Value::Okay])
    );
    // The same key name in another database is a different key.
    assert_eq!(watch_then(&s, "w", &[&["SELECT", "1"], &["SET", "w", "db1"]]), Value::Array(vec![Value::Okay]));
    // Deleting a key that does not exist changes nothing.
    assert_eq!(watch_then(&s, "absent", &[&["DEL", "absent"]]), Value::Array(vec![Value::Okay]));
    // A failed write (wrong arity, NX on an existing key) changes nothing either.
    assert_eq!(watch_then(&s, "w", &[&["SET", "w", "9", "NX"]]), Value::Array(vec![Value::Okay]));
    assert_eq!(q::<String>(&mut setup, &["GET", "w"]), "1");
}

#[test]
fn watch_sees_writes_that_keep_the_value() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["SET", "w", "1"]]), Value::Nil, "rewriting the same value still counts");
    assert_eq!(watch_then(&s, "w", &[&["INCRBY", "w", "0"]]), Value::Nil);
    assert_eq!(watch_then(&s, "w", &[&["APPEND", "w", ""]]), Value::Nil);
}

#[test]
fn watch_sees_own_modification() {
    let s = TestServer::start();
    let mut a = s.conn();
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(q::<String>(&mut a, &["SET", "w", "mine"]), "OK");
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["GET", "w"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Nil);
}

#[test]
fn watch_sees_del_and_expire() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["DEL", "w"]]), Value::Nil);
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["EXPIRE", "w", "100"]]), Value::Nil);
    assert_eq!(watch_then(&s, "w", &[&["PERSIST", "w"]]), Value::Nil);
    assert_eq!(watch_then(&s, "w", &[&["UNLINK", "w"]]), Value::Nil);
    // Creating a watched key that did not exist counts.
    assert_eq!(watch_then(&s, "w", &[&["SET", "w", "new"]]), Value::Nil);
}

#[test]
fn watch_sees_key_expiry() {
    let s = TestServer::start();
    let mut a = s.conn();
    assert_eq!(q::<String>(&mut a, &["SET", "w", "1", "PX", "50"]), "OK");
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "marker", "ran"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Nil);
    assert_eq!(q::<Option<String>>(&mut a, &["GET", "marker"]), None);
    // Same with active expiry off: the key is still stored, but EXEC must notice it expired.
    assert_eq!(q::<String>(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "OK");
    assert_eq!(q::<String>(&mut a, &["SET", "w", "1", "PX", "50"]), "OK");
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "marker", "ran"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Nil);
    assert_eq!(q::<String>(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "OK");
}

#[test]
fn watch_of_already_expired_key_is_not_dirty() {
    // A key that had expired before WATCH counts as absent, not as a later change.
    let s = TestServer::start();
    let mut a = s.conn();
    assert_eq!(q::<String>(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "OK");
    assert_eq!(q::<String>(&mut a, &["SET", "w", "1", "PX", "20"]), "OK");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["SET", "marker", "ran"]), queued());
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Array(vec![Value::Okay]));
}

#[test]
fn watch_sees_flushdb_and_flushall() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["FLUSHDB"]]), Value::Nil);
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["FLUSHALL"]]), Value::Nil);
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["FLUSHDB", "ASYNC"]]), Value::Nil);
    // Flushing another database leaves the watch alone.
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["SELECT", "1"], &["FLUSHDB"]]), Value::Array(vec![Value::Okay]));
}

#[test]
fn watch_sees_swapdb() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["SWAPDB", "0", "1"]]), Value::Nil);
    // Now w lives in db 1 only; swapping it back in also touches the watch in db 0.
    assert_eq!(watch_then(&s, "w", &[&["SWAPDB", "0", "1"]]), Value::Nil);
    // Swapping two other databases does not.
    assert_eq!(watch_then(&s, "w", &[&["SWAPDB", "2", "3"]]), Value::Array(vec![Value::Okay]));
}

#[test]
fn watch_sees_rename_source_and_destination() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "w", "1"]);
    assert_eq!(watch_then(&s, "w", &[&["RENAME", "w", "z"]]), Value::Nil);
    assert_eq!(watch_then(&s, "w", &[&["RENAME", "z", "w"]]), Value::Nil);
    assert_eq!(watch_then(&s, "w", &[&["MOVE", "w", "1"]]), Value::Nil);
}

#[test]
fn unwatch_and_discard_forget_watches() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(q::<String>(&mut a, &["WATCH", "w", "v"]), "OK");
    assert_eq!(q::<String>(&mut a, &["UNWATCH"]), "OK");
    q::<String>(&mut b, &["SET", "w", "1"]);
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Array(vec![]));

    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["DISCARD"]), Value::Okay);
    q::<String>(&mut b, &["SET", "w", "2"]);
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Array(vec![]), "DISCARD dropped the WATCH");
    assert_eq!(err(&mut a, &["WATCH"]), "ERR wrong number of arguments for 'watch' command");
}

#[test]
fn watch_several_keys_any_change_aborts() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(q::<String>(&mut a, &["WATCH", "k1", "k2"]), "OK");
    assert_eq!(q::<String>(&mut a, &["WATCH", "k3"]), "OK");
    q::<String>(&mut b, &["SET", "k3", "x"]);
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Nil);
}

#[test]
fn watch_then_exec_abort_on_queue_error_clears_watch() {
    let s = TestServer::start();
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(q::<String>(&mut a, &["WATCH", "w"]), "OK");
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(err(&mut a, &["GET"]), "ERR wrong number of arguments for 'get' command");
    assert_eq!(err(&mut a, &["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
    q::<String>(&mut b, &["SET", "w", "1"]);
    assert_eq!(reply(&mut a, &["MULTI"]), Value::Okay);
    assert_eq!(reply(&mut a, &["EXEC"]), Value::Array(vec![]));
}

// ---------------------------------------------------------------- races

#[test]
fn concurrent_watch_incr_loses_no_update() {
    let s = TestServer::start();
    let mut setup = s.conn();
    q::<String>(&mut setup, &["SET", "counter", "0"]);
    let mut threads = Vec::new();
    for _ in 0..2 {
        let mut c = s.conn();
        threads.push(std::thread::spawn(move || {
            let mut retries = 0u64;
            for _ in 0..200 {
                loop {
                    assert_eq!(q::<String>(&mut c, &["WATCH", "counter"]), "OK");
                    let n: i64 = q(&mut c, &["GET", "counter"]);
                    assert_eq!(reply(&mut c, &["MULTI"]), Value::Okay);
                    assert_eq!(reply(&mut c, &["SET", "counter", &(n + 1).to_string()]), queued());
                    match reply(&mut c, &["EXEC"]) {
                        Value::Nil => retries += 1,
                        Value::Array(v) if v == [Value::Okay] => break,
                        other => panic!("unexpected EXEC reply {other:?}"),
                    }
                }
            }
            retries
        }));
    }
    let retries: u64 = threads.into_iter().map(|t| t.join().expect("incrementer")).sum();
    assert_eq!(q::<i64>(&mut setup, &["GET", "counter"]), 400, "after {retries} retries");
}

#[test]
fn transactions_are_atomic_to_other_readers() {
    let s = TestServer::start();
    let mut w = s.conn();
    q::<String>(&mut w, &["MSET", "a", "0", "b", "0"]);
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for kind in 0..2 {
        let mut r = s.conn();
        let done = done.clone();
        readers.push(std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) || reads < 50 {
                let (a, b): (i64, i64) = if kind == 0 {
                    let v: Vec<i64> = q(&mut r, &["MGET", "a", "b"]);
                    (v[0], v[1])
                } else {
                    assert_eq!(reply(&mut r, &["MULTI"]), Value::Okay);
                    reply(&mut r, &["GET", "a"]);
                    reply(&mut r, &["GET", "b"]);
                    let v: Vec<i64> = q(&mut r, &["EXEC"]);
                    (v[0], v[1])
                };
                assert_eq!(a, b, "a reader saw half a transaction after {reads} reads");
                reads += 1;
            }
            reads
        }));
    }
    const ROUNDS: i64 = 300;
    const PAIRS: i64 = 20;
    for _ in 0..ROUNDS {
        assert_eq!(reply(&mut w, &["MULTI"]), Value::Okay);
        for _ in 0..PAIRS {
            assert_eq!(reply(&mut w, &["INCR", "a"]), queued());
            assert_eq!(reply(&mut w, &["INCR", "b"]), queued());
        }
        let Value::Array(v) = reply(&mut w, &["EXEC"]) else { panic!("EXEC failed") };
        assert_eq!(v.len() as i64, PAIRS * 2);
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") >= 50);
    }
    assert_eq!(q::<Vec<i64>>(&mut w, &["MGET", "a", "b"]), [ROUNDS * PAIRS, ROUNDS * PAIRS]);
}
