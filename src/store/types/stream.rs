//! The stream value (XADD, XRANGE, XREAD, consumer groups): entries keyed by 128-bit ids, in blocks.
//!
//! Layout, chosen for memory as Redis's listpacks are: a `BTreeMap` from each block's base id to a [`Block`] of up
//! to [`NODE_MAX_ENTRIES`] entries or about [`NODE_MAX_BYTES`] bytes (Redis's `stream-node-max-entries` and
//! `stream-node-max-bytes` defaults). A block keeps the field names of its first entry (its master fields) once,
//! and its entries packed in one byte buffer: each entry is the varint difference of its milliseconds from the
//! base id, its varint sequence, then either a 0 tag and the values alone (same fields as the master entry, the
//! common case for a stream of uniform records) or the number of pairs plus one and its fields and values; every
//! string is a varint length and the bytes. So an entry costs its payload plus a few bytes, instead of a heap
//! allocation per field and value. Deleting an entry cuts its bytes out of its block (at most about 4 KB moved),
//! and a block left empty is dropped. The base id stays the key of the block even when its first entry is gone:
//! it is still at most every id in the block and above every id of the block before, which is all lookups need.
//!
//! Consumer groups are kept beside the entries: each group's last delivered id, its read counter and its pending
//! entries list (PEL), and each consumer's own pending ids, as Redis keeps them.
//!
//! Snapshots and DEBUG DIGEST use [`Stream::to_bytes`], the logical content (metadata, entries in order, groups),
//! so two streams with the same entries digest alike however their blocks were cut (a replica that replayed an
//! approximate trim as an exact one, or a stream loaded from a snapshot).

use bincode::{Decode, Encode};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Redis's default `stream-node-max-entries`.
pub const NODE_MAX_ENTRIES: u32 = 100;
/// Redis's default `stream-node-max-bytes`.
pub const NODE_MAX_BYTES: usize = 4096;
/// The block size `stream-node-max-bytes 0` means (Redis's largest listpack).
const NODE_BYTES_CAP: usize = 1 << 30;

/// How large a block may grow: `stream-node-max-entries` (0: any number) and `stream-node-max-bytes` (0: up to
/// 1 GB), as Redis bounds its listpack nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub entries: u64,
    pub bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> NodeLimits {
        NodeLimits { entries: u64::from(NODE_MAX_ENTRIES), bytes: NODE_MAX_BYTES as u64 }
    }
}

impl NodeLimits {
    fn full(&self, count: u32, bytes: usize) -> bool {
        let max_bytes = if self.bytes == 0 { NODE_BYTES_CAP } else { self.bytes.min(NODE_BYTES_CAP as u64) as usize };
        (self.entries != 0 && u64::from(count) >= self.entries) || bytes >= max_bytes
    }

    /// The default LIMIT of an approximate trim: 100 blocks' worth of entries, or 10,000 with no entry limit.
    pub fn trim_limit(&self) -> u64 {
        match self.entries {
            0 => 10_000,
            n => n.saturating_mul(100),
        }
    }
}

/// A stream entry id: milliseconds and a sequence number, ordered as a 128-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next id, or None after the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous id, or None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// True for 0-0.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The milliseconds of XADD's `ms-*` form (decimal digits within u64).
    pub fn parse_ms(a: &[u8]) -> Option<u64> {
        parse_u64(a)
    }

    /// `ms-seq` as bytes, as replies show ids.
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }

    /// Parses `ms-seq`, or `ms` alone (the sequence is then `missing_seq`), as Redis reads ids: decimal digits
    /// within u64. None for anything else.
    pub fn parse(a: &[u8], missing_seq: u64) -> Option<StreamId> {
        match a.iter().position(|&c| c == b'-') {
            None => Some(StreamId::new(parse_u64(a)?, missing_seq)),
            Some(i) => Some(StreamId::new(parse_u64(&a[..i])?, parse_u64(&a[i + 1..])?)),
        }
    }
}

