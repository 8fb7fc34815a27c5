//! The keyspace: `databases` logical databases, each split into a power-of-two number of shards.
//!
//! - `dict`: the slab-backed key table (stable slots for SCAN and sampling).
//! - `value`: values, entries, type and encoding names.
//! - `shard`: one shard's data and WATCH registrations, under one lock.
//! - `change`: the one keyspace-change path every modification goes through.
//! - `hooks`: the `ChangeHooks` that path calls before and after each change, and the state they keep per shard.
//! - `event`: notification classes and the typed event of each change.
//! - `expire`: the active expiry cycle.
//! - `bits`: bitmap and LCS algorithms on byte strings.
//! - `lazyfree`: the one background thread that frees what ASYNC flushes removed.
//!
//! Locking: a shard is a `parking_lot::Mutex<Shard>`. Commands that touch several shards take them in ascending
//! global order (`db * shards + shard`), so no two commands can deadlock and no interleaving is observable.

pub mod bits;
pub mod change;
pub mod compact;
pub mod compress;
pub mod dict;
pub mod digest;
pub mod event;
pub mod evict;
pub mod expire;
pub mod hooks;
pub mod keymeta;
pub mod lazyfree;
pub mod lfu;
pub mod shard;
pub mod tinylfu;
pub mod types;
pub mod value;

use parking_lot::{Mutex, MutexGuard};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

pub use hooks::{ChangeHooks, ShardChange, ShardSide};
pub use shard::{Shard, ShardCounts, ShardData, WatchFlag};
pub use value::{Entry, StrValue, Value};

/// Initial LFU counter of a new key (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u8 = 5;

static HASHER: LazyLock<hashbrown::DefaultHashBuilder> = LazyLock::new(Default::default);

/// The hash of a key, used both to pick its shard and inside the shard's table.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    HASHER.hash_one(key)
}

/// One logical database.
#[derive(Debug)]
pub struct Db {
    pub shards: Box<[Mutex<Shard>]>,
}

/// All databases.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    shard_bits: u32,
    /// Each shard's published counts, by global id (read without locks).
    counts: Vec<Arc<ShardCounts>>,
    /// Bumped by every FLUSHALL/FLUSHDB/SWAPDB, for `INFO` and tests.
    pub flushes: AtomicU64,
    /// The hook keeping key metadata and the tag index exact, installed on shards as tagged keys arrive.
    pub meta: Arc<keymeta::MetaHooks>,
    /// allkeys-tinylfu's sketch and admission window (empty under other policies).
    pub tinylfu: tinylfu::TinyLfu,
}

impl Keyspace {
    /// A keyspace of `databases` databases with `2^shard_bits` shards each.
    pub fn new(databases: usize, shard_bits: u32) -> Keyspace {
        let n = 1usize << shard_bits;
        let databases = databases.max(1);
        let counts: Vec<Arc<ShardCounts>> = (0..databases * n).map(|_| Arc::default()).collect();
        let dbs = (0..databases)
            .map(|d| Db {
                shards: (0..n)
                    .map(|s| {
                        let data = ShardData::with_counts(counts[(d << shard_bits) | s].clone());
                        Mutex::new(Shard { data, ..Default::default() })
                    })
                    .collect(),
            })
            .collect();
        let meta = Arc::new(keymeta::MetaHooks::default());
        Keyspace { dbs, shard_bits, counts, flushes: AtomicU64::new(0), meta, tinylfu: Default::default() }
    }

