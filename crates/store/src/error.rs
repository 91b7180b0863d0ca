//! The store's one error type.

use ptw_core::form::FieldError;
use ptw_core::{PermitId, Violation};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("document does not have the expected shape: {0}")]
    Hydrate(#[from] autosurgeon::HydrateError),
    #[error("could not write document: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error("permit {0} is not on this device")]
    PermitNotFound(PermitId),
    #[error("the action was refused: {0}")]
    Refused(Violation),
    #[error("the form has {} problem(s)", .0.len())]
    InvalidForm(Vec<FieldError>),
    #[error("wrong person or PIN")]
    BadCredentials,
    #[error("stored data is damaged: {0} — restore from the sync server or a backup")]
    Corrupt(String),
    #[error("change {hash} from the sync server was refused: {reason}")]
    BadRemoteChange { hash: String, reason: String },
    #[error("this photo or signature cannot be kept: {0}")]
    InvalidBlob(String),
    #[error("sync failed: {0}")]
    Sync(String),
    #[error("could not hash the PIN: {0}")]
    PinHash(String),
    #[error("the database at {path} was written by a newer openptw (schema {found}, this build knows {known}); update the app")]
    SchemaTooNew { path: String, found: usize, known: usize },
}

pub type Result<T> = std::result::Result<T, StoreError>;
