//! The HTTP handlers of the sync protocol (`ptw_core::sync`): enrol, push, pull, cold start,
//! the registry log and blobs (photos and signature images by SHA-256). Each one checks its
//! input — ids, hashes, cursors — before anything reaches storage (bad input is a 4xx, never a
//! 5xx), runs the blocking work off the async threads and maps the outcome; the rules live in
//! [`crate::judge`] and the persistence in [`crate::storage`].

use crate::auth::Device;
use crate::error::{Error, Result};
use crate::notify::Held;
use crate::secret::{new_token, normalise_code, sha256_hex};
use crate::serve::ClientAddr;
use crate::{blocking, now_ms, AppState, Health};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ptw_core::authority::SignedEntry;
use ptw_core::sync::WaitResponse;
use ptw_core::sync::{
    blob_hash, blob_mime_problem, is_blob_hash, BlobsMissingRequest, BlobsMissingResponse, EnrolRequest, EnrolResponse,
    PullResponse, PushRequest, PushResponse, RegistryPage, SnapshotResponse, MAX_BLOB_BYTES, MAX_BLOB_QUERY,
    MAX_REGISTRY_PAGE, MAX_WAIT_MS, PERMIT_KIND,
};
use serde::Deserialize;
use std::time::Duration;

/// Changes in a pull page when the device does not say (and the most it may ask for).
pub const MAX_PULL_CHANGES: usize = 500;
/// Bytes of change data in a pull page when the device does not say (and the most it may ask
/// for). Counted on the raw change bytes, before base64.
pub const MAX_PULL_BYTES: usize = 4 * 1024 * 1024;
/// Changes in one push.
pub const MAX_PUSH_CHANGES: usize = 1000;

/// Documents in a cold-start page when the device does not say (and the most it may ask for).
pub const MAX_SNAPSHOT_DOCS: usize = 500;

/// `ok` with the compaction backlog; a 500 when the database does not answer.
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>> {
    let storage = state.storage.clone();
    let backlog = blocking(move || storage.compaction_backlog(crate::compact::MIN_NEW_CHANGES)).await?;
    Ok(Json(Health { status: "ok".to_owned(), compaction_backlog: backlog }))
}

fn json_body<T>(body: std::result::Result<Json<T>, JsonRejection>) -> Result<T> {
    body.map(|Json(t)| t).map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })
}

fn query<T>(q: std::result::Result<Query<T>, QueryRejection>) -> Result<T> {
    q.map(|Query(t)| t).map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })
}

/// `POST /api/devices/enrol`: a device registers its key with a one-time code. The server gives
/// the id; a code is spent once; attempts are limited per address.
pub async fn enrol(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    body: std::result::Result<Json<EnrolRequest>, JsonRejection>,
) -> Result<Json<EnrolResponse>> {
    let address = client.map(|Extension(ClientAddr(a))| a.ip());
    state.limits.enrolment(address, now_ms())?;
    let req = json_body(body)?;
    if !ptw_core::signature::is_public_key(&req.public_key) {
        return Err(Error::bad_request("public_key must be the 64 hex digits of an Ed25519 public key"));
    }
    if req.code.len() > 64 {
        state.limits.enrolment_failed(address, now_ms());
        return Err(Error::CodeUnknown);
    }
    let token = new_token();
    let token_hash = sha256_hex(&token);
    let code_hash = sha256_hex(&normalise_code(&req.code));
    let storage = state.storage.clone();
    let registry = state.registry.clone();
    let public_key = req.public_key.to_ascii_lowercase();
    let (device_id, name) = blocking(move || {
        let now = now_ms();
        let code = storage.enrol_code(&code_hash)?.ok_or(Error::CodeUnknown)?;
        if code.used_ms.is_some() {
            return Err(Error::CodeUsed);
        }
        if code.expires_ms <= now {
            return Err(Error::CodeExpired);
        }
        let id = registry.enrol(storage.as_ref(), &code_hash, &code, &public_key, &token_hash, now)?;
        Ok((id, code.name))
    })
    .await
    .inspect_err(|e| {
        if matches!(e, Error::CodeUnknown | Error::CodeUsed | Error::CodeExpired) {
            state.limits.enrolment_failed(address, now_ms());
        }
    })?;
    tracing::info!(device = %device_id, name = ?name, "device enrolled");
    Ok(Json(EnrolResponse {
        device_id,
        name,
        device_token: token,
        epoch: state.epoch.to_string(),
        server_key: state.registry.public_key(),
    }))
}

