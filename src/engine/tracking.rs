//! Server-assisted client-side caching (CLIENT TRACKING): Strata's L1 tier.
//!
//! In the default mode the server remembers which keys each tracking client read, and when one of those keys
//! changes (write, expiry, eviction) it sends that client an invalidation and forgets the pair. In BCAST mode a
//! client registers key prefixes instead and hears about every change under them. Invalidations go to the client
//! itself as a RESP3 push, or to its REDIRECT client: as a push in RESP3, or as a `__redis__:invalidate` pub/sub
//! message in RESP2. FLUSHDB/FLUSHALL invalidate everything with a null key. The table of read keys is bounded by
//! `tracking-table-max-keys`: past it, keys are invalidated for their readers and forgotten, as Redis does.

use super::client::ClientRegistry;
use super::pubsub::{deliver, PubSub};
use crate::protocol::Reply;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// One client's tracking options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingMode {
    /// Client id that receives the invalidations (0 = the client itself).
    pub redirect: u64,
    pub bcast: bool,
    pub prefixes: Vec<Bytes>,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
}

/// The invalidation channel RESP2 redirect clients subscribe to.
pub const INVALIDATE_CHANNEL: &str = "__redis__:invalidate";

#[derive(Debug, Default)]
struct Tables {
    /// key → clients that read it.
    keys: HashMap<Bytes, HashSet<u64>>,
    /// client → mode.
    clients: HashMap<u64, TrackingMode>,
}

/// A BCAST invalidation waiting for the end of the command: the client, which of its prefixes matched, the key
/// and the client whose write changed it.
#[derive(Debug)]
struct PendingBcast {
    client: u64,
    prefix: usize,
    key: Bytes,
    origin: u64,
}

/// The tracking tables.
#[derive(Debug, Default)]
pub struct Tracking {
    tables: Mutex<Tables>,
    active: AtomicUsize,
    /// BCAST invalidations collected until [`Tracking::flush_bcast`], so that every key a command (an MSET, an
    /// EXEC, a script) changed under one prefix reaches a client as one message, as Redis sends them once per
    /// event-loop turn.
    pending: Mutex<Vec<PendingBcast>>,
    has_pending: AtomicBool,
    /// Keys in the table, kept beside it so that every command can compare it with the limit without the lock.
    tracked_keys: AtomicUsize,
    /// `tracking-table-max-keys` (0: no limit).
    max_keys: AtomicUsize,
    /// How many checks in a row ended still over the limit: each evicts 100 keys more than the last, as Redis's.
    over_limit_runs: AtomicU32,
}

/// Keys a check over the limit invalidates, times one plus the checks before it that could not get under it.
const LIMIT_EFFORT: usize = 100;

