//! The one gate every command passes, whoever sends it.
//!
//! Order of checks (as Redis's `processCommand`): the command exists, arity, protected commands (DEBUG),
//! authentication, ACL permissions (`acl::check_command`), RESP2 subscribed mode, MULTI queueing, eviction and
//! OOM, CLIENT PAUSE. What a command brings to the gate comes from its row's flags, never from its name. Then [`call`] locks the
//! shards the command names, runs the handler inside a panic boundary, records statistics, and hands the write
//! effect to the stream while the shards are still locked.

use super::table::{flags, table, Command, Effect, Lookup};
use crate::engine::client::{cflags, MultiState, Session};
use crate::engine::ctx::{Caller, Ctx};
use crate::engine::state::Server;
use crate::error::{self, CmdError};
use crate::protocol::Reply;
use bytes::Bytes;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

/// What dispatching one command produced.
#[derive(Debug)]
pub enum Outcome {
    /// Send this reply.
    Reply(Reply),
    /// Clients are paused until this unix ms; wait and dispatch the command again.
    Paused(u64),
    /// A blocking command found no data: wait for the reply (or the timeout).
    Block(Blocked),
    /// The command needs the Lua VM: hand the session and the command to the script thread
    /// (`engine::script::offload`), which runs it through this gate again and returns the outcome.
    Offload,
}

/// A client parked by a blocking command.
#[derive(Debug)]
pub struct Blocked {
    pub waiter: std::sync::Arc<crate::engine::blocking::Waiter>,
    pub rx: tokio::sync::oneshot::Receiver<Reply>,
    pub timeout: Option<std::time::Duration>,
}

/// Redis formats these with `%s`, so text stops at the first NUL byte.
fn c_str(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |p| &a[..p])
}

fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut list = String::new();
    for a in args.iter().skip(1) {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push('\'');
        list.push_str(&error::truncate_lossy(c_str(a), room));
        list.push_str("' ");
    }
    let name = args.first().map(|n| error::truncate_lossy(c_str(n), 128)).unwrap_or_default();
    CmdError::err(format!("unknown command '{name}', with args beginning with: {list}"))
}

/// Resolves argv and applies the checks that do not depend on the caller's transaction state.
///
/// # Errors
/// Redis's texts for unknown commands and subcommands and wrong arity.
pub fn resolve(args: &[Bytes]) -> Result<&'static Command, CmdError> {
    match table().lookup(args) {
        Lookup::Found(cmd) => {
            if !cmd.spec.arity_ok(args.len()) {
                return Err(CmdError::arity(&cmd.full_name));
            }
            Ok(cmd)
        }
        Lookup::UnknownSub(cmd) => Err(CmdError::unknown_subcommand(&args[1], cmd.spec.name)),
        Lookup::Unknown => Err(unknown_command(args)),
    }
}

fn reject(srv: &Server, client: &mut Session, cmd: Option<&Command>, err: CmdError) -> Outcome {
    if let Some(m) = client.multi.as_mut() {
        m.failed = true;
    }
    if let Some(c) = cmd {
        srv.stats_of(c).record_rejected();
        // A rejected EXEC aborts the transaction, and says so (Redis's execCommandAbort).
        if c.spec.has(flags::RUNS_QUEUE) {
            client.end_multi();
            client.unwatch_all(srv);
            let err = CmdError::raw(format!(
                "EXECABORT Transaction discarded because of: {}",
                err.0.strip_prefix("ERR ").unwrap_or(&err.0)
            ));
            srv.stats.count_error(err.code());
            return Outcome::Reply(Reply::Error(err.0.into_owned()));
        }
    }
    srv.stats.count_error(err.code());
    Outcome::Reply(Reply::Error(err.0.into_owned()))
}

