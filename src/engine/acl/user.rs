//! Users and their selectors: the rules `ACL SETUSER` and the ACL file accept, and how a user is described back
//! (`ACL LIST`, `ACL GETUSER`, `ACL SAVE`).
//!
//! A user is a value: `ACL SETUSER` edits a copy and swaps it in whole, so a rule list that fails half way changes
//! nothing and a client holding the old `Arc<User>` never sees a half-applied definition.

use super::categories::{self, CATEGORIES};
use crate::engine::table::{table, Command};
use crate::error;
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Why a rule was refused (the cases Redis's `ACLSetUser` reports through `errno`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// The rule is not understood, or a pattern holds a space.
    Syntax,
    /// `+`/`-` named a command or category that does not exist.
    UnknownCommand,
    /// A key pattern after `~*` / `allkeys`.
    KeysAfterAll,
    /// A channel pattern after `&*` / `allchannels`.
    ChannelsAfterAll,
    /// `<pass` or `!hash` named a password the user does not have.
    NoSuchPassword,
    /// `#hash` / `!hash` is not 64 lowercase hex characters.
    BadHash,
    /// `+cmd|sub|arg`: first-argument rules only exist for commands without subcommands.
    SubcommandFirstArg,
}

impl RuleError {
    /// The explanation Redis appends to `Error in ACL SETUSER modifier '...': `.
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => error::ACL_RULE_SYNTAX,
            RuleError::UnknownCommand => error::ACL_RULE_UNKNOWN_COMMAND,
            RuleError::KeysAfterAll => error::ACL_RULE_KEYS_AFTER_ALL,
            RuleError::ChannelsAfterAll => error::ACL_RULE_CHANNELS_AFTER_ALL,
            RuleError::NoSuchPassword => error::ACL_RULE_NO_SUCH_PASSWORD,
            RuleError::BadHash => error::ACL_RULE_BAD_HASH,
            RuleError::SubcommandFirstArg => error::ACL_RULE_SUBCOMMAND_FIRST_ARG,
        }
    }
}

/// A key pattern with the access it grants (`~p` both, `%R~p` reads, `%W~p` writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub read: bool,
    pub write: bool,
    pub pattern: Bytes,
}

impl KeyPattern {
    /// The rule that adds this pattern: `~p`, `%R~p` or `%W~p`.
    fn rule(&self) -> Vec<u8> {
        let mut v = match (self.read, self.write) {
            (true, false) => b"%R~".to_vec(),
            (false, true) => b"%W~".to_vec(),
            _ => b"~".to_vec(),
        };
        v.extend_from_slice(&self.pattern);
        v
    }
}

/// One set of permissions: commands, keys and channels. A user has a root selector plus any number of
/// parenthesised ones; a command is allowed when one selector allows all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub(crate) all_keys: bool,
    pub(crate) all_channels: bool,
    /// Set by `+@all` and cleared by removing any command: lets the check skip the command bits.
    pub(crate) all_commands: bool,
    /// Set only by `+@all`: the selector started from everything, so its description starts with `+@all` (Redis
    /// keeps this as a reserved bit no command uses).
    future: bool,
    /// One bit per command-table id.
    allowed: Vec<u64>,
    /// First arguments allowed for an otherwise refused command (`+select|0`), by command id.
    first_args: Vec<(usize, Vec<Bytes>)>,
    pub(crate) keys: Vec<KeyPattern>,
    pub(crate) channels: Vec<Bytes>,
}

/// What `isspace` or a NUL would make ambiguous in a rule written back to a file.
fn has_space(s: &[u8]) -> bool {
    s.iter().any(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | 0))
}

fn words() -> usize {
    table().commands.len().div_ceil(64)
}

impl Selector {
    /// An empty selector: no commands, no keys; every channel when `all_channels` (acl-pubsub-default).
    pub fn new(all_channels: bool) -> Selector {
        Selector {
            all_keys: false,
            all_channels,
            all_commands: false,
            future: false,
            allowed: vec![0; words()],
            first_args: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether command `id` is allowed by its bit (first arguments aside).
    #[inline]
    pub fn bit(&self, id: usize) -> bool {
        self.allowed.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.allowed.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.all_commands = false;
            }
        }
    }

    /// The first arguments allowed for command `id`.
    pub fn first_args(&self, id: usize) -> Option<&[Bytes]> {
        self.first_args.iter().find(|(i, _)| *i == id).map(|(_, v)| v.as_slice())
    }

