//! GEO commands through a real client: positions stored as sorted-set scores, searches by radius and box in every
//! unit, STORE / STOREDIST (events, effects, ACL on the destination, concurrent writers), MULTI and Lua, and
//! agreement with an independent haversine on a random point cloud. Byte-for-byte agreement with Redis 7.0,
//! including the order of unsorted searches, is checked by tests/differential/cases/geo.txt.

mod common;
use common::*;
use redis::Value;

fn expect_ok(c: &mut redis::Connection, args: &[&str]) {
    expect(c, args, OK);
}

fn sicily(c: &mut redis::Connection) {
    let added: i64 =
        q(c, &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_eq!(added, 2);
}

#[test]
fn positions_distances_and_hashes() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    assert_eq!(q::<String>(&mut c, &["TYPE", "Sicily"]), "zset");
    assert_eq!(q::<String>(&mut c, &["ZSCORE", "Sicily", "Palermo"]), "3479099956230698");
    expect(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania"], b("166274.1516"));
    expect(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "km"], b("166.2742"));
    expect(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "mi"], b("103.3182"));
    expect(&mut c, &["GEODIST", "Sicily", "Palermo", "nobody"], NIL);
    expect(
        &mut c,
        &["GEOHASH", "Sicily", "Palermo", "Catania", "nobody"],
        arr(vec![b("sqc8b49rny0"), b("sqdtr74hyu0"), NIL]),
    );
    expect(
        &mut c,
        &["GEOPOS", "Sicily", "Palermo", "nobody"],
        arr(vec![arr(vec![b("13.36138933897018433"), b("38.11555639549629859")]), Value::Nil]),
    );
    expect_err(
        &mut c,
        &["GEOADD", "Sicily", "181", "0", "x"],
        "ERR invalid longitude,latitude pair 181.000000,0.000000",
    );
    expect_err(&mut c, &["GEOADD", "Sicily", "NX", "XX", "1", "1", "x"], SYNTAX);
    expect_err(
        &mut c,
        &["GEODIST", "Sicily", "a", "b", "yards"],
        "ERR unsupported unit provided. please use M, KM, FT, MI",
    );
    expect_ok(&mut c, &["SET", "str", "x"]);
    expect_err(&mut c, &["GEOPOS", "str", "a"], WRONGTYPE);
    expect_err(&mut c, &["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"], WRONGTYPE);

    // NX / XX / CH as ZADD has them.
    expect(&mut c, &["GEOADD", "Sicily", "NX", "13.5", "38", "Palermo", "14", "37", "Enna"], i(1));
    expect(&mut c, &["GEOADD", "Sicily", "XX", "CH", "13.5", "38", "Palermo", "1", "1", "Nowhere"], i(1));
    expect(&mut c, &["ZCARD", "Sicily"], i(3));

    // RESP3 coordinates are doubles with Redis's digits.
    let mut r3 = Resp::new(&s, 3);
    assert_eq!(
        r3.cmd(&["GEOPOS", "Sicily", "Catania"]),
        "*1\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n"
    );
}

