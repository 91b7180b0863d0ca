//! Stories of a grade-1 hot-work permit (一级动火), told to the pure engine.

mod common;
use common::*;
use ptw_core::calendar::CalendarCondition;
use ptw_core::derive::Outcome;
use ptw_core::form::{Field, FieldProblem};
use ptw_core::rules::Alert;
use ptw_core::*;

#[test]
fn a_grade_one_hot_work_permit_goes_from_draft_to_closed() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form);

    let draft = p.derive(&form, &[], T0);
    assert_eq!(draft.status, Status::Draft);

    let after_submit = p.derive(&form, &events[..1], T0);
    assert_eq!(after_submit.status, Status::InApproval);
    assert_eq!(after_submit.current_step.as_deref(), Some("workshop_review"));

    let approved = p.derive(&form, &events[..3], T0);
    assert_eq!(approved.status, Status::Approved);
    assert_eq!(approved.step("safety_approval").map(|s| s.signatures[0].person), Some(p.safety));

    let active = p.derive(&form, &events[..5], T0 + 2 * MIN);
    assert_eq!(active.status, Status::Active);

    let closed = p.derive(&form, &events, T0 + 200 * MIN);
    assert_eq!(closed.status, Status::Closed, "timeline: {:?}", closed.timeline);
    assert!(closed.rejected().next().is_none());
    assert!(closed.closed_at.is_some());
    assert_eq!(closed.step("acceptance").map(|s| s.signatures.len()), Some(1));
}

#[test]
fn the_applicant_cannot_approve_their_own_permit_and_the_attempt_is_kept_as_rejected() {
    let p = Plant::new();
    let mut form = p.hot_work_form();
    // 赵磊 is both a work leader and a workshop director: he files, then tries to approve.
    form.applicant = Some(p.foreman_officer);
    let events = vec![
        p.event(&form, p.foreman_officer, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.foreman_officer, T0 - 55 * MIN, Plant::approve("workshop_review")),
        p.event(&form, p.director, T0 - 50 * MIN, Plant::approve("workshop_review")),
    ];
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 1), Some(&Violation::ApproverIsApplicant));
    assert_eq!(state.timeline.len(), 3, "the refused event stays in the log");
    assert_eq!(state.current_step.as_deref(), Some("safety_approval"));
    assert_eq!(state.step("workshop_review").map(|s| s.signatures[0].person), Some(p.director));
}

#[test]
fn the_guardian_cannot_approve_the_permit_they_watch() {
    let p = Plant::new();
    let mut form = p.hot_work_form();
    let mut registry = p.registry.clone();
    registry
        .people
        .iter_mut()
        .filter(|x| x.id == p.guardian)
        .for_each(|x| x.roles.push(Role::new("workshop_director")));
    form.guardian = Some(p.guardian);
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.guardian, T0 - 55 * MIN, Plant::approve("workshop_review")),
    ];
    let state = derive(p.permit, &form, &events, &registry, at(T0));
    assert_eq!(rejection(&state, 1), Some(&Violation::ApproverIsGuardian));
    assert_eq!(state.status, Status::InApproval);
}

#[test]
fn a_person_without_the_step_role_cannot_sign_it() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.manager, T0 - 55 * MIN, Plant::approve("workshop_review")),
    ];
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 1), Some(&Violation::MissingRole { roles: vec![Role::new("workshop_director")] }));
}

#[test]
fn steps_are_signed_in_flow_order_only() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.safety, T0 - 55 * MIN, Plant::approve("safety_approval")),
    ];
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 1), Some(&Violation::StepNotOpen { step: "safety_approval".into() }));
}

fn approved_events(p: &Plant, form: &PermitForm) -> Vec<String> {
    p.hot_work_story(form)[..3].to_vec()
}

#[test]
fn a_gas_test_thirty_one_minutes_old_blocks_the_start() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    events.push(p.event(&form, p.guardian, T0, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 31 * MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 32 * MIN);
    assert_eq!(rejection(&state, 4), Some(&Violation::GasTestTooOld { age_minutes: 31, max_minutes: 30 }));
    assert_eq!(state.status, Status::Approved);
}

#[test]
fn a_gas_test_exactly_thirty_minutes_old_still_allows_the_start() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    events.push(p.event(&form, p.guardian, T0, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 30 * MIN, EventKind::Start));
    assert_eq!(p.derive(&form, &events, T0 + 31 * MIN).status, Status::Active);
}

