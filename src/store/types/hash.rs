//! Hash values: a listpack of field/value pairs while small, a `Dict` once past `hash-max-listpack-entries` or
//! `hash-max-listpack-value` (Redis's two encodings, reported as `listpack` and `hashtable`).

use super::listpack::Listpack;
use crate::store::dict::Dict;
use crate::store::hash_key;
use bytes::Bytes;

/// Thresholds for the compact encoding (CONFIG `hash-max-listpack-*`).
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// Field values (shared `Bytes` in the table form) at least this long are shared with a reader; shorter ones
/// are copied. Sharing gives a buffer its reference count on the first read (a `bytes` header allocated then and
/// kept as long as the field, 32 bytes) and every later read an atomic update on that header's cache line; below a
/// few KiB both cost more than copying bytes the reply copies again anyway.
const SHARE_MIN: usize = 4096;

fn share_or_copy(b: &Bytes) -> Bytes {
    if b.len() < SHARE_MIN {
        Bytes::copy_from_slice(b)
    } else {
        b.clone()
    }
}

/// A hash.
#[derive(Debug, Clone)]
pub enum HashValue {
    /// field, value, field, value, ...
    Pack(Listpack),
    /// Boxed so the compact form, which most hashes use, is not sized for the table.
    Table(Box<Dict<Bytes>>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Pack(Listpack::new())
    }
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Pack(lp) => lp.len() / 2,
            HashValue::Table(d) => d.len(),
        }
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Pack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<Bytes> {
        match self {
            HashValue::Pack(lp) => {
                let i = lp.find(field, 2)?;
                lp.get(i + 1).map(Bytes::copy_from_slice)
            }
            HashValue::Table(d) => {
                d.find(hash_key(field), field).and_then(|i| d.slot(i)).map(|s| share_or_copy(&s.val))
            }
        }
    }

    /// True when `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            HashValue::Pack(lp) => lp.find(field, 2).is_some(),
            HashValue::Table(d) => d.find(hash_key(field), field).is_some(),
        }
    }

    /// Sets `field` to `value`; returns true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let HashValue::Pack(lp) = self {
            if field.len() > limits.max_value || value.len() > limits.max_value {
                self.convert_to_table();
            } else if let Some(i) = lp.find(field, 2) {
                lp.set(i + 1, value);
                return false;
            } else if lp.len() / 2 < limits.max_entries {
                lp.push(field);
                lp.push(value);
                return true;
            } else {
                self.convert_to_table();
            }
        }
        match self {
            HashValue::Table(d) => {
                let h = hash_key(field);
                match d.find(h, field) {
                    Some(i) => {
                        if let Some(s) = d.slot_mut(i) {
                            s.val = Bytes::copy_from_slice(value);
                        }
                        false
                    }
                    None => {
                        d.insert_new(h, Bytes::copy_from_slice(field), Bytes::copy_from_slice(value));
                        true
                    }
                }
            }
            HashValue::Pack(_) => false,
        }
    }

    /// Removes `field`; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Pack(lp) => match lp.find(field, 2) {
                Some(i) => {
                    lp.remove(i, 2);
                    true
                }
                None => false,
            },
            HashValue::Table(d) => match d.find(hash_key(field), field) {
                Some(i) => d.remove_at(i).is_some(),
                None => false,
            },
        }
    }

    /// Every (field, value) pair, in storage order.
    pub fn pairs(&self) -> Vec<(Bytes, Bytes)> {
        match self {
            HashValue::Pack(lp) => {
                let items: Vec<&[u8]> = lp.iter().collect();
                items.chunks(2).map(|c| (Bytes::copy_from_slice(c[0]), Bytes::copy_from_slice(c[1]))).collect()
            }
            HashValue::Table(d) => d.iter().map(|(_, s)| (s.key.to_bytes(), s.val.clone())).collect(),
        }
    }

    /// A uniformly random (field, value).
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<(Bytes, Bytes)> {
        match self {
            HashValue::Pack(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let i = rng.gen_range(0..n) * 2;
                Some((Bytes::copy_from_slice(lp.get(i)?), Bytes::copy_from_slice(lp.get(i + 1)?)))
            }
            HashValue::Table(d) => {
                d.random_slot(rng).and_then(|i| d.slot(i)).map(|s| (s.key.to_bytes(), s.val.clone()))
            }
        }
    }

    /// Releases spare capacity of the compact form (a listpack grows by doubling; a hash at rest should not keep
    /// the slack).
    pub fn shrink(&mut self) {
        if let HashValue::Pack(lp) = self {
            lp.shrink();
        }
    }

    /// Slots for HSCAN: the table's slot count (0 for the compact form, which is returned whole).
    pub fn table(&self) -> Option<&Dict<Bytes>> {
        match self {
            HashValue::Table(d) => Some(d),
            HashValue::Pack(_) => None,
        }
    }

    fn convert_to_table(&mut self) {
        if let HashValue::Pack(lp) = self {
            let mut d = Dict::default();
            let items: Vec<&[u8]> = lp.iter().collect();
            for c in items.chunks(2) {
                d.insert_new(hash_key(c[0]), Bytes::copy_from_slice(c[0]), Bytes::copy_from_slice(c[1]));
            }
            *self = HashValue::Table(Box::new(d));
        }
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            HashValue::Pack(lp) => lp.bytes(),
            HashValue::Table(d) => {
                std::mem::size_of::<Dict<Bytes>>()
                    + d.overhead_bytes()
                    + d.iter().map(|(_, s)| s.key.len() + s.val.len() + 32).sum::<usize>()
            }
        }
    }
}
