//! Change hooks: code that must see every keyspace change while the key's shard is locked, with the value as it
//! was before the change and `&mut` access to state of its own kept beside the shard's data.
//!
//! A copy-on-write snapshot (serialize a value the walk has not reached yet before it is overwritten) and a tag
//! index (drop and re-add a key's tags as it changes) each install one [`ChangeHooks`] with
//! [`Keyspace::add_hooks`](super::Keyspace::add_hooks) and need nothing else: the change path
//! (`store::change`) calls them for command writes, overwrites, DEL/UNLINK, both keys of RENAME and MOVE, COPY's
//! destination, lazy and active expiry, eviction, and (whole shards at once) FLUSHDB, FLUSHALL and SWAPDB.
//!
//! What belongs here: the trait, the per-shard slot holding the installed hooks, and the per-shard state hooks
//! keep. What does not: the calls themselves (`store::change` and `engine::ctx`), and anything a hook does.
//!
//! Cost: a shard with no hooks pays one length check per change; the calls sit out of line behind it.

pub use super::change::ChangeKind;
use super::change::KeyChange;
use super::shard::ShardData;
use super::value::Entry;
use std::any::{Any, TypeId};
use std::sync::Arc;

/// A change to a whole shard at once, reported per shard rather than per key so that FLUSHALL over millions of
/// keys costs each hook one call, not one per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardChange {
    /// FLUSHDB: every key of the shard is removed.
    FlushDb,
    /// FLUSHALL: every key of the shard is removed (the same for every shard of every database).
    FlushAll,
    /// SWAPDB: the shard's keys are exchanged with those of the same shard of database `other`.
    SwapDb { other: usize },
}

/// Code called on every change of the keyspace. Hooks are shared by all shards, so their methods take `&self`;
/// what a hook keeps per shard lives in the [`ShardSide`] it is handed, which changes under the shard's lock.
///
/// Calls are made with the shard locked, so a hook must not lock shards or block. Implement only what is needed:
/// every method defaults to doing nothing.
pub trait ChangeHooks: Send + Sync {
    /// Before `key` in `db` is modified, replaced or removed; `old` is its current entry with its expiry (unix ms,
    /// 0 for none), or `None` when the key is
    /// about to be created. A command that opens a key for update may end up changing nothing, and may open the
    /// same key more than once, so this can come without a following [`ChangeHooks::after_change`] or twice for
    /// one change: what it does must be idempotent (a copy-on-write snapshot saves the old value once).
    fn before_change(&self, side: &mut ShardSide, db: usize, key: &[u8], old: Option<(&Entry, u64)>) {
        let _ = (side, db, key, old);
    }

    /// After a change, with its kind and event; `new` is the key's entry now, or `None` when it was removed.
    fn after_change(&self, side: &mut ShardSide, change: &KeyChange<'_>, new: Option<&Entry>) {
        let _ = (side, change, new);
    }

    /// Before a whole-shard change of shard `shard` of `db`; `data` is every key the shard holds now.
    fn before_shard_change(
        &self,
        side: &mut ShardSide,
        db: usize,
        shard: usize,
        change: ShardChange,
        data: &ShardData,
    ) {
        let _ = (side, db, shard, change, data);
    }

    /// After a whole-shard change; `data` is what the shard holds now (empty after a flush, the other database's
    /// keys after SWAPDB).
    fn after_shard_change(&self, side: &mut ShardSide, db: usize, shard: usize, change: ShardChange, data: &ShardData) {
        let _ = (side, db, shard, change, data);
    }
}

/// The hooks installed on one shard (the same list on every shard).
#[derive(Default, Clone)]
pub struct HookList(Vec<Arc<dyn ChangeHooks>>);

impl HookList {
    /// True when nothing is installed: the whole cost of hooks on a shard without any.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The installed hooks, in installation order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ChangeHooks>> {
        self.0.iter()
    }

    pub(super) fn add(&mut self, hooks: Arc<dyn ChangeHooks>) {
        self.0.push(hooks);
    }

    /// True when `hooks` (the same `Arc`) is installed.
    pub fn contains(&self, hooks: &Arc<dyn ChangeHooks>) -> bool {
        self.0.iter().any(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(hooks)))
    }

    pub(super) fn remove(&mut self, hooks: &Arc<dyn ChangeHooks>) -> bool {
        let before = self.0.len();
        // Compared by address only: the vtable half of a fat pointer may differ between codegen units.
        self.0.retain(|h| !std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(hooks)));
        self.0.len() != before
    }
}

impl std::fmt::Debug for HookList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HookList({} installed)", self.0.len())
    }
}

/// The state hooks keep beside one shard's data (a tag index's part for this shard, a snapshot's progress), one
/// value per type. It travels with the data on SWAPDB, so what indexes the keys stays with the keys.
#[derive(Default)]
pub struct ShardSide {
    slots: Vec<(TypeId, Box<dyn Any + Send>)>,
}

impl ShardSide {
    /// The state of type `T`, if a hook stored one.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.slots.iter().find(|(t, _)| *t == TypeId::of::<T>()).and_then(|(_, v)| v.downcast_ref())
    }

    /// The state of type `T`, for update.
    pub fn get_mut<T: Any + Send>(&mut self) -> Option<&mut T> {
        self.slots.iter_mut().find(|(t, _)| *t == TypeId::of::<T>()).and_then(|(_, v)| v.downcast_mut())
    }

    /// The state of type `T`, created with its default first if there is none.
    pub fn get_or_default<T: Any + Send + Default>(&mut self) -> &mut T {
        let at = match self.slots.iter().position(|(t, _)| *t == TypeId::of::<T>()) {
            Some(at) => at,
            None => {
                self.slots.push((TypeId::of::<T>(), Box::new(T::default())));
                self.slots.len() - 1
            }
        };
        let slot: &mut dyn Any = &mut *self.slots[at].1;
        match slot.downcast_mut::<T>() {
            Some(v) => v,
            None => unreachable!("slots are keyed by their type"),
        }
    }

    /// Stores `value` as the state of its type, replacing any earlier one.
    pub fn insert<T: Any + Send>(&mut self, value: T) {
        match self.slots.iter_mut().find(|(t, _)| *t == TypeId::of::<T>()) {
            Some(slot) => slot.1 = Box::new(value),
            None => self.slots.push((TypeId::of::<T>(), Box::new(value))),
        }
    }

    /// Takes the state of type `T` out (a hook being removed).
    pub fn remove<T: Any + Send>(&mut self) -> Option<T> {
        let at = self.slots.iter().position(|(t, _)| *t == TypeId::of::<T>())?;
        self.slots.swap_remove(at).1.downcast().ok().map(|b| *b)
    }
}

impl std::fmt::Debug for ShardSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShardSide({} slots)", self.slots.len())
    }
}
