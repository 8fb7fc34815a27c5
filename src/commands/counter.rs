//! Counter commands (CTR.*): windowed counters with aggregations, windowed distinct counts, and rate limiting
//! (GCRA as redis-cell's CL.THROTTLE, and an exact sliding-window log). The structures live in
//! `store::types::{counter, gcra, ext}`; every counter is an ordinary key (`Value::Ext`).
//!
//! Writes that read the clock are replicated with the time they used (`TS ms`), so a replica or a replayed log
//! buckets the event where the primary did.

use super::args::{int, is, with_timestamp};
use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::counter::{parse_duration, Agg, CounterError, DistinctCounter, Number, Sample, WindowCounter};
use crate::store::types::ext::{counter, counter_mut, distinct, distinct_mut, ratelog_mut, RateLog};
use crate::store::types::gcra::{self, Quota};
use crate::store::types::ExtValue;
use crate::store::{StrValue, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// CTR.INCR / CTR.ADD on a missing key create a counter of 1 s buckets kept for a day.
const DEFAULT_BUCKET_MS: u64 = 1_000;
const DEFAULT_RETENTION_MS: u64 = 86_400_000;
/// CTR.UNIQUE on a missing key: 1 min buckets kept for a day (a HyperLogLog per bucket).
const DEFAULT_DISTINCT_BUCKET_MS: u64 = 60_000;
/// Largest limit CTR.ALLOW keeps a log for (its memory is 8 bytes per allowed event in the window).
const MAX_LOG_LIMIT: i64 = 1_000_000;

const BAD_DURATION: CmdError = CmdError::fixed("ERR invalid duration (use e.g. 250ms, 10s, 1m, 1h, 1d)");
const BAD_AGG: CmdError = CmdError::fixed("ERR unknown aggregation (use sum, count, avg, min, max or rate)");
const BAD_TS: CmdError = CmdError::fixed("ERR invalid timestamp");
const EXISTS: CmdError = CmdError::fixed("ERR key already exists");
const NO_KEY: CmdError = CmdError::fixed("ERR no such key");

fn cerr(e: CounterError) -> CmdError {
    CmdError::fixed(e.message())
}

fn duration(a: &[u8]) -> CmdResult<u64> {
    parse_duration(a).ok_or(BAD_DURATION)
}

fn timestamp(a: &[u8]) -> CmdResult<u64> {
    u64::try_from(int(a).map_err(|_| BAD_TS)?).map_err(|_| BAD_TS)
}

fn agg(a: &[u8]) -> CmdResult<Agg> {
    Agg::parse(a).ok_or(BAD_AGG)
}

fn number(n: Number) -> Reply {
    match n {
        Number::Int(i) => Reply::Int(i),
        Number::Float(f) => Reply::Double(f),
        Number::None => Reply::Nil,
    }
}

fn ext(v: ExtValue) -> Value {
    Value::Ext(Box::new(v))
}

/// Options given as `NAME value` pairs from `from` on; `names` are the accepted names (upper case). Returns the
/// value of each name (or `None`), and the flags (names without a value) seen.
fn pairs<'a>(args: &'a [Bytes], from: usize, names: &[&str]) -> CmdResult<Vec<Option<&'a [u8]>>> {
    let mut out = vec![None; names.len()];
    let mut i = from;
    while i < args.len() {
        let Some(n) = names.iter().position(|n| is(&args[i], n)) else { return Err(crate::error::SYNTAX) };
        let v = args.get(i + 1).ok_or(crate::error::SYNTAX)?;
        out[n] = Some(&v[..]);
        i += 2;
    }
    Ok(out)
}

/// CTR.CREATE key [BUCKET dur] [RETENTION dur] [UNIQUE]
fn ctr_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let mut unique = false;
    let mut rest: Vec<Bytes> = Vec::with_capacity(args.len());
    for a in &args[2..] {
        if is(a, "UNIQUE") && rest.len().is_multiple_of(2) {
            unique = true;
        } else {
            rest.push(a.clone());
        }
    }
    let opts = pairs(&rest, 0, &["BUCKET", "RETENTION"])?;
    let default_bucket = if unique { DEFAULT_DISTINCT_BUCKET_MS } else { DEFAULT_BUCKET_MS };
    let bucket = opts[0].map(duration).transpose()?.unwrap_or(default_bucket);
    let retention = opts[1].map(duration).transpose()?.unwrap_or(DEFAULT_RETENTION_MS);
    let value = if unique {
        ExtValue::Distinct(DistinctCounter::new(bucket, retention).map_err(cerr)?)
    } else {
        ExtValue::Counter(WindowCounter::new(bucket, retention).map_err(cerr)?)
    };
    if ctx.peek(key).is_some() {
        return Err(EXISTS);
    }
    ctx.set(key, ext(value), Ttl::Clear, Event::CtrCreate);
    Ok(Reply::OK)
}

