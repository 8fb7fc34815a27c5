//! The change log's files: segments of checksummed records, each record one group of the write-effect stream
//! (docs/PERSISTENCE.md, "Change log").
//!
//! A segment is named `<appendfilename>.<first offset, 20 digits>.changes` inside `appenddirname`, so a directory
//! listing sorted by name is the log in order. It starts with a 24-byte header: the magic `STRATACL`, the format
//! version (u32), the stream offset of its first record (u64) and a CRC32 of those 20 bytes. Then records, all
//! little-endian:
//!
//! ```text
//! len u32 | crc32 u32 | start u64 | unix_ms u64 | db_before u32 | data (len bytes: RESP commands)
//! ```
//!
//! The CRC covers everything after itself. `start` is the stream offset before the group, so records chain:
//! each one starts where the previous one ended (`start + len`). `db_before` is the database selected by the stream
//! before the group (`u32::MAX`: none), so replay can begin at any record.
//!
//! A crash can leave the last record of a segment incomplete (the process died inside a write) or, after a power
//! loss, followed by zeros. [`scan`] tells that torn tail apart from damage inside the file: a record that fails
//! its checks and has nothing but zeros or the end of the file after its start is a torn tail; anything else is
//! corruption, reported with the file and byte offset.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"STRATACL";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 28;
/// The suffix of segment file names.
pub const SUFFIX: &str = "changes";
/// No database selected before the group.
pub const NO_DB: u32 = u32::MAX;
/// A record larger than this is damage, not data (no group of the stream comes near it).
const MAX_RECORD: usize = 1 << 31;

/// One group read back from a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub start: u64,
    pub unix_ms: u64,
    pub db_before: Option<usize>,
    pub data: bytes::Bytes,
}

impl Record {
    /// The stream offset after the group.
    pub fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

/// A segment file found in the log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub path: PathBuf,
    /// The offset its name (and header) says it starts at.
    pub first: u64,
}

/// What reading one segment gave.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub first: u64,
    pub records: Vec<Record>,
    /// Bytes of whole, valid records plus the header: where a torn tail begins.
    pub valid_len: u64,
    /// The file's length; more than `valid_len` when the tail is torn.
    pub file_len: u64,
}

impl Scanned {
    pub fn torn(&self) -> bool {
        self.valid_len < self.file_len
    }
}

/// Damage that is not a torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    pub file: String,
    pub offset: u64,
    pub why: String,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "change log {}: {} at byte {}", self.file, self.why, self.offset)
    }
}

impl std::error::Error for Corrupt {}

/// The file name of the segment starting at `first`.
pub fn segment_name(base: &str, first: u64) -> String {
    format!("{base}.{first:020}.{SUFFIX}")
}

/// The segments of the log named `base` in `dir`, oldest first. A missing directory holds none.
///
/// # Errors
/// The directory cannot be read.
pub fn list_segments(dir: &Path, base: &str) -> std::io::Result<Vec<Segment>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('.')) else { continue };
        let Some(digits) = rest.strip_suffix(SUFFIX).and_then(|r| r.strip_suffix('.')) else { continue };
        if digits.len() != 20 {
            continue;
        }
        let Ok(first) = digits.parse::<u64>() else { continue };
        out.push(Segment { path: entry.path(), first });
    }
    out.sort_by_key(|s| s.first);
    Ok(out)
}

