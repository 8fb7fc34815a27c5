//! `struct`: lua-struct 0.2, packing Lua values into binary strings and back (`pack`, `unpack`, `size`).
//!
//! Format characters: `>` big endian, `<` little endian, `![n]` maximum alignment (8 by default), space
//! (ignored), `x` one zero byte, `b`/`B` signed/unsigned char, `h`/`H` short, `l`/`L` long, `T` size_t,
//! `i[n]`/`I[n]` an integer of n bytes (4 by default, at most 32), `f` float, `d` double, `s` a zero-terminated
//! string, `c[n]` n bytes (`c0`: the whole string when packing, the previous number as the length when
//! unpacking). Sizes and the native byte order are those of the x86-64 build Redis ships. The quirks of the C
//! code are kept: integers wider than 8 bytes carry only 64 bits, a short `c` string is reported against the
//! argument after it, and `size` ignores unknown letters.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{arg_error, raise, type_name, Args, LibError, LibResult};
use super::function;
use super::number::{c_double_to_i64, c_double_to_u64};
use super::refs::LuaStack;

/// Largest `i[n]` / `I[n]` size.
const MAXINTSIZE: usize = 32;
/// Default for `!`: the alignment of a double on x86-64.
const MAXALIGN: usize = 8;
/// Lua 5.1's `LUAI_MAXCSTACK`: how many values a C function may hold on its stack.
const MAX_C_STACK: usize = 8000;

/// Builds the `struct` table.
///
/// # Errors
/// Only mlua failures (out of memory).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", function(lua, pack)?)?;
    t.raw_set("unpack", function(lua, unpack)?)?;
    t.raw_set("size", function(lua, size)?)?;
    Ok(t)
}

/// The state a format string carries: byte order and maximum alignment.
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header { little: cfg!(target_endian = "little"), align: 1 }
    }
}

/// A cursor over the format, which ends at the first NUL as the C string does.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Self {
        let end = fmt.iter().position(|&c| c == 0).unwrap_or(fmt.len());
        Format { fmt: fmt.get(..end).unwrap_or_default(), pos: 0 }
    }

    fn next_opt(&mut self) -> Option<u8> {
        let c = self.fmt.get(self.pos).copied();
        self.pos += usize::from(c.is_some());
        c
    }

    /// `getnum`: an optional decimal count after an option, `default` when there is none.
    fn number(&mut self, default: usize) -> LibResult<usize> {
        if !self.fmt.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i64 = 0;
        while let Some(d) = self.fmt.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = i64::from(d - b'0');
            if a > i64::from(i32::MAX) / 10 || a * 10 > i64::from(i32::MAX) - d {
                return Err(raise("integral size overflow"));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    /// `optsize`: the size of option `opt`, reading its count.
    fn size(&mut self, opt: u8) -> LibResult<usize> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let sz = self.number(4)?;
                if sz > MAXINTSIZE {
                    return Err(raise(format!("integral size {sz} is larger than limit of {MAXINTSIZE}")));
                }
                sz
            }
            _ => 0,
        })
    }

    /// `controloptions`: the options that change the header, and the error for anything unknown.
    fn control(&mut self, opt: u8, h: &mut Header) -> LibResult<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(MAXALIGN)?;
                if !a.is_power_of_two() {
                    return Err(raise(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(arg_error(1, msg));
            }
        }
        Ok(())
    }
}

