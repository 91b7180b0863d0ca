//! A dishonest tablet among honest ones: a real `ptw-sync-server` process holding the demo
//! plant, honest tablets running the real store, and one enrolled tablet running modified
//! software — its own key, its own Automerge changes, pushed with its own token. Each story is
//! one of the ways such a tablet tried to bend the rules; each ends with the honest tablets
//! deriving what the rules say, and the refusal naming the rule.
//!
//! Also the tablets whose clocks are wrong: an hour fast, half an hour slow, changed after the
//! last sync, or restarted offline. Their events carry the server's time (corrected), or say
//! they could not; the server refuses those dated beyond what it allows.

mod common;
use common::*;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use chrono::{DateTime, Duration, Utc};
use ed25519_zebra::SigningKey;
use ptw_core::api::Action;
use ptw_core::rules::Alert;
use ptw_core::sync::{EnrolRequest, EnrolResponse, PullResponse, PushRequest, PushResponse, RefusalCode, WireChange};
use ptw_core::{
    DeviceId, Event, EventId, EventKind, GasReading, Hlc, PermitForm, PermitId, PersonId, SignedEvent, Stamp, Status,
    TimeTrust, Violation,
};
use ptw_store::time::{ManualMonotonic, Monotonic};
use ptw_store::{Store, StoreOptions};
use std::path::Path;

/// A tablet running modified software: it holds an enrolled device's key and token, and makes
/// whatever changes it likes.
struct Dishonest {
    key: SigningKey,
    id: DeviceId,
    token: String,
    url: String,
    http: reqwest::blocking::Client,
    next_tail: u8,
}

impl Dishonest {
    fn enrol(server: &Server) -> Dishonest {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = SigningKey::from_bytes(&[0x66; 32]);
        let http = reqwest::blocking::Client::new();
        let request =
            EnrolRequest { code: server.enrol_code("T-66"), public_key: ptw_core::signature::public_key_hex(&key) };
        let answer: EnrolResponse = http
            .post(format!("{}/api/devices/enrol", server.url))
            .json(&request)
            .send()
            .expect("enrol")
            .json()
            .expect("enrol answer");
        Dishonest { key, id: answer.device_id, token: answer.device_token, url: server.url.clone(), http, next_tail: 1 }
    }

    /// The permit as the server holds it, to build changes on.
    fn permit(&mut self, id: PermitId) -> AutoCommit {
        let page: PullResponse = self
            .http
            .get(format!("{}/api/sync/pull?since=0", self.url))
            .bearer_auth(&self.token)
            .send()
            .expect("pull")
            .json()
            .expect("pull answer");
        let mut doc = AutoCommit::new();
        let bytes: Vec<u8> = page
            .changes
            .into_iter()
            .filter(|c| c.change.doc_id == id.to_string())
            .flat_map(|c| c.change.bytes)
            .collect();
        doc.load_incremental(&bytes).expect("load");
        let mut actor = self.id.as_uuid().as_bytes().to_vec();
        actor.extend_from_slice(&[self.next_tail; 8]);
        self.next_tail += 1;
        doc.set_actor(automerge::ActorId::from(actor.as_slice()));
        doc
    }

    /// `kind` as done by `actor` at `ms` (the server's time), signed by this tablet.
    fn event(&self, permit: PermitId, actor: PersonId, ms: i64, content_hash: &str, kind: EventKind) -> SignedEvent {
        let mut nonce = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        self.event_with_id(EventId(uuid::Uuid::from_bytes(nonce)), permit, actor, ms, content_hash, kind)
    }

    fn event_with_id(
        &self,
        id: EventId,
        permit: PermitId,
        actor: PersonId,
        ms: i64,
        content_hash: &str,
        kind: EventKind,
    ) -> SignedEvent {
        let event = Event {
            id,
            permit,
            at: Hlc::new(ms, 0),
            time: Some(Stamp { ms, trust: TimeTrust::Server }),
            prev: None,
            device: self.id,
            actor,
            content_hash: content_hash.into(),
            handwriting: None,
            kind,
        };
        SignedEvent::sign(&event, &self.key)
    }

