//! The snapshot file format: header, checksummed LZ4 blocks of records, trailer (docs/PERSISTENCE.md).
//!
//! ```text
//! header   "STRATASN" | version u32 | flags u32 | created unix ms u64 | effect offset u64 | crc32 of these u32
//! block*   raw length u32 | stored length u32 | records u32 | crc32 u32 | LZ4 block (stored length bytes)
//! trailer  0xFFFF_FFFF u32 | blocks u64 | records u64 | crc32 of every byte before this field u32
//! ```
//! All integers are little-endian. A block's CRC covers its three length fields and its stored bytes, so a
//! damaged length is caught before it is trusted. Records inside a block are bincode (standard config, varint
//! integers): see [`encode_record`].
//!
//! What belongs here: bytes in, bytes out, and every check a reader makes. What does not: the keyspace walk and
//! the copy-on-write hooks (`persist::snapshot`), files and directories (`persist::file`).

use crate::store::types::{ExtValue, HashLimits, HashValue, SetValue, Stream, ZSetValue, ZsetLimits};
use crate::store::{Entry, StrValue, Value};
use bincode::de::BorrowDecode;
use bincode::{BorrowDecode as DeriveBorrowDecode, Encode};
use bytes::Bytes;
use std::collections::VecDeque;
use std::fmt;
use std::io::{Read, Write};

/// The first eight bytes of every snapshot file.
pub const MAGIC: &[u8; 8] = b"STRATASN";
/// The format version this build writes. Bump it for any change to the layout or the record encoding; a reader
/// refuses versions it does not know rather than guess. Version 2 added key-metadata records ([`META_DB`]).
pub const VERSION: u32 = 2;
/// The oldest version this build still reads (version 1 is version 2 without metadata records).
pub const OLDEST_READ: u32 = 1;
/// Header length in bytes, CRC included.
pub const HEADER_LEN: usize = 8 + 4 + 4 + 8 + 8 + 4;
/// The database number of records that carry a FUNCTION library's code (a string value under the key
/// `function-library`) instead of a key: functions survive restarts with the data, as in Redis's RDB.
pub const LIBRARY_DB: usize = u32::MAX as usize;
/// The database number of a key's metadata record: it follows the key's own record and carries the key's real
/// database and `KeyMeta::encode`'s form as its string value.
pub const META_DB: usize = u32::MAX as usize - 1;
/// A block is closed once its raw records reach this size: large enough for LZ4 to find repeats across keys,
/// small enough that a reader holds little in memory.
pub const BLOCK_TARGET: usize = 1 << 20;
/// The raw-length field of the trailer, which no block can have (blocks are capped far below it).
const TRAILER_MARK: u32 = u32::MAX;
/// LZ4 cannot expand data by more than this factor, so a block claiming more is damaged; checked before the raw
/// length is used to allocate.
const LZ4_MAX_RATIO: u64 = 255;

/// What the header says about a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// When the snapshot was taken, unix milliseconds.
    pub created_ms: u64,
    /// The write-effect log's offset at the snapshot's moment: the dataset is exactly the effects before it.
    pub effect_offset: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&0u32.to_le_bytes());
        h[16..24].copy_from_slice(&self.created_ms.to_le_bytes());
        h[24..32].copy_from_slice(&self.effect_offset.to_le_bytes());
        let crc = crc32fast::hash(&h[..32]);
        h[32..36].copy_from_slice(&crc.to_le_bytes());
        h
    }
}

/// Why a snapshot could not be read: which file, which block (if any) and the byte offset where the problem was
/// found, so an operator knows what is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub file: String,
    /// The block being read (0-based), `None` for the header and trailer.
    pub block: Option<u64>,
    pub offset: u64,
    pub why: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block {
            Some(b) => write!(f, "snapshot {}: block {} at byte {}: {}", self.file, b, self.offset, self.why),
            None => write!(f, "snapshot {}: at byte {}: {}", self.file, self.offset, self.why),
        }
    }
}