#[test]
fn a_gas_test_with_no_reading_or_an_impossible_one_is_refused_and_records_nothing() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    let blank = GasReading { instrument: "MX4 #1".into(), point: "法兰处".into(), ..Default::default() };
    events.push(p.event(&form, p.guardian, T0 - 10 * MIN, EventKind::GasTest { reading: blank }));
    let impossible = [
        GasReading { o2_pct: Some(-1.0), ..Default::default() },
        GasReading { o2_pct: Some(20.9), lel_pct: Some(100.5), ..Default::default() },
        GasReading { o2_pct: Some(20.9), h2s_ppm: Some(-3.0), ..Default::default() },
        GasReading { o2_pct: Some(20.9), co_ppm: Some(-0.1), ..Default::default() },
    ];
    for (i, reading) in impossible.into_iter().enumerate() {
        events.push(p.event(&form, p.guardian, T0 - 9 * MIN + i as i64, EventKind::GasTest { reading }));
    }
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 3), Some(&Violation::GasReadingEmpty));
    for (i, gas) in ["o2", "lel", "h2s", "co"].into_iter().enumerate() {
        assert_eq!(rejection(&state, 4 + i), Some(&Violation::GasReadingOutOfRange { gas: gas.into() }), "{gas}");
    }
    assert!(state.gas_tests.is_empty(), "none of them is a test on record");
    // Good readings, but from no instrument anyone named: refused too.
    let nameless = GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(0.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "  ".into(),
        point: "法兰处".into(),
    };
    events.push(p.event(&form, p.guardian, T0 - 5 * MIN, EventKind::GasTest { reading: nameless }));
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 8), Some(&Violation::GasInstrumentMissing));
    assert!(state.gas_tests.is_empty());
    // The edges are readings: 0 and 100 %.
    let edge = GasReading {
        o2_pct: Some(100.0),
        lel_pct: Some(0.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MX4 #A1234".into(),
        ..Default::default()
    };
    events.push(p.event(&form, p.guardian, T0 - 8 * MIN, EventKind::GasTest { reading: edge }));
    let state = p.derive(&form, &events, T0);
    assert_eq!(state.gas_tests.len(), 1);
    assert!(!state.gas_tests[0].passed(), "100 % O2 is a reading, and a failing one");
}

#[test]
fn the_validity_cap_is_compared_to_the_millisecond() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "grade_1", 8 * 60);
    assert!(form.validate(&p.registry).is_empty(), "exactly 8 h is within the cap");
    form.planned_end = form.planned_end.map(|end| end + chrono::Duration::seconds(1));
    let errors = form.validate(&p.registry);
    assert_eq!(
        errors.iter().map(|e| e.problem.clone()).collect::<Vec<_>>(),
        vec![FieldProblem::ValidityTooLong { max_minutes: 480, planned_minutes: 481 }],
        "a second over is over, and never shown as 480 of 480"
    );
}

#[test]
fn work_cannot_start_without_a_gas_test_or_after_a_failed_one() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let bad = GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(25.0),
        h2s_ppm: Some(0.0),
        co_ppm: None,
        instrument: "MX4 #A1234".into(),
        ..Default::default()
    };
    events.push(p.event(&form, p.guardian, T0 + 2 * MIN, EventKind::GasTest { reading: bad }));
    events.push(p.event(&form, p.guardian, T0 + 3 * MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0 + 4 * MIN);
    assert_eq!(rejection(&state, 3), Some(&Violation::GasTestMissing));
    match rejection(&state, 5) {
        Some(Violation::GasTestFailed { exceedances }) => {
            let gases: Vec<&str> = exceedances.iter().map(|e| e.gas.as_str()).collect();
            assert_eq!(gases, vec!["lel", "co_missing"]);
        }
        other => panic!("expected a failed gas test, got {other:?}"),
    }
    assert_eq!(state.status, Status::Approved);
}

#[test]
fn work_cannot_start_outside_the_planned_window() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    events.push(p.event(&form, p.guardian, T0 - 20 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 - 5 * MIN, EventKind::Start));
    let state = p.derive(&form, &events, T0);
    assert_eq!(rejection(&state, 4), Some(&Violation::BeforePlannedStart));
}

#[test]
fn grade_one_validity_is_capped_at_eight_hours_but_grade_two_allows_three_days() {
    let p = Plant::new();
    let too_long = p.form("hot_work", "grade_1", 8 * 60 + 1);
    let errors = too_long.validate(&p.registry);
    assert!(errors.iter().any(|e| e.field == Field::PlannedEnd
        && e.problem == FieldProblem::ValidityTooLong { max_minutes: 480, planned_minutes: 481 }));
    let submit = p.event(&too_long, p.applicant, T0 - 60 * MIN, Plant::submit(&too_long));
    let state = p.derive(&too_long, &[submit], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })));
    assert_eq!(state.status, Status::Draft);

    assert!(p.form("hot_work", "grade_1", 8 * 60).validate(&p.registry).is_empty());
    // Three days run through nights (and the grade raise): at a plant without any.
    let mut p = p;
    p.round_the_clock();
    assert!(p.form("hot_work", "grade_2", 72 * 60).validate(&p.registry).is_empty());
}

/// A hot-work form at the story plant (Asia/Shanghai, Saturday and Sunday off, night 22:00 to
/// 06:00) from `start` for `minutes`.
fn hot_work_at(p: &Plant, grade: &str, start: chrono::DateTime<chrono::Utc>, minutes: i64) -> PermitForm {
    let mut form = p.form("hot_work", grade, minutes);
    form.planned_start = Some(start);
    form.planned_end = Some(start + chrono::Duration::minutes(minutes));
    form
}

fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(y, m, d, h, min, 0).single())
        .map(|t| t.with_timezone(&chrono::Utc))
        .expect("a Shanghai time")
}

