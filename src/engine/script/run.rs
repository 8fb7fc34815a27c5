//! Running one script or function: arguments, the locks its calls need, `redis.call` through the engine, and the
//! conversion of its result or error.
//!
//! Locking. The gate already holds the shards of the declared keys. A call naming a key in a shard not held:
//! - a shard after every held one is locked and waited for: the global order is kept, so no cycle can form;
//! - a shard before one held is tried without waiting (with a short grace). If it is taken and the script has
//!   not yet changed anything, the run is abandoned and made again with every shard locked (the SHA is then
//!   "wide" for good, so a script written that way pays the restart once). If the script already wrote, the call
//!   fails with an error, as any failing call does in Redis (earlier writes stay; nothing is rolled back);
//!   other clients still never see the script half done.
//!   Commands that need every shard (KEYS, SCAN, FLUSHALL...) follow the same rule.

use super::convert::{error_table, lua_to_reply, reply_to_lua};
use super::vm::{Script, Vm};
use crate::engine::ctx::{Caller, Ctx};
use crate::engine::execute::{call, resolve};
use crate::engine::table::{flags, Command};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::{Protocol, Reply};
use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::sync::atomic::Ordering::Relaxed;

/// What is being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Script,
    Function,
}

/// Why a call could not get its locks.
enum LockFailure {
    /// Abandon the run and make it again with every shard locked.
    Restart,
    /// Fail this call.
    Error(CmdError),
}

/// The state of one run that `redis.call` works on.
struct Run<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    read_only: bool,
    /// The script may not use denyoom commands (over maxmemory when it started, without `allow-oom`).
    deny_oom: bool,
    /// A command that changes data or propagates has run: the script can be neither killed nor restarted.
    changed: bool,
    /// Every shard is held.
    wide: bool,
    /// A lock could not be had before any change: the run is being abandoned.
    restart: bool,
    /// The VM's per-run bindings (the script's protocol is `resp` there).
    bindings: Table,
}

const ONLY_STRINGS: &str = "ERR Lua redis lib command arguments must be strings or integers";

/// Lua arguments of a call as command arguments (numbers as Lua prints them).
fn argv_of(lua: &Lua, args: MultiValue) -> Result<Vec<Bytes>, &'static str> {
    let mut argv = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Number(_) | Value::Integer(_) => match lua.coerce_string(v) {
                Ok(Some(s)) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                _ => return Err(ONLY_STRINGS),
            },
            _ => return Err(ONLY_STRINGS),
        }
    }
    if argv.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    Ok(argv)
}

