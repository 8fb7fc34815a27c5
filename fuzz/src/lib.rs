//! Fuzz targets for Strata, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`) and the deterministic short
//! mode that runs in the normal test suite (`tests/fuzz.rs` includes this file by path).
//!
//! Each target takes raw bytes and panics when a property fails; libFuzzer records a panic as a crash, and the
//! short mode reports the input that caused it.
//!
//! - [`decode`]: the request decoder. It never consumes more than it was given, every command makes progress,
//!   feeding the same bytes in pieces gives the same commands as feeding them at once, the unauthenticated limits
//!   only ever cut the authenticated result short, and protocol errors carry Redis's prefix.
//! - [`inline`]: the inline splitter (`sdssplitargs`). What it splits, quoted back, splits the same way, and the
//!   decoder's inline path splits a line exactly as the splitter does.
//! - [`config`]: redis.conf text. Never a panic; a rejected line is a config error that names the line.
//! - [`commands`] and [`Engine`]: argv through the one dispatch gate of an in-process server. A handler panic
//!   (which dispatch turns into an error reply) fails the target, every reply must encode to well-formed RESP2 and
//!   RESP3, errors must be error lines with a code, and the server still answers PING afterwards.

use bytes::{Bytes, BytesMut};
use strata::engine::client::{cflags, Session};
use strata::engine::execute::{execute, Outcome};
use strata::engine::Server;
use strata::protocol::{encode, Decoded, Decoder, Protocol, Reply};
use strata::util::splitargs::split_args;

/// What one decoder run produced: the commands, then the error that stopped it, if any.
type DecodeRun = (Vec<Vec<Vec<u8>>>, Option<String>);

/// Decodes everything in `data`, feeding it in pieces of the given sizes (cycled; empty = all at once), handing
/// each argument vector back as the connection does.
fn decode_run(data: &[u8], pieces: &[usize], authenticated: bool) -> DecodeRun {
    let mut d = Decoder::default();
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let mut consumed = 0;
    let mut out = Vec::new();
    let mut piece = 0;
    loop {
        let take = match pieces.get(piece % pieces.len().max(1)) {
            Some(&n) => n.max(1),
            None => data.len(),
        };
        piece += 1;
        let end = (fed + take).min(data.len());
        buf.extend_from_slice(&data[fed..end]);
        fed = end;
        loop {
            let before = buf.len();
            match d.decode(&mut buf, authenticated) {
                Ok(Decoded::Command(args)) => {
                    assert!(!args.is_empty(), "the decoder produced an empty command");
                    assert!(buf.len() < before, "a command was produced without consuming input");
                    consumed += before - buf.len();
                    assert!(consumed <= fed, "the decoder consumed {consumed} bytes of {fed}");
                    let size: usize = args.iter().map(|a| a.len()).sum();
                    assert!(size <= before - buf.len(), "arguments larger than the bytes they came from");
                    out.push(args.iter().map(|a| a.to_vec()).collect());
                    d.recycle(args);
                }
                Ok(Decoded::Incomplete(_)) => {
                    assert!(buf.len() <= before, "the decoder grew its input");
                    consumed += before - buf.len();
                    break;
                }
                Err(e) => {
                    assert!(e.0.starts_with("Protocol error: "), "protocol error without its prefix: {:?}", e.0);
                    return (out, Some(e.0));
                }
            }
        }
        if fed == data.len() {
            return (out, None);
        }
    }
}

/// Errors that depend on how much of a line had arrived when the decoder looked (Redis has the same property:
/// it checks the query buffer's length only while the terminator has not arrived).
fn is_size_error(e: &str) -> bool {
    e.contains("too big")
}

/// The request decoder target.
pub fn decode(data: &[u8]) {
    let whole = decode_run(data, &[], true);
    // Piece sizes taken from the input itself, so the fuzzer controls where frames are cut.
    let pieces: Vec<usize> = data.iter().take(8).map(|&b| usize::from(b % 17) + 1).collect();
    for p in [&[1usize][..], &pieces[..]] {
        let split = decode_run(data, p, true);
        if split != whole {
            let (cmds, err) = &split;
            let prefix = cmds.len() <= whole.0.len() && whole.0[..cmds.len()] == cmds[..];
            assert!(
                prefix && err.as_deref().is_some_and(is_size_error),
                "decoding in pieces {p:?} differs from decoding at once:\n  at once:   {whole:?}\n  in pieces: {split:?}"
            );
        }
    }
    let unauth = decode_run(data, &[], false);
    if unauth != whole {
        let (cmds, err) = &unauth;
        let prefix = cmds.len() <= whole.0.len() && whole.0[..cmds.len()] == cmds[..];
        assert!(
            prefix && err.as_deref().is_some_and(|e| e.contains("unauthenticated")),
            "the unauthenticated limits changed more than cutting the result short:\n  authenticated: {whole:?}\n  \
             unauthenticated: {unauth:?}"
        );
    }
}