fn raised(min_grade: &str, location_class: Option<&str>, raised_by: &[CalendarCondition]) -> Vec<FieldProblem> {
    vec![FieldProblem::GradeBelowRequired {
        min_grade: min_grade.into(),
        location_class: location_class.map(str::to_owned),
        raised_by: raised_by.to_vec(),
        subtype: None,
        computed_from: None,
        aggravated_by: vec![],
        set_by: vec![],
        waived_by: None,
    }]
}

fn grade_problems(p: &Plant, form: &PermitForm) -> Vec<FieldProblem> {
    form.validate(&p.registry).into_iter().filter(|e| e.field == Field::Grade).map(|e| e.problem).collect()
}

#[test]
fn hot_work_at_night_on_a_rest_day_or_a_holiday_is_one_grade_higher_from_its_first_minute() {
    use CalendarCondition::*;
    let mut p = Plant::new();
    // Monday 2026-11-30, 16:00 to 22:00 sharp in Shanghai: a working day, before the night.
    let monday = shanghai(2026, 11, 30, 16, 0);
    assert_eq!(grade_problems(&p, &hot_work_at(&p, "grade_2", monday, 6 * 60)), vec![]);
    // A minute into the night: grade 2 is raised to grade 1.
    let late = hot_work_at(&p, "grade_2", monday, 6 * 60 + 1);
    assert_eq!(grade_problems(&p, &late), raised("grade_1", None, &[Night]));
    assert_eq!(late.proposed_grade(&p.registry), "grade_1");
    assert_eq!(grade_problems(&p, &hot_work_at(&p, "grade_1", monday, 6 * 60 + 1)), vec![]);
    // Night ends at 06:00: from 06:00 on Tuesday nothing is raised, from 05:59 it is.
    assert_eq!(grade_problems(&p, &hot_work_at(&p, "grade_2", shanghai(2026, 12, 1, 6, 0), 60)), vec![]);
    let dawn = hot_work_at(&p, "grade_2", shanghai(2026, 12, 1, 5, 59), 60);
    assert_eq!(grade_problems(&p, &dawn), raised("grade_1", None, &[Night]));

    // Saturday daytime: a rest day. On a pipe rack (grade 1 at least) it is special.
    let saturday = shanghai(2026, 12, 5, 9, 0);
    assert_eq!(grade_problems(&p, &hot_work_at(&p, "grade_2", saturday, 60)), raised("grade_1", None, &[RestDay]));
    let mut rack = hot_work_at(&p, "grade_1", saturday, 60);
    rack.location = Some(p.pipe_rack);
    assert_eq!(grade_problems(&p, &rack), raised("special", Some("pipe_rack"), &[RestDay]));
    assert_eq!(rack.proposed_grade(&p.registry), "special");
    // Friday 23:00 to Saturday 01:00 touches both; special is as high as it goes.
    let mut both = hot_work_at(&p, "special", shanghai(2026, 12, 4, 23, 0), 120);
    both.location = Some(p.pipe_rack);
    both.assignees.insert("leadership_approval".into(), vec![p.manager]);
    assert_eq!(grade_problems(&p, &both), vec![]);
    assert_eq!(both.grade_requirement(&p.registry).map(|r| r.raised_by), Some(vec![RestDay, Night]));

    // A holiday the plant entered, and a Sunday it works instead.
    let sunday = shanghai(2026, 12, 6, 9, 0);
    p.registry.settings.calendar.working_days.push(chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("date"));
    assert_eq!(grade_problems(&p, &hot_work_at(&p, "grade_2", sunday, 60)), vec![]);
    p.registry.settings.calendar.holidays.push(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"));
    let wednesday = hot_work_at(&p, "grade_2", shanghai(2026, 12, 2, 9, 0), 60);
    assert_eq!(grade_problems(&p, &wednesday), raised("grade_1", None, &[Holiday]));

    // The plant's zone decides: 16:00–22:01 in Shanghai is 08:00–14:01 in UTC, no night there.
    p.registry.settings.time_zone = "UTC".into();
    assert_eq!(grade_problems(&p, &late), vec![]);
}

#[test]
fn a_grade_two_permit_planned_into_the_night_is_refused_at_submit_on_every_device() {
    let p = Plant::new();
    let form = hot_work_at(&p, "grade_2", shanghai(2026, 11, 30, 20, 0), 4 * 60);
    let submit = p.event(&form, p.applicant, shanghai(2026, 11, 30, 19, 0).timestamp_millis(), Plant::submit(&form));
    let state = p.derive(&form, &[submit], shanghai(2026, 11, 30, 19, 1).timestamp_millis());
    match rejection(&state, 0) {
        Some(Violation::FormInvalid { errors }) => {
            let grade: Vec<_> = errors.iter().filter(|e| e.field == Field::Grade).map(|e| e.problem.clone()).collect();
            assert_eq!(grade, raised("grade_1", None, &[CalendarCondition::Night]));
        }
        other => panic!("submitted: {other:?}"),
    }
    assert_eq!(state.status, Status::Draft);
}

#[test]
fn hot_work_on_running_equipment_or_hot_tapping_is_special_grade_whatever_else_the_form_says() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "grade_1", 4 * 60);
    assert_eq!(grade_problems(&p, &form), vec![]);
    // Answered "no", the question sets nothing.
    form.details.insert("running_equipment".into(), FieldValue::YesNo(false));
    assert_eq!(grade_problems(&p, &form), vec![]);
    form.details.insert("running_equipment".into(), FieldValue::YesNo(true));
    let special = FieldProblem::GradeBelowRequired {
        min_grade: "special".into(),
        location_class: None,
        raised_by: vec![],
        subtype: None,
        computed_from: None,
        aggravated_by: vec![],
        set_by: vec!["running_equipment".into()],
        waived_by: None,
    };
    assert_eq!(grade_problems(&p, &form), vec![special]);
    assert_eq!(form.proposed_grade(&p.registry), "special", "filing proposes it");
    let required = form.grade_requirement(&p.registry).expect("a requirement");
    assert!(required.set_by[0].source.contains("GB 30871"), "the rule carries its clause");
    // On a pipe rack (a grade-1 floor) the question still wins: the most severe applies.
    form.location = Some(p.pipe_rack);
    assert_eq!(form.grade_requirement(&p.registry).map(|r| r.min_grade), Some("special"));
    // A dishonest tablet that files it as grade 1 anyway cannot submit it.
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    let state = p.derive(&form, &[submit], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })), "{:?}", rejection(&state, 0));
    assert_eq!(state.status, Status::Draft);
    form.grade = "special".into();
    assert_eq!(grade_problems(&p, &form), vec![]);
}