/// Executes one command for `client`: the gate, then the command. Every caller goes through here.
pub fn execute(srv: &Server, client: &mut Session, args: &[Bytes]) -> Outcome {
    let cmd = match resolve(args) {
        Ok(c) => c,
        Err(e) => {
            let cmd = srv.table.lookup(args);
            let c = match cmd {
                Lookup::Found(c) => Some(c),
                _ => None,
            };
            return reject(srv, client, c, e);
        }
    };
    let spec = cmd.spec;
    if srv.tracking.clients() > 0 {
        srv.tracking.enforce_limit(&srv.clients, &srv.pubsub);
    }
    if !client.replaying {
        if let Some(refused) = admit(srv, client, cmd, args) {
            return refused;
        }
    }
    if client.multi.is_some() && !spec.has(flags::TXN_CONTROL) {
        if spec.has(flags::NO_MULTI) {
            return reject(srv, client, Some(cmd), error::NOT_ALLOWED_IN_MULTI);
        }
        if spec.has(flags::DENYOOM) && !client.replaying && !srv.perform_evictions() {
            return reject(srv, client, Some(cmd), error::OOM);
        }
        if let Some(m) = client.multi.as_mut() {
            m.queue.push(args.to_vec());
            client.info.multi_len.store(m.queue.len() as u64, Ordering::Relaxed);
            let bytes: usize = args.iter().map(|a| a.len() + std::mem::size_of::<Bytes>()).sum();
            client.info.multi_mem.fetch_add(bytes, Ordering::Relaxed);
        }
        return Outcome::Reply(Reply::Simple("QUEUED"));
    }
    let runs_queue = spec.has(flags::RUNS_QUEUE);
    let denyoom = spec.has(flags::DENYOOM) || runs_queue && queue_has(client.multi.as_ref(), flags::DENYOOM);
    // As Redis, every command evicts first when over maxmemory (EVAL too: the commands its script runs do not),
    // and only those that may grow memory are refused when nothing more can go.
    client.pre_command_oom = !client.replaying && !srv.perform_evictions();
    if client.pre_command_oom && denyoom {
        return reject(srv, client, Some(cmd), error::OOM);
    }
    let now = crate::util::clock::unix_ms();
    // CLIENT PAUSE WRITE holds every command that may propagate: writes, and PUBLISH/PFCOUNT (may-replicate).
    let is_write = spec.has(flags::WRITE)
        || spec.has(flags::MAY_REPLICATE)
        || runs_queue && queue_has(client.multi.as_ref(), flags::WRITE | flags::MAY_REPLICATE);
    if (!spec.has(flags::NO_AUTH) || runs_queue) && !client.replaying {
        if let Some(until) = srv.paused_for(is_write, now) {
            return Outcome::Paused(until);
        }
    }
    if (spec.has(flags::RUNS_SCRIPT) || runs_queue && queue_has(client.multi.as_ref(), flags::RUNS_SCRIPT))
        && !crate::engine::script::on_script_thread()
    {
        if client.offload_scripts {
            return Outcome::Offload;
        }
        return crate::engine::script::run_and_wait(srv, client, args);
    }
    if spec.has(flags::RUNS_SCRIPT) && spec.has(flags::SKIP_MONITOR) && srv.clients.monitors.load(Ordering::Relaxed) > 0
    {
        // Before it runs, so that the commands its script issues follow it in MONITOR, as Redis feeds EVAL/FCALL.
        feed_monitors(srv, client, args);
    }
    client.info.last_cmd.store(cmd.id as u32, Ordering::Relaxed);
    let mut ctx = Ctx::new(srv, client, Caller::Client);
    plan_locks(&mut ctx, cmd, args);
    if ctx.yielded {
        // A running script holds one of the shards: retry once it ends (its end wakes paused clients).
        ctx.unlock_all();
        return Outcome::Paused(now + 10);
    }
    let reply = call(&mut ctx, cmd, args, false);
    if spec.has(flags::WRITE) {
        srv.note_written(args);
    }
    // Registered while the keys are still locked, so no push can slip between the check and the wait.
    let blocked = ctx.block.take().map(|b| {
        let db = ctx.db();
        let (waiter, rx) = srv.blocking.register(ctx.client.info.id, db, b.keys, b.op, b.serve);
        Blocked { waiter, rx, timeout: b.timeout }
    });
    flush_effects(&mut ctx, cmd, args);
    ctx.unlock_all();
    let mut ready = std::mem::take(&mut ctx.ready);
    drop(ctx);
    // Keys with waiters that expired or were evicted meanwhile (here or in the cron) are served too.
    ready.extend(srv.blocking.take_gone());
    srv.tracking.flush_bcast(&srv.clients, &srv.pubsub);
    if client.tracking {
        track_reads(srv, client, cmd, args);
    }
    if srv.clients.monitors.load(Ordering::Relaxed) > 0 && !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
        feed_monitors(srv, client, args);
    }
    if !ready.is_empty() {
        serve_ready(srv, client, ready);
    }
    match blocked {
        Some(b) => Outcome::Block(b),
        None => Outcome::Reply(reply),
    }
}

