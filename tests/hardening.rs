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

/// A client that writes its whole pipeline before reading any reply (redis-py's `pipeline().execute()`) must get
/// every reply: the server keeps reading and buffers replies the client is not reading yet.
#[test]
fn a_pipeline_written_before_reading_is_answered_in_full() {
    use std::io::{Read, Write};
    let s = TestServer::start();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    sock.set_write_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let value = "x".repeat(100);
    sock.write_all(format!("SET k {value}\r\n").as_bytes()).expect("set");
    let mut ok = [0u8; 5];
    sock.read_exact(&mut ok).expect("+OK");
    let n = 1_000_000;
    let request = b"GET k\r\n".repeat(n);
    // Written in one go, nothing read meanwhile: several MB more than the socket buffers hold in replies.
    sock.write_all(&request).expect("the server kept reading the pipeline");
    let want = n * format!("$100\r\n{value}\r\n").len();
    let mut got = 0;
    let mut buf = vec![0u8; 1 << 16];
    while got < want {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) => panic!("reading replies after {got} of {want} bytes: {e}"),
        }
    }
    assert_eq!(got, want, "every reply arrived");
}

/// While a client waits in BLPOP, what it keeps sending is held to `client-query-buffer-limit`, and the client
/// is closed when it passes it (it used to be read without any limit).
#[test]
fn a_blocked_client_input_is_held_to_the_query_buffer_limit() {
    use std::io::{Read, Write};
    let s = TestServer::start_with(&["--client-query-buffer-limit", "1mb"]);
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    sock.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    sock.write_all(b"BLPOP nothing 0\r\n*2\r\n$4\r\nECHO\r\n$100000000\r\n").expect("blpop");
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    // 4 MB against a 1 MB limit: the server closes the connection, so a write or the read below fails.
    while sent < 4 << 20 {
        if sock.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut b = [0u8; 16];
    // Closed: end of stream or a reset. A read that times out means the server kept the connection open.
    let closed = match sock.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    };
    assert!(closed, "the blocked client was closed at its query buffer limit after {sent} bytes");
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

/// `client-output-buffer-limit normal` is enforced: a client whose unread replies pass the hard limit is closed.
#[test]
fn the_normal_output_buffer_limit_closes_a_client_that_does_not_read() {
    use std::io::{Read, Write};
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("normal 1mb 512kb 0")
        .query(&mut c)
        .expect("config set");
    let limits: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("client-output-buffer-limit").query(&mut c).unwrap();
    assert_eq!(limits[1], "normal 1048576 524288 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    let _: () = redis::cmd("SET").arg("big").arg("y".repeat(100_000)).query(&mut c).expect("set");
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    sock.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    // 50 MB of replies requested, none read for a while.
    let _ = sock.write_all(&b"GET big\r\n".repeat(500));
    std::thread::sleep(Duration::from_millis(500));
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    assert!(got < 20_000_000, "the client was closed at its output limit ({got} bytes arrived)");
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert_eq!(clients.lines().count(), 1, "only the checking client is left: {clients}");
}

/// Where the bytes of the string at `key` (database 0) live.
fn stored_at(s: &TestServer, key: &[u8]) -> usize {
    use strata::store::{hash_key, StrValue, Value};
    let ks = &s.srv.keyspace;
    let h = hash_key(key);
    let shard = ks.lock(0, ks.shard_of(h));
    let idx = shard.data.find(h, key).expect("key present");
    match &shard.data.entry(idx).expect("entry").value {
        Value::Str(s @ (StrValue::Raw(_) | StrValue::Bytes(_))) => s.buf().unwrap_or_default().as_ptr() as usize,
        other => panic!("unexpected value {other:?}"),
    }
}

/// SETBIT, SETRANGE, BITFIELD and PFADD change a large string where it is stored: each used to copy the whole
/// value (a 100 Mbit bitmap managed a few hundred SETBITs a second and stalled other clients).
#[test]
fn bit_and_range_writes_modify_large_strings_in_place() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = redis::cmd("SETBIT").arg("big").arg(80_000_000).arg(1).query(&mut c).unwrap();
    let at = stored_at(&s, b"big");
    assert_eq!(q::<i64>(&mut c, &["SETBIT", "big", "5", "1"]), 0);
    assert_eq!(stored_at(&s, b"big"), at, "SETBIT kept the buffer");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "big", "100", "abc"]), 10_000_001);
    assert_eq!(stored_at(&s, b"big"), at, "SETRANGE kept the buffer");
    let r: Vec<i64> = redis::cmd("BITFIELD").arg("big").arg("INCRBY").arg("u8").arg(800).arg(7).query(&mut c).unwrap();
    assert_eq!(r, vec![b'a' as i64 + 7]);
    assert_eq!(stored_at(&s, b"big"), at, "BITFIELD kept the buffer");
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "big", "5"]), 1);
    assert_eq!(q::<i64>(&mut c, &["GETBIT", "big", "80000000"]), 1);
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "big", "100", "102"]), "hbc");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "big"]), 10_000_001);
    // An unchanged BITFIELD SET is no write; a missing key is created by a write only.
    let r: Vec<i64> = redis::cmd("BITFIELD").arg("big").arg("SET").arg("u8").arg(800).arg(104).query(&mut c).unwrap();
    assert_eq!(r, vec![104]);
    let _: Vec<i64> = redis::cmd("BITFIELD").arg("fresh").arg("GET").arg("u8").arg(0).query(&mut c).unwrap();
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "fresh"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PFADD", "hll", "a", "b", "c"]), 1);
    let hll_at = stored_at(&s, b"hll");
    assert_eq!(q::<i64>(&mut c, &["PFADD", "hll", "d"]), 1);
    assert_eq!(stored_at(&s, b"hll"), hll_at, "PFADD kept the buffer");
    assert_eq!(q::<i64>(&mut c, &["PFCOUNT", "hll"]), 4);
    // Type errors still come first.
    let _: () = redis::cmd("LPUSH").arg("list").arg("x").query(&mut c).unwrap();
    expect_err(
        &mut c,
        &["SETBIT", "list", "0", "1"],
        "WRONGTYPE Operation against a key holding the wrong kind of value",
    );
    expect_err(
        &mut c,
        &["SETRANGE", "list", "0", "x"],
        "WRONGTYPE Operation against a key holding the wrong kind of value",
    );
}

