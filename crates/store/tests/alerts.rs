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
