//! The ACL file (`aclfile`): one `user <name> <rules...>` line per user, read by ACL LOAD and at startup, written
//! by ACL SAVE.
//!
//! Loading is all or nothing: every line is checked, every problem is collected into one message (in Redis's
//! words), and on any problem the running users stay as they were.

use super::user::{merge_selector_args, User};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::io::Write;

/// Users by name, in name order (the order ACL LIST and ACL SAVE use).
pub type Users = BTreeMap<Bytes, User>;

fn trim<'a>(mut s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = s {
        if !chars.contains(first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !chars.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

/// `strerror`'s text for an I/O error, without Rust's ` (os error N)` suffix.
pub fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(at) => s[..at].to_string(),
        None => s,
    }
}

/// Parses the text of an ACL file. `filename` names it in messages; `pubsub_all` is `acl-pubsub-default`.
///
/// # Errors
/// Every problem found, in one line, ending with Redis's "no change ... was performed" warning.
pub fn parse(text: &[u8], filename: &str, pubsub_all: bool) -> Result<Users, String> {
    let mut users = Users::new();
    let mut errors = String::new();
    for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
        let n = i + 1;
        let line = trim(raw, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
        let (Some(&keyword), Some(&name)) = (argv.first(), argv.get(1)) else {
            errors.push_str(&format!("{filename}:{n} should start with user keyword followed by the username. "));
            continue;
        };
        if keyword != b"user" {
            errors.push_str(&format!("{filename}:{n} should start with user keyword followed by the username. "));
            continue;
        }
        if name.iter().any(|&c| c.is_ascii_whitespace() || c == 0 || c == b'\x0b') {
            let name = String::from_utf8_lossy(name);
            errors.push_str(&format!("'{filename}:{n}: username '{name}' contains invalid characters. "));
            continue;
        }
        let key = Bytes::copy_from_slice(name);
        if users.contains_key(&key) {
            let name = String::from_utf8_lossy(name);
            errors.push_str(&format!("WARNING: Duplicate user '{name}' found on line {n}. "));
            continue;
        }
        let mut user = User::new(name, pubsub_all);
        match merge_selector_args(&argv[2..]) {
            Err(_) => {
                errors.push_str(&format!("{filename}:{n}: Unmatched parenthesis in selector definition."));
            }
            Ok(rules) => {
                for rule in rules {
                    if let Err(e) = user.apply(trim(&rule, b"\t\r\n"), pubsub_all) {
                        errors.push_str(&format!("{filename}:{n}: {}. ", e.text()));
                    }
                }
            }
        }
        users.insert(key, user);
    }
    if !errors.is_empty() {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        return Err(errors);
    }
    users.entry(Bytes::from_static(b"default")).or_insert_with(User::new_default);
    Ok(users)
}

/// Reads and parses the ACL file at `path`.
///
/// # Errors
/// As [`parse`], or `Error loading ACLs, opening file '...': ...` when it cannot be read.
pub fn load(path: &str, pubsub_all: bool) -> Result<Users, String> {
    let text =
        std::fs::read(path).map_err(|e| format!("Error loading ACLs, opening file '{path}': {}", os_error_text(&e)))?;
    parse(&text, path, pubsub_all)
}

/// The file's text for `users`.
pub fn render<'a>(users: impl Iterator<Item = &'a User>) -> Vec<u8> {
    let mut out = Vec::new();
    for u in users {
        out.extend_from_slice(&u.acl_line());
        out.push(b'\n');
    }
    out
}

/// Writes `text` to `path` through a temporary file renamed over it, so a reader never sees half a file.
///
/// # Errors
/// The I/O error, already logged.
pub fn write(path: &str, text: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp-{}-{}", std::process::id(), crate::util::clock::unix_ms());
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = &result {
        tracing::warn!("Writing ACL file for ACL SAVE: {}", os_error_text(e));
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users_and_adds_the_default_user() {
        let users = parse(b"user alice on >pw ~app:* +@read\n\nuser bob off (~b* +get)\n", "f.acl", false).unwrap();
        let names: Vec<_> = users.keys().cloned().collect();
        assert_eq!(names, ["alice", "bob", "default"]);
        assert_eq!(users[&Bytes::from_static(b"default")], User::new_default());
    }

    #[test]
    fn collects_every_error_and_loads_nothing() {
        let err = parse(b"# comment\nuser a on foo\nuser a on\nuser b (~x\n", "f.acl", false).unwrap_err();
        assert_eq!(
            err,
            "f.acl:1 should start with user keyword followed by the username. f.acl:2: Syntax error. WARNING: \
             Duplicate user 'a' found on line 3. f.acl:4: Unmatched parenthesis in selector definition.WARNING: ACL \
             errors detected, no change to the previously active ACL rules was performed"
        );
    }

    #[test]
    fn renders_what_it_parses() {
        let users = parse(b"user default on nopass ~* &* +@all\nuser x on #0000000000000000000000000000000000000000000000000000000000000000 %R~a resetchannels &c -@all +get\n", "f", false).unwrap();
        let text = render(users.values());
        assert_eq!(parse(&text, "f", false).unwrap(), users);
        assert!(String::from_utf8(text).unwrap().ends_with("%R~a resetchannels &c -@all +get\n"));
    }
}
