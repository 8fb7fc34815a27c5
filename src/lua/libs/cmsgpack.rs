//! `cmsgpack`: lua-cmsgpack 0.4.0, MessagePack encoding of Lua values (`pack`, `unpack`, `unpack_one`,
//! `unpack_limit`).
//!
//! Encoding follows the C library byte for byte: integral numbers in the smallest integer form, other numbers as
//! float 32 when that is exact and float 64 otherwise, strings as fixstr/str8/str16/str32, tables as arrays when
//! their keys are exactly 1..n and as maps otherwise, anything else (functions, `cjson.null`, ...) as nil. Tables
//! nested 16 deep are encoded as nil, which also stops reference cycles.
//!
//! Decoding accepts what the C library accepts (no bin, ext or fixext types) and keeps its limits: the C code
//! checks Lua's 8000-slot C stack as it goes, so deep nesting and very many results fail with its "stack
//! overflow (...)" errors. The decoder here keeps an explicit stack of open containers instead of recursing, so
//! hostile input cannot exhaust the native stack.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{arg_error, raise, Args, LibError, LibResult};
use super::refs::{for_each_pair, LuaStack};
use super::{exact_number, function};

/// Tables nested this deep are encoded as nil (`LUACMSGPACK_MAX_NESTING`).
const MAX_NESTING: usize = 16;
/// Lua 5.1's `LUAI_MAXCSTACK`: the slots a C function may use, which bounds what the C decoder can build.
const MAX_C_STACK: usize = 8000;

/// Builds the `cmsgpack` table.
///
/// # Errors
/// Only mlua failures (out of memory).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", function(lua, pack)?)?;
    t.raw_set("unpack", function(lua, |lua, a| unpack_full(lua, &a, 0, 0))?)?;
    t.raw_set("unpack_one", function(lua, unpack_one)?)?;
    t.raw_set("unpack_limit", function(lua, unpack_limit)?)?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/// `cmsgpack.pack(...)`: every argument encoded, concatenated.
fn pack(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    if args.is_empty() {
        return Err(arg_error(0, "MessagePack pack needs input."));
    }
    // lua_checkstack(L, nargs) on top of the arguments themselves.
    if args.len() * 2 > MAX_C_STACK {
        return Err(arg_error(0, "Too many arguments for MessagePack pack."));
    }
    let mut out = Vec::new();
    for i in 1..=args.len() {
        encode(lua, &args.value(i), 0, &mut out)?;
    }
    Ok(MultiValue::from_vec(vec![Value::String(lua.create_string(out)?)]))
}