/// Redis's `string2ull`: decimal digits only, no sign, no spaces, within u64.
fn parse_u64(a: &[u8]) -> Option<u64> {
    if a.is_empty() || a.len() > 20 || !a.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(a).ok()?.parse().ok()
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry, decoded: its id and field-value pairs in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Bytes, Bytes)>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(buf, pos) as usize;
    let start = (*pos).min(buf.len());
    let end = start.saturating_add(n).min(buf.len());
    *pos = end;
    &buf[start..end]
}

/// A run of consecutive entries sharing one master field list and one packed buffer.
#[derive(Debug, Clone, Default)]
struct Block {
    /// The field names of the block's first entry.
    fields: Box<[Bytes]>,
    /// Packed entries (see the module header).
    data: Vec<u8>,
    /// Entries in `data`.
    count: u32,
}

/// Where one entry lies in its block's buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: StreamId,
    start: usize,
    /// Where the entry's pairs start (after its id).
    body: usize,
    end: usize,
}

impl Block {
    fn new(fv: &[Bytes]) -> Block {
        // Copied: arguments are slices of a connection's read buffer, which a stored value must not keep alive.
        Block { fields: fv.iter().step_by(2).map(|f| Bytes::copy_from_slice(f)).collect(), data: Vec::new(), count: 0 }
    }

    fn same_fields(&self, fv: &[Bytes]) -> bool {
        self.fields.len() * 2 == fv.len() && self.fields.iter().zip(fv.iter().step_by(2)).all(|(a, b)| a == b)
    }

    fn push(&mut self, base: StreamId, id: StreamId, fv: &[Bytes]) {
        put_varint(&mut self.data, id.ms - base.ms);
        put_varint(&mut self.data, id.seq);
        if self.same_fields(fv) {
            put_varint(&mut self.data, 0);
            for v in fv.iter().skip(1).step_by(2) {
                put_str(&mut self.data, v);
            }
        } else {
            put_varint(&mut self.data, (fv.len() / 2) as u64 + 1);
            for s in fv {
                put_str(&mut self.data, s);
            }
        }
        self.count += 1;
    }

    /// Skips one entry's pairs from `pos`.
    fn skip_body(&self, pos: &mut usize) {
        let tag = get_varint(&self.data, pos);
        let strings = if tag == 0 { self.fields.len() as u64 } else { (tag - 1) * 2 };
        for _ in 0..strings {
            get_str(&self.data, pos);
        }
    }

    fn slots(&self, base: StreamId) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.count as usize);
        let mut pos = 0;
        while pos < self.data.len() {
            let start = pos;
            let ms = base.ms.wrapping_add(get_varint(&self.data, &mut pos));
            let seq = get_varint(&self.data, &mut pos);
            let body = pos;
            self.skip_body(&mut pos);
            out.push(Slot { id: StreamId::new(ms, seq), start, body, end: pos });
        }
        out
    }

    fn decode(&self, s: &Slot) -> StreamEntry {
        let mut pos = s.body;
        let tag = get_varint(&self.data, &mut pos);
        let mut fields = Vec::new();
        if tag == 0 {
            for f in self.fields.iter() {
                fields.push((f.clone(), Bytes::copy_from_slice(get_str(&self.data, &mut pos))));
            }
        } else {
            for _ in 0..tag - 1 {
                let f = Bytes::copy_from_slice(get_str(&self.data, &mut pos));
                fields.push((f, Bytes::copy_from_slice(get_str(&self.data, &mut pos))));
            }
        }
        StreamEntry { id: s.id, fields }
    }

    fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.fields.iter().map(|f| f.len() + 32).sum::<usize>() + 48
    }
}

/// A pending entry of a consumer group: delivered, not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    /// The consumer it was last delivered to.
    pub consumer: Bytes,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of the consumer's last attempted interaction (XINFO CONSUMERS `idle`).
    pub seen_time: u64,
    /// The pending ids delivered to this consumer.
    pub pel: BTreeSet<StreamId>,
}

