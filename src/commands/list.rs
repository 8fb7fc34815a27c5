//! List commands, including the blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP). A blocking command that
//! finds no data asks the engine to park the client (`ctx.block`); `serve_blocked` runs its pop once a key has data.

use super::args::{int, is};
use super::ctx::{BlockRequest, Ctx};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::engine::blocking::{BlockedOp, Waiter};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::Value;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Duration;

fn side(a: &[u8]) -> CmdResult<bool> {
    if is(a, "LEFT") {
        Ok(true)
    } else if is(a, "RIGHT") {
        Ok(false)
    } else {
        Err(error::SYNTAX)
    }
}

fn side_name(left: bool) -> &'static [u8] {
    if left {
        b"LEFT"
    } else {
        b"RIGHT"
    }
}

fn pop_end(l: &mut VecDeque<Bytes>, left: bool) -> Option<Bytes> {
    if left {
        l.pop_front()
    } else {
        l.pop_back()
    }
}

/// A blocking timeout in seconds (fractions allowed); None means wait forever.
///
/// # Errors
/// `ERR timeout is not a float or out of range`, `ERR timeout is negative`.
pub fn parse_timeout(a: &[u8]) -> CmdResult<Option<Duration>> {
    let t = crate::util::num::parse_f64(a).ok_or(error::TIMEOUT_NOT_FLOAT)?;
    // Redis converts to milliseconds in a long long; values that overflow it come out negative.
    if t < 0.0 || !t.is_finite() || t * 1000.0 >= 9.2e18 {
        return Err(error::TIMEOUT_NEGATIVE);
    }
    if t == 0.0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(t)))
}

fn push_generic(ctx: &mut Ctx<'_>, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult<Reply> {
    let key = &args[1];
    if only_existing && ctx.lookup_write_as(key, Value::as_list)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let l = ctx.write_or_create(key, Value::as_list_mut, Value::new_list)?;
    for e in &args[2..] {
        let e = Bytes::copy_from_slice(e);
        if left {
            l.push_front(e);
        } else {
            l.push_back(e);
        }
    }
    let n = l.len() as i64;
    ctx.after_write(key, if left { Event::Lpush } else { Event::Rpush });
    Ok(Reply::Int(n))
}

fn lpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, true, false)
}
fn rpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, false, false)
}
fn lpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, true, true)
}
fn rpushx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    push_generic(ctx, args, false, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, args: &[Bytes], left: bool) -> CmdResult<Reply> {
    let count = match args.len() {
        2 => None,
        3 => {
            let n = int(&args[2]).map_err(|_| CmdError::err("value is out of range, must be positive"))?;
            if n < 0 {
                return Err(CmdError::err("value is out of range, must be positive"));
            }
            Some(n as usize)
        }
        _ => return Err(CmdError::arity(if left { "lpop" } else { "rpop" })),
    };
    let key = &args[1];
    let Some(l) = ctx.write_as(key, Value::as_list_mut)? else {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    };
    if count == Some(0) {
        return Ok(Reply::Array(vec![]));
    }
    let n = count.unwrap_or(1).min(l.len());
    let popped: Vec<Bytes> = (0..n).filter_map(|_| pop_end(l, left)).collect();
    ctx.after_write(key, if left { Event::Lpop } else { Event::Rpop });
    Ok(match count {
        None => popped.into_iter().next().map_or(Reply::Nil, Reply::Bulk),
        Some(_) => Reply::Array(popped.into_iter().map(Reply::Bulk).collect()),
    })
}

fn lpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, args, true)
}
fn rpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, args, false)
}

fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_list)?.map_or(0, |l| l.len() as i64)))
}

/// Resolves LRANGE-style (start, end) against `len`; None when the range is empty.
fn range_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { start + len } else { start };
    let mut e = if end < 0 { end + len } else { end };
    s = s.max(0);
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    e = e.max(0);
    Some((s as usize, e as usize))
}

fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let Some(l) = ctx.read_as(&args[1], Value::as_list)? else { return Ok(Reply::Array(vec![])) };
    Ok(Reply::Array(match range_bounds(start, end, l.len()) {
        None => vec![],
        Some((s, e)) => l.range(s..=e).cloned().map(Reply::Bulk).collect(),
    }))
}

