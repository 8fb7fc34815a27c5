//! Generic keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, COPY, MOVE, TOUCH, DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB, OBJECT.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::{container, spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::change::{before_change, flush_shard, key_changed, swap_shards, ChangeKind, KeyChange};
use crate::store::event::Event;
use crate::store::ShardChange;
use crate::store::{Entry, StrValue, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.remove(k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(args[1..].iter().filter(|k| ctx.read_untouched(k).is_some()).count() as i64))
}

fn touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    for k in &args[1..] {
        // A read as far as Redis is concerned: it counts a hit or a miss.
        if ctx.read(k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn type_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Simple(ctx.read_untouched(&args[1]).map_or("none", |e| e.value.type_name())))
}

/// Visits the live keys of one shard from slot `from`, calling `f` for each. Expired keys met on the way are
/// skipped, and removed through the change path when `reap` (SCAN does, KEYS does not, as in Redis). Stops after
/// `max_slots` slots; returns the next slot, or None at the end.
pub(super) fn scan_shard(
    ctx: &mut Ctx<'_>,
    db: usize,
    shard: usize,
    from: u32,
    max_slots: usize,
    reap: bool,
    f: &mut dyn FnMut(&[u8], &Entry),
) -> Option<u32> {
    let now = ctx.now_ms;
    let srv = ctx.srv;
    let mut next = None;
    ctx.with_shard(db, shard, |sh, sink| {
        let end = sh.data.dict.slot_count();
        let mut i = from as usize;
        let mut expired = Vec::new();
        let mut visited = 0;
        while i < end && visited < max_slots {
            if let Some(s) = sh.data.dict.slot(i as u32) {
                let exp = sh.data.expire_at(i as u32);
                if exp != 0 && exp <= now {
                    if reap {
                        expired.push(i as u32);
                    }
                } else {
                    f(&s.key, &s.val);
                }
            }
            visited += 1;
            i += 1;
        }
        for idx in expired {
            let Some(key) = sh.data.key(idx).cloned() else { continue };
            before_change(sh, db, &key, Some(idx));
            if sh.data.remove(idx).is_some() {
                let change =
                    KeyChange { db, key: &key, kind: ChangeKind::Expire, event: Some(Event::Expired), client: 0 };
                key_changed(sh, change, sink, srv);
                srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
            }
        }
        next = (i < end).then_some(i as u32);
    });
    next
}

/// A SCAN cursor as Redis reads it (C `strtoul`): optional sign, decimal digits, negative values wrap, no leading
/// space, nothing after the digits; the empty string is 0.
pub fn parse_cursor(a: &[u8]) -> Option<u64> {
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        Some(c) if c.is_ascii_whitespace() => return None,
        _ => (false, a),
    };
    if digits.is_empty() {
        return if a.is_empty() { Some(0) } else { None };
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

/// MATCH / COUNT options of HSCAN, SSCAN and ZSCAN.
#[derive(Debug, Clone)]
pub struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Bytes>,
}

impl ScanOpts {
    /// Parses options from `args[from..]`.
    ///
    /// # Errors
    /// `ERR syntax error`, `ERR value is not an integer or out of range`.
    pub fn parse(args: &[Bytes], from: usize) -> CmdResult<ScanOpts> {
        let mut o = ScanOpts { count: 10, pattern: None };
        let mut j = from;
        while j < args.len() {
            if j + 1 >= args.len() {
                return Err(error::SYNTAX);
            }
            if is(&args[j], "COUNT") {
                let n = int(&args[j + 1])?;
                if n < 1 {
                    return Err(error::SYNTAX);
                }
                o.count = n as usize;
            } else if is(&args[j], "MATCH") {
                o.pattern = Some(args[j + 1].clone());
            } else {
                return Err(error::SYNTAX);
            }
            j += 2;
        }
        Ok(o)
    }

