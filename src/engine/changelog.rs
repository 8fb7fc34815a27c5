//! The change log (`appendonly yes`): the write-effect stream appended to segment files, and replayed through
//! [`super::execute`] at startup after the snapshot, so a restart after a crash loses at most what `appendfsync`
//! allows (docs/PERSISTENCE.md, "Change log").
//!
//! The effect log's tap ([`Feed`]) copies each group, as a checksummed record, into a buffer while the group's
//! shards are still locked; a writer thread of its own drains the buffer into the current segment and syncs it
//! per `appendfsync`. With `always`, a connection whose command wrote waits for the sync of its group before its
//! reply leaves (a group commit: one sync covers every group buffered meanwhile). Each successful snapshot
//! becomes the log's new base: the writer starts a new segment and deletes the segments wholly before the
//! snapshot's offset. Turned on at runtime, the log has no base until the BGSAVE it starts completes; until then
//! records wait in memory and nothing is promised, as Redis's AOF before its first rewrite.

use super::state::Server;
use super::Session;
use crate::config::Id;
use crate::effects::EffectTap;
use crate::persist::changelog::{self as files, SegmentWriter};
use crate::util::clock::unix_ms;
use parking_lot::{Condvar, Mutex};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A segment past this size is closed and a new one started at the next write, so a new base can let the old
/// records go without rewriting anything.
const SEGMENT_BYTES: u64 = 64 << 20;

/// With `everysec` and `no`, how long the writer lets groups gather after a write.
const BATCH_WAIT: Duration = Duration::from_millis(1);

/// `appendfsync`, in the order of its config enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    Everysec = 1,
    No = 2,
}

impl Fsync {
    fn from_u8(v: u8) -> Fsync {
        match v {
            0 => Fsync::Always,
            2 => Fsync::No,
            _ => Fsync::Everysec,
        }
    }
}

/// What the tap hands the writer.
#[derive(Debug, Default)]
struct FeedBuf {
    /// Encoded records not yet taken by the writer.
    bytes: Vec<u8>,
    /// Stream offset after the last record in `bytes` (or taken before).
    end: u64,
    /// A snapshot at this offset succeeded: start a new base.
    rebase: Option<u64>,
    /// Sync everything and end.
    stop: bool,
}

/// The effect log's tap: encodes each group into the buffer and wakes the writer.
#[derive(Debug, Default)]
struct Feed {
    buf: Mutex<FeedBuf>,
    wake: Condvar,
}

impl EffectTap for Feed {
    fn group(&self, start: u64, db_before: Option<usize>, data: &[u8]) {
        let mut b = self.buf.lock();
        let was_empty = b.bytes.is_empty();
        files::encode_record(&mut b.bytes, start, unix_ms(), db_before, data);
        b.end = start + data.len() as u64;
        drop(b);
        // The writer takes everything buffered at once: only the first group after it emptied the buffer wakes it.
        if was_empty {
            self.wake.notify_one();
        }
    }
}

/// The change log's state, shared with the writer thread and read by INFO and the gate.
#[derive(Debug)]
pub struct Shared {
    feed: Arc<Feed>,
    policy: AtomicU8,
    /// The stream offset up to which records are on disk and synced (u64::MAX once the log is off, so no
    /// connection waits on it).
    durable: tokio::sync::watch::Sender<u64>,
    /// On, and a base exists: with `always`, connections wait for their groups' sync.
    has_base: AtomicBool,
    pub enabled: AtomicBool,
    pub last_write_ok: AtomicBool,
    pub last_error: Mutex<String>,
    /// Bytes in the segments the log consists of now, and right after the last rebase.
    pub current_size: AtomicU64,
    pub base_size: AtomicU64,
    /// Syncs that took longer than two seconds (INFO's aof_delayed_fsync).
    pub delayed_fsync: AtomicU64,
    /// The slowest sync since the cron last took it, ms (LATENCY's `aof-fsync` event).
    pub slowest_sync_ms: AtomicU64,
    pub rewrites: AtomicU64,
    /// A rewrite (a BGSAVE meant as the new base) was asked for and has not become the base yet.
    pub rewriting: AtomicBool,
    /// Segments holding records from this offset on are kept even when a new base covers them: the newest
    /// backup ends there, and the next incremental backup starts there.
    pub retain_from: AtomicU64,
}

