//! Scripting through a real client: atomicity under concurrent clients, clients of other shards served while a
//! script runs, -BUSY / SCRIPT KILL / -UNKILLABLE, scripts that reach undeclared keys, FUNCTION lifecycle and the
//! effect group of a script. Reply texts are compared with redis-server by tests/differential/cases/scripting.txt.

mod common;
use common::*;
use std::time::{Duration, Instant};

const INCR_BOTH: &str = "local a = redis.call('incr', KEYS[1]) local b = redis.call('incr', KEYS[2]) return a + b";

#[test]
fn eval_evalsha_and_script_cache() {
    let s = TestServer::start();
    let mut c = s.conn();
    let r: String = q(&mut c, &["EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", "k", "v"]);
    assert_eq!(r, "OK");
    let v: String = q(&mut c, &["GET", "k"]);
    assert_eq!(v, "v");
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", "return ARGV[1] .. KEYS[1]"]);
    assert_eq!(sha.len(), 40);
    let r: String = q(&mut c, &["EVALSHA", &sha, "1", "x", "y"]);
    assert_eq!(r, "yx");
    let exists: Vec<i64> = q(&mut c, &["SCRIPT", "EXISTS", &sha, "0000000000000000000000000000000000000000"]);
    assert_eq!(exists, vec![1, 0]);
    let _: () = q(&mut c, &["SCRIPT", "FLUSH"]);
    assert!(err(&mut c, &["EVALSHA", &sha, "0"]).starts_with("NOSCRIPT"));
}

#[test]
fn concurrent_scripts_are_atomic() {
    let s = TestServer::start();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for _ in 0..300 {
                    let _: i64 = q(&mut c, &["EVAL", INCR_BOTH, "2", "a", "b"]);
                }
            })
        })
        .collect();
    // A reader never sees one key incremented without the other.
    let mut r = s.conn();
    let mut seen = 0;
    while threads.iter().any(|t| !t.is_finished()) {
        let v: Vec<Option<i64>> = q(&mut r, &["MGET", "a", "b"]);
        assert_eq!(v[0], v[1], "a script observed half done");
        seen += 1;
    }
    for t in threads {
        t.join().unwrap();
    }
    let v: Vec<i64> = q(&mut r, &["MGET", "a", "b"]);
    assert_eq!(v, vec![1200, 1200]);
    assert!(seen > 0);
}

#[test]
fn busy_script_is_killed_and_other_clients_carry_on() {
    let s = TestServer::start_with(&["--busy-reply-threshold", "200"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "before", "1"]);
    let port = s.port;
    let looping = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let r: redis::RedisResult<redis::Value> = redis::cmd("EVAL").arg("while true do end").arg(0).query(&mut c);
        r.unwrap_err().to_string()
    });
    // Until the threshold, a client working on keys the script does not hold is served.
    std::thread::sleep(Duration::from_millis(50));
    let v: String = q(&mut c, &["GET", "before"]);
    assert_eq!(v, "1");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r: redis::RedisResult<String> = redis::cmd("PING").query(&mut c);
        if r.as_ref().is_err_and(|e| e.to_string().contains("BUSY")) {
            break;
        }
        assert!(Instant::now() < deadline, "never became busy: {r:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = val(&mut c, &["FUNCTION", "STATS"]);
    assert!(format!("{stats:?}").contains("LUA"));
    // The other KILL names the one that works, as Redis's does.
    let e = err(&mut c, &["FUNCTION", "KILL"]);
    assert!(e.starts_with("BUSY") && e.contains("only call SCRIPT KILL"), "{e}");
    let _: () = q(&mut c, &["SCRIPT", "KILL"]);
    let e = looping.join().unwrap();
    assert!(e.contains("Script killed by user with SCRIPT KILL"), "{e}");
    let v: String = q(&mut c, &["GET", "before"]);
    assert_eq!(v, "1");
    assert!(err(&mut c, &["SCRIPT", "KILL"]).starts_with("NOTBUSY"));
}

