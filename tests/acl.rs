//! ACL: users and their rules (SETUSER, GETUSER, LIST, USERS, DELUSER), authentication (AUTH, HELLO AUTH),
//! permissions on commands, keys and channels (also inside MULTI), selectors, the ACL log, DRYRUN, CAT, GENPASS,
//! WHOAMI, the ACL file (SAVE, LOAD, startup) and requirepass.

mod common;
use common::*;
use std::time::Duration;

const NOPERM_KEY: &str = "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const NOPERM_CHANNEL: &str = "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const NO_ACLFILE: &str = "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n";

/// sha256("pw"), as ACL LIST shows a password set with `>pw`.
const PW_HASH: &str = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";

fn noperm_cmd(name: &str) -> String {
    format!("-NOPERM this user has no permissions to run the '{name}' command\r\n")
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

/// A raw connection authenticated as `user` (password `pw`).
fn login(s: &TestServer, user: &str) -> Resp {
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["AUTH", user, "pw"], "+OK\r\n");
    c
}

/// Waits until `cond` holds (a disconnection seen from the server side, for instance).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-acl-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("users.acl")
}

// ---------------------------------------------------------------- SETUSER, GETUSER, LIST, USERS

#[test]
fn setuser_rules_as_list_and_getuser_show_them() {
    let s = TestServer::start();
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["ACL", "LIST"], &arr(&["user default on nopass ~* &* +@all"]));
    c.expect_after_cmd(
        &["ACL", "SETUSER", "alice", "on", ">pw", "~app:*", "%R~ro:*", "%W~wo:*", "&news.*", "-@all", "+@read", "+set"],
        "+OK\r\n",
    );
    c.expect_after_cmd(
        &["ACL", "SETUSER", "bob", "+@all", "-@dangerous", "allkeys", "(+get ~x*)", "(", "+set", ")"],
        "+OK\r\n",
    );
    c.expect_after_cmd(
        &["ACL", "SETUSER", "carol", "+select|0", "+config|get", "nopass", "skip-sanitize-payload"],
        "+OK\r\n",
    );
    c.expect_after_cmd(
        &["ACL", "LIST"],
        &arr(&[
            &format!("user alice on #{PW_HASH} ~app:* %R~ro:* %W~wo:* resetchannels &news.* -@all +@read +set"),
            "user bob off ~* resetchannels +@all -@dangerous (~x* resetchannels -@all +get) (resetchannels -@all +set)",
            "user carol off nopass skip-sanitize-payload resetchannels -@all +select|0 +config|get",
            "user default on nopass ~* &* +@all",
        ]),
    );
    c.expect_after_cmd(&["ACL", "USERS"], &arr(&["alice", "bob", "carol", "default"]));
    c.expect_after_cmd(
        &["ACL", "GETUSER", "alice"],
        &format!(
            "*12\r\n{}*1\r\n{}{}*1\r\n{}{}{}{}{}{}{}{}*0\r\n",
            bulk("flags"),
            bulk("on"),
            bulk("passwords"),
            bulk(PW_HASH),
            bulk("commands"),
            bulk("-@all +@read +set"),
            bulk("keys"),
            bulk("~app:* %R~ro:* %W~wo:*"),
            bulk("channels"),
            bulk("&news.*"),
            bulk("selectors"),
        ),
    );
    c.expect_after_cmd(
        &["ACL", "GETUSER", "bob"],
        &format!(
            "*12\r\n{}*1\r\n{}{}*0\r\n{}{}{}{}{}{}{}*2\r\n*6\r\n{}{}{}{}{}{}*6\r\n{}{}{}{}{}{}",
            bulk("flags"),
            bulk("off"),
            bulk("passwords"),
            bulk("commands"),
            bulk("+@all -@dangerous"),
            bulk("keys"),
            bulk("~*"),
            bulk("channels"),
            bulk(""),
            bulk("selectors"),
            bulk("commands"),
            bulk("-@all +get"),
            bulk("keys"),
            bulk("~x*"),
            bulk("channels"),
            bulk(""),
            bulk("commands"),
            bulk("-@all +set"),
            bulk("keys"),
            bulk(""),
            bulk("channels"),
            bulk(""),
        ),
    );
    c.expect_after_cmd(&["ACL", "GETUSER", "nosuch"], "$-1\r\n");
    // RESP3: a map, with the flags as a set.
    let mut c3 = Resp::connect3(s.port);
    let got = c3.cmd(&["ACL", "GETUSER", "carol"]);
    assert!(
        got.starts_with("%6\r\n$5\r\nflags\r\n~3\r\n$3\r\noff\r\n$6\r\nnopass\r\n$21\r\nskip-sanitize-payload\r\n"),
        "{got}"
    );
    assert!(got.ends_with("$9\r\nselectors\r\n*0\r\n"), "{got}");
}

