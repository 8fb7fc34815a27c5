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

/// Backup outcomes, for BACKUP STATUS and INFO.
#[derive(Debug, Default)]
pub struct BackupStatus {
    pub successes: AtomicU64,
    pub failures: AtomicU64,
    pub last_success_ms: AtomicU64,
    pub last_error: Mutex<String>,
    /// One backup or restore at a time.
    pub running: AtomicBool,
}

/// Clears `running` however the operation ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Relaxed);
    }
}

impl Server {
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
        Ok(Backups { local, remote })
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
        let result = self.backup_store().and_then(|store| match kind {
            Kind::Full => self.backup_full(&store),
            Kind::Incremental => self.backup_incremental(&store),
        });
        let b = &self.backups;
        match &result {
            Ok(m) => {
                b.successes.fetch_add(1, Relaxed);
                b.last_success_ms.store(m.created_ms, Relaxed);
                // The next incremental starts where this one ends: the change log keeps those records.
                self.changelog.shared.retain_from.store(m.end_offset, Relaxed);
                tracing::info!("Backup {} ({}) created: {} bytes", m.id, m.kind.name(), m.bytes);
            }
            Err(e) => {
                b.failures.fetch_add(1, Relaxed);
                *b.last_error.lock() = e.clone();
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
        let (crc, bytes) = backup::file_crc(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let m = Manifest {
            id,
            kind: Kind::Full,
            parent: None,
            created_ms: now,
            start_offset: header.effect_offset,
            end_offset: header.effect_offset,
            keys: totals.records,
            bytes,
            checksum: format!("{crc:08x}"),
            last_ms: now,
        };
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
        let path = dir.join(backup::CHANGES_FILE);
        let (crc, bytes) = backup::file_crc(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let m = Manifest {
            id,
            kind: Kind::Incremental,
            parent: Some(parent.id.clone()),
            created_ms: now,
            start_offset: parent.end_offset,
            end_offset: end,
            keys: records.len() as u64,
            bytes,
            checksum: format!("{crc:08x}"),
            last_ms: records.last().map_or(parent.last_ms, |r| r.unix_ms),
        };
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
        let path = store.local.dir_of(&full.id).join(backup::SNAPSHOT_FILE);
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
