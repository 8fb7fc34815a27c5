//! Tokeniser for Redis "inline" command lines and `redis.conf` lines.
//!
//! Redis parses both inline protocol requests (`SET foo "bar baz"` typed into
//! telnet) and every line of its configuration file with `sdssplitargs()`
//! from `sds.c`.  Clients and config files in the wild depend on its exact
//! quirks, so this module reproduces that function byte for byte:
//!
//! * arguments are separated by whitespace; leading blanks are skipped using
//!   C `isspace()` (space, `\t`, `\n`, `\v`, `\f`, `\r`), but an *unquoted*
//!   argument only ends at space, `\t`, `\n` or `\r` (so `\v`/`\f` inside a
//!   word are kept as part of it);
//! * `"double quotes"` understand the escapes `\n \r \t \b \a`, `\xHH`
//!   (exactly two hex digits) and `\<any>` which yields `<any>` itself
//!   (so `\\` and `\"` work);
//! * `'single quotes'` only understand `\'`; every other byte, backslashes
//!   included, is literal;
//! * quotes may start in the middle of a word (`foo"bar"` is `foobar`), but a
//!   closing quote must be followed by whitespace or the end of the line,
//!   otherwise the whole line is rejected;
//! * an unterminated quote rejects the whole line;
//! * the C function works on NUL-terminated strings, so a NUL byte ends the
//!   line exactly as the end of input would.

