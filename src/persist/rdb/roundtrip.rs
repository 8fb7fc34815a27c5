//! Round trips of every type and encoding through DUMP's encoding and back, and a table of damaged payloads.

use super::*;
use crate::persist::format::Limits;
use crate::store::types::{ExtValue, HashLimits, HashValue, SetValue, ZSetValue, ZsetLimits};
use crate::store::{StrValue, Value};
use bytes::Bytes;
use std::collections::VecDeque;

const LIMITS: Limits = Limits {
    hash: HashLimits { max_entries: 128, max_value: 64 },
    zset: ZsetLimits { max_entries: 128, max_value: 64 },
    set_max_intset: 512,
    key_load_delay_us: 0,
};

/// The value in a comparable form: type, encoding and contents (unordered types sorted).
fn shape(v: &Value) -> (String, String, Vec<Vec<u8>>) {
    let mut items: Vec<Vec<u8>> = match v {
        Value::Str(s) => vec![s.to_bytes().to_vec()],
        Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
        Value::Hash(h) => {
            let mut p: Vec<Vec<u8>> = h.pairs().into_iter().map(|(f, v)| [&f[..], b"=", &v[..]].concat()).collect();
            p.sort();
            p
        }
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.members().into_iter().map(|m| m.to_vec()).collect();
            m.sort();
            m
        }
        Value::ZSet(z) => {
            z.range(0, z.len()).into_iter().map(|(s, m)| [&m[..], b"=", s.to_string().as_bytes()].concat()).collect()
        }
        Value::Ext(e) => vec![e.to_bytes()],
        Value::Stream(st) => vec![st.digest_bytes()],
    };
    if let Value::List(_) = v {
    } else if let Value::ZSet(_) = v {
    } else {
        items.sort();
    }
    // A string's encoding is chosen again on RESTORE, as Redis does (a short raw string comes back embstr).
    let enc = if let Value::Str(_) = v { "" } else { v.encoding() };
    (v.type_name().to_string(), enc.to_string(), items)
}

fn round_trip(v: &Value) -> Value {
    let payload = seal(encode(v, &EncodeOptions::default()));
    let body = unseal(&payload).expect("footer");
    decode(body, &LIMITS).expect("decodes")
}

fn check(v: Value) {
    assert_eq!(shape(&round_trip(&v)), shape(&v), "{v:?}");
}

fn hash_of(n: usize, val: &str) -> Value {
    let mut h = HashValue::default();
    for i in 0..n {
        h.set(format!("f{i}").as_bytes(), val.as_bytes(), LIMITS.hash);
    }
    Value::Hash(Box::new(h))
}

fn zset_of(n: usize) -> Value {
    let mut z = ZSetValue::default();
    for i in 0..n {
        z.insert(format!("m{i}").as_bytes(), i as f64 / 3.0 - 7.0, LIMITS.zset);
    }
    z.insert(b"inf", f64::INFINITY, LIMITS.zset);
    z.insert(b"-inf", f64::NEG_INFINITY, LIMITS.zset);
    Value::ZSet(Box::new(z))
}

#[test]
fn strings_in_every_form() {
    for s in [
        "",
        "0",
        "-1",
        "127",
        "-129",
        "40000",
        "2147483647",
        "-2147483648",
        "2147483648",
        "12345678901234567890",
        "007",
        "+5",
        "hello",
        "a moderately long string that LZF cannot shrink much!",
        &"ab".repeat(200),
    ] {
        check(Value::Str(StrValue::from_slice(s.as_bytes())));
        check(Value::Str(StrValue::Raw(Bytes::copy_from_slice(s.as_bytes()))));
    }
    check(Value::Str(StrValue::Int(i64::MIN)));
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
    check(Value::Str(StrValue::Raw(Bytes::from(big))));
}

