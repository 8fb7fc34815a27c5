//! Key metadata that most keys never have (tags, for now), kept out of the entry, and the tag index over it.
//!
//! An entry carries one flag bit, [`Entry::HAS_META`]; the metadata itself lives in the shard's side state
//! ([`MetaSide`]: key -> [`KeyMeta`], and tag -> keys), so keys without metadata pay nothing for it. The flag
//! follows the entry's life exactly as its TTL does: a modification (HSET, INCR, EXPIRE) keeps it, a replacement
//! (SET, a `*STORE` destination, RESTORE) starts a fresh entry without it (SET ... KEEPTTL keeps it, as it keeps
//! the TTL), and RENAME and MOVE carry the whole entry.
//!
//! The index is kept exact by one change hook, [`MetaHooks`], through the keyspace-change path: whatever removes
//! or replaces a key (DEL, UNLINK, expiry, eviction, FLUSHDB, an overwrite) drops its metadata and its tags, and
//! RENAME and MOVE carry them to the new name (the source's removal and the destination's write run back to back
//! on one thread, so the metadata waits between the two in a thread-local). The hook is installed per shard the
//! first time a key with metadata arrives there ([`Shard::ensure_hooks`](super::Shard::ensure_hooks)), so shards
//! without tagged keys keep the change path's no-hook fast path; SWAPDB moves a shard's hooks with its side state.

use super::change::KeyChange;
use super::event::Event;
use super::hooks::{ChangeHooks, ShardChange, ShardSide};
use super::shard::ShardData;
use super::value::Entry;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};

/// Longest tag accepted (Fastly's surrogate-key limit).
pub const MAX_TAG_LEN: usize = 1024;
/// Most bytes of tags one key may carry (Fastly's 16 KB per object).
pub const MAX_TAG_BYTES_PER_KEY: usize = 16 * 1024;

/// Approximate bytes of bookkeeping per stored key or tag reference (map node, `Bytes` header), for INFO.
const NODE_OVERHEAD: i64 = 64;

/// What one key carries beyond its value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyMeta {
    /// The key's tags, sorted and unique.
    pub tags: Vec<Bytes>,
}

impl KeyMeta {
    fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Bytes of tags the key carries (the per-key limit counts these).
    pub fn tag_bytes(&self) -> usize {
        self.tags.iter().map(|t| t.len()).sum()
    }
}

/// One shard's metadata and tag index.
#[derive(Debug, Default)]
pub struct MetaSide {
    keys: HashMap<Bytes, KeyMeta>,
    tags: BTreeMap<Bytes, BTreeSet<Bytes>>,
}

impl MetaSide {
    /// The metadata of `key`, if it has any.
    pub fn get(&self, key: &[u8]) -> Option<&KeyMeta> {
        self.keys.get(key)
    }

    /// The keys of `tag` in this shard.
    pub fn keys_of(&self, tag: &[u8]) -> Option<&BTreeSet<Bytes>> {
        self.tags.get(tag)
    }

