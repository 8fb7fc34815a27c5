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

/// Keys and their entries, plus the expiry times of the keys that have one.
///
/// Expiry lives beside the table, as Redis keeps its `expires` dict, so a key without a TTL pays nothing for it
/// (the slot would otherwise carry 16 bytes for every key: the time and a position in the volatile list).
#[derive(Debug, Default)]
pub struct ShardData {
    pub dict: Dict<Entry>,
    /// Slot -> (absolute expiry in unix ms, position in `volatile`).
    expires: hashbrown::HashMap<u32, (u64, u32)>,
    /// The slots of `expires`, for sampling (active expiry, volatile eviction).
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
            expires: std::mem::take(&mut self.expires),
            volatile: std::mem::take(&mut self.volatile),
            ..Default::default()
        };
        self.publish();
        taken
    }

    /// Replaces every key with `other`'s (SWAPDB), keeping this shard's counts.
    pub fn replace(&mut self, other: ShardData) {
        self.dict = other.dict;
        self.expires = other.expires;
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

    /// Absolute expiry of slot `idx` in unix ms; 0 when it has none.
    #[inline]
    pub fn expire_at(&self, idx: u32) -> u64 {
        if self.expires.is_empty() {
            return 0;
        }
        self.expires.get(&idx).map_or(0, |e| e.0)
    }

    /// Inserts a key that is not present, expiring at `at` (0: never).
    pub fn insert(&mut self, hash: u64, key: impl Into<Key>, entry: Entry, at: u64) -> u32 {
        let idx = self.dict.insert_new(hash, key, entry);
        if at != 0 {
            self.set_expire(idx, at);
        }
        self.publish();
        idx
    }

    /// Removes slot `idx`, returning its key, entry and expiry.
    pub fn remove(&mut self, idx: u32) -> Option<(Key, Entry, u64)> {
        self.dict.slot(idx)?;
        let at = self.expire_at(idx);
        self.set_expire(idx, 0);
        let removed = self.dict.remove_at(idx).map(|s| (s.key, s.val, at));
        self.publish();
        removed
    }

    /// Sets (or with 0 clears) the absolute expiry of slot `idx`, keeping the volatile list in step.
    pub fn set_expire(&mut self, idx: u32, at: u64) {
        if self.dict.slot(idx).is_none() {
            return;
        }
        if at != 0 {
            let pos = self.volatile.len() as u32;
            match self.expires.entry(idx) {
                hashbrown::hash_map::Entry::Occupied(mut o) => o.get_mut().0 = at,
                hashbrown::hash_map::Entry::Vacant(v) => {
                    v.insert((at, pos));
                    self.volatile.push(idx);
                }
            }
        } else if let Some((_, pos)) = self.expires.remove(&idx) {
            let pos = pos as usize;
            self.volatile.swap_remove(pos);
            if let Some(&moved) = self.volatile.get(pos) {
                if let Some(m) = self.expires.get_mut(&moved) {
                    m.1 = pos as u32;
                }
            }
            if self.expires.is_empty() {
                // A table that held many volatile keys gives its memory back once they are gone.
                self.expires = hashbrown::HashMap::new();
                self.volatile = Vec::new();
            }
        }
        self.counts.volatile.store(self.volatile.len(), Ordering::Relaxed);
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Bytes the expiry side tables hold (buckets and control bytes of `expires`, the volatile list), which only
    /// keys with a TTL pay for.
    pub fn expiry_overhead_bytes(&self) -> usize {
        self.expires.capacity() * (std::mem::size_of::<(u32, (u64, u32))>() + 1)
            + self.volatile.capacity() * std::mem::size_of::<u32>()
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
const _: () = assert!(std::mem::size_of::<Option<super::dict::Slot<Entry>>>() == 48);
const _: () = assert!(std::mem::size_of::<Entry>() == 24);

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
            let e = Entry::new(Value::Str(StrValue::Int(i)));
            idx.push(d.insert(crate::store::hash_key(k.as_bytes()), k.as_bytes(), e, 1000 + i as u64));
        }
        assert_eq!(d.volatile_len(), 5);
        d.set_expire(idx[0], 0);
        d.remove(idx[2]);
        assert_eq!(d.volatile_len(), 3);
        for &i in &[idx[1], idx[3], idx[4]] {
            let (at, pos) = d.expires[&i];
            assert_eq!((d.volatile[pos as usize], at, d.expire_at(i)), (i, at, 1000 + i as u64));
        }
        assert_eq!(d.expire_at(idx[0]), 0);
        d.set_expire(idx[1], 5);
        assert_eq!((d.expire_at(idx[1]), d.volatile_len()), (5, 3), "a new time keeps the key's place");
        for &i in &[idx[1], idx[3], idx[4]] {
            d.set_expire(i, 0);
        }
        assert_eq!(d.volatile_len(), 0);
        assert!(d.expires.capacity() == 0, "an emptied expiry table is released");
    }
}
