//! The write-effect stream.
//!
//! Every write produces its effect: the command as it must be replayed (expiries absolute, random choices made
//! deterministic), and an expiry or eviction produces a `DEL`. Effects of one command, or of one MULTI/EXEC, are
//! appended as one group while the shards they touched are still locked, so the stream's order is the order in
//! which the writes took effect. The offset counts RESP bytes, like Redis's `master_repl_offset`.
//!
//! Consumers (replicas, the change log, keyspace statistics) subscribe and receive groups; with no subscriber the
//! stream only advances its offset, so a plain write pays no allocation or lock for it.

use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// One replayable write: the database it applies to and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// Effects gathered while one command (or one EXEC) runs.
#[derive(Debug, Default)]
pub struct EffectSink {
    pub items: Vec<Effect>,
}

impl EffectSink {
    /// Queues an effect.
    pub fn push(&mut self, db: usize, args: Vec<Bytes>) {
        self.items.push(Effect { db, args });
    }

    /// True when nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A group of effects that must be applied atomically, with the stream offset after it.
#[derive(Debug, Clone)]
pub struct EffectGroup {
    pub end_offset: u64,
    pub effects: Vec<Effect>,
    /// True for MULTI/EXEC and scripts: replayed wrapped in MULTI/EXEC.
    pub atomic: bool,
}

/// Size of `args` encoded as a RESP multibulk.
pub fn resp_len(args: &[Bytes]) -> u64 {
    fn digits(n: usize) -> u64 {
        itoa::Buffer::new().format(n).len() as u64
    }
    let mut n = 3 + digits(args.len());
    for a in args {
        n += 5 + digits(a.len()) + a.len() as u64;
    }
    n
}

/// The stream.
#[derive(Debug)]
pub struct EffectStream {
    offset: AtomicU64,
    tx: broadcast::Sender<Arc<EffectGroup>>,
    lock: parking_lot::Mutex<()>,
}

impl Default for EffectStream {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        EffectStream { offset: AtomicU64::new(0), tx, lock: parking_lot::Mutex::new(()) }
    }
}

impl EffectStream {
    /// The offset after the last appended effect.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// Subscribes to every group appended from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EffectGroup>> {
        self.tx.subscribe()
    }

    /// Number of subscribers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Appends `sink`'s effects followed by `last` (the command's own effect, borrowed to spare a copy when
    /// nobody listens). `atomic` marks a MULTI/EXEC or script group.
    pub fn append(&self, sink: &mut EffectSink, last: Option<(usize, &[Bytes])>, atomic: bool) {
        let count = sink.items.len() + usize::from(last.is_some());
        if count == 0 {
            return;
        }
        let mut size: u64 = sink.items.iter().map(|e| resp_len(&e.args)).sum();
        if let Some((_, args)) = last {
            size += resp_len(args);
        }
        if atomic && count > 1 {
            size += 14 + 14; // *1\r\n$5\r\nMULTI\r\n and *1\r\n$4\r\nEXEC\r\n
        }
        if self.tx.receiver_count() == 0 {
            self.offset.fetch_add(size, Ordering::AcqRel);
            sink.items.clear();
            return;
        }
        let mut effects = std::mem::take(&mut sink.items);
        if let Some((db, args)) = last {
            // Copy out of the read buffer so consumers never pin it.
            effects.push(Effect { db, args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect() });
        }
        let _order = self.lock.lock();
        let end_offset = self.offset.fetch_add(size, Ordering::AcqRel) + size;
        let _ = self.tx.send(Arc::new(EffectGroup { end_offset, effects, atomic: atomic && count > 1 }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_counts_resp_bytes_and_groups_reach_subscribers() {
        let s = EffectStream::default();
        let mut sink = EffectSink::default();
        let args = vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v")];
        s.append(&mut sink, Some((0, &args)), false);
        assert_eq!(s.offset(), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".len() as u64);
        let mut rx = s.subscribe();
        sink.push(1, vec![Bytes::from("DEL"), Bytes::from("x")]);
        s.append(&mut sink, None, false);
        let g = rx.try_recv().unwrap();
        assert_eq!(g.effects[0].db, 1);
        assert_eq!(g.end_offset, s.offset());
    }
}
