//! The sync client: enrol this device with a sync server, then push the blobs the server lacks
//! and the outbox, and pull what other devices made, page by page.
//!
//! Offline is the normal state of a tablet: every network failure comes back as
//! [`StoreError::Sync`] and leaves the store exactly as it was — unacknowledged changes stay in
//! the outbox, and pulling resumes from the cursor saved with the last page applied.

use crate::error::{Result, StoreError};
use crate::sync::{ColdDoc, RemoteChange};
use crate::{read_meta, write_meta, Store};
use chrono::{DateTime, Utc};
use ptw_core::event::public_key_hex;
use ptw_core::sync::{
    BlobsMissingRequest, BlobsMissingResponse, EnrolRequest, EnrolResponse, ErrorBody, PullResponse, PushRequest,
    PushResponse, Refusal, SnapshotResponse, WireChange, MAX_BLOB_BYTES, MAX_BLOB_QUERY,
};
use reqwest::StatusCode;
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

/// Changes per push request.
pub const PUSH_BATCH: usize = 200;
/// Changes and bytes per pull page the client asks for.
pub const PULL_MAX_CHANGES: usize = 500;
pub const PULL_MAX_BYTES: usize = 4 * 1024 * 1024;
/// A sync round never runs more requests than this, so a server that always says "more" cannot
/// keep a tablet busy forever.
const MAX_REQUESTS_PER_ROUND: usize = 10_000;
/// How long one blob upload or download may take: a 16 MiB photo over weak plant Wi-Fi needs
/// far longer than the 30 s an ordinary request gets.
const BLOB_TIMEOUT: Duration = Duration::from_secs(600);

/// Limits of one sync round. [`Store::sync_now`] uses [`SyncOptions::default`]; smaller pages
/// and a request budget let tools and tests sync step by step (a simulator showing progress, a
/// test killing a device between pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// Changes per pull page the client asks for (the server may send fewer).
    pub pull_max_changes: usize,
    /// Requests (push and pull) this round may make; the round stops early when they are used
    /// up, with everything done so far kept. The next round carries on from the saved cursor.
    pub max_requests: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { pull_max_changes: PULL_MAX_CHANGES, max_requests: MAX_REQUESTS_PER_ROUND }
    }
}

/// What one sync round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub acked: usize,
    pub refused: Vec<Refusal>,
    pub pulled: usize,
    pub applied: usize,
    /// Documents that arrived compacted (a cold start).
    pub snapshots: usize,
    /// Time spent applying pulled pages (the rest of a round is the network and the server).
    pub apply_ms: u64,
    /// Changes put back in the outbox because the server's database was replaced or restored
    /// (its epoch changed): this device sends everything it holds again.
    pub requeued: usize,
    pub round_trips: usize,
    /// Request and response bodies, in bytes.
    pub bytes_sent: usize,
    pub bytes_received: usize,
    /// Pending blobs the server was asked about (it holds them all afterwards, except refused ones).
    pub blobs_checked: usize,
    /// Blobs uploaded because the server lacked them.
    pub blobs_uploaded: usize,
    /// Blobs the server refused; they stay pending on this device.
    pub blobs_refused: Vec<Refusal>,
}

/// What [`Store::sync_now_observed`] tells after each request of a round.
pub(crate) type SyncObserver = Box<dyn FnMut(&SyncReport) + Send>;

/// An HTTP connection to one sync server. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct SyncClient {
    http: reqwest::blocking::Client,
    base: String,
}

