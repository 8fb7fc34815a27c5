//! Lua support for scripting: the pieces of Redis's Lua environment that do not depend on the keyspace.
//!
//! - `libs`: the `cjson`, `cmsgpack`, `struct` and `bit` libraries Redis 7.0 loads into every script's globals.

pub mod libs;
