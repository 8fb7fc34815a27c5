//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH and the CLIENT container.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::keyspace::help_reply;
use super::{container, spec, CommandSpec, Keys};
use crate::engine::client::{cflags, ClientInfo, ReplyMode};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::{Protocol, Reply};
use bytes::Bytes;
use std::sync::atomic::Ordering;

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    // A RESP2 subscriber cannot tell a bare reply from a message, so PING answers in a message's shape.
    if args.len() <= 2 && ctx.client.subscriptions() > 0 && ctx.client.proto == crate::protocol::Protocol::Resp2 {
        let message = args.get(1).cloned().map_or(Reply::bulk_static(""), Reply::Bulk);
        return Ok(Reply::Array(vec![Reply::bulk_static("pong"), message]));
    }
    match args.len() {
        1 => Ok(Reply::Simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(CmdError::arity("ping")),
    }
}

fn echo(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Bulk(args[1].clone()))
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    ctx.client.close_after_reply = true;
    Ok(Reply::OK)
}

fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let n = int(&args[1])?;
    if n < 0 || n as usize >= ctx.srv.keyspace.db_count() {
        return Err(error::DB_INDEX_OUT_OF_RANGE);
    }
    ctx.client.select(n as usize);
    Ok(Reply::OK)
}

fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    super::transaction::reset(ctx);
    crate::commands::pubsub::unsubscribe_all(ctx.srv, ctx.client);
    ctx.srv.tracking.disable(ctx.client.info.id);
    ctx.client.tracking = false;
    ctx.client.caching = None;
    ctx.client.info.subs.store(0, Ordering::Relaxed);
    ctx.client.info.psubs.store(0, Ordering::Relaxed);
    ctx.client.info.ssubs.store(0, Ordering::Relaxed);
    ctx.client.select(0);
    ctx.client.proto = Protocol::Resp2;
    ctx.client.reply_mode = ReplyMode::On;
    let info = ctx.client.info.clone();
    if info.has_flag(cflags::MONITOR) {
        info.set_flag(cflags::MONITOR, false);
        ctx.srv.clients.monitors.fetch_sub(1, Ordering::Relaxed);
    }
    info.set_flag(cflags::NO_EVICT, false);
    *info.name.lock() = None;
    crate::engine::acl::reset_client(ctx.srv, ctx.client);
    Ok(Reply::Simple("RESET"))
}

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (user, pass) = match args.len() {
        2 => {
            if ctx.srv.acl.default_user_nopass() {
                return Err(error::AUTH_NOT_CONFIGURED);
            }
            (&b"default"[..], &args[1][..])
        }
        3 => (&args[1][..], &args[2][..]),
        _ => return Err(error::SYNTAX),
    };
    if crate::engine::acl::authenticate(ctx.srv, ctx.client, user, pass, &args[0]) {
        Ok(Reply::OK)
    } else {
        Err(error::WRONGPASS)
    }
}

fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

const BAD_NAME: CmdError = CmdError::fixed("ERR Client names cannot contain spaces, newlines or special characters.");

fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut ver = None;
    let mut j = 1;
    if let Some(v) = args.get(1) {
        let n = super::args::int_or(v, error::PROTOCOL_VERSION_NOT_INT)?;
        if !(2..=3).contains(&n) {
            return Err(error::NOPROTO);
        }
        ver = Some(n);
        j = 2;
    }
    let mut creds = None;
    let mut name = None;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "AUTH") && more >= 2 {
            creds = Some((args[j + 1].clone(), args[j + 2].clone()));
            j += 3;
        } else if is(&args[j], "SETNAME") && more >= 1 {
            if !valid_name(&args[j + 1]) {
                return Err(BAD_NAME);
            }
            name = Some(args[j + 1].clone());
            j += 2;
        } else {
            return Err(CmdError::err(format!("Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[j]))));
        }
    }
    if let Some((u, p)) = creds {
        if !crate::engine::acl::authenticate(ctx.srv, ctx.client, &u, &p, &args[0]) {
            return Err(error::WRONGPASS);
        }
    }
    if !ctx.client.authenticated && ctx.srv.hot.requirepass_set.load(Ordering::Relaxed) {
        return Err(CmdError::fixed("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        *ctx.client.info.name.lock() = (!n.is_empty()).then_some(n);
    }
    match ver {
        Some(3) => ctx.client.proto = Protocol::Resp3,
        Some(_) => ctx.client.proto = Protocol::Resp2,
        None => {}
    }
    let proto = if ctx.client.proto == Protocol::Resp3 { 3 } else { 2 };
    Ok(Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (Reply::bulk_static("version"), Reply::bulk_static(crate::REDIS_VERSION)),
        (Reply::bulk_static("proto"), Reply::Int(proto)),
        (Reply::bulk_static("id"), Reply::Int(ctx.client.info.id as i64)),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(vec![])),
    ]))
}

