//! HyperLogLog commands: PFADD PFCOUNT PFMERGE, checked against Redis 7.0's exact replies, error texts and byte
//! format (sparse and dense values are compared with what a real Redis 7.0 stores for the same input), plus the
//! estimator's accuracy on a million distinct items.

mod common;
use common::*;
use redis::Value;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// The raw bytes of a string key.
fn get_bytes(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    q::<Vec<u8>>(c, &["GET", key])
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|j| u8::from_str_radix(&s[j..j + 2], 16).expect("hex")).collect()
}

/// FNV-1a 64, to compare large values with the digests taken from a real Redis 7.0.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01b3))
}

/// PFADDs `item:{lo}` .. `item:{hi-1}` to `key`: 1,000 elements per PFADD, 10,000 per pipeline.
fn load(c: &mut redis::Connection, key: &str, lo: usize, hi: usize) {
    let mut start = lo;
    while start < hi {
        let end = (start + 10_000).min(hi);
        let mut p = redis::pipe();
        let mut s = start;
        while s < end {
            let e = (s + 1000).min(end);
            let mut cmd = redis::cmd("PFADD");
            cmd.arg(key);
            for j in s..e {
                cmd.arg(format!("item:{j}"));
            }
            p.add_command(cmd).ignore();
            s = e;
        }
        p.query::<()>(c).expect("pipeline");
        start = end;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// PFADD / PFCOUNT / PFMERGE basics
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn pfadd_pfcount_basics() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["PFADD", "h", "a", "b", "c"], i(1));
    expect(&mut c, &["PFADD", "h", "a"], i(0));
    expect(&mut c, &["PFADD", "h", "a", "b", "c", "a"], i(0));
    expect(&mut c, &["PFADD", "h"], i(0));
    expect(&mut c, &["PFCOUNT", "h"], i(3));
    expect(&mut c, &["PFADD", "h", "a", "b", "c", "d", "e", "f", "g"], i(1));
    expect(&mut c, &["PFCOUNT", "h"], i(7));
    expect(&mut c, &["PFCOUNT", "h", "h"], i(7));
    expect(&mut c, &["TYPE", "h"], Value::SimpleString("string".into()));
    expect(&mut c, &["GETRANGE", "h", "0", "3"], b("HYLL"));
    // PFADD without elements creates an empty HLL once.
    expect(&mut c, &["PFADD", "new"], i(1));
    expect(&mut c, &["PFADD", "new"], i(0));
    expect(&mut c, &["EXISTS", "new"], i(1));
    expect(&mut c, &["PFCOUNT", "new"], i(0));
    expect(&mut c, &["STRLEN", "new"], i(18));
    // Missing keys count as empty.
    expect(&mut c, &["PFCOUNT", "nokey"], i(0));
    expect(&mut c, &["PFCOUNT", "h", "nokey"], i(7));
    expect(&mut c, &["EXISTS", "nokey"], i(0));
    // Binary and empty elements.
    expect(&mut c, &["PFADD", "bin", "", "\r\n", "x\u{0}y"], i(1));
    expect(&mut c, &["PFCOUNT", "bin"], i(3));
    // Small exact counts.
    let mut p = redis::pipe();
    for j in 0..100 {
        p.cmd("PFADD").arg("hundred").arg(format!("item:{j}")).ignore();
    }
    p.query::<()>(&mut c).expect("pipeline");
    expect(&mut c, &["PFCOUNT", "hundred"], i(99));
    // Arity.
    expect_err(&mut c, &["PFADD"], &arity("pfadd"));
    expect_err(&mut c, &["PFCOUNT"], &arity("pfcount"));
    expect_err(&mut c, &["PFMERGE"], &arity("pfmerge"));
}

#[test]
fn pfadd_keeps_ttl() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["PFADD", "h", "a"], i(1));
    expect(&mut c, &["EXPIRE", "h", "100"], i(1));
    expect(&mut c, &["PFADD", "h", "b"], i(1));
    expect(&mut c, &["TTL", "h"], i(100));
    expect(&mut c, &["PFCOUNT", "h"], i(2));
    expect(&mut c, &["TTL", "h"], i(100));
    expect(&mut c, &["PFADD", "other", "c"], i(1));
    expect(&mut c, &["PFMERGE", "h", "other"], OK);
    expect(&mut c, &["TTL", "h"], i(100));
    expect(&mut c, &["PFCOUNT", "h"], i(3));
}

