//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT. The Lua side lives in `engine/script`.
//!
//! Rows that need the VM carry `RUNS_SCRIPT`, so a connection hands them to the script thread; SCRIPT KILL only
//! flips the running script's flag and so answers at once, even while a script is busy (`ALLOW_BUSY`).

use super::args::is;
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::script;
use crate::error::{self, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::eval(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::eval(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::eval(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::eval(ctx, args, true, true)
}

fn script_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::script_load(ctx.srv, &args[2])
}

fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::script_exists(ctx.srv, &args[2..])
}

fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    match args.get(2) {
        None => {}
        Some(a) if args.len() == 3 && (is(a, "ASYNC") || is(a, "SYNC")) => {}
        Some(_) => return Err(crate::error::CmdError::fixed("ERR SCRIPT FLUSH only support SYNC|ASYNC option")),
    }
    script::script_flush(ctx.srv)?;
    Ok(Reply::OK)
}

fn script_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.scripts.state.kill(false)
}

fn script_debug(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Err(error::CmdError::fixed("ERR SCRIPT DEBUG is not supported: Strata has no Lua debugger"))
}

fn script_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ]))
}

const G: &str = "scripting";
const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | RUNS_SCRIPT;
const EVAL_KEYS: Keys = Keys::NumKeys { at: 2, step: 1 };

static SCRIPT_SUBS: &[CommandSpec] = &[
    spec("debug", 3, NOSCRIPT, Keys::None, script_debug)
        .doc(G, "3.2.0", "Sets the debug mode of server-side Lua scripts.", "mode:oneof(YES|SYNC|NO)")
        .complexity("O(1)"),
    spec("exists", -3, NOSCRIPT | RUNS_SCRIPT, Keys::None, script_exists)
        .tips(&["request_policy:all_shards", "response_policy:agg_logical_and"])
        .doc(G, "2.6.0", "Determines whether server-side Lua scripts exist in the script cache.", "sha1 [sha1 ...]")
        .complexity(
            "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
        ),
    spec("flush", -2, NOSCRIPT | RUNS_SCRIPT, Keys::None, script_flush)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(G, "2.6.0", "Removes all server-side Lua scripts from the script cache.", "[flush-type:oneof(ASYNC|SYNC)]")
        .complexity("O(N) with N being the number of scripts in cache"),
    spec("help", 2, LOADING | STALE, Keys::None, script_help)
        .doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
    spec("kill", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, script_kill)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(G, "2.6.0", "Terminates a server-side Lua script during execution.", "")
        .complexity("O(1)"),
    spec("load", 3, NOSCRIPT | STALE | RUNS_SCRIPT, Keys::None, script_load)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(G, "2.6.0", "Loads a server-side Lua script to the script cache.", "script")
        .complexity("O(N) with N being the length in bytes of the script body."),
];

/// The scripting family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("eval", -3, EVAL_FLAGS, EVAL_KEYS, eval)
        .key_notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")
        .rewritten()
        .key_flags(&["RW", "access", "update"])
        .doc(G, "2.6.0", "Executes a server-side Lua script.", "script numkeys [key [key ...]] [arg [arg ...]]")
        .complexity("Depends on the script that is executed."),
    spec("evalsha", -3, EVAL_FLAGS, EVAL_KEYS, evalsha)
        .rewritten()
        .key_flags(&["RW", "access", "update"])
        .doc(
            G,
            "2.6.0",
            "Executes a server-side Lua script by SHA1 digest.",
            "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        )
        .complexity("Depends on the script that is executed."),
    spec("eval_ro", -3, EVAL_FLAGS | READONLY, EVAL_KEYS, eval_ro)
        .key_notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")
        .key_flags(&["RO", "access"])
        .doc(
            G,
            "7.0.0",
            "Executes a read-only server-side Lua script.",
            "script numkeys [key [key ...]] [arg [arg ...]]",
        )
        .complexity("Depends on the script that is executed."),
    spec("evalsha_ro", -3, EVAL_FLAGS | READONLY, EVAL_KEYS, evalsha_ro)
        .key_flags(&["RO", "access"])
        .doc(
            G,
            "7.0.0",
            "Executes a read-only server-side Lua script by SHA1 digest.",
            "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        )
        .complexity("Depends on the script that is executed."),
    container("script", SCRIPT_SUBS).doc(G, "2.6.0", "A container for Lua scripts management commands.", ""),
];
