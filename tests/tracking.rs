//! Server-assisted client-side caching: CLIENT TRACKING (default mode, BCAST with PREFIX, OPTIN / OPTOUT with
//! CLIENT CACHING, NOLOOP, REDIRECT), CLIENT GETREDIR, CLIENT TRACKINGINFO, invalidation on write, delete, expiry
//! and flush, INFO tracking_clients, and the error texts. Exact bytes are Redis 7.0's.

mod common;
use common::*;
use redis::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// Tracking-specific helpers on the shared raw RESP client.
trait TrackingConn {
    /// Sends one command and asserts its reply.
    fn ok(&mut self, args: &[&str], want: &str);
    /// This connection's client id.
    fn id(&mut self) -> u64;
    /// Reads invalidation pushes until `n` keys were named; returns the keys (for multi-key writes, which may be
    /// reported in one push or several).
    fn invalidated(&mut self, n: usize) -> BTreeSet<String>;
}

impl TrackingConn for Resp {
    #[track_caller]
    fn ok(&mut self, args: &[&str], want: &str) {
        let got = self.cmd(args);
        assert_eq!(got, want, "reply to {args:?}");
    }

    fn id(&mut self) -> u64 {
        let r = self.cmd(&["CLIENT", "ID"]);
        r.trim().trim_start_matches(':').parse().expect("client id")
    }

    fn invalidated(&mut self, n: usize) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut count = 0;
        while count < n {
            let f = self.read_reply();
            let head = ">2\r\n$10\r\ninvalidate\r\n*";
            assert!(f.starts_with(head), "not an invalidation push: {f:?}");
            let lines: Vec<&str> = f[head.len()..].split("\r\n").collect();
            let k: usize = lines[0].parse().expect("count");
            for j in 0..k {
                keys.insert(lines[2 + 2 * j].to_string());
            }
            count += k;
        }
        keys
    }
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// Rewrites simple strings as bulk strings, for TRACKINGINFO comparisons that check content rather than the flag
/// encoding (the exact encoding is checked in `trackinginfo_replies`).
fn bulk_flags(reply: &str) -> String {
    reply
        .split_terminator("\r\n")
        .map(|l| match l.strip_prefix('+') {
            Some(w) => bulk(w),
            None => format!("{l}\r\n"),
        })
        .collect()
}

/// CLIENT TRACKINGINFO with flags normalised by `bulk_flags`.
fn trackinginfo(t: &mut Resp) -> String {
    bulk_flags(&t.cmd(&["CLIENT", "TRACKINGINFO"]))
}

/// The RESP3 invalidation push for `keys`.
fn inv(keys: &[&str]) -> String {
    format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n{}", keys.len(), keys.iter().map(|k| bulk(k)).collect::<String>())
}

/// The RESP3 invalidation push of a flush.
const INV_ALL: &str = ">2\r\n$10\r\ninvalidate\r\n_\r\n";

