//! Stories of the operations besides hot work and confined space — work at height, lifting,
//! temporary electrical, line blinding, excavation, road closure — and of the rules every type
//! shares through the catalog: sub-types, the type's own fields, grades computed from a number,
//! the fire watch after hot work and the re-test after a long pause. Told to the pure engine.

mod common;
use common::*;
use ptw_core::form::{Field, FieldProblem};
use ptw_core::rules::Alert;
use ptw_core::*;

fn number(v: f64) -> FieldValue {
    FieldValue::Number(v)
}

fn text(v: &str) -> FieldValue {
    FieldValue::Text(v.into())
}

/// A line-blinding permit fitting the demo plant's blind MB-017 on T-101's outlet line.
fn blind(p: &Plant) -> PermitForm {
    let mut form = filled(p, "line_blinding", "standard", Some("fit"), &[]);
    form.details = ptw_core::demo::blind_mb017();
    form
}

/// A complete form of `permit_type`, with its sub-type and every required detail filled in.
fn filled(
    p: &Plant,
    permit_type: &str,
    grade: &str,
    subtype: Option<&str>,
    details: &[(&str, FieldValue)],
) -> PermitForm {
    let mut form = p.form(permit_type, grade, 4 * 60);
    form.subtype = subtype.map(str::to_owned);
    form.details = details.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    form
}

fn height_form(p: &Plant, grade: &str, metres: f64) -> PermitForm {
    filled(p, "work_at_height", grade, Some("scaffold"), &[("height_m", number(metres))])
}

fn problems(p: &Plant, form: &PermitForm, field: Field) -> Vec<FieldProblem> {
    form.validate(&p.registry).into_iter().filter(|e| e.field == field).map(|e| e.problem).collect()
}

fn required_grade(p: &Plant, form: &PermitForm) -> Option<String> {
    form.grade_requirement(&p.registry).map(|r| r.min_grade.to_owned())
}

#[test]
fn every_shipped_type_has_its_fields_flow_and_sources() {
    let c = Catalog::gb30871().expect("catalog");
    let codes: Vec<&str> = c.permit_types.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "hot_work",
            "confined_space",
            "work_at_height",
            "lifting",
            "temporary_electrical",
            "line_blinding",
            "excavation",
            "road_closure"
        ]
    );
    assert_eq!(c.problems(), Vec::<String>::new());
    for t in &c.permit_types {
        for g in &t.grades {
            assert!(!g.validity_source.is_empty(), "{}/{} says where its validity comes from", t.code, g.code);
            assert!(g.flow.iter().any(|s| s.phase == catalog::Phase::Acceptance), "{}/{} is accepted", t.code, g.code);
        }
        for f in &t.fields {
            assert!(!f.source.is_empty(), "{}.{} says where it comes from", t.code, f.code);
        }
    }
}

/// GB/T 3608: grade I 2–5 m, II above 5–15 m, III above 15–30 m, IV above 30 m.
#[test]
fn work_at_height_is_graded_by_the_working_height_at_each_boundary() {
    let p = Plant::new();
    for (metres, grade) in [
        (2.0, "grade_i"),
        (5.0, "grade_i"),
        (5.01, "grade_ii"),
        (15.0, "grade_ii"),
        (15.01, "grade_iii"),
        (30.0, "grade_iii"),
        (30.01, "grade_iv"),
        (120.0, "grade_iv"),
    ] {
        let form = height_form(&p, "grade_i", metres);
        assert_eq!(required_grade(&p, &form).as_deref(), Some(grade), "{metres} m");
        assert_eq!(form.proposed_grade(&p.registry), grade, "{metres} m is proposed as {grade}");
    }
}

#[test]
fn work_below_two_metres_is_not_work_at_height() {
    let p = Plant::new();
    let form = height_form(&p, "grade_i", 1.99);
    assert_eq!(
        problems(&p, &form, Field::Details),
        vec![FieldProblem::DetailOutOfRange { code: "height_m".into(), min: Some(2.0), max: Some(500.0) }]
    );
    assert_eq!(required_grade(&p, &form), None, "a height out of range gives no grade");
}

