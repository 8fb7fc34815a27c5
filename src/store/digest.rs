//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`: a fingerprint of the dataset, equal for equal datasets.
//!
//! As in Redis, each key contributes its own digest and the dataset's digest is their XOR, so the order in which
//! keys are visited (shards, table slots) does not matter; an empty dataset digests to twenty zero bytes. A key's
//! digest covers its database, name, type, value and absolute expiry. Unordered containers (hash, set, sorted set)
//! XOR their elements' digests for the same reason, while a list digests its elements in order. Values are read in
//! their logical form, so encodings (int or raw strings, listpack or table hashes, compressed strings) never
//! change the result. The bytes differ from Redis's (SHA-256 truncated to Redis's 20 bytes instead of SHA-1); what
//! matters is that the primary, a replica and a replayed log agree.

use super::{Entry, Shard, Value};
use sha2::{Digest, Sha256};

/// A 20-byte digest (printed as 40 hex characters, as Redis prints its SHA-1 digests).
pub type Digest20 = [u8; 20];

fn finish(h: Sha256) -> Digest20 {
    let full = h.finalize();
    let mut out = [0u8; 20];
    out.copy_from_slice(&full[..20]);
    out
}

/// Feeds a length-prefixed chunk, so that ("ab","c") and ("a","bc") differ.
fn chunk(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_be_bytes());
    h.update(b);
}

fn xor(acc: &mut Digest20, d: &Digest20) {
    for (a, b) in acc.iter_mut().zip(d) {
        *a ^= b;
    }
}

/// Digest of an unordered collection: the XOR of each element's digest.
fn unordered<'a>(items: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Digest20 {
    let mut acc = [0u8; 20];
    for (a, b) in items {
        let mut h = Sha256::new();
        chunk(&mut h, a);
        chunk(&mut h, b);
        xor(&mut acc, &finish(h));
    }
    acc
}

/// The digest of a value with its expiry (DEBUG DIGEST-VALUE), without the key's name or database.
pub fn value_digest(e: &Entry, expire_at: u64) -> Digest20 {
    let mut h = Sha256::new();
    let v = &e.value;
    chunk(&mut h, v.type_name().as_bytes());
    match v {
        Value::Str(s) => chunk(&mut h, &s.to_bytes()),
        Value::List(l) => {
            h.update((l.len() as u64).to_be_bytes());
            for item in l.iter() {
                chunk(&mut h, item);
            }
        }
        Value::Hash(m) => {
            let pairs = m.pairs();
            h.update((pairs.len() as u64).to_be_bytes());
            h.update(unordered(pairs.iter().map(|(f, v)| (&f[..], &v[..]))));
        }
        Value::Set(s) => {
            let members = s.members();
            h.update((members.len() as u64).to_be_bytes());
            h.update(unordered(members.iter().map(|m| (&m[..], &[][..]))));
        }
        Value::ZSet(z) => {
            let entries = z.entries();
            let scores: Vec<[u8; 8]> = entries.iter().map(|(_, s)| s.to_bits().to_be_bytes()).collect();
            h.update((entries.len() as u64).to_be_bytes());
            h.update(unordered(entries.iter().zip(&scores).map(|((m, _), s)| (&m[..], &s[..]))));
        }
        Value::Stream(st) => chunk(&mut h, &st.digest_bytes()),
        Value::Ext(x) => chunk(&mut h, &x.to_bytes()),
    }
    h.update(expire_at.to_be_bytes());
    finish(h)
}

/// The digest of one key of database `db`.
pub fn key_digest(db: usize, key: &[u8], e: &Entry, expire_at: u64) -> Digest20 {
    let mut h = Sha256::new();
    h.update((db as u64).to_be_bytes());
    chunk(&mut h, key);
    h.update(value_digest(e, expire_at));
    finish(h)
}

/// XORs into `acc` the digest of every live key of `shard` (database `db`); keys already past their expiry at
/// `now_ms` are left out, as no command can see them.
pub fn add_shard(acc: &mut Digest20, db: usize, shard: &Shard, now_ms: u64) {
    for (idx, slot) in shard.data.dict.iter() {
        let at = shard.data.expire_at(idx);
        if at != 0 && at <= now_ms {
            continue;
        }
        xor(acc, &key_digest(db, &slot.key, &slot.val, at));
    }
}

/// Lowercase hex, as Redis prints digests.
pub fn hex(d: &Digest20) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StrValue;
    use bytes::Bytes;

    fn s(v: &str) -> Entry {
        Entry::new(Value::Str(StrValue::raw(v.as_bytes().to_vec())))
    }

    #[test]
    fn key_digests_see_every_part_and_xor_is_order_free() {
        let a = key_digest(0, b"k", &s("v"), 0);
        assert_ne!(a, key_digest(1, b"k", &s("v"), 0));
        assert_ne!(a, key_digest(0, b"k2", &s("v"), 0));
        assert_ne!(a, key_digest(0, b"k", &s("w"), 0));
        assert_ne!(a, key_digest(0, b"k", &s("v"), 5));
        let list = Entry::new(Value::List(Box::new([Bytes::from("v")].into_iter().collect())));
        assert_ne!(a, key_digest(0, b"k", &list, 0));
        let (x, y) = (key_digest(0, b"x", &s("1"), 0), key_digest(0, b"y", &s("2"), 0));
        let mut one = [0u8; 20];
        xor(&mut one, &x);
        xor(&mut one, &y);
        let mut two = [0u8; 20];
        xor(&mut two, &y);
        xor(&mut two, &x);
        assert_eq!(one, two);
        assert_eq!(hex(&[0u8; 20]), "0".repeat(40));
        // Chunks are length-prefixed: moving a byte between a key and its value changes the digest.
        assert_ne!(key_digest(0, b"ab", &s("c"), 0), key_digest(0, b"a", &s("bc"), 0));
    }
}
