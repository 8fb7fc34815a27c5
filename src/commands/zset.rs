//! Sorted-set commands: ZADD and friends, every range form, pops (blocking too), the algebra (ZUNION, ZINTER,
//! ZDIFF and their STORE and CARD forms), ZRANDMEMBER and ZSCAN.

use super::args::{int, is};
use super::ctx::{BlockRequest, Caller, Ctx, Ttl};
use super::flags::*;
use super::keyspace::{container_scan, parse_cursor, ScanOpts};
use super::list::parse_timeout;
use super::{spec, CommandSpec, Keys};
use crate::engine::blocking::{BlockedOp, Waiter};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::{Protocol, Reply};
use crate::store::event::Event;
use crate::store::types::{LexBound, ScoreBound, ZSetValue};
use crate::store::Value;
use bytes::Bytes;

const NOT_FLOAT_RANGE: CmdError = CmdError::fixed("ERR min or max is not a float");
const NOT_LEX_RANGE: CmdError = CmdError::fixed("ERR min or max not valid string range item");

fn score_arg(a: &[u8]) -> CmdResult<f64> {
    crate::util::num::parse_f64(a).ok_or(error::NOT_FLOAT)
}

fn score_bound(a: &[u8]) -> CmdResult<ScoreBound> {
    let (exclusive, body) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    // strtod reads an empty bound as 0, and so does Redis.
    let value = if body.is_empty() { 0.0 } else { crate::util::num::parse_f64(body).ok_or(NOT_FLOAT_RANGE)? };
    Ok(ScoreBound { value, exclusive })
}

fn lex_bound(a: &[u8]) -> CmdResult<LexBound> {
    match a {
        b"-" => Ok(LexBound::NegInf),
        b"+" => Ok(LexBound::PosInf),
        [b'[', rest @ ..] => Ok(LexBound::Incl(Bytes::copy_from_slice(rest))),
        [b'(', rest @ ..] => Ok(LexBound::Excl(Bytes::copy_from_slice(rest))),
        _ => Err(NOT_LEX_RANGE),
    }
}

fn new_zset() -> Value {
    Value::new_zset()
}

fn with_scores(ctx: &Ctx<'_>, items: Vec<(f64, Bytes)>, withscores: bool) -> Reply {
    if !withscores {
        return Reply::Array(items.into_iter().map(|(_, m)| Reply::Bulk(m)).collect());
    }
    if ctx.client.proto == Protocol::Resp3 {
        Reply::Array(items.into_iter().map(|(s, m)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect())
    } else {
        Reply::Array(items.into_iter().flat_map(|(s, m)| [Reply::Bulk(m), Reply::Double(s)]).collect())
    }
}

/// ZADD's options (GEOADD takes NX, XX and CH).
#[derive(Clone, Copy, Default)]
pub(super) struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut f = AddFlags::default();
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        if is(a, "NX") {
            f.nx = true;
        } else if is(a, "XX") {
            f.xx = true;
        } else if is(a, "GT") {
            f.gt = true;
        } else if is(a, "LT") {
            f.lt = true;
        } else if is(a, "CH") {
            f.ch = true;
        } else if is(a, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        j += 1;
    }
    let pairs = &args[j..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(error::SYNTAX);
    }
    if f.nx && f.xx {
        return Err(CmdError::err("XX and NX options at the same time are not compatible"));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::err("INCR option supports a single increment-element pair"));
    }
    let mut scored = Vec::with_capacity(pairs.len() / 2);
    for p in pairs.chunks(2) {
        scored.push((score_arg(&p[0])?, &p[1]));
    }
    add_scored(ctx, &args[1], f, &scored)
}

