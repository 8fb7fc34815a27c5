//! The server's clock. Every command reads the time twice (its time snapshot for expiry, and its duration for
//! commandstats), so a read must cost a few instructions: the CPU's timestamp counter through `quanta` (which
//! falls back to the OS monotonic clock where the counter is unreliable) instead of a `clock_gettime` call.
//! Wall time is the monotonic reading plus an offset that [`resync`] (run by the server cron) keeps aligned
//! with the system clock, so a stepped system clock is followed within one cron period.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A monotonic instant.
pub type Instant = quanta::Instant;

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Unix microseconds at `BASE`.
static OFFSET_US: LazyLock<AtomicU64> = LazyLock::new(|| AtomicU64::new(offset_now()));

fn system_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn offset_now() -> u64 {
    system_us().saturating_sub(Instant::now().saturating_duration_since(*BASE).as_micros() as u64)
}

/// Now, monotonic.
#[inline]
pub fn now() -> Instant {
    Instant::now()
}

/// Unix time in microseconds at `t`.
#[inline]
pub fn unix_us_at(t: Instant) -> u64 {
    OFFSET_US.load(Ordering::Relaxed) + t.saturating_duration_since(*BASE).as_micros() as u64
}

/// Current unix time in microseconds.
#[inline]
pub fn unix_us() -> u64 {
    unix_us_at(now())
}

/// Current unix time in milliseconds.
#[inline]
pub fn unix_ms() -> u64 {
    unix_us() / 1000
}

/// Re-aligns wall time with the system clock.
pub fn resync() {
    OFFSET_US.store(offset_now(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_follows_the_system_clock() {
        resync();
        let ours = unix_us() as i64;
        let system = system_us() as i64;
        assert!((ours - system).abs() < 50_000, "clock off by {}us", ours - system);
        let a = unix_us();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(unix_us() >= a + 5_000);
    }
}
