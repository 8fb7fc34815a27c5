//! Predictive warming: which keys are about to be read, learnt from what clients read together before.
//!
//! - Read lookups that count as an access, hits and misses (`Ctx::read_counted`), are sampled: a read starts a pair
//!   with probability 1/`warm-sample` (at random, so a fixed sequence is learnt at every step), and the pair's
//!   reads go into a ring of recent reads. The pair (this client's previous key -> this key), when the two reads
//!   are at most `warm-window-ms` apart, counts in the previous key's short list of successors (Space-Saving: a
//!   full list replaces its least counted successor), and a key found missing counts in a table of missed keys. Both tables are bounded; when one fills, every count
//!   is halved and what reaches zero is forgotten, so old habits fade.
//! - A prediction scores the successors of the keys read within the window (weighted by how recently, and by each
//!   successor's share of its predecessor's count), the keys applications announced with WARM.HINT, and the keys
//!   most often found missing. The best candidates are then looked at: a key missing (or past its TTL), expiring
//!   within the window, or compressed is predicted, and a compressed one is decompressed into the hot tier at once.
//!   A key already hot needs nothing and is passed over.
//! - Predictions come from WARM.PREDICT and from the cron, which decompresses the predicted compressed keys by
//!   itself. A prediction is a hit if the key is read within the window; INFO's `warm_prediction_precision` is
//!   hits over predictions resolved (read in time, or not).
//!
//! The model is a global mutex taken on sampled reads only; an unsampled read costs a few instructions of the
//! session's random generator (and a hash when predictions are waiting for their reads).

use crate::store::value::{Entry, StrValue, Value};
use crate::store::{hash_key, ShardData};
use bytes::Bytes;
use hashbrown::HashMap;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// `warm-sample`'s default.
const DEFAULT_SAMPLE: u64 = 16;
/// Recent reads kept for predictions.
const RECENT: usize = 256;
/// Successors kept per key.
const FOLLOWERS: usize = 4;
/// Keys whose successors are tracked, at most.
const MODEL_KEYS: usize = 32 * 1024;
/// Missed keys tracked, at most.
const MISSED_KEYS: usize = 4 * 1024;
/// Hints and unresolved predictions kept, at most.
const HINT_KEYS: usize = 4 * 1024;
const PENDING_KEYS: usize = 64 * 1024;
/// Candidates looked at per prediction, beyond the count asked for.
const CANDIDATE_FACTOR: usize = 4;
/// Keys the cron prewarms per tick, at most.
const CRON_PREWARM: usize = 16;

/// A key's identity across databases.
pub fn key_id(db: usize, key: &[u8]) -> u64 {
    let id = hash_key(key) ^ (db as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    id.max(1)
}

/// What a client read last, for co-access pairs (kept in its session).
#[derive(Debug, Default, Clone, Copy)]
pub struct Trail {
    last: u64,
    at_ms: u64,
    /// The next read completes a sampled pair.
    armed: bool,
    /// xorshift state for picking the pairs (0: not seeded yet).
    rng: u64,
}

/// Why a key was predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Missing,
    Expiring,
    /// It was compressed and has just been decompressed.
    Compressed,
}

impl Need {
    pub fn name(self) -> &'static str {
        match self {
            Need::Missing => "missing",
            Need::Expiring => "expiring",
            Need::Compressed => "compressed",
        }
    }
}

/// A key worth looking at, with its score.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub db: usize,
    pub id: u64,
    pub key: Bytes,
    pub score: f64,
}

#[derive(Debug)]
struct Follower {
    id: u64,
    db: usize,
    key: Bytes,
    count: u32,
}

#[derive(Debug, Default)]
struct Model {
    follows: HashMap<u64, Vec<Follower>>,
    /// Keys found missing: (db, name, count).
    missed: HashMap<u64, (usize, Bytes, u32)>,
    /// Keys announced by WARM.HINT: (db, name, until ms).
    hints: HashMap<u64, (usize, Bytes, u64)>,
}

