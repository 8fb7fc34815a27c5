//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XREAD and XREADGROUP (with their blocking
//! forms). Consumer-group management (XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO) is in `stream_group.rs`.
//!
//! Effects: XADD with `*` or `ms-*` is logged with the id it made, and a trim with `~` (which depends on how the
//! entries fall into blocks) as the exact trim it amounted to (`MAXLEN = <length after>`), so a replay reaches the
//! same entries. XREADGROUP is logged as Redis propagates it: an `XCLAIM ... FORCE JUSTID LASTID` per delivered
//! entry and an `XGROUP SETID ... ENTRIESREAD` for the group's new position.

use super::args::{int, is};
use super::ctx::{BlockRequest, Caller, Ctx};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::engine::blocking::{BlockedOp, Waiter};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::{Protocol, Reply};
use crate::store::event::Event;
use crate::store::types::stream::{Group, NodeLimits, StreamEntry, Trim};
use crate::store::types::{Stream, StreamId};
use crate::store::Value;
use bytes::Bytes;
use std::time::Duration;

pub(super) const INVALID_ID: CmdError = CmdError::fixed("ERR Invalid stream ID specified as stream command argument");
const XADD_TOO_SMALL: CmdError =
    CmdError::fixed("ERR The ID specified in XADD is equal or smaller than the target stream top item");
const XADD_ZERO: CmdError = CmdError::fixed("ERR The ID specified in XADD must be greater than 0-0");
const EXHAUSTED: CmdError =
    CmdError::fixed("ERR The stream has exhausted the last possible ID, unable to add more items");
const KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";
const GROUP_GONE: &str = "NOGROUP the consumer group this client was blocked on no longer exists";
/// Entries a blocked XREAD without COUNT gets at most (Redis's `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// A strict id (`ms-seq` or `ms`, the sequence then `missing_seq`; no `-` or `+`).
///
/// # Errors
/// `ERR Invalid stream ID specified as stream command argument`.
pub(super) fn strict_id(a: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    StreamId::parse(a, missing_seq).ok_or(INVALID_ID)
}

/// An id where `-` and `+` stand for the smallest and largest ids.
pub(super) fn id_or_edge(a: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    match a {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => strict_id(a, missing_seq),
    }
}

/// An interval bound (XRANGE, XPENDING): an id, `-`, `+`, or `(id` for an exclusive bound. Returns the id and
/// whether it is exclusive.
pub(super) fn interval_bound(a: &[u8], missing_seq: u64) -> CmdResult<(StreamId, bool)> {
    if a.len() > 1 && a[0] == b'(' {
        return Ok((strict_id(&a[1..], missing_seq)?, true));
    }
    Ok((id_or_edge(a, missing_seq)?, false))
}

/// `[id, [field, value, ...]]`.
pub(super) fn entry_reply(e: StreamEntry) -> Reply {
    let mut flat = Vec::with_capacity(e.fields.len() * 2);
    for (f, v) in e.fields {
        flat.push(Reply::Bulk(f));
        flat.push(Reply::Bulk(v));
    }
    Reply::Array(vec![Reply::Bulk(e.id.to_bytes()), Reply::Array(flat)])
}

pub(super) fn entries_reply(v: Vec<StreamEntry>) -> Reply {
    Reply::Array(v.into_iter().map(entry_reply).collect())
}

pub(super) fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn num(n: u64) -> Bytes {
    Bytes::from(n.to_string())
}

/// XREAD's reply: per stream `[key, entries]` in RESP2, a map from key to entries in RESP3.
fn streams_reply(resp3: bool, items: Vec<(Bytes, Reply)>) -> Reply {
    if resp3 {
        Reply::Map(items.into_iter().map(|(k, v)| (Reply::Bulk(k), v)).collect())
    } else {
        Reply::Array(items.into_iter().map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v])).collect())
    }
}

/// XADD's and XTRIM's options.
#[derive(Debug, Default)]
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    /// Most entries an approximate trim may remove (0: no limit).
    limit: u64,
    nomkstream: bool,
    /// XADD's id: None for `*`; the bool says whether the sequence was given (false for `ms-*`).
    id: Option<(StreamId, bool)>,
}

