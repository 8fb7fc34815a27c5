//! Per-command latency histograms for `INFO latencystats`, as Redis 7 tracks them: HdrHistograms of nanoseconds
//! from 1 ns to 1 s (longer calls count as 1 s) with two significant digits, so percentiles are within 1%.
//!
//! A histogram needs `&mut` to record, so each command keeps one per stripe of the striped counters (threads map
//! to stripes as they do there): a worker thread locks only its own stripe's mutex, which nobody else takes
//! except INFO merging them. A stripe's histogram is allocated on the command's first call on it, so commands
//! never called cost nothing.

use hdrhistogram::Histogram;
use parking_lot::Mutex;

const LOWEST_NS: u64 = 1;
const HIGHEST_NS: u64 = 1_000_000_000;
const SIGNIFICANT_DIGITS: u8 = 2;

/// One command's latency histograms.
#[derive(Debug, Default)]
pub struct Latency {
    stripes: [Mutex<Option<Box<Histogram<u64>>>>; super::striped::STRIPES],
}

fn new_histogram() -> Option<Box<Histogram<u64>>> {
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS).ok().map(Box::new)
}

impl Latency {
    /// Records one call that took `ns` nanoseconds.
    #[inline]
    pub fn record(&self, ns: u64) {
        let mut slot = self.stripes[super::striped::stripe()].lock();
        if slot.is_none() {
            *slot = new_histogram();
        }
        if let Some(h) = slot.as_mut() {
            h.saturating_record(ns.clamp(LOWEST_NS, HIGHEST_NS));
        }
    }

    /// Every stripe merged; `None` when nothing was recorded.
    pub fn merged(&self) -> Option<Histogram<u64>> {
        let mut total: Option<Histogram<u64>> = None;
        for s in &self.stripes {
            let slot = s.lock();
            let Some(h) = slot.as_ref() else { continue };
            match total.as_mut() {
                None => total = Some(Histogram::clone(h)),
                Some(t) => {
                    let _ = t.add(h.as_ref());
                }
            }
        }
        total.filter(|h| !h.is_empty())
    }

    /// Forgets every recorded call (CONFIG RESETSTAT), giving the memory back.
    pub fn reset(&self) {
        for s in &self.stripes {
            *s.lock() = None;
        }
    }
}

/// `INFO latencystats`'s value for one command: `p50=1.003,p99=3.007,p99.9=5.023` (microseconds, three
/// decimals, percentiles labelled as configured).
pub fn format_percentiles(h: &Histogram<u64>, percentiles: &[f64]) -> String {
    let mut out = String::new();
    for (i, p) in percentiles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let us = h.value_at_quantile((p / 100.0).clamp(0.0, 1.0)) as f64 / 1000.0;
        out.push_str(&format!("p{}={us:.3}", crate::util::num::format_shortest_double(*p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_one_percent() {
        let l = Latency::default();
        for us in 1..=1000u64 {
            l.record(us * 1000);
        }
        let h = l.merged().unwrap();
        assert_eq!(h.len(), 1000);
        let text = format_percentiles(&h, &[50.0, 99.0, 99.9]);
        let values: Vec<f64> = text.split(',').map(|kv| kv.split('=').nth(1).unwrap().parse().unwrap()).collect();
        for (got, want) in values.iter().zip([500.0, 990.0, 999.0]) {
            assert!((got - want).abs() <= want * 0.01, "{text}");
        }
        assert!(text.starts_with("p50="), "{text}");
        assert!(text.contains(",p99.9="), "{text}");
        l.reset();
        assert!(l.merged().is_none());
    }

    #[test]
    fn calls_longer_than_a_second_count_as_one_second() {
        let l = Latency::default();
        l.record(5_000_000_000);
        let h = l.merged().unwrap();
        assert!(h.max() >= 990_000_000 && h.max() <= 1_010_000_000);
    }
}
