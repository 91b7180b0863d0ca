//! Stories of the alert engine (R-ALERT, R-SLA), told at each alert's thresholds: who is told,
//! how loud, by when, and how an overdue step climbs the escalation chain of the catalog.

mod common;
use common::*;
use ptw_core::alerts::{self, PermitWatch, Raised, Severity, Subject};
use ptw_core::catalog::Role;
use ptw_core::rules::Alert;
use ptw_core::*;

/// The alerts of the permit with `events` at `now_ms`, as the engine raises them from the
/// permit's watch.
fn raised(p: &Plant, form: &PermitForm, events: &[String], now_ms: i64) -> Vec<Raised> {
    let state = p.derive(form, events, now_ms);
    let watch = PermitWatch::of(&state, form, &p.registry);
    alerts::permit_alerts(&watch, &p.registry, now_ms)
}

fn one<'a>(all: &'a [Raised], code: &str) -> Option<&'a Raised> {
    all.iter().find(|r| r.alert.code() == code)
}

fn sorted(mut people: Vec<PersonId>) -> Vec<PersonId> {
    people.sort();
    people
}

/// The hot-work permit submitted at T0 − 60 min: its first step, the workshop review, opens
/// then and is due at T0 (60 min).
fn submitted(p: &Plant, form: &PermitForm) -> Vec<String> {
    p.hot_work_story(form)[..1].to_vec()
}

const REVIEW_KEY: &str = "step_overdue//workshop_review/1796022000000";

#[test]
fn a_step_reminds_its_signers_from_the_catalogs_minutes_before_its_limit() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = submitted(&p, &form);
    assert!(raised(&p, &form, &events, T0 - 15 * MIN - 1).is_empty(), "nothing before the reminder");
    let all = raised(&p, &form, &events, T0 - 15 * MIN);
    let due = one(&all, "step_due_soon").expect("the reminder");
    assert_eq!(due.alert, Alert::StepDueSoon { step: "workshop_review".into(), due_ms: T0 });
    assert_eq!(due.severity, Severity::Notice);
    assert_eq!(due.deadline_ms, Some(T0));
    assert_eq!(due.since_ms, Some(T0 - 15 * MIN));
    assert_eq!(due.subject, Subject::Permit { permit: p.permit });
    // Both workshop directors may sign; the applicant's other role does not count for him.
    assert_eq!(sorted(due.act.clone()), sorted(vec![p.director, p.foreman_officer]));
    let at_limit = raised(&p, &form, &events, T0);
    assert!(one(&at_limit, "step_due_soon").is_some() && one(&at_limit, "step_overdue").is_none(), "due, not late");
    let signed = p.hot_work_story(&form)[..2].to_vec();
    let next = raised(&p, &form, &signed, T0 - 15 * MIN);
    assert!(one(&next, "step_due_soon").is_none(), "the next step opened at T0 − 50 min and is due at T0 + 10 min");
}

#[test]
fn an_overdue_step_escalates_to_the_next_level_of_the_flow_then_the_safety_manager_then_the_plant_manager() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = submitted(&p, &form);
    let signers = vec![p.director, p.foreman_officer];
    let safety = vec![p.safety, p.safety2];
    let managers = vec![p.manager, p.manager2];

    let late = raised(&p, &form, &events, T0 + 1);
    let r = one(&late, "step_overdue").expect("overdue");
    assert_eq!(r.alert, Alert::StepOverdue { step: "workshop_review".into(), due_ms: T0, level: 1 });
    assert_eq!((r.level, r.severity), (1, Severity::Warning));
    // Level 1: the next step of the flow is the safety approval, so its role hears of it.
    assert_eq!(sorted(r.act.clone()), sorted([signers.clone(), safety.clone()].concat()));
    assert_eq!(r.roles, vec![Role::new("workshop_director"), Role::new("safety_manager")]);
    assert_eq!(r.deadline_ms, Some(T0 + 60 * MIN), "the next level's time");
    assert_eq!(r.since_ms, Some(T0));
    assert_eq!(r.key, REVIEW_KEY);

    let r = raised(&p, &form, &events, T0 + 60 * MIN - 1);
    assert_eq!(one(&r, "step_overdue").map(|r| r.level), Some(1), "one ms before level 2");
    let later = raised(&p, &form, &events, T0 + 60 * MIN);
    let r = one(&later, "step_overdue").expect("overdue");
    assert_eq!((r.level, r.severity), (2, Severity::Critical));
    assert_eq!(r.state_key(), format!("{REVIEW_KEY}#2"), "a new state: notified again");

    let latest = raised(&p, &form, &events, T0 + 120 * MIN);
    let r = one(&latest, "step_overdue").expect("overdue");
    assert_eq!(r.level, 3);
    assert_eq!(sorted(r.act.clone()), sorted([signers, safety, managers].concat()));
    assert_eq!(r.deadline_ms, None, "the chain has no level above");

    // Signed: the alert is gone, and the next step's clock starts.
    let mut signed = events.clone();
    signed.push(p.event(&form, p.director, T0 + 121 * MIN, Plant::approve("workshop_review")));
    let after = raised(&p, &form, &signed, T0 + 122 * MIN);
    assert!(one(&after, "step_overdue").is_none(), "{after:?}");
}

