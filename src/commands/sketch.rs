//! Sketch commands with RedisBloom's shapes, replies and error texts, so code written for RedisBloom works:
//! TOPK.* (HeavyKeeper top-k) and CMS.* (count-min sketch). The structures live in `store::types::{topk, cms}`;
//! both are deterministic (TopK's decay draws come from a state inside the sketch), so the commands replicate
//! verbatim, as RedisBloom replicates them.

use super::args::{float, int, is};
use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::cms::{self, Cms, MergeSource};
use crate::store::types::ext::{cms as cms_of, cms_mut, topk, topk_mut};
use crate::store::types::topk::{self, TopK};
use crate::store::types::ExtValue;
use crate::store::Value;
use bytes::Bytes;

/// Largest sketch tables accepted, so a value always fits a snapshot record (`ext::MAX_ENCODED`) and one ADD
/// stays cheap: 4M HeavyKeeper buckets, 32M count-min cells (128 MiB).
const MAX_TOPK_BUCKETS: u64 = 4 << 20;
const MAX_CMS_CELLS: u64 = 32 << 20;

/// RedisBloom's own errors go out as their text with no `ERR` code in front (`-TopK: key does not exist`), as a
/// module's `RedisModule_ReplyWithError` sends them.
fn rb(text: &'static str) -> CmdError {
    CmdError::fixed(text)
}

/// A dimension argument: RedisBloom's "invalid" text for anything but a positive integer.
fn dim(a: &[u8], err: &'static str) -> CmdResult<u64> {
    match int(a) {
        Ok(n) if n >= 1 => Ok(n as u64),
        _ => Err(rb(err)),
    }
}

fn items_reply(expelled: Vec<Option<Vec<u8>>>) -> Reply {
    Reply::Array(expelled.into_iter().map(|e| e.map_or(Reply::Nil, |b| Reply::Bulk(Bytes::from(b)))).collect())
}

/// TOPK.RESERVE key topk [width depth decay]
fn topk_reserve(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() != 3 && args.len() != 6 {
        return Err(CmdError::arity("topk.reserve"));
    }
    if ctx.peek(&args[1]).is_some() {
        return Err(rb(topk::ERR_KEY_EXISTS));
    }
    let k = dim(&args[2], topk::ERR_INVALID_K)?;
    let t = if args.len() == 6 {
        let width = dim(&args[3], topk::ERR_INVALID_WIDTH)?;
        let depth = dim(&args[4], topk::ERR_INVALID_DEPTH)?;
        let decay = float(&args[5]).map_err(|_| rb(topk::ERR_INVALID_DECAY))?;
        if width.saturating_mul(depth) > MAX_TOPK_BUCKETS || k > MAX_TOPK_BUCKETS {
            return Err(rb(topk::ERR_NO_MEMORY));
        }
        TopK::new(k, width, depth, decay)
    } else {
        TopK::with_defaults(k)
    }
    .map_err(rb)?;
    ctx.set(&args[1], Value::Ext(Box::new(ExtValue::TopK(t))), Ttl::Clear, Event::TopkReserve);
    Ok(Reply::OK)
}

/// TOPK.ADD key item [item ...]
fn topk_add(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(t) = ctx.write_as(&args[1], topk_mut)? else { return Err(rb(topk::ERR_NO_KEY)) };
    let expelled: Vec<_> = args[2..].iter().map(|item| t.add(item, 1)).collect();
    ctx.after_write(&args[1], Event::TopkAdd);
    Ok(items_reply(expelled))
}

/// TOPK.INCRBY key item increment [item increment ...]. An invalid increment ends the reply with its error
/// (RedisBloom stops there too, but announces the full length first).
fn topk_incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() < 4 || args.len() % 2 == 1 {
        return Err(CmdError::arity("topk.incrby"));
    }
    let Some(t) = ctx.write_as(&args[1], topk_mut)? else { return Err(rb(topk::ERR_NO_KEY)) };
    let mut out = Vec::with_capacity((args.len() - 2) / 2);
    for pair in args[2..].chunks_exact(2) {
        match int(&pair[1]) {
            Ok(n) if (0..=topk::MAX_INCR as i64).contains(&n) => {
                out.push(t.add(&pair[0], n as u64).map_or(Reply::Nil, |b| Reply::Bulk(Bytes::from(b))));
            }
            _ => {
                out.push(Reply::Error(topk::ERR_INCREMENT.to_string()));
                break;
            }
        }
    }
    ctx.after_write(&args[1], Event::TopkAdd);
    Ok(Reply::Array(out))
}