    /// Append `events` to `doc` as one change.
    fn append(&self, doc: &mut AutoCommit, permit: PermitId, events: &[SignedEvent]) -> WireChange {
        let list = doc.get(ROOT, "events").expect("get").expect("events").1;
        for e in events {
            let len = doc.length(&list);
            doc.insert(&list, len, e.to_stored()).expect("insert");
        }
        doc.commit();
        let c = doc.get_last_local_change().expect("change");
        WireChange {
            doc_id: permit.to_string(),
            kind: "permit".into(),
            hash: c.hash().to_string(),
            bytes: c.raw_bytes().to_vec(),
        }
    }

    fn push(&self, changes: &[WireChange]) -> PushResponse {
        self.http
            .post(format!("{}/api/sync/push", self.url))
            .bearer_auth(&self.token)
            .json(&PushRequest { changes: changes.to_vec() })
            .send()
            .expect("push")
            .json()
            .expect("push answer")
    }
}

/// A submitted, approved grade-1 hot-work permit on `h`, synced; its id and form of record.
fn approved_permit(server: &Server, h: &mut Store, t: DateTime<Utc>) -> (PermitId, PermitForm) {
    let zhang = person("张伟");
    let id = h.create_permit(zhang, hot_work(h, "T-101 法兰焊接", t), t).expect("draft").id;
    h.act(zhang, id, Action::Submit, t).expect("submit");
    h.act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t).expect("workshop");
    let v = h.act(person("王强"), id, Action::Approve { comment: "同意".into() }, t).expect("safety");
    assert_eq!(v.state.status, Status::Approved);
    server.sync(h, t).expect("push");
    (id, v.form)
}

fn good_reading() -> GasReading {
    ptw_sim::good_reading()
}

fn rejection(store: &Store, id: PermitId, kind: &str, now: DateTime<Utc>) -> Option<Violation> {
    store.permit(id, now).expect("permit").state.timeline.into_iter().find_map(|t| match (&t.event, t.outcome) {
        (Some(e), ptw_core::derive::Outcome::Rejected { violation }) if e.kind.code() == kind => Some(violation),
        _ => None,
    })
}

#[test]
fn a_tablet_cannot_write_the_registry_so_it_cannot_give_itself_a_role_or_swap_a_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let attacker = Dishonest::enrol(&server);
    let registry_before = h.registry().clone();

    // The old way in: an "org" document naming itself plant manager, and replacing T-07's key.
    let mut org = AutoCommit::new();
    org.put(ROOT, "people", "张伟=plant_manager").expect("put");
    org.put(ROOT, "devices", format!("{}={}", h.device_id().expect("id"), "00".repeat(32))).expect("put");
    org.commit();
    let c = org.get_last_local_change().expect("change");
    for (doc_id, kind) in [("org", "org"), ("org", "permit")] {
        let wire = WireChange {
            doc_id: doc_id.into(),
            kind: kind.into(),
            hash: c.hash().to_string(),
            bytes: c.raw_bytes().to_vec(),
        };
        let answer = attacker.push(&[wire]);
        assert_eq!(answer.refused.len(), 1, "{answer:?}");
        assert!(matches!(
            answer.refused[0].code,
            RefusalCode::Malformed | RefusalCode::Shape | RefusalCode::ForeignActor
        ));
    }
    server.sync(&mut h, t).expect("sync");
    let registry = h.registry().clone();
    assert_eq!(registry.people, registry_before.people, "nobody's roles changed");
    assert_eq!(registry.devices.len(), registry_before.devices.len() + 1, "only the attacker's own enrolment");
    let mine = registry.device(h.device_id().expect("id")).expect("T-07");
    assert_eq!(mine.public_key, h.public_key(), "T-07's key is its own");
    // T-07's events still verify everywhere.
    let (id, _) = approved_permit(&server, &mut h, t);
    let mut other = server.tablet(&dir.path().join("o.db"), "T-08", t);
    assert!(other.permit(id, t).expect("permit").state.rejected().next().is_none());
    server.sync(&mut other, t).expect("sync");
}