#[test]
fn searches_by_radius_and_box() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    expect(&mut c, &["GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC"], bulks(&["Catania", "Palermo"]));
    expect(&mut c, &["GEORADIUS", "Sicily", "15", "37", "100", "km"], bulks(&["Catania"]));
    expect(
        &mut c,
        &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "DESC", "WITHDIST"],
        arr(vec![arr(vec![b("Palermo"), b("190.4424")]), arr(vec![b("Catania"), b("56.4413")])]),
    );
    expect(
        &mut c,
        &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "ASC", "COUNT", "1", "WITHHASH"],
        arr(vec![arr(vec![b("Palermo"), i(3479099956230698)])]),
    );
    expect(
        &mut c,
        &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "100", "400", "km"],
        bulks(&["Catania"]),
    );
    expect(&mut c, &["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "1", "m"], bulks(&["Palermo"]));
    expect_err(
        &mut c,
        &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"],
        "ERR the ANY argument requires COUNT argument",
    );
    expect_err(
        &mut c,
        &["GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "ASC", "WITHDIST"],
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
    );
    expect_err(
        &mut c,
        &["GEORADIUSBYMEMBER", "Sicily", "nobody", "1", "km"],
        "ERR could not decode requested zset member",
    );
    expect(&mut c, &["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"], arr(vec![]));
}

/// Haversine with the same radius, written independently of the server's code.
fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6372797.560856 * a.sqrt().asin()
}

/// Every member a radius search returns is inside the circle, and every member clearly inside is returned, on a
/// cloud of positions around the world (searches near the poles and the antimeridian included).
#[test]
fn radius_searches_agree_with_an_independent_haversine() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut points = Vec::new();
    for n in 0..2000 {
        let lon = next() * 360.0 - 180.0;
        let lat = next() * 170.0 - 85.0;
        points.push((format!("p{n}"), lon, lat));
    }
    for chunk in points.chunks(200) {
        let mut args: Vec<String> = vec!["GEOADD".into(), "world".into()];
        for (m, lon, lat) in chunk {
            args.extend([lon.to_string(), lat.to_string(), m.clone()]);
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let _: i64 = q(&mut c, &refs);
    }
    // The stored positions (cell centres) are what searches measure from.
    let names: Vec<&str> = points.iter().map(|(m, _, _)| m.as_str()).collect();
    let mut geopos = vec!["GEOPOS", "world"];
    geopos.extend(&names);
    let stored: Vec<Option<(f64, f64)>> = q(&mut c, &geopos);
    for (lon, lat, radius_km) in
        [(0.0, 0.0, 1500.0), (179.5, 10.0, 800.0), (-179.5, -10.0, 800.0), (20.0, 84.0, 600.0), (-60.0, -83.0, 2500.0)]
    {
        let found: Vec<String> =
            q(&mut c, &["GEORADIUS", "world", &lon.to_string(), &lat.to_string(), &radius_km.to_string(), "km"]);
        let found: std::collections::HashSet<String> = found.into_iter().collect();
        for ((name, _, _), pos) in points.iter().zip(&stored) {
            let (x, y) = pos.expect("stored");
            let d = haversine_m(lon, lat, x, y) / 1000.0;
            if d < radius_km - 0.01 {
                assert!(found.contains(name), "{name} at {d} km of ({lon}, {lat}) is missing");
            } else if d > radius_km + 0.01 {
                assert!(!found.contains(name), "{name} at {d} km of ({lon}, {lat}) is outside");
            }
        }
    }
}

#[test]
fn store_and_storedist_write_sorted_sets_with_events_and_effects() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    expect_ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = Resp::new(&s, 2);
    sub.send(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n");
    let event = |event: &str, key: &str| {
        let ch = format!("__keyevent@0__:{event}");
        format!(
            "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n${}\r\n{ch}\r\n${}\r\n{key}\r\n",
            ch.len(),
            key.len()
        )
    };
    let mut consumer = s.srv.effects.subscribe();

    expect(&mut c, &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "near"], i(2));
    assert_eq!(sub.read_reply(), event("georadiusstore", "near"));
    expect(&mut c, &["ZSCORE", "near", "Palermo"], b("3479099956230698"));
    expect(
        &mut c,
        &["GEOSEARCHSTORE", "dist", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"],
        i(2),
    );
    assert_eq!(sub.read_reply(), event("geosearchstore", "dist"));
    expect(
        &mut c,
        &["ZRANGE", "dist", "0", "-1", "WITHSCORES"],
        bulks(&["Catania", "56.441257870158204", "Palermo", "190.44242984775784"]),
    );
    // An empty result deletes the destination.
    expect(&mut c, &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "m", "COUNT", "1", "STORE", "near"], i(1));
    assert_eq!(sub.read_reply(), event("georadiusstore", "near"));
    expect(&mut c, &["GEORADIUS", "Sicily", "0", "0", "1", "m", "STORE", "near"], i(0));
    assert_eq!(sub.read_reply(), event("del", "near"));
    expect(&mut c, &["EXISTS", "near"], i(0));
    // GEOADD notifies as ZADD does.
    expect(&mut c, &["GEOADD", "Sicily", "14", "37.5", "Enna"], i(1));
    assert_eq!(sub.read_reply(), event("zadd", "Sicily"));

    // Writes are logged as sent; searches without STORE are not logged.
    let mut logged = Vec::new();
    while let Some(g) = consumer.try_next().expect("ok") {
        for a in g.commands() {
            if &a[0][..] != b"SELECT" {
                logged.push(String::from_utf8_lossy(&a[0]).to_uppercase());
            }
        }
    }
    assert_eq!(logged, ["GEORADIUS", "GEOSEARCHSTORE", "GEORADIUSBYMEMBER", "GEORADIUS", "GEOADD"]);
    let _: Value = val(&mut c, &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"]);
    assert!(consumer.try_next().expect("ok").is_none());
}

#[test]
fn keys_for_acl_getkeys_multi_and_scripts() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    expect(&mut c, &["COMMAND", "GETKEYS", "GEORADIUS", "k", "0", "0", "1", "m", "STORE", "d"], bulks(&["k", "d"]));
    expect(&mut c, &["COMMAND", "GETKEYS", "SORT", "k", "GET", "x", "STORE", "d"], bulks(&["k", "d"]));
    // The destination needs write permission on its key.
    expect_ok(&mut c, &["ACL", "SETUSER", "geo", "on", "nopass", "%R~Sicily", "%W~out*", "+@all"]);
    let mut u = s.conn();
    expect_ok(&mut u, &["AUTH", "geo", "x"]);
    expect(&mut u, &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "out1"], i(2));
    expect_err(
        &mut u,
        &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "elsewhere"],
        "NOPERM this user has no permissions to access one of the keys used as arguments",
    );
    expect(&mut u, &["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "ASC"], bulks(&["Catania", "Palermo"]));

    expect_ok(&mut c, &["MULTI"]);
    let _: Value = val(&mut c, &["GEOADD", "m", "1", "1", "a", "1.001", "1", "b"]);
    let _: Value = val(&mut c, &["GEOSEARCHSTORE", "m2", "m", "FROMMEMBER", "a", "BYRADIUS", "1", "km", "ASC"]);
    let _: Value = val(&mut c, &["GEODIST", "m", "a", "b"]);
    expect(&mut c, &["EXEC"], arr(vec![i(2), i(2), b("110.9627")]));

    let script =
        "return redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'ASC', 'WITHDIST')";
    expect(
        &mut c,
        &["EVAL", script, "1", "Sicily"],
        arr(vec![arr(vec![b("Catania"), b("56.4413")]), arr(vec![b("Palermo"), b("190.4424")])]),
    );
}

/// GEORADIUS STORE locks its destination (found among the options) beside other writers of the same keys.
#[test]
fn concurrent_stores_and_writers() {
    let s = TestServer::start();
    let mut c = s.conn();
    sicily(&mut c);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let client = s.client();
            std::thread::spawn(move || {
                let mut c = client.get_connection().expect("connect");
                for n in 0..300 {
                    if t % 2 == 0 {
                        let _: i64 = redis::cmd("GEOADD")
                            .arg("Sicily")
                            .arg(15.0 - (n % 50) as f64 / 100.0)
                            .arg(37.0)
                            .arg(format!("m{t}_{}", n % 50))
                            .query(&mut c)
                            .expect("GEOADD");
                        let _: i64 = redis::cmd("DEL").arg("out").query(&mut c).expect("DEL");
                    } else {
                        let stored: i64 = redis::cmd("GEORADIUS")
                            .arg("Sicily")
                            .arg(15)
                            .arg(37)
                            .arg(300)
                            .arg("km")
                            .arg("STORE")
                            .arg("out")
                            .query(&mut c)
                            .expect("GEORADIUS STORE");
                        assert!(stored >= 2);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    expect(&mut c, &["ZCARD", "Sicily"], i(102));
}
