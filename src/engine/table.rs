//! The command table's types: one row ([`CommandSpec`]) per command, read by the gate, COMMAND, MULTI, stats,
//! ACL (categories, key specs), and later scripting and replication.
//!
//! The rows themselves live with their handlers in `commands/`; `commands::table()` builds the [`CommandTable`]
//! and installs it here once, before any server exists, so the engine reaches the table without importing the
//! command families above it.

use super::ctx::Ctx;
use crate::error::CmdResult;
use crate::protocol::Reply;
use crate::util::striped::Striped;
use bytes::Bytes;
use std::sync::OnceLock;

/// A command handler: synchronous, so one function serves the socket, EXEC and scripts.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult<Reply>;

/// Command flags (Redis's names).
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    pub const FAST: u32 = 1 << 8;
    pub const BLOCKING: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const NO_AUTH: u32 = 1 << 11;
    pub const MAY_REPLICATE: u32 = 1 << 12;
    pub const SKIP_MONITOR: u32 = 1 << 13;
    pub const SKIP_SLOWLOG: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Touches the whole keyspace or several databases: runs with every shard locked.
    pub const GLOBAL: u32 = 1 << 16;
    /// Walks every shard of the selected database (KEYS, SCAN, DBSIZE, RANDOMKEY). The lock plan takes all of that
    /// database's shards for the command, so a multi-shard write (MSET, RENAME, an EXEC) is never seen half
    /// done, at the cost of holding the database for the walk; EXEC of such a command locks every shard.
    pub const ITERATES: u32 = 1 << 17;
    /// Reads every shard of every database without naming keys (DEBUG DIGEST). Runs holding no locks and visits
    /// shards one at a time; EXEC of such a command locks every shard up front, since a transaction already
    /// holding some shards could not take the others in order.
    pub const VISITS_ALL: u32 = 1 << 18;
    /// Refused unless `enable-debug-command` allows it (Redis's CMD_PROTECTED: DEBUG).
    pub const PROTECTED: u32 = 1 << 19;
    /// Allowed to a RESP2 client in subscribed mode ((P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET).
    pub const SUBSCRIBER_OK: u32 = 1 << 20;
    /// Runs at once inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET).
    pub const TXN_CONTROL: u32 = 1 << 21;
    /// Runs the session's MULTI queue (EXEC): the gate checks, locks and logs the queue's commands as one group,
    /// and a refused EXEC discards the transaction.
    pub const RUNS_QUEUE: u32 = 1 << 22;
    /// Switches the session's database (SELECT): an EXEC's lock plan follows it through the queue.
    pub const SWITCHES_DB: u32 = 1 << 23;
    /// Leaves a pending CLIENT CACHING for the next command (every CLIENT subcommand, as in Redis).
    pub const KEEPS_CACHING: u32 = 1 << 24;
    /// Refused with -MISCONF as a write is while the last background save failed (PING, as in Redis, so a health
    /// check sees the failure).
    pub const REPORTS_DISK_ERROR: u32 = 1 << 25;
    /// May be called with no keys even though it has a key spec (EVAL, FCALL: Redis's `no_mandatory_keys`).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 26;
    /// Needs the Lua VM (EVAL, FCALL, SCRIPT LOAD, FUNCTION LOAD...): a connection hands the command to the script
    /// thread, so a long script never holds a runtime worker (see `engine/script`). EXEC of such a command too.
    pub const RUNS_SCRIPT: u32 = 1 << 27;

    /// Flag names as COMMAND INFO prints them, in Redis's order. `may_replicate` is not among them: Redis hides it
    /// (and `protected`, `sentinel`) on purpose.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are among its arguments (argument 0 is the command name).
#[derive(Debug, Clone, Copy)]
pub enum Keys {
    None,
    /// Keys at `first`, `first + step`, ... up to `last` (negative: counted from the end, -1 = last argument).
    Range {
        first: i32,
        last: i32,
        step: i32,
    },
    /// A count at `at`, then that many keys from `at + 1` every `step` (EVAL, ZUNION...).
    NumKeys {
        at: i32,
        step: i32,
    },
    /// A destination key at 1, then a count at `at` and that many source keys (ZUNIONSTORE...).
    DestNumKeys {
        at: i32,
    },
    /// A source key at `first`, and a destination that `find` locates among the options (SORT, GEORADIUS with
    /// STORE). `words` are the keywords before the destination as COMMAND INFO's key specs show them (none: the
    /// spec is `unknown`, as SORT's is), searched for from `from`.
    Store {
        first: i32,
        find: fn(&[Bytes]) -> Option<usize>,
        words: &'static [&'static str],
        from: i32,
    },
    /// XREAD and XREADGROUP: after the options (`from` is where they start), the `STREAMS` keyword and then keys
    /// and as many ids; the keys are the first half (Redis's `xreadGetKeys`). `from` is also where COMMAND INFO's key
    /// spec starts looking for the keyword.
    Streams {
        from: i32,
    },
}

