//! Argument access for the library functions: the lauxlib checks the C libraries call (`luaL_checknumber`,
//! `luaL_checklstring`, `luaL_optinteger`, ...) with Lua 5.1's conversions and error texts, and the error type the
//! functions return.

use mlua::{Lua, MultiValue, Value};

use super::number::c_double_to_i64;

/// How a library function failed; the trampoline in `mod.rs` raises each kind as its C counterpart would.
#[derive(Debug)]
pub enum LibError {
    /// `luaL_error`: the message, prefixed with the caller's position (`user_script:1: ...`).
    Raise(Vec<u8>),
    /// `luaL_argerror(L, narg, msg)`: `bad argument #narg to 'name' (msg)`.
    Arg(i32, Vec<u8>),
    /// An error Lua itself raises inside a C function (`table index is nil`): no position.
    Bare(Vec<u8>),
    /// An mlua failure (out of memory), passed on unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for LibError {
    fn from(e: mlua::Error) -> Self {
        LibError::Lua(e)
    }
}

/// The result of a library function.
pub type LibResult<T> = Result<T, LibError>;

/// `luaL_error` with `msg`.
pub fn raise(msg: impl Into<Vec<u8>>) -> LibError {
    LibError::Raise(msg.into())
}

/// `luaL_argerror(L, narg, msg)`.
pub fn arg_error(narg: usize, msg: impl Into<Vec<u8>>) -> LibError {
    LibError::Arg(i32::try_from(narg).unwrap_or(i32::MAX), msg.into())
}

/// `luaL_typename`: the type name in "number expected, got X" (`no value` for a missing argument).
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `luaL_typerror`: `bad argument #narg to 'f' (expected expected, got type)`.
fn type_error(narg: usize, expected: &str, got: Option<&Value>) -> LibError {
    arg_error(narg, format!("{expected} expected, got {}", type_name(got)))
}

/// The arguments of one call, 1-based as in the C API.
pub struct Args {
    source: Source,
}

enum Source {
    /// Few arguments, converted by mlua (with the exact numbers put back).
    Values(Vec<Value>),
    /// Many arguments, left in a table by the trampoline and read one at a time: holding thousands of strings as
    /// mlua values could exhaust its references (see `refs.rs`).
    Table(mlua::Table, usize),
}

impl Args {
    /// Takes the call's arguments as the trampoline passed them.
    pub(super) fn new(mv: MultiValue) -> Args {
        let mut vals = mv.into_vec();
        if let [Value::LightUserData(t), Value::Table(table), Value::Integer(n)] = vals.as_slice() {
            if t.0 == super::tag(&super::TAG_ARGS).0 {
                let n = usize::try_from(*n).unwrap_or(0);
                return Args { source: Source::Table(table.clone(), n) };
            }
        }
        for (i, n) in super::EXACT_ARGS.with(std::cell::Cell::take) {
            if let Some(v @ Value::Integer(0)) = vals.get_mut(i.wrapping_sub(1)) {
                *v = Value::Number(n);
            }
        }
        Args { source: Source::Values(vals) }
    }

    /// `lua_gettop`: how many arguments were passed.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Values(v) => v.len(),
            Source::Table(_, n) => *n,
        }
    }

    /// True when no argument was passed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Argument `n`, or `None` past the end ("no value").
    pub fn get(&self, n: usize) -> Option<Value> {
        match &self.source {
            Source::Values(v) => v.get(n.wrapping_sub(1)).cloned(),
            Source::Table(t, len) if (1..=*len).contains(&n) => {
                let v = t.raw_get::<Value>(n).ok()?;
                // mlua reads numbers near zero as integer 0; as f64 they come out exactly.
                match v {
                    Value::Integer(0) => t.raw_get::<f64>(n).ok().map(Value::Number),
                    v => Some(v),
                }
            }
            Source::Table(..) => None,
        }
    }

    /// Argument `n`, `nil` past the end.
    pub fn value(&self, n: usize) -> Value {
        self.get(n).unwrap_or(Value::Nil)
    }

    /// `lua_isnoneornil`.
    pub fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }

    /// `lua_tonumber` with `lua_isnumber`: numbers, and strings Lua converts (`" 0x10 "`).
    pub fn to_number(&self, lua: &Lua, n: usize) -> LibResult<Option<f64>> {
        Ok(match self.get(n) {
            Some(Value::Number(x)) => Some(x),
            Some(Value::Integer(i)) => Some(i as f64),
            Some(v @ Value::String(_)) => lua.coerce_number(v)?,
            _ => None,
        })
    }

    /// `luaL_checknumber`.
    pub fn check_number(&self, lua: &Lua, n: usize) -> LibResult<f64> {
        self.to_number(lua, n)?.ok_or_else(|| type_error(n, "number", self.get(n).as_ref()))
    }

    /// `luaL_checkinteger`: the number truncated as Lua 5.1's `lua_number2integer` cast does on x86-64.
    pub fn check_integer(&self, lua: &Lua, n: usize) -> LibResult<i64> {
        Ok(c_double_to_i64(self.check_number(lua, n)?))
    }

    /// `luaL_optinteger`: `default` when the argument is missing or nil.
    pub fn opt_integer(&self, lua: &Lua, n: usize, default: i64) -> LibResult<i64> {
        if self.is_none_or_nil(n) {
            Ok(default)
        } else {
            self.check_integer(lua, n)
        }
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua does (`%.14g`).
    pub fn check_string(&self, lua: &Lua, n: usize) -> LibResult<mlua::String> {
        match self.get(n) {
            Some(Value::String(s)) => Ok(s),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                lua.coerce_string(v)?.ok_or_else(|| type_error(n, "string", None))
            }
            v => Err(type_error(n, "string", v.as_ref())),
        }
    }
}
