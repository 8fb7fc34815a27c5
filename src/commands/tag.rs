//! Tag commands (TAG.*): surrogate keys as Fastly and Varnish xkey use them. A key carries any number of tags;
//! TAG.INVALIDATE deletes every key of a tag in one atomic step, TAG.EXPIRE gives them all a TTL (a soft purge).
//!
//! The tags live beside the keyspace (`store::keymeta`): one index per shard, kept exact by the change path, so
//! DEL, expiry, eviction, FLUSHDB, an overwriting SET, RENAME and MOVE all update it without code here. The
//! commands that read every shard's index (TAG.KEYS, TAG.COUNT, TAG.LIST, TAG.INVALIDATE, TAG.EXPIRE) hold every
//! shard of the database (`ITERATES`), so none sees a multi-key write half done and TAG.INVALIDATE is atomic.
//!
//! Cursors (TAG.KEYS, TAG.LIST) are the last name returned, hex-encoded: iteration is in byte order, so a key or
//! tag present for the whole iteration is returned exactly once however the index changes meanwhile.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::keymeta::{self, MetaSide, MAX_TAG_BYTES_PER_KEY, MAX_TAG_LEN};
use crate::store::Entry;
use bytes::Bytes;
use std::collections::BTreeSet;

const NO_KEY: CmdError = CmdError::fixed("ERR no such key");
const EMPTY_TAG: CmdError = CmdError::fixed("ERR tags must not be empty");
const LONG_TAG: CmdError = CmdError::fixed("ERR tag is longer than 1024 bytes");
const TOO_MANY: CmdError = CmdError::fixed("ERR a key carries at most 16384 bytes of tags");
const BAD_CURSOR: CmdError = CmdError::fixed("ERR invalid cursor");
/// Names returned per call when CURSOR is given without COUNT.
const DEFAULT_COUNT: usize = 100;

pub fn check_tags(tags: &[Bytes]) -> CmdResult<()> {
    for t in tags {
        if t.is_empty() {
            return Err(EMPTY_TAG);
        }
        if t.len() > MAX_TAG_LEN {
            return Err(LONG_TAG);
        }
    }
    Ok(())
}

/// Adds `tags` to `key` (which must exist); the number of tags it did not have. Shared with CACHE.SET.
pub fn add_tags(ctx: &mut Ctx<'_>, key: &[u8], tags: &[Bytes]) -> CmdResult<usize> {
    check_tags(tags)?;
    let added = ctx.with_meta(key, |flags, side, stats| {
        let have = side.get(key).map(|m| &m.tags[..]).unwrap_or_default();
        let new: BTreeSet<&Bytes> = tags.iter().filter(|t| have.binary_search(t).is_err()).collect();
        let bytes = have.iter().map(|t| t.len()).sum::<usize>() + new.iter().map(|t| t.len()).sum::<usize>();
        if bytes > MAX_TAG_BYTES_PER_KEY {
            return Err(TOO_MANY);
        }
        if new.is_empty() {
            return Ok(0);
        }
        *flags |= Entry::HAS_META;
        Ok(side.add_tags(stats, key, tags))
    });
    let added = added.ok_or(NO_KEY)??;
    if added > 0 {
        ctx.dirty += 1;
    }
    Ok(added)
}

fn tag_add(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(add_tags(ctx, &args[1], &args[2..])? as i64))
}

fn tag_rem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    if ctx.key_meta(key).is_none() {
        return Ok(Reply::Int(0));
    }
    let removed = ctx
        .with_meta(key, |flags, side, stats| {
            let n = side.remove_tags(stats, key, &args[2..]);
            if side.get(key).is_none() {
                *flags &= !Entry::HAS_META;
            }
            n
        })
        .unwrap_or(0);
    if removed > 0 {
        ctx.dirty += 1;
    }
    Ok(Reply::Int(removed as i64))
}

fn tag_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let tags = ctx.key_meta(&args[1]).map(|m| m.tags).unwrap_or_default();
    Ok(Reply::Array(tags.into_iter().map(Reply::Bulk).collect()))
}