/// Adds or updates `scored` members of the sorted set at `key` under ZADD's rules; replies as ZADD does.
pub(super) fn add_scored(ctx: &mut Ctx<'_>, key: &Bytes, f: AddFlags, scored: &[(f64, &Bytes)]) -> CmdResult<Reply> {
    let AddFlags { nx, xx, gt, lt, ch, incr } = f;
    if ctx.lookup_write_as(key, Value::as_zset)?.is_none() && xx {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let limits = ctx.srv.zset_limits();
    let z = ctx.write_or_create(key, Value::as_zset_mut, new_zset)?;
    let (mut added, mut updated) = (0, 0);
    let mut incr_result = None;
    for &(score, m) in scored {
        let cur = z.score(m);
        match cur {
            None if xx => continue,
            Some(_) if nx => continue,
            _ => {}
        }
        let new = match (cur, incr) {
            (Some(c), true) => c + score,
            _ => score,
        };
        if new.is_nan() {
            return Err(CmdError::err("resulting score is not a number (NaN)"));
        }
        if let Some(c) = cur {
            if (gt && new <= c) || (lt && new >= c) {
                continue;
            }
            if new != c {
                z.insert(m, new, limits);
                updated += 1;
            }
        } else {
            z.insert(m, new, limits);
            added += 1;
        }
        incr_result = Some(new);
    }
    if added + updated > 0 {
        ctx.after_write(key, if incr { Event::Zincr } else { Event::Zadd });
    } else {
        ctx.after_write_quiet(key);
    }
    if incr {
        return Ok(incr_result.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Int(if ch { added + updated } else { added }))
}

fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let by = score_arg(&args[2])?;
    let limits = ctx.srv.zset_limits();
    let key = &args[1];
    let z = ctx.write_or_create(key, Value::as_zset_mut, new_zset)?;
    let new = z.score(&args[3]).unwrap_or(0.0) + by;
    if new.is_nan() {
        ctx.after_write_quiet(key);
        return Err(CmdError::err("resulting score is not a number (NaN)"));
    }
    z.insert(&args[3], new, limits);
    ctx.after_write(key, Event::Zincr);
    Ok(Reply::Double(new))
}

fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(z) = ctx.write_as(&args[1], Value::as_zset_mut)? else { return Ok(Reply::Int(0)) };
    let n = args[2..].iter().filter(|m| z.remove(m)).count() as i64;
    if n > 0 {
        ctx.after_write(&args[1], Event::Zrem);
    }
    Ok(Reply::Int(n))
}

fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_zset)?.map_or(0, |z| z.len() as i64)))
}

fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.read_as(&args[1], Value::as_zset)?.and_then(|z| z.score(&args[2])).map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let z = ctx.read_as(&args[1], Value::as_zset)?;
    Ok(Reply::Array(args[2..].iter().map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double)).collect()))
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let Some(z) = ctx.read_as(&args[1], Value::as_zset)? else { return Ok(Reply::Nil) };
    let Some(r) = z.rank(&args[2]) else { return Ok(Reply::Nil) };
    Ok(Reply::Int(if rev { z.len() - 1 - r } else { r } as i64))
}

fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, false)
}
fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    rank_generic(ctx, args, true)
}

/// Which elements a range command selects.
#[derive(Debug, Clone)]
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// Half-open rank interval `[lo, hi)` selected by `range` (bounds already in ascending order).
fn rank_interval(z: &ZSetValue, range: &Range, rev: bool) -> (usize, usize) {
    let len = z.len();
    match range {
        Range::Rank(start, end) => {
            let (mut s, mut e) = (*start, *end);
            let l = len as i64;
            if s < 0 {
                s += l;
            }
            if e < 0 {
                e += l;
            }
            s = s.max(0);
            if s > e || s >= l {
                return (0, 0);
            }
            e = e.min(l - 1);
            if rev {
                ((l - 1 - e) as usize, (l - s) as usize)
            } else {
                (s as usize, e as usize + 1)
            }
        }
        Range::Score(min, max) => {
            let lo = z.rank_of_min(*min);
            let hi = z.rank_past_max(*max);
            (lo, hi.max(lo))
        }
        Range::Lex(min, max) => {
            let lo = z.rank_of_lex_min(min);
            let hi = z.rank_past_lex_max(max);
            (lo, hi.max(lo))
        }
    }
}

/// The elements selected, in reply order, after LIMIT.
fn select(z: &ZSetValue, range: &Range, rev: bool, limit: Option<(i64, i64)>) -> Vec<(f64, Bytes)> {
    let (lo, hi) = rank_interval(z, range, rev);
    if lo >= hi {
        return Vec::new();
    }
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 {
        return Vec::new();
    }
    let avail = (hi - lo) as i64;
    if offset >= avail {
        return Vec::new();
    }
    let take = if count < 0 { avail - offset } else { count.min(avail - offset) };
    if take <= 0 {
        return Vec::new();
    }
    let (offset, take) = (offset as usize, take as usize);
    if rev {
        let end = hi - 1 - offset;
        let start = end + 1 - take;
        let mut v = z.range(start, end);
        v.reverse();
        v
    } else {
        z.range(lo + offset, lo + offset + take - 1)
    }
}

