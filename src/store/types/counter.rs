//! Windowed counters: a ring of time buckets per key (CTR.* commands).
//!
//! A counter keeps up to two levels of buckets. The fine level has the width chosen at creation; when the
//! retention needs more fine buckets than a level may hold, a coarse level (a multiple of the fine width) covers
//! the rest, so a counter's memory is bounded whatever its retention: by default 1 s buckets for the last hour and
//! 1 min buckets for the day. Every event goes into both levels; a query reads the finest level that covers its
//! window. Buckets are stored sparsely (only those that saw events), oldest first.
//!
//! Window semantics (exact at the level's granularity): a window of `w` ms ending at `now` covers the last
//! `ceil(w / width)` buckets of the level, the current one included, i.e. events with
//! `ts >= (now / width - n + 1) * width` and `ts < (now / width + 1) * width`.
//!
//! Two kinds share the structure: `Stats` buckets (count, sum, min, max) behind CTR.INCR / CTR.ADD, and `Distinct`
//! buckets (a HyperLogLog each, merged on read) behind CTR.UNIQUE. Merging HLLs loses nothing, so the coarse level
//! of a distinct counter is as exact as the fine one.

use super::hll;
use bincode::{Decode, Encode};
use std::collections::VecDeque;

/// Timestamps later than now by more than this are refused (clients' clocks drift; a little is tolerated).
pub const FUTURE_TOLERANCE_MS: u64 = 1_000;
/// The most points CTR.RANGE returns in one reply.
pub const MAX_RANGE_POINTS: u64 = 100_000;
/// Longest retention accepted (a year).
pub const MAX_RETENTION_MS: u64 = 366 * 86_400_000;

/// Why an operation was refused; `message()` is the error text after `ERR `.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterError {
    TooOld,
    Future,
    Overflow,
    WindowTooLong,
    BadBucket,
    BadRetention,
    RangeStep,
    TooManyPoints,
}

impl CounterError {
    pub fn message(self) -> &'static str {
        match self {
            CounterError::TooOld => "ERR timestamp is older than the counter's retention",
            CounterError::Future => "ERR timestamp is in the future",
            CounterError::Overflow => "ERR increment or decrement would overflow",
            CounterError::WindowTooLong => "ERR window is longer than the counter's retention",
            CounterError::BadBucket => "ERR bucket width must be at least 1ms and at most the retention",
            CounterError::BadRetention => "ERR retention must be between the bucket width and 366d",
            CounterError::RangeStep => "ERR BUCKET must be a multiple of the counter's bucket width for that range",
            CounterError::TooManyPoints => "ERR the range has more than 100000 points; use a wider BUCKET",
        }
    }
}

/// Aggregations CTR.GET, CTR.RANGE and CTR.MGET compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Sum,
    Count,
    Avg,
    Min,
    Max,
    /// Sum per second over the window.
    Rate,
}

impl Agg {
    pub fn parse(s: &[u8]) -> Option<Agg> {
        Some(match s.to_ascii_lowercase().as_slice() {
            b"sum" => Agg::Sum,
            b"count" => Agg::Count,
            b"avg" => Agg::Avg,
            b"min" => Agg::Min,
            b"max" => Agg::Max,
            b"rate" => Agg::Rate,
            _ => return None,
        })
    }
}

/// An aggregation's result: integers while the counter only ever saw integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
    /// avg, min and max of an empty window.
    None,
}

/// One bucket of a stats counter. `sum` holds integer events exactly; `fsum` the fractional ones (CTR.ADD 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Encode, Decode)]
pub struct Stats {
    pub count: u64,
    pub sum: i64,
    pub fsum: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats { count: 0, sum: 0, fsum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

/// An event's value: integers add exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    Int(i64),
    Float(f64),
}

impl Sample {
    fn as_f64(self) -> f64 {
        match self {
            Sample::Int(n) => n as f64,
            Sample::Float(f) => f,
        }
    }
}

impl Stats {
    fn checked_add(&self, s: Sample) -> Option<Stats> {
        let mut b = *self;
        b.count = b.count.checked_add(1)?;
        match s {
            Sample::Int(n) => b.sum = b.sum.checked_add(n)?,
            Sample::Float(f) => b.fsum += f,
        }
        let v = s.as_f64();
        b.min = b.min.min(v);
        b.max = b.max.max(v);
        Some(b)
    }

