//! The Lua state: Redis's sandbox (its libraries, no file or OS access, read-only globals), the `redis` table,
//! the script cache by SHA1, and the protected runner every script and function is called through.

use super::RunState;
use crate::error::{CmdError, CmdResult};
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Globals of the base library that Redis removes: file access and the ways around the sandbox.
const REMOVED_GLOBALS: &[&str] =
    &["print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy", "module", "require"];

/// Library tables made read-only, as Redis 7 does (scripts share one state, so one must not alter another's).
const READONLY_TABLES: &[&str] =
    &["redis", "string", "table", "math", "coroutine", "cjson", "cmsgpack", "struct", "bit"];

/// Lua side of the `redis` table, with Redis's argument checks and texts. The functions listed in [`RAISING`]
/// return `value, failed` and are wrapped in a C closure ([`raising_closure`]) that raises the error table:
/// Rust callbacks cannot raise a table, and a Lua wrapper would lose the caller's line under a tail call. `box`
/// holds what each run binds (`call`, `acl`) and the script's protocol (`resp`). `redis.call` is a C function
/// too ([`call_raising`]).
const PRELUDE: &str = r#"
local box, log, sha1hex = ...
local type, select, tostring, rawget = type, select, tostring, rawget
local function E(msg) return {err=msg}, true end
box.resp = 2
local redis = {}
redis.pcall = function(...)
  local r = box.call(...)
  return r
end
redis.setresp = function(...)
  if select('#', ...) ~= 1 then return E('ERR redis.setresp() requires one argument.') end
  local v = ...
  if v ~= 2 and v ~= 3 then return E('ERR RESP version must be 2 or 3.') end
  box.resp = v