/// Options shared by ZRANGE and ZRANGESTORE.
struct RangeArgs {
    range: Range,
    rev: bool,
    limit: Option<(i64, i64)>,
    withscores: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

fn parse_range(args: &[Bytes], min_at: usize, opts_from: usize, store: bool) -> CmdResult<RangeArgs> {
    let (mut by, mut rev, mut limit, mut withscores) = (By::Rank, false, None, false);
    let mut by_given = false;
    let mut j = opts_from;
    while j < args.len() {
        let a = &args[j];
        if is(a, "BYSCORE") && !by_given {
            by = By::Score;
            by_given = true;
        } else if is(a, "BYLEX") && !by_given {
            by = By::Lex;
            by_given = true;
        } else if is(a, "REV") && !rev {
            rev = true;
        } else if is(a, "WITHSCORES") && !store {
            withscores = true;
        } else if is(a, "LIMIT") && j + 2 < args.len() {
            limit = Some((int(&args[j + 1])?, int(&args[j + 2])?));
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    if limit.is_some() && by == By::Rank {
        return Err(CmdError::err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if withscores && by == By::Lex {
        return Err(CmdError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let (a, b) = (&args[min_at], &args[min_at + 1]);
    // With REV, score and lex ranges are given max first.
    let (min, max) = if rev && by != By::Rank { (b, a) } else { (a, b) };
    let range = match by {
        By::Rank => Range::Rank(int(a)?, int(b)?),
        By::Score => Range::Score(score_bound(min)?, score_bound(max)?),
        By::Lex => Range::Lex(lex_bound(min)?, lex_bound(max)?),
    };
    Ok(RangeArgs { range, rev, limit, withscores })
}

fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_range(args, 2, 4, false)?;
    let items = ctx.read_as(&args[1], Value::as_zset)?.map(|z| select(z, &r.range, r.rev, r.limit)).unwrap_or_default();
    Ok(with_scores(ctx, items, r.withscores))
}

fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_range(args, 3, 5, true)?;
    let items = ctx.read_as(&args[2], Value::as_zset)?.map(|z| select(z, &r.range, r.rev, r.limit)).unwrap_or_default();
    store_result(ctx, &args[1], items, Event::Zrangestore)
}

/// Stores `items` as the sorted set `dest` (deleting it when empty); replies with the count.
pub(super) fn store_result(ctx: &mut Ctx<'_>, dest: &[u8], items: Vec<(f64, Bytes)>, event: Event) -> CmdResult<Reply> {
    let n = items.len() as i64;
    if items.is_empty() {
        ctx.remove(dest);
        ctx.dirty += 1;
        return Ok(Reply::Int(0));
    }
    let limits = ctx.srv.zset_limits();
    let mut z = ZSetValue::default();
    for (s, m) in &items {
        z.insert(m, *s, limits);
    }
    ctx.set(dest, Value::ZSet(Box::new(z)), Ttl::Clear, event);
    Ok(Reply::Int(n))
}

/// The legacy range commands: ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX.
fn legacy_range(ctx: &mut Ctx<'_>, args: &[Bytes], by: By, rev: bool) -> CmdResult<Reply> {
    let (mut limit, mut withscores) = (None, false);
    let mut j = 4;
    while j < args.len() {
        if is(&args[j], "WITHSCORES") {
            if by == By::Lex {
                return Err(CmdError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
            }
            withscores = true;
            j += 1;
        } else if is(&args[j], "LIMIT") && j + 2 < args.len() {
            if by == By::Rank {
                return Err(CmdError::err(
                    "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
                ));
            }
            limit = Some((int(&args[j + 1])?, int(&args[j + 2])?));
            j += 3;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let (a, b) = (&args[2], &args[3]);
    let (min, max) = if rev && by != By::Rank { (b, a) } else { (a, b) };
    let range = match by {
        By::Rank => Range::Rank(int(a)?, int(b)?),
        By::Score => Range::Score(score_bound(min)?, score_bound(max)?),
        By::Lex => Range::Lex(lex_bound(min)?, lex_bound(max)?),
    };
    let items = ctx.read_as(&args[1], Value::as_zset)?.map(|z| select(z, &range, rev, limit)).unwrap_or_default();
    Ok(with_scores(ctx, items, withscores))
}

fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    legacy_range(ctx, args, By::Rank, true)
}
fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    legacy_range(ctx, args, By::Score, false)
}
fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    legacy_range(ctx, args, By::Score, true)
}
fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    legacy_range(ctx, args, By::Lex, false)
}
fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    legacy_range(ctx, args, By::Lex, true)
}

fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let range = Range::Score(score_bound(&args[2])?, score_bound(&args[3])?);
    let n = ctx.read_as(&args[1], Value::as_zset)?.map_or(0, |z| {
        let (lo, hi) = rank_interval(z, &range, false);
        hi - lo
    });
    Ok(Reply::Int(n as i64))
}

fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let range = Range::Lex(lex_bound(&args[2])?, lex_bound(&args[3])?);
    let n = ctx.read_as(&args[1], Value::as_zset)?.map_or(0, |z| {
        let (lo, hi) = rank_interval(z, &range, false);
        hi - lo
    });
    Ok(Reply::Int(n as i64))
}

fn zremrange(ctx: &mut Ctx<'_>, args: &[Bytes], by: By) -> CmdResult<Reply> {
    let range = match by {
        By::Rank => Range::Rank(int(&args[2])?, int(&args[3])?),
        By::Score => Range::Score(score_bound(&args[2])?, score_bound(&args[3])?),
        By::Lex => Range::Lex(lex_bound(&args[2])?, lex_bound(&args[3])?),
    };
    let Some(z) = ctx.write_as(&args[1], Value::as_zset_mut)? else { return Ok(Reply::Int(0)) };
    let doomed = select(z, &range, false, None);
    for (_, m) in &doomed {
        z.remove(m);
    }
    if !doomed.is_empty() {
        let event = match by {
            By::Rank => Event::Zremrangebyrank,
            By::Score => Event::Zremrangebyscore,
            By::Lex => Event::Zremrangebylex,
        };
        ctx.after_write(&args[1], event);
    }
    Ok(Reply::Int(doomed.len() as i64))
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, By::Rank)
}
fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, By::Score)
}
fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    zremrange(ctx, args, By::Lex)
}

