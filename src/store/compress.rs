//! The compressed cold tier: string values nobody has read for `compression-cold-seconds` are LZ4-compressed
//! against a dictionary sampled from the keyspace's own values.
//!
//! Plain per-value LZ4 saves little on small documents because each value starts with an empty window; a
//! dictionary of typical content gives every value a primed window (lz4_flex's block API takes one). The
//! dictionary is versioned: each compressed value holds an `Arc` to the one it was made with, so old dictionaries
//! live exactly as long as values need them, and a new one is built when the data drifts (the recent compression
//! ratio falls well behind the ratio measured when the dictionary was made). A value is kept compressed only when
//! that saves at least an eighth; others are marked incompressible and not retried. Reads decompress into the
//! reply; a value read again while still warm is stored raw again.

use bytes::Bytes;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Largest dictionary LZ4 can use (its window).
pub const DICT_MAX: usize = 64 * 1024;

/// A compression dictionary.
#[derive(Debug)]
pub struct Dictionary {
    pub id: u32,
    pub bytes: Vec<u8>,
    /// The totals of the tier that built it: values compressed with it count there.
    pub totals: Arc<Totals>,
}

/// A compressed string value. Every one alive is counted in its dictionary's [`Totals`] (made, cloned and
/// dropped), so INFO reads the compressed tier's size without walking the keyspace.
#[derive(Debug)]
pub struct Compressed {
    data: Box<[u8]>,
    len: u32,
    dict: Arc<Dictionary>,
}

/// Running totals of the compressed values alive: how many, their compressed bytes, and the bytes they save.
#[derive(Debug, Default)]
pub struct Totals {
    values: AtomicU64,
    stored: AtomicU64,
    saved: AtomicU64,
}

impl Totals {
    fn change(&self, c: &Compressed, add: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let stored = c.data.len() as u64;
        let saved = (c.len as u64).saturating_sub(stored);
        if add {
            self.values.fetch_add(1, Relaxed);
            self.stored.fetch_add(stored, Relaxed);
            self.saved.fetch_add(saved, Relaxed);
        } else {
            self.values.fetch_sub(1, Relaxed);
            self.stored.fetch_sub(stored, Relaxed);
            self.saved.fetch_sub(saved, Relaxed);
        }
    }

    /// (values, their compressed bytes, bytes saved), for INFO memory.
    pub fn get(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.values.load(Relaxed), self.stored.load(Relaxed), self.saved.load(Relaxed))
    }
}

impl Compressed {
    fn counted(data: Box<[u8]>, len: u32, dict: Arc<Dictionary>) -> Compressed {
        let c = Compressed { data, len, dict };
        c.dict.totals.change(&c, true);
        c
    }
}

impl Clone for Compressed {
    fn clone(&self) -> Self {
        Compressed::counted(self.data.clone(), self.len, self.dict.clone())
    }
}

impl Drop for Compressed {
    fn drop(&mut self) {
        self.dict.totals.change(self, false);
    }
}

impl PartialEq for Compressed {
    fn eq(&self, other: &Self) -> bool {
        self.decompress() == other.decompress()
    }
}

impl Compressed {
    /// Length of the original value.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for an empty original (never compressed in practice).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the compressed form occupies.
    pub fn stored_len(&self) -> usize {
        self.data.len()
    }

    /// The dictionary version used.
    pub fn dict_id(&self) -> u32 {
        self.dict.id
    }

    /// The original bytes.
    pub fn decompress(&self) -> Vec<u8> {
        // Our own output always decompresses; should it not, an empty string is answered rather than a panic.
        lz4_flex::block::decompress_with_dict(&self.data, self.len as usize, &self.dict.bytes).unwrap_or_default()
    }
}

