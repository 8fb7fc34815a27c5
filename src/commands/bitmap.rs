//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO. The bit arithmetic lives in
//! `store::bits`; this file parses arguments and applies results to keys.

use super::args::{int, is};
use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::bits::{self, BitOp, BitUnit, FieldType, Overflow};
use crate::store::event::Event;
use crate::store::{StrValue, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn max_bulk(ctx: &Ctx<'_>) -> u64 {
    ctx.srv.hot.proto_max_bulk_len.load(Ordering::Relaxed) as u64
}

fn offset_arg(ctx: &Ctx<'_>, a: &[u8], hash_bits: u8) -> CmdResult<u64> {
    bits::parse_offset_arg(a, hash_bits, max_bulk(ctx)).ok_or(error::BIT_OFFSET)
}

/// Replaces a key's string with `v` (raw encoding), creating the key if needed.
fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let offset = offset_arg(ctx, &args[2], 0)?;
    let on = match &args[3][..] {
        b"1" => true,
        b"0" => false,
        _ => return Err(error::BIT_VALUE),
    };
    // Only a new key, a longer value or a flipped bit is a change (an event, dirty, WATCH), as in Redis.
    let old = ctx.modify_str(&args[1], Event::Setbit, |v, existed| {
        let len = v.len();
        let old = bits::set_bit(v, offset, on);
        Ok((old, !existed || v.len() != len || (old != 0) != on))
    })?;
    Ok(Reply::Int(old as i64))
}

fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let offset = offset_arg(ctx, &args[2], 0)?;
    ctx.read_str_with(&args[1], |v| Reply::Int(bits::get_bit(v.unwrap_or_default(), offset) as i64))
}

fn bitcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    // A missing key answers 0 before the range is parsed, as in Redis.
    ctx.read_str_with(&args[1], |v| {
        let Some(v) = v else { return Ok(Reply::Int(0)) };
        let range = match args.len() {
            2 => None,
            4 | 5 => {
                let start = int(&args[2])?;
                let end = int(&args[3])?;
                if start < 0 && end < 0 && start > end {
                    return Ok(Reply::Int(0));
                }
                let unit = match args.get(4) {
                    None => BitUnit::Byte,
                    Some(u) => BitUnit::parse(u).ok_or(error::SYNTAX)?,
                };
                Some((start, end, unit))
            }
            _ => return Err(error::SYNTAX),
        };
        Ok(Reply::Int(bits::bit_count(v, range) as i64))
    })?
}

fn bitpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let bit = int(&args[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    // A missing key answers before the range is parsed, as in Redis.
    ctx.read_str_with(&args[1], |v| {
        let Some(v) = v else { return Ok(Reply::Int(if bit == 1 { -1 } else { 0 })) };
        if args.len() > 6 {
            return Err(error::SYNTAX);
        }
        let start = args.get(3).map(|a| int(a)).transpose()?;
        let unit = match args.get(5) {
            None => BitUnit::Byte,
            Some(u) => BitUnit::parse(u).ok_or(error::SYNTAX)?,
        };
        let end = args.get(4).map(|a| int(a)).transpose()?;
        Ok(Reply::Int(bits::bit_pos(v, bit == 1, start, end, unit)))
    })?
}

fn bitop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let op = BitOp::parse(&args[1]).ok_or(error::SYNTAX)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err("BITOP NOT must be called with a single source key."));
    }
    let mut srcs = Vec::with_capacity(args.len() - 3);
    for k in &args[3..] {
        srcs.push(ctx.read_str(k)?.map(StrValue::into_bytes).unwrap_or_default());
    }
    let refs: Vec<&[u8]> = srcs.iter().map(|b| &b[..]).collect();
    let out = bits::bit_op(op, &refs);
    let len = out.len() as i64;
    let dest = &args[2];
    if out.is_empty() {
        ctx.remove(dest);
    } else {
        ctx.set(dest, Value::Str(StrValue::raw(out)), Ttl::Clear, Event::Set);
    }
    ctx.dirty += 1;
    Ok(Reply::Int(len))
}

enum FieldOp {
    Get(FieldType, u64),
    Set(FieldType, u64, i64, Overflow),
    Incr(FieldType, u64, i64, Overflow),
}

