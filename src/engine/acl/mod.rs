//! Access control lists, as Redis 7.0 has them: users, their rules, the permission check every command passes, and
//! the ACL log.
//!
//! - `categories`: the ACL category names and bits (which commands belong to which is the command table's part).
//! - `user`: [`User`] and its selectors; parsing rules (`ACL SETUSER`) and describing them back (`ACL LIST`).
//! - `perm`: whether a user may run a command with its keys and channels.
//! - `log`: the ACL log.
//! - `file`: the ACL file (`aclfile`, ACL LOAD / SAVE).
//!
//! [`Acl`] holds the users. Each client holds an `Arc` of its user's current definition ([`ClientAcl`]); every
//! change to any user bumps a generation counter, and a client whose generation is behind re-reads its user
//! before its next command. So the check the gate makes ([`check_command`]) is, for the default user with
//! `+@all ~* &*`, one atomic load and one flag test. The commands themselves are in `commands/acl.rs`.

pub mod categories;
pub mod file;
pub mod log;
pub mod perm;
pub mod user;

pub use categories::CATEGORIES;
pub use perm::Denied;
pub use user::User;

use crate::engine::client::Session;
use crate::engine::state::Server;
use crate::engine::table::{flags, Command};
use crate::error::{self, CmdError};
use bytes::Bytes;
use log::{AclLog, Context, Entry, Reason};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

const DEFAULT: &[u8] = b"default";

/// The users, the ACL log and the ACL settings.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    /// Bumped by every change to any user; clients compare it with the one their user was read at.
    generation: AtomicU64,
    default_nopass: AtomicBool,
    default_requires_auth: AtomicBool,
    log: Mutex<AclLog>,
    /// `acl-pubsub-default allchannels`: new users and selectors may use every channel.
    pubsub_all: AtomicBool,
    /// `acllog-max-len`.
    log_max_len: AtomicUsize,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

impl Acl {
    /// Only the default user (`on nopass ~* &* +@all`), as a server starts.
    pub fn new() -> Acl {
        let default = Arc::new(User::new_default());
        let acl = Acl {
            users: RwLock::new(BTreeMap::from([(default.name.clone(), default)])),
            generation: AtomicU64::new(1),
            default_nopass: AtomicBool::new(true),
            default_requires_auth: AtomicBool::new(false),
            log: Mutex::new(AclLog::default()),
            pubsub_all: AtomicBool::new(false),
            log_max_len: AtomicUsize::new(128),
        };
        acl.note_default();
        acl
    }

    /// True when the default user has `nopass`: any client may use it without a password. Protected mode keys off
    /// this, as Redis's does (`DefaultUser->flags & USER_FLAG_NOPASS`). One atomic load.
    #[inline]
    pub fn default_user_nopass(&self) -> bool {
        self.default_nopass.load(Ordering::Relaxed)
    }

    /// True when a new connection must authenticate: the default user has a password requirement or is off.
    #[inline]
    pub fn default_requires_auth(&self) -> bool {
        self.default_requires_auth.load(Ordering::Relaxed)
    }

    /// True when at least one user has a password (the other question protected mode may ask: "has anyone
    /// secured this server?"). Walks the users.
    pub fn any_user_has_password(&self) -> bool {
        self.users.read().values().any(|u| !u.passwords().is_empty())
    }

    /// `acl-pubsub-default`: whether new users start with every channel.
    pub fn set_pubsub_default(&self, pubsub_all: bool) {
        self.pubsub_all.store(pubsub_all, Ordering::Relaxed);
    }

    /// `acllog-max-len`.
    pub fn set_log_max_len(&self, log_max_len: usize) {
        self.log_max_len.store(log_max_len, Ordering::Relaxed);
    }

    fn pubsub_all(&self) -> bool {
        self.pubsub_all.load(Ordering::Relaxed)
    }

