//! `Listpack`: a sequence of byte strings packed into one allocation.
//!
//! Small hashes, sets and sorted sets live in one of these (as Redis keeps them in its listpack) so a 20-field
//! hash costs one allocation and a few bytes of framing per field instead of two heap strings and a table slot
//! each. Every element is stored as a varint length followed by its bytes. Operations are linear in the number of
//! elements, which the encoding thresholds (`*-max-listpack-entries`) keep small.

/// A packed sequence of byte strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    len: usize,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `pos`; returns (value, bytes used).
fn get_varint(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut n: usize = 0;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = *buf.get(i)?;
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return Some((n, i - pos));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Iterator over a listpack's elements.
pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (n, used) = get_varint(self.buf, self.pos)?;
        let start = self.pos + used;
        let item = self.buf.get(start..start + n)?;
        self.pos = start + n;
        Some(item)
    }
}

impl Listpack {
    /// An empty listpack.
    pub fn new() -> Listpack {
        Listpack::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes used by the packed buffer.
    pub fn bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Iterates over the elements in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { buf: &self.buf, pos: 0 }
    }

    /// Appends an element.
    pub fn push(&mut self, item: &[u8]) {
        put_varint(&mut self.buf, item.len());
        self.buf.extend_from_slice(item);
        self.len += 1;
    }

    /// Byte range (start of header, end of data) of element `index`.
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        let mut pos = 0;
        for _ in 0..index {
            let (n, used) = get_varint(&self.buf, pos)?;
            pos += used + n;
        }
        let (n, used) = get_varint(&self.buf, pos)?;
        Some((pos, pos + used + n))
    }

    /// Element `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.iter().nth(index)
    }

    /// Removes `count` consecutive elements starting at `index`.
    pub fn remove(&mut self, index: usize, count: usize) {
        if count == 0 {
            return;
        }
        let Some((start, _)) = self.span(index) else { return };
        let mut end = start;
        let mut removed = 0;
        while removed < count {
            let Some((n, used)) = get_varint(&self.buf, end) else { break };
            end += used + n;
            removed += 1;
        }
        self.buf.drain(start..end);
        self.len -= removed;
    }

    /// Replaces element `index` with `item`.
    pub fn set(&mut self, index: usize, item: &[u8]) {
        let Some((start, end)) = self.span(index) else { return };
        let mut enc = Vec::with_capacity(item.len() + 2);
        put_varint(&mut enc, item.len());
        enc.extend_from_slice(item);
        self.buf.splice(start..end, enc);
    }

    /// Inserts `item` before element `index` (at the end when `index == len`).
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        let at = if index >= self.len { self.buf.len() } else { self.span(index).map_or(self.buf.len(), |s| s.0) };
        let mut enc = Vec::with_capacity(item.len() + 2);
        put_varint(&mut enc, item.len());
        enc.extend_from_slice(item);
        self.buf.splice(at..at, enc);
        self.len += 1;
    }

    /// Index of the first element equal to `item`, looking only at positions `0, step, 2*step, ...`.
    pub fn find(&self, item: &[u8], step: usize) -> Option<usize> {
        self.iter().enumerate().step_by(step.max(1)).find(|(_, x)| *x == item).map(|(i, _)| i)
    }

    /// Releases spare capacity.
    pub fn shrink(&mut self) {
        self.buf.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_set_remove_insert() {
        let mut lp = Listpack::new();
        for w in ["a", "bb", "", "dddd"] {
            lp.push(w.as_bytes());
        }
        assert_eq!(lp.len(), 4);
        assert_eq!(lp.get(2), Some(&b""[..]));
        lp.set(1, &[b'x'; 300]);
        assert_eq!(lp.get(1).map(|v| v.len()), Some(300));
        assert_eq!(lp.get(3), Some(&b"dddd"[..]));
        lp.remove(0, 2);
        assert_eq!(lp.iter().collect::<Vec<_>>(), vec![&b""[..], &b"dddd"[..]]);
        lp.insert(1, b"mid");
        lp.insert(9, b"end");
        assert_eq!(lp.iter().collect::<Vec<_>>(), vec![&b""[..], &b"mid"[..], &b"dddd"[..], &b"end"[..]]);
        assert_eq!(lp.find(b"dddd", 1), Some(2));
        assert_eq!(lp.find(b"dddd", 2), Some(2));
        assert_eq!(lp.find(b"mid", 2), None);
    }
}
