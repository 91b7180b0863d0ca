//! The sync protocol against a real server process on loopback: enrolment, push, pull, refusals
//! and durability across `kill -9`.

mod common;

use common::{error_of, kind_of, PermitDoc, Server, TestDevice};
use ptw_core::sync::{EnrolResponse, ErrorKind, RefusalCode};
use ptw_core::DeviceId;
use reqwest::StatusCode;
use std::io::{Read, Write};

fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    (dir, server)
}

#[test]
fn a_fresh_enrolment_code_enrols_a_tablet_once_and_its_second_use_is_refused() {
    let (_dir, server) = server();
    let code = server.enrolment_code("T-07");
    let tablet = TestDevice::new(7);
    let first = server.enrol(&code, &tablet);
    assert_eq!(first.status(), StatusCode::OK);
    let enrolled: EnrolResponse = first.json().expect("enrol answer");
    assert!(!enrolled.device_token.is_empty() && !enrolled.epoch.is_empty());

    assert_ne!(enrolled.device_id, tablet.id, "the server gives the id, never the device");

    let (status, kind) = kind_of(server.enrol(&code, &TestDevice::new(8)));
    assert_eq!((status, kind), (StatusCode::FORBIDDEN, ErrorKind::EnrolCodeUsed));

    let (status, kind) = kind_of(server.enrol("AAAA-BBBB-CCCC-DDDD", &TestDevice::new(9)));
    assert_eq!((status, kind), (StatusCode::FORBIDDEN, ErrorKind::EnrolCodeUnknown));

    let list = server.admin(&["device", "list"]);
    assert!(list.contains(&enrolled.device_id.to_string()) && list.contains("T-07"), "{list}");
}

#[test]
fn a_push_without_a_device_token_or_with_a_made_up_one_is_refused_as_unauthenticated() {
    let (_dir, server) = server();
    let (_permit, change) = PermitDoc::create(&TestDevice::new(1), 1);
    let (status, error) = error_of(server.push(None, std::slice::from_ref(&change)));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error.contains("enrol"), "{error}");
    let (status, kind) = kind_of(server.push(Some("not-a-token"), std::slice::from_ref(&change)));
    assert_eq!((status, kind), (StatusCode::UNAUTHORIZED, ErrorKind::NotEnrolled));
    let (status, _) = error_of(server.push(Some("not-a-token"), &[change]));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn two_changes_pushed_twice_are_acknowledged_both_times_and_stored_once() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let commented = permit.append(&tablet.sign(permit.id, 1, "hot work at flange F-3"));
    let batch = [created.clone(), commented.clone()];

    let first = server.push_ok(&tablet, &batch);
    assert_eq!(first.acked, [created.hash.clone(), commented.hash.clone()]);
    assert!(first.refused.is_empty(), "{:?}", first.refused);
    let again = server.push_ok(&tablet, &batch);
    assert_eq!(again.acked, first.acked);

    let page = server.pull_ok(&tablet, "since=0");
    assert_eq!(page.changes.len(), 2, "pushing twice stored nothing twice");
}

#[test]
fn a_device_pulling_from_zero_gets_both_changes_in_order_then_an_empty_page_under_one_kilobyte() {
    let (_dir, server) = server();
    let writer = server.enrolled_device(1);
    let reader = server.enrolled_device(2);
    let (mut permit, created) = PermitDoc::create(&writer, 1);
    let commented = permit.append(&writer.sign(permit.id, 1, "gas test due at 10:00"));
    server.push_ok(&writer, &[created.clone(), commented.clone()]);

    let page = server.pull_ok(&reader, "since=0");
    let hashes: Vec<_> = page.changes.iter().map(|c| c.change.hash.clone()).collect();
    assert_eq!(hashes, [created.hash, commented.hash]);
    assert_eq!(page.changes[1].change.bytes, commented.bytes, "the stored bytes come back unchanged");
    assert!(page.changes[0].seq < page.changes[1].seq);
    assert_eq!(page.next_cursor, page.changes[1].seq);
    assert!(!page.more);

    let empty = server.pull_ok(&reader, &format!("since={}", page.next_cursor));
    assert!(empty.changes.is_empty() && !empty.more);
    assert_eq!(empty.next_cursor, page.next_cursor);
    assert_eq!(empty.epoch, page.epoch);

    // The registry came with the first page: its entries, from the first.
    assert!(!page.registry.is_empty() && !page.registry_more);
    let registry_head = page.registry.len() - 1;

    // The whole HTTP answer (status line, headers, body) of "nothing new" stays small.
    let mut stream = std::net::TcpStream::connect(&server.addr).expect("connect");
    write!(
        stream,
        "GET /api/sync/pull?since={}&registry_after={registry_head} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        page.next_cursor, server.addr, reader.token
    )
    .expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    eprintln!("no-change pull response: {} bytes\n{text}", answer.len());
    assert!(answer.len() < 1024, "{} bytes: {text}", answer.len());
}

