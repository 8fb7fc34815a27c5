//! Data structures behind the non-string types, each with its compact and its full encoding.
//!
//! - `listpack`: packed byte strings (small hashes).
//! - `hash`, `set`, `zset`: the hash, set and sorted-set values.
//! - `ranktree`: the order-statistic tree behind large sorted sets.
//! - `hll`: HyperLogLog, byte-compatible with Redis (stored as a string).
//! - `counter`: windowed counters (rings of time buckets) and windowed distinct counters.
//! - `topk`, `cms`: HeavyKeeper top-k and count-min sketches, with RedisBloom's semantics (TOPK.*, CMS.*).
//! - `gcra`: GCRA rate limiting as redis-cell's CL.THROTTLE decides it (CTR.THROTTLE).
//! - `stream`: streams (entries in packed blocks keyed by id) and their consumer groups.
//! - `ext`: the extension values (`Value::Ext`): counters, sliding-window logs.
//!
//! Lists are a `VecDeque` of byte strings (Redis 7.0 reports them as `quicklist` at every size).

pub mod cms;
pub mod counter;
pub mod ext;
pub mod gcra;
pub mod hash;
pub mod hll;
pub mod listpack;
pub mod ranktree;
pub mod set;
pub mod stream;
pub mod topk;
pub mod zset;

pub use ext::ExtValue;
pub use hash::{HashLimits, HashValue};
pub use set::SetValue;
pub use stream::{Stream, StreamId};
pub use zset::{LexBound, ScoreBound, ZSetValue, ZsetLimits};