#[test]
fn an_aggravating_factor_raises_the_height_grade_one_step_and_never_past_the_top() {
    let p = Plant::new();
    let mut form = height_form(&p, "grade_i", 5.0);
    form.details.insert("strong_wind".into(), FieldValue::YesNo(true));
    assert_eq!(required_grade(&p, &form).as_deref(), Some("grade_ii"));
    assert_eq!(
        problems(&p, &form, Field::Grade),
        vec![FieldProblem::GradeBelowRequired {
            min_grade: "grade_ii".into(),
            location_class: None,
            raised_by: vec![],
            subtype: None,
            computed_from: Some("height_m".into()),
            aggravated_by: vec!["strong_wind".into()],
            set_by: vec![],
            waived_by: None,
        }]
    );
    // Two factors still raise one step; a factor answered "no" raises nothing.
    form.details.insert("rain_snow".into(), FieldValue::YesNo(true));
    assert_eq!(required_grade(&p, &form).as_deref(), Some("grade_ii"));
    form.details.insert("strong_wind".into(), FieldValue::YesNo(false));
    form.details.insert("rain_snow".into(), FieldValue::YesNo(false));
    assert_eq!(required_grade(&p, &form).as_deref(), Some("grade_i"));
    // Above 30 m there is no grade above IV.
    let mut top = height_form(&p, "grade_iv", 31.0);
    top.details.insert("night_work".into(), FieldValue::YesNo(true));
    assert_eq!(required_grade(&p, &top).as_deref(), Some("grade_iv"));
    assert!(top.validate(&p.registry).is_empty(), "{:?}", top.validate(&p.registry));
}

#[test]
fn a_height_grade_more_severe_than_computed_is_allowed_and_a_lower_one_is_refused_at_submit() {
    let p = Plant::new();
    let stricter = height_form(&p, "grade_iii", 4.0);
    assert!(stricter.validate(&p.registry).is_empty(), "{:?}", stricter.validate(&p.registry));
    assert_eq!(stricter.proposed_grade(&p.registry), "grade_iii", "a stricter choice is kept");

    // A dishonest tablet submits 18 m as grade I: derivation refuses the submit.
    let low = height_form(&p, "grade_i", 18.0);
    let state = p.derive(&low, &[p.event(&low, p.applicant, T0 - 60 * MIN, Plant::submit(&low))], T0 - 59 * MIN);
    assert_eq!(state.status, Status::Draft);
    assert!(
        matches!(rejection(&state, 0), Some(Violation::FormInvalid { errors })
            if errors.iter().any(|e| e.field == Field::Grade)),
        "{:?}",
        rejection(&state, 0)
    );
}

/// Lifting: grade 1 above 100 t, grade 2 40–100 t, grade 3 below 40 t.
#[test]
fn lifting_is_graded_by_the_load_at_each_boundary() {
    let p = Plant::new();
    for (tonnes, grade) in [(39.99, "grade_3"), (40.0, "grade_2"), (100.0, "grade_2"), (100.01, "grade_1")] {
        let form = filled(&p, "lifting", grade, None, &[("load_t", number(tonnes)), ("crane", text("QY50 汽车吊"))]);
        assert_eq!(required_grade(&p, &form).as_deref(), Some(grade), "{tonnes} t");
        assert!(form.validate(&p.registry).is_empty(), "{tonnes} t: {:?}", form.validate(&p.registry));
    }
}

#[test]
fn a_type_with_sub_types_needs_one_it_knows() {
    let p = Plant::new();
    let mut form = height_form(&p, "grade_i", 3.0);
    form.subtype = None;
    assert_eq!(problems(&p, &form, Field::Subtype), vec![FieldProblem::Required]);
    form.subtype = Some("trampoline".into());
    assert_eq!(problems(&p, &form, Field::Subtype), vec![FieldProblem::UnknownSubtype]);
    // Hot work has no sub-types: none is asked for, and one given is unknown.
    let mut hot = p.hot_work_form();
    assert!(problems(&p, &hot, Field::Subtype).is_empty());
    hot.subtype = Some("scaffold".into());
    assert_eq!(problems(&p, &hot, Field::Subtype), vec![FieldProblem::UnknownSubtype]);
}

