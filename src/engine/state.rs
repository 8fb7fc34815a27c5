//! [`Server`]: the state shared by every session: keyspace, config, statistics, registries, the effect log.

use super::client::ClientRegistry;
use super::{blocking, notify, pubsub, table::CommandTable, tracking};
use crate::config::Config;
use crate::effects::EffectLog;
use crate::store::Keyspace;
use crate::util::clock::unix_ms;
use crate::util::striped::Counter;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::{watch, Notify};

impl crate::store::change::ChangeListener for Server {
    fn key_changed(&self, change: &crate::store::change::KeyChange<'_>) {
        if let Some(event) = change.event {
            notify::notify(self, change.db, change.key, event);
        }
        self.tracking.invalidate(&self.clients, &self.pubsub, change.key, change.client);
    }

    fn effect_log(&self) -> Option<&crate::effects::EffectLog> {
        Some(&self.effects)
    }
}

/// Server-wide counters (INFO stats).
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: Counter,
    pub rejected_connections: AtomicU64,
    pub expired_keys: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub keyspace_hits: Counter,
    pub keyspace_misses: Counter,
    pub net_input_bytes: Counter,
    pub net_output_bytes: Counter,
    pub error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub expire_cycle_cpu_ms: AtomicU64,
    pub io_reads: Counter,
    pub io_writes: Counter,
    /// Error replies by code (INFO errorstats).
    pub errors: Mutex<HashMap<String, u64>>,
}

impl Stats {
    /// Counts an error reply under its code.
    pub fn count_error(&self, code: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        *self.errors.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.expired_keys,
            &self.evicted_keys,
            &self.error_replies,
            &self.unexpected_error_replies,
            &self.expire_cycle_cpu_ms,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        for c in [
            &self.commands_processed,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            c.reset();
        }
        self.errors.lock().clear();
    }
}

/// How SHUTDOWN asked the server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShutdownRequest {
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

/// CLIENT PAUSE state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pause {
    /// Unix ms until which clients are paused; 0 when not paused.
    pub until_ms: u64,
    /// Only write commands are paused (`CLIENT PAUSE ... WRITE`).
    pub writes_only: bool,
}

/// Values read on every command, mirrored from the config so no lock is taken for them.
#[derive(Debug, Default)]
pub struct Hot {
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicUsize,
    pub maxmemory: AtomicU64,
    pub timeout_secs: AtomicU64,
    pub maxclients: AtomicUsize,
    /// The default user needs a password (or is off): new connections start unauthenticated. Kept by `acl`.
    pub requirepass_set: AtomicBool,
    pub protected_mode: AtomicBool,
    /// `latency-tracking`: per-command latency histograms for INFO latencystats.
    pub latency_tracking: AtomicBool,
    /// `enable-debug-command` and `enable-protected-configs` (see `config::allow_level`).
    pub debug_command: std::sync::atomic::AtomicU8,
    pub protected_configs: std::sync::atomic::AtomicU8,
    /// An LFU maxmemory policy is selected: accesses update the LFU counter.
    pub lfu: AtomicBool,
    pub lfu_log_factor: AtomicU64,
    pub lfu_decay_time: AtomicU64,
    pub hash_max_entries: AtomicUsize,
    pub hash_max_value: AtomicUsize,
    pub set_max_intset: AtomicUsize,
    pub zset_max_entries: AtomicUsize,
    pub zset_max_value: AtomicUsize,
    pub hll_sparse_max: AtomicUsize,
    /// The `maxmemory-policy`, as `store::evict::Policy` discriminant.
    pub policy: Mutex<Option<crate::store::evict::Policy>>,
    pub maxmemory_samples: AtomicUsize,
    /// Bytes written since `used_memory` was last read from the allocator (only counted with maxmemory set).
    pub pending_bytes: AtomicU64,
    pub compression: AtomicBool,
    pub compression_min_size: AtomicUsize,
    pub compression_cold_secs: AtomicU64,
    /// `notify-keyspace-events` as flag bits (0 = off).
    pub notify_flags: std::sync::atomic::AtomicU32,
}

