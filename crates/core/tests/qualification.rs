//! The certificate gate (R-GATE) told to the pure engine: nobody works on, watches, tests for or
//! signs a permit without the certificate the catalog asks, valid at the event's time and, where
//! the catalog says so, beyond a margin (pressure-vessel welding: more than 30 days left).
//! Boundaries are exact: a certificate with exactly the margin left does not do.

mod common;
use common::*;
use ptw_core::form::{Field, FieldProblem, FieldValue};
use ptw_core::qualification::{
    self, CertificateProblem, Disqualification, QualificationRule, QualifiedParty, Standing, Unqualified, DAY_MS,
};
use ptw_core::*;

/// Submitted at T0 - 60 min, as in every story.
const SUBMIT: i64 = T0 - 60 * MIN;

/// A grade-1 hot-work form for welding on a pressure vessel.
fn pressure_vessel_form(p: &Plant) -> PermitForm {
    let mut form = p.hot_work_form();
    form.details.insert("pressure_vessel".into(), FieldValue::YesNo(true));
    form
}

/// The welder's special-equipment welding certificate, valid until `to`.
fn give_special_welding(p: &mut Plant, to: i64) {
    p.registry.certificates.push(certificate(399, 3, "special_equipment_welding", CERT_FROM, to));
}

fn submitted(p: &Plant, form: &PermitForm) -> PermitState {
    let events = vec![p.event(form, p.applicant, SUBMIT, Plant::submit(form))];
    p.derive(form, &events, SUBMIT + MIN)
}

/// The certificate problems the submit was refused with.
fn refused_for(state: &PermitState) -> Vec<Unqualified> {
    match rejection(state, 0) {
        Some(Violation::FormInvalid { errors }) => errors
            .iter()
            .filter_map(|e| match &e.problem {
                FieldProblem::Unqualified { unqualified } => Some(unqualified.clone()),
                _ => None,
            })
            .collect(),
        other => panic!("the submit was not refused for its form: {other:?}"),
    }
}

#[test]
fn pressure_vessel_welding_needs_more_than_thirty_days_left_to_the_millisecond() {
    let day_less = SUBMIT + 29 * DAY_MS;
    let exactly = SUBMIT + 30 * DAY_MS;
    let day_more = SUBMIT + 31 * DAY_MS;
    for (to, ok) in [(day_less, false), (exactly, false), (exactly + 1, true), (day_more, true)] {
        let mut p = Plant::new();
        give_special_welding(&mut p, to);
        let form = pressure_vessel_form(&p);
        let state = submitted(&p, &form);
        if ok {
            assert_eq!(state.status, Status::InApproval, "{to}: {:?}", state.rejected().collect::<Vec<_>>());
            continue;
        }
        assert_eq!(state.status, Status::Draft);
        let refused = refused_for(&state);
        assert_eq!(refused.len(), 1, "{refused:?}");
        let u = &refused[0];
        assert_eq!((u.person, u.party), (p.welder, QualifiedParty::Crew));
        match &u.why {
            Disqualification::Certificate { rule, any_of, margin_days, best: Some(seen), .. } => {
                assert_eq!(rule, "pressure_vessel_welder");
                assert_eq!(any_of, &vec!["special_equipment_welding".to_string()]);
                assert_eq!(*margin_days, 30);
                assert_eq!(seen.number, "T-000399", "the message names the certificate");
                assert_eq!(seen.problem, CertificateProblem::InsideMargin { valid_to_ms: to, margin_days: 30 });
            }
            other => panic!("{other:?}"),
        }
        // The form says the same while it is filled in, on the crew field.
        let errors = form.validate_at(&p.registry, SUBMIT);
        assert!(errors.iter().any(|e| e.field == Field::Crew), "{errors:?}");
    }
}