/// The server's change log: its shared state and the writer thread, when on.
#[derive(Debug)]
pub struct ChangeLog {
    pub shared: Arc<Shared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// `appenddirname` and `appendfilename` (immutable), kept here because CONFIG SET appendonly runs while the
    /// configuration is locked.
    dir_name: String,
    file_name: String,
}

impl ChangeLog {
    /// The change log of a server configured by `cfg`; off until started.
    pub fn new(cfg: &crate::config::Config) -> ChangeLog {
        ChangeLog {
            dir_name: cfg.str(Id::Appenddirname).to_string(),
            file_name: cfg.str(Id::Appendfilename).to_string(),
            shared: Arc::new(Shared {
                feed: Arc::default(),
                policy: AtomicU8::new(Fsync::Everysec as u8),
                durable: tokio::sync::watch::channel(u64::MAX).0,
                has_base: AtomicBool::new(false),
                enabled: AtomicBool::new(false),
                last_write_ok: AtomicBool::new(true),
                last_error: Mutex::new(String::new()),
                current_size: AtomicU64::new(0),
                base_size: AtomicU64::new(0),
                delayed_fsync: AtomicU64::new(0),
                slowest_sync_ms: AtomicU64::new(0),
                rewrites: AtomicU64::new(0),
                rewriting: AtomicBool::new(false),
                retain_from: AtomicU64::new(u64::MAX),
            }),
            writer: Mutex::new(None),
        }
    }

    /// True when a write's reply must wait for its group to be synced (`appendfsync always` with a base).
    #[inline]
    pub fn sync_always(&self) -> bool {
        let s = &self.shared;
        s.has_base.load(Relaxed) && s.policy.load(Relaxed) == Fsync::Always as u8
    }

    /// Waits until the log is synced up to `offset` (or is turned off, or the server stops).
    pub async fn durable(&self, offset: u64) {
        let mut rx = self.shared.durable.subscribe();
        let _ = rx.wait_for(|&d| d >= offset).await;
    }

    /// Bytes of records waiting for the writer (INFO's aof_buffer_length).
    pub fn buffered(&self) -> usize {
        self.shared.feed.buf.lock().bytes.len()
    }

    /// Sets `appendfsync`.
    pub fn set_policy(&self, v: u8) {
        self.shared.policy.store(Fsync::from_u8(v) as u8, Relaxed);
        self.shared.feed.wake.notify_one();
    }

    /// True while the log is on and its last write or sync failed (writes get `-MISCONF`).
    #[inline]
    pub fn write_failed(&self) -> bool {
        self.shared.enabled.load(Relaxed) && !self.shared.last_write_ok.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A snapshot of the stream up to `offset` is on disk: the log's base moves there.
    pub fn rebase(&self, offset: u64) {
        if !self.shared.enabled.load(Relaxed) {
            return;
        }
        self.shared.feed.buf.lock().rebase = Some(offset);
        self.shared.feed.wake.notify_one();
    }

    /// Syncs what is buffered and stops the writer (shutdown, `appendonly no`).
    pub fn close(&self) {
        let Some(thread) = self.writer.lock().take() else { return };
        self.shared.feed.buf.lock().stop = true;
        self.shared.feed.wake.notify_one();
        let _ = thread.join();
        let s = &self.shared;
        s.enabled.store(false, Relaxed);
        s.has_base.store(false, Relaxed);
        s.durable.send_replace(u64::MAX);
    }

    fn start_writer(&self, dir: PathBuf, base: String, seg: Option<SegmentWriter>, from: u64) -> Result<(), String> {
        let s = &self.shared;
        *s.feed.buf.lock() = FeedBuf { end: from, ..Default::default() };
        s.durable.send_replace(from);
        s.last_write_ok.store(true, Relaxed);
        s.has_base.store(seg.is_some(), Relaxed);
        s.enabled.store(true, Relaxed);
        let shared = Arc::clone(s);
        let thread = std::thread::Builder::new()
            .name("strata-changelog".into())
            .spawn(move || Writer { sh: shared, dir, base, seg, written: from }.run())
            .map_err(|e| format!("cannot start the change log writer: {e}"))?;
        *self.writer.lock() = Some(thread);
        Ok(())
    }
}

impl Server {
    /// The change log's directory (`appenddirname` under `dir`) and the name its segments start with.
    pub fn changelog_location(&self) -> (PathBuf, String) {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        (cwd.join(&self.changelog.dir_name), self.changelog.file_name.clone())
    }

