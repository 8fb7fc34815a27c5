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
use super::shard::{Shard, ShardData};
use super::value::Entry;
use bytes::Bytes;
use hashbrown::HashMap;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Longest tag accepted (Fastly's surrogate-key limit).
pub const MAX_TAG_LEN: usize = 1024;
/// Most bytes of tags one key may carry (Fastly's 16 KB per object).
pub const MAX_TAG_BYTES_PER_KEY: usize = 16 * 1024;

/// Approximate bytes of bookkeeping, for INFO: a key's metadata record (map slot, name header, the record)...
const NODE_OVERHEAD: i64 = 64;
/// ...one tag on one key (its place in the key's list and in the tag's ordered set)...
const MEMBER_BYTES: i64 = 80;
/// ...and one tag in use (its map node and name header), plus the name.
const TAG_BYTES: i64 = 64;

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

/// Version byte of [`KeyMeta::encode`]'s form.
const ENCODING_V1: u8 = 1;

impl KeyMeta {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.cache.is_none()
    }

    /// The persistent form (snapshots): tags, and the cache policy with its read statistics. A handed-out
    /// refresh is local to the running server and left out.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(ENCODING_V1);
        out.extend_from_slice(&(self.tags.len() as u32).to_le_bytes());
        for t in &self.tags {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t);
        }
        let Some(c) = &self.cache else {
            out.push(0);
            return;
        };
        out.push(1);
        let a = c.adaptive.map_or([0; 3], |a| [a.base_ms, a.min_ms, a.max_ms]);
        for n in [c.stale_ms, a[0], a[1], a[2], c.delta_ms, c.hits, c.score.to_bits(), c.scored_at] {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }

    /// Reads [`KeyMeta::encode`]'s form back, checking it as a key's own TAG.ADD would (tag sizes, the per-key
    /// limit, sorted unique tags, a valid policy); `None` when it is damaged.
    pub fn decode(mut b: &[u8]) -> Option<KeyMeta> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (b.get(..n)?, b.get(n..)?);
            *b = rest;
            Some(head)
        }
        fn u32_of(b: &mut &[u8]) -> Option<usize> {
            Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?) as usize)
        }
        fn u64_of(b: &mut &[u8]) -> Option<u64> {
            Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
        }
        if take(&mut b, 1)? != [ENCODING_V1] {
            return None;
        }
        let n = u32_of(&mut b)?;
        let mut tags: Vec<Bytes> = Vec::with_capacity(n.min(b.len() / 4));
        let mut total = 0;
        for _ in 0..n {
            let len = u32_of(&mut b)?;
            total += len;
            if len == 0 || len > MAX_TAG_LEN || total > MAX_TAG_BYTES_PER_KEY {
                return None;
            }
            let t = Bytes::copy_from_slice(take(&mut b, len)?);
            if tags.last().is_some_and(|last| *last >= t) {
                return None;
            }
            tags.push(t);
        }
        let cache = match take(&mut b, 1)? {
            [0] => None,
            [1] => {
                let mut f = [0u64; 8];
                for v in &mut f {
                    *v = u64_of(&mut b)?;
                }
                let [stale_ms, base_ms, min_ms, max_ms, delta_ms, hits, score, scored_at] = f;
                let adaptive = match (base_ms, min_ms, max_ms) {
                    (0, 0, 0) => None,
                    _ if 0 < min_ms && min_ms <= base_ms && base_ms <= max_ms => {
                        Some(Adaptive { base_ms, min_ms, max_ms })
                    }
                    _ => return None,
                };
                let score = f64::from_bits(score);
                if !score.is_finite() || score < 0.0 {
                    return None;
                }
                Some(Box::new(CacheState { stale_ms, adaptive, delta_ms, hits, score, scored_at, refresh_until: 0 }))
            }
            _ => return None,
        };
        let meta = KeyMeta { tags, cache };
        (b.is_empty() && !meta.is_empty()).then_some(meta)
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

    /// Adds `tags` to `key` (whose entry must carry [`Entry::HAS_META`]); returns how many were new. Tags are
    /// interned (every key of a tag shares the index's copy) and the key's name is stored once for the record
    /// and all its index entries; neither keeps a request's read buffer alive.
    pub fn add_tags(&mut self, stats: &MetaStats, key: &[u8], tags: &[Bytes]) -> usize {
        let name = match self.keys.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => {
                let k = Bytes::copy_from_slice(key);
                stats.keys.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(meta_bytes(key, &KeyMeta::default()), Ordering::Relaxed);
                self.keys.insert(k.clone(), KeyMeta::default());
                k
            }
        };
        let mut added = 0;
        for t in tags {
            let tag = match self.tags.get_key_value(&t[..]) {
                Some((k, _)) => k.clone(),
                None => {
                    stats.bytes.fetch_add(TAG_BYTES + t.len() as i64, Ordering::Relaxed);
                    Bytes::copy_from_slice(t)
                }
            };
            let Some(meta) = self.keys.get_mut(key) else { break };
            if let Err(at) = meta.tags.binary_search(&tag) {
                meta.tags.insert(at, tag.clone());
                added += 1;
                stats.members.fetch_add(1, Ordering::Relaxed);
                stats.bytes.fetch_add(MEMBER_BYTES, Ordering::Relaxed);
                self.tags.entry(tag).or_default().insert(name.clone());
            }
        }
        added
    }

    /// Takes `tag` out of the index whole and returns its keys (TAG.INVALIDATE, which deletes them all at once:
    /// their own records still name the tag until they go, and unindexing finds nothing left to do).
    pub fn take_tag(&mut self, stats: &MetaStats, tag: &[u8]) -> Vec<Bytes> {
        let Some(keys) = self.tags.remove(tag) else { return Vec::new() };
        let n = keys.len() as i64;
        stats.members.fetch_sub(n, Ordering::Relaxed);
        stats.bytes.fetch_sub(n * MEMBER_BYTES + TAG_BYTES + tag.len() as i64, Ordering::Relaxed);
        keys.into_iter().collect()
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

    /// Takes the metadata of many keys out, removing them from the index tag by tag, each tag's keys in order:
    /// one lookup per tag and removals along one path of its set, instead of a lookup per key and tag.
    fn take_many<'k>(&mut self, stats: &MetaStats, keys: impl Iterator<Item = &'k Bytes>) {
        let mut by_tag: HashMap<Bytes, Vec<Bytes>> = HashMap::new();
        for k in keys {
            if let Some(meta) = self.drop_key(stats, k) {
                for t in meta.tags {
                    by_tag.entry(t).or_default().push(k.clone());
                }
            }
        }
        for (t, mut keys) in by_tag {
            keys.sort_unstable();
            let Some(set) = self.tags.get_mut(&t) else { continue };
            let before = set.len();
            for k in &keys {
                set.remove(k);
            }
            let removed = (before - set.len()) as i64;
            stats.members.fetch_sub(removed, Ordering::Relaxed);
            stats.bytes.fetch_sub(removed * MEMBER_BYTES, Ordering::Relaxed);
            if set.is_empty() {
                self.tags.remove(&t);
                stats.bytes.fetch_sub(TAG_BYTES + t.len() as i64, Ordering::Relaxed);
            }
        }
    }

    /// Takes `key`'s metadata out, removing it from the index.
    fn take(&mut self, stats: &MetaStats, key: &[u8]) -> Option<KeyMeta> {
        let meta = self.drop_key(stats, key)?;
        self.unindex(stats, key, &meta.tags);
        Some(meta)
    }

    /// Replaces `key`'s metadata, indexing its tags (its entry must carry [`Entry::HAS_META`] unless `meta` is
    /// empty).
    pub fn set(&mut self, stats: &MetaStats, key: &[u8], mut meta: KeyMeta) {
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
                stats.bytes.fetch_sub(MEMBER_BYTES, Ordering::Relaxed);
            }
            if set.is_empty() {
                self.tags.remove(t);
                stats.bytes.fetch_sub(TAG_BYTES + t.len() as i64, Ordering::Relaxed);
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
    pub prefixes: PrefixPolicies,
}

