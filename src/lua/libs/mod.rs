//! The four C libraries Redis 7.0 loads into the scripting environment, rewritten in Rust: `cjson` (lua-cjson
//! 2.1.0), `cmsgpack` (lua-cmsgpack 0.4.0), `struct` (lua-struct 0.2) and `bit` (LuaBitOp 1.0.2).
//!
//! Each library lives in its own file and builds a table of functions; [`install`] sets them as globals, as
//! Redis's `scriptingInit` does through `luaLoadLib`. This file also holds the one piece of glue every library
//! function goes through: [`function`], which makes a Rust implementation behave like a C function registered with
//! `luaL_register` (plain string errors, `luaL_where` positions, `luaL_argerror` names).
//!
//! What does not belong here: sandboxing, the `redis` table, and anything touching the keyspace.

mod args;
mod bit;
mod cjson;
mod cmsgpack;
mod number;
mod refs;
mod structlib;
#[cfg(test)]
mod test_support;

use std::cell::Cell;
use std::ffi::c_int;

use mlua::{ffi, Function, LightUserData, Lua, MaybeSend, MultiValue, Value};

use args::{Args, LibError, LibResult};

/// Sets the globals `cjson`, `cmsgpack`, `struct` and `bit` in `lua`.
///
/// # Errors
/// Only mlua failures (out of memory) while building the tables.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.raw_set("cjson", cjson::create(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::create(lua)?)?;
    globals.raw_set("struct", structlib::create(lua)?)?;
    globals.raw_set("bit", bit::create(lua)?)?;
    Ok(())
}

// Tags a failed call's results for the trampoline. Their addresses are what matters: a script can never make a
// light userdata that points at them.
static TAG_RAISE: u8 = 0;
static TAG_ARG: u8 = 0;
static TAG_BARE: u8 = 0;
static TAG_MANY: u8 = 0;
static TAG_ARGS: u8 = 0;

/// Calls with more arguments than this pass them to the Rust side in a table (see `args.rs`).
const MANY_ARGS: c_int = 64;

/// Results above this count travel to the trampoline in a table (see [`results_from_table`]).
const MANY_RESULTS: usize = 64;

fn tag(t: &'static u8) -> LightUserData {
    LightUserData(std::ptr::from_ref(t).cast_mut().cast())
}

thread_local! {
    /// Numeric arguments of the current call that mlua's `Value` conversion would alter, as (position, value).
    ///
    /// mlua turns every Lua 5.1 number within `f64::EPSILON` of an integer into `Value::Integer`, so `-0` and
    /// numbers below 2.2e-16 in magnitude would reach Rust as `0`. The trampoline reads the arguments off the Lua
    /// stack before mlua does and leaves the exact values here; [`Args::new`] puts them back.
    static EXACT_ARGS: Cell<Vec<(usize, f64)>> = const { Cell::new(Vec::new()) };
}

/// True for the numbers mlua would turn into `Value::Integer(0)` although they are not `+0`.
fn mangled_by_mlua(n: f64) -> bool {
    (n == 0.0 && n.is_sign_negative()) || (n != 0.0 && n.abs() < f64::EPSILON)
}