fn encode(lua: &Lua, v: &Value, level: usize, out: &mut Vec<u8>) -> LibResult<()> {
    match v {
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::Table(t) if level < MAX_NESTING => encode_table(lua, t, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

/// Numbers that survive a round trip through `int64_t` are integers; the rest are floats.
fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) && n.trunc() == n {
        encode_int(n as i64, out);
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
    } else {
        match n {
            -32..=-1 => out.push(n as i8 as u8),
            -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
            -32768..=-129 => {
                out.push(0xd1);
                out.extend_from_slice(&(n as i16).to_be_bytes());
            }
            -2_147_483_648..=-32769 => {
                out.push(0xd2);
                out.extend_from_slice(&(n as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// The header of an array (`base` 0x90) or map (`base` 0x80) of `n` entries.
fn encode_header(n: usize, base: u8, out: &mut Vec<u8>) {
    if n <= 15 {
        out.push(base | n as u8);
    } else if n <= 0xffff {
        out.push(if base == 0x90 { 0xdc } else { 0xde });
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(if base == 0x90 { 0xdd } else { 0xdf });
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// `table_is_an_array`: every key a positive number that survives a cast to `int`, and the largest key equal to
/// the number of keys.
fn is_array(lua: &Lua, t: &Table) -> LibResult<bool> {
    let mut count: i64 = 0;
    let mut max: i64 = 0;
    let mut array = true;
    for_each_pair(lua, t, |k, _| {
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => -1.0,
        };
        if n <= 0.0 || !n.is_finite() || n > f64::from(i32::MAX) || n.trunc() != n {
            array = false;
            return Ok::<bool, mlua::Error>(false);
        }
        max = max.max(n as i64);
        count += 1;
        Ok(true)
    })?;
    Ok(array && max == count)
}

fn encode_table(lua: &Lua, t: &Table, level: usize, out: &mut Vec<u8>) -> LibResult<()> {
    if is_array(lua, t)? {
        let len = t.raw_len();
        encode_header(len, 0x90, out);
        for j in 1..=len {
            // lua_gettable: metamethods apply, as in the C code.
            let v = exact_number(t.get::<Value>(j)?, || t.get::<f64>(j))?;
            encode(lua, &v, level + 1, out)?;
        }
    } else {
        // Two passes, as in the C code: count the entries, then write them. Walking the table (rather than
        // collecting it) keeps the mlua references held to a few per level.
        let mut len = 0;
        for_each_pair(lua, t, |_, _| {
            len += 1;
            Ok::<bool, mlua::Error>(true)
        })?;
        encode_header(len, 0x80, out);
        for_each_pair(lua, t, |k, v| {
            encode(lua, &k, level + 1, out)?;
            encode(lua, &v, level + 1, out)?;
            Ok::<bool, LibError>(true)
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// Why decoding stopped early.
enum DecodeError {
    /// The input ends inside a value ("Missing bytes in input.").
    Eof,
    /// A type byte the library does not know ("Bad data format in input.").
    BadFormat,
    /// Anything else, raised as it is.
    Lib(LibError),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lib(LibError::Lua(e))
    }
}

/// A container being filled; the table itself (and a map's pending key) lives in the decoder's `held` stack.
struct Open {
    /// Entries still to read.
    left: usize,
    kind: OpenKind,
}

enum OpenKind {
    /// An array; the next index to set.
    Array(i64),
    /// A map; whether its key has been read and waits above the table in `held`.
    Map(bool),
}

/// The input and how many of Lua's C-stack slots the C decoder would be holding.
struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    slots: usize,
    /// The open tables and pending map keys, as the C decoder keeps them on the Lua stack.
    held: LuaStack,
}

impl Decoder<'_> {
    fn need(&self, n: usize) -> Result<&[u8], DecodeError> {
        self.data.get(self.pos..).and_then(|rest| rest.get(..n)).ok_or(DecodeError::Eof)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let pos = self.pos;
        let bytes = self.data.get(pos..).and_then(|rest| rest.get(..n)).ok_or(DecodeError::Eof)?;
        self.pos = pos + n;
        Ok(bytes)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// `luaL_checkstack(L, 1, what)` as the C decoder calls it.
    fn check_stack(&self, what: &str) -> Result<(), DecodeError> {
        if self.slots + 1 > MAX_C_STACK {
            return Err(DecodeError::Lib(raise(format!("stack overflow ({what})"))));
        }
        Ok(())
    }

    /// Decodes one complete value, building nested tables with an explicit stack. The value's slot stays counted.
    fn value(&mut self, lua: &Lua) -> Result<Value, DecodeError> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            // The C code pushes an array element's index before decoding the element.
            if let Some(Open { kind: OpenKind::Array(_), .. }) = open.last() {
                self.slots += 1;
            }
            self.need(1)?;
            self.check_stack("too many return values at once; use unpack_one or unpack_limit instead.")?;
            let (value, container) = match self.item(lua)? {
                Item::Value(v) => {
                    self.slots += 1;
                    (Some(v), None)
                }
                Item::Array(n) => {
                    self.slots += 1;
                    self.check_stack("in function mp_decode_to_lua_array")?;
                    (None, Some((n, OpenKind::Array(1))))
                }
                Item::Map(n) => {
                    self.slots += 1;
                    (None, Some((n, OpenKind::Map(false))))
                }
            };
            let mut done = match container {
                None => value,
                Some((0, _)) => Some(Value::Table(lua.create_table()?)),
                Some((left, kind)) => {
                    self.held.push(lua.create_table()?)?;
                    open.push(Open { left, kind });
                    None
                }
            };
            // Attach finished values to their containers, closing every container that is now full.
            while let Some(v) = done.take() {
                let Some(top) = open.last_mut() else { return Ok(v) };
                match &mut top.kind {
                    OpenKind::Array(index) => {
                        self.held.top::<Table>()?.set(*index, v)?;
                        *index += 1;
                    }
                    OpenKind::Map(has_key) if !*has_key => {
                        self.held.push(v)?;
                        *has_key = true;
                        break;
                    }
                    OpenKind::Map(has_key) => {
                        let k = self.held.pop_value()?;
                        *has_key = false;
                        set_field(&self.held.top::<Table>()?, k, v)?;
                    }
                }
                // lua_settable pops the key (or index) and the value.
                self.slots -= 2;
                top.left -= 1;
                if top.left == 0 {
                    open.pop();
                    done = Some(Value::Table(self.held.pop::<Table>()?));
                }
            }
        }
    }

    /// Reads one type byte and what follows it, except the elements of containers.
    fn item(&mut self, lua: &Lua) -> Result<Item, DecodeError> {
        let t = *self.need(1)?.first().ok_or(DecodeError::Eof)?;
        let value = |v: Value| Ok(Item::Value(v));
        match t {
            0xcc..=0xcf => {
                self.need(1 + (1 << (t - 0xcc)))?;
                self.pos += 1;
                let n = self.be(1 << (t - 0xcc))?;
                // lua_pushinteger of a uint64: values past 2^63 come out negative.
                value(Value::Number(n as i64 as f64))
            }
            0xd0..=0xd3 => {
                let width = 1usize << (t - 0xd0);
                self.need(1 + width)?;
                self.pos += 1;
                let n = self.be(width)?;
                let shift = 64 - 8 * width as u32;
                value(Value::Number((((n << shift) as i64) >> shift) as f64))
            }
            0xc0 => {
                self.pos += 1;
                value(Value::Nil)
            }
            0xc2 | 0xc3 => {
                self.pos += 1;
                value(Value::Boolean(t == 0xc3))
            }
            0xca => {
                self.need(5)?;
                self.pos += 1;
                value(Value::Number(f64::from(f32::from_bits(self.be(4)? as u32))))
            }
            0xcb => {
                self.need(9)?;
                self.pos += 1;
                value(Value::Number(f64::from_bits(self.be(8)?)))
            }
            0xd9..=0xdb => {
                let width = 1usize << (t - 0xd9);
                self.need(1 + width)?;
                self.pos += 1;
                let len = self.be(width)? as usize;
                let s = self.take(len)?;
                value(Value::String(lua.create_string(s)?))
            }
            0xdc..=0xdf => {
                let width = if t & 1 == 0 { 2 } else { 4 };
                self.need(1 + width)?;
                self.pos += 1;
                let n = self.be(width)? as usize;
                Ok(if t < 0xde { Item::Array(n) } else { Item::Map(n) })
            }
            _ if t & 0x80 == 0 => {
                self.pos += 1;
                value(Value::Number(f64::from(t)))
            }
            _ if t & 0xe0 == 0xe0 => {
                self.pos += 1;
                value(Value::Number(f64::from(t as i8)))
            }
            _ if t & 0xe0 == 0xa0 => {
                let len = usize::from(t & 0x1f);
                self.need(1 + len)?;
                self.pos += 1;
                let s = self.take(len)?;
                value(Value::String(lua.create_string(s)?))
            }
            _ if t & 0xf0 == 0x90 => {
                self.pos += 1;
                Ok(Item::Array(usize::from(t & 0xf)))
            }
            _ if t & 0xf0 == 0x80 => {
                self.pos += 1;
                Ok(Item::Map(usize::from(t & 0xf)))
            }
            _ => Err(DecodeError::BadFormat),
        }
    }
}

/// What one type byte introduced.
enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// `lua_settable` on a fresh table: nil and NaN keys are errors Lua raises itself.
fn set_field(t: &Table, k: Value, v: Value) -> Result<(), DecodeError> {
    match k {
        Value::Nil => Err(DecodeError::Lib(LibError::Bare(b"table index is nil".to_vec()))),
        Value::Number(n) if n.is_nan() => Err(DecodeError::Lib(LibError::Bare(b"table index is NaN".to_vec()))),
        k => Ok(t.set(k, v)?),
    }
}

/// `mp_unpack_full`: decodes up to `limit` values from `offset` (both 0: everything, without the offset result).
fn unpack_full(lua: &Lua, args: &Args, limit: i64, offset: i64) -> LibResult<MultiValue> {
    let s = args.check_string(lua, 1)?;
    let data = s.as_bytes();
    let len = data.len();
    if offset < 0 || limit < 0 {
        // The C code prints the input length where it means the limit.
        return Err(raise(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    let offset = offset as usize;
    if offset > len {
        return Err(raise(format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let mut d = Decoder { data: &data, pos: offset, slots: 1, held: LuaStack::new(lua)? };
    let mut out = LuaStack::new(lua)?;
    if !decode_all {
        // The next offset comes first; its value is known at the end.
        out.push(Value::Nil)?;
    }
    let mut count: i64 = 0;
    while d.pos < len && count < limit {
        match d.value(lua) {
            Ok(v) => {
                out.push(v)?;
                count += 1;
                d.slots = 1 + count as usize;
            }
            Err(DecodeError::Eof) => return Err(raise("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(raise("Bad data format in input.")),
            Err(DecodeError::Lib(e)) => return Err(e),
        }
    }
    if !decode_all {
        if d.slots + 1 > MAX_C_STACK {
            return Err(raise("stack overflow (in function mp_unpack_full)"));
        }
        let next = if d.pos >= len { -1.0 } else { d.pos as f64 };
        out.set(1, next)?;
    }
    Ok(out.into_results()?)
}

/// `cmsgpack.unpack_one(s [, offset])`: the offset of the next value (-1 at the end), then one value.
fn unpack_one(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let offset = args.opt_integer(lua, 2, 0)?;
    unpack_full(lua, &args, 1, offset)
}

/// `cmsgpack.unpack_limit(s, limit [, offset])`: like `unpack_one` with up to `limit` values.
fn unpack_limit(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let limit = args.check_integer(lua, 2)?;
    let offset = args.opt_integer(lua, 3, 0)?;
    unpack_full(lua, &args, limit, offset)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, eval, hex, lua};

    #[test]
    fn integers_in_every_size_class() {
        let lua = lua();
        // Redis 7.0 output.
        assert_eq!(
            hex(
                &lua,
                "return cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, \
                 -128, -129, -32768, -32769, -2147483648, -2147483649)"
            ),
            "007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000ffe0d0dfd080d1ff7fd18000d2ffff7fffd2\
             80000000d3ffffffff7fffffff"
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(2^31, 2^53, -2^53, 2^53+2)"),
            "ce80000000cf0020000000000000d3ffe0000000000000cf0020000000000002"
        );
    }

    #[test]
    fn floats_strings_and_scalars() {
        let lua = lua();
        // Redis 7.0 outputs.
        assert_eq!(hex(&lua, "return cmsgpack.pack(1.5, 0.1)"), "ca3fc00000cb3fb999999999999a");
        assert_eq!(hex(&lua, "return cmsgpack.pack(-0.0)"), "00");
        assert_eq!(hex(&lua, "local z = 0 return cmsgpack.pack(1/z, -1/z)"), "ca7f800000caff800000");
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(2^63, -2^63, 2^64, 1e300)"),
            "ca5f000000d38000000000000000ca5f800000cb7e37e43c8800759c"
        );
        assert_eq!(hex(&lua, "return cmsgpack.pack(1e-300)"), "cb01a56e1fc2f8f359");
        assert_eq!(hex(&lua, "return cmsgpack.pack(0/0)"), "cbfff8000000000000");
        assert_eq!(
            hex(&lua, "return cmsgpack.pack('', string.rep('a',31), true, false, nil)"),
            format!("a0bf{}c3c2c0", "61".repeat(31))
        );
        assert_eq!(hex(&lua, "return cmsgpack.pack(string.rep('a',32)):sub(1,8)"), "d920616161616161");
        assert_eq!(hex(&lua, "return cmsgpack.pack(string.rep('a',255)):sub(1,8)"), "d9ff616161616161");
        assert_eq!(hex(&lua, "return cmsgpack.pack(string.rep('a',256)):sub(1,8)"), "da01006161616161");
        assert_eq!(hex(&lua, "return cmsgpack.pack(string.rep('a',65535)):sub(1,8)"), "daffff6161616161");
        assert_eq!(hex(&lua, "return cmsgpack.pack(string.rep('a',65536)):sub(1,12)"), "db0001000061616161616161");
        assert_eq!(hex(&lua, "return cmsgpack.pack(function() end, cjson.null)"), "c0c0");
    }

    #[test]
    fn tables_arrays_maps_and_nesting() {
        let lua = lua();
        // Redis 7.0 outputs.
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3}, {[2]=2}, {1,2,nil,4})"),
            "9301020381a1610190820101030381020283010102020404"
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}):sub(1,8)"),
            "dc00100102030405"
        );
        assert_eq!(hex(&lua, "return cmsgpack.pack({[1.5]=1, [-1]=2, [0]=3})"), "830003ca3fc0000001ff02");
        assert_eq!(
            hex(&lua, "local t = {} local c = t for i=1,20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)"),
            format!("{}c0", "91".repeat(16))
        );
        assert_eq!(hex(&lua, "local t = {} t.x = t return cmsgpack.pack(t)"), format!("{}c0", "81a178".repeat(16)));
        let m = hex(&lua, "local t = {} for i=1,16 do t['k'..i] = i end return cmsgpack.pack(t):sub(1,3)");
        assert_eq!(m, "de0010");
    }

    #[test]
    fn unpack_round_trips() {
        let lua = lua();
        // Redis 7.0 output.
        let got = eval(
            &lua,
            "local t = {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2,{x=3}}, true, nil, 1.5))} \
             return table.concat({#t, t[1], t[2], t[3][3].x, tostring(t[4]), tostring(t[5]), tostring(t[6])}, ',')",
        );
        assert_eq!(got, "6,1,a,3,true,nil,1.5");
        assert_eq!(
            eval(&lua, "return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))"),
            "-1"
        );
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\203\\127\\240\\0\\0\\0\\0\\0\\0'))"), "inf");
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))"), "1.5");
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\208\\128'))"), "-128");
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\209\\255\\254'))"), "-2");
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\210\\128\\0\\0\\0'))"), "-2147483648");
        assert_eq!(eval(&lua, "return tostring(cmsgpack.unpack('\\240'))"), "-16");
        assert_eq!(eval(&lua, "return #cmsgpack.unpack(cmsgpack.pack(string.rep('x', 70000)))"), "70000");
        assert_eq!(eval(&lua, "local t = cmsgpack.unpack('\\130\\1\\2\\1\\3') return tostring(t[1])"), "3");
        assert_eq!(eval(&lua, "return select('#', cmsgpack.unpack(cmsgpack.pack(nil, nil)))"), "2");
        assert_eq!(eval(&lua, "return select('#', cmsgpack.unpack(''))"), "0");
        assert_eq!(eval(&lua, "return table.concat({cmsgpack.unpack(12)}, ',')"), "49,50");
        let nested = "local t = cmsgpack.unpack(cmsgpack.pack({a={b={1,{c='d'}}}, [5]=false})) \
                      return t.a.b[2].c .. tostring(t[5])";
        assert_eq!(eval(&lua, nested), "dfalse");
    }

    #[test]
    fn unpack_one_and_limit_offsets() {
        let lua = lua();
        // Redis 7.0 outputs.
        let cases = [
            ("cmsgpack.unpack_one('abc', 1)", "2,98"),
            ("cmsgpack.unpack_one('abc')", "1,97"),
            ("cmsgpack.unpack_one('')", "-1"),
            ("cmsgpack.unpack_one('a', 0.5)", "-1,97"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)", "2,1,2"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)", "-1,2,3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0)", "1,2,3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0, 1)", "1"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 5)", "-1,1,2,3"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 3)", "-1"),
        ];
        for (code, want) in cases {
            assert_eq!(eval(&lua, &format!("return table.concat({{{code}}}, ',')")), want, "{code}");
        }
    }

    #[test]
    fn stack_limits_of_the_c_decoder() {
        let lua = lua();
        // Redis 7.0: the largest inputs that decode, and the errors one step further.
        assert_eq!(eval(&lua, "return #{cmsgpack.unpack(string.rep('\\1', 7999))}"), "7999");
        assert_eq!(eval(&lua, "return #{cmsgpack.unpack(string.rep('\\145', 3999)..'\\1')}"), "1");
        assert_eq!(eval(&lua, "return #{cmsgpack.unpack(string.rep('\\129\\1', 3999)..'\\1')}"), "1");
        assert_eq!(eval(&lua, "return #{cmsgpack.unpack_limit(string.rep('\\1', 7999), 7998)}"), "7999");
        let too_many = "user_script:2: stack overflow (too many return values at once; use unpack_one or \
                        unpack_limit instead.)";
        assert_eq!(err(&lua, "cmsgpack.unpack(string.rep('\\1', 8000))"), too_many);
        assert_eq!(err(&lua, "cmsgpack.unpack(string.rep('\\129\\1', 4000)..'\\1')"), too_many);
        assert_eq!(err(&lua, "cmsgpack.unpack(string.rep('\\129', 7999)..'\\1')"), too_many);
        assert_eq!(
            err(&lua, "cmsgpack.unpack(string.rep('\\129', 7998)..'\\1')"),
            "user_script:2: Missing bytes in input."
        );
        assert_eq!(
            err(&lua, "cmsgpack.unpack(string.rep('\\145', 4000)..'\\1')"),
            "user_script:2: stack overflow (in function mp_decode_to_lua_array)"
        );
        assert_eq!(
            err(&lua, "cmsgpack.unpack_limit(string.rep('\\1', 7999), 7999)"),
            "user_script:2: stack overflow (in function mp_unpack_full)"
        );
        // Far deeper than any stack could hold: still an error, not a crash.
        assert_eq!(
            err(&lua, "cmsgpack.unpack(string.rep('\\145', 1000000))"),
            "user_script:2: stack overflow (in function mp_decode_to_lua_array)"
        );
    }

    #[test]
    fn error_texts() {
        let lua = lua();
        // Redis 7.0 texts; the failing call is on line 2 of the test chunk.
        let cases = [
            ("cmsgpack.pack()", "user_script:2: bad argument #0 to 'pack' (MessagePack pack needs input.)"),
            ("cmsgpack.unpack('\\193')", "user_script:2: Bad data format in input."),
            ("cmsgpack.unpack('\\196\\1a')", "user_script:2: Bad data format in input."),
            ("cmsgpack.unpack('\\205')", "user_script:2: Missing bytes in input."),
            ("cmsgpack.unpack('\\146\\1')", "user_script:2: Missing bytes in input."),
            ("cmsgpack.unpack_one('abc', 5)", "user_script:2: Start offset 5 greater than input length 3."),
            (
                "cmsgpack.unpack_one('abc', -1)",
                "user_script:2: Invalid request to unpack with offset of -1 and limit of 3.",
            ),
            (
                "cmsgpack.unpack_limit('abc', -1)",
                "user_script:2: Invalid request to unpack with offset of 0 and limit of 3.",
            ),
            (
                "cmsgpack.unpack_limit('abc')",
                "user_script:2: bad argument #2 to 'unpack_limit' (number expected, got no value)",
            ),
            ("cmsgpack.unpack({})", "user_script:2: bad argument #1 to 'unpack' (string expected, got table)"),
            ("cmsgpack.unpack()", "user_script:2: bad argument #1 to 'unpack' (string expected, got no value)"),
            (
                "cmsgpack.unpack_one('a', 'x')",
                "user_script:2: bad argument #2 to 'unpack_one' (number expected, got string)",
            ),
            ("cmsgpack.unpack('\\130\\1\\2\\192\\3')", "table index is nil"),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), want, "{code}");
        }
    }

    #[test]
    fn large_inputs_and_many_arguments() {
        let lua = lua();
        // Redis 7.0 outputs.
        let map = "local t = {} for i=1,10000 do t['k'..i] = 'v'..i end \
                   return cmsgpack.unpack(cmsgpack.pack(t)).k9999";
        assert_eq!(eval(&lua, map), "v9999");
        let strings = "local r = {cmsgpack.unpack(string.rep('\\161a', 7999))} return #r .. r[7999]";
        assert_eq!(eval(&lua, strings), "7999a");
        let args = "local t = {} for i=1,4000 do t[i] = 'x'..i end \
                    local r = {cmsgpack.unpack(cmsgpack.pack(unpack(t)))} return #r .. r[4000]";
        assert_eq!(eval(&lua, args), "4000x4000");
        assert_eq!(
            err(&lua, "local t = {} for i=1,7999 do t[i] = 'x'..i end cmsgpack.pack(unpack(t))"),
            "user_script:2: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)"
        );
        let zeros = "local t = {} for i=1,70 do t[i] = 1e-300 end return cmsgpack.pack(unpack(t)):sub(1, 9)";
        assert_eq!(hex(&lua, zeros), "cb01a56e1fc2f8f359");
    }

    #[test]
    fn tiny_numbers_survive() {
        let lua = lua();
        let got = eval(
            &lua,
            "local a, b = cmsgpack.unpack(cmsgpack.pack(1e-300, {[1e-300] = 1e-310})) \
             local k, v = next(b) return tostring(a) .. ' ' .. tostring(k) .. ' ' .. tostring(v)",
        );
        assert_eq!(got, "1e-300 1e-300 1e-310");
    }
}
