//! Request decoder: RESP multibulk frames and inline commands into argument vectors.
//!
//! Strata's own decoder rather than redis-protocol's (see docs/ARCHITECTURE.md): it is resumable (a large frame that
//! arrives in pieces is not re-parsed from the start), enforces Redis's limits with Redis's error texts, accepts
//! inline commands, and hands out arguments as zero-copy `Bytes` slices of the read buffer.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline command, and longest `*N` / `$N` header line, Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count accepted once authenticated (Redis checks `ll > INT_MAX`).
pub const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Largest multibulk count before authentication.
const UNAUTH_MULTIBULK_MAX: i64 = 10;
/// Largest bulk length before authentication.
const UNAUTH_BULK_MAX: i64 = 16384;
/// Bulk strings at least this large are read into a buffer reserved for exactly their size (PROTO_MBULK_BIG_ARG).
const BIG_ARG: usize = 32 * 1024;

/// A protocol violation: the text follows `-ERR ` on the wire and the connection is closed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: &str) -> Self {
        ProtocolError(format!("Protocol error: {msg}"))
    }
}

/// Progress through a multibulk frame that has not fully arrived yet.
#[derive(Debug, Default)]
struct Partial {
    /// Arguments still expected.
    remaining: usize,
    /// Where parsing resumes in the buffer.
    pos: usize,
    /// Length of the bulk whose header was read but whose payload is incomplete.
    pending_bulk: Option<usize>,
}

/// Resumable request decoder; one per connection.
#[derive(Debug)]
pub struct Decoder {
    partial: Option<Partial>,
    /// Offsets (start, end) of the current frame's arguments parsed so far, relative to the buffer's start.
    offsets: Vec<(usize, usize)>,
    /// A spent argument vector handed back by the caller, reused for the next command (no allocation per
    /// command).
    spare: Vec<Bytes>,
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { partial: None, offsets: Vec::new(), spare: Vec::new(), max_bulk_len: 512 * 1024 * 1024 }
    }
}

/// What one decode step produced.
#[derive(Debug)]
pub enum Decoded {
    /// A complete command (never empty).
    Command(Vec<Bytes>),
    /// More bytes are needed; the hint is how many bytes the buffer should be able to hold.
    Incomplete(usize),
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.iter().position(|&b| b == b'\r').map(|p| p + from)
}

fn parse_len(s: &[u8]) -> Option<i64> {
    crate::util::num::parse_i64(s)
}

impl Decoder {
    /// Bytes the decoder holds besides the query buffer (offsets of a half-read frame's arguments).
    pub fn capacity_bytes(&self) -> usize {
        self.offsets.capacity() * std::mem::size_of::<(usize, usize)>()
            + self.spare.capacity() * std::mem::size_of::<Bytes>()
    }

    /// Takes back a command's argument vector once it has run, to hold the next command's.
    pub fn recycle(&mut self, mut args: Vec<Bytes>) {
        if args.capacity() <= 64 {
            args.clear();
            self.spare = args;
        }
    }

    /// Releases spare memory held for a half-read frame.
    pub fn shrink(&mut self) {
        self.offsets.shrink_to_fit();
        self.spare = Vec::new();
    }

    /// True while a multibulk frame is half read.
    pub fn in_frame(&self) -> bool {
        self.partial.is_some()
    }

