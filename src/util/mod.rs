//! Dependency-free helpers reproducing Redis 7.0 `util.c` / `sds.c` behaviour.
pub mod glob;
pub mod num;
pub mod repr;
pub mod splitargs;

pub use repr::repr;
