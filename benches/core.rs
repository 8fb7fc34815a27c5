//! Hot-path micro-benchmarks: request decoding, reply encoding, and dispatch of GET/SET/INCR through the command
//! table and the keyspace (no sockets).

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use strata::engine::client::Session;
use strata::engine::execute::{execute, Outcome};
use strata::engine::Server;
use strata::protocol::{encode, Decoded, Decoder, Protocol, Reply};

fn pipelined_sets(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("key:{i:06}");
        v.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$100\r\n", key.len(), key).as_bytes());
        v.extend_from_slice(&[b'x'; 100]);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn decode(c: &mut Criterion) {
    let input = pipelined_sets(16);
    let mut d = Decoder::default();
    c.bench_function("decode 16 pipelined SETs", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&input[..]);
            let mut n = 0;
            while let Ok(Decoded::Command(args)) = d.decode(&mut buf, true) {
                n += args.len();
                // As the connection does: the argument vector goes back for the next command.
                d.recycle(args);
            }
            black_box(n)
        })
    });
}

fn encode_replies(c: &mut Criterion) {
    let bulk = Reply::Bulk(Bytes::from(vec![b'x'; 100]));
    let mut out = BytesMut::with_capacity(64 * 1024);
    c.bench_function("encode 16 bulk replies", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..16 {
                encode(&mut out, black_box(&bulk), Protocol::Resp2);
            }
            black_box(out.len())
        })
    });
}

fn dispatch_commands(c: &mut Criterion) {
    let srv = Server::new(strata::Config::default(), strata::commands::table());
    let info = srv.clients.register("bench".into(), "bench".into());
    let mut state = Session::new(info, true);
    let args = |v: &[&str]| v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<Vec<_>>();
    let set = args(&["SET", "key:1", "some value of moderate length"]);
    let get = args(&["GET", "key:1"]);
    let incr = args(&["INCR", "counter"]);
    let mut run = |name: &str, cmd: &Vec<Bytes>| {
        c.bench_function(name, |b| {
            b.iter(|| match execute(&srv, &mut state, black_box(cmd)) {
                Outcome::Reply(r) => black_box(r),
                Outcome::Paused(_) | Outcome::Block(_) | Outcome::Offload => Reply::Nil,
            })
        });
    };
    run("dispatch SET", &set);
    run("dispatch GET", &get);
    run("dispatch INCR", &incr);
}

criterion_group!(benches, decode, encode_replies, dispatch_commands);
criterion_main!(benches);