// ---- CLIENT ----

fn client_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.client.info.id as i64))
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if !valid_name(&args[2]) {
        return Err(BAD_NAME);
    }
    *ctx.client.info.name.lock() = (!args[2].is_empty()).then(|| args[2].clone());
    Ok(Reply::OK)
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.client.info.name.lock().clone().map_or(Reply::Nil, Reply::Bulk))
}

fn client_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut ids: Option<Vec<u64>> = None;
    let mut j = 2;
    while j < args.len() {
        if is(&args[j], "TYPE") && j + 1 < args.len() {
            let t = &args[j + 1];
            if !(is(t, "normal") || is(t, "master") || is(t, "replica") || is(t, "slave") || is(t, "pubsub")) {
                return Err(CmdError::err(format!("Unknown client type '{}'", String::from_utf8_lossy(t))));
            }
            if !is(t, "normal") {
                ids = Some(Vec::new());
            }
            j += 2;
        } else if is(&args[j], "ID") && j + 1 < args.len() {
            let mut v = Vec::new();
            for a in &args[j + 1..] {
                match crate::util::num::parse_i64(a) {
                    // Ids start at 1: zero or negative ids simply match nobody.
                    Some(n) => v.extend(u64::try_from(n).ok()),
                    None => return Err(CmdError::err("Invalid client ID")),
                }
            }
            ids = Some(v);
            j = args.len();
        } else {
            return Err(error::SYNTAX);
        }
    }
    let mut out = String::new();
    for c in ctx.srv.clients.all() {
        if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
            continue;
        }
        out.push_str(&c.list_line());
        out.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

fn client_info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let mut line = ctx.client.info.list_line();
    line.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(line)))
}

fn client_kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let me = ctx.client.info.id;
    if args.len() == 3 {
        // Old form: CLIENT KILL addr:port.
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let Some(c) = ctx.srv.clients.all().into_iter().find(|c| c.addr == addr) else {
            return Err(error::NO_SUCH_CLIENT);
        };
        kill(ctx, &c, me);
        return Ok(Reply::OK);
    }
    if !args.len().is_multiple_of(2) {
        return Err(error::SYNTAX);
    }
    let (mut id, mut addr, mut laddr, mut user, mut ctype, mut skipme) = (None, None, None, None, None, true);
    for pair in args[2..].chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        if is(k, "ID") {
            match crate::util::num::parse_i64(v) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Err(CmdError::err("client-id should be greater than 0")),
            }
        } else if is(k, "ADDR") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(k, "LADDR") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(k, "USER") {
            if ctx.srv.acl.user(v).is_none() {
                return Err(CmdError::no_such_user(v));
            }
            user = Some(v.clone());
        } else if is(k, "TYPE") {
            if !(is(v, "normal") || is(v, "master") || is(v, "replica") || is(v, "slave") || is(v, "pubsub")) {
                return Err(CmdError::err(format!("Unknown client type '{}'", String::from_utf8_lossy(v))));
            }
            ctype = Some(is(v, "normal"));
        } else if is(k, "SKIPME") {
            skipme = if is(v, "yes") {
                true
            } else if is(v, "no") {
                false
            } else {
                return Err(error::SYNTAX);
            };
        } else {
            return Err(error::SYNTAX);
        }
    }
    let mut killed = 0;
    for c in ctx.srv.clients.all() {
        if id.is_some_and(|i| i != c.id)
            || user.as_ref().is_some_and(|u| *u != *c.user.lock())
            || addr.as_ref().is_some_and(|a| *a != c.addr)
            || laddr.as_ref().is_some_and(|a| *a != c.laddr)
            || ctype == Some(false)
            || (skipme && c.id == me)
        {
            continue;
        }
        kill(ctx, &c, me);
        killed += 1;
    }
    Ok(Reply::Int(killed))
}