    /// Allows or refuses a command; a container takes its subcommands with it.
    fn change_perm(&mut self, cmd: &Command, allow: bool) {
        self.set_bit(cmd.id, allow);
        self.first_args.retain(|(i, _)| *i != cmd.id);
        for &sub in &cmd.subs {
            self.set_bit(sub, allow);
        }
    }

    /// Allows or refuses every command of a category (subcommands included).
    fn set_category(&mut self, cat: u32, allow: bool) {
        for c in &table().commands {
            if c.acl_categories & cat != 0 {
                self.change_perm(c, allow);
            }
        }
    }

    /// Commands of category `cat` this selector allows and refuses.
    fn count_category(&self, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for c in table().commands.iter().filter(|c| c.acl_categories & cat != 0) {
            if self.bit(c.id) {
                on += 1;
            } else {
                off += 1;
            }
        }
        (on, off)
    }

    fn allow_all(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.all_commands = on;
        self.future = on;
        self.first_args.clear();
    }

    /// Applies one selector rule (everything but the user-level rules: flags, passwords, selectors).
    ///
    /// # Errors
    /// The [`RuleError`] Redis reports for the rule.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.allow_all(true);
        } else if is("nocommands") || is("-@all") {
            self.allow_all(false);
        } else if let Some(&first) = op.first() {
            match (first, op.get(1)) {
                (b'~' | b'%', _) => self.add_key_pattern(op)?,
                (b'&', _) => self.add_channel(&op[1..])?,
                (b'+', Some(b'@')) | (b'-', Some(b'@')) => {
                    let cat = categories::bit(&op[2..]).ok_or(RuleError::UnknownCommand)?;
                    self.set_category(cat, first == b'+');
                }
                (b'+', _) => self.allow_command(&op[1..])?,
                (b'-', _) => {
                    let cmd = table().by_full_name(&op[1..]).ok_or(RuleError::UnknownCommand)?;
                    self.change_perm(cmd, false);
                }
                _ => return Err(RuleError::Syntax),
            }
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        let (mut read, mut write) = (true, true);
        let mut at = 1;
        if op.first() == Some(&b'%') {
            (read, write) = (false, false);
            while let Some(&c) = op.get(at) {
                at += 1;
                match c.to_ascii_uppercase() {
                    b'R' if !read => read = true,
                    b'W' if !write => write = true,
                    b'~' if read || write => break,
                    _ => return Err(RuleError::Syntax),
                }
            }
            if !read && !write {
                return Err(RuleError::Syntax);
            }
        }
        let pattern = op.get(at..).unwrap_or_default();
        if has_space(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern { read, write, pattern: Bytes::copy_from_slice(pattern) }),
        }
        Ok(())
    }

    fn add_channel(&mut self, pattern: &[u8]) -> Result<(), RuleError> {
        if self.all_channels {
            return Err(RuleError::ChannelsAfterAll);
        }
        if has_space(pattern) {
            return Err(RuleError::Syntax);
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(Bytes::copy_from_slice(pattern));
        }
        Ok(())
    }

    /// `+name`: a command, a subcommand (`config|get`) or a first argument (`select|0`).
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let cmd = table().by_full_name(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(cmd, true);
            return Ok(());
        };
        let (base, arg) = (&name[..bar], &name[bar + 1..]);
        let cmd = table().by_full_name(base).ok_or(RuleError::UnknownCommand)?;
        if cmd.parent.is_some() {
            return Err(RuleError::SubcommandFirstArg);
        }
        if arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !cmd.subs.is_empty() {
            let sub = table().by_full_name(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(sub, true);
            return Ok(());
        }
        tracing::warn!(
            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get \
             disabled in the future (offender: +{})",
            String::from_utf8_lossy(name)
        );
        let arg = Bytes::copy_from_slice(arg);
        match self.first_args.iter_mut().find(|(i, _)| *i == cmd.id) {
            Some((_, list)) => {
                if !list.iter().any(|a| a.eq_ignore_ascii_case(&arg)) {
                    list.push(arg);
                }
            }
            None => self.first_args.push((cmd.id, vec![arg])),
        }
        Ok(())
    }

    /// The command rules in `ACL SETUSER` form, reconstructed from the command bits the way Redis 7.0 does it:
    /// `+@all` or `-@all`, then the categories that fit best (greedily, fewest differences first), then the single
    /// commands still different. Redis emits those single commands in its command dictionary's hash order, which
    /// changes from one process to the next; Strata uses table order.
    pub fn describe_commands(&self) -> String {
        let additive = !self.future;
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::new(false);
        fake.allow_all(!additive);
        let mut temp = self.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, name) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(categories::known(name));
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            let cat = 1 << j;
            fake.set_category(cat, additive);
            temp.set_category(cat, !additive);
            rules.push(if additive { '+' } else { '-' });
            rules.push('@');
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        for c in table().commands.iter() {
            let mine = self.bit(c.id);
            if mine != fake.bit(c.id) {
                rules.push(if mine { '+' } else { '-' });
                rules.push_str(&c.full_name);
                rules.push(' ');
                fake.change_perm(c, mine);
            }
            if !mine {
                for arg in self.first_args(c.id).unwrap_or_default() {
                    rules.push('+');
                    rules.push_str(&c.full_name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(arg));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// The key patterns as `ACL GETUSER` shows them: `~*`, or the rules separated by spaces.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        join(self.keys.iter().map(KeyPattern::rule))
    }

    /// The channel patterns as `ACL GETUSER` shows them: `&*`, or `&pattern`s separated by spaces.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        join(self.channels.iter().map(|c| [&b"&"[..], c].concat()))
    }

    /// The whole selector in rule form, as ACL LIST prints it: keys, channels, commands.
    fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                out.extend_from_slice(&k.rule());
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }
}