impl std::error::Error for FormatError {}

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// A record's fixed part. The value's elements follow it one by one (see [`encode_record`]), so a reader never
/// allocates for a count it has not seen the bytes of.
#[derive(Encode, DeriveBorrowDecode)]
struct RecordHead<'a> {
    db: u32,
    key: &'a [u8],
    /// Absolute expiry, unix ms; 0 for none.
    expire_at: u64,
    /// Seconds since last access when saved (the LRU clock itself restarts with the process).
    idle: u32,
    freq: u8,
    kind: u8,
    /// Elements that follow (1 for strings).
    count: u64,
}

mod kind {
    pub const INT: u8 = 0;
    pub const STR: u8 = 1;
    pub const RAW: u8 = 2;
    pub const LIST: u8 = 3;
    pub const HASH: u8 = 4;
    pub const SET: u8 = 5;
    pub const ZSET: u8 = 6;
    /// An extension value (counters, sketches): one element, its own bincode encoding.
    pub const EXT: u8 = 7;
    /// A stream with its consumer groups: one element, `Stream::to_bytes`.
    pub const STREAM: u8 = 8;
}

/// Appends one key's record to `out`. `idle` is the key's idle time in seconds.
pub fn encode_record(out: &mut Vec<u8>, db: usize, key: &[u8], e: &Entry, expire_at: u64, idle: u32) {
    let cfg = bincode_config();
    // Encoding into a Vec cannot fail: bincode's only errors come from the writer or from unsupported types.
    let mut put = |v: &dyn EncodeDyn| v.put(out, cfg);
    let head = |kind: u8, count: u64| RecordHead { db: db as u32, key, expire_at, idle, freq: e.freq, kind, count };
    match &e.value {
        Value::Str(StrValue::Int(n)) => {
            put(&head(kind::INT, 1));
            put(n);
        }
        Value::Str(StrValue::Bytes(b)) => {
            put(&head(kind::STR, 1));
            put(&&b[..]);
        }
        Value::Str(StrValue::Inline(b)) => {
            put(&head(kind::STR, 1));
            put(&&b[..]);
        }
        Value::Str(StrValue::Raw(v)) => {
            put(&head(kind::RAW, 1));
            put(&&v[..]);
        }
        Value::Str(s) => {
            put(&head(kind::RAW, 1));
            put(&&s.bytes()[..]);
        }
        Value::List(l) => {
            put(&head(kind::LIST, l.len() as u64));
            for item in l.iter() {
                put(&&item[..]);
            }
        }
        Value::Hash(h) => {
            let pairs = h.pairs();
            put(&head(kind::HASH, pairs.len() as u64));
            for (f, v) in &pairs {
                put(&&f[..]);
                put(&&v[..]);
            }
        }
        Value::Set(s) => {
            let members = s.members();
            put(&head(kind::SET, members.len() as u64));
            for m in &members {
                put(&&m[..]);
            }
        }
        Value::ZSet(z) => {
            let entries = z.entries();
            put(&head(kind::ZSET, entries.len() as u64));
            for (m, score) in &entries {
                put(&&m[..]);
                put(score);
            }
        }
        Value::Stream(st) => {
            put(&head(kind::STREAM, 1));
            put(&&st.to_bytes()[..]);
        }
        Value::Ext(x) => {
            put(&head(kind::EXT, 1));
            put(&&x.to_bytes()[..]);
        }
    }
}

/// Object-safe encoding into a Vec, so [`encode_record`] can write heads and elements through one closure.
trait EncodeDyn {
    fn put(&self, out: &mut Vec<u8>, cfg: bincode::config::Configuration);
}

impl<T: Encode> EncodeDyn for T {
    fn put(&self, out: &mut Vec<u8>, cfg: bincode::config::Configuration) {
        let _ = bincode::encode_into_std_write(self, out, cfg);
    }
}

/// Encoding thresholds a loaded container is built with (the server's CONFIG values), so a loaded hash or set
/// has the encoding the same data written by commands would have.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash: HashLimits,
    pub zset: ZsetLimits,
    pub set_max_intset: usize,
    /// Pause after each key loaded, in microseconds (`key-load-delay`, for tests that must see a load running).
    pub key_load_delay_us: u64,
}

