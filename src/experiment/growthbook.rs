//! A port of GrowthBook's SDK experiment assignment and its targeting condition language.
//!
//! Ported from GrowthBook's JavaScript SDK (`packages/sdk-js/src/util.ts`, `mongrule.ts` and `runExperiment`
//! in `core.ts`, MIT), so that a user is assigned exactly as a GrowthBook SDK would assign them. It is checked
//! against GrowthBook's cross-SDK test vectors (`tests/data/growthbook-cases.json`, spec 0.8.0, MIT) by
//! `tests/growthbook_vectors.rs`: the sections `hash`, `getBucketRange`, `chooseVariation`, `inNamespace`,
//! `getEqualWeights`, `evalCondition` and `run`.
//!
//! # What is reproduced bit for bit
//! - Hashing: FNV-1a 32-bit over UTF-16 code units (`hash` v1 and v2); ids that are not strings are hashed as
//!   JavaScript would write them (`123`, `1.5`, `1e+21`, `true`, arrays joined with commas).
//! - Bucket ranges: the SDK's float operations in the SDK's order, so ranges (and so assignments at range edges)
//!   are the same `f64`s (e.g. 0.2 * 0.2 gives 0.04000000000000001 there and here).
//! - The condition language: JavaScript's loose semantics where the SDK relies on them: `value + ""` and
//!   `value * 1` for plain equality, `<`/`>` on mixed strings and numbers, strict `===` for `$eq`, string order
//!   by UTF-16 code units, dot paths that index arrays (`tags.0`, `tags.length`), `$elemMatch` skipping only
//!   null elements, saved groups as bare arrays or `{"type": "list", "values": [...]}`. Where the SDK would
//!   throw (e.g. `{"$or": null}`), [`eval_condition`] answers false; whether the SDK reaches the throw depends
//!   on its key order, so [`Experiment::from_json`] refuses such conditions and an experiment's condition
//!   evaluates exactly as in the SDK.
//! - Regular expressions (`$regex`, `$regexi`) are JavaScript patterns (no flags but `i`): they are translated
//!   to the `regex` crate's syntax keeping JavaScript's meaning (`\d`, `\w`, `\b`, `\s` and `.` as JavaScript
//!   defines them, identity escapes, octal escapes, `[` and `{` literals, `[^]`, UTF-16 code units). A pattern
//!   JavaScript rejects evaluates false, as in the SDK; so does one using what `regex` cannot do
//!   (back-references, look-around).
//!
//! Numbers read from JSON are only JavaScript's numbers if `serde_json` parses them correctly rounded, which it
//! does with its `float_roundtrip` feature (without it, a weight or coverage can be one ULP off, and so can the
//! edge of a bucket range); `tests/growthbook_vectors.rs` checks that the feature is on.
//!
//! # Not ported
//! URL targeting and query-string overrides (`url`, `urlPatterns`), prerequisites (`parentConditions`, which
//! evaluate feature flags), the old `groups` targeting, sticky bucketing, feature flags and the newest SDK's
//! `$savedGroup` operator. An experiment naming one of the first three is refused by [`Experiment::from_json`]
//! rather than silently evaluated differently.
//!
//! # Known, deliberate differences
//! - Comparing objects for plain equality ignores key order (`serde_json` keeps maps sorted); the SDK compares
//!   `JSON.stringify` texts, so `{"a":1,"b":2}` and `{"b":2,"a":1}` differ there.
//! - Members inherited from JavaScript's prototypes (`toString`, `constructor`, array methods) are not
//!   attributes here; in the SDK a path such as `constructor` finds a function.
//! - JSON `null` for an experiment field means "not given" (the SDK would read `"coverage": null` as 0).
//! - [`Experiment::from_json`] refuses what the SDK would accept but mishandle: a `hashVersion` other than 1 or
//!   2 (the SDK excludes everyone), a `meta` without one entry per variation (the SDK throws), a non-integer
//!   `force`, a condition it could throw on.
//! - Semantics follow the current SDK (npm `@growthbook/growthbook` 1.8.0) where it changed after spec 0.8.0
//!   without the vectors noticing: `$elemMatch` tests falsy elements (0, "", false), and a saved group that
//!   is neither an array nor a list makes both `$inGroup` and `$notInGroup` false.
//! - `$regexi` folds case with Unicode's simple case folding rather than JavaScript's `toUpperCase`
//!   canonicalisation; they differ on a few letters (`ſ`, the Kelvin and Ångström signs, the Ohm sign, `ẞ`).
//!   (Patterns otherwise match UTF-16 code units as JavaScript's do: `^.$` does not match an emoji.)

use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------------------
// Hashing, ranges, namespaces (util.ts)
// ---------------------------------------------------------------------------------------------------------

/// FNV-1a 32-bit over the UTF-16 code units of `s` (the SDK's `hashFnv32a`).
pub fn fnv1a32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for unit in s.encode_utf16() {
        h ^= u32::from(unit);
        // The SDK's `h += (h<<1) + (h<<4) + (h<<7) + (h<<8) + (h<<24)` is h * 0x01000193 mod 2^32.
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The SDK's `hash(seed, value, version)`: a number in [0, 1), or `None` for an unknown version.
/// v1: `(fnv(value + seed) % 1000) / 1000`; v2: `(fnv(decimal(fnv(seed + value))) % 10000) / 10000`.
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        2 => {
            let inner = fnv1a32(&format!("{seed}{value}"));
            Some(f64::from(fnv1a32(&inner.to_string()) % 10000) / 10000.0)
        }
        1 => Some(f64::from(fnv1a32(&format!("{value}{seed}")) % 1000) / 1000.0),
        _ => None,
    }
}

/// `n` equal weights of `1 / n` (empty when `n <= 0`).
pub fn equal_weights(n: i64) -> Vec<f64> {
    if n <= 0 {
        return Vec::new();
    }
    let w = 1.0 / n as f64;
    vec![w; n as usize]
}

/// The SDK's `getBucketRanges`: coverage is clamped to [0, 1]; weights that are missing, of the wrong length,
/// or not summing to 1 ± 0.01 are replaced by equal weights; each variation's range starts at the sum of the
/// weights before it and covers `coverage * weight` of it.
pub fn bucket_ranges(num_variations: usize, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    // NaN stays NaN, as in the SDK.
    let coverage = coverage.clamp(0.0, 1.0);
    let equal = equal_weights(num_variations as i64);
    let mut w: &[f64] = match weights {
        Some(w) if w.len() == num_variations => w,
        _ => &equal,
    };
    // `weights.reduce((w, sum) => sum + w, 0)`: additions in order from 0 (f64 addition is commutative).
    let total = w.iter().fold(0.0, |acc, x| x + acc);
    // Written as the SDK has it: a NaN total keeps the weights.
    #[allow(clippy::manual_range_contains)]
    if total < 0.99 || total > 1.01 {
        w = &equal;
    }
    let mut cumulative = 0.0;
    w.iter()
        .map(|&x| {
            let start = cumulative;
            cumulative += x;
            (start, start + coverage * x)
        })
        .collect()
}

/// The index of the first range holding `n` (`start <= n < end`), or -1.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> i64 {
    ranges.iter().position(|&(lo, hi)| n >= lo && n < hi).map_or(-1, |i| i as i64)
}

