//! The keyspace: `databases` logical databases, each split into a power-of-two number of shards.
//!
//! - `dict`: the slab-backed key table (stable slots for SCAN and sampling).
//! - `value`: values, entries, type and encoding names.
//! - `shard`: one shard's data and WATCH registrations, under one lock.
//! - `change`: the one keyspace-change path every modification goes through.
//! - `expire`: the active expiry cycle.
//! - `bits`: bitmap and LCS algorithms on byte strings.
//!
//! Locking: a shard is a `parking_lot::Mutex<Shard>`. Commands that touch several shards take them in ascending
//! global order (`db * shards + shard`), so no two commands can deadlock and no interleaving is observable.

pub mod bits;
pub mod change;
pub mod compress;
pub mod dict;
pub mod evict;
pub mod expire;
pub mod lfu;
pub mod shard;
pub mod types;
pub mod value;

use parking_lot::{Mutex, MutexGuard};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

pub use shard::{Shard, ShardData, WatchFlag};
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
    /// Bumped by every FLUSHALL/FLUSHDB/SWAPDB, for `INFO` and tests.
    pub flushes: AtomicU64,
}

impl Keyspace {
    /// A keyspace of `databases` databases with `2^shard_bits` shards each.
    pub fn new(databases: usize, shard_bits: u32) -> Keyspace {
        let n = 1usize << shard_bits;
        let dbs = (0..databases.max(1))
            .map(|_| Db { shards: (0..n).map(|_| Mutex::new(Shard::default())).collect() })
            .collect();
        Keyspace { dbs, shard_bits, flushes: AtomicU64::new(0) }
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

    /// Locks the shard with global id `gid`.
    pub fn lock_gid(&self, gid: usize) -> MutexGuard<'_, Shard> {
        self.dbs[gid >> self.shard_bits].shards[gid & ((1 << self.shard_bits) - 1)].lock()
    }

    /// Locks shard `shard` of database `db`.
    pub fn lock(&self, db: usize, shard: usize) -> MutexGuard<'_, Shard> {
        self.dbs[db].shards[shard].lock()
    }

    /// Number of keys and of keys with a TTL in `db`, taking each shard's lock in turn.
    pub fn db_sizes(&self, db: usize) -> (usize, usize) {
        let mut keys = 0;
        let mut volatile = 0;
        for s in self.dbs[db].shards.iter() {
            let g = s.lock();
            keys += g.data.dict.len();
            volatile += g.data.volatile_len();
        }
        (keys, volatile)
    }

    /// Counts a flush for statistics.
    pub fn note_flush(&self) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }
}