/// TOPK.QUERY key item [item ...]: booleans (integers in RESP2).
fn topk_query(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(t) = ctx.read_as(&args[1], topk)? else { return Err(rb(topk::ERR_NO_KEY)) };
    Ok(Reply::Array(args[2..].iter().map(|i| Reply::Bool(t.query(i))).collect()))
}

/// TOPK.COUNT key item [item ...]
fn topk_count(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(t) = ctx.read_as(&args[1], topk)? else { return Err(rb(topk::ERR_NO_KEY)) };
    Ok(Reply::Array(args[2..].iter().map(|i| Reply::Int(t.count(i) as i64)).collect()))
}

/// TOPK.LIST key [WITHCOUNT]: any case-insensitive prefix of WITHCOUNT is the word, as in RedisBloom.
fn topk_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(CmdError::arity("topk.list"));
    }
    let with_count = match args.get(2) {
        None => false,
        Some(a) if a.len() <= 9 && b"WITHCOUNT"[..a.len()].eq_ignore_ascii_case(a) => true,
        Some(_) => return Err(rb(topk::ERR_WITHCOUNT)),
    };
    let Some(t) = ctx.read_as(&args[1], topk)? else { return Err(rb(topk::ERR_NO_KEY)) };
    let mut out = Vec::new();
    for (item, n) in t.list() {
        out.push(Reply::Bulk(Bytes::from(item)));
        if with_count {
            out.push(Reply::Int(n as i64));
        }
    }
    Ok(Reply::Array(out))
}

/// TOPK.INFO key
fn topk_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(t) = ctx.read_as(&args[1], topk)? else { return Err(rb(topk::ERR_NO_KEY)) };
    Ok(Reply::Map(vec![
        (Reply::Simple("k"), Reply::Int(t.k() as i64)),
        (Reply::Simple("width"), Reply::Int(t.width() as i64)),
        (Reply::Simple("depth"), Reply::Int(t.depth() as i64)),
        (Reply::Simple("decay"), Reply::Double(t.decay())),
    ]))
}

fn cms_create(ctx: &mut Ctx<'_>, key: &[u8], c: Cms) -> CmdResult<Reply> {
    if c.width().saturating_mul(c.depth()) > MAX_CMS_CELLS {
        return Err(rb(cms::ERR_NO_MEMORY));
    }
    ctx.set(key, Value::Ext(Box::new(ExtValue::Cms(c))), Ttl::Clear, Event::CmsInit);
    Ok(Reply::OK)
}

/// CMS.INITBYDIM key width depth
fn cms_initbydim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.peek(&args[1]).is_some() {
        return Err(rb(cms::ERR_KEY_EXISTS));
    }
    let width = dim(&args[2], cms::ERR_INVALID_WIDTH)?;
    let depth = dim(&args[3], cms::ERR_INVALID_DEPTH)?;
    if width.checked_mul(depth).is_none_or(|cells| cells > i64::MAX as u64) {
        return Err(rb(cms::ERR_INVALID_INIT));
    }
    if width.saturating_mul(depth) > MAX_CMS_CELLS {
        return Err(rb(cms::ERR_NO_MEMORY));
    }
    let c = Cms::new_by_dim(width, depth).map_err(rb)?;
    cms_create(ctx, &args[1], c)
}

