//! The device's side of sync, without the network: what to push (the outbox), forgetting what
//! the server acknowledged, and applying changes pulled from elsewhere — each pulled page in one
//! transaction together with the projections it changes and the cursor it advances to, so a
//! device killed mid-pull resumes from the last page it fully kept.
//!
//! The HTTP loop that moves these between devices and the sync server builds on this module.

use crate::docs::{self, OrgDoc};
use crate::error::{Result, StoreError};
use crate::org::ORG_DOC;
use crate::permits::{updated_ms, write_projection};
use crate::{load_doc, read_meta, store_change, write_meta, write_tx, Store};
use automerge::{AutoCommit, Change, ChangeHash};
use chrono::{DateTime, Utc};
use ptw_core::api::PermitView;
use ptw_core::derive::derive;
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
        let mut registry = self.registry.clone();
        let mut org_changed = false;
        let mut touched: Vec<(PermitId, AutoCommit)> = Vec::new();
        for doc_id in order {
            let incoming = &by_doc[doc_id];
            let mut doc = load_doc(&tx, doc_id)?.unwrap_or_default();
            let mut new_here = 0;
            for c in incoming {
                let change = decode_change(c)?;
                if doc.get_change_by_hash(&change.hash()).is_some() {
                    report.already_known += 1;
                    continue;
                }
                doc.apply_changes([change])?;
                store_change(&tx, doc_id, &c.kind, &mut doc, &c.hash, &c.bytes, now.timestamp_millis())?;
                new_here += 1;
            }
            report.applied += new_here;
            if new_here == 0 {
                continue;
            }
            report.documents += 1;
            if doc_id == ORG_DOC {
                registry = autosurgeon::hydrate::<_, OrgDoc>(&doc)?.registry()?;
                org_changed = true;
            } else {
                let id: PermitId =
                    doc_id.parse().map_err(|_| StoreError::Corrupt(format!("permit document id '{doc_id}'")))?;
                touched.push((id, doc));
            }
        }
        if org_changed {
            // Roles, freezes and device keys may have changed: every permit is derived anew.
            let mut stmt = tx.prepare("SELECT id FROM documents WHERE kind = 'permit'")?;
            let ids: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            for id in ids {
                if touched.iter().any(|(t, _)| t.to_string() == id) {
                    continue;
                }
                let pid: PermitId =
                    id.parse().map_err(|_| StoreError::Corrupt(format!("permit document id '{id}'")))?;
                if let Some(doc) = load_doc(&tx, &id)? {
                    touched.push((pid, doc));
                }
            }
        }
        for (id, doc) in &mut touched {
            // A permit whose first change has not arrived yet has no fields to project.
            let Ok(loaded) = docs::read_permit(doc) else { continue };
            let state = derive(*id, &loaded.form, &loaded.events, &registry, now);
            let updated = updated_ms(doc, &state);
            write_projection(&tx, &PermitView { id: *id, number: loaded.number, form: loaded.form, state }, updated)?;
        }
        if let Some(cursor) = cursor {
            write_meta(&tx, "sync_cursor", cursor)?;
        }
        tx.commit()?;
        self.cache.clear();
        if org_changed {
            self.reload_registry()?;
            self.ensure_device_enrolled(now)?;
        }
        Ok(report)
    }
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
