//! One client connection: read what arrived, run every complete command in order, write all replies at once.
//!
//! A pipelined batch costs one read and one write. Out-of-band messages (MONITOR lines; later pub/sub and
//! tracking invalidations) arrive on the client's channel and are written between batches. Handler panics are
//! caught in dispatch; should anything else in this task panic, only this connection ends.

use crate::protocol::{encode, Decoded, Decoder, Protocol, Reply};
use crate::server::client::{ClientInfo, ClientState, ReplyMode};
use crate::server::dispatch::{dispatch, Outcome};
use crate::server::Server;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const READ_CHUNK: usize = 16 * 1024;

/// Unregisters the client however the task ends.
struct Registration {
    srv: Arc<Server>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.srv.clients.unregister(self.id);
    }
}

/// Serves one accepted connection until it closes.
pub async fn serve(srv: Arc<Server>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let addr = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let (info, mut push_rx) = srv.clients.register(addr, laddr);
    let _reg = Registration { srv: srv.clone(), id: info.id };
    let needs_auth = srv.hot.requirepass_set.load(Ordering::Relaxed);
    let mut state = ClientState::new(info.clone(), !needs_auth);
    // Buffers are allocated on first use and given back when the client idles (see `trim`), so an idle
    // connection costs little more than its state.
    let mut inbuf = BytesMut::new();
    let mut out = BytesMut::new();
    let mut decoder = Decoder::default();
    let woken = info.woken();
    tokio::pin!(woken);
    woken.as_mut().enable();
    info.touch();

    loop {
        if info.is_killed() || srv.is_shutting_down() {
            break;
        }
        let timeout = srv.hot.timeout_secs.load(Ordering::Relaxed);
        let idle = async {
            if timeout == 0 {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(Duration::from_secs(timeout)).await
            }
        };
        tokio::select! {
            biased;
            _ = &mut woken => {
                woken.set(info.woken());
                woken.as_mut().enable();
                if info.take_trim() {
                    trim(&info, &mut inbuf, &mut out, &mut decoder);
                }
                continue;
            }
            r = read_some(&mut stream, &mut inbuf) => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        srv.stats.io_reads.add(1);
                        srv.stats.net_input_bytes.add(n as u64);
                        info.touch();
                    }
                }
            }
            Some(msg) = push_rx.recv() => {
                let mut taken = msg.len();
                out.extend_from_slice(&msg);
                while let Ok(more) = push_rx.try_recv() {
                    taken += more.len();
                    out.extend_from_slice(&more);
                }
                let _ = info.obuf.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| Some(v.saturating_sub(taken)));
                // A client that stopped reading must still be closable (output buffer limit, CLIENT KILL).
                let written = tokio::select! {
                    r = write_out(&srv, &mut stream, &mut out) => r.is_ok(),
                    _ = info.killed() => false,
                };
                if !written {
                    break;
                }
                continue;
            }
            _ = idle, if state.multi.is_none() && !info.has_flag(super::client::cflags::MONITOR) => break,
        }
        if inbuf.len() > srv.hot.query_buffer_limit.load(Ordering::Relaxed) {
            tracing::warn!(client = %info.addr, "closing client that reached max query buffer length");
            break;
        }
        decoder.max_bulk_len = srv.hot.proto_max_bulk_len.load(Ordering::Relaxed);
        if process_batch(&srv, &mut state, &mut decoder, &mut inbuf, &mut out, &mut stream, &mut push_rx).await.is_err()
        {
            break;
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        if write_out(&srv, &mut stream, &mut out).await.is_err() || state.close_after_reply {
            break;
        }
        note_buffers(&info, &inbuf, &out, &decoder);
    }
    let _ = stream.shutdown().await;
    crate::commands::transaction::unwatch_all(&srv, &mut state);
    crate::commands::pubsub::unsubscribe_all(&srv, &mut state);
    if state.tracking {
        srv.tracking.disable(state.info.id);
    }
}

/// Reads what has arrived into `buf`, growing it when nearly full. A client with nothing pending waits for
/// readiness before a buffer is allocated, so waiting costs no buffer.
///
/// A read that returns less than the room it was given drained the socket, so the stream's readiness is
/// cleared with it: the next wait goes straight to the reactor instead of spending a `read` that can only say
/// "would block" (one system call per batch saved, as Redis reads once per readable event).
async fn read_some(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<usize> {
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
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if short > 0 {
                    return Ok(short);
                }
                stream.readable().await?;
            }
            r => return r,
        }
    }
}

/// Gives back an idle client's buffers (Redis frees an idle client's query buffer and shrinks its reply buffer
/// in its client cron the same way).
fn trim(info: &ClientInfo, inbuf: &mut BytesMut, out: &mut BytesMut, decoder: &mut Decoder) {
    if inbuf.is_empty() {
        *inbuf = BytesMut::new();
    }
    if out.is_empty() {
        *out = BytesMut::new();
    }
    decoder.shrink();
    note_buffers(info, inbuf, out, decoder);
}

/// Publishes the buffer allocations for CLIENT LIST and INFO memory.
fn note_buffers(info: &ClientInfo, inbuf: &BytesMut, out: &BytesMut, decoder: &Decoder) {
    info.qbuf_cap.store(inbuf.capacity() + decoder.capacity_bytes(), Ordering::Relaxed);
    info.rbuf_cap.store(out.capacity(), Ordering::Relaxed);
}