/// One decoded record.
#[derive(Debug)]
pub struct Record {
    pub db: usize,
    pub key: Bytes,
    pub entry: Entry,
    /// Absolute expiry, unix ms; 0 for none.
    pub expire_at: u64,
    pub idle: u32,
}

/// Decodes the records of one block, calling `each` for every one; the error says what was wrong.
pub fn decode_records(raw: &[u8], limits: &Limits, mut each: impl FnMut(Record)) -> Result<u64, String> {
    let mut cur = Cursor { buf: raw, pos: 0 };
    let mut n = 0u64;
    while cur.pos < raw.len() {
        let at = cur.pos;
        let head: RecordHead<'_> = cur.take().map_err(|e| format!("record {n} at block byte {at}: {e}"))?;
        let value = decode_value(&mut cur, &head, limits).map_err(|e| format!("record {n} at block byte {at}: {e}"))?;
        let mut entry = Entry::new(value);
        entry.freq = head.freq;
        let key = Bytes::copy_from_slice(head.key);
        each(Record { db: head.db as usize, key, entry, expire_at: head.expire_at, idle: head.idle });
        n += 1;
    }
    Ok(n)
}

/// A read position in a block's raw bytes; values borrow from the block, so no element is copied twice.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take<T: BorrowDecode<'a, ()>>(&mut self) -> Result<T, String> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (v, used) = bincode::borrow_decode_from_slice(rest, bincode_config()).map_err(|e| e.to_string())?;
        self.pos += used;
        Ok(v)
    }

    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

fn decode_value(cur: &mut Cursor<'_>, head: &RecordHead<'_>, limits: &Limits) -> Result<Value, String> {
    let count = head.count;
    // Every element takes at least one byte, so a count beyond the bytes left is damage, not a huge value; this
    // bounds every allocation below by the block's size.
    if count > cur.left() as u64 {
        return Err(format!("element count {count} exceeds the block"));
    }
    let count = count as usize;
    let one = |what: u8| if count == 1 { Ok(()) } else { Err(format!("string kind {what} with {count} elements")) };
    Ok(match head.kind {
        kind::INT => {
            one(kind::INT)?;
            Value::Str(StrValue::Int(cur.take::<i64>()?))
        }
        kind::STR => {
            one(kind::STR)?;
            Value::Str(StrValue::embstr(cur.take::<&[u8]>()?))
        }
        kind::RAW => {
            one(kind::RAW)?;
            Value::Str(StrValue::raw(cur.take::<&[u8]>()?.to_vec()))
        }
        kind::LIST => {
            let mut l = VecDeque::with_capacity(count);
            for _ in 0..count {
                l.push_back(Bytes::copy_from_slice(cur.take::<&[u8]>()?));
            }
            Value::List(Box::new(l))
        }
        kind::HASH => {
            let mut h = HashValue::default();
            for _ in 0..count {
                let f: &[u8] = cur.take()?;
                let v: &[u8] = cur.take()?;
                h.set(f, v, limits.hash);
            }
            Value::Hash(Box::new(h))
        }
        kind::SET => {
            let mut s: Option<SetValue> = None;
            for _ in 0..count {
                let m: &[u8] = cur.take()?;
                s.get_or_insert_with(|| SetValue::for_member(m)).add(m, limits.set_max_intset);
            }
            Value::Set(Box::new(s.unwrap_or_default()))
        }
        kind::ZSET => {
            let mut z = ZSetValue::default();
            for _ in 0..count {
                let m: &[u8] = cur.take()?;
                let score: f64 = cur.take()?;
                if score.is_nan() {
                    return Err("sorted set score is NaN".into());
                }
                z.insert(m, score, limits.zset);
            }
            Value::ZSet(Box::new(z))
        }
        kind::EXT => {
            one(kind::EXT)?;
            let bytes: &[u8] = cur.take()?;
            Value::Ext(Box::new(ExtValue::from_bytes(bytes).ok_or("damaged extension value")?))
        }
        kind::STREAM => {
            one(kind::STREAM)?;
            let bytes: &[u8] = cur.take()?;
            Value::Stream(Box::new(Stream::from_bytes(bytes).ok_or("damaged stream value")?))
        }
        other => return Err(format!("unknown value kind {other}")),
    })
}

