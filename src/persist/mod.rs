//! Snapshot persistence: SAVE, BGSAVE, loading at startup (docs/PERSISTENCE.md).
//!
//! - `format`: the file format (header, checksummed LZ4 blocks of bincode records, trailer) and its reader.
//!
//! This module depends on the store and the effect log only; the server's commands and cron drive it.

pub mod format;
