//! A value to its RDB encoding, as Redis 7.0's `rdbSaveObjectType` + `rdbSaveObject` write it.

use super::listpack::Writer;
use super::{intset, lzf, types, CONTAINER_PACKED, TYPE_STRATA_EXT};
use crate::store::types::{HashValue, SetValue, ZSetValue};
use crate::store::{StrValue, Value};
use crate::util::num::{format_double, parse_i64};
use bytes::Bytes;
use std::collections::VecDeque;

/// Settings that shape the encoding.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions {
    /// `list-max-listpack-size`: how Redis would have split a list into quicklist nodes.
    pub list_fill: i64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { list_fill: -2 }
    }
}

/// Redis's `rdbSaveLen`.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[((n >> 8) as u8) | 0x40, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Redis's `rdbSaveRawString`: an integer form for short canonical integers in 32 bits, LZF for strings over 20
/// bytes when it saves at least 4 bytes (`rdbcompression yes`), else the bytes with their length.
pub fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0, v as u8]);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            put_len(out, c.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Redis's `d2string`: integral values below 2^52 in magnitude as integers, others as `%.17g`.
pub fn score_string(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if v > -4_503_599_627_370_495.0 && v < 4_503_599_627_370_496.0 && v == (v as i64) as f64 {
        return (v as i64).to_string();
    }
    format_double(v)
}

/// The value's type byte and encoding (a DUMP payload without its footer; see `rdb::seal`).
pub fn encode(value: &Value, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::Str(s) => {
            out.push(types::STRING);
            match s {
                StrValue::Int(n) => put_string(&mut out, itoa::Buffer::new().format(*n).as_bytes()),
                StrValue::Inline(b) => put_string(&mut out, b),
                StrValue::Bytes(b) => put_string(&mut out, b),
                StrValue::Raw(v) => put_string(&mut out, v),
                StrValue::Compressed(c) => put_string(&mut out, &c.decompress()),
            }
        }
        Value::List(l) => list(&mut out, l, opts.list_fill),
        Value::Hash(h) => hash(&mut out, h),
        Value::Set(s) => set(&mut out, s),
        Value::ZSet(z) => zset(&mut out, z),
        Value::Ext(e) => {
            out.push(TYPE_STRATA_EXT);
            put_string(&mut out, &e.to_bytes());
        }
        Value::Stream(st) => super::stream::write(&mut out, st),
    }
    out
}

/// Whether Redis 7.0's `_quicklistNodeAllowInsert` would add an element of `sz` bytes to a node of `node_sz`
/// bytes holding `count` elements (it estimates 8 bytes of overhead per entry).
fn node_allows(node_sz: usize, count: usize, sz: usize, fill: i64) -> bool {
    let new_sz = node_sz + sz + 8;
    if fill < 0 {
        const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
        let level = usize::try_from(-fill - 1).ok().and_then(|i| LEVELS.get(i));
        if level.is_some_and(|&max| new_sz <= max) {
            return true;
        }
    }
    new_sz <= 8192 && (count as i64) < fill
}

fn list(out: &mut Vec<u8>, l: &VecDeque<Bytes>, fill: i64) {
    out.push(types::LIST_QUICKLIST_2);
    // The nodes a list pushed at the tail element by element would have.
    let mut nodes: Vec<Writer> = Vec::new();
    for e in l {
        match nodes.last_mut() {
            Some(n) if node_allows(n.bytes(), n.len(), e.len(), fill) => n.push(e),
            _ => {
                let mut n = Writer::new();
                n.push(e);
                nodes.push(n);
            }
        }
    }
    put_len(out, nodes.len() as u64);
    for n in nodes {
        put_len(out, CONTAINER_PACKED);
        put_string(out, &n.finish());
    }
}

fn hash(out: &mut Vec<u8>, h: &HashValue) {
    match h {
        HashValue::Pack(lp) => {
            out.push(types::HASH_LISTPACK);
            let mut w = Writer::new();
            for item in lp.iter() {
                w.push(item);
            }
            put_string(out, &w.finish());
        }
        HashValue::Table(_) => {
            out.push(types::HASH);
            let pairs = h.pairs();
            put_len(out, pairs.len() as u64);
            for (f, v) in pairs {
                put_string(out, &f);
                put_string(out, &v);
            }
        }
    }
}

fn set(out: &mut Vec<u8>, s: &SetValue) {
    match s {
        SetValue::Ints(v) => {
            out.push(types::SET_INTSET);
            put_string(out, &intset::write(v));
        }
        SetValue::Table(_) => {
            out.push(types::SET);
            let members = s.members();
            put_len(out, members.len() as u64);
            for m in members {
                put_string(out, &m);
            }
        }
    }
}

fn zset(out: &mut Vec<u8>, z: &ZSetValue) {
    match z {
        ZSetValue::Small(v) => {
            out.push(types::ZSET_LISTPACK);
            let mut w = Writer::new();
            for (score, m) in v {
                w.push(m);
                w.push(score_string(*score).as_bytes());
            }
            put_string(out, &w.finish());
        }
        ZSetValue::Big { .. } => {
            out.push(types::ZSET_2);
            put_len(out, z.len() as u64);
            // Highest first, as Redis walks its skiplist from the tail.
            for (score, m) in z.range(0, z.len().saturating_sub(1)).into_iter().rev() {
                put_string(out, &m);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_strings_as_redis_writes_them() {
        let mut out = Vec::new();
        for n in [0u64, 63, 64, 16383, 16384, u64::from(u32::MAX), 1 << 40] {
            put_len(&mut out, n);
        }
        assert_eq!(
            out,
            b"\x00\x3f\x40\x40\x7f\xff\x80\x00\x00\x40\x00\x80\xff\xff\xff\xff\x81\x00\x00\x01\x00\x00\x00\x00\x00"
                .to_vec()
        );
        let enc = |s: &[u8]| {
            let mut o = Vec::new();
            put_string(&mut o, s);
            o
        };
        assert_eq!(enc(b"12"), b"\xc0\x0c");
        assert_eq!(enc(b"-200"), b"\xc1\x38\xff");
        assert_eq!(enc(b"70000"), b"\xc2\x70\x11\x01\x00");
        assert_eq!(enc(b"12345678901"), b"\x0b12345678901");
        assert_eq!(enc(b"012"), b"\x03012");
        assert_eq!(enc(b""), b"\x00");
        assert_eq!(enc(&[b'a'; 30]), b"\xc3\x09\x1e\x01aa\xe0\x11\x00\x01aa");
    }

    #[test]
    fn scores_as_d2string() {
        assert_eq!(score_string(1.0), "1");
        assert_eq!(score_string(-3.0), "-3");
        assert_eq!(score_string(1.5), "1.5");
        assert_eq!(score_string(0.1), "0.10000000000000001");
        assert_eq!(score_string(f64::INFINITY), "inf");
        assert_eq!(score_string(1e20), "1e+20");
        assert_eq!(score_string(-0.0), "-0");
    }
}
