//! TAG.* through a real client: the index stays exact however keys change (DEL, overwrites, expiry, eviction,
//! RENAME, MOVE, COPY, SWAPDB, flushes), invalidation is atomic with its events and effects, cursors return every
//! key present throughout exactly once, and a random workload keeps the tag -> keys index equal to the inverse of
//! every key's own tags.

mod common;
use common::*;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

fn strs(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn sorted(v: &redis::Value) -> Vec<String> {
    let mut t = texts(v);
    t.sort();
    t
}

fn tag_keys(c: &mut redis::Connection, tag: &str) -> Vec<String> {
    sorted(&val(c, &["TAG.KEYS", tag]))
}

fn count(c: &mut redis::Connection, tag: &str) -> i64 {
    q(c, &["TAG.COUNT", tag])
}

#[test]
fn add_get_remove_count_and_list() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect(&mut c, &["SET", "page:1", "x"], OK);
    expect(&mut c, &["SET", "page:2", "y"], OK);
    expect(&mut c, &["TAG.ADD", "page:1", "user:7", "site", "user:7"], i(2));
    expect(&mut c, &["TAG.ADD", "page:1", "site"], i(0));
    expect(&mut c, &["TAG.ADD", "page:2", "site"], i(1));
    expect(&mut c, &["TAG.GET", "page:1"], bulks(&["site", "user:7"]));
    expect(&mut c, &["TAG.GET", "missing"], arr(vec![]));
    assert_eq!(tag_keys(&mut c, "site"), ["page:1", "page:2"]);
    // COUNT pages as CURSOR does, whatever the number of keys: the reply's shape is fixed by the options.
    expect(&mut c, &["TAG.KEYS", "site", "COUNT", "5"], arr(vec![b("0"), bulks(&["page:1", "page:2"])]));
    let cursor: String = "page:1".bytes().map(|x| format!("{x:02x}")).collect();
    expect(&mut c, &["TAG.KEYS", "site", "COUNT", "1"], arr(vec![b(&cursor), bulks(&["page:1"])]));
    expect(&mut c, &["TAG.KEYS", "site", "CURSOR", &cursor], arr(vec![b("0"), bulks(&["page:2"])]));
    assert_eq!(count(&mut c, "site"), 2);
    assert_eq!(count(&mut c, "nothing"), 0);
    expect(&mut c, &["TAG.LIST"], bulks(&["site", "user:7"]));
    expect(&mut c, &["TAG.LIST", "MATCH", "user:*"], bulks(&["user:7"]));
    expect(&mut c, &["TAG.REM", "page:1", "user:7", "other"], i(1));
    expect(&mut c, &["TAG.REM", "missing", "site"], i(0));
    expect(&mut c, &["TAG.LIST"], bulks(&["site"]));
    assert_eq!(info_int(&mut c, "memory", "tagged_keys"), 2);
    assert_eq!(info_int(&mut c, "memory", "tag_index_entries"), 2);
    assert!(info_int(&mut c, "memory", "tag_index_bytes") > 0);
    expect(&mut c, &["TAG.REM", "page:1", "site"], i(1));
    expect(&mut c, &["TAG.REM", "page:2", "site"], i(1));
    assert_eq!(info_int(&mut c, "memory", "tagged_keys"), 0);
    assert_eq!(info_int(&mut c, "memory", "tag_index_entries"), 0);
    assert_eq!(info_int(&mut c, "memory", "tag_index_bytes"), 0);
    expect(&mut c, &["TAG.LIST"], arr(vec![]));
}

