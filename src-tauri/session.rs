//! Who is signed in on this device, and for how long: a shared tablet signs its user out after
//! the plant's idle time (`PlantSettings::idle_sign_out_minutes`, 5 minutes by default), so a
//! tablet left on a railing does not keep signing as the last person who used it.

use ptw_core::PersonId;
use std::time::{Duration, Instant};

/// The signed-in person and when they last did anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub person: PersonId,
    last_active: Instant,
}

impl Session {
    pub fn start(person: PersonId, now: Instant) -> Session {
        Session { person, last_active: now }
    }

    /// The session at `now`, if it has not been idle longer than `idle`; touching it counts as
    /// activity.
    pub fn touch(&mut self, now: Instant, idle: Duration) -> Option<PersonId> {
        if now.saturating_duration_since(self.last_active) > idle {
            return None;
        }
        self.last_active = now;
        Some(self.person)
    }

    /// Whether the session is still live at `now`, without counting as activity.
    pub fn live(&self, now: Instant, idle: Duration) -> bool {
        now.saturating_duration_since(self.last_active) <= idle
    }
}

/// The plant's idle time as a duration (at least a minute).
pub fn idle_limit(minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes.max(1)) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_idle_for_longer_than_the_plant_allows_is_over_and_activity_keeps_it_alive() {
        let t = Instant::now();
        let idle = idle_limit(5);
        let mut s = Session::start(PersonId(uuid::Uuid::from_u128(1)), t);
        assert!(s.touch(t + Duration::from_secs(4 * 60), idle).is_some());
        assert!(s.touch(t + Duration::from_secs(8 * 60), idle).is_some(), "four minutes after the last touch");
        assert!(s.live(t + Duration::from_secs(13 * 60), idle));
        assert!(!s.live(t + Duration::from_secs(13 * 60 + 1), idle));
        assert_eq!(s.touch(t + Duration::from_secs(14 * 60), idle), None);
        assert_eq!(idle_limit(0), Duration::from_secs(60), "never zero");
    }
}
