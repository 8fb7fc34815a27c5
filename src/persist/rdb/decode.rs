//! An RDB-encoded value back to a `Value`, as Redis 7.0's `rdbLoadObjectType` + `rdbLoadObject` read it for
//! RESTORE with `sanitize-dump-payload yes`: every listpack, ziplist, intset and zipmap is validated entry by
//! entry, duplicate members are refused, and empty containers are refused.
//!
//! Nothing here trusts a length before the bytes are there: every element takes at least one byte of the
//! payload, so a count is never used to reserve more than the payload could hold, and an LZF string may claim
//! at most [`lzf::MAX_RATIO`] times its compressed size.

use super::{
    intset, listpack, lzf, stream, types, ziplist, zipmap, Elem, CONTAINER_PACKED, CONTAINER_PLAIN, TYPE_STRATA_EXT,
    TYPE_STRATA_STREAM,
};
use crate::persist::format::Limits;
use crate::store::types::{ExtValue, HashLimits, HashValue, SetValue, Stream, ZSetValue, ZsetLimits};
use crate::store::{StrValue, Value};
use crate::util::num::parse_f64;
use bytes::Bytes;
use std::collections::VecDeque;

/// Why a payload was refused (RESTORE answers `ERR Bad data format` for all of them; the reason is for tests
/// and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

pub(super) type R<T> = Result<T, DecodeError>;

pub(super) fn bad<T>(why: &'static str) -> R<T> {
    Err(DecodeError(why))
}

/// A string as the payload holds it.
pub(super) enum RStr<'a> {
    Int(i64),
    Plain(&'a [u8]),
    Lzf(Vec<u8>),
}

impl RStr<'_> {
    pub(super) fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            RStr::Int(n) => std::borrow::Cow::Owned(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
            RStr::Plain(s) => std::borrow::Cow::Borrowed(s),
            RStr::Lzf(v) => std::borrow::Cow::Borrowed(v),
        }
    }
}

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(super) fn byte(&mut self) -> R<u8> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: u64) -> R<&'a [u8]> {
        if n > self.left() as u64 {
            return bad("truncated");
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// Redis's `rdbLoadLen`: the length and whether it was a special encoding (`11xxxxxx`).
    pub(super) fn len(&mut self) -> R<(u64, bool)> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => (u64::from(b & 0x3F), false),
            1 => (u64::from(b & 0x3F) << 8 | u64::from(self.byte()?), false),
            3 => (u64::from(b & 0x3F), true),
            _ => match b {
                0x80 => {
                    let s = self.take(4)?;
                    (u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])), false)
                }
                0x81 => {
                    let s = self.take(8)?;
                    (u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]), false)
                }
                _ => return bad("unknown length encoding"),
            },
        })
    }

    /// A count of elements to follow, each at least one byte long (so never more than the bytes left).
    pub(super) fn count(&mut self) -> R<usize> {
        let (n, _) = self.len()?;
        if n > self.left() as u64 {
            return bad("count exceeds the payload");
        }
        Ok(n as usize)
    }

    /// Redis's `rdbGenericLoadStringObject`.
    pub(super) fn string(&mut self) -> R<RStr<'a>> {
        let (n, encoded) = self.len()?;
        if !encoded {
            return Ok(RStr::Plain(self.take(n)?));
        }
        Ok(match n {
            0 => RStr::Int(i64::from(self.byte()? as i8)),
            1 => {
                let s = self.take(2)?;
                RStr::Int(i64::from(i16::from_le_bytes([s[0], s[1]])))
            }
            2 => {
                let s = self.take(4)?;
                RStr::Int(i64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]])))
            }
            3 => {
                let (clen, _) = self.len()?;
                let (len, _) = self.len()?;
                let data = self.take(clen)?;
                if len > (data.len() as u64).saturating_mul(lzf::MAX_RATIO as u64) {
                    return bad("LZF length beyond what its data can expand to");
                }
                if len == 0 {
                    return Ok(RStr::Lzf(Vec::new()));
                }
                RStr::Lzf(lzf::decompress(data, len as usize).ok_or(DecodeError("invalid LZF compressed string"))?)
            }
            _ => return bad("unknown string encoding"),
        })
    }

    /// A string that holds a blob (listpack, ziplist, intset, zipmap): never an integer form.
    pub(super) fn blob(&mut self) -> R<std::borrow::Cow<'a, [u8]>> {
        match self.string()? {
            RStr::Plain(s) => Ok(std::borrow::Cow::Borrowed(s)),
            RStr::Lzf(v) => Ok(std::borrow::Cow::Owned(v)),
            RStr::Int(n) => Ok(std::borrow::Cow::Owned(itoa::Buffer::new().format(n).as_bytes().to_vec())),
        }
    }

    /// Redis's `rdbLoadDoubleValue` (RDB type 3): a length byte (253 NaN, 254 +inf, 255 -inf) and text.
    fn text_double(&mut self) -> R<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.take(u64::from(n))?;
                parse_f64(s).ok_or(DecodeError("bad double"))
            }
        }
    }

    fn binary_double(&mut self) -> R<f64> {
        let s = self.take(8)?;
        Ok(f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
    }
}