#[test]
fn errors_and_limits() {
    let s = TestServer::start();
    let mut c = s.conn();
    expect_err(&mut c, &["TAG.ADD", "missing", "t"], "ERR no such key");
    expect(&mut c, &["SET", "k", "v"], OK);
    expect_err(&mut c, &["TAG.ADD", "k"], &arity("tag.add"));
    expect_err(&mut c, &["TAG.ADD", "k", ""], "ERR tags must not be empty");
    let long = "t".repeat(1025);
    expect_err(&mut c, &["TAG.ADD", "k", &long], "ERR tag is longer than 1024 bytes");
    let max = "t".repeat(1024);
    expect(&mut c, &["TAG.ADD", "k", &max], i(1));
    // 16 tags of 1 KB fill the per-key budget; one more byte is refused and nothing of that call is added.
    let tags: Vec<String> = (1..16).map(|n| format!("{n:04}{}", "x".repeat(1020))).collect();
    let mut args = vec!["TAG.ADD", "k"];
    args.extend(tags.iter().map(String::as_str));
    expect(&mut c, &args, i(15));
    expect_err(&mut c, &["TAG.ADD", "k", "a", "b"], "ERR a key carries at most 16384 bytes of tags");
    assert_eq!(texts(&val(&mut c, &["TAG.GET", "k"])).len(), 16);
    expect_err(&mut c, &["TAG.KEYS", "t", "CURSOR", "zz"], "ERR invalid cursor");
    expect_err(&mut c, &["TAG.KEYS", "t", "COUNT", "0"], SYNTAX);
    expect_err(&mut c, &["TAG.KEYS", "t", "CURSOR"], SYNTAX);
    expect_err(&mut c, &["TAG.LIST", "BOGUS", "1"], SYNTAX);
    expect_err(&mut c, &["TAG.EXPIRE", "t", "soon"], "ERR value is not an integer or out of range");
    expect_err(&mut c, &["TAG.COUNT"], &arity("tag.count"));
}

#[test]
fn the_index_follows_every_way_a_key_changes() {
    let s = TestServer::start();
    let mut c = s.conn();
    let tag = |c: &mut redis::Connection, key: &str| expect(c, &["TAG.ADD", key, "t"], i(1));
    for k in ["del", "unlink", "set", "keepttl", "hset", "incr", "expire", "ren", "ren-over", "mv", "cp"] {
        if k == "hset" {
            expect(&mut c, &["HSET", k, "f", "v"], i(1));
        } else {
            expect(&mut c, &["SET", k, "1"], OK);
        }
        tag(&mut c, k);
    }
    expect(&mut c, &["SET", "ren-dst", "old"], OK);
    tag(&mut c, "ren-dst");
    assert_eq!(count(&mut c, "t"), 12);

    expect(&mut c, &["DEL", "del"], i(1));
    expect(&mut c, &["UNLINK", "unlink"], i(1));
    // An overwrite drops the tags with the TTL; KEEPTTL keeps both; modifications keep them.
    expect(&mut c, &["SET", "set", "2"], OK);
    expect(&mut c, &["TAG.GET", "set"], arr(vec![]));
    expect(&mut c, &["SET", "keepttl", "2", "KEEPTTL"], OK);
    expect(&mut c, &["TAG.GET", "keepttl"], bulks(&["t"]));
    expect(&mut c, &["HSET", "hset", "g", "w"], i(1));
    expect(&mut c, &["INCR", "incr"], i(2));
    expect(&mut c, &["TAG.GET", "incr"], bulks(&["t"]));
    // RENAME carries the tags; an overwritten destination loses its own.
    expect(&mut c, &["RENAME", "ren", "renamed"], OK);
    expect(&mut c, &["RENAME", "ren-over", "ren-dst"], OK);
    expect(&mut c, &["TAG.GET", "renamed"], bulks(&["t"]));
    expect(&mut c, &["TAG.ADD", "renamed", "only-renamed"], i(1));
    // MOVE carries them to the other database; COPY copies them.
    expect(&mut c, &["MOVE", "mv", "1"], i(1));
    expect(&mut c, &["COPY", "cp", "cp2"], i(1));
    expect(&mut c, &["COPY", "cp", "cp1", "DB", "1"], i(1));
    expect(&mut c, &["PEXPIRE", "expire", "20"], i(1));
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(tag_keys(&mut c, "t"), ["cp", "cp2", "hset", "incr", "keepttl", "ren-dst", "renamed"]);
    assert_eq!(tag_keys(&mut c, "only-renamed"), ["renamed"]);
    expect(&mut c, &["EXISTS", "expire"], i(0));
    assert_eq!(count(&mut c, "t"), 7);

    expect(&mut c, &["SELECT", "1"], OK);
    assert_eq!(tag_keys(&mut c, "t"), ["cp1", "mv"]);
    // SWAPDB: the index travels with the data.
    expect(&mut c, &["SWAPDB", "0", "1"], OK);
    assert_eq!(tag_keys(&mut c, "t"), ["cp", "cp2", "hset", "incr", "keepttl", "ren-dst", "renamed"]);
    expect(&mut c, &["RENAME", "cp", "cp-again"], OK);
    expect(&mut c, &["TAG.GET", "cp-again"], bulks(&["t"]));
    expect(&mut c, &["FLUSHDB"], OK);
    assert_eq!(count(&mut c, "t"), 0);
    expect(&mut c, &["SELECT", "0"], OK);
    assert_eq!(tag_keys(&mut c, "t"), ["cp1", "mv"]);
    expect(&mut c, &["FLUSHALL"], OK);
    assert_eq!(count(&mut c, "t"), 0);
    assert_eq!(info_int(&mut c, "memory", "tagged_keys"), 0);
    assert_eq!(info_int(&mut c, "memory", "tag_index_entries"), 0);
}

