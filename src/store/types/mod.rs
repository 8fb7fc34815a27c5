//! Data structures behind the non-string types, each with its compact and its full encoding.
//!
//! - `listpack`: packed byte strings (small hashes).
//! - `hash`, `set`, `zset`: the hash, set and sorted-set values.
//! - `ranktree`: the order-statistic tree behind large sorted sets.
//! - `hll`: HyperLogLog, byte-compatible with Redis (stored as a string).
//!
//! Lists are a `VecDeque` of byte strings (Redis 7.0 reports them as `quicklist` at every size).

pub mod hash;
pub mod hll;
pub mod listpack;
pub mod ranktree;
pub mod set;
pub mod zset;

pub use hash::{HashLimits, HashValue};
pub use set::SetValue;
pub use zset::{LexBound, ScoreBound, ZSetValue, ZsetLimits};