impl Model {
    fn observe_pair(&mut self, prev: u64, id: u64, db: usize, key: &[u8]) {
        if self.follows.len() >= MODEL_KEYS && !self.follows.contains_key(&prev) {
            self.follows.retain(|_, list| {
                list.retain_mut(|f| {
                    f.count /= 2;
                    f.count > 0
                });
                !list.is_empty()
            });
        }
        let list = self.follows.entry(prev).or_default();
        if let Some(f) = list.iter_mut().find(|f| f.id == id) {
            f.count = f.count.saturating_add(1);
        } else if list.len() < FOLLOWERS {
            list.push(Follower { id, db, key: Bytes::copy_from_slice(key), count: 1 });
        } else if let Some(min) = list.iter_mut().min_by_key(|f| f.count) {
            *min = Follower { id, db, key: Bytes::copy_from_slice(key), count: min.count + 1 };
        }
    }

    fn observe_miss(&mut self, id: u64, db: usize, key: &[u8]) {
        if let Some(m) = self.missed.get_mut(&id) {
            m.2 = m.2.saturating_add(1);
            return;
        }
        if self.missed.len() >= MISSED_KEYS {
            self.missed.retain(|_, m| {
                m.2 /= 2;
                m.2 > 0
            });
        }
        if self.missed.len() < MISSED_KEYS {
            self.missed.insert(id, (db, Bytes::copy_from_slice(key), 1));
        }
    }

    /// Estimated bytes held.
    fn bytes(&self) -> usize {
        let f: usize = self.follows.values().map(|l| 48 + l.iter().map(|f| 48 + f.key.len()).sum::<usize>()).sum();
        let m: usize = self.missed.values().map(|m| 56 + m.1.len()).sum();
        let h: usize = self.hints.values().map(|h| 56 + h.1.len()).sum();
        f + m + h
    }
}

/// Counters for INFO.
#[derive(Debug, Default)]
pub struct WarmStats {
    pub predictions: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub prewarmed: AtomicU64,
    pub hints: AtomicU64,
}

/// The server's predictor.
#[derive(Debug)]
pub struct Warm {
    /// `warm-sample`: one read in this many teaches the model; 0 turns tracking off.
    sample: AtomicU64,
    /// `warm-window-ms`.
    window_ms: AtomicU64,
    /// The most recent reads (key ids) and when they happened (unix ms); only reads within the window count.
    recent: Box<[AtomicU64]>,
    recent_at: Box<[AtomicU64]>,
    next: AtomicUsize,
    model: Mutex<Model>,
    /// Predictions not yet resolved: key id -> deadline (unix ms).
    pending: Mutex<HashMap<u64, u64>>,
    /// Entries of `pending` plus hints, so a read checks them only when there are any.
    watched: AtomicUsize,
    pub stats: WarmStats,
}

impl Default for Warm {
    fn default() -> Warm {
        Warm {
            sample: AtomicU64::new(DEFAULT_SAMPLE),
            window_ms: AtomicU64::new(2000),
            recent: (0..RECENT).map(|_| AtomicU64::new(0)).collect(),
            recent_at: (0..RECENT).map(|_| AtomicU64::new(0)).collect(),
            next: AtomicUsize::new(0),
            model: Mutex::new(Model::default()),
            pending: Mutex::new(HashMap::new()),
            watched: AtomicUsize::new(0),
            stats: WarmStats::default(),
        }
    }
}

impl Warm {
    /// Applies `warm-sample` (0: off; the model is forgotten).
    pub fn set_sample(&self, n: u64) {
        self.sample.store(n, Relaxed);
        if n == 0 {
            *self.model.lock() = Model::default();
            self.recent.iter().for_each(|r| r.store(0, Relaxed));
            self.pending.lock().clear();
            self.watched.store(0, Relaxed);
        }
    }

    /// Applies `warm-window-ms`.
    pub fn set_window_ms(&self, ms: u64) {
        self.window_ms.store(ms.max(1), Relaxed);
    }

    pub fn window_ms(&self) -> u64 {
        self.window_ms.load(Relaxed)
    }