async fn write_out(srv: &Server, stream: &mut TcpStream, out: &mut BytesMut) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    srv.stats.net_output_bytes.add(out.len() as u64);
    srv.stats.io_writes.add(1);
    let r = stream.write_all(out).await;
    out.clear();
    if out.capacity() > 1024 * 1024 {
        *out = BytesMut::with_capacity(READ_CHUNK);
    }
    r
}

/// Decodes and runs every complete command in `inbuf`, appending replies to `out`.
async fn process_batch(
    srv: &Arc<Server>,
    state: &mut ClientState,
    decoder: &mut Decoder,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
    stream: &mut TcpStream,
    push_rx: &mut mpsc::UnboundedReceiver<Bytes>,
) -> Result<(), ()> {
    loop {
        // Nothing more runs once the server is stopping or this client was killed.
        if srv.is_shutting_down() || state.info.is_killed() {
            return Err(());
        }
        let authenticated = state.authenticated || !srv.hot.requirepass_set.load(Ordering::Relaxed);
        let args = match decoder.decode(inbuf, authenticated) {
            Ok(Decoded::Command(args)) => args,
            Ok(Decoded::Incomplete(want)) => {
                if want > inbuf.capacity() {
                    inbuf.reserve(want - inbuf.len());
                }
                return Ok(());
            }
            Err(e) => {
                tracing::debug!(client = %state.info.addr, "protocol error: {}", e.0);
                srv.stats.count_error("ERR");
                encode(out, &Reply::Error(format!("ERR {}", e.0)), state.proto);
                state.close_after_reply = true;
                return Ok(());
            }
        };
        let reply = loop {
            match dispatch(srv, state, &args) {
                Outcome::Reply(r) => break r,
                Outcome::Block(b) => {
                    write_out(srv, stream, out).await.map_err(|_| ())?;
                    break wait_blocked(srv, &state.info, b, stream, inbuf).await?;
                }
                Outcome::Paused(until) => {
                    write_out(srv, stream, out).await.map_err(|_| ())?;
                    wait_unpaused(srv, &state.info, until).await;
                    if state.info.is_killed() || srv.is_shutting_down() {
                        return Err(());
                    }
                }
            }
        };
        decoder.recycle(args);
        let send = match state.reply_mode {
            ReplyMode::On => true,
            ReplyMode::Off => false,
            ReplyMode::SkipNext => {
                state.reply_mode = ReplyMode::Skip;
                false
            }
            ReplyMode::Skip => {
                state.reply_mode = ReplyMode::On;
                false
            }
        };
        // Messages the command caused for this very client (a PUBLISH to its own channel, an invalidation) go
        // before its reply, as Redis writes them.
        while let Ok(m) = push_rx.try_recv() {
            let _ =
                state.info.obuf.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| Some(v.saturating_sub(m.len())));
            out.extend_from_slice(&m);
        }
        if send {
            encode(out, &reply, state.proto);
        }
        for m in std::mem::take(&mut *state.info.after_reply.lock()) {
            out.extend_from_slice(&m);
        }
        state.info.resp.store(if state.proto == Protocol::Resp3 { 3 } else { 2 }, Ordering::Relaxed);
        if state.close_after_reply {
            return Ok(());
        }
        if out.len() > 64 * 1024 {
            write_out(srv, stream, out).await.map_err(|_| ())?;
        }
    }
}

/// Waits for a blocked command's reply, its timeout, or the client going away.
async fn wait_blocked(
    srv: &Server,
    info: &ClientInfo,
    b: crate::server::dispatch::Blocked,
    stream: &mut TcpStream,
    inbuf: &mut BytesMut,
) -> Result<Reply, ()> {
    let crate::server::dispatch::Blocked { waiter, mut rx, timeout } = b;
    let timeout_reply = waiter.op.timeout_reply();
    let mut shutdown = srv.shutdown_watch();
    let sleep = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(sleep);
    let gone = loop {
        tokio::select! {
            biased;
            r = &mut rx => return Ok(r.unwrap_or(timeout_reply)),
            _ = info.killed() => break true,
            _ = shutdown.changed() => break true,
            _ = &mut sleep => break false,
            r = stream.read_buf(inbuf) => {
                // More input waits its turn; a closed connection ends the wait.
                if matches!(r, Ok(0) | Err(_)) {
                    break true;
                }
            }
        }
    };
    if waiter.claim() {
        srv.blocking.remove(&waiter);
        return if gone { Err(()) } else { Ok(timeout_reply) };
    }
    // The server is serving this client right now: its reply is on the way.
    rx.await.map_err(|_| ())
}

async fn wait_unpaused(srv: &Server, info: &ClientInfo, until: u64) {
    let now = crate::server::unix_ms();
    let wait = Duration::from_millis(until.saturating_sub(now).max(1));
    let mut shutdown = srv.shutdown_watch();
    if srv.is_shutting_down() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = srv.unpaused.notified() => {}
        _ = info.killed() => {}
        _ = shutdown.changed() => {}
    }
}

/// Sends an out-of-band message to a client (used by MONITOR and later pub/sub).
pub fn push(tx: &mpsc::UnboundedSender<Bytes>, msg: Bytes) {
    let _ = tx.send(msg);
}
