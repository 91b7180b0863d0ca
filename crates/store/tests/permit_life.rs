//! A grade-1 hot-work permit's whole life on one device, through the store and a real SQLite
//! file, and what survives closing and reopening it.

mod common;
use chrono::Duration;
use common::*;
use ptw_core::api::{Action, ListQuery};
use ptw_core::{GasReading, Status, Violation};
use ptw_store::{Store, StoreError};

#[test]
fn a_hot_work_permit_is_filed_approved_worked_and_closed_and_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let t = t0();
    let permit = {
        let mut store = open_demo(&db);
        let zhao = person("赵磊");
        let form = hot_work_form(&store, t + Duration::minutes(30));
        let draft = store.create_permit(zhao, form, t).expect("draft saved");
        assert_eq!(draft.state.status, Status::Draft);
        assert!(draft.number.starts_with("DH-20261130-"), "number {}", draft.number);
        let id = draft.id;

        let v = store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submitted");
        assert_eq!(v.state.status, Status::InApproval);

        // Self-approval is refused with its rule, and nothing is written.
        let pending = store.pending_changes().expect("outbox");
        let err = store.act(zhao, id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(2));
        assert!(matches!(err, Err(StoreError::Refused(Violation::ApproverIsApplicant))), "{err:?}");
        assert_eq!(store.pending_changes().expect("outbox"), pending);

        store
            .act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(3))
            .expect("workshop");
        let v = store
            .act(person("王强"), id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(4))
            .expect("safety");
        assert_eq!(v.state.status, Status::Approved);
        store.act(person("李娜"), id, gas(), t + Duration::minutes(20)).expect("gas test");
        let v = store.act(person("李娜"), id, Action::Start, t + Duration::minutes(35)).expect("start");
        assert_eq!(v.state.status, Status::Active);
        store.act(person("李娜"), id, Action::Complete, t + Duration::minutes(200)).expect("complete");
        // Acceptance waits for the fire watch: refused, and nothing written, until it is signed off.
        let pending = store.pending_changes().expect("outbox");
        let early = store.act(
            person("刘洋"),
            id,
            Action::Accept { comment: "现场清理完毕".into() },
            t + Duration::minutes(210),
        );
        assert!(matches!(early, Err(StoreError::Refused(Violation::FireWatchNotSignedOff { .. }))), "{early:?}");
        let early =
            store.act(person("李娜"), id, Action::FireWatchEnd { note: "无余火".into() }, t + Duration::minutes(229));
        assert!(matches!(early, Err(StoreError::Refused(Violation::FireWatchRunning { .. }))), "{early:?}");
        assert_eq!(store.pending_changes().expect("outbox"), pending);
        store
            .act(person("李娜"), id, Action::FireWatchEnd { note: "无余火".into() }, t + Duration::minutes(230))
            .expect("fire watch signed off");
        let v = store
            .act(person("刘洋"), id, Action::Accept { comment: "现场清理完毕".into() }, t + Duration::minutes(235))
            .expect("accept");
        assert_eq!(v.state.status, Status::Closed);
        id
    };

    let store = open_demo(&db);
    let view = store.permit(permit, t + Duration::minutes(300)).expect("reopened");
    assert_eq!(view.state.status, Status::Closed);
    assert_eq!(view.state.timeline.len(), 8);
    assert!(view.state.rejected().next().is_none());
    let closed = store
        .list(&ListQuery { status: Some(Status::Closed), limit: 50, offset: 0, ..Default::default() })
        .expect("list");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].id, permit);
    assert!(store
        .list(&ListQuery { status: Some(Status::Draft), limit: 50, offset: 0, ..Default::default() })
        .expect("list")
        .is_empty());
    assert_eq!(store.status_counts().expect("counts"), vec![(Status::Closed, 1)]);
    // The draft and its 8 events, all waiting for the sync server.
    assert_eq!(store.pending_changes().expect("outbox"), 9);
}

