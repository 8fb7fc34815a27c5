//! Strata: a Redis-protocol-compatible cache server.
//!
//! # Layout
//! - `protocol`: RESP decoding (requests, inline commands, limits) and reply encoding (RESP2/RESP3). Imports nothing
//!   else from the crate.
//! - `engine`: the shared state, sessions, the command table's types, and the one gate every command passes
//!   (`engine/execute.rs`); ACL users and checks (`engine/acl/`); blocking, pub/sub, tracking, notifications.
//! - `commands`: one file per command family (`string.rs`, `keyspace.rs`, ...), each ending in its `COMMANDS`
//!   rows; `commands/mod.rs` joins them into the table and installs it into the engine.
//! - `store`: the keyspace (databases × shards), values, the keyspace-change path (`store/change.rs`) and active
//!   expiry.
//! - `effects`: the write-effect log every write feeds: offsets, the backlog, consumers.
//! - `server`: the network floor: listener, connections, TLS.
//! - `config`: redis.conf parsing and the parameter registry behind CONFIG.
//! - `experiment`: A/B experiments: GrowthBook-compatible assignment and targeting, the experiment value EXP.*
//!   keeps in a key, and the statistics of EXP.RESULTS. Imports nothing else from the crate.
//! - `info`: the INFO sections.
//! - `metrics`: `/metrics`, the INFO figures, command statistics and health in the Prometheus text format.
//! - `error`: every error text sent to clients.
//! - `persist`: snapshots: the file format, copy-on-write BGSAVE, loading.
//! - `util`: Redis-compatible string helpers (glob, number parsing and formatting, argument splitting).
//! - `lua`: Lua support for scripting: the libraries Redis exposes to scripts (`cjson`, `cmsgpack`, `struct`, `bit`).

#![cfg_attr(not(test), deny(clippy::panic, clippy::unwrap_used, clippy::expect_used))]

pub mod commands;
pub mod config;
pub mod effects;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod info;
pub mod lua;
pub mod memory;
pub mod metrics;
pub mod persist;
pub mod protocol;
pub mod server;
pub mod store;
pub mod util;

pub use config::Config;

/// jemalloc, as Redis uses: its statistics give `used_memory` the real allocated bytes.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc options: a background thread returns freed pages to the OS within about a second, so RSS follows
/// used_memory down after evictions, deletions and compression of cold values.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000\0";
pub use server::{start, ServerHandle};

/// The Redis version Strata reports (HELLO, INFO): the Redis release whose semantics it implements.
pub const REDIS_VERSION: &str = "7.0.15";

/// Worker threads the runtime should use for `cfg` (0 = one per available core).
pub fn runtime_threads(cfg: &Config) -> usize {
    match cfg.u64(config::Id::WorkerThreads) as usize {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    }
}
