//! Changes of an issued permit (作业变更), told to the pure engine: the change goes back
//! through the approval chain; the form of record changes only when the last step signs; the old
//! values stay visible; what was signed over the old content stays valid for what it signed.

mod common;
use common::*;
use ptw_core::derive::ChangeOutcome;
use ptw_core::form::{Field, FieldProblem};
use ptw_core::*;

fn later_end(minutes: i64) -> PermitChange {
    PermitChange {
        reason: ChangeReason::Weather,
        explanation: "大风停工一小时，结束时间顺延".into(),
        planned_start: None,
        planned_end: Some(at(T0 + minutes * MIN)),
        add_precautions: vec![],
        crew_add: vec![],
        crew_remove: vec![],
    }
}

fn request(change: PermitChange) -> EventKind {
    EventKind::ChangeRequest { change: Box::new(change) }
}

fn approve_change(change: &str, step: &str) -> EventKind {
    EventKind::ApproveChange { change: change.into(), step: step.into(), comment: "同意变更".into() }
}

#[test]
fn a_change_goes_through_the_approval_chain_and_changes_the_form_of_record_only_when_approved() {
    let p = Plant::new();
    let form = p.hot_work_form(); // grade 1, 4 h from T0
    let mut events = p.hot_work_story(&form)[..5].to_vec(); // started at T0 + 1 min
    let (ask, ask_stored) = p.event_struct(&form, p.applicant, T0 + 30 * MIN, request(later_end(5 * 60)));
    events.push(ask_stored);
    let change = ask.hash();
    let state = p.derive(&form, &events, T0 + 31 * MIN);
    assert!(state.rejected().next().is_none(), "{:?}", state.rejected().collect::<Vec<_>>());
    let pending = state.pending_change().expect("a change waits");
    assert_eq!(pending.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["workshop_review", "safety_approval"]);
    assert_eq!(pending.current_step.as_deref(), Some("workshop_review"));
    assert_eq!(state.form, form, "until approved, the old form stands");
    assert_eq!(state.status, Status::Active, "the work goes on meanwhile");

    let new_form = later_end(5 * 60).apply(&form);
    events.extend([
        // Out of turn, and the applicant is no approver.
        p.event(&form, p.safety, T0 + 32 * MIN, approve_change(&change, "safety_approval")),
        p.event(&form, p.applicant, T0 + 33 * MIN, approve_change(&change, "workshop_review")),
        // Signed over the new content before it is the content: refused.
        p.event(&new_form, p.guardian, T0 + 34 * MIN, Plant::good_gas()),
        p.event(&form, p.director, T0 + 35 * MIN, approve_change(&change, "workshop_review")),
        p.event(&form, p.safety, T0 + 36 * MIN, approve_change(&change, "safety_approval")),
        // From now on the new content is the one signed over.
        p.event(&form, p.guardian, T0 + 40 * MIN, EventKind::Suspend { reason: "复查".into() }),
        p.event(&new_form, p.guardian, T0 + 41 * MIN, EventKind::Suspend { reason: "复查".into() }),
    ]);
    let state = p.derive(&form, &events, T0 + 42 * MIN);
    assert_eq!(rejection(&state, 6), Some(&Violation::StepNotOpen { step: "safety_approval".into() }));
    assert!(matches!(rejection(&state, 7), Some(Violation::MissingRole { .. })));
    assert_eq!(rejection(&state, 8), Some(&Violation::ContentHashMismatch));
    assert_eq!(rejection(&state, 9), None);
    assert_eq!(rejection(&state, 10), None);
    assert_eq!(rejection(&state, 11), Some(&Violation::ContentHashMismatch));
    assert_eq!(rejection(&state, 12), None);
    assert_eq!(state.status, Status::Suspended);
    assert_eq!(state.form.planned_end, Some(at(T0 + 5 * 60 * MIN)));
    assert_eq!(state.form_hash, new_form.content_hash());
    let done = &state.changes[0];
    assert_eq!(done.outcome, ChangeOutcome::Approved { at_ms: T0 + 36 * MIN });
    assert_eq!(done.before.planned_end, Some(at(T0 + 4 * 60 * MIN)), "the old values stay visible");
    // The first approvals, signed over the old content, stand as they were.
    assert!(state.steps.iter().filter(|s| s.phase == catalog::Phase::Approval).all(|s| s.done_at.is_some()));
    assert!(state.pending_change().is_none());
    // The draft in the document is still the form as filed: no alert that it was edited.
    assert!(!state.alerts.contains(&ptw_core::rules::Alert::FormChangedAfterSubmit), "{:?}", state.alerts);
}

