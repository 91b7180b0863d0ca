//! Check-in and check-out on site (R-QR) told to the pure engine: a person scans their badge and
//! the work location's poster; the permit keeps the presence trail (who, when, which device,
//! which badge and location); a location that is not the permit's is flagged, not refused; the
//! guardian leaving while work runs suspends it until they are back; "checked in and never
//! checked out" after the permit closes raises an alert.

mod common;
use common::*;
use ptw_core::derive::Suspension;
use ptw_core::rules::Alert;
use ptw_core::*;

const GUARDIAN_BADGE: &str = "G-002";
const WELDER_BADGE: &str = "W-003";

/// The story plant, with badges for the guardian, the welder and the guardian of another permit.
fn plant() -> Plant {
    let mut p = Plant::new();
    for (person, badge) in [(p.guardian, GUARDIAN_BADGE), (p.welder, WELDER_BADGE), (p.other_guardian, "G-010")] {
        if let Some(x) = p.registry.people.iter_mut().find(|x| x.id == person) {
            x.profile.badge = badge.into();
        }
    }
    p
}

fn check_in(badge: &str, location: &str) -> EventKind {
    EventKind::CheckIn { badge: badge.into(), location: location.into() }
}

fn check_out(badge: &str, location: &str) -> EventKind {
    EventKind::CheckOut { badge: badge.into(), location: location.into() }
}

/// Submitted, approved, gas tested and started at T0 + 1 min, the guardian checked in at T0.
fn started(p: &Plant, form: &PermitForm) -> Vec<String> {
    let mut events = p.hot_work_story(form);
    events.truncate(4);
    events.push(p.event(form, p.guardian, T0, check_in(GUARDIAN_BADGE, "T-101")));
    events.push(p.event(form, p.guardian, T0 + MIN, EventKind::Start));
    events
}

fn applied(state: &PermitState) {
    let rejected: Vec<_> = state.rejected().collect();
    assert!(rejected.is_empty(), "{rejected:?}");
}

#[test]
fn the_trail_keeps_who_when_which_device_badge_and_location() {
    let p = plant();
    let form = p.hot_work_form();
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.welder, T0 + 2 * MIN, check_in(" w-003 ", "t-101")));
    events.push(p.event(&form, p.welder, T0 + 90 * MIN, check_out(WELDER_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 91 * MIN);
    applied(&state);
    assert_eq!(state.presence.len(), 2);
    let guardian = &state.presence[0];
    assert_eq!(guardian.person, p.guardian);
    assert_eq!((guardian.checked_in.at_ms, guardian.checked_in.device), (T0, p.device));
    assert!(guardian.checked_out.is_none() && state.on_site(p.guardian));
    let welder = &state.presence[1];
    assert_eq!(welder.checked_in.badge, "w-003", "the badge as scanned, matched without regard to case");
    assert!(welder.checked_in.location_matches, "the poster's code matches the permit's location, any case");
    assert_eq!(welder.checked_out.as_ref().map(|s| s.at_ms), Some(T0 + 90 * MIN));
    assert!(!state.on_site(p.welder));
    assert_eq!(state.status, Status::Active, "a worker leaving stops nothing");
    assert!(!state.alerts.iter().any(|a| matches!(a, Alert::WrongLocation { .. })));
}

#[test]
fn a_location_that_is_not_the_permit_s_is_flagged_on_the_permit_not_refused() {
    let p = plant();
    let form = p.hot_work_form();
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.welder, T0 + 2 * MIN, check_in(WELDER_BADGE, "PR-3")));
    let state = p.derive(&form, &events, T0 + 3 * MIN);
    applied(&state);
    assert!(!state.presence[1].checked_in.location_matches);
    // Out at the same wrong poster: flagged on the trail, one alert for the place.
    events.push(p.event(&form, p.welder, T0 + 3 * MIN, check_out(WELDER_BADGE, "PR-3")));
    let state = p.derive(&form, &events, T0 + 4 * MIN);
    applied(&state);
    assert!(state.presence[1].checked_out.as_ref().is_some_and(|s| !s.location_matches));
    assert_eq!(state.alerts.iter().filter(|a| matches!(a, Alert::WrongLocation { .. })).count(), 1);
    assert!(
        state.alerts.contains(&Alert::WrongLocation {
            person: p.welder,
            scanned: "PR-3".into(),
            expected: Some("T-101".into())
        }),
        "{:?}",
        state.alerts
    );
}