/// Records `sample` into the counter at `key` (created with the defaults when missing) and replicates the command
/// with its timestamp. Returns the bucket's new sum.
fn record(ctx: &mut Ctx<'_>, args: &[Bytes], sample: Sample, ts: Option<u64>, event: Event) -> CmdResult<Number> {
    let key = &args[1];
    let now = ctx.now_ms;
    let at = ts.unwrap_or(now);
    let sum = match ctx.write_as(key, counter_mut)? {
        Some(c) => {
            c.record(at, sample, now).map_err(cerr)?;
            let sum = c.bucket_sum(at);
            // A counter is never an empty container, so `after_write`'s emptiness check is not needed.
            ctx.modified(key, event);
            sum
        }
        None => {
            let mut c = WindowCounter::new(DEFAULT_BUCKET_MS, DEFAULT_RETENTION_MS).map_err(cerr)?;
            c.record(at, sample, now).map_err(cerr)?;
            let sum = c.bucket_sum(at);
            ctx.set(key, ext(ExtValue::Counter(c)), Ttl::Clear, event);
            sum
        }
    };
    if ts.is_some() {
        ctx.emit_as_sent();
    } else {
        ctx.emit(with_timestamp(args, at));
    }
    Ok(sum)
}

/// CTR.INCR key [BY n] [TS ms]: the sum of the event's bucket after it.
fn ctr_incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = pairs(args, 2, &["BY", "TS"])?;
    let by = opts[0].map(int).transpose()?.unwrap_or(1);
    let ts = opts[1].map(timestamp).transpose()?;
    record(ctx, args, Sample::Int(by), ts, Event::CtrIncr).map(number)
}

/// CTR.ADD key value [TS ms]: a sample for avg/min/max (integers stay exact).
fn ctr_add(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = pairs(args, 3, &["TS"])?;
    let ts = opts[0].map(timestamp).transpose()?;
    let sample = match crate::util::num::parse_i64(&args[2]) {
        Some(n) => Sample::Int(n),
        None => {
            let f = super::args::float(&args[2])?;
            if !f.is_finite() {
                return Err(crate::error::NOT_FLOAT);
            }
            Sample::Float(f)
        }
    };
    record(ctx, args, sample, ts, Event::CtrAdd)?;
    Ok(Reply::OK)
}

/// CTR.GET key [WINDOW dur] [AGG agg]: nil for a missing key; the window defaults to the whole retention.
fn ctr_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = pairs(args, 2, &["WINDOW", "AGG"])?;
    let window = opts[0].map(duration).transpose()?;
    let how = opts[1].map(agg).transpose()?.unwrap_or(Agg::Sum);
    let now = ctx.now_ms;
    let Some(c) = ctx.read_as(&args[1], counter)? else { return Ok(Reply::Nil) };
    let window = window.unwrap_or(c.retention_ms);
    c.aggregate(window, how, now).map(number).map_err(cerr)
}

/// CTR.MGET WINDOW dur AGG agg key [key ...]: one value per key, nil for missing keys (and keys of other types,
/// as MGET does).
fn ctr_mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if !is(&args[1], "WINDOW") || !is(&args[3], "AGG") {
        return Err(crate::error::SYNTAX);
    }
    let window = duration(&args[2])?;
    let how = agg(&args[4])?;
    let now = ctx.now_ms;
    let mut out = Vec::with_capacity(args.len() - 5);
    for key in &args[5..] {
        let v = match ctx.read(key).map(|e| counter(&e.value)) {
            Some(Some(c)) => c.aggregate(window, how, now).map(number).map_err(cerr)?,
            _ => Reply::Nil,
        };
        out.push(v);
    }
    Ok(Reply::Array(out))
}

