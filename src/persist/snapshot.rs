//! Taking a point-in-time snapshot of a running keyspace, and loading one into an empty keyspace.
//!
//! The snapshot's moment is one instant at which every shard is locked ([`Keyspace::add_hooks_at_once`]): the
//! copy-on-write hooks and each shard's [`Pending`] state are installed and the effect log's offset is read
//! there. The walk then visits one shard at a time, in slices of [`WALK_SLICE`] slots, releasing the shard's lock
//! between slices. A key keeps its slot for as long as it lives (`store::dict`), so the walk's cursor is a slot
//! number: a key changed before the walk reaches its slot has its old value encoded first by `before_change`
//! (once: the key is remembered and the walk skips it), a key created after the moment is remembered the same way,
//! and FLUSHDB/FLUSHALL/SWAPDB encode the rest of the shard before it changes. A key changed after the walk passed
//! its slot is encoded a second time by `before_change`, with the same value (the moment's), which loading
//! overwrites with itself. So the file holds exactly the dataset of the effects before the recorded offset, while
//! writers never wait for more than one slice's encoding.

use super::format::{self, BlockWriter, Chunker, Header, Limits, Totals};
use super::warming::Warming;
use crate::effects::EffectLog;
use crate::store::keymeta::{KeyMeta, MetaSide};
use crate::store::{ChangeHooks, Entry, Keyspace, ShardChange, ShardData, ShardSide, StrValue, Value};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// What a snapshot keeps beside a shard it has not walked yet.
struct Pending {
    /// The database the shard's keys belonged to at the snapshot's moment (SWAPDB moves this state with them).
    db: usize,
    /// Keys already dealt with: saved with their old value, or created after the moment.
    seen: HashSet<Bytes>,
    chunks: Chunker,
    /// The next slot the walk visits.
    cursor: usize,
}

/// Slots encoded per hold of a shard's lock: small enough that a client waiting for the shard waits for about a
/// millisecond, large enough that the lock is not taken and released for every key.
const WALK_SLICE: usize = 2048;

/// The copy-on-write hooks of one snapshot in progress.
struct CowHooks {
    lru_now: u32,
    /// Blocks encoded by whole-shard changes, for the walk to write out.
    flushed: Mutex<Vec<(Vec<u8>, u32)>>,
}

fn idle(lru_now: u32, e: &Entry) -> u32 {
    lru_now.saturating_sub(e.access)
}

/// Encodes one key, followed by a [`format::META_DB`] record of its metadata (tags, cache policy) when it has
/// some, so loading attaches the metadata to the key just loaded.
fn record_key(p: &mut Pending, key: &[u8], e: &Entry, expire_at: u64, idle: u32, metas: Option<&MetaSide>) {
    p.chunks.record(p.db, key, e, expire_at, idle);
    if e.flags & Entry::HAS_META != 0 {
        if let Some(meta) = metas.and_then(|m| m.get(key)) {
            let mut raw = (p.db as u32).to_le_bytes().to_vec();
            meta.encode(&mut raw);
            let carrier = Entry::new(Value::Str(StrValue::boxed(raw.into_boxed_slice())));
            p.chunks.record(format::META_DB, key, &carrier, 0, 0);
        }
    }
}

impl CowHooks {
    /// Encodes the keys of the next `slots` slots not yet dealt with; true when the walk reached the end.
    fn walk(&self, p: &mut Pending, data: &ShardData, metas: Option<&MetaSide>, slots: usize) -> bool {
        let end = p.cursor.saturating_add(slots).min(data.dict.slot_count());
        for idx in p.cursor..end {
            if let Some(slot) = data.dict.slot(idx as u32) {
                if !p.seen.contains(&slot.key[..]) {
                    let at = data.expire_at(idx as u32);
                    record_key(p, &slot.key, &slot.val, at, idle(self.lru_now, &slot.val), metas);
                }
            }
        }
        p.cursor = end;
        end >= data.dict.slot_count()
    }

    /// Encodes every key of `data` the walk has not reached and not yet dealt with, and everything `p` collected,
    /// into blocks.
    fn finish_shard(&self, mut p: Pending, data: &ShardData, metas: Option<&MetaSide>) -> Vec<(Vec<u8>, u32)> {
        self.walk(&mut p, data, metas, usize::MAX);
        p.chunks.close();
        p.chunks.done
    }
}

