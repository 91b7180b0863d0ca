//! Uploading the photos and signature images this device made that the sync server lacks:
//! ask which of the pending ones it is missing, upload only those, forget the rest.

use super::http::{server_said, SyncClient, Traffic, BLOB_TIMEOUT};
use super::{SyncOptions, SyncReport};
use crate::error::{Result, StoreError};
use crate::Store;
use ptw_core::api::SyncFailure;
use ptw_core::sync::{
    BlobsMissingRequest, BlobsMissingResponse, ErrorBody, Refusal, RefusalCode, MAX_BLOB_BYTES, MAX_BLOB_QUERY,
};
use reqwest::StatusCode;
use std::collections::{BTreeSet, HashSet};

/// A refusal of this one request (the blob, not the device or the moment): worth recording and
/// moving on from, rather than failing the round.
fn refuses_the_blob(status: StatusCode) -> bool {
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_MANY_REQUESTS
        )
}

impl SyncClient {
    /// `GET /api/blobs/{hash}`: the blob's MIME type and bytes, `None` when the server lacks it.
    /// The caller checks the bytes against the hash.
    pub(crate) fn get_blob(&self, token: &str, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        use std::io::Read;
        let what = "fetching a photo or signature";
        let resp = self
            .http
            .get(self.url(&format!("/api/blobs/{hash}")))
            .bearer_auth(token)
            .timeout(BLOB_TIMEOUT)
            .send()
            .map_err(|e| StoreError::sync(SyncFailure::Unreachable, format!("{what}: {e}")))?;
        self.note_server_time(resp.headers());
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = resp.text().unwrap_or_default();
            return Err(server_said(status, &body, what));
        }
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut bytes = Vec::new();
        resp.take(MAX_BLOB_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| {
            StoreError::sync(SyncFailure::Unreachable, format!("{what}: reading the answer failed: {e}"))
        })?;
        if bytes.len() > MAX_BLOB_BYTES {
            return Err(StoreError::sync(
                SyncFailure::BadAnswer,
                format!("{what}: the server sent more than {} MiB for blob {hash}", MAX_BLOB_BYTES / (1024 * 1024)),
            ));
        }
        Ok(Some((mime, bytes)))
    }
}

impl Store {
    /// Ask the server which pending blobs it lacks (up to [`MAX_BLOB_QUERY`] a request), upload
    /// only those, and forget every pending blob it then holds. No pending blob, no request.
    pub(super) fn push_blobs(
        &mut self,
        client: &SyncClient,
        token: &str,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<()> {
        // Refused blobs stay pending (the next round tries again); skip past them in this one.
        let mut skip = BTreeSet::new();
        while report.round_trips < limits.max_requests {
            let page: Vec<String> = self
                .pending_blob_page(MAX_BLOB_QUERY + skip.len())?
                .into_iter()
                .filter(|h| !skip.contains(h))
                .take(MAX_BLOB_QUERY)
                .collect();
            if page.is_empty() {
                return Ok(());
            }
            let what = "checking which photos and signatures the server lacks";
            report.blobs_checked += page.len();
            let request = BlobsMissingRequest { hashes: page.clone() };
            let answer: BlobsMissingResponse =
                client.round_trip(token, "/api/blobs/missing", &[], Some(&request), what, report)?;
            // Only what was asked counts: a hash the server adds of its own is ignored.
            let missing: HashSet<&str> = answer.missing.iter().map(String::as_str).collect();
            let (lacked, held): (Vec<String>, Vec<String>) =
                page.into_iter().partition(|h| missing.contains(h.as_str()));
            self.blobs_on_server(&held)?;
            for hash in lacked {
                if report.round_trips >= limits.max_requests {
                    return Ok(());
                }
                self.upload_blob(client, token, hash, &mut skip, report)?;
            }
        }
        Ok(())
    }

    /// `PUT` one pending blob; forgotten once the server holds it, skipped when it refuses it.
    fn upload_blob(
        &mut self,
        client: &SyncClient,
        token: &str,
        hash: String,
        skip: &mut BTreeSet<String>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let what = "uploading a photo or signature";
        let Some((mime, bytes)) = self.blob(&hash)? else {
            // Cannot happen while blob_outbox references blobs; nothing to upload if it does.
            self.blobs_on_server(std::slice::from_ref(&hash))?;
            return Ok(());
        };
        let sent = bytes.len();
        let resp = client
            .http
            .put(client.url(&format!("/api/blobs/{hash}")))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .timeout(BLOB_TIMEOUT)
            .body(bytes)
            .send()
            .map_err(|e| StoreError::sync(SyncFailure::Unreachable, format!("{what}: {e}")))?;
        client.note_server_time(resp.headers());
        let status = resp.status();
        let text = resp.text().map_err(|e| {
            StoreError::sync(SyncFailure::Unreachable, format!("{what}: reading the answer failed: {e}"))
        })?;
        report.count(sent, text.len());
        if status.is_success() {
            self.blobs_on_server(std::slice::from_ref(&hash))?;
            report.blobs_uploaded += 1;
        } else if refuses_the_blob(status) {
            skip.insert(hash.clone());
            let reason = serde_json::from_str::<ErrorBody>(&text).map(|b| b.error).unwrap_or(text);
            report.blobs_refused.push(Refusal { hash, code: RefusalCode::Malformed, reason });
        } else {
            return Err(server_said(status, &text, what));
        }
        Ok(())
    }
}