#[test]
fn an_event_reusing_a_genuine_suspends_id_with_an_earlier_time_makes_nothing_disappear() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut attacker = Dishonest::enrol(&server);
    let (id, form) = approved_permit(&server, &mut h, t);
    let li = person("李娜");
    let t1 = t + Duration::minutes(10);
    h.act(li, id, Action::GasTest { reading: good_reading() }, t1).expect("gas");
    h.act(li, id, Action::Start, t1).expect("start");
    let t2 = t + Duration::minutes(40);
    let suspended = h.act(li, id, Action::Suspend { reason: "风力超过 5 级".into() }, t2).expect("suspend");
    server.sync(&mut h, t2).expect("push");
    let suspend = suspended.state.timeline.last().and_then(|e| e.event.clone()).expect("the suspend");

    // Validly signed, same id, a minute earlier: the old "duplicate" trick.
    let mut doc = attacker.permit(id);
    let collide = attacker.event_with_id(
        suspend.id,
        id,
        li,
        (t2 - Duration::minutes(1)).timestamp_millis(),
        &form.content_hash(),
        EventKind::Comment { text: "一切正常".into() },
    );
    let answer = attacker.push(&[attacker.append(&mut doc, id, &[collide])]);
    assert!(answer.refused.is_empty(), "a valid comment is kept: {answer:?}");

    let mut other = server.tablet(&dir.path().join("o.db"), "T-08", t2);
    server.sync(&mut h, t2).expect("pull");
    for store in [&h, &other] {
        let p = store.permit(id, t2).expect("permit");
        assert_eq!(p.state.status, Status::Suspended, "the suspend still counts");
        assert!(p.state.rejected().next().is_none(), "{:?}", p.state.rejected().collect::<Vec<_>>());
    }
    server.sync(&mut other, t2).expect("sync");
}

#[test]
fn a_submit_carrying_an_unvalidated_form_is_refused_everywhere_and_a_racing_draft_edit_bricks_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut o = server.tablet(&dir.path().join("o.db"), "T-08", t);
    let mut attacker = Dishonest::enrol(&server);
    let zhang = person("张伟");
    let id = h.create_permit(zhang, hot_work(&h, "储罐动火", t), t).expect("draft").id;
    server.sync(&mut h, t).expect("push the draft");

    // The attacker submits the permit with the precautions left out.
    let mut bad_form = h.permit(id, t).expect("permit").form;
    bad_form.precautions.clear();
    let mut doc = attacker.permit(id);
    let submit = attacker.event(
        id,
        zhang,
        t.timestamp_millis(),
        &bad_form.content_hash(),
        EventKind::Submit { form: Some(Box::new(bad_form)) },
    );
    assert!(attacker.push(&[attacker.append(&mut doc, id, &[submit])]).refused.is_empty());
    server.sync(&mut h, t).expect("pull");
    server.sync(&mut o, t).expect("pull");
    for store in [&h, &o] {
        assert_eq!(store.permit(id, t).expect("permit").state.status, Status::Draft);
        assert!(matches!(rejection(store, id, "submit", t), Some(Violation::FormInvalid { .. })));
    }

    // Honest now: O edits the draft's title offline while H submits the form it has.
    let t1 = t + Duration::minutes(1);
    let mut edited = o.permit(id, t1).expect("permit").form;
    edited.title = "储罐动火（改）".into();
    o.update_draft(zhang, id, edited, t1).expect("edit on O");
    h.act(zhang, id, Action::Submit, t1).expect("submit on H");
    server.sync(&mut o, t1).expect("O");
    server.sync(&mut h, t1).expect("H");
    server.sync(&mut o, t1).expect("O again");
    // Not bricked: approvals, and even a cancel, go on over the submitted form.
    let v = o.act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t1).expect("approve on O");
    assert_eq!(v.state.current_step.as_deref(), Some("safety_approval"));
    assert!(v.state.alerts.contains(&Alert::FormChangedAfterSubmit), "the late edit is shown");
    assert_eq!(v.form.title, "储罐动火", "the form of record is the one submitted");
    o.act(zhang, id, Action::Cancel { reason: "改期".into() }, t1).expect("cancel");
    server.sync(&mut o, t1).expect("O");
    server.sync(&mut h, t1).expect("H");
    assert_converged(&h, &o, t1, "after the race");
    assert_eq!(h.permit(id, t1).expect("permit").state.status, Status::Cancelled);
}