/// The `__redis__:invalidate` message a RESP2 redirect client receives for `keys`.
fn inv_msg(keys: &[&str]) -> String {
    format!(
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*{}\r\n{}",
        keys.len(),
        keys.iter().map(|k| bulk(k)).collect::<String>()
    )
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[track_caller]
fn w(c: &mut redis::Connection, args: &[&str]) {
    let _: Value = val(c, args);
}

/// Polls `cond` for up to ten seconds (for effects that complete asynchronously, such as a disconnect).
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

const OK: &str = "+OK\r\n";
const NULL3: &str = "_\r\n";

/// A RESP3 raw connection with default-mode tracking on.
fn tracker(s: &TestServer, opts: &[&str]) -> Resp {
    let mut t = Resp::new(s, 3);
    let mut args = vec!["CLIENT", "TRACKING", "ON"];
    args.extend_from_slice(opts);
    t.ok(&args, OK);
    t
}

// ---------------------------------------------------------------------------------------------------------------
// Default mode
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn invalidation_on_write_after_read() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    t.ok(&["GET", "k"], NULL3);
    w(&mut c, &["SET", "k", "1"]);
    t.expect(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    // Only once per read: a second write without a new read sends nothing. The next push is for `m`.
    w(&mut c, &["SET", "k", "2"]);
    t.ok(&["GET", "m"], NULL3);
    w(&mut c, &["SET", "m", "1"]);
    t.expect(&inv(&["m"]));
    // Reading again re-arms it.
    t.ok(&["GET", "k"], "$1\r\n2\r\n");
    w(&mut c, &["APPEND", "k", "x"]);
    t.expect(&inv(&["k"]));
    // Writes to keys the client never read send nothing.
    w(&mut c, &["SET", "unread", "1"]);
    t.ok(&["GET", "m2"], NULL3);
    w(&mut c, &["SET", "m2", "1"]);
    t.expect(&inv(&["m2"]));
}

#[test]
fn the_tracking_table_is_kept_within_tracking_table_max_keys() {
    let s = TestServer::start();
    let mut c = s.conn();
    let cfg: Vec<String> = q(&mut c, &["CONFIG", "GET", "tracking-table-max-keys"]);
    assert_eq!(cfg, ["tracking-table-max-keys", "1000000"]);
    let mut t = tracker(&s, &[]);
    let keys: Vec<String> = (0..250).map(|i| format!("key{i}")).collect();
    for k in &keys {
        t.ok(&["GET", k], NULL3);
    }
    assert_eq!(info_u64(&mut c, "tracking_total_keys"), 250);
    // Over the limit, keys are invalidated for their readers until one is left: 100, then 200 per round (the
    // rounds are commands and cron ticks), so every reader hears about exactly the keys that were dropped.
    w(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    let gone = t.invalidated(249);
    assert_eq!(gone.len(), 249);
    assert!(gone.iter().all(|k| keys.contains(k)));
    assert!(wait_for(|| info_u64(&mut c, "tracking_total_keys") == 1));
    let kept: Vec<&String> = keys.iter().filter(|k| !gone.contains(*k)).collect();
    assert_eq!(kept.len(), 1);
    // The kept key is still tracked; a dropped one is not.
    let dropped = gone.iter().next().expect("one").clone();
    w(&mut c, &["SET", &dropped, "1"]);
    w(&mut c, &["SET", kept[0], "1"]);
    t.expect(&inv(&[kept[0]]));
    // 0 lifts the limit.
    w(&mut c, &["CONFIG", "SET", "tracking-table-max-keys", "0"]);
    for i in 0..100 {
        t.ok(&["GET", &format!("fresh{i}")], NULL3);
    }
    assert_eq!(info_u64(&mut c, "tracking_total_keys"), 100);
}

#[test]
fn a_script_tracks_its_declared_keys_only_when_it_reads() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    // Only writes (or no key access): nothing is tracked.
    t.ok(&["EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"], NULL3);
    t.ok(&["EVAL_RO", "redis.call('ping')", "2", "k1", "k2"], NULL3);
    w(&mut c, &["MSET", "k2", "1", "k1", "1"]);
    // A read, even of another key, tracks every declared key (Redis 7.0).
    t.ok(&["EVAL", "redis.call('get', 'k3')", "2", "k1", "k2"], NULL3);
    w(&mut c, &["MSET", "k2", "2", "k1", "2"]);
    assert_eq!(t.invalidated(2), set(&["k1", "k2"]));
    t.ok(&["EVAL_RO", "redis.call('get', 'k1')", "2", "k1", "k2"], NULL3);
    w(&mut c, &["MSET", "k2", "3", "k1", "3"]);
    assert_eq!(t.invalidated(2), set(&["k1", "k2"]));
    t.ok(&["PING"], "+PONG\r\n");
}

#[test]
fn a_served_blmove_gets_its_reply_before_the_invalidation_it_caused() {
    let s = TestServer::start();
    let mut c = s.conn();
    w(&mut c, &["RPUSH", "list2", "a"]);
    let mut t = tracker(&s, &[]);
    t.ok(&["LRANGE", "list2", "0", "-1"], "*1\r\n$1\r\na\r\n");
    t.send(&["BLMOVE", "list1", "list2", "LEFT", "LEFT", "0"]);
    assert!(wait_for(|| info_u64(&mut c, "blocked_clients") == 1));
    w(&mut c, &["RPUSH", "list1", "foo"]);
    t.expect("$3\r\nfoo\r\n");
    t.expect(&inv(&["list2"]));
}

#[test]
fn reads_inside_a_transaction_are_tracked_and_a_flush_is_announced_after_exec() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    t.ok(&["MULTI"], OK);
    t.ok(&["GET", "k"], "+QUEUED\r\n");
    t.ok(&["EXEC"], "*1\r\n_\r\n");
    w(&mut c, &["SET", "k", "1"]);
    t.expect(&inv(&["k"]));
    // The tracking client's own FLUSHDB: the reply to EXEC first, then the invalidation of everything.
    t.ok(&["GET", "k"], "$1\r\n1\r\n");
    t.ok(&["MULTI"], OK);
    t.ok(&["FLUSHDB"], "+QUEUED\r\n");
    t.ok(&["EXEC"], "*1\r\n+OK\r\n");
    t.expect(INV_ALL);
}