#[test]
fn an_event_signed_by_an_unknown_device_is_refused_by_its_id_while_a_good_change_in_the_same_batch_is_kept() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let mut stranger = TestDevice::new(66);
    // The stranger's event claims to come from the tablet; its key is not the tablet's.
    stranger.id = DeviceId(uuid::Uuid::from_u128(0x66));
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let forged = stranger.sign(permit.id, 7, "approved, trust me");
    let forged_hash = forged.hash();
    let bad = permit.append(&forged);
    let (mut other, good) = PermitDoc::create(&tablet, 2);
    let _ = other.append(&tablet.sign(other.id, 1, "ok"));

    let answer = server.push_ok(&tablet, &[created.clone(), bad.clone(), good.clone()]);
    assert_eq!(answer.acked, [created.hash, good.hash]);
    assert_eq!(answer.refused.len(), 1);
    assert_eq!(answer.refused[0].hash, bad.hash);
    assert_eq!(answer.refused[0].code, RefusalCode::BadEvent);
    let reason = &answer.refused[0].reason;
    assert!(reason.contains(&forged_hash) && reason.contains("another device"), "{reason}");

    let page = server.pull_ok(&tablet, "since=0");
    assert!(page.changes.iter().all(|c| c.change.hash != bad.hash), "the refused change is not stored");
}

#[test]
fn an_event_claiming_an_enrolled_device_but_signed_with_another_key_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let mut impostor = TestDevice::new(2);
    impostor.id = tablet.id;
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let forged = impostor.sign(permit.id, 1, "signed in someone else's name");
    let forged_hash = forged.hash();
    let bad = permit.append(&forged);

    let answer = server.push_ok(&tablet, &[created, bad]);
    assert_eq!(answer.refused.len(), 1);
    assert_eq!(answer.refused[0].code, RefusalCode::BadEvent);
    let reason = &answer.refused[0].reason;
    assert!(reason.contains(&forged_hash) && reason.contains("does not verify"), "{reason}");
}

#[test]
fn a_change_deleting_an_event_from_a_permit_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let approved = permit.append(&tablet.sign(permit.id, 1, "approved"));
    server.push_ok(&tablet, &[created, approved]);

    let erased = permit.delete_first_event();
    let answer = server.push_ok(&tablet, &[erased]);
    assert!(answer.acked.is_empty());
    assert_eq!(answer.refused[0].code, RefusalCode::NotAppendOnly);
    assert!(answer.refused[0].reason.contains("append-only"), "{:?}", answer.refused);
}

#[test]
fn a_revoked_tablet_is_turned_away_and_told_to_ask_it_to_enrol_it_again() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    server.admin(&["device", "revoke", "--id", &tablet.id.to_string()]);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let commented = permit.append(&tablet.sign(permit.id, 1, "still here?"));

    let response = server.push(Some(&tablet.token), &[created, commented]);
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: ptw_core::sync::ErrorBody = response.json().expect("error body");
    assert_eq!(body.kind, ErrorKind::DeviceRevoked);
    assert!(body.error.contains("revoked by IT") && body.error.contains("enrol it again"), "{}", body.error);
    let (status, kind) = kind_of(server.pull(&tablet.token, "since=0"));
    assert_eq!((status, kind), (StatusCode::FORBIDDEN, ErrorKind::DeviceRevoked));
    assert!(server.admin(&["device", "list"]).contains("revoked"));
}

