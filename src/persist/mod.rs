//! Snapshot persistence: SAVE, BGSAVE, loading at startup (docs/PERSISTENCE.md).
//!
//! - `backup`: backups on local disk (manifests, chains, verification).
//! - `changelog`: the change log's segment files (checksummed records of the write-effect stream).
//! - `remote`: backups in S3-compatible object storage (object_store).
//! - `seal`: a backup file's compression and AES-256-GCM encryption.
//! - `format`: the file format (header, checksummed LZ4 blocks of bincode records, trailer) and its reader.
//! - `rdb`: Redis's RDB encoding of one value (DUMP and RESTORE payloads); not used by snapshots.
//! - `warming`: a warm restart's pending keys and progress (the snapshot's second, background pass).
//!
//! This module depends on the store and the effect log only; the server's commands and cron drive it.

pub mod backup;
pub mod changelog;
pub mod format;
pub mod rdb;
pub mod remote;
pub mod seal;
pub mod snapshot;
pub mod warming;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Persistence status shared by the commands, the cron, the gate and INFO (Redis's `rdb_*` and `loading_*`).
#[derive(Debug)]
pub struct Status {
    /// A snapshot is being loaded: commands without the LOADING flag get `-LOADING`.
    pub loading: AtomicBool,
    pub loading_started_unix: AtomicU64,
    pub loading_total_bytes: AtomicU64,
    pub loading_loaded_bytes: AtomicU64,
    pub last_load_keys_loaded: AtomicU64,
    /// Values the last load put straight into the compressed tier.
    pub last_load_keys_compressed: AtomicU64,
    pub last_load_keys_expired: AtomicU64,
    /// A warm restart's second pass (`warm-restart yes`).
    pub warming: warming::Warming,
    /// A background save is running (only one at a time, as in Redis).
    pub bgsave_in_progress: AtomicBool,
    /// BGSAVE SCHEDULE asked for a save while another was running; the cron starts it when that one ends.
    pub bgsave_scheduled: AtomicBool,
    pub bgsave_started_ms: AtomicU64,
    /// Whether the last background save succeeded; a failure refuses writes (MISCONF) until one succeeds.
    pub last_bgsave_ok: AtomicBool,
    /// When the last background save was tried, unix ms (a failed one is retried only after a pause).
    pub last_bgsave_try_ms: AtomicU64,
    pub last_bgsave_time_sec: AtomicI64,
    pub saves: AtomicU64,
    /// Keys written by the save in progress, and the keyspace's size when it started.
    pub save_keys_processed: AtomicU64,
    pub save_keys_total: AtomicU64,
}

impl Default for Status {
    fn default() -> Status {
        Status {
            loading: AtomicBool::new(false),
            loading_started_unix: AtomicU64::new(0),
            loading_total_bytes: AtomicU64::new(0),
            loading_loaded_bytes: AtomicU64::new(0),
            last_load_keys_loaded: AtomicU64::new(0),
            last_load_keys_compressed: AtomicU64::new(0),
            last_load_keys_expired: AtomicU64::new(0),
            warming: warming::Warming::default(),
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_scheduled: AtomicBool::new(false),
            bgsave_started_ms: AtomicU64::new(0),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_try_ms: AtomicU64::new(0),
            last_bgsave_time_sec: AtomicI64::new(-1),
            saves: AtomicU64::new(0),
            save_keys_processed: AtomicU64::new(0),
            save_keys_total: AtomicU64::new(0),
        }
    }
}

impl Status {
    /// True while a snapshot loads.
    #[inline]
    pub fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Relaxed)
    }
}
