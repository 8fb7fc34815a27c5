//! Backups on local disk: each backup is a directory `<backup-dir>/<id>/` holding its data file and a
//! `manifest.json` written last (to a temporary name, fsynced, renamed), so a directory without a manifest is an
//! interrupted backup and is never listed. A full backup's data is a snapshot file (`snapshot.strata`, the
//! snapshot format); an incremental's is a change log segment (`changes.log`, the segment format) holding the
//! effect groups from its parent's end offset to its own, each with the time it was appended, which is what
//! point-in-time restore filters on. Backups chain: an incremental names its parent, and the chain ends at a
//! full backup (docs/PERSISTENCE.md, "Backups").

use super::changelog::{self, Record};
use super::format::{self, Limits};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
pub const SNAPSHOT_FILE: &str = "snapshot.strata";
pub const CHANGES_FILE: &str = "changes.log";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Full,
    Incremental,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Incremental => "incremental",
        }
    }
}

/// What a backup holds, as its `manifest.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub kind: Kind,
    /// The backup this one continues (incrementals only).
    pub parent: Option<String>,
    pub created_ms: u64,
    /// The effect stream's offsets the backup covers: a full backup is the dataset at `end_offset` (its
    /// snapshot's), an incremental the groups from `start_offset` (its parent's end) to `end_offset`.
    pub start_offset: u64,
    pub end_offset: u64,
    /// Keys in a full backup's snapshot; effect groups in an incremental.
    pub keys: u64,
    /// Size of the data file and its CRC32 (hex).
    pub bytes: u64,
    pub checksum: String,
    /// When the newest group of an incremental was appended (a full backup's: its snapshot's moment).
    pub last_ms: u64,
    /// The data file is stored zstd-compressed (`.zst`) and/or AES-256-GCM encrypted (`.enc`); `bytes` and
    /// `checksum` are the stored file's.
    #[serde(default)]
    pub compressed: bool,
    #[serde(default)]
    pub encrypted: bool,
}

impl Manifest {
    /// The plain data file's name.
    pub fn data_file(&self) -> &'static str {
        match self.kind {
            Kind::Full => SNAPSHOT_FILE,
            Kind::Incremental => CHANGES_FILE,
        }
    }

    /// The name the data file is stored under.
    pub fn stored_file(&self) -> String {
        format!(
            "{}{}{}",
            self.data_file(),
            if self.compressed { ".zst" } else { "" },
            if self.encrypted { ".enc" } else { "" }
        )
    }
}

/// A backup's plain data file, unpacked for reading; a temporary copy is removed when dropped.
#[derive(Debug)]
pub struct Plain {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for Plain {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A backup directory's contents.
#[derive(Debug, Clone)]
pub struct LocalStore {
    pub root: PathBuf,
}

fn io_err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Refuses an id that could name something outside the backup directory or bucket prefix.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return Err(format!("no such backup '{id}'"));
    }
    Ok(())
}