/// Totals a finished file reports in its trailer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub blocks: u64,
    pub records: u64,
    /// Bytes of the whole file.
    pub bytes: u64,
}

/// Writes a snapshot: the header at once, blocks as records arrive, the trailer on [`BlockWriter::finish`].
pub struct BlockWriter<W: Write> {
    out: W,
    crc: crc32fast::Hasher,
    totals: Totals,
    compressed: Vec<u8>,
}

impl<W: Write> BlockWriter<W> {
    /// Starts a file on `out` with `header`.
    pub fn new(mut out: W, header: Header) -> std::io::Result<BlockWriter<W>> {
        let h = header.encode();
        out.write_all(&h)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&h);
        Ok(BlockWriter {
            out,
            crc,
            totals: Totals { bytes: h.len() as u64, ..Totals::default() },
            compressed: Vec::new(),
        })
    }

    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)?;
        self.crc.update(b);
        self.totals.bytes += b.len() as u64;
        Ok(())
    }

    /// Writes `raw` (whole records, `records` of them, as [`encode_record`] made them) as one block.
    pub fn block(&mut self, raw: &[u8], records: u32) -> std::io::Result<()> {
        if raw.is_empty() {
            return Ok(());
        }
        let too_big = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "snapshot block over 4 GB");
        let raw_len = u32::try_from(raw.len()).ok().filter(|&n| n != TRAILER_MARK).ok_or_else(too_big)?;
        self.compressed.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
        let n = lz4_flex::block::compress_into(raw, &mut self.compressed)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let stored_len = u32::try_from(n).map_err(|_| too_big())?;
        let mut head = [0u8; 16];
        head[..4].copy_from_slice(&raw_len.to_le_bytes());
        head[4..8].copy_from_slice(&stored_len.to_le_bytes());
        head[8..12].copy_from_slice(&records.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head[..12]);
        crc.update(&self.compressed[..n]);
        head[12..16].copy_from_slice(&crc.finalize().to_le_bytes());
        self.put(&head)?;
        let body = std::mem::take(&mut self.compressed);
        let r = self.put(&body[..n]);
        self.compressed = body;
        r?;
        self.totals.blocks += 1;
        self.totals.records += u64::from(records);
        Ok(())
    }

    /// Writes the trailer and hands back the output (for the caller to flush and sync).
    pub fn finish(mut self) -> std::io::Result<(W, Totals)> {
        let mut t = [0u8; 20];
        t[..4].copy_from_slice(&TRAILER_MARK.to_le_bytes());
        t[4..12].copy_from_slice(&self.totals.blocks.to_le_bytes());
        t[12..20].copy_from_slice(&self.totals.records.to_le_bytes());
        self.put(&t)?;
        let crc = self.crc.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.totals.bytes += 4;
        Ok((self.out, self.totals))
    }
}

/// Collects encoded records into blocks of about [`BLOCK_TARGET`] bytes.
#[derive(Default)]
pub struct Chunker {
    pub raw: Vec<u8>,
    pub records: u32,
    pub done: Vec<(Vec<u8>, u32)>,
}

impl Chunker {
    /// Appends one record and closes the block when it is full.
    pub fn record(&mut self, db: usize, key: &[u8], e: &Entry, expire_at: u64, idle: u32) {
        encode_record(&mut self.raw, db, key, e, expire_at, idle);
        self.records += 1;
        if self.raw.len() >= BLOCK_TARGET || self.records == u32::MAX {
            self.close();
        }
    }