fn field_type(a: &[u8]) -> CmdResult<FieldType> {
    bits::parse_field_type(a).ok_or_else(|| {
        CmdError::err("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    })
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult<Reply> {
    let mut ops = Vec::new();
    let mut ov = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if is(a, "GET") && left >= 2 {
            let ft = field_type(&args[j + 1])?;
            let off = offset_arg(ctx, &args[j + 2], ft.bits)?;
            ops.push(FieldOp::Get(ft, off));
            j += 3;
        } else if (is(a, "SET") || is(a, "INCRBY")) && left >= 3 {
            let ft = field_type(&args[j + 1])?;
            let off = offset_arg(ctx, &args[j + 2], ft.bits)?;
            let n = int(&args[j + 3])?;
            ops.push(if is(a, "SET") { FieldOp::Set(ft, off, n, ov) } else { FieldOp::Incr(ft, off, n, ov) });
            j += 4;
        } else if is(a, "OVERFLOW") && left >= 1 {
            ov = Overflow::parse(&args[j + 1]).ok_or_else(|| CmdError::err("Invalid OVERFLOW type specified"))?;
            j += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let writes = ops.iter().any(|o| !matches!(o, FieldOp::Get(..)));
    if writes && read_only {
        return Err(CmdError::err("BITFIELD_RO only supports the GET subcommand"));
    }
    let key = &args[1];
    if !writes {
        return ctx.read_str_with(key, |v| {
            let v = v.unwrap_or_default();
            Reply::Array(
                ops.iter()
                    .map(|o| match o {
                        FieldOp::Get(ft, off) => Reply::Int(bits::field_get(v, *off, *ft)),
                        _ => Reply::Nil,
                    })
                    .collect(),
            )
        });
    }
    ctx.modify_str(key, Event::Setbit, |v, existed| {
        let len_before = v.len();
        let mut changed = false;
        let mut replies = Vec::with_capacity(ops.len());
        for o in &ops {
            let (ft, off) = match *o {
                FieldOp::Get(ft, off) | FieldOp::Set(ft, off, ..) | FieldOp::Incr(ft, off, ..) => (ft, off),
            };
            // Only the bytes the field covers can change: compare those, never the whole value.
            let first = (off / 8) as usize;
            let last = ((off + ft.width() as u64).saturating_sub(1) / 8) as usize;
            let before: Vec<u8> = v.get(first..=last.min(v.len().saturating_sub(1))).unwrap_or(&[]).to_vec();
            replies.push(match *o {
                FieldOp::Get(ft, off) => Reply::Int(bits::field_get(v, off, ft)),
                FieldOp::Set(ft, off, n, ov) => bits::field_set(v, off, ft, n, ov).map_or(Reply::Nil, Reply::Int),
                FieldOp::Incr(ft, off, n, ov) => bits::field_incrby(v, off, ft, n, ov).map_or(Reply::Nil, Reply::Int),
            });
            changed |= v.get(first..first + before.len()).is_some_and(|now| now != &before[..]);
        }
        changed |= v.len() != len_before;
        Ok((Reply::Array(replies), !existed || changed))
    })
}

fn bitfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, args, true)
}

const G: &str = "bitmap";

/// The bitmap family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("setbit", 4, WRITE | DENYOOM, Keys::one(1), setbit).doc(G, "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", "key offset value").complexity("O(1)"),
    spec("getbit", 3, READONLY | FAST, Keys::one(1), getbit).doc(G, "2.2.0", "Returns a bit value by offset.", "key offset").complexity("O(1)"),
    spec("bitcount", -2, READONLY, Keys::one(1), bitcount).doc(G, "2.6.0", "Counts the number of set bits (population counting) in a string.", "key [range=start end [unit=BYTE | BIT]]").complexity("O(N)"),
    spec("bitpos", -3, READONLY, Keys::one(1), bitpos).doc(G, "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", "key bit:integer [range=start [end-unit-block=end [unit=BYTE | BIT]]]").complexity("O(N)"),
    spec("bitop", -4, WRITE | DENYOOM, Keys::range(2, -1, 1), bitop).key_flags_each(&[&["OW", "update"], &["RO", "access"]]).doc(G, "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.", "<operation=AND | OR | XOR | NOT> destkey:key key [key ...]").complexity("O(N)"),
    spec("bitfield", -2, WRITE | DENYOOM, Keys::one(1), bitfield).key_flags(&["RW", "access", "update", "variable_flags"]).key_notes("This command allows both access and modification of the key").doc(G, "3.2.0", "Performs arbitrary bitfield integer operations on strings.", "key [operation=GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value:integer | INCRBY encoding offset increment ...]").complexity("O(1) for each subcommand specified"),
    spec("bitfield_ro", -2, READONLY | FAST, Keys::one(1), bitfield_ro).doc(G, "6.0.0", "Performs arbitrary read-only bitfield integer operations on strings.", "key [GET encoding offset [GET encoding offset ...]]").complexity("O(1) for each subcommand specified"),
];