#[test]
fn the_last_step_of_a_phase_escalates_to_its_own_role_at_the_first_level() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..2].to_vec();
    // The safety approval opened at T0 − 50 min, due T0 + 10 min; it is the last approval step.
    events.truncate(2);
    let r = raised(&p, &form, &events, T0 + 11 * MIN);
    let r = one(&r, "step_overdue").expect("overdue");
    assert_eq!(r.roles, vec![Role::new("safety_manager")]);
    assert_eq!(sorted(r.act.clone()), sorted(vec![p.safety, p.safety2]));
}

#[test]
fn an_acknowledgement_by_someone_asked_stops_the_escalation_at_its_level_once() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = submitted(&p, &form);
    let ack = |alert: &str| EventKind::Acknowledge { alert: alert.into() };
    // 李娜 is the permit's guardian, not asked to act on the review.
    events.push(p.event(&form, p.guardian, T0 + 10 * MIN, ack(REVIEW_KEY)));
    events.push(p.event(&form, p.director, T0 + 20 * MIN, ack("step_overdue//safety_approval/1")));
    events.push(p.event(&form, p.director, T0 + 30 * MIN, ack(REVIEW_KEY)));
    events.push(p.event(&form, p.foreman_officer, T0 + 40 * MIN, ack(REVIEW_KEY)));
    // Before it was raised, nothing to acknowledge.
    events.push(p.event(&form, p.director, T0 - 30 * MIN, ack("step_due//workshop_review/1796022000000")));
    let state = p.derive(&form, &events, T0 + 3 * 60 * MIN);
    let refusals: Vec<_> = state.rejected().map(|(e, v)| (e.as_ref().map(|e| e.time_ms()), v.clone())).collect();
    assert_eq!(
        refusals,
        vec![
            (Some(T0 - 30 * MIN), Violation::NoSuchAlert),
            (Some(T0 + 10 * MIN), Violation::NotAskedToAct),
            (Some(T0 + 20 * MIN), Violation::NoSuchAlert),
            (Some(T0 + 40 * MIN), Violation::AlertAcknowledgedAlready),
        ]
    );
    assert_eq!(state.acks.len(), 1);
    let watch = PermitWatch::of(&state, &form, &p.registry);
    let all = alerts::permit_alerts(&watch, &p.registry, T0 + 3 * 60 * MIN);
    let r = one(&all, "step_overdue").expect("still overdue: acknowledging is not signing");
    assert_eq!(r.level, 1, "it stays where it was when 刘洋 took it");
    assert_eq!(r.acknowledged.as_ref().map(|a| (a.by, a.at_ms)), Some((p.director, T0 + 30 * MIN)));
    assert_eq!(r.deadline_ms, None);
    assert!(!r.act.contains(&p.manager), "the plant manager is not told");
}

