//! Server commands: INFO, CONFIG, TIME, DEBUG, MONITOR, SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, SHUTDOWN.

use super::args::{is, text};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::config::SetError;
use crate::engine::client::cflags;
use crate::engine::state::ShutdownRequest;
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;
use std::fmt::Write;
use std::sync::atomic::Ordering;

fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let sections: Vec<String> = args[1..].iter().map(|a| text(a).to_ascii_lowercase()).collect();
    let body = crate::info::render(ctx.srv, &sections);
    Ok(Reply::Verbatim("txt", Bytes::from(body)))
}

// ---- CONFIG ----

fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let cfg = ctx.srv.config.read();
    let mut seen = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for pat in &args[2..] {
        for (p, name, value) in cfg.matching(pat) {
            if seen.insert(name.to_ascii_lowercase()) {
                // The value of `dir` is wherever the process is now, as Redis reports it.
                let value = if p.id == crate::config::Id::Dir {
                    std::env::current_dir().map(|d| d.display().to_string()).unwrap_or(value)
                } else {
                    value
                };
                pairs.push((Reply::bulk_string(name), Reply::bulk_string(value)));
            }
        }
    }
    Ok(Reply::Map(pairs))
}

/// CONFIG SET: the registry checks and parses every pair, then the engine's hooks apply them in order; the
/// config lock is held throughout, so two CONFIG SETs never interleave. Hot paths never take that lock.
fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if !args.len().is_multiple_of(2) {
        return Err(error::SYNTAX);
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks(2).map(|c| (&c[0][..], &c[1][..])).collect();
    let protected_ok =
        crate::config::allows(ctx.srv.hot.protected_configs.load(Ordering::Relaxed), ctx.client.info.is_local);
    let mut cfg = ctx.srv.config.write();
    match cfg.set_many(&pairs, protected_ok, &crate::engine::hot::Hooks(ctx.srv)) {
        Ok(()) => Ok(Reply::OK),
        Err(SetError::Unknown(name)) => {
            Err(CmdError::err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'")))
        }
        Err(SetError::Failed { arg, why }) => {
            Err(CmdError::err(format!("CONFIG SET failed (possibly related to argument '{arg}') - {why}")))
        }
    }
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.stats.reset();
    for s in &ctx.srv.command_stats {
        s.reset();
    }
    Ok(Reply::OK)
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.srv.config.read().rewrite().map_err(CmdError::err)?;
    Ok(Reply::OK)
}

fn config_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ]))
}

fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let _ = ctx;
    let us = crate::util::clock::unix_us();
    Ok(Reply::Array(vec![
        Reply::bulk_string((us / 1_000_000).to_string()),
        Reply::bulk_string((us % 1_000_000).to_string()),
    ]))
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.lastsave_unix.load(Ordering::Relaxed) as i64))
}

/// Redis answers a failed SAVE with its bare shared error, `-ERR`; the reason goes to the log.
const SAVE_FAILED: CmdError = CmdError::fixed("ERR");

fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    use crate::engine::persistence::SaveError;
    match ctx.srv.save_foreground() {
        Ok(()) => Ok(Reply::OK),
        Err(SaveError::InProgress) => Err(error::BGSAVE_IN_PROGRESS),
        Err(_) => Err(SAVE_FAILED),
    }
}

/// BGREWRITEAOF: the change log's new base is a snapshot, so this starts (or schedules) a BGSAVE.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.srv.changelog.shared.rewriting.load(Ordering::Relaxed)
        && ctx.srv.persistence.bgsave_in_progress.load(Ordering::Relaxed)
    {
        return Err(CmdError::err("Background append only file rewriting already in progress"));
    }
    if ctx.srv.rewrite_changelog() {
        Ok(Reply::Simple("Background append only file rewriting started"))
    } else {
        Ok(Reply::Simple("Background append only file rewriting scheduled"))
    }
}

fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use crate::engine::persistence::SaveError;
    let schedule = match args.get(1) {
        None => false,
        Some(a) if args.len() == 2 && is(a, "SCHEDULE") => true,
        Some(_) => return Err(error::SYNTAX),
    };
    match ctx.srv.start_bgsave() {
        Ok(()) => Ok(Reply::Simple("Background saving started")),
        Err(SaveError::InProgress) if schedule => {
            ctx.srv.persistence.bgsave_scheduled.store(true, Ordering::Relaxed);
            Ok(Reply::Simple("Background saving scheduled"))
        }
        Err(SaveError::InProgress) => Err(error::BGSAVE_IN_PROGRESS),
        Err(SaveError::NoBackground) => Err(CmdError::err("Background saving is not available in this server")),
        Err(SaveError::Io(e)) => Err(CmdError::err(format!("Background saving failed: {e}"))),
    }
}

fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.caller != super::ctx::Caller::Client {
        return Err(CmdError::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    let info = ctx.client.info.clone();
    if !info.has_flag(cflags::MONITOR) {
        info.set_flag(cflags::MONITOR, true);
        ctx.srv.clients.monitors.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Reply::OK)
}

fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut req = ShutdownRequest::default();
    let mut abort = false;
    for a in &args[1..] {
        if is(a, "NOSAVE") {
            req.save = Some(false);
        } else if is(a, "SAVE") {
            req.save = Some(true);
        } else if is(a, "NOW") {
            req.now = true;
        } else if is(a, "FORCE") {
            req.force = true;
        } else if is(a, "ABORT") {
            abort = true;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if abort {
        if args.len() > 2 {
            return Err(error::SYNTAX);
        }
        return Err(CmdError::err("No shutdown in progress."));
    }
    if req.save == Some(true) && args.iter().skip(1).any(|a| is(a, "NOSAVE")) {
        return Err(error::SYNTAX);
    }
    tracing::warn!("User requested shutdown...");
    // As Redis's prepareForShutdown: save when save points are set (or SAVE asks), unless NOSAVE; a failed save
    // keeps the server running unless FORCE.
    let save = req.save.unwrap_or_else(|| ctx.srv.hot.save_points.load(Ordering::Relaxed));
    if save {
        tracing::info!("Saving the final snapshot before exiting.");
        if ctx.srv.save_now().is_err() && !req.force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
        }
    }
    ctx.srv.request_shutdown(req);
    // Redis sends no reply: the connection just closes.
    ctx.client.reply_mode = crate::engine::client::ReplyMode::Off;
    ctx.client.close_after_reply = true;
    Ok(Reply::OK)
}

// ---- DEBUG ----

/// DEBUG DIGEST: every database's keys, visiting one shard at a time (or through the locks EXEC holds: the row's
/// `VISITS_ALL` makes a queued DEBUG lock everything).
fn dataset_digest(ctx: &mut Ctx<'_>) -> String {
    use crate::store::digest;
    let now = ctx.now_ms;
    let mut acc = [0u8; 20];
    let ks = &ctx.srv.keyspace;
    for db in 0..ks.db_count() {
        for s in 0..ks.shard_count() {
            ctx.with_shard(db, s, |sh, _| digest::add_shard(&mut acc, db, sh, now));
        }
    }
    digest::hex(&acc)
}

/// DEBUG DIGEST-VALUE for one key of the selected database: zeros when it does not exist.
fn value_digest(ctx: &mut Ctx<'_>, key: &[u8]) -> String {
    use crate::store::digest;
    let (db, now) = (ctx.db(), ctx.now_ms);
    let h = crate::store::hash_key(key);
    let shard = ctx.srv.keyspace.shard_of(h);
    let d = ctx.with_shard(db, shard, |sh, _| {
        let i = sh.data.find(h, key)?;
        let (e, at) = (sh.data.entry(i)?, sh.data.expire_at(i));
        (at == 0 || at > now).then(|| digest::value_digest(e, at))
    });
    digest::hex(&d.unwrap_or([0u8; 20]))
}

fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let sub = &args[1];
    let n = args.len();
    if is(sub, "HELP") {
        return Ok(help_reply(&[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Accepted and checked; Strata's lists store every element on its own (as Redis's plain nodes).",
            "PAUSE-CRON <0|1>",
            "    Stop periodic cron job processing.",
            "SET-DISABLE-DENY-SCRIPTS <0|1>",
            "    Disable or enable the check that refuses commands flagged 'noscript' in scripts.",
            "PANIC",
            "    Panic inside the command handler (the server answers with an error and keeps running).",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
        ]));
    }
    if is(sub, "DIGEST") && n == 2 {
        return Ok(Reply::SimpleOwned(dataset_digest(ctx)));
    }
    if is(sub, "DIGEST-VALUE") {
        let replies = args[2..].iter().map(|k| Reply::SimpleOwned(value_digest(ctx, k))).collect();
        return Ok(Reply::Array(replies));
    }
    if is(sub, "SLEEP") && n == 3 {
        let secs = crate::util::num::parse_f64(&args[2]).unwrap_or(0.0).max(0.0);
        // Slept in slices so a shutdown (SIGTERM, or SHUTDOWN from another worker) ends the sleep early.
        let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs.min(3600.0));
        while !ctx.srv.is_shutting_down() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
        }
        return Ok(Reply::OK);
    }
    if is(sub, "PANIC") && n == 2 {
        // Redis crashes here on purpose; Strata's panic boundary turns it into an error reply, which is what
        // this subcommand exists to demonstrate and test.
        #[allow(clippy::panic)]
        {
            panic!("DEBUG PANIC requested by client");
        }
    }
    if is(sub, "SET-DISABLE-DENY-SCRIPTS") && n == 3 {
        ctx.srv.scripts_may_call_any.store(super::args::int(&args[2])? != 0, Ordering::Relaxed);
        return Ok(Reply::OK);
    }
    if is(sub, "PROTOCOL") && n == 3 {
        return debug_protocol(ctx, &args[2]);
    }
    if is(sub, "QUICKLIST-PACKED-THRESHOLD") && n == 3 {
        // Redis stores list elements past this size in nodes of their own. Strata's lists keep every element as
        // its own buffer already, so only the argument is checked, with Redis's bounds and error.
        let ok = crate::util::num::parse_memory(&args[2]).is_some_and(|sz| sz <= (1u64 << 32) - (1 << 20));
        if !ok {
            return Err(CmdError::err("argument must be a memory value bigger than 1 and smaller than 4gb"));
        }
        return Ok(Reply::OK);
    }
    if is(sub, "PAUSE-CRON") && n == 3 {
        ctx.srv.cron_paused.store(super::args::int(&args[2])? != 0, Ordering::Relaxed);
        return Ok(Reply::OK);
    }
    if is(sub, "SET-ACTIVE-EXPIRE") && n == 3 {
        ctx.srv.active_expire.store(super::args::int(&args[2])? != 0, Ordering::Relaxed);
        return Ok(Reply::OK);
    }
    if is(sub, "OBJECT") && n == 3 {
        let lru_now = ctx.srv.lru_clock();
        let Some(e) = ctx.peek(&args[2]) else { return Err(error::NO_SUCH_KEY) };
        let line = format!(
            "Value at:0x{:x} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            e as *const _ as usize,
            e.value.encoding(),
            e.value.heap_bytes().max(1),
            e.access,
            lru_now.saturating_sub(e.access)
        );
        return Ok(Reply::SimpleOwned(line));
    }
    Err(CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
        crate::error::truncate_lossy(sub, 128)
    )))
}

