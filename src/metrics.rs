//! `/metrics`: the server's figures in the Prometheus text format.
//!
//! Values come from the same [`crate::info::snapshot`] INFO renders (so a dashboard and `redis-cli INFO` never
//! disagree), from the command table's statistics and from the health model. They are set into a
//! `metrics-exporter-prometheus` recorder at scrape time, which renders them; nothing is recorded on the
//! command path. The per-command latency histograms are rendered here from the HdrHistograms INFO latencystats
//! already keeps: recording every call a second time into the exporter's own histograms would double that cost
//! on the hot path for the same figures.
//!
//! Every name is listed, with its type and meaning, in docs/OBSERVABILITY.md.

use crate::engine::state::Server;
use crate::info::Value;
use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use std::fmt::Write;

#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}
use Kind::{Counter, Gauge};

/// (INFO field, metric, kind, unit, help). A text field (`ok`/`err`) becomes 1 when it reads `ok`.
const FROM_INFO: &[(&str, &str, Kind, Unit, &str)] = &[
    ("uptime_in_seconds", "strata_uptime_seconds", Gauge, Unit::Seconds, "Seconds since the server started."),
    ("connected_clients", "strata_connected_clients", Gauge, Unit::Count, "Client connections open."),
    ("blocked_clients", "strata_blocked_clients", Gauge, Unit::Count, "Clients waiting in a blocking command."),
    ("tracking_clients", "strata_tracking_clients", Gauge, Unit::Count, "Clients with CLIENT TRACKING on."),
    ("maxclients", "strata_max_clients", Gauge, Unit::Count, "The maxclients limit."),
    ("used_memory", "strata_memory_used_bytes", Gauge, Unit::Bytes, "Bytes allocated (jemalloc)."),
    ("used_memory_rss", "strata_memory_rss_bytes", Gauge, Unit::Bytes, "Resident set size of the process."),
    ("used_memory_peak", "strata_memory_peak_bytes", Gauge, Unit::Bytes, "Peak of used memory."),
    ("used_memory_dataset", "strata_memory_dataset_bytes", Gauge, Unit::Bytes, "Used memory less overhead."),
    ("maxmemory", "strata_memory_max_bytes", Gauge, Unit::Bytes, "The maxmemory limit (0 = none)."),
    ("mem_fragmentation_ratio", "strata_memory_fragmentation_ratio", Gauge, Unit::Count, "RSS / used memory."),
    ("mem_clients_normal", "strata_memory_clients_bytes", Gauge, Unit::Bytes, "Buffers of client connections."),
    ("compressed_keys", "strata_compressed_keys", Gauge, Unit::Count, "Values held compressed (cold tier)."),
    ("compressed_bytes", "strata_compressed_bytes", Gauge, Unit::Bytes, "Bytes of compressed values."),
    (
        "compression_saved_bytes",
        "strata_compression_saved_bytes",
        Gauge,
        Unit::Bytes,
        "Bytes the cold tier saves over the values' plain size.",
    ),
    ("loading", "strata_loading", Gauge, Unit::Count, "1 while the dataset is loading."),
    (
        "rdb_changes_since_last_save",
        "strata_rdb_changes_since_last_save",
        Gauge,
        Unit::Count,
        "Writes since the last snapshot.",
    ),
    (
        "rdb_last_save_time",
        "strata_rdb_last_save_timestamp_seconds",
        Gauge,
        Unit::Seconds,
        "Unix time of the last successful snapshot.",
    ),
    ("rdb_last_bgsave_status", "strata_rdb_last_bgsave_ok", Gauge, Unit::Count, "1 when the last save succeeded."),
    ("rdb_bgsave_in_progress", "strata_rdb_bgsave_in_progress", Gauge, Unit::Count, "1 while a snapshot is written."),
    ("rdb_saves", "strata_rdb_saves_total", Counter, Unit::Count, "Snapshots written."),
    ("aof_enabled", "strata_aof_enabled", Gauge, Unit::Count, "1 when the change log is on (appendonly)."),
    (
        "aof_last_write_status",
        "strata_aof_last_write_ok",
        Gauge,
        Unit::Count,
        "1 when the change log's last write succeeded.",
    ),
    ("aof_current_size", "strata_aof_size_bytes", Gauge, Unit::Bytes, "Bytes in the change log."),
    ("aof_buffer_length", "strata_aof_buffer_bytes", Gauge, Unit::Bytes, "Change log bytes not yet written."),
    ("aof_rewrites", "strata_aof_rewrites_total", Counter, Unit::Count, "Change log rewrites (new bases)."),
    ("aof_delayed_fsync", "strata_aof_delayed_fsync_total", Counter, Unit::Count, "Change log syncs slower than 2 s."),
    ("backup_successes", "strata_backup_successes_total", Counter, Unit::Count, "Backups that completed."),
    ("backup_failures", "strata_backup_failures_total", Counter, Unit::Count, "Backups that failed."),
    (
        "backup_last_success_time",
        "strata_backup_last_success_timestamp_seconds",
        Gauge,
        Unit::Seconds,
        "Unix time of the last successful backup (0 = none).",
    ),
    ("total_connections_received", "strata_connections_received_total", Counter, Unit::Count, "Connections accepted."),
    (
        "rejected_connections",
        "strata_rejected_connections_total",
        Counter,
        Unit::Count,
        "Connections refused (maxclients, protected mode).",
    ),
    ("total_commands_processed", "strata_commands_processed_total", Counter, Unit::Count, "Commands run."),
    (
        "instantaneous_ops_per_sec",
        "strata_instantaneous_ops_per_second",
        Gauge,
        Unit::Count,
        "Commands per second, recent.",
    ),
    ("total_net_input_bytes", "strata_net_input_bytes_total", Counter, Unit::Bytes, "Bytes read from clients."),
    ("total_net_output_bytes", "strata_net_output_bytes_total", Counter, Unit::Bytes, "Bytes written to clients."),
    ("expired_keys", "strata_expired_keys_total", Counter, Unit::Count, "Keys deleted because their TTL passed."),
    (
        "expired_stale_perc",
        "strata_expired_stale_percent",
        Gauge,
        Unit::Percent,
        "Share of sampled volatile keys already expired.",
    ),
    ("evicted_keys", "strata_evicted_keys_total", Counter, Unit::Count, "Keys evicted for maxmemory."),
    ("keyspace_hits", "strata_keyspace_hits_total", Counter, Unit::Count, "Reads that found their key."),
    ("keyspace_misses", "strata_keyspace_misses_total", Counter, Unit::Count, "Reads that did not find their key."),
    ("total_error_replies", "strata_error_replies_total", Counter, Unit::Count, "Error replies sent."),
    ("pubsub_channels", "strata_pubsub_channels", Gauge, Unit::Count, "Channels with subscribers."),
    ("pubsubshard_channels", "strata_pubsub_shard_channels", Gauge, Unit::Count, "Shard channels with subscribers."),
    (
        "experiments_created",
        "strata_experiments_created_total",
        Counter,
        Unit::Count,
        "Experiments created (EXP.CREATE).",
    ),
    (
        "experiment_assignments",
        "strata_experiment_assignments_total",
        Counter,
        Unit::Count,
        "Users assigned (EXP.ASSIGN, EXP.MASSIGN).",
    ),
    (
        "experiment_events_tracked",
        "strata_experiment_events_total",
        Counter,
        Unit::Count,
        "Outcomes counted (EXP.TRACK).",
    ),
    (
        "experiment_auto_stops",
        "strata_experiment_auto_stops_total",
        Counter,
        Unit::Count,
        "Experiments that completed themselves (autoStop).",
    ),
    ("pubsub_patterns", "strata_pubsub_patterns", Gauge, Unit::Count, "Pattern subscriptions."),
    ("connected_slaves", "strata_connected_replicas", Gauge, Unit::Count, "Replicas connected."),
    ("master_repl_offset", "strata_replication_offset_bytes", Gauge, Unit::Bytes, "Offset of the write-effect stream."),
    (
        "repl_backlog_histlen",
        "strata_replication_backlog_bytes",
        Gauge,
        Unit::Bytes,
        "Bytes of effects kept in the backlog.",
    ),
    // Gauges, because the recorder's counters are integers and CPU time is fractional; they only grow.
    ("used_cpu_user", "strata_cpu_user_seconds", Gauge, Unit::Seconds, "User CPU time of the process (grows)."),
    ("used_cpu_sys", "strata_cpu_sys_seconds", Gauge, Unit::Seconds, "System CPU time of the process (grows)."),
];

