//! Counters bumped on every command (calls, hits, bytes), kept in per-thread stripes: each thread adds to a
//! cache line of its own, so counting never makes worker threads contend for one line; a reader sums the
//! stripes. A reset clears every stripe (a count racing with it may survive, as with any relaxed counter).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter; threads beyond this share stripes (still correct, merely contended).
pub(crate) const STRIPES: usize = 8;

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

#[inline]
pub(crate) fn stripe() -> usize {
    STRIPE.with(|s| *s)
}

#[derive(Debug)]
#[repr(align(64))]
struct Line<const N: usize>([AtomicU64; N]);

/// `N` related counters (a command's calls, time, rejections and failures), striped together.
#[derive(Debug)]
pub struct Striped<const N: usize> {
    lines: [Line<N>; STRIPES],
}

impl<const N: usize> Default for Striped<N> {
    fn default() -> Self {
        Striped { lines: std::array::from_fn(|_| Line(std::array::from_fn(|_| AtomicU64::new(0)))) }
    }
}

impl<const N: usize> Striped<N> {
    /// Adds `v` to counter `i`.
    #[inline]
    pub fn add(&self, i: usize, v: u64) {
        self.lines[stripe()].0[i].fetch_add(v, Ordering::Relaxed);
    }

    /// Counter `i`, summed over the stripes.
    pub fn get(&self, i: usize) -> u64 {
        self.lines.iter().map(|l| l.0[i].load(Ordering::Relaxed)).sum()
    }

    /// Clears every counter.
    pub fn reset(&self) {
        for l in &self.lines {
            for c in &l.0 {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// One striped counter.
#[derive(Debug, Default)]
pub struct Counter(Striped<1>);

impl Counter {
    /// Adds `v`.
    #[inline]
    pub fn add(&self, v: u64) {
        self.0.add(0, v);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.get(0)
    }

    /// Sets the count to zero.
    pub fn reset(&self) {
        self.0.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sums_adds_from_many_threads_and_resets() {
        let c = Arc::new(Striped::<2>::default());
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.add(0, 1);
                        c.add(1, 3);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!((c.get(0), c.get(1)), (12_000, 36_000));
        c.reset();
        assert_eq!(c.get(0) + c.get(1), 0);
    }
}