/// CTR.RANGE key from to [BUCKET dur] [AGG agg]: `[[bucket start ms, value] ...]`; `-` and `+` are the oldest
/// time kept and now.
fn ctr_range(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = pairs(args, 4, &["BUCKET", "AGG"])?;
    let step = opts[0].map(duration).transpose()?.unwrap_or(0);
    let how = opts[1].map(agg).transpose()?.unwrap_or(Agg::Sum);
    let now = ctx.now_ms;
    let bound = |a: &[u8], retention: u64| -> CmdResult<u64> {
        match a {
            b"-" => Ok(now.saturating_sub(retention)),
            b"+" => Ok(now),
            _ => timestamp(a),
        }
    };
    let Some(c) = ctx.read_as(&args[1], counter)? else { return Ok(Reply::Array(Vec::new())) };
    let from = bound(&args[2], c.retention_ms)?;
    let to = bound(&args[3], c.retention_ms)?;
    let points = c.range(from, to, step, how, now).map_err(cerr)?;
    Ok(Reply::Array(points.into_iter().map(|(t, v)| Reply::Array(vec![Reply::Int(t as i64), number(v)])).collect()))
}

/// CTR.INFO key
fn ctr_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(e) = ctx.read(&args[1]) else { return Err(NO_KEY) };
    let Some(x) = e.value.as_ext() else { return Err(crate::error::WRONGTYPE) };
    let field = |k: &'static str, v: Reply| (Reply::Simple(k), v);
    let rings =
        |kind: &'static str, bucket: u64, retention: u64, levels: Vec<(u64, u64, usize)>, events: u64, last: u64| {
            vec![
                field("kind", Reply::bulk_string(kind.to_string())),
                field("bucket_ms", Reply::Int(bucket as i64)),
                field("retention_ms", Reply::Int(retention as i64)),
                field(
                    "levels",
                    Reply::Array(
                        levels
                            .into_iter()
                            .map(|(w, cap, used)| {
                                Reply::Map(vec![
                                    field("bucket_ms", Reply::Int(w as i64)),
                                    field("buckets", Reply::Int(cap as i64)),
                                    field("used", Reply::Int(used as i64)),
                                ])
                            })
                            .collect(),
                    ),
                ),
                field("events", Reply::Int(events as i64)),
                field("last_ts", Reply::Int(last as i64)),
            ]
        };
    let mut fields = match x {
        ExtValue::Counter(c) => rings("window", c.bucket_ms, c.retention_ms, c.levels(), c.events, c.last_ts),
        ExtValue::Distinct(c) => rings("distinct", c.bucket_ms, c.retention_ms, c.levels(), c.events, c.last_ts),
        ExtValue::RateLog(l) => vec![
            field("kind", Reply::bulk_string("ratelog".to_string())),
            field("limit", Reply::Int(l.limit as i64)),
            field("window_ms", Reply::Int(l.window_ms as i64)),
            field("in_window", Reply::Int(l.times.len() as i64)),
        ],
        _ => return Err(crate::error::WRONGTYPE),
    };
    fields.push(field("memory", Reply::Int(x.heap_bytes() as i64)));
    Ok(Reply::Map(fields))
}

/// CTR.UNIQUE key member [TS ms]: 1 when the distinct estimate may have changed, as PFADD.
fn ctr_unique(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let opts = pairs(args, 3, &["TS"])?;
    let ts = opts[0].map(timestamp).transpose()?;
    let key = &args[1];
    let now = ctx.now_ms;
    let at = ts.unwrap_or(now);
    let sparse_max = ctx.srv.hot.hll_sparse_max.load(Ordering::Relaxed);
    let member: [&[u8]; 1] = [&args[2]];
    let changed = match ctx.write_as(key, distinct_mut)? {
        Some(c) => {
            let changed = c.record(at, &member, now, sparse_max).map_err(cerr)?;
            ctx.after_write(key, Event::CtrUnique);
            changed
        }
        None => {
            let mut c = DistinctCounter::new(DEFAULT_DISTINCT_BUCKET_MS, DEFAULT_RETENTION_MS).map_err(cerr)?;
            let changed = c.record(at, &member, now, sparse_max).map_err(cerr)?;
            ctx.set(key, ext(ExtValue::Distinct(c)), Ttl::Clear, Event::CtrUnique);
            changed
        }
    };
    if ts.is_some() {
        ctx.emit_as_sent();
    } else {
        ctx.emit(vec![
            Bytes::from_static(b"CTR.UNIQUE"),
            key.clone(),
            args[2].clone(),
            Bytes::from_static(b"TS"),
            Bytes::from(at.to_string()),
        ]);
    }
    Ok(Reply::Int(changed as i64))
}

