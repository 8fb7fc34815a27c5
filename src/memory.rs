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

/// The jemalloc size class an allocation of `n` bytes lands in (what it really costs).
pub fn size_class(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    // Four classes per doubling above 128.
    let pow = usize::BITS - (n - 1).leading_zeros(); // 2^pow >= n
    let group = 1usize << (pow - 1);
    let step = group / 4;
    n.div_ceil(step) * step
}

/// Bytes held by the allocator in freed pages it could return to the OS; MEMORY PURGE releases them.
pub fn purge() {
    // MALLCTL_ARENAS_ALL (4096) purges every arena.
    // SAFETY: the name is a valid NUL-terminated mallctl key and the command takes no value.
    let _ = unsafe { tikv_jemalloc_ctl::raw::write(b"arena.4096.purge\0", ()) };
}

/// Returns what the calling thread's cache holds to the arenas. jemalloc counts a freed object still sitting in
/// a thread cache as allocated, so eviction flushes its own thread's cache before it reads the figure again:
/// otherwise the values it just freed would not show and it would go on evicting to chase them.
pub fn flush_thread_cache() {
    // SAFETY: the name is a valid NUL-terminated mallctl key and the command takes no value.
    let _ = unsafe { tikv_jemalloc_ctl::raw::write(b"thread.tcache.flush\0", ()) };
}

/// Resident set size of the process in bytes.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// The machine's memory in bytes (INFO total_system_memory; 0 when unknown).
pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_follow_jemalloc() {
        assert_eq!(size_class(1), 8);
        assert_eq!(size_class(9), 16);
        assert_eq!(size_class(100), 112);
        assert_eq!(size_class(129), 160);
        assert_eq!(size_class(1000), 1024);
        assert_eq!(size_class(1025), 1280);
    }
}
