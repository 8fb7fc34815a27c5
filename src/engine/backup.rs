//! BACKUP: full backups (a snapshot into the backup's directory), incremental backups (the change log's groups
//! since the newest backup), verification, deletion that keeps chains whole, and restore to a backup or to a
//! moment after it (docs/PERSISTENCE.md, "Backups"). The files and manifests are `persist::backup`'s.

use super::state::Server;
use super::Session;
use crate::config::Id;
use crate::persist::backup::{self, Backups, Kind, LocalStore, Manifest};
use crate::persist::remote::{Remote, S3Settings};
use crate::persist::snapshot;
use crate::util::clock::unix_ms;
use bytes::Bytes;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// Backup outcomes, for BACKUP STATUS and INFO, and the schedule and retention the cron applies.
#[derive(Debug, Default)]
pub struct BackupStatus {
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub last_success_ms: AtomicU64,
    pub last_error: Mutex<String>,
    /// One backup or restore at a time.
    pub running: AtomicBool,
    /// The last backup failed: with `stop-writes-on-bgsave-error yes`, writes get `-MISCONF` until one succeeds.
    pub failing: AtomicBool,
    schedule: Mutex<Option<Schedule>>,
    retention: Mutex<Retention>,
    /// When the schedule last started a backup (unix ms; 0: not since startup).
    last_scheduled_ms: AtomicU64,
}

/// `backup-schedule`: when the cron takes a backup by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub when: When,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every this many ms (the first one that long after startup).
    Every(u64),
    /// Every day at this minute of the day, UTC.
    Daily(u64),
}

/// `backup-retention`: how many backups, and how old, the cron keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub count: Option<usize>,
    pub age_ms: Option<u64>,
}

const DAY_MS: u64 = 86_400_000;

/// Parses `backup-schedule`: empty, or `every <duration>` / `daily HH:MM` (UTC), optionally followed by `full`
/// (the default) or `incremental`.
///
/// # Errors
/// The text that is wrong.
pub fn parse_schedule(text: &str) -> Result<Option<Schedule>, String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_ascii_lowercase).collect();
    if words.is_empty() {
        return Ok(None);
    }
    let bad =
        || format!("backup-schedule '{text}': expected 'every <duration>' or 'daily HH:MM', then full|incremental");
    let when = match (words[0].as_str(), words.get(1)) {
        ("every", Some(d)) => {
            let ms =
                crate::store::types::counter::parse_duration(d.as_bytes()).filter(|&ms| ms >= 1000).ok_or_else(bad)?;
            When::Every(ms)
        }
        ("daily", Some(t)) => {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let (h, m): (u64, u64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            When::Daily((h * 60 + m) * 60_000)
        }
        _ => return Err(bad()),
    };
    let kind = match words.get(2).map(String::as_str) {
        None | Some("full") => Kind::Full,
        Some("incremental") => Kind::Incremental,
        Some(_) => return Err(bad()),
    };
    if words.len() > 3 {
        return Err(bad());
    }
    Ok(Some(Schedule { when, kind }))
}

/// Parses `backup-retention`: empty (keep everything), or `count N` and/or `age <duration>`.
///
/// # Errors
/// The text that is wrong.
pub fn parse_retention(text: &str) -> Result<Retention, String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_ascii_lowercase).collect();
    let bad = || format!("backup-retention '{text}': expected 'count N' and/or 'age <duration>'");
    let mut r = Retention::default();
    for pair in words.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("count", Some(n)) => r.count = Some(n.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(bad)?),
            ("age", Some(d)) => {
                r.age_ms = Some(crate::store::types::counter::parse_duration(d.as_bytes()).ok_or_else(bad)?)
            }
            _ => return Err(bad()),
        }
    }
    Ok(r)
}

