//! The cold tier's costs: compressing and decompressing typical JSON documents with and without a dictionary,
//! with LZ4 and with zstd, and GET of a raw versus a compressed (LZ4, zstd) value through dispatch.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use strata::engine::client::Session;
use strata::engine::execute::{execute, Outcome};
use strata::engine::Server;
use strata::store::compress::{build_dictionary, compress, Encoder};

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

/// A document of about 2 KB with the variety of real data: names, numbers and flags drawn at random.
fn doc2k(i: usize) -> Vec<u8> {
    strata::util::sample::document(i, 2000).into_bytes()
}

fn codec_2k(c: &mut Criterion) {
    let samples: Vec<Bytes> = (0..2048).map(|i| Bytes::from(doc2k(i))).collect();
    let enc = Encoder::train(1, &samples, true, Arc::default());
    let value = doc2k(100_000);
    let z = enc.zstd(&value).expect("compressible");
    let l = enc.lz4(&value).expect("compressible");
    println!("2 KB doc: {} bytes, zstd {} bytes, lz4 {} bytes", value.len(), z.stored_len(), l.stored_len());
    c.bench_function("zstd compress 2 KB doc (dictionary)", |b| b.iter(|| enc.zstd(black_box(&value))));
    c.bench_function("zstd decompress 2 KB doc (dictionary)", |b| b.iter(|| black_box(&z).decompress()));
    c.bench_function("lz4 decompress 2 KB doc (dictionary)", |b| b.iter(|| black_box(&l).decompress()));
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
        zstd_after: None,
        lru_now: srv.lru_clock() + 10,
        deadline,
        headroom: None,
    };
    for _ in 0..3 {
        srv.tier.cycle(&srv.keyspace, params(std::time::Instant::now() + std::time::Duration::from_secs(1)));
    }
    let _ = execute(&srv, &mut state, &args(&[b"CONFIG", b"SET", b"compression", b"no"]));
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"raw", &value]));
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

/// GET of a cold 2 KB value stored with zstd, through dispatch, beside the same value raw and LZ4-compressed.
fn get_cold_2k(c: &mut Criterion) {
    let srv = Server::new(strata::Config::default(), strata::commands::table());
    let info = srv.clients.register("bench".into(), "bench".into());
    let mut state = Session::new(info, true);
    let args = |v: &[&[u8]]| v.iter().map(|s| Bytes::copy_from_slice(s)).collect::<Vec<_>>();
    for i in 0..3000 {
        let _ = execute(&srv, &mut state, &args(&[b"SET", format!("d{i}").as_bytes(), &doc2k(i)]));
    }
    let value = doc2k(100_000);
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"raw", &value]));
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"cold", &value]));
    let _ = execute(&srv, &mut state, &args(&[b"CONFIG", b"SET", b"compression-cold-seconds", b"0"]));
    let _ = execute(&srv, &mut state, &args(&[b"CONFIG", b"SET", b"compression-algorithm", b"zstd"]));
    let params = || strata::store::compress::ColdParams {
        min_size: 64,
        cold_secs: 0,
        zstd_after: Some(0),
        lru_now: srv.lru_clock() + 10,
        deadline: std::time::Instant::now() + std::time::Duration::from_secs(1),
        headroom: None,
    };
    // The zstd dictionary is trained on a thread of its own; passes install it once it is ready.
    for _ in 0..200 {
        srv.tier.cycle(&srv.keyspace, params());
        if srv.tier.zstd_dict_len() > 0 && !srv.tier.training() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for _ in 0..5 {
        srv.tier.cycle(&srv.keyspace, params());
    }
    let enc = |k: &[u8]| match execute(
        &srv,
        &mut Session::new(srv.clients.register("b".into(), "b".into()), true),
        &args(&[b"OBJECT", b"ENCODING", k]),
    ) {
        Outcome::Reply(r) => format!("{r:?}"),
        _ => String::new(),
    };
    // The passes compressed "raw" too: store it again with compression off (reads do not change encodings
    // while compression-cold-seconds is 0, and no cron runs here).
    let _ = execute(&srv, &mut state, &args(&[b"CONFIG", b"SET", b"compression", b"no"]));
    let _ = execute(&srv, &mut state, &args(&[b"SET", b"raw", &value]));
    println!("encodings: cold {}, raw {}", enc(b"cold"), enc(b"raw"));
    let mut run = |name: &str, cmd: &Vec<Bytes>| {
        c.bench_function(name, |b| {
            b.iter(|| match execute(&srv, &mut state, black_box(cmd)) {
                Outcome::Reply(r) => black_box(r),
                _ => strata::protocol::Reply::Nil,
            })
        });
    };
    run("GET raw 2 KB value", &args(&[b"GET", b"raw"]));
    run("GET cold 2 KB zstd value", &args(&[b"GET", b"cold"]));
}

criterion_group!(benches, codec, codec_2k, get_raw_vs_compressed, get_cold_2k);
criterion_main!(benches);