    fn merge(&mut self, o: &Stats) -> Option<()> {
        self.count = self.count.checked_add(o.count)?;
        self.sum = self.sum.checked_add(o.sum)?;
        self.fsum += o.fsum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        Some(())
    }
}

/// One level: buckets of `width` ms, at most `capacity` of them kept, stored sparsely as (index, data).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Level<B> {
    pub width: u64,
    pub capacity: u64,
    pub buckets: VecDeque<(u64, B)>,
}

impl<B> Level<B> {
    fn new(width: u64, capacity: u64) -> Self {
        Level { width, capacity, buckets: VecDeque::new() }
    }

    /// Oldest bucket index this level still keeps at time `now`.
    fn first_kept(&self, now: u64) -> u64 {
        (now / self.width).saturating_sub(self.capacity - 1)
    }

    /// Milliseconds this level covers back from now.
    fn span(&self) -> u64 {
        self.width.saturating_mul(self.capacity)
    }

    /// Drops buckets that fell out of the level at `now`.
    fn prune(&mut self, now: u64) {
        let first = self.first_kept(now);
        while self.buckets.front().is_some_and(|(i, _)| *i < first) {
            self.buckets.pop_front();
        }
    }

    /// The bucket for index `i`, created empty where missing (in order: late events insert in the middle).
    fn bucket_mut(&mut self, i: u64, empty: impl FnOnce() -> B) -> &mut B {
        let at = match self.buckets.back() {
            Some((last, _)) if *last < i => self.buckets.len(),
            None => 0,
            _ => match self.buckets.binary_search_by_key(&i, |(j, _)| *j) {
                Ok(at) => return &mut self.buckets[at].1,
                Err(at) => at,
            },
        };
        self.buckets.insert(at, (i, empty()));
        &mut self.buckets[at].1
    }

    /// The bucket at index `i`, if it holds anything. The newest bucket is checked first: it is the one almost
    /// every write and CTR.INCR reply touches.
    fn get(&self, i: u64) -> Option<&B> {
        match self.buckets.back() {
            Some((last, b)) if *last == i => Some(b),
            Some((last, _)) if *last > i => {
                self.buckets.binary_search_by_key(&i, |(j, _)| *j).ok().map(|at| &self.buckets[at].1)
            }
            _ => None,
        }
    }

    /// The buckets whose indexes fall in `from..=to`.
    fn between(&self, from: u64, to: u64) -> impl Iterator<Item = &(u64, B)> {
        let start = self.buckets.partition_point(|(i, _)| *i < from);
        self.buckets.range(start..).take_while(move |(i, _)| *i <= to)
    }
}

/// Bucket data a level can hold.
pub trait BucketData: Sized {
    /// Most fine buckets a counter of this kind keeps before it needs a coarse level.
    const FINE_MAX: u64;
    /// Most coarse buckets.
    const COARSE_MAX: u64;
}

impl BucketData for Stats {
    const FINE_MAX: u64 = 3_600;
    const COARSE_MAX: u64 = 1_440;
}

/// A distinct counter's bucket: a HyperLogLog in Redis's byte format (sparse while small).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Distinct(pub Vec<u8>);

impl BucketData for Distinct {
    const FINE_MAX: u64 = 60;
    const COARSE_MAX: u64 = 24;
}

/// A counter: its bucket width and retention as created, and one or two levels.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Rings<B> {
    pub bucket_ms: u64,
    pub retention_ms: u64,
    pub fine: Level<B>,
    pub coarse: Option<Level<B>>,
    /// Events ever recorded.
    pub events: u64,
    /// Greatest timestamp recorded.
    pub last_ts: u64,
    /// A fractional sample was recorded: sums are reported as doubles from then on (kept, not recomputed, so
    /// CTR.INCR's reply does not scan the buckets).
    pub floats: bool,
}

