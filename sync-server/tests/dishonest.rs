//! A dishonest tablet against a real server process: everything it can craft with an enrolled
//! device's token — changes of the wrong kind or shape, a second events list, deletes, unsigned
//! strings, gaps and reused sequence numbers, another device's actor, events for another permit,
//! out of the server's clock or by a frozen person, out-of-range cursors, guessed enrolment codes
//! and half-sent requests — and what the server does with each: it refuses, naming the rule, and
//! keeps answering.

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use common::{kind_of, test_time_ms, PermitDoc, Server, TestDevice};
use ptw_core::sync::{ErrorKind, PushResponse, RefusalCode, WireChange};
use ptw_core::{Event, EventId, EventKind, Hlc, PermitId, PersonId, Stamp, TimeTrust};
use reqwest::StatusCode;
use std::io::{Read, Write};
use uuid::Uuid;

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    (dir, server)
}

/// The one refusal of a push of one change.
fn refusal(answer: &PushResponse) -> (RefusalCode, String) {
    assert!(answer.acked.is_empty(), "{answer:?}");
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    (answer.refused[0].code, answer.refused[0].reason.clone())
}

fn wire(doc: &mut AutoCommit, doc_id: &str) -> WireChange {
    doc.commit();
    let change = doc.get_last_local_change().expect("a change");
    WireChange {
        doc_id: doc_id.into(),
        kind: "permit".into(),
        hash: change.hash().to_string(),
        bytes: change.raw_bytes().to_vec(),
    }
}

#[test]
fn a_document_of_another_kind_than_a_permit_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (_permit, mut created) = PermitDoc::create(&tablet, 1);
    created.kind = "org".into();
    let (code, reason) = refusal(&server.push_ok(&tablet, &[created]));
    assert_eq!(code, RefusalCode::Malformed);
    assert!(reason.contains("unknown document kind"), "{reason}");
}

#[test]
fn a_permit_id_that_is_not_a_canonical_uuid_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    for id in ["not-a-uuid", "0190C5A0-0000-7000-8000-000000000001", "{0190c5a0-0000-7000-8000-000000000001}"] {
        let mut doc = AutoCommit::new();
        doc.set_actor(tablet.actor(9));
        ptw_doc::init_permit(&mut doc, id, "DH-1", &Default::default()).expect("init");
        let (code, _) = refusal(&server.push_ok(&tablet, &[wire(&mut doc, id)]));
        assert_eq!(code, RefusalCode::Shape, "{id}");
    }
    // The document's own id must be the one it is stored under.
    let mut doc = AutoCommit::new();
    doc.set_actor(tablet.actor(8));
    ptw_doc::init_permit(&mut doc, "0190c5a0-0000-7000-8000-000000000001", "DH-1", &Default::default()).expect("init");
    let (code, _) = refusal(&server.push_ok(&tablet, &[wire(&mut doc, "0190c5a0-0000-7000-8000-000000000002")]));
    assert_eq!(code, RefusalCode::Shape);
}

#[test]
fn a_form_that_is_a_string_or_a_new_root_key_is_refused_and_the_permit_takes_good_changes_after() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    for (tail, (key, value)) in [(20, ("form", "a string")), (21, ("people", "[\"me\"]"))] {
        let mut bad = permit.fork(&tablet, tail);
        let change = bad.put_root(key, value);
        let (code, reason) = refusal(&server.push_ok(&tablet, &[change]));
        assert_eq!(code, RefusalCode::Shape, "{key}: {reason}");
    }
    let good = permit.append(&tablet.sign(permit.id, 1, "still fine"));
    assert_eq!(server.push_ok(&tablet, std::slice::from_ref(&good)).acked, [good.hash]);
}

#[test]
fn a_second_events_list_beside_the_first_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    // The same permit made again from nothing: its events list would win Automerge's conflict.
    let mut rival = AutoCommit::new();
    rival.set_actor(tablet.actor(7));
    ptw_doc::init_permit(&mut rival, &permit.id.to_string(), "DH-1", &Default::default()).expect("init");
    let (code, reason) = refusal(&server.push_ok(&tablet, &[wire(&mut rival, &permit.id.to_string())]));
    assert_eq!(code, RefusalCode::NotAppendOnly);
    assert!(reason.contains("second events list"), "{reason}");
}