/// Line blinding: one permit per blind per action, the blind numbered, with its line,
/// medium, temperature, pressure, size and diagram.
#[test]
fn a_line_blinding_permit_names_the_blind_and_its_line_and_refuses_what_is_missing_or_wrong() {
    let p = Plant::new();
    let fit = blind(&p);
    assert!(fit.validate(&p.registry).is_empty(), "{:?}", fit.validate(&p.registry));

    let mut broken = fit.clone();
    broken.details.remove("blind_number");
    broken.details.insert("pressure_mpa".into(), text("高"));
    broken.details.insert("temperature_c".into(), number(1200.0));
    broken.details.insert("height_m".into(), number(3.0));
    broken.details.insert("medium".into(), text(&"苯".repeat(41)));
    let mut found = problems(&p, &broken, Field::Details);
    found.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(
        found,
        vec![
            FieldProblem::DetailInvalid { code: "medium".into() },
            FieldProblem::DetailInvalid { code: "pressure_mpa".into() },
            FieldProblem::DetailOutOfRange { code: "temperature_c".into(), min: Some(-200.0), max: Some(1000.0) },
            FieldProblem::DetailRequired { code: "blind_number".into() },
            FieldProblem::DetailUnknown { code: "height_m".into() },
        ]
    );
    // Blank text is not an answer.
    let mut blank = fit.clone();
    blank.details.insert("pipe".into(), text("  "));
    assert_eq!(problems(&p, &blank, Field::Details), vec![FieldProblem::DetailRequired { code: "pipe".into() }]);
}

#[test]
fn temporary_electrical_excavation_and_road_closure_file_with_their_own_fields() {
    let p = Plant::new();
    let forms = [
        filled(
            &p,
            "temporary_electrical",
            "standard",
            Some("maintenance"),
            &[
                ("voltage_v", number(380.0)),
                ("power_kw", number(15.0)),
                ("supply_point", text("2# 配电室 AP-3")),
                ("equipment", text("电焊机 2 台")),
            ],
        ),
        filled(&p, "excavation", "standard", None, &[("depth_m", number(1.8)), ("area_m2", number(12.0))]),
        filled(
            &p,
            "road_closure",
            "standard",
            None,
            &[
                ("road", text("厂区 3 号路 东段")),
                ("detour", text("经 5 号路绕行")),
                ("full_closure", FieldValue::YesNo(false)),
            ],
        ),
    ];
    for form in &forms {
        assert!(form.validate(&p.registry).is_empty(), "{}: {:?}", form.permit_type, form.validate(&p.registry));
        let (t, _) = form.definition(&p.registry.catalog).expect("in the catalog");
        let required: Vec<&str> = t.fields.iter().filter(|f| f.required).map(|f| f.code.as_str()).collect();
        for code in required {
            let mut without = form.clone();
            without.details.remove(code);
            assert_eq!(
                problems(&p, &without, Field::Details),
                vec![FieldProblem::DetailRequired { code: code.into() }],
                "{}.{code}",
                form.permit_type
            );
        }
    }
    // A yes/no field answered with a number is the wrong kind.
    let mut road = forms[2].clone();
    road.details.insert("full_closure".into(), number(1.0));
    assert_eq!(problems(&p, &road, Field::Details), vec![FieldProblem::DetailInvalid { code: "full_closure".into() }]);
}