#[test]
fn a_running_permit_warns_an_hour_before_its_window_ends_and_is_critical_after() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form)[..5].to_vec();
    let end = T0 + 4 * 60 * MIN;
    let site = sorted(vec![p.guardian, p.applicant]);
    assert!(one(&raised(&p, &form, &events, end - 60 * MIN - 1), "validity_ending").is_none());
    let all = raised(&p, &form, &events, end - 60 * MIN);
    let r = one(&all, "validity_ending").expect("ending");
    assert_eq!((r.severity, r.deadline_ms, sorted(r.act.clone())), (Severity::Warning, Some(end), site.clone()));
    let all = raised(&p, &form, &events, end);
    assert!(one(&all, "validity_ending").is_none());
    let r = one(&all, "validity_expired").expect("expired");
    assert_eq!((r.severity, sorted(r.act.clone())), (Severity::Critical, site));
    // An approved permit whose work has not started runs no window yet.
    let approved = p.hot_work_story(&form)[..4].to_vec();
    assert!(one(&raised(&p, &form, &approved, end - 30 * MIN), "validity_ending").is_none());
}

#[test]
fn a_confined_space_warns_before_its_two_hour_retest_and_is_critical_once_it_is_missed() {
    let p = Plant::new();
    let form = p.form("confined_space", "standard", 6 * 60);
    let mut events = p.approved_confined_space(&form);
    events.push(p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()));
    events.push(p.event(&form, p.guardian, T0 + MIN, EventKind::Start));
    let due = T0 - 10 * MIN + 120 * MIN;
    assert!(one(&raised(&p, &form, &events, due - 15 * MIN - 1), "gas_retest_due_soon").is_none());
    let all = raised(&p, &form, &events, due - 15 * MIN);
    let r = one(&all, "gas_retest_due_soon").expect("soon");
    assert_eq!(r.alert, Alert::GasRetestDueSoon { last_ms: T0 - 10 * MIN, max_minutes: 120, due_ms: due });
    assert_eq!(r.severity, Severity::Warning);
    let all = raised(&p, &form, &events, due);
    assert!(one(&all, "gas_retest_due").is_none(), "exactly two hours old still does");
    let all = raised(&p, &form, &events, due + 1);
    let r = one(&all, "gas_retest_due").expect("missed");
    assert_eq!((r.severity, r.deadline_ms), (Severity::Critical, Some(due)));
    // A re-test starts the clock again.
    events.push(p.event(&form, p.guardian, due - MIN, Plant::good_gas()));
    let all = raised(&p, &form, &events, due + 1);
    assert!(one(&all, "gas_retest_due").is_none() && one(&all, "gas_retest_due_soon").is_none());
}

#[test]
fn the_fire_watcher_is_told_ten_minutes_before_the_watch_ends_and_asked_to_sign_it_off_after() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form)[..6].to_vec();
    let until = T0 + 180 * MIN + 30 * MIN;
    assert!(one(&raised(&p, &form, &events, until - 10 * MIN - 1), "fire_watch_ending").is_none());
    let all = raised(&p, &form, &events, until - 10 * MIN);
    let r = one(&all, "fire_watch_ending").expect("ending");
    assert_eq!((r.severity, r.deadline_ms), (Severity::Notice, Some(until)));
    assert!(r.act.contains(&p.guardian), "{:?}", r.act);
    let all = raised(&p, &form, &events, until);
    let r = one(&all, "fire_watch_over").expect("over");
    assert_eq!(r.severity, Severity::Warning);
    assert!(one(&all, "step_due_soon").is_none(), "acceptance is not open to sign while the watch waits");
    let signed_off = p.hot_work_story(&form)[..7].to_vec();
    let all = raised(&p, &form, &signed_off, until + 5 * MIN);
    assert!(one(&all, "fire_watch_over").is_none());
}

