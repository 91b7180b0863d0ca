//! Where the server keeps what it holds: its epoch, the registry log it signs, device tokens and
//! one-time enrolment codes, every accepted change under a global sequence number (the pull
//! cursor), and blobs (photos and signature images) by the SHA-256 of their bytes.
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
//! append-only events list, test-applying) happens before [`Storage::store_changes`] is called,
//! and registry entries arrive signed. It never loads or merges Automerge documents: pull pages
//! are answered from stored bytes.

#[cfg(test)]
pub(crate) mod pg_cluster;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod suite;

use crate::error::Result;
use ptw_core::authority::SignedEntry;
use ptw_core::sync::{PulledChange, SnapshotDoc, WireChange};
use ptw_core::DeviceId;
use std::collections::HashSet;

/// A one-time enrolment code, stored only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEnrolCode {
    pub code_hash: String,
    pub name: String,
    pub expires_ms: i64,
    /// A code issued to enrol a device again (a reinstalled tablet): using it revokes this
    /// device and enrols the new key under a new id.
    pub replaces: Option<DeviceId>,
}

/// A stored enrolment code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolCode {
    pub name: String,
    pub expires_ms: i64,
    pub used_ms: Option<i64>,
    pub replaces: Option<DeviceId>,
}

/// What using an enrolment code keeps, in one transaction with spending it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    pub device_id: DeviceId,
    /// SHA-256 hex of the bearer token handed back; the token itself is never stored.
    pub token_hash: String,
    /// The registry entries that enrol it (and revoke the device it replaces), numbered.
    pub entries: Vec<(u64, SignedEntry)>,
}

/// A device of the device table that came before the registry log: moved into the log once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyDevice {
    pub id: DeviceId,
    pub name: String,
    pub public_key: String,
    pub token_hash: String,
    pub revoked: bool,
}

/// What the server keeps about one document besides its changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocState {
    /// Fixed by its first change.
    pub kind: String,
    pub change_count: u64,
}

/// A validated change ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChange {
    pub change: WireChange,
    /// The device that pushed it.
    pub device_id: DeviceId,
    /// Its Automerge actor (hex) and sequence number: an (actor, sequence number) holds one
    /// change per document, ever.
    pub actor: String,
    pub actor_seq: u64,
    /// The latest event time of each device with events in it: no later event of that device
    /// may be dated before it.
    pub event_times: Vec<(DeviceId, i64)>,
}

/// One page of a pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<PulledChange>,
    /// More changes are waiting after this page.
    pub more: bool,
}

/// One page of a cold start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotPage {
    pub docs: Vec<SnapshotDoc>,
    /// More documents are waiting after this page.
    pub more: bool,
}

/// One document as a backend's cold-start walk reads it: its snapshot columns, already limited
/// to a snapshot that covers no more than the page's mark.
pub(crate) struct ColdRow {
    pub doc_id: String,
    pub kind: String,
    pub snapshot_seq: Option<i64>,
    pub snapshot_changes: Option<i64>,
    pub snapshot: Option<Vec<u8>>,
}

/// Assemble a cold-start page from the walk's `rows` (in order, at most `max_docs + 1`) and
/// `tail(doc_id, kind, after_seq)`, the document's changes after its snapshot up to the mark:
/// the same budget rules for every backend (see [`Storage::snapshot_page`]).
pub(crate) fn assemble_snapshot_page(
    rows: impl IntoIterator<Item = Result<ColdRow>>,
    max_docs: usize,
    max_bytes: usize,
    mut tail: impl FnMut(&str, &str, i64) -> Result<Vec<WireChange>>,
) -> Result<SnapshotPage> {
    let mut page = SnapshotPage { docs: Vec::new(), more: false };
    let mut bytes_in_page = 0usize;
    for row in rows {
        let row = row?;
        if page.docs.len() >= max_docs {
            page.more = true;
            break;
        }
        let changes = tail(&row.doc_id, &row.kind, row.snapshot_seq.unwrap_or(0))?;
        let doc = SnapshotDoc {
            snapshot: row.snapshot.unwrap_or_default(),
            snapshot_changes: row.snapshot_changes.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
            doc_id: row.doc_id,
            kind: row.kind,
            changes,
        };
        let size = doc.snapshot.len() + doc.changes.iter().map(|c| c.bytes.len()).sum::<usize>();
        if !page.docs.is_empty() && bytes_in_page.saturating_add(size) > max_bytes {
            page.more = true;
            break;
        }
        bytes_in_page = bytes_in_page.saturating_add(size);
        page.docs.push(doc);
    }
    Ok(page)
}

