//! SORT and SORT_RO, with the semantics of Redis 7.0's `sort.c`: the elements of a list, set or sorted set sorted
//! numerically or by bytes (`ALPHA`), optionally by weights read from other keys (`BY`), answered as the elements
//! or as values read from other keys (`GET`), or stored as a list (`STORE`, SORT only).
//!
//! What is Redis's on purpose, down to its quirks:
//! - Weights are read with C's `strtod`: leading blanks, hexadecimal, `inf`; an empty string is 0; trailing
//!   garbage, NaN, overflow and underflow (any result below the smallest normal double) fail the whole command
//!   with `ERR One or more scores can't be converted into double`. Equal weights fall back to the elements' bytes.
//! - `ALPHA` compares bytes: `strcoll` in the C locale, so up to the first NUL, except with `STORE`, which compares
//!   whole values. Equal `ALPHA` weights keep the input order (glibc's `qsort` is a stable merge sort), and when a
//!   `LIMIT` selects a part of the result, Redis sorts with its own partial quicksort, whose order among equal
//!   weights this file reproduces ([`pqsort`]).
//! - Option words and patterns are C strings: an argument is read up to its first NUL (`BY "w_\x00*"` holds no
//!   `*`, so it means no sorting).
//! - `BY` with a pattern without `*` means no sorting: lists and sorted sets keep their order (`DESC` reverses it,
//!   `LIMIT` takes its range directly), sets keep theirs unless the result is stored or a script asks, where Redis
//!   sorts them by bytes so that the result is the same everywhere. A sorted set is converted to its `skiplist`
//!   encoding by any SORT, as Redis does ("destructively convert encoded sorted sets for SORT").
//! - A user without read access to every key may not use `BY` patterns or `GET` (Redis's
//!   `ACLUserCheckCmdWithUnrestrictedKeyAccess`), and STORE needs write access to the destination ([`key_access`]).
//!
//! # Locking
//! BY and GET read keys whose names only the data gives, and STORE's destination can stand anywhere after the
//! source, so no position in the command table names them. The rows are `ITERATES`: the lock plan takes every shard
//! of the selected database before the handler runs (and an EXEC or script holding SORT takes every shard). SORT
//! never leaves its database, so this is enough, where `GLOBAL` would also hold every other database. The key spec
//! names the source only (`Keys` has no keyword search to find `STORE destination` with), so COMMAND GETKEYS
//! answers the source alone where Redis adds the destination.
//!
//! # Effects
//! SORT ... STORE is logged as sent (a verbatim row), as Redis propagates it: replayed on a replica or from the
//! change log, its BY and GET reads see the same data (lazily expired keys' DELs go first in the same group), and
//! its order never depends on how a hash table happens to be laid out: sets held in a table and sorted sets are
//! visited in byte order before an ALPHA sort, whose equal weights keep the input order. Redis visits them in hash
//! order there, which differs between processes, so any order is Redis's; choosing a fixed one keeps the stored
//! list identical on every replay.

use super::args::int;
use super::ctx::{Caller, Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::dict::Dict;
use crate::store::event::Event;
use crate::store::types::ranktree::RankTree;
use crate::store::types::{SetValue, ZSetValue, ZsetLimits};
use crate::store::Value;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::VecDeque;

const NOT_DOUBLE: CmdError = CmdError::fixed("ERR One or more scores can't be converted into double");
const BY_DENIED: CmdError = CmdError::fixed("ERR BY option of SORT denied due to insufficient ACL permissions.");
const GET_DENIED: CmdError = CmdError::fixed("ERR GET option of SORT denied due to insufficient ACL permissions.");

/// An argument as C sees it: up to its first NUL.
fn cstr(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |n| &a[..n])
}

/// An option word, compared as `strcasecmp` does.
fn word(a: &[u8], w: &str) -> bool {
    cstr(a).eq_ignore_ascii_case(w.as_bytes())
}

/// The parsed options.
struct Options {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    by: Option<Bytes>,
    /// Set by any BY pattern without `*`, and kept by later BY options, as in Redis.
    dontsort: bool,
    store: Option<Bytes>,
    gets: Vec<Bytes>,
}

