//! Trusted time on the device (R-TIME): the time stamped on every event this device signs.
//!
//! A tablet's clock can be wrong by hours, or be set wrong on purpose. Every sync-server
//! response carries the server's clock; the device keeps it as an *anchor* — the server's time
//! and the device's monotonic clock at that moment — and from then on stamps events with the
//! anchor plus the monotonic time elapsed. The monotonic clock counts time since boot and does
//! not move when someone changes the tablet's clock, so the stamps stay right offline and
//! after such a change. A reboot starts a new monotonic clock: the anchor no longer applies,
//! and until the next sync the device stamps its own clock's time, marked unverified.
//!
//! Stamps never go backwards: an event is never dated before the last one this device signed
//! (the sync server refuses that, so a device restarted with a clock set back would otherwise
//! sign events it cannot deliver).

use ptw_core::{Stamp, TimeTrust};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// A reading of the device's monotonic clock: which boot it belongs to, and the milliseconds
/// since that boot began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonotonicReading {
    pub boot: String,
    pub ms: i64,
}

/// Where the store reads monotonic time.
#[derive(Clone, Debug, Default)]
pub enum Monotonic {
    /// The operating system's clock since boot (Linux: `CLOCK_BOOTTIME` with the kernel's boot
    /// id, so an anchor survives restarting the app; elsewhere the app's own running time, so
    /// an anchor lasts until the app restarts).
    #[default]
    System,
    /// A clock a test moves by hand, and reboots.
    Manual(Arc<ManualMonotonic>),
    /// The wall-clock time each call is given, as if it were monotonic: for tests whose clock is
    /// right by construction.
    FollowWall,
}

impl Monotonic {
    /// The reading now; `wall_ms` is the wall clock the caller read at the same moment.
    pub fn read(&self, wall_ms: i64) -> MonotonicReading {
        match self {
            Monotonic::System => system_reading(),
            Monotonic::Manual(m) => m.reading(),
            Monotonic::FollowWall => MonotonicReading { boot: "wall".into(), ms: wall_ms },
        }
    }
}

/// A monotonic clock for tests: starts at 0 on boot "1", moves only when told.
#[derive(Debug, Default)]
pub struct ManualMonotonic {
    boot: Mutex<u64>,
    ms: AtomicI64,
}

impl ManualMonotonic {
    pub fn new() -> Arc<ManualMonotonic> {
        Arc::new(ManualMonotonic::default())
    }

    /// Let `ms` milliseconds pass.
    pub fn advance(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Restart the device: a new boot, its clock at 0.
    pub fn reboot(&self) {
        if let Ok(mut b) = self.boot.lock() {
            *b += 1;
        }
        self.ms.store(0, Ordering::SeqCst);
    }

    fn reading(&self) -> MonotonicReading {
        let boot = self.boot.lock().map(|b| *b).unwrap_or_default();
        MonotonicReading { boot: format!("manual-{boot}"), ms: self.ms.load(Ordering::SeqCst) }
    }
}

/// The server's clock at a moment of this device's monotonic clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub boot: String,
    pub mono_ms: i64,
    pub server_ms: i64,
}

impl Anchor {
    pub(crate) fn to_meta(&self) -> String {
        format!("{}|{}|{}", self.mono_ms, self.server_ms, self.boot)
    }

    pub(crate) fn from_meta(text: &str) -> Option<Anchor> {
        let mut parts = text.splitn(3, '|');
        let mono_ms = parts.next()?.parse().ok()?;
        let server_ms = parts.next()?.parse().ok()?;
        let boot = parts.next()?.to_owned();
        Some(Anchor { boot, mono_ms, server_ms })
    }
}

/// The stamp for an event signed now: from the anchor when it belongs to this boot, else the
/// wall clock, unverified; never before `floor_ms` (the last event this device signed).
pub(crate) fn stamp(anchor: Option<&Anchor>, reading: &MonotonicReading, wall_ms: i64, floor_ms: i64) -> Stamp {
    let (ms, trust) = match anchor.filter(|a| a.boot == reading.boot && reading.ms >= a.mono_ms) {
        Some(a) => (a.server_ms.saturating_add(reading.ms - a.mono_ms), TimeTrust::Server),
        None => (wall_ms, TimeTrust::Unverified),
    };
    if ms < floor_ms {
        // Only an unverified clock set back, or a verified one behind an earlier unverified
        // stamp, gets here: the event is dated at the floor, and says it could not be sure.
        Stamp { ms: floor_ms, trust: TimeTrust::Unverified }
    } else {
        Stamp { ms, trust }
    }
}

