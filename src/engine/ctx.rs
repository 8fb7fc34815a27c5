//! `Ctx`: what a handler works with. The server, the calling client, the command's time snapshot, the shard locks
//! held for this command, and the effect sink.
//!
//! All key access goes through `Ctx` so that lazy expiry, access tracking and the keyspace-change path are applied
//! the same way for every command. Shards are locked by the gate before the handler runs (every key the command
//! table names, in global order); a handler that reaches a shard not yet held locks it on demand.

use crate::effects::EffectSink;
use crate::engine::client::Session;
use crate::engine::state::Server;
use crate::error::{CmdResult, WRONGTYPE};
use crate::store::change::{before_change, key_changed, ChangeKind, KeyChange};
use crate::store::event::Event;
use crate::store::keymeta::{KeyMeta, MetaHooks, MetaSide, MetaStats};
use crate::store::{hash_key, Entry, HeldShard, Shard, StrValue, Value};
use bytes::Bytes;
use smallvec::SmallVec;
use std::sync::atomic::Ordering;

/// Who is running the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A client over the socket.
    Client,
    /// A command queued in MULTI, run by EXEC.
    Exec,
    /// A replica applying its primary's stream (no expiry of its own, no reply).
    Primary,
    /// A Lua script's `redis.call`.
    Script,
}

/// What to do with an existing TTL when a key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Drop any TTL (plain SET).
    Clear,
    /// Keep the TTL the key had (KEEPTTL, in-place updates).
    Keep,
    /// Set this absolute expiry in unix ms.
    At(u64),
}

/// The handler's context.
pub struct Ctx<'a> {
    pub srv: &'a Server,
    pub client: &'a mut Session,
    /// Unix ms at the start of the command (Redis's `commandTimeSnapshot`).
    pub now_ms: u64,
    /// When the command started (its duration goes to commandstats).
    pub started: crate::util::clock::Instant,
    pub caller: Caller,
    /// Effects produced beside the command's own (expired keys' DELs, rewritten forms).
    pub sink: EffectSink,
    /// Number of changes made; a write command with `dirty == 0` produces no effect.
    pub dirty: u64,
    /// Set by a `Rewritten` handler whose arguments as sent are already the replayable form this time (plain SET):
    /// the gate then logs the argv itself, copied only when the log keeps it.
    pub effect_as_sent: bool,
    /// Keys that gained data while clients wait on them; the gate serves those clients after the command.
    pub ready: Vec<(usize, Bytes)>,
    /// Set by a blocking command that found no data: the keys and operation to wait for, and the timeout.
    pub block: Option<BlockRequest>,
    /// The lock plan gave up on a shard a running script holds: the gate releases everything and retries the
    /// command later, so a runtime worker never waits out a script (see `engine/script`).
    pub yielded: bool,
    /// The client the changes are made for (tracking's NOLOOP and the order of its invalidations): the caller,
    /// or the blocked client whose command a write is serving.
    pub acting_for: u64,
    /// Held shard guards by global shard id; inline for the common one-to-four shards, so no allocation.
    locks: SmallVec<[(usize, HeldShard<'a>); 4]>,
    /// Where the last key looked up was found (see `memo_hit`).
    memo: Option<Memo>,
    /// The slot (global shard id, slot) whose key the change hooks were last told is about to change, so a
    /// handler opening its key several times for one change announces it once, with the value as it was. Reset by
    /// every completed change and by whatever can move keys between slots (see `forget_announced`).
    announced: Option<(usize, u32)>,
    lru: u32,
    lfu: bool,
    /// An LFU policy or allkeys-tinylfu is selected: accesses raise the entries' LFU counters.
    /// allkeys-tinylfu is selected: lookups feed its sketch, new keys enter its window.
    tinylfu: bool,
    /// Work for after the locks are released (see [`Ctx::after_unlock`]).
    deferred: Vec<crate::engine::client::AfterReply>,
}

/// A found key's place: database, shard (global id and index into the held locks) and slot.
#[derive(Debug, Clone, Copy)]
struct Memo {
    db: usize,
    gid: usize,
    li: usize,
    idx: u32,
}

/// A blocking command's wish to wait.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    pub op: crate::engine::blocking::BlockedOp,
    /// Serves the client once a key has data (the blocking command's family provides it).
    pub serve: crate::engine::blocking::ServeFn,
    /// None waits forever.
    pub timeout: Option<std::time::Duration>,
}

