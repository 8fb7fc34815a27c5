//! Cache commands (CACHE.*): what applications write by hand around Redis, as server features.
//!
//! - CACHE.SET: SET plus tags, a stale window and a TTL policy in one round trip.
//! - CACHE.GET: a read that reports freshness and hands exactly one reader the job of refreshing the value,
//!   early with XFetch's probability exp(-remaining / delta) (delta: how long the value took to compute), or as
//!   soon as it is stale.
//! - CACHE.GETL / CACHE.FILL: leases against stampedes, as memcache at Facebook: on a miss only the first reader
//!   gets a token to fill the key; the others wait or are served the stale value; a fill whose lease ended or
//!   was overtaken by another write is refused.
//! - TTLPOLICY ADAPTIVE base min max: each CACHE.GET hit sets the TTL to min x score, within [min, max], where the
//!   score is the key's hits decayed with a half-life of `base`; writes reset it to `base`.
//!
//! The state lives in the key's metadata (`store::keymeta::CacheState`), so it follows the key like its tags.
//! Stale values are ordinary TTL: the entry expires at fresh-until + stale, and freshness is derived from the
//! expiry, so it replicates as the expiry does. Writes are logged as `CACHE.SET ... PXAT <fresh-until>`, TTL
//! moves as `PEXPIREAT`; leases and refresh hand-outs are local to the server.

use super::args::{int, is};
use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::string::{parse_str_opts, stored_form, StrCmd, StrOpts};
use super::tag::check_tags;
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::keymeta::{
    Adaptive, CacheCounters, CacheState, Lease, MetaSide, MAX_POLICY_SECONDS, MAX_TAG_BYTES_PER_KEY,
};
use crate::store::{Entry, Value};
use bytes::Bytes;

const TOO_MANY_TAGS: CmdError = CmdError::fixed("ERR a key carries at most 16384 bytes of tags");
const BAD_POLICY: CmdError =
    CmdError::fixed("ERR TTLPOLICY ADAPTIVE needs base, min and max seconds with 0 < min <= base <= max");
const STALE_NEEDS_TTL: CmdError = CmdError::fixed("ERR STALE needs an expiry (EX, PX, EXAT, PXAT or TTLPOLICY)");
const BAD_LEASE: CmdError = CmdError::fixed("ERR lease time must be a positive number of milliseconds");
const BAD_TOKEN: CmdError = CmdError::fixed("ERR invalid lease token");
/// The refresh channel: the key is published when a reader is handed a refresh of a key read more than once.
pub const REFRESH_CHANNEL: &[u8] = b"__strata__:refresh";
/// XFetch's beta: above 1 favours earlier refreshes.
const XFETCH_BETA: f64 = 1.0;
/// An ADAPTIVE hit moves the expiry only by at least this much, so a hot key is not rewritten on every read.
const EXTEND_STEP_MS: u64 = 1_000;
const MAX_SECONDS: i64 = MAX_POLICY_SECONDS as i64;

/// The options CACHE.SET and CACHE.FILL add to SET's.
#[derive(Default)]
struct CacheOpts {
    tags: Option<Vec<Bytes>>,
    stale_ms: u64,
    adaptive: Option<Adaptive>,
    compute_ms: Option<u64>,
}

fn seconds(a: &[u8]) -> CmdResult<u64> {
    let n = int(a)?;
    if !(0..=MAX_SECONDS).contains(&n) {
        return Err(error::SYNTAX);
    }
    Ok(n as u64 * 1000)
}

