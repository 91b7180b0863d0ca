//! Limits on guessing: failed enrolment attempts (unknown, used or expired codes) per client
//! address and in all, and wrong admin PINs per person. Good codes are not counted, so IT can
//! enrol a shelf of tablets at once from one staging network. In memory — a restart forgives, which costs an attacker a server restart per
//! few dozen guesses of an 80-bit code.

use crate::error::{Error, Result};
use ptw_core::PersonId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed enrolment attempts one address may make per minute, and all addresses together.
pub const ENROL_PER_ADDRESS_PER_MINUTE: u32 = 10;
pub const ENROL_PER_MINUTE: u32 = 120;
/// Wrong admin PINs before the person waits [`ADMIN_LOCK_MS`].
pub const ADMIN_FREE_ATTEMPTS: u32 = 5;
pub const ADMIN_LOCK_MS: i64 = 5 * 60_000;

const MINUTE_MS: i64 = 60_000;

/// A count within a one-minute window.
#[derive(Clone, Copy, Default)]
struct Window {
    start_ms: i64,
    count: u32,
}

impl Window {
    fn current(&mut self, now_ms: i64) -> &mut Self {
        if now_ms - self.start_ms >= MINUTE_MS || now_ms < self.start_ms {
            *self = Window { start_ms: now_ms, count: 0 };
        }
        self
    }
}

#[derive(Default)]
struct State {
    by_address: HashMap<IpAddr, Window>,
    all: Window,
    admin_failures: HashMap<PersonId, (u32, i64)>,
}

#[derive(Default)]
pub struct Limits {
    state: Mutex<State>,
}

impl Limits {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `RateLimited` when `address`, or all addresses together, failed to enrol too often in
    /// the last minute; an attempt is judged only after this.
    pub fn enrolment(&self, address: Option<IpAddr>, now_ms: i64) -> Result<()> {
        let mut s = self.state();
        let per_address = match address {
            Some(a) => s.by_address.get_mut(&a).is_none_or(|w| w.current(now_ms).count < ENROL_PER_ADDRESS_PER_MINUTE),
            None => true,
        };
        let overall = s.all.current(now_ms).count < ENROL_PER_MINUTE;
        if per_address && overall {
            Ok(())
        } else {
            Err(Error::RateLimited)
        }
    }

    /// An enrolment attempt from `address` failed (a code unknown, used or expired).
    pub fn enrolment_failed(&self, address: Option<IpAddr>, now_ms: i64) {
        let mut s = self.state();
        if s.by_address.len() > 10_000 {
            s.by_address.retain(|_, w| now_ms - w.start_ms < MINUTE_MS);
        }
        if let Some(a) = address {
            s.by_address.entry(a).or_default().current(now_ms).count += 1;
        }
        s.all.current(now_ms).count += 1;
    }

    /// Whether `person` must wait before another admin attempt.
    pub fn admin_locked(&self, person: PersonId, now_ms: i64) -> bool {
        self.state().admin_failures.get(&person).is_some_and(|(_, until)| now_ms < *until)
    }

    /// A wrong admin PIN by `person`.
    pub fn admin_failed(&self, person: PersonId, now_ms: i64) {
        let mut s = self.state();
        let entry = s.admin_failures.entry(person).or_insert((0, 0));
        entry.0 += 1;
        if entry.0 >= ADMIN_FREE_ATTEMPTS {
            entry.1 = now_ms + ADMIN_LOCK_MS;
        }
    }

    pub fn admin_succeeded(&self, person: PersonId) {
        self.state().admin_failures.remove(&person);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_guessing_codes_is_stopped_after_ten_a_minute_and_may_try_again_after_it() {
        let limits = Limits::default();
        let a: IpAddr = "10.0.0.5".parse().expect("ip");
        let b: IpAddr = "10.0.0.6".parse().expect("ip");
        for _ in 0..ENROL_PER_ADDRESS_PER_MINUTE {
            limits.enrolment(Some(a), 1_000).expect("within the limit");
            limits.enrolment_failed(Some(a), 1_000);
        }
        assert!(matches!(limits.enrolment(Some(a), 1_500), Err(Error::RateLimited)));
        limits.enrolment(Some(b), 1_500).expect("another address is not held up");
        limits.enrolment(Some(a), 61_000).expect("a minute later");
    }

    #[test]
    fn good_codes_are_not_counted() {
        let limits = Limits::default();
        let a: IpAddr = "10.0.0.5".parse().expect("ip");
        for _ in 0..(ENROL_PER_MINUTE * 2) {
            limits.enrolment(Some(a), 1_000).expect("attempts that succeed are never held up");
        }
    }

    #[test]
    fn many_addresses_together_are_held_to_the_overall_limit() {
        let limits = Limits::default();
        let mut refused = 0;
        for n in 0..(ENROL_PER_MINUTE + 5) {
            let ip = IpAddr::from([10, 1, (n / 250) as u8, (n % 250) as u8]);
            match limits.enrolment(Some(ip), 0) {
                Ok(()) => limits.enrolment_failed(Some(ip), 0),
                Err(_) => refused += 1,
            }
        }
        assert_eq!(refused, 5);
    }

    #[test]
    fn five_wrong_admin_pins_lock_the_person_for_five_minutes() {
        let limits = Limits::default();
        let p = PersonId(uuid::Uuid::from_u128(1));
        for _ in 0..ADMIN_FREE_ATTEMPTS {
            assert!(!limits.admin_locked(p, 0));
            limits.admin_failed(p, 0);
        }
        assert!(limits.admin_locked(p, ADMIN_LOCK_MS - 1));
        assert!(!limits.admin_locked(p, ADMIN_LOCK_MS));
        limits.admin_succeeded(p);
        assert!(!limits.admin_locked(p, 1));
    }
}
