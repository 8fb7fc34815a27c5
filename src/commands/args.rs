//! Argument parsing helpers shared by every family, each mapping bad input to Redis's error text.

use crate::error::{CmdError, CmdResult, NOT_FLOAT, NOT_INTEGER};
use crate::util::num::{parse_f64, parse_i64};

/// An integer argument.
///
/// # Errors
/// `ERR value is not an integer or out of range`.
#[inline]
pub fn int(a: &[u8]) -> CmdResult<i64> {
    parse_i64(a).ok_or(NOT_INTEGER)
}

/// An integer argument with a custom error.
///
/// # Errors
/// `err` when `a` is not an integer.
pub fn int_or(a: &[u8], err: CmdError) -> CmdResult<i64> {
    parse_i64(a).ok_or(err)
}

/// A float argument (no NaN).
///
/// # Errors
/// `ERR value is not a valid float`.
pub fn float(a: &[u8]) -> CmdResult<f64> {
    parse_f64(a).ok_or(NOT_FLOAT)
}

/// Case-insensitive comparison with an option word.
#[inline]
pub fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

/// Lossy text of an argument, for error messages and names.
pub fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// Most elements a random-sampling reply with repetitions (negative count) may hold: the reply is built in
/// memory, so an absurd count must be refused rather than exhaust it.
pub const MAX_SAMPLE_REPLY: u64 = 1 << 24;

/// The count of SRANDMEMBER / HRANDFIELD / ZRANDMEMBER: any `long` except LONG_MIN, as Redis's
/// getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX); negative counts above [`MAX_SAMPLE_REPLY`] are refused.
///
/// # Errors
/// `ERR value is not an integer or out of range`, `ERR value is out of range, value must between ...`.
pub fn sample_count(a: &[u8], with_values: bool) -> CmdResult<i64> {
    let n = int(a)?;
    if n == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    // Redis's own check: with values, the reply holds twice as many elements.
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("value is out of range"));
    }
    if n < 0 && n.unsigned_abs() > MAX_SAMPLE_REPLY {
        return Err(CmdError::err(format!("value is out of range, count must be at least -{MAX_SAMPLE_REPLY}")));
    }
    Ok(n)
}

/// A non-negative count argument (SCAN COUNT and the like).
///
/// # Errors
/// `ERR value is not an integer or out of range`.
pub fn positive(a: &[u8]) -> CmdResult<i64> {
    match parse_i64(a) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(NOT_INTEGER),
    }
}

/// Parses `numkeys key... <first>|<second> [COUNT n]` (LMPOP's LEFT|RIGHT, ZMPOP's MIN|MAX, and their blocking
/// forms) starting at `at`; returns (keys, whether the direction is `first`, count).
///
/// # Errors
/// Redis's texts for a bad numkeys or count, and `ERR syntax error` for anything else out of place.
pub fn mpop(
    args: &[bytes::Bytes],
    at: usize,
    first: &str,
    second: &str,
) -> CmdResult<(Vec<bytes::Bytes>, bool, usize)> {
    let n = parse_i64(&args[at]).unwrap_or(0);
    if n <= 0 {
        return Err(CmdError::err("numkeys should be greater than 0"));
    }
    let n = n as usize;
    if n > args.len() - at - 1 {
        return Err(crate::error::SYNTAX);
    }
    let keys = args[at + 1..at + 1 + n].to_vec();
    let mut j = at + 1 + n;
    let towards_first = match args.get(j) {
        Some(a) if is(a, first) => true,
        Some(a) if is(a, second) => false,
        _ => return Err(crate::error::SYNTAX),
    };
    j += 1;
    let mut count = 1;
    let mut seen_count = false;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() && !seen_count {
            let c = int(&args[j + 1]).map_err(|_| CmdError::err("count should be greater than 0"))?;
            if c <= 0 {
                return Err(CmdError::err("count should be greater than 0"));
            }
            count = c as usize;
            seen_count = true;
            j += 2;
        } else {
            return Err(crate::error::SYNTAX);
        }
    }
    Ok((keys, towards_first, count))
}

/// The command as sent plus `TS at`: the effect of an extension write that depends on the time (CTR.*, EXP.*),
/// so replicas and the change log record the event where the primary did.
pub fn with_timestamp(args: &[bytes::Bytes], at: u64) -> Vec<bytes::Bytes> {
    let mut effect = Vec::with_capacity(args.len() + 2);
    effect.extend_from_slice(args);
    effect.push(bytes::Bytes::from_static(b"TS"));
    effect.push(bytes::Bytes::from(at.to_string()));
    effect
}