/// Splits `args[from..]` into the cache options and SET's own, which come back appended to `head`.
fn parse_cache_opts(args: &[Bytes], from: usize, mut head: Vec<Bytes>) -> CmdResult<(CacheOpts, StrOpts)> {
    let mut co = CacheOpts::default();
    let mut j = from;
    let arg = |i: usize| args.get(i).ok_or(error::SYNTAX);
    while j < args.len() {
        let a = &args[j];
        if is(a, "TAGS") {
            let n = int(arg(j + 1)?)?;
            if n < 1 || n as usize > args.len() - j - 2 {
                return Err(error::SYNTAX);
            }
            let mut tags = args[j + 2..j + 2 + n as usize].to_vec();
            check_tags(&tags)?;
            tags.sort();
            tags.dedup();
            if tags.iter().map(|t| t.len()).sum::<usize>() > MAX_TAG_BYTES_PER_KEY {
                return Err(TOO_MANY_TAGS);
            }
            co.tags = Some(tags);
            j += 2 + n as usize;
        } else if is(a, "STALE") {
            co.stale_ms = seconds(arg(j + 1)?)?;
            j += 2;
        } else if is(a, "TTLPOLICY") {
            if !is(arg(j + 1)?, "ADAPTIVE") {
                return Err(error::SYNTAX);
            }
            let (base, min, max) = (seconds(arg(j + 2)?)?, seconds(arg(j + 3)?)?, seconds(arg(j + 4)?)?);
            if !(0 < min && min <= base && base <= max) {
                return Err(BAD_POLICY);
            }
            co.adaptive = Some(Adaptive { base_ms: base, min_ms: min, max_ms: max });
            j += 5;
        } else if is(a, "COMPUTE") {
            let n = int(arg(j + 1)?)?;
            if n < 0 {
                return Err(error::SYNTAX);
            }
            co.compute_ms = Some(n as u64);
            j += 2;
        } else {
            head.push(a.clone());
            j += 1;
        }
    }
    let o = parse_str_opts(&head, 3, StrCmd::Set)?;
    if o.get || (o.keepttl && (co.stale_ms > 0 || co.adaptive.is_some())) {
        return Err(error::SYNTAX);
    }
    Ok((co, o))
}

/// When the value written to `key` stops being fresh (`None`: no expiry, or KEEPTTL): the expiry given, else
/// the base TTL of its own ADAPTIVE policy or of its prefix's (`adaptive-ttl`).
fn fresh_until(ctx: &Ctx<'_>, key: &[u8], o: &StrOpts, co: &CacheOpts) -> CmdResult<Option<u64>> {
    let now = ctx.now_ms;
    let mut at = o.expire_at(now, "cache.set")?;
    if at.is_none() && !o.keepttl {
        let policy = co.adaptive.or_else(|| ctx.srv.keyspace.meta.prefixes.policy_for(key));
        at = policy.map(|a| now + a.base_ms);
    }
    if co.stale_ms > 0 && at.is_none() {
        return Err(STALE_NEEDS_TTL);
    }
    Ok(at)
}

/// Writes a cached value with its metadata and logs it as a replayable CACHE.SET. `measured_ms` is the compute
/// time a lease measured (CACHE.FILL).
fn write_cached(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    value: &[u8],
    keepttl: bool,
    fresh: Option<u64>,
    co: CacheOpts,
    measured_ms: Option<u64>,
) {
    let now = ctx.now_ms;
    let ttl = match fresh {
        Some(f) => Ttl::At(f.saturating_add(co.stale_ms)),
        None if keepttl => Ttl::Keep,
        None => Ttl::Clear,
    };
    ctx.set(key, Value::Str(stored_form(ctx, value)), ttl, Event::Set);
    if fresh.is_some() {
        ctx.notify(key, Event::Expire);
    }
    let delta = co.compute_ms.or(measured_ms);
    let cache = (co.stale_ms > 0 || co.adaptive.is_some() || delta.is_some()).then(|| {
        Box::new(CacheState {
            stale_ms: co.stale_ms,
            adaptive: co.adaptive,
            delta_ms: delta.unwrap_or(0),
            scored_at: now,
            ..CacheState::default()
        })
    });
    let mut effect = vec![Bytes::from_static(b"CACHE.SET"), key.clone(), Bytes::copy_from_slice(value)];
    match fresh {
        Some(f) => effect.extend([Bytes::from_static(b"PXAT"), num(f)]),
        None if keepttl => effect.push(Bytes::from_static(b"KEEPTTL")),
        None => {}
    }
    if let Some(tags) = &co.tags {
        effect.extend([Bytes::from_static(b"TAGS"), num(tags.len() as u64)]);
        effect.extend(tags.iter().cloned());
    }
    if co.stale_ms > 0 {
        effect.extend([Bytes::from_static(b"STALE"), num(co.stale_ms / 1000)]);
    }
    if let Some(a) = co.adaptive {
        effect.extend([Bytes::from_static(b"TTLPOLICY"), Bytes::from_static(b"ADAPTIVE")]);
        effect.extend([a.base_ms, a.min_ms, a.max_ms].map(|ms| num(ms / 1000)));
    }
    if let Some(d) = delta {
        effect.extend([Bytes::from_static(b"COMPUTE"), num(d)]);
    }
    if co.tags.is_some() || cache.is_some() {
        ctx.with_meta(key, |flags, side, stats| {
            // A replaced value's metadata is gone already; KEEPTTL kept it, and what is given replaces its part.
            let mut meta = side.get(key).cloned().unwrap_or_default();
            if let Some(tags) = co.tags {
                meta.tags = tags;
            }
            if cache.is_some() {
                meta.cache = cache;
            }
            *flags |= Entry::HAS_META;
            side.set(stats, key, meta);
        });
    }
    ctx.emit(effect);
}

