//! The short mode of the fuzz targets (fuzz/src/lib.rs), deterministic so it can run in the test suite, and
//! random transactions against an in-process server.
//!
//! Each target gets the committed seed corpus (fuzz/corpus/<target>/), mutations of it and generated inputs from
//! a seeded PRNG, for a bounded count. Longer runs: `STRATA_FUZZ_ITERS=N` multiplies the counts,
//! `STRATA_FUZZ_SECONDS=S` runs each target for S seconds instead (what scripts/fuzz.sh does where cargo-fuzz is
//! not installed), and `STRATA_FUZZ_SEED=S` changes the sequence. A failing input is printed and written to the
//! temp directory, ready for `cargo fuzz run <target> <file>`.

mod common;

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use bytes::Bytes;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// splitmix64: small, seedable, and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        let seed = std::env::var("STRATA_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_u64);
        Rng(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn iterations(base: usize) -> usize {
    let factor = std::env::var("STRATA_FUZZ_ITERS").ok().and_then(|s| s.parse::<usize>().ok()).unwrap_or(1);
    base * factor.max(1)
}

/// How many inputs a target runs, or until when: `STRATA_FUZZ_SECONDS=S` replaces the count with a time budget.
struct Budget {
    count: usize,
    until: Option<Instant>,
}

impl Budget {
    fn new(base: usize) -> Budget {
        match std::env::var("STRATA_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()) {
            Some(s) => Budget { count: usize::MAX, until: Some(Instant::now() + Duration::from_secs(s)) },
            None => Budget { count: iterations(base), until: None },
        }
    }

    fn allows(&self, done: usize) -> bool {
        done < self.count && self.until.is_none_or(|t| Instant::now() < t)
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Byte strings the decoder and splitter treat specially.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r",
    b"\n",
    b"*",
    b"$",
    b"*1\r\n",
    b"*2\r\n",
    b"*-1\r\n",
    b"*0\r\n",
    b"$-1\r\n",
    b"$0\r\n\r\n",
    b"*2147483647\r\n",
    b"*2147483648\r\n",
    b"*11\r\n",
    b"$536870912\r\n",
    b"$536870913\r\n",
    b"$16385\r\n",
    b"$99999999999999999999\r\n",
    b"$4\r\nPING\r\n",
    b"PING\r\n",
    b"\"",
    b"'",
    b"\\",
    b"\\x",
    b"\\x4",
    b"\\x41",
    b"\\\"",
    b"\\'",
    b" ",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\0",
    b"-",
    b"+",
    b"0",
    b"007",
    b"-0",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
];

/// One to four byte-level mutations of `input`, sometimes spliced with another seed.
fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(10) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 => {
                let t = rng.pick(TOKENS);
                v.splice(at..at, t.iter().copied());
            }
            3 => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at..end);
            }
            4 => {
                let end = (at + rng.below(32)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            5 => v.truncate(at),
            6 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 => {
                // Replace a run of digits (a length, a count, a number argument) with an interesting number.
                if let Some(start) = v.iter().skip(at).position(|b| b.is_ascii_digit()).map(|p| p + at) {
                    let end = v[start..].iter().position(|b| !b.is_ascii_digit()).map_or(v.len(), |p| p + start);
                    let n = rng.pick(&TOKENS[TOKENS.len() - 8..]);
                    v.splice(start..end, n.iter().copied());
                }
            }
            8 => {
                let r = rng.bytes(8);
                v.splice(at..at, r);
            }
            _ => {
                let other = rng.pick(seeds).clone();
                v.splice(at..at, other);
            }
        }
    }
    v
}

/// Runs `target` on `input`; on a panic, prints the input, saves it, and fails the test.
fn attempt(name: &str, input: &[u8], target: impl FnOnce(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        let path = std::env::temp_dir().join(format!("strata-fuzz-{name}-{:016x}", fxhash(input)));
        let _ = std::fs::write(&path, input);
        panic!(
            "fuzz target `{name}` failed on input {:?} (saved to {}; replay with `cargo fuzz run {name} {}`)",
            String::from_utf8_lossy(input),
            path.display(),
            path.display()
        );
    }
}

