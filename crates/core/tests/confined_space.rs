//! Stories of a confined-space entry (受限空间作业), told to the pure engine: the entrant
//! roster the guardian keeps (GB 30871: people and tools logged in and out, counted out at the
//! end).

mod common;
use common::*;
use ptw_core::event::Entrant;
use ptw_core::form::FieldProblem;
use ptw_core::offers::{self, ActionKind};
use ptw_core::rules::Alert;
use ptw_core::*;

/// A confined-space permit, approved, tested and started at T0 + 1 min; 孙焊工 and 张伟's
/// guardian 李娜 on it (孙焊工 the only worker).
fn started(p: &Plant, form: &PermitForm) -> Vec<String> {
    let mut events = p.approved_confined_space(form);
    events.push(p.event(form, p.guardian, T0 - 10 * MIN, Plant::good_gas()));
    events.push(p.event(form, p.guardian, T0 + MIN, EventKind::Start));
    events
}

fn entry(entrant: Entrant, inside: bool) -> EventKind {
    EventKind::Entry { entrant, inside }
}

fn tool(name: &str) -> Entrant {
    Entrant::Tool(name.into())
}

#[test]
fn the_work_cannot_be_completed_or_cancelled_while_anyone_or_anything_is_inside() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let welder = Entrant::Person(p.welder);
    let mut events = started(&p, &form);
    let base = events.len();
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, entry(welder.clone(), true)));
    events.push(p.event(&form, p.guardian, T0 + 3 * MIN, entry(tool("防爆照明灯"), true)));
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, entry(tool("防爆照明灯"), true)));
    let state = p.derive(&form, &events, T0 + 5 * MIN);
    assert_eq!(state.inside, vec![welder.clone(), tool("防爆照明灯"), tool("防爆照明灯")], "two lamps of one name");

    events.push(p.event(&form, p.applicant, T0 + 60 * MIN, EventKind::Complete));
    events.push(p.event(&form, p.director, T0 + 61 * MIN, EventKind::Cancel { reason: "取消".into() }));
    let state = p.derive(&form, &events, T0 + 62 * MIN);
    let inside = Violation::EntrantsInside {
        people: vec![p.welder],
        tools: vec!["防爆照明灯".into(), "防爆照明灯".into()],
    };
    assert_eq!(rejection(&state, base + 3), Some(&inside));
    assert_eq!(rejection(&state, base + 4), Some(&inside), "a cancel does not leave anyone behind either");
    assert_eq!(state.status, Status::Active);

    // Counted out — one lamp named with stray spaces is the same lamp — then completed.
    events.push(p.event(&form, p.guardian, T0 + 63 * MIN, entry(welder, false)));
    events.push(p.event(&form, p.guardian, T0 + 64 * MIN, entry(tool(" 防爆照明灯 "), false)));
    events.push(p.event(&form, p.guardian, T0 + 65 * MIN, entry(tool("防爆照明灯"), false)));
    events.push(p.event(&form, p.applicant, T0 + 66 * MIN, EventKind::Complete));
    let state = p.derive(&form, &events, T0 + 67 * MIN);
    assert!(state.inside.is_empty());
    assert_eq!(state.status, Status::Completed, "{:?}", state.rejected().collect::<Vec<_>>());
}

#[test]
fn only_the_guardian_logs_only_the_crew_goes_in_and_only_who_is_inside_comes_out() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = started(&p, &form);
    let base = events.len();
    let welder = Entrant::Person(p.welder);
    events.push(p.event(&form, p.applicant, T0 + 2 * MIN, entry(welder.clone(), true)));
    events.push(p.event(&form, p.guardian, T0 + 3 * MIN, entry(Entrant::Person(p.director), true)));
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, entry(welder.clone(), false)));
    events.push(p.event(&form, p.guardian, T0 + 5 * MIN, entry(welder.clone(), true)));
    events.push(p.event(&form, p.guardian, T0 + 6 * MIN, entry(welder.clone(), true)));
    events.push(p.event(&form, p.guardian, T0 + 7 * MIN, entry(tool("  "), true)));
    let state = p.derive(&form, &events, T0 + 8 * MIN);
    assert!(matches!(rejection(&state, base), Some(Violation::NotPermitActor { action, .. }) if action == "entry"));
    assert_eq!(rejection(&state, base + 1), Some(&Violation::EntrantNotCrew { person: p.director }));
    assert_eq!(rejection(&state, base + 2), Some(&Violation::NotInside { entrant: welder.clone() }));
    assert_eq!(rejection(&state, base + 3), None);
    assert_eq!(rejection(&state, base + 4), Some(&Violation::AlreadyInside { person: p.welder }));
    assert_eq!(rejection(&state, base + 5), Some(&Violation::EmptyText));
    assert_eq!(state.inside, vec![welder.clone()]);

    // The offers agree: the guardian logs, the applicant does not.
    let guardian = p.registry.person(p.guardian).expect("guardian");
    let applicant = p.registry.person(p.applicant).expect("applicant");
    assert!(offers::may(&state, &form, &p.registry, guardian, ActionKind::Entry).is_ok());
    assert!(offers::may(&state, &form, &p.registry, applicant, ActionKind::Entry).is_err());
    // Hot work keeps no roster.
    let hot = p.hot_work_form();
    let hot_state = p.derive(&hot, &p.hot_work_story(&hot)[..5], T0 + 2 * MIN);
    assert_eq!(
        offers::may(&hot_state, &hot, &p.registry, guardian, ActionKind::Entry),
        Err(Violation::NoEntrantRoster)
    );
}