/// DEBUG PROTOCOL: one reply of the named type, for testing clients and the script conversions (Redis's texts).
fn debug_protocol(ctx: &mut Ctx<'_>, name: &[u8]) -> CmdResult<Reply> {
    let resp3 = ctx.client.proto == crate::protocol::Protocol::Resp3;
    let three = || (0..3).map(Reply::Int).collect::<Vec<_>>();
    Ok(match name.to_ascii_lowercase().as_slice() {
        b"string" => Reply::bulk_static("Hello World"),
        b"integer" => Reply::Int(12345),
        // Redis's test value, not pi.
        #[allow(clippy::approx_constant)]
        b"double" => Reply::Double(3.141),
        b"bignum" => Reply::BigNum("1234567999999999999999999999999999999".into()),
        b"null" => Reply::Nil,
        b"array" => Reply::Array(three()),
        b"set" => Reply::Set(three()),
        b"map" => Reply::Map((0..3).map(|j| (Reply::Int(j), Reply::Bool(j == 1))).collect()),
        b"attrib" => {
            let real = Box::new(Reply::bulk_static("Some real reply following the attribute"));
            let popularity = Reply::Array(vec![Reply::bulk_static("key:123"), Reply::Int(90)]);
            Reply::Attributed(
                if resp3 { vec![(Reply::bulk_static("key-popularity"), popularity)] } else { vec![] },
                real,
            )
        }
        b"push" if !resp3 => return Err(CmdError::err("RESP2 is not supported by this command")),
        // A push is not a reply, so a real one follows for clients that set pushes aside.
        b"push" => Reply::Sequence(vec![
            Reply::Push(vec![Reply::bulk_static("server-cpu-usage"), Reply::Int(42)]),
            Reply::bulk_static("Some real reply following the push reply"),
        ]),
        b"true" => Reply::Bool(true),
        b"false" => Reply::Bool(false),
        b"verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: \
                 string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    })
}

/// Formats INFO-style `key:value` lines (shared with the `info` module).
pub fn line(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{key}:{value}\r");
}

const G: &str = "server";

static CONFIG_SUBS: &[CommandSpec] = &[
    spec("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, Keys::None, config_get)
        .doc(G, "2.0.0", "Returns the effective values of configuration parameters.", "parameter [parameter ...]")
        .complexity("O(N) when N is the number of configuration parameters provided"),
    spec("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, Keys::None, config_set)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(G, "2.0.0", "Sets configuration parameters in-flight.", "parameter value [parameter value ...]")
        .complexity("O(N) when N is the number of configuration parameters provided"),
    spec("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, Keys::None, config_resetstat)
        .doc(G, "2.0.0", "Resets the server's statistics.", "")
        .complexity("O(1)"),
    spec("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, Keys::None, config_rewrite)
        .doc(G, "2.8.0", "Persists the effective configuration to file.", "")
        .complexity("O(1)"),
    spec("help", 2, LOADING | STALE, Keys::None, config_help)
        .doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

/// The server family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("info", -1, LOADING | STALE, Keys::None, info)
        .tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        .acl(&["dangerous"])
        .doc(G, "1.0.0", "Returns information and statistics about the server.", "[section [section ...]]")
        .complexity("O(1)"),
    container("config", CONFIG_SUBS).doc(G, "2.0.0", "A container for server configuration commands.", ""),
    spec("time", 1, LOADING | STALE | FAST, Keys::None, time)
        .tips(&["nondeterministic_output"])
        .doc(G, "2.6.0", "Returns the server time.", "")
        .complexity("O(1)"),
    spec("lastsave", 1, LOADING | STALE | FAST, Keys::None, lastsave)
        .tips(&["nondeterministic_output"])
        .acl(&["admin", "dangerous"])
        .doc(G, "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", "")
        .complexity("O(1)"),
    spec("save", 1, ADMIN | NOSCRIPT | NO_MULTI, Keys::None, save)
        .doc(G, "1.0.0", "Synchronously saves the database(s) to disk.", "")
        .complexity("O(N) where N is the total number of keys in all databases"),
    spec("bgsave", -1, ADMIN | NOSCRIPT, Keys::None, bgsave)
        .doc(G, "1.0.0", "Asynchronously saves the database(s) to disk.", "[SCHEDULE]")
        .complexity("O(1)"),
    spec("bgrewriteaof", 1, ADMIN | NOSCRIPT, Keys::None, bgrewriteaof)
        .doc(G, "1.0.0", "Asynchronously rewrites the append-only file to disk.", "")
        .complexity("O(1)"),
    spec("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, Keys::None, monitor).doc(
        G,
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        "",
    ),
    spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, Keys::None, shutdown)
        .doc(
            G,
            "1.0.0",
            "Synchronously saves the database(s) to disk and shuts down the Redis server.",
            "[save-selector=NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
        )
        .complexity(
            "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        ),
    spec("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED | VISITS_ALL, Keys::None, debug)
        .doc(G, "1.0.0", "A container for debugging commands.", "subcommand [argument [argument ...]]")
        .complexity("Depends on subcommand."),
];
