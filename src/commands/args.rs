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
