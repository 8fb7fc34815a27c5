//! How a backup's data file is stored: optionally zstd-compressed (`backup-compression yes`, the default), then
//! optionally encrypted with AES-256-GCM (`backup-encryption-key-file`). [`pack`] turns the plain file into the
//! stored one; [`unpack`] turns it back, failing on any change to the stored bytes.
//!
//! Encrypted layout (little-endian): `STRATAEN` | version u32 = 1 | chunk size u32 | nonce prefix (8 random bytes),
//! then chunks of at most `chunk size` plain bytes, each `len u32 | ciphertext+tag (len bytes)`. A chunk's nonce is
//! the prefix followed by its index (u32); its associated data is its index and whether it is the last chunk, so a
//! reordered, dropped or truncated-at-a-boundary file fails to decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"STRATAEN";
const VERSION: u32 = 1;
const CHUNK: usize = 1 << 20;

/// Reads a key file: 32 raw bytes, or 64 hex digits (surrounding whitespace ignored).
///
/// # Errors
/// The file cannot be read or holds neither form.
pub fn read_key(path: &Path) -> Result<[u8; 32], String> {
    let raw = std::fs::read(path).map_err(|e| format!("backup-encryption-key-file {}: {e}", path.display()))?;
    if raw.len() == 32 {
        let mut k = [0u8; 32];
        k.copy_from_slice(&raw);
        return Ok(k);
    }
    let text = String::from_utf8_lossy(&raw);
    let hex = text.trim();
    let mut k = [0u8; 32];
    if hex.len() == 64 {
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("backup-encryption-key-file {}: not hex", path.display()))?;
        }
        return Ok(k);
    }
    Err(format!("backup-encryption-key-file {}: expected 32 bytes or 64 hex digits", path.display()))
}

fn aad(index: u32, last: bool) -> [u8; 5] {
    let mut a = [0u8; 5];
    a[..4].copy_from_slice(&index.to_le_bytes());
    a[4] = u8::from(last);
    a
}

fn nonce(prefix: &[u8; 8], index: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(&index.to_le_bytes());
    n
}

/// Writes `plain` to `stored`, compressed and/or encrypted; the plain file is left as it is.
///
/// # Errors
/// A file cannot be read or written.
pub fn pack(plain: &Path, stored: &Path, compress: bool, key: Option<&[u8; 32]>) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", stored.display());
    let mut data = std::fs::read(plain).map_err(|e| format!("{}: {e}", plain.display()))?;
    if compress {
        data = zstd::bulk::compress(&data, 3).map_err(io)?;
    }
    let mut out = std::fs::File::create(stored).map_err(io)?;
    match key {
        None => out.write_all(&data).map_err(io)?,
        Some(key) => {
            let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
            let prefix: [u8; 8] = rand::random();
            let mut head = Vec::with_capacity(24);
            head.extend_from_slice(MAGIC);
            head.extend_from_slice(&VERSION.to_le_bytes());
            head.extend_from_slice(&(CHUNK as u32).to_le_bytes());
            head.extend_from_slice(&prefix);
            out.write_all(&head).map_err(io)?;
            let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(CHUNK).collect() };
            let n = chunks.len();
            for (i, chunk) in chunks.into_iter().enumerate() {
                let index = i as u32;
                let sealed = cipher
                    .encrypt(
                        Nonce::from_slice(&nonce(&prefix, index)),
                        Payload { msg: chunk, aad: &aad(index, i + 1 == n) },
                    )
                    .map_err(|_| format!("{}: encryption failed", stored.display()))?;
                out.write_all(&(sealed.len() as u32).to_le_bytes()).map_err(io)?;
                out.write_all(&sealed).map_err(io)?;
            }
        }
    }
    out.sync_all().map_err(io)
}

