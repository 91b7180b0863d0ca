//! The listener: HTTP/1.1 over TLS (or plain on loopback), with the limits that keep slow,
//! idle and hostile clients from starving the others — a header read timeout, a per-request
//! timeout (in the router), at most [`MAX_CONNECTIONS`] connections and at most
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one address that have not yet sent a whole request. A
//! connection over a limit is closed at once. Connections that have sent a request are not held
//! to the per-address share: a plant's tablets may all come through one NAT or proxy address,
//! and an idle connection is closed after [`HEADER_TIMEOUT`] anyway.

use crate::{router, AppState};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connections served at once, and those from one address not yet past their first request
/// (a quarter: a reconnect storm of a plant's tablets behind one NAT address fits, one hostile
/// address cannot take more than its quarter).
pub const MAX_CONNECTIONS: usize = 1024;
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
/// How long a client may take to send a request's headers (also the idle time allowed between
/// requests on a kept-alive connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The peer address of the connection a request came on (for rate limits).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Counts connections: all of them, and per address those that have not sent a request yet.
#[derive(Default)]
struct Connections {
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    waiting: HashMap<IpAddr, usize>,
}

/// A connection being served; counted until dropped.
struct Slot {
    connections: Arc<Connections>,
    address: IpAddr,
    /// Still before its first request (counted in `waiting`).
    waiting: Arc<AtomicBool>,
}

impl Connections {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<Slot> {
        let mut c = self.counts();
        let waiting = c.waiting.get(&address).copied().unwrap_or(0);
        if c.total >= MAX_CONNECTIONS || waiting >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        c.total += 1;
        *c.waiting.entry(address).or_insert(0) += 1;
        Some(Slot { connections: self.clone(), address, waiting: Arc::new(AtomicBool::new(true)) })
    }

    fn not_waiting(&self, address: IpAddr) {
        let mut c = self.counts();
        if let Some(n) = c.waiting.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                c.waiting.remove(&address);
            }
        }
    }
}

impl Slot {
    /// The connection sent a whole request: it no longer counts against its address's share.
    fn requested(connections: &Connections, address: IpAddr, waiting: &AtomicBool) {
        if waiting.swap(false, Ordering::AcqRel) {
            connections.not_waiting(address);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        Slot::requested(&self.connections, self.address, &self.waiting);
        self.connections.counts().total -= 1;
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
            let (counted, waiting) = (slot.connections.clone(), slot.waiting.clone());
            let _slot = slot;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                Slot::requested(&counted, peer.ip(), &waiting);
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
    fn one_address_holds_at_most_its_share_of_waiting_connections_and_served_ones_do_not_count() {
        let c = Arc::new(Connections::default());
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let slots: Vec<Slot> = (0..MAX_CONNECTIONS_PER_ADDRESS).map(|_| c.admit(a).expect("admitted")).collect();
        assert!(c.admit(a).is_none(), "the address's share of waiting connections is used up");
        assert!(c.admit("10.0.0.2".parse().expect("ip")).is_some(), "another address is served");
        // Once they have sent a request (a plant's tablets behind one NAT address), the same
        // address may open more.
        for s in &slots {
            Slot::requested(&s.connections, s.address, &s.waiting);
        }
        let more: Vec<Slot> = (0..MAX_CONNECTIONS_PER_ADDRESS).map(|_| c.admit(a).expect("admitted")).collect();
        assert!(c.admit(a).is_none());
        drop(more);
        drop(slots);
        assert_eq!(c.counts().total, 0, "every closed connection frees its slot");
        assert!(c.admit(a).is_some());
    }

    #[test]
    fn no_more_than_the_overall_limit_is_served() {
        let c = Arc::new(Connections::default());
        let mut slots = Vec::new();
        for n in 0..MAX_CONNECTIONS {
            let slot = c.admit(IpAddr::from([10, 2, (n / 250) as u8, (n % 250) as u8])).expect("admitted");
            slots.push(slot);
        }
        assert!(c.admit("10.3.0.1".parse().expect("ip")).is_none());
        slots.pop();
        assert!(c.admit("10.3.0.1".parse().expect("ip")).is_some());
    }
}
