//! `maxmemory-policy allkeys-tinylfu`: W-TinyLFU (Einziger, Friedman and Manes, as Caffeine implements it)
//! adapted to a server that evicts by sampling.
//!
//! - A frequency sketch counts every lookup of a key, found or not (a count-min sketch of 4-bit counters, four
//!   per key, halved every `10 x capacity` increments so old popularity fades). Counting misses is what makes it
//!   more than LFU: a key that keeps being requested is known to be popular before it is cached.
//! - New keys enter an admission window, a FIFO of the newest 1% of the keys. Everything else is the main space.
//! - Eviction takes the main space's victim from the sampled eviction pool, scored by sketch frequency (then idle
//!   time). When the window is over its size, its oldest key is the candidate: it is admitted into the main space
//!   (the main victim is evicted instead) only if the sketch counts it more often than the victim; otherwise the
//!   candidate itself is evicted. So one-off keys pass through the window and leave without pushing out keys
//!   that are requested again and again, and a burst of new keys cannot flush the cache.
//!
//! Caffeine's main space is a segmented LRU; here it is the sampled pool ordered by frequency, like the LFU
//! policies. The sketch and window exist only while the policy is selected.

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Counters sized for at least this many keys.
const MIN_CAPACITY: usize = 1 << 14;
/// The window's share of the keys, in percent (Caffeine's default).
const WINDOW_PERCENT: usize = 1;

/// A count-min sketch of 4-bit counters, sixteen per word.
#[derive(Debug)]
pub struct FrequencySketch {
    table: Box<[AtomicU64]>,
    mask: usize,
    additions: AtomicU64,
    sample_size: u64,
    capacity: usize,
}

const SEEDS: [u64; 4] = [0xc3a5_c85c_97cb_3127, 0xb492_b66f_be98_f273, 0x9ae1_6a3b_2f90_404f, 0xcbf2_9ce4_8422_2325];
const HALF: u64 = 0x7777_7777_7777_7777;

impl FrequencySketch {
    /// A sketch for about `capacity` keys.
    pub fn new(capacity: usize) -> FrequencySketch {
        let capacity = capacity.max(MIN_CAPACITY);
        let words = capacity.next_power_of_two();
        FrequencySketch {
            table: (0..words).map(|_| AtomicU64::new(0)).collect(),
            mask: words - 1,
            additions: AtomicU64::new(0),
            sample_size: 10 * capacity as u64,
            capacity,
        }
    }

    /// The keys it was sized for.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of counters.
    pub fn bytes(&self) -> usize {
        self.table.len() * 8
    }

    fn slot(&self, hash: u64, row: usize) -> (usize, u32) {
        let h = (hash ^ SEEDS[row]).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = h ^ (h >> 29);
        ((h as usize) & self.mask, ((h >> 60) as u32) * 4)
    }

    /// Counts one request of the key with this hash.
    pub fn increment(&self, hash: u64) {
        let mut added = false;
        for row in 0..SEEDS.len() {
            let (i, shift) = self.slot(hash, row);
            let word = &self.table[i];
            let bumped = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                ((w >> shift) & 0xF != 0xF).then(|| w + (1 << shift))
            });
            added |= bumped.is_ok();
        }
        if added && self.additions.fetch_add(1, Ordering::Relaxed) + 1 >= self.sample_size {
            self.reset();
        }
    }

    /// The estimated requests of the key with this hash since the counters were last halved (0 to 15).
    pub fn frequency(&self, hash: u64) -> u8 {
        (0..SEEDS.len())
            .map(|row| {
                let (i, shift) = self.slot(hash, row);
                ((self.table[i].load(Ordering::Relaxed) >> shift) & 0xF) as u8
            })
            .min()
            .unwrap_or(0)
    }

    /// Halves every counter (the aging step). Increments racing with it may be lost: the sketch is an estimate.
    fn reset(&self) {
        self.additions.store(self.sample_size / 2, Ordering::Relaxed);
        for w in self.table.iter() {
            let _ = w.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some((v >> 1) & HALF));
        }
    }
}

/// The window's share of `keys`.
fn window_share(keys: usize) -> usize {
    (keys * WINDOW_PERCENT / 100).max(1)
}

/// A key in the admission window.
#[derive(Debug, Clone)]
pub struct WindowKey {
    pub db: usize,
    pub hash: u64,
    pub key: Bytes,
}

#[derive(Debug, Default)]
struct Window {
    order: VecDeque<WindowKey>,
    /// Hashes of the keys in `order`, so sampling the main space can pass over window keys.
    members: HashSet<(usize, u64)>,
}

/// The policy's state: the sketch and the window, present while the policy is selected.
#[derive(Debug, Default)]
pub struct TinyLfu {
    sketch: RwLock<Option<Arc<FrequencySketch>>>,
    window: Mutex<Window>,
    /// The window's share of the keys as of the last cron tick.
    window_cap: AtomicUsize,
}

impl TinyLfu {
    /// Creates or drops the state as the policy is selected or not, and regrows the sketch when the keyspace has
    /// outgrown it (the server cron calls this).
    pub fn maintain(&self, active: bool, keys: usize) {
        self.window_cap.store(window_share(keys), Ordering::Relaxed);
        let current = self.sketch.read().as_ref().map(|s| s.capacity());
        match (active, current) {
            (false, Some(_)) => {
                *self.sketch.write() = None;
                *self.window.lock() = Window::default();
            }
            (true, None) => *self.sketch.write() = Some(Arc::new(FrequencySketch::new(keys * 2))),
            (true, Some(c)) if keys > c => *self.sketch.write() = Some(Arc::new(FrequencySketch::new(keys * 2))),
            _ => {}
        }
    }

