//! `RankTree`: an ordered set of (score, member) with O(log n) insert, remove, rank and select.
//!
//! The order-statistic structure behind large sorted sets (Redis's skiplist). A treap in an arena: each node keeps
//! its subtree size, so the rank of an element and the element at a rank are found in one walk from the root, and a
//! range of m elements is collected in O(log n + m). Scores are never NaN (commands reject it), so `(score,
//! member)` is totally ordered.

use std::cmp::Ordering;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node<M> {
    score: f64,
    member: M,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
}

/// An order-statistic set of (score, member) pairs.
#[derive(Debug, Clone)]
pub struct RankTree<M> {
    nodes: Vec<Node<M>>,
    free: Vec<u32>,
    root: u32,
    seed: u64,
}

impl<M> Default for RankTree<M> {
    fn default() -> Self {
        RankTree { nodes: Vec::new(), free: Vec::new(), root: NIL, seed: 0x9E37_79B9_7F4A_7C15 }
    }
}

fn cmp_key<Q: Ord + ?Sized>(s1: f64, m1: &Q, s2: f64, m2: &Q) -> Ordering {
    s1.partial_cmp(&s2).unwrap_or(Ordering::Equal).then_with(|| m1.cmp(m2))
}

impl<M: Ord + Clone> RankTree<M> {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn size(&self, n: u32) -> u32 {
        if n == NIL {
            0
        } else {
            self.nodes[n as usize].size
        }
    }

