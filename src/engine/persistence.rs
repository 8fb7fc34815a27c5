//! The server's side of snapshots: where the file lives, SAVE and BGSAVE, the cron's save points, loading at
//! startup, and the state the gate reads (`-LOADING`, `-MISCONF`). The file format and the copy-on-write walk are
//! `persist`'s; this file only drives them with the server's configuration and counters.

use super::state::Server;
use crate::config::{Id, Value};
use crate::error::{self, CmdError};
use crate::persist::format::Limits;
use crate::persist::snapshot;
use crate::store::types::{HashLimits, ZsetLimits};
use crate::util::clock::unix_ms;
use std::path::PathBuf;
use std::sync::atomic::Ordering::{AcqRel, Relaxed};
use std::sync::Arc;

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed background save, save points wait this long before trying
/// again, so a full disk is not hammered every cron tick.
const BGSAVE_RETRY_DELAY_MS: u64 = 5_000;

/// Why a save did not start or did not complete.
#[derive(Debug)]
pub enum SaveError {
    InProgress,
    /// The server has no shared handle to give a background thread (an engine built outside `start`).
    NoBackground,
    Io(String),
}

impl Server {
    /// The snapshot file: `dbfilename` in the working directory (`dir`; the binary changes into it at startup and
    /// CONFIG SET dir changes into the new one, as Redis does).
    pub fn snapshot_path(&self) -> PathBuf {
        let name = self.config.read().str(Id::Dbfilename).to_string();
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")).join(name)
    }