/// Parses XADD's (`xadd`) or XTRIM's options from argument 2, as Redis does; returns them and the position of
/// XADD's id (for XTRIM, the end).
fn parse_add_trim(ctx: &Ctx<'_>, args: &[Bytes], xadd: bool) -> CmdResult<(AddTrim, usize)> {
    let mut o = AddTrim::default();
    let mut limit_given = false;
    let mut i = 2;
    let both = || CmdError::err("syntax error, MAXLEN and MINID options at the same time are not compatible");
    while i < args.len() {
        let more = args.len() - 1 - i;
        let a = &args[i];
        if xadd && &a[..] == b"*" {
            break;
        } else if (is(a, "MAXLEN") || is(a, "MINID")) && more > 0 {
            if o.trim.is_some() {
                return Err(both());
            }
            o.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                o.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let v = &args[i + 1];
            o.trim = Some(if is(a, "MAXLEN") {
                let n = int(v)?;
                if n < 0 {
                    return Err(CmdError::fixed("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(strict_id(v, 0)?)
            });
            i += 2;
            continue;
        } else if is(a, "LIMIT") && more > 0 {
            let n = int(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::fixed("ERR The LIMIT argument must be >= 0."));
            }
            o.limit = n as u64;
            limit_given = true;
            i += 2;
            continue;
        } else if xadd && is(a, "NOMKSTREAM") {
            o.nomkstream = true;
        } else if xadd {
            o.id = Some(match a.strip_suffix(b"-*") {
                Some(ms) => (StreamId::new(StreamId::parse_ms(ms).ok_or(INVALID_ID)?, 0), false),
                None => (strict_id(a, 0)?, true),
            });
            break;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }
    if o.limit > 0 && o.trim.is_none() {
        return Err(CmdError::err("syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && o.trim.is_none() {
        return Err(CmdError::err("syntax error, XTRIM must be called with a trimming strategy"));
    }
    if ctx.caller == Caller::Primary {
        // A replayed trim was logged exact.
        o.limit = 0;
    } else if limit_given {
        if !o.approx {
            return Err(CmdError::err("syntax error, LIMIT cannot be used without the special ~ option"));
        }
    } else if o.approx {
        o.limit = node_limits(ctx).trim_limit();
    }
    Ok((o, i))
}

/// The exact trim an approximate one amounted to, for the effect: the length left (or the first id left).
fn exact_trim_args(s: &Stream, how: Trim) -> [Bytes; 3] {
    match how {
        Trim::MinId(_) if !s.is_empty() => {
            [Bytes::from_static(b"MINID"), Bytes::from_static(b"="), s.first_id.to_bytes()]
        }
        _ => [Bytes::from_static(b"MAXLEN"), Bytes::from_static(b"="), num(s.len())],
    }
}

/// The block sizes `stream-node-max-entries` and `stream-node-max-bytes` set.
fn node_limits(ctx: &Ctx<'_>) -> NodeLimits {
    let h = &ctx.srv.hot;
    NodeLimits {
        entries: h.stream_node_max_entries.load(std::sync::atomic::Ordering::Relaxed),
        bytes: h.stream_node_max_bytes.load(std::sync::atomic::Ordering::Relaxed),
    }
}

fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (o, idpos) = parse_add_trim(ctx, args, true)?;
    let fields = idpos + 1;
    if args.len() < fields + 2 || (args.len() - fields) % 2 == 1 {
        return Err(CmdError::arity("xadd"));
    }
    if let Some((id, true)) = o.id {
        if id.is_zero() {
            return Err(XADD_ZERO);
        }
    }
    let key = &args[1];
    if o.nomkstream && ctx.lookup_write_as(key, Value::as_stream)?.is_none() {
        return Ok(Reply::Nil);
    }
    let now = ctx.now_ms;
    let limits = node_limits(ctx);
    let s = ctx.write_or_create(key, Value::as_stream_mut, Value::new_stream)?;
    if s.last_id == StreamId::MAX {
        ctx.after_write_quiet(key);
        return Err(EXHAUSTED);
    }
    let id = match o.id {
        None => s.next_id(now, false),
        Some((id, true)) => Some(id).filter(|&id| id > s.last_id),
        Some((id, false)) => s.next_id(id.ms, true),
    };
    let Some(id) = id else {
        ctx.after_write_quiet(key);
        return Err(XADD_TOO_SMALL);
    };
    s.append_within(id, &args[fields..], limits);
    let trimmed = o.trim.map_or(0, |how| s.trim(how, o.approx, o.limit));
    let exact = o.trim.filter(|_| o.approx).map(|how| exact_trim_args(s, how));
    ctx.after_write(key, Event::Xadd);
    if trimmed > 0 {
        ctx.notify(key, Event::Xtrim);
    }
    if o.id.is_some_and(|(_, seq)| seq) && exact.is_none() {
        ctx.emit_as_sent();
    } else {
        let mut e = vec![Bytes::from_static(b"XADD"), key.clone()];
        if o.nomkstream {
            e.push(Bytes::from_static(b"NOMKSTREAM"));
        }
        match (exact, o.trim) {
            (Some(t), _) => e.extend(t),
            (None, Some(Trim::MaxLen(n))) => e.extend([Bytes::from_static(b"MAXLEN"), num(n)]),
            (None, Some(Trim::MinId(m))) => e.extend([Bytes::from_static(b"MINID"), m.to_bytes()]),
            (None, None) => {}
        }
        e.push(id.to_bytes());
        e.extend(args[fields..].iter().cloned());
        ctx.emit(e);
    }
    Ok(id_reply(id))
}

fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (o, _) = parse_add_trim(ctx, args, false)?;
    let key = &args[1];
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Ok(Reply::Int(0)) };
    let Some(how) = o.trim else { return Ok(Reply::Int(0)) };
    let n = s.trim(how, o.approx, o.limit);
    let exact = exact_trim_args(s, how);
    if n > 0 {
        ctx.after_write(key, Event::Xtrim);
        if o.approx {
            let mut e = vec![Bytes::from_static(b"XTRIM"), key.clone()];
            e.extend(exact);
            ctx.emit(e);
        } else {
            ctx.emit_as_sent();
        }
    }
    Ok(Reply::Int(n as i64))
}

fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.read_as(&args[1], Value::as_stream)?.map_or(0, |s| s.len() as i64)))
}

