//! The sync client: enrol this device with a sync server, then — each round — take up the
//! server's clock and registry, upload the blobs the server lacks, push the outbox and pull what
//! other devices made, page by page.
//!
//! Offline is the normal state of a tablet: every network failure comes back as
//! [`StoreError::Sync`] with a typed failure, and leaves the store exactly as it was —
//! unacknowledged changes stay in the outbox, and pulling resumes from the cursor saved with
//! the last page applied. A change the server *refuses* does not stay: it is taken back out of
//! its document and listed with the reason ([`Store::take_back_refused`]).
//!
//! - `http`: the connection (TLS pinning, typed errors, the server's clock);
//! - `enrol`: enrolment;
//! - `blobs`: uploading the photos and signatures the server lacks;
//! - `push`: the outbox up, refusals taken back;
//! - `pull`: the pull cursor and its pages, cold and warm, with the registry;
//! - `admin`: registry changes made by an admin person, online;
//! - `wait`: a request held open until the server has something new ([`ChangeWatch`]).

mod admin;
mod blobs;
mod enrol;
mod http;
mod pull;
mod push;
mod wait;

pub use admin::new_person_id;
pub use http::{certificate_fingerprint, SyncClient};
pub use wait::ChangeWatch;

use crate::error::{Result, StoreError};
use crate::{read_meta, write_meta, Store};
use chrono::{DateTime, Utc};
use ptw_core::api::SyncFailure;
use ptw_core::sync::Refusal;

/// Changes per push request.
pub const PUSH_BATCH: usize = 200;
/// Changes and bytes per pull page the client asks for.
pub const PULL_MAX_CHANGES: usize = 500;
pub const PULL_MAX_BYTES: usize = 4 * 1024 * 1024;
/// A sync round never runs more requests than this, so a server that always says "more" cannot
/// keep a tablet busy forever.
const MAX_REQUESTS_PER_ROUND: usize = 10_000;

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
    /// Registry entries new to this device.
    pub registry_entries: usize,
    /// Documents that arrived compacted (a cold start).
    pub snapshots: usize,
    /// Documents whose pulled changes would not apply (kept aside).
    pub quarantined: usize,
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

impl http::Traffic for SyncReport {
    fn count(&mut self, sent: usize, received: usize) {
        self.round_trips += 1;
        self.bytes_sent += sent;
        self.bytes_received += received;
    }
}

/// What [`Store::sync_now_observed`] tells after each request of a round.
pub(crate) type SyncObserver = Box<dyn FnMut(&SyncReport) + Send>;

impl Store {
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

    /// One sync round with the enrolled server: take up its registry, upload the blobs it
    /// lacks, push the whole outbox, then pull until caught up.
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
        let result = self.sync_round(now, options);
        if let Err(StoreError::Sync { failure: SyncFailure::DeviceRevoked, .. }) = &result {
            // IT revoked this device: it learns it here and signs nothing from now on.
            self.mark_revoked()?;
        }
        result
    }

    fn sync_round(&mut self, now: DateTime<Utc>, options: SyncOptions) -> Result<SyncReport> {
        let (client, token) = self.sync_connection()?;
        let mut report = SyncReport::default();
        let limits = SyncOptions {
            pull_max_changes: options.pull_max_changes.max(1),
            max_requests: options.max_requests.min(MAX_REQUESTS_PER_ROUND),
        };
        // Blobs first: a change never reaches the server ahead of the photo or signature it names.
        self.timed(&client, now, |s| s.push_blobs(&client, &token, &limits, &mut report))?;
        self.timed(&client, now, |s| s.push(&client, &token, now, &limits, &mut report))?;
        let requeued_before_pull = report.requeued;
        self.timed(&client, now, |s| s.pull(&client, &token, now, &limits, &mut report))?;
        if report.requeued > requeued_before_pull {
            // The pull found the server replaced: what this device holds goes up now.
            self.timed(&client, now, |s| s.push_blobs(&client, &token, &limits, &mut report))?;
            self.timed(&client, now, |s| s.push(&client, &token, now, &limits, &mut report))?;
        }
        write_meta(&self.conn, "last_sync_ms", &now.timestamp_millis().to_string())?;
        Ok(report)
    }

    /// Run `step` (requests to the server) and anchor trusted time to the server's clock on its
    /// last answer, taken as read when the step ended (within the answer's transit time).
    fn timed<T>(
        &mut self,
        client: &SyncClient,
        now: DateTime<Utc>,
        step: impl FnOnce(&mut Store) -> Result<T>,
    ) -> Result<T> {
        if let Ok(mut t) = client.last_server_time.lock() {
            *t = None;
        }
        let result = step(self);
        if let Some(server_ms) = client.server_time() {
            let after = self.monotonic.read(now.timestamp_millis());
            self.anchor_time(server_ms, &after, &after)?;
        }
        result
    }

    /// The HTTP client for the enrolled server, and the device token.
    pub(crate) fn sync_connection(&mut self) -> Result<(SyncClient, String)> {
        let url = self.sync_server()?.ok_or_else(|| {
            StoreError::sync(SyncFailure::NotEnrolled, "this device is not enrolled with a sync server")
        })?;
        let token = self.sync_token()?.unwrap_or_default();
        // One HTTP client (and its connection pool) per server for the life of the store:
        // building one starts a thread, and a reused connection saves a handshake per round.
        let client = match &self.http {
            Some(c) if c.base == url.trim_end_matches('/') => c.clone(),
            _ => {
                let c = SyncClient::new(&url, self.tls_fingerprint()?.as_deref())?;
                self.http = Some(c.clone());
                c
            }
        };
        Ok((client, token))
    }
}
