//! The compressed cold tier: cold values get compressed, and every string command behaves the same on them.
mod common;
use common::*;

fn doc(i: usize) -> String {
    format!(
        r#"{{"id":{i},"user":{{"name":"user-{i}","email":"user{i}@example.com","plan":"{}"}},"items":[{}],"status":"active","note":"{}"}}"#,
        ["free", "pro", "team"][i % 3],
        (0..(i % 7 + 3))
            .map(|j| format!(r#"{{"sku":"SKU-{}","qty":{}}}"#, (i * 31 + j) % 997, j % 4 + 1))
            .collect::<Vec<_>>()
            .join(","),
        "lorem ipsum dolor sit amet ".repeat(i % 5 + 2)
    )
}

fn info_field(c: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(c, &["INFO", "memory"]);
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Loads documents and waits until the cold cycle compressed all of them.
fn loaded_and_compressed(n: usize) -> (TestServer, redis::Connection) {
    let s = TestServer::start_with(&["--compression-cold-seconds", "0", "--compression-min-size", "64"]);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SET").arg(format!("doc:{i}")).arg(doc(i)).ignore();
    }
    let _: () = p.query(&mut c).expect("load");
    for _ in 0..200 {
        if info_field(&mut c, "compressed_keys") as usize >= n {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, "compressed_keys") as usize, n, "the cold cycle compressed every document");
    (s, c)
}

#[test]
fn cold_values_are_compressed_and_read_back_identically() {
    let (_s, mut c) = loaded_and_compressed(500);
    assert!(info_field(&mut c, "compression_saved_bytes") > 0);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "doc:10"]), "lz4");
    for i in (0..500).step_by(7) {
        let d = doc(i);
        assert_eq!(q::<String>(&mut c, &["GET", &format!("doc:{i}")]), d);
        assert_eq!(q::<usize>(&mut c, &["STRLEN", &format!("doc:{i}")]), d.len());
    }
}

#[test]
fn every_string_command_sees_the_same_value() {
    let (_s, mut c) = loaded_and_compressed(50);
    let d = doc(3);
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "doc:3", "5", "20"]), d[5..=20]);
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "doc:3", "-10", "-1"]), d[d.len() - 10..]);
    let ones: u32 = d.bytes().map(|b| b.count_ones()).sum();
    assert_eq!(q::<u32>(&mut c, &["BITCOUNT", "doc:4"]), doc(4).bytes().map(|b| b.count_ones()).sum::<u32>());
    assert_eq!(q::<u32>(&mut c, &["BITCOUNT", "doc:3"]), ones);
    assert_eq!(q::<u8>(&mut c, &["GETBIT", "doc:3", "1"]), (d.as_bytes()[0] >> 6) & 1);
    assert_eq!(q::<usize>(&mut c, &["APPEND", "doc:5", "!!"]), doc(5).len() + 2);
    assert_eq!(q::<String>(&mut c, &["GET", "doc:5"]), doc(5) + "!!");
    assert_eq!(q::<usize>(&mut c, &["SETRANGE", "doc:6", "0", "XX"]), doc(6).len());
    assert_eq!(q::<String>(&mut c, &["GET", "doc:6"]), format!("XX{}", &doc(6)[2..]));
    assert_eq!(q::<String>(&mut c, &["GETSET", "doc:7", "new"]), doc(7));
    assert_eq!(q::<String>(&mut c, &["GETDEL", "doc:8"]), doc(8));
    assert_eq!(q::<String>(&mut c, &["LCS", "doc:9", "doc:9"]), doc(9));
    assert_eq!(q::<Vec<String>>(&mut c, &["MGET", "doc:10", "doc:11"]), vec![doc(10), doc(11)]);
    let _: () = q(&mut c, &["COPY", "doc:12", "copy"]);
    assert_eq!(q::<String>(&mut c, &["GET", "copy"]), doc(12));
    assert_eq!(err(&mut c, &["INCR", "doc:13"]), "ERR value is not an integer or out of range");
    // Inside MULTI too.
    let _: () = q(&mut c, &["MULTI"]);
    let _: () = q(&mut c, &["GET", "doc:14"]);
    let _: () = q(&mut c, &["STRLEN", "doc:15"]);
    let (v, n): (String, usize) = q(&mut c, &["EXEC"]);
    assert_eq!((v, n), (doc(14), doc(15).len()));
}