#[test]
fn pfmerge() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["PFADD", "a", "1", "2", "3"], i(1));
    expect(&mut c, &["PFADD", "b", "3", "4", "5"], i(1));
    expect(&mut c, &["PFADD", "c", "5", "6", "7", "8"], i(1));
    expect(&mut c, &["PFMERGE", "dst", "a", "b", "c"], OK);
    expect(&mut c, &["PFCOUNT", "dst"], i(8));
    expect(&mut c, &["PFCOUNT", "a", "b", "c"], i(8));
    expect(&mut c, &["PFCOUNT", "a", "b"], i(5));
    // The sources are unchanged.
    expect(&mut c, &["PFCOUNT", "a"], i(3));
    // Merging into an existing HLL keeps what it had.
    expect(&mut c, &["PFADD", "d", "x", "y"], i(1));
    expect(&mut c, &["PFMERGE", "d", "a"], OK);
    expect(&mut c, &["PFCOUNT", "d"], i(5));
    // The destination may be a source; sources may repeat; missing sources are empty.
    expect(&mut c, &["PFMERGE", "d", "d", "b", "b", "nokey"], OK);
    expect(&mut c, &["PFCOUNT", "d"], i(7));
    // With no sources, or only missing ones, an empty HLL is created.
    expect(&mut c, &["PFMERGE", "empty"], OK);
    expect(&mut c, &["EXISTS", "empty"], i(1));
    expect(&mut c, &["PFCOUNT", "empty"], i(0));
    expect(&mut c, &["PFMERGE", "empty2", "nokey"], OK);
    assert_eq!(get_bytes(&mut c, "empty2"), unhex("48594c4c0100000000000000000000807fff"), "empty sparse HLL");
    expect(&mut c, &["PFCOUNT", "empty2"], i(0));
    expect(&mut c, &["PFMERGE", "empty"], OK);
    expect(&mut c, &["PFCOUNT", "empty"], i(0));
}

#[test]
fn wrongtype_and_invalid_values() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["PFADD", "h", "a"], i(1));
    // A string that is not an HLL.
    expect(&mut c, &["SET", "str", "hello"], OK);
    expect(&mut c, &["SET", "fake", "HYLLxxxxxxxxxxxxxxxxx"], OK);
    expect(&mut c, &["SET", "short", "HYLL"], OK);
    expect(&mut c, &["SET", "emptystr", ""], OK);
    for key in ["str", "fake", "short", "emptystr"] {
        expect_err(&mut c, &["PFADD", key, "a"], NOT_HLL);
        expect_err(&mut c, &["PFCOUNT", key], NOT_HLL);
        expect_err(&mut c, &["PFCOUNT", "h", key], NOT_HLL);
        expect_err(&mut c, &["PFMERGE", "dst", key], NOT_HLL);
        expect_err(&mut c, &["PFMERGE", key, "h"], NOT_HLL);
    }
    expect(&mut c, &["GET", "str"], b("hello"));
    expect(&mut c, &["EXISTS", "dst"], i(0));
    // Other types: the ordinary WRONGTYPE.
    expect(&mut c, &["LPUSH", "list", "a"], i(1));
    expect(&mut c, &["HSET", "hash", "f", "v"], i(1));
    for key in ["list", "hash"] {
        expect_err(&mut c, &["PFADD", key, "a"], WRONGTYPE);
        expect_err(&mut c, &["PFCOUNT", key], WRONGTYPE);
        expect_err(&mut c, &["PFCOUNT", "h", key], WRONGTYPE);
        expect_err(&mut c, &["PFMERGE", "dst", key], WRONGTYPE);
        expect_err(&mut c, &["PFMERGE", key, "h"], WRONGTYPE);
    }
    // An HLL is a string to the string commands.
    expect(&mut c, &["STRLEN", "h"], i(18 + 3));
    expect(&mut c, &["APPEND", "h", "xyz"], i(24));
    expect_err(&mut c, &["PFCOUNT", "h"], "INVALIDOBJ Corrupted HLL object detected");
    // A value copied byte for byte is a working HLL.
    expect(&mut c, &["PFADD", "src", "a", "b", "c"], i(1));
    let bytes = get_bytes(&mut c, "src");
    redis::cmd("SET").arg("copy").arg(&bytes[..]).query::<()>(&mut c).expect("SET");
    expect(&mut c, &["PFCOUNT", "copy"], i(3));
    expect(&mut c, &["PFADD", "copy", "d"], i(1));
    expect(&mut c, &["PFCOUNT", "copy"], i(4));
}

