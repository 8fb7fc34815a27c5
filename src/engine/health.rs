//! The health model behind HEALTH, `/health` and `/ready`: each component is judged against `health-*`
//! thresholds as `ok`, `warn` or `fail`, and the server is `healthy`, `degraded` or `unhealthy` after its worst
//! component. Each change of the overall status is kept in a bounded history and published on
//! `__strata__:health` as a JSON object.
//!
//! Rates and peaks (event-loop lag, evictions, OOM refusals) are measured over the last one to two
//! `health-window`s: the figures of the current window and the one before it, so a spike stays visible for at
//! least one window after it ends and no reading depends on where a window boundary fell. Fragmentation is
//! judged only once 64 MB are allocated: a small server's RSS is mostly code and thread stacks.

use super::state::Server;
use crate::config::Id;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The channel status changes are published on.
pub const CHANNEL: &[u8] = b"__strata__:health";
/// Status changes kept for HEALTH HISTORY.
const HISTORY_LEN: usize = 256;

/// A component's or the server's level, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    /// A component's word.
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }

    /// The server's word at this level.
    pub fn status(self) -> &'static str {
        match self {
            Level::Ok => "healthy",
            Level::Warn => "degraded",
            Level::Fail => "unhealthy",
        }
    }
}

/// One component's judgement.
#[derive(Debug, Clone)]
pub struct Component {
    pub name: &'static str,
    pub level: Level,
    /// The measured value, with its unit.
    pub value: String,
    /// The thresholds it was judged against.
    pub threshold: String,
    /// Why it is not `ok` (empty when it is).
    pub reason: String,
}

/// Every component, in a fixed order.
pub const COMPONENTS: &[&str] =
    &["memory", "eviction", "persistence", "replication", "event-loop", "clients", "expiry", "loading"];

/// The server's health at one moment.
#[derive(Debug, Clone)]
pub struct Report {
    pub level: Level,
    pub components: Vec<Component>,
    pub checked_ms: u64,
    /// When the overall status last changed (server start if never).
    pub since_ms: u64,
}

impl Report {
    /// `component: reason` for every component that is not ok.
    pub fn reasons(&self) -> Vec<String> {
        self.components.iter().filter(|c| c.level != Level::Ok).map(|c| format!("{}: {}", c.name, c.reason)).collect()
    }

    /// The report as JSON (the `/ready` and `/health` bodies).
    pub fn to_json(&self) -> serde_json::Value {
        let comps: serde_json::Map<String, serde_json::Value> = self
            .components
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    serde_json::json!({"status": c.level.word(), "value": c.value, "threshold": c.threshold,
                        "reason": c.reason}),
                )
            })
            .collect();
        serde_json::json!({"status": self.level.status(), "checked": self.checked_ms, "since": self.since_ms,
            "reasons": self.reasons(), "components": comps})
    }
}

/// One status change.
#[derive(Debug, Clone)]
pub struct Transition {
    pub at_ms: u64,
    pub from: Level,
    pub to: Level,
    pub reasons: Vec<String>,
}

/// Counters at the start of a window.
#[derive(Debug, Clone, Copy, Default)]
struct WindowStart {
    at_ms: u64,
    evicted: u64,
    oom: u64,
}

/// The health state kept between checks.
#[derive(Debug)]
pub struct Health {
    /// Worst stall seen in the current and the previous window, microseconds: the cron's wake-up lag and
    /// commands that ran for a millisecond or more (a worker busy with one is not serving its other clients).
    stall_now: AtomicU64,
    stall_prev: AtomicU64,
    windows: Mutex<(WindowStart, WindowStart)>,
    last: Mutex<(Level, u64)>,
    history: Mutex<VecDeque<Transition>>,
}

impl Default for Health {
    fn default() -> Health {
        let now = crate::util::clock::unix_ms();
        let start = WindowStart { at_ms: now, ..Default::default() };
        Health {
            stall_now: AtomicU64::new(0),
            stall_prev: AtomicU64::new(0),
            windows: Mutex::new((start, start)),
            last: Mutex::new((Level::Ok, now)),
            history: Mutex::new(VecDeque::new()),
        }
    }
}

