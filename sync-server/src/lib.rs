//! ptw-sync-server: the hub devices push their signed permit changes to and pull others' from.
//!
//! The server is a relay, not an authority over content: it authenticates devices (bearer tokens
//! from enrolment), checks each pushed change's hash and signatures and the append-only events
//! list, stores accepted changes under a global sequence number and serves them back in pages
//! from the stored bytes. It never merges Automerge documents.
//!
//! - [`routes`]: the HTTP handlers (`/health`, `/api/devices/enrol`, `/api/sync/push`, `/api/sync/pull`,
//!   `/api/sync/snapshot`, `/api/blobs/missing`, `/api/blobs/{sha256}`)
//! - [`auth`]: the bearer-token extractor
//! - [`push`]: the rules a pushed change must pass
//! - [`storage`]: the storage trait and its backends, SQLite (embedded default) and PostgreSQL
//! - [`writer`]: the one writer thread (group commit of pushes, background compaction)
//! - [`compact`]: compacted documents for devices that start cold
//! - [`secret`]: tokens and enrolment codes
//! - [`error`]: the one error type and its HTTP answers

pub mod auth;
pub mod compact;
pub mod error;
pub mod push;
pub mod routes;
pub mod secret;
pub mod storage;
pub mod writer;

use std::sync::Arc;
use std::{net::SocketAddr, path::PathBuf};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub use error::{Error, Result};
use storage::Storage;

/// Default listen address (loopback; put a reverse proxy or TLS in front for the plant network).
pub const DEFAULT_BIND: &str = "127.0.0.1:8787";

/// The largest request body accepted (a push of many changes, base64-encoded).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The server's configuration file (TOML). Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address, overridden by `PTW_SYNC_BIND` and `--bind`.
    pub bind: Option<SocketAddr>,
    /// Where the server keeps its database, overridden by `PTW_SYNC_DATA_DIR` and `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database instead of SQLite in the data directory (`postgres://user@host/db`),
    /// overridden by `PTW_SYNC_DATABASE_URL` and `--database-url`.
    pub database_url: Option<String>,
}

impl Config {
    /// Reads and parses a TOML configuration file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
    }
}

/// Answer of `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    /// Documents waiting to be compacted for cold devices (0 when caught up).
    #[serde(default)]
    pub compaction_backlog: u64,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    /// The database's epoch, read once at start.
    pub epoch: Arc<str>,
    /// Stores pushed changes (group commit) and compacts documents.
    pub writer: Arc<writer::Writer>,
}

impl AppState {
    /// The shared state, and the writer thread started on `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Result<Self> {
        let epoch = storage.epoch()?.into();
        let writer = Arc::new(writer::Writer::start(storage.clone())?);
        Ok(AppState { storage, epoch, writer })
    }
}

/// Runs blocking storage work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
}

/// Milliseconds since the Unix epoch, from the server's clock (the edge reads the clock; the
/// rules do not).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/api/devices/enrol", post(routes::enrol))
        .route("/api/sync/push", post(routes::push))
        .route("/api/sync/pull", get(routes::pull))
        .route("/api/sync/snapshot", get(routes::snapshot))
        .route("/api/blobs/missing", post(routes::blobs_missing))
        .route(
            "/api/blobs/{hash}",
            put(routes::put_blob).get(routes::get_blob).layer(DefaultBodyLimit::max(ptw_core::sync::MAX_BLOB_BYTES)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the API on `listener` until Ctrl-C (or SIGTERM on Unix).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "ptw-sync-server listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
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
