//! Streams in Redis 7.0's RDB encoding (`RDB_TYPE_STREAM_LISTPACKS_2`), as DUMP writes and RESTORE reads them;
//! RESTORE also reads `RDB_TYPE_STREAM_LISTPACKS` (Redis 5 to 6.2).
//!
//! Layout (rdb.c `rdbSaveObject`): the number of listpack nodes; per node its master id (16 bytes: ms and seq,
//! big endian) and its listpack; the number of entries; the last id; then, in type 19 only, the first id, the max
//! deleted id and the entries added; then the consumer groups: name, last id, entries read (type 19 only), the
//! PEL (16-byte id, delivery time as 8 little-endian bytes of unix ms, delivery count) and the consumers (name,
//! seen time, their PEL as 16-byte ids).
//!
//! A node's listpack (t_stream.c): the master entry `count deleted n-fields field... 0`, then per entry
//! `flags ms-diff seq-diff [n-fields] [field] value ... lp-count`, where fields are left out when flags has
//! SAMEFIELDS (they are the master's) and DELETED marks a tombstone. Strata keeps no tombstones: it writes
//! `deleted 0` and skips the tombstones it reads.

use super::decode::{bad, Reader, R};
use super::encode::{put_len, put_string};
use super::listpack::{self, Writer};
use super::{types, Elem};
use crate::store::types::stream::{Consumer, Group, Nack, Stream, StreamId, ENTRIES_READ_UNKNOWN};
use bytes::Bytes;
use std::collections::{BTreeSet, HashSet};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Redis's `streamEncodeID`.
fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

fn id_from(b: &[u8]) -> R<StreamId> {
    let (Ok(ms), Ok(seq)) = (b[..8].try_into(), b[8..16].try_into()) else { return bad("stream id") };
    Ok(StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq)))
}

/// Appends the stream's type byte and encoding.
pub fn write(out: &mut Vec<u8>, s: &Stream) {
    out.push(types::STREAM_LISTPACKS_2);
    put_len(out, s.block_count() as u64);
    for (base, fields, entries) in s.nodes() {
        put_string(out, &id_bytes(base));
        let mut lp = Writer::new();
        lp.push_int(entries.len() as i64);
        lp.push_int(0);
        lp.push_int(fields.len() as i64);
        for f in fields {
            lp.push(f);
        }
        lp.push_int(0);
        for e in &entries {
            let same = e.fields.len() == fields.len() && e.fields.iter().zip(fields).all(|((f, _), m)| f == m);
            lp.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
            // As Redis computes them: unsigned differences stored as signed integers.
            lp.push_int(e.id.ms.wrapping_sub(base.ms) as i64);
            lp.push_int(e.id.seq.wrapping_sub(base.seq) as i64);
            let n = e.fields.len() as i64;
            if !same {
                lp.push_int(n);
            }
            for (f, v) in &e.fields {
                if !same {
                    lp.push(f);
                }
                lp.push(v);
            }
            lp.push_int(if same { n + 3 } else { 2 * n + 4 });
        }
        put_string(out, &lp.finish());
    }
    put_len(out, s.len());
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        put_len(out, id.ms);
        put_len(out, id.seq);
    }
    put_len(out, s.entries_added);
    put_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_string(out, name);
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        put_len(out, g.entries_read as u64);
        put_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&n.delivery_time.to_le_bytes());
            put_len(out, n.delivery_count);
        }
        put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

/// The elements of one node's listpack, read in order.
struct Elems<'a> {
    items: std::slice::Iter<'a, Elem<'a>>,
}

impl<'a> Elems<'a> {
    fn int(&mut self) -> R<i64> {
        match self.items.next() {
            Some(Elem::Int(n)) => Ok(*n),
            Some(Elem::Str(s)) => crate::util::num::parse_i64(s).ok_or(super::decode::DecodeError("stream integer")),
            None => bad("stream node ends inside an entry"),
        }
    }

    fn count(&mut self) -> R<usize> {
        let n = self.int()?;
        if n < 0 || n as usize > self.items.len() {
            return bad("stream count");
        }
        Ok(n as usize)
    }

    fn bytes(&mut self) -> R<Bytes> {
        self.items.next().map(|e| Bytes::from(e.to_vec())).ok_or(super::decode::DecodeError("stream node ends"))
    }
}

fn read_id(r: &mut Reader<'_>) -> R<StreamId> {
    let ms = r.len()?.0;
    let seq = r.len()?.0;
    Ok(StreamId::new(ms, seq))
}

