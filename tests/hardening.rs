//! Regression tests for the ways an ordinary client could hang, starve or exhaust the server: transactions that
//! deadlocked, pipelines larger than the socket buffers, unbounded input while blocked, whole-value copies on
//! in-place bit and range writes, and the protected defaults.

mod common;
use common::*;
use std::time::Duration;

/// A `redis` crate connection that gives up after `secs` instead of hanging the test.
fn timed_conn(s: &TestServer, secs: u64) -> redis::Connection {
    let c = s.conn();
    c.set_read_timeout(Some(Duration::from_secs(secs))).expect("timeout");
    c.set_write_timeout(Some(Duration::from_secs(secs))).expect("timeout");
    c
}

/// Every command that reads the whole keyspace or several shards, inside a transaction that already holds a
/// key's shard: EXEC used to hold that shard while INFO locked every shard, and no client got an answer again.
#[test]
fn transactions_with_keyspace_wide_commands_do_not_wedge_the_server() {
    let s = TestServer::start();
    let mut c = timed_conn(&s, 10);
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).expect("set");
    let bodies: &[&[&str]] = &[
        &["INFO"],
        &["INFO", "keyspace"],
        &["INFO", "memory"],
        &["INFO", "all"],
        &["INFO", "everything"],
        &["MEMORY", "STATS"],
        &["MEMORY", "DOCTOR"],
        &["MEMORY", "USAGE", "zz"],
        &["DBSIZE"],
        &["KEYS", "*"],
        &["SCAN", "0"],
        &["RANDOMKEY"],
        &["CLIENT", "LIST"],
        &["CONFIG", "GET", "maxmemory"],
        &["SWAPDB", "0", "1"],
        &["FLUSHDB"],
    ];
    for body in bodies {
        let mut p = redis::pipe();
        p.atomic().cmd("GET").arg("a").cmd("SET").arg("zz").arg("v");
        let mut cmd = redis::cmd(body[0]);
        for a in &body[1..] {
            cmd.arg(*a);
        }
        p.add_command(cmd);
        p.cmd("GET").arg("a");
        let r: redis::RedisResult<redis::Value> = p.query(&mut c);
        assert!(r.is_ok(), "MULTI; GET a; SET zz v; {body:?}; GET a; EXEC: {r:?}");
        // Another client is still served.
        let mut other = timed_conn(&s, 10);
        let pong: String = redis::cmd("PING").query(&mut other).expect("server still answers");
        assert_eq!(pong, "PONG");
        let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut c).expect("set");
    }
}

/// Two clients running transactions over overlapping keys together with INFO must both finish.
#[test]
fn concurrent_transactions_with_info_finish() {
    let s = TestServer::start();
    let port = s.port;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            std::thread::spawn(move || {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
                let mut c = client.get_connection().expect("connect");
                c.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
                for i in 0..200 {
                    let k1 = format!("k{}", (i * 7 + w) % 13);
                    let k2 = format!("k{}", (i * 3 + w * 5) % 17);
                    let r: redis::RedisResult<redis::Value> = redis::pipe()
                        .atomic()
                        .cmd("INCR")
                        .arg(&k1)
                        .cmd("INFO")
                        .arg(if i % 2 == 0 { "keyspace" } else { "memory" })
                        .cmd("INCR")
                        .arg(&k2)
                        .query(&mut c);
                    assert!(r.is_ok(), "worker {w} transaction {i}: {r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker finished");
    }
}