impl Health {
    /// Notes that a worker could not serve anything else for `micros` (a long command, a late cron tick).
    #[inline]
    pub fn note_stall(&self, micros: u64) {
        self.stall_now.fetch_max(micros, Relaxed);
    }

    /// The worst stall of the last one to two windows, microseconds.
    pub fn recent_stall(&self) -> u64 {
        self.stall_now.load(Relaxed).max(self.stall_prev.load(Relaxed))
    }

    /// Status changes in the last `minutes`, oldest first.
    pub fn history(&self, minutes: u64) -> Vec<Transition> {
        let since = crate::util::clock::unix_ms().saturating_sub(minutes.saturating_mul(60_000));
        self.history.lock().iter().filter(|t| t.at_ms >= since).cloned().collect()
    }

    /// Starts a new window once the current one is `window_ms` old; returns the start of the previous one.
    fn roll(&self, now: u64, window_ms: u64, evicted: u64, oom: u64) -> WindowStart {
        let mut w = self.windows.lock();
        if now.saturating_sub(w.1.at_ms) >= window_ms {
            w.0 = w.1;
            w.1 = WindowStart { at_ms: now, evicted, oom };
            self.stall_prev.store(self.stall_now.swap(0, Relaxed), Relaxed);
        }
        w.0
    }
}

fn component(name: &'static str, level: Level, value: String, threshold: String, reason: String) -> Component {
    Component { name, level, value, threshold, reason }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}mb", bytes as f64 / (1024.0 * 1024.0))
}