fn range_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let (mut start, start_ex) = interval_bound(start_arg, 0)?;
    let (mut end, end_ex) = interval_bound(end_arg, u64::MAX)?;
    if start_ex {
        start = start.incr().ok_or(CmdError::fixed("ERR invalid start ID for the interval"))?;
    }
    if end_ex {
        end = end.decr().ok_or(CmdError::fixed("ERR invalid end ID for the interval"))?;
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() {
            count = int(&args[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if count == 0 {
        return Ok(Reply::NilArray);
    }
    let Some(s) = ctx.read_as(&args[1], Value::as_stream)? else { return Ok(Reply::Array(vec![])) };
    let count = if count < 0 { 0 } else { count as usize };
    Ok(entries_reply(s.range(start, end, count, rev)))
}

fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    range_generic(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    range_generic(ctx, args, true)
}

fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    // As in Redis: a missing key answers 0 before the ids are looked at.
    if ctx.lookup_write_as(key, Value::as_stream)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let ids = args[2..].iter().map(|a| strict_id(a, 0)).collect::<CmdResult<Vec<_>>>()?;
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Ok(Reply::Int(0)) };
    let n = s.delete(&ids);
    if n > 0 {
        ctx.after_write(key, Event::Xdel);
    }
    Ok(Reply::Int(n as i64))
}

fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let id = strict_id(&args[2], 0)?;
    let (mut added, mut max_deleted) = (None, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "ENTRIESADDED") && more {
            let n = int(&args[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            added = Some(n as u64);
        } else if is(&args[i], "MAXDELETEDID") && more {
            max_deleted = strict_id(&args[i + 1], 0)?;
            if id < max_deleted {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(error::SYNTAX);
        }
        i += 2;
    }
    let key = &args[1];
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(error::NO_SUCH_KEY) };
    if let Some(top) = s.edge(true) {
        if id < top.id {
            return Err(CmdError::err("The ID specified in XSETID is smaller than the target stream top item"));
        }
        if added.is_some_and(|a| s.len() > a) {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(a) = added {
        s.entries_added = a;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_id = max_deleted;
    }
    ctx.after_write(key, Event::Xsetid);
    Ok(Reply::OK)
}

/// XREAD's and XREADGROUP's options.
struct ReadArgs {
    block: Option<Option<Duration>>,
    count: usize,
    noack: bool,
    group: Option<(Bytes, Bytes)>,
    /// Index of the first key.
    streams: usize,
    /// Number of keys (as many ids follow them).
    n: usize,
}

fn parse_read(ctx: &Ctx<'_>, args: &[Bytes], group_cmd: bool) -> CmdResult<ReadArgs> {
    let mut r = ReadArgs { block: None, count: 0, noack: false, group: None, streams: 0, n: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let a = &args[i];
        if is(a, "BLOCK") && more > 0 {
            if ctx.caller == Caller::Script {
                return Err(CmdError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(&args[0])
                )));
            }
            let ms =
                super::args::int_or(&args[i + 1], CmdError::fixed("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(error::TIMEOUT_NEGATIVE);
            }
            r.block = Some((ms > 0).then(|| Duration::from_millis(ms as u64)));
            i += 2;
        } else if is(a, "COUNT") && more > 0 {
            r.count = int(&args[i + 1])?.max(0) as usize;
            i += 2;
        } else if is(a, "STREAMS") && more > 0 {
            r.streams = i + 1;
            let rest = args.len() - r.streams;
            if !rest.is_multiple_of(2) {
                let symbol = if group_cmd { '>' } else { '$' };
                return Err(CmdError::err(format!(
                    "Unbalanced {} list of streams: for each stream key an ID or '{symbol}' must be specified.",
                    String::from_utf8_lossy(&args[0])
                )));
            }
            r.n = rest / 2;
            break;
        } else if is(a, "GROUP") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if is(a, "NOACK") {
            if !group_cmd {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
            i += 1;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if r.streams == 0 {
        return Err(error::SYNTAX);
    }
    if group_cmd && r.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// How a group read delivers: at most `count` entries (0: all), without PEL entries under NOACK, at `now`.
#[derive(Debug, Clone, Copy)]
struct ReadHow {
    count: usize,
    noack: bool,
    now: u64,
}

/// What one XREADGROUP read did, for its effects.
struct GroupRead {
    reply: Reply,
    effects: Vec<Vec<Bytes>>,
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last`: a delivery, replayable.
fn claim_effect(key: &Bytes, group: &Bytes, g: &Group, id: StreamId) -> Option<Vec<Bytes>> {
    let n = g.pel.get(&id)?;
    Some(vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        n.consumer.clone(),
        Bytes::from_static(b"0"),
        id.to_bytes(),
        Bytes::from_static(b"TIME"),
        num(n.delivery_time),
        Bytes::from_static(b"RETRYCOUNT"),
        num(n.delivery_count),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        g.last_id.to_bytes(),
    ])
}

/// `XGROUP SETID key group last ENTRIESREAD n`: the group's position, replayable.
pub(super) fn setid_effect(key: &Bytes, group: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        group.clone(),
        g.last_id.to_bytes(),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(g.entries_read.to_string()),
    ]
}

/// Reads for `consumer` of group `gname` of `s`: new entries after the group's last id (`after` None, for `>`),
/// or the consumer's own pending entries from `after` (history). The consumer must exist.
fn group_read(
    key: &Bytes,
    s: &mut Stream,
    gname: &Bytes,
    consumer: &Bytes,
    after: Option<StreamId>,
    how: ReadHow,
) -> Option<GroupRead> {
    let ReadHow { count, noack, now } = how;
    let mut effects = Vec::new();
    let mut g = s.groups.remove(gname)?;
    let reply = match after {
        Some(from) => {
            // History: the consumer's PEL from `from`, deleted entries as `[id, nil]`.
            let ids: Vec<StreamId> = g
                .consumers
                .get(consumer)
                .map(|c| c.pel.range(from..).take(if count == 0 { usize::MAX } else { count }).copied().collect())
                .unwrap_or_default();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                match s.get(id) {
                    None => out.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
                    Some(e) => {
                        if let Some(n) = g.pel.get_mut(&id) {
                            n.delivery_time = now;
                            n.delivery_count += 1;
                        }
                        effects.extend(claim_effect(key, gname, &g, id));
                        out.push(entry_reply(e));
                    }
                }
            }
            Reply::Array(out)
        }
        None => {
            let start = g.last_id.incr();
            let entries = start.map_or_else(Vec::new, |st| s.range(st, StreamId::MAX, count, false));
            let before = g.last_id;
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                s.advance_group(&mut g, e.id);
                if !noack {
                    g.deliver(e.id, consumer, now, 1);
                    effects.extend(claim_effect(key, gname, &g, e.id));
                }
                out.push(entry_reply(e));
            }
            if g.last_id != before {
                effects.push(setid_effect(key, gname, &g));
            }
            Reply::Array(out)
        }
    };
    s.groups.insert(gname.clone(), g);
    Some(GroupRead { reply, effects })
}

/// `XGROUP CREATECONSUMER key group consumer`, replayable.
fn createconsumer_effect(key: &Bytes, group: &Bytes, consumer: &Bytes) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"CREATECONSUMER"),
        key.clone(),
        group.clone(),
        consumer.clone(),
    ]
}

/// Looks up (creating it, with its event and effect) `consumer` of `gname` in the stream at `key` and refreshes its
/// seen time. False when the key or group is missing.
fn touch_consumer(ctx: &mut Ctx<'_>, key: &Bytes, gname: &Bytes, consumer: &Bytes) -> bool {
    let now = ctx.now_ms;
    let Ok(Some(s)) = ctx.write_as(key, Value::as_stream_mut) else { return false };
    let Some(g) = s.groups.get_mut(gname) else { return false };
    let (_, created) = g.consumer(consumer, now, true);
    if created {
        ctx.notify(key, Event::XgroupCreateconsumer);
        ctx.emit(createconsumer_effect(key, gname, consumer));
        ctx.dirty += 1;
    }
    true
}

fn read_generic(ctx: &mut Ctx<'_>, args: &[Bytes], group_cmd: bool) -> CmdResult<Reply> {
    let r = parse_read(ctx, args, group_cmd)?;
    let keys = &args[r.streams..r.streams + r.n];
    let id_args = &args[r.streams + r.n..];
    // None stands for `>`.
    let mut ids: Vec<Option<StreamId>> = Vec::with_capacity(r.n);
    for (k, a) in keys.iter().zip(id_args) {
        let s = ctx.read_as(k, Value::as_stream)?;
        if let Some((g, _)) = &r.group {
            if !s.is_some_and(|s| s.groups.contains_key(g)) {
                return Err(CmdError::raw(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(g)
                )));
            }
        }
        if &a[..] == b"$" {
            if group_cmd {
                return Err(CmdError::err("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            ids.push(Some(s.map_or(StreamId::MIN, |s| s.last_id)));
        } else if &a[..] == b">" {
            if !group_cmd {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            ids.push(None);
        } else {
            ids.push(Some(strict_id(a, 0)?));
        }
    }
    let resp3 = ctx.client.proto == Protocol::Resp3;
    let now = ctx.now_ms;
    let mut served: Vec<(Bytes, Reply)> = Vec::new();
    for (k, id) in keys.iter().zip(&ids) {
        match &r.group {
            None => {
                let Some(s) = ctx.read_as(k, Value::as_stream)? else { continue };
                let gt = id.unwrap_or(StreamId::MAX);
                if s.edge(true).is_some_and(|top| top.id > gt) {
                    let start = gt.incr().unwrap_or(StreamId::MAX);
                    served.push((k.clone(), entries_reply(s.range(start, StreamId::MAX, r.count, false))));
                }
            }
            Some((gname, consumer)) => {
                if !touch_consumer(ctx, k, gname, consumer) {
                    continue;
                }
                let Some(s) = ctx.write_as(k, Value::as_stream_mut)? else { continue };
                let history = id.map(|i| i.incr().unwrap_or(StreamId::MAX));
                if history.is_none() {
                    let last = s.groups.get(gname).map_or(StreamId::MAX, |g| g.last_id);
                    if s.edge(true).is_none_or(|top| top.id <= last) {
                        continue;
                    }
                }
                let Some(read) =
                    group_read(k, s, gname, consumer, history, ReadHow { count: r.count, noack: r.noack, now })
                else {
                    continue;
                };
                ctx.modified_quiet(k);
                for e in read.effects {
                    ctx.emit(e);
                }
                served.push((k.clone(), read.reply));
            }
        }
    }
    if !served.is_empty() {
        return Ok(streams_reply(resp3, served));
    }
    let Some(timeout) = r.block else { return Ok(Reply::NilArray) };
    if ctx.caller != Caller::Client {
        // Inside MULTI a blocking read that finds nothing answers at once, as after a timeout.
        return Ok(Reply::NilArray);
    }
    let count = if r.count == 0 { BLOCKED_DEFAULT_COUNT } else { r.count };
    let op = match r.group {
        None => BlockedOp::XRead { ids: ids.iter().map(|i| i.unwrap_or(StreamId::MAX)).collect(), count, resp3 },
        Some((group, consumer)) => BlockedOp::XReadGroup { group, consumer, count, noack: r.noack, resp3 },
    };
    ctx.block = Some(BlockRequest { keys: keys.to_vec(), op, serve: serve_blocked, timeout });
    Ok(Reply::NilArray)
}

fn xread(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    read_generic(ctx, args, false)
}

fn xreadgroup(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    read_generic(ctx, args, true)
}

/// Serves a blocked XREAD or XREADGROUP client from `key`, which just changed: its entries, an error when an
/// XREADGROUP reader's stream or group is gone, or None to keep waiting.
pub fn serve_blocked(ctx: &mut Ctx<'_>, w: &Waiter, key: &Bytes) -> Option<Reply> {
    match &w.op {
        BlockedOp::XRead { ids, count, resp3 } => {
            let i = w.keys.iter().position(|k| k == key)?;
            let gt = *ids.get(i)?;
            let s = ctx.peek(key)?.value.as_stream()?;
            if s.last_id <= gt {
                return None;
            }
            let start = gt.incr()?;
            let entries = entries_reply(s.range(start, StreamId::MAX, *count, false));
            Some(streams_reply(*resp3, vec![(key.clone(), entries)]))
        }
        BlockedOp::XReadGroup { group, consumer, count, noack, resp3 } => {
            let now = ctx.now_ms;
            let Some(s) = ctx.peek(key).and_then(|e| e.value.as_stream()) else {
                return Some(Reply::Error(KEY_GONE.into()));
            };
            let Some(g) = s.groups.get(group) else { return Some(Reply::Error(GROUP_GONE.into())) };
            if s.last_id <= g.last_id {
                return None;
            }
            touch_consumer(ctx, key, group, consumer);
            let s = ctx.write_as(key, Value::as_stream_mut).ok()??;
            let read = group_read(key, s, group, consumer, None, ReadHow { count: *count, noack: *noack, now })?;
            ctx.modified_quiet(key);
            for e in read.effects {
                ctx.emit(e);
            }
            Some(streams_reply(*resp3, vec![(key.clone(), read.reply)]))
        }
        _ => None,
    }
}

const G: &str = "stream";
const READ_KEYS: Keys = Keys::Streams { from: 1 };
const READGROUP_KEYS: Keys = Keys::Streams { from: 4 };

/// The stream family's rows (consumer groups' are in `stream_group.rs`).
pub static COMMANDS: &[CommandSpec] = &[
    spec("xadd", -5, WRITE | DENYOOM | FAST, Keys::one(1), xadd).rewritten().key_flags(&["RW", "update"]).tips(&["nondeterministic_output"]).key_notes("UPDATE instead of INSERT because of the optional trimming feature").doc(G, "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.", "key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count:integer]] <* | id> field value [field value ...]").complexity("O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted."),
    spec("xlen", 2, READONLY | FAST, Keys::one(1), xlen).key_flags(&["RO"]).doc(G, "5.0.0", "Return the number of messages in a stream.", "key").complexity("O(1)"),
    spec("xrange", -4, READONLY, Keys::one(1), xrange).doc(G, "5.0.0", "Returns the messages from a stream within a range of IDs.", "key start end [COUNT count:integer]").complexity("O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    spec("xrevrange", -4, READONLY, Keys::one(1), xrevrange).doc(G, "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", "key end start [COUNT count:integer]").complexity("O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    spec("xdel", -3, WRITE | FAST, Keys::one(1), xdel).key_flags(&["RW", "delete"]).doc(G, "5.0.0", "Returns the number of messages after removing them from a stream.", "key id [id ...]").complexity("O(1) for each single item to delete in the stream, regardless of the stream size."),
    spec("xtrim", -4, WRITE, Keys::one(1), xtrim).rewritten().key_flags(&["RW", "delete"]).tips(&["nondeterministic_output"]).doc(G, "5.0.0", "Deletes messages from the beginning of a stream.", "key <MAXLEN | MINID> [= | ~] threshold [LIMIT count:integer]").complexity("O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation."),
    spec("xsetid", -3, WRITE | DENYOOM | FAST, Keys::one(1), xsetid).key_flags(&["RW", "update"]).doc(G, "5.0.0", "An internal command for replicating stream values.", "key last-id [ENTRIESADDED entries-added:integer] [MAXDELETEDID max-deleted-id]").complexity("O(1)"),
    spec("xread", -4, READONLY | BLOCKING, READ_KEYS, xread).doc(G, "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", "[COUNT count:integer] [BLOCK milliseconds:integer] STREAMS key [key ...] id [id ...]").complexity("For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data."),
    spec("xreadgroup", -7, WRITE | BLOCKING, READGROUP_KEYS, xreadgroup).rewritten().key_flags(&["RO", "access"]).doc(G, "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", "GROUP group consumer [COUNT count:integer] [BLOCK milliseconds:integer] [NOACK] STREAMS key [key ...] id [id ...]").complexity("For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data."),
];
