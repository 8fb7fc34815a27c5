//! Redis's RDB serialization of one value, as DUMP writes and RESTORE reads it (Redis 7.0, RDB version 10).
//!
//! A payload is the value's RDB type byte and encoding, then the RDB version (u16 LE) and a CRC64 (Jones, as
//! Redis's `crc64`, u64 LE) of everything before it. Strata writes what Redis 7.0 writes for the same value and
//! encoding, so a payload restores into redis-server and the other way round.
//!
//! - `encode`: a `Value` to its RDB encoding (strings with integer and LZF forms, lists as quicklists of
//!   listpacks, hashes and sorted sets as listpacks or tables, sets as intsets or tables).
//! - `decode`: every type Redis 7.0 restores, fully validated (Redis's `sanitize-dump-payload` deep checks),
//!   never trusting a length before the bytes are there.
//! - `stream`: streams as listpack nodes with their consumer groups, both ways.
//! - `lzf`, `listpack`, `ziplist`, `intset`, `zipmap`: the byte formats inside, one file each.
//!
//! Strata's own extension values travel under a type byte of their own ([`TYPE_STRATA_EXT`]), which Redis
//! refuses as a bad format; snapshots do not use this module (see `persist::format`).

pub mod decode;
pub mod encode;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod stream;
pub mod ziplist;
pub mod zipmap;

#[cfg(test)]
mod roundtrip;

pub use decode::{decode, DecodeError};
pub use encode::{encode, EncodeOptions};

/// The RDB version Redis 7.0 writes in a DUMP payload (and the newest it restores).
pub const RDB_VERSION: u16 = 10;

/// RDB object types (Redis's `RDB_TYPE_*`).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE_PRE_GA: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// The type byte of Strata's extension values (counters, sketches, experiments): outside Redis's range, so
/// redis-server answers such a payload with `ERR Bad data format`.
pub const TYPE_STRATA_EXT: u8 = 0xA5;

/// The type byte under which earlier Strata builds dumped streams (in `Stream::to_bytes`'s encoding): still
/// restored; streams are now dumped in Redis's `STREAM_LISTPACKS_2`.
pub const TYPE_STRATA_STREAM: u8 = 0xA6;

/// Quicklist node containers (`QUICKLIST_NODE_CONTAINER_*`).
pub const CONTAINER_PLAIN: u64 = 1;
pub const CONTAINER_PACKED: u64 = 2;

/// One element of a listpack or ziplist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as a string (integers in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Elem::Int(n) => itoa::Buffer::new().format(*n).as_bytes().to_vec(),
            Elem::Str(s) => s.to_vec(),
        }
    }
}

const CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Redis's `crc64(0, data, len)`.
pub fn crc64(data: &[u8]) -> u64 {
    CRC.checksum(data)
}

/// Appends the version and checksum footer to an encoded value, making a DUMP payload.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// Checks a payload's footer as Redis's `verifyDumpPayload` does (at least 10 bytes, a version no newer than
/// [`RDB_VERSION`], the CRC64) and returns the encoded value before it.
pub fn unseal(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version > RDB_VERSION {
        return None;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[footer + 2..]);
    (crc64(&payload[..footer + 2]) == u64::from_le_bytes(crc)).then_some(&payload[..footer])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_known_vector() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn seal_matches_redis_and_unseal_checks() {
        // redis-server 7.0: SET k <"a" x 30>; DUMP k.
        let body = b"\x00\xc3\x09\x1e\x01aa\xe0\x11\x00\x01aa".to_vec();
        let payload = seal(body.clone());
        assert_eq!(payload, b"\x00\xc3\t\x1e\x01aa\xe0\x11\x00\x01aa\n\x00Es|\xbb+d{\xbb".to_vec());
        assert_eq!(unseal(&payload), Some(&body[..]));
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert!(unseal(&bad).is_none());
        let mut newer = body;
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert!(unseal(&newer).is_none());
        assert!(unseal(&payload[..9]).is_none());
    }
}