end
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then return E('ERR redis.set_repl() requires one argument.') end
  local v = ...
  if type(v) ~= 'number' or v < 0 or v > 3 then
    return E('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
end
redis.replicate_commands = function() return true end
redis.log = function(...)
  local n = select('#', ...)
  if n < 2 then return E('ERR redis.log() requires two arguments or more.') end
  local level = ...
  if type(level) ~= 'number' then return E('ERR First argument must be a number (log level).') end
  if level < 0 or level > 3 then return E('ERR Invalid debug level.') end
  local parts = {}
  for i = 2, n do parts[#parts + 1] = tostring((select(i, ...))) end
  log(level, table.concat(parts, ' '))
end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then return E('ERR wrong number of arguments') end
  return sha1hex(tostring((...)))
end
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return E('ERR wrong number or type of arguments') end
  if e:sub(1, 1) == '-' then e = e:sub(2) end
  return {err=e}
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return E('ERR wrong number or type of arguments') end
  return {ok=s}
end
redis.acl_check_cmd = function(...)
  if select('#', ...) < 1 then return E('ERR Please specify at least one argument for this redis lib call') end
  return box.acl(...)
end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = box.version
redis.REDIS_VERSION_NUM = box.version_num
rawset(_G, 'redis', redis)
-- As Redis 7.0 does for compatibility: an error table caught by a script's own pcall reads as its text.
local lua_pcall = pcall
local function as_text(ok, ...)
  if not ok then
    local e = ...
    if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then return false, e.err end
  end
  return ok, ...
end
rawset(_G, 'pcall', function(...) return as_text(lua_pcall(...)) end)
"#;

/// pcall and xpcall that raise again, after the call, the error that stops a script (see `Vm::new`).
const STOPPABLE_PCALL: &str = r#"
local stopped, pcall, xpcall = ...
_G.pcall = function(...) return stopped(pcall(...)) end
_G.xpcall = function(...) return stopped(xpcall(...)) end
"#;

const PROTECT: &str = r#"
local readonly_tables, setfenv, getfenv = ...
local error, tostring, setmetatable, getmetatable, rawget, rawset, next, ipairs, loadstring =
  error, tostring, setmetatable, getmetatable, rawget, rawset, next, ipairs, loadstring
local function readonly() error('Attempt to modify a readonly table', 2) end
local function missing(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
-- What getmetatable shows of a protected table: itself read-only, so `getmetatable(_G).__index = t` fails as in
-- Redis rather than with an error about indexing a boolean.
local shown = setmetatable({}, {__newindex = readonly, __metatable = false})
for _, name in ipairs(readonly_tables) do
  local t = rawget(_G, name)
  if t then setmetatable(t, {__newindex = readonly, __metatable = shown}) end
end
setmetatable(_G, {__index = missing, __newindex = readonly, __metatable = shown})
-- Scripts and functions see `base`: the globals as they are now, with each library table behind a read-only
-- proxy. The metatables above refuse new fields only, not a script replacing one (`redis = nil`,
-- `rawset(_G, 'redis', 1)`, `redis.call = f`), which Redis's read-only tables refuse and which would otherwise
-- break every later script. An EVAL script runs in `env`, an empty table in front of `base` that is also its
-- `_G`, and a FUNCTION library in a table of its own in front of `base` (see `functions::prepare`), so every
-- assignment to a global or a library field raises Redis's error, and what `rawset` puts in `env` or a proxy is
-- gone after the run.
local base, proxies = {}, {}
for k, v in next, _G do base[k] = v end
for _, name in ipairs(readonly_tables) do
  local t = rawget(_G, name)
  if t then
    local p = setmetatable({}, {__index = t, __newindex = readonly, __metatable = shown})
    proxies[#proxies + 1] = p
    base[name] = p
  end
end
-- Code a script compiles runs in the script's environment, not in the shared one.
base.loadstring = function(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, getfenv(2)) end
  return f, e
end
-- `rawset` is the one way to put something in `env` or a proxy; noting it spares `leave` a sweep after most runs.
local touched = false
base.rawset = function(t, k, v)
  touched = true
  return rawset(t, k, v)
end
base.setmetatable = function(t, mt)
  if getmetatable(t) == shown then error('Attempt to modify a readonly table', 2) end
  return setmetatable(t, mt)
end
-- One environment serves every run (runs never overlap) and is emptied after each: cheaper than a new one.
local env = setmetatable({}, {__index = base, __newindex = readonly, __metatable = shown})
base._G = env
setmetatable(base, {__index = missing, __newindex = readonly, __metatable = shown})
local function enter(f, keys, args)
  rawset(env, 'KEYS', keys)
  rawset(env, 'ARGV', args)
  setfenv(f, env)
end
local function leave()
  rawset(env, 'KEYS', nil)
  rawset(env, 'ARGV', nil)
  if not touched then return end
  touched = false
  for k in next, env do rawset(env, k, nil) end
  for i = 1, #proxies do
    local p = proxies[i]
    for k in next, p do rawset(p, k, nil) end
  end
end
return enter, leave, base
"#;

/// Calls a script (`runner(f, keys, args, true)`: in an environment of its own, see [`PROTECT`]), a function
/// (`runner(f, keys, args)`) or a library's loading code (`runner(f)`) under the error handler.
const RUNNER: &str = r#"
local xpcall, handler, enter, leave = ...
local function done(...) leave() return ... end
return function(f, keys, args, script)
  if script then
    enter(f, keys, args)
    return done(xpcall(f, handler))
  end
  if keys == nil then return done(xpcall(f, handler)) end
  return done(xpcall(function() return f(keys, args) end, handler))
end
"#;

/// What a script's `#!lua` line declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// The script has a shebang (Redis 7 rules: flags are enforced, OOM checked up front).
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
}

/// A compiled EVAL script.
#[derive(Clone)]
pub struct Script {
    pub sha: String,
    pub func: Function,
    pub flags: ScriptFlags,
}

/// The Lua VM and everything compiled in it.
pub struct Vm {
    pub lua: Lua,
    /// Per-run bindings (`call`, `acl`, `resp`).
    pub bindings: Table,
    /// Calls a script, function or library's loading code under the error handler (see [`RUNNER`]).
    pub runner: Function,
    /// The read-only globals scripts and functions see (see [`PROTECT`]).
    pub base: Table,
    scripts: HashMap<String, Script>,
    /// Bytes of the cached scripts' bodies and SHAs (INFO's used_memory_scripts_eval).
    script_bytes: usize,
    /// SHAs of scripts that reached keys they did not declare: later runs lock every shard up front.
    pub wide: HashSet<String>,
    /// FUNCTION libraries' registered functions, by function name.
    pub functions: HashMap<String, super::functions::Registered>,
}

fn log_line(level: u8, msg: &str) {
    match level {
        0 => tracing::debug!(target: "script", "{msg}"),
        1 | 2 => tracing::info!(target: "script", "{msg}"),
        _ => tracing::warn!(target: "script", "{msg}"),
    }
}

/// The `redis` functions that report errors as `value, failed` for [`raising_closure`] to raise.
const RAISING: &[&str] = &["setresp", "set_repl", "log", "sha1hex", "error_reply", "status_reply", "acl_check_cmd"];

/// Calls the Lua function in its upvalue with its arguments; that function returns `value, failed`, and a
/// failure is raised from here, a C frame, so the script's frame (and line) stays on the stack.
///
/// Safety: only Lua C API calls on the given state; nothing with a destructor is live when `lua_error` jumps.
unsafe extern "C-unwind" fn raising_closure(l: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, 2);
    if ffi::lua_toboolean(l, -1) != 0 {
        ffi::lua_settop(l, -2);
        ffi::lua_error(l)
    }
    ffi::lua_settop(l, -2);
    1
}

/// Wraps `imp` (returning `value, failed`) in a [`raising_closure`].
fn raising(lua: &Lua, imp: Function) -> mlua::Result<Function> {
    // SAFETY: pushes one C closure over the function passed as the only argument.
    unsafe { lua.exec_raw(imp, |state| mlua::ffi::lua_pushcclosure(state, raising_closure, 1)) }
}

/// Registry key of the per-run dispatcher that `redis.call` forwards to.
pub const DISPATCH_KEY: &str = "strata.dispatch";

/// `redis.call`: forwards its arguments to the run's dispatcher (`registry[DISPATCH_KEY]`, which returns the
/// reply and whether it is an error) and raises the error table itself. It is a C function, not a Lua wrapper,
/// because Lua 5.1 keeps the caller's frame under a C function in `return redis.call(...)` (a tail call of a Lua
/// function would drop it), and Redis's error replies name the script line of the failed call.
///
/// Safety: only Lua C API calls on the given state; no Rust value with a destructor is live when `lua_error`
/// jumps out.
unsafe extern "C-unwind" fn call_raising(l: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, c"strata.dispatch".as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, 2);
    if ffi::lua_toboolean(l, -1) != 0 {
        ffi::lua_settop(l, -2);
        ffi::lua_error(l)
    }
    ffi::lua_settop(l, -2);
    1
}

/// The text of an error value raised in Lua.
fn describe(v: &Value) -> String {
    fn root(e: &mlua::Error) -> String {
        match e {
            mlua::Error::RuntimeError(m) => m.clone(),
            mlua::Error::CallbackError { cause, .. } => root(cause),
            mlua::Error::MemoryError(m) => m.clone(),
            other => other.to_string(),
        }
    }
    match v {
        Value::String(s) => s.to_string_lossy(),
        Value::Error(e) => root(e),
        Value::Nil => "nil".into(),
        other => format!("{other:?}"),
    }
}

/// Where in user code the error was raised: the innermost frame from a script or function body.
fn error_position(lua: &Lua) -> Option<(String, i32)> {
    (0..64).map_while(|level| lua.inspect_stack(level)).find_map(|d| {
        let src = d.source().source.map(|s| s.into_owned())?;
        (src.starts_with("@user_script") || src.starts_with("@user_function")).then(|| (src, d.curr_line()))
    })
}

impl Vm {
    pub fn new(state: Arc<RunState>, _srv: &crate::engine::state::Server) -> mlua::Result<Vm> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
        let g = lua.globals();
        // Kept for the sandbox's own use (per-run environments), out of scripts' reach.
        let setfenv: Function = g.raw_get("setfenv")?;
        let getfenv: Function = g.raw_get("getfenv")?;
        for name in REMOVED_GLOBALS {
            g.raw_set(*name, Value::Nil)?;
        }
        crate::lua::libs::install(&lua)?;
        let bindings = lua.create_table()?;
        bindings.raw_set("version", crate::REDIS_VERSION)?;
        bindings.raw_set("version_num", version_num(crate::REDIS_VERSION))?;
        let log = lua.create_function(|_, (level, msg): (u8, mlua::String)| {
            log_line(level, &msg.to_string_lossy());
            Ok(())
        })?;
        let sha1hex = lua.create_function(|_, s: mlua::String| Ok(sha1_hex(&s.as_bytes())))?;
        lua.load(PRELUDE).set_name("=redis").call::<()>((bindings.clone(), log, sha1hex))?;
        // SAFETY: `call_raising` follows the Lua C API contract (see its comment).
        let call = unsafe { lua.create_c_function(call_raising) }?;
        let redis: Table = g.raw_get("redis")?;
        redis.raw_set("call", call)?;
        for name in RAISING {
            let imp: Function = redis.raw_get(*name)?;
            redis.raw_set(*name, raising(&lua, imp)?)?;
        }
        let handler = lua.create_function(|lua, err: Value| {
            let t = match &err {
                Value::Table(t) if matches!(t.raw_get::<Value>("err"), Ok(Value::String(_))) => t.clone(),
                other => {
                    let t = lua.create_table()?;
                    t.raw_set("err", format!("ERR {}", describe(other)))?;
                    t
                }
            };
            if matches!(t.raw_get::<Value>("source")?, Value::Nil) {
                if let Some((source, line)) = error_position(lua) {
                    t.raw_set("source", source)?;
                    t.raw_set("line", line)?;
                }
            }
            Ok(t)
        })?;
        let plain_xpcall: Function = g.raw_get("xpcall")?;
        // The runner keeps the plain xpcall; a script's own pcall and xpcall re-raise a stop (SCRIPT KILL, FUNCTION
        // KILL, a load's timeout) once they return, or a script catching it would run on: Redis switches to a
        // line hook for the same reason.
        let stop_state = state.clone();
        let stopped = lua.create_function(move |_, rest: mlua::MultiValue| match stop_state.stop_reason() {
            Some(m) => Err(mlua::Error::RuntimeError(m.into())),
            None => Ok(rest),
        })?;
        lua.load(STOPPABLE_PCALL).set_name("=pcall").call::<()>((
            stopped,
            g.raw_get::<Function>("pcall")?,
            g.raw_get::<Function>("xpcall")?,
        ))?;
        let names = lua.create_sequence_from(READONLY_TABLES.iter().copied())?;
        let (enter, leave, base): (Function, Function, Table) =
            lua.load(PROTECT).set_name("=protect").call((names, setfenv, getfenv))?;
        let runner: Function = lua.load(RUNNER).set_name("=runner").call((plain_xpcall, handler, enter, leave))?;
        lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| match state.check() {
            Ok(()) => Ok(VmState::Continue),
            Err(m) => Err(mlua::Error::RuntimeError(m.into())),
        });
        Ok(Vm {
            lua,
            bindings,
            runner,
            base,
            scripts: HashMap::new(),
            script_bytes: 0,
            wide: HashSet::new(),
            functions: HashMap::new(),
        })
    }

    /// The cached script with this SHA (lowercase hex).
    pub fn cached(&self, sha: &[u8]) -> Option<Script> {
        std::str::from_utf8(sha).ok().and_then(|s| self.scripts.get(s)).cloned()
    }

    pub fn has_script(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(s))
    }

    /// Compiles `body` (or finds it cached) as EVAL does. `sha` is its SHA1 when the caller computed it.
    pub fn script(&mut self, body: &[u8], sha: Option<String>) -> CmdResult<Script> {
        let sha = sha.unwrap_or_else(|| sha1_hex(body));
        if let Some(s) = self.scripts.get(&sha) {
            return Ok(s.clone());
        }
        let (flags, code) = parse_shebang(body)?;
        let func =
            self.lua.load(&*code).set_name("@user_script").into_function().map_err(|e| {
                CmdError::err(format!("Error compiling script (new function): {}", compile_message(&e)))
            })?;
        let script = Script { sha: sha.clone(), func, flags };
        self.script_bytes += body.len() + sha.len();
        self.scripts.insert(sha, script.clone());
        Ok(script)
    }

    /// SCRIPT FLUSH: forgets every cached script.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.script_bytes = 0;
        self.wide.clear();
        let _ = self.lua.gc_collect();
    }

    /// Number of cached scripts and the memory they hold outside the VM: bodies, SHAs and the cache's table.
    pub fn script_cache_usage(&self) -> (usize, usize) {
        let table = self.scripts.capacity() * std::mem::size_of::<(String, Script)>();
        (self.scripts.len(), self.script_bytes + table)
    }
}