impl Keys {
    /// One key at `pos`.
    pub const fn one(pos: i32) -> Keys {
        Keys::Range { first: pos, last: pos, step: 1 }
    }

    /// Keys from `first` to `last` every `step`.
    pub const fn range(first: i32, last: i32, step: i32) -> Keys {
        Keys::Range { first, last, step }
    }

    /// The key of a single-key command (GET, SET, INCR...), found without building a position list.
    #[inline]
    pub fn single<'a>(&self, args: &'a [Bytes]) -> Option<&'a [u8]> {
        match *self {
            Keys::Range { first, last, .. } if first == last && first >= 1 => args.get(first as usize).map(|a| &a[..]),
            _ => None,
        }
    }

    /// The argument positions holding keys in `args` (never out of bounds).
    pub fn positions(&self, args: &[Bytes]) -> Vec<usize> {
        let n = args.len() as i64;
        match *self {
            Keys::None => Vec::new(),
            Keys::Range { first, last, step } => {
                let first = first as i64;
                let last = if last < 0 { n + last as i64 } else { (last as i64).min(n - 1) };
                let step = step.max(1) as usize;
                if first >= n || first < 1 || last < first {
                    return Vec::new();
                }
                (first as usize..=last as usize).step_by(step).collect()
            }
            Keys::NumKeys { at, step } => {
                let Some(count) = args.get(at as usize).and_then(|a| crate::util::num::parse_i64(a)) else {
                    return Vec::new();
                };
                let count = count.clamp(0, n) as usize;
                (0..count).map(|i| at as usize + 1 + i * step.max(1) as usize).filter(|&p| p < args.len()).collect()
            }
            Keys::DestNumKeys { at } => {
                let mut v = if n > 1 { vec![1] } else { Vec::new() };
                v.extend(Keys::NumKeys { at, step: 1 }.positions(args));
                v
            }
            Keys::Store { first, find, words, from } => {
                if first as i64 >= n {
                    return Vec::new();
                }
                let mut v = vec![first as usize];
                // Redis's keyword key specs: the argument after each keyword's first occurrence (from `from`,
                // never the last argument)...
                for w in words {
                    let hit = (from.max(1) as usize..args.len().saturating_sub(1))
                        .find(|&i| args[i].eq_ignore_ascii_case(w.as_bytes()));
                    v.extend(hit.map(|i| i + 1));
                }
                // ...and the destination the command really writes, which those can miss (a repeated STORE).
                if let Some(p) = find(args).filter(|&p| p < args.len() && !v.contains(&p)) {
                    v.push(p);
                }
                v
            }
            Keys::Streams { .. } => {
                // Options are skipped with their arguments, as Redis's key finder does; anything else before
                // STREAMS names no keys.
                let mut i = 1;
                let mut at = None;
                while i < args.len() {
                    let a = &args[i];
                    if a.eq_ignore_ascii_case(b"BLOCK") || a.eq_ignore_ascii_case(b"COUNT") {
                        i += 2;
                    } else if a.eq_ignore_ascii_case(b"GROUP") {
                        i += 3;
                    } else if a.eq_ignore_ascii_case(b"NOACK") {
                        i += 1;
                    } else if a.eq_ignore_ascii_case(b"STREAMS") {
                        at = Some(i);
                        break;
                    } else {
                        break;
                    }
                }
                let Some(at) = at else { return Vec::new() };
                // Half of what follows, rounded down, as Redis's key spec (range to the end, limit 2) counts.
                let rest = args.len() - at - 1;
                (at + 1..at + 1 + rest / 2).collect()
            }
        }
    }
}

/// How a write command's effect enters the write-effect stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The arguments as sent.
    Verbatim,
    /// The handler emitted the replayable form itself (`ctx.emit`).
    Rewritten,
    /// No effect (reads, connection state).
    Never,
}

