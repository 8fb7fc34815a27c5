//! Configuration: redis.conf-syntax files, `--name value` overrides, and the parameter registry that
//! CONFIG GET / SET / REWRITE read.
//!
//! Every parameter is one row of [`PARAMS`]: its name, kind, default, whether CONFIG SET may change it, and the
//! line of documentation conf/strata.conf carries for it. Values are kept as canonical strings in [`Config`];
//! the few read on hot paths are mirrored into typed fields by [`Config::refresh_cache`].

use crate::util::num::{parse_i64, parse_memory};
use crate::util::splitargs::split_args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What values a parameter takes.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte count with optional unit (`100mb`), within bounds.
    Memory(u64, u64),
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// Space-separated list of values given as several arguments (`save 900 1`, `bind a b`).
    List,
}

/// One configuration parameter.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// CONFIG SET may change it while running.
    pub mutable: bool,
    pub doc: &'static str,
}

const fn p(name: &'static str, kind: Kind, default: &'static str, mutable: bool, doc: &'static str) -> Param {
    Param { name, kind, default, mutable, doc }
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const I32: i64 = i32::MAX as i64;
const ALLOW: &[&str] = &["no", "yes", "local"];

/// Parameters CONFIG SET refuses unless `enable-protected-configs` allows it: they point the server at files.
pub const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// An `enable-*-command`/`enable-protected-configs` value as stored in the hot config: 0 no, 1 yes, 2 local.
pub fn allow_level(value: Option<&str>) -> u8 {
    match value {
        Some("yes") => 1,
        Some("local") => 2,
        _ => 0,
    }
}

/// Whether an allow level admits a client (`local`: only loopback clients).
pub fn allows(level: u8, is_local: bool) -> bool {
    level == 1 || (level == 2 && is_local)
}

/// Every parameter Strata knows, in the order conf/strata.conf documents them.
pub static PARAMS: &[Param] = &[
    p(
        "bind",
        Kind::List,
        "127.0.0.1 ::1",
        false,
        "Addresses to listen on (IPv4 or IPv6). A leading '-' makes an address optional.",
    ),
    p("port", Kind::Int(0, 65535), "6379", false, "TCP port for RESP clients; 0 picks a free port."),
    p(
        "protected-mode",
        Kind::Bool,
        "yes",
        true,
        "With no password for the default user, accept clients only from the loopback interface.",
    ),
    p("tcp-backlog", Kind::Int(0, I32), "511", false, "Listen backlog."),
    p("tls-port", Kind::Int(0, 65535), "0", false, "TCP port for TLS clients on the 'bind' addresses; 0 = no TLS."),
    p("tls-cert-file", Kind::Str, "", false, "Server certificate chain (PEM) for the TLS port."),
    p("tls-key-file", Kind::Str, "", false, "Private key (PEM) of tls-cert-file."),
    p("tls-ca-cert-file", Kind::Str, "", false, "CA certificates (PEM) that client certificates must chain to."),
    p(
        "tls-auth-clients",
        Kind::Enum(&["yes", "no", "optional"]),
        "yes",
        false,
        "Require a client certificate (yes), accept one if offered (optional), or never ask (no).",
    ),
    p("tls-protocols", Kind::Str, "", false, "TLS versions to accept: 'TLSv1.2 TLSv1.3' (empty = both)."),
    p("timeout", Kind::Int(0, I32), "0", true, "Close a client idle for this many seconds (0 = never)."),
    p("tcp-keepalive", Kind::Int(0, I32), "300", true, "TCP keepalive period in seconds (0 = off)."),
    p("databases", Kind::Int(1, I32), "16", false, "Number of logical databases (SELECT 0..n-1)."),
    p(
        "keyspace-shards",
        Kind::Int(1, 1024),
        "16",
        false,
        "Shards per database (rounded up to a power of two); more shards, less lock contention.",
    ),
    p("worker-threads", Kind::Int(0, 1024), "0", false, "Runtime worker threads (0 = one per available core)."),
    p("io-threads", Kind::Int(1, 128), "1", false, "Accepted for compatibility with redis.conf; use worker-threads."),
    p(
        "requirepass",
        Kind::Str,
        "",
        true,
        "Password of the default user (same as ACL SETUSER default resetpass >password); empty: nopass.",
    ),
    p(
        "aclfile",
        Kind::Str,
        "",
        false,
        "ACL users file for ACL LOAD / ACL SAVE, loaded at startup (a bad file stops the start); empty: none.",
    ),
    p("acllog-max-len", Kind::Int(0, i64::MAX), "128", true, "Entries kept in the ACL LOG."),
    p(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        true,
        "Channels a new ACL user may use: allchannels, or none until granted (resetchannels).",
    ),
    p(
        "enable-debug-command",
        Kind::Enum(ALLOW),
        "no",
        false,
        "Allow DEBUG: no, yes, or local (only from loopback connections).",
    ),
    p(
        "enable-protected-configs",
        Kind::Enum(ALLOW),
        "no",
        false,
        "Allow CONFIG SET of protected parameters (dir, dbfilename): no, yes, or local.",
    ),
    p("enable-module-command", Kind::Enum(ALLOW), "no", false, "Accepted for compatibility; Strata loads no modules."),
    p(
        "maxclients",
        Kind::Int(1, I32),
        "10000",
        true,
        "Maximum simultaneous clients; more get '-ERR max number of clients reached'.",
    ),
    p("loglevel", Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]), "notice", true, "Log verbosity."),
    p("logfile", Kind::Str, "", false, "Log file; empty logs to standard output."),
    p("daemonize", Kind::Bool, "no", false, "Accepted for compatibility; Strata always runs in the foreground."),
    p("pidfile", Kind::Str, "", false, "Write the process id to this file at startup."),
    p("dir", Kind::Str, ".", true, "Working directory for snapshot files."),
    p("dbfilename", Kind::Str, "dump.rdb", true, "Snapshot file name inside 'dir'."),
    p(
        "save",
        Kind::List,
        "3600 1 300 100 60 10000",
        true,
        "Snapshot points: pairs of <seconds> <changes>; empty disables.",
    ),
    p("appendonly", Kind::Bool, "no", true, "Accepted for compatibility; Strata persists with snapshots."),
    p("maxmemory", Kind::Memory(0, u64::MAX), "0", true, "Memory limit for the dataset (0 = unlimited)."),
    p(
        "maxmemory-clients",
        Kind::Memory(0, u64::MAX),
        "0",
        true,
        "Memory limit for all client buffers together (0 = none).",
    ),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction", true, "What to evict when maxmemory is reached."),
    p("maxmemory-samples", Kind::Int(1, 64), "5", true, "Keys sampled per eviction step."),
    p(
        "maxmemory-eviction-tenacity",
        Kind::Int(0, 100),
        "10",
        true,
        "How hard eviction works per write when over the limit.",
    ),
    p("lfu-log-factor", Kind::Int(0, I32), "10", true, "LFU counter logarithm factor."),
    p("lfu-decay-time", Kind::Int(0, I32), "1", true, "Minutes after which an idle key's LFU counter halves."),
    p("hz", Kind::Int(0, I32), "10", true, "Background task frequency (active expiry cycles per second)."),
    p("active-expire-effort", Kind::Int(1, 10), "1", true, "How much CPU the active expiry cycle may use (1-10)."),
    p(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, I32 as u64 * 4),
        "512mb",
        true,
        "Largest bulk string a client may send.",
    ),
    p(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024, u64::MAX),
        "1gb",
        true,
        "Largest query buffer of one client; beyond it the client is closed.",
    ),
    p(
        "client-output-buffer-limit",
        Kind::List,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
        "Output buffer limits per client class: <class> <hard> <soft> <soft-seconds>.",
    ),
    p("notify-keyspace-events", Kind::Str, "", true, "Keyspace notification classes (K E g $ l s h z x e t m d n A)."),
    p("latency-tracking", Kind::Bool, "yes", true, "Keep per-command latency histograms for INFO latencystats."),
    p(
        "latency-tracking-info-percentiles",
        Kind::List,
        "50 99 99.9",
        true,
        "Percentiles INFO latencystats reports (each 0 to 100).",
    ),
    p(
        "slowlog-log-slower-than",
        Kind::Int(-1, i64::MAX),
        "10000",
        true,
        "Commands slower than this many microseconds are logged (-1 disables).",
    ),
    p("slowlog-max-len", Kind::Int(0, i64::MAX), "128", true, "Slow log length."),
    p("latency-monitor-threshold", Kind::Int(0, i64::MAX), "0", true, "Latency monitor threshold in milliseconds."),
    p(
        "compression",
        Kind::Bool,
        "yes",
        true,
        "Compress cold string values with LZ4 and a dictionary sampled from the data.",
    ),
    p(
        "compression-min-size",
        Kind::Memory(16, u64::MAX),
        "256",
        true,
        "Smallest value, in bytes, the cold tier compresses.",
    ),
    p(
        "compression-cold-seconds",
        Kind::Int(0, I32),
        "60",
        true,
        "A value not read for this many seconds is cold and may be compressed.",
    ),
    p(
        "hash-max-listpack-entries",
        Kind::Int(0, I32),
        "128",
        true,
        "Hashes with at most this many fields use the compact listpack encoding.",
    ),
    p(
        "hash-max-listpack-value",
        Kind::Int(0, I32),
        "64",
        true,
        "... and whose fields and values are at most this many bytes.",
    ),
    p(
        "set-max-intset-entries",
        Kind::Int(0, I32),
        "512",
        true,
        "Sets of at most this many integers use the compact intset encoding.",
    ),
    p(
        "zset-max-listpack-entries",
        Kind::Int(0, I32),
        "128",
        true,
        "Sorted sets with at most this many members use the compact listpack encoding.",
    ),
    p("zset-max-listpack-value", Kind::Int(0, I32), "64", true, "... and whose members are at most this many bytes."),
    p("list-max-listpack-size", Kind::Int(-5, I32), "-2", true, "Accepted for compatibility (list node size)."),
    p("list-compress-depth", Kind::Int(0, I32), "0", true, "Accepted for compatibility (list node compression)."),
    p(
        "hll-sparse-max-bytes",
        Kind::Int(0, I32),
        "3000",
        true,
        "HyperLogLogs switch from the sparse to the dense encoding past this size.",
    ),
    p("lazyfree-lazy-eviction", Kind::Bool, "no", true, "Free evicted values in the background."),
    p("lazyfree-lazy-expire", Kind::Bool, "no", true, "Free expired values in the background."),
    p("lazyfree-lazy-server-del", Kind::Bool, "no", true, "Free values deleted by the server in the background."),
    p("lazyfree-lazy-user-del", Kind::Bool, "no", true, "Make DEL behave like UNLINK."),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no", true, "Make FLUSHDB/FLUSHALL default to ASYNC."),
    p(
        "repl-backlog-size",
        Kind::Memory(16 * 1024, u64::MAX),
        "1mb",
        true,
        "Bytes of write effects kept for consumers that reconnect (from the first consumer on).",
    ),
    p("replica-read-only", Kind::Bool, "yes", true, "Replicas refuse writes from clients."),
    p("http-port", Kind::Int(0, 65535), "0", false, "HTTP port for /metrics, /health and /ready (0 = off)."),
    p("http-bind", Kind::Str, "127.0.0.1", false, "Address of the HTTP port."),
    p("unixsocket", Kind::Str, "", false, "Accepted for compatibility; Unix sockets are not served."),
];

