//! Conversions between command replies and Lua values, by Redis's documented rules.
//!
//! A command's reply reaches the script in the shape the script's protocol (`redis.setresp`) gives it: RESP2
//! turns nulls into `false`, maps into flat arrays, doubles into strings and booleans into 1/0; RESP3 keeps them as
//! `nil`, `{map=...}`, `{double=...}` and Lua booleans. Status replies become `{ok=...}` and errors `{err=...}`.
//! A script's return value goes the other way: numbers are truncated to integers, `false` is a null (a RESP3
//! `false` under `setresp(3)`), a table stops at its first `nil`, and the single-field tables name the reply kind.

use crate::protocol::Reply;
use bytes::Bytes;
use mlua::{Lua, Table, Value};

/// A command's reply as a Lua value, for a script speaking `resp` (2 or 3). Errors become `{err=...}`; the caller
/// decides whether to raise them.
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp: u8) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Simple(s) => status_table(lua, s.as_bytes())?,
        Reply::SimpleOwned(s) => status_table(lua, s.as_bytes())?,
        Reply::Error(e) => error_table(lua, e.as_bytes())?,
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Verbatim(format, b) if resp == 3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", *format)?;
            inner.raw_set("string", lua.create_string(b)?)?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", inner)?;
            Value::Table(t)
        }
        Reply::Verbatim(_, b) => Value::String(lua.create_string(b)?),
        Reply::BigNum(n) if resp == 3 => {
            let t = lua.create_table()?;
            t.raw_set("big_number", n.as_str())?;
            Value::Table(t)
        }
        Reply::BigNum(n) => Value::String(lua.create_string(n)?),
        // Attributes are not shown to scripts (Redis 7.0 parses and drops them).
        Reply::Attributed(_, reply) => reply_to_lua(lua, reply, resp)?,
        Reply::Nil | Reply::NilArray => {
            if resp == 3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) | Reply::Sequence(items) => array(lua, items, resp)?,
        Reply::Set(items) if resp == 3 => {
            let set = lua.create_table()?;
            for it in items {
                set.raw_set(reply_to_lua(lua, it, resp)?, true)?;
            }
            let t = lua.create_table()?;
            t.raw_set("set", set)?;
            Value::Table(t)
        }
        Reply::Set(items) => array(lua, items, resp)?,
        Reply::Map(pairs) if resp == 3 => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
            }
            let t = lua.create_table()?;
            t.raw_set("map", map)?;
            Value::Table(t)
        }
        Reply::Map(pairs) => {
            let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            let mut i = 1;
            for (k, v) in pairs {
                t.raw_set(i, reply_to_lua(lua, k, resp)?)?;
                t.raw_set(i + 1, reply_to_lua(lua, v, resp)?)?;
                i += 2;
            }
            Value::Table(t)
        }
        Reply::Double(d) if resp == 3 => {
            let t = lua.create_table()?;
            t.raw_set("double", *d)?;
            Value::Table(t)
        }
        Reply::Double(d) => Value::String(lua.create_string(crate::util::num::format_double(*d))?),
        Reply::DoubleText(s) if resp == 3 => {
            let t = lua.create_table()?;
            t.raw_set("double", s.parse::<f64>().unwrap_or(0.0))?;
            Value::Table(t)
        }
        Reply::DoubleText(s) => Value::String(lua.create_string(s)?),
        Reply::Bool(b) if resp == 3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Number(if *b { 1.0 } else { 0.0 }),
    })
}

fn array(lua: &Lua, items: &[Reply], resp: u8) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, it) in items.iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, it, resp)?)?;
    }
    Ok(Value::Table(t))
}

/// `{ok=text}`.
pub fn status_table(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("ok", lua.create_string(text)?)?;
    Ok(Value::Table(t))
}

/// `{err=text}`.
pub fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(text)?)?;
    Ok(Value::Table(t))
}

/// A Lua number as Redis's `(long long)` cast leaves it on x86: truncated toward zero, and the "integer
/// indefinite" value for NaN and anything out of range.
pub fn lua_number_to_int(n: f64) -> i64 {
    // 2^63 is exactly representable, so the in-range test is exact.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// Status and error texts cannot carry line breaks on the wire; Redis replaces them with spaces.
fn one_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace(['\r', '\n'], " ")
}

/// How deep a script's reply may nest. A table that contains itself would otherwise recurse until the script
/// thread's stack overflows, which aborts the process; Redis stops at its Lua stack limit (about 8,000 levels)
/// with the same error. This limit is lower so that the reply is also safe to encode and drop on a connection
/// thread's stack, in debug builds too.
const MAX_REPLY_DEPTH: usize = 200;

/// A script's return value as a reply, for a script speaking `resp`.
pub fn lua_to_reply(v: &Value, resp: u8) -> Reply {
    to_reply(v, resp, 0)
}

fn to_reply(v: &Value, resp: u8, depth: usize) -> Reply {
    match v {
        Value::Nil => Reply::Nil,
        Value::Boolean(b) if resp == 3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Boolean(false) => Reply::Nil,
        Value::Integer(n) => Reply::Int(*n),
        Value::Number(n) => Reply::Int(lua_number_to_int(*n)),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(_) if depth >= MAX_REPLY_DEPTH => Reply::Error("ERR reached lua stack limit".into()),
        Value::Table(t) => table_to_reply(t, resp, depth + 1),
        _ => Reply::Nil,
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize) -> Reply {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        return Reply::Error(one_line(&e.as_bytes()));
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return Reply::SimpleOwned(one_line(&s.as_bytes()));
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return Reply::Double(d);
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        return Reply::BigNum(one_line(&s.as_bytes()));
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| (to_reply(&k, resp, depth), to_reply(&v, resp, depth)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let items = s.pairs::<Value, Value>().filter_map(Result::ok).map(|(k, _)| to_reply(&k, resp, depth)).collect();
        return Reply::Set(items);
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let Ok(Value::String(s)) = v.raw_get::<Value>("string") {
            return Reply::Verbatim("txt", Bytes::copy_from_slice(&s.as_bytes()));
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp, depth)),
        }
    }
    Reply::Array(items)
}