/// Documentation shown by COMMAND DOCS and redis-cli hints.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// Argument syntax in Redis's documentation notation (see `docs.rs`).
    pub usage: &'static str,
}

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lowercase name (for a subcommand, just the subcommand: `get` under `config`).
    pub name: &'static str,
    /// Counts the name; `-N` means at least N.
    pub arity: i32,
    pub flags: u32,
    pub keys: Keys,
    pub effect: Effect,
    pub handler: Handler,
    pub docs: Docs,
    pub subcommands: &'static [CommandSpec],
    /// ACL categories beyond those the flags imply (`@string`, `@keyspace`, ...).
    pub acl: &'static [&'static str],
    /// Key-spec flags (`OW`, `update`, ...); empty means derived from WRITE/READONLY.
    pub key_flags: &'static [&'static str],
    /// Flags of each key spec, for commands whose keys differ (a source read and deleted, a destination written
    /// over): the n-th key takes the n-th set, the last set covering the rest.
    pub key_flags_each: &'static [&'static [&'static str]],
    /// Redis's command tips (COMMAND INFO): `nondeterministic_output`, `request_policy:...` and so on.
    pub tips: &'static [&'static str],
    /// The note Redis attaches to the first key spec (COMMAND INFO), when it has one.
    pub key_notes: &'static str,
    /// Reads keys named by patterns over its source's content (SORT's BY and GET): COMMAND INFO shows a key spec
    /// of unknown position for them, which makes the command `movablekeys`.
    pub pattern_keys: bool,
    /// Sharded pub/sub's channel arguments, where keys would be (cluster clients route them by slot): COMMAND INFO
    /// shows them as a `not_key` key spec and in the first/last/step triplet, as Redis does; they are not keys for
    /// locking, ACL key patterns or COMMAND GETKEYS.
    pub channels: Keys,
}

fn no_handler(_: &mut Ctx<'_>, _: &[Bytes]) -> CmdResult<Reply> {
    Err(crate::error::SYNTAX)
}

const NO_DOCS: Docs = Docs { group: "generic", since: "1.0.0", summary: "", complexity: "", usage: "" };

/// A table row. Writes default to a verbatim effect, everything else to none.
pub const fn spec(name: &'static str, arity: i32, flags: u32, keys: Keys, handler: Handler) -> CommandSpec {
    let effect = if flags & flags::WRITE != 0 { Effect::Verbatim } else { Effect::Never };
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        effect,
        handler,
        docs: NO_DOCS,
        subcommands: &[],
        acl: &[],
        key_flags: &[],
        key_flags_each: &[],
        tips: &[],
        key_notes: "",
        pattern_keys: false,
        channels: Keys::None,
    }
}

/// A container row (CONFIG, CLIENT, OBJECT...) whose subcommands are rows of their own.
pub const fn container(name: &'static str, subcommands: &'static [CommandSpec]) -> CommandSpec {
    spec(name, -2, 0, Keys::None, no_handler).subcommands(subcommands)
}

