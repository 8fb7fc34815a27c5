//! Stream consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER), XACK, XPENDING, XCLAIM,
//! XAUTOCLAIM and XINFO (STREAM [FULL], GROUPS, CONSUMERS), with Redis 7.0's replies. XREADGROUP itself is in
//! `stream.rs`, beside XREAD.
//!
//! XCLAIM and XAUTOCLAIM depend on the clock (idle times, delivery times), so they are logged as Redis propagates
//! them: one `XCLAIM ... TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <id>` per entry claimed or dropped from the
//! PEL, and `XGROUP SETID` when only the group's last id moved.

use super::args::{int, int_or, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::stream::{entries_reply, entry_reply, id_or_edge, id_reply, interval_bound, setid_effect, strict_id};
use super::{container, spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::types::stream::{Group, ENTRIES_READ_UNKNOWN};
use crate::store::types::{Stream, StreamId};
use crate::store::Value;
use bytes::Bytes;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// `NOGROUP No such key 'k' or consumer group 'g'` (XPENDING, XCLAIM, XAUTOCLAIM).
fn no_key_or_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::raw(format!("NOGROUP No such key '{}' or consumer group '{}'", lossy(key), lossy(group)))
}

/// `NOGROUP No such consumer group 'g' for key name 'k'` (XGROUP, XINFO CONSUMERS).
fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::raw(format!("NOGROUP No such consumer group '{}' for key name '{}'", lossy(group), lossy(key)))
}

const NEEDS_KEY: CmdError = CmdError::fixed("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
const ENTRIESREAD_RANGE: CmdError = CmdError::fixed("ERR value for ENTRIESREAD must be positive or -1");

fn bulk_num(n: impl ToString) -> Reply {
    Reply::Bulk(Bytes::from(n.to_string()))
}

fn entries_read(a: &[u8]) -> CmdResult<i64> {
    let n = int(a)?;
    if n < 0 && n != ENTRIES_READ_UNKNOWN {
        return Err(ENTRIESREAD_RANGE);
    }
    Ok(n)
}

/// The checks every XGROUP subcommand makes first: the key holds a stream (or is missing where `create` allows it)
/// and, unless `may_miss`, the group exists.
fn xgroup_open(ctx: &mut Ctx<'_>, args: &[Bytes], create: bool, may_miss: bool) -> CmdResult<bool> {
    let (key, group) = (&args[2], &args[3]);
    let exists = match ctx.lookup_write_as(key, Value::as_stream)? {
        None if !create => return Err(NEEDS_KEY),
        None => false,
        Some(s) => {
            if !may_miss && !s.groups.contains_key(group) {
                return Err(no_group(key, group));
            }
            true
        }
    };
    Ok(exists)
}

fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (mut mkstream, mut read) = (false, ENTRIES_READ_UNKNOWN);
    let mut i = 5;
    while i < args.len() {
        if is(&args[i], "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "ENTRIESREAD") && i + 1 < args.len() {
            read = entries_read(&args[i + 1])?;
            i += 2;
        } else {
            return Err(CmdError::subcommand_syntax(&args[1], "xgroup"));
        }
    }
    if args.len() > 8 {
        return Err(CmdError::subcommand_syntax(&args[1], "xgroup"));
    }
    let exists = xgroup_open(ctx, args, mkstream, true)?;
    let (key, group) = (&args[2], &args[3]);
    if !exists && !mkstream {
        return Err(NEEDS_KEY);
    }
    let id = if &args[4][..] == b"$" {
        ctx.lookup_write_as(key, Value::as_stream)?.map_or(StreamId::MIN, |s| s.last_id)
    } else {
        strict_id(&args[4], 0)?
    };
    let s = ctx.write_or_create(key, Value::as_stream_mut, Value::new_stream)?;
    if s.groups.contains_key(group) {
        return Err(CmdError::fixed("BUSYGROUP Consumer Group name already exists"));
    }
    s.groups.insert(Bytes::copy_from_slice(group), Group::new(id, read));
    ctx.after_write(key, Event::XgroupCreate);
    Ok(Reply::OK)
}

fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    xgroup_open(ctx, args, false, false)?;
    let (key, group) = (&args[2], &args[3]);
    let mut read = ENTRIES_READ_UNKNOWN;
    let id_arg = &args[4];
    let id = if &id_arg[..] == b"$" { None } else { Some(id_or_edge(id_arg, 0)?) };
    if args.len() == 7 {
        if !is(&args[5], "ENTRIESREAD") {
            return Err(CmdError::subcommand_syntax(&args[1], "xgroup"));
        }
        read = int(&args[6])?;
        if read < 0 && read != ENTRIES_READ_UNKNOWN {
            return Err(ENTRIESREAD_RANGE);
        }
    } else if args.len() != 5 {
        return Err(CmdError::subcommand_syntax(&args[1], "xgroup"));
    }
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(NEEDS_KEY) };
    let last = s.last_id;
    let Some(g) = s.groups.get_mut(group) else { return Err(no_group(key, group)) };
    g.last_id = id.unwrap_or(last);
    g.entries_read = read;
    ctx.after_write(key, Event::XgroupSetid);
    Ok(Reply::OK)
}

fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    xgroup_open(ctx, args, false, true)?;
    let (key, group) = (&args[2], &args[3]);
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Ok(Reply::Int(0)) };
    if s.groups.remove(group).is_none() {
        return Ok(Reply::Int(0));
    }
    // The change wakes the group's blocked readers, which are released with -NOGROUP.
    ctx.after_write(key, Event::XgroupDestroy);
    Ok(Reply::Int(1))
}

fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    xgroup_open(ctx, args, false, false)?;
    let (key, group) = (&args[2], &args[3]);
    let now = ctx.now_ms;
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(NEEDS_KEY) };
    let Some(g) = s.groups.get_mut(group) else { return Err(no_group(key, group)) };
    if g.consumers.contains_key(&args[4]) {
        return Ok(Reply::Int(0));
    }
    g.consumer(&args[4], now, true);
    ctx.after_write(key, Event::XgroupCreateconsumer);
    Ok(Reply::Int(1))
}

fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    xgroup_open(ctx, args, false, false)?;
    let (key, group) = (&args[2], &args[3]);
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(NEEDS_KEY) };
    let Some(g) = s.groups.get_mut(group) else { return Err(no_group(key, group)) };
    let Some(c) = g.consumers.remove(&args[4]) else { return Ok(Reply::Int(0)) };
    for id in &c.pel {
        g.pel.remove(id);
    }
    ctx.after_write(key, Event::XgroupDelconsumer);
    Ok(Reply::Int(c.pel.len() as i64))
}

fn xgroup_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ]))
}

fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group) = (&args[1], &args[2]);
    match ctx.lookup_write_as(key, Value::as_stream)? {
        Some(s) if s.groups.contains_key(group) => {}
        _ => return Ok(Reply::Int(0)),
    }
    let ids = args[3..].iter().map(|a| strict_id(a, 0)).collect::<CmdResult<Vec<_>>>()?;
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Ok(Reply::Int(0)) };
    let Some(g) = s.groups.get_mut(group) else { return Ok(Reply::Int(0)) };
    let n = ids.into_iter().filter(|&id| g.ack(id)).count();
    if n > 0 {
        ctx.modified_quiet(key);
    }
    Ok(Reply::Int(n as i64))
}

fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group) = (&args[1], &args[2]);
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return Err(error::SYNTAX);
    }
    let (mut start, mut end, mut count, mut min_idle, mut consumer) = (StreamId::MIN, StreamId::MAX, 0i64, 0i64, None);
    if !summary {
        let mut at = 3;
        if is(&args[3], "IDLE") {
            min_idle = int(&args[4])?;
            if args.len() < 8 {
                return Err(error::SYNTAX);
            }
            at += 2;
        }
        count = int(&args[at + 2])?.max(0);
        let (s, ex) = interval_bound(&args[at], 0)?;
        start = if ex { s.incr().ok_or(CmdError::fixed("ERR invalid start ID for the interval"))? } else { s };
        let (e, ex) = interval_bound(&args[at + 1], u64::MAX)?;
        end = if ex { e.decr().ok_or(CmdError::fixed("ERR invalid end ID for the interval"))? } else { e };
        consumer = args.get(at + 3);
    }
    let now = ctx.now_ms;
    let Some(g) = ctx.read_as(key, Value::as_stream)?.and_then(|s| s.groups.get(group)) else {
        return Err(no_key_or_group(key, group));
    };
    if summary {
        let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value()) else {
            return Ok(Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::NilArray]));
        };
        let per: Vec<Reply> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| Reply::Array(vec![Reply::Bulk(n.clone()), bulk_num(c.pel.len())]))
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            id_reply(*first),
            id_reply(*last),
            Reply::Array(per),
        ]));
    }
    let ids: Vec<StreamId> = match consumer {
        Some(c) => match g.consumers.get(c) {
            None => return Ok(Reply::Array(vec![])),
            Some(c) => c.pel.range(start..).copied().collect(),
        },
        None => g.pel.range(start..).map(|(id, _)| *id).collect(),
    };
    let mut out = Vec::new();
    for id in ids {
        if count == 0 || id > end {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        let idle = now as i64 - n.delivery_time as i64;
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::Bulk(n.consumer.clone()),
            Reply::Int(idle.max(0)),
            Reply::Int(n.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

/// The effect of a claim of `id` by the group's current state (see `stream.rs`).
fn claim_effect(
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    g: &Group,
    id: StreamId,
    time: u64,
    count: u64,
) -> Vec<Bytes> {
    let n = |v: u64| Bytes::from(v.to_string());
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        consumer.clone(),
        Bytes::from_static(b"0"),
        id.to_bytes(),
        Bytes::from_static(b"TIME"),
        n(time),
        Bytes::from_static(b"RETRYCOUNT"),
        n(count),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        g.last_id.to_bytes(),
    ]
}

/// A claim's delivery time and count: `count` None increments the count, unless `justid`.
#[derive(Debug, Clone, Copy)]
struct Claim {
    time: u64,
    count: Option<u64>,
    justid: bool,
    now: u64,
}

/// Gives pending entry `id` of `g` to `consumer` (created if needed; returns whether it was).
fn transfer(g: &mut Group, id: StreamId, consumer: &Bytes, c: Claim) -> bool {
    let (_, created) = g.consumer(consumer, c.now, true);
    let prev = g.pel.get(&id).map_or(0, |n| n.delivery_count);
    let count = match c.count {
        Some(n) => n,
        None if c.justid => prev,
        None => prev + 1,
    };
    g.deliver(id, consumer, c.time, count);
    created
}

fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group, consumer) = (&args[1], &args[2], &args[3]);
    match ctx.lookup_write_as(key, Value::as_stream)? {
        Some(s) if s.groups.contains_key(group) => {}
        _ => return Err(no_key_or_group(key, group)),
    }
    let min_idle = int_or(&args[4], CmdError::fixed("ERR Invalid min-idle-time argument for XCLAIM"))?.max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match StreamId::parse(&args[j], 0) {
            Some(id) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let (mut force, mut justid, mut time, mut retry, mut last_id) =
        (false, false, None::<i64>, None::<u64>, StreamId::MIN);
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if is(a, "FORCE") {
            force = true;
        } else if is(a, "JUSTID") {
            justid = true;
        } else if is(a, "IDLE") && more {
            j += 1;
            let idle = int_or(&args[j], CmdError::fixed("ERR Invalid IDLE option argument for XCLAIM"))?;
            time = Some(now as i64 - idle);
        } else if is(a, "TIME") && more {
            j += 1;
            time = Some(int_or(&args[j], CmdError::fixed("ERR Invalid TIME option argument for XCLAIM"))?);
        } else if is(a, "RETRYCOUNT") && more {
            j += 1;
            let n = int_or(&args[j], CmdError::fixed("ERR Invalid RETRYCOUNT option argument for XCLAIM"))?;
            retry = (n >= 0).then_some(n as u64);
        } else if is(a, "LASTID") && more {
            j += 1;
            last_id = strict_id(&args[j], 0)?;
        } else {
            return Err(CmdError::err(format!("Unrecognized XCLAIM option '{}'", lossy(a))));
        }
        j += 1;
    }
    let time = match time {
        Some(t) if t >= 0 && (t as u64) <= now => t as u64,
        _ => now,
    };
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(no_key_or_group(key, group)) };
    let Some(mut g) = s.groups.remove(group) else { return Err(no_key_or_group(key, group)) };
    let mut moved_last = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        moved_last = true;
    }
    let (mut out, mut effects, mut created, mut dirty) = (Vec::new(), Vec::new(), false, false);
    for id in ids {
        let entry = s.get(id);
        let pending = g.pel.get(&id).cloned();
        let Some(entry) = entry else {
            // The entry is gone: its PEL entry goes too.
            if let Some(n) = pending {
                effects.push(claim_effect(key, group, &n.consumer, &g, id, n.delivery_time, n.delivery_count));
                g.ack(id);
                dirty = true;
            }
            continue;
        };
        match &pending {
            None if !force => continue,
            Some(n) if min_idle > 0 && (now as i64 - n.delivery_time as i64) < min_idle => continue,
            _ => {}
        }
        created |= transfer(&mut g, id, consumer, Claim { time, count: retry, justid, now });
        dirty = true;
        if let Some(n) = g.pel.get(&id) {
            effects.push(claim_effect(key, group, consumer, &g, id, n.delivery_time, n.delivery_count));
        }
        out.push(if justid { id_reply(id) } else { entry_reply(entry) });
    }
    if moved_last && effects.is_empty() {
        effects.push(setid_effect(key, group, &g));
        dirty = true;
    }
    s.groups.insert(group.clone(), g);
    if created {
        ctx.notify(key, Event::XgroupCreateconsumer);
    }
    if dirty {
        ctx.modified_quiet(key);
    }
    for e in effects {
        ctx.emit(e);
    }
    Ok(Reply::Array(out))
}

fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group, consumer) = (&args[1], &args[2], &args[3]);
    let min_idle = int_or(&args[4], CmdError::fixed("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0);
    let (start, ex) = interval_bound(&args[5], 0)?;
    let start = if ex { start.incr().ok_or(CmdError::fixed("ERR invalid start ID for the interval"))? } else { start };
    let (mut count, mut justid) = (100i64, false);
    let mut j = 6;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() {
            count = int(&args[j + 1])
                .ok()
                .filter(|&n| (1..=i64::MAX / 16).contains(&n))
                .ok_or(CmdError::fixed("ERR COUNT must be > 0"))?;
            j += 2;
        } else if is(&args[j], "JUSTID") {
            justid = true;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let now = ctx.now_ms;
    let Some(s) = ctx.write_as(key, Value::as_stream_mut)? else { return Err(no_key_or_group(key, group)) };
    let Some(mut g) = s.groups.remove(group) else { return Err(no_key_or_group(key, group)) };
    let mut attempts = count * 10;
    let (mut out, mut deleted, mut effects, mut created) = (Vec::new(), Vec::new(), Vec::new(), false);
    let mut last_seen = None;
    let ids: Vec<StreamId> = g.pel.range(start..).map(|(id, _)| *id).collect();
    for id in ids {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        last_seen = Some(id);
        let Some(n) = g.pel.get(&id).cloned() else { continue };
        let Some(entry) = s.get(id) else {
            effects.push(claim_effect(key, group, &n.consumer, &g, id, n.delivery_time, n.delivery_count));
            g.ack(id);
            deleted.push(id_reply(id));
            count -= 1;
            continue;
        };
        if min_idle > 0 && (now as i64 - n.delivery_time as i64) < min_idle {
            continue;
        }
        created |= transfer(&mut g, id, consumer, Claim { time: now, count: None, justid, now });
        if let Some(n) = g.pel.get(&id) {
            effects.push(claim_effect(key, group, consumer, &g, id, n.delivery_time, n.delivery_count));
        }
        out.push(if justid { id_reply(id) } else { entry_reply(entry) });
        count -= 1;
    }
    // The cursor: the next pending id after the last one looked at, 0-0 at the end.
    let next = match last_seen {
        None => StreamId::MIN,
        Some(l) => g.pel.range(l..).map(|(id, _)| *id).find(|&id| id > l).unwrap_or(StreamId::MIN),
    };
    s.groups.insert(group.clone(), g);
    if created {
        ctx.notify(key, Event::XgroupCreateconsumer);
    }
    if !effects.is_empty() {
        ctx.modified_quiet(key);
    }
    for e in effects {
        ctx.emit(e);
    }
    Ok(Reply::Array(vec![id_reply(next), Reply::Array(out), Reply::Array(deleted)]))
}

fn map(items: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(items.into_iter().map(|(k, v)| (Reply::bulk_static(k), v)).collect())
}

fn opt_int(v: Option<u64>) -> Reply {
    v.map_or(Reply::Nil, |n| Reply::Int(n as i64))
}

fn read_counter(g: &Group) -> Reply {
    if g.entries_read == ENTRIES_READ_UNKNOWN {
        Reply::Nil
    } else {
        Reply::Int(g.entries_read)
    }
}

/// The fields XINFO STREAM starts with, in both forms.
fn stream_head(s: &Stream) -> Vec<(&'static str, Reply)> {
    vec![
        ("length", Reply::Int(s.len() as i64)),
        // Blocks stand for Redis's radix tree keys (one listpack each); a tree of n keys has about n + 1 nodes.
        ("radix-tree-keys", Reply::Int(s.block_count() as i64)),
        ("radix-tree-nodes", Reply::Int(s.block_count() as i64 + 1)),
        ("last-generated-id", id_reply(s.last_id)),
        ("max-deleted-entry-id", id_reply(s.max_deleted_id)),
        ("entries-added", Reply::Int(s.entries_added as i64)),
        ("recorded-first-entry-id", id_reply(s.first_id)),
    ]
}

fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(s) = ctx.read_as(&args[2], Value::as_stream)? else { return Err(error::NO_SUCH_KEY) };
    let opts = &args[3..];
    let syntax = || CmdError::subcommand_syntax(&args[1], "xinfo");
    let full = match opts.len() {
        0 => None,
        1 | 3 if is(&opts[0], "FULL") => {
            let mut count = 10i64;
            if opts.len() == 3 {
                if !is(&opts[1], "COUNT") {
                    return Err(syntax());
                }
                count = int(&opts[2])?;
                if count < 0 {
                    count = 10;
                }
            }
            Some(count as usize)
        }
        _ => return Err(syntax()),
    };
    let mut fields = stream_head(s);
    let Some(count) = full else {
        fields.push(("groups", Reply::Int(s.groups.len() as i64)));
        fields.push(("first-entry", s.edge(false).map_or(Reply::Nil, entry_reply)));
        fields.push(("last-entry", s.edge(true).map_or(Reply::Nil, entry_reply)));
        return Ok(map(fields));
    };
    let limit = if count == 0 { usize::MAX } else { count };
    fields.push(("entries", entries_reply(s.range(StreamId::MIN, StreamId::MAX, count, false))));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pending = g
                .pel
                .iter()
                .take(limit)
                .map(|(id, n)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::Bulk(n.consumer.clone()),
                        Reply::Int(n.delivery_time as i64),
                        Reply::Int(n.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, c)| {
                    let pel = c
                        .pel
                        .iter()
                        .take(limit)
                        .filter_map(|id| g.pel.get(id).map(|n| (id, n)))
                        .map(|(id, n)| {
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Int(n.delivery_time as i64),
                                Reply::Int(n.delivery_count as i64),
                            ])
                        })
                        .collect();
                    map(vec![
                        ("name", Reply::Bulk(cname.clone())),
                        ("seen-time", Reply::Int(c.seen_time as i64)),
                        ("pel-count", Reply::Int(c.pel.len() as i64)),
                        ("pending", Reply::Array(pel)),
                    ])
                })
                .collect();
            map(vec![
                ("name", Reply::Bulk(name.clone())),
                ("last-delivered-id", id_reply(g.last_id)),
                ("entries-read", read_counter(g)),
                ("lag", opt_int(s.group_lag(g))),
                ("pel-count", Reply::Int(g.pel.len() as i64)),
                ("pending", Reply::Array(pending)),
                ("consumers", Reply::Array(consumers)),
            ])
        })
        .collect();
    fields.push(("groups", Reply::Array(groups)));
    Ok(map(fields))
}

fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(s) = ctx.read_as(&args[2], Value::as_stream)? else { return Err(error::NO_SUCH_KEY) };
    Ok(Reply::Array(
        s.groups
            .iter()
            .map(|(name, g)| {
                map(vec![
                    ("name", Reply::Bulk(name.clone())),
                    ("consumers", Reply::Int(g.consumers.len() as i64)),
                    ("pending", Reply::Int(g.pel.len() as i64)),
                    ("last-delivered-id", id_reply(g.last_id)),
                    ("entries-read", read_counter(g)),
                    ("lag", opt_int(s.group_lag(g))),
                ])
            })
            .collect(),
    ))
}

fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (key, group) = (&args[2], &args[3]);
    let now = crate::util::clock::unix_ms();
    let Some(s) = ctx.read_as(key, Value::as_stream)? else { return Err(error::NO_SUCH_KEY) };
    let Some(g) = s.groups.get(group) else { return Err(no_group(key, group)) };
    Ok(Reply::Array(
        g.consumers
            .iter()
            .map(|(name, c)| {
                map(vec![
                    ("name", Reply::Bulk(name.clone())),
                    ("pending", Reply::Int(c.pel.len() as i64)),
                    ("idle", Reply::Int((now as i64 - c.seen_time as i64).max(0))),
                ])
            })
            .collect(),
    ))
}