/// Whether `hash_value` falls in the namespace `(id, start, end)`: `start <= hash("__" + id, value, 1) < end`.
pub fn in_namespace(hash_value: &str, namespace: (&str, f64, f64)) -> bool {
    match hash(&format!("__{}", namespace.0), hash_value, 1) {
        Some(n) => n >= namespace.1 && n < namespace.2,
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------------------
// JavaScript value semantics over JSON values
// ---------------------------------------------------------------------------------------------------------

/// JavaScript's `Number.prototype.toString()` (shortest round-trip digits, JavaScript's layout).
fn js_number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    // Rust's `{:e}` gives the fewest digits that round-trip ("d.ddde-7"), but where several such strings
    // exist it need not give the one JavaScript gives, the closest to x: that is x correctly rounded to as many
    // digits, whenever it round-trips.
    let shortest = format!("{:e}", x.abs());
    let k = shortest.split('e').next().map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let closest = format!("{:.*e}", k.saturating_sub(1), x.abs());
    let sci = if closest.parse::<f64>() == Ok(x.abs()) { closest } else { shortest };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

fn num_f64(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// JavaScript's `String(v)` (also `v + ""`): arrays join their elements with commas (null as empty), objects
/// are "[object Object]".
fn js_to_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(js_number_to_string(num_f64(n))),
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(a) => {
            let parts: Vec<Cow<'_, str>> =
                a.iter().map(|e| if e.is_null() { Cow::Borrowed("") } else { js_to_string(e) }).collect();
            Cow::Owned(parts.join(","))
        }
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

fn is_js_whitespace(c: char) -> bool {
    ('\u{2000}'..='\u{200a}').contains(&c)
        || matches!(
            c,
            '\t' | '\n'
                | '\u{b}'
                | '\u{c}'
                | '\r'
                | ' '
                | '\u{a0}'
                | '\u{1680}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
        )
}

fn radix_to_number(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut exact: Option<u128> = Some(0);
    let mut approx = 0.0f64;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { return f64::NAN };
        exact = exact.and_then(|e| e.checked_mul(u128::from(radix))).and_then(|e| e.checked_add(u128::from(d)));
        approx = approx * f64::from(radix) + f64::from(d);
    }
    exact.map_or(approx, |e| e as f64)
}

/// JavaScript's `Number(string)`.
fn js_string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    let b = t.as_bytes();
    if b.len() > 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return radix_to_number(&t[2..], 16),
            b'o' | b'O' => return radix_to_number(&t[2..], 8),
            b'b' | b'B' => return radix_to_number(&t[2..], 2),
            _ => {}
        }
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    // StrDecimalLiteral: [+-] (digits [. digits] | . digits) [(e|E) [+-] digits]
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return f64::NAN;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return f64::NAN;
        }
    }
    if i != b.len() {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// JavaScript's `Number(v)` (also `v * 1`).
fn js_to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => num_f64(n),
        Value::String(s) => js_string_to_number(s),
        Value::Array(_) => js_string_to_number(&js_to_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => {
            let x = num_f64(n);
            x != 0.0 && !x.is_nan()
        }
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `a === b` for values from different JSON documents (two arrays or objects are never the same object).
fn js_strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num_f64(x) == num_f64(y),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// `JSON.stringify(a) === JSON.stringify(b)`, except that object key order is not compared.
fn js_json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| js_json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| js_json_eq(p, q)))
        }
        _ => js_strict_eq(a, b),
    }
}

/// String order as JavaScript's `<` has it: by UTF-16 code units.
fn js_str_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// JavaScript's abstract relational comparison of `a` and `b`: `None` when it is undefined (a NaN).
fn js_compare(a: &Value, b: &Value) -> Option<Ordering> {
    let prim_str = |v: &Value| matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_));
    if prim_str(a) && prim_str(b) {
        return Some(js_str_cmp(&js_to_string(a), &js_to_string(b)));
    }
    js_to_number(a).partial_cmp(&js_to_number(b))
}

/// The SDK's `paddedVersionString`: "v1.2.3-rc.1+build" -> "    1-    2-    3-rc-    1".
fn padded_version_string(v: &Value) -> String {
    let input: Cow<'_, str> = match v {
        Value::Number(_) => js_to_string(v),
        Value::String(s) if !s.is_empty() => Cow::Borrowed(s),
        _ => Cow::Borrowed("0"),
    };
    // `.replace(/(^v|\+.*$)/g, "")`: a leading "v", and the first "+" after the last line break to the end.
    let mut s: &str = input.strip_prefix('v').unwrap_or(&input);
    let after_break = s.rfind(['\n', '\r', '\u{2028}', '\u{2029}']).map_or(0, |i| i + 1);
    if let Some(p) = s[after_break..].find('+') {
        s = &s[..after_break + p];
    }
    let mut parts: Vec<&str> = s.split(['-', '.']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let padded: Vec<String> =
        parts
            .iter()
            .map(|p| {
                if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) {
                    format!("{p:>5}")
                } else {
                    (*p).to_string()
                }
            })
            .collect();
    padded.join("-")
}

// ---------------------------------------------------------------------------------------------------------
// JavaScript regular expressions
// ---------------------------------------------------------------------------------------------------------

// JavaScript patterns without the `u` flag match UTF-16 code units, so a character beyond the BMP is two units
// that `.`, `[^a]` or `\W` match one at a time. Patterns and subjects are therefore read as code units, each a
// character: a surrogate half is stood for by a private-use character (U+F0000 + offset), which text read this
// way never holds otherwise (a real U+F0000.. character is itself two halves).

const HALF_BASE: u32 = 0xF0000;

/// The character standing for UTF-16 code unit `u`.
fn unit_char(u: u32) -> u32 {
    if (0xD800..0xE000).contains(&u) {
        HALF_BASE + (u - 0xD800)
    } else {
        u
    }
}

/// The code unit a character stands for (what orders class ranges in JavaScript).
fn char_unit(c: u32) -> u32 {
    if c >= HALF_BASE {
        c - HALF_BASE + 0xD800
    } else {
        c
    }
}

/// `s` as code units, one character each.
fn as_units(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| (c as u32) < 0x10000) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.encode_utf16().filter_map(|u| char::from_u32(unit_char(u32::from(u)))).collect())
}

const JS_DIGIT: &str = "0-9";
const JS_WORD: &str = "0-9A-Za-z_";
const JS_SPACE: &str =
    r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
/// JavaScript's `[]`, which matches nothing, and `[^]`, which matches anything.
const NOTHING: &str = r"[^\x00-\x{10FFFF}]";
const ANYTHING: &str = r"[\x00-\x{10FFFF}]";

fn hex_at(chars: &[char], at: usize, n: usize) -> Option<u32> {
    let s: String = chars.get(at..at + n)?.iter().collect();
    if s.len() != n || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(&s, 16).ok()
}

fn lit(out: &mut String, cp: u32) {
    out.push_str(&format!(r"\x{{{cp:X}}}"));
}

/// The code units `lo..=hi` as class items (the surrogate block maps to its stand-ins).
fn push_unit_range(out: &mut String, lo: u32, hi: u32) {
    for (a, b) in [(lo, hi.min(0xD7FF)), (lo.max(0xD800), hi.min(0xDFFF)), (lo.max(0xE000), hi)] {
        if a <= b {
            lit(out, unit_char(a));
            if a < b {
                out.push('-');
                lit(out, unit_char(b));
            }
        }
    }
}

