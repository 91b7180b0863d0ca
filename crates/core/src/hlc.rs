//! Hybrid logical clock timestamps.
//!
//! Devices' wall clocks drift and tablets are often offline, so events are ordered by an HLC:
//! the wall-clock milliseconds the device believed, plus a counter that keeps the order causal
//! when a clock runs behind a time already seen. Ties between devices are broken by event id,
//! which makes (HLC, event id) a total order every device agrees on.

use serde::{Deserialize, Serialize};

/// A hybrid logical clock reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as the device's clock (or a later HLC it had seen) said.
    pub ms: i64,
    /// Orders events within the same millisecond.
    pub counter: u32,
}

impl Hlc {
    pub const fn new(ms: i64, counter: u32) -> Self {
        Hlc { ms, counter }
    }

    /// The next timestamp for a local event, given the last one this device issued or saw and
    /// the wall clock now. Never goes backwards, even when the wall clock does.
    pub fn tick(last: Hlc, now_ms: i64) -> Hlc {
        if now_ms > last.ms {
            Hlc::new(now_ms, 0)
        } else {
            Hlc::new(last.ms, last.counter.saturating_add(1))
        }
    }

    /// Merge a timestamp seen on an incoming event into the local clock so that the next local
    /// event is ordered after it.
    pub fn observe(last: Hlc, seen: Hlc) -> Hlc {
        last.max(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_that_runs_backwards_still_moves_forward() {
        let t1 = Hlc::tick(Hlc::default(), 1_000);
        let t2 = Hlc::tick(t1, 900);
        assert!(t2 > t1);
        assert_eq!(t2, Hlc::new(1_000, 1));
        let t3 = Hlc::tick(t2, 1_001);
        assert_eq!(t3, Hlc::new(1_001, 0));
    }

    #[test]
    fn observing_a_later_remote_event_orders_local_events_after_it() {
        let local = Hlc::new(500, 3);
        let seen = Hlc::new(800, 1);
        let next = Hlc::tick(Hlc::observe(local, seen), 600);
        assert!(next > seen);
    }
}

/// The time a fake clock file says (tests only: the sync server's `--fake-clock-file`, the
/// debug app's `OPENPTW_FAKE_CLOCK_FILE`), given the system clock's `system_ms`: Unix ms
/// (`1796025600000`: the clock stands there), or an offset from the system clock (`+1800000`:
/// it runs, half an hour ahead). `None` for anything else.
pub fn fake_clock_ms(text: &str, system_ms: i64) -> Option<i64> {
    let text = text.trim();
    if text.starts_with(['+', '-']) {
        text.parse::<i64>().ok().map(|offset| system_ms.saturating_add(offset))
    } else {
        text.parse().ok()
    }
}

#[cfg(test)]
mod fake_clock_tests {
    #[test]
    fn a_fake_clock_file_holds_a_time_or_an_offset() {
        assert_eq!(super::fake_clock_ms("1796025600000\n", 5), Some(1_796_025_600_000));
        assert_eq!(super::fake_clock_ms("+1800000", 1_000), Some(1_801_000));
        assert_eq!(super::fake_clock_ms("-500", 1_000), Some(500));
        assert_eq!(super::fake_clock_ms("soon", 1_000), None);
    }
}
