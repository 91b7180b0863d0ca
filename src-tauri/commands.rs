//! The Tauri commands the UI calls. Thin adapters: take the arguments, call ptw-store with the
//! signed-in person and the wall clock, map the store's error to a [`CommandError`] the UI can
//! translate. No rule is decided here.

use chrono::Utc;
use ptw_core::api::{Action, CommandError, Directory, ListQuery, PermitSummary, PermitView, Session, SyncStatus};
use ptw_core::{PermitForm, PermitId, PersonId, Status};
use ptw_store::{Store, StoreError};
use std::sync::{Mutex, MutexGuard};
use tauri::State;

/// What the app holds while it runs: the device store and who is signed in on it.
pub struct AppState {
    pub store: Mutex<Store>,
    pub session: Mutex<Option<PersonId>>,
    pub sync: std::sync::Arc<crate::sync_loop::SyncHandle>,
}

type Reply<T> = Result<T, CommandError>;

fn to_command_error(e: StoreError) -> CommandError {
    match e {
        StoreError::Refused(violation) => CommandError::Refused { violation },
        StoreError::InvalidForm(errors) => CommandError::InvalidForm { errors },
        StoreError::BadCredentials => CommandError::BadCredentials,
        StoreError::PermitNotFound(id) => CommandError::NotFound { what: format!("permit {id}") },
        StoreError::Sync(message) => CommandError::BadInput { message },
        other => CommandError::Internal { message: other.to_string() },
    }
}

fn lock<T>(m: &Mutex<T>) -> Reply<MutexGuard<'_, T>> {
    m.lock().map_err(|_| CommandError::Internal {
        message: "the store is unavailable after an earlier crash; restart the app".into(),
    })
}

fn signed_in(state: &AppState) -> Reply<PersonId> {
    lock(&state.session)?.ok_or(CommandError::NotSignedIn)
}

#[tauri::command(rename_all = "snake_case")]
pub fn directory(state: State<AppState>) -> Reply<Directory> {
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    let r = store.registry();
    Ok(Directory { catalog: r.catalog.clone(), people: r.people.clone(), locations: r.locations.clone() })
}

#[tauri::command(rename_all = "snake_case")]
pub fn sign_in(state: State<AppState>, person_id: PersonId, pin: String) -> Reply<Session> {
    let person = lock(&state.store)?.verify_pin(person_id, &pin).map_err(to_command_error)?.clone();
    *lock(&state.session)? = Some(person.id);
    Ok(Session { person })
}

#[tauri::command(rename_all = "snake_case")]
pub fn sign_out(state: State<AppState>) -> Reply<()> {
    *lock(&state.session)? = None;
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub fn session(state: State<AppState>) -> Reply<Option<Session>> {
    let Some(id) = *lock(&state.session)? else { return Ok(None) };
    let store = lock(&state.store)?;
    Ok(store.registry().person(id).cloned().map(|person| Session { person }))
}

#[tauri::command(rename_all = "snake_case")]
pub fn list_permits(state: State<AppState>, query: ListQuery) -> Reply<Vec<PermitSummary>> {
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    store.list(&query).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn status_counts(state: State<AppState>) -> Reply<Vec<(Status, u64)>> {
    lock(&state.store)?.status_counts().map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_permit(state: State<AppState>, id: PermitId) -> Reply<PermitView> {
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    store.permit(id, Utc::now()).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn create_permit(state: State<AppState>, form: PermitForm) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    lock(&state.store)?.create_permit(actor, form, Utc::now()).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn update_draft(state: State<AppState>, id: PermitId, form: PermitForm) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    lock(&state.store)?.update_draft(actor, id, form, Utc::now()).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn act(state: State<AppState>, permit_id: PermitId, action: Action) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    lock(&state.store)?.act(actor, permit_id, action, Utc::now()).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn sync_status(state: State<AppState>) -> Reply<SyncStatus> {
    let store = lock(&state.store)?;
    let pending_changes = store.pending_changes().map_err(to_command_error)?;
    let server_configured = store.sync_server().map_err(to_command_error)?.is_some();
    let last_sync_ms = store.last_sync_ms().map_err(to_command_error)?;
    let online = server_configured && lock(&state.sync.health)?.online;
    let progress = lock(&state.sync.progress)?.clone();
    Ok(SyncStatus { online, pending_changes, server_configured, last_sync_ms, progress })
}

/// Enrol this device with a sync server, from the code IT printed (`ptw-sync-server device
/// enrol`): either the code alone with the server URL, or the QR text `openptw-enrol:<url>#<code>`.
// `async`: runs off the main thread, so an unreachable server never freezes the window.
#[tauri::command(async, rename_all = "snake_case")]
pub fn enrol_device(state: State<AppState>, url: String, code: String) -> Reply<()> {
    let (url, code) = match ptw_core::sync::split_enrol_qr(&code) {
        Some((u, c)) => (u.to_string(), c.to_string()),
        None => (url.trim().to_string(), code.trim().to_string()),
    };
    if !ptw_core::sync::is_server_url(&url) || code.is_empty() {
        return Err(CommandError::BadInput {
            message: "enter the server address (http://…) and the enrolment code".into(),
        });
    }
    let mut guard = lock(&state.store)?;
    let store: &mut Store = &mut guard;
    // The HTTP client blocks; run it off the UI thread and wait for it.
    std::thread::scope(|s| s.spawn(move || store.enrol(&url, &code).map_err(to_command_error)).join())
        .map_err(|_| CommandError::Internal { message: "enrolment crashed".into() })??;
    state.sync.wake();
    Ok(())
}

/// The text of the QR code in a photo or screenshot (PNG or JPEG file bytes): the enrolment
/// form scans IT's QR with the tablet camera. Failures are `BadInput` with a sentence the UI
/// words (not a picture, no QR code found — hold the camera closer, unreadable).
// `async`: decoding a photo takes a moment; it must not freeze the window.
#[tauri::command(async, rename_all = "snake_case")]
pub fn decode_qr(image: Vec<u8>) -> Reply<String> {
    Ok(crate::qr::decode(&image)?)
}

/// Ask the background sync for a round now (the UI calls it when the network comes back).
#[tauri::command(rename_all = "snake_case")]
pub fn sync_now(state: State<AppState>) -> Reply<()> {
    state.sync.wake();
    Ok(())
}
