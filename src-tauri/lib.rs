//! openptw desktop/tablet app: the Tauri shell around the Leptos UI (`ui/`).
//!
//! Commands are thin adapters: parse, call ptw-store, map errors.

mod commands;
mod qr;
mod sync_loop;

use commands::AppState;
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

/// Where the app keeps its database: `$OPENPTW_DATA_DIR` if set (tests, several instances),
/// otherwise Tauri's per-user app data directory.
pub const DATA_DIR_ENV: &str = "OPENPTW_DATA_DIR";

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

/// Builds and runs the app until its last window closes.
pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            eprintln!("openptw: data directory {}", dir.display());
            let db = dir.join("openptw.db");
            let name = std::env::var("OPENPTW_DEVICE_NAME").unwrap_or_else(|_| "openptw device".into());
            let now = chrono::Utc::now();
            let mut store = ptw_store::Store::open(&db, &name, now)
                .map_err(|e| format!("cannot open the device database {}: {e}", db.display()))?;
            if store.is_empty() {
                store.seed_demo(now).map_err(|e| format!("cannot seed the demo plant: {e}"))?;
                eprintln!("openptw: seeded the demo plant");
            }
            let sync = std::sync::Arc::new(sync_loop::SyncHandle::default());
            sync_loop::start(db.clone(), name, sync.clone());
            app.manage(AppState { store: Mutex::new(store), session: Mutex::new(None), sync });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            ping,
            commands::directory,
            commands::sign_in,
            commands::sign_out,
            commands::session,
            commands::list_permits,
            commands::status_counts,
            commands::get_permit,
            commands::create_permit,
            commands::update_draft,
            commands::act,
            commands::sync_status,
            commands::enrol_device,
            commands::sync_now,
            commands::decode_qr,
        ])
        .run(tauri::generate_context!())
        .expect("error while running openptw");
}
