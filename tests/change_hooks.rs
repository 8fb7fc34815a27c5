//! Change hooks installed through the library API: every way a key changes or disappears calls `before_change`
//! with the old value still in place and `after_change` with the new one, and whole-shard changes (FLUSHDB,
//! FLUSHALL, SWAPDB) call the shard hooks once per shard.

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::Arc;
use strata::engine::{execute, Outcome, Server, Session};
use strata::protocol::Reply;
use strata::store::change::{ChangeKind, KeyChange};
use strata::store::event::Event;
use strata::store::{ChangeHooks, Entry, ShardChange, ShardData, ShardSide, StrValue, Value};

fn run(srv: &Server, s: &mut Session, words: &[&str]) -> Reply {
    let argv: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
    match execute(srv, s, &argv) {
        Outcome::Reply(r) => r,
        other => panic!("{words:?}: {other:?}"),
    }
}

fn server() -> Server {
    Server::new(strata::Config::embedded().expect("embedded config"), strata::commands::table())
}

/// A value as the tests compare it: a string's bytes, a list's items, or a container's type.
fn show(e: &Entry) -> String {
    match &e.value {
        Value::Str(s) => String::from_utf8_lossy(&StrValue::to_bytes(s)).into_owned(),
        Value::List(l) => {
            format!("list{:?}", l.iter().map(|i| String::from_utf8_lossy(i).into_owned()).collect::<Vec<_>>())
        }
        v => v.type_name().to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Before { db: usize, key: String, old: Option<String> },
    After { db: usize, key: String, kind: ChangeKind, event: Option<Event>, new: Option<String> },
    BeforeShard { db: usize, change: ShardChange, keys: usize },
    AfterShard { db: usize, change: ShardChange, keys: usize },
}

use Call::*;

fn before(db: usize, key: &str, old: Option<&str>) -> Call {
    Before { db, key: key.into(), old: old.map(Into::into) }
}

fn after(db: usize, key: &str, kind: ChangeKind, event: Event, new: Option<&str>) -> Call {
    After { db, key: key.into(), kind, event: Some(event), new: new.map(Into::into) }
}

/// Records every call; counts, per shard, the calls it saw in that shard's side state.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
}

/// The recorder's own per-shard state, kept in each shard's `ShardSide`.
#[derive(Default)]
struct SeenHere(usize);

impl Recorder {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock())
    }

    fn note(side: &mut ShardSide) {
        match side.get_mut::<SeenHere>() {
            Some(seen) => seen.0 += 1,
            None => side.insert(SeenHere(1)),
        }
    }
}

impl ChangeHooks for Recorder {
    fn before_change(&self, side: &mut ShardSide, db: usize, key: &[u8], old: Option<(&Entry, u64)>) {
        Self::note(side);
        self.calls.lock().push(before(db, &String::from_utf8_lossy(key), old.map(|(e, _)| show(e)).as_deref()));
    }

    fn after_change(&self, side: &mut ShardSide, change: &KeyChange<'_>, new: Option<&Entry>) {
        Self::note(side);
        let key = String::from_utf8_lossy(change.key);
        let (db, kind, event) = (change.db, change.kind, change.event);
        self.calls.lock().push(After { db, key: key.into_owned(), kind, event, new: new.map(show) });
    }

    fn before_shard_change(&self, _: &mut ShardSide, db: usize, _: usize, change: ShardChange, data: &ShardData) {
        self.calls.lock().push(BeforeShard { db, change, keys: data.dict.len() });
    }

    fn after_shard_change(&self, _: &mut ShardSide, db: usize, _: usize, change: ShardChange, data: &ShardData) {
        self.calls.lock().push(AfterShard { db, change, keys: data.dict.len() });
    }
}

fn setup() -> (Server, Session, Arc<Recorder>) {
    let srv = server();
    let s = Session::detached(&srv);
    let rec = Arc::new(Recorder::default());
    srv.keyspace.add_hooks(rec.clone());
    (srv, s, rec)
}

const W: ChangeKind = ChangeKind::Write;
const D: ChangeKind = ChangeKind::Delete;

