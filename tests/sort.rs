//! SORT and SORT_RO: sorting lists, sets and sorted sets numerically and by bytes, BY weights from strings and hash
//! fields, GET, LIMIT, STORE (its effect, events, blocked clients, WATCH), the ACL limits on BY, GET and STORE,
//! RESP2 and RESP3, and concurrent SORTs beside writers (the database-wide lock plan). Replies are Redis 7.0's; the
//! byte-for-byte comparison lives in tests/differential/cases/sort.txt.

mod common;
use common::*;
use redis::Value;
use std::io::Read;
use std::time::Duration;

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";
const NOPERM_KEY: &str = "NOPERM this user has no permissions to access one of the keys used as arguments";

fn lrange(c: &mut redis::Connection, key: &str) -> Vec<String> {
    q(c, &["LRANGE", key, "0", "-1"])
}

fn expect_ok(c: &mut redis::Connection, args: &[&str]) {
    expect(c, args, OK);
}

/// A connection authenticated as `user` (whose password is ignored: the users here are `nopass`).
fn conn_as(s: &TestServer, user: &str) -> redis::Connection {
    let mut c = s.conn();
    expect(&mut c, &["AUTH", user, "x"], OK);
    c
}

#[test]
fn sorts_lists_sets_and_sorted_sets() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["RPUSH", "l", "3", "1", "2", "10", "1.5", "-4"]);
    expect(&mut c, &["SORT", "l"], bulks(&["-4", "1", "1.5", "2", "3", "10"]));
    expect(&mut c, &["SORT", "l", "DESC"], bulks(&["10", "3", "2", "1.5", "1", "-4"]));
    expect(&mut c, &["SORT", "l", "ALPHA"], bulks(&["-4", "1", "1.5", "10", "2", "3"]));
    expect(&mut c, &["SORT_RO", "l", "LIMIT", "1", "2"], bulks(&["1", "1.5"]));
    expect(&mut c, &["SORT", "l", "LIMIT", "-5", "-1"], bulks(&["-4", "1", "1.5", "2", "3", "10"]));
    expect(&mut c, &["SORT", "l", "LIMIT", "6", "1"], bulks(&[]));
    // Equal scores fall back to the elements' bytes.
    let _: i64 = q(&mut c, &["RPUSH", "ties", "1.0", "1", "01", "+1"]);
    expect(&mut c, &["SORT", "ties"], bulks(&["+1", "01", "1", "1.0"]));

    let _: i64 = q(&mut c, &["SADD", "si", "5", "3", "10", "-1"]);
    expect(&mut c, &["SORT", "si"], bulks(&["-1", "3", "5", "10"]));
    expect(&mut c, &["SORT", "si", "BY", "nosort"], bulks(&["-1", "3", "5", "10"]));
    let _: i64 = q(&mut c, &["SADD", "sh", "pear", "apple", "fig"]);
    expect(&mut c, &["SORT", "sh", "ALPHA", "DESC"], bulks(&["pear", "fig", "apple"]));

    let _: i64 = q(&mut c, &["ZADD", "z", "3", "c", "1", "a", "2", "b"]);
    assert_eq!(encoding(&mut c, "z"), "listpack");
    expect(&mut c, &["SORT", "z", "BY", "nosort", "DESC"], bulks(&["c", "b", "a"]));
    expect(&mut c, &["SORT", "z", "BY", "nosort", "LIMIT", "1", "5"], bulks(&["b", "c"]));
    expect(&mut c, &["SORT", "z", "ALPHA", "DESC", "LIMIT", "0", "1"], bulks(&["c"]));
    // Redis converts every sorted set it sorts to the skiplist encoding.
    assert_eq!(encoding(&mut c, "z"), "skiplist");
    expect(&mut c, &["ZRANGE", "z", "0", "-1"], bulks(&["a", "b", "c"]));

    expect(&mut c, &["SORT", "nokey"], bulks(&[]));
    let _: i64 = q(&mut c, &["RPUSH", "bad", "1", "x"]);
    expect_err(&mut c, &["SORT", "bad"], NOT_DOUBLE);
    expect(&mut c, &["SORT", "bad", "BY", "nosort"], bulks(&["1", "x"]));
    expect_ok(&mut c, &["SET", "str", "x"]);
    expect_err(&mut c, &["SORT", "str"], WRONGTYPE);
    expect_err(&mut c, &["SORT", "str", "BADOPT"], SYNTAX);
    expect_err(&mut c, &["SORT", "l", "LIMIT", "x", "1"], NOT_INT);
    expect_err(&mut c, &["SORT_RO", "l", "STORE", "d"], SYNTAX);
    assert_eq!(err(&mut c, &["SORT"]), arity("sort"));
    assert_eq!(err(&mut c, &["SORT_RO"]), arity("sort_ro"));
}