const DEBUG_REFUSED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// DEBUG is refused unless `enable-debug-command` allows it (Redis 7's default is `no`); refused at queue time
/// inside MULTI, which aborts the transaction.
#[test]
fn debug_is_refused_by_default() {
    let defaults = strata::Config::embedded().expect("embedded config");
    assert_eq!(defaults.get("enable-debug-command").as_deref(), Some("no"));
    assert_eq!(defaults.get("enable-protected-configs").as_deref(), Some("no"));
    let s = TestServer::start_with(&["--enable-debug-command", "no"]);
    let mut c = s.conn();
    expect_err(&mut c, &["DEBUG", "SLEEP", "0"], DEBUG_REFUSED);
    let mut raw = s.raw();
    raw.roundtrip(
        b"MULTI\r\nDEBUG SLEEP 0\r\nEXEC\r\n",
        format!("+OK\r\n-{DEBUG_REFUSED}\r\n-EXECABORT Transaction discarded because of previous errors.\r\n")
            .as_bytes(),
    );
    expect_err(
        &mut c,
        &["CONFIG", "SET", "enable-debug-command", "yes"],
        "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config",
    );
    // `local` admits loopback clients.
    let s = TestServer::start_with(&["--enable-debug-command", "local"]);
    assert_eq!(q::<String>(&mut s.conn(), &["DEBUG", "SLEEP", "0"]), "OK");
}

/// `dir` and `dbfilename` point the server at files: CONFIG SET refuses them unless enable-protected-configs
/// allows it.
#[test]
fn protected_configs_are_refused_at_runtime() {
    let s = TestServer::start();
    let mut c = s.conn();
    for p in ["dir", "dbfilename"] {
        expect_err(
            &mut c,
            &["CONFIG", "SET", p, "x"],
            &format!("ERR CONFIG SET failed (possibly related to argument '{p}') - can't set protected config"),
        );
    }
    let s = TestServer::start_with(&["--enable-protected-configs", "local"]);
    let mut c = s.conn();
    let here: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("dir").query(&mut c).unwrap();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "dir", &here[1]]), "OK");
}