/// A work-at-height permit from filing to closing: its own flow, with more approvers for a
/// higher grade.
#[test]
fn a_grade_three_height_permit_goes_through_its_flow_and_closes_without_a_fire_watch() {
    let p = Plant::new();
    let form = height_form(&p, "grade_iii", 22.0);
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, T0 - 50 * MIN, Plant::approve("workshop_approval")),
        p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("safety_approval")),
        p.event(&form, p.guardian, T0 + MIN, EventKind::Start),
        p.event(&form, p.applicant, T0 + 120 * MIN, EventKind::Complete),
        p.event(&form, p.director, T0 + 125 * MIN, Plant::accept()),
    ];
    let state = p.derive(&form, &events, T0 + 130 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    assert_eq!(state.status, Status::Closed);
    assert_eq!(state.fire_watch, None);
    // Grade IV adds the plant manager.
    let steps = |grade: &str| {
        let g = p.registry.catalog.grade("work_at_height", grade).expect("grade");
        g.flow.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(steps("grade_iv"), ["workshop_approval", "safety_approval", "leadership_approval", "acceptance"]);
    assert_eq!(steps("grade_i"), ["workshop_approval", "acceptance"]);
}

/// Hot work: the permit closes only after the fire watch ran its 30 minutes and the fire
/// watcher signed it off; the catalog's number, compared to the millisecond.
#[test]
fn the_fire_watch_runs_thirty_minutes_and_closing_before_its_sign_off_is_refused() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..6].to_vec(); // completed at T0 + 180 min
    let done = T0 + 180 * MIN;
    let state = p.derive(&form, &events, done + MIN);
    assert_eq!(state.status, Status::Completed);
    let watch = state.fire_watch.clone().expect("a fire watch runs");
    assert_eq!((watch.from_ms, watch.until_ms), (done, done + 30 * MIN));
    assert!(!state.alerts.iter().any(|a| matches!(a, Alert::FireWatchOver { .. })));

    events.push(p.event(&form, p.director, done + 10 * MIN, Plant::accept()));
    events.push(p.event(&form, p.welder, done + 20 * MIN, Plant::fire_watch_end()));
    events.push(p.event(&form, p.guardian, done + 30 * MIN - 1, Plant::fire_watch_end()));
    let state = p.derive(&form, &events, done + 32 * MIN);
    assert_eq!(rejection(&state, 6), Some(&Violation::FireWatchNotSignedOff { until_ms: done + 30 * MIN }));
    assert!(matches!(rejection(&state, 7), Some(Violation::NotPermitActor { .. })), "the welder is no fire watcher");
    assert_eq!(rejection(&state, 8), Some(&Violation::FireWatchRunning { until_ms: done + 30 * MIN }));
    assert!(state.alerts.contains(&Alert::FireWatchOver { until_ms: done + 30 * MIN }), "{:?}", state.alerts);

    events.push(p.event(&form, p.guardian, done + 30 * MIN, Plant::fire_watch_end()));
    events.push(p.event(&form, p.director, done + 33 * MIN, Plant::accept()));
    let state = p.derive(&form, &events, done + 34 * MIN);
    assert_eq!(rejection(&state, 9), None, "exactly 30 minutes is enough");
    assert_eq!(state.status, Status::Closed);
    assert_eq!(state.closed_at, Some(done + 33 * MIN));
    let off = state.fire_watch.and_then(|w| w.signed_off).expect("signed off");
    assert_eq!((off.by, off.at_ms), (p.guardian, done + 30 * MIN));
    assert!(!state.alerts.iter().any(|a| matches!(a, Alert::FireWatchOver { .. })));
}

#[test]
fn a_longer_fire_watch_in_the_catalog_is_the_one_kept() {
    let mut p = Plant::new();
    for g in &mut p.registry.catalog.permit_types[0].grades {
        g.fire_watch.as_mut().expect("hot work has a fire watch").minutes = 60;
    }
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..6].to_vec();
    let done = T0 + 180 * MIN;
    events.push(p.event(&form, p.guardian, done + 45 * MIN, Plant::fire_watch_end()));
    let state = p.derive(&form, &events, done + 46 * MIN);
    assert_eq!(
        rejection(&state, 6),
        Some(&Violation::FireWatchRunning { until_ms: done + 60 * MIN }),
        "NFPA 51B's 60 min"
    );
}

