//! Predictive warming (WARM.*): the keys likely to be read next that are missing, about to expire or compressed
//! (WARM.PREDICT), and hints from applications about keys they are about to read (WARM.HINT). The model and its
//! counters live in `engine/warm.rs`; these commands ask it and act on the keyspace.

use super::args::{is, positive};
use super::ctx::Ctx;
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::engine::warm::{decompress, decompress_in, need, need_in, Candidate, Need, Warm};
use crate::error::{CmdError, CmdResult, SYNTAX};
use crate::protocol::Reply;
use crate::store::hash_key;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

const DEFAULT_COUNT: usize = 10;
const ZERO_COUNT: CmdError = CmdError::fixed("ERR COUNT must be positive");
const OFF: CmdError = CmdError::fixed("ERR predictive warming is off (warm-sample 0)");

fn warm_predict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (mut count, mut reasons) = (DEFAULT_COUNT, false);
    let mut i = 1;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            count = positive(&args[i + 1])? as usize;
            if count == 0 {
                return Err(ZERO_COUNT);
            }
            i += 2;
        } else if is(&args[i], "withreasons") {
            reasons = true;
            i += 1;
        } else {
            return Err(SYNTAX);
        }
    }
    let srv = ctx.srv;
    if !srv.warm.enabled() {
        return Err(OFF);
    }
    let (db, now, window, lru) = (ctx.db(), ctx.now_ms, srv.warm.window_ms(), ctx.lru_now());
    let candidates = srv.warm.candidates(Some(db), Warm::candidate_limit(count), now);
    // Shards are visited in ascending order (the command walks them one at a time), each candidate looked at in
    // its shard; the best `count` that need something are kept, in score order.
    let ks = &srv.keyspace;
    let shard_of = |c: &Candidate| ks.shard_of(hash_key(&c.key));
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| shard_of(&candidates[i]));
    let mut needs: Vec<Option<Need>> = vec![None; candidates.len()];
    for &i in &order {
        let c = &candidates[i];
        needs[i] = ctx.with_shard(db, shard_of(c), |shard, _| need_in(&shard.data, &c.key, now, window));
    }
    let mut picked: Vec<(&Candidate, Need)> =
        candidates.iter().zip(needs).filter_map(|(c, n)| n.map(|n| (c, n))).take(count).collect();
    picked.sort_by_key(|(c, _)| shard_of(c));
    for (c, n) in &picked {
        if *n == Need::Compressed
            && ctx.with_shard(db, shard_of(c), |shard, _| decompress_in(&mut shard.data, &c.key, lru))
        {
            srv.warm.stats.prewarmed.fetch_add(1, Relaxed);
        }
        srv.warm.predicted(c.id, now);
    }
    picked.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then_with(|| a.0.key.cmp(&b.0.key)));
    let reply = picked
        .into_iter()
        .map(|(c, n)| {
            if reasons {
                Reply::Array(vec![Reply::Bulk(c.key.clone()), Reply::Bulk(Bytes::from_static(n.name().as_bytes()))])
            } else {
                Reply::Bulk(c.key.clone())
            }
        })
        .collect();
    Ok(Reply::Array(reply))
}

fn warm_hint(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let srv = ctx.srv;
    if !srv.warm.enabled() {
        return Err(OFF);
    }
    let (db, now, window, lru) = (ctx.db(), ctx.now_ms, srv.warm.window_ms(), ctx.lru_now());
    let mut present = 0;
    for key in &args[1..] {
        let at = ctx.expire_of(key).unwrap_or(0);
        let state = need(ctx.peek(key).map(|e| (e, at)), now, window);
        if state != Some(Need::Missing) {
            present += 1;
        }
        if state == Some(Need::Compressed) && ctx.peek_mut(key).is_some_and(|e| decompress(e, lru)) {
            srv.warm.stats.prewarmed.fetch_add(1, Relaxed);
        }
        srv.warm.hint(db, key, now);
    }
    Ok(Reply::Int(present))
}

const G: &str = "module";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("warm.predict", -1, READONLY | ITERATES, Keys::None, warm_predict).doc(G, "1.0.0", "Returns the keys most likely to be read next that are missing, about to expire or compressed; compressed ones are decompressed into the hot tier.", "[COUNT count] [WITHREASONS]").complexity("O(C log C) with C the candidates scored (bounded)"),
    spec("warm.hint", -2, READONLY | FAST, Keys::range(1, -1, 1), warm_hint).doc(G, "1.0.0", "Tells the server these keys are about to be read: compressed ones are decompressed at once, and all are predicted to loaders; returns how many exist.", "key [key ...]").complexity("O(N) with N the keys given"),
];
