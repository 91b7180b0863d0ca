//! Who is asking: the [`Device`] extractor turns `Authorization: Bearer <token>` into the
//! enrolled device, before any handler runs. No token or an unknown one is 401; a revoked
//! device is 403 with words telling the user to go to IT.

use crate::error::{Error, Result};
use crate::secret::sha256_hex;
use crate::storage::DeviceRecord;
use crate::{blocking, AppState};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The enrolled, non-revoked device making the request.
#[derive(Clone, Debug)]
pub struct Device(pub DeviceRecord);

impl FromRequestParts<AppState> for Device {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::MissingToken)?;
        let token_hash = sha256_hex(token);
        let storage = state.storage.clone();
        let device = blocking(move || storage.device_by_token(&token_hash)).await?.ok_or(Error::UnknownToken)?;
        if device.revoked {
            return Err(Error::Revoked { device: device.id });
        }
        Ok(Device(device))
    }
}