fn num(n: u64) -> Bytes {
    Bytes::from(n.to_string())
}

fn cache_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (co, o) = parse_cache_opts(args, 3, args[..3].to_vec())?;
    let key = &args[1];
    let fresh = fresh_until(ctx, key, &o, &co)?;
    let found = ctx.peek(key).is_some();
    if (o.nx && found) || (o.xx && !found) {
        return Ok(Reply::Nil);
    }
    write_cached(ctx, key, &args[2], o.keepttl, fresh, co, None);
    Ok(Reply::OK)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    Fresh,
    /// This reader should recompute the value (it still gets the current one).
    Refresh,
    Stale,
}

impl Freshness {
    fn name(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Refresh => "refresh",
            Freshness::Stale => "stale",
        }
    }
}

/// What a read of an existing key found and changed.
struct Hit {
    freshness: Freshness,
    /// The expiry ADAPTIVE moves the key to.
    extend: Option<u64>,
    /// Hits since the value was written, this one included.
    hits: u64,
}

/// Whether a value expiring at `expire_at` is past its fresh time.
fn is_stale(expire_at: u64, c: &CacheState, now: u64) -> bool {
    let until = c.fresh_until(expire_at);
    until != 0 && now >= until
}

/// XFetch: refresh early with probability exp(-remaining / (delta * beta)).
fn xfetch(remaining_ms: u64, delta_ms: u64) -> bool {
    let p = (-(remaining_ms as f64) / (delta_ms as f64 * XFETCH_BETA)).exp();
    rand::random::<f64>() < p
}

/// How long a handed-out refresh is waited for before another reader gets it: twice the compute time, within
/// 1 s and 60 s.
fn refresh_window(delta_ms: u64) -> u64 {
    (2 * delta_ms).clamp(1_000, 60_000)
}

/// A key's prefix policy (`adaptive-ttl`) with the accesses its LFU counter stands for, the policy's score.
type PrefixScore = Option<(Adaptive, f64)>;

/// The prefix policy of `key`, scored from its entry's LFU counter (which every access keeps current while
/// prefixes are configured). Only keys with an expiry follow it.
fn prefix_score(srv: &crate::engine::Server, key: &[u8], freq: u8, expire_at: u64) -> PrefixScore {
    let a = srv.keyspace.meta.prefixes.policy_for(key).filter(|_| expire_at != 0)?;
    let factor = srv.hot.lfu_log_factor.load(std::sync::atomic::Ordering::Relaxed);
    Some((a, crate::store::lfu::accesses(freq, factor) as f64))
}