#[test]
fn a_gas_test_thirty_one_minutes_old_blocks_the_start_on_the_device() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let t = t0();
    let zhang = person("张伟");
    let id = store.create_permit(zhang, hot_work_form(&store, t), t).expect("draft").id;
    store.act(zhang, id, Action::Submit, t).expect("submit");
    store.act(person("刘洋"), id, Action::Approve { comment: "ok".into() }, t).expect("approve");
    store.act(person("王强"), id, Action::Approve { comment: "ok".into() }, t).expect("approve");
    store.act(person("李娜"), id, gas(), t + Duration::minutes(1)).expect("gas");
    let err = store.act(person("李娜"), id, Action::Start, t + Duration::minutes(32));
    assert!(
        matches!(err, Err(StoreError::Refused(Violation::GasTestTooOld { age_minutes: 31, max_minutes: 30 }))),
        "{err:?}"
    );
}

#[test]
fn a_gas_test_with_no_reading_is_refused_at_entry_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let t = t0();
    let zhang = person("张伟");
    let id = store.create_permit(zhang, hot_work_form(&store, t), t).expect("draft").id;
    store.act(zhang, id, Action::Submit, t).expect("submit");
    let pending = store.pending_changes().expect("outbox");
    let blank = GasReading { instrument: "MX4 #A1234".into(), point: "法兰处".into(), ..Default::default() };
    let err = store.act(person("李娜"), id, Action::GasTest { reading: blank }, t);
    assert!(matches!(err, Err(StoreError::Refused(Violation::GasReadingEmpty))), "{err:?}");
    let typo = GasReading { o2_pct: Some(-20.9), ..Default::default() };
    let err = store.act(person("李娜"), id, Action::GasTest { reading: typo }, t);
    assert!(
        matches!(err, Err(StoreError::Refused(Violation::GasReadingOutOfRange { ref gas })) if gas == "o2"),
        "{err:?}"
    );
    assert_eq!(store.pending_changes().expect("outbox"), pending, "nothing signed, nothing to send");
    let view = store.permit(id, t).expect("permit");
    assert!(view.state.gas_tests.is_empty() && view.state.timeline.len() == 1, "{:?}", view.state.timeline);
}

#[test]
fn people_sign_in_with_their_pin_and_a_wrong_pin_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let li = person("李娜");
    let t = t0();
    assert_eq!(store.verify_pin(li, "2222", t).expect("right PIN").name, "李娜");
    assert!(matches!(store.verify_pin(li, "1111", t), Err(StoreError::BadCredentials)));
    assert!(matches!(
        store.verify_pin(ptw_core::PersonId(uuid::Uuid::nil()), "1111", t),
        Err(StoreError::BadCredentials)
    ));
}

#[test]
fn after_three_wrong_pins_a_person_waits_longer_after_each_further_one_even_across_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("d.db");
    let li = person("李娜");
    let t = t0();
    {
        let mut store = open_demo(&db);
        for _ in 0..3 {
            assert!(matches!(store.verify_pin(li, "0000", t), Err(StoreError::BadCredentials)));
        }
        // Locked for 30 s: even the right PIN waits.
        match store.verify_pin(li, "2222", t + Duration::seconds(10)) {
            Err(StoreError::PinLocked { retry_after_ms }) => assert_eq!(retry_after_ms, 20_000),
            other => panic!("expected a lock, got {other:?}"),
        }
    }
    let mut store = open_demo(&db);
    assert!(matches!(store.verify_pin(li, "2222", t + Duration::seconds(29)), Err(StoreError::PinLocked { .. })));
    // The fourth wrong PIN locks for 60 s.
    assert!(matches!(store.verify_pin(li, "0000", t + Duration::seconds(30)), Err(StoreError::BadCredentials)));
    match store.verify_pin(li, "2222", t + Duration::seconds(31)) {
        Err(StoreError::PinLocked { retry_after_ms }) => assert_eq!(retry_after_ms, 59_000),
        other => panic!("expected a longer lock, got {other:?}"),
    }
    // Another person on the same tablet is not held up.
    assert!(store.verify_pin(person("张伟"), "1111", t + Duration::seconds(31)).is_ok());
    assert_eq!(store.verify_pin(li, "2222", t + Duration::seconds(90)).expect("after the wait").name, "李娜");
    // A right PIN clears the count: the next wrong one is free again.
    assert!(matches!(store.verify_pin(li, "0000", t + Duration::seconds(91)), Err(StoreError::BadCredentials)));
    assert!(store.verify_pin(li, "2222", t + Duration::seconds(92)).is_ok());
}