fn index_of(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i + len as i64 } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(l) = ctx.read_as(&args[1], Value::as_list)? else { return Ok(Reply::Nil) };
    let i = int(&args[2])?;
    Ok(index_of(i, l.len()).and_then(|i| l.get(i)).cloned().map_or(Reply::Nil, Reply::Bulk))
}

fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(l) = ctx.write_as(&args[1], Value::as_list_mut)? else { return Err(error::NO_SUCH_KEY) };
    let i = int(&args[2])?;
    let Some(i) = index_of(i, l.len()) else { return Err(CmdError::err("index out of range")) };
    l[i] = Bytes::copy_from_slice(&args[3]);
    ctx.after_write(&args[1], Event::Lset);
    Ok(Reply::OK)
}

fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let after = if is(&args[2], "AFTER") {
        true
    } else if is(&args[2], "BEFORE") {
        false
    } else {
        return Err(error::SYNTAX);
    };
    let Some(l) = ctx.write_as(&args[1], Value::as_list_mut)? else { return Ok(Reply::Int(0)) };
    let Some(pos) = l.iter().position(|e| e[..] == args[3][..]) else { return Ok(Reply::Int(-1)) };
    l.insert(if after { pos + 1 } else { pos }, Bytes::copy_from_slice(&args[4]));
    let n = l.len() as i64;
    ctx.after_write(&args[1], Event::Linsert);
    Ok(Reply::Int(n))
}

fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let count = int(&args[2])?;
    let elem = &args[3];
    let Some(l) = ctx.write_as(&args[1], Value::as_list_mut)? else { return Ok(Reply::Int(0)) };
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if l[i][..] == elem[..] {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l[i][..] == elem[..] {
                l.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.after_write(&args[1], Event::Lrem);
    }
    Ok(Reply::Int(removed as i64))
}

fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (int(&args[2])?, int(&args[3])?);
    let Some(l) = ctx.write_as(&args[1], Value::as_list_mut)? else { return Ok(Reply::OK) };
    match range_bounds(start, end, l.len()) {
        None => l.clear(),
        Some((s, e)) => {
            l.truncate(e + 1);
            l.drain(..s);
        }
    }
    ctx.after_write(&args[1], Event::Ltrim);
    Ok(Reply::OK)
}

fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<usize>, 0usize);
    let mut j = 3;
    while j < args.len() {
        if j + 1 >= args.len() {
            return Err(error::SYNTAX);
        }
        let v = &args[j + 1];
        if is(&args[j], "RANK") {
            rank = int(v)?;
            // Redis negates LONG_MIN, overflows, and ends up searching as RANK -1.
            if rank == i64::MIN {
                rank = -1;
            }
            if rank == 0 {
                return Err(CmdError::err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is(&args[j], "COUNT") {
            let c = crate::util::num::parse_i64(v).unwrap_or(-1);
            if c < 0 {
                return Err(CmdError::err("COUNT can't be negative"));
            }
            count = Some(c as usize);
        } else if is(&args[j], "MAXLEN") {
            let m = crate::util::num::parse_i64(v).unwrap_or(-1);
            if m < 0 {
                return Err(CmdError::err("MAXLEN can't be negative"));
            }
            maxlen = m as usize;
        } else {
            return Err(error::SYNTAX);
        }
        j += 2;
    }
    let Some(l) = ctx.read_as(&args[1], Value::as_list)? else {
        return Ok(if count.is_some() { Reply::Array(vec![]) } else { Reply::Nil });
    };
    let want = match count {
        None => 1,
        Some(0) => usize::MAX,
        Some(c) => c,
    };
    let scan = if maxlen == 0 { l.len() } else { maxlen.min(l.len()) };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let indices: Box<dyn Iterator<Item = usize>> =
        if rank > 0 { Box::new(0..scan) } else { Box::new((l.len() - scan..l.len()).rev()) };
    for i in indices {
        if l[i][..] == args[2][..] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(i as i64);
            if found.len() >= want {
                break;
            }
        }
    }
    Ok(match count {
        None => found.first().map_or(Reply::Nil, |&i| Reply::Int(i)),
        Some(_) => Reply::Array(found.into_iter().map(Reply::Int).collect()),
    })
}

/// Pops from `src` and pushes onto `dst` (LMOVE). `Ok(None)` when `src` is missing or empty.
fn move_element(
    ctx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
) -> CmdResult<Option<Bytes>> {
    match ctx.lookup_write_as(src, Value::as_list)? {
        None => return Ok(None),
        Some(l) if l.is_empty() => return Ok(None),
        Some(_) => {}
    }
    ctx.lookup_write_as(dst, Value::as_list)?;
    let Some(l) = ctx.write_as(src, Value::as_list_mut)? else { return Ok(None) };
    let Some(e) = pop_end(l, from_left) else { return Ok(None) };
    // Redis reports the push before the pop (and the source's removal, if it emptied): a source emptied here is
    // still present, so `LMOVE k k` on a one-element list rotates it in place as in Redis.
    let d = ctx.write_or_create(dst, Value::as_list_mut, Value::new_list)?;
    if to_left {
        d.push_front(e.clone());
    } else {
        d.push_back(e.clone());
    }
    ctx.after_write(dst, if to_left { Event::Lpush } else { Event::Rpush });
    ctx.after_write(src, if from_left { Event::Lpop } else { Event::Rpop });
    Ok(Some(e))
}

fn lmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (from_left, to_left) = (side(&args[3])?, side(&args[4])?);
    Ok(move_element(ctx, &args[1], &args[2], from_left, to_left)?.map_or(Reply::Nil, Reply::Bulk))
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(move_element(ctx, &args[1], &args[2], false, true)?.map_or(Reply::Nil, Reply::Bulk))
}

/// Pops up to `count` from the first non-empty list among `keys`: `[key, [elements]]`.
fn mpop_first(ctx: &mut Ctx<'_>, keys: &[Bytes], left: bool, count: usize) -> CmdResult<Option<Reply>> {
    for k in keys {
        let Some(l) = ctx.write_as(k, Value::as_list_mut)? else { continue };
        if l.is_empty() {
            continue;
        }
        let n = count.min(l.len());
        let popped: Vec<Reply> = (0..n).filter_map(|_| pop_end(l, left)).map(Reply::Bulk).collect();
        ctx.after_write(k, if left { Event::Lpop } else { Event::Rpop });
        let cmd: &'static [u8] = if left { b"LPOP" } else { b"RPOP" };
        ctx.emit(vec![Bytes::from_static(cmd), k.clone(), Bytes::from(n.to_string())]);
        return Ok(Some(Reply::Array(vec![Reply::Bulk(k.clone()), Reply::Array(popped)])));
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (keys, left, count) = super::args::mpop(args, 1, "LEFT", "RIGHT")?;
    Ok(mpop_first(ctx, &keys, left, count)?.unwrap_or(Reply::NilArray))
}

/// Blocks the client unless it runs inside MULTI, where a blocking command that finds nothing answers at once.
fn block(ctx: &mut Ctx<'_>, keys: Vec<Bytes>, op: BlockedOp, timeout: Option<Duration>) -> Reply {
    if ctx.caller != super::ctx::Caller::Client {
        // Inside MULTI the moves answer a null bulk string, the pops a null array (as Redis does).
        return if matches!(op, BlockedOp::Move { .. }) { Reply::Nil } else { Reply::NilArray };
    }
    let reply = op.timeout_reply();
    ctx.block = Some(BlockRequest { keys, op, serve: serve_blocked, timeout });
    reply
}

fn bpop(ctx: &mut Ctx<'_>, args: &[Bytes], left: bool) -> CmdResult<Reply> {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for k in keys {
        let Some(l) = ctx.write_as(k, Value::as_list_mut)? else { continue };
        if let Some(e) = pop_end(l, left) {
            ctx.after_write(k, if left { Event::Lpop } else { Event::Rpop });
            let cmd: &'static [u8] = if left { b"LPOP" } else { b"RPOP" };
            ctx.emit(vec![Bytes::from_static(cmd), k.clone()]);
            return Ok(Reply::Array(vec![Reply::Bulk(k.clone()), Reply::Bulk(e)]));
        }
    }
    Ok(block(ctx, keys.to_vec(), BlockedOp::Pop { left }, timeout))
}

fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, args, true)
}
fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, args, false)
}

fn bmove(ctx: &mut Ctx<'_>, src: &Bytes, dst: &Bytes, from_left: bool, to_left: bool, t: &[u8]) -> CmdResult<Reply> {
    let timeout = parse_timeout(t)?;
    if let Some(e) = move_element(ctx, src, dst, from_left, to_left)? {
        ctx.emit(lmove_effect(src, dst, from_left, to_left));
        return Ok(Reply::Bulk(e));
    }
    let op = BlockedOp::Move { dst: dst.clone(), from_left, to_left };
    Ok(block(ctx, vec![src.clone()], op, timeout))
}

fn lmove_effect(src: &Bytes, dst: &Bytes, from_left: bool, to_left: bool) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"LMOVE"),
        src.clone(),
        dst.clone(),
        Bytes::from_static(side_name(from_left)),
        Bytes::from_static(side_name(to_left)),
    ]
}

fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (from_left, to_left) = (side(&args[3])?, side(&args[4])?);
    bmove(ctx, &args[1], &args[2], from_left, to_left, &args[5])
}

fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bmove(ctx, &args[1], &args[2], false, true, &args[3])
}

fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let timeout = parse_timeout(&args[1])?;
    let (keys, left, count) = super::args::mpop(args, 2, "LEFT", "RIGHT")?;
    if let Some(r) = mpop_first(ctx, &keys, left, count)? {
        return Ok(r);
    }
    Ok(block(ctx, keys, BlockedOp::MPop { left, count }, timeout))
}

/// Runs a blocked list client's operation on `key`, which just gained data. `None` if there is nothing to take
/// (the key holds another type now, or someone else emptied it).
pub fn serve_blocked(ctx: &mut Ctx<'_>, w: &Waiter, key: &Bytes) -> Option<Reply> {
    match &w.op {
        BlockedOp::Pop { left } => {
            let l = ctx.write_as(key, Value::as_list_mut).ok()??;
            let e = pop_end(l, *left)?;
            ctx.after_write(key, if *left { Event::Lpop } else { Event::Rpop });
            let cmd: &'static [u8] = if *left { b"LPOP" } else { b"RPOP" };
            ctx.emit(vec![Bytes::from_static(cmd), key.clone()]);
            Some(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(e)]))
        }
        BlockedOp::Move { dst, from_left, to_left } => match move_element(ctx, key, dst, *from_left, *to_left) {
            // The destination holds another type: the waiter gets the error and the element stays put.
            Err(e) => Some(Reply::Error(e.0.into_owned())),
            Ok(None) => None,
            Ok(Some(e)) => {
                ctx.emit(lmove_effect(key, dst, *from_left, *to_left));
                Some(Reply::Bulk(e))
            }
        },
        BlockedOp::MPop { left, count } => mpop_first(ctx, std::slice::from_ref(key), *left, *count).ok()?,
        _ => None,
    }
}

const G: &str = "list";

