//! Binding, accepting and background work.
//!
//! `start` binds every `bind` address, spawns the accept loops and the server cron (active expiry), and returns
//! a [`ServerHandle`]. Shutdown (a signal or SHUTDOWN) stops accepting and ends every connection.

use super::connection::serve;
use super::transport::{TlsStream, Transport};
use crate::config::{Config, Id};
use crate::engine::Server;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    pub srv: Arc<Server>,
    pub addrs: Vec<SocketAddr>,
    /// The TLS listeners (`tls-port`), if any.
    pub tls_addrs: Vec<SocketAddr>,
    /// The HTTP port's address (`http-port`), if on.
    pub http_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// The TCP port clients connect to.
    pub fn port(&self) -> u16 {
        self.addrs.first().map(|a| a.port()).unwrap_or(0)
    }

    /// Requests a shutdown.
    pub fn shutdown(&self) {
        self.srv.request_shutdown(Default::default());
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) {
        let mut rx = self.srv.shutdown_watch();
        while rx.borrow().is_none() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        for t in self.tasks {
            t.abort();
        }
        // Give connections a moment to observe the shutdown and flush.
        let deadline = Instant::now() + Duration::from_millis(500);
        while !self.srv.clients.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Binds and starts serving `config`.
///
/// # Errors
/// When no address could be bound, or the ACL file cannot be loaded.
pub async fn start(config: Config) -> std::io::Result<ServerHandle> {
    let binds = config.bind_addrs();
    let port = config.u64(Id::Port) as u16;
    let backlog = u32::try_from(config.u64(Id::TcpBacklog)).unwrap_or(511);
    let srv = Arc::new(Server::new(config, crate::commands::table()));
    let _ = srv.this.set(Arc::downgrade(&srv));
    crate::engine::acl::load_at_startup(&srv).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut listeners = Vec::new();
    let mut bound_port = port;
    for (addr, optional) in binds {
        let ip: std::net::IpAddr = match addr.parse() {
            Ok(ip) => ip,
            Err(_) if addr == "*" => std::net::Ipv4Addr::UNSPECIFIED.into(),
            Err(_) => {
                if optional {
                    continue;
                }
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("invalid bind address '{addr}'"),
                ));
            }
        };
        match bind(SocketAddr::new(ip, bound_port), backlog) {
            Ok(l) => {
                if bound_port == 0 {
                    bound_port = l.local_addr()?.port();
                }
                listeners.push(l);
            }
            Err(e) if optional || (ip.is_ipv6() && !listeners.is_empty()) => {
                tracing::warn!("could not bind {ip}:{bound_port}: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    if listeners.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address could be bound"));
    }
    srv.port.store(bound_port, Ordering::Relaxed);
    let tls = {
        let cfg = srv.config.read();
        super::tls::server_config(&cfg).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
    };
    let mut tls_listeners = Vec::new();
    if tls.is_some() {
        let tls_port = srv.config.read().u64(Id::TlsPort) as u16;
        for l in &listeners {
            let Ok(addr) = l.local_addr() else { continue };
            tls_listeners.push(bind(SocketAddr::new(addr.ip(), tls_port), backlog)?);
        }
    }
    warn_if_exposed(&srv, &listeners);
    let addrs = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    let tls_addrs = tls_listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    // Clients are accepted while the snapshot loads and get -LOADING, as from Redis, instead of a refused
    // connection that looks like a dead server. Set before the HTTP port opens: a probe answered between the two
    // would read ready before anything is loaded.
    srv.persistence.loading.store(true, Ordering::Relaxed);
    let http_addr = start_http(&srv)?;
    let mut tasks = Vec::new();
    for l in listeners {
        tasks.push(tokio::spawn(accept_loop(srv.clone(), l, None)));
    }
    for l in tls_listeners {
        tasks.push(tokio::spawn(accept_loop(srv.clone(), l, tls.clone())));
    }
    let loader = srv.clone();
    // The snapshot, then the change log's records after it (appendonly), as one load: clients get -LOADING until
    // both are in.
    let loaded = tokio::task::spawn_blocking(move || {
        let (base, rest) = loader.load_snapshot_at_startup()?;
        loader.open_changelog_at_startup(base)?;
        Ok::<_, String>(rest)
    })
    .await;
    srv.persistence.loading.store(false, Ordering::Relaxed);
    let failed = match loaded {
        Ok(Ok(rest)) => {
            // A warm restart: the hot keys are in; clients are served while the rest loads.
            if let Some(file) = rest {
                srv.start_warming(file);
            }
            None
        }
        Ok(Err(e)) => Some(e),
        Err(e) => Some(format!("loading the snapshot failed: {e}")),
    };
    if let Some(e) = failed {
        srv.request_shutdown(Default::default());
        for t in &tasks {
            t.abort();
        }
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
    }
    tasks.push(tokio::spawn(cron(srv.clone())));
    Ok(ServerHandle { srv, addrs, tls_addrs, http_addr, tasks })
}