fn fxhash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Seeds as they are, then mutations of them and of earlier mutations.
fn run_bytes_target(name: &str, stream: u64, base: usize, generate: fn(&mut Rng) -> Vec<u8>, target: fn(&[u8])) {
    let seeds = corpus(name);
    let mut rng = Rng::new(stream);
    let started = Instant::now();
    for s in &seeds {
        attempt(name, s, target);
    }
    let mut pool = seeds.clone();
    let budget = Budget::new(base);
    let mut n = 0;
    while budget.allows(n) {
        let i = n;
        n += 1;
        let input = match i % 4 {
            0 => generate(&mut rng),
            _ => {
                let from = rng.pick(&pool).clone();
                mutate(&mut rng, &from, &seeds)
            }
        };
        attempt(name, &input, target);
        if input.len() < 4096 && pool.len() < 512 && rng.chance(10) {
            pool.push(input);
        }
    }
    eprintln!("fuzz {name}: {} seeds + {n} inputs in {:.2?}", seeds.len(), started.elapsed());
}

/// A pipelined run of well-formed frames, in RESP or inline form, with split points left to the mutator.
fn gen_frames(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let argc = rng.below(5);
        let args: Vec<Vec<u8>> = (0..argc).map(|_| gen_word(rng)).collect();
        if rng.chance(70) {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for a in &args {
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
        } else {
            for a in &args {
                if rng.chance(30) {
                    out.extend_from_slice(&targets::quote_arg(a));
                } else {
                    out.extend(a.iter().filter(|b| !b" \t\r\n\"'".contains(b)));
                }
                out.push(b' ');
            }
            out.extend_from_slice(if rng.chance(50) { b"\r\n" } else { b"\n" });
        }
    }
    out
}

fn gen_word(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => rng.bytes(12),
        1 => rng.pick(TOKENS).to_vec(),
        2 => rng.pick(OPTIONS).as_bytes().to_vec(),
        _ => rng.pick(&["GET", "SET", "PING", "k", "value", ""]).as_bytes().to_vec(),
    }
}

/// A line of words in every quoting style sdssplitargs knows, valid or not.
fn gen_line(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(6) {
        let w = gen_word(rng);
        match rng.below(5) {
            0 => out.extend_from_slice(&targets::quote_arg(&w)),
            1 => {
                out.push(b'\'');
                out.extend(w.iter().filter(|&&b| b != b'\''));
                out.push(b'\'');
            }
            2 => {
                out.extend_from_slice(b"pre\"");
                out.extend(w.iter().filter(|&&b| b != b'"' && b != b'\\'));
                out.push(b'"');
            }
            _ => out.extend(w.iter().filter(|b| !b" \t\r\n".contains(b))),
        }
        let sep: &[&[u8]] = &[b" ", b"\t", b"  ", b"\x0b", b""];
        let sep = *rng.pick(sep);
        out.extend_from_slice(sep);
    }
    out
}

/// A few redis.conf lines: real parameter names with values of every kind, directives, comments and quoting.
fn gen_conf(rng: &mut Rng) -> Vec<u8> {
    let params = strata::config::PARAMS;
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        match rng.below(8) {
            0 => out.extend_from_slice(b"# a comment\n"),
            1 => out.extend_from_slice(b"unknown-directive yes\n"),
            _ => {
                let p = rng.pick(params);
                out.extend_from_slice(p.name.as_bytes());
                for _ in 0..rng.below(4) {
                    out.push(b' ');
                    let v: Vec<u8> = match rng.below(4) {
                        0 => rng.pick(NUMBERS).as_bytes().to_vec(),
                        1 => rng
                            .pick(&["yes", "no", "100mb", "1gb", "-1kb", "5G", "\"\"", "allkeys-lru", "KEA"])
                            .as_bytes()
                            .to_vec(),
                        2 => p.default.as_bytes().to_vec(),
                        _ => targets::quote_arg(&rng.bytes(6)),
                    };
                    out.extend_from_slice(&v);
                }
                out.push(b'\n');
            }
        }
    }
    out
}

#[test]
fn fuzz_decode() {
    run_bytes_target("decode", 1, 20_000, gen_frames, targets::decode);
}

#[test]
fn fuzz_inline() {
    run_bytes_target("inline", 2, 30_000, gen_line, targets::inline);
}

#[test]
fn fuzz_config() {
    run_bytes_target("config", 3, 3000, gen_conf, targets::config);
}

