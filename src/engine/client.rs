//! Client state: what the connection task owns ([`Session`]) and what other clients may read or signal
//! ([`ClientInfo`], kept in the [`ClientRegistry`] for CLIENT LIST / KILL / MONITOR).

use crate::protocol::Protocol;
use crate::store::WatchFlag;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// Client flags visible to others (CLIENT LIST `flags=`).
pub mod cflags {
    pub const MULTI: u32 = 1;
    pub const MONITOR: u32 = 1 << 1;
    pub const NO_EVICT: u32 = 1 << 2;
    pub const CLOSE_ASAP: u32 = 1 << 3;
    pub const DIRTY_CAS: u32 = 1 << 4;
}

/// The shared face of a client.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    /// Connected over the loopback interface (`enable-debug-command local`, protected configs).
    pub is_local: bool,
    pub laddr: String,
    pub created: Instant,
    pub name: Mutex<Option<Bytes>>,
    pub lib_name: Mutex<Option<Bytes>>,
    pub lib_ver: Mutex<Option<Bytes>>,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    pub flags: AtomicU32,
    /// Command id of the last command (index into the command table); `u32::MAX` before the first.
    pub last_cmd: AtomicU32,
    /// Milliseconds since `created` at the last interaction.
    pub last_active_ms: AtomicU64,
    /// Bytes waiting in the query buffer, and the buffer's allocation.
    pub qbuf: AtomicUsize,
    pub qbuf_cap: AtomicUsize,
    /// Out-of-band bytes queued for the client and not yet copied to its reply buffer.
    pub obuf: AtomicUsize,
    /// The reply buffer's allocation.
    pub rbuf_cap: AtomicUsize,
    /// Bytes held by commands queued in MULTI.
    pub multi_mem: AtomicUsize,
    pub multi_len: AtomicU64,
    pub watch_len: AtomicUsize,
    pub authenticated: AtomicBool,
    /// Name of the ACL user the client is authenticated as (CLIENT LIST `user=`, CLIENT KILL USER, ACL DELUSER).
    pub user: Mutex<Bytes>,
    /// Seconds (since `created`) when the output buffer first went over the soft limit; `u64::MAX` when under.
    pub soft_limit_since: AtomicU64,
    /// Invalidations caused by this client's own command, written after its reply (as Redis orders them).
    pub after_reply: Mutex<Vec<Bytes>>,
    /// Subscribed channels + patterns (CLIENT LIST sub/psub).
    pub subs: AtomicUsize,
    pub psubs: AtomicUsize,
    pub ssubs: AtomicUsize,
    killed: AtomicBool,
    /// Set by the server cron: give back the buffers of this idle connection.
    trim: AtomicBool,
    /// Wakes the connection to look at `killed`, `trim` and the server's shutdown flag. Notified with
    /// `notify_waiters`, so every waiter of the connection sees it; the main loop keeps one registered waiter
    /// for the connection's life instead of registering one per batch.
    wake: Notify,
    /// Out-of-band messages for this client (MONITOR lines, pub/sub messages, invalidations), in order. A plain
    /// queue rather than a channel: it allocates nothing until the first message, so an idle connection that
    /// never subscribes pays only for the empty queue.
    outbox: Mutex<VecDeque<Bytes>>,
    /// Signalled when `outbox` gains a message (a stored permit, so a message queued between checks is not
    /// missed).
    outbox_ready: Notify,
}

/// One client class's `client-output-buffer-limit`: a hard limit in bytes, and a soft limit in bytes that closes
/// the client once exceeded for `soft_secs` seconds; 0 disables either.
#[derive(Debug, Default)]
pub struct OutputLimit {
    pub hard: AtomicU64,
    pub soft: AtomicU64,
    pub soft_secs: AtomicU64,
}

/// The limits of the three client classes Redis distinguishes.
#[derive(Debug, Default)]
pub struct OutputLimits {
    pub normal: OutputLimit,
    pub replica: OutputLimit,
    pub pubsub: OutputLimit,
}

impl OutputLimits {
    /// Stores `client-output-buffer-limit`: hard bytes, soft bytes and soft seconds of the normal, replica and
    /// pub/sub classes, in that order (the registry's typed value).
    pub fn apply(&self, limits: &[[u64; 3]; 3]) {
        for (limit, [hard, soft, secs]) in [&self.normal, &self.replica, &self.pubsub].into_iter().zip(limits) {
            limit.hard.store(*hard, Ordering::Relaxed);
            limit.soft.store(*soft, Ordering::Relaxed);
            limit.soft_secs.store(*secs, Ordering::Relaxed);
        }
    }

