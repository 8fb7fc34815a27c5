//! The ACL log: recent denials (commands, keys, channels, failed AUTH), newest first, similar ones grouped.

use bytes::Bytes;
use std::collections::VecDeque;

/// Denials of the same kind, object and user within this many milliseconds share one entry.
const GROUPING_MS: u64 = 60_000;

/// How many of the newest entries are searched for one to group with.
const GROUPING_SCAN: usize = 10;

/// What was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    /// The `reason` field of ACL LOG.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the refused command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
}

impl Context {
    /// The `context` field of ACL LOG.
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command's full name, the key or channel, or for AUTH the command name as sent.
    pub object: Bytes,
    pub username: Bytes,
    /// Unix ms of the latest denial grouped here.
    pub ctime_ms: u64,
    /// CLIENT LIST line of the latest client refused.
    pub client_info: String,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct AclLog {
    entries: VecDeque<Entry>,
}

impl AclLog {
    /// Records a denial: bumps a recent similar entry (moving it to the front) or adds a new one, then trims the
    /// log to `max_len` entries.
    pub fn add(&mut self, entry: Entry, max_len: usize) {
        let similar = self.entries.iter().take(GROUPING_SCAN).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.ctime_ms.abs_diff(entry.ctime_ms) <= GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match similar.and_then(|i| self.entries.remove(i)) {
            Some(mut e) => {
                e.count += 1;
                e.ctime_ms = entry.ctime_ms;
                e.client_info = entry.client_info;
                self.entries.push_front(e);
            }
            None => {
                self.entries.push_front(entry);
                self.entries.truncate(max_len);
            }
        }
    }

    /// The newest `n` entries.
    pub fn newest(&self, n: usize) -> Vec<Entry> {
        self.entries.iter().take(n).cloned().collect()
    }

    /// ACL LOG RESET.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &'static str, at: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Key,
            context: Context::Toplevel,
            object: Bytes::from_static(object.as_bytes()),
            username: Bytes::from_static(b"u"),
            ctime_ms: at,
            client_info: format!("at={at}"),
        }
    }

    #[test]
    fn groups_recent_similar_denials_and_trims() {
        let mut log = AclLog::default();
        log.add(entry("a", 1_000), 3);
        log.add(entry("b", 2_000), 3);
        log.add(entry("a", 3_000), 3);
        let v = log.newest(10);
        assert_eq!((v.len(), v[0].count, &v[0].client_info[..]), (2, 2, "at=3000"));
        log.add(entry("a", 3_000 + GROUPING_MS + 1), 3);
        log.add(entry("c", 90_000), 3);
        log.add(entry("d", 90_000), 3);
        assert_eq!(log.len(), 3);
        assert_eq!(log.newest(1)[0].object, "d");
    }
}
