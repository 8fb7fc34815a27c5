//! String commands: GET/SET and friends, counters, ranges, LCS.

use super::args::{int, is};
use super::ctx::{Ctx, Ttl};
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::Reply;
use crate::store::bits;
use crate::store::event::Event;
use crate::store::{Entry, StrValue, Value};
use bytes::Bytes;

/// Largest string a command may build (proto-max-bulk-len).
fn check_len(ctx: &Ctx<'_>, len: u64) -> CmdResult<()> {
    let max = ctx.srv.hot.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed) as u64;
    if len > max {
        return Err(error::STRING_TOO_LONG);
    }
    Ok(())
}

fn bulk(v: &StrValue) -> Reply {
    Reply::Bulk(v.to_bytes())
}

fn ms_bytes(ms: u64) -> Bytes {
    Bytes::from(ms.to_string())
}

/// The unit of an EX/PX/EXAT/PXAT option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Options shared by SET and GETEX (Redis's parseExtendedStringArgumentsOrReply).
#[derive(Debug, Default, Clone)]
pub struct StrOpts {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keepttl: bool,
    pub persist: bool,
    /// The expiry option as given; [`StrOpts::expire_at`] validates it (SET does so at once, GETEX only once the
    /// key is found, as Redis does).
    pub expire: Option<(ExpireUnit, Bytes)>,
}

/// Which command the options belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrCmd {
    Set,
    GetEx,
}

impl StrOpts {
    /// The absolute expiry in unix ms, if an expiry option was given.
    ///
    /// # Errors
    /// `ERR value is not an integer or out of range`, `ERR invalid expire time in '<name>' command`.
    pub fn expire_at(&self, now_ms: u64, name: &str) -> CmdResult<Option<u64>> {
        let Some((u, v)) = &self.expire else { return Ok(None) };
        let n = int(v)?;
        let seconds = matches!(u, ExpireUnit::Ex | ExpireUnit::ExAt);
        if n <= 0 || (seconds && n > i64::MAX / 1000) {
            return Err(CmdError::invalid_expire(name));
        }
        let mut ms = if seconds { n * 1000 } else { n };
        if matches!(u, ExpireUnit::Ex | ExpireUnit::Px) {
            ms = ms.checked_add(now_ms as i64).ok_or_else(|| CmdError::invalid_expire(name))?;
        }
        Ok(Some(ms as u64))
    }
}

