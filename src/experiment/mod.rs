//! A/B and multivariate experiments (EXP.*).
//!
//! - `growthbook`: GrowthBook's SDK assignment (FNV-1a hashing, bucket ranges, namespaces, coverage, weights) and
//!   its targeting condition language, ported so an experiment assigns users exactly as a GrowthBook SDK does
//!   (checked against GrowthBook's cross-SDK test vectors, tests/data/growthbook-cases.json).
//! - `stats`: the tests behind EXP.RESULTS (two-proportion z-test, Welch's t-test, Holm, sample ratio mismatch,
//!   the always-valid sequential p-value, chance to beat control).
//! - `model`: the experiment a key holds: spec, lifecycle, sticky assignments, accumulators, results.
//!
//! This module imports nothing else from the crate; `store::types::ext` holds its value and `commands/experiment.rs`
//! its commands.

pub mod growthbook;
pub mod model;
pub mod stats;
