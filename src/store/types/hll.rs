//! HyperLogLog values, bit-for-bit compatible with Redis 7.0 (`src/hyperloglog.c`).
//!
//! A HyperLogLog is an ordinary string value. These functions read and rewrite that string exactly as Redis
//! does, so PFADD/PFCOUNT/PFMERGE replies and the bytes GET returns match Redis 7.0 for the same commands.
//!
//! # Layout
//!
//! A 16-byte header: the magic `"HYLL"`, one encoding byte (0 dense, 1 sparse), three unused bytes (left as they
//! are), and a cached cardinality as a little-endian `u64`. If the top bit of its last byte is set, the cache is
//! stale and PFCOUNT must recompute it. After the header come the 16384 registers:
//!
//! * dense: 6 bits per register, packed from the least significant bit of each byte upward (12288 bytes, so a
//!   dense value is always 12304 bytes long);
//! * sparse: run-length opcodes. `00xxxxxx` is ZERO (1..=64 zero registers), `01xxxxxx yyyyyyyy` is XZERO
//!   (1..=16384 zero registers, 14-bit big-endian length minus one), and `1vvvvvxx` is VAL (value 1..=32 repeated
//!   1..=4 times). A sparse value is switched to dense when a register needs a value over 32, or when an update
//!   would make the whole string (header included) longer than `hll-sparse-max-bytes`.
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`). The low 14 bits pick the register. The register
//! gets the position of the lowest set bit in the remaining 50 bits, counting from 1; a sentinel bit caps it at 51.
//! PFCOUNT uses Otmar Ertl's improved estimator (register histogram plus `sigma`/`tau`), as Redis has since 5.0.
//!
//! # What the command layer must do around these functions
//!
//! * **Type checks.** A key holding a non-string type gets the ordinary
//!   `WRONGTYPE Operation against a key holding the wrong kind of value` before any of this code runs. A string
//!   that is not a HyperLogLog gets [`HllError::NotHll`]: shorter than 16 bytes, wrong magic, encoding > 1, or
//!   dense with a length other than 12304. Every function here returns that error. [`HllError::Corrupted`] is
//!   for sparse data that fails to decode. [`HllError::message`] gives both texts without the leading `-`.
//! * **PFADD key [element ...]** (see [`pfadd`], which does all of this): if the key is missing, store
//!   [`new_hll`] and count the command as an update, so `PFADD k` with no elements creates an empty HLL and
//!   replies 1. If the key exists, validate it even when no elements are given. Call [`add`] for each element in
//!   order. Reply 1 if the key was created or any `add` returned true, otherwise 0. If anything changed, mark the
//!   cache stale ([`invalidate_cache`]; `add` already does this itself), signal the key as modified, fire the
//!   keyspace event `pfadd` and propagate. If an `add` fails part way (only corrupt sparse values can fail), Redis
//!   has already changed the value in place for the earlier elements and keeps those changes. Store the value
//!   back, reply `INVALIDOBJ`, and fire no event.
//! * **PFCOUNT key** on a missing key replies 0 and creates nothing. For an existing key, call [`count`], which
//!   may write the recomputed cardinality into the header. If the value's bytes changed, store it back: Redis
//!   counts this as a write (`signalModifiedKey`, dirty++, propagated) even though PFCOUNT is a read-only
//!   command. Reply with the count as a signed 64-bit integer (`count as i64`; see [`count`]).
//! * **PFCOUNT k1 k2 ...** (more than one key): skip missing keys and pass the values, in argument order, to
//!   [`count_union`]. Nothing is written back.
//! * **PFMERGE dest [src ...]**: pass the current value of `dest` (or `None`) and the values of the existing
//!   sources, in argument order, to [`merge`] (or [`merge_with_limit`] with the configured
//!   `hll-sparse-max-bytes`). Missing sources are skipped. `dest` is itself merged in, as in Redis. Store the
//!   result under `dest` (this keeps its TTL, since Redis rewrites the value in place), reply `+OK`, signal the
//!   key, fire the keyspace event `pfadd` and propagate. PFMERGE with only `dest` creates an empty HLL.
//! * `hll-sparse-max-bytes` (default 3000, [`DEFAULT_SPARSE_MAX_BYTES`]) is passed in by the caller.
//! * PFDEBUG and PFSELFTEST are not implemented.
//!
//! # Known deviations
//!
//! Only for corrupt sparse values crafted with SET, where Redis 7.0 reads past its buffer or overflows a C `int`.
//! Past the end of the string, this code reads zero bytes (Redis reads the sds NUL terminator, which is also
//! zero, except in one truncated-XZERO case where Redis has already written over it). Register totals are
//! counted in 64 bits, and a run past register 16383 is rejected rather than wrapped. Redis 7.0.15 is open to
//! CVE-2025-32023 here, and this code behaves like the fixed releases.

use std::fmt;

/// Number of index bits.
const HLL_P: u32 = 14;
/// Bits left for the run length (64 - P).
const HLL_Q: usize = 64 - HLL_P as usize;
/// Number of registers.
const HLL_REGISTERS: usize = 1 << HLL_P;
const HLL_P_MASK: u64 = (HLL_REGISTERS as u64) - 1;
const HLL_BITS: usize = 6;
const HLL_REGISTER_MAX: u8 = (1 << HLL_BITS) - 1;
/// Header size in bytes.
pub const HLL_HDR_SIZE: usize = 16;
/// Size of the dense register area.
const HLL_DENSE_REGS_SIZE: usize = (HLL_REGISTERS * HLL_BITS).div_ceil(8);
/// Total size of a dense value (header + registers) = 12304.
pub const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + HLL_DENSE_REGS_SIZE;
const HLL_DENSE: u8 = 0;
const HLL_SPARSE: u8 = 1;
const HLL_MAX_ENCODING: u8 = 1;
/// Redis's default `hll-sparse-max-bytes`.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const HASH_SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2).
const HLL_ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Why a value cannot be used as a HyperLogLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// The string is not an HLL (too short, bad magic, unknown encoding, dense with the wrong length).
    NotHll,
    /// The header is fine but the sparse register data does not decode.
    Corrupted,
}

impl HllError {
    /// The error reply text, without the leading `-`.
    pub fn message(&self) -> &'static str {
        match self {
            HllError::NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupted => "INVALIDOBJ Corrupted HLL object detected",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HllError {}

// ---------------------------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------------------------

/// MurmurHash2, 64-bit variant "64A", reading input words as little-endian (as Redis does on every platform).
pub fn murmur_hash64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis passes the length as a C `int`; element lengths are far below 2^31 in practice.
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Register index and run length (1..=51) for an element.
fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, HASH_SEED);
    let index = (hash & HLL_P_MASK) as usize;
    let rest = (hash >> HLL_P) | (1u64 << HLL_Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------------------------
// Header helpers
// ---------------------------------------------------------------------------------------------------------------

/// Marks the cached cardinality stale (sets the top bit of the last cache byte).
///
/// Has no effect on values shorter than the header.
pub fn invalidate_cache(v: &mut [u8]) {
    if v.len() >= HLL_HDR_SIZE {
        v[15] |= 0x80;
    }
}

fn cache_is_valid(v: &[u8]) -> bool {
    v[15] & 0x80 == 0
}

fn read_cache(v: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[8..16]);
    u64::from_le_bytes(b)
}

fn write_cache(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------------------------
// Dense registers (`regs` is the 12288-byte area after the header)
// ---------------------------------------------------------------------------------------------------------------

fn dense_get(regs: &[u8], index: usize) -> u8 {
    let byte = index * HLL_BITS / 8;
    let fb = (index * HLL_BITS) & 7;
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & u16::from(HLL_REGISTER_MAX)) as u8
}

fn dense_put(regs: &mut [u8], index: usize, val: u8) {
    let byte = index * HLL_BITS / 8;
    let fb = (index * HLL_BITS) & 7;
    let v = u16::from(val);
    let max = u16::from(HLL_REGISTER_MAX);
    regs[byte] = ((u16::from(regs[byte]) & !(max << fb)) | (v << fb)) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        let shift = 8 - fb;
        *next = ((u16::from(*next) & !(max >> shift)) | (v >> shift)) as u8;
    }
}

/// Raises register `index` to `count` if it is lower; true if it changed.
fn dense_set(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_put(regs, index, count);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Sparse opcodes
// ---------------------------------------------------------------------------------------------------------------

/// One decoded sparse opcode.
#[derive(Clone, Copy)]
enum Op {
    /// `len` zero registers, `size` bytes of encoding (1 for ZERO, 2 for XZERO).
    Zero { len: usize, size: usize },
    /// `len` registers set to `val`.
    Val { val: u8, len: usize },
}

/// Byte `i` of `s`, or 0 past the end (Redis reads the sds NUL terminator there).
fn byte_or_zero(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Decodes the opcode at `s[p]` (`p < s.len()`).
fn decode(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0xc0 == 0 {
        Op::Zero { len: usize::from(b & 0x3f) + 1, size: 1 }
    } else if b & 0x80 == 0 {
        let len = ((usize::from(b & 0x3f) << 8) | usize::from(byte_or_zero(s, p + 1))) + 1;
        Op::Zero { len, size: 2 }
    } else {
        Op::Val { val: ((b >> 2) & 0x1f) + 1, len: usize::from(b & 0x3) + 1 }
    }
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

fn val_byte(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | ((len - 1) as u8)
}

/// Appends a ZERO or XZERO opcode for `len` (1..=16384) zero registers.
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let l = len - 1;
        out.push(0x40 | (l >> 8) as u8);
        out.push((l & 0xff) as u8);
    } else {
        out.push((len - 1) as u8);
    }
}

/// Calls `f(first_register, run_len, value)` for each VAL run of a sparse body, checking that the opcodes cover
/// exactly 16384 registers (the checks of Redis's `hllSparseToDense`/`hllMerge`).
fn sparse_for_each_val(body: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), HllError> {
    let mut idx = 0usize;
    let mut p = 0usize;
    while p < body.len() {
        match decode(body, p) {
            Op::Zero { len, size } => {
                idx += len;
                p += size;
                // Redis 7.0 only checks this at the end, but an overshoot can never come back to 16384 (it
                // could only wrap a C int after hundreds of KB of opcodes, which is CVE-2025-32023).
                if idx > HLL_REGISTERS {
                    return Err(HllError::Corrupted);
                }
            }
            Op::Val { val, len } => {
                if idx + len > HLL_REGISTERS {
                    return Err(HllError::Corrupted);
                }
                f(idx, len, val);
                idx += len;
                p += 1;
            }
        }
    }
    if idx == HLL_REGISTERS {
        Ok(())
    } else {
        Err(HllError::Corrupted)
    }
}

/// Converts a sparse value to dense in place (no-op when already dense). The header is kept (magic, unused
/// bytes, cached cardinality) apart from the encoding byte.
fn sparse_to_dense(v: &mut Vec<u8>) -> Result<(), HllError> {
    if v[4] == HLL_DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; HLL_DENSE_SIZE];
    dense[..HLL_HDR_SIZE].copy_from_slice(&v[..HLL_HDR_SIZE]);
    dense[4] = HLL_DENSE;
    {
        let regs = &mut dense[HLL_HDR_SIZE..];
        sparse_for_each_val(&v[HLL_HDR_SIZE..], |first, len, val| {
            for i in first..first + len {
                dense_put(regs, i, val);
            }
        })?;
    }
    *v = dense;
    Ok(())
}

/// Raises register `index` to `count` in a sparse value, as Redis's `hllSparseSet`, promoting to dense when
/// needed. Returns whether the register changed; `Err(Corrupted)` when the opcodes are unusable.
fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, HllError> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote_and_set(v, index, count);
    }

    // Step 1: find the opcode covering `index`.
    let end = v.len();
    let mut p = HLL_HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let (len, size) = match decode(v, p) {
            Op::Zero { len, size } => (len, size),
            Op::Val { len, .. } => (len, 1),
        };
        span = len;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += size;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(HllError::Corrupted);
    }

    let op = decode(v, p);
    let last = first + span - 1;

    // Step 2: the easy in-place cases, then build the replacement sequence.
    match op {
        Op::Val { val, len } => {
            if val >= count {
                return Ok(false);
            }
            if len == 1 {
                v[p] = val_byte(count, 1);
                merge_adjacent_vals(v, prev);
                return Ok(true);
            }
        }
        Op::Zero { len: 1, size: 1 } => {
            v[p] = val_byte(count, 1);
            merge_adjacent_vals(v, prev);
            return Ok(true);
        }
        Op::Zero { .. } => {}
    }

    let mut seq: Vec<u8> = Vec::with_capacity(5);
    let old_size;
    match op {
        Op::Zero { size, .. } => {
            old_size = size;
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Op::Val { val, .. } => {
            old_size = 1;
            if index != first {
                seq.push(val_byte(val, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(val, last - index));
            }
        }
    }

    // Step 3: splice the sequence in, unless that would grow the value past the limit.
    let new_len = (end + seq.len()).checked_sub(old_size).unwrap_or(0);
    if seq.len() > old_size && new_len > max_bytes {
        return promote_and_set(v, index, count);
    }
    let tail_start = (p + old_size).min(end);
    let tail: Vec<u8> = v[tail_start..].to_vec();
    v.truncate(p);
    v.extend_from_slice(&seq);
    v.extend_from_slice(&tail);
    // An XZERO whose second byte was missing (past the end) lost one byte that did not exist.
    v.truncate(new_len);

    merge_adjacent_vals(v, prev);
    Ok(true)
}

/// Step 4 of `hllSparseSet`: scan up to five opcodes from `prev` (or from the start) and merge neighbouring VAL
/// opcodes with the same value when the combined run fits in one opcode. Then invalidate the cache.
fn merge_adjacent_vals(v: &mut Vec<u8>, prev: Option<usize>) {
    let mut p = prev.unwrap_or(HLL_HDR_SIZE);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if !is_val(b) {
            p += 1;
            continue;
        }
        if p + 1 < v.len() && is_val(v[p + 1]) {
            let b2 = v[p + 1];
            let (v1, l1) = (((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1);
            let (v2, l2) = (((b2 >> 2) & 0x1f) + 1, usize::from(b2 & 3) + 1);
            if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                v[p + 1] = val_byte(v1, l1 + l2);
                v.remove(p);
                continue;
            }
        }
        p += 1;
    }
    invalidate_cache(v);
}

/// The `promote:` path of `hllSparseSet`: convert to dense, then set the register there.
fn promote_and_set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    sparse_to_dense(v)?;
    Ok(dense_set(&mut v[HLL_HDR_SIZE..], index, count))
}

/// Folds a validated HLL into `max` (one byte per register), like Redis's `hllMerge`.
fn merge_into(max: &mut [u8], v: &[u8]) -> Result<(), HllError> {
    if v[4] == HLL_DENSE {
        let regs = &v[HLL_HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let r = dense_get(regs, i);
            if r > *m {
                *m = r;
            }
        }
        Ok(())
    } else {
        sparse_for_each_val(&v[HLL_HDR_SIZE..], |first, len, val| {
            for m in &mut max[first..first + len] {
                if val > *m {
                    *m = val;
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cardinality estimation
// ---------------------------------------------------------------------------------------------------------------

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        let d = 1.0 - x;
        // C's pow(d, 2): compilers turn it into d * d, which is exact-rounded like pow.
        z -= d * d * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// Ertl's estimator over a register histogram (`histo[v]` = number of registers holding `v`).
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[HLL_Q + 1])) / m);
    for j in (1..=HLL_Q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    let e = (HLL_ALPHA_INF * m * m / z).round();
    // C does `(uint64_t)(double)llroundl(e)`. The estimate is finite and far below 2^63 for any HLL whose
    // registers stay under 52 (the real range). For corrupt dense values it can be +inf: then llroundl gives
    // LLONG_MIN on x86-64 and the cast gives 2^63.
    if e.is_finite() && e >= 0.0 && e < 9.223_372_036_854_775_807e18 {
        e as u64
    } else {
        1u64 << 63
    }
}

/// Register histogram of a validated value; `Err(Corrupted)` if sparse and not covering exactly 16384 registers.
fn histogram(v: &[u8]) -> Result<[u32; 64], HllError> {
    let mut histo = [0u32; 64];
    let body = &v[HLL_HDR_SIZE..];
    if v[4] == HLL_DENSE {
        for i in 0..HLL_REGISTERS {
            histo[usize::from(dense_get(body, i))] += 1;
        }
        return Ok(histo);
    }
    // Redis's hllSparseRegHisto: no overflow check on VAL, only the final total matters.
    let mut idx: u64 = 0;
    let mut p = 0usize;
    while p < body.len() {
        match decode(body, p) {
            Op::Zero { len, size } => {
                histo[0] = histo[0].wrapping_add(len as u32);
                idx += len as u64;
                p += size;
            }
            Op::Val { val, len } => {
                histo[usize::from(val)] = histo[usize::from(val)].wrapping_add(len as u32);
                idx += len as u64;
                p += 1;
            }
        }
    }
    if idx == HLL_REGISTERS as u64 {
        Ok(histo)
    } else {
        Err(HllError::Corrupted)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

/// An empty HLL as Redis's `createHLLObject` makes it: sparse, a single `XZERO:16384` opcode, cache valid and 0.
pub fn new_hll() -> Vec<u8> {
    let mut v = Vec::with_capacity(HLL_HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(HLL_SPARSE);
    v.extend_from_slice(&[0u8; 11]);
    let mut aux = HLL_REGISTERS;
    while aux > 0 {
        let n = aux.min(SPARSE_XZERO_MAX_LEN);
        let l = n - 1;
        v.push(0x40 | (l >> 8) as u8);
        v.push((l & 0xff) as u8);
        aux -= n;
    }
    v
}

/// Redis's `isHLLObjectOrReply` on a string value's bytes: checks the header only.
pub fn is_valid(v: &[u8]) -> Result<(), HllError> {
    if v.len() < HLL_HDR_SIZE || &v[..4] != b"HYLL" || v[4] > HLL_MAX_ENCODING {
        return Err(HllError::NotHll);
    }
    if v[4] == HLL_DENSE && v.len() != HLL_DENSE_SIZE {
        return Err(HllError::NotHll);
    }
    Ok(())
}

/// Adds one element, as one step of PFADD. Returns true if a register changed; the cache is then marked stale.
///
/// On error the value is unchanged. `sparse_max_bytes` is `hll-sparse-max-bytes`.
pub fn add(v: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, HllError> {
    is_valid(v)?;
    let (index, count) = pattern_len(element);
    let changed = if v[4] == HLL_DENSE {
        dense_set(&mut v[HLL_HDR_SIZE..], index, count)
    } else {
        sparse_set(v, index, count, sparse_max_bytes)?
    };
    if changed {
        invalidate_cache(v);
    }
    Ok(changed)
}

/// The whole of `PFADD key element...` on the key's value.
///
/// `v` is `None` for a missing key: a new HLL is created, which counts as an update. Returns the value to store
/// and the reply (true = 1). On `Err`, the value is still returned if it exists, because Redis keeps the updates
/// made by elements before the failing one. The caller stores it back without firing events, and replies with
/// the error.
pub fn pfadd(
    v: Option<Vec<u8>>,
    elements: &[&[u8]],
    sparse_max_bytes: usize,
) -> (Vec<u8>, Result<bool, HllError>) {
    let (mut value, mut updated) = match v {
        Some(existing) => {
            if let Err(e) = is_valid(&existing) {
                return (existing, Err(e));
            }
            (existing, false)
        }
        None => (new_hll(), true),
    };
    for e in elements {
        match add(&mut value, e, sparse_max_bytes) {
            Ok(changed) => updated |= changed,
            Err(err) => return (value, Err(err)),
        }
    }
    if updated {
        invalidate_cache(&mut value);
    }
    (value, Ok(updated))
}

/// PFCOUNT on a single key's value. Returns the cached cardinality if valid. Otherwise computes it and writes
/// it into the header (so the value changes and must be stored back).
///
/// Redis replies with this value cast to a signed 64-bit integer. Only corrupt dense values (registers of 52 or
/// more, which no PFADD can produce) can give a value of 2^63 or more.
pub fn count(v: &mut Vec<u8>) -> Result<u64, HllError> {
    is_valid(v)?;
    if cache_is_valid(v) {
        return Ok(read_cache(v));
    }
    let card = estimate(&histogram(v)?);
    write_cache(v, card);
    Ok(card)
}

/// PFCOUNT with several keys: the cardinality of the union of `vs` (missing keys already left out). No cache is
/// read or written.
pub fn count_union(vs: &[&[u8]]) -> Result<u64, HllError> {
    let mut max = vec![0u8; HLL_REGISTERS];
    for v in vs {
        is_valid(v)?;
        merge_into(&mut max, v)?;
    }
    let mut histo = [0u32; 64];
    for &r in &max {
        histo[usize::from(r)] += 1;
    }
    Ok(estimate(&histo))
}

/// PFMERGE with the default `hll-sparse-max-bytes` (3000). See [`merge_with_limit`].
pub fn merge(dest: Option<&[u8]>, srcs: &[&[u8]]) -> Result<Vec<u8>, HllError> {
    merge_with_limit(dest, srcs, DEFAULT_SPARSE_MAX_BYTES)
}

/// PFMERGE: `dest` is the destination key's current value (`None` if missing), `srcs` the existing source values
/// in argument order. Returns the new value of `dest`.
///
/// As in Redis 7.0, the result is dense if `dest` or any source is dense. Otherwise it stays sparse unless it
/// grows past `sparse_max_bytes` or needs a register over 32. The result keeps the destination's header bytes
/// (including the old cached cardinality, now marked stale).
pub fn merge_with_limit(
    dest: Option<&[u8]>,
    srcs: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<Vec<u8>, HllError> {
    let mut max = vec![0u8; HLL_REGISTERS];
    let mut use_dense = false;
    for v in dest.iter().chain(srcs.iter()) {
        is_valid(v)?;
        if v[4] == HLL_DENSE {
            use_dense = true;
        }
        merge_into(&mut max, v)?;
    }
    let mut out = match dest {
        Some(d) => d.to_vec(),
        None => new_hll(),
    };
    if use_dense {
        sparse_to_dense(&mut out)?;
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if out[4] == HLL_DENSE {
            dense_set(&mut out[HLL_HDR_SIZE..], j, m);
        } else {
            // Redis ignores the result here. `out` was validated by merge_into, so this cannot fail.
            let _ = sparse_set(&mut out, j, m, sparse_max_bytes);
        }
    }
    invalidate_cache(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
}
