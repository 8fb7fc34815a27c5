//! INFO: Redis's sections and field names, so `redis-cli --stat`, redis_exporter and dashboards read Strata as
//! they read Redis. Every number comes from the server's own counters.
//!
//! [`snapshot`] gathers the requested sections into one structured [`Snapshot`] of typed fields; INFO renders it
//! as text, and anything else that reports the server's figures (a metrics endpoint) reads the same snapshot,
//! so the two never disagree. Its cost does not grow with the number of keys.

use crate::engine::state::Server;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

/// One field's value, typed so a consumer other than INFO's text need not parse it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => v.fmt(f),
            Value::UInt(v) => v.fmt(f),
            Value::Float(v) => v.fmt(f),
            Value::Text(v) => f.write_str(v),
        }
    }
}

macro_rules! value_from {
    ($variant:ident as $target:ty: $($t:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v as $target)
            }
        })*
    };
}
value_from!(UInt as u64: u8, u16, u32, u64, usize);
value_from!(Int as i64: i32, i64, isize);
value_from!(Float as f64: f64);

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

/// A section's fields, in INFO's order.
pub type Fields = Vec<(String, Value)>;

/// One INFO section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The lowercase name (`memory`, `keyspace`, ...).
    pub name: &'static str,
    pub fields: Fields,
}

/// The figures of the requested sections, taken at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub sections: Vec<Section>,
}

impl Snapshot {
    /// A field by name, in whichever section holds it.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.sections.iter().flat_map(|s| &s.fields).find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// INFO's text: `# Title` lines, `field:value` lines, sections separated by a blank line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, section) in self.sections.iter().enumerate() {
            if i > 0 {
                out.push_str("\r\n");
            }
            let title = match section.name {
                "cpu" => "CPU".to_string(),
                s => {
                    let mut c = s.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                }
            };
            let _ = write!(out, "# {title}\r\n");
            for (k, v) in &section.fields {
                let _ = write!(out, "{k}:{v}\r\n");
            }
        }
        out
    }
}

fn kv(out: &mut Fields, k: &str, v: impl Into<Value>) {
    out.push((k.to_string(), v.into()));
}

fn cpu_times() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0.0) };
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(12), tick(11)) // (stime, utime)
}

/// INFO's text for the requested sections (`[]` = default; `all`, `everything`, or names).
pub fn render(srv: &Server, requested: &[String]) -> String {
    snapshot(srv, requested).to_text()
}

/// The requested sections' figures. Its cost does not grow with the number of keys: every figure is a counter or
/// a per-shard count.
pub fn snapshot(srv: &Server, requested: &[String]) -> Snapshot {
    let mut wanted: Vec<&str> = Vec::new();
    if requested.is_empty() || requested.iter().any(|s| s == "default") {
        wanted.extend(DEFAULT);
    }
    for r in requested {
        match r.as_str() {
            "all" | "everything" => {
                wanted.extend(DEFAULT);
                wanted.extend(ALL_EXTRA);
            }
            s => {
                if let Some(x) = DEFAULT.iter().chain(ALL_EXTRA).find(|d| **d == s) {
                    wanted.push(x);
                }
            }
        }
    }
    let mut snap = Snapshot::default();
    for section in DEFAULT.iter().chain(ALL_EXTRA) {
        if !wanted.contains(section) {
            continue;
        }
        let mut out = Fields::new();
        match *section {
            "server" => server(srv, &mut out),
            "clients" => clients(srv, &mut out),
            "memory" => memory(srv, &mut out),
            "persistence" => persistence(srv, &mut out),
            "stats" => stats(srv, &mut out),
            "replication" => replication(srv, &mut out),
            "cpu" => cpu(&mut out),
            "errorstats" => errorstats(srv, &mut out),
            "cluster" => kv(&mut out, "cluster_enabled", 0u8),
            "keyspace" => keyspace(srv, &mut out),
            "commandstats" => commandstats(srv, &mut out),
            "latencystats" => latencystats(srv, &mut out),
            _ => {}
        }
        snap.sections.push(Section { name: section, fields: out });
    }
    snap
}

