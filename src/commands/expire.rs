//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX XX GT LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME,
//! PERSIST. Effects are rewritten to absolute PEXPIREAT so replicas agree on the instant.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::event::Event;
use bytes::Bytes;

#[derive(Default)]
struct Cond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_cond(args: &[Bytes]) -> CmdResult<Cond> {
    let mut c = Cond::default();
    for a in &args[3..] {
        if is(a, "NX") {
            c.nx = true;
        } else if is(a, "XX") {
            c.xx = true;
        } else if is(a, "GT") {
            c.gt = true;
        } else if is(a, "LT") {
            c.lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", String::from_utf8_lossy(a))));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(CmdError::err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if c.gt && c.lt {
        return Err(CmdError::err("GT and LT options at the same time are not compatible"));
    }
    Ok(c)
}

/// Shared body of the four EXPIRE variants. `unit_ms` is 1000 for seconds; `relative` adds the command time.
fn expire_generic(ctx: &mut Ctx<'_>, args: &[Bytes], unit_ms: i64, relative: bool, name: &str) -> CmdResult<Reply> {
    let cond = parse_cond(args)?;
    let mut when = int(&args[2])?;
    if unit_ms == 1000 {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(CmdError::invalid_expire(name));
        }
        when *= 1000;
    }
    if relative {
        let base = ctx.now_ms as i64;
        if when > i64::MAX - base {
            return Err(CmdError::invalid_expire(name));
        }
        when += base;
    }
    let key = &args[1];
    if ctx.write(key).is_none() {
        return Ok(Reply::Int(0));
    }
    let current = ctx.expire_of(key).unwrap_or(0);
    let has_ttl = current != 0;
    let current = current as i64;
    if (cond.nx && has_ttl)
        || (cond.xx && !has_ttl)
        || (cond.gt && (!has_ttl || when <= current))
        || (cond.lt && has_ttl && when >= current)
    {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now_ms as i64 {
        ctx.remove(key);
        ctx.emit(vec![Bytes::from_static(b"DEL"), key.clone()]);
    } else {
        ctx.set_expire(key, when as u64, Event::Expire);
        ctx.emit(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), Bytes::from(when.to_string())]);
    }
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, args, 1000, true, "expire")
}

fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, args, 1, true, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, args, 1000, false, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    expire_generic(ctx, args, 1, false, "pexpireat")
}

/// What TTL-style commands report.
enum TtlOut {
    RelSecs,
    RelMs,
    AbsSecs,
    AbsMs,
}

fn ttl_generic(ctx: &mut Ctx<'_>, args: &[Bytes], out: TtlOut) -> CmdResult<Reply> {
    let now = ctx.now_ms as i64;
    if ctx.read_untouched(&args[1]).is_none() {
        return Ok(Reply::Int(-2));
    }
    let at = ctx.expire_of(&args[1]).unwrap_or(0);
    if at == 0 {
        return Ok(Reply::Int(-1));
    }
    let at = at as i64;
    let rel = (at - now).max(0);
    Ok(Reply::Int(match out {
        TtlOut::RelSecs => (rel + 500) / 1000,
        TtlOut::RelMs => rel,
        TtlOut::AbsSecs => ((at as i128 + 500) / 1000) as i64,
        TtlOut::AbsMs => at,
    }))
}

fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, args, TtlOut::RelSecs)
}

fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, args, TtlOut::RelMs)
}

fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, args, TtlOut::AbsSecs)
}

fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    ttl_generic(ctx, args, TtlOut::AbsMs)
}

fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let has_ttl = ctx.write(&args[1]).is_some() && ctx.expire_of(&args[1]).is_some_and(|at| at != 0);
    if !has_ttl {
        return Ok(Reply::Int(0));
    }
    ctx.set_expire(&args[1], 0, Event::Persist);
    Ok(Reply::Int(1))
}

const G: &str = "generic";

/// The expiry family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("expire", -3, WRITE | FAST, Keys::one(1), expire)
        .key_flags(&["RW", "update"])
        .rewritten()
        .doc(G, "1.0.0", "Sets the expiration time of a key in seconds.", "key seconds [condition=NX | XX | GT | LT]")
        .complexity("O(1)"),
    spec("pexpire", -3, WRITE | FAST, Keys::one(1), pexpire)
        .key_flags(&["RW", "update"])
        .rewritten()
        .doc(
            G,
            "2.6.0",
            "Sets the expiration time of a key in milliseconds.",
            "key milliseconds [condition=NX | XX | GT | LT]",
        )
        .complexity("O(1)"),
    spec("expireat", -3, WRITE | FAST, Keys::one(1), expireat)
        .key_flags(&["RW", "update"])
        .rewritten()
        .doc(
            G,
            "1.2.0",
            "Sets the expiration time of a key to a Unix timestamp.",
            "key unix-time-seconds [condition=NX | XX | GT | LT]",
        )
        .complexity("O(1)"),
    spec("pexpireat", -3, WRITE | FAST, Keys::one(1), pexpireat)
        .key_flags(&["RW", "update"])
        .rewritten()
        .doc(
            G,
            "2.6.0",
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "key unix-time-milliseconds [condition=NX | XX | GT | LT]",
        )
        .complexity("O(1)"),
    spec("ttl", 2, READONLY | FAST, Keys::one(1), ttl)
        .tips(&["nondeterministic_output"])
        .doc(G, "1.0.0", "Returns the expiration time in seconds of a key.", "key")
        .complexity("O(1)"),
    spec("pttl", 2, READONLY | FAST, Keys::one(1), pttl)
        .tips(&["nondeterministic_output"])
        .doc(G, "2.6.0", "Returns the expiration time in milliseconds of a key.", "key")
        .complexity("O(1)"),
    spec("expiretime", 2, READONLY | FAST, Keys::one(1), expiretime)
        .doc(G, "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "key")
        .complexity("O(1)"),
    spec("pexpiretime", 2, READONLY | FAST, Keys::one(1), pexpiretime)
        .doc(G, "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "key")
        .complexity("O(1)"),
    spec("persist", 2, WRITE | FAST, Keys::one(1), persist)
        .key_flags(&["RW", "update"])
        .doc(G, "2.2.0", "Removes the expiration time of a key.", "key")
        .complexity("O(1)"),
];
