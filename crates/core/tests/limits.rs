//! Every gas limit and every validity cap of the shipped catalog at its boundary, told to the
//! pure engine (DOMAIN.md: confined space O₂ 19.5–21 %, flammables < 10 % LEL, H₂S and CO
//! within GBZ 2.1; hot work O₂ to 23.5 %; validity: special and grade-1 hot work 8 h, grade 2
//! 72 h, confined space 24 h, work at height 7 days, temporary electrical 15 days, …); the re-test
//! every 2 h of a confined space; a permit whose window is over can be neither submitted nor
//! approved.

mod common;
use common::*;
use ptw_core::catalog::GasLimits;
use ptw_core::form::FieldProblem;
use ptw_core::rules::Alert;
use ptw_core::*;

fn reading(o2: f64, lel: f64, h2s: f64, co: f64) -> GasReading {
    GasReading {
        o2_pct: Some(o2),
        lel_pct: Some(lel),
        h2s_ppm: Some(h2s),
        co_ppm: Some(co),
        instrument: "MSA Altair 4XR #A123".into(),
        point: "人孔".into(),
    }
}

fn limits(p: &Plant, permit_type: &str, grade: &str) -> GasLimits {
    let t = p.registry.catalog.permit_type(permit_type).expect("type");
    t.grade(grade).and_then(|g| g.gas_test.clone()).expect("a gas test").limits
}

/// Which gases fail `r` against `l`, by code.
fn failing(r: &GasReading, l: &GasLimits) -> Vec<String> {
    r.exceedances(l).into_iter().map(|e| e.gas).collect()
}

#[test]
fn confined_space_gas_limits_pass_at_their_boundary_and_fail_just_past_it() {
    let p = Plant::new();
    let l = limits(&p, "confined_space", "standard");
    let ok: Vec<String> = Vec::new();
    // O₂ 19.5–21 % vol, both ends inside.
    assert_eq!(failing(&reading(19.5, 0.0, 0.0, 0.0), &l), ok);
    assert_eq!(failing(&reading(19.49, 0.0, 0.0, 0.0), &l), ["o2_low"]);
    assert_eq!(failing(&reading(21.0, 0.0, 0.0, 0.0), &l), ok);
    assert_eq!(failing(&reading(21.01, 0.0, 0.0, 0.0), &l), ["o2_high"]);
    // Flammables below 10 % LEL: 10 itself fails (OSHA 1910.146: hazardous above 10 % LFL).
    assert_eq!(failing(&reading(20.9, 9.99, 0.0, 0.0), &l), ok);
    assert_eq!(failing(&reading(20.9, 10.0, 0.0, 0.0), &l), ["lel"]);
    // Toxics at their exposure limits pass, above them fail.
    assert_eq!(failing(&reading(20.9, 0.0, 10.0, 24.0), &l), ok);
    assert_eq!(failing(&reading(20.9, 0.0, 10.01, 0.0), &l), ["h2s"]);
    assert_eq!(failing(&reading(20.9, 0.0, 0.0, 24.01), &l), ["co"]);
}

#[test]
fn hot_work_gas_limits_pass_at_their_boundary_and_fail_just_past_it() {
    let p = Plant::new();
    for grade in ["special", "grade_1", "grade_2"] {
        let l = limits(&p, "hot_work", grade);
        let ok: Vec<String> = Vec::new();
        assert_eq!(failing(&reading(23.5, 0.0, 0.0, 0.0), &l), ok, "{grade}: oxygen-enriched to 23.5 %");
        assert_eq!(failing(&reading(23.51, 0.0, 0.0, 0.0), &l), ["o2_high"], "{grade}");
        assert_eq!(failing(&reading(19.5, 0.0, 0.0, 0.0), &l), ok, "{grade}");
        assert_eq!(failing(&reading(19.49, 0.0, 0.0, 0.0), &l), ["o2_low"], "{grade}");
        assert_eq!(failing(&reading(20.9, 10.0, 0.0, 0.0), &l), ok, "{grade}: at most 10 % LEL");
        assert_eq!(failing(&reading(20.9, 10.01, 0.0, 0.0), &l), ["lel"], "{grade}");
        assert_eq!(failing(&reading(20.9, 0.0, 10.01, 24.01), &l), ["h2s", "co"], "{grade}");
    }
}

