//! The protocol-neutral reply every handler returns.
//!
//! Handlers never know which RESP version their client speaks: they build a `Reply` and the connection's encoder
//! (`protocol::encode`) renders it as RESP2 or RESP3 (maps flatten to arrays in RESP2, doubles become bulk strings,
//! and so on). Every RESP3 kind has a variant here so that later features (client tracking, pub/sub) need no new path.

use bytes::Bytes;

/// A reply in protocol-neutral form.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`-style status line. Must not contain CR or LF.
    Simple(&'static str),
    /// A status line built at run time (e.g. `TYPE`'s answer).
    SimpleOwned(String),
    /// An error line; the text includes its code (`ERR ...`, `WRONGTYPE ...`).
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n\r\n...`
    Bulk(Bytes),
    /// Null bulk (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// Null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    /// `*n` followed by the elements.
    Array(Vec<Reply>),
    /// RESP3 map; flattened to an array of key, value, ... in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 set; an array in RESP2.
    Set(Vec<Reply>),
    /// RESP3 double; a bulk string in RESP2.
    Double(f64),
    /// A RESP3 double printed with its own digits (Redis's `addReplyHumanLongDouble`, GEOPOS); a bulk string in
    /// RESP2.
    DoubleText(String),
    /// RESP3 boolean; `:1` / `:0` in RESP2.
    Bool(bool),
    /// RESP3 verbatim string with its three-letter format; a bulk string in RESP2.
    Verbatim(&'static str, Bytes),
    /// RESP3 push frame; an array in RESP2.
    Push(Vec<Reply>),
    /// Several replies in a row for one command (SUBSCRIBE confirms each channel separately).
    Sequence(Vec<Reply>),
    /// RESP3 big number (`(digits`); a bulk string in RESP2. Must not contain CR or LF.
    BigNum(String),
    /// A reply preceded by a RESP3 attribute map (`|n`); RESP2 clients get the reply alone.
    Attributed(Vec<(Reply, Reply)>, Box<Reply>),
}

impl Reply {
    /// True for a push frame, or a sequence made only of push frames (SUBSCRIBE's confirmations).
    pub fn is_push(&self) -> bool {
        match self {
            Reply::Push(_) => true,
            Reply::Sequence(items) => !items.is_empty() && items.iter().all(Reply::is_push),
            _ => false,
        }
    }

    /// The `+OK` reply.
    pub const OK: Reply = Reply::Simple("OK");

    /// A bulk string copied from a byte slice.
    pub fn bulk(data: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(data.as_ref()))
    }

    /// A bulk string from an owned `String`.
    pub fn bulk_string(s: String) -> Reply {
        Reply::Bulk(Bytes::from(s))
    }

    /// A bulk string from a static string.
    pub fn bulk_static(s: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(s.as_bytes()))
    }
}