#[test]
fn a_draft_with_an_unknown_permit_type_is_refused_with_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let mut form = hot_work_form(&store, t0());
    form.permit_type = "underwater_welding".into();
    match store.create_permit(person("张伟"), form, t0()) {
        Err(StoreError::InvalidForm(errors)) => assert_eq!(errors[0].field, ptw_core::form::Field::PermitType),
        other => panic!("expected InvalidForm, got {other:?}"),
    }
}

#[test]
fn an_incomplete_draft_is_saved_but_cannot_be_submitted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let zhang = person("张伟");
    let mut form = hot_work_form(&store, t0());
    form.title.clear();
    let id = store.create_permit(zhang, form.clone(), t0()).expect("draft").id;
    let err = store.act(zhang, id, Action::Submit, t0());
    assert!(matches!(err, Err(StoreError::Refused(Violation::FormInvalid { .. }))), "{err:?}");
    form.title = "补全标题".into();
    store.update_draft(zhang, id, form, t0()).expect("edit draft");
    let v = store.act(zhang, id, Action::Submit, t0()).expect("submit");
    assert_eq!(v.state.status, Status::InApproval);
    let err = store.update_draft(zhang, id, hot_work_form(&store, t0()), t0());
    assert!(matches!(err, Err(StoreError::Refused(Violation::NotAllowedInStatus { .. }))), "{err:?}");
}

#[test]
fn many_changes_to_one_permit_compact_without_losing_any() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let zhang = person("张伟");
    let id = store.create_permit(zhang, hot_work_form(&store, t0()), t0()).expect("draft").id;
    for i in 0..150 {
        store.act(zhang, id, Action::Comment { text: format!("第 {i} 条") }, t0()).expect("comment");
    }
    let view = store.permit(id, t0()).expect("read");
    assert_eq!(view.state.timeline.len(), 150);
    assert!(view.state.rejected().next().is_none());
}

#[test]
fn a_database_from_a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("d.db");
    drop(open_demo(&path));
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
    }
    match Store::open(&path, "t", t0()) {
        Err(e @ StoreError::SchemaTooNew { .. }) => assert!(e.to_string().contains("update the app")),
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("expected SchemaTooNew, got a store"),
    }
}

#[test]
fn what_the_store_remembers_between_actions_equals_a_fresh_derivation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("d.db");
    let mut store = open_demo(&db);
    let t = t0();
    let zhao = person("赵磊");
    let id = store.create_permit(zhao, hot_work_form(&store, t), t).expect("draft").id;
    store.act(zhao, id, Action::Submit, t).expect("submit");
    let _ = store.act(zhao, id, Action::Approve { comment: "自批".into() }, t).expect_err("self-approval refused");
    store.act(person("刘洋"), id, Action::Approve { comment: "ok".into() }, t).expect("approve");
    store.act(person("李娜"), id, gas(), t + Duration::minutes(1)).expect("gas");
    let remembered = store.permit(id, t + Duration::minutes(90)).expect("cached read");
    store.clear_cache();
    let reloaded = store.permit(id, t + Duration::minutes(90)).expect("fresh read");
    assert_eq!(remembered, reloaded);
    assert_eq!(reloaded.state.current_step.as_deref(), Some("safety_approval"));
    assert!(!reloaded.state.alerts.is_empty(), "the open step is overdue at +90 min");
    let other_process = open_demo(&db).permit(id, t + Duration::minutes(90)).expect("second store");
    assert_eq!(remembered, other_process);
}

