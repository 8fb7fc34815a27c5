//! maxmemory eviction: the eight Redis policies, by sampling.
//!
//! Each step picks a random non-empty database and shard, samples `maxmemory-samples` candidates there (all keys,
//! or only keys with a TTL for the `volatile-*` policies), and evicts the best one by the policy's measure: longest
//! idle (LRU), lowest decayed access counter (LFU), nearest expiry (TTL) or any (random). The key leaves through the
//! keyspace-change path, so WATCH, notifications (`evicted`), client-side caching and the write-effect stream
//! (`DEL`) all see it. A shard's lock is held only for one sample and one removal.

use super::change::{key_changed, ChangeKind, ChangeListener, KeyChange};
use super::Keyspace;
use crate::effects::{EffectLog, EffectSink};
use rand::Rng;

/// A `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    /// Parses the config value (already validated).
    pub fn parse(s: &str) -> Policy {
        match s {
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
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

/// Evicts one key; returns false when no key is eligible under the policy.
pub fn evict_one(
    ks: &Keyspace,
    listener: &dyn ChangeListener,
    stream: &EffectLog,
    p: EvictParams,
    rng: &mut impl Rng,
) -> bool {
    if p.policy == Policy::NoEviction {
        return false;
    }
    let dbs = ks.db_count();
    let shards = ks.shard_count();
    let db0 = rng.gen_range(0..dbs);
    let s0 = rng.gen_range(0..shards);
    for i in 0..dbs * shards {
        let db = (db0 + i / shards) % dbs;
        let shard_idx = (s0 + i) % shards;
        let mut shard = ks.lock(db, shard_idx);
        let pool = if p.policy.volatile_only() { shard.data.volatile_len() } else { shard.data.dict.len() };
        if pool == 0 {
            continue;
        }
        let mut best: Option<(u32, u64)> = None;
        for _ in 0..p.samples.max(1) {
            let idx = if p.policy.volatile_only() {
                shard.data.random_volatile(rng)
            } else {
                shard.data.dict.random_slot(rng)
            };
            let Some(idx) = idx else { continue };
            let Some(e) = shard.data.entry(idx) else { continue };
            // Higher is a better victim.
            let score = match p.policy {
                Policy::AllkeysLru | Policy::VolatileLru => u64::from(p.lru_now.saturating_sub(e.access)),
                Policy::AllkeysLfu | Policy::VolatileLfu => {
                    255 - u64::from(super::lfu::decayed(e.freq, e.access, p.lru_now, p.lfu_decay_minutes))
                }
                Policy::VolatileTtl => u64::MAX - e.expire_at,
                _ => 0,
            };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((idx, score));
            }
            if matches!(p.policy, Policy::AllkeysRandom | Policy::VolatileRandom) {
                break;
            }
        }
        let Some((idx, _)) = best else { continue };
        let Some((key, _value)) = shard.data.remove(idx) else { continue };
        let mut sink = EffectSink::default();
        let change = KeyChange { db, key: &key, kind: ChangeKind::Evict, event: "evicted", client: 0 };
        key_changed(&shard, change, &mut sink, listener);
        stream.append(&mut sink, None, false);
        return true;
    }
    false
}