/// Decodes the value at the start of `body` (RESTORE passes the whole payload, footer included, as Redis reads
/// it). Bytes after the value are ignored, as Redis ignores them.
///
/// # Errors
/// A [`DecodeError`] for anything Redis 7.0 would refuse to restore.
pub fn decode(body: &[u8], limits: &Limits) -> R<Value> {
    let mut r = Reader { buf: body, pos: 0 };
    let t = r.byte()?;
    let v = match t {
        // Redis runs tryObjectEncoding on a loaded string: integers, embstr or raw by length, as SET stores.
        types::STRING => Value::Str(match r.string()? {
            RStr::Int(n) => StrValue::Int(n),
            RStr::Plain(s) => StrValue::from_slice(s),
            RStr::Lzf(v) => StrValue::from_bytes(Bytes::from(v)),
        }),
        types::LIST => {
            let n = r.count()?;
            let mut l = VecDeque::with_capacity(n);
            for _ in 0..n {
                l.push_back(Bytes::from(r.string()?.bytes().into_owned()));
            }
            Value::List(Box::new(l))
        }
        types::SET => {
            let n = r.count()?;
            let mut s = SetValue::default();
            for _ in 0..n {
                if !s.add(&r.string()?.bytes(), limits.set_max_intset) {
                    return bad("duplicate set members");
                }
            }
            Value::Set(Box::new(s))
        }
        types::ZSET | types::ZSET_2 => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?.bytes().into_owned();
                let score = if t == types::ZSET { r.text_double()? } else { r.binary_double()? };
                pairs.push((m, score));
            }
            zset(pairs.iter().map(|(m, s)| (&m[..], *s)), limits.zset)?
        }
        types::HASH => {
            let n = r.count()?;
            let mut h = HashValue::default();
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                if !h.set(&f.bytes(), &v.bytes(), limits.hash) {
                    return bad("duplicate hash fields");
                }
            }
            Value::Hash(Box::new(h))
        }
        types::HASH_ZIPMAP => {
            let blob = r.blob()?;
            let pairs = zipmap::read(&blob).ok_or(DecodeError("zipmap integrity"))?;
            hash(pairs.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())), limits.hash)?
        }
        types::LIST_ZIPLIST => {
            let blob = r.blob()?;
            let elems = ziplist::read(&blob).ok_or(DecodeError("ziplist integrity"))?;
            Value::List(Box::new(elems.iter().map(|e| Bytes::from(e.to_vec())).collect()))
        }
        types::SET_INTSET => {
            let blob = r.blob()?;
            let members = intset::read(&blob).ok_or(DecodeError("intset integrity"))?;
            if members.len() > limits.set_max_intset {
                let mut s = SetValue::default();
                for m in members {
                    s.add(itoa::Buffer::new().format(m).as_bytes(), 0);
                }
                Value::Set(Box::new(s))
            } else {
                Value::Set(Box::new(SetValue::Ints(members)))
            }
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let blob = r.blob()?;
            let elems = if t == types::ZSET_ZIPLIST { ziplist::read(&blob) } else { listpack::read(&blob) };
            let elems = elems.ok_or(DecodeError("zset listpack integrity"))?;
            if elems.len() % 2 != 0 {
                return bad("zset listpack with an odd count");
            }
            let pairs: Vec<(Vec<u8>, f64)> =
                elems.chunks_exact(2).map(|c| (c[0].to_vec(), packed_score(c[1]))).collect::<Vec<_>>();
            // Kept compact whatever the members' lengths, as Redis keeps a loaded listpack.
            let keep = ZsetLimits { max_value: usize::MAX, ..limits.zset };
            let limits = if pairs.len() <= limits.zset.max_entries { keep } else { limits.zset };
            zset(pairs.iter().map(|(m, s)| (&m[..], *s)), limits)?
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let blob = r.blob()?;
            let elems = if t == types::HASH_ZIPLIST { ziplist::read(&blob) } else { listpack::read(&blob) };
            let elems = elems.ok_or(DecodeError("hash listpack integrity"))?;
            if elems.len() % 2 != 0 {
                return bad("hash listpack with an odd count");
            }
            let keep = HashLimits { max_value: usize::MAX, ..limits.hash };
            let limits = if elems.len() / 2 <= limits.hash.max_entries { keep } else { limits.hash };
            hash(elems.chunks_exact(2).map(|c| (c[0].to_vec(), c[1].to_vec())), limits)?
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut l = VecDeque::new();
            for _ in 0..nodes {
                let container = if t == types::LIST_QUICKLIST_2 { r.len()?.0 } else { CONTAINER_PACKED };
                if container != CONTAINER_PACKED && container != CONTAINER_PLAIN {
                    return bad("quicklist node container");
                }
                let blob = r.blob()?;
                if blob.is_empty() {
                    return bad("empty quicklist node");
                }
                if container == CONTAINER_PLAIN {
                    l.push_back(Bytes::from(blob.into_owned()));
                    continue;
                }
                let elems = if t == types::LIST_QUICKLIST_2 { listpack::read(&blob) } else { ziplist::read(&blob) };
                let elems = elems.ok_or(DecodeError("quicklist node integrity"))?;
                l.extend(elems.iter().map(|e| Bytes::from(e.to_vec())));
            }
            Value::List(Box::new(l))
        }
        TYPE_STRATA_EXT => {
            let blob = r.blob()?;
            Value::Ext(Box::new(ExtValue::from_bytes(&blob).ok_or(DecodeError("extension value"))?))
        }
        TYPE_STRATA_STREAM => {
            let blob = r.blob()?;
            Value::Stream(Box::new(Stream::from_bytes(&blob).ok_or(DecodeError("stream value"))?))
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 => Value::Stream(Box::new(stream::read(&mut r, t)?)),
        types::MODULE_PRE_GA | types::MODULE_2 => return bad("module values are not supported"),
        _ => return bad("unknown type"),
    };
    if v.is_empty_container() {
        return bad("empty key");
    }
    Ok(v)
}