impl CommandSpec {
    /// Sets the documentation.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        usage: &'static str,
    ) -> Self {
        self.docs = Docs { group, since, summary, complexity: self.docs.complexity, usage };
        self
    }

    /// Sets the complexity line of the documentation.
    pub const fn complexity(mut self, c: &'static str) -> Self {
        self.docs.complexity = c;
        self
    }

    /// Marks the handler as emitting its own replayable effect.
    pub const fn rewritten(mut self) -> Self {
        self.effect = Effect::Rewritten;
        self
    }

    /// Attaches subcommand rows to a command that also runs on its own (COMMAND).
    pub const fn subcommands(mut self, subs: &'static [CommandSpec]) -> Self {
        self.subcommands = subs;
        self
    }

    /// Sets the key-spec flags COMMAND INFO and GETKEYSANDFLAGS report.
    pub const fn key_flags(mut self, f: &'static [&'static str]) -> Self {
        self.key_flags = f;
        self
    }

    /// Sets Redis's command tips.
    pub const fn tips(mut self, tips: &'static [&'static str]) -> Self {
        self.tips = tips;
        self
    }

    /// Marks a command that reads keys named by patterns (see [`CommandSpec::pattern_keys`]).
    pub const fn pattern_keys(mut self) -> Self {
        self.pattern_keys = true;
        self
    }

    /// Declares the channel arguments of a sharded pub/sub command (see [`CommandSpec::channels`]).
    pub const fn channels(mut self, channels: Keys) -> Self {
        self.channels = channels;
        self
    }

    /// Sets the first key spec's note.
    pub const fn key_notes(mut self, notes: &'static str) -> Self {
        self.key_notes = notes;
        self
    }

    /// Sets the flags of each key spec (see [`CommandSpec::key_flags_each`]).
    pub const fn key_flags_each(mut self, f: &'static [&'static [&'static str]]) -> Self {
        self.key_flags_each = f;
        self
    }

    /// The flags of the `i`-th key a command names (GETKEYSANDFLAGS, ACL key checks): its own key spec's, or for
    /// a destination and its sources (`DestNumKeys`, `Store`) `OW update` and `RO access`.
    pub fn flags_for_key(&self, i: usize) -> &'static [&'static str] {
        const DEST: &[&str] = &["OW", "update"];
        const SOURCE: &[&str] = &["RO", "access"];
        if let Some(last) = self.key_flags_each.last() {
            return self.key_flags_each.get(i).unwrap_or(last);
        }
        match self.keys {
            Keys::DestNumKeys { .. } if i == 0 => DEST,
            Keys::DestNumKeys { .. } => SOURCE,
            Keys::Store { .. } if i == 0 => SOURCE,
            Keys::Store { .. } => DEST,
            _ => self.key_spec_flags(),
        }
    }

    /// [`CommandSpec::flags_for_key`] for this invocation: a key spec with `variable_flags` is resolved as Redis's
    /// key-finding functions do (SET: `RW access update` with GET, else `OW update`; BITFIELD: `RO access` when it
    /// only reads).
    pub fn key_flags_for(&self, i: usize, args: &[Bytes]) -> &'static [&'static str] {
        let flags = self.flags_for_key(i);
        if !flags.contains(&"variable_flags") {
            return flags;
        }
        let any =
            |words: &[&str]| args.iter().skip(2).any(|a| words.iter().any(|w| a.eq_ignore_ascii_case(w.as_bytes())));
        match self.name {
            "set" if any(&["GET"]) => &["RW", "access", "update"],
            "set" => &["OW", "update"],
            "bitfield" if !any(&["SET", "INCRBY"]) => &["RO", "access"],
            _ => &["RW", "access", "update"],
        }
    }

    /// Key-spec flags: explicit ones, else `RW access update` for writes and `RO access` for reads.
    pub fn key_spec_flags(&self) -> &'static [&'static str] {
        if !self.key_flags.is_empty() {
            self.key_flags
        } else if self.has(flags::WRITE) {
            &["RW", "access", "update"]
        } else {
            &["RO", "access"]
        }
    }

    /// Adds ACL categories.
    pub const fn acl(mut self, cats: &'static [&'static str]) -> Self {
        self.acl = cats;
        self
    }

    /// True when `n` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, n: usize) -> bool {
        let n = n as i32;
        if self.arity >= 0 {
            n == self.arity
        } else {
            n >= -self.arity
        }
    }

    /// True when the command has all of `f`.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f == f
    }
}

/// Runtime statistics of one command (INFO commandstats and latencystats).
#[derive(Debug, Default)]
pub struct CommandStats(Striped<4>, crate::util::latency::Latency);

impl CommandStats {
    const CALLS: usize = 0;
    const USEC: usize = 1;
    const REJECTED: usize = 2;
    const FAILED: usize = 3;

    /// Counts a call that took `usec` microseconds.
    #[inline]
    pub fn record_call(&self, usec: u64) {
        self.0.add(Self::CALLS, 1);
        self.0.add(Self::USEC, usec);
    }

    /// Counts a call refused before it ran (arity, OOM, ...).
    pub fn record_rejected(&self) {
        self.0.add(Self::REJECTED, 1);
    }

    /// Counts a call that ran and replied with an error.
    pub fn record_failed(&self) {
        self.0.add(Self::FAILED, 1);
    }

    pub fn calls(&self) -> u64 {
        self.0.get(Self::CALLS)
    }

    pub fn usec(&self) -> u64 {
        self.0.get(Self::USEC)
    }

    pub fn rejected(&self) -> u64 {
        self.0.get(Self::REJECTED)
    }

    pub fn failed(&self) -> u64 {
        self.0.get(Self::FAILED)
    }

    /// Records a call's duration in the latency histogram (`latency-tracking yes`).
    #[inline]
    pub fn record_latency(&self, ns: u64) {
        self.1.record(ns);
    }

    /// The call durations recorded since the last reset, merged; `None` before the first.
    pub fn latency(&self) -> Option<hdrhistogram::Histogram<u64>> {
        self.1.merged()
    }