/// Parses the options after the key, in order: the first bad one answers.
///
/// # Errors
/// `ERR syntax error`, `ERR value is not an integer or out of range` for LIMIT, and the ACL refusals of BY and GET
/// when `full_access` is false.
fn parse(args: &[Bytes], readonly: bool, full_access: bool) -> CmdResult<Options> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        by: None,
        dontsort: false,
        store: None,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if word(a, "asc") {
            o.desc = false;
        } else if word(a, "desc") {
            o.desc = true;
        } else if word(a, "alpha") {
            o.alpha = true;
        } else if word(a, "limit") && left >= 2 {
            o.limit_start = int(&args[j + 1])?;
            o.limit_count = int(&args[j + 2])?;
            j += 2;
        } else if !readonly && word(a, "store") && left >= 1 {
            o.store = Some(args[j + 1].clone());
            j += 1;
        } else if word(a, "by") && left >= 1 {
            let p = &args[j + 1];
            if !cstr(p).contains(&b'*') {
                o.dontsort = true;
            } else if !full_access {
                return Err(BY_DENIED);
            }
            o.by = Some(p.clone());
            j += 1;
        } else if word(a, "get") && left >= 1 {
            if !full_access {
                return Err(GET_DENIED);
            }
            o.gets.push(args[j + 1].clone());
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The position of STORE's destination as Redis's key finder for SORT (`sortGetKeys`) sees it: options are
/// skipped with their argument counts (LIMIT 2, GET and BY 1), and the last `STORE <key>` counts.
fn store_position(args: &[Bytes]) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if word(a, "limit") {
            i += 2;
        } else if word(a, "store") && i + 1 < args.len() {
            // The destination itself is looked at as an option next, as Redis's loop does.
            found = Some(i + 1);
        } else if word(a, "get") || word(a, "by") {
            i += 1;
        }
        i += 1;
    }
    found
}

