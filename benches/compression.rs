//! The cold tier's costs: compressing and decompressing typical JSON documents with and without a dictionary,
//! and GET of a raw versus a compressed value through dispatch.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use strata::engine::client::Session;
use strata::engine::execute::{execute, Outcome};
use strata::engine::Server;
use strata::store::compress::{build_dictionary, compress};

fn doc(i: usize) -> Vec<u8> {
    format!(
        r#"{{"id":{i},"user":{{"name":"user-{i}","email":"user{i}@example.com","plan":"pro","city":"Lisbon"}},"orders":[{}],"status":"active"}}"#,
        (0..12).map(|j| format!(r#"{{"sku":"SKU-{}","qty":{},"price":{}.99}}"#, (i * 31 + j) % 997, j % 4 + 1, j * 3)).collect::<Vec<_>>().join(",")
    )
    .into_bytes()
}

fn codec(c: &mut Criterion) {
    let samples: Vec<Bytes> = (0..256).map(|i| Bytes::from(doc(i))).collect();
    let dict = Arc::new(build_dictionary(1, &samples));
    let value = doc(10_000);
    c.bench_function("lz4 compress 1 KB doc (dictionary)", |b| b.iter(|| compress(black_box(&value), &dict)));
    c.bench_function("lz4 compress 1 KB doc (plain)", |b| b.iter(|| lz4_flex::block::compress(black_box(&value))));
    let packed = compress(&value, &dict).expect("compressible");
    c.bench_function("lz4 decompress 1 KB doc (dictionary)", |b| b.iter(|| black_box(&packed).decompress()));
}

fn get_raw_vs_compressed(c: &mut Criterion) {
    let srv = Server::new(strata::Config::default(), strata::commands::table());
    let info = srv.clients.register("bench".into(), "bench".into());
    let mut state = Session::new(info, true);
    let args = |v: &[&[u8]]| v.iter().map(|s| Bytes::copy_from_slice(s)).collect::<Vec<_>>();
    let value = doc(1);
    for i in 0..300 {
        let _ = execute(&srv, &mut state, &args(&[b"SET", format!("d{i}").as_bytes(), &doc(i)]));
    }
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"raw", &value]));
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"cold", &value]));
    let _ = execute(&srv, &mut state, &args(&[b"CONFIG", b"SET", b"compression-cold-seconds", b"0"]));
    let params = |deadline| strata::store::compress::ColdParams {
        min_size: 64,
        cold_secs: 0,
        lru_now: srv.lru_clock() + 10,
        deadline,
    };
    for _ in 0..3 {
        srv.tier.cycle(&srv.keyspace, params(std::time::Instant::now() + std::time::Duration::from_secs(1)));
    }
    let get_raw = args(&[b"GET", b"raw"]);
    let get_cold = args(&[b"GET", b"cold"]);
    let mut run = |name: &str, cmd: &Vec<Bytes>| {
        c.bench_function(name, |b| {
            b.iter(|| match execute(&srv, &mut state, black_box(cmd)) {
                Outcome::Reply(r) => black_box(r),
                _ => strata::protocol::Reply::Nil,
            })
        });
    };
    run("GET raw 1 KB value", &get_raw);
    run("GET compressed 1 KB value", &get_cold);
}

criterion_group!(benches, codec, get_raw_vs_compressed);
criterion_main!(benches);