    /// At startup, after the snapshot (which ended at stream offset `base`) loaded: with `appendonly yes`,
    /// replays the records after `base` and opens a new segment for what follows; the stream's offset continues
    /// from the last record either way.
    ///
    /// # Errors
    /// A segment is damaged (not a torn tail), a torn tail with `aof-load-truncated no`, or the log does not
    /// continue from the snapshot (its base is missing): the message names the file and offset.
    pub fn open_changelog_at_startup(&self, base: u64) -> Result<(), String> {
        if !self.config.read().bool(Id::Appendonly) {
            self.effects.continue_from(base);
            return Ok(());
        }
        let (dir, name) = self.changelog_location();
        // The newest backup's end: the next incremental backup reads the log from there.
        if let Some(m) = self.backup_store().and_then(|s| s.list()).ok().and_then(|mut l| l.pop()) {
            self.changelog.shared.retain_from.store(m.end_offset, Relaxed);
        }
        let end = self.replay_changelog(&dir, &name, base)?;
        self.changes_since_save.store(0, Relaxed);
        self.effects.continue_from(end);
        let seg = SegmentWriter::create(&dir, &name, end)
            .map_err(|e| format!("change log: cannot create a segment in {}: {e}", dir.display()))?;
        self.changelog.start_writer(dir, name, Some(seg), end)?;
        self.changelog.shared.current_size.store(segments_size(&self.changelog_location().0), Relaxed);
        let at = self.effects.attach_tap(self.changelog.shared.feed.clone());
        debug_assert_eq!(at, end);
        Ok(())
    }

    /// Applies every record after `base`, returning the offset after the last one.
    fn replay_changelog(&self, dir: &Path, name: &str, base: u64) -> Result<u64, String> {
        let segments = files::list_segments(dir, name).map_err(|e| format!("change log {}: {e}", dir.display()))?;
        let truncate_ok = self.config.read().bool(Id::AofLoadTruncated);
        let mut at = base;
        let mut session = Session::detached(self);
        session.replaying = true;
        let started = Instant::now();
        let (mut groups, mut failed) = (0u64, 0u64);
        for seg in &segments {
            let scanned = files::scan(&seg.path).map_err(|e| e.to_string())?;
            let file = seg.path.display();
            if scanned.torn() {
                if !truncate_ok {
                    return Err(format!(
                        "change log {file}: the last record is incomplete (byte {} of {}); start with \
                         aof-load-truncated yes to cut it off",
                        scanned.valid_len, scanned.file_len
                    ));
                }
                tracing::warn!(
                    "change log {file}: the last record is incomplete (a crash during a write); cutting the file \
                     from {} to {} bytes",
                    scanned.file_len,
                    scanned.valid_len
                );
                files::truncate(&seg.path, scanned.valid_len).map_err(|e| format!("change log {file}: {e}"))?;
            }
            if scanned.records.is_empty() && scanned.valid_len == 0 {
                continue;
            }
            if scanned.first != seg.first {
                return Err(format!(
                    "change log {file}: its header says offset {}, its name {}",
                    scanned.first, seg.first
                ));
            }
            for rec in &scanned.records {
                if rec.end() <= at {
                    continue;
                }
                if rec.start != at {
                    return Err(format!(
                        "change log {file}: the record at stream offset {} does not continue from offset {at} \
                         ({}); the snapshot or a segment this log builds on is missing. Restore it, or move {} away \
                         to start from the snapshot alone",
                        rec.start,
                        if at == base { "the snapshot's end" } else { "the previous record's end" },
                        dir.display()
                    ));
                }
                failed += self.apply_record(&mut session, rec, &format!("change log {file}"), failed);
                at = rec.end();
                groups += 1;
            }
        }
        if groups > 0 || !segments.is_empty() {
            tracing::info!(
                "Change log replayed: {groups} groups from {} segments in {:.2?}, stream offset {base} -> {at}{}",
                segments.len(),
                started.elapsed(),
                if failed > 0 { format!(", {failed} commands failed") } else { String::new() }
            );
        }
        Ok(at)
    }

