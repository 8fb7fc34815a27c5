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
        check(Value::Str(StrValue::raw(s.as_bytes().to_vec())));
    }
    check(Value::Str(StrValue::Int(i64::MIN)));
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
    check(Value::Str(StrValue::raw(big)));
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

/// A stream over two nodes with a deleted entry, an entry with fields of its own, and a group with two consumers
/// (one without pending entries) and an acknowledged entry.
fn stream_sample() -> Value {
    use crate::store::types::stream::{Group, Stream, StreamId};
    let mut st = Stream::default();
    let fv = |pairs: &[&str]| pairs.iter().map(|s| Bytes::from(s.to_string())).collect::<Vec<_>>();
    st.append_cut(StreamId::new(5, 3), &fv(&["f", "v", "n", "12"]), true);
    st.append_cut(StreamId::new(5, 4), &fv(&["f", "w", "n", "-7"]), false);
    st.append_cut(StreamId::new(9, 0), &fv(&["other", &"x".repeat(100)]), false);
    st.append_cut(StreamId::new(12, 1), &fv(&["f", "y", "n", "1"]), true);
    st.delete(&[StreamId::new(5, 4)]);
    let mut g = Group::new(StreamId::new(9, 0), 3);
    g.consumer(b"carol", 7, true);
    g.consumer(b"alice", 1_700_000_000_000, true);
    g.deliver(StreamId::new(5, 3), &Bytes::from_static(b"alice"), 1_700_000_000_001, 2);
    g.deliver(StreamId::new(9, 0), &Bytes::from_static(b"alice"), 1_700_000_000_002, 1);
    g.ack(StreamId::new(9, 0));
    st.groups.insert(Bytes::from_static(b"g"), g);
    st.groups.insert(Bytes::from_static(b"empty"), Group::new(StreamId::MIN, 0));
    Value::Stream(Box::new(st))
}

#[test]
fn streams_round_trip_in_redis_encoding() {
    let v = stream_sample();
    let body = encode(&v, &EncodeOptions::default());
    assert_eq!(body[0], types::STREAM_LISTPACKS_2);
    let back = round_trip(&v);
    let (Value::Stream(a), Value::Stream(b)) = (&v, &back) else { panic!("not a stream") };
    // Everything, consumers' seen times and the PEL included; and the node boundaries, so a second DUMP is equal.
    assert_eq!(a.to_bytes(), b.to_bytes());
    assert_eq!(b.block_count(), 2);
    assert_eq!(encode(&back, &EncodeOptions::default()), body);
    // What earlier builds dumped (the private type byte over `Stream::to_bytes`) still restores.
    let mut old = vec![TYPE_STRATA_STREAM];
    encode::put_string(&mut old, &a.to_bytes());
    let Ok(Value::Stream(c)) = decode(&old, &LIMITS) else { panic!("old stream payload") };
    assert_eq!(c.to_bytes(), a.to_bytes());
    // An empty stream (entries deleted, group kept) is a value too.
    let mut empty = crate::store::types::Stream::default();
    empty.append(crate::store::types::StreamId::new(1, 1), &[Bytes::from_static(b"a"), Bytes::from_static(b"1")]);
    empty.delete(&[crate::store::types::StreamId::new(1, 1)]);
    check(Value::Stream(Box::new(empty)));
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
    // A stream with a tombstone: XADD s 1-1 a 1; XADD s 1-2 a 2; XDEL s 1-1.
    let stream = b"\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01&&\x00\x00\x00\x0f\x00\x01\x01\x01\x01\x01\x01\x81a\x02\x00\x01\x03\x01\x00\x01\x00\x01\x01\x01\x04\x01\x02\x01\x00\x01\x01\x01\x02\x01\x04\x01\xff\x01\x01\x02\x01\x02\x01\x01\x02\x00";
    let Ok(Value::Stream(st)) = decode(stream, &LIMITS) else { panic!("stream") };
    let id = crate::store::types::StreamId::new;
    assert_eq!(
        (st.len(), st.first_id, st.last_id, st.max_deleted_id, st.entries_added),
        (1, id(1, 2), id(1, 2), id(1, 1), 2)
    );
    let entry = st.get(id(1, 2)).expect("entry 1-2");
    assert_eq!(entry.fields, vec![(Bytes::from_static(b"a"), Bytes::from_static(b"2"))]);
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
    // Streams: each damage made to a good payload.
    let good = encode(&stream_sample(), &EncodeOptions::default());
    assert!(decode(&good, &LIMITS).is_ok());
    let find = |needle: &[u8]| good.windows(needle.len()).position(|w| w == needle).expect("in the payload");
    let mut damaged: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut b = good.clone();
    b[2] = 0x0f; // the first node's key is 15 bytes long
    damaged.push(("node key length", b));
    // Groups whose PEL and consumers disagree, written as they are.
    let with_group = |change: &dyn Fn(&mut crate::store::types::stream::Group)| {
        let Value::Stream(mut st) = stream_sample() else { unreachable!() };
        if let Some(g) = st.groups.get_mut(&b"g"[..]) {
            change(g);
        }
        encode(&Value::Stream(st), &EncodeOptions::default())
    };
    let id = crate::store::types::StreamId::new;
    damaged.push((
        "PEL entry without a consumer",
        with_group(&|g| {
            let mut n = g.pel[&id(5, 3)].clone();
            n.consumer = Bytes::from_static(b"nobody");
            g.pel.insert(id(12, 1), n);
        }),
    ));
    damaged.push((
        "consumer PEL entry not in the group",
        with_group(&|g| {
            if let Some(c) = g.consumers.get_mut(&b"carol"[..]) {
                c.pel.insert(id(12, 1));
            }
        }),
    ));
    damaged.push((
        "PEL entry owned twice",
        with_group(&|g| {
            if let Some(c) = g.consumers.get_mut(&b"carol"[..]) {
                c.pel.insert(id(5, 3));
            }
        }),
    ));
    let mut b = good.clone();
    let at = find(b"empty");
    b[at..at + 5].copy_from_slice(b"g\x00\x00\x00\x00");
    b[at - 1] = 1;
    b.drain(at + 1..at + 5);
    damaged.push(("duplicate group", b));
    for (name, body) in damaged {
        assert!(decode(&body, &LIMITS).is_err(), "stream with {name} was accepted");
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
    seeds.push(encode(&stream_sample(), &EncodeOptions::default()));
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