impl Run<'_, '_> {
    /// `redis.call` / `redis.pcall`: runs one command. Returns the reply and whether it is an error.
    fn call(&mut self, lua: &Lua, args: MultiValue) -> mlua::Result<(Value, bool)> {
        let fail = |text: &str| Ok((error_table(lua, text.as_bytes())?, true));
        if self.restart {
            return fail("ERR the script is being restarted with every shard locked");
        }
        let argv = match argv_of(lua, args) {
            Ok(a) => a,
            Err(e) => return fail(e),
        };
        let cmd = match resolve(&argv) {
            Ok(c) => c,
            Err(e) if e.0.starts_with("ERR wrong number") || e.0.starts_with("ERR Unknown subcommand") => {
                return fail(if e.0.starts_with("ERR wrong number") {
                    "ERR Wrong number of args calling Redis command from script"
                } else {
                    "ERR Unknown Redis command called from script"
                })
            }
            Err(_) => return fail("ERR Unknown Redis command called from script"),
        };
        let spec = cmd.spec;
        if spec.has(flags::NOSCRIPT) && !(self.ctx.srv.scripts_may_call_any.load(Relaxed) && may_lift_noscript(spec)) {
            return fail("ERR This Redis command is not allowed from script");
        }
        let writes = spec.has(flags::WRITE);
        if writes && self.read_only {
            return fail("ERR Write commands are not allowed from read-only scripts.");
        }
        if spec.has(flags::DENYOOM) && self.deny_oom && !self.changed {
            return fail(&error::OOM.0);
        }
        if let Err(e) = crate::engine::acl::check_queued(self.ctx.srv, self.ctx.client, cmd, &argv) {
            return fail(&e.0);
        }
        if let Err(f) = self.lock_for(cmd, &argv) {
            return match f {
                LockFailure::Restart => {
                    self.restart = true;
                    fail("ERR the script is being restarted with every shard locked")
                }
                LockFailure::Error(e) => fail(&e.0),
            };
        }
        if writes || spec.has(flags::MAY_REPLICATE) || !spec.has(flags::READONLY) {
            self.changed = true;
            self.ctx.srv.scripts.state.wrote.store(writes || self.ctx.srv.scripts.state.wrote.load(Relaxed), Relaxed);
        }
        let reply = call(self.ctx, cmd, &argv, true);
        if spec.has(flags::READONLY) && self.ctx.client.tracking {
            self.ctx.client.script_read = true;
        }
        let srv = self.ctx.srv;
        if srv.clients.monitors.load(Relaxed) > 0 && !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
            crate::engine::execute::feed_monitors_as(srv, self.ctx.db(), "lua", &argv);
        }
        if writes {
            // Counted toward the memory estimate as a client's write is, so the next command evicts in time.
            self.ctx.srv.note_written(&argv);
        }
        let resp = self.bindings.raw_get::<u8>("resp").unwrap_or(2);
        let failed = matches!(reply, Reply::Error(_));
        Ok((reply_to_lua(lua, &reply, resp)?, failed))
    }

    /// Takes the shard locks `cmd` needs beyond those held (see the module notes).
    fn lock_for(&mut self, cmd: &Command, argv: &[Bytes]) -> Result<(), LockFailure> {
        if self.wide {
            return Ok(());
        }
        let spec = cmd.spec;
        let ks = &self.ctx.srv.keyspace;
        let mut gids: smallvec::SmallVec<[usize; 8]> =
            if spec.has(flags::GLOBAL) || spec.has(flags::ITERATES) || spec.has(flags::VISITS_ALL) {
                (0..ks.total_shards()).collect()
            } else {
                let db = self.ctx.db();
                spec.keys
                    .positions(argv)
                    .iter()
                    .map(|&p| ks.global_id(db, ks.shard_of(crate::store::hash_key(&argv[p]))))
                    .collect()
            };
        gids.sort_unstable();
        gids.dedup();
        for g in gids {
            if self.ctx.holds_shard(g) {
                continue;
            }
            if self.ctx.highest_held().is_none_or(|h| g > h) {
                self.ctx.lock_gid_in_order(g);
                continue;
            }
            if self
                .ctx
                .try_lock_gid_out_of_order(g, std::time::Duration::from_millis(if self.changed { 50 } else { 2 }))
            {
                continue;
            }
            if !self.changed {
                return Err(LockFailure::Restart);
            }
            return Err(LockFailure::Error(CmdError::err(
                "Script reached an undeclared key whose shard another command holds, after writing; \
                 pass every key the script uses in KEYS",
            )));
        }
        Ok(())
    }
}

/// Parses `numkeys key... arg...` starting at `args[at]`.
pub fn keys_and_args(args: &[Bytes], at: usize) -> CmdResult<(&[Bytes], &[Bytes])> {
    let n = crate::util::num::parse_i64(&args[at]).ok_or(error::NOT_INTEGER)?;
    if n < 0 {
        return Err(error::NUMKEYS_NEGATIVE);
    }
    let rest = &args[at + 1..];
    if n as usize > rest.len() {
        return Err(error::NUMKEYS_TOO_BIG);
    }
    Ok(rest.split_at(n as usize))
}

fn lua_list(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, it) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(it)?)?;
    }
    Ok(t)
}

/// One run's settings.
pub struct Plan<'s> {
    pub kind: Kind,
    /// SHA or function name, for errors and FUNCTION STATS.
    pub name: &'s str,
    pub func: mlua::Function,
    pub read_only: bool,
    pub allow_oom: bool,
    /// Lock every shard before starting.
    pub wide: bool,
}