    /// The limit of `c`'s class: pub/sub for a client with subscriptions, normal otherwise.
    pub fn of(&self, c: &ClientInfo) -> &OutputLimit {
        if c.subscriptions() > 0 {
            &self.pubsub
        } else {
            &self.normal
        }
    }
}

impl ClientInfo {
    /// Channels, patterns and shard channels subscribed to.
    pub fn subscriptions(&self) -> usize {
        self.subs.load(Ordering::Relaxed) + self.psubs.load(Ordering::Relaxed) + self.ssubs.load(Ordering::Relaxed)
    }

    /// One CLIENT LIST line, with Redis's fields in Redis's order.
    pub fn list_line(&self) -> String {
        let c = self;
        let f = c.flags.load(Ordering::Relaxed);
        let mut flags = String::new();
        if f & cflags::MONITOR != 0 {
            flags.push('O');
        }
        if f & cflags::MULTI != 0 {
            flags.push('x');
        }
        if f & cflags::NO_EVICT != 0 {
            flags.push('e');
        }
        if f & cflags::CLOSE_ASAP != 0 {
            flags.push('A');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = c.name.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let lib_name = c.lib_name.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let lib_ver = c.lib_ver.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let cmd = match c.last_cmd.load(Ordering::Relaxed) {
            u32::MAX => "NULL".to_string(),
            id => super::table::table().commands.get(id as usize).map_or("NULL".to_string(), |c| c.full_name.clone()),
        };
        let multi = if f & cflags::MULTI != 0 { c.multi_len.load(Ordering::Relaxed) as i64 } else { -1 };
        let qbuf = c.qbuf.load(Ordering::Relaxed);
        let omem = c.obuf.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp=0 obl=0 oll={} omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            c.id,
            c.addr,
            c.laddr,
            c.id + 7,
            name,
            c.created.elapsed().as_secs(),
            c.idle_secs(),
            flags,
            c.db.load(Ordering::Relaxed),
            c.subs.load(Ordering::Relaxed),
            c.psubs.load(Ordering::Relaxed),
            c.ssubs.load(Ordering::Relaxed),
            multi,
            qbuf,
            c.qbuf_cap.load(Ordering::Relaxed).saturating_sub(qbuf),
            c.multi_mem.load(Ordering::Relaxed),
            c.rbuf_cap.load(Ordering::Relaxed),
            usize::from(omem > 0),
            omem,
            c.memory(),
            cmd,
            String::from_utf8_lossy(&c.user.lock()),
            c.resp.load(Ordering::Relaxed),
            lib_name,
            lib_ver
        )
    }

    /// Queues an out-of-band message for the connection to write between batches.
    pub fn send_push(&self, msg: Bytes) {
        self.outbox.lock().push_back(msg);
        self.outbox_ready.notify_one();
    }

