//! Bitmap and LCS algorithms on byte strings: the data side of Redis 7.0's `GETBIT`, `SETBIT`,
//! `BITCOUNT`, `BITPOS`, `BITOP`, `BITFIELD` / `BITFIELD_RO` and `LCS`.
//!
//! What belongs here: pure functions over `&[u8]` / `&mut Vec<u8>` plus the small argument
//! parsers whose rules are specific to these commands (bitfield types, bit offsets with the
//! `#N` form, `BIT|BYTE`, `OVERFLOW` and `BITOP` operation names). What does not: key lookup,
//! type checks, keyspace notifications, replies and error texts other than the LCS error
//! messages, all of which belong to the command handlers.
//!
//! Conventions (identical to Redis): bit 0 is the most significant bit of the first byte; a
//! string reads as if padded with infinitely many zero bytes on the right; writes grow the
//! string with zero bytes as needed. Offsets are `u64` bit offsets; the caller enforces the
//! `proto-max-bulk-len` limit (see [`MAX_BIT_OFFSET`] and [`parse_bit_offset`]).
//!
//! Nothing here panics on any input: data-derived indices are always bounds-checked, and
//! growth that cannot be satisfied (only possible when a caller skipped the offset limit) is
//! reported instead of aborting.

/// Redis's default `proto-max-bulk-len` (512 MB): the bound on bit offsets and on the LCS table.
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// The largest bit offset GETBIT / SETBIT / BITFIELD accept with the default
/// `proto-max-bulk-len`: `2^32 - 1` (Redis rejects an offset when `offset >> 3 >= 512 MB`).
pub const MAX_BIT_OFFSET: u64 = 4 * 1024 * 1024 * 1024 - 1;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Strict integer parsing with Redis's `string2ll` rules: optional `-`, no `+`, no spaces, no
/// leading zeros (except `"0"` itself), no `"-0"`, and the value must fit an `i64`.
fn parse_ll(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some(_) => (false, s),
        None => return None,
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if v > 1u64 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}

/// The byte at `idx`, or 0 past the end (the implicit zero padding).
#[inline]
fn byte_at(s: &[u8], idx: u64) -> u8 {
    usize::try_from(idx).ok().and_then(|i| s.get(i)).copied().unwrap_or(0)
}

/// Grows `s` with zero bytes to at least `len` bytes. Returns false (leaving `s` untouched) if
/// the length does not fit in memory.
fn grow_to(s: &mut Vec<u8>, len: u64) -> bool {
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    if len > s.len() {
        if len > isize::MAX as usize || s.try_reserve_exact(len - s.len()).is_err() {
            return false;
        }
        s.resize(len, 0);
    }
    true
}

/// Loads 8 bytes as a native-endian word (only used where byte order does not matter).
#[inline(always)]
fn load_u64(c: &[u8]) -> u64 {
    <[u8; 8]>::try_from(c).map_or(0, u64::from_ne_bytes)
}

/// Number of set bits in `s`, 64 bits at a time with four independent accumulators.
fn popcount(s: &[u8]) -> u64 {
    let mut blocks = s.chunks_exact(32);
    let (mut c0, mut c1, mut c2, mut c3) = (0u64, 0u64, 0u64, 0u64);
    for b in &mut blocks {
        let (x, y) = b.split_at(16);
        let (x0, x1) = x.split_at(8);
        let (y0, y1) = y.split_at(8);
        c0 += u64::from(load_u64(x0).count_ones());
        c1 += u64::from(load_u64(x1).count_ones());
        c2 += u64::from(load_u64(y0).count_ones());
        c3 += u64::from(load_u64(y1).count_ones());
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        c0 += u64::from(load_u64(w).count_ones());
    }
    for &b in words.remainder() {
        c1 += u64::from(b.count_ones());
    }
    c0 + c1 + c2 + c3
}

/// Resolves a Redis start/end pair (negative = from the end) against a string of `len` bytes,
/// in `unit`s, with the clamping of BITCOUNT / BITPOS in 7.0. Returns the inclusive *bit* range,
/// or `None` when it is empty (`start > end` after clamping, which includes empty strings).
fn resolve_range(len: usize, start: i64, end: i64, unit: BitUnit) -> Option<(u64, u64)> {
    let bytes = len as i128;
    let total = match unit {
        BitUnit::Byte => bytes,
        BitUnit::Bit => bytes * 8,
    };
    let mut start = i128::from(start);
    let mut end = i128::from(end);
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (lo, hi) = match unit {
        BitUnit::Byte => (start * 8, end * 8 + 7),
        BitUnit::Bit => (start, end),
    };
    Some((u64::try_from(lo).ok()?, u64::try_from(hi).ok()?))
}

// ---------------------------------------------------------------------------------------------
// GETBIT / SETBIT
// ---------------------------------------------------------------------------------------------

/// GETBIT: the bit at `offset` (0 or 1); bits past the end of the string read as 0.
///
/// Note: Redis reads integer-encoded strings through their decimal text, so `s` must be the
/// string's byte representation.
pub fn get_bit(s: &[u8], offset: u64) -> u8 {
    let byte = byte_at(s, offset >> 3);
    (byte >> (7 - (offset & 7))) & 1
}

/// SETBIT: sets (`on`) or clears the bit at `offset`, growing `s` with zero bytes so that the
/// bit exists, and returns the previous bit (0 or 1).
///
/// The caller validates `offset` first (see [`parse_bit_offset`] / [`MAX_BIT_OFFSET`]). Note
/// that Redis counts the key as modified (and, for a missing key, creates it) even when the bit
/// already had the requested value if the string had to grow: compare `s.len()` before/after.
/// If the string cannot be grown to cover `offset` (only possible when the limit was skipped),
/// nothing is written and 0 is returned.
pub fn set_bit(s: &mut Vec<u8>, offset: u64, on: bool) -> u8 {
    let byte_idx = offset >> 3;
    if !grow_to(s, byte_idx + 1) {
        return 0;
    }
    let shift = 7 - (offset & 7) as u32;
    let Some(byte) = usize::try_from(byte_idx).ok().and_then(|i| s.get_mut(i)) else {
        return 0;
    };
    let old = (*byte >> shift) & 1;
    if on {
        *byte |= 1 << shift;
    } else {
        *byte &= !(1u8 << shift);
    }
    old
}

/// Parses a GETBIT / SETBIT offset with the default `proto-max-bulk-len`: a strict integer in
/// `0..=MAX_BIT_OFFSET`. `None` means "ERR bit offset is not an integer or out of range".
/// (The `#N` form is not accepted here: it is BITFIELD-only, see [`parse_field_offset`].)
pub fn parse_bit_offset(s: &[u8]) -> Option<u64> {
    parse_offset_arg(s, 0, DEFAULT_PROTO_MAX_BULK_LEN)
}

/// The general form of Redis's `getBitOffsetFromArgument`: parses a strict integer, or — when
/// `hash_bits > 0` and the argument starts with `#` — `#N` meaning `N * hash_bits`; then
/// rejects negative offsets and offsets with `offset >> 3 >= proto_max_bulk_len`.
///
/// Redis performs the `#N` multiplication in (wrapping) 64-bit arithmetic before the range
/// check; this does the same. Commands received from a master / the AOF skip the upper limit
/// in Redis; pass `u64::MAX` as `proto_max_bulk_len` for those.
pub fn parse_offset_arg(s: &[u8], hash_bits: u8, proto_max_bulk_len: u64) -> Option<u64> {
    let (usehash, digits) = match s.split_first() {
        Some((b'#', rest)) if hash_bits > 0 => (true, rest),
        _ => (false, s),
    };
    let mut off = parse_ll(digits)?;
    if usehash {
        off = off.wrapping_mul(i64::from(hash_bits));
    }
    let off = u64::try_from(off).ok()?;
    if (off >> 3) >= proto_max_bulk_len {
        return None;
    }
    Some(off)
}

// ---------------------------------------------------------------------------------------------
// BITCOUNT / BITPOS
// ---------------------------------------------------------------------------------------------

/// The unit of BITCOUNT / BITPOS range arguments (`BYTE` is the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitUnit {
    /// Indices count bytes.
    Byte,
    /// Indices count bits.
    Bit,
}

impl BitUnit {
    /// Parses `BIT` / `BYTE`, case-insensitively. `None` means "ERR syntax error".
    pub fn parse(s: &[u8]) -> Option<BitUnit> {
        if s.eq_ignore_ascii_case(b"bit") {
            Some(BitUnit::Bit)
        } else if s.eq_ignore_ascii_case(b"byte") {
            Some(BitUnit::Byte)
        } else {
            None
        }
    }
}

/// Counts the set bits in the inclusive bit range `lo..=hi` (both inside `s`).
fn count_bit_range(s: &[u8], lo: u64, hi: u64) -> u64 {
    let (Ok(first), Ok(last)) = (usize::try_from(lo >> 3), usize::try_from(hi >> 3)) else {
        return 0;
    };
    let Some(slice) = s.get(first..=last) else {
        return 0;
    };
    let mut count = popcount(slice);
    // Bits of the first byte before `lo`, and of the last byte after `hi`, are not in range.
    let head = !(0xFFu8 >> (lo & 7));
    let tail = (0xFFu16 >> ((hi & 7) + 1)) as u8;
    if let (Some(&f), Some(&l)) = (slice.first(), slice.last()) {
        count = count.saturating_sub(u64::from((f & head).count_ones()));
        count = count.saturating_sub(u64::from((l & tail).count_ones()));
    }
    count
}