#[test]
fn a_value_read_again_while_warm_is_kept_raw() {
    let (_s, mut c) = loaded_and_compressed(20);
    let _: () = q(&mut c, &["CONFIG", "SET", "compression-cold-seconds", "60"]);
    let _: String = q(&mut c, &["GET", "doc:1"]);
    let _: String = q(&mut c, &["GET", "doc:1"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "doc:1"]), "raw");
    assert_eq!(q::<String>(&mut c, &["GET", "doc:1"]), doc(1));
}

#[test]
fn incompressible_values_stay_raw_and_compression_can_be_turned_off() {
    // The dictionary is built from the documents first, so the noise is not part of it.
    let (_s, mut c) = loaded_and_compressed(50);
    let mut x: u64 = 12345;
    let noise: Vec<u8> = (0..2000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let _: () = redis::cmd("SET").arg("noise").arg(&noise).query(&mut c).expect("set");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "noise"]), "raw");
    let back: Vec<u8> = redis::cmd("GET").arg("noise").query(&mut c).expect("get");
    assert_eq!(back, noise);
    let _: () = q(&mut c, &["CONFIG", "SET", "compression", "no"]);
    let _: () = q(&mut c, &["SET", "late", &doc(99)]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "late"]), "raw");
}

/// INFO's compressed totals are running counts kept by the values themselves (no keyspace walk): they follow
/// deletions, overwrites, in-place writes and flushes exactly.
#[test]
fn compressed_totals_follow_every_way_a_value_goes() {
    let (_s, mut c) = loaded_and_compressed(300);
    let saved = info_field(&mut c, "compression_saved_bytes");
    for i in 0..100 {
        let _: i64 = redis::cmd("DEL").arg(format!("doc:{i}")).query(&mut c).unwrap();
    }
    assert_eq!(info_field(&mut c, "compressed_keys"), 200);
    assert!(info_field(&mut c, "compression_saved_bytes") < saved);
    for i in 100..150 {
        let _: () = redis::cmd("SET").arg(format!("doc:{i}")).arg("small").query(&mut c).unwrap();
    }
    assert_eq!(info_field(&mut c, "compressed_keys"), 150);
    let _: i64 = redis::cmd("APPEND").arg("doc:150").arg("more").query(&mut c).unwrap();
    assert_eq!(info_field(&mut c, "compressed_keys"), 149, "an in-place write stores the value raw");
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    assert_eq!(info_field(&mut c, "compressed_keys"), 0);
    assert_eq!(info_field(&mut c, "compressed_bytes"), 0);
    assert_eq!(info_field(&mut c, "compression_saved_bytes"), 0);
}

/// Documents with the variety of real data (words and numbers drawn at random), where zstd's trained dictionary
/// and entropy coding beat LZ4's window of recent samples.
fn varied(i: usize) -> String {
    strata::util::sample::document(i, 700)
}