fn kill(ctx: &mut Ctx<'_>, c: &ClientInfo, me: u64) {
    if c.id == me {
        ctx.client.close_after_reply = true;
    } else {
        // Gone from CLIENT LIST at once; its task closes the socket without running anything more.
        c.kill();
        ctx.srv.clients.unregister(c.id);
    }
}

fn client_setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let (attr, val) = (&args[2], &args[3]);
    let slot = if is(attr, "lib-name") {
        if !valid_name(val) {
            return Err(CmdError::err("lib-name cannot contain spaces, newlines or special characters."));
        }
        &ctx.client.info.lib_name
    } else if is(attr, "lib-ver") {
        if !valid_name(val) {
            return Err(CmdError::err("lib-ver cannot contain spaces, newlines or special characters."));
        }
        &ctx.client.info.lib_ver
    } else {
        return Err(CmdError::err(format!("Unrecognized option '{}'", String::from_utf8_lossy(attr))));
    };
    *slot.lock() = (!val.is_empty()).then(|| val.clone());
    Ok(Reply::OK)
}

fn client_no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let on = if is(&args[2], "on") {
        true
    } else if is(&args[2], "off") {
        false
    } else {
        return Err(error::SYNTAX);
    };
    ctx.client.info.set_flag(cflags::NO_EVICT, on);
    Ok(Reply::OK)
}

fn client_reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let a = &args[2];
    if is(a, "on") {
        ctx.client.reply_mode = ReplyMode::On;
    } else if is(a, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(a, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(error::SYNTAX);
    }
    Ok(Reply::OK)
}

fn client_pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let ms = int(&args[2]).map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(error::TIMEOUT_NEGATIVE);
    }
    let writes_only = match args.get(3) {
        None => false,
        Some(a) if is(a, "WRITE") => true,
        Some(a) if is(a, "ALL") => false,
        Some(_) => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let until = ctx.now_ms.saturating_add(ms as u64);
    let mut p = ctx.srv.pause.lock();
    // A longer or stricter pause wins, as in Redis.
    if until > p.until_ms || (!writes_only && p.writes_only) {
        p.until_ms = p.until_ms.max(until);
        p.writes_only = writes_only && (p.writes_only || p.until_ms == until);
    }
    Ok(Reply::OK)
}

fn client_unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    *ctx.srv.pause.lock() = Default::default();
    ctx.srv.unpaused.notify_waiters();
    Ok(Reply::OK)
}

