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