/// The message of a compilation error, without mlua's decoration.
pub fn compile_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => describe(&Value::Error(Box::new(other.clone()))),
    }
}

/// `7.0.15` as Redis's `REDIS_VERSION_NUM`: 0x00MMmmpp.
fn version_num(v: &str) -> i64 {
    let mut parts = v.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b << 8) | c
}

/// Lowercase hex SHA1, as EVALSHA and `redis.sha1hex` use.
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Splits a `#!lua flags=...` first line off an EVAL body. The line is replaced by an empty one so error line
/// numbers stay those of the text the client sent.
fn parse_shebang(body: &[u8]) -> CmdResult<(ScriptFlags, std::borrow::Cow<'_, [u8]>)> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), std::borrow::Cow::Borrowed(body)));
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]);
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let engine = words.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Unexpected engine in script shebang: {engine}")));
    }
    let mut flags = ScriptFlags { shebang: true, ..ScriptFlags::default() };
    for w in words {
        let Some(list) = w.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {w}")));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => return Err(CmdError::err(format!("Unexpected flag in script shebang: {other}"))),
            }
        }
    }
    let mut code = body[end..].to_vec();
    if code.is_empty() {
        code.push(b'\n');
    }
    Ok((flags, std::borrow::Cow::Owned(code)))
}
