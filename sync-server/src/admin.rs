//! Registry changes over HTTP (`POST /api/admin/registry`): for the admin screen of the desktop
//! app. Two credentials both: the device's token (an enrolled, unrevoked device) and an admin
//! person's PIN, checked here against the registry's Argon2 hash, with wrong PINs limited per
//! person. The change is checked like any other before the server signs it.

use crate::auth::Device;
use crate::error::{Error, Result};
use crate::{blocking, now_ms, AppState};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use ptw_core::authority::RegistryOp;
use ptw_core::sync::{AdminChange, AdminRequest, AdminResponse};
use ptw_core::{Registry, Role};

/// The role that may change the registry.
pub const ADMIN_ROLE: &str = "admin";

pub async fn change(
    State(state): State<AppState>,
    Device(device): Device,
    body: std::result::Result<Json<AdminRequest>, JsonRejection>,
) -> Result<Json<AdminResponse>> {
    let Json(req) = body.map_err(|r| Error::BadRequest { status: r.status(), message: r.body_text() })?;
    let st = state.clone();
    let entries = blocking(move || {
        let now = now_ms();
        st.registry.refresh(st.storage.as_ref())?;
        let registry = st.registry.current();
        check_admin(&st, &registry, &req, now)?;
        let op = to_op(req.change, &registry)?;
        tracing::info!(admin = %req.admin, device = %device.id, op = op.code(), "registry change by an admin");
        st.registry.append(st.storage.as_ref(), vec![op], now)
    })
    .await?;
    Ok(Json(AdminResponse { entries }))
}

/// The admin person exists, holds the admin role, is not frozen, is not waiting after wrong
/// PINs, and gave the right PIN.
fn check_admin(state: &AppState, registry: &Registry, req: &AdminRequest, now: i64) -> Result<()> {
    let denied = || Error::NotAllowed("this person's PIN or role does not allow registry changes".into());
    if state.limits.admin_locked(req.admin, now) {
        return Err(Error::NotAllowed("too many wrong PINs; wait five minutes".into()));
    }
    let person = registry.person(req.admin).ok_or_else(denied)?;
    let hash = registry.credential(req.admin).ok_or_else(denied)?;
    let parsed = PasswordHash::new(hash).map_err(|_| denied())?;
    if Argon2::default().verify_password(req.pin.as_bytes(), &parsed).is_err() {
        state.limits.admin_failed(req.admin, now);
        return Err(denied());
    }
    state.limits.admin_succeeded(req.admin);
    if !person.has_role(&Role::new(ADMIN_ROLE)) || person.frozen_at(now) {
        return Err(denied());
    }
    Ok(())
}

/// The registry entry an admin change makes; a PIN is hashed here, and held to the plant's
/// shortest PIN.
fn to_op(change: AdminChange, registry: &Registry) -> Result<RegistryOp> {
    Ok(match change {
        AdminChange::PutPerson { id, name, title, roles, profile } => {
            RegistryOp::PutPerson { id, name, title, roles, profile }
        }
        AdminChange::RetirePerson { person, reason } => RegistryOp::RetirePerson { person, reason },
        AdminChange::RevokeCertificate { certificate, reason } => RegistryOp::RevokeCertificate { certificate, reason },
        AdminChange::SetPin { person, pin } => RegistryOp::SetPin { person, pin_hash: hash_pin(&pin, registry)? },
        AdminChange::Freeze { person, reason } => RegistryOp::Freeze { person, reason },
        AdminChange::Unfreeze { person, reason } => RegistryOp::Unfreeze { person, reason },
        AdminChange::PutLocation { location } => RegistryOp::PutLocation { location },
        AdminChange::RevokeDevice { device, reason } => RegistryOp::RevokeDevice { device, reason },
        AdminChange::SetSettings { settings } => RegistryOp::SetSettings { settings },
        AdminChange::SetCatalog { catalog } => RegistryOp::SetCatalog { catalog },
        AdminChange::PutCertificate { certificate } => RegistryOp::PutCertificate { certificate },
    })
}

/// The Argon2id PHC string of `pin`, once it has at least the digits the plant's settings ask.
pub fn hash_pin(pin: &str, registry: &Registry) -> Result<String> {
    let min = usize::from(registry.settings.min_pin_digits);
    if pin.len() < min || pin.len() > 12 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Refused(ptw_core::authority::OpProblem::PinLength {
            min: registry.settings.min_pin_digits,
        }));
    }
    hash_pin_unchecked(pin)
}

/// The Argon2id PHC string of `pin`, whatever its length (the demo plant's short PINs, which its
/// own settings allow).
pub fn hash_pin_unchecked(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing the PIN: {e}")))
}