fn read_u64_le(r: &mut Reader<'_>) -> R<u64> {
    let b = r.take(8)?;
    Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// Reads a stream of RDB type `t` (after its type byte), validated as Redis's deep sanitization does: every
/// listpack whole, master entries and entries well formed with matching counts, ids increasing and not past the
/// last id, PEL entries owned by exactly one consumer.
pub(super) fn read(r: &mut Reader<'_>, t: u8) -> R<Stream> {
    let mut s = Stream::default();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key = r.blob()?;
        if key.len() != 16 {
            return bad("stream node key is not 16 bytes");
        }
        let master = id_from(&key)?;
        let lp = r.blob()?;
        let elems = listpack::read(&lp).ok_or(super::decode::DecodeError("stream listpack integrity"))?;
        if elems.is_empty() {
            return bad("empty listpack inside stream");
        }
        let mut it = Elems { items: elems.iter() };
        let (count, deleted) = (it.int()?, it.int()?);
        let nf = it.count()?;
        let fields = (0..nf).map(|_| it.bytes()).collect::<R<Vec<_>>>()?;
        if it.int()? != 0 {
            return bad("stream master entry terminator");
        }
        let (mut live, mut dead, mut first) = (0i64, 0i64, true);
        let mut fv = Vec::new();
        while it.items.len() > 0 {
            let flags = it.int()?;
            let id = StreamId::new(master.ms.wrapping_add(it.int()? as u64), master.seq.wrapping_add(it.int()? as u64));
            fv.clear();
            let n = if flags & FLAG_SAMEFIELDS != 0 {
                for f in &fields {
                    fv.push(f.clone());
                    fv.push(it.bytes()?);
                }
                nf
            } else {
                let n = it.count()?;
                for _ in 0..2 * n {
                    fv.push(it.bytes()?);
                }
                n
            };
            let want = if flags & FLAG_SAMEFIELDS != 0 { n + 3 } else { 2 * n + 4 };
            if it.int()? != want as i64 {
                return bad("stream entry lp-count");
            }
            if flags & FLAG_DELETED != 0 {
                dead += 1;
                continue;
            }
            if n == 0 {
                return bad("stream entry without fields");
            }
            if id < master || (!s.is_empty() && id <= s.last_id) {
                return bad("stream ids out of order");
            }
            s.append_cut(id, &fv, first);
            first = false;
            live += 1;
        }
        if live != count || dead != deleted {
            return bad("stream master entry counts");
        }
    }
    let length = r.len()?.0;
    if length != s.len() {
        return bad("stream length");
    }
    let last_id = read_id(r)?;
    if !s.is_empty() && s.last_id > last_id {
        return bad("stream entry after the last id");
    }
    let (first_id, max_deleted_id, entries_added) = if t == types::STREAM_LISTPACKS_2 {
        (read_id(r)?, read_id(r)?, r.len()?.0)
    } else {
        (s.first_id, StreamId::MIN, length)
    };
    if entries_added < length {
        return bad("stream entries added");
    }
    s.last_id = last_id;
    s.first_id = first_id;
    s.max_deleted_id = max_deleted_id;
    s.entries_added = entries_added;
    let groups = r.count()?;
    for _ in 0..groups {
        let name = Bytes::from(r.string()?.bytes().into_owned());
        let last = read_id(r)?;
        let entries_read = if t == types::STREAM_LISTPACKS_2 {
            r.len()?.0 as i64
        } else {
            s.estimate_position(last).map_or(ENTRIES_READ_UNKNOWN, |p| p as i64)
        };
        let mut g = Group::new(last, entries_read);
        let pending = r.count()?;
        for _ in 0..pending {
            let id = id_from(r.take(16)?)?;
            let delivery_time = read_u64_le(r)?;
            let delivery_count = r.len()?.0;
            let nack = Nack { delivery_time, delivery_count, consumer: Bytes::new() };
            if g.pel.insert(id, nack).is_some() {
                return bad("duplicate stream PEL entry");
            }
        }
        let mut owned = HashSet::new();
        let consumers = r.count()?;
        for _ in 0..consumers {
            let cname = Bytes::from(r.string()?.bytes().into_owned());
            let seen_time = read_u64_le(r)?;
            let mut pel = BTreeSet::new();
            for _ in 0..r.count()? {
                let id = id_from(r.take(16)?)?;
                let Some(n) = g.pel.get_mut(&id) else { return bad("consumer PEL entry not in the group PEL") };
                if !owned.insert(id) {
                    return bad("stream PEL entry owned twice");
                }
                n.consumer = cname.clone();
                pel.insert(id);
            }
            if g.consumers.insert(cname, Consumer { seen_time, pel }).is_some() {
                return bad("duplicate stream consumer");
            }
        }
        if owned.len() != g.pel.len() {
            return bad("stream PEL entry without a consumer");
        }
        if s.groups.insert(name, g).is_some() {
            return bad("duplicate consumer group");
        }
    }
    Ok(s)
}
