//! Helpers reproducing Redis 7.0 `util.c` / `sds.c` behaviour, and the server clock.
pub mod clock;
pub mod geohash;
pub mod glob;
pub mod latency;
pub mod num;
pub mod repr;
pub mod sample;
pub mod splitargs;
pub mod striped;
#[cfg(test)]
pub mod test_streams;

pub use repr::repr;