#[test]
fn invalidate_deletes_atomically_with_events_watch_and_effects() {
    let s = TestServer::start();
    let mut c = s.conn();
    for n in 0..50 {
        let k = format!("k{n}");
        expect(&mut c, &["SET", &k, "v"], OK);
        expect(&mut c, &["TAG.ADD", &k, if n % 2 == 0 { "even" } else { "odd" }, "all"], i(2));
    }
    expect(&mut c, &["SET", "untagged", "v"], OK);
    expect(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"], OK);
    let mut sub = Resp::new(&s, 2);
    sub.send(&["SUBSCRIBE", "__keyspace@0__:k3"]);
    sub.expect("*3\r\n$9\r\nsubscribe\r\n$17\r\n__keyspace@0__:k3\r\n:1\r\n");
    let mut watcher = s.conn();
    expect(&mut watcher, &["WATCH", "k3"], OK);
    let mut consumer = s.srv.effects.subscribe();

    expect(&mut c, &["TAG.INVALIDATE", "odd", "nothing"], i(25));
    assert_eq!(sub.read_reply(), "*3\r\n$7\r\nmessage\r\n$17\r\n__keyspace@0__:k3\r\n$3\r\ndel\r\n");
    expect(&mut watcher, &["MULTI"], OK);
    expect(&mut watcher, &["SET", "k3", "again"], redis::Value::SimpleString("QUEUED".into()));
    expect(&mut watcher, &["EXEC"], redis::Value::Nil);
    assert_eq!(count(&mut c, "odd"), 0);
    assert_eq!(count(&mut c, "all"), 25);
    expect(&mut c, &["DBSIZE"], i(26));
    // One effect: a DEL of exactly the keys deleted.
    let g = consumer.try_next().expect("ok").expect("logged");
    let cmds: Vec<Vec<String>> =
        g.commands().iter().map(|a| a.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect()).collect();
    let dels: Vec<&Vec<String>> = cmds.iter().filter(|a| a[0] != "SELECT").collect();
    assert_eq!(dels.len(), 1);
    assert_eq!(dels[0][0], "DEL");
    let mut want: Vec<String> = (0..50).filter(|n| n % 2 == 1).map(|n| format!("k{n}")).collect();
    want.sort();
    let mut got = dels[0][1..].to_vec();
    got.sort();
    assert_eq!(got, want);
    assert!(consumer.try_next().expect("ok").is_none());

    // Inside MULTI and from Lua.
    expect(&mut c, &["MULTI"], OK);
    expect(&mut c, &["TAG.INVALIDATE", "even"], redis::Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["DBSIZE"], redis::Value::SimpleString("QUEUED".into()));
    expect(&mut c, &["EXEC"], arr(vec![i(25), i(1)]));
    expect(&mut c, &["SET", "s1", "v"], OK);
    let n: i64 = q(
        &mut c,
        &["EVAL", "redis.call('TAG.ADD', KEYS[1], 'lua') return redis.call('TAG.INVALIDATE', 'lua')", "1", "s1"],
    );
    assert_eq!(n, 1);
    expect(&mut c, &["EXISTS", "s1"], i(0));
    expect(&mut c, &["TAG.INVALIDATE", "all"], i(0));
}

#[test]
fn keys_invalidated_are_unindexed_before_the_clients_next_command_and_a_new_key_starts_untagged() {
    let s = TestServer::start();
    let mut c = s.conn();
    for i in 0..300 {
        let _: () = q(&mut c, &["CACHE.SET", &format!("k{i}"), "v", "TAGS", "2", "a", &format!("b{}", i % 3)]);
    }
    assert_eq!(count(&mut c, "b0"), 100);
    assert_eq!(q::<i64>(&mut c, &["TAG.INVALIDATE", "a"]), 300);
    // The deleted keys left their other tags once the reply was written, before this client's next command.
    assert_eq!((count(&mut c, "b0"), count(&mut c, "b1")), (0, 0));
    assert_eq!(texts(&val(&mut c, &["TAG.LIST"])), Vec::<String>::new());
    assert_eq!((info_int(&mut c, "memory", "tagged_keys"), info_int(&mut c, "memory", "tag_index_entries")), (0, 0));
    // Inside MULTI the unindexing waits for EXEC: a key recreated meanwhile starts untagged, or with its new tags
    // only, and keeps them afterwards.
    for i in 0..3 {
        let _: () = q(&mut c, &["CACHE.SET", &format!("k{i}"), "v", "TAGS", "2", "a", "old"]);
    }
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["TAG.INVALIDATE", "a"]);
    let _: () = q(&mut c, &["CACHE.SET", "k0", "new", "TAGS", "1", "fresh"]);
    let _: () = q(&mut c, &["SET", "k1", "plain"]);
    let _: () = q(&mut c, &["TAG.GET", "k0"]);
    let _: () = q(&mut c, &["TAG.GET", "k1"]);
    let _: () = q(&mut c, &["TAG.KEYS", "old"]);
    expect(&mut c, &["EXEC"], arr(vec![i(3), OK, OK, bulks(&["fresh"]), arr(vec![]), arr(vec![])]));
    assert_eq!(texts(&val(&mut c, &["TAG.GET", "k0"])), strs(&["fresh"]));
    assert_eq!((count(&mut c, "old"), count(&mut c, "a"), count(&mut c, "fresh")), (0, 0, 1));
    assert_eq!((info_int(&mut c, "memory", "tagged_keys"), info_int(&mut c, "memory", "tag_index_entries")), (1, 1));
    // The same from a script.
    let _: () = q(&mut c, &["CACHE.SET", "k5", "v", "TAGS", "2", "a", "old"]);
    let script = "redis.call('TAG.INVALIDATE', 'a'); redis.call('CACHE.SET', 'k5', 'v', 'TAGS', '1', 'new'); return redis.call('TAG.GET', 'k5')";
    expect(&mut c, &["EVAL", script, "0"], bulks(&["new"]));
    assert_eq!((count(&mut c, "old"), count(&mut c, "new")), (0, 1));
}

