//! COMMAND and its subcommands: everything here is built from the command table's rows.

use super::args::{is, text};
use super::ctx::Ctx;
use super::docs::{docs_reply, parse_usage};
use super::flags::{self, *};
use super::keyspace::help_reply;
use super::{spec, Command, CommandSpec, Keys, TABLE};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use bytes::Bytes;

/// ACL categories of a command row as a bit set over [`crate::engine::acl::CATEGORIES`]: those its flags imply (as
/// Redis's `setImplicitACLCategories`: write, read but for scripting, admin and dangerous, pubsub, fast or else
/// slow, blocking), the type category of its group, and the explicit ones of `.acl(...)`. A container row (CONFIG,
/// CLIENT...) is only `@slow`, as in Redis: its subcommands carry the categories.
pub fn acl_category_bits(s: &CommandSpec, container: bool) -> u32 {
    use crate::engine::acl::categories::{bit, known};
    let mut cats = 0;
    for (flag, cat) in [
        (flags::WRITE, "write"),
        (flags::READONLY, "read"),
        (flags::ADMIN, "admin"),
        (flags::ADMIN, "dangerous"),
        (flags::PUBSUB, "pubsub"),
        (flags::BLOCKING, "blocking"),
        (flags::FAST, "fast"),
    ] {
        if s.has(flag) {
            cats |= known(cat);
        }
    }
    // A generic command that names the data types it works on (SORT: lists, sets, sorted sets) is theirs, not
    // `@keyspace`'s.
    const TYPES: [&str; 4] = ["list", "set", "sortedset", "hash"];
    let typed = s.docs.group == "generic" && s.acl.iter().any(|a| TYPES.contains(&a.trim_start_matches('@')));
    if !container && !typed {
        cats |= match s.docs.group {
            "string" => known("string"),
            "bitmap" => known("bitmap"),
            "generic" => known("keyspace"),
            "connection" => known("connection"),
            "transactions" => known("transaction"),
            "hash" => known("hash"),
            "list" => known("list"),
            "set" => known("set"),
            "sorted-set" => known("sortedset"),
            "hyperloglog" => known("hyperloglog"),
            "geo" => known("geo"),
            "stream" => known("stream"),
            "scripting" => known("scripting"),
            _ => 0,
        };
    }
    // As Redis: a read-only script command (EVAL_RO, FCALL_RO) is not `@read`, since what it reads is the script's.
    if cats & known("scripting") != 0 {
        cats &= !known("read");
    }
    for a in s.acl {
        cats |= bit(a.trim_start_matches('@').as_bytes()).unwrap_or(0);
    }
    if cats & known("fast") == 0 {
        cats |= known("slow");
    }
    cats
}

/// ACL categories of a command, `@`-prefixed, in Redis's order (COMMAND INFO).
pub fn acl_categories(c: &Command) -> Vec<String> {
    crate::engine::acl::categories::names(c.acl_categories).map(|n| format!("@{n}")).collect()
}

fn key_triplet(k: Keys) -> (i64, i64, i64) {
    match k {
        Keys::None | Keys::NumKeys { .. } | Keys::Streams { .. } => (0, 0, 0),
        Keys::DestNumKeys { .. } => (1, 1, 1),
        Keys::Store { first, .. } => (first as i64, first as i64, 1),
        Keys::Range { first, last, step } => (first as i64, last as i64, step as i64),
    }
}

/// One key spec as COMMAND INFO / COMMAND DOCS print it: flags, an index begin-search at `index`, and a
/// `find_keys` of `kind` ("range" or "keynum") with its spec fields.
fn key_spec(flags: Vec<Reply>, index: i64, kind: &'static str, spec: [(&'static str, i64); 3]) -> Reply {
    let m = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Reply::Map(vec![
        m("flags", Reply::Set(flags)),
        m(
            "begin_search",
            Reply::Map(vec![
                m("type", Reply::bulk_static("index")),
                m("spec", Reply::Map(vec![m("index", Reply::Int(index))])),
            ]),
        ),
        m(
            "find_keys",
            Reply::Map(vec![
                m("type", Reply::bulk_static(kind)),
                m("spec", Reply::Map(spec.iter().map(|&(k, v)| m(k, Reply::Int(v))).collect())),
            ]),
        ),
    ])
}