#[test]
fn by_and_get_read_strings_and_hash_fields() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["RPUSH", "ids", "1", "2", "3"]);
    expect_ok(&mut c, &["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
    let _: i64 = q(&mut c, &["HSET", "h_1", "name", "one", "rank", "b"]);
    let _: i64 = q(&mut c, &["HSET", "h_2", "name", "two", "rank", "c"]);
    let _: i64 = q(&mut c, &["HSET", "h_3", "rank", "a"]);
    expect(&mut c, &["SORT", "ids", "BY", "w_*"], bulks(&["2", "3", "1"]));
    expect(&mut c, &["SORT", "ids", "BY", "h_*->rank", "ALPHA"], bulks(&["3", "1", "2"]));
    expect(
        &mut c,
        &["SORT", "ids", "BY", "w_*", "DESC", "GET", "#", "GET", "h_*->name", "GET", "w_*"],
        arr(vec![b("1"), b("one"), b("30"), b("3"), NIL, b("20"), b("2"), b("two"), b("10")]),
    );
    // A weight that is missing sorts as 0 (numeric) or first (ALPHA); a GET that finds nothing is nil.
    expect(&mut c, &["SORT", "ids", "BY", "nokey_*", "DESC"], bulks(&["3", "2", "1"]));
    expect(&mut c, &["SORT", "ids", "BY", "nokey_*", "ALPHA", "DESC"], bulks(&["1", "2", "3"]));
    expect(&mut c, &["SORT", "ids", "GET", "nostar"], arr(vec![NIL, NIL, NIL]));
    // BY without `*` keeps the list's order.
    expect(&mut c, &["SORT", "ids", "BY", "nosort", "DESC", "LIMIT", "0", "2"], bulks(&["3", "2"]));

    // RESP3: the same array, nil as RESP3 null.
    let mut r = Resp::connect3(s.port);
    assert_eq!(r.cmd(&["SORT", "ids", "GET", "h_*->name", "LIMIT", "1", "2"]), "*2\r\n$3\r\ntwo\r\n_\r\n");
    assert_eq!(r.cmd(&["SORT", "ids", "BY", "w_*"]), "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
}

#[test]
fn store_replaces_the_destination_with_a_list() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["RPUSH", "l", "3", "1", "2"]);
    expect_ok(&mut c, &["SET", "dst", "string"]);
    let _: i64 = q(&mut c, &["EXPIRE", "dst", "100"]);
    expect(&mut c, &["SORT", "l", "STORE", "dst"], i(3));
    assert_eq!(q::<String>(&mut c, &["TYPE", "dst"]), "list");
    assert_eq!(q::<i64>(&mut c, &["TTL", "dst"]), -1);
    assert_eq!(lrange(&mut c, "dst"), ["1", "2", "3"]);
    // With GET the count is of the values stored; a missing value is stored as "".
    expect(&mut c, &["SORT", "l", "GET", "#", "GET", "nokey_*", "STORE", "dst"], i(6));
    assert_eq!(lrange(&mut c, "dst"), ["1", "", "2", "", "3", ""]);
    // The source may be the destination.
    expect(&mut c, &["SORT", "l", "DESC", "STORE", "l"], i(3));
    assert_eq!(lrange(&mut c, "l"), ["3", "2", "1"]);
    // An empty result deletes the destination.
    expect(&mut c, &["SORT", "l", "LIMIT", "5", "1", "STORE", "dst"], i(0));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    // A failed sort stores nothing.
    let _: i64 = q(&mut c, &["RPUSH", "bad", "x"]);
    expect_err(&mut c, &["SORT", "bad", "STORE", "dst"], NOT_DOUBLE);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    // A set's constant-BY result is sorted by bytes when stored.
    let _: i64 = q(&mut c, &["SADD", "s", "b", "c", "a"]);
    expect(&mut c, &["SORT", "s", "BY", "nosort", "STORE", "dst"], i(3));
    assert_eq!(lrange(&mut c, "dst"), ["a", "b", "c"]);
}

