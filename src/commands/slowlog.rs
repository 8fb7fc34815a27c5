//! SLOWLOG GET/LEN/RESET: the entries `engine/slowlog.rs` keeps, in Redis's reply shape.

use super::args::int_or;
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

fn slowlog_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(&args[1], "slowlog"));
    }
    let bad = CmdError::err("count should be greater than or equal to -1".to_string());
    let count = match args.get(2) {
        None => 10,
        Some(a) => match int_or(a, bad.clone())? {
            -1 => usize::MAX,
            n if n < -1 => return Err(bad),
            n => n as usize,
        },
    };
    let entries = ctx.srv.slowlog.newest(count);
    Ok(Reply::Array(
        entries
            .into_iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::Int(e.id as i64),
                    Reply::Int(e.unix_secs as i64),
                    Reply::Int(e.micros as i64),
                    Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                    Reply::bulk_string(e.addr),
                    Reply::Bulk(e.name),
                ])
            })
            .collect(),
    ))
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.slowlog.len() as i64))
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.slowlog.reset();
    Ok(Reply::Simple("OK"))
}

fn slowlog_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ]))
}

const G: &str = "server";
const A: u32 = ADMIN | LOADING | STALE;

static SLOWLOG_SUBS: &[CommandSpec] = &[
    spec("get", -2, A, Keys::None, slowlog_get)
        .tips(&["request_policy:all_nodes", "nondeterministic_output"])
        .doc(G, "2.2.12", "Returns the slow log's entries.", "[count]")
        .complexity("O(N) where N is the number of entries returned"),
    spec("help", 2, LOADING | STALE, Keys::None, slowlog_help)
        .doc(G, "6.2.0", "Show helpful text about the different subcommands", "")
        .complexity("O(1)"),
    spec("len", 2, A, Keys::None, slowlog_len)
        .tips(&["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"])
        .doc(G, "2.2.12", "Returns the number of entries in the slow log.", "")
        .complexity("O(1)"),
    spec("reset", 2, A, Keys::None, slowlog_reset)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(G, "2.2.12", "Clears all entries from the slow log.", "")
        .complexity("O(N) where N is the number of entries in the slowlog"),
];

/// The SLOWLOG row.
pub static COMMANDS: &[CommandSpec] =
    &[container("slowlog", SLOWLOG_SUBS).doc(G, "2.2.12", "A container for slow log commands.", "")];