#[test]
fn reads_of_every_type_are_tracked() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    t.ok(&["EXISTS", "ex"], ":0\r\n");
    t.ok(&["STRLEN", "sl"], ":0\r\n");
    t.ok(&["LRANGE", "lr", "0", "-1"], "*0\r\n");
    t.ok(&["HGET", "h", "f"], NULL3);
    t.ok(&["SMEMBERS", "s"], "~0\r\n");
    t.ok(&["ZSCORE", "z", "m"], NULL3);
    w(&mut c, &["SET", "ex", "1"]);
    t.expect(&inv(&["ex"]));
    w(&mut c, &["SET", "sl", "1"]);
    t.expect(&inv(&["sl"]));
    w(&mut c, &["RPUSH", "lr", "1"]);
    t.expect(&inv(&["lr"]));
    w(&mut c, &["HSET", "h", "f", "v"]);
    t.expect(&inv(&["h"]));
    w(&mut c, &["SADD", "s", "a"]);
    t.expect(&inv(&["s"]));
    w(&mut c, &["ZADD", "z", "1", "m"]);
    t.expect(&inv(&["z"]));
    // Multi-key reads track every key; multi-key writes invalidate each.
    t.ok(&["MGET", "a", "b"], "*2\r\n_\r\n_\r\n");
    w(&mut c, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(t.invalidated(2), set(&["a", "b"]));
    t.ok(&["MGET", "a", "b"], "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    w(&mut c, &["RENAME", "a", "b"]);
    assert_eq!(t.invalidated(2), set(&["a", "b"]));
    // Writing commands do not track the keys they touch.
    t.ok(&["SET", "written", "1"], OK);
    w(&mut c, &["SET", "written", "2"]);
    t.ok(&["GET", "mark"], NULL3);
    w(&mut c, &["SET", "mark", "1"]);
    t.expect(&inv(&["mark"]));
}

#[test]
fn invalidation_on_del_expiry_and_flush() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    // DEL
    w(&mut c, &["SET", "d", "v"]);
    t.ok(&["GET", "d"], "$1\r\nv\r\n");
    w(&mut c, &["DEL", "d"]);
    t.expect(&inv(&["d"]));
    // Expiry: nobody touches the key; the expire cycle removes it and invalidates it.
    w(&mut c, &["SET", "e", "v", "PX", "400"]);
    t.ok(&["GET", "e"], "$1\r\nv\r\n");
    t.expect(&inv(&["e"]));
    assert_eq!(val(&mut c, &["EXISTS", "e"]), Value::Int(0));
    // FLUSHDB invalidates everything with a null key list.
    t.ok(&["GET", "f"], NULL3);
    w(&mut c, &["FLUSHDB"]);
    t.expect(">2\r\n$10\r\ninvalidate\r\n_\r\n");
    // ... even for a client that has read nothing since.
    w(&mut c, &["FLUSHALL"]);
    t.expect(INV_ALL);
    // Tracking keeps working after a flush.
    t.ok(&["GET", "g"], NULL3);
    w(&mut c, &["SET", "g", "1"]);
    t.expect(&inv(&["g"]));
}

#[test]
fn own_writes_invalidate_unless_noloop() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    t.ok(&["GET", "k"], NULL3);
    // The reply comes first, then the push about the client's own write.
    t.send(&["SET", "k", "1"]);
    assert_eq!(t.read_replies(2), format!("{OK}{}", inv(&["k"])));
    // NOLOOP: the client does not hear about its own writes...
    t.ok(&["CLIENT", "TRACKING", "ON", "NOLOOP"], OK);
    t.ok(&["GET", "k"], "$1\r\n1\r\n");
    t.ok(&["SET", "k", "2"], OK);
    t.ok(&["GET", "m"], NULL3);
    w(&mut c, &["SET", "m", "1"]);
    t.expect(&inv(&["m"]));
    // ... but still about other clients' writes.
    t.ok(&["GET", "k"], "$1\r\n2\r\n");
    w(&mut c, &["SET", "k", "3"]);
    t.expect(&inv(&["k"]));
}