#[test]
fn writes_and_overwrites_see_the_old_value_before_and_the_new_after() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "k", "v1"]);
    assert_eq!(rec.take(), [before(0, "k", None), after(0, "k", W, Event::Set, Some("v1"))]);
    run(&srv, &mut s, &["SET", "k", "v2"]);
    assert_eq!(rec.take(), [before(0, "k", Some("v1")), after(0, "k", W, Event::Set, Some("v2"))]);
    run(&srv, &mut s, &["APPEND", "k", "x"]);
    assert_eq!(rec.take(), [before(0, "k", Some("v2")), after(0, "k", W, Event::Append, Some("v2x"))]);
    // SETRANGE works on the value's bytes where they are stored, leaving a stand-in in the entry meanwhile: the
    // hooks see the old value, once.
    run(&srv, &mut s, &["SETRANGE", "k", "0", "V"]);
    assert_eq!(rec.take(), [before(0, "k", Some("v2x")), after(0, "k", W, Event::Setrange, Some("V2x"))]);
    run(&srv, &mut s, &["INCR", "n"]);
    run(&srv, &mut s, &["INCRBY", "n", "5"]);
    assert_eq!(
        rec.take(),
        [
            before(0, "n", None),
            after(0, "n", W, Event::Incrby, Some("1")),
            before(0, "n", Some("1")),
            after(0, "n", W, Event::Incrby, Some("6")),
        ]
    );
}

#[test]
fn containers_are_announced_before_they_are_created_or_changed() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["RPUSH", "l", "a", "b"]);
    assert_eq!(rec.take(), [before(0, "l", None), after(0, "l", W, Event::Rpush, Some("list[\"a\", \"b\"]"))]);
    run(&srv, &mut s, &["LPOP", "l"]);
    assert_eq!(
        rec.take(),
        [before(0, "l", Some("list[\"a\", \"b\"]")), after(0, "l", W, Event::Lpop, Some("list[\"b\"]"))]
    );
    // The last element goes: the key is removed through the same path.
    run(&srv, &mut s, &["LPOP", "l"]);
    let calls = rec.take();
    assert_eq!(calls.first(), Some(&before(0, "l", Some("list[\"b\"]"))));
    assert_eq!(calls.last(), Some(&after(0, "l", D, Event::Del, None)));
    assert!(calls.contains(&after(0, "l", W, Event::Lpop, Some("list[]"))), "{calls:?}");
    run(&srv, &mut s, &["HSET", "h", "f", "v"]);
    assert_eq!(rec.take(), [before(0, "h", None), after(0, "h", W, Event::Hset, Some("hash"))]);
}

#[test]
fn del_unlink_and_expire_commands() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["MSET", "a", "1", "b", "2"]);
    rec.take();
    run(&srv, &mut s, &["DEL", "a", "missing"]);
    assert_eq!(rec.take(), [before(0, "a", Some("1")), after(0, "a", D, Event::Del, None)]);
    run(&srv, &mut s, &["UNLINK", "b"]);
    assert_eq!(rec.take(), [before(0, "b", Some("2")), after(0, "b", D, Event::Del, None)]);
    run(&srv, &mut s, &["SET", "t", "v"]);
    rec.take();
    run(&srv, &mut s, &["EXPIRE", "t", "100"]);
    let calls = rec.take();
    assert_eq!(calls.first(), Some(&before(0, "t", Some("v"))));
    assert_eq!(calls.last(), Some(&after(0, "t", W, Event::Expire, Some("v"))));
}

