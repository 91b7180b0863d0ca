//! openptw desktop/tablet app: the Tauri shell around the Leptos UI (`ui/`).
//!
//! Commands are thin adapters: parse, call ptw-store, map errors.

mod admin;
mod clock;
mod commands;
mod photos;
mod qr;
mod session;
mod sync_loop;

use commands::AppState;
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

/// Where the app keeps its database: `$OPENPTW_DATA_DIR` if set (tests, several instances),
/// otherwise Tauri's per-user app data directory.
pub const DATA_DIR_ENV: &str = "OPENPTW_DATA_DIR";

/// An enrolment QR text to enrol with at start, if the device is not enrolled yet: how
/// `./openptw run` and the end-to-end tests put a fresh app on their local sync server.
pub const ENROL_ENV: &str = "OPENPTW_ENROL";

/// Kiosk mode on a plant tablet: the window covers the whole screen, no title bar or panel
/// (`OPENPTW_FULLSCREEN=1`, or `--fullscreen` on the command line). Otherwise it opens maximised.
pub const FULLSCREEN_ENV: &str = "OPENPTW_FULLSCREEN";

fn fullscreen_requested() -> bool {
    std::env::args().skip(1).any(|arg| arg == "--fullscreen")
        || std::env::var(FULLSCREEN_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Emitted to the UI after every sync round.
pub const SYNC_ROUND_EVENT: &str = "sync-round";

/// Round trip for the UI to check that the back end answers.
#[tauri::command]
fn ping() -> String {
    "pong".to_owned()
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Enrol with the QR text in [`ENROL_ENV`], once, and take the plant's registry before the
/// window opens. A failure is only printed: the device can still be enrolled from Settings.
fn enrol_from_env(store: &mut ptw_store::Store) {
    let Some(text) = std::env::var(ENROL_ENV).ok().filter(|t| !t.trim().is_empty()) else { return };
    if store.is_enrolled() {
        return;
    }
    let Some(qr) = ptw_core::sync::EnrolQr::parse(&text) else {
        eprintln!("openptw: {ENROL_ENV} is not an enrolment QR text; enrol from Settings");
        return;
    };
    match store.enrol_qr(&qr).and_then(|()| store.sync_now(clock::now())) {
        Ok(report) => eprintln!("openptw: enrolled with {} ({} registry entries)", qr.url, report.registry_entries),
        Err(e) => eprintln!("openptw: enrolling with {} failed: {e}", qr.url),
    }
}

/// Builds and runs the app until its last window closes.
/// Runs the app with `context`, which `main.rs` makes with `tauri::generate_context!()`: the
/// macro embeds ui/dist and must expand in one compilation unit only. Expanded here, the library
/// and its unit-test build would both write the same generated asset at once under
/// `cargo build --all-targets`, and the app could embed a truncated UI (a blank window); main.rs
/// expands it outside test builds only, for the same reason.
pub fn run(context: tauri::Context<tauri::Wry>) {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            eprintln!("openptw: data directory {}", dir.display());
            let db = dir.join("openptw.db");
            let name = std::env::var("OPENPTW_DEVICE_NAME").unwrap_or_else(|_| "openptw device".into());
            let mut store = clock::open_store(&db, &name)
                .map_err(|e| format!("cannot open the device database {}: {e}", db.display()))?;
            enrol_from_env(&mut store);
            let sync = std::sync::Arc::new(sync_loop::SyncHandle::default());
            let window = app.handle().clone();
            sync_loop::start(db.clone(), name, sync.clone(), move || {
                // The UI reads the sync status again, and with it anything the round brought.
                let _ = tauri::Emitter::emit(&window, SYNC_ROUND_EVENT, ());
            });
            app.manage(AppState { store: Mutex::new(store), session: Mutex::new(None), sync });
            app.manage(admin::AdminUnlock::default());
            if fullscreen_requested() {
                if let Some(window) = app.get_webview_window("main") {
                    window.set_fullscreen(true)?;
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            ping,
            commands::directory,
            commands::sign_in,
            commands::sign_out,
            commands::session,
            commands::list_permits,
            commands::inbox,
            commands::plant_alerts,
            commands::status_counts,
            commands::get_permit,
            commands::revise_permit,
            commands::copy_permit,
            commands::create_permit,
            commands::update_draft,
            commands::act,
            commands::sync_status,
            commands::enrol_device,
            commands::sync_now,
            commands::export_certificate_report,
            commands::decode_qr,
            commands::qr_svg,
            photos::add_photo,
            photos::blob_image,
            photos::put_signature,
            photos::act_signed,
            admin::admin_unlock,
            admin::admin_lock,
            admin::admin_change,
            admin::new_person_id,
        ])
        .run(context)
        .expect("error while running openptw");
}
