//! Functions: FCALL, FCALL_RO and FUNCTION (LOAD, DELETE, FLUSH, LIST, STATS, DUMP, RESTORE, KILL). Libraries
//! live in `engine/script/functions.rs`; the rows that change them need the VM and carry `RUNS_SCRIPT`, the ones
//! that only read their metadata (LIST, STATS, DUMP) run anywhere.

use super::args::is;
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::script::{self, functions::RestorePolicy};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::fcall(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    script::fcall(ctx, args, true)
}

fn function_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (replace, code) = match &args[2..] {
        [code] => (false, code),
        [r, code] if is(r, "REPLACE") => (true, code),
        [other, _] => return Err(CmdError::err(format!("Unknown option given: {}", String::from_utf8_lossy(other)))),
        _ => return Err(CmdError::fixed("ERR wrong number of arguments for 'function|load' command")),
    };
    let r = script::function_load(ctx.srv, code, replace)?;
    ctx.dirty += 1;
    Ok(r)
}

fn function_delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let r = script::function_delete(ctx.srv, &args[2])?;
    ctx.dirty += 1;
    Ok(r)
}

fn function_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    match args.get(2) {
        None => {}
        Some(a) if args.len() == 3 && (is(a, "ASYNC") || is(a, "SYNC")) => {}
        Some(_) => return Err(CmdError::fixed("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")),
    }
    script::function_flush(ctx.srv)?;
    ctx.dirty += 1;
    Ok(Reply::OK)
}

fn function_restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if args.len() == 4 && is(p, "FLUSH") => RestorePolicy::Flush,
        Some(p) if args.len() == 4 && is(p, "APPEND") => RestorePolicy::Append,
        Some(p) if args.len() == 4 && is(p, "REPLACE") => RestorePolicy::Replace,
        Some(_) => {
            return Err(CmdError::fixed(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let r = script::function_restore(ctx.srv, &args[2], policy)?;
    ctx.dirty += 1;
    Ok(r)
}

fn function_dump(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Bulk(Bytes::from(script::functions::dump(ctx.srv))))
}

fn function_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.scripts.state.kill(true)
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s.as_bytes())
}

fn function_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "WITHCODE") && !with_code {
            with_code = true;
        } else if is(&args[i], "LIBRARYNAME") && pattern.is_none() {
            i += 1;
            pattern = Some(args.get(i).ok_or(CmdError::fixed("ERR library name argument was not given"))?.clone());
        } else {
            return Err(CmdError::err(format!("Unknown argument {}", String::from_utf8_lossy(&args[i]))));
        }
        i += 1;
    }
    let libs = ctx.srv.scripts.libraries.read();
    let mut out = Vec::new();
    for (name, lib) in &libs.libs {
        if let Some(p) = &pattern {
            if !crate::util::glob::glob_match(p, name.as_bytes(), false) {
                continue;
            }
        }
        let functions = lib
            .functions
            .iter()
            .map(|f| {
                Reply::Map(vec![
                    (bulk("name"), bulk(&f.name)),
                    (bulk("description"), f.description.as_deref().map_or(Reply::Nil, bulk)),
                    (bulk("flags"), Reply::Set(f.flags.iter().map(|n| Reply::Simple(n)).collect())),
                ])
            })
            .collect();
        let mut entry = vec![
            (bulk("library_name"), bulk(name)),
            (bulk("engine"), bulk("LUA")),
            (bulk("functions"), Reply::Array(functions)),
        ];
        if with_code {
            entry.push((bulk("library_code"), Reply::bulk(&lib.code)));
        }
        out.push(Reply::Map(entry));
    }
    Ok(Reply::Array(out))
}