/// Starts the HTTP port before loading, so `/ready` answers 503 while the dataset loads.
fn start_http(srv: &Arc<Server>) -> std::io::Result<Option<SocketAddr>> {
    let (port, bind) = {
        let cfg = srv.config.read();
        (cfg.u64(Id::HttpPort) as u16, cfg.str(Id::HttpBind).to_string())
    };
    if port == 0 {
        return Ok(None);
    }
    let ip: std::net::IpAddr = bind.parse().map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid http-bind address '{bind}'"))
    })?;
    let addr = super::http::start(srv.clone(), SocketAddr::new(ip, port))?;
    tracing::info!("HTTP port serving /health, /ready and /metrics on {addr}");
    Ok(Some(addr))
}

/// Says at startup what a listener on a public address means for a server without a password.
fn warn_if_exposed(srv: &Server, listeners: &[TcpListener]) {
    let public =
        listeners.iter().filter_map(|l| l.local_addr().ok()).any(|a| !crate::engine::state::is_loopback(a.ip()));
    if !public || !srv.acl.default_user_nopass() {
        return;
    }
    if srv.hot.protected_mode.load(Ordering::Relaxed) {
        tracing::warn!(
            "Listening on a non-loopback address with no password: protected mode refuses clients from other hosts. \
             Set requirepass (or STRATA_PASSWORD in the container image) to serve them."
        );
    } else {
        tracing::warn!(
            "WARNING: listening on a non-loopback address with no password and protected mode off: anyone who can \
             reach this port can read and change every key."
        );
    }
}

fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv6() { tokio::net::TcpSocket::new_v6()? } else { tokio::net::TcpSocket::new_v4()? };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(backlog)
}