/// Pops up to `count` lowest (or highest) members of `key`.
fn pop_members(ctx: &mut Ctx<'_>, key: &Bytes, min: bool, count: usize) -> CmdResult<Vec<(f64, Bytes)>> {
    let Some(z) = ctx.write_as(key, Value::as_zset_mut)? else { return Ok(Vec::new()) };
    let n = count.min(z.len());
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut items = if min { z.range(0, n - 1) } else { z.range(z.len() - n, z.len() - 1) };
    if !min {
        items.reverse();
    }
    for (_, m) in &items {
        z.remove(m);
    }
    ctx.after_write(key, if min { Event::Zpopmin } else { Event::Zpopmax });
    Ok(items)
}

fn zpop(ctx: &mut Ctx<'_>, args: &[Bytes], min: bool) -> CmdResult<Reply> {
    let count = match args.len() {
        2 => None,
        3 => match crate::util::num::parse_i64(&args[2]) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
        _ => return Err(error::SYNTAX),
    };
    let items = pop_members(ctx, &args[1], min, count.unwrap_or(1))?;
    if count.is_some() {
        Ok(with_scores(ctx, items, true))
    } else {
        Ok(Reply::Array(items.into_iter().flat_map(|(s, m)| [Reply::Bulk(m), Reply::Double(s)]).collect()))
    }
}

fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    zpop(ctx, args, true)
}
fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    zpop(ctx, args, false)
}

fn pairs_nested(items: Vec<(f64, Bytes)>) -> Reply {
    Reply::Array(items.into_iter().map(|(s, m)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect())
}

fn zmpop_first(ctx: &mut Ctx<'_>, keys: &[Bytes], min: bool, count: usize) -> CmdResult<Option<Reply>> {
    for k in keys {
        let items = pop_members(ctx, k, min, count)?;
        if !items.is_empty() {
            let cmd: &'static [u8] = if min { b"ZPOPMIN" } else { b"ZPOPMAX" };
            ctx.emit(vec![Bytes::from_static(cmd), k.clone(), Bytes::from(items.len().to_string())]);
            return Ok(Some(Reply::Array(vec![Reply::Bulk(k.clone()), pairs_nested(items)])));
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, min, count) = super::args::mpop(args, 1, "MIN", "MAX")?;
    Ok(zmpop_first(ctx, &keys, min, count)?.unwrap_or(Reply::NilArray))
}

fn block(ctx: &mut Ctx<'_>, keys: Vec<Bytes>, op: BlockedOp, timeout: Option<std::time::Duration>) -> Reply {
    if ctx.caller == Caller::Client {
        ctx.block = Some(BlockRequest { keys, op, serve: serve_blocked, timeout });
    }
    Reply::NilArray
}

fn bzpop(ctx: &mut Ctx<'_>, args: &[Bytes], min: bool) -> CmdResult<Reply> {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for k in keys {
        if let Some(r) = bzpop_one(ctx, k, min)? {
            return Ok(r);
        }
    }
    Ok(block(ctx, keys.to_vec(), BlockedOp::ZPop { min }, timeout))
}

fn bzpop_one(ctx: &mut Ctx<'_>, k: &Bytes, min: bool) -> CmdResult<Option<Reply>> {
    let items = pop_members(ctx, k, min, 1)?;
    let Some((s, m)) = items.into_iter().next() else { return Ok(None) };
    let cmd: &'static [u8] = if min { b"ZPOPMIN" } else { b"ZPOPMAX" };
    ctx.emit(vec![Bytes::from_static(cmd), k.clone()]);
    Ok(Some(Reply::Array(vec![Reply::Bulk(k.clone()), Reply::Bulk(m), Reply::Double(s)])))
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, true)
}
fn bzpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, args, false)
}

fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let timeout = parse_timeout(&args[1])?;
    let (keys, min, count) = super::args::mpop(args, 2, "MIN", "MAX")?;
    if let Some(r) = zmpop_first(ctx, &keys, min, count)? {
        return Ok(r);
    }
    Ok(block(ctx, keys, BlockedOp::ZMPop { min, count }, timeout))
}

/// Runs a blocked sorted-set client's pop on `key`, which just gained members.
pub fn serve_blocked(ctx: &mut Ctx<'_>, w: &Waiter, key: &Bytes) -> Option<Reply> {
    match &w.op {
        BlockedOp::ZPop { min } => bzpop_one(ctx, key, *min).ok()?,
        BlockedOp::ZMPop { min, count } => zmpop_first(ctx, std::slice::from_ref(key), *min, *count).ok()?,
        _ => None,
    }
}

fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use rand::seq::SliceRandom;
    use rand::Rng;
    let withscores = match args.len() {
        2 | 3 => false,
        4 if is(&args[3], "WITHSCORES") => true,
        _ => return Err(error::SYNTAX),
    };
    let count = args.get(2).map(|a| super::args::sample_count(a, withscores)).transpose()?;
    let mut rng = ctx.rng();
    let Some(z) = ctx.read_as(&args[1], Value::as_zset)? else {
        return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Nil });
    };
    let all: Vec<(f64, Bytes)> = z.entries().into_iter().map(|(m, s)| (s, m)).collect();
    let Some(count) = count else {
        return Ok(all.choose(&mut rng).map_or(Reply::Nil, |(_, m)| Reply::Bulk(m.clone())));
    };
    let picked: Vec<(f64, Bytes)> = if count < 0 {
        if all.is_empty() {
            Vec::new()
        } else {
            (0..count.unsigned_abs()).map(|_| all[rng.gen_range(0..all.len())].clone()).collect()
        }
    } else {
        let mut all = all;
        if (count as usize) < all.len() {
            all.shuffle(&mut rng);
            all.truncate(count as usize);
        }
        all
    };
    Ok(with_scores(ctx, picked, withscores))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn aggregate(a: f64, b: f64, agg: Agg) -> f64 {
    match agg {
        Agg::Sum => {
            let s = a + b;
            // inf + -inf is NaN; Redis stores 0 instead.
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Agg::Min => a.min(b),
        Agg::Max => a.max(b),
    }
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms. `at` is the index of numkeys; returns (members, withscores).
fn zsetop(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    at: usize,
    op: SetOp,
    store: bool,
    name: &str,
) -> CmdResult<(Vec<(f64, Bytes)>, bool)> {
    let n = int(&args[at])?;
    if n < 1 {
        return Err(CmdError::err(format!("at least 1 input key is needed for '{name}' command")));
    }
    let n = n as usize;
    if n > args.len() - at - 1 {
        return Err(error::SYNTAX);
    }
    let keys = &args[at + 1..at + 1 + n];
    let mut weights = vec![1.0; n];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut j = at + 1 + n;
    while j < args.len() {
        let a = &args[j];
        if is(a, "WEIGHTS") && op != SetOp::Diff && j + n < args.len() {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = crate::util::num::parse_f64(&args[j + 1 + i])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += n + 1;
        } else if is(a, "AGGREGATE") && op != SetOp::Diff && j + 1 < args.len() {
            let v = &args[j + 1];
            agg = if is(v, "SUM") {
                Agg::Sum
            } else if is(v, "MIN") {
                Agg::Min
            } else if is(v, "MAX") {
                Agg::Max
            } else {
                return Err(error::SYNTAX);
            };
            j += 2;
        } else if is(a, "WITHSCORES") && !store {
            withscores = true;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
    }
    // Inputs may be sorted sets or plain sets (members score 1).
    let mut inputs: Vec<Option<Vec<(Bytes, f64)>>> = Vec::with_capacity(n);
    for k in keys {
        let v = match ctx.read(k) {
            None => None,
            Some(e) => match &e.value {
                Value::ZSet(z) => Some(z.entries()),
                Value::Set(s) => Some(s.members().into_iter().map(|m| (m, 1.0)).collect()),
                _ => return Err(error::WRONGTYPE),
            },
        };
        inputs.push(v);
    }
    let mut acc: std::collections::HashMap<Bytes, f64> = std::collections::HashMap::new();
    match op {
        SetOp::Union => {
            for (input, w) in inputs.iter().zip(&weights) {
                for (m, s) in input.iter().flatten() {
                    let v = weighted(*s, *w);
                    acc.entry(m.clone()).and_modify(|cur| *cur = aggregate(*cur, v, agg)).or_insert(v);
                }
            }
        }
        SetOp::Inter => {
            if inputs.iter().all(|i| i.is_some()) {
                let maps: Vec<std::collections::HashMap<&Bytes, f64>> =
                    inputs.iter().flatten().map(|i| i.iter().map(|(m, s)| (m, *s)).collect()).collect();
                if let Some(first) = inputs.first().and_then(|i| i.as_ref()) {
                    'member: for (m, s) in first {
                        let mut v = weighted(*s, weights[0]);
                        for (idx, map) in maps.iter().enumerate().skip(1) {
                            match map.get(m) {
                                Some(s2) => v = aggregate(v, weighted(*s2, weights[idx]), agg),
                                None => continue 'member,
                            }
                        }
                        acc.insert(m.clone(), v);
                    }
                }
            }
        }
        SetOp::Diff => {
            if let Some(Some(first)) = inputs.first() {
                for (m, s) in first {
                    let elsewhere = inputs[1..].iter().flatten().any(|i| i.iter().any(|(x, _)| x == m));
                    if !elsewhere {
                        acc.insert(m.clone(), *s);
                    }
                }
            }
        }
    }
    let mut out: Vec<(f64, Bytes)> = acc.into_iter().map(|(m, s)| (s, m)).collect();
    out.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.1.cmp(&b.1)));
    Ok((out, withscores))
}

