//! `cjson`: lua-cjson 2.1.0 as Redis 7.0 ships it, JSON encoding and decoding of Lua values.
//!
//! Encoding: numbers with `%.14g` (the precision is configurable), strings with `"`, `\`, `/` and control
//! characters escaped (`\/`, `\u001f`, `\u007f`), `nil` and `cjson.null` as `null`, tables whose keys are all
//! positive integers as arrays (unless excessively sparse: more than `ratio` times as many slots as items and
//! above `safe`), other tables as objects with number keys written as strings. Decoding gives Lua numbers,
//! strings, booleans, tables and `cjson.null` (a NULL light userdata) for `null`, and accepts what the C parser
//! accepts (leading `+`, hex, `inf`, `nan` unless `decode_invalid_numbers(false)`; input ends at a NUL byte).
//!
//! Each module table (the global `cjson`, and each `cjson.new()`) has its own settings, as in the C library. The
//! error texts, and the nesting limits (both the configured depths and Lua's 8000-slot C stack, which the C code
//! also checks), are the C library's.

use std::sync::Arc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;

use super::args::{arg_error, raise, type_name, Args, LibResult};
use super::number::{c_double_to_i32, format_g, strtod_prefix};
use super::refs::{for_each_pair, LuaStack};
use super::{exact_number, function};

/// Lua 5.1's `LUAI_MAXCSTACK`: the C code checks it while nesting.
const MAX_C_STACK: usize = 8000;

/// One module's settings (`json_config_t`).
#[derive(Clone, Copy)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0: refuse NaN and infinities, 1: write them (`nan`, `inf`), 2: write them as `null`.
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    encode_keep_buffer: i32,
    precision: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            encode_keep_buffer: 1,
            precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

/// Builds a `cjson` module table with fresh settings (also what `cjson.new()` returns).
///
/// # Errors
/// Only mlua failures (out of memory).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    let with = |f: fn(&Lua, &Args, &mut Config) -> LibResult<MultiValue>| {
        let cfg = cfg.clone();
        function(lua, move |lua, args| {
            // Work on a copy: the lock is never held while Lua runs (a finalizer could call back into cjson).
            // Settings changed before an error stay changed, as in the C code.
            let mut c = *cfg.lock();
            let result = f(lua, &args, &mut c);
            *cfg.lock() = c;
            result
        })
    };
    t.raw_set("encode", with(encode)?)?;
    t.raw_set("decode", with(decode)?)?;
    t.raw_set("encode_sparse_array", with(cfg_encode_sparse_array)?)?;
    t.raw_set("encode_max_depth", with(cfg_encode_max_depth)?)?;
    t.raw_set("decode_max_depth", with(cfg_decode_max_depth)?)?;
    t.raw_set("encode_number_precision", with(cfg_encode_number_precision)?)?;
    t.raw_set("encode_keep_buffer", with(cfg_encode_keep_buffer)?)?;
    t.raw_set("encode_invalid_numbers", with(cfg_encode_invalid_numbers)?)?;
    t.raw_set("decode_invalid_numbers", with(cfg_decode_invalid_numbers)?)?;
    t.raw_set("new", function(lua, |lua, _| Ok(MultiValue::from_vec(vec![Value::Table(create(lua)?)])))?)?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// `cjson.null`: the NULL light userdata JSON `null` decodes to.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn one(v: Value) -> LibResult<MultiValue> {
    Ok(MultiValue::from_vec(vec![v]))
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

/// `json_arg_init`: at most `n` arguments.
fn arg_init(args: &Args, n: usize) -> LibResult<()> {
    if args.len() > n {
        return Err(arg_error(n + 1, "found too many arguments"));
    }
    Ok(())
}

/// `json_integer_option`: sets `setting` from argument `idx` when given, checking the range (the C code always
/// names argument 1 in the range error), and returns the current value.
fn integer_option(lua: &Lua, args: &Args, idx: usize, setting: &mut i32, min: i32, max: i32) -> LibResult<Value> {
    if !args.is_none_or_nil(idx) {
        // Assigned to a C int: truncated to 32 bits.
        let value = args.check_integer(lua, idx)? as i32;
        if !(min..=max).contains(&value) {
            return Err(arg_error(1, format!("expected integer between {min} and {max}")));
        }
        *setting = value;
    }
    Ok(Value::Number(f64::from(*setting)))
}

