//! The Tauri commands the UI calls. Thin adapters: take the arguments, call ptw-store with the
//! signed-in person and the wall clock, map the store's error to a [`CommandError`] the UI can
//! translate. No rule is decided here.

use crate::session::{idle_limit, Session as SignedIn};
use ptw_core::api::{
    Action, CommandError, Directory, Inbox, ListQuery, PermitSummary, PermitView, RefusedAction, Session, SyncFailure,
    SyncStatus,
};
use ptw_core::sync::EnrolQr;
use ptw_core::{PermitForm, PermitId, PersonId, Status, TimeTrust};
use ptw_store::{Store, StoreError};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use tauri::State;

/// What the app holds while it runs: the device store and who is signed in on it.
pub struct AppState {
    pub store: Mutex<Store>,
    pub session: Mutex<Option<SignedIn>>,
    pub sync: std::sync::Arc<crate::sync_loop::SyncHandle>,
}

pub(crate) type Reply<T> = Result<T, CommandError>;

pub(crate) fn to_command_error(e: StoreError) -> CommandError {
    match e {
        StoreError::Refused(violation) => CommandError::Refused { violation },
        StoreError::InvalidForm(errors) => CommandError::InvalidForm { errors },
        StoreError::BadCredentials => CommandError::BadCredentials,
        StoreError::PinLocked { retry_after_ms } => {
            CommandError::PinLocked { retry_after_s: u64::try_from(retry_after_ms.max(0)).unwrap_or(0).div_ceil(1000) }
        }
        StoreError::NotEnrolled => CommandError::NotEnrolled,
        StoreError::DeviceRevoked => CommandError::DeviceRevoked,
        StoreError::PermitNotFound(id) => CommandError::NotFound { what: format!("permit {id}") },
        StoreError::Sync { failure, .. } => CommandError::Sync { failure },
        StoreError::Registry(_) => CommandError::Sync { failure: SyncFailure::BadRegistry },
        StoreError::InvalidBlob(message) => CommandError::BadInput { message },
        StoreError::Photo(e) => crate::photos::photo_error(e),
        StoreError::AdminDenied => CommandError::NotAllowed,
        StoreError::RegistryRefused(problem) => CommandError::RegistryRefused { problem },
        other => CommandError::Internal { message: other.to_string() },
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Reply<MutexGuard<'_, T>> {
    m.lock().map_err(|_| CommandError::Internal {
        message: "the store is unavailable after an earlier crash; restart the app".into(),
    })
}

/// The signed-in person, if the session has not been idle longer than the plant allows (it is
/// ended then). Counts as activity.
pub(crate) fn signed_in(state: &AppState) -> Reply<PersonId> {
    let idle = idle_limit(lock(&state.store)?.registry().settings.idle_sign_out_minutes);
    let mut session = lock(&state.session)?;
    match session.as_mut().and_then(|s| s.touch(Instant::now(), idle)) {
        Some(person) => Ok(person),
        None => {
            *session = None;
            Err(CommandError::NotSignedIn)
        }
    }
}

/// A permit as the UI shows it: its links, whether it waits for the server, and — for the
/// person signed in — what they may do to it.
pub(crate) fn present(store: &Store, view: PermitView, person: Option<PersonId>) -> Reply<PermitView> {
    let view = store.with_links(view).map_err(to_command_error)?;
    let view = store.with_conflicts(view, crate::clock::now()).map_err(to_command_error)?;
    Ok(match person {
        Some(p) => store.with_offers(view, p),
        None => view,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub fn directory(state: State<AppState>) -> Reply<Directory> {
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    directory_of(&store)
}

/// What the device knows of the plant, for the UI.
pub(crate) fn directory_of(store: &Store) -> Reply<Directory> {
    let enrolled = store.is_enrolled();
    let r = store.registry();
    Ok(Directory {
        catalog: r.catalog.clone(),
        people: r.people.clone(),
        locations: r.locations.clone(),
        settings: r.settings.clone(),
        certificates: r.certificates.clone(),
        enrolled,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub fn sign_in(state: State<AppState>, person_id: PersonId, pin: String) -> Reply<Session> {
    let person =
        lock(&state.store)?.verify_pin(person_id, &pin, crate::clock::now()).map_err(to_command_error)?.clone();
    *lock(&state.session)? = Some(SignedIn::start(person.id, Instant::now()));
    Ok(Session { person })
}

#[tauri::command(rename_all = "snake_case")]
pub fn sign_out(state: State<AppState>, unlock: State<crate::admin::AdminUnlock>) -> Reply<()> {
    unlock.forget();
    *lock(&state.session)? = None;
    Ok(())
}

/// Who is signed in, if anyone (an idle session is over). Does not count as activity: the UI
/// asks this on a timer.
#[tauri::command(rename_all = "snake_case")]
pub fn session(state: State<AppState>) -> Reply<Option<Session>> {
    let store = lock(&state.store)?;
    let idle = idle_limit(store.registry().settings.idle_sign_out_minutes);
    let mut session = lock(&state.session)?;
    let Some(s) = *session else { return Ok(None) };
    if !s.live(Instant::now(), idle) {
        *session = None;
        return Ok(None);
    }
    Ok(store.registry().person(s.person).cloned().map(|person| Session { person }))
}

#[tauri::command(rename_all = "snake_case")]
pub fn list_permits(state: State<AppState>, mut query: ListQuery) -> Reply<Vec<PermitSummary>> {
    // "Mine" is whoever is signed in, never what the page asks.
    query.me = signed_in(&state).ok();
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    store.list_at(&query, crate::clock::now()).map_err(to_command_error)
}

/// The alerts the person signed in must act on, computed now at this device's trusted time
/// (R-ALERT): the top bar's counts, the inbox and the tablet's alarm.
#[tauri::command(rename_all = "snake_case")]
pub fn inbox(state: State<AppState>) -> Reply<Inbox> {
    let person = signed_in(&state)?;
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    store.inbox(Some(person), crate::clock::now()).map_err(to_command_error)
}

/// Every alert of the plant now, whoever it asks: the safety manager's view of the inbox.
#[tauri::command(rename_all = "snake_case")]
pub fn plant_alerts(state: State<AppState>) -> Reply<Inbox> {
    signed_in(&state)?;
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    store.inbox(None, crate::clock::now()).map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn status_counts(state: State<AppState>) -> Reply<Vec<(Status, u64)>> {
    lock(&state.store)?.status_counts().map_err(to_command_error)
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_permit(state: State<AppState>, id: PermitId) -> Reply<PermitView> {
    let person = signed_in(&state).ok();
    let mut store = lock(&state.store)?;
    store.refresh().map_err(to_command_error)?;
    let view = store.permit(id, crate::clock::now()).map_err(to_command_error)?;
    present(&store, view, person)
}

/// A permit copied as a template: a new draft of the signed-in person's with its work and
/// none of its dates, signatures or gas tests.
#[tauri::command(rename_all = "snake_case")]
pub fn copy_permit(state: State<AppState>, id: PermitId) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view = store.copy_as_template(actor, id, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}

/// A rejected permit revised: a new draft with its form, linked to it, for its applicant.
#[tauri::command(rename_all = "snake_case")]
pub fn revise_permit(state: State<AppState>, id: PermitId) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view = store.revise(actor, id, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub fn create_permit(state: State<AppState>, form: PermitForm) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view = store.create_permit(actor, form, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    // Pushed at once while online; the timer is only the fallback.
    state.sync.wake();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub fn update_draft(state: State<AppState>, id: PermitId, form: PermitForm) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view = store.update_draft(actor, id, form, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub fn act(state: State<AppState>, permit_id: PermitId, action: Action) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view = store.act(actor, permit_id, action, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub fn sync_status(state: State<AppState>) -> Reply<SyncStatus> {
    let store = lock(&state.store)?;
    let server_configured = store.sync_server().map_err(to_command_error)?.is_some();
    // A standalone device has no server to wait for: nothing is "waiting to sync".
    let pending_changes = if server_configured { store.pending_changes().map_err(to_command_error)? } else { 0 };
    let last_sync_ms = store.last_sync_ms().map_err(to_command_error)?;
    let health = lock(&state.sync.health)?.clone();
    let online = server_configured && health.online;
    let progress = lock(&state.sync.progress)?.clone();
    let refused = store
        .refused_changes()
        .map_err(to_command_error)?
        .into_iter()
        .map(|r| RefusedAction { permit: r.doc_id, code: r.code, refused_ms: r.refused_ms })
        .collect();
    let quarantined = store.quarantined().map_err(to_command_error)?.len() as u64;
    let stamp = store.trusted_now(crate::clock::now()).map_err(to_command_error)?;
    let time_verified = stamp.trust == TimeTrust::Server;
    let revoked = store.is_revoked().map_err(to_command_error)?;
    let catalog_refused = store.registry().catalog_refused.as_ref().map(|r| r.seq);
    Ok(SyncStatus {
        online,
        pending_changes,
        server_configured,
        last_sync_ms,
        progress,
        last_failure: health.last_failure,
        refused,
        quarantined,
        time_verified,
        revoked,
        catalog_refused,
        now_ms: stamp.ms,
    })
}

/// Enrol this device with a sync server, from what IT printed (`ptw-sync-server device enrol`):
/// the whole QR text `openptw-enrol:<url>#<code>#<server key>#<certificate fingerprint>` (the
/// keys are pinned), or a typed code with the server's address.
// `async`: runs off the main thread, so an unreachable server never freezes the window.
#[tauri::command(async, rename_all = "snake_case")]
pub fn enrol_device(state: State<AppState>, url: String, code: String) -> Reply<()> {
    let qr = match EnrolQr::parse(&code) {
        Some(qr) => qr,
        None => EnrolQr {
            url: url.trim().to_owned(),
            code: code.trim().to_owned(),
            server_key: None,
            tls_fingerprint: None,
        },
    };
    if !ptw_core::sync::is_server_url(&qr.url) || qr.code.is_empty() {
        return Err(CommandError::Sync { failure: SyncFailure::EnrolIncomplete });
    }
    let mut guard = lock(&state.store)?;
    let store: &mut Store = &mut guard;
    // The HTTP client blocks; run it off the UI thread and wait for it.
    std::thread::scope(|s| s.spawn(move || store.enrol_qr(&qr).map_err(to_command_error)).join())
        .map_err(|_| CommandError::Internal { message: "enrolment crashed".into() })??;
    state.sync.wake();
    Ok(())
}

/// The text of the QR code in a photo or screenshot (PNG or JPEG file bytes): the enrolment
/// form scans IT's QR with the tablet camera. Failures are `Qr` with the typed reason (not a
/// picture, no QR code found — hold the camera closer, unreadable).
// `async`: decoding a photo takes a moment; it must not freeze the window.
#[tauri::command(async, rename_all = "snake_case")]
pub fn decode_qr(image: Vec<u8>) -> Reply<String> {
    ptw_media::qr::decode(&image).map_err(crate::qr::qr_failure)
}

/// `text` (a permit's, a badge's or a poster's QR text) drawn as an SVG QR code, for the window
/// and for print.
#[tauri::command(rename_all = "snake_case")]
pub fn qr_svg(text: String) -> Reply<String> {
    crate::qr::svg(&text).ok_or(CommandError::BadInput { message: "a QR code holds 1 to 512 bytes of text".into() })
}

/// How long "sync now" waits for its round before answering with how far it got.
const SYNC_NOW_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A sync round now (the "sync now" button, the network coming back): answers once the round
/// has finished — or after [`SYNC_NOW_WAIT`] — with the sync status it left, so the UI says
/// what happened rather than that something started. Not enrolled: the status at once.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(state: State<'_, AppState>) -> Reply<SyncStatus> {
    let enrolled = lock(&state.store)?.sync_server().map_err(to_command_error)?.is_some();
    if enrolled {
        let sync = state.sync.clone();
        let seen = sync.rounds();
        sync.wake();
        // Off the main thread: the window stays responsive while the round runs.
        tauri::async_runtime::spawn_blocking(move || sync.wait_for_round_after(seen, SYNC_NOW_WAIT))
            .await
            .map_err(|e| CommandError::Internal { message: format!("waiting for the sync round failed: {e}") })?;
    }
    sync_status(state)
}

/// The certificate holding statistics (持证情况统计表) as an XLSX workbook in the user's
/// downloads folder, headed in `locale`; the path written. For the people who oversee the plant's
/// certificates (inspectors, the safety department, managers).
#[tauri::command(rename_all = "snake_case")]
pub fn export_certificate_report(app: tauri::AppHandle, state: State<AppState>, locale: String) -> Reply<String> {
    use ptw_core::qualification::{oversees, OVERSIGHT_ROLES};
    let person = signed_in(&state)?;
    let store = lock(&state.store)?;
    let registry = store.registry();
    let p = registry.person(person).ok_or(CommandError::NotSignedIn)?;
    if !oversees(p) {
        let roles = OVERSIGHT_ROLES.iter().map(|r| ptw_core::Role::new(r)).collect();
        return Err(CommandError::Refused { violation: ptw_core::Violation::MissingRole { roles } });
    }
    let now = crate::clock::now().timestamp_millis();
    let bytes = ptw_register::statistics_xlsx(registry, now, &locale)
        .map_err(|e| CommandError::Internal { message: format!("writing the workbook: {e}") })?;
    let dir = downloads(&app)?;
    let day = ptw_core::calendar::plant_date(registry.settings.zone(), now).map(|d| d.to_string()).unwrap_or_default();
    let name = if locale.starts_with("en") { "certificate-statistics" } else { "持证情况统计表" };
    let path = dir.join(format!("{name}-{day}.xlsx"));
    // Written beside, then renamed: a half-written workbook never carries the name.
    let partial = dir.join(format!(".{name}-{day}.xlsx.part"));
    let io = |e: std::io::Error| CommandError::Internal { message: format!("saving {}: {e}", path.display()) };
    std::fs::write(&partial, bytes).map_err(io)?;
    std::fs::rename(&partial, &path).map_err(io)?;
    Ok(path.display().to_string())
}

/// The user's downloads folder, made if missing (`~/Downloads` where the system names none).
fn downloads(app: &tauri::AppHandle) -> Reply<std::path::PathBuf> {
    use tauri::Manager;
    let path = app.path();
    let dir = path
        .download_dir()
        .or_else(|_| path.home_dir().map(|h| h.join("Downloads")))
        .map_err(|e| CommandError::Internal { message: format!("no downloads folder: {e}") })?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| CommandError::Internal { message: format!("making {}: {e}", dir.display()) })?;
    Ok(dir)
}