#[test]
fn rename_move_and_copy_announce_both_keys() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["MSET", "src", "1", "dst", "old"]);
    rec.take();
    run(&srv, &mut s, &["RENAME", "src", "dst"]);
    assert_eq!(
        rec.take(),
        [
            before(0, "src", Some("1")),
            after(0, "src", D, Event::RenameFrom, None),
            before(0, "dst", Some("old")),
            after(0, "dst", W, Event::RenameTo, Some("1")),
        ]
    );
    run(&srv, &mut s, &["MOVE", "dst", "3"]);
    assert_eq!(
        rec.take(),
        [
            before(0, "dst", Some("1")),
            after(0, "dst", D, Event::MoveFrom, None),
            before(3, "dst", None),
            after(3, "dst", W, Event::MoveTo, Some("1")),
        ]
    );
    run(&srv, &mut s, &["SET", "c", "x"]);
    run(&srv, &mut s, &["SET", "d", "y"]);
    rec.take();
    run(&srv, &mut s, &["COPY", "c", "d", "REPLACE"]);
    assert_eq!(
        rec.take(),
        [
            before(0, "d", Some("y")),
            after(0, "d", D, Event::Del, None),
            before(0, "d", None),
            after(0, "d", W, Event::CopyTo, Some("x")),
        ]
    );
}

#[test]
fn lazy_and_active_expiry() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    run(&srv, &mut s, &["SET", "lazy", "v", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    rec.take();
    assert_eq!(run(&srv, &mut s, &["GET", "lazy"]), Reply::Nil);
    assert_eq!(rec.take(), [before(0, "lazy", Some("v")), after(0, "lazy", ChangeKind::Expire, Event::Expired, None)]);

    run(&srv, &mut s, &["SET", "active", "w", "EX", "100"]);
    rec.take();
    // A cycle run as if the key's time had come.
    let now = strata::util::clock::unix_ms() + 1_000_000;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut cursor = 0;
    let n = strata::store::expire::active_expire_cycle(&srv, &srv.keyspace, &srv.effects, now, deadline, &mut cursor);
    assert_eq!(n.expired, 1);
    assert_eq!(
        rec.take(),
        [before(0, "active", Some("w")), after(0, "active", ChangeKind::Expire, Event::Expired, None)]
    );
}

#[test]
fn eviction() {
    use strata::store::evict::{evict_one, EvictParams, EvictionPool, Policy};
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "victim", "v"]);
    rec.take();
    let params = EvictParams { policy: Policy::AllkeysLru, samples: 5, lru_now: srv.lru_clock(), lfu_decay_minutes: 1 };
    let mut pool = EvictionPool::default();
    let freed = evict_one(&srv.keyspace, &srv, &srv.effects, &mut pool, params, &mut rand::thread_rng());
    assert!(freed.is_some());
    assert_eq!(
        rec.take(),
        [before(0, "victim", Some("v")), after(0, "victim", ChangeKind::Evict, Event::Evicted, None)]
    );
}

#[test]
fn flushdb_flushall_and_swapdb_call_the_shard_hooks() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "a", "1"]);
    run(&srv, &mut s, &["SELECT", "1"]);
    run(&srv, &mut s, &["SET", "b", "2"]);
    rec.take();

    run(&srv, &mut s, &["SWAPDB", "0", "1"]);
    let calls = rec.take();
    let shards = srv.keyspace.shard_count();
    // Each shard of both databases, before and after.
    assert_eq!(calls.len(), shards * 4, "{calls:?}");
    let sw0 = ShardChange::SwapDb { other: 1 };
    let sw1 = ShardChange::SwapDb { other: 0 };
    let nonempty: Vec<_> =
        calls.into_iter().filter(|c| !matches!(c, BeforeShard { keys: 0, .. } | AfterShard { keys: 0, .. })).collect();
    for c in [BeforeShard { db: 0, change: sw0, keys: 1 }, BeforeShard { db: 1, change: sw1, keys: 1 }] {
        assert!(nonempty.contains(&c), "{c:?} in {nonempty:?}");
    }
    for c in [AfterShard { db: 0, change: sw0, keys: 1 }, AfterShard { db: 1, change: sw1, keys: 1 }] {
        assert!(nonempty.contains(&c), "{c:?} in {nonempty:?}");
    }
    assert_eq!(run(&srv, &mut s, &["GET", "a"]), Reply::Bulk(Bytes::from_static(b"1")));

    // Database 1 now holds `a`.
    run(&srv, &mut s, &["FLUSHDB"]);
    let calls = rec.take();
    assert_eq!(calls.len(), shards * 2);
    assert!(
        calls.iter().all(|c| matches!(
            c,
            BeforeShard { db: 1, change: ShardChange::FlushDb, .. }
                | AfterShard { db: 1, change: ShardChange::FlushDb, keys: 0 }
        )),
        "{calls:?}"
    );
    assert_eq!(calls.iter().filter(|c| matches!(c, BeforeShard { keys: 1, .. })).count(), 1);

    run(&srv, &mut s, &["SET", "c", "3"]);
    rec.take();
    run(&srv, &mut s, &["FLUSHALL", "ASYNC"]);
    let calls = rec.take();
    assert_eq!(calls.len(), srv.keyspace.total_shards() * 2);
    let nonempty: Vec<_> = calls.into_iter().filter(|c| matches!(c, BeforeShard { keys: 1, .. })).collect();
    assert_eq!(
        nonempty,
        [
            BeforeShard { db: 0, change: ShardChange::FlushAll, keys: 1 },
            BeforeShard { db: 1, change: ShardChange::FlushAll, keys: 1 }
        ]
    );
}