    /// Tracking is on.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.sample.load(Relaxed) != 0
    }

    /// A read lookup of `key` in `db` by the client whose trail this is. Of each `warm-sample` reads of a client,
    /// two in a row are looked at (the pair is what the model learns from): the rest cost a counter, unless
    /// predictions are waiting for their reads.
    #[inline]
    pub fn note_read(&self, trail: &mut Trail, db: usize, key: &[u8], found: bool, now_ms: u64) {
        let sample = self.sample.load(Relaxed);
        if sample == 0 {
            return;
        }
        // A read starts a pair with probability 1/sample, at random rather than every n-th read: a client that
        // reads fixed sequences whose length divides the period would otherwise only ever teach one step of them.
        let learn = std::mem::take(&mut trail.armed);
        let starts = sample == 1 || {
            if trail.rng == 0 {
                trail.rng = (trail as *const Trail as u64) | 1;
            }
            trail.rng ^= trail.rng << 13;
            trail.rng ^= trail.rng >> 7;
            trail.rng ^= trail.rng << 17;
            trail.rng.is_multiple_of(sample)
        };
        if learn || starts || self.watched.load(Relaxed) > 0 {
            trail.armed = starts;
            self.note_sampled(trail, db, key, found, now_ms, learn || sample == 1);
        }
    }

    #[inline(never)]
    fn note_sampled(&self, trail: &mut Trail, db: usize, key: &[u8], found: bool, now_ms: u64, learn: bool) {
        let id = key_id(db, key);
        if self.watched.load(Relaxed) > 0 {
            self.resolve(id, now_ms);
        }
        let at = self.next.fetch_add(1, Relaxed) % RECENT;
        self.recent[at].store(id, Relaxed);
        self.recent_at[at].store(now_ms, Relaxed);
        if learn {
            let window = self.window_ms.load(Relaxed);
            let prev = trail.last != 0 && trail.last != id && now_ms.saturating_sub(trail.at_ms) <= window;
            if prev || !found {
                let mut model = self.model.lock();
                if prev {
                    model.observe_pair(trail.last, id, db, key);
                }
                if !found {
                    model.observe_miss(id, db, key);
                }
            }
        }
        trail.last = id;
        trail.at_ms = now_ms;
    }

    /// A read of a key that may have been predicted or hinted.
    fn resolve(&self, id: u64, now_ms: u64) {
        if let Some(deadline) = self.pending.lock().remove(&id) {
            self.watched.fetch_sub(1, Relaxed);
            if deadline >= now_ms {
                self.stats.hits.fetch_add(1, Relaxed);
            } else {
                self.stats.misses.fetch_add(1, Relaxed);
            }
        }
        if self.model.lock().hints.remove(&id).is_some() {
            self.watched.fetch_sub(1, Relaxed);
        }
    }

    /// Records that `key` was predicted (counted once while unresolved).
    pub fn predicted(&self, id: u64, now_ms: u64) {
        let mut pending = self.pending.lock();
        if pending.len() < PENDING_KEYS && pending.insert(id, now_ms + self.window_ms()).is_none() {
            self.watched.fetch_add(1, Relaxed);
            self.stats.predictions.fetch_add(1, Relaxed);
        }
    }

    /// Records an application's hint that `key` is about to be read.
    pub fn hint(&self, db: usize, key: &[u8], now_ms: u64) {
        let mut model = self.model.lock();
        let until = now_ms + self.window_ms();
        let id = key_id(db, key);
        if let Some(h) = model.hints.get_mut(&id) {
            h.2 = until;
        } else if model.hints.len() < HINT_KEYS {
            model.hints.insert(id, (db, Bytes::copy_from_slice(key), until));
            self.watched.fetch_add(1, Relaxed);
        }
        self.stats.hints.fetch_add(1, Relaxed);
    }

    /// The keys worth looking at, best first, at most `limit`: in `db`, or in every database.
    pub fn candidates(&self, db: Option<usize>, limit: usize, now_ms: u64) -> Vec<Candidate> {
        let mut recent: Vec<u64> = Vec::with_capacity(RECENT);
        let end = self.next.load(Relaxed);
        let since = now_ms.saturating_sub(self.window_ms());
        for back in 1..=RECENT {
            let at = end.wrapping_sub(back) % RECENT;
            let id = self.recent[at].load(Relaxed);
            if self.recent_at[at].load(Relaxed) < since {
                break;
            }
            if id != 0 && !recent.contains(&id) {
                recent.push(id);
            }
        }
        let model = self.model.lock();
        let mut scores: HashMap<u64, Candidate> = HashMap::new();
        let mut add = |id: u64, d: usize, key: &Bytes, score: f64| {
            if db.is_none_or(|want| want == d) {
                scores.entry(id).or_insert_with(|| Candidate { db: d, id, key: key.clone(), score: 0.0 }).score +=
                    score;
            }
        };
        for (rank, prev) in recent.iter().enumerate() {
            let Some(list) = model.follows.get(prev) else { continue };
            let total: u32 = list.iter().map(|f| f.count).sum();
            let weight = 1.0 / (1.0 + rank as f64 / 8.0);
            for f in list {
                add(f.id, f.db, &f.key, weight * f.count as f64 / total.max(1) as f64);
            }
        }
        for (id, (d, key, until)) in &model.hints {
            if *until >= now_ms {
                add(*id, *d, key, 10.0);
            }
        }
        let most_missed = model.missed.values().map(|m| m.2).max().unwrap_or(1) as f64;
        for (id, (d, key, count)) in &model.missed {
            add(*id, *d, key, 0.5 * *count as f64 / most_missed);
        }
        drop(model);
        let mut out: Vec<Candidate> = scores.into_values().collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
        out.truncate(limit);
        out
    }

    /// How many candidates to look at for `count` predictions.
    pub fn candidate_limit(count: usize) -> usize {
        count.saturating_mul(CANDIDATE_FACTOR).clamp(256, 4096)
    }

    /// Resolves predictions whose window passed unread, and drops expired hints (the cron, every tick).
    pub fn expire(&self, now_ms: u64) {
        if self.watched.load(Relaxed) == 0 {
            return;
        }
        let mut gone = 0;
        self.pending.lock().retain(|_, deadline| {
            let keep = *deadline >= now_ms;
            if !keep {
                gone += 1;
                self.stats.misses.fetch_add(1, Relaxed);
            }
            keep
        });
        self.model.lock().hints.retain(|_, h| {
            let keep = h.2 >= now_ms;
            gone += usize::from(!keep);
            keep
        });
        self.watched.fetch_sub(gone, Relaxed);
    }

    /// (keys with successors, missed keys tracked, hints, estimated bytes) for INFO.
    pub fn model_size(&self) -> (usize, usize, usize, usize) {
        let m = self.model.lock();
        (m.follows.len(), m.missed.len(), m.hints.len(), m.bytes())
    }

    /// Unresolved predictions.
    pub fn pending(&self) -> usize {
        self.pending.lock().len()
    }
}