/// One atom of a JavaScript character class: a character (a code unit's stand-in), or a set.
enum ClassAtom {
    Char(u32),
    Set(&'static str, bool),
}

/// Legacy octal escape (inside classes): up to three octal digits, at most 0o377.
fn octal_escape(chars: &[char], i: &mut usize) -> u32 {
    let mut v = 0u32;
    let mut n = 0;
    while n < 3 {
        match chars.get(*i).and_then(|c| c.to_digit(8)) {
            Some(d) if v * 8 + d <= 0o377 => {
                v = v * 8 + d;
                *i += 1;
                n += 1;
            }
            _ => break,
        }
    }
    v
}

fn class_atom(chars: &[char], i: &mut usize) -> Option<ClassAtom> {
    let c = *chars.get(*i)?;
    if c != '\\' {
        *i += 1;
        return Some(ClassAtom::Char(c as u32));
    }
    let e = *chars.get(*i + 1)?;
    let mut step = 2;
    let atom = match e {
        'd' => ClassAtom::Set(JS_DIGIT, false),
        'D' => ClassAtom::Set(JS_DIGIT, true),
        'w' => ClassAtom::Set(JS_WORD, false),
        'W' => ClassAtom::Set(JS_WORD, true),
        's' => ClassAtom::Set(JS_SPACE, false),
        'S' => ClassAtom::Set(JS_SPACE, true),
        'b' => ClassAtom::Char(8),
        't' => ClassAtom::Char(9),
        'n' => ClassAtom::Char(10),
        'v' => ClassAtom::Char(11),
        'f' => ClassAtom::Char(12),
        'r' => ClassAtom::Char(13),
        'x' => match hex_at(chars, *i + 2, 2) {
            Some(cp) => {
                step = 4;
                ClassAtom::Char(cp)
            }
            None => ClassAtom::Char('x' as u32),
        },
        'u' => match hex_at(chars, *i + 2, 4) {
            Some(u) => {
                step = 6;
                ClassAtom::Char(unit_char(u))
            }
            None => ClassAtom::Char('u' as u32),
        },
        'c' => match chars.get(*i + 2) {
            Some(&l) if l.is_ascii_alphanumeric() || l == '_' => {
                step = 3;
                ClassAtom::Char(l as u32 % 32)
            }
            // `\c` not followed by a control letter is a backslash; the "c" is read next.
            _ => {
                step = 1;
                ClassAtom::Char('\\' as u32)
            }
        },
        '0'..='7' => {
            *i += 1;
            return Some(ClassAtom::Char(octal_escape(chars, i)));
        }
        other => ClassAtom::Char(other as u32),
    };
    *i += step;
    Some(atom)
}

fn push_class_atom(out: &mut String, a: &ClassAtom) {
    match a {
        ClassAtom::Char(cp) => lit(out, *cp),
        ClassAtom::Set(set, negated) => {
            out.push_str(if *negated { "[^" } else { "[" });
            out.push_str(set);
            out.push(']');
        }
    }
}

/// Translates a JavaScript character class starting at `chars[*i] == '['`.
fn translate_class(chars: &[char], i: &mut usize, out: &mut String) -> Option<()> {
    *i += 1;
    let negated = chars.get(*i) == Some(&'^');
    if negated {
        *i += 1;
    }
    // Every item is written as a nested class or an escaped character, so nothing has a special meaning.
    let mut items = String::new();
    loop {
        match chars.get(*i) {
            None => return None,
            Some(']') => {
                *i += 1;
                break;
            }
            Some(_) => {}
        }
        let a = class_atom(chars, i)?;
        if chars.get(*i) == Some(&'-') && chars.get(*i + 1).is_some_and(|&c| c != ']') {
            *i += 1;
            let b = class_atom(chars, i)?;
            match (&a, &b) {
                (ClassAtom::Char(lo), ClassAtom::Char(hi)) => {
                    let (lo, hi) = (char_unit(*lo), char_unit(*hi));
                    if lo > hi {
                        return None;
                    }
                    push_unit_range(&mut items, lo, hi);
                }
                _ => {
                    // Annex B: a range with a class escape at either end is the union of both ends and "-".
                    push_class_atom(&mut items, &a);
                    lit(&mut items, '-' as u32);
                    push_class_atom(&mut items, &b);
                }
            }
        } else {
            push_class_atom(&mut items, &a);
        }
    }
    if items.is_empty() {
        out.push_str(if negated { ANYTHING } else { NOTHING });
    } else {
        out.push_str(if negated { "[^" } else { "[" });
        out.push_str(&items);
        out.push(']');
    }
    Some(())
}

/// How many capturing groups a pattern has (escapes and classes skipped).
fn capture_groups(chars: &[char]) -> usize {
    let (mut n, mut i, mut in_class) = (0, 0, false);
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => in_class = true,
            ']' => in_class = false,
            '(' if !in_class => {
                let named = chars.get(i + 1) == Some(&'?')
                    && chars.get(i + 2) == Some(&'<')
                    && !matches!(chars.get(i + 3), Some('=' | '!'));
                if chars.get(i + 1) != Some(&'?') || named {
                    n += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    n
}

/// Whether `{...}` at `chars[i]` is a quantifier (`{n}`, `{n,}`, `{n,m}`); its length if so.
fn quantifier_len(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let digits = |j: &mut usize| {
        let s = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        *j > s
    };
    if !digits(&mut j) {
        return None;
    }
    if chars.get(j) == Some(&',') {
        j += 1;
        digits(&mut j);
    }
    (chars.get(j) == Some(&'}')).then_some(j + 1 - i)
}

/// Translates a JavaScript (non-`u`) pattern to the `regex` crate's syntax; `None` when JavaScript would reject
/// it or it uses what `regex` cannot do.
fn translate_js_regex(src: &str) -> Option<String> {
    let chars: Vec<char> = as_units(src).chars().collect();
    let named_groups = src.contains("(?<")
        && chars.windows(4).any(|w| w[0] == '(' && w[1] == '?' && w[2] == '<' && w[3] != '=' && w[3] != '!');
    let groups = capture_groups(&chars);
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    // Whether the last item can take a quantifier: JavaScript rejects one at the start, after "(" or "|", after
    // an assertion (^ $ \b \B) or after another quantifier ("nothing to repeat"); `regex` accepts some of these.
    let mut quantifiable = false;
    while i < chars.len() {
        let c = chars[i];
        // Most items are atoms; the arms for assertions, groups, alternation and quantifiers say otherwise.
        let mut atom = true;
        match c {
            '\\' => {
                let e = *chars.get(i + 1)?;
                match e {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    's' => {
                        out.push('[');
                        out.push_str(JS_SPACE);
                        out.push(']');
                    }
                    'S' => {
                        out.push_str("[^");
                        out.push_str(JS_SPACE);
                        out.push(']');
                    }
                    'b' => {
                        out.push_str(r"(?:(?-u:\b))");
                        atom = false;
                    }
                    'B' => {
                        out.push_str(r"(?:(?-u:\B))");
                        atom = false;
                    }
                    't' => lit(&mut out, 9),
                    'n' => lit(&mut out, 10),
                    'v' => lit(&mut out, 11),
                    'f' => lit(&mut out, 12),
                    'r' => lit(&mut out, 13),
                    '1'..='9' => {
                        let digits: String = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).collect();
                        if digits.parse::<usize>().map_or(true, |n| n <= groups) {
                            // A back-reference: `regex` has none.
                            return None;
                        }
                        // Annex B: no such group, so "\8" is "8" and "\12" an octal escape.
                        if e == '8' || e == '9' {
                            lit(&mut out, e as u32);
                        } else {
                            let mut j = i + 1;
                            lit(&mut out, octal_escape(&chars, &mut j));
                            i = j;
                            quantifiable = true;
                            continue;
                        }
                    }
                    '0' => {
                        let mut j = i + 1;
                        lit(&mut out, octal_escape(&chars, &mut j));
                        i = j;
                        quantifiable = true;
                        continue;
                    }
                    'x' => match hex_at(&chars, i + 2, 2) {
                        Some(cp) => {
                            lit(&mut out, cp);
                            i += 2;
                        }
                        None => lit(&mut out, 'x' as u32),
                    },
                    'u' => match hex_at(&chars, i + 2, 4) {
                        Some(u) => {
                            lit(&mut out, unit_char(u));
                            i += 4;
                        }
                        None => lit(&mut out, 'u' as u32),
                    },
                    'c' => match chars.get(i + 2) {
                        Some(&l) if l.is_ascii_alphabetic() => {
                            lit(&mut out, l as u32 % 32);
                            i += 1;
                        }
                        _ => {
                            // A literal backslash; the "c" is read next.
                            lit(&mut out, '\\' as u32);
                            i += 1;
                            quantifiable = true;
                            continue;
                        }
                    },
                    'k' if named_groups => return None,
                    other => lit(&mut out, other as u32),
                }
                i += 2;
            }
            '.' => {
                out.push_str(r"[^\n\r\x{2028}\x{2029}]");
                i += 1;
            }
            '[' => translate_class(&chars, &mut i, &mut out)?,
            '(' => {
                atom = false;
                if chars.get(i + 1) == Some(&'?') {
                    match (chars.get(i + 2), chars.get(i + 3)) {
                        (Some(':'), _) => {
                            out.push_str("(?:");
                            i += 3;
                        }
                        (Some('<'), Some(&n)) if n != '=' && n != '!' => {
                            let close = chars[i + 3..].iter().position(|&c| c == '>')? + i + 3;
                            let name: String = chars[i + 3..close].iter().collect();
                            let mut nc = name.chars();
                            let ok_first = nc.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                            if !ok_first || !nc.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                                return None;
                            }
                            out.push_str("(?P<");
                            out.push_str(&name);
                            out.push('>');
                            i = close + 1;
                        }
                        // Look-around, and anything else JavaScript rejects.
                        _ => return None,
                    }
                } else {
                    out.push('(');
                    i += 1;
                }
            }
            '{' | '*' | '+' | '?' => {
                let n = if c == '{' { quantifier_len(&chars, i) } else { Some(1) };
                match n {
                    Some(n) => {
                        if !quantifiable {
                            return None;
                        }
                        out.extend(&chars[i..i + n]);
                        i += n;
                        // Lazy.
                        if chars.get(i) == Some(&'?') {
                            out.push('?');
                            i += 1;
                        }
                        atom = false;
                    }
                    // Not a quantifier: a literal "{".
                    None => {
                        lit(&mut out, '{' as u32);
                        i += 1;
                    }
                }
            }
            '}' | ']' => {
                lit(&mut out, c as u32);
                i += 1;
            }
            ')' => {
                out.push(c);
                i += 1;
            }
            '^' | '$' | '|' => {
                out.push(c);
                i += 1;
                atom = false;
            }
            _ => {
                if c.is_ascii_alphanumeric() || c == ' ' || c == '_' {
                    out.push(c);
                } else {
                    lit(&mut out, c as u32);
                }
                i += 1;
            }
        }
        quantifiable = atom;
    }
    Some(out)
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<(String, bool), Option<Regex>>> = RefCell::new(HashMap::new());
}

const REGEX_CACHE_MAX: usize = 512;

/// Compiles a JavaScript pattern (cached per thread); `None` when it does not compile.
fn js_regex(pattern: &str, insensitive: bool) -> Option<Regex> {
    let key = (pattern.to_string(), insensitive);
    if let Some(hit) = REGEX_CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let compiled = translate_js_regex(pattern)
        .and_then(|t| regex::RegexBuilder::new(&t).case_insensitive(insensitive).size_limit(1 << 22).build().ok());
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= REGEX_CACHE_MAX {
            c.clear();
        }
        c.insert(key, compiled.clone());
    });
    compiled
}