/// Redis's notes on SORT's key specs of unknown position.
const PATTERN_NOTES: &str =
    "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort";
const STORE_NOTES: &str =
    "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array";

fn key_specs(c: &Command) -> Reply {
    let mut specs = key_specs_bare(c);
    let noted = |note: &'static str, spec: &mut Reply| {
        if let Reply::Map(fields) = spec {
            // Redis prints a spec's note before its flags.
            fields.insert(0, (Reply::bulk_static("notes"), Reply::bulk_static(note)));
        }
    };
    if let Reply::Set(list) = &mut specs {
        if !c.spec.key_notes.is_empty() {
            if let Some(first) = list.first_mut() {
                noted(c.spec.key_notes, first);
            }
        }
        if c.spec.pattern_keys {
            if let Some(store) = list.get_mut(1) {
                noted(STORE_NOTES, store);
            }
            let mut pattern = unknown_key_spec(vec![Reply::Simple("RO"), Reply::Simple("access")]);
            noted(PATTERN_NOTES, &mut pattern);
            list.insert(1.min(list.len()), pattern);
        }
    }
    specs
}

fn key_specs_bare(c: &Command) -> Reply {
    let s = c.spec;
    let access: Vec<Reply> = s.key_spec_flags().iter().map(|f| Reply::Simple(f)).collect();
    let keynum = |flags, at: i32, step: i32| {
        key_spec(flags, at as i64, "keynum", [("keynumidx", 0), ("firstkey", 1), ("keystep", step as i64)])
    };
    match s.keys {
        Keys::None => match s.channels {
            Keys::Range { first, last, step } => {
                let lastkey = if last < 0 { last as i64 } else { (last - first) as i64 };
                let spec = [("lastkey", lastkey), ("keystep", step as i64), ("limit", 0)];
                Reply::Set(vec![key_spec(vec![Reply::Simple("not_key")], first as i64, "range", spec)])
            }
            _ => Reply::Set(vec![]),
        },
        Keys::Range { first, last, step } if s.key_flags_each.len() > 1 => {
            // One spec per key with flags of its own, the last covering the rest of the range (RENAME: source,
            // destination; SINTERSTORE: destination, sources).
            let n = s.key_flags_each.len() as i32;
            let specs = (0..n).map(|i| {
                let flags = s.key_flags_each[i as usize].iter().map(|f| Reply::Simple(f)).collect();
                let at = first + i * step;
                let lastkey = match (i == n - 1, last < 0) {
                    (false, _) => 0,
                    (true, true) => last as i64,
                    (true, false) => (last - at) as i64,
                };
                key_spec(flags, at as i64, "range", [("lastkey", lastkey), ("keystep", step as i64), ("limit", 0)])
            });
            Reply::Set(specs.collect())
        }
        Keys::Range { first, last, step } => {
            let lastkey = if last < 0 { last as i64 } else { (last - first) as i64 };
            let spec = [("lastkey", lastkey), ("keystep", step as i64), ("limit", 0)];
            let flags = match s.key_flags_each.first() {
                Some(f) => f.iter().map(|f| Reply::Simple(f)).collect(),
                None => access,
            };
            Reply::Set(vec![key_spec(flags, first as i64, "range", spec)])
        }
        Keys::DestNumKeys { at } => Reply::Set(vec![
            key_spec(
                vec![Reply::Simple("OW"), Reply::Simple("update")],
                1,
                "range",
                [("lastkey", 0), ("keystep", 1), ("limit", 0)],
            ),
            keynum(vec![Reply::Simple("RO"), Reply::Simple("access")], at, 1),
        ]),
        Keys::NumKeys { at, step } => Reply::Set(vec![keynum(access, at, step)]),
        Keys::Store { first, words, from, .. } => {
            let mut specs = vec![key_spec(
                vec![Reply::Simple("RO"), Reply::Simple("access")],
                first as i64,
                "range",
                [("lastkey", 0), ("keystep", 1), ("limit", 0)],
            )];
            let dest = || vec![Reply::Simple("OW"), Reply::Simple("update")];
            if words.is_empty() {
                specs.push(unknown_key_spec(dest()));
            }
            for w in words {
                specs.push(keyword_key_spec(dest(), w, from as i64, 0, 0));
            }
            Reply::Set(specs)
        }
        // The keys run from after STREAMS to the end, of which they are the first half (limit 2).
        Keys::Streams { from } => Reply::Set(vec![keyword_key_spec(access, "STREAMS", from as i64, -1, 2)]),
    }
}