#[test]
fn welding_that_is_not_on_a_pressure_vessel_asks_no_margin_and_a_wrong_certificate_does_not_do() {
    // Ordinary hot work: the welding certificate suffices, to its last millisecond.
    let mut p = Plant::new();
    let form = p.hot_work_form();
    for c in p.registry.certificates.iter_mut().filter(|c| c.cert_type == "welding_thermal_cutting") {
        c.valid_to_ms = SUBMIT + 1;
    }
    assert_eq!(submitted(&p, &form).status, Status::InApproval);

    // Pressure-vessel welding with only the ordinary welding certificate: the wrong type.
    let p = Plant::new();
    let form = pressure_vessel_form(&p);
    let refused = refused_for(&submitted(&p, &form));
    assert!(
        matches!(&refused[..], [Unqualified { why: Disqualification::Certificate { rule, best: None, .. }, .. }] if rule == "pressure_vessel_welder"),
        "{refused:?}"
    );

    // A worker with a work-at-height certificate only is no welder.
    let mut p = Plant::new();
    p.registry.certificates.retain(|c| !(c.person == p.welder && c.cert_type == "welding_thermal_cutting"));
    let form = p.hot_work_form();
    let refused = refused_for(&submitted(&p, &form));
    assert!(
        matches!(&refused[..], [Unqualified { person, why: Disqualification::Certificate { rule, best: None, .. }, .. }] if *person == p.welder && rule == "welder_certified"),
        "{refused:?}"
    );
}