// ---------------------------------------------------------------------------------------------------------
// The condition language (mongrule.ts)
// ---------------------------------------------------------------------------------------------------------

/// Where the SDK would throw a TypeError (e.g. `Object.entries(null)`); the whole condition is then false.
struct Thrown;

type Eval = Result<bool, Thrown>;

/// Evaluates a GrowthBook (MongoDB-like) targeting condition against `attributes`, as the SDK's
/// `evalCondition(attributes, condition, savedGroups)`. `saved_groups` maps a group id to its values (a bare
/// array, or `{"type": "list", "values": [...]}`), for `$inGroup`/`$notInGroup`; pass `Value::Null` for none.
pub fn eval_condition(attributes: &Value, condition: &Value, saved_groups: &Value) -> bool {
    let empty = Value::Object(Map::new());
    let groups = if saved_groups.is_object() { saved_groups } else { &empty };
    eval_cond(attributes, condition, groups).unwrap_or(false)
}

/// A condition that is always false and never throws (stands for a lone UTF-16 surrogate as a condition).
fn never() -> Value {
    let mut inner = Map::new();
    inner.insert("$in".to_string(), Value::Bool(false));
    let mut outer = Map::new();
    outer.insert("0".to_string(), Value::Object(inner));
    Value::Object(outer)
}

/// `Object.entries(condition)` for any JSON value.
type Entries<'a> = Vec<(Cow<'a, str>, Cow<'a, Value>)>;

fn entries(cond: &Value) -> Result<Entries<'_>, Thrown> {
    Ok(match cond {
        Value::Null => return Err(Thrown),
        Value::Bool(_) | Value::Number(_) => Vec::new(),
        Value::Object(m) => m.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v))).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Cow::Owned(i.to_string()), Cow::Borrowed(v))).collect(),
        Value::String(s) => {
            let mut out = Vec::new();
            for c in s.chars() {
                let units = c.len_utf16();
                for _ in 0..units {
                    let v = if units == 1 { Value::String(c.to_string()) } else { never() };
                    out.push((Cow::Owned(out.len().to_string()), Cow::Owned(v)));
                }
            }
            out
        }
    })
}

/// `conditions.length` and `conditions[i]` for the `$or`/`$nor`/`$and` argument, which the SDK reads as an
/// array whatever it is: whether the length is truthy, and the elements (`None`: undefined, which throws).
type ArrayLike<'a> = (bool, Vec<Option<Cow<'a, Value>>>);

fn array_like(v: &Value) -> Result<ArrayLike<'_>, Thrown> {
    Ok(match v {
        Value::Null => return Err(Thrown),
        Value::Bool(_) | Value::Number(_) => (false, Vec::new()),
        Value::Array(a) => (!a.is_empty(), a.iter().map(|e| Some(Cow::Borrowed(e))).collect()),
        Value::String(_) => {
            let items: Vec<Option<Cow<'_, Value>>> =
                entries(v)?.into_iter().map(|(_, e)| Some(Cow::Owned(e.into_owned()))).collect();
            (!items.is_empty(), items)
        }
        Value::Object(m) => match m.get("length") {
            None => (false, Vec::new()),
            Some(len) => {
                let n = js_to_number(len);
                let mut items = Vec::new();
                let mut i = 0usize;
                while (i as f64) < n {
                    let e = m.get(&i.to_string());
                    items.push(e.map(Cow::Borrowed));
                    if e.is_none() {
                        break;
                    }
                    i += 1;
                }
                (js_truthy(len), items)
            }
        },
    })
}