/// A compacted document: every stored change of one document numbered up to `upto_seq`, saved
/// as one Automerge document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub upto_seq: i64,
    /// How many changes it holds.
    pub changes: u64,
    pub bytes: Vec<u8>,
}

impl Snapshot {
    /// From a `docs` row's snapshot columns; `None` when the document has no snapshot yet.
    pub(crate) fn from_columns(bytes: Option<Vec<u8>>, upto_seq: Option<i64>, changes: i64) -> Option<Snapshot> {
        Some(Snapshot { upto_seq: upto_seq?, changes: u64::try_from(changes).unwrap_or(0), bytes: bytes? })
    }
}

/// What the compactor needs to bring one document's snapshot up to date: the snapshot it has
/// (if any) and the document's changes after it, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionInput {
    pub doc_id: String,
    pub snapshot: Option<Snapshot>,
    /// `(sequence number, change bytes)`.
    pub tail: Vec<(i64, Vec<u8>)>,
}

/// The server's persistence. Every method is one atomic unit: either all it writes is durable
/// when it returns `Ok`, or nothing is.
pub trait Storage: Send + Sync + 'static {
    /// Random hex made when the database was created; a new database means a new epoch.
    fn epoch(&self) -> Result<String>;

    /// Make a new epoch (after restoring the database from a backup): every device then sends
    /// everything it holds again and pulls cold, so what the backup lacks comes back. Returns it.
    fn rotate_epoch(&self) -> Result<String>;

    /// When the recovery window after the last [`Storage::rotate_epoch`] ends (Unix ms; 0 when
    /// none): until then devices may push back changes other devices made.
    fn recovery_until_ms(&self) -> Result<i64>;

    /// Open a recovery window until `until_ms` (see [`Storage::recovery_until_ms`]).
    fn set_recovery_until_ms(&self, until_ms: i64) -> Result<()>;

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<()>;

    /// The enrolment code with this hash, if it exists.
    fn enrol_code(&self, code_hash: &str) -> Result<Option<EnrolCode>>;

    /// Spend the code and keep `enrolled` — its registry entries and its token — in one
    /// transaction. Fails with `CodeUsed` when the code was spent meanwhile and
    /// `RegistryConflict` when the entries' numbers are taken (another writer appended first).
    fn enrol(&self, code_hash: &str, now_ms: i64, enrolled: &Enrolled) -> Result<()>;

    /// The device a bearer token belongs to.
    fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceId>>;

    /// Devices of the table that came before the registry log, not moved yet.
    fn legacy_devices(&self) -> Result<Vec<LegacyDevice>>;

    /// Move the legacy devices into the registry: append `entries` and keep their tokens, and
    /// forget the old table, in one transaction.
    fn move_legacy_devices(&self, entries: &[(u64, SignedEntry)], devices: &[LegacyDevice]) -> Result<()>;

    /// The registry log's entries numbered above `after` (all for `None`), oldest first, at most
    /// `limit`.
    fn registry_entries(&self, after: Option<u64>, limit: usize) -> Result<Vec<SignedEntry>>;

    /// Append numbered registry entries in one transaction; `RegistryConflict` when a number is
    /// taken.
    fn append_registry(&self, entries: &[(u64, SignedEntry)]) -> Result<()>;

    /// Which of `hashes` are already stored.
    fn known_changes(&self, hashes: &[String]) -> Result<HashSet<String>>;

    /// A document's kind and change count; `None` for a document not stored.
    fn doc_state(&self, doc_id: &str) -> Result<Option<DocState>>;

    /// The highest sequence number stored for Automerge actor `actor` (hex) in `doc_id`; 0
    /// when none.
    fn actor_seq(&self, doc_id: &str, actor: &str) -> Result<u64>;

    /// The latest event time delivered by `device` (Unix ms), if any.
    fn device_clock(&self, device: DeviceId) -> Result<Option<i64>>;

    /// Store a batch in one transaction, each change under the next sequence number, skipping
    /// any hash already stored (pushing twice never duplicates), and move each device's clock
    /// forward to its latest event.
    fn store_changes(&self, changes: &[NewChange], now_ms: i64) -> Result<()>;

    /// Stored changes whose actor is not recorded yet (stored before it was): (hash, bytes).
    fn changes_without_actor(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>>;

    /// Record the actor and sequence number of a change stored before they were.
    fn set_change_actor(&self, hash: &str, actor: &str, actor_seq: u64) -> Result<()>;

    /// Changes with a sequence number above `since`, oldest first: at most `max_changes`, and no
    /// more than `max_bytes` of change bytes — except that a waiting change is always returned,
    /// alone, even when it is larger than `max_bytes`.
    fn changes_since(&self, since: i64, max_changes: usize, max_bytes: usize) -> Result<ChangePage>;

    /// The newest change's sequence number (0 when there is none).
    fn max_seq(&self) -> Result<i64>;

    /// A page of a cold start: documents with a change numbered up to `upto`, in (kind, id)
    /// order after `after` = (kind, id) — so the org document, which every permit is derived
    /// against, comes first — at most `max_docs` of them and no more than `max_bytes` of snapshot and change
    /// bytes (but never an empty page while one is waiting). Each document comes with its
    /// snapshot when one covers no more than `upto`, plus its changes up to `upto` the snapshot
    /// lacks; so the pages together hold every change up to `upto` exactly once.
    fn snapshot_page(&self, upto: i64, after: (&str, &str), max_docs: usize, max_bytes: usize) -> Result<SnapshotPage>;

    /// Documents worth compacting: at least `min_new` changes beyond their snapshot, and not
    /// tried since their last change arrived. At most `limit`.
    fn compaction_candidates(&self, min_new: u64, limit: usize) -> Result<Vec<String>>;

    /// How many documents [`Storage::compaction_candidates`] would name with no limit.
    fn compaction_backlog(&self, min_new: u64) -> Result<u64>;

    /// The document's snapshot and the changes after it; `None` for an unknown document.
    fn compaction_input(&self, doc_id: &str) -> Result<Option<CompactionInput>>;

    /// Record a compaction attempt of a document that then held `tried_changes` changes: keep
    /// `snapshot` unless the stored one is as new already; `None` when the document could not
    /// be compacted (a change waits for one it depends on), so it is tried again only after
    /// its next change.
    fn put_snapshot(&self, doc_id: &str, snapshot: Option<&Snapshot>, tried_changes: u64) -> Result<()>;

    /// Which of `hashes` (blob addresses, SHA-256 hex) are not stored: in the order given, each
    /// once.
    fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>>;

    /// Keep a blob (a photo or signature image) under `hash`, which the caller has checked is the
    /// SHA-256 of `bytes`. Storing a hash already stored keeps the first copy and succeeds.
    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8], device_id: DeviceId, now_ms: i64) -> Result<()>;

    /// A stored blob: its MIME type and bytes.
    fn blob(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>>;
}

/// `hashes` without those in `stored`, in order, each once: the answer of
/// [`Storage::missing_blobs`].
pub(crate) fn not_in(hashes: &[String], stored: &HashSet<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    hashes.iter().filter(|h| !stored.contains(*h) && seen.insert(h.as_str())).cloned().collect()
}