/// Longest TTLPOLICY / STALE time accepted (ten years), so expiries stay far from overflow.
pub const MAX_POLICY_SECONDS: u64 = 10 * 365 * 86_400;

/// `adaptive-ttl`: ADAPTIVE policies by key prefix, for keys with an expiry and no TTLPOLICY of their own. Such a
/// key keeps no metadata for it: its access frequency is the entry's LFU counter (kept up to date on every access
/// while any prefix is configured), so the policy costs no memory per key.
#[derive(Debug, Default)]
pub struct PrefixPolicies {
    list: parking_lot::RwLock<Vec<(Bytes, Adaptive)>>,
    any: std::sync::atomic::AtomicBool,
}

impl PrefixPolicies {
    /// Parses `prefix base min max [prefix base min max ...]` (seconds, `0 < min <= base <= max`).
    pub fn parse(spec: &str) -> Result<Vec<(Bytes, Adaptive)>, String> {
        let words: Vec<&str> = spec.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err("adaptive-ttl takes groups of: prefix base min max (seconds)".into());
        }
        words
            .chunks(4)
            .map(|w| {
                let secs: Vec<u64> = w[1..].iter().filter_map(|s| s.parse().ok()).collect();
                match secs[..] {
                    [base, min, max] if 0 < min && min <= base && base <= max && max <= MAX_POLICY_SECONDS => Ok((
                        Bytes::copy_from_slice(w[0].as_bytes()),
                        Adaptive { base_ms: base * 1000, min_ms: min * 1000, max_ms: max * 1000 },
                    )),
                    _ => Err(format!(
                        "adaptive-ttl '{}': base, min and max must be seconds with 0 < min <= base <= max",
                        w[0]
                    )),
                }
            })
            .collect()
    }

    pub fn set(&self, list: Vec<(Bytes, Adaptive)>) {
        self.any.store(!list.is_empty(), Ordering::Relaxed);
        *self.list.write() = list;
    }

    /// Some prefix is configured.
    #[inline]
    pub fn any(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// The policy of the longest prefix of `key`.
    pub fn policy_for(&self, key: &[u8]) -> Option<Adaptive> {
        if !self.any() {
            return None;
        }
        let list = self.list.read();
        list.iter().filter(|(p, _)| key.starts_with(p)).max_by_key(|(p, _)| p.len()).map(|(_, a)| *a)
    }
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
    /// Set while TAG.INVALIDATE deletes: removed keys keep their records for [`unindex_removed`] (see there).
    static DEFER_UNINDEX: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While the returned guard lives, keys removed on this thread keep their metadata records and index entries
/// (orphans) instead of being unindexed on the spot: TAG.INVALIDATE deletes thousands of keys while it holds every
/// shard of the database, and unindexing (the key's other tags, its record) is most of the work per key, so it
/// is left for [`unindex_removed`] once the shards are released. An orphan is invisible: readers of the index
/// check that the key exists (TAG.KEYS), any write that recreates the key unindexes the orphan first (the hook
/// sees a change without [`Entry::HAS_META`]), and snapshots only write the records of keys that exist. Only
/// TAG.COUNT, TAG.LIST and INFO's tag counters may include orphans, for the moment between the two steps.
pub fn defer_unindex() -> DeferGuard {
    DEFER_UNINDEX.with(|d| d.set(true));
    DeferGuard(())
}

/// Ends [`defer_unindex`] when dropped.
pub struct DeferGuard(());

impl Drop for DeferGuard {
    fn drop(&mut self) {
        DEFER_UNINDEX.with(|d| d.set(false));
    }
}

/// Unindexes the orphans among `keys` in a locked shard: those still absent (a key recreated meanwhile was
/// unindexed by its write, and may carry new metadata that must stay).
pub fn unindex_removed(ks: &super::Keyspace, shard: &mut Shard, keys: &[Bytes]) {
    let Shard { data, side, .. } = shard;
    let Some(ms) = side.get_mut::<MetaSide>() else { return };
    ms.take_many(&ks.meta.stats, keys.iter().filter(|k| data.find(super::hash_key(k), k).is_none()));
}

/// Hands `meta` to the next destination write on this thread that carries [`Entry::HAS_META`] (COPY).
pub fn carry_to_destination(meta: Option<KeyMeta>) {
    IN_FLIGHT.with(|f| *f.borrow_mut() = meta);
}

impl MetaHooks {
    /// Attaches `meta` to `key` of `shard` (a snapshot being loaded): flags the entry, installs the hook on the
    /// shard and indexes the tags. False when the key is not there (it had expired, or was not loaded).
    pub fn attach(self: &Arc<Self>, shard: &mut Shard, key: &[u8], meta: KeyMeta) -> bool {
        let Some(idx) = shard.data.find(super::hash_key(key), key) else { return false };
        let Some(e) = shard.data.entry_mut(idx) else { return false };
        e.flags |= Entry::HAS_META;
        let hooks: Arc<dyn ChangeHooks> = self.clone();
        shard.ensure_hooks(&hooks);
        Self::side_mut(&mut shard.side).set(&self.stats, key, meta);
        true
    }

    /// Forgets `key`'s metadata in `shard` (a snapshot being loaded replaces a key with a later record of it,
    /// which brings its own metadata record if it has any).
    pub fn detach(&self, shard: &mut Shard, key: &[u8]) {
        if let Some(side) = shard.side.get_mut::<MetaSide>() {
            side.take(&self.stats, key);
        }
    }

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
            e if is_carried(e) => IN_FLIGHT.with(|f| f.borrow_mut().take()),
            _ => None,
        };
        let keeps = new.is_some_and(|e| e.flags & Entry::HAS_META != 0);
        if new.is_none() && DEFER_UNINDEX.with(|d| d.get()) {
            return;
        }
        match carried.filter(|_| keeps) {
            Some(meta) => Self::side_mut(side).set(&self.stats, change.key, meta),
            // Removed or replaced, or a destination whose source carried nothing: its old metadata goes.
            None if !keeps || is_carried(change.event) => {
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

/// A destination write that receives a source's metadata (RENAME, MOVE, COPY).
fn is_carried(e: Option<Event>) -> bool {
    matches!(e, Some(Event::RenameTo | Event::MoveTo | Event::CopyTo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeyMeta {
        KeyMeta {
            tags: vec![Bytes::from_static(b"a"), Bytes::from_static(b"site")],
            cache: Some(Box::new(CacheState {
                stale_ms: 30_000,
                adaptive: Some(Adaptive { base_ms: 100_000, min_ms: 10_000, max_ms: 1_000_000 }),
                delta_ms: 25,
                hits: 7,
                score: 3.5,
                scored_at: 1_700_000_000_000,
                refresh_until: 99,
            })),
        }
    }

    #[test]
    fn the_persistent_form_round_trips_without_the_local_refresh() {
        let m = sample();
        let mut raw = Vec::new();
        m.encode(&mut raw);
        let mut want = m.clone();
        if let Some(c) = want.cache.as_mut() {
            c.refresh_until = 0;
        }
        assert_eq!(KeyMeta::decode(&raw), Some(want));
        let tags_only = KeyMeta { tags: vec![Bytes::from_static(b"t")], cache: None };
        let mut raw = Vec::new();
        tags_only.encode(&mut raw);
        assert_eq!(KeyMeta::decode(&raw), Some(tags_only));
    }

    #[test]
    fn damaged_forms_are_refused_never_a_panic() {
        let mut raw = Vec::new();
        sample().encode(&mut raw);
        for cut in 0..raw.len() {
            assert_eq!(KeyMeta::decode(&raw[..cut]), None, "cut at {cut}");
        }
        let mut longer = raw.clone();
        longer.push(0);
        assert_eq!(KeyMeta::decode(&longer), None);
        // Unsorted tags, an empty tag, a bad policy, a huge tag count.
        let unsorted = KeyMeta { tags: vec![Bytes::from_static(b"b"), Bytes::from_static(b"a")], cache: None };
        let mut raw = Vec::new();
        unsorted.encode(&mut raw);
        assert_eq!(KeyMeta::decode(&raw), None);
        assert_eq!(KeyMeta::decode(&[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(KeyMeta::decode(&[1, 255, 255, 255, 255]), None);
        let mut bad = KeyMeta { tags: Vec::new(), cache: sample().cache };
        if let Some(c) = bad.cache.as_mut() {
            c.adaptive = Some(Adaptive { base_ms: 1, min_ms: 2, max_ms: 3 });
        }
        let mut raw = Vec::new();
        bad.encode(&mut raw);
        assert_eq!(KeyMeta::decode(&raw), None);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let n = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = KeyMeta::decode(&bytes);
        }
    }
}