fn eval_cond(obj: &Value, cond: &Value, groups: &Value) -> Eval {
    for (k, v) in entries(cond)? {
        let pass = match k.as_ref() {
            "$or" => eval_or(obj, &v, groups)?,
            "$nor" => !eval_or(obj, &v, groups)?,
            "$and" => eval_and(obj, &v, groups)?,
            "$not" => !eval_cond(obj, &v, groups)?,
            path => eval_value(&v, &get_path(obj, path), groups, false)?,
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

fn eval_or(obj: &Value, conds: &Value, groups: &Value) -> Eval {
    let (len_truthy, items) = array_like(conds)?;
    if !len_truthy {
        return Ok(true);
    }
    for c in items {
        let c = c.ok_or(Thrown)?;
        if eval_cond(obj, &c, groups)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn eval_and(obj: &Value, conds: &Value, groups: &Value) -> Eval {
    let (_, items) = array_like(conds)?;
    for c in items {
        let c = c.ok_or(Thrown)?;
        if !eval_cond(obj, &c, groups)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `s` is a canonical array index ("0", "17"; not "01", "-1", "1.0").
fn array_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n < u64::from(u32::MAX)).and_then(|n| usize::try_from(n).ok())
}

/// The SDK's `getPath`: the value at a dot-separated path (arrays by index or `length`), else null.
fn get_path<'a>(obj: &'a Value, path: &str) -> Cow<'a, Value> {
    let mut current: Cow<'a, Value> = Cow::Borrowed(obj);
    for part in path.split('.') {
        let next = match current {
            Cow::Borrowed(Value::Object(m)) => m.get(part).map(Cow::Borrowed),
            Cow::Borrowed(Value::Array(a)) => {
                if part == "length" {
                    Some(Cow::Owned(Value::from(a.len())))
                } else {
                    array_index(part).and_then(|i| a.get(i)).map(Cow::Borrowed)
                }
            }
            // Only an array's `length` is computed, and a number has no members.
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => return Cow::Owned(Value::Null),
        }
    }
    current
}

/// Only `$` keys, and at least one (`Object.keys(null)` throws).
fn is_operator_object(v: &Value) -> Result<bool, Thrown> {
    match v {
        Value::Null => Err(Thrown),
        Value::Object(m) => Ok(!m.is_empty() && m.keys().all(|k| k.starts_with('$'))),
        _ => Ok(false),
    }
}

fn eval_value(cond: &Value, value: &Value, groups: &Value, insensitive: bool) -> Eval {
    match cond {
        Value::String(c) => Ok(if insensitive {
            js_to_string(value).to_lowercase() == c.to_lowercase()
        } else {
            js_to_string(value) == c.as_str()
        }),
        Value::Number(n) => Ok(js_to_number(value) == num_f64(n)),
        Value::Bool(b) => Ok(!value.is_null() && js_truthy(value) == *b),
        Value::Null => Ok(value.is_null()),
        Value::Array(_) => Ok(js_json_eq(value, cond)),
        Value::Object(m) => {
            if !is_operator_object(cond)? {
                return Ok(js_json_eq(value, cond));
            }
            for (op, expected) in m {
                if !eval_operator(op, value, expected, groups)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

fn case_fold(v: &Value) -> Cow<'_, Value> {
    match v {
        Value::String(s) => Cow::Owned(Value::String(s.to_lowercase())),
        _ => Cow::Borrowed(v),
    }
}

fn is_in(actual: &Value, expected: &[Value], insensitive: bool) -> bool {
    let one = |a: &Value| {
        if insensitive {
            let a = case_fold(a);
            expected.iter().any(|e| js_strict_eq(&a, &case_fold(e)))
        } else {
            expected.iter().any(|e| js_strict_eq(a, e))
        }
    };
    match actual {
        Value::Array(items) => items.iter().any(one),
        _ => one(actual),
    }
}

fn is_in_all(actual: &Value, expected: &[Value], groups: &Value, insensitive: bool) -> Eval {
    let Value::Array(items) = actual else { return Ok(false) };
    for e in expected {
        let mut passed = false;
        for a in items {
            if eval_value(e, a, groups, insensitive)? {
                passed = true;
                break;
            }
        }
        if !passed {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A saved group's values: unknown id -> empty; a bare array; `{"type": "list", "values": [...]}`; anything
/// else -> `None` (the operator is false, so a malformed group cannot make `$notInGroup` pass everyone).
fn saved_group_values<'a>(groups: &'a Value, id: &Value) -> Option<&'a [Value]> {
    match groups.get(js_to_string(id).as_ref()) {
        None => Some(&[]),
        Some(Value::Array(a)) => Some(a),
        Some(Value::Object(m)) if m.get("type").and_then(Value::as_str) == Some("list") => {
            m.get("values").and_then(Value::as_array).map(Vec::as_slice)
        }
        Some(_) => None,
    }
}

fn eval_operator(op: &str, actual: &Value, expected: &Value, groups: &Value) -> Eval {
    let version = |o: Ordering| js_str_cmp(&padded_version_string(actual), &padded_version_string(expected)) == o;
    Ok(match op {
        "$veq" => version(Ordering::Equal),
        "$vne" => !version(Ordering::Equal),
        "$vgt" => version(Ordering::Greater),
        "$vgte" => !version(Ordering::Less),
        "$vlt" => version(Ordering::Less),
        "$vlte" => !version(Ordering::Greater),
        "$eq" => js_strict_eq(actual, expected),
        "$ne" => !js_strict_eq(actual, expected),
        "$lt" => js_compare(actual, expected) == Some(Ordering::Less),
        "$lte" => matches!(js_compare(actual, expected), Some(Ordering::Less | Ordering::Equal)),
        "$gt" => js_compare(actual, expected) == Some(Ordering::Greater),
        "$gte" => matches!(js_compare(actual, expected), Some(Ordering::Greater | Ordering::Equal)),
        "$exists" => js_truthy(expected) != actual.is_null(),
        "$in" => expected.as_array().is_some_and(|e| is_in(actual, e, false)),
        "$ini" => expected.as_array().is_some_and(|e| is_in(actual, e, true)),
        "$nin" => expected.as_array().is_some_and(|e| !is_in(actual, e, false)),
        "$nini" => expected.as_array().is_some_and(|e| !is_in(actual, e, true)),
        "$inGroup" => saved_group_values(groups, expected).is_some_and(|g| is_in(actual, g, false)),
        "$notInGroup" => saved_group_values(groups, expected).is_some_and(|g| !is_in(actual, g, false)),
        "$not" => !eval_value(expected, actual, groups, false)?,
        "$size" => match actual {
            Value::Array(a) => eval_value(expected, &Value::from(a.len()), groups, false)?,
            _ => false,
        },
        "$elemMatch" => {
            let Value::Array(items) = actual else { return Ok(false) };
            let operator = is_operator_object(expected)?;
            for item in items.iter().filter(|v| !v.is_null()) {
                let hit = if operator {
                    eval_value(expected, item, groups, false)?
                } else {
                    eval_cond(item, expected, groups)?
                };
                if hit {
                    return Ok(true);
                }
            }
            false
        }
        "$all" => match expected.as_array() {
            Some(e) => is_in_all(actual, e, groups, false)?,
            None => false,
        },
        "$alli" => match expected.as_array() {
            Some(e) => is_in_all(actual, e, groups, true)?,
            None => false,
        },
        "$regex" | "$regexi" => match expected {
            Value::String(p) => {
                js_regex(p, op == "$regexi").is_some_and(|re| re.is_match(&as_units(&js_to_string(actual))))
            }
            _ => false,
        },
        "$type" => {
            let t = match actual {
                Value::Null => "null",
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                Value::Object(_) => "object",
            };
            expected.as_str() == Some(t)
        }
        // Unknown operators fail.
        _ => false,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Experiments (runExperiment in core.ts)
// ---------------------------------------------------------------------------------------------------------

/// Why [`run`] answered as it did.
pub mod reason {
    /// Hashed into a variation.
    pub const ASSIGNED: &str = "assigned";
    /// The context is disabled, the experiment is inactive (`active: false`, `status` draft or stopped), or it
    /// has fewer than two variations.
    pub const NOT_RUNNING: &str = "not-running";
    /// The hash attribute is missing or falsy ("", 0, false, null).
    pub const NO_HASH_VALUE: &str = "no-hash-value";
    /// Outside the experiment's namespace.
    pub const NAMESPACE: &str = "namespace";
    /// Excluded by `condition` or `filters`.
    pub const NOT_TARGETED: &str = "not-targeted";
    /// Hashed outside every variation's range (coverage below 1, or explicit `ranges`).
    pub const COVERAGE: &str = "coverage";
    /// A forced variation (context `forcedVariations` or the experiment's `force`); `in_experiment` is false
    /// when the forced index is not a variation.
    pub const FORCED: &str = "forced";
    /// The context is in QA mode and nothing forced a variation.
    pub const QA_MODE: &str = "qa-mode";
}

/// One `filters` entry: the user is kept when `hash(seed, attribute's value, hash_version)` is in a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The attribute hashed ("id" when not given).
    pub attribute: String,
    pub seed: String,
    /// 2 when not given (unlike experiments, whose default is 1).
    pub hash_version: u32,
    pub ranges: Vec<(f64, f64)>,
}

/// A variation's `meta` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariationMeta {
    pub key: Option<String>,
    pub name: Option<String>,
    pub passthrough: bool,
}

/// A GrowthBook experiment (the SDK's `Experiment` JSON), with the SDK's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub key: String,
    pub variations: Vec<Value>,
    pub weights: Option<Vec<f64>>,
    /// As given (clamped to [0, 1] when ranges are computed); `None` is full coverage.
    pub coverage: Option<f64>,
    /// False only when `active: false` was given.
    pub active: bool,
    /// `status` if given ("draft" and "stopped" exclude everyone; anything else runs).
    pub status: Option<String>,
    /// The attribute hashed: `hashAttribute`, "id" when not given or empty.
    pub hash_attribute: String,
    /// `seed`, the key when not given or empty.
    pub seed: String,
    /// `hashVersion`: 1 when not given (or 0), else 1 or 2.
    pub hash_version: u32,
    pub namespace: Option<(String, f64, f64)>,
    /// When given, used instead of `namespace`.
    pub filters: Option<Vec<Filter>>,
    /// When given, used instead of the ranges computed from `coverage` and `weights`.
    pub ranges: Option<Vec<(f64, f64)>>,
    pub condition: Option<Value>,
    pub force: Option<i64>,
    /// Empty when not given.
    pub meta: Vec<VariationMeta>,
}

fn field<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    o.get(k).filter(|v| !v.is_null())
}

fn opt_string(o: &Map<String, Value>, k: &str) -> Result<Option<String>, String> {
    match field(o, k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("'{k}' must be a string")),
    }
}

fn opt_number(o: &Map<String, Value>, k: &str) -> Result<Option<f64>, String> {
    match field(o, k) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(num_f64(n))),
        Some(_) => Err(format!("'{k}' must be a number")),
    }
}

fn opt_integer(o: &Map<String, Value>, k: &str) -> Result<Option<i64>, String> {
    match opt_number(o, k)? {
        None => Ok(None),
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
        Some(_) => Err(format!("'{k}' must be an integer")),
    }
}

fn opt_bool(o: &Map<String, Value>, k: &str) -> Result<Option<bool>, String> {
    match field(o, k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("'{k}' must be true or false")),
    }
}

fn hash_version(o: &Map<String, Value>, k: &str, default: u32) -> Result<u32, String> {
    match opt_integer(o, k).map_err(|_| format!("'{k}' must be 1 or 2"))? {
        None | Some(0) => Ok(default),
        Some(v @ (1 | 2)) => Ok(v as u32),
        Some(_) => Err(format!("'{k}' must be 1 or 2")),
    }
}

fn parse_ranges(v: &Value, what: &str) -> Result<Vec<(f64, f64)>, String> {
    let err = || format!("'{what}' must be an array of [start, end] number pairs");
    let a = v.as_array().ok_or_else(err)?;
    a.iter()
        .map(|r| match r.as_array().map(Vec::as_slice) {
            Some([Value::Number(s), Value::Number(e)]) => Ok((num_f64(s), num_f64(e))),
            _ => Err(err()),
        })
        .collect()
}

/// Refuses a condition on which the SDK could throw (`{"$or": null}`, `{"$not": null}`, `{"$elemMatch": null}`,
/// ...). Where it throws depends on the order it visits keys in, which JSON maps here do not keep; a condition
/// that passes this check evaluates the same in any order. It is also stricter than the SDK: `$or`, `$nor` and
/// `$and` take arrays of objects, `$not` and `$elemMatch` objects.
fn check_condition(c: &Value) -> Result<(), String> {
    let Value::Object(m) = c else { return Err("a condition must be an object".to_string()) };
    for (k, v) in m {
        match k.as_str() {
            "$or" | "$nor" | "$and" => {
                let Value::Array(items) = v else { return Err(format!("'{k}' must be an array of conditions")) };
                for item in items {
                    if !item.is_object() {
                        return Err(format!("each condition in '{k}' must be an object"));
                    }
                    check_condition(item)?;
                }
            }
            "$not" => {
                if !v.is_object() {
                    return Err("'$not' must be a condition (an object)".to_string());
                }
                check_condition(v)?;
            }
            _ => check_value_condition(v)?,
        }
    }
    Ok(())
}

fn check_value_condition(v: &Value) -> Result<(), String> {
    let Value::Object(m) = v else { return Ok(()) };
    if !is_operator_object(v).unwrap_or(false) {
        return Ok(());
    }
    for (op, e) in m {
        match op.as_str() {
            "$not" | "$size" => check_value_condition(e)?,
            "$all" | "$alli" => {
                for x in e.as_array().map(Vec::as_slice).unwrap_or_default() {
                    check_value_condition(x)?;
                }
            }
            "$elemMatch" => match e {
                Value::Object(_) if is_operator_object(e).unwrap_or(false) => check_value_condition(e)?,
                Value::Object(_) => check_condition(e)?,
                _ => return Err("'$elemMatch' must be an object".to_string()),
            },
            _ => {}
        }
    }
    Ok(())
}

fn parse_filter(v: &Value) -> Result<Filter, String> {
    let o = v.as_object().ok_or("each of 'filters' must be an object")?;
    let seed = opt_string(o, "seed").map_err(|_| "a filter's 'seed' must be a string".to_string())?;
    let seed = seed.ok_or("a filter needs a 'seed'")?;
    let attribute = opt_string(o, "attribute")
        .map_err(|_| "a filter's 'attribute' must be a string".to_string())?
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "id".to_string());
    let hash_version = hash_version(o, "hashVersion", 2).map_err(|e| format!("a filter's {e}"))?;
    let ranges = match field(o, "ranges") {
        Some(r) => parse_ranges(r, "ranges")?,
        None => return Err("a filter needs 'ranges'".to_string()),
    };
    Ok(Filter { attribute, seed, hash_version, ranges })
}

impl Experiment {
    /// Parses GrowthBook's experiment JSON. `key` (a string) and `variations` (an array) are required; other
    /// GrowthBook fields are optional (null is the same as absent) and unknown fields are ignored. Fields that
    /// need what this port leaves out (`parentConditions`, `url`, `urlPatterns`, `groups`) are refused, and so
    /// are a `condition` the SDK could throw on and a `meta` without one entry per variation (the SDK throws).
    pub fn from_json(v: &Value) -> Result<Experiment, String> {
        let o = v.as_object().ok_or("an experiment must be a JSON object")?;
        for k in ["parentConditions", "url", "urlPatterns", "groups"] {
            if field(o, k).is_some() {
                return Err(format!("'{k}' is not supported"));
            }
        }
        let key = opt_string(o, "key")?.ok_or("an experiment needs a 'key'")?;
        let variations = match field(o, "variations") {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err("'variations' must be an array".to_string()),
        };
        let weights = match field(o, "weights") {
            None => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|w| w.as_f64().ok_or_else(|| "'weights' must be an array of numbers".to_string()))
                    .collect::<Result<Vec<f64>, String>>()?,
            ),
            Some(_) => return Err("'weights' must be an array of numbers".to_string()),
        };
        let namespace = match field(o, "namespace") {
            None => None,
            Some(ns) => match ns.as_array().map(Vec::as_slice) {
                Some([Value::String(id), Value::Number(s), Value::Number(e)]) => {
                    Some((id.clone(), num_f64(s), num_f64(e)))
                }
                _ => return Err("'namespace' must be [id, start, end] (a string and two numbers)".to_string()),
            },
        };
        let filters = match field(o, "filters") {
            None => None,
            Some(Value::Array(a)) => Some(a.iter().map(parse_filter).collect::<Result<Vec<_>, _>>()?),
            Some(_) => return Err("'filters' must be an array".to_string()),
        };
        let ranges = field(o, "ranges").map(|r| parse_ranges(r, "ranges")).transpose()?;
        let condition = match field(o, "condition") {
            None => None,
            Some(c @ Value::Object(_)) => {
                check_condition(c).map_err(|e| format!("invalid 'condition': {e}"))?;
                Some(c.clone())
            }
            Some(_) => return Err("'condition' must be an object".to_string()),
        };
        let meta = match field(o, "meta") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|m| {
                    let m = m.as_object().ok_or("each of 'meta' must be an object")?;
                    let s = |k: &str| opt_string(m, k).map_err(|e| format!("a meta entry's {e}"));
                    Ok(VariationMeta {
                        key: s("key")?,
                        name: s("name")?,
                        passthrough: opt_bool(m, "passthrough").map_err(|e| format!("a meta entry's {e}"))?
                            == Some(true),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
            Some(_) => return Err("'meta' must be an array".to_string()),
        };
        // The SDK reads `meta[variation]` unguarded.
        if field(o, "meta").is_some() && meta.len() != variations.len() {
            return Err("'meta' must have one entry per variation".to_string());
        }
        let seed = opt_string(o, "seed")?.filter(|s| !s.is_empty()).unwrap_or_else(|| key.clone());
        Ok(Experiment {
            variations,
            weights,
            coverage: opt_number(o, "coverage")?,
            active: opt_bool(o, "active")? != Some(false),
            status: opt_string(o, "status")?,
            hash_attribute: opt_string(o, "hashAttribute")?
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "id".to_string()),
            seed,
            hash_version: hash_version(o, "hashVersion", 1)?,
            namespace,
            filters,
            ranges,
            condition,
            force: opt_integer(o, "force")?,
            meta,
            key,
        })
    }
}

