//! Pub/sub: SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE confirmations, PUBLISH fan-out, PUBSUB
//! introspection, RESP2 subscribed mode, RESP3 push frames, keyspace notifications, and the output-buffer limit
//! that disconnects a subscriber that never reads. Exact bytes are Redis 7.0's.

mod common;
use common::*;
use redis::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// RESP bulk string.
fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// A RESP2 (`*`) or RESP3 (`>`) subscription confirmation frame.
fn confirm(proto: u8, kind: &str, ch: Option<&str>, n: i64) -> String {
    let head = if proto == 3 { ">3\r\n" } else { "*3\r\n" };
    let ch = match ch {
        Some(c) => bulk(c),
        None if proto == 3 => "_\r\n".to_string(),
        None => "$-1\r\n".to_string(),
    };
    format!("{head}{}{ch}:{n}\r\n", bulk(kind))
}

/// A `message` frame.
fn message(proto: u8, ch: &str, msg: &str) -> String {
    let head = if proto == 3 { ">3\r\n" } else { "*3\r\n" };
    format!("{head}{}{}{}", bulk("message"), bulk(ch), bulk(msg))
}

/// A `pmessage` frame.
fn pmessage(proto: u8, pat: &str, ch: &str, msg: &str) -> String {
    let head = if proto == 3 { ">4\r\n" } else { "*4\r\n" };
    format!("{head}{}{}{}{}", bulk("pmessage"), bulk(pat), bulk(ch), bulk(msg))
}