impl ChangeHooks for CowHooks {
    fn before_change(&self, side: &mut ShardSide, _db: usize, key: &[u8], old: Option<(&Entry, u64)>) {
        // Out of the side state while the key's metadata is read from it.
        let Some(mut p) = side.remove::<Pending>() else { return };
        if p.seen.insert(Bytes::copy_from_slice(key)) {
            if let Some((e, at)) = old {
                record_key(&mut p, key, e, at, idle(self.lru_now, e), side.get::<MetaSide>());
            }
        }
        side.insert(p);
    }

    fn before_shard_change(&self, side: &mut ShardSide, _db: usize, _shard: usize, _c: ShardChange, data: &ShardData) {
        if let Some(p) = side.remove::<Pending>() {
            let blocks = self.finish_shard(p, data, side.get::<MetaSide>());
            self.flushed.lock().extend(blocks);
        }
    }
}

/// Removes the hooks when the walk ends, however it ends, so a failed save leaves no cost behind.
struct Installed<'a> {
    ks: &'a Keyspace,
    hooks: Arc<dyn ChangeHooks>,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        self.ks.remove_hooks(&self.hooks);
        for gid in 0..self.ks.total_shards() {
            self.ks.lock_gid(gid).side.remove::<Pending>();
        }
    }
}

/// Writes a point-in-time snapshot of `ks` to `out`. `now_ms` is stamped in the header; `lru_now` turns each
/// key's access clock into an idle time. `progress` is called after each shard with the records written so far.
/// `libraries` (FUNCTION libraries' code) are written after the keys as records of [`format::LIBRARY_DB`].
pub fn write_snapshot<W: Write>(
    ks: &Keyspace,
    effects: &EffectLog,
    libraries: &[Vec<u8>],
    out: W,
    now_ms: u64,
    lru_now: u32,
    mut progress: impl FnMut(u64),
) -> std::io::Result<(W, Header, Totals)> {
    let cow = Arc::new(CowHooks { lru_now, flushed: Mutex::new(Vec::new()) });
    let hooks: Arc<dyn ChangeHooks> = cow.clone();
    let effect_offset = ks.add_hooks_at_once(
        hooks.clone(),
        |db, _, side| side.insert(Pending { db, seen: HashSet::new(), chunks: Chunker::default(), cursor: 0 }),
        || effects.offset(),
    );
    let installed = Installed { ks, hooks };
    let header = Header { created_ms: now_ms, effect_offset };
    let mut w = BlockWriter::new(out, header)?;
    let mut records = 0u64;
    for gid in 0..ks.total_shards() {
        loop {
            let (blocks, finished) = {
                let mut guard = ks.lock_gid(gid);
                let shard = &mut *guard;
                // None: finished by a whole-shard change, whose blocks are in `flushed`.
                match shard.side.remove::<Pending>() {
                    None => (Vec::new(), true),
                    Some(mut p) => {
                        let metas = shard.side.get::<MetaSide>();
                        if cow.walk(&mut p, &shard.data, metas, WALK_SLICE) {
                            (cow.finish_shard(p, &shard.data, metas), true)
                        } else {
                            let done = std::mem::take(&mut p.chunks.done);
                            shard.side.insert(p);
                            (done, false)
                        }
                    }
                }
            };
            let flushed = std::mem::take(&mut *cow.flushed.lock());
            for (raw, n) in blocks.iter().chain(&flushed) {
                w.block(raw, *n)?;
                records += u64::from(*n);
            }
            if finished {
                break;
            }
        }
        progress(records);
    }
    drop(installed);
    for (raw, n) in std::mem::take(&mut *cow.flushed.lock()) {
        w.block(&raw, n)?;
    }
    if !libraries.is_empty() {
        let mut raw = Vec::new();
        for code in libraries {
            let entry =
                crate::store::Entry::new(crate::store::Value::Str(crate::store::StrValue::boxed(Box::from(&code[..]))));
            format::encode_record(&mut raw, format::LIBRARY_DB, b"function-library", &entry, 0, 0);
        }
        w.block(&raw, libraries.len() as u32)?;
    }
    let (out, totals) = w.finish()?;
    Ok((out, header, totals))
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// FUNCTION libraries' code, for the engine to load.
    pub libraries: Vec<Vec<u8>>,
    pub keys: u64,
    /// Keys whose expiry had passed: not loaded.
    pub expired: u64,
    /// Values loaded straight into the compressed tier (see [`ColdLoad`]).
    pub compressed: u64,
    pub header: Option<Header>,
}