#[test]
fn setuser_changes_nothing_when_a_rule_is_wrong() {
    let s = TestServer::start();
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["ACL", "SETUSER", "u", "on", "~a*", "+get"], "+OK\r\n");
    let errors: &[(&[&str], &str)] = &[
        (&["foo"], "-ERR Error in ACL SETUSER modifier 'foo': Syntax error\r\n"),
        (&["+nosuch"], "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n"),
        (&["+@nosuch"], "-ERR Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL\r\n"),
        (&["allkeys", "~b"], "-ERR Error in ACL SETUSER modifier '~b': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns\r\n"),
        (&["&*", "&b"], "-ERR Error in ACL SETUSER modifier '&b': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels\r\n"),
        (&["<nope"], "-ERR Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist\r\n"),
        (&["#abc"], "-ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters\r\n"),
        (&["+config|get|x"], "-ERR Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported\r\n"),
        (&["%X~a"], "-ERR Error in ACL SETUSER modifier '%X~a': Syntax error\r\n"),
        (&["(~a", "+get"], "-ERR Unmatched parenthesis in acl selector starting at '(~a'.\r\n"),
        (&["(on)"], "-ERR Error in ACL SETUSER modifier '(on)': Syntax error\r\n"),
    ];
    for (rules, want) in errors {
        let mut args = vec!["ACL", "SETUSER", "u", "off", "resetkeys"];
        args.extend_from_slice(rules);
        c.expect_after_cmd(&args, want);
    }
    c.expect_after_cmd(&["ACL", "SETUSER", "a b"], "-ERR Usernames can't contain spaces or null characters\r\n");
    // Every refused SETUSER left the user exactly as it was, and created no one.
    c.expect_after_cmd(
        &["ACL", "LIST"],
        &arr(&["user default on nopass ~* &* +@all", "user u on ~a* resetchannels -@all +get"]),
    );
    c.expect_after_cmd(&["ACL", "SETUSER"], "-ERR wrong number of arguments for 'acl|setuser' command\r\n");
    c.expect_after_cmd(&["ACL", "GETUSER", "a", "b"], "-ERR wrong number of arguments for 'acl|getuser' command\r\n");
    c.expect_after_cmd(&["ACL", "NOSUCH"], "-ERR unknown subcommand 'NOSUCH'. Try ACL HELP.\r\n");
}

// ---------------------------------------------------------------- AUTH, HELLO, WHOAMI, CLIENT LIST

#[test]
fn auth_with_username_and_password() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "alice", "on", ">pw", ">other", "~*", "+@all"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "sleeper", "off", ">pw", "~*", "+@all"], "+OK\r\n");
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("default"));
    c.expect_after_cmd(&["AUTH", "alice", "wrong"], WRONGPASS);
    c.expect_after_cmd(&["AUTH", "nosuch", "pw"], WRONGPASS);
    c.expect_after_cmd(&["AUTH", "sleeper", "pw"], WRONGPASS);
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("default"));
    c.expect_after_cmd(&["AUTH", "pw"], "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
    c.expect_after_cmd(&["AUTH", "alice", "other"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("alice"));
    let info = c.cmd(&["CLIENT", "INFO"]);
    assert!(info.contains(" user=alice "), "{info}");
    // RESET goes back to the default user.
    c.expect_after_cmd(&["RESET"], "+RESET\r\n");
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("default"));

    // The redis crate authenticates with a username from the URL.
    let url = format!("redis://alice:pw@127.0.0.1:{}/", s.port);
    let mut rc = redis::Client::open(url).expect("client").get_connection().expect("connect as alice");
    assert_eq!(q::<String>(&mut rc, &["ACL", "WHOAMI"]), "alice");
    let bad = redis::Client::open(format!("redis://alice:nope@127.0.0.1:{}/", s.port)).expect("client");
    assert!(bad.get_connection().is_err());
}

#[test]
fn hello_auth_switches_user_and_protocol() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"], "+OK\r\n");
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["HELLO", "3", "AUTH", "alice", "wrong"], WRONGPASS);
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("default"));
    let hello = c.cmd(&["HELLO", "3", "AUTH", "alice", "pw"]);
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    c.expect_after_cmd(&["ACL", "WHOAMI"], &bulk("alice"));
}