/// A change hash as the server keeps it: lower-case hex, or the request is refused.
fn normalised_hash(hash: &str) -> Result<String> {
    let lower = hash.to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        Err(Error::bad_request(format!(
            "{:?} is not a change hash (64 hex digits)",
            lower.chars().take(80).collect::<String>()
        )))
    }
}

pub async fn push(
    State(state): State<AppState>,
    Device(device): Device,
    body: std::result::Result<Json<PushRequest>, JsonRejection>,
) -> Result<Json<PushResponse>> {
    let mut req = json_body(body)?;
    if req.changes.len() > MAX_PUSH_CHANGES {
        return Err(Error::bad_request(format!(
            "a push holds at most {MAX_PUSH_CHANGES} changes; send the outbox in smaller batches"
        )));
    }
    for c in &mut req.changes {
        c.hash = normalised_hash(&c.hash)?;
    }
    let response = state.writer.push(device.id, req.changes).await?;
    tracing::info!(device = %device.id, acked = response.acked.len(), refused = response.refused.len(), "push");
    Ok(Json(response))
}

/// The registry entries after `after` for a page (at most [`MAX_REGISTRY_PAGE`]), and whether
/// more wait.
fn registry_part(state: &AppState, after: Option<u64>) -> Result<(Vec<SignedEntry>, bool)> {
    let registry = state.registry.current();
    let head = registry.head.as_ref().map(|h| h.seq);
    if head.is_some() && after >= head {
        return Ok((Vec::new(), false));
    }
    let mut entries = state.storage.registry_entries(after, MAX_REGISTRY_PAGE + 1)?;
    let more = entries.len() > MAX_REGISTRY_PAGE;
    entries.truncate(MAX_REGISTRY_PAGE);
    Ok((entries, more))
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    since: i64,
    max_changes: Option<usize>,
    max_bytes: Option<usize>,
    registry_after: Option<u64>,
}

pub async fn pull(
    State(state): State<AppState>,
    Device(_device): Device,
    q: std::result::Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<PullResponse>> {
    let q = query(q)?;
    let max_changes = q.max_changes.unwrap_or(MAX_PULL_CHANGES).clamp(1, MAX_PULL_CHANGES);
    let max_bytes = q.max_bytes.unwrap_or(MAX_PULL_BYTES).clamp(1, MAX_PULL_BYTES);
    let st = state.clone();
    let response = blocking(move || {
        st.registry.refresh(st.storage.as_ref())?;
        let (registry, registry_more) = registry_part(&st, q.registry_after)?;
        // A cursor beyond the newest change is not echoed back: a device must not skip the
        // numbers handed out next.
        let since = q.since.clamp(0, st.storage.max_seq()?);
        let page = st.storage.changes_since(since, max_changes, max_bytes)?;
        let next_cursor = page.changes.last().map_or(since, |c| c.seq);
        Ok(PullResponse {
            epoch: st.epoch.to_string(),
            changes: page.changes,
            next_cursor,
            more: page.more,
            registry,
            registry_more,
        })
    })
    .await?;
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    epoch: String,
    #[serde(default)]
    since: i64,
    registry_after: Option<u64>,
    timeout_ms: Option<u64>,
}

/// Held open until there is something beyond the device's pull cursor and registry head to
/// pull, or until the timeout ([`crate::notify`]).
pub async fn wait(
    State(state): State<AppState>,
    Device(_device): Device,
    q: std::result::Result<Query<WaitQuery>, QueryRejection>,
) -> Result<Json<WaitResponse>> {
    let q = query(q)?;
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(MAX_WAIT_MS).min(MAX_WAIT_MS));
    // A cursor of another epoch (a restored database) must pull from the start: at once.
    let changed = q.epoch != *state.epoch
        || state.feed.wait(Held { since: q.since, registry_after: q.registry_after }, timeout).await;
    let (max_seq, registry_head) = state.feed.position();
    Ok(Json(WaitResponse { changed, epoch: state.epoch.to_string(), max_seq, registry_head }))
}

