//! The device's side of sync, without the network: what to push (the outbox), forgetting what
//! the server acknowledged, taking back what it refused, and applying changes pulled from
//! elsewhere — each pulled page in one transaction together with the projections it changes
//! and the cursor it advances to, so a device killed mid-pull resumes from the last page it
//! fully kept.
//!
//! Pulled bytes come from elsewhere: each document's changes are applied behind a panic guard,
//! and a document whose changes will not apply is left as it was, its changes kept aside in
//! quarantine and shown, while every other document syncs on.
//!
//! The HTTP loop that moves these between devices and the sync server builds on this module.

use crate::error::{Result, StoreError};
use crate::permits::{heads_ms, write_projection};
use crate::{load_doc, read_meta, store_change, write_meta, write_tx, Store};
use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use chrono::{DateTime, Utc};
use ptw_core::api::PermitView;
use ptw_core::derive::{derive_read, read_events, verify_batch, ReadEvent};
use ptw_core::signature::SignatureMemo;
use ptw_core::sync::{Refusal, RefusalCode, PERMIT_KIND};
use ptw_core::PermitId;
use rayon::prelude::*;
use rusqlite::OptionalExtension;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A change made on this device, waiting for the server's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingChange {
    pub seq: i64,
    pub doc_id: String,
    pub kind: String,
    pub hash: String,
    pub bytes: Vec<u8>,
}

/// A change pulled from the server (or handed over by another device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteChange {
    pub doc_id: String,
    pub kind: String,
    pub hash: String,
    pub bytes: Vec<u8>,
}

impl From<OutgoingChange> for RemoteChange {
    fn from(c: OutgoingChange) -> Self {
        RemoteChange { doc_id: c.doc_id, kind: c.kind, hash: c.hash, bytes: c.bytes }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Changes new to this device.
    pub applied: usize,
    /// Changes it already had (pulled twice, or its own coming back).
    pub already_known: usize,
    /// Documents whose projections were rewritten.
    pub documents: usize,
    /// Documents whose changes would not apply: kept aside, not applied.
    pub quarantined: Vec<String>,
}

/// A change this device made that the sync server refused, taken out of its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedChange {
    pub hash: String,
    pub doc_id: String,
    pub code: RefusalCode,
    pub reason: String,
    pub refused_ms: i64,
}

/// A document whose pulled changes would not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    pub doc_id: String,
    pub changes: usize,
    pub reason: String,
}