/// The gate's admission checks, in Redis's order; `Some` is the refusal. A change-log replay skips them.
fn admit(srv: &Server, client: &mut Session, cmd: &'static Command, args: &[Bytes]) -> Option<Outcome> {
    let spec = cmd.spec;
    // Before authentication, as in Redis's processCommand.
    if spec.has(flags::PROTECTED)
        && !crate::config::allows(srv.hot.debug_command.load(Ordering::Relaxed), client.info.is_local)
    {
        return Some(reject(srv, client, Some(cmd), error::DEBUG_NOT_ALLOWED));
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) && srv.hot.requirepass_set.load(Ordering::Relaxed) {
        return Some(reject(srv, client, Some(cmd), error::NOAUTH));
    }
    if let Err(e) = crate::engine::acl::check_command(srv, client, cmd, args) {
        return Some(reject(srv, client, Some(cmd), e));
    }
    if client.subscriptions() > 0 && client.proto == crate::protocol::Protocol::Resp2 && !spec.has(flags::SUBSCRIBER_OK)
    {
        return Some(reject(srv, client, Some(cmd), CmdError::subscribed_context(&cmd.full_name)));
    }
    // Redis's order: -MISCONF, then -LOADING, both before MULTI queueing, so a refused command fails the transaction.
    if spec.has(flags::WRITE)
        || spec.has(flags::REPORTS_DISK_ERROR)
        || spec.has(flags::RUNS_QUEUE) && queue_has(client.multi.as_ref(), flags::WRITE)
    {
        if let Some(e) = srv.disk_error() {
            return Some(reject(srv, client, Some(cmd), e));
        }
    }
    if srv.persistence.is_loading() && !spec.has(flags::LOADING) {
        return Some(reject(srv, client, Some(cmd), error::LOADING));
    }
    if srv.persistence.warming.active() && !spec.has(flags::LOADING) && waits_for_warming(srv, spec, args) {
        return Some(reject(srv, client, Some(cmd), error::LOADING));
    }
    if srv.scripts.state.active() && !spec.has(flags::ALLOW_BUSY) {
        if let Some(e) = srv.scripts.state.busy_refusal() {
            return Some(reject(srv, client, Some(cmd), e));
        }
    }
    None
}

/// During a warm restart's second pass: whether a command must wait for it (`-LOADING`), because it names a key
/// not loaded yet, or may touch keys it does not name (keyless commands, scripts, SORT's BY and GET patterns).
fn waits_for_warming(srv: &Server, spec: &crate::engine::table::CommandSpec, args: &[Bytes]) -> bool {
    if spec.has(flags::RUNS_SCRIPT) || spec.pattern_keys {
        return true;
    }
    let keys = spec.keys.positions(args);
    keys.is_empty() || keys.iter().any(|&p| srv.persistence.warming.is_pending(&args[p]))
}

