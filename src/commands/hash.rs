//! Hash commands: HSET, HGET, HDEL, HINCRBY, HRANDFIELD, HSCAN and friends.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::{container_scan, parse_cursor, ScanOpts};
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::{Protocol, Reply};
use crate::store::event::Event;
use crate::store::types::HashValue;
use crate::store::Value;
use bytes::Bytes;

fn hset_pairs(ctx: &mut Ctx<'_>, args: &[Bytes], name: &str) -> CmdResult<i64> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::arity(name));
    }
    let limits = ctx.srv.hash_limits();
    let key = &args[1];
    let h = ctx.write_or_create(key, Value::as_hash_mut, Value::new_hash)?;
    let mut added = 0;
    for fv in args[2..].chunks(2) {
        if h.set(&fv[0], &fv[1], limits) {
            added += 1;
        }
    }
    h.shrink();
    ctx.after_write(key, Event::Hset);
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(hset_pairs(ctx, args, "hset")?))
}

fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    hset_pairs(ctx, args, "hmset")?;
    Ok(Reply::OK)
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.lookup_write_as(&args[1], Value::as_hash)?.is_some_and(|h| h.contains(&args[2])) {
        return Ok(Reply::Int(0));
    }
    let limits = ctx.srv.hash_limits();
    ctx.write_or_create(&args[1], Value::as_hash_mut, Value::new_hash)?.set(&args[2], &args[3], limits);
    ctx.after_write(&args[1], Event::Hset);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.read_as(&args[1], Value::as_hash)?.and_then(|h| h.get(&args[2])).map_or(Reply::Nil, Reply::Bulk))
}

fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let h = ctx.read_as(&args[1], Value::as_hash)?;
    Ok(Reply::Array(args[2..].iter().map(|f| h.and_then(|h| h.get(f)).map_or(Reply::Nil, Reply::Bulk)).collect()))
}

fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(h) = ctx.write_as(&args[1], Value::as_hash_mut)? else { return Ok(Reply::Int(0)) };
    let n = args[2..].iter().filter(|f| h.remove(f)).count() as i64;
    if n > 0 {
        ctx.after_write(&args[1], Event::Hdel);
    }
    Ok(Reply::Int(n))
}

fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_hash)?.map_or(0, |h| h.len() as i64)))
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let h = ctx.read_as(&args[1], Value::as_hash)?;
    Ok(Reply::Int(h.and_then(|h| h.get(&args[2])).map_or(0, |v| v.len() as i64)))
}

fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_hash)?.is_some_and(|h| h.contains(&args[2])) as i64))
}

fn pairs_reply(ctx: &Ctx<'_>, pairs: Vec<(Bytes, Bytes)>) -> Reply {
    if ctx.client.proto == Protocol::Resp3 {
        Reply::Map(pairs.into_iter().map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v))).collect())
    } else {
        Reply::Array(pairs.into_iter().flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)]).collect())
    }
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let pairs = ctx.read_as(&args[1], Value::as_hash)?.map(|h| h.pairs()).unwrap_or_default();
    Ok(pairs_reply(ctx, pairs))
}

fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let pairs = ctx.read_as(&args[1], Value::as_hash)?.map(|h| h.pairs()).unwrap_or_default();
    Ok(Reply::Array(pairs.into_iter().map(|(f, _)| Reply::Bulk(f)).collect()))
}

fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let pairs = ctx.read_as(&args[1], Value::as_hash)?.map(|h| h.pairs()).unwrap_or_default();
    Ok(Reply::Array(pairs.into_iter().map(|(_, v)| Reply::Bulk(v)).collect()))
}

fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let incr = int(&args[3])?;
    let cur = match ctx.lookup_write_as(&args[1], Value::as_hash)?.and_then(|h| h.get(&args[2])) {
        None => 0,
        Some(v) => crate::util::num::parse_i64(&v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur.checked_add(incr).ok_or(error::OVERFLOW)?;
    let limits = ctx.srv.hash_limits();
    let text = new.to_string();
    ctx.write_or_create(&args[1], Value::as_hash_mut, Value::new_hash)?.set(&args[2], text.as_bytes(), limits);
    ctx.after_write(&args[1], Event::Hincrby);
    Ok(Reply::Int(new))
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    // The increment is validated first, as Redis does, then the type, then the stored value.
    match crate::util::num::long_double_add(b"0", &args[3]) {
        Ok(_) => {}
        Err(crate::util::num::LdAddError::NanOrInf) => return Err(CmdError::err("value is NaN or Infinity")),
        Err(_) => return Err(error::NOT_FLOAT),
    }
    let cur = match ctx.lookup_write_as(&args[1], Value::as_hash)?.and_then(|h| h.get(&args[2])) {
        None => Bytes::from_static(b"0"),
        Some(v) => v,
    };
    let text = crate::util::num::long_double_add(&cur, &args[3]).map_err(|e| match e {
        crate::util::num::LdAddError::NotFloat => CmdError::err("hash value is not a float"),
        crate::util::num::LdAddError::NanOrInf => error::INCR_NAN_INF,
    })?;
    let limits = ctx.srv.hash_limits();
    ctx.write_or_create(&args[1], Value::as_hash_mut, Value::new_hash)?.set(&args[2], text.as_bytes(), limits);
    ctx.after_write(&args[1], Event::Hincrbyfloat);
    let b = Bytes::from(text);
    ctx.emit(vec![Bytes::from_static(b"HSET"), args[1].clone(), args[2].clone(), b.clone()]);
    Ok(Reply::Bulk(b))
}

fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use rand::seq::SliceRandom;
    let withvalues = match args.len() {
        2 | 3 => false,
        4 if is(&args[3], "WITHVALUES") => true,
        _ => return Err(error::SYNTAX),
    };
    let count = args.get(2).map(|a| super::args::sample_count(a, withvalues)).transpose()?;
    let mut rng = ctx.rng();
    let resp3 = ctx.client.proto == Protocol::Resp3;
    let Some(h) = ctx.read_as(&args[1], Value::as_hash)? else {
        return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Nil });
    };
    let Some(count) = count else {
        return Ok(h.random(&mut rng).map_or(Reply::Nil, |(f, _)| Reply::Bulk(f)));
    };
    let picked: Vec<(Bytes, Bytes)> = if count < 0 {
        (0..count.unsigned_abs()).filter_map(|_| h.random(&mut rng)).collect()
    } else {
        let mut all = h.pairs();
        if (count as usize) < all.len() {
            all.shuffle(&mut rng);
            all.truncate(count as usize);
        }
        all
    };
    Ok(Reply::Array(if !withvalues {
        picked.into_iter().map(|(f, _)| Reply::Bulk(f)).collect()
    } else if resp3 {
        picked.into_iter().map(|(f, v)| Reply::Array(vec![Reply::Bulk(f), Reply::Bulk(v)])).collect()
    } else {
        picked.into_iter().flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)]).collect()
    }))
}

fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let Some(h) = ctx.read_as(&args[1], Value::as_hash)? else { return Ok(container_scan(0, vec![])) };
    // The key is looked up before the options are parsed, as Redis does.
    let opts = ScanOpts::parse(args, 3)?;
    let (next, items) = match h {
        HashValue::Pack(_) => (0, h.pairs()),
        HashValue::Table(d) => {
            let (next, slots) = opts.walk(d, cursor);
            (next, slots.into_iter().map(|s| (s.key.to_bytes(), s.val.clone())).collect())
        }
    };
    let out = items
        .into_iter()
        .filter(|(f, _)| opts.matches(f))
        .flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)])
        .collect();
    Ok(container_scan(next, out))
}

const G: &str = "hash";

/// The hash family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, Keys::one(1), hset).key_flags(&["RW", "update"]).doc(G, "2.0.0", "Creates or modifies the value of a field in a hash.", "key field value [field value ...]").complexity("O(1) for each field/value pair added"),
    spec("hmset", -4, WRITE | DENYOOM | FAST, Keys::one(1), hmset).key_flags(&["RW", "update"]).doc(G, "2.0.0", "Sets the values of multiple fields.", "key field value [field value ...]").complexity("O(N) where N is the number of fields being set."),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, Keys::one(1), hsetnx).key_flags(&["RW", "insert"]).doc(G, "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", "key field value").complexity("O(1)"),
    spec("hget", 3, READONLY | FAST, Keys::one(1), hget).doc(G, "2.0.0", "Returns the value of a field in a hash.", "key field").complexity("O(1)"),
    spec("hmget", -3, READONLY | FAST, Keys::one(1), hmget).doc(G, "2.0.0", "Returns the values of all fields in a hash.", "key field [field ...]").complexity("O(N) where N is the number of fields being requested."),
    spec("hdel", -3, WRITE | FAST, Keys::one(1), hdel).key_flags(&["RW", "delete"]).doc(G, "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "key field [field ...]").complexity("O(N) where N is the number of fields to be removed."),
    spec("hlen", 2, READONLY | FAST, Keys::one(1), hlen).key_flags(&["RO"]).doc(G, "2.0.0", "Returns the number of fields in a hash.", "key").complexity("O(1)"),
    spec("hstrlen", 3, READONLY | FAST, Keys::one(1), hstrlen).key_flags(&["RO"]).doc(G, "3.2.0", "Returns the length of the value of a field.", "key field").complexity("O(1)"),
    spec("hexists", 3, READONLY | FAST, Keys::one(1), hexists).key_flags(&["RO"]).doc(G, "2.0.0", "Determines whether a field exists in a hash.", "key field").complexity("O(1)"),
    spec("hgetall", 2, READONLY, Keys::one(1), hgetall).tips(&["nondeterministic_output_order"]).doc(G, "2.0.0", "Returns all fields and values in a hash.", "key").complexity("O(N) where N is the size of the hash."),
    spec("hkeys", 2, READONLY, Keys::one(1), hkeys).tips(&["nondeterministic_output_order"]).doc(G, "2.0.0", "Returns all fields in a hash.", "key").complexity("O(N) where N is the size of the hash."),
    spec("hvals", 2, READONLY, Keys::one(1), hvals).tips(&["nondeterministic_output_order"]).doc(G, "2.0.0", "Returns all values in a hash.", "key").complexity("O(N) where N is the size of the hash."),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, Keys::one(1), hincrby).doc(G, "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "key field increment").complexity("O(1)"),
    spec("hincrbyfloat", 4, WRITE | DENYOOM | FAST, Keys::one(1), hincrbyfloat).rewritten().doc(G, "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "key field increment:double").complexity("O(1)"),
    spec("hrandfield", -2, READONLY, Keys::one(1), hrandfield).tips(&["nondeterministic_output"]).doc(G, "6.2.0", "Returns one or more random fields from a hash.", "key [options=count:integer [WITHVALUES]]").complexity("O(N) where N is the number of fields returned"),
    spec("hscan", -3, READONLY, Keys::one(1), hscan).tips(&["nondeterministic_output"]).doc(G, "2.8.0", "Iterates over fields and values of a hash.", "key cursor:integer [MATCH pattern] [COUNT count]").complexity("O(1) for every call. O(N) for a complete iteration."),
];