/// The outcome of one attempt.
enum Attempt {
    Done(CmdResult<Reply>),
    Restart,
}

/// Runs a script or function with its declared keys' shards held by the gate. Restarts it wide if needed.
pub fn run(
    ctx: &mut Ctx<'_>,
    vm: &mut Vm,
    plan: Plan<'_>,
    argv: &[Bytes],
    keys: &[Bytes],
    args: &[Bytes],
) -> CmdResult<Reply> {
    let mut wide = plan.wide;
    loop {
        if wide {
            // Nothing has run yet: releasing and taking every shard in order keeps the global lock order.
            ctx.unlock_all();
            ctx.lock_all();
        }
        match attempt(ctx, vm, &plan, wide, argv, keys, args) {
            Attempt::Done(r) => return r,
            Attempt::Restart => {
                if plan.kind == Kind::Script {
                    vm.wide.insert(plan.name.to_string());
                }
                wide = true;
            }
        }
    }
}

fn attempt(
    ctx: &mut Ctx<'_>,
    vm: &Vm,
    plan: &Plan<'_>,
    wide: bool,
    argv: &[Bytes],
    keys: &[Bytes],
    args: &[Bytes],
) -> Attempt {
    let srv = ctx.srv;
    let state = &srv.scripts.state;
    let deny_oom = !plan.allow_oom && over_maxmemory(ctx);
    state.begin(plan.kind == Kind::Function, plan.name.to_string(), argv, srv.hot.busy_reply_ms.load(Relaxed));
    let (saved_db, saved_proto, saved_caller) = (ctx.client.db, ctx.client.proto, ctx.caller);
    ctx.caller = Caller::Script;
    ctx.client.proto = Protocol::Resp2;
    let lua = &vm.lua;
    let _ = vm.bindings.raw_set("resp", 2);
    let run = RefCell::new(Run {
        ctx,
        read_only: plan.read_only,
        deny_oom,
        changed: false,
        wide,
        restart: false,
        bindings: vm.bindings.clone(),
    });
    let result: mlua::Result<(bool, Value, u8)> = lua.scope(|scope| {
        let call = scope.create_function(|lua, args: MultiValue| run.borrow_mut().call(lua, args))?;
        let acl = scope.create_function(|lua, args: MultiValue| {
            let r = run.borrow();
            let argv = match argv_of(lua, args) {
                Ok(a) => a,
                Err(e) => return Ok((error_table(lua, e.as_bytes())?, true)),
            };
            let Ok(cmd) = resolve(&argv) else {
                return Ok((error_table(lua, b"ERR Invalid command passed to redis.acl_check_cmd()")?, true));
            };
            let user = &r.ctx.client.acl.user;
            Ok((Value::Boolean(crate::engine::acl::perm::check(user, cmd, &argv).is_ok()), false))
        })?;
        lua.set_named_registry_value(super::vm::DISPATCH_KEY, &call)?;
        vm.bindings.raw_set("call", call)?;
        vm.bindings.raw_set("acl", acl)?;
        let out: MultiValue = match plan.kind {
            Kind::Script => vm.runner.call((plan.func.clone(), lua_list(lua, keys)?, lua_list(lua, args)?, true))?,
            Kind::Function => vm.runner.call((plan.func.clone(), lua_list(lua, keys)?, lua_list(lua, args)?))?,
        };
        vm.bindings.raw_set("call", Value::Nil)?;
        lua.set_named_registry_value(super::vm::DISPATCH_KEY, Value::Nil)?;
        vm.bindings.raw_set("acl", Value::Nil)?;
        let mut it = out.into_iter();
        let ok = matches!(it.next(), Some(Value::Boolean(true)));
        let value = it.next().unwrap_or(Value::Nil);
        let resp = vm.bindings.raw_get::<u8>("resp").unwrap_or(2);
        Ok((ok, value, resp))
    });
    let run = run.into_inner();
    let (restart, ctx) = (run.restart, run.ctx);
    ctx.client.db = saved_db;
    ctx.client.proto = saved_proto;
    ctx.caller = saved_caller;
    state.end();
    srv.unpaused.notify_waiters();
    if restart {
        return Attempt::Restart;
    }
    let reply = match result {
        Ok((true, value, resp)) => Ok(lua_to_reply(&value, resp)),
        Ok((false, Value::Table(t), _)) => Err(error_reply(&t, plan.name)),
        Ok((false, other, _)) => Err(CmdError::err(format!("{other:?}"))),
        Err(e) => Err(CmdError::err(super::vm::compile_message(&e))),
    };
    let _ = vm.lua.gc_step();
    Attempt::Done(reply)
}

