//! ptw-store: the device's own copy of the plant — permits as Automerge documents, their
//! projections for lists, the outbox of changes waiting to sync, the plant's registry log as
//! the sync server signed it, and the device identity that signs every event.
//!
//! Every user action is one SQLite transaction: load the document, let ptw-core check the
//! action against the derived state, append the signed event, then save the incremental change,
//! the projection row and the outbox entry together. Only after the commit is the caller told
//! "saved" (Invariant: no loss). SQL lives in this crate and nowhere else on the device.

mod alerts;
mod blobs;
mod client;
mod error;
mod permits;
mod photos;
mod registry;
mod schema;
mod sync;
pub mod time;

pub use blobs::BlobFetcher;
pub use client::{
    certificate_fingerprint, new_person_id, ChangeWatch, SyncClient, SyncOptions, SyncReport, PULL_MAX_CHANGES,
    PUSH_BATCH,
};
pub use error::{Result, StoreError};
pub use registry::{hash_pin, Enrolment, RegistryReport};
pub use sync::{ApplyReport, ColdDoc, OutgoingChange, Quarantined, RefusedChange, RemoteChange};

use automerge::{ActorId, AutoCommit};
use ed25519_zebra::SigningKey;
use ptw_core::signature::SignatureMemo;
use ptw_core::{DeviceId, Hlc, Registry};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;

/// Compact a document's incremental changes into its snapshot once this many have piled up.
const COMPACT_AFTER_CHANGES: i64 = 32;

/// This device: the key that signs its events, and the id the sync server gave it.
struct Identity {
    key: SigningKey,
    /// `None` until the device is enrolled: an unenrolled device has no registry and signs
    /// nothing.
    id: Option<DeviceId>,
}

/// How to open a store.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// The name shown for this device until the sync server names it.
    pub device_name: String,
    /// Where trusted time reads the monotonic clock (tests inject their own).
    pub monotonic: time::Monotonic,
}

/// The device store. One per database file; not shared between threads (wrap it in a mutex).
pub struct Store {
    conn: Connection,
    identity: Identity,
    /// The Automerge actor of this store's writes: the device id and a random tail drawn when
    /// the store opened, so a device restored from an older copy of its database never reuses
    /// a sequence number its earlier self already used (which would fork its history).
    actor: Option<ActorId>,
    registry: Registry,
    /// Signatures this device has seen verify (events and registry entries).
    memo: Arc<SignatureMemo>,
    monotonic: time::Monotonic,
    /// Recently used permits, loaded and derived, so a burst of actions on one permit does not
    /// reload and re-verify its whole log each time. Only this `Store` writes the database, so
    /// an entry is exact until this `Store` changes the permit or the registry.
    cache: permits::PermitCache,
    /// The HTTP client of the last sync round, reused while the server stays the same.
    http: Option<client::SyncClient>,
    /// Told how a sync round is going after each request (see [`Store::sync_now_observed`]).
    observer: Option<client::SyncObserver>,
}

impl Store {
    /// Open (or create) the database at `path`, migrating it to the current schema and creating
    /// this device's key on first use. `now` stamps what first use creates.
    pub fn open(path: &Path, device_name: &str, now: chrono::DateTime<chrono::Utc>) -> Result<Store> {
        Store::open_with(path, StoreOptions { device_name: device_name.to_owned(), ..StoreOptions::default() }, now)
    }

    /// [`Store::open`] with every option.
    pub fn open_with(path: &Path, options: StoreOptions, now: chrono::DateTime<chrono::Utc>) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        // WAL + FULL: a commit is on disk before we return, even through a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if found > schema::latest_version() {
            return Err(StoreError::SchemaTooNew {
                path: path.display().to_string(),
                found,
                known: schema::latest_version(),
            });
        }
        schema::migrate(&mut conn)?;
        let identity = load_or_create_identity(&mut conn, now)?;
        let mut store = Store {
            conn,
            actor: identity.id.map(fresh_actor),
            identity,
            registry: Registry::empty(),
            memo: Arc::new(SignatureMemo::new()),
            monotonic: options.monotonic,
            cache: Default::default(),
            http: None,
            observer: None,
        };
        if read_meta(&store.conn, "device_name")?.is_none() || store.identity.id.is_none() {
            write_meta(&store.conn, "device_name", &options.device_name)?;
        }
        store.reload_registry()?;
        store.project_missing_turns(now)?;
        store.cache.data_version = data_version(&store.conn)?;
        Ok(store)
    }

    /// The id the sync server gave this device; `None` before it is enrolled.
    pub fn device_id(&self) -> Option<DeviceId> {
        self.identity.id
    }

    /// Hex of the public key that verifies this device's events.
    pub fn public_key(&self) -> String {
        ptw_core::signature::public_key_hex(&self.identity.key)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Changes made on this device that no server has acknowledged yet.
    pub fn pending_changes(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The Automerge actor of this store's writes, and the enrolled device id.
    fn writer(&self) -> Result<(ActorId, DeviceId)> {
        match (&self.actor, self.identity.id) {
            (Some(actor), Some(id)) => Ok((actor.clone(), id)),
            _ => Err(StoreError::NotEnrolled),
        }
    }
}

/// An Automerge actor for `device`: its 16 id bytes, then 8 random ones. The sync server holds
/// each device to actors that begin with its own id.
fn fresh_actor(device: DeviceId) -> ActorId {
    let mut bytes = device.as_uuid().as_bytes().to_vec();
    let mut tail = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut tail);
    bytes.extend_from_slice(&tail);
    ActorId::from(bytes.as_slice())
}