/// The C function each library function is exposed as; its one upvalue is the mlua function doing the work.
///
/// It calls the Rust implementation and, when that returns a failure tag, raises the error the way the C library
/// would: `luaL_error` (prefixed with `luaL_where(L, 1)`, the caller's position), `luaL_argerror` (which names the
/// function as the caller spelled it, `?` under `pcall`), or a bare message as Lua's own runtime errors inside a C
/// function have. Raising from here rather than from the Rust callback is what makes the error a plain string:
/// mlua raises callback errors as userdata.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    let mut exact = EXACT_ARGS.with(Cell::take);
    exact.clear();
    for i in 1..=nargs {
        if ffi::lua_type(state, i) == ffi::LUA_TNUMBER {
            let n = ffi::lua_tonumber(state, i);
            if mangled_by_mlua(n) {
                exact.push((i as usize, n));
            }
        }
    }
    EXACT_ARGS.with(|c| c.set(exact));

    if nargs > MANY_ARGS {
        // (tag, table of the arguments, count) instead of the arguments themselves.
        ffi::lua_createtable(state, nargs, 0);
        for i in 1..=nargs {
            ffi::lua_pushvalue(state, i);
            ffi::lua_rawseti(state, -2, i64::from(i));
        }
        ffi::lua_replace(state, 1);
        ffi::lua_settop(state, 1);
        ffi::lua_pushlightuserdata(state, tag(&TAG_ARGS).0);
        ffi::lua_insert(state, 1);
        ffi::lua_pushinteger(state, ffi::lua_Integer::from(nargs));
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, 3, ffi::LUA_MULTRET);
    } else {
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    }
    let nres = ffi::lua_gettop(state);
    if nres >= 2 && ffi::lua_type(state, 1) == ffi::LUA_TLIGHTUSERDATA {
        let t = ffi::lua_touserdata(state, 1);
        if t == tag(&TAG_RAISE).0 {
            ffi::luaL_where(state, 1);
            ffi::lua_pushvalue(state, 2);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state);
        }
        if t == tag(&TAG_ARG).0 && nres >= 3 {
            let narg = ffi::lua_tointeger(state, 2) as c_int;
            return ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 3));
        }
        if t == tag(&TAG_MANY).0 && nres >= 3 {
            // mlua cannot return as many values as a C function may (its own bookkeeping takes stack slots), so
            // long result lists come as (tag, table, n) and are spread here, where Lua's 8000-slot limit is the
            // only one, as for the C libraries.
            let n = ffi::lua_tointeger(state, 3) as c_int;
            ffi::lua_settop(state, 2);
            ffi::lua_replace(state, 1);
            if ffi::lua_checkstack(state, n) == 0 {
                ffi::lua_pushstring(state, c"stack overflow".as_ptr());
                ffi::lua_error(state);
            }
            for i in 1..=n {
                ffi::lua_rawgeti(state, 1, i64::from(i));
            }
            return n;
        }
        if t == tag(&TAG_BARE).0 {
            ffi::lua_pushvalue(state, 2);
            ffi::lua_error(state);
        }
    }
    nres
}

/// Wraps `f` as a library function: a C closure around the trampoline, so errors look like the C library's.
///
/// # Errors
/// Only mlua failures (out of memory).
fn function<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Args) -> LibResult<MultiValue> + MaybeSend + 'static,
{
    let inner = lua.create_function(move |lua, mv: MultiValue| match f(lua, Args::new(mv)) {
        Ok(values) => Ok(values),
        Err(LibError::Lua(e)) => Err(e),
        Err(LibError::Raise(msg)) => Ok(MultiValue::from_vec(vec![
            Value::LightUserData(tag(&TAG_RAISE)),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(LibError::Arg(narg, msg)) => Ok(MultiValue::from_vec(vec![
            Value::LightUserData(tag(&TAG_ARG)),
            Value::Integer(i64::from(narg)),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(LibError::Bare(msg)) => {
            Ok(MultiValue::from_vec(vec![Value::LightUserData(tag(&TAG_BARE)), Value::String(lua.create_string(msg)?)]))
        }
    })?;
    // SAFETY: the closure consumes the one value `exec_raw` pushed (the mlua function) as its upvalue and leaves
    // itself as the only result; `trampoline` keeps to its own frame and the slots Lua guarantees a C function.
    unsafe { lua.exec_raw::<Function>(inner, |state| ffi::lua_pushcclosure(state, trampoline, 1)) }
}

/// The first `n` entries of `table` as a function's results. Long lists are left in the table, tagged for the
/// trampoline to spread: mlua cannot return as many values as a C function may, and holding them as separate
/// mlua values could exhaust its references (see `refs.rs`).
fn results_from_table(table: mlua::Table, n: usize) -> mlua::Result<MultiValue> {
    if n > MANY_RESULTS {
        return Ok(MultiValue::from_vec(vec![
            Value::LightUserData(tag(&TAG_MANY)),
            Value::Table(table),
            Value::Integer(n as i64),
        ]));
    }
    (1..=n)
        .map(|i| exact_number(table.raw_get::<Value>(i)?, || table.raw_get::<f64>(i)))
        .collect::<mlua::Result<Vec<_>>>()
        .map(MultiValue::from_vec)
}

/// Reads a table value exactly: mlua reports numbers near zero (including `-0`) as integer 0, so those are read
/// again as `f64`, which mlua takes straight from the Lua stack.
fn exact_number(v: Value, reread: impl FnOnce() -> mlua::Result<f64>) -> mlua::Result<Value> {
    match v {
        Value::Integer(0) => Ok(Value::Number(reread()?)),
        v => Ok(v),
    }
}