/// Who the experiment is evaluated for (the parts of the SDK's context that matter here).
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The user's attributes (a JSON object).
    pub attributes: Value,
    /// Saved groups for `$inGroup`/`$notInGroup` (a JSON object; null for none).
    pub saved_groups: Value,
    /// False turns every experiment off.
    pub enabled: bool,
    /// True excludes everyone not forced into a variation.
    pub qa_mode: bool,
    /// Experiment key -> forced variation index.
    pub forced_variations: HashMap<String, i64>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            attributes: Value::Object(Map::new()),
            saved_groups: Value::Null,
            enabled: true,
            qa_mode: false,
            forced_variations: HashMap::new(),
        }
    }
}

impl Context {
    /// Parses the SDK's context JSON (`attributes`, `savedGroups`, `enabled`, `qaMode`, `forcedVariations`);
    /// other fields (`url`, `features`, ...) are ignored.
    pub fn from_json(v: &Value) -> Result<Context, String> {
        let o = v.as_object().ok_or("a context must be a JSON object")?;
        let object = |k: &str| match field(o, k) {
            None => Ok(None),
            Some(a @ Value::Object(_)) => Ok(Some(a.clone())),
            Some(_) => Err(format!("'{k}' must be an object")),
        };
        let mut forced_variations = HashMap::new();
        if let Some(Value::Object(f)) = object("forcedVariations")? {
            for (k, v) in f {
                let i = v
                    .as_f64()
                    .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                    .ok_or_else(|| format!("forced variation of '{k}' must be an integer"))?;
                forced_variations.insert(k, i as i64);
            }
        }
        Ok(Context {
            attributes: object("attributes")?.unwrap_or_else(|| Value::Object(Map::new())),
            saved_groups: object("savedGroups")?.unwrap_or(Value::Null),
            enabled: opt_bool(o, "enabled")? != Some(false),
            qa_mode: opt_bool(o, "qaMode")? == Some(true),
            forced_variations,
        })
    }
}