#[test]
fn a_string_that_is_not_a_signed_event_cannot_be_appended_to_the_events() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    let events = permit.doc.get(ROOT, "events").expect("get").expect("events").1;
    permit.doc.insert(&events, 0, "approved, no signature needed").expect("insert");
    let (code, reason) = refusal(&server.push_ok(&tablet, &[permit.last_change()]));
    assert_eq!(code, RefusalCode::NotAppendOnly);
    assert!(reason.contains("not a signed event"), "{reason}");
}

#[test]
fn a_change_whose_dependencies_the_server_lacks_waits_for_them() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let event = permit.append(&tablet.sign(permit.id, 1, "first note"));
    let (code, _) = refusal(&server.push_ok(&tablet, std::slice::from_ref(&event)));
    assert_eq!(code, RefusalCode::MissingDependencies);
    let both = server.push_ok(&tablet, &[created.clone(), event.clone()]);
    assert_eq!(both.acked, [created.hash, event.hash], "in causal order both are kept");
}

#[test]
fn a_change_reusing_a_stored_actor_and_sequence_number_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let first = permit.append(&tablet.sign(permit.id, 1, "the real note"));
    server.push_ok(&tablet, &[created.clone(), first]);
    // A copy of the tablet's database from before the note (restored from a backup) with the
    // same actor: its next change has the same number as the note.
    let mut restored = AutoCommit::load(&created.bytes).expect("load");
    restored.set_actor(tablet.actor(1));
    let events = restored.get(ROOT, "events").expect("get").expect("events").1;
    restored.insert(&events, 0, tablet.sign(permit.id, 2, "another note").to_stored()).expect("insert");
    let (code, _) = refusal(&server.push_ok(&tablet, &[wire(&mut restored, &permit.id.to_string())]));
    assert_eq!(code, RefusalCode::DuplicateSequence);
}

#[test]
fn a_change_from_an_actor_whose_earlier_changes_the_server_lacks_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let _second = permit.append(&tablet.sign(permit.id, 1, "two"));
    let third = permit.append(&tablet.sign(permit.id, 2, "three"));
    server.push_ok(&tablet, &[created]);
    let (code, reason) = refusal(&server.push_ok(&tablet, &[third]));
    assert_eq!(code, RefusalCode::MissingDependencies, "{reason}");
}

#[test]
fn a_change_that_skips_its_actors_previous_change_is_refused_and_the_permit_still_loads() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let second = permit.append(&tablet.sign(permit.id, 1, "two"));
    let third = permit.append(&tablet.sign(permit.id, 2, "three"));
    server.push_ok(&tablet, &[created.clone(), second]);
    // Change 3 re-encoded to name no dependency, or only change 1: numbered right, dependencies
    // held, but not built on change 2. Automerge cannot load a document holding such a change.
    let decoded = automerge::Change::from_bytes(third.bytes.clone()).expect("change").decode();
    // Its operations numbered from 1 as a change with no dependency must be, it is refused for
    // not building on change 2; numbered as they were, for not following what it builds on.
    let cases = [
        (vec![], Some(1), RefusalCode::MissingDependencies, "does not build on"),
        (vec![created.hash.parse().expect("hash")], None, RefusalCode::Malformed, "numbered from"),
        (vec![], None, RefusalCode::Malformed, "numbered from"),
    ];
    for (deps, start_op, expected, words) in cases {
        let mut expanded = decoded.clone();
        expanded.deps = deps;
        if let Some(n) = start_op.and_then(std::num::NonZeroU64::new) {
            expanded.start_op = n;
        }
        let forged = automerge::Change::from(expanded);
        let wire = WireChange { hash: forged.hash().to_string(), bytes: forged.raw_bytes().to_vec(), ..third.clone() };
        let (code, reason) = refusal(&server.push_ok(&tablet, &[wire]));
        assert_eq!(code, expected, "{reason}");
        assert!(reason.contains(words), "{reason}");
    }
    let answer = server.push_ok(&tablet, std::slice::from_ref(&third));
    assert_eq!(answer.acked, std::slice::from_ref(&third.hash), "the real change 3 is taken: {answer:?}");
    let pulled = server.pull_ok(&tablet, "since=0");
    assert_eq!(pulled.changes.len(), 3, "{pulled:?}");
}