    /// True when `item` passes MATCH.
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.as_deref().is_none_or(|p| crate::util::glob::glob_match(p, item, false))
    }

    /// Walks a table from slot `cursor`: up to COUNT occupied slots (or ten times as many slots in all). Returns the
    /// next cursor (0 when done) and the slots visited.
    pub fn walk<'d, V>(
        &self,
        d: &'d crate::store::dict::Dict<V>,
        cursor: u64,
    ) -> (u64, Vec<&'d crate::store::dict::Slot<V>>) {
        let end = d.slot_count() as u64;
        let mut i = cursor;
        let mut out = Vec::new();
        let mut visited = 0;
        while i < end && out.len() < self.count && visited < self.count * 10 {
            if let Some(s) = d.slot(i as u32) {
                out.push(s);
            }
            i += 1;
            visited += 1;
        }
        (if i >= end { 0 } else { i }, out)
    }
}

/// A SCAN-family reply: `[cursor, [items...]]`.
pub fn container_scan(next: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Bulk(Bytes::from(next.to_string())), Reply::Array(items)])
}

fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let pattern = args[1].clone();
    let all = &pattern[..] == b"*";
    let db = ctx.db();
    let mut out = Vec::new();
    for s in 0..ctx.srv.keyspace.shard_count() {
        scan_shard(ctx, db, s, 0, usize::MAX, false, &mut |k, _| {
            if all || crate::util::glob::glob_match(&pattern, k, false) {
                out.push(Reply::Bulk(Bytes::copy_from_slice(k)));
            }
        });
    }
    Ok(Reply::Array(out))
}

/// SCAN cursor: the slot number shifted left by the shard bits, or'ed with the shard. Slots never move, so a key
/// present for the whole iteration is returned exactly once, however much the table grows.
fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&args[1]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let mut count = 10i64;
    let mut pattern: Option<Bytes> = None;
    let mut type_filter: Option<String> = None;
    let mut j = 2;
    while j < args.len() {
        let has_next = j + 1 < args.len();
        if is(&args[j], "COUNT") && has_next {
            count = int(&args[j + 1])?;
            if count < 1 {
                return Err(error::SYNTAX);
            }
        } else if is(&args[j], "MATCH") && has_next {
            pattern = Some(args[j + 1].clone());
        } else if is(&args[j], "TYPE") && has_next {
            type_filter = Some(String::from_utf8_lossy(&args[j + 1]).to_ascii_lowercase());
        } else {
            return Err(error::SYNTAX);
        }
        j += 2;
    }
    let bits = ctx.srv.keyspace.shard_bits();
    let nshards = ctx.srv.keyspace.shard_count() as u64;
    let mut shard = cursor & (nshards - 1);
    let mut slot = cursor >> bits;
    if slot > u32::MAX as u64 {
        return Ok(Reply::Array(vec![Reply::bulk_static("0"), Reply::Array(vec![])]));
    }
    let db = ctx.db();
    let mut found = Vec::new();
    let mut budget = (count as usize).saturating_mul(10).max(10);
    let mut next_cursor = 0u64;
    while shard < nshards {
        let mut taken = 0usize;
        let want = count as usize;
        let next = scan_shard(ctx, db, shard as usize, slot as u32, budget, true, &mut |k, e| {
            taken += 1;
            let type_ok = type_filter.as_deref().is_none_or(|t| e.value.type_name() == t);
            let match_ok = pattern.as_deref().is_none_or(|p| crate::util::glob::glob_match(p, k, false));
            if type_ok && match_ok {
                found.push(Reply::Bulk(Bytes::copy_from_slice(k)));
            }
        });
        let _ = want;
        match next {
            Some(s) => {
                next_cursor = ((s as u64) << bits) | shard;
                break;
            }
            None => {
                shard += 1;
                slot = 0;
                budget = budget.saturating_sub(taken.max(1));
                if found.len() >= count as usize || budget == 0 {
                    if shard < nshards {
                        next_cursor = shard;
                    }
                    break;
                }
            }
        }
    }
    Ok(Reply::Array(vec![Reply::Bulk(Bytes::from(next_cursor.to_string())), Reply::Array(found)]))
}

fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    use rand::Rng;
    let db = ctx.db();
    let n = ctx.srv.keyspace.shard_count();
    let mut rng = ctx.rng();
    let now = ctx.now_ms;
    for _ in 0..100 {
        // Pick a shard weighted by its size so every key is about equally likely.
        let mut sizes = Vec::with_capacity(n);
        ctx.for_each_shard(db, |_, sh, _| sizes.push(sh.data.dict.len()));
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Ok(Reply::Nil);
        }
        let mut pick = rng.gen_range(0..total);
        let mut shard = 0;
        for (i, &s) in sizes.iter().enumerate() {
            if pick < s {
                shard = i;
                break;
            }
            pick -= s;
        }
        let sh = ctx.shard_at(db, shard);
        let Some(idx) = sh.data.dict.random_slot(&mut rng) else { continue };
        let Some(slot) = sh.data.dict.slot(idx) else { continue };
        let key = slot.key.to_bytes();
        let exp = sh.data.expire_at(idx);
        if exp != 0 && exp <= now {
            // Removes it through the change path.
            ctx.peek(&key);
            continue;
        }
        return Ok(Reply::Bulk(key));
    }
    Ok(Reply::Nil)
}

fn rename_generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) -> CmdResult<Reply> {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.peek(src).is_none() {
        return Err(error::NO_SUCH_KEY);
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::OK });
    }
    if nx && ctx.peek(dst).is_some() {
        return Ok(Reply::Int(0));
    }
    let db = ctx.db();
    let Some((entry, at)) = ctx.remove_in(db, src, Event::RenameFrom) else { return Err(error::NO_SUCH_KEY) };
    ctx.put_entry(db, dst, entry, at, Event::RenameTo);
    Ok(if nx { Reply::Int(1) } else { Reply::OK })
}

fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    rename_generic(ctx, args, true)
}

fn db_arg(ctx: &Ctx<'_>, a: &[u8]) -> CmdResult<usize> {
    let n = int(a)?;
    if n < 0 || n as usize >= ctx.srv.keyspace.db_count() {
        return Err(error::DB_INDEX_OUT_OF_RANGE);
    }
    Ok(n as usize)
}

fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst) = (&args[1], &args[2]);
    let mut dst_db = ctx.db();
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        if is(&args[j], "REPLACE") {
            replace = true;
        } else if is(&args[j], "DB") && j + 1 < args.len() {
            let n = int(&args[j + 1])?;
            if n < 0 || n as usize >= ctx.srv.keyspace.db_count() {
                return Err(error::DB_INDEX_OUT_OF_RANGE);
            }
            dst_db = n as usize;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    if src == dst && dst_db == ctx.db() {
        return Err(error::SAME_OBJECT);
    }
    let Some(entry) = ctx.read_untouched(src).cloned() else { return Ok(Reply::Int(0)) };
    let at = ctx.expire_of(src).unwrap_or(0);
    if ctx.peek_in(dst_db, dst).is_some() {
        if !replace {
            return Ok(Reply::Int(0));
        }
        ctx.remove_in(dst_db, dst, Event::Del);
    }
    let mut entry = entry;
    entry.freq = crate::store::LFU_INIT_VAL;
    if entry.flags & crate::store::Entry::HAS_META != 0 {
        // Tags are copied with the value, as the TTL is.
        crate::store::keymeta::carry_to_destination(ctx.key_meta(src));
    }
    ctx.put_entry(dst_db, dst, entry, at, Event::CopyTo);
    Ok(Reply::Int(1))
}

fn move_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let dst_db = db_arg(ctx, &args[2])?;
    let db = ctx.db();
    if dst_db == db {
        return Err(error::SAME_OBJECT);
    }
    if ctx.peek(key).is_none() || ctx.peek_in(dst_db, key).is_some() {
        return Ok(Reply::Int(0));
    }
    let Some((entry, at)) = ctx.remove_in(db, key, Event::MoveFrom) else { return Ok(Reply::Int(0)) };
    ctx.put_entry(dst_db, key, entry, at, Event::MoveTo);
    Ok(Reply::Int(1))
}

fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let mut n = 0;
    ctx.for_each_shard(db, |_, sh, _| n += sh.data.dict.len());
    Ok(Reply::Int(n as i64))
}

fn flush_mode(ctx: &Ctx<'_>, args: &[Bytes]) -> CmdResult<bool> {
    match args.get(1) {
        None => Ok(ctx.srv.hot.lazyfree_user_flush.load(Ordering::Relaxed)),
        Some(a) if args.len() == 2 && is(a, "ASYNC") => Ok(true),
        Some(a) if args.len() == 2 && is(a, "SYNC") => Ok(false),
        _ => Err(error::SYNTAX),
    }
}

/// Empties database `db` (its shards must be locked by the caller's plan).
fn flush_db(ctx: &mut Ctx<'_>, db: usize, lazy: bool, change: ShardChange) {
    let mut garbage = Vec::new();
    for s in 0..ctx.srv.keyspace.shard_count() {
        garbage.push(flush_shard(ctx.shard_at(db, s), db, s, change));
    }
    ctx.dirty += 1;
    if lazy {
        crate::store::lazyfree::free_later(garbage);
    }
    // Clients blocked on keys of the database are looked at again: XREADGROUP readers whose stream went are
    // released with an error, as Redis does; the others keep waiting.
    let waited = ctx.srv.blocking.keys_in(db);
    ctx.ready.extend(waited.into_iter().map(|k| (db, k)));
}

fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_mode(ctx, args)?;
    let db = ctx.db();
    flush_db(ctx, db, lazy, ShardChange::FlushDb);
    ctx.srv.tracking.invalidate_all(&ctx.srv.clients, &ctx.srv.pubsub, ctx.acting_for);
    ctx.srv.keyspace.note_flush();
    Ok(Reply::OK)
}

fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let lazy = flush_mode(ctx, args)?;
    for db in 0..ctx.srv.keyspace.db_count() {
        flush_db(ctx, db, lazy, ShardChange::FlushAll);
    }
    ctx.srv.tracking.invalidate_all(&ctx.srv.clients, &ctx.srv.pubsub, ctx.acting_for);
    ctx.srv.keyspace.note_flush();
    Ok(Reply::OK)
}

fn swapdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let a = int(&args[1]).map_err(|_| CmdError::err("invalid first DB index"))?;
    let b = int(&args[2]).map_err(|_| CmdError::err("invalid second DB index"))?;
    let n = ctx.srv.keyspace.db_count() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(error::DB_INDEX_OUT_OF_RANGE);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        for s in 0..ctx.srv.keyspace.shard_count() {
            if let Some((sa, sb)) = ctx.shard_pair((a, s), (b, s)) {
                swap_shards(sa, a, sb, b, s);
            }
        }
    }
    ctx.dirty += 1;
    ctx.srv.keyspace.note_flush();
    // Clients blocked on keys of either database are looked at again (Redis's scanDatabaseForReadyKeys and
    // scanDatabaseForDeletedKeys): one whose key the swap brought in is served, an XREADGROUP reader whose stream
    // went is released with an error; the serving step checks.
    for db in [a, b] {
        for key in ctx.srv.blocking.keys_in(db) {
            ctx.ready.push((db, key));
        }
    }
    Ok(Reply::OK)
}

fn lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.srv.hot.policy().is_lfu()
}

fn object_encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.read_untouched(&args[2]).map_or(Reply::Nil, |e| Reply::bulk_static(e.value.encoding())))
}