impl<B: BucketData> Rings<B> {
    /// A counter with `bucket_ms` buckets keeping `retention_ms` of history.
    pub fn new(bucket_ms: u64, retention_ms: u64) -> Result<Self, CounterError> {
        if retention_ms == 0 || retention_ms > MAX_RETENTION_MS {
            return Err(CounterError::BadRetention);
        }
        if bucket_ms == 0 || bucket_ms > retention_ms {
            return Err(CounterError::BadBucket);
        }
        let needed = retention_ms.div_ceil(bucket_ms);
        if needed <= B::FINE_MAX {
            return Ok(Rings::with_levels(bucket_ms, retention_ms, Level::new(bucket_ms, needed), None));
        }
        let coarse_width = bucket_ms * needed.div_ceil(B::COARSE_MAX);
        let coarse = Level::new(coarse_width, retention_ms.div_ceil(coarse_width));
        Ok(Rings::with_levels(bucket_ms, retention_ms, Level::new(bucket_ms, B::FINE_MAX), Some(coarse)))
    }

    fn with_levels(bucket_ms: u64, retention_ms: u64, fine: Level<B>, coarse: Option<Level<B>>) -> Self {
        Rings { bucket_ms, retention_ms, fine, coarse, events: 0, last_ts: 0, floats: false }
    }

    fn levels_mut(&mut self) -> impl Iterator<Item = &mut Level<B>> {
        std::iter::once(&mut self.fine).chain(self.coarse.as_mut())
    }

    /// Checks an event's timestamp against `now`.
    fn admit(&self, ts: u64, now: u64) -> Result<(), CounterError> {
        if ts > now.saturating_add(FUTURE_TOLERANCE_MS) {
            return Err(CounterError::Future);
        }
        if ts < now.saturating_sub(self.retention_ms) {
            return Err(CounterError::TooOld);
        }
        Ok(())
    }

    /// The level a window of `window_ms` ending now reads, and how many of its buckets.
    fn level_for(&self, window_ms: u64) -> Result<(&Level<B>, u64), CounterError> {
        if window_ms > self.retention_ms.max(self.fine.span()) {
            return Err(CounterError::WindowTooLong);
        }
        let window_ms = window_ms.max(1);
        let n = window_ms.div_ceil(self.fine.width);
        if n <= self.fine.capacity {
            return Ok((&self.fine, n));
        }
        match &self.coarse {
            Some(c) => Ok((c, window_ms.div_ceil(c.width).min(c.capacity))),
            None => Ok((&self.fine, self.fine.capacity)),
        }
    }

    /// The buckets of the window of `window_ms` ending at `now`.
    pub fn window(&self, window_ms: u64, now: u64) -> Result<impl Iterator<Item = &B>, CounterError> {
        let (level, n) = self.level_for(window_ms)?;
        let cur = now / level.width;
        Ok(level.between(cur.saturating_sub(n - 1), cur).map(|(_, b)| b))
    }

    /// Bucket series for CTR.RANGE: `(bucket start, buckets in it)` for every step of `step_ms` (0: the level's
    /// width) from `from` to `to`, reading the finest level that holds `from` with a width dividing the step.
    pub fn series(&self, from: u64, to: u64, step_ms: u64, now: u64) -> Result<Vec<(u64, Vec<&B>)>, CounterError> {
        let fits = |l: &Level<B>| {
            let step = if step_ms == 0 { l.width } else { step_ms };
            from >= l.first_kept(now) * l.width && step.is_multiple_of(l.width)
        };
        let level = if fits(&self.fine) {
            &self.fine
        } else {
            match &self.coarse {
                Some(c) if step_ms == 0 || step_ms.is_multiple_of(c.width) => c,
                Some(_) => return Err(CounterError::RangeStep),
                None if step_ms.is_multiple_of(self.fine.width) => &self.fine,
                None => return Err(CounterError::RangeStep),
            }
        };
        let step = if step_ms == 0 { level.width } else { step_ms };
        let start = from / step * step;
        if to < start {
            return Ok(Vec::new());
        }
        if (to - start) / step >= MAX_RANGE_POINTS {
            return Err(CounterError::TooManyPoints);
        }
        let mut out = Vec::new();
        let mut t = start;
        while t <= to {
            let first = t / level.width;
            let last = (t + step - 1) / level.width;
            out.push((t, level.between(first, last).map(|(_, b)| b).collect()));
            t += step;
        }
        Ok(out)
    }

