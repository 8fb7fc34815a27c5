//! One client connection: read what arrived, run every complete command in order, write all replies at once.
//!
//! A pipelined batch costs one read and one write. Writing never blocks the loop: replies that the socket
//! cannot take yet stay in the output buffer while the loop goes on reading and running the client's commands,
//! as Redis does (a client that writes its whole pipeline before reading would otherwise deadlock with the
//! server). The output buffer is bounded by `client-output-buffer-limit` for the client's class and the input by
//! `client-query-buffer-limit`. A client whose read filled the buffer yields after its batch, so one huge
//! pipeline is served in slices between other clients' commands. Out-of-band messages (MONITOR lines, pub/sub,
//! tracking invalidations) arrive on the client's channel and join the output buffer between batches. Handler
//! panics are caught in the engine; should anything else in this task panic, only this connection ends.

use crate::engine::client::{ClientInfo, ReplyMode, Session};
use crate::engine::execute::{execute, Outcome};
use crate::engine::state::Server;
use crate::protocol::{encode, Decoded, Decoder, Protocol, Reply};
use crate::server::transport::{Transport, READ_CHUNK};
use bytes::{Buf, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Output beyond this is offered to the socket while a batch is still running.
const FLUSH_AT: usize = 64 * 1024;

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
pub async fn serve(srv: Arc<Server>, mut io: Transport) {
    let addr = io.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let laddr = io.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let info = srv.clients.register(addr, laddr);
    let _reg = Registration { srv: srv.clone(), id: info.id };
    let needs_auth = srv.hot.requirepass_set.load(Ordering::Relaxed);
    let mut state = Session::new(info.clone(), !needs_auth);
    state.defer_to_reply = true;
    state.offload_scripts = true;
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
            last_words(&srv, &info, &io, &mut out);
            break;
        }
        let timeout = srv.hot.timeout_secs.load(Ordering::Relaxed);
        // Boxed, and only with a `timeout` set: a timer inline would add to every connection's memory.
        let mut timer = (timeout != 0).then(|| Box::pin(tokio::time::sleep(Duration::from_secs(timeout))));
        let idle = async {
            match timer.as_mut() {
                Some(t) => t.await,
                None => std::future::pending::<()>().await,
            }
        };
        let mut more = false;
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
            r = io.writable(), if !out.is_empty() || io.pending() => {
                if r.is_err() || flush(&srv, &io, &mut out).is_err() {
                    break;
                }
                continue;
            }
            r = io.read_some(&mut inbuf, &mut more) => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        srv.stats.io_reads.add(1);
                        srv.stats.net_input_bytes.add(n as u64);
                        info.touch();
                    }
                }
            }
            _ = info.pushed() => {
                info.take_pushes(&mut out);
                if flush(&srv, &io, &mut out).is_err() || over_output_limit(&srv, &info, &out) {
                    break;
                }
                continue;
            }
            // As Redis: subscribers and MONITOR clients never time out (blocked clients wait elsewhere).
            _ = idle, if state.subscriptions() == 0 && !info.has_flag(crate::engine::client::cflags::MONITOR) => break,
        }
        if over_query_limit(&srv, &info, &inbuf) {
            break;
        }
        decoder.max_bulk_len = srv.hot.proto_max_bulk_len.load(Ordering::Relaxed);
        if process_batch(&srv, &mut state, &mut decoder, &mut inbuf, &mut out, &io).await.is_err() {
            break;
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        wait_durable(&srv, &mut state).await;
        if flush(&srv, &io, &mut out).is_err() {
            break;
        }
        state.run_after_reply(&srv);
        if state.close_after_reply {
            Box::pin(drain(&srv, &info, &io, &mut out)).await;
            break;
        }
        if over_output_limit(&srv, &info, &out) {
            break;
        }
        note_buffers(&info, &inbuf, &out, &decoder);
        if more {
            // The read filled its buffer, so this client has more waiting: let the others have their turn first.
            tokio::task::yield_now().await;
        }
    }
    state.run_after_reply(&srv);
    io.shutdown().await;
    state.unwatch_all(&srv);
    crate::commands::pubsub::unsubscribe_all(&srv, &mut state);
    if state.tracking {
        srv.tracking.disable(state.info.id);
    }
}

