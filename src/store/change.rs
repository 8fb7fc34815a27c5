//! The one keyspace-change path.
//!
//! Every way a key changes or disappears (a command's write, DEL, expiry, eviction, FLUSHDB, RENAME, SWAPDB) calls
//! [`key_changed`] while the key's shard is still locked. It is the only place that:
//! - marks WATCHing clients dirty,
//! - turns expiries and evictions into `DEL` write effects,
//! - (as later features land) updates tag indexes, invalidates client-side caches and publishes keyspace
//!   notifications.
//!
//! Commands never touch those side structures themselves.

use super::event::Event;
use super::shard::Shard;
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
    /// Keyspace-notification event name (`set`, `del`, `expired`, `incrby`, ...).
    pub event: Event,
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

/// Applies the side effects of a change to `change.key`; the shard must be the key's, and still locked.
pub fn key_changed(shard: &Shard, change: KeyChange<'_>, sink: &mut EffectSink, listener: &dyn ChangeListener) {
    shard.touch_watchers(change.key);
    listener.key_changed(&change);
    match change.kind {
        ChangeKind::Expire | ChangeKind::Evict => match listener.effect_log() {
            Some(log) => log.removed(sink, change.db, change.key),
            None => sink.push(change.db, vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(change.key)]),
        },
        ChangeKind::Write | ChangeKind::Delete => {}
    }
}