    /// Heap bytes: for MEMORY USAGE and CTR.INFO.
    pub fn heap_bytes(&self, bucket_heap: impl Fn(&B) -> usize) -> usize {
        let level = |l: &Level<B>| {
            l.buckets.capacity() * std::mem::size_of::<(u64, B)>()
                + l.buckets.iter().map(|(_, b)| bucket_heap(b)).sum::<usize>()
        };
        level(&self.fine) + self.coarse.as_ref().map_or(0, level)
    }

    /// Buckets in use per level: (width, capacity, used).
    pub fn levels(&self) -> Vec<(u64, u64, usize)> {
        std::iter::once(&self.fine)
            .chain(self.coarse.as_ref())
            .map(|l| (l.width, l.capacity, l.buckets.len()))
            .collect()
    }

    fn recorded(&mut self, ts: u64) {
        self.events += 1;
        self.last_ts = self.last_ts.max(ts);
    }
}

/// A windowed counter of numbers (CTR.INCR, CTR.ADD).
pub type WindowCounter = Rings<Stats>;

impl Rings<Stats> {
    /// Records an event of value `s` at `ts`. Nothing changes when it is refused.
    pub fn record(&mut self, ts: u64, s: Sample, now: u64) -> Result<(), CounterError> {
        self.admit(ts, now)?;
        // Every level must take the value before any does, so an overflow changes nothing.
        let mut updates = [None, None];
        for (u, l) in updates.iter_mut().zip(std::iter::once(&self.fine).chain(self.coarse.as_ref())) {
            let i = ts / l.width;
            if i >= l.first_kept(now) {
                let cur = l.get(i).copied().unwrap_or_default();
                *u = Some((i, cur.checked_add(s).ok_or(CounterError::Overflow)?));
            }
        }
        for (l, u) in self.levels_mut().zip(updates) {
            if let Some((i, b)) = u {
                *l.bucket_mut(i, Stats::default) = b;
            }
            l.prune(now);
        }
        self.recorded(ts);
        self.floats |= matches!(s, Sample::Float(_));
        Ok(())
    }

    /// True once a fractional value was recorded: sums are then reported as doubles.
    pub fn has_floats(&self) -> bool {
        self.floats
    }

    /// `agg` over the window of `window_ms` ending at `now`.
    pub fn aggregate(&self, window_ms: u64, agg: Agg, now: u64) -> Result<Number, CounterError> {
        let mut total = Stats::default();
        for b in self.window(window_ms, now)? {
            total.merge(b).ok_or(CounterError::Overflow)?;
        }
        let seconds = (window_ms.max(1)) as f64 / 1000.0;
        Ok(summarize(&total, agg, seconds, self.has_floats()))
    }

    /// CTR.RANGE's points: (bucket start, value).
    pub fn range(
        &self,
        from: u64,
        to: u64,
        step_ms: u64,
        agg: Agg,
        now: u64,
    ) -> Result<Vec<(u64, Number)>, CounterError> {
        let floats = self.has_floats();
        let series = self.series(from, to, step_ms, now)?;
        let step = match series.as_slice() {
            [(a, _), (b, _), ..] => b - a,
            _ => step_ms.max(self.fine.width),
        };
        series
            .into_iter()
            .map(|(t, bs)| {
                let mut total = Stats::default();
                for b in bs {
                    total.merge(b).ok_or(CounterError::Overflow)?;
                }
                Ok((t, summarize(&total, agg, step as f64 / 1000.0, floats)))
            })
            .collect()
    }