/// conf/strata.conf, the documented defaults, embedded so a bare `strata-server` runs on exactly that file.
pub const EMBEDDED: &str = include_str!("../conf/strata.conf");

/// Old names Redis still accepts for renamed parameters.
const ALIASES: &[(&str, &str)] = &[
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("slave-read-only", "replica-read-only"),
];

/// Finds a parameter by (case-insensitive) name or alias.
pub fn param(name: &str) -> Option<&'static Param> {
    let name = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)).map_or(name, |(_, n)| n);
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A configuration error, worded like Redis's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// Canonicalises and validates `args` for `param`.
pub fn normalize(param: &Param, args: &[&[u8]]) -> Result<String, String> {
    let joined = || args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ");
    if !matches!(param.kind, Kind::List) && args.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    let one = args.first().copied().unwrap_or(b"");
    match param.kind {
        Kind::Bool => match one.to_ascii_lowercase().as_slice() {
            b"yes" => Ok("yes".into()),
            b"no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(lo, hi) => {
            let v = parse_i64(one).ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if v < lo || v > hi {
                return Err(format!("argument must be between {lo} and {hi} inclusive"));
            }
            // Redis accepts any hz and clamps it to 1..=500.
            let v = if param.name == "hz" { v.clamp(1, 500) } else { v };
            Ok(v.to_string())
        }
        Kind::Memory(lo, hi) => {
            let v = parse_memory(one).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v < lo || v > hi {
                return Err(format!("argument must be between {lo} and {hi} inclusive"));
            }
            Ok(v.to_string())
        }
        Kind::Enum(words) => {
            let s = String::from_utf8_lossy(one).to_ascii_lowercase();
            if words.contains(&s.as_str()) {
                Ok(s)
            } else {
                Err(format!("argument(s) must be one of the following: {}", words.join(", ")))
            }
        }
        Kind::Str if param.name == "notify-keyspace-events" => {
            let flags = crate::store::event::parse_flags(&String::from_utf8_lossy(one))?;
            Ok(crate::store::event::flags_to_string(flags))
        }
        Kind::Str => Ok(String::from_utf8_lossy(one).into_owned()),
        Kind::List => {
            let s = joined();
            validate_list(param.name, &s)?;
            if param.name == "latency-tracking-info-percentiles" {
                // Stored as Redis prints them back: `99.90` is `99.9`.
                let canonical: Vec<String> = s
                    .split_whitespace()
                    .filter_map(|w| w.parse::<f64>().ok())
                    .map(crate::util::num::format_shortest_double)
                    .collect();
                return Ok(canonical.join(" "));
            }
            Ok(s)
        }
    }
}

