//! DUMP and RESTORE: a key's value in Redis's own serialization (`persist::rdb`), so values move between Strata
//! and redis-server (and between Strata servers, extension values included).
//!
//! # Effects
//! RESTORE with a relative TTL is logged as `RESTORE key <unix ms> payload ... ABSTTL`, as Redis propagates it,
//! so a replay sets the same expiry; one whose TTL is already past creates nothing and is logged only when
//! REPLACE deleted the old key (`DEL key`). Every other RESTORE is logged as sent.

use super::args::{int, is};
use super::ctx::Ctx;
use super::flags::*;
use super::{spec, CommandSpec, Keys};
use crate::config::Id;
use crate::error::{self, CmdResult};
use crate::persist::rdb;
use crate::protocol::Reply;
use crate::store::event::Event;
use crate::store::Entry;
use bytes::Bytes;

fn dump(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let list_fill = match ctx.srv.config.read().value(Id::ListMaxListpackSize) {
        crate::config::Value::Int(n) => *n,
        _ => -2,
    };
    let opts = rdb::EncodeOptions { list_fill };
    // A read as Redis's lookupKeyRead: it counts a hit or a miss and touches the key.
    let Some(e) = ctx.read(&args[1]) else { return Ok(Reply::Nil) };
    Ok(Reply::Bulk(Bytes::from(rdb::seal(rdb::encode(&e.value, &opts)))))
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct Options {
    replace: bool,
    absttl: bool,
    idle: Option<u32>,
    freq: Option<u8>,
}

/// Parses the options as Redis's restoreCommand does: IDLETIME and FREQ exclude each other (the second is a
/// syntax error), and their values are checked as they are met.
fn parse(args: &[Bytes]) -> CmdResult<Options> {
    let mut o = Options::default();
    let mut j = 4;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(&args[j], "REPLACE") {
            o.replace = true;
        } else if is(&args[j], "ABSTTL") {
            o.absttl = true;
        } else if is(&args[j], "IDLETIME") && more && o.freq.is_none() {
            let v = int(&args[j + 1])?;
            if v < 0 {
                return Err(error::INVALID_IDLETIME);
            }
            o.idle = Some(u32::try_from(v).unwrap_or(u32::MAX));
            j += 1;
        } else if is(&args[j], "FREQ") && more && o.idle.is_none() {
            let v = int(&args[j + 1])?;
            let Ok(f) = u8::try_from(v) else { return Err(error::INVALID_FREQ) };
            o.freq = Some(f);
            j += 1;
        } else {
            return Err(error::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let key = &args[1];
    let o = parse(args)?;
    if !o.replace && ctx.peek(key).is_some() {
        return Err(error::BUSYKEY);
    }
    let ttl = int(&args[2])?;
    if ttl < 0 {
        return Err(error::INVALID_TTL);
    }
    rdb::unseal(&args[3]).ok_or(error::DUMP_PAYLOAD)?;
    // Redis reads the value from the whole payload, footer included: a value whose lengths run into the footer
    // reads its bytes as data.
    let value = rdb::decode(&args[3], &ctx.srv.load_limits()).map_err(|_| error::BAD_DATA_FORMAT)?;
    let at = match (ttl, o.absttl) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => ctx.now_ms.saturating_add(t as u64),
    };
    if at != 0 && at <= ctx.now_ms {
        // Already expired: nothing is created, and a key REPLACE would have overwritten is deleted.
        if o.replace && ctx.remove(key).is_some() {
            ctx.emit(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        return Ok(Reply::OK);
    }
    let lru = ctx.srv.lru_clock_at(ctx.now_ms);
    let mut entry = Entry::new(value);
    entry.access = lru;
    // Redis's objectSetLRUOrLFU: FREQ counts under an LFU policy, IDLETIME under any other.
    if ctx.srv.hot.policy().is_lfu() {
        if let Some(f) = o.freq {
            entry.freq = f;
        }
    } else if let Some(idle) = o.idle {
        entry.access = lru.saturating_sub(idle);
    }
    let db = ctx.db();
    ctx.put_entry(db, key, entry, at, Event::Restore);
    if ttl != 0 && !o.absttl {
        let mut e = args.to_vec();
        e[2] = Bytes::from(at.to_string());
        e.push(Bytes::from_static(b"ABSTTL"));
        ctx.emit(e);
    } else {
        ctx.emit_as_sent();
    }
    Ok(Reply::OK)
}

const G: &str = "generic";

/// The DUMP/RESTORE rows.
pub static COMMANDS: &[CommandSpec] = &[
    spec("dump", 2, READONLY, Keys::one(1), dump)
        .tips(&["nondeterministic_output"])
        .doc(G, "2.6.0", "Returns a serialized representation of the value stored at a key.", "key")
        .complexity("O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1)."),
    spec("restore", -4, WRITE | DENYOOM, Keys::one(1), restore)
        .rewritten()
        .key_flags(&["OW", "update"])
        .acl(&["dangerous"])
        .doc(
            G,
            "2.6.0",
            "Creates a key from the serialized representation of a value.",
            "key ttl:integer serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds:integer] [FREQ frequency:integer]",
        )
        .complexity("O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The ACL categories and key-spec flags COMMAND INFO of redis-server 7.0 lists.
    #[test]
    fn rows_match_redis() {
        for (name, cats) in [
            ("dump", &["@keyspace", "@read", "@slow"][..]),
            ("restore", &["@keyspace", "@write", "@slow", "@dangerous"][..]),
        ] {
            let cmd = crate::commands::TABLE.by_full_name(name.as_bytes()).expect("row");
            assert_eq!(crate::commands::introspect::acl_categories(cmd), cats, "{name}");
        }
        let restore = crate::commands::TABLE.by_full_name(b"restore").expect("row");
        assert_eq!(restore.spec().key_spec_flags(), ["OW", "update"]);
    }

    #[test]
    fn options_parse_as_redis() {
        let argv = |s: &str| s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect::<Vec<_>>();
        let ok = |s: &str| parse(&argv(s)).map(|o| (o.replace, o.absttl, o.idle, o.freq));
        assert_eq!(ok("restore k 0 p"), Ok((false, false, None, None)));
        assert_eq!(ok("restore k 0 p replace ABSTTL idletime 5"), Ok((true, true, Some(5), None)));
        assert_eq!(ok("restore k 0 p FREQ 255"), Ok((false, false, None, Some(255))));
        assert_eq!(ok("restore k 0 p FREQ 256"), Err(error::INVALID_FREQ));
        assert_eq!(ok("restore k 0 p IDLETIME -1"), Err(error::INVALID_IDLETIME));
        assert_eq!(ok("restore k 0 p IDLETIME x"), Err(error::NOT_INTEGER));
        assert_eq!(ok("restore k 0 p IDLETIME 1 FREQ 1"), Err(error::SYNTAX));
        assert_eq!(ok("restore k 0 p FREQ 1 IDLETIME 1"), Err(error::SYNTAX));
        assert_eq!(ok("restore k 0 p IDLETIME"), Err(error::SYNTAX));
        assert_eq!(ok("restore k 0 p bogus"), Err(error::SYNTAX));
    }
}
