//! The server's one error type, and how each failure reaches the device: a status code and an
//! [`ErrorBody`] whose text says what the person holding the tablet (or IT) should do next.
//!
//! Database and internal failures are logged in full here and answered with a short message:
//! the details are for the server's log, not for the device.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ptw_core::sync::{ErrorBody, ErrorKind};
use ptw_core::DeviceId;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("this request carries no device token (Authorization: Bearer …); enrol the device with IT first")]
    MissingToken,
    #[error("the server does not know this device token; ask IT to enrol the device again")]
    UnknownToken,
    #[error("device {device} was revoked by IT; ask IT to enrol it again")]
    Revoked { device: DeviceId },
    #[error("this enrolment code is not known to the server; check it was typed as printed, or ask IT for a new one")]
    CodeUnknown,
    #[error("this enrolment code was already used; ask IT to print a new one")]
    CodeUsed,
    #[error("this enrolment code has expired (codes last 24 hours); ask IT to print a new one")]
    CodeExpired,
    #[error("too many attempts from this address; wait a minute and try again")]
    RateLimited,
    /// The admin person's credentials or role do not allow the change.
    #[error("{0}")]
    NotAllowed(String),
    /// The registry change cannot be made to the registry as it is.
    #[error("the registry change was not made: {0}")]
    Refused(ptw_core::authority::OpProblem),
    /// Another writer appended to the registry log first; the caller re-reads and retries.
    #[error("the registry log moved on while this change was written; try again")]
    RegistryConflict,
    /// The request could not be read (bad JSON, bad query, body too large…).
    #[error("{message}")]
    BadRequest { status: StatusCode, message: String },
    /// What the request names is not on the server; the text says what it is and what to do.
    #[error("{0}")]
    NotFound(String),
    #[error("the server's database failed: {0}")]
    Database(String),
    #[error("the server failed: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::BadRequest { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingToken | Error::UnknownToken => StatusCode::UNAUTHORIZED,
            Error::Revoked { .. }
            | Error::CodeUnknown
            | Error::CodeUsed
            | Error::CodeExpired
            | Error::NotAllowed(_) => StatusCode::FORBIDDEN,
            Error::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::BadRequest { status, .. } => *status,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::RegistryConflict => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The failure as data, for the device to act on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::MissingToken | Error::UnknownToken => ErrorKind::NotEnrolled,
            Error::Revoked { .. } => ErrorKind::DeviceRevoked,
            Error::CodeUnknown => ErrorKind::EnrolCodeUnknown,
            Error::CodeUsed => ErrorKind::EnrolCodeUsed,
            Error::CodeExpired => ErrorKind::EnrolCodeExpired,
            Error::RateLimited => ErrorKind::RateLimited,
            Error::NotAllowed(_) => ErrorKind::NotAllowed,
            Error::Refused(_) => ErrorKind::RegistryRefused,
            Error::BadRequest { status, .. } if *status == StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
            Error::BadRequest { .. } => ErrorKind::BadRequest,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::RegistryConflict | Error::Database(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(e.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let kind = self.kind();
        let error = if status.is_server_error() {
            tracing::error!(error = ?self.to_string(), "request failed");
            "the sync server hit an internal error; your changes are kept on the device, try again later".to_owned()
        } else {
            // Debug formatting escapes what a client sent (a newline cannot forge a log line).
            tracing::info!(error = ?self.to_string(), status = status.as_u16(), "request refused");
            self.to_string()
        };
        let problem = match self {
            Error::Refused(problem) => Some(problem),
            _ => None,
        };
        (status, Json(ErrorBody { kind, error, problem })).into_response()
    }
}