#[test]
fn expire_sets_a_ttl_on_every_key_of_the_tag() {
    let s = TestServer::start();
    let mut c = s.conn();
    for k in ["a", "b", "c"] {
        expect(&mut c, &["SET", k, "v"], OK);
        expect(&mut c, &["TAG.ADD", k, "soft"], i(1));
    }
    let mut consumer = s.srv.effects.subscribe();
    expect(&mut c, &["TAG.EXPIRE", "soft", "100"], i(3));
    let ttl: i64 = q(&mut c, &["TTL", "b"]);
    assert!((99..=100).contains(&ttl), "{ttl}");
    let g = consumer.try_next().expect("ok").expect("logged");
    let names: Vec<String> = g.commands().iter().map(|a| String::from_utf8_lossy(&a[0]).into_owned()).collect();
    assert_eq!(names.iter().filter(|n| *n == "PEXPIREAT").count(), 3);
    expect(&mut c, &["TAG.EXPIRE", "soft", "0"], i(3));
    expect(&mut c, &["DBSIZE"], i(0));
    expect(&mut c, &["TAG.EXPIRE", "soft", "10"], i(0));
}

#[test]
fn eviction_keeps_the_index_exact() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-random"]);
    let mut c = s.conn();
    let value = "v".repeat(2000);
    for n in 0..3000 {
        let k = format!("e{n}");
        expect(&mut c, &["SET", &k, &value], OK);
        expect(&mut c, &["TAG.ADD", &k, "bulk"], i(1));
    }
    let used = info_int(&mut c, "memory", "used_memory");
    expect(&mut c, &["CONFIG", "SET", "maxmemory", &(used - 3_000_000).to_string()], OK);
    for n in 0..200 {
        // Writes trigger eviction.
        expect(&mut c, &["SET", &format!("w{n}"), &value], OK);
    }
    // Every command evicts first while memory is over the limit (the KEYS reply and the script's table below
    // take some): lift it so the three readings see one keyspace.
    expect(&mut c, &["CONFIG", "SET", "maxmemory", "0"], OK);
    let size: i64 = q(&mut c, &["DBSIZE"]);
    let tagged = count(&mut c, "bulk");
    assert!(tagged < 3000, "nothing was evicted ({tagged})");
    let left: i64 = q(&mut c, &["EVAL", "return #redis.call('KEYS', 'e*')", "0"]);
    assert_eq!(tagged, left, "dbsize {size}");
    assert_eq!(tag_keys(&mut c, "bulk").len() as i64, left);
}