#[test]
fn a_guardian_with_no_part_in_a_permit_cannot_start_it_even_signing_for_themselves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let qian = server.admin(&["user", "add", "--name", "钱勇", "--roles", "guardian,gas_tester", "--pin", "2468"]);
    let qian = PersonId(qian.trim().parse().expect("id"));
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut attacker = Dishonest::enrol(&server);
    let (id, form) = approved_permit(&server, &mut h, t);
    h.act(person("李娜"), id, Action::GasTest { reading: good_reading() }, t).expect("gas");
    server.sync(&mut h, t).expect("push");

    // On an honest tablet the store refuses before anything is written.
    let refused = h.act(qian, id, Action::Start, t + Duration::minutes(1));
    assert!(matches!(refused, Err(ptw_store::StoreError::Refused(Violation::NotPermitActor { .. }))), "{refused:?}");
    // The dishonest tablet signs it anyway: kept by the server (it is well signed), refused by
    // every device's rules.
    let mut doc = attacker.permit(id);
    let start =
        attacker.event(id, qian, (t + Duration::minutes(1)).timestamp_millis(), &form.content_hash(), EventKind::Start);
    assert!(attacker.push(&[attacker.append(&mut doc, id, &[start])]).refused.is_empty());
    server.sync(&mut h, t + Duration::minutes(1)).expect("pull");
    assert_eq!(h.permit(id, t).expect("permit").state.status, Status::Approved);
    assert!(matches!(rejection(&h, id, "start", t), Some(Violation::NotPermitActor { .. })));
}

/// A tablet whose wall clock is `skew` off, enrolled and synced when the true time is `t`.
fn skewed_tablet(server: &Server, db: &Path, name: &str, t: DateTime<Utc>, skew: Duration) -> Store {
    let mut store = open_tablet(db, name, t + skew);
    server.set_clock(t);
    store.enrol(&server.url, &server.enrol_code(name)).expect("enrol");
    store.sync_now(t + skew).expect("the first sync");
    store
}

#[test]
fn a_tablet_an_hour_fast_cannot_make_a_stale_gas_test_look_fresh_and_one_half_an_hour_slow_does_not_void_a_fresh_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut fast = skewed_tablet(&server, &dir.path().join("fast.db"), "T-FAST", t, Duration::minutes(60));
    let mut slow = skewed_tablet(&server, &dir.path().join("slow.db"), "T-SLOW", t, Duration::minutes(-30));
    let li = person("李娜");
    let (p, _) = approved_permit(&server, &mut h, t);
    let (q, _) = approved_permit(&server, &mut h, t);
    sync_skewed(&server, &mut fast, t, Duration::minutes(60));
    sync_skewed(&server, &mut slow, t, Duration::minutes(-30));

    // At the true time t + 5 min, each tablet records a gas test (their clocks say otherwise).
    let t5 = t + Duration::minutes(5);
    let on_fast =
        fast.act(li, p, Action::GasTest { reading: good_reading() }, t5 + Duration::minutes(60)).expect("gas on fast");
    let on_slow =
        slow.act(li, q, Action::GasTest { reading: good_reading() }, t5 - Duration::minutes(30)).expect("gas on slow");
    for v in [&on_fast, &on_slow] {
        let g = v.state.gas_tests.last().expect("a gas test");
        assert!((g.time_ms - t5.timestamp_millis()).abs() < 1_000, "stamped at the server's time: {}", g.time_ms);
        assert!(g.time_verified);
    }
    assert!(sync_skewed(&server, &mut fast, t5, Duration::minutes(60)).refused.is_empty());
    assert!(sync_skewed(&server, &mut slow, t5, Duration::minutes(-30)).refused.is_empty());

    // Twenty minutes after the slow tablet's test, work starts on it: the test is fresh (by the
    // slow tablet's own clock it would have been fifty minutes old).
    let t25 = t5 + Duration::minutes(20);
    server.sync(&mut h, t25).expect("H pulls");
    let v = h.act(li, q, Action::Start, t25).expect("the slow tablet's test is twenty minutes old");
    assert_eq!(v.state.status, Status::Active);
    assert!(!v.state.alerts.iter().any(|a| matches!(a, Alert::UnverifiedTime { .. })), "{:?}", v.state.alerts);
    // Forty minutes after the fast tablet's test, work cannot start on it: the test is stale (by
    // the fast tablet's own clock it would have been taken twenty minutes in the future).
    let t45 = t5 + Duration::minutes(40);
    let stale = h.act(li, p, Action::Start, t45);
    assert!(
        matches!(stale, Err(ptw_store::StoreError::Refused(Violation::GasTestTooOld { age_minutes: 40, .. }))),
        "{stale:?}"
    );
}

