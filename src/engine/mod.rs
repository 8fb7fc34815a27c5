//! The execution engine: the state every command sees, sessions, and the one gate every command passes, whoever
//! sends it (a client connection, EXEC's queue, and later a script, a replica link or a change-log replay).
//!
//! - `state`: [`Server`], the shared state (keyspace, config, statistics, registries).
//! - `hot`: the typed copies of configuration that hot paths read, and the apply hooks CONFIG SET runs.
//! - `table`: the command table's types; `commands/` fills and installs it.
//! - `client`: [`Session`] (one caller's database, protocol, user, MULTI and tracking state) and the registry of
//!   connected clients (CLIENT LIST/KILL, MONITOR).
//! - `execute`: [`execute`], the gate in Redis's `processCommand` order, then locking, the handler's panic
//!   boundary, statistics and the command's write effect.
//! - `ctx`: [`Ctx`], what a handler receives: the session, the locked shards, the effect sink.
//! - `acl`: users, their rules, and the permission check the gate makes.
//! - `backup`: BACKUP CREATE/VERIFY/RESTORE over `persist::backup`'s files.
//! - `persistence`, `changelog`: snapshots (SAVE, BGSAVE, loading, save points) and the change log (appendonly:
//!   the effect stream's writer thread, replay at startup, new bases).
//! - `slowlog`, `latency_monitor`, `health`: SLOWLOG's entries, LATENCY's event series, and the health model
//!   behind HEALTH and the HTTP port's probes.
//! - `blocking`, `pubsub`, `tracking`, `notify`: clients waiting on keys, channel subscriptions, client-side
//!   caching, keyspace notifications.
//!
//! The engine imports the store, the effect log, config and protocol below it, never `commands/` or `server/`
//! above it (scripts/module-cycles.py checks this in CI).

pub mod acl;
pub mod backup;
pub mod blocking;
pub mod changelog;
pub mod client;
pub mod ctx;
pub mod execute;
pub mod health;
pub mod hot;
pub mod latency_monitor;
pub mod notify;
pub mod persistence;
pub mod pubsub;
pub mod script;
pub mod slowlog;
pub mod state;
pub mod table;
pub mod tracking;
pub mod warm;

pub use client::Session;
pub use ctx::Ctx;
pub use execute::{execute, Outcome};
pub use state::Server;
