//! Two tablets edit the same permits offline, then exchange their changes: both end with
//! identical document heads and identical derived permits. (Sync through the server builds on
//! exactly these outbox / apply operations.)

mod common;
use chrono::Duration;
use common::*;
use ptw_core::api::{Action, ListQuery};
use ptw_core::authority::RegistryOp;
use ptw_core::{PermitId, PersonId, Role, Status};
use ptw_store::{RemoteChange, Store};

/// Hand everything in `from`'s outbox to `to`, as a pull from the server would.
fn hand_over(from: &mut Store, to: &mut Store, now: chrono::DateTime<chrono::Utc>) -> usize {
    let page = from.outbox_page(10_000).expect("outbox");
    let changes: Vec<RemoteChange> = page.iter().cloned().map(Into::into).collect();
    let report = to.apply_remote(&changes, Some("test-cursor"), now).expect("apply");
    report.applied
}

fn exchange(a: &mut Store, b: &mut Store, now: chrono::DateTime<chrono::Utc>) {
    // Outboxes are kept (no server acknowledges here), so this is idempotent: already known
    // changes are skipped.
    hand_over(a, b, now);
    hand_over(b, a, now);
}

fn assert_converged(a: &Store, b: &Store, now: chrono::DateTime<chrono::Utc>) {
    let ids = a.document_ids().expect("ids");
    assert_eq!(ids, b.document_ids().expect("ids"));
    for id in &ids {
        assert_eq!(a.heads(id).expect("heads"), b.heads(id).expect("heads"), "heads of {id}");
        if let Ok(pid) = id.parse::<PermitId>() {
            assert_eq!(a.permit(pid, now).expect("a"), b.permit(pid, now).expect("b"), "permit {id}");
        }
    }
    let all = ListQuery { status: None, limit: 500, offset: 0, ..Default::default() };
    // Whether a row waits for the sync server is this device's own business, not the permit's.
    let rows = |s: &Store| {
        let mut rows = s.list(&all).expect("list");
        rows.iter_mut().for_each(|r| r.pending = false);
        rows
    };
    assert_eq!(rows(a), rows(b));
}

#[test]
fn concurrent_offline_edits_on_two_tablets_converge_after_exchange() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = t0();
    let mut plant = TestPlant::demo();
    // A second plant manager, so the special-grade countersign step has two signers.
    let wu = PersonId(uuid::Uuid::from_u128(0x0190c5a0_0000_7000_8000_000000000009));
    plant.append(RegistryOp::PutPerson {
        id: wu,
        name: "吴刚".into(),
        title: "副厂长".into(),
        roles: vec![Role::new("plant_manager")],
        profile: Default::default(),
    });
    let mut a = plant.open(&dir.path().join("a.db"), "T-07");
    // Tablet B is enrolled later; A learns B's key from the registry, as from any sync.
    let mut b = plant.open(&dir.path().join("b.db"), "T-08");
    let b_id = b.device_id().expect("B is enrolled");
    assert!(a.registry().device(b_id).is_none(), "A has not synced since");
    plant.update(&mut a);
    assert!(a.registry().device(b_id).is_some(), "A knows B's key");
    assert_eq!(a.registry(), b.registry(), "both tablets fold the same registry");
    hand_over(&mut a, &mut b, t);

    let zhang = person("张伟");
    // P: special-grade hot work, countersigned by two plant managers.
    let mut special = hot_work_form(&a, t + Duration::minutes(30));
    special.grade = "special".into();
    special.assignees.insert("leadership_approval".into(), vec![person("陈静"), wu]);
    let p = a.create_permit(zhang, special, t).expect("P").id;
    a.act(zhang, p, Action::Submit, t).expect("submit P");
    a.act(person("刘洋"), p, Action::Approve { comment: "ok".into() }, t).expect("P workshop");
    a.act(person("王强"), p, Action::Approve { comment: "ok".into() }, t).expect("P safety");
    // Q: a draft whose title both tablets edit.
    let q = a.create_permit(zhang, hot_work_form(&a, t), t).expect("Q").id;
    // R: submitted, then cancelled on one tablet while approved on the other.
    let r = a.create_permit(zhang, hot_work_form(&a, t), t).expect("R").id;
    a.act(zhang, r, Action::Submit, t).expect("submit R");
    exchange(&mut a, &mut b, t);
    assert_converged(&a, &b, t);

    // Offline, both tablets act at the same moment.
    let t1 = t + Duration::minutes(5);
    a.act(person("陈静"), p, Action::Approve { comment: "同意".into() }, t1).expect("A countersign");
    b.act(wu, p, Action::Approve { comment: "同意".into() }, t1).expect("B countersign");
    let mut qa = a.permit(q, t1).expect("Q on A").form;
    qa.title = "A 改的标题".into();
    a.update_draft(zhang, q, qa, t1).expect("edit on A");
    let mut qb = b.permit(q, t1).expect("Q on B").form;
    qb.title = "B 改的标题".into();
    b.update_draft(zhang, q, qb, t1).expect("edit on B");
    a.act(zhang, r, Action::Cancel { reason: "计划取消".into() }, t1).expect("cancel on A");
    b.act(person("刘洋"), r, Action::Approve { comment: "同意".into() }, t1).expect("approve on B");

    exchange(&mut a, &mut b, t1);
    assert_converged(&a, &b, t1);

    let pv = a.permit(p, t1).expect("P");
    assert_eq!(pv.state.status, Status::Approved, "both countersignatures count");
    assert_eq!(pv.state.step("leadership_approval").map(|s| s.signatures.len()), Some(2));
    let qv = a.permit(q, t1).expect("Q");
    assert!(["A 改的标题", "B 改的标题"].contains(&qv.form.title.as_str()), "one title wins: {}", qv.form.title);
    let rv = a.permit(r, t1).expect("R");
    // Cancel and approval are ordered by (HLC, hash); whichever came second is either
    // applied on top or kept as rejected — the same on both tablets.
    assert!(matches!(rv.state.status, Status::Cancelled), "R is cancelled whichever order: {:?}", rv.state.status);
    assert_eq!(rv.state.timeline.len(), 3);
}