/// BITCOUNT: the number of set bits in `s`, or in `range = (start, end, unit)`.
///
/// Range rules of Redis 7.0: if both `start` and `end` are negative and `start > end` the
/// result is 0; otherwise negative indices count from the end (`len + i`), are clamped to 0,
/// `end` is clamped to the last unit, and an empty range (`start > end`, or an empty string)
/// counts 0. With [`BitUnit::Bit`] the range is in bits, so partial first/last bytes are
/// masked. A missing key is the caller's business (Redis 7.0 replies 0; see module notes).
pub fn bit_count(s: &[u8], range: Option<(i64, i64, BitUnit)>) -> u64 {
    let Some((start, end, unit)) = range else {
        return popcount(s);
    };
    if start < 0 && end < 0 && start > end {
        return 0;
    }
    match resolve_range(s.len(), start, end, unit) {
        Some((lo, hi)) => count_bit_range(s, lo, hi),
        None => 0,
    }
}

/// The first bit of `b` (bit 0 = MSB) equal to `bit`, considering only the bits set in `mask`.
#[inline]
fn first_in_byte(b: u8, bit: bool, mask: u8) -> Option<u64> {
    let v = if bit { b } else { !b } & mask;
    (v != 0).then(|| u64::from(v.leading_zeros()))
}

/// The first bit equal to `bit` in `bytes`, as a bit index from the start of `bytes`. Skips
/// whole 64-bit words of all-zeros (looking for 1) or all-ones (looking for 0) at a time.
fn scan_bytes(bytes: &[u8], bit: bool) -> Option<u64> {
    let skip_word = if bit { 0 } else { u64::MAX };
    let skip_byte = if bit { 0 } else { 0xFF };
    let mut from = 0usize;
    for w in bytes.chunks_exact(8) {
        if load_u64(w) != skip_word {
            break;
        }
        from += 8;
    }
    let rest = bytes.get(from..)?;
    let k = rest.iter().position(|&b| b != skip_byte)?;
    let b = *rest.get(k)?;
    Some((from + k) as u64 * 8 + first_in_byte(b, bit, 0xFF)?)
}

/// The first bit equal to `bit` in the inclusive bit range `lo..=hi` (inside `s`).
fn find_bit_range(s: &[u8], bit: bool, lo: u64, hi: u64) -> Option<u64> {
    let first = lo >> 3;
    let last = hi >> 3;
    let head_mask = 0xFFu8 >> (lo & 7);
    let tail_mask = !((0xFFu16 >> ((hi & 7) + 1)) as u8);
    if first == last {
        return first_in_byte(byte_at(s, first), bit, head_mask & tail_mask).map(|p| first * 8 + p);
    }
    if let Some(p) = first_in_byte(byte_at(s, first), bit, head_mask) {
        return Some(first * 8 + p);
    }
    let (Ok(a), Ok(b)) = (usize::try_from(first + 1), usize::try_from(last)) else {
        return None;
    };
    if let Some(p) = s.get(a..b).and_then(|mid| scan_bytes(mid, bit)) {
        return Some((first + 1) * 8 + p);
    }
    first_in_byte(byte_at(s, last), bit, tail_mask).map(|p| last * 8 + p)
}

/// BITPOS on an existing string: the position (in bits from the start of the string) of the
/// first bit equal to `bit` within `start..=end` (in `unit`s; `None` = whole string / to the
/// end), or -1.
///
/// Rules of Redis 7.0: ranges resolve like BITCOUNT's but *without* BITCOUNT's
/// "both negative and start > end" shortcut; an empty resolved range (including an empty
/// string) returns -1. When no matching bit is found: looking for 1 returns -1; looking for 0
/// returns -1 if `end` was given, otherwise the first bit past the range (the string is
/// considered zero-padded on the right), e.g. `"\xff\xff"` → 16.
///
/// Redis only accepts a unit together with an explicit end (`BITPOS key bit start end unit`),
/// so `end == None` should come with [`BitUnit::Byte`]; `start == None` means the whole string.
/// A missing key is handled by the caller: reply `-1` when looking for 1 and `0` when looking
/// for 0 (without parsing start/end at all in 7.0).
pub fn bit_pos(s: &[u8], bit: bool, start: Option<i64>, end: Option<i64>, unit: BitUnit) -> i64 {
    let end_given = end.is_some();
    let Some((lo, hi)) = resolve_range(s.len(), start.unwrap_or(0), end.unwrap_or(-1), unit) else {
        return -1;
    };
    match find_bit_range(s, bit, lo, hi) {
        Some(p) => i64::try_from(p).unwrap_or(-1),
        None if !bit && !end_given => i64::try_from(hi + 1).unwrap_or(-1),
        None => -1,
    }
}

// ---------------------------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------------------------

/// A BITOP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    /// Bitwise AND of all sources.
    And,
    /// Bitwise OR of all sources.
    Or,
    /// Bitwise XOR of all sources.
    Xor,
    /// Bitwise NOT of the single source.
    Not,
}

impl BitOp {
    /// Parses `AND` / `OR` / `XOR` / `NOT`, case-insensitively. `None` means "ERR syntax error".
    pub fn parse(s: &[u8]) -> Option<BitOp> {
        [(&b"and"[..], BitOp::And), (&b"or"[..], BitOp::Or), (&b"xor"[..], BitOp::Xor), (&b"not"[..], BitOp::Not)]
            .into_iter()
            .find(|(name, _)| s.eq_ignore_ascii_case(name))
            .map(|(_, op)| op)
    }
}

/// BITOP: combines the sources; the result is as long as the longest source, shorter (and
/// missing, i.e. empty) sources being treated as zero-padded. `Not` uses only `srcs[0]`.
///
/// An empty result (all sources empty or missing) means Redis deletes the destination key
/// instead of storing an empty string; the reply is the result length either way.
pub fn bit_op(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let Some((first, rest)) = srcs.split_first() else {
        return Vec::new();
    };
    if op == BitOp::Not {
        return first.iter().map(|b| !b).collect();
    }
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut res = vec![0u8; maxlen];
    if let Some(dst) = res.get_mut(..first.len()) {
        dst.copy_from_slice(first);
    }
    for src in rest {
        match op {
            BitOp::And => {
                res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r &= s);
                if let Some(tail) = res.get_mut(src.len()..) {
                    tail.fill(0);
                }
            }
            BitOp::Or => res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r |= s),
            BitOp::Xor => res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r ^= s),
            BitOp::Not => {}
        }
    }
    res
}

// ---------------------------------------------------------------------------------------------
// BITFIELD
// ---------------------------------------------------------------------------------------------

/// BITFIELD overflow behaviour for SET and INCRBY (`WRAP` is the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Two's complement wrap-around (modulo `2^bits`).
    Wrap,
    /// Saturate at the type's minimum / maximum.
    Sat,
    /// Do nothing and reply nil.
    Fail,
}

impl Overflow {
    /// Parses `WRAP` / `SAT` / `FAIL`, case-insensitively. `None` means
    /// "ERR Invalid OVERFLOW type specified".
    pub fn parse(s: &[u8]) -> Option<Overflow> {
        if s.eq_ignore_ascii_case(b"wrap") {
            Some(Overflow::Wrap)
        } else if s.eq_ignore_ascii_case(b"sat") {
            Some(Overflow::Sat)
        } else if s.eq_ignore_ascii_case(b"fail") {
            Some(Overflow::Fail)
        } else {
            None
        }
    }
}

/// A BITFIELD integer type: `i1..=i64` or `u1..=u63`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldType {
    /// Signed (`i`) or unsigned (`u`).
    pub signed: bool,
    /// Width in bits.
    pub bits: u8,
}

impl FieldType {
    /// The width as used internally, forced into `1..=64` so that hand-built values can't
    /// cause out-of-range shifts.
    #[inline]
    pub fn width(self) -> u32 {
        u32::from(self.bits.clamp(1, 64))
    }

    /// The smallest and largest representable values.
    fn limits(self) -> (i128, i128) {
        let w = self.width();
        if self.signed {
            (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1)
        } else {
            (0, (1i128 << w) - 1)
        }
    }

    /// `v` reduced modulo `2^bits` into the type's range (two's complement for signed types).
    fn wrap(self, v: i128) -> i64 {
        let w = self.width();
        let raw = v as u64; // low 64 bits; 2^bits divides 2^64
        let sh = 64 - w;
        if self.signed {
            ((raw << sh) as i64) >> sh
        } else {
            ((raw << sh) >> sh) as i64
        }
    }

    /// Interprets the low `bits` bits of `raw` as a value of this type.
    fn decode_raw(self, raw: u64) -> i64 {
        self.wrap(i128::from(raw))
    }
}

/// Parses a BITFIELD type: a lowercase `i` or `u` (uppercase is rejected, as in Redis) followed
/// by a strict integer width, `1..=64` for signed and `1..=63` for unsigned. As in Redis, the
/// width is read up to the first NUL byte. `None` means "ERR Invalid bitfield type. Use
/// something like i16 u8. Note that u64 is not supported but i64 is."
pub fn parse_field_type(s: &[u8]) -> Option<FieldType> {
    let (signed, rest) = match s.split_first() {
        Some((b'i', rest)) => (true, rest),
        Some((b'u', rest)) => (false, rest),
        _ => return None,
    };
    let digits = rest.split(|&c| c == 0).next().unwrap_or(rest);
    let bits = parse_ll(digits)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return None;
    }
    Some(FieldType { signed, bits: u8::try_from(bits).ok()? })
}