    pub fn memory(&self) -> usize {
        self.heap_bytes(|_| 0)
    }

    /// The sum of the finest bucket holding `ts` (CTR.INCR's reply).
    pub fn bucket_sum(&self, ts: u64) -> Number {
        let found = std::iter::once(&self.fine)
            .chain(self.coarse.as_ref())
            .find_map(|l| l.get(ts / l.width).copied())
            .unwrap_or_default();
        summarize(&found, Agg::Sum, 1.0, self.has_floats())
    }
}

fn summarize(s: &Stats, agg: Agg, seconds: f64, floats: bool) -> Number {
    let total = |s: &Stats| if floats { Number::Float(s.sum as f64 + s.fsum) } else { Number::Int(s.sum) };
    let as_f64 = |n: Number| match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
        Number::None => 0.0,
    };
    let extreme = |v: f64| {
        if s.count == 0 {
            Number::None
        } else if !floats && v.fract() == 0.0 && v.abs() < 9.0e15 {
            Number::Int(v as i64)
        } else {
            Number::Float(v)
        }
    };
    match agg {
        Agg::Sum => total(s),
        Agg::Count => Number::Int(s.count as i64),
        Agg::Avg if s.count == 0 => Number::None,
        Agg::Avg => Number::Float(as_f64(total(s)) / s.count as f64),
        Agg::Min => extreme(s.min),
        Agg::Max => extreme(s.max),
        Agg::Rate => Number::Float(as_f64(total(s)) / seconds),
    }
}

/// A windowed distinct counter (CTR.UNIQUE).
pub type DistinctCounter = Rings<Distinct>;

impl Rings<Distinct> {
    /// Adds `members` seen at `ts`; true when any bucket's estimate may have changed.
    pub fn record(&mut self, ts: u64, members: &[&[u8]], now: u64, sparse_max: usize) -> Result<bool, CounterError> {
        self.admit(ts, now)?;
        let mut changed = false;
        for l in self.levels_mut() {
            let i = ts / l.width;
            if i >= l.first_kept(now) {
                let b = l.bucket_mut(i, || Distinct(hll::new_hll()));
                for m in members {
                    // A bucket is only ever built here, so it is always a valid HLL.
                    changed |= hll::add(&mut b.0, m, sparse_max).unwrap_or(false);
                }
            }
            l.prune(now);
        }
        for _ in members {
            self.recorded(ts);
        }
        Ok(changed)
    }

    /// Estimated distinct members in the window of `window_ms` ending at `now`.
    pub fn count(&self, window_ms: u64, now: u64) -> Result<u64, CounterError> {
        let hlls: Vec<&[u8]> = self.window(window_ms, now)?.map(|b| &b.0[..]).collect();
        if hlls.is_empty() {
            return Ok(0);
        }
        Ok(hll::count_union(&hlls).unwrap_or(0))
    }

    pub fn memory(&self) -> usize {
        self.heap_bytes(|b| b.0.capacity())
    }
}

