//! Set values: a sorted array of integers while every member is an integer and there are at most
//! `set-max-intset-entries` of them (Redis's `intset`), otherwise a `Dict` (`hashtable`).

use crate::store::dict::Dict;
use crate::store::hash_key;
use crate::util::num::parse_i64;
use bytes::Bytes;

/// A set.
#[derive(Debug, Clone)]
pub enum SetValue {
    Ints(Vec<i64>),
    /// Boxed so the compact form, which most sets use, is not sized for the table.
    Table(Box<Dict<()>>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::Ints(Vec::new())
    }
}

fn int_of(m: &[u8]) -> Option<i64> {
    if m.len() > 20 {
        return None;
    }
    parse_i64(m)
}

impl SetValue {
    /// A new set able to hold `first` in its most compact form.
    pub fn for_member(first: &[u8]) -> SetValue {
        if int_of(first).is_some() {
            SetValue::Ints(Vec::new())
        } else {
            SetValue::Table(Box::default())
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Ints(v) => v.len(),
            SetValue::Table(d) => d.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Ints(_) => "intset",
            SetValue::Table(_) => "hashtable",
        }
    }

    /// Membership test.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetValue::Ints(v) => int_of(m).is_some_and(|n| v.binary_search(&n).is_ok()),
            SetValue::Table(d) => d.find(hash_key(m), m).is_some(),
        }
    }

    /// Adds `m`; returns true when it was not a member. `max_ints` is `set-max-intset-entries`.
    pub fn add(&mut self, m: &[u8], max_ints: usize) -> bool {
        if let SetValue::Ints(v) = self {
            match int_of(m) {
                Some(n) => match v.binary_search(&n) {
                    Ok(_) => return false,
                    Err(pos) if v.len() < max_ints => {
                        v.insert(pos, n);
                        return true;
                    }
                    Err(_) => self.convert_to_table(),
                },
                None => self.convert_to_table(),
            }
        }
        match self {
            SetValue::Table(d) => {
                let h = hash_key(m);
                if d.find(h, m).is_some() {
                    return false;
                }
                d.insert_new(h, Bytes::copy_from_slice(m), ());
                true
            }
            SetValue::Ints(_) => false,
        }
    }

    /// Removes `m`; returns whether it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetValue::Ints(v) => match int_of(m).map(|n| v.binary_search(&n)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            SetValue::Table(d) => match d.find(hash_key(m), m) {
                Some(i) => d.remove_at(i).is_some(),
                None => false,
            },
        }
    }

    /// Every member.
    pub fn members(&self) -> Vec<Bytes> {
        match self {
            SetValue::Ints(v) => v.iter().map(|n| Bytes::from(n.to_string())).collect(),
            SetValue::Table(d) => d.iter().map(|(_, s)| s.key.to_bytes()).collect(),
        }
    }

    /// A uniformly random member.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<Bytes> {
        match self {
            SetValue::Ints(v) if v.is_empty() => None,
            SetValue::Ints(v) => Some(Bytes::from(v[rng.gen_range(0..v.len())].to_string())),
            SetValue::Table(d) => d.random_slot(rng).and_then(|i| d.slot(i)).map(|s| s.key.to_bytes()),
        }
    }

    /// The table, for SSCAN cursors (the intset form is returned whole).
    pub fn table(&self) -> Option<&Dict<()>> {
        match self {
            SetValue::Table(d) => Some(d),
            SetValue::Ints(_) => None,
        }
    }

    fn convert_to_table(&mut self) {
        if let SetValue::Ints(v) = self {
            let mut d = Dict::default();
            for n in v.iter() {
                let b = Bytes::from(n.to_string());
                d.insert_new(hash_key(&b), b, ());
            }
            *self = SetValue::Table(Box::new(d));
        }
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            SetValue::Ints(v) => v.capacity() * 8,
            SetValue::Table(d) => {
                std::mem::size_of::<Dict<()>>()
                    + d.overhead_bytes()
                    + d.iter().map(|(_, s)| s.key.len() + 32).sum::<usize>()
            }
        }
    }
}