#[test]
fn a_pull_limited_to_one_change_says_more_are_waiting_and_the_next_page_continues() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let first = permit.append(&tablet.sign(permit.id, 1, "one"));
    let second = permit.append(&tablet.sign(permit.id, 2, "two"));
    server.push_ok(&tablet, &[created.clone(), first.clone(), second.clone()]);

    let mut cursor = 0;
    let mut pulled = Vec::new();
    let mut pages = 0;
    loop {
        let page = server.pull_ok(&tablet, &format!("since={cursor}&max_changes=1"));
        pages += 1;
        assert!(page.changes.len() <= 1);
        pulled.extend(page.changes.iter().map(|c| c.change.hash.clone()));
        cursor = page.next_cursor;
        if !page.more {
            break;
        }
        assert!(pages < 10, "paging never ends");
    }
    assert_eq!(pulled, [created.hash, first.hash, second.hash]);
    assert!(pages >= 3);
}

#[test]
fn a_change_whose_bytes_do_not_match_its_claimed_hash_is_refused() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (_permit, created) = PermitDoc::create(&tablet, 1);
    let (_other, other) = PermitDoc::create(&tablet, 2);
    let mut lying = created.clone();
    lying.hash = other.hash.clone();
    let mut garbage = created;
    garbage.bytes = vec![1, 2, 3];

    let answer = server.push_ok(&tablet, &[lying, garbage]);
    assert!(answer.acked.is_empty());
    assert_eq!(answer.refused.len(), 2);
    assert!(answer.refused[0].reason.contains("not to the claimed hash"), "{:?}", answer.refused);
    assert!(answer.refused[1].reason.contains("not an Automerge change"), "{:?}", answer.refused);
}

#[test]
fn every_acknowledged_change_survives_a_kill_9_of_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let tablet = server.enrolled_device(1);
    let mut acked = Vec::new();
    for n in 0..5 {
        let (mut permit, created) = PermitDoc::create(&tablet, n);
        let event = permit.append(&tablet.sign(permit.id, n, "logged before the power cut"));
        acked.extend(server.push_ok(&tablet, &[created, event]).acked);
    }
    assert_eq!(acked.len(), 10);
    server.kill_hard();

    let server = Server::start(dir.path());
    let page = server.pull_ok(&tablet, "since=0");
    let pulled: Vec<_> = page.changes.iter().map(|c| c.change.hash.clone()).collect();
    assert_eq!(pulled, acked, "nothing acknowledged was lost, and the order held");
}

#[test]
fn a_cold_start_never_reaches_past_the_newest_change_whatever_mark_a_device_asks_for() {
    let (_dir, server) = server();
    let tablet = server.enrolled_device(1);
    let (mut permit, created) = PermitDoc::create(&tablet, 1);
    let first = permit.append(&tablet.sign(permit.id, 1, "one"));
    server.push_ok(&tablet, &[created.clone(), first.clone()]);
    let newest = server.pull_ok(&tablet, "since=0").next_cursor;

    let ask = |query: &str| -> ptw_core::sync::SnapshotResponse {
        let response = reqwest::blocking::Client::new()
            .get(format!("{}/api/sync/snapshot?{query}", server.base))
            .bearer_auth(&tablet.token)
            .send()
            .expect("snapshot");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().expect("snapshot answer")
    };
    // A mark from the future is brought back to the newest change, so the pull that follows
    // starts there and skips nothing numbered later.
    let page = ask("upto=999999999");
    assert_eq!(page.upto, newest);
    let held = page.docs.iter().map(|d| d.snapshot_changes as usize + d.changes.len()).sum::<usize>();
    assert_eq!(held, 2, "both changes, compacted or not: {page:?}");
    assert_eq!(ask("").upto, newest, "no mark: the newest change");
    assert_eq!(ask("upto=-5").docs.len(), 0, "a negative mark holds nothing");
}