/// The reply for a script that raised `t` (`{err=..., source=..., line=...}`), as Redis words it.
fn error_reply(t: &Table, name: &str) -> CmdError {
    let msg: String = t.raw_get::<mlua::String>("err").map(|s| s.to_string_lossy()).unwrap_or_default();
    let msg = msg.replace(['\r', '\n'], " ");
    let source: Option<String> = t.raw_get::<Option<String>>("source").ok().flatten();
    let line: Option<i64> = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(s), Some(l)) => CmdError::raw(format!("{msg} script: {name}, on {s}:{l}.")),
        _ => CmdError::raw(format!("{msg} script: {name}")),
    }
}

/// Over maxmemory after the gate's eviction attempt: a script that may write is refused (shebang scripts and
/// functions at the start; legacy scripts at their first denyoom call).
fn over_maxmemory(ctx: &Ctx<'_>) -> bool {
    ctx.client.pre_command_oom
}

/// EVAL and friends.
pub fn eval(ctx: &mut Ctx<'_>, vm: &mut Vm, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult<Reply> {
    let (keys, rest) = keys_and_args(args, 2)?;
    let script: Script = if by_sha {
        vm.cached(&args[1].to_ascii_lowercase()).ok_or(error::NOSCRIPT)?
    } else {
        vm.script(&args[1], None)?
    };
    let flags = script.flags;
    if flags.shebang && !flags.no_writes && !flags.allow_oom && over_maxmemory(ctx) {
        return Err(error::OOM);
    }
    if read_only && flags.shebang && !flags.no_writes {
        return Err(error::SCRIPT_WRITE_FROM_RO);
    }
    let wide = vm.wide.contains(&script.sha);
    let plan = Plan {
        kind: Kind::Script,
        name: &script.sha,
        func: script.func.clone(),
        read_only: read_only || flags.no_writes,
        allow_oom: flags.allow_oom,
        wide,
    };
    run(ctx, vm, plan, args, keys, rest)
}

/// FCALL and FCALL_RO.
pub fn fcall(ctx: &mut Ctx<'_>, vm: &mut Vm, args: &[Bytes], read_only: bool) -> CmdResult<Reply> {
    let (keys, rest) = keys_and_args(args, 2)?;
    let name = String::from_utf8_lossy(&args[1]).into_owned();
    let f = vm.functions.get(&name).ok_or(error::FUNCTION_NOT_FOUND)?;
    if read_only && !f.flags.no_writes {
        return Err(error::SCRIPT_WRITE_FROM_RO);
    }
    if !f.flags.no_writes && !f.flags.allow_oom && over_maxmemory(ctx) {
        return Err(error::OOM);
    }
    let plan = Plan {
        kind: Kind::Function,
        name: &name,
        func: f.callback.clone(),
        read_only: read_only || f.flags.no_writes,
        allow_oom: f.flags.allow_oom,
        wide: false,
    };
    run(ctx, vm, plan, args, keys, rest)
}

/// Whether DEBUG SET-DISABLE-DENY-SCRIPTS lets a script call this `noscript` command. Scripting, transaction and
/// pub/sub commands stay refused: run from the script thread they would wait on that thread itself or change a
/// connection's state under the script.
fn may_lift_noscript(spec: &crate::engine::table::CommandSpec) -> bool {
    !matches!(spec.docs.group, "scripting" | "transactions" | "pubsub") && !matches!(spec.name, "monitor" | "reset")
}