/// CTR.UNIQUECOUNT key WINDOW dur
fn ctr_uniquecount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if !is(&args[2], "WINDOW") {
        return Err(crate::error::SYNTAX);
    }
    let window = duration(&args[3])?;
    let now = ctx.now_ms;
    let Some(c) = ctx.read_as(&args[1], distinct)? else { return Ok(Reply::Int(0)) };
    c.count(window, now).map(|n| Reply::Int(n as i64)).map_err(cerr)
}

/// CTR.THROTTLE key max_burst count_per_period period [quantity]: redis-cell's CL.THROTTLE, reply
/// `[limited, limit, remaining, retry_after s, reset_after s]`. The TAT is an integer string with a TTL, written
/// as `SET key tat PXAT at` to replicas.
fn ctr_throttle(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 6 {
        return Err(CmdError::arity("ctr.throttle"));
    }
    let quota = Quota { max_burst: int(&args[2])?, count: int(&args[3])?, period_s: int(&args[4])? };
    let quantity = args.get(5).map(|a| int(a)).transpose()?.unwrap_or(1);
    let key = &args[1];
    let tat = match ctx.read_str(key)? {
        None => None,
        Some(v) => Some(crate::util::num::parse_i64(&v.to_bytes()).ok_or(crate::error::NOT_INTEGER)?),
    };
    let now_ms = ctx.now_ms;
    let now_ns = i64::try_from(now_ms).unwrap_or(i64::MAX).saturating_mul(1_000_000);
    let d = gcra::throttle(quota, tat, now_ns, quantity).map_err(CmdError::fixed)?;
    if let Some((new_tat, ttl_ns)) = d.store {
        let ttl_ms = u64::try_from(ttl_ns / 1_000_000).unwrap_or(u64::MAX);
        if ttl_ms == 0 {
            // An expiry of now: the key would be gone at once, as redis-cell's would.
            if ctx.remove(key).is_some() {
                ctx.emit(vec![Bytes::from_static(b"DEL"), key.clone()]);
            }
        } else {
            let at = now_ms.saturating_add(ttl_ms);
            ctx.set(key, Value::Str(StrValue::Int(new_tat)), Ttl::At(at), Event::Set);
            ctx.emit(vec![
                Bytes::from_static(b"SET"),
                key.clone(),
                Bytes::from(new_tat.to_string()),
                Bytes::from_static(b"PXAT"),
                Bytes::from(at.to_string()),
            ]);
        }
    }
    Ok(Reply::Array(vec![
        Reply::Int(d.limited as i64),
        Reply::Int(d.limit),
        Reply::Int(d.remaining),
        Reply::Int(gcra::reply_seconds(d.retry_after_ns)),
        Reply::Int(gcra::reply_seconds(d.reset_after_ns)),
    ]))
}

/// CTR.ALLOW key limit window [TS ms]: an exact sliding window, reply `[allowed, remaining, retry_after ms]`
/// (-1 when allowed, or when the limit is 0). The key expires when its last event leaves the window.
fn ctr_allow(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let limit = int(&args[2])?;
    if !(0..=MAX_LOG_LIMIT).contains(&limit) {
        return Err(CmdError::fixed("ERR limit must be between 0 and 1000000"));
    }
    let limit = limit as u64;
    let window = duration(&args[3])?;
    let opts = pairs(args, 4, &["TS"])?;
    let ts = opts[0].map(timestamp).transpose()?;
    let key = &args[1];
    let now = ts.unwrap_or(ctx.now_ms);
    let a = match ctx.write_as(key, ratelog_mut)? {
        Some(l) => {
            let a = l.allow(limit, window, 1, now);
            // The expiry moves with the newest event; that is the change reported (one event, like EXPIRE's).
            if let (true, Some(at)) = (a.allowed, l.expires_at()) {
                ctx.set_expire(key, at, Event::CtrAllow);
            }
            a
        }
        None => {
            let mut l = RateLog::new(limit, window);
            let a = l.allow(limit, window, 1, now);
            if let (true, Some(at)) = (a.allowed, l.expires_at()) {
                ctx.set(key, ext(ExtValue::RateLog(l)), Ttl::At(at), Event::CtrAllow);
            }
            a
        }
    };
    if a.allowed {
        if ts.is_some() {
            ctx.emit_as_sent();
        } else {
            ctx.emit(with_timestamp(args, now));
        }
    }
    let retry = if a.allowed || a.retry_after_ms == u64::MAX { -1 } else { a.retry_after_ms as i64 };
    Ok(Reply::Array(vec![Reply::Int(a.allowed as i64), Reply::Int(a.remaining as i64), Reply::Int(retry)]))
}