/// ADAPTIVE's rule: the expiry a hit moves the key to, `min x score` within [min, max] (plus the stale window),
/// if that moves it by a step or more.
fn adaptive_expiry(expire_at: u64, a: Adaptive, score: f64, stale_ms: u64, now: u64) -> Option<u64> {
    let ttl = ((a.min_ms as f64 * score) as u64).clamp(a.min_ms, a.max_ms);
    let at = now + ttl + stale_ms;
    (at.abs_diff(expire_at) >= EXTEND_STEP_MS).then_some(at)
}

/// Records a CACHE.GET / CACHE.GETL hit on an existing key: counts it, decides its freshness (handing out at
/// most one refresh at a time when `may_refresh`), and applies ADAPTIVE's TTL rule: the key's own policy, else
/// its prefix's (`prefix`).
/// `expire_at` is the key's expiry.
fn on_hit(
    e: &Entry,
    expire_at: u64,
    side: &mut MetaSide,
    key: &[u8],
    now: u64,
    may_refresh: bool,
    prefix: PrefixScore,
) -> Hit {
    let by_prefix = || prefix.and_then(|(a, score)| adaptive_expiry(expire_at, a, score, 0, now));
    let plain = || Hit { freshness: Freshness::Fresh, extend: by_prefix(), hits: 0 };
    if e.flags & Entry::HAS_META == 0 {
        return plain();
    }
    let Some(c) = side.get_mut(key).and_then(|m| m.cache.as_deref_mut()) else { return plain() };
    c.hits += 1;
    let stale = is_stale(expire_at, c, now);
    let until = c.fresh_until(expire_at);
    let due = stale || (c.delta_ms > 0 && until != 0 && xfetch(until - now, c.delta_ms));
    let freshness = if due && may_refresh && c.refresh_until <= now {
        c.refresh_until = now + refresh_window(c.delta_ms);
        Freshness::Refresh
    } else if stale {
        Freshness::Stale
    } else {
        Freshness::Fresh
    };
    let extend = match (c.adaptive, prefix) {
        _ if stale => None,
        (Some(a), _) => {
            let half_lives = now.saturating_sub(c.scored_at) as f64 / a.base_ms as f64;
            c.score = c.score * 0.5f64.powf(half_lives) + 1.0;
            c.scored_at = now;
            adaptive_expiry(expire_at, a, c.score, c.stale_ms, now)
        }
        (None, Some((a, score))) => adaptive_expiry(expire_at, a, score, c.stale_ms, now),
        (None, None) => None,
    };
    Hit { freshness, extend, hits: c.hits }
}

/// Applies and logs an ADAPTIVE expiry move.
fn extend_ttl(ctx: &mut Ctx<'_>, key: &Bytes, at: u64) {
    ctx.set_expire(key, at, Event::Expire);
    ctx.emit(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), num(at)]);
    CacheCounters::bump(&ctx.srv.keyspace.meta.counters.ttl_extensions);
}

fn cache_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let counters = &ctx.srv.keyspace.meta.counters;
    let Some(value) = ctx.read_str(key)? else {
        CacheCounters::bump(&counters.misses);
        return Ok(Reply::Nil);
    };
    let now = ctx.now_ms;
    let srv = ctx.srv;
    let at = ctx.expire_of(key).unwrap_or(0);
    let prefix = ctx.peek(key).and_then(|e| prefix_score(srv, key, e.freq, at));
    let hit = ctx.with_key_side(key, |e, side, _| e.map(|e| on_hit(e, at, side, key, now, true, prefix)));
    let Some(hit) = hit else { return Ok(Reply::Nil) };
    match hit.freshness {
        Freshness::Fresh => CacheCounters::bump(&counters.hits),
        Freshness::Stale => CacheCounters::bump(&counters.stale_hits),
        Freshness::Refresh => {
            CacheCounters::bump(&counters.refreshes);
            if hit.hits > 1 {
                ctx.srv.pubsub.publish(REFRESH_CHANNEL, key);
            }
        }
    }
    if let Some(at) = hit.extend {
        extend_ttl(ctx, key, at);
    }
    Ok(Reply::Array(vec![Reply::Bulk(value.to_bytes()), Reply::Simple(hit.freshness.name())]))
}