/// Compresses `value`; `None` when that would not save at least an eighth.
pub fn compress(value: &[u8], dict: &Arc<Dictionary>) -> Option<Compressed> {
    let out = lz4_flex::block::compress_with_dict(value, &dict.bytes);
    if out.len() > value.len() - value.len() / 8 {
        return None;
    }
    Some(Compressed::counted(out.into_boxed_slice(), value.len() as u32, dict.clone()))
}

/// Builds a dictionary from sample values: their concatenation, most recent last (LZ4 favours near matches),
/// capped at [`DICT_MAX`].
pub fn build_dictionary(id: u32, samples: &[Bytes]) -> Dictionary {
    let mut bytes = Vec::with_capacity(DICT_MAX);
    for s in samples.iter().rev() {
        if bytes.len() + s.len() > DICT_MAX {
            break;
        }
        bytes.extend_from_slice(s);
    }
    Dictionary { id, bytes, totals: Arc::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: usize) -> Vec<u8> {
        format!(
            r#"{{"id":{i},"user":{{"name":"user-{i}","email":"user{i}@example.com","plan":"premium"}},"items":[{{"sku":"A-{}","qty":{}}}],"status":"active","created_at":"2026-11-{:02}T10:00:00Z"}}"#,
            i * 7 % 1000,
            i % 5,
            i % 28 + 1
        )
        .into_bytes()
    }

    #[test]
    fn dictionary_compression_round_trips_and_beats_plain_lz4() {
        let samples: Vec<Bytes> = (0..200).map(|i| Bytes::from(doc(i))).collect();
        let dict = Arc::new(build_dictionary(1, &samples));
        let v = doc(5000);
        let c = compress(&v, &dict).expect("compressible");
        assert_eq!(c.decompress(), v);
        let plain = lz4_flex::block::compress(&v);
        assert!(c.stored_len() < plain.len(), "{} vs {}", c.stored_len(), plain.len());
    }

    #[test]
    fn incompressible_values_are_refused() {
        let dict = Arc::new(build_dictionary(1, &[]));
        let mut x: u64 = 99;
        let random: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(compress(&random, &dict).is_none());
    }
}

/// Settings for one pass of the cold cycle.
#[derive(Debug, Clone, Copy)]
pub struct ColdParams {
    pub min_size: usize,
    pub cold_secs: u32,
    pub lru_now: u32,
    pub deadline: std::time::Instant,
}

/// Values sampled to build a dictionary.
const SAMPLES: usize = 256;
/// Slots examined per shard per pass (the cycle's bounded work).
const SLOTS_PER_PASS: usize = 1024;
/// Compressions per window when watching for drift.
const DRIFT_WINDOW: u64 = 20_000;

/// State of the compressed tier: the current dictionary, the sweep position and the drift watch.
#[derive(Debug, Default)]
pub struct Tier {
    /// The compressed values alive, whichever dictionary they use.
    pub totals: Arc<Totals>,
    dict: parking_lot::RwLock<Option<Arc<Dictionary>>>,
    next_id: std::sync::atomic::AtomicU32,
    cursors: parking_lot::Mutex<Vec<u32>>,
    /// (bytes in, bytes out, count) in the current window, the baseline ratio, and whether the first window after a
    /// rebuild (which includes the sampled values themselves, so compresses unrealistically well) was skipped.
    window: parking_lot::Mutex<(u64, u64, u64, Option<f64>, bool)>,
}

impl Tier {
    /// The current dictionary's version (0 before the first).
    pub fn dict_id(&self) -> u32 {
        self.dict.read().as_ref().map_or(0, |d| d.id)
    }

