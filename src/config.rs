//! Configuration: the registry of typed parameters, redis.conf-syntax files, `--name value` overrides, and the
//! CONFIG GET / SET / REWRITE semantics.
//!
//! Every parameter is one row of [`PARAMS`]: its [`Id`], name, Redis aliases, [`Kind`] (which fixes its parser,
//! validation and printed form), default, whether CONFIG SET may change it, and the line of documentation
//! conf/strata.conf carries for it. [`Config`] holds one typed [`Value`] per row, indexed by [`Id`], so nothing
//! re-reads a parameter by name.
//!
//! What a change does to the running server is not decided here: CONFIG SET hands every new value to an
//! [`Apply`] hook, which the engine implements (`engine::hot`) by pushing it into the typed atomics that hot paths
//! read. Keeping the hooks on the engine's side lets this module stay below the engine (it imports only `store`
//! and `util`), and keeps strings off the request path. [`Config::set_many`] runs Redis's CONFIG SET
//! transaction: check every name, parse every value, apply them in order, and put back the ones already applied
//! when a hook fails. [`Config::rewrite`] edits the config file the way Redis's CONFIG REWRITE does.

use crate::util::num::{format_shortest_double, parse_i64, parse_memory};
use crate::util::splitargs::split_args;
use std::path::{Path, PathBuf};

/// Identifies a parameter; also its index in [`PARAMS`] and in a [`Config`]'s values.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Id {
    Bind,
    Port,
    ProtectedMode,
    TcpBacklog,
    TlsPort,
    TlsCertFile,
    TlsKeyFile,
    TlsCaCertFile,
    TlsAuthClients,
    TlsProtocols,
    Timeout,
    TcpKeepalive,
    Databases,
    KeyspaceShards,
    WorkerThreads,
    IoThreads,
    Requirepass,
    Aclfile,
    AcllogMaxLen,
    AclPubsubDefault,
    EnableDebugCommand,
    EnableProtectedConfigs,
    EnableModuleCommand,
    Maxclients,
    Loglevel,
    Logfile,
    Daemonize,
    Pidfile,
    Dir,
    Dbfilename,
    Save,
    StopWritesOnBgsaveError,
    Appendonly,
    Appendfilename,
    Appenddirname,
    Appendfsync,
    AofLoadTruncated,
    AutoAofRewritePercentage,
    AutoAofRewriteMinSize,
    BackupDir,
    BackupSchedule,
    BackupRetention,
    BackupCompression,
    BackupEncryptionKeyFile,
    BackupStorage,
    BackupS3Endpoint,
    BackupS3Region,
    BackupS3AccessKeyId,
    BackupS3SecretAccessKey,
    Maxmemory,
    MaxmemoryClients,
    MaxmemoryPolicy,
    MaxmemorySamples,
    MaxmemoryEvictionTenacity,
    LfuLogFactor,
    LfuDecayTime,
    Hz,
    ActiveExpireEffort,
    ProtoMaxBulkLen,
    ClientQueryBufferLimit,
    ClientOutputBufferLimit,
    NotifyKeyspaceEvents,
    LatencyTracking,
    LatencyTrackingInfoPercentiles,
    TrackingTableMaxKeys,
    SlowlogLogSlowerThan,
    SlowlogMaxLen,
    LatencyMonitorThreshold,
    BusyReplyThreshold,
    Compression,
    CompressionMinSize,
    CompressionColdSeconds,
    CompressionAlgorithm,
    CompressionZstdSeconds,
    WarmSample,
    WarmWindowMs,
    WarmRestart,
    AdaptiveTtl,
    HashMaxListpackEntries,
    HashMaxListpackValue,
    SetMaxIntsetEntries,
    ZsetMaxListpackEntries,
    ZsetMaxListpackValue,
    ListMaxListpackSize,
    ListCompressDepth,
    SanitizeDumpPayload,
    HllSparseMaxBytes,
    StreamNodeMaxBytes,
    StreamNodeMaxEntries,
    KeyLoadDelay,
    LazyfreeLazyEviction,
    LazyfreeLazyExpire,
    LazyfreeLazyServerDel,
    LazyfreeLazyUserDel,
    LazyfreeLazyUserFlush,
    ReplBacklogSize,
    ReplicaReadOnly,
    HttpPort,
    HttpBind,
    LogFormat,
    HealthWindow,
    HealthMemoryWarnPercent,
    HealthMemoryFailPercent,
    HealthFragmentationWarnPercent,
    HealthEvictionsWarn,
    HealthPersistenceMaxAge,
    HealthLatencyWarnMs,
    HealthLatencyFailMs,
    HealthClientsWarnPercent,
    HealthClientsFailPercent,
    HealthOutputBufferWarn,
    HealthExpireStaleWarnPercent,
    ExperimentMaxUsers,
    Unixsocket,
    Activerehashing,
    AlwaysShowLogo,
    AofRewriteIncrementalFsync,
    AofTimestampEnabled,
    AofUseRdbPreamble,
    DisableThp,
    DynamicHz,
    JemallocBgThread,
    NoAppendfsyncOnRewrite,
    OomScoreAdj,
    OomScoreAdjValues,
    ProcTitleTemplate,
    RdbDelSyncFiles,
    RdbSaveIncrementalFsync,
    Rdbchecksum,
    Rdbcompression,
    ReplDisableTcpNodelay,
    ReplDisklessLoad,
    ReplDisklessSync,
    ReplDisklessSyncDelay,
    ReplDisklessSyncMaxReplicas,
    ReplicaLazyFlush,
    ReplicaPriority,
    ReplicaServeStaleData,
    ReplicaIgnoreMaxmemory,
    ReplPingReplicaPeriod,
    ReplTimeout,
    MinReplicasToWrite,
    MinReplicasMaxLag,
    Masterauth,
    Masteruser,
    SetProcTitle,
    Supervised,
    SyslogEnabled,
    SyslogIdent,
    SyslogFacility,
}

/// What values a parameter takes: its parser, its validation and its printed form.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// An integer accepted within the first bounds and stored clamped to the second (Redis's `hz`).
    Clamped(i64, i64, i64, i64),
    /// A byte count with optional unit (`100mb`), within bounds.
    Memory(u64, u64),
    /// One of a fixed set of words, stored as its index.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `bind`: addresses, each optionally prefixed with `-`.
    Addrs,
    /// `save`: pairs of `<seconds> <changes>`.
    Save,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups, merged into the current limits.
    OutputLimits,
    /// `notify-keyspace-events`: notification classes as flag bits.
    Events,
    /// `latency-tracking-info-percentiles`: numbers from 0 to 100.
    Percentiles,
    /// Free text given as one or more words (`oom-score-adj-values 0 200 800`), kept joined by spaces.
    Words,
}

impl Kind {
    /// Whether the value is a list of words rather than one argument.
    fn is_multi(self) -> bool {
        matches!(self, Kind::Addrs | Kind::Save | Kind::OutputLimits | Kind::Percentiles | Kind::Words)
    }
}

/// Whether and how CONFIG SET may change a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Fixed once the server runs.
    Immutable,
    /// CONFIG SET may change it.
    Mutable,
    /// CONFIG SET may change it only where `enable-protected-configs` allows: it points the server at files.
    Protected,
}
use Mutability::{Immutable as IMMUTABLE, Mutable as MUTABLE, Protected as PROTECTED};

/// A parameter's value, typed by its [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Memory(u64),
    /// Index into the kind's words.
    Enum(u8),
    Str(String),
    Addrs(Vec<String>),
    Save(Vec<(u64, u64)>),
    /// Hard limit, soft limit and soft seconds of the normal, replica and pubsub classes, in that order.
    OutputLimits([[u64; 3]; 3]),
    Events(u32),
    Percentiles(Vec<f64>),
}

impl Value {
    /// The value as an unsigned number (negative integers give 0; non-numbers give 0).
    pub fn as_u64(&self) -> u64 {
        match self {
            Value::Int(n) => (*n).max(0) as u64,
            Value::Memory(n) => *n,
            Value::Enum(i) => u64::from(*i),
            Value::Bool(b) => u64::from(*b),
            _ => 0,
        }
    }