#[test]
fn requirepass_is_the_default_users_password() {
    let s = TestServer::start_with(&["--requirepass", "pw"]);
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["PING"], "-NOAUTH Authentication required.\r\n");
    c.expect_after_cmd(&["AUTH", "pw"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "LIST"], &arr(&[&format!("user default on #{PW_HASH} ~* &* +@all")]));
    // CONFIG SET requirepass is `resetpass >new`.
    c.expect_after_cmd(&["CONFIG", "SET", "requirepass", "new"], "+OK\r\n");
    let mut d = Resp::connect(s.port);
    d.expect_after_cmd(&["AUTH", "pw"], WRONGPASS);
    d.expect_after_cmd(&["AUTH", "default", "new"], "+OK\r\n");
    // A second password given through ACL works too; nopass opens the server to new connections.
    c.expect_after_cmd(&["ACL", "SETUSER", "default", ">pw"], "+OK\r\n");
    let mut e = Resp::connect(s.port);
    e.expect_after_cmd(&["AUTH", "pw"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "SETUSER", "default", "nopass"], "+OK\r\n");
    Resp::connect(s.port).expect_after_cmd(&["PING"], "+PONG\r\n");
    // Turning the default user off makes new connections authenticate as someone else.
    c.expect_after_cmd(&["ACL", "SETUSER", "admin", "on", ">pw", "~*", "&*", "+@all"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "SETUSER", "default", "off"], "+OK\r\n");
    let mut f = Resp::connect(s.port);
    f.expect_after_cmd(&["PING"], "-NOAUTH Authentication required.\r\n");
    f.expect_after_cmd(&["AUTH", "admin", "pw"], "+OK\r\n");
    c.expect_after_cmd(&["CONFIG", "SET", "requirepass", ""], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "SETUSER", "default", "on"], "+OK\r\n");
    c.expect_after_cmd(
        &["ACL", "LIST"],
        &arr(&[
            "user admin on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all",
            "user default on nopass ~* &* +@all",
        ]),
    );
    Resp::connect(s.port).expect_after_cmd(&["PING"], "+PONG\r\n");
}

// ---------------------------------------------------------------- permissions

#[test]
fn commands_categories_subcommands_and_first_args() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            ">pw",
            "~*",
            "-@all",
            "+@hash",
            "+@read",
            "-hgetall",
            "+config|get",
            "+select|0",
        ],
        "+OK\r\n",
    );
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["HSET", "h", "f", "v"], ":1\r\n");
    c.expect_after_cmd(&["HGET", "h", "f"], &bulk("v"));
    c.expect_after_cmd(&["HGETALL", "h"], &noperm_cmd("hgetall"));
    c.expect_after_cmd(&["GET", "k"], "$-1\r\n");
    c.expect_after_cmd(&["SET", "k", "v"], &noperm_cmd("set"));
    c.expect_after_cmd(&["CONFIG", "SET", "maxmemory", "0"], &noperm_cmd("config|set"));
    c.expect_after_cmd(&["CONFIG", "GET", "maxmemory"], &arr(&["maxmemory", "0"]));
    c.expect_after_cmd(&["SELECT", "1"], &noperm_cmd("select"));
    c.expect_after_cmd(&["SELECT", "0"], "+OK\r\n");
    c.expect_after_cmd(&["PING"], &noperm_cmd("ping"));
    // AUTH needs no permission.
    c.expect_after_cmd(&["AUTH", "u", "pw"], "+OK\r\n");
    // The default user can be restricted like any other.
    admin.expect_after_cmd(&["ACL", "SETUSER", "default", "-flushall"], "+OK\r\n");
    admin.expect_after_cmd(&["FLUSHALL"], &noperm_cmd("flushall"));
    admin.expect_after_cmd(&["ACL", "LIST"], &arr(&["user default on nopass ~* &* +@all -flushall", "user u on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* resetchannels -@all +@read +select|0 +hset +hmset +hsetnx +hdel -hgetall +hincrby +hincrbyfloat +config|get"]));
}

