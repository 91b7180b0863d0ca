//! The admin screen's commands: the register (people, roles, PINs, badges, freezes, retirements,
//! certificate revocations) changed online through the sync server's admin API.
//!
//! The screen is unlocked by the signed-in admin typing their PIN again (checked here against
//! the registry, with the usual wrong-PIN limits); the PIN is then held in memory for this
//! session only, sent with each change for the server to check again, and forgotten at sign-out
//! or when the session ends.

use crate::commands::{lock, signed_in, to_command_error, AppState, Reply};
use ptw_core::api::{CommandError, Directory};
use ptw_core::sync::AdminChange;
use ptw_core::{PersonId, Role};
use ptw_store::StoreError;
use tauri::State;

/// The role the admin screen is for (the server's own check is the one that counts).
const ADMIN_ROLE: &str = "admin";

/// The admin PIN typed for this session, with whose it is.
#[derive(Default)]
pub struct AdminUnlock(std::sync::Mutex<Option<(PersonId, String)>>);

impl AdminUnlock {
    pub fn forget(&self) {
        if let Ok(mut held) = self.0.lock() {
            *held = None;
        }
    }

    fn pin_of(&self, person: PersonId) -> Option<String> {
        self.0.lock().ok()?.as_ref().filter(|(p, _)| *p == person).map(|(_, pin)| pin.clone())
    }
}

/// Unlock the admin screen: the signed-in person's PIN, and they must hold the admin role and
/// not be frozen.
#[tauri::command(rename_all = "snake_case")]
pub fn admin_unlock(state: State<AppState>, unlock: State<AdminUnlock>, pin: String) -> Reply<()> {
    let person = signed_in(&state)?;
    let now = crate::clock::now();
    let mut store = lock(&state.store)?;
    let p = store.verify_pin(person, &pin, now).map_err(to_command_error)?;
    if !p.has_role(&Role::new(ADMIN_ROLE)) || p.frozen_at(now.timestamp_millis()) {
        return Err(CommandError::NotAllowed);
    }
    *lock(&unlock.0)? = Some((person, pin));
    Ok(())
}

/// Lock the admin screen again.
#[tauri::command(rename_all = "snake_case")]
pub fn admin_lock(unlock: State<AdminUnlock>) -> Reply<()> {
    unlock.forget();
    Ok(())
}

/// A fresh id for a person the admin is adding.
#[tauri::command(rename_all = "snake_case")]
pub fn new_person_id() -> Reply<PersonId> {
    Ok(ptw_store::new_person_id(crate::clock::now()))
}

/// Make `change` in the register through the server, as the signed-in admin; the directory as
/// it is afterwards. Needs the server: offline it fails with nothing changed.
// `async`: the request blocks; it must not freeze the window.
#[tauri::command(async, rename_all = "snake_case")]
pub fn admin_change(state: State<AppState>, unlock: State<AdminUnlock>, change: AdminChange) -> Reply<Directory> {
    let person = signed_in(&state)?;
    let pin = unlock.pin_of(person).ok_or(CommandError::AdminLocked)?;
    let mut guard = lock(&state.store)?;
    let store: &mut ptw_store::Store = &mut guard;
    // The HTTP client blocks, and may not run on the async runtime's threads: a thread of its
    // own, waited for.
    let now = crate::clock::now();
    let result = std::thread::scope(|s| s.spawn(|| store.admin_change(person, &pin, change, now)).join())
        .map_err(|_| CommandError::Internal { message: "the registry change crashed".into() })?;
    match result {
        Ok(_) => {}
        Err(StoreError::AdminDenied) => {
            // The server no longer takes this PIN (changed, frozen, role removed): lock again.
            unlock.forget();
            return Err(CommandError::NotAllowed);
        }
        Err(StoreError::RegistryRefused(problem)) => return Err(CommandError::RegistryRefused { problem }),
        Err(e) => return Err(to_command_error(e)),
    }
    state.sync.wake();
    crate::commands::directory_of(&guard)
}
