//! The background sync: a thread with its own connection to the device database that runs a
//! sync round whenever something should travel, backing off while the server cannot be reached.
//! Offline is the normal state of a tablet, so failures are remembered and shown, never raised.
//! The UI's store sees what the thread applied through SQLite's data_version, and the UI hears
//! of every round at once (`on_round`).
//!
//! A round runs
//! - right after a local write (the commands [`SyncHandle::wake`] the thread), so a signature
//!   leaves the tablet at once;
//! - as soon as the server has something new: a second thread holds a wait open on the server
//!   ([`ptw_store::ChangeWatch`]) with the cursor of the last round, and wakes the sync thread
//!   when it answers "changed" — so another device's change arrives within a second;
//! - on a timer ([`interval`]) as the fallback, and when the network returns.

use ptw_core::api::{SyncFailure, SyncProgress};
use ptw_store::{ChangeWatch, Store, StoreError, SyncOptions};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Time between timed rounds while all is well (changes travel at once anyway), unless
/// [`INTERVAL_ENV`] says otherwise; and the longest wait while offline.
const INTERVAL: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The wait before retrying a round that failed, doubled each time it fails again up to
/// [`MAX_BACKOFF`]: a one-off failure (a busy server, a dropped connection) right after a
/// signature costs seconds, not the interval.
const FIRST_RETRY: Duration = Duration::from_secs(2);
/// Seconds between timed rounds, instead of [`INTERVAL`] (tests that must see changes travel
/// without the timer set it high).
pub const INTERVAL_ENV: &str = "OPENPTW_SYNC_INTERVAL_S";
/// Between failed waits on the server, the longest pause (the first is a second).
const MAX_WAIT_BACKOFF: Duration = Duration::from_secs(60);

/// The timed rounds' interval.
fn interval() -> Duration {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(INTERVAL, Duration::from_secs)
}

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
    /// Set to wake the thread for a round now ("sync now", a local write, the server has news).
    wake: Mutex<bool>,
    cv: Condvar,
    /// The wait to hold open on the server, from the last round that succeeded, numbered.
    watch: Mutex<(u64, Option<ChangeWatch>)>,
    watch_cv: Condvar,
    /// Rounds finished (with or without success), for "sync now" to wait on.
    rounds: Mutex<u64>,
    round_cv: Condvar,
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

    /// Rounds finished so far.
    pub fn rounds(&self) -> u64 {
        self.rounds.lock().map(|r| *r).unwrap_or(0)
    }

    /// Waits until more than `seen` rounds have finished, or `timeout`; `true` if they have.
    pub fn wait_for_round_after(&self, seen: u64, timeout: Duration) -> bool {
        let Ok(guard) = self.rounds.lock() else { return false };
        match self.round_cv.wait_timeout_while(guard, timeout, |r| *r <= seen) {
            Ok((r, _)) => *r > seen,
            Err(_) => false,
        }
    }

    fn round_finished(&self) {
        if let Ok(mut r) = self.rounds.lock() {
            *r += 1;
            self.round_cv.notify_all();
        }
    }

    /// A round succeeded: this is what to wait on now.
    fn post_watch(&self, watch: Option<ChangeWatch>) {
        if let Ok(mut w) = self.watch.lock() {
            *w = (w.0 + 1, watch);
            self.watch_cv.notify_one();
        }
    }

    /// The posted watch numbered beyond `used`, waiting for one to be posted.
    fn watch_after(&self, used: u64) -> Option<(u64, ChangeWatch)> {
        let guard = self.watch.lock().ok()?;
        let guard = self.watch_cv.wait_while(guard, |(n, w)| *n <= used || w.is_none()).ok()?;
        guard.1.clone().map(|w| (guard.0, w))
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

/// Start the sync thread for the database at `db`, and the thread that waits on the server;
/// `on_round` runs after every round (the UI reads again).
pub fn start(db: PathBuf, device_name: String, handle: Arc<SyncHandle>, on_round: impl Fn() + Send + 'static) {
    let waiter = handle.clone();
    std::thread::Builder::new()
        .name("openptw-sync-wait".into())
        .spawn(move || wait_for_changes(&waiter))
        .map(|_| ())
        .unwrap_or_else(|e| eprintln!("openptw: the sync wait thread could not start: {e}"));
    std::thread::Builder::new()
        .name("openptw-sync".into())
        .spawn(move || {
            let mut store: Option<Store> = None;
            let interval = interval();
            let mut backoff = FIRST_RETRY;
            loop {
                let result = round(&db, &device_name, &mut store, &handle);
                let delay = match &result {
                    Ok(enrolled) => {
                        backoff = FIRST_RETRY;
                        if *enrolled {
                            handle.post_watch(store.as_mut().and_then(|s| s.change_watch().ok().flatten()));
                        }
                        interval
                    }
                    Err(e) => {
                        eprintln!("openptw: sync failed: {e}");
                        let delay = jittered(backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        delay
                    }
                };
                if !matches!(result, Ok(false)) {
                    handle.record(&result.map(|_| ()));
                    handle.round_finished();
                    on_round();
                }
                handle.wait(delay);
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| eprintln!("openptw: the sync thread could not start: {e}"));
}

/// Holds a wait open on the server with the last round's watch, again and again; when the
/// server says something changed, wakes the sync thread and waits for the next round's watch.
/// While the server cannot be reached it asks less and less often (its answer, when it comes
/// back, starts a round before the sync thread's own backoff would).
fn wait_for_changes(handle: &SyncHandle) {
    let mut used = 0;
    let mut backoff = Duration::from_secs(1);
    while let Some((number, watch)) = handle.watch_after(used) {
        match watch.wait(Duration::from_millis(ptw_core::sync::MAX_WAIT_MS)) {
            Ok(changed) => {
                backoff = Duration::from_secs(1);
                if changed {
                    used = number;
                    handle.wake();
                }
            }
            Err(e) => {
                eprintln!("openptw: waiting on the sync server failed: {e}");
                std::thread::sleep(jittered(backoff));
                backoff = (backoff * 2).min(MAX_WAIT_BACKOFF);
            }
        }
    }
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
        *store = Some(crate::clock::open_store(db, name)?);
    }
    let Some(s) = store.as_mut() else { return Ok(false) };
    if s.sync_server()?.is_none() {
        return Ok(false);
    }
    handle.set_progress(Some(SyncProgress::default()));
    let observer = handle.clone();
    let report = s.sync_now_observed(crate::clock::now(), SyncOptions::default(), move |r| {
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
