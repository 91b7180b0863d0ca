//! The documents the judge test-applies changes to ([`crate::judge`]): each permit as stored,
//! loaded once from its snapshot and changes and kept while it is in use, plus the changes the
//! current group of pushes accepted on top of it and has not stored yet.
//!
//! Only the writer thread touches this. A document is reloaded when the stored change count
//! moved on without it (another server instance sharing the PostgreSQL database stored some),
//! and after a change that was test-applied to it was refused (the document may be half-changed).

use crate::error::Result;
use crate::storage::Storage;
use automerge::{Automerge, Change};
use std::collections::HashMap;

/// How many documents are kept loaded.
const CAPACITY: usize = 1024;

struct Entry {
    /// `None` when it must be loaded again before use.
    doc: Option<Automerge>,
    /// The stored change count the loaded document holds (pending changes not included).
    stored_count: u64,
    /// Accepted in the current group, not stored yet: re-applied whenever the document is
    /// loaded again.
    pending: Vec<Change>,
    last_used: u64,
}

#[derive(Default)]
pub struct DocCache {
    entries: HashMap<String, Entry>,
    tick: u64,
}

impl DocCache {
    /// The document `doc_id` as stored plus what this group accepted on it (an empty document
    /// when nothing is stored). `stored_count` is the stored change count the caller just read
    /// (`None`: nothing is stored). The inner error says why a stored document does not load.
    pub fn get(
        &mut self,
        storage: &dyn Storage,
        doc_id: &str,
        stored_count: Option<u64>,
    ) -> Result<std::result::Result<&mut Automerge, String>> {
        self.tick += 1;
        let fresh =
            self.entries.get(doc_id).is_some_and(|e| e.doc.is_some() && e.stored_count == stored_count.unwrap_or(0));
        if !fresh {
            let pending = self.entries.remove(doc_id).map(|e| e.pending).unwrap_or_default();
            let loaded = match stored_count {
                Some(_) => load(storage, doc_id, &pending)?,
                None => apply_pending(Automerge::new(), &pending),
            };
            let stored_count = stored_count.unwrap_or(0);
            let doc = match loaded {
                Ok(doc) => doc,
                Err(reason) => return Ok(Err(reason)),
            };
            self.evict();
            self.entries
                .insert(doc_id.to_owned(), Entry { doc: Some(doc), stored_count, pending, last_used: self.tick });
        }
        let entry = self.entries.get_mut(doc_id).ok_or_else(|| crate::Error::Internal("document cache".into()))?;
        entry.last_used = self.tick;
        entry.doc.as_mut().map(Ok).ok_or_else(|| crate::Error::Internal("document cache".into()))
    }

    /// Whether this group accepted changes on `doc_id` that are not stored yet.
    pub fn holds_pending(&self, doc_id: &str) -> bool {
        self.entries.get(doc_id).is_some_and(|e| !e.pending.is_empty())
    }

    /// `doc` is the document `doc_id` as [`DocCache::get`] gave it, with a change test-applied
    /// elsewhere (nothing pending on it).
    pub fn replace(&mut self, doc_id: &str, doc: Automerge) {
        if let Some(e) = self.entries.get_mut(doc_id) {
            e.doc = Some(doc);
        }
    }

    /// The document was test-applied a change that was then refused: load it again next time.
    pub fn forget(&mut self, doc_id: &str) {
        if let Some(e) = self.entries.get_mut(doc_id) {
            e.doc = None;
        }
    }

    /// `change` was accepted on `doc_id` (and test-applied to it already).
    pub fn accepted(&mut self, doc_id: &str, change: Change) {
        if let Some(e) = self.entries.get_mut(doc_id) {
            e.pending.push(change);
        }
    }

    /// The group's changes are stored: what was pending is part of the stored documents.
    pub fn committed(&mut self) {
        for e in self.entries.values_mut() {
            e.stored_count += e.pending.len() as u64;
            e.pending.clear();
        }
    }

    /// Storing the group failed: forget everything it touched.
    pub fn rolled_back(&mut self) {
        self.entries.retain(|_, e| e.pending.is_empty());
    }

    /// When full, drop the least recently used quarter of the documents no pending change holds
    /// (one sort per quarter, not a scan per document loaded).
    fn evict(&mut self) {
        if self.entries.len() < CAPACITY {
            return;
        }
        let mut idle: Vec<(u64, String)> =
            self.entries.iter().filter(|(_, e)| e.pending.is_empty()).map(|(k, e)| (e.last_used, k.clone())).collect();
        idle.sort_unstable();
        for (_, k) in idle.into_iter().take(CAPACITY / 4) {
            self.entries.remove(&k);
        }
    }
}

/// Load a stored document as it is stored (the alerting derives it).
pub(crate) fn load_stored(storage: &dyn Storage, doc_id: &str) -> Result<std::result::Result<Automerge, String>> {
    load(storage, doc_id, &[])
}

/// Load a stored document and apply `pending` on top.
fn load(storage: &dyn Storage, doc_id: &str, pending: &[Change]) -> Result<std::result::Result<Automerge, String>> {
    let Some(input) = storage.compaction_input(doc_id)? else {
        return Ok(apply_pending(Automerge::new(), pending));
    };
    let built = ptw_doc::guarded("loading a stored document", || {
        let mut doc = match &input.snapshot {
            Some(s) => Automerge::load(&s.bytes)?,
            None => Automerge::new(),
        };
        let mut bytes = Vec::new();
        for (_, b) in &input.tail {
            bytes.extend_from_slice(b);
        }
        if !bytes.is_empty() {
            doc.load_incremental(&bytes)?;
        }
        doc.apply_changes(pending.iter().cloned())?;
        Ok(doc)
    });
    Ok(built.map_err(|e| {
        tracing::error!(doc = %doc_id, error = %e, "a stored document does not load");
        format!("the stored permit does not load on the server: {e}")
    }))
}

/// `doc` with `pending` applied, for a document nothing is stored of yet.
fn apply_pending(mut doc: Automerge, pending: &[Change]) -> std::result::Result<Automerge, String> {
    match ptw_doc::guarded("applying accepted changes", || doc.apply_changes(pending.iter().cloned())) {
        Ok(()) => Ok(doc),
        Err(e) => Err(format!("the changes accepted before it do not apply: {e}")),
    }
}