    /// The user called `name`.
    pub fn user(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// The default user.
    pub fn default_user(&self) -> Arc<User> {
        self.user(DEFAULT).unwrap_or_else(|| DEFAULT_TEMPLATE.clone())
    }

    /// Every user, in name order.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// The current generation (see the module documentation).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The newest `n` log entries.
    pub fn log_entries(&self, n: usize) -> Vec<Entry> {
        self.log.lock().newest(n)
    }

    /// ACL LOG RESET.
    pub fn log_reset(&self) {
        self.log.lock().clear();
    }

    fn log_add(&self, entry: Entry) {
        let max = self.log_max_len.load(Ordering::Relaxed);
        self.log.lock().add(entry, max);
    }

    /// Re-reads the default user's flags into the atomics (after any change).
    fn note_default(&self) {
        let (nopass, enabled) = self.users.read().get(DEFAULT).map_or((true, true), |u| (u.nopass(), u.enabled()));
        self.default_nopass.store(nopass, Ordering::Relaxed);
        self.default_requires_auth.store(!(nopass && enabled), Ordering::Relaxed);
    }

    /// Replaces or adds users and removes others, then tells clients. `edit` runs under the write lock, so two
    /// changes never work from the same old definition.
    fn change<R>(&self, edit: impl FnOnce(&mut BTreeMap<Bytes, Arc<User>>) -> R) -> R {
        let r = edit(&mut self.users.write());
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.note_default();
        r
    }

    /// Replaces one user with `edit`'s result (given the current definition, if any); nothing changes when `edit`
    /// fails. Returns the old and the new definition.
    fn update<E>(
        &self,
        name: &[u8],
        edit: impl FnOnce(Option<&User>) -> Result<User, E>,
    ) -> Result<(Option<Arc<User>>, Arc<User>), E> {
        let mut users = self.users.write();
        let old = users.get(name).cloned();
        let new = Arc::new(edit(old.as_deref())?);
        users.insert(new.name.clone(), new.clone());
        drop(users);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.note_default();
        Ok((old, new))
    }
}

/// The default user's definition before any [`Acl`] was consulted (a new client's starting point).
static DEFAULT_TEMPLATE: LazyLock<Arc<User>> = LazyLock::new(|| Arc::new(User::new_default()));

/// A client's user: the definition it was last read at, and the generation it was read in.
#[derive(Debug, Clone)]
pub struct ClientAcl {
    pub user: Arc<User>,
    generation: u64,
}

impl Default for ClientAcl {
    /// The default user at generation 0, which no [`Acl`] has: the first command reads the real definition.
    fn default() -> Self {
        ClientAcl { user: DEFAULT_TEMPLATE.clone(), generation: 0 }
    }
}

/// Brings the client's user up to date when any user changed since it was read.
#[inline]
fn sync_client(srv: &Server, client: &mut Session) {
    let gen = srv.acl.generation();
    if client.acl.generation != gen {
        refresh_client(srv, client, gen);
    }
}

#[cold]
fn refresh_client(srv: &Server, client: &mut Session, gen: u64) {
    match srv.acl.user(&client.acl.user.name) {
        Some(u) => client.acl.user = u,
        None => {
            // The user was deleted (its clients are being closed): fall back to the default user, logged out, as
            // Redis does.
            client.acl.user = srv.acl.default_user();
            set_authenticated(client, false);
            *client.info.user.lock() = Bytes::from_static(DEFAULT);
        }
    }
    client.acl.generation = gen;
}

fn set_authenticated(client: &mut Session, on: bool) {
    client.authenticated = on;
    client.info.authenticated.store(on, Ordering::Relaxed);
}

fn log_entry(client: &Session, reason: Reason, context: Context, object: Bytes, username: Bytes) -> Entry {
    Entry {
        count: 1,
        reason,
        context,
        object,
        username,
        ctime_ms: crate::util::clock::unix_ms(),
        client_info: client.info.list_line(),
    }
}

fn context_of(client: &Session) -> Context {
    if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    }
}

/// Records a refusal in the ACL log.
fn log_denial(srv: &Server, client: &Session, cmd: &Command, args: &[Bytes], denied: Denied, context: Context) {
    // Copied: an argument is a slice of the client's read buffer, which the log must not keep alive.
    let arg = |p: usize| Bytes::copy_from_slice(args.get(p).map_or(&[][..], |a| &a[..]));
    let (reason, object) = match denied {
        Denied::Command => (Reason::Command, Bytes::from(cmd.full_name.clone())),
        Denied::Key(p) => (Reason::Key, arg(p)),
        Denied::Channel(p) => (Reason::Channel, arg(p)),
    };
    let username = client.acl.user.name.clone();
    srv.acl.log_add(log_entry(client, reason, context, object, username));
}

/// The permission gate: may this client's user run `cmd` with `args`? Dispatch calls it right after the
/// authentication check, for commands run at once and for commands being queued by MULTI alike; a refusal is
/// logged.
///
/// # Errors
/// `-NOPERM this user has no permissions to run the '<cmd>' command`, or the key / channel variants.
#[inline]
pub fn check_command(srv: &Server, client: &mut Session, cmd: &Command, args: &[Bytes]) -> Result<(), CmdError> {
    sync_client(srv, client);
    if client.acl.user.unrestricted() {
        return Ok(());
    }
    // Redis refuses a NO_MULTI command inside MULTI before it looks at ACLs; the gate gives that error.
    if client.multi.is_some() && cmd.spec.has(flags::NO_MULTI) {
        return Ok(());
    }
    check_slow(srv, client, cmd, args)
}

