//! The HTTP port (`http-port`, off by default): `/health` (liveness), `/ready` (readiness) and `/metrics`
//! (Prometheus text).
//!
//! It runs on a thread of its own with a one-thread runtime, so probes and scrapes are answered while the
//! snapshot loads and while a long command occupies the workers, and a slow scraper never takes a worker from
//! clients.

use crate::engine::health::Level;
use crate::engine::Server;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Liveness: 200 whenever the process answers, with the health status for information.
async fn health(State(srv): State<Arc<Server>>) -> Response {
    let report = srv.check_health();
    json(StatusCode::OK, serde_json::json!({"alive": true, "status": report.level.status()}))
}

/// Readiness: 503 while loading or when HEALTH is unhealthy, with the reasons.
async fn ready(State(srv): State<Arc<Server>>) -> Response {
    let report = srv.check_health();
    let ready = report.level != Level::Fail && !srv.persistence.is_loading();
    let mut body = report.to_json();
    body["ready"] = serde_json::Value::Bool(ready);
    json(if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, body)
}

async fn metrics(State(srv): State<Arc<Server>>) -> Response {
    let text = crate::metrics::render(&srv);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Binds `addr` and serves until the server shuts down; returns the bound address.
///
/// # Errors
/// When the address cannot be bound.
pub fn start(srv: Arc<Server>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let bound = std_listener.local_addr()?;
    std::thread::Builder::new().name("strata-http".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("the HTTP port's runtime could not start: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(std_listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("the HTTP port could not listen: {e}");
                    return;
                }
            };
            let mut stop = srv.shutdown_watch();
            let app = Router::new()
                .route("/health", get(health))
                .route("/ready", get(ready))
                .route("/metrics", get(metrics))
                .with_state(srv);
            let shutdown = async move {
                while stop.borrow().is_none() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!("the HTTP port stopped: {e}");
            }
        });
    })?;
    Ok(bound)
}