#[test]
fn a_busy_function_is_killed_by_function_kill_only() {
    let s = TestServer::start_with(&["--busy-reply-threshold", "50"]);
    let mut c = s.conn();
    let code =
        "#!lua name=spin\nredis.register_function('spin', function() local a = 1 while true do a = a + 1 end end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", code]);
    let port = s.port;
    let looping = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let r: redis::RedisResult<redis::Value> = redis::cmd("FCALL").arg("spin").arg(0).query(&mut c);
        r.unwrap_err().to_string()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis::cmd("PING").query::<String>(&mut c).is_err_and(|e| e.to_string().contains("BUSY")) {
        assert!(Instant::now() < deadline, "never became busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = err(&mut c, &["SCRIPT", "KILL"]);
    assert!(e.starts_with("BUSY") && e.contains("only call FUNCTION KILL"), "{e}");
    let _: () = q(&mut c, &["FUNCTION", "KILL"]);
    let e = looping.join().unwrap();
    assert!(e.contains("Script killed by user with FUNCTION KILL"), "{e}");
    let _: String = q(&mut c, &["PING"]);
}

#[test]
fn a_script_that_wrote_is_unkillable() {
    let s = TestServer::start_with(&["--busy-reply-threshold", "100"]);
    let port = s.port;
    let looping = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let script = "redis.call('set', KEYS[1], 'x') local n = 0 while n < 60000000 do n = n + 1 end return n";
        let r: redis::RedisResult<i64> = redis::cmd("EVAL").arg(script).arg(1).arg("w").query(&mut c);
        r
    });
    let mut c = s.conn();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut refused = false;
    while !looping.is_finished() && Instant::now() < deadline {
        let e = err(&mut c, &["SCRIPT", "KILL"]);
        if e.starts_with("UNKILLABLE") {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let n = looping.join().unwrap().unwrap();
    assert_eq!(n, 60_000_000);
    assert!(refused, "SCRIPT KILL never answered UNKILLABLE while the script ran");
    let v: String = q(&mut c, &["GET", "w"]);
    assert_eq!(v, "x");
}

#[test]
fn undeclared_keys_work_and_stay_atomic() {
    let s = TestServer::start();
    // The script names no keys: every key it touches is undeclared, on any shard.
    let script = "for i = 1, 50 do redis.call('incr', 'u' .. i) end return redis.call('get', 'u1')";
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let _: i64 = q(&mut c, &["EVAL", script, "0"]);
                }
            })
        })
        .collect();
    let mut r = s.conn();
    while threads.iter().any(|t| !t.is_finished()) {
        let v: Vec<Option<i64>> = q(&mut r, &["MGET", "u1", "u25", "u50"]);
        assert!(v[0] == v[1] && v[1] == v[2], "half-done script seen: {v:?}");
    }
    for t in threads {
        t.join().unwrap();
    }
    let v: Vec<i64> = q(&mut r, &["MGET", "u1", "u50"]);
    assert_eq!(v, vec![300, 300]);
}

#[test]
fn function_lifecycle_dump_and_restore() {
    let s = TestServer::start();
    let mut c = s.conn();
    let code = "#!lua name=counter\nredis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    let name: String = q(&mut c, &["FUNCTION", "LOAD", code]);
    assert_eq!(name, "counter");
    let n: i64 = q(&mut c, &["FCALL", "bump", "1", "ctr", "5"]);
    assert_eq!(n, 5);
    let v: String = q(&mut c, &["FCALL_RO", "peek", "1", "ctr"]);
    assert_eq!(v, "5");
    assert!(err(&mut c, &["FCALL_RO", "bump", "1", "ctr", "1"]).contains("write flag"));
    let dump: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
    let _: () = q(&mut c, &["FUNCTION", "FLUSH"]);
    assert!(err(&mut c, &["FCALL", "bump", "1", "ctr", "1"]).contains("Function not found"));
    let _: () = redis::cmd("FUNCTION").arg("RESTORE").arg(&dump).query(&mut c).unwrap();
    let n: i64 = q(&mut c, &["FCALL", "bump", "1", "ctr", "1"]);
    assert_eq!(n, 6);
    let mut bad = dump.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let e: redis::RedisResult<()> = redis::cmd("FUNCTION").arg("RESTORE").arg(&bad).query(&mut c);
    assert!(e.unwrap_err().to_string().contains("checksum"));
    let _: () = q(&mut c, &["FUNCTION", "DELETE", "counter"]);
    assert!(err(&mut c, &["FUNCTION", "DELETE", "counter"]).contains("Library not found"));
}