impl SyncClient {
    pub fn new(base_url: &str) -> Result<SyncClient> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StoreError::Sync(format!("cannot set up HTTP: {e}")))?;
        Ok(SyncClient { http, base: base_url.trim_end_matches('/').to_string() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Turn a non-2xx answer into an error that says what the server said.
fn check(resp: reqwest::blocking::Response, what: &str) -> Result<(String, usize)> {
    let status = resp.status();
    let body = resp.text().map_err(|e| StoreError::Sync(format!("{what}: reading the answer failed: {e}")))?;
    let len = body.len();
    if status.is_success() {
        return Ok((body, len));
    }
    Err(server_said(status, body, what))
}

/// The words of an error answer: its [`ErrorBody`], or the raw body.
fn reason_of(body: String) -> String {
    serde_json::from_str::<ErrorBody>(&body).map(|b| b.error).unwrap_or(body)
}

fn server_said(status: StatusCode, body: String, what: &str) -> StoreError {
    StoreError::Sync(format!("{what}: the server answered {status}: {}", reason_of(body)))
}

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
    /// One JSON round trip: `POST path` with `body`, or `GET path?query` when `body` is `None`;
    /// counted in `report` (round trips, bytes both ways). Non-2xx answers become errors that
    /// say what the server said, prefixed with `what` the device was doing.
    fn round_trip<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&impl serde::Serialize>,
        what: &str,
        report: &mut SyncReport,
    ) -> Result<T> {
        let request = match body {
            Some(body) => {
                let json = serde_json::to_string(body).map_err(|e| StoreError::Sync(format!("{what}: {e}")))?;
                report.bytes_sent += json.len();
                self.http.post(self.url(path)).header(reqwest::header::CONTENT_TYPE, "application/json").body(json)
            }
            None => self.http.get(self.url(path)),
        };
        let resp = request.bearer_auth(token).query(query).send().map_err(net(what))?;
        report.round_trips += 1;
        let (text, len) = check(resp, what)?;
        report.bytes_received += len;
        parse(&text, what)
    }

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
            .map_err(net(what))?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = resp.text().unwrap_or_default();
            return Err(server_said(status, body, what));
        }
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut bytes = Vec::new();
        resp.take(MAX_BLOB_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::Sync(format!("{what}: reading the answer failed: {e}")))?;
        if bytes.len() > MAX_BLOB_BYTES {
            return Err(StoreError::Sync(format!(
                "{what}: the server sent more than {} MiB for blob {hash}, more than any blob may be",
                MAX_BLOB_BYTES / (1024 * 1024)
            )));
        }
        Ok(Some((mime, bytes)))
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Sync(format!("{what}: unexpected answer from the server: {e}")))
}

fn net(what: &str) -> impl Fn(reqwest::Error) -> StoreError + '_ {
    move |e| StoreError::Sync(format!("{what}: the sync server cannot be reached: {e}"))
}

impl Store {
    /// Enrol this device with the server at `url` using the one-time `code` IT printed, and
    /// remember the server and the device token.
    pub fn enrol(&mut self, url: &str, code: &str) -> Result<()> {
        let client = SyncClient::new(url)?;
        let request = EnrolRequest {
            code: code.trim().to_string(),
            device_id: self.identity.id,
            name: read_meta(&self.conn, "device_name")?.unwrap_or_default(),
            public_key: public_key_hex(&self.identity.key),
        };
        let resp =
            client.http.post(client.url("/api/devices/enrol")).json(&request).send().map_err(net("enrolment"))?;
        let (body, _) = check(resp, "enrolment")?;
        let answer: EnrolResponse = parse(&body, "enrolment")?;
        write_meta(&self.conn, "sync_url", &client.base)?;
        write_meta(&self.conn, "sync_token", &answer.device_token)?;
        Ok(())
    }