/// Option words of every family's argument parser.
const OPTIONS: &[&str] = &[
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "KEEPTTL",
    "GET",
    "SET",
    "PERSIST",
    "LIMIT",
    "WITHSCORES",
    "WITHSCORE",
    "BYSCORE",
    "BYLEX",
    "REV",
    "COUNT",
    "MATCH",
    "TYPE",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "WEIGHTS",
    "WITHVALUES",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "RANK",
    "MAXLEN",
    "IDX",
    "LEN",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "CH",
    "INCR",
    "REPLACE",
    "DB",
    "BIT",
    "BYTE",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "INCRBY",
    "u8",
    "i16",
    "u63",
    "i64",
    "i65",
    "#1",
    "ASYNC",
    "SYNC",
    "ON",
    "OFF",
    "SKIP",
    "YES",
    "NO",
    "ID",
    "ADDR",
    "LADDR",
    "USER",
    "SKIPME",
    "MAXAGE",
    "NORMAL",
    "PUBSUB",
    "MASTER",
    "REPLICA",
    "WRITE",
    "ALL",
    "TIMEOUT",
    "ERROR",
    "BCAST",
    "PREFIX",
    "OPTIN",
    "OPTOUT",
    "NOLOOP",
    "REDIRECT",
    "SAMPLES",
    "FULL",
    "AUTH",
    "SETNAME",
    "default",
    "LIB-NAME",
    "LIB-VER",
    "HELP",
    "FILTERBY",
    "MODULE",
    "ACLCAT",
    "PATTERN",
    "string",
    "list",
    "set",
    "zset",
    "hash",
    "maxmemory",
    "maxmemory-policy",
    "hz",
    "save",
    "notify-keyspace-events",
    "KEA",
    "allkeys-lru",
    "requirepass",
    "proto-max-bulk-len",
    "databases",
    "*",
    "*max*",
    "h?llo",
    "[a-z]*",
    "\\",
    "OBJECT",
    "SET-ACTIVE-EXPIRE",
    "ENCODING",
    "FREQ",
    "IDLETIME",
    "REFCOUNT",
    "USAGE",
    "STATS",
    "DOCTOR",
    "CHANNELS",
    "NUMSUB",
    "NUMPAT",
    "GETKEYS",
    "DOCS",
    "INFO",
    "LIST",
    "KILL",
    "PAUSE",
    "UNPAUSE",
    "TRACKING",
    "CACHING",
];

/// Numbers at the edges of every parser: negative, huge, floats, infinities, NaN, and near-numbers.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "-2",
    "5",
    "10",
    "100",
    "-100",
    "63",
    "64",
    "65535",
    "65536",
    "1000000",
    "2147483647",
    "2147483648",
    "-2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "1.5",
    "-0.0",
    "0.1",
    "1e10",
    "1e308",
    "1e309",
    "-1e309",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "NaN",
    "0x10",
    "1_000",
    " 1",
    "",
    "007",
    "+5",
    "(1",
    "(2.5",
    "(inf",
    "[a",
    "(a",
    "-",
    "+",
    "1.7976931348623157e308",
    "4.9e-324",
    "0.0000001",
];

const KEYS: &[&str] = &["missing", "newkey", "{t}a", "{t}b"];

/// A token for an argument position: keys, option words, numbers, or odd bytes.
fn token(rng: &mut Rng, key_bias: usize) -> Bytes {
    if rng.chance(key_bias) {
        let k = if rng.chance(75) { *rng.pick(targets::SEED_KEYS) } else { *rng.pick(KEYS) };
        return Bytes::from_static(k.as_bytes());
    }
    match rng.below(10) {
        0..=3 => Bytes::from_static(rng.pick(OPTIONS).as_bytes()),
        4..=7 => Bytes::from_static(rng.pick(NUMBERS).as_bytes()),
        8 => Bytes::from(rng.bytes(10)),
        _ => Bytes::from(vec![b'x'; rng.below(3000)]),
    }
}

