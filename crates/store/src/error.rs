//! The store's one error type.

use ptw_core::api::SyncFailure;
use ptw_core::authority::LogError;
use ptw_core::form::FieldError;
use ptw_core::{PermitId, Violation};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("document error: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("permit {0} is not on this device")]
    PermitNotFound(PermitId),
    #[error("the action was refused: {0}")]
    Refused(Violation),
    #[error("the form has {} problem(s)", .0.len())]
    InvalidForm(Vec<FieldError>),
    #[error("wrong person or PIN")]
    BadCredentials,
    #[error("too many wrong PINs: try again in {} s", (retry_after_ms + 999) / 1000)]
    PinLocked { retry_after_ms: i64 },
    #[error("this device is not enrolled with a sync server yet; enrol it with the code from IT")]
    NotEnrolled,
    #[error("IT revoked this device; it can no longer sign anything — ask IT to enrol it again")]
    DeviceRevoked,
    #[error("the registry from the sync server was refused: {0}")]
    Registry(LogError),
    #[error("{0}")]
    Doc(Box<ptw_doc::DocError>),
    #[error("stored data is damaged: {0} — restore from the sync server or a backup")]
    Corrupt(String),
    #[error("change {hash} from the sync server was refused: {reason}")]
    BadRemoteChange { hash: String, reason: String },
    #[error("this photo or signature cannot be kept: {0}")]
    InvalidBlob(String),
    #[error("{0}")]
    Photo(#[from] ptw_media::MediaError),
    #[error("the server refused the admin: wrong PIN, no admin role, a frozen account, or waiting after wrong PINs")]
    AdminDenied,
    #[error("the registry change was not made: {0}")]
    RegistryRefused(ptw_core::authority::OpProblem),
    #[error("sync failed: {detail}")]
    Sync { failure: SyncFailure, detail: String },
    #[error("could not hash the PIN: {0}")]
    PinHash(String),
    #[error("the database at {path} was written by a newer openptw (schema {found}, this build knows {known}); update the app")]
    SchemaTooNew { path: String, found: usize, known: usize },
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<automerge::AutomergeError> for StoreError {
    fn from(e: automerge::AutomergeError) -> Self {
        StoreError::Automerge(Box::new(e))
    }
}

impl From<ptw_doc::DocError> for StoreError {
    fn from(e: ptw_doc::DocError) -> Self {
        StoreError::Doc(Box::new(e))
    }
}

impl StoreError {
    /// A sync failure, with the words for the log.
    pub fn sync(failure: SyncFailure, detail: impl Into<String>) -> StoreError {
        StoreError::Sync { failure, detail: detail.into() }
    }
}