fn validate_list(name: &str, s: &str) -> Result<(), String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match name {
        "save"
            if (!words.len().is_multiple_of(2)
                || words.iter().any(|w| parse_i64(w.as_bytes()).is_none_or(|n| n < 0))) =>
        {
            return Err("Invalid save parameters".into());
        }
        "latency-tracking-info-percentiles" => {
            for w in &words {
                let p: f64 =
                    w.parse().map_err(|_| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
            }
        }
        "client-output-buffer-limit" => {
            if !words.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            for c in words.chunks(4) {
                if !matches!(c[0], "normal" | "slave" | "replica" | "pubsub") {
                    return Err("Invalid client class specified in buffer limit configuration.".into());
                }
                if c[1..3].iter().any(|w| parse_memory(w.as_bytes()).is_none())
                    || parse_i64(c[3].as_bytes()).is_none_or(|n| n < 0)
                {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `client-output-buffer-limit` sets only the classes it names, as Redis does: merges `update` into `current`
/// and prints every class in bytes, in Redis's order (normal, slave, pubsub).
fn merge_output_limits(current: &str, update: &str) -> String {
    let mut classes: Vec<(&str, [u64; 3])> = vec![("normal", [0; 3]), ("slave", [0; 3]), ("pubsub", [0; 3])];
    for text in [current, update] {
        let words: Vec<&str> = text.split_whitespace().collect();
        for c in words.chunks(4) {
            let [class, hard, soft, secs] = c else { continue };
            let class = if *class == "replica" { "slave" } else { *class };
            let Some(slot) = classes.iter_mut().find(|(n, _)| *n == class) else { continue };
            let mem = |w: &str| parse_memory(w.as_bytes()).unwrap_or(0);
            slot.1 = [mem(hard), mem(soft), secs.parse().unwrap_or(0)];
        }
    }
    classes.iter().map(|(n, [h, s, t])| format!("{n} {h} {s} {t}")).collect::<Vec<_>>().join(" ")
}

/// Typed copies of the values read often.
#[derive(Debug, Clone, Default)]
pub struct Cached {
    pub port: u16,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub maxclients: usize,
    pub timeout_secs: u64,
    pub maxmemory: u64,
    pub hz: u64,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub lazyfree_user_flush: bool,
    pub lazyfree_user_del: bool,
    pub worker_threads: usize,
    pub shard_bits: u32,
}

/// The running configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// The config file given on the command line, for CONFIG REWRITE.
    pub file: Option<PathBuf>,
    pub cached: Cached,
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: PARAMS
                .iter()
                .map(|p| {
                    let words: Vec<&[u8]> = p.default.split_whitespace().map(str::as_bytes).collect();
                    let words = if words.is_empty() { vec![&b""[..]] } else { words };
                    let v = if matches!(p.kind, Kind::List) { Ok(p.default.to_string()) } else { normalize(p, &words) };
                    (p.name, v.unwrap_or_else(|_| p.default.to_string()))
                })
                .collect(),
            file: None,
            cached: Cached::default(),
        };
        c.refresh_cache();
        c
    }
}

impl Config {
    /// The canonical string value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|s| s.as_str())
    }

    /// Sets `name` from already validated canonical text.
    fn put(&mut self, name: &'static str, value: String) {
        self.values.insert(name, value);
    }

    /// Validates and sets one parameter (used by files, flags and CONFIG SET).
    pub fn set(&mut self, name: &str, args: &[&[u8]]) -> Result<(), String> {
        let param = param(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let mut v = normalize(param, args)?;
        if param.name == "client-output-buffer-limit" {
            v = merge_output_limits(self.get(param.name).unwrap_or(param.default), &v);
        }
        self.put(param.name, v);
        self.refresh_cache();
        Ok(())
    }

    /// All (name, value) pairs whose name matches the glob `pattern`.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let exact = !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        if exact {
            return param(&String::from_utf8_lossy(pattern))
                .map(|p| (p.name, self.values.get(p.name).cloned().unwrap_or_default()))
                .into_iter()
                .collect();
        }
        PARAMS
            .iter()
            .filter(|p| crate::util::glob::glob_match(pattern, p.name.as_bytes(), true))
            .map(|p| (p.name, self.values.get(p.name).cloned().unwrap_or_default()))
            .collect()
    }

    /// Recomputes the typed copies after a change.
    pub fn refresh_cache(&mut self) {
        let int = |n: &str| self.get(n).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let yes = |n: &str| self.get(n) == Some("yes");
        let pass = self.get("requirepass").unwrap_or("");
        let shards = (int("keyspace-shards").max(1) as u64).next_power_of_two();
        self.cached = Cached {
            port: int("port") as u16,
            databases: int("databases").max(1) as usize,
            requirepass: (!pass.is_empty()).then(|| pass.as_bytes().to_vec()),
            maxclients: int("maxclients") as usize,
            timeout_secs: int("timeout") as u64,
            maxmemory: self.get("maxmemory").and_then(|v| v.parse().ok()).unwrap_or(0),
            hz: int("hz").clamp(1, 500) as u64,
            proto_max_bulk_len: int("proto-max-bulk-len"),
            client_query_buffer_limit: int("client-query-buffer-limit") as usize,
            lazyfree_user_flush: yes("lazyfree-lazy-user-flush"),
            lazyfree_user_del: yes("lazyfree-lazy-user-del"),
            worker_threads: int("worker-threads") as usize,
            shard_bits: shards.trailing_zeros(),
        };
    }

    /// Addresses from `bind`, each with whether it is optional (`-` prefix).
    pub fn bind_addrs(&self) -> Vec<(String, bool)> {
        self.get("bind")
            .unwrap_or("")
            .split_whitespace()
            .map(|a| match a.strip_prefix('-') {
                Some(rest) => (rest.to_string(), true),
                None => (a.to_string(), false),
            })
            .collect()
    }

    /// Applies a redis.conf-syntax text. `origin` names it in errors.
    pub fn load_text(&mut self, text: &str, origin: &str, base: &Path, depth: usize) -> Result<(), ConfigError> {
        let mut seen_save = false;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |why: &str| {
                ConfigError(format!(
                    "*** FATAL CONFIG FILE ERROR (Strata {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
                    env!("CARGO_PKG_VERSION"),
                    n + 1,
                    line,
                    why
                ))
            };
            let Some(words) = split_args(line.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line"));
            };
            let Some((name, args)) = words.split_first() else { continue };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            if name == "include" {
                let [path] = args.as_slice() else { return Err(fail("Bad directive or wrong number of arguments")) };
                if depth > 16 {
                    return Err(fail("include nesting too deep"));
                }
                let path = base.join(String::from_utf8_lossy(path).as_ref());
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| fail(&format!("Can't open included file {}: {e}", path.display())))?;
                let inc_base = path.parent().map(Path::to_path_buf).unwrap_or_else(|| base.to_path_buf());
                self.load_text(&text, &path.display().to_string(), &inc_base, depth + 1)?;
                continue;
            }
            // Repeated `save` lines accumulate, as in redis.conf.
            if name == "save" && seen_save && !args.iter().all(|a| a.is_empty()) {
                let mut all: Vec<Vec<u8>> =
                    self.get("save").unwrap_or("").split_whitespace().map(|s| s.as_bytes().to_vec()).collect();
                all.extend(args.iter().map(|a| a.to_vec()));
                let refs: Vec<&[u8]> = all.iter().map(|a| a.as_slice()).collect();
                self.set("save", &refs).map_err(|e| fail(&e))?;
                continue;
            }
            if name == "save" {
                seen_save = true;
                let args: Vec<&[u8]> = args.iter().copied().filter(|a| !a.is_empty()).collect();
                self.set("save", &args).map_err(|e| fail(&e))?;
                continue;
            }
            self.set(&name, &args).map_err(|e| fail(&e))?;
        }
        let _ = origin;
        Ok(())
    }

    /// The embedded default configuration: conf/strata.conf as shipped, compiled into the binary.
    ///
    /// # Errors
    /// Never in a correct build (a unit test parses it); a broken file would be reported like any config error.
    pub fn embedded() -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        cfg.load_text(EMBEDDED, "embedded strata.conf", Path::new("."), 0)?;
        Ok(cfg)
    }

    /// Builds the configuration from redis-server-style arguments: `[config-file] [--name value ...]`, on top of
    /// the embedded defaults.
    ///
    /// # Errors
    /// A [`ConfigError`] in redis-server's wording for unreadable files, unknown directives and bad values.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::embedded()?;
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError(format!("Fatal error, can't open config file '{first}': {e}")))?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                cfg.load_text(&text, first, &base, 0)?;
                cfg.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
                rest = &args[1..];
            }
        }
        // `--name v1 v2 --other v` becomes redis.conf lines, as redis-server does.
        let mut text = String::new();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(name);
            } else {
                text.push(' ');
                text.push_str(&quote(a));
            }
        }
        cfg.load_text(&text, "command line", Path::new("."), 0)?;
        Ok(cfg)
    }

    /// CONFIG REWRITE: rewrites the config file with the current values, keeping comments and order.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("The server is running without a config file".into());
        };
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let mut written = std::collections::HashSet::new();
        let mut out = String::new();
        for raw in old.lines() {
            let name = raw.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
            match param(&name) {
                Some(p) if !raw.trim_start().starts_with('#') => {
                    if written.insert(p.name) {
                        if let Some(line) = self.line_for(p) {
                            out.push_str(&line);
                            out.push('\n');
                        }
                    }
                }
                _ => {
                    out.push_str(raw);
                    out.push('\n');
                }
            }
        }
        let defaults = Config::default();
        for p in PARAMS {
            if !written.contains(p.name) && self.get(p.name) != defaults.get(p.name) {
                if let Some(line) = self.line_for(p) {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
        let tmp = path.with_extension("rewrite.tmp");
        std::fs::write(&tmp, out).map_err(|e| format!("Rewriting config file: {e}"))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("Rewriting config file: {e}"))?;
        Ok(())
    }

    /// The line CONFIG REWRITE writes for `p` (`None` when it has no value).
    pub fn line_for(&self, p: &Param) -> Option<String> {
        let v = self.get(p.name)?;
        Some(match p.kind {
            Kind::List if v.is_empty() => format!("{} \"\"", p.name),
            Kind::List => format!("{} {}", p.name, v.split(' ').map(quote).collect::<Vec<_>>().join(" ")),
            _ => format!("{} {}", p.name, quote(v)),
        })
    }
}