#[test]
fn a_certificate_warns_its_holder_within_its_types_days_and_the_safety_managers_once_expired() {
    let mut p = Plant::new();
    let days = 24 * 60 * MIN;
    let to = T0 + 100 * days;
    let welding =
        p.registry.certificates.iter_mut().find(|c| c.person == p.welder && c.cert_type == "welding_thermal_cutting");
    welding.expect("the welder's certificate").valid_to_ms = to;
    let cert = |all: &[Raised], code: &str| -> Option<Raised> {
        all.iter()
            .find(|r| {
                r.alert.code() == code && matches!(r.subject, Subject::Certificate { person, .. } if person == p.welder)
            })
            .cloned()
    };
    // Welding certificates warn 60 days ahead (the catalog).
    assert!(cert(&alerts::registry_alerts(&p.registry, to - 60 * days - 1), "certificate_expiring").is_none());
    let r = cert(&alerts::registry_alerts(&p.registry, to - 60 * days), "certificate_expiring").expect("expiring");
    assert_eq!((r.severity, r.act.clone(), r.deadline_ms), (Severity::Notice, vec![p.welder], Some(to)));
    let r = cert(&alerts::registry_alerts(&p.registry, to), "certificate_expired").expect("expired");
    assert_eq!(r.severity, Severity::Warning);
    assert_eq!(sorted(r.act.clone()), sorted(vec![p.welder, p.safety, p.safety2]));
    assert!(cert(&alerts::registry_alerts(&p.registry, to), "certificate_expiring").is_none());
}

#[test]
fn a_worker_whose_certificate_expires_during_work_raises_a_critical_alert_on_the_live_permit() {
    let mut p = Plant::new();
    let form = p.hot_work_form();
    let events = p.hot_work_story(&form)[..5].to_vec();
    let to = T0 + 60 * MIN;
    let welding =
        p.registry.certificates.iter_mut().find(|c| c.person == p.welder && c.cert_type == "welding_thermal_cutting");
    welding.expect("the welder's certificate").valid_to_ms = to;
    assert!(one(&raised(&p, &form, &events, to - 1), "unqualified").is_none());
    let all = raised(&p, &form, &events, to);
    let r = one(&all, "unqualified").expect("the welder no longer qualifies");
    assert_eq!(r.severity, Severity::Critical);
    assert_eq!(r.since_ms, Some(to));
    assert_eq!(sorted(r.act.clone()), sorted(vec![p.guardian, p.applicant, p.welder, p.safety, p.safety2]));
    match &r.alert {
        Alert::Unqualified { unqualified } => assert_eq!(unqualified.person, p.welder),
        other => panic!("{other:?}"),
    }
    // Once the permit is closed nobody works on it: no alert.
    let closed = p.hot_work_story(&form);
    assert!(one(&raised(&p, &form, &closed, T0 + 5 * 60 * MIN), "unqualified").is_none());
}

#[test]
fn a_failing_reading_during_work_is_critical_for_the_guardian_and_the_applicant() {
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
    let all = raised(&p, &form, &events, T0 + 31 * MIN);
    let r = one(&all, "gas_failed_during_work").expect("raised");
    assert_eq!((r.severity, r.since_ms), (Severity::Critical, Some(T0 + 30 * MIN)));
    assert_eq!(sorted(r.act.clone()), sorted(vec![p.guardian, p.applicant]));
    assert_eq!(all.first().map(|r| r.severity), Some(Severity::Critical), "most severe first");
}

#[test]
fn the_engine_raises_the_same_alerts_from_a_watch_kept_as_json_as_from_the_derived_permit() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let events = submitted(&p, &form);
    let now = T0 + 61 * MIN;
    let state = p.derive(&form, &events, now);
    let watch = PermitWatch::of(&state, &form, &p.registry);
    let kept: PermitWatch = serde_json::from_str(&serde_json::to_string(&watch).expect("json")).expect("reads back");
    assert_eq!(kept, watch);
    let scanned = alerts::scan([&kept], &p.registry, now);
    let from_permit: Vec<Alert> =
        scanned.iter().filter(|r| r.permit() == Some(p.permit)).map(|r| r.alert.clone()).collect();
    assert_eq!(from_permit, state.alerts, "the detail page and the inbox say the same");
    assert!(!from_permit.is_empty());
    // A closed permit with everyone checked out has nothing to watch.
    let closed = p.derive(&form, &p.hot_work_story(&form), T0 + 5 * 60 * MIN);
    assert!(PermitWatch::of(&closed, &form, &p.registry).is_empty());
}

