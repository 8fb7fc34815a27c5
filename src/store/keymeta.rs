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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
    /// Cache policy and read statistics (CACHE.SET options), boxed: most tagged keys have none.
    pub cache: Option<Box<CacheState>>,
}

/// TTLPOLICY ADAPTIVE: the TTL a write sets and the range hits move it in, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adaptive {
    pub base_ms: u64,
    pub min_ms: u64,
    pub max_ms: u64,
}

/// A cached value's policy and what reads have learned about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheState {
    /// How long the value stays servable as stale after it stops being fresh. The entry's TTL covers both: the
    /// value is fresh until `expire_at - stale_ms`, so freshness never needs replicating on its own.
    pub stale_ms: u64,
    pub adaptive: Option<Adaptive>,
    /// How long the value took to compute, as reported by the filler (COMPUTE) or measured from lease to fill;
    /// XFetch's delta.
    pub delta_ms: u64,
    /// CACHE.GET hits since the value was written.
    pub hits: u64,
    /// Hits decayed with a half-life of the base TTL (ADAPTIVE's access frequency), as of `scored_at`.
    pub score: f64,
    pub scored_at: u64,
    /// A refresh was handed to one reader and is expected until this time (unix ms); readers meanwhile are told
    /// to keep using the current value. Local to this server.
    pub refresh_until: u64,
}

impl CacheState {
    /// When the value stops being fresh, given the entry's absolute expiry (0: never).
    pub fn fresh_until(&self, expire_at: u64) -> u64 {
        if expire_at == 0 {
            0
        } else {
            expire_at.saturating_sub(self.stale_ms)
        }
    }
}

impl KeyMeta {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.cache.is_none()
    }

    /// Bytes of tags the key carries (the per-key limit counts these).
    pub fn tag_bytes(&self) -> usize {
        self.tags.iter().map(|t| t.len()).sum()
    }
}

/// A fill lease (CACHE.GETL): the one reader allowed to fill a missing or stale key, until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub token: u64,
    pub granted_at: u64,
    pub until: u64,
}

/// Leases kept before the expired ones are swept out.
const LEASE_SWEEP_AT: usize = 1024;

/// One shard's metadata and tag index.
#[derive(Debug, Default)]
pub struct MetaSide {
    keys: HashMap<Bytes, KeyMeta>,
    tags: BTreeMap<Bytes, BTreeSet<Bytes>>,
    /// Live fill leases by key (the key usually does not exist). Any change of the key ends its lease, so a
    /// filler that was overtaken cannot overwrite the newer value.
    leases: HashMap<Bytes, Lease>,
}

impl MetaSide {
    /// The metadata of `key`, if it has any.
    pub fn get(&self, key: &[u8]) -> Option<&KeyMeta> {
        self.keys.get(key)
    }

    /// The metadata of `key`, for update (tags must be changed through [`MetaSide::add_tags`] and
    /// [`MetaSide::remove_tags`], which keep the index).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut KeyMeta> {
        self.keys.get_mut(key)
    }

    /// Replaces `key`'s metadata (its entry must carry [`Entry::HAS_META`] unless `meta` is empty).
    pub fn set(&mut self, stats: &MetaStats, key: &[u8], meta: KeyMeta) {
        self.put(stats, key, meta);
    }

    /// The live lease on `key`, if any.
    pub fn lease(&self, key: &[u8], now: u64) -> Option<Lease> {
        self.leases.get(key).copied().filter(|l| l.until > now)
    }

    /// Grants `lease` on `key`, replacing any earlier one.
    pub fn grant_lease(&mut self, key: &[u8], lease: Lease) {
        if self.leases.len() >= LEASE_SWEEP_AT {
            let now = lease.granted_at;
            self.leases.retain(|_, l| l.until > now);
        }
        self.leases.insert(Bytes::copy_from_slice(key), lease);
    }

    /// Ends the lease on `key` and returns it, live or not.
    pub fn take_lease(&mut self, key: &[u8]) -> Option<Lease> {
        self.leases.remove(key)
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
            stats.bytes.fetch_add(meta_bytes(key, &KeyMeta::default()), Ordering::Relaxed);
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
        stats.keys.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(meta_bytes(key, &meta), Ordering::Relaxed);
        self.keys.insert(Bytes::copy_from_slice(key), meta);
        self.add_tags(stats, key, &tags);
    }

    fn drop_key(&mut self, stats: &MetaStats, key: &[u8]) -> Option<KeyMeta> {
        let meta = self.keys.remove(key)?;
        stats.keys.fetch_sub(1, Ordering::Relaxed);
        stats.bytes.fetch_sub(meta_bytes(key, &meta), Ordering::Relaxed);
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
        self.leases.clear();
    }
}

/// Estimated bytes of a key's metadata record, tags aside (counted per index entry). The cache state may only be
/// added or removed through [`MetaSide::set`], so what is added here is what is taken away.
fn meta_bytes(key: &[u8], meta: &KeyMeta) -> i64 {
    let cache = if meta.cache.is_some() { std::mem::size_of::<CacheState>() } else { 0 };
    NODE_OVERHEAD + (key.len() + cache) as i64
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
    /// Source of lease tokens (unique for the server's life).
    pub next_token: AtomicU64,
    pub counters: CacheCounters,
}

/// What the CACHE.* reads and fills did, for INFO stats.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Reads that found a fresh value.
    pub hits: AtomicU64,
    /// Reads that found nothing.
    pub misses: AtomicU64,
    /// Reads answered with a stale value.
    pub stale_hits: AtomicU64,
    /// Refreshes handed to one reader (XFetch's early refresh, or the first reader of a stale value).
    pub refreshes: AtomicU64,
    pub leases_granted: AtomicU64,
    /// Readers told to wait for another's fill.
    pub lease_waits: AtomicU64,
    pub fills: AtomicU64,
    /// Fills refused because their lease had ended or been superseded.
    pub fills_rejected: AtomicU64,
    /// Expiries moved by ADAPTIVE hits.
    pub ttl_extensions: AtomicU64,
}

impl CacheCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
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
        if let Some(ms) = side.get_mut::<MetaSide>() {
            if !ms.leases.is_empty() {
                ms.leases.remove(change.key);
            }
        }
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