#[test]
fn a_change_past_the_validity_cap_or_that_changes_nothing_is_refused_and_only_one_waits_at_a_time() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let mut nothing = later_end(4 * 60);
    nothing.explanation = "无".into();
    let mut silent = later_end(5 * 60);
    silent.explanation = "  ".into();
    events.extend([
        // Grade 1 is capped at 8 h: 8 h and a minute is too long.
        p.event(&form, p.applicant, T0 + 10 * MIN, request(later_end(8 * 60 + 1))),
        p.event(&form, p.applicant, T0 + 11 * MIN, request(nothing)),
        p.event(&form, p.applicant, T0 + 12 * MIN, request(silent)),
        p.event(&form, p.guardian, T0 + 13 * MIN, request(later_end(5 * 60))),
        p.event(&form, p.applicant, T0 + 14 * MIN, request(later_end(8 * 60))),
        p.event(&form, p.applicant, T0 + 15 * MIN, request(later_end(6 * 60))),
    ]);
    let state = p.derive(&form, &events, T0 + 16 * MIN);
    assert!(matches!(rejection(&state, 5), Some(Violation::FormInvalid { errors })
        if errors.iter().any(|e| e.field == Field::PlannedEnd && matches!(e.problem, FieldProblem::ValidityTooLong { .. }))));
    assert_eq!(rejection(&state, 6), Some(&Violation::ChangeChangesNothing));
    assert_eq!(rejection(&state, 7), Some(&Violation::EmptyText));
    assert!(matches!(rejection(&state, 8), Some(Violation::NotPermitActor { .. })), "the guardian does not ask");
    assert_eq!(rejection(&state, 9), None, "exactly 8 h is within the cap: an extension");
    assert_eq!(rejection(&state, 10), Some(&Violation::ChangePending));
}

#[test]
fn a_rejected_change_leaves_the_permit_as_it_was_and_a_new_one_may_be_asked() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let (ask, stored) = p.event_struct(&form, p.applicant, T0 + 10 * MIN, request(later_end(6 * 60)));
    events.push(stored);
    let change = ask.hash();
    let reject = |comment: &str| EventKind::RejectChange {
        change: change.clone(),
        step: "workshop_review".into(),
        comment: comment.into(),
    };
    events.extend([
        p.event(&form, p.director, T0 + 11 * MIN, reject("")),
        p.event(&form, p.director, T0 + 12 * MIN, reject("风力仍大，另行办票")),
        // An approval of the change that was refused finds nothing waiting.
        p.event(&form, p.director, T0 + 13 * MIN, approve_change(&change, "workshop_review")),
        p.event(&form, p.applicant, T0 + 14 * MIN, request(later_end(5 * 60))),
    ]);
    let state = p.derive(&form, &events, T0 + 15 * MIN);
    assert_eq!(rejection(&state, 6), Some(&Violation::EmptyText), "a refusal says why");
    assert_eq!(rejection(&state, 7), None);
    assert_eq!(rejection(&state, 8), Some(&Violation::NoSuchChange { change: change.clone() }));
    assert_eq!(rejection(&state, 9), None);
    assert_eq!(state.form, form);
    assert!(matches!(state.changes[0].outcome, ChangeOutcome::Rejected { by, .. } if by == p.director));
    assert!(state.pending_change().is_some(), "the second request waits");
}

#[test]
fn a_worker_the_change_adds_cannot_approve_it_and_a_grade_without_changes_refuses_them() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    // 赵磊 (workshop director) would join the crew: he may not sign the change that adds him.
    let mut add = later_end(4 * 60);
    add.crew_add = vec![p.foreman_officer];
    add.reason = ChangeReason::ScopeChange;
    let (ask, stored) = p.event_struct(&form, p.applicant, T0 + 10 * MIN, request(add));
    events.push(stored);
    events.push(p.event(&form, p.foreman_officer, T0 + 11 * MIN, approve_change(&ask.hash(), "workshop_review")));
    let state = p.derive(&form, &events, T0 + 12 * MIN);
    assert_eq!(rejection(&state, 5), None);
    assert_eq!(rejection(&state, 6), Some(&Violation::ApproverIsCrew));

    let mut strict = Plant::new();
    strict.registry.catalog.permit_types[0].grades[1].changes = None;
    let form = strict.hot_work_form();
    let mut events = strict.hot_work_story(&form)[..5].to_vec();
    events.push(strict.event(&form, strict.applicant, T0 + 10 * MIN, request(later_end(5 * 60))));
    let state = strict.derive(&form, &events, T0 + 11 * MIN);
    assert_eq!(rejection(&state, 5), Some(&Violation::ChangesNotAllowed));
}

/// The same events in any order of arrival give the same permit: a change and its signatures
/// are ordered by their clocks, not by when a device received them.
#[test]
fn a_change_and_its_signatures_converge_whatever_order_they_arrive_in() {
    let p = Plant::new();
    let form = p.hot_work_form();
    let mut events = p.hot_work_story(&form)[..5].to_vec();
    let (ask, stored) = p.event_struct(&form, p.applicant, T0 + 30 * MIN, request(later_end(5 * 60)));
    events.push(stored);
    events.push(p.event(&form, p.director, T0 + 35 * MIN, approve_change(&ask.hash(), "workshop_review")));
    events.push(p.event(&form, p.safety, T0 + 36 * MIN, approve_change(&ask.hash(), "safety_approval")));
    let new_form = later_end(5 * 60).apply(&form);
    events.push(p.event(&new_form, p.guardian, T0 + 40 * MIN, EventKind::Suspend { reason: "复查".into() }));
    let forward = p.derive(&form, &events, T0 + 41 * MIN);
    let mut backward = events.clone();
    backward.reverse();
    backward.rotate_left(2);
    let other = p.derive(&form, &backward, T0 + 41 * MIN);
    assert_eq!(forward.form_hash, other.form_hash);
    assert_eq!(forward.changes, other.changes);
    assert_eq!(forward.status, Status::Suspended);
    assert_eq!(other.status, Status::Suspended);
}