    fn build(&self, ks: &super::Keyspace, p: &ColdParams) {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        // Sample from the shards that hold keys (most databases are usually empty), compressed values included:
        // they are the data too.
        let occupied: Vec<usize> = (0..ks.total_shards()).filter(|&g| !ks.lock_gid(g).data.dict.is_empty()).collect();
        if occupied.is_empty() {
            return;
        }
        let mut samples = Vec::new();
        for _ in 0..SAMPLES * 4 {
            if samples.len() >= SAMPLES {
                break;
            }
            let shard = ks.lock_gid(occupied[rng.gen_range(0..occupied.len())]);
            let Some(idx) = shard.data.dict.random_slot(&mut rng) else { continue };
            if let Some(super::Entry { value: super::Value::Str(s), .. }) = shard.data.entry(idx) {
                if !matches!(s, super::StrValue::Int(_)) && s.len() >= p.min_size {
                    samples.push(s.to_bytes());
                }
            }
        }
        if samples.len() < 8 {
            return;
        }
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let dict = Dictionary { totals: self.totals.clone(), ..build_dictionary(id, &samples) };
        *self.dict.write() = Some(Arc::new(dict));
        *self.window.lock() = (0, 0, 0, None, false);
    }

    /// Notes a compression for the drift watch; drops the dictionary when recent data compresses much worse than
    /// the data it was built from, so the next pass builds a fresh one.
    fn note(&self, original: usize, compressed: usize) {
        let mut w = self.window.lock();
        w.0 += original as u64;
        w.1 += compressed as u64;
        w.2 += 1;
        if w.2 < DRIFT_WINDOW {
            return;
        }
        let ratio = w.1 as f64 / w.0.max(1) as f64;
        match (w.4, w.3) {
            (false, _) => *w = (0, 0, 0, None, true),
            (true, None) => *w = (0, 0, 0, Some(ratio), true),
            (true, Some(base)) if ratio > base * 1.25 => {
                *w = (0, 0, 0, None, false);
                *self.dict.write() = None;
            }
            (true, Some(base)) => *w = (0, 0, 0, Some(base), true),
        }
    }

    /// Compresses a value being written, when every value counts as cold (`compression-cold-seconds 0`), so it
    /// never occupies its raw size at all. `None` when there is no dictionary yet or it does not pay.
    pub fn compress_on_write(&self, value: &[u8]) -> Option<Compressed> {
        let dict = self.dict.read().clone()?;
        let c = compress(value, &dict)?;
        self.note(value.len(), c.stored_len());
        Some(c)
    }

    /// One bounded pass: compresses cold, large-enough string values shard by shard until the deadline.
    /// Returns the number of values compressed.
    pub fn cycle(&self, ks: &super::Keyspace, p: ColdParams) -> usize {
        let dict = self.dict.read().clone();
        let Some(dict) = dict else {
            self.build(ks, &p);
            return 0;
        };
        let total = ks.total_shards();
        let mut cursors = self.cursors.lock();
        if cursors.len() != total {
            *cursors = vec![0; total];
        }
        let mut done = 0;
        for gid in 0..total {
            if std::time::Instant::now() >= p.deadline {
                break;
            }
            let mut shard = ks.lock_gid(gid);
            let end = shard.data.dict.slot_count() as u32;
            let mut i = cursors[gid].min(end);
            let stop = (i as usize + SLOTS_PER_PASS).min(end as usize) as u32;
            while i < stop {
                if let Some(e) = shard.data.entry_mut(i) {
                    let eligible = e.flags & super::Entry::INCOMPRESSIBLE == 0
                        && p.lru_now.saturating_sub(e.access) >= p.cold_secs
                        && matches!(&e.value, super::Value::Str(super::StrValue::Bytes(b) | super::StrValue::Raw(b)) if b.len() >= p.min_size);
                    if eligible {
                        if let super::Value::Str(s) = &e.value {
                            let raw = s.to_bytes();
                            match compress(&raw, &dict) {
                                Some(c) => {
                                    self.note(raw.len(), c.stored_len());
                                    e.value = super::Value::Str(super::StrValue::Lz4(Box::new(c)));
                                    done += 1;
                                }
                                None => e.flags |= super::Entry::INCOMPRESSIBLE,
                            }
                        }
                    }
                }
                i += 1;
            }
            cursors[gid] = if i >= end { 0 } else { i };
        }
        done
    }
}