fn bb(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn publish(c: &mut redis::Connection, ch: &str, msg: &str) -> i64 {
    q(c, &["PUBLISH", ch, msg])
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

#[track_caller]
fn expect_ok(c: &mut redis::Connection, args: &[&str]) {
    assert_eq!(val(c, args), Value::Okay, "reply to {args:?}");
}

fn subscribed_err(name: &str) -> String {
    format!(
        "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Confirmations
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn subscribe_confirmations_resp2() {
    let s = TestServer::start();
    let mut a = Resp::new(&s, 2);
    a.send(&["SUBSCRIBE", "ch1", "ch2"]);
    assert_eq!(
        a.read_replies(2),
        "*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n"
    );
    a.send(&["PSUBSCRIBE", "h*llo"]);
    a.expect("*3\r\n$10\r\npsubscribe\r\n$5\r\nh*llo\r\n:3\r\n");
    // Subscribing again to the same channel or pattern does not change the count.
    a.send(&["SUBSCRIBE", "ch1"]);
    a.expect(&confirm(2, "subscribe", Some("ch1"), 3));
    a.send(&["PSUBSCRIBE", "h*llo"]);
    a.expect(&confirm(2, "psubscribe", Some("h*llo"), 3));
    // Unsubscribing from a channel the client does not have still confirms it, with the unchanged count.
    a.send(&["UNSUBSCRIBE", "ch1", "nope"]);
    assert_eq!(
        a.read_replies(2),
        "*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$4\r\nnope\r\n:2\r\n"
    );
    a.send(&["PUNSUBSCRIBE", "h*llo", "zz*"]);
    assert_eq!(
        a.read_replies(2),
        "*3\r\n$12\r\npunsubscribe\r\n$5\r\nh*llo\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$3\r\nzz*\r\n:1\r\n"
    );
    a.send(&["UNSUBSCRIBE", "ch2"]);
    a.expect("*3\r\n$11\r\nunsubscribe\r\n$3\r\nch2\r\n:0\r\n");
    // With nothing left, the argument-less forms confirm with a null channel.
    a.send(&["UNSUBSCRIBE"]);
    a.expect("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect("*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribed mode: ordinary replies again.
    a.expect_after_cmd(&["PING"], "+PONG\r\n");
    a.expect_after_cmd(&["GET", "x"], "$-1\r\n");
    // Patterns and channels with the same name are counted separately.
    a.send(&["SUBSCRIBE", "same"]);
    a.expect(&confirm(2, "subscribe", Some("same"), 1));
    a.send(&["PSUBSCRIBE", "same"]);
    a.expect(&confirm(2, "psubscribe", Some("same"), 2));
}

#[test]
fn subscribe_confirmations_resp3() {
    let s = TestServer::start();
    let mut a = Resp::new(&s, 3);
    a.send(&["SUBSCRIBE", "c", "d"]);
    assert_eq!(
        a.read_replies(2),
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nd\r\n:2\r\n"
    );
    a.send(&["PSUBSCRIBE", "p*"]);
    a.expect(">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n");
    a.send(&["UNSUBSCRIBE", "c"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:2\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect(">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:1\r\n");
    a.send(&["UNSUBSCRIBE"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n$1\r\nd\r\n:0\r\n");
    a.send(&["UNSUBSCRIBE"]);
    a.expect(">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    a.send(&["PUNSUBSCRIBE"]);
    a.expect(">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n");
    a.expect_after_cmd(&["PING"], "+PONG\r\n");
}

#[test]
fn subscribe_arity_errors() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["SUBSCRIBE"]), "ERR wrong number of arguments for 'subscribe' command");
    assert_eq!(err(&mut c, &["PSUBSCRIBE"]), "ERR wrong number of arguments for 'psubscribe' command");
    assert_eq!(err(&mut c, &["PUBLISH", "x"]), "ERR wrong number of arguments for 'publish' command");
    assert_eq!(err(&mut c, &["PUBLISH", "x", "y", "z"]), "ERR wrong number of arguments for 'publish' command");
    assert_eq!(err(&mut c, &["PUBSUB"]), "ERR wrong number of arguments for 'pubsub' command");
    assert_eq!(err(&mut c, &["PUBSUB", "FOO"]), "ERR unknown subcommand 'FOO'. Try PUBSUB HELP.");
    assert_eq!(err(&mut c, &["PUBSUB", "NUMPAT", "x"]), "ERR wrong number of arguments for 'pubsub|numpat' command");
}

// ---------------------------------------------------------------------------------------------------------------
// PUBLISH and delivery
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn publish_counts_and_delivery_resp2() {
    let s = TestServer::start();
    let mut p = s.conn();
    assert_eq!(publish(&mut p, "news", "nobody"), 0);
    let mut chan = Resp::new(&s, 2);
    chan.send(&["SUBSCRIBE", "news"]);
    chan.read_reply();
    let mut pat = Resp::new(&s, 2);
    pat.send(&["PSUBSCRIBE", "n*s", "n?ws"]);
    pat.read_replies(2);
    let mut both = Resp::new(&s, 2);
    both.send(&["SUBSCRIBE", "news", "other"]);
    both.read_replies(2);
    both.send(&["PSUBSCRIBE", "*"]);
    both.read_reply();

    // news: chan and both by channel, pat by two patterns, both by pattern `*`.
    assert_eq!(publish(&mut p, "news", "hello"), 5);
    chan.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
    let got: BTreeSet<String> = (0..2).map(|_| pat.read_reply()).collect();
    let want: BTreeSet<String> =
        [pmessage(2, "n*s", "news", "hello"), pmessage(2, "n?ws", "news", "hello")].into_iter().collect();
    assert_eq!(got, want);
    assert_eq!(
        pmessage(2, "n*s", "news", "hello"),
        "*4\r\n$8\r\npmessage\r\n$3\r\nn*s\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    // A client subscribed by channel and by pattern gets both, channel message first.
    both.expect(&message(2, "news", "hello"));
    both.expect(&pmessage(2, "*", "news", "hello"));

    // other: only `both` (channel and pattern).
    assert_eq!(publish(&mut p, "other", "o"), 2);
    both.expect(&message(2, "other", "o"));
    both.expect(&pmessage(2, "*", "other", "o"));
    // nows: the two patterns and `*`, no channel subscriber.
    assert_eq!(publish(&mut p, "nows", "w"), 3);
    let got: BTreeSet<String> = (0..2).map(|_| pat.read_reply()).collect();
    let want: BTreeSet<String> =
        [pmessage(2, "n*s", "nows", "w"), pmessage(2, "n?ws", "nows", "w")].into_iter().collect();
    assert_eq!(got, want);
    both.expect(&pmessage(2, "*", "nows", "w"));
    // chan received nothing for other / nows: its next frame is the next news message.
    assert_eq!(publish(&mut p, "news", ""), 5);
    chan.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$0\r\n\r\n");

    // Binary-safe and large payloads arrive intact.
    let big = "x".repeat(100_000);
    assert_eq!(publish(&mut p, "news", &big), 5);
    chan.expect(&message(2, "news", &big));
    assert_eq!(publish(&mut p, "news", "a\r\nb\0c"), 5);
    chan.expect(&message(2, "news", "a\r\nb\0c"));
    // Pattern syntax: character classes and escapes.
    let mut cls = Resp::new(&s, 2);
    cls.send(&["PSUBSCRIBE", "h[ae]llo", "lit\\*"]);
    cls.read_replies(2);
    assert_eq!(publish(&mut p, "hallo", "1"), 2); // cls + `*`
    cls.expect(&pmessage(2, "h[ae]llo", "hallo", "1"));
    assert_eq!(publish(&mut p, "hillo", "2"), 1); // only `*`
    assert_eq!(publish(&mut p, "litx", "3"), 1);
    assert_eq!(publish(&mut p, "lit*", "4"), 2);
    cls.expect(&pmessage(2, "lit\\*", "lit*", "4"));
}

#[test]
fn publish_delivery_resp3() {
    let s = TestServer::start();
    let mut p = s.conn();
    let mut a = Resp::new(&s, 3);
    a.send(&["SUBSCRIBE", "c"]);
    a.read_reply();
    a.send(&["PSUBSCRIBE", "p*"]);
    a.read_reply();
    assert_eq!(publish(&mut p, "c", "m"), 1);
    a.expect(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
    assert_eq!(publish(&mut p, "pq", "m"), 1);
    a.expect(">4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$1\r\nm\r\n");
    // A RESP2 and a RESP3 subscriber of the same channel each get their own encoding.
    let mut two = Resp::new(&s, 2);
    two.send(&["SUBSCRIBE", "c"]);
    two.read_reply();
    assert_eq!(publish(&mut p, "c", "both"), 2);
    a.expect(&message(3, "c", "both"));
    two.expect(&message(2, "c", "both"));
}

#[test]
fn redis_crate_pubsub_resp2_and_resp3() {
    let s = TestServer::start();
    let mut p = s.conn();
    for resp3 in [false, true] {
        let mut sc = if resp3 { s.conn3() } else { s.conn() };
        {
            let mut ps = sc.as_pubsub();
            ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            ps.subscribe("chan").unwrap();
            ps.psubscribe("pat.*").unwrap();
            assert_eq!(publish(&mut p, "chan", "a"), 1);
            let m = ps.get_message().unwrap();
            assert_eq!(m.get_channel_name(), "chan");
            assert_eq!(m.get_payload::<String>().unwrap(), "a");
            assert!(!m.from_pattern());
            assert_eq!(publish(&mut p, "pat.x", "b"), 1);
            let m = ps.get_message().unwrap();
            assert_eq!(m.get_channel_name(), "pat.x");
            assert_eq!(m.get_payload::<String>().unwrap(), "b");
            assert!(m.from_pattern());
            assert_eq!(m.get_pattern::<String>().unwrap(), "pat.*");
            ps.unsubscribe("chan").unwrap();
            assert_eq!(publish(&mut p, "chan", "gone"), 0);
            assert_eq!(publish(&mut p, "pat.y", "c"), 1);
            assert_eq!(ps.get_message().unwrap().get_payload::<String>().unwrap(), "c");
        }
        // Dropping the PubSub unsubscribes from everything; the connection is usable again.
        assert_eq!(val(&mut sc, &["SET", "k", "v"]), Value::Okay, "resp3={resp3}");
        assert_eq!(q::<String>(&mut sc, &["GET", "k"]), "v");
        assert_eq!(publish(&mut p, "pat.z", "d"), 0);
        assert_eq!(q::<i64>(&mut p, &["PUBSUB", "NUMPAT"]), 0);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// PUBSUB CHANNELS / NUMSUB / NUMPAT
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn pubsub_introspection() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(val(&mut c, &["PUBSUB", "CHANNELS"]), Value::Array(vec![]));
    assert_eq!(q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]), 0);
    assert_eq!(val(&mut c, &["PUBSUB", "NUMSUB"]), Value::Array(vec![]));

    let mut a = Resp::new(&s, 2);
    a.send(&["SUBSCRIBE", "news.tech", "news.art", "weather"]);
    a.read_replies(3);
    let mut b = Resp::new(&s, 3);
    b.send(&["SUBSCRIBE", "news.tech"]);
    b.read_reply();
    a.send(&["PSUBSCRIBE", "news.*", "w*"]);
    a.read_replies(2);
    b.send(&["PSUBSCRIBE", "news.*"]);
    b.read_reply();

    let mut all: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS"]);
    all.sort();
    assert_eq!(all, ["news.art", "news.tech", "weather"]);
    let mut news: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS", "news.*"]);
    news.sort();
    assert_eq!(news, ["news.art", "news.tech"]);
    let none: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS", "nothing*"]);
    assert!(none.is_empty());
    // Pattern subscriptions are not channels.
    let w: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS", "w*"]);
    assert_eq!(w, ["weather"]);

    // NUMSUB: channel subscribers only, in argument order, zero for unknown channels.
    let mut r2 = Resp::new(&s, 2);
    assert_eq!(
        r2.cmd(&["PUBSUB", "NUMSUB", "news.tech", "weather", "zz"]),
        "*6\r\n$9\r\nnews.tech\r\n:2\r\n$7\r\nweather\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    );
    // NUMPAT counts distinct patterns (Redis 7.0), not pattern subscriptions.
    assert_eq!(q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]), 2);

    a.send(&["UNSUBSCRIBE", "news.tech"]);
    a.read_reply();
    assert_eq!(r2.cmd(&["PUBSUB", "NUMSUB", "news.tech"]), "*2\r\n$9\r\nnews.tech\r\n:1\r\n");
    b.send(&["UNSUBSCRIBE", "news.tech"]);
    b.read_reply();
    // A channel with no subscribers left disappears.
    let mut all: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS"]);
    all.sort();
    assert_eq!(all, ["news.art", "weather"]);
    a.send(&["PUNSUBSCRIBE", "news.*"]);
    a.read_reply();
    assert_eq!(q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]), 2);
    b.send(&["PUNSUBSCRIBE", "news.*"]);
    b.read_reply();
    assert_eq!(q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]), 1);
    // PUBSUB works from a RESP3 subscriber too.
    assert_eq!(b.cmd(&["PUBSUB", "NUMPAT"]), ":1\r\n");
}

#[test]
fn pubsub_numsub_resp3_is_a_flat_array() {
    // Redis 7.0 answers NUMSUB with a flat array in RESP3 too, not a map.
    let s = TestServer::start();
    let mut a = Resp::new(&s, 2);
    a.send(&["SUBSCRIBE", "news.tech"]);
    a.read_reply();
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(r3.cmd(&["PUBSUB", "NUMSUB"]), "*0\r\n");
    assert_eq!(r3.cmd(&["PUBSUB", "NUMSUB", "news.tech", "zz"]), "*4\r\n$9\r\nnews.tech\r\n:1\r\n$2\r\nzz\r\n:0\r\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Subscribed mode
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn resp2_subscribed_mode_restrictions() {
    let s = TestServer::start();
    let mut p = s.conn();
    let mut a = Resp::new(&s, 2);
    a.send(&["SUBSCRIBE", "c"]);
    a.read_reply();
    a.expect_after_cmd(&["GET", "x"], &subscribed_err("get"));
    a.expect_after_cmd(&["set", "x", "1"], &subscribed_err("set"));
    a.expect_after_cmd(&["PUBLISH", "c", "x"], &subscribed_err("publish"));
    a.expect_after_cmd(&["CONFIG", "GET", "x"], &subscribed_err("config|get"));
    a.expect_after_cmd(&["MULTI"], &subscribed_err("multi"));
    // PING answers as a pub/sub array.
    a.expect_after_cmd(&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    a.expect_after_cmd(&["PING", "msg"], "*2\r\n$4\r\npong\r\n$3\r\nmsg\r\n");
    // The rejected commands had no effect, and the client still receives messages.
    assert_eq!(val(&mut p, &["EXISTS", "x"]), Value::Int(0));
    assert_eq!(publish(&mut p, "c", "still"), 1);
    a.expect(&message(2, "c", "still"));
    // Pattern subscriptions alone also mean subscribed mode.
    a.send(&["UNSUBSCRIBE", "c"]);
    a.expect(&confirm(2, "unsubscribe", Some("c"), 0));
    a.expect_after_cmd(&["GET", "x"], "$-1\r\n");
    a.send(&["PSUBSCRIBE", "p*"]);
    a.read_reply();
    a.expect_after_cmd(&["GET", "x"], &subscribed_err("get"));
    // RESET leaves subscribed mode.
    a.expect_after_cmd(&["RESET"], "+RESET\r\n");
    a.expect_after_cmd(&["GET", "x"], "$-1\r\n");
    assert_eq!(publish(&mut p, "pq", "x"), 0);
    // QUIT is allowed.
    let mut b = Resp::new(&s, 2);
    b.send(&["SUBSCRIBE", "c"]);
    b.read_reply();
    b.expect_after_cmd(&["QUIT"], "+OK\r\n");
    let mut rest = Vec::new();
    let _ = b.r.read_to_end(&mut rest);
    assert!(rest.is_empty(), "after QUIT: {:?}", String::from_utf8_lossy(&rest));
}

#[test]
fn resp3_subscriber_runs_other_commands() {
    let s = TestServer::start();
    let mut p = s.conn();
    let mut a = Resp::new(&s, 3);
    a.send(&["SUBSCRIBE", "c"]);
    a.read_reply();
    a.send(&["PSUBSCRIBE", "x*"]);
    a.read_reply();
    a.expect_after_cmd(&["SET", "k", "v"], "+OK\r\n");
    a.expect_after_cmd(&["GET", "k"], "$1\r\nv\r\n");
    a.expect_after_cmd(&["GET", "missing"], "_\r\n");
    a.expect_after_cmd(&["PING"], "+PONG\r\n");
    a.expect_after_cmd(&["PING", "hi"], "$2\r\nhi\r\n");
    // Publishing to itself: the reply and the push both arrive (order checked in its own test below).
    a.send(&["PUBLISH", "c", "self"]);
    let got: BTreeSet<String> = (0..2).map(|_| a.read_reply()).collect();
    assert_eq!(got, [":1\r\n".to_string(), message(3, "c", "self")].into_iter().collect::<BTreeSet<_>>());
    a.send(&["MULTI"]);
    a.expect("+OK\r\n");
    a.expect_after_cmd(&["INCR", "n"], "+QUEUED\r\n");
    a.expect_after_cmd(&["EXEC"], "*1\r\n:1\r\n");
    assert_eq!(publish(&mut p, "xy", "pm"), 1);
    a.expect(&pmessage(3, "x*", "xy", "pm"));
    a.expect_after_cmd(&["DBSIZE"], ":2\r\n");
}

#[test]
fn resp3_self_publish_push_precedes_reply() {
    // Redis 7.0 writes the push into the publisher's own output during PUBLISH, so it precedes the `:1` reply.
    let s = TestServer::start();
    let mut a = Resp::new(&s, 3);
    a.send(&["SUBSCRIBE", "c"]);
    a.read_reply();
    a.send(&["PUBLISH", "c", "self"]);
    assert_eq!(a.read_replies(2), message(3, "c", "self") + ":1\r\n");
}

#[test]
fn pushes_are_not_silenced_by_client_reply_off() {
    // Push frames are out-of-band: CLIENT REPLY OFF silences replies, not subscribe confirmations or messages.
    let s = TestServer::start();
    let mut p = s.conn();
    let mut a = Resp::new(&s, 3);
    a.send(&["CLIENT", "REPLY", "OFF"]);
    a.send(&["SUBSCRIBE", "c"]);
    a.expect(&confirm(3, "subscribe", Some("c"), 1));
    assert_eq!(publish(&mut p, "c", "m"), 1);
    a.expect(&message(3, "c", "m"));
    a.send(&["PING"]);
    a.send(&["UNSUBSCRIBE", "c"]);
    a.expect(&confirm(3, "unsubscribe", Some("c"), 0));
    a.send(&["CLIENT", "REPLY", "ON"]);
    a.expect("+OK\r\n");
    // In RESP2 too (Redis 7.0 writes confirmations as pushes whatever the protocol): the PING's reply is
    // silenced, the confirmation is not.
    let mut b = Resp::new(&s, 2);
    b.send(&["CLIENT", "REPLY", "OFF"]);
    b.send(&["PING"]);
    b.send(&["SUBSCRIBE", "c"]);
    b.expect(&confirm(2, "subscribe", Some("c"), 1));
    assert_eq!(publish(&mut p, "c", "m2"), 1);
    b.expect(&message(2, "c", "m2"));
}

#[test]
fn unsubscribe_without_arguments_drops_every_subscription() {
    let s = TestServer::start();
    let mut p = s.conn();
    for proto in [2u8, 3] {
        let mut a = Resp::new(&s, proto);
        a.send(&["SUBSCRIBE", "a", "b", "c"]);
        a.read_replies(3);
        a.send(&["PSUBSCRIBE", "x*", "y*"]);
        a.read_replies(2);
        // Channels come back in any order, with counts going down one by one (the patterns still count).
        a.send(&["UNSUBSCRIBE"]);
        let mut names = BTreeSet::new();
        for n in [4, 3, 2] {
            let f = a.read_reply();
            let found = ["a", "b", "c"].into_iter().find(|ch| f == confirm(proto, "unsubscribe", Some(ch), n));
            assert!(found.is_some(), "proto {proto}: unexpected frame {f:?} (count {n})");
            names.insert(found.unwrap());
        }
        assert_eq!(names.len(), 3);
        assert_eq!(publish(&mut p, "a", "x"), 0);
        let nums: Vec<Value> = q(&mut p, &["PUBSUB", "NUMSUB", "a", "b", "c"]);
        assert_eq!(nums.iter().filter(|v| **v == Value::Int(0)).count(), 3);
        a.send(&["PUNSUBSCRIBE"]);
        let mut pats = BTreeSet::new();
        for n in [1, 0] {
            let f = a.read_reply();
            let found = ["x*", "y*"].into_iter().find(|pat| f == confirm(proto, "punsubscribe", Some(pat), n));
            assert!(found.is_some(), "proto {proto}: unexpected frame {f:?} (count {n})");
            pats.insert(found.unwrap());
        }
        assert_eq!(pats.len(), 2);
        assert_eq!(q::<i64>(&mut p, &["PUBSUB", "NUMPAT"]), 0);
        a.expect_after_cmd(&["PING"], "+PONG\r\n");
    }
}

#[test]
fn disconnect_cleans_subscriptions() {
    let s = TestServer::start();
    let mut p = s.conn();
    {
        let mut a = Resp::new(&s, 2);
        a.send(&["SUBSCRIBE", "gone"]);
        a.read_reply();
        a.send(&["PSUBSCRIBE", "go*"]);
        a.read_reply();
        let mut b = Resp::new(&s, 3);
        b.send(&["SUBSCRIBE", "gone"]);
        b.read_reply();
        assert_eq!(publish(&mut p, "gone", "x"), 3);
        assert_eq!(val(&mut p, &["PUBSUB", "NUMSUB", "gone"]), Value::Array(vec![bb("gone"), Value::Int(2)]));
    }
    let clean = wait_for(|| {
        val(&mut p, &["PUBSUB", "NUMSUB", "gone"]) == Value::Array(vec![bb("gone"), Value::Int(0)])
            && q::<i64>(&mut p, &["PUBSUB", "NUMPAT"]) == 0
    });
    assert!(clean, "subscriptions of closed clients remain");
    assert_eq!(publish(&mut p, "gone", "x"), 0);
    let chans: Vec<String> = q(&mut p, &["PUBSUB", "CHANNELS"]);
    assert!(chans.is_empty(), "{chans:?}");
    let info: String = q(&mut p, &["INFO", "stats"]);
    assert!(info.contains("pubsub_channels:0\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:0\r\n"), "{info}");
}

// ---------------------------------------------------------------------------------------------------------------
// Keyspace notifications
// ---------------------------------------------------------------------------------------------------------------

fn notify_config(c: &mut redis::Connection) -> String {
    let v: Vec<String> = q(c, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(v.len(), 2, "{v:?}");
    v[1].clone()
}

#[test]
fn notify_keyspace_events_config() {
    let s = TestServer::start();
    let mut c = s.conn();
    assert_eq!(notify_config(&mut c), "");
    for (set, canonical) in [("KEA", "AKE"), ("Kl", "lK"), ("Ex$", "$xE"), ("AKEm", "AKEm"), ("gK", "gK"), ("", "")] {
        expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", set]);
        assert_eq!(notify_config(&mut c), canonical, "after setting {set:?}");
    }
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kl"]);
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KQ"]),
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class \
         character. Use 'Ag$lshzxeKEtmdn'."
    );
    // A rejected value leaves the previous one in place.
    assert_eq!(notify_config(&mut c), "lK");
    // The startup option takes the same syntax.
    let s2 = TestServer::start_with(&["--notify-keyspace-events", "Eh"]);
    let mut c2 = s2.conn();
    assert_eq!(notify_config(&mut c2), "hE");
}

/// Keyspace and keyevent frames for one event, as a `__key*__:*` pattern subscriber receives them.
fn key_events(db: u32, key: &str, event: &str) -> String {
    pmessage(2, "__key*__:*", &format!("__keyspace@{db}__:{key}"), event)
        + &pmessage(2, "__key*__:*", &format!("__keyevent@{db}__:{event}"), key)
}

/// A RESP2 subscriber of every keyspace and keyevent channel.
fn key_subscriber(s: &TestServer) -> Resp {
    let mut sub = Resp::new(s, 2);
    sub.send(&["PSUBSCRIBE", "__key*__:*"]);
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
    sub
}

#[test]
fn keyspace_events_for_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = key_subscriber(&s);

    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&["SET", "k", "v"], &[("k", "set")]),
        (&["DEL", "k"], &[("k", "del")]),
        (&["DEL", "k"], &[]), // nothing deleted, nothing notified
        (&["SET", "r", "1"], &[("r", "set")]),
        (&["RENAME", "r", "r2"], &[("r", "rename_from"), ("r2", "rename_to")]),
        (&["LPUSH", "l", "a", "b"], &[("l", "lpush")]),
        (&["RPUSH", "l", "c"], &[("l", "rpush")]),
        (&["HSET", "h", "f", "v", "g", "w"], &[("h", "hset")]),
        (&["SADD", "s", "a", "b"], &[("s", "sadd")]),
        (&["SADD", "s", "a"], &[]), // no change, no event
        (&["ZADD", "z", "1", "a"], &[("z", "zadd")]),
        (&["INCRBY", "n", "5"], &[("n", "incrby")]),
        (&["EXPIRE", "n", "100"], &[("n", "expire")]),
        (&["PERSIST", "n"], &[("n", "persist")]),
        (&["APPEND", "k2", "x"], &[("k2", "append")]),
    ];
    for (cmd, events) in cases {
        let _: Value = val(&mut c, cmd);
        let want: String = events.iter().map(|(k, e)| key_events(0, k, e)).collect();
        eprintln!("reading the events of {cmd:?}"); // names the command if the read times out
        let got = if events.is_empty() { String::new() } else { sub.read_replies(events.len() * 2) };
        assert_eq!(got, want, "events for {cmd:?}");
    }
    // Nothing else was queued: the next frames belong to the next change.
    let _: Value = val(&mut c, &["SET", "marker", "1"]);
    assert_eq!(sub.read_replies(2), key_events(0, "marker", "set"));
    // Other databases use their own number.
    let _: Value = val(&mut c, &["SELECT", "3"]);
    let _: Value = val(&mut c, &["SET", "k", "v"]);
    assert_eq!(sub.read_replies(2), key_events(3, "k", "set"));
}

#[test]
fn keyspace_expired_event_from_active_expiry() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = key_subscriber(&s);
    expect_ok(&mut c, &["SET", "e", "v"]);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "e", "50"]), 1);
    assert_eq!(sub.read_replies(2), key_events(0, "e", "set"));
    assert_eq!(sub.read_replies(2), key_events(0, "e", "expire"));
    // No client touches the key: the expire cycle removes it and reports it.
    assert_eq!(sub.read_replies(2), key_events(0, "e", "expired"));
    assert_eq!(val(&mut c, &["EXISTS", "e"]), Value::Int(0));
}

