//! Whole system: two tablets and a real `ptw-sync-server` process on loopback. The tablets edit
//! the same permits offline, sync through the server, and end with identical documents and
//! permits. Also the round-trip budget: nothing changed costs one small round trip, one changed
//! permit at most two.

mod common;
use common::*;

use chrono::Duration;
use ptw_core::api::Action;
use ptw_core::Status;

#[test]
fn two_tablets_editing_offline_converge_through_the_sync_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();

    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    assert!(!a.is_empty(), "the plant came from the server");

    // B is enrolled later: A learns B's key from the registry the server signs.
    let mut b = server.tablet(&dir.path().join("b.db"), "T-08", t);
    let b_id = b.device_id().expect("B is enrolled");
    assert!(a.registry().device(b_id).is_none());
    server.sync(&mut a, t).expect("A learns B's key");
    assert!(a.registry().device(b_id).is_some());
    assert_eq!(a.registry(), b.registry(), "both fold the same registry");

    let zhang = person("张伟");
    let p = a.create_permit(zhang, hot_work(&a, "T-101 出料管线法兰焊接", t + Duration::minutes(30)), t).expect("P").id;
    a.act(zhang, p, Action::Submit, t).expect("submit P");
    let q = a.create_permit(zhang, hot_work(&a, "T-101 出料管线法兰焊接", t), t).expect("Q").id;
    server.sync(&mut a, t).expect("A pushes");
    server.sync(&mut b, t).expect("B pulls");

    // Offline: both approve P's open step at once; both edit Q's title; then a cancel races.
    let t1 = t + Duration::minutes(5);
    a.act(person("刘洋"), p, Action::Approve { comment: "A 同意".into() }, t1).expect("A approves");
    b.act(person("赵磊"), p, Action::Approve { comment: "B 同意".into() }, t1).expect("B approves");
    let mut qa = a.permit(q, t1).expect("Q").form;
    qa.title = "A 的标题".into();
    a.update_draft(zhang, q, qa, t1).expect("edit on A");
    let mut qb = b.permit(q, t1).expect("Q").form;
    qb.title = "B 的标题".into();
    b.update_draft(zhang, q, qb, t1).expect("edit on B");
    b.act(zhang, q, Action::Cancel { reason: "不做了".into() }, t1).expect("cancel on B");

    server.sync(&mut a, t1).expect("A");
    server.sync(&mut b, t1).expect("B");
    server.sync(&mut a, t1).expect("A again");
    assert_converged(&a, &b, t1, "after the offline edits");
    let pv = a.permit(p, t1).expect("P");
    // Any-sign step: the first approval in (HLC, hash) order signs it; the other finds the next
    // step open for a workshop director and is kept as rejected — identically on both.
    assert_eq!(pv.state.step("workshop_review").map(|s| s.signatures.len()), Some(1));
    assert_eq!(pv.state.rejected().count(), 1);
    assert_eq!(a.permit(q, t1).expect("Q").state.status, Status::Cancelled);

    // Nothing changed: one round trip, a small answer.
    let idle = server.sync(&mut a, t1).expect("idle sync");
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert!(idle.bytes_received < 1024, "{idle:?}");
    println!("no-change sync: {} round trip(s), {} bytes received", idle.round_trips, idle.bytes_received);

    // One changed permit: push + pull.
    a.act(person("王强"), p, Action::Approve { comment: "安全部同意".into() }, t1).expect("approve");
    let one = server.sync(&mut a, t1).expect("one change");
    assert!(one.round_trips <= 2, "{one:?}");
    println!("one changed permit: {} round trip(s), {} bytes sent", one.round_trips, one.bytes_sent);
    server.sync(&mut b, t1).expect("B catches up");
    assert_converged(&a, &b, t1, "after one changed permit");
    assert_eq!(b.permit(p, t1).expect("P on B").state.status, Status::Approved);
}

#[test]
fn a_new_tablet_starts_from_compacted_documents_and_ends_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    let zhang = person("张伟");
    for i in 0..6 {
        let p = a
            .create_permit(zhang, hot_work(&a, "T-101 出料管线法兰焊接", t + Duration::minutes(30)), t)
            .expect("permit")
            .id;
        a.act(zhang, p, Action::Submit, t).expect("submit");
        a.act(person("刘洋"), p, Action::Approve { comment: format!("同意 {i}") }, t).expect("approve");
        a.act(zhang, p, Action::Comment { text: "材料已到".into() }, t).expect("comment");
    }
    server.sync(&mut a, t).expect("A pushes");
    // The server compacts in the background; wait for it.
    server.wait_for_compaction();

    // Two documents per page: the cold start spans several pages, each applied with its cursor.
    let mut c = server.enrolled(&dir.path().join("c.db"), "T-09", t);
    let options = ptw_store::SyncOptions { pull_max_changes: 2, ..Default::default() };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let observer = seen.clone();
    let cold = c
        .sync_now_observed(t, options, move |r| observer.lock().expect("progress").push((r.round_trips, r.applied)))
        .expect("C starts cold");
    // Progress after every page, never going backwards, ending where the round ended.
    let seen = seen.lock().expect("progress").clone();
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{seen:?}");
    assert_eq!(seen.last(), Some(&(cold.round_trips, cold.applied)));
    assert_eq!(cold.snapshots, 6, "the six permits arrive compacted: {cold:?}");
    assert!(cold.round_trips >= 3, "several pages: {cold:?}");
    assert!(cold.applied >= 6 * 4, "every change of the six permits is on C: {cold:?}");
    assert!(cold.registry_entries > 0, "the registry came with the first page: {cold:?}");
    server.sync(&mut a, t).expect("A");
    server.sync(&mut c, t).expect("C");
    assert_converged(&a, &c, t, "after the cold start");
    let again = server.sync(&mut c, t).expect("idle");
    assert_eq!((again.round_trips, again.applied), (1, 0), "after the cold start C pulls from its cursor: {again:?}");
}

