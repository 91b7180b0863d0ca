//! Where the server keeps what it holds: its epoch, enrolled devices, one-time enrolment codes and
//! every accepted change under a global sequence number (the pull cursor).
//!
//! Everything goes through the [`Storage`] trait so the server can run on more than one database:
//! [`sqlite::SqliteStorage`] is the embedded default; [`postgres::PostgresStorage`] serves plants
//! that outgrow one machine (several stateless server instances behind a load balancer sharing
//! one PostgreSQL). Both run the same shared test suite ([`suite`]), PostgreSQL against a real
//! cluster the tests start themselves. The server's `main` picks the backend: PostgreSQL when a
//! database URL is configured, SQLite in the data directory otherwise. The trait is blocking and `&self` (the backend owns its own locking or connection); handlers call it from
//! `tokio::task::spawn_blocking`.
//!
//! The storage layer decides nothing about content: push validation (hashes, signatures, the
//! append-only events list) happens before [`Storage::store_changes`] is called. It must never
//! load or merge Automerge documents: pull pages are answered from stored bytes.

#[cfg(test)]
pub(crate) mod pg_cluster;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

use crate::error::Result;
use ptw_core::sync::{PulledChange, WireChange};
use ptw_core::DeviceId;
use std::collections::HashSet;

/// An enrolled device as the server knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    /// The name IT gave when printing the enrolment code (e.g. "T-07").
    pub name: String,
    /// Hex of the device's Ed25519 public key.
    pub public_key: String,
    pub revoked: bool,
    pub enrolled_ms: i64,
}

/// A one-time enrolment code, stored only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEnrolCode {
    pub code_hash: String,
    pub name: String,
    pub expires_ms: i64,
}

/// A device registering its key with a one-time code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    pub id: DeviceId,
    pub public_key: String,
    /// SHA-256 hex of the bearer token handed back; the token itself is never stored.
    pub token_hash: String,
}

/// A validated change ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChange {
    pub change: WireChange,
    /// The device that pushed it.
    pub device_id: DeviceId,
    /// Events lists this change creates (Automerge object ids, `counter@actor`), remembered so
    /// later changes that touch them can be held to append-only.
    pub new_event_lists: Vec<String>,
}

/// One page of a pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<PulledChange>,
    /// More changes are waiting after this page.
    pub more: bool,
}

/// The server's persistence. Every method is one atomic unit: either all it writes is durable
/// when it returns `Ok`, or nothing is.
pub trait Storage: Send + Sync + 'static {
    /// Random hex made when the database was created; a new database means a new epoch.
    fn epoch(&self) -> Result<String>;

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<()>;

    /// Use a one-time code to enrol (or re-enrol) a device: fails with `CodeUnknown`, `CodeUsed`
    /// or `CodeExpired`; on success the code is spent and the device is enrolled, not revoked,
    /// under the name IT gave the code. Returns the stored device.
    fn enrol(&self, code_hash: &str, device: &NewDevice, now_ms: i64) -> Result<DeviceRecord>;

    fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceRecord>>;

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>>;

    /// Every device ever enrolled, oldest first.
    fn devices(&self) -> Result<Vec<DeviceRecord>>;

    /// Revoke a device; `false` when no such device is enrolled.
    fn revoke(&self, id: DeviceId) -> Result<bool>;

    /// Which of `hashes` are already stored.
    fn known_changes(&self, hashes: &[String]) -> Result<HashSet<String>>;

    /// The events lists created in document `doc_id` so far.
    fn event_lists(&self, doc_id: &str) -> Result<HashSet<String>>;

    /// Store a batch in one transaction, each change under the next sequence number, skipping
    /// any hash already stored (pushing twice never duplicates).
    fn store_changes(&self, changes: &[NewChange], now_ms: i64) -> Result<()>;

    /// Changes with a sequence number above `since`, oldest first: at most `max_changes`, and no
    /// more than `max_bytes` of change bytes — except that a waiting change is always returned,
    /// alone, even when it is larger than `max_bytes`.
    fn changes_since(&self, since: i64, max_changes: usize, max_bytes: usize) -> Result<ChangePage>;
}
