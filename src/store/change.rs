//! The one keyspace-change path.
//!
//! Every way a key changes or disappears (a command's write, an overwrite, DEL, RENAME, MOVE, COPY, expiry,
//! eviction) goes through here while the key's shard is locked, in two steps:
//! - [`before_change`], before the entry is modified, replaced or removed, so change hooks see the old value;
//! - [`key_changed`], after it, which marks WATCHing clients dirty, calls the hooks' `after_change`, hands the
//!   change to the [`ChangeListener`] (keyspace notifications, client-side-caching invalidation) and turns
//!   expiries and evictions into `DEL` write effects.
//!
//! Whole-shard changes (FLUSHDB, FLUSHALL, SWAPDB) go through [`flush_shard`] and [`swap_shards`], which do the
//! same per shard instead of per key.
//!
//! Commands, the expiry cycle and eviction never touch those side structures themselves.

use super::event::Event;
use super::hooks::ShardChange;
use super::shard::{Shard, ShardData};
use crate::effects::EffectSink;
use bytes::Bytes;

/// Why a key changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Written or modified by a command (its own effect is recorded by dispatch).
    Write,
    /// Removed by a command (DEL, UNLINK, RENAME's source, a container emptied...).
    Delete,
    /// Removed because its TTL passed (lazily or by the active cycle).
    Expire,
    /// Removed by maxmemory eviction.
    Evict,
}

/// One key's change.
#[derive(Debug, Clone, Copy)]
pub struct KeyChange<'a> {
    pub db: usize,
    pub key: &'a [u8],
    pub kind: ChangeKind,
    /// The keyspace event to publish (`set`, `del`, `expired`, `incrby`, ...); `None` for the few changes Redis
    /// makes without one.
    pub event: Option<Event>,
    /// The client whose command made the change (0 for the server itself), for tracking's NOLOOP.
    pub client: u64,
}

/// Side structures that live outside the keyspace (keyspace notifications, client-side-caching invalidation):
/// the server implements this, and the change path calls it for every change.
pub trait ChangeListener {
    /// Called with the key's shard still locked.
    fn key_changed(&self, change: &KeyChange<'_>);

    /// The effect log, which counts expiries' and evictions' DELs without building them while it keeps no backlog.
    fn effect_log(&self) -> Option<&crate::effects::EffectLog> {
        None
    }
}

/// Announces that `key` of `db`, at slot `idx` of `shard` (`None`: not present, about to be created), is about to
/// change; the shard must be the key's, and locked. Call it before the entry is modified or removed.
#[inline]
pub fn before_change(shard: &mut Shard, db: usize, key: &[u8], idx: Option<u32>) {
    if !shard.hooks.is_empty() {
        run_before_hooks(shard, db, key, idx);
    }
}

#[cold]
#[inline(never)]
fn run_before_hooks(shard: &mut Shard, db: usize, key: &[u8], idx: Option<u32>) {
    let Shard { data, hooks, side, .. } = shard;
    let old = idx.and_then(|i| Some((data.entry(i)?, data.expire_at(i))));
    for h in hooks.iter() {
        h.before_change(side, db, key, old);
    }
}

/// Applies the side effects of a change to `change.key`; the shard must be the key's, and still locked.
pub fn key_changed(shard: &mut Shard, change: KeyChange<'_>, sink: &mut EffectSink, listener: &dyn ChangeListener) {
    shard.touch_watchers(change.key);
    if !shard.hooks.is_empty() {
        run_after_hooks(shard, &change);
    }
    listener.key_changed(&change);
    match change.kind {
        ChangeKind::Expire | ChangeKind::Evict => match listener.effect_log() {
            Some(log) => log.removed(sink, change.db, change.key),
            None => sink.push(change.db, vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(change.key)]),
        },
        ChangeKind::Write | ChangeKind::Delete => {}
    }
}

#[cold]
#[inline(never)]
fn run_after_hooks(shard: &mut Shard, change: &KeyChange<'_>) {
    let Shard { data, hooks, side, .. } = shard;
    // A removal leaves nothing to find: spare the lookup (TAG.INVALIDATE makes thousands in a row).
    let new = match change.kind {
        ChangeKind::Write => data.find(super::hash_key(change.key), change.key).and_then(|i| data.entry(i)),
        ChangeKind::Delete | ChangeKind::Expire | ChangeKind::Evict => None,
    };
    for h in hooks.iter() {
        h.after_change(side, change, new);
    }
}

fn shard_hooks(shard: &mut Shard, db: usize, s: usize, change: ShardChange, before: bool) {
    let Shard { data, hooks, side, .. } = shard;
    for h in hooks.iter() {
        if before {
            h.before_shard_change(side, db, s, change, data);
        } else {
            h.after_shard_change(side, db, s, change, data);
        }
    }
}

/// Empties shard `s` of `db` for FLUSHDB or FLUSHALL (`change`): marks the WATCHers of its keys dirty, runs the
/// hooks around the removal, and returns the keys removed so the caller frees them where it likes (ASYNC flushes
/// hand them to the lazy-free thread).
pub fn flush_shard(shard: &mut Shard, db: usize, s: usize, change: ShardChange) -> ShardData {
    shard.touch_watchers_of(&[&shard.data]);
    shard_hooks(shard, db, s, change, true);
    let taken = shard.data.take();
    shard_hooks(shard, db, s, change, false);
    taken
}

/// Exchanges the keys of shard `s` of databases `db_a` and `db_b` (SWAPDB). The watchers of either database see
/// every key that exists before or after the swap change; the hooks' state moves with the keys it describes.
pub fn swap_shards(a: &mut Shard, db_a: usize, b: &mut Shard, db_b: usize, s: usize) {
    shard_hooks(a, db_a, s, ShardChange::SwapDb { other: db_b }, true);
    shard_hooks(b, db_b, s, ShardChange::SwapDb { other: db_a }, true);
    let da = a.data.take();
    let dbb = b.data.take();
    a.touch_watchers_of(&[&da, &dbb]);
    b.touch_watchers_of(&[&da, &dbb]);
    a.data.replace(dbb);
    b.data.replace(da);
    std::mem::swap(&mut a.side, &mut b.side);
    // Hooks added to single shards for their keys (key metadata) go where those keys go; hooks on every shard
    // are the same list on both sides.
    std::mem::swap(&mut a.hooks, &mut b.hooks);
    shard_hooks(a, db_a, s, ShardChange::SwapDb { other: db_b }, false);
    shard_hooks(b, db_b, s, ShardChange::SwapDb { other: db_a }, false);
}