#[test]
fn a_tablet_starting_cold_again_merges_what_it_has_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let zhang = person("张伟");
    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let p = a
            .create_permit(zhang, hot_work(&a, "T-101 出料管线法兰焊接", t + Duration::minutes(30)), t)
            .expect("permit")
            .id;
        a.act(zhang, p, Action::Submit, t).expect("submit");
        ids.push(p);
    }
    server.sync(&mut a, t).expect("A pushes");
    let mut b = server.tablet(&dir.path().join("b.db"), "T-08", t);
    server.sync(&mut a, t).expect("A learns B's key");

    // A moves every permit on; B, offline, comments on one; the server compacts.
    for p in &ids {
        a.act(person("刘洋"), *p, Action::Approve { comment: "同意".into() }, t).expect("approve");
    }
    b.act(zhang, ids[0], Action::Comment { text: "B 离线备注".into() }, t).expect("comment on B");
    server.sync(&mut a, t).expect("A pushes");
    server.wait_for_compaction();

    // B starts cold again: compacted documents merged into the ones it holds, its own
    // unpushed comment kept and pushed.
    b.forget_sync_cursor().expect("forget");
    let cold =
        server.sync_with(&mut b, t, ptw_store::SyncOptions { pull_max_changes: 2, ..Default::default() }).expect("B");
    assert!(cold.snapshots >= 5, "{cold:?}");
    assert_eq!(cold.acked, 1, "B's comment went up: {cold:?}");
    assert!(cold.applied >= 5, "A's approvals arrived: {cold:?}");
    server.sync(&mut a, t).expect("A");
    server.sync(&mut b, t).expect("B");
    assert_converged(&a, &b, t, "after starting cold again");
    let timeline = a.permit(ids[0], t).expect("permit").state.timeline.len();
    assert!(timeline >= 3, "submit, approve and B's comment are all on A: {timeline}");
}

#[test]
fn a_device_waiting_on_the_server_hears_of_another_devices_change_and_of_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut a = server.tablet(&dir.path().join("a.db"), "T-07", t);
    let mut b = server.tablet(&dir.path().join("b.db"), "T-08", t);
    server.sync(&mut a, t).expect("A caught up");

    // Caught up: nothing to pull, so a short wait runs out and says so.
    let watch = a.change_watch().expect("watch").expect("A is enrolled and caught up");
    assert!(!watch.wait(std::time::Duration::from_millis(300)).expect("the wait answers"), "nothing new");

    // A holds a wait open; B files a permit and pushes: A's wait answers "changed", with no
    // round of A's own, and A's next round brings the permit.
    let waiting = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let changed = watch.wait(std::time::Duration::from_secs(20));
        (changed, started.elapsed())
    });
    let zhang = person("张伟");
    let p = b.create_permit(zhang, hot_work(&b, "等待中的设备立刻收到", t), t).expect("P").id;
    let pushed_at = std::time::Instant::now();
    server.sync(&mut b, t).expect("B pushes");
    let pushed = pushed_at.elapsed();
    let (changed, waited) = waiting.join().expect("the waiting thread");
    assert!(changed.expect("the wait answers"), "B's change ends A's wait");
    println!("A's wait ended {waited:?} after it began; B's whole round took {pushed:?}");
    assert!(a.permit(p, t).is_err(), "A has not pulled yet");
    server.sync(&mut a, t).expect("A pulls");
    assert_eq!(a.permit(p, t).expect("A has P").form.title, "等待中的设备立刻收到");

    // A registry entry (IT adds a person) ends a wait too: the new person is news.
    let watch = a.change_watch().expect("watch").expect("caught up again");
    let waiting = std::thread::spawn(move || watch.wait(std::time::Duration::from_secs(20)));
    server.admin(&["user", "add", "--name", "钱勇", "--roles", "guardian", "--pin", "2468"]);
    // The admin CLI wrote from another process; the server takes it up on its next request.
    server.sync(&mut b, t).expect("any request");
    assert!(waiting.join().expect("thread").expect("the wait answers"), "a new registry entry ends the wait");

    // A watch made before a restore names the old epoch: it answers at once.
    let stale = a.change_watch().expect("watch").expect("caught up");
    server.sync(&mut a, t).expect("A");
    let mut server = server;
    server.stop();
    server.admin(&["epoch", "rotate"]);
    server.restart();
    assert!(stale.wait(std::time::Duration::from_secs(20)).expect("the wait answers"), "another epoch");
}