#[test]
fn tracking_off_stops_invalidations() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    t.ok(&["GET", "k"], NULL3);
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    w(&mut c, &["SET", "k", "1"]);
    w(&mut c, &["FLUSHDB"]);
    t.ok(&["CLIENT", "TRACKING", "ON"], OK);
    t.ok(&["GET", "m"], NULL3);
    w(&mut c, &["SET", "m", "1"]);
    t.expect(&inv(&["m"]));
}

#[test]
fn resp2_tracking_without_redirect_sends_nothing_in_band() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = Resp::new(&s, 2);
    t.ok(&["CLIENT", "TRACKING", "ON"], OK);
    t.ok(&["GET", "k"], "$-1\r\n");
    w(&mut c, &["SET", "k", "1"]);
    w(&mut c, &["FLUSHDB"]);
    // A RESP2 connection cannot carry pushes: its replies stay clean.
    t.ok(&["PING"], "+PONG\r\n");
    t.ok(&["PING"], "+PONG\r\n");
    t.ok(&["GET", "k"], "$-1\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// BCAST, OPTIN, OPTOUT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bcast_with_prefixes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &["BCAST", "PREFIX", "user:", "PREFIX", "session:"]);
    // No read needed.
    w(&mut c, &["SET", "user:1", "x"]);
    t.expect(&inv(&["user:1"]));
    // Keys outside the prefixes send nothing, even when read.
    t.ok(&["GET", "other"], NULL3);
    w(&mut c, &["SET", "other", "x"]);
    w(&mut c, &["SET", "use", "x"]);
    w(&mut c, &["SET", "session:9", "x"]);
    t.expect(&inv(&["session:9"]));
    // Every write, not just the first after a read.
    w(&mut c, &["SET", "user:1", "y"]);
    t.expect(&inv(&["user:1"]));
    // One message per prefix for all the keys one command changed, as Redis sends one per event-loop turn.
    w(&mut c, &["MSET", "user:2", "a", "user:3", "b", "nope", "c", "user:4", "d"]);
    t.expect(&inv(&["user:2", "user:3", "user:4"]));
    w(&mut c, &["DEL", "session:9"]);
    t.expect(&inv(&["session:9"]));
    // Flushes reach BCAST clients too.
    w(&mut c, &["FLUSHALL"]);
    t.expect(INV_ALL);
}

#[test]
fn bcast_without_prefix_and_noloop() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &["BCAST"]);
    w(&mut c, &["SET", "anything", "x"]);
    t.expect(&inv(&["anything"]));
    w(&mut c, &["HSET", "h", "f", "v"]);
    t.expect(&inv(&["h"]));
    // Own writes are reported (after the reply) unless NOLOOP.
    t.send(&["SET", "mine", "1"]);
    assert_eq!(t.read_replies(2), format!("{OK}{}", inv(&["mine"])));
    t.ok(&["CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"], OK);
    t.ok(&["SET", "mine", "2"], OK);
    w(&mut c, &["SET", "theirs", "1"]);
    t.expect(&inv(&["theirs"]));
}

#[test]
fn bcast_batches_the_keys_of_one_command() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &["BCAST", "PREFIX", "k", "PREFIX", "j"]);
    // A transaction is one command: its keys arrive together, each once.
    w(&mut c, &["MULTI"]);
    w(&mut c, &["SET", "k1", "a"]);
    w(&mut c, &["SET", "k2", "b"]);
    w(&mut c, &["SET", "k1", "c"]);
    w(&mut c, &["EXEC"]);
    t.expect(&inv(&["k1", "k2"]));
    // Keys under two prefixes in one command: one message per prefix.
    w(&mut c, &["MSET", "k4", "x", "j1", "y", "k5", "z"]);
    assert_eq!(t.read_replies(2), format!("{}{}", inv(&["k4", "k5"]), inv(&["j1"])));
    // A script's writes too.
    w(&mut c, &["EVAL", "redis.call('SET', 'k3', 1) redis.call('DEL', 'k2') return 1", "0"]);
    t.expect(&inv(&["k3", "k2"]));
    // With NOLOOP, the keys only this client changed are left out of the batch; others' stay.
    t.ok(&["CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"], OK);
    t.ok(&["MSET", "k5", "1", "k6", "2"], OK);
    w(&mut c, &["MSET", "k7", "1", "k8", "2"]);
    t.expect(&inv(&["k7", "k8"]));
    // Keys that expire are batched too (the expiry cycle, or the lazy expiry of a read).
    w(&mut c, &["SET", "k9", "1", "PX", "1"]);
    t.expect(&inv(&["k9"]));
    std::thread::sleep(Duration::from_millis(20));
    w(&mut c, &["GET", "k9"]);
    t.expect(&inv(&["k9"]));
}