#[test]
fn a_counter_increment_of_a_form_field_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    // A title edit whose put is turned into an increment: Automerge applies it, and the permit
    // then reads on some devices and not on others.
    let form = permit.doc.get(ROOT, "form").expect("get").expect("form").1;
    permit.doc.put(&form, "title", "新标题").expect("put");
    let edit = permit.last_change();
    let mut expanded = automerge::Change::from_bytes(edit.bytes.clone()).expect("change").decode();
    for op in &mut expanded.operations {
        op.action = automerge::legacy::OpType::Increment(1);
    }
    let forged = automerge::Change::from(expanded);
    let wire = WireChange { hash: forged.hash().to_string(), bytes: forged.raw_bytes().to_vec(), ..edit.clone() };
    let (code, reason) = refusal(&server.push_ok(&tablet, &[wire]));
    assert_eq!(code, RefusalCode::Shape, "{reason}");
    assert!(reason.contains("counter"), "{reason}");
    assert_eq!(
        server.push_ok(&tablet, std::slice::from_ref(&edit)).acked,
        std::slice::from_ref(&edit.hash),
        "the real edit is kept"
    );
}

#[test]
fn a_change_whose_header_checksum_is_wrong_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    let note = permit.append(&tablet.sign(permit.id, 1, "note"));
    // The body is the change's, the hash is right for the body; only the checksum in the header
    // is not. Automerge's document loader would silently leave such a change out.
    let mut bytes = note.bytes.clone();
    bytes[4] ^= 0xff;
    let forged = WireChange { bytes, ..note.clone() };
    let (code, reason) = refusal(&server.push_ok(&tablet, &[forged]));
    assert_eq!(code, RefusalCode::Malformed, "{reason}");
    assert!(reason.contains("checksum"), "{reason}");
    assert_eq!(server.push_ok(&tablet, std::slice::from_ref(&note)).acked, std::slice::from_ref(&note.hash));
}

#[test]
fn a_device_cannot_push_another_devices_changes_as_its_own() {
    let (_dir, server) = server();
    let honest = server.enrolled_device(1);
    let thief = server.enrolled_device(2);
    let (_permit, created) = PermitDoc::create(&honest, 1);
    let (code, _) = refusal(&server.push_ok(&thief, std::slice::from_ref(&created)));
    assert_eq!(code, RefusalCode::ForeignActor);
    assert_eq!(
        server.push_ok(&honest, std::slice::from_ref(&created)).acked,
        [created.hash],
        "its own device still can"
    );
}

#[test]
fn a_hash_in_upper_case_names_the_same_change_which_is_stored_once() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (_permit, created) = PermitDoc::create(&tablet, 1);
    let mut shouted = created.clone();
    shouted.hash = created.hash.to_uppercase();
    assert_eq!(server.push_ok(&tablet, &[shouted]).acked, std::slice::from_ref(&created.hash));
    assert_eq!(server.push_ok(&tablet, std::slice::from_ref(&created)).acked, std::slice::from_ref(&created.hash));
    assert_eq!(server.pull_ok(&tablet, "since=0").changes.len(), 1);
}

/// An event by `tablet` dated `ms` on `permit`.
fn dated(tablet: &TestDevice, permit: PermitId, n: u128, ms: i64, actor: PersonId) -> ptw_core::SignedEvent {
    tablet.sign_event(Event {
        id: EventId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)),
        permit,
        at: Hlc::new(ms, 0),
        time: Some(Stamp { ms, trust: TimeTrust::Server }),
        prev: None,
        device: tablet.id,
        actor,
        content_hash: "form".into(),
        handwriting: None,
        kind: EventKind::Comment { text: format!("note {n}") },
    })
}

