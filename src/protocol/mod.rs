//! The wire protocol, self-contained: it imports nothing from the store, the commands or the server.
//!
//! - `decode`: requests (RESP multibulk and inline) into zero-copy argument vectors, with Redis's limits.
//! - `reply`: the protocol-neutral `Reply` handlers return.
//! - `encode`: `Reply` into RESP2 or RESP3 bytes.

pub mod decode;
pub mod encode;
pub mod reply;

pub use decode::{Decoded, Decoder, ProtocolError};
pub use encode::{encode, Protocol};
pub use reply::Reply;
