//! ACL command categories: the names, in Redis's order, and the bit each has in a command's category set.
//!
//! The order is observable: `ACL CAT`, `COMMAND INFO` and the category rules `ACL LIST` prints all follow it.
//! Which categories a command belongs to is decided by the command table (`commands/introspect.rs`).

/// Every category, in Redis 7.0's order. A command's categories are a bit set: bit `i` is `CATEGORIES[i]`.
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of category `name` (without the `@`, any case), or `None` for an unknown name.
pub fn bit(name: &[u8]) -> Option<u32> {
    CATEGORIES.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name)).map(|i| 1 << i)
}

/// The bit of a category known to exist (the table's own names).
pub const fn known(name: &str) -> u32 {
    let mut i = 0;
    while i < CATEGORIES.len() {
        if str_eq(CATEGORIES[i], name) {
            return 1 << i;
        }
        i += 1;
    }
    0
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The names in `bits`, in Redis's order.
pub fn names(bits: u32) -> impl Iterator<Item = &'static str> {
    CATEGORIES.iter().enumerate().filter(move |(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_names_agree() {
        assert_eq!(bit(b"READ"), Some(known("read")));
        assert_eq!(bit(b"nosuch"), None);
        assert_eq!(known("scripting"), 1 << 20);
        let v: Vec<_> = names(known("slow") | known("read")).collect();
        assert_eq!(v, ["read", "slow"]);
    }
}