#[test]
fn optin_tracks_only_after_caching_yes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &["OPTIN"]);
    t.ok(&["GET", "o1"], NULL3);
    t.ok(&["CLIENT", "CACHING", "YES"], OK);
    t.ok(&["GET", "o2"], NULL3);
    w(&mut c, &["SET", "o1", "x"]);
    w(&mut c, &["SET", "o2", "x"]);
    t.expect(&inv(&["o2"]));
    // CACHING YES applies to the next command only.
    t.ok(&["CLIENT", "CACHING", "YES"], OK);
    t.ok(&["GET", "o3"], NULL3);
    t.ok(&["GET", "o4"], NULL3);
    w(&mut c, &["SET", "o4", "x"]);
    w(&mut c, &["SET", "o3", "x"]);
    t.expect(&inv(&["o3"]));
    // ... and a write in between uses it up.
    t.ok(&["CLIENT", "CACHING", "YES"], OK);
    t.ok(&["SET", "unrelated", "1"], OK);
    t.ok(&["GET", "o5"], NULL3);
    w(&mut c, &["SET", "o5", "x"]);
    t.ok(&["CLIENT", "CACHING", "YES"], OK);
    t.ok(&["MGET", "o6", "o7"], "*2\r\n_\r\n_\r\n");
    w(&mut c, &["SET", "o6", "x"]);
    t.expect(&inv(&["o6"]));
}

#[test]
fn optout_tracks_unless_caching_no() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &["OPTOUT"]);
    t.ok(&["GET", "p1"], NULL3);
    t.ok(&["CLIENT", "CACHING", "NO"], OK);
    t.ok(&["GET", "p2"], NULL3);
    t.ok(&["GET", "p3"], NULL3);
    w(&mut c, &["SET", "p2", "x"]);
    w(&mut c, &["SET", "p1", "x"]);
    t.expect(&inv(&["p1"]));
    w(&mut c, &["SET", "p3", "x"]);
    t.expect(&inv(&["p3"]));
}

#[test]
fn tracking_on_again_accumulates_prefixes() {
    // A repeated CLIENT TRACKING ON replaces the flags but adds its BCAST prefixes to the client's current ones
    // (Redis 7.0's enableTracking); switching between OPTIN and OPTOUT needs tracking off first (next test).
    let s = TestServer::start();
    let mut t = tracker(&s, &["BCAST", "PREFIX", "a", "PREFIX", "b"]);
    t.ok(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "c"], OK);
    assert_eq!(
        trackinginfo(&mut t),
        "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
}

#[test]
fn tracking_on_again_cannot_switch_optin_optout() {
    let s = TestServer::start();
    let mut o = tracker(&s, &["OPTIN"]);
    o.ok(
        &["CLIENT", "TRACKING", "ON", "OPTOUT"],
        "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it \
         with a different mode.\r\n",
    );
    assert_eq!(
        trackinginfo(&mut o),
        "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\noptin\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n",
    );
}

// ---------------------------------------------------------------------------------------------------------------
// REDIRECT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn redirect_to_resp2_subscriber() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = Resp::new(&s, 2);
    let rid = r.id();
    r.send(&["SUBSCRIBE", "__redis__:invalidate"]);
    r.expect("*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n");
    // A RESP2 tracking client redirecting to it.
    let mut t = Resp::new(&s, 2);
    t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
    t.ok(&["CLIENT", "GETREDIR"], &format!(":{rid}\r\n"));
    t.ok(&["GET", "q"], "$-1\r\n");
    w(&mut c, &["SET", "q", "x"]);
    r.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nq\r\n");
    t.ok(&["MGET", "a", "b"], "*2\r\n$-1\r\n$-1\r\n");
    w(&mut c, &["MSET", "a", "1", "b", "2"]);
    let got: BTreeSet<String> = (0..2).map(|_| r.read_reply()).collect();
    let want: BTreeSet<String> = [inv_msg(&["a"]), inv_msg(&["b"])].into_iter().collect();
    let batched: BTreeSet<String> = [inv_msg(&["a", "b"])].into_iter().collect();
    assert!(got == want || got.iter().take(1).cloned().collect::<BTreeSet<_>>() == batched, "{got:?}");
    // A flush: null key list, in RESP2's null.
    w(&mut c, &["FLUSHALL"]);
    r.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
    // The tracking client itself receives nothing.
    t.ok(&["PING"], "+PONG\r\n");
    t.ok(&["PING"], "+PONG\r\n");
    // A RESP3 tracking client can redirect to the RESP2 subscriber as well.
    let mut t3 = Resp::new(&s, 3);
    t3.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
    t3.ok(&["GET", "z"], NULL3);
    w(&mut c, &["SET", "z", "1"]);
    r.expect(&inv_msg(&["z"]));
    t3.ok(&["PING"], "+PONG\r\n");
    t3.ok(&["PING"], "+PONG\r\n");
}

