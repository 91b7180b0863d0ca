//! The device's side of sync, without the network: what to push (the outbox), forgetting what
//! the server acknowledged, and applying changes pulled from elsewhere — each pulled page in one
//! transaction together with the projections it changes and the cursor it advances to, so a
//! device killed mid-pull resumes from the last page it fully kept.
//!
//! The HTTP loop that moves these between devices and the sync server builds on this module.

use crate::docs::{self, OrgDoc};
use crate::error::{Result, StoreError};
use crate::org::ORG_DOC;
use crate::permits::{heads_ms, write_projection};
use crate::{load_doc, read_meta, store_change, write_meta, write_tx, Store};
use automerge::{AutoCommit, Change, ChangeHash};
use chrono::{DateTime, Utc};
use ptw_core::api::PermitView;
use ptw_core::derive::{derive_read, read_events, ReadEvent};
use ptw_core::event::verify_batch;
use ptw_core::PermitId;
use std::collections::BTreeMap;

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
}

const DOC_KINDS: [&str; 2] = ["permit", "org"];

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

    /// Forget outbox entries the server acknowledged (it has them durably). Unknown hashes are
    /// ignored: acknowledging twice is harmless.
    pub fn acknowledge(&mut self, hashes: &[String]) -> Result<usize> {
        let tx = write_tx(&mut self.conn)?;
        let mut removed = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE change_hash = ?1")?;
            for h in hashes {
                removed += stmt.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// The pull cursor saved with the last page applied.
    pub fn sync_cursor(&self) -> Result<Option<String>> {
        read_meta(&self.conn, "sync_cursor")
    }

    /// Put every change this device holds — its own and those it pulled — back in the outbox,
    /// each document's in causal order, the org document first. For a server whose database was
    /// replaced or restored from a backup (its epoch changed): whatever it lost that this device
    /// holds goes back up, and the server keeps only what it lacks. Returns the changes queued.
    pub fn requeue_everything(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let tx = write_tx(&mut self.conn)?;
        tx.execute("DELETE FROM outbox", [])?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM documents ORDER BY kind != 'org', id")?;
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
    /// whose bytes do not hash to the hash it claims, or that is not an Automerge change, refuses
    /// the whole page (nothing is kept, the cursor does not move).
    pub fn apply_remote(
        &mut self,
        changes: &[RemoteChange],
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ApplyReport> {
        self.refresh()?;
        let mut by_doc: BTreeMap<&str, Vec<&RemoteChange>> = BTreeMap::new();
        for c in changes {
            if !DOC_KINDS.contains(&c.kind.as_str()) {
                return Err(StoreError::BadRemoteChange {
                    hash: c.hash.clone(),
                    reason: format!("unknown kind '{}'", c.kind),
                });
            }
            by_doc.entry(c.doc_id.as_str()).or_default().push(c);
        }
        let mut report = ApplyReport::default();
        // Permits are derived against the registry, so the org document goes first.
        let mut order: Vec<&str> = by_doc.keys().copied().collect();
        order.sort_by_key(|id| *id != ORG_DOC);

        let tx = write_tx(&mut self.conn)?;
        let mut touched = Touched::default();
        for doc_id in order {
            let incoming = &by_doc[doc_id];
            let mut doc = load_doc(&tx, doc_id)?.unwrap_or_default();
            let new_here = apply_changes(&tx, doc_id, &mut doc, incoming.iter().copied(), now, &mut report)?;
            if new_here > 0 {
                touched.add(doc_id, doc)?;
            }
        }
        let (report, org_changed) = finish_apply(tx, &self.registry, touched, cursor, now, report)?;
        self.after_apply(org_changed, now)?;
        Ok(report)
    }

    /// Apply a page of a cold start (documents in their compacted form plus the changes they
    /// lack) and save `cursor` with it, in one transaction. A document this device does not have
    /// is stored as the compacted bytes it came in; one it has is merged.
    pub fn apply_cold_page(
        &mut self,
        docs: &[ColdDoc],
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ApplyReport> {
        self.refresh()?;
        for d in docs {
            if !DOC_KINDS.contains(&d.kind.as_str()) {
                return Err(StoreError::BadRemoteChange {
                    hash: format!("document {}", d.doc_id),
                    reason: format!("unknown kind '{}'", d.kind),
                });
            }
        }
        let mut order: Vec<&ColdDoc> = docs.iter().collect();
        order.sort_by_key(|d| d.doc_id != ORG_DOC);
        let mut report = ApplyReport::default();
        let tx = write_tx(&mut self.conn)?;
        let mut touched = Touched::default();
        // Documents new to this device are built on every core (pure work); the org document
        // and documents this device has go one by one.
        let mut fresh: Vec<&ColdDoc> = Vec::new();
        let mut others: Vec<&ColdDoc> = Vec::new();
        {
            let mut exists = tx.prepare_cached("SELECT 1 FROM documents WHERE id = ?1")?;
            for d in order {
                if d.doc_id != ORG_DOC && !exists.exists([&d.doc_id])? {
                    fresh.push(d);
                } else {
                    others.push(d);
                }
            }
        }
        for d in others {
            let bad = |reason: String| StoreError::BadRemoteChange { hash: format!("document {}", d.doc_id), reason };
            let existing = load_doc(&tx, &d.doc_id)?;
            let mut new_here = 0;
            let mut doc = match existing {
                None if !d.snapshot.is_empty() => {
                    let doc =
                        AutoCommit::load(&d.snapshot).map_err(|e| bad(format!("its snapshot does not load: {e}")))?;
                    insert_snapshot(&tx, d, now)?;
                    new_here += d.snapshot_changes as usize;
                    doc
                }
                existing => {
                    let mut doc = existing.unwrap_or_default();
                    if !d.snapshot.is_empty() {
                        let before = doc.get_heads();
                        doc.load_incremental(&d.snapshot)
                            .map_err(|e| bad(format!("its snapshot does not load: {e}")))?;
                        for change in doc.get_changes(&before) {
                            let hash = change.hash().to_string();
                            let bytes = change.raw_bytes().to_vec();
                            store_change(&tx, &d.doc_id, &d.kind, &mut doc, &hash, &bytes, now.timestamp_millis())?;
                            new_here += 1;
                        }
                        report.already_known += (d.snapshot_changes as usize).saturating_sub(new_here);
                    }
                    doc
                }
            };
            report.applied += new_here;
            new_here += apply_changes(&tx, &d.doc_id, &mut doc, d.changes.iter(), now, &mut report)?;
            if new_here > 0 {
                touched.add(&d.doc_id, doc)?;
            }
        }
        let loaded = on_every_core(fresh.clone(), load_fresh);
        for (d, result) in fresh.into_iter().zip(loaded) {
            let (mut doc, new_tail, known) = result?;
            if !d.snapshot.is_empty() {
                insert_snapshot(&tx, d, now)?;
            }
            for c in &new_tail {
                store_change(&tx, &d.doc_id, &c.kind, &mut doc, &c.hash, &c.bytes, now.timestamp_millis())?;
            }
            report.applied += d.snapshot_changes as usize + new_tail.len();
            report.already_known += known;
            touched.add(&d.doc_id, doc)?;
        }
        let (report, org_changed) = finish_apply(tx, &self.registry, touched, cursor, now, report)?;
        self.after_apply(org_changed, now)?;
        Ok(report)
    }

    /// After an apply committed: forget cached permits, and take up a new registry.
    fn after_apply(&mut self, org_changed: bool, now: DateTime<Utc>) -> Result<()> {
        self.cache.clear();
        if org_changed {
            self.reload_registry()?;
            self.ensure_device_enrolled(now)?;
        }
        Ok(())
    }
}

/// The end of every apply: re-derive what changed (every permit when the org document did),
/// write their projections and the cursor, and commit. Returns the report and whether the org
/// document changed.
fn finish_apply(
    tx: rusqlite::Transaction<'_>,
    registry: &ptw_core::Registry,
    mut touched: Touched,
    cursor: Option<&str>,
    now: DateTime<Utc>,
    mut report: ApplyReport,
) -> Result<(ApplyReport, bool)> {
    let new_registry;
    let registry = match &touched.org {
        Some(org) => {
            new_registry = autosurgeon::hydrate::<_, OrgDoc>(org)?.registry()?;
            &new_registry
        }
        None => registry,
    };
    let org_changed = touched.org.is_some();
    report.documents = touched.permits.len() + usize::from(org_changed);
    if org_changed {
        // Roles, freezes and device keys may have changed: every permit is derived anew.
        let mut stmt = tx.prepare("SELECT id FROM documents WHERE kind = 'permit'")?;
        let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let already: std::collections::HashSet<String> = touched.permits.iter().map(|(t, _)| t.to_string()).collect();
        for id in ids {
            if already.contains(&id) {
                continue;
            }
            let pid: PermitId = id.parse().map_err(|_| StoreError::Corrupt(format!("permit document id '{id}'")))?;
            if let Some(doc) = load_doc(&tx, &id)? {
                touched.permits.push((pid, doc));
            }
        }
    }
    for (view, updated) in derive_all(std::mem::take(&mut touched.permits), registry, now) {
        write_projection(&tx, &view, updated)?;
    }
    if let Some(cursor) = cursor {
        write_meta(&tx, "sync_cursor", cursor)?;
    }
    tx.commit()?;
    Ok((report, org_changed))
}

/// Derive each permit against `registry`: pure work, so it is spread over the device's cores
/// (a cold start derives thousands). Each core first checks the signatures of all the events in
/// its share in one batch ([`verify_batch`]), which costs a fraction of checking them one by
/// one, then derives. A permit whose first change has not arrived yet has no fields to project
/// and is left out.
fn derive_all(
    permits: Vec<(PermitId, AutoCommit)>,
    registry: &ptw_core::Registry,
    now: DateTime<Utc>,
) -> Vec<(PermitView, i64)> {
    // Shares of 64 permits: enough signatures for a batch to pay off.
    on_every_core_chunks(permits, 64, |share| {
        // Read each document, then let it go: what derivation needs is its form and events.
        let loaded: Vec<(PermitId, docs::LoadedPermit, i64)> = share
            .into_iter()
            .filter_map(|(id, mut doc)| Some((id, docs::read_permit(&doc).ok()?, heads_ms(&mut doc))))
            .collect();
        let read: Vec<Vec<ReadEvent<'_>>> = loaded.iter().map(|(_, permit, _)| read_events(&permit.events)).collect();
        verify_batch(read.iter().flatten(), registry, rand_core::OsRng);
        loaded
            .iter()
            .zip(read)
            .map(|((id, permit, heads_ms), events)| {
                let state = derive_read(*id, &permit.form, events, registry, now);
                let updated = state.last_hlc.ms.max(*heads_ms);
                (PermitView { id: *id, number: permit.number.clone(), form: permit.form.clone(), state }, updated)
            })
            .collect()
    })
}

/// Keep a document new to this device as the compacted bytes it came in.
fn insert_snapshot(tx: &rusqlite::Transaction<'_>, d: &ColdDoc, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO documents (id, kind, snapshot, change_count, updated_ms) VALUES (?1, ?2, ?3, 0, ?4)",
    )?
    .execute(rusqlite::params![d.doc_id, d.kind, d.snapshot, now.timestamp_millis()])?;
    Ok(())
}

/// A document new to this device, loaded from its compacted form (if it came with one) with the
/// changes it lacks applied: the document, those of the changes it did not hold yet, and how
/// many it did.
fn load_fresh(d: &ColdDoc) -> Result<(AutoCommit, Vec<&RemoteChange>, usize)> {
    // Loading no bytes gives an empty document.
    let mut doc = AutoCommit::load(&d.snapshot).map_err(|e| StoreError::BadRemoteChange {
        hash: format!("document {}", d.doc_id),
        reason: format!("its snapshot does not load: {e}"),
    })?;
    let mut new_tail = Vec::new();
    let mut known = 0;
    for c in &d.changes {
        let change = decode_change(c)?;
        if doc.get_change_meta_by_hash(&change.hash()).is_some() {
            known += 1;
            continue;
        }
        doc.apply_changes([change])?;
        new_tail.push(c);
    }
    Ok((doc, new_tail, known))
}

/// `f` over `items`, spread over the device's cores in shares of 16 (see
/// [`on_every_core_chunks`]); the results in order.
fn on_every_core<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    on_every_core_chunks(items, 16, |share| share.into_iter().map(&f).collect())
}

/// `f` over consecutive shares of `items` of up to `share` items, on every core of the device:
/// each core takes the next share as soon as it is done with one, so cheap and costly items
/// mixed in one page still keep every core busy. The results come back in order; a panic in `f`
/// is passed on.
fn on_every_core_chunks<T: Send, R: Send>(items: Vec<T>, share: usize, f: impl Fn(Vec<T>) -> Vec<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let share = share.max(1);
    if threads <= 1 || items.len() <= share {
        return f(items);
    }
    let mut shares: Vec<std::sync::Mutex<Option<Vec<T>>>> = Vec::new();
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        shares.push(std::sync::Mutex::new(Some(rest.by_ref().take(share).collect())));
    }
    let results: Vec<std::sync::Mutex<Vec<R>>> = shares.iter().map(|_| std::sync::Mutex::new(Vec::new())).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(slot) = shares.get(i) else { break };
        // A poisoned lock means another worker panicked; that panic is passed on below.
        let Some(items) = slot.lock().ok().and_then(|mut s| s.take()) else { break };
        let out = f(items);
        if let Ok(mut r) = results[i].lock() {
            *r = out;
        }
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(shares.len())).map(|_| s.spawn(work)).collect();
        for w in workers {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    results.into_iter().flat_map(|r| r.into_inner().unwrap_or_default()).collect()
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

/// Documents an apply changed, to be derived and projected.
#[derive(Default)]
struct Touched {
    org: Option<AutoCommit>,
    permits: Vec<(PermitId, AutoCommit)>,
}

impl Touched {
    fn add(&mut self, doc_id: &str, doc: AutoCommit) -> Result<()> {
        if doc_id == ORG_DOC {
            self.org = Some(doc);
        } else {
            let id: PermitId =
                doc_id.parse().map_err(|_| StoreError::Corrupt(format!("permit document id '{doc_id}'")))?;
            self.permits.push((id, doc));
        }
        Ok(())
    }
}

/// Apply `incoming` to `doc` and keep each new change; returns how many were new.
fn apply_changes<'a>(
    tx: &rusqlite::Transaction<'_>,
    doc_id: &str,
    doc: &mut AutoCommit,
    incoming: impl Iterator<Item = &'a RemoteChange>,
    now: DateTime<Utc>,
    report: &mut ApplyReport,
) -> Result<usize> {
    let mut new_here = 0;
    for c in incoming {
        let change = decode_change(c)?;
        if doc.get_change_meta_by_hash(&change.hash()).is_some() {
            report.already_known += 1;
            continue;
        }
        doc.apply_changes([change])?;
        store_change(tx, doc_id, &c.kind, doc, &c.hash, &c.bytes, now.timestamp_millis())?;
        new_here += 1;
    }
    report.applied += new_here;
    Ok(new_here)
}

fn decode_change(c: &RemoteChange) -> Result<Change> {
    let bad = |reason: String| StoreError::BadRemoteChange { hash: c.hash.clone(), reason };
    let change = Change::from_bytes(c.bytes.clone()).map_err(|e| bad(format!("not an Automerge change: {e}")))?;
    let claimed: ChangeHash = c.hash.parse().map_err(|_| bad("the hash is not a change hash".into()))?;
    if change.hash() != claimed {
        return Err(bad(format!("the bytes hash to {}, not to the claimed hash", change.hash())));
    }
    Ok(change)
}
