//! The slow log (SLOWLOG): commands that ran for at least `slowlog-log-slower-than` microseconds, newest first,
//! at most `slowlog-max-len` of them, entries shaped as Redis's (`slowlog.c`).
//!
//! An entry keeps at most 32 arguments (the 32nd says how many more there were) and at most 128 bytes of each,
//! so a huge MSET costs the log a few KB, not its size. Passwords are replaced with `(redacted)` as Redis 7 does.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const MAX_ARGS: usize = 32;
const MAX_ARG_BYTES: usize = 128;
const REDACTED: &[u8] = b"(redacted)";

/// One logged command.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    /// `ip:port` of the client, `?:0` for a script's commands (Redis's Lua client has no address).
    pub addr: String,
    pub name: Bytes,
}

/// The log; ids keep counting across SLOWLOG RESET, as Redis's do.
#[derive(Debug, Default)]
pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
}

/// Which arguments of a command carry a secret, by Redis 7's rules (AUTH, HELLO AUTH, ACL SETUSER rules,
/// CONFIG SET of a password parameter, MIGRATE AUTH/AUTH2).
fn redacted(args: &[Bytes]) -> Vec<bool> {
    let is = |a: &Bytes, w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    let mut hide = vec![false; args.len()];
    let Some(name) = args.first() else { return hide };
    if is(name, "auth") {
        hide.iter_mut().skip(1).for_each(|h| *h = true);
    } else if is(name, "hello") {
        if let Some(p) = args.iter().position(|a| is(a, "auth")) {
            hide.iter_mut().skip(p + 1).take(2).for_each(|h| *h = true);
        }
    } else if is(name, "acl") && args.get(1).is_some_and(|a| is(a, "setuser")) {
        hide.iter_mut().skip(3).for_each(|h| *h = true);
    } else if is(name, "config") && args.get(1).is_some_and(|a| is(a, "set")) {
        for i in (2..args.len()).step_by(2) {
            if is(&args[i], "requirepass") || is(&args[i], "masterauth") {
                if let Some(h) = hide.get_mut(i + 1) {
                    *h = true;
                }
            }
        }
    } else if is(name, "migrate") {
        for (i, a) in args.iter().enumerate() {
            if is(a, "auth") {
                hide.iter_mut().skip(i + 1).take(1).for_each(|h| *h = true);
            } else if is(a, "auth2") {
                hide.iter_mut().skip(i + 1).take(2).for_each(|h| *h = true);
            }
        }
    }
    hide
}

/// The arguments as an entry keeps them.
fn shorten(args: &[Bytes]) -> Vec<Bytes> {
    let hide = redacted(args);
    let kept = if args.len() > MAX_ARGS { MAX_ARGS - 1 } else { args.len() };
    let mut out: Vec<Bytes> = args[..kept]
        .iter()
        .zip(&hide)
        .map(|(a, &h)| {
            if h {
                Bytes::from_static(REDACTED)
            } else if a.len() > MAX_ARG_BYTES {
                let mut s = a[..MAX_ARG_BYTES].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes());
                Bytes::from(s)
            } else {
                // A copy: the argument is a slice of the connection's read buffer, which the log must not pin.
                Bytes::copy_from_slice(a)
            }
        })
        .collect();
    if kept < args.len() {
        out.push(Bytes::from(format!("... ({} more arguments)", args.len() - kept)));
    }
    out
}

impl SlowLog {
    /// Logs a command that took `micros`, keeping at most `max_len` entries.
    pub fn push(&self, args: &[Bytes], micros: u64, addr: &str, name: Bytes, max_len: usize) {
        let entry = Entry {
            id: self.next_id.fetch_add(1, Relaxed),
            unix_secs: crate::util::clock::unix_ms() / 1000,
            micros,
            args: shorten(args),
            addr: addr.to_string(),
            name,
        };
        let mut entries = self.entries.lock();
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// The newest `count` entries, newest first.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries.lock().iter().take(count).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn long_commands_are_cut_as_redis_cuts_them() {
        let mut args = b(&["rpush", "l"]);
        args.extend((1..=40).map(|i| Bytes::from(i.to_string())));
        let kept = shorten(&args);
        assert_eq!(kept.len(), 32);
        assert_eq!(&kept[31][..], b"... (11 more arguments)");
        let big = "v".repeat(200);
        let kept = shorten(&b(&["set", "k", &big]));
        assert_eq!(kept[2].len(), 128 + "... (72 more bytes)".len());
        assert!(kept[2].ends_with(b"... (72 more bytes)"));
    }

    #[test]
    fn secrets_are_redacted() {
        let kept = shorten(&b(&["AUTH", "user", "pw"]));
        assert_eq!(kept, b(&["AUTH", "(redacted)", "(redacted)"]));
        let kept = shorten(&b(&["hello", "3", "auth", "default", "pw", "setname", "n"]));
        assert_eq!(kept, b(&["hello", "3", "auth", "(redacted)", "(redacted)", "setname", "n"]));
        let kept = shorten(&b(&["config", "set", "maxmemory", "1", "requirepass", "pw"]));
        assert_eq!(kept, b(&["config", "set", "maxmemory", "1", "requirepass", "(redacted)"]));
    }

    #[test]
    fn the_log_keeps_the_newest_and_ids_keep_counting() {
        let log = SlowLog::default();
        for i in 0..5 {
            log.push(&b(&["get", &i.to_string()]), 10, "1.2.3.4:5", Bytes::new(), 3);
        }
        let e = log.newest(10);
        assert_eq!(e.iter().map(|e| e.id).collect::<Vec<_>>(), vec![4, 3, 2]);
        log.reset();
        assert!(log.is_empty());
        log.push(&b(&["ping"]), 1, "", Bytes::new(), 3);
        assert_eq!(log.newest(1)[0].id, 5);
    }
}