/// CMS.INITBYPROB key error probability
fn cms_initbyprob(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.peek(&args[1]).is_some() {
        return Err(rb(cms::ERR_KEY_EXISTS));
    }
    let error = float(&args[2]).map_err(|_| rb(cms::ERR_INVALID_OVERESTIMATION))?;
    if !(error > 0.0 && error < 1.0) {
        return Err(rb(cms::ERR_INVALID_OVERESTIMATION));
    }
    let prob = float(&args[3]).map_err(|_| rb(cms::ERR_INVALID_PROB))?;
    if !(prob > 0.0 && prob < 1.0) {
        return Err(rb(cms::ERR_INVALID_PROB));
    }
    let (width, depth) = cms::dims_from_prob(error, prob);
    if width.saturating_mul(depth) > MAX_CMS_CELLS {
        return Err(rb(cms::ERR_NO_MEMORY));
    }
    let c = Cms::new_by_prob(error, prob).map_err(rb)?;
    cms_create(ctx, &args[1], c)
}

/// CMS.INCRBY key item increment [item increment ...]: every increment is parsed before any is applied.
fn cms_incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() < 4 || args.len() % 2 == 1 {
        return Err(CmdError::arity("cms.incrby"));
    }
    let Some(c) = ctx.write_as(&args[1], cms_mut)? else { return Err(rb(cms::ERR_NO_KEY)) };
    let mut incs = Vec::with_capacity((args.len() - 2) / 2);
    for pair in args[2..].chunks_exact(2) {
        let n = crate::util::num::parse_i64(&pair[1]).ok_or(rb(cms::ERR_PARSE_NUMBER))?;
        if n == i64::MIN {
            return Err(rb(cms::ERR_INVALID_INCREMENT));
        }
        incs.push((&pair[0], n));
    }
    let out: Vec<Reply> = incs
        .into_iter()
        .map(|(item, n)| match c.incr_by(item, n) {
            Ok(v) => Reply::Int(v as i64),
            Err(e) => Reply::Error(e.to_string()),
        })
        .collect();
    ctx.after_write(&args[1], Event::CmsIncrby);
    Ok(Reply::Array(out))
}

/// CMS.QUERY key item [item ...]
fn cms_query(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = ctx.read_as(&args[1], cms_of)? else { return Err(rb(cms::ERR_NO_KEY)) };
    Ok(Reply::Array(args[2..].iter().map(|i| Reply::Int(c.query(i) as i64)).collect()))
}

/// CMS.MERGE destination numKeys source [source ...] [WEIGHTS weight [weight ...]], in RedisBloom's check order.
fn cms_merge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = &args[1];
    if ctx.read_as(dest, cms_of)?.is_none() {
        return Err(rb(cms::ERR_NO_KEY));
    }
    let n = int(&args[2]).map_err(|_| rb(cms::ERR_INVALID_NUMKEYS))?;
    if n <= 0 {
        return Err(rb(cms::ERR_NUMKEYS_NOT_POSITIVE));
    }
    let n = n as usize;
    let rest = &args[3..];
    let weights_at = rest.iter().position(|a| is(a, "WEIGHTS"));
    let (sources, weights) = match weights_at {
        None if rest.len() != n => return Err(rb(cms::ERR_WRONG_NUM_KEYS)),
        None => (rest, None),
        Some(at) if at != n || rest.len() != 1 + 2 * n => return Err(rb(cms::ERR_WRONG_NUM_KEYS_WEIGHTS)),
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
    };
    // Sources are copied out (other shards' values cannot be borrowed while the destination is open); the
    // destination as a source is read in place.
    let mut plan: Vec<(Option<Cms>, i64)> = Vec::with_capacity(n);
    let (dw, dd) = ctx.read_as(dest, cms_of)?.map(|c| (c.width(), c.depth())).unwrap_or_default();
    for (i, src) in sources.iter().enumerate() {
        let w = match weights {
            Some(ws) => int(&ws[i]).map_err(|_| rb(cms::ERR_INVALID_WEIGHT))?,
            None => 1,
        };
        if src == dest {
            plan.push((None, w));
            continue;
        }
        let Some(c) = ctx.read_as(src, cms_of)? else { return Err(rb(cms::ERR_NO_KEY)) };
        if c.width() != dw || c.depth() != dd {
            return Err(rb(cms::ERR_DIMENSIONS));
        }
        plan.push((Some(c.clone()), w));
    }
    let Some(d) = ctx.write_as(dest, cms_mut)? else { return Err(rb(cms::ERR_NO_KEY)) };
    let merged: Vec<(MergeSource<'_>, i64)> =
        plan.iter().map(|(c, w)| (c.as_ref().map_or(MergeSource::Dest, MergeSource::Other), *w)).collect();
    d.merge_sources(&merged).map_err(rb)?;
    ctx.after_write(dest, Event::CmsMerge);
    Ok(Reply::OK)
}