#[test]
fn a_suspension_lets_people_out_but_nobody_in_and_says_who_is_still_inside() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = started(&p, &form);
    let base = events.len();
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, entry(Entrant::Person(p.welder), true)));
    events.push(p.event(&form, p.guardian, T0 + 3 * MIN, entry(tool("通风机"), true)));
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, EventKind::Suspend { reason: "通风机故障".into() }));
    let state = p.derive(&form, &events, T0 + 5 * MIN);
    assert!(state.alerts.contains(&Alert::InsideWhileSuspended { people: 1, tools: 1 }), "{:?}", state.alerts);
    events.push(p.event(&form, p.guardian, T0 + 6 * MIN, entry(tool("安全绳"), true)));
    events.push(p.event(&form, p.guardian, T0 + 7 * MIN, entry(Entrant::Person(p.welder), false)));
    let state = p.derive(&form, &events, T0 + 8 * MIN);
    assert!(matches!(rejection(&state, base + 3), Some(Violation::NotAllowedInStatus { .. })));
    assert_eq!(rejection(&state, base + 4), None, "out while suspended");
    assert_eq!(state.inside, vec![tool("通风机")]);
    assert!(state.alerts.contains(&Alert::InsideWhileSuspended { people: 0, tools: 1 }));
}

/// A large space (a column, a tank) is sampled at the top, the middle and the bottom: work
/// starts only when the latest test at every point passes and is young enough (DOMAIN.md).
#[test]
fn a_large_space_starts_only_when_every_sample_point_has_a_young_passing_test() {
    let p = Plant::new();
    let mut form = p.form("confined_space", "standard", 6 * 60);
    form.details.insert("large_space".into(), FieldValue::YesNo(true));
    let at_point = |point: &str, o2: f64| EventKind::GasTest {
        reading: GasReading {
            o2_pct: Some(o2),
            lel_pct: Some(0.0),
            h2s_ppm: Some(0.0),
            co_ppm: Some(0.0),
            instrument: "MX4 #A1234".into(),
            point: point.into(),
        },
    };
    let mut events = started(&p, &form)[..4].to_vec(); // approved, no test yet
    events.push(p.event(&form, p.guardian, T0 - 20 * MIN, at_point("upper", 20.9)));
    events.push(p.event(&form, p.guardian, T0 - 15 * MIN, at_point("middle", 20.9)));
    // Only two of three points: refused, naming the one missing.
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, at_point("lower", 19.0)));
    // The bottom is short of oxygen: refused.
    events.push(p.event(&form, p.guardian, T0 + 3 * MIN, EventKind::Start));
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, at_point("lower", 20.8)));
    // At T0 + 11 min the upper test is 31 min old: refused; re-tested, work starts.
    events.push(p.event(&form, p.guardian, T0 + 11 * MIN, EventKind::Start));
    events.push(p.event(&form, p.guardian, T0 + 12 * MIN, at_point("upper", 20.9)));
    events.push(p.event(&form, p.guardian, T0 + 13 * MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 14 * MIN);
    assert_eq!(rejection(&state, 6), Some(&Violation::GasTestMissingAt { point: "lower".into() }));
    assert!(matches!(rejection(&state, 8), Some(Violation::GasTestFailed { .. })));
    assert_eq!(rejection(&state, 10), Some(&Violation::GasTestTooOld { age_minutes: 31, max_minutes: 30 }));
    assert_eq!(rejection(&state, 12), None);
    assert_eq!(state.status, Status::Active);

    // A small space needs one test, wherever it was taken.
    let small = p.form("confined_space", "standard", 6 * 60);
    let state = p.derive(&small, &started(&p, &small), T0 + 2 * MIN);
    assert_eq!(state.status, Status::Active);
}