/// C `isspace()` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Value of an ASCII hex digit, or `None` when `b` is not one.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quoting state while reading one argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Splits a line into arguments exactly like Redis's `sdssplitargs()`.
///
/// Returns `None` when the line has unbalanced quotes or a closing quote that
/// is directly followed by something other than whitespace (`"foo"bar`).
/// An empty or all-blank line yields `Some(vec![])`.  Quoted empty strings
/// (`""`, `''`) produce empty arguments.
///
/// The input is treated as a C string: anything from the first NUL byte on
/// is ignored (inside quotes this therefore counts as an unterminated quote).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Emulate the NUL terminator: the C code never looks past the first NUL.
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    // Reads byte `i`, yielding 0 (the terminator) past the end.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);

    let mut args = Vec::new();
    let mut p = 0usize;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }

        let mut current = Vec::new();
        let mut quote = Quote::None;
        loop {
            let c = at(p);
            match quote {
                Quote::Double => {
                    if c == b'\\' && at(p + 1) == b'x' {
                        if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                            current.push(hi * 16 + lo);
                            p += 4;
                            continue;
                        }
                    }
                    if c == b'\\' && at(p + 1) != 0 {
                        p += 1;
                        current.push(match at(p) {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    } else if c == b'"' {
                        let next = at(p + 1);
                        if next != 0 && !is_c_space(next) {
                            return None;
                        }
                        p += 1;
                        break;
                    } else if c == 0 {
                        return None; // unterminated double quotes
                    } else {
                        current.push(c);
                    }
                }
                Quote::Single => {
                    if c == b'\\' && at(p + 1) == b'\'' {
                        p += 1;
                        current.push(b'\'');
                    } else if c == b'\'' {
                        let next = at(p + 1);
                        if next != 0 && !is_c_space(next) {
                            return None;
                        }
                        p += 1;
                        break;
                    } else if c == 0 {
                        return None; // unterminated single quotes
                    } else {
                        current.push(c);
                    }
                }
                Quote::None => match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    0 => break,
                    b'"' => quote = Quote::Double,
                    b'\'' => quote = Quote::Single,
                    _ => current.push(c),
                },
            }
            p += 1;
        }
        args.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn ok(line: &str) -> Vec<Vec<u8>> {
        split_args(line.as_bytes()).expect("line should parse")
    }

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn empty_and_blank_lines() {
        assert_eq!(split_args(b""), Some(vec![]));
        assert_eq!(split_args(b"   \t\r\n"), Some(vec![]));
        assert_eq!(split_args(b"\x0b\x0c"), Some(vec![]));
    }

    #[test]
    fn plain_words() {
        assert_eq!(ok("set foo bar"), args(&["set", "foo", "bar"]));
        assert_eq!(ok("  set\tfoo \r\n bar  "), args(&["set", "foo", "bar"]));
        assert_eq!(ok("PING"), args(&["PING"]));
        assert_eq!(ok("a\r\n"), args(&["a"]));
    }

    #[test]
    fn vertical_tab_and_form_feed_inside_word_are_kept() {
        // Skipped as leading blanks, but they do not terminate a word.
        assert_eq!(ok("\x0ba\x0bb c"), args(&["a\x0bb", "c"]));
        assert_eq!(ok("a\x0cb"), args(&["a\x0cb"]));
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(ok(r#"set "foo bar" x"#), args(&["set", "foo bar", "x"]));
        assert_eq!(ok(r#""""#), args(&[""]));
        assert_eq!(ok(r#""" """#), args(&["", ""]));
        assert_eq!(ok(r#""a\nb\rc\td\be\af\\g\"h\zi""#), vec![b"a\nb\rc\td\x08e\x07f\\g\"hzi".to_vec()]);
        assert_eq!(split_args(br#""\x41\x7a\xff\x00""#), Some(vec![b"Az\xff\x00".to_vec()]));
        assert_eq!(split_args(br#""\xAb""#), Some(vec![vec![0xab]]));
    }

    #[test]
    fn incomplete_hex_escape_is_a_plain_escape() {
        // `\x` not followed by two hex digits is the escape of 'x'.
        assert_eq!(ok(r#""\xg1""#), args(&["xg1"]));
        assert_eq!(ok(r#""\x4""#), args(&["x4"]));
        assert_eq!(ok(r#""\x""#), args(&["x"]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(ok("'foo bar'"), args(&["foo bar"]));
        assert_eq!(ok(r"'it\'s'"), args(&["it's"]));
        assert_eq!(ok(r"'a\nb\\c\x41'"), args(&[r"a\nb\\c\x41"]));
        assert_eq!(ok(r#"'say "hi"'"#), args(&[r#"say "hi""#]));
        assert_eq!(ok("''"), args(&[""]));
    }

    #[test]
    fn quotes_inside_words() {
        assert_eq!(ok(r#"foo"bar baz""#), args(&["foobar baz"]));
        assert_eq!(ok(r#"a'b c' d"#), args(&["ab c", "d"]));
        assert_eq!(ok(r#"x"" y"#), args(&["x", "y"]));
    }

    #[test]
    fn closing_quote_must_be_followed_by_space() {
        assert_eq!(split_args(br#""foo"bar"#), None);
        assert_eq!(split_args(br#"'foo'bar"#), None);
        assert_eq!(split_args(br#""a""b""#), None);
        assert_eq!(split_args(br#"a"b"'c'"#), None);
        assert_eq!(ok("\"foo\"\x0bbar"), args(&["foo", "bar"]));
        assert_eq!(ok("\"foo\"\tbar"), args(&["foo", "bar"]));
        assert_eq!(ok("'foo'\nbar"), args(&["foo", "bar"]));
    }

    #[test]
    fn unbalanced_quotes() {
        assert_eq!(split_args(br#""foo"#), None);
        assert_eq!(split_args(b"'foo"), None);
        assert_eq!(split_args(br#"foo ""#), None);
        assert_eq!(split_args(br#""foo\""#), None);
        assert_eq!(split_args(br#""foo\"#), None);
        assert_eq!(split_args(br"'foo\'"), None);
        assert_eq!(split_args(br#"'foo"#), None);
    }

    #[test]
    fn nul_byte_terminates_the_line() {
        assert_eq!(split_args(b"foo\0bar baz"), Some(vec![b"foo".to_vec()]));
        assert_eq!(split_args(b"a b\0"), Some(vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(split_args(b"\0abc"), Some(vec![]));
        assert_eq!(split_args(b"\"foo\0\""), None);
        assert_eq!(split_args(b"'foo\0'"), None);
        // A closing quote followed by NUL is a quote followed by "end".
        assert_eq!(split_args(b"\"foo\"\0bar"), Some(vec![b"foo".to_vec()]));
    }

    #[test]
    fn binary_bytes_pass_through() {
        assert_eq!(split_args(b"\xff\x80 x"), Some(vec![vec![0xff, 0x80], b"x".to_vec()]));
    }

    #[test]
    fn config_style_lines() {
        assert_eq!(ok("save 900 1"), args(&["save", "900", "1"]));
        assert_eq!(ok(r#"requirepass "p@ss word""#), args(&["requirepass", "p@ss word"]));
        assert_eq!(ok(r#"dir "" "#), args(&["dir", ""]));
    }

    #[test]
    fn never_panics_on_short_fuzz() {
        let alphabet = [b'a', b' ', b'"', b'\'', b'\\', b'x', b'4', b'\0', b'\t', 0xff];
        // Exhaustively try every string of length <= 4 over the alphabet.
        let mut buf = Vec::new();
        for len in 0..=4u32 {
            for mut n in 0..alphabet.len().pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let _ = split_args(&buf);
            }
        }
    }
}