/// What the client's user may do beyond what the gate checked (the source key, read): returns whether it may read
/// every key (so may use BY patterns and GET). A selector that allows the command must also allow reading the
/// source and writing STORE's destination for BY and GET to be judged by it, so both are checked here again.
///
/// # Errors
/// `NOPERM this user has no permissions to access one of the keys used as arguments` when no selector allows the
/// command with write access to the destination.
fn key_access(ctx: &Ctx<'_>, args: &[Bytes], dest: Option<&[u8]>) -> CmdResult<bool> {
    // A primary's stream and a change-log replay run with every permission, as Redis's master client does.
    if ctx.caller == Caller::Primary || ctx.client.replaying {
        return Ok(true);
    }
    let user = &ctx.client.acl.user;
    if user.unrestricted() {
        return Ok(true);
    }
    let Some(cmd) = crate::engine::table::table().get(&args[0]) else { return Ok(false) };
    let mut allowed = false;
    for sel in user.selectors() {
        let by_first_arg = sel.first_args(cmd.id).is_some_and(|l| l.iter().any(|a| a.eq_ignore_ascii_case(&args[1])));
        if !(sel.all_commands || sel.bit(cmd.id) || by_first_arg) {
            continue;
        }
        let may = |key: &[u8], read: bool, write: bool| {
            sel.all_keys
                || sel.keys.iter().any(|p| {
                    (p.read || !read) && (p.write || !write) && crate::util::glob::glob_match(&p.pattern, key, false)
                })
        };
        if !may(&args[1], true, false) || dest.is_some_and(|d| !may(d, false, true)) {
            continue;
        }
        allowed = true;
        if sel.all_keys || sel.keys.iter().any(|p| p.read && p.pattern[..] == *b"*") {
            return Ok(true);
        }
    }
    if allowed {
        Ok(false)
    } else {
        Err(error::NOPERM_KEY)
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` (of the pattern read as a C
/// string) is replaced by the element, and a `->field` after it (with something after the arrow) reads that field
/// of a hash, else the key must hold a string. A pattern without `*`, a missing key or a key of another type give
/// nothing. The key is looked up as a read (hits, misses, lazy expiry).
fn lookup_by_pattern(ctx: &mut Ctx<'_>, pattern: &[u8], subst: &[u8]) -> Option<Bytes> {
    let c = cstr(pattern);
    if c == b"#" {
        return Some(Bytes::copy_from_slice(subst));
    }
    let star = c.iter().position(|&b| b == b'*')?;
    let arrow = c[star + 1..].windows(2).position(|w| w == b"->").map(|i| star + 1 + i).filter(|&f| f + 2 < c.len());
    let key_end = arrow.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let entry = ctx.read(&key)?;
    match arrow {
        Some(f) => entry.value.as_hash()?.get(&pattern[f + 2..]),
        None => entry.value.as_str().map(|s| s.to_bytes()),
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_nocase(s: &[u8], w: &[u8]) -> bool {
    s.len() >= w.len() && s[..w.len()].eq_ignore_ascii_case(w)
}

/// A weight as Redis reads it: `strtod` over the value as a C string, refused (None) when it stops before the
/// end, sets ERANGE (overflow, or a nonzero value below the smallest normal double) or gives NaN.
fn score_of(s: &[u8]) -> Option<f64> {
    let c = cstr(s);
    let mut i = 0;
    while i < c.len() && is_c_space(c[i]) {
        i += 1;
    }
    let body = i;
    let neg = c.get(i) == Some(&b'-');
    if matches!(c.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = &c[i..];
    if starts_with_nocase(rest, b"inf") {
        let n = if starts_with_nocase(rest, b"infinity") { 8 } else { 3 };
        return (i + n == c.len()).then_some(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if starts_with_nocase(rest, b"nan") {
        return None;
    }
    let hex_digit = |k: usize| rest.get(k).is_some_and(|b| b.is_ascii_hexdigit());
    if rest.len() > 2
        && rest[0] == b'0'
        && rest[1].eq_ignore_ascii_case(&b'x')
        && (hex_digit(2) || (rest[2] == b'.' && hex_digit(3)))
    {
        let (v, underflow, used) = hex_float(&rest[2..]);
        if i + 2 + used != c.len() || underflow || v.is_infinite() {
            return None;
        }
        return Some(if neg { -v } else { v });
    }
    let digits = |from: usize| rest[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = digits(0);
    let mut k = int_digits;
    let mut frac_digits = 0;
    if rest.get(k) == Some(&b'.') {
        frac_digits = digits(k + 1);
        k += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        // No conversion: strtod leaves its end at the start, which is the end only for an empty string.
        return c.is_empty().then_some(0.0);
    }
    let nonzero = rest[..k].iter().any(|b| (b'1'..=b'9').contains(b));
    if matches!(rest.get(k), Some(b'e' | b'E')) {
        let mut e = k + 1;
        if matches!(rest.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let n = digits(e);
        if n > 0 {
            k = e + n;
        }
    }
    if i + k != c.len() {
        return None;
    }
    let text = std::str::from_utf8(&c[body..i + k]).ok()?;
    in_range(text.parse().ok()?, nonzero)
}

/// Refuses what makes glibc's strtod set ERANGE: an infinite result, or a nonzero input whose result is below the
/// smallest normal double. Two decimal corner cases are judged differently, both within a few units of the last
/// place of a subnormal: glibc lets through a subnormal written out exactly (some 750 digits), and refuses a value
/// less than half a unit below the smallest normal that rounds up to it (it tests tininess after rounding to 53
/// bits). The hexadecimal form, where both are cheap to tell, follows glibc exactly ([`hex_float`]).
fn in_range(v: f64, nonzero_input: bool) -> Option<f64> {
    if v.is_infinite() || (nonzero_input && v.abs() < f64::MIN_POSITIVE) {
        None
    } else {
        Some(v)
    }
}

/// A hexadecimal floating-point body (after `0x`): digits, an optional fraction and an optional binary exponent
/// (`p[+-]digits`). Returns the value, whether strtod would report an underflow (a nonzero value below the smallest
/// normal double that cannot be held exactly), and the bytes used. Up to 15 significant digits are kept, the rest
/// folded into a sticky bit, so rounding to a double is exact.
fn hex_float(s: &[u8]) -> (f64, bool, usize) {
    let mut mant: u64 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut exp: i64 = 0;
    let mut i = 0;
    let mut seen_point = false;
    while i < s.len() {
        let b = s[i];
        if b == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (b as char).to_digit(16) else { break };
        if mant == 0 && d == 0 {
            // Leading zeros only move the point.
            if seen_point {
                exp -= 4;
            }
        } else if kept < 15 {
            mant = mant << 4 | u64::from(d);
            kept += 1;
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut e = i + 1;
        let neg = s.get(e) == Some(&b'-');
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let n = s[e..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let mut v: i64 = 0;
            for &b in &s[e..e + n] {
                v = (v * 10 + i64::from(b - b'0')).min(100_000);
            }
            exp += if neg { -v } else { v };
            i = e + n;
        }
    }
    let underflow = mant != 0
        && tiny_after_rounding(mant, sticky, exp)
        && (sticky || i64::from(mant.trailing_zeros()) + exp < -1074);
    if sticky {
        // Below the 53 bits a double keeps: only breaks ties, as the dropped digits would.
        mant |= 1;
    }
    let mut v = mant as f64;
    let mut e = exp.clamp(-3000, 3000) as i32;
    while e != 0 && v != 0.0 && v.is_finite() {
        let step = e.clamp(-1000, 1000);
        v *= 2f64.powi(step);
        e -= step;
    }
    (v, underflow, i)
}

/// Whether `mant * 2^exp` (plus a sticky bit below `mant`) is below the smallest normal double once rounded to a
/// double's 53 bits with an unbounded exponent: glibc's test for underflow (tininess after rounding), which then
/// needs the subnormal result to be inexact as well.
fn tiny_after_rounding(mant: u64, sticky: bool, exp: i64) -> bool {
    let bits = 64 - i64::from(mant.leading_zeros());
    let mut top = bits - 1 + exp;
    if bits > 53 {
        let shift = bits - 53;
        let rem = mant & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        let kept = mant >> shift;
        let up = rem > half || (rem == half && (sticky || kept & 1 == 1));
        if up && kept + 1 == 1u64 << 53 {
            top += 1;
        }
    }
    top < -1022
}

/// One element to sort: its value, its numeric weight and (ALPHA with BY) its weight's bytes.
struct Item {
    elem: Bytes,
    score: f64,
    by: Option<Bytes>,
}

/// How two items compare (Redis's `sortCompare`), before DESC.
#[derive(Clone, Copy)]
struct Compare {
    alpha: bool,
    by: bool,
    store: bool,
}

impl Compare {
    fn bytes(self, a: &[u8], b: &[u8]) -> Ordering {
        // STORE compares whole values; a reply uses strcoll, which stops at a NUL.
        if self.store {
            a.cmp(b)
        } else {
            cstr(a).cmp(cstr(b))
        }
    }

    fn cmp(self, a: &Item, b: &Item) -> Ordering {
        if !self.alpha {
            match a.score.partial_cmp(&b.score) {
                Some(Ordering::Equal) | None => a.elem.cmp(&b.elem),
                Some(o) => o,
            }
        } else if self.by {
            match (&a.by, &b.by) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => self.bytes(x, y),
            }
        } else {
            self.bytes(&a.elem, &b.elem)
        }
    }
}

/// Redis's partial quicksort (`pqsort.c`, the Bentley-McIlroy quicksort of NetBSD's `qsort` that leaves alone the
/// partitions outside `lrange..=rrange`). Only its order among equal elements matters to us (ALPHA weights read
/// with BY, under a LIMIT), which depends on the exact steps, so they are followed one for one. Partitions are
/// kept on a stack of our own instead of the C stack: each is sorted on its own, so the order they are visited in
/// changes nothing.
fn pqsort<T>(v: &mut [T], lrange: usize, rrange: usize, cmp: impl Fn(&T, &T) -> Ordering) {
    let mut todo = vec![(0usize, v.len())];
    while let Some((a, n)) = todo.pop() {
        pqsort_part(v, a, n, lrange, rrange, &cmp, &mut todo);
    }
}

fn insertion_sort<T>(v: &mut [T], a: usize, n: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in a + 1..a + n {
        let mut l = m;
        while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    use Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

/// Swaps `n` elements from `x` with `n` elements from `y`, pairwise.
fn vecswap<T>(v: &mut [T], x: usize, y: usize, n: usize) {
    for i in 0..n {
        v.swap(x + i, y + i);
    }
}

/// One partitioning step over `v[a..a + n]`; the partitions still to sort go to `todo`.
fn pqsort_part<T>(
    v: &mut [T],
    a: usize,
    n: usize,
    lrange: usize,
    rrange: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    todo: &mut Vec<(usize, usize)>,
) {
    use Ordering::{Equal, Greater, Less};
    if n < 7 {
        insertion_sort(v, a, n, cmp);
        return;
    }
    let mut pm = a + n / 2;
    if n > 7 {
        let mut pl = a;
        let mut pn = a + n - 1;
        if n > 40 {
            let d = n / 8;
            pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
            pm = med3(v, pm - d, pm, pm + d, cmp);
            pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
        }
        pm = med3(v, pl, pm, pn, cmp);
    }
    v.swap(a, pm);
    let (mut pa, mut pb) = (a + 1, a + 1);
    let (mut pc, mut pd) = (a + n - 1, a + n - 1);
    let mut swapped = false;
    loop {
        while pb <= pc {
            let r = cmp(&v[pb], &v[a]);
            if r == Greater {
                break;
            }
            if r == Equal {
                swapped = true;
                v.swap(pa, pb);
                pa += 1;
            }
            pb += 1;
        }
        while pb <= pc {
            let r = cmp(&v[pc], &v[a]);
            if r == Less {
                break;
            }
            if r == Equal {
                swapped = true;
                v.swap(pc, pd);
                pd -= 1;
            }
            pc -= 1;
        }
        if pb > pc {
            break;
        }
        v.swap(pb, pc);
        swapped = true;
        pb += 1;
        pc -= 1;
    }
    if !swapped {
        insertion_sort(v, a, n, cmp);
        return;
    }
    let pn = a + n;
    let r = (pa - a).min(pb - pa);
    vecswap(v, a, pb - r, r);
    let r = (pd - pc).min(pn - pd - 1);
    vecswap(v, pb, pn - r, r);
    // A partition is sorted unless the wanted range lies wholly before or after it.
    let wanted = |lo: usize, len: usize| {
        let hi = lo + len - 1;
        !((lrange < lo && rrange < lo) || (lrange > hi && rrange > hi))
    };
    let r = pb - pa;
    if r > 1 && wanted(a, r) {
        todo.push((a, r));
    }
    let r = pd - pc;
    if r > 1 && wanted(pn - r, r) {
        todo.push((pn - r, r));
    }
}

/// Converts a compact sorted set to the `skiplist` encoding, as Redis does to every sorted set it sorts.
fn to_skiplist(z: &mut ZSetValue) {
    if let ZSetValue::Small(members) = z {
        let mut big = ZSetValue::Big { scores: Dict::default(), order: RankTree::new() };
        let limits = ZsetLimits { max_entries: 0, max_value: 0 };
        for (score, m) in members.iter() {
            big.insert(m, *score, limits);
        }
        *z = big;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    sort_generic(ctx, args, true)
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], readonly: bool) -> CmdResult<Reply> {
    let dest_at = if readonly { None } else { store_position(args) };
    let full_access = key_access(ctx, args, dest_at.and_then(|p| args.get(p)).map(|d| &d[..]))?;
    let o = parse(args, readonly, full_access)?;
    let src = &args[1];

    // The source: a missing key sorts as an empty list.
    let (kind, len) = match ctx.read(src) {
        None => (Kind::List, 0),
        Some(e) => match &e.value {
            Value::List(l) => (Kind::List, l.len()),
            Value::Set(s) => (Kind::Set, s.len()),
            Value::ZSet(z) => (Kind::ZSet, z.len()),
            _ => return Err(error::WRONGTYPE),
        },
    };
    let (mut dontsort, mut alpha, mut by) = (o.dontsort, o.alpha, o.by.clone());
    if dontsort && kind == Kind::Set && (o.store.is_some() || ctx.caller == Caller::Script) {
        // A set's own order is not the same everywhere: stored results and scripts get it sorted by bytes.
        dontsort = false;
        alpha = true;
        by = None;
    }
    if kind == Kind::ZSet
        && ctx.peek(src).is_some_and(|e| matches!(&e.value, Value::ZSet(z) if matches!(**z, ZSetValue::Small(_))))
    {
        if let Some(z) = ctx.write_as(src, Value::as_zset_mut)? {
            to_skiplist(z);
        }
    }

    // LIMIT, clamped to the input as Redis does.
    let n = len as i64;
    let mut start = o.limit_start.clamp(0, n);
    let count = o.limit_count.clamp(-1, n);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    if end >= n {
        end = n - 1;
    }

    // The elements. Lists and sorted sets left unsorted are read in their order (reversed by DESC), and only
    // the range LIMIT selects.
    let direct = dontsort && kind != Kind::Set;
    let canonical = !dontsort && alpha;
    let elems: Vec<Bytes> = match ctx.peek(src).map(|e| &e.value) {
        Some(Value::List(l)) if direct => {
            if end >= start {
                let (s, e) = (start as usize, end as usize);
                if o.desc {
                    l.iter().rev().skip(s).take(e - s + 1).cloned().collect()
                } else {
                    l.range(s..=e.min(l.len().saturating_sub(1))).cloned().collect()
                }
            } else {
                Vec::new()
            }
        }
        Some(Value::List(l)) => l.iter().cloned().collect(),
        Some(Value::Set(s)) => {
            let mut m = s.members();
            if canonical && matches!(**s, SetValue::Table(_)) {
                m.sort();
            }
            m
        }
        Some(Value::ZSet(z)) if direct => {
            if end >= start {
                let (s, e) = (start as usize, end as usize);
                if o.desc {
                    let top = len - 1;
                    z.range(top - e, top - s).into_iter().rev().map(|(_, m)| m).collect()
                } else {
                    z.range(s, e).into_iter().map(|(_, m)| m).collect()
                }
            } else {
                Vec::new()
            }
        }
        Some(Value::ZSet(z)) => {
            let mut m: Vec<Bytes> = z.entries().into_iter().map(|(m, _)| m).collect();
            if canonical {
                m.sort();
            }
            m
        }
        _ => Vec::new(),
    };
    if direct && end >= start {
        end -= start;
        start = 0;
    }
    let mut items: Vec<Item> = elems.into_iter().map(|elem| Item { elem, score: 0.0, by: None }).collect();

    if !dontsort {
        let mut bad = false;
        for it in items.iter_mut() {
            let weight = match &by {
                Some(p) => match lookup_by_pattern(ctx, p, &it.elem) {
                    Some(w) => w,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if alpha {
                if by.is_some() {
                    it.by = Some(weight);
                }
            } else {
                match score_of(&weight) {
                    Some(s) => it.score = s,
                    None => bad = true,
                }
            }
        }
        if bad {
            return Err(NOT_DOUBLE);
        }
        let c = Compare { alpha, by: by.is_some(), store: o.store.is_some() };
        let desc = o.desc;
        let cmp = move |a: &Item, b: &Item| {
            let r = c.cmp(a, b);
            if desc {
                r.reverse()
            } else {
                r
            }
        };
        let whole = start == 0 && end == items.len() as i64 - 1;
        if by.is_some() && !whole {
            // Redis sorts only the LIMIT range with its partial quicksort. Only equal ALPHA weights can tell it
            // from a full stable sort (numeric ties fall back to the elements' bytes); an empty range needs none.
            if alpha && end >= start {
                pqsort(&mut items, start as usize, end as usize, cmp);
            } else if !alpha {
                items.sort_by(cmp);
            }
        } else {
            items.sort_by(cmp);
        }
    }

    let range: &[Item] = match items.get(start.max(0) as usize..) {
        Some(from) if end >= start => &from[..from.len().min((end - start + 1) as usize)],
        _ => &[],
    };
    let Some(dest) = o.store else {
        let mut out = Vec::with_capacity(range.len() * o.gets.len().max(1));
        for it in range {
            if o.gets.is_empty() {
                out.push(Reply::Bulk(it.elem.clone()));
            }
            for g in &o.gets {
                out.push(lookup_by_pattern(ctx, g, &it.elem).map_or(Reply::Nil, Reply::Bulk));
            }
        }
        return Ok(Reply::Array(out));
    };
    let mut list = VecDeque::with_capacity(range.len() * o.gets.len().max(1));
    for it in range {
        if o.gets.is_empty() {
            list.push_back(it.elem.clone());
        }
        for g in &o.gets {
            list.push_back(lookup_by_pattern(ctx, g, &it.elem).unwrap_or_default());
        }
    }
    let stored = list.len() as i64;
    if list.is_empty() {
        // An empty result deletes the destination (a `del` event), and changes nothing when it is missing.
        ctx.remove(&dest);
    } else {
        ctx.set(&dest, Value::List(Box::new(list)), Ttl::Clear, Event::Sortstore);
    }
    Ok(Reply::Int(stored))
}

const G: &str = "generic";
const USAGE: &str = "key [BY pattern] [offset_count=LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] \
                     [sorting=ALPHA] [STORE destination]";
const USAGE_RO: &str =
    "key [BY pattern] [offset_count=LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [sorting=ALPHA]";
const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";
/// Redis's categories: `@list` comes from the documentation group. Redis documents SORT in the `generic` group, which
/// here would add `@keyspace` (Redis's SORT is not in it), so the rows say `list`.
const ACL: &[&str] = &["set", "sortedset", "list", "dangerous"];

/// SORT's source, and the destination after its STORE (Redis's `sortGetKeys`).
const SORT_KEYS: Keys = Keys::Store { first: 1, find: store_position, words: &[], from: 0 };

/// The SORT rows. `ITERATES`: see the module notes on locking.
pub static COMMANDS: &[CommandSpec] = &[
    spec("sort", -2, WRITE | DENYOOM | ITERATES, SORT_KEYS, sort)
        .key_flags(&["RO", "access"])
        .pattern_keys()
        .acl(ACL)
        .doc(G, "1.0.0", "Sort the elements in a list, set or sorted set", USAGE)
        .complexity(COMPLEXITY),
    spec("sort_ro", -2, READONLY | ITERATES, Keys::one(1), sort_ro)
        .pattern_keys()
        .acl(ACL)
        .doc(G, "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", USAGE_RO)
        .complexity(COMPLEXITY),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_as_strtod_reads_them() {
        for (s, want) in [
            ("1", Some(1.0)),
            ("", Some(0.0)),
            (" 3", Some(3.0)),
            ("\t7", Some(7.0)),
            ("+.5", Some(0.5)),
            ("-0", Some(-0.0)),
            ("1e308", Some(1e308)),
            ("1.", Some(1.0)),
            ("1e", None),
            ("1e+", None),
            (".e1", None),
            ("3 ", None),
            ("   ", None),
            ("-", None),
            ("1_0", None),
            ("0x10", Some(16.0)),
            ("0x1p3", Some(8.0)),
            ("0X.8", Some(0.5)),
            ("0x", None),
            ("0x1p", None),
            ("inf", Some(f64::INFINITY)),
            ("-INFINITY", Some(f64::NEG_INFINITY)),
            ("infx", None),
            ("nan", None),
            ("nan(123)", None),
            ("1e400", None),
            ("1e-400", None),
            ("1e-310", None),
            ("4.9e-324", None),
            ("2.2250738585072011e-308", None),
            ("2.2250738585072014e-308", Some(2.2250738585072014e-308)),
            ("0e-400", Some(0.0)),
            ("0x0p-5000", Some(0.0)),
            ("0x1p-1074", Some(f64::from_bits(1))),
            ("0x3p-1075", None),
            ("0x1p-1075", None),
            ("0x1.8p-1073", Some(f64::from_bits(3))),
            ("0x1p-1022", Some(f64::MIN_POSITIVE)),
            ("0x1.fffffffffffffp-1023", None),
            ("0x1.fffffffffffff8p-1023", Some(f64::MIN_POSITIVE)),
            ("0x1.fffffffffffff7p-1023", None),
            ("0x1.fffffffffffff0000001p-1023", None),
            ("0x0.0000000000001p-1022", Some(f64::from_bits(1))),
            ("0x1.0000000000001p-1022", Some(f64::from_bits((1 << 52) | 1))),
            ("0x1p1023", Some(2f64.powi(1023))),
            ("0x1.fffffffffffff8p1023", None),
            ("0x1p1024", None),
            ("0x.0000000000000000000000001p100", Some(1.0)),
            ("0x1p1024", None),
        ] {
            assert_eq!(score_of(s.as_bytes()), want, "{s:?}");
        }
        assert_eq!(score_of(b"12\x00junk"), Some(12.0));
        assert_eq!(score_of(b"\x00"), Some(0.0));
        assert_eq!(score_of(b"0x123456789abcdef01"), Some(0x123456789abcdef01u128 as f64));
    }

    /// The ACL categories COMMAND INFO of redis-server 7.0 lists.
    #[test]
    fn acl_categories_match_redis() {
        for (name, first) in [("sort", "@write"), ("sort_ro", "@read")] {
            let cmd = crate::commands::TABLE.by_full_name(name.as_bytes()).expect("row");
            assert_eq!(
                crate::commands::introspect::acl_categories(cmd),
                [first, "@set", "@sortedset", "@list", "@slow", "@dangerous"],
                "{name}"
            );
        }
    }

    /// COMMAND DOCS names the arguments as Redis's command JSON does.
    #[test]
    fn usage_names_match_redis() {
        let names =
            |u: &str| -> Vec<String> { crate::commands::docs::parse_usage(u).into_iter().map(|a| a.name).collect() };
        assert_eq!(names(USAGE), ["key", "pattern", "offset_count", "pattern", "order", "sorting", "destination"]);
        assert_eq!(names(USAGE_RO), ["key", "pattern", "offset_count", "pattern", "order", "sorting"]);
    }

    #[test]
    fn store_position_follows_redis() {
        let argv = |s: &str| s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect::<Vec<_>>();
        assert_eq!(store_position(&argv("sort l")), None);
        assert_eq!(store_position(&argv("sort l store d")), Some(3));
        assert_eq!(store_position(&argv("sort l store a by x store b")), Some(7));
        assert_eq!(store_position(&argv("sort l get store store d")), Some(5));
        assert_eq!(store_position(&argv("sort l limit store x store d")), Some(6));
        assert_eq!(store_position(&argv("sort l store")), None);
    }

    /// The order of equal elements matches Redis's partial quicksort (checked against redis-server 7.0:
    /// `SORT t BY nokey_* ALPHA DESC LIMIT 0 3` over `e d c b a f g h i j k` answers `k d c`).
    #[test]
    fn pqsort_matches_redis_on_ties() {
        let mut v: Vec<u8> = b"edcbafghijk".to_vec();
        pqsort(&mut v, 0, 2, |_, _| Ordering::Equal);
        assert_eq!(&v[..3], b"kdc");
        let mut v: Vec<u8> = b"edcbafghijk".to_vec();
        pqsort(&mut v, 2, 5, |_, _| Ordering::Equal);
        assert_eq!(&v[2..6], b"cbaf");
    }

    #[test]
    fn pqsort_sorts_the_range() {
        let mut seed = 7u64;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 200, 1000] {
            let mut v: Vec<u64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (seed >> 33) % 50
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort();
            let (lo, hi) = (n / 3, (n / 2).max(n / 3));
            if n > 0 {
                pqsort(&mut v, lo, hi, |a, b| a.cmp(b));
                assert_eq!(v[lo..=hi], sorted[lo..=hi], "n={n}");
            }
        }
    }
}