#[test]
fn hot_work_on_a_pipe_rack_is_at_least_grade_one_and_a_grade_two_permit_there_is_refused_at_submit() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "grade_2", 4 * 60);
    assert!(form.validate(&p.registry).is_empty(), "grade 2 is fine where no class sets a floor");
    form.location = Some(p.pipe_rack);
    let floor = FieldProblem::GradeBelowRequired {
        min_grade: "grade_1".into(),
        location_class: Some("pipe_rack".into()),
        raised_by: vec![],
        subtype: None,
        computed_from: None,
        aggravated_by: vec![],
        set_by: vec![],
        waived_by: None,
    };
    let errors = form.validate(&p.registry);
    assert_eq!(errors.iter().map(|e| (e.field, e.problem.clone())).collect::<Vec<_>>(), vec![(Field::Grade, floor)]);
    // A dishonest tablet that skips the form check still cannot get it approved: the submit
    // rule runs the same validation on every device.
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    let state = p.derive(&form, &[submit], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })), "{:?}", rejection(&state, 0));
    assert_eq!(state.status, Status::Draft);

    // The form proposes the floor, never lowers a grade chosen above it, and leaves a
    // location without a class to the applicant.
    assert_eq!(form.proposed_grade(&p.registry), "grade_1");
    form.grade = "special".into();
    assert_eq!(form.proposed_grade(&p.registry), "special");
    form.grade = String::new();
    assert_eq!(form.proposed_grade(&p.registry), "grade_1");
    form.location = Some(p.location);
    assert_eq!(form.proposed_grade(&p.registry), "");
    let confined = p.form("confined_space", "", 4 * 60);
    assert_eq!(confined.proposed_grade(&p.registry), "standard", "a type with one grade has it proposed");

    form.location = Some(p.pipe_rack);
    form.grade = "grade_1".into();
    assert!(form.validate(&p.registry).is_empty());
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    assert_eq!(p.derive(&form, &[submit], T0).status, Status::InApproval);
}

#[test]
fn a_form_missing_required_fields_cannot_be_submitted_and_says_which() {
    let p = Plant::new();
    let mut form = p.hot_work_form();
    form.title = "  ".into();
    form.location = None;
    form.guardian = None;
    form.precautions.retain(|c| c != "extinguishers");
    let errors = form.validate(&p.registry);
    let fields: Vec<Field> = errors.iter().map(|e| e.field).collect();
    assert!(fields.contains(&Field::Title));
    assert!(fields.contains(&Field::Location));
    assert!(fields.contains(&Field::Guardian));
    assert!(errors.iter().any(|e| e.problem == FieldProblem::PrecautionNotConfirmed { code: "extinguishers".into() }));
}

#[test]
fn the_guardian_must_be_someone_other_than_the_applicant_and_the_crew() {
    let p = Plant::new();
    let mut form = p.hot_work_form();
    form.crew.push(p.guardian);
    assert!(form
        .validate(&p.registry)
        .iter()
        .any(|e| e.field == Field::Guardian && e.problem == FieldProblem::GuardianNotIndependent));
}

