//! Redis's zipmap byte format (RDB type 9, small hashes before Redis 2.6), read for RESTORE. Never written.
//!
//! Layout: a count byte (254 or more: unknown), then field/value pairs, then 0xFF. A length is one byte below
//! 254, or 254 and a u32 LE; a value's length is followed by a byte counting free bytes after the value.

/// Validates `zm` as `zipmapValidateIntegrity` does with deep checking and returns its (field, value) pairs.
pub fn read(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 {
        return None;
    }
    let last = zm.len() - 1;
    let length = |p: usize| -> Option<(usize, usize)> {
        match *zm.get(p)? {
            b if b < 254 => Some((usize::from(b), 1)),
            254 => {
                let b = zm.get(p + 1..p + 5)?;
                Some((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5))
            }
            _ => None,
        }
    };
    let mut out = Vec::new();
    let mut p = 1usize;
    while *zm.get(p)? != 0xFF {
        let (l, s) = length(p)?;
        let f_start = p + s;
        let f_end = f_start.checked_add(l)?;
        if f_end > last {
            return None;
        }
        let (l, s) = length(f_end)?;
        let free_at = f_end + s;
        if free_at > last {
            return None;
        }
        let free = usize::from(zm[free_at]);
        let v_start = free_at + 1;
        let v_end = v_start.checked_add(l)?;
        let next = v_end.checked_add(free)?;
        if next > last {
            return None;
        }
        out.push((&zm[f_start..f_end], &zm[v_start..v_end]));
        p = next;
    }
    if p != last || out.is_empty() {
        return None;
    }
    if zm[0] < 254 && usize::from(zm[0]) != out.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs_and_refuses_damage() {
        // 2 pairs: "a" => "1" (with 2 free bytes), "bb" => "xyz".
        let zm = b"\x02\x01a\x01\x021..\x02bb\x03\x00xyz\xff".to_vec();
        assert_eq!(read(&zm), Some(vec![(&b"a"[..], &b"1"[..]), (&b"bb"[..], &b"xyz"[..])]));
        for cut in 0..zm.len() {
            assert!(read(&zm[..cut]).is_none());
        }
        let mut bad = zm.clone();
        bad[0] = 3;
        assert!(read(&bad).is_none());
        assert!(read(b"\x00\xff").is_none());
    }
}
