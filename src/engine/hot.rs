//! The typed copies of configuration that running code reads, and the apply hooks that keep them current.
//!
//! The registry (`config`) owns parsing, validation and CONFIG SET's all-or-nothing rule; what a new value does
//! to a running server is decided here, in [`apply`], one arm per parameter that has an effect. Hot paths read
//! [`Hot`]'s atomics and never the `Config` (no lock, no string); each value has one runtime copy, written only
//! by its hook. Parameters with no arm are read where they are needed, once, at startup (port, bind, TLS files).

use super::state::Server;
use crate::config::{Apply, Config, Id, Value, PARAMS};
use crate::store::evict::Policy;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};

/// Values read on every command or by background loops, as atomics so no lock is taken for them.
#[derive(Debug, Default)]
pub struct Hot {
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicUsize,
    /// `maxmemory` in bytes; 0 = unlimited.
    pub maxmemory: AtomicU64,
    pub timeout_secs: AtomicU64,
    pub maxclients: AtomicUsize,
    /// The default user needs a password (or is off): new connections start unauthenticated. Kept by `acl`.
    pub requirepass_set: AtomicBool,
    pub protected_mode: AtomicBool,
    /// `save` has at least one point: the cron saves, SHUTDOWN saves, and a failed BGSAVE can refuse writes.
    pub save_points: AtomicBool,
    pub stop_writes_on_bgsave_error: AtomicBool,
    /// `latency-tracking`: per-command latency histograms for INFO latencystats.
    pub latency_tracking: AtomicBool,
    /// `enable-debug-command` and `enable-protected-configs` as allow levels (see `config::allows`).
    pub debug_command: AtomicU8,
    pub protected_configs: AtomicU8,
    /// `maxmemory-policy` as a [`Policy`] discriminant: read with [`Hot::policy`].
    policy: AtomicU8,
    pub maxmemory_samples: AtomicUsize,
    pub lfu_log_factor: AtomicU64,
    pub lfu_decay_time: AtomicU64,
    pub hash_max_entries: AtomicUsize,
    pub hash_max_value: AtomicUsize,
    pub set_max_intset: AtomicUsize,
    pub zset_max_entries: AtomicUsize,
    pub zset_max_value: AtomicUsize,
    pub hll_sparse_max: AtomicUsize,
    pub stream_node_max_entries: AtomicU64,
    pub stream_node_max_bytes: AtomicU64,
    /// Bytes written since `used_memory` was last read from the allocator (only counted with maxmemory set).
    /// Not configuration, but read beside `maxmemory` on every write.
    pub pending_bytes: AtomicU64,
    pub compression: AtomicBool,
    pub compression_min_size: AtomicUsize,
    pub compression_cold_secs: AtomicU64,
    /// `compression-algorithm` as a `store::compress::Algorithm` discriminant.
    pub compression_algorithm: AtomicU8,
    pub compression_zstd_secs: AtomicU64,
    /// `notify-keyspace-events` as flag bits (0 = off).
    pub notify_flags: AtomicU32,
    /// Background cycles per second, already clamped to 1..=500.
    pub hz: AtomicU64,
    /// busy-reply-threshold, milliseconds: when a running script starts answering -BUSY to others.
    pub busy_reply_ms: AtomicU64,
    pub lazyfree_user_flush: AtomicBool,
    /// `slowlog-log-slower-than`, microseconds (negative: off).
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    /// `latency-monitor-threshold`, milliseconds (0: off).
    pub latency_threshold_ms: AtomicU64,
    /// `experiment-max-users`: enrolled users per experiment.
    pub experiment_max_users: AtomicUsize,
}

