//! The background sync: a thread with its own connection to the device database that runs a
//! sync round on a timer while the device is enrolled, backing off while the server cannot be
//! reached. Offline is the normal state of a tablet, so failures are remembered and shown, never
//! raised. The UI's store sees what the thread applied through SQLite's data_version.

use chrono::Utc;
use ptw_core::api::{SyncFailure, SyncProgress};
use ptw_store::{Store, StoreError, SyncOptions};
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
    /// Why the last round failed, as data the UI words.
    pub last_failure: Option<SyncFailure>,
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

    fn record(&self, result: &Result<(), StoreError>) {
        if let Ok(mut h) = self.health.lock() {
            h.online = result.is_ok();
            h.last_failure = match result {
                Ok(()) => None,
                Err(StoreError::Sync { failure, .. }) => Some(failure.clone()),
                Err(StoreError::Registry(_)) => Some(SyncFailure::BadRegistry),
                Err(_) => Some(SyncFailure::ServerError { status: 0 }),
            };
        }
    }
}

/// Start the sync thread for the database at `db`.
pub fn start(db: PathBuf, device_name: String, handle: Arc<SyncHandle>) {
    std::thread::Builder::new()
        .name("openptw-sync".into())
        .spawn(move || {
            let mut store: Option<Store> = None;
            let mut backoff = INTERVAL;
            loop {
                let result = round(&db, &device_name, &mut store, &handle);
                let delay = match &result {
                    Ok(_) => {
                        backoff = INTERVAL;
                        INTERVAL
                    }
                    Err(e) => {
                        eprintln!("openptw: sync failed: {e}");
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        jittered(backoff)
                    }
                };
                if !matches!(result, Ok(false)) {
                    handle.record(&result.map(|_| ()));
                }
                handle.wait(delay);
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| eprintln!("openptw: the sync thread could not start: {e}"));
}

/// `delay` give or take a quarter, at random: tablets that lost the network together do not all
/// come back at the same instant.
fn jittered(delay: Duration) -> Duration {
    let mut byte = [0u8; 1];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut byte);
    let quarter = delay / 4;
    delay - quarter + quarter * 2 * u32::from(byte[0]) / 255
}

/// One round; `Ok(false)` when the device is not enrolled.
fn round(
    db: &std::path::Path,
    name: &str,
    store: &mut Option<Store>,
    handle: &Arc<SyncHandle>,
) -> Result<bool, StoreError> {
    if store.is_none() {
        *store = Some(Store::open(db, name, Utc::now())?);
    }
    let Some(s) = store.as_mut() else { return Ok(false) };
    if s.sync_server()?.is_none() {
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
    let report = report?;
    if !report.refused.is_empty() {
        eprintln!("openptw: the sync server refused {} change(s): {:?}", report.refused.len(), report.refused);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_backoff_stays_within_a_quarter_of_the_delay() {
        let d = Duration::from_secs(60);
        let samples: Vec<Duration> = (0..200).map(|_| jittered(d)).collect();
        assert!(samples.iter().all(|s| *s >= d * 3 / 4 && *s <= d * 5 / 4), "{samples:?}");
        assert!(samples.iter().any(|s| *s != samples[0]), "not all the same");
    }
}