fn join(items: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&item);
    }
    out
}

/// The hex SHA-256 of a password, as users store them (`#<hash>`).
pub fn hash_password(pass: &[u8]) -> String {
    let digest = Sha256::digest(pass);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Equality whose time does not depend on where the inputs differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One ACL user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Bytes,
    enabled: bool,
    nopass: bool,
    /// `sanitize-payload` (Some(true)) or `skip-sanitize-payload` (Some(false)); neither until one is given.
    sanitize: Option<bool>,
    /// Hex SHA-256 hashes, in the order they were added.
    passwords: Vec<String>,
    /// The root selector first, then the parenthesised ones.
    selectors: Vec<Selector>,
    /// Cached: the root selector allows every command, key and channel, so checks can be skipped.
    unrestricted: bool,
}

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no password, no permissions, channels per
    /// `acl-pubsub-default`.
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: Bytes::copy_from_slice(name),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_all)],
            unrestricted: false,
        }
    }

    /// The `default` user as the server starts with it: `on nopass ~* &* +@all`.
    pub fn new_default() -> User {
        let mut u = User::new(b"default", true);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // These rules are valid by construction; a failure would leave the user more restricted, never less.
            let _ = u.apply(op.as_bytes(), true);
        }
        u
    }

    /// True when the user may run anything: the permission check is skipped.
    #[inline]
    pub fn unrestricted(&self) -> bool {
        self.unrestricted
    }

    /// `on`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `nopass`: any password authenticates.
    pub fn nopass(&self) -> bool {
        self.nopass
    }

    /// The selectors, root first.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// The stored password hashes.
    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// The user's flags in Redis's order (ACL GETUSER `flags`).
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// Whether `pass` authenticates this user (enabled or not: the caller checks `enabled`).
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let hashed = hash_password(pass);
        self.passwords.iter().fold(false, |ok, p| ok | same_secret(p.as_bytes(), hashed.as_bytes()))
    }

    fn root(&mut self) -> &mut Selector {
        if self.selectors.is_empty() {
            self.selectors.push(Selector::new(false));
        }
        &mut self.selectors[0]
    }

    /// Applies one rule. `pubsub_all` is `acl-pubsub-default allchannels`, for selectors this rule creates.
    ///
    /// # Errors
    /// The [`RuleError`] Redis reports for the rule; the user may then be partly changed, so callers apply rules
    /// to a copy.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let r = self.apply_inner(op, pubsub_all);
        self.unrestricted = self.selectors.first().is_some_and(|s| s.all_commands && s.all_keys && s.all_channels);
        r
    }

    fn apply_inner(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        let Some(&first) = op.first() else { return Ok(()) };
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if first == b'>' || first == b'#' {
            let hash = if first == b'>' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if first == b'<' || first == b'!' {
            let hash = if first == b'<' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self.passwords.iter().position(|p| *p == hash).ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if first == b'(' && op.last() == Some(&b')') {
            let inner = &op[1..op.len() - 1];
            let mut sel = Selector::new(pubsub_all);
            for rule in crate::util::splitargs::split_args(inner).unwrap_or_default() {
                sel.apply(&rule)?;
            }
            self.selectors.push(sel);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply_inner(r.as_bytes(), pubsub_all)?;
            }
            if pubsub_all {
                self.apply_inner(b"allchannels", pubsub_all)?;
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply_inner(r.as_bytes(), pubsub_all)?;
            }
        } else {
            self.root().apply(op)?;
        }
        Ok(())
    }

    /// The user in rule form, without `user <name> `: what ACL LIST shows and ACL SAVE writes.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flags() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// `user <name> <rules>`: one ACL LIST entry, one ACL file line.
    pub fn acl_line(&self) -> Vec<u8> {
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&self.name);
        line.push(b' ');
        line.extend_from_slice(&self.describe());
        line
    }
}