    /// Closes the current block, if it holds anything.
    pub fn close(&mut self) {
        if self.records > 0 {
            self.done.push((std::mem::take(&mut self.raw), self.records));
            self.records = 0;
        }
    }
}

/// Reads a whole snapshot from `input`, verifying every checksum and count, and hands each record to `each`.
/// `file` names the file in errors. Nothing is trusted before its checksum has been verified, and no input can
/// make this panic or allocate more than a small multiple of the file's size.
pub fn read_snapshot(
    mut input: impl Read,
    file: &str,
    limits: &Limits,
    mut each: impl FnMut(Record),
) -> Result<(Header, Totals), FormatError> {
    let err = |block: Option<u64>, offset: u64, why: String| FormatError { file: file.to_string(), block, offset, why };
    let mut crc = crc32fast::Hasher::new();
    let mut h = [0u8; HEADER_LEN];
    read_full(&mut input, &mut h).map_err(|why| err(None, 0, format!("header: {why}")))?;
    if &h[..8] != MAGIC {
        return Err(err(None, 0, "not a Strata snapshot (bad magic)".into()));
    }
    let version = le32(&h[8..12]);
    if !(OLDEST_READ..=VERSION).contains(&version) {
        return Err(err(
            None,
            8,
            format!("format version {version}, this build reads versions {OLDEST_READ} to {VERSION}"),
        ));
    }
    if le32(&h[32..36]) != crc32fast::hash(&h[..32]) {
        return Err(err(None, 32, "header checksum mismatch".into()));
    }
    crc.update(&h);
    let header = Header { created_ms: le64(&h[16..24]), effect_offset: le64(&h[24..32]) };
    let mut offset = HEADER_LEN as u64;
    let mut totals = Totals::default();
    let mut raw = Vec::new();
    loop {
        let block = totals.blocks;
        let mut head = [0u8; 16];
        read_full(&mut input, &mut head[..4]).map_err(|why| err(Some(block), offset, why))?;
        if le32(&head[..4]) == TRAILER_MARK {
            let mut t = [0u8; 20];
            t[..4].copy_from_slice(&head[..4]);
            read_full(&mut input, &mut t[4..]).map_err(|why| err(None, offset, format!("trailer: {why}")))?;
            crc.update(&t);
            let (blocks, records) = (le64(&t[4..12]), le64(&t[12..20]));
            let mut sum = [0u8; 4];
            read_full(&mut input, &mut sum).map_err(|why| err(None, offset + 20, format!("trailer: {why}")))?;
            if le32(&sum) != crc.finalize() {
                return Err(err(None, offset + 20, "file checksum mismatch".into()));
            }
            if blocks != totals.blocks || records != totals.records {
                return Err(err(
                    None,
                    offset,
                    format!(
                        "trailer counts {blocks} blocks, {records} records; read {} blocks, {} records",
                        totals.blocks, totals.records
                    ),
                ));
            }
            let mut extra = [0u8; 1];
            if matches!(input.read(&mut extra), Ok(n) if n > 0) {
                return Err(err(None, offset + 24, "data after the trailer".into()));
            }
            totals.bytes = offset + 24;
            return Ok((header, totals));
        }
        read_full(&mut input, &mut head[4..]).map_err(|why| err(Some(block), offset, why))?;
        let (raw_len, stored_len, records) = (le32(&head[..4]), le32(&head[4..8]), le32(&head[8..12]));
        // Read what the header claims without allocating it up front: a damaged length meets the end of the file.
        let mut stored = Vec::new();
        let got = (&mut input)
            .take(u64::from(stored_len))
            .read_to_end(&mut stored)
            .map_err(|e| err(Some(block), offset, e.to_string()))?;
        if got != stored_len as usize {
            return Err(err(Some(block), offset, format!("truncated: {got} of {stored_len} bytes")));
        }
        let mut bc = crc32fast::Hasher::new();
        bc.update(&head[..12]);
        bc.update(&stored);
        if bc.finalize() != le32(&head[12..16]) {
            return Err(err(Some(block), offset, "block checksum mismatch".into()));
        }
        crc.update(&head);
        crc.update(&stored);
        if u64::from(raw_len) > u64::from(stored_len) * LZ4_MAX_RATIO + 16 {
            return Err(err(Some(block), offset, format!("raw length {raw_len} impossible for {stored_len} bytes")));
        }
        raw.clear();
        raw.resize(raw_len as usize, 0);
        match lz4_flex::block::decompress_into(&stored, &mut raw) {
            Ok(n) if n == raw.len() => {}
            Ok(n) => return Err(err(Some(block), offset, format!("decompressed {n} bytes, expected {raw_len}"))),
            Err(e) => return Err(err(Some(block), offset, format!("LZ4: {e}"))),
        }
        let n = decode_records(&raw, limits, &mut each).map_err(|why| err(Some(block), offset, why))?;
        if n != u64::from(records) {
            return Err(err(Some(block), offset, format!("{n} records, header says {records}")));
        }
        totals.blocks += 1;
        totals.records += n;
        offset += 16 + u64::from(stored_len);
    }
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<(), String> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "truncated: unexpected end of file".to_string(),
        _ => e.to_string(),
    })
}