/// What CACHE.GETL decided.
enum Getl {
    Hit(Option<u64>),
    Lease(u64),
    Wait,
}

fn cache_getl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let lease_ms = int(&args[2]).map_err(|_| BAD_LEASE)?;
    if !(1..=MAX_SECONDS * 1000).contains(&lease_ms) {
        return Err(BAD_LEASE);
    }
    let value = ctx.read_str(key)?;
    let now = ctx.now_ms;
    let srv = ctx.srv;
    let at = ctx.expire_of(key).unwrap_or(0);
    let prefix = ctx.peek(key).and_then(|e| prefix_score(srv, key, e.freq, at));
    let outcome = ctx.with_key_side(key, |e, side, hooks| {
        if let Some(e) = e {
            let stale = side.get(key).and_then(|m| m.cache.as_deref()).is_some_and(|c| is_stale(at, c, now));
            if !stale {
                return Getl::Hit(on_hit(e, at, side, key, now, false, prefix).extend);
            }
        }
        if side.lease(key, now).is_some() {
            return Getl::Wait;
        }
        let token = hooks.next_token.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        side.grant_lease(key, Lease { token, granted_at: now, until: now + lease_ms as u64 });
        Getl::Lease(token)
    });
    let counters = &ctx.srv.keyspace.meta.counters;
    let value_reply = || value.as_ref().map_or(Reply::Nil, |v| Reply::Bulk(v.to_bytes()));
    Ok(Reply::Array(match outcome {
        Getl::Hit(extend) => {
            CacheCounters::bump(&counters.hits);
            if let Some(at) = extend {
                extend_ttl(ctx, key, at);
            }
            vec![Reply::Simple("hit"), value_reply(), Reply::Nil]
        }
        Getl::Lease(token) => {
            CacheCounters::bump(&counters.leases_granted);
            CacheCounters::bump(if value.is_some() { &counters.stale_hits } else { &counters.misses });
            vec![Reply::Simple("lease"), value_reply(), Reply::Int(token as i64)]
        }
        Getl::Wait if value.is_some() => {
            CacheCounters::bump(&counters.stale_hits);
            vec![Reply::Simple("stale"), value_reply(), Reply::Nil]
        }
        Getl::Wait => {
            CacheCounters::bump(&counters.lease_waits);
            vec![Reply::Simple("wait"), Reply::Nil, Reply::Nil]
        }
    }))
}

fn cache_fill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let token = int(&args[2]).ok().filter(|t| *t > 0).ok_or(BAD_TOKEN)? as u64;
    let (co, o) = parse_cache_opts(args, 4, vec![args[0].clone(), args[1].clone(), args[3].clone()])?;
    if o.nx || o.xx {
        return Err(error::SYNTAX);
    }
    let fresh = fresh_until(ctx, key, &o, &co)?;
    let now = ctx.now_ms;
    let granted = ctx.with_key_side(key, |_, side, _| match side.lease(key, now) {
        Some(l) if l.token == token => side.take_lease(key).map(|l| l.granted_at),
        _ => None,
    });
    let counters = &ctx.srv.keyspace.meta.counters;
    let Some(granted) = granted else {
        CacheCounters::bump(&counters.fills_rejected);
        return Ok(Reply::Nil);
    };
    CacheCounters::bump(&counters.fills);
    write_cached(ctx, key, &args[3], o.keepttl, fresh, co, Some(now.saturating_sub(granted)));
    Ok(Reply::OK)
}

