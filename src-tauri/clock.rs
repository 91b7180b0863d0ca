//! The app's clock: the system's — or, in a debug build started with `OPENPTW_FAKE_CLOCK_FILE`,
//! what that file says, as the sync server's `--fake-clock-file` reads it (Unix ms, or an
//! offset such as `+1800000` from the system clock). The end-to-end tests move it, for app and
//! server alike, to let a fire watch or a pause run its time without sleeping. Release builds never read the variable: on a real tablet the monotonic clock that
//! trusted time rests on cannot be moved from outside.

use chrono::{DateTime, Utc};
use ptw_store::time::Monotonic;

/// The fake clock's file, in a debug build that was given one.
fn fake_clock_file() -> Option<std::path::PathBuf> {
    if cfg!(debug_assertions) {
        std::env::var_os("OPENPTW_FAKE_CLOCK_FILE").map(Into::into)
    } else {
        None
    }
}

/// Now.
pub fn now() -> DateTime<Utc> {
    let system = Utc::now();
    fake_clock_file()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| ptw_core::hlc::fake_clock_ms(&text, system.timestamp_millis()))
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or(system)
}

/// Where the store reads monotonic time: under the fake clock, the fake clock itself (it only
/// moves forward), else the system's.
pub fn monotonic() -> Monotonic {
    if fake_clock_file().is_some() {
        Monotonic::FollowWall
    } else {
        Monotonic::System
    }
}

/// Open the device's store on this clock.
pub fn open_store(db: &std::path::Path, name: &str) -> Result<ptw_store::Store, ptw_store::StoreError> {
    let options = ptw_store::StoreOptions { device_name: name.to_owned(), monotonic: monotonic() };
    ptw_store::Store::open_with(db, options, now())
}