#[test]
fn redirect_to_resp3_client() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut r = Resp::new(&s, 3);
    let rid = r.id();
    let mut t = Resp::new(&s, 2);
    t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
    t.ok(&["GET", "z"], "$-1\r\n");
    w(&mut c, &["SET", "z", "1"]);
    r.expect(&inv(&["z"]));
    // BCAST with redirect.
    let mut b = Resp::new(&s, 2);
    b.ok(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "bc:", "REDIRECT", &rid.to_string()], OK);
    w(&mut c, &["SET", "bc:1", "1"]);
    r.expect(&inv(&["bc:1"]));
    r.ok(&["PING"], "+PONG\r\n");
}

#[test]
fn broken_redirect_is_reported() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut t = tracker(&s, &[]);
    let rid = {
        let mut r = Resp::new(&s, 2);
        let rid = r.id();
        t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
        rid
    };
    let mut admin = s.conn();
    assert!(wait_for(|| !q::<String>(&mut admin, &["CLIENT", "LIST"]).contains(&format!("id={rid} "))));
    t.ok(&["GET", "q"], NULL3);
    w(&mut c, &["SET", "q", "x"]);
    // The tracking client hears that its redirect target is gone (a push queued before the next reply).
    t.send(&["CLIENT", "TRACKINGINFO"]);
    assert_eq!(t.read_reply(), format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n"));
    assert_eq!(
        bulk_flags(&t.read_reply()),
        format!(
            "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:{rid}\r\n$8\r\nprefixes\r\n*0\r\n"
        )
    );
    t.ok(&["CLIENT", "GETREDIR"], &format!(":{rid}\r\n"));
}

// ---------------------------------------------------------------------------------------------------------------
// GETREDIR, TRACKINGINFO, INFO
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn getredir_values() {
    let s = TestServer::start();
    let mut t = Resp::new(&s, 3);
    t.ok(&["CLIENT", "GETREDIR"], ":-1\r\n");
    t.ok(&["CLIENT", "TRACKING", "ON"], OK);
    t.ok(&["CLIENT", "GETREDIR"], ":0\r\n");
    let mut r = Resp::new(&s, 2);
    let rid = r.id();
    t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
    t.ok(&["CLIENT", "GETREDIR"], &format!(":{rid}\r\n"));
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    t.ok(&["CLIENT", "GETREDIR"], ":-1\r\n");
    // Redirecting to itself is allowed, and reported as such.
    let tid = t.id();
    t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &tid.to_string()], OK);
    let mut c = s.conn();
    t.ok(&["GET", "k"], NULL3);
    w(&mut c, &["SET", "k", "1"]);
    t.expect(&inv(&["k"]));
    // The redis crate sees the same numbers.
    let mut plain = s.conn();
    assert_eq!(q::<i64>(&mut plain, &["CLIENT", "GETREDIR"]), -1);
    t.ok(&["CLIENT", "GETREDIR"], &format!(":{tid}\r\n"));
}