#[test]
fn lists_of_one_and_many_nodes() {
    for n in [1usize, 5, 500, 5000] {
        let l: VecDeque<Bytes> =
            (0..n).map(|i| Bytes::from(if i % 3 == 0 { i.to_string() } else { format!("item-{i}") })).collect();
        check(Value::List(Box::new(l)));
    }
    let big: VecDeque<Bytes> =
        vec![Bytes::from(vec![b'x'; 10_000]), Bytes::from_static(b"y"), Bytes::from(vec![7u8; 70_000])].into();
    let v = Value::List(Box::new(big));
    check(v.clone());
    // Each element over 8 KB gets a node of its own.
    let body = encode(&v, &EncodeOptions::default());
    assert_eq!(&body[..2], &[types::LIST_QUICKLIST_2, 3]);
    for fill in [-1, -5, 1, 128] {
        let l: VecDeque<Bytes> = (0..1000).map(|i| Bytes::from(format!("e{i}"))).collect();
        let v = Value::List(Box::new(l));
        let back = decode(&encode(&v, &EncodeOptions { list_fill: fill }), &LIMITS).expect("decodes");
        assert_eq!(shape(&back), shape(&v));
    }
}

#[test]
fn hashes_sets_and_zsets_in_both_encodings() {
    check(hash_of(3, "v"));
    check(hash_of(3, "12"));
    check(hash_of(500, "value"));
    check(hash_of(2, &"long".repeat(30)));
    let mut ints = SetValue::default();
    for m in [5i64, -3, 70000, i64::MAX, i64::MIN] {
        ints.add(m.to_string().as_bytes(), 512);
    }
    check(Value::Set(Box::new(ints)));
    let mut strs = SetValue::default();
    for i in 0..300 {
        strs.add(format!("s{i}").as_bytes(), 512);
    }
    check(Value::Set(Box::new(strs)));
    let mut many_ints = SetValue::default();
    for i in 0..1000 {
        many_ints.add(i.to_string().as_bytes(), 2000);
    }
    let v = Value::Set(Box::new(many_ints));
    assert_eq!(round_trip(&v).encoding(), "hashtable", "beyond set-max-intset-entries on this side");
    check(zset_of(5));
    check(zset_of(300));
}

#[test]
fn extension_values_use_strata_type() {
    let mut c = crate::store::types::counter::WindowCounter::new(1_000, 60_000).expect("valid");
    c.record(5_000, crate::store::types::counter::Sample::Int(3), 5_000).expect("ok");
    let v = Value::Ext(Box::new(ExtValue::Counter(c)));
    let body = encode(&v, &EncodeOptions::default());
    assert_eq!(body[0], TYPE_STRATA_EXT);
    check(v);
}

#[test]
fn redis_payloads_decode() {
    // Bytes of redis-server 7.0 DUMPs (footer removed).
    let zset = b"\x11\xc3)2\x132\x00\x00\x00\x08\x00\x81d\x02\xdf\xfd\x02\x81c\x02\x930.10\xe0\x05\x00\x0f1\x14\x81a\x02\x01\x01\x81b\x02\x831.5\x04\xff";
    let v = decode(zset, &LIMITS).expect("zset");
    assert_eq!(
        v.as_zset().map(|z| z.range(0, 10)).unwrap_or_default().iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![-3.0, 0.1, 1.0, 1.5]
    );
    assert_eq!(encode(&v, &EncodeOptions::default()), zset.to_vec());
    let hash = b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81n\x02*\x01\xff";
    let v = decode(hash, &LIMITS).expect("hash");
    assert_eq!(v.as_hash().and_then(|h| h.get(b"n")), Some(Bytes::from_static(b"42")));
    assert_eq!(encode(&v, &EncodeOptions::default()), hash.to_vec());
    // Old encodings: a ziplist list (type 10), an old-style zset with text scores (type 3), a zipmap hash (type 9).
    let zl = super::ziplist::tests_sample();
    let mut body = vec![types::LIST_ZIPLIST];
    encode::put_string(&mut body, &zl);
    let v = decode(&body, &LIMITS).expect("ziplist list");
    assert_eq!(v.as_list().map(|l| l.len()), Some(4));
    let v = decode(b"\x03\x02\x01a\x031.5\x01b\xfe", &LIMITS).expect("type 3");
    assert_eq!(v.as_zset().and_then(|z| z.score(b"b")), Some(f64::INFINITY));
    let v = decode(b"\x09\x11\x02\x01a\x01\x021..\x02bb\x03\x00xyz\xff", &LIMITS).expect("zipmap");
    assert_eq!(v.as_hash().and_then(|h| h.get(b"bb")), Some(Bytes::from_static(b"xyz")));
    // A 32-bit length and a 64-bit one.
    assert!(decode(b"\x00\x80\x00\x00\x00\x03abc", &LIMITS).is_ok());
    assert!(decode(b"\x00\x81\x00\x00\x00\x00\x00\x00\x00\x03abc", &LIMITS).is_ok());
}