impl Hot {
    /// Idle seconds after which cold values are worth zstd, `None` when the policy uses LZ4 only (see
    /// `store::compress::Algorithm::zstd_after`).
    pub fn compression_zstd_after(&self) -> Option<u32> {
        let alg = crate::store::compress::Algorithm::from_u8(self.compression_algorithm.load(Relaxed));
        let secs = |a: &AtomicU64| a.load(Relaxed).min(u32::MAX as u64) as u32;
        alg.zstd_after(secs(&self.compression_cold_secs), secs(&self.compression_zstd_secs))
    }

    /// The `maxmemory-policy`.
    #[inline]
    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Relaxed))
    }
}

/// Makes `value` of `id` effective in `srv`.
///
/// # Errors
/// `dir`: the directory cannot be entered (Redis's text, e.g. `No such file or directory`).
pub fn apply(srv: &Server, id: Id, v: &Value) -> Result<(), String> {
    let h = &srv.hot;
    match id {
        Id::Maxmemory => h.maxmemory.store(v.as_u64(), Relaxed),
        Id::MaxmemoryPolicy => h.policy.store(v.as_u64() as u8, Relaxed),
        Id::MaxmemorySamples => h.maxmemory_samples.store(v.as_usize().max(1), Relaxed),
        Id::ProtoMaxBulkLen => h.proto_max_bulk_len.store(v.as_i64(), Relaxed),
        Id::ClientQueryBufferLimit => h.query_buffer_limit.store(v.as_usize(), Relaxed),
        Id::Timeout => h.timeout_secs.store(v.as_u64(), Relaxed),
        Id::Maxclients => h.maxclients.store(v.as_usize(), Relaxed),
        Id::ProtectedMode => h.protected_mode.store(v.as_bool(), Relaxed),
        Id::Save => h.save_points.store(matches!(v, Value::Save(p) if !p.is_empty()), Relaxed),
        Id::StopWritesOnBgsaveError => h.stop_writes_on_bgsave_error.store(v.as_bool(), Relaxed),
        Id::LatencyTracking => h.latency_tracking.store(v.as_bool(), Relaxed),
        Id::SlowlogLogSlowerThan => h.slowlog_slower_than.store(v.as_i64(), Relaxed),
        Id::SlowlogMaxLen => h.slowlog_max_len.store(v.as_usize(), Relaxed),
        Id::LatencyMonitorThreshold => h.latency_threshold_ms.store(v.as_u64(), Relaxed),
        Id::ExperimentMaxUsers => h.experiment_max_users.store(v.as_usize(), Relaxed),
        Id::BusyReplyThreshold => h.busy_reply_ms.store(v.as_u64(), Relaxed),
        // The enum's index is the allow level (`config::ALLOW`).
        Id::EnableDebugCommand => h.debug_command.store(v.as_u64() as u8, Relaxed),
        Id::EnableProtectedConfigs => h.protected_configs.store(v.as_u64() as u8, Relaxed),
        Id::LfuLogFactor => h.lfu_log_factor.store(v.as_u64(), Relaxed),
        Id::LfuDecayTime => h.lfu_decay_time.store(v.as_u64(), Relaxed),
        Id::HashMaxListpackEntries => h.hash_max_entries.store(v.as_usize(), Relaxed),
        Id::HashMaxListpackValue => h.hash_max_value.store(v.as_usize(), Relaxed),
        Id::SetMaxIntsetEntries => h.set_max_intset.store(v.as_usize(), Relaxed),
        Id::ZsetMaxListpackEntries => h.zset_max_entries.store(v.as_usize(), Relaxed),
        Id::ZsetMaxListpackValue => h.zset_max_value.store(v.as_usize(), Relaxed),
        Id::HllSparseMaxBytes => h.hll_sparse_max.store(v.as_usize(), Relaxed),
        Id::StreamNodeMaxEntries => h.stream_node_max_entries.store(v.as_u64(), Relaxed),
        Id::StreamNodeMaxBytes => h.stream_node_max_bytes.store(v.as_u64(), Relaxed),
        Id::Compression => h.compression.store(v.as_bool(), Relaxed),
        Id::CompressionMinSize => h.compression_min_size.store(v.as_usize().max(16), Relaxed),
        Id::CompressionColdSeconds => h.compression_cold_secs.store(v.as_u64(), Relaxed),
        Id::CompressionAlgorithm => h.compression_algorithm.store(v.as_u64() as u8, Relaxed),
        Id::CompressionZstdSeconds => h.compression_zstd_secs.store(v.as_u64(), Relaxed),
        Id::WarmSample => srv.warm.set_sample(v.as_u64()),
        Id::WarmWindowMs => srv.warm.set_window_ms(v.as_u64()),
        Id::AdaptiveTtl => {
            let list = crate::store::keymeta::PrefixPolicies::parse(v.as_str())?;
            srv.keyspace.meta.prefixes.set(list);
        }
        Id::TrackingTableMaxKeys => srv.tracking.set_max_keys(v.as_usize()),
        Id::Hz => h.hz.store(v.as_u64().clamp(1, 500), Relaxed),
        Id::LazyfreeLazyUserFlush => h.lazyfree_user_flush.store(v.as_bool(), Relaxed),
        Id::NotifyKeyspaceEvents => {
            if let Value::Events(flags) = v {
                h.notify_flags.store(*flags, Relaxed);
            }
        }
        Id::ClientOutputBufferLimit => {
            if let Value::OutputLimits(limits) = v {
                srv.pubsub.limits.apply(limits);
            }
        }
        Id::ReplBacklogSize => srv.effects.set_backlog_size(v.as_u64()),
        // Index 0 of `config::PUBSUB_DEFAULT` is `allchannels`.
        Id::AclPubsubDefault => srv.acl.set_pubsub_default(v.as_u64() == 0),
        Id::AcllogMaxLen => srv.acl.set_log_max_len(v.as_usize()),
        // As Redis's: setting requirepass sets the default user's password, and nothing else touches it.
        Id::Requirepass => {
            let pass = v.as_str();
            super::acl::set_default_password(srv, (!pass.is_empty()).then_some(pass.as_bytes()));
        }
        Id::Appendonly => srv.set_appendonly(v.as_bool())?,
        Id::BackupSchedule => srv.set_backup_schedule(v.as_str())?,
        Id::BackupRetention => srv.set_backup_retention(v.as_str())?,
        Id::Appendfsync => srv.changelog.set_policy(v.as_u64() as u8),
        Id::Dir => std::env::set_current_dir(v.as_str()).map_err(|e| os_error_text(&e))?,
        _ => {}
    }
    Ok(())
}