/// CRC32 of a whole file, and its size.
///
/// # Errors
/// The file cannot be read.
pub fn file_crc(path: &Path) -> std::io::Result<(u32, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize(), n))
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    /// The directory of backup `id`.
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// A fresh id, sortable by time: the creation time in ms and a sequence number for backups in the same ms.
    pub fn new_id(&self, now_ms: u64) -> String {
        (0..).map(|n| format!("{now_ms:013}-{n}")).find(|id| !self.dir_of(id).exists()).unwrap_or_default()
    }

    /// Creates the directory for a new backup.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn prepare(&self, id: &str) -> Result<PathBuf, String> {
        let dir = self.dir_of(id);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(dir.display(), e))?;
        Ok(dir)
    }

    /// Completes backup `m.id`: fsyncs its data file, then writes the manifest durably.
    ///
    /// # Errors
    /// A file cannot be synced or written.
    pub fn commit(&self, m: &Manifest) -> Result<(), String> {
        let dir = self.dir_of(&m.id);
        let data = dir.join(m.stored_file());
        std::fs::File::open(&data).and_then(|f| f.sync_all()).map_err(|e| io_err(data.display(), e))?;
        let temp = dir.join("manifest.json.tmp");
        let text = serde_json::to_vec_pretty(m).map_err(|e| e.to_string())?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&temp, dir.join(MANIFEST))?;
            changelog::sync_dir(&dir)?;
            changelog::sync_dir(&self.root)
        };
        write().map_err(|e| io_err(dir.display(), e))
    }

    /// The manifest of backup `id`.
    ///
    /// # Errors
    /// No such (complete) backup, or its manifest is unreadable.
    pub fn manifest(&self, id: &str) -> Result<Manifest, String> {
        check_id(id)?;
        let path = self.dir_of(id).join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("no such backup '{id}'")),
            Err(e) => return Err(io_err(path.display(), e)),
        };
        serde_json::from_slice(&text).map_err(|e| format!("{}: unreadable manifest ({e})", path.display()))
    }

    /// Every complete backup, oldest first.
    ///
    /// # Errors
    /// The directory cannot be read, or a manifest is damaged.
    pub fn list(&self) -> Result<Vec<Manifest>, String> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(self.root.display(), e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().join(MANIFEST).exists() {
                out.push(self.manifest(&name)?);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Reads an incremental's groups.
    ///
    /// # Errors
    /// The file is damaged (anything short of whole records is damage here: backups are written whole).
    pub fn records(&self, m: &Manifest, key: Option<&[u8; 32]>) -> Result<Vec<Record>, String> {
        let plain = self.plain(m, key)?;
        let path = plain.path.clone();
        let scanned = changelog::scan(&path).map_err(|e| format!("backup '{}': {e}", m.id))?;
        if scanned.torn() {
            return Err(format!("backup '{}': {} is truncated at byte {}", m.id, path.display(), scanned.valid_len));
        }
        let end = scanned.records.last().map_or(scanned.first, Record::end);
        if scanned.first != m.start_offset || end != m.end_offset {
            return Err(format!(
                "backup '{}': its records cover offsets {}..{end}, its manifest says {}..{}",
                m.id, scanned.first, m.start_offset, m.end_offset
            ));
        }
        Ok(scanned.records)
    }

    /// Re-reads every block and checksum of backup `m`'s data.
    ///
    /// # Errors
    /// What is damaged, naming the backup, file and place.
    pub fn verify(&self, m: &Manifest, limits: &Limits, key: Option<&[u8; 32]>) -> Result<(), String> {
        let path = self.dir_of(&m.id).join(m.stored_file());
        let (crc, len) = file_crc(&path).map_err(|e| format!("backup '{}': {}: {e}", m.id, path.display()))?;
        if format!("{crc:08x}") != m.checksum || len != m.bytes {
            return Err(format!(
                "backup '{}': {} has checksum {crc:08x} and {len} bytes, its manifest says {} and {}",
                m.id,
                path.display(),
                m.checksum,
                m.bytes
            ));
        }
        let plain = self.plain(m, key)?;
        let path = plain.path.clone();
        match m.kind {
            Kind::Full => {
                let f = std::fs::File::open(&path).map_err(|e| io_err(path.display(), e))?;
                let name = path.display().to_string();
                let (header, _) = format::read_snapshot(std::io::BufReader::new(f), &name, limits, |_| {})
                    .map_err(|e| format!("backup '{}': {e}", m.id))?;
                if header.effect_offset != m.end_offset {
                    return Err(format!("backup '{}': its snapshot ends at offset {}", m.id, header.effect_offset));
                }
                Ok(())
            }
            Kind::Incremental => self.records(m, key).map(|_| ()),
        }
    }

    /// Backup `m`'s plain data file: the stored file itself, or a temporary copy unpacked from it.
    ///
    /// # Errors
    /// Unpacking failed (a wrong or missing key, a changed file).
    pub fn plain(&self, m: &Manifest, key: Option<&[u8; 32]>) -> Result<Plain, String> {
        let dir = self.dir_of(&m.id);
        if !m.compressed && !m.encrypted {
            return Ok(Plain { path: dir.join(m.data_file()), temporary: false });
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{}.plain-{}-{n}", m.data_file(), std::process::id()));
        let plain = Plain { path, temporary: true };
        super::seal::unpack(&dir.join(m.stored_file()), &plain.path, m.compressed, m.encrypted, key)
            .map_err(|e| format!("backup '{}': {e}", m.id))?;
        Ok(plain)
    }
}

/// The backups: the local directory, and the bucket when `backup-storage` names one. With a bucket, the bucket is
/// the record (LIST, INFO, DELETE read and change it) and the local directory is where backups are built before
/// their upload and where a chain is downloaded to be verified or restored.
#[derive(Debug, Clone)]
pub struct Backups {
    pub local: LocalStore,
    pub remote: Option<super::remote::Remote>,
    /// `backup-compression` and the key of `backup-encryption-key-file`, for backups created now (reading uses
    /// what each manifest says, with the key).
    pub compress: bool,
    pub key: Option<[u8; 32]>,
}

impl Backups {
    /// Where the backups are kept, for BACKUP STATUS.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(r) => r.url.clone(),
            None => self.local.root.display().to_string(),
        }
    }

    /// Every complete backup, oldest first.
    ///
    /// # Errors
    /// The directory or bucket cannot be read.
    pub fn list(&self) -> Result<Vec<Manifest>, String> {
        match &self.remote {
            Some(r) => r.list(),
            None => self.local.list(),
        }
    }

    /// The manifest of backup `id`.
    ///
    /// # Errors
    /// No such backup, or it cannot be read.
    pub fn manifest(&self, id: &str) -> Result<Manifest, String> {
        match &self.remote {
            Some(r) => {
                check_id(id)?;
                r.manifest(id)?.ok_or_else(|| format!("no such backup '{id}'"))
            }
            None => self.local.manifest(id),
        }
    }

    /// Stores the plain data file `m.data_file()` of a backup being built as `backup-compression` and the key say,
    /// setting `m`'s flags, size and checksum.
    ///
    /// # Errors
    /// The file cannot be read, packed or checksummed.
    pub fn seal(&self, m: &mut Manifest) -> Result<(), String> {
        let dir = self.local.dir_of(&m.id);
        let plain = dir.join(m.data_file());
        m.compressed = self.compress;
        m.encrypted = self.key.is_some();
        if m.compressed || m.encrypted {
            super::seal::pack(&plain, &dir.join(m.stored_file()), m.compressed, self.key.as_ref())?;
            std::fs::remove_file(&plain).map_err(|e| io_err(plain.display(), e))?;
        }
        let stored = dir.join(m.stored_file());
        let (crc, bytes) = file_crc(&stored).map_err(|e| io_err(stored.display(), e))?;
        m.bytes = bytes;
        m.checksum = format!("{crc:08x}");
        Ok(())
    }

    /// Completes a backup built in the local directory: its manifest, then (with a bucket) the upload.
    ///
    /// # Errors
    /// A write or the upload failed.
    pub fn publish(&self, m: &Manifest) -> Result<(), String> {
        self.local.commit(m)?;
        match &self.remote {
            Some(r) => r.upload(m, &self.local.dir_of(&m.id)),
            None => Ok(()),
        }
    }

    /// Makes sure the local directory holds backup `m`'s files (downloading them from the bucket).
    ///
    /// # Errors
    /// The download failed.
    pub fn fetch(&self, m: &Manifest) -> Result<(), String> {
        match &self.remote {
            Some(r) if self.local.manifest(&m.id).ok().as_ref() != Some(m) => r.download(m, &self.local.dir_of(&m.id)),
            _ => Ok(()),
        }
    }

    /// Re-reads every block and checksum of backup `m` (downloaded first from a bucket).
    ///
    /// # Errors
    /// What is damaged.
    pub fn verify(&self, m: &Manifest, limits: &Limits) -> Result<(), String> {
        self.fetch(m)?;
        self.local.verify(m, limits, self.key.as_ref())
    }

    /// An incremental's groups.
    ///
    /// # Errors
    /// The download failed or the file is damaged.
    pub fn records(&self, m: &Manifest) -> Result<Vec<Record>, String> {
        self.fetch(m)?;
        self.local.records(m, self.key.as_ref())
    }

    /// The chain `id` depends on, from its full backup to `id` itself.
    ///
    /// # Errors
    /// A backup of the chain is missing.
    pub fn chain(&self, id: &str) -> Result<Vec<Manifest>, String> {
        let mut chain = vec![self.manifest(id)?];
        while let Some(parent) = chain.last().and_then(|m| m.parent.clone()) {
            if chain.len() > 100_000 {
                return Err(format!("backup '{id}': its chain loops"));
            }
            chain.push(self.manifest(&parent).map_err(|e| format!("backup '{id}' depends on '{parent}': {e}"))?);
        }
        chain.reverse();
        Ok(chain)
    }

    /// Deletes backup `id`, unless another backup depends on it.
    ///
    /// # Errors
    /// No such backup, a dependent exists, or the directory cannot be removed.
    pub fn delete(&self, id: &str) -> Result<(), String> {
        let m = self.manifest(id)?;
        if let Some(child) = self.list()?.into_iter().find(|m| m.parent.as_deref() == Some(id)) {
            return Err(format!("backup '{id}' has a dependent backup '{}'; delete that one first", child.id));
        }
        if let Some(r) = &self.remote {
            r.delete(&m)?;
        }
        let dir = self.local.dir_of(id);
        if self.remote.is_some() && !dir.exists() {
            return Ok(());
        }
        // The manifest goes first, so an interrupted delete leaves an incomplete backup, never a listed broken one.
        match std::fs::remove_file(dir.join(MANIFEST)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_err(dir.display(), e)),
            _ => {}
        }
        std::fs::remove_dir_all(&dir).map_err(|e| io_err(dir.display(), e))
    }
}

/// Writes `records` as an incremental's data file in `dir`, starting at stream offset `start`.
///
/// # Errors
/// The file cannot be written.
pub fn write_records(dir: &Path, start: u64, records: &[Record]) -> std::io::Result<()> {
    let mut out = Vec::new();
    for r in records {
        changelog::encode_record(&mut out, r.start, r.unix_ms, r.db_before, &r.data);
    }
    // A segment named by its own file name: the scanner reads the header's offset, not the name.
    let mut w = changelog::SegmentWriter::create_at(&dir.join(CHANGES_FILE), start)?;
    w.append(&out)?;
    w.sync()
}