fn wait_for(c: &mut redis::Connection, field: &str, at_least: u64) -> u64 {
    for _ in 0..300 {
        let v = info_field(c, field);
        if v >= at_least {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    info_field(c, field)
}

/// A server with `args`, loaded with `n` varied documents; waits until at least `zstd` of them are zstd values.
fn loaded_zstd(n: usize, zstd: u64, args: &[&str]) -> (TestServer, redis::Connection) {
    let s = TestServer::start_with(args);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SET").arg(format!("doc:{i}")).arg(varied(i)).ignore();
    }
    let _: () = p.query(&mut c).expect("load");
    assert!(wait_for(&mut c, "compressed_keys_zstd", zstd) >= zstd, "zstd values appear");
    (s, c)
}

const ZSTD_AT_ONCE: &[&str] = &[
    "--compression-cold-seconds",
    "0",
    "--compression-min-size",
    "64",
    "--compression-algorithm",
    "zstd",
    "--enable-debug-command",
    "yes",
];

#[test]
fn zstd_values_read_back_identically_through_every_read_path() {
    let (_s, mut c) = loaded_zstd(600, 300, ZSTD_AT_ONCE);
    let zstd_keys: Vec<usize> = (0..600)
        .filter(|i| q::<String>(&mut c, &["OBJECT", "ENCODING", &format!("doc:{i}")]) == "zstd")
        .take(12)
        .collect();
    assert_eq!(zstd_keys.len(), 12, "most documents are zstd values");
    assert!(info_field(&mut c, "compression_zstd_dict_bytes") > 0, "a dictionary was trained");
    let [a, b, d, e, f, g, h, i2, j, k, l, m] = zstd_keys[..] else { unreachable!() };
    let key = |i: usize| format!("doc:{i}");
    assert_eq!(q::<String>(&mut c, &["GET", &key(a)]), varied(a));
    assert_eq!(q::<usize>(&mut c, &["STRLEN", &key(b)]), varied(b).len());
    assert_eq!(q::<String>(&mut c, &["GETRANGE", &key(d), "5", "40"]), varied(d)[5..=40]);
    let ones: u32 = varied(e).bytes().map(|b| b.count_ones()).sum();
    assert_eq!(q::<u32>(&mut c, &["BITCOUNT", &key(e)]), ones);
    assert_eq!(q::<u8>(&mut c, &["GETBIT", &key(e), "1"]), (varied(e).as_bytes()[0] >> 6) & 1);
    assert_eq!(q::<usize>(&mut c, &["APPEND", &key(f), "!!"]), varied(f).len() + 2);
    assert_eq!(q::<String>(&mut c, &["GET", &key(f)]), varied(f) + "!!");
    assert_eq!(q::<usize>(&mut c, &["SETRANGE", &key(g), "0", "XX"]), varied(g).len());
    assert_eq!(q::<String>(&mut c, &["GET", &key(g)]), format!("XX{}", &varied(g)[2..]));
    assert_eq!(q::<String>(&mut c, &["GETDEL", &key(h)]), varied(h));
    assert_eq!(q::<String>(&mut c, &["LCS", &key(i2), &key(i2)]), varied(i2));
    let _: () = q(&mut c, &["COPY", &key(j), "copy"]);
    assert_eq!(q::<String>(&mut c, &["GET", "copy"]), varied(j));
    assert_eq!(q::<Vec<String>>(&mut c, &["MGET", &key(k), &key(l)]), vec![varied(k), varied(l)]);
    assert_eq!(q::<String>(&mut c, &["GETEX", &key(m), "PERSIST"]), varied(m));
    // DEBUG DIGEST-VALUE hashes the logical value: the same as a server that stores it raw.
    let plain = TestServer::start_with(&["--compression", "no", "--enable-debug-command", "yes"]);
    let mut pc = plain.conn();
    let _: () = q(&mut pc, &["SET", &key(a), &varied(a)]);
    let digest = |c: &mut redis::Connection| q::<Vec<String>>(c, &["DEBUG", "DIGEST-VALUE", &key(a)]);
    assert_eq!(digest(&mut c), digest(&mut pc));
}

/// With the default policy (auto), cold values are LZ4 first and recompressed with zstd once idle for
/// `compression-zstd-seconds`; the totals move from one codec to the other.
#[test]
fn auto_policy_recompresses_lz4_values_with_zstd_once_colder() {
    let s = TestServer::start_with(&["--compression-cold-seconds", "0", "--compression-min-size", "64"]);
    let mut c = s.conn();
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "compression-algorithm"])[1], "auto");
    let mut p = redis::pipe();
    for i in 0..400 {
        p.cmd("SET").arg(format!("doc:{i}")).arg(varied(i)).ignore();
    }
    let _: () = p.query(&mut c).expect("load");
    assert_eq!(wait_for(&mut c, "compressed_keys_lz4", 400), 400, "LZ4 first");
    assert_eq!(info_field(&mut c, "compressed_keys_zstd"), 0, "not idle long enough for zstd");
    let lz4_bytes = info_field(&mut c, "compressed_bytes");
    let _: () = q(&mut c, &["CONFIG", "SET", "compression-zstd-seconds", "0"]);
    assert!(wait_for(&mut c, "compressed_keys_zstd", 300) >= 300, "recompressed with zstd");
    assert_eq!(info_field(&mut c, "compressed_keys"), 400, "every value stays compressed");
    assert_eq!(
        info_field(&mut c, "compressed_keys"),
        info_field(&mut c, "compressed_keys_lz4") + info_field(&mut c, "compressed_keys_zstd")
    );
    assert!(info_field(&mut c, "compressed_bytes") < lz4_bytes * 7 / 8, "zstd saves an eighth more at least");
    for i in (0..400).step_by(13) {
        assert_eq!(q::<String>(&mut c, &["GET", &format!("doc:{i}")]), varied(i));
    }
}

