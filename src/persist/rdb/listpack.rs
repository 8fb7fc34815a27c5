//! Redis's listpack byte format: written for DUMP (lists' quicklist nodes, small hashes and sorted sets) and read,
//! fully validated, for RESTORE.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 when unknown), entries, 0xFF. An entry is an
//! encoding byte (7-bit uint, 6/12/32-bit string lengths, 13/16/24/32/64-bit integers), its data, then its own
//! length written backwards ("backlen") so the list can be walked from the tail.
//! This is not `store::types::listpack` (Strata's in-memory packing of small hashes).

use super::Elem;
use crate::util::num::parse_i64;

const HDR: usize = 6;
const EOF: u8 = 0xFF;
const NUMELE_UNKNOWN: usize = 65535;

/// Builds a listpack, encoding each element as Redis's `lpAppend` does.
#[derive(Debug)]
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

fn backlen(l: usize, out: &mut Vec<u8>) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
    } else if l < 2_097_151 {
        out.extend_from_slice(&[(l >> 14) as u8, ((l >> 7) & 127) as u8 | 128, (l & 127) as u8 | 128]);
    } else if l < 268_435_455 {
        out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    } else {
        out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]);
    }
}

/// Bytes `backlen` writes for `l`.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

impl Writer {
    /// An empty listpack.
    pub fn new() -> Writer {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HDR]);
        Writer { buf, count: 0 }
    }

    /// Size the finished listpack would have now.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends `s`, as an integer when it is the canonical form of one.
    pub fn push(&mut self, s: &[u8]) {
        match parse_i64(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    /// Appends an integer in its smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1i64 << 13) + v } else { v } as u16;
            b.extend_from_slice(&[(u >> 8) as u8 | 0xC0, u as u8]);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (-2_147_483_648..=2_147_483_647).contains(&v) {
            b.push(0xF3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let n = b.len() - start;
        backlen(n, b);
        self.count += 1;
    }

    /// Appends a string as a string.
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let len = s.len();
        if len < 64 {
            b.push(0x80 | len as u8);
        } else if len < 4096 {
            b.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(len as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let n = b.len() - start;
        backlen(n, b);
        self.count += 1;
    }

    /// The finished bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = self.count.min(NUMELE_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Decodes one entry at `p` (which must lie before the terminator): the element and the entry's size without
/// its backlen. `None` when the header or data reach past `end`.
fn entry(lp: &[u8], p: usize, end: usize) -> Option<(Elem<'_>, usize)> {
    let b = *lp.get(p)?;
    let get = |from: usize, n: usize| -> Option<&[u8]> {
        let to = from.checked_add(n)?;
        if to > end {
            return None;
        }
        lp.get(from..to)
    };
    let le = |bytes: &[u8]| bytes.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    Some(match b {
        0x00..=0x7F => (Elem::Int(i64::from(b)), 1),
        0x80..=0xBF => {
            let n = usize::from(b & 0x3F);
            (Elem::Str(get(p + 1, n)?), 1 + n)
        }
        0xC0..=0xDF => {
            let lo = *get(p + 1, 1)?.first()?;
            let u = (u16::from(b & 0x1F) << 8) | u16::from(lo);
            let v = if u >= 1 << 12 { i64::from(u) - (1 << 13) } else { i64::from(u) };
            (Elem::Int(v), 2)
        }
        0xE0..=0xEF => {
            let lo = *get(p + 1, 1)?.first()?;
            let n = (usize::from(b & 0x0F) << 8) | usize::from(lo);
            (Elem::Str(get(p + 2, n)?), 2 + n)
        }
        0xF0 => {
            let n = le(get(p + 1, 4)?) as usize;
            (Elem::Str(get(p + 5, n)?), 5 + n)
        }
        0xF1 => (Elem::Int(i64::from(le(get(p + 1, 2)?) as u16 as i16)), 3),
        0xF2 => {
            let u = le(get(p + 1, 3)?) as u32;
            (Elem::Int(i64::from(((u << 8) as i32) >> 8)), 4)
        }
        0xF3 => (Elem::Int(i64::from(le(get(p + 1, 4)?) as u32 as i32)), 5),
        0xF4 => (Elem::Int(le(get(p + 1, 8)?) as i64), 9),
        _ => return None,
    })
}

/// Validates `lp` as `lpValidateIntegrity` does with deep checking (header size and count, terminator, every
/// entry inside the buffer, every backlen matching its entry) and returns its elements.
pub fn read(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    if lp.len() < HDR + 1 {
        return None;
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let numele = usize::from(u16::from_le_bytes([lp[4], lp[5]]));
    if total != lp.len() || lp[lp.len() - 1] != EOF {
        return None;
    }
    let end = lp.len() - 1;
    // Each entry takes at least two bytes.
    let mut out = Vec::with_capacity(numele.min(end / 2));
    let mut p = HDR;
    while p < end && lp[p] != EOF {
        let (e, size) = entry(lp, p, end)?;
        let bl = backlen_size(size);
        let next = p.checked_add(size + bl)?;
        if next > end {
            return None;
        }
        // The backlen, read backwards from its last byte as lpDecodeBacklen does, must give the entry's size.
        let mut v: u64 = 0;
        let mut shift = 0;
        let mut q = next - 1;
        loop {
            let c = lp[q];
            v |= u64::from(c & 127) << shift;
            if c & 128 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 || q == 0 {
                return None;
            }
            q -= 1;
        }
        if v != size as u64 {
            return None;
        }
        out.push(e);
        p = next;
    }
    if p != end {
        return None;
    }
    if numele != NUMELE_UNKNOWN && numele != out.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_redis_bytes() {
        // redis-server 7.0: RPUSH l a 1 -5 12345 hello; the quicklist node's listpack.
        let mut w = Writer::new();
        for s in ["a", "1", "-5", "12345", "hello"] {
            w.push(s.as_bytes());
        }
        let lp = w.finish();
        assert_eq!(lp, b"\x1a\x00\x00\x00\x05\x00\x81a\x02\x01\x01\xdf\xfb\x02\xf190\x03\x85hello\x06\xff".to_vec());
        let back = read(&lp).expect("valid");
        let strs: Vec<Vec<u8>> = back.iter().map(|e| e.to_vec()).collect();
        assert_eq!(strs, vec![b"a".to_vec(), b"1".to_vec(), b"-5".to_vec(), b"12345".to_vec(), b"hello".to_vec()]);
    }

    #[test]
    fn every_encoding_round_trips() {
        let ints = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            40000,
            -8_388_608,
            8_388_607,
            8_388_608,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
        ];
        let strs: Vec<Vec<u8>> = vec![
            vec![],
            b"x".to_vec(),
            vec![b'y'; 63],
            vec![b'z'; 64],
            vec![b'w'; 4095],
            vec![b'v'; 4096],
            vec![b'u'; 20000],
        ];
        let mut w = Writer::new();
        for &i in &ints {
            w.push_int(i);
        }
        for s in &strs {
            w.push_str(s);
        }
        let lp = w.finish();
        let back = read(&lp).expect("valid");
        assert_eq!(back.len(), ints.len() + strs.len());
        for (i, &v) in ints.iter().enumerate() {
            assert_eq!(back[i], Elem::Int(v));
        }
        for (i, s) in strs.iter().enumerate() {
            assert_eq!(back[ints.len() + i], Elem::Str(s));
        }
    }

    #[test]
    fn damage_is_refused() {
        let mut w = Writer::new();
        w.push(b"hello");
        w.push(b"300");
        let lp = w.finish();
        for cut in 0..lp.len() {
            assert!(read(&lp[..cut]).is_none(), "cut at {cut}");
        }
        for i in 0..lp.len() {
            for bit in 0..8 {
                let mut bad = lp.clone();
                bad[i] ^= 1 << bit;
                if let Some(v) = read(&bad) {
                    assert_eq!(v.len(), 2, "byte {i} bit {bit}");
                }
            }
        }
        let mut bad = lp.clone();
        bad[4] = 3; // count
        assert!(read(&bad).is_none());
        bad[4] = 0xff;
        bad[5] = 0xff; // unknown count is accepted
        assert!(read(&bad).is_some());
    }
}