    /// The sync server this device is enrolled with, if any.
    pub fn sync_server(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "sync_url")
    }

    /// The bearer token the server gave this device at enrolment, if enrolled. For tools that
    /// talk to the server as this device (the load generator); the app never shows it.
    pub fn sync_token(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "sync_token")
    }

    /// When the last sync round finished without error (Unix ms).
    pub fn last_sync_ms(&self) -> Result<Option<i64>> {
        Ok(read_meta(&self.conn, "last_sync_ms")?.and_then(|s| s.parse().ok()))
    }

    /// One sync round with the enrolled server: upload the blobs it lacks, push the whole outbox,
    /// then pull until caught up.
    pub fn sync_now(&mut self, now: DateTime<Utc>) -> Result<SyncReport> {
        self.sync_now_with(now, SyncOptions::default())
    }

    /// [`Store::sync_now_with`], telling `observer` how the round is going after each push and
    /// pull page (for a progress display: a tablet's first sync can take a while).
    pub fn sync_now_observed(
        &mut self,
        now: DateTime<Utc>,
        options: SyncOptions,
        observer: impl FnMut(&SyncReport) + Send + 'static,
    ) -> Result<SyncReport> {
        self.observer = Some(Box::new(observer));
        let result = self.sync_now_with(now, options);
        self.observer = None;
        result
    }

    fn observe(&mut self, report: &SyncReport) {
        if let Some(observer) = self.observer.as_mut() {
            observer(report);
        }
    }

    /// [`Store::sync_now`] within `options`: pages of at most `pull_max_changes`, and no more
    /// than `max_requests` requests in this round.
    pub fn sync_now_with(&mut self, now: DateTime<Utc>, options: SyncOptions) -> Result<SyncReport> {
        let (client, token) = self.sync_connection()?;
        let mut report = SyncReport::default();
        let limits = SyncOptions {
            pull_max_changes: options.pull_max_changes.max(1),
            max_requests: options.max_requests.min(MAX_REQUESTS_PER_ROUND),
        };
        // Blobs first: a change never reaches the server ahead of the photo or signature it names.
        self.push_blobs(&client, &token, &limits, &mut report)?;
        self.push(&client, &token, now, &limits, &mut report)?;
        let requeued_before_pull = report.requeued;
        self.pull(&client, &token, now, &limits, &mut report)?;
        if report.requeued > requeued_before_pull {
            // The pull found the server replaced: what this device holds goes up now.
            self.push(&client, &token, now, &limits, &mut report)?;
        }
        write_meta(&self.conn, "last_sync_ms", &now.timestamp_millis().to_string())?;
        Ok(report)
    }

    /// The HTTP client for the enrolled server, and the device token.
    pub(crate) fn sync_connection(&mut self) -> Result<(SyncClient, String)> {
        let url = self.sync_server()?.ok_or_else(|| {
            StoreError::Sync("this device is not enrolled with a sync server; enrol it with the code from IT".into())
        })?;
        let token = self.sync_token()?.unwrap_or_default();
        // One HTTP client (and its connection pool) per server for the life of the store:
        // building one starts a thread, and a reused connection saves a handshake per round.
        let client = match &self.http {
            Some(c) if c.base == url.trim_end_matches('/') => c.clone(),
            _ => {
                let c = SyncClient::new(&url)?;
                self.http = Some(c.clone());
                c
            }
        };
        Ok((client, token))
    }

    /// Ask the server which pending blobs it lacks (up to [`MAX_BLOB_QUERY`] a request), upload
    /// only those, and forget every pending blob it then holds. No pending blob, no request.
    fn push_blobs(
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
            report.blobs_refused.push(Refusal { hash, reason: "the blob is no longer on this device".into() });
            return Ok(());
        };
        report.bytes_sent += bytes.len();
        let resp = client
            .http
            .put(client.url(&format!("/api/blobs/{hash}")))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, mime)
            .timeout(BLOB_TIMEOUT)
            .body(bytes)
            .send()
            .map_err(net(what))?;
        report.round_trips += 1;
        let status = resp.status();
        let text = resp.text().map_err(|e| StoreError::Sync(format!("{what}: reading the answer failed: {e}")))?;
        report.bytes_received += text.len();
        if status.is_success() {
            self.blobs_on_server(std::slice::from_ref(&hash))?;
            report.blobs_uploaded += 1;
        } else if refuses_the_blob(status) {
            skip.insert(hash.clone());
            report.blobs_refused.push(Refusal { hash, reason: reason_of(text) });
        } else {
            return Err(server_said(status, text, what));
        }
        Ok(())
    }

    /// Whether `epoch` (from the server) differs from the one this device last pulled under.
    fn server_was_replaced(&self, epoch: &str) -> Result<bool> {
        Ok(match Cursor::parse(self.sync_cursor()?.as_deref()) {
            Cursor::Cold { epoch: mine, .. } | Cursor::Warm { epoch: mine, .. } => !epoch.is_empty() && mine != epoch,
            Cursor::Start => false,
        })
    }

    fn push(
        &mut self,
        client: &SyncClient,
        token: &str,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<()> {
        // Refused changes stay in the outbox (they are this device's record); skip past them.
        let mut skip = std::collections::BTreeSet::new();
        while report.round_trips < limits.max_requests {
            let page: Vec<WireChange> = self
                .outbox_page(PUSH_BATCH + skip.len())?
                .into_iter()
                .filter(|c| !skip.contains(&c.hash))
                .take(PUSH_BATCH)
                .map(|c| WireChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes })
                .collect();
            if page.is_empty() {
                return Ok(());
            }
            report.pushed += page.len();
            let request = PushRequest { changes: page.clone() };
            let answer: PushResponse =
                client.round_trip(token, "/api/sync/push", &[], Some(&request), "push", report)?;
            report.acked += self.acknowledge(&answer.acked)?;
            if self.server_was_replaced(&answer.epoch)? {
                // Everything this device holds goes up again, from the start of the outbox.
                report.requeued += self.requeue_everything(now)?;
                skip.clear();
                continue;
            }
            for r in &answer.refused {
                skip.insert(r.hash.clone());
            }
            report.refused.extend(answer.refused);
            self.observe(report);
            if answer.acked.is_empty() && page.iter().all(|c| !skip.contains(&c.hash)) {
                return Err(StoreError::Sync("push: the server neither acknowledged nor refused the changes".into()));
            }
        }
        Ok(())
    }

    fn pull(
        &mut self,
        client: &SyncClient,
        token: &str,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<()> {
        let saved = self.sync_cursor()?;
        let mut cursor = Cursor::parse(saved.as_deref());
        // The next cold-start page, already being downloaded while this one is applied.
        let mut prefetched: Option<Prefetch> = None;
        while report.round_trips < limits.max_requests {
            cursor = match cursor {
                Cursor::Start => self.cold_page(client, token, None, &mut prefetched, now, limits, report)?,
                Cursor::Cold { epoch, upto, after } => {
                    self.cold_page(client, token, Some((&epoch, upto, &after)), &mut prefetched, now, limits, report)?
                }
                Cursor::Warm { epoch, since } => {
                    match self.warm_page(client, token, &epoch, since, saved.as_deref(), now, limits, report)? {
                        Some(next) => next,
                        None => {
                            self.observe(report);
                            return Ok(());
                        }
                    }
                }
            };
            self.observe(report);
        }
        Ok(())
    }

    /// One page of a cold start, the first or one after `(epoch, upto, after)`; the cursor to
    /// carry on from. While the page is applied, the next one is downloaded (`prefetched`), so
    /// the device's cores never wait for the network between pages; a prefetched page is used
    /// only for the cursor it was asked for, and only within the round's request budget.
    #[allow(clippy::too_many_arguments)]
    fn cold_page(
        &mut self,
        client: &SyncClient,
        token: &str,
        resume: Option<(&str, i64, &str)>,
        prefetched: &mut Option<Prefetch>,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<Cursor> {
        let wanted = resume.map(|(_, upto, after)| (upto, after.to_string()));
        let page = match prefetched.take() {
            Some(p) if p.resume == wanted => p.join(report)?,
            _ => fetch_cold_page(client, token, wanted, limits, report)?,
        };
        if resume.is_some_and(|(epoch, _, _)| epoch != page.epoch) {
            // The server's database was replaced in the middle: send everything up, start again.
            report.requeued += self.requeue_everything(now)?;
            return Ok(Cursor::Start);
        }
        if resume.is_some_and(|(_, upto, _)| upto != page.upto) {
            return Ok(Cursor::Start);
        }
        let next = if page.more {
            Cursor::Cold { epoch: page.epoch.clone(), upto: page.upto, after: page.next_after.clone() }
        } else {
            Cursor::Warm { epoch: page.epoch.clone(), since: page.upto }
        };
        if page.more && report.round_trips < limits.max_requests {
            *prefetched = Some(Prefetch::start(client, token, (page.upto, page.next_after.clone()), limits));
        }
        let docs: Vec<ColdDoc> = page
            .docs
            .into_iter()
            .map(|d| ColdDoc {
                changes: d
                    .changes
                    .into_iter()
                    .map(|c| RemoteChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes })
                    .collect(),
                doc_id: d.doc_id,
                kind: d.kind,
                snapshot: d.snapshot,
                snapshot_changes: d.snapshot_changes,
            })
            .collect();
        report.pulled += docs.iter().map(|d| d.snapshot_changes as usize + d.changes.len()).sum::<usize>();
        report.snapshots += docs.iter().filter(|d| !d.snapshot.is_empty()).count();
        let started = std::time::Instant::now();
        report.applied += self.apply_cold_page(&docs, Some(&next.to_string()), now)?.applied;
        report.apply_ms += u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(next)
    }

    /// One page of an ordinary pull; `None` when caught up.
    #[allow(clippy::too_many_arguments)]
    fn warm_page(
        &mut self,
        client: &SyncClient,
        token: &str,
        epoch: &str,
        since: i64,
        saved: Option<&str>,
        now: DateTime<Utc>,
        limits: &SyncOptions,
        report: &mut SyncReport,
    ) -> Result<Option<Cursor>> {
        let query = [
            ("since", since.to_string()),
            ("max_changes", limits.pull_max_changes.to_string()),
            ("max_bytes", PULL_MAX_BYTES.to_string()),
        ];
        let page: PullResponse = client.round_trip(token, "/api/sync/pull", &query, None::<&()>, "pull", report)?;
        if page.epoch != epoch {
            // Another database on the server side (restored, replaced): everything this device
            // holds goes up again, and pulling starts cold; what it already has is recognised.
            report.requeued += self.requeue_everything(now)?;
            return Ok(Some(Cursor::Start));
        }
        report.pulled += page.changes.len();
        let changes: Vec<RemoteChange> = page
            .changes
            .into_iter()
            .map(|p| RemoteChange {
                doc_id: p.change.doc_id,
                kind: p.change.kind,
                hash: p.change.hash,
                bytes: p.change.bytes,
            })
            .collect();
        let next = Cursor::Warm { epoch: epoch.to_string(), since: page.next_cursor };
        let text = next.to_string();
        if !changes.is_empty() || saved != Some(text.as_str()) {
            let started = std::time::Instant::now();
            report.applied += self.apply_remote(&changes, Some(&text), now)?.applied;
            report.apply_ms += u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        }
        Ok(page.more.then_some(next))
    }
}