#[test]
fn compression_parameters_are_configurable() {
    let s = TestServer::start();
    let mut c = s.conn();
    let get = |c: &mut redis::Connection, name: &str| q::<Vec<String>>(c, &["CONFIG", "GET", name])[1].clone();
    assert_eq!(get(&mut c, "compression-algorithm"), "auto");
    assert_eq!(get(&mut c, "compression-zstd-seconds"), "300");
    for alg in ["lz4", "zstd", "auto", "ZSTD"] {
        let _: () = q(&mut c, &["CONFIG", "SET", "compression-algorithm", alg]);
        assert_eq!(get(&mut c, "compression-algorithm"), alg.to_lowercase());
        let info: String = q(&mut c, &["INFO", "memory"]);
        assert!(info.contains(&format!("compression_algorithm:{}\r\n", alg.to_lowercase())), "{info}");
    }
    assert!(err(&mut c, &["CONFIG", "SET", "compression-algorithm", "brotli"]).starts_with("ERR CONFIG SET failed"));
    let _: () = q(&mut c, &["CONFIG", "SET", "compression-zstd-seconds", "3600"]);
    assert_eq!(get(&mut c, "compression-zstd-seconds"), "3600");
    assert!(err(&mut c, &["CONFIG", "SET", "compression-zstd-seconds", "-1"]).starts_with("ERR CONFIG SET failed"));
    let info: String = q(&mut c, &["INFO", "memory"]);
    for field in [
        "compressed_keys:",
        "compressed_bytes:",
        "compression_saved_bytes:",
        "compression_dict_version:",
        "compressed_keys_lz4:",
        "compressed_bytes_lz4:",
        "compression_saved_bytes_lz4:",
        "compressed_keys_zstd:",
        "compressed_bytes_zstd:",
        "compression_saved_bytes_zstd:",
        "compression_zstd_dict_bytes:",
    ] {
        assert!(info.contains(field), "INFO memory has {field}");
    }
}

/// When the data changes shape, the recent compression ratio falls behind the first window's and a new
/// dictionary version is trained; values made with the old one still read back.
#[test]
fn zstd_dictionary_is_retrained_when_the_data_drifts() {
    let (_s, mut c) = loaded_zstd(300, 150, ZSTD_AT_ONCE);
    let first = info_field(&mut c, "compression_dict_version");
    assert!(first >= 1);
    // Drift is judged over windows of 20,000 compressions: the first is skipped, the second sets the baseline,
    // and a later one that compresses far worse (documents unlike the first ones) triggers a new version.
    let other = |i: usize| {
        let v = varied(i + 1_000_000);
        format!("<row n='{i}'>{}</row>", v.replace(['{', '}', '"', ':'], " ").to_uppercase())
    };
    for (prefix, n) in [("same", 40_000), ("other", 30_000)] {
        let mut p = redis::pipe();
        for i in 0..n {
            let v = if prefix == "same" { varied(i + 5000) } else { other(i) };
            p.cmd("SET").arg(format!("{prefix}:{i}")).arg(v).ignore();
        }
        let _: () = p.query(&mut c).expect("load");
    }
    assert!(wait_for(&mut c, "compression_dict_version", first + 1) > first, "a new version was trained");
    for i in (0..300).step_by(17) {
        assert_eq!(q::<String>(&mut c, &["GET", &format!("doc:{i}")]), varied(i));
    }
    assert_eq!(q::<String>(&mut c, &["GET", "other:7"]), other(7));
}