/// Parses a BITFIELD offset: a strict integer, or `#N` meaning `N * bits`, with the default
/// `proto-max-bulk-len` limit applied to the *start* offset (`offset >> 3 < 512 MB`). `None`
/// means "ERR bit offset is not an integer or out of range". See [`parse_offset_arg`] for a
/// configurable limit.
pub fn parse_field_offset(s: &[u8], bits: u8) -> Option<u64> {
    parse_offset_arg(s, bits, DEFAULT_PROTO_MAX_BULK_LEN)
}

/// Reads the raw (unsigned) `width`-bit field at `offset`; bits past the end read as zero.
fn read_raw(s: &[u8], offset: u64, width: u32) -> u64 {
    let byte = offset >> 3;
    let mut w: u128 = 0;
    for k in 0..9 {
        w = (w << 8) | u128::from(byte_at(s, byte + k));
    }
    let shift = 72 - (offset & 7) as u32 - width;
    let mask = u64::MAX >> (64 - width);
    ((w >> shift) as u64) & mask
}

/// Writes the low `width` bits of `value` at `offset`; bytes outside `s` are left alone (the
/// caller grows `s` first, so the field itself is always inside).
fn write_raw(s: &mut [u8], offset: u64, width: u32, value: u64) {
    let byte = offset >> 3;
    let mut w: u128 = 0;
    for k in 0..9 {
        w = (w << 8) | u128::from(byte_at(s, byte + k));
    }
    let shift = 72 - (offset & 7) as u32 - width;
    let mask = u128::from(u64::MAX >> (64 - width)) << shift;
    w = (w & !mask) | ((u128::from(value) << shift) & mask);
    let Ok(start) = usize::try_from(byte) else {
        return;
    };
    for k in 0..9usize {
        if let Some(b) = start.checked_add(k).and_then(|i| s.get_mut(i)) {
            *b = (w >> (8 * (8 - k))) as u8;
        }
    }
}

/// Grows `s` to cover the field at `offset` (what Redis does for every write op before running
/// any of them). Returns false if that is impossible.
fn grow_for_field(s: &mut Vec<u8>, offset: u64, ft: FieldType) -> bool {
    let last_bit = offset.saturating_add(u64::from(ft.width()) - 1);
    last_bit != u64::MAX && grow_to(s, (last_bit >> 3) + 1)
}

/// BITFIELD GET: the field of type `ft` at bit `offset` (zero-padded past the end). Unsigned
/// values are returned as `i64` (at most `u63`, so they always fit).
pub fn field_get(s: &[u8], offset: u64, ft: FieldType) -> i64 {
    ft.decode_raw(read_raw(s, offset, ft.width()))
}

/// BITFIELD SET: stores `value` into the field and returns the OLD value, or `None` (reply nil)
/// when `ov` is [`Overflow::Fail`] and `value` does not fit (then the field is not written).
///
/// Out-of-range values, as in Redis: `Wrap` stores `value` modulo `2^bits` (two's complement);
/// `Sat` stores the type's max if `value` is above it and the min if below — except that for
/// *unsigned* types Redis compares `value` reinterpreted as `u64`, so a negative value counts
/// as "too large" and saturates to the MAX (e.g. `SET u8 -1` with SAT stores 255).
///
/// `s` is first grown with zeros to cover the field, even if the op then FAILs: Redis grows the
/// string (creating the key) for every SET/INCRBY of the command before executing any of them.
/// `None` is also returned, without writing, if the buffer cannot be grown (only possible when
/// the offset limit was not enforced).
pub fn field_set(s: &mut Vec<u8>, offset: u64, ft: FieldType, value: i64, ov: Overflow) -> Option<i64> {
    if !grow_for_field(s, offset, ft) {
        return None;
    }
    let width = ft.width();
    let old = ft.decode_raw(read_raw(s, offset, width));
    let (min, max) = ft.limits();
    let v = i128::from(value);
    let (too_big, too_small) = if ft.signed { (v > max, v < min) } else { (i128::from(value as u64) > max, false) };
    let new = if too_big || too_small {
        match ov {
            Overflow::Wrap => ft.wrap(v),
            Overflow::Sat => ft.wrap(if too_big { max } else { min }),
            Overflow::Fail => return None,
        }
    } else {
        value
    };
    write_raw(s, offset, width, new as u64);
    Some(old)
}

/// BITFIELD INCRBY: adds `incr` to the field and returns the NEW value, or `None` (reply nil)
/// when `ov` is [`Overflow::Fail`] and the result does not fit (then the field is not written).
///
/// Overflow, as in Redis: `Wrap` keeps the sum modulo `2^bits` (two's complement for signed
/// types, including plain 64-bit wrap-around for `i64`); `Sat` clamps the exact sum to the
/// type's min/max. Like [`field_set`], `s` is grown to cover the field even if the op FAILs.
pub fn field_incrby(s: &mut Vec<u8>, offset: u64, ft: FieldType, incr: i64, ov: Overflow) -> Option<i64> {
    if !grow_for_field(s, offset, ft) {
        return None;
    }
    let width = ft.width();
    let old = ft.decode_raw(read_raw(s, offset, width));
    let (min, max) = ft.limits();
    let sum = i128::from(old) + i128::from(incr);
    let new = if sum > max || sum < min {
        match ov {
            Overflow::Wrap => ft.wrap(sum),
            Overflow::Sat => ft.wrap(sum.clamp(min, max)),
            Overflow::Fail => return None,
        }
    } else {
        ft.wrap(sum)
    };
    write_raw(s, offset, width, new as u64);
    Some(new)
}

// ---------------------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------------------

/// One `IDX` match: `((a_start, a_end), (b_start, b_end), match_len)`, ranges inclusive.
pub type LcsMatch = ((usize, usize), (usize, usize), usize);

/// The result of [`lcs`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LcsResult {
    /// Length of the longest common subsequence.
    pub len: usize,
    /// The subsequence itself (what plain `LCS k1 k2` replies).
    pub string: Vec<u8>,
    /// The matching ranges for `IDX`, in Redis's order (from the end of the strings backwards):
    /// `((a_start, a_end), (b_start, b_end), match_len)`, ranges inclusive. This is the
    /// unfiltered list: `MINMATCHLEN m` keeps only those with `m == 0 || match_len >= m`
    /// (a negative `m` is treated as 0); `WITHMATCHLEN` appends `match_len` to each entry.
    pub matches: Vec<LcsMatch>,
}

/// Why LCS refused to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LcsError {
    /// A string is `u32::MAX - 1` bytes or longer.
    StringTooLong,
    /// The `(alen+1)*(blen+1)` `u32` table would exceed `proto-max-bulk-len` bytes.
    TableTooLarge,
    /// The table size overflows, or allocating it failed.
    AllocFailed,
}

impl LcsError {
    /// The exact Redis 7.0 error reply text.
    pub fn message(self) -> &'static str {
        match self {
            LcsError::StringTooLong => "ERR String too long for LCS",
            LcsError::TableTooLarge => "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
            LcsError::AllocFailed => "ERR Insufficient memory, failed allocating transient memory for LCS",
        }
    }
}

impl std::fmt::Display for LcsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for LcsError {}

/// Redis's pre-flight checks: string lengths, then table size (`u32` cells) against the limit.
/// Returns the number of table cells.
fn lcs_table_cells(alen: usize, blen: usize, limit: u64) -> Result<usize, LcsError> {
    let too_long = |n: usize| u64::try_from(n).map_or(true, |n| n >= u64::from(u32::MAX) - 1);
    if too_long(alen) || too_long(blen) {
        return Err(LcsError::StringTooLong);
    }
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let bytes = cells.checked_mul(4).ok_or(LcsError::AllocFailed)?;
    if bytes > limit {
        return Err(LcsError::TableTooLarge);
    }
    usize::try_from(cells).map_err(|_| LcsError::AllocFailed)
}

/// LCS with the default `proto-max-bulk-len` (512 MB) as the table limit.
/// See [`lcs_with_limit`].
pub fn lcs(a: &[u8], b: &[u8]) -> Result<LcsResult, LcsError> {
    lcs_with_limit(a, b, DEFAULT_PROTO_MAX_BULK_LEN)
}

