//! Compacting documents for devices that start cold: a document's stored changes are saved as
//! one Automerge document, so a new tablet loads one compact blob per permit instead of
//! replaying every change. This is the only place the server builds Automerge documents, and it
//! runs in the background ([`crate::writer`]), never while answering a request.
//!
//! A snapshot is built from the previous snapshot plus the changes after it. A document whose
//! changes wait for one they depend on is left as raw changes (a snapshot holds only changes
//! whose history is complete) and tried again after its next change.

use crate::storage::{CompactionInput, Snapshot, Storage};
use automerge::{Automerge, Change, ReadDoc};

/// A document is compacted again once it has this many changes beyond its snapshot.
pub const MIN_NEW_CHANGES: u64 = 2;

/// Documents compacted per step; the writer checks for pushes between steps.
pub const STEP_DOCS: usize = 32;

/// The snapshot `input` compacts to; `Ok(None)` when its history is incomplete or it has
/// nothing new. An error means stored bytes do not decode, which pushes are checked against.
pub fn compact(input: &CompactionInput) -> Result<Option<Snapshot>, String> {
    let Some(&(upto_seq, _)) = input.tail.last() else { return Ok(None) };
    let changes = input
        .tail
        .iter()
        .map(|(seq, bytes)| Change::from_bytes(bytes.clone()).map_err(|e| format!("change {seq} does not decode: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    // Behind the panic guard like every other load: a document that does not load is reported,
    // and the writer thread goes on.
    let built = ptw_doc::guarded("compacting a document", || {
        let mut doc = match &input.snapshot {
            Some(s) => Automerge::load(&s.bytes)?,
            None => Automerge::new(),
        };
        doc.apply_changes(changes)?;
        if !doc.get_missing_deps(&[]).is_empty() {
            return Ok(None);
        }
        Ok(Some(doc.save()))
    });
    let Some(bytes) = built.map_err(|e| format!("it does not load: {e}"))? else { return Ok(None) };
    let before = input.snapshot.as_ref().map_or(0, |s| s.changes);
    Ok(Some(Snapshot { upto_seq, changes: before + input.tail.len() as u64, bytes }))
}

/// Compact up to [`STEP_DOCS`] documents that need it. Returns how many were looked at (a full
/// step means there may be more).
pub fn step(storage: &dyn Storage) -> crate::Result<usize> {
    let candidates = storage.compaction_candidates(MIN_NEW_CHANGES, STEP_DOCS)?;
    for doc_id in &candidates {
        let Some(input) = storage.compaction_input(doc_id)? else { continue };
        let tried = input.snapshot.as_ref().map_or(0, |s| s.changes) + input.tail.len() as u64;
        // Automerge has internal asserts: a document that trips one stays as raw changes (and is
        // not tried again until it changes) rather than stopping compaction.
        let outcome =
            std::panic::catch_unwind(|| compact(&input)).unwrap_or_else(|_| Err("compacting it panicked".to_owned()));
        let snapshot = match outcome {
            Ok(snapshot) => snapshot,
            Err(reason) => {
                tracing::warn!(doc = %doc_id, %reason, "document not compacted");
                None
            }
        };
        storage.put_snapshot(doc_id, snapshot.as_ref(), tried)?;
    }
    Ok(candidates.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc, ROOT};

    fn edits(n: usize) -> (AutoCommit, Vec<(i64, Vec<u8>)>) {
        let mut doc = AutoCommit::new();
        let mut tail = Vec::new();
        for i in 0..n {
            doc.put(ROOT, format!("k{i}"), i as i64).expect("put");
            doc.commit();
            let c = doc.get_last_local_change().expect("change");
            tail.push((i as i64 + 1, c.raw_bytes().to_vec()));
        }
        (doc, tail)
    }

    #[test]
    fn a_snapshot_holds_every_change_and_grows_from_the_last_one() {
        let (mut source, tail) = edits(5);
        let first = CompactionInput { doc_id: "d".into(), snapshot: None, tail: tail[..3].to_vec() };
        let s1 = compact(&first).expect("compact").expect("a snapshot");
        assert_eq!((s1.upto_seq, s1.changes), (3, 3));
        let second = CompactionInput { doc_id: "d".into(), snapshot: Some(s1), tail: tail[3..].to_vec() };
        let s2 = compact(&second).expect("compact").expect("a snapshot");
        assert_eq!((s2.upto_seq, s2.changes), (5, 5));
        let mut loaded = AutoCommit::load(&s2.bytes).expect("load");
        assert_eq!(loaded.get_heads(), source.get_heads());
        assert_eq!(loaded.length(ROOT), 5);
    }

    #[test]
    fn a_history_with_a_gap_is_left_as_raw_changes() {
        let (_, tail) = edits(3);
        let gap = CompactionInput { doc_id: "d".into(), snapshot: None, tail: vec![tail[0].clone(), tail[2].clone()] };
        assert_eq!(compact(&gap).expect("compact"), None);
        let garbage = CompactionInput { doc_id: "d".into(), snapshot: None, tail: vec![(9, vec![1, 2, 3])] };
        assert!(compact(&garbage).expect_err("garbage").contains("change 9"));
    }
}
