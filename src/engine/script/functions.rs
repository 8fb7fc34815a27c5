//! FUNCTION libraries: `#!lua name=<lib>` code whose body calls `redis.register_function`, loaded into the VM
//! with an environment of its own, plus their metadata (kept outside the VM, so FUNCTION LIST, STATS, DUMP and
//! snapshots never wait for a running script).
//!
//! Loading is all or nothing: the code is compiled and run, its registrations validated against every other
//! library, and only then installed. FUNCTION DUMP writes Strata's own payload (the libraries' code, versioned
//! and checksummed); RESTORE loads it back under FLUSH, APPEND or REPLACE.

use super::vm::Vm;
use crate::engine::state::Server;
use crate::error::{self, CmdError, CmdResult};
use mlua::{Function, MultiValue, Table, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

const FLAG_NAMES: &[&str] = &["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

/// Flags a function was registered with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FnFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
}

/// A registered function in the VM.
#[derive(Clone)]
pub struct Registered {
    pub library: String,
    pub callback: Function,
    pub flags: FnFlags,
}

/// What FUNCTION LIST shows of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMeta {
    pub name: String,
    pub description: Option<String>,
    pub flags: Vec<&'static str>,
}

/// One library's metadata and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    pub code: Vec<u8>,
    pub functions: Vec<FunctionMeta>,
}

/// Every loaded library, by name.
#[derive(Debug, Default)]
pub struct Libraries {
    pub libs: BTreeMap<String, Library>,
}

impl Libraries {
    pub fn function_count(&self) -> usize {
        self.libs.values().map(|l| l.functions.len()).sum()
    }

    /// Bytes the libraries hold outside the VM: names, code and function metadata (INFO's used_memory_functions).
    pub fn memory_bytes(&self) -> usize {
        let meta = |f: &FunctionMeta| {
            std::mem::size_of::<FunctionMeta>() + f.name.len() + f.description.as_ref().map_or(0, String::len)
        };
        self.libs
            .iter()
            .map(|(name, l)| {
                std::mem::size_of::<Library>() + name.len() + l.code.len() + l.functions.iter().map(meta).sum::<usize>()
            })
            .sum()
    }
}

