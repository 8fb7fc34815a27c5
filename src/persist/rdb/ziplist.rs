//! Redis's ziplist byte format, read for RESTORE of payloads from Redis before 7.0 (RDB types 10, 12, 13 and the
//! nodes of type 14). Never written.
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), count (u16 LE, 65535 when unknown), entries,
//! 0xFF. An entry is the previous entry's size (1 byte, or 0xFE and a u32 LE), an encoding (6/14/32-bit string
//! lengths, 8/16/24/32/64-bit integers, or a 4-bit immediate 0..12) and its data.

use super::Elem;

const HDR: usize = 10;
const END: u8 = 0xFF;

/// Validates `zl` as `ziplistValidateIntegrity` does with deep checking (header, terminator, tail offset, every
/// entry inside the buffer with the right previous-entry size, count) and returns its elements.
pub fn read(zl: &[u8]) -> Option<Vec<Elem<'_>>> {
    if zl.len() < HDR + 1 {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([zl[i], zl[i + 1], zl[i + 2], zl[i + 3]]) as usize;
    let total = u32_at(0);
    let tail = u32_at(4);
    let count = usize::from(u16::from_le_bytes([zl[8], zl[9]]));
    let end = zl.len() - 1;
    if total != zl.len() || zl[end] != END || tail > end {
        return None;
    }
    let mut out = Vec::with_capacity(count.min(end / 2));
    let mut p = HDR;
    let mut prev_size = 0usize;
    let mut last = None;
    while zl[p] != END {
        let start = p;
        let (prevlen, used) = if zl[p] < 0xFE {
            (usize::from(zl[p]), 1)
        } else {
            if p + 5 > end {
                return None;
            }
            (u32_at(p + 1), 5)
        };
        if prevlen != prev_size {
            return None;
        }
        p += used;
        if p >= end {
            return None;
        }
        let enc = zl[p];
        let take = |from: usize, n: usize| -> Option<&[u8]> {
            let to = from.checked_add(n)?;
            if to > end {
                return None;
            }
            zl.get(from..to)
        };
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        let (elem, size) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                (Elem::Str(take(p + 1, n)?), 1 + n)
            }
            1 => {
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(*take(p + 1, 1)?.first()?);
                (Elem::Str(take(p + 2, n)?), 2 + n)
            }
            2 => {
                if enc != 0x80 {
                    return None;
                }
                let b = take(p + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (Elem::Str(take(p + 5, n)?), 5 + n)
            }
            _ => match enc {
                0xC0 => (Elem::Int(i64::from(le(take(p + 1, 2)?) as u16 as i16)), 3),
                0xD0 => (Elem::Int(i64::from(le(take(p + 1, 4)?) as u32 as i32)), 5),
                0xE0 => (Elem::Int(le(take(p + 1, 8)?) as i64), 9),
                0xF0 => {
                    let u = le(take(p + 1, 3)?) as u32;
                    (Elem::Int(i64::from(((u << 8) as i32) >> 8)), 4)
                }
                0xFE => (Elem::Int(i64::from(*take(p + 1, 1)?.first()? as i8)), 2),
                0xF1..=0xFD => (Elem::Int(i64::from(enc & 0x0F) - 1), 1),
                _ => return None,
            },
        };
        p = p.checked_add(size)?;
        if p > end {
            return None;
        }
        prev_size = p - start;
        last = Some(start);
        out.push(elem);
    }
    if p != end {
        return None;
    }
    if let Some(l) = last {
        if l != tail {
            return None;
        }
    }
    if count != 65535 && count != out.len() {
        return None;
    }
    Some(out)
}

/// A ziplist as Redis 6.2 writes it: "a", 5, "hello", -300.
#[cfg(test)]
pub(crate) fn tests_sample() -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(b"\x00\x01a"); // prev 0, str 1
    e.extend_from_slice(b"\x03\xf6"); // prev 3, immediate 5
    e.extend_from_slice(b"\x02\x05hello"); // prev 2, str 5
    let tail = 10 + e.len();
    e.extend_from_slice(b"\x07\xc0\xd4\xfe"); // prev 7, int16 -300
    let mut zl = Vec::new();
    zl.extend_from_slice(&((10 + e.len() + 1) as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&4u16.to_le_bytes());
    zl.extend_from_slice(&e);
    zl.push(0xFF);
    zl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        tests_sample()
    }

    #[test]
    fn reads_every_entry() {
        let zl = sample();
        let v = read(&zl).expect("valid");
        assert_eq!(v, vec![Elem::Str(b"a"), Elem::Int(5), Elem::Str(b"hello"), Elem::Int(-300)]);
    }

    #[test]
    fn damage_is_refused() {
        let zl = sample();
        for cut in 0..zl.len() {
            assert!(read(&zl[..cut]).is_none());
        }
        let mut bad = zl.clone();
        bad[13] = 9; // wrong prevlen
        assert!(read(&bad).is_none());
        let mut bad = zl.clone();
        bad[4] = 11; // wrong tail
        assert!(read(&bad).is_none());
        let mut bad = zl;
        bad[8] = 3; // wrong count
        assert!(read(&bad).is_none());
    }
}