#[test]
fn read_and_write_key_patterns() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["MSET", "r1", "a", "w1", "b", "b1", "c"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "on", ">pw", "+@all", "%R~r*", "%W~w*", "~b*"], "+OK\r\n");
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["GET", "r1"], &bulk("a"));
    c.expect_after_cmd(&["SET", "r1", "x"], NOPERM_KEY);
    c.expect_after_cmd(&["SET", "w1", "x"], "+OK\r\n");
    c.expect_after_cmd(&["GET", "w1"], NOPERM_KEY);
    c.expect_after_cmd(&["SET", "w1", "y", "GET"], NOPERM_KEY);
    c.expect_after_cmd(&["DEL", "w1"], ":1\r\n");
    c.expect_after_cmd(&["DEL", "r1"], NOPERM_KEY);
    c.expect_after_cmd(&["MGET", "r1", "b1"], &arr(&["a", "c"]));
    c.expect_after_cmd(&["MGET", "r1", "zz"], NOPERM_KEY);
    c.expect_after_cmd(&["APPEND", "b1", "d"], ":2\r\n");
    c.expect_after_cmd(
        &["ZUNIONSTORE", "w2", "1", "r1"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    c.expect_after_cmd(&["ZUNIONSTORE", "w2", "1", "w1"], NOPERM_KEY);
    admin.expect_after_cmd(&["GET", "w1"], "$-1\r\n");
    admin.expect_after_cmd(&["GET", "r1"], &bulk("a"));
}

#[test]
fn channels_for_publish_and_subscribe() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "on", ">pw", "+@all", "~*", "&news.*", "&exact"], "+OK\r\n");
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["PUBLISH", "news.today", "hi"], ":0\r\n");
    c.expect_after_cmd(&["PUBLISH", "other", "hi"], NOPERM_CHANNEL);
    c.expect_after_cmd(&["PSUBSCRIBE", "news.today"], NOPERM_CHANNEL);
    c.expect_after_cmd(&["SUBSCRIBE", "exact", "other"], NOPERM_CHANNEL);
    c.send(&["SUBSCRIBE", "news.today"]);
    c.expect(&format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("news.today")));
    c.send(&["PSUBSCRIBE", "news.*"]);
    c.expect(&format!("*3\r\n{}{}:2\r\n", bulk("psubscribe"), bulk("news.*")));
    c.send(&["UNSUBSCRIBE", "anything"]);
    c.expect(&format!("*3\r\n{}{}:2\r\n", bulk("unsubscribe"), bulk("anything")));
    // New users get no channels (acl-pubsub-default resetchannels).
    admin.expect_after_cmd(&["ACL", "SETUSER", "v", "on", ">pw", "+@all", "~*"], "+OK\r\n");
    login(&s, "v").expect_after_cmd(&["PUBLISH", "news.today", "hi"], NOPERM_CHANNEL);
    admin.expect_after_cmd(&["CONFIG", "SET", "acl-pubsub-default", "allchannels"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "w", "on", ">pw", "+@all", "~*"], "+OK\r\n");
    login(&s, "w").expect_after_cmd(&["PUBLISH", "news.today", "hi"], ":2\r\n");
    admin.expect_after_cmd(&["ACL", "GETUSER", "w"], &admin_getuser_w());
}

fn admin_getuser_w() -> String {
    format!(
        "*12\r\n{}*1\r\n{}{}*1\r\n{}{}{}{}{}{}{}{}*0\r\n",
        bulk("flags"),
        bulk("on"),
        bulk("passwords"),
        bulk(PW_HASH),
        bulk("commands"),
        bulk("+@all"),
        bulk("keys"),
        bulk("~*"),
        bulk("channels"),
        bulk("&*"),
        bulk("selectors"),
    )
}

#[test]
fn revoking_a_channel_disconnects_its_subscribers() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "on", ">pw", "+@all", "~*", "&a", "&b"], "+OK\r\n");
    let mut sub = s.raw();
    sub.roundtrip(b"AUTH u pw\r\n", b"+OK\r\n");
    sub.roundtrip(b"SUBSCRIBE a\r\n", b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    // Still allowed to a: stays connected.
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "resetchannels", "&a"], "+OK\r\n");
    admin.expect_after_cmd(&["PUBLISH", "a", "still"], ":1\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "resetchannels", "&b"], "+OK\r\n");
    assert!(sub.read_n(1000).starts_with(b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nstill\r\n"));
    assert!(eventually(|| admin.cmd(&["PUBSUB", "NUMSUB", "a"]) == format!("*2\r\n{}:0\r\n", bulk("a"))));
}

#[test]
fn selectors_allow_what_one_of_them_allows() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(
        &["ACL", "SETUSER", "u", "on", ">pw", "+get", "~r*", "(+set ~w*)", "(%R~x* +@read)"],
        "+OK\r\n",
    );
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["GET", "r1"], "$-1\r\n");
    c.expect_after_cmd(&["SET", "w1", "v"], "+OK\r\n");
    c.expect_after_cmd(&["GET", "x1"], "$-1\r\n");
    c.expect_after_cmd(&["STRLEN", "x1"], ":0\r\n");
    // Refused by every selector: the reason reported is the furthest-reaching one.
    c.expect_after_cmd(&["SET", "r1", "v"], NOPERM_KEY);
    c.expect_after_cmd(&["DEL", "w1"], &noperm_cmd("del"));
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "clearselectors"], "+OK\r\n");
    c.expect_after_cmd(&["SET", "w1", "v"], &noperm_cmd("set"));
}