/// The compressed tier, restored as a snapshot loads: a string value of at least `min_size` bytes that had been
/// idle for `cold_secs` or more when it was saved goes straight into `tier` (see
/// [`crate::store::compress::Tier::compress_loaded`]).
pub struct ColdLoad<'a> {
    pub tier: &'a crate::store::compress::Tier,
    pub min_size: usize,
    pub cold_secs: u32,
}

impl ColdLoad<'_> {
    /// Compresses `entry`'s value if it was cold; true if it did.
    fn restore(&self, entry: &mut Entry, idle: u32, samples: &mut Vec<Bytes>) -> bool {
        if idle < self.cold_secs {
            return false;
        }
        let Value::Str(s) = &entry.value else { return false };
        if matches!(s, StrValue::Int(_)) || s.len() < self.min_size {
            return false;
        }
        match self.tier.compress_loaded(&s.bytes(), samples) {
            Some(c) => {
                entry.value = Value::Str(StrValue::Compressed(c));
                true
            }
            None => false,
        }
    }
}

/// Which records a load takes: all of them, or one pass of a warm restart (see [`super::warming`]).
#[derive(Clone, Copy)]
pub enum Pass<'a> {
    Whole,
    /// Keys idle for less than `hot_secs` when saved, and FUNCTION libraries; the others are deferred in `warming`.
    Hot {
        hot_secs: u32,
        warming: &'a Warming,
    },
    /// The keys [`Pass::Hot`] deferred, each released in `warming` once it is in. With `lfu` (the log factor
    /// and decay time), each also seeds allkeys-tinylfu's sketch, which the first pass's keys seeded already.
    Rest {
        hot_secs: u32,
        warming: &'a Warming,
        lfu: Option<(u64, u64)>,
    },
}

impl Pass<'_> {
    /// Whether this pass loads a key record with this idle time.
    fn takes(&self, idle: u32) -> bool {
        match *self {
            Pass::Whole => true,
            Pass::Hot { hot_secs, .. } => idle < hot_secs,
            Pass::Rest { hot_secs, .. } => idle >= hot_secs,
        }
    }
}