/// A write transaction that takes the database lock up front, so it never fails half-way on a
/// lock upgrade.
fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn load_or_create_identity(conn: &mut Connection, now: chrono::DateTime<chrono::Utc>) -> Result<Identity> {
    let enrolled: Option<DeviceId> = match read_meta(conn, "device_id")? {
        Some(id) => Some(id.parse().map_err(|_| StoreError::Corrupt(format!("device id '{id}'")))?),
        None => None,
    };
    let row: Option<Vec<u8>> = conn.query_row("SELECT secret_key FROM device LIMIT 1", [], |r| r.get(0)).optional()?;
    if let Some(secret) = row {
        let bytes: [u8; 32] =
            secret.as_slice().try_into().map_err(|_| StoreError::Corrupt("device key is not 32 bytes".into()))?;
        return Ok(Identity { key: SigningKey::from_bytes(&bytes), id: enrolled });
    }
    let key = SigningKey::new(rand_core::OsRng);
    // The row's id names this installation; the device's id comes from the server at enrolment.
    conn.execute(
        "INSERT INTO device (id, secret_key, created_ms) VALUES (?1, ?2, ?3)",
        rusqlite::params![new_uuid(now).to_string(), key.to_bytes().to_vec(), now.timestamp_millis()],
    )?;
    Ok(Identity { key, id: enrolled })
}

/// A UUID v7 for `now` (time-ordered, random tail).
pub(crate) fn new_uuid(now: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
    let ms = now.timestamp_millis().max(0) as u64;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts)
}

// ---- documents: load, save a change, compact ----

fn load_doc(conn: &Connection, id: &str) -> Result<Option<AutoCommit>> {
    let snapshot: Option<Option<Vec<u8>>> =
        conn.query_row("SELECT snapshot FROM documents WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    let Some(snapshot) = snapshot else { return Ok(None) };
    let mut doc = match snapshot {
        Some(bytes) => ptw_doc::guarded("loading a stored document", || AutoCommit::load(&bytes))?,
        None => AutoCommit::new(),
    };
    // One load_incremental over all pending changes is much cheaper than one per change.
    let mut pending = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        pending.extend_from_slice(
            row.get_ref(0)?.as_blob().map_err(|e| StoreError::Corrupt(format!("change of {id}: {e}")))?,
        );
    }
    if !pending.is_empty() {
        ptw_doc::guarded("loading a stored document's changes", || doc.load_incremental(&pending))?;
    }
    Ok(Some(doc))
}

/// Commit the document's pending operations as one change and store it: the change itself, the
/// outbox entry for sync, and (every [`COMPACT_AFTER_CHANGES`]) a fresh snapshot.
fn save_change(tx: &Transaction, doc_id: &str, kind: &str, doc: &mut AutoCommit, hlc: Hlc) -> Result<()> {
    doc.commit_with(automerge::transaction::CommitOptions::default().with_time(hlc.ms / 1000));
    let Some(change) = doc.get_last_local_change() else { return Ok(()) };
    let hash = change.hash().to_string();
    let bytes = change.raw_bytes().to_vec();
    store_change(tx, doc_id, kind, doc, &hash, &bytes, hlc.ms)?;
    tx.execute(
        "INSERT INTO outbox (doc_id, change_hash, bytes, created_ms) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![doc_id, hash, bytes, hlc.ms],
    )?;
    Ok(())
}