/// Pushes every value of `cfg` into `srv` when the server is built. Three hooks are left out: `dir` (the server
/// runs where it was started; only CONFIG SET changes directory), `appendonly` (startup opens the log after
/// loading) and an empty `requirepass` (the default user keeps whatever the ACL setup gave it).
pub fn apply_startup(srv: &Server, cfg: &Config) {
    for p in PARAMS {
        let v = cfg.value(p.id);
        // `appendonly` opens the change log only after the snapshot has loaded (`open_changelog_at_startup`).
        let skip = p.id == Id::Dir || p.id == Id::Appendonly || (p.id == Id::Requirepass && v.as_str().is_empty());
        if !skip {
            if let Err(e) = apply(srv, p.id, v) {
                tracing::warn!("{}: {e}", p.name);
            }
        }
    }
}

/// The hooks of one server, as CONFIG SET hands them to the registry.
pub struct Hooks<'a>(pub &'a Server);

impl Apply for Hooks<'_> {
    fn apply(&self, id: Id, value: &Value) -> Result<(), String> {
        apply(self.0, id, value)
    }
}

/// An OS error as C's `strerror` words it (Rust appends ` (os error N)`), since Redis puts that text in replies.
pub(crate) fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_errors_read_like_strerror() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(super::os_error_text(&e), "No such file or directory");
    }
}
