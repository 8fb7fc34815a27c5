//! A warm restart's state (`warm-restart yes`, docs/PERSISTENCE.md "Warm restart").
//!
//! The snapshot loads in two passes over the file. The first, while clients get `-LOADING`, loads the keys that
//! were hot when the snapshot was saved (idle for less than `compression-cold-seconds`) and only notes the others'
//! names here. Clients are then served while a background pass loads the rest, straight into the compressed tier.
//! Meanwhile the gate answers `-LOADING` to any command that names a pending key or whose keys it cannot know
//! (keyless commands, scripts), so no command ever sees or changes a key the snapshot has not delivered yet, and no
//! write can be overwritten by the second pass.
//!
//! Pending keys are held as 64-bit hashes of their names, whatever their database: 8 bytes per key, and a
//! collision, or the same name in two databases, only keeps a command waiting a little longer.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

const STRIPES: usize = 16;

#[derive(Debug)]
pub struct Warming {
    active: AtomicBool,
    /// Pending keys' hashes, with how many databases still wait for a key of that name.
    pending: [Mutex<HashMap<u64, u32>>; STRIPES],
    /// Keys the first pass loaded.
    pub hot_keys: AtomicU64,
    /// Keys the second pass has to load, and has loaded so far.
    pub keys_total: AtomicU64,
    pub keys_loaded: AtomicU64,
    /// When the first pass began (unix ms).
    pub started_ms: AtomicU64,
    /// The first pass's hot threshold (seconds idle), which the second must use too whatever CONFIG SET does
    /// meanwhile: a key both passes took for hot would never be loaded.
    pub hot_secs: AtomicU32,
    /// How long the last warm restart took, from the start of the first pass to the end of the second.
    pub last_time_ms: AtomicU64,
}

impl Default for Warming {
    fn default() -> Warming {
        Warming {
            active: AtomicBool::new(false),
            pending: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            hot_keys: AtomicU64::new(0),
            keys_total: AtomicU64::new(0),
            keys_loaded: AtomicU64::new(0),
            started_ms: AtomicU64::new(0),
            hot_secs: AtomicU32::new(0),
            last_time_ms: AtomicU64::new(0),
        }
    }
}

impl Warming {
    /// True from the start of a first pass that deferred keys until the second pass ends.
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Relaxed)
    }

    pub fn set_active(&self, on: bool) {
        self.active.store(on, Relaxed);
    }

    fn stripe(&self, hash: u64) -> &Mutex<HashMap<u64, u32>> {
        // The low bits pick the shard; the top ones spread the stripes independently of it.
        &self.pending[(hash >> 58) as usize % STRIPES]
    }

    /// Notes a key the second pass will load.
    pub fn defer(&self, hash: u64) {
        *self.stripe(hash).lock().entry(hash).or_insert(0) += 1;
        self.keys_total.fetch_add(1, Relaxed);
    }

    /// The second pass has dealt with a deferred key (loaded it, or found it expired).
    pub fn delivered(&self, hash: u64) {
        let mut stripe = self.stripe(hash).lock();
        if let Some(n) = stripe.get_mut(&hash) {
            *n -= 1;
            if *n == 0 {
                stripe.remove(&hash);
            }
        }
        drop(stripe);
        self.keys_loaded.fetch_add(1, Relaxed);
    }

    /// Whether a key of this name waits for the second pass, in any database.
    pub fn is_pending(&self, key: &[u8]) -> bool {
        let hash = crate::store::hash_key(key);
        self.stripe(hash).lock().contains_key(&hash)
    }

    /// Ends warming: every pending key is released (after the second pass, or when it failed).
    pub fn finish(&self) {
        for s in &self.pending {
            *s.lock() = HashMap::new();
        }
        let started = self.started_ms.load(Relaxed);
        self.last_time_ms.store(crate::util::clock::unix_ms().saturating_sub(started), Relaxed);
        self.active.store(false, Relaxed);
    }

    /// Percent of the second pass done.
    pub fn loaded_perc(&self) -> f64 {
        let total = self.keys_total.load(Relaxed);
        if total == 0 {
            return 100.0;
        }
        self.keys_loaded.load(Relaxed) as f64 * 100.0 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_pending_in_two_databases_waits_for_both() {
        let w = Warming::default();
        let h = crate::store::hash_key(b"k");
        w.defer(h);
        w.defer(h);
        assert!(w.is_pending(b"k"));
        assert!(!w.is_pending(b"other"));
        w.delivered(h);
        assert!(w.is_pending(b"k"));
        w.delivered(h);
        assert!(!w.is_pending(b"k"));
        assert_eq!((w.keys_total.load(Relaxed), w.keys_loaded.load(Relaxed)), (2, 2));
        assert_eq!(w.loaded_perc(), 100.0);
    }
}
