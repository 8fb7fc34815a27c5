//! Pub/sub: channel and pattern subscriptions, PUBLISH fan-out, and the output-buffer limit that disconnects a
//! subscriber that does not read.
//!
//! Messages are encoded for each receiver's protocol (RESP2 array or RESP3 push) and queued on its out-of-band
//! channel; the connection writes them between batches. A subscriber's queued bytes are counted, and past
//! `client-output-buffer-limit pubsub` (hard limit, or soft limit for longer than its seconds) it is closed, so
//! a slow subscriber cannot grow the server's memory without bound.

use super::client::{ClientInfo, OutputLimits};
use crate::protocol::{encode, Protocol, Reply};
use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

type Subscribers = RwLock<HashMap<Bytes, HashMap<u64, Arc<ClientInfo>>>>;

/// The three name spaces a client subscribes in: channels (SUBSCRIBE), patterns (PSUBSCRIBE) and shard channels
/// (SSUBSCRIBE, Redis 7's sharded pub/sub; on a standalone server one shard holds them all, but they stay apart
/// from channels: SPUBLISH reaches only SSUBSCRIBE subscribers, as `smessage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Channel,
    Pattern,
    Shard,
}

/// Subscribers by channel, by pattern and by shard channel.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: Subscribers,
    patterns: Subscribers,
    shard_channels: Subscribers,
    /// `client-output-buffer-limit` for every class: messages queued here count towards the receiver's.
    pub limits: OutputLimits,
}

/// Encodes `reply` for `c`'s protocol and queues it; enforces the pub/sub output buffer limit.
pub fn deliver(ps: &PubSub, c: &ClientInfo, reply: &Reply) {
    let proto = if c.resp.load(Ordering::Relaxed) == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
    let mut buf = BytesMut::new();
    encode(&mut buf, reply, proto);
    if c.is_killed() {
        return;
    }
    let len = buf.len();
    let queued = c.obuf.fetch_add(len, Ordering::AcqRel) + len;
    if c.enforce_output_limit(queued, ps.limits.of(c)) {
        return;
    }
    c.send_push(buf.freeze());
}

impl PubSub {
    fn space(&self, space: Space) -> &Subscribers {
        match space {
            Space::Channel => &self.channels,
            Space::Pattern => &self.patterns,
            Space::Shard => &self.shard_channels,
        }
    }

    /// Subscribes `c` to `channel` in `space`; false if it already was.
    pub fn subscribe(&self, c: &Arc<ClientInfo>, channel: &Bytes, space: Space) -> bool {
        self.space(space).write().entry(channel.clone()).or_default().insert(c.id, c.clone()).is_none()
    }

    /// Unsubscribes `c`; false if it was not subscribed.
    pub fn unsubscribe(&self, id: u64, channel: &Bytes, space: Space) -> bool {
        let mut m = self.space(space).write();
        let Some(subs) = m.get_mut(channel) else { return false };
        let removed = subs.remove(&id).is_some();
        if subs.is_empty() {
            m.remove(channel);
        }
        removed
    }

    /// PUBLISH: delivers to channel and pattern subscribers; returns how many received it.
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        let mut n = 0;
        let ch = Bytes::copy_from_slice(channel);
        let msg = Bytes::copy_from_slice(message);
        if let Some(subs) = self.channels.read().get(channel) {
            let reply =
                Reply::Push(vec![Reply::bulk_static("message"), Reply::Bulk(ch.clone()), Reply::Bulk(msg.clone())]);
            for c in subs.values() {
                deliver(self, c, &reply);
                n += 1;
            }
        }
        for (pat, subs) in self.patterns.read().iter() {
            if !crate::util::glob::glob_match(pat, channel, false) {
                continue;
            }
            let reply = Reply::Push(vec![
                Reply::bulk_static("pmessage"),
                Reply::Bulk(pat.clone()),
                Reply::Bulk(ch.clone()),
                Reply::Bulk(msg.clone()),
            ]);
            for c in subs.values() {
                deliver(self, c, &reply);
                n += 1;
            }
        }
        n
    }

    /// SPUBLISH: delivers to the shard channel's subscribers as `smessage`; returns how many received it.
    pub fn spublish(&self, channel: &[u8], message: &[u8]) -> usize {
        let Some(subs) = self.shard_channels.read().get(channel).cloned() else { return 0 };
        let reply = Reply::Push(vec![
            Reply::bulk_static("smessage"),
            Reply::Bulk(Bytes::copy_from_slice(channel)),
            Reply::Bulk(Bytes::copy_from_slice(message)),
        ]);
        for c in subs.values() {
            deliver(self, c, &reply);
        }
        subs.len()
    }

    /// True when anyone subscribes to anything (keyspace notifications skip their work otherwise).
    pub fn has_subscribers(&self) -> bool {
        !self.channels.read().is_empty() || !self.patterns.read().is_empty()
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: active channels of `space` matching `pattern`.
    pub fn channel_names(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.space(space)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::util::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// The channels (shard channels included) and the patterns client `id` is subscribed to (for ACL changes
    /// that revoke channels; walks every subscription).
    pub fn subscriptions_of(&self, id: u64) -> (Vec<Bytes>, Vec<Bytes>) {
        let of = |m: &Subscribers| -> Vec<Bytes> {
            m.read().iter().filter(|(_, subs)| subs.contains_key(&id)).map(|(c, _)| c.clone()).collect()
        };
        let mut channels = of(&self.channels);
        channels.extend(of(&self.shard_channels));
        (channels, of(&self.patterns))
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of `channel` in `space`.
    pub fn numsub(&self, space: Space, channel: &[u8]) -> usize {
        self.space(space).read().get(channel).map_or(0, |s| s.len())
    }

    /// PUBSUB NUMPAT: number of distinct patterns.
    pub fn numpat(&self) -> usize {
        self.patterns.read().len()
    }

    /// Totals for INFO: (channels, patterns, shard channels).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.channels.read().len(), self.patterns.read().len(), self.shard_channels.read().len())
    }
}
