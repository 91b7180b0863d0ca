//! The server's one error type, and how each failure reaches the device: a status code and an
//! [`ErrorBody`] whose text says what the person holding the tablet (or IT) should do next.
//!
//! Database and internal failures are logged in full here and answered with a short message:
//! the details are for the server's log, not for the device.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ptw_core::sync::ErrorBody;
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
            Error::Revoked { .. } | Error::CodeUnknown | Error::CodeUsed | Error::CodeExpired => StatusCode::FORBIDDEN,
            Error::BadRequest { status, .. } => *status,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        let error = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "the sync server hit an internal error; your changes are kept on the device, try again later".to_owned()
        } else {
            tracing::info!(error = %self, status = status.as_u16(), "request refused");
            self.to_string()
        };
        (status, Json(ErrorBody { error })).into_response()
    }
}