fn client_unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let id = int(&args[2])?;
    let as_error = match args.get(3) {
        None => false,
        Some(a) if is(a, "TIMEOUT") => false,
        Some(a) if is(a, "ERROR") => true,
        Some(_) => return Err(CmdError::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let Some(w) = u64::try_from(id).ok().and_then(|id| ctx.srv.blocking.of_client(id)) else {
        return Ok(Reply::Int(0));
    };
    if !w.claim() {
        return Ok(Reply::Int(0));
    }
    ctx.srv.blocking.remove(&w);
    w.send(if as_error {
        Reply::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    } else {
        w.op.timeout_reply()
    });
    Ok(Reply::Int(1))
}

fn client_tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    use crate::engine::tracking::TrackingMode;
    let on = if is(&args[2], "on") {
        true
    } else if is(&args[2], "off") {
        false
    } else {
        return Err(error::SYNTAX);
    };
    let mut mode = TrackingMode::default();
    let mut j = 3;
    while j < args.len() {
        let a = &args[j];
        if is(a, "REDIRECT") && j + 1 < args.len() {
            let id = int(&args[j + 1])?;
            if id != ctx.client.info.id as i64 && u64::try_from(id).ok().and_then(|i| ctx.srv.clients.get(i)).is_none()
            {
                return Err(CmdError::err("The client ID you want redirect to does not exist"));
            }
            mode.redirect = id as u64;
            j += 2;
        } else if is(a, "PREFIX") && j + 1 < args.len() {
            mode.prefixes.push(args[j + 1].clone());
            j += 2;
        } else if is(a, "BCAST") {
            mode.bcast = true;
            j += 1;
        } else if is(a, "OPTIN") {
            mode.optin = true;
            j += 1;
        } else if is(a, "OPTOUT") {
            mode.optout = true;
            j += 1;
        } else if is(a, "NOLOOP") {
            mode.noloop = true;
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let id = ctx.client.info.id;
    if !on {
        ctx.srv.tracking.disable(id);
        ctx.client.tracking = false;
        ctx.client.caching = None;
        return Ok(Reply::OK);
    }
    if !mode.prefixes.is_empty() && !mode.bcast {
        return Err(CmdError::err("PREFIX option requires BCAST mode to be enabled"));
    }
    if mode.optin && mode.optout {
        return Err(CmdError::err("You can't specify both OPTIN mode and OPTOUT mode"));
    }
    for (i, a) in mode.prefixes.iter().enumerate() {
        for b in &mode.prefixes[i + 1..] {
            if a.starts_with(b) || b.starts_with(a) {
                let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
                return Err(CmdError::err(format!(
                    "Prefix '{a}' overlaps with another provided prefix '{b}'. Prefixes for a single client must not overlap."
                )));
            }
        }
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(CmdError::err("OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if let Some(cur) = ctx.srv.tracking.mode(id) {
        if cur.bcast != mode.bcast {
            return Err(CmdError::err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if (cur.optin && mode.optout) || (cur.optout && mode.optin) {
            return Err(CmdError::err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        // Turning tracking on again adds prefixes to those already registered.
        let mut prefixes = cur.prefixes;
        prefixes.extend(mode.prefixes.iter().filter(|p| !prefixes.contains(p)).cloned().collect::<Vec<_>>());
        mode.prefixes = prefixes;
    }
    ctx.srv.tracking.enable(id, mode);
    ctx.client.tracking = true;
    Ok(Reply::OK)
}

fn client_caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(mode) = ctx.srv.tracking.mode(ctx.client.info.id) else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if is(&args[2], "yes") {
        if !mode.optin {
            return Err(CmdError::err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
        ctx.client.caching = Some(true);
    } else if is(&args[2], "no") {
        if !mode.optout {
            return Err(CmdError::err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
        ctx.client.caching = Some(false);
    } else {
        return Err(error::SYNTAX);
    }
    Ok(Reply::OK)
}

fn client_getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(ctx.srv.tracking.mode(ctx.client.info.id).map_or(-1, |m| m.redirect as i64)))
}

fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    let mode = ctx.srv.tracking.mode(ctx.client.info.id);
    let mut flags = Vec::new();
    let (redirect, prefixes) = match &mode {
        None => {
            flags.push(Reply::bulk_static("off"));
            (-1, Vec::new())
        }
        Some(m) => {
            flags.push(Reply::bulk_static("on"));
            for (set, name) in [(m.bcast, "bcast"), (m.optin, "optin"), (m.optout, "optout"), (m.noloop, "noloop")] {
                if set {
                    flags.push(Reply::bulk_static(name));
                }
            }
            match ctx.client.caching {
                Some(true) => flags.push(Reply::bulk_static("caching-yes")),
                Some(false) => flags.push(Reply::bulk_static("caching-no")),
                None => {}
            }
            if m.redirect != 0 && ctx.srv.clients.get(m.redirect).is_none() {
                flags.push(Reply::bulk_static("broken_redirect"));
            }
            (m.redirect as i64, m.prefixes.iter().cloned().map(Reply::Bulk).collect())
        }
    };
    Ok(Reply::Map(vec![
        (Reply::bulk_static("flags"), Reply::Set(flags)),
        (Reply::bulk_static("redirect"), Reply::Int(redirect)),
        (Reply::bulk_static("prefixes"), Reply::Array(prefixes)),
    ]))
}

fn client_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix>] [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
    ]))
}

const G: &str = "connection";
const CONN: u32 = NOSCRIPT | LOADING | STALE | KEEPS_CACHING;

static CLIENT_SUBS: &[CommandSpec] = &[
    spec("id", 2, CONN, Keys::None, client_id).doc(G, "5.0.0", "Returns the unique client ID of the connection.", "").complexity("O(1)"),
    spec("setname", 3, CONN, Keys::None, client_setname).doc(G, "2.6.9", "Sets the connection name.", "connection-name").complexity("O(1)"),
    spec("getname", 2, CONN, Keys::None, client_getname).doc(G, "2.6.9", "Returns the name of the connection.", "").complexity("O(1)"),
    spec("list", -2, ADMIN | CONN, Keys::None, client_list).tips(&["nondeterministic_output"]).doc(G, "2.4.0", "Lists open connections.", "[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id:integer [client-id:integer ...]]").complexity("O(N) where N is the number of client connections"),
    spec("info", 2, CONN, Keys::None, client_info).tips(&["nondeterministic_output"]).doc(G, "6.2.0", "Returns information about the connection.", "").complexity("O(1)"),
    spec("kill", -3, ADMIN | CONN, Keys::None, client_kill).doc(G, "2.4.0", "Terminates open connections.", "<filter=ip:port | <new-format=[ID client-id:integer] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO]>>").complexity("O(N) where N is the number of client connections"),
    spec("setinfo", 4, CONN, Keys::None, client_setinfo).doc(G, "7.2.0", "Sets information specific to the client or connection.", "<attr=LIB-NAME libname | LIB-VER libver>").complexity("O(1)"),
    spec("no-evict", 3, ADMIN | CONN, Keys::None, client_no_evict).doc(G, "7.0.0", "Sets the client eviction mode of the connection.", "<enabled=ON | OFF>").complexity("O(1)"),
    spec("reply", 3, CONN, Keys::None, client_reply).doc(G, "3.2.0", "Instructs the server whether to reply to commands.", "<action=ON | OFF | SKIP>").complexity("O(1)"),
    spec("pause", -3, ADMIN | CONN, Keys::None, client_pause).doc(G, "2.9.50", "Suspends commands processing.", "timeout:integer [mode=WRITE | ALL]").complexity("O(1)"),
    spec("unpause", 2, ADMIN | CONN, Keys::None, client_unpause).doc(G, "6.2.0", "Resumes processing commands from paused clients.", "").complexity("O(N) Where N is the number of paused clients"),
    spec("tracking", -3, CONN, Keys::None, client_tracking).doc(G, "6.0.0", "Controls server-assisted client-side caching for the connection.", "<status=ON | OFF> [REDIRECT client-id:integer] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]").complexity("O(1). Some options may introduce additional complexity."),
    spec("caching", 3, CONN, Keys::None, client_caching).doc(G, "6.0.0", "Instructs the server whether to track the keys in the next request.", "<mode=YES | NO>").complexity("O(1)"),
    spec("getredir", 2, CONN, Keys::None, client_getredir).doc(G, "6.0.0", "Returns the client ID to which the connection's tracking notifications are redirected.", "").complexity("O(1)"),
    spec("trackinginfo", 2, CONN, Keys::None, client_trackinginfo).doc(G, "6.2.0", "Returns information about server-assisted client-side caching for the connection.", "").complexity("O(1)"),
    spec("unblock", -3, ADMIN | CONN, Keys::None, client_unblock).doc(G, "5.0.0", "Unblocks a client blocked by a blocking command from a different connection.", "client-id:integer [unblock-type=TIMEOUT | ERROR]").complexity("O(log N) where N is the number of client connections"),
    spec("help", 2, LOADING | STALE | KEEPS_CACHING, Keys::None, client_help).doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "").complexity("O(1)"),
];

/// The connection family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST | SUBSCRIBER_OK | REPORTS_DISK_ERROR, Keys::None, ping)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(G, "1.0.0", "Returns the server's liveliness response.", "[message]")
        .complexity("O(1)"),
    spec("echo", 2, FAST, Keys::None, echo).doc(G, "1.0.0", "Returns the given string.", "message").complexity("O(1)"),
    spec(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SUBSCRIBER_OK | TXN_CONTROL,
        Keys::None,
        quit,
    )
    .doc(G, "1.0.0", "Closes the connection.", "")
    .complexity("O(1)"),
    spec(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | SUBSCRIBER_OK | TXN_CONTROL,
        Keys::None,
        reset,
    )
    .doc(G, "6.2.0", "Resets the connection.", "")
    .complexity("O(1)"),
    spec("select", 2, LOADING | STALE | FAST | SWITCHES_DB, Keys::None, select)
        .doc(G, "1.0.0", "Changes the selected database.", "index:integer")
        .complexity("O(1)"),
    spec("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, Keys::None, auth)
        .doc(G, "1.0.0", "Authenticates the connection.", "[username] password")
        .complexity("O(N) where N is the number of passwords defined for the user"),
    spec("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, Keys::None, hello)
        .doc(
            G,
            "6.0.0",
            "Handshakes with the Redis server.",
            "[arguments=protover:integer [AUTH username password] [SETNAME clientname]]",
        )
        .complexity("O(1)"),
    container("client", CLIENT_SUBS).doc(G, "2.4.0", "A container for client connection commands.", ""),
];