/// Redis's `SCG_INVALID_ENTRIES_READ`: the group's read counter is unknown.
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read (the logical position of `last_id`), or [`ENTRIES_READ_UNKNOWN`].
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// The consumer `name`, created if missing; `seen` refreshes its seen time. Returns whether it was created.
    pub fn consumer(&mut self, name: &[u8], now: u64, seen: bool) -> (&mut Consumer, bool) {
        let mut created = false;
        let c = self.consumers.entry(Bytes::copy_from_slice(name)).or_insert_with(|| {
            created = true;
            Consumer { seen_time: now, pel: BTreeSet::new() }
        });
        if seen {
            c.seen_time = now;
        }
        (c, created)
    }

    /// Removes `id` from the group's PEL and from its consumer's; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(n) = self.pel.remove(&id) else { return false };
        if let Some(c) = self.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Records `id` as delivered to `consumer` at `now` (a new delivery, or a move from another consumer).
    pub fn deliver(&mut self, id: StreamId, consumer: &Bytes, now: u64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if old.consumer != *consumer {
                let prev = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&prev) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(id, Nack { delivery_time: now, delivery_count: count, consumer: consumer.clone() });
        self.consumers.entry(consumer.clone()).or_default().pel.insert(id);
    }
}

/// How XADD and XTRIM trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove entries with an id below this one.
    MinId(StreamId),
}

/// A stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    blocks: BTreeMap<StreamId, Block>,
    len: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// Consumer groups by name (Redis keeps them in a radix tree: listed in name order).
    pub groups: BTreeMap<Bytes, Group>,
}

impl PartialEq for Stream {
    fn eq(&self, o: &Stream) -> bool {
        self.to_bytes() == o.to_bytes()
    }
}

impl Stream {
    /// Entries in the stream.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True with no entries (a stream may stay in the keyspace empty, unlike other containers).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks (XINFO STREAM's `radix-tree-keys`).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The id XADD `*` (`ms` = now) or `ms-*` would use; None when the stream has used the last possible id.
    pub fn next_id(&self, ms: u64, explicit_ms: bool) -> Option<StreamId> {
        let last = self.last_id;
        if explicit_ms {
            if ms > last.ms {
                Some(StreamId::new(ms, 0))
            } else if ms == last.ms {
                last.seq.checked_add(1).map(|s| StreamId::new(ms, s))
            } else {
                None
            }
        } else if ms > last.ms {
            Some(StreamId::new(ms, 0))
        } else {
            last.incr()
        }
    }

    /// Appends an entry with the flat field-value list `fv`; `id` must be above `last_id` (the caller checks).
    /// Blocks are cut at Redis's default sizes.
    pub fn append(&mut self, id: StreamId, fv: &[Bytes]) {
        self.append_within(id, fv, NodeLimits::default());
    }

    /// [`Stream::append`], starting a new block once the last one reaches `limits` (XADD, with the server's
    /// `stream-node-max-*`).
    pub fn append_within(&mut self, id: StreamId, fv: &[Bytes], limits: NodeLimits) {
        let fresh = match self.blocks.last_key_value() {
            Some((_, b)) => limits.full(b.count, b.data.len()),
            None => true,
        };
        self.append_cut(id, fv, fresh);
    }

    /// Appends an entry, in a new block when `cut` (RESTORE keeps a payload's node boundaries).
    pub fn append_cut(&mut self, id: StreamId, fv: &[Bytes], cut: bool) {
        if cut || self.blocks.is_empty() {
            self.blocks.insert(id, Block::new(fv));
        }
        if let Some(mut last) = self.blocks.last_entry() {
            let base = *last.key();
            last.get_mut().push(base, id, fv);
        }
        if self.len == 0 {
            self.first_id = id;
        }
        self.len += 1;
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Entries with ids in `start..=end`, at most `count` (0: all), forward or in reverse.
    pub fn range(&self, start: StreamId, end: StreamId, count: usize, rev: bool) -> Vec<StreamEntry> {
        let mut out = Vec::new();
        if start > end {
            return out;
        }
        let want = if count == 0 { usize::MAX } else { count };
        // The block holding `start` begins at or before it.
        let from = self.blocks.range(..=start).next_back().map_or(start, |(k, _)| *k);
        let blocks = self.blocks.range(from..=end);
        let visit = |base: &StreamId, b: &Block, out: &mut Vec<StreamEntry>| -> bool {
            let slots = b.slots(*base);
            let pick = |s: &&Slot| s.id >= start && s.id <= end;
            if rev {
                for s in slots.iter().rev().filter(pick) {
                    if out.len() >= want {
                        return false;
                    }
                    out.push(b.decode(s));
                }
            } else {
                for s in slots.iter().filter(pick) {
                    if out.len() >= want {
                        return false;
                    }
                    out.push(b.decode(s));
                }
            }
            out.len() < want
        };
        if rev {
            for (k, b) in blocks.rev() {
                if !visit(k, b, &mut out) {
                    break;
                }
            }
        } else {
            for (k, b) in blocks {
                if !visit(k, b, &mut out) {
                    break;
                }
            }
        }
        out
    }

    /// The blocks in id order: the id each started with, its master field names and its entries (DUMP writes
    /// one listpack node per block).
    pub fn nodes(&self) -> impl Iterator<Item = (StreamId, &[Bytes], Vec<StreamEntry>)> + '_ {
        self.blocks.iter().map(|(base, b)| (*base, &b.fields[..], b.slots(*base).iter().map(|s| b.decode(s)).collect()))
    }