    /// Clears the counters and the latency histogram (CONFIG RESETSTAT).
    pub fn reset(&self) {
        self.0.reset();
        self.1.reset();
    }
}

/// A resolved command: the row, its full name (`config|get`) and its dense id (index into the stats).
#[derive(Debug)]
pub struct Command {
    pub spec: &'static CommandSpec,
    pub full_name: String,
    pub id: usize,
    pub parent: Option<usize>,
    pub subs: Vec<usize>,
    /// ACL categories, a bit set over [`crate::engine::acl::CATEGORIES`] (computed by the table's builder).
    pub acl_categories: u32,
}

impl Command {
    /// The table row.
    pub fn spec(&self) -> &'static CommandSpec {
        self.spec
    }
}

/// All commands, built once from the families' rows.
#[derive(Debug)]
pub struct CommandTable {
    pub commands: Vec<Command>,
    /// Lowercase name to index; hashbrown's default (foldhash) hasher, as lookup runs on every command.
    by_name: hashbrown::HashMap<&'static [u8], usize>,
}

static INSTALLED: OnceLock<CommandTable> = OnceLock::new();

/// Builds the table from every family's rows and installs it (once; later calls return the installed table).
/// `categories(spec, is_container)` gives a row's ACL category bits.
pub fn install(
    families: &[&'static [CommandSpec]],
    categories: fn(&CommandSpec, bool) -> u32,
) -> &'static CommandTable {
    INSTALLED.get_or_init(|| {
        let mut commands = Vec::new();
        let mut by_name = hashbrown::HashMap::new();
        for fam in families {
            for spec in *fam {
                let id = commands.len();
                by_name.insert(spec.name.as_bytes(), id);
                let is_container = !spec.subcommands.is_empty() && spec.flags == 0;
                commands.push(Command {
                    spec,
                    full_name: spec.name.to_string(),
                    id,
                    parent: None,
                    subs: Vec::new(),
                    acl_categories: categories(spec, is_container),
                });
                for sub in spec.subcommands {
                    let sid = commands.len();
                    commands.push(Command {
                        spec: sub,
                        full_name: format!("{}|{}", spec.name, sub.name),
                        id: sid,
                        parent: Some(id),
                        subs: Vec::new(),
                        acl_categories: categories(sub, false),
                    });
                    commands[id].subs.push(sid);
                }
            }
        }
        CommandTable { commands, by_name }
    })
}

/// The installed command table.
///
/// # Panics
/// Before `commands::table()` has installed it; every `Server` is built with the table, so code running for a
/// server never sees that.
#[allow(clippy::expect_used)]
pub fn table() -> &'static CommandTable {
    // A unit test run alone has started no server to install it.
    #[cfg(test)]
    crate::commands::table();
    INSTALLED.get().expect("the command table is installed (commands::table()) before a server starts")
}

/// What a lookup of argv found.
#[derive(Debug)]
pub enum Lookup<'t> {
    Found(&'t Command),
    Unknown,
    /// A container was named with an unknown subcommand.
    UnknownSub(&'t Command),
}

impl CommandTable {
    /// Finds a top-level command by name, case-insensitively, without allocating.
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).map(|&i| &self.commands[i])
    }

    /// Resolves argv to a command or subcommand.
    pub fn lookup(&self, args: &[Bytes]) -> Lookup<'_> {
        let Some(cmd) = args.first().and_then(|n| self.get(n)) else { return Lookup::Unknown };
        if cmd.subs.is_empty() || args.len() < 2 {
            return Lookup::Found(cmd);
        }
        let sub = &args[1];
        match cmd.subs.iter().map(|&i| &self.commands[i]).find(|c| c.spec.name.as_bytes().eq_ignore_ascii_case(sub)) {
            Some(c) => Lookup::Found(c),
            None => Lookup::UnknownSub(cmd),
        }
    }

    /// Finds a command by its full name (`get`, `config|get`).
    pub fn by_full_name(&self, name: &[u8]) -> Option<&Command> {
        let s = String::from_utf8_lossy(name).to_ascii_lowercase();
        match s.split_once('|') {
            None => self.get(s.as_bytes()),
            Some((parent, sub)) => {
                let p = self.get(parent.as_bytes())?;
                p.subs.iter().map(|&i| &self.commands[i]).find(|c| c.spec.name == sub)
            }
        }
    }

    /// Top-level commands in table order.
    pub fn top_level(&self) -> impl Iterator<Item = &Command> {
        self.commands.iter().filter(|c| c.parent.is_none())
    }
}