#[test]
fn someone_else_s_badge_a_stranger_a_second_check_in_and_a_check_out_without_one_are_refused() {
    let p = plant();
    let form = p.hot_work_form();
    let base = started(&p, &form);
    let cases = [
        (p.welder, check_in(GUARDIAN_BADGE, "T-101"), Violation::BadgeNotTheirs { badge: GUARDIAN_BADGE.into() }),
        (p.other_guardian, check_in("G-010", "T-101"), Violation::NotOnPermit),
        (p.guardian, check_in(GUARDIAN_BADGE, "T-101"), Violation::AlreadyCheckedIn { person: p.guardian }),
        (p.welder, check_out(WELDER_BADGE, "T-101"), Violation::NotCheckedIn { person: p.welder }),
        // A person with no badge in the register cannot check in by any text.
        (p.applicant, check_in("", "T-101"), Violation::BadgeNotTheirs { badge: String::new() }),
    ];
    for (actor, kind, expected) in cases {
        let mut events = base.clone();
        events.push(p.event(&form, actor, T0 + 5 * MIN, kind));
        let state = p.derive(&form, &events, T0 + 6 * MIN);
        assert_eq!(rejection(&state, events.len() - 1), Some(&expected));
    }
    // An empty location is refused too: a scan always names one.
    let mut events = base.clone();
    events.push(p.event(&form, p.welder, T0 + 5 * MIN, check_in(WELDER_BADGE, "  ")));
    let state = p.derive(&form, &events, T0 + 6 * MIN);
    assert!(rejection(&state, events.len() - 1).is_some());
}