fn object_freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some((freq, access)) = ctx.read_untouched(&args[2]).map(|e| (e.freq, e.access)) else {
        return Ok(Reply::Nil);
    };
    if !lfu_policy(ctx) {
        return Err(CmdError::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    let decay = ctx.srv.hot.lfu_decay_time.load(Ordering::Relaxed);
    Ok(Reply::Int(crate::store::lfu::decayed(freq, access, ctx.srv.lru_clock(), decay) as i64))
}

fn object_idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(access) = ctx.read_untouched(&args[2]).map(|e| e.access) else { return Ok(Reply::Nil) };
    if lfu_policy(ctx) {
        return Err(CmdError::err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    Ok(Reply::Int(ctx.srv.lru_clock().saturating_sub(access) as i64))
}

fn object_refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let shared_ints = ctx.srv.hot.maxmemory.load(Ordering::Relaxed) == 0 || !lfu_or_lru(ctx);
    Ok(match ctx.read_untouched(&args[2]) {
        None => Reply::Nil,
        // Redis shares the integers 0..9999 between keys.
        Some(Entry { value: Value::Str(StrValue::Int(n)), .. }) if shared_ints && (0..10000).contains(n) => {
            Reply::Int(i32::MAX as i64)
        }
        Some(_) => Reply::Int(1),
    })
}

fn lfu_or_lru(ctx: &Ctx<'_>) -> bool {
    ctx.srv.hot.policy().is_lru_or_lfu()
}

/// Builds a HELP reply from lines, ending with the HELP entry every Redis help text ends with.
pub fn help_reply(lines: &[&str]) -> Reply {
    let tail = ["HELP", "    Prints this help."];
    Reply::Array(lines.iter().chain(tail.iter()).map(|l| Reply::SimpleOwned(l.to_string())).collect())
}

fn object_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ]))
}

const G: &str = "generic";
/// Commands of the server group that act on the keyspace as a whole.
const KEYSPACE_DANGEROUS: &[&str] = &["keyspace", "dangerous"];