/// The anchor a server answer gives: the server's clock `server_ms`, read between the
/// device's monotonic readings `sent` (request sent) and `received` (answer received) — taken
/// as the middle of the two.
pub(crate) fn anchor_from(server_ms: i64, sent: &MonotonicReading, received: &MonotonicReading) -> Option<Anchor> {
    if sent.boot != received.boot || received.ms < sent.ms {
        return None;
    }
    Some(Anchor { boot: received.boot.clone(), mono_ms: sent.ms + (received.ms - sent.ms) / 2, server_ms })
}

#[cfg(target_os = "linux")]
fn system_reading() -> MonotonicReading {
    // The kernel's id of this boot, and CLOCK_BOOTTIME (time since boot, counting suspend) as
    // /proc/uptime shows it, to 10 ms.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_owned()).ok();
    let uptime_ms = std::fs::read_to_string("/proc/uptime").ok().and_then(|s| {
        let secs = s.split_whitespace().next()?;
        let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
        let frac_ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
        Some(whole.parse::<i64>().ok()? * 1000 + frac_ms)
    });
    match (boot, uptime_ms) {
        (Some(boot), Some(ms)) => MonotonicReading { boot, ms },
        _ => process_reading(),
    }
}

#[cfg(not(target_os = "linux"))]
fn system_reading() -> MonotonicReading {
    process_reading()
}

/// The app's own running time, with an id of this run: anchors last while the app runs.
fn process_reading() -> MonotonicReading {
    use std::sync::OnceLock;
    static START: OnceLock<(std::time::Instant, String)> = OnceLock::new();
    let (start, id) = START.get_or_init(|| {
        let mut bytes = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        (std::time::Instant::now(), format!("process-{}", hex::encode(bytes)))
    });
    MonotonicReading { boot: id.clone(), ms: i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(boot: &str, ms: i64) -> MonotonicReading {
        MonotonicReading { boot: boot.into(), ms }
    }

    #[test]
    fn a_tablet_an_hour_fast_stamps_the_servers_time_and_a_changed_clock_does_not_move_it() {
        const HOUR: i64 = 3_600_000;
        let server = 1_000 * HOUR;
        // At sync the tablet's wall clock said server + 1 h; its monotonic clock said 50 s.
        let anchor = anchor_from(server, &at("b", 49_000), &at("b", 51_000)).expect("anchor");
        // Ten minutes later, offline, someone set the clock another day ahead.
        let s = stamp(Some(&anchor), &at("b", 50_000 + 600_000), server + 25 * HOUR, 0);
        assert_eq!(s, Stamp { ms: server + 600_000, trust: TimeTrust::Server });
    }

    #[test]
    fn after_a_reboot_the_tablet_stamps_its_own_clock_unverified_and_never_goes_backwards() {
        let anchor = Anchor { boot: "b1".into(), mono_ms: 10, server_ms: 5_000 };
        assert_eq!(stamp(Some(&anchor), &at("b2", 20), 9_000, 0), Stamp { ms: 9_000, trust: TimeTrust::Unverified });
        assert_eq!(
            stamp(Some(&anchor), &at("b2", 20), 4_000, 6_000),
            Stamp { ms: 6_000, trust: TimeTrust::Unverified }
        );
        assert_eq!(stamp(None, &at("b1", 20), 4_000, 0).trust, TimeTrust::Unverified);
        assert!(anchor_from(1, &at("b1", 5), &at("b2", 6)).is_none(), "a reboot between request and answer");
    }

    #[test]
    fn an_anchor_survives_being_saved() {
        let a = Anchor { boot: "d5f|x".into(), mono_ms: -3, server_ms: 1_796_025_600_000 };
        assert_eq!(Anchor::from_meta(&a.to_meta()), Some(a));
        assert_eq!(Anchor::from_meta("garbage"), None);
    }

    #[test]
    fn the_system_clock_reads_a_boot_and_moves_forward() {
        let a = system_reading();
        let b = system_reading();
        assert_eq!(a.boot, b.boot);
        assert!(b.ms >= a.ms);
    }
}