/// CONFIG SET of several parameters is all or nothing: a bad value leaves the others unchanged, including
/// `dir`, whose change of working directory used to happen before the later values were checked.
#[test]
fn config_set_of_several_parameters_is_atomic() {
    let s = TestServer::start_with(&["--enable-protected-configs", "local"]);
    let mut c = s.conn();
    let before: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("dir").query(&mut c).unwrap();
    let other = std::env::temp_dir().join(format!("strata-config-atomic-{}", std::process::id()));
    std::fs::create_dir_all(&other).unwrap();
    let other = other.canonicalize().unwrap().display().to_string();
    expect_err(
        &mut c,
        &["CONFIG", "SET", "dir", &other, "maxmemory", "bogus", "maxmemory-samples", "7"],
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
    );
    let after: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("dir").query(&mut c).unwrap();
    assert_eq!(after, before, "dir unchanged");
    assert_eq!(std::env::current_dir().unwrap().display().to_string(), before[1], "cwd unchanged");
    let samples: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory-samples").query(&mut c).unwrap();
    assert_eq!(samples[1], "5");
    // A failure while applying (a directory that does not exist) also changes nothing.
    expect_err(
        &mut c,
        &["CONFIG", "SET", "maxmemory-samples", "7", "dir", "/nonexistent/strata"],
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory",
    );
    let samples: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory-samples").query(&mut c).unwrap();
    assert_eq!(samples[1], "5");
    let _ = std::fs::remove_dir(&other);
}

/// CLIENT PAUSE WRITE holds PUBLISH (a may-replicate command) until the pause ends, as Redis 7.0 does.
#[test]
fn client_pause_write_holds_publish() {
    let s = TestServer::start();
    let mut admin = s.conn();
    let mut publisher = timed_conn(&s, 10);
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(400).arg("WRITE").query(&mut admin).unwrap();
    let started = std::time::Instant::now();
    let n: i64 = redis::cmd("PUBLISH").arg("ch").arg("m").query(&mut publisher).unwrap();
    assert_eq!(n, 0);
    assert!(started.elapsed() >= Duration::from_millis(300), "PUBLISH waited for the pause: {:?}", started.elapsed());
    // Reads are not held by a WRITE pause.
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(5000).arg("WRITE").query(&mut admin).unwrap();
    let started = std::time::Instant::now();
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut publisher).unwrap();
    assert!(started.elapsed() < Duration::from_millis(4000), "GET was not held");
    let _: () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut admin).unwrap();
}

/// `timeout` closes idle clients, but not subscribers, as in Redis.
#[test]
fn idle_clients_time_out_but_subscribers_do_not() {
    let s = TestServer::start_with(&["--timeout", "1"]);
    let mut idle = s.raw();
    idle.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut sub = s.raw();
    sub.roundtrip(b"SUBSCRIBE ch\r\n", b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.is_closed(), "the idle client was closed");
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "ch", "hi"]), 1, "the subscriber is still connected");
}

/// `used_memory_peak` follows allocation as it happens (sampled by the cron), not only when INFO runs.
#[test]
fn used_memory_peak_is_tracked_between_info_calls() {
    let s = TestServer::start();
    let mut c = s.conn();
    let peak = |c: &mut redis::Connection| -> u64 {
        let info: String = redis::cmd("INFO").arg("memory").query(c).unwrap();
        info.lines().find_map(|l| l.strip_prefix("used_memory_peak:")).and_then(|v| v.trim().parse().ok()).unwrap()
    };
    let before = peak(&mut c);
    let _: i64 = redis::cmd("SETRANGE").arg("big").arg(64_000_000).arg("x").query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _: i64 = redis::cmd("DEL").arg("big").query(&mut c).unwrap();
    let after = peak(&mut c);
    // The allocator's figures are the whole process's (other tests run beside this one), so the check is absolute:
    // only a reading taken while the 64 MB value existed can put the peak above it.
    assert!(after >= 64_000_000, "peak {after} saw the 64 MB value (was {before})");
}

/// FLUSHALL/FLUSHDB ASYNC free on one background thread (named `lazyfree`, one per process): a flood of them
/// must not start a thread each.
#[test]
fn async_flushes_share_one_lazy_free_thread() {
    let named = |name: &str| {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|t| t.ok())
                    .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
                    .count()
            })
            .unwrap_or(0)
    };
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg("v").query(&mut c).unwrap();
        let _: () = redis::cmd(if i % 2 == 0 { "FLUSHALL" } else { "FLUSHDB" }).arg("ASYNC").query(&mut c).unwrap();
    }
    assert_eq!(named("lazyfree"), 1, "one lazy-free thread serves every ASYNC flush");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}
