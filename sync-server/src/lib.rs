//! ptw-sync-server: the hub devices push their signed permit changes to and pull others' from.
//!
//! This is the skeleton: configuration, the HTTP router and `GET /health`.

use std::{net::SocketAddr, path::PathBuf};

use axum::{routing::get, Json, Router};
use serde::{Deserialize, Serialize};

/// Default listen address (loopback; put a reverse proxy or TLS in front for the plant network).
pub const DEFAULT_BIND: &str = "127.0.0.1:8787";

/// The server's configuration file (TOML). Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address, overridden by `--bind`.
    pub bind: Option<SocketAddr>,
    /// Where the server keeps its database and blobs.
    pub data_dir: Option<PathBuf>,
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
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok".to_owned() })
}

/// The HTTP API.
pub fn router() -> Router {
    Router::new().route("/health", get(health))
}

/// Serves the API on `listener` until Ctrl-C (or SIGTERM on Unix).
pub async fn serve(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "ptw-sync-server listening");
    axum::serve(listener, router()).with_graceful_shutdown(shutdown_signal()).await?;
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
