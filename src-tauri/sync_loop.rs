//! The background sync: a thread with its own connection to the device database that runs a
//! sync round on a timer while the device is enrolled, backing off while the server cannot be
//! reached. Offline is the normal state of a tablet, so failures are remembered and shown, never
//! raised. The UI's store sees what the thread applied through SQLite's data_version.

use chrono::Utc;
use ptw_core::api::SyncProgress;
use ptw_store::{Store, SyncOptions};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Seconds between rounds while all is well, and the longest wait while offline.
const INTERVAL: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the UI shows about sync.
#[derive(Debug, Default, Clone)]
pub struct SyncHealth {
    /// The last round reached the server.
    pub online: bool,
    pub last_error: Option<String>,
}

/// Shared between the sync thread and the commands.
#[derive(Default)]
pub struct SyncHandle {
    pub health: Mutex<SyncHealth>,
    /// The running round's progress; `None` between rounds.
    pub progress: Mutex<Option<SyncProgress>>,
    /// Set to wake the thread for a round now ("sync now", the network came back).
    wake: Mutex<bool>,
    cv: Condvar,
}

impl SyncHandle {
    pub fn wake(&self) {
        if let Ok(mut w) = self.wake.lock() {
            *w = true;
            self.cv.notify_one();
        }
    }

    fn wait(&self, timeout: Duration) {
        if let Ok(guard) = self.wake.lock() {
            if let Ok((mut woken, _)) = self.cv.wait_timeout_while(guard, timeout, |w| !*w) {
                *woken = false;
            }
        }
    }

    fn set_progress(&self, progress: Option<SyncProgress>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = progress;
        }
    }

    fn record(&self, result: &Result<(), String>) {
        if let Ok(mut h) = self.health.lock() {
            h.online = result.is_ok();
            h.last_error = result.as_ref().err().cloned();
        }
    }
}

/// Start the sync thread for the database at `db`.
pub fn start(db: PathBuf, device_name: String, handle: Arc<SyncHandle>) {
    std::thread::Builder::new()
        .name("openptw-sync".into())
        .spawn(move || {
            let mut store: Option<Store> = None;
            let mut delay = INTERVAL;
            loop {
                let result = round(&db, &device_name, &mut store, &handle);
                match &result {
                    Ok(false) => {} // not enrolled: nothing to do, nothing to show
                    Ok(true) => delay = INTERVAL,
                    Err(_) => delay = (delay * 2).min(MAX_BACKOFF),
                }
                if !matches!(result, Ok(false)) {
                    handle.record(&result.map(|_| ()));
                }
                handle.wait(delay);
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| eprintln!("openptw: the sync thread could not start: {e}"));
}

/// One round; `Ok(false)` when the device is not enrolled.
fn round(
    db: &std::path::Path,
    name: &str,
    store: &mut Option<Store>,
    handle: &Arc<SyncHandle>,
) -> Result<bool, String> {
    if store.is_none() {
        *store = Some(Store::open(db, name, Utc::now()).map_err(|e| e.to_string())?);
    }
    let Some(s) = store.as_mut() else { return Ok(false) };
    if s.sync_server().map_err(|e| e.to_string())?.is_none() {
        return Ok(false);
    }
    handle.set_progress(Some(SyncProgress::default()));
    let observer = handle.clone();
    let report = s.sync_now_observed(Utc::now(), SyncOptions::default(), move |r| {
        observer.set_progress(Some(SyncProgress {
            pushed: r.acked as u64,
            received: r.applied as u64,
            round_trips: r.round_trips as u64,
        }));
    });
    handle.set_progress(None);
    let report = report.map_err(|e| e.to_string())?;
    if !report.refused.is_empty() {
        eprintln!("openptw: the sync server refused {} change(s): {:?}", report.refused.len(), report.refused);
    }
    Ok(true)
}
