//! The wire protocol: pipelining, RESP3 reply types at byte level, inline commands, protocol errors, large
//! values arriving in pieces, and malformed input from many connections at once.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn bulk(s: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", s.len()).into_bytes();
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads one CRLF-terminated line (CRLF included).
fn read_line(r: &mut RawConn) -> Vec<u8> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match r.s.read(&mut b) {
            Ok(1) => line.push(b[0]),
            other => {
                panic!("connection ended while reading a line ({other:?}); got {:?}", String::from_utf8_lossy(&line))
            }
        }
    }
    line
}

/// Reads one complete RESP2/RESP3 frame and returns its bytes.
fn read_frame(r: &mut RawConn) -> Vec<u8> {
    let mut out = Vec::new();
    frame_into(r, &mut out);
    out
}

fn frame_into(r: &mut RawConn, out: &mut Vec<u8>) {
    let line = read_line(r);
    out.extend_from_slice(&line);
    let header = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let n = || header.parse::<i64>().unwrap_or_else(|_| panic!("bad header {header:?}"));
    match line[0] {
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

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A raw connection switched to RESP3 (the HELLO reply consumed and checked).
fn raw3(s: &TestServer) -> (RawConn, i64) {
    let mut r = s.raw();
    r.send(b"CLIENT ID\r\n");
    let id_line = read_line(&mut r);
    let id: i64 = lossy(&id_line[1..id_line.len() - 2]).parse().expect("id");
    r.send(b"HELLO 3\r\n");
    let expect = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(lossy(&read_frame(&mut r)), expect);
    (r, id)
}

/// xorshift64*: a small deterministic PRNG, no extra crates.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

// ---------------------------------------------------------------- pipelining

#[test]
fn pipeline_of_1000_commands_with_redis_crate() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..1000 {
        match i % 4 {
            0 => p.cmd("SET").arg(format!("p:{i}")).arg(i),
            1 => p.cmd("GET").arg(format!("p:{}", i - 1)),
            2 => p.cmd("INCR").arg("p:counter"),
            _ => p.cmd("ECHO").arg(format!("echo-{i}")),
        };
    }
    let replies: Vec<redis::Value> = p.query(&mut c).expect("pipeline");
    assert_eq!(replies.len(), 1000);
    for (i, v) in replies.iter().enumerate() {
        let want = match i % 4 {
            0 => redis::Value::Okay,
            1 => redis::Value::BulkString((i - 1).to_string().into_bytes()),
            2 => redis::Value::Int((i / 4 + 1) as i64),
            _ => redis::Value::BulkString(format!("echo-{i}").into_bytes()),
        };
        assert_eq!(*v, want, "reply {i}");
    }
    assert_eq!(q::<i64>(&mut c, &["GET", "p:counter"]), 250);
}

#[test]
fn raw_pipeline_in_one_write_replies_in_order() {
    let s = TestServer::start();
    let mut r = s.raw();
    let mut req = Vec::new();
    let mut expect = Vec::new();
    for i in 0..1000 {
        let key = format!("r:{}", i / 3);
        match i % 5 {
            0 => {
                req.extend(frame(&[b"SET", key.as_bytes(), i.to_string().as_bytes()]));
                expect.extend_from_slice(b"+OK\r\n");
            }
            1 => {
                req.extend(frame(&[b"ECHO", format!("v{i}").as_bytes()]));
                expect.extend(bulk(format!("v{i}").as_bytes()));
            }
            2 => {
                req.extend_from_slice(b"PING\r\n");
                expect.extend_from_slice(b"+PONG\r\n");
            }
            3 => {
                req.extend(frame(&[b"INCR", b"r:n"]));
                expect.extend(format!(":{}\r\n", i / 5 + 1).into_bytes());
            }
            _ => {
                req.extend(frame(&[b"GET", b"r:missing"]));
                expect.extend_from_slice(b"$-1\r\n");
            }
        }
    }
    r.send(&req);
    let got = r.read_n(expect.len());
    assert_eq!(got.len(), expect.len());
    assert!(
        got == expect,
        "pipelined replies differ; first difference at byte {:?}",
        got.iter().zip(&expect).position(|(a, b)| a != b)
    );
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

// ---------------------------------------------------------------- RESP3

#[test]
fn resp3_null_map_set_and_arrays() {
    let s = TestServer::start();
    let (mut r, _) = raw3(&s);
    r.roundtrip(b"GET nokey\r\n", b"_\r\n");
    r.roundtrip(b"SET a 1\r\n", b"+OK\r\n");
    r.roundtrip(b"MGET a nokey\r\n", b"*2\r\n$1\r\n1\r\n_\r\n");
    r.roundtrip(b"CONFIG GET maxmemory\r\n", b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
    r.roundtrip(b"CONFIG GET nosuchparam\r\n", b"%0\r\n");
    r.roundtrip(b"GETBIT a 0\r\n", b":0\r\n");
    r.roundtrip(b"INCRBYFLOAT f 1.5\r\n", b"$3\r\n1.5\r\n");
    r.roundtrip(b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    // The same commands in RESP2.
    let mut r2 = s.raw();
    r2.roundtrip(b"GET nokey\r\n", b"$-1\r\n");
    r2.roundtrip(b"MGET a nokey\r\n", b"*2\r\n$1\r\n1\r\n$-1\r\n");
    r2.roundtrip(b"CONFIG GET maxmemory\r\n", b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
}

#[test]
fn resp3_command_info_bytes_match_redis() {
    // Byte for byte what redis-server 7.0.15 sends for COMMAND INFO get after HELLO 3 (flags, ACL categories,
    // tips, key specs and subcommands are all RESP3 sets there).
    let s = TestServer::start();
    let (mut r, _) = raw3(&s);
    r.send(b"COMMAND INFO get\r\n");
    let expect = "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
    assert_eq!(lossy(&read_frame(&mut r)), expect);
}

#[test]
fn resp3_verbatim_info_and_client_info() {
    let s = TestServer::start();
    let (mut r, id) = raw3(&s);
    for cmd in [&b"INFO server\r\n"[..], b"CLIENT INFO\r\n", b"CLIENT LIST\r\n"] {
        r.send(cmd);
        let f = read_frame(&mut r);
        assert_eq!(f[0], b'=', "{} answers with a verbatim string: {:?}", lossy(cmd), lossy(&f));
        let header_end = f.windows(2).position(|w| w == b"\r\n").expect("header");
        let len: usize = lossy(&f[1..header_end]).parse().expect("length");
        let body = &f[header_end + 2..f.len() - 2];
        assert_eq!(body.len(), len, "declared length matches");
        assert!(body.starts_with(b"txt:"), "format prefix: {:?}", lossy(body));
        assert!(f.ends_with(b"\r\n"));
        if cmd.starts_with(b"CLIENT INFO") {
            assert!(body.starts_with(format!("txt:id={id} ").as_bytes()), "{:?}", lossy(body));
            assert!(lossy(body).contains(" resp=3"));
        } else if cmd.starts_with(b"INFO") {
            assert!(
                body.starts_with(b"txt:# Server\r\nredis_version:7.0.15\r\n"),
                "{:?}",
                lossy(&body[..40.min(body.len())])
            );
        }
    }
    // RESP2 sends the same text as a plain bulk string.
    let mut r2 = s.raw();
    r2.send(b"CLIENT INFO\r\n");
    let f = read_frame(&mut r2);
    assert_eq!(f[0], b'$');
    assert!(f.windows(3).any(|w| w == b"id="), "{:?}", lossy(&f));
    assert!(!f.windows(4).any(|w| w == b"txt:"));
}

#[test]
fn resp3_transaction_replies() {
    let s = TestServer::start();
    let (mut r, _) = raw3(&s);
    r.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    r.roundtrip(b"GET nokey\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"CONFIG GET hz\r\n", b"+QUEUED\r\n");
    r.roundtrip(b"EXEC\r\n", b"*2\r\n_\r\n%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
}

// ---------------------------------------------------------------- inline commands

#[test]
fn inline_commands() {
    let s = TestServer::start();
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    r.roundtrip(b"PING\n", b"+PONG\r\n");
    r.roundtrip(b"SET a \"b c\"\r\n", b"+OK\r\n");
    r.roundtrip(b"GET a\r\n", b"$3\r\nb c\r\n");
    r.roundtrip(b"  GET   a  \r\n", b"$3\r\nb c\r\n");
    r.roundtrip(b"ECHO \"a\\x41\\tb\\n\"\r\n", b"$5\r\naA\tb\n\r\n");
    r.roundtrip(b"ECHO 'single \"quoted\"'\r\n", b"$15\r\nsingle \"quoted\"\r\n");
    r.roundtrip(b"ECHO \"\"\r\n", b"$0\r\n\r\n");
    // Empty lines are skipped without a reply.
    r.roundtrip(b"\r\n\r\n\n   \r\nPING\r\n", b"+PONG\r\n");
    // Inline and multibulk mixed in one write.
    let mut mixed = b"SET x 1\r\n".to_vec();
    mixed.extend(frame(&[b"INCR", b"x"]));
    mixed.extend_from_slice(b"\r\nGET x\r\n");
    r.roundtrip(&mixed, b"+OK\r\n:2\r\n$1\r\n2\r\n");
    // A command split across writes.
    r.send(b"EC");
    std::thread::sleep(Duration::from_millis(20));
    r.send(b"HO split");
    std::thread::sleep(Duration::from_millis(20));
    r.roundtrip(b"\r\n", b"$5\r\nsplit\r\n");
}

// ---------------------------------------------------------------- protocol errors

/// Sends `input` on a fresh connection; expects exactly `reply` and then the connection closed, while a
/// bystander connection keeps working.
fn protocol_error(s: &TestServer, bystander: &mut RawConn, input: &[u8], reply: &str) {
    let mut r = s.raw();
    r.send(input);
    let got = r.read_n(reply.len() + 1);
    assert_eq!(lossy(&got), reply, "reply to {:?}", lossy(&input[..input.len().min(60)]));
    assert!(r.is_closed(), "connection closed after {:?}", lossy(&input[..input.len().min(60)]));
    bystander.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn protocol_errors_close_only_that_connection() {
    let s = TestServer::start();
    let mut by = s.raw();
    by.roundtrip(b"SET keep me\r\n", b"+OK\r\n");
    protocol_error(&s, &mut by, b"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    protocol_error(&s, &mut by, b"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    protocol_error(&s, &mut by, b"*1\r\nPING\r\n", "-ERR Protocol error: expected '$', got 'P'\r\n");
    protocol_error(&s, &mut by, b"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    protocol_error(&s, &mut by, b"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    protocol_error(&s, &mut by, b"*2\r\n$3\r\nGET\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    protocol_error(&s, &mut by, b"SET a \"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    protocol_error(&s, &mut by, b"SET a 'b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    // Commands before the bad one in the same write are answered first.
    protocol_error(
        &s,
        &mut by,
        b"PING\r\n*1\r\n$4\r\nPING\r\n*abc\r\n",
        "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
    );
    // An inline request that never ends.
    protocol_error(&s, &mut by, &vec![b'a'; 70_000], "-ERR Protocol error: too big inline request\r\n");
    by.roundtrip(b"GET keep\r\n", b"$2\r\nme\r\n");
}

#[test]
fn bulk_longer_than_proto_max_bulk_len() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"]), "OK");
    let mut by = s.raw();
    protocol_error(
        &s,
        &mut by,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n",
        "-ERR Protocol error: invalid bulk length\r\n",
    );
    // Exactly the limit is fine.
    let big = vec![b'v'; 1024 * 1024];
    let mut r = s.raw();
    r.roundtrip(&frame(&[b"SET", b"k", &big]), b"+OK\r\n");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 1024 * 1024);
}

#[test]
fn unauthenticated_limits() {
    let s = TestServer::start_with(&["--requirepass", "secret"]);
    let mut by = s.raw();
    by.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    protocol_error(&s, &mut by, b"*20\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n");
    protocol_error(&s, &mut by, b"*1\r\n$20000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n");
    // Once authenticated the same frames are fine.
    let mut big = vec![b"ECHO".to_vec()];
    big.push(vec![b'x'; 20000]);
    let args: Vec<&[u8]> = big.iter().map(|a| a.as_slice()).collect();
    by.send(&frame(&args));
    assert_eq!(by.read_n(20000 + 10).len(), 20000 + 10);
}

// ---------------------------------------------------------------- large values

#[test]
fn ten_megabyte_value_in_small_pieces() {
    let s = TestServer::start();
    let value: Vec<u8> = (0..10 * 1024 * 1024).map(|i: usize| (i % 251) as u8).collect();
    let req = frame(&[b"SET", b"bigkey", &value]);
    let mut r = s.raw();
    r.s.set_nodelay(true).expect("nodelay");
    let mut rng = Rng::new(7);
    let mut pos = 0;
    let mut writes = 0;
    while pos < req.len() {
        let n = (1 + rng.below(8192)).min(req.len() - pos);
        r.send(&req[pos..pos + n]);
        pos += n;
        writes += 1;
        if writes % 500 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    r.roundtrip(b"", b"+OK\r\n");
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "bigkey"]), value.len() as i64);
    let got: Vec<u8> = q(&mut c, &["GET", "bigkey"]);
    assert!(got == value, "the 10 MB value came back different");
    // And back over the raw connection, byte for byte.
    r.send(b"GET bigkey\r\n");
    let mut expect = format!("${}\r\n", value.len()).into_bytes();
    expect.extend_from_slice(&value);
    expect.extend_from_slice(b"\r\n");
    let got = r.read_n(expect.len());
    assert!(got == expect, "raw GET of the 10 MB value differs: {} of {} bytes", got.len(), expect.len());
    // Several big frames pipelined in one write.
    let mut req = Vec::new();
    for i in 0..4u8 {
        req.extend(frame(&[b"SET", format!("big{i}").as_bytes(), &value[..2 * 1024 * 1024]]));
    }
    r.send(&req);
    r.roundtrip(b"", b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
    r.roundtrip(b"STRLEN big3\r\n", format!(":{}\r\n", 2 * 1024 * 1024).as_bytes());
}

// ---------------------------------------------------------------- malformed input under load

/// Valid requests the fuzzers start from. Keys all start with `fuzz:` so no mutation of a few bytes can reach
/// the well-behaved client's `k:` keys, and no command here is one byte-edit away from anything that changes
/// server-wide state.
fn valid_request(rng: &mut Rng, t: usize) -> Vec<u8> {
    let n = rng.below(100).to_string();
    let key = format!("fuzz:{t}:{n}");
    match rng.below(10) {
        0 => frame(&[b"PING"]),
        1 => frame(&[b"ECHO", b"hello fuzz"]),
        2 => frame(&[b"SET", key.as_bytes(), b"some value"]),
        3 => frame(&[b"GET", key.as_bytes()]),
        4 => frame(&[b"INCR", format!("fuzz:{t}:ctr").as_bytes()]),
        5 => frame(&[b"MSET", key.as_bytes(), b"1", format!("fuzz:{t}:other").as_bytes(), b"2"]),
        6 => frame(&[b"APPEND", key.as_bytes(), b"xyz"]),
        7 => format!("EXISTS {key}\r\n").into_bytes(),
        8 => format!("ECHO \"quoted {n}\"\r\n").into_bytes(),
        _ => frame(&[b"STRLEN", key.as_bytes()]),
    }
}

fn fuzz_payload(rng: &mut Rng, t: usize) -> Vec<u8> {
    match rng.below(5) {
        // Random bytes.
        0 => (0..1 + rng.below(160)).map(|_| rng.byte()).collect(),
        // Random bytes drawn mostly from RESP's alphabet, to reach deeper parser states.
        1 => {
            const ALPHA: &[u8] = b"*$+-:\r\n\r\n0123456789-\"'\\ x";
            (0..1 + rng.below(80))
                .map(|_| if rng.below(8) == 0 { rng.byte() } else { ALPHA[rng.below(ALPHA.len())] })
                .collect()
        }
        // A valid frame cut short.
        2 => {
            let v = valid_request(rng, t);
            let cut = rng.below(v.len());
            v[..cut].to_vec()
        }
        // A valid frame with a few bytes changed, inserted, removed or duplicated.
        3 => {
            let mut v = valid_request(rng, t);
            for _ in 0..1 + rng.below(4) {
                if v.is_empty() {
                    break;
                }
                let at = rng.below(v.len());
                match rng.below(4) {
                    0 => v[at] = rng.byte(),
                    1 => v.insert(at, rng.byte()),
                    2 => {
                        v.remove(at);
                    }
                    _ => {
                        let end = (at + 1 + rng.below(8)).min(v.len());
                        let chunk = v[at..end].to_vec();
                        v.splice(at..at, chunk);
                    }
                }
            }
            v
        }
        // Valid requests, sometimes several, so connections also do real work between the garbage.
        _ => {
            let mut v = Vec::new();
            for _ in 0..1 + rng.below(3) {
                v.extend(valid_request(rng, t));
            }
            v
        }
    }
}

/// Reads whatever the server has sent without blocking; false when the server closed the connection.
fn drain(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let open = loop {
        match s.read(buf) {
            Ok(0) => break false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break false,
        }
    };
    open && s.set_nonblocking(false).is_ok()
}

#[test]
fn malformed_input_from_many_connections_does_not_disturb_others() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 1000;
    let s = TestServer::start();
    let port = s.port;
    // Every fuzzer sends at least PER_THREAD payloads and keeps going for at least two seconds, so the
    // well-behaved client runs alongside for a while; seven seconds cap it all.
    let min_end = Instant::now() + Duration::from_secs(2);
    let deadline = Instant::now() + Duration::from_secs(7);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let reconnects = Arc::new(AtomicU64::new(0));

    // The well-behaved client.
    let mut good = s.conn();
    let good_stop = stop.clone();
    let good_thread = std::thread::spawn(move || {
        let mut errors = Vec::new();
        let mut i: u64 = 0;
        while !good_stop.load(Ordering::Relaxed) || i < 100 {
            i += 1;
            let key = format!("k:{i}");
            match redis::cmd("SET").arg(&key).arg(i).query::<String>(&mut good) {
                Ok(ok) if ok == "OK" => {}
                other => errors.push(format!("SET {key}: {other:?}")),
            }
            match redis::cmd("GET").arg(&key).query::<Option<String>>(&mut good) {
                Ok(Some(v)) if v == i.to_string() => {}
                other => errors.push(format!("GET {key}: {other:?}")),
            }
            let old = i / 2 + 1;
            match redis::cmd("GET").arg(format!("k:{old}")).query::<Option<String>>(&mut good) {
                Ok(Some(v)) if v == old.to_string() => {}
                other => errors.push(format!("GET k:{old}: {other:?}")),
            }
            if errors.len() > 20 {
                break;
            }
        }
        (i, errors)
    });

    let mut fuzzers = Vec::new();
    for t in 0..THREADS {
        let (sent, reconnects) = (sent.clone(), reconnects.clone());
        fuzzers.push(std::thread::spawn(move || {
            let mut rng = Rng::new(0x5EED_0000 + t as u64 * 7919);
            let mut buf = vec![0u8; 64 * 1024];
            let mut conn: Option<TcpStream> = None;
            let mut mine = 0;
            while (mine < PER_THREAD || Instant::now() < min_end) && Instant::now() < deadline {
                if conn.is_none() {
                    let Ok(c) = TcpStream::connect(("127.0.0.1", port)) else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let _ = c.set_write_timeout(Some(Duration::from_secs(2)));
                    let _ = c.set_nodelay(true);
                    reconnects.fetch_add(1, Ordering::Relaxed);
                    conn = Some(c);
                }
                let Some(c) = conn.as_mut() else { continue };
                let payload = fuzz_payload(&mut rng, t);
                if c.write_all(&payload).is_err() {
                    conn = None;
                    continue;
                }
                mine += 1;
                sent.fetch_add(1, Ordering::Relaxed);
                // Start over now and then, so half-read frames do not pile up on one connection.
                if !drain(c, &mut buf) || rng.below(24) == 0 {
                    conn = None;
                }
            }
        }));
    }
    for f in fuzzers {
        f.join().expect("fuzzer thread");
    }
    stop.store(true, Ordering::Relaxed);
    let (good_ops, errors) = good_thread.join().expect("well-behaved client");
    let total = sent.load(Ordering::Relaxed);
    assert!(total >= 5000, "only {total} malformed payloads were sent");
    assert!(errors.is_empty(), "the well-behaved client saw errors: {errors:#?}");
    assert!(good_ops >= 100);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["GET", "k:1"]), "1");
    assert_eq!(q::<String>(&mut c, &["GET", &format!("k:{good_ops}")]), good_ops.to_string());
    let mut r = s.raw();
    r.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let errors_seen: String = q(&mut c, &["INFO", "stats"]);
    assert!(!errors_seen.contains("\r\ntotal_error_replies:0\r\n"), "the garbage produced no error replies at all");
    eprintln!(
        "fuzz: {total} payloads over {} connections; well-behaved client did {good_ops} rounds",
        reconnects.load(Ordering::Relaxed)
    );
}