/// The outcome of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub in_experiment: bool,
    /// Whether the variation came from hashing (false when forced or excluded).
    pub hash_used: bool,
    /// The variation index, -1 when not in the experiment. (The SDK reports variation 0 then, with
    /// `inExperiment: false`; see [`RunResult::sdk_variation_id`].)
    pub variation_id: i64,
    /// The value of the variation shown: as the SDK, variation 0's when not in the experiment (null if there
    /// are no variations).
    pub value: Value,
    /// The hash attribute's value as a string ("" when missing or falsy).
    pub hash_value: String,
    /// The hash, when `hash_used`.
    pub bucket: Option<f64>,
    /// The shown variation's `meta` key, or its index as a string ("0" when not in the experiment).
    pub key: String,
    /// One of the [`reason`] constants.
    pub reason: &'static str,
}

impl RunResult {
    /// The variation the SDK reports (`variationId`): 0 when not in the experiment.
    pub fn sdk_variation_id(&self) -> i64 {
        self.variation_id.max(0)
    }
}

/// The hash attribute's value as the SDK reads it: its string form if it is truthy, else `None`. (A truthy
/// value can still read as "": an empty array is hashed as "".)
fn hash_value_of(ctx: &Context, attribute: &str) -> Option<String> {
    match ctx.attributes.get(attribute) {
        Some(v) if js_truthy(v) => Some(js_to_string(v).into_owned()),
        _ => None,
    }
}

fn filtered_out(filters: &[Filter], ctx: &Context) -> bool {
    filters.iter().any(|f| {
        let Some(hv) = hash_value_of(ctx, &f.attribute) else { return true };
        match hash(&f.seed, &hv, f.hash_version) {
            None => true,
            Some(n) => !f.ranges.iter().any(|&(lo, hi)| n >= lo && n < hi),
        }
    })
}