impl<'a> Ctx<'a> {
    /// A context for one command (or one EXEC).
    pub fn new(srv: &'a Server, client: &'a mut Session, caller: Caller) -> Ctx<'a> {
        let started = crate::util::clock::now();
        let now_ms = crate::util::clock::unix_us_at(started) / 1000;
        let acting_for = client.info.id;
        let policy = srv.hot.policy();
        let tinylfu = policy == crate::store::evict::Policy::AllkeysTinyLfu;
        Ctx {
            srv,
            client,
            now_ms,
            started,
            caller,
            sink: EffectSink::default(),
            dirty: 0,
            effect_as_sent: false,
            ready: Vec::new(),
            block: None,
            yielded: false,
            acting_for,
            locks: SmallVec::new(),
            memo: None,
            announced: None,
            lru: srv.lru_clock_at(now_ms),
            // allkeys-tinylfu keeps the entries' LFU counters too (snapshots carry them, and a restart seeds the
            // sketch from them: `TinyLfu::seed`), and so do `adaptive-ttl` prefixes (their keys' frequency).
            lfu: policy.is_lfu() || tinylfu || srv.keyspace.meta.prefixes.any(),
            tinylfu,
            deferred: Vec::new(),
        }
    }

    /// Runs `f` once this command (or the EXEC or script it runs in) has released its shard locks and logged its
    /// effects; for a connection, once its reply has been written, before the client's next command. For clean-up
    /// nobody else can observe, which must not lengthen the time other clients wait for the shards nor this
    /// client's reply (TAG.INVALIDATE's unindexing).
    pub fn after_unlock(&mut self, f: impl FnOnce(&Server) + Send + 'static) {
        self.deferred.push(crate::engine::client::AfterReply(Box::new(f)));
    }

    /// The selected database.
    #[inline]
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// Locks, in global order, the shards of `keys` in `db` (before the handler runs).
    pub fn lock_keys<'k>(&mut self, db: usize, keys: impl Iterator<Item = &'k [u8]>) {
        let ks = &self.srv.keyspace;
        let mut gids: SmallVec<[usize; 8]> = keys.map(|k| ks.global_id(db, ks.shard_of(hash_key(k)))).collect();
        self.lock_gids(&mut gids);
    }

    /// Locks the shard of one key (the common single-key command, without the general path's sorting).
    pub fn lock_key(&mut self, db: usize, key: &[u8]) {
        let ks = &self.srv.keyspace;
        let gid = ks.global_id(db, ks.shard_of(hash_key(key)));
        if !self.locks.iter().any(|(g, _)| *g == gid) {
            self.acquire_planned(gid);
        }
    }

    /// Locks the given global shard ids (sorted here) that are not held yet, in ascending order.
    pub fn lock_gids(&mut self, gids: &mut [usize]) {
        gids.sort_unstable();
        for (i, &g) in gids.iter().enumerate() {
            if i > 0 && gids[i - 1] == g {
                continue;
            }
            if !self.locks.iter().any(|(h, _)| *h == g) && !self.acquire_planned(g) {
                return;
            }
        }
    }

    /// Takes a lock of the plan. Uncontended it is one try; contended while a script runs, it waits a little at a
    /// time and gives up (setting `yielded`) if the shard stays taken, since the holder may be the script. Scripts'
    /// own locks always wait.
    fn acquire_planned(&mut self, gid: usize) -> bool {
        if self.caller == Caller::Script {
            self.acquire(gid);
            return true;
        }
        debug_assert!(self.locks.iter().all(|(h, _)| *h < gid), "shard {gid} planned out of order");
        let scripts = &self.srv.scripts.state;
        match self.srv.keyspace.lock_held_unless(gid, || scripts.active()) {
            Some(g) => {
                self.locks.push((gid, g));
                true
            }
            None => {
                self.yielded = true;
                false
            }
        }
    }

    /// True when this command holds shard `gid`.
    pub fn holds_shard(&self, gid: usize) -> bool {
        self.locks.iter().any(|(g, _)| *g == gid)
    }

    /// The highest shard id held.
    pub fn highest_held(&self) -> Option<usize> {
        self.locks.iter().map(|(g, _)| *g).max()
    }

    /// Locks shard `gid`, which comes after every shard held (a script's undeclared key), waiting for it.
    pub fn lock_gid_in_order(&mut self, gid: usize) {
        self.acquire(gid);
    }

    /// Tries to lock shard `gid`, which comes before some shard held, for up to `patience`. Never waits longer,
    /// since the holder may be waiting for a shard this command holds.
    pub fn try_lock_gid_out_of_order(&mut self, gid: usize, patience: std::time::Duration) -> bool {
        match self.srv.keyspace.try_lock_held_for(gid, patience) {
            Some(g) => {
                self.locks.push((gid, g));
                true
            }
            None => false,
        }
    }

    /// Takes one more shard lock. Every lock a command takes must come after those it holds in the global order
    /// (ascending ids), or two commands could each wait for the other: the lock plan takes declared keys in
    /// order, and a command that reaches further shards (EXEC of iterating commands, a script's undeclared
    /// keys) must have planned for them. Debug builds assert the order, so the tests and fuzzers catch a plan
    /// that misses a shard.
    fn acquire(&mut self, gid: usize) -> usize {
        debug_assert!(
            self.locks.iter().all(|(h, _)| *h < gid),
            "shard {gid} locked out of order while holding {:?}",
            self.locks.iter().map(|(h, _)| *h).collect::<Vec<_>>()
        );
        self.locks.push((gid, self.srv.keyspace.lock_held(gid)));
        self.locks.len() - 1
    }

    /// Locks every shard of every database (FLUSHALL, SWAPDB, MOVE, and EXEC of such commands).
    pub fn lock_all(&mut self) {
        let mut all: Vec<usize> = (0..self.srv.keyspace.total_shards()).collect();
        self.lock_gids(&mut all);
    }

    /// Releases every shard lock.
    pub fn unlock_all(&mut self) {
        self.forget_announced();
        self.locks.clear();
    }

    /// True when any shard lock is held.
    pub fn holds_locks(&self) -> bool {
        !self.locks.is_empty()
    }

    fn lock_index(&mut self, gid: usize) -> usize {
        if let Some(i) = self.locks.iter().position(|(g, _)| *g == gid) {
            return i;
        }
        self.acquire(gid)
    }

    /// The shard `(db, shard)`, locked (held until the command ends).
    pub fn shard_at(&mut self, db: usize, shard: usize) -> &mut Shard {
        self.forget_announced();
        let gid = self.srv.keyspace.global_id(db, shard);
        let i = self.lock_index(gid);
        &mut self.locks[i].1
    }

    /// Shards `a` and `b` (each `(db, shard)`), both locked, for a change to two at once (SWAPDB); `None` when they
    /// are the same shard.
    pub fn shard_pair(&mut self, a: (usize, usize), b: (usize, usize)) -> Option<(&mut Shard, &mut Shard)> {
        let ks = &self.srv.keyspace;
        let (ga, gb) = (ks.global_id(a.0, a.1), ks.global_id(b.0, b.1));
        if ga == gb {
            return None;
        }
        self.forget_announced();
        // The lower id first, keeping the global lock order.
        let (ilo, ihi) = (self.lock_index(ga.min(gb)), self.lock_index(ga.max(gb)));
        let (first, second) = if ilo < ihi {
            let (l, r) = self.locks.split_at_mut(ihi);
            (&mut *l[ilo].1, &mut *r[0].1)
        } else {
            let (l, r) = self.locks.split_at_mut(ilo);
            (&mut *r[0].1, &mut *l[ihi].1)
        };
        Some(if ga < gb { (first, second) } else { (second, first) })
    }

    /// Runs `f` on each shard of `db` in turn. Shards this command already holds are used as they are; others are
    /// locked only for the call, so iteration never stalls the whole database.
    pub fn for_each_shard(&mut self, db: usize, mut f: impl FnMut(usize, &mut Shard, &mut EffectSink)) {
        for s in 0..self.srv.keyspace.shard_count() {
            self.with_shard(db, s, |sh, sink| f(s, sh, sink));
        }
    }

    /// Runs `f` on shard `shard` of `db`: the held guard if this command holds it, else locked for the call.
    pub fn with_shard<R>(&mut self, db: usize, shard: usize, f: impl FnOnce(&mut Shard, &mut EffectSink) -> R) -> R {
        self.forget_announced();
        let ks = &self.srv.keyspace;
        let gid = ks.global_id(db, shard);
        if let Some(i) = self.locks.iter().position(|(g, _)| *g == gid) {
            f(&mut self.locks[i].1, &mut self.sink)
        } else {
            debug_assert!(
                self.locks.iter().all(|(h, _)| *h < gid),
                "shard {gid} visited out of order while holding {:?}",
                self.locks.iter().map(|(h, _)| *h).collect::<Vec<_>>()
            );
            let mut g = ks.lock_held(gid);
            f(&mut g, &mut self.sink)
        }
    }

    /// Tells the change hooks that `key`, at slot `idx` of held shard `li` (`None`: about to be created), is about to
    /// change, unless this change already did.
    #[inline]
    fn announce(&mut self, li: usize, db: usize, key: &[u8], idx: Option<u32>) {
        let (gid, shard) = &mut self.locks[li];
        if shard.hooks.is_empty() {
            return;
        }
        if let Some(idx) = idx {
            if self.announced == Some((*gid, idx)) {
                return;
            }
            self.announced = Some((*gid, idx));
        }
        before_change(shard, db, key, idx);
    }

    /// Forgets the announced slot: its key changed, or a handler reached the shards directly, where keys may have
    /// been removed or swapped and the slot may hold another key next.
    #[inline]
    fn forget_announced(&mut self) {
        self.announced = None;
    }

    /// Finds `key` in `db`, expiring it first if its time has passed. Returns (lock index, slot).
    fn find_live(&mut self, db: usize, key: &[u8]) -> Option<(usize, u32)> {
        if let Some(found) = self.memo_hit(db, key) {
            return Some(found);
        }
        let found = self.find_live_slow(db, key);
        if let Some((li, idx)) = found {
            self.memo = Some(Memo { db, gid: self.locks[li].0, li, idx });
        }
        found
    }

    /// The last key found, if `key` is still at its slot (a handler usually looks its key up several times:
    /// open, modify, check for emptiness). The slot's own key is compared, so a removed or reused slot misses;
    /// an expired entry misses too and takes the full path.
    #[inline]
    fn memo_hit(&self, db: usize, key: &[u8]) -> Option<(usize, u32)> {
        let m = self.memo?;
        if m.db != db || self.locks.get(m.li).is_none_or(|(g, _)| *g != m.gid) {
            return None;
        }
        let data = &self.locks[m.li].1.data;
        if data.key(m.idx).is_some_and(|k| k[..] == *key) {
            let exp = data.expire_at(m.idx);
            if exp == 0 || exp > self.now_ms || self.caller == Caller::Primary {
                return Some((m.li, m.idx));
            }
        }
        None
    }

    fn find_live_slow(&mut self, db: usize, key: &[u8]) -> Option<(usize, u32)> {
        let h = hash_key(key);
        let ks = &self.srv.keyspace;
        if self.tinylfu {
            // Every lookup counts, found or not: TinyLFU knows a key is popular before it is cached.
            ks.tinylfu.record(h);
        }
        let li = self.lock_index(ks.global_id(db, ks.shard_of(h)));
        let shard = &mut *self.locks[li].1;
        let idx = shard.data.find(h, key)?;
        let exp = shard.data.expire_at(idx);
        if exp != 0 && exp <= self.now_ms && self.caller != Caller::Primary {
            before_change(shard, db, key, Some(idx));
            shard.data.remove(idx);
            self.announced = None;
            let change =
                KeyChange { db, key, kind: ChangeKind::Expire, event: Some(Event::Expired), client: self.acting_for };
            key_changed(shard, change, &mut self.sink, self.srv);
            self.srv.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some((li, idx))
    }

    /// Tells predictive warming about a read lookup (`engine/warm.rs`).
    #[inline]
    fn note_read(&mut self, db: usize, key: &[u8], found: bool) {
        let warm = &self.srv.warm;
        if warm.enabled() {
            warm.note_read(&mut self.client.warm_trail, db, key, found, self.now_ms);
        }
    }

    /// Looks a key up for reading in the selected database (counts a hit or miss, updates access time).
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.client.db;
        self.read_in(db, key)
    }

    /// [`Ctx::read`] in another database.
    pub fn read_in(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.read_counted(db, key, true)
    }

    /// Looks a key up for reading without updating its access time, counting a hit or miss all the same: Redis's
    /// `LOOKUP_NOTOUCH` lookups (EXISTS, TYPE, TTL, OBJECT, COPY's source), which show in keyspace_hits/misses.
    pub fn read_untouched(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.client.db;
        self.read_counted(db, key, false)
    }

    /// A read lookup: counts the hit or miss, and records the access when `touch`.
    #[inline]
    fn read_counted(&mut self, db: usize, key: &[u8], touch: bool) -> Option<&Entry> {
        match self.find_live(db, key) {
            None => {
                self.srv.stats.keyspace_misses.add(1);
                if touch {
                    self.note_read(db, key, false);
                }
                None
            }
            Some((li, idx)) => {
                self.srv.stats.keyspace_hits.add(1);
                if touch {
                    self.note_read(db, key, true);
                    self.touch(li, idx);
                }
                self.locks[li].1.data.entry(idx)
            }
        }
    }

    /// Looks a key up without touching its access time or the hit counters: a command's own checks, where Redis
    /// looks up for writing or goes to the dictionary directly (SET NX, RENAME's source, MEMORY USAGE).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.client.db;
        self.peek_in(db, key)
    }

    /// [`Ctx::peek`] in another database.
    pub fn peek_in(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        let (li, idx) = self.find_live(db, key)?;
        self.locks[li].1.data.entry(idx)
    }

    /// The absolute expiry (unix ms) of `key` in the selected database, like [`Ctx::peek`]: `None` when the
    /// key does not exist, `Some(0)` when it has no TTL.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<u64> {
        let db = self.client.db;
        let (li, idx) = self.find_live(db, key)?;
        Some(self.locks[li].1.data.expire_at(idx))
    }

    /// [`Ctx::peek`] for a change of representation only (the value stays what it was: a compressed value
    /// decompressed ahead of use), which no hook, WATCH or effect needs to know about.
    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let db = self.client.db;
        let (li, idx) = self.find_live(db, key)?;
        self.locks[li].1.data.entry_mut(idx)
    }

    /// The LRU clock of this command's time.
    pub fn lru_now(&self) -> u32 {
        self.lru
    }

    /// Looks a key up for modification in place. Call [`Ctx::modified`] afterwards.
    ///
    /// This is where a command's change to an existing key begins, so the change hooks are told here, while the
    /// entry is still as it was.
    pub fn write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.open(key, true)
    }

    fn open(&mut self, key: &[u8], announce: bool) -> Option<&mut Entry> {
        let db = self.client.db;
        let (li, idx) = self.find_live(db, key)?;
        if announce {
            self.announce(li, db, key, Some(idx));
        }
        self.touch(li, idx);
        self.locks[li].1.data.entry_mut(idx)
    }

    /// Records an access: the LRU clock, and the LFU counter when an LFU policy is selected.
    fn touch(&mut self, li: usize, idx: u32) {
        let (lru, lfu) = (self.lru, self.lfu);
        let cold = self.srv.hot.compression_cold_secs.load(Ordering::Relaxed) as u32;
        let Some(e) = self.locks[li].1.data.entry_mut(idx) else { return };
        // A compressed value read again while still warm has become hot: keep it raw from now on. (With a cold
        // time of 0 every value counts as cold and stays compressed.)
        if let Value::Str(StrValue::Compressed(c)) = &e.value {
            if cold > 0 && lru.saturating_sub(e.access) < cold {
                e.value = Value::Str(StrValue::raw(c.decompress()));
            }
        }
        if lfu {
            let hot = &self.srv.hot;
            let decay = hot.lfu_decay_time.load(Ordering::Relaxed);
            let f = crate::store::lfu::decayed(e.freq, e.access, lru, decay);
            e.freq =
                crate::store::lfu::log_incr(f, hot.lfu_log_factor.load(Ordering::Relaxed), &mut rand::thread_rng());
        }
        e.access = lru;
    }

    /// Publishes an extra keyspace event for `key` (e.g. SET's `expire` after its `set`), with no other effect.
    pub fn notify(&mut self, key: &[u8], event: Event) {
        crate::engine::notify::notify(self.srv, self.client.db, key, event);
    }

    /// Records that `key` in the selected database was modified in place by the current command.
    pub fn modified(&mut self, key: &[u8], event: Event) {
        let db = self.client.db;
        // The value changed: the cold tier may try it again.
        if let Some((li, idx)) = self.find_live(db, key) {
            if let Some(e) = self.locks[li].1.data.entry_mut(idx) {
                e.flags &= !Entry::INCOMPRESSIBLE;
            }
        }
        self.changed_in(db, key, ChangeKind::Write, Some(event));
    }

    /// Records a change to `key` that Redis makes without a keyspace event (XREADGROUP moving a group's position):
    /// WATCH, the change hooks and blocked clients see it as any other change.
    pub fn modified_quiet(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.changed_in(db, key, ChangeKind::Write, None);
    }

    fn changed_in(&mut self, db: usize, key: &[u8], kind: ChangeKind, event: Option<Event>) {
        let li = match self.memo_hit(db, key) {
            Some((li, _)) => li,
            None => {
                let ks = &self.srv.keyspace;
                self.lock_index(ks.global_id(db, ks.shard_of(hash_key(key))))
            }
        };
        let change = KeyChange { db, key, kind, event, client: self.acting_for };
        key_changed(&mut self.locks[li].1, change, &mut self.sink, self.srv);
        self.forget_announced();
        self.dirty += 1;
        // A deleted key wakes its waiters too: XREADGROUP readers are released with an error when their stream
        // goes (the others find nothing and keep waiting).
        if self.srv.blocking.has_waiters(db, key) {
            self.ready.push((db, Bytes::copy_from_slice(key)));
        }
    }

    /// Stores `value` under `key` in the selected database, replacing what was there.
    pub fn set(&mut self, key: &[u8], value: Value, ttl: Ttl, event: Event) {
        let db = self.client.db;
        self.set_in(db, key, value, ttl, event);
    }

    /// [`Ctx::set`] in another database.
    pub fn set_in(&mut self, db: usize, key: &[u8], value: Value, ttl: Ttl, event: Event) {
        self.store_in(db, key, value, ttl, Some(event));
    }

    /// [`Ctx::set`] for a change Redis makes without a keyspace event (PFCOUNT storing the cardinality it cached
    /// in the value): WATCH, client-side caching, the change hooks and effects see it as any other change, but
    /// no notification is published.
    pub fn set_without_event(&mut self, key: &[u8], value: Value, ttl: Ttl) {
        let db = self.client.db;
        self.store_in(db, key, value, ttl, None);
    }

    fn store_in(&mut self, db: usize, key: &[u8], value: Value, ttl: Ttl, event: Option<Event>) {
        let lru = self.lru;
        match self.find_live(db, key) {
            Some((li, idx)) => {
                self.announce(li, db, key, Some(idx));
                let data = &mut self.locks[li].1.data;
                if let Some(e) = data.entry_mut(idx) {
                    e.value = value;
                    e.access = lru;
                    // A replaced value loses its metadata (tags) with its TTL; KEEPTTL keeps both.
                    e.flags = if matches!(ttl, Ttl::Keep) { e.flags & Entry::HAS_META } else { 0 };
                }
                match ttl {
                    Ttl::Keep => {}
                    Ttl::Clear => data.set_expire(idx, 0),
                    Ttl::At(at) => data.set_expire(idx, at),
                }
            }
            None => {
                let mut e = Entry::new(value);
                e.access = lru;
                let at = if let Ttl::At(at) = ttl { at } else { 0 };
                let h = hash_key(key);
                let ks = &self.srv.keyspace;
                let li = self.lock_index(ks.global_id(db, ks.shard_of(h)));
                self.announce(li, db, key, None);
                self.locks[li].1.data.insert(h, key, e, at);
                if self.tinylfu {
                    ks.tinylfu.admit_to_window(db, h, key);
                }
            }
        }
        self.changed_in(db, key, ChangeKind::Write, event);
    }

    /// Inserts a whole entry (value and access data) with its expiry `at` (0: none) under `key` in `db`,
    /// replacing what was there (RENAME, COPY, MOVE, RESTORE).
    pub fn put_entry(&mut self, db: usize, key: &[u8], entry: Entry, at: u64, event: Event) {
        let found = self.find_live(db, key).map(|(_, idx)| idx);
        let h = hash_key(key);
        let ks = &self.srv.keyspace;
        let li = self.lock_index(ks.global_id(db, ks.shard_of(h)));
        self.announce(li, db, key, found);
        let shard = &mut *self.locks[li].1;
        if let Some(idx) = found {
            shard.data.remove(idx);
        }
        if entry.flags & Entry::HAS_META != 0 {
            // The metadata arrives with the key (RENAME, MOVE, COPY): this shard must index it.
            shard.ensure_hooks(&self.srv.keyspace.meta_hooks());
        }
        shard.data.insert(h, key, entry, at);
        self.changed_in(db, key, ChangeKind::Write, Some(event));
    }

    /// Runs `f` with `key`'s entry flags and its shard's key metadata ([`Entry::HAS_META`] and
    /// `store::keymeta`), installing the metadata hook on the shard first; `None` when the key does not exist.
    /// Changing metadata is not a change of the key's value: no event, WATCH or invalidation.
    pub fn with_meta<R>(&mut self, key: &[u8], f: impl FnOnce(&mut u8, &mut MetaSide, &MetaStats) -> R) -> Option<R> {
        self.with_key_side(key, |e, side, hooks| e.map(|e| f(&mut e.flags, side, &hooks.stats)))
    }

    /// Runs `f` with `key`'s entry (`None` when it does not exist) and its shard's key-metadata side, the
    /// metadata hook installed on the shard first (fill leases are kept for keys that do not exist).
    pub fn with_key_side<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(Option<&mut Entry>, &mut MetaSide, &MetaHooks) -> R,
    ) -> R {
        let db = self.client.db;
        let found = self.find_live(db, key);
        let ks = &self.srv.keyspace;
        let li = match found {
            Some((li, _)) => li,
            None => self.lock_index(ks.global_id(db, ks.shard_of(hash_key(key)))),
        };
        let shard = &mut *self.locks[li].1;
        shard.ensure_hooks(&ks.meta_hooks());
        let Shard { data, side, .. } = shard;
        let e = found.and_then(|(_, idx)| data.entry_mut(idx));
        f(e, MetaHooks::side_mut(side), &ks.meta)
    }

    /// A copy of `key`'s metadata, if it exists and has any.
    pub fn key_meta(&mut self, key: &[u8]) -> Option<KeyMeta> {
        let db = self.client.db;
        let (li, idx) = self.find_live(db, key)?;
        let shard = &self.locks[li].1;
        if shard.data.entry(idx)?.flags & Entry::HAS_META == 0 {
            return None;
        }
        shard.side.get::<MetaSide>()?.get(key).cloned()
    }

    /// Removes `key` from the selected database; returns its entry and expiry.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Entry, u64)> {
        let db = self.client.db;
        self.remove_in(db, key, Event::Del)
    }

    /// Removes `key` from `db`, notifying `event`.
    pub fn remove_in(&mut self, db: usize, key: &[u8], event: Event) -> Option<(Entry, u64)> {
        let (li, idx) = self.find_live(db, key)?;
        self.announce(li, db, key, Some(idx));
        let (_, entry, at) = self.locks[li].1.data.remove(idx)?;
        self.changed_in(db, key, ChangeKind::Delete, Some(event));
        Some((entry, at))
    }

    /// Sets the absolute expiry of an existing key (0 makes it persistent). Returns false if the key is missing.
    pub fn set_expire(&mut self, key: &[u8], at: u64, event: Event) -> bool {
        let db = self.client.db;
        let Some((li, idx)) = self.find_live(db, key) else { return false };
        self.announce(li, db, key, Some(idx));
        self.locks[li].1.data.set_expire(idx, at);
        self.changed_in(db, key, ChangeKind::Write, Some(event));
        true
    }

    /// Records that the current command's arguments as sent are its replayable effect this time (a `Rewritten`
    /// command in a case that needs no rewriting), sparing the copy [`Ctx::emit`] would make.
    pub fn emit_as_sent(&mut self) {
        self.effect_as_sent = true;
    }

    /// Appends a replayable effect for the current command (commands whose effect is `Rewritten`).
    pub fn emit(&mut self, args: Vec<Bytes>) {
        let db = self.client.db;
        self.sink.push(db, args);
    }

    /// A string value, or WRONGTYPE.
    ///
    /// # Errors
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub fn read_str(&mut self, key: &[u8]) -> CmdResult<Option<StrValue>> {
        match self.read(key) {
            None => Ok(None),
            Some(Entry { value: Value::Str(s), .. }) => Ok(Some(s.clone())),
            Some(_) => Err(WRONGTYPE),
        }
    }

    /// Runs `f` on the string at `key` where it is stored (`None` when the key is missing), for reads that keep
    /// none of a value that may be megabytes long (GETBIT, BITCOUNT, GETRANGE); only an integer or a compressed
    /// value is decoded first.
    ///
    /// # Errors
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub fn read_str_with<R>(&mut self, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> CmdResult<R> {
        match self.read(key) {
            None => Ok(f(None)),
            Some(Entry { value: Value::Str(s), .. }) => Ok(f(Some(&s.bytes()))),
            Some(_) => Err(WRONGTYPE),
        }
    }

    /// Runs `f` on the bytes of the string at `key` where they are stored (an empty buffer when the key is
    /// missing), so SETBIT, SETRANGE, BITFIELD and PFADD cost what they change, not the value's size: an
    /// unshared value is taken out of its entry without a copy and put back the same way. `f` gets whether the
    /// key existed and returns its result and whether it wrote; a write reports the change with `event`, and a
    /// missing key is created only by a write. When `f` fails, the value is put back as it is and no change is
    /// reported (so `f` must fail before it changes anything).
    ///
    /// # Errors
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`, or `f`'s error.
    pub fn modify_str<R>(
        &mut self,
        key: &[u8],
        event: Event,
        f: impl FnOnce(&mut Vec<u8>, bool) -> CmdResult<(R, bool)>,
    ) -> CmdResult<R> {
        // Plain byte values are taken out of the entry (no copy when unshared); an integer or compressed value
        // stays where it is until a write replaces it, and `f` works on its decoded copy.
        let (mut bytes, taken) = match self.write(key) {
            None => {
                let mut v = Vec::new();
                let (r, wrote) = f(&mut v, false)?;
                if wrote {
                    self.set(key, Value::Str(StrValue::raw(v)), Ttl::Clear, event);
                }
                return Ok(r);
            }
            Some(Entry { value: Value::Str(s), .. }) => match s {
                StrValue::Bytes(_) | StrValue::Raw(_) => {
                    let raw = matches!(s, StrValue::Raw(_));
                    (std::mem::replace(s, StrValue::Int(0)).into_vec(), Some(raw))
                }
                other => (other.bytes().into_owned(), None),
            },
            Some(_) => return Err(WRONGTYPE),
        };
        let result = f(&mut bytes, true);
        let wrote = matches!(result, Ok((_, true)));
        // Not `write`: the hooks were told when the value was taken out, and must not see the stand-in left there.
        if let Some(Entry { value: Value::Str(s), .. }) = self.open(key, false) {
            match taken {
                _ if wrote => *s = StrValue::raw(bytes),
                Some(true) => *s = StrValue::raw(bytes),
                Some(false) => *s = StrValue::boxed(bytes.into_boxed_slice()),
                None => {}
            }
        }
        let (r, wrote) = result?;
        if wrote {
            self.modified(key, event);
        }
        Ok(r)
    }

    /// Fails with WRONGTYPE unless `key` is missing or holds a string.
    ///
    /// # Errors
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub fn expect_str_or_missing(&mut self, key: &[u8]) -> CmdResult<()> {
        match self.peek(key) {
            None | Some(Entry { value: Value::Str(_), .. }) => Ok(()),
            Some(_) => Err(WRONGTYPE),
        }
    }

    /// Reads `key` as the type `proj` selects: `Ok(None)` when missing.
    ///
    /// # Errors
    /// WRONGTYPE when the key holds another type.
    pub fn read_as<T>(&mut self, key: &[u8], proj: fn(&Value) -> Option<&T>) -> CmdResult<Option<&T>> {
        match self.read(key) {
            None => Ok(None),
            Some(e) => proj(&e.value).map(Some).ok_or(WRONGTYPE),
        }
    }

    /// Looks `key` up as a write command does before it decides to write (Redis's `lookupKeyWrite`: LPUSHX,
    /// SMOVE, HSETNX, ZADD...): as the type `proj` selects, touching its access time but counting no keyspace hit
    /// or miss, which only reads count.
    ///
    /// # Errors
    /// WRONGTYPE when the key holds another type.
    pub fn lookup_write_as<T>(&mut self, key: &[u8], proj: fn(&Value) -> Option<&T>) -> CmdResult<Option<&T>> {
        let db = self.client.db;
        let Some((li, idx)) = self.find_live(db, key) else { return Ok(None) };
        self.touch(li, idx);
        match self.locks[li].1.data.entry(idx) {
            None => Ok(None),
            Some(e) => proj(&e.value).map(Some).ok_or(WRONGTYPE),
        }
    }

    /// Opens `key` for update as the type `proj` selects: `Ok(None)` when missing. Call [`Ctx::after_write`] once
    /// done.
    ///
    /// # Errors
    /// WRONGTYPE when the key holds another type.
    pub fn write_as<T>(&mut self, key: &[u8], proj: fn(&mut Value) -> Option<&mut T>) -> CmdResult<Option<&mut T>> {
        match self.write(key) {
            None => Ok(None),
            Some(e) => proj(&mut e.value).map(Some).ok_or(WRONGTYPE),
        }
    }

    /// Opens `key` for update, creating it with `create()` when missing. Call [`Ctx::after_write`] once done.
    ///
    /// # Errors
    /// WRONGTYPE when the key holds another type.
    pub fn write_or_create<T>(
        &mut self,
        key: &[u8],
        proj: fn(&mut Value) -> Option<&mut T>,
        create: fn() -> Value,
    ) -> CmdResult<&mut T> {
        let db = self.client.db;
        let (li, idx) = match self.find_live(db, key) {
            Some((li, idx)) => {
                self.announce(li, db, key, Some(idx));
                (li, idx)
            }
            None => {
                // Inserted quietly: the command reports its change through `after_write`. The hooks hear of it
                // now, as a key that did not exist; `after_write_quiet` may take it out again unannounced.
                let mut e = Entry::new(create());
                e.access = self.lru;
                let h = hash_key(key);
                let ks = &self.srv.keyspace;
                let li = self.lock_index(ks.global_id(db, ks.shard_of(h)));
                self.announce(li, db, key, None);
                let idx = self.locks[li].1.data.insert(h, key, e, 0);
                if self.tinylfu {
                    ks.tinylfu.admit_to_window(db, h, key);
                }
                self.memo = Some(Memo { db, gid: self.locks[li].0, li, idx });
                // Announced as absent: further opens in this change must not report the new empty container.
                if !self.locks[li].1.hooks.is_empty() {
                    self.announced = Some((self.locks[li].0, idx));
                }
                (li, idx)
            }
        };
        self.touch(li, idx);
        match self.locks[li].1.data.entry_mut(idx) {
            Some(e) => proj(&mut e.value).ok_or(WRONGTYPE),
            None => Err(WRONGTYPE),
        }
    }

    /// Reports a modification of a container made through [`Ctx::write_as`] / [`Ctx::write_or_create`], and removes
    /// the key if the container became empty (Redis never keeps empty containers).
    pub fn after_write(&mut self, key: &[u8], event: Event) {
        self.modified(key, event);
        if self.peek(key).is_some_and(|e| e.value.is_empty_container()) {
            let db = self.client.db;
            self.remove_in(db, key, Event::Del);
        }
    }

    /// Undoes a `write_or_create` that changed nothing: a key created empty is removed again, silently.
    pub fn after_write_quiet(&mut self, key: &[u8]) {
        let db = self.client.db;
        if let Some((li, idx)) = self.find_live(db, key) {
            if self.locks[li].1.data.entry(idx).is_some_and(|e| e.value.is_empty_container()) {
                self.locks[li].1.data.remove(idx);
                self.forget_announced();
            }
        }
    }

    /// A random number generator for commands with random choices.
    pub fn rng(&self) -> rand::rngs::ThreadRng {
        rand::thread_rng()
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        if !self.deferred.is_empty() {
            self.unlock_all();
            if self.client.defer_to_reply {
                self.client.after_reply.append(&mut self.deferred);
            } else {
                for f in std::mem::take(&mut self.deferred) {
                    (f.0)(self.srv);
                }
            }
        }
    }
}