#[test]
fn a_countersign_step_needs_every_named_signer() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "special", 4 * 60);
    assert!(form.validate(&p.registry).iter().any(|e| e.field == Field::Assignees));
    form.assignees.insert("leadership_approval".into(), vec![p.manager, p.manager2]);
    assert!(form.validate(&p.registry).is_empty());
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, T0 - 55 * MIN, Plant::approve("workshop_review")),
        p.event(&form, p.safety, T0 - 50 * MIN, Plant::approve("safety_review")),
        p.event(&form, p.manager, T0 - 45 * MIN, Plant::approve("leadership_approval")),
    ];
    let state = p.derive(&form, &events, T0);
    assert_eq!(state.status, Status::InApproval, "one of two countersigners is not enough");
    let mut all = events.clone();
    all.push(p.event(&form, p.manager, T0 - 44 * MIN, Plant::approve("leadership_approval")));
    all.push(p.event(&form, p.manager2, T0 - 40 * MIN, Plant::approve("leadership_approval")));
    let state = p.derive(&form, &all, T0);
    assert_eq!(rejection(&state, 4), Some(&Violation::AlreadySigned { step: "leadership_approval".into() }));
    assert_eq!(state.status, Status::Approved);
}

#[test]
fn a_frozen_account_cannot_sign_after_the_freeze_but_earlier_signatures_stand() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut registry = p.registry.clone();
    registry.people.iter_mut().filter(|x| x.id == p.safety).for_each(|x| x.frozen_since_ms = Some(T0 - 45 * MIN));
    let events = p.hot_work_story(&form);
    let state = derive(p.permit, &form, &events[..3], &registry, at(T0));
    assert_eq!(rejection(&state, 2), Some(&Violation::FrozenAccount { person: p.safety }));
    registry.people.iter_mut().filter(|x| x.id == p.safety).for_each(|x| x.frozen_since_ms = Some(T0));
    assert_eq!(derive(p.permit, &form, &events[..3], &registry, at(T0)).status, Status::Approved);
}

#[test]
fn a_forged_or_unknown_device_signature_is_rejected() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    let mut signed = SignedEvent::from_stored(&submit).expect("stored");
    signed.body = signed.body.replace("\"submit\"", "\"complete\"");
    let state = p.derive(&form, &[signed.to_stored()], T0);
    assert_eq!(rejection(&state, 0), Some(&Violation::BadSignature));
    assert_eq!(state.status, Status::Draft);

    let mut registry = p.registry.clone();
    registry.devices.clear();
    let state = derive(p.permit, &form, std::slice::from_ref(&submit), &registry, at(T0));
    assert_eq!(rejection(&state, 0), Some(&Violation::UnknownDevice { device: p.device }));
    registry = p.registry.clone();
    registry.devices[0].revoked_ms = Some(0);
    let state = derive(p.permit, &form, &[submit], &registry, at(T0));
    assert_eq!(rejection(&state, 0), Some(&Violation::RevokedDevice { device: p.device }));

    let state = p.derive(&form, &["{not json".to_string()], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::Malformed { .. })));
}

#[test]
fn a_form_edited_after_submission_raises_an_alert_and_new_signatures_over_it_are_refused() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    let mut edited = form.clone();
    edited.hazards = "无".into();
    let approve_edited = p.event(&edited, p.director, T0 - 50 * MIN, Plant::approve("workshop_review"));
    let state = p.derive(&edited, &[submit, approve_edited], T0);
    assert_eq!(state.status, Status::InApproval);
    assert!(state.alerts.contains(&Alert::FormChangedAfterSubmit));
    assert_eq!(rejection(&state, 1), Some(&Violation::ContentHashMismatch));
}

#[test]
fn an_open_step_past_its_time_limit_and_an_active_permit_past_its_end_raise_alerts() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form);
    let state = p.derive(&form, &events[..1], T0 - 60 * MIN + 61 * MIN);
    assert_eq!(state.alerts, vec![Alert::StepOverdue { step: "workshop_review".into(), due_ms: T0, level: 1 }]);
    let state = p.derive(&form, &events[..5], T0 + 4 * 60 * MIN);
    assert_eq!(state.alerts, vec![Alert::ValidityExpired { end_ms: T0 + 4 * 60 * MIN }]);
}

#[test]
fn a_rejected_permit_is_final() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(
            &form,
            p.director,
            T0 - 50 * MIN,
            EventKind::Reject { step: "workshop_review".into(), comment: "措施不全".into() },
        ),
        p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("workshop_review")),
    ];
    let state = p.derive(&form, &events, T0);
    assert_eq!(state.status, Status::Rejected);
    assert!(matches!(rejection(&state, 2), Some(Violation::NotAllowedInStatus { .. })));
}

#[test]
fn a_suspended_permit_resumes_only_after_a_fresh_gas_test() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    events.push(p.event(&form, p.guardian, T0 + 10 * MIN, EventKind::Suspend { reason: "风力增大".into() }));
    events.push(p.event(&form, p.guardian, T0 + 60 * MIN, EventKind::Resume));
    events.push(p.event(&form, p.guardian, T0 + 61 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 62 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 63 * MIN);
    assert!(matches!(rejection(&state, 6), Some(Violation::GasTestTooOld { .. })));
    assert_eq!(state.status, Status::Active);
}