    /// The encoding thresholds loaded containers are built with.
    /// How a load restores the compressed tier: with compression on, values that were cold when saved are loaded
    /// compressed (`None` with compression off).
    pub fn cold_load(&self) -> Option<snapshot::ColdLoad<'_>> {
        let h = &self.hot;
        h.compression.load(Relaxed).then(|| snapshot::ColdLoad {
            tier: &self.tier,
            min_size: h.compression_min_size.load(Relaxed),
            cold_secs: u32::try_from(h.compression_cold_secs.load(Relaxed)).unwrap_or(u32::MAX),
        })
    }

    pub fn load_limits(&self) -> Limits {
        let h = &self.hot;
        Limits {
            hash: HashLimits {
                max_entries: h.hash_max_entries.load(Relaxed),
                max_value: h.hash_max_value.load(Relaxed),
            },
            zset: ZsetLimits {
                max_entries: h.zset_max_entries.load(Relaxed),
                max_value: h.zset_max_value.load(Relaxed),
            },
            set_max_intset: h.set_max_intset.load(Relaxed),
            key_load_delay_us: u64::try_from(self.config.read().value(Id::KeyLoadDelay).as_i64()).unwrap_or(0),
        }
    }

    /// The `-MISCONF` refusal writes get, if any (Redis's writeCommandsDeniedByDiskError): the last background
    /// save failed while save points are set and `stop-writes-on-bgsave-error` is on, or the change log's last
    /// write or sync failed, or the last backup failed (with `stop-writes-on-bgsave-error`, until one succeeds).
    #[inline]
    pub fn disk_error(&self) -> Option<CmdError> {
        if !self.persistence.last_bgsave_ok.load(Relaxed)
            && self.hot.stop_writes_on_bgsave_error.load(Relaxed)
            && self.hot.save_points.load(Relaxed)
        {
            return Some(error::MISCONF);
        }
        if self.changelog.write_failed() {
            let why = self.changelog.shared.last_error.lock().clone();
            return Some(CmdError::raw(format!("MISCONF Errors writing to the AOF file: {why}")));
        }
        if self.backups.failing.load(std::sync::atomic::Ordering::Acquire)
            && self.hot.stop_writes_on_bgsave_error.load(Relaxed)
        {
            let why = self.backups.last_error.lock().clone();
            return Some(CmdError::raw(format!(
                "MISCONF The last backup failed ({why}). Commands that may modify the data set are disabled until a \
                 backup succeeds, because this instance is configured to report errors during writes \
                 (stop-writes-on-bgsave-error option)."
            )));
        }
        None
    }

    /// SAVE: writes the snapshot now, on the calling thread. Writers on other threads keep running; the file is
    /// the dataset at the moment the save began.
    pub fn save_foreground(&self) -> Result<(), SaveError> {
        if self.persistence.bgsave_in_progress.load(Relaxed) {
            return Err(SaveError::InProgress);
        }
        self.save_now()
    }

    /// Writes the snapshot now even while a BGSAVE runs (SHUTDOWN, a signal): the two write different temporary
    /// files, and whichever renames last leaves a whole snapshot.
    pub fn save_now(&self) -> Result<(), SaveError> {
        self.wait_warmed();
        let dirty = self.changes_since_save.load(Relaxed);
        let path = self.snapshot_path();
        let started = std::time::Instant::now();
        match snapshot::save_to(
            &self.keyspace,
            &self.effects,
            &self.scripts.library_codes(),
            &path,
            unix_ms(),
            self.lru_clock(),
            |_| {},
        ) {
            Ok((header, t)) => {
                tracing::info!("DB saved on disk: {} keys, {} bytes in {:.2?}", t.records, t.bytes, started.elapsed());
                self.saved(dirty);
                self.changelog.rebase(header.effect_offset);
                Ok(())
            }
            Err(e) => {
                tracing::warn!("Failed saving the DB to {}: {e}", path.display());
                Err(SaveError::Io(e.to_string()))
            }
        }
    }

    fn saved(&self, dirty_before: u64) {
        let _ = self.changes_since_save.fetch_update(Relaxed, Relaxed, |d| Some(d.saturating_sub(dirty_before)));
        self.lastsave_unix.store(unix_ms() / 1000, Relaxed);
        self.persistence.saves.fetch_add(1, Relaxed);
    }

    /// BGSAVE: starts a background save on a thread of its own; false when one is already running.
    pub fn start_bgsave(&self) -> Result<(), SaveError> {
        let Some(srv) = self.this.get().and_then(std::sync::Weak::upgrade) else {
            return Err(SaveError::NoBackground);
        };
        let p = &self.persistence;
        if p.bgsave_in_progress.swap(true, AcqRel) {
            return Err(SaveError::InProgress);
        }
        let now = unix_ms();
        p.bgsave_started_ms.store(now, Relaxed);
        p.last_bgsave_try_ms.store(now, Relaxed);
        p.save_keys_processed.store(0, Relaxed);
        p.save_keys_total
            .store((0..self.keyspace.db_count()).map(|d| self.keyspace.db_sizes(d).0 as u64).sum(), Relaxed);
        let spawned = std::thread::Builder::new().name("strata-bgsave".into()).spawn(move || bgsave_thread(&srv));
        if let Err(e) = spawned {
            p.bgsave_in_progress.store(false, Relaxed);
            p.last_bgsave_ok.store(false, Relaxed);
            return Err(SaveError::Io(e.to_string()));
        }
        tracing::info!("Background saving started");
        Ok(())
    }

    /// The cron's part: a scheduled BGSAVE once none runs, and the `save` points (Redis's serverCron rules).
    pub fn persistence_cron(&self) {
        if self.persistence.warming.active() {
            // Scheduled saves and backups wait for the whole keyspace.
            return;
        }
        self.backup_cron();
        let p = &self.persistence;
        if p.bgsave_in_progress.load(Relaxed) {
            return;
        }
        if p.bgsave_scheduled.load(Relaxed) {
            if self.start_bgsave().is_ok() {
                p.bgsave_scheduled.store(false, Relaxed);
            }
            return;
        }
        if self.changelog_outgrew_base() {
            tracing::info!("Starting automatic rewriting of the change log: it grew past auto-aof-rewrite-percentage.");
            self.rewrite_changelog();
            return;
        }
        let points = match self.config.read().value(Id::Save) {
            Value::Save(points) if !points.is_empty() => points.clone(),
            _ => return,
        };
        let now = unix_ms();
        let dirty = self.changes_since_save.load(Relaxed);
        let since_save = (now / 1000).saturating_sub(self.lastsave_unix.load(Relaxed));
        let may_retry = p.last_bgsave_ok.load(Relaxed)
            || now.saturating_sub(p.last_bgsave_try_ms.load(Relaxed)) > BGSAVE_RETRY_DELAY_MS;
        if let Some((secs, changes)) = points.iter().find(|(s, c)| dirty >= *c && since_save > *s) {
            if may_retry {
                tracing::info!("{changes} changes in {secs} seconds. Saving...");
                let _ = self.start_bgsave();
            }
        }
    }

    /// Redis's auto-aof-rewrite rule: the log is over `auto-aof-rewrite-min-size` and has grown by
    /// `auto-aof-rewrite-percentage` percent over its size right after the last base (0 turns the rule off).
    fn changelog_outgrew_base(&self) -> bool {
        let s = &self.changelog.shared;
        if !s.enabled.load(Relaxed) {
            return false;
        }
        let (pct, min) = {
            let cfg = self.config.read();
            (cfg.u64(Id::AutoAofRewritePercentage), cfg.u64(Id::AutoAofRewriteMinSize))
        };
        let (size, base) = (s.current_size.load(Relaxed), s.base_size.load(Relaxed).max(1));
        pct > 0 && size > min && (size - base.min(size)) * 100 / base >= pct
    }

    /// Loads the snapshot file, if there is one, into the (empty) keyspace, and returns the stream offset it ends
    /// at (0 without a file). Called once at startup; the caller sets `persistence.loading` around it so that
    /// commands without the LOADING flag are refused meanwhile.
    ///
    /// With `warm-restart yes` (and no change log, whose replay needs every key), only the keys that were hot when
    /// saved are loaded here; the second value is the file again, for [`Server::start_warming`] to load the rest
    /// from once clients are served.
    ///
    /// # Errors
    /// The file exists but cannot be read or is damaged: the message names the file, block and byte offset.
    pub fn load_snapshot_at_startup(&self) -> Result<(u64, Option<std::fs::File>), String> {
        let path = self.snapshot_path();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, None)),
            Err(e) => return Err(format!("snapshot {}: {e}", path.display())),
        };
        let (warm, hot_secs) = {
            let cfg = self.config.read();
            let hot_secs = u32::try_from(cfg.u64(Id::CompressionColdSeconds)).unwrap_or(u32::MAX);
            (cfg.bool(Id::WarmRestart) && !cfg.bool(Id::Appendonly), hot_secs)
        };
        // Opened now, so a CONFIG SET dir or dbfilename before the second pass cannot change what it reads.
        let rest = if warm {
            Some(std::fs::File::open(&path).map_err(|e| format!("snapshot {}: {e}", path.display()))?)
        } else {
            None
        };
        let p = &self.persistence;
        let w = &p.warming;
        p.loading_total_bytes.store(file.metadata().map(|m| m.len()).unwrap_or(0), Relaxed);
        p.loading_loaded_bytes.store(0, Relaxed);
        p.loading_started_unix.store(unix_ms() / 1000, Relaxed);
        let started = std::time::Instant::now();
        let counted = CountingReader { inner: std::io::BufReader::with_capacity(1 << 20, file), srv: self };
        let name = path.display().to_string();
        let cold = self.cold_load();
        let pass = if warm {
            w.started_ms.store(unix_ms(), Relaxed);
            w.hot_secs.store(hot_secs, Relaxed);
            w.set_active(true);
            snapshot::Pass::Hot { hot_secs, warming: w }
        } else {
            snapshot::Pass::Whole
        };
        let result = snapshot::load_snapshot(
            &self.keyspace,
            counted,
            &name,
            &self.load_limits(),
            unix_ms(),
            self.lru_clock(),
            cold.as_ref(),
            pass,
        );
        let loaded = result.map_err(|e| {
            w.finish();
            e.to_string()
        })?;
        if !loaded.libraries.is_empty() {
            crate::engine::script::restore_libraries(self, loaded.libraries.clone())
                .map_err(|e| format!("snapshot {}: a FUNCTION library failed to load: {e}", path.display()))?;
        }
        let deferred = w.keys_total.load(Relaxed);
        p.last_load_keys_loaded.store(loaded.keys, Relaxed);
        p.last_load_keys_compressed.store(loaded.compressed, Relaxed);
        p.last_load_keys_expired.store(loaded.expired, Relaxed);
        w.hot_keys.store(if warm { loaded.keys } else { 0 }, Relaxed);
        if self.hot.policy() == crate::store::evict::Policy::AllkeysTinyLfu {
            let (lru, decay) = (self.lru_clock(), self.hot.lfu_decay_time.load(Relaxed));
            let factor = self.hot.lfu_log_factor.load(Relaxed);
            self.keyspace.tinylfu.seed(&self.keyspace, (loaded.keys + deferred) as usize, factor, |e| {
                crate::store::lfu::decayed(e.freq, e.access, lru, decay)
            });
        }
        if warm {
            tracing::info!(
                "DB loaded from disk, hot keys first: {} keys ({} expired, not loaded) in {:.2?}; {deferred} more \
                 load in the background",
                loaded.keys,
                loaded.expired,
                started.elapsed()
            );
        } else {
            tracing::info!(
                "DB loaded from disk: {} keys ({} expired, not loaded) in {:.2?}",
                loaded.keys,
                loaded.expired,
                started.elapsed()
            );
        }
        let rest = rest.filter(|_| deferred > 0);
        if rest.is_none() {
            w.finish();
        }
        Ok((loaded.header.map_or(0, |h| h.effect_offset), rest))
    }

    /// A warm restart's second pass, on a thread of its own: loads the keys the first pass deferred from `file`,
    /// compressing the cold ones as it goes, then ends warming (the gate serves every key again).
    pub fn start_warming(&self, file: std::fs::File) {
        let Some(srv) = self.this.get().and_then(std::sync::Weak::upgrade) else {
            self.persistence.warming.finish();
            return;
        };
        let spawned = std::thread::Builder::new().name("strata-warming".into()).spawn(move || srv.warm_rest(file));
        if let Err(e) = spawned {
            tracing::warn!("Could not start loading the rest of the snapshot: {e}");
            self.persistence.warming.finish();
        }
    }

    fn warm_rest(&self, file: std::fs::File) {
        let w = &self.persistence.warming;
        let hot_secs = w.hot_secs.load(Relaxed);
        let name = self.snapshot_path().display().to_string();
        let started = std::time::Instant::now();
        let cold = self.cold_load();
        let lfu = (self.hot.policy() == crate::store::evict::Policy::AllkeysTinyLfu)
            .then(|| (self.hot.lfu_log_factor.load(Relaxed), self.hot.lfu_decay_time.load(Relaxed)));
        let result = snapshot::load_snapshot(
            &self.keyspace,
            std::io::BufReader::with_capacity(1 << 20, file),
            &name,
            &self.load_limits(),
            unix_ms(),
            self.lru_clock(),
            cold.as_ref(),
            snapshot::Pass::Rest { hot_secs, warming: w, lfu },
        );
        match result {
            Ok(loaded) => {
                let p = &self.persistence;
                p.last_load_keys_loaded.fetch_add(loaded.keys, Relaxed);
                p.last_load_keys_compressed.fetch_add(loaded.compressed, Relaxed);
                p.last_load_keys_expired.fetch_add(loaded.expired, Relaxed);
                tracing::info!("Warm restart done: {} more keys loaded in {:.2?}", loaded.keys, started.elapsed());
            }
            // The first pass read the whole file and checked every block, so only an I/O error gets here.
            Err(e) => tracing::warn!("Loading the rest of the snapshot failed, those keys are lost: {e}"),
        }
        w.finish();
    }

    /// Waits for a warm restart's second pass to end: a snapshot, a backup or a change-log base taken before it
    /// ends would miss the keys not loaded yet.
    pub fn wait_warmed(&self) {
        while self.persistence.warming.active() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Counts the bytes a load has read, for INFO's `loading_loaded_bytes` and `loading_loaded_perc`.
struct CountingReader<'a, R> {
    inner: R,
    srv: &'a Server,
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.srv.persistence.loading_loaded_bytes.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

fn bgsave_thread(srv: &Arc<Server>) {
    srv.wait_warmed();
    let p = &srv.persistence;
    let dirty = srv.changes_since_save.load(Relaxed);
    let path = srv.snapshot_path();
    let started = std::time::Instant::now();
    let result = snapshot::save_to(
        &srv.keyspace,
        &srv.effects,
        &srv.scripts.library_codes(),
        &path,
        unix_ms(),
        srv.lru_clock(),
        |n| p.save_keys_processed.store(n, Relaxed),
    );
    p.last_bgsave_time_sec.store(started.elapsed().as_secs() as i64, Relaxed);
    match result {
        Ok((header, t)) => {
            tracing::info!("Background saving terminated with success: {} keys, {} bytes", t.records, t.bytes);
            srv.saved(dirty);
            srv.changelog.rebase(header.effect_offset);
            p.last_bgsave_ok.store(true, Relaxed);
        }
        Err(e) => {
            tracing::warn!("Background saving error: {}: {e}", path.display());
            p.last_bgsave_ok.store(false, Relaxed);
        }
    }
    p.bgsave_in_progress.store(false, Relaxed);
}