fn header_bytes(first: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&first.to_le_bytes());
    let crc = crc32fast::hash(&h[..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Appends one record to `out`.
pub fn encode_record(out: &mut Vec<u8>, start: u64, unix_ms: u64, db_before: Option<usize>, data: &[u8]) {
    let db = db_before.and_then(|d| u32::try_from(d).ok()).unwrap_or(NO_DB);
    let at = out.len();
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&unix_ms.to_le_bytes());
    out.extend_from_slice(&db.to_le_bytes());
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[at + 8..]);
    out[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Reads a whole segment. A torn tail is not an error (see [`Scanned::torn`]); damage before it is.
///
/// # Errors
/// The file cannot be read, its header is wrong, or a record inside the file fails its checks.
pub fn scan(path: &Path) -> Result<Scanned, Corrupt> {
    let name = path.display().to_string();
    let bad = |offset: u64, why: String| Corrupt { file: name.clone(), offset, why };
    let raw = std::fs::read(path).map_err(|e| bad(0, format!("cannot be read ({e})")))?;
    let file_len = raw.len() as u64;
    if raw.len() < HEADER_LEN || raw[..HEADER_LEN].iter().all(|&b| b == 0) {
        // A crash right after the file was created, before its header reached the disk.
        if raw.iter().all(|&b| b == 0) {
            return Ok(Scanned { first: 0, records: Vec::new(), valid_len: 0, file_len });
        }
        return Err(bad(0, "truncated header".into()));
    }
    if &raw[..8] != MAGIC {
        return Err(bad(0, "bad magic (not a Strata change log segment)".into()));
    }
    let version = u32_at(&raw, 8);
    if version != VERSION {
        return Err(bad(8, format!("unsupported version {version} (this server reads {VERSION})")));
    }
    if crc32fast::hash(&raw[..20]) != u32_at(&raw, 20) {
        return Err(bad(20, "header checksum mismatch".into()));
    }
    let first = u64_at(&raw, 12);
    let data = bytes::Bytes::from(raw);
    let mut records = Vec::new();
    let mut pos = HEADER_LEN;
    let mut expect = first;
    while pos < data.len() {
        let rest = &data[pos..];
        let torn_here = || rest.iter().all(|&b| b == 0);
        // Too short for a record header, or a length running past the end: only a write cut short leaves these.
        if rest.len() < RECORD_HEADER_LEN {
            break;
        }
        let len = u32_at(rest, 0) as usize;
        if len >= MAX_RECORD {
            if torn_here() {
                break;
            }
            return Err(bad(pos as u64, format!("record length {len} is impossible")));
        }
        let whole = RECORD_HEADER_LEN + len;
        if whole > rest.len() {
            break;
        }
        if crc32fast::hash(&rest[8..whole]) != u32_at(rest, 4) {
            // The last record of the file cut or garbled by the crash is a torn tail; one with more records after it
            // is damage.
            if whole == rest.len() || torn_here() {
                break;
            }
            return Err(bad(pos as u64, "record checksum mismatch".into()));
        }
        let start = u64_at(rest, 8);
        if start != expect {
            return Err(bad(pos as u64, format!("record starts at offset {start}, expected {expect}")));
        }
        let db = u32_at(rest, 24);
        let from = pos + RECORD_HEADER_LEN;
        records.push(Record {
            start,
            unix_ms: u64_at(rest, 16),
            db_before: (db != NO_DB).then_some(db as usize),
            data: data.slice(from..from + len),
        });
        expect = start + len as u64;
        pos += whole;
    }
    Ok(Scanned { first, records, valid_len: pos as u64, file_len })
}

/// Cuts a segment's torn tail off, durably.
///
/// # Errors
/// The file cannot be opened, truncated or synced.
pub fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// Fsyncs a directory, so a file created or removed in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The segment being appended to.
#[derive(Debug)]
pub struct SegmentWriter {
    file: std::fs::File,
    pub path: PathBuf,
    pub first: u64,
    /// Bytes in the file that are whole records (plus the header).
    pub len: u64,
}

impl SegmentWriter {
    /// Creates the segment starting at `first` in `dir` (replacing a leftover file of the same name, which can
    /// only hold a torn start of the same records), with its header synced and its directory entry too.
    ///
    /// # Errors
    /// The file cannot be created or synced.
    pub fn create(dir: &Path, base: &str, first: u64) -> std::io::Result<SegmentWriter> {
        std::fs::create_dir_all(dir)?;
        SegmentWriter::create_at(&dir.join(segment_name(base, first)), first)
    }

    /// Creates a segment file at `path` (a backup's, named by its place rather than its offset).
    ///
    /// # Errors
    /// The file cannot be created or synced.
    pub fn create_at(path: &Path, first: u64) -> std::io::Result<SegmentWriter> {
        let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(path)?;
        file.write_all(&header_bytes(first))?;
        file.sync_all()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir)?;
        }
        Ok(SegmentWriter { file, path: path.to_path_buf(), first, len: HEADER_LEN as u64 })
    }

    /// Appends encoded records. On failure the file is cut back to its last whole record, so a retry (or a
    /// crash) never leaves half a batch before later records.
    ///
    /// # Errors
    /// The write failed (disk full, I/O error); the segment still ends with whole records when `Ok` was returned
    /// by the cut, which the caller learns from [`SegmentWriter::healthy`].
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.cut_back();
                Err(e)
            }
        }
    }

    fn cut_back(&mut self) -> std::io::Result<()> {
        use std::io::Seek;
        self.file.set_len(self.len)?;
        self.file.seek(std::io::SeekFrom::Start(self.len))?;
        Ok(())
    }

    /// True when the file's length is its whole records' (a failed write was cut back).
    pub fn healthy(&self) -> bool {
        self.file.metadata().map(|m| m.len() == self.len).unwrap_or(false)
    }

    /// Makes what was appended durable (fdatasync).
    ///
    /// # Errors
    /// The sync failed.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("strata-changelog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn records(n: usize, first: u64) -> (Vec<u8>, Vec<Record>) {
        let mut out = Vec::new();
        let mut recs = Vec::new();
        let mut at = first;
        for i in 0..n {
            let data = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{i}\r\n", i.to_string().len());
            encode_record(&mut out, at, 1000 + i as u64, (i == 0).then_some(3), data.as_bytes());
            recs.push(Record {
                start: at,
                unix_ms: 1000 + i as u64,
                db_before: (i == 0).then_some(3),
                data: data.into_bytes().into(),
            });
            at += recs[i].data.len() as u64;
        }
        (out, recs)
    }

    fn write_segment(dir: &Path, first: u64, n: usize) -> (SegmentWriter, Vec<Record>) {
        let mut w = SegmentWriter::create(dir, "appendonly.aof", first).unwrap();
        let (bytes, recs) = records(n, first);
        w.append(&bytes).unwrap();
        w.sync().unwrap();
        (w, recs)
    }

    #[test]
    fn records_round_trip_and_segments_list_in_order() {
        let dir = temp_dir("roundtrip");
        let (w, recs) = write_segment(&dir, 500, 5);
        write_segment(&dir, 10, 1);
        std::fs::write(dir.join("appendonly.aof.123.changes"), b"ignored: not 20 digits").unwrap();
        std::fs::write(dir.join("other.txt"), b"ignored").unwrap();
        let segs = list_segments(&dir, "appendonly.aof").unwrap();
        assert_eq!(segs.iter().map(|s| s.first).collect::<Vec<_>>(), vec![10, 500]);
        let s = scan(&w.path).unwrap();
        assert_eq!(s.first, 500);
        assert_eq!(s.records, recs);
        assert!(!s.torn());
        assert_eq!(
            s.records.last().unwrap().end(),
            s.records[0].start + recs.iter().map(|r| r.data.len() as u64).sum::<u64>()
        );
        assert!(list_segments(&dir.join("missing"), "x").unwrap().is_empty());
    }

    #[test]
    fn a_torn_tail_is_cut_at_every_length_and_never_returned_half() {
        let dir = temp_dir("torn");
        let (w, recs) = write_segment(&dir, 0, 4);
        let full = std::fs::read(&w.path).unwrap();
        let last_start = full.len() - (RECORD_HEADER_LEN + recs[3].data.len());
        for cut in last_start..full.len() {
            std::fs::write(&w.path, &full[..cut]).unwrap();
            let s = scan(&w.path).unwrap();
            assert_eq!(s.records, recs[..3], "cut at {cut}");
            assert_eq!(s.valid_len, last_start as u64);
            assert_eq!(s.torn(), cut > last_start);
        }
        // Zeros after the last whole record (a power loss after the length grew) are a torn tail too.
        let mut zeros = full[..last_start].to_vec();
        zeros.extend_from_slice(&[0; 100]);
        std::fs::write(&w.path, &zeros).unwrap();
        let s = scan(&w.path).unwrap();
        assert_eq!(s.records, recs[..3]);
        truncate(&w.path, s.valid_len).unwrap();
        assert!(!scan(&w.path).unwrap().torn());
        // A garbled last record, whole length present: torn as well.
        let mut garbled = full.clone();
        let n = garbled.len();
        garbled[n - 1] ^= 0xff;
        std::fs::write(&w.path, &garbled).unwrap();
        assert_eq!(scan(&w.path).unwrap().records, recs[..3]);
    }

    #[test]
    fn damage_inside_the_file_is_refused_with_its_offset() {
        let dir = temp_dir("corrupt");
        let (w, recs) = write_segment(&dir, 0, 4);
        let full = std::fs::read(&w.path).unwrap();
        // Flip a byte of the second record's data: its CRC fails and whole records follow.
        let second = HEADER_LEN + RECORD_HEADER_LEN + recs[0].data.len();
        let mut bad = full.clone();
        bad[second + RECORD_HEADER_LEN + 2] ^= 1;
        std::fs::write(&w.path, &bad).unwrap();
        let e = scan(&w.path).unwrap_err();
        assert_eq!(e.offset, second as u64, "{e}");
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
        assert!(e.to_string().contains(&w.path.display().to_string()), "{e}");
        let mut bad = full.clone();
        bad[0] = b'X';
        std::fs::write(&w.path, &bad).unwrap();
        assert!(scan(&w.path).unwrap_err().why.contains("bad magic"));
        let mut bad = full.clone();
        bad[8] = 9;
        std::fs::write(&w.path, &bad).unwrap();
        assert!(scan(&w.path).unwrap_err().why.contains("unsupported version 9"));
        let mut bad = full;
        bad[13] ^= 1;
        std::fs::write(&w.path, &bad).unwrap();
        assert!(scan(&w.path).unwrap_err().why.contains("header checksum"));
    }

    #[test]
    fn a_failed_append_is_cut_back_to_whole_records() {
        let dir = temp_dir("cutback");
        let (mut w, _) = write_segment(&dir, 0, 2);
        let good = w.len;
        w.file.write_all(b"half a record").unwrap();
        w.cut_back().unwrap();
        assert!(w.healthy());
        assert_eq!(std::fs::metadata(&w.path).unwrap().len(), good);
        let end = scan(&w.path).unwrap().records.last().unwrap().end();
        let (more, _) = records(1, end);
        w.append(&more).unwrap();
        assert_eq!(scan(&w.path).unwrap().records.len(), 3);
    }
}