    /// Seeds the counters from the keys' LFU counters (`freq_of`, decayed to now), so that after a restart
    /// admission starts from the popularity the keys had instead of from nothing: each key counts the accesses
    /// its counter stands for (`lfu::accesses`), capped at the sketch's 15.
    pub fn seed(&self, ks: &super::Keyspace, keys: usize, log_factor: u64, freq_of: impl Fn(&super::Entry) -> u8) {
        self.maintain(true, keys);
        let Some(sketch) = self.sketch() else { return };
        for gid in 0..ks.total_shards() {
            let shard = ks.lock_gid(gid);
            let dict = &shard.data.dict;
            for idx in 0..dict.slot_count() {
                let Some(slot) = dict.slot(idx as u32) else { continue };
                seed_one(&sketch, super::hash_key(&slot.key), freq_of(&slot.val), log_factor);
            }
        }
    }

    /// Seeds one more key, as [`TinyLfu::seed`] does each: for a key loaded after the seeding (a warm restart's
    /// second pass).
    pub fn seed_key(&self, hash: u64, freq: u8, log_factor: u64) {
        if let Some(sketch) = self.sketch() {
            seed_one(&sketch, hash, freq, log_factor);
        }
    }

    /// The sketch, while the policy is selected.
    pub fn sketch(&self) -> Option<Arc<FrequencySketch>> {
        self.sketch.read().clone()
    }

    /// Counts a lookup of the key with this hash.
    #[inline]
    pub fn record(&self, hash: u64) {
        if let Some(s) = self.sketch.read().as_ref() {
            s.increment(hash);
        }
    }

    /// The sketch's estimate for the key with this hash.
    pub fn frequency(&self, hash: u64) -> u8 {
        self.sketch.read().as_ref().map_or(0, |s| s.frequency(hash))
    }

    /// A new key enters the window. While nothing is evicted the window's oldest keys move on to the main space
    /// untested once it holds twice its share (under eviction, each eviction tests one of them).
    pub fn admit_to_window(&self, db: usize, hash: u64, key: &[u8]) {
        let mut w = self.window.lock();
        if w.members.insert((db, hash)) {
            w.order.push_back(WindowKey { db, hash, key: Bytes::copy_from_slice(key) });
        }
        let limit = 2 * self.window_cap.load(Ordering::Relaxed).max(1);
        while w.order.len() > limit {
            if let Some(old) = w.order.pop_front() {
                w.members.remove(&(old.db, old.hash));
            }
        }
    }

    /// True when the key with this hash is in the window (not a main-space victim).
    pub fn in_window(&self, db: usize, hash: u64) -> bool {
        self.window.lock().members.contains(&(db, hash))
    }

    /// The window's oldest key when the window holds more than its share of `keys`: the admission candidate.
    pub fn take_candidate(&self, keys: usize) -> Option<WindowKey> {
        let mut w = self.window.lock();
        if w.order.len() <= window_share(keys) {
            return None;
        }
        let c = w.order.pop_front()?;
        w.members.remove(&(c.db, c.hash));
        Some(c)
    }

    /// Keys in the window and bytes of counters, for INFO.
    pub fn sizes(&self) -> (usize, usize) {
        let bytes = self.sketch.read().as_ref().map_or(0, |s| s.bytes());
        (self.window.lock().order.len(), bytes)
    }
}

fn seed_one(sketch: &FrequencySketch, hash: u64, freq: u8, log_factor: u64) {
    for _ in 0..super::lfu::accesses(freq, log_factor).min(15) {
        sketch.increment(hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_at_fifteen_and_halve_with_age() {
        let s = FrequencySketch::new(1000);
        for _ in 0..20 {
            s.increment(42);
        }
        assert_eq!(s.frequency(42), 15);
        assert!(s.frequency(7) <= 1);
        for n in 0..s.sample_size {
            s.increment(1_000_000 + n);
        }
        assert!(s.frequency(42) <= 9, "{}", s.frequency(42));
    }

    #[test]
    fn the_window_hands_out_its_oldest_key_once_over_its_share() {
        let t = TinyLfu::default();
        t.maintain(true, 300);
        for n in 0..10u64 {
            t.admit_to_window(0, n, format!("k{n}").as_bytes());
        }
        // Twice the share of 300 keys (3) is kept; the older ones moved on to the main space.
        assert_eq!(t.sizes().0, 6);
        assert!(!t.in_window(0, 3) && t.in_window(0, 4));
        assert!(t.take_candidate(600).is_none());
        let c = t.take_candidate(100).expect("over its share of 100 keys");
        assert_eq!(&c.key[..], b"k4");
        assert!(!t.in_window(0, 4));
        t.maintain(false, 0);
        assert_eq!(t.sizes(), (0, 0));
    }

    #[test]
    fn seeding_from_lfu_counters_ranks_keys_as_they_were() {
        let ks = crate::store::Keyspace::new(1, 2);
        for (i, freq) in [5u8, 6, 7, 20].into_iter().enumerate() {
            let key = format!("k{i}");
            let mut e = crate::store::Entry::new(crate::store::Value::Str(crate::store::StrValue::Int(1)));
            e.freq = freq;
            let hash = crate::store::hash_key(key.as_bytes());
            ks.lock(0, ks.shard_of(hash)).data.insert(hash, key.as_bytes(), e, 0);
        }
        let t = TinyLfu::default();
        t.seed(&ks, 4, 10, |e| e.freq);
        let f = |k: &str| t.frequency(crate::store::hash_key(k.as_bytes()));
        // 5 is a new key's counter (no access), 6 about one access, 7 about 12, 20 more than the sketch counts.
        assert_eq!((f("k0"), f("k1"), f("k2"), f("k3")), (0, 1, 12, 15));
    }
}