/// A sorted-set score as a listpack holds it: an integer, or text read as Redis's `zzlStrtod` reads it (`strtod`
/// of the longest numeric prefix, 0 when there is none).
fn packed_score(e: Elem<'_>) -> f64 {
    match e {
        Elem::Int(n) => n as f64,
        Elem::Str(s) => {
            let s = &s[..s.len().min(127)];
            (1..=s.len()).rev().find_map(|n| parse_f64(&s[..n])).unwrap_or(0.0)
        }
    }
}

fn zset<'m>(pairs: impl Iterator<Item = (&'m [u8], f64)>, limits: ZsetLimits) -> R<Value> {
    let mut z = ZSetValue::default();
    for (m, score) in pairs {
        if score.is_nan() {
            return bad("NaN score");
        }
        if z.insert(m, score, limits).is_some() {
            return bad("duplicate zset members");
        }
    }
    Ok(Value::ZSet(Box::new(z)))
}

fn hash(pairs: impl Iterator<Item = (Vec<u8>, Vec<u8>)>, limits: HashLimits) -> R<Value> {
    let mut h = HashValue::default();
    for (f, v) in pairs {
        if !h.set(&f, &v, limits) {
            return bad("duplicate hash fields");
        }
    }
    Ok(Value::Hash(Box::new(h)))
}