fn weighted(s: f64, w: f64) -> f64 {
    let v = s * w;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, ws) = zsetop(ctx, args, 1, SetOp::Union, false, "zunion")?;
    Ok(with_scores(ctx, items, ws))
}
fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, ws) = zsetop(ctx, args, 1, SetOp::Inter, false, "zinter")?;
    Ok(with_scores(ctx, items, ws))
}
fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, ws) = zsetop(ctx, args, 1, SetOp::Diff, false, "zdiff")?;
    Ok(with_scores(ctx, items, ws))
}
fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, _) = zsetop(ctx, args, 2, SetOp::Union, true, "zunionstore")?;
    store_result(ctx, &args[1], items, Event::Zunionstore)
}
fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, _) = zsetop(ctx, args, 2, SetOp::Inter, true, "zinterstore")?;
    store_result(ctx, &args[1], items, Event::Zinterstore)
}
fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (items, _) = zsetop(ctx, args, 2, SetOp::Diff, true, "zdiffstore")?;
    store_result(ctx, &args[1], items, Event::Zdiffstore)
}

fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    // Parsed like ZINTER's numkeys, unlike SINTERCARD.
    let n = int(&args[1])?;
    if n < 1 {
        return Err(CmdError::err("at least 1 input key is needed for 'zintercard' command"));
    }
    let n = n as usize;
    if n > args.len() - 2 {
        return Err(error::SYNTAX);
    }
    let keys = args[2..2 + n].to_vec();
    let mut limit = 0;
    let mut j = 2 + n;
    while j < args.len() {
        if is(&args[j], "LIMIT") && j + 1 < args.len() {
            limit = super::set::limit_arg(&args[j + 1])?;
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let mut inputs: Vec<Vec<Bytes>> = Vec::new();
    let mut missing = false;
    for k in &keys {
        match ctx.read(k) {
            None => missing = true,
            Some(e) => match &e.value {
                Value::ZSet(z) => inputs.push(z.entries().into_iter().map(|(m, _)| m).collect()),
                Value::Set(s) => inputs.push(s.members()),
                _ => return Err(error::WRONGTYPE),
            },
        }
    }
    if missing {
        return Ok(Reply::Int(0));
    }
    let sets: Vec<std::collections::HashSet<&Bytes>> = inputs.iter().map(|v| v.iter().collect()).collect();
    let mut n = 0;
    if let Some(first) = inputs.first() {
        for m in first {
            if sets[1..].iter().all(|s| s.contains(m)) {
                n += 1;
                if limit != 0 && n >= limit {
                    break;
                }
            }
        }
    }
    Ok(Reply::Int(n as i64))
}

fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let Some(z) = ctx.read_as(&args[1], Value::as_zset)? else { return Ok(container_scan(0, vec![])) };
    // The key is looked up before the options are parsed, as Redis does.
    let opts = ScanOpts::parse(args, 3)?;
    let (next, items) = match z.table() {
        None => (0, z.entries()),
        Some(d) => {
            let (next, slots) = opts.walk(d, cursor);
            (next, slots.into_iter().map(|s| (s.key.to_bytes(), s.val)).collect())
        }
    };
    let out = items
        .into_iter()
        .filter(|(m, _)| opts.matches(m))
        .flat_map(|(m, s)| [Reply::Bulk(m), Reply::bulk_string(crate::util::num::format_double(s))])
        .collect();
    Ok(container_scan(next, out))
}

