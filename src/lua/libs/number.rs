//! The C number conversions the libraries inherit: `printf("%.*g")`, `strtod` with its end pointer, and the
//! double-to-integer casts as x86-64 performs them (`cvttsd2si`), where C leaves out-of-range results undefined
//! and the Redis binaries give the "integer indefinite" value.

use std::fmt::Write;

/// `(int64_t)d` on x86-64: truncation, and `i64::MIN` for NaN and anything out of range.
pub fn c_double_to_i64(d: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// `(int)d` on x86-64: truncation, and `i32::MIN` for NaN and anything out of range.
pub fn c_double_to_i32(d: f64) -> i32 {
    if d > -2_147_483_649.0 && d < 2_147_483_648.0 {
        d as i32
    } else {
        i32::MIN
    }
}

/// `(unsigned long)d` as gcc compiles it for x86-64: values from 2^63 go through a subtraction of 2^63, so
/// anything at or above 2^64 (and NaN) gives 0x8000000000000000 or 0 the way the hardware does.
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO_63 {
        (c_double_to_i64(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_double_to_i64(d) as u64
    }
}

/// `printf("%.{precision}g", v)` as glibc prints it: `precision` significant digits, exponent form when the
/// exponent is below -4 or at least `precision`, trailing zeros dropped; `inf`, `-inf`, `nan`, `-nan`.
pub fn format_g(v: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v.is_nan() {
        return format!("{sign}nan");
    }
    if v.is_infinite() {
        return format!("{sign}inf");
    }
    if v == 0.0 {
        return format!("{sign}0");
    }
    let sci = format!("{:.*e}", precision - 1, v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut out = String::from(sign);
    if exp < -4 || exp >= precision as i64 {
        out.push_str(trim_zeros(mantissa));
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        // Writing into a String cannot fail.
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else {
        let decimals = usize::try_from(precision as i64 - 1 - exp).unwrap_or(0);
        out.push_str(trim_zeros(&format!("{:.*}", decimals, v.abs())));
    }
    out
}

/// Drops trailing zeros after a decimal point, and the point if nothing is left after it.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// glibc `strtod` on the start of `s`: the value and how many bytes it consumed, or `None` when no number starts
/// there (`endptr == s`). Accepts a sign, decimal numbers with an optional exponent, hexadecimal numbers
/// (`0x1p4`), `inf`, `infinity` and `nan(...)`, case-insensitively. Leading whitespace is the caller's business.
pub fn strtod_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let negative = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let signed = |x: f64| if negative { -x } else { x };
    let rest = s.get(i..).unwrap_or_default();
    if starts_with_ci(rest, b"inf") {
        let len = if starts_with_ci(rest, b"infinity") { 8 } else { 3 };
        return Some((signed(f64::INFINITY), i + len));
    }
    if starts_with_ci(rest, b"nan") {
        let mut end = i + 3;
        if at(end) == b'(' {
            let mut j = end + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                end = j + 1;
            }
        }
        return Some((signed(f64::NAN), end));
    }
    if at(i) == b'0' && (at(i + 1) | 0x20) == b'x' {
        if let Some((v, len)) = hex_prefix(s.get(i + 2..).unwrap_or_default()) {
            return Some((signed(v), i + 2 + len));
        }
        // "0x" without hex digits: strtod reads the "0" alone.
        return Some((signed(0.0), i + 1));
    }
    let start = i;
    let int_digits = count_digits(s, &mut i);
    let mut frac_digits = 0;
    if at(i) == b'.' {
        let mut j = i + 1;
        frac_digits = count_digits(s, &mut j);
        if int_digits + frac_digits > 0 {
            i = j;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if (at(i) | 0x20) == b'e' {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if count_digits(s, &mut j) > 0 {
            i = j;
        }
    }
    let text = std::str::from_utf8(s.get(start..i).unwrap_or_default()).ok()?;
    // Rust's parser wants a digit on each side of the point.
    let text = text.replace(".e", ".0e").replace(".E", ".0E");
    let text = if text.starts_with('.') { format!("0{text}") } else { text };
    let text = if text.ends_with('.') { format!("{text}0") } else { text };
    let v: f64 = text.parse().ok()?;
    Some((signed(v), i))
}

/// The hexadecimal part after `0x`: digits, an optional fraction and an optional binary exponent (`p-3`).
fn hex_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let mut mantissa = 0.0f64;
    let mut digits = 0;
    while let Some(d) = (at(i) as char).to_digit(16) {
        mantissa = mantissa * 16.0 + f64::from(d);
        digits += 1;
        i += 1;
    }
    let mut exp2: i64 = 0;
    if at(i) == b'.' {
        let mut j = i + 1;
        let mut frac = 0;
        while let Some(d) = (at(j) as char).to_digit(16) {
            mantissa = mantissa * 16.0 + f64::from(d);
            exp2 -= 4;
            frac += 1;
            j += 1;
        }
        if digits + frac > 0 {
            i = j;
            digits += frac;
        }
    }
    if digits == 0 {
        return None;
    }
    if (at(i) | 0x20) == b'p' {
        let mut j = i + 1;
        let negative = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        let from = j;
        let mut e: i64 = 0;
        while at(j).is_ascii_digit() {
            e = (e * 10 + i64::from(at(j) - b'0')).min(100_000);
            j += 1;
        }
        if j > from {
            exp2 += if negative { -e } else { e };
            i = j;
        }
    }
    let exp2 = i32::try_from(exp2.clamp(-100_000, 100_000)).unwrap_or(0);
    // Scale in two steps so that a large mantissa with a very negative exponent does not underflow early.
    let half = exp2 / 2;
    Some((mantissa * 2f64.powi(half) * 2f64.powi(exp2 - half), i))
}

fn count_digits(s: &[u8], i: &mut usize) -> usize {
    let from = *i;
    while s.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    *i - from
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g_matches_glibc() {
        // Outputs of printf("%.14g") / "%.3g" from glibc.
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(1e100, 14), "1e+100");
        assert_eq!(format_g(123456789012345678.0, 14), "1.2345678901235e+17");
        assert_eq!(format_g(-0.0, 14), "-0");
        assert_eq!(format_g(1e-5, 14), "1e-05");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(100000000000000.0, 14), "1e+14");
        assert_eq!(format_g(10000000000000.0, 14), "10000000000000");
        assert_eq!(format_g(1.0 / 3.0, 3), "0.333");
        assert_eq!(format_g(f64::NEG_INFINITY, 14), "-inf");
    }

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod_prefix(b"12 "), Some((12.0, 2)));
        assert_eq!(strtod_prefix(b"1.5e"), Some((1.5, 3)));
        assert_eq!(strtod_prefix(b"1."), Some((1.0, 2)));
        assert_eq!(strtod_prefix(b"-.5]"), Some((-0.5, 3)));
        assert_eq!(strtod_prefix(b"0x10,"), Some((16.0, 4)));
        assert_eq!(strtod_prefix(b"0x1p4"), Some((16.0, 5)));
        assert_eq!(strtod_prefix(b"0xg"), Some((0.0, 1)));
        assert_eq!(strtod_prefix(b"-Infinity"), Some((f64::NEG_INFINITY, 9)));
        assert_eq!(strtod_prefix(b"1e400"), Some((f64::INFINITY, 5)));
        assert!(strtod_prefix(b"nan").is_some_and(|(v, n)| v.is_nan() && n == 3));
        assert_eq!(strtod_prefix(b"-"), None);
        assert_eq!(strtod_prefix(b"."), None);
    }

    #[test]
    fn x86_casts() {
        assert_eq!(c_double_to_i64(f64::NAN), i64::MIN);
        assert_eq!(c_double_to_i64(1e19), i64::MIN);
        assert_eq!(c_double_to_i64(-2.7), -2);
        assert_eq!(c_double_to_i32(3e9), i32::MIN);
        assert_eq!(c_double_to_u64(1.8e19), 18_000_000_000_000_000_000);
        assert_eq!(c_double_to_u64(2e19), 0);
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
    }
}