#[derive(Debug, Deserialize)]
pub struct SnapshotQuery {
    upto: Option<i64>,
    #[serde(default)]
    after: String,
    max_docs: Option<usize>,
    max_bytes: Option<usize>,
    registry_after: Option<u64>,
}

/// `after` of a cold-start page: empty, or `permit/<canonical permit id>`.
fn cold_position(after: &str) -> Result<(String, String)> {
    if after.is_empty() {
        return Ok((String::new(), String::new()));
    }
    match after.split_once('/') {
        Some((kind, id)) if kind == PERMIT_KIND && ptw_doc::shape::is_permit_id(id) => Ok((kind.into(), id.into())),
        _ => Err(Error::bad_request("after must be the next_after of the previous cold-start page")),
    }
}

/// A page of a cold start (see `ptw_core::sync`): answered from stored snapshots and changes.
pub async fn snapshot(
    State(state): State<AppState>,
    Device(_device): Device,
    q: std::result::Result<Query<SnapshotQuery>, QueryRejection>,
) -> Result<Json<SnapshotResponse>> {
    let q = query(q)?;
    let max_docs = q.max_docs.unwrap_or(MAX_SNAPSHOT_DOCS).clamp(1, MAX_SNAPSHOT_DOCS);
    let max_bytes = q.max_bytes.unwrap_or(MAX_PULL_BYTES).clamp(1, MAX_PULL_BYTES);
    let position = cold_position(&q.after)?;
    let st = state.clone();
    let response = blocking(move || {
        st.registry.refresh(st.storage.as_ref())?;
        let (registry, registry_more) = registry_part(&st, q.registry_after)?;
        // Never past the newest change: a device must not skip numbers handed out later.
        let newest = st.storage.max_seq()?;
        let upto = q.upto.map_or(newest, |upto| upto.clamp(0, newest));
        let page = st.storage.snapshot_page(upto, (&position.0, &position.1), max_docs, max_bytes)?;
        let next_after = page.docs.last().map_or(q.after.clone(), |d| format!("{}/{}", d.kind, d.doc_id));
        Ok(SnapshotResponse {
            epoch: st.epoch.to_string(),
            upto,
            docs: page.docs,
            next_after,
            more: page.more,
            registry,
            registry_more,
        })
    })
    .await?;
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
pub struct RegistryQuery {
    after: Option<u64>,
}

/// `GET /api/registry?after=N`: the registry log alone.
pub async fn registry(
    State(state): State<AppState>,
    Device(_device): Device,
    q: std::result::Result<Query<RegistryQuery>, QueryRejection>,
) -> Result<Json<RegistryPage>> {
    let q = query(q)?;
    let st = state.clone();
    let (entries, more) = blocking(move || {
        st.registry.refresh(st.storage.as_ref())?;
        registry_part(&st, q.after)
    })
    .await?;
    Ok(Json(RegistryPage { entries, more }))
}

/// The MIME type a blob upload without `Content-Type` is kept as.
pub const DEFAULT_BLOB_MIME: &str = "application/octet-stream";

/// `text` as it may appear in an error message: escaped, and cut short when long.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect::<String>().escape_default().collect();
    if text.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

fn not_a_blob_hash(text: &str) -> Error {
    Error::bad_request(format!(
        "'{}' is not a blob hash: expected the 64 lower-case hex digits of the SHA-256 of the blob's bytes",
        shown(text)
    ))
}

/// The `{hash}` of a blob's path, checked.
fn blob_path(path: std::result::Result<Path<String>, PathRejection>) -> Result<String> {
    let Path(hash) = path.map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })?;
    if !is_blob_hash(&hash) {
        return Err(not_a_blob_hash(&hash));
    }
    Ok(hash)
}