/// What `entry` with its expiry (`None`: no such key) needs, if anything: `Compressed` when it is compressed.
pub fn need(entry: Option<(&Entry, u64)>, now_ms: u64, window_ms: u64) -> Option<Need> {
    let Some((e, at)) = entry else { return Some(Need::Missing) };
    if at != 0 && at <= now_ms {
        return Some(Need::Missing);
    }
    if matches!(e.value, Value::Str(StrValue::Compressed(_))) {
        return Some(Need::Compressed);
    }
    if at != 0 && at - now_ms <= window_ms {
        return Some(Need::Expiring);
    }
    None
}

/// [`need`] for `key` in a locked shard's data.
pub fn need_in(data: &ShardData, key: &[u8], now_ms: u64, window_ms: u64) -> Option<Need> {
    need(data.find(hash_key(key), key).and_then(|i| Some((data.entry(i)?, data.expire_at(i)))), now_ms, window_ms)
}

/// Decompresses a compressed value into the hot tier ahead of use; true if it was compressed. Its access time
/// becomes `lru`, or the cold cycle would compress it again before it is read.
pub fn decompress(e: &mut Entry, lru: u32) -> bool {
    let Value::Str(StrValue::Compressed(c)) = &e.value else { return false };
    e.value = Value::Str(StrValue::raw(c.decompress()));
    e.access = lru;
    true
}

/// [`decompress`] for `key` in a locked shard's data.
pub fn decompress_in(data: &mut ShardData, key: &[u8], lru: u32) -> bool {
    data.find(hash_key(key), key).and_then(|i| data.entry_mut(i)).is_some_and(|e| decompress(e, lru))
}