#[test]
fn a_document_whose_changes_do_not_check_is_quarantined_and_the_rest_of_the_page_applies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = t0();
    let mut plant = TestPlant::demo();
    let mut a = plant.open(&dir.path().join("a.db"), "T-07");
    let mut b = plant.open(&dir.path().join("b.db"), "T-08");
    let good = a.create_permit(person("张伟"), hot_work_form(&a, t), t).expect("one permit").id;
    let bad = a.create_permit(person("张伟"), hot_work_form(&a, t), t).expect("another").id;
    let mut page: Vec<RemoteChange> = a.outbox_page(100).expect("outbox").into_iter().map(Into::into).collect();
    let damaged = page.iter_mut().find(|c| c.doc_id == bad.to_string()).expect("bad's change");
    damaged.bytes[20] ^= 0xff;
    let report = b.apply_remote(&page, Some("7"), t).expect("the page applies");
    assert_eq!(report.quarantined, vec![bad.to_string()]);
    assert_eq!(b.document_ids().expect("ids"), vec![good.to_string()], "the good permit arrived");
    assert_eq!(b.sync_cursor().expect("cursor").as_deref(), Some("7"), "sync goes on past it");
    let q = b.quarantined().expect("quarantine");
    assert_eq!((q.len(), q[0].doc_id.as_str()), (1, bad.to_string().as_str()));
    assert!(q[0].reason.contains("Automerge change") || q[0].reason.contains("hash"), "{}", q[0].reason);
}

#[test]
fn acknowledged_changes_leave_the_outbox_and_a_repeated_pull_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = t0();
    let mut plant = TestPlant::demo();
    let mut a = plant.open(&dir.path().join("a.db"), "T-07");
    let mut b = plant.open(&dir.path().join("b.db"), "T-08");
    a.create_permit(person("张伟"), hot_work_form(&a, t), t).expect("a permit");
    let page = a.outbox_page(100).expect("outbox");
    let changes: Vec<RemoteChange> = page.iter().cloned().map(Into::into).collect();
    let first = b.apply_remote(&changes, Some("1"), t).expect("apply");
    assert_eq!(first.applied, changes.len());
    let again = b.apply_remote(&changes, Some("1"), t).expect("apply again");
    assert_eq!((again.applied, again.already_known), (0, changes.len()));
    assert_eq!(b.sync_cursor().expect("cursor").as_deref(), Some("1"));
    let hashes: Vec<String> = page.iter().map(|c| c.hash.clone()).collect();
    assert_eq!(a.acknowledge(&hashes).expect("ack"), hashes.len());
    assert_eq!(a.pending_changes().expect("pending"), 0);
    assert_eq!(a.acknowledge(&hashes).expect("ack twice"), 0);
}

#[test]
fn what_another_connection_commits_is_seen_by_the_next_action() {
    // The app's background sync writes through its own connection to the same file.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("a.db");
    let t = t0();
    let mut ui = open_demo(&db);
    let zhang = person("张伟");
    let id = ui.create_permit(zhang, hot_work_form(&ui, t), t).expect("draft").id;
    ui.act(zhang, id, Action::Submit, t).expect("submit");
    assert_eq!(ui.permit(id, t).expect("read").state.status, Status::InApproval);

    let mut background = open_demo(&db);
    background.act(person("刘洋"), id, Action::Approve { comment: "ok".into() }, t).expect("approve elsewhere");
    assert_eq!(ui.permit(id, t).expect("read").state.current_step.as_deref(), Some("safety_approval"));
    let v = ui.act(person("王强"), id, Action::Approve { comment: "ok".into() }, t).expect("approve here");
    assert_eq!(v.state.status, Status::Approved, "built on the other connection's approval");
}

#[test]
fn two_connections_taking_the_same_registry_entries_at_once_both_end_with_them() {
    // The app's sync worker and its commands (an admin's change answered with its entries) may
    // hand one file the same new entries at the same moment: neither may fail on the other.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("a.db");
    let mut plant = TestPlant::demo();
    let mut a = plant.open(&db, "test tablet");
    let mut b = plant.open(&db, "test tablet");
    let li = person("刘洋");
    for round in 0..40 {
        let op = if round % 2 == 0 {
            RegistryOp::Freeze { person: li, reason: format!("round {round}") }
        } else {
            RegistryOp::Unfreeze { person: li, reason: format!("round {round}") }
        };
        plant.append(op);
        let entries = plant.entries.clone();
        let barrier = std::sync::Barrier::new(2);
        let (ra, rb) = std::thread::scope(|s| {
            let ta = s.spawn(|| {
                barrier.wait();
                a.apply_registry(&entries, t0())
            });
            let tb = s.spawn(|| {
                barrier.wait();
                b.apply_registry(&entries, t0())
            });
            (ta.join().expect("thread a"), tb.join().expect("thread b"))
        });
        let (ra, rb) = (ra.expect("connection a takes the entries"), rb.expect("connection b takes the entries"));
        assert_eq!(ra.applied + rb.applied, 1, "round {round}: the one new entry is kept once");
        assert_eq!(a.registry_head(), b.registry_head(), "round {round}");
        assert_eq!(a.registry().person(li).map(|p| p.frozen_since_ms.is_some()), Some(round % 2 == 0), "round {round}");
        assert_eq!(b.registry(), a.registry(), "round {round}: both fold the same registry");
    }
}