/// argv for one table command: its name (and subcommand), then about as many arguments as its arity wants.
fn gen_argv(rng: &mut Rng, prefix: &[&'static str], arity: i32) -> Vec<Bytes> {
    let mut argv: Vec<Bytes> = prefix.iter().map(|w| Bytes::from_static(w.as_bytes())).collect();
    let wanted = (arity.unsigned_abs() as usize).saturating_sub(prefix.len());
    let n = match rng.below(10) {
        0 => rng.below(wanted + 3),
        _ if arity < 0 => wanted + rng.below(7),
        _ => wanted,
    };
    for i in 0..n {
        argv.push(token(rng, if i == 0 { 70 } else { 30 }));
    }
    argv
}

/// Commands from the table with generated arguments, round robin so every family's parser gets its share,
/// interleaved with the corpus's argv samples mutated token by token.
#[test]
fn fuzz_commands() {
    let started = Instant::now();
    let mut rng = Rng::new(4);
    let prefixes = targets::Engine::command_prefixes();
    let samples: Vec<Vec<Bytes>> = corpus("commands")
        .iter()
        .flat_map(|f| f.split(|&b| b == b'\n').map(|l| l.to_vec()).collect::<Vec<_>>())
        .filter_map(|l| strata::util::splitargs::split_args(&l))
        .filter(|w| !w.is_empty())
        .map(|w| w.into_iter().map(Bytes::from).collect())
        .collect();
    let mut engine = targets::Engine::new();
    let budget = Budget::new(prefixes.len() * 80);
    let mut i = 0;
    while budget.allows(i) {
        i += 1;
        if i % 4096 == 0 {
            // Keys named by random tokens pile up over a long run.
            engine.run(&[Bytes::from_static(b"FLUSHALL")]);
        }
        if i % 32 == 0 {
            engine.seed();
        }
        let argv = if i % 3 == 2 && !samples.is_empty() {
            let mut argv = rng.pick(&samples).clone();
            for _ in 0..1 + rng.below(2) {
                let at = 1 + rng.below(argv.len());
                match rng.below(3) {
                    0 if at < argv.len() => argv[at] = token(&mut rng, 20),
                    1 if at < argv.len() => {
                        argv.remove(at);
                    }
                    _ => argv.insert(at, token(&mut rng, 20)),
                }
            }
            argv
        } else {
            let (prefix, arity, _) = &prefixes[(i / 3 * 2 + i % 3) % prefixes.len()];
            gen_argv(&mut rng, prefix, *arity)
        };
        let shown: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if catch_unwind(AssertUnwindSafe(|| engine.fuzz(&argv))).is_err() {
            panic!("commands target failed on {shown:?}");
        }
    }
    eprintln!(
        "fuzz commands: {} commands ({} table rows) in {:.2?}",
        engine.executed,
        prefixes.len(),
        started.elapsed()
    );
}

/// Every command in the table appears in the commands seed corpus, so libFuzzer starts from each parser.
#[test]
fn commands_corpus_covers_the_table() {
    let text: Vec<u8> = corpus("commands").concat();
    let mut lines: Vec<Vec<Vec<u8>>> = Vec::new();
    for l in text.split(|&b| b == b'\n') {
        if let Some(w) = strata::util::splitargs::split_args(l) {
            lines.push(w.into_iter().map(|a| a.to_ascii_lowercase()).collect());
        }
    }
    let missing: Vec<String> = targets::Engine::command_prefixes()
        .into_iter()
        .filter(|(p, _, _)| !p.contains(&"help"))
        .filter(|(p, _, _)| {
            !lines.iter().any(|l| l.len() >= p.len() && p.iter().zip(l).all(|(a, b)| a.as_bytes() == b))
        })
        .map(|(p, _, _)| p.join(" "))
        .collect();
    assert!(missing.is_empty(), "commands without a seed line in fuzz/corpus/commands: {missing:?}");
}

// ---- transactions ----------------------------------------------------------------------------------------------

/// Data commands of every type and commands that move keys between databases.
fn data_command(rng: &mut Rng) -> Vec<String> {
    let k = rng.pick(&["a", "b", "c", "d", "{x}1", "{x}2", "l", "s", "z", "h"]).to_string();
    let k2 = rng.pick(&["a", "b", "c", "d", "{x}1", "{x}2", "l", "s", "z", "h"]).to_string();
    let db = rng.below(3).to_string();
    let n = rng.pick(&["0", "1", "-1", "3"]).to_string();
    let v: Vec<Vec<String>> = vec![
        vec!["SET".into(), k.clone(), n.clone()],
        vec!["GET".into(), k.clone()],
        vec!["INCR".into(), k.clone()],
        vec!["APPEND".into(), k.clone(), "x".into()],
        vec!["MSET".into(), k.clone(), "1".into(), k2.clone(), "2".into()],
        vec!["MGET".into(), k.clone(), k2.clone()],
        vec!["DEL".into(), k.clone(), k2.clone()],
        vec!["EXISTS".into(), k.clone(), k2.clone()],
        vec!["TYPE".into(), k.clone()],
        vec!["RENAME".into(), k.clone(), k2.clone()],
        vec!["COPY".into(), k.clone(), k2.clone(), "DB".into(), db.clone(), "REPLACE".into()],
        vec!["MOVE".into(), k.clone(), db.clone()],
        vec!["SELECT".into(), db.clone()],
        vec!["SWAPDB".into(), db.clone(), rng.below(3).to_string()],
        vec!["LPUSH".into(), k.clone(), "x".into(), "y".into()],
        vec!["LMOVE".into(), k.clone(), k2.clone(), "LEFT".into(), "RIGHT".into()],
        vec!["BLPOP".into(), k.clone(), k2.clone(), "0.01".into()],
        vec!["SADD".into(), k.clone(), "m".into(), n.clone()],
        vec!["SUNIONSTORE".into(), k.clone(), k2.clone(), "s".into()],
        vec!["SMOVE".into(), k.clone(), k2.clone(), "m".into()],
        vec!["ZADD".into(), k.clone(), n.clone(), "m".into()],
        vec!["ZUNIONSTORE".into(), k.clone(), "2".into(), k2.clone(), "z".into()],
        vec!["ZRANGE".into(), k.clone(), "0".into(), "-1".into(), "WITHSCORES".into()],
        vec!["HSET".into(), k.clone(), "f".into(), n.clone()],
        vec!["HGETALL".into(), k.clone()],
        vec!["EXPIRE".into(), k.clone(), "100".into()],
        vec!["OBJECT".into(), "ENCODING".into(), k.clone()],
        vec!["DBSIZE".into()],
        vec!["KEYS".into(), "*".into()],
        vec!["SCAN".into(), "0".into(), "COUNT".into(), "100".into()],
        vec!["RANDOMKEY".into()],
        vec!["FLUSHDB".into()],
        vec!["PING".into()],
    ];
    rng.pick(&v).clone()
}

/// Commands that look at the whole server.
fn server_command(rng: &mut Rng) -> Vec<String> {
    let v: &[&[&str]] = &[
        &["INFO"],
        &["INFO", "keyspace"],
        &["INFO", "memory"],
        &["INFO", "all"],
        &["INFO", "everything"],
        &["MEMORY", "STATS"],
        &["MEMORY", "USAGE", "a"],
        &["CLIENT", "LIST"],
        &["CONFIG", "GET", "maxmemory"],
    ];
    rng.pick(v).iter().map(|s| s.to_string()).collect()
}

/// Several clients run random transactions at once, each followed by a PING; a reply that takes longer than
/// the timeout means the server is wedged. Returns what each stuck client was waiting for (the transaction that
/// wedged the server is among them; the others are its victims).
fn transactions(with_server_commands: bool, per_client: usize) -> Vec<String> {
    let srv = common::TestServer::start();
    let mut threads = Vec::new();
    for c in 0..3u64 {
        let client = srv.client();
        threads.push(std::thread::spawn(move || -> Option<String> {
            let mut rng = Rng::new(100 + c);
            let mut con = client.get_connection().expect("connect");
            con.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            con.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
            for _ in 0..per_client {
                let mut body = Vec::new();
                for _ in 0..1 + rng.below(8) {
                    body.push(if with_server_commands && rng.chance(15) {
                        server_command(&mut rng)
                    } else {
                        data_command(&mut rng)
                    });
                }
                let mut all = vec![vec!["MULTI".to_string()]];
                all.extend(body);
                all.push(vec!["EXEC".into()]);
                all.push(vec!["PING".into()]);
                all.push(vec!["SELECT".into(), "0".into()]);
                for args in &all {
                    let mut cmd = redis::cmd(&args[0]);
                    for a in &args[1..] {
                        cmd.arg(a);
                    }
                    if let Err(e) = redis::ConnectionLike::req_command(&mut con, &cmd) {
                        return Some(format!("{e} while waiting for {args:?} of {all:?}"));
                    }
                }
            }
            None
        }));
    }
    let wedged: Vec<String> = threads.into_iter().filter_map(|t| t.join().expect("client thread")).collect();
    if !wedged.is_empty() {
        // A wedged server cannot shut down; leave it to the end of the process instead of joining it.
        std::mem::forget(srv);
    }
    wedged
}

#[test]
fn transactions_of_data_commands_never_wedge() {
    let wedged = transactions(false, iterations(150));
    assert!(wedged.is_empty(), "server wedged:\n{}", wedged.join("\n"));
}

#[test]
fn transactions_with_server_commands_never_wedge() {
    let wedged = transactions(true, iterations(150));
    assert!(wedged.is_empty(), "server wedged:\n{}", wedged.join("\n"));
}
