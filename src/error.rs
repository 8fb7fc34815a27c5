//! Command errors and every Redis error text Strata sends, in one place.
//!
//! Handlers return `Err(CmdError)`; the text always starts with its code (`ERR`, `WRONGTYPE`, ...), which is what
//! clients parse and what `INFO errorstats` counts. Never write a Redis error string inline in a handler: add it here.

use std::borrow::Cow;

/// An error reply. `0` is the full line without the leading `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl CmdError {
    /// An error with a fixed text.
    pub const fn fixed(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s))
    }

    /// An `ERR`-coded error built at run time.
    pub fn err(msg: impl std::fmt::Display) -> Self {
        CmdError(Cow::Owned(format!("ERR {msg}")))
    }

    /// An error whose text (with its code) is built at run time.
    pub fn raw(msg: String) -> Self {
        CmdError(Cow::Owned(msg))
    }

    /// The error code: the first word (`ERR`, `WRONGTYPE`, ...), as `INFO errorstats` keys it.
    pub fn code(&self) -> &str {
        self.0.split(' ').next().unwrap_or("ERR")
    }

    /// `-ERR wrong number of arguments for 'get' command`.
    pub fn arity(name: &str) -> Self {
        CmdError::err(format!("wrong number of arguments for '{name}' command"))
    }

    /// What a RESP2 subscriber gets for a command other than (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET.
    pub fn subscribed_context(name: &str) -> Self {
        CmdError::err(format!(
            "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))
    }

    /// `-ERR unknown subcommand 'x'. Try CONFIG HELP.`
    pub fn unknown_subcommand(sub: &[u8], container: &str) -> Self {
        CmdError::err(format!(
            "unknown subcommand '{}'. Try {} HELP.",
            truncate_lossy(sub, 128),
            container.to_ascii_uppercase()
        ))
    }

    /// `-ERR invalid expire time in 'set' command`.
    pub fn invalid_expire(cmd: &str) -> Self {
        CmdError::err(format!("invalid expire time in '{cmd}' command"))
    }

    /// `-ERR unknown subcommand or wrong number of arguments for 'log'. Try ACL HELP.`: a known subcommand called
    /// with arguments its handler does not accept.
    pub fn subcommand_syntax(sub: &[u8], container: &str) -> Self {
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            truncate_lossy(sub, 128),
            container.to_ascii_uppercase()
        ))
    }

    /// `-NOPERM this user has no permissions to run the 'config|set' command`.
    pub fn noperm_command(full_name: &str) -> Self {
        CmdError(Cow::Owned(format!("NOPERM this user has no permissions to run the '{full_name}' command")))
    }

    /// `-ERR Error in ACL SETUSER modifier '<rule>': <why>` (`why` is one of the `ACL_RULE_*` texts).
    pub fn acl_modifier(rule: &[u8], why: &str) -> Self {
        CmdError::err(format!("Error in ACL SETUSER modifier '{}': {why}", String::from_utf8_lossy(rule)))
    }

    /// `-ERR Unmatched parenthesis in acl selector starting at '<arg>'.`
    pub fn acl_unmatched_paren(arg: &[u8]) -> Self {
        CmdError::err(format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(arg)))
    }

    /// `-ERR Unknown category 'x'` (ACL CAT).
    pub fn acl_unknown_category(name: &[u8]) -> Self {
        CmdError::err(format!("Unknown category '{}'", truncate_lossy(name, 128)))
    }

    /// `-ERR User 'x' not found` (ACL DRYRUN).
    pub fn acl_no_such_user(name: &[u8]) -> Self {
        CmdError::err(format!("User '{}' not found", String::from_utf8_lossy(name)))
    }

    /// `-ERR Command 'x' not found` (ACL DRYRUN).
    pub fn acl_no_such_command(name: &[u8]) -> Self {
        CmdError::err(format!("Command '{}' not found", String::from_utf8_lossy(name)))
    }

    /// `-ERR No such user 'x'` (CLIENT KILL USER).
    pub fn no_such_user(name: &[u8]) -> Self {
        CmdError::err(format!("No such user '{}'", String::from_utf8_lossy(name)))
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lossy UTF-8 of at most `max` bytes, for echoing user input inside an error text.
pub fn truncate_lossy(s: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&s[..s.len().min(max)]).into_owned()
}

