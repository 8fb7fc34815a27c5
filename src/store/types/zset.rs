//! Sorted-set values: a sorted vector while small (Redis's `listpack` encoding, up to `zset-max-listpack-entries`
//! members of at most `zset-max-listpack-value` bytes), a member→score `Dict` plus a [`RankTree`] beyond
//! (`skiplist`), giving O(log n) rank and range.

use super::ranktree::RankTree;
use crate::store::dict::Dict;
use crate::store::hash_key;
use bytes::Bytes;
use std::cmp::Ordering;

/// Compact-encoding thresholds.
#[derive(Debug, Clone, Copy)]
pub struct ZsetLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// A sorted set.
#[derive(Debug, Clone)]
pub enum ZSetValue {
    /// (score, member) sorted by score, then member.
    Small(Vec<(f64, Bytes)>),
    Big {
        scores: Dict<f64>,
        order: RankTree<Bytes>,
    },
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Small(Vec::new())
    }
}

fn cmp(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(b.1))
}

/// A score bound for ZRANGEBYSCORE-style queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A lexicographic bound for ZRANGEBYLEX-style queries.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Bytes),
    Excl(Bytes),
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Small(v) => v.len(),
            ZSetValue::Big { scores, .. } => scores.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetValue::Small(_) => "listpack",
            ZSetValue::Big { .. } => "skiplist",
        }
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Small(v) => v.iter().find(|(_, x)| x[..] == *m).map(|(s, _)| *s),
            ZSetValue::Big { scores, .. } => scores.find(hash_key(m), m).and_then(|i| scores.slot(i)).map(|s| s.val),
        }
    }

    /// Sets the score of `m` (inserting it if new); returns the previous score.
    pub fn insert(&mut self, m: &[u8], score: f64, limits: ZsetLimits) -> Option<f64> {
        if let ZSetValue::Small(v) = self {
            // The compact encoding stores scores as text, where -0 reads back as 0 (as in Redis's listpack).
            let score = if score == 0.0 { 0.0 } else { score };
            if m.len() > limits.max_value {
                self.convert_to_big();
            } else {
                let old = v.iter().position(|(_, x)| x[..] == *m).map(|i| v.remove(i).0);
                if old.is_some() || v.len() < limits.max_entries {
                    let pos = v.partition_point(|(s, x)| cmp((*s, x), (score, m)) == Ordering::Less);
                    v.insert(pos, (score, Bytes::copy_from_slice(m)));
                    return old;
                }
                self.convert_to_big();
            }
        }
        match self {
            ZSetValue::Big { scores, order } => {
                let h = hash_key(m);
                match scores.find(h, m) {
                    Some(i) => {
                        let slot = scores.slot_mut(i)?;
                        let old = slot.val;
                        if old != score {
                            order.remove(old, &slot.key[..]);
                            order.insert(score, slot.key.to_bytes());
                            slot.val = score;
                        }
                        Some(old)
                    }
                    None => {
                        let key = Bytes::copy_from_slice(m);
                        order.insert(score, key.clone());
                        scores.insert_new(h, key, score);
                        None
                    }
                }
            }
            ZSetValue::Small(_) => None,
        }
    }

    /// Removes `m`; returns whether it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            ZSetValue::Small(v) => match v.iter().position(|(_, x)| x[..] == *m) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            ZSetValue::Big { scores, order } => match scores.find(hash_key(m), m) {
                Some(i) => {
                    if let Some(s) = scores.remove_at(i) {
                        order.remove(s.val, &s.key[..]);
                    }
                    true
                }
                None => false,
            },
        }
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match self {
            ZSetValue::Small(v) => v.iter().position(|(_, x)| x[..] == *m),
            ZSetValue::Big { order, .. } => {
                let s = self.score(m)?;
                order.rank(s, &Bytes::copy_from_slice(m))
            }
        }
    }

    /// Members with ascending rank in `start..=end` (clamped by the caller to valid ranks).
    pub fn range(&self, start: usize, end: usize) -> Vec<(f64, Bytes)> {
        match self {
            ZSetValue::Small(v) => {
                if start > end || start >= v.len() {
                    return Vec::new();
                }
                v[start..=end.min(v.len() - 1)].to_vec()
            }
            ZSetValue::Big { order, .. } => order.range(start, end),
        }
    }

    /// Number of members ranked before the first member that is `>= bound` (or `> bound` when exclusive):
    /// the rank where a score range starting at `bound` begins.
    pub fn rank_of_min(&self, bound: ScoreBound) -> usize {
        let before = |s: f64| if bound.exclusive { s <= bound.value } else { s < bound.value };
        self.count_prefix(|s, _| before(s))
    }

    /// Number of members within a score upper bound: the rank just past a score range ending at `bound`.
    pub fn rank_past_max(&self, bound: ScoreBound) -> usize {
        let within = |s: f64| if bound.exclusive { s < bound.value } else { s <= bound.value };
        self.count_prefix(|s, _| within(s))
    }

    /// Rank where a lex range starting at `min` begins (all scores equal, as ZRANGEBYLEX requires).
    pub fn rank_of_lex_min(&self, min: &LexBound) -> usize {
        match min {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(b) => self.count_prefix(|_, m| m < &b[..]),
            LexBound::Excl(b) => self.count_prefix(|_, m| m <= &b[..]),
        }
    }

    /// Rank just past a lex range ending at `max`.
    pub fn rank_past_lex_max(&self, max: &LexBound) -> usize {
        match max {
            LexBound::NegInf => 0,
            LexBound::PosInf => self.len(),
            LexBound::Incl(b) => self.count_prefix(|_, m| m <= &b[..]),
            LexBound::Excl(b) => self.count_prefix(|_, m| m < &b[..]),
        }
    }

    fn count_prefix(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSetValue::Small(v) => v.partition_point(|(s, m)| before(*s, m)),
            ZSetValue::Big { order, .. } => order.count_prefix(|s, m: &Bytes| before(s, m)),
        }
    }

    /// Every (member, score) in storage order (for ZSCAN and conversions).
    pub fn entries(&self) -> Vec<(Bytes, f64)> {
        match self {
            ZSetValue::Small(v) => v.iter().map(|(s, m)| (m.clone(), *s)).collect(),
            ZSetValue::Big { scores, .. } => scores.iter().map(|(_, s)| (s.key.to_bytes(), s.val)).collect(),
        }
    }

    /// The member table, for ZSCAN cursors (the compact form is returned whole).
    pub fn table(&self) -> Option<&Dict<f64>> {
        match self {
            ZSetValue::Big { scores, .. } => Some(scores),
            ZSetValue::Small(_) => None,
        }
    }

    fn convert_to_big(&mut self) {
        if let ZSetValue::Small(v) = self {
            let mut scores = Dict::default();
            let mut order = RankTree::new();
            for (s, m) in v.drain(..) {
                order.insert(s, m.clone());
                scores.insert_new(hash_key(&m), m, s);
            }
            *self = ZSetValue::Big { scores, order };
        }
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            ZSetValue::Small(v) => v.iter().map(|(_, m)| m.len() + 40).sum(),
            ZSetValue::Big { scores, .. } => {
                scores.overhead_bytes() + scores.iter().map(|(_, s)| 2 * s.key.len() + 100).sum::<usize>()
            }
        }
    }
}