fn function_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let running = match ctx.srv.scripts.state.running() {
        Some((name, argv, ms)) => Reply::Map(vec![
            (bulk("name"), bulk(&name)),
            (bulk("command"), Reply::Array(argv.into_iter().map(Reply::Bulk).collect())),
            (bulk("duration_ms"), Reply::Int(ms as i64)),
        ]),
        None => Reply::Nil,
    };
    let libs = ctx.srv.scripts.libraries.read();
    let lua = Reply::Map(vec![
        (bulk("libraries_count"), Reply::Int(libs.libs.len() as i64)),
        (bulk("functions_count"), Reply::Int(libs.function_count() as i64)),
    ]);
    Ok(Reply::Map(vec![(bulk("running_script"), running), (bulk("engines"), Reply::Map(vec![(bulk("LUA"), lua)]))]))
}

fn function_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ]))
}

const G: &str = "scripting";
const FCALL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | RUNS_SCRIPT;
const FCALL_KEYS: Keys = Keys::NumKeys { at: 2, step: 1 };

static FUNCTION_SUBS: &[CommandSpec] = &[
    spec("delete", 3, WRITE | NOSCRIPT | RUNS_SCRIPT, Keys::None, function_delete)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(G, "7.0.0", "Deletes a library and its functions.", "library-name")
        .complexity("O(1)"),
    spec("dump", 2, NOSCRIPT, Keys::None, function_dump)
        .doc(G, "7.0.0", "Dumps all libraries into a serialized binary payload.", "")
        .complexity("O(N) where N is the number of functions"),
    spec("flush", -2, WRITE | NOSCRIPT | RUNS_SCRIPT, Keys::None, function_flush)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(G, "7.0.0", "Deletes all libraries and functions.", "[flush-type:oneof(ASYNC|SYNC)]")
        .complexity("O(N) where N is the number of functions deleted"),
    spec("help", 2, LOADING | STALE, Keys::None, function_help)
        .doc(G, "7.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
    spec("kill", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, function_kill)
        .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
        .doc(G, "7.0.0", "Terminates a function during execution.", "")
        .complexity("O(1)"),
    spec("list", -2, NOSCRIPT, Keys::None, function_list)
        .tips(&["nondeterministic_output_order"])
        .doc(G, "7.0.0", "Returns information about all libraries.", "[LIBRARYNAME library-name-pattern] [WITHCODE]")
        .complexity("O(N) where N is the number of functions"),
    spec("load", -3, WRITE | DENYOOM | NOSCRIPT | RUNS_SCRIPT, Keys::None, function_load)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(G, "7.0.0", "Creates a library.", "[REPLACE] function-code")
        .complexity("O(1) (considering compilation time is redundant)"),
    spec("restore", -3, WRITE | DENYOOM | NOSCRIPT | RUNS_SCRIPT, Keys::None, function_restore)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            G,
            "7.0.0",
            "Restores all libraries from a payload.",
            "serialized-value [policy:oneof(FLUSH|APPEND|REPLACE)]",
        )
        .complexity("O(N) where N is the number of functions on the payload"),
    spec("stats", 2, NOSCRIPT | ALLOW_BUSY, Keys::None, function_stats)
        .tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        .doc(G, "7.0.0", "Returns information about a function during execution.", "")
        .complexity("O(1)"),
];

/// The functions family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("fcall", -3, FCALL_FLAGS, FCALL_KEYS, fcall)
        .key_notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")
        .rewritten()
        .key_flags(&["RW", "access", "update"])
        .doc(G, "7.0.0", "Invokes a function.", "function numkeys [key [key ...]] [arg [arg ...]]")
        .complexity("Depends on the function that is executed."),
    spec("fcall_ro", -3, FCALL_FLAGS | READONLY, FCALL_KEYS, fcall_ro)
        .key_notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")
        .key_flags(&["RO", "access"])
        .doc(G, "7.0.0", "Invokes a read-only function.", "function numkeys [key [key ...]] [arg [arg ...]]")
        .complexity("Depends on the function that is executed."),
    container("function", FUNCTION_SUBS).doc(G, "7.0.0", "A container for function commands.", ""),
];
