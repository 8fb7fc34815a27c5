//! Keyspace notifications (`notify-keyspace-events`): every change reported by the keyspace-change path is
//! published on `__keyspace@<db>__:<key>` and/or `__keyevent@<db>__:<event>` when its class is enabled.

use super::Server;
use std::sync::atomic::Ordering;

use crate::store::event::{Event, KEYEVENT, KEYSPACE};

/// Publishes the notifications for one change, if its class is enabled.
pub fn notify(srv: &Server, db: usize, key: &[u8], event: Event) {
    let flags = srv.hot.notify_flags.load(Ordering::Relaxed);
    if flags == 0 || flags & event.class() == 0 || !srv.pubsub.has_subscribers() {
        return;
    }
    let event = event.name();
    if flags & KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        srv.pubsub.publish(&ch, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}");
        srv.pubsub.publish(ch.as_bytes(), key);
    }
}