/// Remembers the keys a tracking client just read (default mode; OPTIN/OPTOUT honour CLIENT CACHING).
fn track_reads(srv: &Server, client: &mut Session, cmd: &Command, args: &[Bytes]) {
    // CLIENT CACHING applies to the command after it; CLIENT commands (CACHING itself, TRACKINGINFO) leave it.
    if cmd.spec.has(flags::KEEPS_CACHING) {
        return;
    }
    let caching = client.caching.take();
    // A script's declared keys count as read once one of its commands read something (EVAL_RO included);
    // a script that only writes or pings tracks nothing.
    let script_read = std::mem::take(&mut client.script_read);
    let read = if cmd.spec.has(flags::RUNS_SCRIPT) { script_read } else { cmd.spec.has(flags::READONLY) };
    if read {
        remember_reads(srv, client, cmd, args, caching);
    }
}

/// Records the keys `cmd` read for a tracking client, unless its mode says otherwise.
fn remember_reads(srv: &Server, client: &Session, cmd: &Command, args: &[Bytes], caching: Option<bool>) {
    let Some(mode) = srv.tracking.mode(client.info.id) else { return };
    if mode.bcast || (mode.optin && caching != Some(true)) || (mode.optout && caching == Some(false)) {
        return;
    }
    let pos = cmd.spec.keys.positions(args);
    srv.tracking.record_reads(client.info.id, pos.iter().map(|&p| &args[p][..]));
}

/// Serves clients blocked on keys that just gained data, first come first served, each in its own small
/// transaction on the key's shards. Serving can make further keys ready (BLMOVE's destination); those follow.
pub fn serve_ready(srv: &Server, client: &mut Session, ready: Vec<(usize, Bytes)>) {
    use crate::engine::blocking::BlockedOp;
    let mut queue: std::collections::VecDeque<(usize, Bytes)> = ready.into();
    let saved_db = client.db;
    while let Some((db, key)) = queue.pop_front() {
        // Readers that could not be served (stream readers waiting for later ids) are passed over.
        let mut skipped = Vec::new();
        while let Some(w) = srv.blocking.first_waiting_except(db, &key, &skipped) {
            if !w.claim() {
                continue;
            }
            client.db = db;
            let mut ctx = Ctx::new(srv, client, Caller::Client);
            // As in Redis, the blocked client's command makes the change: its own invalidations follow its reply.
            ctx.acting_for = w.client_id;
            let mut keys = vec![key.clone()];
            if let BlockedOp::Move { dst, .. } = &w.op {
                keys.push(dst.clone());
            }
            ctx.lock_keys(db, keys.iter().map(|k| &k[..]));
            let served = (w.serve)(&mut ctx, &w, &key);
            let Some(reply) = served else {
                ctx.unlock_all();
                drop(ctx);
                w.unclaim();
                if w.op.takes_data() {
                    break;
                }
                skipped.push(w);
                continue;
            };
            srv.effects.append(&mut ctx.sink, None, false);
            ctx.unlock_all();
            queue.extend(std::mem::take(&mut ctx.ready));
            drop(ctx);
            srv.blocking.remove(&w);
            w.send(reply);
        }
    }
    srv.tracking.flush_bcast(&srv.clients, &srv.pubsub);
    client.db = saved_db;
}

/// True when some queued command has any of `flags`.
fn queue_has(multi: Option<&MultiState>, flags: u32) -> bool {
    multi.is_some_and(|m| m.queue.iter().any(|a| resolve(a).is_ok_and(|c| c.spec.flags & flags != 0)))
}