fn blob_too_large() -> Error {
    Error::BadRequest {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!(
            "the blob is larger than the {} MiB the server keeps; retake the photo at a lower resolution",
            MAX_BLOB_BYTES / (1024 * 1024)
        ),
    }
}

/// `POST /api/blobs/missing`: which of the named blobs the server does not hold yet.
pub async fn blobs_missing(
    State(state): State<AppState>,
    Device(_device): Device,
    body: std::result::Result<Json<BlobsMissingRequest>, JsonRejection>,
) -> Result<Json<BlobsMissingResponse>> {
    let req = json_body(body)?;
    if req.hashes.len() > MAX_BLOB_QUERY {
        return Err(Error::bad_request(format!(
            "ask about at most {MAX_BLOB_QUERY} blobs at a time (this asked about {}); send smaller batches",
            req.hashes.len()
        )));
    }
    if let Some(bad) = req.hashes.iter().find(|h| !is_blob_hash(h)) {
        return Err(not_a_blob_hash(bad));
    }
    let storage = state.storage.clone();
    let missing = blocking(move || storage.missing_blobs(&req.hashes)).await?;
    Ok(Json(BlobsMissingResponse { missing }))
}

/// `PUT /api/blobs/{hash}`: keep the body as the blob `hash`, once it hashes to it; `204` when
/// durable.
pub async fn put_blob(
    State(state): State<AppState>,
    Device(device): Device,
    path: std::result::Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<StatusCode> {
    let hash = blob_path(path)?;
    let mime = match headers.get(CONTENT_TYPE) {
        None => DEFAULT_BLOB_MIME.to_owned(),
        Some(value) => value
            .to_str()
            .map_err(|_| Error::bad_request("the Content-Type of a blob must be ASCII, e.g. image/jpeg"))?
            .to_owned(),
    };
    if let Some(problem) = blob_mime_problem(&mime) {
        return Err(Error::bad_request(format!("the blob's Content-Type cannot be kept: {problem}")));
    }
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            blob_too_large()
        } else {
            Error::BadRequest { status: r.status(), message: r.body_text() }
        }
    })?;
    if bytes.len() > MAX_BLOB_BYTES {
        return Err(blob_too_large());
    }
    let storage = state.storage.clone();
    let size = bytes.len();
    let stored = hash.clone();
    blocking(move || {
        // Hashing megabytes is work: off the async threads too.
        let actual = blob_hash(&bytes);
        if actual != stored {
            return Err(Error::bad_request(format!(
                "the bytes hash to {actual}, not to {stored}: the upload was damaged on the way or the device's copy \
                 is; nothing was stored"
            )));
        }
        storage.put_blob(&stored, &mime, &bytes, device.id, now_ms())
    })
    .await?;
    tracing::info!(device = %device.id, %hash, size, "blob stored");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/blobs/{hash}`: the blob's bytes with its `Content-Type`; 404 when not held.
pub async fn get_blob(
    State(state): State<AppState>,
    Device(_device): Device,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Response> {
    let hash = blob_path(path)?;
    let storage = state.storage.clone();
    let wanted = hash.clone();
    let Some((mime, bytes)) = blocking(move || storage.blob(&wanted)).await? else {
        return Err(Error::NotFound(format!(
            "the server has no blob {hash}: the device that took the photo or signature has not synced it yet; \
             try again after it has"
        )));
    };
    let content_type = HeaderValue::from_str(&mime).unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_BLOB_MIME));
    Ok(([(CONTENT_TYPE, content_type)], bytes).into_response())
}