impl Store {
    /// The oldest `max` changes not yet acknowledged, in the order they were made.
    pub fn outbox_page(&self, max: usize) -> Result<Vec<OutgoingChange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.seq, o.doc_id, d.kind, o.change_hash, o.bytes FROM outbox o JOIN documents d ON d.id = o.doc_id
             ORDER BY o.seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([max as i64], |r| {
            Ok(OutgoingChange { seq: r.get(0)?, doc_id: r.get(1)?, kind: r.get(2)?, hash: r.get(3)?, bytes: r.get(4)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Forget outbox entries the server acknowledged (it has them durably), and remember the
    /// latest time of this device's events among them (no later event may be dated before it).
    /// Unknown hashes are ignored: acknowledging twice is harmless.
    pub fn acknowledge(&mut self, hashes: &[String]) -> Result<usize> {
        let device = self.identity.id;
        let tx = write_tx(&mut self.conn)?;
        let mut removed = 0;
        let mut delivered = read_meta(&tx, "delivered_event_ms")?.and_then(|s| s.parse::<i64>().ok());
        {
            let mut bytes_of = tx.prepare_cached("SELECT bytes FROM outbox WHERE change_hash = ?1")?;
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE change_hash = ?1")?;
            for h in hashes {
                let bytes: Option<Vec<u8>> = bytes_of.query_row([h], |r| r.get(0)).optional()?;
                if let (Some(bytes), Some(device)) = (bytes, device) {
                    delivered = delivered.max(latest_own_event(&bytes, device));
                }
                removed += stmt.execute([h])?;
            }
        }
        if let Some(ms) = delivered {
            write_meta(&tx, "delivered_event_ms", &ms.to_string())?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Take back changes the server refused: each leaves the outbox and its document — with
    /// every change of this device that builds on it, which the server could not take either —
    /// and is kept in the refused list with the server's reason, for the person to see and redo.
    /// The documents are rebuilt from the changes that remain and derived anew, so nothing ever
    /// waits for a change that will never be accepted. Returns the changes taken back.
    pub fn take_back_refused(&mut self, refusals: &[Refusal], now: DateTime<Utc>) -> Result<Vec<RefusedChange>> {
        self.refresh()?;
        let mut by_doc: BTreeMap<String, Vec<&Refusal>> = BTreeMap::new();
        {
            let mut stmt = self.conn.prepare_cached("SELECT doc_id FROM outbox WHERE change_hash = ?1")?;
            for r in refusals {
                let doc: Option<String> = stmt.query_row([&r.hash], |row| row.get(0)).ok();
                if let Some(doc) = doc {
                    by_doc.entry(doc).or_default().push(r);
                }
            }
        }
        if by_doc.is_empty() {
            return Ok(Vec::new());
        }
        let tx = write_tx(&mut self.conn)?;
        let mut taken = Vec::new();
        let mut touched = Vec::new();
        for (doc_id, refused) in by_doc {
            let Some(mut doc) = load_doc(&tx, &doc_id)? else { continue };
            let Ok(all) = ptw_doc::guarded("listing a document's changes", || Ok(doc.get_changes(&[]))) else {
                continue;
            };
            // The refused changes and everything that depends on them.
            let mut gone: HashSet<ChangeHash> = refused.iter().filter_map(|r| r.hash.parse().ok()).collect();
            // An actor's later changes build on its earlier ones whether or not they name them.
            let mut gone_from: HashMap<ActorId, u64> = HashMap::new();
            for c in &all {
                if gone.contains(&c.hash()) {
                    let from = gone_from.entry(c.actor_id().clone()).or_insert(c.seq());
                    *from = (*from).min(c.seq());
                }
            }
            for c in &all {
                let after_gone = gone_from.get(c.actor_id()).is_some_and(|from| c.seq() > *from);
                if after_gone || c.deps().iter().any(|d| gone.contains(d)) {
                    gone.insert(c.hash());
                    let from = gone_from.entry(c.actor_id().clone()).or_insert(c.seq());
                    *from = (*from).min(c.seq());
                }
            }
            let now_ms = now.timestamp_millis();
            let mut kept_bytes = Vec::new();
            for c in &all {
                let hash = c.hash();
                if !gone.contains(&hash) {
                    kept_bytes.extend_from_slice(c.raw_bytes());
                    continue;
                }
                let hash = hash.to_string();
                let (code, reason) = match refused.iter().find(|r| r.hash == hash) {
                    Some(r) => (r.code, r.reason.clone()),
                    None => (RefusalCode::DependsOnRefused, "it builds on a change the server refused".to_owned()),
                };
                tx.execute(
                    "INSERT OR IGNORE INTO refused_changes (hash, doc_id, bytes, code, reason, refused_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![hash, doc_id, c.raw_bytes(), refusal_code_text(code), reason, now_ms],
                )?;
                tx.execute("DELETE FROM outbox WHERE change_hash = ?1", [&hash])?;
                taken.push(RefusedChange { hash, doc_id: doc_id.clone(), code, reason, refused_ms: now_ms });
            }
            // The document as the other changes make it.
            tx.execute("DELETE FROM changes WHERE doc_id = ?1", [&doc_id])?;
            if kept_bytes.is_empty() {
                tx.execute("DELETE FROM permits WHERE id = ?1", [&doc_id])?;
                tx.execute("DELETE FROM documents WHERE id = ?1", [&doc_id])?;
                continue;
            }
            doc = ptw_doc::guarded("rebuilding a document without refused changes", || AutoCommit::load(&kept_bytes))?;
            tx.execute(
                "UPDATE documents SET snapshot = ?2, change_count = 0 WHERE id = ?1",
                rusqlite::params![doc_id, doc.save()],
            )?;
            if let Ok(id) = doc_id.parse::<PermitId>() {
                touched.push((id, doc));
            }
        }
        // A refused change its document no longer holds (or a document gone) still leaves the
        // outbox: nothing refused is pushed again.
        for r in refusals {
            let left: Option<(String, Vec<u8>)> = tx
                .query_row("SELECT doc_id, bytes FROM outbox WHERE change_hash = ?1", [&r.hash], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            let Some((doc_id, bytes)) = left else { continue };
            tx.execute(
                "INSERT OR IGNORE INTO refused_changes (hash, doc_id, bytes, code, reason, refused_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![r.hash, doc_id, bytes, refusal_code_text(r.code), r.reason, now.timestamp_millis()],
            )?;
            tx.execute("DELETE FROM outbox WHERE change_hash = ?1", [&r.hash])?;
            taken.push(RefusedChange {
                hash: r.hash.clone(),
                doc_id,
                code: r.code,
                reason: r.reason.clone(),
                refused_ms: now.timestamp_millis(),
            });
        }
        for (view, updated) in derive_all(touched, &self.registry, &self.memo, now) {
            write_projection(&tx, &view, updated, &self.registry)?;
        }
        // The events taken back no longer hold up the next one's date: the floor is what was
        // delivered, and what still waits to be.
        let mut floor = read_meta(&tx, "delivered_event_ms")?.and_then(|s| s.parse::<i64>().ok());
        if let Some(device) = self.identity.id {
            let mut stmt = tx.prepare("SELECT bytes FROM outbox")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                floor = floor.max(latest_own_event(row.get_ref(0)?.as_blob().unwrap_or_default(), device));
            }
        }
        match floor {
            Some(ms) => write_meta(&tx, "last_event_ms", &ms.to_string())?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'last_event_ms'", [])?;
            }
        }
        tx.commit()?;
        // The next change starts a new actor: the taken-back sequence numbers are never reused.
        if let Some(id) = self.identity.id {
            self.actor = Some(crate::fresh_actor(id));
        }
        self.cache.clear();
        Ok(taken)
    }

    /// Changes the sync server refused, newest first.
    pub fn refused_changes(&self) -> Result<Vec<RefusedChange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, doc_id, code, reason, refused_ms FROM refused_changes ORDER BY refused_ms DESC, hash",
        )?;
        let rows = stmt.query_map([], |r| {
            let code: String = r.get(2)?;
            Ok(RefusedChange {
                hash: r.get(0)?,
                doc_id: r.get(1)?,
                code: refusal_code_from_text(&code),
                reason: r.get(3)?,
                refused_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Documents whose pulled changes would not apply, with why.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id, count(*), min(reason) FROM quarantine GROUP BY doc_id ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| {
            Ok(Quarantined { doc_id: r.get(0)?, changes: r.get::<_, i64>(1)? as usize, reason: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The pull cursor saved with the last page applied.
    pub fn sync_cursor(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "sync_cursor")
    }

    /// Put every change this device holds — its own and those it pulled — back in the outbox,
    /// each document's in causal order, and every blob back in the blob outbox. For a server
    /// whose database was replaced or restored from a backup (its epoch changed): whatever it
    /// lost that this device holds goes back up, and the server keeps only what it lacks.
    /// Returns the changes queued.
    pub fn requeue_everything(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let tx = write_tx(&mut self.conn)?;
        tx.execute("DELETE FROM outbox", [])?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM documents ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut queued = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (doc_id, change_hash, bytes, created_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in ids {
                let Some(mut doc) = load_doc(&tx, &id)? else { continue };
                for change in doc.get_changes(&[]) {
                    queued += insert.execute(rusqlite::params![
                        id,
                        change.hash().to_string(),
                        change.raw_bytes(),
                        now.timestamp_millis()
                    ])?;
                }
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO blob_outbox (hash, created_ms) SELECT hash, ?1 FROM blobs",
            [now.timestamp_millis()],
        )?;
        tx.execute("DELETE FROM meta WHERE key = 'sync_cursor'", [])?;
        tx.commit()?;
        Ok(queued)
    }

    /// Forget where pulling stands, so the next sync starts cold: everything the server holds
    /// comes again (compacted) and is merged with what this device has — nothing here is lost,
    /// and changes not yet pushed stay in the outbox. For support: "download everything again".
    pub fn forget_sync_cursor(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM meta WHERE key = 'sync_cursor'", [])?;
        Ok(())
    }

    /// The heads of a document, as sorted hex hashes; empty when the device does not have it.
    pub fn heads(&self, doc_id: &str) -> Result<Vec<String>> {
        let mut heads: Vec<String> = match load_doc(&self.conn, doc_id)? {
            Some(mut doc) => doc.get_heads().iter().map(|h| h.to_string()).collect(),
            None => Vec::new(),
        };
        heads.sort();
        Ok(heads)
    }

    /// Every document id on this device.
    pub fn document_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM documents ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Apply a page of remote changes and save `cursor` with them, in one transaction. A change
    /// whose bytes do not hash to the hash it claims, that is not an Automerge change, or that
    /// will not apply, puts its document in quarantine (the document stays as it was); the rest
    /// of the page is applied.
    pub fn apply_remote(
        &mut self,
        changes: &[RemoteChange],
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ApplyReport> {
        self.refresh()?;
        let mut by_doc: BTreeMap<&str, Vec<&RemoteChange>> = BTreeMap::new();
        for c in changes {
            by_doc.entry(c.doc_id.as_str()).or_default().push(c);
        }
        let mut report = ApplyReport::default();
        let tx = write_tx(&mut self.conn)?;
        let mut touched = Vec::new();
        for (doc_id, incoming) in by_doc {
            let existing = load_doc(&tx, doc_id)?;
            match apply_doc(doc_id, existing, incoming.iter().copied()) {
                Ok((mut doc, fresh)) => {
                    for c in &fresh {
                        store_change(&tx, doc_id, PERMIT_KIND, &mut doc, &c.hash, &c.bytes, now.timestamp_millis())?;
                    }
                    report.applied += fresh.len();
                    report.already_known += incoming.len() - fresh.len();
                    if !fresh.is_empty() {
                        let id = doc_id
                            .parse::<PermitId>()
                            .map_err(|_| StoreError::Corrupt(format!("permit id '{doc_id}'")))?;
                        touched.push((id, doc));
                    }
                }
                Err(reason) => {
                    quarantine(&tx, doc_id, incoming.iter().copied(), &reason, now)?;
                    report.quarantined.push(doc_id.to_owned());
                }
            }
        }
        report.documents = touched.len();
        for (view, updated) in derive_all(touched, &self.registry, &self.memo, now) {
            write_projection(&tx, &view, updated, &self.registry)?;
        }
        if let Some(cursor) = cursor {
            write_meta(&tx, "sync_cursor", cursor)?;
        }
        tx.commit()?;
        self.cache.clear();
        Ok(report)
    }

    /// Apply a page of a cold start (documents in their compacted form plus the changes they
    /// lack) and save `cursor` with it, in one transaction. A document this device does not have
    /// is stored as the compacted bytes it came in; one it has is merged. A document whose bytes
    /// will not load or apply goes to quarantine; the rest of the page is applied.
    pub fn apply_cold_page(
        &mut self,
        docs: &[ColdDoc],
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ApplyReport> {
        self.refresh()?;
        let mut report = ApplyReport::default();
        let tx = write_tx(&mut self.conn)?;
        // Documents new to this device are loaded on every core (pure work); the others are
        // merged one by one.
        let mut fresh: Vec<&ColdDoc> = Vec::new();
        let mut others: Vec<&ColdDoc> = Vec::new();
        {
            let mut exists = tx.prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?;
            for d in docs {
                if exists.exists([&d.doc_id])? {
                    others.push(d);
                } else {
                    fresh.push(d);
                }
            }
        }
        let mut touched = Vec::new();
        for d in others {
            let existing = load_doc(&tx, &d.doc_id)?;
            match merge_cold(d, existing) {
                Ok(Merged { mut doc, new_changes, known }) => {
                    for (hash, bytes) in &new_changes {
                        store_change(&tx, &d.doc_id, PERMIT_KIND, &mut doc, hash, bytes, now.timestamp_millis())?;
                    }
                    report.applied += new_changes.len();
                    report.already_known += known;
                    if !new_changes.is_empty() {
                        touched.push((parse_permit_id(&d.doc_id)?, doc));
                    }
                }
                Err(reason) => {
                    quarantine(&tx, &d.doc_id, d.changes.iter(), &reason, now)?;
                    report.quarantined.push(d.doc_id.clone());
                }
            }
        }
        let loaded: Vec<_> = fresh.par_iter().map(|d| load_fresh(d)).collect();
        for (d, result) in fresh.into_iter().zip(loaded) {
            match result {
                Ok((mut doc, new_tail, known)) => {
                    if !d.snapshot.is_empty() {
                        insert_snapshot(&tx, d, now)?;
                    }
                    for c in &new_tail {
                        store_change(&tx, &d.doc_id, PERMIT_KIND, &mut doc, &c.hash, &c.bytes, now.timestamp_millis())?;
                    }
                    report.applied += d.snapshot_changes as usize + new_tail.len();
                    report.already_known += known;
                    touched.push((parse_permit_id(&d.doc_id)?, doc));
                }
                Err(reason) => {
                    quarantine(&tx, &d.doc_id, d.changes.iter(), &reason, now)?;
                    report.quarantined.push(d.doc_id.clone());
                }
            }
        }
        report.documents = touched.len();
        for (view, updated) in derive_all(touched, &self.registry, &self.memo, now) {
            write_projection(&tx, &view, updated, &self.registry)?;
        }
        if let Some(cursor) = cursor {
            write_meta(&tx, "sync_cursor", cursor)?;
        }
        tx.commit()?;
        self.cache.clear();
        Ok(report)
    }
}

/// The latest time of an event of `device` that the change in `bytes` appends.
fn latest_own_event(bytes: &[u8], device: ptw_core::DeviceId) -> Option<i64> {
    ptw_doc::inserted_strings(bytes)
        .iter()
        .filter_map(|s| ptw_core::SignedEvent::from_stored(s).ok()?.event().ok())
        .filter(|e| e.device == device)
        .map(|e| e.time_ms())
        .max()
}

fn parse_permit_id(doc_id: &str) -> Result<PermitId> {
    doc_id.parse().map_err(|_| StoreError::Corrupt(format!("permit document id '{doc_id}'")))
}

impl Store {
    /// Rows written before the list knew whose turn it is get it now: every permit is derived
    /// again, once, when a database from before opens.
    pub(crate) fn project_missing_turns(&mut self, now: DateTime<Utc>) -> Result<()> {
        let missing: i64 = self.conn.query_row("SELECT COUNT(*) FROM permits WHERE turn IS NULL", [], |r| r.get(0))?;
        if missing == 0 {
            return Ok(());
        }
        let tx = write_tx(&mut self.conn)?;
        rederive_everything(&tx, &self.registry, &self.memo, now)?;
        tx.commit()?;
        Ok(())
    }
}

/// Derive every permit on this device anew against `registry` (it changed) and rewrite their
/// projections, in `tx`. Returns how many.
pub(crate) fn rederive_everything(
    tx: &rusqlite::Transaction<'_>,
    registry: &ptw_core::Registry,
    memo: &SignatureMemo,
    now: DateTime<Utc>,
) -> Result<usize> {
    let ids: Vec<String> = {
        let mut stmt = tx.prepare("SELECT id FROM documents WHERE kind = ?1")?;
        let rows = stmt.query_map([PERMIT_KIND], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut docs = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(doc) = load_doc(tx, &id)? {
            docs.push((parse_permit_id(&id)?, doc));
        }
    }
    let views = derive_all(docs, registry, memo, now);
    let n = views.len();
    for (view, updated) in views {
        write_projection(tx, &view, updated, registry)?;
    }
    Ok(n)
}

/// Derive each permit against `registry`: pure work, so it is spread over the device's cores
/// (a cold start derives thousands). Each share first checks the signatures of all the events
/// in it in one batch ([`verify_batch`]), which costs a fraction of checking them one by one,
/// then derives. A permit whose document does not read as a permit is left out.
fn derive_all(
    permits: Vec<(PermitId, AutoCommit)>,
    registry: &ptw_core::Registry,
    memo: &SignatureMemo,
    now: DateTime<Utc>,
) -> Vec<(PermitView, i64)> {
    // Shares of 64 permits: enough signatures for a batch to pay off.
    permits
        .into_par_iter()
        .chunks(64)
        .flat_map_iter(|share| {
            // Read each document, then let it go: what derivation needs is its form and events.
            let loaded: Vec<(PermitId, ptw_doc::LoadedPermit, i64)> = share
                .into_iter()
                .filter_map(|(id, mut doc)| Some((id, ptw_doc::read_permit(&doc).ok()?, heads_ms(&mut doc))))
                .collect();
            let read: Vec<Vec<ReadEvent>> = loaded.iter().map(|(_, permit, _)| read_events(&permit.events)).collect();
            verify_batch(read.iter().flatten(), registry, memo, rand_core::OsRng);
            loaded
                .into_iter()
                .zip(read)
                .map(|((id, permit, heads_ms), events)| {
                    let state = derive_read(id, &permit.form, events, registry, now, Some(memo));
                    let updated = state.last_hlc.ms.max(heads_ms);
                    (PermitView::new(id, permit.number, state), updated)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Keep a document new to this device as the compacted bytes it came in.
fn insert_snapshot(tx: &rusqlite::Transaction<'_>, d: &ColdDoc, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO documents (id, kind, snapshot, change_count, updated_ms) VALUES (?1, ?2, ?3, 0, ?4)",
    )?
    .execute(rusqlite::params![d.doc_id, PERMIT_KIND, d.snapshot, now.timestamp_millis()])?;
    Ok(())
}

/// Keep pulled changes that would not apply, with why, instead of applying them.
fn quarantine<'a>(
    tx: &rusqlite::Transaction<'_>,
    doc_id: &str,
    changes: impl Iterator<Item = &'a RemoteChange>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO quarantine (doc_id, hash, bytes, reason, received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for c in changes {
        insert.execute(rusqlite::params![doc_id, c.hash, c.bytes, reason, now.timestamp_millis()])?;
    }
    Ok(())
}

/// A pulled document checked before anything is kept: a permit id, and every change decodes,
/// hashes to its hash and applies — behind the panic guard.
fn apply_doc<'a>(
    doc_id: &str,
    existing: Option<AutoCommit>,
    incoming: impl Iterator<Item = &'a RemoteChange>,
) -> std::result::Result<(AutoCommit, Vec<&'a RemoteChange>), String> {
    if !ptw_doc::shape::is_permit_id(doc_id) {
        return Err(format!("'{}' is not a permit document id", doc_id.escape_debug()));
    }
    let mut doc = existing.unwrap_or_default();
    let mut fresh = Vec::new();
    for c in incoming {
        if c.kind != PERMIT_KIND {
            return Err(format!("change {} is of unknown kind '{}'", c.hash, c.kind.escape_debug()));
        }
        let change = decode_change(c)?;
        if doc.get_change_meta_by_hash(&change.hash()).is_some() {
            continue;
        }
        ptw_doc::guarded("applying a pulled change", || doc.apply_changes([change])).map_err(|e| e.to_string())?;
        fresh.push(c);
    }
    if !fresh.is_empty() && doc.get_missing_deps(&[]).is_empty() {
        ptw_doc::guarded("reading a pulled permit", || Ok(ptw_doc::read_permit(&doc)))
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the permit does not read: {e}"))?;
    }
    Ok((doc, fresh))
}

/// A cold document merged into the one this device has.
struct Merged {
    doc: AutoCommit,
    /// The changes new to this device: (hash, bytes).
    new_changes: Vec<(String, Vec<u8>)>,
    /// How many of the page's changes it had already.
    known: usize,
}

fn merge_cold(d: &ColdDoc, existing: Option<AutoCommit>) -> std::result::Result<Merged, String> {
    let mut doc = existing.unwrap_or_default();
    let before = doc.get_heads();
    if !d.snapshot.is_empty() {
        ptw_doc::guarded("loading a compacted document", || doc.load_incremental(&d.snapshot))
            .map_err(|e| format!("its snapshot does not load: {e}"))?;
    }
    let mut new_changes: Vec<(String, Vec<u8>)> =
        doc.get_changes(&before).into_iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect();
    let (doc, fresh) = apply_doc(&d.doc_id, Some(doc), d.changes.iter())?;
    new_changes.extend(fresh.into_iter().map(|c| (c.hash.clone(), c.bytes.clone())));
    let known = (d.snapshot_changes as usize + d.changes.len()).saturating_sub(new_changes.len());
    Ok(Merged { doc, new_changes, known })
}

/// A document new to this device, loaded from its compacted form (if it came with one) with the
/// changes it lacks applied: the document, those of the changes it did not hold yet, and how
/// many it did.
fn load_fresh(d: &ColdDoc) -> std::result::Result<(AutoCommit, Vec<&RemoteChange>, usize), String> {
    // Loading no bytes gives an empty document.
    let doc = ptw_doc::guarded("loading a compacted document", || AutoCommit::load(&d.snapshot))
        .map_err(|e| format!("its snapshot does not load: {e}"))?;
    let (doc, fresh) = apply_doc(&d.doc_id, Some(doc), d.changes.iter())?;
    let known = d.changes.len() - fresh.len();
    Ok((doc, fresh, known))
}

/// A document of a cold start, as pulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColdDoc {
    pub doc_id: String,
    pub kind: String,
    /// The compacted document (`Automerge::save`); empty when the server sent raw changes only.
    pub snapshot: Vec<u8>,
    /// How many changes the snapshot holds, as the server counted them.
    pub snapshot_changes: u64,
    pub changes: Vec<RemoteChange>,
}

fn decode_change(c: &RemoteChange) -> std::result::Result<Change, String> {
    let change =
        ptw_doc::decode_change(&c.bytes).map_err(|e| format!("change {} is not an Automerge change: {e}", c.hash))?;
    let claimed: ChangeHash =
        c.hash.parse().map_err(|_| format!("'{}' is not a change hash", c.hash.escape_debug()))?;
    if change.hash() != claimed {
        return Err(format!("the bytes of change {} hash to {}", c.hash, change.hash()));
    }
    Ok(change)
}

/// How a refusal code is kept in the database.
fn refusal_code_text(code: RefusalCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn refusal_code_from_text(text: &str) -> RefusalCode {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap_or(RefusalCode::Malformed)
}