    /// The tags present in this shard, in order, from just after `after` (all when `None`).
    pub fn tags_after<'a>(&'a self, after: Option<&'a [u8]>) -> impl Iterator<Item = &'a Bytes> + 'a {
        use std::ops::Bound;
        let start = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        self.tags.range::<[u8], _>((start, Bound::Unbounded)).map(|(t, _)| t)
    }

    /// Adds `tags` to `key` (whose entry must carry [`Entry::HAS_META`]); returns how many were new.
    pub fn add_tags(&mut self, stats: &MetaStats, key: &[u8], tags: &[Bytes]) -> usize {
        let meta = self.keys.entry(Bytes::copy_from_slice(key)).or_insert_with(|| {
            stats.keys.fetch_add(1, Ordering::Relaxed);
            stats.bytes.fetch_add(NODE_OVERHEAD + key.len() as i64, Ordering::Relaxed);
            KeyMeta::default()
        });
        let mut added = 0;
        for t in tags {
            if let Err(at) = meta.tags.binary_search(t) {
                meta.tags.insert(at, t.clone());
                added += 1;
            }
        }
        let key = Bytes::copy_from_slice(key);
        for t in tags {
            if self.tags.entry(t.clone()).or_default().insert(key.clone()) {
                stats.members.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(2 * NODE_OVERHEAD + (t.len() + key.len()) as i64, Ordering::Relaxed);
            }
        }
        added
    }

    /// Removes `tags` from `key`; returns how many it had. Metadata left empty is dropped (the caller then clears
    /// the entry's flag).
    pub fn remove_tags(&mut self, stats: &MetaStats, key: &[u8], tags: &[Bytes]) -> usize {
        let Some(meta) = self.keys.get_mut(key) else { return 0 };
        let mut removed = Vec::new();
        for t in tags {
            if let Ok(at) = meta.tags.binary_search(t) {
                removed.push(meta.tags.remove(at));
            }
        }
        let n = removed.len();
        self.unindex(stats, key, &removed);
        if self.keys.get(key).is_some_and(KeyMeta::is_empty) {
            self.drop_key(stats, key);
        }
        n
    }

    /// Takes `key`'s metadata out, removing it from the index.
    fn take(&mut self, stats: &MetaStats, key: &[u8]) -> Option<KeyMeta> {
        let meta = self.drop_key(stats, key)?;
        self.unindex(stats, key, &meta.tags);
        Some(meta)
    }

    /// Installs `meta` for `key` (replacing what it had), indexing its tags.
    fn put(&mut self, stats: &MetaStats, key: &[u8], mut meta: KeyMeta) {
        self.take(stats, key);
        if meta.is_empty() {
            return;
        }
        let tags = std::mem::take(&mut meta.tags);
        self.keys.insert(Bytes::copy_from_slice(key), meta);
        stats.keys.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(NODE_OVERHEAD + key.len() as i64, Ordering::Relaxed);
        self.add_tags(stats, key, &tags);
    }

    fn drop_key(&mut self, stats: &MetaStats, key: &[u8]) -> Option<KeyMeta> {
        let meta = self.keys.remove(key)?;
        stats.keys.fetch_sub(1, Ordering::Relaxed);
        stats.bytes.fetch_sub(NODE_OVERHEAD + key.len() as i64, Ordering::Relaxed);
        Some(meta)
    }

    fn unindex(&mut self, stats: &MetaStats, key: &[u8], tags: &[Bytes]) {
        for t in tags {
            let Some(set) = self.tags.get_mut(t) else { continue };
            if set.remove(key) {
                stats.members.fetch_sub(1, Ordering::Relaxed);
                stats.bytes.fetch_sub(2 * NODE_OVERHEAD + (t.len() + key.len()) as i64, Ordering::Relaxed);
            }
            if set.is_empty() {
                self.tags.remove(t);
            }
        }
    }

    /// Forgets everything (the shard was flushed).
    fn clear(&mut self, stats: &MetaStats) {
        let keys: Vec<Bytes> = self.keys.keys().cloned().collect();
        for k in keys {
            self.take(stats, &k);
        }
    }
}

/// Totals over every shard, for INFO (updated as the index changes, read without locks).
#[derive(Debug, Default)]
pub struct MetaStats {
    /// Keys carrying metadata.
    pub keys: AtomicI64,
    /// (tag, key) pairs in the index.
    pub members: AtomicI64,
    /// Estimated bytes of the metadata and index.
    pub bytes: AtomicI64,
}

/// The change hook keeping [`MetaSide`] exact.
#[derive(Debug, Default)]
pub struct MetaHooks {
    pub stats: MetaStats,
}

thread_local! {
    /// Metadata between a RENAME's or MOVE's removal of the source and its write of the destination (or the
    /// source's metadata that COPY hands to its destination).
    static IN_FLIGHT: RefCell<Option<KeyMeta>> = const { RefCell::new(None) };
}

/// Hands `meta` to the next destination write on this thread that carries [`Entry::HAS_META`] (COPY).
pub fn carry_to_destination(meta: Option<KeyMeta>) {
    IN_FLIGHT.with(|f| *f.borrow_mut() = meta);
}

impl MetaHooks {
    /// The shard's side state, created on first use.
    pub fn side_mut(side: &mut ShardSide) -> &mut MetaSide {
        side.get_or_default::<MetaSide>()
    }
}

impl ChangeHooks for MetaHooks {
    fn after_change(&self, side: &mut ShardSide, change: &KeyChange<'_>, new: Option<&Entry>) {
        let carried = match change.event {
            Some(Event::RenameFrom | Event::MoveFrom) => {
                let meta = side.get_mut::<MetaSide>().and_then(|ms| ms.take(&self.stats, change.key));
                IN_FLIGHT.with(|f| *f.borrow_mut() = meta);
                return;
            }
            Some(Event::RenameTo | Event::MoveTo | Event::CopyTo) => IN_FLIGHT.with(|f| f.borrow_mut().take()),
            _ => None,
        };
        let keeps = new.is_some_and(|e| e.flags & Entry::HAS_META != 0);
        match carried.filter(|_| keeps) {
            Some(meta) => Self::side_mut(side).put(&self.stats, change.key, meta),
            // Removed or replaced, or a destination whose source carried nothing: its old metadata goes.
            None if !keeps || carried_event(change.event) => {
                if let Some(ms) = side.get_mut::<MetaSide>() {
                    ms.take(&self.stats, change.key);
                }
            }
            // Modified in place: the metadata stays.
            None => {}
        }
    }

    fn after_shard_change(&self, side: &mut ShardSide, _db: usize, _s: usize, change: ShardChange, _d: &ShardData) {
        if matches!(change, ShardChange::FlushDb | ShardChange::FlushAll) {
            if let Some(ms) = side.get_mut::<MetaSide>() {
                ms.clear(&self.stats);
            }
        }
    }
}

fn carried_event(e: Option<Event>) -> bool {
    matches!(e, Some(Event::RenameTo | Event::MoveTo | Event::CopyTo))
}