fn le32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::value_digest;

    fn limits() -> Limits {
        Limits {
            hash: HashLimits { max_entries: 128, max_value: 64 },
            zset: ZsetLimits { max_entries: 128, max_value: 64 },
            set_max_intset: 512,
            key_load_delay_us: 0,
        }
    }

    fn sample() -> Vec<(usize, Bytes, Entry, u64)> {
        let l = limits();
        let mut out = Vec::new();
        let mut with = |db: usize, key: &str, value: Value, expire_at: u64| {
            let mut e = Entry::new(value);
            e.freq = 7;
            out.push((db, Bytes::from(key.to_string()), e, expire_at));
        };
        with(0, "int", Value::Str(StrValue::Int(-42)), 0);
        with(0, "str", Value::Str(StrValue::boxed(Box::from(&b"hello"[..]))), 1_900_000_000_000);
        with(3, "raw", Value::Str(StrValue::raw(vec![0u8, 255, 10, 13])), 0);
        with(1, "list", Value::List(Box::new((0..50).map(|i| Bytes::from(format!("item{i}"))).collect())), 0);
        let mut small = HashValue::default();
        small.set(b"f", b"v", l.hash);
        with(0, "hash-small", Value::Hash(Box::new(small)), 0);
        let mut big = HashValue::default();
        for i in 0..300 {
            big.set(format!("field{i}").as_bytes(), format!("value{i}").as_bytes(), l.hash);
        }
        with(0, "hash-big", Value::Hash(Box::new(big)), 0);
        let mut ints = SetValue::for_member(b"1");
        for i in 0..10 {
            ints.add(i.to_string().as_bytes(), l.set_max_intset);
        }
        with(2, "intset", Value::Set(Box::new(ints)), 0);
        let mut words = SetValue::for_member(b"a");
        for w in ["a", "b", "c"] {
            words.add(w.as_bytes(), l.set_max_intset);
        }
        with(2, "set", Value::Set(Box::new(words)), 0);
        let mut z = ZSetValue::default();
        for i in 0..200 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i) * 1.5 - 7.0, l.zset);
        }
        z.insert(b"inf", f64::INFINITY, l.zset);
        with(15, "zset", Value::ZSet(Box::new(z)), 0);
        let mut c = crate::store::types::counter::WindowCounter::new(1_000, 86_400_000).expect("valid");
        for t in 0..100u64 {
            c.record(t * 700, crate::store::types::counter::Sample::Int(t as i64), 70_000).expect("admitted");
        }
        with(4, "counter", Value::Ext(Box::new(ExtValue::Counter(c))), 0);
        let mut st = Stream::default();
        for i in 1..=150u64 {
            let v = Bytes::from(i.to_string());
            st.append(crate::store::types::StreamId::new(i, 1), &[Bytes::from_static(b"f"), v]);
        }
        st.delete(&[crate::store::types::StreamId::new(3, 1)]);
        st.groups.insert(Bytes::from_static(b"g"), crate::store::types::stream::Group::new(Default::default(), 0));
        with(5, "stream", Value::Stream(Box::new(st)), 0);
        out
    }

    fn write(entries: &[(usize, Bytes, Entry, u64)], per_block: usize) -> Vec<u8> {
        let header = Header { created_ms: 1_700_000_000_123, effect_offset: 4242 };
        let mut w = BlockWriter::new(Vec::new(), header).unwrap();
        for chunk in entries.chunks(per_block) {
            let mut raw = Vec::new();
            for (db, key, e, at) in chunk {
                encode_record(&mut raw, *db, key, e, *at, 3);
            }
            w.block(&raw, chunk.len() as u32).unwrap();
        }
        w.finish().unwrap().0
    }

    fn read(bytes: &[u8]) -> Result<(Header, Vec<Record>), FormatError> {
        let mut out = Vec::new();
        let (h, _) = read_snapshot(bytes, "test.strata", &limits(), |r| out.push(r))?;
        Ok((h, out))
    }

    #[test]
    fn every_type_round_trips() {
        let entries = sample();
        let bytes = write(&entries, 3);
        let (h, records) = read(&bytes).unwrap();
        assert_eq!(h, Header { created_ms: 1_700_000_000_123, effect_offset: 4242 });
        assert_eq!(records.len(), entries.len());
        for ((db, key, e, at), r) in entries.iter().zip(&records) {
            assert_eq!((r.db, &r.key, r.idle, r.entry.freq, r.expire_at), (*db, key, 3, 7, *at));
            assert_eq!(value_digest(&r.entry, r.expire_at), value_digest(e, *at), "{key:?}");
            assert_eq!(r.entry.value.encoding(), e.value.encoding(), "{key:?}");
        }
    }

    #[test]
    fn empty_snapshot_is_valid() {
        let (_, records) = read(&write(&[], 1)).unwrap();
        assert!(records.is_empty());
    }

    #[test]
    fn bad_magic_version_and_trailing_bytes_are_named() {
        let good = write(&sample(), 4);
        let mut b = good.clone();
        b[0] = b'X';
        assert!(read(&b).unwrap_err().to_string().contains("bad magic"));
        let mut b = good.clone();
        b[8] = 9;
        let e = read(&b).unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(e.to_string().contains("format version 9"), "{e}");
        let mut b = good.clone();
        b.push(0);
        assert!(read(&b).unwrap_err().to_string().contains("data after the trailer"));
    }

    /// Every single-byte change and every truncation is refused (never accepted, never a panic).
    #[test]
    fn damage_anywhere_is_refused() {
        let good = write(&sample(), 2);
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = good.clone();
                b[at] ^= flip;
                assert!(read(&b).is_err(), "flip {flip:#x} at {at} accepted");
            }
        }
        for len in 0..good.len() {
            let e = read(&good[..len]).unwrap_err();
            assert!(e.to_string().starts_with("snapshot test.strata:"), "{e}");
        }
    }

    /// Blocks whose checksum is right but whose content is nonsense (a writer bug, or a crafted file) are refused
    /// without panicking or allocating what their counts claim.
    #[test]
    fn crafted_blocks_with_valid_checksums_are_refused() {
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let header = Header { created_ms: 0, effect_offset: 0 };
        let mut good = Vec::new();
        encode_record(&mut good, 0, b"k", &sample()[3].2, 0, 0);
        for round in 0..2000 {
            let mut raw = good.clone();
            let n = 1 + (next() % 4) as usize;
            for _ in 0..n {
                let at = (next() as usize) % raw.len();
                raw[at] = next() as u8;
            }
            if round % 3 == 0 {
                raw.truncate((next() as usize) % raw.len());
            }
            let mut w = BlockWriter::new(Vec::new(), header).unwrap();
            w.block(&raw, 1).unwrap();
            let bytes = w.finish().unwrap().0;
            let _ = read(&bytes);
        }
    }
}