impl Tracking {
    /// Number of tracking clients.
    pub fn clients(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// (tracked keys, tracked (key, client) items, prefixes) for INFO.
    pub fn totals(&self) -> (usize, usize, usize) {
        let t = self.tables.lock();
        let items = t.keys.values().map(|s| s.len()).sum();
        let prefixes = t.clients.values().map(|m| m.prefixes.len()).sum();
        (t.keys.len(), items, prefixes)
    }

    /// Sets `tracking-table-max-keys`; the next command or cron tick enforces it.
    pub fn set_max_keys(&self, max: usize) {
        self.max_keys.store(max, Ordering::Relaxed);
    }

    /// Turns tracking on (or changes its options) for `client`.
    pub fn enable(&self, client: u64, mode: TrackingMode) {
        let mut t = self.tables.lock();
        if t.clients.insert(client, mode).is_none() {
            self.active.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Turns tracking off for `client` (also when it disconnects).
    pub fn disable(&self, client: u64) {
        let mut t = self.tables.lock();
        if t.clients.remove(&client).is_some() {
            self.active.fetch_sub(1, Ordering::Relaxed);
            t.keys.retain(|_, s| {
                s.remove(&client);
                !s.is_empty()
            });
            self.tracked_keys.store(t.keys.len(), Ordering::Relaxed);
        }
    }

    /// The mode of a tracking client.
    pub fn mode(&self, client: u64) -> Option<TrackingMode> {
        self.tables.lock().clients.get(&client).cloned()
    }

    /// Remembers that `client` read `keys` (default mode only).
    pub fn record_reads<'k>(&self, client: u64, keys: impl Iterator<Item = &'k [u8]>) {
        let mut t = self.tables.lock();
        for k in keys {
            t.keys.entry(Bytes::copy_from_slice(k)).or_default().insert(client);
        }
        self.tracked_keys.store(t.keys.len(), Ordering::Relaxed);
    }

    /// Keeps the table within `tracking-table-max-keys` (Redis's `trackingLimitUsedSlots`): invalidates keys for
    /// the clients that read them until it fits, at most 100 keys per call more than the calls before it that
    /// could not get there. Called before each command and by the cron.
    pub fn enforce_limit(&self, clients: &ClientRegistry, pubsub: &PubSub) {
        let max = self.max_keys.load(Ordering::Relaxed);
        if max == 0 || self.tracked_keys.load(Ordering::Relaxed) <= max {
            return;
        }
        let runs = self.over_limit_runs.load(Ordering::Relaxed) as usize;
        let mut sends = Vec::new();
        let fits = {
            let mut t = self.tables.lock();
            let over = t.keys.len() - max;
            // Chosen in one pass over the map (its order is its hash seed's, random for each process, like Redis's
            // random walk); taking the first key again after each removal would rescan the emptied front.
            let victims: Vec<Bytes> = t.keys.keys().take(over.min(LIMIT_EFFORT * (runs + 1))).cloned().collect();
            for key in victims {
                let ids = t.keys.remove(&key).unwrap_or_default();
                let keys = Reply::Array(vec![Reply::Bulk(key)]);
                sends
                    .extend(ids.into_iter().filter_map(|id| t.clients.get(&id).map(|m| (id, m.clone(), keys.clone()))));
            }
            self.tracked_keys.store(t.keys.len(), Ordering::Relaxed);
            t.keys.len() <= max
        };
        self.over_limit_runs.store(if fits { 0 } else { runs as u32 + 1 }, Ordering::Relaxed);
        // No client caused these: NOLOOP does not apply and the messages go out at once.
        for (id, mode, keys) in sends {
            send(clients, pubsub, id, &mode, keys, 0);
        }
    }

    /// Sends invalidations for a changed key. `origin` is the client that changed it (for NOLOOP).
    pub fn invalidate(&self, clients: &ClientRegistry, pubsub: &PubSub, key: &[u8], origin: u64) {
        if self.clients() == 0 {
            return;
        }
        let targets: Vec<(u64, TrackingMode)> = {
            let mut t = self.tables.lock();
            let ids: HashSet<u64> = t.keys.remove(key).unwrap_or_default();
            self.tracked_keys.store(t.keys.len(), Ordering::Relaxed);
            let mut pending = Vec::new();
            for (id, m) in &t.clients {
                if !m.bcast {
                    continue;
                }
                if m.prefixes.is_empty() {
                    pending.push((*id, 0));
                }
                // A client's prefixes never overlap (CLIENT TRACKING refuses that), so at most one matches.
                pending
                    .extend(m.prefixes.iter().enumerate().filter(|(_, p)| key.starts_with(p)).map(|(i, _)| (*id, i)));
            }
            if !pending.is_empty() {
                let mut q = self.pending.lock();
                q.extend(pending.into_iter().map(|(client, prefix)| PendingBcast {
                    client,
                    prefix,
                    key: Bytes::copy_from_slice(key),
                    origin,
                }));
                self.has_pending.store(true, Ordering::Release);
            }
            ids.into_iter().filter_map(|id| t.clients.get(&id).map(|m| (id, m.clone()))).collect()
        };
        let keys = Reply::Array(vec![Reply::Bulk(Bytes::copy_from_slice(key))]);
        for (id, mode) in targets {
            if mode.noloop && id == origin {
                continue;
            }
            send(clients, pubsub, id, &mode, keys.clone(), origin);
        }
    }

    /// Sends the BCAST invalidations collected since the last call: one message per client and prefix with every
    /// key changed under it (each once). Called when a command ends and by the server cron (expiry, eviction).
    pub fn flush_bcast(&self, clients: &ClientRegistry, pubsub: &PubSub) {
        // Every command ends here: a plain load keeps the common case (nothing pending) off the shared line.
        if !self.has_pending.load(Ordering::Acquire) || !self.has_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let pending = std::mem::take(&mut *self.pending.lock());
        // Groups in first-seen order: (client, prefix) -> each key once, with the one client that changed it
        // (`None` when several did, as Redis keeps it for NOLOOP).
        type Group = ((u64, usize), Vec<(Bytes, Option<u64>)>);
        let mut groups: Vec<Group> = Vec::new();
        for p in pending {
            let at = match groups.iter().position(|(g, _)| *g == (p.client, p.prefix)) {
                Some(i) => i,
                None => {
                    groups.push(((p.client, p.prefix), Vec::new()));
                    groups.len() - 1
                }
            };
            let keys = &mut groups[at].1;
            match keys.iter_mut().find(|(k, _)| *k == p.key) {
                Some((_, o)) if *o != Some(p.origin) => *o = None,
                Some(_) => {}
                None => keys.push((p.key, Some(p.origin))),
            }
        }
        for ((id, _), keys) in groups {
            let Some(mode) = self.mode(id) else { continue };
            let keys: Vec<(Bytes, Option<u64>)> =
                keys.into_iter().filter(|(_, o)| !(mode.noloop && *o == Some(id))).collect();
            if !mode.bcast || keys.is_empty() {
                continue;
            }
            // Keys the receiving connection changed itself are announced after its reply.
            let target = if mode.redirect != 0 { mode.redirect } else { id };
            let origin = if keys.iter().any(|(_, o)| *o == Some(target)) { target } else { 0 };
            let keys = Reply::Array(keys.into_iter().map(|(k, _)| Reply::Bulk(k)).collect());
            send(clients, pubsub, id, &mode, keys, origin);
        }
    }

    /// FLUSHDB / FLUSHALL by client `origin`: every tracking client drops its whole cache (the flushing client
    /// hears it after its reply).
    pub fn invalidate_all(&self, clients: &ClientRegistry, pubsub: &PubSub, origin: u64) {
        let targets: Vec<(u64, TrackingMode)> = {
            let mut t = self.tables.lock();
            t.keys.clear();
            self.tracked_keys.store(0, Ordering::Relaxed);
            t.clients.iter().map(|(id, m)| (*id, m.clone())).collect()
        };
        for (id, mode) in targets {
            send(clients, pubsub, id, &mode, Reply::Nil, origin);
        }
    }
}

fn send(clients: &ClientRegistry, pubsub: &PubSub, id: u64, mode: &TrackingMode, keys: Reply, origin: u64) {
    let redirected = mode.redirect != 0 && mode.redirect != id;
    let target = if redirected { mode.redirect } else { id };
    let Some(c) = clients.get(target) else {
        // The redirect target is gone: tell the tracking client (RESP3), as Redis does.
        if let Some(me) = clients.get(id).filter(|me| me.resp.load(Ordering::Relaxed) == 3) {
            let msg = Reply::Push(vec![Reply::bulk_static("tracking-redir-broken"), Reply::Int(target as i64)]);
            deliver(pubsub, &me, &msg);
        }
        return;
    };
    if c.resp.load(Ordering::Relaxed) == 3 {
        let msg = Reply::Push(vec![Reply::bulk_static("invalidate"), keys]);
        if target == origin {
            // Invalidations of the client's own write follow its reply.
            let mut buf = bytes::BytesMut::new();
            crate::protocol::encode(&mut buf, &msg, crate::protocol::Protocol::Resp3);
            c.after_reply.lock().push(buf.freeze());
        } else {
            deliver(pubsub, &c, &msg);
        }
    } else if redirected && c.subs.load(Ordering::Relaxed) > 0 {
        let msg = Reply::Push(vec![Reply::bulk_static("message"), Reply::bulk_static(INVALIDATE_CHANNEL), keys]);
        deliver(pubsub, &c, &msg);
    }
}
