//! A client's byte stream: plain TCP, or TLS over TCP.
//!
//! The connection loop is written against readiness (`readable`/`writable`) and non-blocking `try_*` calls, so
//! that it can keep reading a client's pipeline while that client's replies wait to be sent (a client that
//! writes its whole pipeline before reading would otherwise deadlock with the server), and so that a plain
//! batch costs one `read` and one `write`. TLS is driven with rustls's synchronous `ServerConnection` over the
//! same non-blocking socket calls instead of through an `AsyncRead`/`AsyncWrite` wrapper: both transports then
//! share one loop, and the plain path pays nothing for TLS.

use bytes::BytesMut;
use parking_lot::Mutex;
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Bytes read from the socket per call once a batch is under way.
pub const READ_CHUNK: usize = 16 * 1024;

/// Plaintext rustls may hold for sending before `try_write` reports the socket as full.
const TLS_SEND_LIMIT: usize = 256 * 1024;

/// A client connection's transport.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

/// A TLS session over a TCP socket. The session sits behind a mutex only so that readiness waits (which borrow
/// the transport shared) and the non-blocking calls can be polled from one `select!`; it is never contended.
pub struct TlsStream {
    tcp: TcpStream,
    session: Mutex<rustls::ServerConnection>,
}

/// `std::io` adapters over the non-blocking socket calls, for rustls's `read_tls`/`write_tls`.
struct SyncIo<'a>(&'a TcpStream);

impl Read for SyncIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for SyncIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Starts a server-side session on an accepted socket (the handshake runs as bytes arrive).
    pub fn new(tcp: TcpStream, config: Arc<rustls::ServerConfig>) -> io::Result<TlsStream> {
        let mut session = rustls::ServerConnection::new(config).map_err(tls_error)?;
        session.set_buffer_limit(Some(TLS_SEND_LIMIT));
        Ok(TlsStream { tcp, session: Mutex::new(session) })
    }

    /// Sends what the session has queued (handshake records, alerts, encrypted replies) until the socket is full.
    fn push_records(&self, session: &mut rustls::ServerConnection) -> io::Result<()> {
        while session.wants_write() {
            match session.write_tls(&mut SyncIo(&self.tcp)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn read_some(&self, buf: &mut BytesMut, more: &mut bool) -> io::Result<usize> {
        loop {
            {
                let mut session = self.session.lock();
                if buf.capacity() - buf.len() < 1024 {
                    buf.reserve(READ_CHUNK);
                }
                let len = buf.len();
                buf.resize(buf.capacity(), 0);
                let r = session.reader().read(&mut buf[len..]);
                match r {
                    Ok(n) => {
                        buf.truncate(len + n);
                        *more = len + n == buf.capacity();
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => buf.truncate(len),
                    Err(e) => {
                        buf.truncate(len);
                        return Err(e);
                    }
                }
                match session.read_tls(&mut SyncIo(&self.tcp)) {
                    Ok(0) => return Ok(0),
                    Ok(_) => {
                        let processed = session.process_new_packets();
                        // Handshake replies and alerts go out at once (best effort; the rest when writable).
                        let pushed = self.push_records(&mut session);
                        processed.map_err(tls_error)?;
                        pushed?;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            self.tcp.readable().await?;
        }
    }

    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        let mut session = self.session.lock();
        self.push_records(&mut session)?;
        let n = session.writer().write(data)?;
        self.push_records(&mut session)?;
        if n == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn pending(&self) -> bool {
        self.session.lock().wants_write()
    }
}

impl Transport {
    /// The peer's address as CLIENT LIST prints it.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp().peer_addr()
    }

    /// The local address the client connected to.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp().local_addr()
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.tcp,
        }
    }

    /// True for a TLS connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Waits for input and appends what has arrived to `buf`; `Ok(0)` when the peer closed. `more` is set when
    /// the read filled the room it had, so more input is probably waiting.
    ///
    /// A plain read that returns less than the room it was given drained the socket, so the stream's readiness
    /// is cleared with it: the next wait goes straight to the reactor instead of spending a `read` that can only
    /// say "would block" (one system call per batch saved, as Redis reads once per readable event). A client
    /// with nothing pending waits for readiness before a buffer is allocated, so waiting costs no buffer.
    pub async fn read_some(&self, buf: &mut BytesMut, more: &mut bool) -> io::Result<usize> {
        let stream = match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => return t.read_some(buf, more).await,
        };
        if buf.capacity() - buf.len() < 1024 {
            if buf.is_empty() {
                stream.readable().await?;
            }
            buf.reserve(READ_CHUNK);
        }
        loop {
            let room = buf.capacity() - buf.len();
            let mut short = 0;
            let r = stream.try_io(Interest::READABLE, || {
                let n = stream.try_read_buf(buf)?;
                if n > 0 && n < room {
                    short = n;
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            });
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if short > 0 {
                        *more = false;
                        return Ok(short);
                    }
                    stream.readable().await?;
                }
                Ok(n) => {
                    *more = n > 0;
                    return Ok(n);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes as much of `data` as the socket takes now; `WouldBlock` when it takes nothing.
    pub fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.try_write(data),
            Transport::Tls(t) => t.try_write(data),
        }
    }

    /// True when the transport holds bytes of its own to send (TLS records), beside the reply buffer.
    pub fn pending(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(t) => t.pending(),
        }
    }

    /// Resolves when the socket can take more output.
    pub async fn writable(&self) -> io::Result<()> {
        self.tcp().writable().await
    }

    /// Pushes queued TLS records out (no-op for plain TCP).
    pub fn flush_pending(&self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(t) => {
                let mut session = t.session.lock();
                t.push_records(&mut session)
            }
        }
    }

    /// Closes the connection (sending TLS's close_notify first).
    pub async fn shutdown(&mut self) {
        match self {
            Transport::Plain(s) => {
                let _ = s.shutdown().await;
            }
            Transport::Tls(t) => {
                {
                    let mut session = t.session.lock();
                    session.send_close_notify();
                    let _ = t.push_records(&mut session);
                }
                let _ = t.tcp.shutdown().await;
            }
        }
    }
}