const G: &str = "sorted-set";

/// The sorted-set family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WRITE | DENYOOM | FAST, Keys::one(1), zadd).key_flags(&["RW", "update"]).doc(G, "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "key [condition=NX | XX] [comparison=GT | LT] [CH] [INCR] score:double member [score:double member ...]").complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    spec("zincrby", 4, WRITE | DENYOOM | FAST, Keys::one(1), zincrby).doc(G, "1.2.0", "Increments the score of a member in a sorted set.", "key increment:double member").complexity("O(log(N)) where N is the number of elements in the sorted set."),
    spec("zrem", -3, WRITE | FAST, Keys::one(1), zrem).key_flags(&["RW", "delete"]).doc(G, "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "key member [member ...]").complexity("O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    spec("zcard", 2, READONLY | FAST, Keys::one(1), zcard).key_flags(&["RO"]).doc(G, "1.2.0", "Returns the number of members in a sorted set.", "key").complexity("O(1)"),
    spec("zscore", 3, READONLY | FAST, Keys::one(1), zscore).doc(G, "1.2.0", "Returns the score of a member in a sorted set.", "key member").complexity("O(1)"),
    spec("zmscore", -3, READONLY | FAST, Keys::one(1), zmscore).doc(G, "6.2.0", "Returns the score of one or more members in a sorted set.", "key member [member ...]").complexity("O(N) where N is the number of members being requested."),
    spec("zrank", 3, READONLY | FAST, Keys::one(1), zrank).doc(G, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", "key member").complexity("O(log(N))"),
    spec("zrevrank", 3, READONLY | FAST, Keys::one(1), zrevrank).doc(G, "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", "key member").complexity("O(log(N))"),
    spec("zcount", 4, READONLY | FAST, Keys::one(1), zcount).doc(G, "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", "key min:double max:double").complexity("O(log(N)) with N being the number of elements in the sorted set."),
    spec("zlexcount", 4, READONLY | FAST, Keys::one(1), zlexcount).doc(G, "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", "key min max").complexity("O(log(N)) with N being the number of elements in the sorted set."),
    spec("zrange", -4, READONLY, Keys::one(1), zrange).doc(G, "1.2.0", "Returns members in a sorted set within a range of indexes.", "key start stop:integer [sortby=BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    spec("zrangestore", -5, WRITE | DENYOOM, Keys::range(1, 2, 1), zrangestore).key_flags_each(&[&["OW", "update"], &["RO", "access"]]).doc(G, "6.2.0", "Stores a range of members from sorted set in a key.", "dst:key src:key min max [sortby=BYSCORE | BYLEX] [REV] [LIMIT offset count]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    spec("zrevrange", -4, READONLY, Keys::one(1), zrevrange).doc(G, "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", "key start stop:integer [WITHSCORES]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    spec("zrangebyscore", -4, READONLY, Keys::one(1), zrangebyscore).doc(G, "1.0.5", "Returns members in a sorted set within a range of scores.", "key min:double max:double [WITHSCORES] [LIMIT offset count]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    spec("zrevrangebyscore", -4, READONLY, Keys::one(1), zrevrangebyscore).doc(G, "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", "key max:double min:double [WITHSCORES] [LIMIT offset count]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    spec("zrangebylex", -4, READONLY, Keys::one(1), zrangebylex).doc(G, "2.8.9", "Returns members in a sorted set within a lexicographical range.", "key min max [LIMIT offset count]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    spec("zrevrangebylex", -4, READONLY, Keys::one(1), zrevrangebylex).doc(G, "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", "key max min [LIMIT offset count]").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    spec("zremrangebyrank", 4, WRITE, Keys::one(1), zremrangebyrank).key_flags(&["RW", "delete"]).doc(G, "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "key start stop:integer").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    spec("zremrangebyscore", 4, WRITE, Keys::one(1), zremrangebyscore).key_flags(&["RW", "delete"]).doc(G, "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "key min:double max:double").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    spec("zremrangebylex", 4, WRITE, Keys::one(1), zremrangebylex).key_flags(&["RW", "delete"]).doc(G, "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "key min max").complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    spec("zpopmin", -2, WRITE | FAST, Keys::one(1), zpopmin).key_flags(&["RW", "access", "delete"]).doc(G, "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "key [count]").complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    spec("zpopmax", -2, WRITE | FAST, Keys::one(1), zpopmax).key_flags(&["RW", "access", "delete"]).doc(G, "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "key [count]").complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    spec("zmpop", -4, WRITE, Keys::NumKeys { at: 1, step: 1 }, zmpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "numkeys key [key ...] <where=MIN | MAX> [COUNT count]").complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    spec("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, Keys::range(1, -2, 1), bzpopmin).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "key [key ...] timeout:double").complexity("O(log(N)) with N being the number of elements in the sorted set."),
    spec("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, Keys::range(1, -2, 1), bzpopmax).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "key [key ...] timeout:double").complexity("O(log(N)) with N being the number of elements in the sorted set."),
    spec("bzmpop", -5, WRITE | BLOCKING, Keys::NumKeys { at: 2, step: 1 }, bzmpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "timeout:double numkeys key [key ...] <where=MIN | MAX> [COUNT count]").complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    spec("zrandmember", -2, READONLY, Keys::one(1), zrandmember).tips(&["nondeterministic_output"]).doc(G, "6.2.0", "Returns one or more random members from a sorted set.", "key [options=count:integer [WITHSCORES]]").complexity("O(N) where N is the number of members returned"),
    spec("zunion", -3, READONLY, Keys::NumKeys { at: 1, step: 1 }, zunion).doc(G, "6.2.0", "Returns the union of multiple sorted sets.", "numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]").complexity("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    spec("zunionstore", -4, WRITE | DENYOOM, Keys::DestNumKeys { at: 2 }, zunionstore).doc(G, "2.0.0", "Stores the union of multiple sorted sets in a key.", "destination numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE SUM | MIN | MAX]").complexity("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    spec("zinter", -3, READONLY, Keys::NumKeys { at: 1, step: 1 }, zinter).doc(G, "6.2.0", "Returns the intersect of multiple sorted sets.", "numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]").complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    spec("zinterstore", -4, WRITE | DENYOOM, Keys::DestNumKeys { at: 2 }, zinterstore).doc(G, "2.0.0", "Stores the intersect of multiple sorted sets in a key.", "destination numkeys key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE SUM | MIN | MAX]").complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    spec("zintercard", -3, READONLY, Keys::NumKeys { at: 1, step: 1 }, zintercard).doc(G, "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", "numkeys key [key ...] [LIMIT limit:integer]").complexity("O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    spec("zdiff", -3, READONLY, Keys::NumKeys { at: 1, step: 1 }, zdiff).doc(G, "6.2.0", "Returns the difference between multiple sorted sets.", "numkeys key [key ...] [WITHSCORES]").complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    spec("zdiffstore", -4, WRITE | DENYOOM, Keys::DestNumKeys { at: 2 }, zdiffstore).doc(G, "6.2.0", "Stores the difference of multiple sorted sets in a key.", "destination numkeys key [key ...]").complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    spec("zscan", -3, READONLY, Keys::one(1), zscan).tips(&["nondeterministic_output"]).doc(G, "2.8.0", "Iterates over members and scores of a sorted set.", "key cursor:integer [MATCH pattern] [COUNT count]").complexity("O(1) for every call. O(N) for a complete iteration."),
];