/// Where pulling stands, saved with each page applied: `<epoch>:<seq>` once caught up with a
/// server, `<epoch>:cold:<upto>:<after document>` in the middle of a cold start, nothing before
/// the first page.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cursor {
    Start,
    Cold { epoch: String, upto: i64, after: String },
    Warm { epoch: String, since: i64 },
}

impl Cursor {
    fn parse(saved: Option<&str>) -> Cursor {
        let Some(text) = saved else { return Cursor::Start };
        let parts: Vec<&str> = text.splitn(4, ':').collect();
        match parts.as_slice() {
            [epoch, "cold", upto, after] => match upto.parse() {
                Ok(upto) => Cursor::Cold { epoch: epoch.to_string(), upto, after: after.to_string() },
                Err(_) => Cursor::Start,
            },
            [epoch, since] => match since.parse() {
                Ok(since) => Cursor::Warm { epoch: epoch.to_string(), since },
                Err(_) => Cursor::Start,
            },
            _ => Cursor::Start,
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cursor::Start => Ok(()),
            Cursor::Cold { epoch, upto, after } => write!(f, "{epoch}:cold:{upto}:{after}"),
            Cursor::Warm { epoch, since } => write!(f, "{epoch}:{since}"),
        }
    }
}

/// `GET /api/sync/snapshot`: one page of a cold start, the first (`resume` None) or the one
/// after `(upto, after)`.
fn fetch_cold_page(
    client: &SyncClient,
    token: &str,
    resume: Option<(i64, String)>,
    limits: &SyncOptions,
    report: &mut SyncReport,
) -> Result<SnapshotResponse> {
    let mut query = vec![("max_docs", limits.pull_max_changes.to_string()), ("max_bytes", PULL_MAX_BYTES.to_string())];
    if let Some((upto, after)) = resume {
        query.push(("upto", upto.to_string()));
        query.push(("after", after));
    }
    client.round_trip(token, "/api/sync/snapshot", &query, None::<&()>, "cold start", report)
}