/// Loads the snapshot read from `input` into `ks`, which should be empty (or hold what the first pass loaded, for
/// [`Pass::Rest`]); keys whose expiry is at or before `now_ms` are skipped. With `cold`, values that were cold when
/// saved are loaded compressed.
#[allow(clippy::too_many_arguments)]
pub fn load_snapshot(
    ks: &Keyspace,
    input: impl std::io::Read,
    file: &str,
    limits: &Limits,
    now_ms: u64,
    lru_now: u32,
    cold: Option<&ColdLoad<'_>>,
    pass: Pass<'_>,
) -> Result<Loaded, format::FormatError> {
    let mut loaded = Loaded::default();
    let mut samples = Vec::new();
    let mut bad_db = None;
    let mut bad_meta = None;
    // The last key record this pass took or left, for the metadata record that may follow it.
    let mut last: Option<(usize, Bytes, bool)> = None;
    // A key the second pass loaded, released once its metadata (the next record, if any) is attached too.
    let mut unpend: Option<u64> = None;
    let release = |unpend: &mut Option<u64>| {
        if let (Some(hash), Pass::Rest { warming, .. }) = (unpend.take(), pass) {
            warming.delivered(hash);
        }
    };
    let (header, _) = format::read_snapshot(input, file, limits, |r| {
        if r.db == format::META_DB {
            let raw = match &r.entry.value {
                Value::Str(s) => s.to_bytes(),
                _ => Bytes::new(),
            };
            let db = raw.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).map(|d| d as usize);
            let taken = match &last {
                Some((ldb, lkey, taken)) if Some(*ldb) == db && *lkey == r.key => *taken,
                // A record of a key no pass takes: an older file, or a damaged one (reported below).
                _ => matches!(pass, Pass::Whole | Pass::Hot { .. }),
            };
            if taken {
                match (db, KeyMeta::decode(raw.get(4..).unwrap_or_default())) {
                    (Some(db), Some(meta)) if db < ks.db_count() => {
                        let mut shard = ks.lock(db, ks.shard_of(crate::store::hash_key(&r.key)));
                        ks.meta.attach(&mut shard, &r.key, meta);
                    }
                    _ => {
                        bad_meta.get_or_insert(r.key);
                    }
                }
            }
            release(&mut unpend);
            return;
        }
        release(&mut unpend);
        if r.db == format::LIBRARY_DB {
            if let crate::store::Value::Str(s) = &r.entry.value {
                if !matches!(pass, Pass::Rest { .. }) {
                    loaded.libraries.push(s.to_bytes().to_vec());
                }
            }
            return;
        }
        if r.db >= ks.db_count() {
            bad_db.get_or_insert(r.db);
            return;
        }
        let hash = crate::store::hash_key(&r.key);
        let expired = r.expire_at != 0 && r.expire_at <= now_ms;
        if !pass.takes(r.idle) {
            if let (Pass::Hot { warming, .. }, false) = (pass, expired) {
                warming.defer(hash);
            }
            last = Some((r.db, r.key, false));
            return;
        }
        if expired {
            loaded.expired += 1;
            if let Pass::Rest { .. } = pass {
                // Deferred by the first pass, expired since.
                unpend = Some(hash);
            }
            last = Some((r.db, r.key, false));
            return;
        }
        let mut entry = r.entry;
        entry.access = lru_now.saturating_sub(r.idle);
        let compressed = cold.is_some_and(|c| c.restore(&mut entry, r.idle, &mut samples));
        let mut shard = ks.lock(r.db, ks.shard_of(hash));
        if let Pass::Rest { .. } = pass {
            unpend = Some(hash);
            // Clients never reach a pending key, so it cannot exist; if it somehow does, the newer one stays.
            if shard.data.find(hash, &r.key).is_some() {
                last = Some((r.db, r.key, false));
                return;
            }
        } else if let Some(idx) = shard.data.find(hash, &r.key) {
            if let Some((_, old, _)) = shard.data.remove(idx) {
                if matches!(old.value, Value::Str(StrValue::Compressed(_))) {
                    loaded.compressed -= 1;
                }
            }
            ks.meta.detach(&mut shard, &r.key);
            loaded.keys -= 1;
        }
        loaded.compressed += u64::from(compressed);
        if let Pass::Rest { lfu: Some((factor, decay)), .. } = pass {
            ks.tinylfu.seed_key(hash, crate::store::lfu::decayed(entry.freq, entry.access, lru_now, decay), factor);
        }
        last = Some((r.db, r.key.clone(), true));
        shard.data.insert(hash, r.key, entry, r.expire_at);
        drop(shard);
        loaded.keys += 1;
        if limits.key_load_delay_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(limits.key_load_delay_us));
        }
    })?;
    release(&mut unpend);
    if let Some(key) = bad_meta {
        return Err(format::FormatError {
            file: file.to_string(),
            block: None,
            offset: 0,
            why: format!("damaged metadata (tags, cache policy) of key {}", String::from_utf8_lossy(&key)),
        });
    }
    if let Some(db) = bad_db {
        return Err(format::FormatError {
            file: file.to_string(),
            block: None,
            offset: 0,
            why: format!("a key of database {db}, but this server has {} databases", ks.db_count()),
        });
    }
    loaded.header = Some(header);
    Ok(loaded)
}

/// Writes a snapshot to `path` durably: a temporary file in the same directory, fsynced, renamed over `path`,
/// then the directory fsynced, so a crash at any point leaves either the previous file or the new one whole.
/// Returns the header written (its `effect_offset` is the stream offset the snapshot ends at).
pub fn save_to(
    ks: &Keyspace,
    effects: &EffectLog,
    libraries: &[Vec<u8>],
    path: &Path,
    now_ms: u64,
    lru_now: u32,
    progress: impl FnMut(u64),
) -> std::io::Result<(Header, Totals)> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Unique per save, so a SAVE at SHUTDOWN never shares a temporary file with a BGSAVE still running.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!("temp-{}-{n}-{name}", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&temp)?;
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        let (out, header, totals) = write_snapshot(ks, effects, libraries, out, now_ms, lru_now, progress)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok((header, totals))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