/// Takes the shard locks a command needs before it runs: the shards of its keys, or all shards for commands
/// that touch the whole keyspace. EXEC takes the union for its whole queue up front.
pub fn plan_locks(ctx: &mut Ctx<'_>, cmd: &Command, args: &[Bytes]) {
    let spec = cmd.spec;
    if spec.has(flags::GLOBAL) {
        ctx.lock_all();
        return;
    }
    if spec.has(flags::RUNS_QUEUE) {
        let Some(multi) = ctx.client.multi.as_ref() else { return };
        let ks = &ctx.srv.keyspace;
        let mut db = ctx.client.db;
        let mut gids: Vec<usize> = ctx
            .client
            .watched
            .iter()
            .map(|w| ks.global_id(w.db, ks.shard_of(crate::store::hash_key(&w.key))))
            .collect();
        for q in &multi.queue {
            let Ok(c) = resolve(q) else { continue };
            if c.spec.has(flags::GLOBAL) || c.spec.has(flags::ITERATES) || c.spec.has(flags::VISITS_ALL) {
                ctx.lock_all();
                return;
            }
            if c.spec.has(flags::SWITCHES_DB) {
                if let Some(n) = q.get(1).and_then(|a| crate::util::num::parse_i64(a)) {
                    if n >= 0 && (n as usize) < ks.db_count() {
                        db = n as usize;
                    }
                }
                continue;
            }
            for p in c.spec.keys.positions(q) {
                gids.push(ks.global_id(db, ks.shard_of(crate::store::hash_key(&q[p]))));
            }
        }
        ctx.lock_gids(&mut gids);
        return;
    }
    if spec.has(flags::ITERATES) {
        // A consistent view of the database: no multi-shard write is seen half done.
        let db = ctx.db();
        let ks = &ctx.srv.keyspace;
        let mut gids: Vec<usize> = (0..ks.shard_count()).map(|s| ks.global_id(db, s)).collect();
        ctx.lock_gids(&mut gids);
        return;
    }
    if let Some(key) = spec.keys.single(args) {
        let db = ctx.db();
        ctx.lock_key(db, key);
        return;
    }
    let positions = spec.keys.positions(args);
    if !positions.is_empty() {
        let db = ctx.db();
        ctx.lock_keys(db, positions.iter().map(|&p| &args[p][..]));
    }
}

/// Runs a resolved command's handler: panic boundary, statistics, effect bookkeeping.
/// `nested` is true for commands run by EXEC, whose effects are collected into the transaction's group.
pub fn call(ctx: &mut Ctx<'_>, cmd: &Command, args: &[Bytes], nested: bool) -> Reply {
    // A command run by EXEC is timed on its own; a client's command from when its context was made.
    let start = if nested { crate::util::clock::now() } else { ctx.started };
    let dirty_before = ctx.dirty;
    let result = catch_unwind(AssertUnwindSafe(|| (cmd.spec.handler)(ctx, args)));
    let srv = ctx.srv;
    let reply = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            srv.stats_of(cmd).record_failed();
            srv.stats.count_error(e.code());
            Reply::Error(e.0.into_owned())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(command = %cmd.full_name, "handler panicked: {what}");
            srv.stats_of(cmd).record_failed();
            srv.stats.count_error("ERR");
            Reply::Error(error::PANIC.0.into_owned())
        }
    };
    let took = crate::util::clock::now() - start;
    let stats = srv.stats_of(cmd);
    stats.record_call(took.as_micros() as u64);
    if srv.hot.latency_tracking.load(Ordering::Relaxed) {
        stats.record_latency(took.as_nanos() as u64);
    }
    srv.stats.commands_processed.add(1);
    let micros = took.as_micros() as u64;
    if !cmd.spec.has(flags::SKIP_SLOWLOG) && ctx.block.is_none() {
        observe_slow(ctx, cmd, args, micros);
    }
    let as_sent = nested && std::mem::take(&mut ctx.effect_as_sent);
    if ctx.dirty > dirty_before {
        srv.changes_since_save.fetch_add(ctx.dirty - dirty_before, Ordering::Relaxed);
        if nested && (cmd.spec.effect == Effect::Verbatim || as_sent) {
            let db = ctx.db();
            ctx.sink.push(db, args.iter().map(|a| Bytes::copy_from_slice(a)).collect());
        }
    }
    reply
}

