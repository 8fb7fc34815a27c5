//! Whether a user may run one command with its arguments: the command itself, the keys it names (with the access
//! its key specs declare) and the pub/sub channels it names.

use super::user::{Selector, User};
use crate::engine::table::{flags, Command, Keys};
use crate::util::glob::glob_match;
use bytes::Bytes;

/// Why a command was refused. Ordered as Redis ranks them when several selectors refuse for different reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    /// The command (or subcommand) is not allowed.
    Command,
    /// The key at this argument position is not allowed.
    Key(usize),
    /// The channel at this argument position is not allowed.
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(p) => (2, p),
            Denied::Channel(p) => (4, p),
        }
    }
}

/// Read and write intent of one key argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// The access a key-spec flag list declares: `access` reads the value, `insert` / `delete` / `update` write it
/// (Redis's `CMD_KEY_ACCESS`, `_INSERT`, `_DELETE`, `_UPDATE`); `RO`/`RW`/`OW`/`RM` alone ask for nothing.
fn access_of(spec_flags: &[&str]) -> Access {
    let has = |f: &str| spec_flags.iter().any(|s| s.eq_ignore_ascii_case(f));
    Access { read: has("access"), write: has("insert") || has("delete") || has("update") }
}

/// The keys of `args` (argument 0 is the command name) with the access each needs.
pub fn key_accesses(cmd: &Command, args: &[Bytes]) -> Vec<(usize, Access)> {
    let spec = cmd.spec;
    // Flags that vary with the arguments are resolved as Redis's key-finding functions do (SET with GET reads the
    // old value; BITFIELD with GET only does not write).
    let positions = spec.keys.positions(args);
    positions.into_iter().enumerate().map(|(i, p)| (p, access_of(spec.key_flags_for(i, args)))).collect()
}

/// The channels of `args` and whether each is a pattern (PSUBSCRIBE), for the commands whose channels ACLs
/// restrict: those that publish or subscribe. Unsubscribing is always allowed.
pub fn channels(cmd: &Command, args: &[Bytes]) -> Vec<(usize, bool)> {
    if cmd.parent.is_some() || !cmd.spec.has(flags::PUBSUB) {
        return Vec::new();
    }
    match cmd.spec.name {
        "publish" | "spublish" if args.len() > 1 => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..args.len()).map(|p| (p, false)).collect(),
        "psubscribe" => (1..args.len()).map(|p| (p, true)).collect(),
        _ => Vec::new(),
    }
}

fn key_allowed(sel: &Selector, key: &[u8], need: Access) -> bool {
    sel.keys.iter().any(|k| (k.read || !need.read) && (k.write || !need.write) && glob_match(&k.pattern, key, false))
}

/// A channel is matched against the patterns; a PSUBSCRIBE pattern only against an identical pattern.
fn channel_allowed(sel: &Selector, channel: &[u8], is_pattern: bool) -> bool {
    sel.channels.iter().any(|p| if is_pattern { p == channel } else { glob_match(p, channel, false) })
}