/// A sync round of a tablet whose clock is `skew` off, at the true time `t`.
fn sync_skewed(server: &Server, store: &mut Store, t: DateTime<Utc>, skew: Duration) -> ptw_store::SyncReport {
    server.set_clock(t);
    store.sync_now(t + skew).expect("sync")
}

/// Tablet "T-M", whose monotonic clock the test moves by hand, enrolled and synced at `t`.
fn hand_clocked_tablet(server: &Server, db: &Path, t: DateTime<Utc>) -> (Store, std::sync::Arc<ManualMonotonic>) {
    let clock = ManualMonotonic::new();
    let options = StoreOptions { device_name: "T-M".into(), monotonic: Monotonic::Manual(clock.clone()) };
    let mut tablet = Store::open_with(db, options, t).expect("open");
    server.set_clock(t);
    tablet.enrol(&server.url, &server.enrol_code("T-M")).expect("enrol");
    tablet.sync_now(t).expect("the first sync");
    (tablet, clock)
}

#[test]
fn a_clock_changed_after_the_last_sync_does_not_move_the_stamps_and_a_restarted_tablet_says_it_cannot_tell() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let (id, _) = approved_permit(&server, &mut h, t);
    let (mut tablet, clock) = hand_clocked_tablet(&server, &dir.path().join("m.db"), t);
    let li = person("李娜");

    // Offline ten minutes later, someone set the tablet's clock two hours ahead.
    clock.advance(10 * 60_000);
    let v = tablet.act(li, id, Action::GasTest { reading: good_reading() }, t + Duration::hours(2)).expect("gas");
    let g = v.state.gas_tests.last().expect("gas test");
    assert!((g.time_ms - (t + Duration::minutes(10)).timestamp_millis()).abs() < 1_000, "{}", g.time_ms);
    assert!(g.time_verified);

    // Restarted offline: the anchor is gone; with the clock still two hours ahead, the next
    // event says its time is unverified, and the server refuses it as dated ahead of its clock.
    clock.reboot();
    let wrong = t + Duration::hours(2) + Duration::minutes(1);
    let v = tablet.act(li, id, Action::Comment { text: "重启后".into() }, wrong).expect("comment");
    let e = v.state.timeline.last().and_then(|e| e.event.clone()).expect("event");
    assert_eq!(e.time.map(|s| s.trust), Some(TimeTrust::Unverified));
    let t11 = t + Duration::minutes(11);
    server.set_clock(t11);
    let report = tablet.sync_now(wrong).expect("sync");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(report.refused[0].code, RefusalCode::ClockAhead);
    assert_eq!(tablet.refused_changes().expect("refused").len(), 1, "shown to the person, to redo");
    assert_eq!(tablet.pending_changes().expect("outbox"), 0, "and not waiting forever");
    assert!(tablet
        .permit(id, t11)
        .expect("permit")
        .state
        .timeline
        .iter()
        .all(|e| !matches!(e.event.as_ref().map(|e| &e.kind), Some(EventKind::Comment { .. }))));
    // The sync set the clock again: the next event is on the server's time.
    clock.advance(30_000);
    let v = tablet.act(li, id, Action::Comment { text: "同步后".into() }, wrong).expect("comment");
    let e = v.state.timeline.last().and_then(|e| e.event.clone()).expect("event");
    assert_eq!(e.time.map(|s| s.trust), Some(TimeTrust::Server));
    server.sync(&mut h, t11).expect("H");
    server.set_clock(t11 + Duration::seconds(30));
    tablet.sync_now(wrong).expect("sync");
    server.sync(&mut h, t11 + Duration::seconds(30)).expect("H");
    assert_converged(&h, &tablet, t11 + Duration::seconds(30), "after the restart");
}

