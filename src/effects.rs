//! The write-effect log.
//!
//! Every write produces its effect: the command as it must be replayed (expiries absolute, random choices made
//! deterministic), and an expiry or eviction produces a `DEL`. Effects of one command, or of one MULTI/EXEC, are
//! appended as one group while the shards they touched are still locked, so the log's order is the order in which
//! the writes took effect.
//!
//! The offset counts the bytes of the stream a replica would receive, as Redis's `master_repl_offset` does: each
//! effect as a RESP multibulk, a `SELECT <db>` before an effect whose database differs from the previous effect's,
//! and `MULTI` ... `EXEC` around a group of more than one effect that must apply atomically.
//!
//! Nothing is kept until a consumer subscribes for the first time: until then an append only advances the offset
//! (one compare-and-swap; the command's own argv is not even copied). The first subscription creates the backlog,
//! a ring of the newest `repl-backlog-size` bytes of encoded groups, which then stays (as Redis keeps its backlog
//! once a replica has attached). A consumer reads whole groups from any group boundary still in the backlog,
//! losslessly and in order; one whose offset has left the backlog is told so ([`LogError::FellBehind`]) and must
//! start again from a full copy of the dataset, never skipping what it missed.
//!
//! A tap ([`EffectTap`], the change log's writer) sees every group as it is appended, in order, without a backlog:
//! attaching one also makes appends take the lock and encode, and detaching the last reader makes them cheap again.

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// One replayable write: the database it applies to and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// Effects gathered while one command (or one EXEC) runs.
#[derive(Debug, Default)]
pub struct EffectSink {
    pub items: Vec<Effect>,
}

impl EffectSink {
    /// Queues an effect.
    pub fn push(&mut self, db: usize, args: Vec<Bytes>) {
        self.items.push(Effect { db, args });
    }

    /// True when nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A group read back from the log: one command's, one EXEC's or one server action's effects, encoded exactly as
/// they count in the offset (SELECTs and MULTI/EXEC included).
#[derive(Debug, Clone)]
pub struct EffectGroup {
    /// Offset before the group's first byte.
    pub start: u64,
    /// Offset after its last byte (`start + data.len()`).
    pub end: u64,
    /// The database selected by the stream before this group, if any group came before it in the backlog's life
    /// (a consumer starting here selects it itself, since the group's SELECT may have been left out).
    pub db_before: Option<usize>,
    /// True when the group is wrapped in MULTI/EXEC.
    pub atomic: bool,
    /// The RESP bytes.
    pub data: Bytes,
}

impl EffectGroup {
    /// The group's commands as argv (SELECT, MULTI and EXEC included), sharing `data`'s memory.
    pub fn commands(&self) -> Vec<Vec<Bytes>> {
        decode_commands(&self.data)
    }
}

/// Receives every group as it is appended, in the log's order: called under the log's lock, while the shards the
/// group's command touched are still locked, so it must only copy the bytes and return.
pub trait EffectTap: Send + Sync + std::fmt::Debug {
    /// The group of `data` (RESP commands, SELECTs and MULTI/EXEC included) starting at offset `start`;
    /// `db_before` is the database the stream had selected before it.
    fn group(&self, start: u64, db_before: Option<usize>, data: &[u8]);
}

/// Why a consumer cannot read from its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogError {
    /// The offset is older than the backlog (or predates it): the groups after it are gone. `oldest` is the
    /// oldest offset a consumer could start from now.
    FellBehind { oldest: u64 },
    /// The offset lies beyond the end of the log.
    Ahead { offset: u64 },
    /// The offset is inside a group, not at a group boundary.
    Misaligned,
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::FellBehind { oldest } => write!(f, "offset older than the backlog (oldest is {oldest})"),
            LogError::Ahead { offset } => write!(f, "offset beyond the end of the log ({offset})"),
            LogError::Misaligned => write!(f, "offset inside a group"),
        }
    }
}

