//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in the engine's gate (every command passes it). EXEC runs with every shard its queue and its
//! watched keys need already locked (the gate's lock plan), so no other client observes a partial transaction,
//! and its effects enter the stream as one group.

use super::ctx::Ctx;
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::engine::client::{cflags, MultiState, Watched};
use crate::error::{self, CmdResult};
use crate::protocol::Reply;
use crate::store::{hash_key, WatchFlag};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.multi.is_some() {
        return Err(error::MULTI_NESTED);
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.client.info.set_flag(cflags::MULTI, true);
    Ok(Reply::OK)
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.end_multi().is_none() {
        return Err(error::DISCARD_WITHOUT_MULTI);
    }
    unwatch_in(ctx);
    Ok(Reply::OK)
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let Some(m) = ctx.client.end_multi() else { return Err(error::EXEC_WITHOUT_MULTI) };
    if m.failed {
        unwatch_in(ctx);
        return Err(error::EXECABORT);
    }
    // A watched key that expired since WATCH counts as changed: looking it up expires it, which touches the flag.
    let watched: Vec<(usize, Bytes)> = ctx.client.watched.iter().map(|w| (w.db, w.key.clone())).collect();
    for (db, key) in &watched {
        ctx.peek_in(*db, key);
    }
    let dirty = ctx.client.watch_flag.as_ref().is_some_and(|f| f.is_dirty());
    unwatch_in(ctx);
    if dirty {
        return Ok(Reply::NilArray);
    }
    Ok(crate::engine::execute::run_queued(ctx, m.queue))
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.client.multi.is_some() {
        return Err(error::WATCH_IN_MULTI);
    }
    let flag = ctx.client.watch_flag.get_or_insert_with(|| Arc::new(WatchFlag::default())).clone();
    let db = ctx.db();
    for key in &args[1..] {
        if ctx.client.watched.iter().any(|w| w.db == db && w.key == *key) {
            continue;
        }
        // Expire first, so a key already past its TTL counts as absent rather than as a later change.
        let expire_at = ctx.expire_of(key).unwrap_or(0);
        let ks = &ctx.srv.keyspace;
        let shard = ks.shard_of(hash_key(key));
        ctx.shard_at(db, shard).watchers.entry(key.clone()).or_default().push(flag.clone());
        ctx.client.watched.push(Watched { db, key: Bytes::copy_from_slice(key), expire_at });
    }
    ctx.client.info.watch_len.store(ctx.client.watched.len(), Ordering::Relaxed);
    Ok(Reply::OK)
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    unwatch_in(ctx);
    Ok(Reply::OK)
}

/// Drops every WATCH of the client, using the shard locks the command holds.
pub fn unwatch_in(ctx: &mut Ctx<'_>) {
    let watched = std::mem::take(&mut ctx.client.watched);
    if let Some(flag) = ctx.client.watch_flag.take() {
        let ks = &ctx.srv.keyspace;
        for w in &watched {
            let shard = ks.shard_of(hash_key(&w.key));
            ctx.with_shard(w.db, shard, |sh, _| sh.unwatch(&w.key, &flag));
        }
    }
    ctx.client.info.watch_len.store(0, Ordering::Relaxed);
}

/// Drops a client's MULTI state and watches (RESET).
pub fn reset(ctx: &mut Ctx<'_>) {
    ctx.client.end_multi();
    unwatch_in(ctx);
}

const G: &str = "transactions";

/// The transaction family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | TXN_CONTROL, Keys::None, multi)
        .doc(G, "1.2.0", "Starts a transaction.", "")
        .complexity("O(1)"),
    spec("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | TXN_CONTROL | RUNS_QUEUE, Keys::None, exec)
        .doc(G, "1.2.0", "Executes all commands in a transaction.", "")
        .complexity("Depends on commands in the transaction"),
    spec("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | TXN_CONTROL, Keys::None, discard)
        .doc(G, "2.0.0", "Discards a transaction.", "")
        .complexity("O(N), when N is the number of queued commands"),
    spec("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | TXN_CONTROL, Keys::range(1, -1, 1), watch)
        .key_flags(&["RO"])
        .doc(G, "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", "key [key ...]")
        .complexity("O(1) for every key."),
    spec("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, Keys::None, unwatch)
        .doc(G, "2.2.0", "Forgets about watched keys of a transaction.", "")
        .complexity("O(1)"),
];