#[test]
fn the_guardian_checking_out_during_work_suspends_it_until_the_guardian_is_back() {
    let p = plant();
    let form = p.hot_work_form();
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + 30 * MIN, check_out(GUARDIAN_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    applied(&state);
    assert_eq!(state.status, Status::Suspended);
    assert!(
        matches!(state.suspension, Some(Suspension::GuardianLeft { guardian, at_ms, .. }) if guardian == p.guardian && at_ms == T0 + 30 * MIN)
    );
    assert!(state.alerts.contains(&Alert::GuardianLeft { guardian: p.guardian, at_ms: T0 + 30 * MIN }));

    // Resuming with the guardian away is refused; back on site, it resumes.
    let mut away = events.clone();
    away.push(p.event(&form, p.guardian, T0 + 35 * MIN, EventKind::Resume));
    let state = p.derive(&form, &away, T0 + 36 * MIN);
    assert_eq!(rejection(&state, away.len() - 1), Some(&Violation::GuardianNotOnSite { guardian: p.guardian }));

    events.push(p.event(&form, p.guardian, T0 + 40 * MIN, check_in(GUARDIAN_BADGE, "T-101")));
    events.push(p.event(&form, p.guardian, T0 + 40 * MIN + 30_000, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 41 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 42 * MIN);
    applied(&state);
    assert_eq!(state.status, Status::Active);
    assert_eq!(state.presence.len(), 2, "two stays on site");
}

#[test]
fn a_type_whose_catalog_does_not_say_so_is_not_suspended_by_the_guardian_leaving() {
    let mut p = plant();
    for t in &mut p.registry.catalog.permit_types {
        t.presence = None;
    }
    let form = p.hot_work_form();
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + 30 * MIN, check_out(GUARDIAN_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    applied(&state);
    assert_eq!(state.status, Status::Active);
}

#[test]
fn after_a_handover_the_old_guardian_leaves_freely_and_the_new_one_checks_in() {
    let p = plant();
    let form = p.hot_work_form();
    let mut events = started(&p, &form);
    let handover = EventKind::Handover { to: p.other_guardian, plant_state: "正常".into(), open_items: "无".into() };
    events.push(p.event(&form, p.guardian, T0 + 60 * MIN, handover));
    // The incoming guardian may check in as soon as the watch is handed to them.
    events.push(p.event(&form, p.other_guardian, T0 + 61 * MIN, check_in("G-010", "T-101")));
    events.push(p.event(&form, p.other_guardian, T0 + 62 * MIN, EventKind::TakeOver));
    events.push(p.event(&form, p.guardian, T0 + 63 * MIN, check_out(GUARDIAN_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 64 * MIN);
    applied(&state);
    assert_eq!(state.guardian(), Some(p.other_guardian));
    assert_eq!(state.status, Status::Active, "the outgoing guardian is no longer the guardian");
}

#[test]
fn checked_in_and_never_checked_out_after_the_permit_closes_raises_an_alert_until_they_check_out() {
    let p = plant();
    let form = p.hot_work_form();
    let story = p.hot_work_story(&form);
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.welder, T0 + 2 * MIN, check_in(WELDER_BADGE, "T-101")));
    events.push(p.event(&form, p.guardian, T0 + 170 * MIN, check_out(GUARDIAN_BADGE, "T-101")));
    // The guardian left before completion: work was suspended; back, resumed, completed.
    events.push(p.event(&form, p.guardian, T0 + 171 * MIN, check_in(GUARDIAN_BADGE, "T-101")));
    events.push(p.event(&form, p.guardian, T0 + 171 * MIN + 30_000, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 172 * MIN, EventKind::Resume));
    events.extend(story[5..].iter().cloned());
    events.push(p.event(&form, p.guardian, T0 + 221 * MIN, check_out(GUARDIAN_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 230 * MIN);
    applied(&state);
    assert_eq!(state.status, Status::Closed);
    assert!(state.alerts.contains(&Alert::NotCheckedOut { people: vec![p.welder] }), "{:?}", state.alerts);

    // A late check-out, after the close, clears it.
    events.push(p.event(&form, p.welder, T0 + 240 * MIN, check_out(WELDER_BADGE, "T-101")));
    let state = p.derive(&form, &events, T0 + 241 * MIN);
    applied(&state);
    assert!(!state.alerts.iter().any(|a| matches!(a, Alert::NotCheckedOut { .. })));
}

#[test]
fn a_check_in_before_the_permit_is_issued_is_refused() {
    let p = plant();
    let form = p.hot_work_form();
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.guardian, T0 - 55 * MIN, check_in(GUARDIAN_BADGE, "T-101")),
    ];
    let state = p.derive(&form, &events, T0 - 54 * MIN);
    assert!(matches!(rejection(&state, 1), Some(Violation::NotAllowedInStatus { .. })), "{:?}", rejection(&state, 1));
}

#[test]
fn a_replayed_a_forged_and_a_backdated_scan_do_not_bend_the_trail() {
    let p = plant();
    let form = p.hot_work_form();
    let base = started(&p, &form);

    // The guardian's check-in replayed as it was counts once; replayed under a fresh id it is a
    // second check-in, refused.
    let mut replayed = base.clone();
    replayed.push(base[4].clone());
    let (copy, _) = p.event_struct(&form, p.guardian, T0 + 2 * MIN, check_in(GUARDIAN_BADGE, "T-101"));
    replayed.push(p.sign(&copy));
    let state = p.derive(&form, &replayed, T0 + 3 * MIN);
    assert_eq!(state.presence.len(), 1);
    assert!(state.rejected().any(|(_, v)| *v == Violation::AlreadyCheckedIn { person: p.guardian }));

    // The other tablet signs a check-out for the guardian but claims this tablet's identity:
    // the signature does not verify, the guardian stays on site and the work runs.
    let (forged, _) = p.event_struct(&form, p.guardian, T0 + 5 * MIN, check_out(GUARDIAN_BADGE, "T-101"));
    let mut lying = base.clone();
    lying.push(ptw_core::event::SignedEvent::sign(&forged, &p.other_key).to_stored());
    let state = p.derive(&form, &lying, T0 + 6 * MIN);
    assert!(state.rejected().any(|(_, v)| *v == Violation::BadSignature), "{:?}", state.rejected().collect::<Vec<_>>());
    assert!(state.on_site(p.guardian));
    assert_eq!(state.status, Status::Active);

    // A check-out dated before the check-in finds nobody checked in, and leaves it standing.
    let mut early = base.clone();
    early.push(p.event(&form, p.guardian, T0 - MIN, check_out(GUARDIAN_BADGE, "T-101")));
    let state = p.derive(&form, &early, T0 + 6 * MIN);
    assert!(state.rejected().any(|(_, v)| *v == Violation::NotCheckedIn { person: p.guardian }));
    assert!(state.on_site(p.guardian));
}
