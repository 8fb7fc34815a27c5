//! Active expiry: keys whose TTL passed are reclaimed even if nobody reads them.
//!
//! As in Redis, each cycle samples random keys with a TTL from every shard and deletes the expired ones, repeating
//! on a shard while more than a quarter of the sample had expired. Work is bounded by a deadline, and a shard's
//! lock is held only for one sample batch at a time.

use super::change::{before_change, key_changed, ChangeKind, KeyChange};
use super::event::Event;
use super::Keyspace;
use crate::effects::{EffectLog, EffectSink};
use std::time::Instant;

/// Keys sampled per batch (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const SAMPLE: usize = 20;

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleOutcome {
    /// Keys deleted.
    pub expired: u64,
    /// Volatile keys looked at.
    pub sampled: u64,
    /// The deadline came while a shard still had many keys due.
    pub time_cap_reached: bool,
}

/// Runs one cycle starting at shard `cursor` (a global id, advanced so the next cycle resumes where this one
/// stopped).
pub fn active_expire_cycle(
    listener: &dyn super::change::ChangeListener,
    ks: &Keyspace,
    stream: &EffectLog,
    now_ms: u64,
    deadline: Instant,
    cursor: &mut usize,
) -> CycleOutcome {
    let total = ks.total_shards();
    let mut rng = rand::thread_rng();
    let mut out = CycleOutcome::default();
    let mut sink = EffectSink::default();
    for _ in 0..total {
        let gid = *cursor % total;
        *cursor = (*cursor + 1) % total;
        let db = gid >> ks.shard_bits();
        loop {
            let mut shard = ks.lock_gid(gid);
            if shard.data.volatile_len() == 0 {
                break;
            }
            let mut hit = 0u64;
            for _ in 0..SAMPLE.min(shard.data.volatile_len()) {
                let Some(idx) = shard.data.random_volatile(&mut rng) else { break };
                out.sampled += 1;
                let at = shard.data.expire_at(idx);
                let due = at != 0 && at <= now_ms;
                if !due {
                    continue;
                }
                let Some(key) = shard.data.key(idx).cloned() else { continue };
                before_change(&mut shard, db, &key, Some(idx));
                if shard.data.remove(idx).is_some() {
                    let change =
                        KeyChange { db, key: &key, kind: ChangeKind::Expire, event: Some(Event::Expired), client: 0 };
                    key_changed(&mut shard, change, &mut sink, listener);
                    hit += 1;
                }
            }
            out.expired += hit;
            // Effects go out while the shard is locked, so a later write to the same key follows its DEL.
            stream.append(&mut sink, None, false);
            drop(shard);
            if hit * 4 <= SAMPLE as u64 {
                break;
            }
            if Instant::now() >= deadline {
                out.time_cap_reached = true;
                break;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    out
}