#[test]
fn a_second_fire_watch_sign_off_finds_none_waiting() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form);
    events.push(p.event(&form, p.guardian, T0 + 240 * MIN, Plant::fire_watch_end()));
    let state = p.derive(&form, &events, T0 + 241 * MIN);
    assert_eq!(state.status, Status::Closed);
    assert!(matches!(rejection(&state, 8), Some(Violation::NotAllowedInStatus { .. })));
}

/// Confined space: work that stopped for more than the catalog's 60 min resumes only on a gas
/// test taken since it stopped. (The shipped 30-minute test age already asks as much; a plant
/// whose tests stay valid longer still gets the pause rule.)
#[test]
fn a_pause_past_the_retest_limit_needs_a_gas_test_taken_since_work_stopped() {
    let mut p = Plant::new();
    let rule = p.registry.catalog.permit_types[1].grades[0].gas_test.as_mut().expect("confined space tests gas");
    assert_eq!(rule.retest_after_pause_minutes, Some(60));
    rule.max_age_minutes = 240;
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.guardian, T0 - 55 * MIN, Plant::approve("guardian_confirmation")),
        p.event(&form, p.safety, T0 - 50 * MIN, Plant::approve("safety_review")),
        p.event(&form, p.director, T0 - 45 * MIN, Plant::approve("workshop_approval")),
        p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()),
        p.event(&form, p.guardian, T0 + MIN, EventKind::Start),
        p.event(&form, p.guardian, T0 + 10 * MIN, EventKind::Suspend { reason: "午休".into() }),
        // Exactly 60 minutes of pause: the old test still stands.
        p.event(&form, p.guardian, T0 + 70 * MIN, EventKind::Resume),
        p.event(&form, p.guardian, T0 + 80 * MIN, EventKind::Suspend { reason: "等待备件".into() }),
        // 60 minutes and a millisecond: refused without a new test…
        p.event(&form, p.guardian, T0 + 140 * MIN + 1, EventKind::Resume),
    ];
    let state = p.derive(&form, &events, T0 + 141 * MIN);
    assert_eq!(rejection(&state, 7), None);
    assert_eq!(rejection(&state, 9), Some(&Violation::GasRetestAfterPause { paused_minutes: 61, max_minutes: 60 }));
    assert_eq!(state.status, Status::Suspended);
    // …and resumed after one.
    events.push(p.event(&form, p.guardian, T0 + 142 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 143 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 144 * MIN);
    assert_eq!(rejection(&state, 11), None);
    assert_eq!(state.status, Status::Active);
}

/// A form from before sub-types and details existed hashes as it did: events signed over it
/// still verify against the form of record.
#[test]
fn a_form_without_sub_type_or_details_hashes_as_before_they_existed() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let json = serde_json::to_string(&form).expect("serialises");
    assert!(!json.contains("subtype") && !json.contains("details"), "{json}");
    let mut with = form.clone();
    with.details.insert("height_m".into(), number(2.5));
    assert_ne!(with.content_hash(), form.content_hash());
    let back: PermitForm = serde_json::from_str(&serde_json::to_string(&with).expect("serialises")).expect("reads");
    assert_eq!(back.content_hash(), with.content_hash(), "a number survives the round trip exactly");
}

