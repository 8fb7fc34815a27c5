//! `Dict`: the per-shard key table.
//!
//! A slab of entries plus a hash index of slot numbers. A key keeps its slot for as long as it lives, which gives
//! three things a plain `HashMap` cannot: a SCAN cursor that is a slot number (every key present for the whole
//! iteration is returned exactly once, however much the table grows), O(1) random sampling (RANDOMKEY, eviction,
//! active expiry), and stable handles for side indexes (the volatile-key list).

use super::compact::Key;
use super::hash_key;
use hashbrown::HashTable;

/// One occupied slot. The key's hash is not kept: the index's control bytes already filter on 7 bits of it, and
/// only a resize or a removal needs it again (recomputed, as Redis does), so 8 bytes per key are saved.
#[derive(Debug, Clone)]
pub struct Slot<V> {
    pub key: Key,
    pub val: V,
}

/// Slab-backed hash table from key to `V`.
#[derive(Debug, Clone)]
pub struct Dict<V> {
    index: Index,
    slots: Slab<Slot<V>>,
    free: Vec<u32>,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict { index: Index::Narrow(HashTable::new()), slots: Slab::default(), free: Vec::new() }
    }
}

/// Slot numbers by key hash. hashbrown keeps a table at most 7/8 full and doubles it, so an index is between 44%
/// and 88% full (a keyspace of 1M keys in 16 shards sits at 48%): its buckets cost more than its keys, and each is
/// a slot number plus a control byte. Slot numbers take 3 bytes while the table has fewer than [`NARROW_SLOTS`]
/// slots (16.7M keys in one shard or one hash), 4 bytes beyond, switched once when the slab reaches it: 4 bytes a
/// bucket instead of 5.
#[derive(Debug, Clone)]
enum Index {
    Narrow(HashTable<[u8; 3]>),
    Wide(HashTable<u32>),
}

#[cfg(not(test))]
const NARROW_SLOTS: usize = 1 << 24;
/// Small in unit tests, so the switch to wide slot numbers is exercised.
#[cfg(test)]
const NARROW_SLOTS: usize = 1 << 10;

#[inline]
fn narrow(i: u32) -> [u8; 3] {
    let [a, b, c, _] = i.to_le_bytes();
    [a, b, c]
}

#[inline]
fn wide(n: [u8; 3]) -> u32 {
    u32::from_le_bytes([n[0], n[1], n[2], 0])
}

impl Index {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Index::Narrow(t) => t.len(),
            Index::Wide(t) => t.len(),
        }
    }

    /// The slot number for which `eq` holds, among those filed under `hash`.
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(u32) -> bool) -> Option<u32> {
        match self {
            Index::Narrow(t) => t.find(hash, |&n| eq(wide(n))).map(|&n| wide(n)),
            Index::Wide(t) => t.find(hash, |&i| eq(i)).copied(),
        }
    }

    /// Files slot `idx` under `hash`; `rehash` gives a filed slot's hash when the table grows.
    fn insert(&mut self, hash: u64, idx: u32, rehash: impl Fn(u32) -> u64) {
        if let Index::Narrow(t) = self {
            if idx as usize >= NARROW_SLOTS {
                let mut w = HashTable::with_capacity(t.len() + 1);
                for &n in t.iter() {
                    w.insert_unique(rehash(wide(n)), wide(n), |&i| rehash(i));
                }
                *self = Index::Wide(w);
            }
        }
        match self {
            Index::Narrow(t) => {
                t.insert_unique(hash, narrow(idx), |&n| rehash(wide(n)));
            }
            Index::Wide(t) => {
                t.insert_unique(hash, idx, |&i| rehash(i));
            }
        }
    }

    /// Unfiles slot `idx` (filed under `hash`).
    fn remove(&mut self, hash: u64, idx: u32) {
        match self {
            Index::Narrow(t) => {
                if let Ok(e) = t.find_entry(hash, |&n| wide(n) == idx) {
                    e.remove();
                }
            }
            Index::Wide(t) => {
                if let Ok(e) = t.find_entry(hash, |&i| i == idx) {
                    e.remove();
                }
            }
        }
    }

    /// Bytes the buckets take (slot numbers and control bytes).
    fn bytes(&self) -> usize {
        match self {
            Index::Narrow(t) => t.capacity() * 4,
            Index::Wide(t) => t.capacity() * 5,
        }
    }
}