/// The list family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WRITE | DENYOOM | FAST, Keys::one(1), lpush).key_flags(&["RW", "insert"]).doc(G, "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]").complexity("O(1) for each element added"),
    spec("rpush", -3, WRITE | DENYOOM | FAST, Keys::one(1), rpush).key_flags(&["RW", "insert"]).doc(G, "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "key element [element ...]").complexity("O(1) for each element added"),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, Keys::one(1), lpushx).key_flags(&["RW", "insert"]).doc(G, "2.2.0", "Prepends one or more elements to a list only when the list exists.", "key element [element ...]").complexity("O(1) for each element added"),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, Keys::one(1), rpushx).key_flags(&["RW", "insert"]).doc(G, "2.2.0", "Appends an element to a list only when the list exists.", "key element [element ...]").complexity("O(1) for each element added"),
    spec("lpop", -2, WRITE | FAST, Keys::one(1), lpop).key_flags(&["RW", "access", "delete"]).doc(G, "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "key [count]").complexity("O(N) where N is the number of elements returned"),
    spec("rpop", -2, WRITE | FAST, Keys::one(1), rpop).key_flags(&["RW", "access", "delete"]).doc(G, "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "key [count]").complexity("O(N) where N is the number of elements returned"),
    spec("llen", 2, READONLY | FAST, Keys::one(1), llen).key_flags(&["RO"]).doc(G, "1.0.0", "Returns the length of a list.", "key").complexity("O(1)"),
    spec("lrange", 4, READONLY, Keys::one(1), lrange).doc(G, "1.0.0", "Returns a range of elements from a list.", "key start stop:integer").complexity("O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    spec("lindex", 3, READONLY, Keys::one(1), lindex).doc(G, "1.0.0", "Returns an element from a list by its index.", "key index").complexity("O(N) where N is the number of elements to traverse to get to the element at index."),
    spec("lset", 4, WRITE | DENYOOM, Keys::one(1), lset).key_flags(&["RW", "update"]).doc(G, "1.0.0", "Sets the value of an element in a list by its index.", "key index element").complexity("O(N) where N is the length of the list."),
    spec("linsert", 5, WRITE | DENYOOM, Keys::one(1), linsert).key_flags(&["RW", "insert"]).doc(G, "2.2.0", "Inserts an element before or after another element in a list.", "key <where=BEFORE | AFTER> pivot element").complexity("O(N) where N is the number of elements to traverse before seeing the value pivot."),
    spec("lrem", 4, WRITE, Keys::one(1), lrem).key_flags(&["RW", "delete"]).doc(G, "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", "key count element").complexity("O(N+M) where N is the length of the list and M is the number of elements removed."),
    spec("ltrim", 4, WRITE, Keys::one(1), ltrim).key_flags(&["RW", "delete"]).doc(G, "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "key start stop:integer").complexity("O(N) where N is the number of elements to be removed by the operation."),
    spec("lpos", -3, READONLY, Keys::one(1), lpos).doc(G, "6.0.6", "Returns the index of matching elements in a list.", "key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]").complexity("O(N) where N is the number of elements in the list, for the average case."),
    spec("lmove", 5, WRITE | DENYOOM, Keys::range(1, 2, 1), lmove).key_flags_each(&[&["RW", "access", "delete"], &["RW", "insert"]]).doc(G, "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "source destination <wherefrom=LEFT | RIGHT> <whereto=LEFT | RIGHT>").complexity("O(1)"),
    spec("rpoplpush", 3, WRITE | DENYOOM, Keys::range(1, 2, 1), rpoplpush).key_flags_each(&[&["RW", "access", "delete"], &["RW", "insert"]]).doc(G, "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "source destination").complexity("O(1)"),
    spec("lmpop", -4, WRITE, Keys::NumKeys { at: 1, step: 1 }, lmpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "numkeys key [key ...] <where=LEFT | RIGHT> [COUNT count]").complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, Keys::range(1, -2, 1), blpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout:double").complexity("O(N) where N is the number of provided keys."),
    spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, Keys::range(1, -2, 1), brpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "key [key ...] timeout:double").complexity("O(N) where N is the number of provided keys."),
    spec("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, Keys::range(1, 2, 1), blmove).rewritten().key_flags_each(&[&["RW", "access", "delete"], &["RW", "insert"]]).doc(G, "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "source destination <wherefrom=LEFT | RIGHT> <whereto=LEFT | RIGHT> timeout:double").complexity("O(1)"),
    spec("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, Keys::range(1, 2, 1), brpoplpush).rewritten().key_flags_each(&[&["RW", "access", "delete"], &["RW", "insert"]]).doc(G, "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "source destination timeout:double").complexity("O(1)"),
    spec("blmpop", -5, WRITE | BLOCKING, Keys::NumKeys { at: 2, step: 1 }, blmpop).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "timeout:double numkeys key [key ...] <where=LEFT | RIGHT> [COUNT count]").complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];