/// Hot work: with the medium's lower explosive limit on the permit, the flammable's volume
/// concentration is held to 0.5 % vol for media with an LEL of 4 % or more, 0.2 % below — on top
/// of the 10 %LEL limit. A failing one blocks the start like any other.
#[test]
fn the_flammable_limit_is_chosen_by_the_mediums_lel_at_its_boundary() {
    let p = Plant::new();
    let reading = |lel_pct: f64| GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(lel_pct),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MX4 #A1234".into(),
        point: "法兰处".into(),
    };
    let gas = p.registry.catalog.grade("hot_work", "grade_1").and_then(|g| g.gas_test.clone()).expect("gas rule");
    let fails = |medium: f64, lel_pct: f64| {
        let e = reading(lel_pct).exceedances_for(&gas.limits, Some(medium));
        e.iter().any(|x| x.gas == "flammable_vol")
    };
    // Ammonia (LEL 15 %): 3.3 %LEL is 0.495 % vol, 3.4 %LEL is 0.51 % vol.
    assert!(!fails(15.0, 3.3));
    assert!(fails(15.0, 3.4));
    // At exactly 4 % the 0.5 % rule applies; just below it the 0.2 % rule.
    assert!(!fails(4.0, 6.0), "0.24 % vol ≤ 0.5");
    assert!(fails(3.99, 6.0), "0.2394 % vol > 0.2");
    // Without the medium's LEL only the %LEL limit counts.
    assert!(reading(9.0).exceedances_for(&gas.limits, None).is_empty());

    let mut form = p.hot_work_form();
    form.details.insert("medium_lel_pct".into(), number(15.0));
    let mut events = p.hot_work_story(&form)[..3].to_vec();
    events.push(p.event(&form, p.guardian, T0 - 10 * MIN, EventKind::GasTest { reading: reading(3.4) }));
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 2 * MIN);
    assert!(matches!(rejection(&state, 4), Some(Violation::GasTestFailed { exceedances })
        if exceedances.iter().any(|e| e.gas == "flammable_vol")));
    assert_eq!(state.status, Status::Approved);
}

/// A fire watch signed off on a tablet whose clock was not checked against the server's: it
/// counts by its stamp, and the permit says the time was not verified.
#[test]
fn a_fire_watch_signed_off_on_an_unverified_clock_is_flagged() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..6].to_vec();
    let (mut ev, _) = p.event_struct(&form, p.guardian, T0 + 215 * MIN, Plant::fire_watch_end());
    ev.time = Some(Stamp { ms: T0 + 215 * MIN, trust: TimeTrust::Unverified });
    events.push(p.sign(&ev));
    let state = p.derive(&form, &events, T0 + 216 * MIN);
    assert_eq!(rejection(&state, 6), None);
    assert!(
        state
            .alerts
            .iter()
            .any(|a| matches!(a, ptw_core::rules::Alert::UnverifiedTime { action, .. } if action == "fire_watch_end")),
        "{:?}",
        state.alerts
    );
}

#[test]
fn line_blinding_work_does_not_start_before_the_blind_location_diagram_is_photographed_onto_the_permit() {
    let p = Plant::new();
    let form = blind(&p);
    let rule = p.registry.catalog.grade("line_blinding", "standard").and_then(|g| g.start_photo.clone());
    let rule = rule.expect("the diagram rule");
    assert_eq!(rule.phase, ptw_core::event::PhotoPhase::Before);
    assert!(rule.source.contains("diagram"), "{}", rule.source);
    let photo = |phase| ptw_core::event::PhotoRef {
        blob: "ab".repeat(32),
        thumbnail: "cd".repeat(32),
        phase,
        width: 3072,
        height: 2304,
        camera_time: None,
        dhash: "0123456789abcdef".into(),
    };
    let approved = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, T0 - 50 * MIN, Plant::approve("workshop_approval")),
        p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("safety_review")),
    ];
    let mut events = approved.clone();
    // A photo of the work under way is not the diagram.
    events.push(p.event(
        &form,
        p.guardian,
        T0 - 5 * MIN,
        EventKind::Photo { photo: photo(ptw_core::event::PhotoPhase::During) },
    ));
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 2 * MIN);
    assert_eq!(state.status, Status::Approved);
    assert_eq!(
        rejection(&state, 4),
        Some(&Violation::StartPhotoMissing { phase: ptw_core::event::PhotoPhase::Before })
    );

    let mut events = approved;
    events.push(p.event(
        &form,
        p.guardian,
        T0 - 5 * MIN,
        EventKind::Photo { photo: photo(ptw_core::event::PhotoPhase::Before) },
    ));
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 2 * MIN);
    assert_eq!(state.status, Status::Active, "{:?}", state.rejected().collect::<Vec<_>>());

    // Hot work asks no such photo.
    let hot = p.hot_work_form();
    let story = p.hot_work_story(&hot)[..5].to_vec();
    assert_eq!(p.derive(&hot, &story, T0 + 2 * MIN).status, Status::Active);
}