#[test]
fn events_dated_ahead_of_the_servers_clock_or_before_what_the_device_delivered_are_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let someone = PersonId(Uuid::from_u128(42));
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let now = test_time_ms(60_000);
    let mut fast = permit.fork(&tablet, 3);
    let on_time = permit.append(&dated(&tablet, permit.id, 1, now, someone));
    server.push_ok(&tablet, &[created, on_time]);

    let (code, reason) =
        refusal(&server.push_ok(&tablet, &[fast.append(&dated(&tablet, permit.id, 2, now + 10 * 60_000, someone))]));
    assert_eq!(code, RefusalCode::ClockAhead, "{reason}");

    let behind = permit.append(&dated(&tablet, permit.id, 3, now - 60_000, someone));
    let (code, reason) = refusal(&server.push_ok(&tablet, &[behind]));
    assert_eq!(code, RefusalCode::ClockBehind, "{reason}");
}

#[test]
fn an_event_of_another_permit_appended_here_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[created]);
    let elsewhere = tablet.sign(PermitId(Uuid::from_u128(77)), 1, "replayed from another permit");
    let (code, _) = refusal(&server.push_ok(&tablet, &[permit.append(&elsewhere)]));
    assert_eq!(code, RefusalCode::BadEvent);
}

#[test]
fn from_the_freeze_on_the_server_keeps_nothing_a_frozen_person_signs_whatever_its_date() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let id = server.admin(&["user", "add", "--name", "钱某"]).trim().to_owned();
    let person = PersonId(id.parse().expect("the new person's id"));
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let before = permit.append(&dated(&tablet, permit.id, 1, test_time_ms(0), person));
    assert!(server.push_ok(&tablet, &[created, before]).refused.is_empty());

    server.admin(&["user", "freeze", "--id", &id, "--reason", "伪造气体记录"]);
    // Dated before the freeze, received after it.
    let backdated = permit.append(&dated(&tablet, permit.id, 2, test_time_ms(1), person));
    let (code, reason) = refusal(&server.push_ok(&tablet, &[backdated]));
    assert_eq!(code, RefusalCode::FrozenAccount, "{reason}");
}

#[test]
fn a_pull_cursor_beyond_the_end_is_brought_back_so_nothing_stored_later_is_skipped() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (_p, first) = PermitDoc::create(&tablet, 1);
    server.push_ok(&tablet, &[first]);
    let page = server.pull_ok(&tablet, "since=999999");
    assert!(page.changes.is_empty());
    assert_eq!(page.next_cursor, 1, "the newest change, not the cursor asked for");
    let (_q, second) = PermitDoc::create(&tablet, 2);
    server.push_ok(&tablet, std::slice::from_ref(&second));
    let next = server.pull_ok(&tablet, &format!("since={}", page.next_cursor));
    assert_eq!(next.changes.iter().map(|c| c.change.hash.clone()).collect::<Vec<_>>(), [second.hash]);
}

#[test]
fn out_of_range_ids_cursors_and_hashes_are_answered_4xx_and_the_server_goes_on() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let client = reqwest::blocking::Client::new();
    let get =
        |path: &str| client.get(format!("{}{path}", server.base)).bearer_auth(&tablet.token).send().expect("request");
    for path in [
        "/api/sync/pull?since=abc",
        "/api/sync/pull?since=99999999999999999999999",
        "/api/sync/pull?max_changes=-1",
        "/api/sync/pull?registry_after=-1",
        "/api/sync/snapshot?after=permit%2F..%2Fetc",
        "/api/sync/snapshot?after=permit%2F0190c5a0-0000-7000-8000-000000000001%00",
        "/api/sync/snapshot?upto=1e99",
        "/api/registry?after=x",
        "/api/blobs/abc%00def",
    ] {
        let status = get(path).status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    let mut bad = PermitDoc::create(&tablet, 1).1;
    bad.hash = "zz".repeat(32);
    assert_eq!(server.push(Some(&tablet.token), &[bad]).status(), StatusCode::BAD_REQUEST);
    assert_eq!(get("/health").status(), StatusCode::OK);
}

