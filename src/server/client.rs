//! Client state: what the connection task owns ([`ClientState`]) and what other clients may read or signal
//! ([`ClientInfo`], kept in the [`ClientRegistry`] for CLIENT LIST / KILL / MONITOR).

use crate::protocol::Protocol;
use crate::store::WatchFlag;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

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
    killed: AtomicBool,
    /// Set by the server cron: give back the buffers of this idle connection.
    trim: AtomicBool,
    /// Wakes the connection to look at `killed`, `trim` and the server's shutdown flag. Notified with
    /// `notify_waiters`, so every waiter of the connection sees it; the main loop keeps one registered waiter
    /// for the connection's life instead of registering one per batch.
    wake: Notify,
    /// Out-of-band messages for this client (MONITOR lines, later pub/sub and invalidations).
    pub push: mpsc::UnboundedSender<Bytes>,
}

impl ClientInfo {
    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.wake.notify_waiters();
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
    std::mem::size_of::<ClientInfo>() + std::mem::size_of::<ClientState>() + std::mem::size_of::<Arc<ClientInfo>>();

/// Every connected client, by id (ids increase, so iteration order is connection order as in Redis).
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
    /// Clients in MONITOR mode (counted so dispatch skips formatting when there are none).
    pub monitors: AtomicUsize,
}

impl ClientRegistry {
    /// Registers a new connection; returns its shared info and the receiver of its out-of-band messages.
    pub fn register(&self, addr: String, laddr: String) -> (Arc<ClientInfo>, mpsc::UnboundedReceiver<Bytes>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let info = Arc::new(ClientInfo {
            id,
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
            killed: AtomicBool::new(false),
            trim: AtomicBool::new(false),
            wake: Notify::new(),
            push: tx,
        });
        self.clients.lock().insert(id, info.clone());
        (info, rx)
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
            let holding = c.qbuf_cap.load(Ordering::Relaxed) + c.rbuf_cap.load(Ordering::Relaxed) > 0;
            if holding && c.idle_secs() >= idle_secs {
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
                let _ = c.push.send(line.clone());
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
pub struct ClientState {
    pub info: Arc<ClientInfo>,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// The client's ACL user, as of the last change to any user.
    pub acl: crate::acl::ClientAcl,
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
    /// Subscribed channels and patterns.
    pub channels: std::collections::HashSet<Bytes>,
    pub patterns: std::collections::HashSet<Bytes>,
}

impl ClientState {
    /// Fresh state for a new connection.
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> ClientState {
        info.authenticated.store(authenticated, Ordering::Relaxed);
        ClientState {
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
            channels: Default::default(),
            patterns: Default::default(),
        }
    }

    /// Number of subscriptions (channels and patterns).
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Selects database `db`.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
