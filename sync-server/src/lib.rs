//! ptw-sync-server: the hub devices push their signed permit changes to and pull others' from,
//! and the one writer of the plant's registry.
//!
//! The server is not an authority over permits' content — devices derive every permit
//! themselves — but it is the authority over *who may sign*: it alone signs the registry log
//! (people, roles, certificates, freezes, locations, settings, the catalog, devices), and it
//! keeps only changes every device can apply: each pushed change is judged against the stored
//! document it belongs to, test-applied, and its events checked against the registry and the
//! server's clock. Every answer carries the server's clock, which devices correct their event
//! times by.
//!
//! - [`routes`]: the HTTP handlers (`/health`, enrolment, push, pull, cold start, registry,
//!   blobs, the admin API)
//! - [`auth`]: the bearer-token extractor
//! - [`judge`]: the rules a pushed change must pass, and [`docs`] the documents it is judged
//!   against
//! - [`registry`]: the registry log this server signs
//! - [`storage`]: the storage trait and its backends, SQLite (embedded default) and PostgreSQL
//! - [`writer`]: the one writer thread (judging and group commit of pushes, background compaction)
//! - [`compact`]: compacted documents for devices that start cold
//! - [`serve`]: the listener — TLS, timeouts and connection limits
//! - [`admin`]: registry changes by an admin person over HTTP
//! - [`alerting`]: alerts raised while devices are offline, and the channels' durable outbox
//! - [`limits`]: rate limits on enrolment and admin attempts
//! - [`notify`]: telling waiting devices that something changed
//! - [`secret`]: tokens, enrolment codes and the server's key
//! - [`error`]: the one error type and its HTTP answers

pub mod admin;
pub mod alerting;
pub mod auth;
pub mod compact;
pub mod docs;
pub mod error;
pub mod judge;
pub mod limits;
pub mod notify;
pub mod registry;
pub mod routes;
pub mod secret;
pub mod serve;
pub mod storage;
pub mod tls;
pub mod writer;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::{net::SocketAddr, time::Duration};

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::routing::{get, post, put};
use axum::Router;
use ptw_core::signature::SignatureMemo;
use serde::{Deserialize, Serialize};

pub use error::{Error, Result};
use storage::Storage;

/// Default listen address (loopback; the plant network needs TLS: `tls_cert` and `tls_key`).
pub const DEFAULT_BIND: &str = "127.0.0.1:8787";

/// The largest request body accepted (a push of many changes, base64-encoded).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long one request may take, body included, before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// The server's registry key (hex Ed25519 seed, made on first use); default
    /// `<data_dir>/server-key`.
    pub server_key_file: Option<PathBuf>,
    /// TLS certificate and private key (PEM). Default `<data_dir>/tls-cert.pem` and
    /// `<data_dir>/tls-key.pem` when both exist (`ptw-sync-server tls init` makes them).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The alert channels and the scheduler's timing (`[alerts]`, `[[alerts.channel]]`).
    #[serde(default)]
    pub alerts: alerting::AlertsConfig,
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
    /// Judges and stores pushed changes (group commit) and compacts documents.
    pub writer: Arc<writer::Writer>,
    /// The registry log this server signs.
    pub registry: Arc<registry::ServerRegistry>,
    /// Signatures seen to verify.
    pub memo: Arc<SignatureMemo>,
    pub limits: Arc<limits::Limits>,
    /// Where stored changes and the registry stand, for devices waiting on a change.
    pub feed: Arc<notify::ChangeFeed>,
}

impl AppState {
    /// The shared state on `storage` with the server key `key`: the registry folded (and begun,
    /// for a new database), old rows brought up to date, the writer thread started.
    pub fn new(storage: Arc<dyn Storage>, key: ed25519_zebra::SigningKey) -> Result<Self> {
        let epoch: Arc<str> = storage.epoch()?.into();
        let registry = Arc::new(registry::ServerRegistry::open(storage.as_ref(), key, now_ms())?);
        backfill_actors(storage.as_ref())?;
        let memo = Arc::new(SignatureMemo::new());
        let feed = Arc::new(notify::ChangeFeed::new(storage.max_seq()?, registry.heads()));
        let writer = Arc::new(writer::Writer::start(
            storage.clone(),
            registry.clone(),
            memo.clone(),
            epoch.clone(),
            feed.clone(),
        )?);
        Ok(AppState { storage, epoch, writer, registry, memo, limits: Arc::new(limits::Limits::default()), feed })
    }
}

/// Changes stored before their Automerge actor was recorded get it now (once).
fn backfill_actors(storage: &dyn Storage) -> Result<()> {
    loop {
        let rows = storage.changes_without_actor(1000)?;
        if rows.is_empty() {
            return Ok(());
        }
        for (hash, bytes) in rows {
            let (actor, seq) = match ptw_doc::guarded("reading a stored change", || {
                automerge::Change::from_bytes(bytes).map_err(Into::into)
            }) {
                Ok(c) => (c.actor_id().to_hex_string(), c.seq()),
                // Not decodable (stored before pushes were checked this closely): it can never
                // collide with a real change's actor.
                Err(_) => (format!("undecodable-{hash}"), 0),
            };
            storage.set_change_actor(&hash, &actor, seq)?;
        }
    }
}

/// Runs blocking storage work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("storage task failed: {e}")))?
}

/// Where the server reads its clock from instead of the system's, when set (tests only; see
/// `--fake-clock-file`).
static CLOCK_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Read the server's clock from `path` from now on, instead of the system clock: for tests that
/// move time by hand. The file holds Unix milliseconds (`1796025600000`: the clock stands
/// there), or an offset from the system clock (`+1800000`: the clock runs, half an hour
/// ahead). Has an effect once per process.
pub fn use_clock_file(path: PathBuf) {
    let _ = CLOCK_FILE.set(path);
}

/// Milliseconds since the Unix epoch, from the server's clock (the edge reads the clock; the
/// rules do not).
pub fn now_ms() -> i64 {
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let Some(path) = CLOCK_FILE.get() else { return system };
    // A file caught while being rewritten keeps the time last read, never jumps to the system's.
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);
    match std::fs::read_to_string(path).ok().and_then(|text| ptw_core::hlc::fake_clock_ms(&text, system)) {
        Some(ms) => {
            LAST.store(ms, std::sync::atomic::Ordering::Relaxed);
            ms
        }
        None => match LAST.load(std::sync::atomic::Ordering::Relaxed) {
            i64::MIN => system,
            last => last,
        },
    }
}

/// The HTTP API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/api/devices/enrol", post(routes::enrol))
        .route("/api/registry", get(routes::registry))
        .route("/api/admin/registry", post(admin::change))
        .route("/api/sync/push", post(routes::push))
        .route("/api/sync/pull", get(routes::pull))
        .route("/api/sync/wait", get(routes::wait))
        .route("/api/sync/snapshot", get(routes::snapshot))
        .route("/api/blobs/missing", post(routes::blobs_missing))
        .route(
            "/api/blobs/{hash}",
            put(routes::put_blob).get(routes::get_blob).layer(DefaultBodyLimit::max(ptw_core::sync::MAX_BLOB_BYTES)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(server_time))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Every answer carries the server's clock (R-TIME).
async fn server_time(mut response: axum::response::Response) -> axum::response::Response {
    if let Ok(v) = HeaderValue::from_str(&now_ms().to_string()) {
        response.headers_mut().insert(ptw_core::sync::SERVER_TIME_HEADER, v);
    }
    response
}