#[test]
fn guessing_enrolment_codes_is_stopped_after_ten_wrong_ones_a_minute_from_one_address() {
    let (_dir, server) = server();
    // Good codes do not count: IT enrols a shelf of tablets from one address.
    for n in 10..25 {
        server.enrolled_device(n);
    }
    let guesser = TestDevice::new(5);
    for n in 0..10 {
        let (status, kind) = kind_of(server.enrol(&format!("AAAA-BBBB-CCCC-{n:04}"), &guesser));
        assert_eq!((status, kind), (StatusCode::FORBIDDEN, ErrorKind::EnrolCodeUnknown));
    }
    let code = server.enrolment_code("T-05");
    let (status, kind) = kind_of(server.enrol(&code, &guesser));
    assert_eq!((status, kind), (StatusCode::TOO_MANY_REQUESTS, ErrorKind::RateLimited), "even a good code waits");
}

#[test]
fn a_code_issued_to_enrol_a_device_again_revokes_it_and_enrols_the_new_key_under_a_new_id() {
    let (_dir, server) = server();
    let old = server.enrolled_device(1);
    let out =
        server.admin(&["device", "enrol", "--name", "T-01", "--url", &server.base, "--replaces", &old.id.to_string()]);
    let code = out.lines().find_map(|l| l.strip_prefix("Enrolment code for T-01: ")).expect("code").trim().to_owned();
    let answer = server.enrol(&code, &TestDevice::new(11));
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: ptw_core::sync::EnrolResponse = answer.json().expect("answer");
    assert_ne!(answer.device_id, old.id);
    let (status, kind) = kind_of(server.pull(&old.token, "since=0"));
    assert_eq!((status, kind), (StatusCode::FORBIDDEN, ErrorKind::DeviceRevoked));
    let list = server.admin(&["device", "list"]);
    assert!(list.lines().any(|l| l.contains(&old.id.to_string()) && l.contains("revoked")), "{list}");
    assert!(list.lines().any(|l| l.contains(&answer.device_id.to_string()) && l.contains("active")), "{list}");
}

#[test]
fn half_sent_requests_from_one_address_do_not_starve_another_address() {
    let (_dir, server) = server();
    let port: u16 = server.addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    // Four hundred connections that send half a request and wait.
    let mut held = Vec::new();
    for _ in 0..400 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n");
            held.push(s);
        }
    }
    // Another address of this machine (127.0.0.2) still gets its answer.
    let answer = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.2:0".parse().expect("addr")).expect("bind 127.0.0.2");
        let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.expect("connect");
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
    });
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Past its share, the holder's own new connections are closed at once.
    let closed = held
        .iter_mut()
        .filter_map(|s| {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(30)));
            // Closed (with the half request unread, the close may come as a reset).
            let closed = match s.read(&mut [0u8; 1]) {
                Ok(0) => true,
                Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
                Ok(_) => false,
            };
            closed.then_some(())
        })
        .count();
    assert!(closed >= 400 - ptw_sync_server::serve::MAX_CONNECTIONS_PER_ADDRESS, "{closed} closed");
}

#[test]
fn client_strings_are_escaped_in_the_servers_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&dir.path().join("data"), &log);
    let tablet = server.enrolled_device(1);
    let (_p, mut created) = PermitDoc::create(&tablet, 1);
    created.kind = "permit\nFORGED log line".into();
    created.doc_id = "x\nFORGED another".into();
    server.push_ok(&tablet, &[created]);
    let _ = server.enrol("\nFORGED code", &TestDevice::new(9));
    drop(server);
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.contains("change refused"), "the refusal was logged:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("FORGED")), "a forged line:\n{text}");
}
