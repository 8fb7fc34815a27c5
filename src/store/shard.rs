//! One shard of one database: its key table and the side structures that must change under the same lock.

use super::compact::Key;
use super::dict::Dict;
use super::hooks::{ChangeHooks, HookList, ShardSide};
use super::value::Entry;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A client's WATCH flag: set when any key it watches changes, checked by EXEC.
#[derive(Debug, Default)]
pub struct WatchFlag(AtomicBool);

impl WatchFlag {
    /// Marks the transaction as doomed.
    pub fn touch(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// True when a watched key changed.
    pub fn is_dirty(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A shard's key and volatile-key counts, published on every insert, removal and TTL change so statistics
/// (INFO keyspace, MEMORY STATS) read them without the shard's lock: a command that holds some shards (EXEC, a
/// script) can then report on all of them without locking out of order.
#[derive(Debug, Default)]
pub struct ShardCounts {
    keys: AtomicUsize,
    volatile: AtomicUsize,
}

impl ShardCounts {
    /// (keys, keys with a TTL) as of the shard's last change.
    pub fn get(&self) -> (usize, usize) {
        (self.keys.load(Ordering::Relaxed), self.volatile.load(Ordering::Relaxed))
    }
}

/// Keys and their entries, plus the list of keys with a TTL (sampled by active expiry).
#[derive(Debug, Default)]
pub struct ShardData {
    pub dict: Dict<Entry>,
    volatile: Vec<u32>,
    /// Where this shard's counts are published; stays with the shard when its data is taken or replaced.
    counts: Arc<ShardCounts>,
}

impl ShardData {
    /// Empty data publishing its counts to `counts`.
    pub fn with_counts(counts: Arc<ShardCounts>) -> ShardData {
        ShardData { counts, ..Default::default() }
    }

    #[inline]
    fn publish(&self) {
        self.counts.keys.store(self.dict.len(), Ordering::Relaxed);
        self.counts.volatile.store(self.volatile.len(), Ordering::Relaxed);
    }

    /// Takes every key out (FLUSHDB), leaving this shard empty and still publishing to its own counts.
    pub fn take(&mut self) -> ShardData {
        let taken = ShardData {
            dict: self.dict.take_all(),
            volatile: std::mem::take(&mut self.volatile),
            ..Default::default()
        };
        self.publish();
        taken
    }

    /// Replaces every key with `other`'s (SWAPDB), keeping this shard's counts.
    pub fn replace(&mut self, other: ShardData) {
        self.dict = other.dict;
        self.volatile = other.volatile;
        self.publish();
    }

    /// Slot of `key`, ignoring expiry.
    #[inline]
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        self.dict.find(hash, key)
    }

    /// The entry in slot `idx`.
    #[inline]
    pub fn entry(&self, idx: u32) -> Option<&Entry> {
        self.dict.slot(idx).map(|s| &s.val)
    }

    /// The entry in slot `idx`, for update. Use [`ShardData::set_expire`] to change its TTL.
    #[inline]
    pub fn entry_mut(&mut self, idx: u32) -> Option<&mut Entry> {
        self.dict.slot_mut(idx).map(|s| &mut s.val)
    }

    /// The key stored in slot `idx`.
    pub fn key(&self, idx: u32) -> Option<&Key> {
        self.dict.slot(idx).map(|s| &s.key)
    }

    /// Inserts a key that is not present.
    pub fn insert(&mut self, hash: u64, key: Bytes, mut entry: Entry) -> u32 {
        let at = entry.expire_at;
        entry.expire_at = 0;
        entry.vpos = u32::MAX;
        let idx = self.dict.insert_new(hash, key, entry);
        if at != 0 {
            self.set_expire(idx, at);
        }
        self.publish();
        idx
    }

    /// Removes slot `idx`.
    pub fn remove(&mut self, idx: u32) -> Option<(Key, Entry)> {
        let at = self.entry(idx)?.expire_at;
        self.set_expire(idx, 0);
        let removed = self.dict.remove_at(idx).map(|s| {
            let mut e = s.val;
            e.expire_at = at;
            (s.key, e)
        });
        self.publish();
        removed
    }

    /// Sets (or with 0 clears) the absolute expiry of slot `idx`, keeping the volatile list in step.
    pub fn set_expire(&mut self, idx: u32, at: u64) {
        let Some(e) = self.dict.slot_mut(idx).map(|s| &mut s.val) else { return };
        let was = e.vpos;
        e.expire_at = at;
        if at != 0 && was == u32::MAX {
            e.vpos = self.volatile.len() as u32;
            self.volatile.push(idx);
        } else if at == 0 && was != u32::MAX {
            e.vpos = u32::MAX;
            let pos = was as usize;
            self.volatile.swap_remove(pos);
            if let Some(&moved) = self.volatile.get(pos) {
                if let Some(m) = self.dict.slot_mut(moved) {
                    m.val.vpos = was;
                }
            }
        }
        self.counts.volatile.store(self.volatile.len(), Ordering::Relaxed);
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// A random key with a TTL.
    pub fn random_volatile(&self, rng: &mut impl rand::Rng) -> Option<u32> {
        if self.volatile.is_empty() {
            return None;
        }
        self.volatile.get(rng.gen_range(0..self.volatile.len())).copied()
    }
}

/// A shard: data plus the WATCH registrations for its keys, and the change hooks with their state. Watchers
/// belong to the database number, not to the data, so SWAPDB swaps `data` and the hooks' `side` state (which
/// describes the data) but not `watchers`.
#[derive(Debug, Default)]
pub struct Shard {
    pub data: ShardData,
    pub watchers: HashMap<Bytes, Vec<Arc<WatchFlag>>>,
    /// Installed by [`Keyspace::add_hooks`](super::Keyspace::add_hooks); called by the change path.
    pub hooks: HookList,
    /// What the hooks keep for this shard.
    pub side: ShardSide,
}

impl Shard {
    /// Installs `hooks` on this shard alone if it is not there yet: hooks whose state only shards holding certain
    /// keys need (key metadata) are added as such a key arrives, so other shards keep the no-hook fast path.
    pub fn ensure_hooks(&mut self, hooks: &Arc<dyn ChangeHooks>) {
        if !self.hooks.contains(hooks) {
            self.hooks.add(hooks.clone());
        }
    }

    /// Marks every client watching `key` dirty.
    #[inline]
    pub fn touch_watchers(&self, key: &[u8]) {
        if self.watchers.is_empty() {
            return;
        }
        if let Some(list) = self.watchers.get(key) {
            for w in list {
                w.touch();
            }
        }
    }

    /// Marks dirty every watcher of a key present in any of `datas` (FLUSHDB, SWAPDB).
    pub fn touch_watchers_of(&self, datas: &[&ShardData]) {
        for (key, list) in &self.watchers {
            let h = super::hash_key(key);
            if datas.iter().any(|d| d.find(h, key).is_some()) {
                list.iter().for_each(|w| w.touch());
            }
        }
    }

    /// Drops `flag`'s registration for `key`.
    pub fn unwatch(&mut self, key: &[u8], flag: &Arc<WatchFlag>) {
        if let Some(list) = self.watchers.get_mut(key) {
            list.retain(|w| !Arc::ptr_eq(w, flag));
            if list.is_empty() {
                self.watchers.remove(key);
            }
        }
    }
}

// The per-key cost of the table (docs/ARCHITECTURE.md, `Dict`): a change here shows in every key's memory.
const _: () = assert!(std::mem::size_of::<Option<super::dict::Slot<Entry>>>() == 88);
const _: () = assert!(std::mem::size_of::<Entry>() == 64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::{StrValue, Value};

    #[test]
    fn volatile_list_follows_expiry_changes() {
        let mut d = ShardData::default();
        let mut idx = Vec::new();
        for i in 0..5 {
            let k = format!("k{i}");
            let mut e = Entry::new(Value::Str(StrValue::Int(i)));
            e.expire_at = 1000 + i as u64;
            idx.push(d.insert(crate::store::hash_key(k.as_bytes()), Bytes::from(k), e));
        }
        assert_eq!(d.volatile_len(), 5);
        d.set_expire(idx[0], 0);
        d.remove(idx[2]);
        assert_eq!(d.volatile_len(), 3);
        for &i in &[idx[1], idx[3], idx[4]] {
            let e = d.entry(i).unwrap();
            assert_eq!(d.volatile[e.vpos as usize], i);
        }
    }
}