#[test]
fn a_failing_reading_during_work_suspends_at_once_and_only_a_passing_retest_and_the_issuer_resume_it() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let leak = GasReading {
        o2_pct: Some(20.9),
        lel_pct: Some(12.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MX4 #A1234".into(),
        ..Default::default()
    };
    events.push(p.event(&form, p.guardian, T0 + 30 * MIN, EventKind::GasTest { reading: leak }));
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    assert_eq!(state.status, Status::Suspended, "no one has to press anything");
    let failed = state.gas_tests.last().map(|t| t.event.clone()).expect("the failing test is on record");
    assert_eq!(state.suspension, Some(derive::Suspension::GasTestFailed { at_ms: T0 + 30 * MIN, event: failed }));
    assert!(state.alerts.contains(&Alert::GasFailedDuringWork { at_ms: T0 + 30 * MIN }));
    // Neither more work nor a resume on the failed reading.
    events.push(p.event(&form, p.applicant, T0 + 32 * MIN, EventKind::Complete));
    // The guardian may resume a stop, not a failed reading; the issuer may not without a re-test.
    events.push(p.event(&form, p.guardian, T0 + 33 * MIN, EventKind::Resume));
    events.push(p.event(&form, p.safety, T0 + 34 * MIN, EventKind::Resume));
    events.push(p.event(&form, p.guardian, T0 + 40 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + 41 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 42 * MIN);
    assert!(matches!(rejection(&state, 6), Some(Violation::NotAllowedInStatus { .. })), "{:?}", rejection(&state, 6));
    assert!(
        matches!(rejection(&state, 7), Some(Violation::NotPermitActor { action, .. }) if action == "resume"),
        "{:?}",
        rejection(&state, 7)
    );
    assert!(matches!(rejection(&state, 8), Some(Violation::GasTestFailed { .. })), "{:?}", rejection(&state, 8));
    assert!(matches!(rejection(&state, 10), Some(Violation::NotPermitActor { .. })), "{:?}", rejection(&state, 10));
    assert_eq!(state.status, Status::Suspended);
    // The offers say the same: the resume is the approvers' (刘洋, 王强), not the guardian's.
    let guardian = p.registry.person(p.guardian).expect("guardian");
    let safety = p.registry.person(p.safety).expect("safety");
    assert!(offers::may(&state, &form, &p.registry, guardian, offers::ActionKind::Resume).is_err());
    assert!(offers::may(&state, &form, &p.registry, safety, offers::ActionKind::Resume).is_ok());
    assert_eq!(offers::turn(&state, &form, &p.registry).who, vec![p.director, p.safety]);

    // The safety department, who approved it, revalidates after the passing re-test.
    events.push(p.event(&form, p.safety, T0 + 43 * MIN, EventKind::Resume));
    let state = p.derive(&form, &events, T0 + 44 * MIN);
    assert_eq!(state.status, Status::Active);
    assert_eq!(state.suspension, None);
    assert!(!state.alerts.iter().any(|a| matches!(a, Alert::GasFailedDuringWork { .. })));
}

#[test]
fn a_failing_reading_before_work_blocks_the_start_but_suspends_nothing() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = approved_events(&p, &form);
    let leak = GasReading {
        o2_pct: Some(18.0),
        lel_pct: Some(0.0),
        h2s_ppm: Some(0.0),
        co_ppm: Some(0.0),
        instrument: "MX4 #A1234".into(),
        ..Default::default()
    };
    events.push(p.event(&form, p.guardian, T0 - 5 * MIN, EventKind::GasTest { reading: leak }));
    let state = p.derive(&form, &events, T0);
    assert_eq!((state.status, state.suspension.clone()), (Status::Approved, None));
}

#[test]
fn the_same_engine_runs_a_confined_space_flow_with_a_guardian_confirmation() {
    let p = Plant::new();
    let mut registry = p.registry.clone();
    registry.people.iter_mut().filter(|x| x.id == p.safety2).for_each(|x| x.roles.push(Role::new("guardian")));
    let form = p.form("confined_space", "standard", 6 * 60);
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.safety2, T0 - 58 * MIN, Plant::approve("guardian_confirmation")),
        p.event(&form, p.guardian, T0 - 55 * MIN, Plant::approve("guardian_confirmation")),
        p.event(&form, p.safety, T0 - 50 * MIN, Plant::approve("safety_review")),
    ];
    let state = derive(p.permit, &form, &events, &registry, at(T0));
    assert_eq!(rejection(&state, 1), Some(&Violation::NotPermitGuardian));
    assert!(matches!(state.timeline[2].outcome, Outcome::Applied));
    assert_eq!(state.current_step.as_deref(), Some("workshop_approval"));
}