    /// The key-metadata hook as installed on shards.
    pub fn meta_hooks(&self) -> Arc<dyn ChangeHooks> {
        self.meta.clone()
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Shards per database.
    pub fn shard_count(&self) -> usize {
        1 << self.shard_bits
    }

    /// Bits of a SCAN cursor that select the shard.
    pub fn shard_bits(&self) -> u32 {
        self.shard_bits
    }

    /// The shard a hash belongs to. Mixed by a multiply so the table's own use of the hash bits stays uniform.
    #[inline]
    pub fn shard_of(&self, hash: u64) -> usize {
        if self.shard_bits == 0 {
            return 0;
        }
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.shard_bits)) as usize
    }

    /// Global lock-order id of (db, shard).
    #[inline]
    pub fn global_id(&self, db: usize, shard: usize) -> usize {
        (db << self.shard_bits) | shard
    }

    /// Total number of shards over all databases.
    pub fn total_shards(&self) -> usize {
        self.dbs.len() << self.shard_bits
    }

    fn mutex(&self, gid: usize) -> &Mutex<Shard> {
        &self.dbs[gid >> self.shard_bits].shards[gid & ((1 << self.shard_bits) - 1)]
    }

    /// Locks the shard with global id `gid`, outside any command (background cycles, connection clean-up).
    ///
    /// A command reaches shards only through its `Ctx`, which keeps the global lock order; locking here while
    /// the thread holds a command's shards could deadlock, so debug builds assert it does not.
    pub fn lock_gid(&self, gid: usize) -> MutexGuard<'_, Shard> {
        debug_assert_eq!(held::count(), 0, "a shard locked directly while a command holds shard locks");
        self.mutex(gid).lock()
    }

    /// Locks shard `shard` of database `db`, outside any command (see [`Keyspace::lock_gid`]).
    pub fn lock(&self, db: usize, shard: usize) -> MutexGuard<'_, Shard> {
        self.lock_gid(self.global_id(db, shard))
    }

    /// Locks the shard with global id `gid` for a command's context.
    pub(crate) fn lock_held(&self, gid: usize) -> HeldShard<'_> {
        HeldShard::new(self.mutex(gid).lock())
    }

    /// Locks shard `gid` for a command's context unless it stays taken while `give_up` says so: waits in slices
    /// of 100 µs, asking `give_up` between them. Uncontended, this is a single try.
    pub(crate) fn lock_held_unless(&self, gid: usize, give_up: impl Fn() -> bool) -> Option<HeldShard<'_>> {
        let m = self.mutex(gid);
        if let Some(g) = m.try_lock() {
            return Some(HeldShard::new(g));
        }
        loop {
            if let Some(g) = m.try_lock_for(std::time::Duration::from_micros(100)) {
                return Some(HeldShard::new(g));
            }
            if give_up() {
                return None;
            }
        }
    }

    /// Tries to lock shard `gid` for a command's context for up to `patience`.
    pub(crate) fn try_lock_held_for(&self, gid: usize, patience: std::time::Duration) -> Option<HeldShard<'_>> {
        self.mutex(gid).try_lock_for(patience).map(HeldShard::new)
    }

    /// Number of keys and of keys with a TTL in `db`, from the counts each shard publishes: no lock is taken,
    /// so this is safe from any context and costs O(shards).
    pub fn db_sizes(&self, db: usize) -> (usize, usize) {
        let first = db << self.shard_bits;
        self.counts[first..first + self.shard_count()].iter().fold((0, 0), |(k, v), c| {
            let (ck, cv) = c.get();
            (k + ck, v + cv)
        })
    }

    /// Installs `hooks` on every shard: from the next change on, each change calls them (see `hooks`). Takes
    /// every shard's lock in turn, so it must not be called from inside a command.
    pub fn add_hooks(&self, hooks: Arc<dyn ChangeHooks>) {
        for gid in 0..self.total_shards() {
            self.lock_gid(gid).hooks.add(hooks.clone());
        }
    }

    /// Installs `hooks` on every shard at one instant: every shard is locked (in global order) before any of
    /// them gets the hooks, `init` prepares each shard's side state, and `at_point` runs while all are still
    /// held. A copy-on-write snapshot needs this: installing shard by shard would let a transaction spanning two
    /// shards land half before and half after the snapshot's moment. Must not be called from inside a command.
    pub fn add_hooks_at_once<R>(
        &self,
        hooks: Arc<dyn ChangeHooks>,
        mut init: impl FnMut(usize, usize, &mut ShardSide),
        at_point: impl FnOnce() -> R,
    ) -> R {
        let mut guards: Vec<MutexGuard<'_, Shard>> = (0..self.total_shards()).map(|g| self.lock_gid(g)).collect();
        let mask = self.shard_count() - 1;
        for (gid, g) in guards.iter_mut().enumerate() {
            g.hooks.add(hooks.clone());
            init(gid >> self.shard_bits, gid & mask, &mut g.side);
        }
        at_point()
    }

    /// Removes hooks installed with [`Keyspace::add_hooks`] (the same `Arc`); false when they were not installed.
    /// The state they kept in each shard's `side` stays until they, or their owner, take it out.
    pub fn remove_hooks(&self, hooks: &Arc<dyn ChangeHooks>) -> bool {
        let mut removed = false;
        for gid in 0..self.total_shards() {
            removed |= self.lock_gid(gid).hooks.remove(hooks);
        }
        removed
    }

    /// Counts a flush for statistics.
    pub fn note_flush(&self) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }
}

/// A shard guard held by a command's context (`Ctx`). Debug builds count the guards each thread holds, so the
/// direct locking paths can assert that they never run underneath a command's locks.
pub struct HeldShard<'a>(MutexGuard<'a, Shard>);

impl<'a> HeldShard<'a> {
    fn new(guard: MutexGuard<'a, Shard>) -> HeldShard<'a> {
        held::inc();
        HeldShard(guard)
    }
}

impl Drop for HeldShard<'_> {
    fn drop(&mut self) {
        held::dec();
    }
}

impl std::ops::Deref for HeldShard<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        &self.0
    }
}

impl std::ops::DerefMut for HeldShard<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        &mut self.0
    }
}

/// Shard guards held by this thread's command contexts (debug builds only; release builds compile this away).
pub(crate) mod held {
    #[cfg(debug_assertions)]
    thread_local! {
        static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[inline]
    pub fn inc() {
        #[cfg(debug_assertions)]
        HELD.with(|h| h.set(h.get() + 1));
    }

    #[inline]
    pub fn dec() {
        #[cfg(debug_assertions)]
        HELD.with(|h| h.set(h.get().saturating_sub(1)));
    }

    /// Guards held now (always 0 in release builds).
    #[inline]
    pub fn count() -> usize {
        #[cfg(debug_assertions)]
        return HELD.with(|h| h.get());
        #[cfg(not(debug_assertions))]
        0
    }
}