#[test]
fn noperm_inside_multi_aborts_and_exec_rechecks() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(
        &["ACL", "SETUSER", "u", "on", ">pw", "-@all", "+@transaction", "+get", "+set", "~k*", "&c*", "+publish"],
        "+OK\r\n",
    );
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["MULTI"], "+OK\r\n");
    c.expect_after_cmd(&["GET", "k1"], "+QUEUED\r\n");
    c.expect_after_cmd(&["GET", "other"], NOPERM_KEY);
    c.expect_after_cmd(&["DEL", "k1"], &noperm_cmd("del"));
    c.expect_after_cmd(&["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n");
    // Rules changed between queueing and EXEC: each command is checked again.
    c.expect_after_cmd(&["MULTI"], "+OK\r\n");
    c.expect_after_cmd(&["SET", "k1", "v"], "+QUEUED\r\n");
    c.expect_after_cmd(&["GET", "k1"], "+QUEUED\r\n");
    c.expect_after_cmd(&["PUBLISH", "c1", "x"], "+QUEUED\r\n");
    c.expect_after_cmd(&["GET", "k2"], "+QUEUED\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "-get", "resetchannels", "resetkeys", "~k1"], "+OK\r\n");
    let why = "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ";
    c.expect_after_cmd(
        &["EXEC"],
        &format!(
            "*4\r\n+OK\r\n{why}no permission to execute the command or subcommand\r\n{why}no permission to access one of the channels used as arguments\r\n{why}no permission to execute the command or subcommand\r\n"
        ),
    );
    admin.expect_after_cmd(&["GET", "k1"], &bulk("v"));
    // A refused EXEC itself aborts the transaction.
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "-exec"], "+OK\r\n");
    c.expect_after_cmd(&["MULTI"], "+OK\r\n");
    c.expect_after_cmd(&["EXEC"], "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n");
    let log = admin.cmd(&["ACL", "LOG", "1"]);
    assert!(log.contains(&format!("{}{}", bulk("object"), bulk("exec"))), "{log}");
}

// ---------------------------------------------------------------- ACL LOG

/// The value after `field` in a RESP2 log entry.
fn field(log: &str, field: &str) -> String {
    let at = log.find(&bulk(field)).unwrap_or_else(|| panic!("no {field} in {log}")) + bulk(field).len();
    let rest = &log[at..];
    let line_end = rest.find("\r\n").expect("line");
    if let Some(n) = rest[..line_end].strip_prefix('$') {
        let n: usize = n.parse().expect("len");
        rest[line_end + 2..line_end + 2 + n].to_string()
    } else {
        rest[1..line_end].to_string()
    }
}