#[test]
fn at_a_shift_change_both_guardians_sign_and_the_incoming_one_is_the_guardian_from_then_on() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let base = events.len();
    let handover = |to: PersonId| EventKind::Handover {
        to,
        plant_state: "T-101 已倒空置换，盲板已加，现场动火点两处".into(),
        open_items: "东侧法兰焊缝待探伤".into(),
    };
    // Refused: by someone who is not the guardian, to a worker, to an approver, without words.
    events.push(p.event(&form, p.applicant, T0 + 100 * MIN, handover(p.other_guardian)));
    events.push(p.event(&form, p.guardian, T0 + 101 * MIN, handover(p.welder)));
    events.push(p.event(&form, p.guardian, T0 + 102 * MIN, handover(p.safety)));
    events.push(p.event(
        &form,
        p.guardian,
        T0 + 103 * MIN,
        EventKind::Handover { to: p.other_guardian, plant_state: " ".into(), open_items: String::new() },
    ));
    // Taking over what nobody handed over is refused too.
    events.push(p.event(&form, p.other_guardian, T0 + 104 * MIN, EventKind::TakeOver));
    // The handover, signed by the outgoing guardian; the wrong person cannot take it.
    events.push(p.event(&form, p.guardian, T0 + 110 * MIN, handover(p.other_guardian)));
    events.push(p.event(&form, p.welder, T0 + 111 * MIN, EventKind::TakeOver));
    let state = p.derive(&form, &events, T0 + 112 * MIN);
    assert_eq!(rejection(&state, base), Some(&Violation::NotPermitGuardian));
    assert_eq!(rejection(&state, base + 1), Some(&Violation::NotAGuardianToHandTo { person: p.welder }));
    assert_eq!(rejection(&state, base + 2), Some(&Violation::NotAGuardianToHandTo { person: p.safety }));
    assert_eq!(rejection(&state, base + 3), Some(&Violation::EmptyText));
    assert_eq!(rejection(&state, base + 4), Some(&Violation::NoHandoverPending));
    assert_eq!(rejection(&state, base + 6), Some(&Violation::NotHandoverTarget { to: p.other_guardian }));
    assert_eq!(state.guardian(), Some(p.guardian), "until the incoming guardian signs, the outgoing one watches");
    let pending = state.handover.clone().expect("a handover waits");
    assert_eq!(
        (pending.from, pending.to, pending.open_items.as_str()),
        (p.guardian, p.other_guardian, "东侧法兰焊缝待探伤")
    );
    assert_eq!(
        offers::turn(&state, &form, &p.registry).who,
        vec![p.other_guardian],
        "it is the incoming guardian's turn"
    );

    // The incoming guardian takes over: from then on the permit's guardian acts are theirs.
    events.push(p.event(&form, p.other_guardian, T0 + 115 * MIN, EventKind::TakeOver));
    events.push(p.event(&form, p.guardian, T0 + 116 * MIN, EventKind::Suspend { reason: "交班后".into() }));
    events.push(p.event(&form, p.other_guardian, T0 + 117 * MIN, EventKind::Suspend { reason: "风力增大".into() }));
    let state = p.derive(&form, &events, T0 + 118 * MIN);
    assert_eq!(state.guardian(), Some(p.other_guardian));
    assert!(state.handover.is_none());
    assert_eq!(state.shifts.len(), 1);
    assert_eq!(state.shifts[0].handover, pending.event);
    assert!(
        matches!(rejection(&state, base + 8), Some(Violation::NotPermitActor { .. })),
        "{:?}",
        rejection(&state, base + 8)
    );
    assert_eq!(rejection(&state, base + 9), None);
    assert_eq!(state.status, Status::Suspended);
}

#[test]
fn hot_work_in_wind_of_force_five_or_other_special_weather_is_managed_one_grade_higher() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "grade_2", 4 * 60);
    assert_eq!(grade_problems(&p, &form), vec![], "grade 2 in fair weather, where no class sets a floor");
    form.details.insert("special_weather".into(), FieldValue::YesNo(false));
    assert_eq!(grade_problems(&p, &form), vec![], "answered no, nothing is raised");
    form.details.insert("special_weather".into(), FieldValue::YesNo(true));
    let raised = FieldProblem::GradeBelowRequired {
        min_grade: "grade_1".into(),
        location_class: None,
        raised_by: vec![],
        subtype: None,
        computed_from: None,
        aggravated_by: vec!["special_weather".into()],
        set_by: vec![],
        waived_by: None,
    };
    assert_eq!(grade_problems(&p, &form), vec![raised]);
    assert_eq!(form.proposed_grade(&p.registry), "grade_1", "filing proposes it");
    let required = form.grade_requirement(&p.registry).expect("a requirement");
    assert!(required.raise.is_none(), "no calendar day or hour raised it");
    // On a pipe rack (at least grade 1) the weather raises it to special.
    form.location = Some(p.pipe_rack);
    assert_eq!(form.grade_requirement(&p.registry).map(|r| r.min_grade), Some("special"));
    // Special grade has no grade above it: it stays special.
    form.location = Some(p.location);
    form.details.insert("running_equipment".into(), FieldValue::YesNo(true));
    assert_eq!(form.grade_requirement(&p.registry).map(|r| r.min_grade), Some("special"));
    // A dishonest tablet that files it as grade 2 anyway cannot submit it.
    form.details.remove("running_equipment");
    let submit = p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form));
    let state = p.derive(&form, &[submit], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })), "{:?}", rejection(&state, 0));
}