/// Evaluates `exp` for the user in `ctx` as the SDK's `runExperiment`, in its order: fewer than two variations
/// or a disabled context; a variation forced by the context; inactive or draft; no hash value; filters (else
/// namespace); condition; hash and ranges (coverage, weights or explicit ranges); the experiment's `force`;
/// QA mode; stopped; assigned.
pub fn run(exp: &Experiment, ctx: &Context) -> RunResult {
    let hashed = hash_value_of(ctx, &exp.hash_attribute);
    let hash_value = hashed.clone().unwrap_or_default();
    let n_variations = exp.variations.len() as i64;
    let result = |index: i64, hash_used: bool, bucket: Option<f64>, why: &'static str| {
        let in_experiment = index >= 0 && index < n_variations;
        let shown = if in_experiment { index } else { 0 };
        let key = exp
            .meta
            .get(shown as usize)
            .and_then(|m| m.key.clone())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| shown.to_string());
        RunResult {
            in_experiment,
            hash_used,
            variation_id: if in_experiment { index } else { -1 },
            value: exp.variations.get(shown as usize).cloned().unwrap_or(Value::Null),
            hash_value: hash_value.clone(),
            bucket: if hash_used { bucket } else { None },
            key,
            // Explicit ranges can hash a user to an index past the variations: not in the experiment.
            reason: if in_experiment || why != reason::ASSIGNED { why } else { reason::COVERAGE },
        }
    };
    if n_variations < 2 || !ctx.enabled {
        return result(-1, false, None, reason::NOT_RUNNING);
    }
    if let Some(&forced) = ctx.forced_variations.get(&exp.key) {
        return result(forced, false, None, reason::FORCED);
    }
    if !exp.active || exp.status.as_deref() == Some("draft") {
        return result(-1, false, None, reason::NOT_RUNNING);
    }
    if hashed.is_none() {
        return result(-1, false, None, reason::NO_HASH_VALUE);
    }
    if let Some(filters) = &exp.filters {
        if filtered_out(filters, ctx) {
            return result(-1, false, None, reason::NOT_TARGETED);
        }
    } else if let Some((id, start, end)) = &exp.namespace {
        if !in_namespace(&hash_value, (id, *start, *end)) {
            return result(-1, false, None, reason::NAMESPACE);
        }
    }
    if let Some(cond) = &exp.condition {
        if !eval_condition(&ctx.attributes, cond, &ctx.saved_groups) {
            return result(-1, false, None, reason::NOT_TARGETED);
        }
    }
    let Some(n) = hash(&exp.seed, &hash_value, exp.hash_version) else {
        return result(-1, false, None, reason::NO_HASH_VALUE);
    };
    let assigned = match &exp.ranges {
        Some(r) => choose_variation(n, r),
        None => {
            let ranges = bucket_ranges(exp.variations.len(), exp.coverage.unwrap_or(1.0), exp.weights.as_deref());
            choose_variation(n, &ranges)
        }
    };
    if assigned < 0 {
        return result(-1, false, None, reason::COVERAGE);
    }
    if let Some(force) = exp.force {
        return result(force, false, None, reason::FORCED);
    }
    if ctx.qa_mode {
        return result(-1, false, None, reason::QA_MODE);
    }
    if exp.status.as_deref() == Some("stopped") {
        return result(-1, false, None, reason::NOT_RUNNING);
    }
    result(assigned, true, Some(n), reason::ASSIGNED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn number_to_string_is_javascripts() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (2f64.powi(53), "9007199254740992"),
            // Both "…61.62" and "…61.63" read back as this number; JavaScript writes the closer.
            (131537123724261.62, "131537123724261.62"),
            (-869196744858371.2, "-869196744858371.2"),
        ];
        for (x, s) in cases {
            assert_eq!(js_number_to_string(*x), *s, "{x:?}");
        }
    }

    #[test]
    fn string_to_number_is_javascripts() {
        let cases: &[(&str, f64)] = &[
            ("", 0.0),
            ("  12 ", 12.0),
            ("0x1F", 31.0),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("-Infinity", f64::NEG_INFINITY),
        ];
        for (s, x) in cases {
            assert_eq!(js_string_to_number(s), *x, "{s:?}");
        }
        for s in ["abc", "1_000", "inf", "nan", "0x", "-0x1", ".", "1e", "Infinityx"] {
            assert!(js_string_to_number(s).is_nan(), "{s:?}");
        }
    }

    #[test]
    fn bucket_ranges_are_the_sdks_floats() {
        // JavaScript gives exactly these (the vectors round them).
        let r = bucket_ranges(3, 0.2, Some(&[0.2, 0.3, 0.5]));
        assert_eq!(r, vec![(0.0, 0.04000000000000001), (0.2, 0.26), (0.5, 0.6)]);
        assert_eq!(bucket_ranges(3, 1.0, None)[2], (0.6666666666666666, 1.0));
        assert_eq!(bucket_ranges(7, 0.3, None)[6], (0.857142857142857, 0.8999999999999998));
    }

    #[test]
    fn hash_of_non_string_ids_is_javascripts() {
        let exp = Experiment::from_json(&json!({"key": "k", "variations": [0, 1]})).unwrap();
        let ctx = |id: Value| Context { attributes: json!({ "id": id }), ..Context::default() };
        let a = run(&exp, &ctx(json!(123)));
        let b = run(&exp, &ctx(json!("123")));
        assert_eq!((a.bucket, a.hash_value.as_str()), (b.bucket, "123"));
        assert_eq!(run(&exp, &ctx(json!(1e21))).hash_value, "1e+21");
        assert_eq!(run(&exp, &ctx(json!(0))).reason, reason::NO_HASH_VALUE);
        // An empty array is truthy, and hashed as "".
        let r = run(&exp, &ctx(json!([])));
        assert_eq!((r.hash_used, r.hash_value.as_str()), (true, ""));
    }

    #[test]
    fn version_strings_are_padded() {
        assert_eq!(padded_version_string(&json!("v1.2.3-rc.1+build")), "    1-    2-    3-rc-    1");
        assert_eq!(padded_version_string(&json!("1.2.3")), "    1-    2-    3-~");
        assert_eq!(padded_version_string(&json!(null)), "    0");
        assert_eq!(padded_version_string(&json!(1.5)), "    1-    5");
    }

    #[test]
    fn regexes_keep_javascript_meaning() {
        let m = |p: &str, s: &str| js_regex(p, false).map(|r| r.is_match(&as_units(s)));
        assert_eq!(m(r"^\d+$", "١٢"), Some(false));
        assert_eq!(m(r"^\w$", "é"), Some(false));
        assert_eq!(m(r"^a.c$", "a\rc"), Some(false));
        assert_eq!(m(r"^https:\/\/x\.com", "https://x.com/a"), Some(true));
        assert_eq!(m(r"a{", "a{"), Some(true));
        assert_eq!(m(r"[[]", "["), Some(true));
        assert_eq!(m(r"[^]", "\n"), Some(true));
        assert_eq!(m(r"[]", "a"), Some(false));
        assert_eq!(m(r"[\d-z]", "-"), Some(true));
        assert_eq!(m(r"[a&&b]", "&"), Some(true));
        assert_eq!(m(r"(?<y>\d{4})-\d{2}", "2024-01"), Some(true));
        assert_eq!(m(r"\bfoo\b", "éfooé"), Some(true));
        assert!(m(r"(a)\1", "aa").is_none());
        // Without that many groups, "\1" is an octal escape and "\8" an "8".
        assert_eq!(m(r"^\1\8\101$", "\u{1}8A"), Some(true));
        assert_eq!(m(r"^\08$", "\u{0}8"), Some(true));
        assert!(m(r"(?=a)", "a").is_none());
        assert!(m(r"/???***[)", "x").is_none());
        assert!(m(r"[z-a]", "x").is_none());
        // JavaScript's "nothing to repeat".
        for p in ["a**", "a*?{2}", "^*", r"\b+", "$?", "*a", "(+)", "a|?"] {
            assert!(m(p, "a").is_none(), "{p}");
        }
        assert_eq!(m("a+?b{1,2}?", "aab"), Some(true));
        assert_eq!(m("(?:)*x", "x"), Some(true));
        // Code units, as JavaScript without the `u` flag: an emoji is two.
        assert_eq!(m("^.$", "😀"), Some(false));
        assert_eq!(m("^..$", "😀"), Some(true));
        assert_eq!(m(r"^\uD83D\uDE00$", "😀"), Some(true));
        assert_eq!(m("^[😀]$", "😀"), Some(false));
        assert_eq!(m("😀{2}", "😀😀"), Some(false));
        assert_eq!(m(r"^[\uD800-\uDBFF]", "😀"), Some(true));
    }

    #[test]
    fn thrown_conditions_are_false() {
        let e = |c: Value, a: Value| eval_condition(&a, &c, &Value::Null);
        assert!(!e(json!({"$or": null}), json!({})));
        assert!(e(json!({"$or": 5}), json!({})));
        assert!(e(json!({"$and": {"length": 1, "0": {"a": 1}}}), json!({"a": 1})));
        assert!(!e(json!({"$and": {"length": 2, "0": {"a": 1}}}), json!({"a": 1})));
        assert!(!e(json!({"tags": {"$elemMatch": null}}), json!({"tags": [1]})));
        assert!(e(json!({"tags.length": 2, "tags.1": "b"}), json!({"tags": ["a", "b"]})));
        assert!(e(json!({"x": {"$elemMatch": {"$eq": 0}}}), json!({"x": [0]})));
    }

    #[test]
    fn unsupported_fields_are_refused() {
        let e = Experiment::from_json(&json!({"key": "k", "variations": [0, 1], "parentConditions": []}));
        assert_eq!(e.unwrap_err(), "'parentConditions' is not supported");
        let e = Experiment::from_json(&json!({"key": "k", "variations": [0, 1], "coverage": "x"}));
        assert_eq!(e.unwrap_err(), "'coverage' must be a number");
        let e = Experiment::from_json(&json!({"key": "k", "variations": [0, 1], "hashVersion": 3}));
        assert_eq!(e.unwrap_err(), "'hashVersion' must be 1 or 2");
        let e =
            Experiment::from_json(&json!({"key": "k", "variations": [0, 1], "condition": {"$or": [{"$not": null}]}}));
        assert_eq!(e.unwrap_err(), "invalid 'condition': '$not' must be a condition (an object)");
        let e = Experiment::from_json(&json!({"key": "k", "variations": [0, 1], "meta": [{"key": "a"}]}));
        assert_eq!(e.unwrap_err(), "'meta' must have one entry per variation");
    }
}