/// `Linux 6.1.0 x86_64`, as Redis prints uname's sysname, release and machine.
fn os_line() -> String {
    let read = |f: &str| std::fs::read_to_string(f).map(|s| s.trim().to_string()).ok();
    match (read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease")) {
        (Some(name), Some(release)) => format!("{name} {release} {}", std::env::consts::ARCH),
        _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

fn server(srv: &Server, out: &mut Fields) {
    let cfg = srv.config.read();
    let uptime = srv.uptime_secs();
    kv(out, "redis_version", crate::REDIS_VERSION);
    kv(out, "strata_version", env!("CARGO_PKG_VERSION"));
    kv(out, "redis_git_sha1", "00000000");
    kv(out, "redis_git_dirty", 0);
    kv(out, "redis_build_id", "0");
    kv(out, "redis_mode", "standalone");
    kv(out, "os", os_line());
    kv(out, "arch_bits", usize::BITS);
    kv(out, "monotonic_clock", "POSIX clock_gettime");
    kv(out, "multiplexing_api", "epoll");
    kv(out, "atomicvar_api", "c11-builtin");
    kv(out, "gcc_version", "0.0.0");
    kv(out, "process_id", std::process::id());
    kv(out, "process_supervised", "no");
    kv(out, "run_id", &srv.run_id);
    kv(out, "tcp_port", srv.port.load(Ordering::Relaxed));
    kv(out, "server_time_usec", crate::util::clock::unix_us());
    kv(out, "uptime_in_seconds", uptime);
    kv(out, "uptime_in_days", uptime / 86400);
    let hz = srv.hot.hz.load(Ordering::Relaxed);
    kv(out, "hz", hz);
    kv(out, "configured_hz", hz);
    kv(out, "lru_clock", srv.lru_clock());
    kv(out, "executable", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
    kv(out, "config_file", cfg.file.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
    kv(out, "io_threads_active", 0);
    kv(out, "worker_threads", crate::runtime_threads(&cfg));
}

fn clients(srv: &Server, out: &mut Fields) {
    let all = srv.clients.all();
    let max_in = all.iter().map(|c| c.qbuf.load(Ordering::Relaxed)).max().unwrap_or(0);
    let max_out = all.iter().map(|c| c.rbuf_cap.load(Ordering::Relaxed) + c.obuf.load(Ordering::Relaxed)).max();
    kv(out, "connected_clients", all.len());
    kv(out, "cluster_connections", 0);
    kv(out, "maxclients", srv.hot.maxclients.load(Ordering::Relaxed));
    kv(out, "client_recent_max_input_buffer", max_in);
    kv(out, "client_recent_max_output_buffer", max_out.unwrap_or(0));
    kv(out, "blocked_clients", srv.blocking.count() + srv.paused_clients.load(Ordering::Relaxed));
    kv(out, "tracking_clients", srv.tracking.clients());
    kv(out, "clients_in_timeout_table", 0);
}

fn memory(srv: &Server, out: &mut Fields) {
    let rss = crate::memory::rss_bytes();
    let used = srv.refresh_used_memory();
    let (active, resident) = crate::memory::allocator_pages();
    let clients_mem = srv.clients.memory() as u64;
    let overhead = srv.startup_memory + clients_mem;
    let dataset = used.saturating_sub(overhead);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let peak = srv.note_memory_peak(used);
    let maxmemory = srv.hot.maxmemory.load(Ordering::Relaxed);
    let human = crate::util::num::bytes_to_human;
    let policy = srv.hot.policy().name();
    let sys = crate::memory::total_system_memory();
    kv(out, "used_memory", used);
    kv(out, "used_memory_human", human(used));
    kv(out, "used_memory_rss", rss);
    kv(out, "used_memory_rss_human", human(rss));
    kv(out, "used_memory_peak", peak);
    kv(out, "used_memory_peak_human", human(peak));
    kv(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 100.0 }),
    );
    kv(out, "used_memory_overhead", overhead);
    kv(out, "used_memory_startup", srv.startup_memory);
    kv(out, "used_memory_dataset", dataset);
    kv(out, "used_memory_dataset_perc", format!("{:.2}%", ratio(dataset, used) * 100.0));
    kv(out, "allocator_allocated", used);
    kv(out, "allocator_active", active);
    kv(out, "allocator_resident", resident);
    kv(out, "total_system_memory", sys);
    kv(out, "total_system_memory_human", human(sys));
    // One VM runs both EVAL scripts and FUNCTION libraries; it is reported as the eval VM.
    let usage = &srv.scripts.usage;
    let vm = usage.lua_bytes.load(Ordering::Relaxed);
    let scripts_eval = usage.script_cache_bytes.load(Ordering::Relaxed);
    let (functions, libraries, functions_mem) = {
        let libs = srv.scripts.libraries.read();
        (libs.function_count(), libs.libs.len(), libs.memory_bytes() as u64)
    };
    kv(out, "used_memory_lua", vm);
    kv(out, "used_memory_vm_eval", vm);
    kv(out, "used_memory_lua_human", human(vm));
    kv(out, "used_memory_scripts_eval", scripts_eval);
    kv(out, "number_of_cached_scripts", usage.cached_scripts.load(Ordering::Relaxed));
    kv(out, "number_of_functions", functions);
    kv(out, "number_of_libraries", libraries);
    kv(out, "used_memory_vm_functions", 0);
    kv(out, "used_memory_vm_total", vm);
    kv(out, "used_memory_vm_total_human", human(vm));
    kv(out, "used_memory_functions", functions_mem);
    kv(out, "used_memory_scripts", scripts_eval + functions_mem);
    kv(out, "used_memory_scripts_human", human(scripts_eval + functions_mem));
    kv(out, "maxmemory", maxmemory);
    kv(out, "maxmemory_human", human(maxmemory));
    kv(out, "maxmemory_policy", policy);
    kv(out, "allocator_frag_ratio", format!("{:.2}", ratio(active, used)));
    kv(out, "allocator_frag_bytes", active.saturating_sub(used));
    kv(out, "allocator_rss_ratio", format!("{:.2}", ratio(resident, active)));
    kv(out, "allocator_rss_bytes", resident.saturating_sub(active));
    kv(out, "rss_overhead_ratio", format!("{:.2}", ratio(rss, resident)));
    kv(out, "rss_overhead_bytes", rss as i64 - resident as i64);
    kv(out, "mem_fragmentation_ratio", format!("{:.2}", ratio(rss, used)));
    kv(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    kv(out, "mem_not_counted_for_evict", srv.not_counted_for_evict());
    kv(out, "mem_replication_backlog", 0);
    kv(out, "mem_total_replication_buffers", 0);
    kv(out, "mem_clients_slaves", 0);
    kv(out, "mem_clients_normal", clients_mem);
    kv(out, "mem_cluster_links", 0);
    kv(out, "mem_aof_buffer", 0);
    kv(out, "mem_allocator", crate::memory::ALLOCATOR);
    let (ckeys, cbytes, saved) = srv.tier.totals.get();
    kv(out, "compressed_keys", ckeys);
    kv(out, "compressed_bytes", cbytes);
    kv(out, "compression_saved_bytes", saved);
    kv(out, "compression_dict_version", srv.tier.dict_id());
    let alg = crate::store::compress::Algorithm::from_u8(srv.hot.compression_algorithm.load(Ordering::Relaxed));
    kv(out, "compression_algorithm", crate::store::compress::Algorithm::NAMES[alg as usize]);
    for codec in [crate::store::compress::Codec::Lz4, crate::store::compress::Codec::Zstd] {
        let (keys, bytes, saved) = srv.tier.totals.codec(codec);
        kv(out, &format!("compressed_keys_{}", codec.name()), keys);
        kv(out, &format!("compressed_bytes_{}", codec.name()), bytes);
        kv(out, &format!("compression_saved_bytes_{}", codec.name()), saved);
    }
    kv(out, "compression_zstd_dict_bytes", srv.tier.zstd_dict_len());
    let meta = &srv.keyspace.meta.stats;
    kv(out, "tagged_keys", meta.keys.load(Ordering::Relaxed));
    kv(out, "tag_index_entries", meta.members.load(Ordering::Relaxed));
    kv(out, "tag_index_bytes", meta.bytes.load(Ordering::Relaxed));
    let (window, sketch) = srv.keyspace.tinylfu.sizes();
    kv(out, "tinylfu_window_keys", window);
    kv(out, "tinylfu_sketch_bytes", sketch);
    let (follows, missed, hints, bytes) = srv.warm.model_size();
    kv(out, "warm_model_keys", follows);
    kv(out, "warm_missed_keys", missed);
    kv(out, "warm_hinted_keys", hints);
    kv(out, "warm_model_bytes", bytes);
    kv(out, "active_defrag_running", 0);
    kv(out, "lazyfree_pending_objects", 0);
    kv(out, "lazyfreed_objects", 0);
}

fn persistence(srv: &Server, out: &mut Fields) {
    let p = &srv.persistence;
    let now_ms = crate::util::clock::unix_ms();
    let loading = p.is_loading();
    kv(out, "loading", u8::from(loading));
    kv(out, "async_loading", 0);
    kv(out, "current_cow_peak", 0);
    kv(out, "current_cow_size", 0);
    kv(out, "current_cow_size_age", 0);
    kv(out, "current_fork_perc", "0.00");
    let saving = p.bgsave_in_progress.load(Ordering::Relaxed);
    let (processed, total) = if saving {
        (p.save_keys_processed.load(Ordering::Relaxed), p.save_keys_total.load(Ordering::Relaxed))
    } else {
        (0, 0)
    };
    kv(out, "current_save_keys_processed", processed);
    kv(out, "current_save_keys_total", total);
    kv(out, "rdb_changes_since_last_save", srv.changes_since_save.load(Ordering::Relaxed));
    kv(out, "rdb_bgsave_in_progress", u8::from(saving));
    kv(out, "rdb_last_save_time", srv.lastsave_unix.load(Ordering::Relaxed));
    kv(out, "rdb_last_bgsave_status", if p.last_bgsave_ok.load(Ordering::Relaxed) { "ok" } else { "err" });
    kv(out, "rdb_last_bgsave_time_sec", p.last_bgsave_time_sec.load(Ordering::Relaxed));
    let current =
        if saving { (now_ms.saturating_sub(p.bgsave_started_ms.load(Ordering::Relaxed)) / 1000) as i64 } else { -1 };
    kv(out, "rdb_current_bgsave_time_sec", current);
    kv(out, "rdb_saves", p.saves.load(Ordering::Relaxed));
    kv(out, "rdb_last_cow_size", 0);
    kv(out, "rdb_last_load_keys_expired", p.last_load_keys_expired.load(Ordering::Relaxed));
    kv(out, "rdb_last_load_keys_loaded", p.last_load_keys_loaded.load(Ordering::Relaxed));
    kv(out, "rdb_last_load_keys_compressed", p.last_load_keys_compressed.load(Ordering::Relaxed));
    // A warm restart (`warm-restart yes`): the keys loaded before clients were served, and the background pass.
    let w = &p.warming;
    let warming = w.active();
    kv(out, "warming", u8::from(warming));
    kv(out, "warming_hot_keys", w.hot_keys.load(Ordering::Relaxed));
    kv(out, "warming_keys_total", w.keys_total.load(Ordering::Relaxed));
    kv(out, "warming_keys_loaded", w.keys_loaded.load(Ordering::Relaxed));
    kv(out, "warming_loaded_perc", format!("{:.2}", w.loaded_perc()));
    let elapsed = if warming {
        now_ms.saturating_sub(w.started_ms.load(Ordering::Relaxed))
    } else {
        w.last_time_ms.load(Ordering::Relaxed)
    };
    kv(out, "warming_time_ms", elapsed);
    if loading {
        // Redis adds these only while loading.
        let started = p.loading_started_unix.load(Ordering::Relaxed);
        let total = p.loading_total_bytes.load(Ordering::Relaxed);
        let loaded = p.loading_loaded_bytes.load(Ordering::Relaxed);
        let perc = if total == 0 { 0.0 } else { loaded as f64 * 100.0 / total as f64 };
        kv(out, "loading_start_time", started);
        kv(out, "loading_total_bytes", total);
        kv(out, "loading_rdb_used_mem", 0);
        kv(out, "loading_loaded_bytes", loaded);
        kv(out, "loading_loaded_perc", format!("{perc:.2}"));
        kv(out, "loading_eta_seconds", 1);
    }
    // A rewrite of the change log is a BGSAVE that becomes its new base.
    let log = &srv.changelog.shared;
    let enabled = log.enabled.load(Ordering::Relaxed);
    let rewriting = log.rewriting.load(Ordering::Relaxed);
    kv(out, "aof_enabled", u8::from(enabled));
    kv(out, "aof_rewrite_in_progress", u8::from(rewriting && saving));
    kv(out, "aof_rewrite_scheduled", u8::from(rewriting && p.bgsave_scheduled.load(Ordering::Relaxed)));
    kv(out, "aof_last_rewrite_time_sec", -1);
    kv(out, "aof_current_rewrite_time_sec", if rewriting { current } else { -1 });
    kv(out, "aof_last_bgrewrite_status", if p.last_bgsave_ok.load(Ordering::Relaxed) { "ok" } else { "err" });
    kv(out, "aof_rewrites", log.rewrites.load(Ordering::Relaxed));
    kv(out, "aof_rewrites_consecutive_failures", 0);
    kv(out, "aof_last_write_status", if log.last_write_ok.load(Ordering::Relaxed) { "ok" } else { "err" });
    kv(out, "aof_last_cow_size", 0);
    kv(out, "module_fork_in_progress", 0);
    kv(out, "module_fork_last_cow_size", 0);
    let b = &srv.backups;
    kv(out, "backup_successes", b.successes.load(Ordering::Relaxed));
    kv(out, "backup_failures", b.failures.load(Ordering::Relaxed));
    kv(out, "backup_last_success_time", b.last_success_ms.load(Ordering::Relaxed) / 1000);
    kv(out, "backup_last_error", b.last_error.lock().replace(['\r', '\n'], " "));
    if enabled {
        kv(out, "aof_current_size", log.current_size.load(Ordering::Relaxed));
        kv(out, "aof_base_size", log.base_size.load(Ordering::Relaxed));
        kv(out, "aof_pending_rewrite", u8::from(rewriting));
        kv(out, "aof_buffer_length", srv.changelog.buffered());
        kv(out, "aof_pending_bio_fsync", 0);
        kv(out, "aof_delayed_fsync", log.delayed_fsync.load(Ordering::Relaxed));
    }
}

fn stats(srv: &Server, out: &mut Fields) {
    let s = &srv.stats;
    let g = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let (ops, in_kbps, out_kbps) = srv.instantaneous();
    kv(out, "total_connections_received", g(&s.connections_received));
    kv(out, "total_commands_processed", s.commands_processed.get());
    kv(out, "instantaneous_ops_per_sec", ops);
    kv(out, "total_net_input_bytes", s.net_input_bytes.get());
    kv(out, "total_net_output_bytes", s.net_output_bytes.get());
    kv(out, "total_net_repl_input_bytes", 0);
    kv(out, "total_net_repl_output_bytes", 0);
    kv(out, "instantaneous_input_kbps", format!("{in_kbps:.2}"));
    kv(out, "instantaneous_output_kbps", format!("{out_kbps:.2}"));
    kv(out, "instantaneous_input_repl_kbps", "0.00");
    kv(out, "instantaneous_output_repl_kbps", "0.00");
    kv(out, "rejected_connections", g(&s.rejected_connections));
    kv(out, "sync_full", 0);
    kv(out, "sync_partial_ok", 0);
    kv(out, "sync_partial_err", 0);
    kv(out, "expired_keys", g(&s.expired_keys));
    kv(out, "expired_stale_perc", format!("{:.2}", s.expired_stale_perc()));
    kv(out, "expired_time_cap_reached_count", g(&s.expired_time_cap_reached));
    kv(out, "expire_cycle_cpu_milliseconds", g(&s.expire_cycle_cpu_ms));
    kv(out, "evicted_keys", g(&s.evicted_keys));
    kv(out, "evicted_clients", 0);
    kv(out, "total_eviction_exceeded_time", 0);
    kv(out, "current_eviction_exceeded_time", 0);
    kv(out, "keyspace_hits", s.keyspace_hits.get());
    kv(out, "keyspace_misses", s.keyspace_misses.get());
    let (channels, patterns, shard_channels) = srv.pubsub.counts();
    kv(out, "pubsub_channels", channels);
    kv(out, "pubsub_patterns", patterns);
    kv(out, "pubsubshard_channels", shard_channels);
    kv(out, "latest_fork_usec", 0);
    kv(out, "total_forks", 0);
    kv(out, "migrate_cached_sockets", 0);
    kv(out, "slave_expires_tracked_keys", 0);
    kv(out, "active_defrag_hits", 0);
    kv(out, "active_defrag_misses", 0);
    kv(out, "active_defrag_key_hits", 0);
    kv(out, "active_defrag_key_misses", 0);
    kv(out, "total_active_defrag_time", 0);
    kv(out, "current_active_defrag_time", 0);
    let (tkeys, titems, tprefixes) = srv.tracking.totals();
    kv(out, "tracking_total_keys", tkeys);
    kv(out, "tracking_total_items", titems);
    kv(out, "tracking_total_prefixes", tprefixes);
    kv(out, "unexpected_error_replies", g(&s.unexpected_error_replies));
    kv(out, "total_error_replies", g(&s.error_replies));
    kv(out, "dump_payload_sanitizations", 0);
    kv(out, "total_reads_processed", s.io_reads.get());
    kv(out, "total_writes_processed", s.io_writes.get());
    kv(out, "io_threaded_reads_processed", 0);
    kv(out, "io_threaded_writes_processed", 0);
    kv(out, "reply_buffer_shrinks", 0);
    kv(out, "reply_buffer_expands", 0);
    kv(out, "experiments_created", s.experiments_created.get());
    kv(out, "experiment_assignments", s.experiment_assignments.get());
    kv(out, "experiment_events_tracked", s.experiment_events.get());
    kv(out, "experiment_auto_stops", s.experiment_auto_stops.get());
    let c = &srv.keyspace.meta.counters;
    for (name, n) in [
        ("cache_hits", &c.hits),
        ("cache_misses", &c.misses),
        ("cache_stale_hits", &c.stale_hits),
        ("cache_refreshes", &c.refreshes),
        ("cache_leases_granted", &c.leases_granted),
        ("cache_lease_waits", &c.lease_waits),
        ("cache_fills", &c.fills),
        ("cache_fills_rejected", &c.fills_rejected),
        ("cache_ttl_extensions", &c.ttl_extensions),
    ] {
        kv(out, name, n.load(Ordering::Relaxed));
    }
    let w = &srv.warm.stats;
    let (hits, misses) = (w.hits.load(Ordering::Relaxed), w.misses.load(Ordering::Relaxed));
    kv(out, "warm_predictions", w.predictions.load(Ordering::Relaxed));
    kv(out, "warm_prediction_hits", hits);
    kv(out, "warm_prediction_misses", misses);
    kv(out, "warm_predictions_pending", srv.warm.pending());
    let precision = if hits + misses == 0 { 0.0 } else { hits as f64 / (hits + misses) as f64 };
    kv(out, "warm_prediction_precision", format!("{precision:.4}"));
    kv(out, "warm_prewarmed_keys", w.prewarmed.load(Ordering::Relaxed));
    kv(out, "warm_hints", w.hints.load(Ordering::Relaxed));
}

fn replication(srv: &Server, out: &mut Fields) {
    let b = srv.effects.info();
    kv(out, "role", "master");
    kv(out, "connected_slaves", 0);
    kv(out, "master_failover_state", "no-failover");
    kv(out, "master_replid", &srv.run_id);
    kv(out, "master_replid2", "0000000000000000000000000000000000000000");
    kv(out, "master_repl_offset", b.master_repl_offset);
    kv(out, "second_repl_offset", -1);
    kv(out, "repl_backlog_active", u8::from(b.active));
    kv(out, "repl_backlog_size", b.size);
    kv(out, "repl_backlog_first_byte_offset", b.first_byte_offset);
    kv(out, "repl_backlog_histlen", b.histlen);
}

fn cpu(out: &mut Fields) {
    let (sys, user) = cpu_times();
    kv(out, "used_cpu_sys", format!("{sys:.6}"));
    kv(out, "used_cpu_user", format!("{user:.6}"));
    kv(out, "used_cpu_sys_children", "0.000000");
    kv(out, "used_cpu_user_children", "0.000000");
    kv(out, "used_cpu_sys_main_thread", format!("{sys:.6}"));
    kv(out, "used_cpu_user_main_thread", format!("{user:.6}"));
}

fn errorstats(srv: &Server, out: &mut Fields) {
    let errs = srv.stats.errors.lock();
    let mut codes: Vec<_> = errs.iter().collect();
    codes.sort();
    for (code, n) in codes {
        kv(out, &format!("errorstat_{code}"), format!("count={n}"));
    }
}

fn keyspace(srv: &Server, out: &mut Fields) {
    for db in 0..srv.keyspace.db_count() {
        let (keys, expires) = srv.keyspace.db_sizes(db);
        if keys > 0 {
            kv(out, &format!("db{db}"), format!("keys={keys},expires={expires},avg_ttl=0"));
        }
    }
}

/// Redis 7's `latency_percentiles_usec_<command>:p50=...,p99=...` for every command called since the last
/// reset, at the configured percentiles.
fn latencystats(srv: &Server, out: &mut Fields) {
    let percentiles = match srv.config.read().value(crate::config::Id::LatencyTrackingInfoPercentiles) {
        crate::config::Value::Percentiles(p) => p.clone(),
        _ => Vec::new(),
    };
    if percentiles.is_empty() {
        return;
    }
    for c in &srv.table.commands {
        if let Some(h) = srv.stats_of(c).latency() {
            let line = crate::util::latency::format_percentiles(&h, &percentiles);
            kv(out, &format!("latency_percentiles_usec_{}", c.full_name), line);
        }
    }
}

fn commandstats(srv: &Server, out: &mut Fields) {
    for c in &srv.table.commands {
        let stats = srv.stats_of(c);
        let calls = stats.calls();
        let rejected = stats.rejected();
        let failed = stats.failed();
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let usec = stats.usec();
        let per = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
        kv(
            out,
            &format!("cmdstat_{}", c.full_name),
            format!("calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        Server::new(crate::Config::embedded().expect("embedded config"), crate::commands::table())
    }

    #[test]
    fn the_snapshot_holds_typed_fields_and_renders_as_info_text() {
        let srv = server();
        let snap = snapshot(&srv, &["memory".to_string(), "keyspace".to_string(), "cluster".to_string()]);
        assert_eq!(snap.sections.iter().map(|s| s.name).collect::<Vec<_>>(), ["memory", "cluster", "keyspace"]);
        assert!(matches!(snap.get("used_memory"), Some(Value::UInt(n)) if *n > 0));
        assert_eq!(snap.get("cluster_enabled"), Some(&Value::UInt(0)));
        let text = snap.to_text();
        assert!(text.starts_with("# Memory\r\nused_memory:"), "{text}");
        assert!(text.contains("\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"), "{text}");
    }

    #[test]
    fn cpu_is_titled_as_redis_titles_it() {
        let snap = snapshot(&server(), &["cpu".to_string()]);
        assert!(snap.to_text().starts_with("# CPU\r\nused_cpu_sys:"));
    }
}