/// `json_enum_option`: a boolean or one of `options` (default "off"/"on"); returns the setting as a boolean when
/// it is off or `true`-equivalent, else as its option name.
fn enum_option(lua: &Lua, args: &Args, idx: usize, setting: &mut i32, options: &[&str]) -> LibResult<Value> {
    if !args.is_none_or_nil(idx) {
        if let Some(Value::Boolean(b)) = args.get(idx) {
            *setting = i32::from(b);
        } else {
            // luaL_checkoption
            let name = args.check_string(lua, idx)?;
            let name = name.as_bytes();
            let found = options.iter().position(|o| o.as_bytes() == &name[..]);
            *setting = match found {
                Some(i) => i as i32,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(&name);
                    msg.push(b'\'');
                    return Err(arg_error(idx, msg));
                }
            };
        }
    }
    if *setting == 0 || *setting == 1 {
        return Ok(Value::Boolean(*setting == 1));
    }
    let name = options.get(*setting as usize).copied().unwrap_or_default();
    Ok(Value::String(lua.create_string(name)?))
}

const ON_OFF: [&str; 2] = ["off", "on"];

fn cfg_encode_sparse_array(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 3)?;
    let convert = enum_option(lua, args, 1, &mut cfg.sparse_convert, &ON_OFF)?;
    let ratio = integer_option(lua, args, 2, &mut cfg.sparse_ratio, 0, i32::MAX)?;
    let safe = integer_option(lua, args, 3, &mut cfg.sparse_safe, 0, i32::MAX)?;
    Ok(MultiValue::from_vec(vec![convert, ratio, safe]))
}

fn cfg_encode_max_depth(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(integer_option(lua, args, 1, &mut cfg.encode_max_depth, 1, i32::MAX)?)
}

fn cfg_decode_max_depth(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(integer_option(lua, args, 1, &mut cfg.decode_max_depth, 1, i32::MAX)?)
}

fn cfg_encode_number_precision(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(integer_option(lua, args, 1, &mut cfg.precision, 1, 14)?)
}

/// Kept for compatibility: the encoder has no buffer to keep, so the setting changes nothing else.
fn cfg_encode_keep_buffer(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(enum_option(lua, args, 1, &mut cfg.encode_keep_buffer, &ON_OFF)?)
}

fn cfg_encode_invalid_numbers(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(enum_option(lua, args, 1, &mut cfg.encode_invalid_numbers, &["off", "on", "null"])?)
}

fn cfg_decode_invalid_numbers(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    arg_init(args, 1)?;
    one(enum_option(lua, args, 1, &mut cfg.decode_invalid_numbers, &ON_OFF)?)
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/// `cjson.encode(value)`.
fn encode(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(1, "expected 1 argument"));
    }
    let mut e = Encoder { lua, cfg: *cfg, out: Vec::new(), held: LuaStack::new(lua)? };
    e.encode(&args.value(1))?;
    one(Value::String(lua.create_string(e.out)?))
}

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: Config,
    out: Vec<u8>,
    /// For each open table, the table and its current key (nil for arrays), as the C code keeps them on the
    /// Lua stack.
    held: LuaStack,
}

/// A table being written; the table itself is in the encoder's `held` stack. Tables are walked with an explicit
/// stack rather than by recursion, so deep nesting (up to what the C stack check allows) cannot exhaust the
/// native stack.
struct Open {
    /// Tables around and including this one.
    depth: i32,
    /// Lua stack slots the C code would hold while writing this table's items.
    slots: usize,
    kind: OpenKind,
}

enum OpenKind {
    /// The next index to write, up to `len`.
    Array { len: usize, next: usize },
    /// Whether no entry has been written yet; entries come in `next` order.
    Object { first: bool },
}

/// `json_encode_exception`: "Cannot serialise <type>: <reason>".
fn cannot_serialise(v: &Value, reason: &str) -> super::LibError {
    raise(format!("Cannot serialise {}: {reason}", type_name(Some(v))))
}

