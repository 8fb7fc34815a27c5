//! Set commands: SADD, SREM, SPOP, SRANDMEMBER, SMOVE, the algebra (SINTER, SUNION, SDIFF and their STORE and
//! CARD forms) and SSCAN.

use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::keyspace::{container_scan, parse_cursor, ScanOpts};
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::SetValue;
use crate::store::Value;
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn max_ints(ctx: &Ctx<'_>) -> usize {
    ctx.srv.hot.set_max_intset.load(Ordering::Relaxed)
}

fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let limit = max_ints(ctx);
    let key = &args[1];
    let first = args[2].clone();
    let s = ctx.write_or_create(key, Value::as_set_mut, || Value::Set(Box::default()))?;
    if s.is_empty() {
        *s = SetValue::for_member(&first);
    }
    let n = args[2..].iter().filter(|m| s.add(m, limit)).count() as i64;
    if n > 0 {
        ctx.after_write(key, Event::Sadd);
    } else {
        ctx.after_write_quiet(key);
    }
    Ok(Reply::Int(n))
}

fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(s) = ctx.write_as(&args[1], Value::as_set_mut)? else { return Ok(Reply::Int(0)) };
    let n = args[2..].iter().filter(|m| s.remove(m)).count() as i64;
    if n > 0 {
        ctx.after_write(&args[1], Event::Srem);
    }
    Ok(Reply::Int(n))
}

fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let m = ctx.read_as(&args[1], Value::as_set)?.map(|s| s.members()).unwrap_or_default();
    Ok(Reply::Set(m.into_iter().map(Reply::Bulk).collect()))
}

fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_set)?.is_some_and(|s| s.contains(&args[2])) as i64))
}

fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let s = ctx.read_as(&args[1], Value::as_set)?;
    Ok(Reply::Array(args[2..].iter().map(|m| Reply::Int(s.is_some_and(|s| s.contains(m)) as i64)).collect()))
}

fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_set)?.map_or(0, |s| s.len() as i64)))
}

fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let count = match args.len() {
        2 => None,
        3 => match crate::util::num::parse_i64(&args[2]) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
        _ => return Err(error::SYNTAX),
    };
    let mut rng = ctx.rng();
    let key = args[1].clone();
    let Some(s) = ctx.write_as(&key, Value::as_set_mut)? else {
        return Ok(if count.is_some() { Reply::Set(vec![]) } else { Reply::Nil });
    };
    let want = count.unwrap_or(1).min(s.len());
    let mut popped = Vec::with_capacity(want);
    for _ in 0..want {
        let Some(m) = s.random(&mut rng) else { break };
        s.remove(&m);
        popped.push(m);
    }
    if popped.is_empty() {
        return Ok(if count.is_some() { Reply::Set(vec![]) } else { Reply::Nil });
    }
    ctx.after_write(&key, Event::Spop);
    if count.is_some() && ctx.peek(&key).is_none() {
        // SPOP with a count that took the whole set: Redis propagates it as a DEL.
        ctx.emit(vec![Bytes::from_static(b"DEL"), key]);
    } else {
        // Replayed as the deterministic SREM of what was popped.
        let mut effect = vec![Bytes::from_static(b"SREM"), key];
        effect.extend(popped.iter().cloned());
        ctx.emit(effect);
    }
    Ok(match count {
        None => Reply::Bulk(popped.remove(0)),
        Some(_) => Reply::Set(popped.into_iter().map(Reply::Bulk).collect()),
    })
}

fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use rand::seq::SliceRandom;
    let count = match args.len() {
        2 => None,
        3 => Some(super::args::sample_count(&args[2], false)?),
        _ => return Err(error::SYNTAX),
    };
    let mut rng = ctx.rng();
    let Some(s) = ctx.read_as(&args[1], Value::as_set)? else {
        return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Nil });
    };
    let Some(count) = count else { return Ok(s.random(&mut rng).map_or(Reply::Nil, Reply::Bulk)) };
    let picked: Vec<Bytes> = if count < 0 {
        (0..count.unsigned_abs()).filter_map(|_| s.random(&mut rng)).collect()
    } else {
        let mut all = s.members();
        if (count as usize) < all.len() {
            all.shuffle(&mut rng);
            all.truncate(count as usize);
        }
        all
    };
    Ok(Reply::Array(picked.into_iter().map(Reply::Bulk).collect()))
}

fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    let src_has = match ctx.lookup_write_as(src, Value::as_set)? {
        None => return Ok(Reply::Int(0)),
        Some(s) => s.contains(m),
    };
    let dst_has = ctx.lookup_write_as(dst, Value::as_set)?.is_some_and(|d| d.contains(m));
    if !src_has {
        return Ok(Reply::Int(0));
    }
    if src == dst {
        return Ok(Reply::Int(1));
    }
    if let Some(s) = ctx.write_as(src, Value::as_set_mut)? {
        s.remove(m);
    }
    ctx.after_write(src, Event::Srem);
    if dst_has {
        // The destination does not change: no `sadd`, and WATCH and tracking do not see it, as in Redis.
        return Ok(Reply::Int(1));
    }
    let limit = max_ints(ctx);
    let d = ctx.write_or_create(dst, Value::as_set_mut, || Value::Set(Box::default()))?;
    if d.is_empty() {
        *d = SetValue::for_member(m);
    }
    d.add(m, limit);
    ctx.after_write(dst, Event::Sadd);
    Ok(Reply::Int(1))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Reads the sets named by `keys` (missing keys are empty sets). WRONGTYPE for any non-set.
fn load_sets(ctx: &mut Ctx<'_>, keys: &[Bytes]) -> CmdResult<Vec<Option<SetValue>>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(ctx.read_as(k, Value::as_set)?.cloned());
    }
    Ok(out)
}

fn algebra(sets: &[Option<SetValue>], op: Op, limit: usize) -> Vec<Bytes> {
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.as_ref().is_none_or(|s| s.is_empty())) {
                return Vec::new();
            }
            let mut order: Vec<&SetValue> = sets.iter().flatten().collect();
            order.sort_by_key(|s| s.len());
            let mut out = Vec::new();
            for m in order[0].members() {
                if order[1..].iter().all(|s| s.contains(&m)) {
                    out.push(m);
                    if limit != 0 && out.len() >= limit {
                        break;
                    }
                }
            }
            out
        }
        Op::Union => {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for s in sets.iter().flatten() {
                for m in s.members() {
                    if seen.insert(m.clone()) {
                        out.push(m);
                    }
                }
            }
            out
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else { return Vec::new() };
            first.members().into_iter().filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(m))).collect()
        }
    }
}

fn set_read(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op) -> CmdResult<Reply> {
    let sets = load_sets(ctx, &args[1..])?;
    Ok(Reply::Set(algebra(&sets, op, 0).into_iter().map(Reply::Bulk).collect()))
}

fn set_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op) -> CmdResult<Reply> {
    let sets = load_sets(ctx, &args[2..])?;
    let members = algebra(&sets, op, 0);
    let dest = &args[1];
    let n = members.len() as i64;
    if members.is_empty() {
        ctx.remove(dest);
        ctx.dirty += 1;
        return Ok(Reply::Int(0));
    }
    let limit = max_ints(ctx);
    let mut s = SetValue::for_member(&members[0]);
    for m in &members {
        s.add(m, limit);
    }
    let event = match op {
        Op::Inter => Event::Sinterstore,
        Op::Union => Event::Sunionstore,
        Op::Diff => Event::Sdiffstore,
    };
    ctx.set(dest, Value::Set(Box::new(s)), Ttl::Clear, event);
    Ok(Reply::Int(n))
}

fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_read(ctx, args, Op::Inter)
}
fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_read(ctx, args, Op::Union)
}
fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_read(ctx, args, Op::Diff)
}
fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_store(ctx, args, Op::Inter)
}
fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_store(ctx, args, Op::Union)
}
fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    set_store(ctx, args, Op::Diff)
}

/// Parses `numkeys key... [LIMIT n]` as SINTERCARD and ZINTERCARD take it; returns (keys, limit).
///
/// # Errors
/// Redis's numkeys and LIMIT errors.
pub fn numkeys_with_limit(args: &[Bytes]) -> CmdResult<(Vec<Bytes>, usize)> {
    let n = crate::util::num::parse_i64(&args[1]).unwrap_or(0);
    if n <= 0 {
        return Err(CmdError::err("numkeys should be greater than 0"));
    }
    let n = n as usize;
    if n > args.len() - 2 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let keys = args[2..2 + n].to_vec();
    let mut limit = 0;
    let mut j = 2 + n;
    while j < args.len() {
        if super::args::is(&args[j], "LIMIT") && j + 1 < args.len() {
            limit = limit_arg(&args[j + 1])?;
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    Ok((keys, limit))
}

/// The LIMIT of SINTERCARD / ZINTERCARD.
///
/// # Errors
/// `ERR LIMIT can't be negative` for negative or non-integer values.
pub fn limit_arg(a: &[u8]) -> CmdResult<usize> {
    match crate::util::num::parse_i64(a) {
        Some(l) if l >= 0 => Ok(l as usize),
        _ => Err(CmdError::err("LIMIT can't be negative")),
    }
}

fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, limit) = numkeys_with_limit(args)?;
    let sets = load_sets(ctx, &keys)?;
    Ok(Reply::Int(algebra(&sets, Op::Inter, limit).len() as i64))
}

fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let Some(s) = ctx.read_as(&args[1], Value::as_set)? else { return Ok(container_scan(0, vec![])) };
    // The key is looked up before the options are parsed, as Redis does.
    let opts = ScanOpts::parse(args, 3)?;
    let (next, items) = match s.table() {
        None => (0, s.members()),
        Some(d) => {
            let (next, slots) = opts.walk(d, cursor);
            (next, slots.into_iter().map(|s| s.key.to_bytes()).collect())
        }
    };
    Ok(container_scan(next, items.into_iter().filter(|m| opts.matches(m)).map(Reply::Bulk).collect()))
}

const G: &str = "set";

/// The set family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, Keys::one(1), sadd).key_flags(&["RW", "insert"]).doc(G, "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", "key member [member ...]").complexity("O(1) for each element added"),
    spec("srem", -3, WRITE | FAST, Keys::one(1), srem).key_flags(&["RW", "delete"]).doc(G, "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", "key member [member ...]").complexity("O(N) where N is the number of members to be removed."),
    spec("smembers", 2, READONLY, Keys::one(1), smembers).tips(&["nondeterministic_output_order"]).doc(G, "1.0.0", "Returns all members of a set.", "key").complexity("O(N) where N is the set cardinality."),
    spec("sismember", 3, READONLY | FAST, Keys::one(1), sismember).key_flags(&["RO"]).doc(G, "1.0.0", "Determines whether a member belongs to a set.", "key member").complexity("O(1)"),
    spec("smismember", -3, READONLY | FAST, Keys::one(1), smismember).doc(G, "6.2.0", "Determines whether multiple members belong to a set.", "key member [member ...]").complexity("O(N) where N is the number of elements being checked for membership"),
    spec("scard", 2, READONLY | FAST, Keys::one(1), scard).key_flags(&["RO"]).doc(G, "1.0.0", "Returns the number of members in a set.", "key").complexity("O(1)"),
    spec("spop", -2, WRITE | FAST, Keys::one(1), spop).rewritten().key_flags(&["RW", "access", "delete"]).tips(&["nondeterministic_output"]).doc(G, "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "key [count]").complexity("Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    spec("srandmember", -2, READONLY, Keys::one(1), srandmember).tips(&["nondeterministic_output"]).doc(G, "1.0.0", "Get one or multiple random members from a set", "key [count]").complexity("Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    spec("smove", 4, WRITE | FAST, Keys::range(1, 2, 1), smove).key_flags_each(&[&["RW", "access", "delete"], &["RW", "insert"]]).doc(G, "1.0.0", "Moves a member from one set to another.", "source destination member").complexity("O(1)"),
    spec("sinter", -2, READONLY, Keys::range(1, -1, 1), sinter).tips(&["nondeterministic_output_order"]).doc(G, "1.0.0", "Returns the intersect of multiple sets.", "key [key ...]").complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    spec("sintercard", -3, READONLY, Keys::NumKeys { at: 1, step: 1 }, sintercard).doc(G, "7.0.0", "Returns the number of members of the intersect of multiple sets.", "numkeys key [key ...] [LIMIT limit:integer]").complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    spec("sinterstore", -3, WRITE | DENYOOM, Keys::range(1, -1, 1), sinterstore).key_flags_each(&[&["RW", "update"], &["RO", "access"]]).doc(G, "1.0.0", "Stores the intersect of multiple sets in a key.", "destination key [key ...]").complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    spec("sunion", -2, READONLY, Keys::range(1, -1, 1), sunion).tips(&["nondeterministic_output_order"]).doc(G, "1.0.0", "Returns the union of multiple sets.", "key [key ...]").complexity("O(N) where N is the total number of elements in all given sets."),
    spec("sunionstore", -3, WRITE | DENYOOM, Keys::range(1, -1, 1), sunionstore).key_flags_each(&[&["OW", "update"], &["RO", "access"]]).doc(G, "1.0.0", "Stores the union of multiple sets in a key.", "destination key [key ...]").complexity("O(N) where N is the total number of elements in all given sets."),
    spec("sdiff", -2, READONLY, Keys::range(1, -1, 1), sdiff).tips(&["nondeterministic_output_order"]).doc(G, "1.0.0", "Returns the difference of multiple sets.", "key [key ...]").complexity("O(N) where N is the total number of elements in all given sets."),
    spec("sdiffstore", -3, WRITE | DENYOOM, Keys::range(1, -1, 1), sdiffstore).key_flags_each(&[&["OW", "update"], &["RO", "access"]]).doc(G, "1.0.0", "Stores the difference of multiple sets in a key.", "destination key [key ...]").complexity("O(N) where N is the total number of elements in all given sets."),
    spec("sscan", -3, READONLY, Keys::one(1), sscan).tips(&["nondeterministic_output"]).doc(G, "2.8.0", "Iterates over members of a set.", "key cursor:integer [MATCH pattern] [COUNT count]").complexity("O(1) for every call. O(N) for a complete iteration."),
];
