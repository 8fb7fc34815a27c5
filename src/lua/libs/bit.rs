//! `bit`: LuaBitOp 1.0.2, 32-bit bitwise operations on Lua numbers.
//!
//! Every argument is reduced to 32 bits the way LuaBitOp does it: add 2^52+2^51 to the double and keep the low
//! word of its bit pattern. That rounds to the nearest integer (ties to even) modulo 2^32, so `tobit(0xffffffff)`
//! is -1 and `tobit(2^32+1)` is 1; NaN, infinities and huge numbers come out as whatever low bits the sum has.
//! Results are signed 32-bit values.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{arg_error, type_name, Args, LibResult};
use super::function;

/// Builds the `bit` table.
///
/// # Errors
/// Only mlua failures (out of memory).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", function(lua, |lua, a| ret(barg(lua, &a, 1)?))?)?;
    t.raw_set("bnot", function(lua, |lua, a| ret(!barg(lua, &a, 1)?))?)?;
    t.raw_set("band", function(lua, |lua, a| fold(lua, &a, |x, y| x & y))?)?;
    t.raw_set("bor", function(lua, |lua, a| fold(lua, &a, |x, y| x | y))?)?;
    t.raw_set("bxor", function(lua, |lua, a| fold(lua, &a, |x, y| x ^ y))?)?;
    t.raw_set("lshift", function(lua, |lua, a| shift(lua, &a, |b, n| b << n))?)?;
    t.raw_set("rshift", function(lua, |lua, a| shift(lua, &a, |b, n| b >> n))?)?;
    t.raw_set("arshift", function(lua, |lua, a| shift(lua, &a, |b, n| ((b as i32) >> n) as u32))?)?;
    t.raw_set("rol", function(lua, |lua, a| shift(lua, &a, u32::rotate_left))?)?;
    t.raw_set("ror", function(lua, |lua, a| shift(lua, &a, u32::rotate_right))?)?;
    t.raw_set("bswap", function(lua, |lua, a| ret(barg(lua, &a, 1)?.swap_bytes()))?)?;
    t.raw_set("tohex", function(lua, tohex)?)?;
    Ok(t)
}

/// LuaBitOp's `barg`: argument `n` reduced to 32 bits; "number expected" unless it is a number or numeric string.
fn barg(lua: &Lua, args: &Args, n: usize) -> LibResult<u32> {
    match args.to_number(lua, n)? {
        Some(x) => Ok(tobit(x)),
        None => Err(arg_error(n, format!("number expected, got {}", type_name(args.get(n).as_ref())))),
    }
}

/// The 2^52+2^51 trick: the low 32 bits of the double's pattern once the sum has moved the integer part there.
fn tobit(x: f64) -> u32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32
}

/// Returns a 32-bit result as the signed Lua number LuaBitOp pushes.
fn ret(b: u32) -> LibResult<MultiValue> {
    Ok(MultiValue::from_vec(vec![Value::Number(f64::from(b as i32))]))
}

/// `band`, `bor`, `bxor`: the first argument combined with all the others (at least one argument is required).
fn fold(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let mut b = barg(lua, args, 1)?;
    // LuaBitOp walks the arguments from the last one down, so a bad argument is reported highest first.
    for n in (2..=args.len()).rev() {
        b = op(b, barg(lua, args, n)?);
    }
    ret(b)
}

/// Shifts and rotations: the count is the second argument's low 5 bits.
fn shift(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let b = barg(lua, args, 1)?;
    let n = barg(lua, args, 2)? & 31;
    ret(op(b, n))
}

