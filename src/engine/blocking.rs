//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD, XREADGROUP...).
//!
//! A blocking command that finds no data registers a [`Waiter`] on its keys and its connection awaits the reply.
//! When a write makes one of those keys hold data, the engine serves the waiters of that key first-come first-served,
//! right after the writing command, by running the waiter's operation on its behalf and sending the reply to the
//! waiting connection. A waiter is claimed exactly once: by the server serving it, by its timeout, by CLIENT UNBLOCK
//! or by its connection closing.

use crate::protocol::Reply;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Serves a blocked client from `key`, which just gained data, in a context holding the key's shard: the reply,
/// or None when the key cannot serve it after all (the client keeps waiting).
pub type ServeFn = fn(&mut crate::engine::Ctx<'_>, &Waiter, &Bytes) -> Option<Reply>;

/// What a blocked client wants done once a key has data.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockedOp {
    /// BLPOP / BRPOP.
    Pop { left: bool },
    /// BLMOVE / BRPOPLPUSH.
    Move { dst: Bytes, from_left: bool, to_left: bool },
    /// BLMPOP.
    MPop { left: bool, count: usize },
    /// BZPOPMIN / BZPOPMAX.
    ZPop { min: bool },
    /// BZMPOP.
    ZMPop { min: bool, count: usize },
    /// XREAD BLOCK: entries after `ids[i]` of `keys[i]`, at most `count`; the reply shape depends on the waiting
    /// client's protocol (a map in RESP3).
    XRead { ids: Vec<crate::store::types::StreamId>, count: usize, resp3: bool },
    /// XREADGROUP BLOCK with `>`: new entries for `consumer` of `group`.
    XReadGroup { group: Bytes, consumer: Bytes, count: usize, noack: bool, resp3: bool },
}

impl BlockedOp {
    /// The reply when the wait ends without data (timeout or CLIENT UNBLOCK TIMEOUT).
    pub fn timeout_reply(&self) -> Reply {
        // Redis answers a null array for every blocking command, BLMOVE included.
        Reply::NilArray
    }

    /// True when serving the client takes the data it waits for (a pop), so a waiter that cannot be served means
    /// those after it cannot be either. Stream readers only read: each is tried in turn.
    pub fn takes_data(&self) -> bool {
        !matches!(self, BlockedOp::XRead { .. } | BlockedOp::XReadGroup { .. })
    }
}

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;

/// One blocked client.
#[derive(Debug)]
pub struct Waiter {
    pub client_id: u64,
    pub db: usize,
    pub keys: Vec<Bytes>,
    pub op: BlockedOp,
    pub serve: ServeFn,
    state: AtomicU8,
    tx: Mutex<Option<oneshot::Sender<Reply>>>,
}

impl Waiter {
    /// Takes the waiter for serving or cancelling; false if someone else already did.
    pub fn claim(&self) -> bool {
        self.state.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Gives a claimed waiter back (the key turned out to have no usable data).
    pub fn unclaim(&self) {
        self.state.store(WAITING, Ordering::Release);
    }

    /// Delivers the reply to the waiting connection.
    pub fn send(&self, reply: Reply) {
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send(reply);
        }
    }
}

/// Waiters per (database, key), longest-waiting first.
type WaitQueues = HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>;

/// Every blocked client, by key.
#[derive(Debug, Default)]
pub struct Blocking {
    by_key: Mutex<WaitQueues>,
    by_client: Mutex<HashMap<u64, Arc<Waiter>>>,
    count: AtomicUsize,
    /// Keys with waiters that expiry or eviction removed, for whoever runs next to serve (Redis's
    /// signalDeletedKeyAsReady): XREADGROUP readers are released with an error when their stream goes.
    gone: Mutex<Vec<(usize, Bytes)>>,
}

impl Blocking {
    /// Number of blocked clients (INFO blocked_clients).
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Registers a waiter; returns it and the receiver its connection awaits.
    pub fn register(
        &self,
        client_id: u64,
        db: usize,
        keys: Vec<Bytes>,
        op: BlockedOp,
        serve: ServeFn,
    ) -> (Arc<Waiter>, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        let w = Arc::new(Waiter {
            client_id,
            db,
            keys,
            op,
            serve,
            state: AtomicU8::new(WAITING),
            tx: Mutex::new(Some(tx)),
        });
        let mut map = self.by_key.lock();
        for k in &w.keys {
            map.entry((db, k.clone())).or_default().push_back(w.clone());
        }
        self.by_client.lock().insert(client_id, w.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        (w, rx)
    }

    /// Forgets a waiter (served, timed out, unblocked or disconnected).
    pub fn remove(&self, w: &Arc<Waiter>) {
        let mut map = self.by_key.lock();
        for k in &w.keys {
            let id = (w.db, k.clone());
            if let Some(q) = map.get_mut(&id) {
                q.retain(|x| !Arc::ptr_eq(x, w));
                if q.is_empty() {
                    map.remove(&id);
                }
            }
        }
        let mut by_client = self.by_client.lock();
        if by_client.get(&w.client_id).is_some_and(|x| Arc::ptr_eq(x, w)) {
            by_client.remove(&w.client_id);
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// True when some client waits on `key` in `db`.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        self.count() > 0 && self.by_key.lock().contains_key(&(db, Bytes::copy_from_slice(key)))
    }

    /// Notes that `key` of `db`, which clients wait on, was removed by expiry or eviction.
    pub fn note_gone(&self, db: usize, key: &[u8]) {
        if self.has_waiters(db, key) {
            self.gone.lock().push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// The keys [`Blocking::note_gone`] collected, to be served.
    pub fn take_gone(&self) -> Vec<(usize, Bytes)> {
        if self.count() == 0 && self.gone.lock().is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut *self.gone.lock())
    }

    /// The keys some client waits on in `db` (SWAPDB looks for those the swap brought in).
    pub fn keys_in(&self, db: usize) -> Vec<Bytes> {
        if self.count() == 0 {
            return Vec::new();
        }
        self.by_key.lock().keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect()
    }

    /// The longest-waiting client on `key` that is still waiting and not in `skip` (tried already).
    pub fn first_waiting_except(&self, db: usize, key: &Bytes, skip: &[Arc<Waiter>]) -> Option<Arc<Waiter>> {
        let map = self.by_key.lock();
        map.get(&(db, key.clone()))?
            .iter()
            .find(|w| w.state.load(Ordering::Acquire) == WAITING && !skip.iter().any(|s| Arc::ptr_eq(s, w)))
            .cloned()
    }

    /// The waiter of a client, if it is blocked (CLIENT UNBLOCK).
    pub fn of_client(&self, client_id: u64) -> Option<Arc<Waiter>> {
        self.by_client.lock().get(&client_id).cloned()
    }
}