fn encode_cursor(last: &[u8]) -> Bytes {
    Bytes::from(last.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// `None` for the start ("0"), else the name the previous call ended at.
fn decode_cursor(c: &[u8]) -> CmdResult<Option<Vec<u8>>> {
    if c == b"0" {
        return Ok(None);
    }
    if c.is_empty() || !c.len().is_multiple_of(2) {
        return Err(BAD_CURSOR);
    }
    c.chunks(2)
        .map(|p| std::str::from_utf8(p).ok().and_then(|s| u8::from_str_radix(s, 16).ok()).ok_or(BAD_CURSOR))
        .collect::<CmdResult<Vec<u8>>>()
        .map(Some)
}

/// CURSOR / COUNT / MATCH options after `from`; `(cursor given, start after, count, pattern)`.
struct Paging {
    paged: bool,
    after: Option<Vec<u8>>,
    count: usize,
    pattern: Option<Bytes>,
}

fn paging(args: &[Bytes], from: usize, allow_match: bool) -> CmdResult<Paging> {
    let mut p = Paging { paged: false, after: None, count: usize::MAX, pattern: None };
    let mut count = None;
    let mut j = from;
    while j < args.len() {
        let Some(v) = args.get(j + 1) else { return Err(crate::error::SYNTAX) };
        if is(&args[j], "CURSOR") {
            p.paged = true;
            p.after = decode_cursor(v)?;
        } else if is(&args[j], "COUNT") {
            let n = int(v)?;
            if n < 1 {
                return Err(crate::error::SYNTAX);
            }
            count = Some(n as usize);
        } else if allow_match && is(&args[j], "MATCH") {
            p.pattern = Some(v.clone());
        } else {
            return Err(crate::error::SYNTAX);
        }
        j += 2;
    }
    // COUNT alone pages too (from the start), so the reply's shape never depends on how many names there are.
    p.paged |= count.is_some();
    p.count = count.unwrap_or(if p.paged { DEFAULT_COUNT } else { usize::MAX });
    Ok(p)
}

/// The reply of a listing: a plain array, or `[next cursor, names]` when CURSOR or COUNT was given.
fn page_reply(p: &Paging, mut names: Vec<Bytes>) -> Reply {
    let more = names.len() > p.count;
    names.truncate(p.count);
    if !p.paged {
        return Reply::Array(names.into_iter().map(Reply::Bulk).collect());
    }
    let next = match names.last() {
        Some(last) if more => encode_cursor(last),
        _ => Bytes::from_static(b"0"),
    };
    Reply::Array(vec![Reply::Bulk(next), Reply::Array(names.into_iter().map(Reply::Bulk).collect())])
}

/// Calls `f` with each shard's tag index of the selected database (shards without one are skipped).
fn each_side(ctx: &mut Ctx<'_>, mut f: impl FnMut(&MetaSide, &crate::store::ShardData)) {
    let db = ctx.db();
    for s in 0..ctx.srv.keyspace.shard_count() {
        ctx.with_shard(db, s, |shard, _| {
            if let Some(side) = shard.side.get::<MetaSide>() {
                f(side, &shard.data);
            }
        });
    }
}

/// The keys carrying any of `tags`, in byte order, after `after`, at most `limit`; keys already past their TTL
/// (not yet reclaimed) are left out.
fn keys_of(ctx: &mut Ctx<'_>, tags: &[Bytes], after: Option<&[u8]>, limit: usize) -> Vec<Bytes> {
    use std::ops::Bound;
    let now = ctx.now_ms;
    let mut out = BTreeSet::new();
    each_side(ctx, |side, data| {
        for tag in tags {
            let Some(keys) = side.keys_of(tag) else { continue };
            let start = after.map_or(Bound::Unbounded, Bound::Excluded);
            let live = keys.range::<[u8], _>((start, Bound::Unbounded)).filter(|k| {
                let exp = data.find(crate::store::hash_key(k), k).map(|i| data.expire_at(i));
                exp.is_some_and(|at| at == 0 || at > now)
            });
            out.extend(live.take(limit).cloned());
        }
    });
    out.into_iter().take(limit).collect()
}

fn tag_keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let p = paging(args, 2, false)?;
    let keys = keys_of(ctx, &args[1..2], p.after.as_deref(), p.count.saturating_add(1));
    Ok(page_reply(&p, keys))
}

fn tag_count(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    each_side(ctx, |side, _| n += side.keys_of(&args[1]).map_or(0, |k| k.len()));
    Ok(Reply::Int(n as i64))
}

fn tag_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let p = paging(args, 1, true)?;
    let limit = p.count.saturating_add(1);
    let mut out = BTreeSet::new();
    each_side(ctx, |side, _| {
        let matching = side
            .tags_after(p.after.as_deref())
            .filter(|t| p.pattern.as_ref().is_none_or(|pat| crate::util::glob::glob_match(pat, t, false)));
        out.extend(matching.take(limit).cloned());
    });
    Ok(page_reply(&p, out.into_iter().take(limit).collect()))
}

