//! maxmemory eviction: the eight Redis policies, by sampling.
//!
//! Each step samples `maxmemory-samples` candidates from a random shard of every non-empty database (all keys, or
//! only keys with a TTL for the `volatile-*` policies) into an [`EvictionPool`] of the best candidates so far, and
//! evicts the pool's best by the policy's measure: longest idle (LRU), lowest decayed access counter (LFU),
//! nearest expiry (TTL). The random policies take any key of a random shard. The key leaves through the
//! keyspace-change path, so WATCH, notifications (`evicted`), client-side caching and the write-effect stream
//! (`DEL`) all see it. A shard's lock is held only for one sample and one removal.

use super::change::{before_change, key_changed, ChangeKind, ChangeListener, KeyChange};
use super::event::Event;
use super::Keyspace;
use crate::effects::{EffectLog, EffectSink};
use rand::Rng;

/// A `maxmemory-policy`. The discriminants are the indexes of `config::POLICIES`, so the configured value is
/// stored as one byte and read back without a lock or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    NoEviction = 0,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    /// W-TinyLFU (`store::tinylfu`): an admission window before a frequency-ordered main space.
    AllkeysTinyLfu,
}

impl Policy {
    const ALL: [Policy; 9] = [
        Policy::NoEviction,
        Policy::AllkeysLru,
        Policy::AllkeysLfu,
        Policy::AllkeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllkeysTinyLfu,
    ];

    /// The policy stored as `byte` (an unknown byte reads as `noeviction`, which evicts nothing).
    #[inline]
    pub fn from_u8(byte: u8) -> Policy {
        Self::ALL.get(byte as usize).copied().unwrap_or(Policy::NoEviction)
    }

    /// The config word.
    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysTinyLfu => "allkeys-tinylfu",
        }
    }

    /// Accesses keep an LFU counter (instead of the last-access time) under this policy.
    #[inline]
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// An LRU or LFU policy: Redis then stops sharing small integers between keys, which would share their
    /// access metadata.
    pub fn is_lru_or_lfu(self) -> bool {
        self.is_lfu() || matches!(self, Policy::AllkeysLru | Policy::VolatileLru)
    }

    fn volatile_only(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }
}

/// Tuning read from the config for one eviction run.
#[derive(Debug, Clone, Copy)]
pub struct EvictParams {
    pub policy: Policy,
    pub samples: usize,
    pub lru_now: u32,
    pub lfu_decay_minutes: u64,
}

impl EvictParams {
    /// How good a victim `e` (whose key hashes to `hash`) is under the policy: higher is better.
    fn score(&self, ks: &Keyspace, hash: u64, e: &super::value::Entry, expire_at: u64) -> u64 {
        match self.policy {
            // Least requested first (the sketch counts misses too), then least recently used.
            Policy::AllkeysTinyLfu => {
                (u64::from(15 - ks.tinylfu.frequency(hash).min(15)) << 32)
                    | u64::from(self.lru_now.saturating_sub(e.access))
            }
            Policy::AllkeysLru | Policy::VolatileLru => u64::from(self.lru_now.saturating_sub(e.access)),
            p if p.is_lfu() => {
                255 - u64::from(super::lfu::decayed(e.freq, e.access, self.lru_now, self.lfu_decay_minutes))
            }
            Policy::VolatileTtl => u64::MAX - expire_at,
            _ => 0,
        }
    }
}

/// Redis's eviction pool (`EVPOOL_SIZE`): the best candidates seen by earlier samples, kept across evictions.
/// Sampling a handful of keys per eviction alone often finds no old key once most of them are gone; carrying
/// the best ones forward makes the approximation close to true LRU/LFU (Redis's own reasoning in evict.c).
#[derive(Debug, Default)]
pub struct EvictionPool {
    /// Sorted by score, best victim last.
    candidates: Vec<Candidate>,
    /// The policy the candidates were scored under; a policy change empties the pool.
    policy: Option<Policy>,
}

#[derive(Debug)]
struct Candidate {
    score: u64,
    db: usize,
    hash: u64,
    key: bytes::Bytes,
}

const POOL_SIZE: usize = 16;

impl EvictionPool {
    fn offer(&mut self, c: Candidate) {
        if self.candidates.iter().any(|o| o.db == c.db && o.hash == c.hash && o.key == c.key) {
            return;
        }
        if self.candidates.len() == POOL_SIZE {
            if self.candidates[0].score >= c.score {
                return;
            }
            self.candidates.remove(0);
        }
        let at = self.candidates.partition_point(|o| o.score <= c.score);
        self.candidates.insert(at, c);
    }

    /// Samples one random non-empty shard of every non-empty database into the pool.
    fn refill(&mut self, ks: &Keyspace, p: &EvictParams, rng: &mut impl Rng) {
        let shards = ks.shard_count();
        for db in 0..ks.db_count() {
            let (keys, volatile) = ks.db_sizes(db);
            if (if p.policy.volatile_only() { volatile } else { keys }) == 0 {
                continue;
            }
            let s0 = rng.gen_range(0..shards);
            for i in 0..shards {
                let shard = ks.lock(db, (s0 + i) % shards);
                let pool = if p.policy.volatile_only() { shard.data.volatile_len() } else { shard.data.dict.len() };
                if pool == 0 {
                    continue;
                }
                for _ in 0..p.samples.max(1) {
                    let idx = if p.policy.volatile_only() {
                        shard.data.random_volatile(rng)
                    } else {
                        shard.data.dict.random_slot(rng)
                    };
                    let Some(idx) = idx else { continue };
                    let (Some(e), Some(key)) = (shard.data.entry(idx), shard.data.key(idx)) else { continue };
                    let hash = super::hash_key(key);
                    if p.policy == Policy::AllkeysTinyLfu && ks.tinylfu.in_window(db, hash) {
                        continue;
                    }
                    let score = p.score(ks, hash, e, shard.data.expire_at(idx));
                    let c = Candidate { score, db, hash, key: key.to_bytes() };
                    self.offer(c);
                }
                break;
            }
        }
    }
}

