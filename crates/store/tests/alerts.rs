//! The device's alert inbox over a real SQLite file: computed afresh at each moment from the
//! watches kept with the rows, so an alert that comes due with time shows in the inbox and in
//! the list's count without anything being written; acknowledged through a signed event.

mod common;
use chrono::Duration;
use common::*;
use ptw_core::alerts::Severity;
use ptw_core::api::{Action, ListQuery};
use ptw_core::rules::Alert;
use ptw_core::Violation;
use ptw_store::StoreError;

#[test]
fn the_inbox_and_the_list_count_follow_the_clock_and_an_acknowledgement_quietens_the_escalation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let t = t0();
    let mut store = open_demo(&db);
    let zhao = person("赵磊");
    let draft = store.create_permit(zhao, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft");
    let id = draft.id;
    store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submitted");
    // The workshop review opened at t + 1 min and is due at t + 61 min; 刘洋 signs it.
    let liu = person("刘洋");
    let wang = person("王强");
    let list_count = |store: &ptw_store::Store, at| {
        let rows = store.list_at(&ListQuery::default(), at).expect("list");
        rows.iter().find(|r| r.id == id).map(|r| r.alert_count).expect("row")
    };

    let quiet = store.inbox(Some(liu), t + Duration::minutes(45)).expect("inbox");
    assert!(quiet.items.is_empty(), "{:?}", quiet.items);
    assert_eq!(list_count(&store, t + Duration::minutes(45)), 0);

    let soon = store.inbox(Some(liu), t + Duration::minutes(46)).expect("inbox");
    assert_eq!(soon.items.len(), 1);
    assert_eq!(
        soon.items[0].alert.alert,
        Alert::StepDueSoon { step: "workshop_review".into(), due_ms: (t + Duration::minutes(61)).timestamp_millis() }
    );
    assert_eq!(soon.items[0].number.as_deref(), Some(draft.number.as_str()));
    assert_eq!((soon.open, soon.critical), (1, 0));
    assert!(store.inbox(Some(wang), t + Duration::minutes(46)).expect("inbox").items.is_empty(), "not his step yet");

    // Late: the next level (the safety manager) hears of it; two hours late it is critical.
    let late = store.inbox(Some(wang), t + Duration::minutes(62)).expect("inbox");
    assert_eq!(late.items.len(), 1, "{:?}", late.items);
    assert_eq!(late.items[0].alert.severity, Severity::Warning);
    assert_eq!(list_count(&store, t + Duration::minutes(62)), 1);
    let very_late = store.inbox(Some(liu), t + Duration::minutes(121)).expect("inbox");
    assert_eq!((very_late.open, very_late.critical), (1, 1));

    // Someone not asked cannot acknowledge; 刘洋 can, once.
    let key = late.items[0].alert.key.clone();
    let refused = store.act(person("孙浩"), id, Action::Acknowledge { alert: key.clone() }, t + Duration::minutes(70));
    assert!(matches!(refused, Err(StoreError::Refused(Violation::NotAskedToAct))), "{refused:?}");
    store.act(liu, id, Action::Acknowledge { alert: key.clone() }, t + Duration::minutes(70)).expect("acknowledged");
    let again = store.act(wang, id, Action::Acknowledge { alert: key }, t + Duration::minutes(71));
    assert!(matches!(again, Err(StoreError::Refused(Violation::AlertAcknowledgedAlready))), "{again:?}");
    let after = store.inbox(Some(liu), t + Duration::minutes(200)).expect("inbox");
    assert_eq!((after.open, after.critical), (0, 0), "{:?}", after.items);
    assert_eq!(after.items.len(), 1, "still shown, as acknowledged");
    assert_eq!(after.items[0].alert.level, 1, "it climbed no further");
    assert!(store.inbox(Some(person("陈静")), t + Duration::minutes(200)).expect("inbox").items.is_empty());

    // The watch survives a reopen of the file; signing ends the alert.
    drop(store);
    let mut store = open_demo(&db);
    assert_eq!(store.inbox(Some(liu), t + Duration::minutes(200)).expect("inbox").items.len(), 1);
    store.act(liu, id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(201)).expect("signed");
    assert!(store.inbox(Some(liu), t + Duration::minutes(202)).expect("inbox").items.is_empty());
}

#[test]
fn hot_work_filed_at_a_line_blinding_job_shows_the_conflict_on_both_until_one_is_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let t = t0();
    let mut store = open_demo(&db);
    let zhao = person("赵磊");
    let start = t + Duration::minutes(30);
    let hot = store.create_permit(zhao, hot_work_form(&store, start), t).expect("hot work").id;
    store.act(zhao, hot, Action::Submit, t).expect("hot work submitted");
    let mut blind = hot_work_form(&store, start + Duration::hours(2));
    let precautions = store.registry().catalog.permit_type("line_blinding").expect("line blinding").precautions.clone();
    blind.permit_type = "line_blinding".into();
    blind.grade = "standard".into();
    blind.subtype = Some("fit".into());
    blind.title = "T-101 出料线加盲板 MB-017".into();
    blind.precautions = precautions.iter().map(|p| p.code.clone()).collect();
    blind.details = ptw_core::demo::blind_mb017();
    let blind = store.create_permit(zhao, blind, t).expect("line blinding").id;
    let conflicts = |store: &ptw_store::Store| -> Vec<(ptw_core::PermitId, Alert)> {
        let inbox = store.inbox(None, t + Duration::minutes(5)).expect("inbox");
        inbox
            .items
            .into_iter()
            .filter(|i| i.alert.alert.code() == "conflict")
            .filter_map(|i| i.alert.permit().map(|p| (p, i.alert.alert)))
            .collect()
    };
    assert!(conflicts(&store).is_empty(), "a draft is not yet planned work");

    store.act(zhao, blind, Action::Submit, t + Duration::minutes(1)).expect("line blinding submitted");
    let found = conflicts(&store);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|(p, a)| *p == hot
        && *a
            == Alert::Conflict {
                rule: "hot_work_near_blinding".into(),
                other: blind,
                other_title: "T-101 出料线加盲板 MB-017".into(),
                shared: String::new(),
            }));
    // The detail page of each shows it too, though a permit's own derivation cannot see the other.
    let view = store.permit(hot, t + Duration::minutes(5)).expect("hot work");
    assert!(!view.state.alerts.iter().any(|a| a.code() == "conflict"));
    let view = store.with_conflicts(view, t + Duration::minutes(5)).expect("with conflicts");
    assert!(view.state.alerts.iter().any(|a| matches!(a, Alert::Conflict { other, .. } if *other == blind)));

    store.act(zhao, blind, Action::Cancel { reason: "改期".into() }, t + Duration::minutes(6)).expect("cancelled");
    assert!(conflicts(&store).is_empty(), "the conflict ends with the line-blinding job");
    let view = store.permit(hot, t + Duration::minutes(7)).expect("hot work");
    assert!(!store
        .with_conflicts(view, t + Duration::minutes(7))
        .expect("view")
        .state
        .alerts
        .iter()
        .any(|a| a.code() == "conflict"));
}
