//! Redis's intset byte format (RDB type 11): encoding width (u32 LE: 2, 4 or 8), count (u32 LE), then the
//! members sorted ascending, little-endian, all in that width.

/// Encodes sorted, distinct `members` in the smallest width that holds them all.
pub fn write(members: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| members.iter().all(|&m| (lo..=hi).contains(&m));
    let width: usize = if fits(i64::from(i16::MIN), i64::from(i16::MAX)) {
        2
    } else if fits(i64::from(i32::MIN), i64::from(i32::MAX)) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * members.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for &m in members {
        out.extend_from_slice(&m.to_le_bytes()[..width]);
    }
    out
}

/// Validates `is` as `intsetValidateIntegrity` does with deep checking (a known width, the size matching the
/// count, members strictly ascending) and returns the members.
pub fn read(is: &[u8]) -> Option<Vec<i64>> {
    if is.len() < 8 {
        return None;
    }
    let width = u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize;
    if ![2, 4, 8].contains(&width) {
        return None;
    }
    let count = u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize;
    if count.checked_mul(width)?.checked_add(8)? != is.len() {
        return None;
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for c in is[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&last| last >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_bytes_and_round_trip() {
        // redis-server 7.0: SADD s 1 2 3 70000 -> a 4-byte intset.
        let bytes = write(&[1, 2, 3, 70000]);
        assert_eq!(
            bytes,
            b"\x04\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00p\x11\x01\x00".to_vec()
        );
        assert_eq!(read(&bytes), Some(vec![1, 2, 3, 70000]));
        for m in [vec![-5, 7], vec![i64::MIN, 0, i64::MAX], vec![]] {
            assert_eq!(read(&write(&m)), Some(m.clone()));
        }
    }

    #[test]
    fn damage_is_refused() {
        let good = write(&[1, 2, 3]);
        assert!(read(&good[..good.len() - 1]).is_none());
        let mut unsorted = good.clone();
        unsorted[8] = 9;
        assert!(read(&unsorted).is_none());
        let mut dup = good.clone();
        dup[10] = 1;
        assert!(read(&dup).is_none());
        let mut width = good.clone();
        width[0] = 3;
        assert!(read(&width).is_none());
        let mut count = good;
        count[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&count).is_none());
    }
}
