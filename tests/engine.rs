//! The engine without a network: a detached session runs commands through the same gate a connection uses, as a
//! script, a replica link or a change-log replay will.

use bytes::Bytes;
use strata::engine::{execute, Outcome, Server, Session};
use strata::protocol::Reply;

fn run(srv: &Server, s: &mut Session, words: &[&str]) -> Reply {
    let argv: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
    match execute(srv, s, &argv) {
        Outcome::Reply(r) => r,
        other => panic!("{words:?}: {other:?}"),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn server() -> Server {
    Server::new(strata::Config::embedded().expect("embedded config"), strata::commands::table())
}

#[test]
fn a_detached_session_runs_commands_through_the_gate() {
    let srv = server();
    let mut s = Session::detached(&srv);
    assert_eq!(run(&srv, &mut s, &["SET", "k", "v"]), Reply::OK);
    assert_eq!(run(&srv, &mut s, &["GET", "k"]), bulk("v"));
    // The gate's own checks apply: arity, unknown commands, wrong types.
    assert_eq!(run(&srv, &mut s, &["GET"]), Reply::Error("ERR wrong number of arguments for 'get' command".into()));
    assert!(matches!(run(&srv, &mut s, &["NOSUCH"]), Reply::Error(e) if e.starts_with("ERR unknown command 'NOSUCH'")));
    assert!(matches!(run(&srv, &mut s, &["LPUSH", "k", "x"]), Reply::Error(e) if e.starts_with("WRONGTYPE")));
    // MULTI queueing and EXEC.
    assert_eq!(run(&srv, &mut s, &["MULTI"]), Reply::OK);
    assert_eq!(run(&srv, &mut s, &["INCR", "n"]), Reply::Simple("QUEUED"));
    assert_eq!(run(&srv, &mut s, &["INCR", "n"]), Reply::Simple("QUEUED"));
    assert_eq!(run(&srv, &mut s, &["EXEC"]), Reply::Array(vec![Reply::Int(1), Reply::Int(2)]));
    // The session keeps its own database.
    assert_eq!(run(&srv, &mut s, &["SELECT", "1"]), Reply::OK);
    assert_eq!(run(&srv, &mut s, &["DBSIZE"]), Reply::Int(0));
    let mut other = Session::detached(&srv);
    assert_eq!(run(&srv, &mut other, &["DBSIZE"]), Reply::Int(2));
}

#[test]
fn detached_sessions_are_not_listed_as_clients() {
    let srv = server();
    let mut s = Session::detached(&srv);
    let list = format!("{:?}", run(&srv, &mut s, &["CLIENT", "LIST"]));
    assert!(!list.contains(&format!("id={} ", s.info.id)), "{list}");
    assert_eq!(run(&srv, &mut s, &["CLIENT", "ID"]), Reply::Int(s.info.id as i64));
}

#[test]
fn a_refused_exec_discards_the_transaction() {
    let srv = server();
    let mut s = Session::detached(&srv);
    assert_eq!(run(&srv, &mut s, &["MULTI"]), Reply::OK);
    assert!(matches!(run(&srv, &mut s, &["GET"]), Reply::Error(_)));
    assert!(matches!(run(&srv, &mut s, &["EXEC"]), Reply::Error(e) if e.starts_with("EXECABORT")));
    assert!(s.multi.is_none());
    assert_eq!(run(&srv, &mut s, &["EXEC"]), Reply::Error("ERR EXEC without MULTI".into()));
}

/// Bytes this thread allocated while `f` ran (jemalloc's per-thread counter; the crate's global allocator).
fn allocated_by(f: impl FnOnce()) -> u64 {
    let counter = tikv_jemalloc_ctl::thread::allocatedp::mib().and_then(|m| m.read()).expect("jemalloc thread stats");
    let before = counter.get();
    f();
    counter.get() - before
}

#[test]
fn set_without_an_effect_consumer_allocates_nothing_for_its_effect() {
    let srv = server();
    let mut s = Session::detached(&srv);
    // 64 bytes: one jemalloc size class, so the stored copy of the value counts exactly its length.
    let value = Bytes::from_static(&[b'v'; 64]);
    let argv = [Bytes::from_static(b"SET"), Bytes::from_static(b"key:1"), value.clone()];
    let set = |s: &mut Session| assert!(matches!(execute(&srv, s, &argv), Outcome::Reply(Reply::Simple(_))));
    // Warm up: the key exists and the command's latency histogram is allocated.
    for _ in 0..100 {
        set(&mut s);
    }
    let before = srv.effects.offset();
    // The stored copy of the value is all an overwrite allocates: the smallest effect (a Vec of three `Bytes`,
    // 96 bytes) would show above it.
    assert_eq!(allocated_by(|| (0..1000).for_each(|_| set(&mut s))), 1000 * value.len() as u64);
    assert!(srv.effects.offset() > before, "the effects are counted in the offset all the same");
    // With a consumer attached the same SETs reach the log.
    let mut consumer = srv.effects.subscribe();
    set(&mut s);
    let group = consumer.try_next().expect("in the backlog").expect("one group");
    assert_eq!(group.commands().last().map(|c| c[0].clone()), Some(Bytes::from_static(b"SET")));
}
