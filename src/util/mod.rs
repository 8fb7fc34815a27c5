//! Dependency-free helpers reproducing Redis 7.0 `util.c` / `sds.c` behaviour.
pub mod glob;
pub mod num;
pub mod splitargs;
pub mod repr;

pub use repr::repr;
