//! GCRA (generic cell rate algorithm) rate limiting with redis-cell's `CL.THROTTLE` semantics, behind
//! CTR.THROTTLE. The state is one number per key, the theoretical arrival time (TAT) in unix nanoseconds, kept as
//! an integer string with a TTL exactly as redis-cell keeps it, so a key written by one works with the other.

/// A limit: `max_burst + 1` actions at once, then `count` per `period_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max_burst: i64,
    pub count: i64,
    pub period_s: i64,
}

/// One decision, in CL.THROTTLE's terms (durations in nanoseconds; -1 s where redis-cell reports -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limited: bool,
    pub limit: i64,
    pub remaining: i64,
    pub retry_after_ns: i128,
    pub reset_after_ns: i128,
    /// The TAT to store, with its TTL in nanoseconds; `None` when the request was refused (nothing changes).
    pub store: Option<(i64, i128)>,
}

const SECOND: i128 = 1_000_000_000;

/// Why a quota cannot be used.
pub const ZERO_RATE: &str = "ERR zero rates are not supported";
pub const NEGATIVE: &str = "ERR max_burst, count, period and quantity must not be negative";

/// Decides a request of `quantity` at `now_ns` given the stored TAT (`None` when the key is missing).
pub fn throttle(q: Quota, tat: Option<i64>, now_ns: i64, quantity: i64) -> Result<Decision, &'static str> {
    if q.max_burst < 0 || q.count < 0 || q.period_s < 0 || quantity < 0 {
        return Err(NEGATIVE);
    }
    if q.count == 0 || q.period_s == 0 {
        return Err(ZERO_RATE);
    }
    // redis-cell divides in floating point and truncates to whole nanoseconds.
    let emission = ((q.period_s as f64 * 1e9) / q.count as f64) as i128;
    if emission == 0 {
        return Err(ZERO_RATE);
    }
    let tolerance = emission * (q.max_burst as i128 + 1);
    let increment = emission * quantity as i128;
    let now = now_ns as i128;
    let tat = tat.map_or(now, |t| t as i128);
    let new_tat = tat.max(now) + increment;
    let diff = now - (new_tat - tolerance);
    let mut retry_after_ns = -SECOND;
    let (limited, ttl, store) = if diff < 0 {
        if increment <= tolerance {
            retry_after_ns = -diff;
        }
        (true, tat - now, None)
    } else {
        let ttl = new_tat - now;
        (false, ttl, Some((i64::try_from(new_tat).unwrap_or(i64::MAX), ttl)))
    };
    let next = tolerance - ttl;
    let remaining = if next > -emission { ((next / 1_000) as f64 / (emission / 1_000) as f64) as i64 } else { 0 };
    Ok(Decision { limited, limit: q.max_burst + 1, remaining, retry_after_ns, reset_after_ns: ttl, store })
}

/// Whole seconds as CL.THROTTLE replies them: a duration with a part of a millisecond or more left over rounds
/// up, so a fast caller does not retry too early.
pub fn reply_seconds(ns: i128) -> i64 {
    let whole = ns / SECOND;
    let sub_ms = (ns % SECOND) / 1_000_000;
    (whole + i128::from(sub_ms > 0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// redis-cell's published rate-limiter cases: limit 5 (max_burst 4) at 1 per second, each request at a time
    /// after the start with a quantity, expecting (remaining, reset_after, retry_after, limited).
    #[test]
    fn redis_cell_cases() {
        let q = Quota { max_burst: 4, count: 1, period_s: 1 };
        let start: i64 = 1_700_000_000 * 1_000_000_000;
        let ms = |n: i64| n as i128 * 1_000_000;
        let s = |n: i64| n as i128 * SECOND;
        #[rustfmt::skip]
        let cases: [(i64, i64, i64, i128, i128, bool); 15] = [
            (0, 6, 5, 0, s(-1), true),
            (0, 1, 4, s(1), s(-1), false),
            (0, 1, 3, s(2), s(-1), false),
            (0, 1, 2, s(3), s(-1), false),
            (0, 1, 1, s(4), s(-1), false),
            (0, 1, 0, s(5), s(-1), false),
            (0, 1, 0, s(5), s(1), true),
            (3_000, 1, 2, ms(3_000), s(-1), false),
            (3_100, 1, 1, ms(3_900), s(-1), false),
            (4_000, 1, 1, ms(4_000), s(-1), false),
            (8_000, 1, 4, ms(1_000), s(-1), false),
            (9_500, 1, 4, ms(1_000), s(-1), false),
            (9_500, 0, 4, s(1), s(-1), false),
            (9_500, 2, 2, s(3), s(-1), false),
            (9_500, 5, 2, s(3), s(3), true),
        ];
        let mut tat = None;
        for (i, (at, quantity, remaining, reset, retry, limited)) in cases.into_iter().enumerate() {
            let d = throttle(q, tat, start + at * 1_000_000, quantity).expect("valid quota");
            assert_eq!(
                (d.limited, d.limit, d.remaining, d.reset_after_ns, d.retry_after_ns),
                (limited, 5, remaining, reset, retry),
                "case {i}"
            );
            if let Some((t, _)) = d.store {
                tat = Some(t);
            }
        }
    }

    #[test]
    fn zero_and_negative_quotas_are_refused() {
        assert_eq!(throttle(Quota { max_burst: 1, count: 0, period_s: 1 }, None, 0, 1), Err(ZERO_RATE));
        assert_eq!(throttle(Quota { max_burst: 1, count: 1, period_s: 0 }, None, 0, 1), Err(ZERO_RATE));
        assert_eq!(throttle(Quota { max_burst: -1, count: 1, period_s: 1 }, None, 0, 1), Err(NEGATIVE));
        assert_eq!(throttle(Quota { max_burst: 1, count: 1, period_s: 1 }, None, 0, -1), Err(NEGATIVE));
    }

    #[test]
    fn seconds_round_up_from_a_millisecond() {
        assert_eq!(reply_seconds(-SECOND), -1);
        assert_eq!(reply_seconds(0), 0);
        assert_eq!(reply_seconds(SECOND), 1);
        assert_eq!(reply_seconds(SECOND + 999_999), 1);
        assert_eq!(reply_seconds(SECOND + 1_000_000), 2);
    }
}
