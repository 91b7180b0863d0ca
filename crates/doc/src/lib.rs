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

/// Run Automerge work on bytes that came from elsewhere, turning a panic inside it into
/// [`DocError::Panicked`]. The document it worked on may be half-changed afterwards: drop it.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> Result<T, automerge::AutomergeError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => Ok(result?),
        Err(_) => Err(DocError::Panicked(what.to_owned())),
    }
}