#[test]
fn cursors_return_every_key_present_throughout_exactly_once() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut other = s.conn();
    let mut stable = BTreeSet::new();
    for n in 0..1000 {
        let k = format!("key:{n:04}");
        expect(&mut c, &["SET", &k, "v"], OK);
        expect(&mut c, &["TAG.ADD", &k, "paged"], i(1));
        stable.insert(k);
    }
    let mut seen = BTreeMap::<String, usize>::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let reply = val(&mut c, &["TAG.KEYS", "paged", "CURSOR", &cursor, "COUNT", "37"]);
        let parts = match reply {
            redis::Value::Array(p) => p,
            other => panic!("{other:?}"),
        };
        cursor = text(&parts[0]);
        for k in texts(&parts[1]) {
            *seen.entry(k).or_default() += 1;
        }
        // Meanwhile keys come and go under the same tag.
        let churn = format!("churn:{round}");
        expect(&mut other, &["SET", &churn, "v"], OK);
        expect(&mut other, &["TAG.ADD", &churn, "paged"], i(1));
        if round % 2 == 0 {
            expect(&mut other, &["DEL", &format!("churn:{}", round / 2)], i(1));
        }
        round += 1;
        if cursor == "0" {
            break;
        }
    }
    for k in &stable {
        assert_eq!(seen.get(k), Some(&1), "{k}");
    }
    assert!(seen.values().all(|n| *n == 1));
    // TAG.LIST pages the same way.
    for n in 0..30 {
        expect(&mut c, &["TAG.ADD", "key:0001", &format!("t{n:02}")], i(1));
    }
    let mut tags = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let parts = match val(&mut c, &["TAG.LIST", "MATCH", "t*", "CURSOR", &cursor, "COUNT", "7"]) {
            redis::Value::Array(p) => p,
            other => panic!("{other:?}"),
        };
        cursor = text(&parts[0]);
        tags.extend(texts(&parts[1]));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(tags, (0..30).map(|n| format!("t{n:02}")).collect::<Vec<_>>());
}

/// Random writes of every kind on a small keyspace spread over all shards; afterwards, each tag's keys must be
/// exactly the existing keys whose own tags name it.
#[test]
fn a_random_workload_keeps_the_index_equal_to_the_keys_tags() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let tags = ["a", "b", "c", "d"];
    for step in 0..4000 {
        let k = format!("r{}", rng.gen_range(0..120));
        let k2 = format!("r{}", rng.gen_range(0..120));
        let t = tags[rng.gen_range(0..tags.len())];
        let args: Vec<String> = match rng.gen_range(0..12) {
            0 | 1 => strs(&["SET", &k, "v"]),
            2 | 3 => strs(&["TAG.ADD", &k, t]),
            4 => strs(&["TAG.REM", &k, t]),
            5 => strs(&["DEL", &k]),
            6 => strs(&["RENAME", &k, &k2]),
            7 => strs(&["COPY", &k, &k2, "REPLACE"]),
            8 => strs(&["PEXPIRE", &k, &rng.gen_range(1..30).to_string()]),
            9 => strs(&["APPEND", &k, "x"]),
            10 => strs(&["SET", &k, "w", "KEEPTTL"]),
            11 if step % 50 == 0 => strs(&["TAG.INVALIDATE", t]),
            _ => strs(&["EXPIRE", &k, "100"]),
        };
        // Errors (RENAME of a missing key, TAG.ADD on one) are part of the mix.
        let mut cmd = redis::cmd(&args[0]);
        cmd.arg(&args[1..]);
        let _ = cmd.query::<redis::Value>(&mut c);
    }
    std::thread::sleep(std::time::Duration::from_millis(40));
    let keys = sorted(&val(&mut c, &["KEYS", "*"]));
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in &keys {
        for t in texts(&val(&mut c, &["TAG.GET", k])) {
            want.entry(t).or_default().push(k.clone());
        }
    }
    let listed = sorted(&val(&mut c, &["TAG.LIST"]));
    // A tag whose keys all expired but are not reclaimed yet may still be listed; its key list is empty.
    for t in &listed {
        assert_eq!(tag_keys(&mut c, t), want.get(t).cloned().unwrap_or_default(), "tag {t}");
    }
    for t in want.keys() {
        assert!(listed.contains(t), "{t} not listed");
    }
    assert!(!want.is_empty());
}