#[test]
fn a_confined_space_reading_at_ten_percent_lel_is_a_failed_test_and_work_does_not_start_on_it() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let approved = p.approved_confined_space(&form);
    let story = |lel: f64| {
        let mut events = approved.clone();
        events.push(p.event(
            &form,
            p.guardian,
            T0 - 10 * MIN,
            EventKind::GasTest { reading: reading(20.9, lel, 0.0, 0.0) },
        ));
        events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
        p.derive(&form, &events, T0 + 2 * MIN)
    };
    let at_limit = story(10.0);
    assert!(!at_limit.gas_tests[0].passed());
    assert!(rejection(&at_limit, 5).is_some(), "no start on a failed test");
    assert_eq!(at_limit.status, Status::Approved);
    let below = story(9.99);
    assert!(below.gas_tests[0].passed());
    assert_eq!(rejection(&below, 5), None);
    assert_eq!(below.status, Status::Active);
}

#[test]
fn every_validity_cap_holds_to_the_millisecond_for_every_type_and_grade() {
    let p = Plant::new();
    let expected = [
        ("hot_work", "special", 8 * 60),
        ("hot_work", "grade_1", 8 * 60),
        ("hot_work", "grade_2", 72 * 60),
        ("confined_space", "standard", 24 * 60),
        ("work_at_height", "grade_i", 7 * 24 * 60),
        ("work_at_height", "grade_iv", 7 * 24 * 60),
        ("temporary_electrical", "standard", 15 * 24 * 60),
        ("lifting", "grade_1", 24 * 60),
        ("line_blinding", "standard", 24 * 60),
        ("excavation", "standard", 72 * 60),
        ("road_closure", "standard", 72 * 60),
    ];
    for (t, g, minutes) in expected {
        let grade = p.registry.catalog.permit_type(t).and_then(|x| x.grade(g)).expect("grade");
        assert_eq!(grade.max_validity_minutes, minutes, "{t}/{g}: the cap the catalog ships");
    }
    let too_long = |f: &PermitForm| {
        f.validate(&p.registry).into_iter().any(|e| matches!(e.problem, FieldProblem::ValidityTooLong { .. }))
    };
    for t in &p.registry.catalog.permit_types {
        for g in &t.grades {
            let mut form = p.form(&t.code, &g.code, g.max_validity_minutes);
            assert!(!too_long(&form), "{}/{}: exactly the cap is within it", t.code, g.code);
            form.planned_end = form.planned_end.map(|e| e + chrono::Duration::milliseconds(1));
            assert!(too_long(&form), "{}/{}: a millisecond over the cap is over it", t.code, g.code);
        }
    }
}

#[test]
fn a_permit_whose_window_is_over_can_be_neither_submitted_nor_approved() {
    let p = Plant::new();
    let form = p.hot_work_form(); // T0 to T0 + 4 h
    let end = T0 + 4 * 60 * MIN;
    let late_submit = p.event(&form, p.applicant, end, Plant::submit(&form));
    let state = p.derive(&form, &[late_submit], end + MIN);
    assert_eq!(rejection(&state, 0), Some(&Violation::AfterPlannedEnd));
    assert_eq!(state.status, Status::Draft);
    // Submitted in time, approved a millisecond before the end, and not at it.
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, end - 1, Plant::approve("workshop_review")),
        p.event(&form, p.safety, end, Plant::approve("safety_approval")),
    ];
    let state = p.derive(&form, &events, end + MIN);
    assert_eq!(rejection(&state, 1), None);
    assert_eq!(rejection(&state, 2), Some(&Violation::AfterPlannedEnd));
    assert_eq!(state.status, Status::InApproval);
}

#[test]
fn a_confined_space_at_work_is_re_tested_at_least_every_two_hours() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = p.approved_confined_space(&form);
    events.push(p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let due =
        |state: &PermitState| state.alerts.iter().any(|a| matches!(a, Alert::GasRetestDue { max_minutes: 120, .. }));
    let last = T0 - 10 * MIN;
    assert!(!due(&p.derive(&form, &events, last + 120 * MIN)), "two hours on the dot: not yet due");
    assert!(due(&p.derive(&form, &events, last + 120 * MIN + 1)), "a millisecond past: due");
    // A passing re-test restarts the two hours.
    let mut retested = events.clone();
    retested.push(p.event(&form, p.guardian, last + 110 * MIN, Plant::good_gas()));
    assert!(!due(&p.derive(&form, &retested, last + 200 * MIN)));
    assert!(due(&p.derive(&form, &retested, last + 230 * MIN + 1)));
    // Hot work of grade 1 has no interval of its own: no such alert however long it runs.
    let hot = p.hot_work_form();
    let hot_events = p.hot_work_story(&hot)[..5].to_vec();
    assert!(!due(&p.derive(&hot, &hot_events, T0 + 230 * MIN)));
}