    fn fix(&mut self, n: u32) {
        let (l, r) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
        self.nodes[n as usize].size = 1 + self.size(l) + self.size(r);
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64*: priorities only need to be well spread, not secret.
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        (self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    /// Splits `n` into (< key, >= key) when `key_goes_right`, else (<= key, > key).
    fn split(&mut self, n: u32, score: f64, member: &M, key_goes_right: bool) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        let c = {
            let node = &self.nodes[n as usize];
            cmp_key(node.score, &node.member, score, member)
        };
        let node_left = c == Ordering::Less || (c == Ordering::Equal && !key_goes_right);
        if node_left {
            let r = self.nodes[n as usize].right;
            let (a, b) = self.split(r, score, member, key_goes_right);
            self.nodes[n as usize].right = a;
            self.fix(n);
            (n, b)
        } else {
            let l = self.nodes[n as usize].left;
            let (a, b) = self.split(l, score, member, key_goes_right);
            self.nodes[n as usize].left = b;
            self.fix(n);
            (a, n)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.nodes[a as usize].right;
            let m = self.merge(r, b);
            self.nodes[a as usize].right = m;
            self.fix(a);
            a
        } else {
            let l = self.nodes[b as usize].left;
            let m = self.merge(a, l);
            self.nodes[b as usize].left = m;
            self.fix(b);
            b
        }
    }

    /// Inserts (score, member); the caller guarantees the member is not present.
    ///
    /// One walk down the search path to where the new node's priority places it; only the (expectedly small)
    /// subtree below that point is split, instead of splitting and re-merging along the whole path.
    pub fn insert(&mut self, score: f64, member: M) {
        let prio = self.next_prio();
        let node = Node { score, member, left: NIL, right: NIL, size: 1, prio };
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.root = self.insert_at(self.root, idx);
    }

    fn insert_at(&mut self, n: u32, new: u32) -> u32 {
        if n == NIL {
            return new;
        }
        if self.nodes[new as usize].prio > self.nodes[n as usize].prio {
            let (score, member) = {
                let x = &self.nodes[new as usize];
                (x.score, x.member.clone())
            };
            let (l, r) = self.split(n, score, &member, true);
            let x = &mut self.nodes[new as usize];
            x.left = l;
            x.right = r;
            self.fix(new);
            return new;
        }
        let goes_left = {
            let (x, y) = (&self.nodes[new as usize], &self.nodes[n as usize]);
            cmp_key(x.score, &x.member, y.score, &y.member) == Ordering::Less
        };
        if goes_left {
            let child = self.insert_at(self.nodes[n as usize].left, new);
            self.nodes[n as usize].left = child;
        } else {
            let child = self.insert_at(self.nodes[n as usize].right, new);
            self.nodes[n as usize].right = child;
        }
        self.nodes[n as usize].size += 1;
        n
    }

    /// Removes (score, member); returns whether it was present.
    pub fn remove<Q: Ord + ?Sized>(&mut self, score: f64, member: &Q) -> bool
    where
        M: std::borrow::Borrow<Q>,
    {
        let (root, found) = self.remove_at(self.root, score, member);
        self.root = root;
        if self.root == NIL {
            self.nodes.clear();
            self.free.clear();
        }
        found
    }

    /// Removes (score, member) from the subtree at `n` in one walk: the node is replaced by the merge of its
    /// children, and sizes shrink along the path only once it was found.
    fn remove_at<Q: Ord + ?Sized>(&mut self, n: u32, score: f64, member: &Q) -> (u32, bool)
    where
        M: std::borrow::Borrow<Q>,
    {
        if n == NIL {
            return (NIL, false);
        }
        let c = {
            let node = &self.nodes[n as usize];
            cmp_key(score, member, node.score, node.member.borrow())
        };
        let found = match c {
            Ordering::Equal => {
                self.free.push(n);
                let (l, r) = (self.nodes[n as usize].left, self.nodes[n as usize].right);
                return (self.merge(l, r), true);
            }
            Ordering::Less => {
                let (child, found) = self.remove_at(self.nodes[n as usize].left, score, member);
                self.nodes[n as usize].left = child;
                found
            }
            Ordering::Greater => {
                let (child, found) = self.remove_at(self.nodes[n as usize].right, score, member);
                self.nodes[n as usize].right = child;
                found
            }
        };
        if found {
            self.nodes[n as usize].size -= 1;
        }
        (n, found)
    }

    /// 0-based rank of (score, member) if present.
    pub fn rank(&self, score: f64, member: &M) -> Option<usize> {
        let mut n = self.root;
        let mut before = 0usize;
        while n != NIL {
            let node = &self.nodes[n as usize];
            match cmp_key(score, member, node.score, &node.member) {
                Ordering::Less => n = node.left,
                Ordering::Greater => {
                    before += self.size(node.left) as usize + 1;
                    n = node.right;
                }
                Ordering::Equal => return Some(before + self.size(node.left) as usize),
            }
        }
        None
    }

    /// The element at 0-based rank `k`.
    pub fn select(&self, mut k: usize) -> Option<(f64, &M)> {
        let mut n = self.root;
        while n != NIL {
            let node = &self.nodes[n as usize];
            let ls = self.size(node.left) as usize;
            match k.cmp(&ls) {
                Ordering::Less => n = node.left,
                Ordering::Equal => return Some((node.score, &node.member)),
                Ordering::Greater => {
                    k -= ls + 1;
                    n = node.right;
                }
            }
        }
        None
    }

    /// Number of elements for which `before(score, member)` holds, where `before` is monotone (true for a prefix of
    /// the order). Used for score and lex bounds.
    pub fn count_prefix(&self, before: impl Fn(f64, &M) -> bool) -> usize {
        let mut n = self.root;
        let mut count = 0;
        while n != NIL {
            let node = &self.nodes[n as usize];
            if before(node.score, &node.member) {
                count += self.size(node.left) as usize + 1;
                n = node.right;
            } else {
                n = node.left;
            }
        }
        count
    }

    /// Elements with rank in `start..=end` (clamped), in order.
    pub fn range(&self, start: usize, end: usize) -> Vec<(f64, M)> {
        let mut out = Vec::new();
        if start > end || start >= self.len() {
            return out;
        }
        let end = end.min(self.len() - 1);
        self.collect(self.root, 0, start, end, &mut out);
        out
    }

    fn collect(&self, n: u32, offset: usize, lo: usize, hi: usize, out: &mut Vec<(f64, M)>) {
        if n == NIL {
            return;
        }
        let node = &self.nodes[n as usize];
        let ls = self.size(node.left) as usize;
        let me = offset + ls;
        if lo < me {
            self.collect(node.left, offset, lo, hi, out);
        }
        if lo <= me && me <= hi {
            out.push((node.score, node.member.clone()));
        }
        if hi > me {
            self.collect(node.right, me + 1, lo, hi, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_ranges_match_a_sorted_vec() {
        let mut t: RankTree<Vec<u8>> = RankTree::new();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut x: u64 = 7;
        for i in 0..3000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let score = (x % 100) as f64;
            let member = format!("m{}", x % 1000).into_bytes();
            if let Some(pos) = model.iter().position(|(_, m)| *m == member) {
                let (s, m) = model.remove(pos);
                assert!(t.remove(s, &m));
            } else if i % 3 != 0 {
                t.insert(score, member.clone());
                model.push((score, member));
            }
            model.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
            assert_eq!(t.len(), model.len());
        }
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(t.rank(*s, m), Some(i));
            assert_eq!(t.select(i).map(|(s2, m2)| (s2, m2.clone())), Some((*s, m.clone())));
        }
        let got = t.range(5, 40);
        assert_eq!(got, model[5..=40.min(model.len() - 1)].to_vec());
        let len = t.len();
        assert!(!t.remove(50.5, &b"absent".to_vec()), "an absent element is not removed");
        assert_eq!(t.len(), len, "sizes are untouched by a miss");
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(t.rank(*s, m), Some(i));
        }
        let below_50 = t.count_prefix(|s, _| s < 50.0);
        assert_eq!(below_50, model.iter().filter(|(s, _)| *s < 50.0).count());
    }
}