impl Encoder<'_> {
    fn encode(&mut self, root: &Value) -> LibResult<()> {
        let mut stack: Vec<Open> = Vec::new();
        // The value sits alone on the C function's stack.
        self.begin(root, 0, 1, &mut stack)?;
        while let Some(top) = stack.last_mut() {
            let (depth, slots) = (top.depth, top.slots);
            let table: Table = self.held.peek(1)?;
            let next = match &mut top.kind {
                OpenKind::Array { len, next } => {
                    if *next > *len {
                        None
                    } else {
                        let i = *next;
                        *next += 1;
                        if i > 1 {
                            self.out.push(b',');
                        }
                        Some((exact_number(table.raw_get::<Value>(i)?, || table.raw_get::<f64>(i))?, slots + 1))
                    }
                }
                OpenKind::Object { first } => match self.held.next_pair(self.lua, &table, self.held.len())? {
                    None => None,
                    Some((k, v)) => {
                        if !*first {
                            self.out.push(b',');
                        }
                        *first = false;
                        self.key(&k)?;
                        Some((v, slots + 2))
                    }
                },
            };
            match next {
                Some((v, slots)) => self.begin(&v, depth, slots, &mut stack)?,
                None => {
                    let closing = if matches!(top.kind, OpenKind::Array { .. }) { b']' } else { b'}' };
                    self.out.push(closing);
                    stack.pop();
                    self.held.pop::<Value>()?;
                    self.held.pop::<Value>()?;
                }
            }
        }
        Ok(())
    }

    /// Writes a scalar, or opens a table; `depth` counts the tables around `v`.
    fn begin(&mut self, v: &Value, depth: i32, slots: usize, stack: &mut Vec<Open>) -> LibResult<()> {
        match v {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(i) => self.number(*i as f64, v)?,
            Value::Number(n) => self.number(*n, v)?,
            Value::Boolean(b) => self.out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => {
                let depth = depth + 1;
                if depth > self.cfg.encode_max_depth || slots + 3 > MAX_C_STACK {
                    return Err(raise(format!("Cannot serialise, excessive nesting ({depth})")));
                }
                let kind = match self.array_length(t, v)? {
                    Some(len) => {
                        self.out.push(b'[');
                        OpenKind::Array { len, next: 1 }
                    }
                    None => {
                        self.out.push(b'{');
                        OpenKind::Object { first: true }
                    }
                };
                self.held.push(t.clone())?;
                self.held.push(Value::Nil)?;
                stack.push(Open { depth, slots, kind });
            }
            _ => return Err(cannot_serialise(v, "type not supported")),
        }
        Ok(())
    }

    /// An object key: strings as they are, numbers as strings; anything else is an error.
    fn key(&mut self, k: &Value) -> LibResult<()> {
        match k {
            Value::Integer(i) => self.key_number(*i as f64, k),
            Value::Number(n) => self.key_number(*n, k),
            Value::String(s) => {
                self.string(&s.as_bytes());
                self.out.push(b':');
                Ok(())
            }
            _ => Err(cannot_serialise(k, "table key must be a number or string")),
        }
    }

    fn number(&mut self, n: f64, v: &Value) -> LibResult<()> {
        if !n.is_finite() {
            match self.cfg.encode_invalid_numbers {
                0 => return Err(cannot_serialise(v, "must not be NaN or Inf")),
                1 if n.is_nan() => {
                    // Some platforms print "-nan"; lua-cjson writes "nan" for every NaN.
                    self.out.extend_from_slice(b"nan");
                    return Ok(());
                }
                1 => {}
                _ => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
            }
        }
        let precision = usize::try_from(self.cfg.precision).unwrap_or(14);
        self.out.extend_from_slice(format_g(n, precision).as_bytes());
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        self.out.push(b'"');
        for &c in s {
            match c {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'/' => self.out.extend_from_slice(b"\\/"),
                b'\x08' => self.out.extend_from_slice(b"\\b"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\x0c' => self.out.extend_from_slice(b"\\f"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                0..=0x1f | 0x7f => self.out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                _ => self.out.push(c),
            }
        }
        self.out.push(b'"');
    }

    /// `lua_array_length`: `Some(n)` to encode the table as an array of n items, `None` for an object.
    fn array_length(&self, t: &Table, v: &Value) -> LibResult<Option<usize>> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        let mut array = true;
        for_each_pair(self.lua, t, |k, _| {
            let k = match k {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                _ => -1.0,
            };
            if k == 0.0 || k.floor() != k || k < 1.0 {
                array = false;
                return Ok::<bool, mlua::Error>(false);
            }
            if k > f64::from(max) {
                // An int in C: keys past INT_MAX wrap to INT_MIN, which makes the table an object.
                max = c_double_to_i32(k);
            }
            items = items.wrapping_add(1);
            Ok(true)
        })?;
        if !array {
            return Ok(None);
        }
        let c = &self.cfg;
        if c.sparse_ratio > 0 && max > items.wrapping_mul(c.sparse_ratio) && max > c.sparse_safe {
            if c.sparse_convert == 0 {
                return Err(cannot_serialise(v, "excessively sparse array"));
            }
            return Ok(None);
        }
        Ok(usize::try_from(max).ok().filter(|&n| n > 0))
    }

    fn key_number(&mut self, n: f64, k: &Value) -> LibResult<()> {
        self.out.push(b'"');
        self.number(n, k)?;
        self.out.extend_from_slice(b"\":");
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// `cjson.decode(text)`.
fn decode(lua: &Lua, args: &Args, cfg: &mut Config) -> LibResult<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(1, "expected 1 argument"));
    }
    let text = args.check_string(lua, 1)?;
    let text = text.as_bytes();
    // Only the first character is sure to be ASCII; a NUL among the first two means UTF-16 or UTF-32.
    if text.len() >= 2 && (text.first() == Some(&0) || text.get(1) == Some(&0)) {
        return Err(raise("JSON parser does not support UTF-16 or UTF-32"));
    }
    // The C parser reads a C string: it ends at the first NUL.
    let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
    let data = text.get(..end).unwrap_or_default();
    let mut p = Parser { lua, cfg: *cfg, data, pos: 0, depth: 0, held: LuaStack::new(lua)? };
    let value = p.parse()?;
    let token = p.next_token();
    if !matches!(token.kind, Tok::End) {
        return Err(parse_error("the end", &token));
    }
    one(value)
}

enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

struct Token {
    kind: Tok,
    /// Where the token (or the error) starts, 0-based.
    index: usize,
}

/// `json_throw_parse_error`: "Expected <what> but found <token> at character <n>".
fn parse_error(expected: &str, t: &Token) -> super::LibError {
    let found = match &t.kind {
        Tok::ObjBegin => "T_OBJ_BEGIN",
        Tok::ObjEnd => "T_OBJ_END",
        Tok::ArrBegin => "T_ARR_BEGIN",
        Tok::ArrEnd => "T_ARR_END",
        Tok::Str(_) => "T_STRING",
        Tok::Number(_) => "T_NUMBER",
        Tok::Bool(_) => "T_BOOLEAN",
        Tok::Null => "T_NULL",
        Tok::Colon => "T_COLON",
        Tok::Comma => "T_COMMA",
        Tok::End => "T_END",
        Tok::Error(msg) => msg,
    };
    raise(format!("Expected {expected} but found {found} at character {}", t.index + 1))
}

struct Parser<'a> {
    lua: &'a Lua,
    cfg: Config,
    data: &'a [u8],
    pos: usize,
    depth: i32,
    /// The open containers' tables, each object's followed by its pending key, as the C parser keeps them on the
    /// Lua stack.
    held: LuaStack,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let index = self.pos;
        let single = |kind| Token { kind, index };
        let kind = match self.at(self.pos) {
            0 => return single(Tok::End),
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.is_invalid_number() {
                    return single(Tok::Error("invalid number"));
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                for (word, kind) in
                    [(&b"true"[..], Tok::Bool(true)), (b"false", Tok::Bool(false)), (b"null", Tok::Null)]
                {
                    if self.rest().starts_with(word) {
                        self.pos += word.len();
                        return single(kind);
                    }
                }
                if self.cfg.decode_invalid_numbers != 0 && self.is_invalid_number() {
                    return self.number_token();
                }
                return single(Tok::Error("invalid token"));
            }
            _ => return single(Tok::Error("invalid token")),
        };
        self.pos += 1;
        single(kind)
    }

    /// `json_is_invalid_number`: numbers `strtod` takes but strict JSON does not (`+1`, `0x10`, `01`, `inf`,
    /// `nan`).
    fn is_invalid_number(&self) -> bool {
        let mut i = self.pos;
        if self.at(i) == b'+' {
            return true;
        }
        if self.at(i) == b'-' {
            i += 1;
        }
        let c = self.at(i);
        if c == b'0' {
            let c2 = self.at(i + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let word = self.data.get(i..i + 3).unwrap_or_default();
        word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"nan")
    }

    fn number_token(&mut self) -> Token {
        let index = self.pos;
        match strtod_prefix(self.rest()) {
            Some((n, len)) => {
                self.pos += len;
                Token { kind: Tok::Number(n), index }
            }
            None => Token { kind: Tok::Error("invalid number"), index },
        }
    }

    fn string_token(&mut self) -> Token {
        let index = self.pos;
        self.pos += 1;
        let mut buf = Vec::new();
        loop {
            let mut c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                return Token { kind: Tok::Error("unexpected end of string"), index: self.pos };
            }
            if c == b'\\' {
                c = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => b'\x08',
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => b'\x0c',
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape(&mut buf) {
                            continue;
                        }
                        return Token { kind: Tok::Error("invalid unicode escape code"), index: self.pos };
                    }
                    _ => return Token { kind: Tok::Error("invalid escape code"), index: self.pos },
                };
                self.pos += 1;
            }
            buf.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        Token { kind: Tok::Str(buf), index }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (at..at + 4).try_fold(0u32, |acc, i| Some((acc << 4) | (self.at(i) as char).to_digit(16)?))
    }

    /// `\uXXXX` (or a surrogate pair of them) at `pos`, appended as UTF-8. False when malformed.
    fn unicode_escape(&mut self, buf: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            // A low surrogate first, or a high one without its partner, is an error.
            if cp & 0x400 != 0 || self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut utf8 = [0u8; 4];
        let n = match cp {
            0..=0x7F => {
                utf8[0] = cp as u8;
                1
            }
            0x80..=0x7FF => {
                utf8[0] = (cp >> 6) as u8 | 0xC0;
                utf8[1] = (cp & 0x3F) as u8 | 0x80;
                2
            }
            0x800..=0xFFFF => {
                utf8[0] = (cp >> 12) as u8 | 0xE0;
                utf8[1] = ((cp >> 6) & 0x3F) as u8 | 0x80;
                utf8[2] = (cp & 0x3F) as u8 | 0x80;
                3
            }
            _ => {
                utf8[0] = (cp >> 18) as u8 | 0xF0;
                utf8[1] = ((cp >> 12) & 0x3F) as u8 | 0x80;
                utf8[2] = ((cp >> 6) & 0x3F) as u8 | 0x80;
                utf8[3] = (cp & 0x3F) as u8 | 0x80;
                4
            }
        };
        buf.extend_from_slice(&utf8[..n]);
        self.pos += len;
        true
    }

    /// `json_decode_descend`: one level deeper, within the configured depth and Lua's C stack.
    fn descend(&mut self, slots: usize, needed: usize) -> LibResult<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth || slots + needed > MAX_C_STACK {
            return Err(raise(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )));
        }
        Ok(())
    }

    /// Parses one value. Containers are tracked on an explicit stack rather than by recursion, so deep nesting
    /// (up to what the depth and C stack checks allow) cannot exhaust the native stack. `slots` follows the Lua
    /// stack slots the C parser would hold: the argument, then per level the table (and an object's key).
    fn parse(&mut self) -> LibResult<Value> {
        let mut stack: Vec<Container> = Vec::new();
        let mut slots = 1;
        let mut token = self.next_token();
        loop {
            // json_process_value
            let mut done = match token.kind {
                Tok::Str(s) => Value::String(self.lua.create_string(s)?),
                Tok::Number(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => null(),
                Tok::ObjBegin => {
                    self.descend(slots, 3)?;
                    let table = self.lua.create_table()?;
                    let first = self.next_token();
                    if matches!(first.kind, Tok::ObjEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        let key = self.key_and_colon(first)?;
                        self.held.push(table)?;
                        self.held.push(key)?;
                        stack.push(Container::Object);
                        slots += 2;
                        token = self.next_token();
                        continue;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(slots, 2)?;
                    let table = self.lua.create_table()?;
                    let first = self.next_token();
                    if matches!(first.kind, Tok::ArrEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        self.held.push(table)?;
                        stack.push(Container::Array(1));
                        slots += 1;
                        token = first;
                        continue;
                    }
                }
                _ => return Err(parse_error("value", &token)),
            };
            // Store the value in its container; a container that ends here is itself a finished value.
            loop {
                let Some(top) = stack.last_mut() else { return Ok(done) };
                let after = self.next_token();
                let closed = match top {
                    Container::Array(index) => {
                        self.held.top::<Table>()?.raw_set(*index, done)?;
                        *index += 1;
                        if !matches!(after.kind, Tok::ArrEnd) && !matches!(after.kind, Tok::Comma) {
                            return Err(parse_error("comma or array end", &after));
                        }
                        matches!(after.kind, Tok::ArrEnd)
                    }
                    Container::Object => {
                        self.held.peek::<Table>(1)?.raw_set(self.held.top::<Value>()?, done)?;
                        if !matches!(after.kind, Tok::ObjEnd) && !matches!(after.kind, Tok::Comma) {
                            return Err(parse_error("comma or object end", &after));
                        }
                        matches!(after.kind, Tok::ObjEnd)
                    }
                };
                if !closed {
                    let next = self.next_token();
                    token = match top {
                        Container::Array(..) => next,
                        Container::Object => {
                            let key = self.key_and_colon(next)?;
                            self.held.pop::<Value>()?;
                            self.held.push(key)?;
                            self.next_token()
                        }
                    };
                    break;
                }
                if matches!(top, Container::Object) {
                    self.held.pop::<Value>()?;
                    slots -= 2;
                } else {
                    slots -= 1;
                }
                self.depth -= 1;
                stack.pop();
                done = Value::Table(self.held.pop::<Table>()?);
            }
        }
    }

    /// An object key followed by its colon.
    fn key_and_colon(&mut self, token: Token) -> LibResult<mlua::String> {
        let Tok::Str(key) = token.kind else { return Err(parse_error("object key string", &token)) };
        let key = self.lua.create_string(key)?;
        let colon = self.next_token();
        if !matches!(colon.kind, Tok::Colon) {
            return Err(parse_error("colon", &colon));
        }
        Ok(key)
    }
}

/// A container being filled (its table, and an object's pending key, are in the parser's `held` stack): an array
/// with its next index, or an object.
enum Container {
    Array(i64),
    Object,
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, eval, lua};

    #[test]
    fn encode_scalars_and_escapes() {
        let lua = lua();
        // Redis 7.0 outputs.
        let cases = [
            (
                "(cjson.encode('a/b\"c\\\\d\\1\\127\\128\\n\\t\\r\\b\\f'):gsub('\\128', '<80>'))",
                "\"a\\/b\\\"c\\\\d\\u0001\\u007f<80>\\n\\t\\r\\b\\f\"",
            ),
            ("cjson.encode(0.1)", "0.1"),
            ("cjson.encode(1/3)", "0.33333333333333"),
            ("cjson.encode(1e100)", "1e+100"),
            ("cjson.encode(123456789012345678)", "1.2345678901235e+17"),
            ("cjson.encode(-0)", "-0"),
            ("cjson.encode(1e-20)", "1e-20"),
            ("cjson.encode(cjson.null)", "null"),
            ("cjson.encode(nil)", "null"),
            ("cjson.encode({})", "{}"),
            ("cjson.encode(true)", "true"),
            ("cjson.encode({1,2,{a=1}})", "[1,2,{\"a\":1}]"),
            ("cjson.encode({1,2,3,nil,5})", "[1,2,3,null,5]"),
            ("cjson.encode({[1]=1,[10]=2})", "[1,null,null,null,null,null,null,null,null,2]"),
            ("cjson.encode({[1.5]=1})", "{\"1.5\":1}"),
            ("cjson.encode({[0]=1})", "{\"0\":1}"),
            ("cjson.encode({[-1]=1})", "{\"-1\":1}"),
            ("cjson.encode({{{-0.0, 1e-300}}})", "[[[-0,1e-300]]]"),
            ("cjson.encode({[1e-300]=1})", "{\"1e-300\":1}"),
            ("cjson.encode({a={b=-0.0}})", "{\"a\":{\"b\":-0}}"),
        ];
        for (code, want) in cases {
            assert_eq!(eval(&lua, &format!("return {code}")), want, "{code}");
        }
        // Key order follows the Lua table, as in Redis.
        assert_eq!(eval(&lua, "return cjson.encode({1,2,x=3})"), "{\"1\":1,\"2\":2,\"x\":3}");
    }

    #[test]
    fn encode_errors() {
        let lua = lua();
        // Redis 7.0 texts; the failing call is on line 2 of the test chunk.
        let sparse = "user_script:2: Cannot serialise table: excessively sparse array";
        let cases = [
            ("cjson.encode({[1]=1,[20]=2})", sparse),
            ("cjson.encode({[1]=1,[11]=2, [12]=3, [13]=4, [14]=5, [15]=6})", sparse),
            ("cjson.encode({[1]=1,[2]=2, [12]=3})", sparse),
            ("cjson.encode(1/0)", "user_script:2: Cannot serialise number: must not be NaN or Inf"),
            ("cjson.encode({[math.huge]=1})", "user_script:2: Cannot serialise number: must not be NaN or Inf"),
            ("cjson.encode(function() end)", "user_script:2: Cannot serialise function: type not supported"),
            (
                "cjson.encode({f=coroutine.create(function() end)})",
                "user_script:2: Cannot serialise thread: type not supported",
            ),
            (
                "cjson.encode({[true]=1})",
                "user_script:2: Cannot serialise boolean: table key must be a number or string",
            ),
            ("cjson.encode()", "user_script:2: bad argument #1 to 'encode' (expected 1 argument)"),
            ("local t = {} t[1] = t cjson.encode(t)", "user_script:2: Cannot serialise, excessive nesting (1001)"),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), want, "{code}");
        }
        let deep = "local t = {} local c = t for i=1,999 do c[1] = {} c = c[1] end return #cjson.encode(t)";
        assert_eq!(eval(&lua, deep), "2000");
    }

    #[test]
    fn settings() {
        let lua = lua();
        // Redis 7.0 outputs (false shows as "false" here where redis-cli shows nil).
        let got = eval(
            &lua,
            "local a, b, c = cjson.encode_sparse_array() \
             local r = {tostring(a), b, c} \
             a, b, c = cjson.encode_sparse_array(true, 3, 4) \
             r[#r+1] = table.concat({tostring(a), b, c}, '/') \
             r[#r+1] = cjson.encode({[1]=1,[20]=2}) \
             cjson.encode_sparse_array(false, 0) \
             r[#r+1] = cjson.encode({[1]=1,[12]=2}) \
             r[#r+1] = cjson.encode_number_precision() \
             r[#r+1] = cjson.encode_number_precision(3) \
             r[#r+1] = cjson.encode(1/3) \
             r[#r+1] = tostring(cjson.encode_keep_buffer()) \
             r[#r+1] = tostring(cjson.encode_keep_buffer(false)) \
             r[#r+1] = tostring(cjson.encode_invalid_numbers()) \
             r[#r+1] = cjson.encode_invalid_numbers('null') \
             r[#r+1] = cjson.encode(0/0) \
             r[#r+1] = tostring(cjson.encode_invalid_numbers(true)) \
             local z = 0 \
             r[#r+1] = cjson.encode({1/z, -1/z, 0/z, -(0/z)}) \
             r[#r+1] = tostring(cjson.decode_invalid_numbers()) \
             r[#r+1] = cjson.decode_max_depth() \
             r[#r+1] = cjson.encode_max_depth(3) \
             return table.concat(r, ' ')",
        );
        assert_eq!(
            got,
            "false 2 10 true/3/4 {\"1\":1,\"20\":2} [1,null,null,null,null,null,null,null,null,null,null,2] 14 3 \
             0.333 true false false null null true [inf,-inf,nan,nan] true 1000 3"
        );
        assert_eq!(err(&lua, "cjson.encode({{{{}}}})"), "user_script:2: Cannot serialise, excessive nesting (4)");
        assert_eq!(eval(&lua, "return cjson.encode({{{}}})"), "[[{}]]");
        // cjson.new() has settings of its own.
        let got = eval(
            &lua,
            "local c = cjson.new() c.encode_number_precision(2) \
             return table.concat({c.encode(1/3), cjson.encode(1/3), c._NAME, c._VERSION, tostring(c.null == cjson.null), \
             type(c.new)}, ' ')",
        );
        assert_eq!(got, "0.33 0.333 cjson 2.1.0 true function");
        let cases = [
            (
                "cjson.encode_max_depth(0)",
                "user_script:2: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
            ),
            (
                "cjson.encode_max_depth('x')",
                "user_script:2: bad argument #1 to 'encode_max_depth' (number expected, got string)",
            ),
            (
                "cjson.encode_max_depth(1, 2)",
                "user_script:2: bad argument #2 to 'encode_max_depth' (found too many arguments)",
            ),
            (
                "cjson.encode_number_precision(15)",
                "user_script:2: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
            ),
            (
                "cjson.encode_keep_buffer('x')",
                "user_script:2: bad argument #1 to 'encode_keep_buffer' (invalid option 'x')",
            ),
            (
                "cjson.encode_invalid_numbers('bad')",
                "user_script:2: bad argument #1 to 'encode_invalid_numbers' (invalid option 'bad')",
            ),
            (
                "cjson.encode_sparse_array(true, 1, -1)",
                "user_script:2: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), want, "{code}");
        }
    }

    #[test]
    fn decode_values() {
        let lua = lua();
        // Redis 7.0 outputs.
        let got = eval(
            &lua,
            "local t = cjson.decode('[1,\"a\",null,true,false,{\"k\":[]},-1.5e3,\"\\\\u00e9\\\\ud83d\\\\ude00\\\\/\\\\n\"]') \
             return table.concat({t[1], t[2], tostring(t[3] == cjson.null), tostring(t[4]), tostring(t[5]), \
             type(t[6].k), t[7], t[8]}, '|')",
        );
        assert_eq!(got, "1|a|true|true|false|table|-1500|\u{e9}\u{1f600}/\n");
        let cases = [
            ("0x10", "16"),
            ("+5", "5"),
            ("-inf", "-inf"),
            ("nan", "nan"),
            ("Infinity", "inf"),
            ("007", "7"),
            ("1e400", "inf"),
            ("1.", "1"),
            ("0x1p4", "16"),
            (" 12 ", "12"),
            ("[1]\\0garbage", "table"),
        ];
        for (json, want) in cases {
            let got = eval(
                &lua,
                &format!("local v = cjson.decode('{json}') return type(v) == 'table' and 'table' or tostring(v)"),
            );
            assert_eq!(got, want, "{json}");
        }
        assert_eq!(eval(&lua, "return cjson.decode(12) + 1"), "13");
        assert_eq!(eval(&lua, "return cjson.decode('\"\\\\u0000x\"')"), "\0x");
        assert_eq!(eval(&lua, "local t = cjson.decode('{\"1\":5}') return t['1'] .. tostring(t[1])"), "5nil");
        assert_eq!(
            eval(&lua, "return cjson.encode(cjson.decode('{\"a\":[1,2,{\"b\":null}]}'))"),
            "{\"a\":[1,2,{\"b\":null}]}"
        );
    }

    #[test]
    fn decode_errors() {
        let lua = lua();
        // Redis 7.0 texts; the failing call is on line 2 of the test chunk.
        let cases = [
            ("x", "Expected value but found invalid token at character 1"),
            ("", "Expected value but found T_END at character 1"),
            ("  ", "Expected value but found T_END at character 3"),
            ("[1,]", "Expected value but found T_ARR_END at character 4"),
            ("[1 2]", "Expected comma or array end but found T_NUMBER at character 4"),
            ("{\"a\" 1}", "Expected colon but found T_NUMBER at character 6"),
            ("{1:1}", "Expected object key string but found T_NUMBER at character 2"),
            ("{\"a\":1,}", "Expected object key string but found T_OBJ_END at character 8"),
            ("{\"a\":1 \"b\"}", "Expected comma or object end but found T_STRING at character 8"),
            ("\"abc", "Expected value but found unexpected end of string at character 5"),
            ("\"a\\\\qc\"", "Expected value but found invalid escape code at character 3"),
            ("\"a\\\\u12\"", "Expected value but found invalid unicode escape code at character 3"),
            ("\"a\\\\udc00\"", "Expected value but found invalid unicode escape code at character 3"),
            ("\"a\\\\ud800x\"", "Expected value but found invalid unicode escape code at character 3"),
            ("[1] x", "Expected the end but found invalid token at character 5"),
            ("tru", "Expected value but found invalid token at character 1"),
            ("1.5e", "Expected the end but found invalid token at character 4"),
            ("-", "Expected value but found invalid number at character 1"),
            (".5", "Expected value but found invalid token at character 1"),
            ("a\\0b", "JSON parser does not support UTF-16 or UTF-32"),
            ("\\0", "Expected value but found T_END at character 1"),
            ("\"a\\0b\"", "Expected value but found unexpected end of string at character 3"),
        ];
        for (json, want) in cases {
            assert_eq!(err(&lua, &format!("cjson.decode('{json}')")), format!("user_script:2: {want}"), "{json}");
        }
        let cases = [
            ("cjson.decode({})", "bad argument #1 to 'decode' (string expected, got table)"),
            ("cjson.decode()", "bad argument #1 to 'decode' (expected 1 argument)"),
            ("cjson.decode('1', 2)", "bad argument #1 to 'decode' (expected 1 argument)"),
            ("cjson.decode(string.rep('[', 1001))", "Found too many nested data structures (1001) at character 1001"),
            ("cjson.decode(string.rep('[', 1000))", "Expected value but found T_END at character 1001"),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), format!("user_script:2: {want}"), "{code}");
        }
        let lua = super::super::test_support::lua();
        let strict = [
            ("0x10", "Expected value but found invalid number at character 1"),
            ("[nan]", "Expected value but found invalid token at character 2"),
            ("-inf", "Expected value but found invalid number at character 1"),
            ("+1", "Expected value but found invalid token at character 1"),
            ("01", "Expected value but found invalid number at character 1"),
        ];
        eval(&lua, "cjson.decode_invalid_numbers(false) return ''");
        for (json, want) in strict {
            assert_eq!(err(&lua, &format!("cjson.decode('{json}')")), format!("user_script:2: {want}"), "{json}");
        }
        assert_eq!(eval(&lua, "return cjson.decode('-0.5')"), "-0.5");
        eval(&lua, "cjson.decode_max_depth(2) return ''");
        assert_eq!(
            err(&lua, "cjson.decode('[[[1]]]')"),
            "user_script:2: Found too many nested data structures (3) at character 3"
        );
        assert_eq!(
            err(&lua, "cjson.decode('{\"a\":{\"b\":{}}')"),
            "user_script:2: Found too many nested data structures (3) at character 11"
        );
    }

    #[test]
    fn nesting_limits_and_large_tables() {
        let lua = lua();
        // Redis 7.0: with the depth limits raised, Lua's C stack (checked by the C code) is the limit.
        eval(&lua, "cjson.encode_max_depth(100000) cjson.decode_max_depth(100000) return ''");
        let cases = [
            (
                "local t = {} local c = t for i=1,10000 do c[1] = {} c = c[1] end cjson.encode(t)",
                "Cannot serialise, excessive nesting (7998)",
            ),
            (
                "local t = {} local c = t for i=1,10000 do c.a = {} c = c.a end cjson.encode(t)",
                "Cannot serialise, excessive nesting (4000)",
            ),
            ("cjson.decode(string.rep('[', 10000))", "Found too many nested data structures (7999) at character 7999"),
            (
                "cjson.decode(string.rep('{\"a\":', 10000))",
                "Found too many nested data structures (4000) at character 19996",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), format!("user_script:2: {want}"), "{code}");
        }
        let deep = "local t = cjson.decode(string.rep('[', 7000) .. '1' .. string.rep(']', 7000)) \
                    for i=1,7000 do t = t[1] end return t";
        assert_eq!(eval(&lua, deep), "1");
        // Redis 7.0 outputs.
        assert_eq!(eval(&lua, "local t = {} for i=1,10000 do t['k'..i] = i end return #cjson.encode(t)"), "127789");
        assert_eq!(eval(&lua, "return cjson.encode({[2^40]=1})"), "{\"1099511627776\":1}");
        assert_eq!(eval(&lua, "return cjson.encode({[2^31]=1, [1]=2})"), "[2]");
        let big = "local t = {} for i=1,10000 do t[i] = {k='v'..i} end \
                   local u = cjson.decode(cjson.encode(t)) return #u .. u[10000].k";
        assert_eq!(eval(&lua, big), "10000v10000");
    }
}