#[test]
fn damaged_payloads_are_refused() {
    let cases: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("unknown type", b"\x08\x00"),
        ("type 20", b"\x14\x00"),
        ("stream", b"\x0f\x00"),
        ("module", b"\x07\x00"),
        ("truncated string", b"\x00\x05ab"),
        ("bad length encoding", b"\x00\x82"),
        ("bad string encoding", b"\x00\xc4"),
        ("huge string length", b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff"),
        ("huge list count", b"\x01\x81\x00\x00\x01\x00\x00\x00\x00\x00\x01a"),
        ("empty list", b"\x01\x00"),
        ("empty set", b"\x02\x00"),
        ("duplicate set member", b"\x02\x02\x01a\x01a"),
        ("duplicate int member", b"\x02\x02\xc0\x01\x01\x31"),
        ("duplicate hash field", b"\x04\x02\x01f\x01v\x01f\x01w"),
        (
            "duplicate zset member",
            b"\x05\x02\x01a\x00\x00\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00\xf0\x3f",
        ),
        ("nan score", b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\xf8\x7f"),
        ("lzf too big", b"\x00\xc3\x02\x81\x00\x00\x00\x10\x00\x00\x00\x00\x00a"),
        ("lzf wrong size", b"\x00\xc3\x02\x05\x00a"),
        ("lzf bad reference", b"\x00\xc3\x02\x05\x20\x00"),
        ("listpack size", b"\x10\x07\x08\x00\x00\x00\x00\x00\xff"),
        ("listpack hash odd", b"\x10\x0f\x0f\x00\x00\x00\x03\x00\x81f\x02\x81v\x02\x81f\x02\xff"),
        ("listpack hash dup", b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81f\x02*\x01\xff"),
        ("listpack hash int dup", b"\x10\x0f\x0f\x00\x00\x00\x04\x00\x01\x01\x01\x01\x811\x02\x01\x01\xff"),
        ("empty listpack hash", b"\x10\x07\x07\x00\x00\x00\x00\x00\xff"),
        ("quicklist bad container", b"\x12\x01\x03\x03abc"),
        ("quicklist empty node", b"\x12\x01\x02\x00"),
        ("quicklist only empty listpack", b"\x12\x01\x02\x07\x07\x00\x00\x00\x00\x00\xff"),
        ("quicklist bad backlen", b"\x12\x01\x02\x0a\x0a\x00\x00\x00\x01\x00\x81a\x03\xff"),
        ("quicklist node count lies", b"\x12\x05\x02\x0a\x0a\x00\x00\x00\x01\x00\x81a\x02\xff"),
        ("intset unsorted", b"\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00"),
        ("intset bad width", b"\x0b\x0c\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00"),
        ("intset empty", b"\x0b\x08\x02\x00\x00\x00\x00\x00\x00\x00"),
        ("intset count lies", b"\x0b\x0c\x02\x00\x00\x00\xff\xff\xff\x7f\x01\x00\x02\x00"),
        ("zipmap count", b"\x09\x0a\x05\x01a\x01\x00b\xff"),
        ("ext garbage", b"\xa5\x03abc"),
    ];
    for (name, body) in cases {
        assert!(decode(body, &LIMITS).is_err(), "{name} was accepted");
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for v in
        [hash_of(3, "v"), hash_of(200, "x"), zset_of(4), zset_of(200), Value::Str(StrValue::from_slice(&[b'q'; 100]))]
    {
        seeds.push(encode(&v, &EncodeOptions::default()));
    }
    let l: VecDeque<Bytes> = (0..50).map(|i| Bytes::from(format!("{i}"))).collect();
    seeds.push(encode(&Value::List(Box::new(l)), &EncodeOptions::default()));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for seed in &seeds {
        for _ in 0..2000 {
            let mut b = seed.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[i] = next() as u8,
                    1 => b.truncate(i.max(1)),
                    _ => b.insert(i, next() as u8),
                }
            }
            let _ = decode(&b, &LIMITS);
        }
    }
    for _ in 0..20000 {
        let n = (next() % 40) as usize;
        let b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let _ = decode(&b, &LIMITS);
    }
}