/// Parses SET / GETEX options from `args[from..]` (syntax only).
///
/// # Errors
/// `ERR syntax error`.
pub fn parse_str_opts(args: &[Bytes], from: usize, which: StrCmd) -> CmdResult<StrOpts> {
    let mut o = StrOpts::default();
    let set = which == StrCmd::Set;
    let mut j = from;
    while j < args.len() {
        let a = &args[j];
        let next = args.get(j + 1);
        let unit = if is(a, "EX") {
            Some(ExpireUnit::Ex)
        } else if is(a, "PX") {
            Some(ExpireUnit::Px)
        } else if is(a, "EXAT") {
            Some(ExpireUnit::ExAt)
        } else if is(a, "PXAT") {
            Some(ExpireUnit::PxAt)
        } else {
            None
        };
        if is(a, "NX") && !o.xx && set {
            o.nx = true;
        } else if is(a, "XX") && !o.nx && set {
            o.xx = true;
        } else if is(a, "GET") && set {
            o.get = true;
        } else if is(a, "KEEPTTL") && !o.persist && o.expire.is_none() && set {
            o.keepttl = true;
        } else if is(a, "PERSIST") && !set && o.expire.is_none() && !o.keepttl {
            o.persist = true;
        } else if let (Some(u), Some(n)) = (unit, next) {
            // Repeating the same unit is allowed (the last wins); mixing units is not.
            let other_unit = o.expire.as_ref().is_some_and(|(x, _)| *x != u);
            if o.keepttl || o.persist || other_unit {
                return Err(error::SYNTAX);
            }
            o.expire = Some((u, n.clone()));
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    match ctx.read(&args[1]) {
        Some(Entry { value: Value::Str(s), .. }) => Ok(bulk(s)),
        Some(_) => Err(error::WRONGTYPE),
        None => Ok(Reply::Nil),
    }
}

/// Writes `value` with SET's semantics; returns the reply.
fn set_generic(ctx: &mut Ctx<'_>, key: &Bytes, value: &[u8], o: StrOpts, expire_at: Option<u64>) -> CmdResult<Reply> {
    let old = if o.get { Some(ctx.read_str(key)?) } else { None };
    let found = match &old {
        Some(v) => v.is_some(),
        None => ctx.peek(key).is_some(),
    };
    let old_reply = || match &old {
        Some(Some(v)) => bulk(v),
        _ => Reply::Nil,
    };
    if (o.nx && found) || (o.xx && !found) {
        return Ok(if o.get { old_reply() } else { Reply::Nil });
    }
    let ttl = match (expire_at, o.keepttl) {
        (Some(at), _) => Ttl::At(at),
        (None, true) => Ttl::Keep,
        (None, false) => Ttl::Clear,
    };
    ctx.set(key, Value::Str(stored_form(ctx, value)), ttl, Event::Set);
    if expire_at.is_some() {
        ctx.notify(key, Event::Expire);
    }
    if let Some(at) = expire_at {
        ctx.emit(vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            Bytes::copy_from_slice(value),
            Bytes::from_static(b"PXAT"),
            ms_bytes(at),
        ]);
    } else if !o.get {
        // SET without an expiry (NX, XX and KEEPTTL held on the primary, so they hold on replay) and SETNX: the
        // command as sent, so the common SET allocates nothing for its effect.
        ctx.emit_as_sent();
    } else {
        // GETSET and SET ... GET: without the GET, as Redis propagates them.
        let mut e = vec![Bytes::from_static(b"SET"), key.clone(), Bytes::copy_from_slice(value)];
        if o.keepttl {
            e.push(Bytes::from_static(b"KEEPTTL"));
        }
        ctx.emit(e);
    }
    Ok(if o.get { old_reply() } else { Reply::OK })
}

/// The representation a written string is stored in: compressed at once when every value counts as cold
/// (`compression-cold-seconds 0`) and it is large enough, otherwise as Redis would encode it.
pub fn stored_form(ctx: &Ctx<'_>, value: &[u8]) -> StrValue {
    let hot = &ctx.srv.hot;
    if hot.compression.load(std::sync::atomic::Ordering::Relaxed)
        && hot.compression_cold_secs.load(std::sync::atomic::Ordering::Relaxed) == 0
        && value.len() >= hot.compression_min_size.load(std::sync::atomic::Ordering::Relaxed)
    {
        // Every value is cold already, so zstd applies at once when the policy wants it after 0 seconds.
        let zstd = ctx.srv.hot.compression_zstd_after() == Some(0);
        if let Some(c) = ctx.srv.tier.compress_on_write(value, zstd) {
            return StrValue::Compressed(c);
        }
    }
    StrValue::from_slice(value)
}

fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let o = parse_str_opts(args, 3, StrCmd::Set)?;
    let at = o.expire_at(ctx.now_ms, "set")?;
    set_generic(ctx, &args[1], &args[2], o, at)
}

fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if ctx.peek(&args[1]).is_some() {
        return Ok(Reply::Int(0));
    }
    set_generic(ctx, &args[1], &args[2], StrOpts::default(), None)?;
    Ok(Reply::Int(1))
}

fn setex_generic(ctx: &mut Ctx<'_>, args: &[Bytes], unit_ms: i64, name: &str) -> CmdResult<Reply> {
    let n = int(&args[2])?;
    if n <= 0 || (unit_ms == 1000 && n > i64::MAX / 1000) {
        return Err(CmdError::invalid_expire(name));
    }
    let at = (n * unit_ms).checked_add(ctx.now_ms as i64).ok_or_else(|| CmdError::invalid_expire(name))?;
    set_generic(ctx, &args[1], &args[3], StrOpts::default(), Some(at as u64))
}

fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, args, 1000, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, args, 1, "psetex")
}

fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let o = StrOpts { get: true, ..Default::default() };
    set_generic(ctx, &args[1], &args[2], o, None)
}

fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let Some(v) = ctx.read_str(&args[1])? else { return Ok(Reply::Nil) };
    ctx.remove(&args[1]);
    ctx.emit(vec![Bytes::from_static(b"DEL"), args[1].clone()]);
    Ok(Reply::Bulk(v.into_bytes()))
}

fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let o = parse_str_opts(args, 2, StrCmd::GetEx)?;
    let key = &args[1];
    let Some(v) = ctx.read_str(key)? else { return Ok(Reply::Nil) };
    if let Some(at) = o.expire_at(ctx.now_ms, "getex")? {
        if at <= ctx.now_ms {
            ctx.remove_in(ctx.db(), key, Event::Del);
            ctx.emit(vec![Bytes::from_static(b"DEL"), key.clone()]);
        } else {
            ctx.set_expire(key, at, Event::Expire);
            ctx.emit(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), ms_bytes(at)]);
        }
    } else if o.persist && ctx.expire_of(key).is_some_and(|at| at != 0) {
        ctx.set_expire(key, 0, Event::Persist);
        ctx.emit(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
    }
    Ok(Reply::Bulk(v.into_bytes()))
}

fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut out = Vec::with_capacity(args.len() - 1);
    for k in &args[1..] {
        out.push(match ctx.read(k) {
            Some(Entry { value: Value::Str(s), .. }) => bulk(s),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity("mset"));
    }
    for kv in args[1..].chunks(2) {
        ctx.set(&kv[0], Value::Str(StrValue::from_slice(&kv[1])), Ttl::Clear, Event::Set);
    }
    Ok(Reply::OK)
}

fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity("msetnx"));
    }
    if args[1..].chunks(2).any(|kv| ctx.peek(&kv[0]).is_some()) {
        return Ok(Reply::Int(0));
    }
    for kv in args[1..].chunks(2) {
        ctx.set(&kv[0], Value::Str(StrValue::from_slice(&kv[1])), Ttl::Clear, Event::Set);
    }
    Ok(Reply::Int(1))
}

fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    match ctx.read(&args[1]) {
        Some(Entry { value: Value::Str(s), .. }) => Ok(Reply::Int(s.len() as i64)),
        Some(_) => Err(error::WRONGTYPE),
        None => Ok(Reply::Int(0)),
    }
}

fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let add = &args[2];
    match ctx.write(key) {
        None => {
            ctx.set(key, Value::Str(StrValue::from_slice(add)), Ttl::Clear, Event::Append);
            Ok(Reply::Int(add.len() as i64))
        }
        Some(Entry { value: Value::Str(s), .. }) => {
            let new_len = (s.len() + add.len()) as u64;
            let max = ctx.srv.hot.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed) as u64;
            if new_len > max {
                return Err(error::STRING_TOO_LONG);
            }
            let Some(Entry { value: Value::Str(s), .. }) = ctx.write(key) else { return Err(error::WRONGTYPE) };
            let mut v = std::mem::replace(s, StrValue::Int(0)).into_vec();
            v.extend_from_slice(add);
            *s = StrValue::raw(v);
            ctx.modified(key, Event::Append);
            Ok(Reply::Int(new_len as i64))
        }
        Some(_) => Err(error::WRONGTYPE),
    }
}

fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut start = int(&args[2])?;
    let mut end = int(&args[3])?;
    // Only the range is copied out of the stored value.
    ctx.read_str_with(&args[1], |v| {
        let b = v.unwrap_or_default();
        let len = b.len() as i64;
        if start < 0 && end < 0 && start > end {
            return Reply::bulk_static("");
        }
        if start < 0 {
            start += len;
        }
        if end < 0 {
            end += len;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            return Reply::bulk_static("");
        }
        Reply::bulk(&b[start as usize..=end as usize])
    })
}

fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let offset = int(&args[2])?;
    let val = &args[3];
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let too_long = check_len(ctx, offset + val.len() as u64);
    ctx.modify_str(key, Event::Setrange, |v, _| {
        if val.is_empty() {
            return Ok((Reply::Int(v.len() as i64), false));
        }
        too_long?;
        let end = offset as usize + val.len();
        if v.len() < end {
            v.resize(end, 0);
        }
        v[offset as usize..end].copy_from_slice(val);
        Ok((Reply::Int(v.len() as i64), true))
    })
}

fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult<Reply> {
    let cur = match ctx.write(key) {
        None => 0,
        Some(Entry { value: Value::Str(StrValue::Int(n)), .. }) => *n,
        Some(Entry { value: Value::Str(s), .. }) => {
            if s.len() > 20 {
                return Err(error::NOT_INTEGER);
            }
            crate::util::num::parse_i64(&s.to_bytes()).ok_or(error::NOT_INTEGER)?
        }
        Some(_) => return Err(error::WRONGTYPE),
    };
    let new = cur.checked_add(delta).ok_or(error::OVERFLOW)?;
    match ctx.write(key) {
        Some(e) => {
            e.value = Value::Str(StrValue::Int(new));
            ctx.modified(key, Event::Incrby);
        }
        None => ctx.set(key, Value::Str(StrValue::Int(new)), Ttl::Keep, Event::Incrby),
    }
    Ok(Reply::Int(new))
}

fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let d = int(&args[2])?;
    incr_by(ctx, &args[1], d)
}

fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let d = int(&args[2])?;
    if d == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_by(ctx, &args[1], -d)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let cur = ctx.lookup_write_as(key, Value::as_str)?.map_or(Bytes::from_static(b"0"), |s| s.to_bytes());
    let text = crate::util::num::long_double_add(&cur, &args[2]).map_err(|e| match e {
        crate::util::num::LdAddError::NotFloat => error::NOT_FLOAT,
        crate::util::num::LdAddError::NanOrInf => error::INCR_NAN_INF,
    })?;
    let b = Bytes::from(text);
    match ctx.write(key) {
        Some(e) => {
            e.value = Value::Str(StrValue::embstr(&b));
            ctx.modified(key, Event::Incrbyfloat);
        }
        None => ctx.set(key, Value::Str(StrValue::embstr(&b)), Ttl::Keep, Event::Incrbyfloat),
    }
    // Replayed as a SET so float rounding cannot differ on the other side.
    ctx.emit(vec![Bytes::from_static(b"SET"), key.clone(), b.clone(), Bytes::from_static(b"KEEPTTL")]);
    Ok(Reply::Bulk(b))
}

fn lcs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let mut values = Vec::with_capacity(2);
    for k in &args[1..3] {
        values.push(match ctx.read(k) {
            None => Bytes::new(),
            Some(Entry { value: Value::Str(s), .. }) => s.to_bytes(),
            Some(_) => return Err(CmdError::err("The specified keys must contain string values")),
        });
    }
    let (mut len_only, mut idx, mut withlen, mut minlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < args.len() {
        let a = &args[j];
        if is(a, "IDX") {
            idx = true;
        } else if is(a, "LEN") {
            len_only = true;
        } else if is(a, "WITHMATCHLEN") {
            withlen = true;
        } else if is(a, "MINMATCHLEN") && j + 1 < args.len() {
            minlen = int(&args[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    if len_only && idx {
        return Err(CmdError::err("If you want both the length and indexes, please just use IDX."));
    }
    let limit = ctx.srv.hot.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed) as u64;
    let lcs_err = |e: bits::LcsError| CmdError::err(e.message().trim_start_matches("ERR "));
    if len_only {
        let n = bits::lcs_len_with_limit(&values[0], &values[1], limit).map_err(lcs_err)?;
        return Ok(Reply::Int(n as i64));
    }
    let r = bits::lcs_with_limit(&values[0], &values[1], limit).map_err(lcs_err)?;
    if !idx {
        return Ok(Reply::Bulk(Bytes::from(r.string)));
    }
    let pair = |(a, b): (usize, usize)| Reply::Array(vec![Reply::Int(a as i64), Reply::Int(b as i64)]);
    let matches = r
        .matches
        .into_iter()
        .filter(|m| minlen == 0 || m.2 as i64 >= minlen)
        .map(|(a, b, n)| {
            let mut v = vec![pair(a), pair(b)];
            if withlen {
                v.push(Reply::Int(n as i64));
            }
            Reply::Array(v)
        })
        .collect();
    Ok(Reply::Map(vec![
        (Reply::bulk_static("matches"), Reply::Array(matches)),
        (Reply::bulk_static("len"), Reply::Int(r.len as i64)),
    ]))
}

const G: &str = "string";
const OW: &[&str] = &["OW", "update"];
/// SET's key spec: what it does to the key depends on GET (resolved by `CommandSpec::key_flags_for`).
const VARIABLE: &[&str] = &["RW", "access", "update", "variable_flags"];

/// The string family's rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, Keys::one(1), get).doc(G, "1.0.0", "Returns the string value of a key.", "key").complexity("O(1)"),
    spec("set", -3, WRITE | DENYOOM, Keys::one(1), set).rewritten().key_flags(VARIABLE).key_notes("RW and ACCESS due to the optional `GET` argument").doc(G, "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "key value [condition=NX | XX] [GET] [expiration=EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]").complexity("O(1)"),
    spec("setnx", 3, WRITE | DENYOOM | FAST, Keys::one(1), setnx).rewritten().key_flags(&["OW", "insert"]).doc(G, "1.0.0", "Set the string value of a key only when the key doesn't exist.", "key value").complexity("O(1)"),
    spec("setex", 4, WRITE | DENYOOM, Keys::one(1), setex).rewritten().key_flags(OW).doc(G, "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "key seconds value").complexity("O(1)"),
    spec("psetex", 4, WRITE | DENYOOM, Keys::one(1), psetex).rewritten().key_flags(OW).doc(G, "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "key milliseconds value").complexity("O(1)"),
    spec("getset", 3, WRITE | DENYOOM | FAST, Keys::one(1), getset).rewritten().doc(G, "1.0.0", "Returns the previous string value of a key after setting it to a new value.", "key value").complexity("O(1)"),
    spec("getdel", 2, WRITE | FAST, Keys::one(1), getdel).rewritten().key_flags(&["RW", "access", "delete"]).doc(G, "6.2.0", "Returns the string value of a key after deleting the key.", "key").complexity("O(1)"),
    spec("getex", -2, WRITE | FAST, Keys::one(1), getex).rewritten().key_notes("RW and UPDATE because it changes the TTL").doc(G, "6.2.0", "Returns the string value of a key after setting its expiration time.", "key [expiration=EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]").complexity("O(1)"),
    spec("mget", -2, READONLY | FAST, Keys::range(1, -1, 1), mget).tips(&["request_policy:multi_shard"]).doc(G, "1.0.0", "Atomically returns the string values of one or more keys.", "key [key ...]").complexity("O(N) where N is the number of keys to retrieve."),
    spec("mset", -3, WRITE | DENYOOM, Keys::range(1, -1, 2), mset).key_flags(OW).tips(&["request_policy:multi_shard", "response_policy:all_succeeded"]).doc(G, "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "key value [key value ...]").complexity("O(N) where N is the number of keys to set."),
    spec("msetnx", -3, WRITE | DENYOOM, Keys::range(1, -1, 2), msetnx).key_flags(&["OW", "insert"]).tips(&["request_policy:multi_shard", "response_policy:agg_min"]).doc(G, "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "key value [key value ...]").complexity("O(N) where N is the number of keys to set."),
    spec("strlen", 2, READONLY | FAST, Keys::one(1), strlen).key_flags(&["RO"]).doc(G, "2.2.0", "Returns the length of a string value.", "key").complexity("O(1)"),
    spec("append", 3, WRITE | DENYOOM | FAST, Keys::one(1), append).key_flags(&["RW", "insert"]).doc(G, "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value").complexity("O(1)"),
    spec("getrange", 4, READONLY, Keys::one(1), getrange).doc(G, "2.4.0", "Returns a substring of the string stored at a key.", "key start end").complexity("O(N) where N is the length of the returned string."),
    spec("substr", 4, READONLY, Keys::one(1), getrange).doc(G, "1.0.0", "Returns a substring from a string value.", "key start end").complexity("O(N) where N is the length of the returned string."),
    spec("setrange", 4, WRITE | DENYOOM, Keys::one(1), setrange).key_flags(&["RW", "update"]).doc(G, "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "key offset value").complexity("O(1), not counting the time taken to copy the new string in place."),
    spec("incr", 2, WRITE | DENYOOM | FAST, Keys::one(1), incr).doc(G, "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key").complexity("O(1)"),
    spec("decr", 2, WRITE | DENYOOM | FAST, Keys::one(1), decr).doc(G, "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "key").complexity("O(1)"),
    spec("incrby", 3, WRITE | DENYOOM | FAST, Keys::one(1), incrby).doc(G, "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment").complexity("O(1)"),
    spec("decrby", 3, WRITE | DENYOOM | FAST, Keys::one(1), decrby).doc(G, "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "key decrement").complexity("O(1)"),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, Keys::one(1), incrbyfloat).rewritten().doc(G, "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "key increment:double").complexity("O(1)"),
    spec("lcs", -3, READONLY, Keys::range(1, 2, 1), lcs).doc(G, "7.0.0", "Finds the longest common substring.", "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len:integer] [WITHMATCHLEN]").complexity("O(N*M) where N and M are the lengths of s1 and s2, respectively"),
];