fn tag_invalidate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let db = ctx.db();
    let srv = ctx.srv;
    // The tags' key sets leave the index whole, so deleting their keys does not unindex them one by one.
    let mut keys = Vec::new();
    for s in 0..srv.keyspace.shard_count() {
        ctx.with_shard(db, s, |shard, _| {
            if let Some(side) = shard.side.get_mut::<MetaSide>() {
                for tag in &args[1..] {
                    keys.extend(side.take_tag(&srv.keyspace.meta.stats, tag));
                }
            }
        });
    }
    if args.len() > 2 {
        keys.sort_unstable();
        keys.dedup();
    }
    let mut deleted = vec![Bytes::from_static(b"DEL")];
    // What must happen while the database's shards are held is the deletion itself; the keys' records and their
    // other tags are unindexed once the shards are released (see `keymeta::defer_unindex`), and the values are
    // freed on the lazy-free thread.
    let mut values = Vec::with_capacity(keys.len());
    {
        let _deferred = keymeta::defer_unindex();
        for k in keys {
            if let Some((entry, _)) = ctx.remove_in(db, &k, Event::Del) {
                values.push(entry);
                deleted.push(k);
            }
        }
    }
    crate::store::lazyfree::free_later(values);
    let mut by_shard: Vec<Vec<Bytes>> = vec![Vec::new(); srv.keyspace.shard_count()];
    for k in &deleted[1..] {
        by_shard[srv.keyspace.shard_of(crate::store::hash_key(k))].push(k.clone());
    }
    ctx.after_unlock(move |srv| {
        let ks = &srv.keyspace;
        for (s, keys) in by_shard.iter().enumerate().filter(|(_, k)| !k.is_empty()) {
            keymeta::unindex_removed(ks, &mut ks.lock(db, s), keys);
        }
    });
    let n = deleted.len() - 1;
    if n > 0 {
        ctx.emit(deleted);
    }
    Ok(Reply::Int(n as i64))
}

fn tag_expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let secs = int(&args[2])?;
    let when = secs
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(ctx.now_ms as i64))
        .ok_or_else(|| CmdError::invalid_expire("tag.expire"))?;
    let db = ctx.db();
    let keys = keys_of(ctx, &args[1..2], None, usize::MAX);
    let mut n = 0;
    for k in keys {
        if when <= ctx.now_ms as i64 {
            if ctx.remove_in(db, &k, Event::Del).is_some() {
                ctx.emit(vec![Bytes::from_static(b"DEL"), k]);
                n += 1;
            }
        } else if ctx.set_expire(&k, when as u64, Event::Expire) {
            ctx.emit(vec![Bytes::from_static(b"PEXPIREAT"), k, Bytes::from(when.to_string())]);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

const G: &str = "module";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("tag.add", -3, WRITE | DENYOOM | FAST, Keys::one(1), tag_add).doc(G, "1.0.0", "Adds tags to an existing key; returns how many it did not have.", "key tag [tag ...]").complexity("O(N log M) with N the tags given and M the keys of each tag"),
    spec("tag.rem", -3, WRITE | FAST, Keys::one(1), tag_rem).doc(G, "1.0.0", "Removes tags from a key; returns how many it had.", "key tag [tag ...]").complexity("O(N log M) with N the tags given and M the keys of each tag"),
    spec("tag.get", 2, READONLY | FAST, Keys::one(1), tag_get).doc(G, "1.0.0", "Returns the tags of a key.", "key").complexity("O(N) with N the key's tags"),
    spec("tag.keys", -2, READONLY | ITERATES, Keys::None, tag_keys).doc(G, "1.0.0", "Returns the keys carrying a tag, all at once or a page at a time with a cursor.", "tag [CURSOR cursor] [COUNT count]").complexity("O(S log N + C) with S the shards, N the tag's keys and C the count returned"),
    spec("tag.count", 2, READONLY | ITERATES, Keys::None, tag_count).doc(G, "1.0.0", "Returns the number of keys carrying a tag.", "tag").complexity("O(S) with S the shards"),
    spec("tag.list", -1, READONLY | ITERATES, Keys::None, tag_list).doc(G, "1.0.0", "Returns the tags in use, optionally matching a pattern, all at once or a page at a time.", "[MATCH pattern] [CURSOR cursor] [COUNT count]").complexity("O(N) with N the tags visited"),
    spec("tag.invalidate", -2, WRITE | ITERATES, Keys::None, tag_invalidate).rewritten().doc(G, "1.0.0", "Deletes every key carrying any of the tags, atomically; returns how many were deleted.", "tag [tag ...]").complexity("O(N) with N the keys deleted"),
    spec("tag.expire", 3, WRITE | ITERATES, Keys::None, tag_expire).rewritten().doc(G, "1.0.0", "Sets a time to live in seconds on every key carrying a tag (a soft purge); returns how many keys.", "tag seconds:integer").complexity("O(N) with N the tag's keys"),
];