#[test]
fn hot_work_in_a_shut_down_purged_and_analysed_unit_may_be_grade_two_but_only_with_the_plant_leaderships_approval() {
    let mut p = Plant::new();
    p.round_the_clock();
    // T-101 is a fire and explosion hazard place: hot work there is at least grade 1.
    p.registry.locations.iter_mut().filter(|l| l.id == p.location).for_each(|l| {
        l.classes = vec!["fire_explosion_hazard".into()];
    });
    let mut form = p.form("hot_work", "grade_2", 4 * 60);
    let floor = raised("grade_1", Some("fire_explosion_hazard"), &[]);
    assert_eq!(grade_problems(&p, &form), floor);
    form.details.insert("unit_shut_down".into(), FieldValue::YesNo(false));
    assert_eq!(grade_problems(&p, &form), floor, "answered no, nothing is lowered");

    // The unit is shut down, purged and analysed: grade 2 is allowed, and the form says why.
    form.details.insert("unit_shut_down".into(), FieldValue::YesNo(true));
    assert_eq!(grade_problems(&p, &form), vec![]);
    let required = form.grade_requirement(&p.registry).expect("a requirement");
    assert_eq!(required.min_grade, "grade_2");
    assert_eq!(required.floor, None, "the hazard place's floor is lifted");
    assert!(required.waived.is_some_and(|w| w.source.contains("GB 30871")), "the rule carries its clause");
    assert_eq!(form.proposed_grade(&p.registry), "grade_2");

    // … but only with the plant leadership's approval: the grade-2 flow gains the step.
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, T0 - 50 * MIN, Plant::approve("workshop_approval")),
    ];
    let state = p.derive(&form, &events, T0 - 45 * MIN);
    let steps: Vec<&str> = state.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(steps, ["workshop_approval", "shutdown_approval", "acceptance"]);
    assert_eq!(state.status, Status::InApproval, "the workshop alone cannot issue it");
    assert_eq!(state.current_step.as_deref(), Some("shutdown_approval"));
    // 王强 of the safety management department is not the plant leadership: refused.
    let mut refused = events.clone();
    refused.push(p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("shutdown_approval")));
    let state = p.derive(&form, &refused, T0 - 35 * MIN);
    assert!(matches!(rejection(&state, 2), Some(Violation::MissingRole { .. })), "{:?}", rejection(&state, 2));
    let mut approved = events.clone();
    approved.push(p.event(&form, p.manager, T0 - 40 * MIN, Plant::approve("shutdown_approval")));
    let state = p.derive(&form, &approved, T0 - 35 * MIN);
    assert_eq!(state.status, Status::Approved);

    // An ordinary grade-2 permit, where nothing was lowered, has no such step.
    let plain = p.form("hot_work", "grade_2", 4 * 60);
    let state = p.derive(&plain, &[p.event(&plain, p.applicant, T0 - 60 * MIN, Plant::submit(&plain))], T0);
    let steps: Vec<&str> = state.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(steps, ["workshop_approval", "acceptance"]);

    // The waiver lifts the hazard place's floor only: on running equipment the work stays
    // special grade, and inside a major-hazard tank dike too.
    form.details.insert("running_equipment".into(), FieldValue::YesNo(true));
    assert_eq!(form.grade_requirement(&p.registry).map(|r| r.min_grade), Some("special"));
    form.details.insert("running_equipment".into(), FieldValue::YesNo(false));
    p.registry.locations.iter_mut().filter(|l| l.id == p.location).for_each(|l| {
        l.classes = vec!["fire_explosion_hazard".into(), "major_hazard_tank_dike".into()];
    });
    assert_eq!(form.grade_requirement(&p.registry).map(|r| r.min_grade), Some("special"));
}

#[test]
fn special_grade_hot_work_is_recorded_whole_on_an_explosion_proof_camera_and_grade_one_is_not_asked() {
    let p = Plant::new();
    let recording = "explosion_proof_recording";
    let hot = p.registry.catalog.permit_type("hot_work").expect("hot work");
    let item = hot.precautions.iter().find(|i| i.code == recording).expect("the camera item");
    assert!(item.required && item.applies_to("special") && !item.applies_to("grade_1"));
    let precaution_problems = |form: &PermitForm| -> Vec<FieldProblem> {
        form.validate(&p.registry).into_iter().filter(|e| e.field == Field::Precautions).map(|e| e.problem).collect()
    };
    let mut special = p.form("hot_work", "special", 4 * 60);
    special.precautions.retain(|c| c != recording);
    assert_eq!(precaution_problems(&special), vec![FieldProblem::PrecautionNotConfirmed { code: recording.into() }]);
    let mut grade_1 = p.form("hot_work", "grade_1", 4 * 60);
    grade_1.precautions.retain(|c| c != recording);
    assert_eq!(precaution_problems(&grade_1), vec![], "grade 1 is not asked it");
    // A dishonest tablet that leaves it out cannot submit the special-grade permit.
    let state = p.derive(&special, &[p.event(&special, p.applicant, T0 - 60 * MIN, Plant::submit(&special))], T0);
    assert!(matches!(rejection(&state, 0), Some(Violation::FormInvalid { .. })), "{:?}", rejection(&state, 0));
}