#[test]
fn acl_log_records_denials() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "on", ">pw", "+@all", "~k*", "&c*"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "LOG"], "*0\r\n");
    let mut c = login(&s, "u");
    c.expect_after_cmd(&["GET", "other"], NOPERM_KEY);
    c.expect_after_cmd(&["GET", "other"], NOPERM_KEY);
    c.expect_after_cmd(&["PUBLISH", "zz", "m"], NOPERM_CHANNEL);
    c.expect_after_cmd(&["AUTH", "u", "wrong"], WRONGPASS);
    admin.expect_after_cmd(&["ACL", "SETUSER", "u", "-get"], "+OK\r\n");
    c.expect_after_cmd(&["MULTI"], "+OK\r\n");
    c.expect_after_cmd(&["GET", "k1"], &noperm_cmd("get"));

    let log = admin.cmd(&["ACL", "LOG"]);
    assert!(log.starts_with("*4\r\n*14\r\n"), "{log}");
    let entries: Vec<&str> = log.split("*14\r\n").skip(1).collect();
    let summary: Vec<(String, String, String, String, String)> = entries
        .iter()
        .map(|e| (field(e, "count"), field(e, "reason"), field(e, "context"), field(e, "object"), field(e, "username")))
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| (a.into(), b.into(), c.into(), d.into(), e.into());
    assert_eq!(
        summary,
        vec![
            row("1", "command", "multi", "get", "u"),
            row("1", "auth", "toplevel", "AUTH", "u"),
            row("1", "channel", "toplevel", "zz", "u"),
            row("2", "key", "toplevel", "other", "u"),
        ]
    );
    let info = field(entries[0], "client-info");
    assert!(info.starts_with("id=") && info.contains(" flags=x ") && info.contains(" cmd=get user=u "), "{info}");
    let age: f64 = field(entries[3], "age-seconds").parse().expect("age");
    assert!((0.0..5.0).contains(&age));
    assert_eq!(admin.cmd(&["ACL", "LOG", "1"]).matches("*14\r\n").count(), 1);
    admin.expect_after_cmd(&["ACL", "LOG", "-5"], "*0\r\n");
    admin.expect_after_cmd(&["ACL", "LOG", "x"], "-ERR value is not an integer or out of range\r\n");
    admin.expect_after_cmd(
        &["ACL", "LOG", "1", "2"],
        "-ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.\r\n",
    );
    // RESP3: maps, with a double for the age.
    let mut c3 = Resp::connect3(s.port);
    let log3 = c3.cmd(&["ACL", "LOG", "1"]);
    assert!(
        log3.starts_with("*1\r\n%7\r\n$5\r\ncount\r\n:1\r\n") && log3.contains("$11\r\nage-seconds\r\n,"),
        "{log3}"
    );
    admin.expect_after_cmd(&["ACL", "LOG", "RESET"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "LOG"], "*0\r\n");
    // acllog-max-len bounds the log.
    admin.expect_after_cmd(&["CONFIG", "SET", "acllog-max-len", "2"], "+OK\r\n");
    c.expect_after_cmd(&["DISCARD"], "+OK\r\n");
    for key in ["x1", "x2", "x3"] {
        c.expect_after_cmd(&["SET", key, "v"], NOPERM_KEY);
    }
    let log = admin.cmd(&["ACL", "LOG"]);
    assert!(log.starts_with("*2\r\n") && log.contains(&bulk("x3")) && !log.contains(&bulk("x1")), "{log}");
}

// ---------------------------------------------------------------- DRYRUN, CAT, GENPASS, HELP

#[test]
fn dryrun_answers_without_running() {
    let s = TestServer::start();
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["ACL", "SETUSER", "u", "on", "+@all", "-del", "%R~r*", "&c*"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "DRYRUN", "u", "GET", "r1"], "+OK\r\n");
    c.expect_after_cmd(
        &["ACL", "DRYRUN", "u", "SET", "r1", "v"],
        &bulk("This user has no permissions to access the 'r1' key"),
    );
    c.expect_after_cmd(
        &["ACL", "DRYRUN", "u", "DEL", "r1"],
        &bulk("This user has no permissions to run the 'del' command"),
    );
    c.expect_after_cmd(
        &["ACL", "DRYRUN", "u", "PUBLISH", "zz", "m"],
        &bulk("This user has no permissions to access the 'zz' channel"),
    );
    c.expect_after_cmd(&["ACL", "DRYRUN", "nosuch", "GET", "k"], "-ERR User 'nosuch' not found\r\n");
    c.expect_after_cmd(&["ACL", "DRYRUN", "u", "NOSUCH"], "-ERR Command 'NOSUCH' not found\r\n");
    c.expect_after_cmd(&["ACL", "DRYRUN", "u", "CONFIG", "NOSUB"], "-ERR Command 'CONFIG' not found\r\n");
    c.expect_after_cmd(&["ACL", "DRYRUN", "u", "GET"], "-ERR wrong number of arguments for 'get' command\r\n");
    c.expect_after_cmd(
        &["ACL", "DRYRUN", "u", "CONFIG", "GET"],
        "-ERR wrong number of arguments for 'config|get' command\r\n",
    );
    c.expect_after_cmd(&["ACL", "LOG"], "*0\r\n");
}

