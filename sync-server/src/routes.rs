//! The HTTP handlers of the sync protocol (`ptw_core::sync`): enrol, push, pull, cold start and
//! blobs (photos and signature images by SHA-256). Each one reads its input, runs the blocking
//! storage work off the async threads and maps the outcome; the rules live in [`crate::push`]
//! and the persistence in [`crate::storage`].

use crate::auth::Device;
use crate::error::{Error, Result};
use crate::push::{judge, Verdict};
use crate::secret::{new_token, normalise_code, sha256_hex};
use crate::storage::{NewChange, NewDevice};
use crate::{blocking, now_ms, AppState, Health};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ptw_core::sync::{
    blob_hash, blob_mime_problem, is_blob_hash, BlobsMissingRequest, BlobsMissingResponse, EnrolRequest, EnrolResponse,
    PullResponse, PushRequest, PushResponse, Refusal, SnapshotResponse, MAX_BLOB_BYTES, MAX_BLOB_QUERY,
};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

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

pub async fn enrol(
    State(state): State<AppState>,
    body: std::result::Result<Json<EnrolRequest>, JsonRejection>,
) -> Result<Json<EnrolResponse>> {
    let req = json_body(body)?;
    if req.public_key.len() != 64 || hex::decode(&req.public_key).is_err() {
        return Err(Error::bad_request("public_key must be the 64 hex digits of an Ed25519 public key"));
    }
    let token = new_token();
    let device = NewDevice { id: req.device_id, public_key: req.public_key, token_hash: sha256_hex(&token) };
    let code_hash = sha256_hex(&normalise_code(&req.code));
    let storage = state.storage.clone();
    let record = blocking(move || storage.enrol(&code_hash, &device, now_ms())).await?;
    tracing::info!(device = %record.id, name = %record.name, reported_name = %req.name, "device enrolled");
    Ok(Json(EnrolResponse { device_token: token, epoch: state.epoch.to_string() }))
}

pub async fn push(
    State(state): State<AppState>,
    Device(device): Device,
    body: std::result::Result<Json<PushRequest>, JsonRejection>,
) -> Result<Json<PushResponse>> {
    let req = json_body(body)?;
    if req.changes.len() > MAX_PUSH_CHANGES {
        return Err(Error::bad_request(format!(
            "a push holds at most {MAX_PUSH_CHANGES} changes; send the outbox in smaller batches"
        )));
    }
    let storage = state.storage.clone();
    let epoch = state.epoch.clone();
    let (response, accepted) = blocking(move || {
        let hashes: Vec<String> = req.changes.iter().map(|c| c.hash.clone()).collect();
        let known = storage.known_changes(&hashes)?;
        let mut keys: HashMap<_, _> = HashMap::new();
        let mut lists: HashMap<String, HashSet<String>> = HashMap::new();
        let mut response = PushResponse { epoch: epoch.to_string(), ..PushResponse::default() };
        let mut accepted = Vec::new();
        let mut acked_here = HashSet::new();
        for change in req.changes {
            if known.contains(&change.hash) || acked_here.contains(&change.hash) {
                if acked_here.insert(change.hash.clone()) {
                    response.acked.push(change.hash);
                }
                continue;
            }
            if !lists.contains_key(&change.doc_id) {
                lists.insert(change.doc_id.clone(), storage.event_lists(&change.doc_id)?);
            }
            let doc_lists = lists.entry(change.doc_id.clone()).or_default();
            let mut lookup = |id| match keys.get(&id) {
                Some(found) => Ok(Clone::clone(found)),
                None => {
                    let found = storage.device(id)?;
                    keys.insert(id, found.clone());
                    Ok(found)
                }
            };
            match judge(&change, doc_lists, &mut lookup)? {
                Verdict::Accept { new_event_lists } => {
                    doc_lists.extend(new_event_lists.iter().cloned());
                    acked_here.insert(change.hash.clone());
                    response.acked.push(change.hash.clone());
                    accepted.push(NewChange { change, device_id: device.id, new_event_lists });
                }
                Verdict::Refuse { reason } => {
                    tracing::warn!(device = %device.id, hash = %change.hash, %reason, "change refused");
                    response.refused.push(Refusal { hash: change.hash, reason });
                }
            }
        }
        Ok((response, accepted))
    })
    .await?;
    // Acknowledged only once durable (the writer commits waiting pushes together).
    state.writer.store(accepted).await?;
    tracing::info!(device = %device.id, acked = response.acked.len(), refused = response.refused.len(), "push");
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    since: i64,
    max_changes: Option<usize>,
    max_bytes: Option<usize>,
}

pub async fn pull(
    State(state): State<AppState>,
    Device(_device): Device,
    query: std::result::Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<PullResponse>> {
    let Query(q) = query.map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })?;
    let max_changes = q.max_changes.unwrap_or(MAX_PULL_CHANGES).clamp(1, MAX_PULL_CHANGES);
    let max_bytes = q.max_bytes.unwrap_or(MAX_PULL_BYTES).clamp(1, MAX_PULL_BYTES);
    let since = q.since.max(0);
    let storage = state.storage.clone();
    let page = blocking(move || storage.changes_since(since, max_changes, max_bytes)).await?;
    let next_cursor = page.changes.last().map_or(since, |c| c.seq);
    Ok(Json(PullResponse { epoch: state.epoch.to_string(), changes: page.changes, next_cursor, more: page.more }))
}

#[derive(Debug, Deserialize)]
pub struct SnapshotQuery {
    upto: Option<i64>,
    #[serde(default)]
    after: String,
    max_docs: Option<usize>,
    max_bytes: Option<usize>,
}

/// A page of a cold start (see `ptw_core::sync`): answered from stored snapshots and changes.
pub async fn snapshot(
    State(state): State<AppState>,
    Device(_device): Device,
    query: std::result::Result<Query<SnapshotQuery>, QueryRejection>,
) -> Result<Json<SnapshotResponse>> {
    let Query(q) = query.map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })?;
    let max_docs = q.max_docs.unwrap_or(MAX_SNAPSHOT_DOCS).clamp(1, MAX_SNAPSHOT_DOCS);
    let max_bytes = q.max_bytes.unwrap_or(MAX_PULL_BYTES).clamp(1, MAX_PULL_BYTES);
    let storage = state.storage.clone();
    let after = q.after;
    let (upto, page, after) = blocking(move || {
        // Never past the newest change: a device must not skip numbers handed out later.
        let newest = storage.max_seq()?;
        let upto = q.upto.map_or(newest, |upto| upto.clamp(0, newest));
        // `after` is the `next_after` of the previous page: "<kind>/<document id>".
        let position = after.split_once('/').unwrap_or(("", ""));
        let page = storage.snapshot_page(upto, position, max_docs, max_bytes)?;
        Ok((upto, page, after))
    })
    .await?;
    let next_after = page.docs.last().map_or(after, |d| format!("{}/{}", d.kind, d.doc_id));
    Ok(Json(SnapshotResponse { epoch: state.epoch.to_string(), upto, docs: page.docs, next_after, more: page.more }))
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