static OBJECT_SUBS: &[CommandSpec] = &[
    spec("encoding", 3, READONLY, Keys::one(2), object_encoding)
        .tips(&["nondeterministic_output"])
        .key_flags(&["RO"])
        .doc(G, "2.2.3", "Returns the internal encoding of a Redis object.", "key")
        .complexity("O(1)"),
    spec("freq", 3, READONLY, Keys::one(2), object_freq)
        .tips(&["nondeterministic_output"])
        .key_flags(&["RO"])
        .doc(G, "4.0.0", "Returns the logarithmic access frequency counter of a Redis object.", "key")
        .complexity("O(1)"),
    spec("idletime", 3, READONLY, Keys::one(2), object_idletime)
        .tips(&["nondeterministic_output"])
        .key_flags(&["RO"])
        .doc(G, "2.2.3", "Returns the time since the last access to a Redis object.", "key")
        .complexity("O(1)"),
    spec("refcount", 3, READONLY, Keys::one(2), object_refcount)
        .tips(&["nondeterministic_output"])
        .key_flags(&["RO"])
        .doc(G, "2.2.3", "Returns the reference count of a value of a key.", "key")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, object_help)
        .doc(G, "6.2.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

/// The keyspace family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, Keys::range(1, -1, 1), del).key_flags(&["RM", "delete"]).tips(&["request_policy:multi_shard", "response_policy:agg_sum"]).doc(G, "1.0.0", "Deletes one or more keys.", "key [key ...]").complexity("O(N) where N is the number of keys that will be removed."),
    spec("unlink", -2, WRITE | FAST, Keys::range(1, -1, 1), del).key_flags(&["RM", "delete"]).tips(&["request_policy:multi_shard", "response_policy:agg_sum"]).doc(G, "4.0.0", "Asynchronously deletes one or more keys.", "key [key ...]").complexity("O(1) for each key removed regardless of its size."),
    spec("exists", -2, READONLY | FAST, Keys::range(1, -1, 1), exists).key_flags(&["RO"]).tips(&["request_policy:multi_shard", "response_policy:agg_sum"]).doc(G, "1.0.0", "Determines whether one or more keys exist.", "key [key ...]").complexity("O(N) where N is the number of keys to check."),
    spec("touch", -2, READONLY | FAST, Keys::range(1, -1, 1), touch).key_flags(&["RO"]).tips(&["request_policy:multi_shard", "response_policy:agg_sum"]).doc(G, "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "key [key ...]").complexity("O(N) where N is the number of keys that will be touched."),
    spec("type", 2, READONLY | FAST, Keys::one(1), type_cmd).key_flags(&["RO"]).doc(G, "1.0.0", "Determines the type of value stored at a key.", "key").complexity("O(1)"),
    spec("keys", 2, READONLY | ITERATES, Keys::None, keys).acl(&["dangerous"]).tips(&["request_policy:all_shards", "nondeterministic_output_order"]).doc(G, "1.0.0", "Returns all key names that match a pattern.", "pattern").complexity("O(N) with N being the number of keys in the database"),
    spec("scan", -2, READONLY | ITERATES, Keys::None, scan).tips(&["nondeterministic_output", "request_policy:special"]).doc(G, "2.8.0", "Iterates over the key names in the database.", "cursor:integer [MATCH pattern] [COUNT count] [TYPE type]").complexity("O(1) for every call. O(N) for a complete iteration."),
    spec("randomkey", 1, READONLY | ITERATES, Keys::None, randomkey).tips(&["request_policy:all_shards", "nondeterministic_output"]).doc(G, "1.0.0", "Returns a random key name from the database.", "").complexity("O(1)"),
    spec("rename", 3, WRITE, Keys::range(1, 2, 1), rename).key_flags_each(&[&["RW", "access", "delete"], &["OW", "update"]]).doc(G, "1.0.0", "Renames a key and overwrites the destination.", "key newkey").complexity("O(1)"),
    spec("renamenx", 3, WRITE | FAST, Keys::range(1, 2, 1), renamenx).key_flags_each(&[&["RW", "access", "delete"], &["OW", "insert"]]).doc(G, "1.0.0", "Renames a key only when the target key name doesn't exist.", "key newkey").complexity("O(1)"),
    spec("copy", -3, WRITE | DENYOOM | GLOBAL, Keys::range(1, 2, 1), copy).key_flags_each(&[&["RO", "access"], &["OW", "update"]]).doc(G, "6.2.0", "Copies the value of a key to a new key.", "source destination [DB destination-db] [REPLACE]").complexity("O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
    spec("move", 3, WRITE | FAST | GLOBAL, Keys::one(1), move_cmd).doc(G, "1.0.0", "Moves a key to another database.", "key db").complexity("O(1)"),
    spec("dbsize", 1, READONLY | FAST | ITERATES, Keys::None, dbsize).acl(&["keyspace"]).tips(&["request_policy:all_shards", "response_policy:agg_sum"]).doc("server", "1.0.0", "Returns the number of keys in the database.", "").complexity("O(1)"),
    spec("flushdb", -1, WRITE | GLOBAL, Keys::None, flushdb).acl(KEYSPACE_DANGEROUS).tips(&["request_policy:all_shards", "response_policy:all_succeeded"]).doc("server", "1.0.0", "Removes all keys from the current database.", "[flush-type=ASYNC | SYNC]").complexity("O(N) where N is the number of keys in the selected database"),
    spec("flushall", -1, WRITE | GLOBAL, Keys::None, flushall).acl(KEYSPACE_DANGEROUS).tips(&["request_policy:all_shards", "response_policy:all_succeeded"]).doc("server", "1.0.0", "Removes all keys from all databases.", "[flush-type=ASYNC | SYNC]").complexity("O(N) where N is the total number of keys in all databases"),
    spec("swapdb", 3, WRITE | FAST | GLOBAL, Keys::None, swapdb).acl(KEYSPACE_DANGEROUS).doc("server", "4.0.0", "Swaps two Redis databases.", "index1:integer index2:integer").complexity("O(N) where N is the count of clients watching or blocking on keys from both databases."),
    container("object", OBJECT_SUBS).doc(G, "2.2.3", "A container for object introspection commands.", ""),
];
