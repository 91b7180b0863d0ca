//! Who is asking: the [`Device`] extractor turns `Authorization: Bearer <token>` into the
//! enrolled device — as the registry log knows it — before any handler runs. No token or an
//! unknown one is 401; a device the registry says is revoked is 403, with words telling the
//! user to go to IT.

use crate::error::{Error, Result};
use crate::secret::sha256_hex;
use crate::{blocking, AppState};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ptw_core::registry;

/// The enrolled, non-revoked device making the request.
#[derive(Clone, Debug)]
pub struct Device(pub registry::Device);

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
        let (storage, registry) = (state.storage.clone(), state.registry.clone());
        let id = blocking(move || {
            // Take up registry entries written elsewhere (the admin CLI, another instance): a
            // revocation counts from the next request on.
            registry.refresh(storage.as_ref())?;
            storage.device_by_token(&token_hash)
        })
        .await?
        .ok_or(Error::UnknownToken)?;
        let registry = state.registry.current();
        let device = registry.device(id).cloned().ok_or(Error::UnknownToken)?;
        if device.is_revoked() {
            return Err(Error::Revoked { device: device.id });
        }
        Ok(Device(device))
    }
}