    /// Decodes the next command from `buf`, consuming its bytes.
    ///
    /// # Errors
    /// A [`ProtocolError`] with Redis's text (`Protocol error: invalid multibulk length`, ...); the caller replies
    /// with it and closes the connection.
    pub fn decode(&mut self, buf: &mut BytesMut, authenticated: bool) -> Result<Decoded, ProtocolError> {
        loop {
            if self.partial.is_none() {
                match buf.first() {
                    None => return Ok(Decoded::Incomplete(0)),
                    Some(b'*') => {}
                    Some(_) => match self.decode_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Decoded::Command(args)),
                        None => return Ok(Decoded::Incomplete(0)),
                    },
                }
                // Multibulk header.
                let Some(cr) = find_crlf(buf, 1) else {
                    if buf.len() > INLINE_MAX {
                        return Err(ProtocolError::new("too big mbulk count string"));
                    }
                    return Ok(Decoded::Incomplete(0));
                };
                if cr + 1 >= buf.len() {
                    return Ok(Decoded::Incomplete(0));
                }
                let n = match parse_len(&buf[1..cr]) {
                    Some(n) if n <= MULTIBULK_MAX => n,
                    _ => return Err(ProtocolError::new("invalid multibulk length")),
                };
                if n > UNAUTH_MULTIBULK_MAX && !authenticated {
                    return Err(ProtocolError::new("unauthenticated multibulk length"));
                }
                if n <= 0 {
                    buf.advance(cr + 2);
                    continue;
                }
                let n = n as usize;
                self.offsets.clear();
                self.partial = Some(Partial { remaining: n, pos: cr + 2, pending_bulk: None });
            }
            return self.decode_bulks(buf, authenticated);
        }
    }

    fn decode_bulks(&mut self, buf: &mut BytesMut, authenticated: bool) -> Result<Decoded, ProtocolError> {
        let Some(p) = self.partial.as_mut() else {
            return Ok(Decoded::Incomplete(0));
        };
        while p.remaining > 0 {
            let len = match p.pending_bulk {
                Some(len) => len,
                None => {
                    let Some(&first) = buf.get(p.pos) else {
                        return Ok(Decoded::Incomplete(0));
                    };
                    let Some(cr) = find_crlf(buf, p.pos) else {
                        if buf.len() - p.pos > INLINE_MAX {
                            return Err(ProtocolError::new("too big bulk count string"));
                        }
                        return Ok(Decoded::Incomplete(0));
                    };
                    if cr + 1 >= buf.len() {
                        return Ok(Decoded::Incomplete(0));
                    }
                    if first != b'$' {
                        return Err(ProtocolError(format!(
                            "Protocol error: expected '$', got '{}'",
                            char::from(first)
                        )));
                    }
                    let len = match parse_len(&buf[p.pos + 1..cr]) {
                        Some(l) if l >= 0 && l <= self.max_bulk_len => l,
                        _ => return Err(ProtocolError::new("invalid bulk length")),
                    };
                    if len > UNAUTH_BULK_MAX && !authenticated {
                        return Err(ProtocolError::new("unauthenticated bulk length"));
                    }
                    p.pos = cr + 2;
                    let len = len as usize;
                    p.pending_bulk = Some(len);
                    len
                }
            };
            let end = p.pos + len;
            if buf.len() < end + 2 {
                // Big arguments get a buffer sized for the whole frame so it is read without repeated growth.
                let want = if len >= BIG_ARG { end + 2 } else { 0 };
                return Ok(Decoded::Incomplete(want));
            }
            self.offsets.push((p.pos, end));
            p.pos = end + 2;
            p.pending_bulk = None;
            p.remaining -= 1;
        }
        let Some(p) = self.partial.take() else {
            return Ok(Decoded::Incomplete(0));
        };
        let frame = buf.split_to(p.pos).freeze();
        let mut args = std::mem::take(&mut self.spare);
        args.extend(self.offsets.drain(..).map(|(s, e)| frame.slice(s..e)));
        Ok(Decoded::Command(args))
    }

    /// Inline command: one line split like redis.conf lines. `Some(vec![])` for an empty line (skipped).
    fn decode_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(None);
        };
        let line = buf.split_to(nl + 1).freeze();
        let mut content = &line[..nl];
        if content.last() == Some(&b'\r') {
            content = &content[..content.len() - 1];
        }
        if !content.iter().any(|&b| matches!(b, b'"' | b'\'' | 0 | 0x0b | 0x0c)) {
            // No quoting: the words are slices of the line itself. sdssplitargs ends a word at space, tab, CR or
            // LF; vertical tab and form feed only count as blanks between words, and a NUL ends the line, so
            // lines holding those take the exact splitter below.
            let mut args = std::mem::take(&mut self.spare);
            let words = content.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            args.extend(words.filter(|w| !w.is_empty()).map(|w| line.slice_ref(w)));
            return Ok(Some(args));
        }
        match crate::util::splitargs::split_args(content) {
            Some(args) => Ok(Some(args.into_iter().map(Bytes::from).collect())),
            None => Err(ProtocolError::new("unbalanced quotes in request")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_words_keep_vertical_tabs_and_form_feeds_inside() {
        // As sdssplitargs: \v and \f separate words only as leading blanks.
        let got = decode_all(b"SET a\x0bb \x0cc\r\n").unwrap();
        assert_eq!(got, vec![vec![Bytes::from("SET"), Bytes::from("a\x0bb"), Bytes::from("c")]]);
    }

    fn decode_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut d = Decoder::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Decoded::Command(c) = d.decode(&mut buf, true)? {
            out.push(c);
        }
        Ok(out)
    }

    #[test]
    fn pipelined_frames() {
        let cmds = decode_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1], vec![Bytes::from("GET"), Bytes::from("k")]);
    }

    #[test]
    fn inline_and_empty_lines() {
        let cmds = decode_all(b"\r\nPING\r\nSET a \"b c\"\n").unwrap();
        assert_eq!(
            cmds,
            vec![vec![Bytes::from("PING")], vec![Bytes::from("SET"), Bytes::from("a"), Bytes::from("b c")]]
        );
    }

    #[test]
    fn resumes_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            if let Decoded::Command(c) = d.decode(&mut buf, true).unwrap() {
                got = Some(c);
            }
        }
        assert_eq!(got.unwrap()[2], Bytes::from("value"));
        assert!(buf.is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(decode_all(b"*abc\r\n").unwrap_err().0, "Protocol error: invalid multibulk length");
        assert_eq!(
            decode_all(b"*1\r\nPING\r\n").unwrap_err().0,
            "Protocol error: expected 'P', got 'P'".replace("expected 'P'", "expected '$'")
        );
        assert_eq!(decode_all(b"*1\r\n$-5\r\n").unwrap_err().0, "Protocol error: invalid bulk length");
        assert_eq!(decode_all(b"*1\r\n$999999999999\r\n").unwrap_err().0, "Protocol error: invalid bulk length");
        assert_eq!(decode_all(b"GET \"a\r\n").unwrap_err().0, "Protocol error: unbalanced quotes in request");
        let big = vec![b'a'; INLINE_MAX + 10];
        assert_eq!(decode_all(&big).unwrap_err().0, "Protocol error: too big inline request");
    }

    #[test]
    fn zero_and_negative_counts_are_skipped() {
        assert_eq!(decode_all(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n").unwrap().len(), 1);
    }
}