/// Restores the plain file from the stored one.
///
/// # Errors
/// A file cannot be read or written, the key is missing or wrong, or the stored bytes were changed.
pub fn unpack(
    stored: &Path,
    plain: &Path,
    compressed: bool,
    encrypted: bool,
    key: Option<&[u8; 32]>,
) -> Result<(), String> {
    let name = stored.display().to_string();
    let mut raw = Vec::new();
    std::fs::File::open(stored).and_then(|mut f| f.read_to_end(&mut raw)).map_err(|e| format!("{name}: {e}"))?;
    let mut data = if encrypted {
        let key = key.ok_or_else(|| format!("{name} is encrypted: set backup-encryption-key-file"))?;
        decrypt(&raw, key).map_err(|why| format!("{name}: {why}"))?
    } else {
        raw
    };
    if compressed {
        let mut out = Vec::new();
        zstd::stream::copy_decode(&data[..], &mut out).map_err(|e| format!("{name}: not a valid zstd stream ({e})"))?;
        data = out;
    }
    std::fs::write(plain, &data).map_err(|e| format!("{}: {e}", plain.display()))
}

fn decrypt(raw: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, String> {
    if raw.len() < 24 || &raw[..8] != MAGIC {
        return Err("not an encrypted backup file (bad magic)".into());
    }
    let u32_at = |at: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&raw[at..at + 4]);
        u32::from_le_bytes(a)
    };
    if u32_at(8) != VERSION {
        return Err(format!("unsupported encryption version {}", u32_at(8)));
    }
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&raw[16..24]);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let mut out = Vec::new();
    let mut pos = 24;
    let mut index = 0u32;
    while pos < raw.len() {
        if raw.len() - pos < 4 {
            return Err(format!("truncated at byte {pos}"));
        }
        let len = u32_at(pos) as usize;
        let body = raw.get(pos + 4..pos + 4 + len).ok_or_else(|| format!("truncated at byte {pos}"))?;
        let last = pos + 4 + len == raw.len();
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce(&prefix, index)), Payload { msg: body, aad: &aad(index, last) })
            .map_err(|_| {
                format!("chunk {index} at byte {pos} fails authentication (wrong key, or the file was changed)")
            })?;
        out.extend_from_slice(&plain);
        pos += 4 + len;
        index += 1;
    }
    if index == 0 {
        return Err("no data (truncated)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_round_trips_and_tampering_is_caught() {
        let dir = std::env::temp_dir().join(format!("strata-seal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8 ^ (i / 7000) as u8).collect();
        std::fs::write(&plain, &data).unwrap();
        let key = [7u8; 32];
        for (compress, k) in [(false, None), (true, None), (false, Some(&key)), (true, Some(&key))] {
            let stored = dir.join("stored");
            let back = dir.join("back");
            pack(&plain, &stored, compress, k).unwrap();
            unpack(&stored, &back, compress, k.is_some(), k).unwrap();
            assert_eq!(std::fs::read(&back).unwrap(), data, "compress {compress} key {}", k.is_some());
            if k.is_some() {
                let mut bad = std::fs::read(&stored).unwrap();
                let mid = bad.len() / 2;
                bad[mid] ^= 1;
                std::fs::write(&stored, &bad).unwrap();
                assert!(unpack(&stored, &back, compress, true, k).unwrap_err().contains("fails authentication"));
                let good_len = bad.len();
                pack(&plain, &stored, compress, k).unwrap();
                assert!(unpack(&stored, &back, compress, true, Some(&[8u8; 32])).is_err(), "wrong key");
                // Dropping the last chunk is caught: the new last one was not sealed as last.
                let whole = std::fs::read(&stored).unwrap();
                let first_len = u32::from_le_bytes(whole[24..28].try_into().unwrap()) as usize;
                if 28 + first_len < good_len {
                    std::fs::write(&stored, &whole[..28 + first_len]).unwrap();
                    assert!(unpack(&stored, &back, compress, true, k).is_err());
                }
                assert!(unpack(&plain, &back, compress, true, None)
                    .unwrap_err()
                    .contains("set backup-encryption-key-file"));
            }
        }
        std::fs::write(dir.join("hexkey"), format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(read_key(&dir.join("hexkey")).unwrap(), [0xab; 32]);
        std::fs::write(dir.join("badkey"), "short").unwrap();
        assert!(read_key(&dir.join("badkey")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
