//! `Dict`: the per-shard key table.
//!
//! A slab of entries plus a hash index of slot numbers. A key keeps its slot for as long as it lives, which gives
//! three things a plain `HashMap` cannot: a SCAN cursor that is a slot number (every key present for the whole
//! iteration is returned exactly once, however much the table grows), O(1) random sampling (RANDOMKEY, eviction,
//! active expiry), and stable handles for side indexes (the volatile-key list).

use bytes::Bytes;
use hashbrown::HashTable;

/// One occupied slot.
#[derive(Debug, Clone)]
pub struct Slot<V> {
    pub hash: u64,
    pub key: Bytes,
    pub val: V,
}

/// Slab-backed hash table from key to `V`.
#[derive(Debug, Clone)]
pub struct Dict<V> {
    index: HashTable<u32>,
    slots: Vec<Option<Slot<V>>>,
    free: Vec<u32>,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict { index: HashTable::new(), slots: Vec::new(), free: Vec::new() }
    }
}

impl<V> Dict<V> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of slots (occupied or free); SCAN cursors range over `0..slot_count()`.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Finds the slot holding `key` (whose hash is `hash`).
    #[inline]
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| matches!(slots.get(i as usize), Some(Some(s)) if s.hash == hash && s.key[..] == *key))
            .copied()
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
    pub fn insert_new(&mut self, hash: u64, key: Bytes, val: V) -> u32 {
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(Slot { hash, key, val });
                i
            }
            None => {
                self.slots.push(Some(Slot { hash, key, val }));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, idx, |&i| slots[i as usize].as_ref().map_or(0, |s| s.hash));
        idx
    }

    /// Removes slot `idx`, returning what it held.
    pub fn remove_at(&mut self, idx: u32) -> Option<Slot<V>> {
        let slot = self.slots.get_mut(idx as usize)?.take()?;
        if let Ok(e) = self.index.find_entry(slot.hash, |&i| i == idx) {
            e.remove();
        }
        if idx as usize + 1 == self.slots.len() {
            self.slots.pop();
        } else {
            self.free.push(idx);
        }
        if self.index.is_empty() {
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
        self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.slots.capacity() * std::mem::size_of::<Option<Slot<V>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn slots_are_stable_while_growing() {
        let mut d: Dict<usize> = Dict::default();
        let first = d.insert_new(h("k0"), Bytes::from("k0"), 0);
        for i in 1..10_000 {
            let k = format!("k{i}");
            d.insert_new(h(&k), Bytes::from(k), i);
        }
        assert_eq!(d.slot(first).unwrap().key, Bytes::from("k0"));
        assert_eq!(d.iter().count(), 10_000);
    }
}