#[test]
fn a_start_resting_on_an_unverified_time_stands_but_is_flagged_on_every_device() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let (id, _) = approved_permit(&server, &mut h, t);
    let (mut tablet, clock) = hand_clocked_tablet(&server, &dir.path().join("m.db"), t);
    // Restarted, offline, its clock about right: the gas test and the start stand on the
    // tablet's own clock, and say so.
    clock.reboot();
    let li = person("李娜");
    let t1 = t + Duration::minutes(1);
    tablet.act(li, id, Action::GasTest { reading: good_reading() }, t1).expect("gas");
    let v = tablet.act(li, id, Action::Start, t1 + Duration::seconds(30)).expect("start");
    assert_eq!(v.state.status, Status::Active);
    assert!(v.state.alerts.iter().any(|a| matches!(a, Alert::UnverifiedTime { action, .. } if action == "start")));
    server.set_clock(t1 + Duration::minutes(1));
    assert!(tablet.sync_now(t1 + Duration::minutes(1)).expect("sync").refused.is_empty());
    server.sync(&mut h, t1 + Duration::minutes(1)).expect("H");
    let on_h = h.permit(id, t1 + Duration::minutes(1)).expect("permit").state;
    assert_eq!(on_h.status, Status::Active);
    assert!(on_h.alerts.iter().any(|a| matches!(a, Alert::UnverifiedTime { .. })), "{:?}", on_h.alerts);
}

#[test]
fn from_a_freeze_on_nothing_the_frozen_person_signs_reaches_the_plant_even_dated_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("server"));
    let t = t0();
    let mut h = server.tablet(&dir.path().join("h.db"), "T-07", t);
    let mut offline = server.tablet(&dir.path().join("o.db"), "T-08", t);
    let zhang = person("张伟");
    let id = h.create_permit(zhang, hot_work(&h, "储罐动火", t), t).expect("draft").id;
    h.act(zhang, id, Action::Submit, t).expect("submit");
    h.act(person("刘洋"), id, Action::Approve { comment: "同意".into() }, t).expect("workshop");
    server.sync(&mut h, t).expect("push");
    server.sync(&mut offline, t).expect("pull");

    // The tablet goes offline; 王强 approves on it at t + 5 min. At t + 10 min IT freezes 王强.
    let t5 = t + Duration::minutes(5);
    offline.act(person("王强"), id, Action::Approve { comment: "同意".into() }, t5).expect("approve offline");
    let t10 = t + Duration::minutes(10);
    server.set_clock(t10);
    let wang = person("王强").to_string();
    server.admin(&["user", "freeze", "--id", &wang, "--reason", "伪造签字"]);

    // Back online at t + 15: the approval, dated before the freeze, arrives after it.
    let t15 = t + Duration::minutes(15);
    let report = server.sync(&mut offline, t15).expect("sync");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(report.refused[0].code, RefusalCode::FrozenAccount);
    server.sync(&mut h, t15).expect("H");
    for store in [&h, &offline] {
        let p = store.permit(id, t15).expect("permit");
        assert_eq!(p.state.current_step.as_deref(), Some("safety_approval"), "still waiting for safety");
    }
    assert!(offline.registry().person(person("王强")).and_then(|p| p.frozen_since_ms).is_some());
    let refused = offline.act(person("王强"), id, Action::Approve { comment: "再批".into() }, t15);
    assert!(matches!(refused, Err(ptw_store::StoreError::Refused(Violation::FrozenAccount { .. }))), "{refused:?}");
    assert_converged(&h, &offline, t15, "after the freeze");
}