/// State shared by every connection and background task.
#[derive(Debug)]
pub struct Server {
    /// The command table every session's commands are looked up in.
    pub table: &'static CommandTable,
    /// Calls, time, errors and latency per command, by command id: the server's, not the process's, so servers
    /// sharing a process (tests) keep their own.
    pub command_stats: Box<[super::table::CommandStats]>,
    pub config: RwLock<Config>,
    pub hot: Hot,
    pub keyspace: Keyspace,
    /// ACL users and the ACL log.
    pub acl: crate::engine::acl::Acl,
    pub effects: std::sync::Arc<EffectLog>,
    pub clients: ClientRegistry,
    pub blocking: blocking::Blocking,
    pub pubsub: pubsub::PubSub,
    pub tracking: tracking::Tracking,
    /// The compressed cold tier.
    pub tier: crate::store::compress::Tier,
    pub stats: Stats,
    pub started: Instant,
    pub started_unix_ms: u64,
    /// Set once a shutdown was requested (read on every command; the watch channel is for waiting).
    shutting_down: AtomicBool,
    pub run_id: String,
    /// Port actually bound (differs from the config when it says 0).
    pub port: std::sync::atomic::AtomicU16,
    pub active_expire: AtomicBool,
    pub lastsave_unix: AtomicU64,
    pub changes_since_save: AtomicU64,
    pub pause: Mutex<Pause>,
    pub unpaused: Notify,
    pub memory_peak: AtomicU64,
    /// Allocated bytes right after startup (INFO used_memory_startup).
    pub startup_memory: u64,
    /// Allocated bytes as last read from the allocator (refreshed by the cron and by INFO).
    pub used_memory: AtomicU64,
    /// The best eviction candidates seen so far; one evicting worker at a time, as in Redis.
    evict_pool: parking_lot::Mutex<crate::store::evict::EvictionPool>,
    /// Samples for the instantaneous_* INFO fields: (unix ms, commands, input bytes, output bytes).
    pub samples: Mutex<std::collections::VecDeque<(u64, u64, u64, u64)>>,
    shutdown_tx: watch::Sender<Option<ShutdownRequest>>,
}

impl Server {
    /// The statistics of `cmd`.
    #[inline]
    pub fn stats_of(&self, cmd: &super::table::Command) -> &super::table::CommandStats {
        &self.command_stats[cmd.id]
    }