// ---------------------------------------------------------------------------------------------------------------
// Byte format: identical to Redis 7.0
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn sparse_bytes_match_redis() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["PFADD", "small", "a", "b", "c"], i(1));
    // As stored by Redis 7.0 for the same PFADD: sparse, cached cardinality marked stale.
    assert_eq!(get_bytes(&mut c, "small"), unhex("48594c4c01000000000000000000008060f38050b1844bfb80425a"));
    expect(&mut c, &["PFCOUNT", "small"], i(3));
    // PFCOUNT refreshes the cached cardinality in the header, as Redis does.
    assert_eq!(get_bytes(&mut c, "small"), unhex("48594c4c01000000030000000000000060f38050b1844bfb80425a"));
    // Two sparse HLLs and their merge (after PFCOUNT, so the cache is valid in both servers).
    load(&mut c, "s1", 0, 100);
    load(&mut c, "s2", 50, 150);
    expect(&mut c, &["PFCOUNT", "s1"], i(99));
    expect(&mut c, &["PFCOUNT", "s2"], i(99));
    expect(&mut c, &["PFCOUNT", "s1", "s2"], i(149));
    expect(&mut c, &["PFMERGE", "sm", "s1", "s2"], OK);
    expect(&mut c, &["PFCOUNT", "sm"], i(149));
    expect(&mut c, &["STRLEN", "s1"], i(277));
    expect(&mut c, &["STRLEN", "sm"], i(398));
    assert_eq!(fnv1a(&get_bytes(&mut c, "s1")), 0x58a9_fe58_1be8_a402, "s1 bytes");
    assert_eq!(fnv1a(&get_bytes(&mut c, "s2")), 0x0d24_975b_3334_dbbc, "s2 bytes");
    assert_eq!(fnv1a(&get_bytes(&mut c, "sm")), 0xc9bc_82e9_d791_106e, "merged sparse bytes");
}

#[test]
fn sparse_to_dense_conversion() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Counts and sizes as Redis 7.0 reports them around the default hll-sparse-max-bytes (3000).
    for (n, count, len, enc) in
        [(100usize, 99i64, 277i64, 1u8), (1000, 1002, 1892, 1), (2000, 2006, 12304, 0), (5000, 5052, 12304, 0)]
    {
        let key = format!("t{n}");
        load(&mut c, &key, 0, n);
        expect(&mut c, &["PFCOUNT", &key], i(count));
        expect(&mut c, &["STRLEN", &key], i(len));
        assert_eq!(get_bytes(&mut c, &key)[4], enc, "encoding byte for {n} items (1 sparse, 0 dense)");
    }
    // hll-sparse-max-bytes 0: the first element already needs the dense form; an empty HLL stays sparse.
    expect(&mut c, &["CONFIG", "SET", "hll-sparse-max-bytes", "0"], OK);
    expect(&mut c, &["PFADD", "x", "a"], i(1));
    expect(&mut c, &["STRLEN", "x"], i(12304));
    expect(&mut c, &["PFCOUNT", "x"], i(1));
    expect(&mut c, &["PFADD", "y"], i(1));
    expect(&mut c, &["STRLEN", "y"], i(18));
}