#[test]
fn set_with_ttl_emits_expire_event() {
    // Redis 7.0's SET with EX/PX/EXAT/PXAT notifies `set` and then `expire` (generic class).
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = key_subscriber(&s);
    expect_ok(&mut c, &["SET", "ttl", "v", "EX", "100"]);
    expect_ok(&mut c, &["SET", "marker", "v"]);
    assert_eq!(
        sub.read_replies(4),
        key_events(0, "ttl", "set") + &key_events(0, "ttl", "expire"),
        "SET ... EX must notify set and expire"
    );
}

#[test]
fn keyspace_class_filtering() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut sub = key_subscriber(&s);
    // Off by default: nothing at all.
    let _: Value = val(&mut c, &["SET", "quiet", "1"]);
    // K with l: keyspace channel only, list events only.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kl"]);
    let _: Value = val(&mut c, &["SET", "k", "v"]);
    let _: Value = val(&mut c, &["HSET", "h", "f", "v"]);
    let _: Value = val(&mut c, &["DEL", "k"]);
    let _: Value = val(&mut c, &["LPUSH", "l", "a"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyspace@0__:l", "lpush"));
    let _: Value = val(&mut c, &["SADD", "s", "a"]);
    let _: Value = val(&mut c, &["RPOP", "l"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyspace@0__:l", "rpop"));
    // The list emptied: `del` is generic, not a list event.
    let _: Value = val(&mut c, &["RPUSH", "l", "b"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyspace@0__:l", "rpush"));
    // E with $: keyevent channel only, string events only.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    let _: Value = val(&mut c, &["LPUSH", "l", "x"]);
    let _: Value = val(&mut c, &["EXPIRE", "l", "100"]);
    let _: Value = val(&mut c, &["SET", "k", "v"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyevent@0__:set", "k"));
    // g: generic events (del, expire, rename) only.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kg"]);
    let _: Value = val(&mut c, &["SET", "k", "v2"]);
    let _: Value = val(&mut c, &["DEL", "k"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyspace@0__:k", "del"));
    // h, s, z each select their own type.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Ez"]);
    let _: Value = val(&mut c, &["HSET", "h", "g", "v"]);
    let _: Value = val(&mut c, &["SADD", "s", "b"]);
    let _: Value = val(&mut c, &["ZADD", "z", "1", "m"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyevent@0__:zadd", "z"));
    // x: expired only.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Kx"]);
    let _: Value = val(&mut c, &["SET", "t", "v", "PX", "20"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyspace@0__:t", "expired"));
    // Classes without K or E publish nothing.
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "A"]);
    let _: Value = val(&mut c, &["SET", "k", "v"]);
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "EA"]);
    let _: Value = val(&mut c, &["SET", "last", "v"]);
    sub.expect(&pmessage(2, "__key*__:*", "__keyevent@0__:set", "last"));
}

#[test]
fn keyspace_events_to_channel_subscriber_and_resp3() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut a = Resp::new(&s, 2);
    a.send(&["SUBSCRIBE", "__keyspace@0__:watched", "__keyevent@0__:del"]);
    a.read_replies(2);
    let mut b = Resp::new(&s, 3);
    b.send(&["SUBSCRIBE", "__keyevent@0__:hset"]);
    b.read_reply();
    let _: Value = val(&mut c, &["SET", "watched", "1"]);
    a.expect(&message(2, "__keyspace@0__:watched", "set"));
    let _: Value = val(&mut c, &["HSET", "h", "f", "v"]);
    b.expect(&message(3, "__keyevent@0__:hset", "h"));
    let _: Value = val(&mut c, &["DEL", "watched", "h"]);
    let got: BTreeSet<String> = (0..3).map(|_| a.read_reply()).collect();
    let want: BTreeSet<String> = [
        message(2, "__keyspace@0__:watched", "del"),
        message(2, "__keyevent@0__:del", "watched"),
        message(2, "__keyevent@0__:del", "h"),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------------------------
// Slow subscriber and the pub/sub output buffer limit
// ---------------------------------------------------------------------------------------------------------------

fn used_memory(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {info}"))
}

#[test]
fn slow_subscriber_is_disconnected_and_memory_stays_bounded() {
    let s = TestServer::start();
    let mut admin = s.conn();
    expect_ok(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 60"]);
    // A subscriber that never reads.
    let mut slow = Resp::new(&s, 2);
    let id_line = slow.cmd(&["CLIENT", "ID"]);
    let slow_id: u64 = id_line.trim().trim_start_matches(':').parse().expect("client id");
    slow.send(&["SUBSCRIBE", "firehose"]);
    slow.expect(&confirm(2, "subscribe", Some("firehose"), 1));
    let listed = |c: &mut redis::Connection| {
        let list: String = q(c, &["CLIENT", "LIST"]);
        list.lines().any(|l| l.starts_with(&format!("id={slow_id} ")))
    };
    assert!(listed(&mut admin));

    let mut publisher = s.conn();
    let mut normal = s.conn();
    let payload = "p".repeat(10 * 1024);
    let mut peak = 0;
    for i in 0..2000 {
        let n: i64 = q(&mut publisher, &["PUBLISH", "firehose", &payload]);
        assert!(n <= 1, "{n} receivers");
        if i % 50 == 0 {
            // The normal client keeps getting correct replies.
            let v = format!("value-{i}");
            expect_ok(&mut normal, &["SET", "k", &v]);
            assert_eq!(q::<String>(&mut normal, &["GET", "k"]), v);
            assert_eq!(q::<i64>(&mut normal, &["INCR", "counter"]), (i / 50 + 1) as i64);
            peak = peak.max(used_memory(&mut normal));
        }
    }
    peak = peak.max(used_memory(&mut normal));
    assert!(peak < 200 * 1024 * 1024, "used_memory reached {peak} bytes");

    // The subscriber went over the 1 MB hard limit: it is closed and gone from CLIENT LIST.
    let gone = wait_for(|| !listed(&mut admin));
    assert!(
        gone,
        "the slow subscriber (id {slow_id}) is still connected:\n{}",
        q::<String>(&mut admin, &["CLIENT", "LIST"])
    );
    // Reading it now yields at most what was in flight, then EOF or a reset.
    let mut stream = slow.r.into_inner();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => break true,
            Err(_) => break false,
        }
    };
    assert!(closed, "the slow subscriber's socket was not closed ({total} bytes read)");
    assert!(total < 2000 * payload.len(), "the slow subscriber received everything ({total} bytes)");
    // Nobody is subscribed any more, and the server still answers.
    assert_eq!(q::<i64>(&mut publisher, &["PUBLISH", "firehose", "x"]), 0);
    assert_eq!(q::<String>(&mut normal, &["PING"]), "PONG");
    assert!(used_memory(&mut normal) < 200 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------------------------------
// Sharded pub/sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH), the bytes Redis 7.0 sends
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn shard_channels_are_counted_apart_and_enter_subscribed_mode() {
    let s = TestServer::start();
    let mut a = Resp::new(&s, 2);
    a.send(&["SSUBSCRIBE", "a", "b"]);
    assert_eq!(a.read_replies(2), confirm(2, "ssubscribe", Some("a"), 1) + &confirm(2, "ssubscribe", Some("b"), 2));
    // A channel subscription counts from 1: shard channels are a count of their own.
    a.send(&["SUBSCRIBE", "c"]);
    a.expect(&confirm(2, "subscribe", Some("c"), 1));
    a.expect_after_cmd(&["GET", "x"], &subscribed_err("get"));
    a.send(&["SUNSUBSCRIBE"]);
    let got = a.read_replies(2);
    assert!(
        got == confirm(2, "sunsubscribe", Some("a"), 1) + &confirm(2, "sunsubscribe", Some("b"), 0)
            || got == confirm(2, "sunsubscribe", Some("b"), 1) + &confirm(2, "sunsubscribe", Some("a"), 0),
        "{got:?}"
    );
    a.send(&["SUNSUBSCRIBE"]);
    a.expect(&confirm(2, "sunsubscribe", None, 0));
    a.send(&["UNSUBSCRIBE", "c"]);
    a.expect(&confirm(2, "unsubscribe", Some("c"), 0));
    a.expect_after_cmd(&["GET", "x"], "$-1\r\n");
}

#[test]
fn spublish_reaches_shard_subscribers_only() {
    let s = TestServer::start();
    let mut sub = Resp::new(&s, 2);
    sub.send(&["SSUBSCRIBE", "orders"]);
    sub.expect(&confirm(2, "ssubscribe", Some("orders"), 1));
    let mut sub3 = Resp::new(&s, 3);
    sub3.send(&["SSUBSCRIBE", "orders"]);
    sub3.expect(&confirm(3, "ssubscribe", Some("orders"), 1));
    let mut plain = Resp::new(&s, 2);
    plain.send(&["SUBSCRIBE", "orders"]);
    plain.expect(&confirm(2, "subscribe", Some("orders"), 1));
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SPUBLISH", "orders", "hello"]), 2);
    sub.expect(&format!("*3\r\n{}{}{}", bulk("smessage"), bulk("orders"), bulk("hello")));
    sub3.expect(&format!(">3\r\n{}{}{}", bulk("smessage"), bulk("orders"), bulk("hello")));
    // PUBLISH reaches the channel subscriber only.
    assert_eq!(publish(&mut c, "orders", "x"), 1);
    plain.expect(&message(2, "orders", "x"));
    assert_eq!(q::<Vec<String>>(&mut c, &["PUBSUB", "SHARDCHANNELS"]), vec!["orders"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["PUBSUB", "SHARDCHANNELS", "z*"]), Vec::<String>::new());
    assert_eq!(
        val(&mut c, &["PUBSUB", "SHARDNUMSUB", "orders", "none"]),
        arr(vec![bb("orders"), i(2), bb("none"), i(0)])
    );
    assert_eq!(q::<Vec<String>>(&mut c, &["PUBSUB", "CHANNELS"]), vec!["orders"]);
    let info: String = q(&mut c, &["INFO", "stats"]);
    assert!(info.contains("pubsubshard_channels:1\r\n"), "{info}");
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.lines().any(|l| l.contains("sub=0 psub=0 ssub=1 ")), "{list}");
    drop(sub);
    drop(sub3);
    assert!(wait_for(|| q::<i64>(&mut c, &["SPUBLISH", "orders", "late"]) == 0), "closed subscribers leave");
}