/// Bytes per slab chunk at most: jemalloc's largest small size class. Larger allocations each carry a page of
/// padding (its cache-oblivious offset), 6% on a 64 KiB chunk; small ones are packed in slabs without it.
const CHUNK_BYTES: usize = 14 * 1024;

/// The slots, in chunks of [`CHUNK_BYTES`] rather than one vector. A vector that doubles holds on average a
/// third more than it uses, lands between jemalloc's large size classes (5.5 MiB of slots took a 6 MiB class),
/// and copies the whole table, under the shard's lock, each time it grows. Chunks waste at most one partly
/// filled chunk and never move a slot. The first chunk grows like a vector up to full size, so small tables
/// (a hash's or set's fields) stay small.
#[derive(Debug, Clone)]
struct Slab<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Slab<T> {
    /// Slots per chunk.
    const PER: usize = {
        let size = std::mem::size_of::<Option<T>>();
        if size == 0 || size >= CHUNK_BYTES {
            1
        } else {
            CHUNK_BYTES / size
        }
    };

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn get(&self, i: usize) -> Option<&Option<T>> {
        self.chunks.get(i / Self::PER)?.get(i % Self::PER)
    }

    #[inline]
    fn get_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        self.chunks.get_mut(i / Self::PER)?.get_mut(i % Self::PER)
    }

    fn push(&mut self, v: Option<T>) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < Self::PER => {
                if last.len() == last.capacity() {
                    let want = (last.capacity() * 2).clamp(4, Self::PER);
                    last.reserve_exact(want - last.len());
                }
                last.push(v);
            }
            _ => {
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() { 4.min(Self::PER) } else { Self::PER });
                chunk.push(v);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Drops the last slot.
    fn pop(&mut self) {
        if let Some(last) = self.chunks.last_mut() {
            last.pop();
            self.len -= 1;
            if last.is_empty() {
                self.chunks.pop();
            }
        }
    }

    fn clear(&mut self) {
        self.chunks = Vec::new();
        self.len = 0;
    }

    fn capacity(&self) -> usize {
        self.chunks.iter().map(|c| c.capacity()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = &Option<T>> {
        self.chunks.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for Slab<T> {
    type Output = Option<T>;
    #[inline]
    fn index(&self, i: usize) -> &Option<T> {
        &self.chunks[i / Self::PER][i % Self::PER]
    }
}

impl<T> std::ops::IndexMut<usize> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Option<T> {
        &mut self.chunks[i / Self::PER][i % Self::PER]
    }
}

impl<V> Dict<V> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Number of slots (occupied or free); SCAN cursors range over `0..slot_count()`.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Finds the slot holding `key` (whose hash is `hash`).
    #[inline]
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(hash, |i| matches!(slots.get(i as usize), Some(Some(s)) if s.key[..] == *key))
    }

    /// The slot `idx`, if occupied.
    #[inline]
    pub fn slot(&self, idx: u32) -> Option<&Slot<V>> {
        self.slots.get(idx as usize).and_then(|s| s.as_ref())
    }

    /// The slot `idx` for update, if occupied.
    #[inline]
    pub fn slot_mut(&mut self, idx: u32) -> Option<&mut Slot<V>> {
        self.slots.get_mut(idx as usize).and_then(|s| s.as_mut())
    }

    /// Inserts a key known to be absent; returns its slot.
    pub fn insert_new(&mut self, hash: u64, key: impl Into<Key>, val: V) -> u32 {
        let key = key.into();
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(Slot { key, val });
                i
            }
            None => {
                self.slots.push(Some(Slot { key, val }));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert(hash, idx, |i| slots[i as usize].as_ref().map_or(0, |s| hash_key(&s.key)));
        idx
    }

    /// Removes slot `idx`, returning what it held.
    pub fn remove_at(&mut self, idx: u32) -> Option<Slot<V>> {
        let slot = self.slots.get_mut(idx as usize)?.take()?;
        self.index.remove(hash_key(&slot.key), idx);
        if idx as usize + 1 == self.slots.len() {
            self.slots.pop();
        } else {
            self.free.push(idx);
        }
        if self.index.len() == 0 {
            self.slots.clear();
            self.free.clear();
        }
        Some(slot)
    }

    /// Removes every key, returning the old contents (so the caller can drop them elsewhere).
    pub fn take_all(&mut self) -> Dict<V> {
        std::mem::take(self)
    }

    /// A uniformly chosen occupied slot (nearly: falls back to the next occupied slot after a few misses).
    pub fn random_slot(&self, rng: &mut impl rand::Rng) -> Option<u32> {
        if self.is_empty() {
            return None;
        }
        let n = self.slots.len();
        for _ in 0..8 {
            let i = rng.gen_range(0..n);
            if self.slots[i].is_some() {
                return Some(i as u32);
            }
        }
        let start = rng.gen_range(0..n);
        (start..n).chain(0..start).find(|&i| self.slots[i].is_some()).map(|i| i as u32)
    }

    /// Iterates over occupied slots with their numbers.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Slot<V>)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
    }

    /// Approximate bytes of table overhead (index and slab), for memory reporting.
    pub fn overhead_bytes(&self) -> usize {
        self.index.bytes() + self.slots.capacity() * std::mem::size_of::<Option<Slot<V>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn h(k: &str) -> u64 {
        crate::store::hash_key(k.as_bytes())
    }

    #[test]
    fn insert_find_remove_reuse() {
        let mut d: Dict<u32> = Dict::default();
        let a = d.insert_new(h("a"), Bytes::from("a"), 1);
        let b = d.insert_new(h("b"), Bytes::from("b"), 2);
        assert_eq!(d.find(h("a"), b"a"), Some(a));
        assert_eq!(d.remove_at(a).unwrap().val, 1);
        assert_eq!(d.find(h("a"), b"a"), None);
        let c = d.insert_new(h("c"), Bytes::from("c"), 3);
        assert_eq!(c, a, "freed slot is reused");
        assert_eq!(d.find(h("b"), b"b"), Some(b));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn slots_survive_removals_across_chunk_boundaries() {
        let mut d: Dict<usize> = Dict::default();
        let per = Slab::<Slot<usize>>::PER;
        let n = per * 3 + 7;
        let idx: Vec<u32> = (0..n).map(|i| d.insert_new(h(&format!("k{i}")), format!("k{i}").as_bytes(), i)).collect();
        assert_eq!(d.slot_count(), n);
        // Remove from the end (the slab shrinks, dropping emptied chunks) and every third key elsewhere.
        for i in (per * 2..n).rev() {
            assert_eq!(d.remove_at(idx[i]).map(|s| s.val), Some(i));
        }
        assert_eq!(d.slot_count(), per * 2);
        for i in (0..per * 2).step_by(3) {
            assert_eq!(d.remove_at(idx[i]).map(|s| s.val), Some(i));
        }
        for i in 0..per * 2 {
            let k = format!("k{i}");
            assert_eq!(d.find(h(&k), k.as_bytes()).and_then(|s| d.slot(s)).map(|s| s.val), (i % 3 != 0).then_some(i));
        }
        // Freed slots are reused before the slab grows again.
        let before = d.slot_count();
        let again = d.insert_new(h("again"), &b"again"[..], 0);
        assert!((again as usize) < before && d.slot_count() == before);
        assert_eq!(d.iter().count(), d.len());
        let all: Vec<u32> = d.iter().map(|(i, _)| i).collect();
        for i in all {
            d.remove_at(i);
        }
        assert!(d.is_empty() && d.slot_count() == 0);
    }

    #[test]
    fn slot_numbers_widen_past_three_bytes_and_every_key_stays_found() {
        let mut d: Dict<usize> = Dict::default();
        let n = NARROW_SLOTS + 500;
        for i in 0..n {
            let k = format!("k{i}");
            assert_eq!(d.insert_new(h(&k), k.as_bytes(), i) as usize, i);
            assert_eq!(matches!(d.index, Index::Wide(_)), i >= NARROW_SLOTS, "{i}");
        }
        for i in (0..n).step_by(7) {
            let k = format!("k{i}");
            let idx = d.find(h(&k), k.as_bytes()).expect("found");
            assert_eq!(d.remove_at(idx).map(|s| s.val), Some(i));
            assert_eq!(d.find(h(&k), k.as_bytes()), None);
        }
        for i in 0..n {
            let k = format!("k{i}");
            assert_eq!(d.find(h(&k), k.as_bytes()).map(|s| s as usize), (i % 7 != 0).then_some(i));
        }
        assert_eq!(d.iter().count(), d.len());
    }

    #[test]
    fn slots_are_stable_while_growing() {
        let mut d: Dict<usize> = Dict::default();
        let first = d.insert_new(h("k0"), Bytes::from("k0"), 0);
        for i in 1..10_000 {
            let k = format!("k{i}");
            d.insert_new(h(&k), Bytes::from(k), i);
        }
        assert_eq!(d.slot(first).unwrap().key, Key::from("k0"));
        assert_eq!(d.iter().count(), 10_000);
    }
}