/// Checks one selector. `keys` is computed on first use and shared between selectors.
fn check_selector(
    sel: &Selector,
    cmd: &Command,
    args: &[Bytes],
    keys: &mut Option<Vec<(usize, Access)>>,
) -> Result<(), Denied> {
    if !sel.all_commands && !cmd.spec.has(flags::NO_AUTH) && !sel.bit(cmd.id) {
        // Refused unless allowed with this first argument (`+select|0`).
        let at = if cmd.parent.is_some() { 2 } else { 1 };
        let allowed = match (sel.first_args(cmd.id), args.get(at)) {
            (Some(list), Some(arg)) if args.len() >= 2 => list.iter().any(|a| a.eq_ignore_ascii_case(arg)),
            _ => false,
        };
        if !allowed {
            return Err(Denied::Command);
        }
    }
    if !sel.all_keys && !matches!(cmd.spec.keys, Keys::None) {
        for &(pos, need) in keys.get_or_insert_with(|| key_accesses(cmd, args)).iter() {
            if !args.get(pos).is_some_and(|k| key_allowed(sel, k, need)) {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !sel.all_channels {
        for (pos, is_pattern) in channels(cmd, args) {
            if !args.get(pos).is_some_and(|c| channel_allowed(sel, c, is_pattern)) {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

/// Whether `user` may run `cmd` with `args`: allowed when one selector allows all of it. When every selector
/// refuses, the reason reported is the furthest-reaching one (a channel over a key over the command; of two keys,
/// the later one), as Redis picks it.
///
/// # Errors
/// The chosen [`Denied`] reason.
pub fn check(user: &User, cmd: &Command, args: &[Bytes]) -> Result<(), Denied> {
    if user.unrestricted() {
        return Ok(());
    }
    let mut keys = None;
    let mut worst = Denied::Command;
    for sel in user.selectors() {
        match check_selector(sel, cmd, args, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) if d.rank() > worst.rank() => worst = d,
            Err(_) => {}
        }
    }
    Err(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::table::table;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
    }

    fn run(user: &User, line: &str) -> Result<(), Denied> {
        let args = argv(line);
        let cmd = match table().lookup(&args) {
            crate::engine::table::Lookup::Found(c) => c,
            _ => panic!("no command {line}"),
        };
        check(user, cmd, &args)
    }

    fn user(rules: &str) -> User {
        let mut u = User::new(b"u", false);
        let words: Vec<&str> = rules.split(' ').collect();
        for r in crate::engine::acl::user::merge_selector_args(&words).unwrap() {
            u.apply(&r, false).unwrap();
        }
        u
    }

    #[test]
    fn commands_keys_and_channels() {
        let u = user("+@all %R~r* %W~w* ~b* &news.* &ex");
        assert_eq!(run(&u, "set w1 v"), Ok(()));
        assert_eq!(run(&u, "set w1 v GET"), Err(Denied::Key(1)));
        assert_eq!(run(&u, "get w1"), Err(Denied::Key(1)));
        assert_eq!(run(&u, "get r1"), Ok(()));
        assert_eq!(run(&u, "del w1"), Ok(()));
        assert_eq!(run(&u, "del r1"), Err(Denied::Key(1)));
        assert_eq!(run(&u, "mget r1 x1"), Err(Denied::Key(2)));
        assert_eq!(run(&u, "zunionstore w1 2 r1 r2"), Ok(()));
        assert_eq!(run(&u, "publish news.a x"), Ok(()));
        assert_eq!(run(&u, "publish newsx x"), Err(Denied::Channel(1)));
        assert_eq!(run(&u, "subscribe news.a zz"), Err(Denied::Channel(2)));
        assert_eq!(run(&u, "psubscribe news.*"), Ok(()));
        assert_eq!(run(&u, "psubscribe news.a"), Err(Denied::Channel(1)));
        assert_eq!(run(&u, "unsubscribe zz"), Ok(()));
    }

    #[test]
    fn subcommands_and_first_args() {
        let u = user("+config|get +select|0 ~*");
        assert_eq!(run(&u, "config get maxmemory"), Ok(()));
        assert_eq!(run(&u, "config set maxmemory 1"), Err(Denied::Command));
        assert_eq!(run(&u, "select 0"), Ok(()));
        assert_eq!(run(&u, "select 1"), Err(Denied::Command));
        assert_eq!(run(&u, "auth x"), Ok(()), "AUTH needs no permission");
    }

    #[test]
    fn selectors_and_the_reported_reason() {
        let u = user("+get ~a* (+set ~b*)");
        assert_eq!(run(&u, "get a1"), Ok(()));
        assert_eq!(run(&u, "set b1 v"), Ok(()));
        assert_eq!(run(&u, "set a1 v"), Err(Denied::Key(1)));
        assert_eq!(run(&u, "del a1"), Err(Denied::Command));
    }
}