#[test]
fn side_state_is_per_shard_and_travels_with_swapped_data() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "k", "v"]);
    let ks = &srv.keyspace;
    let shard = ks.shard_of(strata::store::hash_key(b"k"));
    assert_eq!(ks.lock(0, shard).side.get::<SeenHere>().map(|s| s.0), Some(2));
    assert!(ks.lock(1, shard).side.get::<SeenHere>().is_none());
    run(&srv, &mut s, &["SWAPDB", "0", "1"]);
    assert!(ks.lock(0, shard).side.get::<SeenHere>().is_none());
    assert_eq!(ks.lock(1, shard).side.get::<SeenHere>().map(|s| s.0), Some(2));
    assert_eq!(ks.lock(1, shard).side.remove::<SeenHere>().map(|s| s.0), Some(2));
    rec.take();
}

#[test]
fn removed_hooks_are_not_called_and_reads_call_nothing() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "k", "v"]);
    rec.take();
    run(&srv, &mut s, &["GET", "k"]);
    run(&srv, &mut s, &["EXISTS", "k"]);
    run(&srv, &mut s, &["TOUCH", "k"]);
    assert_eq!(rec.take(), []);
    let hooks: Arc<dyn ChangeHooks> = rec.clone();
    assert!(srv.keyspace.remove_hooks(&hooks));
    assert!(!srv.keyspace.remove_hooks(&hooks));
    run(&srv, &mut s, &["SET", "k", "w"]);
    run(&srv, &mut s, &["FLUSHALL"]);
    assert_eq!(rec.take(), []);
}

#[test]
fn a_failed_write_changes_nothing_after() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["SET", "k", "v"]);
    rec.take();
    // WRONGTYPE: the hooks may hear of the key being opened, but no change follows.
    assert!(matches!(run(&srv, &mut s, &["LPUSH", "k", "x"]), Reply::Error(_)));
    let calls = rec.take();
    assert!(calls.iter().all(|c| matches!(c, Before { old: Some(o), .. } if o == "v")), "{calls:?}");
}

#[test]
fn lmove_reports_the_push_before_the_pop_and_pfcount_its_cache_without_an_event() {
    let (srv, mut s, rec) = setup();
    run(&srv, &mut s, &["RPUSH", "src", "a"]);
    rec.take();
    run(&srv, &mut s, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]);
    let events: Vec<_> = rec
        .take()
        .into_iter()
        .filter_map(|c| match c {
            After { key, event, .. } => Some((key, event)),
            _ => None,
        })
        .collect();
    let want = [("dst", Event::Rpush), ("src", Event::Lpop), ("src", Event::Del)];
    assert_eq!(events, want.map(|(k, e)| (k.to_string(), Some(e))));

    run(&srv, &mut s, &["PFADD", "hll", "a", "b"]);
    rec.take();
    assert_eq!(run(&srv, &mut s, &["PFCOUNT", "hll"]), Reply::Int(2));
    let calls = rec.take();
    assert!(matches!(calls.last(), Some(After { event: None, kind: ChangeKind::Write, .. })), "{calls:?}");
}