/// `gettoalign`: padding before an item of `size` bytes at offset `len` (C's arithmetic, also for odd sizes).
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn is_integer_option(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

/// A missing argument of `pack`: the C code pushed a nil mark right after the arguments, so the first missing
/// one reads as nil and later ones as "no value".
fn pack_missing(args: &Args, n: usize, expected: &str) -> LibError {
    let got = if n == args.len() + 1 { "nil" } else { type_name(args.get(n).as_ref()) };
    arg_error(n, format!("{expected} expected, got {got}"))
}

fn pack_number(lua: &Lua, args: &Args, n: usize) -> LibResult<f64> {
    args.to_number(lua, n)?.ok_or_else(|| pack_missing(args, n, "number"))
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let fmt = args.check_string(lua, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut h = Header::default();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = f.next_opt() {
        let mut size = f.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_integer_option(opt) => {
                let n = pack_number(lua, &args, arg)?;
                arg += 1;
                let mut value = if n < 0.0 { c_double_to_i64(n) as u64 } else { c_double_to_u64(n) };
                let mut bytes = vec![0u8; size];
                let order: Box<dyn Iterator<Item = &mut u8>> =
                    if h.little { Box::new(bytes.iter_mut()) } else { Box::new(bytes.iter_mut().rev()) };
                for b in order {
                    *b = (value & 0xff) as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = pack_number(lua, &args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'd' => {
                let v = pack_number(lua, &args, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = match args.get(arg) {
                    Some(Value::String(_) | Value::Integer(_) | Value::Number(_)) => args.check_string(lua, arg)?,
                    _ => return Err(pack_missing(&args, arg, "string")),
                };
                arg += 1;
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                // The C code checks after moving to the next argument, so it names that one.
                let chunk = s.get(..size).ok_or_else(|| arg_error(arg, "string too short"))?;
                out.extend_from_slice(chunk);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(opt, &mut h)?,
        }
    }
    Ok(MultiValue::from_vec(vec![Value::String(lua.create_string(out)?)]))
}

/// `getinteger`: `size` bytes as a number; only the last 64 bits survive, and the sign bit is found with C's
/// shift (whose count wraps at 64).
fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: &u8| l = (l << 8) | u64::from(*b);
    if little {
        bytes.iter().rev().for_each(&mut push);
    } else {
        bytes.iter().for_each(&mut push);
    }
    if !signed {
        return l as f64;
    }
    let shift = (bytes.len() as u32).wrapping_mul(8).wrapping_sub(1);
    let mask = u64::MAX.wrapping_shl(shift);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the position after the last byte read.
fn unpack(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let fmt = args.check_string(lua, 1)?;
    let fmt = fmt.as_bytes();
    let data = args.check_string(lua, 2)?;
    let data = data.as_bytes();
    let ld = data.len();
    let start = args.opt_integer(lua, 3, 1)?;
    if start == 0 {
        return Err(arg_error(3, "offset must be 1 or greater"));
    }
    // A size_t in C: negative offsets wrap to huge ones and fail the length check below.
    let mut pos = (start as u64).wrapping_sub(1) as usize;
    let mut f = Format::new(&fmt);
    let mut h = Header::default();
    // Results go to a Lua table: thousands of strings held as mlua values could exhaust its references.
    let mut out = LuaStack::new(lua)?;
    let too_short = || arg_error(2, "data string too short");
    while let Some(opt) = f.next_opt() {
        let mut size = f.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if size > ld || pos > ld - size {
            return Err(too_short());
        }
        if args.len() + out.len() + 2 > MAX_C_STACK {
            return Err(raise("stack overflow (too many results)"));
        }
        let item = data.get(pos..pos + size).unwrap_or_default();
        match opt {
            _ if is_integer_option(opt) => {
                out.push(get_integer(item, h.little, opt.is_ascii_lowercase()))?;
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = item.try_into().map_err(|_| too_short())?;
                let v = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                out.push(f64::from(v))?;
            }
            b'd' => {
                let b: [u8; 8] = item.try_into().map_err(|_| too_short())?;
                out.push(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })?;
            }
            b'c' => {
                if size == 0 {
                    let previous = match out.top::<Value>()? {
                        v @ (Value::Number(_) | Value::Integer(_) | Value::String(_)) => lua.coerce_number(v)?,
                        _ => None,
                    };
                    let n = previous.ok_or_else(|| raise("format 'c0' needs a previous size"))?;
                    size = c_double_to_u64(n) as usize;
                    out.pop::<Value>()?;
                    if size > ld || pos > ld - size {
                        return Err(too_short());
                    }
                }
                let s = data.get(pos..pos + size).unwrap_or_default();
                out.push(lua.create_string(s)?)?;
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let end = rest.iter().position(|&c| c == 0).ok_or_else(|| raise("unfinished string in data"))?;
                out.push(lua.create_string(rest.get(..end).unwrap_or_default())?)?;
                size = end + 1;
            }
            _ => f.control(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    out.push(pos.wrapping_add(1) as f64)?;
    Ok(out.into_results()?)
}

/// `struct.size(fmt)`: the bytes `pack` produces for `fmt`; `s` and `c0` have no fixed size.
fn size(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let fmt = args.check_string(lua, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut h = Header::default();
    let mut pos: usize = 0;
    while let Some(opt) = f.next_opt() {
        let size = f.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(1, "option 'c0' has no fixed size"));
        }
        // Letters the C code does not know are skipped here, unlike in pack and unpack.
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(MultiValue::from_vec(vec![Value::Number(pos as f64)]))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, eval, hex, lua};

    #[test]
    fn pack_integers_both_byte_orders() {
        let lua = lua();
        // Redis 7.0 outputs, as hex.
        assert_eq!(hex(&lua, "return struct.pack('>i2', -2)"), "fffe");
        assert_eq!(hex(&lua, "return struct.pack('<i2', -2)"), "feff");
        assert_eq!(hex(&lua, "return struct.pack('i3', 1)"), "010000");
        assert_eq!(hex(&lua, "return struct.pack('<T', 5)"), "0500000000000000");
        assert_eq!(hex(&lua, "return struct.pack('>I16', 1)"), "00000000000000000000000000000001");
        assert_eq!(hex(&lua, "return struct.pack('<i9', -2)"), "feffffffffffffff00");
        assert_eq!(hex(&lua, "return struct.pack('<I', 2^64)"), "00000000");
        assert_eq!(hex(&lua, "return struct.pack('b', 300)"), "2c");
        assert_eq!(hex(&lua, "return struct.pack(' < b >h <H', 1, 2, 3)"), "0100020300");
        assert_eq!(
            hex(&lua, "return struct.pack('>BhHlL', 255, -1, 65535, -3, 7)"),
            "ffffffffff\
fffffffffffffffd0000000000000007"
        );
    }

    #[test]
    fn pack_floats_strings_and_alignment() {
        let lua = lua();
        // Redis 7.0 outputs, as hex.
        assert_eq!(hex(&lua, "return struct.pack('>f', 1.5)"), "3fc00000");
        assert_eq!(hex(&lua, "return struct.pack('<d', -0.0)"), "0000000000000080");
        assert_eq!(hex(&lua, "return struct.pack('>d', 1e-300)"), "01a56e1fc2f8f359");
        assert_eq!(hex(&lua, "return struct.pack('!4bi', 1, 2)"), "0100000002000000");
        assert_eq!(hex(&lua, "return struct.pack('c', 'ab')"), "61");
        assert_eq!(hex(&lua, "return struct.pack('c0s', 'ab', 'cd')"), "6162636400");
        assert_eq!(hex(&lua, "return struct.pack('bxb', 1, 2)"), "010002");
    }

    #[test]
    fn unpack_round_trips_and_positions() {
        let lua = lua();
        // Redis 7.0 outputs.
        let got = eval(
            &lua,
            "local t = {struct.unpack('>i3', '\\255\\255\\254')} \
             local u = {struct.unpack('>H', '\\255\\254')} \
             local v = {struct.unpack('<i9', string.rep('\\255', 9))} \
             local w = {struct.unpack('bbc0', '\\1\\2xy')} \
             local x = {struct.unpack('sb', 'ab\\0\\5')} \
             local y = {struct.unpack('!4bi', struct.pack('!4bi', 1, 2))} \
             local z = {struct.unpack('<fd', struct.pack('<fd', 1.5, 0.1))} \
             local q = {struct.unpack('xb', 'a\\5')} \
             return table.concat({t[1], t[2], u[1], v[1], v[2], w[1], w[2], w[3], x[1], x[2], x[3], \
                                  y[1], y[2], y[3], z[1], z[2], z[3], q[1], q[2]}, ',')",
        );
        assert_eq!(got, "-2,4,65534,-1,10,1,xy,5,ab,5,5,1,2,9,1.5,0.1,13,5,3");
        assert_eq!(eval(&lua, "return select(2, struct.unpack('b', 'xyz', 3))"), "4");
        assert_eq!(eval(&lua, "return table.concat({struct.unpack('c1c0', '2xy')}, ',')"), "xy,4");
    }

    #[test]
    fn size_of_formats() {
        let lua = lua();
        // Redis 7.0 outputs.
        let got = eval(
            &lua,
            "return table.concat({struct.size('i3'), struct.size('!4bi'), struct.size('!bd'), \
             struct.size('!bi3'), struct.size('!4bi3b'), struct.size('bxT'), struct.size('z')}, ',')",
        );
        assert_eq!(got, "3,8,16,6,7,10,0");
    }

    #[test]
    fn error_texts() {
        let lua = lua();
        // Redis 7.0 texts; the failing call is on line 2 of the test chunk.
        let cases = [
            ("struct.pack('=i', 1)", "user_script:2: bad argument #1 to 'pack' (invalid format option '=')"),
            ("struct.pack('i33', 1)", "user_script:2: integral size 33 is larger than limit of 32"),
            ("struct.pack('i99999999999', 1)", "user_script:2: integral size overflow"),
            ("struct.size('s')", "user_script:2: bad argument #1 to 'size' (option 's' has no fixed size)"),
            ("struct.size('c0')", "user_script:2: bad argument #1 to 'size' (option 'c0' has no fixed size)"),
            ("struct.size('=')", "user_script:2: bad argument #1 to 'size' (invalid format option '=')"),
            ("struct.size('!3bi')", "user_script:2: alignment 3 is not a power of 2"),
            ("struct.pack('c5', 'ab')", "user_script:2: bad argument #3 to 'pack' (string too short)"),
            ("struct.pack('i')", "user_script:2: bad argument #2 to 'pack' (number expected, got nil)"),
            ("struct.pack('iii', 1)", "user_script:2: bad argument #3 to 'pack' (number expected, got nil)"),
            ("struct.pack('i', 'x')", "user_script:2: bad argument #2 to 'pack' (number expected, got string)"),
            ("struct.pack('s', {})", "user_script:2: bad argument #2 to 'pack' (string expected, got table)"),
            ("struct.pack()", "user_script:2: bad argument #1 to 'pack' (string expected, got no value)"),
            ("struct.pack(1)", "user_script:2: bad argument #1 to 'pack' (invalid format option '1')"),
            ("struct.unpack('c0', 'abc')", "user_script:2: format 'c0' needs a previous size"),
            ("struct.unpack('i', 'ab')", "user_script:2: bad argument #2 to 'unpack' (data string too short)"),
            (
                "struct.unpack('i', 'abcd', 0)",
                "user_script:2: bad argument #3 to 'unpack' (offset must be 1 or greater)",
            ),
            ("struct.unpack('i', 'abcd', -1)", "user_script:2: bad argument #2 to 'unpack' (data string too short)"),
            ("struct.unpack('i', 'abcd', 6)", "user_script:2: bad argument #2 to 'unpack' (data string too short)"),
            ("struct.unpack('s', 'abcd')", "user_script:2: unfinished string in data"),
            ("local p = struct.pack p('z')", "user_script:2: bad argument #1 to 'p' (invalid format option 'z')"),
        ];
        for (code, want) in cases {
            assert_eq!(err(&lua, code), want, "{code}");
        }
    }

    #[test]
    fn many_results_and_arguments() {
        let lua = lua();
        // Redis 7.0 outputs.
        let strings =
            "local r = {struct.unpack(string.rep('s', 7000), string.rep('ab\\0', 7000))} return #r .. r[7000]";
        assert_eq!(eval(&lua, strings), "7001ab");
        assert_eq!(eval(&lua, "return #{struct.unpack(string.rep('b', 7997), string.rep('a', 7998))}"), "7998");
        assert_eq!(
            err(&lua, "struct.unpack(string.rep('b', 7998), string.rep('a', 7998))"),
            "user_script:2: stack overflow (too many results)"
        );
        let zeros = "local t = {} for i=1,70 do t[i] = -0.0 end return struct.pack('<' .. string.rep('d', 70), unpack(t)):sub(1, 8)";
        assert_eq!(hex(&lua, zeros), "0000000000000080");
        assert_eq!(hex(&lua, "return struct.pack('<d', -0.0)"), "0000000000000080");
    }

    #[test]
    fn negative_zero_and_tiny_numbers_survive() {
        let lua = lua();
        let got = eval(&lua, "local a, b = struct.unpack('<dd', struct.pack('<dd', -0.0, 1e-300)) return tostring(1/a) .. ' ' .. tostring(b)");
        assert_eq!(got, "-inf 1e-300");
    }
}