#[test]
fn script_effects_are_one_group_and_eval_inside_multi_works() {
    let s = TestServer::start();
    let mut c = s.conn();
    let _: () = q(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["EVAL", INCR_BOTH, "2", "m1", "m2"]);
    let _: String = q(&mut c, &["INCR", "m1"]);
    let r = val(&mut c, &["EXEC"]);
    assert_eq!(r, redis::Value::Array(vec![redis::Value::Int(2), redis::Value::Int(2)]));
    // A read-only script may not write, whatever it is called with.
    assert!(err(&mut c, &["EVAL_RO", "return redis.call('set', KEYS[1], 1)", "1", "z"]).contains("read-only"));
}

#[test]
fn a_script_returning_a_table_that_contains_itself_gets_an_error_not_a_crash() {
    // Run by CI in a debug build, whose frames are several times larger.
    use std::io::{Read, Write};
    let s = TestServer::start_with(&[]);
    let script = "local a = {}; local b = {a}; a[1] = b; return a";
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    let frame = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{script}\r\n$1\r\n0\r\n", script.len());
    sock.write_all(frame.as_bytes()).expect("send");
    // Nested one-element arrays, then Redis's error where the nesting is cut.
    let want = b"-ERR reached lua stack limit\r\n";
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    while !got.ends_with(want) {
        let n = sock.read(&mut buf).expect("the reply");
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(got).expect("ascii");
    assert!(text.lines().filter(|l| *l == "*1").count() >= 200, "{}", &text[..80]);
    let mut c = s.conn();
    let pong: String = q(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}

#[test]
fn a_library_that_loops_while_loading_times_out_and_a_pcall_loop_is_still_killable() {
    let s = TestServer::start_with(&["--busy-reply-threshold", "50"]);
    let mut c = s.conn();
    let e = err(&mut c, &["FUNCTION", "LOAD", "#!lua name=spin\nlocal a = 1\nwhile 1 do a = a + 1 end"]);
    assert_eq!(e, "ERR Error registering functions: ERR FUNCTION LOAD timeout");
    let one: i64 = q(&mut c, &["EVAL", "return 1", "0"]);
    assert_eq!(one, 1);
    // Catching the kill in pcall does not keep the script alive.
    let port = s.port;
    let looping = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let script = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
        let r: redis::RedisResult<redis::Value> = redis::cmd("EVAL").arg(script).arg(0).query(&mut c);
        r.unwrap_err().to_string()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis::cmd("PING").query::<String>(&mut c).is_err_and(|e| e.to_string().contains("BUSY")) {
        assert!(Instant::now() < deadline, "never became busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _: () = q(&mut c, &["SCRIPT", "KILL"]);
    let e = looping.join().unwrap();
    assert!(e.contains("Script killed by user with SCRIPT KILL"), "{e}");
    // pcall and xpcall still return what they return.
    let v: Vec<i64> = q(&mut c, &["EVAL", "return {pcall(function() return 7 end)}", "0"]);
    assert_eq!(v, [1, 7]);
}

#[test]
fn a_script_cannot_change_what_later_scripts_find() {
    let s = TestServer::start();
    let mut c = s.conn();
    // Assignments are refused as Redis's read-only tables refuse them.
    let tricks = [
        "redis = nil",
        "_G.redis = 1",
        "redis.call = function() return 1 end",
        "cjson.encode = 1",
        "string.len = 1",
        "setmetatable(_G, {})",
        "local g = getmetatable(_G) g.__index = {}",
        "_G = {}",
        "bit.lshift = function() return 1 end",
    ];
    for (i, script) in tricks.iter().enumerate() {
        let e = err(&mut c, &["EVAL", script, "0"]);
        assert!(e.contains("Attempt to modify a readonly table"), "{script}: {e}");
        // The same from a function, which runs in its library's environment.
        let lib = format!("#!lua name=trick{i}\nredis.register_function('trick{i}', function() {script} end)");
        let _: String = q(&mut c, &["FUNCTION", "LOAD", &lib]);
        let e = err(&mut c, &["FCALL", &format!("trick{i}"), "0"]);
        assert!(e.contains("Attempt to modify a readonly table"), "function {script}: {e}");
    }
    let pong: String = q(&mut c, &["EVAL", "return redis.call('ping')", "0"]);
    assert_eq!(pong, "PONG");
    // What rawset or a compiled chunk changes lasts for the run only.
    for script in [
        "rawset(_G, 'redis', 1) return 1",
        "rawset(redis, 'call', 1) return 1",
        "rawset(_G, 'leftover', 5) return 1",
        "loadstring('rawset(_G, \"redis\", 2)')() return 1",
    ] {
        let one: i64 = q(&mut c, &["EVAL", script, "0"]);
        assert_eq!(one, 1, "{script}");
        let check = "return {redis.call('ping'), cjson.encode({1}), string.len('abc'), type(rawget(_G, 'leftover'))}";
        let v: Vec<String> = q(&mut c, &["EVAL", check, "0"]);
        assert_eq!(v, ["PONG", "[1]", "3", "nil"], "after {script}");
    }
    // KEYS, ARGV and undeclared globals behave as before.
    let v: Vec<String> = q(&mut c, &["EVAL", "return {KEYS[1], ARGV[1]}", "1", "k", "a"]);
    assert_eq!(v, ["k", "a"]);
    let e = err(&mut c, &["EVAL", "return nosuchglobal", "0"]);
    assert!(e.contains("Script attempted to access nonexistent global variable 'nosuchglobal'"), "{e}");
    let e = err(&mut c, &["EVAL", "newglobal = 1", "0"]);
    assert!(e.contains("Attempt to modify a readonly table"), "{e}");
}

#[test]
fn debug_set_disable_deny_scripts_lets_scripts_call_noscript_commands_but_not_scripting_ones() {
    let s = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let call_client_id = "return redis.call('client', 'id')";
    let e = err(&mut c, &["EVAL", call_client_id, "0"]);
    assert!(e.contains("This Redis command is not allowed from script"), "{e}");
    let _: () = q(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    let id: i64 = q(&mut c, &["EVAL", call_client_id, "0"]);
    assert!(id > 0);
    // A script cannot start another script or a transaction, which would wait on the script thread itself.
    for inner in ["redis.call('eval', 'return 1', 0)", "redis.call('multi')", "redis.call('script', 'flush')"] {
        let e = err(&mut c, &["EVAL", inner, "0"]);
        assert!(e.contains("This Redis command is not allowed from script"), "{inner}: {e}");
    }
    let _: () = q(&mut c, &["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"]);
    let e = err(&mut c, &["EVAL", call_client_id, "0"]);
    assert!(e.contains("This Redis command is not allowed from script"), "{e}");
}

/// INFO's scripting fields are the VM's and the caches' own figures.
#[test]
fn info_reports_the_vm_and_the_script_caches() {
    let s = TestServer::start();
    let mut c = s.conn();
    let mem = |c: &mut redis::Connection, name: &str| info_int(c, "memory", name);
    assert_eq!(mem(&mut c, "number_of_cached_scripts"), 0);
    let _: String = q(&mut c, &["SCRIPT", "LOAD", "return 1"]);
    let _: String = q(&mut c, &["SCRIPT", "LOAD", "return 2"]);
    assert_eq!(mem(&mut c, "number_of_cached_scripts"), 2);
    // Two bodies and two SHAs at least.
    assert!(mem(&mut c, "used_memory_scripts_eval") >= 2 * (8 + 40));
    let vm = mem(&mut c, "used_memory_lua");
    assert!(vm > 10_000, "a VM with its libraries loaded: {vm}");
    assert_eq!(mem(&mut c, "used_memory_vm_eval"), vm);
    assert_eq!(mem(&mut c, "used_memory_vm_total"), vm);
    let code = "#!lua name=pair\nredis.register_function('one', function() return 1 end)\n\
                redis.register_function('two', function() return 2 end)";
    let _: String = q(&mut c, &["FUNCTION", "LOAD", code]);
    assert_eq!((mem(&mut c, "number_of_functions"), mem(&mut c, "number_of_libraries")), (2, 1));
    assert!(mem(&mut c, "used_memory_functions") >= code.len() as i64);
    let _: () = q(&mut c, &["SCRIPT", "FLUSH"]);
    assert_eq!(mem(&mut c, "number_of_cached_scripts"), 0);
}
