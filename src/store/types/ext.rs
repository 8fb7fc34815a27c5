//! Strata's own value types, behind one `Value::Ext` variant so the Redis types' code paths pay nothing for them:
//! windowed counters, distinct counters and sliding-window logs (CTR.*), top-k and count-min sketches (TOPK.*,
//! CMS.*), experiments (EXP.*, `crate::experiment::model`). Each is bincode-encoded as a whole in
//! snapshots and digests.

use super::cms::Cms;
use super::counter::{DistinctCounter, WindowCounter};
use super::topk::TopK;
use crate::experiment::model::Experiment;
use crate::store::Value;
use bincode::{Decode, Encode};
use std::collections::VecDeque;

/// The largest value a snapshot may hold: creation caps sketches below it (see `commands::sketch`).
pub const MAX_ENCODED: usize = 256 << 20;

/// An extension value.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub enum ExtValue {
    Counter(WindowCounter),
    Distinct(DistinctCounter),
    RateLog(RateLog),
    TopK(TopK),
    Cms(Cms),
    Experiment(Box<Experiment>),
}

impl ExtValue {
    /// The name `TYPE` prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            ExtValue::Counter(_) | ExtValue::Distinct(_) | ExtValue::RateLog(_) => "counter",
            // RedisBloom's module type names, which clients written for it may test.
            ExtValue::TopK(_) => "TopK-TYPE",
            ExtValue::Cms(_) => "CMSk-TYPE",
            ExtValue::Experiment(_) => "experiment",
        }
    }

    /// The name `OBJECT ENCODING` prints.
    pub fn encoding(&self) -> &'static str {
        match self {
            ExtValue::Counter(_) => "window",
            ExtValue::Distinct(_) => "distinct",
            ExtValue::RateLog(_) => "ratelog",
            ExtValue::TopK(_) => "heavykeeper",
            ExtValue::Cms(_) => "countmin",
            ExtValue::Experiment(_) => "experiment",
        }
    }

    /// Heap bytes owned by the value (MEMORY USAGE, memory accounting).
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<ExtValue>()
            + match self {
                ExtValue::Counter(c) => c.memory(),
                ExtValue::Distinct(c) => c.memory(),
                ExtValue::RateLog(l) => l.times.capacity() * 8,
                ExtValue::TopK(t) => t.memory_bytes(),
                ExtValue::Cms(c) => c.memory_bytes(),
                ExtValue::Experiment(e) => e.memory(),
            }
    }

    /// The value's bytes for snapshots and DEBUG DIGEST.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Encoding into a Vec cannot fail.
        bincode::encode_to_vec(self, bincode::config::standard()).unwrap_or_default()
    }

    /// Decodes [`ExtValue::to_bytes`]'s bytes; `None` for anything else. Damaged lengths can make it reserve at
    /// most [`MAX_ENCODED`] bytes in all (bincode's limit) before the missing input is noticed.
    pub fn from_bytes(bytes: &[u8]) -> Option<ExtValue> {
        let cfg = bincode::config::standard().with_limit::<MAX_ENCODED>();
        match bincode::decode_from_slice::<ExtValue, _>(bytes, cfg) {
            Ok((v, used)) if used == bytes.len() && v.is_consistent() => Some(v),
            _ => None,
        }
    }

    /// Invariants a decoded value must hold for the commands' arithmetic to be safe.
    fn is_consistent(&self) -> bool {
        fn rings<B>(r: &super::counter::Rings<B>) -> bool {
            let ok = |l: &super::counter::Level<B>| {
                l.width > 0 && l.capacity > 0 && l.buckets.iter().zip(l.buckets.iter().skip(1)).all(|(a, b)| a.0 < b.0)
            };
            r.bucket_ms > 0 && ok(&r.fine) && r.coarse.as_ref().is_none_or(ok)
        }
        match self {
            ExtValue::Counter(c) => rings(c),
            ExtValue::Distinct(c) => rings(c) && c.fine.buckets.iter().all(|(_, b)| super::hll::is_valid(&b.0).is_ok()),
            ExtValue::RateLog(l) => l.window_ms > 0,
            ExtValue::TopK(t) => t.is_consistent(),
            ExtValue::Cms(c) => c.is_consistent(),
            ExtValue::Experiment(e) => e.is_consistent(),
        }
    }
}