/// Accepts clients on one listener; `tls` makes it a TLS port.
async fn accept_loop(srv: Arc<Server>, listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) {
    let mut shutdown = srv.shutdown_watch();
    let mut backoff = Duration::from_millis(1);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((mut stream, peer)) => {
                if srv.is_shutting_down() {
                    return;
                }
                backoff = Duration::from_millis(1);
                srv.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                let refusal = if srv.clients.len() >= srv.hot.maxclients.load(Ordering::Relaxed) {
                    Some(crate::error::MAX_CLIENTS)
                } else if srv.protected_mode_denies(&peer) {
                    Some(crate::error::DENIED_PROTECTED_MODE)
                } else {
                    None
                };
                if let Some(err) = refusal {
                    srv.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        let _ = stream.write_all(format!("-{}\r\n", err.0).as_bytes()).await;
                    });
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let io = match &tls {
                    None => Transport::Plain(stream),
                    Some(config) => match TlsStream::new(stream, config.clone()) {
                        Ok(t) => Transport::Tls(Box::new(t)),
                        Err(e) => {
                            tracing::warn!("TLS session could not start: {e}");
                            continue;
                        }
                    },
                };
                let task = serve(srv.clone(), io);
                crate::engine::client::CONNECTION_TASK_BYTES.store(std::mem::size_of_val(&task), Ordering::Relaxed);
                tokio::spawn(task);
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// A client idle this long gives back its query and reply buffers (Redis frees an idle query buffer after 2s).
const CLIENT_IDLE_TRIM_SECS: u64 = 2;

/// Periodic work: active expiry, `hz` times a second, using at most a quarter of each period.
async fn cron(srv: Arc<Server>) {
    let mut cursor = 0usize;
    let mut last_client_sweep = Instant::now();
    loop {
        let hz = srv.hot.hz.load(Ordering::Relaxed).max(1);
        let period = Duration::from_millis(1000 / hz);
        let asleep = Instant::now();
        tokio::time::sleep(period).await;
        // A tick that wakes late means this worker was busy: the event-loop lag HEALTH reports.
        let late = asleep.elapsed().saturating_sub(period);
        if late >= Duration::from_millis(1) {
            srv.health.note_stall(late.as_micros() as u64);
        }
        crate::util::clock::resync();
        if srv.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        let swept = last_client_sweep.elapsed() >= Duration::from_secs(1);
        if swept {
            last_client_sweep = Instant::now();
            srv.clients.trim_idle(CLIENT_IDLE_TRIM_SECS);
            // Once a second, so a status change is published even when nobody asks.
            srv.check_health();
        }
        let tinylfu = srv.hot.policy() == crate::store::evict::Policy::AllkeysTinyLfu;
        let keys = if tinylfu { (0..srv.keyspace.db_count()).map(|db| srv.keyspace.db_sizes(db).0).sum() } else { 0 };
        srv.keyspace.tinylfu.maintain(tinylfu, keys);
        // A running script holds shards for as long as it runs; the keyspace cycles wait for their next tick
        // rather than block this runtime worker (Redis's cron does not run them during a script either).
        let script_running = srv.scripts.state.active();
        if !script_running {
            srv.finish_evictions();
            crate::engine::warm::cron(&srv, crate::util::clock::unix_ms());
        }
        if srv.active_expire.load(Ordering::Relaxed) && !script_running {
            let started = Instant::now();
            let deadline = started + period / 4;
            let cycle = crate::store::expire::active_expire_cycle(
                srv.as_ref(),
                &srv.keyspace,
                &srv.effects,
                crate::util::clock::unix_ms(),
                deadline,
                &mut cursor,
            );
            srv.stats.expired_keys.fetch_add(cycle.expired, Ordering::Relaxed);
            srv.stats.note_expiry_cycle(cycle.sampled, cycle.expired, cycle.time_cap_reached);
            let took_ms = started.elapsed().as_millis() as u64;
            srv.stats.expire_cycle_cpu_ms.fetch_add(took_ms, Ordering::Relaxed);
            let threshold = srv.hot.latency_threshold_ms.load(Ordering::Relaxed);
            srv.latency_monitor.add_if_needed("expire-cycle", took_ms, threshold);
        }
        // Clients blocked on keys that expired (XREADGROUP readers of a stream that went) are answered now.
        let gone = srv.blocking.take_gone();
        if !gone.is_empty() {
            let mut session = crate::engine::Session::detached(&srv);
            crate::engine::execute::serve_ready(&srv, &mut session, gone);
        }
        // Keys that expired or were evicted outside a command reach BCAST clients now, batched.
        srv.tracking.flush_bcast(&srv.clients, &srv.pubsub);
        if srv.tracking.clients() > 0 {
            srv.tracking.enforce_limit(&srv.clients, &srv.pubsub);
        }
        if srv.hot.compression.load(Ordering::Relaxed) && !script_running {
            let params = crate::store::compress::ColdParams {
                min_size: srv.hot.compression_min_size.load(Ordering::Relaxed),
                cold_secs: srv.hot.compression_cold_secs.load(Ordering::Relaxed) as u32,
                zstd_after: srv.hot.compression_zstd_after(),
                lru_now: srv.lru_clock(),
                deadline: Instant::now() + period / 4,
                headroom: match srv.hot.maxmemory.load(Ordering::Relaxed) {
                    0 => None,
                    max => Some(max.saturating_sub(srv.used_memory.load(Ordering::Relaxed))),
                },
            };
            srv.tier.cycle(&srv.keyspace, params);
        }
        let sync_ms = srv.changelog.shared.slowest_sync_ms.swap(0, Ordering::Relaxed);
        srv.latency_monitor.add_if_needed("aof-fsync", sync_ms, srv.hot.latency_threshold_ms.load(Ordering::Relaxed));
        srv.sample_rates();
        srv.persistence_cron();
        // Every tick, as Redis samples its memory in the cron: maxmemory needs a fresh reading, and
        // used_memory_peak would otherwise miss a peak between INFO calls.
        srv.refresh_used_memory();
        let mut p = srv.pause.lock();
        if p.until_ms != 0 && p.until_ms <= crate::util::clock::unix_ms() {
            *p = Default::default();
            srv.unpaused.notify_waiters();
        }
    }
}