    /// The value as a signed number (memory sizes beyond `i64` saturate).
    pub fn as_i64(&self) -> i64 {
        match self {
            Value::Int(n) => *n,
            Value::Memory(n) => i64::try_from(*n).unwrap_or(i64::MAX),
            other => other.as_u64() as i64,
        }
    }

    /// The value as a count or size.
    pub fn as_usize(&self) -> usize {
        usize::try_from(self.as_u64()).unwrap_or(usize::MAX)
    }

    /// `yes` is true.
    pub fn as_bool(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The text of a string parameter ("" for other kinds).
    pub fn as_str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            _ => "",
        }
    }
}

/// One configuration parameter.
#[derive(Debug)]
pub struct Param {
    pub id: Id,
    pub name: &'static str,
    /// Older names Redis still accepts (CONFIG GET/SET, config files); CONFIG REWRITE writes `name`.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: &'static str,
    pub mutability: Mutability,
    pub doc: &'static str,
}

impl Param {
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Param {
        self.aliases = aliases;
        self
    }
}

const fn p(id: Id, name: &'static str, kind: Kind, default: &'static str, m: Mutability, doc: &'static str) -> Param {
    Param { id, name, aliases: &[], kind, default, mutability: m, doc }
}

/// The `maxmemory-policy` words, in the order of `store::evict::Policy`'s discriminants (a test checks it), so
/// the stored index is the policy.
pub const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-tinylfu",
];
/// Redis's words in its order, for its error text (allkeys-tinylfu is Strata's own and not listed, so the text
/// stays Redis's).
const POLICIES_REDIS_ORDER: &str =
    "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";
const I32: i64 = i32::MAX as i64;
/// `enable-*-command` / `enable-protected-configs` words; the index is the allow level (0 no, 1 yes, 2 local).
pub const ALLOW: &[&str] = &["no", "yes", "local"];
/// `loglevel` words, by index.
pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
/// `tls-auth-clients` words, by index.
pub const TLS_AUTH: &[&str] = &["yes", "no", "optional"];
/// `acl-pubsub-default` words, by index.
pub const PUBSUB_DEFAULT: &[&str] = &["allchannels", "resetchannels"];

/// Whether an allow level admits a client (`local`: only loopback clients).
pub fn allows(level: u8, is_local: bool) -> bool {
    level == 1 || (level == 2 && is_local)
}

