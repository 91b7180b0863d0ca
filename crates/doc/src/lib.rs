//! ptw-doc: how openptw keeps a permit in an Automerge document, shared by the device store and
//! the sync server so both read, write and check documents the same way.
//!
//! - [`permit`]: the layout (`id`, `number`, the `form` map, the append-only `events` list) and
//!   the fast reader every derivation starts from;
//! - [`shape`]: the strict check the server runs on a document after test-applying a change to
//!   it — a change is kept only if every device can apply and read what it makes;
//! - [`guarded`]: Automerge work on bytes from elsewhere, with its internal panics turned into
//!   errors.
//!
//! The kinds of document and the events key are defined here and nowhere else.

pub mod permit;
pub mod shape;

pub use permit::{append_event, init_permit, read_permit, set_form, FormDoc, LoadedPermit, EVENTS};
pub use ptw_core::sync::PERMIT_KIND;

/// What can go wrong with a document.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("could not write the document: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    /// The document does not have a permit's shape.
    #[error("{0}")]
    Shape(String),
    /// Automerge panicked on these bytes (it has internal asserts that crafted changes can trip).
    #[error("the change could not be applied: {0}")]
    Panicked(String),
}

pub type Result<T, E = DocError> = std::result::Result<T, E>;

/// Decode the bytes of one change that came from elsewhere: an Automerge change chunk whose
/// header checksum is the start of its hash. Automerge's change decoder does not look at the
/// checksum but its document loader does, and silently leaves out a chunk whose checksum is
/// wrong — so a change accepted on that decoder's word would vanish the next time the document
/// is loaded from storage.
pub fn decode_change(bytes: &[u8]) -> Result<automerge::Change> {
    let change = guarded("decoding a change", || automerge::Change::from_bytes(bytes.to_vec()).map_err(Into::into))?;
    let hash = change.hash();
    if bytes.get(4..8) != Some(&hash.0[..4]) {
        return Err(DocError::Shape(format!("change {hash}: the header checksum does not match the change's hash")));
    }
    Ok(change)
}

/// The strings a change inserts (in a permit, the events it appends), decoded from its bytes;
/// empty for bytes that are not a change.
pub fn inserted_strings(bytes: &[u8]) -> Vec<String> {
    let decoded = guarded("reading a change", || {
        let change = automerge::Change::from_bytes(bytes.to_vec())?;
        Ok(change.decode())
    });
    let Ok(expanded) = decoded else { return Vec::new() };
    expanded
        .operations
        .into_iter()
        .filter(|op| op.insert)
        .filter_map(|op| match op.action {
            automerge::legacy::OpType::Put(automerge::ScalarValue::Str(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Run Automerge work on bytes that came from elsewhere, turning a panic inside it into
/// [`DocError::Panicked`]. The document it worked on may be half-changed afterwards: drop it.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> Result<T, automerge::AutomergeError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => Ok(result?),
        Err(_) => Err(DocError::Panicked(what.to_owned())),
    }
}
