//! The LFU access counter (Redis's logarithmic counter with time decay), kept per entry and read by OBJECT FREQ
//! and, with the LFU maxmemory policies, by eviction.

use super::LFU_INIT_VAL;

/// The counter after decay: one less per `decay_minutes` elapsed since `last_access_secs`, as Redis's
/// LFUDecrAndReturn does.
pub fn decayed(freq: u8, last_access_secs: u32, now_secs: u32, decay_minutes: u64) -> u8 {
    if decay_minutes == 0 {
        return freq;
    }
    let periods = u64::from(now_secs.saturating_sub(last_access_secs)) / 60 / decay_minutes;
    freq.saturating_sub(periods.min(255) as u8)
}

/// The accesses a counter stands for: the expected number for [`log_incr`] to raise it from its initial
/// [`LFU_INIT_VAL`] to `freq` under `log_factor`, `(c - 5) + f (c - 5)(c - 6) / 2`.
pub fn accesses(freq: u8, log_factor: u64) -> u64 {
    let c = u64::from(freq.saturating_sub(LFU_INIT_VAL));
    c + log_factor * c * c.saturating_sub(1) / 2
}

/// Logarithmic increment: the higher the counter, the less likely an access raises it (LFULogIncr).
pub fn log_incr(freq: u8, log_factor: u64, rng: &mut impl rand::Rng) -> u8 {
    if freq == u8::MAX {
        return freq;
    }
    let base = f64::from(freq.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if rng.gen::<f64>() < p {
        freq + 1
    } else {
        freq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_access_always_counts_and_decay_lowers() {
        let mut rng = rand::thread_rng();
        assert_eq!(log_incr(LFU_INIT_VAL, 10, &mut rng), LFU_INIT_VAL + 1);
        assert_eq!(decayed(10, 0, 180, 1), 7);
        assert_eq!(decayed(2, 0, 6000, 1), 0);
        assert_eq!(decayed(10, 0, 6000, 0), 10);
    }
}