/// Parses a duration: `250ms`, `10s`, `1m`, `5m`, `1h`, `1d`, or plain milliseconds.
pub fn parse_duration(s: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?.trim().to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let per = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(per).filter(|&ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::util::test_streams::Rng;

    /// Recomputes an aggregation from raw events over the same buckets the counter's level reads.
    fn brute(events: &[(u64, Sample)], from: u64, to_excl: u64, agg: Agg, seconds: f64, floats: bool) -> Number {
        let mut s = Stats::default();
        for &(_, v) in events.iter().filter(|(ts, _)| *ts >= from && *ts < to_excl) {
            s = s.checked_add(v).expect("test values do not overflow");
        }
        summarize(&s, agg, seconds, floats)
    }

    fn close(a: Number, b: Number) -> bool {
        match (a, b) {
            (Number::Float(x), Number::Float(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            _ => a == b,
        }
    }

    const AGGS: [Agg; 6] = [Agg::Sum, Agg::Count, Agg::Avg, Agg::Min, Agg::Max, Agg::Rate];

    #[test]
    fn windows_equal_a_recomputation_over_raw_events() {
        for (bucket, retention, seed) in [(1_000, 86_400_000, 1), (250, 60_000, 2), (60_000, 3_600_000, 3), (7, 500, 4)]
        {
            let mut rng = Rng(seed * 7919);
            let mut c = WindowCounter::new(bucket, retention).expect("valid");
            let mut events = Vec::new();
            let mut now = 1_700_000_000_000u64;
            for step in 0..3_000 {
                now += rng.below(bucket * 3);
                // Some events late (within the retention), some at a clock that stepped back a little.
                let ts = if step % 10 == 0 { now - rng.below(retention.min(10 * bucket)) } else { now };
                let v = if step % 7 == 0 {
                    Sample::Int(-(rng.below(50) as i64))
                } else {
                    Sample::Int(rng.below(100) as i64)
                };
                c.record(ts, v, now).expect("admitted");
                events.push((ts, v));
                if step % 97 == 0 {
                    for w in [1, bucket, bucket * 3 + 1, 60_000, 300_000, 3_600_000, retention] {
                        let Ok((level, n)) = c.level_for(w) else { continue };
                        let cur = now / level.width;
                        let from = cur.saturating_sub(n - 1) * level.width;
                        let to = (cur + 1) * level.width;
                        for agg in AGGS {
                            let got = c.aggregate(w, agg, now).expect("window");
                            let want = brute(&events, from, to, agg, w as f64 / 1000.0, false);
                            assert!(close(got, want), "bucket {bucket} window {w} {agg:?}: {got:?} != {want:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bucket_boundaries_are_exact() {
        let mut c = WindowCounter::new(1_000, 60_000).expect("valid");
        c.record(9_999, Sample::Int(1), 10_000).expect("ok");
        c.record(10_000, Sample::Int(10), 10_000).expect("ok");
        // At 10_999 a 1 s window is the bucket [10_000, 11_000): the event at 9_999 is outside.
        assert_eq!(c.aggregate(1_000, Agg::Sum, 10_999), Ok(Number::Int(10)));
        assert_eq!(c.aggregate(1_001, Agg::Sum, 10_999), Ok(Number::Int(11)));
        assert_eq!(c.aggregate(1_000, Agg::Sum, 11_000), Ok(Number::Int(0)));
        assert_eq!(c.aggregate(2_000, Agg::Sum, 11_000), Ok(Number::Int(10)));
        assert_eq!(c.aggregate(2_000, Agg::Min, 12_000), Ok(Number::None));
    }

    #[test]
    fn old_future_and_overflowing_events_change_nothing() {
        let mut c = WindowCounter::new(1_000, 60_000).expect("valid");
        let now = 1_000_000;
        c.record(now, Sample::Int(i64::MAX - 1), now).expect("ok");
        let before = c.clone();
        assert_eq!(c.record(now, Sample::Int(2), now), Err(CounterError::Overflow));
        assert_eq!(c.record(now - 60_001, Sample::Int(1), now), Err(CounterError::TooOld));
        assert_eq!(c.record(now + FUTURE_TOLERANCE_MS + 1, Sample::Int(1), now), Err(CounterError::Future));
        assert_eq!(c, before);
        assert_eq!(c.aggregate(60_001, Agg::Sum, now), Err(CounterError::WindowTooLong));
    }

    #[test]
    fn memory_stays_bounded_over_a_long_stream() {
        let mut c = WindowCounter::new(1_000, 86_400_000).expect("valid");
        assert_eq!(c.levels(), vec![(1_000, 3_600, 0), (60_000, 1_440, 0)]);
        let mut now = 0;
        for _ in 0..180_000 {
            now += 1_000;
            c.record(now, Sample::Int(1), now).expect("ok");
        }
        let levels = c.levels();
        assert!(levels[0].2 <= 3_600 && levels[1].2 <= 1_440, "{levels:?}");
        // One event per second; a window is whole buckets of the level it reads, the current one included.
        let events_since = |from: u64| Number::Int(((now - from) / 1_000 + 1) as i64);
        assert_eq!(c.aggregate(86_400_000, Agg::Count, now), Ok(events_since((now / 60_000 - 1_439) * 60_000)));
        assert_eq!(c.aggregate(3_600_000, Agg::Count, now), Ok(Number::Int(3_600)));
        assert_eq!(c.aggregate(5_400_000, Agg::Count, now), Ok(events_since((now / 60_000 - 89) * 60_000)));
    }

    #[test]
    fn floats_switch_sums_to_doubles() {
        let mut c = WindowCounter::new(1_000, 60_000).expect("valid");
        c.record(5_000, Sample::Int(2), 5_000).expect("ok");
        assert_eq!(c.aggregate(1_000, Agg::Max, 5_000), Ok(Number::Int(2)));
        c.record(5_000, Sample::Float(0.5), 5_000).expect("ok");
        assert_eq!(c.aggregate(1_000, Agg::Sum, 5_000), Ok(Number::Float(2.5)));
        assert_eq!(c.aggregate(1_000, Agg::Avg, 5_000), Ok(Number::Float(1.25)));
        assert_eq!(c.aggregate(1_000, Agg::Min, 5_000), Ok(Number::Float(0.5)));
        assert_eq!(c.aggregate(2_000, Agg::Rate, 5_000), Ok(Number::Float(1.25)));
    }

    #[test]
    fn range_returns_every_step_with_empty_buckets() {
        let mut c = WindowCounter::new(1_000, 3_600_000).expect("valid");
        for t in [10_000, 10_500, 12_000, 15_999] {
            c.record(t, Sample::Int(1), 16_000).expect("ok");
        }
        let r = c.range(10_000, 15_999, 2_000, Agg::Count, 16_000).expect("range");
        assert_eq!(r, vec![(10_000, Number::Int(2)), (12_000, Number::Int(1)), (14_000, Number::Int(1))]);
        assert_eq!(c.range(10_000, 12_000, 1_500, Agg::Count, 16_000), Err(CounterError::RangeStep));
        assert_eq!(c.range(0, 200_000_000, 1_000, Agg::Count, 16_000), Err(CounterError::TooManyPoints));
    }

    #[test]
    fn distinct_counts_merge_buckets() {
        let mut c = DistinctCounter::new(60_000, 86_400_000).expect("valid");
        assert_eq!(c.levels(), vec![(60_000, 60, 0), (3_600_000, 24, 0)]);
        let now = 10 * 86_400_000;
        let a: Vec<Vec<u8>> = (0..1000).map(|i| format!("user:{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = a.iter().map(|v| &v[..]).collect();
        c.record(now - 120_000, &refs[..600], now, 3000).expect("ok");
        c.record(now, &refs[400..], now, 3000).expect("ok");
        let last_minute = c.count(60_000, now).expect("ok");
        let three_minutes = c.count(180_000, now).expect("ok");
        assert!((590..=610).contains(&last_minute), "{last_minute}");
        assert!((985..=1015).contains(&three_minutes), "{three_minutes}");
        assert!((985..=1015).contains(&c.count(86_400_000, now).expect("ok")));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration(b"250ms"), Some(250));
        assert_eq!(parse_duration(b"1m"), Some(60_000));
        assert_eq!(parse_duration(b"15M"), Some(900_000));
        assert_eq!(parse_duration(b"1h"), Some(3_600_000));
        assert_eq!(parse_duration(b"1d"), Some(86_400_000));
        assert_eq!(parse_duration(b"500"), Some(500));
        for bad in [&b"0s"[..], b"", b"1y", b"-1s", b"s", b"1.5s", b"99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