/// A change that takes a worker off the crew while he is still inside the space is refused,
/// naming him: he comes out first.
#[test]
fn nobody_comes_off_the_crew_by_a_change_while_inside() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = started(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, entry(Entrant::Person(p.welder), true)));
    let off = |at: i64| {
        p.event(
            &form,
            p.applicant,
            at,
            EventKind::ChangeRequest {
                change: Box::new(PermitChange {
                    reason: ChangeReason::ScopeChange,
                    explanation: "孙焊工调离".into(),
                    planned_start: None,
                    planned_end: None,
                    add_precautions: vec![],
                    crew_add: vec![],
                    crew_remove: vec![p.welder],
                }),
            },
        )
    };
    events.push(off(T0 + 3 * MIN));
    events.push(p.event(&form, p.guardian, T0 + 4 * MIN, entry(Entrant::Person(p.welder), false)));
    events.push(off(T0 + 5 * MIN));
    let state = p.derive(&form, &events, T0 + 6 * MIN);
    assert_eq!(rejection(&state, 7), Some(&Violation::EntrantsInside { people: vec![p.welder], tools: vec![] }));
    assert_eq!(rejection(&state, 9), None, "out first, then off the crew");
    assert!(state.pending_change().is_some());
}

#[test]
fn gases_in_a_confined_space_are_tested_oxygen_first_then_flammables_then_toxics() {
    use ptw_core::catalog::GasGroup::*;
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let reading = |o2: Option<f64>, lel: Option<f64>, h2s: Option<f64>, co: Option<f64>| EventKind::GasTest {
        reading: GasReading {
            o2_pct: o2,
            lel_pct: lel,
            h2s_ppm: h2s,
            co_ppm: co,
            instrument: "MSA Altair 4XR #A123".into(),
            point: "人孔处".into(),
        },
    };
    let cases = [
        // A flammables reading with no oxygen reading before it: the sensor may read low.
        (reading(None, Some(0.0), None, None), Some((Oxygen, Flammables))),
        // Toxics without the flammables before them.
        (reading(Some(20.9), None, Some(0.0), None), Some((Flammables, Toxics))),
        (reading(None, None, None, Some(2.0)), Some((Oxygen, Toxics))),
        // Oxygen alone, oxygen then flammables, or all three, in order: taken.
        (reading(Some(20.9), None, None, None), None),
        (reading(Some(20.9), Some(0.0), None, None), None),
        (reading(Some(20.9), Some(0.0), None, Some(2.0)), None),
    ];
    for (i, (kind, refused)) in cases.into_iter().enumerate() {
        let mut events = p.approved_confined_space(&form);
        events.push(p.event(&form, p.guardian, T0 - 10 * MIN, kind));
        let state = p.derive(&form, &events, T0);
        let expected = refused.map(|(missing, measured)| Violation::GasTestOrder { missing, measured });
        assert_eq!(rejection(&state, events.len() - 1), expected.as_ref(), "case {i}");
        assert_eq!(state.gas_tests.len(), usize::from(expected.is_none()), "case {i}: a refused test is not stored");
    }
    // Hot work has no such order: a flammables reading alone is a test.
    let hot = p.hot_work_form();
    let mut events = p.hot_work_story(&hot)[..3].to_vec();
    events.push(p.event(&hot, p.guardian, T0 - 10 * MIN, reading(None, Some(0.0), None, None)));
    assert_eq!(p.derive(&hot, &events, T0).gas_tests.len(), 1);
}

#[test]
fn a_confined_space_guardian_needs_the_plants_sign_off_of_their_experience_not_only_a_certificate() {
    let mut p = Plant::new();
    let rule = p
        .registry
        .catalog
        .permit_type("confined_space")
        .and_then(|t| t.qualifications.iter().find(|q| q.code == "guardian_experienced"))
        .cloned()
        .expect("the rule");
    assert_eq!(rule.any_of, vec!["confined_space_guardian".to_owned()]);
    assert!(rule.source.contains("experience"), "the rule carries its source");
    let form = p.form("confined_space", "standard", 6 * 60);
    // 李娜 holds the sign-off: the permit is filed and approved.
    let events = p.approved_confined_space(&form);
    let state = p.derive(&form, &events, T0);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    // Without it — a certificate alone — she may not be the guardian: submit is refused.
    let guardian = p.guardian;
    p.registry.certificates.retain(|c| !(c.person == guardian && c.cert_type == "confined_space_guardian"));
    let state = p.derive(&form, &events[..1], T0);
    let refused = matches!(
        rejection(&state, 0),
        Some(Violation::FormInvalid { errors }) if errors.iter().any(|e| matches!(
            &e.problem,
            FieldProblem::Unqualified { unqualified } if unqualified.person == guardian
        ))
    );
    assert!(refused, "{:?}", rejection(&state, 0));
    assert_eq!(state.status, Status::Draft);
}
