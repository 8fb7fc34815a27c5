//! Values stored under keys, their type names (TYPE, WRONGTYPE) and encodings (OBJECT ENCODING).

use super::compact::{HeapBytes, Inline};
use super::types::{ExtValue, HashValue, SetValue, Stream, ZSetValue};
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Strings no longer than this are reported as `embstr`, as Redis allocates them with their header.
pub const EMBSTR_MAX: usize = 44;

/// Longest string value held inside its entry: what fits beside the tag and the length in the 16 bytes the
/// value takes anyway (a pointer after an 8-byte-aligned tag).
pub const INLINE_MAX: usize = 14;

/// A string value in one of its representations.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// A string that is the canonical decimal form of an `i64` (`OBJECT ENCODING` says `int`).
    Int(i64),
    /// A short value as written by SET and friends, held in the entry itself (`embstr`, as Redis allocates it
    /// with its header): no allocation, and a read copies it instead of sharing a buffer.
    Inline(Inline<INLINE_MAX>),
    /// Bytes as written by SET and friends, allocated at their exact length; `embstr` or `raw` by length. Owned,
    /// not a shared `Bytes`: no reference count to allocate or update on a read, and a thin handle (pointer and
    /// `u32` length) so the entry is 16 bytes.
    Bytes(HeapBytes),
    /// Bytes produced by an in-place modification (APPEND, SETRANGE, SETBIT...), keeping the spare capacity it
    /// grew with (as Redis's sds) so repeated APPENDs stay amortised; always `raw`, as in Redis. Boxed: a `Vec`
    /// would make every entry 8 bytes larger, and in-place writes are the rarer kind.
    Raw(Box<Vec<u8>>),
    /// A cold value, compressed with LZ4 or zstd against a dictionary (`store::compress`).
    Compressed(super::compress::Compressed),
}

impl StrValue {
    /// Builds the representation Redis would pick for a freshly written value.
    pub fn from_bytes(b: Bytes) -> StrValue {
        match Self::int(&b) {
            Some(v) => v,
            None => Self::embstr(&b),
        }
    }

    /// The integer representation of `data`, when it is the canonical form of an `i64`.
    #[inline]
    fn int(data: &[u8]) -> Option<StrValue> {
        if data.len() > 20 {
            return None;
        }
        crate::util::num::parse_i64(data).map(StrValue::Int)
    }

    /// A copy of `data` kept as bytes (`embstr` or `raw` by length, never `int`): a loaded string keeps the
    /// encoding it was saved with.
    pub fn embstr(data: &[u8]) -> StrValue {
        match Inline::new(data) {
            Some(i) => StrValue::Inline(i),
            None => Self::boxed(Box::from(data)),
        }
    }

    /// `b` kept as it is allocated (`embstr` or `raw` by length); past 4 GiB, as a `Raw` buffer.
    pub fn boxed(b: Box<[u8]>) -> StrValue {
        match HeapBytes::from_box(b) {
            Ok(h) => StrValue::Bytes(h),
            Err(b) => StrValue::raw(b.into_vec()),
        }
    }

    /// A buffer from an in-place modification, kept with its spare capacity.
    pub fn raw(v: Vec<u8>) -> StrValue {
        StrValue::Raw(Box::new(v))
    }

    /// Copies `data` into a value of its own (never keeps the read buffer alive).
    pub fn from_slice(data: &[u8]) -> StrValue {
        Self::int(data).unwrap_or_else(|| Self::embstr(data))
    }

    /// The stored bytes, for the two buffer representations.
    pub fn buf(&self) -> Option<&[u8]> {
        match self {
            StrValue::Bytes(b) => Some(b),
            StrValue::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// The value's bytes where they are stored, decoded into a buffer of their own only for an integer or a
    /// compressed value: for work that reads the bytes and keeps none of them (or only a part).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            StrValue::Int(n) => Cow::Owned(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
            StrValue::Inline(i) => Cow::Borrowed(i),
            StrValue::Bytes(b) => Cow::Borrowed(b),
            StrValue::Raw(v) => Cow::Borrowed(v),
            StrValue::Compressed(c) => Cow::Owned(c.decompress()),
        }
    }

    /// The value as bytes for a reader (a copy; integers are formatted).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.bytes().into_owned())
    }

    /// The value as bytes, moved out where it is a buffer already.
    pub fn into_bytes(self) -> Bytes {
        match self {
            StrValue::Bytes(b) => Bytes::from(b.into_box()),
            StrValue::Raw(v) => Bytes::from(*v),
            other => other.to_bytes(),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => itoa::Buffer::new().format(*n).len(),
            StrValue::Inline(i) => i.len(),
            StrValue::Bytes(b) => b.len(),
            StrValue::Raw(v) => v.len(),
            StrValue::Compressed(c) => c.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the bytes out for in-place modification (no copy when the buffer is not shared).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            StrValue::Bytes(b) => Vec::from(b.into_box()),
            StrValue::Raw(v) => *v,
            other => other.bytes().into_owned(),
        }
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Inline(_) => "embstr",
            StrValue::Bytes(b) if b.len() <= EMBSTR_MAX => "embstr",
            StrValue::Compressed(c) => c.codec().name(),
            _ => "raw",
        }
    }
}

const _: () = assert!(std::mem::size_of::<StrValue>() == 16);

