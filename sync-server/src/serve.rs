//! The listener: HTTP/1.1 over TLS (or plain on loopback), with the limits that keep slow,
//! idle and hostile clients from starving the others — a header read timeout, a per-request
//! timeout (in the router), at most [`MAX_CONNECTIONS`] connections and
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one address. A connection over a limit is closed at once.

use crate::{router, AppState};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connections served at once, and from one address.
pub const MAX_CONNECTIONS: usize = 1024;
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// How long a client may take to send a request's headers (also the idle time allowed between
/// requests on a kept-alive connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The peer address of the connection a request came on (for rate limits).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Counts connections, overall and per address.
#[derive(Default)]
struct Connections {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection being served; counted until dropped.
struct Slot {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Connections {
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = map.values().sum();
        let mine = map.entry(address).or_insert(0);
        if total >= MAX_CONNECTIONS || *mine >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *mine += 1;
        Some(Slot { connections: self.clone(), address })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.connections.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Serve the API on `listener` — over TLS when `tls` is given — until Ctrl-C (or SIGTERM).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, tls = tls.is_some(), "ptw-sync-server listening");
    let app = router(state);
    let connections = Arc::new(Connections::default());
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let Some(slot) = connections.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ClientAddr(peer));
                app.clone().oneshot(req)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
            let served = match tls {
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => http.serve_connection(TokioIo::new(tls_stream), service).await,
                    _ => return,
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_holds_at_most_its_share_of_connections_and_a_closed_one_frees_its_slot() {
        let c = Arc::new(Connections::default());
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let slots: Vec<Slot> = (0..MAX_CONNECTIONS_PER_ADDRESS).map(|_| c.admit(a).expect("admitted")).collect();
        assert!(c.admit(a).is_none());
        assert!(c.admit("10.0.0.2".parse().expect("ip")).is_some(), "another address is served");
        drop(slots);
        assert!(c.admit(a).is_some());
    }
}