/// A key spec whose keys Redis cannot describe (found by the command's own key function).
fn unknown_key_spec(flags: Vec<Reply>) -> Reply {
    let m = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Reply::Map(vec![
        m("flags", Reply::Set(flags)),
        m("begin_search", Reply::Map(vec![m("type", Reply::bulk_static("unknown")), m("spec", Reply::Map(vec![]))])),
        m("find_keys", Reply::Map(vec![m("type", Reply::bulk_static("unknown")), m("spec", Reply::Map(vec![]))])),
    ])
}

/// A key spec for the keys after `word`, searched for from argument `from`: up to `lastkey` (0: the one right after
/// it, -1: the last argument), of which the first `1/limit` (0: all).
fn keyword_key_spec(flags: Vec<Reply>, word: &'static str, from: i64, lastkey: i64, limit: i64) -> Reply {
    let m = |k: &'static str, v: Reply| (Reply::bulk_static(k), v);
    Reply::Map(vec![
        m("flags", Reply::Set(flags)),
        m(
            "begin_search",
            Reply::Map(vec![
                m("type", Reply::bulk_static("keyword")),
                m("spec", Reply::Map(vec![m("keyword", Reply::bulk_static(word)), m("startfrom", Reply::Int(from))])),
            ]),
        ),
        m(
            "find_keys",
            Reply::Map(vec![
                m("type", Reply::bulk_static("range")),
                m(
                    "spec",
                    Reply::Map(vec![
                        m("lastkey", Reply::Int(lastkey)),
                        m("keystep", Reply::Int(1)),
                        m("limit", Reply::Int(limit)),
                    ]),
                ),
            ]),
        ),
    ])
}

/// COMMAND INFO's entry for one command.
pub fn command_info(c: &Command) -> Reply {
    let s = c.spec;
    let mut flag_names: Vec<Reply> =
        flags::NAMES.iter().filter(|(f, _)| s.flags & f != 0).map(|(_, n)| Reply::Simple(n)).collect();
    // Redis derives `movablekeys` from key specs that a fixed range cannot describe.
    if s.pattern_keys
        || matches!(s.keys, Keys::NumKeys { .. } | Keys::DestNumKeys { .. } | Keys::Store { .. } | Keys::Streams { .. })
    {
        // Before `allow_busy`, the only flag Redis prints after it.
        let at = flag_names.len() - usize::from(s.has(flags::ALLOW_BUSY));
        flag_names.insert(at, Reply::Simple("movablekeys"));
    }
    let (first, last, step) = key_triplet(if matches!(s.keys, Keys::None) { s.channels } else { s.keys });
    Reply::Array(vec![
        Reply::bulk_string(c.full_name.clone()),
        Reply::Int(s.arity as i64),
        Reply::Set(flag_names),
        Reply::Int(first),
        Reply::Int(last),
        Reply::Int(step),
        Reply::Set(acl_categories(c).into_iter().map(Reply::SimpleOwned).collect()),
        Reply::Set(s.tips.iter().map(|t| Reply::bulk_static(t)).collect()),
        key_specs(c),
        Reply::Set(c.subs.iter().map(|&i| command_info(&TABLE.commands[i])).collect()),
    ])
}

/// COMMAND DOCS's map for one command.
pub fn command_docs(c: &Command) -> Reply {
    let d = c.spec.docs;
    let subs =
        c.subs.iter().map(|&i| (TABLE.commands[i].full_name.clone(), command_docs(&TABLE.commands[i]))).collect();
    let notes = super::docs_history::notes(&c.full_name.to_ascii_lowercase());
    docs_reply(d.summary, d.since, d.group, d.complexity, notes, &parse_usage(d.usage), subs)
}