#[test]
fn store_is_logged_as_sent_and_reads_are_not_logged() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["RPUSH", "l", "3", "1", "2"]);
    let mut consumer = s.srv.effects.subscribe();
    expect(&mut c, &["SORT", "l"], bulks(&["1", "2", "3"]));
    expect(&mut c, &["SORT", "nokey", "STORE", "nodst"], i(0));
    assert!(consumer.try_next().expect("ok").is_none(), "a SORT that changed nothing is not logged");
    expect(&mut c, &["SORT", "l", "DESC", "STORE", "dst"], i(3));
    let g = consumer.try_next().expect("ok").expect("one group");
    let cmds: Vec<Vec<String>> = g
        .commands()
        .into_iter()
        .map(|a| a.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect())
        .filter(|a: &Vec<String>| a[0] != "SELECT")
        .collect();
    assert_eq!(cmds, [["SORT", "l", "DESC", "STORE", "dst"]]);
    expect(&mut c, &["SORT", "nokey", "STORE", "dst"], i(0));
    let g = consumer.try_next().expect("ok").expect("one group");
    assert_eq!(g.commands().last().map(|a| a[0].clone()), Some(bytes::Bytes::from_static(b"SORT")));
}

#[test]
fn store_notifies_serves_blocked_clients_and_touches_watchers() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let _: i64 = q(&mut c, &["RPUSH", "l", "2", "1"]);
    let mut sub = Resp::new(&s, 2);
    sub.send(&["PSUBSCRIBE", "__key*__:*"]);
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
    let events = |key: &str, event: &str| {
        let m = |ch: String, msg: &str| {
            format!("*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n${}\r\n{ch}\r\n${}\r\n{msg}\r\n", ch.len(), msg.len())
        };
        m(format!("__keyspace@0__:{key}"), event) + &m(format!("__keyevent@0__:{event}"), key)
    };
    expect(&mut c, &["SORT", "l", "STORE", "d"], i(2));
    assert_eq!(sub.read_replies(2), events("d", "sortstore"));
    expect(&mut c, &["SORT", "nokey", "STORE", "d"], i(0));
    assert_eq!(sub.read_replies(2), events("d", "del"));
    expect(&mut c, &["SORT", "nokey", "STORE", "d"], i(0));
    expect_ok(&mut c, &["SET", "marker", "1"]);
    assert_eq!(sub.read_replies(2), events("marker", "set"), "an empty result on a missing key notifies nothing");

    // A client blocked on the destination is served by the stored list.
    let port = s.port;
    let waiter = std::thread::spawn(move || {
        let mut w =
            redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client").get_connection().expect("c");
        redis::cmd("BLPOP").arg("blocked").arg("5").query::<Vec<String>>(&mut w).expect("BLPOP")
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !q::<String>(&mut c, &["INFO", "clients"]).contains("blocked_clients:1") {
        assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    expect(&mut c, &["SORT", "l", "STORE", "blocked"], i(2));
    assert_eq!(waiter.join().expect("waiter"), ["blocked", "1"]);
    assert_eq!(lrange(&mut c, "blocked"), ["2"]);

    // WATCH sees the destination change.
    let mut w = s.conn();
    expect_ok(&mut w, &["WATCH", "d"]);
    expect_ok(&mut w, &["MULTI"]);
    let _: Value = val(&mut w, &["GET", "marker"]);
    expect(&mut c, &["SORT", "l", "STORE", "d"], i(2));
    expect(&mut w, &["EXEC"], NIL);
}

#[test]
fn acl_limits_by_get_and_store() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: i64 = q(&mut c, &["RPUSH", "l", "2", "1"]);
    expect_ok(&mut c, &["SET", "w_1", "5"]);
    expect_ok(&mut c, &["ACL", "SETUSER", "lonly", "on", "nopass", "~l*", "+@all"]);
    expect_ok(&mut c, &["ACL", "SETUSER", "reader", "on", "nopass", "%R~*", "%W~out*", "+@all"]);
    let mut u = conn_as(&s, "lonly");
    expect_err(
        &mut u,
        &["SORT", "l", "BY", "w_*"],
        "ERR BY option of SORT denied due to insufficient ACL permissions.",
    );
    expect_err(
        &mut u,
        &["SORT", "l", "GET", "#"],
        "ERR GET option of SORT denied due to insufficient ACL permissions.",
    );
    // The error of the first bad option wins.
    expect_err(&mut u, &["SORT", "l", "BADOPT", "GET", "#"], SYNTAX);
    expect(&mut u, &["SORT", "l", "BY", "nosort"], bulks(&["2", "1"]));
    expect_err(&mut u, &["SORT", "l", "STORE", "d"], NOPERM_KEY);
    expect(&mut u, &["SORT", "l", "STORE", "lout"], i(2));
    expect_err(&mut u, &["SORT", "other"], NOPERM_KEY);

    let mut r = conn_as(&s, "reader");
    expect(&mut r, &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"], arr(vec![b("2"), NIL, b("1"), b("5")]));
    expect_err(&mut r, &["SORT", "l", "BY", "w_*", "STORE", "d"], NOPERM_KEY);
    expect(&mut r, &["SORT", "l", "BY", "w_*", "STORE", "out1"], i(2));
    expect(&mut r, &["SORT_RO", "l", "GET", "w_*"], arr(vec![b("5"), NIL]));
}

/// SORT locks the whole database (its BY and GET keys are only known from the data) while writers change the keys
/// it reads and writes on other connections: nothing deadlocks, every reply is whole. Debug builds assert the
/// lock order on every shard a command takes.
#[test]
fn concurrent_sorts_and_writers() {
    let s = TestServer::start();
    let mut c = s.conn();
    let ids: Vec<String> = (0..50).map(|n| n.to_string()).collect();
    let mut rpush = vec!["RPUSH", "ids"];
    rpush.extend(ids.iter().map(|s| s.as_str()));
    let _: i64 = q(&mut c, &rpush);
    let port = s.port;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .expect("client")
                    .get_connection()
                    .expect("c");
                for n in 0..200 {
                    let k = (n * 7 + t) % 50;
                    if t % 2 == 0 {
                        let _: () = redis::cmd("SET").arg(format!("w_{k}")).arg(n).query(&mut c).expect("SET");
                        let _: () =
                            redis::cmd("HSET").arg(format!("h_{k}")).arg("f").arg(n).query(&mut c).expect("HSET");
                    } else {
                        let v: Vec<Option<String>> = redis::cmd("SORT")
                            .arg("ids")
                            .arg("BY")
                            .arg("w_*")
                            .arg("GET")
                            .arg("#")
                            .arg("GET")
                            .arg("h_*->f")
                            .query(&mut c)
                            .expect("SORT");
                        assert_eq!(v.len(), 100);
                        let stored: i64 = redis::cmd("SORT")
                            .arg("ids")
                            .arg("BY")
                            .arg("h_*->f")
                            .arg("LIMIT")
                            .arg("0")
                            .arg("10")
                            .arg("STORE")
                            .arg(format!("out{t}"))
                            .query(&mut c)
                            .expect("SORT STORE");
                        assert_eq!(stored, 10);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(q::<i64>(&mut c, &["LLEN", "out1"]), 10);
    // Inside MULTI, SORT takes every shard for the transaction.
    expect_ok(&mut c, &["MULTI"]);
    let _: Value = val(&mut c, &["SORT", "ids", "BY", "w_*", "LIMIT", "0", "1", "STORE", "m"]);
    let _: Value = val(&mut c, &["LLEN", "m"]);
    expect(&mut c, &["EXEC"], arr(vec![i(1), i(1)]));
    // The connection is still usable afterwards.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    std::io::Write::write_all(&mut raw, b"PING\r\n").expect("write");
    let mut buf = [0u8; 7];
    raw.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"+PONG\r\n");
}