#[cold]
fn check_slow(srv: &Server, client: &mut Session, cmd: &Command, args: &[Bytes]) -> Result<(), CmdError> {
    let Err(denied) = perm::check(&client.acl.user, cmd, args) else { return Ok(()) };
    // CLIENT LIST in the log entry names the refused command, as Redis's does.
    client.info.last_cmd.store(cmd.id as u32, Ordering::Relaxed);
    log_denial(srv, client, cmd, args, denied, context_of(client));
    Err(match denied {
        Denied::Command => CmdError::noperm_command(&cmd.full_name),
        Denied::Key(_) => error::NOPERM_KEY,
        Denied::Channel(_) => error::NOPERM_CHANNEL,
    })
}

/// EXEC's second look at a queued command: the user's rules may have changed since it was queued.
///
/// # Errors
/// `-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. ...`.
pub fn check_queued(srv: &Server, client: &mut Session, cmd: &Command, args: &[Bytes]) -> Result<(), CmdError> {
    sync_client(srv, client);
    if client.acl.user.unrestricted() {
        return Ok(());
    }
    let Err(denied) = perm::check(&client.acl.user, cmd, args) else { return Ok(()) };
    log_denial(srv, client, cmd, args, denied, Context::Multi);
    Err(match denied {
        Denied::Command => error::NOPERM_EXEC_COMMAND,
        Denied::Key(_) => error::NOPERM_EXEC_KEY,
        Denied::Channel(_) => error::NOPERM_EXEC_CHANNEL,
    })
}

/// AUTH / HELLO AUTH: on success the client is authenticated as `username`; a failure is logged with `command`
/// (the command name as sent) as its object.
pub fn authenticate(srv: &Server, client: &mut Session, username: &[u8], password: &[u8], command: &[u8]) -> bool {
    let gen = srv.acl.generation();
    match srv.acl.user(username) {
        Some(u) if u.enabled() && u.password_ok(password) => {
            *client.info.user.lock() = u.name.clone();
            client.acl = ClientAcl { user: u, generation: gen };
            set_authenticated(client, true);
            true
        }
        _ => {
            let entry = log_entry(
                client,
                Reason::Auth,
                context_of(client),
                Bytes::copy_from_slice(command),
                Bytes::copy_from_slice(username),
            );
            srv.acl.log_add(entry);
            false
        }
    }
}

/// RESET: back to the default user, authenticated only if it needs no password.
pub fn reset_client(srv: &Server, client: &mut Session) {
    let gen = srv.acl.generation();
    client.acl = ClientAcl { user: srv.acl.default_user(), generation: gen };
    *client.info.user.lock() = Bytes::from_static(DEFAULT);
    set_authenticated(client, !srv.acl.default_requires_auth());
}

/// Copies the default user's state into the hot flag the connection and the gate read.
fn sync_hot(srv: &Server) {
    srv.hot.requirepass_set.store(srv.acl.default_requires_auth(), Ordering::Relaxed);
}

/// Closes the connections of clients whose user `matches`; the caller's own connection closes after its reply.
fn kill_clients(srv: &Server, me: Option<&mut Session>, matches: impl Fn(&[u8]) -> bool) {
    let me_id = me.as_ref().map(|c| c.info.id);
    let mut close_me = false;
    for c in srv.clients.all() {
        if !matches(&c.user.lock()) {
            continue;
        }
        if Some(c.id) == me_id {
            close_me = true;
        } else {
            c.kill();
            srv.clients.unregister(c.id);
        }
    }
    if let (true, Some(me)) = (close_me, me) {
        me.close_after_reply = true;
    }
}

/// ACL SETUSER: applies `rules` to a copy of the user (or a new one) and swaps it in only if every rule is valid.
/// Subscribers of the user whose channels the new rules no longer allow are disconnected.
///
/// # Errors
/// Redis's texts: `Usernames can't contain spaces or null characters`, `Unmatched parenthesis in acl selector
/// starting at '...'.`, `Error in ACL SETUSER modifier '...': ...`.
pub fn setuser(srv: &Server, me: &mut Session, name: &[u8], rules: &[Bytes]) -> Result<(), CmdError> {
    if name.iter().any(|&c| c.is_ascii_whitespace() || c == 0 || c == b'\x0b') {
        return Err(error::ACL_USERNAME_SPACES);
    }
    let rules = user::merge_selector_args(rules)
        .map_err(|i| CmdError::acl_unmatched_paren(rules.get(i).map_or(&b""[..], |r| &r[..])))?;
    let pubsub_all = srv.acl.pubsub_all();
    let (old, new) = srv.acl.update(name, |old| {
        let mut new = old.cloned().unwrap_or_else(|| User::new(name, pubsub_all));
        for r in &rules {
            new.apply(r, pubsub_all).map_err(|e| CmdError::acl_modifier(r, e.text()))?;
        }
        Ok(new)
    })?;
    if let Some(old) = &old {
        kill_revoked_subscribers(srv, me, old, &new);
    }
    sync_hot(srv);
    Ok(())
}