/// Upper bounds of the command latency histogram's buckets, seconds.
/// From 1 us (a GET takes one to three) to 1 s, where the histograms stop (longer calls count as 1 s).
const BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
];

/// INFO fields present only in some states (the change log's, while it is on): 0 otherwise, so a dashboard
/// reads 0 rather than no data.
const ZERO_WHEN_ABSENT: &[&str] = &["aof_current_size", "aof_buffer_length", "aof_delayed_fsync"];

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::UInt(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        Value::Text(t) if t == "ok" => Some(1.0),
        Value::Text(t) if t == "err" => Some(0.0),
        Value::Text(t) => t.parse().ok(),
    }
}

/// `key=value` pairs of a keyspace line (`keys=3,expires=1,avg_ttl=0`).
fn pairs(v: &Value) -> Vec<(String, f64)> {
    v.to_string()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

fn level_value(l: crate::engine::health::Level) -> f64 {
    l as u8 as f64
}

/// Sets every figure into `recorder`.
fn record(srv: &Server) {
    let snap = crate::info::snapshot(srv, &["everything".to_string()]);
    for &(field, name, kind, unit, help) in FROM_INFO {
        let v = match snap.get(field).and_then(number) {
            Some(v) => v,
            None if ZERO_WHEN_ABSENT.contains(&field) => 0.0,
            None => continue,
        };
        match kind {
            Gauge => {
                describe_gauge!(name, unit, help);
                gauge!(name).set(v);
            }
            Counter => {
                describe_counter!(name, unit, help);
                counter!(name).absolute(v as u64);
            }
        }
    }
    describe_gauge!("strata_info", "Always 1; labels carry the versions.");
    gauge!("strata_info", "version" => env!("CARGO_PKG_VERSION"), "redis_version" => crate::REDIS_VERSION).set(1.0);

    describe_gauge!("strata_db_keys", Unit::Count, "Keys per database.");
    describe_gauge!("strata_db_keys_expiring", Unit::Count, "Keys with a TTL per database.");
    // Every database, empty ones too: a database emptied reads 0 instead of going stale.
    for db in 0..srv.keyspace.db_count() {
        let (keys, expires) = srv.keyspace.db_sizes(db);
        gauge!("strata_db_keys", "db" => format!("db{db}")).set(keys as f64);
        gauge!("strata_db_keys_expiring", "db" => format!("db{db}")).set(expires as f64);
    }
    describe_counter!("strata_errors_total", Unit::Count, "Error replies by error code (INFO errorstats).");
    if let Some(sec) = snap.sections.iter().find(|s| s.name == "errorstats") {
        for (k, v) in &sec.fields {
            let code = k.trim_start_matches("errorstat_").to_string();
            let n = pairs(v).first().map_or(0.0, |p| p.1);
            counter!("strata_errors_total", "code" => code).absolute(n as u64);
        }
    }
    describe_counter!("strata_commands_total", Unit::Count, "Calls per command (subcommands as container|sub).");
    describe_counter!("strata_command_failed_total", Unit::Count, "Calls that ran and replied with an error.");
    describe_counter!("strata_command_rejected_total", Unit::Count, "Calls refused before running (arity, OOM, ...).");
    for c in &srv.table.commands {
        let s = srv.stats_of(c);
        let (calls, failed, rejected) = (s.calls(), s.failed(), s.rejected());
        if calls + failed + rejected == 0 {
            continue;
        }
        let cmd = c.full_name.clone();
        counter!("strata_commands_total", "cmd" => cmd.clone()).absolute(calls);
        counter!("strata_command_failed_total", "cmd" => cmd.clone()).absolute(failed);
        counter!("strata_command_rejected_total", "cmd" => cmd).absolute(rejected);
    }
    let report = srv.check_health();
    describe_gauge!("strata_health_status", "Overall health: 0 healthy, 1 degraded, 2 unhealthy.");
    gauge!("strata_health_status").set(level_value(report.level));
    describe_gauge!("strata_health_component_status", "Health per component: 0 ok, 1 warn, 2 fail.");
    for comp in &report.components {
        gauge!("strata_health_component_status", "component" => comp.name).set(level_value(comp.level));
    }
    describe_gauge!(
        "strata_event_loop_stall_seconds",
        Unit::Seconds,
        "Worst stall of a worker in the last one to two health windows."
    );
    gauge!("strata_event_loop_stall_seconds").set(srv.health.recent_stall() as f64 / 1e6);
    describe_gauge!("strata_slowlog_length", Unit::Count, "Entries in the slow log.");
    gauge!("strata_slowlog_length").set(srv.slowlog.len() as f64);
    describe_gauge!("strata_latency_event_max_seconds", Unit::Seconds, "All-time worst latency per LATENCY event.");
    for (event, series) in srv.latency_monitor.all() {
        gauge!("strata_latency_event_max_seconds", "event" => event).set(series.max_ms as f64 / 1000.0);
    }
}

/// The command latency histograms, in the text format.
fn histograms(srv: &Server, out: &mut String) {
    let name = "strata_command_duration_seconds";
    let _ = writeln!(out, "# HELP {name} Time to run a command, per command (from the latencystats histograms).");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for c in &srv.table.commands {
        let Some(h) = srv.stats_of(c).latency() else { continue };
        let cmd = &c.full_name;
        for le in BUCKETS {
            let n = h.count_between(0, (le * 1e9) as u64);
            let _ = writeln!(out, "{name}_bucket{{cmd=\"{cmd}\",le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{cmd=\"{cmd}\",le=\"+Inf\"}} {}", h.len());
        let _ = writeln!(out, "{name}_sum{{cmd=\"{cmd}\"}} {}", h.mean() * h.len() as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{{cmd=\"{cmd}\"}} {}", h.len());
    }
}

/// Renders every metric of `srv`.
pub fn render(srv: &Server) -> String {
    let recorder: PrometheusRecorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || record(srv));
    let mut out = handle.render();
    if !out.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    histograms(srv, &mut out);
    out
}