// ---------------------------------------------------------------------------------------------------------------
// Accuracy on a million items
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn million_items_within_one_percent() {
    let s = TestServer::start();
    let mut c = s.conn();
    const N: usize = 1_000_000;
    load(&mut c, "big", 0, N);
    let count: i64 = q(&mut c, &["PFCOUNT", "big"]);
    let error = (count as f64 - N as f64).abs() / N as f64;
    println!("PFCOUNT of {N} distinct items: {count}, relative error {:.4}%", error * 100.0);
    assert!(error < 0.01, "relative error {error} for {count}");
    // Exactly Redis 7.0's estimate for the same items (same hash, same registers, same estimator).
    assert_eq!(count, 993_158);
    // The dense representation: 16-byte header plus 16384 6-bit registers.
    let len: i64 = q(&mut c, &["STRLEN", "big"]);
    assert!(len <= 12304, "dense HLL is {len} bytes");
    let bytes = get_bytes(&mut c, "big");
    assert_eq!(&bytes[..16], b"HYLL\x00\x00\x00\x00\x86\x27\x0f\x00\x00\x00\x00\x00", "dense header, cached 993158");
    assert_eq!(fnv1a(&bytes[16..]), 0xf596_5263_a34a_0130, "dense registers identical to Redis 7.0's");
    // Adding items already seen changes nothing.
    let mut cmd = redis::cmd("PFADD");
    cmd.arg("big");
    for j in (0..N).step_by(997) {
        cmd.arg(format!("item:{j}"));
    }
    assert_eq!(cmd.query::<i64>(&mut c).expect("PFADD"), 0);
    expect(&mut c, &["PFCOUNT", "big"], i(993_158));
}

#[test]
fn merge_and_multi_key_count_of_dense_hlls() {
    let s = TestServer::start();
    let mut c = s.conn();
    load(&mut c, "h1", 0, 300_000);
    load(&mut c, "h2", 200_000, 500_000);
    load(&mut c, "h3", 400_000, 1_000_000);
    // Redis 7.0's estimates for the same inputs.
    expect(&mut c, &["PFCOUNT", "h1"], i(297_683));
    expect(&mut c, &["PFCOUNT", "h2"], i(299_070));
    expect(&mut c, &["PFCOUNT", "h3"], i(600_969));
    expect(&mut c, &["PFCOUNT", "h1", "h2"], i(496_735));
    let union: i64 = q(&mut c, &["PFCOUNT", "h1", "h2", "h3"]);
    let error = (union as f64 - 1e6).abs() / 1e6;
    println!("PFCOUNT h1 h2 h3 (1,000,000 distinct items): {union}, relative error {:.4}%", error * 100.0);
    assert!(error < 0.01);
    assert_eq!(union, 993_158);
    // A multi-key PFCOUNT does not change the keys.
    let before = get_bytes(&mut c, "h1");
    expect(&mut c, &["PFCOUNT", "h1", "h2", "h3"], i(993_158));
    assert_eq!(get_bytes(&mut c, "h1"), before);
    assert_eq!(fnv1a(&before), 0xb362_0c64_4ad4_10a0, "h1 bytes identical to Redis 7.0's");
    // PFMERGE gives the same registers as adding everything to one HLL.
    expect(&mut c, &["PFMERGE", "m", "h1", "h2", "h3"], OK);
    expect(&mut c, &["PFCOUNT", "m"], i(993_158));
    expect(&mut c, &["STRLEN", "m"], i(12304));
    assert_eq!(fnv1a(&get_bytes(&mut c, "m")), 0x6e65_023b_e09a_34f7, "merged bytes identical to Redis 7.0's");
    // Merging a sparse HLL into a dense one, and a dense into a sparse destination.
    expect(&mut c, &["PFADD", "sp", "extra-1", "extra-2"], i(1));
    expect(&mut c, &["PFMERGE", "sp", "h1"], OK);
    expect(&mut c, &["STRLEN", "sp"], i(12304));
    expect(&mut c, &["PFCOUNT", "sp"], i(297_690));
    expect(&mut c, &["PFCOUNT", "sp", "h1"], i(297_690));
}