const G: &str = "module";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("ctr.create", -2, WRITE | DENYOOM | FAST, Keys::one(1), ctr_create).doc(G, "1.0.0", "Creates a windowed counter (or, with UNIQUE, a windowed distinct counter) with its bucket width and retention.", "key [BUCKET duration] [RETENTION duration] [UNIQUE]").complexity("O(1)"),
    spec("ctr.incr", -2, WRITE | DENYOOM | FAST, Keys::one(1), ctr_incr).rewritten().doc(G, "1.0.0", "Adds an increment to a windowed counter at now or at a timestamp; returns the sum of its bucket.", "key [BY increment] [TS unix-time-milliseconds]").complexity("O(1) for events in the current bucket"),
    spec("ctr.add", -3, WRITE | DENYOOM | FAST, Keys::one(1), ctr_add).rewritten().doc(G, "1.0.0", "Adds a sample (integer or float) to a windowed counter, for avg, min and max.", "key value [TS unix-time-milliseconds]").complexity("O(1) for events in the current bucket"),
    spec("ctr.get", -2, READONLY | FAST, Keys::one(1), ctr_get).doc(G, "1.0.0", "Aggregates a windowed counter over a sliding window ending now.", "key [WINDOW duration] [AGG aggregation:oneof(SUM|COUNT|AVG|MIN|MAX|RATE)]").complexity("O(N) with N the buckets in the window"),
    spec("ctr.mget", -6, READONLY, Keys::range(5, -1, 1), ctr_mget).doc(G, "1.0.0", "Aggregates several windowed counters over the same window.", "WINDOW duration AGG aggregation key [key ...]").complexity("O(N) with N the buckets read"),
    spec("ctr.range", -4, READONLY, Keys::one(1), ctr_range).doc(G, "1.0.0", "Returns a windowed counter as a time series of aggregated buckets.", "key from to [BUCKET duration] [AGG aggregation]").complexity("O(N) with N the points returned"),
    spec("ctr.info", 2, READONLY, Keys::one(1), ctr_info).doc(G, "1.0.0", "Returns a counter's settings, levels and memory.", "key").complexity("O(1)"),
    spec("ctr.unique", -3, WRITE | DENYOOM | FAST, Keys::one(1), ctr_unique).rewritten().doc(G, "1.0.0", "Adds a member to a windowed distinct counter.", "key member [TS unix-time-milliseconds]").complexity("O(1)"),
    spec("ctr.uniquecount", 4, READONLY, Keys::one(1), ctr_uniquecount).doc(G, "1.0.0", "Estimates the distinct members seen in a sliding window ending now.", "key WINDOW duration").complexity("O(N) with N the buckets in the window"),
    spec("ctr.throttle", -5, WRITE | DENYOOM | FAST, Keys::one(1), ctr_throttle).rewritten().doc(G, "1.0.0", "Rate limits with GCRA as redis-cell's CL.THROTTLE: returns limited, limit, remaining, retry-after and reset-after.", "key max_burst count_per_period period [quantity]").complexity("O(1)"),
    spec("ctr.allow", -4, WRITE | DENYOOM | FAST, Keys::one(1), ctr_allow).rewritten().doc(G, "1.0.0", "Rate limits with an exact sliding-window log: returns allowed, remaining and retry-after milliseconds.", "key limit window [TS unix-time-milliseconds]").complexity("O(1) amortized"),
];