    /// Moves every queued out-of-band message into `out`; returns the bytes moved.
    pub fn take_pushes(&self, out: &mut bytes::BytesMut) -> usize {
        // Every sender counts its bytes in `obuf` before queueing, so an empty count means nothing to take and
        // the per-command check costs one load instead of a lock; a message counted but not yet queued is taken
        // on the wake-up its queueing sends.
        if self.obuf.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let mut q = self.outbox.lock();
        let mut taken = 0;
        for m in q.drain(..) {
            taken += m.len();
            out.extend_from_slice(&m);
        }
        if q.capacity() > 64 {
            *q = VecDeque::new();
        }
        drop(q);
        if taken > 0 {
            let _ = self.obuf.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| Some(v.saturating_sub(taken)));
        }
        taken
    }

    /// Resolves when a message may have been queued since the last call.
    pub async fn pushed(&self) {
        self.outbox_ready.notified().await
    }

    /// Asks the connection to close; true if this call is the one that killed it.
    pub fn kill(&self) -> bool {
        let first = !self.killed.swap(true, Ordering::AcqRel);
        self.wake.notify_waiters();
        first
    }

    /// Checks `pending` bytes of output against `limit` (keeping the soft-limit clock) and closes the client when
    /// they break it, as Redis's `checkClientOutputBufferLimits`. Logged once per client. True when closed.
    pub fn enforce_output_limit(&self, pending: usize, limit: &OutputLimit) -> bool {
        let hard = limit.hard.load(Ordering::Relaxed) as usize;
        let soft = limit.soft.load(Ordering::Relaxed) as usize;
        if hard == 0 && soft == 0 {
            return false;
        }
        let now = self.created.elapsed().as_secs();
        let over_soft = soft != 0 && pending > soft;
        let since = self.soft_limit_since.load(Ordering::Relaxed);
        if over_soft && since == u64::MAX {
            self.soft_limit_since.store(now, Ordering::Relaxed);
        } else if !over_soft && since != u64::MAX {
            self.soft_limit_since.store(u64::MAX, Ordering::Relaxed);
        }
        let soft_expired =
            over_soft && since != u64::MAX && now.saturating_sub(since) >= limit.soft_secs.load(Ordering::Relaxed);
        if (hard != 0 && pending > hard) || soft_expired {
            if self.kill() {
                tracing::warn!(
                    client = %self.addr,
                    id = self.id,
                    pending,
                    "Client scheduled to be closed ASAP for overcoming of output buffer limits."
                );
            }
            return true;
        }
        false
    }

    /// True once killed.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Resolves when the client is killed.
    pub async fn killed(&self) {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            // Registered before the check, so a kill between the check and the wait is not missed.
            woken.as_mut().enable();
            if self.is_killed() {
                return;
            }
            woken.await;
        }
    }

    /// A wake-up of this connection (kill, trim or shutdown); see `wake`.
    pub fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Asks the connection to give back its buffers.
    fn request_trim(&self) {
        self.trim.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }

    /// True (once) after [`ClientInfo::request_trim`].
    pub fn take_trim(&self) -> bool {
        self.trim.swap(false, Ordering::AcqRel)
    }

    /// Seconds since the last command.
    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Records activity now.
    pub fn touch(&self) {
        self.last_active_ms.store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Memory this client holds, as Redis's `tot-mem`: its structures, query and reply buffers, queued
    /// out-of-band output and MULTI queue.
    pub fn memory(&self) -> usize {
        CLIENT_STRUCT_BYTES
            + CONNECTION_TASK_BYTES.load(Ordering::Relaxed)
            + self.qbuf_cap.load(Ordering::Relaxed)
            + self.rbuf_cap.load(Ordering::Relaxed)
            + self.obuf.load(Ordering::Relaxed)
            + self.multi_mem.load(Ordering::Relaxed)
    }

    /// Has flag `f`.
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & f != 0
    }

    /// Sets or clears flag `f`.
    pub fn set_flag(&self, f: u32, on: bool) {
        if on {
            self.flags.fetch_or(f, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!f, Ordering::Relaxed);
        }
    }
}

/// The fixed part of a client's memory: the shared and the task-owned state and the registry's reference.
pub const CLIENT_STRUCT_BYTES: usize =
    std::mem::size_of::<ClientInfo>() + std::mem::size_of::<Session>() + std::mem::size_of::<Arc<ClientInfo>>();

/// The size of a connection task's state (its future), measured when the listener spawns one.
pub static CONNECTION_TASK_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A query buffer larger than this is shrunk by the cron even while its client is busy (Redis's
/// `PROTO_RESIZE_THRESHOLD`).
const QUERY_BUFFER_RESIZE_THRESHOLD: usize = 32 * 1024;

/// Every connected client, by id (ids increase, so iteration order is connection order as in Redis).
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
    /// Clients in MONITOR mode (counted so the gate skips formatting when there are none).
    pub monitors: AtomicUsize,
}

impl ClientRegistry {
    /// Registers a new connection; returns its shared info and the receiver of its out-of-band messages.
    pub fn register(&self, addr: String, laddr: String) -> Arc<ClientInfo> {
        let info = self.unlisted(addr, laddr);
        self.clients.lock().insert(info.id, info.clone());
        info
    }