#[test]
fn cat_lists_categories_and_their_commands() {
    let s = TestServer::start();
    let mut c = s.conn();
    let cats: Vec<String> = q(&mut c, &["ACL", "CAT"]);
    assert_eq!(cats.len(), 21);
    assert_eq!(&cats[..3], ["keyspace", "read", "write"]);
    let mut tx: Vec<String> = q(&mut c, &["ACL", "CAT", "transaction"]);
    tx.sort();
    assert_eq!(tx, ["discard", "exec", "multi", "unwatch", "watch"]);
    let admin: Vec<String> = q(&mut c, &["ACL", "CAT", "Admin"]);
    assert!(admin.contains(&"acl|setuser".to_string()) && admin.contains(&"client|kill".to_string()));
    assert!(!admin.contains(&"get".to_string()));
    assert_eq!(err(&mut c, &["ACL", "CAT", "nosuch"]), "ERR Unknown category 'nosuch'");
    assert_eq!(
        err(&mut c, &["ACL", "CAT", "a", "b"]),
        "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP."
    );
    // COMMAND INFO prints the same categories, in Redis's order.
    let mut r = Resp::connect(s.port);
    let info = r.cmd(&["COMMAND", "INFO", "get"]);
    assert!(info.contains("*3\r\n+@read\r\n+@string\r\n+@fast\r\n"), "{info}");
    let help: Vec<String> = q(&mut c, &["ACL", "HELP"]);
    assert_eq!(help.first().map(String::as_str), Some("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    assert_eq!(help.len(), 29);
}

#[test]
fn genpass_makes_hex_of_the_asked_size() {
    let s = TestServer::start();
    let mut c = s.conn();
    let a: String = q(&mut c, &["ACL", "GENPASS"]);
    let b: String = q(&mut c, &["ACL", "GENPASS"]);
    assert_eq!(a.len(), 64);
    assert!(a.bytes().all(|x| x.is_ascii_hexdigit() && !x.is_ascii_uppercase()));
    assert_ne!(a, b);
    assert_eq!(q::<String>(&mut c, &["ACL", "GENPASS", "5"]).len(), 2);
    assert_eq!(q::<String>(&mut c, &["ACL", "GENPASS", "4096"]).len(), 1024);
    let range =
        "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";
    assert_eq!(err(&mut c, &["ACL", "GENPASS", "0"]), range);
    assert_eq!(err(&mut c, &["ACL", "GENPASS", "4097"]), range);
    assert_eq!(err(&mut c, &["ACL", "GENPASS", "x"]), "ERR value is not an integer or out of range");
}

// ---------------------------------------------------------------- DELUSER, CLIENT KILL USER

#[test]
fn deluser_disconnects_the_users_clients() {
    let s = TestServer::start();
    let mut admin = Resp::connect(s.port);
    admin.expect_after_cmd(&["ACL", "SETUSER", "bob", "on", ">pw", "~*", "+@all"], "+OK\r\n");
    admin.expect_after_cmd(&["ACL", "SETUSER", "carl", "on", ">pw", "~*", "+@all"], "+OK\r\n");
    let mut bob = s.raw();
    bob.roundtrip(b"AUTH bob pw\r\n", b"+OK\r\n");
    let mut carl = s.raw();
    carl.roundtrip(b"AUTH carl pw\r\n", b"+OK\r\n");
    admin.expect_after_cmd(&["ACL", "DELUSER", "default"], "-ERR The 'default' user cannot be removed\r\n");
    admin.expect_after_cmd(&["ACL", "DELUSER", "bob", "nosuch", "bob"], ":1\r\n");
    assert!(bob.is_closed());
    carl.roundtrip(b"PING\r\n", b"+PONG\r\n");
    admin.expect_after_cmd(&["ACL", "USERS"], &arr(&["carl", "default"]));
    // Turning a user off keeps its connections (Redis 7.0 does the same), but refuses new logins.
    admin.expect_after_cmd(&["ACL", "SETUSER", "carl", "off"], "+OK\r\n");
    carl.roundtrip(b"PING\r\n", b"+PONG\r\n");
    Resp::connect(s.port).expect_after_cmd(&["AUTH", "carl", "pw"], WRONGPASS);
    // CLIENT KILL USER.
    admin.expect_after_cmd(&["CLIENT", "KILL", "USER", "nosuch"], "-ERR No such user 'nosuch'\r\n");
    admin.expect_after_cmd(&["CLIENT", "KILL", "USER", "carl"], ":1\r\n");
    assert!(carl.is_closed());
    // Deleting the user a client is logged in as closes it after the reply.
    admin.expect_after_cmd(&["ACL", "SETUSER", "dan", "on", ">pw", "~*", "+@all"], "+OK\r\n");
    let mut dan = s.raw();
    dan.roundtrip(b"AUTH dan pw\r\n", b"+OK\r\n");
    dan.roundtrip(b"ACL DELUSER dan\r\n", b":1\r\n");
    assert!(dan.is_closed());
}

// ---------------------------------------------------------------- ACL file

#[test]
fn save_and_load_round_trip_through_the_acl_file() {
    let path = temp_path("roundtrip");
    std::fs::write(&path, "user default on nopass ~* &* +@all\nuser alice on >pw ~app:* &* -@all +@read\n")
        .expect("write");
    let s = TestServer::start_with(&["--aclfile", path.to_str().expect("path")]);
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(
        &["ACL", "LIST"],
        &arr(&[&format!("user alice on #{PW_HASH} ~app:* &* -@all +@read"), "user default on nopass ~* &* +@all"]),
    );
    let mut alice = s.raw();
    alice.roundtrip(b"AUTH alice pw\r\n", b"+OK\r\n");
    alice.roundtrip(b"GET app:1\r\n", b"$-1\r\n");
    c.expect_after_cmd(&["ACL", "SETUSER", "bob", "on", "nopass", "%R~b*", "(+set ~w*)"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "SAVE"], "+OK\r\n");
    let saved = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        saved,
        format!(
            "user alice on #{PW_HASH} ~app:* &* -@all +@read\nuser bob on nopass %R~b* resetchannels -@all (~w* resetchannels -@all +set)\nuser default on nopass ~* &* +@all\n"
        )
    );
    // A bad file changes nothing and says why.
    std::fs::write(&path, "user carol on >pw +nosuch\nnot a user line\n").expect("write");
    let p = path.display();
    c.expect_after_cmd(
        &["ACL", "LOAD"],
        &format!("-ERR {p}:1: Unknown command or category name in ACL. {p}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"),
    );
    c.expect_after_cmd(&["ACL", "USERS"], &arr(&["alice", "bob", "default"]));
    // A good file replaces every user; clients of replaced users are disconnected.
    std::fs::write(&path, "user carol on >pw ~* +@all\n").expect("write");
    c.expect_after_cmd(&["ACL", "LOAD"], "+OK\r\n");
    c.expect_after_cmd(&["ACL", "USERS"], &arr(&["carol", "default"]));
    assert!(alice.is_closed());
    c.expect_after_cmd(&["PING"], "+PONG\r\n");
    login(&s, "carol").expect_after_cmd(&["ACL", "WHOAMI"], &bulk("carol"));
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}

#[test]
fn save_and_load_need_an_acl_file() {
    let s = TestServer::start();
    let mut c = Resp::connect(s.port);
    c.expect_after_cmd(&["ACL", "SAVE"], NO_ACLFILE);
    c.expect_after_cmd(&["ACL", "LOAD"], NO_ACLFILE);
    c.expect_after_cmd(
        &["CONFIG", "SET", "aclfile", "/tmp/x"],
        "-ERR CONFIG SET failed (possibly related to argument 'aclfile') - can't set immutable config\r\n",
    );
    c.expect_after_cmd(&["CONFIG", "GET", "acl*"], "*6\r\n$7\r\naclfile\r\n$0\r\n\r\n$14\r\nacllog-max-len\r\n$3\r\n128\r\n$18\r\nacl-pubsub-default\r\n$13\r\nresetchannels\r\n");
}

#[test]
fn a_bad_acl_file_stops_the_server_from_starting() {
    let path = temp_path("bad");
    std::fs::write(&path, "user alice on foo\n").expect("write");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let start = |file: &std::path::Path| {
        let args: Vec<String> = ["--port", "0", "--bind", "127.0.0.1", "--save", "", "--aclfile"]
            .iter()
            .map(|s| s.to_string())
            .chain([file.display().to_string()])
            .collect();
        let config = strata::Config::from_args(&args).expect("config");
        rt.block_on(strata::start(config)).map(|h| h.shutdown()).map_err(|e| e.to_string())
    };
    let p = path.display();
    assert_eq!(
        start(&path),
        Err(format!("Aborting startup because of ACL errors: {p}:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"))
    );
    let missing = path.with_file_name("missing.acl");
    assert_eq!(
        start(&missing),
        Err(format!(
            "Aborting startup because of ACL errors: Error loading ACLs, opening file '{}': No such file or directory",
            missing.display()
        ))
    );
    let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
}