/// `tohex(x [, n])`: the low `|n|` hex digits of `x` (8 by default, at most 8), uppercase when `n` is negative.
fn tohex(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let mut b = barg(lua, &args, 1)?;
    let n = if args.get(2).is_none() { 8 } else { barg(lua, &args, 2)? as i32 };
    let digits: &[u8; 16] = if n < 0 { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    // -n overflows for i32::MIN in C; the Redis binary then prints 8 digits, as unsigned_abs() gives here.
    let len = n.unsigned_abs().min(8) as usize;
    let mut buf = vec![0u8; len];
    for slot in buf.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Ok(MultiValue::from_vec(vec![Value::String(lua.create_string(buf)?)]))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, eval, lua};

    #[test]
    fn tobit_normalises_to_signed_32_bits() {
        let lua = lua();
        // Redis 7.0: {-1, 1, -1, 2, 2, -2, 0, 12, 16, 2, 0, 0, 0}
        let got = eval(
            &lua,
            "return table.concat({bit.tobit(0xffffffff), bit.tobit(2^32+1), bit.tobit(-1), bit.tobit(1.5), \
             bit.tobit(2.5), bit.tobit(-1.5), bit.tobit(2^52), bit.tobit('12'), bit.tobit('0x10'), \
             bit.tobit(2^53+3), bit.tobit(0/0), bit.tobit(1/0), bit.tobit(2^60+5)}, ',')",
        );
        assert_eq!(got, "-1,1,-1,2,2,-2,0,12,16,2,0,0,0");
    }

    #[test]
    fn tohex_widths_and_case() {
        let lua = lua();
        // Redis 7.0 outputs.
        let got = eval(
            &lua,
            "return table.concat({bit.tohex(1), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -2), \
             bit.tohex(0x12345678, 3), bit.tohex(1, 0), bit.tohex(1, 20), bit.tohex(0xabcdef, -20), \
             bit.tohex(1, -2147483648)}, ',')",
        );
        assert_eq!(got, "00000001,ffffffff,ff,FF,678,,00000001,00ABCDEF,00000001");
    }

    #[test]
    fn logic_shifts_rotations_and_bswap() {
        let lua = lua();
        // Redis 7.0 outputs.
        let got = eval(
            &lua,
            "return table.concat({bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(7,2,1), \
             bit.band(5), bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1,33), bit.rshift(-1, 28), \
             bit.arshift(-256, 4), bit.rol(0x80000001, 1), bit.ror(1, 1), bit.rol(1,0), bit.ror(7,32), \
             bit.bswap(0x12345678), bit.lshift(1, -1)}, ',')",
        );
        assert_eq!(got, "-1,3,7,4,5,-2147483648,1,2,15,-16,3,-2147483648,1,7,2018915346,-2147483648");
    }

    #[test]
    fn argument_errors_match_luabitop() {
        let lua = lua();
        // Redis 7.0 texts; the failing call is on line 2 of the test chunk.
        assert_eq!(
            err(&lua, "bit.band(1, 'x')"),
            "user_script:2: bad argument #2 to 'band' (number expected, got string)"
        );
        assert_eq!(err(&lua, "bit.bor()"), "user_script:2: bad argument #1 to 'bor' (number expected, got no value)");
        assert_eq!(
            err(&lua, "bit.lshift(1)"),
            "user_script:2: bad argument #2 to 'lshift' (number expected, got no value)"
        );
        assert_eq!(
            err(&lua, "bit.tohex(1, nil)"),
            "user_script:2: bad argument #2 to 'tohex' (number expected, got nil)"
        );
        // Under pcall the caller is a C function: no position, and the function name is unknown.
        let e = lua.load("local ok, e = pcall(bit.tobit) return e").eval::<String>().unwrap();
        assert_eq!(e, "bad argument #1 to '?' (number expected, got no value)");
        // The error is a plain string, as the C library raises it.
        let ty = lua.load("local ok, e = pcall(bit.tobit, {}) return type(e)").eval::<String>().unwrap();
        assert_eq!(ty, "string");
    }

    #[test]
    fn many_arguments() {
        let lua = lua();
        let got = eval(&lua, "local t = {} for i=0,99 do t[i+1] = 2^(i % 32) end return bit.bor(unpack(t)) .. ',' .. bit.band(unpack(t))");
        assert_eq!(got, "-1,0");
        let e = err(&lua, "local t = {} for i=1,99 do t[i] = 1 end t[80] = {} bit.bxor(unpack(t))");
        assert_eq!(e, "user_script:2: bad argument #80 to 'bxor' (number expected, got table)");
    }
}
