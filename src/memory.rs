//! Memory accounting: the allocator's own count of allocated bytes (jemalloc's `stats.allocated`), as Redis
//! reports `used_memory` from its allocator rather than from an estimate that drifts.

/// The allocator name INFO reports as `mem_allocator`.
pub const ALLOCATOR: &str = "jemalloc-5.3.0";

/// Bytes currently allocated by the process, per jemalloc (0 if the statistics cannot be read).
pub fn used_memory() -> u64 {
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    let _ = tikv_jemalloc_ctl::epoch::advance();
    tikv_jemalloc_ctl::stats::allocated::read().map_or(0, |n| n as u64)
}

/// Bytes jemalloc holds in active pages and resident memory: (active, resident).
pub fn allocator_pages() -> (u64, u64) {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    let active = tikv_jemalloc_ctl::stats::active::read().map_or(0, |n| n as u64);
    let resident = tikv_jemalloc_ctl::stats::resident::read().map_or(0, |n| n as u64);
    (active, resident)
}