/// Projections of a key's value onto one extension type, for `Ctx::read_as` / `write_as` (None: another type).
macro_rules! projections {
    ($($get:ident, $get_mut:ident, $variant:ident, $ty:ty;)*) => {$(
        pub fn $get(v: &Value) -> Option<&$ty> {
            match v.as_ext()? {
                ExtValue::$variant(x) => Some(x),
                _ => None,
            }
        }

        pub fn $get_mut(v: &mut Value) -> Option<&mut $ty> {
            match v.as_ext_mut()? {
                ExtValue::$variant(x) => Some(x),
                _ => None,
            }
        }
    )*};
}

projections! {
    counter, counter_mut, Counter, WindowCounter;
    distinct, distinct_mut, Distinct, DistinctCounter;
    ratelog, ratelog_mut, RateLog, RateLog;
    topk, topk_mut, TopK, TopK;
    cms, cms_mut, Cms, Cms;
}

pub fn experiment(v: &Value) -> Option<&Experiment> {
    match v.as_ext()? {
        ExtValue::Experiment(x) => Some(x),
        _ => None,
    }
}

pub fn experiment_mut(v: &mut Value) -> Option<&mut Experiment> {
    match v.as_ext_mut()? {
        ExtValue::Experiment(x) => Some(x),
        _ => None,
    }
}

/// The sliding-window log behind CTR.ALLOW: the times of the events allowed in the current window, oldest first.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct RateLog {
    pub limit: u64,
    pub window_ms: u64,
    pub times: VecDeque<u64>,
}

/// CTR.ALLOW's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub allowed: bool,
    pub remaining: u64,
    /// Milliseconds until one more event would be allowed (0 when allowed now).
    pub retry_after_ms: u64,
}

impl RateLog {
    pub fn new(limit: u64, window_ms: u64) -> RateLog {
        RateLog { limit, window_ms, times: VecDeque::new() }
    }

    /// Tries to admit `quantity` events at `now` under `limit` per `window_ms` (the latest call's settings win).
    pub fn allow(&mut self, limit: u64, window_ms: u64, quantity: u64, now: u64) -> Allowance {
        self.limit = limit;
        self.window_ms = window_ms;
        // An event at t counts while now < t + window.
        while self.times.front().is_some_and(|&t| t.saturating_add(window_ms) <= now) {
            self.times.pop_front();
        }
        // A smaller limit than before leaves more times than it allows: the oldest no longer matter.
        while self.times.len() as u64 > limit {
            self.times.pop_front();
        }
        let used = self.times.len() as u64;
        if quantity <= limit - used {
            for _ in 0..quantity {
                self.times.push_back(now);
            }
            return Allowance { allowed: true, remaining: limit - used - quantity, retry_after_ms: 0 };
        }
        // Admitting `quantity` needs the oldest `used + quantity - limit` times to leave the window.
        let retry_after_ms = if quantity > limit {
            u64::MAX
        } else {
            let must_leave = (used + quantity - limit) as usize;
            self.times.get(must_leave - 1).map_or(0, |&t| (t + window_ms).saturating_sub(now))
        };
        Allowance { allowed: false, remaining: limit - used, retry_after_ms }
    }

    /// When the log empties: the key's expiry.
    pub fn expires_at(&self) -> Option<u64> {
        self.times.back().map(|&t| t + self.window_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_log_admits_exactly_limit_per_window() {
        let mut l = RateLog::new(3, 1_000);
        let got: Vec<bool> = [0, 100, 200, 300, 999, 1_000, 1_050, 1_100, 1_101]
            .iter()
            .map(|&t| l.allow(3, 1_000, 1, t).allowed)
            .collect();
        assert_eq!(got, vec![true, true, true, false, false, true, false, true, false]);
        let a = l.allow(3, 1_000, 1, 1_150);
        assert_eq!(a, Allowance { allowed: false, remaining: 0, retry_after_ms: 1_200 - 1_150 });
        assert_eq!(l.allow(3, 1_000, 4, 5_000).retry_after_ms, u64::MAX);
        assert_eq!(l.allow(3, 1_000, 2, 5_000), Allowance { allowed: true, remaining: 1, retry_after_ms: 0 });
        assert_eq!(l.expires_at(), Some(6_000));
    }

    #[test]
    fn values_round_trip_and_damage_is_refused() {
        let mut c = WindowCounter::new(1_000, 60_000).expect("valid");
        c.record(5_000, super::super::counter::Sample::Int(3), 5_000).expect("ok");
        let v = ExtValue::Counter(c);
        let bytes = v.to_bytes();
        assert_eq!(ExtValue::from_bytes(&bytes), Some(v));
        for cut in 0..bytes.len() {
            assert!(ExtValue::from_bytes(&bytes[..cut]).is_none());
        }
        assert!(ExtValue::from_bytes(&[2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_none());
    }
}