/// Result of a command handler.
pub type CmdResult<T = crate::protocol::Reply> = Result<T, CmdError>;

pub const WRONGTYPE: CmdError = CmdError::fixed("WRONGTYPE Operation against a key holding the wrong kind of value");
pub const SYNTAX: CmdError = CmdError::fixed("ERR syntax error");
pub const NOT_INTEGER: CmdError = CmdError::fixed("ERR value is not an integer or out of range");
pub const NOT_FLOAT: CmdError = CmdError::fixed("ERR value is not a valid float");
pub const OVERFLOW: CmdError = CmdError::fixed("ERR increment or decrement would overflow");
pub const INCR_NAN_INF: CmdError = CmdError::fixed("ERR increment would produce NaN or Infinity");
pub const NO_SUCH_KEY: CmdError = CmdError::fixed("ERR no such key");
/// RESTORE: the payload's RDB version is newer than 10 or its CRC64 does not match.
pub const DUMP_PAYLOAD: CmdError = CmdError::fixed("ERR DUMP payload version or checksum are wrong");
/// RESTORE: the value inside a well-sealed payload could not be decoded (or failed validation).
pub const BAD_DATA_FORMAT: CmdError = CmdError::fixed("ERR Bad data format");
/// RESTORE without REPLACE onto an existing key.
pub const BUSYKEY: CmdError = CmdError::fixed("BUSYKEY Target key name already exists.");
pub const INVALID_TTL: CmdError = CmdError::fixed("ERR Invalid TTL value, must be >= 0");
pub const INVALID_IDLETIME: CmdError = CmdError::fixed("ERR Invalid IDLETIME value, must be >= 0");
pub const INVALID_FREQ: CmdError = CmdError::fixed("ERR Invalid FREQ value, must be >= 0 and <= 255");
pub const DB_INDEX_OUT_OF_RANGE: CmdError = CmdError::fixed("ERR DB index is out of range");
pub const INVALID_DB_INDEX: CmdError = CmdError::fixed("ERR invalid DB index");
pub const STRING_TOO_LONG: CmdError = CmdError::fixed("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
pub const NOAUTH: CmdError = CmdError::fixed("NOAUTH Authentication required.");
pub const WRONGPASS: CmdError = CmdError::fixed("WRONGPASS invalid username-password pair or user is disabled.");
pub const AUTH_NOT_CONFIGURED: CmdError = CmdError::fixed(
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
);
pub const EXECABORT: CmdError = CmdError::fixed("EXECABORT Transaction discarded because of previous errors.");
pub const MULTI_NESTED: CmdError = CmdError::fixed("ERR MULTI calls can not be nested");
pub const EXEC_WITHOUT_MULTI: CmdError = CmdError::fixed("ERR EXEC without MULTI");
pub const DISCARD_WITHOUT_MULTI: CmdError = CmdError::fixed("ERR DISCARD without MULTI");
pub const WATCH_IN_MULTI: CmdError = CmdError::fixed("ERR WATCH inside MULTI is not allowed");
pub const LOADING: CmdError = CmdError::fixed("LOADING Redis is loading the dataset in memory");
pub const MISCONF: CmdError = CmdError::fixed(
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
);
pub const BGSAVE_IN_PROGRESS: CmdError = CmdError::fixed("ERR Background save already in progress");
pub const OOM: CmdError = CmdError::fixed("OOM command not allowed when used memory > 'maxmemory'.");
pub const SAME_OBJECT: CmdError = CmdError::fixed("ERR source and destination objects are the same");
pub const TIMEOUT_NEGATIVE: CmdError = CmdError::fixed("ERR timeout is negative");
pub const TIMEOUT_NOT_FLOAT: CmdError = CmdError::fixed("ERR timeout is not a float or out of range");
pub const BIT_OFFSET: CmdError = CmdError::fixed("ERR bit offset is not an integer or out of range");
pub const BIT_VALUE: CmdError = CmdError::fixed("ERR bit is not an integer or out of range");
pub const NO_SUCH_CLIENT: CmdError = CmdError::fixed("ERR No such client");
pub const NOPROTO: CmdError = CmdError::fixed("NOPROTO unsupported protocol version");
pub const PROTOCOL_VERSION_NOT_INT: CmdError =
    CmdError::fixed("ERR Protocol version is not an integer or out of range");
pub const NOT_ALLOWED_IN_MULTI: CmdError = CmdError::fixed("ERR Command not allowed inside a transaction");
pub const PANIC: CmdError = CmdError::fixed("ERR internal error while executing the command (logged)");
pub const MAX_CLIENTS: CmdError = CmdError::fixed("ERR max number of clients reached");
pub const DENIED_PROTECTED_MODE: CmdError = CmdError::fixed(
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.",
);
pub const DEBUG_NOT_ALLOWED: CmdError = CmdError::fixed(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
);

pub const NOPERM_KEY: CmdError =
    CmdError::fixed("NOPERM this user has no permissions to access one of the keys used as arguments");
pub const NOPERM_CHANNEL: CmdError =
    CmdError::fixed("NOPERM this user has no permissions to access one of the channels used as arguments");
pub const NOPERM_EXEC_COMMAND: CmdError = CmdError::fixed(
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand",
);
pub const NOPERM_EXEC_KEY: CmdError = CmdError::fixed(
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to touch the specified keys",
);
pub const NOPERM_EXEC_CHANNEL: CmdError = CmdError::fixed(
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to access one of the channels used as arguments",
);
pub const ACL_USERNAME_SPACES: CmdError = CmdError::fixed("ERR Usernames can't contain spaces or null characters");
pub const ACL_DEFAULT_UNDELETABLE: CmdError = CmdError::fixed("ERR The 'default' user cannot be removed");
pub const ACL_NO_FILE: CmdError = CmdError::fixed(
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
);
pub const ACL_SAVE_FAILED: CmdError = CmdError::fixed(
    "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
);
pub const ACL_GENPASS_BITS: CmdError = CmdError::fixed(
    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
);

// The reasons ACL SETUSER gives after `Error in ACL SETUSER modifier '...': ` (and the ACL file loader after
// `file:line: `).
pub const ACL_RULE_SYNTAX: &str = "Syntax error";
pub const ACL_RULE_UNKNOWN_COMMAND: &str = "Unknown command or category name in ACL";
pub const ACL_RULE_KEYS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
pub const ACL_RULE_CHANNELS_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
pub const ACL_RULE_NO_SUCH_PASSWORD: &str = "The password you are trying to remove from the user does not exist";
pub const ACL_RULE_BAD_HASH: &str =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
pub const ACL_RULE_SUBCOMMAND_FIRST_ARG: &str = "Allowing first-arg of a subcommand is not supported";

/// ACL DRYRUN's answer (a bulk string, not an error) when the command is refused.
pub fn acl_dryrun_command(full_name: &str) -> String {
    format!("This user has no permissions to run the '{full_name}' command")
}

/// ACL DRYRUN's answer when a key is refused (the key's bytes as sent).
pub fn acl_dryrun_key(key: &[u8]) -> Vec<u8> {
    [&b"This user has no permissions to access the '"[..], key, b"' key"].concat()
}

/// ACL DRYRUN's answer when a channel is refused.
pub fn acl_dryrun_channel(channel: &[u8]) -> Vec<u8> {
    [&b"This user has no permissions to access the '"[..], channel, b"' channel"].concat()
}
pub const BUSY_SCRIPT: CmdError =
    CmdError::fixed("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
pub const BUSY_FUNCTION: CmdError =
    CmdError::fixed("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
pub const NOTBUSY: CmdError = CmdError::fixed("NOTBUSY No scripts in execution right now.");
pub const UNKILLABLE: CmdError = CmdError::fixed(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the \
     script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
);
pub const NOSCRIPT: CmdError = CmdError::fixed("NOSCRIPT No matching script. Please use EVAL.");
pub const NUMKEYS_NEGATIVE: CmdError = CmdError::fixed("ERR Number of keys can't be negative");
pub const NUMKEYS_TOO_BIG: CmdError = CmdError::fixed("ERR Number of keys can't be greater than number of args");
pub const FUNCTION_NOT_FOUND: CmdError = CmdError::fixed("ERR Function not found");
pub const LIBRARY_NOT_FOUND: CmdError = CmdError::fixed("ERR Library not found");
pub const SCRIPT_WRITE_FROM_RO: CmdError =
    CmdError::fixed("ERR Can not execute a script with write flag using *_ro command.");