impl Schedule {
    /// True when a backup is due at `now` (unix ms), the last one having started at `last` (0: none since `start`).
    pub fn due(&self, now: u64, last: u64, start: u64) -> bool {
        match self.when {
            When::Every(ms) => now >= last.max(start) + ms,
            When::Daily(at) => {
                let today = now - now % DAY_MS + at;
                now >= today && last < today
            }
        }
    }
}

/// The ids `retention` lets go among `all` (oldest first): outside the newest `count` or older than `age`, and
/// with no backup that is kept depending on them (a full backup stays while an incremental needs it).
pub fn expired(all: &[Manifest], retention: Retention, now: u64) -> Vec<String> {
    let n = all.len();
    let mut keep: Vec<bool> = all
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let by_count = retention.count.is_none_or(|c| i + c >= n);
            let by_age = retention.age_ms.is_none_or(|a| m.created_ms + a >= now);
            by_count && by_age
        })
        .collect();
    // Whatever a kept backup depends on is kept, up its chain.
    for i in (0..n).rev() {
        if keep[i] {
            let mut parent = all[i].parent.clone();
            while let Some(p) = parent {
                match all.iter().position(|m| m.id == p) {
                    Some(j) => {
                        keep[j] = true;
                        parent = all[j].parent.clone();
                    }
                    None => break,
                }
            }
        }
    }
    all.iter().zip(keep).filter(|(_, k)| !k).map(|(m, _)| m.id.clone()).collect()
}

/// Clears `running` however the operation ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Relaxed);
    }
}

impl Server {
    /// Sets `backup-schedule` (CONFIG SET's hook: it must not read the configuration).
    ///
    /// # Errors
    /// The value does not parse.
    pub fn set_backup_schedule(&self, text: &str) -> Result<(), String> {
        *self.backups.schedule.lock() = parse_schedule(text)?;
        Ok(())
    }

    /// Sets `backup-retention`.
    ///
    /// # Errors
    /// The value does not parse.
    pub fn set_backup_retention(&self, text: &str) -> Result<(), String> {
        *self.backups.retention.lock() = parse_retention(text)?;
        Ok(())
    }