#[test]
fn an_expired_a_not_yet_valid_and_a_revoked_certificate_do_not_do() {
    type Alter = fn(&mut ptw_core::registry::Certificate);
    type Expect = fn(&CertificateProblem) -> bool;
    let cases: [(Alter, Expect); 3] = [
        (
            |c| c.valid_to_ms = SUBMIT,
            |p| matches!(p, CertificateProblem::Expired { valid_to_ms } if *valid_to_ms == SUBMIT),
        ),
        (|c| c.valid_from_ms = SUBMIT + 1, |p| matches!(p, CertificateProblem::NotYetValid { .. })),
        (|c| c.revoked_ms = Some(SUBMIT), |p| matches!(p, CertificateProblem::Revoked { .. })),
    ];
    for (alter, expected) in cases {
        let mut p = Plant::new();
        let welder = p.welder;
        for c in p
            .registry
            .certificates
            .iter_mut()
            .filter(|c| c.person == welder && c.cert_type == "welding_thermal_cutting")
        {
            alter(c);
        }
        let form = p.hot_work_form();
        let refused = refused_for(&submitted(&p, &form));
        match &refused[..] {
            [Unqualified { why: Disqualification::Certificate { best: Some(seen), .. }, .. }] => {
                assert!(expected(&seen.problem), "{seen:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_certificate_revoked_centrally_fails_later_events_never_earlier_ones() {
    let mut p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form);
    // Revoked between the approvals (T0 - 40 min) and the start (T0 + 1 min).
    let welder = p.welder;
    for c in
        p.registry.certificates.iter_mut().filter(|c| c.person == welder && c.cert_type == "welding_thermal_cutting")
    {
        c.revoked_ms = Some(T0 - 5 * MIN);
    }
    let state = p.derive(&form, &events, T0 + 300 * MIN);
    for i in 0..4 {
        assert_eq!(rejection(&state, i), None, "event {i} came before the revocation");
    }
    assert!(
        matches!(rejection(&state, 4), Some(Violation::Unqualified { unqualified }) if unqualified.person == p.welder),
        "{:?}",
        rejection(&state, 4)
    );
    assert_eq!(state.status, Status::Approved, "work never started");
}

#[test]
fn a_certificate_that_runs_out_between_approval_and_start_stops_the_start_and_the_resume() {
    let mut p = Plant::new();
    let form = p.hot_work_form();
    let welder = p.welder;
    // Valid through the approvals and the start, ending at T0 + 30 min.
    for c in
        p.registry.certificates.iter_mut().filter(|c| c.person == welder && c.cert_type == "welding_thermal_cutting")
    {
        c.valid_to_ms = T0 + 30 * MIN;
    }
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    events.push(p.event(&form, p.guardian, T0 + 20 * MIN, EventKind::Suspend { reason: "换焊条".into() }));
    events.push(p.event(&form, p.guardian, T0 + 25 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 40 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 41 * MIN);
    assert_eq!(rejection(&state, 4), None, "started with the certificate valid");
    assert!(
        matches!(rejection(&state, 7), Some(Violation::Unqualified { unqualified }) if matches!(&unqualified.why, Disqualification::Certificate { best: Some(seen), .. } if matches!(seen.problem, CertificateProblem::Expired { .. }))),
        "{:?}",
        rejection(&state, 7)
    );
    assert_eq!(state.status, Status::Suspended);
}

#[test]
fn a_retired_or_frozen_person_is_named_on_no_permit_and_a_retired_one_signs_nothing() {
    // Retired before the submit: on the crew, refused.
    let mut p = Plant::new();
    let welder = p.welder;
    if let Some(w) = p.registry.people.iter_mut().find(|x| x.id == welder) {
        w.retired_ms = Some(SUBMIT - DAY_MS);
    }
    let form = p.hot_work_form();
    let refused = refused_for(&submitted(&p, &form));
    assert!(
        matches!(&refused[..], [Unqualified { person, why: Disqualification::Retired { since_ms }, .. }] if *person == welder && *since_ms == SUBMIT - DAY_MS),
        "{refused:?}"
    );

    // Frozen: named as guardian, refused.
    let mut p = Plant::new();
    let guardian = p.guardian;
    if let Some(g) = p.registry.people.iter_mut().find(|x| x.id == guardian) {
        g.frozen_since_ms = Some(SUBMIT - MIN);
    }
    let form = p.hot_work_form();
    let refused = refused_for(&submitted(&p, &form));
    assert!(
        refused
            .iter()
            .any(|u| u.person == guardian && u.party == QualifiedParty::Guardian && u.why == Disqualification::Frozen),
        "{refused:?}"
    );

    // A director who retired after the submit cannot sign its approval.
    let mut p = Plant::new();
    let director = p.director;
    if let Some(d) = p.registry.people.iter_mut().find(|x| x.id == director) {
        d.retired_ms = Some(T0 - 55 * MIN);
    }
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form)[..2].to_vec();
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 0), None);
    assert_eq!(rejection(&state, 1), Some(&Violation::RetiredPerson { person: director }));
    // Before the retirement the same signature would have stood.
    if let Some(d) = p.registry.people.iter_mut().find(|x| x.id == director) {
        d.retired_ms = Some(T0 - 45 * MIN);
    }
    assert_eq!(rejection(&p.derive(&form, &events, T0), 1), None);
}

#[test]
fn a_change_cannot_add_a_worker_without_the_certificate_nor_keep_one_whose_certificate_ran_out() {
    let mut p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    // 王强 holds no welding certificate.
    let change = |who: PersonId| PermitChange {
        reason: ChangeReason::ScopeChange,
        explanation: "增加一名焊工".into(),
        planned_start: None,
        planned_end: None,
        add_precautions: vec![],
        crew_add: vec![who],
        crew_remove: vec![],
    };
    events.push(p.event(
        &form,
        p.applicant,
        T0 + 10 * MIN,
        EventKind::ChangeRequest { change: Box::new(change(p.manager2)) },
    ));
    // 钱勇 holds one, valid until T0 + 20 min: asked at + 11, still valid; signed at + 30, not.
    let (ask, stored) = p.event_struct(
        &form,
        p.applicant,
        T0 + 11 * MIN,
        EventKind::ChangeRequest { change: Box::new(change(p.other_guardian)) },
    );
    events.push(stored);
    events.push(p.event(
        &form,
        p.director,
        T0 + 30 * MIN,
        EventKind::ApproveChange { change: ask.hash(), step: "workshop_review".into(), comment: "同意".into() },
    ));
    let other = p.other_guardian;
    for c in p.registry.certificates.iter_mut().filter(|c| c.person == other) {
        c.valid_to_ms = T0 + 20 * MIN;
    }
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    assert!(
        matches!(rejection(&state, 5), Some(Violation::FormInvalid { errors }) if errors.iter().any(|e| matches!(&e.problem, FieldProblem::Unqualified { unqualified } if unqualified.person == p.manager2))),
        "{:?}",
        rejection(&state, 5)
    );
    assert_eq!(rejection(&state, 6), None);
    assert!(
        matches!(rejection(&state, 7), Some(Violation::Unqualified { unqualified }) if unqualified.person == other),
        "{:?}",
        rejection(&state, 7)
    );
    assert!(!state.form.crew.contains(&other), "the crew is as it was");
}

#[test]
fn a_plant_rule_for_gas_testers_and_guardians_gates_the_gas_test_and_the_handover() {
    let mut p = Plant::new();
    p.registry.certificates.push(certificate(398, 2, "confined_space", CERT_FROM, CERT_TO));
    let rule = QualificationRule {
        code: "gas_tester_trained".into(),
        parties: vec![QualifiedParty::GasTester, QualifiedParty::Guardian],
        any_of: vec!["confined_space".into()],
        margin_days: 0,
        subtypes: vec![],
        when_yes: None,
        source: "plant rule".into(),
    };
    p.registry.catalog.permit_types[0].qualifications.push(rule);
    let other = p.other_guardian;
    if let Some(o) = p.registry.people.iter_mut().find(|x| x.id == other) {
        o.roles.push(Role::new("gas_tester"));
    }
    assert!(p.registry.catalog.problems().is_empty(), "{:?}", p.registry.catalog.problems());
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    // 钱勇 holds no such certificate: he may not test, nor be handed the permit.
    events.push(p.event(&form, p.other_guardian, T0 + 5 * MIN, Plant::good_gas()));
    events.push(p.event(
        &form,
        p.guardian,
        T0 + 6 * MIN,
        EventKind::Handover { to: p.other_guardian, plant_state: "正常".into(), open_items: String::new() },
    ));
    let state = p.derive(&form, &events, T0 + 7 * MIN);
    assert_eq!(rejection(&state, 3), None, "李娜 holds it");
    for i in [5, 6] {
        assert!(
            matches!(rejection(&state, i), Some(Violation::Unqualified { unqualified }) if unqualified.person == p.other_guardian),
            "{i}: {:?}",
            rejection(&state, i)
        );
    }
}

#[test]
fn a_catalog_rule_naming_an_unknown_certificate_type_sub_type_or_field_is_refused() {
    let mut catalog = Catalog::gb30871().expect("catalog");
    assert!(catalog.problems().is_empty(), "{:?}", catalog.problems());
    let hot = &mut catalog.permit_types[0];
    hot.qualifications[0].any_of.push("pilot_licence".into());
    hot.qualifications[1].when_yes = Some("medium_lel_pct".into());
    hot.qualifications.push(QualificationRule { subtypes: vec!["underwater".into()], ..hot.qualifications[0].clone() });
    catalog.certificate_types.push(catalog.certificate_types[0].clone());
    let problems = catalog.problems().join("\n");
    for expected in [
        "unknown certificate type pilot_licence",
        "medium_lel_pct, which is not a yes/no field",
        "unknown sub-type underwater",
        "welder_certified is defined twice",
        "certificate type work_at_height is defined twice",
    ] {
        assert!(problems.contains(expected), "{expected}: {problems}");
    }
}

#[test]
fn expiry_warnings_follow_each_type_s_threshold_and_a_renewed_certificate_silences_them() {
    let mut p = Plant::new();
    let now = T0;
    p.registry.certificates.clear();
    // Welding warns 60 days ahead, work at height 45, electrician 30.
    p.registry.certificates.push(certificate(1, 3, "welding_thermal_cutting", CERT_FROM, now + 60 * DAY_MS));
    p.registry.certificates.push(certificate(2, 3, "work_at_height", CERT_FROM, now + 46 * DAY_MS));
    p.registry.certificates.push(certificate(3, 3, "electrician", CERT_FROM, now + 30 * DAY_MS));
    p.registry.certificates.push(certificate(4, 10, "welding_thermal_cutting", CERT_FROM, now - DAY_MS));
    p.registry.certificates.push(certificate(5, 9, "electrician", CERT_FROM, now + 10 * DAY_MS));
    // 赵磊's electrician certificate is renewed already.
    p.registry.certificates.push(certificate(6, 9, "electrician", now, now + 900 * DAY_MS));
    let warnings = qualification::expiry_warnings(&p.registry, None, now);
    let seen: Vec<(String, Standing, i64)> =
        warnings.iter().map(|w| (w.number.clone(), w.standing, w.days_left)).collect();
    assert_eq!(
        seen,
        vec![
            ("T-000004".into(), Standing::Expired, -1),
            ("T-000003".into(), Standing::Expiring, 30),
            ("T-000001".into(), Standing::Expiring, 60),
        ]
    );
    let mine = qualification::expiry_warnings(&p.registry, Some(p.other_guardian), now);
    assert_eq!(mine.len(), 1);
}