/// A value of any type.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
    Hash(Box<HashValue>),
    List(Box<VecDeque<Bytes>>),
    Set(Box<SetValue>),
    ZSet(Box<ZSetValue>),
    Stream(Box<Stream>),
    /// Strata's own types (counters, sketches), one pointer wide so the Redis types pay nothing for them.
    Ext(Box<ExtValue>),
}

impl Value {
    /// The name `TYPE` prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
            Value::Ext(e) => e.type_name(),
        }
    }

    /// The name `OBJECT ENCODING` prints.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::List(_) => "quicklist",
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
            Value::Ext(e) => e.encoding(),
        }
    }

    /// Approximate heap bytes held by the value, for memory reporting and DEBUG OBJECT.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(StrValue::Int(_) | StrValue::Inline(_)) => 0,
            Value::Str(StrValue::Bytes(b)) => b.len(),
            Value::Str(StrValue::Raw(v)) => v.len(),
            Value::Str(StrValue::Compressed(c)) => c.stored_len(),
            Value::Hash(h) => h.heap_bytes(),
            Value::List(l) => l.iter().map(|e| e.len() + 32).sum(),
            Value::Set(s) => s.heap_bytes(),
            Value::ZSet(z) => z.heap_bytes(),
            Value::Stream(s) => s.heap_bytes(),
            Value::Ext(e) => e.heap_bytes(),
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&StrValue> {
        if let Value::Str(v) = self {
            Some(v)
        } else {
            None
        }
    }

    /// The hash inside, if this is a hash.
    pub fn as_hash(&self) -> Option<&HashValue> {
        if let Value::Hash(h) = self {
            Some(h)
        } else {
            None
        }
    }

    /// The hash inside, for update.
    pub fn as_hash_mut(&mut self) -> Option<&mut HashValue> {
        if let Value::Hash(h) = self {
            Some(h)
        } else {
            None
        }
    }

    /// The list inside.
    pub fn as_list(&self) -> Option<&VecDeque<Bytes>> {
        if let Value::List(l) = self {
            Some(l)
        } else {
            None
        }
    }

    /// The list inside, for update.
    pub fn as_list_mut(&mut self) -> Option<&mut VecDeque<Bytes>> {
        if let Value::List(l) = self {
            Some(l)
        } else {
            None
        }
    }

    /// The set inside.
    pub fn as_set(&self) -> Option<&SetValue> {
        if let Value::Set(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// The set inside, for update.
    pub fn as_set_mut(&mut self) -> Option<&mut SetValue> {
        if let Value::Set(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// The sorted set inside.
    pub fn as_zset(&self) -> Option<&ZSetValue> {
        if let Value::ZSet(z) = self {
            Some(z)
        } else {
            None
        }
    }

    /// The sorted set inside, for update.
    pub fn as_zset_mut(&mut self) -> Option<&mut ZSetValue> {
        if let Value::ZSet(z) = self {
            Some(z)
        } else {
            None
        }
    }

    /// The stream inside.
    pub fn as_stream(&self) -> Option<&Stream> {
        if let Value::Stream(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// The stream inside, for update.
    pub fn as_stream_mut(&mut self) -> Option<&mut Stream> {
        if let Value::Stream(s) = self {
            Some(s)
        } else {
            None
        }
    }

    /// An empty stream.
    pub fn new_stream() -> Value {
        Value::Stream(Box::default())
    }

    /// The extension value inside.
    pub fn as_ext(&self) -> Option<&ExtValue> {
        if let Value::Ext(e) = self {
            Some(e)
        } else {
            None
        }
    }

    /// The extension value inside, for update.
    pub fn as_ext_mut(&mut self) -> Option<&mut ExtValue> {
        if let Value::Ext(e) = self {
            Some(e)
        } else {
            None
        }
    }

    /// An empty hash.
    pub fn new_hash() -> Value {
        Value::Hash(Box::default())
    }

    /// An empty list.
    pub fn new_list() -> Value {
        Value::List(Box::default())
    }

    /// An empty sorted set.
    pub fn new_zset() -> Value {
        Value::ZSet(Box::default())
    }

    /// True for an empty container (which must not stay in the keyspace).
    pub fn is_empty_container(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // A stream stays when its last entry goes (XDEL, XTRIM), as in Redis: it keeps its ids and groups.
            Value::Stream(_) | Value::Ext(_) => false,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// The value stored under one key with its access metadata. Its expiry is kept beside the table
/// ([`ShardData::expire_at`](super::ShardData::expire_at)), so keys without one do not pay for it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Last access time, in seconds of the server's LRU clock.
    pub access: u32,
    /// LFU counter (logarithmic), as OBJECT FREQ reports it.
    pub freq: u8,
    /// [`Entry::INCOMPRESSIBLE`] and friends.
    pub flags: u8,
}

impl Entry {
    /// A persistent entry.
    pub fn new(value: Value) -> Entry {
        Entry { value, access: 0, freq: crate::store::LFU_INIT_VAL, flags: 0 }
    }

    /// The value did not compress well: the cold tier does not try it again until it changes.
    pub const INCOMPRESSIBLE: u8 = 1;
    /// The key has metadata (tags) in its shard's side state (`store::keymeta`). Kept by modifications, dropped
    /// with the entry when a write replaces it, as the TTL is.
    pub const HAS_META: u8 = 2;
}