    /// The cron's part: starts a scheduled backup on a thread of its own when one is due.
    pub fn backup_cron(&self) {
        let Some(schedule) = *self.backups.schedule.lock() else { return };
        let now = unix_ms();
        let last = self.backups.last_scheduled_ms.load(Relaxed);
        if self.backups.running.load(Relaxed) || !schedule.due(now, last, self.started_unix_ms) {
            return;
        }
        let Some(srv) = self.this.get().and_then(std::sync::Weak::upgrade) else { return };
        self.backups.last_scheduled_ms.store(now, Relaxed);
        let spawned = std::thread::Builder::new().name("strata-backup".into()).spawn(move || {
            // An incremental needs a backup to continue: the first scheduled one is full.
            let kind = match schedule.kind {
                Kind::Incremental if srv.backup_store().and_then(|s| s.list()).is_ok_and(|l| !l.is_empty()) => {
                    Kind::Incremental
                }
                _ => Kind::Full,
            };
            tracing::info!("Scheduled {} backup starting", kind.name());
            if srv.backup_create(kind).is_ok() {
                srv.apply_backup_retention();
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the scheduled backup: {e}");
        }
    }

    /// Deletes the backups `backup-retention` lets go; returns how many.
    pub fn apply_backup_retention(&self) -> usize {
        let retention = *self.backups.retention.lock();
        if retention == Retention::default() {
            return 0;
        }
        let store = match self.backup_store() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("backup retention: {e}");
                return 0;
            }
        };
        let all = match store.list() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("backup retention: {e}");
                return 0;
            }
        };
        let mut deleted = 0;
        // Newest first, so an incremental goes before the backup it depends on.
        for id in expired(&all, retention, unix_ms()).iter().rev() {
            match store.delete(id) {
                Ok(()) => {
                    deleted += 1;
                    tracing::info!("Backup {id} deleted by backup-retention");
                }
                Err(e) => tracing::warn!("backup retention: {e}"),
            }
        }
        deleted
    }

    /// The backups: `backup-dir` (relative to `dir`), and the bucket `backup-storage` names, if any.
    ///
    /// # Errors
    /// `backup-storage` is not a valid `s3://bucket/prefix` or its client cannot be built.
    pub fn backup_store(&self) -> Result<Backups, String> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let cfg = self.config.read();
        let local = LocalStore::new(cwd.join(cfg.str(Id::BackupDir)));
        let url = cfg.str(Id::BackupStorage);
        let remote = match url {
            "" | "local" => None,
            _ => Some(Remote::open(&S3Settings {
                url: url.to_string(),
                endpoint: cfg.str(Id::BackupS3Endpoint).to_string(),
                region: cfg.str(Id::BackupS3Region).to_string(),
                access_key_id: cfg.str(Id::BackupS3AccessKeyId).to_string(),
                secret_access_key: cfg.str(Id::BackupS3SecretAccessKey).to_string(),
            })?),
        };
        let key = match cfg.str(Id::BackupEncryptionKeyFile) {
            "" => None,
            f => Some(crate::persist::seal::read_key(std::path::Path::new(f))?),
        };
        Ok(Backups { local, remote, compress: cfg.bool(Id::BackupCompression), key })
    }

    fn start_running(&self) -> Result<Running<'_>, String> {
        if self.backups.running.swap(true, Relaxed) {
            return Err("a backup or restore is already in progress".into());
        }
        Ok(Running(&self.backups.running))
    }

    /// BACKUP CREATE: a full backup, or an incremental one continuing the newest backup.
    ///
    /// # Errors
    /// Why the backup could not be taken (also counted as a failure, with its reason kept for STATUS and INFO).
    pub fn backup_create(&self, kind: Kind) -> Result<Manifest, String> {
        let _running = self.start_running()?;
        // A backup of a keyspace still warming would miss the keys not loaded yet.
        self.wait_warmed();
        let result = self.backup_store().and_then(|store| match kind {
            Kind::Full => self.backup_full(&store),
            Kind::Incremental => self.backup_incremental(&store),
        });
        let b = &self.backups;
        match &result {
            Ok(m) => {
                b.failing.store(false, Relaxed);
                b.successes.fetch_add(1, Relaxed);
                b.last_success_ms.store(m.created_ms, Relaxed);
                // The next incremental starts where this one ends: the change log keeps those records.
                self.changelog.shared.retain_from.store(m.end_offset, Relaxed);
                tracing::info!("Backup {} ({}) created: {} bytes", m.id, m.kind.name(), m.bytes);
            }
            Err(e) => {
                // The reason before the flag, so a refused write can quote it.
                *b.last_error.lock() = e.clone();
                b.failing.store(true, std::sync::atomic::Ordering::Release);
                b.failures.fetch_add(1, Relaxed);
                tracing::warn!("Backup failed: {e}");
            }
        }
        result
    }

    fn backup_full(&self, store: &Backups) -> Result<Manifest, String> {
        let now = unix_ms();
        let id = store.local.new_id(now);
        let dir = store.local.prepare(&id)?;
        let path = dir.join(backup::SNAPSHOT_FILE);
        let saved = snapshot::save_to(
            &self.keyspace,
            &self.effects,
            &self.scripts.library_codes(),
            &path,
            now,
            self.lru_clock(),
            |_| {},
        );
        let (header, totals) = saved.map_err(|e| format!("{}: {e}", path.display()))?;
        let mut m = Manifest {
            id,
            kind: Kind::Full,
            parent: None,
            created_ms: now,
            start_offset: header.effect_offset,
            end_offset: header.effect_offset,
            keys: totals.records,
            bytes: 0,
            checksum: String::new(),
            last_ms: now,
            compressed: false,
            encrypted: false,
        };
        store.seal(&mut m)?;
        store.publish(&m)?;
        Ok(m)
    }

    fn backup_incremental(&self, store: &Backups) -> Result<Manifest, String> {
        let parent = store.list()?.pop().ok_or("no backup to continue: create a FULL backup first")?;
        let upto = self.effects.offset();
        self.changelog_wait_synced(upto)?;
        let records = self.changelog_records_from(parent.end_offset)?;
        let end = records.last().map_or(parent.end_offset, |r| r.end());
        if records.is_empty() && upto != parent.end_offset {
            return Err(format!(
                "the change log does not continue backup '{}' (it ends at stream offset {}, the stream is at {upto}); \
                 create a FULL backup",
                parent.id, parent.end_offset
            ));
        }
        let now = unix_ms();
        let id = store.local.new_id(now);
        let dir = store.local.prepare(&id)?;
        backup::write_records(&dir, parent.end_offset, &records).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut m = Manifest {
            id,
            kind: Kind::Incremental,
            parent: Some(parent.id.clone()),
            created_ms: now,
            start_offset: parent.end_offset,
            end_offset: end,
            keys: records.len() as u64,
            bytes: 0,
            checksum: String::new(),
            last_ms: records.last().map_or(parent.last_ms, |r| r.unix_ms),
            compressed: false,
            encrypted: false,
        };
        store.seal(&mut m)?;
        store.publish(&m)?;
        Ok(m)
    }

    /// BACKUP VERIFY: every file of `id`'s chain, block by block.
    ///
    /// # Errors
    /// The first damage found, naming the backup and file.
    pub fn backup_verify(&self, id: &str) -> Result<usize, String> {
        let store = self.backup_store()?;
        let chain = store.chain(id)?;
        let limits = self.load_limits();
        for m in &chain {
            store.verify(m, &limits)?;
        }
        Ok(chain.len())
    }

    /// BACKUP RESTORE: replaces the dataset with backup `id`'s (its full backup, then its chain's groups), or with
    /// the dataset at unix ms `at`: the groups appended at or before it, from the chain and then from the change
    /// log. Other clients get `-LOADING` meanwhile. With the change log on, a new base is saved at the end, since the
    /// loaded snapshot is not in the log.
    ///
    /// # Errors
    /// A backup of the chain is missing or damaged (checked before anything changes), or `at` is before the full
    /// backup's moment.
    pub fn backup_restore(&self, id: &str, at: Option<u64>) -> Result<u64, String> {
        let _running = self.start_running()?;
        let store = self.backup_store()?;
        let chain = store.chain(id)?;
        let limits = self.load_limits();
        for m in &chain {
            store.verify(m, &limits)?;
        }
        let full = &chain[0];
        if at.is_some_and(|t| t < full.created_ms) {
            return Err(format!("the moment is before backup '{}' was taken ({} ms)", full.id, full.created_ms));
        }
        let mut records = Vec::new();
        for m in &chain[1..] {
            records.extend(store.records(m)?);
        }
        if let Some(t) = at {
            let last = chain.last().map_or(full.end_offset, |m| m.end_offset);
            if self.changelog.shared.enabled.load(Relaxed) {
                records.extend(self.changelog_records_from(last)?);
            }
            let keep = records.iter().take_while(|r| r.unix_ms <= t).count();
            records.truncate(keep);
        }
        let plain = store.local.plain(full, store.key.as_ref())?;
        let path = plain.path.clone();
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.persistence.loading.store(true, Relaxed);
        let mut session = Session::detached(self);
        session.replaying = true;
        super::execute(self, &mut session, &[Bytes::from_static(b"FLUSHALL")]);
        let name = path.display().to_string();
        let loaded = snapshot::load_snapshot(
            &self.keyspace,
            std::io::BufReader::with_capacity(1 << 20, file),
            &name,
            &limits,
            unix_ms(),
            self.lru_clock(),
            self.cold_load().as_ref(),
            snapshot::Pass::Whole,
        );
        let result = loaded.map_err(|e| e.to_string()).and_then(|l| {
            if !l.libraries.is_empty() {
                super::script::restore_libraries(self, l.libraries.clone())?;
            }
            Ok(l.keys)
        });
        let mut failed = 0;
        for rec in &records {
            failed += self.apply_record(&mut session, rec, &format!("backup '{id}'"), failed);
        }
        self.persistence.loading.store(false, Relaxed);
        let keys = result?;
        tracing::info!(
            "Restored backup {id}{}: {keys} keys, {} groups replayed ({failed} commands failed)",
            at.map(|t| format!(" at {t} ms")).unwrap_or_default(),
            records.len()
        );
        if self.changelog.shared.enabled.load(Relaxed) && self.save_now().is_err() {
            return Err("restored, but the new base snapshot failed; see the log".into());
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, parent: Option<&str>, created_ms: u64) -> Manifest {
        Manifest {
            id: id.into(),
            kind: if parent.is_some() { Kind::Incremental } else { Kind::Full },
            parent: parent.map(Into::into),
            created_ms,
            start_offset: 0,
            end_offset: 0,
            keys: 0,
            bytes: 0,
            checksum: String::new(),
            last_ms: created_ms,
            compressed: false,
            encrypted: false,
        }
    }

    #[test]
    fn schedules_parse_and_fall_due() {
        assert_eq!(parse_schedule("").unwrap(), None);
        let s = parse_schedule("every 6h").unwrap().unwrap();
        assert_eq!(s, Schedule { when: When::Every(6 * 3_600_000), kind: Kind::Full });
        assert!(!s.due(1_000 + 3_600_000, 0, 1_000));
        assert!(s.due(1_000 + 6 * 3_600_000, 0, 1_000));
        assert!(!s.due(10 * 3_600_000, 5 * 3_600_000, 0));
        let d = parse_schedule("DAILY 03:00 incremental").unwrap().unwrap();
        assert_eq!(d, Schedule { when: When::Daily(3 * 3_600_000), kind: Kind::Incremental });
        let day = 20_000 * DAY_MS;
        assert!(!d.due(day + 2 * 3_600_000, 0, 0));
        assert!(d.due(day + 3 * 3_600_000, 0, 0));
        assert!(!d.due(day + 4 * 3_600_000, day + 3 * 3_600_000, 0), "once a day");
        assert!(d.due(day + DAY_MS + 3 * 3_600_000, day + 3 * 3_600_000, 0));
        for bad in
            ["every", "every 10ms", "daily 24:00", "daily 3", "weekly 1h", "every 1h full extra", "every 1h diff"]
        {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retention_keeps_the_newest_and_every_backup_they_depend_on() {
        assert_eq!(parse_retention("count 2 age 7d").unwrap(), Retention { count: Some(2), age_ms: Some(7 * DAY_MS) });
        assert!(
            parse_retention("count 0").is_err() && parse_retention("count").is_err() && parse_retention("x 1").is_err()
        );
        let all = [
            m("f1", None, 1),
            m("i1", Some("f1"), 2),
            m("f2", None, 3),
            m("i2", Some("f2"), 4),
            m("i3", Some("i2"), 5),
        ];
        let r = |count, age_ms| Retention { count, age_ms };
        assert_eq!(expired(&all, r(Some(2), None), 10), ["f1", "i1"]);
        // The newest incremental alone keeps its whole chain.
        assert_eq!(expired(&all, r(Some(1), None), 10), ["f1", "i1"]);
        // Younger than 6 ms at 10: i2 and i3, and f2 for them.
        assert_eq!(expired(&all, r(None, Some(6)), 10), ["f1", "i1"]);
        assert_eq!(expired(&all, r(Some(4), Some(7)), 10), ["f1", "i1"]);
        assert!(expired(&all, Retention::default(), 10).is_empty());
        assert_eq!(expired(&all, r(Some(10), Some(100)), 1_000), ["f1", "i1", "f2", "i2", "i3"]);
    }
}
