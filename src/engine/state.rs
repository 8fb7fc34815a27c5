//! [`Server`]: the state shared by every session: keyspace, config, statistics, registries, the effect log.

use super::client::ClientRegistry;
use super::hot::Hot;
use super::{blocking, notify, pubsub, table::CommandTable, tracking};
use crate::config::Config;
use crate::effects::EffectLog;
use crate::store::Keyspace;
use crate::util::clock::unix_ms;
use crate::util::striped::Counter;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::{watch, Notify};

impl crate::store::change::ChangeListener for Server {
    fn key_changed(&self, change: &crate::store::change::KeyChange<'_>) {
        if let Some(event) = change.event {
            notify::notify(self, change.db, change.key, event);
        }
        self.tracking.invalidate(&self.clients, &self.pubsub, change.key, change.client);
        use crate::store::change::ChangeKind;
        if matches!(change.kind, ChangeKind::Expire | ChangeKind::Evict) && self.blocking.count() > 0 {
            self.blocking.note_gone(change.db, change.key);
        }
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
    /// The share of volatile keys the expiry cycle sampled that had already expired, in percent, as an
    /// exponential average over cycles (Redis's `expired_stale_perc`); f64 bits.
    pub expired_stale_perc_bits: AtomicU64,
    /// Expiry cycles that ran out of time with keys still due (`expired_time_cap_reached_count`).
    pub expired_time_cap_reached: AtomicU64,
    /// EXP.*: experiments created, users assigned (sticky answers included), outcomes recorded, experiments
    /// that completed themselves (INFO stats).
    pub experiments_created: Counter,
    pub experiment_assignments: Counter,
    pub experiment_events: Counter,
    pub experiment_auto_stops: Counter,
    /// Error replies by code (INFO errorstats).
    pub errors: Mutex<HashMap<String, u64>>,
}

impl Stats {
    /// Counts an error reply under its code.
    pub fn count_error(&self, code: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        *self.errors.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    /// INFO's `expired_stale_perc`.
    pub fn expired_stale_perc(&self) -> f64 {
        f64::from_bits(self.expired_stale_perc_bits.load(Ordering::Relaxed))
    }

    /// Folds one expiry cycle's sample into `expired_stale_perc` (Redis weighs each cycle by 5%).
    pub fn note_expiry_cycle(&self, sampled: u64, expired: u64, time_cap_reached: bool) {
        if sampled > 0 {
            let now = expired as f64 * 100.0 / sampled as f64;
            let avg = self.expired_stale_perc() * 0.95 + now * 0.05;
            self.expired_stale_perc_bits.store(avg.to_bits(), Ordering::Relaxed);
        }
        if time_cap_reached {
            self.expired_time_cap_reached.fetch_add(1, Ordering::Relaxed);
        }
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
            &self.expired_stale_perc_bits,
            &self.expired_time_cap_reached,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        for c in [
            &self.commands_processed,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.experiments_created,
            &self.experiment_assignments,
            &self.experiment_events,
            &self.experiment_auto_stops,
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

/// Where the LRU clock starts: an idle time up to this many seconds (2^24, about 194 days, the range of Redis's
/// 24-bit clock) can be given to a key just after start (RESTORE IDLETIME, a snapshot's idle times) and read back
/// by OBJECT IDLETIME, instead of being cut to the server's uptime.
pub const LRU_CLOCK_BASE: u32 = 1 << 24;

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
    /// Predictive warming's model and counters (`engine/warm.rs`).
    pub warm: crate::engine::warm::Warm,
    pub stats: Stats,
    pub started: Instant,
    pub started_unix_ms: u64,
    /// Set once a shutdown was requested (read on every command; the watch channel is for waiting).
    shutting_down: AtomicBool,
    pub run_id: String,
    /// Port actually bound (differs from the config when it says 0).
    pub port: std::sync::atomic::AtomicU16,
    pub active_expire: AtomicBool,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call commands flagged `noscript` (Redis's tests use it).
    pub scripts_may_call_any: AtomicBool,
    /// DEBUG PAUSE-CRON: the periodic work (expiry, eviction of tracked keys, compression...) is skipped.
    pub cron_paused: AtomicBool,
    pub lastsave_unix: AtomicU64,
    pub changes_since_save: AtomicU64,
    pub pause: Mutex<Pause>,
    pub unpaused: Notify,
    /// Clients whose command waits for CLIENT PAUSE to end (counted in INFO blocked_clients, as Redis does).
    pub paused_clients: AtomicUsize,
    pub memory_peak: AtomicU64,
    /// Allocated bytes right after startup (INFO used_memory_startup).
    pub startup_memory: u64,
    /// Allocated bytes as last read from the allocator (refreshed by the cron and by INFO).
    pub used_memory: AtomicU64,
    /// The best eviction candidates seen so far; one evicting worker at a time, as in Redis.
    evict_pool: parking_lot::Mutex<crate::store::evict::EvictionPool>,
    /// Set when an eviction pass ran out of time still over the limit: the cron goes on with it (Redis's eviction
    /// time proc) even if no command comes.
    eviction_unfinished: AtomicBool,
    /// Samples for the instantaneous_* INFO fields: (unix ms, commands, input bytes, output bytes).
    pub samples: Mutex<std::collections::VecDeque<(u64, u64, u64, u64)>>,
    shutdown_tx: watch::Sender<Option<ShutdownRequest>>,
    /// Snapshot status: loading, background saves, their outcome (INFO persistence, -LOADING, -MISCONF).
    pub persistence: crate::persist::Status,
    /// The change log (`appendonly`): its writer and status.
    pub changelog: super::changelog::ChangeLog,
    /// Backup outcomes (BACKUP STATUS, INFO).
    pub backups: super::backup::BackupStatus,
    /// Lua scripting: the VM, its thread, the running script's state and FUNCTION libraries.
    pub scripts: crate::engine::script::Scripts,
    /// SLOWLOG's entries.
    pub slowlog: super::slowlog::SlowLog,
    /// LATENCY's event series.
    pub latency_monitor: super::latency_monitor::LatencyMonitor,
    /// HEALTH's windows and history.
    pub health: super::health::Health,
    /// The server's own shared handle, set by `start` once it is in an `Arc`, for work that outlives a command
    /// (a BGSAVE thread).
    pub this: std::sync::OnceLock<std::sync::Weak<Server>>,
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
        use crate::config::Id;
        let keyspace = Keyspace::new(config.u64(Id::Databases).max(1) as usize, config.shard_bits());
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
            warm: Default::default(),
            stats: Stats::default(),
            started: Instant::now(),
            started_unix_ms: unix_ms(),
            shutting_down: AtomicBool::new(false),
            run_id,
            port: std::sync::atomic::AtomicU16::new(config.u64(Id::Port) as u16),
            active_expire: AtomicBool::new(true),
            scripts_may_call_any: AtomicBool::new(false),
            cron_paused: AtomicBool::new(false),
            // As in Redis, the dataset counts as saved at startup.
            lastsave_unix: AtomicU64::new(unix_ms() / 1000),
            changes_since_save: AtomicU64::new(0),
            pause: Mutex::new(Pause::default()),
            unpaused: Notify::new(),
            paused_clients: AtomicUsize::new(0),
            memory_peak: AtomicU64::new(0),
            startup_memory: crate::memory::used_memory(),
            used_memory: AtomicU64::new(crate::memory::used_memory()),
            evict_pool: Default::default(),
            eviction_unfinished: AtomicBool::new(false),
            samples: Mutex::new(Default::default()),
            shutdown_tx,
            persistence: Default::default(),
            changelog: super::changelog::ChangeLog::new(&config),
            backups: Default::default(),
            scripts: Default::default(),
            slowlog: Default::default(),
            latency_monitor: Default::default(),
            health: Default::default(),
            this: std::sync::OnceLock::new(),
            config: RwLock::new(config),
        };
        super::hot::apply_startup(&srv, &srv.config.read());
        srv
    }

    /// Redis's protected mode: with `protected-mode yes` and a default user without a password (`nopass`), only
    /// clients on the loopback interface are accepted.
    pub fn protected_mode_denies(&self, peer: &std::net::SocketAddr) -> bool {
        self.hot.protected_mode.load(Ordering::Relaxed) && self.acl.default_user_nopass() && !is_loopback(peer.ip())
    }

    /// Asks the server to stop.
    pub fn request_shutdown(&self, req: ShutdownRequest) {
        // A script that loops would keep the server from ever stopping; Redis's SHUTDOWN NOSAVE kills it too.
        self.scripts.state.force_kill();
        // What the log buffered reaches the disk before the process may exit.
        self.changelog.close();
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

    /// The LRU clock: seconds since start plus [`LRU_CLOCK_BASE`], as stored in entries' access field.
    pub fn lru_clock(&self) -> u32 {
        self.lru_clock_at(unix_ms())
    }

    /// The LRU clock at unix time `now_ms` (wall time, as Redis's LRU clock).
    #[inline]
    pub fn lru_clock_at(&self, now_ms: u64) -> u32 {
        LRU_CLOCK_BASE.saturating_add((now_ms.saturating_sub(self.started_unix_ms) / 1000) as u32)
    }

    /// Reads the allocator's figure now and caches it. The Lua VM's own allocations are left out, as in Redis,
    /// whose Lua allocates outside the counted allocator (INFO reports it as used_memory_vm_eval): the first EVAL
    /// (about 600 KB of VM) or a script's garbage must not evict keys or refuse writes.
    pub fn refresh_used_memory(&self) -> u64 {
        let lua = self.scripts.usage.lua_bytes.load(Ordering::Relaxed);
        let used = crate::memory::used_memory().saturating_sub(lua);
        self.used_memory.store(used, Ordering::Relaxed);
        self.note_memory_peak(used);
        used
    }

    /// Allocated bytes that `maxmemory` does not count (Redis's freeMemoryGetNotCountedMemory): a dictionary
    /// training's samples, held for a few seconds on a thread of their own, which evicting keys cannot reclaim.
    pub fn not_counted_for_evict(&self) -> u64 {
        self.tier.training_bytes()
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
    /// command). Returns false when memory is still over the limit with nothing left to evict (or noeviction). A
    /// pass that runs out of time while it still frees memory returns true, as Redis's EVICT_RUNNING does not
    /// refuse the command: a slow pass under load is not out of memory, and the cron (or the next command) goes on.
    pub fn perform_evictions(&self) -> bool {
        let max = match self.hot.maxmemory.load(Ordering::Relaxed) {
            0 => return true,
            max => max + self.not_counted_for_evict(),
        };
        let estimate = self.used_memory.load(Ordering::Relaxed) + self.hot.pending_bytes.load(Ordering::Relaxed);
        if estimate <= max {
            return true;
        }
        self.hot.pending_bytes.store(0, Ordering::Relaxed);
        if self.refresh_used_memory() <= max {
            return true;
        }
        let started = Instant::now();
        let fits = self.evict_down_to(max);
        let ms = started.elapsed().as_millis() as u64;
        self.latency_monitor.add_if_needed("eviction-cycle", ms, self.hot.latency_threshold_ms.load(Ordering::Relaxed));
        fits
    }

    /// The cron's share of eviction: goes on with a pass that ran out of time, so memory comes under the limit
    /// without waiting for the next command.
    pub fn finish_evictions(&self) {
        if self.eviction_unfinished.swap(false, Ordering::Relaxed) {
            self.perform_evictions();
        }
    }

    /// Evicts until allocated memory is under `max`, or nothing is left to evict (false), or 50 ms have passed
    /// (true, marked unfinished for the cron).
    fn evict_down_to(&self, max: u64) -> bool {
        let policy = self.hot.policy();
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
            crate::memory::flush_thread_cache();
            used = self.refresh_used_memory();
            if used <= max {
                return true;
            }
            if Instant::now() > deadline {
                self.eviction_unfinished.store(true, Ordering::Relaxed);
                return true;
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
