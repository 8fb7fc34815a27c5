//! Access control lists, as Redis 7.0 has them.
//!
//! - `categories`: the ACL category names and bits (which commands belong to which is the command table's part).

pub mod categories;

pub use categories::CATEGORIES;
