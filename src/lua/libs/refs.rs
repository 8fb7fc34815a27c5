//! Holding many Lua values from Rust without running out of mlua references.
//!
//! mlua keeps every `Table`, `String` or `Function` held in Rust in a slot of an auxiliary Lua thread whose stack,
//! like any C stack in Lua 5.1, is limited to 8000 slots; going past that panics. The C libraries hold their
//! intermediate values on the Lua stack instead, and can nest thousands deep or return thousands of values. The
//! codecs here do the same through [`LuaStack`], a Lua table used as a stack, which costs one reference however
//! many values it holds, and walk tables with [`LuaStack::next_pair`], which keeps the current key in Lua.

use mlua::{ffi, FromLua, IntoLua, Lua, MultiValue, Table, Value};

/// A stack of Lua values stored in a Lua table.
pub struct LuaStack {
    table: Table,
    len: usize,
}

impl LuaStack {
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        Ok(LuaStack { table: lua.create_table()?, len: 0 })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, v: impl IntoLua) -> mlua::Result<()> {
        self.len += 1;
        self.table.raw_set(self.len, v)
    }

    /// The value on top (nil when empty).
    pub fn top<V: FromLua>(&self) -> mlua::Result<V> {
        self.table.raw_get(self.len)
    }

    /// The value `depth` entries below the top (0: the top).
    pub fn peek<V: FromLua>(&self, depth: usize) -> mlua::Result<V> {
        self.table.raw_get(self.len.wrapping_sub(depth))
    }

    /// Removes and returns the top value (nil when empty).
    pub fn pop<V: FromLua>(&mut self) -> mlua::Result<V> {
        let v = self.table.raw_get(self.len)?;
        if self.len > 0 {
            self.table.raw_set(self.len, Value::Nil)?;
            self.len -= 1;
        }
        Ok(v)
    }

    /// Removes and returns the top value, reading numbers exactly (see `exact_number`).
    pub fn pop_value(&mut self) -> mlua::Result<Value> {
        let v = super::exact_number(self.table.raw_get(self.len)?, || self.table.raw_get::<f64>(self.len))?;
        self.pop::<Value>()?;
        Ok(v)
    }

    /// Replaces the value at 1-based `index`.
    pub fn set(&self, index: usize, v: impl IntoLua) -> mlua::Result<()> {
        self.table.raw_set(index, v)
    }

    /// The values as a function's results, bottom first.
    pub fn into_results(self) -> mlua::Result<MultiValue> {
        super::results_from_table(self.table, self.len)
    }
}

impl LuaStack {
    /// One step of a `lua_next` walk over `t` whose current key lives in slot `slot` of this stack (nil: not
    /// started): stores the next key there and returns it with its value, or `None` at the end. Values are read
    /// raw, without metamethods, as the C libraries read them.
    ///
    /// The key stays on the Lua side between steps because mlua would turn a key such as `1e-300` into integer
    /// 0, which `next` rejects ("invalid key to 'next'"); for the same reason numbers near zero are read again as
    /// `f64`.
    pub fn next_pair(&self, lua: &Lua, t: &Table, slot: usize) -> mlua::Result<Option<(Value, Value)>> {
        // SAFETY: `exec_raw` pushed this stack's table, the slot and `t` (indices -3, -2, -1). The slot's key is
        // pushed and `lua_next` replaces it with the next key and value, the key being copied back into the slot;
        // at the end two nils take their place. Everything runs inside mlua's protected call, which turns Lua
        // errors (such as a key removed during the walk) into Rust errors.
        let (_, _, _, k, v): (Value, Value, Value, Value, Value) = unsafe {
            lua.exec_raw((self.table.clone(), slot, t.clone()), |state| {
                let slot = ffi::lua_tointeger(state, -2);
                ffi::lua_rawgeti(state, -3, slot);
                if ffi::lua_next(state, -2) == 0 {
                    ffi::lua_pushnil(state);
                    ffi::lua_pushnil(state);
                    ffi::lua_pushnil(state);
                    ffi::lua_rawseti(state, -6, slot);
                } else {
                    ffi::lua_pushvalue(state, -2);
                    ffi::lua_rawseti(state, -6, slot);
                }
            })
        }?;
        if k.is_nil() {
            return Ok(None);
        }
        let k = super::exact_number(k, || self.table.raw_get::<f64>(slot))?;
        let v = super::exact_number(v, || t.raw_get::<f64>(k.clone()))?;
        Ok(Some((k, v)))
    }
}

/// Calls `f` with the entries of `t` in `next` order (raw, numbers exact: see [`LuaStack::next_pair`]) until it
/// returns false.
pub fn for_each_pair<E: From<mlua::Error>>(
    lua: &Lua,
    t: &Table,
    mut f: impl FnMut(Value, Value) -> Result<bool, E>,
) -> Result<(), E> {
    let mut cursor = LuaStack::new(lua)?;
    cursor.push(Value::Nil)?;
    while let Some((k, v)) = cursor.next_pair(lua, t, 1)? {
        if !f(k, v)? {
            break;
        }
    }
    Ok(())
}