#[test]
fn trackinginfo_replies() {
    let s = TestServer::start();
    let info = |flags: &[&str], redirect: i64, prefixes: &[&str]| {
        format!(
            "%3\r\n$5\r\nflags\r\n~{}\r\n{}$8\r\nredirect\r\n:{redirect}\r\n$8\r\nprefixes\r\n*{}\r\n{}",
            flags.len(),
            flags.iter().map(|f| bulk(f)).collect::<String>(),
            prefixes.len(),
            prefixes.iter().map(|p| bulk(p)).collect::<String>()
        )
    };
    let mut t = Resp::new(&s, 3);
    let mut mismatches = Vec::new();
    let mut check = |t: &mut Resp, want: String| {
        let got = t.cmd(&["CLIENT", "TRACKINGINFO"]);
        if got != want {
            mismatches.push(format!("got {got:?}, want {want:?}"));
        }
    };
    check(&mut t, info(&["off"], -1, &[]));
    t.ok(&["CLIENT", "TRACKING", "ON"], OK);
    check(&mut t, info(&["on"], 0, &[]));
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    t.ok(&["CLIENT", "TRACKING", "ON", "OPTIN"], OK);
    check(&mut t, info(&["on", "optin"], 0, &[]));
    t.ok(&["CLIENT", "CACHING", "YES"], OK);
    check(&mut t, info(&["on", "optin", "caching-yes"], 0, &[]));
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    t.ok(&["CLIENT", "TRACKING", "ON", "OPTOUT"], OK);
    t.ok(&["CLIENT", "CACHING", "NO"], OK);
    check(&mut t, info(&["on", "optout", "caching-no"], 0, &[]));
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    t.ok(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "y", "NOLOOP"], OK);
    check(&mut t, info(&["on", "bcast", "noloop"], 0, &["x", "y"]));
    let mut r = Resp::new(&s, 2);
    let rid = r.id();
    t.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    t.ok(&["CLIENT", "TRACKING", "ON", "REDIRECT", &rid.to_string()], OK);
    check(&mut t, info(&["on"], rid as i64, &[]));
    // RESP2: the map and set become flat arrays.
    let mut t2 = Resp::new(&s, 2);
    check(
        &mut t2,
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n".to_string(),
    );
    assert!(mismatches.is_empty(), "TRACKINGINFO replies differ:\n{}", mismatches.join("\n"));
}

#[test]
fn trackinginfo_through_redis_crate() {
    // Flag names and values, whatever string type carries them.
    let s = TestServer::start();
    let mut c = s.conn3();
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let read = |c: &mut redis::Connection| -> (BTreeSet<String>, i64, Vec<String>) {
        let Value::Map(m) = val(c, &["CLIENT", "TRACKINGINFO"]) else { panic!("not a map") };
        let mut flags = BTreeSet::new();
        let mut redirect = 99;
        let mut prefixes = Vec::new();
        for (k, v) in &m {
            match (text(k).as_str(), v) {
                ("flags", Value::Set(f)) => flags = f.iter().map(text).collect(),
                ("redirect", Value::Int(n)) => redirect = *n,
                ("prefixes", Value::Array(p)) => prefixes = p.iter().map(text).collect(),
                (k, v) => panic!("unexpected field {k}: {v:?}"),
            }
        }
        (flags, redirect, prefixes)
    };
    assert_eq!(read(&mut c), (set(&["off"]), -1, vec![]));
    assert_eq!(val(&mut c, &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "NOLOOP"]), Value::Okay);
    assert_eq!(read(&mut c), (set(&["on", "bcast", "noloop"]), 0, vec!["p:".to_string()]));
    assert_eq!(val(&mut c, &["CLIENT", "TRACKING", "OFF"]), Value::Okay);
    assert_eq!(val(&mut c, &["CLIENT", "TRACKING", "ON", "OPTIN"]), Value::Okay);
    assert_eq!(val(&mut c, &["CLIENT", "CACHING", "YES"]), Value::Okay);
    assert_eq!(read(&mut c), (set(&["on", "optin", "caching-yes"]), 0, vec![]));
}

fn tracking_clients(c: &mut redis::Connection) -> i64 {
    let info: String = q(c, &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("tracking_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no tracking_clients in {info}"))
}