/// True (and the client is closed) when its query buffer passed `client-query-buffer-limit`.
fn over_query_limit(srv: &Server, info: &ClientInfo, inbuf: &BytesMut) -> bool {
    if inbuf.len() > srv.hot.query_buffer_limit.load(Ordering::Relaxed) {
        tracing::warn!(client = %info.addr, id = info.id, "closing client that reached max query buffer length");
        info.kill();
        return true;
    }
    false
}

/// True (and the client is closed) when its pending output breaks its class's output buffer limit.
fn over_output_limit(srv: &Server, info: &ClientInfo, out: &BytesMut) -> bool {
    let pending = out.len() + info.obuf.load(Ordering::Relaxed);
    pending > 0 && info.enforce_output_limit(pending, srv.pubsub.limits.of(info))
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

/// With `appendfsync always`, holds the replies of this session's writes until the change log has synced them
/// (Redis fsyncs before it writes replies, in beforeSleep). One sync covers every connection waiting meanwhile.
async fn wait_durable(srv: &Server, state: &mut Session) {
    let at = std::mem::take(&mut state.durable_at);
    if at != 0 {
        srv.changelog.durable(at).await;
    }
}

/// Writes as much of `out` as the socket takes now, without waiting.
fn flush(srv: &Server, io: &Transport, out: &mut BytesMut) -> std::io::Result<()> {
    while !out.is_empty() {
        match io.try_write(out) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                srv.stats.net_output_bytes.add(n as u64);
                srv.stats.io_writes.add(1);
                out.advance(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    if out.capacity() > 1024 * 1024 {
        *out = BytesMut::with_capacity(READ_CHUNK);
    }
    io.flush_pending()
}

/// Output queued for a client before it was killed or the server began stopping (a message published just before
/// an ACL change revoked its channel) still goes out if the socket takes it at once, as from Redis, whose event loop
/// writes pending replies before it runs the command that kills the client. Never a backlog (a client killed for
/// its output size has more than the 64 KiB this sends), and never a wait.
fn last_words(srv: &Server, info: &ClientInfo, io: &Transport, out: &mut BytesMut) {
    const MAX: usize = 64 * 1024;
    if out.len() + info.obuf.load(Ordering::Acquire) <= MAX {
        info.take_pushes(out);
        let _ = flush(srv, io, out);
    }
}

/// Sends the rest of `out` before closing (QUIT, a protocol error), unless the client is killed meanwhile.
async fn drain(srv: &Server, info: &ClientInfo, io: &Transport, out: &mut BytesMut) {
    let mut shutdown = srv.shutdown_watch();
    while !out.is_empty() || io.pending() {
        tokio::select! {
            r = io.writable() => {
                if r.is_err() || flush(srv, io, out).is_err() {
                    return;
                }
            }
            _ = info.killed() => return,
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => return,
        }
    }
}

/// Decodes and runs every complete command in `inbuf`, appending replies to `out`.
async fn process_batch(
    srv: &Arc<Server>,
    state: &mut Session,
    decoder: &mut Decoder,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
    io: &Transport,
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
        let mut args = args;
        let mut outcome = execute(srv, state, &args);
        let reply = loop {
            match outcome {
                Outcome::Reply(r) => break r,
                Outcome::Offload => {
                    // The session travels to the script thread and back; this task only waits.
                    let stand_in = Session::new(state.info.clone(), state.authenticated);
                    let session = std::mem::replace(state, stand_in);
                    let (session, back, next) = crate::engine::script::offload(srv.clone(), session, args).await;
                    *state = session;
                    args = back;
                    outcome = next;
                    continue;
                }
                Outcome::Block(b) => {
                    wait_durable(srv, state).await;
                    flush(srv, io, out).map_err(|_| ())?;
                    let reply = Box::pin(wait_blocked(srv, &state.info, b, io, inbuf, out)).await?;
                    // The client that served this one appended the write; its reply waits for the same sync.
                    if srv.changelog.sync_always() {
                        state.durable_at = srv.effects.offset();
                    }
                    break reply;
                }
                Outcome::Paused(until) => {
                    wait_durable(srv, state).await;
                    flush(srv, io, out).map_err(|_| ())?;
                    Box::pin(wait_unpaused(srv, &state.info, until, io, out)).await.map_err(|_| ())?;
                    if state.info.is_killed() || srv.is_shutting_down() {
                        return Err(());
                    }
                    outcome = execute(srv, state, &args);
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
        state.info.take_pushes(out);
        // Subscribe and unsubscribe confirmations are out-of-band data that CLIENT REPLY OFF/SKIP does not silence,
        // in RESP2 as in RESP3 (Redis 7.0 writes them as pushes either way).
        if send || reply.is_push() {
            encode(out, &reply, state.proto);
        }
        for m in std::mem::take(&mut *state.info.after_reply.lock()) {
            out.extend_from_slice(&m);
        }
        state.info.resp.store(if state.proto == Protocol::Resp3 { 3 } else { 2 }, Ordering::Relaxed);
        if state.close_after_reply {
            return Ok(());
        }
        if out.len() > FLUSH_AT {
            wait_durable(srv, state).await;
            flush(srv, io, out).map_err(|_| ())?;
            if over_output_limit(srv, &state.info, out) {
                return Err(());
            }
        }
    }
}

/// Waits for a blocked command's reply, its timeout, or the client going away. Meanwhile pending replies are
/// sent and input is read (and held to `client-query-buffer-limit`); it runs after the client is served.
async fn wait_blocked(
    srv: &Server,
    info: &ClientInfo,
    b: crate::engine::execute::Blocked,
    io: &Transport,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
) -> Result<Reply, ()> {
    let crate::engine::execute::Blocked { waiter, mut rx, timeout } = b;
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
        let mut more = false;
        tokio::select! {
            biased;
            r = &mut rx => return Ok(r.unwrap_or(timeout_reply)),
            _ = info.killed() => break true,
            _ = shutdown.changed() => break true,
            _ = &mut sleep => break false,
            r = io.writable(), if !out.is_empty() || io.pending() => {
                if r.is_err() || flush(srv, io, out).is_err() {
                    break true;
                }
            }
            r = io.read_some(inbuf, &mut more) => {
                match r {
                    Ok(0) | Err(_) => break true,
                    Ok(n) => {
                        srv.stats.io_reads.add(1);
                        srv.stats.net_input_bytes.add(n as u64);
                        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
                        if over_query_limit(srv, info, inbuf) {
                            break true;
                        }
                    }
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

/// Counts one in a gauge for as long as it lives, however the wait around it ends.
struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Counted<'a> {
    fn new(gauge: &'a std::sync::atomic::AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Counted(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits until CLIENT PAUSE ends for this client, sending pending replies meanwhile.
async fn wait_unpaused(
    srv: &Server,
    info: &ClientInfo,
    until: u64,
    io: &Transport,
    out: &mut BytesMut,
) -> Result<(), ()> {
    let now = crate::util::clock::unix_ms();
    let wait = tokio::time::sleep(Duration::from_millis(until.saturating_sub(now).max(1)));
    tokio::pin!(wait);
    let mut shutdown = srv.shutdown_watch();
    if srv.is_shutting_down() {
        return Ok(());
    }
    let _counted = Counted::new(&srv.paused_clients);
    loop {
        tokio::select! {
            _ = &mut wait => return Ok(()),
            _ = srv.unpaused.notified() => return Ok(()),
            _ = info.killed() => return Ok(()),
            _ = shutdown.changed() => return Ok(()),
            r = io.writable(), if !out.is_empty() || io.pending() => {
                if r.is_err() || flush(srv, io, out).is_err() {
                    return Err(());
                }
            }
        }
    }
}