/// A line-blinding job (fitting a blind) on `pipe`, submitted at T0 − 60 min as permit `n`,
/// for 4 hours from T0 + `from_min`: its watch.
fn blinding(p: &mut Plant, n: u128, pipe: &str, from_min: i64) -> PermitWatch {
    let mut form = p.form("line_blinding", "standard", 4 * 60);
    form.planned_start = Some(at(T0 + from_min * MIN));
    form.planned_end = Some(at(T0 + (from_min + 240) * MIN));
    form.title = format!("{pipe} 加盲板 #{n}");
    form.subtype = Some("fit".into());
    form.details = [
        ("blind_number", FieldValue::Text(format!("MB-{n:03}"))),
        ("pipe", FieldValue::Text(pipe.into())),
        ("medium", FieldValue::Text("甲苯".into())),
        ("temperature_c", FieldValue::Number(35.0)),
        ("pressure_mpa", FieldValue::Number(0.0)),
        ("blind_spec", FieldValue::Text("DN150 PN16 304".into())),
        ("diagram_ref", FieldValue::Text("MB-图-2026-031".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let hot_work = p.permit;
    p.permit = PermitId(uuid::Uuid::from_u128(0x0190_c5a0_0000_7000_8000_0000_0000_5000 + n));
    let events = vec![p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form))];
    let state = p.derive(&form, &events, T0 - 30 * MIN);
    assert_eq!(state.status, Status::InApproval, "{:?}", state.rejected().collect::<Vec<_>>());
    let watch = PermitWatch::of(&state, &form, &p.registry);
    p.permit = hot_work;
    watch
}

fn conflicts(watches: &[&PermitWatch], p: &Plant, now_ms: i64) -> Vec<Raised> {
    alerts::scan(watches.iter().copied(), &p.registry, now_ms)
        .into_iter()
        .filter(|r| r.alert.code() == "conflict")
        .collect()
}

#[test]
fn never_two_line_blinding_jobs_on_one_pipe_at_once() {
    let mut p = Plant::new();
    let a = blinding(&mut p, 1, "T-101 出料线 DN150", 0);
    // The same pipe written another way is the same pipe.
    let b = blinding(&mut p, 2, "t-101  出料线 dn150 ", 60);
    let elsewhere = blinding(&mut p, 3, "T-102 进料线 DN100", 0);
    let later = blinding(&mut p, 4, "T-101 出料线 DN150", 300);
    let now = T0 - 30 * MIN;
    let found = conflicts(&[&a, &b, &elsewhere, &later], &p, now);
    assert_eq!(found.len(), 2, "one pair, an alert on each: {found:#?}");
    let on_a = found.iter().find(|r| r.permit() == Some(a.permit)).expect("on the first");
    assert_eq!(
        on_a.alert,
        Alert::Conflict {
            rule: "two_blinds_one_pipe".into(),
            other: b.permit,
            other_title: "t-101  出料线 dn150  加盲板 #2".into(),
            shared: "t-101 出料线 dn150".into(),
        }
    );
    assert_eq!(on_a.severity, Severity::Warning, "neither job has started");
    assert_eq!(on_a.deadline_ms, Some(T0 + 60 * MIN), "the overlap begins when the second job does");
    assert_eq!(on_a.key, format!("conflict/two_blinds_one_pipe/{}", b.permit));
    assert!(on_a.act.contains(&p.applicant) && on_a.act.contains(&p.safety), "the applicant and the safety managers");
    assert_eq!(on_a.roles, vec![Role::new("safety_manager")]);
    let on_b = found.iter().find(|r| r.permit() == Some(b.permit)).expect("on the second");
    assert!(matches!(&on_b.alert, Alert::Conflict { other, .. } if *other == a.permit));
    // The job planned to start as the second one's window ends overlaps neither.
    assert!(found.iter().all(|r| r.permit() != Some(later.permit) && r.permit() != Some(elsewhere.permit)));
    // The other closed (no longer watched for conflicts): the alert ends.
    let mut closed = b.clone();
    closed.simops = None;
    assert!(conflicts(&[&a, &closed], &p, now).is_empty());
}

#[test]
fn no_hot_work_at_a_line_blinding_job_and_critical_once_the_hot_work_runs() {
    let mut p = Plant::new();
    let form = p.hot_work_form();
    let blind = blinding(&mut p, 1, "T-101 出料线 DN150", -30);
    let approved = p.derive(&form, &p.hot_work_story(&form)[..3], T0 - 30 * MIN);
    assert_eq!(approved.status, Status::Approved);
    let hot = PermitWatch::of(&approved, &form, &p.registry);
    let found = conflicts(&[&blind, &hot], &p, T0 - 30 * MIN);
    assert_eq!(found.len(), 2, "{found:#?}");
    let on_hot = found.iter().find(|r| r.permit() == Some(p.permit)).expect("on the hot work");
    assert_eq!(
        on_hot.alert,
        Alert::Conflict {
            rule: "hot_work_near_blinding".into(),
            other: blind.permit,
            other_title: "T-101 出料线 DN150 加盲板 #1".into(),
            shared: String::new(),
        }
    );
    assert_eq!(on_hot.severity, Severity::Warning);
    assert!(on_hot.act.contains(&p.guardian), "the hot work's guardian is told");

    let active = p.derive(&form, &p.hot_work_story(&form)[..5], T0 + 2 * MIN);
    assert_eq!(active.status, Status::Active);
    let running = PermitWatch::of(&active, &form, &p.registry);
    let found = conflicts(&[&blind, &running], &p, T0 + 2 * MIN);
    assert!(found.iter().all(|r| r.severity == Severity::Critical), "work runs beside the blind job: {found:#?}");

    // Hot work at another location is no conflict of this rule.
    let mut away = running.clone();
    away.location = Some(p.pipe_rack);
    assert!(conflicts(&[&blind, &away], &p, T0 + 2 * MIN).is_empty());
    // A catalog with no conflict rules raises none.
    let mut plain = p.registry.clone();
    plain.catalog.alerting.conflicts.clear();
    assert!(alerts::conflict_alerts(&[&blind, &running], &plain, T0 + 2 * MIN).is_empty());
}

#[test]
fn special_grade_hot_work_is_monitored_continuously_a_reading_at_least_every_two_hours_and_grade_one_is_not() {
    let p = Plant::new();
    let mut form = p.form("hot_work", "special", 6 * 60);
    form.details.insert("running_equipment".into(), FieldValue::YesNo(true));
    form.assignees.insert("leadership_approval".into(), vec![p.manager]);
    let events = vec![
        p.event(&form, p.applicant, T0 - 60 * MIN, Plant::submit(&form)),
        p.event(&form, p.director, T0 - 50 * MIN, Plant::approve("workshop_review")),
        p.event(&form, p.safety, T0 - 40 * MIN, Plant::approve("safety_review")),
        p.event(&form, p.manager, T0 - 30 * MIN, Plant::approve("leadership_approval")),
        p.event(&form, p.guardian, T0 - 10 * MIN, Plant::good_gas()),
        p.event(&form, p.guardian, T0 + MIN, EventKind::Start),
    ];
    let state = p.derive(&form, &events, T0 + 2 * MIN);
    assert_eq!(state.status, Status::Active, "{:?}", state.rejected().collect::<Vec<_>>());
    let due = T0 - 10 * MIN + 120 * MIN;
    assert!(one(&raised(&p, &form, &events, due), "gas_retest_due").is_none(), "two hours old is still in time");
    let late = raised(&p, &form, &events, due + 1);
    let r = one(&late, "gas_retest_due").expect("the reading is overdue");
    assert_eq!(r.alert, Alert::GasRetestDue { last_ms: T0 - 10 * MIN, max_minutes: 120 });
    assert_eq!(r.severity, Severity::Critical);
    let grade = p.registry.catalog.grade("hot_work", "special").expect("special");
    assert!(grade.gas_test.as_ref().expect("gas rule").source.contains("continuous monitoring"));

    // Grade 1 asks a test before the start only.
    let form = p.hot_work_form();
    let story = p.hot_work_story(&form)[..5].to_vec();
    assert!(one(&raised(&p, &form, &story, due + 60 * MIN), "gas_retest_due").is_none());
}