    /// Info for a session that is not a connection (a script's or a replay's caller, tests): it has an id from
    /// the same sequence, so tracking and the ACL log can name it, but CLIENT LIST does not show it.
    pub fn unlisted(&self, addr: String, laddr: String) -> Arc<ClientInfo> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let is_local = addr.parse::<std::net::SocketAddr>().is_ok_and(|a| crate::engine::state::is_loopback(a.ip()));
        Arc::new(ClientInfo {
            id,
            is_local,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            flags: AtomicU32::new(0),
            last_cmd: AtomicU32::new(u32::MAX),
            last_active_ms: AtomicU64::new(0),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            rbuf_cap: AtomicUsize::new(0),
            multi_mem: AtomicUsize::new(0),
            multi_len: AtomicU64::new(0),
            watch_len: AtomicUsize::new(0),
            authenticated: AtomicBool::new(false),
            user: Mutex::new(Bytes::from_static(b"default")),
            soft_limit_since: AtomicU64::new(u64::MAX),
            after_reply: Mutex::new(Vec::new()),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            ssubs: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            trim: AtomicBool::new(false),
            wake: Notify::new(),
            outbox: Mutex::new(VecDeque::new()),
            outbox_ready: Notify::new(),
        })
    }

    /// Removes a closed connection.
    pub fn unregister(&self, id: u64) {
        if let Some(c) = self.clients.lock().remove(&id) {
            if c.has_flag(cflags::MONITOR) {
                self.monitors.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// A snapshot of every client.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Memory held by every client (INFO's `mem_clients_normal`).
    pub fn memory(&self) -> usize {
        self.clients.lock().values().map(|c| c.memory()).sum()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The client with `id`.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Asks clients idle for at least `idle_secs` that still hold buffers to give them back.
    pub fn trim_idle(&self, idle_secs: u64) {
        for c in self.clients.lock().values() {
            let qbuf = c.qbuf_cap.load(Ordering::Relaxed);
            let holding = qbuf + c.rbuf_cap.load(Ordering::Relaxed) > 0;
            // A busy client keeps a small buffer, but one grown past Redis's resize threshold by a big request
            // is given back too once the request is done (an unfinished request keeps what it has read).
            if holding && (c.idle_secs() >= idle_secs || qbuf > QUERY_BUFFER_RESIZE_THRESHOLD) {
                c.request_trim();
            }
        }
    }

    /// Wakes every connection (shutdown).
    pub fn wake_all(&self) {
        for c in self.clients.lock().values() {
            c.wake.notify_waiters();
        }
    }

    /// Sends `line` to every MONITOR client.
    pub fn feed_monitors(&self, line: Bytes) {
        for c in self.clients.lock().values() {
            if c.has_flag(cflags::MONITOR) {
                c.obuf.fetch_add(line.len(), Ordering::Relaxed);
                c.send_push(line.clone());
            }
        }
    }
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the next reply only.
    Skip,
    /// Set by CLIENT REPLY SKIP; becomes `Skip` after the SKIP command itself.
    SkipNext,
}

/// An open MULTI.
#[derive(Debug, Default)]
pub struct MultiState {
    pub queue: Vec<Vec<Bytes>>,
    /// A command failed to queue: EXEC answers EXECABORT.
    pub failed: bool,
}

/// A key watched by this client.
#[derive(Debug, Clone)]
pub struct Watched {
    pub db: usize,
    pub key: Bytes,
    /// The key's expiry when WATCH ran (a watched key that expires before EXEC aborts it).
    pub expire_at: u64,
}

/// State owned by the connection task.
#[derive(Debug)]
pub struct Session {
    pub info: Arc<ClientInfo>,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// The client's ACL user, as of the last change to any user.
    pub acl: crate::engine::acl::ClientAcl,
    pub multi: Option<MultiState>,
    pub watch_flag: Option<Arc<WatchFlag>>,
    pub watched: Vec<Watched>,
    pub reply_mode: ReplyMode,
    /// Close after writing the pending replies (QUIT, protocol error, CLIENT KILL of self).
    pub close_after_reply: bool,
    /// Index of the command being executed, for CLIENT LIST `cmd=`.
    pub current_cmd: u32,
    /// CLIENT TRACKING is on.
    pub tracking: bool,
    /// CLIENT CACHING YES/NO for the next command (OPTIN / OPTOUT modes).
    pub caching: Option<bool>,
    /// The running script or function called a read-only command: its declared keys are tracked (Redis 7.0).
    pub script_read: bool,
    /// Subscribed channels and patterns.
    pub channels: std::collections::HashSet<Bytes>,
    pub patterns: std::collections::HashSet<Bytes>,
    pub shard_channels: std::collections::HashSet<Bytes>,
    /// Commands that need the Lua VM are handed to the script thread as `Outcome::Offload` (a connection's
    /// session, awaiting them); otherwise the caller waits for the script thread in place.
    pub offload_scripts: bool,
    /// Replaying the change log: the gate's admission checks (auth, ACL, LOADING, MISCONF, OOM, pause) are
    /// skipped, since what is replayed was admitted once already.
    pub replaying: bool,
    /// The gate's eviction before the current command could not bring memory under `maxmemory` (Redis's
    /// `pre_command_oom_state`): scripts decide their OOM refusals from it, not from a later reading that the
    /// cron may have refreshed meanwhile.
    pub pre_command_oom: bool,
    /// With `appendfsync always`: the stream offset this session's writes reach, which the change log must have
    /// synced before the connection sends their replies (0: nothing to wait for).
    pub durable_at: u64,
    /// The key this client read last, for predictive warming's co-access pairs.
    pub warm_trail: crate::engine::warm::Trail,
    /// A connection's session: work a command leaves for after its locks are released waits until its reply has
    /// been written (see `Ctx::after_unlock`); elsewhere it runs as soon as the locks are released.
    pub defer_to_reply: bool,
    /// That work, for the connection to run after writing the replies (before reading its next commands).
    pub after_reply: Vec<AfterReply>,
}

/// Clean-up a command leaves for after its reply (see `Ctx::after_unlock`).
pub struct AfterReply(pub Box<dyn FnOnce(&super::Server) + Send>);

impl std::fmt::Debug for AfterReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterReply")
    }
}

impl Session {
    /// Runs the work commands left for after their replies.
    pub fn run_after_reply(&mut self, srv: &super::Server) {
        for f in std::mem::take(&mut self.after_reply) {
            (f.0)(srv);
        }
    }

    /// Leaves MULTI state, returning the queue.
    pub fn end_multi(&mut self) -> Option<MultiState> {
        self.info.set_flag(cflags::MULTI, false);
        self.info.multi_len.store(0, Ordering::Relaxed);
        self.info.multi_mem.store(0, Ordering::Relaxed);
        self.multi.take()
    }

    /// Drops every WATCH of the session outside any command (connection close, a refused EXEC).
    pub fn unwatch_all(&mut self, srv: &super::Server) {
        let watched = std::mem::take(&mut self.watched);
        if let Some(flag) = self.watch_flag.take() {
            for w in &watched {
                let shard = srv.keyspace.shard_of(crate::store::hash_key(&w.key));
                srv.keyspace.lock(w.db, shard).unwatch(&w.key, &flag);
            }
        }
    }

    /// A session with no connection behind it, authenticated as the default user: what a change-log replay, a
    /// replica's stream or an in-process caller runs [`super::execute`] with.
    pub fn detached(srv: &super::Server) -> Session {
        Session::new(srv.clients.unlisted("internal".into(), String::new()), true)
    }

    /// Fresh state for a new connection.
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Session {
        info.authenticated.store(authenticated, Ordering::Relaxed);
        Session {
            info,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            acl: Default::default(),
            multi: None,
            watch_flag: None,
            watched: Vec::new(),
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            current_cmd: u32::MAX,
            tracking: false,
            caching: None,
            script_read: false,
            channels: Default::default(),
            patterns: Default::default(),
            shard_channels: Default::default(),
            offload_scripts: false,
            replaying: false,
            pre_command_oom: false,
            durable_at: 0,
            warm_trail: Default::default(),
            defer_to_reply: false,
            after_reply: Vec::new(),
        }
    }

    /// Number of subscriptions (channels, patterns and shard channels): any puts a RESP2 client in subscribed
    /// mode.
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// Selects database `db`.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_limits_close_once_past_the_hard_limit() {
        let limits = OutputLimits::default();
        limits.apply(&[[1024, 0, 0], [0, 0, 0], [100, 50, 0]]);
        let reg = ClientRegistry::default();
        let c = reg.register("127.0.0.1:1".into(), "127.0.0.1:2".into());
        assert!(c.is_local);
        assert!(!c.enforce_output_limit(1024, limits.of(&c)));
        assert!(c.enforce_output_limit(1025, limits.of(&c)));
        assert!(c.is_killed());
        // Only the first kill is reported (and logged): a client over its limit is logged once, not per message.
        assert!(!c.kill());
        let sub = reg.register("10.0.0.1:1".into(), "10.0.0.2:2".into());
        assert!(!sub.is_local);
        sub.subs.store(1, Ordering::Relaxed);
        // The pub/sub class applies to a subscriber: over its soft limit it starts the clock (as in Redis, the
        // first sighting never closes), over its hard limit it is closed.
        assert!(!sub.enforce_output_limit(60, limits.of(&sub)));
        assert!(sub.enforce_output_limit(101, limits.of(&sub)));
    }

    #[test]
    fn pushes_are_queued_in_order_and_counted_out() {
        let reg = ClientRegistry::default();
        let c = reg.register("127.0.0.1:1".into(), "127.0.0.1:2".into());
        c.obuf.store(6, Ordering::Relaxed);
        c.send_push(Bytes::from_static(b"abc"));
        c.send_push(Bytes::from_static(b"def"));
        let mut out = bytes::BytesMut::new();
        assert_eq!(c.take_pushes(&mut out), 6);
        assert_eq!(&out[..], b"abcdef");
        assert_eq!(c.obuf.load(Ordering::Relaxed), 0);
    }
}