    /// The entry `id`, if present.
    pub fn get(&self, id: StreamId) -> Option<StreamEntry> {
        self.range(id, id, 1, false).pop()
    }

    /// The first (or last) entry.
    pub fn edge(&self, last: bool) -> Option<StreamEntry> {
        self.range(StreamId::MIN, StreamId::MAX, 1, last).pop()
    }

    /// Removes the entry `id` from its block; true if it was there. Leaves the metadata to the caller.
    fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some((&base, b)) = self.blocks.range_mut(..=id).next_back() else { return false };
        let Some(s) = b.slots(base).into_iter().find(|s| s.id == id) else { return false };
        b.data.drain(s.start..s.end);
        b.count -= 1;
        if b.count == 0 {
            self.blocks.remove(&base);
        }
        self.len -= 1;
        true
    }

    /// XDEL: removes the entries `ids`; returns how many were there. Updates the max deleted id and first id.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut n = 0;
        for &id in ids {
            if self.remove_entry(id) {
                n += 1;
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                if id == self.first_id {
                    self.refresh_first_id();
                }
            }
        }
        n
    }

    fn refresh_first_id(&mut self) {
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.id);
    }

    /// Trims as XADD and XTRIM do: `approx` removes whole blocks only, and at most `limit` entries (0: no limit).
    /// Returns the entries removed. As in Redis, trimming does not change the max deleted id.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&base, b)) = self.blocks.first_key_value() {
            let entries = u64::from(b.count);
            let done = match how {
                Trim::MaxLen(max) => self.len <= max,
                Trim::MinId(min) => self.first_id >= min,
            };
            if done {
                break;
            }
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => self.len - entries >= max,
                Trim::MinId(min) => b.slots(base).last().is_some_and(|s| s.id < min),
            };
            if whole {
                self.blocks.remove(&base);
                self.len -= entries;
                deleted += entries;
                self.refresh_first_id();
                continue;
            }
            if approx {
                break;
            }
            // Entries from the head of this block, one at a time, until the bound holds.
            for s in b.slots(base) {
                let stop = match how {
                    Trim::MaxLen(max) => self.len <= max,
                    Trim::MinId(min) => s.id >= min,
                };
                if stop {
                    break;
                }
                self.remove_entry(s.id);
                deleted += 1;
            }
            self.refresh_first_id();
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        }
        deleted
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the logical position of `id` (entries added up to and
    /// including it), or None when it cannot be known.
    pub fn estimate_position(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.len);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.len + 1);
            }
        }
        None
    }

    /// Redis's `streamRangeHasTombstones` for `start..`: whether a deleted entry may lie at or after `start`.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.len == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The lag of `g` (XINFO GROUPS), or None when it cannot be known.
    pub fn group_lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != ENTRIES_READ_UNKNOWN && !self.has_tombstones_from(g.last_id) {
            return Some(self.entries_added.saturating_sub(g.entries_read as u64));
        }
        self.estimate_position(g.last_id).map(|p| self.entries_added - p)
    }

    /// Moves `g`'s last id to `id`, just delivered, keeping its read counter as Redis does.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id <= g.last_id {
            return;
        }
        if g.entries_read != ENTRIES_READ_UNKNOWN && !self.has_tombstones_from(id) {
            g.entries_read += 1;
        } else if self.entries_added > 0 {
            g.entries_read = self.estimate_position(id).map_or(ENTRIES_READ_UNKNOWN, |p| p as i64);
        }
        g.last_id = id;
    }

    /// Approximate heap bytes (MEMORY USAGE, memory accounting).
    pub fn heap_bytes(&self) -> usize {
        let blocks: usize = self.blocks.values().map(Block::heap_bytes).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(n, g)| {
                n.len()
                    + 96
                    + g.pel.len() * 64
                    + g.consumers.iter().map(|(c, k)| c.len() + 64 + k.pel.len() * 32).sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Stream>() + blocks + groups
    }

    /// The logical content for snapshots and DEBUG DIGEST (block layout left out).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.image(true)
    }

    /// [`Stream::to_bytes`] without the consumers' seen times, which a replay sets from its own clock.
    pub fn digest_bytes(&self) -> Vec<u8> {
        self.image(false)
    }

    fn image(&self, seen: bool) -> Vec<u8> {
        let img = Image {
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted_id: self.max_deleted_id,
            entries_added: self.entries_added,
            entries: self
                .range(StreamId::MIN, StreamId::MAX, 0, false)
                .into_iter()
                .map(|e| (e.id, e.fields.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()))
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|(name, g)| GroupImage {
                    name: name.to_vec(),
                    last_id: g.last_id,
                    entries_read: g.entries_read,
                    pel: g
                        .pel
                        .iter()
                        .map(|(id, n)| (*id, n.delivery_time, n.delivery_count, n.consumer.to_vec()))
                        .collect(),
                    consumers: g
                        .consumers
                        .iter()
                        .map(|(c, k)| (c.to_vec(), if seen { k.seen_time } else { 0 }))
                        .collect(),
                })
                .collect(),
        };
        // Encoding into a Vec cannot fail.
        bincode::encode_to_vec(&img, bincode::config::standard()).unwrap_or_default()
    }

    /// Decodes [`Stream::to_bytes`]; None for anything inconsistent.
    pub fn from_bytes(bytes: &[u8]) -> Option<Stream> {
        let cfg = bincode::config::standard().with_limit::<{ 1 << 32 }>();
        let (img, used): (Image, usize) = bincode::decode_from_slice(bytes, cfg).ok()?;
        if used != bytes.len() {
            return None;
        }
        let mut s = Stream::default();
        let mut fv = Vec::new();
        for (id, pairs) in img.entries {
            if s.len > 0 && id <= s.last_id {
                return None;
            }
            fv.clear();
            for (f, v) in pairs {
                fv.push(Bytes::from(f));
                fv.push(Bytes::from(v));
            }
            s.append(id, &fv);
        }
        if img.last_id < s.last_id || img.entries_added < s.len {
            return None;
        }
        s.last_id = img.last_id;
        s.first_id = img.first_id;
        s.max_deleted_id = img.max_deleted_id;
        s.entries_added = img.entries_added;
        for g in img.groups {
            let mut group = Group::new(g.last_id, g.entries_read);
            for (c, seen) in g.consumers {
                group.consumers.insert(Bytes::from(c), Consumer { seen_time: seen, pel: BTreeSet::new() });
            }
            for (id, time, count, c) in g.pel {
                let c = Bytes::from(c);
                group.consumers.get_mut(&c)?.pel.insert(id);
                group.pel.insert(id, Nack { delivery_time: time, delivery_count: count, consumer: c });
            }
            s.groups.insert(Bytes::from(g.name), group);
        }
        Some(s)
    }
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Encode, Decode)]
struct GroupImage {
    name: Vec<u8>,
    last_id: StreamId,
    entries_read: i64,
    pel: Vec<(StreamId, u64, u64, Vec<u8>)>,
    consumers: Vec<(Vec<u8>, u64)>,
}