    /// Builds the shared state from a configuration.
    /// A server over `config`, running the commands of `table` (from `commands::table()`).
    pub fn new(config: Config, table: &'static CommandTable) -> Server {
        let c = &config.cached;
        let keyspace = Keyspace::new(c.databases, c.shard_bits);
        let (shutdown_tx, _) = watch::channel(None);
        let run_id = {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (0..40).map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)])).collect()
        };
        let srv = Server {
            table,
            command_stats: table.commands.iter().map(|_| Default::default()).collect(),
            hot: Hot::default(),
            keyspace,
            acl: crate::engine::acl::Acl::new(),
            effects: std::sync::Arc::new(EffectLog::default()),
            clients: ClientRegistry::default(),
            blocking: Default::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            tier: Default::default(),
            stats: Stats::default(),
            started: Instant::now(),
            started_unix_ms: unix_ms(),
            shutting_down: AtomicBool::new(false),
            run_id,
            port: std::sync::atomic::AtomicU16::new(c.port),
            active_expire: AtomicBool::new(true),
            // As in Redis, the dataset counts as saved at startup.
            lastsave_unix: AtomicU64::new(unix_ms() / 1000),
            changes_since_save: AtomicU64::new(0),
            pause: Mutex::new(Pause::default()),
            unpaused: Notify::new(),
            memory_peak: AtomicU64::new(0),
            startup_memory: crate::memory::used_memory(),
            used_memory: AtomicU64::new(crate::memory::used_memory()),
            evict_pool: Default::default(),
            samples: Mutex::new(Default::default()),
            shutdown_tx,
            config: RwLock::new(config),
        };
        srv.refresh_hot();
        let pass = srv.config.read().cached.requirepass.clone();
        if let Some(p) = pass {
            crate::engine::acl::set_default_password(&srv, Some(&p));
        }
        srv
    }

    /// Re-reads the hot values after a config change.
    pub fn refresh_hot(&self) {
        let cfg = self.config.read();
        let c = &cfg.cached;
        self.hot.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.hot.query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.hot.maxmemory.store(c.maxmemory, Ordering::Relaxed);
        self.hot.timeout_secs.store(c.timeout_secs, Ordering::Relaxed);
        self.hot.maxclients.store(c.maxclients, Ordering::Relaxed);
        self.hot.protected_mode.store(cfg.get("protected-mode") == Some("yes"), Ordering::Relaxed);
        self.hot.latency_tracking.store(cfg.get("latency-tracking") == Some("yes"), Ordering::Relaxed);
        self.hot.debug_command.store(crate::config::allow_level(cfg.get("enable-debug-command")), Ordering::Relaxed);
        let protected = crate::config::allow_level(cfg.get("enable-protected-configs"));
        self.hot.protected_configs.store(protected, Ordering::Relaxed);
        let int = |n: &str| cfg.get(n).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        self.pubsub.limits.apply(cfg.get("client-output-buffer-limit").unwrap_or(""));
        self.hot.lfu.store(cfg.get("maxmemory-policy").is_some_and(|p| p.contains("lfu")), Ordering::Relaxed);
        self.hot.lfu_log_factor.store(int("lfu-log-factor"), Ordering::Relaxed);
        self.hot.lfu_decay_time.store(int("lfu-decay-time"), Ordering::Relaxed);
        let us = |n: &str| int(n) as usize;
        self.hot.hash_max_entries.store(us("hash-max-listpack-entries"), Ordering::Relaxed);
        self.hot.hash_max_value.store(us("hash-max-listpack-value"), Ordering::Relaxed);
        self.hot.set_max_intset.store(us("set-max-intset-entries"), Ordering::Relaxed);
        self.hot.zset_max_entries.store(us("zset-max-listpack-entries"), Ordering::Relaxed);
        self.hot.zset_max_value.store(us("zset-max-listpack-value"), Ordering::Relaxed);
        self.hot.hll_sparse_max.store(us("hll-sparse-max-bytes"), Ordering::Relaxed);
        *self.hot.policy.lock() =
            Some(crate::store::evict::Policy::parse(cfg.get("maxmemory-policy").unwrap_or("noeviction")));
        self.hot.maxmemory_samples.store(us("maxmemory-samples").max(1), Ordering::Relaxed);
        self.hot.compression.store(cfg.get("compression") == Some("yes"), Ordering::Relaxed);
        self.hot.compression_min_size.store(us("compression-min-size").max(16), Ordering::Relaxed);
        self.hot.compression_cold_secs.store(int("compression-cold-seconds"), Ordering::Relaxed);
        self.effects.set_backlog_size(int("repl-backlog-size"));
        let nk = crate::store::event::parse_flags(cfg.get("notify-keyspace-events").unwrap_or("")).unwrap_or(0);
        self.hot.notify_flags.store(nk, Ordering::Relaxed);
        self.acl.configure(cfg.get("acl-pubsub-default") == Some("allchannels"), us("acllog-max-len"));
    }

    /// Redis's protected mode: with `protected-mode yes` and a default user without a password (`nopass`), only
    /// clients on the loopback interface are accepted.
    pub fn protected_mode_denies(&self, peer: &std::net::SocketAddr) -> bool {
        self.hot.protected_mode.load(Ordering::Relaxed) && self.acl.default_user_nopass() && !is_loopback(peer.ip())
    }

    /// Asks the server to stop.
    pub fn request_shutdown(&self, req: ShutdownRequest) {
        self.shutdown_tx.send_replace(Some(req));
        self.shutting_down.store(true, Ordering::Release);
        self.clients.wake_all();
    }

    /// Resolves once a shutdown was requested.
    pub fn shutdown_watch(&self) -> watch::Receiver<Option<ShutdownRequest>> {
        self.shutdown_tx.subscribe()
    }

    /// True once a shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The LRU clock: seconds since start, as stored in entries' access field.
    pub fn lru_clock(&self) -> u32 {
        self.lru_clock_at(unix_ms())
    }

    /// The LRU clock at unix time `now_ms` (wall time, as Redis's LRU clock).
    #[inline]
    pub fn lru_clock_at(&self, now_ms: u64) -> u32 {
        (now_ms.saturating_sub(self.started_unix_ms) / 1000) as u32
    }

    /// Reads the allocator's figure now and caches it.
    pub fn refresh_used_memory(&self) -> u64 {
        let used = crate::memory::used_memory();
        self.used_memory.store(used, Ordering::Relaxed);
        self.note_memory_peak(used);
        used
    }

    /// True when `maxmemory` is set and the dataset is over it (commands flagged DENYOOM are then refused).
    pub fn over_maxmemory(&self) -> bool {
        let max = self.hot.maxmemory.load(Ordering::Relaxed);
        max != 0 && self.used_memory.load(Ordering::Relaxed) > max
    }

    /// Counts bytes a write brings in, so the memory check between allocator readings stays close (only when
    /// `maxmemory` is set).
    pub fn note_written(&self, args: &[bytes::Bytes]) {
        if self.hot.maxmemory.load(Ordering::Relaxed) != 0 {
            let bytes: u64 = args.iter().map(|a| a.len() as u64 + 16).sum();
            self.hot.pending_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Brings memory under `maxmemory` by evicting keys per the policy (Redis's performEvictions, run before each
    /// command). Returns false when memory is still over the limit (nothing evictable, or noeviction).
    pub fn perform_evictions(&self) -> bool {
        let max = self.hot.maxmemory.load(Ordering::Relaxed);
        if max == 0 {
            return true;
        }
        let estimate = self.used_memory.load(Ordering::Relaxed) + self.hot.pending_bytes.load(Ordering::Relaxed);
        if estimate <= max {
            return true;
        }
        self.hot.pending_bytes.store(0, Ordering::Relaxed);
        if self.refresh_used_memory() <= max {
            return true;
        }
        let policy = self.hot.policy.lock().unwrap_or(crate::store::evict::Policy::NoEviction);
        let params = crate::store::evict::EvictParams {
            policy,
            samples: self.hot.maxmemory_samples.load(Ordering::Relaxed),
            lru_now: self.lru_clock(),
            lfu_decay_minutes: self.hot.lfu_decay_time.load(Ordering::Relaxed),
        };
        let mut rng = rand::thread_rng();
        let mut pool = self.evict_pool.lock();
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        // Another worker may have evicted while this one waited for the pool: its reading is the newest.
        let mut used = self.used_memory.load(Ordering::Relaxed);
        // A little beyond the excess, so the next few writes do not each pay an allocator reading; the pool keeps
        // those extra victims the best ones.
        let slack = (max / 512).min(1 << 20);
        loop {
            let mut to_free = (used.saturating_sub(max) + slack) as i64;
            let mut freed_total = 0;
            while to_free > 0 {
                let evict = crate::store::evict::evict_one;
                let Some(freed) = evict(&self.keyspace, self, &self.effects, &mut pool, params, &mut rng) else {
                    return self.refresh_used_memory() <= max;
                };
                self.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
                to_free -= freed as i64;
                freed_total += freed;
            }
            if used.saturating_sub(freed_total) + slack / 2 <= max {
                // Trust the estimate until the next check: a short one makes that check read the allocator again.
                self.used_memory.store(used - freed_total.min(used), Ordering::Relaxed);
                return true;
            }
            used = self.refresh_used_memory();
            if used <= max {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
        }
    }

    /// Compact-encoding limits for hashes.
    pub fn hash_limits(&self) -> crate::store::types::HashLimits {
        crate::store::types::HashLimits {
            max_entries: self.hot.hash_max_entries.load(Ordering::Relaxed),
            max_value: self.hot.hash_max_value.load(Ordering::Relaxed),
        }
    }

    /// Compact-encoding limits for sorted sets.
    pub fn zset_limits(&self) -> crate::store::types::ZsetLimits {
        crate::store::types::ZsetLimits {
            max_entries: self.hot.zset_max_entries.load(Ordering::Relaxed),
            max_value: self.hot.zset_max_value.load(Ordering::Relaxed),
        }
    }

    /// Records a memory reading and returns the peak so far.
    pub fn note_memory_peak(&self, used: u64) -> u64 {
        self.memory_peak.fetch_max(used, Ordering::Relaxed).max(used)
    }

    /// Takes a sample of the counters behind the instantaneous_* fields (called by the cron).
    pub fn sample_rates(&self) {
        let s = (
            unix_ms(),
            self.stats.commands_processed.get(),
            self.stats.net_input_bytes.get(),
            self.stats.net_output_bytes.get(),
        );
        let mut q = self.samples.lock();
        q.push_back(s);
        while q.len() > 16 {
            q.pop_front();
        }
    }

    /// (ops/sec, input kbps, output kbps) over the recent samples.
    pub fn instantaneous(&self) -> (u64, f64, f64) {
        let q = self.samples.lock();
        let (Some(a), Some(b)) = (q.front(), q.back()) else { return (0, 0.0, 0.0) };
        let dt = (b.0.saturating_sub(a.0)) as f64 / 1000.0;
        if dt <= 0.0 {
            return (0, 0.0, 0.0);
        }
        (((b.1 - a.1) as f64 / dt) as u64, (b.2 - a.2) as f64 / dt / 1024.0, (b.3 - a.3) as f64 / dt / 1024.0)
    }

    /// Whether clients are paused now for a command that `is_write`s.
    pub fn paused_for(&self, is_write: bool, now_ms: u64) -> Option<u64> {
        let p = *self.pause.lock();
        if p.until_ms > now_ms && (is_write || !p.writes_only) {
            Some(p.until_ms)
        } else {
            None
        }
    }
}

/// Loopback as Redis's `connIsLocal` sees it: 127.0.0.0/8 and ::1 (also IPv4-mapped).
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}