/// Joins rules spread over several arguments into one selector: `"(~a" "+get)"` is the selector `(~a +get)`.
///
/// # Errors
/// The index of the argument that opened a selector never closed.
pub fn merge_selector_args<A: AsRef<[u8]>>(args: &[A]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, a) in args.iter().enumerate() {
        let a = a.as_ref();
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(a);
            if a.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if a.first() == Some(&b'(') && a.last() != Some(&b')') {
            open = Some((i, a.to_vec()));
            continue;
        }
        out.push(a.to_vec());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for r in rules {
            u.apply(r.as_bytes(), false).unwrap();
        }
        u
    }

    fn line(u: &User) -> String {
        String::from_utf8(u.acl_line()).unwrap()
    }

    #[test]
    fn default_user_line() {
        assert_eq!(line(&User::new_default()).replace("user u", "user default"), "user default on nopass ~* &* +@all");
        assert!(User::new_default().unrestricted());
    }

    #[test]
    fn descriptions_as_redis_prints_them() {
        assert_eq!(line(&user(&[])), "user u off resetchannels -@all");
        assert_eq!(line(&user(&["+@all", "-@dangerous"])), "user u off resetchannels +@all -@dangerous");
        assert_eq!(line(&user(&["-@all", "+get"])), "user u off resetchannels -@all +get");
        assert_eq!(
            line(&user(&["+@all", "-config", "+config|get"])),
            "user u off resetchannels +@all -config +config|get"
        );
        assert_eq!(line(&user(&["+select|0", "+select|1"])), "user u off resetchannels -@all +select|0 +select|1");
        assert_eq!(
            line(&user(&["on", ">p1", "%RW~a", "%R~b", "%W~c", "~c", "&ch", "(+get ~x)"])),
            "user u on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~a %R~b ~c resetchannels &ch \
             -@all (~x resetchannels -@all +get)"
        );
        assert_eq!(line(&user(&["reset"])), "user u off sanitize-payload resetchannels -@all");
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new(b"u", false);
        let mut err = |r: &str| u.apply(r.as_bytes(), false).unwrap_err();
        assert_eq!(err("foo"), RuleError::Syntax);
        assert_eq!(err("+nosuch"), RuleError::UnknownCommand);
        assert_eq!(err("+@nosuch"), RuleError::UnknownCommand);
        assert_eq!(err("%~a"), RuleError::Syntax);
        assert_eq!(err("%RR~a"), RuleError::Syntax);
        assert_eq!(err("~a b"), RuleError::Syntax);
        assert_eq!(err("+config|get|x"), RuleError::SubcommandFirstArg);
        assert_eq!(err("+config|"), RuleError::Syntax);
        assert_eq!(err("-get|x"), RuleError::UnknownCommand);
        assert_eq!(err("#abc"), RuleError::BadHash);
        assert_eq!(err("<nope"), RuleError::NoSuchPassword);
        assert_eq!(err("(on)"), RuleError::Syntax);
        u.apply(b"~*", false).unwrap();
        assert_eq!(u.apply(b"~a", false).unwrap_err(), RuleError::KeysAfterAll);
    }

    #[test]
    fn passwords_and_hashes() {
        let u = user(&[">p1", ">p2", ">p1", "<p2"]);
        assert_eq!(u.passwords(), [hash_password(b"p1")]);
        assert!(u.password_ok(b"p1") && !u.password_ok(b"p2"));
        assert!(user(&["nopass"]).password_ok(b"anything"));
    }

    #[test]
    fn selector_arguments_merge() {
        assert_eq!(merge_selector_args(&["(~a", "+get)", "on"]), Ok(vec![b"(~a +get)".to_vec(), b"on".to_vec()]));
        assert_eq!(merge_selector_args(&["on", "(~a", "+get"]), Err(1));
    }
}
