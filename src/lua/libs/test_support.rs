//! Helpers for the libraries' unit tests: a Lua state with the libraries installed, and runners that name the
//! chunk `@user_script` as Redis 7.0 does, so error positions read `user_script:1:` as in Redis's replies.

use mlua::Lua;

/// A fresh Lua state with `cjson`, `cmsgpack`, `struct` and `bit` installed.
pub fn lua() -> Lua {
    let lua = Lua::new();
    super::install(&lua).unwrap();
    lua
}

/// Runs `code` (which must `return` one value) and converts the result to a string.
pub fn eval(lua: &Lua, code: &str) -> String {
    lua.load(code).set_name("@user_script").eval::<String>().unwrap()
}

/// Runs `code` under pcall; it must fail with a string error, which is returned.
pub fn err(lua: &Lua, code: &str) -> String {
    let wrapped = format!(
        "local ok, e = pcall(function()\n{code}\nend) assert(not ok, 'no error') \
         assert(type(e) == 'string', 'error is a ' .. type(e)) return e"
    );
    eval(lua, &wrapped)
}

/// Runs `code` (which must return a string) and renders the bytes as lowercase hex.
pub fn hex(lua: &Lua, code: &str) -> String {
    let s = lua.load(code).set_name("@user_script").eval::<mlua::String>().unwrap();
    s.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