/// Disconnects the user's subscribers that hold a channel or pattern `new` does not allow (Redis's
/// ACLKillPubsubClientsIfNeeded).
fn kill_revoked_subscribers(srv: &Server, me: &mut Session, old: &User, new: &User) {
    if new.selectors().iter().any(|s| s.all_channels) {
        return;
    }
    let allowed: Vec<&Bytes> = new.selectors().iter().flat_map(|s| s.channels.iter()).collect();
    if old.selectors().iter().flat_map(|s| s.channels.iter()).all(|c| allowed.contains(&c)) {
        return;
    }
    let revoked = |channels: &[Bytes], patterns: &[Bytes]| {
        patterns.iter().any(|p| !allowed.contains(&p))
            || channels.iter().any(|c| !allowed.iter().any(|a| crate::util::glob::glob_match(a, c, false)))
    };
    let mut close_me = false;
    for c in srv.clients.all() {
        if *c.user.lock() != new.name || c.subscriptions() == 0 {
            continue;
        }
        let (channels, patterns) = srv.pubsub.subscriptions_of(c.id);
        if !revoked(&channels, &patterns) {
            continue;
        }
        if c.id == me.info.id {
            close_me = true;
        } else {
            c.kill();
            srv.clients.unregister(c.id);
        }
    }
    if close_me {
        me.close_after_reply = true;
    }
}

/// ACL DELUSER: removes the users that exist and disconnects their clients; returns how many were removed.
///
/// # Errors
/// `The 'default' user cannot be removed` (and then nothing is removed).
pub fn deluser(srv: &Server, me: &mut Session, names: &[Bytes]) -> Result<i64, CmdError> {
    if names.iter().any(|n| n[..] == *DEFAULT) {
        return Err(error::ACL_DEFAULT_UNDELETABLE);
    }
    let removed: Vec<Bytes> =
        srv.acl.change(|users| names.iter().filter_map(|n| users.remove(n).map(|u| u.name.clone())).collect());
    kill_clients(srv, Some(me), |u| removed.iter().any(|r| r == u));
    Ok(removed.len() as i64)
}

/// `requirepass`: the default user's password becomes `pass` (`resetpass >pass`), or none (`resetpass nopass`).
pub fn set_default_password(srv: &Server, pass: Option<&[u8]>) {
    let mut rule = b">".to_vec();
    let rules: Vec<&[u8]> = match pass {
        Some(p) => {
            rule.extend_from_slice(p);
            vec![b"resetpass", &rule]
        }
        None => vec![b"resetpass", b"nopass"],
    };
    let updated: Result<_, std::convert::Infallible> = srv.acl.update(DEFAULT, |old| {
        let mut u = old.cloned().unwrap_or_else(User::new_default);
        for r in rules {
            // resetpass, nopass and >password cannot fail.
            let _ = u.apply(r, false);
        }
        Ok(u)
    });
    let _ = updated;
    sync_hot(srv);
}

/// The configured `aclfile`, if any.
pub fn aclfile(srv: &Server) -> Option<String> {
    Some(srv.config.read().str(crate::config::Id::Aclfile).to_string()).filter(|f| !f.is_empty())
}

/// ACL LOAD: replaces every user with the file's. Clients of the replaced users (all but the default user's,
/// whose definition is replaced in place) are disconnected.
///
/// # Errors
/// The problems found (see [`file::parse`]); nothing changes then.
pub fn load(srv: &Server, me: Option<&mut Session>, path: &str) -> Result<(), String> {
    let loaded = file::load(path, srv.acl.pubsub_all())?;
    srv.acl.change(|users| *users = loaded.into_iter().map(|(k, u)| (k, Arc::new(u))).collect());
    kill_clients(srv, me, |u| u != DEFAULT);
    sync_hot(srv);
    Ok(())
}

/// ACL SAVE: writes every user to the file.
///
/// # Errors
/// The I/O error (logged).
pub fn save(srv: &Server, path: &str) -> std::io::Result<()> {
    let users = srv.acl.users();
    file::write(path, &file::render(users.iter().map(|u| &**u)))
}

/// Startup: loads `aclfile` when one is configured (`requirepass` was applied when the server was built).
///
/// # Errors
/// `Aborting startup because of ACL errors: ...` for a bad or unreadable ACL file.
pub fn load_at_startup(srv: &Server) -> Result<(), String> {
    if let Some(path) = aclfile(srv) {
        load(srv, None, &path).map_err(|e| format!("Aborting startup because of ACL errors: {e}"))?;
    }
    Ok(())
}