/// Evicts one key and returns about how many bytes that freed; `None` when no key is eligible under the policy.
pub fn evict_one(
    ks: &Keyspace,
    listener: &dyn ChangeListener,
    stream: &EffectLog,
    pool: &mut EvictionPool,
    p: EvictParams,
    rng: &mut impl Rng,
) -> Option<u64> {
    if p.policy == Policy::NoEviction {
        return None;
    }
    if matches!(p.policy, Policy::AllkeysRandom | Policy::VolatileRandom) {
        return evict_random(ks, listener, stream, p, rng);
    }
    if pool.policy != Some(p.policy) {
        pool.candidates.clear();
        pool.policy = Some(p.policy);
    }
    if p.policy == Policy::AllkeysTinyLfu {
        if let Some(freed) = admit_or_reject(ks, listener, stream, pool, p, rng) {
            return Some(freed);
        }
    }
    // A few rounds: candidates may have been deleted or touched since they were pooled.
    for _ in 0..4 {
        pool.refill(ks, &p, rng);
        while let Some(c) = pool.candidates.pop() {
            let mut shard = ks.lock(c.db, ks.shard_of(c.hash));
            let Some(idx) = shard.data.find(c.hash, &c.key) else { continue };
            let Some(e) = shard.data.entry(idx) else { continue };
            let at = shard.data.expire_at(idx);
            // Used since it was pooled (its score only grows while untouched): no longer a victim to trust.
            if p.score(ks, c.hash, e, at) < c.score || (p.policy.volatile_only() && at == 0) {
                continue;
            }
            return Some(remove_evicted(&mut shard, c.db, idx, listener, stream));
        }
    }
    None
}

/// allkeys-tinylfu's admission step: when the window is over its share, its oldest key is evicted unless the
/// sketch counts it more often than the main space's best victim, which is then evicted instead (the candidate
/// joins the main space). `None` when the window has no candidate (the caller evicts from the main space).
fn admit_or_reject(
    ks: &Keyspace,
    listener: &dyn ChangeListener,
    stream: &EffectLog,
    pool: &mut EvictionPool,
    p: EvictParams,
    rng: &mut impl Rng,
) -> Option<u64> {
    let keys: usize = (0..ks.db_count()).map(|db| ks.db_sizes(db).0).sum();
    while let Some(c) = ks.tinylfu.take_candidate(keys) {
        let shard = ks.lock(c.db, ks.shard_of(c.hash));
        let Some(idx) = shard.data.find(c.hash, &c.key) else { continue };
        drop(shard);
        pool.refill(ks, &p, rng);
        let candidate = ks.tinylfu.frequency(c.hash);
        let victim = pool.candidates.last().map(|v| ks.tinylfu.frequency(v.hash));
        if victim.is_some_and(|v| candidate > v) {
            return None;
        }
        let mut shard = ks.lock(c.db, ks.shard_of(c.hash));
        if shard.data.key(idx).is_some_and(|k| k[..] == c.key[..]) {
            return Some(remove_evicted(&mut shard, c.db, idx, listener, stream));
        }
    }
    None
}

/// The random policies: any key of a random non-empty shard, no pool.
fn evict_random(
    ks: &Keyspace,
    listener: &dyn ChangeListener,
    stream: &EffectLog,
    p: EvictParams,
    rng: &mut impl Rng,
) -> Option<u64> {
    let dbs = ks.db_count();
    let shards = ks.shard_count();
    let db0 = rng.gen_range(0..dbs);
    let s0 = rng.gen_range(0..shards);
    for i in 0..dbs * shards {
        let db = (db0 + i / shards) % dbs;
        let mut shard = ks.lock(db, (s0 + i) % shards);
        let idx =
            if p.policy.volatile_only() { shard.data.random_volatile(rng) } else { shard.data.dict.random_slot(rng) };
        if let Some(idx) = idx {
            return Some(remove_evicted(&mut shard, db, idx, listener, stream));
        }
    }
    None
}

/// Removes slot `idx` as an eviction, through the keyspace-change path; returns the bytes freed, about.
fn remove_evicted(
    shard: &mut super::Shard,
    db: usize,
    idx: u32,
    listener: &dyn ChangeListener,
    stream: &EffectLog,
) -> u64 {
    let Some(key) = shard.data.key(idx).cloned() else { return 0 };
    before_change(shard, db, &key, Some(idx));
    let Some((key, value, _)) = shard.data.remove(idx) else { return 0 };
    // Key and value bytes plus the slot, entry and allocation headers.
    let freed = (key.len() + value.value.heap_bytes() + 64) as u64;
    let mut sink = EffectSink::default();
    let change = KeyChange { db, key: &key, kind: ChangeKind::Evict, event: Some(Event::Evicted), client: 0 };
    key_changed(shard, change, &mut sink, listener);
    stream.append(&mut sink, None, false);
    freed
}