fn cache_ttlinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let srv = ctx.srv;
    let lru = ctx.lru_now();
    let decay = srv.hot.lfu_decay_time.load(std::sync::atomic::Ordering::Relaxed);
    let expire_at = ctx.expire_of(key).unwrap_or(0);
    let Some(prefix) = ctx.peek(key).map(|e| {
        // The LFU counter as of now (decayed as the next access would), for a prefix policy's score.
        let freq = crate::store::lfu::decayed(e.freq, e.access, lru, decay);
        prefix_score(srv, key, freq, expire_at)
    }) else {
        return Ok(Reply::Nil);
    };
    let now = ctx.now_ms;
    let meta = ctx.key_meta(key).unwrap_or_default();
    let c = meta.cache.as_deref().cloned().unwrap_or_default();
    let left = |at: u64| if at == 0 { Reply::Int(-1) } else { Reply::Int(at.saturating_sub(now) as i64) };
    let secs = |ms: u64| Reply::Int((ms / 1000) as i64);
    let adaptive = |a: Adaptive| ("adaptive", secs(a.base_ms), secs(a.min_ms), secs(a.max_ms));
    let (policy, base, min, max) = match (c.adaptive, prefix, expire_at) {
        (Some(a), _, _) | (None, Some((a, _)), _) => adaptive(a),
        (None, None, 0) => ("none", Reply::Nil, Reply::Nil, Reply::Nil),
        (None, None, _) => ("fixed", Reply::Nil, Reply::Nil, Reply::Nil),
    };
    let (score, source) = match (c.adaptive, prefix) {
        (Some(a), _) => (c.score * 0.5f64.powf(now.saturating_sub(c.scored_at) as f64 / a.base_ms as f64), "key"),
        (None, Some((_, score))) => (score, "prefix"),
        (None, None) => (0.0, "none"),
    };
    let field = |name: &'static str, v: Reply| (Reply::Bulk(Bytes::from_static(name.as_bytes())), v);
    Ok(Reply::Map(vec![
        field("policy", Reply::Simple(policy)),
        field("policy-source", Reply::Simple(source)),
        field("base", base),
        field("min", min),
        field("max", max),
        field("ttl-ms", left(expire_at)),
        field("fresh-ms", left(c.fresh_until(expire_at))),
        field("stale-window-ms", Reply::Int(c.stale_ms as i64)),
        field("hits", Reply::Int(c.hits as i64)),
        field("frequency", Reply::Double(score)),
        field("compute-ms", Reply::Int(c.delta_ms as i64)),
        field("refresh-pending", Reply::Int(i64::from(c.refresh_until > now))),
        field("tags", Reply::Int(meta.tags.len() as i64)),
    ]))
}

const G: &str = "module";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("cache.set", -3, WRITE | DENYOOM, Keys::one(1), cache_set).rewritten().doc(G, "1.0.0", "Sets a cached string value with SET's options plus tags, a stale window and a TTL policy.", SET_USAGE).complexity("O(1) plus O(T log N) for T tags"),
    spec("cache.get", 2, WRITE | FAST, Keys::one(1), cache_get).rewritten().doc(G, "1.0.0", "Returns a cached value and its freshness (fresh, refresh: this reader should recompute it, or stale); ADAPTIVE keys have their TTL extended by the hit.", "key").complexity("O(1)"),
    spec("cache.getl", 3, WRITE | FAST, Keys::one(1), cache_getl).rewritten().doc(G, "1.0.0", "Reads a key with a fill lease: a hit, or on a miss (or stale value) a lease token for the first reader only; others are told to wait or get the stale value.", "key lease-milliseconds:integer").complexity("O(1)"),
    spec("cache.fill", -4, WRITE | DENYOOM, Keys::one(1), cache_fill).rewritten().doc(G, "1.0.0", "Fills a key with the token CACHE.GETL granted; refused (nil) when the lease ended or the key was written meanwhile.", "key token:integer value [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] [TAGS numtags tag [tag ...]] [STALE seconds] [TTLPOLICY ADAPTIVE base min max] [COMPUTE milliseconds]").complexity("O(1) plus O(T log N) for T tags"),
    spec("cache.ttlinfo", 2, READONLY | FAST, Keys::one(1), cache_ttlinfo).doc(G, "1.0.0", "Returns a key's TTL policy, remaining fresh and total time, hits, access frequency and compute time.", "key").complexity("O(1)"),
];

const SET_USAGE: &str = "key value [NX | XX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] [TAGS numtags tag [tag ...]] [STALE seconds] [TTLPOLICY ADAPTIVE base min max] [COMPUTE milliseconds]";