fn xinfo_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ]))
}

const G: &str = "stream";

static XGROUP_SUBS: &[CommandSpec] = &[
    spec("create", -5, WRITE | DENYOOM, Keys::one(2), xgroup_create)
        .key_flags(&["RW", "insert"])
        .doc(
            G,
            "5.0.0",
            "Creates a consumer group.",
            "key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read:integer]",
        )
        .complexity("O(1)"),
    spec("setid", -5, WRITE, Keys::one(2), xgroup_setid)
        .key_flags(&["RW", "update"])
        .doc(
            G,
            "5.0.0",
            "Sets the last-delivered ID of a consumer group.",
            "key group <id | $> [ENTRIESREAD entries-read:integer]",
        )
        .complexity("O(1)"),
    spec("destroy", 4, WRITE, Keys::one(2), xgroup_destroy)
        .key_flags(&["RW", "delete"])
        .doc(G, "5.0.0", "Destroys a consumer group.", "key group")
        .complexity("O(N) where N is the number of entries in the group's pending entries list (PEL)."),
    spec("createconsumer", 5, WRITE | DENYOOM, Keys::one(2), xgroup_createconsumer)
        .key_flags(&["RW", "insert"])
        .doc(G, "6.2.0", "Creates a consumer in a consumer group.", "key group consumer")
        .complexity("O(1)"),
    spec("delconsumer", 5, WRITE, Keys::one(2), xgroup_delconsumer)
        .key_flags(&["RW", "delete"])
        .doc(G, "5.0.0", "Deletes a consumer from a consumer group.", "key group consumer")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, xgroup_help)
        .doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

static XINFO_SUBS: &[CommandSpec] = &[
    spec("stream", -3, READONLY, Keys::one(2), xinfo_stream)
        .doc(G, "5.0.0", "Returns information about a stream.", "key [FULL [COUNT count:integer]]")
        .complexity("O(1)"),
    spec("groups", 3, READONLY, Keys::one(2), xinfo_groups)
        .doc(G, "5.0.0", "Returns a list of the consumer groups of a stream.", "key")
        .complexity("O(1)"),
    spec("consumers", 4, READONLY, Keys::one(2), xinfo_consumers)
        .tips(&["nondeterministic_output"])
        .doc(G, "5.0.0", "Returns a list of the consumers in a consumer group.", "key group")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, xinfo_help)
        .doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

/// The consumer-group rows.
pub static COMMANDS: &[CommandSpec] = &[
    container("xgroup", XGROUP_SUBS).doc(G, "5.0.0", "A container for consumer groups commands.", ""),
    container("xinfo", XINFO_SUBS).doc(G, "5.0.0", "A container for stream introspection commands.", ""),
    spec("xack", -4, WRITE | FAST, Keys::one(1), xack).key_flags(&["RW", "update"]).doc(G, "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", "key group id [id ...]").complexity("O(1) for each message ID processed."),
    spec("xpending", -3, READONLY, Keys::one(1), xpending).tips(&["nondeterministic_output"]).doc(G, "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list.", "key group [[IDLE min-idle-time:integer] start end count:integer [consumer]]").complexity("O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer."),
    spec("xclaim", -6, WRITE | FAST, Keys::one(1), xclaim).rewritten().key_flags(&["RW", "update"]).tips(&["nondeterministic_output"]).doc(G, "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", "key group consumer min-idle-time id [id ...] [IDLE ms:integer] [TIME unix-time-milliseconds:integer] [RETRYCOUNT count:integer] [FORCE] [JUSTID] [LASTID lastid]").complexity("O(log N) with N being the number of messages in the PEL of the consumer group."),
    spec("xautoclaim", -6, WRITE | FAST, Keys::one(1), xautoclaim).rewritten().key_flags(&["RW", "delete"]).tips(&["nondeterministic_output"]).doc(G, "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", "key group consumer min-idle-time start [COUNT count:integer] [JUSTID]").complexity("O(1) if COUNT is small."),
];
