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
//!   back, reply `INVALIDOBJ`, and fire no event. Writing back keeps the key's TTL, since Redis changes the value
//!   in place.
//! * **PFCOUNT key** on a missing key replies 0 and creates nothing. For an existing key, call [`count`], which
//!   may write the recomputed cardinality into the header. If the value's bytes changed, store it back: Redis
//!   counts this as a write (`signalModifiedKey`, dirty++, propagated) even though PFCOUNT is a read-only
//!   command. The TTL is kept. On `INVALIDOBJ` nothing is written. Reply with the count as a signed 64-bit
//!   integer (`count as i64`; see [`count`]).
//! * **PFCOUNT k1 k2 ...** (more than one key): skip missing keys and pass the values, in argument order, to
//!   [`count_union`]. Nothing is written back.
//! * **PFMERGE dest [src ...]**: pass the current value of `dest` (or `None`) and the values of the existing
//!   sources, in argument order, to [`merge`] (or [`merge_with_limit`] with the configured
//!   `hll-sparse-max-bytes`). Missing sources are skipped. `dest` is itself merged in, as in Redis. Store the
//!   result under `dest` (this keeps its TTL, since Redis rewrites the value in place), reply `+OK`, signal the
//!   key, fire the keyspace event `pfadd` and propagate. PFMERGE with only `dest` creates an empty HLL. The result
//!   is dense if `dest` or any source is dense; otherwise it stays sparse until a register needs a value over 32
//!   or the value grows past the limit. PFMERGE does not always give a dense result.
//! * Keys are checked in argument order (PFCOUNT with several keys, and PFMERGE with `dest` first). The first
//!   non-string key, non-HLL string or corrupt HLL decides the error, so pass values in that order.
//! * Arity: PFADD, PFCOUNT and PFMERGE all take at least one key (Redis arity -2).
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

    // At most 5 bytes: XZERO-VAL-XZERO.
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    let old_size = match op {
        Op::Zero { size, .. } => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
            size
        }
        Op::Val { val, .. } => {
            if index != first {
                seq.push(val_byte(val, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(val, last - index));
            }
            1
        }
    };

    // Step 3: splice the sequence in, unless that would grow the value past the limit.
    let new_len = (end + seq.len()).saturating_sub(old_size);
    if seq.len() > old_size && new_len > max_bytes {
        return promote_and_set(v, index, count);
    }
    v.splice(p..(p + old_size).min(end), seq);
    // An XZERO whose second byte was missing (read past the end) replaced one byte more than there was: Redis's
    // length bookkeeping then drops the last byte of the new sequence.
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

