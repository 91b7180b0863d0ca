//! The HTTP handlers of the sync protocol (`ptw_core::sync`): enrol, push, pull. Each one reads
//! its input, runs the blocking storage work off the async threads and maps the outcome; the
//! rules live in [`crate::push`] and the persistence in [`crate::storage`].

use crate::auth::Device;
use crate::error::{Error, Result};
use crate::push::{judge, Verdict};
use crate::secret::{new_token, normalise_code, sha256_hex};
use crate::storage::{NewChange, NewDevice};
use crate::{blocking, now_ms, AppState, Health};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::Json;
use ptw_core::sync::{EnrolRequest, EnrolResponse, PullResponse, PushRequest, PushResponse, Refusal, SnapshotResponse};
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
    let (response, accepted) = blocking(move || {
        let hashes: Vec<String> = req.changes.iter().map(|c| c.hash.clone()).collect();
        let known = storage.known_changes(&hashes)?;
        let mut keys: HashMap<_, _> = HashMap::new();
        let mut lists: HashMap<String, HashSet<String>> = HashMap::new();
        let mut response = PushResponse::default();
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
        let upto = match q.upto {
            Some(upto) => upto.max(0),
            None => storage.max_seq()?,
        };
        // `after` is the `next_after` of the previous page: "<kind>/<document id>".
        let position = after.split_once('/').unwrap_or(("", ""));
        let page = storage.snapshot_page(upto, position, max_docs, max_bytes)?;
        Ok((upto, page, after))
    })
    .await?;
    let next_after = page.docs.last().map_or(after, |d| format!("{}/{}", d.kind, d.doc_id));
    Ok(Json(SnapshotResponse { epoch: state.epoch.to_string(), upto, docs: page.docs, next_after, more: page.more }))
}