/// Every parameter Strata knows, in the order conf/strata.conf documents them (and CONFIG REWRITE appends them).
#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    p(Id::Bind, "bind", Kind::Addrs, "127.0.0.1 ::1", IMMUTABLE, "Addresses to listen on (IPv4 or IPv6). A leading '-' makes an address optional."),
    p(Id::Port, "port", Kind::Int(0, 65535), "6379", IMMUTABLE, "TCP port for RESP clients; 0 picks a free port."),
    p(Id::ProtectedMode, "protected-mode", Kind::Bool, "yes", MUTABLE, "With no password for the default user, accept clients only from the loopback interface."),
    p(Id::TcpBacklog, "tcp-backlog", Kind::Int(0, I32), "511", IMMUTABLE, "Listen backlog."),
    p(Id::TlsPort, "tls-port", Kind::Int(0, 65535), "0", IMMUTABLE, "TCP port for TLS clients on the 'bind' addresses; 0 = no TLS."),
    p(Id::TlsCertFile, "tls-cert-file", Kind::Str, "", IMMUTABLE, "Server certificate chain (PEM) for the TLS port."),
    p(Id::TlsKeyFile, "tls-key-file", Kind::Str, "", IMMUTABLE, "Private key (PEM) of tls-cert-file."),
    p(Id::TlsCaCertFile, "tls-ca-cert-file", Kind::Str, "", IMMUTABLE, "CA certificates (PEM) that client certificates must chain to."),
    p(Id::TlsAuthClients, "tls-auth-clients", Kind::Enum(&["yes", "no", "optional"]), "yes", IMMUTABLE, "Require a client certificate (yes), accept one if offered (optional), or never ask (no)."),
    p(Id::TlsProtocols, "tls-protocols", Kind::Str, "", IMMUTABLE, "TLS versions to accept: 'TLSv1.2 TLSv1.3' (empty = both)."),
    p(Id::Timeout, "timeout", Kind::Int(0, I32), "0", MUTABLE, "Close a client idle for this many seconds (0 = never)."),
    p(Id::TcpKeepalive, "tcp-keepalive", Kind::Int(0, I32), "300", MUTABLE, "TCP keepalive period in seconds (0 = off)."),
    p(Id::Databases, "databases", Kind::Int(1, I32), "16", IMMUTABLE, "Number of logical databases (SELECT 0..n-1)."),
    p(Id::KeyspaceShards, "keyspace-shards", Kind::Int(1, 1024), "16", IMMUTABLE, "Shards per database (rounded up to a power of two); more shards, less lock contention."),
    p(Id::WorkerThreads, "worker-threads", Kind::Int(0, 1024), "0", IMMUTABLE, "Runtime worker threads (0 = one per available core)."),
    p(Id::IoThreads, "io-threads", Kind::Int(1, 128), "1", IMMUTABLE, "Accepted for compatibility with redis.conf; use worker-threads."),
    p(Id::Requirepass, "requirepass", Kind::Str, "", MUTABLE, "Password of the default user (same as ACL SETUSER default resetpass >password); empty: nopass."),
    p(Id::Aclfile, "aclfile", Kind::Str, "", IMMUTABLE, "ACL users file for ACL LOAD / ACL SAVE, loaded at startup (a bad file stops the start); empty: none."),
    p(Id::AcllogMaxLen, "acllog-max-len", Kind::Int(0, i64::MAX), "128", MUTABLE, "Entries kept in the ACL LOG."),
    p(Id::AclPubsubDefault, "acl-pubsub-default", Kind::Enum(&["allchannels", "resetchannels"]), "resetchannels", MUTABLE, "Channels a new ACL user may use: allchannels, or none until granted (resetchannels)."),
    p(Id::EnableDebugCommand, "enable-debug-command", Kind::Enum(ALLOW), "no", IMMUTABLE, "Allow DEBUG: no, yes, or local (only from loopback connections)."),
    p(Id::EnableProtectedConfigs, "enable-protected-configs", Kind::Enum(ALLOW), "no", IMMUTABLE, "Allow CONFIG SET of protected parameters (dir, dbfilename): no, yes, or local."),
    p(Id::EnableModuleCommand, "enable-module-command", Kind::Enum(ALLOW), "no", IMMUTABLE, "Accepted for compatibility; Strata loads no modules."),
    p(Id::Maxclients, "maxclients", Kind::Int(1, I32), "10000", MUTABLE, "Maximum simultaneous clients; more get '-ERR max number of clients reached'."),
    p(Id::Loglevel, "loglevel", Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]), "notice", MUTABLE, "Log verbosity."),
    p(Id::Logfile, "logfile", Kind::Str, "", IMMUTABLE, "Log file; empty logs to standard output."),
    p(Id::Daemonize, "daemonize", Kind::Bool, "no", IMMUTABLE, "Accepted for compatibility; Strata always runs in the foreground."),
    p(Id::Pidfile, "pidfile", Kind::Str, "", IMMUTABLE, "Write the process id to this file at startup."),
    p(Id::Dir, "dir", Kind::Str, ".", PROTECTED, "Working directory for snapshot files."),
    p(Id::Dbfilename, "dbfilename", Kind::Str, "dump.strata", PROTECTED, "Snapshot file name inside 'dir' (Strata's own format, so not Redis's dump.rdb: redis tools would misread it)."),
    p(Id::Save, "save", Kind::Save, "3600 1 300 100 60 10000", MUTABLE, "Snapshot points: pairs of <seconds> <changes>; empty disables."),
    p(Id::StopWritesOnBgsaveError, "stop-writes-on-bgsave-error", Kind::Bool, "yes", MUTABLE, "Refuse writes (-MISCONF) while the last background save failed and save points are set."),
    p(Id::Appendonly, "appendonly", Kind::Bool, "no", MUTABLE, "Keep a change log: every write is appended to segment files and replayed after the snapshot at startup."),
    p(Id::Appendfilename, "appendfilename", Kind::Str, "appendonly.aof", IMMUTABLE, "Name the change log's segment files start with (<name>.<offset>.changes)."),
    p(Id::Appenddirname, "appenddirname", Kind::Str, "appendonlydir", IMMUTABLE, "Directory of the change log's segments, inside 'dir'."),
    p(Id::Appendfsync, "appendfsync", Kind::Enum(&["always", "everysec", "no"]), "everysec", MUTABLE, "When the change log is synced: always (before each write's reply), everysec, or no (left to the OS)."),
    p(Id::AofLoadTruncated, "aof-load-truncated", Kind::Bool, "yes", MUTABLE, "At startup, cut off a change log record left incomplete by a crash (no: refuse to start)."),
    p(Id::AutoAofRewritePercentage, "auto-aof-rewrite-percentage", Kind::Int(0, I32), "100", MUTABLE, "Start a new base (a snapshot) when the change log grew by this percent since the last one; 0 disables."),
    p(Id::AutoAofRewriteMinSize, "auto-aof-rewrite-min-size", Kind::Memory(0, u64::MAX), "64mb", MUTABLE, "The change log must be at least this big for auto-aof-rewrite-percentage to apply."),
    p(Id::BackupDir, "backup-dir", Kind::Str, "backups", MUTABLE, "Directory of BACKUP CREATE's backups, inside 'dir' (or an absolute path)."),
    p(Id::BackupSchedule, "backup-schedule", Kind::Str, "", MUTABLE, "Scheduled backups: 'every <duration>' or 'daily HH:MM' (UTC), then full (default) or incremental; empty: none."),
    p(Id::BackupRetention, "backup-retention", Kind::Str, "", MUTABLE, "Backups kept after each scheduled one: 'count N' and/or 'age <duration>' (and whatever they depend on); empty: all."),
    p(Id::BackupCompression, "backup-compression", Kind::Bool, "yes", MUTABLE, "Store new backups' data files zstd-compressed."),
    p(Id::BackupEncryptionKeyFile, "backup-encryption-key-file", Kind::Str, "", MUTABLE, "Encrypt new backups with AES-256-GCM under the key in this file (32 bytes or 64 hex digits); needed to restore them."),
    p(Id::BackupStorage, "backup-storage", Kind::Str, "", MUTABLE, "Where backups are kept: empty for backup-dir alone, or s3://bucket/prefix (backup-dir then stages and caches them)."),
    p(Id::BackupS3Endpoint, "backup-s3-endpoint", Kind::Str, "", MUTABLE, "Endpoint of an S3-compatible service (http://host:port); empty: AWS."),
    p(Id::BackupS3Region, "backup-s3-region", Kind::Str, "us-east-1", MUTABLE, "Region of the backup bucket."),
    p(Id::BackupS3AccessKeyId, "backup-s3-access-key-id", Kind::Str, "", MUTABLE, "Access key for the backup bucket; empty: AWS_ACCESS_KEY_ID and the standard environment."),
    p(Id::BackupS3SecretAccessKey, "backup-s3-secret-access-key", Kind::Str, "", MUTABLE, "Secret key for the backup bucket; empty: AWS_SECRET_ACCESS_KEY."),
    p(Id::Maxmemory, "maxmemory", Kind::Memory(0, u64::MAX), "0", MUTABLE, "Memory limit for the dataset (0 = unlimited)."),
    p(Id::MaxmemoryClients, "maxmemory-clients", Kind::Memory(0, u64::MAX), "0", MUTABLE, "Memory limit for all client buffers together (0 = none)."),
    p(Id::MaxmemoryPolicy, "maxmemory-policy", Kind::Enum(POLICIES), "noeviction", MUTABLE, "What to evict when maxmemory is reached."),
    p(Id::MaxmemorySamples, "maxmemory-samples", Kind::Int(1, 64), "5", MUTABLE, "Keys sampled per eviction step."),
    p(Id::MaxmemoryEvictionTenacity, "maxmemory-eviction-tenacity", Kind::Int(0, 100), "10", MUTABLE, "How hard eviction works per write when over the limit."),
    p(Id::LfuLogFactor, "lfu-log-factor", Kind::Int(0, I32), "10", MUTABLE, "LFU counter logarithm factor."),
    p(Id::LfuDecayTime, "lfu-decay-time", Kind::Int(0, I32), "1", MUTABLE, "Minutes after which an idle key's LFU counter halves."),
    p(Id::Hz, "hz", Kind::Clamped(0, I32, 1, 500), "10", MUTABLE, "Background task frequency (active expiry cycles per second)."),
    p(Id::ActiveExpireEffort, "active-expire-effort", Kind::Int(1, 10), "1", MUTABLE, "How much CPU the active expiry cycle may use (1-10)."),
    p(Id::ProtoMaxBulkLen, "proto-max-bulk-len", Kind::Memory(1024 * 1024, I32 as u64 * 4), "512mb", MUTABLE, "Largest bulk string a client may send."),
    p(Id::ClientQueryBufferLimit, "client-query-buffer-limit", Kind::Memory(1024 * 1024, u64::MAX), "1gb", MUTABLE, "Largest query buffer of one client; beyond it the client is closed."),
    p(Id::ClientOutputBufferLimit, "client-output-buffer-limit", Kind::OutputLimits, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", MUTABLE, "Output buffer limits per client class: <class> <hard> <soft> <soft-seconds>."),
    p(Id::NotifyKeyspaceEvents, "notify-keyspace-events", Kind::Events, "", MUTABLE, "Keyspace notification classes (K E g $ l s h z x e t m d n A)."),
    p(Id::LatencyTracking, "latency-tracking", Kind::Bool, "yes", MUTABLE, "Keep per-command latency histograms for INFO latencystats."),
    p(Id::LatencyTrackingInfoPercentiles, "latency-tracking-info-percentiles", Kind::Percentiles, "50 99 99.9", MUTABLE, "Percentiles INFO latencystats reports (each 0 to 100)."),
    p(Id::TrackingTableMaxKeys, "tracking-table-max-keys", Kind::Int(0, i64::MAX), "1000000", MUTABLE, "Keys the CLIENT TRACKING table remembers (0: no limit); past it, random keys are invalidated for their readers."),
    p(Id::SlowlogLogSlowerThan, "slowlog-log-slower-than", Kind::Int(-1, i64::MAX), "10000", MUTABLE, "Commands slower than this many microseconds are logged (-1 disables)."),
    p(Id::SlowlogMaxLen, "slowlog-max-len", Kind::Int(0, i64::MAX), "128", MUTABLE, "Slow log length."),
    p(Id::LatencyMonitorThreshold, "latency-monitor-threshold", Kind::Int(0, i64::MAX), "0", MUTABLE, "Latency monitor threshold in milliseconds."),
    p(Id::BusyReplyThreshold, "busy-reply-threshold", Kind::Int(0, i64::MAX), "5000", MUTABLE, "After a script has run this many milliseconds, other clients get -BUSY and SCRIPT KILL may stop it.").aliases(&["lua-time-limit"]),
    p(Id::Compression, "compression", Kind::Bool, "yes", MUTABLE, "Compress cold string values (LZ4 or zstd, see compression-algorithm) against a dictionary sampled from the data."),
    p(Id::CompressionMinSize, "compression-min-size", Kind::Memory(16, u64::MAX), "256", MUTABLE, "Smallest value, in bytes, the cold tier compresses."),
    p(Id::CompressionColdSeconds, "compression-cold-seconds", Kind::Int(0, I32), "60", MUTABLE, "A value not read for this many seconds is cold and may be compressed."),
    p(Id::CompressionAlgorithm, "compression-algorithm", Kind::Enum(crate::store::compress::Algorithm::NAMES), "auto", MUTABLE, "Codec for cold values: lz4, zstd (trained dictionary, smaller, slower to read), or auto (lz4, then zstd once idle for compression-zstd-seconds)."),
    p(Id::CompressionZstdSeconds, "compression-zstd-seconds", Kind::Int(0, I32), "300", MUTABLE, "With compression-algorithm auto, a value not read for this many seconds is recompressed with zstd."),
    p(Id::WarmSample, "warm-sample", Kind::Int(0, I32), "16", MUTABLE, "Predictive warming learns from one pair of consecutive reads of a client per this many reads, picked at random (keys read together, keys found missing); 1: every read; 0: off."),
    p(Id::WarmWindowMs, "warm-window-ms", Kind::Int(1, I32), "2000", MUTABLE, "Reads of one client this close are read together; a predicted key read within this time is a precise prediction."),
    p(Id::WarmRestart, "warm-restart", Kind::Bool, "yes", MUTABLE, "At startup, load the snapshot's hot keys (idle for less than compression-cold-seconds when saved) first and serve them while the rest loads in the background; commands on keys not loaded yet get -LOADING (not with appendonly)."),
    p(Id::AdaptiveTtl, "adaptive-ttl", Kind::Str, "", MUTABLE, "ADAPTIVE TTL policies by key prefix, as groups of: prefix base min max (seconds), for keys with an expiry and no TTLPOLICY of their own; their CACHE.GET hits set the TTL from the key's LFU counter."),
    p(Id::HashMaxListpackEntries, "hash-max-listpack-entries", Kind::Int(0, I32), "512", MUTABLE, "Hashes with at most this many fields use the compact listpack encoding.").aliases(&["hash-max-ziplist-entries"]),
    p(Id::HashMaxListpackValue, "hash-max-listpack-value", Kind::Int(0, I32), "64", MUTABLE, "... and whose fields and values are at most this many bytes.").aliases(&["hash-max-ziplist-value"]),
    p(Id::SetMaxIntsetEntries, "set-max-intset-entries", Kind::Int(0, I32), "512", MUTABLE, "Sets of at most this many integers use the compact intset encoding."),
    p(Id::ZsetMaxListpackEntries, "zset-max-listpack-entries", Kind::Int(0, I32), "128", MUTABLE, "Sorted sets with at most this many members use the compact listpack encoding.").aliases(&["zset-max-ziplist-entries"]),
    p(Id::ZsetMaxListpackValue, "zset-max-listpack-value", Kind::Int(0, I32), "64", MUTABLE, "... and whose members are at most this many bytes.").aliases(&["zset-max-ziplist-value"]),
    p(Id::ListMaxListpackSize, "list-max-listpack-size", Kind::Int(-5, I32), "-2", MUTABLE, "The list node size DUMP splits lists by, as Redis's quicklist would (negative: -1..-5 for 4..64 KB; positive: elements per node).").aliases(&["list-max-ziplist-size"]),
    p(Id::ListCompressDepth, "list-compress-depth", Kind::Int(0, I32), "0", MUTABLE, "Accepted for compatibility (list node compression)."),
    p(Id::SanitizeDumpPayload, "sanitize-dump-payload", Kind::Enum(&["no", "yes", "clients"]), "no", MUTABLE, "Accepted for compatibility: RESTORE always validates a payload fully (as Redis with yes)."),
    p(Id::HllSparseMaxBytes, "hll-sparse-max-bytes", Kind::Int(0, I32), "3000", MUTABLE, "HyperLogLogs switch from the sparse to the dense encoding past this size."),
    p(Id::StreamNodeMaxBytes, "stream-node-max-bytes", Kind::Memory(0, i64::MAX as u64), "4096", MUTABLE, "A stream block takes new entries until it holds about this many bytes (0: up to 1 GB)."),
    p(Id::StreamNodeMaxEntries, "stream-node-max-entries", Kind::Int(0, i64::MAX), "100", MUTABLE, "... or this many entries (0: any number); an approximate trim removes whole blocks only."),
    p(Id::KeyLoadDelay, "key-load-delay", Kind::Int(-I32, I32), "0", MUTABLE, "Microseconds to pause after each key a snapshot load inserts (a testing aid, as in Redis); 0 or less: none."),
    p(Id::LazyfreeLazyEviction, "lazyfree-lazy-eviction", Kind::Bool, "no", MUTABLE, "Free evicted values in the background."),
    p(Id::LazyfreeLazyExpire, "lazyfree-lazy-expire", Kind::Bool, "no", MUTABLE, "Free expired values in the background."),
    p(Id::LazyfreeLazyServerDel, "lazyfree-lazy-server-del", Kind::Bool, "no", MUTABLE, "Free values deleted by the server in the background."),
    p(Id::LazyfreeLazyUserDel, "lazyfree-lazy-user-del", Kind::Bool, "no", MUTABLE, "Make DEL behave like UNLINK."),
    p(Id::LazyfreeLazyUserFlush, "lazyfree-lazy-user-flush", Kind::Bool, "no", MUTABLE, "Make FLUSHDB/FLUSHALL default to ASYNC."),
    p(Id::ReplBacklogSize, "repl-backlog-size", Kind::Memory(16 * 1024, u64::MAX), "1mb", MUTABLE, "Bytes of write effects kept for consumers that reconnect (from the first consumer on)."),
    p(Id::ReplicaReadOnly, "replica-read-only", Kind::Bool, "yes", MUTABLE, "Replicas refuse writes from clients.").aliases(&["slave-read-only"]),
    p(Id::HttpPort, "http-port", Kind::Int(0, 65535), "0", IMMUTABLE, "HTTP port for /metrics, /health and /ready (0 = off)."),
    p(Id::HttpBind, "http-bind", Kind::Str, "127.0.0.1", IMMUTABLE, "Address of the HTTP port."),
    p(Id::LogFormat, "log-format", Kind::Enum(&["text", "json"]), "text", IMMUTABLE, "Log lines as text, or as one JSON object per line."),
    p(Id::HealthWindow, "health-window", Kind::Int(1, 3600), "10", MUTABLE, "Seconds over which HEALTH measures stalls, evictions and OOM refusals."),
    p(Id::HealthMemoryWarnPercent, "health-memory-warn-percent", Kind::Int(1, 100), "90", MUTABLE, "HEALTH memory warns at this share of maxmemory (or of system memory without one)."),
    p(Id::HealthMemoryFailPercent, "health-memory-fail-percent", Kind::Int(1, 100), "98", MUTABLE, "HEALTH memory fails at this share of maxmemory (or of system memory without one)."),
    p(Id::HealthFragmentationWarnPercent, "health-fragmentation-warn-percent", Kind::Int(100, 100_000), "150", MUTABLE, "HEALTH memory warns at this RSS to allocated ratio (percent) when the excess is 64 MB or more."),
    p(Id::HealthEvictionsWarn, "health-evictions-warn", Kind::Int(0, i64::MAX), "1000", MUTABLE, "HEALTH eviction warns at this many evicted keys per second (0: at any)."),
    p(Id::HealthPersistenceMaxAge, "health-persistence-max-age", Kind::Int(0, i64::MAX), "0", MUTABLE, "HEALTH persistence warns when changes have gone unsaved this many seconds without a change log (0: off)."),
    p(Id::HealthLatencyWarnMs, "health-latency-warn-ms", Kind::Int(1, i64::MAX), "100", MUTABLE, "HEALTH event-loop warns when a worker stalled this many milliseconds."),
    p(Id::HealthLatencyFailMs, "health-latency-fail-ms", Kind::Int(1, i64::MAX), "1000", MUTABLE, "HEALTH event-loop fails when a worker stalled this many milliseconds."),
    p(Id::HealthClientsWarnPercent, "health-clients-warn-percent", Kind::Int(1, 100), "80", MUTABLE, "HEALTH clients warns at this share of maxclients."),
    p(Id::HealthClientsFailPercent, "health-clients-fail-percent", Kind::Int(1, 100), "95", MUTABLE, "HEALTH clients fails at this share of maxclients."),
    p(Id::HealthOutputBufferWarn, "health-output-buffer-warn", Kind::Memory(0, u64::MAX), "64mb", MUTABLE, "HEALTH clients warns when one client's output buffer holds this much (0: off)."),
    p(Id::HealthExpireStaleWarnPercent, "health-expire-stale-warn-percent", Kind::Int(1, 100), "25", MUTABLE, "HEALTH expiry warns when this share of sampled volatile keys had already expired."),
    p(Id::ExperimentMaxUsers, "experiment-max-users", Kind::Int(0, i64::MAX), "1000000", MUTABLE, "Users an experiment enrolls (sticky assignment, tracked outcomes); later users are assigned by hash only."),
    p(Id::Unixsocket, "unixsocket", Kind::Str, "", IMMUTABLE, "Accepted for compatibility; Unix sockets are not served."),    p(Id::Activerehashing, "activerehashing", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: Strata's tables resize incrementally on their own."),
    p(Id::AlwaysShowLogo, "always-show-logo", Kind::Bool, "no", IMMUTABLE, "Accepted for compatibility with redis.conf: Strata prints no logo."),
    p(Id::AofRewriteIncrementalFsync, "aof-rewrite-incremental-fsync", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: a change log's base is a snapshot, fsynced once written."),
    p(Id::AofTimestampEnabled, "aof-timestamp-enabled", Kind::Bool, "no", MUTABLE, "Accepted for compatibility with redis.conf: the change log records effect offsets, not timestamps."),
    p(Id::AofUseRdbPreamble, "aof-use-rdb-preamble", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: a change log's base is always a Strata snapshot."),
    p(Id::DisableThp, "disable-thp", Kind::Bool, "yes", IMMUTABLE, "Accepted for compatibility with redis.conf: transparent huge pages are left as the system sets them."),
    p(Id::DynamicHz, "dynamic-hz", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: the cron runs hz times a second whatever the number of clients."),
    p(Id::JemallocBgThread, "jemalloc-bg-thread", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: the allocator purges with its own defaults."),
    p(Id::NoAppendfsyncOnRewrite, "no-appendfsync-on-rewrite", Kind::Bool, "no", MUTABLE, "Accepted for compatibility with redis.conf: the change log keeps its appendfsync policy during a rewrite."),
    p(Id::OomScoreAdj, "oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"]), "no", MUTABLE, "Accepted for compatibility with redis.conf: the process's OOM score is not adjusted."),
    p(Id::OomScoreAdjValues, "oom-score-adj-values", Kind::Words, "0 200 800", MUTABLE, "Accepted for compatibility with redis.conf (see oom-score-adj)."),
    p(Id::ProcTitleTemplate, "proc-title-template", Kind::Words, "{title} {listen-addr} {server-mode}", MUTABLE, "Accepted for compatibility with redis.conf: the process title is not changed."),
    p(Id::RdbDelSyncFiles, "rdb-del-sync-files", Kind::Bool, "no", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::RdbSaveIncrementalFsync, "rdb-save-incremental-fsync", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: a snapshot is fsynced once written."),
    p(Id::Rdbchecksum, "rdbchecksum", Kind::Bool, "yes", IMMUTABLE, "Accepted for compatibility with redis.conf: snapshots always carry CRC32s, per block and for the whole file."),
    p(Id::Rdbcompression, "rdbcompression", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: snapshot blocks are always LZ4-compressed."),
    p(Id::ReplDisableTcpNodelay, "repl-disable-tcp-nodelay", Kind::Bool, "no", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::ReplDisklessLoad, "repl-diskless-load", Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::ReplDisklessSync, "repl-diskless-sync", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::ReplDisklessSyncDelay, "repl-diskless-sync-delay", Kind::Int(0, I32), "5", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::ReplDisklessSyncMaxReplicas, "repl-diskless-sync-max-replicas", Kind::Int(0, I32), "0", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::ReplicaLazyFlush, "replica-lazy-flush", Kind::Bool, "no", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["slave-lazy-flush"]),
    p(Id::ReplicaPriority, "replica-priority", Kind::Int(0, I32), "100", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["slave-priority"]),
    p(Id::ReplicaServeStaleData, "replica-serve-stale-data", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["slave-serve-stale-data"]),
    p(Id::ReplicaIgnoreMaxmemory, "replica-ignore-maxmemory", Kind::Bool, "yes", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["slave-ignore-maxmemory"]),
    p(Id::ReplPingReplicaPeriod, "repl-ping-replica-period", Kind::Int(1, I32), "10", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["repl-ping-slave-period"]),
    p(Id::ReplTimeout, "repl-timeout", Kind::Int(1, I32), "60", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::MinReplicasToWrite, "min-replicas-to-write", Kind::Int(0, I32), "0", MUTABLE, "Accepted for compatibility with redis.conf, not enforced: Strata serves no replicas yet.").aliases(&["min-slaves-to-write"]),
    p(Id::MinReplicasMaxLag, "min-replicas-max-lag", Kind::Int(0, I32), "10", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet.").aliases(&["min-slaves-max-lag"]),
    p(Id::Masterauth, "masterauth", Kind::Str, "", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::Masteruser, "masteruser", Kind::Str, "", MUTABLE, "Accepted for compatibility with redis.conf: Strata serves no replicas yet."),
    p(Id::SetProcTitle, "set-proc-title", Kind::Bool, "yes", IMMUTABLE, "Accepted for compatibility with redis.conf: the process title is not changed."),
    p(Id::Supervised, "supervised", Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no", IMMUTABLE, "Accepted for compatibility with redis.conf: Strata runs in the foreground and does not notify a supervisor."),
    p(Id::SyslogEnabled, "syslog-enabled", Kind::Bool, "no", IMMUTABLE, "Accepted for compatibility with redis.conf: logs go to standard error (see log-format)."),
    p(Id::SyslogIdent, "syslog-ident", Kind::Str, "redis", IMMUTABLE, "Accepted for compatibility with redis.conf (see syslog-enabled)."),
    p(Id::SyslogFacility, "syslog-facility", Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0", IMMUTABLE, "Accepted for compatibility with redis.conf (see syslog-enabled)."),
];

/// conf/strata.conf, the documented defaults, embedded so a bare `strata-server` runs on exactly that file.
pub const EMBEDDED: &str = include_str!("../conf/strata.conf");

/// The row of `id`.
pub fn spec(id: Id) -> &'static Param {
    // Rows are in `Id` order (a test checks it); the fallback keeps a broken table from panicking.
    PARAMS
        .get(id as usize)
        .filter(|p| p.id == id)
        .unwrap_or_else(|| PARAMS.iter().find(|p| p.id == id).unwrap_or(&PARAMS[0]))
}

/// Finds a parameter by (case-insensitive) name or alias, with the name it was found under.
pub fn lookup(name: &str) -> Option<(&'static Param, &'static str)> {
    PARAMS.iter().find_map(|p| {
        if p.name.eq_ignore_ascii_case(name) {
            return Some((p, p.name));
        }
        p.aliases.iter().find(|a| a.eq_ignore_ascii_case(name)).map(|a| (p, *a))
    })
}

/// Finds a parameter by (case-insensitive) name or alias.
pub fn param(name: &str) -> Option<&'static Param> {
    lookup(name).map(|(p, _)| p)
}

/// A configuration error, worded like Redis's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// Why a CONFIG SET was refused, ready for Redis's two error shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// `Unknown option or number of arguments for CONFIG SET - '<name>'`.
    Unknown(String),
    /// `CONFIG SET failed (possibly related to argument '<arg>') - <why>`.
    Failed { arg: String, why: String },
}

/// What a running server does when a parameter takes a new value: pushes it into the copies its hot paths read,
/// or acts on it (`dir` changes the working directory). Implemented by the engine.
pub trait Apply {
    /// Makes `value` of `id` effective.
    ///
    /// # Errors
    /// The reason, in Redis's words, when the value cannot take effect; CONFIG SET then puts back every
    /// parameter of the same call.
    fn apply(&self, id: Id, value: &Value) -> Result<(), String>;
}

fn range_error(lo: impl std::fmt::Display, hi: impl std::fmt::Display) -> String {
    format!("argument must be between {lo} and {hi} inclusive")
}

/// Parses `args` for `param` into its typed value; `current` is the value it replaces (output limits merge).
///
/// # Errors
/// Redis's text for the kind: `argument must be 'yes' or 'no'`, `argument couldn't be parsed into an integer`,
/// `argument must be between <lo> and <hi> inclusive`, `argument must be a memory value`,
/// `argument(s) must be one of the following: ...`, `Invalid save parameters`, and so on.
pub fn parse(param: &Param, args: &[&[u8]], current: Option<&Value>) -> Result<Value, String> {
    let multi = param.kind.is_multi();
    if !multi && args.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    let one = args.first().copied().unwrap_or(b"");
    let words = || -> Vec<String> {
        args.iter()
            .flat_map(|a| String::from_utf8_lossy(a).split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    Ok(match param.kind {
        Kind::Bool => match one.to_ascii_lowercase().as_slice() {
            b"yes" => Value::Bool(true),
            b"no" => Value::Bool(false),
            _ => return Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(lo, hi) => {
            let v = parse_i64(one).ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if v < lo || v > hi {
                return Err(range_error(lo, hi));
            }
            Value::Int(v)
        }
        Kind::Clamped(lo, hi, min, max) => {
            let v = parse_i64(one).ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            if v < lo || v > hi {
                return Err(range_error(lo, hi));
            }
            Value::Int(v.clamp(min, max))
        }
        Kind::Memory(lo, hi) => {
            let v = parse_memory(one).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v < lo || v > hi {
                return Err(range_error(lo, hi));
            }
            Value::Memory(v)
        }
        Kind::Enum(names) => {
            let s = String::from_utf8_lossy(one).to_ascii_lowercase();
            match names.iter().position(|w| *w == s) {
                Some(i) => Value::Enum(i as u8),
                None if param.id == Id::MaxmemoryPolicy => {
                    return Err(format!("argument(s) must be one of the following: {POLICIES_REDIS_ORDER}"))
                }
                None => return Err(format!("argument(s) must be one of the following: {}", names.join(", "))),
            }
        }
        Kind::Str => Value::Str(String::from_utf8_lossy(one).into_owned()),
        Kind::Words => Value::Str(words().join(" ")),
        Kind::Events => Value::Events(crate::store::event::parse_flags(&String::from_utf8_lossy(one))?),
        Kind::Addrs => Value::Addrs(words()),
        Kind::Save => {
            let w = words();
            let nums: Vec<u64> =
                w.iter().filter_map(|s| parse_i64(s.as_bytes()).and_then(|n| u64::try_from(n).ok())).collect();
            if !w.len().is_multiple_of(2) || nums.len() != w.len() {
                return Err("Invalid save parameters".into());
            }
            Value::Save(nums.chunks(2).map(|c| (c[0], c[1])).collect())
        }
        Kind::Percentiles => {
            let mut out = Vec::new();
            for w in words() {
                let p: f64 =
                    w.parse().map_err(|_| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                out.push(p);
            }
            Value::Percentiles(out)
        }
        Kind::OutputLimits => {
            let w = words();
            if !w.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            // Only the classes named change, as in Redis.
            let mut limits = match current {
                Some(Value::OutputLimits(l)) => *l,
                _ => [[0; 3]; 3],
            };
            for c in w.chunks(4) {
                let class = match c[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                };
                let hard = parse_memory(c[1].as_bytes());
                let soft = parse_memory(c[2].as_bytes());
                let secs = parse_i64(c[3].as_bytes()).and_then(|n| u64::try_from(n).ok());
                let (Some(hard), Some(soft), Some(secs)) = (hard, soft, secs) else {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                };
                limits[class] = [hard, soft, secs];
            }
            Value::OutputLimits(limits)
        }
    })
}

const CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// The value as CONFIG GET prints it.
pub fn render(param: &Param, v: &Value) -> String {
    match (param.kind, v) {
        (Kind::Enum(names), Value::Enum(i)) => names.get(*i as usize).copied().unwrap_or("").to_string(),
        (_, Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        (_, Value::Int(n)) => n.to_string(),
        (_, Value::Memory(n)) => n.to_string(),
        (_, Value::Enum(i)) => i.to_string(),
        (_, Value::Str(s)) => s.clone(),
        (_, Value::Addrs(a)) => a.join(" "),
        (_, Value::Save(pairs)) => pairs.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" "),
        (_, Value::OutputLimits(l)) => {
            CLASSES.iter().zip(l).map(|(n, [h, s, t])| format!("{n} {h} {s} {t}")).collect::<Vec<_>>().join(" ")
        }
        (_, Value::Events(f)) => crate::store::event::flags_to_string(*f),
        (_, Value::Percentiles(p)) => p.iter().map(|v| format_shortest_double(*v)).collect::<Vec<_>>().join(" "),
    }
}

/// A byte count as CONFIG REWRITE writes it: in the largest unit that divides it, as Redis does.
fn memory_words(n: u64) -> String {
    const K: u64 = 1024;
    match n {
        0 => "0".into(),
        n if n.is_multiple_of(K * K * K) => format!("{}gb", n / (K * K * K)),
        n if n.is_multiple_of(K * K) => format!("{}mb", n / (K * K)),
        n if n.is_multiple_of(K) => format!("{}kb", n / K),
        n => n.to_string(),
    }
}

/// The lines CONFIG REWRITE writes for one parameter, each with whether it must be written even when the file
/// does not mention the parameter (Redis's `force`: the value differs from the default, or it is always written).
fn rewrite_lines(p: &Param, v: &Value, default: &Value) -> Vec<(String, bool)> {
    let changed = v != default;
    let name = p.name;
    match v {
        // Redis writes one line per pair, and `save ""` to keep its built-in points from coming back.
        Value::Save(pairs) if pairs.is_empty() => vec![(format!("{name} \"\""), true)],
        Value::Save(pairs) => pairs.iter().map(|(s, c)| (format!("{name} {s} {c}"), true)).collect(),
        Value::OutputLimits(l) => {
            let d = match default {
                Value::OutputLimits(d) => *d,
                _ => [[0; 3]; 3],
            };
            CLASSES
                .iter()
                .zip(l.iter().zip(d.iter()))
                .map(|(class, ([h, s, t], dl))| {
                    (format!("{name} {class} {} {} {t}", memory_words(*h), memory_words(*s)), [*h, *s, *t] != *dl)
                })
                .collect()
        }
        Value::Memory(n) => vec![(format!("{name} {}", memory_words(*n)), changed)],
        // Strings are always quoted, as Redis's sdscatrepr writes them.
        Value::Str(s) => vec![(format!("{name} {}", repr(s)), changed)],
        Value::Events(_) => vec![(format!("{name} {}", repr(&render(p, v))), changed)],
        Value::Addrs(a) if a.is_empty() => vec![(format!("{name} \"\""), changed)],
        Value::Addrs(a) => {
            vec![(format!("{name} {}", a.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")), changed)]
        }
        _ => vec![(format!("{name} {}", render(p, v)), changed)],
    }
}

/// The comment Redis puts above the lines CONFIG REWRITE appends.
const SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// The running configuration: one typed value per parameter.
#[derive(Debug, Clone)]
pub struct Config {
    values: Vec<Value>,
    /// The config file given on the command line, for CONFIG REWRITE.
    pub file: Option<PathBuf>,
}

fn default_value(p: &Param) -> Value {
    let words: Vec<&[u8]> = p.default.split_whitespace().map(str::as_bytes).collect();
    let words = if words.is_empty() { vec![&b""[..]] } else { words };
    let words = if p.kind.is_multi() && p.default.is_empty() { Vec::new() } else { words };
    parse(p, &words, None).unwrap_or(Value::Str(p.default.to_string()))
}

impl Default for Config {
    fn default() -> Self {
        Config { values: PARAMS.iter().map(default_value).collect(), file: None }
    }
}

impl Config {
    /// The typed value of `id`.
    pub fn value(&self, id: Id) -> &Value {
        const NONE: &Value = &Value::Int(0);
        self.values.get(id as usize).unwrap_or(NONE)
    }

    /// `id` as a number (see [`Value::as_u64`]).
    pub fn u64(&self, id: Id) -> u64 {
        self.value(id).as_u64()
    }

    /// `id` as yes/no.
    pub fn bool(&self, id: Id) -> bool {
        self.value(id).as_bool()
    }

    /// `id` as text ("" unless it is a string parameter).
    pub fn str(&self, id: Id) -> &str {
        self.value(id).as_str()
    }

    /// The word an enum parameter is set to.
    pub fn word(&self, id: Id) -> &'static str {
        match (spec(id).kind, self.value(id)) {
            (Kind::Enum(names), Value::Enum(i)) => names.get(*i as usize).copied().unwrap_or(""),
            _ => "",
        }
    }

    /// The value of `name` (or an alias) as CONFIG GET prints it.
    pub fn get(&self, name: &str) -> Option<String> {
        param(name).map(|p| render(p, self.value(p.id)))
    }

    /// The printed value of `id`.
    pub fn text(&self, id: Id) -> String {
        render(spec(id), self.value(id))
    }

    /// Stores an already parsed value.
    fn put(&mut self, id: Id, v: Value) {
        if let Some(slot) = self.values.get_mut(id as usize) {
            *slot = v;
        }
    }

    /// Validates and sets one parameter from a file or the command line (no apply hook runs: the server is not
    /// built yet).
    ///
    /// # Errors
    /// Unknown names and invalid values, in Redis's words.
    pub fn set(&mut self, name: &str, args: &[&[u8]]) -> Result<(), String> {
        let p = param(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let v = parse(p, args, Some(self.value(p.id)))?;
        self.put(p.id, v);
        Ok(())
    }

    /// CONFIG SET of several `(name, value)` pairs, as Redis 7 runs it: every name is checked first (unknown,
    /// immutable, protected unless `protected_ok`, given twice), then every value is parsed, then each is stored
    /// and applied in order. When a hook fails, the parameters already applied get their old values back (and
    /// their hooks run again with them), so the call changes nothing.
    ///
    /// # Errors
    /// [`SetError`] with Redis's texts (`can't set immutable config`, `duplicate parameter`, a parse error, or
    /// the failing hook's reason).
    pub fn set_many(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        protected_ok: bool,
        hooks: &dyn Apply,
    ) -> Result<(), SetError> {
        let mut found: Vec<(&'static Param, &'static str)> = Vec::with_capacity(pairs.len());
        let mut unknown = None;
        let mut failed = None;
        for (name, _) in pairs {
            let typed = String::from_utf8_lossy(name).into_owned();
            let Some((p, as_named)) = lookup(&typed) else {
                if unknown.is_none() && failed.is_none() {
                    unknown = Some(typed);
                }
                continue;
            };
            if unknown.is_some() || failed.is_some() {
                continue;
            }
            let why = match p.mutability {
                Mutability::Immutable => Some("can't set immutable config"),
                Mutability::Protected if !protected_ok => Some("can't set protected config"),
                // An alias and its parameter are different entries to Redis; only the same entry twice is refused.
                _ if found.iter().any(|(q, n)| q.id == p.id && *n == as_named) => Some("duplicate parameter"),
                _ => None,
            };
            if let Some(why) = why {
                failed = Some(SetError::Failed { arg: typed, why: why.into() });
                continue;
            }
            found.push((p, as_named));
        }
        if let Some(name) = unknown {
            return Err(SetError::Unknown(name));
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let mut parsed = Vec::with_capacity(found.len());
        for ((p, as_named), (_, raw)) in found.iter().zip(pairs) {
            let words: Vec<Vec<u8>>;
            let args: Vec<&[u8]> = if p.kind.is_multi() {
                words = split_args(raw).unwrap_or_default();
                words.iter().map(Vec::as_slice).collect()
            } else {
                vec![*raw]
            };
            let current = parsed.iter().rev().find(|(id, _)| *id == p.id).map(|(_, v)| v).unwrap_or(self.value(p.id));
            let v =
                parse(p, &args, Some(current)).map_err(|why| SetError::Failed { arg: (*as_named).to_string(), why })?;
            parsed.push((p.id, v));
        }
        let mut applied: Vec<(Id, Value)> = Vec::with_capacity(parsed.len());
        for ((id, v), (_, as_named)) in parsed.into_iter().zip(&found) {
            let old = self.value(id).clone();
            self.put(id, v.clone());
            applied.push((id, old));
            if let Err(why) = hooks.apply(id, &v) {
                tracing::warn!("Failed applying new configuration. Possibly related to new {as_named} setting. Restoring previous settings.");
                for (id, old) in applied.into_iter().rev() {
                    if let Err(e) = hooks.apply(id, &old) {
                        tracing::warn!("restoring {}: {e}", spec(id).name);
                    }
                    self.put(id, old);
                }
                return Err(SetError::Failed { arg: (*as_named).to_string(), why });
            }
        }
        Ok(())
    }

    /// `(name as reported, printed value)` for every parameter `pattern` names: an exact name or alias is
    /// reported as given; a glob matches names and aliases alike, as Redis's does.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static Param, String, String)> {
        let exact = !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        if exact {
            let typed = String::from_utf8_lossy(pattern).into_owned();
            return param(&typed).map(|p| (p, typed, render(p, self.value(p.id)))).into_iter().collect();
        }
        let mut out = Vec::new();
        for p in PARAMS {
            for name in std::iter::once(&p.name).chain(p.aliases) {
                if crate::util::glob::glob_match(pattern, name.as_bytes(), true) {
                    out.push((p, name.to_string(), render(p, self.value(p.id))));
                }
            }
        }
        out
    }

    /// Addresses from `bind`, each with whether it is optional (`-` prefix).
    pub fn bind_addrs(&self) -> Vec<(String, bool)> {
        let Value::Addrs(addrs) = self.value(Id::Bind) else { return Vec::new() };
        addrs
            .iter()
            .map(|a| match a.strip_prefix('-') {
                Some(rest) => (rest.to_string(), true),
                None => (a.to_string(), false),
            })
            .collect()
    }

    /// Shards per database as a power of two's exponent.
    pub fn shard_bits(&self) -> u32 {
        self.u64(Id::KeyspaceShards).max(1).next_power_of_two().trailing_zeros()
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
                    self.text(Id::Save).split_whitespace().map(|s| s.as_bytes().to_vec()).collect();
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

    /// CONFIG REWRITE, as Redis does it: the file keeps its comments, blank lines and order; the first line of
    /// each parameter is replaced with its current value and its other lines dropped; parameters the file does not
    /// mention are appended under a `# Generated by CONFIG REWRITE` comment, but only when they differ from their
    /// default (or, like `save` and `dir`, are always written); lines naming unknown parameters are kept as
    /// `# ??? ` comments. The new text goes to a temporary file that is synced and renamed over the old one.
    ///
    /// # Errors
    /// `The server is running without a config file`, or the I/O error.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("The server is running without a config file".into());
        };
        let old = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("Rewriting config file: {e}")),
        };
        let text = self.rewritten(&old);
        write_synced(path, &text).map_err(|e| format!("Rewriting config file: {e}"))
    }

    /// The lines CONFIG REWRITE writes for `p` when it writes them all (`dir` as configured, not the working
    /// directory): loading them gives back the same value.
    pub fn lines_for(&self, p: &Param) -> Vec<String> {
        rewrite_lines(p, self.value(p.id), &default_value(p)).into_iter().map(|(l, _)| l).collect()
    }

    /// The text CONFIG REWRITE makes of the config file `old` (see [`Config::rewrite`]).
    pub fn rewritten(&self, old: &str) -> String {
        let mut lines: Vec<String> = Vec::new();
        // Line numbers of each parameter in the old file, first first.
        let mut at: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); PARAMS.len()];
        let mut needs_signature = true;
        for raw in old.lines() {
            let line = raw.trim_matches(|c| matches!(c, '\r' | '\n' | '\t' | ' '));
            if line.is_empty() || line.starts_with('#') {
                if line == SIGNATURE {
                    needs_signature = false;
                }
                lines.push(line.to_string());
                continue;
            }
            let name = split_args(line.as_bytes())
                .and_then(|w| w.into_iter().next())
                .map(|n| String::from_utf8_lossy(&n).to_ascii_lowercase());
            match name.as_deref() {
                Some(n) => match param(n) {
                    Some(p) => {
                        at[p.id as usize].push_back(lines.len());
                        lines.push(line.to_string());
                    }
                    // Directives only files know: kept as they are.
                    None if matches!(n, "include" | "rename-command" | "user" | "loadmodule") => {
                        lines.push(line.to_string())
                    }
                    None => lines.push(format!("# ??? {line}")),
                },
                None => lines.push(format!("# ??? {line}")),
            }
        }
        let mut appended = Vec::new();
        for p in PARAMS {
            let v = self.value(p.id);
            let default = default_value(p);
            let mut out = rewrite_lines(p, v, &default);
            if p.id == Id::Dir {
                // Redis writes the working directory, always: `dir .` would depend on where the server starts.
                let cwd =
                    std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| v.as_str().to_string());
                out = vec![(format!("dir {}", repr(&cwd)), true)];
            }
            let slots = &mut at[p.id as usize];
            for (line, force) in out {
                match slots.pop_front() {
                    Some(n) => lines[n] = line,
                    None if force => appended.push(line),
                    None => {}
                }
            }
            // Lines left over for a parameter that was written are dropped.
            for n in slots.drain(..) {
                lines[n].clear();
            }
        }
        if !appended.is_empty() {
            if needs_signature {
                lines.push(String::new());
                lines.push(SIGNATURE.to_string());
            }
            lines.extend(appended);
        }
        let mut text = String::new();
        let mut was_empty = false;
        for l in &lines {
            // Runs of empty lines become one, as in Redis.
            if l.is_empty() && was_empty {
                continue;
            }
            was_empty = l.is_empty();
            text.push_str(l);
            text.push('\n');
        }
        text
    }
}

/// Writes `text` to a temporary file beside `path`, syncs it, renames it over `path` and syncs the directory, so
/// a crash leaves the old file or the new one, never half of one.
fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            let _ = f.set_permissions(meta.permissions());
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A string as Redis's `sdscatrepr` writes it: always quoted, so an empty or blank value reads back exactly.
pub fn repr(v: &str) -> String {
    let q = quote(v);
    if q.starts_with('"') {
        q
    } else {
        format!("\"{q}\"")
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
            for line in [format!("requirepass {}", quote(v)), format!("requirepass {}", repr(v))] {
                let words = split_args(line.as_bytes()).unwrap();
                assert_eq!(words[1], v.as_bytes(), "{line:?}");
            }
        }
    }

    #[test]
    fn rows_are_in_id_order_and_names_unique() {
        let mut names = std::collections::HashSet::new();
        for (i, p) in PARAMS.iter().enumerate() {
            assert_eq!(p.id as usize, i, "{}", p.name);
            for n in std::iter::once(&p.name).chain(p.aliases) {
                assert!(names.insert(*n), "{n} twice");
            }
        }
    }

    #[test]
    fn policy_words_follow_the_policy_enum() {
        for (i, w) in POLICIES.iter().enumerate() {
            assert_eq!(crate::store::evict::Policy::from_u8(i as u8).name(), *w);
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
        assert_eq!(c.u64(Id::Port), 7000);
        assert_eq!(c.value(Id::Maxmemory), &Value::Memory(104857600));
        assert_eq!(c.str(Id::Requirepass), "a b");
        assert_eq!(c.value(Id::Save), &Value::Save(vec![(900, 1), (300, 10)]));
        assert_eq!(c.word(Id::Loglevel), "warning");
    }

    #[test]
    fn empty_save_and_errors() {
        let c = Config::from_args(&["--save".into(), "".into()]).unwrap();
        assert_eq!(c.get("save").as_deref(), Some(""));
        assert!(Config::from_args(&["--nosuch".into(), "1".into()]).is_err());
        assert!(Config::from_args(&["--port".into(), "99999".into()]).is_err());
    }

    #[test]
    fn defaults_are_valid_and_typed() {
        let c = Config::default();
        assert_eq!(c.get("client-query-buffer-limit").as_deref(), Some("1073741824"));
        assert_eq!(c.value(Id::ProtoMaxBulkLen), &Value::Memory(512 * 1024 * 1024));
        for p in PARAMS {
            let words: Vec<&[u8]> = p.default.split_whitespace().map(str::as_bytes).collect();
            if !words.is_empty() {
                assert!(parse(p, &words, None).is_ok(), "{}", p.name);
            }
            assert!(!matches!((p.kind, c.value(p.id)), (Kind::Int(..), Value::Str(_))), "{}", p.name);
        }
    }

    #[test]
    fn embedded_file_documents_every_parameter_with_its_default() {
        let embedded = Config::embedded().unwrap();
        let defaults = Config::default();
        for p in PARAMS {
            assert!(EMBEDDED.lines().any(|l| l.split_whitespace().next() == Some(p.name)), "{} undocumented", p.name);
            assert_eq!(embedded.value(p.id), defaults.value(p.id), "{} differs from its default", p.name);
        }
    }

    #[test]
    fn parse_kinds() {
        let one = |n: &str, v: &[u8]| parse(param(n).unwrap(), &[v], None);
        assert_eq!(one("maxmemory", b"1kb").unwrap(), Value::Memory(1024));
        assert_eq!(one("appendonly", b"YES").unwrap(), Value::Bool(true));
        assert_eq!(one("hz", b"1000").unwrap(), Value::Int(500));
        assert!(one("maxmemory-policy", b"lru").is_err());
        assert_eq!(param("HASH-MAX-ZIPLIST-ENTRIES").unwrap().id, Id::HashMaxListpackEntries);
        assert_eq!(param("slave-read-only").unwrap().id, Id::ReplicaReadOnly);
    }

    struct Hooks(std::cell::RefCell<Vec<(Id, Value)>>);
    impl Apply for Hooks {
        fn apply(&self, id: Id, value: &Value) -> Result<(), String> {
            self.0.borrow_mut().push((id, value.clone()));
            if id == Id::Dir && value.as_str() == "/nonexistent" {
                return Err("No such file or directory".into());
            }
            Ok(())
        }
    }

    #[test]
    fn set_many_validates_all_then_applies_and_rolls_back() {
        let mut c = Config::default();
        let hooks = Hooks(Default::default());
        let e = c.set_many(&[(b"hz", b"15"), (b"maxmemory", b"x")], true, &hooks).unwrap_err();
        assert_eq!(e, SetError::Failed { arg: "maxmemory".into(), why: "argument must be a memory value".into() });
        assert!(hooks.0.borrow().is_empty(), "nothing applied before every value parsed");
        let e = c.set_many(&[(b"maxmemory", b"1mb"), (b"dir", b"/nonexistent")], true, &hooks).unwrap_err();
        assert_eq!(e, SetError::Failed { arg: "dir".into(), why: "No such file or directory".into() });
        assert_eq!(c.value(Id::Maxmemory), &Value::Memory(0));
        assert_eq!(hooks.0.borrow().last(), Some(&(Id::Maxmemory, Value::Memory(0))), "old value re-applied");
        assert_eq!(
            c.set_many(&[(b"port", b"1"), (b"nosuch", b"1")], true, &hooks).unwrap_err(),
            SetError::Failed { arg: "port".into(), why: "can't set immutable config".into() }
        );
        assert_eq!(
            c.set_many(&[(b"nosuch", b"1"), (b"port", b"1")], true, &hooks).unwrap_err(),
            SetError::Unknown("nosuch".into())
        );
        assert!(c
            .set_many(&[(b"hash-max-ziplist-entries", b"1"), (b"hash-max-listpack-entries", b"2")], true, &hooks)
            .is_ok());
        assert_eq!(c.u64(Id::HashMaxListpackEntries), 2);
    }

    #[test]
    fn rewrite_keeps_comments_order_and_drops_duplicates() {
        let mut c = Config::default();
        c.set("maxmemory", &[b"3mb"]).unwrap();
        c.set("hash-max-listpack-entries", &[b"2"]).unwrap();
        c.set("maxmemory-policy", &[b"allkeys-lfu"]).unwrap();
        c.set("requirepass", &[b"a b"]).unwrap();
        c.set("save", &[b"900", b"1"]).unwrap();
        let old = "# top\nport 6379\nhash-max-ziplist-entries 64\nmaxmemory 1mb\n\n\n# mid\nhz 10\nmaxmemory 5mb\nsave 1 1\nsave 2 2\n";
        let new = c.rewritten(old);
        let lines: Vec<&str> = new.lines().collect();
        assert_eq!(
            &lines[..8],
            ["# top", "port 6379", "hash-max-listpack-entries 2", "maxmemory 3mb", "", "# mid", "hz 10", ""]
        );
        assert_eq!(lines[8], "save 900 1");
        assert!(lines.contains(&SIGNATURE), "{new}");
        assert!(lines.contains(&"maxmemory-policy allkeys-lfu"), "{new}");
        assert!(lines.contains(&"requirepass \"a b\""), "{new}");
        assert!(!lines.iter().any(|l| l.starts_with("timeout")), "defaults not in the file stay out: {new}");
        // A second rewrite changes nothing and adds no second signature.
        assert_eq!(c.rewritten(&new), new);
    }
}
