//! Lazy freeing: FLUSHDB/FLUSHALL ASYNC hand what they removed to one background thread, as Redis's lazy-free
//! thread does. One thread, not one per call: a client sending a flood of ASYNC flushes must not be able to
//! make the server start threads without bound.

use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

type Garbage = Box<dyn Send>;

static QUEUE: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();

/// Frees `garbage` on the lazy-free thread (or here, should that thread be unavailable).
pub fn free_later<T: Send + 'static>(garbage: T) {
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        let started = std::thread::Builder::new().name("lazyfree".into()).spawn(move || {
            for item in rx {
                drop(item);
            }
        });
        started.ok().map(|_| tx)
    });
    match queue {
        Some(tx) => {
            if let Err(back) = tx.send(Box::new(garbage)) {
                drop(back);
            }
        }
        None => drop(garbage),
    }
}
