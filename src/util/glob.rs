//! Redis glob-style pattern matching (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`,
//! `CONFIG GET`, ACL key/channel patterns, ...).
//!
//! This is a faithful port of `stringmatchlen()` from Redis 7.0 `util.c`,
//! including its corner cases, because clients observe them directly:
//!
//! * `*` matches any run of bytes, `?` exactly one byte, `\x` the literal
//!   `x` (a trailing lone `\` matches a literal backslash);
//! * `[...]` is a byte class: `[^...]` negates it, `a-z` is a range (a
//!   reversed range such as `z-a` is accepted and swapped), and `\x` inside a
//!   class is the literal `x` (compared case-sensitively even when matching
//!   without case);
//! * an unterminated class behaves as in Redis: the class simply ends at the
//!   end of the pattern (`[abc` is the class `abc`, and `[^` on its own
//!   matches any single byte), and a `]` consumed as the end of a range
//!   (`[a-]`) does not close the class;
//! * an empty subject never matches a non-empty pattern, not even `*`
//!   (Redis' `KEYS *` short-circuits the bare `*` pattern before calling the
//!   matcher, and callers must do the same);
//! * range bounds are compared as C `char`, which is signed on the x86-64
//!   builds Redis is normally run on: bytes `>= 0x80` sort *below* ASCII, so
//!   `[a-\xff]` matches `\xff` and `\x00..=a`.  Case folding is ASCII only.
//!
//! Redis 7.0 guards against exponential backtracking on patterns such as
//! `a*a*a*a*a*b` with two devices that are reproduced here: the
//! `skipLongerMatches` flag (once the remainder of the pattern after a `*`
//! failed to match at every later position of the subject, no earlier `*`
//! can succeed by consuming more bytes, so the whole search stops), and a
//! recursion limit of 1000 nested `*` (deeper patterns simply do not match).
//! With the flag every `*` loop that runs to completion ends the search, so
//! the worst case is about `O(pattern_len * subject_len)` steps.

/// Maximum `*` nesting explored before giving up (Redis: `nesting > 1000`).
const MAX_NESTING: u32 = 1000;

/// Returns whether `string` matches the glob `pattern`, with exactly the
/// semantics of Redis 7.0 `stringmatchlen()`.
///
/// When `nocase` is true ASCII letters are compared case-insensitively.
/// Runs in polynomial time on every input and never panics.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut matcher = Matcher { pattern, string, nocase, skip_longer_matches: false };
    matcher.matches(0, 0, 0)
}

/// Shared state of one match: the inputs plus Redis' `skipLongerMatches`.
struct Matcher<'a> {
    pattern: &'a [u8],
    string: &'a [u8],
    nocase: bool,
    skip_longer_matches: bool,
}

/// C `tolower()` in the "C" locale applied to a (signed) `char`.
fn lower(c: i8) -> i8 {
    (c as u8).to_ascii_lowercase() as i8
}