#[test]
fn info_tracking_clients() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(tracking_clients(&mut c), 0);
    let mut a = tracker(&s, &[]);
    assert_eq!(tracking_clients(&mut c), 1);
    {
        let _b = tracker(&s, &["BCAST"]);
        assert_eq!(tracking_clients(&mut c), 2);
        // Turning it on again does not count twice.
        a.ok(&["CLIENT", "TRACKING", "ON", "NOLOOP"], OK);
        assert_eq!(tracking_clients(&mut c), 2);
    }
    // A tracking client that disconnects stops counting.
    assert!(
        wait_for(|| tracking_clients(&mut c) == 1),
        "tracking_clients after disconnect: {}",
        tracking_clients(&mut c)
    );
    a.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    assert_eq!(tracking_clients(&mut c), 0);
    a.ok(&["CLIENT", "TRACKING", "OFF"], OK);
    assert_eq!(tracking_clients(&mut c), 0);
    // RESET turns tracking off.
    a.ok(&["CLIENT", "TRACKING", "ON"], OK);
    assert_eq!(tracking_clients(&mut c), 1);
    a.ok(&["RESET"], "+RESET\r\n");
    assert_eq!(tracking_clients(&mut c), 0);
    assert_eq!(
        trackinginfo(&mut a),
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn tracking_error_texts() {
    let s = TestServer::start();
    let mut t = Resp::new(&s, 3);
    let cases: &[(&[&str], &str)] = &[
        (&["CLIENT", "TRACKING", "ON", "PREFIX", "x"], "-ERR PREFIX option requires BCAST mode to be enabled\r\n"),
        (
            &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"],
            "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n",
        ),
        (&["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"], "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"),
        (&["CLIENT", "TRACKING", "ON", "BCAST", "OPTOUT"], "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"),
        (
            &["CLIENT", "TRACKING", "ON", "REDIRECT", "9999"],
            "-ERR The client ID you want redirect to does not exist\r\n",
        ),
        (&["CLIENT", "TRACKING", "ON", "REDIRECT", "0"], "-ERR The client ID you want redirect to does not exist\r\n"),
        (&["CLIENT", "TRACKING", "ON", "REDIRECT", "-1"], "-ERR The client ID you want redirect to does not exist\r\n"),
        (&["CLIENT", "TRACKING", "ON", "REDIRECT", "abc"], "-ERR value is not an integer or out of range\r\n"),
        (&["CLIENT", "TRACKING", "ON", "REDIRECT"], "-ERR syntax error\r\n"),
        (&["CLIENT", "TRACKING", "ON", "PREFIX"], "-ERR syntax error\r\n"),
        (&["CLIENT", "TRACKING", "ON", "FOO"], "-ERR syntax error\r\n"),
        (&["CLIENT", "TRACKING", "MAYBE"], "-ERR syntax error\r\n"),
        (&["CLIENT", "TRACKING"], "-ERR wrong number of arguments for 'client|tracking' command\r\n"),
        (
            &["CLIENT", "CACHING", "YES"],
            "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode \
             enabled\r\n",
        ),
        (&["CLIENT", "CACHING"], "-ERR wrong number of arguments for 'client|caching' command\r\n"),
        (&["CLIENT", "GETREDIR", "x"], "-ERR wrong number of arguments for 'client|getredir' command\r\n"),
        (&["CLIENT", "TRACKINGINFO", "x"], "-ERR wrong number of arguments for 'client|trackinginfo' command\r\n"),
        // Now in default mode: CACHING still refused, with the mode-specific text.
        (&["CLIENT", "TRACKING", "ON"], OK),
        (
            &["CLIENT", "CACHING", "NO"],
            "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n",
        ),
        (
            &["CLIENT", "CACHING", "YES"],
            "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n",
        ),
        (
            &["CLIENT", "TRACKING", "ON", "BCAST"],
            "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then \
             re-enabling it with a different mode.\r\n",
        ),
        (&["CLIENT", "TRACKING", "OFF"], OK),
        (&["CLIENT", "TRACKING", "ON", "OPTIN"], OK),
        (
            &["CLIENT", "CACHING", "NO"],
            "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n",
        ),
        (&["CLIENT", "CACHING", "MAYBE"], "-ERR syntax error\r\n"),
        (&["CLIENT", "TRACKING", "OFF"], OK),
        (&["CLIENT", "TRACKING", "ON", "OPTOUT"], OK),
        (
            &["CLIENT", "CACHING", "YES"],
            "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n",
        ),
        (&["CLIENT", "CACHING", "no"], OK),
        (&["CLIENT", "TRACKING", "off"], OK),
        // Options are case-insensitive.
        (&["client", "tracking", "on", "bcast", "prefix", "a", "noloop"], OK),
        (&["CLIENT", "TRACKING", "OFF"], OK),
    ];
    let mut mismatches = Vec::new();
    for (args, want) in cases {
        let got = t.cmd(args);
        if got != *want {
            mismatches.push(format!("{args:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(mismatches.is_empty(), "error replies differ:\n{}", mismatches.join("\n"));
    // Failed commands left tracking off.
    t.ok(&["CLIENT", "GETREDIR"], ":-1\r\n");
}

#[test]
fn bcast_overlapping_prefixes_rejected() {
    let s = TestServer::start();
    let mut t = Resp::new(&s, 3);
    t.ok(
        &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"],
        "-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n",
    );
    t.ok(
        &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "a"],
        "-ERR Prefix 'a' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n",
    );
    t.ok(&["CLIENT", "GETREDIR"], ":-1\r\n");
}