fn command(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Array(TABLE.top_level().map(command_info).collect()))
}

fn command_count(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(TABLE.top_level().count() as i64))
}

fn command_info_cmd(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    if args.len() == 2 {
        return Ok(Reply::Array(TABLE.top_level().map(command_info).collect()));
    }
    Ok(Reply::Array(args[2..].iter().map(|n| TABLE.by_full_name(n).map_or(Reply::Nil, command_info)).collect()))
}

fn command_docs_cmd(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let pick: Vec<&Command> = if args.len() == 2 {
        TABLE.top_level().collect()
    } else {
        args[2..].iter().filter_map(|n| TABLE.by_full_name(n)).collect()
    };
    Ok(Reply::Map(pick.into_iter().map(|c| (Reply::bulk_string(c.full_name.clone()), command_docs(c))).collect()))
}

fn command_list(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let filter: Option<(String, Bytes)> = match args.len() {
        2 => None,
        5 if is(&args[2], "FILTERBY") => Some((text(&args[3]).to_ascii_lowercase(), args[4].clone())),
        _ => return Err(crate::error::SYNTAX),
    };
    let mut out = Vec::new();
    for c in &TABLE.commands {
        let keep = match &filter {
            None => true,
            Some((k, v)) if k == "pattern" => crate::util::glob::glob_match(v, c.full_name.as_bytes(), true),
            Some((k, v)) if k == "aclcat" => {
                crate::engine::acl::categories::bit(v).is_some_and(|b| c.acl_categories & b != 0)
            }
            Some((k, _)) if k == "module" => false,
            Some(_) => return Err(crate::error::SYNTAX),
        };
        if keep {
            out.push(Reply::bulk_string(c.full_name.clone()));
        }
    }
    Ok(Reply::Array(out))
}

fn getkeys_common(args: &[Bytes]) -> CmdResult<Vec<usize>> {
    let target = &args[2..];
    let cmd = match crate::engine::execute::resolve(target) {
        Ok(c) => c,
        Err(_) if TABLE.get(&target[0]).is_none() => return Err(CmdError::err("Invalid command specified")),
        Err(_) => return Err(CmdError::err("Invalid number of arguments specified for command")),
    };
    let pos = cmd.spec.keys.positions(target);
    if pos.is_empty() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    Ok(pos)
}

fn command_getkeys(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let target = &args[2..];
    let pos = getkeys_common(args)?;
    Ok(Reply::Array(pos.into_iter().map(|p| Reply::Bulk(target[p].clone())).collect()))
}

fn command_getkeysandflags(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult<Reply> {
    let target = &args[2..];
    let pos = getkeys_common(args)?;
    let Ok(cmd) = crate::engine::execute::resolve(target) else { return Ok(Reply::Array(vec![])) };
    let flags_of = |i: usize| cmd.spec.key_flags_for(i, target);
    Ok(Reply::Array(
        pos.into_iter()
            .enumerate()
            .map(|(i, p)| {
                let f = flags_of(i).iter().map(|f| Reply::Simple(f)).collect();
                Reply::Array(vec![Reply::Bulk(target[p].clone()), Reply::Set(f)])
            })
            .collect(),
    ))
}

fn command_help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(&[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ]))
}

const G: &str = "server";
const F: u32 = LOADING | STALE;
/// COMMAND is in the connection category in Redis, though documented in the server group.
const CONN: &[&str] = &["connection"];