/// Quotes a value for a redis.conf line when it needs it, so that reading the line back gives the value exactly:
/// blanks, quotes, backslashes and any other control byte are escaped (`\xHH`), as sdssplitargs reads them.
pub fn quote(v: &str) -> String {
    let plain = |b: u8| b > b' ' && b != 0x7f && b != b'"' && b != b'\'' && b != b'\\';
    if !v.is_empty() && v.bytes().all(plain) {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => s.push_str(&format!("\\x{:02x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_read_back_exactly() {
        for v in ["a\u{0}b", "\u{b}x\u{b}", "a\"b", "back\\slash", "sp ace", "", "plain", "tab\there", "é"] {
            let line = format!("requirepass {}", quote(v));
            let words = split_args(line.as_bytes()).unwrap();
            assert_eq!(words[1], v.as_bytes(), "{line:?}");
        }
    }

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("strata-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("inc.conf"), "maxmemory 100mb\n").unwrap();
        std::fs::write(
            dir.join("main.conf"),
            "port 6380\n# comment\ninclude inc.conf\nrequirepass \"a b\"\nsave 900 1\nsave 300 10\n",
        )
        .unwrap();
        let args = vec![
            dir.join("main.conf").display().to_string(),
            "--port".into(),
            "7000".into(),
            "--loglevel".into(),
            "warning".into(),
        ];
        let c = Config::from_args(&args).unwrap();
        assert_eq!(c.get("port"), Some("7000"));
        assert_eq!(c.get("maxmemory"), Some("104857600"));
        assert_eq!(c.get("requirepass"), Some("a b"));
        assert_eq!(c.get("save"), Some("900 1 300 10"));
        assert_eq!(c.cached.maxmemory, 104857600);
    }

    #[test]
    fn empty_save_and_errors() {
        let c = Config::from_args(&["--save".into(), "".into()]).unwrap();
        assert_eq!(c.get("save"), Some(""));
        assert!(Config::from_args(&["--nosuch".into(), "1".into()]).is_err());
        assert!(Config::from_args(&["--port".into(), "99999".into()]).is_err());
    }

    #[test]
    fn defaults_are_valid_and_canonical() {
        let c = Config::default();
        assert_eq!(c.get("client-query-buffer-limit"), Some("1073741824"));
        assert_eq!(c.cached.proto_max_bulk_len, 512 * 1024 * 1024);
        for p in PARAMS {
            if !matches!(p.kind, Kind::List | Kind::Str) {
                assert!(normalize(p, &[p.default.as_bytes()]).is_ok(), "{}", p.name);
            }
        }
    }

    #[test]
    fn embedded_file_documents_every_parameter_with_its_default() {
        let embedded = Config::embedded().unwrap();
        let defaults = Config::default();
        for p in PARAMS {
            assert!(EMBEDDED.lines().any(|l| l.split_whitespace().next() == Some(p.name)), "{} undocumented", p.name);
            assert_eq!(embedded.get(p.name), defaults.get(p.name), "{} differs from its default", p.name);
        }
    }

    #[test]
    fn normalize_kinds() {
        assert_eq!(normalize(param("maxmemory").unwrap(), &[b"1kb"]).unwrap(), "1024");
        assert_eq!(normalize(param("appendonly").unwrap(), &[b"YES"]).unwrap(), "yes");
        assert!(normalize(param("maxmemory-policy").unwrap(), &[b"lru"]).is_err());
    }
}