/// The cron's share: resolves old predictions, and decompresses the predicted keys that are compressed.
pub fn cron(srv: &super::state::Server, now_ms: u64) {
    let warm = &srv.warm;
    if !warm.enabled() {
        return;
    }
    warm.expire(now_ms);
    if srv.tier.totals.get().0 == 0 {
        return;
    }
    let window = warm.window_ms();
    let lru = srv.lru_clock_at(now_ms);
    let ks = &srv.keyspace;
    let mut warmed = 0;
    for c in warm.candidates(None, Warm::candidate_limit(CRON_PREWARM), now_ms) {
        let hash = hash_key(&c.key);
        let mut shard = ks.lock(c.db, ks.shard_of(hash));
        // One lookup: the entry, if its value is compressed and still wanted, is decompressed where it lies.
        let found = shard.data.find(hash, &c.key);
        let at = found.map_or(0, |i| shard.data.expire_at(i));
        let entry = found.and_then(|i| shard.data.entry_mut(i));
        if entry.is_some_and(|e| need(Some((&*e, at)), now_ms, window) == Some(Need::Compressed) && decompress(e, lru))
        {
            drop(shard);
            warm.predicted(c.id, now_ms);
            warm.stats.prewarmed.fetch_add(1, Relaxed);
            warmed += 1;
            if warmed == CRON_PREWARM {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_read() -> Warm {
        let w = Warm::default();
        w.set_sample(1);
        w
    }

    fn read(w: &Warm, t: &mut Trail, key: &str, found: bool, now: u64) {
        w.note_read(t, 0, key.as_bytes(), found, now);
    }

    #[test]
    fn successors_of_recent_reads_are_predicted() {
        let w = every_read();
        let mut t = Trail::default();
        for round in 0..20u64 {
            for (k, key) in ["user:1", "profile:1", "settings:1"].iter().enumerate() {
                read(&w, &mut t, key, true, round * 10_000 + k as u64);
            }
            read(&w, &mut t, &format!("noise:{round}"), true, round * 10_000 + 5000);
        }
        // Now "user:1" is read, the reads before it long ago: its successor is the candidate.
        read(&w, &mut t, "user:1", true, 1_000_000);
        let c = w.candidates(Some(0), 10, 1_000_000);
        assert_eq!(c.iter().map(|c| &c.key[..]).collect::<Vec<_>>(), [&b"profile:1"[..]], "{c:?}");
        read(&w, &mut t, "profile:1", true, 1_000_001);
        let c = w.candidates(Some(0), 10, 1_000_001);
        assert_eq!(&c[0].key[..], b"settings:1", "the latest read's successor leads: {c:?}");
        assert!(w.candidates(Some(1), 10, 1_000_000).is_empty(), "another database has no candidates");
    }

    #[test]
    fn pairs_further_apart_than_the_window_are_not_learnt() {
        let w = every_read();
        let mut t = Trail::default();
        read(&w, &mut t, "a", true, 0);
        read(&w, &mut t, "b", true, 10_000);
        assert_eq!(w.model_size().0, 0);
        read(&w, &mut t, "c", true, 10_500);
        assert_eq!(w.model_size().0, 1);
    }

    #[test]
    fn precision_counts_reads_within_the_window() {
        let w = every_read();
        let mut t = Trail::default();
        w.predicted(key_id(0, b"x"), 0);
        w.predicted(key_id(0, b"y"), 0);
        w.predicted(key_id(0, b"x"), 1);
        assert_eq!(w.stats.predictions.load(Relaxed), 2, "an unresolved prediction counts once");
        read(&w, &mut t, "x", true, 100);
        w.expire(5000);
        assert_eq!((w.stats.hits.load(Relaxed), w.stats.misses.load(Relaxed)), (1, 1));
        assert_eq!(w.watched.load(Relaxed), 0);
    }

    #[test]
    fn the_model_stays_bounded() {
        let w = every_read();
        let mut t = Trail::default();
        for i in 0..(MODEL_KEYS * 3) {
            read(&w, &mut t, &format!("k{i}"), i % 2 == 0, i as u64);
        }
        let (follows, missed, _, _) = w.model_size();
        assert!(follows <= MODEL_KEYS && missed <= MISSED_KEYS, "{follows} {missed}");
    }

    #[test]
    fn sampling_picks_pairs_at_random_so_every_step_of_a_fixed_path_is_learnt() {
        let w = Warm::default();
        w.set_sample(4);
        let mut t = Trail::default();
        let path = ["a", "b", "c", "d"];
        for i in 0..4000u64 {
            read(&w, &mut t, path[i as usize % 4], true, i);
        }
        // A pair every fourth read would only ever teach one of the four steps of a path of four.
        assert_eq!(w.model_size().0, 4);
        let m = w.model.lock();
        let learnt: u32 = m.follows.values().flat_map(|l| l.iter().map(|f| f.count)).sum();
        assert!((800..1200).contains(&learnt), "about one read in four starts a pair: {learnt}");
    }
}
