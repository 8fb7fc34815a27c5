//! Reply encoder: renders a protocol-neutral [`Reply`] as RESP2 or RESP3 straight into the output buffer.

use super::reply::Reply;
use bytes::{BufMut, BytesMut};

/// The protocol a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

fn put_int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut b = itoa::Buffer::new();
    out.put_u8(prefix);
    out.extend_from_slice(b.format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn put_len(out: &mut BytesMut, prefix: u8, n: usize) {
    let mut b = itoa::Buffer::new();
    out.put_u8(prefix);
    out.extend_from_slice(b.format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A double already printed: a RESP3 double, or a bulk string in RESP2.
fn put_double(out: &mut BytesMut, text: &str, r3: bool) {
    if r3 {
        out.put_u8(b',');
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    } else {
        put_bulk(out, text.as_bytes());
    }
}

/// Appends `data` as a bulk string.
pub fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    put_len(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Error lines must stay on one line: CR and LF from user data become spaces, as Redis does.
fn put_line_sanitized(out: &mut BytesMut, prefix: u8, text: &str) {
    out.put_u8(prefix);
    for &b in text.as_bytes() {
        out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
    }
    out.extend_from_slice(b"\r\n");
}

/// How Redis 7.0 prints a double reply (`%.17g`, `inf`, `-inf`).
pub fn format_double(d: f64) -> String {
    crate::util::num::format_double(d)
}

/// Encodes `reply` for `proto` onto `out`.
pub fn encode(out: &mut BytesMut, reply: &Reply, proto: Protocol) {
    let r3 = proto == Protocol::Resp3;
    match reply {
        Reply::Simple(s) => put_line_sanitized(out, b'+', s),
        Reply::SimpleOwned(s) => put_line_sanitized(out, b'+', s),
        Reply::Error(e) => put_line_sanitized(out, b'-', e),
        Reply::Int(n) => put_int_line(out, b':', *n),
        Reply::Bulk(b) => put_bulk(out, b),
        Reply::Nil => out.extend_from_slice(if r3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if r3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            put_len(out, b'*', items.len());
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Set(items) => {
            put_len(out, if r3 { b'~' } else { b'*' }, items.len());
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Push(items) => {
            put_len(out, if r3 { b'>' } else { b'*' }, items.len());
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::Map(pairs) => {
            if r3 {
                put_len(out, b'%', pairs.len());
            } else {
                put_len(out, b'*', pairs.len() * 2);
            }
            for (k, v) in pairs {
                encode(out, k, proto);
                encode(out, v, proto);
            }
        }
        Reply::Double(d) => put_double(out, &format_double(*d), r3),
        Reply::DoubleText(s) => put_double(out, s, r3),
        Reply::Bool(b) => {
            if r3 {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Reply::Sequence(items) => {
            for i in items {
                encode(out, i, proto);
            }
        }
        Reply::BigNum(n) => {
            if r3 {
                put_line_sanitized(out, b'(', n);
            } else {
                put_bulk(out, n.as_bytes());
            }
        }
        Reply::Attributed(attrs, reply) => {
            if r3 {
                put_len(out, b'|', attrs.len());
                for (k, v) in attrs {
                    encode(out, k, proto);
                    encode(out, v, proto);
                }
            }
            encode(out, reply, proto);
        }
        Reply::Verbatim(fmt, data) => {
            if r3 {
                put_len(out, b'=', data.len() + 4);
                out.extend_from_slice(fmt.as_bytes());
                out.put_u8(b':');
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            } else {
                put_bulk(out, data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(r: &Reply, p: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(&mut out, r, p);
        out.to_vec()
    }

    #[test]
    fn maps_flatten_in_resp2() {
        let m = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(enc(&m, Protocol::Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&m, Protocol::Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
    }

    #[test]
    fn nulls_and_errors() {
        assert_eq!(enc(&Reply::Nil, Protocol::Resp2), b"$-1\r\n");
        assert_eq!(enc(&Reply::NilArray, Protocol::Resp3), b"_\r\n");
        assert_eq!(enc(&Reply::Error("ERR a\r\nb".into()), Protocol::Resp2), b"-ERR a  b\r\n");
        assert_eq!(enc(&Reply::Verbatim("txt", Bytes::from("hi")), Protocol::Resp3), b"=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn big_numbers_and_attributes() {
        let n = Reply::BigNum("12345678901234567890".into());
        assert_eq!(enc(&n, Protocol::Resp3), b"(12345678901234567890\r\n");
        assert_eq!(enc(&n, Protocol::Resp2), b"$20\r\n12345678901234567890\r\n");
        let a = Reply::Attributed(vec![(Reply::bulk("k"), Reply::Int(1))], Box::new(Reply::Int(2)));
        assert_eq!(enc(&a, Protocol::Resp3), b"|1\r\n$1\r\nk\r\n:1\r\n:2\r\n");
        assert_eq!(enc(&a, Protocol::Resp2), b":2\r\n");
    }
}