/// A library compiled and run, not yet installed.
struct Prepared {
    name: String,
    code: Vec<u8>,
    functions: Vec<(FunctionMeta, Registered)>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses the `#!lua name=<lib>` first line; returns the name and the code with that line blanked (line numbers
/// in errors stay those of the text sent).
fn parse_header(code: &[u8]) -> CmdResult<(String, Vec<u8>)> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::fixed("ERR Missing library metadata"));
    }
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let engine = words.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for w in words {
        match w.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(CmdError::err(format!("Invalid metadata value given: {w}"))),
        }
    }
    let name = name.ok_or(CmdError::fixed("ERR Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::fixed(
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    let mut body = code[end..].to_vec();
    if body.is_empty() {
        body.push(b'\n');
    }
    Ok((name, body))
}

/// Reads one `redis.register_function` call's arguments.
fn registration(args: MultiValue) -> mlua::Result<(FunctionMeta, Function, FnFlags)> {
    let err = |m: &str| Err(mlua::Error::RuntimeError(m.to_string()));
    let mut args = args.into_iter();
    let (first, second, third) = (args.next(), args.next(), args.next());
    let (name, callback, flags_v, description) = match (first, second, third) {
        (Some(Value::Table(t)), None, None) => {
            let mut parts = (None, None, None, None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                match k.as_string().map(|s| s.to_string_lossy()).as_deref() {
                    Some("function_name") => parts.0 = Some(v),
                    Some("callback") => parts.1 = Some(v),
                    Some("flags") => parts.2 = Some(v),
                    Some("description") => parts.3 = Some(v),
                    _ => return err("unknown argument given to redis.register_function"),
                }
            }
            parts
        }
        (Some(n), Some(c), None) => (Some(n), Some(c), None, None),
        _ => return err("wrong number of arguments to redis.register_function"),
    };
    let name = match name {
        Some(Value::String(s)) => s.to_string_lossy(),
        None => return err("redis.register_function must get a function name argument"),
        _ => return err("function_name argument given to redis.register_function must be a string"),
    };
    if !valid_name(&name) {
        // Redis 7.0's text says "Library" here too.
        return err(
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        );
    }
    let Some(Value::Function(callback)) = callback else {
        return err("callback argument given to redis.register_function must be a function");
    };
    let mut flags = FnFlags::default();
    let mut names = Vec::new();
    match flags_v {
        None | Some(Value::Nil) => {}
        Some(Value::Table(t)) => {
            for f in t.sequence_values::<Value>() {
                let f = match f? {
                    Value::String(s) => s.to_string_lossy(),
                    _ => {
                        return err(
                            "flags argument to redis.register_function must be a table representing function flags",
                        )
                    }
                };
                let Some(known) = FLAG_NAMES.iter().find(|k| **k == f) else {
                    return err("unknown flag given");
                };
                match *known {
                    "no-writes" => flags.no_writes = true,
                    "allow-oom" => flags.allow_oom = true,
                    _ => {}
                }
                names.push(*known);
            }
        }
        Some(_) => return err("flags argument to redis.register_function must be a table representing function flags"),
    }
    let description = match description {
        None | Some(Value::Nil) => None,
        Some(Value::String(s)) => Some(s.to_string_lossy()),
        Some(_) => return err("description argument given to redis.register_function must be a string"),
    };
    Ok((FunctionMeta { name, description, flags: names }, callback, flags))
}

/// Compiles and runs a library's code in an environment of its own, collecting its registrations.
fn prepare(vm: &Vm, code: &[u8]) -> CmdResult<Prepared> {
    let (name, body) = parse_header(code)?;
    let lua = &vm.lua;
    let lua_err = |e: mlua::Error| CmdError::err(super::vm::compile_message(&e));
    let g = lua.globals();
    let full_redis: Table = g.raw_get("redis").map_err(lua_err)?;
    // While loading, `redis` offers only registration and logging; other fields raise as Redis's loader does.
    let load_redis = lua.create_table().map_err(lua_err)?;
    for field in ["log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"]
    {
        load_redis.raw_set(field, full_redis.raw_get::<Value>(field).map_err(lua_err)?).map_err(lua_err)?;
    }
    let env = lua.create_table().map_err(lua_err)?;
    env.raw_set("redis", load_redis.clone()).map_err(lua_err)?;
    let setup: Function = lua
        .load(
            r#"
            local env, load_redis, base = ...
            local error, tostring = error, tostring
            setmetatable(load_redis, {
              __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
              __newindex = function() error('Attempt to modify a readonly table', 2) end,
              __metatable = false,
            })
            setmetatable(env, {
              __index = base,
              __newindex = function() error('Attempt to modify a readonly table', 2) end,
              __metatable = false,
            })
            "#,
        )
        .set_name("=function_env")
        .into_function()
        .map_err(lua_err)?;
    setup.call::<()>((env.clone(), load_redis.clone(), vm.base.clone())).map_err(lua_err)?;
    let chunk = lua
        .load(&body[..])
        .set_name("@user_function")
        .set_environment(env.clone())
        .into_function()
        .map_err(|e| CmdError::err(format!("Error compiling function: {}", super::vm::compile_message(&e))))?;
    let found: RefCell<Vec<(FunctionMeta, Function, FnFlags)>> = RefCell::new(Vec::new());
    let outcome: mlua::Result<(bool, Value)> = lua.scope(|scope| {
        let register = scope.create_function(|_, args: MultiValue| {
            let (meta, callback, flags) = registration(args)?;
            let mut f = found.borrow_mut();
            if f.iter().any(|(m, _, _)| m.name == meta.name) {
                return Err(mlua::Error::RuntimeError("Function already exists in the library".into()));
            }
            f.push((meta, callback, flags));
            Ok(())
        })?;
        load_redis.raw_set("register_function", register)?;
        let out: MultiValue = vm.runner.call(chunk)?;
        load_redis.raw_set("register_function", Value::Nil)?;
        let mut it = out.into_iter();
        Ok((matches!(it.next(), Some(Value::Boolean(true))), it.next().unwrap_or(Value::Nil)))
    });
    // From now on the library's functions see the whole `redis` table, behind its read-only proxy in `base`.
    env.raw_set("redis", Value::Nil).map_err(lua_err)?;
    match outcome {
        Ok((true, _)) => {}
        Ok((false, Value::Table(t))) => {
            let msg: String = t.raw_get::<mlua::String>("err").map(|s| s.to_string_lossy()).unwrap_or_default();
            return Err(CmdError::err(format!("Error registering functions: {msg}")));
        }
        Ok((false, other)) => return Err(CmdError::err(format!("Error registering functions: {other:?}"))),
        Err(e) => {
            return Err(CmdError::err(format!("Error registering functions: {}", super::vm::compile_message(&e))))
        }
    }
    let found = found.into_inner();
    if found.is_empty() {
        return Err(CmdError::fixed("ERR No functions registered"));
    }
    let functions = found
        .into_iter()
        .map(|(meta, callback, flags)| (meta, Registered { library: name.clone(), callback, flags }))
        .collect();
    Ok(Prepared { name, code: code.to_vec(), functions })
}

/// Installs prepared libraries after checking them against what is loaded (a library of the same name is refused
/// unless `replace`; a function name may belong to one library only).
fn install(srv: &Server, vm: &mut Vm, prepared: Vec<Prepared>, replace: bool) -> CmdResult<()> {
    let mut libs = srv.scripts.libraries.write();
    for (i, p) in prepared.iter().enumerate() {
        if prepared[..i].iter().any(|q| q.name == p.name) || (!replace && libs.libs.contains_key(&p.name)) {
            return Err(CmdError::err(format!("Library '{}' already exists", p.name)));
        }
        for (meta, _) in &p.functions {
            let taken_here = prepared[..i].iter().any(|q| q.functions.iter().any(|(m, _)| m.name == meta.name));
            let taken = vm
                .functions
                .get(&meta.name)
                .is_some_and(|r| !(replace && prepared.iter().any(|q| q.name == r.library)));
            if taken || taken_here {
                return Err(CmdError::err(format!("Function {} already exists", meta.name)));
            }
        }
    }
    for p in prepared {
        if let Some(old) = libs.libs.remove(&p.name) {
            for f in old.functions {
                vm.functions.remove(&f.name);
            }
        }
        let mut metas = Vec::with_capacity(p.functions.len());
        for (meta, reg) in p.functions {
            vm.functions.insert(meta.name.clone(), reg);
            metas.push(meta);
        }
        libs.libs.insert(p.name, Library { code: p.code, functions: metas });
    }
    Ok(())
}

/// FUNCTION LOAD: returns the library's name.
pub fn load(srv: &Server, vm: &mut Vm, code: &[u8], replace: bool) -> CmdResult<String> {
    let p = srv.scripts.state.loading(|| prepare(vm, code))?;
    let name = p.name.clone();
    install(srv, vm, vec![p], replace)?;
    Ok(name)
}

/// FUNCTION DELETE.
pub fn delete(srv: &Server, vm: &mut Vm, name: &[u8]) -> CmdResult<()> {
    let name = String::from_utf8_lossy(name);
    let lib = srv.scripts.libraries.write().libs.remove(name.as_ref()).ok_or(error::LIBRARY_NOT_FOUND)?;
    for f in lib.functions {
        vm.functions.remove(&f.name);
    }
    Ok(())
}

/// FUNCTION FLUSH.
pub fn flush(srv: &Server, vm: &mut Vm) {
    srv.scripts.libraries.write().libs.clear();
    vm.functions.clear();
    let _ = vm.lua.gc_collect();
}

/// Replaces every library with those whose code is given (a snapshot being loaded).
pub fn load_all(srv: &Server, vm: &mut Vm, codes: &[Vec<u8>]) -> Result<(), String> {
    let prepared = codes
        .iter()
        .map(|c| srv.scripts.state.loading(|| prepare(vm, c)))
        .collect::<CmdResult<Vec<_>>>()
        .map_err(|e| e.0.into_owned())?;
    flush(srv, vm);
    install(srv, vm, prepared, false).map_err(|e| e.0.into_owned())
}

const DUMP_MAGIC: &[u8; 8] = b"STRATAFN";
const DUMP_VERSION: u32 = 1;

/// FUNCTION DUMP's payload: magic, version, count, each library's code with its length, then a CRC32 of it all.
pub fn dump(srv: &Server) -> Vec<u8> {
    let libs = srv.scripts.libraries.read();
    let mut out = Vec::new();
    out.extend_from_slice(DUMP_MAGIC);
    out.extend_from_slice(&DUMP_VERSION.to_le_bytes());
    out.extend_from_slice(&(libs.libs.len() as u32).to_le_bytes());
    for lib in libs.libs.values() {
        out.extend_from_slice(&(lib.code.len() as u32).to_le_bytes());
        out.extend_from_slice(&lib.code);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The libraries' code in a payload, verified.
pub fn parse_dump(payload: &[u8]) -> CmdResult<Vec<Vec<u8>>> {
    let bad = CmdError::fixed("ERR payload version or checksum are wrong");
    if payload.len() < 20 || &payload[..8] != DUMP_MAGIC {
        return Err(bad);
    }
    let (body, crc) = payload.split_at(payload.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(bad);
    }
    let u32_at = |p: usize| body[p..p + 4].iter().rev().fold(0usize, |n, &b| n << 8 | b as usize);
    if u32_at(8) as u32 != DUMP_VERSION {
        return Err(bad);
    }
    let count = u32_at(12);
    let mut at = 16;
    let mut codes = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        if at + 4 > body.len() {
            return Err(bad);
        }
        let len = u32_at(at);
        at += 4;
        if at + len > body.len() {
            return Err(bad);
        }
        codes.push(body[at..at + len].to_vec());
        at += len;
    }
    if at != body.len() {
        return Err(bad);
    }
    Ok(codes)
}

/// FUNCTION RESTORE's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// FUNCTION RESTORE: all or nothing.
pub fn restore(srv: &Server, vm: &mut Vm, payload: &[u8], policy: RestorePolicy) -> CmdResult<()> {
    let codes = parse_dump(payload)?;
    let prepared = codes.iter().map(|c| srv.scripts.state.loading(|| prepare(vm, c))).collect::<CmdResult<Vec<_>>>()?;
    if policy == RestorePolicy::Flush {
        flush(srv, vm);
    }
    install(srv, vm, prepared, policy == RestorePolicy::Replace)
}