impl std::error::Error for LogError {}

/// The figures INFO replication shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogInfo {
    pub master_repl_offset: u64,
    pub active: bool,
    pub size: u64,
    /// Redis's 1-based offset of the oldest byte held (0 while there is no backlog).
    pub first_byte_offset: u64,
    pub histlen: u64,
}

/// Number of decimal digits of `n`.
fn digits(n: usize) -> u64 {
    itoa::Buffer::new().format(n).len() as u64
}

/// Size of `args` encoded as a RESP multibulk.
pub fn resp_len<B: AsRef<[u8]>>(args: &[B]) -> u64 {
    let mut n = 3 + digits(args.len());
    for a in args {
        let len = a.as_ref().len();
        n += 5 + digits(len) + len as u64;
    }
    n
}

/// Size of `SELECT <db>`: `*2\r\n$6\r\nSELECT\r\n$<digits>\r\n<db>\r\n`.
fn select_len(db: usize) -> u64 {
    let d = digits(db);
    4 + 12 + 5 + digits(d as usize) + d
}

/// `*1\r\n$5\r\nMULTI\r\n` plus `*1\r\n$4\r\nEXEC\r\n`.
const MULTI_EXEC_LEN: u64 = 15 + 14;

fn encode_into(out: &mut BytesMut, args: &[&[u8]]) {
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(b"*");
    out.extend_from_slice(num.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.extend_from_slice(b"$");
        out.extend_from_slice(num.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Parses a buffer of RESP multibulks of bulk strings (what the log writes) into argv lists. Stops at the first
/// malformed or incomplete frame.
pub fn decode_commands(data: &Bytes) -> Vec<Vec<Bytes>> {
    fn line(data: &[u8], pos: &mut usize, prefix: u8) -> Option<usize> {
        let rest = data.get(*pos..)?;
        if rest.first() != Some(&prefix) {
            return None;
        }
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let n = crate::util::num::parse_i64(rest.get(1..end)?)?;
        *pos += end + 2;
        usize::try_from(n).ok()
    }
    let mut out = Vec::new();
    let mut pos = 0;
    'frames: while pos < data.len() {
        let Some(n) = line(data, &mut pos, b'*') else { break };
        let mut argv = Vec::with_capacity(n);
        for _ in 0..n {
            let Some(len) = line(data, &mut pos, b'$') else { break 'frames };
            if data.len() < pos + len + 2 {
                break 'frames;
            }
            argv.push(data.slice(pos..pos + len));
            pos += len + 2;
        }
        out.push(argv);
    }
    out
}

/// Marks, in `state`, that appends must take the lock: a consumer has attached, and the backlog exists.
const ACTIVE: u64 = 1 << 63;

/// No database selected yet.
const NO_DB: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct GroupMeta {
    start: u64,
    len: u64,
    db_before: usize,
    atomic: bool,
}

/// The ring of encoded groups. Groups are kept whole: the oldest leave until the newest fits.
#[derive(Debug)]
struct Backlog {
    capacity: u64,
    bytes: VecDeque<u8>,
    groups: VecDeque<GroupMeta>,
    /// The offset at which the bytes held begin (the first group's start, or the log's offset when empty).
    first: u64,
}

impl Backlog {
    fn trim_to(&mut self, room: u64) {
        while self.bytes.len() as u64 > room {
            let Some(g) = self.groups.pop_front() else { break };
            self.bytes.drain(..g.len as usize);
            self.first = g.start + g.len;
        }
    }

    fn push(&mut self, meta: GroupMeta, data: &[u8]) {
        if meta.len > self.capacity {
            // Larger than the whole backlog: nothing before it can be kept either.
            self.bytes.clear();
            self.groups.clear();
            self.first = meta.start + meta.len;
            return;
        }
        self.trim_to(self.capacity - meta.len);
        if self.groups.is_empty() {
            self.first = meta.start;
        }
        self.bytes.extend(data.iter());
        self.groups.push_back(meta);
    }

    fn resize(&mut self, capacity: u64) {
        self.capacity = capacity;
        self.trim_to(capacity);
        self.bytes.shrink_to(capacity as usize);
    }

    /// The group starting at `offset`, copied out; `end` is the log's offset.
    fn read(&self, offset: u64, end: u64) -> Result<Option<EffectGroup>, LogError> {
        if offset > end {
            return Err(LogError::Ahead { offset: end });
        }
        if offset < self.first {
            return Err(LogError::FellBehind { oldest: self.first });
        }
        if offset == end {
            return Ok(None);
        }
        let i = self.groups.partition_point(|g| g.start < offset);
        let Some(g) = self.groups.get(i).filter(|g| g.start == offset) else { return Err(LogError::Misaligned) };
        let from = (g.start - self.first) as usize;
        let to = from + g.len as usize;
        let mut data = Vec::with_capacity(g.len as usize);
        data.extend(self.bytes.range(from..to));
        Ok(Some(EffectGroup {
            start: g.start,
            end: g.start + g.len,
            db_before: (g.db_before != NO_DB).then_some(g.db_before),
            atomic: g.atomic,
            data: Bytes::from(data),
        }))
    }
}

#[derive(Debug)]
struct Locked {
    /// Database selected by the stream so far (`NO_DB` right after the backlog was created, so its first group
    /// starts with a SELECT, as Redis forces one for a new backlog).
    last_db: usize,
    backlog: Option<Backlog>,
    tap: Option<Arc<dyn EffectTap>>,
}

/// The log. Shared by the server (appends) and consumers (reads); see the module docs.
#[derive(Debug)]
pub struct EffectLog {
    /// The offset, with [`ACTIVE`] set once a consumer has attached.
    state: AtomicU64,
    /// The database selected by the stream, while no backlog exists.
    idle_db: AtomicUsize,
    locked: Mutex<Locked>,
    capacity: AtomicU64,
    consumers: AtomicUsize,
    notify: Notify,
}

impl Default for EffectLog {
    fn default() -> Self {
        EffectLog::new(1 << 20)
    }
}

/// The databases of the effects in a group: the first, the last, and the SELECT bytes between effects.
fn db_walk(sink: &[Effect], last: Option<usize>) -> (usize, usize, u64) {
    let mut dbs = sink.iter().map(|e| e.db).chain(last);
    let Some(first) = dbs.next() else { return (NO_DB, NO_DB, 0) };
    let mut prev = first;
    let mut selects = 0;
    for db in dbs {
        if db != prev {
            selects += select_len(db);
            prev = db;
        }
    }
    (first, prev, selects)
}

impl EffectLog {
    /// A log whose backlog (once created) holds `capacity` bytes.
    pub fn new(capacity: u64) -> EffectLog {
        EffectLog {
            state: AtomicU64::new(0),
            idle_db: AtomicUsize::new(NO_DB),
            locked: Mutex::new(Locked { last_db: NO_DB, backlog: None, tap: None }),
            capacity: AtomicU64::new(capacity),
            consumers: AtomicUsize::new(0),
            notify: Notify::new(),
        }
    }

    /// The offset after the last appended effect.
    pub fn offset(&self) -> u64 {
        self.state.load(Ordering::Acquire) & !ACTIVE
    }

    /// Number of attached consumers.
    pub fn subscribers(&self) -> usize {
        self.consumers.load(Ordering::Relaxed)
    }

    /// True once the backlog exists (a consumer has attached at least once).
    pub fn active(&self) -> bool {
        self.state.load(Ordering::Acquire) & ACTIVE != 0
    }

    /// Sets the backlog's size (`repl-backlog-size`); a smaller size drops the oldest groups now.
    pub fn set_backlog_size(&self, bytes: u64) {
        self.capacity.store(bytes, Ordering::Relaxed);
        if let Some(b) = self.locked.lock().backlog.as_mut() {
            b.resize(bytes);
        }
    }

    /// The figures of INFO replication.
    pub fn info(&self) -> BacklogInfo {
        let size = self.capacity.load(Ordering::Relaxed);
        let l = self.locked.lock();
        let offset = self.offset();
        match &l.backlog {
            None => BacklogInfo { master_repl_offset: offset, active: false, size, first_byte_offset: 0, histlen: 0 },
            Some(b) => BacklogInfo {
                master_repl_offset: offset,
                active: true,
                size,
                first_byte_offset: b.first + 1,
                histlen: b.bytes.len() as u64,
            },
        }
    }

    /// Appends `sink`'s effects followed by `last` (the command's own effect, borrowed so that it is copied only
    /// when the backlog exists) as one group. `atomic` marks a MULTI/EXEC or script group; it is wrapped in
    /// MULTI/EXEC when it holds more than one effect. Empties `sink`.
    pub fn append(&self, sink: &mut EffectSink, last: Option<(usize, &[Bytes])>, atomic: bool) {
        let count = sink.items.len() + usize::from(last.is_some());
        if count == 0 {
            return;
        }
        let atomic = atomic && count > 1;
        let mut size: u64 = sink.items.iter().map(|e| resp_len(&e.args)).sum();
        if let Some((_, args)) = last {
            size += resp_len(args);
        }
        if atomic {
            size += MULTI_EXEC_LEN;
        }
        let (first_db, last_db, inner_selects) = db_walk(&sink.items, last.map(|(db, _)| db));
        size += inner_selects;
        if self.advance_idle(first_db, last_db, size) {
            sink.items.clear();
            return;
        }
        self.append_locked(sink, last, atomic);
    }

    /// Without a backlog, counts a group of `size` bytes (SELECTs between its effects included) running from
    /// database `first_db` to `last_db`, and returns true. Returns false, counting nothing, once the backlog exists.
    fn advance_idle(&self, first_db: usize, last_db: usize, size: u64) -> bool {
        let mut cur = self.state.load(Ordering::Acquire);
        if cur & ACTIVE != 0 {
            return false;
        }
        // The database sequence is ordered by this swap; the offset is a sum, so concurrent appends add up to the
        // same total in any order.
        let prev = self.idle_db.swap(last_db, Ordering::AcqRel);
        let total = size + if prev != first_db { select_len(first_db) } else { 0 };
        loop {
            match self.state.compare_exchange_weak(cur, cur + total, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) if now & ACTIVE == 0 => cur = now,
                // A consumer attached meanwhile: the caller takes the locked path (which forces a SELECT anyway).
                Err(_) => return false,
            }
        }
    }

    /// The `DEL` of a key that expired or was evicted. Without a backlog it is counted at once, building nothing
    /// (the removal precedes the command or cycle that found it, as its DEL precedes that command's effect in the
    /// log); otherwise it joins `sink`, to be appended with the rest of the group.
    pub fn removed(&self, sink: &mut EffectSink, db: usize, key: &[u8]) {
        if !self.advance_idle(db, db, resp_len(&[&b"DEL"[..], key])) {
            sink.push(db, vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
        }
    }

    fn append_locked(&self, sink: &mut EffectSink, last: Option<(usize, &[Bytes])>, atomic: bool) {
        let mut l = self.locked.lock();
        let start = self.offset();
        let db_before = l.last_db;
        let mut out = BytesMut::new();
        let mut num = itoa::Buffer::new();
        if atomic {
            // The first effect's SELECT goes before MULTI, as Redis 7.0 writes it.
            let first = sink.items.first().map(|e| e.db).or(last.map(|(db, _)| db));
            if let Some(db) = first.filter(|&db| db != l.last_db) {
                encode_into(&mut out, &[b"SELECT", num.format(db).as_bytes()]);
                l.last_db = db;
            }
            encode_into(&mut out, &[b"MULTI"]);
        }
        let items = sink.items.drain(..).map(|e| (e.db, e.args));
        // The command's own argv is copied here, so consumers never pin the connection's read buffer.
        let own = last.map(|(db, args)| (db, args.to_vec()));
        for (db, args) in items.chain(own) {
            if db != l.last_db {
                encode_into(&mut out, &[b"SELECT", num.format(db).as_bytes()]);
                l.last_db = db;
            }
            let refs: smallvec::SmallVec<[&[u8]; 8]> = args.iter().map(|a| &a[..]).collect();
            encode_into(&mut out, &refs);
        }
        if atomic {
            encode_into(&mut out, &[b"EXEC"]);
        }
        let len = out.len() as u64;
        let meta = GroupMeta { start, len, db_before, atomic };
        if let Some(b) = l.backlog.as_mut() {
            b.push(meta, &out);
        }
        if let Some(tap) = &l.tap {
            tap.group(start, (db_before != NO_DB).then_some(db_before), &out);
        }
        self.state.store((start + len) | ACTIVE, Ordering::Release);
        drop(l);
        self.notify.notify_waiters();
    }

    /// Creates the backlog if it does not exist yet. From here on every append is kept (within the backlog's
    /// size). For a consumer to start from a consistent dataset, the caller must hold every shard (or no client may
    /// write yet) while attaching, so no command is between its write and its append.
    fn activate(&self, l: &mut Locked) {
        if l.backlog.is_none() {
            let prev = self.state.fetch_or(ACTIVE, Ordering::AcqRel);
            let offset = prev & !ACTIVE;
            l.last_db = NO_DB;
            l.backlog = Some(Backlog {
                capacity: self.capacity.load(Ordering::Relaxed),
                bytes: VecDeque::new(),
                groups: VecDeque::new(),
                first: offset,
            });
        }
    }

    /// Attaches `tap`, replacing any other, and returns the offset from which it sees every group. Its first group
    /// starts with a SELECT. The caller makes sure no write is between its change and its append (no client
    /// yet, or every shard held) when the tap must start from a consistent dataset.
    pub fn attach_tap(&self, tap: Arc<dyn EffectTap>) -> u64 {
        let mut l = self.locked.lock();
        let prev = self.state.fetch_or(ACTIVE, Ordering::AcqRel);
        l.last_db = NO_DB;
        l.tap = Some(tap);
        prev & !ACTIVE
    }

    /// Detaches the tap. Without a backlog, appends go back to only counting.
    pub fn detach_tap(&self) {
        let mut l = self.locked.lock();
        l.tap = None;
        if l.backlog.is_none() {
            self.idle_db.store(NO_DB, Ordering::Release);
            self.state.fetch_and(!ACTIVE, Ordering::AcqRel);
        }
    }

    /// Continues the stream at `offset` (after loading a snapshot and replaying the change log at startup, so the
    /// offsets of new groups follow the ones already on disk). The next group starts with a SELECT. Only for
    /// startup: a backlog's contents are dropped.
    pub fn continue_from(&self, offset: u64) {
        let mut l = self.locked.lock();
        let active = self.state.load(Ordering::Acquire) & ACTIVE;
        self.state.store(offset | active, Ordering::Release);
        self.idle_db.store(NO_DB, Ordering::Release);
        l.last_db = NO_DB;
        if let Some(b) = l.backlog.as_mut() {
            b.bytes.clear();
            b.groups.clear();
            b.first = offset;
        }
    }

    /// A consumer reading every group appended from now on.
    pub fn subscribe(self: &Arc<Self>) -> Consumer {
        let mut l = self.locked.lock();
        self.activate(&mut l);
        let next = self.offset();
        drop(l);
        self.consumers.fetch_add(1, Ordering::Relaxed);
        Consumer { log: Arc::clone(self), next }
    }

    /// A consumer reading from `offset`, which must be a group boundary still in the backlog (or the current
    /// offset).
    ///
    /// # Errors
    /// [`LogError::FellBehind`] when the groups after `offset` are no longer held, [`LogError::Ahead`] when it is
    /// beyond the end, [`LogError::Misaligned`] when it falls inside a group.
    pub fn subscribe_at(self: &Arc<Self>, offset: u64) -> Result<Consumer, LogError> {
        let mut l = self.locked.lock();
        self.activate(&mut l);
        let end = self.offset();
        if let Some(b) = &l.backlog {
            b.read(offset, end)?;
        }
        drop(l);
        self.consumers.fetch_add(1, Ordering::Relaxed);
        Ok(Consumer { log: Arc::clone(self), next: offset })
    }

    fn read(&self, offset: u64) -> Result<Option<EffectGroup>, LogError> {
        let l = self.locked.lock();
        match &l.backlog {
            Some(b) => b.read(offset, self.offset()),
            None => Err(LogError::FellBehind { oldest: self.offset() }),
        }
    }
}

/// A reader of the log at its own offset.
#[derive(Debug)]
pub struct Consumer {
    log: Arc<EffectLog>,
    next: u64,
}

impl Consumer {
    /// The offset up to which this consumer has read.
    pub fn offset(&self) -> u64 {
        self.next
    }

    /// The next group, or `None` when the consumer has read everything appended so far.
    ///
    /// # Errors
    /// [`LogError::FellBehind`] when the backlog no longer holds the next group.
    pub fn try_next(&mut self) -> Result<Option<EffectGroup>, LogError> {
        let g = self.log.read(self.next)?;
        if let Some(g) = &g {
            self.next = g.end;
        }
        Ok(g)
    }

    /// The next group, waiting for one to be appended.
    ///
    /// # Errors
    /// [`LogError::FellBehind`] when the backlog no longer holds the next group.
    pub async fn next(&mut self) -> Result<EffectGroup, LogError> {
        let log = Arc::clone(&self.log);
        loop {
            let notified = log.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so an append between the check and the wait still wakes us.
            notified.as_mut().enable();
            if let Some(g) = self.try_next()? {
                return Ok(g);
            }
            notified.await;
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.log.consumers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
    }

    fn resp(parts: &[&str]) -> Vec<u8> {
        let mut out = BytesMut::new();
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        encode_into(&mut out, &refs);
        out.to_vec()
    }

    #[test]
    fn offset_counts_resp_bytes_and_selects_without_a_backlog() {
        let log = Arc::new(EffectLog::default());
        let mut sink = EffectSink::default();
        let set = argv(&["SET", "k", "v"]);
        log.append(&mut sink, Some((0, &set)), false);
        let mut want = resp(&["SELECT", "0"]).len() + resp(&["SET", "k", "v"]).len();
        assert_eq!(log.offset(), want as u64);
        // Same database: no SELECT.
        log.append(&mut sink, Some((0, &set)), false);
        want += resp(&["SET", "k", "v"]).len();
        assert_eq!(log.offset(), want as u64);
        // Another database, then an atomic group spanning two.
        sink.push(12, argv(&["DEL", "x"]));
        log.append(&mut sink, None, false);
        want += resp(&["SELECT", "12"]).len() + resp(&["DEL", "x"]).len();
        sink.push(12, argv(&["INCR", "a"]));
        log.append(&mut sink, Some((3, &set)), true);
        want += resp(&["MULTI"]).len()
            + resp(&["INCR", "a"]).len()
            + resp(&["SELECT", "3"]).len()
            + resp(&["SET", "k", "v"]).len()
            + resp(&["EXEC"]).len();
        assert_eq!(log.offset(), want as u64);
        assert!(!log.active());
        assert_eq!(log.info().histlen, 0);
    }

    #[test]
    fn consumers_read_groups_in_order_with_selects_and_transactions() {
        let log = Arc::new(EffectLog::default());
        let mut sink = EffectSink::default();
        log.append(&mut sink, Some((5, &argv(&["SET", "a", "1"]))), false);
        let before = log.offset();
        let mut c = log.subscribe();
        assert_eq!(c.offset(), before);
        assert!(c.try_next().unwrap().is_none());
        log.append(&mut sink, Some((5, &argv(&["SET", "b", "2"]))), false);
        sink.push(5, argv(&["DEL", "x"]));
        log.append(&mut sink, Some((6, &argv(&["SET", "c", "3"]))), true);
        // A one-effect "atomic" group is not wrapped, as Redis propagates a lone command of a transaction.
        log.append(&mut sink, Some((6, &argv(&["SET", "d", "4"]))), true);
        let g1 = c.try_next().unwrap().unwrap();
        // The backlog's first group starts with a SELECT even though the database did not change.
        assert_eq!(g1.data.to_vec(), [resp(&["SELECT", "5"]), resp(&["SET", "b", "2"])].concat());
        assert_eq!(g1.start, before);
        let g2 = c.try_next().unwrap().unwrap();
        assert!(g2.atomic);
        assert_eq!(g2.db_before, Some(5));
        assert_eq!(
            g2.commands(),
            vec![
                argv(&["MULTI"]),
                argv(&["DEL", "x"]),
                argv(&["SELECT", "6"]),
                argv(&["SET", "c", "3"]),
                argv(&["EXEC"])
            ]
        );
        let g3 = c.try_next().unwrap().unwrap();
        assert!(!g3.atomic);
        assert_eq!(g3.commands(), vec![argv(&["SET", "d", "4"])]);
        assert_eq!(g3.end, log.offset());
        assert!(c.try_next().unwrap().is_none());
        let info = log.info();
        assert!(info.active);
        assert_eq!(info.first_byte_offset, before + 1);
        assert_eq!(info.histlen, log.offset() - before);
        // A second consumer can start at any boundary still held.
        let mut c2 = log.subscribe_at(g2.start).unwrap();
        assert_eq!(c2.try_next().unwrap().unwrap().data, g2.data);
        assert_eq!(log.subscribe_at(g2.start + 1).unwrap_err(), LogError::Misaligned);
        assert_eq!(log.subscribe_at(log.offset() + 1).unwrap_err(), LogError::Ahead { offset: log.offset() });
        assert_eq!(log.subscribe_at(0).unwrap_err(), LogError::FellBehind { oldest: before });
        assert_eq!(log.subscribers(), 2);
        drop(c2);
        assert_eq!(log.subscribers(), 1);
    }

    #[test]
    fn a_consumer_left_behind_by_the_ring_is_told_so() {
        let log = Arc::new(EffectLog::new(100));
        let mut c = log.subscribe();
        let mut sink = EffectSink::default();
        let set = argv(&["SET", "key", "value"]); // 33 bytes
        for _ in 0..3 {
            log.append(&mut sink, Some((0, &set)), false);
        }
        // 23 (SELECT 0) + 33 and 33 fit; the third group pushed the first out.
        let info = log.info();
        assert_eq!(info.histlen, 66);
        assert_eq!(info.first_byte_offset, 56 + 1);
        assert_eq!(c.try_next().unwrap_err(), LogError::FellBehind { oldest: 56 });
        let mut c = log.subscribe_at(56).unwrap();
        assert_eq!(c.try_next().unwrap().unwrap().commands(), vec![set.clone()]);
        // Shrinking keeps whole groups only.
        log.set_backlog_size(40);
        assert_eq!(log.info().histlen, 33);
        assert_eq!(c.try_next().unwrap().unwrap().end, log.offset());
        // A group larger than the backlog empties it.
        let big = argv(&["SET", "k", &"x".repeat(100)]);
        log.append(&mut sink, Some((0, &big)), false);
        assert_eq!(log.info().histlen, 0);
        assert_eq!(c.try_next().unwrap_err(), LogError::FellBehind { oldest: log.offset() });
        assert!(log.subscribe_at(log.offset()).unwrap().try_next().unwrap().is_none());
    }

    #[test]
    fn waiting_consumers_are_woken() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let log = Arc::new(EffectLog::default());
            let mut c = log.subscribe();
            let writer = Arc::clone(&log);
            let task = tokio::spawn(async move { c.next().await });
            tokio::task::yield_now().await;
            let mut sink = EffectSink::default();
            writer.append(&mut sink, Some((0, &argv(&["INCR", "n"]))), false);
            let g = task.await.unwrap().unwrap();
            assert_eq!(g.commands().last().unwrap(), &argv(&["INCR", "n"]));
        });
    }

    #[test]
    fn removals_are_counted_without_a_backlog_and_kept_with_one() {
        let log = Arc::new(EffectLog::default());
        let mut sink = EffectSink::default();
        log.removed(&mut sink, 2, b"gone");
        assert!(sink.is_empty());
        assert_eq!(log.offset(), (resp(&["SELECT", "2"]).len() + resp(&["DEL", "gone"]).len()) as u64);
        let mut c = log.subscribe();
        log.removed(&mut sink, 2, b"gone");
        log.append(&mut sink, None, false);
        assert_eq!(c.try_next().unwrap().unwrap().commands(), vec![argv(&["SELECT", "2"]), argv(&["DEL", "gone"])]);
    }

    /// A group as a tap saw it: start, database before, bytes.
    type Seen = (u64, Option<usize>, Vec<u8>);

    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<Seen>>);

    impl EffectTap for Recorder {
        fn group(&self, start: u64, db_before: Option<usize>, data: &[u8]) {
            self.0.lock().push((start, db_before, data.to_vec()));
        }
    }

    #[test]
    fn a_tap_sees_every_group_in_order_and_detaching_makes_appends_cheap_again() {
        let log = Arc::new(EffectLog::default());
        let mut sink = EffectSink::default();
        log.append(&mut sink, Some((1, &argv(&["SET", "a", "1"]))), false);
        let tap = Arc::new(Recorder::default());
        let from = log.attach_tap(tap.clone());
        assert_eq!(from, log.offset());
        assert!(log.active());
        log.append(&mut sink, Some((1, &argv(&["SET", "b", "2"]))), false);
        log.removed(&mut sink, 2, b"gone");
        log.append(&mut sink, None, false);
        let seen = tap.0.lock().clone();
        assert_eq!(seen.len(), 2);
        // The tap's first group selects its database itself (nothing before it counts); the next one carries
        // what came before it.
        assert_eq!(seen[0], (from, None, [resp(&["SELECT", "1"]), resp(&["SET", "b", "2"])].concat()));
        assert_eq!(seen[1].0, from + seen[0].2.len() as u64);
        assert_eq!(seen[1].1, Some(1));
        assert_eq!(seen[1].0 + seen[1].2.len() as u64, log.offset());
        assert_eq!(log.info().histlen, 0, "a tap needs no backlog");
        log.detach_tap();
        assert!(!log.active());
        log.append(&mut sink, Some((1, &argv(&["SET", "c", "3"]))), false);
        assert_eq!(tap.0.lock().len(), 2);
        log.continue_from(1000);
        assert_eq!(log.offset(), 1000);
        log.append(&mut sink, Some((1, &argv(&["SET", "d", "4"]))), false);
        assert_eq!(log.offset(), 1000 + (resp(&["SELECT", "1"]).len() + resp(&["SET", "d", "4"]).len()) as u64);
    }

    #[test]
    fn decode_stops_at_damage() {
        let mut data = resp(&["SET", "a", "b"]);
        data.extend_from_slice(b"*2\r\n$3\r\nDEL\r\n$9\r\nshort");
        assert_eq!(decode_commands(&Bytes::from(data)), vec![argv(&["SET", "a", "b"])]);
    }
}
