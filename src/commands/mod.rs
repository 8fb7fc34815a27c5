//! The command families and the command table's rows: read by the engine's gate, COMMAND, MULTI, stats, ACL
//! (categories, key specs), and later scripting and replication. The row types live in `engine/table.rs`.
//!
//! Each family file (`string.rs`, `keyspace.rs`, ...) ends in a `COMMANDS` slice of [`CommandSpec`] rows; this module
//! joins them into [`TABLE`] and installs it into the engine. Adding a command is one row, one handler, one integration test and one differential
//! case.

pub mod acl;
pub mod args;
pub mod backup;
pub mod bitmap;
pub mod cache;
pub mod connection;
pub mod counter;
pub mod docs;
pub mod docs_history;
pub mod dump;
pub mod experiment;
pub mod expire;
pub mod function;
pub mod geo;
pub mod hash;
pub mod health;
pub mod hyperloglog;
pub mod introspect;
pub mod keyspace;
pub mod latency;
pub mod list;
pub mod memory;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sketch;
pub mod slowlog;
pub mod sort;
pub mod stream;
pub mod stream_group;
pub mod string;
pub mod tag;
pub mod transaction;
pub mod warm;
pub mod zset;

pub use crate::engine::ctx::{self, Ctx};
pub use crate::engine::table::*;
use std::sync::LazyLock;

/// Every family's rows.
fn families() -> Vec<&'static [CommandSpec]> {
    vec![
        connection::COMMANDS,
        string::COMMANDS,
        bitmap::COMMANDS,
        keyspace::COMMANDS,
        expire::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        set::COMMANDS,
        hyperloglog::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        stream::COMMANDS,
        stream_group::COMMANDS,
        pubsub::COMMANDS,
        memory::COMMANDS,
        transaction::COMMANDS,
        server::COMMANDS,
        introspect::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        health::COMMANDS,
        acl::COMMANDS,
        scripting::COMMANDS,
        function::COMMANDS,
        counter::COMMANDS,
        sketch::COMMANDS,
        experiment::COMMANDS,
        sort::COMMANDS,
        dump::COMMANDS,
        backup::COMMANDS,
        tag::COMMANDS,
        cache::COMMANDS,
        warm::COMMANDS,
    ]
}

/// The command table, built from every family's rows and installed into the engine on first use.
pub static TABLE: LazyLock<&'static CommandTable> =
    LazyLock::new(|| crate::engine::table::install(&families(), introspect::acl_category_bits));

/// The command table (installs it into the engine on first call).
pub fn table() -> &'static CommandTable {
    *TABLE
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn table_rows_are_consistent() {
        let mut names = std::collections::HashSet::new();
        for c in &TABLE.commands {
            let s = c.spec;
            assert!(names.insert(c.full_name.clone()), "duplicate {}", c.full_name);
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            assert_ne!(s.arity, 0, "{}", c.full_name);
            assert!(!(s.has(flags::WRITE) && s.has(flags::READONLY)), "{}", c.full_name);
            if s.has(flags::WRITE) {
                assert_ne!(s.effect, Effect::Never, "{}", c.full_name);
            }
            if let Keys::Range { first, last, .. } = s.keys {
                let min = s.arity.abs();
                assert!(first < min || s.arity < 0, "{} key position beyond arity", c.full_name);
                assert!(last < min || last < 0 || s.arity < 0, "{}", c.full_name);
            }
            if c.subs.is_empty() && c.parent.is_none() || c.parent.is_some() {
                assert!(!s.docs.summary.is_empty(), "{} has no summary", c.full_name);
            }
        }
    }

    #[test]
    fn key_positions() {
        let a: Vec<Bytes> = ["mset", "a", "1", "b", "2"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(Keys::range(1, -1, 2).positions(&a), vec![1, 3]);
        assert_eq!(Keys::one(1).positions(&a[..1]), Vec::<usize>::new());
    }
}