/// A lift over 100 t is grade 1: the workshop and the safety manager approve, then the plant's
/// leadership (a plant manager); a workshop director cannot sign in
/// their place, and a lighter lift needs fewer approvers.
#[test]
fn lifting_approvers_rise_with_the_grade_and_a_grade_one_lift_needs_the_plant_leadership() {
    let p = Plant::new();
    let lift = |load: f64, grade: &str| {
        filled(
            &p,
            "lifting",
            grade,
            None,
            &[("load_t", number(load)), ("crane", text("QY130K 汽车吊")), ("radius_m", number(12.0))],
        )
    };
    let heavy = lift(120.0, "grade_1");
    assert_eq!(required_grade(&p, &heavy).as_deref(), Some("grade_1"));
    assert!(heavy.validate(&p.registry).is_empty(), "{:?}", heavy.validate(&p.registry));
    let mut events = vec![
        p.event(&heavy, p.applicant, T0 - 60 * MIN, Plant::submit(&heavy)),
        p.event(&heavy, p.director, T0 - 50 * MIN, Plant::approve("workshop_approval")),
        p.event(&heavy, p.safety, T0 - 40 * MIN, Plant::approve("safety_approval")),
        // The workshop director is not the plant's leadership.
        p.event(&heavy, p.director, T0 - 35 * MIN, Plant::approve("leadership_approval")),
    ];
    let state = p.derive(&heavy, &events, T0 - 34 * MIN);
    assert!(
        matches!(rejection(&state, 3), Some(Violation::MissingRole { .. })),
        "a director at the leadership step is refused: {:?}",
        rejection(&state, 3)
    );
    assert_eq!(state.status, Status::InApproval, "the leadership step still waits");
    events.push(p.event(&heavy, p.manager, T0 - 30 * MIN, Plant::approve("leadership_approval")));
    assert_eq!(p.derive(&heavy, &events, T0 - 29 * MIN).status, Status::Approved);

    let steps = |grade: &str| {
        let g = p.registry.catalog.grade("lifting", grade).expect("grade");
        g.flow
            .iter()
            .filter(|s| s.phase == ptw_core::catalog::Phase::Approval)
            .map(|s| s.role.0.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(steps("grade_1"), ["workshop_director", "safety_manager", "plant_manager"]);
    assert_eq!(steps("grade_2"), ["workshop_director", "safety_manager"]);
    assert_eq!(steps("grade_3"), ["workshop_director"]);
    assert_eq!(required_grade(&p, &lift(40.0, "grade_3")).as_deref(), Some("grade_2"), "40 t is grade 2");
    assert_eq!(required_grade(&p, &lift(39.9, "grade_3")).as_deref(), Some("grade_3"));
}

/// A road closure names the road and the detour, and is filed only once the departments are
/// told and the signs, barriers, night lamps and the fire lane are confirmed.
#[test]
fn a_road_closure_is_filed_only_with_departments_notified_signs_barriers_night_lamps_and_a_fire_lane() {
    let p = Plant::new();
    let form = filled(
        &p,
        "road_closure",
        "standard",
        None,
        &[
            ("road", text("厂区 3 号路 东段")),
            ("detour", text("经 5 号路绕行")),
            ("full_closure", FieldValue::YesNo(true)),
        ],
    );
    assert!(form.validate(&p.registry).is_empty(), "{:?}", form.validate(&p.registry));
    for code in ["departments_notified", "signs_barriers", "night_lamps", "fire_lane"] {
        let mut missing = form.clone();
        missing.precautions.retain(|c| c != code);
        assert_eq!(
            problems(&p, &missing, Field::Precautions),
            vec![FieldProblem::PrecautionNotConfirmed { code: code.into() }],
            "{code}"
        );
        let submit = p.event(&missing, p.applicant, T0 - 60 * MIN, Plant::submit(&missing));
        let state = p.derive(&missing, &[submit], T0 - 59 * MIN);
        assert_eq!(state.status, Status::Draft, "{code}: refused at submit");
    }
}