impl Matcher<'_> {
    /// Pattern byte at `i`, or 0 past the end (Redis patterns are sds
    /// strings, so reading one past the end sees the NUL terminator).
    fn pat(&self, i: usize) -> u8 {
        self.pattern.get(i).copied().unwrap_or(0)
    }

    /// Compares a pattern byte with a subject byte, honouring `nocase`.
    fn same(&self, p: u8, s: u8) -> bool {
        if self.nocase {
            p.eq_ignore_ascii_case(&s)
        } else {
            p == s
        }
    }

    /// `stringmatchlen_impl()`: matches `pattern[p..]` against `string[s..]`.
    fn matches(&mut self, mut p: usize, mut s: usize, nesting: u32) -> bool {
        if nesting > MAX_NESTING {
            return false;
        }
        let plen = self.pattern.len();
        let slen = self.string.len();

        while p < plen && s < slen {
            let c = self.string[s];
            match self.pattern[p] {
                b'*' => {
                    while self.pat(p + 1) == b'*' {
                        p += 1;
                    }
                    if p + 1 == plen {
                        return true; // trailing '*' matches everything left
                    }
                    while s < slen {
                        if self.matches(p + 1, s, nesting + 1) {
                            return true;
                        }
                        if self.skip_longer_matches {
                            return false;
                        }
                        s += 1;
                    }
                    // The rest of the pattern matches at no position of the
                    // remaining subject: an enclosing '*' consuming more bytes
                    // would only retry a subset of those positions.
                    self.skip_longer_matches = true;
                    return false;
                }
                b'?' => s += 1,
                b'[' => {
                    p += 1;
                    let negate = self.pat(p) == b'^';
                    if negate {
                        p += 1;
                    }
                    let mut matched = false;
                    loop {
                        let remaining = plen.saturating_sub(p);
                        let pc = self.pat(p);
                        if pc == b'\\' && remaining >= 2 {
                            p += 1;
                            if self.pat(p) == c {
                                matched = true;
                            }
                        } else if pc == b']' {
                            break;
                        } else if remaining == 0 {
                            // Unterminated class: step back onto its last
                            // byte so the common "advance" below ends it.
                            p -= 1;
                            break;
                        } else if remaining >= 3 && self.pat(p + 1) == b'-' {
                            let mut start = pc as i8;
                            let mut end = self.pat(p + 2) as i8;
                            let mut ch = c as i8;
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            if self.nocase {
                                start = lower(start);
                                end = lower(end);
                                ch = lower(ch);
                            }
                            p += 2;
                            if ch >= start && ch <= end {
                                matched = true;
                            }
                        } else if self.same(pc, c) {
                            matched = true;
                        }
                        p += 1;
                    }
                    if negate {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    s += 1;
                }
                b'\\' => {
                    if plen - p >= 2 {
                        p += 1;
                    }
                    if !self.same(self.pat(p), c) {
                        return false;
                    }
                    s += 1;
                }
                other => {
                    if !self.same(other, c) {
                        return false;
                    }
                    s += 1;
                }
            }
            p += 1;
            if s == slen {
                while self.pat(p) == b'*' {
                    p += 1;
                }
                break;
            }
        }
        p == plen && s == slen
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use std::time::{Duration, Instant};

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    /// Plain exponential backtracking matcher with the same byte-level
    /// semantics (no skip flag, no nesting limit), used as an oracle.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn pat(p: &[u8], i: usize) -> u8 {
            p.get(i).copied().unwrap_or(0)
        }
        fn go(p: &[u8], mut pi: usize, s: &[u8], mut si: usize, nc: bool) -> bool {
            let eq = |a: u8, b: u8| {
                if nc {
                    a.eq_ignore_ascii_case(&b)
                } else {
                    a == b
                }
            };
            while pi < p.len() && si < s.len() {
                let c = s[si];
                match p[pi] {
                    b'*' => {
                        while pat(p, pi + 1) == b'*' {
                            pi += 1;
                        }
                        if pi + 1 == p.len() {
                            return true;
                        }
                        return (si..s.len()).any(|k| go(p, pi + 1, s, k, nc));
                    }
                    b'?' => si += 1,
                    b'[' => {
                        pi += 1;
                        let neg = pat(p, pi) == b'^';
                        if neg {
                            pi += 1;
                        }
                        let mut hit = false;
                        loop {
                            let rem = p.len().saturating_sub(pi);
                            if pat(p, pi) == b'\\' && rem >= 2 {
                                pi += 1;
                                hit |= pat(p, pi) == c;
                            } else if pat(p, pi) == b']' {
                                break;
                            } else if rem == 0 {
                                pi -= 1;
                                break;
                            } else if rem >= 3 && pat(p, pi + 1) == b'-' {
                                let (mut a, mut b) = (pat(p, pi) as i8, pat(p, pi + 2) as i8);
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                let l = |x: i8| (x as u8).to_ascii_lowercase() as i8;
                                let (a, b, x) = if nc { (l(a), l(b), l(c as i8)) } else { (a, b, c as i8) };
                                hit |= x >= a && x <= b;
                                pi += 2;
                            } else {
                                hit |= eq(pat(p, pi), c);
                            }
                            pi += 1;
                        }
                        if hit == neg {
                            return false;
                        }
                        si += 1;
                    }
                    b'\\' => {
                        if p.len() - pi >= 2 {
                            pi += 1;
                        }
                        if !eq(p[pi], c) {
                            return false;
                        }
                        si += 1;
                    }
                    o => {
                        if !eq(o, c) {
                            return false;
                        }
                        si += 1;
                    }
                }
                pi += 1;
                if si == s.len() {
                    while pat(p, pi) == b'*' {
                        pi += 1;
                    }
                    break;
                }
            }
            pi == p.len() && si == s.len()
        }
        go(p, 0, s, 0, nocase)
    }

    #[test]
    fn literals() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hellO"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("a", ""));
    }

    #[test]
    fn star() {
        assert!(m("*", "anything"));
        assert!(m("h*o", "hello"));
        assert!(m("h*o", "ho"));
        assert!(m("h*llo", "hello"));
        assert!(!m("h*x", "hello"));
        assert!(m("*llo", "hello"));
        assert!(m("he*", "he"));
        assert!(m("he**", "he"));
        assert!(m("**", "x"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*:*:*", "user:1:name"));
        assert!(m("user:*", "user:"));
        assert!(m("*a", "aaaa"));
        assert!(!m("*a", "aaab"));
    }

    #[test]
    fn empty_subject_never_matches_nonempty_pattern() {
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(!m("[a]", ""));
    }

    #[test]
    fn question_mark() {
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("???", "abc"));
        assert!(!m("???", "ab"));
        assert!(m("?*", "a"));
        assert!(!m("?*", ""));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[^0-9]", "5"));
        assert!(m("[^0-9]", "x"));
        // "[]" is an empty class (never matches), so "[]]" never matches.
        assert!(!m("[]]", "]"));
        assert!(!m("[]]", "]]"));
    }

    #[test]
    fn reversed_ranges() {
        assert!(m("[z-a]", "m"));
        assert!(m("[9-0]", "5"));
        assert!(!m("[z-a]", "A"));
    }

    #[test]
    fn escapes() {
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "a"));
        assert!(m(r"a\?b", "a?b"));
        assert!(!m(r"a\?b", "axb"));
        assert!(m(r"\[a]", "[a]"));
        assert!(m(r"[\]]", "]"));
        assert!(m(r"[\-]", "-"));
        assert!(m(r"[a\-z]", "-"));
        assert!(!m(r"[a\-z]", "b"));
        assert!(m(r"[\^a]", "^"));
        // A trailing lone backslash matches a literal backslash.
        assert!(m("a\\", "a\\"));
        assert!(!m("a\\", "a"));
    }

    #[test]
    fn class_escape_is_case_sensitive_even_with_nocase() {
        assert!(mi(r"[\a]", "a"));
        assert!(!mi(r"[\a]", "A"));
        assert!(mi("[a]", "A"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HeLLo", "hello"));
        assert!(mi("h*O", "HELLO"));
        assert!(mi("[A-C]x", "bX"));
        assert!(mi("[a-c]", "B"));
        assert!(!m("[a-c]", "B"));
        assert!(!mi("hello", "hellp"));
        // Non-ASCII bytes are never folded.
        assert!(!mi("\u{e9}", "\u{c9}"));
    }

    #[test]
    fn unterminated_classes() {
        // The class ends at the end of the pattern.
        assert!(m("[abc", "a"));
        assert!(m("[abc", "c"));
        assert!(!m("[abc", "d"));
        assert!(m("x[ab", "xb"));
        // A lone '[' is an empty class: never matches.
        assert!(!m("[", "["));
        assert!(!m("[", "a"));
        // A lone "[^" is an empty negated class: matches any single byte.
        assert!(m("[^", "a"));
        assert!(m("[^", "^"));
        assert!(!m("[^", "ab"));
        assert!(m("a[^", "ab"));
        // "[a-" is the members 'a' and '-' (range needs 3 bytes).
        assert!(m("[a-", "-"));
        assert!(m("[a-", "a"));
        assert!(!m("[a-", "b"));
        // Trailing backslash in an unterminated class is a plain member.
        assert!(m("[a\\", "\\"));
    }

    #[test]
    fn range_ending_in_bracket_does_not_close_class() {
        // "[a-]" is the range ']'..='a' (swapped) and the class stays open,
        // extending to the end of the pattern: "b]" inside the class.
        assert!(m("[a-]", "_"));
        assert!(m("[a-]b]", "_"));
        assert!(m("[a-]b]", "b"));
        assert!(!m("[a-]x", "_x"));
    }

    #[test]
    fn signed_char_ranges() {
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(glob_match(b"[a-\xff]", b"\x00", false));
        assert!(glob_match(b"[a-\xff]", b"a", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(!glob_match(b"[\x80-\xff]", b"a", false));
    }

    #[test]
    fn binary_and_nul_bytes() {
        assert!(glob_match(b"a\0*", b"a\0bc", false));
        assert!(!glob_match(b"a\0*", b"ab", false));
        assert!(glob_match(b"?\0?", b"x\0y", false));
        assert!(glob_match(b"[\0]", b"\0", false));
    }

    #[test]
    fn stars_after_exhausted_subject() {
        assert!(m("abc*", "abc"));
        assert!(m("abc***", "abc"));
        assert!(!m("abc*d", "abc"));
        assert!(!m("abc*?", "abc"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let subject = "a".repeat(10_000);
        let start = Instant::now();
        assert!(!m("a*a*a*a*a*a*a*b", &subject));
        assert!(!m(&("*a".repeat(200) + "b"), &subject));
        assert!(!m(&("a*".repeat(500) + "b"), &subject));
        assert!(m(&("a*".repeat(500) + "a"), &subject));
        assert!(!m("*?*?*?*?*?*?*?*?b", &subject));
        assert!(!m("*[a]*[ab]*[^b]*b", &subject));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn nesting_limit() {
        // 1000 nested stars are explored; deeper patterns give up (as Redis).
        let subject = "a".repeat(1100);
        assert!(m(&"a*".repeat(900), &subject));
        assert!(!m(&("?*".repeat(1001) + "a"), &subject));
        assert!(m(&("?*".repeat(1000) + "a"), &subject));
        // Consecutive stars collapse and do not count as nesting.
        assert!(m(&("*".repeat(5000) + "a"), "a"));
    }

    #[test]
    fn agrees_with_exponential_reference() {
        let palphabet = b"ab*?[]^-\\";
        let salphabet = b"abAB-]^\\";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..60_000 {
            let plen = (next() % 8) as usize;
            let slen = (next() % 7) as usize;
            let p: Vec<u8> = (0..plen).map(|_| palphabet[(next() % palphabet.len() as u64) as usize]).collect();
            let s: Vec<u8> = (0..slen).map(|_| salphabet[(next() % salphabet.len() as u64) as usize]).collect();
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(&p, &s, nocase),
                    reference(&p, &s, nocase),
                    "pattern {:?} subject {:?} nocase {}",
                    String::from_utf8_lossy(&p),
                    String::from_utf8_lossy(&s),
                    nocase
                );
            }
        }
    }
}