/// A change of the planned window, once approved, is where the list and the calendar find the
/// permit: the projection follows the form of record; until then, the old window.
#[test]
fn an_approved_change_of_window_moves_the_permit_in_the_planned_work_query() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("d.db"));
    let t = t0();
    let zhao = person("赵磊");
    let form = hot_work_form(&store, t + Duration::minutes(30));
    let old_end = form.planned_end.expect("a planned end");
    let id = store.create_permit(zhao, form, t).expect("draft").id;
    store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submitted");
    store
        .act(person("刘洋"), id, Action::Approve { comment: String::new() }, t + Duration::minutes(2))
        .expect("workshop");
    store
        .act(person("王强"), id, Action::Approve { comment: String::new() }, t + Duration::minutes(3))
        .expect("safety");
    let delay = |hours: i64| ptw_core::PermitChange {
        reason: ptw_core::ChangeReason::EquipmentFault,
        explanation: "吊车故障，推迟".into(),
        planned_start: Some(t + Duration::minutes(30) + Duration::hours(hours)),
        planned_end: Some(old_end + Duration::hours(hours)),
        add_precautions: vec![],
        crew_add: vec![],
        crew_remove: vec![],
    };
    // Two hours later would run into the plant's night (from 22:00): hot work one grade higher,
    // so the changed permit is refused as it stands.
    let night = store.act(zhao, id, Action::RequestChange { change: delay(2) }, t + Duration::minutes(4));
    assert!(matches!(night, Err(StoreError::Refused(Violation::FormInvalid { .. }))), "{night:?}");
    let later = old_end + Duration::hours(1);
    store.act(zhao, id, Action::RequestChange { change: delay(1) }, t + Duration::minutes(4)).expect("change asked");
    let in_extension = |store: &Store| {
        let window = Some((old_end.timestamp_millis() + 1, later.timestamp_millis()));
        let q = ListQuery { planned_within: window, limit: 10, ..Default::default() };
        store.list(&q).expect("list").iter().any(|p| p.id == id)
    };
    assert!(!in_extension(&store), "a change waiting for approval moves nothing");
    store
        .act(person("刘洋"), id, Action::ApproveChange { comment: String::new() }, t + Duration::minutes(5))
        .expect("1");
    assert!(!in_extension(&store));
    let v = store
        .act(person("王强"), id, Action::ApproveChange { comment: String::new() }, t + Duration::minutes(6))
        .expect("2");
    assert_eq!(v.state.form.planned_end, Some(later));
    assert!(in_extension(&store), "the approved change is where the permit is planned now");
    // The next event is signed over the changed content, and the store does that by itself.
    let v = store
        .act(zhao, id, Action::Comment { text: "已通知吊车班".into() }, t + Duration::minutes(7))
        .expect("comment");
    assert!(v.state.rejected().next().is_none());
}

/// Permits are kept at least a year (OSHA 1910.146 §(e)(6)): nothing on a device prunes a
/// permit that is over, and a year and a day on it opens whole, is listed and is found by its
/// number.
#[test]
fn a_permit_that_is_over_is_kept_a_year_and_more_with_its_whole_trail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let t = t0();
    let (permit, number) = {
        let mut store = open_demo(&db);
        let zhao = person("赵磊");
        let draft = store.create_permit(zhao, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft");
        store.act(zhao, draft.id, Action::Submit, t + Duration::minutes(1)).expect("submitted");
        let v = store
            .act(zhao, draft.id, Action::Cancel { reason: "检修计划调整".into() }, t + Duration::minutes(2))
            .expect("cancelled");
        assert_eq!(v.state.status, Status::Cancelled);
        (draft.id, draft.number)
    };
    let later = t + Duration::days(366);
    let store = open_demo(&db);
    let view = store.permit(permit, later).expect("still there a year and a day on");
    assert_eq!(view.state.status, Status::Cancelled);
    assert_eq!(view.state.timeline.len(), 2, "the submit and the cancel");
    let found = store
        .list(&ListQuery { text: Some(number.clone()), limit: 50, offset: 0, ..Default::default() })
        .expect("list");
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![permit], "found by its number {number}");
}
