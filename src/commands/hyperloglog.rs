//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE. The estimator and the byte format (identical to Redis's) live
//! in `store::types::hll`; an HLL is an ordinary string value.

use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::hll::{self, HllError};
use crate::store::{StrValue, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn hll_err(e: HllError) -> CmdError {
    CmdError::fixed(e.message())
}

fn sparse_max(ctx: &Ctx<'_>) -> usize {
    ctx.srv.hot.hll_sparse_max.load(Ordering::Relaxed)
}

/// Stores HLL bytes back under `key`, keeping its TTL.
fn store(ctx: &mut Ctx<'_>, key: &[u8], v: Vec<u8>, event: Event) {
    ctx.set(key, Value::Str(StrValue::raw(v)), Ttl::Keep, event);
}

fn pfadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let elements: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let sparse_max = sparse_max(ctx);
    let result = ctx.modify_str(key, Event::Pfadd, |v, existed| {
        if existed {
            if let Err(e) = hll::is_valid(v) {
                return Ok((Err(e), false));
            }
        } else {
            *v = hll::pfadd(None, &[], sparse_max).0;
        }
        // Earlier elements' changes stay when a later one meets a corrupt value, as in Redis; the command is then
        // reported as a write so its effect (which fails the same way) carries those changes to replicas.
        let mut changed = !existed;
        for e in &elements {
            match hll::add(v, e, sparse_max) {
                Ok(c) => changed |= c,
                Err(err) => return Ok((Err(err), changed)),
            }
        }
        Ok((Ok(changed), changed))
    })?;
    result.map(|changed| Reply::Int(changed as i64)).map_err(hll_err)
}

fn pfcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() == 2 {
        let Some(cur) = ctx.read_str(&args[1])? else { return Ok(Reply::Int(0)) };
        let mut v = cur.into_vec();
        let before = v.clone();
        let n = hll::count(&mut v).map_err(hll_err)?;
        if v != before {
            // The cached cardinality was refreshed: a write, as in Redis, which propagates the PFCOUNT itself
            // (replayed, it refreshes the same cache) and, unlike PFADD, publishes no keyspace event.
            ctx.set_without_event(&args[1], Value::Str(StrValue::raw(v)), Ttl::Keep);
            ctx.emit(vec![Bytes::from_static(b"PFCOUNT"), args[1].clone()]);
        }
        return Ok(Reply::Int(n as i64));
    }
    let mut values = Vec::new();
    for k in &args[1..] {
        if let Some(v) = ctx.read_str(k)? {
            let b = v.to_bytes();
            hll::is_valid(&b).map_err(hll_err)?;
            values.push(b);
        }
    }
    let refs: Vec<&[u8]> = values.iter().map(|b| &b[..]).collect();
    Ok(Reply::Int(hll::count_union(&refs).map_err(hll_err)? as i64))
}

fn pfmerge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let dest = ctx.read_str(&args[1])?.map(StrValue::into_bytes);
    let mut srcs = Vec::new();
    for k in &args[2..] {
        if let Some(v) = ctx.read_str(k)? {
            srcs.push(v.to_bytes());
        }
    }
    let refs: Vec<&[u8]> = srcs.iter().map(|b| &b[..]).collect();
    let merged = hll::merge_with_limit(dest.as_deref(), &refs, sparse_max(ctx)).map_err(hll_err)?;
    store(ctx, &args[1], merged, Event::Pfadd);
    Ok(Reply::OK)
}

const G: &str = "hyperloglog";

/// The HyperLogLog family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("pfadd", -2, WRITE | DENYOOM | FAST, Keys::one(1), pfadd).key_flags(&["RW", "insert"]).doc(G, "2.8.9", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", "key [element [element ...]]").complexity("O(1) to add every element."),
    spec("pfcount", -2, READONLY | MAY_REPLICATE, Keys::range(1, -1, 1), pfcount).rewritten().key_flags(&["RW", "access"]).key_notes("RW because it may change the internal representation of the key, and propagate to replicas").doc(G, "2.8.9", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", "key [key ...]").complexity("O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys."),
    spec("pfmerge", -2, WRITE | DENYOOM, Keys::range(1, -1, 1), pfmerge).key_flags_each(&[&["RW", "access", "insert"], &["RO", "access"]]).doc(G, "2.8.9", "Merges one or more HyperLogLog values into a single key.", "destkey:key [sourcekey:key [sourcekey:key ...]]").complexity("O(N) to merge N HyperLogLogs, but with high constant times."),
];