/// The slow log, the latency monitor and the health model's stall peak: each looks at a command only when it
/// took long enough to matter, so a fast command pays three relaxed loads.
fn observe_slow(ctx: &Ctx<'_>, cmd: &Command, args: &[Bytes], micros: u64) {
    let srv = ctx.srv;
    let slower_than = srv.hot.slowlog_slower_than.load(Ordering::Relaxed);
    if slower_than >= 0 && micros >= slower_than as u64 {
        let script = ctx.caller == Caller::Script;
        let addr = if script { "?:0" } else { ctx.client.info.addr.as_str() };
        let name = if script { None } else { ctx.client.info.name.lock().clone() };
        let max_len = srv.hot.slowlog_max_len.load(Ordering::Relaxed);
        srv.slowlog.push(args, micros, addr, name.unwrap_or_default(), max_len);
    }
    if micros >= 1000 {
        let event = if cmd.spec.has(flags::FAST) { "fast-command" } else { "command" };
        srv.latency_monitor.add_if_needed(event, micros / 1000, srv.hot.latency_threshold_ms.load(Ordering::Relaxed));
        srv.health.note_stall(micros);
    }
}

/// Appends the command's effects to the stream while its shards are still locked.
fn flush_effects(ctx: &mut Ctx<'_>, cmd: &Command, args: &[Bytes]) {
    let as_sent = std::mem::take(&mut ctx.effect_as_sent);
    let verbatim = (cmd.spec.effect == Effect::Verbatim || as_sent) && ctx.dirty > 0;
    if ctx.sink.is_empty() && !verbatim {
        return;
    }
    let db = ctx.db();
    let last = verbatim.then_some((db, args));
    let atomic = cmd.spec.has(flags::RUNS_QUEUE) || cmd.spec.has(flags::RUNS_SCRIPT);
    ctx.srv.effects.append(&mut ctx.sink, last, atomic);
    if ctx.srv.changelog.sync_always() {
        ctx.client.durable_at = ctx.srv.effects.offset();
    }
}

/// Runs the commands queued by MULTI (EXEC's body). The caller holds every shard they need.
pub fn run_queued(ctx: &mut Ctx<'_>, queue: Vec<Vec<Bytes>>) -> Reply {
    let mut replies = Vec::with_capacity(queue.len());
    let prev = ctx.caller;
    ctx.caller = Caller::Exec;
    for args in queue {
        let reply = match resolve(&args) {
            Ok(cmd) => {
                if let Err(e) = crate::engine::acl::check_queued(ctx.srv, ctx.client, cmd, &args) {
                    ctx.srv.stats.count_error(e.code());
                    replies.push(Reply::Error(e.0.into_owned()));
                    continue;
                }
                let r = call(ctx, cmd, &args, true);
                // Each read of a transaction is tracked as it runs (CLIENT CACHING before MULTI covers them all).
                let read = cmd.spec.has(flags::READONLY) && !cmd.spec.has(flags::RUNS_SCRIPT);
                if read && ctx.client.tracking {
                    remember_reads(ctx.srv, ctx.client, cmd, &args, ctx.client.caching);
                }
                if ctx.srv.clients.monitors.load(Ordering::Relaxed) > 0 && !cmd.spec.has(flags::ADMIN) {
                    feed_monitors(ctx.srv, ctx.client, &args);
                }
                r
            }
            Err(e) => Reply::Error(e.0.into_owned()),
        };
        replies.push(reply);
    }
    ctx.caller = prev;
    Reply::Array(replies)
}

/// Formats argv as MONITOR prints it: `+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
fn feed_monitors(srv: &Server, client: &Session, args: &[Bytes]) {
    feed_monitors_as(srv, client.db, &client.info.addr, args);
}

/// Feeds MONITOR clients a command run in database `db` by `source` (a peer address, or `lua` for a command a
/// script or function issued).
pub fn feed_monitors_as(srv: &Server, db: usize, source: &str, args: &[Bytes]) {
    let us = crate::util::clock::unix_us();
    let mut line = format!("+{}.{:06} [{} {}]", us / 1_000_000, us % 1_000_000, db, source);
    for a in args {
        line.push(' ');
        line.push_str(&crate::util::repr(a));
    }
    line.push_str("\r\n");
    let _ = cflags::MONITOR;
    srv.clients.feed_monitors(Bytes::from(line));
}