/// 2^63 as a float (exact).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

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
    if (0.0..TWO_POW_63).contains(&e) {
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
pub fn pfadd(v: Option<Vec<u8>>, elements: &[&[u8]], sparse_max_bytes: usize) -> (Vec<u8>, Result<bool, HllError>) {
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
pub fn count(v: &mut [u8]) -> Result<u64, HllError> {
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
pub fn merge_with_limit(dest: Option<&[u8]>, srcs: &[&[u8]], sparse_max_bytes: usize) -> Result<Vec<u8>, HllError> {
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
    //! Expected values below were produced by redis-server 7.0.15 (PFADD/PFCOUNT/PFMERGE, then GET).
    use super::*;

    const DEF: usize = DEFAULT_SPARSE_MAX_BYTES;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn fnv(b: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// Runs PFADD against an optional value and returns (new value, reply text).
    fn pfadd_s(v: Option<Vec<u8>>, els: &[&[u8]], max: usize) -> (Vec<u8>, String) {
        let (nv, r) = pfadd(v, els, max);
        (nv, reply(r.map(u64::from)))
    }

    fn reply(r: Result<u64, HllError>) -> String {
        match r {
            Ok(n) => (n as i64).to_string(),
            Err(e) => e.message().split(' ').next().unwrap().to_string(),
        }
    }

    fn pfcount_s(v: &mut [u8]) -> String {
        reply(count(v))
    }

    fn hdr(enc: u8) -> Vec<u8> {
        let mut v = b"HYLL".to_vec();
        v.extend_from_slice(&[enc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
        v
    }

    fn xz(n: usize) -> [u8; 2] {
        let l = n - 1;
        [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// A dense value with register i set to f(i).
    fn dense_with(f: impl Fn(usize) -> u8) -> Vec<u8> {
        let mut v = hdr(HLL_DENSE);
        v.resize(HLL_DENSE_SIZE, 0);
        for i in 0..HLL_REGISTERS {
            dense_put(&mut v[HLL_HDR_SIZE..], i, f(i));
        }
        v
    }

    /// Builds a key the way the Redis session did: one PFADD with all elements.
    fn key_with(els: &[&[u8]]) -> Vec<u8> {
        pfadd(None, els, DEF).0
    }

    fn strs(prefix: &str, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{prefix}{i}").into_bytes()).collect()
    }

    fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
        v.iter().map(|x| x.as_slice()).collect()
    }

    // Elements whose registers were found by brute force, and 8-byte elements built by inverting MurmurHash64A
    // (register index, run length).
    const E100: &[u8] = b"k2978";
    const E16383: &[u8] = b"k6674";
    const E5: &[u8] = b"k51403";
    const E16000: &[u8] = b"k60749";
    const E50: &[u8] = b"k17682";
    const E5_33: &str = "499bde5f61a09c55";
    const E5_40: &str = "61eba9e22cb27122";
    const E7_51: &str = "3ccd32ac70a8d612";
    const E100_32: &str = "38326262e7e1f931";
    const E16383_45: &str = "fdf77d9e08186c4a";

    #[test]
    fn constants() {
        assert_eq!(HLL_DENSE_SIZE, 12304);
        assert_eq!("0.721347520444481703680".parse::<f64>().unwrap(), HLL_ALPHA_INF);
        assert_eq!(hex(&new_hll()), "48594c4c0100000000000000000000007fff");
        assert_eq!(is_valid(&new_hll()), Ok(()));
        assert_eq!(HllError::NotHll.message(), "WRONGTYPE Key is not a valid HyperLogLog string value.");
        assert_eq!(HllError::Corrupted.message(), "INVALIDOBJ Corrupted HLL object detected");
    }

    #[test]
    fn pattern_lengths() {
        assert_eq!(pattern_len(E100).0, 100);
        assert_eq!(pattern_len(E16383).0, 16383);
        assert_eq!(pattern_len(&unhex(E5_33)), (5, 33));
        assert_eq!(pattern_len(&unhex(E5_40)), (5, 40));
        assert_eq!(pattern_len(&unhex(E7_51)), (7, 51));
        assert_eq!(pattern_len(&unhex(E100_32)), (100, 32));
        assert_eq!(pattern_len(&unhex(E16383_45)), (16383, 45));
    }

    /// (PFADD argument lists, their replies, value after the PFADDs, PFCOUNT reply, value after PFCOUNT).
    type SmallCase =
        (&'static [&'static [&'static str]], &'static [&'static str], &'static str, &'static str, &'static str);

    /// (elements added, value length, value FNV, PFCOUNT, value FNV after PFCOUNT).
    type Milestone = (usize, usize, u64, u64, u64);

    #[test]
    fn small_vectors() {
        let cases: [SmallCase; 4] = [
            (
                &[&["a", "b", "c"]],
                &["1"],
                "48594c4c01000000000000000000008060f38050b1844bfb80425a",
                "3",
                "48594c4c01000000030000000000000060f38050b1844bfb80425a",
            ),
            (&[&[]], &["1"], "48594c4c0100000000000000000000807fff", "0", "48594c4c0100000000000000000000007fff"),
            (
                &[&["hello"]],
                &["1"],
                "48594c4c01000000000000000000008063ff805bfe",
                "1",
                "48594c4c01000000010000000000000063ff805bfe",
            ),
            (
                &[&["a", "b", "c"], &["a", "b", "c"], &["d"]],
                &["1", "0", "1"],
                "48594c4c0100000000000000000000805c7b8044768050b1844bfb80425a",
                "4",
                "48594c4c0100000004000000000000005c7b8044768050b1844bfb80425a",
            ),
        ];
        for (cmds, reps, before, cnt, after) in cases {
            let mut v: Option<Vec<u8>> = None;
            for (c, rep) in cmds.iter().zip(reps) {
                let els: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
                let (nv, r) = pfadd_s(v.take(), &els, DEF);
                assert_eq!(&r, rep);
                v = Some(nv);
            }
            let mut v = v.unwrap();
            assert_eq!(hex(&v), before);
            assert_eq!(pfcount_s(&mut v), cnt);
            assert_eq!(hex(&v), after);
            // Cached now: a second PFCOUNT leaves the bytes alone.
            assert_eq!(pfcount_s(&mut v), cnt);
            assert_eq!(hex(&v), after);
        }
    }

    #[test]
    fn binary_elements_and_murmur_tails() {
        let bins: Vec<Vec<u8>> = (0..25usize).map(|i| (0..i).map(|j| ((i * 7 + j) & 255) as u8).collect()).collect();
        let hashes = [
            0xd8dfea6585bc9732u64,
            0xb1eaf2edb865826f,
            0x878915aa49c1fac9,
            0xedbbf683f1a01208,
            0x6eb26499920f507f,
            0xca96683948845d38,
            0x95f5196f09b4da47,
            0x85563db163632857,
            0x8143e68218f81307,
            0x290b7af2592ef25d,
            0x313f91e0fccaecf5,
            0xbf1176a1bea56e15,
            0x4f03840bd3d354c2,
            0x34f58fff840831ec,
            0x9d1b68ef875ffff2,
            0x6981e963dcb5a070,
            0xf582323de19d2979,
            0x6265bcb2f28ad1ae,
            0xe0d8e3fde65a8edc,
            0xdadad2c8640ddd45,
            0x3067489265ab5f7f,
            0x83984ce3505c9f80,
            0xb92831e114e3a92a,
            0x3c5711abc173b32d,
            0xa0d41d509dc769f7,
        ];
        for (b, h) in bins.iter().zip(hashes) {
            assert_eq!(murmur_hash64a(b, HASH_SEED), h, "len {}", b.len());
        }
        let (mut v, r) = pfadd_s(None, &refs(&bins), DEF);
        assert_eq!(r, "1");
        assert_eq!(
            hex(&v),
            "48594c4c010000000000000000000080426e844c6b8441a180412d8040589c40fd9441b980426e8443138042ef800b\
             804238808440ee8447e58840d184404d88407c8042fc80411e8043d594406f8040ce84479a804527800c"
        );
        assert_eq!(pfcount_s(&mut v), "25");
    }

    /// One element per PFADD, a PFCOUNT every `every` steps, and a digest over every reply and value.
    fn progressive(n: usize, prefix: &str, every: usize, max: usize) -> (u64, Vec<Milestone>) {
        let mut d: u64 = 0xcbf2_9ce4_8422_2325;
        let mut v: Option<Vec<u8>> = None;
        let mut miles = Vec::new();
        for i in 0..n {
            let e = format!("{prefix}{i}");
            let (mut nv, rep) = pfadd_s(v.take(), &[e.as_bytes()], max);
            let mut line = rep;
            if i.is_multiple_of(every) {
                line.push('/');
                line.push_str(&pfcount_s(&mut nv));
            }
            line.push_str(&format!("/{:#x}", fnv(&nv)));
            let mut buf = d.to_le_bytes().to_vec();
            buf.extend_from_slice(line.as_bytes());
            d = fnv(&buf);
            if [1, 10, 100, 500, 1000, 2000, 5000, 10000, n].contains(&(i + 1)) {
                let (len, f) = (nv.len(), fnv(&nv));
                let c = count(&mut nv).unwrap();
                miles.push((i + 1, len, f, c, fnv(&nv)));
            }
            v = Some(nv);
        }
        (d, miles)
    }

    #[test]
    fn progressive_default_limit() {
        let (d, miles) = progressive(4000, "elem:", 7, DEF);
        let want = [
            (1, 21, 0xfda83dcba4984c14u64, 1, 0xfda83dcba4984c14u64),
            (10, 47, 0x36ecdba0481f620, 10, 0x88a9d9952451be2a),
            (100, 277, 0xb7d98165bf3a0a42, 100, 0xd144edccca50447f),
            (500, 1047, 0x8969ea5745eb525b, 505, 0x229172e6bd9ed6d9),
            (1000, 1913, 0x2a47f9505fa792b4, 1005, 0x9424dc8a6d57e9cf),
            (2000, 12304, 0x438eabdabdcf5737, 1994, 0xd819f1b9ba5aa2db),
            (4000, 12304, 0x2fbd91a85e2a7c53, 3964, 0x5cb173f20d62b925),
        ];
        assert_eq!(miles, want);
        assert_eq!(d, 0xee903a3ded1ed22b);
    }

    #[test]
    fn progressive_small_limit() {
        let (d, miles) = progressive(600, "x", 3, 200);
        let want = [
            (1, 21, 0x5bbb8744b717a038u64, 1, 0x5bbb8744b717a038u64),
            (10, 47, 0x9f1da9c9e9fed0c7, 10, 0x9f1da9c9e9fed0c7),
            (100, 12304, 0x3a193a2526d2195, 99, 0x3a193a2526d2195),
            (500, 12304, 0xe8cd2a7b2815a746, 499, 0xd71114d3352698c8),
            (600, 12304, 0x14298c72fdbb5438, 598, 0xe1dbac192fead57a),
        ];
        assert_eq!(miles, want);
        assert_eq!(d, 0x756b443f5fcf3bf8);
    }

    /// PFADD in batches of 1000 `item-N` elements.
    fn bulk(n: usize) -> Vec<u8> {
        let mut v = None;
        for s in (0..n).step_by(1000) {
            let els = strs("item-", s + 1000).split_off(s);
            let (nv, r) = pfadd_s(v.take(), &refs(&els), DEF);
            assert_eq!(r, "1");
            v = Some(nv);
        }
        v.unwrap()
    }

    #[test]
    fn bulk_10k_and_100k() {
        for (n, f, c, f2) in [
            (10_000, 0x9489fc0fca089aabu64, 9991u64, 0x710503b72bd928bdu64),
            (100_000, 0x591418fcd74d0170, 100_648, 0xbece757c3fdc2352),
        ] {
            let mut v = bulk(n);
            assert_eq!(v.len(), HLL_DENSE_SIZE);
            assert_eq!(fnv(&v), f);
            assert_eq!(count(&mut v), Ok(c));
            assert_eq!(fnv(&v), f2);
        }
    }

    fn counted(mut v: Vec<u8>) -> Vec<u8> {
        count(&mut v).unwrap();
        v
    }

    #[test]
    fn merges_and_union_counts() {
        // The keys as they were when PFMERGE ran in the Redis session (PFCOUNT had cached their cardinality).
        let abc = counted(key_with(&[b"a", b"b", b"c"]));
        let one = counted(key_with(&[b"hello"]));
        let mut dup = key_with(&[b"a", b"b", b"c"]);
        dup = pfadd(Some(dup), &[b"a", b"b", b"c"], DEF).0;
        dup = counted(pfadd(Some(dup), &[b"d"], DEF).0);
        let s300 = key_with(&refs(&strs("s-", 300)));
        let s40 = key_with(&refs(&strs("t-", 40)));
        let b10k = counted(bulk(10_000));
        let b100k = counted(bulk(100_000));

        let m1 = merge(None, &[&abc, &one]).unwrap();
        assert_eq!(hex(&m1), "48594c4c01000000000000000000008060f380430a804da5844bfb80425a");
        let mut m1b = merge(Some(&m1), &[&s40]).unwrap();
        assert_eq!(
            hex(&m1b),
            "48594c4c01000000000000000000008042468444a984412b80412b94405980406f8441278041a980411d803080408a\
             8840498041a6883184414d84413a803f803a8440538040f4804326843380468f90411c8440a48040d38041648440cf\
             8042b88843158041b780421684179440ad8040ad80428c84410284468f8440428042ee800380412d8041078041238c2c"
        );
        assert_eq!(count(&mut m1b), Ok(44));

        // An existing destination keeps its header; only the cache is marked stale.
        let dupm = merge(Some(&dup), &[&abc, &one]).unwrap();
        assert_eq!(hex(&dupm), "48594c4c0100000004000000000000805c7b80447680430a804da5844bfb80425a");

        let mut m2 = merge(None, &[&abc, &b10k]).unwrap();
        assert_eq!((m2.len(), fnv(&m2)), (12304, 0xaebb003ecf2bbfe3));
        assert_eq!(count(&mut m2), Ok(9993));

        assert_eq!(hex(&merge(None, &[]).unwrap()), "48594c4c0100000000000000000000807fff");

        let mut ma = merge(None, &[&s300, &s40]).unwrap();
        assert_eq!((ma.len(), fnv(&ma)), (773, 0xf467fb03f5dd36cf));
        assert_eq!(count(&mut ma), Ok(338));

        let mut m5 = merge_with_limit(None, &[&s300, &s40], 200).unwrap();
        assert_eq!((m5.len(), fnv(&m5)), (12304, 0xf97ff4582154f748));
        assert_eq!(count(&mut m5), Ok(338));

        let mut mb = merge(None, &[&s40, &b100k, &s300]).unwrap();
        assert_eq!(fnv(&mb), 0x386d1453032bf4e);
        assert_eq!(count(&mut mb), Ok(100_968));

        assert_eq!(count_union(&[&abc, &one, &dupm]), Ok(5));
        assert_eq!(count_union(&[&abc]), Ok(3));
        assert_eq!(count_union(&[&s300, &s40, &b10k]), Ok(10_336));
        assert_eq!(count_union(&[&b10k, &b100k]), Ok(100_648));
        assert_eq!(count_union(&[]), Ok(0));
    }

    #[test]
    fn registers_above_sparse_range() {
        let abc = counted(key_with(&[b"a", b"b", b"c"]));
        let e = |s: &str| unhex(s);

        let (mut bg1, r) = pfadd_s(None, &[b"a", b"b", b"c", &e(E5_33)], DEF);
        assert_eq!(r, "1");
        assert_eq!((bg1.len(), fnv(&bg1)), (12304, 0x8bc7fe07d19c202a));
        assert_eq!(pfcount_s(&mut bg1), "4");
        assert_eq!(fnv(&bg1), 0x36279c5990c323ae);

        let (mut bg2, r) = pfadd_s(None, &[&e(E7_51)], DEF);
        assert_eq!(r, "1");
        assert_eq!(fnv(&bg2), 0x108d238354a64d6);
        assert_eq!(pfcount_s(&mut bg2), "1");
        assert_eq!(fnv(&bg2), 0x90bfdfa85f0f51ff);

        let (bg3, r) = pfadd_s(None, &[&e(E100_32)], DEF);
        assert_eq!(r, "1");
        assert_eq!(hex(&bg3), "48594c4c0100000000000000000000804063fc7f9a");
        let (mut bg3, r) = pfadd_s(Some(bg3), &[&e(E5_40)], DEF);
        assert_eq!(r, "1");
        assert_eq!(fnv(&bg3), 0xee720db281d8ec10);
        assert_eq!(pfcount_s(&mut bg3), "2");

        let (mut bg4, r) = pfadd_s(None, &[&e(E16383_45), b"x"], DEF);
        assert_eq!(r, "1");
        assert_eq!(fnv(&bg4), 0xcc83fc88c055431e);
        assert_eq!(pfcount_s(&mut bg4), "2");

        let bgm = pfadd(None, &[b"q"], DEF).0;
        let mut bgm = merge(Some(&bgm), &[&abc, &bg2]).unwrap();
        assert_eq!(fnv(&bgm), 0xadfec5939593f088);
        assert_eq!(count(&mut bgm), Ok(5));
        assert_eq!(count_union(&[&bg2, &abc, &bg4]), Ok(6));
    }

    #[test]
    fn not_hll_values() {
        let abc = counted(key_with(&[b"a", b"b", b"c"]));
        let mut denselen = hdr(HLL_DENSE);
        denselen.resize(116, 0);
        let cases: Vec<Vec<u8>> = vec![
            unhex("48594c4c0100000000000000000000"),
            unhex("48594c580100000000000000000000007fff"),
            unhex("48594c4c0200000000000000000000807fff"),
            denselen,
            b"foo".to_vec(),
            b"12345".to_vec(),
            Vec::new(),
        ];
        for c in cases {
            assert_eq!(is_valid(&c), Err(HllError::NotHll));
            let (v, r) = pfadd_s(Some(c.clone()), &[], DEF);
            assert_eq!((v.as_slice(), r.as_str()), (c.as_slice(), "WRONGTYPE"));
            let (v, r) = pfadd_s(Some(c.clone()), &[b"a"], DEF);
            assert_eq!((v.as_slice(), r.as_str()), (c.as_slice(), "WRONGTYPE"));
            let mut v = c.clone();
            assert_eq!(pfcount_s(&mut v), "WRONGTYPE");
            assert_eq!(v, c);
            assert_eq!(reply(count_union(&[&c, &abc])), "WRONGTYPE");
            assert_eq!(merge(Some(&c), &[&abc]), Err(HllError::NotHll));
            assert_eq!(merge(Some(&abc), &[&c]), Err(HllError::NotHll));
            let mut v = c.clone();
            assert_eq!(add(&mut v, b"a", DEF), Err(HllError::NotHll));
        }
    }

    /// Script run by Redis on each corrupt sparse value: PFCOUNT, PFADD e16000, PFADD e5, PFCOUNT,
    /// PFADD a b e16000 — each followed by GET.
    fn sparse_script(data: Vec<u8>, want: [(&str, &str); 5]) {
        let mut v = data;
        let mut got = Vec::new();
        let r = pfcount_s(&mut v);
        got.push((r, hex(&v)));
        for els in [&[E16000][..], &[E5][..]] {
            let (nv, r) = pfadd_s(Some(v), els, DEF);
            v = nv;
            got.push((r, hex(&v)));
        }
        let r = pfcount_s(&mut v);
        got.push((r, hex(&v)));
        let (nv, r) = pfadd_s(Some(v), &[b"a", b"b", E16000], DEF);
        got.push((r, hex(&nv)));
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn corrupt_sparse_values() {
        const H: &str = "48594c4c010000000000000000000080";
        let inv = "INVALIDOBJ";
        let h = |s: &str| format!("{H}{s}");
        let noops = |_: ()| [(inv, H), (inv, H), (inv, H), (inv, H), (inv, H)];
        sparse_script(hdr(1), noops(()));

        let a = h("7e7f");
        let b = h("048c7e79");
        let c = h("048c71a0844bfb8040da");
        sparse_script(cat(&[&hdr(1), &xz(16000)]), [(inv, &a), (inv, &a), ("1", &b), (inv, &b), (inv, &c)]);

        let a = h("7fff00");
        let b = h("7e7f88417e00");
        let c = h("048c7e7988417e00");
        let d = h("048c71a0844bfb8040da88417e00");
        sparse_script(cat(&[&hdr(1), &xz(16384), &[0]]), [(inv, &a), ("1", &b), ("1", &c), (inv, &c), ("1", &d)]);

        // Valid cache on a corrupt value: PFCOUNT trusts the cache.
        let mut vc = b"HYLL\x01\0\0\0".to_vec();
        vc.extend_from_slice(&42u64.to_le_bytes());
        vc.extend_from_slice(&xz(16000));
        let a = "48594c4c010000002a000000000000007e7f";
        let b = "48594c4c010000002a00000000000080048c7e79";
        let c = "48594c4c010000002a00000000000080048c71a0844bfb8040da";
        sparse_script(vc, [("42", a), (inv, a), ("1", b), (inv, b), (inv, c)]);

        // VAL run past the last register.
        let a = h("7ffe83");
        let b = h("7e7f88417d83");
        let c = h("048c7e7988417d83");
        let d = h("048c71a0844bfb8040da88417d83");
        sparse_script(cat(&[&hdr(1), &xz(16383), &[0x83]]), [(inv, &a), ("1", &b), ("1", &c), (inv, &c), ("1", &d)]);

        // Unused header bytes are kept.
        let mut nu = b"HYLL\x01\x07\x08\x09".to_vec();
        nu.extend_from_slice(&77u64.to_le_bytes());
        nu.extend_from_slice(&xz(16384));
        sparse_script(
            nu,
            [
                ("77", "48594c4c010708094d000000000000007fff"),
                ("1", "48594c4c010708094d000000000000807e7f88417e"),
                ("1", "48594c4c010708094d00000000000080048c7e7988417e"),
                ("2", "48594c4c010708090200000000000000048c7e7988417e"),
                ("1", "48594c4c010708090200000000000080048c71a0844bfb8040da88417e"),
            ],
        );
    }

    #[test]
    fn truncated_xzero() {
        // An XZERO whose second byte is missing: Redis reads the NUL after the string, so it covers 1 register.
        let data = cat(&[&hdr(1), &xz(16383), &[0x40]]);
        let steps: [(&[u8], &str); 2] = [(E16383, "7ffe"), (E100, "4063887f99")];
        let mut v = data.clone();
        for (e, want) in steps {
            let (nv, r) = pfadd_s(Some(v), &[e], DEF);
            assert_eq!((r.as_str(), hex(&nv)), ("1", format!("48594c4c010000000000000000000080{want}")));
            v = nv;
        }
        assert_eq!(pfcount_s(&mut v), "INVALIDOBJ");

        let steps: [(&[u8], &str); 2] = [(E100, "4063887f9940"), (E16383, "4063887f99")];
        let mut v = data;
        for (e, want) in steps {
            let (nv, r) = pfadd_s(Some(v), &[e], DEF);
            assert_eq!((r.as_str(), hex(&nv)), ("1", format!("48594c4c010000000000000000000080{want}")));
            v = nv;
        }
        assert_eq!(pfcount_s(&mut v), "INVALIDOBJ");
    }

    #[test]
    fn non_canonical_sparse() {
        let zero1 = cat(&[&hdr(1), &xz(100), &[0], &xz(16283)]);
        let xzero1 = cat(&[&hdr(1), &xz(100), &xz(1), &xz(16283)]);
        for data in [zero1, xzero1] {
            let (v, r) = pfadd_s(Some(data), &[E100], DEF);
            assert_eq!((r.as_str(), hex(&v)), ("1", "48594c4c0100000000000000000000804063887f9a".to_string()));
            let (mut v, r) = pfadd_s(Some(v), &[E50, E5], DEF);
            assert_eq!((r.as_str(), hex(&v)), ("1", "48594c4c010000000000000000000080048c2b8c30887f9a".to_string()));
            assert_eq!(pfcount_s(&mut v), "3");
            assert_eq!(hex(&v), "48594c4c010000000300000000000000048c2b8c30887f9a");
        }
        let valsplit = cat(&[&hdr(1), &xz(98), &[0x87], &xz(16282)]);
        let (v, r) = pfadd_s(Some(valsplit), &[E100], DEF);
        assert_eq!((r.as_str(), hex(&v)), ("1", "48594c4c01000000000000000000008040618588847f99".to_string()));
        let (mut v, r) = pfadd_s(Some(v), &[E50, E5], DEF);
        assert_eq!((r.as_str(), hex(&v)), ("1", "48594c4c010000000000000000000080048c2b8c2e8588847f99".to_string()));
        assert_eq!(pfcount_s(&mut v), "6");
        assert_eq!(hex(&v), "48594c4c010000000600000000000000048c2b8c2e8588847f99");
    }

    #[test]
    fn corrupt_dense_values() {
        let abc = counted(key_with(&[b"a", b"b", b"c"]));
        let mut ff = hdr(HLL_DENSE);
        ff.resize(HLL_DENSE_SIZE, 0xff);
        let cases = [
            (
                ff,
                "-9223372036854775808",
                0x8d95a60fca2b941au64,
                "-9223372036854775808",
                "0",
                0x8d95a60fca2b941au64,
                "-9223372036854775808",
                0x8d95a60fca2b941au64,
                "-9223372036854775808",
            ),
            (
                dense_with(|_| 51),
                "-9223372036854775808",
                0x86202a256dd5c41a,
                "-9223372036854775808",
                "0",
                0x86202a256dd5c41a,
                "-9223372036854775808",
                0x86202a256dd5c41a,
                "-9223372036854775808",
            ),
            (
                dense_with(|i| {
                    if i == 5 {
                        40
                    } else if i % 7 == 0 {
                        3
                    } else {
                        0
                    }
                }),
                "2543",
                0xa5f46f23ee7ea1a2,
                "2546",
                "1",
                0xcd3c105d3bfcc672,
                "2544",
                0x364e40c3319f4dda,
                "2548",
            ),
        ];
        for (data, c1, f1, union, addrep, f2, c2, fm, cm) in cases {
            let mut v = data;
            assert_eq!(pfcount_s(&mut v), c1);
            assert_eq!(fnv(&v), f1);
            assert_eq!(pfcount_s(&mut v), c1);
            assert_eq!(reply(count_union(&[&v, &abc])), union);
            let (mut v, r) = pfadd_s(Some(v), &[b"zz"], DEF);
            assert_eq!(r, addrep);
            assert_eq!(fnv(&v), f2);
            assert_eq!(pfcount_s(&mut v), c2);
            let mut md = merge(None, &[&abc, &v]).unwrap();
            assert_eq!(fnv(&md), fm);
            assert_eq!(pfcount_s(&mut md), cm);
        }
    }

    #[test]
    fn corrupt_in_merge_and_union() {
        let abc = counted(key_with(&[b"a", b"b", b"c"]));
        let bad = hdr(1);
        assert_eq!(merge(None, &[&abc, &bad]), Err(HllError::Corrupted));
        assert_eq!(merge(Some(&bad), &[&abc]), Err(HllError::Corrupted));
        assert_eq!(count_union(&[&abc, &bad]), Err(HllError::Corrupted));
    }

    /// Deterministic xorshift for fuzzing.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let abc = key_with(&[b"a", b"b", b"c"]);
        for round in 0..20_000u32 {
            let len = (rng(&mut s) % 64) as usize;
            let mut v = if round.is_multiple_of(2) { hdr(1) } else { b"HYLL\x01".to_vec() };
            for _ in 0..len {
                let b = rng(&mut s) as u8;
                // Bias towards large XZERO runs so some values decode to about 16384 registers.
                v.push(if rng(&mut s).is_multiple_of(4) { 0x7f } else { b });
            }
            if round.is_multiple_of(500) {
                // A dense value with random registers and header cache.
                v = hdr(HLL_DENSE);
                while v.len() < HLL_DENSE_SIZE {
                    v.push(rng(&mut s) as u8);
                }
                v[8..16].copy_from_slice(&rng(&mut s).to_le_bytes());
            }
            let _ = is_valid(&v);
            let mut c = v.clone();
            let _ = count(&mut c);
            let _ = count_union(&[&v, &abc]);
            let _ = merge(Some(&v), &[&abc]);
            let _ = merge_with_limit(None, &[&v], 20);
            let mut w = v.clone();
            for k in 0..4u8 {
                let _ = add(&mut w, &[k, round as u8], 40);
            }
            let _ = add(&mut w, &unhex(E5_40), 40);
        }
    }

    #[test]
    fn sparse_round_trip_matches_dense() {
        // Every sparse state must decode to the same registers as a dense HLL fed the same elements.
        let mut sparse = new_hll();
        let mut dense = new_hll();
        sparse_to_dense(&mut dense).unwrap();
        for i in 0..2500 {
            let e = format!("rt{i}");
            let a = add(&mut sparse, e.as_bytes(), usize::MAX).unwrap();
            let b = add(&mut dense, e.as_bytes(), usize::MAX).unwrap();
            assert_eq!(a, b);
        }
        assert_eq!(sparse[4], HLL_SPARSE);
        let mut conv = sparse.clone();
        sparse_to_dense(&mut conv).unwrap();
        assert_eq!(conv[HLL_HDR_SIZE..], dense[HLL_HDR_SIZE..]);
        assert_eq!(count(&mut sparse), count(&mut dense));
    }

    #[test]
    fn million_elements_error_within_one_percent() {
        let n = 1_000_000u64;
        // (prefix, Redis 7.0.15's PFCOUNT after PFADD of prefix0..prefix999999)
        for (prefix, redis_count) in [("user-", 1_003_993u64), ("acc:", 986_732)] {
            let mut v = new_hll();
            for i in 0..n {
                add(&mut v, format!("{prefix}{i}").as_bytes(), DEF).unwrap();
            }
            assert_eq!(v.len(), 12304);
            assert_eq!(v.len(), HLL_HDR_SIZE + 12288);
            assert_eq!(v[4], HLL_DENSE);
            let c = count(&mut v).unwrap();
            let err = (c as f64 - n as f64).abs() / n as f64;
            println!("1M distinct '{prefix}N' elements: estimate {c}, relative error {:.4}%", err * 100.0);
            assert_eq!(c, redis_count);
            assert_eq!(count_union(&[&v]), Ok(c));
            if prefix == "user-" {
                assert!(err < 0.01, "error {err}");
            }
        }
    }
}