impl Server {
    /// Judges every component now, records a change of the overall status (history, `__strata__:health`) and
    /// returns the report.
    pub fn check_health(&self) -> Report {
        let now = crate::util::clock::unix_ms();
        let cfg = self.config.read();
        let window_ms = cfg.u64(Id::HealthWindow).max(1) * 1000;
        let evicted = self.stats.evicted_keys.load(Relaxed);
        let oom = self.stats.errors.lock().get("OOM").copied().unwrap_or(0);
        let start = self.health.roll(now, window_ms, evicted, oom);
        let span_secs = (now.saturating_sub(start.at_ms) as f64 / 1000.0).max(1.0);
        let mut components = Vec::with_capacity(COMPONENTS.len());

        // Memory: against maxmemory, or against the machine when there is no limit.
        let used = self.used_memory.load(Relaxed);
        let maxmemory = self.hot.maxmemory.load(Relaxed);
        let (limit, limit_name) = match maxmemory {
            0 => (crate::memory::total_system_memory(), "system memory"),
            m => (m, "maxmemory"),
        };
        let (warn, fail) = (cfg.u64(Id::HealthMemoryWarnPercent), cfg.u64(Id::HealthMemoryFailPercent));
        let used_pct = pct(used, limit);
        let rss = crate::memory::rss_bytes();
        let frag = if used == 0 { 1.0 } else { rss as f64 / used as f64 };
        let frag_warn = cfg.u64(Id::HealthFragmentationWarnPercent) as f64 / 100.0;
        // With an evicting policy, running at the limit is how the cache is meant to work: warn at most (writes
        // refused for want of evictable keys show as eviction's failure).
        let evicting = maxmemory > 0 && self.hot.policy() != crate::store::evict::Policy::NoEviction;
        let (level, reason) = if limit > 0 && used_pct >= fail as f64 && !evicting {
            (Level::Fail, format!("used {used_pct:.1}% of {limit_name}"))
        } else if limit > 0 && used_pct >= warn as f64 {
            (Level::Warn, format!("used {used_pct:.1}% of {limit_name}"))
        } else if frag >= frag_warn && used >= 64 << 20 && rss.saturating_sub(used) >= 64 << 20 {
            (Level::Warn, format!("fragmentation ratio {frag:.2} ({} more resident than allocated)", mb(rss - used)))
        } else {
            (Level::Ok, String::new())
        };
        components.push(component(
            "memory",
            level,
            format!("used {} of {} {} ({used_pct:.1}%), fragmentation {frag:.2}", mb(used), limit_name, mb(limit)),
            format!("warn {warn}%, fail {fail}%, fragmentation {frag_warn:.2}"),
            reason,
        ));

        // Eviction pressure: the eviction rate, and writes refused with -OOM.
        let rate = evicted.saturating_sub(start.evicted) as f64 / span_secs;
        let refused = oom.saturating_sub(start.oom);
        let rate_warn = cfg.u64(Id::HealthEvictionsWarn);
        let (level, reason) = if refused > 0 {
            (Level::Fail, format!("{refused} commands refused with -OOM in the last {span_secs:.0}s"))
        } else if rate > 0.0 && rate >= rate_warn as f64 {
            (Level::Warn, format!("evicting {rate:.0} keys/s"))
        } else {
            (Level::Ok, String::new())
        };
        components.push(component(
            "eviction",
            level,
            format!("{rate:.1} evictions/s, {refused} OOM refusals (last {span_secs:.0}s)"),
            format!("warn at {rate_warn} evictions/s, fail on any OOM refusal"),
            reason,
        ));

        // Persistence: a condition that refuses writes fails; a failed save or an old one warns.
        let p = &self.persistence;
        let max_age = cfg.u64(Id::HealthPersistenceMaxAge);
        let last_save = self.lastsave_unix.load(Relaxed);
        let last_backup = self.backups.last_success_ms.load(Relaxed) / 1000;
        let age = (now / 1000).saturating_sub(last_save.max(last_backup));
        let changes = self.changes_since_save.load(Relaxed);
        let log_on = self.changelog.shared.enabled.load(Relaxed);
        let (level, reason) = if let Some(e) = self.disk_error() {
            (Level::Fail, format!("writes refused: {}", e.0))
        } else if !p.last_bgsave_ok.load(Relaxed) {
            (Level::Warn, "the last background save failed".to_string())
        } else if self.backups.failing.load(Relaxed) {
            (Level::Warn, format!("the last backup failed: {}", self.backups.last_error.lock()))
        } else if max_age > 0 && !log_on && changes > 0 && age > max_age {
            (Level::Warn, format!("{changes} changes not saved for {age}s"))
        } else {
            (Level::Ok, String::new())
        };
        components.push(component(
            "persistence",
            level,
            format!(
                "last save {age}s ago, {changes} changes since, change log {}, {} bytes unsynced",
                if log_on { "on" } else { "off" },
                self.changelog.buffered()
            ),
            if max_age > 0 { format!("max age {max_age}s") } else { "max age off".to_string() },
            reason,
        ));

        // Replication: Strata runs as a primary; the write stream has no replica consumers yet.
        let offset = self.effects.offset();
        components.push(component(
            "replication",
            Level::Ok,
            format!("role master, 0 replicas, offset {offset}"),
            "none".to_string(),
            String::new(),
        ));

        // Event loop: the worst stall in the window.
        let stall_ms = self.health.recent_stall() / 1000;
        let (warn, fail) = (cfg.u64(Id::HealthLatencyWarnMs), cfg.u64(Id::HealthLatencyFailMs));
        let level = match stall_ms {
            s if s >= fail => Level::Fail,
            s if s >= warn => Level::Warn,
            _ => Level::Ok,
        };
        components.push(component(
            "event-loop",
            level,
            format!("worst stall {stall_ms}ms (last {span_secs:.0}s)"),
            format!("warn {warn}ms, fail {fail}ms"),
            if level == Level::Ok { String::new() } else { format!("a worker stalled for {stall_ms}ms") },
        ));

        // Clients: connections against maxclients, and the biggest output buffer.
        let all = self.clients.all();
        let maxclients = self.hot.maxclients.load(Relaxed) as u64;
        let conn_pct = pct(all.len() as u64, maxclients);
        let biggest = all.iter().map(|c| (c.obuf.load(Relaxed) + c.rbuf_cap.load(Relaxed)) as u64).max().unwrap_or(0);
        let obuf_warn = cfg.u64(Id::HealthOutputBufferWarn);
        let (warn, fail) = (cfg.u64(Id::HealthClientsWarnPercent), cfg.u64(Id::HealthClientsFailPercent));
        let (level, reason) = if conn_pct >= fail as f64 {
            (Level::Fail, format!("{} of {maxclients} connections in use", all.len()))
        } else if conn_pct >= warn as f64 {
            (Level::Warn, format!("{} of {maxclients} connections in use", all.len()))
        } else if obuf_warn > 0 && biggest >= obuf_warn {
            (Level::Warn, format!("a client's output buffer holds {}", mb(biggest)))
        } else {
            (Level::Ok, String::new())
        };
        components.push(component(
            "clients",
            level,
            format!(
                "{} connected of {maxclients} ({conn_pct:.1}%), {} blocked, biggest output buffer {}",
                all.len(),
                self.blocking.count(),
                mb(biggest)
            ),
            format!("warn {warn}%, fail {fail}%, output buffer {}", mb(obuf_warn)),
            reason,
        ));

        // Expiry backlog: the share of sampled volatile keys found already expired.
        let stale = self.stats.expired_stale_perc();
        let warn = cfg.u64(Id::HealthExpireStaleWarnPercent);
        let level = if stale >= warn as f64 { Level::Warn } else { Level::Ok };
        components.push(component(
            "expiry",
            level,
            format!("{stale:.1}% of sampled volatile keys already expired"),
            format!("warn {warn}%"),
            if level == Level::Ok { String::new() } else { format!("{stale:.1}% of volatile keys await expiry") },
        ));

        // Loading: the dataset is not complete until the snapshot and the change log are in.
        // A warm restart's second pass serves the hot keys already: a warning, not a failure.
        let loading = p.is_loading();
        let warming = !loading && p.warming.active();
        let total = p.loading_total_bytes.load(Relaxed);
        let done = pct(p.loading_loaded_bytes.load(Relaxed), total);
        let warmed = p.warming.loaded_perc();
        let (level, value, why) = if loading {
            (Level::Fail, format!("loading, {done:.1}% done"), format!("loading the dataset ({done:.1}%)"))
        } else if warming {
            (
                Level::Warn,
                format!("warming, {warmed:.1}% of the cold keys loaded"),
                format!("hot keys served, cold keys still loading ({warmed:.1}%)"),
            )
        } else {
            (Level::Ok, "loaded".to_string(), String::new())
        };
        components.push(component("loading", level, value, "none while loading".to_string(), why));
        drop(cfg);

        let level = components.iter().map(|c| c.level).max().unwrap_or(Level::Ok);
        let mut report = Report { level, components, checked_ms: now, since_ms: 0 };
        report.since_ms = self.record_health(&report);
        report
    }

    /// Records a change of the overall status; returns when the current status began.
    fn record_health(&self, report: &Report) -> u64 {
        let mut last = self.health.last.lock();
        if last.0 == report.level {
            return last.1;
        }
        let t = Transition { at_ms: report.checked_ms, from: last.0, to: report.level, reasons: report.reasons() };
        *last = (report.level, report.checked_ms);
        drop(last);
        let message = serde_json::json!({"status": t.to.status(), "previous": t.from.status(), "time": t.at_ms,
            "reasons": t.reasons});
        let text = message.to_string();
        match t.to {
            Level::Ok => tracing::info!("health: {}", t.to.status()),
            _ => tracing::warn!("health: {} ({})", t.to.status(), t.reasons.join("; ")),
        }
        {
            let mut h = self.health.history.lock();
            h.push_back(t);
            while h.len() > HISTORY_LEN {
                h.pop_front();
            }
        }
        self.pubsub.publish(CHANNEL, text.as_bytes());
        report.checked_ms
    }
}