#[derive(Encode, Decode)]
struct Image {
    last_id: StreamId,
    first_id: StreamId,
    max_deleted_id: StreamId,
    entries_added: u64,
    entries: Vec<(StreamId, Pairs)>,
    groups: Vec<GroupImage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fv(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn ids(v: &[StreamEntry]) -> Vec<String> {
        v.iter().map(|e| e.id.to_string()).collect()
    }

    fn filled(n: u64) -> Stream {
        let mut s = Stream::default();
        for i in 1..=n {
            s.append(StreamId::new(i, 0), &fv(&["f", &i.to_string()]));
        }
        s
    }

    #[test]
    fn ids_parse_order_and_step() {
        assert_eq!(StreamId::parse(b"5", 0), Some(StreamId::new(5, 0)));
        assert_eq!(StreamId::parse(b"5", u64::MAX), Some(StreamId::new(5, u64::MAX)));
        assert_eq!(StreamId::parse(b"5-3", 0), Some(StreamId::new(5, 3)));
        assert_eq!(StreamId::parse(b"18446744073709551615-18446744073709551615", 0), Some(StreamId::MAX));
        for bad in [&b""[..], b"-", b"5-", b"-5", b"a-1", b"1-b", b"18446744073709551616", b"+1", b"1-2-3", b" 1"] {
            assert_eq!(StreamId::parse(bad, 0), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(StreamId::new(1, 9) < StreamId::new(2, 0));
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(StreamId::new(7, 8).to_string(), "7-8");
    }

    #[test]
    fn blocks_split_and_share_master_fields() {
        let s = filled(250);
        assert_eq!(s.len(), 250);
        assert_eq!(s.block_count(), 3);
        // Same fields as the master: the tag and the value only, a few bytes per entry.
        let (_, b) = s.blocks.first_key_value().unwrap();
        assert_eq!(b.count, 100);
        assert!(b.data.len() < 100 * 8, "{}", b.data.len());
        let mut big = Stream::default();
        let v = "x".repeat(1000);
        for i in 1..=10 {
            big.append(StreamId::new(i, 0), &fv(&["f", &v]));
        }
        assert!(big.block_count() >= 2, "blocks close at about 4 KB");
        // Entries with their own fields decode with them.
        let mut m = Stream::default();
        m.append(StreamId::new(1, 0), &fv(&["a", "1", "b", "2"]));
        m.append(StreamId::new(1, 1), &fv(&["a", "3", "b", "4"]));
        m.append(StreamId::new(1, 2), &fv(&["c", "5"]));
        m.append(StreamId::new(1, 3), &fv(&["", ""]));
        let all = m.range(StreamId::MIN, StreamId::MAX, 0, false);
        assert_eq!(all[1].fields, vec![(Bytes::from("a"), Bytes::from("3")), (Bytes::from("b"), Bytes::from("4"))]);
        assert_eq!(all[2].fields, vec![(Bytes::from("c"), Bytes::from("5"))]);
        assert_eq!(all[3].fields, vec![(Bytes::new(), Bytes::new())]);
    }

    #[test]
    fn ranges_forward_reverse_and_count() {
        let s = filled(250);
        let r = s.range(StreamId::new(99, 0), StreamId::new(102, 0), 0, false);
        assert_eq!(ids(&r), ["99-0", "100-0", "101-0", "102-0"]);
        let r = s.range(StreamId::new(99, 0), StreamId::new(102, 0), 2, true);
        assert_eq!(ids(&r), ["102-0", "101-0"]);
        assert_eq!(s.range(StreamId::new(5, 1), StreamId::new(5, 9), 0, false), vec![]);
        assert_eq!(s.range(StreamId::new(9, 0), StreamId::new(3, 0), 0, false), vec![]);
        assert_eq!(s.range(StreamId::MIN, StreamId::MAX, 0, true).len(), 250);
        assert_eq!(s.get(StreamId::new(200, 0)).unwrap().fields[0].1, Bytes::from("200"));
        assert_eq!(s.edge(true).unwrap().id, StreamId::new(250, 0));
    }

    #[test]
    fn delete_updates_first_and_max_deleted() {
        let mut s = filled(150);
        assert_eq!(s.delete(&[StreamId::new(1, 0), StreamId::new(1, 0), StreamId::new(7, 7)]), 1);
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
        let all: Vec<StreamId> = (101..=150).map(|i| StreamId::new(i, 0)).collect();
        assert_eq!(s.delete(&all), 50);
        assert_eq!(s.block_count(), 1, "an emptied block is dropped");
        assert_eq!(s.len(), 99);
        assert_eq!(s.max_deleted_id, StreamId::new(150, 0));
        assert_eq!(s.last_id, StreamId::new(150, 0), "the last id stays");
        assert_eq!(s.entries_added, 150);
    }

    #[test]
    fn trims_exact_approximate_and_limited() {
        let mut s = filled(250);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100, "approximate: whole blocks only");
        assert_eq!(s.len(), 150);
        assert_eq!(s.first_id, StreamId::new(101, 0));
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(s.first_id, StreamId::new(131, 0));
        assert!(s.max_deleted_id.is_zero(), "trimming leaves the max deleted id");
        let mut s = filled(250);
        assert_eq!(s.trim(Trim::MaxLen(0), true, 150), 100, "LIMIT stops before a block that would pass it");
        let mut s = filled(250);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(105, 0)), false, 0), 104);
        assert_eq!(s.first_id, StreamId::new(105, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(300, 0)), false, 0), 146);
        assert!(s.is_empty());
        assert_eq!(s.first_id, StreamId::MIN);
    }

    #[test]
    fn next_ids_and_exhaustion() {
        let mut s = Stream::default();
        assert_eq!(s.next_id(5, false), Some(StreamId::new(5, 0)));
        s.append(StreamId::new(5, 0), &fv(&["a", "b"]));
        assert_eq!(s.next_id(3, false), Some(StreamId::new(5, 1)), "a clock behind the last id");
        assert_eq!(s.next_id(5, true), Some(StreamId::new(5, 1)));
        assert_eq!(s.next_id(4, true), None);
        s.append(StreamId::new(9, u64::MAX), &fv(&["a", "b"]));
        assert_eq!(s.next_id(9, true), None);
        assert_eq!(s.next_id(9, false), Some(StreamId::new(10, 0)));
        s.append(StreamId::MAX, &fv(&["a", "b"]));
        assert_eq!(s.next_id(1, false), None);
    }

    #[test]
    fn lag_and_positions() {
        let mut s = filled(10);
        let mut g = Group::new(StreamId::MIN, 0);
        assert_eq!(s.group_lag(&g), Some(10));
        s.advance_group(&mut g, StreamId::new(3, 0));
        assert_eq!((g.entries_read, s.group_lag(&g)), (1, Some(9)));
        s.delete(&[StreamId::new(5, 0)]);
        s.advance_group(&mut g, StreamId::new(4, 0));
        assert_eq!(g.entries_read, ENTRIES_READ_UNKNOWN, "a tombstone ahead makes the counter unknown");
        assert_eq!(s.group_lag(&g), None);
        s.advance_group(&mut g, StreamId::new(10, 0));
        assert_eq!((g.entries_read, s.group_lag(&g)), (10, Some(0)));
    }

    #[test]
    fn bytes_round_trip_with_groups() {
        let mut s = filled(130);
        s.delete(&[StreamId::new(3, 0)]);
        let mut g = Group::new(StreamId::new(5, 0), 4);
        g.consumer(b"alice", 77, true);
        g.deliver(StreamId::new(4, 0), &Bytes::from("alice"), 1000, 2);
        g.deliver(StreamId::new(5, 0), &Bytes::from("bob"), 1001, 1);
        s.groups.insert(Bytes::from("g"), g);
        let back = Stream::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.len(), 129);
        assert_eq!(back.max_deleted_id, StreamId::new(3, 0));
        assert_eq!(back.groups[&Bytes::from("g")].consumers[&Bytes::from("bob")].pel.len(), 1);
        let bytes = s.to_bytes();
        assert!(Stream::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        // Block layout is not part of the image.
        let mut cut = filled(130);
        cut.trim(Trim::MaxLen(125), false, 0);
        let mut fresh = Stream::default();
        for e in cut.range(StreamId::MIN, StreamId::MAX, 0, false) {
            let flat: Vec<Bytes> = e.fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect();
            fresh.append(e.id, &flat);
        }
        fresh.entries_added = cut.entries_added;
        assert_eq!(fresh.digest_bytes(), cut.digest_bytes());
    }
}