/// Quotes an argument so that `split_args` reads it back unchanged.
pub fn quote_arg(a: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in a {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// Redis cannot see past a NUL in an inline request (it looks for the newline with `strchr`), so lines with NUL
/// bytes have no reference behaviour for the decoder to agree with.
pub const INLINE_NO_REFERENCE: &[u8] = &[0];

/// The inline splitter target.
pub fn inline(data: &[u8]) {
    let Some(args) = split_args(data) else { return };
    let mut line = Vec::new();
    for a in &args {
        line.extend_from_slice(&quote_arg(a));
        line.push(b' ');
    }
    assert_eq!(
        split_args(&line),
        Some(args.clone()),
        "quoted back, {:?} split differently",
        String::from_utf8_lossy(&line)
    );

    // One line through the decoder's inline path gives the same words (a line starting with `*` is multibulk).
    if data.first() == Some(&b'*') || data.contains(&b'\n') || data.iter().any(|b| INLINE_NO_REFERENCE.contains(b)) {
        return;
    }
    let mut framed = data.to_vec();
    framed.extend_from_slice(b"\r\n");
    let (cmds, err) = decode_run(&framed, &[], true);
    if data.len() + 2 > strata::protocol::decode::INLINE_MAX && err.is_some() {
        return;
    }
    let expect: Vec<Vec<Vec<u8>>> = if args.is_empty() { vec![] } else { vec![args] };
    assert_eq!((cmds, err), (expect, None), "the decoder split an inline line differently from split_args");
}

/// The redis.conf parser target: any text, line by line, on top of the defaults.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // `include` reads the file a line names; the fuzzer must not make it read /dev/zero or the disk. The line is
    // split as the parser splits it, so a quoted `"include"` is caught too.
    let is_include = |l: &str| {
        split_args(l.trim().as_bytes())
            .and_then(|w| w.into_iter().next())
            .is_some_and(|w| w.eq_ignore_ascii_case(b"include"))
    };
    let text: String = text.lines().filter(|l| !is_include(l)).collect::<Vec<_>>().join("\n");
    let mut cfg = strata::Config::default();
    if let Err(e) = cfg.load_text(&text, "fuzz", std::path::Path::new("/nonexistent"), 0) {
        assert!(e.0.contains("at line "), "a config error that does not name its line: {:?}", e.0);
    }
    // Whatever was accepted must survive CONFIG REWRITE: written back as `rewrite` writes its lines, it loads
    // again to the same values.
    let mut lines = String::new();
    for p in strata::config::PARAMS {
        for line in cfg.lines_for(p) {
            lines.push_str(&line);
            lines.push('\n');
        }
    }
    let mut again = strata::Config::default();
    if let Err(e) = again.load_text(&lines, "rewrite", std::path::Path::new("/nonexistent"), 0) {
        panic!("the rewritten configuration does not load: {}", e.0);
    }
    for p in strata::config::PARAMS {
        let (was, now) = (cfg.value(p.id), again.value(p.id));
        assert!(was == now, "{} = {was:?} loads back from its rewritten line as {now:?}", p.name);
    }
}

/// Checks that `data` is exactly `n` well-formed RESP2/RESP3 replies.
fn check_resp(data: &[u8], n: usize, what: &str) {
    fn line(d: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let end = d.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
        Some((&d[at..end], end + 2))
    }
    fn one(d: &[u8], at: usize, depth: usize) -> Result<usize, String> {
        if depth > 64 {
            return Err("nesting deeper than 64".into());
        }
        let kind = *d.get(at).ok_or("truncated reply")?;
        let (body, next) = line(d, at + 1).ok_or("reply line without CRLF")?;
        if body.contains(&b'\r') || body.contains(&b'\n') {
            return Err(format!("CR or LF inside a {} line", char::from(kind)));
        }
        let int = || std::str::from_utf8(body).ok().and_then(|s| s.parse::<i64>().ok());
        match kind {
            b'+' => Ok(next),
            b'-' => {
                let code = body.split(|&b| b == b' ').next().unwrap_or_default();
                // RedisBloom-compatible commands answer with RedisBloom's own texts, which carry no code.
                let redisbloom = code == b"TopK:" || code == b"CMS:" || body == b"WITHCOUNT keyword expected";
                if !redisbloom
                    && (code.is_empty()
                        || !code.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
                {
                    return Err(format!("error reply without an uppercase code: {:?}", String::from_utf8_lossy(body)));
                }
                Ok(next)
            }
            b':' => int().map(|_| next).ok_or_else(|| "bad integer".into()),
            b'_' => Ok(next),
            b'#' if body == b"t" || body == b"f" => Ok(next),
            b',' => {
                let s = String::from_utf8_lossy(body);
                match s.parse::<f64>() {
                    _ if s == "nan" || s == "-nan" => Err("a NaN double".into()),
                    Ok(_) => Ok(next),
                    Err(_) if s == "inf" || s == "-inf" => Ok(next),
                    Err(_) => Err(format!("bad double {s:?}")),
                }
            }
            b'$' | b'=' => {
                let n = int().ok_or("bad bulk length")?;
                if n == -1 && kind == b'$' {
                    return Ok(next);
                }
                let n = usize::try_from(n).map_err(|_| "negative bulk length")?;
                if d.get(next + n..next + n + 2) != Some(b"\r\n") {
                    return Err("bulk payload not followed by CRLF".into());
                }
                if kind == b'=' && (n < 4 || d[next + 3] != b':') {
                    return Err("verbatim string without its format".into());
                }
                Ok(next + n + 2)
            }
            b'*' | b'~' | b'>' | b'%' => {
                let n = int().ok_or("bad aggregate length")?;
                if n == -1 && kind == b'*' {
                    return Ok(next);
                }
                let n = usize::try_from(n).map_err(|_| "negative aggregate length")?;
                let items = if kind == b'%' { n * 2 } else { n };
                let mut at = next;
                for _ in 0..items {
                    at = one(d, at, depth + 1)?;
                }
                Ok(at)
            }
            k => Err(format!("unknown reply type {:?}", char::from(k))),
        }
    }
    let mut at = 0;
    for _ in 0..n {
        match one(data, at, 0) {
            Ok(next) => at = next,
            Err(e) => panic!("{what}: {e}: {:?}", String::from_utf8_lossy(&data[..data.len().min(400)])),
        }
    }
    assert_eq!(at, data.len(), "{what}: bytes left after the reply");
}

/// Checks one handler reply: no caught panic, and well-formed on the wire in both protocols.
pub fn check_reply(argv: &[Bytes], reply: &Reply) {
    let shown = || argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>();
    if let Reply::Error(e) = reply {
        assert!(
            e.as_str() != strata::error::PANIC.0.as_ref(),
            "the handler panicked (dispatch caught it) on {:?}; the panic message is in the log above",
            shown()
        );
    }
    let n = match reply {
        Reply::Sequence(items) => items.len(),
        _ => 1,
    };
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut out = BytesMut::new();
        encode(&mut out, reply, proto);
        check_resp(&out, n, &format!("reply to {:?} in {proto:?}", shown()));
    }
}

/// Commands the commands target does not run, and why.
///
/// - SHUTDOWN stops the server; DEBUG SLEEP stalls the fuzzer for as long as it is told; DEBUG PANIC panics on
///   purpose (dispatch's panic boundary is tested elsewhere) and would read as a finding.
/// - MULTI/EXEC/DISCARD: transactions are the business of the transaction fuzzers, which run them against a
///   real server under a timeout (a wedged EXEC would hang this process instead of failing it).
/// - CONFIG SET dir changes the working directory of the whole process, which the test binary shares.
/// - A random-member sample with a huge negative count (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) asks for that
///   many elements by design, as in Redis: a memory bomb of the caller's choosing, not a parser bug.
pub fn skipped(argv: &[Bytes]) -> bool {
    let is = |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    let Some(name) = argv.first() else { return true };
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    match name.as_str() {
        "shutdown" | "multi" | "exec" | "discard" => true,
        // They write a snapshot, a backup or a change log into the working directory: the repository, under
        // cargo test.
        "save" | "bgsave" | "bgrewriteaof" | "backup" => true,
        "debug" => is(1, "sleep") || is(1, "panic"),
        "config" => {
            is(1, "set")
                && argv.iter().skip(2).any(|a| a.eq_ignore_ascii_case(b"dir") || a.eq_ignore_ascii_case(b"appendonly"))
        }
        "srandmember" | "hrandfield" | "zrandmember" => {
            argv.get(2).and_then(|c| strata::util::num::parse_i64(c)).is_some_and(|c| c < -100_000)
        }
        _ => false,
    }
}

/// Keys of every type that the engine creates, so commands find data to parse against.
pub const SEED_KEYS: &[&str] =
    &["str", "int", "float", "hash", "bighash", "list", "set", "intset", "zset", "hll", "bits"];

/// An in-process server and one client on it.
pub struct Engine {
    pub srv: Server,
    pub state: Session,
    baseline: Vec<(&'static str, String)>,
    /// Commands dispatched (fuzzed ones only).
    pub executed: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// A fresh server with the embedded defaults, except that strings are capped at 1 MB (the smallest
    /// `proto-max-bulk-len`): SETRANGE/SETBIT/BITFIELD offsets otherwise let one command allocate 512 MB.
    pub fn new() -> Engine {
        let args: Vec<String> = ["--proto-max-bulk-len", "1mb", "--save", ""].iter().map(|s| s.to_string()).collect();
        let cfg = strata::Config::from_args(&args).unwrap_or_default();
        let baseline = strata::config::PARAMS
            .iter()
            .filter(|p| p.mutability != strata::config::Mutability::Immutable)
            .map(|p| (p.name, cfg.get(p.name).unwrap_or_default().to_string()))
            .collect();
        let srv = Server::new(cfg, strata::commands::table());
        let info = srv.clients.register("127.0.0.1:1".into(), "127.0.0.1:6379".into());
        let state = Session::new(info, true);
        let mut e = Engine { srv, state, baseline, executed: 0 };
        e.seed();
        e
    }

    /// Dispatches argv as the connection would, resolving waits at once: a blocking command that would wait
    /// times out immediately, and a pause is lifted (it would only delay the next command).
    pub fn run(&mut self, argv: &[Bytes]) -> Reply {
        match execute(&self.srv, &mut self.state, argv) {
            Outcome::Reply(r) => r,
            Outcome::Block(b) => {
                if b.waiter.claim() {
                    self.srv.blocking.remove(&b.waiter);
                }
                b.waiter.op.timeout_reply()
            }
            // Only sessions of network connections hand scripts over; this one runs them in place.
            Outcome::Offload => Reply::Error("ERR unexpected offload".into()),
            Outcome::Paused(_) => {
                *self.srv.pause.lock() = Default::default();
                match execute(&self.srv, &mut self.state, argv) {
                    Outcome::Reply(r) => r,
                    _ => Reply::Nil,
                }
            }
        }
    }

    fn run_str(&mut self, words: &[&str]) -> Reply {
        let argv: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
        self.run(&argv)
    }

    /// (Re)creates the seed keys in databases 0 and 1.
    pub fn seed(&mut self) {
        let db = self.state.db;
        for d in ["1", "0"] {
            self.run_str(&["SELECT", d]);
            self.run_str(&[
                "DEL", "str", "int", "float", "hash", "bighash", "list", "set", "intset", "zset", "hll", "bits",
            ]);
            self.run_str(&["SET", "str", "hello world"]);
            self.run_str(&["SET", "int", "42"]);
            self.run_str(&["SET", "float", "3.25"]);
            self.run_str(&["HSET", "hash", "f1", "v1", "f2", "2", "f3", "3.5"]);
            self.run_str(&["RPUSH", "list", "a", "b", "c", "1", "2", "a"]);
            self.run_str(&["SADD", "set", "a", "b", "c"]);
            self.run_str(&["SADD", "intset", "1", "2", "3", "-5"]);
            self.run_str(&["ZADD", "zset", "1", "a", "2", "b", "2.5", "c", "-inf", "m", "+inf", "n"]);
            self.run_str(&["PFADD", "hll", "a", "b", "c"]);
            self.run_str(&["SETBIT", "bits", "7", "1"]);
            self.run_str(&["EXPIRE", "str", "1000"]);
        }
        let mut big = vec!["HSET".to_string(), "bighash".into()];
        for i in 0..200 {
            big.push(format!("field{i}"));
            big.push(format!("value{i}"));
        }
        let argv: Vec<Bytes> = big.into_iter().map(Bytes::from).collect();
        self.run(&argv);
        self.state.select(db);
    }

    /// Runs one fuzzed command and checks the reply and that the server still answers; then puts the client and
    /// server back in a state where the next command is meaningful (no subscribed mode, no pause, defaults).
    pub fn fuzz(&mut self, argv: &[Bytes]) {
        if argv.is_empty() || skipped(argv) {
            return;
        }
        self.executed += 1;
        let reply = self.run(argv);
        check_reply(argv, &reply);
        self.settle(argv);
        let pong = self.run_str(&["PING"]);
        assert_eq!(pong, Reply::Simple("PONG"), "PING after {argv:?}");
    }

    fn settle(&mut self, argv: &[Bytes]) {
        self.state.info.take_pushes(&mut bytes::BytesMut::new());
        self.state.info.after_reply.lock().clear();
        *self.srv.pause.lock() = Default::default();
        let info = self.state.info.clone();
        if self.state.subscriptions() > 0 || self.state.tracking || info.has_flag(cflags::MONITOR) {
            let r = self.run_str(&["RESET"]);
            assert_eq!(r, Reply::Simple("RESET"), "RESET after {argv:?}");
        }
        if argv.first().is_some_and(|n| n.eq_ignore_ascii_case(b"config") || n.eq_ignore_ascii_case(b"hello")) {
            // Put back every parameter the command changed (a password or maxmemory 1 would turn every later
            // command into the same error), and the protocol and auth state HELLO may have changed.
            let changed: Vec<(&str, String)> = {
                let cfg = self.srv.config.read();
                self.baseline.iter().filter(|(n, v)| cfg.get(n).as_deref() != Some(v.as_str())).cloned().collect()
            };
            for (name, value) in changed {
                let r = self.run_str(&["CONFIG", "SET", name, &value]);
                assert_eq!(r, Reply::OK, "restoring {name} to {value:?} after {argv:?}");
            }
            self.state.proto = Protocol::Resp2;
            self.state.authenticated = true;
        }
        if argv.first().is_some_and(|n| [&b"auth"[..], b"hello", b"acl"].iter().any(|w| n.eq_ignore_ascii_case(w))) {
            // Back to an unrestricted default user: a fuzzed AUTH as a user allowed nothing (or an ACL rule taking
            // the default user's commands away) would turn every later command, PING included, into -NOPERM.
            let rules = ["reset", "on", "nopass", "~*", "&*", "+@all"].map(|r| Bytes::from_static(r.as_bytes()));
            let restored = strata::engine::acl::setuser(&self.srv, &mut self.state, b"default", &rules);
            assert!(restored.is_ok(), "restoring the default user after {argv:?}");
            strata::engine::acl::reset_client(&self.srv, &mut self.state);
        }
    }

    /// The top-level and subcommand argv prefixes of every leaf command in the table (`["get"]`,
    /// `["config", "set"]`, ...), and of every container alone.
    pub fn command_prefixes() -> Vec<(Vec<&'static str>, i32, u32)> {
        let table = &strata::commands::TABLE;
        let mut out = Vec::new();
        for c in &table.commands {
            match c.parent {
                Some(p) => out.push((vec![table.commands[p].spec.name, c.spec.name], c.spec.arity, c.spec.flags)),
                None => out.push((vec![c.spec.name], c.spec.arity, c.spec.flags)),
            }
        }
        out
    }
}

/// The commands target: each line of `data` is one command, split as an inline request would be, run against a
/// fresh engine (so a crash reproduces from its input alone).
pub fn commands(data: &[u8]) {
    let mut e = Engine::new();
    for line in data.split(|&b| b == b'\n').take(64) {
        let Some(words) = split_args(line) else { continue };
        let argv: Vec<Bytes> = words.into_iter().map(Bytes::from).collect();
        e.fuzz(&argv);
    }
}
