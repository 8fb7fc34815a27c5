//! The network floor: binding and accepting, connections, TLS. Commands reach the engine through
//! [`crate::engine::execute`].
//!
//! - `listener`: binding, accepting, maxclients, background tasks and shutdown.
//! - `connection`: read a batch, execute each command, write once; the panic boundary.
//! - `transport`, `tls`: plain TCP or TLS under one byte-stream interface.
//! - `http`: the HTTP port: `/health`, `/ready`, `/metrics`.

pub mod connection;
pub mod http;
pub mod listener;
pub mod tls;
pub mod transport;

pub use listener::{start, ServerHandle};