/// LCS of `a` and `b` exactly as Redis 7.0 computes it: the O(n*m) dynamic-programming table
/// of `u32`, then a backtrack from the end that prefers moving in `b` on ties, which decides
/// both the returned subsequence and the `IDX` ranges.
///
/// Errors, in Redis's order: either string `>= u32::MAX - 1` bytes → [`LcsError::StringTooLong`];
/// `(a.len()+1) * (b.len()+1) * 4 > max_table_bytes` (Redis: `proto-max-bulk-len`) →
/// [`LcsError::TableTooLarge`]; overflow or allocation failure → [`LcsError::AllocFailed`].
/// Note that Redis applies these checks (and builds the table) for `LEN` too.
pub fn lcs_with_limit(a: &[u8], b: &[u8], max_table_bytes: u64) -> Result<LcsResult, LcsError> {
    let cells = lcs_table_cells(a.len(), b.len(), max_table_bytes)?;
    let w = b.len() + 1;
    let mut t: Vec<u32> = Vec::new();
    t.try_reserve_exact(cells).map_err(|_| LcsError::AllocFailed)?;
    t.resize(cells, 0);

    // Row i holds LCS(a[..i], b[..j]) for j in 0..=blen; row 0 and column 0 stay 0.
    for (i, &ai) in a.iter().enumerate() {
        let (done, todo) = t.split_at_mut((i + 1) * w);
        let prev = done.get(i * w..).unwrap_or(&[]);
        let Some(cur) = todo.get_mut(..w) else { break };
        let mut left = 0u32; // cur[j], carried along the row
        for (j, &bj) in b.iter().enumerate() {
            let up = prev.get(j + 1).copied().unwrap_or(0);
            let v = if ai == bj { prev.get(j).copied().unwrap_or(0) + 1 } else { up.max(left) };
            if let Some(c) = cur.get_mut(j + 1) {
                *c = v;
            }
            left = v;
        }
    }
    let at = |i: usize, j: usize| t.get(i * w + j).copied().unwrap_or(0);

    let total = at(a.len(), b.len()) as usize;
    let mut string = vec![0u8; total];
    let mut matches = Vec::new();
    let mut idx = total;
    // Current range being extended backwards: (a_start, a_end, b_start, b_end).
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        let (ca, cb) = (a.get(i - 1), b.get(j - 1));
        if ca.is_some() && ca == cb {
            if let (Some(slot), Some(&c)) = (idx.checked_sub(1).and_then(|k| string.get_mut(k)), ca) {
                *slot = c;
            }
            match range.as_mut() {
                None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = range {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = range.take() {
                matches.push(((a0, a1), (b0, b1), a1 - a0 + 1));
            }
        }
    }
    Ok(LcsResult { len: total, string, matches })
}

/// Just the LCS length (for `LCS k1 k2 LEN`), using two rows instead of the full table but
/// applying exactly the same pre-flight checks and errors as [`lcs_with_limit`], so replies
/// match Redis (which builds the full table even for `LEN`).
pub fn lcs_len_with_limit(a: &[u8], b: &[u8], max_table_bytes: u64) -> Result<usize, LcsError> {
    lcs_table_cells(a.len(), b.len(), max_table_bytes)?;
    let w = b.len() + 1;
    let mut prev: Vec<u32> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    prev.try_reserve_exact(w).map_err(|_| LcsError::AllocFailed)?;
    cur.try_reserve_exact(w).map_err(|_| LcsError::AllocFailed)?;
    prev.resize(w, 0);
    cur.resize(w, 0);
    for &ai in a {
        let mut left = 0u32;
        for (j, &bj) in b.iter().enumerate() {
            let v = if ai == bj {
                prev.get(j).copied().unwrap_or(0) + 1
            } else {
                prev.get(j + 1).copied().unwrap_or(0).max(left)
            };
            if let Some(c) = cur.get_mut(j + 1) {
                *c = v;
            }
            left = v;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Ok(prev.last().copied().unwrap_or(0) as usize)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const I8: FieldType = FieldType { signed: true, bits: 8 };
    const U8: FieldType = FieldType { signed: false, bits: 8 };
    const U2: FieldType = FieldType { signed: false, bits: 2 };
    const I64: FieldType = FieldType { signed: true, bits: 64 };
    const U63: FieldType = FieldType { signed: false, bits: 63 };

    /// Bit-by-bit reference for BITPOS over an explicit inclusive bit range.
    fn naive_find(s: &[u8], bit: bool, lo: u64, hi: u64) -> Option<u64> {
        (lo..=hi).find(|&p| (get_bit(s, p) == 1) == bit)
    }

    /// Tiny deterministic PRNG for fuzz-style tests (no crate deps).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, n: usize, dense: bool) -> Vec<u8> {
            (0..n)
                .map(|_| {
                    let r = self.next() as u8;
                    match self.next() % 4 {
                        0 if dense => 0xFF,
                        1 if dense => 0x00,
                        _ => r,
                    }
                })
                .collect()
        }
    }

    #[test]
    fn parse_ll_is_strict() {
        assert_eq!(parse_ll(b"0"), Some(0));
        assert_eq!(parse_ll(b"123"), Some(123));
        assert_eq!(parse_ll(b"-5"), Some(-5));
        assert_eq!(parse_ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_ll(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn getbit_setbit_basics() {
        // SETBIT mykey 7 1 on a missing key -> "\x01"
        let mut s = Vec::new();
        assert_eq!(set_bit(&mut s, 7, true), 0);
        assert_eq!(s, b"\x01");
        assert_eq!(get_bit(&s, 0), 0);
        assert_eq!(get_bit(&s, 7), 1);
        assert_eq!(get_bit(&s, 100), 0);
        assert_eq!(get_bit(&s, u64::MAX), 0);
        assert_eq!(set_bit(&mut s, 7, false), 1);
        assert_eq!(s, b"\x00");
        // Growth with zeros, old value 0.
        assert_eq!(set_bit(&mut s, 17, true), 0);
        assert_eq!(s, b"\x00\x00\x40");
        assert_eq!(set_bit(&mut s, 17, true), 1);
        assert_eq!(set_bit(&mut s, 0, true), 0);
        assert_eq!(s, b"\x80\x00\x40");
        // Clearing a bit far away still grows.
        let mut s = b"a".to_vec();
        assert_eq!(set_bit(&mut s, 31, false), 0);
        assert_eq!(s, b"a\x00\x00\x00");
        // Unreachable offsets are refused without panicking.
        let mut s = Vec::new();
        assert_eq!(set_bit(&mut s, u64::MAX, true), 0);
        assert!(s.is_empty());
    }

    #[test]
    fn bit_offset_parsing() {
        assert_eq!(parse_bit_offset(b"0"), Some(0));
        assert_eq!(parse_bit_offset(b"4294967295"), Some(MAX_BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"4294967296"), None);
        assert_eq!(parse_bit_offset(b"-1"), None);
        assert_eq!(parse_bit_offset(b"#1"), None); // no hash form for GETBIT/SETBIT
        assert_eq!(parse_bit_offset(b"1.5"), None);
        assert_eq!(parse_bit_offset(b""), None);
        // Master / AOF clients: no upper limit.
        assert_eq!(parse_offset_arg(b"4294967296", 0, u64::MAX), Some(4294967296));
        // Smaller proto-max-bulk-len.
        assert_eq!(parse_offset_arg(b"8388607", 0, 1024 * 1024), Some(8388607));
        assert_eq!(parse_offset_arg(b"8388608", 0, 1024 * 1024), None);
    }

    #[test]
    fn field_offset_parsing() {
        assert_eq!(parse_field_offset(b"10", 8), Some(10));
        assert_eq!(parse_field_offset(b"#0", 8), Some(0));
        assert_eq!(parse_field_offset(b"#2", 8), Some(16));
        assert_eq!(parse_field_offset(b"#3", 5), Some(15));
        assert_eq!(parse_field_offset(b"#-1", 8), None);
        assert_eq!(parse_field_offset(b"-1", 8), None);
        assert_eq!(parse_field_offset(b"#", 8), None);
        assert_eq!(parse_field_offset(b"##1", 8), None);
        assert_eq!(parse_field_offset(b"# 1", 8), None);
        assert_eq!(parse_field_offset(b"abc", 8), None);
        assert_eq!(parse_field_offset(b"", 8), None);
        assert_eq!(parse_field_offset(b"4294967295", 8), Some(4294967295));
        assert_eq!(parse_field_offset(b"4294967296", 8), None);
        assert_eq!(parse_field_offset(b"#536870911", 8), Some(4294967288));
        assert_eq!(parse_field_offset(b"#536870912", 8), None);
        // Redis multiplies in wrapping 64-bit arithmetic: 2^60 * 16 wraps to 0.
        assert_eq!(parse_field_offset(b"#1152921504606846976", 16), Some(0));
        assert_eq!(parse_field_offset(b"#4611686018427387904", 2), None); // 2^63 -> negative
    }

    #[test]
    fn field_type_parsing() {
        assert_eq!(parse_field_type(b"i8"), Some(I8));
        assert_eq!(parse_field_type(b"u8"), Some(U8));
        assert_eq!(parse_field_type(b"i64"), Some(I64));
        assert_eq!(parse_field_type(b"u63"), Some(U63));
        assert_eq!(parse_field_type(b"i1"), Some(FieldType { signed: true, bits: 1 }));
        assert_eq!(parse_field_type(b"u1"), Some(FieldType { signed: false, bits: 1 }));
        // Width read up to the first NUL, as with strlen() in Redis.
        assert_eq!(parse_field_type(b"u8\0junk"), Some(U8));
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"u0",
            b"I8",
            b"U8",
            b"i",
            b"",
            b"i08",
            b"i+8",
            b"i-8",
            b"x8",
            b"8",
            b"i8 ",
            b"\0i8",
            b"i99999999999999999999",
        ] {
            assert_eq!(parse_field_type(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn keyword_parsing() {
        assert_eq!(BitUnit::parse(b"BIT"), Some(BitUnit::Bit));
        assert_eq!(BitUnit::parse(b"bYtE"), Some(BitUnit::Byte));
        assert_eq!(BitUnit::parse(b"bits"), None);
        assert_eq!(Overflow::parse(b"Wrap"), Some(Overflow::Wrap));
        assert_eq!(Overflow::parse(b"SAT"), Some(Overflow::Sat));
        assert_eq!(Overflow::parse(b"fail"), Some(Overflow::Fail));
        assert_eq!(Overflow::parse(b"saturate"), None);
        assert_eq!(BitOp::parse(b"And"), Some(BitOp::And));
        assert_eq!(BitOp::parse(b"OR"), Some(BitOp::Or));
        assert_eq!(BitOp::parse(b"xor"), Some(BitOp::Xor));
        assert_eq!(BitOp::parse(b"NOT"), Some(BitOp::Not));
        assert_eq!(BitOp::parse(b"nand"), None);
        assert_eq!(BitOp::parse(b""), None);
    }

    #[test]
    fn bitcount_docs_examples() {
        // "foobar": f=4 o=6 o=6 b=3 a=3 r=4 set bits.
        let s = b"foobar";
        assert_eq!(bit_count(s, None), 26);
        assert_eq!(bit_count(s, Some((0, 0, BitUnit::Byte))), 4);
        assert_eq!(bit_count(s, Some((1, 1, BitUnit::Byte))), 6);
        assert_eq!(bit_count(s, Some((1, 1, BitUnit::Bit))), 1);
        assert_eq!(bit_count(s, Some((5, 30, BitUnit::Bit))), 17);
        assert_eq!(bit_count(s, Some((0, -1, BitUnit::Byte))), 26);
        assert_eq!(bit_count(s, Some((-2, -1, BitUnit::Byte))), 7);
        assert_eq!(bit_count(s, Some((0, -1, BitUnit::Bit))), 26);
        assert_eq!(bit_count(s, Some((-8, -1, BitUnit::Bit))), 4); // 'r'
        assert_eq!(bit_count(s, Some((-3, -1, BitUnit::Bit))), 1); // "010" of 'r'
    }

    #[test]
    fn bitcount_range_rules() {
        let s = b"foobar";
        // Both negative and start > end: 0 (7.0 shortcut).
        assert_eq!(bit_count(s, Some((-1, -5, BitUnit::Byte))), 0);
        assert_eq!(bit_count(s, Some((-1, -5, BitUnit::Bit))), 0);
        // Both negative, start beyond the beginning: clamps to byte 0..=1 ("fo").
        assert_eq!(bit_count(s, Some((-10, -5, BitUnit::Byte))), 10);
        // Without the shortcut the clamping would count byte 0; this one only has start < 0.
        assert_eq!(bit_count(s, Some((-100, 0, BitUnit::Byte))), 4);
        // Start past the end / start > end after clamping.
        assert_eq!(bit_count(s, Some((6, 10, BitUnit::Byte))), 0);
        assert_eq!(bit_count(s, Some((3, 2, BitUnit::Byte))), 0);
        assert_eq!(bit_count(s, Some((48, 100, BitUnit::Bit))), 0);
        // End clamped to the last unit.
        assert_eq!(bit_count(s, Some((5, 1000, BitUnit::Byte))), 4);
        assert_eq!(bit_count(s, Some((44, i64::MAX, BitUnit::Bit))), 1); // "0010" of 'r'
        assert_eq!(bit_count(s, Some((i64::MIN, i64::MAX, BitUnit::Bit))), 26);
        assert_eq!(bit_count(s, Some((i64::MIN, i64::MIN, BitUnit::Byte))), 4);
        // Empty string.
        assert_eq!(bit_count(b"", None), 0);
        assert_eq!(bit_count(b"", Some((0, -1, BitUnit::Byte))), 0);
        assert_eq!(bit_count(b"", Some((0, 0, BitUnit::Bit))), 0);
        // Single byte, partial bit ranges.
        assert_eq!(bit_count(b"\xff", Some((1, 6, BitUnit::Bit))), 6);
        assert_eq!(bit_count(b"\xff", Some((3, 3, BitUnit::Bit))), 1);
        assert_eq!(bit_count(b"\x10", Some((3, 3, BitUnit::Bit))), 1);
        assert_eq!(bit_count(b"\x10", Some((4, 7, BitUnit::Bit))), 0);
    }

    #[test]
    fn bitcount_matches_naive_on_random_data() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for len in [0usize, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 257] {
            let s = rng.bytes(len, false);
            let naive: u64 = s.iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(bit_count(&s, None), naive);
            for _ in 0..50 {
                let total = (len * 8) as i64 + 4;
                let a = (rng.next() % (2 * total as u64 + 1)) as i64 - total;
                let b = (rng.next() % (2 * total as u64 + 1)) as i64 - total;
                // Bit-unit reference using the documented rules.
                let expect = if a < 0 && b < 0 && a > b {
                    0
                } else {
                    let t = (len * 8) as i64;
                    let mut st = if a < 0 { a + t } else { a };
                    let mut en = if b < 0 { b + t } else { b };
                    st = st.max(0);
                    en = en.max(0).min(t - 1);
                    if st > en {
                        0
                    } else {
                        (st..=en).filter(|&p| get_bit(&s, p as u64) == 1).count() as u64
                    }
                };
                assert_eq!(bit_count(&s, Some((a, b, BitUnit::Bit))), expect, "{len} {a} {b}");
            }
        }
    }

    #[test]
    fn bitpos_docs_examples() {
        let s = b"\xff\xf0\x00";
        assert_eq!(bit_pos(s, false, None, None, BitUnit::Byte), 12);
        let s = b"\x00\xff\xf0";
        assert_eq!(bit_pos(s, true, Some(0), None, BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, true, Some(2), None, BitUnit::Byte), 16);
        assert_eq!(bit_pos(s, true, Some(2), Some(-1), BitUnit::Byte), 16);
        assert_eq!(bit_pos(s, true, Some(7), Some(15), BitUnit::Bit), 8);
        let s = b"\x00\x00\x00";
        assert_eq!(bit_pos(s, true, None, None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, true, Some(7), Some(-3), BitUnit::Bit), -1);
    }

    #[test]
    fn bitpos_zero_end_rules() {
        let s = b"\xff\xff\xff";
        // No end: the string is considered zero padded -> first bit past the end.
        assert_eq!(bit_pos(s, false, None, None, BitUnit::Byte), 24);
        assert_eq!(bit_pos(s, false, Some(0), None, BitUnit::Byte), 24);
        assert_eq!(bit_pos(s, false, Some(1), None, BitUnit::Byte), 24);
        assert_eq!(bit_pos(s, false, Some(-1), None, BitUnit::Byte), 24);
        // End given: -1.
        assert_eq!(bit_pos(s, false, Some(0), Some(-1), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(0), Some(2), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(0), Some(100), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(3), Some(20), BitUnit::Bit), -1);
        // Looking for 1 in all zeros: -1 with or without end.
        assert_eq!(bit_pos(b"\x00\x00", true, None, None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(b"\x00\x00", true, Some(1), None, BitUnit::Byte), -1);
        // Empty existing string: empty range -> -1 for both bits.
        assert_eq!(bit_pos(b"", false, None, None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(b"", true, None, None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(b"", false, Some(0), Some(-1), BitUnit::Bit), -1);
        // Start past the end: empty range -> -1 even for 0 with no end.
        assert_eq!(bit_pos(s, false, Some(3), None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(5), Some(2), BitUnit::Byte), -1);
    }

    #[test]
    fn bitpos_intervals() {
        let s = b"\x00\xff\x00";
        assert_eq!(bit_pos(s, true, Some(0), Some(-1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, true, Some(1), Some(-1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, true, Some(2), Some(-1), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, true, Some(2), Some(200), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, true, Some(1), Some(1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, true, Some(0), Some(-1), BitUnit::Bit), 8);
        assert_eq!(bit_pos(s, true, Some(8), Some(-1), BitUnit::Bit), 8);
        assert_eq!(bit_pos(s, true, Some(16), Some(-1), BitUnit::Bit), -1);
        assert_eq!(bit_pos(s, true, Some(16), Some(200), BitUnit::Bit), -1);
        assert_eq!(bit_pos(s, true, Some(8), Some(8), BitUnit::Bit), 8);
        assert_eq!(bit_pos(s, true, Some(9), Some(9), BitUnit::Bit), 9);
        assert_eq!(bit_pos(s, true, Some(0), Some(7), BitUnit::Bit), -1);
        let s = b"\xff\x00\xff";
        assert_eq!(bit_pos(s, false, Some(0), Some(-1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, false, Some(1), Some(-1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, false, Some(2), Some(-1), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(2), Some(200), BitUnit::Byte), -1);
        assert_eq!(bit_pos(s, false, Some(1), Some(1), BitUnit::Byte), 8);
        assert_eq!(bit_pos(s, false, Some(0), Some(-1), BitUnit::Bit), 8);
        assert_eq!(bit_pos(s, false, Some(8), Some(-1), BitUnit::Bit), 8);
        assert_eq!(bit_pos(s, false, Some(16), Some(-1), BitUnit::Bit), -1);
        assert_eq!(bit_pos(s, false, Some(16), Some(200), BitUnit::Bit), -1);
        assert_eq!(bit_pos(s, false, Some(8), Some(8), BitUnit::Bit), 8);
        // Mid-byte bit ranges are masked on both sides.
        assert_eq!(bit_pos(b"\x81", true, Some(1), Some(6), BitUnit::Bit), -1);
        assert_eq!(bit_pos(b"\x81", true, Some(1), Some(7), BitUnit::Bit), 7);
        assert_eq!(bit_pos(b"\x7e", false, Some(1), Some(6), BitUnit::Bit), -1);
        assert_eq!(bit_pos(b"\x7e", false, Some(1), Some(7), BitUnit::Bit), 7);
        assert_eq!(bit_pos(b"\xff\x7f", false, Some(3), Some(8), BitUnit::Bit), 8);
        assert_eq!(bit_pos(b"\xff\xff\x7f", false, Some(3), Some(15), BitUnit::Bit), -1);
        assert_eq!(bit_pos(b"\xff\xff\x7f", false, Some(3), Some(16), BitUnit::Bit), 16);
        // No "both negative" shortcut for BITPOS: -3..-5 on 2 bytes clamps to byte 0.
        assert_eq!(bit_pos(b"\x01\x00", true, Some(-3), Some(-5), BitUnit::Byte), 7);
        assert_eq!(bit_pos(b"\x01\x00", true, Some(-1), Some(-5), BitUnit::Byte), -1);
    }

    #[test]
    fn bitpos_matches_naive_on_random_data() {
        let mut rng = Rng(12345);
        for len in [1usize, 2, 3, 7, 8, 9, 15, 16, 17, 40, 100] {
            for _ in 0..40 {
                let s = rng.bytes(len, true);
                let bits = (len * 8) as i64;
                for bit in [false, true] {
                    // Whole string, no end.
                    let expect = naive_find(&s, bit, 0, bits as u64 - 1).map(|p| p as i64).unwrap_or(if bit {
                        -1
                    } else {
                        bits
                    });
                    assert_eq!(bit_pos(&s, bit, None, None, BitUnit::Byte), expect);
                    // Random explicit bit ranges (non-negative, within the string).
                    let a = (rng.next() % bits as u64) as i64;
                    let b = (rng.next() % bits as u64) as i64;
                    let expect =
                        if a > b { -1 } else { naive_find(&s, bit, a as u64, b as u64).map_or(-1, |p| p as i64) };
                    assert_eq!(bit_pos(&s, bit, Some(a), Some(b), BitUnit::Bit), expect);
                    // Random byte start with no end.
                    let st = (rng.next() % len as u64) as i64;
                    let expect = naive_find(&s, bit, st as u64 * 8, bits as u64 - 1)
                        .map(|p| p as i64)
                        .unwrap_or(if bit { -1 } else { bits });
                    assert_eq!(bit_pos(&s, bit, Some(st), None, BitUnit::Byte), expect);
                }
            }
        }
    }

    #[test]
    fn bitop_basics() {
        // Docs example: AND of "foobar" and "abcdef" is "`bc`ab".
        assert_eq!(bit_op(BitOp::And, &[b"foobar", b"abcdef"]), b"`bc`ab");
        // Shorter sources are zero padded.
        assert_eq!(bit_op(BitOp::And, &[b"\xff\xff", b"\xff"]), b"\xff\x00");
        assert_eq!(bit_op(BitOp::And, &[b"\xff", b"\xff\xff"]), b"\xff\x00");
        assert_eq!(bit_op(BitOp::Or, &[b"\x01", b"\x10\x20", b""]), b"\x11\x20");
        assert_eq!(bit_op(BitOp::Xor, &[b"\xff\x0f", b"\x0f", b"\x01\x01\x01"]), b"\xf1\x0e\x01");
        assert_eq!(bit_op(BitOp::Not, &[b"\x00\x0f\xff"]), b"\xff\xf0\x00");
        assert_eq!(bit_op(BitOp::Not, &[b""]), b"");
        // Single source: copy.
        assert_eq!(bit_op(BitOp::And, &[b"abc"]), b"abc");
        assert_eq!(bit_op(BitOp::Or, &[]), b"");
        // AND with a missing (empty) key is all zeros of the longest length.
        assert_eq!(bit_op(BitOp::And, &[b"abc", b""]), b"\0\0\0");
        assert_eq!(bit_op(BitOp::Xor, &[b"", b""]), b"");
    }

    #[test]
    fn bitop_matches_bytewise_on_random_data() {
        let mut rng = Rng(777);
        for _ in 0..100 {
            let n = (rng.next() % 4 + 1) as usize;
            let srcs: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = (rng.next() % 70) as usize;
                    rng.bytes(len, false)
                })
                .collect();
            let refs: Vec<&[u8]> = srcs.iter().map(|v| v.as_slice()).collect();
            let maxlen = srcs.iter().map(Vec::len).max().unwrap_or(0);
            for op in [BitOp::And, BitOp::Or, BitOp::Xor] {
                let expect: Vec<u8> = (0..maxlen)
                    .map(|i| {
                        let get = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
                        srcs.iter().skip(1).fold(get(&srcs[0]), |acc, s| match op {
                            BitOp::And => acc & get(s),
                            BitOp::Or => acc | get(s),
                            _ => acc ^ get(s),
                        })
                    })
                    .collect();
                assert_eq!(bit_op(op, &refs), expect);
            }
        }
    }

    #[test]
    fn bitfield_layout_docs_example() {
        // Setting a 5-bit unsigned 23 at offset 7 -> 00000001|01110000
        let mut s = Vec::new();
        let u5 = FieldType { signed: false, bits: 5 };
        assert_eq!(field_set(&mut s, 7, u5, 23, Overflow::Wrap), Some(0));
        assert_eq!(s, b"\x01\x70");
        assert_eq!(field_get(&s, 7, u5), 23);
        // #N form: SET u8 #0 65, #1 66, #2 67 -> "ABC".
        let mut s = Vec::new();
        for (i, c) in [65, 66, 67].into_iter().enumerate() {
            let off = parse_field_offset(format!("#{i}").as_bytes(), 8).unwrap_or(u64::MAX);
            assert_eq!(field_set(&mut s, off, U8, c, Overflow::Wrap), Some(0));
        }
        assert_eq!(s, b"ABC");
    }

    #[test]
    fn bitfield_get_padding_and_signs() {
        let s = b"\xff";
        assert_eq!(field_get(s, 0, U8), 255);
        assert_eq!(field_get(s, 0, I8), -1);
        assert_eq!(field_get(s, 4, U8), 0xf0);
        assert_eq!(field_get(s, 4, I8), -16);
        assert_eq!(field_get(s, 8, U8), 0);
        assert_eq!(field_get(s, u64::MAX - 100, I64), 0);
        assert_eq!(field_get(b"", 0, I64), 0);
        assert_eq!(field_get(b"\x80", 0, I64), i64::MIN);
        assert_eq!(field_get(b"\x7f\xff\xff\xff\xff\xff\xff\xff", 0, I64), i64::MAX);
        assert_eq!(field_get(b"\xff\xff\xff\xff\xff\xff\xff\xff", 0, U63), i64::MAX);
        assert_eq!(field_get(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", 7, I64), -1);
        assert_eq!(field_get(b"\x01\xff\xff\xff\xff\xff\xff\xff\x00", 7, I64), -128);
        assert_eq!(field_get(b"\x01\xff\xff\xff\xff\xff\xff\xfd\x00", 7, I64), -1024 + 128 * 5);
        assert_eq!(field_get(b"\x01", 7, FieldType { signed: true, bits: 1 }), -1);
        assert_eq!(field_get(b"\x01", 7, FieldType { signed: false, bits: 1 }), 1);
        // INCRBY i5 100 1 then GET u4 0 -> 1, 0 (docs example).
        let mut s = Vec::new();
        let i5 = FieldType { signed: true, bits: 5 };
        assert_eq!(field_incrby(&mut s, 100, i5, 1, Overflow::Wrap), Some(1));
        assert_eq!(field_get(&s, 0, FieldType { signed: false, bits: 4 }), 0);
        assert_eq!(s.len(), 14); // bits 100..=104 -> byte 13
    }

    #[test]
    fn bitfield_set_get_basics() {
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 0, I8, -100, Overflow::Wrap), Some(0));
        assert_eq!(field_set(&mut s, 0, I8, 101, Overflow::Wrap), Some(-100));
        assert_eq!(field_get(&s, 0, I8), 101);
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 0, U8, 255, Overflow::Wrap), Some(0));
        assert_eq!(field_set(&mut s, 0, U8, 100, Overflow::Wrap), Some(255));
        assert_eq!(field_get(&s, 0, U8), 100);
        // Regression #3564: SET i8 0 10, SET i8 64 10, INCRBY i8 10 99900 -> 0 0 60.
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 0, I8, 10, Overflow::Wrap), Some(0));
        assert_eq!(field_set(&mut s, 64, I8, 10, Overflow::Wrap), Some(0));
        assert_eq!(field_incrby(&mut s, 10, I8, 99900, Overflow::Wrap), Some(60));
        // Neighbouring bits are preserved by unaligned writes.
        let mut s = b"\xff\xff\xff".to_vec();
        let u10 = FieldType { signed: false, bits: 10 };
        assert_eq!(field_set(&mut s, 3, u10, 0, Overflow::Wrap), Some(1023));
        assert_eq!(s, b"\xe0\x07\xff");
    }

    #[test]
    fn bitfield_incrby_overflow_modes() {
        // Docs: INCRBY u2 100 1 / OVERFLOW SAT INCRBY u2 102 1, four times.
        let mut s = Vec::new();
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push((
                field_incrby(&mut s, 100, U2, 1, Overflow::Wrap),
                field_incrby(&mut s, 102, U2, 1, Overflow::Sat),
            ));
        }
        assert_eq!(out, vec![(Some(1), Some(1)), (Some(2), Some(2)), (Some(3), Some(3)), (Some(0), Some(3))]);
        // FAIL: returns nil and leaves the field alone.
        let mut s = Vec::new();
        let got: Vec<_> = (0..4).map(|_| field_incrby(&mut s, 102, U2, 1, Overflow::Fail)).collect();
        assert_eq!(got, vec![Some(1), Some(2), Some(3), None]);
        assert_eq!(field_get(&s, 102, U2), 3);

        // Unsigned wrap / sat (Redis test suite values).
        let mut s = Vec::new();
        field_set(&mut s, 0, U8, 100, Overflow::Wrap);
        assert_eq!(field_incrby(&mut s, 0, U8, 257, Overflow::Wrap), Some(101));
        assert_eq!(field_get(&s, 0, U8), 101);
        assert_eq!(field_incrby(&mut s, 0, U8, 255, Overflow::Wrap), Some(100));
        assert_eq!(field_incrby(&mut s, 0, U8, -101, Overflow::Wrap), Some(255));
        let mut s = Vec::new();
        field_set(&mut s, 0, U8, 100, Overflow::Wrap);
        assert_eq!(field_incrby(&mut s, 0, U8, 257, Overflow::Sat), Some(255));
        assert_eq!(field_incrby(&mut s, 0, U8, -255, Overflow::Sat), Some(0));
        assert_eq!(field_incrby(&mut s, 0, U8, -1, Overflow::Sat), Some(0));
        assert_eq!(field_incrby(&mut s, 0, U8, -1, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 0, U8, i64::MIN, Overflow::Sat), Some(0));
        assert_eq!(field_incrby(&mut s, 0, U8, i64::MAX, Overflow::Sat), Some(255));
        assert_eq!(field_incrby(&mut s, 0, U8, i64::MAX, Overflow::Wrap), Some(254));

        // Signed wrap / sat.
        let mut s = Vec::new();
        field_set(&mut s, 0, I8, 100, Overflow::Wrap);
        assert_eq!(field_incrby(&mut s, 0, I8, 257, Overflow::Wrap), Some(101));
        assert_eq!(field_incrby(&mut s, 0, I8, 255, Overflow::Wrap), Some(100));
        assert_eq!(field_incrby(&mut s, 0, I8, 28, Overflow::Wrap), Some(-128));
        assert_eq!(field_incrby(&mut s, 0, I8, -1, Overflow::Wrap), Some(127));
        let mut s = Vec::new();
        field_set(&mut s, 0, I8, 100, Overflow::Wrap);
        assert_eq!(field_incrby(&mut s, 0, I8, 257, Overflow::Sat), Some(127));
        assert_eq!(field_incrby(&mut s, 0, I8, -255, Overflow::Sat), Some(-128));
        assert_eq!(field_incrby(&mut s, 0, I8, -1, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 0, I8, 255, Overflow::Fail), Some(127));
        assert_eq!(field_incrby(&mut s, 0, I8, 1, Overflow::Fail), None);
    }

    #[test]
    fn bitfield_64bit_edges() {
        // i64: plain 64-bit two's complement wrap.
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 3, I64, i64::MAX, Overflow::Wrap), Some(0));
        assert_eq!(field_get(&s, 3, I64), i64::MAX);
        assert_eq!(field_incrby(&mut s, 3, I64, 1, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 3, I64, 1, Overflow::Sat), Some(i64::MAX));
        assert_eq!(field_incrby(&mut s, 3, I64, 1, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(field_incrby(&mut s, 3, I64, -1, Overflow::Sat), Some(i64::MIN));
        assert_eq!(field_incrby(&mut s, 3, I64, -1, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 3, I64, i64::MAX, Overflow::Fail), Some(-1));
        assert_eq!(field_incrby(&mut s, 3, I64, i64::MIN, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 3, I64, i64::MIN, Overflow::Sat), Some(i64::MIN));
        assert_eq!(field_incrby(&mut s, 3, I64, -1, Overflow::Wrap), Some(i64::MAX));
        assert_eq!(field_incrby(&mut s, 3, I64, i64::MAX, Overflow::Wrap), Some(-2));
        // Any i64 fits an i64 field: SET never overflows.
        assert_eq!(field_set(&mut s, 3, I64, i64::MIN, Overflow::Fail), Some(-2));
        assert_eq!(field_get(&s, 3, I64), i64::MIN);
        // u63: max = i64::MAX.
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 0, U63, i64::MAX, Overflow::Fail), Some(0));
        assert_eq!(field_get(&s, 0, U63), i64::MAX);
        assert_eq!(field_incrby(&mut s, 0, U63, 1, Overflow::Fail), None);
        assert_eq!(field_incrby(&mut s, 0, U63, 1, Overflow::Sat), Some(i64::MAX));
        assert_eq!(field_incrby(&mut s, 0, U63, 1, Overflow::Wrap), Some(0));
        assert_eq!(field_incrby(&mut s, 0, U63, -1, Overflow::Wrap), Some(i64::MAX));
        assert_eq!(field_incrby(&mut s, 0, U63, i64::MIN, Overflow::Sat), Some(0));
        // 0 + (-2^63) is a multiple of 2^63: wraps to 0.
        assert_eq!(field_incrby(&mut s, 0, U63, i64::MIN, Overflow::Wrap), Some(0));
        assert_eq!(field_incrby(&mut s, 0, U63, i64::MIN + 5, Overflow::Wrap), Some(5));
        // SET u63 with a negative value: Redis treats it as a huge unsigned -> too big.
        assert_eq!(field_set(&mut s, 0, U63, -1, Overflow::Sat), Some(5));
        assert_eq!(field_get(&s, 0, U63), i64::MAX);
        assert_eq!(field_set(&mut s, 0, U63, -1, Overflow::Wrap), Some(i64::MAX));
        assert_eq!(field_get(&s, 0, U63), i64::MAX);
        assert_eq!(field_set(&mut s, 0, U63, i64::MIN, Overflow::Wrap), Some(i64::MAX));
        assert_eq!(field_get(&s, 0, U63), 0);
        assert_eq!(field_set(&mut s, 0, U63, -5, Overflow::Fail), None);
        assert_eq!(s.len(), 8);
    }

    #[test]
    fn bitfield_set_out_of_range_values() {
        let mut s = Vec::new();
        // Unsigned, too big.
        assert_eq!(field_set(&mut s, 0, U8, 256, Overflow::Wrap), Some(0));
        assert_eq!(field_get(&s, 0, U8), 0);
        assert_eq!(field_set(&mut s, 0, U8, 257, Overflow::Wrap), Some(0));
        assert_eq!(field_get(&s, 0, U8), 1);
        assert_eq!(field_set(&mut s, 0, U8, 1000, Overflow::Sat), Some(1));
        assert_eq!(field_get(&s, 0, U8), 255);
        assert_eq!(field_set(&mut s, 0, U8, 256, Overflow::Fail), None);
        assert_eq!(field_get(&s, 0, U8), 255);
        // Unsigned, negative: wraps modulo 2^bits; SAT goes to the MAX (Redis quirk).
        assert_eq!(field_set(&mut s, 0, U8, -2, Overflow::Wrap), Some(255));
        assert_eq!(field_get(&s, 0, U8), 254);
        assert_eq!(field_set(&mut s, 0, U8, 0, Overflow::Wrap), Some(254));
        assert_eq!(field_set(&mut s, 0, U8, -1, Overflow::Sat), Some(0));
        assert_eq!(field_get(&s, 0, U8), 255);
        assert_eq!(field_set(&mut s, 0, U8, -1, Overflow::Fail), None);
        // Signed.
        assert_eq!(field_set(&mut s, 0, I8, 128, Overflow::Wrap), Some(-1));
        assert_eq!(field_get(&s, 0, I8), -128);
        assert_eq!(field_set(&mut s, 0, I8, -129, Overflow::Wrap), Some(-128));
        assert_eq!(field_get(&s, 0, I8), 127);
        assert_eq!(field_set(&mut s, 0, I8, 300, Overflow::Sat), Some(127));
        assert_eq!(field_get(&s, 0, I8), 127);
        assert_eq!(field_set(&mut s, 0, I8, -300, Overflow::Sat), Some(127));
        assert_eq!(field_get(&s, 0, I8), -128);
        assert_eq!(field_set(&mut s, 0, I8, 128, Overflow::Fail), None);
        assert_eq!(field_set(&mut s, 0, I8, -129, Overflow::Fail), None);
        assert_eq!(field_get(&s, 0, I8), -128);
        assert_eq!(field_set(&mut s, 0, I8, -128, Overflow::Fail), Some(-128));
        let i1 = FieldType { signed: true, bits: 1 };
        assert_eq!(field_set(&mut s, 0, i1, 1, Overflow::Wrap), Some(-1));
        assert_eq!(field_get(&s, 0, i1), -1);
        assert_eq!(field_set(&mut s, 0, i1, 1, Overflow::Sat), Some(-1));
        assert_eq!(field_get(&s, 0, i1), 0);
    }

    #[test]
    fn bitfield_fail_still_grows() {
        // Redis grows the string for every write op before running any; a FAILed op leaves
        // the zero padding behind.
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, 16, U8, 256, Overflow::Fail), None);
        assert_eq!(s, b"\0\0\0");
        let mut s = Vec::new();
        assert_eq!(field_incrby(&mut s, 0, FieldType { signed: false, bits: 9 }, -1, Overflow::Fail), None);
        assert_eq!(s, b"\0\0");
        // Impossible growth: None, nothing written.
        let mut s = Vec::new();
        assert_eq!(field_set(&mut s, u64::MAX - 3, U8, 1, Overflow::Wrap), None);
        assert_eq!(field_incrby(&mut s, u64::MAX, U8, 1, Overflow::Wrap), None);
        assert!(s.is_empty());
    }

    #[test]
    fn bitfield_hand_built_types_do_not_panic() {
        let mut s = Vec::new();
        for bits in [0u8, 1, 63, 64, 65, 255] {
            for signed in [false, true] {
                let ft = FieldType { signed, bits };
                let _ = field_get(&s, 5, ft);
                let _ = field_set(&mut s, 5, ft, -1, Overflow::Sat);
                let _ = field_incrby(&mut s, 5, ft, i64::MIN, Overflow::Wrap);
                let _ = field_incrby(&mut s, 5, ft, i64::MAX, Overflow::Sat);
            }
        }
    }

    #[test]
    fn bitfield_wrap_fuzz_against_reference() {
        let mut rng = Rng(4242);
        for _ in 0..2000 {
            let signed = rng.next() & 1 == 0;
            let bits = (rng.next() % if signed { 64 } else { 63 } + 1) as u8;
            let ft = FieldType { signed, bits };
            let off = rng.next() % 40;
            let mut s = rng.bytes(8, false);
            let before = s.clone();
            let old = field_get(&s, off, ft);
            let incr = (rng.next() as i64) >> (rng.next() % 64);
            let new = field_incrby(&mut s, off, ft, incr, Overflow::Wrap).unwrap_or(0);
            // Reference: arithmetic modulo 2^bits.
            let m = 1i128 << bits;
            let mut r = (i128::from(old) + i128::from(incr)).rem_euclid(m);
            if signed && r >= m / 2 {
                r -= m;
            }
            assert_eq!(i128::from(new), r);
            assert_eq!(field_get(&s, off, ft), new);
            // Only the field's bits changed.
            for p in 0..(s.len() as u64 * 8) {
                if p < off || p >= off + u64::from(bits) {
                    assert_eq!(get_bit(&s, p), get_bit(&before, p));
                }
            }
        }
    }

    #[test]
    fn lcs_docs_example() {
        let r = lcs(b"ohmytext", b"mynewtext").unwrap_or_default();
        assert_eq!(r.len, 6);
        assert_eq!(r.string, b"mytext");
        assert_eq!(r.matches, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
        // MINMATCHLEN 4 keeps only the first (caller-side filter).
        let kept: Vec<_> = r.matches.iter().filter(|m| m.2 >= 4).collect();
        assert_eq!(kept, vec![&((4, 7), (5, 8), 4)]);
        assert_eq!(lcs_len_with_limit(b"ohmytext", b"mynewtext", DEFAULT_PROTO_MAX_BULK_LEN), Ok(6));
    }

    #[test]
    fn lcs_edges() {
        let r = lcs(b"", b"").unwrap_or_default();
        assert_eq!((r.len, r.string.as_slice(), r.matches.len()), (0, &b""[..], 0));
        let r = lcs(b"abc", b"").unwrap_or_default();
        assert_eq!((r.len, r.matches.len()), (0, 0));
        let r = lcs(b"abc", b"xyz").unwrap_or_default();
        assert_eq!((r.len, r.matches.len()), (0, 0));
        let r = lcs(b"same", b"same").unwrap_or_default();
        assert_eq!(r.string, b"same");
        assert_eq!(r.matches, vec![((0, 3), (0, 3), 4)]);
        // Tie-breaking moves in b first: "ab" vs "ba" -> "b".
        let r = lcs(b"ab", b"ba").unwrap_or_default();
        assert_eq!(r.string, b"b");
        assert_eq!(r.matches, vec![((1, 1), (0, 0), 1)]);
        // Separate single-char matches, reported from the end.
        let r = lcs(b"axbxc", b"abc").unwrap_or_default();
        assert_eq!(r.string, b"abc");
        assert_eq!(r.matches, vec![((4, 4), (2, 2), 1), ((2, 2), (1, 1), 1), ((0, 0), (0, 0), 1)]);
        // Binary data.
        let r = lcs(b"\x00\xff\x00", b"\xff\x00").unwrap_or_default();
        assert_eq!(r.string, b"\xff\x00");
        assert_eq!(r.matches, vec![((1, 2), (0, 1), 2)]);
    }

    #[test]
    fn lcs_length_agrees_and_string_is_common_subsequence() {
        fn is_subseq(sub: &[u8], s: &[u8]) -> bool {
            let mut it = s.iter();
            sub.iter().all(|c| it.any(|x| x == c))
        }
        let mut rng = Rng(99);
        for _ in 0..200 {
            let a: Vec<u8> = (0..rng.next() % 30).map(|_| b'a' + (rng.next() % 3) as u8).collect();
            let b: Vec<u8> = (0..rng.next() % 30).map(|_| b'a' + (rng.next() % 3) as u8).collect();
            let r = lcs(&a, &b).unwrap_or_default();
            assert_eq!(r.string.len(), r.len);
            assert!(is_subseq(&r.string, &a) && is_subseq(&r.string, &b));
            assert_eq!(lcs_len_with_limit(&a, &b, u64::MAX), Ok(r.len));
            // Ranges cover exactly the LCS characters and match in both strings.
            let mut total = 0;
            for &((a0, a1), (b0, b1), n) in &r.matches {
                assert_eq!(a1 - a0 + 1, n);
                assert_eq!(b1 - b0 + 1, n);
                assert_eq!(a.get(a0..=a1), b.get(b0..=b1));
                total += n;
            }
            assert_eq!(total, r.len);
        }
    }

    #[test]
    fn lcs_limits() {
        // (3+1)*(3+1)*4 = 64 bytes.
        assert!(lcs_with_limit(b"abc", b"abc", 64).is_ok());
        assert_eq!(lcs_with_limit(b"abc", b"abc", 63), Err(LcsError::TableTooLarge));
        assert_eq!(lcs_len_with_limit(b"abc", b"abc", 63), Err(LcsError::TableTooLarge));
        assert_eq!(
            LcsError::TableTooLarge.message(),
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        );
        assert_eq!(LcsError::StringTooLong.to_string(), "ERR String too long for LCS");
        assert_eq!(
            LcsError::AllocFailed.message(),
            "ERR Insufficient memory, failed allocating transient memory for LCS"
        );
        // Size checks without allocating anything.
        let big = u32::MAX as usize - 2;
        assert_eq!(lcs_table_cells(big, 1, u64::MAX), Ok((big + 1) * 2));
        assert_eq!(lcs_table_cells(big + 1, 1, u64::MAX), Err(LcsError::StringTooLong));
        assert_eq!(lcs_table_cells(1, big + 1, u64::MAX), Err(LcsError::StringTooLong));
        assert_eq!(lcs_table_cells(100_000, 100_000, DEFAULT_PROTO_MAX_BULK_LEN), Err(LcsError::TableTooLarge));
        // 11585^2*4 just under 512 MB, 11586^2*4 just over.
        assert!(lcs_table_cells(11584, 11584, DEFAULT_PROTO_MAX_BULK_LEN).is_ok());
        assert_eq!(lcs_table_cells(11585, 11585, DEFAULT_PROTO_MAX_BULK_LEN), Err(LcsError::TableTooLarge));
    }

    #[test]
    fn large_strings_are_fast_paths_consistent() {
        // A 1 MB string: popcount and the word-skipping BITPOS scanner agree with slow paths.
        let mut s = vec![0u8; 1 << 20];
        assert_eq!(bit_count(&s, None), 0);
        assert_eq!(bit_pos(&s, true, None, None, BitUnit::Byte), -1);
        assert_eq!(bit_pos(&s, false, None, None, BitUnit::Byte), 0);
        set_bit(&mut s, 8_000_001, true);
        assert_eq!(bit_count(&s, None), 1);
        assert_eq!(bit_pos(&s, true, None, None, BitUnit::Byte), 8_000_001);
        assert_eq!(bit_pos(&s, true, Some(3), Some(-1), BitUnit::Bit), 8_000_001);
        assert_eq!(bit_pos(&s, true, Some(8_000_002), Some(-1), BitUnit::Bit), -1);
        s.iter_mut().for_each(|b| *b = 0xFF);
        set_bit(&mut s, 5_555_555, false);
        assert_eq!(bit_count(&s, None), (1 << 23) - 1);
        assert_eq!(bit_pos(&s, false, None, None, BitUnit::Byte), 5_555_555);
        assert_eq!(bit_pos(&s, false, Some(700_000), None, BitUnit::Byte), 1 << 23);
        assert_eq!(bit_pos(&s, false, Some(700_000), Some(-1), BitUnit::Byte), -1);
        assert_eq!(bit_count(&s, Some((5_555_555, 5_555_555, BitUnit::Bit))), 0);
        assert_eq!(bit_count(&s, Some((5_555_554, 5_555_556, BitUnit::Bit))), 2);
    }
}