/// A cold-start page being downloaded on its own thread.
pub(crate) struct Prefetch {
    resume: Option<(i64, String)>,
    handle: std::thread::JoinHandle<(Result<SnapshotResponse>, SyncReport)>,
}

impl Prefetch {
    fn start(client: &SyncClient, token: &str, resume: (i64, String), limits: &SyncOptions) -> Prefetch {
        let (client, token, limits, wanted) = (client.clone(), token.to_string(), *limits, resume.clone());
        let handle = std::thread::spawn(move || {
            let mut traffic = SyncReport::default();
            let page = fetch_cold_page(&client, &token, Some(wanted), &limits, &mut traffic);
            (page, traffic)
        });
        Prefetch { resume: Some(resume), handle }
    }

    /// The downloaded page; its round trip and bytes are added to `report`.
    fn join(self, report: &mut SyncReport) -> Result<SnapshotResponse> {
        let (page, traffic) = self
            .handle
            .join()
            .map_err(|_| StoreError::Sync("cold start: downloading the next page failed unexpectedly".into()))?;
        report.round_trips += traffic.round_trips;
        report.bytes_sent += traffic.bytes_sent;
        report.bytes_received += traffic.bytes_received;
        page
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_survives_being_saved_and_a_bad_one_starts_over() {
        for c in [
            Cursor::Warm { epoch: "ab".into(), since: 42 },
            Cursor::Cold { epoch: "ab".into(), upto: 42, after: "org".into() },
            Cursor::Cold { epoch: "ab".into(), upto: 7, after: String::new() },
        ] {
            assert_eq!(Cursor::parse(Some(&c.to_string())), c);
        }
        assert_eq!(Cursor::parse(None), Cursor::Start);
        assert_eq!(Cursor::parse(Some("ab:x")), Cursor::Start);
        assert_eq!(Cursor::parse(Some("ab:cold:x:d")), Cursor::Start);
    }
}