    /// Applies one record's commands through the gate with a replaying session; returns how many failed (the first
    /// few, counting `failed_before`, are logged with `what` naming the source).
    pub fn apply_record(&self, session: &mut Session, rec: &files::Record, what: &str, failed_before: u64) -> u64 {
        if let Some(db) = rec.db_before {
            session.db = db;
        }
        let mut failed = 0;
        for args in crate::effects::decode_commands(&rec.data) {
            if let super::Outcome::Reply(crate::protocol::Reply::Error(e)) = super::execute(self, session, &args) {
                failed += 1;
                if failed_before + failed <= 10 {
                    tracing::warn!("{what}: replaying {}: {e}", crate::util::repr(&args[0]));
                }
            }
        }
        failed
    }

    /// The change log's records from stream offset `from` on, read from its segments (what the writer has
    /// written so far).
    ///
    /// # Errors
    /// The log is off or has no base yet, a segment is damaged, or the segments no longer reach back to `from`.
    pub fn changelog_records_from(&self, from: u64) -> Result<Vec<files::Record>, String> {
        if !self.changelog.shared.enabled.load(Relaxed) || !self.changelog.shared.has_base.load(Relaxed) {
            return Err("the change log is off (CONFIG SET appendonly yes, then a FULL backup)".into());
        }
        let (dir, name) = self.changelog_location();
        let mut out: Vec<files::Record> = Vec::new();
        for seg in files::list_segments(&dir, &name).map_err(|e| format!("change log {}: {e}", dir.display()))? {
            let scanned = files::scan(&seg.path).map_err(|e| e.to_string())?;
            for rec in scanned.records {
                if rec.end() <= from {
                    continue;
                }
                let expect = out.last().map_or(from, files::Record::end);
                if rec.start != expect {
                    return Err(format!(
                        "the change log does not hold stream offset {expect} any more (it continues at {}); create a \
                         FULL backup",
                        rec.start
                    ));
                }
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Waits (up to a few seconds) until the change log has written and synced the stream up to `offset`.
    ///
    /// # Errors
    /// The writer did not get there in time (a failing disk).
    pub fn changelog_wait_synced(&self, offset: u64) -> Result<(), String> {
        let rx = self.changelog.shared.durable.subscribe();
        let deadline = Instant::now() + Duration::from_secs(5);
        while *rx.borrow() < offset {
            if Instant::now() > deadline {
                return Err(format!("the change log has not reached stream offset {offset} (a write error?)"));
            }
            self.changelog.shared.feed.wake.notify_one();
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    /// CONFIG SET appendonly: turning it on starts a log with a BGSAVE as its base (the old segments are stale and
    /// removed); turning it off syncs and stops the writer, leaving the files.
    ///
    /// # Errors
    /// The directory cannot be prepared or the writer cannot start.
    pub fn set_appendonly(&self, on: bool) -> Result<(), String> {
        if !on {
            self.effects.detach_tap();
            self.changelog.close();
            return Ok(());
        }
        if self.changelog.shared.enabled.load(Relaxed) {
            return Ok(());
        }
        let (dir, name) = self.changelog_location();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for seg in files::list_segments(&dir, &name).map_err(|e| e.to_string())? {
            std::fs::remove_file(&seg.path).map_err(|e| format!("{}: {e}", seg.path.display()))?;
        }
        // Attached before the base's BGSAVE takes its moment, so every group after that moment is in the log.
        let from = self.effects.attach_tap(self.changelog.shared.feed.clone());
        if let Err(e) = self.changelog.start_writer(dir, name, None, from) {
            self.effects.detach_tap();
            return Err(e);
        }
        self.changelog.shared.current_size.store(0, Relaxed);
        self.rewrite_changelog();
        Ok(())
    }

    /// BGREWRITEAOF: a new base is a new snapshot. Returns true when it started now, false when it waits for the
    /// save in progress.
    pub fn rewrite_changelog(&self) -> bool {
        self.changelog.shared.rewrites.fetch_add(1, Relaxed);
        self.changelog.shared.rewriting.store(true, Relaxed);
        match self.start_bgsave() {
            Ok(()) => true,
            Err(_) => {
                self.persistence.bgsave_scheduled.store(true, Relaxed);
                false
            }
        }
    }
}

fn segments_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

/// The writer thread's state.
struct Writer {
    sh: Arc<Shared>,
    dir: PathBuf,
    base: String,
    /// None until the log has a base (turned on at runtime, before its BGSAVE completed).
    seg: Option<SegmentWriter>,
    /// Stream offset after the last record written to the segment.
    written: u64,
}

impl Writer {
    fn fail(&self, what: &str, e: &std::io::Error) {
        // The reason first: a client that sees the flag (Acquire in `write_failed`) also sees the reason.
        *self.sh.last_error.lock() = crate::engine::hot::os_error_text(e);
        let first = self.sh.last_write_ok.swap(false, std::sync::atomic::Ordering::Release);
        if first {
            tracing::warn!("Error {what} the change log in {}: {e}", self.dir.display());
        }
    }

    fn recovered(&self) {
        if !self.sh.last_write_ok.swap(true, Relaxed) {
            tracing::warn!("Change log write error resolved: writing again.");
        }
    }

    fn new_segment(&mut self) -> std::io::Result<()> {
        let seg = SegmentWriter::create(&self.dir, &self.base, self.written)?;
        if let Some(old) = self.seg.replace(seg) {
            old.sync()?;
        }
        Ok(())
    }

    /// Deletes the segments holding only records before `offset` (the new base), and opens the first segment of
    /// a log that had no base.
    fn rebase(&mut self, offset: u64) -> std::io::Result<()> {
        if self.seg.as_ref().is_none_or(|s| s.first < offset && s.len > files::HEADER_LEN as u64) {
            self.new_segment()?;
        }
        self.sh.has_base.store(true, Relaxed);
        self.sh.rewriting.store(false, Relaxed);
        let segs = files::list_segments(&self.dir, &self.base)?;
        let keep_from = offset.min(self.sh.retain_from.load(Relaxed));
        for pair in segs.windows(2) {
            if pair[1].first <= keep_from {
                std::fs::remove_file(&pair[0].path)?;
            }
        }
        files::sync_dir(&self.dir)?;
        let size = segments_size(&self.dir);
        self.sh.current_size.store(size, Relaxed);
        self.sh.base_size.store(size, Relaxed);
        Ok(())
    }

    fn sync(&mut self, synced: &mut u64, last_sync: &mut Instant) {
        let Some(seg) = &self.seg else { return };
        let t = Instant::now();
        match seg.sync() {
            Ok(()) => {
                *synced = self.written;
                *last_sync = Instant::now();
                self.sh.slowest_sync_ms.fetch_max(t.elapsed().as_millis() as u64, Relaxed);
                if t.elapsed() > Duration::from_secs(2) {
                    self.sh.delayed_fsync.fetch_add(1, Relaxed);
                }
                self.sh.durable.send_replace(self.written);
            }
            Err(e) => self.fail("syncing", &e),
        }
    }

    fn run(mut self) {
        let mut pending: Vec<u8> = Vec::new();
        let mut pending_end = self.written;
        let mut synced = self.written;
        let mut last_sync = Instant::now();
        loop {
            let policy = Fsync::from_u8(self.sh.policy.load(Relaxed));
            let (stop, rebase) = {
                let mut b = self.sh.feed.buf.lock();
                let has_base = self.seg.is_some();
                let idle = |b: &FeedBuf| !b.stop && b.rebase.is_none() && (!has_base || b.bytes.is_empty());
                if idle(&b) && pending.is_empty() {
                    let wait = match policy {
                        Fsync::Everysec if synced < self.written => {
                            Duration::from_secs(1).saturating_sub(last_sync.elapsed())
                        }
                        _ => Duration::from_secs(1),
                    };
                    self.sh.feed.wake.wait_for(&mut b, wait);
                }
                if self.seg.is_some() || b.rebase.is_some() {
                    if pending.is_empty() {
                        std::mem::swap(&mut pending, &mut b.bytes);
                    } else {
                        pending.append(&mut b.bytes);
                    }
                    pending_end = b.end;
                }
                (b.stop, b.rebase.take())
            };
            if let Some(offset) = rebase {
                match self.rebase(offset) {
                    Ok(()) => self.recovered(),
                    Err(e) => {
                        self.fail("starting a new base of", &e);
                        if self.seg.is_none() {
                            // Still no base: the records stay in memory until a later save succeeds.
                            let mut b = self.sh.feed.buf.lock();
                            let mut rest = std::mem::take(&mut b.bytes);
                            b.bytes = std::mem::take(&mut pending);
                            b.bytes.append(&mut rest);
                        }
                    }
                }
            }
            if !pending.is_empty() && self.seg.is_some() {
                self.write(&mut pending, pending_end, stop);
                if policy != Fsync::Always && !stop {
                    // Let groups gather for a millisecond: one write per batch instead of a wake-up per command
                    // (what `always` cannot wait for, its syncs batch by themselves).
                    std::thread::sleep(BATCH_WAIT);
                }
            }
            let due = match policy {
                Fsync::Always => true,
                Fsync::Everysec => last_sync.elapsed() >= Duration::from_secs(1),
                Fsync::No => false,
            };
            if synced < self.written && (due || stop) {
                self.sync(&mut synced, &mut last_sync);
            } else if policy == Fsync::No {
                self.sh.durable.send_replace(self.written);
            }
            if stop {
                if !pending.is_empty() {
                    tracing::warn!("Change log closed with {} bytes it could not write.", pending.len());
                }
                return;
            }
        }
    }

    /// Writes the taken records; on failure keeps them for the next round (after a pause, so a full disk is not
    /// hammered), behind a segment cut back to whole records or a new segment.
    fn write(&mut self, pending: &mut Vec<u8>, end: u64, stop: bool) {
        if self.seg.as_ref().is_some_and(|s| s.len >= SEGMENT_BYTES) {
            if let Err(e) = self.new_segment() {
                self.fail("rotating", &e);
            }
        }
        let Some(seg) = self.seg.as_mut() else { return };
        match seg.append(pending) {
            Ok(()) => {
                self.sh.current_size.fetch_add(pending.len() as u64, Relaxed);
                self.written = end;
                pending.clear();
                self.recovered();
            }
            Err(e) => {
                let healthy = seg.healthy();
                self.fail("writing", &e);
                if !healthy {
                    let _ = self.new_segment();
                }
                if !stop {
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
}