static COMMAND_SUBS: &[CommandSpec] = &[
    spec("count", 2, F, Keys::None, command_count)
        .acl(CONN)
        .doc(G, "2.8.13", "Returns a count of commands.", "")
        .complexity("O(1)"),
    spec("info", -2, F, Keys::None, command_info_cmd)
        .tips(&["nondeterministic_output_order"])
        .acl(CONN)
        .doc(
            G,
            "2.8.13",
            "Returns information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        )
        .complexity("O(N) where N is the number of commands to look up"),
    spec("docs", -2, F, Keys::None, command_docs_cmd)
        .tips(&["nondeterministic_output_order"])
        .acl(CONN)
        .doc(
            G,
            "7.0.0",
            "Returns documentary information about one, multiple or all commands.",
            "[command-name [command-name ...]]",
        )
        .complexity("O(N) where N is the number of commands to look up"),
    spec("list", -2, F, Keys::None, command_list)
        .tips(&["nondeterministic_output_order"])
        .acl(CONN)
        .doc(
            G,
            "7.0.0",
            "Returns a list of command names.",
            "[FILTERBY filterby=MODULE module-name | ACLCAT category | PATTERN pattern]",
        )
        .complexity("O(N) where N is the total number of Redis commands"),
    spec("getkeys", -4, F, Keys::None, command_getkeys)
        .acl(CONN)
        .doc(G, "2.8.13", "Extracts the key names from an arbitrary command.", "command arg [arg ...]")
        .complexity("O(N) where N is the number of arguments to the command"),
    spec("getkeysandflags", -4, F, Keys::None, command_getkeysandflags)
        .acl(CONN)
        .doc(G, "7.0.0", "Extracts the key names and access flags for an arbitrary command.", "command arg [arg ...]")
        .complexity("O(N) where N is the number of arguments to the command"),
    spec("help", 2, F, Keys::None, command_help)
        .acl(CONN)
        .doc(G, "5.0.0", "Returns helpful text about the different subcommands.", "")
        .complexity("O(1)"),
];

/// The introspection family's rows.
pub static COMMANDS: &[CommandSpec] = &[spec("command", -1, F, Keys::None, command)
    .acl(CONN)
    .tips(&["nondeterministic_output_order"])
    .subcommands(COMMAND_SUBS)
    .doc(G, "2.8.13", "Returns detailed information about all commands.", "")
    .complexity("O(N) where N is the total number of Redis commands")];

#[cfg(test)]
mod tests {
    use super::*;

    /// Categories, in order, as `COMMAND INFO` of redis-server 7.0.15 lists them.
    #[test]
    fn acl_categories_match_redis() {
        let redis: &[(&str, &[&str])] = &[
            ("get", &["@read", "@string", "@fast"]),
            ("set", &["@write", "@string", "@slow"]),
            ("flushall", &["@keyspace", "@write", "@slow", "@dangerous"]),
            ("keys", &["@keyspace", "@read", "@slow", "@dangerous"]),
            ("blpop", &["@write", "@list", "@slow", "@blocking"]),
            ("publish", &["@pubsub", "@fast"]),
            ("subscribe", &["@pubsub", "@slow"]),
            ("client", &["@slow"]),
            ("client|kill", &["@admin", "@slow", "@dangerous", "@connection"]),
            ("config|get", &["@admin", "@slow", "@dangerous"]),
            ("command|info", &["@slow", "@connection"]),
            ("acl|whoami", &["@slow"]),
            ("acl|setuser", &["@admin", "@slow", "@dangerous"]),
            ("multi", &["@fast", "@transaction"]),
            ("lastsave", &["@admin", "@fast", "@dangerous"]),
            ("zunionstore", &["@write", "@sortedset", "@slow"]),
            ("pfadd", &["@write", "@hyperloglog", "@fast"]),
            ("setbit", &["@write", "@bitmap", "@slow"]),
            ("hset", &["@write", "@hash", "@fast"]),
            ("sadd", &["@write", "@set", "@fast"]),
            ("dbsize", &["@keyspace", "@read", "@fast"]),
            ("info", &["@slow", "@dangerous"]),
            ("copy", &["@keyspace", "@write", "@slow"]),
            ("swapdb", &["@keyspace", "@write", "@fast", "@dangerous"]),
            ("object|encoding", &["@keyspace", "@read", "@slow"]),
            ("auth", &["@fast", "@connection"]),
        ];
        for (name, want) in redis {
            let cmd = TABLE.by_full_name(name.as_bytes()).unwrap_or_else(|| panic!("no {name}"));
            assert_eq!(acl_categories(cmd), *want, "{name}");
        }
    }

    #[test]
    fn every_row_has_categories() {
        for c in &TABLE.commands {
            let speed = crate::engine::acl::categories::known("fast") | crate::engine::acl::categories::known("slow");
            assert_eq!((c.acl_categories & speed).count_ones(), 1, "{} is not exactly one of fast, slow", c.full_name);
        }
    }
}
