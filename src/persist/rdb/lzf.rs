//! LZF, as Redis compresses strings and blobs in its RDB encoding (liblzf 3.6's `lzf_c.c` / `lzf_d.c` as Redis
//! builds them: HLOG 16, VERY_FAST).
//!
//! Written here rather than taken from the `lzf` crate: that crate is deprecated, ends a back reference with a
//! different bound than Redis's copy (so its output differs near the end of some inputs), checks the output size
//! against a buffer as long as the input (Redis gives `len - 4`) and allocates a 512 KiB table per call. This
//! compressor follows Redis's loop step for step, with the hash table zeroed (Redis leaves it uninitialised,
//! which only ever adds matches and is not reproducible), so a DUMP payload matches Redis's bytes.

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The most a compressed byte can expand to: a three-byte back reference copies at most 264 bytes.
pub const MAX_RATIO: usize = 88;

thread_local! {
    /// The hash table, kept per thread and cleared after each call by the slots it used.
    static TABLE: RefCell<(Vec<u32>, Vec<u32>)> = RefCell::new((vec![0; HSIZE], Vec::new()));
}

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes, or `None` when it does not fit (Redis's `lzf_compress`
/// returning 0).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.len() < 2 || out_len == 0 {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let (htab, used) = &mut *t;
        let out = compress_with(input, out_len, htab, used);
        for &s in used.iter() {
            htab[s as usize] = 0;
        }
        used.clear();
        out
    })
}

fn compress_with(inp: &[u8], out_len: usize, htab: &mut [u32], used: &mut Vec<u32>) -> Option<Vec<u8>> {
    let in_end = inp.len();
    let mut out = vec![0u8; out_len];
    let mut set = |htab: &mut [u32], slot: usize, pos: usize| {
        if htab[slot] == 0 {
            used.push(slot as u32);
        }
        htab[slot] = pos as u32;
    };
    let mut lit: usize = 0;
    let mut op: usize = 1; // start run
    let mut ip: usize = 0;
    let mut hval: u32 = (u32::from(inp[0]) << 8) | u32::from(inp[1]);
    while ip + 2 < in_end {
        hval = (hval << 8) | u32::from(inp[ip + 2]);
        let slot = idx(hval);
        let r = htab[slot] as usize;
        set(htab, slot, ip);
        // A position of 0 is never referenced (Redis's `ref > in_data`), so 0 also marks an empty slot.
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if off < MAX_OFF && r > 0 && inp[r + 2] == inp[ip + 2] && inp[r] == inp[ip] && inp[r + 1] == inp[ip + 1] {
            let mut len = 2usize;
            let maxlen = (in_end - ip - len).min(MAX_REF);
            out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
            if lit == 0 {
                op -= 1; // undo run if length is zero
            }
            if op + 3 + 1 >= out_len {
                return None;
            }
            let mut extend = true;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if inp[r + len] != inp[ip + len] {
                        extend = false;
                        break;
                    }
                }
            }
            if extend {
                loop {
                    len += 1;
                    if !(len < maxlen && inp[r + len] == inp[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // len is now #octets - 1
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip + 2 >= in_end {
                break;
            }
            ip -= 2;
            hval = (u32::from(inp[ip]) << 8) | u32::from(inp[ip + 1]);
            hval = (hval << 8) | u32::from(inp[ip + 2]);
            set(htab, idx(hval), ip);
            ip += 1;
            hval = (hval << 8) | u32::from(inp[ip + 2]);
            set(htab, idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            push_literal(&mut out, &mut op, &mut lit, inp[ip]);
            ip += 1;
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_end {
        push_literal(&mut out, &mut op, &mut lit, inp[ip]);
        ip += 1;
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
    if lit == 0 {
        op -= 1;
    }
    out.truncate(op);
    Some(out)
}

/// Copies one literal byte, closing the literal run (its length byte written before it) once it is full, as
/// lzf_c.c does in both of its literal loops.
fn push_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    *lit += 1;
    out[*op] = byte;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes (Redis's `lzf_decompress(...) != len`
/// check). The caller bounds `out_len` (see [`MAX_RATIO`]) before calling.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < (1 << 5) {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + n)?);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            let back = ((ctrl & 0x1f) << 8) + 1;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let back = back + usize::from(*input.get(ip)?);
            ip += 1;
            if out.len() + len + 2 > out_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            for i in 0..len + 2 {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_respects_the_bound() {
        let samples: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello world world world".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..3000u32).map(|i| (i * 7 % 13) as u8).collect(),
            vec![0u8; 100_000],
        ];
        for s in samples {
            let c = compress(&s, s.len() - 4).expect("compressible");
            assert!(c.len() <= s.len() - 4);
            assert_eq!(decompress(&c, s.len()).as_deref(), Some(&s[..]));
            assert!(decompress(&c, s.len() + 1).is_none());
            assert!(decompress(&c, s.len() - 1).is_none());
        }
    }

    #[test]
    fn incompressible_input_gives_none() {
        let s: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        assert!(compress(&s, s.len() - 4).is_none());
        assert!(compress(b"a", 10).is_none());
    }

    #[test]
    fn known_bytes_from_redis() {
        // redis-server 7.0: SET k <"a" x 30>; DUMP k -> \xc3 \x09 \x1e then these bytes.
        let c = compress(&[b'a'; 30], 26).expect("fits");
        assert_eq!(c, vec![0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']);
        let s = b"hello hello hello hello hello world world world";
        let c = compress(s, s.len() - 4).expect("fits");
        assert_eq!(c, b"\x06hello h\xe0\x0e\x05\x04world\xe0\x01\x05\x01ld".to_vec());
    }

    #[test]
    fn damaged_input_is_refused() {
        assert!(decompress(&[0x05, b'a'], 6).is_none()); // literal past the input
        assert!(decompress(&[0x20, 0x00], 3).is_none()); // back reference before the start
        assert!(decompress(&[0xe0], 10).is_none()); // truncated long reference
        assert!(decompress(&[], 1).is_none());
    }
}