/// CMS.INFO key
fn cms_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(c) = ctx.read_as(&args[1], cms_of)? else { return Err(rb(cms::ERR_NO_KEY)) };
    Ok(Reply::Map(vec![
        (Reply::Simple("width"), Reply::Int(c.width() as i64)),
        (Reply::Simple("depth"), Reply::Int(c.depth() as i64)),
        (Reply::Simple("count"), Reply::Int(c.count() as i64)),
        (Reply::Simple("cell size"), Reply::Int(cms::CELL_SIZE as i64)),
    ]))
}

const G: &str = "module";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("topk.reserve", -3, WRITE | DENYOOM, Keys::one(1), topk_reserve).doc(G, "2.0.0", "Initializes a Top-K sketch with the given parameters (RedisBloom's TOPK.RESERVE).", "key topk [width depth decay]").complexity("O(1)"),
    spec("topk.add", -3, WRITE | DENYOOM, Keys::one(1), topk_add).doc(G, "2.0.0", "Adds items to a Top-K sketch; returns the items each one expelled from the list.", "key items [items ...]").complexity("O(n * k) where n is the number of items and k the depth"),
    spec("topk.incrby", -4, WRITE | DENYOOM, Keys::one(1), topk_incrby).doc(G, "2.0.0", "Increases the score of items in a Top-K sketch by the given increments.", "key item increment [item increment ...]").complexity("O(n * k * incr)"),
    spec("topk.query", -3, READONLY, Keys::one(1), topk_query).doc(G, "2.0.0", "Checks whether items are in a Top-K list.", "key item [item ...]").complexity("O(n)"),
    spec("topk.count", -3, READONLY, Keys::one(1), topk_count).doc(G, "2.0.0", "Returns the count estimate of items in a Top-K sketch.", "key item [item ...]").complexity("O(n)"),
    spec("topk.list", -2, READONLY, Keys::one(1), topk_list).doc(G, "2.0.0", "Returns the items of a Top-K list, optionally with their counts.", "key [WITHCOUNT]").complexity("O(k*log(k))"),
    spec("topk.info", 2, READONLY, Keys::one(1), topk_info).doc(G, "2.0.0", "Returns the parameters of a Top-K sketch.", "key").complexity("O(1)"),
    spec("cms.initbydim", 4, WRITE | DENYOOM, Keys::one(1), cms_initbydim).doc(G, "2.0.0", "Initializes a Count-Min Sketch to the given dimensions.", "key width depth").complexity("O(1)"),
    spec("cms.initbyprob", 4, WRITE | DENYOOM, Keys::one(1), cms_initbyprob).doc(G, "2.0.0", "Initializes a Count-Min Sketch for an error rate and probability.", "key error probability").complexity("O(1)"),
    spec("cms.incrby", -4, WRITE | DENYOOM, Keys::one(1), cms_incrby).doc(G, "2.0.0", "Increases the counts of items in a Count-Min Sketch.", "key item increment [item increment ...]").complexity("O(n) where n is the number of items"),
    spec("cms.query", -3, READONLY, Keys::one(1), cms_query).doc(G, "2.0.0", "Returns the count estimates of items in a Count-Min Sketch.", "key item [item ...]").complexity("O(n) where n is the number of items"),
    spec("cms.merge", -4, WRITE | DENYOOM, Keys::DestNumKeys { at: 2 }, cms_merge).doc(G, "2.0.0", "Merges Count-Min Sketches into the destination, with optional weights.", "destination numKeys source [source ...] [WEIGHTS weight [weight ...]]").complexity("O(n) where n is the number of sketches"),
    spec("cms.info", 2, READONLY, Keys::one(1), cms_info).doc(G, "2.0.0", "Returns the width, depth and total count of a Count-Min Sketch.", "key").complexity("O(1)"),
];