/// Keep one change of a document (made here or pulled), compacting the document's pending
/// changes into its snapshot every [`COMPACT_AFTER_CHANGES`].
fn store_change(
    tx: &Transaction,
    doc_id: &str,
    kind: &str,
    doc: &mut AutoCommit,
    hash: &str,
    bytes: &[u8],
    updated_ms: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO documents (id, kind, snapshot, change_count, updated_ms) VALUES (?1, ?2, NULL, 0, ?3)
         ON CONFLICT(id) DO UPDATE SET updated_ms = max(updated_ms, excluded.updated_ms)",
    )?
    .execute(rusqlite::params![doc_id, kind, updated_ms])?;
    tx.prepare_cached("INSERT OR IGNORE INTO changes (doc_id, hash, bytes) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![doc_id, hash, bytes])?;
    let count: i64 = tx
        .prepare_cached("UPDATE documents SET change_count = change_count + 1 WHERE id = ?1 RETURNING change_count")?
        .query_row([doc_id], |r| r.get(0))?;
    // A snapshot holds only changes whose dependencies are all here; while any are missing, the
    // raw changes stay so nothing waiting for its dependencies is dropped.
    if count >= COMPACT_AFTER_CHANGES && doc.get_missing_deps(&[]).is_empty() {
        tx.execute(
            "UPDATE documents SET snapshot = ?2, change_count = 0 WHERE id = ?1",
            rusqlite::params![doc_id, doc.save()],
        )?;
        tx.execute("DELETE FROM changes WHERE doc_id = ?1", [doc_id])?;
    }
    Ok(())
}

/// Changes whenever another connection commits to the database (see SQLite's `data_version`).
fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

// ---- small settings kept in the meta table ----

pub(crate) fn read_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn write_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

// ---- the hybrid logical clock of this device ----

fn read_clock(conn: &Connection) -> Result<Hlc> {
    let v: Option<String> = conn.query_row("SELECT value FROM meta WHERE key = 'hlc'", [], |r| r.get(0)).optional()?;
    Ok(v.and_then(|s| {
        let (ms, c) = s.split_once(':')?;
        Some(Hlc::new(ms.parse().ok()?, c.parse().ok()?))
    })
    .unwrap_or_default())
}

/// The next timestamp for a local change: after everything this device issued or has seen in
/// `seen`, and at `now_ms` when that is later.
fn next_clock(tx: &Transaction, seen: Hlc, now_ms: i64) -> Result<Hlc> {
    let last = Hlc::observe(read_clock(tx)?, seen);
    let next = Hlc::tick(last, now_ms);
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('hlc', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [format!("{}:{}", next.ms, next.counter)],
    )?;
    Ok(next)
}

// ---- trusted time and the device's chain of events ----

/// When and in which order a new event of this device happens, and the event before it.
pub(crate) struct NextEvent {
    pub at: Hlc,
    pub stamp: ptw_core::Stamp,
    /// The hash of this device's previous event (its chain).
    pub prev: Option<String>,
}

/// The time, order and chain link of an event this device signs now (`now` is the wall clock),
/// and the stamp remembered as the floor of the next one — in `tx`, so they are kept exactly
/// when the event is.
pub(crate) fn next_event(
    tx: &Transaction,
    monotonic: &time::Monotonic,
    seen: Hlc,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NextEvent> {
    let wall_ms = now.timestamp_millis();
    let anchor = read_meta(tx, "time_anchor")?.as_deref().and_then(time::Anchor::from_meta);
    let floor: i64 = read_meta(tx, "last_event_ms")?.and_then(|s| s.parse().ok()).unwrap_or(i64::MIN);
    let stamp = time::stamp(anchor.as_ref(), &monotonic.read(wall_ms), wall_ms, floor);
    write_meta(tx, "last_event_ms", &stamp.ms.to_string())?;
    let at = next_clock(tx, seen, stamp.ms)?;
    Ok(NextEvent { at, stamp, prev: read_meta(tx, "chain_head")? })
}

impl Store {
    /// Take `server_ms` (the server's clock, read between the monotonic readings `sent` and
    /// `received`) as this device's time anchor.
    pub(crate) fn anchor_time(
        &self,
        server_ms: i64,
        sent: &time::MonotonicReading,
        received: &time::MonotonicReading,
    ) -> Result<()> {
        if let Some(anchor) = time::anchor_from(server_ms, sent, received) {
            write_meta(&self.conn, "time_anchor", &anchor.to_meta())?;
        }
        Ok(())
    }

    /// The time this device would stamp on an event now, and how it knows it.
    pub fn trusted_now(&self, now: chrono::DateTime<chrono::Utc>) -> Result<ptw_core::Stamp> {
        let wall_ms = now.timestamp_millis();
        let anchor = read_meta(&self.conn, "time_anchor")?.as_deref().and_then(time::Anchor::from_meta);
        let floor: i64 = read_meta(&self.conn, "last_event_ms")?.and_then(|s| s.parse().ok()).unwrap_or(i64::MIN);
        Ok(time::stamp(anchor.as_ref(), &self.monotonic.read(wall_ms), wall_ms, floor))
    }

    /// Anchor trusted time to the server's clock reading `server_ms` taken at wall-clock `now`
    /// (for tools and tests that stand in for a sync round).
    pub fn anchor_time_at(&self, server_ms: i64, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let reading = self.monotonic.read(now.timestamp_millis());
        self.anchor_time(server_ms, &reading, &reading)
    }
}
